#!/usr/bin/env bats
# A container's life through the docker CLI: exit codes, create/start, wait conditions, stop
# and its timeout, kill, restart, rm, rename, prune, --rm, and a daemon restart.

load helpers
load containers

bats_require_minimum_version 1.5.0

setup_file() { ctr_setup_file; }
setup() { ctr_setup; }
teardown() { ctr_teardown; }

state() { docker inspect -f "{{.State.$2}}" "$1"; }

# wait_api ID CONDITION: POST /containers/ID/wait?condition=C, prints the reply body.
# StatusCode and Error.Message (or null), e.g. "4 null".
wait_api() {
  curl -s --unix-socket "$BT_SOCK" -X POST "http://berth/containers/$1/wait?condition=$2" |
    jq -r '"\(.StatusCode) \(.Error)"'
}

@test "exit codes: 0, 1, 125, 126, 127 and 137, with dockerd's words" {
  run docker run --rm busybox true
  [ "$status" -eq 0 ]
  run docker run --rm busybox false
  [ "$status" -eq 1 ]
  run docker run --rm --memory 1k busybox true
  [ "$status" -eq 125 ]
  run docker run --rm --security-opt bogus=1 busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *'invalid --security-opt 2: "bogus=1"'* ]]
  run docker run --rm busybox /etc/passwd
  [ "$status" -eq 126 ]
  [[ "$output" == *'exec: "/etc/passwd": permission denied'* ]]
  run -127 docker run --rm busybox nope
  [[ "$output" == *'exec: "nope": executable file not found in $PATH'* ]]
  [ -z "$(docker ps -aq)" ] # --rm removed even the ones that never started
  docker run -d --name kk busybox sleep 60
  docker kill kk
  [ "$(docker wait kk)" = 137 ]
  [ "$(state kk ExitCode)" = 137 ]
  # a failed start leaves a created container with the words and the code
  docker create --name nn busybox nope
  run docker start nn
  [ "$status" -ne 0 ]
  [ "$(state nn Status)" = created ]
  [ "$(state nn ExitCode)" = 127 ]
  [[ "$(state nn Error)" == *'executable file not found in $PATH'* ]]
}

@test "create then start: created, then running with a live pid; inspect's State fields" {
  docker create --name cs busybox sleep 60
  [ "$(state cs Status)" = created ]
  [ "$(state cs Pid)" = 0 ]
  [ "$(state cs StartedAt)" = 0001-01-01T00:00:00Z ]
  docker start cs
  run docker inspect -f '{{.State.Status}} {{.State.Running}} {{.State.Paused}} {{.State.OOMKilled}} {{.State.Dead}} {{.State.ExitCode}} {{.State.Error}}|{{.RestartCount}} {{.Platform}} {{.Name}}' cs
  [ "$output" = "running true false false false 0 |0 linux /cs" ]
  local pid
  pid=$(state cs Pid)
  [ "$pid" -gt 0 ]
  [ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" = "sleep 60 " ]
  [[ "$(state cs StartedAt)" == "$(date -u +%Y-%m-%d)T"* ]]
  docker kill cs >/dev/null
  docker wait cs >/dev/null
  run docker inspect -f '{{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.State.ExitCode}}' cs
  [ "$output" = "exited false 0 137" ]
  [[ "$(state cs FinishedAt)" > "$(state cs StartedAt)" ]]
  ! kill -0 "$pid" 2>/dev/null
}

@test "inspect: Config, HostConfig, Mounts and GraphDriver as set" {
  mkdir "$BT_DIR/m"
  docker create --name ins -e X=1 -w /w -u 1:1 --label a=b --memory 64m --cpu-shares 256 \
    -v "$BT_DIR/m:/m:ro" --stop-signal USR1 --stop-timeout 7 --read-only busybox sleep 9
  run docker inspect -f '{{json .Config.Env}}|{{.Config.WorkingDir}}|{{.Config.User}}|{{json .Config.Labels}}|{{json .Config.Cmd}}|{{.Config.Image}}|{{.Config.StopSignal}}|{{.Config.StopTimeout}}' ins
  [ "$output" = '["X=1"]|/w|1:1|{"a":"b"}|["sleep","9"]|busybox|USR1|7' ]
  run docker inspect -f '{{.HostConfig.Memory}} {{.HostConfig.CpuShares}} {{.HostConfig.ReadonlyRootfs}} {{json .HostConfig.Binds}}' ins
  [ "$output" = "$((64 << 20)) 256 true [\"$BT_DIR/m:/m:ro\"]" ]
  run docker inspect -f '{{range .Mounts}}{{.Type}} {{.Source}} {{.Destination}} {{.RW}}{{end}}' ins
  [ "$output" = "bind $BT_DIR/m /m false" ]
  run docker inspect -f '{{.GraphDriver.Name}} {{.GraphDriver.Data.MergedDir}}' ins
  [[ "$output" == "overlay2 $BT_DIR/"*"/merged" ]]
}

@test "wait conditions: not-running, next-exit and removed" {
  docker create --name ww busybox sh -c 'sleep 0.3; exit 4'
  # a created container is not running: answered at once
  [ "$(wait_api ww not-running)" = "0 null" ]
  wait_api ww next-exit >"$BT_DIR/next" &
  local p1=$!
  wait_api ww removed >"$BT_DIR/removed" &
  local p2=$!
  sleep 0.3
  docker start ww
  wait "$p1"
  [ "$(cat "$BT_DIR/next")" = "4 null" ]
  kill -0 "$p2" # still waiting for the removal
  docker rm ww
  wait "$p2"
  [ "$(cat "$BT_DIR/removed")" = "4 null" ]
  run api POST "/containers/x/wait?condition=bogus"
  [[ "$output" == *"HTTP 400"* ]]
}

@test "stop: the stop signal first; SIGKILL after -t; --stop-signal and --stop-timeout" {
  docker run -d --name polite busybox sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done'
  sleep 0.3
  docker stop polite
  [ "$(state polite ExitCode)" = 7 ]
  docker run -d --name stubborn busybox sh -c 'trap "" TERM; while :; do sleep 0.1; done'
  sleep 0.3
  local t0=$SECONDS
  docker stop -t 1 stubborn
  [ "$(state stubborn ExitCode)" = 137 ]
  [ $((SECONDS - t0)) -ge 1 ] && [ $((SECONDS - t0)) -le 4 ] # roughly 1 s (noisy machine)
  docker run -d --name usr1 --stop-signal USR1 busybox sh -c 'trap "exit 9" USR1; while :; do sleep 0.1; done'
  sleep 0.3
  docker stop usr1
  [ "$(state usr1 ExitCode)" = 9 ]
  docker run -d --name quick --stop-timeout 1 busybox sh -c 'trap "" TERM; while :; do sleep 0.1; done'
  sleep 0.3
  t0=$SECONDS
  docker stop quick
  [ "$(state quick ExitCode)" = 137 ]
  [ $((SECONDS - t0)) -le 4 ] # its own 1 s, not the default 10 s
  run docker stop quick # stopping a stopped container is fine
  [ "$status" -eq 0 ]
}

@test "kill -s delivers the signal; kill of a stopped container is refused" {
  docker run -d --name ks busybox sh -c 'trap "echo got-usr1" USR1; while :; do sleep 0.1; done'
  sleep 0.3
  docker kill -s USR1 ks
  wait_until 5 sh -c "docker logs ks | grep -q got-usr1"
  [ "$(state ks Running)" = true ]
  run docker kill -s NOPE ks
  [ "$status" -ne 0 ]
  [[ "$output" == *"invalid signal: NOPE"* ]] # moby v28 (moby/sys/signal)
  docker kill ks
  docker wait ks
  run docker kill ks
  [ "$status" -ne 0 ]
  [[ "$output" == *"cannot kill container: ks: container $(docker inspect -f '{{.Id}}' ks) is not running"* ]]
}

@test "restart: a new process, a later StartedAt" {
  docker run -d --name rs busybox sleep 60
  local pid1 at1
  pid1=$(state rs Pid)
  at1=$(state rs StartedAt)
  docker restart -t 0 rs
  [ "$(state rs Status)" = running ]
  [ "$(state rs Pid)" != "$pid1" ]
  ! kill -0 "$pid1" 2>/dev/null
  [[ "$(state rs StartedAt)" > "$at1" ]]
  docker stop -t 0 rs
  docker restart rs # a stopped container starts
  [ "$(state rs Running)" = true ]
}

@test "rm: refused on a running container without -f (dockerd's words), -f kills it" {
  docker run -d --name busy busybox sleep 60
  local pid
  pid=$(state busy Pid)
  run docker rm busy
  [ "$status" -ne 0 ]
  [[ "$output" == *'cannot remove container "/busy": container is running: stop the container before removing or force remove'* ]]
  docker rm -f busy
  ! kill -0 "$pid" 2>/dev/null
  run docker inspect busy
  [ "$status" -ne 0 ]
  [[ "$output" == *"No such object: busy"* ]]
  [ -z "$(ctr_cgroup_dirs)" ]
  [ "$(count_mounts)" -eq 0 ]
}

@test "rename: the new name works, the old one is free, conflicts in dockerd's words" {
  docker create --name old busybox true
  docker create --name other busybox true
  docker rename old new
  [ "$(docker inspect -f '{{.Name}}' new)" = /new ]
  docker create --name old busybox true
  run docker rename new other
  [ "$status" -ne 0 ]
  [[ "$output" == *"Error when allocating new name: Conflict. The container name \"/other\" is already in use by container \"$(docker inspect -f '{{.Id}}' other)\". You have to remove (or rename) that container to be able to reuse that name."* ]]
  run docker rename new new
  [[ "$output" == *"Renaming a container with the same name as its current name"* ]]
  run docker create --name other busybox true
  [[ "$output" == *'Conflict. The container name "/other" is already in use'* ]]
}

@test "--rm removes the container on exit; container prune removes only stopped ones" {
  docker run --rm --name gone busybox true
  run docker inspect gone
  [ "$status" -ne 0 ]
  docker run -d --name up busybox sleep 60
  docker run --name done1 busybox true
  docker create --name made busybox true
  run docker container prune -f
  [ "$status" -eq 0 ]
  [[ "$output" == *"Deleted Containers:"* ]]
  ! grep -q "$(docker inspect -f '{{.Id}}' up)" <<<"$output"
  [[ "$output" == *"Total reclaimed space:"* ]]
  [ "$(docker ps -a --format '{{.Names}}')" = up ]
}

@test "a daemon restart keeps stopped containers with their state" {
  run docker run --name kept busybox sh -c 'echo out; exit 5'
  [ "$status" -eq 5 ]
  docker create --name fresh --label x=y busybox true
  local id
  id=$(docker inspect -f '{{.Id}}' kept)
  restart_berthd
  [ "$(docker ps -a --format '{{.Names}} {{.State}}' | sort | tr '\n' ' ')" = "fresh created kept exited " ]
  [ "$(state kept ExitCode)" = 5 ]
  [ "$(docker inspect -f '{{.Id}}' kept)" = "$id" ]
  [ "$(docker logs kept)" = out ]
  [ "$(docker inspect -f '{{.Config.Labels.x}}' fresh)" = y ]
  docker start kept
  docker wait kept
  [ "$(state kept ExitCode)" = 5 ]
}
