#!/usr/bin/env bats
# Many clients at once, clients that vanish mid-request, and slow readers: every request is
# answered, the daemon survives, and no connection is leaked (its fd count returns to the
# baseline).

load helpers

setup() {
  start_berthd
  BASE_FDS=$(fd_baseline)
}
teardown() { stop_berthd; }

ping_ok() { [ "$(curl -s -m 5 --unix-socket "$BT_SOCK" http://berth/_ping)" = OK ]; }

@test "the fd and connection counts see an open connection (so leak checks can fail)" {
  [ "$(conn_count)" -eq 0 ]
  "$HOSTPY" "$RAWSOCK" "$BT_SOCK" --wait 10 </dev/null >/dev/null &
  local client=$!
  wait_until 5 conns_at_least 1
  [ "$(fd_count)" -eq $((BASE_FDS + 1)) ]
  kill "$client"
  wait "$client" || true
  fds_back_to "$BASE_FDS"
  [ "$(conn_count)" -eq 0 ]
}

@test "200 concurrent keep-alive clients, 5 requests each: all answered 200" {
  run many_clients --conns 200 --requests 5 --path /_ping --path /v1.50/version --path /info
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "conns=200 replies=1000 status=200:1000" ]
  ping_ok
  fds_back_to "$BASE_FDS"
}

@test "200 keep-alive clients held open at once are all counted, then all released" {
  "$HOSTPY" "$CLIENTS" "$BT_SOCK" --conns 200 --requests 1 --hold 10 >"$BT_DIR/held" &
  local clients=$!
  # At the peak the daemon holds all 200 connections...
  wait_until 10 conns_at_least 200
  wait_until 5 grep -q '^conns=200 replies=200 status=200:200$' "$BT_DIR/held"
  ping_ok
  # ... and lets every one go when the clients leave.
  kill "$clients"
  wait "$clients" || true
  fds_back_to "$BASE_FDS"
  ! grep -q 'level=error' "$BT_DIR/berthd.log"
}

@test "clients closing mid-request 100 times: the daemon still answers, no fd leaked" {
  local req cut
  req=$(printf 'POST /v1.50/nope HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789')
  # Cut in the request line, in a header, in the body, and right after the full request
  # (the client is gone before its reply is sent).
  for cut in 3 20 40 58 ${#req}; do
    printf '%s' "$req" | raw_request --close-after "$cut" --repeat 20
  done
  ping_ok
  fds_back_to "$BASE_FDS"
  run api GET /v1.50/version
  [ "${lines[-1]}" = "HTTP 200" ]
}

@test "a client that pipelines requests and leaves without reading leaks nothing" {
  local i
  for i in 1 2 3; do
    for _ in $(seq 500); do printf 'GET /v1.50/info HTTP/1.1\r\nHost: x\r\n\r\n'; done |
      raw_request --close-after 1000000
  done
  ping_ok
  fds_back_to "$BASE_FDS"
}

info_calls() { grep -c 'msg="Calling GET /v1.50/info"' "$BT_DIR/berthd.log"; }
info_calls_at_least() { [ "$(info_calls)" -ge "$1" ]; }

@test "a slow reader is back-pressured while other clients are served" {
  # 3000 pipelined /info requests (~8 MB of replies) from a client that reads nothing for a
  # second: the daemon stops taking its requests once the unread replies pass the high-water
  # mark (so its memory stays bounded), and answers others at once.
  {
    for _ in $(seq 2999); do printf 'GET /v1.50/info HTTP/1.1\r\nHost: x\r\n\r\n'; done
    printf 'GET /v1.50/info HTTP/1.1\r\nConnection: close\r\n\r\n'
  } >"$BT_DIR/reqs"
  raw_request --read-delay 1 --wait 10 <"$BT_DIR/reqs" >"$BT_DIR/slow" &
  local slow=$!
  wait_until 5 info_calls_at_least 50
  local start end
  start=$(date +%s%N)
  ping_ok
  end=$(date +%s%N)
  echo "ping: $(((end - start) / 1000000)) ms, /info handled: $(info_calls)"
  kill -0 "$slow" # still in its read delay
  [ $(((end - start) / 1000000)) -lt 500 ]
  [ "$(info_calls)" -lt 1000 ]
  wait "$slow"
  [ "$(grep -ao 'HTTP/1.1 200 OK' "$BT_DIR/slow" | wc -l)" -eq 3000 ]
  fds_back_to "$BASE_FDS"
}

@test "10 docker CLIs at once all get their answer" {
  local i pids=()
  for i in $(seq 10); do
    docker info --format '{{.Driver}}' >"$BT_DIR/cli.$i" 2>&1 &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  for i in $(seq 10); do
    [ "$(cat "$BT_DIR/cli.$i")" = overlay2 ] || { cat "$BT_DIR/cli.$i"; false; }
  done
  fds_back_to "$BASE_FDS"
}
