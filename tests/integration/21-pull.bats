#!/usr/bin/env bats
# docker pull from a private registry (plain HTTP on 127.0.0.1): by tag and by digest,
# platforms of an index, gzip/zstd/plain layers, 130 layers, corrupt blobs, concurrent pulls,
# clients and daemons that go away mid-pull, pull -a, and an unreachable registry.
# One registry for the file (fixtures pushed once); a fresh berthd root for every test.

load helpers
load registry
load images

# mkimage IMAGE NAME [flags…]: build FIX/NAME, push it as t/NAME:v1 (or the tag in TAG).
fixture() {
  local name=$1
  shift
  mkimage "$FIX/$name" "$@" >"$FIX/$name.json"
  push_layout "$FIX/$name" "t/$name:${TAG:-v1}"
}

setup_file() {
  require_registry_tools
  command -v busybox >/dev/null || skip "busybox is not installed (busybox-static)"
  FIX=$BATS_FILE_TMPDIR
  export FIX
  start_registry
  fixture two --layer-files '[{"path":"etc/one","content":"one\n"}]' \
    --layer-files '[{"path":"etc/two","content":"two\n"},{"path":"data","size":100000,"seed":2}]' \
    --cmd '["cat","/etc/two"]' --label fixture=two
  fixture multi --busybox --platforms linux/amd64,linux/arm64/v8
  fixture comp --compression gzip --layer-files '[{"path":"g","content":"gzip\n"},{"path":"etc/gone","content":"x"}]' \
    --compression zstd --layer-files '[{"path":"z","content":"zstd\n"}]' \
    --compression none --layer-files '[{"path":"p","content":"plain\n"},{"path":"etc/gone","type":"whiteout"}]'
  local args=() i
  for i in $(seq 130); do args+=(--layer-files "[{\"path\":\"f$i\",\"content\":\"$i\"}]"); done
  fixture l130 "${args[@]}"
  # Each corrupt fixture has blobs of its own: the registry shares blobs between repositories.
  fixture badlayer --layer-files '[{"path":"small","content":"fine\n"}]' \
    --layer-files '[{"path":"big","size":2000000,"seed":11}]'
  corrupt_blob "$(jq -r '.manifests[0].layers[1].digest' "$FIX/badlayer.json")"
  fixture badconfig --layer-files '[{"path":"c","content":"config will not match\n"}]' --label bad=config
  corrupt_blob "$(jq -r '.manifests[0].config' "$FIX/badconfig.json")"
  # Two 16 MB layers of random bytes (gzip cannot shrink them): slow enough through slowproxy.
  fixture big --layer-files '[{"path":"big1","size":16000000,"seed":21}]' \
    --layer-files '[{"path":"big2","size":16000000,"seed":22}]'
  # t/tags: a and b name one image, c another.
  TAG=a fixture tags --layer-files '[{"path":"t","content":"a\n"}]'
  push_layout "$FIX/tags" t/tags:b
  TAG=c fixture tagsc --layer-files '[{"path":"t","content":"c\n"}]'
  push_layout "$FIX/tagsc" t/tags:c
}

teardown_file() { stop_registry; }

setup() {
  start_berthd
  WORK=$(mktemp -d /tmp/berth-pull.XXXXXX)
}

teardown() {
  [ -n "${CURL_PID:-}" ] && kill "$CURL_PID" 2>/dev/null
  stop_slowproxy
  stop_berthd
  rm -rf "$WORK"
}

# Fixture facts from mkimage's summary: the image ID (config digest), the manifest (or index)
# digest, the layer digests and the diff IDs.
cfg() { jq -r ".manifests[${2:-0}].config" "$FIX/$1.json"; }
top() { jq -r .digest "$FIX/$1.json"; }
layer_digest() { jq -r ".manifests[0].layers[$2].digest" "$FIX/$1.json"; }
diff_ids() { jq -c "[.manifests[${2:-0}].layers[].diff_id]" "$FIX/$1.json"; }
inspect() { docker image inspect "$1" | jq -c ".[0]$2"; }

# Nothing half-made: layers/tmp is empty, every layer directory is a committed one (with its
# layer.json and link), and berthd holds no temporary blob open (once cancelled downloads
# have cleaned up: a failed pull answers first).
assert_nothing_partial() {
  wait_settled
  [ "$(tmp_entries)" -eq 0 ]
  local d
  for d in "$BT_DIR"/root/layers/*/; do
    d=${d%/}
    case "${d##*/}" in l | tmp) continue ;; esac
    [ -f "$d/layer.json" ]
    [ -L "$BT_DIR/root/layers/l/${d##*/}" ]
  done
  [ "$(berthd_tmpfiles)" -eq 0 ]
}

# The files of a layer: the diff directory of the layer with this diff ID.
layer_diff() { grep -l "\"DiffID\":\"$1\"" "$BT_DIR"/root/layers/*/layer.json | sed 's,/layer.json$,/diff,'; }

@test "pull by tag, then by digest: ID, RepoTags, RepoDigests, layers" {
  run docker pull "$REGISTRY/t/two:v1"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "v1: Pulling from t/two" ] # the path, without the registry, as dockerd
  [[ "$output" == *"$(layer_digest two 1 | cut -c8-19): Pull complete"* ]]
  [[ "$output" == *"Digest: $(top two)"* ]]
  [[ "$output" == *"Status: Downloaded newer image for $REGISTRY/t/two:v1"* ]]
  [ "${lines[-1]}" = "$REGISTRY/t/two:v1" ]
  [ "$(inspect "$REGISTRY/t/two:v1" .Id)" = "\"$(cfg two)\"" ]
  [ "$(inspect "$REGISTRY/t/two:v1" .RepoTags)" = "[\"$REGISTRY/t/two:v1\"]" ]
  [ "$(inspect "$REGISTRY/t/two:v1" .RepoDigests)" = "[\"$REGISTRY/t/two@$(top two)\"]" ]
  [ "$(inspect "$REGISTRY/t/two:v1" .RootFS.Layers)" = "$(diff_ids two)" ]
  [ "$(inspect "$REGISTRY/t/two:v1" .Config.Labels.fixture)" = '"two"' ]
  run docker images --digests --format '{{.Repository}} {{.Tag}} {{.Digest}}'
  [ "$output" = "$REGISTRY/t/two v1 $(top two)" ]
  [ "$(layer_dirs)" -eq 2 ]
  [ "$(cat "$(layer_diff "$(jq -r '.manifests[0].layers[1].diff_id' "$FIX/two.json")")/etc/two")" = two ]
  # Again: nothing to fetch.
  run docker pull "$REGISTRY/t/two:v1"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Status: Image is up to date for $REGISTRY/t/two:v1"* ]]
  # By digest, into an empty store: no tag, only the digest reference.
  docker rmi "$REGISTRY/t/two:v1" >/dev/null
  [ "$(info_images)" -eq 0 ]
  run docker pull "$REGISTRY/t/two@$(top two)"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Status: Downloaded newer image for $REGISTRY/t/two@$(top two)"* ]]
  [ "$(inspect "$(cfg two)" .RepoTags)" = '[]' ]
  [ "$(inspect "$(cfg two)" .RepoDigests)" = "[\"$REGISTRY/t/two@$(top two)\"]" ]
  run docker images --digests --format '{{.Repository}} {{.Tag}} {{.Digest}}'
  [ "$output" = "$REGISTRY/t/two <none> $(top two)" ]
  # A digest that is not there.
  run docker pull "$REGISTRY/t/two@sha256:$(printf '0%.0s' $(seq 64))"
  [ "$status" -ne 0 ]
  [[ "$output" == *"not found"* ]]
  [ "$(info_images)" -eq 1 ]
  assert_nothing_partial
}

@test "a two-platform index: the host's platform, --platform the other, a missing one refused" {
  local host other i_host i_other
  host=$(docker version --format '{{.Server.Arch}}')
  case "$host" in
    amd64) other=arm64 i_host=0 i_other=1 ;;
    arm64) other=amd64 i_host=1 i_other=0 ;;
    *) skip "host architecture $host is not in the fixture" ;;
  esac
  run docker pull -q "$REGISTRY/t/multi:v1"
  [ "$status" -eq 0 ]
  [ "$(inspect "$REGISTRY/t/multi:v1" .Id)" = "\"$(cfg multi $i_host)\"" ]
  [ "$(inspect "$REGISTRY/t/multi:v1" .Architecture)" = "\"$host\"" ]
  [ "$(inspect "$REGISTRY/t/multi:v1" .RepoDigests)" = "[\"$REGISTRY/t/multi@$(top multi)\"]" ]
  run docker pull -q --platform "linux/$other" "$REGISTRY/t/multi:v1"
  [ "$status" -eq 0 ]
  [ "$(inspect "$REGISTRY/t/multi:v1" .Id)" = "\"$(cfg multi $i_other)\"" ]
  [ "$(inspect "$REGISTRY/t/multi:v1" .Architecture)" = "\"$other\"" ]
  [[ "$(inspect "$REGISTRY/t/multi:v1" .Config.Labels)" == *"linux/$other"* ]]
  # The host's image lost its name to the other one: dangling now, as with dockerd.
  [ "$(inspect "$(cfg multi $i_host)" .RepoTags)" = '[]' ]
  run docker pull --platform linux/s390x "$REGISTRY/t/multi:v1"
  [ "$status" -ne 0 ]
  [[ "$output" == *"no matching manifest for linux/s390x in the manifest list entries"* ]]
  [ "$(info_images)" -eq 2 ]
  assert_nothing_partial
}

@test "gzip, zstd and uncompressed layers unpack to their diff IDs and files" {
  run docker pull -q "$REGISTRY/t/comp:v1"
  [ "$status" -eq 0 ]
  [ "$(inspect "$REGISTRY/t/comp:v1" .RootFS.Layers)" = "$(diff_ids comp)" ]
  local d0 d1 d2
  d0=$(layer_diff "$(jq -r '.manifests[0].layers[0].diff_id' "$FIX/comp.json")")
  d1=$(layer_diff "$(jq -r '.manifests[0].layers[1].diff_id' "$FIX/comp.json")")
  d2=$(layer_diff "$(jq -r '.manifests[0].layers[2].diff_id' "$FIX/comp.json")")
  [ "$(cat "$d0/g")" = gzip ]
  [ "$(cat "$d1/z")" = zstd ]
  [ "$(cat "$d2/p")" = plain ]
  # The whiteout became overlayfs's: a 0:0 character device.
  [ -c "$d2/etc/gone" ]
  [ "$(stat -c '%t:%T' "$d2/etc/gone")" = 0:0 ]
  # The top layer is the image's UpperDir, the others its LowerDir, top first.
  [ "$(inspect "$REGISTRY/t/comp:v1" .GraphDriver.Data.UpperDir)" = "\"$d2\"" ]
  [ "$(inspect "$REGISTRY/t/comp:v1" .GraphDriver.Data.LowerDir)" = "\"$d1:$d0\"" ]
  # The blobs are kept as they came, with their media types, for save and push.
  local i
  for i in 0 1 2; do
    [ -f "$BT_DIR/root/blobs/sha256/$(layer_digest comp $i | cut -c8-)" ]
  done
  assert_nothing_partial
}

@test "130 layers: all present, each with its short link in layers/l" {
  run docker pull -q "$REGISTRY/t/l130:v1"
  [ "$status" -eq 0 ]
  [ "$(inspect "$REGISTRY/t/l130:v1" '.RootFS.Layers | length')" -eq 130 ]
  [ "$(inspect "$REGISTRY/t/l130:v1" .RootFS.Layers)" = "$(diff_ids l130)" ]
  [ "$(layer_dirs)" -eq 130 ]
  [ "$(ls "$BT_DIR/root/layers/l" | wc -l)" -eq 130 ]
  # Each link is short (26 characters) and leads to a layer's diff directory: 129 lower dirs
  # as l/<link> take 129 × 29 bytes, well under a page, where full paths would not fit.
  local link name
  for link in "$BT_DIR"/root/layers/l/*; do
    name=${link##*/}
    [ "${#name}" -eq 26 ]
    [ "$(readlink "$link")" = "../$name/diff" ]
    [ -d "$link/" ]
  done
  [ "$(cat "$(layer_diff "$(jq -r '.manifests[0].layers[129].diff_id' "$FIX/l130.json")")/f130")" = 130 ]
  [ "$(inspect "$REGISTRY/t/l130:v1" .GraphDriver.Data.LowerDir | tr ':' '\n' | wc -l)" -eq 129 ]
  assert_nothing_partial
}

@test "a corrupt layer blob: verification error, no image, nothing partial" {
  local bad
  bad=$(layer_digest badlayer 1)
  run docker pull "$REGISTRY/t/badlayer:v1"
  [ "$status" -ne 0 ]
  [[ "$output" == *"filesystem layer verification failed for digest $bad"* ]]
  [ -z "$(docker images -aq)" ]
  [ "$(info_images)" -eq 0 ]
  [ ! -e "$BT_DIR/root/blobs/sha256/${bad#sha256:}" ]
  [ -z "$(layer_diff "$(jq -r '.manifests[0].layers[1].diff_id' "$FIX/badlayer.json")")" ]
  assert_nothing_partial
  # The daemon is fine afterwards.
  run docker pull -q "$REGISTRY/t/two:v1"
  [ "$status" -eq 0 ]
}

@test "what a failed pull left (its good layer and blobs) goes with image prune; used ones stay" {
  stop_berthd
  BT_CONFIG='{"max-concurrent-downloads":1}' start_berthd # the good layer is in before the bad one starts
  docker pull -q "$REGISTRY/t/two:v1" >/dev/null
  local blobs layers
  blobs=$(ls "$BT_DIR/root/blobs/sha256" | wc -l) layers=$(layer_dirs)
  run docker pull "$REGISTRY/t/badlayer:v1"
  [ "$status" -ne 0 ]
  [ "$(layer_dirs)" -eq $((layers + 1)) ] # its first layer is in, with its blob
  [ "$(ls "$BT_DIR/root/blobs/sha256" | wc -l)" -gt "$blobs" ]
  run docker image prune -f
  [ "$status" -eq 0 ]
  [ "$(layer_dirs)" -eq "$layers" ]
  [ "$(ls "$BT_DIR/root/blobs/sha256" | wc -l)" -eq "$blobs" ]
  [ "$(inspect "$REGISTRY/t/two:v1" .RootFS.Layers)" = "$(diff_ids two)" ]
  docker save "$REGISTRY/t/two:v1" | tar -t >/dev/null
  assert_nothing_partial
}

@test "a corrupt image config: verification error, nothing kept" {
  run docker pull "$REGISTRY/t/badconfig:v1"
  [ "$status" -ne 0 ]
  [[ "$output" == *"image config verification failed for digest $(cfg badconfig)"* ]]
  [ -z "$(docker images -aq)" ]
  [ "$(layer_dirs)" -eq 0 ]
  [ -z "$(ls -A "$BT_DIR/root/blobs/sha256")" ]
  assert_nothing_partial
}

@test "two clients pulling the same image at once both succeed, sharing the download" {
  start_slowproxy 40000000 # ~1 s for the image: the two pulls surely overlap
  docker pull "$SLOW/t/big:v1" >"$WORK/one" 2>&1 &
  local one=$!
  docker pull "$SLOW/t/big:v1" >"$WORK/two" 2>&1 &
  local two=$!
  wait "$one" || { cat "$WORK/one" "$WORK/two"; berthd_log | tail -30; false; }
  wait "$two" || { cat "$WORK/one" "$WORK/two"; berthd_log | tail -30; false; }
  grep -q "Digest: $(top big)" "$WORK/one"
  grep -q "Digest: $(top big)" "$WORK/two"
  [ "$(inspect "$SLOW/t/big:v1" .Id)" = "\"$(cfg big)\"" ]
  [ "$(info_images)" -eq 1 ]
  [ "$(layer_dirs)" -eq 2 ]
  assert_nothing_partial
}

@test "a client that leaves mid-pull: the pull stops and leaves no partial layer or temp file" {
  start_slowproxy 2000000
  "$DOCKER_BIN" pull "$SLOW/t/big:v1" >"$WORK/progress" 2>&1 & # not the function: $! is docker
  local client=$!
  wait_for_grep 'Pulling fs layer' "$WORK/progress" 20
  local i
  for i in $(seq 100); do # the downloads and unpacks are under way…
    [ "$(berthd_tmpfiles)" -eq 2 ] && [ "$(tmp_entries)" -eq 2 ] && break
    sleep 0.05
  done
  [ "$(tmp_entries)" -eq 2 ]
  kill "$client"
  wait "$client" 2>/dev/null || true
  ! grep -q 'Pull complete' "$WORK/progress"
  # …and are cancelled once berthd sees the client gone.
  assert_nothing_partial
  [ "$(layer_dirs)" -eq 0 ]
  [ -z "$(docker images -aq)" ]
  [ -z "$(ls -A "$BT_DIR/root/blobs/sha256")" ]
  run docker pull -q "$REGISTRY/t/big:v1"
  [ "$status" -eq 0 ]
  [ "$(layer_dirs)" -eq 2 ]
}

@test "berthd killed mid-pull: after a restart no half image, layers/tmp empty, pull works" {
  start_slowproxy 2000000
  api_pull "$SLOW/t/big:v1" "$WORK/progress"
  wait_for_grep '"Downloading"' "$WORK/progress" 20
  [ "$(tmp_entries)" -gt 0 ]
  restart_berthd --kill
  wait "$CURL_PID" 2>/dev/null || true
  CURL_PID=
  wait_until 10 eval 'test "$(tmp_entries)" -eq 0' # removed on the pool once the API serves
  [ -z "$(docker images -aq)" ]
  [ "$(info_images)" -eq 0 ]
  [ "$(layer_dirs)" -eq 0 ]
  assert_nothing_partial
  run docker pull "$REGISTRY/t/big:v1"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Status: Downloaded newer image for $REGISTRY/t/big:v1"* ]]
  [ "$(inspect "$REGISTRY/t/big:v1" .RootFS.Layers)" = "$(diff_ids big)" ]
}

# Layers of this berthd root: their directories, and whether each is marked synced.
layer_meta() { ls "$BT_DIR"/root/layers/*/layer.json; }
unsynced_layers() {
  local m n=0
  for m in $(layer_meta); do [ -e "${m%/layer.json}/synced" ] || n=$((n + 1)); done
  echo "$n"
}
all_synced() { [ "$(unsynced_layers)" -eq 0 ]; }
boot_id() { cat /proc/sys/kernel/random/boot_id; }

@test "a pulled layer reaches the disk in the background: marked synced, its boot recorded" {
  docker pull "$REGISTRY/t/two:v1"
  local m
  for m in $(layer_meta); do [ "$(jq -r .Boot "$m")" = "$(boot_id)" ]; done
  wait_until 15 all_synced
}

@test "a power cut before the flush: the unsynced layer and its image are dropped at start, pull works" {
  docker pull "$REGISTRY/t/two:v1"
  wait_until 15 all_synced
  halt_berthd --kill
  # what a machine that went down before the flush leaves: the top layer unmarked, from another boot
  local top_meta
  top_meta=$(grep -l "\"DiffID\":\"$(diff_ids two | jq -r '.[1]')\"" $(layer_meta))
  jq -c '.Boot = "00000000-0000-0000-0000-000000000000"' "$top_meta" >"$WORK/meta"
  cp "$WORK/meta" "$top_meta"
  rm -f "${top_meta%/layer.json}/synced"
  respawn_berthd
  [ -z "$(docker images -aq)" ]
  [ "$(layer_dirs)" -eq 0 ] # the base layer, unused now, goes with the start-up GC
  grep -q "its files were not yet on disk when the machine went down" "$BT_DIR/berthd.log"
  run docker pull "$REGISTRY/t/two:v1"
  [ "$status" -eq 0 ]
  [ "$(inspect "$REGISTRY/t/two:v1" .RootFS.Layers)" = "$(diff_ids two)" ]
}

@test "berthd killed before its flush: the layers stay (the page cache has them) and are flushed" {
  docker pull "$REGISTRY/t/two:v1"
  halt_berthd --kill
  rm -f "$BT_DIR"/root/layers/*/synced # as if the kill came before the flush
  respawn_berthd
  [ "$(inspect "$REGISTRY/t/two:v1" .RootFS.Layers)" = "$(diff_ids two)" ]
  wait_until 15 all_synced
}

@test "docker create right after a pull waits until the image's layers are on disk" {
  docker pull "$REGISTRY/t/two:v1" >/dev/null
  docker create "$REGISTRY/t/two:v1" >/dev/null # within the flusher's quiet second
  [ "$(unsynced_layers)" -eq 0 ]
}

@test "pull -a: every tag of the repository" {
  run docker pull -a "$REGISTRY/t/tags"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Status: Downloaded newer image for $REGISTRY/t/tags"* ]]
  run docker images --format '{{.Tag}} {{.ID}}' "$REGISTRY/t/tags"
  [ "$(sort <<<"$output" | cut -d' ' -f1 | tr '\n' ' ')" = "a b c " ]
  [ "$(docker images -q "$REGISTRY/t/tags:a")" = "$(cfg tags | cut -c8-19)" ]
  [ "$(docker images -q "$REGISTRY/t/tags:b")" = "$(cfg tags | cut -c8-19)" ]
  [ "$(docker images -q "$REGISTRY/t/tags:c")" = "$(cfg tagsc | cut -c8-19)" ]
  [ "$(info_images)" -eq 2 ]
  run docker pull -a "$REGISTRY/t/tags"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Status: Image is up to date for $REGISTRY/t/tags"* ]]
  run docker pull -a "$REGISTRY/t/nothing-here"
  [ "$status" -ne 0 ]
}

@test "missing repositories and tags, and an unreachable registry, fail fast in Docker's words" {
  run docker pull "$REGISTRY/t/two:nope"
  [ "$status" -ne 0 ]
  [[ "$output" == *"manifest for $REGISTRY/t/two:nope not found: manifest unknown"* ]]
  local start=$SECONDS
  run docker pull 127.0.0.1:1/t/two:v1
  [ "$status" -ne 0 ]
  [ $((SECONDS - start)) -lt 5 ]
  [[ "$output" == *'Error response from daemon: Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused'* ]]
  run docker pull 'bad//name'
  [ "$status" -ne 0 ]
  [[ "$output" == *"invalid reference format"* ]]
  [ -z "$(docker images -aq)" ]
}
