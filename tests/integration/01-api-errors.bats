#!/usr/bin/env bats
# The API's error replies: exact status codes, bodies and content types, through curl and the
# docker CLI.

load helpers

setup() { start_berthd; }
teardown() { stop_berthd; }

@test "unknown route is 404 page not found, with or without a version" {
  run api_save GET /nope
  [ "$output" = 404 ]
  body_is '{"message":"page not found"}'
  header_is Content-Type application/json
  header_is Api-Version 1.50
  run api_save GET /v1.50/containers/nope/frobnicate
  [ "$output" = 404 ]
  body_is '{"message":"page not found"}'
}

@test "an unknown route is 404 even with an unsupported version, as dockerd does" {
  run api_save GET /v1.12/nope
  [ "$output" = 404 ]
  body_is '{"message":"page not found"}'
}

@test "a known path with the wrong method is 404 page not found" {
  run api_save POST /_ping
  [ "$output" = 404 ]
  body_is '{"message":"page not found"}'
  run api_save DELETE /v1.50/version
  [ "$output" = 404 ]
  body_is '{"message":"page not found"}'
}

@test "a trailing slash does not match a route" {
  run api_save GET /version/
  [ "$output" = 404 ]
  body_is '{"message":"page not found"}'
}

@test "too old a version is 400 in plain text, like dockerd for old clients" {
  run api_save GET /v1.12/version
  [ "$output" = 400 ]
  body_is "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"
  header_is Content-Type "text/plain; charset=utf-8"
  run api_save GET /v1.23/_ping
  [ "$output" = 400 ]
  body_is "client version 1.23 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"
}

@test "too new a version is 400 with a JSON message" {
  run api_save GET /v1.51/version
  [ "$output" = 400 ]
  body_is '{"message":"client version 1.51 is too new. Maximum supported API version is 1.50"}'
  header_is Content-Type application/json
  run api_save GET /v2.0/info
  [ "$output" = 400 ]
  body_is '{"message":"client version 2.0 is too new. Maximum supported API version is 1.50"}'
}

@test "versions are compared numerically, not as strings" {
  # "1.9" < "1.24" as numbers but > as strings; "1.100" > "1.50" as numbers.
  run api_save GET /v1.9/version
  [ "$output" = 400 ]
  body_is "client version 1.9 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"
  run api_save GET /v1.100/version
  [ "$output" = 400 ]
  body_is '{"message":"client version 1.100 is too new. Maximum supported API version is 1.50"}'
  run api_save GET /v1.40/version
  [ "$output" = 200 ]
}

@test "the docker CLI shows the daemon's version errors" {
  DOCKER_API_VERSION=1.51 run docker version
  [ "$status" -ne 0 ]
  [[ "$output" == *"Error response from daemon: client version 1.51 is too new. Maximum supported API version is 1.50"* ]]
  DOCKER_API_VERSION=1.23 run docker version --format '{{.Server.Version}}'
  [ "$status" -ne 0 ]
  [[ "$output" == *"Error response from daemon: client version 1.23 is too old. Minimum supported API version is 1.24"* ]]
  DOCKER_API_VERSION=1.24 run docker version --format '{{.Server.APIVersion}}'
  [ "$status" -eq 0 ]
  [ "$output" = 1.50 ]
}

@test "HEAD of an unknown route is 404 without a body" {
  run curl -s -I -o /dev/null -w '%{http_code} %{size_download}' --unix-socket "$BT_SOCK" \
    http://berth/nope
  [ "$output" = "404 0" ]
}

@test "an error reply keeps the connection alive" {
  printf 'GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /v1.51/version HTTP/1.1\r\nHost: x\r\n\r\nGET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
    raw_request >"$BT_DIR/out"
  run grep -a '^HTTP/1.1' "$BT_DIR/out"
  [ "${lines[0]}" = $'HTTP/1.1 404 Not Found\r' ]
  [ "${lines[1]}" = $'HTTP/1.1 400 Bad Request\r' ]
  [ "${lines[2]}" = $'HTTP/1.1 200 OK\r' ]
  [ "${#lines[@]}" -eq 3 ]
}
