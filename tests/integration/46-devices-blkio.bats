#!/usr/bin/env bats
# Devices and block I/O through the docker CLI: --device nodes made in the container with the
# host node's numbers and the cgroup allowing just the permissions asked, --device-cgroup-rule,
# --gpus refused (no device driver), the per-device block I/O limits in the container's cgroup,
# the CPU real-time budget and the --cpus/--cpu-period rules, bad values refused with dockerd's
# words and nothing created. Reads and writes of block devices use a loop device over a file the
# test owns; /dev/vda (the host's disk) only ever gets limits written into the test's cgroup and
# denied reads. Commands inside start with `exec 2>&1`: the CLI writes the container's stdout
# and stderr apart, so lines of the two could come in either order.
# bats file_tags=reactor-neutral

bats_require_minimum_version 1.5.0

load helpers
load containers

setup_file() { ctr_setup_file; }
setup() { ctr_setup; }
teardown() {
  ctr_teardown
  [ -z "${LOOP:-}" ] || losetup -d "$LOOP" 2>/dev/null || true
  LOOP=
}

# A loop device over a 1 MiB file in BT_DIR whose first bytes are "berth-loop"; LOOP, LOOP_MM.
make_loop() {
  truncate -s 1M "$BT_DIR/disk.img"
  printf berth-loop | dd of="$BT_DIR/disk.img" conv=notrunc 2>/dev/null
  LOOP=$(losetup -f --show "$BT_DIR/disk.img")
  LOOP_MAJ=$((0x$(stat -c %t "$LOOP")))
  LOOP_MIN=$((0x$(stat -c %T "$LOOP")))
}

# devices_list CTR: the v1 devices cgroup's list of the container (skips the test on v2).
devices_list() {
  [ -d "$CG_ROOT/devices" ] || skip "no v1 devices controller"
  cg_read "$1" devices devices.list
}

@test "--device /dev/null:/dev/mynull: the node is there, 1:3, and works" {
  run docker run --rm --device /dev/null:/dev/mynull busybox sh -c \
    'exec 2>&1; stat -c "%t:%T %F %a" /dev/mynull && echo hello >/dev/mynull && echo written'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "1:3 character special file 666" ]
  [ "${lines[1]}" = written ]
  docker run -d --name dev --device /dev/null:/dev/mynull busybox sleep 60
  [ "$(docker inspect -f '{{range .HostConfig.Devices}}{{.PathOnHost}} {{.PathInContainer}} {{.CgroupPermissions}}{{end}}' dev)" = \
    "/dev/null /dev/mynull rwm" ]
  run devices_list dev
  [[ "$output" == *"c 1:3 rwm"* ]]
}

@test "--device :r: reads pass, writes are refused by the device cgroup" {
  make_loop
  run docker run --rm --device "$LOOP:/dev/xvda:r" busybox sh -c \
    'exec 2>&1; head -c 10 /dev/xvda; echo; echo x >/dev/xvda && echo WROTE'
  [ "${lines[0]}" = berth-loop ]
  [[ "${lines[1]}" == *"Operation not permitted"* ]]
  [[ "$output" != *WROTE* ]]
  [ "$(head -c 10 "$BT_DIR/disk.img")" = berth-loop ]
  # a mapping at a default node's path replaces it, rule and all (as runc): read-only /dev/zero
  run docker run --rm --device /dev/zero:/dev/zero:r busybox sh -c \
    'exec 2>&1; head -c 3 /dev/zero | wc -c; echo x >/dev/zero && echo WROTE'
  [ "${lines[0]}" = 3 ]
  [[ "${lines[1]}" == *"Operation not permitted"* ]]
  # elsewhere it does not: Docker's default rule keeps rwm on 1:5
  run docker run --rm --device /dev/zero:/dev/z:r busybox sh -c 'exec 2>&1; echo x >/dev/z && echo WROTE'
  [ "$output" = WROTE ]
}

@test "a device not given is absent, and denied when made with mknod" {
  maj=$((0x$(stat -c %t /dev/vda))) min=$((0x$(stat -c %T /dev/vda)))
  run docker run --rm busybox sh -c \
    "exec 2>&1; ls /dev/vda; mknod /dev/v b $maj $min && echo made; head -c 1 /dev/v >/dev/null"
  [[ "${lines[0]}" == *"No such file or directory"* ]]
  [ "${lines[1]}" = made ]
  [[ "${lines[2]}" == *"Operation not permitted"* ]]
}

@test "--device-cgroup-rule lets a node made inside be used; without it, denied" {
  make_loop
  run docker run --rm --device-cgroup-rule "b $LOOP_MAJ:$LOOP_MIN r" --device-cgroup-rule 'c 1:5 rwm' \
    busybox sh -c "exec 2>&1; mknod /dev/l b $LOOP_MAJ $LOOP_MIN && head -c 10 /dev/l && echo &&
      mknod /dev/z5 c 1 5 && head -c 2 /dev/z5 | wc -c && echo x >/dev/z5 && echo wrote"
  [ "$status" -eq 0 ]
  [ "$output" = $'berth-loop\n2\nwrote' ]
  run docker run --rm busybox sh -c "exec 2>&1; mknod /dev/l b $LOOP_MAJ $LOOP_MIN && head -c 10 /dev/l"
  [ "$status" -ne 0 ]
  [[ "$output" == *"Operation not permitted"* ]]
  docker run -d --name rules --device-cgroup-rule 'c 1:5 rwm' --device-cgroup-rule 'c 13:* rm' \
    busybox sleep 60
  run devices_list rules
  [[ "$output" == *"c 13:* rm"* ]]
}

@test "--device DIR maps each device below it; a path outside /dev is made in the rootfs" {
  mkdir -p "$BT_DIR/devs/sub"
  mknod "$BT_DIR/devs/n" c 1 3
  mknod "$BT_DIR/devs/sub/z" c 1 5
  ln -s n "$BT_DIR/devs/link"
  run docker run --rm --device "$BT_DIR/devs:/dev/mine" --device /dev/null:/opt/null busybox sh -c \
    'exec 2>&1; stat -c "%n %t:%T" /dev/mine/n /dev/mine/sub/z /opt/null; ls /dev/mine; head -c 2 /dev/mine/sub/z | wc -c; echo x >/opt/null && echo ok'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "/dev/mine/n 1:3" ]
  [ "${lines[1]}" = "/dev/mine/sub/z 1:5" ]
  [ "${lines[2]}" = "/opt/null 1:3" ]
  [ "${lines[3]}" = n ]
  [ "${lines[4]}" = sub ]
  [ "${lines[5]}" = 2 ]
  [ "${lines[6]}" = ok ]
}

@test "--gpus is refused with dockerd's words, and nothing is created" {
  run docker run --rm --gpus all busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *'could not select device driver "" with capabilities: [[gpu]]'* ]]
  no_containers
  run docker create --gpus 'device=0,1' busybox true
  [[ "$output" == *'could not select device driver "" with capabilities: [[gpu]]'* ]]
  no_containers
}

@test "bad device values are refused at create with dockerd's words; nothing is created" {
  # 127: the CLI's code for any error that says "no such file or directory"
  run -127 docker run --rm --device-read-bps /dev/nonexist:1mb busybox true
  [[ "$output" == *"stat /dev/nonexist: no such file or directory"* ]]
  no_containers
  run -127 docker run --rm --device /dev/nonexist busybox true
  [[ "$output" == *'error gathering device information while adding custom device "/dev/nonexist": no such file or directory'* ]]
  no_containers
  run docker create --device "$BT_DIR" busybox true
  [[ "$output" == *"error gathering device information while adding custom device \"$BT_DIR\": not a device node"* ]]
  run docker create --device-write-iops /dev/null:10 busybox true
  [[ "$output" == *"invalid device path for --device-write-iops: /dev/null is not a block device"* ]]
  no_containers
  api_body() { printf '{"Image":"busybox","Cmd":["true"],"HostConfig":%s}' "$1"; }
  run api POST /containers/create -H 'Content-Type: application/json' \
    -d "$(api_body '{"DeviceCgroupRules":["x 1:3 rwm"]}')"
  [ "${lines[-1]}" = "HTTP 400" ]
  [[ "$output" == *"invalid device cgroup rule format: 'x 1:3 rwm'"* ]]
  run api POST /containers/create -H 'Content-Type: application/json' \
    -d "$(api_body '{"Devices":[{"PathOnHost":"/dev/null","PathInContainer":"/dev/n","CgroupPermissions":"rwx"}]}')"
  [ "${lines[-1]}" = "HTTP 400" ]
  [[ "$output" == *"bad mode specified: rwx"* ]]
  run api POST /containers/create -H 'Content-Type: application/json' \
    -d "$(api_body '{"BlkioWeightDevice":[{"Path":"/dev/vda","Weight":5}]}')"
  [ "${lines[-1]}" = "HTTP 400" ]
  [[ "$output" == *"invalid weight for device: /dev/vda:5"* ]]
  no_containers
}

@test "block I/O device limits land in the container's cgroup" {
  mm="$((0x$(stat -c %t /dev/vda))):$((0x$(stat -c %T /dev/vda)))"
  run docker run -d --name io --device-read-bps /dev/vda:1mb --device-write-bps /dev/vda:2mb \
    --device-read-iops /dev/vda:100 --device-write-iops /dev/vda:200 \
    --blkio-weight-device /dev/vda:300 busybox sleep 60
  [ "$status" -eq 0 ]
  if [ -d "$CG_ROOT/blkio" ]; then
    [ "$(cg_read io blkio blkio.throttle.read_bps_device)" = "$mm 1048576" ]
    [ "$(cg_read io blkio blkio.throttle.write_bps_device)" = "$mm 2097152" ]
    [ "$(cg_read io blkio blkio.throttle.read_iops_device)" = "$mm 100" ]
    [ "$(cg_read io blkio blkio.throttle.write_iops_device)" = "$mm 200" ]
    if [ -e "$CG_ROOT/blkio/blkio.weight_device" ]; then
      [[ "$(cg_read io blkio blkio.weight_device)" == *"$mm 300"* ]]
    else # dockerd's warning, and the weight dropped
      [[ "$output" == *"Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded."* ]]
    fi
  else
    [ "$(cg_read io io io.max)" = "$mm rbps=1048576 wbps=2097152 riops=100 wiops=200" ]
  fi
  # --blkio-weight where the host has no blkio.weight: dockerd's warning (the start used to fail)
  if [ -d "$CG_ROOT/blkio" ] && [ ! -e "$CG_ROOT/blkio/blkio.weight" ]; then
    run docker run --rm --blkio-weight 300 busybox echo ran
    [ "$status" -eq 0 ]
    [[ "$output" == *"Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."* ]]
    [[ "$output" == *ran* ]]
  fi
}

@test "--cpu-rt-runtime: refused or honoured per host, with dockerd's words" {
  if [ ! -e "$CG_ROOT/cpu/cpu.rt_runtime_us" ]; then
    run docker run --rm --cpu-rt-runtime 1000 busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == *"kernel does not support CPU real-time scheduler"* ]]
    no_containers
    return
  fi
  run docker run --rm --cpu-rt-period 1000 --cpu-rt-runtime 2000 busybox true
  [[ "$output" == *"cpu real-time runtime cannot be higher than cpu real-time period"* ]]
  no_containers
  # the cgroup parent has no real-time budget: the kernel refuses, and berth says why
  run docker run --rm --cpu-rt-runtime 1000 busybox true
  [ "$status" -ne 0 ]
  [[ "$output" == *"failed to write \"1000\": write $CG_ROOT/cpu/$CG_PARENT/"*"/cpu.rt_runtime_us: "* ]]
  [[ "$output" == *"as dockerd's --cpu-rt-runtime does"* ]]
  no_containers
  # give it one, as dockerd's --cpu-rt-runtime would
  mkdir -p "$CG_ROOT/cpu/$CG_PARENT"
  echo 10000 >"$CG_ROOT/cpu/$CG_PARENT/cpu.rt_runtime_us"
  docker run -d --name rt --cpu-rt-period 500000 --cpu-rt-runtime 5000 busybox sleep 60
  [ "$(cg_read rt cpu cpu.rt_period_us)" = 500000 ]
  [ "$(cg_read rt cpu cpu.rt_runtime_us)" = 5000 ]
}

@test "--cpus with --cpu-period or --cpu-quota, and periods out of range, are refused" {
  run docker run --rm --cpus 1 --cpu-period 100000 busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"Conflicting options: Nano CPUs and CPU Period cannot both be set"* ]]
  run docker run --rm --cpus 1 --cpu-quota 50000 busybox true
  [[ "$output" == *"Conflicting options: Nano CPUs and CPU Quota cannot both be set"* ]]
  run docker run --rm --cpu-period 500 busybox true
  [[ "$output" == *"CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"* ]]
  run docker run --rm --cpu-period 2000000 busybox true
  [[ "$output" == *"CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"* ]]
  run docker run --rm --cpu-quota 500 busybox true
  [[ "$output" == *"CPU cfs quota can not be less than 1ms (i.e. 1000)"* ]]
  no_containers
  docker run -d --name cfs --cpu-period 50000 --cpu-quota 25000 busybox sleep 60
  if [ -d "$CG_ROOT/cpu/$CG_PARENT" ]; then
    [ "$(cg_read cfs cpu cpu.cfs_period_us)" = 50000 ]
    [ "$(cg_read cfs cpu cpu.cfs_quota_us)" = 25000 ]
  else
    [ "$(cg_read cfs cpu cpu.max)" = "25000 50000" ]
  fi
}
