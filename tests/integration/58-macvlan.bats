#!/usr/bin/env bats
# macvlan and ipvlan networks (issue 13 §7): berthd in a network namespace of its own
# (bt_netns_up) whose veth btp0 is the parent; its other end btp1 is in a peer namespace on the
# same segment (10.98.0.1, the networks' gateway, with 10.97.0.1 on its lo behind it). A
# container's eth0 is a macvlan child of btp0 moved into its netns: it reaches the peer and the
# peer reaches it, with no bridge, no veth and no published port; dockerd's words for what create
# refuses; rm, stop and kill -9 of berthd leave no link. ipvlan, 802.1q parents (btp0.N) and
# networks without a parent (a dummy link) need kernel support some kernels lack: each test probes
# for it and checks the real effect where it is there, else the clear refusal and that nothing
# is left behind.
# bats file_tags=reactor-neutral

bats_require_minimum_version 1.5.0

load helpers
load containers

NFT_LIST=$BERTH_SRC/$BUILD/nft-list

setup_file() { ctr_setup_file; }

setup() {
  bt_netns_up
  peer_up
  CTR_BRIDGE=1 BT_CONFIG_EXTRA='"init":true' ctr_setup
}

teardown() {
  local p
  for p in ${BG_PIDS:-}; do kill $(ps -o pid= --ppid "$p") "$p" 2>/dev/null; done
  BG_PIDS=
  ctr_teardown
  peer_down
}

# peer_up: the peer's namespace (held by a sleeping process of ours) and the veth btp0/btp1
# between it and the daemon's; the peer serves "hello from peer" on 10.98.0.1:80 and 10.97.0.1:80.
peer_up() {
  unshare --net sleep infinity </dev/null >/dev/null 2>&1 3>&- &
  PEER_PID=$!
  local i
  for i in $(seq 100); do
    [ "$(readlink "/proc/$PEER_PID/ns/net")" != "$(readlink /proc/self/ns/net)" ] && break
    sleep 0.01
  done
  in_netns ip link add btp0 type veth peer name btp1 netns "/proc/$PEER_PID/ns/net"
  in_netns ip link set btp0 up
  in_peer ip link set lo up
  in_peer ip addr add 10.97.0.1/32 dev lo
  in_peer ip addr add 10.98.0.1/24 dev btp1
  in_peer ip link set btp1 up
  PEER_WWW=$BATS_TEST_TMPDIR/www
  mkdir -p "$PEER_WWW"
  echo "hello from peer" >"$PEER_WWW/index.html"
  bg in_peer busybox httpd -f -p 80 -h "$PEER_WWW"
  wait_until 5 in_peer sh -c 'ss -ltn | grep -q ":80 "'
}

peer_down() {
  [ -n "${PEER_PID:-}" ] || return 0
  kill "$PEER_PID" 2>/dev/null
  wait "$PEER_PID" 2>/dev/null || true
  PEER_PID=
}

in_peer() { nsenter "--net=/proc/$PEER_PID/ns/net" "$@"; }

bg() {
  "$@" </dev/null >/dev/null 2>&1 3>&- &
  BG_PIDS="${BG_PIDS:-} $!"
}

web() {
  local name=$1
  shift
  docker run -d --name "$name" "$@" busybox sh -c \
    "mkdir -p /www && echo hello from $name >/www/index.html && exec httpd -f -p 80 -h /www" >/dev/null
}

ip_on() { docker inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"; }
in_ctr() { nsenter "--net=/proc/$(docker inspect -f '{{.State.Pid}}' "$1")/ns/net" "${@:2}"; }
# the links of berthd's netns, one name a line (what a test must find unchanged)
links() { in_netns ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort; }
peer_get() { in_peer curl -s -m 3 "$1"; }
# served URL BODY (from the peer), ctr_served CTR URL BODY (from a container): for wait_until, as
# the httpd of a container started with run -d may not listen yet
served() { [ "$(peer_get "$1")" = "$2" ]; }
ctr_served() { [ "$(docker exec "$1" timeout 3 wget -qO- "$2")" = "$3" ]; }
# no answer from ADDR at the peer (the kernel takes a netns, and its links, down shortly after
# its last process has gone)
unreachable() { ! in_peer busybox ping -c1 -W1 "$1" >/dev/null 2>&1; }

mv_net() {
  docker network create -d macvlan --subnet 10.98.0.0/24 --gateway 10.98.0.1 -o parent=btp0 "$@" mv >/dev/null
}

@test "a macvlan container reaches the peer on the parent's segment and the peer reaches it: no bridge, no veth, no NAT" {
  local before
  before=$(links)
  mv_net
  run docker network ls --format '{{.Name}} {{.Driver}} {{.Scope}}'
  [[ "$output" == *"mv macvlan local"* ]]
  [ "$(docker network inspect -f '{{.Driver}} {{.Options.parent}} {{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}}' mv)" = "macvlan btp0 10.98.0.0/24 10.98.0.1" ]
  web c1 --network mv -p 18080:80
  [ "$(ip_on c1 mv)" = 10.98.0.2 ]
  [ "$(docker inspect -f '{{(index .NetworkSettings.Networks "mv").Gateway}}' c1)" = 10.98.0.1 ]
  # eth0 is a macvlan child of btp0 in bridge mode, with a MAC of its own
  run in_ctr c1 ip -d -o link show eth0
  [[ "$output" == *"macvlan mode bridge"* ]]
  local mac
  mac=$(docker inspect -f '{{(index .NetworkSettings.Networks "mv").MacAddress}}' c1)
  [[ "$output" == *"link/ether $mac "* ]]
  [ "$mac" != "$(in_netns cat /sys/class/net/btp0/address)" ]
  run docker exec c1 ip route
  [[ "$output" == *"default via 10.98.0.1 dev eth0"* ]]
  # the peer on the segment, and an address behind it through the default route
  [ "$(docker exec c1 timeout 5 wget -qO- http://10.98.0.1/)" = "hello from peer" ]
  [ "$(docker exec c1 timeout 5 wget -qO- http://10.97.0.1/)" = "hello from peer" ]
  wait_until 5 served http://10.98.0.2/ "hello from c1"
  # no bridge port, no veth, no published port: -p is dockerd's no-op on macvlan
  [ "$(links)" = "$before" ]
  [ -z "$(in_netns "$NFT_LIST" | grep '^port' || true)" ]
  run in_netns curl -s -m 2 http://127.0.0.1:18080/
  [ "$status" -ne 0 ]
}

@test "two containers on a macvlan network reach each other; rm in use is dockerd's 409; stop and rm leave no link" {
  local before
  before=$(links)
  mv_net
  web c1 --network mv
  docker run -d --name c2 --network mv busybox sleep 300 >/dev/null
  wait_until 5 ctr_served c2 http://10.98.0.2/ "hello from c1"
  [ "$(docker exec c2 timeout 5 wget -qO- http://c1/)" = "hello from c1" ] # the embedded DNS
  docker exec c1 ping -c1 -W2 "$(ip_on c2 mv)"
  run docker network inspect -f '{{range .Containers}}{{.Name}} {{end}}' mv
  [[ "$output" == *c1* && "$output" == *c2* ]]
  [ "$(api_save DELETE /networks/mv)" = 409 ]
  grep -q 'network mv has active endpoints' "$BT_DIR/api.body"
  docker stop -t 1 c1 >/dev/null
  wait_until 5 unreachable 10.98.0.2 # its link went with its netns
  docker rm -f c1 c2 >/dev/null
  docker network rm mv
  [ "$(links)" = "$before" ]
  # a start after all that: the same first address
  mv_net
  docker run --rm --network mv busybox sh -c 'ip -o -4 addr show eth0' | grep -q 'inet 10.98.0.2/24'
}

@test "create's refusals in dockerd's words leave nothing behind" {
  local before
  before=$(links)
  run docker network create -d macvlan --subnet 10.98.0.0/24 -o parent=btnope m1
  [ "$status" -ne 0 ]
  [[ "$output" == *"invalid subinterface vlan name btnope, example formatting is eth0.10"* ]]
  # dockerd's driver errors have no class: 500
  [ "$(api_save POST /networks/create -H 'Content-Type: application/json' -d '{"Name":"m1","Driver":"macvlan","Options":{"parent":"btnope"}}')" = 500 ]
  grep -q 'invalid subinterface vlan name btnope' "$BT_DIR/api.body"
  run docker network create -d macvlan --subnet 10.98.0.0/24 -o parent=btnope.10 m1
  [[ "$output" == *"-o parent interface was not found on the host: btnope"* ]]
  run docker network create -d macvlan --subnet 10.98.0.0/24 -o parent=btp0.5000 m1
  [[ "$output" == *"vlan id must be between 1-4094, received: 5000"* ]]
  run docker network create -d macvlan --subnet 10.98.0.0/24 -o parent=lo m1
  [[ "$output" == *"loopback interface is not a valid macvlan parent link"* ]]
  run docker network create -d macvlan --subnet 10.98.0.0/24 -o parent=btp0 -o macvlan_mode=l2 m1
  [[ "$output" == *"requested macvlan mode 'l2' is not valid, 'bridge' mode is the macvlan driver default"* ]]
  run docker network create -d ipvlan --subnet 10.98.0.0/24 -o parent=btp0 -o ipvlan_mode=l4 m1
  [[ "$output" == *"requested ipvlan mode 'l4' is not valid, 'l2' mode is the ipvlan driver default"* ]]
  run docker network create -d ipvlan --subnet 10.98.0.0/24 -o parent=btp0 -o ipvlan_flag=x m1
  [[ "$output" == *"requested ipvlan flag 'x' is not valid, 'bridge' is the ipvlan driver default"* ]]
  [ "$(docker network ls -q --filter name=m1)" = "" ]
  # two macvlan networks share a parent, unless one is in passthru mode
  local id
  id=$(docker network create -d macvlan --subnet 10.98.0.0/25 -o parent=btp0 m2)
  docker network create -d macvlan --subnet 10.98.0.128/25 -o parent=btp0 m3 >/dev/null
  run docker network create -d macvlan --subnet 10.95.0.0/24 -o parent=btp0 -o macvlan_mode=passthru m4
  [[ "$output" == *"cannot use mode passthru, macvlan network $id is already using parent interface btp0"* ]]
  docker network rm m2 m3 >/dev/null
  [ "$(links)" = "$before" ]
  run docker network ls --format '{{.Name}}'
  [[ "$output" != *m4* ]]
}

@test "without --subnet a macvlan network picks a subnet of its own, which later networks avoid" {
  docker network create -d macvlan -o parent=btp0 ma >/dev/null
  docker network create -d macvlan -o parent=btp0 mb >/dev/null
  docker network create nbr >/dev/null
  local a b c
  a=$(docker network inspect -f '{{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}}' ma)
  b=$(docker network inspect -f '{{(index .IPAM.Config 0).Subnet}}' mb)
  c=$(docker network inspect -f '{{(index .IPAM.Config 0).Subnet}}' nbr)
  [[ "$a" =~ ^[0-9.]+/[0-9]+\ $ ]] # no gateway: dockerd allocates none for macvlan
  [ "${a% }" != "$b" ] && [ "$b" != "$c" ] && [ "${a% }" != "$c" ]
  [ "${a% }" != 172.17.0.0/16 ]
  # without a gateway: the first address is the container's, and no default route
  run docker run --rm --network ma busybox sh -c 'ip -o -4 addr show eth0; ip route'
  [[ "$output" == *"inet ${a%.0/*}.1/"* ]]
  [[ "$output" != *default* ]]
}

@test "--internal: no default route; --ip and --ip-range on a macvlan network" {
  docker network create -d macvlan --internal --subnet 10.91.0.0/24 --gateway 10.91.0.1 \
    --ip-range 10.91.0.128/25 -o parent=btp0 mi >/dev/null
  [ "$(docker network inspect -f '{{.Internal}} {{(index .IPAM.Config 0).IPRange}}' mi)" = "true 10.91.0.128/25" ]
  run docker run --rm --network mi busybox sh -c 'ip -o -4 addr show eth0; ip route'
  [[ "$output" == *"inet 10.91.0.12"[89]"/24"* ]]
  [[ "$output" != *default* ]]
  run docker run --rm --network mi --ip 10.91.0.50 busybox ip -o -4 addr show eth0
  [[ "$output" == *"inet 10.91.0.50/24"* ]]
  # --aux-address: reserved here too
  docker network create -d macvlan --subnet 10.92.0.0/24 --aux-address r=10.92.0.1 \
    -o parent=btp0 ma >/dev/null
  run docker run --rm --network ma busybox ip -o -4 addr show eth0
  [[ "$output" == *"inet 10.92.0.2/24"* ]]
}

@test "kill -9 of berthd with a macvlan container running, then a restart: nothing leaked" {
  mv_net
  web k1 --network mv
  wait_until 5 served http://10.98.0.2/ "hello from k1"
  local before
  before=$(links)
  kill -KILL "$BT_PID"
  wait "$BT_PID" 2>/dev/null || true
  BT_PID=
  berthd_spawn "${BT_ARGS[@]}"
  [ "$(links)" = "$before" ]
  [ "$(docker network inspect -f '{{.Driver}} {{.Options.parent}}' mv)" = "macvlan btp0" ]
  [ "$(docker inspect -f '{{.State.Running}}' k1)" = false ]
  wait_until 5 unreachable 10.98.0.2
  docker start k1 >/dev/null
  [ "$(ip_on k1 mv)" = 10.98.0.2 ] # its address was given back
  wait_until 5 served http://10.98.0.2/ "hello from k1"
}

@test "network connect of a running container to a macvlan network: eth1 on the segment; disconnect removes it" {
  mv_net
  docker run -d --name b1 busybox sleep 300 >/dev/null
  docker network connect mv b1
  run in_ctr b1 ip -d -o link show eth1
  [[ "$output" == *"macvlan mode bridge"* ]]
  [ "$(docker exec b1 timeout 5 wget -qO- http://10.98.0.1/)" = "hello from peer" ]
  in_peer busybox ping -c1 -W2 "$(ip_on b1 mv)"
  docker network disconnect mv b1
  run in_ctr b1 ip link show eth1
  [ "$status" -ne 0 ]
  docker network rm mv
}

@test "ipvlan l2 and l3: the container reaches the peer where the kernel has ipvlan, else create says what is missing" {
  local before
  before=$(links)
  if ! in_netns ip link add btprobe link btp0 type ipvlan mode l2 2>/dev/null; then
    run docker network create -d ipvlan --subnet 10.98.0.0/24 -o parent=btp0 iv
    [ "$status" -ne 0 ]
    [[ "$output" == *"this kernel has no ipvlan link support (CONFIG_IPVLAN"* ]]
    [ -z "$(docker network ls -q --filter name=iv)" ]
    [ "$(links)" = "$before" ]
    return 0
  fi
  in_netns ip link del btprobe
  docker network create -d ipvlan --subnet 10.98.0.0/24 --gateway 10.98.0.1 -o parent=btp0 iv >/dev/null
  web i1 --network iv
  run in_ctr i1 ip -d -o link show eth0
  [[ "$output" == *"ipvlan"* && "$output" == *"mode l2"* ]]
  [ "$(docker exec i1 timeout 5 wget -qO- http://10.97.0.1/)" = "hello from peer" ]
  wait_until 5 served http://10.98.0.2/ "hello from i1"
  run docker network create -d ipvlan --subnet 10.94.0.0/24 -o parent=btp0 iv2
  [[ "$output" == *"is already using parent interface btp0"* ]]
  docker rm -f i1 >/dev/null
  docker network rm iv
  docker network create -d ipvlan --subnet 10.93.0.0/24 -o parent=btp0 -o ipvlan_mode=l3 iv3 >/dev/null
  run docker run --rm --network iv3 busybox ip route
  [[ "$output" == *"default dev eth0"* ]]
  docker network rm iv3
  [ "$(links)" = "$before" ]
}

@test "parent btp0.N: the 802.1q link made and removed with the network where the kernel has VLANs, else create says what is missing" {
  local before
  before=$(links)
  if ! in_netns ip link add link btp0 name btp0.9 type vlan id 9 2>/dev/null; then
    run docker network create -d macvlan --subnet 10.96.0.0/24 -o parent=btp0.7 vl
    [ "$status" -ne 0 ]
    [[ "$output" == *"this kernel has no 802.1q VLAN support (CONFIG_VLAN_8021Q"* ]]
    [ -z "$(docker network ls -q --filter name=vl)" ]
    [ "$(links)" = "$before" ]
    return 0
  fi
  in_netns ip link del btp0.9
  in_peer ip link add link btp1 name btp1.7 type vlan id 7
  in_peer ip addr add 10.96.0.1/24 dev btp1.7
  in_peer ip link set btp1.7 up
  docker network create -d macvlan --subnet 10.96.0.0/24 -o parent=btp0.7 vl >/dev/null
  in_netns ip -d link show btp0.7 | grep -q 'vlan protocol 802.1Q id 7'
  [ "$(docker run --rm --network vl busybox timeout 5 wget -qO- http://10.96.0.1/)" = "hello from peer" ]
  docker network rm vl
  [ "$(links)" = "$before" ]
}

@test "no parent: a dummy link dm-<12 hex>, internal, removed with the network where the kernel has dummy links, else create says what is missing" {
  local before
  before=$(links)
  if ! in_netns ip link add btdprobe type dummy 2>/dev/null; then
    run docker network create -d macvlan --subnet 10.92.0.0/24 dn
    [ "$status" -ne 0 ]
    [[ "$output" == *"this kernel has no dummy link support (CONFIG_DUMMY"* ]]
    [ -z "$(docker network ls -q --filter name=dn)" ]
    [ "$(links)" = "$before" ]
    return 0
  fi
  in_netns ip link del btdprobe
  local id
  id=$(docker network create -d macvlan --subnet 10.92.0.0/24 --gateway 10.92.0.1 dn)
  in_netns ip link show "dm-${id:0:12}" >/dev/null
  web d1 --network dn
  wait_until 5 ctr_served d1 http://127.0.0.1/ "hello from d1"
  run docker run --rm --network dn busybox sh -c 'ip route; timeout 5 wget -qO- http://d1/'
  [[ "$output" != *default* ]]
  [[ "$output" == *"hello from d1"* ]]
  docker rm -f d1 >/dev/null
  docker network rm dn
  [ "$(links)" = "$before" ]
}
