#!/usr/bin/env bats
# berthd's life: one daemon per pid file and per socket, stale sockets, signals, flags that
# exit at once, and the engine ID kept across restarts.

load helpers

teardown() { stop_berthd; }

# second_berthd FLAGS...: a berthd expected to refuse to start; 10 s at most.
second_berthd() { timeout 10 "$BERTHD" --config-file "$BT_DIR/daemon.json" "$@" 3>&-; }

# make_stale_socket PATH: a socket file nobody listens on, as a crashed daemon leaves.
make_stale_socket() {
  "$HOSTPY" -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$1"
}

pings() { curl -sf --unix-socket "${1:-$BT_SOCK}" http://berth/_ping; }

@test "a second berthd on the same pid file is refused; the first keeps serving" {
  start_berthd
  run second_berthd --root "$BT_DIR/root2" --exec-root "$BT_DIR/run" -H "unix://$BT_DIR/second.sock"
  [ "$status" -eq 1 ]
  [[ "$output" == *"pid file \`$BT_DIR/run/berthd.pid\` is locked by a running berthd (pid $BT_PID)"* ]]
  [ ! -e "$BT_DIR/second.sock" ]
  [ "$(cat "$BT_DIR/run/berthd.pid")" = "$BT_PID" ]
  run docker version --format '{{.Server.Version}}'
  [ "$status" -eq 0 ]
  [ -n "$output" ]
}

@test "a second berthd on the same live socket is refused; the first keeps serving" {
  start_berthd
  local inode
  inode=$(stat -c %i "$BT_SOCK")
  run second_berthd --root "$BT_DIR/root2" --exec-root "$BT_DIR/run2" -H "unix://$BT_SOCK"
  [ "$status" -eq 1 ]
  [[ "$output" == *"another daemon is already listening on \`$BT_SOCK\`"* ]]
  # The refused daemon cleaned up its own pid file and left the first one's socket alone.
  [ ! -e "$BT_DIR/run2/berthd.pid" ]
  [ "$(stat -c %i "$BT_SOCK")" = "$inode" ]
  run pings
  [ "$output" = OK ]
}

@test "a stale socket file is replaced" {
  bt_prepare
  make_stale_socket "$BT_SOCK"
  [ -S "$BT_SOCK" ]
  ! pings
  berthd_spawn "${BT_FLAGS[@]}"
  run pings
  [ "$output" = OK ]
}

@test "after a crash (SIGKILL) berthd starts again over the leftover socket and pid file" {
  start_berthd
  kill -KILL "$BT_PID"
  wait "$BT_PID" || true
  BT_PID=
  [ -S "$BT_SOCK" ]
  [ -f "$BT_DIR/run/berthd.pid" ]
  berthd_spawn "${BT_ARGS[@]}"
  run pings
  [ "$output" = OK ]
  [ "$(cat "$BT_DIR/run/berthd.pid")" = "$BT_PID" ]
}

@test "a path that exists and is not a socket is refused and left alone" {
  bt_prepare
  echo precious >"$BT_DIR/not-a-socket"
  run second_berthd --root "$BT_DIR/root" --exec-root "$BT_DIR/run" -H "unix://$BT_DIR/not-a-socket"
  [ "$status" -eq 1 ]
  [[ "$output" == *"\`$BT_DIR/not-a-socket\` exists and is not a socket"* ]]
  [ "$(cat "$BT_DIR/not-a-socket")" = precious ]
  [ ! -e "$BT_DIR/run/berthd.pid" ]
  # A directory is refused the same way.
  mkdir "$BT_DIR/a-dir"
  run second_berthd --root "$BT_DIR/root" --exec-root "$BT_DIR/run" -H "unix://$BT_DIR/a-dir"
  [ "$status" -eq 1 ]
  [[ "$output" == *"exists and is not a socket"* ]]
  [ -d "$BT_DIR/a-dir" ]
}

@test "SIGTERM: exit 0, socket and pid file removed" {
  start_berthd
  [ -f "$BT_DIR/run/berthd.pid" ]
  berthd_signal TERM
  [ "$BT_EXIT" -eq 0 ]
  [ ! -e "$BT_SOCK" ]
  [ ! -e "$BT_DIR/run/berthd.pid" ]
  grep -q "Processing signal 'Terminated'" "$BT_DIR/berthd.log"
  grep -q "berthd shut down" "$BT_DIR/berthd.log"
}

@test "SIGINT: exit 0, socket and pid file removed" {
  start_berthd
  berthd_signal INT
  [ "$BT_EXIT" -eq 0 ]
  [ ! -e "$BT_SOCK" ]
  [ ! -e "$BT_DIR/run/berthd.pid" ]
  grep -q "Processing signal 'Interrupt'" "$BT_DIR/berthd.log"
}

@test "SIGTERM with clients connected still exits at once and closes them" {
  start_berthd
  raw_request --status --wait 10 </dev/null >"$BT_DIR/idle" &
  local idle=$!
  raw_request --status --wait 10 < <(printf 'GET /_ping HTTP/1.1\r\nHo') >"$BT_DIR/half" &
  local half=$!
  wait_until 5 conns_at_least 2 # both connections accepted
  berthd_signal TERM
  [ "$BT_EXIT" -eq 0 ]
  wait "$idle" "$half"
  grep -q '^\[closed after [0-4]\.' "$BT_DIR/idle"
  grep -q '^\[closed after [0-4]\.' "$BT_DIR/half"
  [ ! -e "$BT_SOCK" ]
}

@test "--version and -v print the version and exit 0" {
  bt_prepare
  run "$BERTHD" --version
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^berth\ version\ [0-9]+\.[0-9]+\.[0-9]+.*,\ build\ [0-9a-z]+$ ]]
  local long=$output
  run "$BERTHD" -v "${BT_FLAGS[@]}"
  [ "$status" -eq 0 ]
  [ "$output" = "$long" ]
  # It starts nothing.
  [ ! -e "$BT_DIR/root" ]
  [ ! -e "$BT_SOCK" ]
}

@test "--help lists every flag and exits 0" {
  run "$BERTHD" --help
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "Usage: berthd [OPTIONS]" ]]
  local flag
  for flag in --config-file --debug --data-root --exec-root --help --host \
    --http-idle-timeout --http-request-timeout --log-level --pidfile --reactor --version; do
    [[ "$output" == *" $flag "* ]] || { echo "missing $flag"; false; }
  done
  run "$BERTHD" -h
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "Usage: berthd [OPTIONS]" ]]
}

@test "an unknown flag or an argument is refused" {
  run "$BERTHD" --bogus
  [ "$status" -eq 1 ]
  [ "$output" = "berthd: unknown flag: --bogus" ]
  run "$BERTHD" extra
  [ "$status" -eq 1 ]
  [ "$output" = "berthd: berthd takes no arguments, got \`extra\`" ]
  run "$BERTHD" --http-request-timeout abc
  [ "$status" -eq 1 ]
  [ "$output" = "berthd: invalid value \`abc\` for --http-request-timeout" ]
  run "$BERTHD" -H tcp://127.0.0.1:2375
  [ "$status" -eq 1 ]
  [[ "$output" == *"only unix:// sockets are supported"* ]]
}

@test "an unknown reactor backend is refused" {
  bt_prepare
  run second_berthd --root "$BT_DIR/root" --exec-root "$BT_DIR/run" -H "unix://$BT_SOCK" \
    --reactor bogus
  [ "$status" -eq 1 ]
  [[ "$output" == *"unknown reactor \`bogus\`"* ]]
  [ ! -e "$BT_SOCK" ]
}

@test "the engine ID is kept across restarts on the same root" {
  start_berthd
  local id
  id=$(docker info --format '{{.ID}}')
  [ -n "$id" ]
  restart_berthd
  [ "$(docker info --format '{{.ID}}')" = "$id" ]
  # Another root is another engine.
  stop_berthd
  start_berthd
  [ "$(docker info --format '{{.ID}}')" != "$id" ]
}

@test "the pid file holds the daemon's pid; -p moves it" {
  start_berthd
  [ "$(cat "$BT_DIR/run/berthd.pid")" = "$BT_PID" ]
  stop_berthd
  bt_prepare
  berthd_spawn "${BT_FLAGS[@]}" -p "$BT_DIR/elsewhere.pid"
  [ "$(cat "$BT_DIR/elsewhere.pid")" = "$BT_PID" ]
  [ ! -e "$BT_DIR/run/berthd.pid" ]
  berthd_signal TERM
  [ ! -e "$BT_DIR/elsewhere.pid" ]
}

@test "-H twice serves both sockets and removes both at exit" {
  bt_prepare
  berthd_spawn "${BT_FLAGS[@]}" -H "unix://$BT_DIR/second.sock"
  run pings "$BT_SOCK"
  [ "$output" = OK ]
  run pings "$BT_DIR/second.sock"
  [ "$output" = OK ]
  [ "$(stat -c %a "$BT_DIR/second.sock")" = 660 ]
  berthd_signal TERM
  [ "$BT_EXIT" -eq 0 ]
  [ ! -e "$BT_SOCK" ]
  [ ! -e "$BT_DIR/second.sock" ]
}

@test "without -H the socket is EXEC-ROOT/berth.sock" {
  bt_prepare
  BT_SOCK=$BT_DIR/run/berth.sock
  berthd_spawn --root "$BT_DIR/root" --exec-root "$BT_DIR/run" --config-file "$BT_DIR/daemon.json"
  run docker version --format '{{.Server.APIVersion}}'
  [ "$output" = 1.50 ]
  grep -q "API listen on $BT_DIR/run/berth.sock" "$BT_DIR/berthd.log"
}
