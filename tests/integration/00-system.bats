#!/usr/bin/env bats
# System endpoints through the real docker CLI and curl: docker version, docker info,
# /_ping, /version, and which reactor backend the daemon runs.

load helpers

setup() { start_berthd; }
teardown() { stop_berthd; }

# The backend this run asked for (tests/run sets BERTH_REACTOR), or empty for auto.
wanted_reactor() {
  case "${BERTH_REACTOR:-}" in
    io_uring | epoll) echo "$BERTH_REACTOR" ;;
  esac
}

@test "docker version shows a Server section from berth" {
  run docker version
  [ "$status" -eq 0 ]
  [[ "$output" == *"Server: berth"* ]]
  [[ "$output" == *"API version:      1.50 (minimum version 1.24)"* ]]
  [[ "$output" != *"WARNING"* ]]
  [[ "$output" != *"rror"* ]]
}

@test "docker version reports the reactor backend this run asked for" {
  run docker version
  [ "$status" -eq 0 ]
  local reactor
  reactor=$(sed -n 's/^ *Reactor: *//p' <<<"$output")
  echo "reactor: '$reactor', BERTH_REACTOR: '${BERTH_REACTOR:-}'"
  if [ -n "$(wanted_reactor)" ]; then
    [ "$reactor" = "$(wanted_reactor)" ]
  else
    [[ "$reactor" == io_uring || "$reactor" == epoll ]]
  fi
  # The log names the same backend.
  grep -q "reactor: using $reactor\"" "$BT_DIR/berthd.log"
}

@test "docker version --format reads the server's version fields" {
  run docker version --format '{{.Server.Version}}|{{.Server.APIVersion}}|{{.Server.MinAPIVersion}}|{{.Server.Os}}'
  [ "$status" -eq 0 ]
  local version
  version=$("$BERTHD" --version | sed -n 's/^berth version \([^,]*\),.*/\1/p')
  [ -n "$version" ]
  [ "$output" = "$version|1.50|1.24|linux" ]
}

@test "docker info prints without warnings or errors" {
  run docker info
  [ "$status" -eq 0 ]
  [[ "$output" == *"Containers: 0"* ]]
  [[ "$output" == *"Images: 0"* ]]
  [[ "$output" == *"Storage Driver: overlay2"* ]]
  [[ "$output" == *"Cgroup Driver: cgroupfs"* ]]
  [[ "$output" == *"Docker Root Dir: $BT_DIR/root"* ]]
  [[ "$output" != *"WARNING"* ]]
  [[ "$output" != *"ERROR"* ]]
  [[ "$output" != *"rror"* ]]
}

@test "docker info --format reads the engine's fields" {
  run docker info --format '{{.Containers}}|{{.Images}}|{{.Driver}}|{{.CgroupDriver}}|{{.DockerRootDir}}|{{.OSType}}'
  [ "$status" -eq 0 ]
  [ "$output" = "0|0|overlay2|cgroupfs|$BT_DIR/root|linux" ]
  run docker info --format '{{.ID}}'
  [[ "$output" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]]
}

@test "GET /_ping answers OK with Docker's headers" {
  run curl -si --unix-socket "$BT_SOCK" http://berth/_ping
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "HTTP/1.1 200 OK"* ]]
  [[ "$output" == *"Api-Version: 1.50"* ]]
  [[ "$output" == *"Ostype: linux"* ]]
  [[ "$output" == *"Docker-Experimental: false"* ]]
  [[ "$output" == *"Server: berth/"* ]]
  [[ "${lines[-1]}" == "OK" ]]
}

@test "HEAD /_ping has the headers and no body" {
  run curl -s -I -D "$BT_DIR/head.hdr" -o /dev/null -w '%{http_code} %{size_download}' \
    --unix-socket "$BT_SOCK" http://berth/_ping
  [ "$status" -eq 0 ]
  [ "$output" = "200 0" ]
  local h
  for h in "Api-Version: 1.50" "Ostype: linux" "Server: berth/" "Docker-Experimental: false"; do
    grep -qi "^$h" "$BT_DIR/head.hdr" || { echo "missing header $h" && cat "$BT_DIR/head.hdr" && false; }
  done
  # The connection stays usable: the HEAD reply carried no stray body bytes.
  printf 'HEAD /_ping HTTP/1.1\r\nHost: x\r\n\r\nGET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
    raw_request >"$BT_DIR/two"
  [ "$(grep -c '^HTTP/1.1 200 OK' "$BT_DIR/two")" -eq 2 ]
  [ "$(tail -c 2 "$BT_DIR/two")" = "OK" ]
}

@test "versioned paths work: /v1.24/_ping and /v1.50/version" {
  run api GET /v1.24/_ping
  [ "${lines[0]}" = "OK" ]
  [ "${lines[-1]}" = "HTTP 200" ]
  run api GET /v1.50/version
  [ "${lines[-1]}" = "HTTP 200" ]
  [[ "${lines[0]}" == *'"ApiVersion":"1.50"'* ]]
  [[ "${lines[0]}" == *'"MinAPIVersion":"1.24"'* ]]
  [[ "${lines[0]}" == *'"Platform":{"Name":"berth"}'* ]]
}

@test "GET /version without a version prefix; HEAD /version is 404 as in dockerd's router" {
  run api GET /version
  [ "${lines[-1]}" = "HTTP 200" ]
  [[ "${lines[0]}" == *'"Components":[{"Name":"Engine"'* ]]
  # dockerd registers HEAD for /_ping only; a method that does not match is its 404
  run curl -s -I -o /dev/null -w '%{http_code} %{size_download}' --unix-socket "$BT_SOCK" \
    http://berth/v1.50/version
  [ "$output" = "404 0" ]
}

@test "GET /info is JSON with the engine ID and root dir" {
  run api GET /v1.50/info
  [ "${lines[-1]}" = "HTTP 200" ]
  [[ "${lines[0]}" == *"\"DockerRootDir\":\"$BT_DIR/root\""* ]]
  [[ "${lines[0]}" == *'"Driver":"overlay2"'* ]]
  grep -q "^$(docker info --format '{{.ID}}')\$" "$BT_DIR/root/engine-id"
}
