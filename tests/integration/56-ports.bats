#!/usr/bin/env bats
# Published ports and NAT on the default bridge (issue 13 §4): berthd runs in a network namespace
# of its own (bt_netns_up) with a narrow ephemeral range (40000-40099) and a veth to a third
# namespace, the peer (10.99.0.1 on the daemon's side, 10.99.0.2 on the peer's, which has no
# route to the bridge's subnet). -p, -P, UDP, ranges and host addresses are reached from the
# daemon's side (its lo, its veth address, the gateway) and from the peer; docker port, ps and
# inspect show them as dockerd does (IPv4 only, as berth's bridge is); a clash with another
# container or a host process fails the start with dockerd's words and leaves nothing; hairpin,
# outbound masquerade (ip-masq), icc false, iptables false; restart and kill -9 of berthd leave no
# stale element. The tables are read with build/nft-list (berth's own nft_list), not the nft CLI.
# bats file_tags=reactor-neutral

bats_require_minimum_version 1.5.0

load helpers
load containers

NFT_LIST=$BERTH_SRC/$BUILD/nft-list

setup_file() {
  ctr_setup_file
  NETPEER=$BATS_FILE_TMPDIR/netpeer
  [ -x "$NETPEER" ] || cc -static -O2 -o "$NETPEER" "$INTEGRATION_DIR/netpeer.c"
  export NETPEER
}

setup() {
  bt_netns_up
  in_netns sh -c 'echo "40000 40099" >/proc/sys/net/ipv4/ip_local_port_range'
  peer_up
  # init: SIGTERM ends httpd and sleep at once, so a restart of berthd stops them in time
  CTR_BRIDGE=1 BT_CONFIG_EXTRA='"init":true' ctr_setup
}

teardown() {
  local p
  # bg's PID is the subshell that runs a function (in_netns, in_peer): its child is the peer
  for p in ${BG_PIDS:-}; do kill $(ps -o pid= --ppid "$p") "$p" 2>/dev/null; done
  BG_PIDS=
  ctr_teardown
  peer_down
}

# peer_up: the peer's namespace (held by a sleeping process of ours, like bt_netns_up's) and a
# veth between it and the daemon's.
peer_up() {
  unshare --net sleep infinity </dev/null >/dev/null 2>&1 3>&- &
  PEER_PID=$!
  local i
  for i in $(seq 100); do
    [ "$(readlink "/proc/$PEER_PID/ns/net")" != "$(readlink /proc/self/ns/net)" ] && break
    sleep 0.01
  done
  in_netns ip link add btp0 type veth peer name btp1 netns "/proc/$PEER_PID/ns/net"
  in_netns ip addr add 10.99.0.1/24 dev btp0
  in_netns ip link set btp0 up
  in_peer ip link set lo up
  in_peer ip addr add 10.99.0.2/24 dev btp1
  in_peer ip link set btp1 up
}

peer_down() {
  [ -n "${PEER_PID:-}" ] || return 0
  kill "$PEER_PID" 2>/dev/null
  wait "$PEER_PID" 2>/dev/null || true
  PEER_PID=
}

in_peer() { nsenter "--net=/proc/$PEER_PID/ns/net" "$@"; }

# bg CMD...: CMD in the background, killed by teardown.
bg() {
  "$@" </dev/null >/dev/null 2>&1 3>&- &
  BG_PIDS="${BG_PIDS:-} $!"
}

# web NAME [docker run flags...]: a container serving "hello from NAME" on port 80.
web() {
  local name=$1
  shift
  docker run -d --name "$name" "$@" busybox sh -c \
    "mkdir -p /www && echo hello from $name >/www/index.html && exec httpd -f -p 80 -h /www" >/dev/null
}

# get URL: the body, from the daemon's namespace (fails after 3 s).
get() { in_netns curl -s -m 3 "$1"; }
peer_get() { in_peer curl -s -m 3 "$1"; }
served() { [ "$(get "$1")" = "$2" ]; }

nft_ports() { in_netns "$NFT_LIST" | grep '^port' || true; }
nft_networks() { in_netns "$NFT_LIST" | grep '^network' || true; }
no_ports() { [ -z "$(nft_ports)" ]; }

# with_config JSON: berthd again, its daemon.json merged with JSON (the containers stop).
with_config() {
  stop_berthd --keep
  jq -c ". + $1" "$BT_DIR/daemon.json" >"$BT_DIR/daemon.json.new"
  mv "$BT_DIR/daemon.json.new" "$BT_DIR/daemon.json"
  berthd_spawn "${BT_ARGS[@]}"
}

@test "-p 18080:80: reached at the daemon's addresses and 127.0.0.1, from the peer; port, ps, inspect" {
  web w1 -p 18080:80
  wait_until 5 served http://127.0.0.1:18080/ "hello from w1"
  [ "$(get http://10.99.0.1:18080/)" = "hello from w1" ]  # the daemon's own veth address
  [ "$(get http://172.17.0.1:18080/)" = "hello from w1" ]  # the bridge's
  [ "$(peer_get http://10.99.0.1:18080/)" = "hello from w1" ] # from outside, through the veth
  # as dockerd with no userland proxy shows an IPv4-only container's ports
  [ "$(docker port w1)" = "80/tcp -> 0.0.0.0:18080" ]
  [ "$(docker port w1 80)" = "0.0.0.0:18080" ]
  [ "$(docker ps --format '{{.Ports}}' -f name=w1)" = "0.0.0.0:18080->80/tcp" ]
  [ "$(docker inspect -f '{{json .NetworkSettings.Ports}}' w1)" = '{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"18080"}]}' ]
  [ "$(docker inspect -f '{{json .HostConfig.PortBindings}}' w1)" = '{"80/tcp":[{"HostIp":"","HostPort":"18080"}]}' ]
  [ "$(docker inspect -f '{{json .Config.ExposedPorts}}' w1)" = '{"80/tcp":{}}' ]
  curl -s --unix-socket "$BT_SOCK" http://berth/containers/json >"$BT_DIR/ps"
  [ "$(jq -c '.[0].Ports' "$BT_DIR/ps")" = '[{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":18080,"Type":"tcp"}]' ]
  # one element in the table; the host port held (a host process cannot take it)
  [ "$(nft_ports)" = "port tcp 0.0.0.0:18080 -> 172.17.0.2:80" ]
  run timeout 2 nsenter "--net=/proc/$BT_NETNS_PID/ns/net" busybox nc -l -p 18080
  [ "$status" -eq 1 ]
  [[ "$output" == *"Address already in use"* ]]
  in_netns ss -ltn | grep -q '0.0.0.0:18080 '
  # stopped: nothing published, the port free
  docker stop -t 0 w1 >/dev/null
  [ "$(docker inspect -f '{{json .NetworkSettings.Ports}}' w1)" = '{}' ]
  [ -z "$(docker port w1)" ]
  [ -z "$(docker ps -a --format '{{.Ports}}' -f name=w1)" ]
  no_ports
  run get http://127.0.0.1:18080/
  [ "$status" -ne 0 ]
  ! in_netns ss -ltn | grep -q ':18080 '
  # and again at its next start
  docker start w1 >/dev/null
  wait_until 5 served http://10.99.0.1:18080/ "hello from w1"
}

@test "-P: the image's EXPOSE and --expose on ephemeral ports of ip_local_port_range; exposed only without -P" {
  docker import --change 'CMD ["sh"]' --change 'EXPOSE 80' --change 'EXPOSE 5353/udp' \
    "$BUSYBOX_TAR" busybox:exposed >/dev/null
  docker run -d --name e1 -P --expose 81 -v "$NETPEER:/netpeer:ro" busybox:exposed sh -c \
    'mkdir /www && echo e1 >/www/index.html && httpd -p 80 -h /www && httpd -p 81 -h /www && exec /netpeer udp-echo 5353' >/dev/null
  [ "$(docker port e1 | sort)" = $'5353/udp -> 0.0.0.0:40000\n80/tcp -> 0.0.0.0:40000\n81/tcp -> 0.0.0.0:40001' ]
  wait_until 5 served http://127.0.0.1:40000/ e1
  [ "$(peer_get http://10.99.0.1:40001/)" = e1 ]
  [ "$(in_peer "$NETPEER" udp-ask 10.99.0.1 40000 hi)" = "10.99.0.2 hi" ]
  [ "$(docker ps --format '{{.Ports}}' -f name=e1)" = "0.0.0.0:40000->80/tcp, 0.0.0.0:40001->81/tcp, 0.0.0.0:40000->5353/udp" ]
  # the next -P goes on: no port handed out twice, the range's next ones
  docker run -d --name e2 -P busybox:exposed sleep 300 >/dev/null
  [ "$(docker port e2 80)" = "0.0.0.0:40002" ]
  [ "$(docker port e2 5353/udp)" = "0.0.0.0:40001" ]
  # exposed, not published: null in inspect, listed by ps, no element
  docker run -d --name e3 busybox:exposed sleep 300 >/dev/null
  [ "$(docker inspect -f '{{json .NetworkSettings.Ports}}' e3)" = '{"5353/udp":null,"80/tcp":null}' ]
  [ "$(docker ps --format '{{.Ports}}' -f name=e3)" = "80/tcp, 5353/udp" ]
  [ -z "$(docker port e3)" ]
  [ "$(nft_ports | wc -l)" -eq 5 ]
}

@test "ps filters publish and expose, as dockerd's" {
  web f1 -p 18080:80
  docker run -d --name f2 --expose 443 -p 127.0.0.1:18443:8443/udp busybox sleep 300 >/dev/null
  docker run -d --name f3 busybox sleep 300 >/dev/null
  names() { docker ps --format '{{.Names}}' "$@" | sort | tr '\n' ' '; }
  [ "$(names --filter publish=18080)" = "f1 " ]
  [ "$(names --filter publish=18080/tcp)" = "f1 " ]
  [ "$(names --filter publish=18080/udp)" = "" ]
  [ "$(names --filter publish=18000-18500/udp)" = "f2 " ]
  [ "$(names --filter publish=80)" = "" ]
  [ "$(names --filter expose=80)" = "f1 " ]
  [ "$(names --filter expose=443)" = "f2 " ]          # exposed only
  [ "$(names --filter expose=8443/udp)" = "f2 " ]
  [ "$(names --filter expose=1-1000 --filter publish=18443/udp)" = "f1 f2 " ]
  run docker ps --filter publish=a:80
  [ "$status" -ne 0 ]
  [[ "$output" == *"filter for 'publish' should not contain ':': a:80"* ]]
  run docker ps --filter expose=x
  [[ "$output" == *"error while looking up for expose x: strconv.ParseUint: parsing \"x\": invalid syntax"* ]]
  run docker ps --filter expose=90-80
  [[ "$output" == *"error while looking up for expose 90-80: invalid range specified for port: 90-80"* ]]
  # a stopped container lists no ports
  docker stop -t 0 f1 >/dev/null
  [ "$(names -a --filter publish=18080)" = "" ]
}

@test "UDP: -p 18053:5353/udp from the peer (its own address kept) and from 127.0.0.1 (masqueraded)" {
  docker run -d --name u1 -p 18053:5353/udp -v "$NETPEER:/netpeer:ro" busybox /netpeer udp-echo 5353 >/dev/null
  [ "$(docker port u1)" = "5353/udp -> 0.0.0.0:18053" ]
  wait_until 5 in_peer "$NETPEER" udp-ask 10.99.0.1 18053 x
  [ "$(in_peer "$NETPEER" udp-ask 10.99.0.1 18053 ping)" = "10.99.0.2 ping" ]
  [ "$(in_netns "$NETPEER" udp-ask 127.0.0.1 18053 ping)" = "172.17.0.1 ping" ]
  [ "$(nft_ports)" = "port udp 0.0.0.0:18053 -> 172.17.0.2:5353" ]
  # tcp on the same number is another port
  run in_netns "$NETPEER" udp-ask 127.0.0.1 18054 ping
  [ "$status" -ne 0 ]
}

@test "ranges: -p 18090-18092:90-92, -p 18070-18071:18070-18071 and a host range for one port" {
  docker run -d --name r1 -p 18090-18092:90-92 busybox sh -c \
    'mkdir /www && echo r1 >/www/index.html && httpd -p 90 -h /www && httpd -p 91 -h /www && exec httpd -f -p 92 -h /www' >/dev/null
  wait_until 5 served http://127.0.0.1:18092/ r1
  served http://10.99.0.1:18090/ r1
  [ "$(peer_get http://10.99.0.1:18091/)" = r1 ]
  [ "$(docker ps --format '{{.Ports}}' -f name=r1)" = "0.0.0.0:18090->90/tcp, 0.0.0.0:18091->91/tcp, 0.0.0.0:18092->92/tcp" ]
  # the same numbers on both sides: the CLI writes them as one range
  docker run -d --name r5 -p 18070-18071:18070-18071 busybox sleep 300 >/dev/null
  [ "$(docker ps --format '{{.Ports}}' -f name=r5)" = "0.0.0.0:18070-18071->18070-18071/tcp" ]
  [ "$(docker port r1 | sort)" = $'90/tcp -> 0.0.0.0:18090\n91/tcp -> 0.0.0.0:18091\n92/tcp -> 0.0.0.0:18092' ]
  # one port of a host range: the first free one, then the next
  web r2 -p 18095-18096:80
  web r3 -p 18095-18096:80
  [ "$(docker port r2 80)" = "0.0.0.0:18095" ]
  [ "$(docker port r3 80)" = "0.0.0.0:18096" ]
  wait_until 5 served http://127.0.0.1:18096/ "hello from r3"
  served http://127.0.0.1:18095/ "hello from r2"
  run docker run -d --name r4 -p 18095-18096:80 busybox sleep 300
  [ "$status" -ne 0 ]
  [[ "$output" == *"driver failed programming external connectivity on endpoint r4 ("*"): all ports are allocated"* ]]
}

@test "-p 127.0.0.1::80, -p IP:HOST:CTR and daemon.json ip: published on that address only" {
  web l1 -p 127.0.0.1::80
  [ "$(docker port l1)" = "80/tcp -> 127.0.0.1:40000" ]
  [ "$(docker ps --format '{{.Ports}}' -f name=l1)" = "127.0.0.1:40000->80/tcp" ]
  wait_until 5 served http://127.0.0.1:40000/ "hello from l1"
  run get http://10.99.0.1:40000/
  [ "$status" -ne 0 ]
  run peer_get http://10.99.0.1:40000/
  [ "$status" -ne 0 ]
  # one port number on two addresses: two containers
  web l2 -p 10.99.0.1:18081:80
  web l3 -p 127.0.0.1:18081:80
  wait_until 5 served http://127.0.0.1:18081/ "hello from l3"
  [ "$(peer_get http://10.99.0.1:18081/)" = "hello from l2" ]
  [ "$(nft_ports | grep -c ':18081 ')" -eq 2 ]
  # every address clashes with both
  run docker run -d --name l4 -p 18081:80 busybox sleep 300
  [ "$status" -ne 0 ]
  [[ "$output" == *": Bind for 10.99.0.1:18081 failed: port is already allocated"* ]]
  # daemon.json "ip": the address of a port published without one
  with_config '{"ip": "127.0.0.1"}'
  web l5 -p 18083:80
  [ "$(docker port l5)" = "80/tcp -> 127.0.0.1:18083" ]
  wait_until 5 served http://127.0.0.1:18083/ "hello from l5"
  run peer_get http://10.99.0.1:18083/
  [ "$status" -ne 0 ]
}

@test "a port another container holds: dockerd's error, the second not started, nothing leaked" {
  web p1 -p 18080:80
  run docker run -d --name p2 -p 18079:80 -p 18080:81 busybox sleep 300
  [ "$status" -eq 125 ]
  [[ "$output" =~ "Error response from daemon: failed to set up container networking: driver failed programming external connectivity on endpoint p2 ("[0-9a-f]{64}"): Bind for 0.0.0.0:18080 failed: port is already allocated" ]]
  [ "$(docker inspect -f '{{.State.Status}} {{.State.Running}}' p2)" = "created false" ]
  # no element of p2's, and 18079 (held before the clash was found) let go
  [ "$(nft_ports)" = "port tcp 0.0.0.0:18080 -> 172.17.0.2:80" ]
  ! in_netns ss -ltn | grep -q ':18079 '
  web p3 -p 18079:80
  [ "$(docker inspect -f '{{.NetworkSettings.IPAddress}}' p3)" = 172.17.0.3 ] # p2's address went back
  wait_until 5 served http://127.0.0.1:18079/ "hello from p3"
  [ "$(in_netns ip -o link show type veth | grep -c ': vb')" -eq 2 ]
  # once p1 is gone, p2 starts
  docker rm -f p1 >/dev/null
  docker rm -f p3 >/dev/null
  docker start p2 >/dev/null
  [ "$(docker port p2 81)" = "0.0.0.0:18080" ]
}

@test "a port a host process holds: dockerd's error, nothing leaked" {
  bg in_netns "$NETPEER" tcp-who 18085
  wait_until 5 in_netns sh -c 'ss -ltn | grep -q ":18085 "'
  run docker run -d --name h1 -p 18085:80 busybox httpd -f -p 80
  [ "$status" -eq 125 ]
  [[ "$output" =~ "driver failed programming external connectivity on endpoint h1 ("[0-9a-f]{64}"): failed to bind host port for 0.0.0.0:18085:172.17.0.2:80/tcp: address already in use" ]]
  [ "$(docker inspect -f '{{.State.Status}}' h1)" = created ]
  no_ports
  [ "$(in_netns ip -o link show type veth | grep -c ': vb' || true)" -eq 0 ]
  # UDP too
  bg in_netns "$NETPEER" udp-echo 18086
  wait_until 5 in_netns sh -c 'ss -lun | grep -q ":18086 "'
  run docker run -d --name h2 -p 18086:53/udp busybox sleep 300
  [[ "$output" == *"failed to bind host port for 0.0.0.0:18086:172.17.0.2:53/udp: address already in use"* ]]
  # a range skips what the host holds
  web h3 -p 18085-18087:80
  [ "$(docker port h3 80)" = "0.0.0.0:18086" ] # tcp 18086 is free; only udp 18086 is held
}

@test "hairpin: a container reaches its own published port through the host's addresses, others too" {
  web hp -p 18080:80
  docker run -d --name plain busybox sleep 300 >/dev/null
  wait_until 5 served http://127.0.0.1:18080/ "hello from hp"
  [ "$(docker exec hp timeout 3 wget -qO- http://172.17.0.1:18080/)" = "hello from hp" ]
  [ "$(docker exec hp timeout 3 wget -qO- http://10.99.0.1:18080/)" = "hello from hp" ]
  [ "$(docker exec plain timeout 3 wget -qO- http://10.99.0.1:18080/)" = "hello from hp" ]
  # hairpin mode on the port of the container that publishes, not on the other's
  local hp_if plain_if
  hp_if=$(docker inspect -f '{{.NetworkSettings.Networks.bridge.EndpointID}}' hp | cut -c1-11)
  plain_if=$(docker inspect -f '{{.NetworkSettings.Networks.bridge.EndpointID}}' plain | cut -c1-11)
  [[ "$(in_netns ip -d link show "vb$hp_if")" == *"hairpin on"* ]]
  [[ "$(in_netns ip -d link show "vb$plain_if")" == *"hairpin off"* ]]
}

@test "outbound: a container reaches a peer that has no route back, masqueraded; not with ip-masq false" {
  bg in_peer "$NETPEER" tcp-who 8000
  wait_until 5 in_peer sh -c 'ss -ltn | grep -q ":8000 "'
  [ "$(nft_networks)" = "network berth0 masq icc subnet 172.17.0.0/16" ]
  [ "$(docker run --rm busybox nc -w 3 10.99.0.2 8000 </dev/null)" = 10.99.0.1 ]
  with_config '{"ip-masq": false}'
  [ "$(nft_networks)" = "network berth0 icc subnet 172.17.0.0/16" ]
  run --separate-stderr docker run --rm busybox timeout 3 nc -w 2 10.99.0.2 8000
  [ "$status" -ne 0 ]
  [ -z "$output" ]
}

@test "icc false: containers do not reach each other; their published ports do; br_netfilter on" {
  with_config '{"icc": false}'
  [ "$(nft_networks)" = "network berth0 masq subnet 172.17.0.0/16" ]
  [ "$(in_netns cat /proc/sys/net/bridge/bridge-nf-call-iptables)" = 1 ]
  web i1 -p 18080:80
  docker run -d --name i2 busybox sleep 300 >/dev/null
  wait_until 5 served http://127.0.0.1:18080/ "hello from i1"
  [ "$(peer_get http://10.99.0.1:18080/)" = "hello from i1" ]
  run docker exec i2 timeout 2 wget -qO- http://172.17.0.2/
  [ "$status" -ne 0 ]
  run docker exec i2 ping -c1 -W1 172.17.0.2
  [ "$status" -ne 0 ]
  # the daemon's side still reaches it
  served http://172.17.0.2/ "hello from i1"
  # and icc back on, they do
  with_config '{"icc": true}'
  web i1b
  docker run --rm busybox timeout 3 wget -qO- http://172.17.0.2/ | grep -q "hello from i1b"
}

@test "iptables false: berth adds no rules, removes its old tables, and a published port fails the start" {
  [ -n "$(nft_networks)" ]
  with_config '{"iptables": false}'
  [ -z "$(nft_networks)" ]
  no_ports
  run docker run -d --name f1 -p 18080:80 busybox sleep 300
  [ "$status" -eq 125 ]
  [[ "$output" == *'published ports need berth'"'"'s nftables rules, and daemon.json has "iptables": false'* ]]
  [ "$(docker inspect -f '{{.State.Status}}' f1)" = created ]
  docker run --rm busybox true # without ports it runs
}

@test "restart of berthd: the new run's ports work, the old run's elements are gone" {
  web s1 -p 18080:80
  web s2 -p 18081:80
  [ "$(nft_ports | wc -l)" -eq 2 ]
  restart_berthd
  no_ports
  [ "$(nft_networks)" = "network berth0 masq icc subnet 172.17.0.0/16" ]
  docker start s2 >/dev/null
  web s3 -p 18080:80
  wait_until 5 served http://127.0.0.1:18080/ "hello from s3"
  served http://127.0.0.1:18081/ "hello from s2"
  [ "$(nft_ports)" = $'port tcp 0.0.0.0:18080 -> 172.17.0.3:80\nport tcp 0.0.0.0:18081 -> 172.17.0.2:80' ]
}

@test "kill -9 of berthd: the restart removes the elements it left; the ports work again" {
  web k1 -p 18080:80
  docker run -d --name k2 -p 127.0.0.1:18082:80/udp -p 18083:83 busybox sleep 300 >/dev/null
  [ "$(nft_ports | wc -l)" -eq 3 ]
  kill -KILL "$BT_PID"
  wait "$BT_PID" 2>/dev/null || true
  BT_PID=
  [ "$(nft_ports | wc -l)" -eq 3 ] # left behind
  berthd_spawn "${BT_ARGS[@]}"
  no_ports
  [ "$(nft_networks)" = "network berth0 masq icc subnet 172.17.0.0/16" ]
  run get http://127.0.0.1:18080/
  [ "$status" -ne 0 ]
  docker start k1 >/dev/null
  wait_until 5 served http://127.0.0.1:18080/ "hello from k1"
  [ "$(nft_ports)" = "port tcp 0.0.0.0:18080 -> 172.17.0.2:80" ]
}

@test "create: dockerd's checks of PortBindings; IPv6 host addresses refused by name; --network none publishes nothing" {
  refused '{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"abc"}]}}}' \
    'invalid port specification: "abc"'
  refused '{"Image":"busybox","HostConfig":{"PortBindings":{"x/tcp":[{"HostPort":"80"}]}}}' \
    'invalid port specification: "x"'
  refused '{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"90-80"}]}}}' \
    'invalid port specification: "90-80"'
  cli_refused "HostConfig.PortBindings: an IPv6 host address (::1) is not supported yet: the default bridge is IPv4-only" \
    -p '[::1]:8080:80'
  docker run -d --name n1 --network none -p 18080:80 busybox sleep 300 >/dev/null
  [ -z "$(docker port n1)" ]
  [ "$(docker inspect -f '{{json .NetworkSettings.Ports}}' n1)" = '{}' ]
  no_ports
}
