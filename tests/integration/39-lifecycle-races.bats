#!/usr/bin/env bats
# A container's end raced by its clients: logs -f, wait and attach sent right after the start
# of a container that exits at once; kill answering only once the container is dead; and a
# daemon shutdown that leaves nothing of its running containers on the host.

load helpers
load containers

setup_file() { ctr_setup_file; }
setup() { ctr_setup; }
teardown() { ctr_teardown; }

RACES=$INTEGRATION_DIR/races.py
races() { "$HOSTPY" "$RACES" "$BT_SOCK" "$@"; }

@test "logs -f right after the start of a container that exits at once ends, every time" {
  races logs --iterations 30
}

@test "docker-py containers.run(busybox, 'echo x') returns b'x\\n', every time" {
  races pyrun --iterations 20
}

@test "wait right after the start of a container that exits at once answers its code" {
  races wait --iterations 30
}

@test "attach read with the start of a container that exits at once ends with its output" {
  races attach --iterations 30
}

@test "kill answers once the container is dead: inspect right after shows exited, 137" {
  races kill --iterations 20
}

@test "kill: other signals answer at once; SIGKILL of a paused container thaws and ends it" {
  docker run -d --name tt busybox sh -c 'trap "" TERM; sleep 60'
  wait_until 5 running tt
  timeout 5 docker kill -s TERM tt
  running tt # ignored: it runs on
  docker pause tt
  docker kill tt
  [ "$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' tt)" = "exited 137" ]
  run docker kill tt
  [ "$status" -ne 0 ]
  [[ "$output" == *"is not running"* ]]
}

# test_mounts: overlay mounts under this test's directory.
test_mounts() { grep " $BT_DIR/" /proc/self/mountinfo | grep -c overlay || true; }

# all_gone PID...: none of these processes is left.
all_gone() {
  local p
  for p in "$@"; do ! kill -0 "$p" 2>/dev/null || return 1; done
}

# nothing_left PID...: after berthd exited: no overlay mount under BT_DIR, no cgroup under the
# test's parent, none of the containers' processes.
nothing_left() {
  [ "$(test_mounts)" -eq 0 ] || { grep " $BT_DIR/" /proc/self/mountinfo; return 1; }
  [ -z "$(ctr_cgroup_dirs)" ] || { ctr_cgroup_dirs; return 1; }
  all_gone "$@"
}

@test "SIGTERM stops the running containers, each after its own stop timeout; no mount, no cgroup" {
  # sleep as a pid namespace's init ignores SIGTERM: these end by the SIGKILL after 1 s
  docker run -d --name a1 --stop-timeout 1 busybox sleep 100
  docker run -d --name a2 --stop-timeout 1 busybox sh -c 'trap "" TERM; while :; do echo t; sleep 0.1; done'
  docker run -d --name a3 --stop-timeout 1 --rm busybox sleep 100
  docker run -d --name a4 --stop-timeout 1 busybox sleep 100
  docker pause a4
  docker create --name a5 busybox sleep 100
  [ "$(test_mounts)" -eq 4 ]
  local pids=() c a3
  for c in a1 a2 a3 a4; do pids+=("$(ctr_pid "$c")"); done
  a3=$(docker inspect -f '{{.Id}}' a3)
  berthd_signal TERM # within 5 s: dockerd's default of 10 s each would not do
  [ "$BT_EXIT" -eq 0 ]
  nothing_left "${pids[@]}"
  [ ! -e "$BT_DIR/root/containers/$a3" ] # --rm: removed before the daemon exits
  # the state each had at its end is what the next daemon finds
  berthd_spawn "${BT_ARGS[@]}"
  [ "$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' a1)" = "exited 137" ]
  [ "$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' a4)" = "exited 137" ]
  [ "$(docker inspect -f '{{.State.Status}}' a5)" = created ]
  run docker inspect "$a3" # by ID: "a3" may prefix another's
  [ "$status" -ne 0 ]
}

@test "a second SIGTERM kills the containers at once, and still leaves no mount and no cgroup" {
  docker run -d --name b1 busybox sleep 100 # 10 s to stop: the default
  docker run -d --name b2 busybox sh -c 'trap "" TERM; sleep 100'
  local pids=("$(ctr_pid b1)" "$(ctr_pid b2)")
  kill -TERM "$BT_PID"
  wait_until 5 grep -q "Processing signal 'Terminated'" "$BT_DIR/berthd.log"
  berthd_signal TERM
  [ "$BT_EXIT" -eq 0 ]
  nothing_left "${pids[@]}"
}

@test "a start during the shutdown is refused; the containers that ran leave nothing behind" {
  docker run -d --name s1 --stop-timeout 3 busybox sleep 100
  docker create --name s2 busybox sleep 100
  local pid
  pid=$(ctr_pid s1)
  kill -TERM "$BT_PID"
  wait_until 5 grep -q "Processing signal 'Terminated'" "$BT_DIR/berthd.log"
  run docker start s2
  [ "$status" -ne 0 ]
  [[ "$output" == *"berthd is shutting down"* ]]
  wait_until 10 all_gone "$BT_PID"
  local rc=0
  wait "$BT_PID" || rc=$?
  BT_PID=
  [ "$rc" -eq 0 ]
  nothing_left "$pid"
}
