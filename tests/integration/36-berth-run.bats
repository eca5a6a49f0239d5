#!/usr/bin/env bats
# berth run and berth inspect --trace, the C client's fast path: output on the right streams,
# the container's exit code, --rm, -d, docker run's 125/127 for failures, and the start trace.

bats_require_minimum_version 1.5.0

load helpers
load containers

setup_file() { ctr_setup_file; }
setup() { ctr_setup; }
teardown() { ctr_teardown; }

berth() { "$BERTH" -H "unix://$BT_SOCK" "$@"; }

@test "berth run: stdout and stderr apart, the container's exit code, --rm leaves nothing" {
  run --separate-stderr berth run --rm --network none busybox sh -c 'echo out; echo err >&2; exit 3'
  [ "$status" -eq 3 ]
  [ "$output" = out ]
  [ "$stderr" = err ]
  [ -z "$(docker ps -aq)" ]
  [ -z "$(ctr_cgroup_dirs)" ]
  [ "$(count_mounts)" -eq 0 ]
  run berth run --rm busybox true
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

@test "berth run copies large output exactly (frames split across reads)" {
  run --separate-stderr berth run --rm busybox sh -c 'seq 1 30000; seq 5 7 >&2'
  [ "$status" -eq 0 ]
  [ "$output" = "$(seq 1 30000)" ]
  [ "$stderr" = "$(seq 5 7)" ]
}

@test "berth run without --rm keeps the exited container; --name and --network are applied" {
  run berth run --name kept --network none busybox ls /sys/class/net
  [ "$status" -eq 0 ]
  [ "$output" = lo ]
  [ "$(docker inspect --format '{{.State.Status}} {{.State.ExitCode}} {{.HostConfig.NetworkMode}}' kept)" = "exited 0 none" ]
  # The name is taken now: the engine's words, exit 125.
  run --separate-stderr berth run --name kept busybox true
  [ "$status" -eq 125 ]
  [[ "$stderr" == "Error response from daemon: "*"kept"* ]]
}

@test "berth run -d prints the new id and leaves the container running" {
  run berth run -d --name bg busybox sleep 60
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^[0-9a-f]{64}$ ]]
  [ "$output" = "$(docker inspect --format '{{.Id}}' bg)" ]
  [ "$(docker inspect --format '{{.State.Running}}' bg)" = true ]
  # -d --rm: removed once it exits.
  run berth run -d --rm busybox true
  [ "$status" -eq 0 ]
  wait_until 20 eval 'test -z "$(docker ps -aq --filter id="$output")"' # generous: CI machines are busy
}

@test "berth run: an unknown image says so and exits 125; a missing command exits 127" {
  run --separate-stderr berth run --rm nosuchimage true
  [ "$status" -eq 125 ]
  [ "$stderr" = "berth: Unable to find image 'nosuchimage' locally (berth run does not pull: docker pull it first)" ]
  [ -z "$(docker ps -aq)" ]
  run -127 --separate-stderr berth run --rm busybox /no/such/cmd
  [ "$status" -eq 127 ]
  [[ "$stderr" == "Error response from daemon: "*"/no/such/cmd"* ]]
  wait_until 5 eval 'test -z "$(docker ps -aq)"'
  run berth run
  [ "$status" -eq 125 ]
  [[ "$output" == *"an image is required"* ]]
}

@test "berth run forwards a signal to the container (sig-proxy)" {
  "$BERTH" -H "unix://$BT_SOCK" run --rm --name trapper busybox \
    sh -c 'trap "exit 7" TERM; echo ready; sleep 30 & wait' >"$BT_DIR/trap.out" 3>&- &
  local pid=$!
  wait_until 5 grep -q ready "$BT_DIR/trap.out"
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 7 ]
}

@test "berth inspect --trace: one line per phase in ms, and a total the phases add up to" {
  berth run -d --name traced busybox true >/dev/null
  run berth inspect --trace traced
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "PHASE                MS" ]
  [[ "${lines[-1]}" =~ ^Total\ +[0-9]+\.[0-9]{3}$ ]]
  [ "${#lines[@]}" -ge 5 ]
  # The phases, Queue to Exec today, account for the total to within 10% (or 1 ms).
  echo "$output" | awk 'NR > 1 && $1 != "Total" { sum += $2; n++ }
    $1 == "Total" { total = $2 }
    END { d = total - sum; if (d < 0) d = -d
          exit !(n >= 3 && total > 0 && (d <= 1 || d <= total / 10)) }'
  [[ "$output" == *$'\nRootfs '* ]]
  [[ "$output" == *$'\nCgroup '* ]]
  # By id as well; a container never started has no trace.
  run berth inspect --trace "$(docker inspect --format '{{.Id}}' traced)"
  [ "$status" -eq 0 ]
  docker create --name fresh busybox true >/dev/null
  run berth inspect --trace fresh
  [ "$status" -eq 1 ]
  [[ "$output" == *"fresh has no start trace"* ]]
  run berth inspect --trace nosuch
  [ "$status" -eq 1 ]
  [[ "$output" == "Error response from daemon: No such container: nosuch" ]]
}

@test "docker rm -f of many running containers at once: berthd survives, nothing is left" {
  # rm -f of a running container saved its state after the removal had begun: the write raced
  # the rm -rf ("Directory not empty") and outlived the container (use after free, abort).
  local i
  for i in $(seq 8); do berth run -d busybox sleep 60 >/dev/null; done
  run docker rm -f $(docker ps -aq)
  [ "$status" -eq 0 ]
  kill -0 "$BT_PID"
  [ -z "$(docker ps -aq)" ]
  [ -z "$(ls "$BT_DIR/root/containers")" ]
  [ "$(count_mounts)" -eq 0 ]
}
