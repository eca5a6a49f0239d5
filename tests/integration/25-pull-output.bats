#!/usr/bin/env bats
# What `docker pull` prints, line by line as against dockerd: "<tag>: Pulling from <path>"
# (the repository path, without the registry), "<12 hex>: Already exists" for each layer
# already present, each step of the layers fetched, one block per tag with -a, the whole
# reference as the id of a pull by digest, nothing per layer for an image already present;
# and the JSON messages themselves (ids, progressDetail, "\r\n" line ends) through the API.
# One registry for the file; a fresh berthd root for every test. Images whose layers download
# in parallel are checked layer by layer (their lines interleave); the others line by line.

load helpers
load registry
load images

# build NAME LAYER…: mkimage FIX/NAME with one --layer-files per argument.
build() {
  local name=$1 l args=()
  shift
  for l in "$@"; do args+=(--layer-files "$l"); done
  mkimage "$FIX/$name" "${args[@]}" >"$FIX/$name.json"
}

setup_file() {
  require_registry_tools
  FIX=$BATS_FILE_TMPDIR
  export FIX
  start_registry
  local base='[{"path":"base","size":300000,"seed":41}]' mid='[{"path":"mid","content":"mid\n"}]'
  build one "$base"
  build y "$base" '[{"path":"etc/y","content":"y\n"}]'
  build a "$base" "$mid"
  build b "$base" "$mid" '[{"path":"etc/b","content":"b\n"}]'
  build dup '[{"path":"dup","content":"twice\n"}]' '[{"path":"dup","content":"twice\n"}]'
  push_layout "$FIX/one" lib/one:latest
  push_layout "$FIX/y" lib/y:v1
  push_layout "$FIX/a" lib/a:v1
  push_layout "$FIX/a" solo:v1
  push_layout "$FIX/b" lib/b:v1
  push_layout "$FIX/dup" lib/dup:v1
  push_layout "$FIX/one" lib/tags:x
  push_layout "$FIX/y" lib/tags:y
}

teardown_file() { stop_registry; }

setup() { start_berthd; }
teardown() { stop_berthd; }

top() { jq -r .digest "$FIX/$1.json"; }
short() { jq -r ".manifests[0].layers[$2].digest" "$FIX/$1.json" | cut -c8-19; }

# The CLI's lines (it leaves out byte counts when its output is not a terminal) for a layer
# fetched, and for one already present.
fetched() { printf '%s\n' "$1: Pulling fs layer" "$1: Verifying Checksum" "$1: Download complete" "$1: Pull complete"; }
present() { echo "$1: Already exists"; }

# expect_output LINE…: $output is exactly these lines (a diff on failure).
expect_output() {
  local want
  want=$(printf '%s\n' "$@")
  [ "$output" = "$want" ] || { diff <(echo "$want") <(echo "$output") >&2; return 1; }
}

# pull_json QUERY: POST /images/create?QUERY; the messages in $BT_DIR/stream, one per line (as
# sent), and those without byte counts in $output.
pull_json() {
  curl -sf --unix-socket "$BT_SOCK" -X POST "http://berth/images/create?$1" >"$BT_DIR/stream"
  output=$(grep -v '"status":"\(Downloading\|Extracting\)"' "$BT_DIR/stream" | tr -d '\r')
}

@test "pull: 'latest: Pulling from <path>' without the registry host; 'Already exists' for the shared layer" {
  run docker pull "$REGISTRY/lib/one"
  [ "$status" -eq 0 ]
  expect_output "Using default tag: latest" "latest: Pulling from lib/one" \
    "$(fetched "$(short one 0)")" \
    "Digest: $(top one)" "Status: Downloaded newer image for $REGISTRY/lib/one:latest" \
    "$REGISTRY/lib/one:latest"
  # y shares one's base layer.
  run docker pull "$REGISTRY/lib/y:v1"
  [ "$status" -eq 0 ]
  expect_output "v1: Pulling from lib/y" "$(present "$(short y 0)")" "$(fetched "$(short y 1)")" \
    "Digest: $(top y)" "Status: Downloaded newer image for $REGISTRY/lib/y:v1" "$REGISTRY/lib/y:v1"
  # A repository at the top of the registry.
  run docker pull "$REGISTRY/solo:v1"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "v1: Pulling from solo" ]
}

@test "pull: one 'Already exists' per shared layer; an image already present prints no layer" {
  run docker pull "$REGISTRY/lib/a:v1"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "v1: Pulling from lib/a" ]
  # Two layers at once: each one's steps in order, however they interleave.
  local i
  for i in 0 1; do
    [ "$(grep "^$(short a "$i"): " <<<"$output")" = "$(fetched "$(short a "$i")")" ]
  done
  [ "${#lines[@]}" -eq 12 ]
  # b is a's two layers and one more.
  run docker pull "$REGISTRY/lib/b:v1"
  [ "$status" -eq 0 ]
  expect_output "v1: Pulling from lib/b" "$(present "$(short b 0)")" "$(present "$(short b 1)")" \
    "$(fetched "$(short b 2)")" \
    "Digest: $(top b)" "Status: Downloaded newer image for $REGISTRY/lib/b:v1" "$REGISTRY/lib/b:v1"
  # a's image under another name: nothing to fetch, but a new tag.
  run docker pull "$REGISTRY/solo:v1"
  [ "$status" -eq 0 ]
  expect_output "v1: Pulling from solo" "Digest: $(top a)" \
    "Status: Downloaded newer image for $REGISTRY/solo:v1" "$REGISTRY/solo:v1"
  run docker pull "$REGISTRY/lib/b:v1"
  [ "$status" -eq 0 ]
  expect_output "v1: Pulling from lib/b" "Digest: $(top b)" \
    "Status: Image is up to date for $REGISTRY/lib/b:v1" "$REGISTRY/lib/b:v1"
}

@test "pull by digest: the whole reference is the id; up to date once that digest reference exists" {
  local ref=$REGISTRY/lib/one@$(top one)
  run docker pull "$ref"
  [ "$status" -eq 0 ]
  expect_output "$ref: Pulling from lib/one" "$(fetched "$(short one 0)")" \
    "Digest: $(top one)" "Status: Downloaded newer image for $ref" "$ref"
  run docker pull "$ref"
  [ "$status" -eq 0 ]
  expect_output "$ref: Pulling from lib/one" "Digest: $(top one)" \
    "Status: Image is up to date for $ref" "$ref"
  # The same image by digest from another repository: a new reference, so "newer image".
  local other=$REGISTRY/lib/tags@$(top one)
  run docker pull "$other"
  [ "$status" -eq 0 ]
  expect_output "$other: Pulling from lib/tags" "Digest: $(top one)" \
    "Status: Downloaded newer image for $other" "$other"
  [ "$(docker image inspect "$ref" | jq -c '.[0].RepoDigests | sort')" = "$(jq -nc '[$ARGS.positional[]] | sort' --args "$ref" "$other")" ]
  [ "$(docker image inspect "$ref" | jq -c '.[0].RepoTags')" = '[]' ]
  # A tag given with the digest (the API allows it): the digest wins, the tag is not stored.
  pull_json "fromImage=$REGISTRY/lib/one:latest@$(top one)"
  expect_output '{"status":"Pulling from lib/one","id":"'"$REGISTRY/lib/one:latest@$(top one)"'"}' \
    '{"status":"Digest: '"$(top one)"'"}' \
    '{"status":"Status: Image is up to date for '"$REGISTRY/lib/one:latest@$(top one)"'"}'
  [ "$(docker image inspect "$ref" | jq -c '.[0].RepoTags')" = '[]' ]
}

@test "pull -a: one 'TAG: Pulling from' block per tag, one status for the repository" {
  run docker pull -a "$REGISTRY/lib/tags"
  [ "$status" -eq 0 ]
  expect_output "x: Pulling from lib/tags" "$(fetched "$(short one 0)")" "Digest: $(top one)" \
    "y: Pulling from lib/tags" "$(present "$(short y 0)")" "$(fetched "$(short y 1)")" \
    "Digest: $(top y)" "Status: Downloaded newer image for $REGISTRY/lib/tags" "$REGISTRY/lib/tags"
  run docker pull -a "$REGISTRY/lib/tags"
  [ "$status" -eq 0 ]
  expect_output "x: Pulling from lib/tags" "Digest: $(top one)" \
    "y: Pulling from lib/tags" "Digest: $(top y)" \
    "Status: Image is up to date for $REGISTRY/lib/tags" "$REGISTRY/lib/tags"
}

@test "a blob twice in one image: its lines once, under the lower layer, as dockerd" {
  [ "$(short dup 0)" = "$(short dup 1)" ]
  run docker pull "$REGISTRY/lib/dup:v1"
  [ "$status" -eq 0 ]
  expect_output "v1: Pulling from lib/dup" "$(fetched "$(short dup 0)")" \
    "Digest: $(top dup)" "Status: Downloaded newer image for $REGISTRY/lib/dup:v1" \
    "$REGISTRY/lib/dup:v1"
  [ "$(docker image inspect "$REGISTRY/lib/dup:v1" | jq -c '.[0].RootFS.Layers')" = "$(jq -c '[.manifests[0].layers[].diff_id]' "$FIX/dup.json")" ]
}

@test "the JSON messages: dockerd's fields and ids, progressDetail on layer steps, \\r\\n line ends" {
  docker pull -q "$REGISTRY/lib/one" >/dev/null
  local base top
  base=$(short y 0) top=$(short y 1)
  pull_json "fromImage=$REGISTRY/lib/y&tag=v1"
  expect_output '{"status":"Pulling from lib/y","id":"v1"}' \
    '{"status":"Already exists","progressDetail":{},"id":"'"$base"'"}' \
    '{"status":"Pulling fs layer","progressDetail":{},"id":"'"$top"'"}' \
    '{"status":"Verifying Checksum","progressDetail":{},"id":"'"$top"'"}' \
    '{"status":"Download complete","progressDetail":{},"id":"'"$top"'"}' \
    '{"status":"Pull complete","progressDetail":{},"id":"'"$top"'"}' \
    '{"status":"Digest: '"$(top y)"'"}' \
    '{"status":"Status: Downloaded newer image for '"$REGISTRY"'/lib/y:v1"}'
  # Every line ends in \r\n; byte counts, if any, are the fetched layer's.
  [ "$(grep -c $'\r$' "$BT_DIR/stream")" -eq "$(wc -l <"$BT_DIR/stream")" ]
  run jq -c 'select(.status == "Downloading" or .status == "Extracting") | [.id, .progressDetail.total > 0, (.progress | startswith("["))]' "$BT_DIR/stream"
  [ "$status" -eq 0 ]
  [ -z "$(grep -v -x -F "[\"$top\",true,true]" <<<"$output")" ]
  # By digest: the whole reference; -a: the tags.
  pull_json "fromImage=$REGISTRY/lib/y&tag=$(top y)"
  expect_output '{"status":"Pulling from lib/y","id":"'"$REGISTRY/lib/y@$(top y)"'"}' \
    '{"status":"Digest: '"$(top y)"'"}' \
    '{"status":"Status: Image is up to date for '"$REGISTRY/lib/y@$(top y)"'"}'
  pull_json "fromImage=$REGISTRY/lib/tags"
  expect_output '{"status":"Pulling from lib/tags","id":"x"}' '{"status":"Digest: '"$(top one)"'"}' \
    '{"status":"Pulling from lib/tags","id":"y"}' '{"status":"Digest: '"$(top y)"'"}' \
    '{"status":"Status: Downloaded newer image for '"$REGISTRY"'/lib/tags"}'
}
