#!/usr/bin/env bats
# What a default container sees of the host: only its own fds, Docker's mount list, a
# read-only /sys, masked and read-only /proc paths, a small /dev, pid 1, its own hostname and
# namespaces.
# bats file_tags=reactor-neutral

load helpers
load containers

setup_file() { ctr_setup_file; }
setup() { ctr_setup; }
teardown() { ctr_teardown; }

@test "no berthd fd leaks in: only 0 1 2 (3 is ls's own directory), stdin is /dev/null" {
  run docker run --rm busybox ls /proc/self/fd
  [ "$output" = $'0\n1\n2\n3' ]
  run docker run --rm busybox sh -c 'for f in 0 1 2; do readlink /proc/self/fd/$f; done;
    ls -l /proc/self/fd/0 | cut -c1-4'
  [ "${lines[0]}" = /dev/null ]
  [[ "${lines[1]}" == "pipe:["* ]]
  [[ "${lines[2]}" == "pipe:["* ]]
  [ "${lines[3]}" = lrwx ] # read-write, as runc opens it
}

@test "mounts: overlay rootfs, proc, dev, pts, shm, mqueue, read-only sysfs, the /etc files" {
  run docker run --rm busybox cat /proc/self/mountinfo
  [ "$status" -eq 0 ]
  local m
  m=$(awk '{ sep = 0; for (i = 7; i <= NF; i++) if ($i == "-") { sep = i; break }
             print $5, $(sep + 1), substr($6, 1, 2) }' <<<"$output")
  grep -qx '/ overlay rw' <<<"$m"
  grep -qx '/proc proc rw' <<<"$m"
  grep -qx '/dev tmpfs rw' <<<"$m"
  grep -qx '/dev/pts devpts rw' <<<"$m"
  grep -qx '/dev/shm tmpfs rw' <<<"$m"
  grep -qx '/dev/mqueue mqueue rw' <<<"$m"
  grep -qx '/sys sysfs ro' <<<"$m"
  grep -qx '/etc/hosts ext4 rw\|/etc/hosts [a-z0-9]* rw' <<<"$m"
  grep -q '^/etc/hostname ' <<<"$m"
  grep -q '^/etc/resolv.conf ' <<<"$m"
  # nothing of the host's other mounts: every mount point is one of Docker's
  ! grep -v '^/ \|^/proc\|^/dev\|^/sys\|^/etc/\(hosts\|hostname\|resolv.conf\) ' <<<"$m"
}

@test "/sys is read-only" {
  run docker run --rm busybox sh -c 'touch /sys/x; echo 1 >/sys/kernel/profiling'
  [ "$status" -ne 0 ]
  [[ "$output" == *"touch: /sys/x: Read-only file system"* ]]
}

@test "Docker's masked paths are empty and its read-only /proc paths refuse writes" {
  run docker run --rm busybox sh -c '
    for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats; do
      [ -e "$p" ] && echo "$p $(wc -c <"$p")"; done
    for d in /proc/acpi /proc/scsi /proc/asound /sys/firmware; do
      [ -e "$d" ] && echo "$d $(ls -A "$d" | wc -l)"; done
    echo 1 >/proc/sys/kernel/ns_last_pid || echo sys-ro
    echo h >/proc/sysrq-trigger || echo sysrq-ro
    grep -E " /proc/(bus|fs|irq|sys) " /proc/self/mountinfo | cut -d" " -f5,6'
  local p
  for p in /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats /proc/kcore; do
    [ ! -e "$p" ] || [[ "$output" == *"$p 0"* ]]
  done
  for p in /proc/acpi /proc/scsi /proc/asound /sys/firmware; do
    [ ! -e "$p" ] || [[ "$output" == *"$p 0"* ]]
  done
  [[ "$output" == *sys-ro* ]]
  [[ "$output" == *sysrq-ro* ]]
  [[ "$output" == *"/proc/sys ro,nosuid,nodev,noexec"* ]]
  [[ "$output" == *"/proc/bus ro,nosuid,nodev,noexec"* ]]
  # the host's files are not empty, so the test can fail
  [ ! -e /proc/timer_list ] || [ "$(head -c 1 /proc/timer_list | wc -c)" -eq 1 ]
}

@test "/dev has Docker's nodes and links, nothing of the host's" {
  run docker run --rm busybox sh -c 'ls /dev; stat -c "%n %t:%T" /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty'
  local want="fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero"
  [ ! -e /proc/kcore ] || want="core $want"
  [ "$(head -n -6 <<<"$output" | sort | tr '\n' ' ' | sed 's/ $//')" = "$(tr ' ' '\n' <<<"$want" | sort | tr '\n' ' ' | sed 's/ $//')" ]
  [[ "$output" == *"/dev/null 1:3"* ]]
  [[ "$output" == *"/dev/zero 1:5"* ]]
  [[ "$output" == *"/dev/full 1:7"* ]]
  [[ "$output" == *"/dev/random 1:8"* ]]
  [[ "$output" == *"/dev/urandom 1:9"* ]]
  [[ "$output" == *"/dev/tty 5:0"* ]]
}

@test "pid 1 inside, its own namespaces, the short id as hostname, the /etc files" {
  docker run -d --name iso busybox sleep 60
  local pid
  pid=$(ctr_pid iso)
  run docker run --rm busybox sh -c 'echo $$; ps -o pid | wc -l'
  [ "${lines[0]}" = 1 ]
  [ "${lines[1]}" -le 4 ] # header, sh, ps (and wc)
  local ns
  for ns in mnt pid uts ipc net cgroup; do
    [ "$(readlink "/proc/$pid/ns/$ns")" != "$(readlink /proc/self/ns/$ns)" ] || [ "$ns" = cgroup ]
  done
  [ "$(readlink "/proc/$pid/ns/user")" = "$(readlink /proc/self/ns/user)" ]
  run docker run --rm --name iso2 busybox sh -c 'hostname; cat /etc/hostname; grep -c localhost /etc/hosts; test -f /etc/resolv.conf && echo resolv'
  [ "${lines[0]}" = "${lines[1]}" ]
  [ "${#lines[0]}" -eq 12 ]
  [ "${lines[2]}" -ge 1 ]
  [ "${lines[3]}" = resolv ]
  run docker run -d busybox hostname
  local cid=$output
  docker wait "$cid"
  [ "$(docker logs "$cid")" = "${cid:0:12}" ]
}
