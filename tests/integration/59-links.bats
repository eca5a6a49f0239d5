#!/usr/bin/env bats
# Legacy links, docker run --link NAME[:ALIAS] (issue 13 §2), and the container's name files
# (§6): berthd in a network namespace of its own (bt_netns_up, as 55-bridge). On the default
# bridge the linking container gets the linked one's /etc/hosts line and Docker's link variables;
# the linked container must exist at create and run at start (dockerd's words); inspect shows
# HostConfig.Links as dockerd; docker rm --link removes a link; a restart of the linked container
# updates the linking one's hosts line (dockerd's UpdateHostsEntry); icc false refuses links. On a
# user network --link is a DNS alias only the linking container resolves.
# bats file_tags=reactor-neutral

bats_require_minimum_version 1.5.0

load helpers
load containers

setup_file() { ctr_setup_file; }
setup() { CTR_BRIDGE=1 ctr_setup; }
teardown() { ctr_teardown; }

ip_of() { docker inspect -f '{{.NetworkSettings.IPAddress}}' "$1"; }

web() {
  local name=$1
  shift
  docker run -d --name "$name" "$@" busybox sh -c \
    "mkdir -p /www && echo hello from $name >/www/index.html && exec httpd -f -p 80 -h /www" >/dev/null
}

@test "--link on the default bridge: the alias, name and hostname in /etc/hosts, reached by wget" {
  web srv --expose 80 -e GREETING=hi
  local ip id12
  ip=$(ip_of srv)
  id12=$(docker inspect -f '{{.Id}}' srv | cut -c1-12)
  run docker run --rm --name cli --link srv:db busybox sh -c 'grep -v -e localhost -e ip6- /etc/hosts; wget -qO- http://db/; wget -qO- http://srv/'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$(printf '%s\tdb %s srv' "$ip" "$id12")" ]
  [[ "${lines[1]}" == 172.17.0.*$'\t'* ]] # its own line follows, as in dockerd's file
  [ "${lines[2]}" = "hello from srv" ]
  [ "${lines[3]}" = "hello from srv" ]
  # --link NAME: the alias is the name, written once
  run docker run --rm --link srv busybox grep srv /etc/hosts
  [ "$output" = "$(printf '%s\tsrv %s' "$ip" "$id12")" ]
}

@test "--link: Docker's link variables from the linked container's exposed ports and env" {
  docker run -d --name src --expose 80 --expose 8080 --expose 8081 --expose 53/udp \
    -e GREETING=hi -e HOME=/x busybox sleep 300 >/dev/null
  local ip
  ip=$(ip_of src)
  run docker run --rm --name user --link src:my-db -e MY_DB_ENV_GREETING=mine busybox env
  [ "$status" -eq 0 ]
  local env=$output
  for want in "MY_DB_PORT=tcp://$ip:80" \
    "MY_DB_PORT_80_TCP=tcp://$ip:80" "MY_DB_PORT_80_TCP_ADDR=$ip" "MY_DB_PORT_80_TCP_PORT=80" \
    "MY_DB_PORT_80_TCP_PROTO=tcp" "MY_DB_PORT_8080_TCP=tcp://$ip:8080" \
    "MY_DB_PORT_8080_TCP_START=tcp://$ip:8080" "MY_DB_PORT_8080_TCP_PORT_START=8080" \
    "MY_DB_PORT_8080_TCP_END=tcp://$ip:8081" "MY_DB_PORT_8080_TCP_PORT_END=8081" \
    "MY_DB_PORT_53_UDP=udp://$ip:53" "MY_DB_PORT_53_UDP_PROTO=udp" \
    "MY_DB_NAME=/user/my-db" "MY_DB_ENV_GREETING=mine"; do
    grep -qxF "$want" <<<"$env" || { echo "missing $want in: $env"; false; }
  done
  # HOME and PATH are not passed on; the container's own Env wins over a link variable
  ! grep -q '^MY_DB_ENV_HOME=\|^MY_DB_ENV_PATH=' <<<"$env"
  [ "$(grep -c '^MY_DB_ENV_GREETING=' <<<"$env")" -eq 1 ]
  # docker exec gets them too, as dockerd computes them again for each exec
  docker run -d --name user2 --link src:db busybox sleep 300 >/dev/null
  [ "$(docker exec user2 sh -c 'echo $DB_PORT_80_TCP_ADDR $DB_NAME $DB_ENV_GREETING')" = "$ip /user2/db hi" ]
  docker stop -t 0 src >/dev/null
  run docker exec user2 true
  [ "$status" -ne 0 ]
  [[ "$output" == *"Cannot link to a non running container: /src AS /user2/db"* ]]
}

@test "--link errors in dockerd's words: no such container, bad format, host networking, not running" {
  run docker create --link nosuch:alias busybox true
  [ "$status" -ne 0 ]
  [[ "$output" == *"Error response from daemon: could not get container for nosuch: No such container: nosuch"* ]]
  [ "$(api_save POST /containers/create -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","HostConfig":{"Links":["a:b:c"]}}')" = 400 ]
  [ "$(jq -r .message "$BT_DIR/api.body")" = "bad format for links: a:b:c" ]
  docker create --name stopped busybox true >/dev/null
  run docker create --network host --link stopped:s busybox true
  [ "$status" -ne 0 ]
  [[ "$output" == *"conflicting options: host type networking can't be used with links. This would result in undefined behavior"* ]]
  [ "$(docker ps -aq | wc -l)" -eq 1 ]
  run docker run --rm --name lnk --link stopped:s busybox true
  [ "$status" -ne 0 ]
  [[ "$output" == *"Error response from daemon: Cannot link to a non running container: /stopped AS /lnk/s"* ]]
  # a linked container on another network than the default bridge
  docker run -d --name nonet --network none busybox sleep 300 >/dev/null
  run docker run --rm --link nonet:n busybox true
  [ "$status" -ne 0 ]
  [[ "$output" == *"Cannot link to /nonet, as it does not belong to the default network"* ]]
}

@test "inspect shows HostConfig.Links as dockerd; rm --link removes it" {
  docker run -d --name kid busybox sleep 300 >/dev/null
  docker create --name par --link kid:k --link kid busybox true >/dev/null
  [ "$(docker inspect -f '{{json .HostConfig.Links}}' par)" = '["/kid:/par/k","/kid:/par/kid"]' ]
  # a container's own name is no link
  run docker rm --link kid
  [ "$status" -ne 0 ]
  [[ "$output" == *"Conflict, cannot remove the default link name of the container"* ]]
  docker rm --link /par/k
  [ "$(docker inspect -f '{{json .HostConfig.Links}}' par)" = '["/kid:/par/kid"]' ]
  run docker rm --link par/nothere
  [ "$status" -ne 0 ]
  [[ "$output" == *"No such container: par/nothere"* ]]
  # rename of either side: the link follows, as dockerd's (kept by container) does
  docker rename par par2
  docker rename kid kid2
  [ "$(docker inspect -f '{{json .HostConfig.Links}}' par2)" = '["/kid2:/par2/kid"]' ]
  docker rename par2 par
  docker rename kid2 kid
  # the link survives a restart of berthd
  docker stop -t 0 kid >/dev/null
  restart_berthd
  [ "$(docker inspect -f '{{json .HostConfig.Links}}' par)" = '["/kid:/par/kid"]' ]
}

@test "a restart of the linked container: the linking container's hosts line follows its address" {
  web moving
  docker run -d --name watcher --link moving:m busybox sleep 300 >/dev/null
  local old new
  old=$(ip_of moving)
  [ "$(docker exec watcher wget -qO- http://m/)" = "hello from moving" ]
  docker stop -t 0 moving >/dev/null
  docker run -d --name taker busybox sleep 300 >/dev/null # takes moving's old address
  docker start moving >/dev/null
  new=$(ip_of moving)
  [ "$old" != "$new" ]
  wait_until 5 docker exec watcher grep -q "^$new"$'\t'"m " /etc/hosts
  [ "$(docker exec watcher wget -qO- http://m/)" = "hello from moving" ]
}

@test "--link with icc false is refused by name" {
  ctr_teardown
  CTR_BRIDGE=1 BT_CONFIG_EXTRA='"icc":false' ctr_setup
  docker run -d --name peer busybox sleep 300 >/dev/null
  run docker run --rm --link peer:p busybox true
  [ "$status" -ne 0 ]
  [[ "$output" == *"HostConfig.Links (--link) with icc false is not supported yet"* ]]
}

@test "--link on a user network: a DNS alias only the linking container resolves" {
  docker network create btlnk >/dev/null
  web target --network btlnk
  docker run -d --name other --network btlnk busybox sleep 300 >/dev/null
  local ip
  ip=$(docker inspect -f '{{(index .NetworkSettings.Networks "btlnk").IPAddress}}' target)
  docker run -d --name linker --network btlnk --link target:tgt busybox sleep 300 >/dev/null
  [ "$(docker exec linker wget -qO- http://tgt/)" = "hello from target" ]
  [[ "$(docker exec linker nslookup tgt 127.0.0.11)" == *"Address: $ip"* ]]
  run docker exec other nslookup tgt 127.0.0.11
  [[ "$output" != *"Address: $ip"* ]]
  # dockerd shows it on the endpoint, not in HostConfig.Links
  [ "$(docker inspect -f '{{json .HostConfig.Links}}' linker)" = null ]
  [ "$(docker inspect -f '{{json (index .NetworkSettings.Networks "btlnk").Links}}' linker)" = '["target:tgt"]' ]
  docker rm -f linker other target >/dev/null
  docker network rm btlnk >/dev/null
}

@test "--dns --dns-search --dns-option --add-host --hostname --domainname in the container's files" {
  run docker run --rm --dns 10.9.9.9 --dns-search example.test --dns-option ndots:3 \
    --add-host db.local:10.1.2.3 --add-host gw:host-gateway --hostname web --domainname corp.test \
    busybox sh -c 'cat /etc/resolv.conf; echo ---; cat /etc/hosts; echo ---; cat /etc/hostname; hostname; hostname -f; cat /proc/sys/kernel/domainname'
  [ "$status" -eq 0 ]
  [[ "$output" == *"nameserver 10.9.9.9"* ]]
  [[ "$output" == *"search example.test"* ]]
  [[ "$output" == *"options ndots:3"* ]]
  [[ "$output" == *$'10.1.2.3\tdb.local'* ]]
  [[ "$output" == *$'172.17.0.1\tgw'* ]]
  [[ "$output" == *$'\tweb.corp.test web'* ]]
  [ "${lines[-4]}" = web ]
  [ "${lines[-3]}" = web ]
  [ "${lines[-2]}" = web.corp.test ]
  [ "${lines[-1]}" = corp.test ]
}

@test "--add-host NAME:host-gateway without a default bridge: dockerd's error" {
  ctr_teardown
  bt_netns_up
  ctr_setup # "bridge": "none", in a namespace of its own
  run docker run --rm --add-host gw:host-gateway busybox true
  [ "$status" -ne 0 ]
  [[ "$output" == *"unable to derive the IP value for host-gateway"* ]]
}
