# tests/integration/helpers.bash — shared set-up for the bats suites: a private berthd per
# test (own socket, root and exec-root under a temp dir), the real docker CLI, curl.

BERTH_SRC=${BERTH_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
BUILD=${BUILD:-build}
BERTHD=$BERTH_SRC/$BUILD/berthd
BERTH=$BERTH_SRC/$BUILD/berth
DOCKER_BIN=$(command -v /usr/local/bin/docker || command -v docker)
HOSTPY=/usr/bin/python3 # Debian's python, not the pyenv one on PATH
INTEGRATION_DIR=$BERTH_SRC/tests/integration

# bt_prepare: a fresh temp dir for one daemon. Sets BT_DIR, BT_SOCK (and DOCKER_HOST to it),
# BT_FLAGS (the flags that put berthd's root, exec-root, socket and config in BT_DIR), and
# writes BT_CONFIG (default "{}") as $BT_DIR/daemon.json. For a daemon with flags that name
# paths in BT_DIR: bt_prepare; berthd_spawn "${BT_FLAGS[@]}" -p "$BT_DIR/x.pid".
bt_prepare() {
  BT_DIR=$(mktemp -d /tmp/berth-test.XXXXXX)
  BT_SOCK=$BT_DIR/run/berth.sock
  export DOCKER_HOST=unix://$BT_SOCK
  mkdir -p "$BT_DIR/run"
  printf '%s\n' "${BT_CONFIG:-"{}"}" >"$BT_DIR/daemon.json"
  BT_FLAGS=(--root "$BT_DIR/root" --exec-root "$BT_DIR/run" -H "unix://$BT_SOCK"
    --config-file "$BT_DIR/daemon.json")
}

# berthd_spawn FLAGS...: run berthd in the background with exactly these flags, logging to
# $BT_DIR/berthd.log, and wait until it answers on $BT_SOCK. Sets BT_PID and BT_ARGS (for
# restart_berthd). Fails, printing the log, if berthd exits or never answers. BT_WRAP, an
# array, is a command that execs berthd (e.g. BT_WRAP=(prlimit --nofile=256:256)).
berthd_spawn() {
  BT_ARGS=("$@")
  export DOCKER_HOST=unix://$BT_SOCK
  bt_no_host_bridge "$@"
  local ns=()
  [ -z "${BT_NETNS_PID:-}" ] || ns=(nsenter "--net=/proc/$BT_NETNS_PID/ns/net")
  # 3>&-: bats waits for fd 3 to close, so a daemon must not hold it.
  ${ns[@]+"${ns[@]}"} ${BT_WRAP[@]+"${BT_WRAP[@]}"} "$BERTHD" "$@" </dev/null \
    >>"$BT_DIR/berthd.log" 2>&1 3>&- &
  BT_PID=$!
  wait_for_socket "$BT_SOCK" || { cat "$BT_DIR/berthd.log" >&2; return 1; }
}

# bt_no_host_bridge [berthd flags...]: berthd makes a default bridge (berth0) where it runs, and
# every test's berthd would share the host's: unless berthd runs in a network namespace of its
# own (bt_netns_up), its daemon.json (--config-file, else $BT_DIR/daemon.json) gets
# "bridge": "none" when it names no bridge (a file that is no JSON object is left as it is).
bt_no_host_bridge() {
  [ -z "${BT_NETNS_PID:-}" ] || return 0
  local f=$BT_DIR/daemon.json
  while [ $# -gt 0 ]; do
    case $1 in
    --config-file) f=$2; shift ;;
    --config-file=*) f=${1#*=} ;;
    esac
    shift
  done
  [ -f "$f" ] && jq -e 'type == "object" and (has("bridge") | not)' "$f" >/dev/null 2>&1 || return 0
  jq -c '. + {"bridge": "none"}' "$f" >"$f.tmp" && mv "$f.tmp" "$f"
}

# bt_netns_up: a network namespace for berthd (call before start_berthd): held by a sleeping
# process of ours (so it outlives a berthd killed with -9 and its restarts), lo up in it; berthd
# runs there through nsenter, and docker and curl still reach its unix socket from here. Sets
# BT_NETNS_PID; bt_netns_down (stop_berthd calls it) kills the holder. in_netns CMD... runs CMD
# in that namespace (ip, ping, nc: the daemon's side of the bridge).
bt_netns_up() {
  unshare --net sleep infinity </dev/null >/dev/null 2>&1 3>&- &
  BT_NETNS_PID=$!
  local i
  for i in $(seq 100); do
    [ "$(readlink "/proc/$BT_NETNS_PID/ns/net")" != "$(readlink /proc/self/ns/net)" ] && break
    sleep 0.01
  done
  in_netns ip link set lo up
}

bt_netns_down() {
  [ -n "${BT_NETNS_PID:-}" ] || return 0
  kill "$BT_NETNS_PID" 2>/dev/null
  wait "$BT_NETNS_PID" 2>/dev/null || true # killed: 143
  BT_NETNS_PID=
}

in_netns() { nsenter "--net=/proc/$BT_NETNS_PID/ns/net" "$@"; }

# start_berthd [extra berthd flags...]: bt_prepare, then berthd on the private dirs.
# BT_LOG_LEVEL (default debug; empty: no flag) picks the --log-level flag.
start_berthd() {
  bt_prepare
  local level=${BT_LOG_LEVEL-debug}
  berthd_spawn "${BT_FLAGS[@]}" ${level:+--log-level "$level"} "$@"
}

wait_for_socket() {
  local i
  for i in $(seq 200); do
    [ -S "$1" ] && curl -sf --unix-socket "$1" http://berth/_ping >/dev/null 2>&1 && return 0
    kill -0 "$BT_PID" 2>/dev/null || return 1
    sleep 0.025
  done
  return 1
}

# wait_until TIMEOUT_SECS CMD...: run CMD every 25 ms until it succeeds; fails on timeout
# (whole seconds). A $(...) in CMD's words is expanded once, before the wait: a condition on
# something that changes goes through eval, quoted (wait_until 10 eval 'test -z "$(ls d)"').
wait_until() {
  local timeout=$1 i
  shift
  for i in $(seq "$((timeout * 40))"); do
    "$@" && return 0
    sleep 0.025
  done
  "$@"
}

# berthd_signal SIG: send SIG to berthd and wait (5 s at most) for it to exit; sets
# BT_EXIT to its exit status and clears BT_PID. Fails if it is still running.
berthd_signal() {
  kill -"$1" "$BT_PID" || return 1
  local i
  for i in $(seq 200); do kill -0 "$BT_PID" 2>/dev/null || break; sleep 0.025; done
  if kill -0 "$BT_PID" 2>/dev/null; then
    echo "berthd did not stop on SIG$1" >&2
    return 1
  fi
  BT_EXIT=0
  wait "$BT_PID" || BT_EXIT=$?
  BT_PID=
}

# stop_berthd [--keep]: SIGTERM, wait, then remove the temp dir (kept with --keep, for a
# restart). Fails if berthd does not exit on SIGTERM. After a failed test, the end of the
# daemon's log goes to stderr, which bats shows with the failure.
stop_berthd() {
  local rc=0
  if [ "${1:-}" != --keep ] && [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -f "${BT_DIR:-}/berthd.log" ]; then
    echo "# last lines of berthd.log:" >&2
    tail -n 20 "$BT_DIR/berthd.log" >&2
  fi
  if [ -n "${BT_PID:-}" ] && ! berthd_signal TERM; then
    kill -KILL "$BT_PID" 2>/dev/null
    wait "$BT_PID" 2>/dev/null
    BT_PID=
    rc=1
  fi
  if [ "${1:-}" != --keep ] && [ -n "${BT_DIR:-}" ]; then
    rm -rf "$BT_DIR"
    BT_DIR=
  fi
  [ "${1:-}" = --keep ] || bt_netns_down
  return $rc
}

# restart_berthd: stop berthd, keeping its dirs, and start it again with the same flags.
restart_berthd() {
  stop_berthd --keep && berthd_spawn "${BT_ARGS[@]}"
}

docker() { "$DOCKER_BIN" "$@"; }

# api METHOD PATH [curl args...]: prints the body, then a last line "HTTP <status>".
api() {
  local method=$1 path=$2
  shift 2
  curl -s --unix-socket "$BT_SOCK" -X "$method" -w '\nHTTP %{http_code}\n' "$@" "http://berth$path"
}

# api_save METHOD PATH [curl args...]: prints the status code; the body is kept in
# $BT_DIR/api.body and the headers in $BT_DIR/api.headers for body_is and header_is.
api_save() {
  local method=$1 path=$2
  shift 2
  curl -s --unix-socket "$BT_SOCK" -X "$method" -D "$BT_DIR/api.headers" -o "$BT_DIR/api.body" \
    -w '%{http_code}' "$@" "http://berth$path"
}

# body_is TEXT: the last api_save body is exactly TEXT and a newline.
body_is() {
  printf '%s\n' "$1" | cmp -s - "$BT_DIR/api.body" && return 0
  echo "expected body: $1"
  echo "actual body:   $(cat -A "$BT_DIR/api.body")"
  return 1
}

# header_is NAME VALUE: the last api_save reply has this header (name case-insensitive).
header_is() {
  local got
  got=$(tr -d '\r' <"$BT_DIR/api.headers" | sed -n "s/^$1: //Ip")
  [ "$got" = "$2" ] || { echo "header $1: expected '$2', got '$got'"; return 1; }
}

# raw_request [rawsock.py options]: send stdin bytes as-is over the socket, print what comes
# back (see rawsock.py for --split, --close-after, --repeat, --wait, --read-delay, --status).
# A client started in the background with `&` is a subshell: to be able to kill it, start
# the script itself instead: "$HOSTPY" "$RAWSOCK" "$BT_SOCK" ... &
RAWSOCK=$INTEGRATION_DIR/rawsock.py
raw_request() {
  "$HOSTPY" "$RAWSOCK" "$BT_SOCK" "$@"
}

# many_clients [clients.py options]: N keep-alive connections at once, M requests each.
CLIENTS=$INTEGRATION_DIR/clients.py
many_clients() {
  "$HOSTPY" "$CLIENTS" "$BT_SOCK" "$@"
}

# fd_count: open fds of the running berthd.
fd_count() {
  local fds=(/proc/"$BT_PID"/fd/*)
  echo "${#fds[@]}"
}

# conn_count: client connections berthd holds, i.e. its fds that are connected unix sockets
# (listening sockets are not). A client that has left still counts until berthd closes it.
conn_count() {
  local inodes
  inodes=$(ls -l /proc/"$BT_PID"/fd 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p')
  awk -v list="$inodes" '
    BEGIN { n = split(list, a, "\n"); for (i = 1; i <= n; i++) want[a[i]] = 1 }
    NR > 1 && $6 == "03" && ($7 in want) { c++ }
    END { print c + 0 }' /proc/net/unix
}

# fd_baseline: berthd's fd count once no client connection is left (the start-up ping's
# connection may still be open for a moment), for fds_back_to.
fd_baseline() {
  wait_until 5 conns_at_most 0 && fd_count
}

# fds_back_to N: true once berthd has at most N fds open (polls for up to 5 s).
# fds_at_most N, conns_at_most N, conns_at_least N: a test, once (for wait_until).
fds_at_most() { [ "$(fd_count)" -le "$1" ]; }
conns_at_most() { [ "$(conn_count)" -le "$1" ]; }
conns_at_least() { [ "$(conn_count)" -ge "$1" ]; }
fds_back_to() { wait_until 5 fds_at_most "$1"; }

berthd_log() { cat "$BT_DIR/berthd.log"; }
