#!/usr/bin/env bats
# docker network connect and disconnect beyond a running container (issue 13 §5): a created or
# stopped container connected (kept in its record, joined at its next start with --ip and
# --alias), several networks at create (docker run --network a --network b: eth0, eth1, the
# default route as dockerd picks it), a default-bridge container given the embedded DNS server
# when a user network joins, ps --filter network, the default bridge's connect and disconnect
# events, dockerd's words for what is refused; docker-py and docker-compose (v1, which creates
# on one network and connects the others before the start). berthd in a network namespace of
# its own (bt_netns_up), as 57-networks.

# bats file_tags=reactor-neutral

bats_require_minimum_version 1.5.0

load helpers
load containers

setup_file() { ctr_setup_file; }
setup() { CTR_BRIDGE=1 ctr_setup; }
teardown() { ctr_teardown; }

web() {
  local name=$1
  shift
  docker run -d --name "$name" "$@" busybox sh -c \
    "mkdir /www && echo hello from $name >/www/index.html && exec httpd -f -p 80 -h /www" >/dev/null
}

nets_of() { docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$1"; }

@test "connect a created container: kept in its record, joined at its start with --ip and --alias; disconnect of a stopped one" {
  docker network create --subnet 10.91.0.0/24 ca >/dev/null
  docker network create --subnet 10.92.0.0/24 cb >/dev/null
  web wb --network cb
  docker create --name cc --network ca busybox sleep 300 >/dev/null
  docker network connect --ip 10.92.0.50 --alias ccb cb cc
  # a second connect of a stopped one: nothing new, as dockerd
  docker network connect cb cc
  [ "$(nets_of cc)" = "ca cb " ]
  [ "$(docker inspect -f '{{(index .NetworkSettings.Networks "cb").IPAMConfig.IPv4Address}}' cc)" = 10.92.0.50 ]
  [ "$(docker inspect -f '{{(index .NetworkSettings.Networks "cb").NetworkID}}' cc)" = "$(docker network inspect -f '{{.Id}}' cb)" ]
  [ "$(docker ps -a --filter network=cb --format '{{.Names}}' | sort | tr '\n' ' ')" = "cc wb " ]
  docker start cc >/dev/null
  docker exec cc ip -o -4 addr show eth0 | grep -q 'inet 10.91.0.'
  docker exec cc ip -o -4 addr show eth1 | grep -q 'inet 10.92.0.50/24'
  [ "$(docker exec cc timeout 5 wget -qO- http://wb/)" = "hello from wb" ]
  docker exec wb ping -c1 -W2 ccb
  docker exec wb ping -c1 -W2 cc
  [ "$(docker inspect -f '{{(index .NetworkSettings.Networks "cb").IPAddress}}' cc)" = 10.92.0.50 ]
  run docker network inspect -f '{{range .Containers}}{{.Name}} {{end}}' cb
  [[ "$output" == *cc* ]]
  # it stays connected across a restart of the container
  docker restart -t 0 cc >/dev/null
  docker exec cc ip -o -4 addr show eth1 | grep -q 'inet 10.92.0.50/24'
  docker stop -t 0 cc >/dev/null
  docker network disconnect cb cc
  [ "$(nets_of cc)" = "ca " ]
  run docker network disconnect cb cc
  [ "$status" -ne 0 ]
  [[ "$output" == *"is not connected to network cb"* ]]
  docker start cc >/dev/null
  run docker exec cc ip link show eth1
  [ "$status" -ne 0 ]
  [ -z "$(docker ps --filter network=cb --filter name=cc -q)" ]
  # disconnect -f of a container that is gone: dockerd's endpoint lookup
  run docker network disconnect -f cb nosuch
  [ "$status" -ne 0 ]
  [[ "$output" == *"endpoint nosuch not found"* ]]
  docker network disconnect -f ca cc 2>/dev/null || true
}

@test "docker run --network a --network b: eth0 and eth1, the default route by dockerd's choice, names on each" {
  docker network create --subnet 10.93.0.0/24 zz >/dev/null
  docker network create --subnet 10.94.0.0/24 aa >/dev/null
  docker network create --internal --subnet 10.95.0.0/24 ai >/dev/null
  web wz --network zz
  web wa --network aa
  docker run -d --name mm --network zz --network aa busybox sleep 300 >/dev/null
  docker exec mm ip -o -4 addr show eth0 | grep -q 'inet 10.93.0.'
  docker exec mm ip -o -4 addr show eth1 | grep -q 'inet 10.94.0.'
  # no priority, neither internal: the first network by name has the default route
  [[ "$(docker exec mm ip route)" == *"default via 10.94.0.1 dev eth1"* ]]
  [ "$(docker exec mm ip route | grep -c default)" -eq 1 ]
  [ "$(docker exec mm timeout 5 wget -qO- http://wz/)" = "hello from wz" ]
  [ "$(docker exec mm timeout 5 wget -qO- http://wa/)" = "hello from wa" ]
  docker exec wz ping -c1 -W2 mm
  docker exec wa ping -c1 -W2 mm
  [ "$(nets_of mm)" = "aa zz " ]
  [ "$(docker ps --filter network=aa --filter name=^mm$ --format '{{.Names}}')" = mm ]
  # gw-priority wins over the name
  docker run -d --name pp --network name=zz,gw-priority=1 --network aa busybox sleep 300 >/dev/null
  [[ "$(docker exec pp ip route)" == *"default via 10.93.0.1 dev eth0"* ]]
  # an internal network never has it
  docker run -d --name ii --network ai --network zz busybox sleep 300 >/dev/null
  [[ "$(docker exec ii ip route)" == *"default via 10.93.0.1 dev eth1"* ]]
  # through the API: EndpointsConfig with two keys
  [ "$(api_save POST /v1.47/containers/create?name=qq -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","Cmd":["sleep","300"],"HostConfig":{"NetworkMode":"aa"},"NetworkingConfig":{"EndpointsConfig":{"aa":{},"zz":{"Aliases":["qz"]}}}}')" = 201 ]
  docker start qq >/dev/null
  docker exec wz ping -c1 -W2 qz
  # beside host or none (the CLI says its own words first): dockerd's through the API
  [ "$(api_save POST /v1.47/containers/create -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","HostConfig":{"NetworkMode":"host"},"NetworkingConfig":{"EndpointsConfig":{"host":{},"aa":{}}}}')" = 400 ]
  grep -q "container cannot be disconnected from host network or connected to host network" "$BT_DIR/api.body"
  [ "$(api_save POST /v1.47/containers/create -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","HostConfig":{"NetworkMode":"none"},"NetworkingConfig":{"EndpointsConfig":{"none":{},"aa":{}}}}')" = 400 ]
  grep -q "container cannot be connected to multiple networks with one of the networks in private (none) mode" "$BT_DIR/api.body"
  run docker run --rm --network aa --network nosuchnet busybox true
  [ "$status" -ne 0 ]
  [[ "$output" == *"network nosuchnet not found"* ]]
}

@test "a default-bridge container given a user network gets the embedded DNS server, as dockerd" {
  docker network create un >/dev/null
  web wu --network un
  docker run -d --name bb busybox sleep 300 >/dev/null
  run docker exec bb grep -c 'nameserver 127.0.0.11' /etc/resolv.conf
  [ "$output" = 0 ]
  docker network connect un bb
  # dockerd starts the sandbox's resolver when a user network's endpoint joins, and rewrites
  # resolv.conf to it (libnetwork's rebuildDNS)
  [ "$(docker exec bb grep nameserver /etc/resolv.conf)" = "nameserver 127.0.0.11" ]
  [ "$(docker exec bb timeout 5 wget -qO- http://wu/)" = "hello from wu" ]
  docker exec wu ping -c1 -W2 bb
  # the same at a start (the CLI refuses --network bridge --network un: connected while created)
  docker create --name b2 busybox sleep 300 >/dev/null
  docker network connect un b2
  docker start b2 >/dev/null
  [ "$(docker exec b2 grep nameserver /etc/resolv.conf)" = "nameserver 127.0.0.11" ]
  [ "$(docker exec b2 timeout 5 wget -qO- http://wu/)" = "hello from wu" ]
  [[ "$(docker exec b2 ip route)" == *"default via 172.17.0.1 dev eth0"* ]]
}

@test "the default bridge's connect and disconnect events; a connect while it runs" {
  local since bid cid uid
  since=$(date +%s)
  docker network create ue >/dev/null
  docker run --rm --name e1 busybox true
  cid=$(docker run -d --name e2 busybox sleep 300)
  docker network connect ue e2
  docker rm -f e2 >/dev/null
  bid=$(docker network inspect -f '{{.Id}}' bridge)
  uid=$(docker network inspect -f '{{.Id}}' ue)
  run docker events --since "$since" --until "$(($(date +%s) + 1))" --filter type=network \
    --format '{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}}'
  [[ "$output" == *"network connect $bid bridge bridge"* ]]
  [[ "$output" == *"network disconnect $bid bridge bridge"* ]]
  [[ "$output" == *"network connect $uid ue bridge"* ]]
  [[ "$output" == *"network disconnect $uid ue bridge"* ]]
  run docker events --since "$since" --until "$(($(date +%s) + 1))" --filter type=network \
    --filter event=connect --format '{{.Actor.Attributes.container}}'
  [[ "$output" == *"$cid"* ]]
}

@test "refusals in dockerd's words: host, none, twice, not on it, container:X" {
  docker network create rn >/dev/null
  docker run -d --name rr busybox sleep 300 >/dev/null
  run docker network connect host rr
  [ "$status" -ne 0 ]
  [[ "$output" == *"container cannot be disconnected from host network or connected to host network"* ]]
  run docker network connect none rr
  [ "$status" -ne 0 ]
  [[ "$output" == *"container cannot be connected to multiple networks with one of the networks in private (none) mode"* ]]
  run docker network connect bridge rr
  [ "$status" -ne 0 ]
  [[ "$output" == *"endpoint with name rr already exists in network bridge"* ]]
  docker network connect rn rr
  run docker network connect rn rr
  [ "$status" -ne 0 ]
  [[ "$output" == *"endpoint with name rr already exists in network rn"* ]]
  docker network disconnect rn rr
  run docker network disconnect rn rr
  [ "$status" -ne 0 ]
  [[ "$output" == *"is not connected to network rn"* ]]
  docker run -d --name ss --network container:rr busybox sleep 300 >/dev/null
  run docker network connect rn ss
  [ "$status" -ne 0 ]
  [[ "$output" == *"container sharing network namespace with another container or host cannot be connected to any other network"* ]]
  docker create --name s2 --network container:rr busybox true >/dev/null
  run docker network connect rn s2
  [ "$status" -ne 0 ]
  [[ "$output" == *"container sharing network namespace with another container or host cannot be connected to any other network"* ]]
}

@test "docker-py: create on one network, connect another, then start (as compose does)" {
  docker network create --subnet 10.96.0.0/24 pa >/dev/null
  docker network create --subnet 10.97.0.0/24 pb >/dev/null
  web wpb --network pb
  "$HOSTPY" - <<'EOF'
import docker
c = docker.from_env()
ctr = c.containers.create("busybox", ["sleep", "300"], name="py", network="pa")
c.networks.get("pb").connect(ctr, aliases=["pyb"])
ctr.start()
ctr.reload()
assert sorted(ctr.attrs["NetworkSettings"]["Networks"]) == ["pa", "pb"], ctr.attrs["NetworkSettings"]["Networks"]
code, out = ctr.exec_run(["ip", "-o", "-4", "addr", "show", "eth1"])
assert code == 0 and b"inet 10.97.0." in out, out
code, out = ctr.exec_run(["wget", "-qO-", "http://wpb/"])
assert out.strip() == b"hello from wpb", out
EOF
  docker exec wpb ping -c1 -W2 pyb
}

@test "docker-compose (v1): a service on two networks reaches both by name" {
  command -v docker-compose >/dev/null || skip "docker-compose is not installed"
  mkdir -p "$BT_DIR/proj"
  cat >"$BT_DIR/proj/docker-compose.yml" <<'EOF'
version: "2.4"
services:
  front:
    image: busybox
    command: sh -c "mkdir /www && echo front >/www/index.html && exec httpd -f -p 80 -h /www"
    networks: [fe]
  back:
    image: busybox
    command: sh -c "mkdir /www && echo back >/www/index.html && exec httpd -f -p 80 -h /www"
    networks: [be]
  mid:
    image: busybox
    command: sleep 300
    networks:
      fe: {}
      be:
        aliases: [middle]
networks:
  fe: {}
  be: {}
EOF
  (cd "$BT_DIR/proj" && COMPOSE_PROJECT_NAME=bt docker-compose up -d) >"$BT_DIR/compose.out" 2>&1 ||
    { cat "$BT_DIR/compose.out"; false; }
  [ "$(docker exec bt_mid_1 timeout 5 wget -qO- http://front/)" = front ]
  [ "$(docker exec bt_mid_1 timeout 5 wget -qO- http://back/)" = back ]
  docker exec bt_mid_1 ip -o -4 addr show eth1 >/dev/null
  docker exec bt_back_1 ping -c1 -W2 middle
  run docker exec bt_front_1 timeout 3 wget -qO- http://back/
  [ "$status" -ne 0 ]
  (cd "$BT_DIR/proj" && COMPOSE_PROJECT_NAME=bt docker-compose down -t 0) >"$BT_DIR/compose.out" 2>&1 ||
    { cat "$BT_DIR/compose.out"; false; }
  [ -z "$(docker ps -aq)" ]
  [ -z "$(docker network ls -q --filter type=custom)" ]
}
