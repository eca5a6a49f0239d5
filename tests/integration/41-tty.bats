#!/usr/bin/env bats
# Containers with a tty, through the real docker CLI on a real pseudo-terminal (ptyexpect.py):
# `docker run -it busybox sh` as an interactive shell, the terminal's size inside and its
# changes, detaching with ctrl-p ctrl-q or --detach-keys and attaching again, and a client
# that is killed mid-session.

load helpers
load containers

setup_file() { ctr_setup_file; }
setup() { ctr_setup; }
teardown() { ctr_teardown; }

@test "run -it busybox sh is an interactive shell: prompt, arithmetic, exit status" {
  run pty_run -- "$DOCKER_BIN" run -it --rm busybox sh <<'EOF'
expect / # 
send echo $((6*7))\r
expect \r\n42\r\n
send exit 3\r
eof
EOF
  [ "$status" -eq 3 ]
  [ -z "$(docker ps -aq)" ]
}

@test "the tty's size inside is the client terminal's, and follows its resize (SIGWINCH)" {
  run pty_run --rows 33 --cols 101 -- "$DOCKER_BIN" run -it --rm busybox sh <<'EOF'
expect / # 
send stty size\r
expect \r\n33 101\r\n
resize 45 132
sleep 0.3
send stty size\r
expect \r\n45 132\r\n
send exit\r
eof
EOF
  [ "$status" -eq 0 ]
}

@test "POST /containers/{id}/resize sets the size a running tty container sees" {
  docker run -dit --name tt busybox sh
  run api POST "/containers/tt/resize?h=11&w=37"
  [ "${lines[-1]}" = "HTTP 200" ]
  printf 'stty size\n' >"$BT_DIR/in"
  run raw_attach tt 'stream=1&stdin=1&stdout=1&stderr=1' --wait 1 <"$BT_DIR/in"
  [[ "$output" == *$'\r\n11 37\r\n'* ]]
  # Without a tty there is nothing to resize, and dockerd does not mind; a stopped container
  # and a malformed size are errors.
  docker run -d --name plain busybox sleep 60
  run api POST "/containers/plain/resize?h=11&w=37"
  [ "${lines[-1]}" = "HTTP 200" ]
  docker create --name stopped -t busybox sh
  run api POST "/containers/stopped/resize?h=11&w=37"
  [ "${lines[-1]}" = "HTTP 409" ]
  [[ "$output" == *'is not running'* ]]
  run api POST "/containers/tt/resize?h=x&w=37"
  [ "${lines[-1]}" = "HTTP 400" ]
  [ "${lines[0]}" = '{"message":"strconv.Atoi: parsing \"x\": invalid syntax"}' ]
}

@test "run -t without -i: stdout and stderr arrive as one stream with the tty's CRLF" {
  run bash -c '"$0" run --rm -t busybox sh -c "echo out; echo err >&2" 2>/dev/null' "$DOCKER_BIN"
  [ "$output" = $'out\r\nerr\r' ]
  docker run --name tt -t busybox sh -c 'echo out; echo err >&2'
  run bash -c '"$0" logs tt 2>/dev/null' "$DOCKER_BIN"
  [ "$output" = $'out\r\nerr\r' ]
}

@test "ctrl-p ctrl-q detaches, the shell runs on; attach again, --detach-keys, then exit" {
  run pty_run -- "$DOCKER_BIN" run -it --name sh1 busybox sh <<'EOF'
expect / # 
send echo one-$((0+1))\r
expect one-1
send \x10\x11
eof
EOF
  [ "$status" -eq 0 ] # as with dockerd: the detach is no error for docker run
  running sh1
  # The shell kept its state: a variable set before the detach is still there.
  run pty_run -- "$DOCKER_BIN" attach --detach-keys ctrl-x,x sh1 <<'EOF'
send X=kept; echo two-$X\r
expect two-kept
send \x10\x11echo still-$X\r
expect still-kept
send \x18x
eof
EOF
  [ "$status" -eq 1 ] # docker attach says "read escape sequence", as with dockerd
  [[ "$output" == *"read escape sequence"* ]]
  running sh1
  run pty_run -- "$DOCKER_BIN" attach sh1 <<'EOF'
send echo three-$X\r
expect three-kept
send exit 5\r
eof
EOF
  [ "$status" -eq 5 ]
  [ "$(docker inspect --format '{{.State.Status}} {{.State.ExitCode}}' sh1)" = "exited 5" ]
}

@test "berthd's own detach: the keys close that attach only, what follows them never arrives" {
  docker run -dit --name cc busybox cat
  printf 'one\n\x10\x11two\n' >"$BT_DIR/in"
  run raw_attach cc 'stream=1&stdin=1&stdout=1&stderr=1' --wait 3 --status <"$BT_DIR/in"
  [[ "$output" == *"HTTP/1.1 101 UPGRADED"* ]]
  [[ "$output" == *"[closed after"* ]]
  # Custom keys: ctrl-p ctrl-q are plain input then, a lone ctrl-x too; ctrl-x x detaches.
  printf 'three\n\x10\x11four\x18\n\x18x five\n' >"$BT_DIR/in"
  run raw_attach cc 'stream=1&stdin=1&stdout=1&detachKeys=ctrl-x,x' --wait 3 --status <"$BT_DIR/in"
  [[ "$output" == *"[closed after"* ]]
  running cc
  # What came before the keys reached the container (the tty echoes it and cat prints it).
  wait_until 5 log_has cc 'four^X'
  run docker logs cc
  [[ "$output" == *one* && "$output" == *three* && "$output" == *four* ]]
  [[ "$output" != *two* && "$output" != *five* ]]
  run api POST "/containers/cc/attach?stream=1&stdin=1&detachKeys=ctrl-xx"
  [ "${lines[-1]}" = "HTTP 400" ]
  [[ "$output" == *"Invalid detach keys (ctrl-xx) provided"* ]]
}

@test "an -it client killed mid-session: the shell runs on, its connection is closed, attach again" {
  base=$(fd_baseline)
  pty_run --pidfile "$BT_DIR/cli.pid" -- "$DOCKER_BIN" run -it --name sh1 busybox sh \
    >"$BT_DIR/pty.out" 2>&1 3>&- <<'EOF' &
expect / # 
send Y=alive; echo rea""dy\r
expect ready
sleep 60
EOF
  pty=$!
  wait_until 10 log_has sh1 '^ready'
  kill -KILL "$(cat "$BT_DIR/cli.pid")"
  wait "$pty" || true
  wait_until 5 conns_at_most 0
  running sh1
  run pty_run -- "$DOCKER_BIN" attach sh1 <<'EOF'
send echo still-$Y\r
expect still-alive
send exit\r
eof
EOF
  [ "$status" -eq 0 ]
  docker rm sh1
  fds_back_to "$base"
}
