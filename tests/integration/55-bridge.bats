#!/usr/bin/env bats
# The default network `bridge` (issue 13 §2, §8): berthd runs in a network namespace of its own
# (bt_netns_up: nothing touches the host's network; docker and curl reach its socket from here,
# in_netns runs ip, curl and busybox on the daemon's side). Containers on berth0 reach each other
# by address but not by name; eth0 has Docker's MAC rule, the address, MTU and default route;
# the daemon's side reaches them; inspect and docker network show what dockerd shows; daemon.json
# bip, mtu and "bridge": "none" are honoured; stop, rm, --network container:X, a failed start,
# kill -9 of berthd and 50 containers leave no veth and no address taken twice.
# bats file_tags=reactor-neutral

bats_require_minimum_version 1.5.0

load helpers
load containers

setup_file() { ctr_setup_file; }
setup() { CTR_BRIDGE=1 ctr_setup; }
teardown() { ctr_teardown; }

ip_of() { docker inspect -f '{{.NetworkSettings.IPAddress}}' "$1"; }

# The host ends of containers' veths in the daemon's namespace.
veths() { in_netns ip -o link show type veth | grep -c ': vb' || true; }
no_veths() { [ "$(veths)" -eq 0 ]; }

# web NAME [docker run flags...]: a container serving "hello from NAME" on port 80.
web() {
  local name=$1
  shift
  docker run -d --name "$name" "$@" busybox sh -c \
    "mkdir /www && echo hello from $name >/www/index.html && exec httpd -f -p 80 -h /www" >/dev/null
}

@test "two containers reach each other by address on the default bridge, not by name" {
  web ca
  docker run -d --name cb busybox sleep 300 >/dev/null
  local ipa ipb
  ipa=$(ip_of ca)
  ipb=$(ip_of cb)
  [ "$ipa" = 172.17.0.2 ]
  [ "$ipb" = 172.17.0.3 ]
  [ "$(docker exec cb wget -qO- "http://$ipa/")" = "hello from ca" ]
  docker exec cb ping -c1 -W2 "$ipa"
  docker exec ca ping -c1 -W2 "$ipb"
  # no name resolution on the default bridge (Docker's behaviour), and no hosts entry
  run docker exec cb ping -c1 -W1 ca
  [ "$status" -ne 0 ]
  [[ "$output" == *"bad address 'ca'"* ]]
  # busybox's wget -T crashes (a false pass): timeout bounds the resolver's wait instead
  run docker exec cb timeout 3 wget -qO- http://ca/
  [ "$status" -ne 0 ]
  [[ "$output" != *"hello from ca"* ]]
  run docker exec cb grep -w ca /etc/hosts
  [ "$status" -ne 0 ]
}

@test "eth0: the address, Docker's MAC rule, the MTU, the default route; /etc/hosts and resolv.conf" {
  run docker run --rm --name probe busybox sh -c \
    'ip -o -4 addr show eth0 | awk "{print \$4}"; cat /sys/class/net/eth0/address /sys/class/net/eth0/mtu; ip route | grep ^default; ls /sys/class/net | tr "\n" " "'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 172.17.0.2/16 ]
  [ "${lines[1]}" = 02:42:ac:11:00:02 ]
  [ "${lines[2]}" = 1500 ]
  [[ "${lines[3]}" == "default via 172.17.0.1 dev eth0"* ]]
  [ "${lines[4]}" = "eth0 lo " ]
  # its address and hostname last in /etc/hosts, as dockerd writes it
  docker run -d --name h1 busybox sleep 300 >/dev/null
  local id
  id=$(docker inspect -f '{{.Id}}' h1)
  [ "$(docker exec h1 tail -n 1 /etc/hosts)" = "$(printf '172.17.0.2\t%s' "${id:0:12}")" ]
  [ "$(docker exec h1 head -n 1 /etc/hosts)" = "$(printf '127.0.0.1\tlocalhost')" ]
  # the host's nameservers, without those of its loopback the container cannot reach
  run docker exec h1 grep -E '^nameserver (127\.|::1)' /etc/resolv.conf
  [ "$status" -ne 0 ]
  docker exec h1 grep -q '^nameserver ' /etc/resolv.conf
  # --hostname and --domainname: the FQDN, then the bare name; --add-host before it
  run docker run --rm --hostname web --domainname example.com --add-host db:10.9.9.9 busybox \
    tail -n 2 /etc/hosts
  [ "${lines[0]}" = "$(printf '10.9.9.9\tdb')" ]
  [ "${lines[1]}" = "$(printf '172.17.0.3\tweb.example.com web')" ]
  # --mac-address
  [ "$(docker run --rm --mac-address 02:42:aa:bb:cc:dd busybox cat /sys/class/net/eth0/address)" = 02:42:aa:bb:cc:dd ]
}

@test "the daemon's side: berth0 carries the gateway, forwards, and reaches a container" {
  [[ "$(in_netns ip -o -4 addr show berth0)" == *"inet 172.17.0.1/16 "* ]]
  [ "$(in_netns cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
  web cw
  local ip
  ip=$(ip_of cw)
  wait_until 5 in_netns curl -sf -o /dev/null "http://$ip/"
  [ "$(in_netns curl -s "http://$ip/")" = "hello from cw" ]
  in_netns busybox ping -c1 -W2 "$ip"
  # the host end is in the bridge
  [[ "$(in_netns ip -o link show type veth)" == *"master berth0"* ]]
}

@test "inspect: NetworkSettings and the bridge endpoint as dockerd shows them; ps; the start trace" {
  docker run -d --name ci busybox sleep 300 >/dev/null
  local netid
  netid=$(docker network inspect -f '{{.Id}}' bridge)
  [ "$(docker inspect -f '{{.HostConfig.NetworkMode}}' ci)" = bridge ]
  [ "$(docker inspect -f '{{.NetworkSettings.IPAddress}} {{.NetworkSettings.IPPrefixLen}} {{.NetworkSettings.Gateway}} {{.NetworkSettings.MacAddress}}' ci)" = "172.17.0.2 16 172.17.0.1 02:42:ac:11:00:02" ]
  [ "$(docker inspect -f '{{.NetworkSettings.Bridge}}' ci)" = "" ]
  [ "$(docker inspect -f '{{.NetworkSettings.SandboxKey}}' ci)" = "/proc/$(ctr_pid ci)/ns/net" ]
  docker inspect -f '{{json .NetworkSettings.Networks}}' ci >"$BT_DIR/nets"
  [ "$(jq -r 'keys | join(",")' "$BT_DIR/nets")" = bridge ]
  [ "$(jq -r .bridge.NetworkID "$BT_DIR/nets")" = "$netid" ]
  [ "$(jq -r .bridge.IPAddress "$BT_DIR/nets")" = 172.17.0.2 ]
  [ "$(jq -r .bridge.IPPrefixLen "$BT_DIR/nets")" = 16 ]
  [ "$(jq -r .bridge.Gateway "$BT_DIR/nets")" = 172.17.0.1 ]
  [ "$(jq -r .bridge.MacAddress "$BT_DIR/nets")" = 02:42:ac:11:00:02 ]
  [[ "$(jq -r .bridge.EndpointID "$BT_DIR/nets")" =~ ^[0-9a-f]{64}$ ]]
  [ "$(jq -r .bridge.EndpointID "$BT_DIR/nets")" = "$(docker inspect -f '{{.NetworkSettings.EndpointID}}' ci)" ]
  [ "$(jq -c '[.bridge.IPAMConfig, .bridge.Links, .bridge.Aliases, .bridge.DNSNames]' "$BT_DIR/nets")" = "[null,null,null,null]" ]
  # ps: the network filter and column
  [ "$(docker ps --filter network=bridge --format '{{.Names}} {{.Networks}}')" = "ci bridge" ]
  [ -z "$(docker ps --filter network=none -q)" ]
  # the start trace has the network's phases
  docker inspect -f '{{json .StartTrace}}' ci | jq -e '.NetnsUs > 0 and .PlumbUs > 0'
  run "$BERTH" -H "unix://$BT_SOCK" inspect --trace ci
  [[ "$output" == *Netns* ]] && [[ "$output" == *Plumb* ]]
  # stopped: no address, the network ID kept (dockerd's cleanOperationalData)
  docker stop -t 0 ci >/dev/null
  [ "$(docker inspect -f '{{.NetworkSettings.IPAddress}}|{{.NetworkSettings.EndpointID}}|{{.NetworkSettings.MacAddress}}' ci)" = "||" ]
  [ "$(docker inspect -f '{{.NetworkSettings.Networks.bridge.NetworkID}}' ci)" = "$netid" ]
  [ "$(docker inspect -f '{{.NetworkSettings.Networks.bridge.IPAddress}}' ci)" = "" ]
  # created, never started: on the bridge, nothing operational yet
  docker create --name fresh busybox true >/dev/null
  [ "$(docker inspect -f '{{.HostConfig.NetworkMode}} {{.NetworkSettings.Networks.bridge.NetworkID}}|' fresh)" = "bridge |" ]
}

@test "docker network ls and inspect: bridge, host and none; rm of them refused" {
  [ "$(docker network ls --format '{{.Name}} {{.Driver}} {{.Scope}}')" = $'bridge bridge local\nhost host local\nnone null local' ]
  web cn
  local ip id
  ip=$(ip_of cn)
  id=$(docker inspect -f '{{.Id}}' cn)
  docker network inspect bridge >"$BT_DIR/br"
  [ "$(jq -r '.[0].IPAM.Config[0].Subnet' "$BT_DIR/br")" = 172.17.0.0/16 ]
  [ "$(jq -r '.[0].IPAM.Config[0].Gateway' "$BT_DIR/br")" = 172.17.0.1 ]
  [ "$(jq -r '.[0].IPAM.Driver' "$BT_DIR/br")" = default ]
  [ "$(jq -r '.[0].Options["com.docker.network.bridge.name"]' "$BT_DIR/br")" = berth0 ]
  [ "$(jq -r '.[0].Options["com.docker.network.bridge.default_bridge"]' "$BT_DIR/br")" = true ]
  [ "$(jq -r '.[0].Options["com.docker.network.driver.mtu"]' "$BT_DIR/br")" = 1500 ]
  [ "$(jq -r --arg id "$id" '.[0].Containers[$id].IPv4Address' "$BT_DIR/br")" = "$ip/16" ]
  [ "$(jq -r --arg id "$id" '.[0].Containers[$id].Name' "$BT_DIR/br")" = cn ]
  [ "$(jq -r --arg id "$id" '.[0].Containers[$id].MacAddress' "$BT_DIR/br")" = 02:42:ac:11:00:02 ]
  [ "$(jq -r '.[0].Scope + " " + .[0].Driver + " " + (.[0].EnableIPv6|tostring)' "$BT_DIR/br")" = "local bridge false" ]
  # by ID, by a prefix of it; host and none
  local netid
  netid=$(jq -r '.[0].Id' "$BT_DIR/br")
  [ "$(docker network inspect -f '{{.Name}}' "$netid")" = bridge ]
  [ "$(docker network inspect -f '{{.Name}}' "${netid:0:6}")" = bridge ]
  [ "$(docker network inspect -f '{{.Driver}} {{json .IPAM.Config}}' none)" = "null null" ]
  [ "$(docker network inspect -f '{{.Driver}}' host)" = host ]
  run docker network inspect nope
  [ "$status" -ne 0 ]
  [[ "$output" == *"network nope not found"* ]]
  # filters
  [ "$(docker network ls --filter driver=bridge --format '{{.Name}}')" = bridge ]
  [ "$(docker network ls --filter name=o --format '{{.Name}}' | tr '\n' ' ')" = "host none " ]
  [ -z "$(docker network ls --filter type=custom -q)" ]
  [ -z "$(docker network ls --filter dangling=true -q)" ]
  [ "$(docker network ls --filter type=builtin -q | wc -l)" -eq 3 ]
  run docker network ls --filter type=bogus
  [[ "$output" == *"invalid filter: 'type'='bogus'"* ]]
  # what berth does not do yet, by name; predefined networks stay, in dockerd's words
  run docker network rm bridge
  [ "$status" -ne 0 ]
  [[ "$output" == *"bridge is a pre-defined network and cannot be removed"* ]]
  run docker network connect bridge cn
  [[ "$output" == *"endpoint with name cn already exists in network bridge"* ]]
  [ "$(docker network ls -q | wc -l)" -eq 3 ]
}

@test "daemon.json bip, fixed-cidr and mtu are honoured" {
  ctr_teardown
  CTR_BRIDGE=1 BT_CONFIG_EXTRA='"bip":"10.77.0.1/24","fixed-cidr":"10.77.0.128/25","mtu":1400' ctr_setup
  [[ "$(in_netns ip -o -4 addr show berth0)" == *"inet 10.77.0.1/24 "* ]]
  [[ "$(in_netns ip -o link show berth0)" == *"mtu 1400 "* ]]
  run docker run --rm busybox sh -c 'ip -o -4 addr show eth0 | awk "{print \$4}"; cat /sys/class/net/eth0/mtu; ip route | grep ^default'
  [[ "${lines[0]}" == 10.77.0.1[2-9][0-9]/24 || "${lines[0]}" == 10.77.0.2[0-9][0-9]/24 ]]
  [ "${lines[1]}" = 1400 ]
  [[ "${lines[2]}" == "default via 10.77.0.1 dev eth0"* ]]
  [ "$(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{.IPRange}} {{.Gateway}}{{end}}' bridge)" = "10.77.0.0/24 10.77.0.128/25 10.77.0.1" ]
  [ "$(docker network inspect -f '{{index .Options "com.docker.network.driver.mtu"}}' bridge)" = 1400 ]
}

@test "daemon.json bridge none: no bridge, the default network runs as none" {
  ctr_teardown
  bt_netns_up
  ctr_setup # "bridge": "none", in a namespace of its own
  run --separate-stderr docker run --rm busybox ls /sys/class/net
  [ "$output" = lo ]
  [ -z "$stderr" ]
  [ "$(docker network ls --format '{{.Name}}' | tr '\n' ' ')" = "host none " ]
  run in_netns ip link show berth0
  [ "$status" -ne 0 ]
  docker run -d --name cq busybox sleep 300 >/dev/null
  [ "$(docker inspect -f '{{.HostConfig.NetworkMode}} {{.NetworkSettings.IPAddress}}|' cq)" = "none |" ]
}

@test "stop and rm leave no veth; the address is given again; a failed start leaves nothing" {
  docker run -d --name s1 busybox sleep 300 >/dev/null
  [ "$(ip_of s1)" = 172.17.0.2 ]
  [ "$(veths)" -eq 1 ]
  docker stop -t 0 s1 >/dev/null
  wait_until 5 no_veths
  docker run -d --name s2 busybox sleep 300 >/dev/null
  [ "$(ip_of s2)" = 172.17.0.2 ] # s1's, free again
  docker start s1 >/dev/null
  [ "$(ip_of s1)" = 172.17.0.3 ]
  docker restart -t 0 s1 >/dev/null
  [ "$(ip_of s1)" = 172.17.0.3 ]
  [ "$(veths)" -eq 2 ]
  docker rm -f s1 s2 >/dev/null
  wait_until 5 no_veths
  # --rm
  [ "$(docker run --rm busybox cat /sys/class/net/eth0/address)" = 02:42:ac:11:00:02 ]
  wait_until 5 no_veths
  # a start that fails after the network was plumbed: nothing left, the address free
  run -127 docker run --name broken busybox /no/such/command
  wait_until 5 no_veths
  docker run -d --name s3 busybox sleep 300 >/dev/null
  [ "$(ip_of s3)" = 172.17.0.2 ]
}

@test "--network container:X shares X's bridge namespace; when X ends its veth goes with it" {
  web xx
  docker run -d --name yy --network container:xx busybox sleep 300 >/dev/null
  [ "$(docker exec yy ip -o -4 addr show eth0 | awk '{print $4}')" = 172.17.0.2/16 ]
  [ "$(docker exec yy wget -qO- http://127.0.0.1/)" = "hello from xx" ]
  docker stop -t 0 xx >/dev/null
  running yy
  wait_until 5 no_veths # yy still holds the netns: berth deleted the pair itself
  run docker exec yy ls /sys/class/net
  [ "$output" = lo ]
  # xx's address is free, and nobody else has it
  docker run -d --name zz busybox sleep 300 >/dev/null
  [ "$(ip_of zz)" = 172.17.0.2 ]
  in_netns busybox ping -c1 -W2 172.17.0.2
}

@test "kill -9 of berthd with running containers, then a restart: no stray veth, no address twice" {
  docker run -d --name k1 busybox sleep 300 >/dev/null
  docker run -d --name k2 busybox sleep 300 >/dev/null
  [ "$(veths)" -eq 2 ]
  local netid
  netid=$(docker network inspect -f '{{.Id}}' bridge)
  kill -KILL "$BT_PID"
  wait "$BT_PID" 2>/dev/null || true
  BT_PID=
  # a veth a crash left in the bridge (its netns held elsewhere): the restart removes it
  in_netns ip link add vbstale000001 type veth peer name btpeer
  in_netns ip link set vbstale000001 master berth0
  berthd_spawn "${BT_ARGS[@]}"
  wait_until 5 no_veths
  in_netns ip link show berth0 >/dev/null # the bridge is reused
  [[ "$(in_netns ip -o -4 addr show berth0)" == *"inet 172.17.0.1/16 "* ]]
  [ "$(docker network inspect -f '{{.Id}}' bridge)" != "$netid" ] # made again, as dockerd does
  # the containers went with the daemon: no address kept
  [ "$(docker inspect -f '{{.State.Running}} {{.NetworkSettings.IPAddress}}|' k1)" = "false |" ]
  docker start k1 >/dev/null
  docker run -d --name k3 busybox sleep 300 >/dev/null
  docker start k2 >/dev/null
  [ "$(for c in k1 k2 k3; do ip_of $c; done | sort -u | wc -l)" -eq 3 ]
  [ "$(ip_of k1)" = 172.17.0.2 ]
  [ "$(veths)" -eq 3 ]
}

@test "50 containers on the bridge started and removed leave nothing behind" {
  local base i
  base=$(fd_baseline)
  for i in $(seq 50); do docker run -d --name m$i busybox sleep 300 >/dev/null; done
  [ "$(for i in $(seq 50); do ip_of m$i; done | sort -u | wc -l)" -eq 50 ]
  [ "$(veths)" -eq 50 ]
  [ "$(ip_of m50)" = 172.17.0.51 ]
  docker rm -f $(docker ps -aq) >/dev/null
  wait_until 10 no_veths
  fds_back_to "$base"
  docker run -d --name after busybox sleep 300 >/dev/null
  [ "$(ip_of after)" = 172.17.0.2 ]
  [ "$(docker network inspect -f '{{len .Containers}}' bridge)" = 1 ]
}

@test "a default bridge daemon.json refuses, or that cannot be set up, keeps berthd from starting" {
  ctr_teardown
  bt_netns_up
  bt_prepare
  printf '{"bridge":"br-x","bip":"10.1.0.1/24"}\n' >"$BT_DIR/daemon.json"
  run timeout 10 nsenter "--net=/proc/$BT_NETNS_PID/ns/net" "$BERTHD" "${BT_FLAGS[@]}" 3>&-
  [ "$status" -eq 1 ]
  [[ "$output" == *"You specified -b & --bip, mutually exclusive options. Please specify only one"* ]]
  printf '{"icc":false,"iptables":false}\n' >"$BT_DIR/daemon.json"
  run timeout 10 nsenter "--net=/proc/$BT_NETNS_PID/ns/net" "$BERTHD" "${BT_FLAGS[@]}" 3>&-
  [ "$status" -eq 1 ]
  [[ "$output" == *"ICC=false uses iptables to function"* ]]
  printf '{"ipv6":true}\n' >"$BT_DIR/daemon.json"
  run timeout 10 nsenter "--net=/proc/$BT_NETNS_PID/ns/net" "$BERTHD" "${BT_FLAGS[@]}" 3>&-
  [[ "$output" == *"ipv6 (IPv6 on the default bridge) is not supported yet"* ]]
  # the bridge named is a link of another kind: berthd stops, in dockerd's words
  in_netns ip link add btveth0 type veth peer name btveth1
  printf '{"bridge":"btveth0"}\n' >"$BT_DIR/daemon.json"
  run timeout 20 nsenter "--net=/proc/$BT_NETNS_PID/ns/net" "$BERTHD" "${BT_FLAGS[@]}" 3>&-
  [ "$status" -eq 1 ]
  [[ "$output" == *'failed to start daemon: error creating default \"bridge\" network: btveth0 exists and is not a bridge'* ]]
  [ ! -S "$BT_SOCK" ]
}
