#!/usr/bin/env bats
# docker logs against berthd's json-file log: the records on disk in Docker's shape, 100 MB that
# come back byte for byte, max-size/max-file rotation, --follow, --tail, --since/--until,
# --timestamps, and readers that stop reading without slowing the container or each other.

load helpers
load containers

setup_file() { ctr_setup_file; }
setup() { ctr_setup; }
teardown() { ctr_teardown; }

# gen BYTES: the output the big-log containers print, made the same way on the host (busybox's
# head, tr and fold): lines of 99 'a's and a newline.
gen_script='head -c "$0" /dev/zero | tr "\0" a | fold -w 99'
gen() { head -c "$1" /dev/zero | tr '\0' a | fold -w 99; }

log_path() { docker inspect --format '{{.LogPath}}' "$1"; }

# records_of CTR: the text of every record in the container's log files, oldest first.
records_of() {
  local f
  f=$(log_path "$1")
  cat $(ls -r "$f".* 2>/dev/null) "$f" | jq -j .log
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

@test "json-file records on disk have Docker's shape: log, stream, time; escapes; 16 KiB splits" {
  docker run --name shape busybox sh -c \
    'echo out; sleep 0.1; echo err >&2; sleep 0.1; printf "tab\t\"q\" \\\\ \001 \377 é\n"; head -c 40000 /dev/zero | tr "\0" x; echo; printf "no newline"' \
    >/dev/null 2>&1
  id=$(docker inspect --format '{{.Id}}' shape)
  f=$(log_path shape)
  [ "$f" = "$BT_DIR/root/containers/$id/$id-json.log" ]
  [[ "$(sed -n 1p "$f")" == '{"log":"out\n","stream":"stdout","time":"'*'"}' ]]
  [[ "$(sed -n 2p "$f")" == '{"log":"err\n","stream":"stderr","time":"'*'"}' ]]
  # Go's encoder: control characters as \u00XX, invalid UTF-8 as U+FFFD, valid UTF-8 as is.
  [[ "$(sed -n 3p "$f")" == '{"log":"tab\u0009\"q\" \\ \u0001 \ufffd é\n","stream":"stdout","time":"'* ]]
  # RFC 3339 UTC times with up to 9 digits (Go trims trailing zeros), never going back.
  run sed 's/.*"time":"\([^"]*\)"}$/\1/' "$f"
  for t in "${lines[@]}"; do
    [[ "$t" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]*[1-9])?Z$ ]]
  done
  [ "$(printf '%s\n' "${lines[@]}" | sort -c && echo sorted)" = sorted ]
  # Every line is one JSON object with exactly these keys; long lines are split at 16 KiB.
  run jq -c '[keys_unsorted, (.log | length), (.log | endswith("\n"))]' "$f"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 7 ]
  [ "${lines[3]}" = '[["log","stream","time"],16384,false]' ]
  [ "${lines[4]}" = '[["log","stream","time"],16384,false]' ]
  [ "${lines[5]}" = '[["log","stream","time"],7233,true]' ]
  [ "${lines[6]}" = '[["log","stream","time"],10,false]' ]
  # And docker logs gives back what was printed (the invalid byte as U+FFFD, 3 bytes).
  [ "$(docker logs shape 2>/dev/null | sed -n 2p)" = "$(printf 'tab\t"q" \\ \001 \357\277\275 é')" ]
  [ "$(docker logs shape 2>/dev/null | tail -c 10)" = "no newline" ]
  [ "$(docker logs shape 2>/dev/null | wc -c)" -eq $((4 + 19 + 40001 + 10)) ]
}

@test "logs of a container that printed 100 MB arrive complete and byte-exact" {
  [ "${BERTH_REACTOR:-io_uring}" = io_uring ] && [ "$BUILD" = build ] ||
    skip "100 MB once per suite run (the io_uring pass of the plain build)"
  gen 100000000 >"$BT_DIR/want"
  want=$(md5sum <"$BT_DIR/want")
  size=$(stat -c %s "$BT_DIR/want")
  got=$("$DOCKER_BIN" run --name big busybox sh -c "$gen_script" 100000000 | md5sum)
  [ "$got" = "$want" ]
  [ "$("$DOCKER_BIN" logs big 2>/dev/null | md5sum)" = "$want" ]
  [ "$(docker logs big 2>/dev/null | wc -c)" -eq "$size" ]
  [ "$(docker logs big 2>&1 >/dev/null | wc -c)" -eq 0 ]
  [ "$(wc -l <"$(log_path big)")" -eq "$(grep -c '' "$BT_DIR/want")" ]
  # With rotation, the end of it: all that the kept files hold, byte for byte.
  docker rm big
  docker run --name big --log-opt max-size=10m --log-opt max-file=3 busybox sh -c "$gen_script" \
    100000000 >/dev/null
  docker logs big >"$BT_DIR/got" 2>/dev/null
  n=$(stat -c %s "$BT_DIR/got")
  [ "$n" -gt 11000000 ] && [ "$n" -lt 18000000 ]
  tail -c "$n" "$BT_DIR/want" | cmp - "$BT_DIR/got"
  [ "$(ls "$(log_path big)"* | wc -l)" -eq 3 ]
  rm "$BT_DIR/want" "$BT_DIR/got"
}

@test "max-size/max-file rotation: files fill to max-size at record boundaries, logs reads them in order" {
  gen 12000000 >"$BT_DIR/want"
  docker run --name rot --log-opt max-size=1m --log-opt max-file=3 busybox sh -c "$gen_script" 12000000 \
    >/dev/null
  f=$(log_path rot)
  [ -s "$f" ] && [ -s "$f.1" ] && [ -s "$f.2" ] && [ ! -e "$f.3" ]
  # A rotated file holds records until it reaches max-size: the last one takes it past.
  for g in "$f.1" "$f.2"; do
    size=$(stat -c %s "$g")
    last=$(tail -n 1 "$g" | wc -c)
    [ "$size" -ge 1000000 ] && [ $((size - last)) -lt 1000000 ]
    jq -e . "$g" >/dev/null # whole records only
  done
  # What logs returns is the end of what was printed, byte for byte, from all three files.
  docker logs rot >"$BT_DIR/got" 2>/dev/null
  n=$(stat -c %s "$BT_DIR/got")
  [ "$n" -gt 1500000 ]
  tail -c "$n" "$BT_DIR/want" | cmp - "$BT_DIR/got"
  records_of rot | cmp - "$BT_DIR/got"
  [ "$(docker logs --tail 3 rot | grep -c '')" -eq 3 ]
}

@test "the daemon's log-opts (daemon.json) rotate containers that set none" {
  ctr_teardown
  BT_CONFIG_EXTRA='"log-opts":{"max-size":"200k","max-file":"2"}' ctr_setup
  docker run --name rot busybox sh -c "$gen_script" 1000000 >/dev/null
  f=$(log_path rot)
  [ -s "$f.1" ] && [ ! -e "$f.2" ]
  [ "$(docker inspect --format '{{json .HostConfig.LogConfig}}' rot)" = \
    '{"Type":"json-file","Config":{"max-file":"2","max-size":"200k"}}' ]
  docker logs rot | cmp - <(records_of rot)
  [ "$(docker logs rot | wc -c)" -gt 100000 ]
}

@test "logs -f follows a running container to its end; --tail 0 -f shows only what is new" {
  docker run -d --name chat busybox sh -c \
    'echo early; sleep 1; for i in 1 2 3 4 5; do echo line $i; echo warn $i >&2; sleep 0.1; done'
  wait_until 5 log_has chat early
  run timeout -s KILL 20 "$DOCKER_BIN" logs -f chat
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = early ]
  [ "${#lines[@]}" -eq 11 ]
  # Each stream in order (the order across the two pipes is the reads' own).
  [ "$(printf '%s\n' "${lines[@]}" | grep '^line' | tr '\n' ,)" = "line 1,line 2,line 3,line 4,line 5," ]
  [ "$(printf '%s\n' "${lines[@]}" | grep '^warn' | tr '\n' ,)" = "warn 1,warn 2,warn 3,warn 4,warn 5," ]
  docker rm chat
  docker run -d --name chat busybox sh -c 'echo old; sleep 1; echo new; echo new-err >&2'
  wait_until 5 log_has chat old
  timeout -s KILL 20 "$DOCKER_BIN" logs -f --tail 0 chat >"$BT_DIR/o" 2>"$BT_DIR/e"
  [ "$(cat "$BT_DIR/o")" = new ]
  [ "$(cat "$BT_DIR/e")" = new-err ]
}

@test "logs -f follows across rotations without losing or repeating a byte" {
  want=$(gen 5000000 | md5sum)
  docker run -d --name rot --log-opt max-size=1m --log-opt max-file=10 busybox sh -c \
    "sleep 1; $gen_script" 5000000
  got=$(timeout -s KILL 60 "$DOCKER_BIN" logs -f rot | md5sum)
  [ "$got" = "$want" ]
  [ -e "$(log_path rot).5" ] # it did rotate, several times
}

@test "logs --tail, --since/--until (inclusive, as dockerd), and -t's timestamps" {
  docker run --name ts busybox sh -c 'echo l1; sleep 1.1; echo l2 >&2; sleep 1.1; echo l3; sleep 0.1; echo l4 >&2' \
    >/dev/null 2>&1
  run docker logs -t ts
  [ "${#lines[@]}" -eq 4 ]
  for l in "${lines[@]}"; do
    [[ "$l" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z\ l[1-4]$ ]]
  done
  t2=$(printf '%s\n' "${lines[@]}" | sed -n 's/ l2$//p')
  [ -n "$t2" ]
  [ "$(docker logs --since "$t2" ts 2>&1 | tr '\n' ' ')" = "l2 l3 l4 " ]
  [ "$(docker logs --until "$t2" ts 2>&1 | tr '\n' ' ')" = "l1 l2 " ]
  [ "$(docker logs --since "$t2" --until "$t2" ts 2>&1 | tr '\n' ' ')" = "l2 " ]
  # Unix seconds, and the CLI's relative form.
  [ "$(docker logs --since "$(date -d "$t2" +%s)" ts 2>&1 | tr '\n' ' ')" = "l2 l3 l4 " ]
  [ "$(docker logs --since 10m ts 2>&1 | wc -l)" -eq 4 ]
  [ -z "$(docker logs --since "$(($(date +%s) + 60))" ts 2>&1)" ]
  # --tail counts lines of both streams, each still goes to its own CLI stream.
  docker logs --tail 2 ts >"$BT_DIR/o" 2>"$BT_DIR/e"
  [ "$(cat "$BT_DIR/o")" = l3 ] && [ "$(cat "$BT_DIR/e")" = l4 ]
  [ -z "$(docker logs --tail 0 ts 2>&1)" ]
  [ "$(docker logs --tail all ts 2>&1 | wc -l)" -eq 4 ]
  [ "$(docker logs --tail 100 ts 2>&1 | wc -l)" -eq 4 ]
  [ "$(docker logs -t --tail 1 ts 2>&1)" = "${lines[3]}" ]
}

# run_timed NAME BYTES: run a big-log container detached and wait for it; prints milliseconds.
run_timed() {
  local t0
  t0=$(now_ms)
  docker run -d --name "$1" busybox sh -c "$gen_script" "$2" >/dev/null
  docker wait "$1" >/dev/null
  echo $(($(now_ms) - t0))
}

# calls_at_least N WHAT: berthd's log shows at least N requests whose line matches WHAT.
calls_at_least() { [ "$(grep -c "Calling .*$2" "$BT_DIR/berthd.log")" -ge "$1" ]; }

@test "a follower that stops reading slows neither the container nor another follower" {
  bytes=30000000
  want=$(gen $bytes | md5sum)
  alone=$(run_timed alone $bytes)
  base=$(fd_baseline)
  docker run -d --name busy busybox sh -c "sleep 1; $gen_script" $bytes
  "$DOCKER_BIN" logs -f busy >"$BT_DIR/stalled.out" 2>&1 3>&- &
  stalled=$!
  wait_until 5 calls_at_least 1 '/logs"'
  kill -STOP "$stalled"
  t0=$(now_ms)
  run bash -c '"$0" logs -f busy 2>/dev/null | md5sum' "$DOCKER_BIN"
  docker wait busy
  took=$(($(now_ms) - t0 - 1000))
  [ "$output" = "$want" ] # the follower that reads got everything
  echo "# alone ${alone} ms, with a stalled follower ${took} ms" >&3
  # A container the stalled one held back would never end while it is stopped; the bound only
  # says "not much slower", generous because another job on the machine can slow this part
  # alone (ASan, two cores: 4.3 s alone, then 19.9 s with the machine saturated)
  [ "$took" -le $((alone * 4 + 15000)) ]
  [ "$(stat -c %s "$BT_DIR/stalled.out")" -lt $((bytes / 2)) ] # it really was behind
  # The stalled follower is not forgotten: woken, it reads on to the end.
  kill -CONT "$stalled"
  wait "$stalled"
  [ "$(md5sum <"$BT_DIR/stalled.out")" = "$want" ]
  fds_back_to "$base"
}

@test "an attach client that stops reading slows neither the container nor another client" {
  bytes=30000000
  want=$(gen $bytes | md5sum)
  alone=$(run_timed alone $bytes)
  base=$(fd_baseline)
  docker run -d --name busy busybox sh -c "sleep 1; $gen_script" $bytes
  "$DOCKER_BIN" attach busy >/dev/null 2>&1 3>&- &
  stalled=$!
  wait_until 5 calls_at_least 1 '/attach"'
  kill -STOP "$stalled"
  "$DOCKER_BIN" attach busy 2>/dev/null | md5sum >"$BT_DIR/md5" &
  wait_until 5 calls_at_least 2 '/attach"'
  t0=$(now_ms)
  docker wait busy
  took=$(($(now_ms) - t0))
  wait_until 10 test -s "$BT_DIR/md5"
  [ "$(cat "$BT_DIR/md5")" = "$want" ] # the client that reads got everything
  echo "# alone ${alone} ms, with a stalled attach client ${took} ms" >&3
  # A container the stalled one held back would never end while it is stopped; the bound only
  # says "not much slower", generous because another job on the machine can slow this part
  # alone (ASan, two cores: 4.3 s alone, then 19.9 s with the machine saturated)
  [ "$took" -le $((alone * 4 + 15000)) ]
  # Far behind, it was cut off: berthd keeps neither its attach connection nor its backlog,
  # though the client still has not read (its two others, wait and keep-alive, stay).
  grep -q "reads too slowly; detaching it" "$BT_DIR/berthd.log"
  wait_until 5 conns_at_most 2
  kill -KILL "$stalled"
  wait "$stalled" || true
  fds_back_to "$base"
  [ "$("$DOCKER_BIN" logs busy 2>/dev/null | md5sum)" = "$want" ] # and the log has it all
}
