#!/usr/bin/env bats
# docker ps against berthd: which containers, in which order (newest first), and its filters
# and formats, over one set of containers in known states.

load helpers
load containers

setup_file() { ctr_setup_file; }
setup() {
  ctr_setup
  # oldest to newest: run1 (running, label), ex3 (exited 3), ex0 (exited 0), made (created)
  docker run -d --name run1 --label tier=web --label solo busybox sleep 60 >/dev/null
  docker run --name ex3 busybox sh -c 'exit 3' || true
  docker run --name ex0 --label tier=db busybox true
  docker create --name made busybox echo 'two words' >/dev/null
}
teardown() { ctr_teardown; }

names() { docker ps "$@" --format '{{.Names}}' | tr '\n' ' ' | sed 's/ $//'; }

@test "ps lists running ones; -a all, newest first; -n and -l; -q and --no-trunc ids" {
  [ "$(names)" = run1 ]
  [ "$(names -a)" = "made ex0 ex3 run1" ]
  [ "$(names -n 2)" = "made ex0" ]
  [ "$(names -l)" = made ]
  [ "$(docker ps -q)" = "$(docker inspect -f '{{.Id}}' run1 | cut -c1-12)" ]
  [ "$(docker ps -q --no-trunc)" = "$(docker inspect -f '{{.Id}}' run1)" ]
  [ "$(docker ps -aq | wc -l)" -eq 4 ]
}

@test "ps filters: id, name, label, status, exited, ancestor, before, since" {
  [ "$(names -a --filter id="$(docker inspect -f '{{.Id}}' ex3 | cut -c1-8)")" = ex3 ]
  [ "$(names -a --filter name=ex)" = "ex0 ex3" ]
  [ "$(names -a --filter name=^/ex3$)" = ex3 ]
  [ "$(names -a --filter label=tier)" = "ex0 run1" ]
  [ "$(names -a --filter label=tier=web)" = run1 ]
  [ "$(names -a --filter label=solo)" = run1 ]
  [ "$(names -a --filter status=exited)" = "ex0 ex3" ]
  [ "$(names -a --filter status=created)" = made ]
  [ "$(names --filter status=running --filter status=created)" = "made run1" ]
  [ "$(names -a --filter exited=3)" = ex3 ]
  [ "$(names -a --filter exited=0)" = ex0 ]
  [ "$(names -a --filter ancestor=busybox)" = "made ex0 ex3 run1" ]
  [ "$(names -a --filter before=ex0)" = "ex3 run1" ]
  [ "$(names -a --filter since=ex3)" = "made ex0" ]
  run docker ps --filter status=bogus
  [ "$status" -ne 0 ]
  [[ "$output" == *"invalid filter 'status=bogus'"* ]]
  run docker ps --filter bogus=1
  [ "$status" -ne 0 ]
  [[ "$output" == *"invalid filter 'bogus'"* ]]
}

@test "ps --format: command (quoted as dockerd), image, state, status, labels" {
  run docker ps -a --no-trunc --format '{{.Names}}|{{.Command}}|{{.Image}}|{{.State}}|{{.Status}}'
  [ "${lines[0]}" = "made|\"echo 'two words'\"|busybox|created|Created" ]
  [[ "${lines[1]}" == 'ex0|"true"|busybox|exited|Exited (0) '*' ago' ]]
  [[ "${lines[2]}" == "ex3|\"sh -c 'exit 3'\"|busybox|exited|Exited (3) "*' ago' ]]
  [[ "${lines[3]}" == 'run1|"sleep 60"|busybox|running|Up '* ]]
  [ "$(docker ps --format '{{.Label "tier"}}')" = web ]
}

@test "ps --format shows each container's network and bind mounts" {
  mkdir -p "$BT_DIR/vol"
  docker run -d --name netnone -v "$BT_DIR/vol:/data" busybox sleep 60 >/dev/null
  docker run -d --name nethost --network host busybox sleep 60 >/dev/null
  run docker ps --no-trunc --format '{{.Names}} {{.Networks}} {{.Mounts}}'
  [[ "$output" == *"netnone none $BT_DIR/vol"* ]]
  [[ "$output" == *"nethost host "* ]]
}
