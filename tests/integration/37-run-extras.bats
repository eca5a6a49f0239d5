#!/usr/bin/env bats
# docker run --init (and daemon.json "init"), OOM kills, ps -s / inspect -s sizes, logs --details
# with json-file's labels/env/tag attributes, and start -a / -a -i.

load helpers
load containers

bats_require_minimum_version 1.5.0

setup_file() { ctr_setup_file; }
setup() { ctr_setup; }
teardown() { ctr_teardown; }

@test "--init: the command runs under docker-init as pid 1, with its exit status" {
  run docker run --rm --init busybox sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; echo $PPID'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "/sbin/docker-init -- sh -c cat /proc/1/cmdline | tr \"\\0\" \" \"; echo; echo \$PPID " ]
  [ "${lines[1]}" = 1 ]
  run docker run --rm --init busybox sh -c 'exit 7'
  [ "$status" -eq 7 ]
  run docker run --rm busybox cat /proc/1/comm
  [ "$output" = cat ]
}

@test "--init forwards the stop signal: a sleep that ignores TERM as pid 1 stops at once under it" {
  docker run -d --name plain busybox sleep 60
  docker run -d --name inited --init busybox sleep 60
  docker stop -t 1 plain
  [ "$(docker inspect --format '{{.State.ExitCode}}' plain)" = 137 ]
  local t0=$SECONDS
  docker stop -t 20 inited
  [ $((SECONDS - t0)) -lt 10 ]
  [ "$(docker inspect --format '{{.State.ExitCode}}' inited)" = 143 ]
  [ "$(docker inspect --format '{{.HostConfig.Init}}' inited)" = true ]
}

@test "daemon.json init: true runs every container under docker-init unless --init=false" {
  ctr_teardown
  BT_CONFIG_EXTRA='"init":true' ctr_setup
  run docker run --rm busybox cat /proc/1/comm
  [ "$output" = docker-init ]
  run docker run --rm --init=false busybox cat /proc/1/comm
  [ "$output" = cat ]
}

@test "a container over its memory limit is OOM-killed: exit 137 and OOMKilled true" {
  run docker run --name hog -m 8m --memory-swap 8m busybox sh -c 'a=$(head -c 64000000 /dev/zero | tr "\0" x); echo ${#a}'
  [ "$status" -eq 137 ]
  [ "$(docker inspect --format '{{.State.OOMKilled}} {{.State.ExitCode}} {{.State.Status}}' hog)" = "true 137 exited" ]
  docker run --name fine -m 64m busybox true
  [ "$(docker inspect --format '{{.State.OOMKilled}}' fine)" = false ]
}

@test "ps -s and inspect -s show the writable layer's size and the image's under it" {
  docker run --name writer busybox sh -c 'head -c 3000000 /dev/zero > /big; ln /big /big2'
  docker create --name idle busybox >/dev/null
  local image_size
  image_size=$(docker image inspect --format '{{.Size}}' busybox)
  run docker inspect -s --format '{{.SizeRw}} {{.SizeRootFs}}' writer
  [ "$output" = "3000000 $((3000000 + image_size))" ]
  run docker inspect -s --format '{{.SizeRw}}' idle
  [ "$output" = 0 ]
  run docker ps -as --format '{{.Names}} {{.Size}}'
  [ "$status" -eq 0 ]
  [[ "$output" == *"writer 3MB (virtual "* ]]
  [[ "$output" == *"idle 0B (virtual "* ]]
}

@test "logs --details: the labels, env and tag json-file was asked to record, before each line" {
  docker run --name lg --label app=web --label other=x -e 'FOO=a b' -e BAR=1 \
    --log-opt labels=app --log-opt env=FOO --log-opt tag='{{.Name}}' \
    busybox sh -c 'echo one; echo two >&2'
  local id
  id=$(docker inspect --format '{{.Id}}' lg)
  run jq -c .attrs "$BT_DIR/root/containers/$id/$id-json.log"
  [ "${lines[0]}" = '{"FOO":"a b","app":"web","tag":"lg"}' ]
  run docker logs --details lg
  [ "${lines[0]}" = "FOO=a+b,app=web,tag=lg one" ]
  [ "${lines[1]}" = "FOO=a+b,app=web,tag=lg two" ]
  run docker logs --details -t lg
  [[ "${lines[0]}" =~ ^[0-9-]+T[0-9:.]+Z\ FOO=a\+b,app=web,tag=lg\ one$ ]]
  docker run --name bare busybox echo plain
  [ "$(docker logs --details bare)" = " plain" ]
  [ "$(docker logs bare)" = plain ]
}

@test "start -a attaches both streams and exits with the container's status; -i feeds stdin" {
  docker create --name sa busybox sh -c 'echo out; echo err >&2; exit 4' >/dev/null
  run --separate-stderr docker start -a sa
  [ "$status" -eq 4 ]
  [ "$output" = out ]
  [ "$stderr" = err ]
  docker create -i --name si busybox sh -c 'read x; echo got $x; exit 2' >/dev/null
  run bash -c 'echo hello | docker start -a -i si'
  [ "$status" -eq 2 ]
  [ "$output" = "got hello" ]
  run bash -c 'echo again | docker start -ai si'
  [ "$output" = "got again" ]
}

@test "--group-add adds groups by number and by the image's group names; an unknown name is 125" {
  run docker run --rm -u 1000:1000 --group-add 44 --group-add daemon busybox id -G
  [ "$status" -eq 0 ]
  [[ " $output " == *" 44 "* && " $output " == *" 1 "* && "$output" == 1000* ]]
  run docker run --rm --group-add nosuchgroup busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"unable to find group nosuchgroup"* ]]
}
