# tests/integration/containers.bash — what the container suites share, on top of helpers.bash:
# a private berthd whose containers' cgroups sit under a parent this test owns, and the local
# busybox image (tools/mkbusybox, from Debian's busybox-static) imported as busybox:latest.
#
#   ctr_setup_file / ctr_setup / ctr_teardown   the bats hooks (setup_file, setup, teardown);
#                                   ctr_teardown also removes the parents in CG_EXTRA_PARENTS
#   ctr_cgroup_dirs                 the cgroup directories under the test's parent, all controllers
#   cg_read CTR CONTROLLER FILE     a container's cgroup file (v1 controller dir or the v2 tree)
#   ctr_pid CTR                     the container's init pid on the host
#   count_mounts / count_zombies    berthd's overlay mounts / berthd's unreaped children
#   running CTR / log_has CTR RE    the container runs / its log (both streams) has a line RE
#   raw_attach CTR QUERY [opts]     an upgraded attach request, then stdin's bytes, raw
#   pty_run [ptyexpect opts] -- CMD CMD on a pseudo-terminal, driven by steps on stdin
#   no_containers / refused JSON MSG / cli_refused MSG ARGS / body [HC [CONFIG]]
#                                   a refused create: its 400 and words, and nothing made

CG_ROOT=${CG_ROOT:-/sys/fs/cgroup}

# ctr_setup_file: the busybox rootfs tarball, built once per file.
ctr_setup_file() {
  BUSYBOX_TAR=$BATS_FILE_TMPDIR/busybox.tar
  [ -s "$BUSYBOX_TAR" ] || "$BERTH_SRC/tools/mkbusybox" >"$BUSYBOX_TAR"
  export BUSYBOX_TAR
}

# ctr_setup [berthd flags...]: a berthd with cgroup-parent /berth-test-RANDOM (plus whatever
# BT_CONFIG_EXTRA adds to daemon.json, e.g. '"log-opts":{"max-size":"1m"}') and busybox.
# daemon.json also says "bridge": "none" (dockerd's -b none: no default bridge, containers on
# the default network run without networking), so the suites' berthds leave the host's network
# alone; CTR_BRIDGE=1 leaves it out and runs berthd in a network namespace of its own
# (bt_netns_up), where it makes its default bridge.
ctr_setup() {
  CG_PARENT=berth-test-$$-$RANDOM
  local bridge='"bridge":"none",'
  [ -z "${CTR_BRIDGE:-}" ] || { bridge=; [ -n "${BT_NETNS_PID:-}" ] || bt_netns_up; }
  BT_CONFIG="{$bridge\"cgroup-parent\":\"/$CG_PARENT\"${BT_CONFIG_EXTRA:+,$BT_CONFIG_EXTRA}}"
  start_berthd "$@"
  docker import --change 'CMD ["sh"]' "$BUSYBOX_TAR" busybox:latest >/dev/null
}

# ctr_teardown: remove every container, stop berthd, then the cgroup parent in each hierarchy.
ctr_teardown() {
  if [ -n "${BT_PID:-}" ] && kill -0 "$BT_PID" 2>/dev/null; then
    local ids
    ids=$(docker ps -aq 2>/dev/null) || true
    [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
  fi
  stop_berthd
  local p
  for p in ${CG_PARENT:-} ${CG_EXTRA_PARENTS:-}; do cg_remove_parent "$p"; done
  CG_PARENT= CG_EXTRA_PARENTS=
}

# cg_remove_parent NAME: NAME's directories (with everything below) in every hierarchy.
cg_remove_parent() {
  local d
  for d in $(find "$CG_ROOT" -maxdepth 3 -type d -name "$1" 2>/dev/null); do
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

ctr_cgroup_dirs() {
  local d
  for d in $(find "$CG_ROOT" -maxdepth 3 -type d -name "$CG_PARENT" 2>/dev/null); do
    find "$d" -mindepth 1 -type d
  done
}

# cg_read CTR CONTROLLER FILE: on v1 CG_ROOT/CONTROLLER/PARENT/ID/FILE, on v2 the unified dir.
cg_read() {
  local id
  id=$(docker inspect --format '{{.Id}}' "$1") || return 1
  if [ -d "$CG_ROOT/$2/$CG_PARENT/$id" ]; then
    cat "$CG_ROOT/$2/$CG_PARENT/$id/$3"
  else
    cat "$CG_ROOT/$CG_PARENT/$id/$3"
  fi
}

ctr_pid() { docker inspect --format '{{.State.Pid}}' "$1"; }

count_mounts() { grep -c " $BT_DIR/" /proc/self/mountinfo || true; }

count_zombies() {
  local n=0 p st
  for p in $(cat "/proc/$BT_PID/task/"*/children 2>/dev/null); do
    st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) || continue
    [ "$st" = Z ] && n=$((n + 1))
  done
  echo $n
}

running() { [ "$(docker inspect --format '{{.State.Running}}' "$1")" = true ]; }

log_has() { docker logs "$1" 2>&1 | grep -q "$2"; }

# raw_attach CTR QUERY [rawsock.py options]: the attach request upgraded as the docker CLI asks,
# then stdin's bytes (the client's input), over one raw connection; prints what comes back.
raw_attach() {
  local ctr=$1 query=$2
  shift 2
  {
    printf 'POST /containers/%s/attach?%s HTTP/1.1\r\nHost: berth\r\n' "$ctr" "$query"
    printf 'Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n'
    cat
  } | raw_request "$@"
}

# pty_run [ptyexpect.py options] -- CMD...: CMD on a new pseudo-terminal (its controlling tty),
# driven by the expect/send/resize steps read from stdin; see ptyexpect.py.
PTYEXPECT=$INTEGRATION_DIR/ptyexpect.py
pty_run() {
  "$HOSTPY" "$PTYEXPECT" "$@"
}

# no_containers: none exists (what a refused create must leave).
no_containers() {
  local ids
  ids=$(docker ps -aq)
  [ -z "$ids" ] || { echo "containers left: $ids"; return 1; }
}

# refused JSON MESSAGE: POST /containers/create with the body JSON is a 400 whose message is
# exactly MESSAGE, and no container exists afterwards.
refused() {
  local code msg
  code=$(api_save POST /containers/create -H 'Content-Type: application/json' -d "$1")
  msg=$(jq -r .message "$BT_DIR/api.body")
  if [ "$code" != 400 ] || [ "$msg" != "$2" ]; then
    echo "expected: 400 $2"
    echo "got:      $code $(cat "$BT_DIR/api.body")"
    return 1
  fi
  no_containers
}

# cli_refused MESSAGE ARGS...: `docker create ARGS... busybox true` fails with the daemon's
# "Error response from daemon: MESSAGE" (so the CLI passed the value on), creating nothing.
cli_refused() {
  local msg=$1
  shift
  run docker create "$@" busybox true
  if [ "$status" -eq 0 ] || [[ "$output" != *"Error response from daemon: $msg"* ]]; then
    echo "expected: Error response from daemon: $msg"
    echo "got ($status): $output"
    return 1
  fi
  no_containers
}

# body [HOSTCONFIG [CONFIG]]: a create body for busybox with HOSTCONFIG (a JSON object) and
# CONFIG (extra top-level members).
body() { printf '{"Image":"busybox","Cmd":["true"]%s,"HostConfig":%s}' "${2:+,$2}" "${1:-"{}"}"; }
