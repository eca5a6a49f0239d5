#!/usr/bin/env bats
# The HTTP server against hostile or careless clients: chunk framing that does not add up,
# requests that trickle in, and clients that hoard idle connections until the daemon is out
# of file descriptors.

load helpers

teardown() {
  [ -z "${HOARDER:-}" ] || { kill "$HOARDER" 2>/dev/null; wait "$HOARDER" 2>/dev/null; }
  HOARDER=
  stop_berthd
}

# closed_after OUTPUT: the S.SS of rawsock's "[closed after S.SSs]" line.
closed_after() { sed -n 's/^\[closed after \([0-9.]*\)s\]$/\1/p' <<<"$1"; }

# count_replies OUTPUT: how many reply heads OUTPUT holds.
count_replies() { grep -aoE $'HTTP/1\\.1 [0-9]{3} [A-Za-z ]+\r' <<<"$1" | wc -l; }

# between LOW HIGH X: LOW <= X <= HIGH, as decimals.
between() { awk -v lo="$1" -v hi="$2" -v x="$3" 'BEGIN { exit !(x != "" && x >= lo && x <= hi) }'; }

# hoard N: a client process opening N connections and sending nothing; waits until they are
# all connected. Sets HOARDER (its pid) and leaves its report in $BT_DIR/hoard.out.
IDLECONNS=$INTEGRATION_DIR/idleconns.py
hoard() {
  "$HOSTPY" "$IDLECONNS" "$BT_SOCK" "$1" --hold 120 >"$BT_DIR/hoard.out" &
  HOARDER=$!
  wait_until 20 grep -q '^ready$' "$BT_DIR/hoard.out"
}

# hoard_stop: stop the hoarder, which reports "open=A closed=B" (how many connections the
# daemon closed) in $BT_DIR/hoard.out; sets HOARD_OPEN and HOARD_CLOSED from it.
hoard_stop() {
  kill -TERM "$HOARDER"
  wait "$HOARDER" || true
  HOARDER=
  cat "$BT_DIR/hoard.out"
  [[ "$(grep '^open=' "$BT_DIR/hoard.out")" =~ ^open=([0-9]+)\ closed=([0-9]+)$ ]] || return 1
  HOARD_OPEN=${BASH_REMATCH[1]} HOARD_CLOSED=${BASH_REMATCH[2]}
}

# ps_promptly: `docker ps` answers within 5 s.
ps_promptly() {
  local t0=$SECONDS
  timeout 10 "$DOCKER_BIN" ps >/dev/null || { echo "docker ps failed after $((SECONDS - t0)) s"; return 1; }
  [ $((SECONDS - t0)) -le 5 ] || { echo "docker ps took $((SECONDS - t0)) s"; return 1; }
}

emfile_lines() { grep -c 'Too many open files' "$BT_DIR/berthd.log" || true; }

@test "chunk data not followed by CRLF is 400 and the connection is closed" {
  start_berthd
  # Without the CRLF the data's last bytes would be the chunk's; the request after it is not
  # answered either.
  run raw_request --status < <(printf 'POST /_ping HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXY0\r\n\r\nGET /_ping HTTP/1.1\r\n\r\n')
  [[ "${lines[0]}" == $'HTTP/1.1 400 Bad Request\r' ]]
  [[ "$output" == *$'\r\n\r\n{"message":"malformed chunked encoding"}\n'* ]]
  [ "$(count_replies "$output")" -eq 1 ]
  [[ "$output" == *"[closed after "* ]]
  # A chunk-size line ending in CR alone.
  run raw_request --status < <(printf 'POST /_ping HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\rXhello\r\n0\r\n\r\n')
  [[ "${lines[0]}" == $'HTTP/1.1 400 Bad Request\r' ]]
  [[ "$output" == *'{"message":"malformed line ending: CR without LF"}'* ]]
  # A body streamed to its handler (docker load) as it arrives: its handler is dropped and the
  # 400 is the answer.
  run raw_request --status < <(printf 'POST /v1.50/images/load HTTP/1.1\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXY0\r\n\r\n')
  [[ "${lines[0]}" == $'HTTP/1.1 400 Bad Request\r' ]]
  [[ "$output" == *'{"message":"malformed chunked encoding"}'* ]]
  [ "$(count_replies "$output")" -eq 1 ]
  [[ "$output" == *"[closed after "* ]]
  # Well-formed chunks are still fine.
  run raw_request --status < <(printf 'GET /_ping HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n')
  [[ "${lines[0]}" == $'HTTP/1.1 200 OK\r' ]]
}

@test "a head that trickles in is cut --http-request-timeout after its first byte" {
  start_berthd --http-request-timeout 1
  # 60 bytes, one every 0.1 s: each came before the last one's timeout ran out, and it would be
  # whole after 6 s.
  run raw_request --status --wait 10 --split 1 --split-delay 0.1 < <(printf 'GET /_ping HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n')
  [[ "${lines[0]}" == $'HTTP/1.1 408 Request Timeout\r' ]]
  [[ "$output" == *'{"message":"request timed out"}'* ]]
  between 0.8 3 "$(closed_after "$output")"
}

@test "a body that trickles in is cut too; one that flows is not" {
  start_berthd --http-request-timeout 1
  # The head at once, then 50 body bytes one every 0.1 s: they keep coming, but far under the
  # minimum rate.
  local head=$'POST /nope HTTP/1.1\r\nContent-Length: 50\r\n\r\n'
  run raw_request --status --wait 10 --split 1 --split-delay 0.1 --split-after ${#head} < <(printf '%s%s' "$head" "$(head -c 50 /dev/zero | tr '\0' b)")
  [[ "${lines[0]}" == $'HTTP/1.1 408 Request Timeout\r' ]]
  between 0.8 3 "$(closed_after "$output")"
  # 128 KiB at 80 KiB/s: longer than the timeout, faster than the minimum rate.
  head=$'POST /nope HTTP/1.1\r\nContent-Length: 131072\r\nConnection: close\r\n\r\n'
  run raw_request --status --wait 10 --split 8192 --split-delay 0.1 --split-after ${#head} < <(printf '%s' "$head"; head -c 131072 /dev/zero)
  [[ "${lines[0]}" == $'HTTP/1.1 404 Not Found\r' ]]
  between 1.4 5 "$(closed_after "$output")"
}

@test "idle connections up to the fd limit: docker ps is still served, and nothing is logged" {
  # 256 fds: connections stop at 192, a quarter being kept for everything else. Before, they
  # took every fd; the next connection waited in the backlog (docker ps: until an idle one
  # timed out, 5 minutes) and accept's error was logged ten times a second.
  BT_WRAP=(prlimit --nofile=256:256)
  start_berthd
  hoard 300
  ps_promptly
  ps_promptly
  sleep 2 # time for a flood of log lines, were there one
  [ "$(emfile_lines)" -le 2 ]
  hoard_stop
  [ "$HOARD_OPEN" -le 192 ]
  grep -q 'closing idle ones of the busiest client' "$BT_DIR/berthd.log"
}

@test "one process holding more than 256 connections loses its oldest idle ones" {
  start_berthd
  hoard 300
  wait_until 5 conns_at_most 256
  ps_promptly
  hoard_stop
  [ "$HOARD_OPEN" -le 256 ]
  [ "$HOARD_CLOSED" -ge 44 ]
  grep -q 'holds 257 connections: closing its least recently used idle ones' "$BT_DIR/berthd.log"
}
