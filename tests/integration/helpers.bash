# tests/integration/helpers.bash — shared set-up for the bats suites: a private berthd per
# test file (own socket, root and exec-root under a temp dir), the real docker CLI, curl.

BERTH_SRC=${BERTH_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
BUILD=${BUILD:-build}
BERTHD=$BERTH_SRC/$BUILD/berthd
BERTH=$BERTH_SRC/$BUILD/berth
DOCKER_BIN=$(command -v /usr/local/bin/docker || command -v docker)
HOSTPY=/usr/bin/python3 # Debian's python, not the pyenv one on PATH

# start_berthd [extra berthd flags...]: sets BT_DIR, BT_SOCK, BT_PID, DOCKER_HOST.
# BT_CONFIG, if set, is written as the daemon.json berthd reads.
start_berthd() {
  BT_DIR=$(mktemp -d /tmp/berth-test.XXXXXX)
  BT_SOCK=$BT_DIR/run/berth.sock
  export DOCKER_HOST=unix://$BT_SOCK
  mkdir -p "$BT_DIR/run"
  printf '%s\n' "${BT_CONFIG:-"{}"}" >"$BT_DIR/daemon.json"
  "$BERTHD" --root "$BT_DIR/root" --exec-root "$BT_DIR/run" -H "unix://$BT_SOCK" \
    --config-file "$BT_DIR/daemon.json" --log-level debug "$@" \
    </dev/null >"$BT_DIR/berthd.log" 2>&1 &
  BT_PID=$!
  wait_for_socket "$BT_SOCK" || { cat "$BT_DIR/berthd.log" >&2; return 1; }
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

# stop_berthd: SIGTERM, wait, then clean the temp dir. Fails if berthd does not exit.
stop_berthd() {
  [ -n "${BT_PID:-}" ] || return 0
  kill -TERM "$BT_PID" 2>/dev/null || true
  local i
  for i in $(seq 200); do kill -0 "$BT_PID" 2>/dev/null || break; sleep 0.025; done
  if kill -0 "$BT_PID" 2>/dev/null; then
    kill -KILL "$BT_PID"; wait "$BT_PID" 2>/dev/null || true
    echo "berthd did not stop on SIGTERM" >&2; return 1
  fi
  wait "$BT_PID" 2>/dev/null || true
  BT_PID=
  [ -n "${BT_DIR:-}" ] && rm -rf "$BT_DIR"
}

docker() { "$DOCKER_BIN" "$@"; }

# api METHOD PATH [curl args...]: prints the body, then a last line "HTTP <status>".
api() {
  local method=$1 path=$2; shift 2
  curl -s --unix-socket "$BT_SOCK" -X "$method" -w '\nHTTP %{http_code}\n' "$@" "http://berth$path"
}

# raw_request: send stdin bytes as-is over the socket, print what comes back.
raw_request() {
  "$HOSTPY" "$BERTH_SRC/tests/integration/rawsock.py" "$BT_SOCK" "$@"
}

berthd_log() { cat "$BT_DIR/berthd.log"; }
