#!/usr/bin/env bats
# Mount options and security options through the docker CLI: bind propagation (rslave, rshared,
# the rprivate default) with mounts made on the host and in the container, --mount type=tmpfs
# with size and mode, MaskedPaths/ReadonlyPaths from the API and systempaths=unconfined,
# apparmor=/label= on a host without either module, z/Z/nocopy, --dns-search, --dns-option,
# --domainname, --mac-address, stop -s / restart -s, attach with logs, rm --link.
# bats file_tags=reactor-neutral

load helpers
load containers

bats_require_minimum_version 1.5.0

setup_file() { ctr_setup_file; }
setup() {
  ctr_setup
  PROP=$BT_DIR/prop
  mkdir -p "$PROP"
}
teardown() {
  umount_under "${PROP:-/nonexistent}"
  ctr_teardown
}

# umount_under DIR: every mount at or below DIR (the test's own), deepest first.
umount_under() {
  local i m
  for i in 1 2 3; do
    for m in $(awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo |
      sort -r); do
      umount -l "$m" 2>/dev/null || true
    done
  done
}

# shared_dir DIR: DIR made a shared mount of its own (a bind of itself), as a host whose /
# is shared has it; the teardown unmounts it.
shared_dir() {
  mkdir -p "$1"
  mount --bind "$1" "$1"
  mount --make-shared "$1"
}

mounted_on_host() { grep -q " $1 " /proc/self/mountinfo; }

# attach_frames CTR QUERY [rawsock.py options]: a raw attach (no input) decoded by frames.
attach_frames() { raw_attach "$1" "$2" "${@:3}" </dev/null | frames; }

# frames: an attach reply (head, then Docker's 8-byte stream frames) as "STREAM:TEXT" lines.
frames() {
  "$HOSTPY" -c '
import sys
d = sys.stdin.buffer.read()
d = d[d.find(b"\r\n\r\n") + 4:]
while len(d) >= 8:
    n = int.from_bytes(d[4:8], "big")
    for line in d[8:8 + n].decode().splitlines():
        print("%d:%s" % (d[0], line))
    d = d[8 + n:]
'
}

@test "bind propagation: a host mount under the source reaches rslave binds, not the rprivate default; inspect shows each" {
  local src=$PROP/src
  shared_dir "$src"
  mkdir "$src/sub"
  local wait_then_look='while [ ! -e /mnt/go ]; do sleep 0.05; done; grep -c " /mnt/sub " /proc/self/mounts; cat /mnt/sub/f 2>/dev/null || echo absent'
  docker run -d --name slave -v "$src:/mnt:rslave" busybox sh -c "$wait_then_look"
  docker run -d --name private -v "$src:/mnt" busybox sh -c "$wait_then_look"
  docker run -d --name mprivate --mount "type=bind,src=$src,dst=/mnt,bind-propagation=rprivate" \
    busybox sh -c "$wait_then_look"
  docker run -d --name mslave --mount "type=bind,src=$src,dst=/mnt,bind-propagation=slave" \
    busybox sh -c "$wait_then_look"
  # after they started: a mount on the host under the source
  mount -t tmpfs -o size=1m berth-test-prop "$src/sub"
  echo hi >"$src/sub/f"
  touch "$src/go"
  local c
  for c in slave private mprivate mslave; do docker wait "$c" >/dev/null; done
  [ "$(docker logs slave)" = "$(printf '1\nhi')" ]
  [ "$(docker logs mslave)" = "$(printf '1\nhi')" ]
  [ "$(docker logs private)" = "$(printf '0\nabsent')" ]
  [ "$(docker logs mprivate)" = "$(printf '0\nabsent')" ]
  [ "$(docker inspect --format '{{range .Mounts}}{{.Propagation}} {{.Mode}}{{end}}' slave)" = "rslave rslave" ]
  [ "$(docker inspect --format '{{range .Mounts}}{{.Propagation}}{{end}}' private)" = rprivate ]
  [ "$(docker inspect --format '{{range .Mounts}}{{.Type}} {{.Propagation}}{{end}}' mprivate)" = "bind rprivate" ]
  [ "$(docker inspect --format '{{range .Mounts}}{{.Propagation}}{{end}}' mslave)" = slave ]
}

@test "rshared bind: a mount made in the container under it appears on the host, and nothing else leaks out" {
  local src=$PROP/src
  shared_dir "$src"
  docker run --rm --privileged -v "$src:/mnt:rshared" busybox \
    sh -c 'mkdir -p /mnt/in && mount -t tmpfs -o size=1m inner /mnt/in && echo x >/mnt/in/f'
  mounted_on_host "$src/in"
  [ "$(cat "$src/in/f")" = x ]
  umount "$src/in"
  # the container's own mounts (proc, dev, its rootfs) stayed in: none is left on the host
  run grep -c " $BT_DIR/root/" /proc/self/mountinfo
  [ "$output" = 0 ]
  [ "$(docker run --rm --mount "type=bind,src=$src,dst=/mnt,bind-propagation=shared" busybox \
    sh -c 'echo ok')" = ok ]
}

@test "rslave and rshared binds of a source on a private mount fail to start, in dockerd's words" {
  local plain=$PROP/plain
  mkdir -p "$plain"
  [ "$(findmnt -no PROPAGATION --target "$plain")" = private ] || skip "the test dir is not on a private mount here"
  local on
  on=$(findmnt -no TARGET --target "$plain")
  run docker run --rm -v "$plain:/mnt:rslave" busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"path $plain is mounted on $on but it is not a shared or slave mount"* ]]
  run docker run --rm --mount "type=bind,src=$plain,dst=/mnt,bind-propagation=rshared" busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"path $plain is mounted on $on but it is not a shared mount"* ]]
}

@test "--mount type=tmpfs: tmpfs-size and tmpfs-mode as df and stat see them, readonly, and inspect's Mounts" {
  run docker run --name tm --mount type=tmpfs,dst=/scratch,tmpfs-size=2m,tmpfs-mode=1770 \
    --mount type=tmpfs,dst=/ro,readonly busybox \
    sh -c 'df -k /scratch | tail -n 1 | awk "{print \$2}"; stat -c %a /scratch; touch /scratch/x && echo rw; touch /ro/x 2>/dev/null || echo ro'
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf '2048\n1770\nrw\nro')" ]
  [ "$(docker inspect --format '{{range .Mounts}}{{.Type}}:{{.Destination}}:{{.RW}} {{end}}' tm)" = "tmpfs:/scratch:true tmpfs:/ro:false " ]
  run docker run --rm --mount type=tmpfs,dst=/x,tmpfs-size=1m,source=/y busybox true
  [ "$status" -ne 0 ]
}

@test "MaskedPaths and ReadonlyPaths from the API replace Docker's defaults" {
  local script='wc -c </etc/passwd; ls /usr | wc -l; touch /tmp/x 2>/dev/null && echo rw || echo ro; [ "$(head -c 1 /proc/timer_list | wc -c)" = 1 ] && echo timers; grep -c " /proc/sys " /proc/mounts'
  jq -n --arg s "$script" '{Image: "busybox", Cmd: ["sh", "-c", $s],
    HostConfig: {MaskedPaths: ["/etc/passwd", "/usr"], ReadonlyPaths: ["/tmp"]}}' >"$BT_DIR/req.json"
  run api POST '/containers/create?name=paths' -H 'Content-Type: application/json' -d @"$BT_DIR/req.json"
  [ "${lines[-1]}" = "HTTP 201" ]
  run docker start -a paths
  [ "$output" = "$(printf '0\n0\nro\ntimers\n0')" ]
  [ "$(docker inspect --format '{{json .HostConfig.MaskedPaths}} {{json .HostConfig.ReadonlyPaths}}' paths)" = '["/etc/passwd","/usr"] ["/tmp"]' ]
  # without them: Docker's defaults, listed in the HostConfig as dockerd fills it at create
  run docker run --name dflt busybox sh -c '[ "$(head -c 1 /proc/timer_list | wc -c)" = 1 ] && echo timers; grep -c " /proc/sys " /proc/mounts; wc -c </etc/passwd | awk "{print (\$1 > 0)}"'
  [ "$output" = "$(printf '1\n1')" ]
  run docker inspect --format '{{json .HostConfig.MaskedPaths}}' dflt
  [[ "$output" == '["/proc/acpi",'*'"/proc/kcore",'*'"/sys/firmware"'* ]]
  [ "$(docker inspect --format '{{json .HostConfig.ReadonlyPaths}}' dflt)" = '["/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]' ]
}

@test "--security-opt systempaths=unconfined: nothing masked or read-only" {
  run docker run --name unconf --security-opt systempaths=unconfined busybox \
    sh -c '[ "$(head -c 1 /proc/timer_list | wc -c)" = 1 ] && echo timers; grep -c " /proc/sys " /proc/mounts'
  [ "$output" = "$(printf 'timers\n0')" ]
  [ "$(docker inspect --format '{{json .HostConfig.MaskedPaths}} {{json .HostConfig.ReadonlyPaths}}' unconf)" = '[] []' ]
  run docker run --rm busybox sh -c '[ "$(head -c 1 /proc/timer_list | wc -c)" = 1 ] && echo timers; grep -c " /proc/sys " /proc/mounts'
  [ "$output" = 1 ]
}

@test "apparmor= and label= asking for confinement are refused on a host without AppArmor or SELinux; unconfined and disable run" {
  if [ -e /sys/kernel/security/apparmor ] || [ -e /sys/fs/selinux/enforce ]; then
    skip "this host has AppArmor or SELinux"
  fi
  run docker run --rm --security-opt apparmor=docker-default busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"--security-opt apparmor=docker-default: AppArmor is not enabled on this host"* ]]
  run docker create --security-opt label=type:container_t busybox true
  [ "$status" -ne 0 ]
  [[ "$output" == *"--security-opt label=type:container_t: SELinux is not enabled on this host"* ]]
  run docker create --security-opt label=level:s0:c1 busybox true
  [[ "$output" == *"label=level:s0:c1: SELinux is not enabled on this host"* ]]
  [ "$(docker ps -aq | wc -l)" = 0 ]
  run docker run --rm --security-opt apparmor=unconfined --security-opt label=disable busybox echo ran
  [ "$status" -eq 0 ]
  [ "$output" = ran ]
}

@test "-v with z or Z is accepted without SELinux (dockerd relabels only where it is on); nocopy on a bind is refused in moby's words" {
  [ -e /sys/fs/selinux/enforce ] && skip "this host has SELinux"
  local d=$PROP/data
  mkdir -p "$d"
  echo here >"$d/f"
  [ "$(docker run --rm -v "$d:/d:z" busybox cat /d/f)" = here ]
  [ "$(docker run --rm -v "$d:/d:Z,ro" busybox cat /d/f)" = here ]
  run docker run --rm -v "$d:/d:nocopy" busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"invalid volume specification: '$d:/d:nocopy': invalid mount config for type \"bind\": field VolumeOptions must not be specified"* ]]
}

@test "--dns-search, --dns-option, --domainname: resolv.conf's search and options lines, the UTS domain name" {
  local want_ns
  want_ns=$(grep -E '^nameserver [0-9a-fA-F.:]+$' /etc/resolv.conf || true)
  run docker run --rm --dns-search a.example --dns-search b.example --dns-option ndots:2 \
    --dns-option rotate --domainname example.org --hostname box busybox \
    sh -c 'cat /etc/resolv.conf; echo ==; cat /proc/sys/kernel/domainname; hostname'
  [ "$status" -eq 0 ]
  local conf=${output%%==*}
  [ "$(grep '^nameserver' <<<"$conf" || true)" = "$want_ns" ]
  [ "$(grep '^search' <<<"$conf")" = "search a.example b.example" ]
  [ "$(grep '^options' <<<"$conf")" = "options ndots:2 rotate" ]
  [ "${lines[-2]}" = example.org ]
  [ "${lines[-1]}" = box ]
  run docker run --rm --dns 192.0.2.7 --dns-search c.example busybox cat /etc/resolv.conf
  [ "$output" = "$(printf 'nameserver 192.0.2.7\nsearch c.example')" ]
  run docker run --rm busybox cat /proc/sys/kernel/domainname
  [ "$output" = "(none)" ]
}

@test "--mac-address is kept and shown by inspect; an old client's with network none is refused in dockerd's words" {
  docker create --name mac --network none --mac-address 02:42:ac:11:00:99 busybox true >/dev/null
  [ "$(docker inspect --format '{{.NetworkSettings.Networks.none.MacAddress}}' mac)" = 02:42:ac:11:00:99 ]
  docker start mac
  [ "$(docker inspect --format '{{.NetworkSettings.Networks.none.MacAddress}}' mac)" = 02:42:ac:11:00:99 ]
  run api POST /v1.43/containers/create -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","MacAddress":"02:42:ac:11:00:98","HostConfig":{"NetworkMode":"none"}}'
  [ "${lines[-1]}" = "HTTP 400" ]
  [ "${lines[0]}" = '{"message":"conflicting options: mac-address and the network mode"}' ]
  run api POST /containers/create -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"none":{"MacAddress":"zz"}}},"HostConfig":{"NetworkMode":"none"}}'
  [ "${lines[-1]}" = "HTTP 400" ]
  [ "${lines[0]}" = '{"message":"invalid JSON: address zz: invalid MAC address"}' ]
}

@test "docker stop -s USR1 sends USR1 (a trap prints it), docker restart -s too; a bad signal is dockerd's 400" {
  local trapper='trap "echo got USR1; exit 3" USR1; echo ready; while :; do sleep 0.1; done'
  docker run -d --name trap busybox sh -c "$trapper"
  wait_until 10 log_has trap ready
  docker stop -s USR1 -t 5 trap
  [ "$(docker inspect --format '{{.State.ExitCode}}' trap)" = 3 ]
  log_has trap 'got USR1'
  docker start trap
  wait_until 10 running trap
  run docker stop -s NOPE trap
  [ "$status" -ne 0 ]
  [[ "$output" == *"cannot stop container: trap: invalid signal: NOPE"* ]]
  running trap
  docker restart -s SIGUSR1 -t 5 trap
  running trap
  [ "$(docker logs trap | grep -c 'got USR1')" = 2 ]
  wait_until 10 eval '[ "$(docker logs trap | grep -c ready)" = 3 ]'
}

@test "attach with logs: the log so far comes before the live output; without stream, only the log" {
  local ctl=$PROP/ctl
  mkdir -p "$ctl"
  docker run -d --name talker -v "$ctl:/ctl" busybox \
    sh -c 'echo one; echo two >&2; while [ ! -e /ctl/go ]; do sleep 0.05; done; echo three'
  wait_until 10 log_has talker two
  run attach_frames talker 'logs=1&stdout=1&stderr=1' # stream=0: the log, then the end
  [ "$(sort <<<"$output")" = "$(printf '1:one\n2:two')" ]
  (sleep 1; touch "$ctl/go") &
  local toucher=$!
  run attach_frames talker 'logs=1&stream=1&stdout=1&stderr=1' --wait 20
  wait "$toucher"
  [ "${lines[-1]}" = "1:three" ]
  [ "$(printf '%s\n' "${lines[@]:0:2}" | sort)" = "$(printf '1:one\n2:two')" ]
  [ "${#lines[@]}" = 3 ]
}

@test "docker rm --link of a container's name is refused as dockerd refuses it, removing nothing; plain rm works" {
  docker run -d --name web busybox sleep 300
  run docker rm --link web
  [ "$status" -ne 0 ]
  [[ "$output" == *"Conflict, cannot remove the default link name of the container"* ]]
  running web
  run docker rm --link /web/db # the CLI trims the slashes; berth finds no such name
  [ "$status" -ne 0 ]
  [[ "$output" == *"No such container: web/db"* ]]
  docker rm -f web
  [ -z "$(docker ps -aq)" ]
}
