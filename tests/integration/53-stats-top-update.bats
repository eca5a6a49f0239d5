#!/usr/bin/env bats
# docker top, stats and update (issue 12 §5) through the docker CLI, with their effects checked
# on the host: top lists the container's processes (and only them) with ps's arguments; stats'
# CPU % of a busy loop is one core's, MEM % is the usage against the --memory limit, a stream
# yields a sample a second, each with the one before as its precpu; the JSON has dockerd's
# shape (raw API); update writes the new limits into the container's cgroup while it runs,
# keeps them in its HostConfig (inspect, a restart of berthd, the next start of a stopped
# container) and refuses, naming it, a field it cannot change.

bats_require_minimum_version 1.5.0

load helpers
load containers

setup_file() { ctr_setup_file; }
setup() { ctr_setup; }
teardown() { ctr_teardown; }

# js FILTER: jq -r on the last api_save body.
js() { jq -r "$1" "$BT_DIR/api.body"; }

# A busy loop, one core's worth, with a memory limit.
busy() { docker run -d --name busy --memory 64m busybox sh -c 'while :; do :; done' >/dev/null; }

# stream_lines CTR SECS: the lines of a stats stream read for SECS seconds (raw API).
stream_lines() {
  "$HOSTPY" - "$BT_SOCK" "$1" "$2" <<'EOF'
import socket, sys, time
sock, ctr, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
s.sendall(f"GET /containers/{ctr}/stats HTTP/1.1\r\nHost: berth\r\n\r\n".encode())
s.settimeout(0.2)
data, end = b"", time.time() + secs
while time.time() < end:
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        continue
    if not chunk:
        break
    data += chunk
head, _, body = data.partition(b"\r\n\r\n")
out = b""
while body:  # chunked transfer encoding
    size, _, rest = body.partition(b"\r\n")
    n = int(size, 16)
    if n == 0 or len(rest) < n:
        break
    out, body = out + rest[:n], rest[n + 2:]
sys.stdout.write(out.decode())
EOF
}

# ---- top ----

@test "docker top: the container's processes with ps's columns, and only them" {
  docker run -d --name tp busybox sh -c 'sleep 1001 & sleep 1002 & wait' >/dev/null
  wait_until 5 sh -c "docker top tp | grep -q 'sleep 1002'"
  run docker top tp
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "UID"*"PID"*"PPID"*"CMD" ]]
  [ "${#lines[@]}" -eq 4 ] # sh and its two sleeps, nothing of the host
  pid=$(ctr_pid tp)
  [[ "$output" == *" $pid "* ]]
  [[ "$output" == *"sleep 1001"* ]]
  [[ "$output" == *"sleep 1002"* ]]
  for p in $(docker top tp -o pid | tail -n +2); do # each one in the container's cgroup
    grep -q "$(docker inspect -f '{{.Id}}' tp)" "/proc/$p/cgroup"
  done
  # ps's own arguments
  run docker top tp -o pid,comm
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "PID"*"COMMAND" ]]
  [ "${#lines[@]}" -eq 4 ]
  [[ "${lines[1]}" == "$pid"*"sh" ]]
  [ "$(printf '%s\n' "${lines[@]:1}" | awk '{print $2}' | sort | tr '\n' ' ')" = "sh sleep sleep " ]
  # the API's shape: Titles, then one array of strings per process
  [ "$(api_save GET '/containers/tp/top?ps_args=-o%20pid,args')" = 200 ]
  [ "$(js '.Titles | join(",")')" = PID,COMMAND ]
  [ "$(js '.Processes | length')" = 3 ]
  [ "$(js ".Processes[] | select(.[0] == \"$pid\") | .[1]")" = "sh -c sleep 1001 & sleep 1002 & wait" ]
}

@test "docker top: dockerd's refusals (stopped, unknown, a key other than pid)" {
  docker create --name stopped busybox true >/dev/null
  id=$(docker inspect -f '{{.Id}}' stopped)
  run docker top stopped
  [ "$status" -ne 0 ]
  [[ "$output" == *"Error response from daemon: container $id is not running"* ]]
  [ "$(api_save GET /containers/stopped/top)" = 409 ]
  [ "$(api_save GET /containers/nope/top)" = 404 ]
  [ "$(js .message)" = "No such container: nope" ]
  docker run -d --name tp busybox sleep 1000 >/dev/null
  [ "$(api_save GET '/containers/tp/top?ps_args=-o%20user=%20PID')" = 500 ]
  [ "$(js .message)" = 'specifying "user=PID" is not allowed' ]
  [ "$(api_save GET '/containers/tp/top?ps_args=--no-such-option')" = 500 ]
  [[ "$(js .message)" == "ps: "* ]]
}

# ---- stats ----

@test "docker stats --no-stream: a busy loop is one core (50-110 %), MEM % against --memory" {
  busy
  # 16 MiB in the container's /dev/shm: memory the cgroup is charged for (shmem, not file cache)
  docker run -d --name mem --memory 64m busybox sh -c \
    'dd if=/dev/zero of=/dev/shm/x bs=1M count=16 2>/dev/null; sleep 1000' >/dev/null
  sleep 2
  run docker stats --no-stream --format '{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.MemPerc}} {{.PIDs}}' busy mem
  [ "$status" -eq 0 ]
  echo "$output"
  read -r name cpu usage _ limit memp pids <<<"$(printf '%s\n' "${lines[@]}" | grep '^busy ')"
  cpu=${cpu%\%}
  awk -v c="$cpu" 'BEGIN { exit !(c >= 50 && c <= 110) }'
  [ "$limit" = 64MiB ]
  [ "$pids" = 1 ]
  read -r name cpu usage _ limit memp pids <<<"$(printf '%s\n' "${lines[@]}" | grep '^mem ')"
  [ "$limit" = 64MiB ]
  memp=${memp%\%}
  awk -v m="$memp" 'BEGIN { exit !(m >= 24 && m <= 40) }' # 16 MiB of 64, and a little more
  cpu=${cpu%\%}
  awk -v c="$cpu" 'BEGIN { exit !(c < 20) }'
  # --format '{{json .}}': the CLI's row as JSON
  run docker stats --no-stream --format '{{json .}}' busy
  [ "$status" -eq 0 ]
  [ "$(jq -r .Name <<<"$output")" = busy ]
  [ "$(jq -r .PIDs <<<"$output")" = 1 ]
  [[ "$(jq -r .MemUsage <<<"$output")" == *" / 64MiB" ]]
  [[ "$(jq -r .CPUPerc <<<"$output")" == *% ]]
}

@test "stats stream: a sample a second, each with the one before as its precpu" {
  busy
  stream_lines busy 3.6 >"$BT_DIR/stream"
  n=$(wc -l <"$BT_DIR/stream")
  [ "$n" -ge 3 ] && [ "$n" -le 5 ]
  # the first has no earlier sample; each later one's preread and precpu are the one before's
  [ "$(head -1 "$BT_DIR/stream" | jq -r .preread)" = 0001-01-01T00:00:00Z ]
  jq -s -e '[range(1; length) as $i | .[$i].preread == .[$i - 1].read
              and .[$i].precpu_stats == .[$i - 1].cpu_stats] | all' "$BT_DIR/stream"
  # one core busy: the CLI's sum over one second
  jq -s -e '.[2] | ((.cpu_stats.cpu_usage.total_usage - .precpu_stats.cpu_usage.total_usage)
            / (.cpu_stats.system_cpu_usage - .precpu_stats.system_cpu_usage)
            * .cpu_stats.online_cpus * 100) as $p | $p >= 50 and $p <= 110' "$BT_DIR/stream"
  # the CLI's stream too
  # (SIGKILL: the CLI 28 stream ends only on its third SIGTERM, whatever the engine)
  run timeout -s KILL 3.5 docker stats --format '{{.Name}} {{.CPUPerc}}' busy
  [ "$(printf '%s\n' "${lines[@]}" | grep -c 'busy ')" -ge 2 ]
}

@test "stats JSON: dockerd's shape from the raw API (stream=false, one-shot, stopped, refused)" {
  busy
  sleep 1
  [ "$(api_save GET '/containers/busy/stats?stream=false')" = 200 ]
  header_is Content-Type application/json
  [ "$(js .name)" = /busy ]
  [ "$(js .id)" = "$(docker inspect -f '{{.Id}}' busy)" ]
  [ "$(js .preread)" != 0001-01-01T00:00:00Z ]
  [ "$(js '.read > .preread')" = true ]
  [ "$(js '.precpu_stats.cpu_usage.total_usage > 0')" = true ]
  [ "$(js '.cpu_stats.cpu_usage.total_usage > .precpu_stats.cpu_usage.total_usage')" = true ]
  [ "$(js '.cpu_stats.system_cpu_usage > .precpu_stats.system_cpu_usage')" = true ]
  [ "$(js .cpu_stats.online_cpus)" = "$(nproc)" ]
  [ "$(js '.cpu_stats.throttling_data | keys | join(",")')" = periods,throttled_periods,throttled_time ]
  [ "$(js '.cpu_stats.cpu_usage | has("usage_in_kernelmode") and has("usage_in_usermode")')" = true ]
  [ "$(js .memory_stats.limit)" = 67108864 ]
  [ "$(js '.memory_stats.usage > 0')" = true ]
  [ "$(js .num_procs)" = 0 ]
  [ "$(js .pids_stats.current)" = 1 ]
  [ "$(js '.blkio_stats | keys | length')" = 8 ]
  [ "$(js 'has("networks")')" = false ] # no interface of its own (network none)
  [ "$(js 'has("storage_stats")')" = true ]
  if [ -d "$CG_ROOT/cpuacct" ]; then # v1: dockerd's keys from memory.stat, and max_usage
    [ "$(js '.memory_stats.stats | has("total_inactive_file") and has("cache") and has("rss")')" = true ]
    [ "$(js '.memory_stats.max_usage > 0')" = true ]
    [ "$(js '.memory_stats.stats.hierarchical_memory_limit')" = 67108864 ]
    [ "$(js '.cpu_stats.cpu_usage.percpu_usage | length')" -ge "$(nproc)" ]
  else
    [ "$(js '.memory_stats.stats | has("inactive_file") and has("anon") and has("file")')" = true ]
  fi
  # the CPU counter is the cgroup's own
  id=$(docker inspect -f '{{.Id}}' busy)
  if [ -d "$CG_ROOT/cpuacct" ]; then
    now=$(cat "$CG_ROOT/cpuacct/$CG_PARENT/$id/cpuacct.usage")
    [ "$(js ".cpu_stats.cpu_usage.total_usage <= $now")" = true ]
  fi
  # one-shot: one sample, no earlier one
  [ "$(api_save GET '/containers/busy/stats?stream=false&one-shot=true')" = 200 ]
  [ "$(js .preread)" = 0001-01-01T00:00:00Z ]
  [ "$(js .precpu_stats.cpu_usage.total_usage)" = 0 ]
  [ "$(js '.cpu_stats.cpu_usage.total_usage > 0')" = true ]
  [ "$(api_save GET '/containers/busy/stats?stream=true&one-shot=true')" = 400 ]
  [ "$(js .message)" = "cannot have stream=true and one-shot=true" ]
  [ "$(api_save GET '/containers/nope/stats?stream=false')" = 404 ]
  # a container that does not run: dockerd's empty sample (name and ID, zeros)
  docker create --name stopped busybox true >/dev/null
  [ "$(api_save GET '/containers/stopped/stats?stream=false')" = 200 ]
  [ "$(js .name)" = /stopped ]
  [ "$(js .read)" = 0001-01-01T00:00:00Z ]
  [ "$(js .memory_stats)" = "{}" ]
  [ "$(js .cpu_stats.cpu_usage.total_usage)" = 0 ]
  [ "$(js .blkio_stats.io_service_bytes_recursive)" = null ]
  run docker stats --no-stream stopped
  [ "$status" -eq 0 ]
  [[ "${lines[1]}" == *"stopped"*"0.00%"*"0B / 0B"* ]]
}

@test "stats stream: a stopped container streams empty samples; its removal ends the stream" {
  docker run -d --name short busybox sleep 1000 >/dev/null
  "$HOSTPY" - "$BT_SOCK" <<'EOF' >"$BT_DIR/stream" &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"GET /containers/short/stats HTTP/1.1\r\nHost: berth\r\n\r\n")
s.settimeout(30)
data = b""
while not data.endswith(b"\r\n0\r\n\r\n"):  # the stream's last chunk (kept alive after)
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
sys.stdout.write("ENDED\n" if data.endswith(b"\r\n0\r\n\r\n") else "CUT\n")
sys.stdout.write(data.decode(errors="replace"))
EOF
  reader=$!
  sleep 1.5
  docker stop -t 0 short >/dev/null
  sleep 2
  kill -0 "$reader" # still streaming: dockerd sends empty samples until the container goes
  docker rm short >/dev/null
  wait_until 5 sh -c "! kill -0 $reader 2>/dev/null"
  wait "$reader"
  [ "$(head -1 "$BT_DIR/stream")" = ENDED ]
  grep -q '"read":"0001-01-01T00:00:00Z"' "$BT_DIR/stream"
  grep -q '"pids_stats":{"current":1' "$BT_DIR/stream"
}

# ---- update ----

# cg CTR CONTROLLER FILE: the container's cgroup file (cg_read), one line.
cg() { cg_read "$@" | head -1; }
v1() { [ ! -f "$CG_ROOT/cgroup.controllers" ]; }

@test "docker update: new limits in the running container's cgroup and in inspect, across a berthd restart" {
  docker run -d --name up --memory 64m --cpus 0.5 --pids-limit 50 busybox sleep 1000 >/dev/null
  run docker update --memory 100m --memory-swap 200m --memory-reservation 32m --cpus 1.5 \
    --cpu-shares 512 --cpuset-cpus 0 --pids-limit 77 up
  [ "$status" -eq 0 ]
  [ "$output" = up ]
  if v1; then
    [ "$(cg up memory memory.limit_in_bytes)" = 104857600 ]
    [ ! -f "$CG_ROOT/memory/$CG_PARENT/$(docker inspect -f '{{.Id}}' up)/memory.memsw.limit_in_bytes" ] ||
      [ "$(cg up memory memory.memsw.limit_in_bytes)" = 209715200 ]
    [ "$(cg up memory memory.soft_limit_in_bytes)" = 33554432 ]
    [ "$(cg up cpu cpu.cfs_quota_us)" = 150000 ]
    [ "$(cg up cpu cpu.cfs_period_us)" = 100000 ]
    [ "$(cg up cpu cpu.shares)" = 512 ]
    [ "$(cg up cpuset cpuset.cpus)" = 0 ]
  else
    [ "$(cg up memory memory.max)" = 104857600 ]
    [ "$(cg up cpu cpu.max)" = "150000 100000" ]
  fi
  [ "$(cg up pids pids.max)" = 77 ]
  fmt='{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.MemoryReservation}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.CpusetCpus}} {{.HostConfig.PidsLimit}}'
  want="104857600 209715200 33554432 1500000000 512 0 77"
  [ "$(docker inspect -f "$fmt" up)" = "$want" ]
  # the stats' view of it
  [ "$(api_save GET '/containers/up/stats?stream=false&one-shot=true')" = 200 ]
  [ "$(js .memory_stats.limit)" = 104857600 ]
  [ "$(js .pids_stats.limit)" = 77 ]
  # unlimited pids, and a quota lifted: -1 on the host
  docker update --pids-limit -1 up >/dev/null
  [ "$(cg up pids pids.max)" = max ]
  [ "$(docker inspect -f '{{.HostConfig.PidsLimit}}' up)" = 0 ]
  # berthd stops its containers as it stops (dockerd without live-restore): the kept values
  # are those of the next start
  docker stop -t 0 up >/dev/null
  restart_berthd
  [ "$(docker inspect -f "$fmt" up)" = "104857600 209715200 33554432 1500000000 512 0 0" ]
  docker start up >/dev/null
  [ "$(cg up pids pids.max)" = max ]
  if v1; then
    [ "$(cg up memory memory.limit_in_bytes)" = 104857600 ]
    [ "$(cg up cpu cpu.cfs_quota_us)" = 150000 ]
    [ "$(cg up cpu cpu.shares)" = 512 ]
  fi
  # and it still takes updates after the restart
  docker update --pids-limit 12 up >/dev/null
  [ "$(cg up pids pids.max)" = 12 ]
}

@test "docker update of a stopped container: kept for its next start" {
  docker run -d --name up --memory 64m busybox sleep 1000 >/dev/null
  docker stop -t 0 up >/dev/null
  docker update --memory 96m --memory-swap 192m --pids-limit 9 --cpu-quota 30000 up >/dev/null
  [ "$(docker inspect -f '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.CpuQuota}}' up)" = \
    "100663296 9 30000" ]
  docker start up >/dev/null
  [ "$(cg up pids pids.max)" = 9 ]
  if v1; then
    [ "$(cg up memory memory.limit_in_bytes)" = 100663296 ]
    [ "$(cg up cpu cpu.cfs_quota_us)" = 30000 ]
  else
    [ "$(cg up memory memory.max)" = 100663296 ]
  fi
}

@test "docker update --restart: \"no\" is kept; the policies berth cannot run yet are refused" {
  docker run -d --name up busybox sleep 1000 >/dev/null
  run docker update --restart no up
  [ "$status" -eq 0 ]
  [ "$(docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' up)" = no ]
  [ "$(api_save POST /containers/up/update -H 'Content-Type: application/json' \
    -d '{"RestartPolicy":{"Name":"no","MaximumRetryCount":0}}')" = 200 ]
  for p in always unless-stopped on-failure:3; do
    run docker update --restart "$p" up
    [ "$status" -ne 0 ]
    [[ "$output" == *"Error response from daemon: HostConfig.RestartPolicy.Name (--restart ${p%:*}) is not supported yet"* ]]
  done
  run docker update --restart sometimes up
  [[ "$output" == *"invalid restart policy"* ]] # the CLI's own check, or dockerd's
  [ "$(docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' up)" = no ]
}

@test "docker update: fields it cannot change are refused by name; dockerd's conflicts and words" {
  docker run -d --name up --memory 64m --cpus 0.5 busybox sleep 1000 >/dev/null
  before=$(docker inspect -f '{{json .HostConfig}}' up)
  for f in '"Ulimits":[{"Name":"nofile","Soft":10,"Hard":10}]:Ulimits (--ulimit)' \
    '"MemorySwappiness":10:MemorySwappiness (--memory-swappiness)' \
    '"OomKillDisable":true:OomKillDisable (--oom-kill-disable)' \
    '"Devices":[{"PathOnHost":"/dev/null","PathInContainer":"/dev/n","CgroupPermissions":"rwm"}]:Devices (--device)' \
    '"CgroupParent":"/elsewhere":CgroupParent (--cgroup-parent)' \
    '"BlkioDeviceReadBps":[{"Path":"/dev/vda","Rate":1024}]:BlkioDeviceReadBps (--device-read-bps)'; do
    json="{\"Memory\":100000000,\"MemorySwap\":200000000,${f%:*}}"
    [ "$(api_save POST /containers/up/update -H 'Content-Type: application/json' -d "$json")" = 400 ]
    [ "$(js .message)" = "${f##*:} cannot be changed by docker update: it is set when the container is created" ] ||
      { echo "$json: $(cat "$BT_DIR/api.body")"; false; }
  done
  # nothing changed, on the host either
  [ "$(docker inspect -f '{{json .HostConfig}}' up)" = "$before" ]
  v1 && [ "$(cg up memory memory.limit_in_bytes)" = 67108864 ]
  # the values the CLI sends for flags not given are not refusals
  [ "$(api_save POST /containers/up/update -H 'Content-Type: application/json' \
    -d '{"Ulimits":null,"Devices":[],"MemorySwappiness":null,"CgroupParent":"","PidsLimit":5}')" = 200 ]
  [ "$(jq -c . "$BT_DIR/api.body")" = '{"Warnings":null}' ] # dockerd's: no warnings is null
  # dockerd's conflicts (409) and checks (400), in its words
  id=$(docker inspect -f '{{.Id}}' up)
  run docker update --memory 300m up # above the 128m of memory+swap kept since create
  [[ "$output" == *"Cannot update container $id: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"* ]]
  run docker update --cpu-quota 20000 up
  [[ "$output" == *"Cannot update container $id: Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"* ]]
  run docker update --memory 2m up
  [[ "$output" == *"Minimum memory limit allowed is 6MB"* ]]
  [ "$(api_save POST /containers/nope/update -H 'Content-Type: application/json' -d '{}')" = 404 ]
  # a value of the wrong type is refused, not read as unset
  [ "$(api_save POST /containers/up/update -H 'Content-Type: application/json' -d '{"Memory":"1g"}')" = 400 ]
  [ "$(js .message)" = "json: cannot unmarshal string into Go struct field UpdateConfig.Memory of type int64" ]
}

@test "docker update: a limit the kernel refuses leaves the container as it was" {
  v1 || skip "v1 memory controller: the kernel refuses a limit below the usage"
  docker run -d --name up --memory 64m busybox sh -c \
    'dd if=/dev/zero of=/dev/shm/x bs=1M count=16 2>/dev/null; sleep 1000' >/dev/null
  wait_until 5 sh -c "[ \$(cat $CG_ROOT/memory/$CG_PARENT/\$(docker inspect -f '{{.Id}}' up)/memory.usage_in_bytes) -gt 16000000 ]"
  id=$(docker inspect -f '{{.Id}}' up)
  run docker update --memory 8m --memory-swap 8m up
  [ "$status" -ne 0 ]
  [[ "$output" == *"Cannot update container $id: "*"memory.limit_in_bytes"* ]]
  [ "$(docker inspect -f '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}' up)" = "67108864 0" ]
  running up
}
