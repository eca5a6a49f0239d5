#!/usr/bin/env bats
# berth, the small C client: ping, version, info, how it finds the engine, and its errors.

load helpers

setup() { start_berthd; }
teardown() { stop_berthd; }

@test "berth ping answers OK with the API version" {
  run "$BERTH" -H "unix://$BT_SOCK" ping
  [ "$status" -eq 0 ]
  [ "$output" = "OK (API 1.50)" ]
}

@test "berth version shows client, server and the reactor the daemon runs" {
  run "$BERTH" -H "unix://$BT_SOCK" version
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "Client: berth" ]]
  [[ "$output" == *"Server: berth"* ]]
  [[ "$output" == *$'API version:\t1.50 (minimum version 1.24)'* ]]
  local reactor
  reactor=$(docker version --format '{{range .Server.Components}}{{if eq .Name "berth"}}{{.Details.Reactor}}{{end}}{{end}}')
  [ -n "$reactor" ]
  [[ "$output" == *$'Reactor:\t'"$reactor"* ]]
  case "${BERTH_REACTOR:-}" in
    io_uring | epoll) [ "$reactor" = "$BERTH_REACTOR" ] ;;
  esac
}

@test "berth info agrees with docker info" {
  run "$BERTH" -H "unix://$BT_SOCK" info
  [ "$status" -eq 0 ]
  [[ "$output" == *"Containers: 0"* ]]
  [[ "$output" == *"Images: 0"* ]]
  [[ "$output" == *"Storage Driver: overlay2"* ]]
  [[ "$output" == *"Cgroup Driver: cgroupfs"* ]]
  [[ "$output" == *"Root Dir: $BT_DIR/root"* ]]
  [[ "$output" == *"ID: $(docker info --format '{{.ID}}')"* ]]
}

@test "berth finds the engine through -H, --host=, BERTH_HOST and DOCKER_HOST" {
  run "$BERTH" --host="unix://$BT_SOCK" ping
  [ "$output" = "OK (API 1.50)" ]
  DOCKER_HOST=unix://$BT_SOCK run "$BERTH" ping
  [ "$output" = "OK (API 1.50)" ]
  # BERTH_HOST wins over DOCKER_HOST, and -H over both.
  BERTH_HOST=unix://$BT_SOCK DOCKER_HOST=unix://$BT_DIR/nothing.sock run "$BERTH" ping
  [ "$output" = "OK (API 1.50)" ]
  BERTH_HOST=unix://$BT_DIR/nothing.sock run "$BERTH" -H "unix://$BT_SOCK" ping
  [ "$output" = "OK (API 1.50)" ]
}

@test "berth with no engine at the socket: an error naming it, exit not 0" {
  for cmd in ping version info; do
    run "$BERTH" -H "unix://$BT_DIR/absent.sock" "$cmd"
    [ "$status" -ne 0 ]
    [[ "$output" == *"berth: cannot reach the engine at unix://$BT_DIR/absent.sock: "*"No such file or directory"* ]]
  done
  # The same once the daemon that served the socket has stopped.
  local sock=$BT_SOCK
  stop_berthd --keep
  run "$BERTH" -H "unix://$sock" ping
  [ "$status" -ne 0 ]
  [[ "$output" == *"cannot reach the engine at unix://$sock"* ]]
}

@test "berth refuses hosts that are not unix sockets" {
  run "$BERTH" -H tcp://127.0.0.1:2375 ping
  [ "$status" -ne 0 ]
  [ "$output" = "berth: unsupported host \`tcp://127.0.0.1:2375\` (use unix:///path)" ]
}

@test "berth usage: --help exits 0, a bad command exits 2" {
  run "$BERTH" --help
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "Usage: berth [-H unix:///path] COMMAND" ]]
  run "$BERTH" -H "unix://$BT_SOCK" bogus
  [ "$status" -eq 2 ]
  [[ "$output" == *"unknown command \`bogus\`"* ]]
  run "$BERTH"
  [ "$status" -eq 2 ]
  [[ "$output" == *"Usage: berth"* ]]
}
