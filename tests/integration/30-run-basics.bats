#!/usr/bin/env bats
# docker run against berthd, the basics every container suite stands on: output, exit codes,
# removal with --rm, and the cgroup parent these tests own.

load helpers
load containers

setup_file() { ctr_setup_file; }
setup() { ctr_setup; }
teardown() { ctr_teardown; }

@test "run --rm prints the container's output and leaves no container" {
  run docker run --rm busybox echo hello from berth
  [ "$status" -eq 0 ]
  [ "$output" = "hello from berth" ]
  [ -z "$(docker ps -aq)" ]
}

@test "run's exit status is the container's" {
  run docker run --rm busybox sh -c 'exit 3'
  [ "$status" -eq 3 ]
}

@test "a container's cgroup sits under the test's parent while it runs and goes with it" {
  docker run -d --name sleeper busybox sleep 60
  run cg_read sleeper pids cgroup.procs
  [ "$status" -eq 0 ]
  [ "$output" = "$(ctr_pid sleeper)" ]
  docker rm -f sleeper
  [ -z "$(ctr_cgroup_dirs)" ]
}

@test "the first command already runs in the container's cgroup (host cgroup namespace on v1)" {
  [ -f "$CG_ROOT/cgroup.controllers" ] && skip "cgroup v2 host: the default namespace is private"
  run docker run --name first busybox cat /proc/self/cgroup
  [ "$status" -eq 0 ]
  local id
  id=$(docker inspect --format '{{.Id}}' first)
  [[ "$output" == *":memory:/$CG_PARENT/$id"* ]]
  [[ "$output" == *":pids:/$CG_PARENT/$id"* ]]
}

@test "--cgroupns private roots the container's cgroup view at its own cgroup" {
  run docker run --rm --cgroupns private busybox cat /proc/self/cgroup
  [ "$status" -eq 0 ]
  [[ "$output" == *":memory:/"$'\n'* || "$output" == *"::/"* ]]
  [[ "$output" != *"$CG_PARENT"* ]]
}

@test "/sys/fs/cgroup shows the container's own cgroup, read-only (rw when privileged)" {
  run docker run --rm -m 100m --pids-limit 42 busybox sh -c \
    'if [ -f /sys/fs/cgroup/cgroup.controllers ]; then cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max;
     else cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; fi;
     mkdir /sys/fs/cgroup/sub 2>&1 || true'
  [ "${lines[0]}" = 104857600 ]
  [ "${lines[1]}" = 42 ]
  [[ "${lines[2]}" == *"Read-only file system"* ]]
  run docker run --rm --privileged busybox sh -c \
    'd=/sys/fs/cgroup/pids; [ -d $d ] || d=/sys/fs/cgroup; mkdir $d/sub && rmdir $d/sub && echo rw'
  [ "$output" = rw ]
}

@test "rm -f of many running containers at once (--rm ones too) leaves berthd serving and nothing behind" {
  local i
  for i in $(seq 12); do docker run -d busybox sleep 600 >/dev/null; done
  for i in $(seq 6); do docker run -d --rm busybox sleep 600 >/dev/null; done
  run docker rm -f $(docker ps -q)
  [ "$status" -eq 0 ]
  kill -0 "$BT_PID"
  wait_until 10 eval 'test -z "$(docker ps -aq)"'
  [ "$(count_mounts)" -eq 0 ]
  [ -z "$(ctr_cgroup_dirs)" ]
}

@test "after berthd is killed: restarted, it unmounts and un-cgroups what ran, removes --rm ones" {
  docker run -d --name kept busybox sleep 600 >/dev/null
  docker run -d --name gone --rm busybox sleep 600 >/dev/null
  [ "$(count_mounts)" -eq 2 ]
  kill -KILL "$BT_PID"
  wait "$BT_PID" 2>/dev/null || true
  berthd_spawn "${BT_ARGS[@]}"
  wait_until 10 eval 'test -z "$(docker ps -aq --filter name=gone)"'
  [ "$(docker inspect --format '{{.State.Status}} {{.State.ExitCode}}' kept)" = "exited 255" ]
  wait_until 10 eval 'test "$(count_mounts)" -eq 0' # reconciled on the pool once the API serves
  wait_until 10 eval 'test -z "$(ctr_cgroup_dirs)"'
  docker start kept
  [ "$(docker inspect --format '{{.State.Running}}' kept)" = true ]
  [ "$(count_mounts)" -eq 1 ]
}

@test "the image's init layer holds the mount points: a container's upper dir holds only what it wrote" {
  docker run --name quiet busybox true
  docker run --name writer busybox sh -c 'echo x > /tmp/mine'
  local q w
  q=$(docker inspect --format '{{.GraphDriver.Data.UpperDir}}' quiet)
  w=$(docker inspect --format '{{.GraphDriver.Data.UpperDir}}' writer)
  [ -z "$(find "$q" -mindepth 1)" ]
  [ "$(cd "$w" && find . -mindepth 1 | sort | tr '\n' ' ')" = "./tmp ./tmp/mine " ]
  run docker run --rm busybox sh -c 'ls -l /etc/hosts /etc/hostname /etc/resolv.conf | wc -l; cat /etc/hostname'
  [ "${lines[0]}" = 3 ]
  [ -n "${lines[1]}" ]
}
