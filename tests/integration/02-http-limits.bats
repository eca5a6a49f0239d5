#!/usr/bin/env bats
# The HTTP layer under malformed, oversized, split, pipelined and stalled requests, sent as
# raw bytes (rawsock.py) because curl will not send them.

load helpers

teardown() { stop_berthd; }

# repeat_char N CHAR: CHAR N times.
repeat_char() { head -c "$1" /dev/zero | tr '\0' "$2"; }

# seconds_of OUTPUT: the S.SS of rawsock's "[closed after S.SSs]" line.
closed_after() { sed -n 's/^\[closed after \([0-9.]*\)s\]$/\1/p' <<<"$1"; }

# count_replies OUTPUT [STATUS]: how many reply heads (with this status) OUTPUT holds; a head
# may follow a body on the same line when the body has no final newline.
count_replies() {
  local status='[0-9]{3} [A-Za-z ]+'
  grep -aoE "HTTP/1\.1 ${2:-$status}"$'\r' <<<"$1" | wc -l
}

# between LOW HIGH X: LOW <= X <= HIGH, as decimals.
between() { awk -v lo="$1" -v hi="$2" -v x="$3" 'BEGIN { exit !(x != "" && x >= lo && x <= hi) }'; }

@test "a garbage request line is 400 JSON and the connection is closed" {
  start_berthd
  run raw_request --status <<<$'GARBAGE\r\n\r\nGET /_ping HTTP/1.1\r\n\r\n'
  [[ "${lines[0]}" == $'HTTP/1.1 400 Bad Request\r' ]]
  [[ "$output" == *$'Content-Type: application/json\r\n'* ]]
  [[ "$output" == *$'Connection: close\r\n'* ]]
  [[ "$output" == *$'\r\n\r\n{"message":"invalid HTTP method"}\n'* ]]
  [[ "$output" == *"[closed after "* ]]
  # Nothing after the error was answered.
  [ "$(count_replies "$output")" -eq 1 ]
  # The daemon itself is fine.
  run api GET /_ping
  [ "${lines[-1]}" = "HTTP 200" ]
}

@test "malformed heads are 400 with the parser's reason" {
  start_berthd
  run raw_request --status < <(printf 'GET /_ping HTTP/1.1\r\nBadHeaderLine\r\n\r\n')
  [[ "${lines[0]}" == $'HTTP/1.1 400 Bad Request\r' ]]
  [[ "$output" == *'{"message":"invalid character in header"}'* ]]
  [[ "$output" == *"[closed after "* ]]
  run raw_request --status < <(printf 'GET http://berth/_ping HTTP/1.1\r\n\r\n')
  [[ "${lines[0]}" == $'HTTP/1.1 400 Bad Request\r' ]]
  [[ "$output" == *'{"message":"malformed request target"}'* ]]
}

@test "Content-Length together with chunked encoding is refused (no smuggling)" {
  start_berthd
  run raw_request --status < <(printf 'POST /_ping HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /_ping HTTP/1.1\r\n\r\n')
  [[ "${lines[0]}" == $'HTTP/1.1 400 Bad Request\r' ]]
  [ "$(count_replies "$output")" -eq 1 ]
  [[ "$output" == *"[closed after "* ]]
}

@test "a head over 64 KiB is 431 and the connection is closed" {
  start_berthd
  run raw_request --status < <(printf 'GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n' "$(repeat_char 70000 a)")
  [[ "${lines[0]}" == $'HTTP/1.1 431 Request Header Fields Too Large\r' ]]
  [[ "$output" == *$'\r\n\r\n{"message":"request header fields too large"}\n'* ]]
  [[ "$output" == *"[closed after "* ]]
  # A request line over the limit too.
  run raw_request --status < <(printf 'GET /%s HTTP/1.1\r\n\r\n' "$(repeat_char 70000 a)")
  [[ "${lines[0]}" == $'HTTP/1.1 431 Request Header Fields Too Large\r' ]]
}

@test "a head just under 64 KiB is served" {
  start_berthd
  run raw_request < <(printf 'GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\nConnection: close\r\n\r\n' "$(repeat_char 60000 a)")
  [[ "${lines[0]}" == $'HTTP/1.1 200 OK\r' ]]
  [ "${lines[-1]}" = OK ]
}

@test "more than 100 header fields is 431; exactly 100 is served" {
  start_berthd
  local i many=""
  for i in $(seq 101); do many+="X-H$i: v"$'\r\n'; done
  run raw_request --status < <(printf 'GET /_ping HTTP/1.1\r\n%s\r\n' "$many")
  [[ "${lines[0]}" == $'HTTP/1.1 431 Request Header Fields Too Large\r' ]]
  [[ "$output" == *$'\r\n\r\n{"message":"too many header fields"}\n'* ]]
  [[ "$output" == *"[closed after "* ]]
  many=""
  for i in $(seq 99); do many+="X-H$i: v"$'\r\n'; done
  run raw_request < <(printf 'GET /_ping HTTP/1.1\r\n%sConnection: close\r\n\r\n' "$many")
  [[ "${lines[0]}" == $'HTTP/1.1 200 OK\r' ]]
}

@test "a declared body over 64 MiB is 413 at once, before any body byte" {
  start_berthd
  run raw_request --status --wait 3 < <(printf 'POST /_ping HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n')
  [[ "${lines[0]}" == $'HTTP/1.1 413 Request Entity Too Large\r' ]]
  [[ "$output" == *$'\r\n\r\n{"message":"request body too large"}\n'* ]]
  between 0 1 "$(closed_after "$output")"
  # The first length over the limit: 64 MiB + 1.
  run raw_request --status --wait 3 < <(printf 'POST /_ping HTTP/1.1\r\nContent-Length: %d\r\n\r\n' $((64 * 1024 * 1024 + 1)))
  [[ "${lines[0]}" == $'HTTP/1.1 413 Request Entity Too Large\r' ]]
  between 0 1 "$(closed_after "$output")"
}

@test "a chunked body growing past 64 MiB is 413" {
  start_berthd
  run raw_request --status --wait 5 < <("$HOSTPY" -c '
import sys
mib = b"100000\r\n" + b"x" * 0x100000 + b"\r\n"
sys.stdout.buffer.write(b"POST /_ping HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + mib * 66 + b"0\r\n\r\n")')
  [[ "${lines[0]}" == $'HTTP/1.1 413 Request Entity Too Large\r' ]]
  [[ "$output" == *"[closed after "* ]]
  run api GET /_ping
  [ "${lines[-1]}" = "HTTP 200" ]
}

@test "a valid chunked body, then a second request on the same connection: both answered" {
  start_berthd
  run raw_request --status < <(printf 'GET /_ping HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\nGET /v1.50/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  [ "$(count_replies "$output" "200 OK")" -eq 2 ]
  [[ "$output" == *$'\r\n\r\nOKHTTP/1.1 200 OK\r\n'* ]] # first reply kept the connection
  [[ "$output" == *'"ApiVersion":"1.50"'* ]]
  [[ "$output" == *"[closed after "* ]]
  [ "$(count_replies "$output")" -eq 2 ]
}

@test "a body with Content-Length is skipped before the next request" {
  start_berthd
  run raw_request < <(printf 'POST /nope HTTP/1.1\r\nContent-Length: 23\r\n\r\nGET /_ping HTTP/1.1\r\n\r\nGET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n')
  run grep -a '^HTTP/1.1' <<<"$output"
  [ "${#lines[@]}" -eq 2 ]
  [ "${lines[0]}" = $'HTTP/1.1 404 Not Found\r' ]
  [ "${lines[1]}" = $'HTTP/1.1 200 OK\r' ]
}

@test "Expect: 100-continue gets the go-ahead before the body is sent" {
  start_berthd
  run raw_request --status --wait 0.5 < <(printf 'POST /nope HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n')
  [ "${lines[0]}" = $'HTTP/1.1 100 Continue\r' ]
  [ "$(count_replies "$output")" -eq 1 ]
  [[ "$output" == *"[open after "* ]] # and the final answer waits for the body
  # curl sends Expect for bodies over 1 MB and waits 1 s for the go-ahead if none comes.
  head -c 2000000 /dev/zero >"$BT_DIR/big"
  run curl -s -o /dev/null -w '%{http_code} %{time_total}' --unix-socket "$BT_SOCK" \
    -X POST --data-binary @"$BT_DIR/big" http://berth/v1.50/nope
  [[ "$output" == "404 "* ]]
  between 0 0.5 "${output#404 }"
  # Over the body limit: 413 at once instead of the go-ahead.
  run raw_request --status --wait 3 < <(printf 'POST /nope HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 99999999999\r\n\r\n')
  [[ "${lines[0]}" == $'HTTP/1.1 413 Request Entity Too Large\r' ]]
  [ "$(count_replies "$output")" -eq 1 ]
}

@test "three pipelined requests in one write are answered in order" {
  start_berthd
  run raw_request < <(printf 'GET /v1.50/version HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  local statuses
  statuses=$(grep -a '^HTTP/1.1' <<<"$output" | tr -d '\r' | paste -sd'|')
  [ "$statuses" = "HTTP/1.1 200 OK|HTTP/1.1 404 Not Found|HTTP/1.1 200 OK" ]
  [[ "$output" == *'"ApiVersion":"1.50"'*'{"message":"page not found"}'* ]]
  [ "${lines[-1]}" = OK ]
}

@test "many pipelined requests in one write are all answered" {
  start_berthd
  run raw_request < <(
    for i in $(seq 299); do printf 'GET /v1.50/info HTTP/1.1\r\nHost: x\r\n\r\n'; done
    printf 'GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n'
  )
  [ "$(count_replies "$output" "200 OK")" -eq 300 ]
  [ "${lines[-1]}" = OK ]
}

@test "a request split into 1-byte writes is answered" {
  start_berthd
  run raw_request --split 1 < <(printf 'GET /v1.50/_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  [[ "${lines[0]}" == $'HTTP/1.1 200 OK\r' ]]
  [ "${lines[-1]}" = OK ]
  # A body split the same way, then a request: both answered.
  run raw_request --split 1 < <(printf 'GET /_ping HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n')
  [ "$(count_replies "$output" "200 OK")" -eq 2 ]
}

@test "HTTP/1.0 gets its reply and the connection closed" {
  start_berthd
  run raw_request --status < <(printf 'GET /_ping HTTP/1.0\r\n\r\n')
  [[ "${lines[0]}" == $'HTTP/1.1 200 OK\r' ]]
  [[ "$output" == *$'Connection: close\r\n'* ]]
  [[ "$output" == *$'\r\n\r\nOK\n[closed after '* ]]
}

@test "a request that stalls midway gets 408 after --http-request-timeout" {
  start_berthd --http-request-timeout 1
  # A stalled body (in the background, to wait once for both) and a stalled head.
  raw_request --status --wait 5 < <(printf 'POST /nope HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc') \
    >"$BT_DIR/body" &
  local body=$!
  run raw_request --status --wait 5 < <(printf 'GET /_ping HTTP/1.1\r\nHo')
  [[ "${lines[0]}" == $'HTTP/1.1 408 Request Timeout\r' ]]
  [[ "$output" == *$'\r\n\r\n{"message":"request timed out"}\n'* ]]
  between 0.8 3 "$(closed_after "$output")"
  wait "$body"
  run cat "$BT_DIR/body"
  [[ "${lines[0]}" == $'HTTP/1.1 408 Request Timeout\r' ]]
  between 0.8 3 "$(closed_after "$output")"
}

@test "an idle keep-alive connection is closed after --http-idle-timeout" {
  start_berthd --http-idle-timeout 1
  # No request at all (in the background, to wait once for both): closed silently.
  raw_request --status --wait 5 </dev/null >"$BT_DIR/silent" &
  local silent=$!
  # After an answered request: the reply, then the close.
  run raw_request --status --wait 5 < <(printf 'GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n')
  [[ "${lines[0]}" == $'HTTP/1.1 200 OK\r' ]]
  [[ "$output" != *"Connection: close"* ]]
  between 0.8 3 "$(closed_after "$output")"
  wait "$silent"
  run cat "$BT_DIR/silent"
  [ "$(count_replies "$output")" -eq 0 ]
  [[ "$output" == *"[closed after "* ]]
  between 0.8 3 "$(closed_after "$output")"
}

@test "the idle timeout does not cut a request that is still arriving" {
  start_berthd --http-idle-timeout 0.2 --http-request-timeout 0.8
  # Half a request, then silence: the request timeout applies, not the shorter idle one.
  run raw_request --status --wait 5 < <(printf 'GET /_ping HTTP/1.1\r\nHost: x\r\n')
  [[ "${lines[0]}" == $'HTTP/1.1 408 Request Timeout\r' ]]
  between 0.65 3 "$(closed_after "$output")"
}
