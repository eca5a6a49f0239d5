#!/usr/bin/env bats
# Namespace modes through the docker CLI, each shown by its effect: --pid host|container:X,
# --ipc host|private|shareable|none|container:X, --uts host, --network container:X, --cgroupns
# host|private, --sysctl; dockerd's refusals (at create, creating nothing; at start, when the
# container to join does not run) and daemon.json's default-ipc-mode and default-cgroupns-mode.
# bats file_tags=reactor-neutral

load helpers
load containers

setup_file() { ctr_setup_file; }
setup() { ctr_setup; }
teardown() {
  [ -z "${HOST_SHM_ID:-}" ] || ipcrm -m "$HOST_SHM_ID" 2>/dev/null || true
  [ -z "${HOST_SHM_FILE:-}" ] || rm -f "$HOST_SHM_FILE"
  HOST_SHM_ID= HOST_SHM_FILE=
  ctr_teardown
}

# ns CTR KIND: the namespace KIND (net, ipc, pid, uts) of a running container's process.
ns() { readlink "/proc/$(ctr_pid "$1")/ns/$2"; }

@test "--pid host: the host's processes (this test's shell among them), no pid 1 of its own" {
  run docker run --rm --pid host busybox sh -c "test -d /proc/$$ && echo sees-test-shell;
    cat /proc/1/comm; echo \$\$"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = sees-test-shell ]
  [ "${lines[1]}" = "$(cat /proc/1/comm)" ]
  [ "${lines[2]}" != 1 ]
  # the default: a PID namespace of its own, where the command is pid 1
  run docker run --rm busybox sh -c "test -d /proc/$$ && echo sees-test-shell; echo \$\$"
  [ "$output" = 1 ]
  docker create --name ph --pid host busybox true >/dev/null
  [ "$(docker inspect --format '{{.HostConfig.PidMode}}' ph)" = host ]
}

@test "--pid container:X: X's processes, X's PID namespace; stop acts on the joiner alone" {
  docker run -d --name psrc busybox sleep 300 >/dev/null
  run docker run --rm --pid container:psrc busybox sh -c 'cat /proc/1/comm; echo $$; ps -o comm'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = sleep ]
  [ "${lines[1]}" != 1 ]
  [[ "$output" == *$'\nsleep\n'* ]]
  docker run -d --name pjoin --pid container:psrc busybox sleep 300 >/dev/null
  [ "$(ns pjoin pid)" = "$(ns psrc pid)" ]
  [ "$(docker inspect --format '{{.HostConfig.PidMode}}' pjoin)" = "container:$(docker inspect --format '{{.Id}}' psrc)" ]
  # its own pidfd: a stop ends the joiner (not pid 1 there: SIGTERM kills sleep), X runs on
  docker stop -t 10 pjoin >/dev/null
  [ "$(docker inspect --format '{{.State.ExitCode}}' pjoin)" = 143 ]
  running psrc
}

@test "--pid container:X: X's end takes the joiners with its PID namespace, as the kernel does" {
  docker run -d --name pgone busybox sleep 300 >/dev/null
  docker run -d --name pleft --pid container:pgone busybox sleep 300 >/dev/null
  docker run -d --name nleft --network container:pgone busybox sleep 300 >/dev/null
  docker kill pgone >/dev/null
  wait_until 10 eval '! running pleft'
  [ "$(docker inspect --format '{{.State.ExitCode}}' pleft)" = 137 ]
  # a network namespace lives on while a process is in it: the joiner keeps running
  running nleft
}

@test "--ipc shareable and --ipc container:X share X's IPC namespace, SysV memory and /dev/shm" {
  docker run -d --name isrc --ipc shareable busybox sh -c 'echo from-isrc >/dev/shm/note; sleep 300' >/dev/null
  local id shmid
  id=$(docker inspect --format '{{.Id}}' isrc)
  # its /dev/shm is a tmpfs in its directory on the host
  wait_until 5 test -f "$BT_DIR/root/containers/$id/shm/note"
  shmid=$(nsenter --ipc="/proc/$(ctr_pid isrc)/ns/ipc" ipcmk -M 4096 | grep -o '[0-9]*$')
  [ -n "$shmid" ]
  run docker run --rm --ipc container:isrc busybox sh -c \
    'readlink /proc/self/ns/ipc; cat /dev/shm/note; awk "NR > 1 { print \$2 }" /proc/sysvipc/shm'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$(ns isrc ipc)" ]
  [ "${lines[1]}" = from-isrc ]
  [ "${lines[2]}" = "$shmid" ]
  grep -q " $BT_DIR/root/containers/$id/shm " /proc/self/mountinfo
  [ "$(docker inspect --format '{{.HostConfig.IpcMode}}' isrc)" = shareable ]
  # X's end unmounts it; a joiner still running keeps what it had
  docker run -d --name ikeep --ipc container:isrc busybox sleep 300 >/dev/null
  docker rm -f isrc >/dev/null
  ! grep -q " $BT_DIR/root/containers/$id/shm " /proc/self/mountinfo
  running ikeep
  [ "$(nsenter --mount="/proc/$(ctr_pid ikeep)/ns/mnt" cat /dev/shm/note)" = from-isrc ]
}

@test "--ipc private (the default) is neither shared nor joinable" {
  docker run -d --name ipriv busybox sleep 300 >/dev/null
  [ "$(docker inspect --format '{{.HostConfig.IpcMode}}' ipriv)" = private ]
  run docker run --rm busybox readlink /proc/self/ns/ipc
  [ "$output" != "$(ns ipriv ipc)" ]
  [ "$output" != "$(readlink /proc/self/ns/ipc)" ]
  local id
  id=$(docker inspect --format '{{.Id}}' ipriv)
  run docker run --name ijoin --ipc container:ipriv busybox true
  [ "$status" -ne 0 ]
  [[ "$output" == *"Error response from daemon: failed to join IPC namespace: container $id: non-shareable IPC (hint: use IpcMode:shareable for the donor container)"* ]]
}

@test "--ipc host: the host's IPC namespace, its SysV memory and its /dev/shm" {
  HOST_SHM_ID=$(ipcmk -M 4096 | grep -o '[0-9]*$')
  HOST_SHM_FILE=/dev/shm/berth-test-$$-$RANDOM
  echo from-host >"$HOST_SHM_FILE"
  run docker run --rm --ipc host busybox sh -c \
    "readlink /proc/self/ns/ipc; awk 'NR > 1 { print \$2 }' /proc/sysvipc/shm; cat $HOST_SHM_FILE"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$(readlink /proc/self/ns/ipc)" ]
  grep -qx "$HOST_SHM_ID" <<<"$output"
  [ "${lines[-1]}" = from-host ]
}

@test "--ipc none: no /dev/shm at all" {
  run docker run --rm --ipc none busybox sh -c 'test -e /dev/shm && echo has-shm; ls /dev'
  [ "$status" -eq 0 ]
  [[ "$output" != *has-shm* ]]
  [[ "$output" == *mqueue* ]]
  run docker run --rm busybox sh -c 'test -d /dev/shm && echo has-shm'
  [ "$output" = has-shm ]
}

@test "--uts host: the host's hostname and UTS namespace" {
  run docker run --rm --uts host busybox sh -c 'hostname; readlink /proc/self/ns/uts'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$(hostname)" ]
  [ "${lines[1]}" = "$(readlink /proc/self/ns/uts)" ]
  local id
  id=$(docker create --uts host busybox true)
  [ "$(docker inspect --format '{{.HostConfig.UTSMode}}' "$id")" = host ]
  run docker run --rm busybox hostname
  [ "$output" != "$(hostname)" ]
}

@test "--network container:X: X's network namespace (its address on lo), X's hostname and /etc files" {
  docker run -d --name nsrc --cap-add NET_ADMIN busybox sh -c \
    'ip addr add 10.45.0.7/32 dev lo && ip link set lo up && sleep 300' >/dev/null
  wait_until 5 eval "nsenter --net=/proc/\$(ctr_pid nsrc)/ns/net ip addr show lo | grep -q 10.45.0.7"
  run docker run --rm --network container:nsrc busybox sh -c \
    'readlink /proc/self/ns/net; ip addr show lo | grep -o "10.45.0.7"; hostname; cat /etc/hostname'
  [ "$status" -eq 0 ]
  local id
  id=$(docker inspect --format '{{.Id}}' nsrc)
  [ "${lines[0]}" = "$(ns nsrc net)" ]
  [ "${lines[1]}" = 10.45.0.7 ]
  [ "${lines[2]}" = "${id:0:12}" ]
  [ "${lines[3]}" = "${id:0:12}" ]
  docker run -d --name njoin --network container:nsrc busybox sleep 300 >/dev/null
  [ "$(ns njoin uts)" != "$(ns nsrc uts)" ] # its own UTS namespace, with X's name in it
  [ "$(docker inspect --format '{{.HostConfig.NetworkMode}} {{.Config.Hostname}} {{.HostnamePath}}' njoin)" = \
    "container:$id ${id:0:12} $BT_DIR/root/containers/$id/hostname" ]
}

@test "--cgroupns host shows the host's cgroup paths, private its own root; inspect says which" {
  run docker run --name cgh --cgroupns host busybox cat /proc/self/cgroup
  [ "$status" -eq 0 ]
  local id
  id=$(docker inspect --format '{{.Id}}' cgh)
  [[ "$output" == *"/$CG_PARENT/$id"* ]]
  [ "$(docker inspect --format '{{.HostConfig.CgroupnsMode}}' cgh)" = host ]
  run docker run --name cgp --cgroupns private busybox cat /proc/self/cgroup
  [[ "$output" != *"$CG_PARENT"* ]]
  [ "$(docker inspect --format '{{.HostConfig.CgroupnsMode}}' cgp)" = private ]
  # unset: this host's default in force, shown as such (v2: private, v1: host)
  docker create --name cgd busybox true >/dev/null
  local want=host
  [ ! -f /sys/fs/cgroup/cgroup.controllers ] || want=private
  [ "$(docker inspect --format '{{.HostConfig.CgroupnsMode}}' cgd)" = "$want" ]
}

@test "--sysctl: IPC and network sysctls are the container's own, the host's stay as they were" {
  local fwd shmmax want_fwd=1
  fwd=$(cat /proc/sys/net/ipv4/ip_forward)
  shmmax=$(cat /proc/sys/kernel/shmmax)
  [ "$fwd" = 0 ] || want_fwd=0
  run docker run --rm --sysctl kernel.shmmax=123456 --sysctl "net.ipv4.ip_forward=$want_fwd" \
    --sysctl fs.mqueue.msg_max=17 busybox sh -c \
    'cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward /proc/sys/fs/mqueue/msg_max'
  [ "$status" -eq 0 ]
  [ "$output" = $'123456\n'"$want_fwd"$'\n17' ]
  [ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$fwd" ]
  [ "$(cat /proc/sys/kernel/shmmax)" = "$shmmax" ]
  [ "$shmmax" != 123456 ]
  # read-only afterwards, as Docker's /proc/sys
  run docker run --rm --sysctl kernel.shmmax=123456 busybox sh -c 'echo 5 >/proc/sys/kernel/shmmax'
  [ "$status" -ne 0 ]
}

@test "--sysctl refusals: a host namespace's, one no namespace confines (API), one the kernel lacks" {
  cli_refused 'sysctl "net.ipv4.ip_forward" not allowed in host network namespace' \
    --network host --sysctl net.ipv4.ip_forward=1
  cli_refused 'sysctl "kernel.shmmax" is not allowed in the hosts ipc namespace' \
    --ipc host --sysctl kernel.shmmax=1
  # the docker CLI refuses these itself; berthd too, with runc's words
  refused "$(body '{"Sysctls":{"kernel.core_pattern":"|/x"}}')" \
    'sysctl "kernel.core_pattern" is not in a separate kernel namespace'
  refused "$(body '{"Sysctls":{"vm.swappiness":"1"}}')" \
    'sysctl "vm.swappiness" is not in a separate kernel namespace'
  refused "$(body '{"Sysctls":{"kernel.hostname":"x"}}')" \
    'sysctl "kernel.hostname" is not allowed as it conflicts with the OCI "hostname" field'
  run docker run --name nosuch --sysctl net.ipv4.no_such_knob=1 busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"open sysctl net.ipv4.no_such_knob file: No such file or directory"* ]]
}

@test "namespace modes refused at create with dockerd's words, nothing created" {
  cli_refused 'invalid IPC mode: bogus' --ipc bogus
  refused "$(body '{"PidMode":"bogus"}')" 'invalid PID mode: bogus'
  refused "$(body '{"PidMode":"container:"}')" 'invalid PID mode: container:'
  refused "$(body '{"UTSMode":"private"}')" 'invalid UTS mode: private'
  cli_refused 'conflicting options: hostname and the UTS mode' --uts host -h named
  docker run -d --name nbase busybox sleep 300 >/dev/null
  local ids
  ids=$(docker ps -aq)
  no_containers() { [ "$(docker ps -aq)" = "$ids" ]; }
  cli_refused 'conflicting options: hostname and the network mode' --network container:nbase -h named
  cli_refused 'conflicting options: dns and the network mode' --network container:nbase --dns 1.1.1.1
  cli_refused 'conflicting options: custom host-to-IP mapping and the network mode' \
    --network container:nbase --add-host a:1.2.3.4
  cli_refused 'conflicting options: port exposing and the container type network mode' \
    --network container:nbase --expose 80
  refused "$(body '{"NetworkMode":"container:"}')" \
    'invalid network mode: invalid container format container:<name|id>'
  # a PID or IPC donor that does not exist: 404 at create, as dockerd
  [ "$(api_save POST /containers/create -H 'Content-Type: application/json' \
    -d "$(body '{"PidMode":"container:nobody"}')")" = 404 ]
  [ "$(jq -r .message "$BT_DIR/api.body")" = 'No such container: nobody' ]
  no_containers
}

@test "joining a container that does not run: refused at start with dockerd's words and status" {
  docker create --name stopped busybox sleep 300 >/dev/null
  local id
  id=$(docker inspect --format '{{.Id}}' stopped)
  docker create --name jnet --network container:stopped busybox true >/dev/null
  docker create --name jipc --ipc container:stopped busybox true >/dev/null
  docker create --name jpid --pid container:stopped busybox true >/dev/null
  [ "$(api_save POST /containers/jnet/start)" = 409 ]
  [ "$(jq -r .message "$BT_DIR/api.body")" = 'cannot join network namespace of a non running container: container stopped is created' ]
  [ "$(api_save POST /containers/jipc/start)" = 409 ]
  [ "$(jq -r .message "$BT_DIR/api.body")" = "failed to join IPC namespace: container $id is not running" ]
  [ "$(api_save POST /containers/jpid/start)" = 500 ]
  [ "$(jq -r .message "$BT_DIR/api.body")" = "failed to join PID namespace: container $id is not running" ]
  # as dockerd: each stays created with the error in its state; nothing of them runs
  [ "$(docker inspect --format '{{.State.Status}} {{.State.Error}}' jpid)" = \
    "created failed to join PID namespace: container $id is not running" ]
  [ "$(count_mounts)" -eq 0 ]
  # --rm: the refused container is removed
  run docker run --rm --name jrm --network container:stopped busybox true
  [ "$status" -ne 0 ]
  [[ "$output" == *"cannot join network namespace of a non running container: container stopped is created"* ]]
  wait_until 5 eval '[ -z "$(docker ps -aq --filter name=jrm)" ]'
  # a network mode naming no container at all is found missing at start (500), not at create
  docker create --name jmissing --network container:nobody busybox true >/dev/null
  [ "$(api_save POST /containers/jmissing/start)" = 500 ]
  [ "$(jq -r .message "$BT_DIR/api.body")" = 'joining network namespace of container: No such container: nobody' ]
  # once X runs, the same container starts
  docker start stopped >/dev/null
  docker start -a jpid
}

@test "daemon.json default-ipc-mode shareable: every container's /dev/shm is joinable" {
  ctr_teardown
  BT_CONFIG_EXTRA='"default-ipc-mode":"shareable","default-cgroupns-mode":"private"' ctr_setup
  docker run -d --name dsrc busybox sh -c 'echo shared >/dev/shm/n; sleep 300' >/dev/null
  [ "$(docker inspect --format '{{.HostConfig.IpcMode}} {{.HostConfig.CgroupnsMode}}' dsrc)" = "shareable private" ]
  wait_until 5 eval "docker run --rm --ipc container:dsrc busybox cat /dev/shm/n | grep -qx shared"
  run docker run --rm busybox cat /proc/self/cgroup
  [[ "$output" != *"$CG_PARENT"* ]]
  # a container's own mode wins
  docker create --name dpriv --ipc private busybox true >/dev/null
  [ "$(docker inspect --format '{{.HostConfig.IpcMode}}' dpriv)" = private ]
}

@test "daemon.json: a default-ipc-mode or default-cgroupns-mode dockerd refuses keeps berthd from starting" {
  ctr_teardown
  bt_prepare
  printf '{"default-ipc-mode":"host"}\n' >"$BT_DIR/daemon.json"
  run timeout 10 "$BERTHD" "${BT_FLAGS[@]}" 3>&-
  [ "$status" -eq 1 ]
  [[ "$output" == *'msg="failed to start daemon: IPC mode \"host\" is not supported as default value; use \"shareable\" or \"private\""'* ]]
  [ ! -e "$BT_SOCK" ]
  printf '{"default-cgroupns-mode":"bogus"}\n' >"$BT_DIR/daemon.json"
  run timeout 10 "$BERTHD" "${BT_FLAGS[@]}" 3>&-
  [ "$status" -eq 1 ]
  [[ "$output" == *'msg="failed to start daemon: invalid default cgroup namespace (bogus): use \"host\" or \"private\""'* ]]
}
