#!/usr/bin/env bats
# docker exec through the real docker CLI (and the API it speaks, raw and through docker-py):
# the process joins the container's namespaces, cgroup, capabilities, seccomp filter and
# no_new_privs; its user, directory and environment; a tty; -d; exit codes and dockerd's words
# for what fails; exec inspect; and it never outlives its container nor writes to its log.

bats_require_minimum_version 1.5.0

load helpers
load containers

setup_file() { ctr_setup_file; }
setup() { ctr_setup; }
teardown() { ctr_teardown; }

# exec_json ID: GET /exec/ID/json's body.
exec_json() { curl -s --unix-socket "$BT_SOCK" "http://berth/exec/$1/json"; }

# exec_create CTR JSON: the new exec's ID (POST /containers/CTR/exec with JSON).
exec_create() {
  curl -s --unix-socket "$BT_SOCK" -X POST -H 'Content-Type: application/json' -d "$2" \
    "http://berth/containers/$1/exec" | jq -r .Id
}

# host_pids PATTERN: the host's processes whose command line matches PATTERN (none: empty),
# in this test's containers' cgroups (other suites may run the same commands meanwhile).
host_pids() {
  local p
  for p in $(pgrep -f "$1"); do
    grep -q "/$CG_PARENT/" "/proc/$p/cgroup" 2>/dev/null && echo "$p"
  done
  return 0
}
host_has() { [ -n "$(host_pids "$1")" ]; }
host_lacks() { [ -z "$(host_pids "$1")" ]; }
# exec_ids_are CTR JSON: the container's ExecIDs, as JSON.
exec_ids_are() { [ "$(docker inspect -f '{{json .ExecIDs}}' "$1")" = "$2" ]; }
exec_done() { [ "$(exec_json "$1" | jq -r .Running)" = false ]; }

# raw_exec_start ID BODY [rawsock.py options]: POST /exec/ID/start upgraded as the docker CLI
# asks, with BODY, then stdin's bytes (the client's input), on one raw connection.
raw_exec_start() {
  local id=$1 body=$2
  shift 2
  {
    printf 'POST /exec/%s/start HTTP/1.1\r\nHost: berth\r\nConnection: Upgrade\r\n' "$id"
    printf 'Upgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
      "${#body}" "$body"
    cat
  } | raw_request "$@"
}

@test "exec runs with the container's CapEff, NoNewPrivs and Seccomp (its pid 1's)" {
  docker run -d --name ct --cap-drop all --security-opt no-new-privileges busybox sleep 1000
  run docker exec ct grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/1/status
  [ "$status" -eq 0 ]
  init=$output
  run docker exec ct grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status
  [ "$output" = "$init" ]
  [[ "$output" == *$'CapEff:\t0000000000000000'* ]]
  [[ "$output" == *$'NoNewPrivs:\t1'* ]]
  [[ "$output" == *$'Seccomp:\t2'* ]]
  # A container with Docker's defaults: the same sets as its pid 1 too, filter and all.
  docker run -d --name dd busybox sleep 1000
  [ "$(docker exec dd grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/1/status)" = \
    "$(docker exec dd grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status)" ]
}

@test "exec joins the container's PID, UTS, IPC, network and mount namespaces and its cgroup" {
  docker run -d --name ct --hostname box busybox sleep 1000
  run docker exec ct ps -o pid,comm
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 3 ] # the header, pid 1 and ps itself: the container's PID namespace
  [[ "${lines[1]}" =~ ^\ +1\ sleep$ ]]
  [[ "${lines[2]}" == *ps ]]
  [ "$(docker exec ct hostname)" = box ]
  pid=$(ctr_pid ct)
  for ns in ipc net mnt uts pid; do
    docker exec -d ct sleep 1001
    # the exec's process, seen from the host, is in the same namespaces as the container's
    wait_until 5 host_has 'sleep 1001'
    epid=$(host_pids 'sleep 1001')
    [ "$(readlink "/proc/$epid/ns/$ns")" = "$(readlink "/proc/$pid/ns/$ns")" ]
    kill "$epid"
    wait_until 5 host_lacks 'sleep 1001'
  done
  # its root is the container's: a file made by one is seen by the other
  docker exec ct sh -c 'echo made-in-exec >/tmp/f'
  [ "$(cat "/proc/$pid/root/tmp/f")" = made-in-exec ]
  # and its cgroup: the exec's pid is in the container's cgroup, as its pid 1 is
  docker exec -d ct sleep 1002
  wait_until 5 host_has 'sleep 1002'
  epid=$(host_pids 'sleep 1002')
  id=$(docker inspect -f '{{.Id}}' ct)
  cg_read ct pids cgroup.procs | grep -qx "$epid"
  cg_read ct memory cgroup.procs | grep -qx "$pid"
  cg_read ct memory cgroup.procs | grep -qx "$epid"
  [ "$(docker exec ct cat /proc/self/cgroup)" = "$(docker exec ct cat /proc/1/cgroup)" ]
}

@test "exec -it is an interactive shell on a pty: its size, resize, detach keys, exit status" {
  docker run -d --name ct busybox sleep 1000
  run pty_run --rows 33 --cols 101 -- "$DOCKER_BIN" exec -it ct sh <<'EOF'
expect / # 
send stty size; echo $((6*7))$TERM\r
expect \r\n33 101\r\n
expect 42xterm\r\n
resize 45 132
sleep 0.3
send stty size\r
expect \r\n45 132\r\n
send exit 3\r
eof
EOF
  [ "$status" -eq 3 ]
  # ctrl-p ctrl-q leaves the exec's shell running, and the docker CLI says so
  run pty_run -- "$DOCKER_BIN" exec -it ct sh -c 'echo ready; exec sleep 1003'  <<'EOF'
expect ready
send \x10\x11
eof
EOF
  [ "$status" -eq 1 ]
  [[ "$output" == *"read escape sequence"* ]]
  [ -n "$(host_pids 'sleep 1003')" ]
  [ -n "$(docker inspect -f '{{json .ExecIDs}}' ct | jq -r '.[0] // empty')" ]
}

@test "exec -d detaches at once; the process runs until it ends, listed in ExecIDs meanwhile" {
  docker run -d --name ct busybox sleep 1000
  [ "$(docker inspect -f '{{json .ExecIDs}}' ct)" = null ]
  run docker exec -d ct sh -c 'sleep 2; touch /tmp/done'
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  run docker exec ct test -e /tmp/done
  [ "$status" -eq 1 ] # it answered before the command ended
  [ "$(docker inspect -f '{{len .ExecIDs}}' ct)" = 1 ]
  wait_until 10 docker exec ct test -e /tmp/done
  wait_until 5 exec_ids_are ct null
}

@test "exec -u, -w, -e and --env-file; the container's User, WorkingDir and Env are the defaults" {
  docker run -d --name ct -u nobody -w /tmp -e A=from-ctr -e B=b busybox sleep 1000
  [ "$(docker exec ct id)" = "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)" ]
  [ "$(docker exec ct pwd)" = /tmp ]
  [ "$(docker exec -u root ct id -u)" = 0 ]
  [ "$(docker exec -u 1000:1 ct id)" = "uid=1000 gid=1(daemon) groups=1(daemon)" ]
  [ "$(docker exec -u daemon ct sh -c 'id -un; echo $HOME')" = $'daemon\n/usr/sbin' ]
  [ "$(docker exec -w /etc ct pwd)" = /etc ]
  printf 'C=from-file\nB=file-b\n' >"$BT_DIR/env"
  run docker exec -e A=from-exec --env-file "$BT_DIR/env" ct env
  [[ "$output" == *$'\nA=from-exec\n'* ]]
  [[ "$output" == *$'\nB=file-b\n'* ]]
  [[ "$output" == *$'\nC=from-file'* ]]
  [[ "$output" == *'HOME=/nonexistent'* ]]
  [[ "$output" == *"HOSTNAME=$(docker inspect -f '{{.Config.Hostname}}' ct)"* ]]
  [[ "$output" == *'PATH=/usr/local/sbin:'* ]]
  [[ "$output" != *TERM=* ]]
  [ "$(docker exec -t ct env | grep TERM)" = $'TERM=xterm\r' ]
  # dockerd's words for an unknown user, before anything is made
  run --separate-stderr docker exec -u nosuch ct id
  [ "$status" -eq 1 ]
  [ "$stderr" = "Error response from daemon: unable to find user nosuch: no matching entries in passwd file" ]
  [ "$(docker inspect -f '{{json .ExecIDs}}' ct)" = null ]
}

@test "exec --privileged: every capability the engine holds, the container's seccomp filter kept" {
  docker run -d --name ct --security-opt no-new-privileges busybox sleep 1000
  own=$(awk '/^CapEff/ {print $2}' /proc/$BT_PID/status) # berthd's: all it can give
  [ "$(docker exec --privileged ct awk '/^CapEff/ {print $2}' /proc/self/status)" = "$own" ]
  [ "$(docker exec --privileged ct awk '/^CapBnd/ {print $2}' /proc/self/status)" = "$own" ]
  [ "$(docker exec ct awk '/^CapEff/ {print $2}' /proc/self/status)" = 00000000a80425fb ]
  # as runc applies it to every process of the container: the filter stays, so does NNP
  [ "$(docker exec --privileged ct awk '/^Seccomp:/ {print $2}' /proc/self/status)" = 2 ]
  [ "$(docker exec --privileged ct awk '/^NoNewPrivs/ {print $2}' /proc/self/status)" = 1 ]
  # a capability the container lacks (and its filter does not gate) works in the privileged
  # exec only: CAP_SYS_NICE, to raise a priority
  run docker exec ct renice -n -5 -p 1
  [ "$status" -eq 1 ]
  [ "$output" = "renice: setpriority: Permission denied" ]
  run docker exec --privileged ct renice -n -5 -p 1
  [ "$status" -eq 0 ]
}

@test "exec's exit status is the process's: 126 and 127 with dockerd's words when it cannot run" {
  docker run -d --name ct busybox sleep 1000
  run docker exec ct sh -c 'exit 3'
  [ "$status" -eq 3 ]
  run docker exec ct true
  [ "$status" -eq 0 ]
  run -127 docker exec ct nosuch
  [ "$status" -eq 127 ]
  [ "${output%$'\r'}" = 'OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuch": executable file not found in $PATH: unknown' ]
  run -127 docker exec ct /nosuch
  [ "$status" -eq 127 ]
  [ "${output%$'\r'}" = 'OCI runtime exec failed: exec failed: unable to start container process: exec: "/nosuch": stat /nosuch: no such file or directory: unknown' ]
  run docker exec ct /etc/passwd
  [ "$status" -eq 126 ]
  [ "${output%$'\r'}" = 'OCI runtime exec failed: exec failed: unable to start container process: exec: "/etc/passwd": permission denied: unknown' ]
  run -127 docker exec -w /nope ct pwd
  [ "$status" -eq 127 ]
  [ "${output%$'\r'}" = 'OCI runtime exec failed: exec failed: unable to start container process: chdir to cwd ("/nope") set in config.json failed: no such file or directory: unknown' ]
  # a killed process: 128 + the signal
  run docker exec ct sh -c 'kill -9 $$'
  [ "$status" -eq 137 ]
  # detached, the failure is the start's answer
  run docker exec -d ct nosuch
  [ "$status" -ne 0 ]
  [[ "$output" == *'exec: "nosuch": executable file not found in $PATH'* ]]
}

@test "exec into a stopped or paused container: dockerd's 409 and words" {
  docker create --name stopped busybox sleep 1000
  id=$(docker inspect -f '{{.Id}}' stopped)
  run --separate-stderr docker exec stopped true
  [ "$status" -eq 1 ]
  [ "$stderr" = "Error response from daemon: container $id is not running" ]
  [ "$(api_save POST /containers/stopped/exec -H 'Content-Type: application/json' \
    -d '{"Cmd":["true"]}')" = 409 ]
  body_is "{\"message\":\"container $id is not running\"}"
  docker run -d --name pp busybox sleep 1000
  pid=$(docker inspect -f '{{.Id}}' pp)
  ex=$(exec_create pp '{"Cmd":["true"]}')
  docker pause pp
  run --separate-stderr docker exec pp true
  [ "$status" -eq 1 ]
  [ "$stderr" = "Error response from daemon: Container pp is paused, unpause the container before exec" ]
  # an exec made before the pause cannot start while it lasts
  [ "$(api_save POST "/exec/$ex/start" -H 'Content-Type: application/json' \
    -d '{"Detach":true}')" = 409 ]
  body_is "{\"message\":\"Container $pid is paused, unpause the container before exec\"}"
  docker unpause pp
  [ "$(api_save POST "/exec/$ex/start" -H 'Content-Type: application/json' \
    -d '{"Detach":true}')" = 200 ]
  # a stopped container forgets the execs it had, as dockerd's cleanup does
  ex2=$(exec_create pp '{"Cmd":["true"]}')
  docker stop -t 0 pp
  [ "$(api_save GET "/exec/$ex2/json")" = 404 ]
  body_is "{\"message\":\"No such exec instance: $ex2\"}"
}

@test "exec inspect: dockerd's fields before, during and after the run; a second start is 409" {
  docker run -d --name ct busybox sleep 1000
  cid=$(docker inspect -f '{{.Id}}' ct)
  ex=$(exec_create ct '{"Cmd":["sh","-c","sleep 3; exit 2"],"AttachStdout":true,"User":"daemon","Tty":true,"DetachKeys":"ctrl-a,b"}')
  [ ${#ex} -eq 64 ]
  run exec_json "$ex"
  [ "$(jq -c . <<<"$output")" = "{\"ID\":\"$ex\",\"Running\":false,\"ExitCode\":null,\"ProcessConfig\":{\"tty\":true,\"entrypoint\":\"sh\",\"arguments\":[\"-c\",\"sleep 3; exit 2\"],\"privileged\":false,\"user\":\"daemon\"},\"OpenStdin\":false,\"OpenStderr\":false,\"OpenStdout\":true,\"CanRemove\":false,\"ContainerID\":\"$cid\",\"DetachKeys\":\"AWI=\",\"Pid\":0}" ]
  [ "$(docker inspect -f '{{json .ExecIDs}}' ct)" = "[\"$ex\"]" ]
  [ "$(api_save POST "/exec/$ex/start" -H 'Content-Type: application/json' \
    -d '{"Detach":true}')" = 200 ]
  run exec_json "$ex"
  [ "$(jq -r .Running <<<"$output")" = true ]
  pid=$(jq -r .Pid <<<"$output")
  [ "$pid" -gt 1 ]
  [ "$(awk '/^Uid/ {print $2}' "/proc/$pid/status")" = 1 ] # the host's view of the exec
  [ "$(api_save POST "/exec/$ex/start" -H 'Content-Type: application/json' \
    -d '{"Detach":true}')" = 409 ]
  body_is "{\"message\":\"exec command $ex is already running\"}"
  wait_until 15 exec_done "$ex"
  run exec_json "$ex"
  [ "$(jq -c '[.ExitCode, .Pid, .Running]' <<<"$output")" = "[2,$pid,false]" ]
  [ "$(docker inspect -f '{{json .ExecIDs}}' ct)" = null ]
  [ "$(api_save POST "/exec/$ex/start" -H 'Content-Type: application/json' \
    -d '{"Detach":true}')" = 409 ]
  body_is "{\"message\":\"exec command $ex has already run\"}"
  # resize: dockerd's checks of h and w; unknown IDs; a create without a command
  [ "$(api_save POST "/exec/$ex/resize?h=x&w=1")" = 400 ]
  body_is '{"message":"invalid resize height \"x\": invalid syntax"}'
  [ "$(api_save POST "/exec/$ex/resize?h=1&w=-1")" = 400 ]
  body_is '{"message":"invalid resize width \"-1\": value out of range"}'
  [ "$(api_save POST "/exec/$ex/resize?h=10&w=20")" = 200 ]
  [ "$(api_save GET /exec/nosuch/json)" = 404 ]
  body_is '{"message":"No such exec instance: nosuch"}'
  [ "$(api_save POST /exec/nosuch/start -H 'Content-Type: application/json' -d '{}')" = 404 ]
  [ "$(api_save POST /containers/ct/exec -H 'Content-Type: application/json' -d '{"Cmd":[]}')" = 400 ]
  body_is '{"message":"No exec command specified"}'
  [ "$(api_save POST /containers/nosuch/exec -H 'Content-Type: application/json' \
    -d '{"Cmd":["true"]}')" = 404 ]
  body_is '{"message":"No such container: nosuch"}'
  # removed with its container
  docker rm -f ct
  [ "$(api_save GET "/exec/$ex/json")" = 404 ]
}

@test "exec's output goes to its client only, never into the container's log" {
  docker run -d --name ct busybox sh -c 'echo from-init; exec sleep 1000'
  wait_until 5 log_has ct from-init
  run --separate-stderr docker exec ct sh -c 'echo to-out; echo to-err >&2'
  [ "$output" = to-out ]
  [ "$stderr" = to-err ]
  run docker exec -t ct sh -c 'echo with-tty'
  [ "$output" = $'with-tty\r' ]
  run docker logs ct
  [ "$output" = from-init ]
}

@test "stdin reaches an exec -i, and its end closes the process's stdin" {
  docker run -d --name ct busybox sleep 1000
  run bash -c 'echo hi | "$0" exec -i ct cat' "$DOCKER_BIN"
  [ "$output" = hi ]
  run bash -c 'seq 1 20000 | "$0" exec -i ct wc -l' "$DOCKER_BIN"
  [ "$output" = 20000 ]
  # without -i, stdin is /dev/null: cat ends at once
  run bash -c 'echo hi | "$0" exec ct cat' "$DOCKER_BIN"
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

@test "the exec's process never outlives its container (its PID namespace, or with --pid host its cgroup)" {
  docker run -d --name ct busybox sleep 1000
  docker exec -d ct sleep 1004
  wait_until 5 host_has 'sleep 1004'
  docker stop -t 1 ct
  [ -z "$(host_pids 'sleep 1004')" ]
  docker run -d --name hh --pid host busybox sleep 1000
  docker exec -d hh sleep 1005
  wait_until 5 host_has 'sleep 1005'
  docker stop -t 1 hh
  [ -z "$(host_pids 'sleep 1005')" ]
  [ "$(count_zombies)" = 0 ]
  # nothing of them is left in the engine either: the containers start and exec again
  docker start hh
  [ "$(docker exec hh echo again)" = again ]
}

@test "the Exec API: docker-py's exec_run and its create/start/inspect, and the raw hijack" {
  docker run -d --name ct busybox sleep 1000
  run "$HOSTPY" -c "
import docker
c = docker.DockerClient(base_url='unix://$BT_SOCK').containers.get('ct')
r = c.exec_run(['sh', '-c', 'echo py-out; echo py-err >&2; exit 4'], demux=True)
print(r.exit_code, r.output[0].decode().strip(), r.output[1].decode().strip())
r = c.exec_run('id -u', user='daemon', workdir='/etc', environment={'K': 'v'})
print(r.exit_code, r.output.decode().strip())
api = c.client.api
e = api.exec_create('ct', ['sh', '-c', 'exit 6'])
api.exec_start(e['Id'], detach=True)
import time
while api.exec_inspect(e['Id'])['Running']:
    time.sleep(0.05)
print(api.exec_inspect(e['Id'])['ExitCode'])"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "4 py-out py-err" ]
  [ "${lines[1]}" = "0 1" ]
  [ "${lines[2]}" = "6" ]
  # The hijack as the docker CLI asks for it: 101, then stdcopy frames (1 stdout, 2 stderr).
  ex=$(exec_create ct '{"Cmd":["sh","-c","echo o; echo e >&2"],"AttachStdout":true,"AttachStderr":true}')
  raw_exec_start "$ex" '{"Detach":false}' --wait 5 --status </dev/null >"$BT_DIR/out"
  run bash -c 'od -An -c "$1" | tr -s " \n" " "' _ "$BT_DIR/out"
  [[ "$output" == *"H T T P / 1 . 1 1 0 1 U P G R A D E D"* ]]
  [[ "$output" == *"a p p l i c a t i o n / v n d . d o c k e r . m u l t i p l e x e d - s t r e a m"* ]]
  [[ "$output" == *'001 \0 \0 \0 \0 \0 \0 002 o \n'* ]]
  [[ "$output" == *'002 \0 \0 \0 \0 \0 \0 002 e \n'* ]]
  [[ "$output" == *"[ c l o s e d"* ]]
  # berthd's own detach on a tty exec: the keys end the stream, the process runs on; what came
  # before them reached it, what came after did not
  ex=$(exec_create ct '{"Cmd":["sh","-c","cat >/tmp/got"],"Tty":true,"AttachStdin":true,"AttachStdout":true,"DetachKeys":"ctrl-x,x"}')
  printf 'typed\n\x18xlost\n' >"$BT_DIR/in"
  run raw_exec_start "$ex" '{"Detach":false,"Tty":true}' --wait 5 --status <"$BT_DIR/in"
  [[ "$output" == *"application/vnd.docker.raw-stream"* ]]
  [[ "$output" == *"[closed after"* ]]
  wait_until 5 docker exec ct grep -q typed /tmp/got
  sleep 0.5
  [ "$(docker exec ct cat /tmp/got)" = typed ]
  [ "$(exec_json "$ex" | jq -r .Running)" = true ]
}
