#!/usr/bin/env bats
# A container's stdio without a tty, through the real docker CLI: run's output on the right
# streams and in order, stdin with -i (its end ends the container: StdinOnce), docker attach
# to a running container, and clients that leave mid-attach.

load helpers
load containers

setup_file() { ctr_setup_file; }
setup() { ctr_setup; }
teardown() { ctr_teardown; }

# attach_bytes CTR QUERY INPUT_FILE [rawsock.py options]: raw_attach's reply, as `od -c` shows
# it on one line (runs of spaces squeezed).
attach_bytes() {
  local ctr=$1 query=$2 input=$3
  shift 3
  raw_attach "$ctr" "$query" "$@" <"$input" | od -An -c | tr -s ' \n' ' '
}

# log_lines_above CTR N: the container's log has more than N lines.
log_lines_above() { [ "$(docker logs "$1" 2>/dev/null | wc -l)" -gt "$2" ]; }

# last_tick FILE: the highest N of the "tick N" lines in FILE.
last_tick() { sed -n 's/^tick \([0-9]*\)$/\1/p' "$1" | sort -n | tail -n 1; }

ticker='i=0; while :; do echo tick $i; echo tock $i >&2; i=$((i+1)); sleep 0.05; done'

@test "run: stdout and stderr reach the CLI's own streams, in the order they were written" {
  script='echo out1; sleep 0.1; echo err1 >&2; sleep 0.1; echo out2; sleep 0.1; echo err2 >&2'
  docker run --rm busybox sh -c "$script" >"$BT_DIR/o" 2>"$BT_DIR/e"
  [ "$(cat "$BT_DIR/o")" = "$(printf 'out1\nout2')" ]
  [ "$(cat "$BT_DIR/e")" = "$(printf 'err1\nerr2')" ]
  run docker run --rm busybox sh -c "$script"
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'out1\nerr1\nout2\nerr2')" ]
  # A line split across writes, and output without a final newline, arrive as written.
  run docker run --rm busybox sh -c 'printf "par"; sleep 0.1; printf "tial\nno newline"'
  [ "$output" = "$(printf 'partial\nno newline')" ]
}

@test "run -i without -t: stdin reaches the container and its end (StdinOnce) ends it" {
  run bash -c 'echo hi | "$0" run -i --rm busybox cat' "$DOCKER_BIN"
  [ "$status" -eq 0 ]
  [ "$output" = hi ]
  # The container lives on after its stdin ends only as long as it chooses to.
  run bash -c 'printf "a\nb\nc\n" | "$0" run -i --name once busybox sh -c "wc -l; echo after eof; exit 4"' \
    "$DOCKER_BIN"
  [ "$status" -eq 4 ]
  [ "$output" = "$(printf '3\nafter eof')" ]
  [ "$(docker inspect --format '{{.State.Status}} {{.State.ExitCode}}' once)" = "exited 4" ]
  [ "$(docker inspect --format '{{.Config.OpenStdin}} {{.Config.StdinOnce}}' once)" = "true true" ]
}

@test "run -i: megabytes of stdin arrive intact (md5sum inside equals the host's)" {
  head -c 6000000 /dev/urandom >"$BT_DIR/in"
  want=$(md5sum <"$BT_DIR/in")
  run bash -c '"$0" run -i --rm busybox md5sum <"$1"' "$DOCKER_BIN" "$BT_DIR/in"
  [ "$status" -eq 0 ]
  [ "$output" = "$want" ]
  # Every byte value, ctrl-p ctrl-q among them: without a tty there are no detach keys.
  printf '\x10\x11\x10\x11' >>"$BT_DIR/in"
  run bash -c '"$0" run -i --rm busybox sh -c "cat | wc -c" <"$1"' "$DOCKER_BIN" "$BT_DIR/in"
  [ "$output" = 6000004 ]
}

@test "run -i: a container that exits before reading all its stdin still gives its output and status" {
  run timeout -s KILL 20 bash -c 'yes |
    "$0" run -i --rm busybox sh -c "head -c 10 >/dev/null; echo read10; exit 7"' "$DOCKER_BIN"
  [ "$status" -eq 7 ]
  [ "$output" = read10 ] # not "connection reset by peer": berthd drops the rest, then closes
}

@test "attach to a running -d container: live output on the right streams, again after a reattach" {
  docker run -d --name ticker busybox sh -c "$ticker"
  wait_until 5 log_has ticker '^tick 3$'
  "$DOCKER_BIN" attach ticker >"$BT_DIR/a1.out" 2>"$BT_DIR/a1.err" 3>&- &
  pid=$!
  wait_until 5 grep -q '^tick ' "$BT_DIR/a1.out"
  wait_until 5 grep -q '^tock ' "$BT_DIR/a1.err"
  kill -KILL "$pid"
  wait "$pid" || true
  ! grep -v '^tick [0-9]*$' "$BT_DIR/a1.out"
  ! grep -v '^tock [0-9]*$' "$BT_DIR/a1.err"
  # Live: the attach saw only what came after it, not the log from the start.
  [ "$(head -n 1 "$BT_DIR/a1.out")" != "tick 0" ]
  first=$(last_tick "$BT_DIR/a1.out")
  running ticker
  "$DOCKER_BIN" attach ticker >"$BT_DIR/a2.out" 2>/dev/null 3>&- &
  pid=$!
  wait_until 5 grep -q '^tick ' "$BT_DIR/a2.out"
  kill -KILL "$pid"
  wait "$pid" || true
  [ "$(sed -n '1s/^tick //p' "$BT_DIR/a2.out")" -gt "$first" ]
}

@test "attach ends with the container, and docker attach exits with its status" {
  docker run -d --name short busybox sh -c 'sleep 0.5; echo bye; exit 6'
  run timeout -s KILL 10 "$DOCKER_BIN" attach short
  [ "$status" -eq 6 ]
  [ "$output" = bye ]
}

@test "a client killed mid-attach: the container runs on, berthd serves, no fd is left behind" {
  docker run -d --name ticker busybox sh -c "$ticker"
  base=$(fd_baseline)
  for i in 1 2 3; do
    "$DOCKER_BIN" attach ticker >"$BT_DIR/a$i.out" 2>&1 3>&- &
    pids[i]=$!
  done
  for i in 1 2 3; do wait_until 5 grep -q '^tick ' "$BT_DIR/a$i.out"; done
  kill -KILL "${pids[@]}"
  wait "${pids[@]}" || true
  fds_back_to "$base"
  running ticker
  run docker ps --format '{{.Names}}'
  [ "$output" = ticker ]
  # The container's output still flows: its log keeps growing.
  n=$(docker logs ticker 2>/dev/null | wc -l)
  wait_until 5 log_lines_above ticker "$n"
}

@test "raw attach without a tty: ctrl-p ctrl-q are input like any other, the stream frames are Docker's" {
  docker run -di --name cat busybox cat
  printf 'a\x10\x11b\n' >"$BT_DIR/in"
  run attach_bytes cat 'stream=1&stdin=1&stdout=1&stderr=1' "$BT_DIR/in" --wait 1 --status
  [[ "$output" == *"H T T P / 1 . 1 1 0 1 "* ]]
  # One stdout frame of 5 bytes, the keys inside it; the connection stays open.
  [[ "$output" == *'001 \0 \0 \0 \0 \0 \0 005 a 020 021 b \n'* ]]
  [[ "$output" == *"[ o p e n a f t e r"* ]]
  running cat
}

@test "raw attach: stdout only is what it asked for, stderr frames are stream 2" {
  docker run -d --name both busybox sh -c 'sleep 0.3; echo to-out; echo to-err >&2; sleep 0.5'
  run attach_bytes both 'stream=1&stdout=1' /dev/null --wait 3
  [[ "$output" == *'001 \0 \0 \0 \0 \0 \0 \a t o - o u t \n'* ]]
  [[ "$output" != *"t o - e r r"* ]]
  docker rm -f both
  docker run -d --name both busybox sh -c 'sleep 0.3; echo to-err >&2; sleep 0.5'
  run attach_bytes both 'stream=1&stdout=1&stderr=1' /dev/null --wait 3
  [[ "$output" == *'002 \0 \0 \0 \0 \0 \0 \a t o - e r r \n'* ]]
}

# exited PID: the process has ended (a zombie until its parent waits for it counts).
exited() { [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo Z)" = Z ]; }

@test "rm -f of an attached container ends the attach; with --rm too (removed once, berthd lives)" {
  for rm in "" --rm; do
    docker run -d $rm --name victim busybox sh -c "$ticker"
    "$DOCKER_BIN" attach victim >"$BT_DIR/a.out" 2>&1 3>&- &
    pid=$!
    wait_until 5 grep -q '^tick ' "$BT_DIR/a.out"
    docker rm -f victim
    wait_until 5 exited "$pid"
    wait "$pid" || true
    [ -z "$(docker ps -aq)" ]
    [ -z "$(ls "$BT_DIR/root/containers")" ]
  done
  docker run --rm busybox true
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$BT_PID/status"; }

@test "stdin a container does not read waits in the client, not in berthd's memory" {
  docker run -di --name sink busybox sleep 60
  before=$(rss_kb)
  head -c 200000000 /dev/zero | timeout -s KILL 5 "$DOCKER_BIN" attach sink >/dev/null 2>&1 || true
  after=$(rss_kb)
  echo "# berthd RSS ${before} kB, after 200 MB offered: ${after} kB" >&3
  [ "$after" -lt $((before + 50000)) ]
  running sink
}
