#!/usr/bin/env bats
# System endpoints through the real docker CLI and curl.

load helpers

setup_file() { :; }
setup() { start_berthd; }
teardown() { stop_berthd; }

@test "docker version shows a Server section from berth" {
  run docker version
  [ "$status" -eq 0 ]
  [[ "$output" == *"Server: berth"* ]]
  [[ "$output" == *"API version:      1.50 (minimum version 1.24)"* ]]
  [[ "$output" != *"WARNING"* ]]
}

@test "docker info prints without warnings or errors" {
  run docker info
  [ "$status" -eq 0 ]
  [[ "$output" == *"Storage Driver: overlay2"* ]]
  [[ "$output" == *"Docker Root Dir: $BT_DIR/root"* ]]
  [[ "$output" != *"WARNING"* ]]
  [[ "$output" != *"ERROR"* ]]
}

@test "GET /_ping answers OK with Docker's headers" {
  run curl -si --unix-socket "$BT_SOCK" http://berth/_ping
  [ "$status" -eq 0 ]
  [[ "$output" == *"Api-Version: 1.50"* ]]
  [[ "$output" == *"Ostype: linux"* ]]
  [[ "$output" == *"Docker-Experimental: false"* ]]
  [[ "$output" == *"Server: berth/"* ]]
  [[ "${lines[-1]}" == "OK" ]]
}

@test "unknown route is 404 page not found" {
  run api GET /nope
  [ "${lines[-1]}" = "HTTP 404" ]
  [ "${lines[0]}" = '{"message":"page not found"}' ]
}
