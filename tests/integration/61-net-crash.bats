#!/usr/bin/env bats
# Networking's cleanup under a crash and at scale (issue 13 §8): berthd in a network namespace of
# its own (bt_netns_up, as 55-bridge and 57-networks) is killed with -9 at random instants, and at
# crash points, while 50 clients create, start and remove containers on the default bridge and on
# a user network at once; after each restart no veth (in the daemon's namespace), no nft element
# (build/nft-list), no address twice and no DNS name of a container that is gone is left, and new
# containers reach each other. 200 containers on one user network leave nothing behind; a
# restart keeps what 55/56/57 do not cover; the embedded DNS server answers the first lookup a
# container makes.
# bats file_tags=reactor-neutral

bats_require_minimum_version 1.5.0

load helpers
load containers

NFT_LIST=$BERTH_SRC/$BUILD/nft-list

setup_file() { ctr_setup_file; }
setup() { CTR_BRIDGE=1 ctr_setup; }
teardown() {
  local p
  for p in ${BG_PIDS:-}; do kill "$p" 2>/dev/null; done
  BG_PIDS=
  ctr_teardown
}

ip_on() { docker inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"; }

# The host ends of containers' veths in the daemon's namespace, and the veths anywhere it can see.
veths() { in_netns ip -o link show type veth | grep -c ': vb' || true; }
no_veths() { [ "$(veths)" -eq 0 ]; }
nft_ports() { in_netns "$NFT_LIST" | grep '^port' || true; }
nft_networks() { in_netns "$NFT_LIST" | grep '^network' | awk '{print $2}' | sort | tr '\n' ' ' || true; }
no_ports() { [ -z "$(nft_ports)" ]; }

# churn I: client I runs a container, on the user network `un` when I is odd, else on the default
# bridge, publishing a port when I is a multiple of 3, then removes it.
churn() {
  local i=$1 net=bridge pub=()
  [ $((i % 2)) -eq 0 ] || net=un
  [ $((i % 3)) -ne 0 ] || pub=(-p "$((18000 + i)):80")
  docker run -d --name "c$i" --network "$net" ${pub[@]+"${pub[@]}"} busybox sleep 300 \
    >/dev/null 2>&1 || return 0
  docker rm -f "c$i" >/dev/null 2>&1 || true
}

# crash_round [CRASH_POINT]: 50 clients churn at once and berthd dies: at the crash point when
# one is given, else with a kill -9 at a random instant; then it starts again on the same root.
crash_round() {
  local i pids=() before
  before=$(grep -c 'started pid' "$BT_DIR/berthd.log" || true)
  if [ -n "${1:-}" ]; then
    stop_berthd --keep
    export BERTH_CRASH_AT=$1
    berthd_spawn "${BT_ARGS[@]}"
    unset BERTH_CRASH_AT
  fi
  for i in $(seq 50); do
    churn "$i" </dev/null 3>&- &
    pids+=($!)
  done
  if [ -z "${1:-}" ]; then
    sleep "0.$((RANDOM % 9 + 1))" # during the starts (all 50 were done by 1 s or more, idle)
    kill -KILL "$BT_PID" 2>/dev/null || true
  fi
  wait "$BT_PID" 2>/dev/null || true
  BT_PID=
  wait "${pids[@]}" 2>/dev/null || true
  echo "# round ${1:-random}: $(($(grep -c 'started pid' "$BT_DIR/berthd.log") - before)) starts before the crash" >&3
  berthd_spawn "${BT_ARGS[@]}"
}

# Nothing of the crashed run is left: no veth (the kernel takes a netns down a moment after its
# last process) and no netns berthd holds, no published port, the networks' elements only, no container running or holding
# an address (in inspect or its record on disk).
nothing_left() {
  wait_until 20 no_veths
  [ "$(ls -l "/proc/$BT_PID/fd" | grep -c 'net:\[')" -eq 0 ] # no container netns held
  no_ports
  [ "$(nft_networks)" = "berth0 br-${UN_ID:0:12} " ]
  [ -z "$(docker ps -q)" ]
  local ids
  ids=$(docker ps -aq)
  if [ -n "$ids" ]; then
    [ -z "$(docker inspect -f '{{.NetworkSettings.IPAddress}}{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' $ids | tr -d '\n')" ]
  fi
  run grep -l '"IPAddress": *"[0-9]' "$BT_DIR"/root/containers/*/*.json
  [ "$status" -ne 0 ]
}

# New containers get the lowest addresses, each its own, reach each other by address (bridge) and
# by name (un), and no name of a container that is gone is answered.
fresh_start() {
  docker rm -f $(docker ps -aq) >/dev/null 2>&1 || true
  docker run -d --name a1 --network un busybox sleep 300 >/dev/null
  docker run -d --name a2 --network un --dns 127.0.0.1 busybox sleep 300 >/dev/null
  docker run -d --name b1 busybox sleep 300 >/dev/null
  docker run -d --name b2 busybox sleep 300 >/dev/null
  [ "$(ip_on a1 un) $(ip_on a2 un)" = "10.85.0.2 10.85.0.3" ]
  [ "$(ip_on b1 bridge) $(ip_on b2 bridge)" = "172.17.0.2 172.17.0.3" ]
  docker exec a2 ping -c1 -W2 a1
  docker exec b1 ping -c1 -W2 172.17.0.3
  run docker exec a2 sh -c 'for i in $(seq 50); do nslookup c$i 127.0.0.11 >/dev/null 2>&1 && echo c$i; done'
  [ -z "$output" ]
  docker rm -f a1 a2 b1 b2 >/dev/null
  wait_until 20 no_veths
}

@test "kill -9 of berthd during 50 parallel create/start/rm on the bridge and a user network leaves nothing" {
  UN_ID=$(docker network create --subnet 10.85.0.0/24 un)
  local round
  for round in 1 2 3; do
    crash_round
    nothing_left
    fresh_start
  done
  for round in start-plumbed:$((RANDOM % 20 + 5)) start-spawned:$((RANDOM % 20 + 5)); do
    crash_round "$round"
    grep -q "crash point \`${round%:*}\` reached" "$BT_DIR/berthd.log"
    nothing_left
    fresh_start
  done
}

@test "200 containers on one user network started and removed leave no veth, element, address or name" {
  local id base i
  id=$(docker network create --subnet 10.86.0.0/24 big)
  # berthd keeps its own PID namespace open from its first exec on: the baseline comes after one
  docker run -d --name warm busybox sleep 300 >/dev/null
  docker exec warm true
  docker rm -f warm >/dev/null
  wait_until 10 no_veths
  base=$(fd_baseline)
  # four clients at a time: the daemon's work per start is what is measured, not the CLI's
  seq 200 | xargs -P 4 -I{} "$DOCKER_BIN" run -d --name m{} --network big busybox sleep 300 >/dev/null
  [ "$(docker network inspect -f '{{len .Containers}}' big)" = 200 ]
  [ "$(veths)" -eq 200 ]
  [ "$(docker ps -q --filter network=big | xargs docker inspect -f '{{(index .NetworkSettings.Networks "big").IPAddress}}' | sort -u | wc -l)" -eq 200 ]
  [[ "$(docker exec m1 nslookup m200 127.0.0.11)" == *"$(ip_on m200 big)"* ]]
  [[ "$(docker exec m200 nslookup m1 127.0.0.11)" == *"$(ip_on m1 big)"* ]]
  docker ps -aq | xargs -n 50 "$DOCKER_BIN" rm -f >/dev/null
  wait_until 30 no_veths
  [ -z "$(in_netns ip -o link show master "br-${id:0:12}")" ]
  no_ports
  wait_until 30 fds_at_most "$base" # 200 records written, 200 cgroups gone first
  # the lowest address again, and none of the 200 names answered
  docker run -d --name probe --network big --dns 127.0.0.1 busybox sleep 300 >/dev/null
  [ "$(ip_on probe big)" = 10.86.0.2 ]
  run docker exec probe sh -c 'for i in $(seq 200); do nslookup m$i 127.0.0.11 >/dev/null 2>&1 && echo m$i; done'
  [ -z "$output" ]
  docker rm -f probe >/dev/null
  docker network rm big
  run in_netns ip link show "br-${id:0:12}"
  [ "$status" -ne 0 ]
  [ "$(nft_networks)" = "berth0 " ]
}

web() {
  local name=$1
  shift
  docker run -d --name "$name" "$@" busybox sh -c \
    "mkdir -p /www && echo hello from $name >/www/index.html && exec httpd -f -p 80 -h /www" >/dev/null
}

served() { [ "$(in_netns curl -s -m 3 "$1")" = "$2" ]; }

# What 55 (the default bridge after kill -9), 56 (its ports after a restart and kill -9) and 57
# (a network's subnet and addresses by IP after a restart) leave out: names and aliases on a user
# network, --ip, and the ports of a user network's containers.
@test "a restart of berthd keeps a user network's names, aliases, --ip and published ports" {
  ctr_teardown
  # init: SIGTERM ends httpd and sleep at once, so the restart stops them in time
  CTR_BRIDGE=1 BT_CONFIG_EXTRA='"init":true' ctr_setup
  docker network create --subnet 10.87.0.0/24 keep >/dev/null
  web kw --network keep --network-alias kwalias --ip 10.87.0.50 -p 18090:80
  docker run -d --name kc --network keep --dns 127.0.0.1 busybox sleep 300 >/dev/null
  docker run -d --name gone --network keep busybox sleep 300 >/dev/null
  wait_until 5 served http://127.0.0.1:18090/ "hello from kw"
  [ "$(nft_ports)" = "port tcp 0.0.0.0:18090 -> 10.87.0.50:80" ]
  restart_berthd
  no_ports # the containers stopped with berthd
  docker start kw kc >/dev/null
  [ "$(ip_on kw keep)" = 10.87.0.50 ]
  [ "$(ip_on kc keep)" = 10.87.0.2 ] # gone's .3 is free: no address kept by a stopped one
  wait_until 5 served http://127.0.0.1:18090/ "hello from kw"
  [ "$(nft_ports)" = "port tcp 0.0.0.0:18090 -> 10.87.0.50:80" ]
  [ "$(docker exec kc timeout 5 wget -qO- http://kw/)" = "hello from kw" ]
  [ "$(docker exec kc timeout 5 wget -qO- http://kwalias/)" = "hello from kw" ]
  run docker exec kc nslookup gone 127.0.0.11 # stopped: not answered
  [ "$status" -ne 0 ]
  docker start gone >/dev/null
  [[ "$(docker exec kc nslookup gone 127.0.0.11)" == *"10.87.0.3"* ]]
}

# "bridge": "none": no default bridge reconciles the tables at start-up, so a user network's own
# reconcile removes the ports an earlier berthd published into it.
@test "bridge none: kill -9 of berthd, then a restart: no element left of a user network's ports" {
  ctr_teardown
  bt_netns_up
  ctr_setup # "bridge": "none", in a namespace of its own
  docker network create --subnet 10.88.0.0/24 solo >/dev/null
  web sw --network solo -p 18091:80 -p 18092:80/udp
  wait_until 5 served http://127.0.0.1:18091/ "hello from sw"
  [ "$(nft_ports | wc -l)" -eq 2 ]
  kill -KILL "$BT_PID"
  wait "$BT_PID" 2>/dev/null || true
  BT_PID=
  [ "$(nft_ports | wc -l)" -eq 2 ] # left behind
  berthd_spawn "${BT_ARGS[@]}"
  no_ports
  [ "$(docker inspect -f '{{(index .NetworkSettings.Networks "solo").IPAddress}}|' sw)" = "|" ]
  docker start sw >/dev/null
  wait_until 5 served http://127.0.0.1:18091/ "hello from sw"
  [ "$(nft_ports | wc -l)" -eq 2 ]
}

# One host port allocator for every network: dockerd's words for a port another network's
# container holds, and ephemeral ports that go on after another network's (ten held ports in a
# row used to exhaust dockerd's ten tries).
@test "two networks publishing: a port the other holds is already allocated; -P goes on after the other's" {
  in_netns sh -c 'echo "40000 40099" >/proc/sys/net/ipv4/ip_local_port_range'
  restart_berthd # the range is read at start-up
  docker network create --subnet 10.89.0.0/24 pa >/dev/null
  docker network create --subnet 10.89.1.0/24 pb >/dev/null
  web wa --network pa -p 18093:80
  run docker run -d --name wb --network pb -p 18093:80 busybox sleep 300
  [ "$status" -ne 0 ]
  [[ "$output" == *"Bind for 0.0.0.0:18093 failed: port is already allocated"* ]]
  docker rm -f wb >/dev/null
  # the default bridge's and pa's containers hold the first ten ephemeral ports
  docker run -d --name e1 --expose 80-84 -P busybox sleep 300 >/dev/null
  docker run -d --name e2 --network pa --expose 80-84 -P busybox sleep 300 >/dev/null
  docker run -d --name e3 --network pb --expose 80 -P busybox sleep 300 >/dev/null
  [ "$(docker port e3 80/tcp)" = "0.0.0.0:40010" ]
}

# The server's sockets are bound in the container's netns before its process runs: a lookup that
# is the container's very first instruction finds them (a query before the reactor serves them
# waits in the socket's queue).
@test "the embedded DNS server answers a lookup made at the very start of a container, every time" {
  docker network create --subnet 10.90.0.0/24 usernet >/dev/null
  docker run -d --name othername --network usernet busybox sleep 300 >/dev/null
  local i
  for i in $(seq 20); do
    run docker run --rm --network usernet busybox nslookup othername 127.0.0.11
    [ "$status" -eq 0 ] || { echo "try $i: $output"; false; }
    [[ "$output" == *"10.90.0.2"* ]]
  done
  # TCP too (nslookup has no TCP mode: a raw query on a connection, the reply's first bytes)
  for i in $(seq 5); do
    run docker run --rm --network usernet busybox sh -c \
      "printf '\0\33\0\1\1\0\0\1\0\0\0\0\0\0\11othername\0\0\1\0\1' | nc 127.0.0.11 53 | od -An -tx1 | head -1"
    [ "$status" -eq 0 ]
    [[ "$output" == *"00 2b 00 01 8"* ]] || { echo "try $i: $output"; false; }
  done
}

# network rm removes the bridge and its nft element before the record: killed in between, berthd
# finds the network again at its next start (bridge and element made again) and a second rm
# removes it all, even with no default bridge whose start-up would reconcile the tables.
@test "killed in the middle of a network rm: the network is there after the restart and a second rm leaves nothing" {
  ctr_teardown
  bt_netns_up
  ctr_setup # "bridge": "none", in a namespace of its own
  local id
  id=$(docker network create --subnet 10.91.0.0/24 half)
  [ "$(nft_networks)" = "br-${id:0:12} " ]
  stop_berthd --keep
  export BERTH_CRASH_AT=network-unplumbed
  berthd_spawn "${BT_ARGS[@]}"
  unset BERTH_CRASH_AT
  run docker network rm half
  wait "$BT_PID" 2>/dev/null || true
  BT_PID=
  grep -q 'crash point `network-unplumbed` reached' "$BT_DIR/berthd.log"
  berthd_spawn "${BT_ARGS[@]}"
  [ "$(docker network inspect -f '{{.Id}}' half)" = "$id" ]
  in_netns ip link show "br-${id:0:12}" >/dev/null
  [ "$(nft_networks)" = "br-${id:0:12} " ]
  docker network rm half
  run in_netns ip link show "br-${id:0:12}"
  [ "$status" -ne 0 ]
  [ -z "$(nft_networks)" ]
}
