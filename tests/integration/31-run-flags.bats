#!/usr/bin/env bats
# docker run's flag groups against berthd, each judged by what the container sees from inside
# (its environment, user, hostname, capabilities, mounts) or by the host's cgroup files.

load helpers
load containers

setup_file() { ctr_setup_file; }
setup() { ctr_setup; }
teardown() { ctr_teardown; }

# Docker's default capability set (CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
# NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP), as /proc/PID/status shows it.
DEFAULT_CAPS=00000000a80425fb

status_field() { sed -n "s/^$1:[[:space:]]*//p"; }

@test "-e, --env-file and the image's env reach the container; later entries win" {
  printf 'FROM_FILE=file value\n# comment\nOVERRIDE=from-file\nPASSED\n' >"$BT_DIR/env.list"
  PASSED=from-host run docker run --rm -e A=1 -e 'SPACED=a b' --env-file "$BT_DIR/env.list" \
    -e OVERRIDE=from-flag busybox env
  [ "$status" -eq 0 ]
  [[ "$output" == *$'\nA=1'* || "$output" == A=1* ]]
  [[ "$output" == *"SPACED=a b"* ]]
  [[ "$output" == *"FROM_FILE=file value"* ]]
  [[ "$output" == *"PASSED=from-host"* ]]
  [[ "$output" == *"OVERRIDE=from-flag"* ]]
  [[ "$output" != *"OVERRIDE=from-file"* ]]
  [[ "$output" == *"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"* ]]
  [[ "$output" == *"HOME=/root"* ]]
}

@test "-w sets the working directory, creating it" {
  run docker run --rm -w /new/work/dir busybox sh -c 'pwd; ls -ld . | cut -c1'
  [ "$status" -eq 0 ]
  [ "$output" = $'/new/work/dir\nd' ]
}

@test "-u takes uid:gid, names from the image's /etc/passwd, and the primary group" {
  run docker run --rm -u 1:1 busybox id
  [ "$output" = "uid=1(daemon) gid=1(daemon) groups=1(daemon)" ]
  run docker run --rm -u nobody busybox sh -c 'id; echo $HOME'
  [ "$output" = $'uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n/nonexistent' ]
  run docker run --rm -u 1234 busybox id
  [ "$output" = "uid=1234 gid=0(root) groups=0(root)" ]
  run docker run --rm -u daemon:nogroup busybox id
  [ "$output" = "uid=1(daemon) gid=65534(nogroup) groups=65534(nogroup)" ]
  run docker run --rm -u nosuch busybox id
  [ "$status" -eq 125 ]
  [[ "$output" == *"unable to find user nosuch: no matching entries in passwd file"* ]]
}

@test "--entrypoint replaces the image's command; --entrypoint \"\" resets it" {
  run docker run --rm --entrypoint echo busybox hello there
  [ "$output" = "hello there" ]
  run docker run --rm --entrypoint "" busybox echo reset
  [ "$output" = "reset" ]
  run docker create --entrypoint "" busybox
  [ "$status" -ne 0 ]
  [[ "$output" == *"No command specified"* ]]
}

@test "--hostname is the container's hostname and in /etc/hostname; --label is kept" {
  run docker run --name hn --hostname myhost --label tier=web --label empty= busybox \
    sh -c 'hostname; cat /etc/hostname'
  [ "$output" = $'myhost\nmyhost' ]
  run docker inspect -f '{{json .Config.Labels}}' hn
  [ "$output" = '{"empty":"","tier":"web"}' ]
}

@test "--network none leaves only lo; --network host shows the host's interfaces and name" {
  run docker run --rm --network none busybox ls /sys/class/net
  [ "$output" = lo ]
  run docker run --rm --network host busybox sh -c 'ls /sys/class/net; hostname; readlink /proc/self/ns/net'
  [ "$status" -eq 0 ]
  [ "${lines[*]:0:${#lines[@]}-2}" = "$(ls /sys/class/net | sort | tr '\n' ' ' | sed 's/ $//')" ]
  [ "${lines[-2]}" = "$(hostname)" ]
  [ "${lines[-1]}" = "$(readlink /proc/self/ns/net)" ]
}

@test "--read-only: the rootfs and /etc files refuse writes, /dev/shm and --tmpfs take them" {
  run docker run --rm --read-only --tmpfs /data:size=1m,mode=1770 busybox sh -c \
    'touch /x; touch /etc/hosts; touch /dev/shm/ok && touch /data/ok && echo written;
     stat -c %a /data; grep " /data " /proc/self/mountinfo'
  [[ "$output" == *"touch: /x: Read-only file system"* ]]
  [[ "$output" == *"touch: /etc/hosts: Read-only file system"* ]]
  [[ "$output" == *$'written\n1770'* ]]
  [[ "$output" == *" /data rw,nosuid,nodev,noexec"*" - tmpfs tmpfs rw,size=1024k,mode=1770"* ]]
}

@test "capabilities: Docker's default set, --cap-add/--cap-drop, ALL, non-root" {
  run docker run --rm busybox grep -E '^Cap(Eff|Bnd|Inh|Amb):' /proc/self/status
  [ "$output" = "CapInh:	0000000000000000
CapEff:	$DEFAULT_CAPS
CapBnd:	$DEFAULT_CAPS
CapAmb:	0000000000000000" ]
  # +NET_ADMIN (bit 12) -CHOWN (bit 0)
  local want
  want=$(printf '%016x' $(((0x$DEFAULT_CAPS | 1 << 12) & ~1)))
  run docker run --rm --cap-add NET_ADMIN --cap-drop chown busybox cat /proc/self/status
  [ "$(status_field CapEff <<<"$output")" = "$want" ]
  [ "$(status_field CapBnd <<<"$output")" = "$want" ]
  run docker run --rm --cap-drop ALL busybox cat /proc/self/status
  [ "$(status_field CapEff <<<"$output")" = 0000000000000000 ]
  [ "$(status_field CapBnd <<<"$output")" = 0000000000000000 ]
  run docker run --rm -u 1 busybox cat /proc/self/status
  [ "$(status_field CapEff <<<"$output")" = 0000000000000000 ]
  [ "$(status_field CapBnd <<<"$output")" = "$DEFAULT_CAPS" ]
  run docker create --cap-add NOPE busybox
  [ "$status" -ne 0 ]
  [[ "$output" == *'invalid CapAdd: unknown capability: "CAP_NOPE"'* ]]
}

@test "--privileged: every capability berthd holds, no seccomp, /sys writable, no masked paths" {
  run docker run --rm --privileged busybox sh -c \
    'cat /proc/self/status; grep -c " /proc/keys " /proc/self/mountinfo; grep " /sys " /proc/self/mountinfo'
  [ "$status" -eq 0 ]
  [ "$(status_field CapEff <<<"$output")" = "$(status_field CapBnd </proc/$BT_PID/status)" ]
  [ "$(status_field Seccomp <<<"$output")" = 0 ]
  [[ "$output" == *$'\n0\n'* ]]
  [[ "$output" == *" /sys rw,"* ]]
}

@test "--security-opt no-new-privileges and seccomp=unconfined; bad options refused at create" {
  run docker run --rm busybox cat /proc/self/status
  [ "$(status_field NoNewPrivs <<<"$output")" = 0 ]
  [ "$(status_field Seccomp <<<"$output")" = 2 ]
  run docker run --rm --security-opt no-new-privileges busybox cat /proc/self/status
  [ "$(status_field NoNewPrivs <<<"$output")" = 1 ]
  run docker run --rm --security-opt seccomp=unconfined busybox cat /proc/self/status
  [ "$(status_field Seccomp <<<"$output")" = 0 ]
  [ "$(status_field NoNewPrivs <<<"$output")" = 0 ]
  run docker create --security-opt bogus=1 busybox
  [ "$status" -ne 0 ]
  [[ "$output" == *'invalid --security-opt 2: "bogus=1"'* ]]
  [ -z "$(docker ps -aq)" ]
}

# cg_v1_or_v2 CTR V1CTRL V1FILE V2FILE: the limit file of either layout.
cg_v1_or_v2() {
  if [ -d "$CG_ROOT/$2/$CG_PARENT" ]; then cg_read "$1" "$2" "$3"; else cg_read "$1" "$2" "$4"; fi
}

@test "memory, swap, cpus, shares, cpuset and pids limits land in the container's cgroup" {
  docker run -d --name lim --memory 64m --memory-swap 96m --cpus 0.5 --cpu-shares 512 \
    --cpuset-cpus 0 --pids-limit 42 busybox sleep 60
  [ "$(cg_read lim pids cgroup.procs)" = "$(ctr_pid lim)" ]
  if [ -d "$CG_ROOT/memory/$CG_PARENT" ]; then
    [ "$(cg_read lim memory memory.limit_in_bytes)" = $((64 << 20)) ]
    [ ! -e "$CG_ROOT/memory/memory.memsw.limit_in_bytes" ] ||
      [ "$(cg_read lim memory memory.memsw.limit_in_bytes)" = $((96 << 20)) ]
    [ "$(cg_read lim cpu cpu.cfs_quota_us)" = 50000 ]
    [ "$(cg_read lim cpu cpu.cfs_period_us)" = 100000 ]
    [ "$(cg_read lim cpu cpu.shares)" = 512 ]
  else
    [ "$(cg_read lim memory memory.max)" = $((64 << 20)) ]
    [ "$(cg_read lim memory memory.swap.max)" = $((32 << 20)) ]
    [ "$(cg_read lim cpu cpu.max)" = "50000 100000" ]
  fi
  [ "$(cg_read lim cpuset cpuset.cpus)" = 0 ]
  [ "$(cg_read lim pids pids.max)" = 42 ]
}

@test "the kernel applies --pids-limit inside: the sixth process cannot be forked" {
  run docker run --rm --pids-limit 5 busybox sh -c \
    'for i in 1 2 3 4 5 6; do sleep 2 & done 2>&1; kill $(jobs -p) 2>/dev/null; true'
  [[ "$output" == *"can't fork"* || "$output" == *"Resource temporarily unavailable"* ]]
}

@test "limits the host cannot honour are refused with dockerd's words and 125" {
  run docker run --rm --memory 1k busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"Minimum memory limit allowed is 6MB"* ]]
  run docker run --rm --cpuset-cpus 0-4095 busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"Requested CPUs are not available - requested 0-4095, available: "* ]]
  run docker run --rm --cpuset-cpus abc busybox true
  [[ "$output" == *"Invalid value abc for cpuset cpus: invalid format: abc"* ]]
}

@test "--ulimit sets soft and hard limits; --shm-size sizes /dev/shm" {
  run docker run --rm --ulimit nofile=1024:2048 --shm-size 32m busybox sh -c \
    'ulimit -n; ulimit -Hn; df -k /dev/shm | tail -1'
  [ "${lines[0]}" = 1024 ]
  [ "${lines[1]}" = 2048 ]
  [ "$(echo "${lines[2]}" | awk '{print $2}')" = 32768 ]
  run docker run --rm busybox sh -c 'df -k /dev/shm | tail -1'
  [ "$(echo "$output" | awk '{print $2}')" = 65536 ]
}

@test "-v binds a host dir (writes seen on the host), a file, and :ro refuses writes" {
  mkdir "$BT_DIR/share"
  echo from-host >"$BT_DIR/share/in"
  run docker run --rm -v "$BT_DIR/share:/share" -v "$BT_DIR/share/in:/etc/in:ro" busybox sh -c \
    'cat /share/in; echo from-container >/share/out; cat /etc/in; echo x >/etc/in'
  [ "${lines[0]}" = from-host ]
  [ "${lines[1]}" = from-host ]
  [[ "${lines[2]}" == *"Read-only file system"* ]]
  [ "$(cat "$BT_DIR/share/out")" = from-container ]
  [ "$(cat "$BT_DIR/share/in")" = from-host ]
  run docker run --rm -v "$BT_DIR/share:/share:ro" busybox sh -c 'touch /share/new'
  [ "$status" -ne 0 ]
  [[ "$output" == *"Read-only file system"* ]]
  [ ! -e "$BT_DIR/share/new" ]
}

@test "--cgroup-parent puts the container under a second parent the test owns" {
  CG_PARENT2=berth-test2-$$-$RANDOM
  CG_EXTRA_PARENTS=$CG_PARENT2
  docker run -d --name cp --cgroup-parent "/$CG_PARENT2" busybox sleep 60
  local id
  id=$(docker inspect -f '{{.Id}}' cp)
  if [ -d "$CG_ROOT/pids" ]; then
    [ "$(cat "$CG_ROOT/pids/$CG_PARENT2/$id/cgroup.procs")" = "$(ctr_pid cp)" ]
  else
    [ "$(cat "$CG_ROOT/$CG_PARENT2/$id/cgroup.procs")" = "$(ctr_pid cp)" ]
  fi
  [ -z "$(ctr_cgroup_dirs)" ] # nothing under the daemon's parent
  docker rm -f cp
  [ -z "$(find "$CG_ROOT" -maxdepth 3 -path "*$CG_PARENT2/$id")" ]
}
