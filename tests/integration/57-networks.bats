#!/usr/bin/env bats
# User-defined bridge networks (issue 13 §5, §6): berthd in a network namespace of its own
# (bt_netns_up, as 55-bridge). docker network create/ls/inspect/rm/prune in dockerd's shapes and
# words, a container on a user network (its bridge br-<12 hex>, --ip, --internal), isolation
# between networks, the records kept across a restart, and the network events.

bats_require_minimum_version 1.5.0

load helpers
load containers

setup_file() { ctr_setup_file; }
setup() { CTR_BRIDGE=1 ctr_setup; }
teardown() { ctr_teardown; }

ip_on() { docker inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"; }

web() {
  local name=$1
  shift
  docker run -d --name "$name" "$@" busybox sh -c \
    "mkdir /www && echo hello from $name >/www/index.html && exec httpd -f -p 80 -h /www" >/dev/null
}

@test "network create, ls, inspect and rm in dockerd's shapes; the bridge br-<12 hex of the ID>" {
  local id
  id=$(docker network create --label team=a n1)
  [[ "$id" =~ ^[0-9a-f]{64}$ ]]
  in_netns ip link show "br-${id:0:12}"
  run docker network ls --format '{{.Name}} {{.Driver}} {{.Scope}}'
  [[ "$output" == *"n1 bridge local"* ]]
  [ "$(docker network inspect -f '{{.Id}} {{.Driver}} {{.Internal}} {{.Attachable}} {{index .Labels "team"}}' n1)" = "$id bridge false false a" ]
  local subnet gw
  subnet=$(docker network inspect -f '{{(index .IPAM.Config 0).Subnet}}' n1)
  gw=$(docker network inspect -f '{{(index .IPAM.Config 0).Gateway}}' n1)
  [ -n "$subnet" ] && [ "$subnet" != 172.17.0.0/16 ]
  in_netns ip -o -4 addr show "br-${id:0:12}" | grep -q "inet $gw/"
  [ "$(docker network ls -q --filter label=team=a --no-trunc)" = "$id" ]
  [ "$(docker network ls -q --filter type=custom --no-trunc)" = "$id" ]
  # a name taken: dockerd's 409 words
  run docker network create n1
  [ "$status" -ne 0 ]
  [[ "$output" == *"network with name n1 already exists"* ]]
  docker network rm n1
  run in_netns ip link show "br-${id:0:12}"
  [ "$status" -ne 0 ]
  run docker network inspect n1
  [ "$status" -ne 0 ]
  [[ "$output" == *"network n1 not found"* ]]
  # two creates at once pick two subnets
  docker network create p1 >/dev/null &
  local p1=$!
  docker network create p2 >/dev/null
  wait "$p1" # not a bare wait: the test netns's holder is a child too
  [ "$(docker network inspect -f '{{(index .IPAM.Config 0).Subnet}}' p1)" != "$(docker network inspect -f '{{(index .IPAM.Config 0).Subnet}}' p2)" ]
}

@test "create with --subnet --gateway --ip-range, -o bridge.name and mtu; overlaps refused" {
  docker network create --subnet 10.77.0.0/16 --gateway 10.77.0.254 --ip-range 10.77.5.0/24 \
    -o com.docker.network.bridge.name=btnet0 -o com.docker.network.driver.mtu=1400 n2 >/dev/null
  in_netns ip -o -4 addr show btnet0 | grep -q 'inet 10.77.0.254/16'
  in_netns ip -o link show btnet0 | grep -q "mtu 1400"
  [ "$(docker network inspect -f '{{(index .IPAM.Config 0).IPRange}}' n2)" = 10.77.5.0/24 ]
  run docker run --rm --network n2 busybox sh -c 'ip -o -4 addr show eth0; cat /sys/class/net/eth0/mtu; ip route'
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == *"inet 10.77.5.0/16"* || "${lines[0]}" == *"inet 10.77.5.1/16"* ]]
  [ "${lines[1]}" = 1400 ]
  [[ "$output" == *"default via 10.77.0.254 dev eth0"* ]]
  run docker network create --subnet 10.77.128.0/24 n3
  [ "$status" -ne 0 ]
  [[ "$output" == *"Pool overlaps with other one on this address space"* ]]
  run docker network create -d overlay n4
  [ "$status" -ne 0 ]
  [[ "$output" == *"not supported yet"* ]]
}

@test "two containers on a user network reach each other by address; not across two networks" {
  docker network create na >/dev/null
  docker network create nb >/dev/null
  web wa --network na --network-alias webalias
  docker run -d --name a2 --network na busybox sleep 300 >/dev/null
  docker run -d --name b1 --network nb busybox sleep 300 >/dev/null
  local ipa
  ipa=$(ip_on wa na)
  [ -n "$ipa" ]
  [ "$(docker exec a2 timeout 5 wget -qO- "http://$ipa/")" = "hello from wa" ]
  # by name, alias and short ID through the embedded DNS server
  [ "$(docker exec a2 timeout 5 wget -qO- http://wa/)" = "hello from wa" ]
  [ "$(docker exec a2 timeout 5 wget -qO- http://webalias/)" = "hello from wa" ]
  local wid
  wid=$(docker inspect -f '{{.Id}}' wa)
  [ "$(docker exec a2 timeout 5 wget -qO- "http://${wid:0:12}/")" = "hello from wa" ]
  docker exec wa ping -c1 -W2 a2
  run docker exec a2 nslookup wa 127.0.0.11
  [[ "$output" == *"$ipa"* ]]
  [ "$(docker inspect -f '{{json (index .NetworkSettings.Networks "na").Aliases}}' wa)" = '["webalias"]' ]
  [ "$(docker inspect -f '{{json (index .NetworkSettings.Networks "na").DNSNames}}' wa)" = "[\"wa\",\"webalias\",\"${wid:0:12}\"]" ]
  # not a name of another network
  run docker exec b1 timeout 3 wget -qO- http://wa/
  [ "$status" -ne 0 ]
  run docker exec b1 timeout 3 wget -qO- "http://$ipa/"
  [ "$status" -ne 0 ]
  run docker exec b1 ping -c1 -W1 "$ipa"
  [ "$status" -ne 0 ]
  # inspect of the network lists its running containers
  run docker network inspect -f '{{range .Containers}}{{.Name}} {{end}}' na
  [[ "$output" == *wa* && "$output" == *a2* ]]
  # in use: dockerd's words
  run docker network rm na
  [ "$status" -ne 0 ]
  [[ "$output" == *"has active endpoints"* ]]
  # resolv.conf: the embedded server's address and ndots:0
  run docker exec a2 cat /etc/resolv.conf
  [[ "$output" == *"nameserver 127.0.0.11"* ]]
  [[ "$output" == *"options ndots:0"* ]]
}

@test "--ip on a network with a subnet; --internal has no way out" {
  docker network create --subnet 10.78.0.0/24 nip >/dev/null
  docker run -d --name fixed --network nip --ip 10.78.0.50 busybox sleep 300 >/dev/null
  [ "$(ip_on fixed nip)" = 10.78.0.50 ]
  docker exec fixed ip -o -4 addr show eth0 | grep -q 'inet 10.78.0.50/24'
  docker network create --internal nint >/dev/null
  [ "$(docker network inspect -f '{{.Internal}}' nint)" = true ]
  run docker run --rm --network nint busybox sh -c 'ip route; ping -c1 -W1 10.78.0.1'
  [ "$status" -ne 0 ]
  [[ "$output" != *default* ]]
}

@test "networks and their addresses survive a restart of berthd; prune removes unused ones" {
  docker network create --subnet 10.79.0.0/24 keep >/dev/null
  local id
  id=$(docker network inspect -f '{{.Id}}' keep)
  docker network create unused >/dev/null
  restart_berthd
  web w1 --network keep # at once: the records are read before the API listens
  [ "$(docker network inspect -f '{{.Id}} {{(index .IPAM.Config 0).Subnet}}' keep)" = "$id 10.79.0.0/24" ]
  docker run -d --name w2 --network keep busybox sleep 300 >/dev/null
  [ "$(docker exec w2 timeout 5 wget -qO- "http://$(ip_on w1 keep)/")" = "hello from w1" ]
  run docker network prune -f
  [ "$status" -eq 0 ]
  [[ "$output" == *unused* ]]
  [[ "$output" != *keep* ]]
  run docker network inspect unused
  [ "$status" -ne 0 ]
}

@test "network events: create, connect at a start, disconnect at its end, destroy" {
  local since
  since=$(date +%s)
  docker network create ev1 >/dev/null
  docker run --rm --name evc --network ev1 busybox true
  run docker events --since "$since" --until "$(($(date +%s) + 1))" --filter type=network \
    --format '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.container}}'
  local cid
  cid=$(docker events --since "$since" --until "$(($(date +%s) + 1))" --filter event=create \
    --filter type=container --format '{{.Actor.ID}}')
  [ "${lines[1]}" = "connect ev1 $cid" ]
  [ "${lines[2]}" = "disconnect ev1 $cid" ]
  docker network rm ev1 >/dev/null
  run docker events --since "$since" --until "$(($(date +%s) + 1))" --filter type=network \
    --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'
  [ "${lines[0]}" = "network create ev1" ]
  [ "${lines[3]}" = "network destroy ev1" ]
  # the network filter: by name or ID
  run docker events --since "$since" --until "$(($(date +%s) + 1))" --filter network=ev1 \
    --format '{{.Action}}'
  [ "$output" = "$(printf 'create\nconnect\ndisconnect\ndestroy')" ]
  run docker events --since "$since" --until "$(($(date +%s) + 1))" --filter network=other \
    --format '{{.Action}}'
  [ -z "$output" ]
}

@test "connect and disconnect a running container: eth1 on the second network, names on both" {
  docker network create --subnet 10.81.0.0/24 nx >/dev/null
  docker network create --subnet 10.82.0.0/24 ny >/dev/null
  web wx --network nx
  web wy --network ny
  docker run -d --name both --network nx busybox sleep 300 >/dev/null
  # only nx at first
  run docker exec both timeout 3 wget -qO- http://wy/
  [ "$status" -ne 0 ]
  docker network connect --alias bothy ny both
  docker exec both ip -o -4 addr show eth1 | grep -q 'inet 10.82.0.'
  [ "$(docker exec both timeout 5 wget -qO- http://wx/)" = "hello from wx" ]
  [ "$(docker exec both timeout 5 wget -qO- http://wy/)" = "hello from wy" ]
  # the others on ny find it by its name and alias there
  docker exec wy ping -c1 -W2 both
  docker exec wy ping -c1 -W2 bothy
  [ "$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' both)" = "nx ny " ]
  [ "$(docker inspect -f '{{json (index .NetworkSettings.Networks "ny").Aliases}}' both)" = '["bothy"]' ]
  run docker network inspect -f '{{range .Containers}}{{.Name}} {{end}}' ny
  [[ "$output" == *both* ]]
  run docker network connect ny both
  [ "$status" -ne 0 ]
  [[ "$output" == *"endpoint with name both already exists in network ny"* ]]
  run docker network rm ny
  [[ "$output" == *"has active endpoints"* ]]
  docker network disconnect ny both
  run docker exec both ip link show eth1
  [ "$status" -ne 0 ]
  run docker exec both timeout 3 wget -qO- "http://10.82.0.2/"
  [ "$status" -ne 0 ]
  [ "$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' both)" = "nx " ]
  run docker exec wy ping -c1 -W1 both
  [ "$status" -ne 0 ]
  # connect again: its address back
  docker network connect ny both
  [ "$(docker exec both timeout 5 wget -qO- http://wy/)" = "hello from wy" ]
  # the predefined networks' modes, in dockerd's words
  docker run -d --name hostc --network host busybox sleep 300 >/dev/null
  run docker network connect ny hostc
  [[ "$output" == *"container cannot be disconnected from host network or connected to host network"* ]]
  # events
  run docker events --since 0 --until "$(($(date +%s) + 1))" --filter type=network --filter event=connect \
    --format '{{.Action}} {{.Actor.Attributes.name}}'
  [[ "$output" == *"connect ny"* ]]
  docker rm -f both >/dev/null
  docker network rm ny >/dev/null 2>&1 || { docker rm -f wy >/dev/null; docker network rm ny >/dev/null; }
}

@test "the embedded DNS server forwards other names to the resolvers (--dns), from the daemon's side" {
  # nsenter itself (not in_netns, a function): $! is the resolver's own PID, killed below
  nsenter "--net=/proc/$BT_NETNS_PID/ns/net" "$HOSTPY" "$BATS_TEST_DIRNAME/dnsstub.py" \
    127.0.0.1:53 10.9.8.7 >/dev/null 2>&1 3>&- &
  local stub=$!
  docker network create nf >/dev/null
  docker run -d --name fw --network nf --dns 127.0.0.1 busybox sleep 300 >/dev/null
  # resolv.conf keeps 127.0.0.11: the upstream is the server's business, as dockerd's
  run docker exec fw grep nameserver /etc/resolv.conf
  [ "$output" = "nameserver 127.0.0.11" ]
  run docker exec fw timeout 5 nslookup example.org
  kill "$stub"
  wait "$stub" 2>/dev/null || true
  [[ "$output" == *"10.9.8.7"* ]]
}

@test "the embedded DNS server answers A and PTR over UDP and TCP; a removed container's name goes" {
  docker network create nd >/dev/null
  docker run -d --name dq1 --network nd busybox sleep 300 >/dev/null
  docker run -d --name dq2 --network nd busybox sleep 300 >/dev/null
  local ip pid rev
  ip=$(ip_on dq1 nd)
  pid=$(docker inspect -f '{{.State.Pid}}' dq2)
  rev=$(echo "$ip" | awk -F. '{print $4"."$3"."$2"."$1".in-addr.arpa"}')
  # dnsquery.py in dq2's network namespace: a client of its 127.0.0.11, as the container's own
  q() { nsenter "--net=/proc/$pid/ns/net" "$HOSTPY" "$BATS_TEST_DIRNAME/dnsquery.py" "$@"; }
  [ "$(q udp 127.0.0.11 dq1 A)" = "$ip" ]
  [ "$(q tcp 127.0.0.11 dq1 A)" = "$ip" ]
  [ "$(q udp 127.0.0.11 "$rev" PTR)" = dq1.nd ]
  [ "$(q tcp 127.0.0.11 "$rev" PTR)" = dq1.nd ]
  docker rm -f dq1 >/dev/null
  run q udp 127.0.0.11 dq1 A
  [ "$status" -ne 0 ]
  run q udp 127.0.0.11 "$rev" PTR
  [ "$status" -ne 0 ]
}

@test "--aux-address: reserved in the subnet, never given to a container; kept across a restart" {
  docker network create --subnet 10.79.0.0/24 --aux-address r1=10.79.0.2 --aux-address r2=10.79.0.3 nx >/dev/null
  [ "$(docker network inspect -f '{{json (index .IPAM.Config 0).AuxiliaryAddresses}}' nx)" = '{"r1":"10.79.0.2","r2":"10.79.0.3"}' ]
  docker run -d --name x1 --network nx busybox sleep 300 >/dev/null
  [ "$(ip_on x1 nx)" = 10.79.0.4 ]
  run docker run --rm --network nx --ip 10.79.0.2 busybox true
  [ "$status" -ne 0 ]
  [[ "$output" == *"Address already in use"* ]] # dockerd's words for --ip of a taken address
  docker rm -f x1 >/dev/null
  restart_berthd
  [ "$(docker network inspect -f '{{json (index .IPAM.Config 0).AuxiliaryAddresses}}' nx)" = '{"r1":"10.79.0.2","r2":"10.79.0.3"}' ]
  docker run -d --name x2 --network nx busybox sleep 300 >/dev/null
  [ "$(ip_on x2 nx)" = 10.79.0.4 ] # the reserved ones still skipped after the restart
  # outside the subnet: refused by the daemon too (the CLI checks it first), nothing made
  run api POST /networks/create -H 'Content-Type: application/json' \
    -d '{"Name":"ny","IPAM":{"Config":[{"Subnet":"10.80.0.0/24","AuxiliaryAddresses":{"r":"10.81.0.2"}}]}}'
  echo "$output"
  [ "${lines[-1]}" = "HTTP 400" ]
  [[ "$output" == *"invalid auxiliary address r"* ]]
  run docker network inspect ny
  [ "$status" -ne 0 ]
}
