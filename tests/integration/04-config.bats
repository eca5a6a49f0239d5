#!/usr/bin/env bats
# daemon.json: settings applied, dockerd's refusals for unknown keys and keys also given as
# flags, and clear errors for files that are not valid configuration.
# bats file_tags=reactor-neutral

load helpers

setup() { bt_prepare; }
teardown() { stop_berthd; }

write_config() { printf '%s\n' "$1" >"$BT_DIR/daemon.json"; }

# refused FLAGS...: run a berthd that must refuse to start (10 s at most).
refused() { timeout 10 "$BERTHD" "$@" 3>&-; }

@test "debug: true in daemon.json turns debug on" {
  write_config '{"debug": true}'
  berthd_spawn "${BT_FLAGS[@]}"
  run docker info --format '{{.Debug}}'
  [ "$output" = true ]
  grep -q 'level=debug msg="Calling GET /_ping"' "$BT_DIR/berthd.log"
}

@test "with neither debug nor log-level, the level is info" {
  berthd_spawn "${BT_FLAGS[@]}"
  run docker info --format '{{.Debug}}'
  [ "$output" = false ]
  grep -q 'level=info msg="reactor: using' "$BT_DIR/berthd.log"
  ! grep -q 'level=debug' "$BT_DIR/berthd.log"
}

@test "-D turns debug on" {
  berthd_spawn "${BT_FLAGS[@]}" -D
  run docker info --format '{{.Debug}}'
  [ "$output" = true ]
}

@test "log-level in daemon.json is applied" {
  write_config '{"log-level": "warn"}'
  berthd_spawn "${BT_FLAGS[@]}"
  run docker version --format '{{.Server.APIVersion}}'
  [ "$output" = 1.50 ]
  # Info lines (always written at start) are filtered out now.
  ! grep -q 'level=info' "$BT_DIR/berthd.log"
  ! grep -q 'level=debug' "$BT_DIR/berthd.log"
  run docker info --format '{{.Debug}}'
  [ "$output" = false ]
}

@test "an invalid log-level is refused" {
  write_config '{"log-level": "verbose"}'
  run refused "${BT_FLAGS[@]}"
  [ "$status" -eq 1 ]
  [ "$output" = "berthd: unable to parse logging level: verbose" ]
}

@test "unknown keys are refused with dockerd's wording" {
  write_config '{"debug": false, "bogus": 1, "also-bogus": {}}'
  run refused "${BT_FLAGS[@]}"
  [ "$status" -eq 1 ]
  [ "$output" = "berthd: unable to configure the berth daemon with file $BT_DIR/daemon.json: the following directives don't match any configuration option: bogus, also-bogus" ]
  [ ! -e "$BT_SOCK" ]
}

@test "a key given both in the file and as a flag is refused with dockerd's wording" {
  write_config '{"debug": true}'
  run refused "${BT_FLAGS[@]}" -D
  [ "$status" -eq 1 ]
  [ "$output" = "berthd: unable to configure the berth daemon with file $BT_DIR/daemon.json: the following directives are specified both as a flag and in the configuration file: debug" ]
  write_config "{\"log-level\": \"info\", \"hosts\": [\"unix://$BT_DIR/x.sock\"]}"
  run refused "${BT_FLAGS[@]}" --log-level debug
  [ "$status" -eq 1 ]
  [ "$output" = "berthd: unable to configure the berth daemon with file $BT_DIR/daemon.json: the following directives are specified both as a flag and in the configuration file: log-level, hosts" ]
  [ ! -e "$BT_DIR/x.sock" ]
  [ ! -e "$BT_SOCK" ]
}

@test "--root counts as the data-root flag" {
  write_config "{\"data-root\": \"$BT_DIR/other\"}"
  run refused "${BT_FLAGS[@]}"
  [ "$status" -eq 1 ]
  [[ "$output" == *"specified both as a flag and in the configuration file: data-root" ]]
}

@test "hosts in daemon.json are where berthd listens" {
  write_config "{\"hosts\": [\"unix://$BT_DIR/a.sock\", \"$BT_DIR/b.sock\"]}"
  BT_SOCK=$BT_DIR/a.sock
  berthd_spawn --root "$BT_DIR/root" --exec-root "$BT_DIR/run" --config-file "$BT_DIR/daemon.json"
  run docker version --format '{{.Server.APIVersion}}'
  [ "$output" = 1.50 ]
  run curl -sf --unix-socket "$BT_DIR/b.sock" http://berth/_ping
  [ "$output" = OK ]
  [ ! -e "$BT_DIR/run/berth.sock" ] # the default is not used
}

@test "paths in daemon.json are used: data-root, exec-root, pidfile" {
  write_config "{\"data-root\": \"$BT_DIR/data\", \"exec-root\": \"$BT_DIR/exec\", \"pidfile\": \"$BT_DIR/p.pid\"}"
  BT_SOCK=$BT_DIR/exec/berth.sock
  berthd_spawn --config-file "$BT_DIR/daemon.json"
  run docker info --format '{{.DockerRootDir}}'
  [ "$output" = "$BT_DIR/data" ]
  [ "$(cat "$BT_DIR/p.pid")" = "$BT_PID" ]
  [ -f "$BT_DIR/data/engine-id" ]
}

@test "berth's own keys in daemon.json are applied: http-request-timeout, reactor" {
  write_config '{"http-request-timeout": 0.5, "reactor": "epoll"}'
  berthd_spawn "${BT_FLAGS[@]}"
  run raw_request --status --wait 5 < <(printf 'GET /_ping HTTP/1.1\r\n')
  [[ "${lines[0]}" == $'HTTP/1.1 408 Request Timeout\r' ]]
  run docker version
  [[ "$output" =~ Reactor:\ +epoll ]]
}

@test "dockerd keys berth does not use yet are accepted" {
  write_config '{"log-driver": "json-file", "storage-driver": "overlay2", "live-restore": false, "registry-mirrors": [], "features": {"buildkit": true}}'
  berthd_spawn "${BT_FLAGS[@]}"
  run docker version --format '{{.Server.APIVersion}}'
  [ "$output" = 1.50 ]
}

@test "invalid JSON is a clear error naming the file" {
  write_config '{"debug": true,}'
  run refused "${BT_FLAGS[@]}"
  [ "$status" -eq 1 ]
  [[ "$output" == "berthd: unable to configure the berth daemon with file $BT_DIR/daemon.json: "* ]]
  [ ! -e "$BT_SOCK" ]
  write_config '["debug"]'
  run refused "${BT_FLAGS[@]}"
  [ "$status" -eq 1 ]
  [ "$output" = "berthd: unable to configure the berth daemon with file $BT_DIR/daemon.json: not a JSON object" ]
  write_config '{"debug": true, "debug": false}'
  run refused "${BT_FLAGS[@]}"
  [ "$status" -eq 1 ]
  [[ "$output" == *"duplicate object key"* ]]
}

@test "a value of the wrong type is refused" {
  write_config '{"debug": "yes"}'
  run refused "${BT_FLAGS[@]}"
  [ "$status" -eq 1 ]
  [ "$output" = "berthd: unable to configure the berth daemon with file $BT_DIR/daemon.json: invalid type for configuration key \`debug\`" ]
  write_config '{"http-idle-timeout": -1}'
  run refused "${BT_FLAGS[@]}"
  [ "$status" -eq 1 ]
  [[ "$output" == *"invalid value for http-idle-timeout"* ]]
}

@test "a --config-file that does not exist is an error" {
  run refused --root "$BT_DIR/root" --exec-root "$BT_DIR/run" -H "unix://$BT_SOCK" \
    --config-file "$BT_DIR/missing.json"
  [ "$status" -eq 1 ]
  [[ "$output" == "berthd: unable to configure the berth daemon with file $BT_DIR/missing.json: "*"No such file or directory" ]]
}
