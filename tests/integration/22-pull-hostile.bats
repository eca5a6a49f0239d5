#!/usr/bin/env bats
# Hostile layers pulled from a private registry: every mkimage hostile kind must be refused
# with a message naming the entry, or contained in its layer directory; the host must not
# change (files outside stay as they were, nothing appears outside the layer directories).
# The same tricks are then aimed at a private sentinel directory, so that an escape would
# show as a changed file. And a layer of 100 000 entries pulls.

load helpers
load registry
load images

KINDS=(dotdot absolute dotdot-inner symlink-abs-parent symlink-rel-parent symlink-then-file
  hardlink-rel-out hardlink-abs-out hardlink-via-symlink whiteout-dotdot whiteout-parent
  whiteout-via-symlink)

# The tricks of the hostile kinds, aimed at the sentinel directory S instead of /etc and /tmp.
# One image per trick: a refused entry ends its pull, and each trick must be tried.
sentinel_tricks() {
  local s=$1 up
  up=$(printf '../%.0s' $(seq 12))
  jq -nc --arg s "$s" --arg up "$up" '
    def f(p; c): {path: p, content: c};
    def sym(p; t): {path: p, type: "symlink", target: t};
    def hard(p; t): {path: p, type: "hardlink", target: t};
    {
      "absolute": [f($s + "/evil"; "pwned\n")],
      "dotdot": [f($up + $s + "/evil"; "pwned\n")],
      "symlink-abs-parent": [sym("p"; $s), f("p/evil"; "pwned\n")],
      "symlink-rel-parent": [sym("up"; $up), f("up" + $s + "/evil"; "pwned\n")],
      "symlink-then-file": [sym("x"; $s + "/keep"), f("x"; "pwned\n")],
      "symlink-dir-then-file": [sym("d"; $s + "/d"), f("d/evil"; "pwned\n")],
      "hardlink-abs-out": [hard("hl"; $s + "/keep")],
      "hardlink-via-symlink": [sym("s"; $s), hard("hl"; "s/keep")],
      "whiteout-via-symlink": [sym("s"; $s), f("s/.wh.victim"; "")],
      "whiteout-dotdot": [f($up + $s + "/.wh.victim"; "")],
      "opaque-via-symlink": [sym("s"; $s), f("s/d/.wh..wh..opq"; "")]
    }'
}

setup_file() {
  require_registry_tools
  FIX=$BATS_FILE_TMPDIR
  SENTINEL=$(mktemp -d /tmp/berth-sentinel.XXXXXX)
  export FIX SENTINEL
  start_registry
  local k
  for k in "${KINDS[@]}"; do
    mkimage "$FIX/$k" --hostile "$k" >"$FIX/$k.json"
    push_layout "$FIX/$k" "h/$k:v1"
  done
  sentinel_tricks "$SENTINEL" >"$FIX/tricks.json"
  for k in $(jq -r 'keys[]' "$FIX/tricks.json"); do
    jq -c --arg k "$k" '{layers: [{files: .[$k], parents: false, compression: "none"}]}' \
      "$FIX/tricks.json" | mkimage "$FIX/s-$k" --spec - >"$FIX/s-$k.json"
    push_layout "$FIX/s-$k" "s/$k:v1"
  done
  mkimage "$FIX/many" --hostile many --compression zstd >"$FIX/many.json"
  push_layout "$FIX/many" h/many:v1
}

teardown_file() {
  stop_registry
  rm -rf "$SENTINEL"
}

setup() {
  start_berthd
  # The host files the kinds aim at, as they are now.
  PASSWD_SUM=$(sha256sum /etc/passwd)
  PASSWD_LINKS=$(stat -c %h /etc/passwd)
  ABSENT=()
  local p
  for p in /etc/evil /etc/evil-target /tmp/victim /tmp/escape /escape /etc/escape; do
    [ -e "$p" ] || [ -L "$p" ] || ABSENT+=("$p")
  done
  # The sentinel directory, fresh for every test.
  rm -rf "${SENTINEL:?}"/*
  mkdir "$SENTINEL/d"
  echo keep >"$SENTINEL/keep"
  echo victim >"$SENTINEL/victim"
  echo inside >"$SENTINEL/d/inside"
}

teardown() { stop_berthd; }

# The host as setup saw it; in berthd's root, only layer directories hold layer files.
assert_host_untouched() {
  [ "$(sha256sum /etc/passwd)" = "$PASSWD_SUM" ]
  [ "$(stat -c %h /etc/passwd)" = "$PASSWD_LINKS" ]
  local p
  for p in "${ABSENT[@]}"; do
    [ ! -e "$p" ] && [ ! -L "$p" ]
  done
  run find "$BT_DIR" -path "$BT_DIR/root/layers/*/diff" -prune -o \
    \( -name 'escape' -o -name 'evil*' -o -name 'hl' -o -name 'victim' -o -name 'pwned' \
    -o -name '.wh.*' -o -name 'x' -o -name 's' -o -name 'up' \) -print
  [ -z "$output" ]
  wait_settled
  [ "$(tmp_entries)" -eq 0 ]
  local e
  for e in "$BT_DIR"/root/layers/*; do
    [[ "${e##*/}" =~ ^(l|tmp|[A-Z0-9]{26})$ ]]
  done
}

assert_sentinel_untouched() {
  [ "$(ls -A "$SENTINEL" | tr '\n' ' ')" = "d keep victim " ]
  [ "$(ls -A "$SENTINEL/d")" = inside ]
  [ "$(cat "$SENTINEL/keep")" = keep ]
  [ "$(stat -c %h "$SENTINEL/keep")" -eq 1 ]
  [ "$(cat "$SENTINEL/victim")" = victim ]
  [ "$("$HOSTPY" -c 'import os, sys; print(os.listxattr(sys.argv[1]))' "$SENTINEL/d")" = "[]" ]
}

# pull_contained_or_refused REF WORD: the pull either fails with a message that names the
# offending entry (WORD), leaving no image, or succeeds with the entry's files in its layer.
pull_contained_or_refused() {
  run docker pull "$1"
  if [ "$status" -ne 0 ]; then
    [[ "$output" == *"$2"* ]] || { echo "refused without naming \`$2\`: $output"; return 1; }
    [ -z "$(docker images -aq)" ]
  else
    [ "$(docker images -aq | wc -l)" -eq 1 ]
  fi
}

# hostile KIND WORD: pull h/KIND and check both outcomes and the host.
hostile() {
  pull_contained_or_refused "$REGISTRY/h/$1:v1" "$2"
  assert_host_untouched
}

@test "hostile dotdot (../../escape)" { hostile dotdot escape; }
@test "hostile absolute (/etc/evil)" { hostile absolute evil; }
@test "hostile dotdot-inner (a/../../escape)" { hostile dotdot-inner escape; }
@test "hostile symlink-abs-parent (evil→/etc, evil/evil)" { hostile symlink-abs-parent evil; }
@test "hostile symlink-rel-parent (up→../../.., up/escape)" { hostile symlink-rel-parent up; }
@test "hostile symlink-then-file (x→/etc/evil-target, then file x)" { hostile symlink-then-file '`x`'; }
@test "hostile hardlink-rel-out (hl ⇒ ../../etc/passwd)" { hostile hardlink-rel-out '`hl`'; }
@test "hostile hardlink-abs-out (hl ⇒ /etc/passwd)" { hostile hardlink-abs-out '`hl`'; }
@test "hostile hardlink-via-symlink (s→/etc, hl ⇒ s/passwd)" { hostile hardlink-via-symlink '`hl`'; }
@test "hostile whiteout-dotdot (.wh...)" { hostile whiteout-dotdot '.wh..'; }
@test "hostile whiteout-parent (../.wh.escape)" { hostile whiteout-parent escape; }
@test "hostile whiteout-via-symlink (s→/tmp, s/.wh.victim)" { hostile whiteout-via-symlink '`s`'; }

@test "contained layers keep the hostile entries inside their own directory" {
  local k d
  for k in dotdot dotdot-inner absolute symlink-then-file whiteout-parent; do
    run docker pull -q "$REGISTRY/h/$k:v1"
    [ "$status" -eq 0 ] || { echo "$k: $output"; return 1; }
  done
  d=$(docker image inspect -f '{{.GraphDriver.Data.UpperDir}}' "$REGISTRY/h/dotdot:v1")
  [ "$(cat "$d/escape")" = pwned ] # ../../escape, clamped at the layer's root
  d=$(docker image inspect -f '{{.GraphDriver.Data.UpperDir}}' "$REGISTRY/h/absolute:v1")
  [ "$(cat "$d/etc/evil")" = pwned ]
  d=$(docker image inspect -f '{{.GraphDriver.Data.UpperDir}}' "$REGISTRY/h/symlink-then-file:v1")
  [ -f "$d/x" ] && [ ! -L "$d/x" ] # the file replaced the symlink, it did not follow it
  [ "$(cat "$d/x")" = pwned ]
  d=$(docker image inspect -f '{{.GraphDriver.Data.UpperDir}}' "$REGISTRY/h/whiteout-parent:v1")
  [ -c "$d/escape" ] # ../.wh.escape whites out /escape of the image, nothing of the host
  assert_host_untouched
}

@test "the tricks aimed at a sentinel directory leave it as it was" {
  local k word
  for k in $(jq -r 'keys[]' "$FIX/tricks.json"); do
    case "$k" in
      hardlink-*) word='`hl`' ;;
      *via-symlink) word='`s`' ;;
      symlink-abs-parent) word='`p`' ;;
      symlink-dir-then-file) word='`d`' ;;
      symlink-then-file) word='`x`' ;;
      symlink-rel-parent) word='up' ;;
      whiteout-*) word='.wh.victim' ;;
      *) word=evil ;;
    esac
    pull_contained_or_refused "$REGISTRY/s/$k:v1" "$word" || { echo "trick $k"; return 1; }
    assert_sentinel_untouched || { echo "trick $k changed $SENTINEL"; return 1; }
    docker rmi -f "$REGISTRY/s/$k:v1" >/dev/null 2>&1 || true
  done
  assert_host_untouched
}

@test "a layer of 100 000 entries pulls" {
  run docker pull "$REGISTRY/h/many:v1"
  [ "$status" -eq 0 ]
  [ "$(docker image inspect -f '{{json .RootFS.Layers}}' "$REGISTRY/h/many:v1")" = \
    "$(jq -c '[.manifests[0].layers[].diff_id]' "$FIX/many.json")" ]
  local d
  d=$(docker image inspect -f '{{.GraphDriver.Data.UpperDir}}' "$REGISTRY/h/many:v1")
  [ "$(find "$d" -type f | wc -l)" -eq 100000 ]
  [ "$(find "$d" -mindepth 1 -type d | wc -l)" -eq 100 ]
  assert_host_untouched
}
