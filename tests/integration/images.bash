# tests/integration/images.bash — helpers the image suites share, on top of helpers.bash (a
# private berthd) and registry.bash (a private registry, mkimage):
#
#   rootfs_tar OUT [PATH=CONTENT…]   a small root filesystem tarball for docker import
#   layout_tar DIR OUT               an OCI layout directory (mkimage) as a docker load tarball
#   layer_dirs / tmp_entries         committed layer directories / what ROOT/layers/tmp holds
#   info_images                      docker info's image count
#   berthd_tmpfiles                  open O_TMPFILE blobs (partial downloads) of berthd
#   restart_berthd [--kill]          stop (SIGTERM, or SIGKILL) and start again on the same root
#   start_slowproxy RATE / stop_slowproxy   a throttled TCP proxy to $REGISTRY: exports SLOW
#   wait_for_grep PATTERN FILE [SECONDS]

# rootfs_tar OUT [PATH=CONTENT…]: /etc/hostname and /bin/sh (busybox when installed), plus the
# files given, owned by root, with fixed mtimes.
rootfs_tar() {
  local out=$1 d kv
  shift
  d=$(mktemp -d /tmp/berth-rootfs.XXXXXX)
  mkdir -p "$d/bin" "$d/etc" "$d/tmp"
  echo berth >"$d/etc/hostname"
  if command -v busybox >/dev/null; then cp "$(command -v busybox)" "$d/bin/busybox"; ln -s busybox "$d/bin/sh"; fi
  for kv in "$@"; do
    mkdir -p "$(dirname "$d/${kv%%=*}")"
    printf '%s' "${kv#*=}" >"$d/${kv%%=*}"
  done
  tar --numeric-owner --owner=0 --group=0 --mtime=@0 --sort=name -C "$d" -cf "$out" .
  rm -rf "$d"
}

layout_tar() { tar --numeric-owner --owner=0 --group=0 -C "$1" -cf "$2" .; }

# Committed layers: ROOT/layers/<26 chars>, not l/ or tmp/.
layer_dirs() {
  find "$BT_DIR/root/layers" -mindepth 1 -maxdepth 1 -type d ! -name l ! -name tmp | wc -l
}

tmp_entries() { find "$BT_DIR/root/layers/tmp" -mindepth 1 -maxdepth 1 | wc -l; }

# wait_settled [SECONDS]: until layers/tmp is empty and berthd holds no temporary blob. A
# failed or cancelled pull answers before the downloads it stopped have cleaned up.
wait_settled() {
  local i
  for ((i = 0; i < ${1:-5} * 20; i++)); do
    [ "$(tmp_entries)" -eq 0 ] && [ "$(berthd_tmpfiles)" -eq 0 ] && return 0
    sleep 0.05
  done
  return 1
}

info_images() { docker info --format '{{.Images}}'; }

# An O_TMPFILE blob shows in /proc as "ROOT/blobs/sha256/#123 (deleted)".
berthd_tmpfiles() {
  local n=0 f
  for f in /proc/"$BT_PID"/fd/*; do
    [[ "$(readlink "$f" 2>/dev/null)" == "$BT_DIR"/*"(deleted)" ]] && n=$((n + 1))
  done
  echo "$n"
}

# restart_berthd [--kill] [berthd flags…]: same root, exec-root and socket as start_berthd made.
restart_berthd() {
  halt_berthd "${1:-}"
  [ "${1:-}" != --kill ] || shift
  respawn_berthd "$@"
}

# halt_berthd [--kill]: stop berthd (SIGTERM, or SIGKILL), keeping its root for respawn_berthd.
halt_berthd() {
  kill "-$([ "${1:-}" = --kill ] && echo KILL || echo TERM)" "$BT_PID"
  wait "$BT_PID" 2>/dev/null || true
}

# respawn_berthd [berthd flags…]: start berthd again on the root halt_berthd left.
respawn_berthd() {
  "$BERTHD" --root "$BT_DIR/root" --exec-root "$BT_DIR/run" -H "unix://$BT_SOCK" \
    --config-file "$BT_DIR/daemon.json" --log-level debug "$@" \
    </dev/null >>"$BT_DIR/berthd.log" 2>&1 &
  BT_PID=$!
  wait_for_socket "$BT_SOCK" || { cat "$BT_DIR/berthd.log" >&2; return 1; }
}

# start_slowproxy BYTES_PER_SECOND [LISTEN_ADDR]: exports SLOW=ADDR:PORT, forwarding to
# $REGISTRY with the registry's answers slowed down, so a pull through it can be interrupted
# midway (0: not slowed). LISTEN_ADDR defaults to 127.0.0.1.
start_slowproxy() {
  local pf i addr=${2:-127.0.0.1}
  pf=$(mktemp -u /tmp/berth-slowproxy.XXXXXX)
  "$HOSTPY" "$BERTH_SRC/tests/integration/slowproxy.py" --to "$REGISTRY" --rate "$1" \
    --listen "$addr" --port-file "$pf" </dev/null >/dev/null 2>&1 3>&- &
  SLOWPROXY_PID=$!
  for i in $(seq 200); do
    [ -s "$pf" ] && break
    sleep 0.025
  done
  SLOW=$addr:$(cat "$pf")
  rm -f "$pf"
  export SLOW SLOWPROXY_PID
}

stop_slowproxy() {
  [ -n "${SLOWPROXY_PID:-}" ] || return 0
  kill "$SLOWPROXY_PID" 2>/dev/null
  wait "$SLOWPROXY_PID" 2>/dev/null
  SLOWPROXY_PID=
}

# wait_for_grep PATTERN FILE [SECONDS]: succeed as soon as FILE matches (extended regex).
wait_for_grep() {
  local i limit=$((${3:-10} * 20))
  for ((i = 0; i < limit; i++)); do
    grep -Eq "$1" "$2" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# api_pull REF [OUT]: POST /images/create in the background with curl (the progress JSON goes
# to OUT); sets CURL_PID. Killing curl is a client that goes away mid-pull.
api_pull() {
  local name=${1%:*} tag=${1##*:}
  curl -sN --unix-socket "$BT_SOCK" -X POST \
    "http://berth/images/create?fromImage=$name&tag=$tag" >"${2:-/dev/null}" 2>&1 &
  CURL_PID=$!
}
