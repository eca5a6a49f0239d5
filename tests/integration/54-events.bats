#!/usr/bin/env bats
# docker events: Docker's message shapes for container and image events, replays with --since
# and --until, a live stream, filters as dockerd matches them (and keys berth refuses), a log
# that outlives a restart and a crash, and a slow reader that is cut off with a last line saying
# so (berthd's memory staying flat) and picks up again with --since.

load helpers
load containers
load registry

setup_file() { ctr_setup_file; }
setup() { ctr_setup; }
teardown() {
  stop_registry
  ctr_teardown
}

FLOOD=$INTEGRATION_DIR/eventsflood.py

now() { date +%s.%N; }
ns() { echo "${1%.*}${1#*.}"; } # SECONDS.NANOS (9 digits) as nanoseconds

# nanos FILE: each line's timeNano (jq 1.6 reads numbers as doubles: not exactly).
nanos() { grep -o '"timeNano":[0-9]*' "$1" | cut -d: -f2; }
# in_order FILE: times strictly increasing, and each line's time is its timeNano's seconds.
in_order() {
  nanos "$1" | sort -n -C -u || return 1
  paste -d' ' <(grep -o '"time":[0-9]*' "$1" | cut -d: -f2) <(nanos "$1") |
    while read -r s n; do [ "$s" = "${n:0:${#s}}" ] || return 1; done
}

# events SINCE UNTIL [docker events flags…]: the events between, one JSON object a line.
events() {
  local since=$1 until=$2
  shift 2
  docker events --since "$since" --until "$until" --format '{{json .}}' "$@"
}

# actions FILE: "Action key=value…" a line (attributes but image, name and execDuration, which
# depends on the machine's speed, sorted by key).
actions() {
  jq -r '[.Action] + ([.Actor.Attributes | to_entries[]
    | select(.key != "image" and .key != "name" and .key != "execDuration")
    | "\(.key)=\(.value)"]) | join(" ")' "$1"
}

listeners() { docker info --format '{{.NEventsListener}}'; }
listening() { [ "$(listeners)" -ge "$1" ]; }
no_listeners() { [ "$(listeners)" -eq 0 ]; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$BT_PID/status"; }

@test "a container's life replayed with --since/--until: Docker's shapes and attributes" {
  t0=$(now)
  id=$(docker create --name ev1 --label team=blue busybox sh -c 'exit 3')
  run docker start -a ev1
  [ "$status" -eq 3 ]
  docker rm ev1
  t1=$(now)
  events "$t0" "$t1" >"$BT_DIR/ev"
  [ "$(actions "$BT_DIR/ev")" = "$(printf '%s\n' 'create team=blue' 'attach team=blue' \
    'start team=blue' 'die exitCode=3 team=blue' 'destroy team=blue')" ]
  [ "$(jq -r 'select(.Action == "die") | .Actor.Attributes.execDuration' "$BT_DIR/ev")" = 0 ]
  # every line: the container as actor, its image and name, and the deprecated fields dockerd
  # still sends (status, id, from)
  run jq -c --arg id "$id" 'select(.Type != "container" or .Actor.ID != $id or .id != $id
      or .status != .Action or .from != "busybox" or .scope != "local"
      or .Actor.Attributes.name != "ev1" or .Actor.Attributes.image != "busybox")' "$BT_DIR/ev"
  [ -z "$output" ]
  # in time order, each within [since, until]
  in_order "$BT_DIR/ev"
  [ "$(nanos "$BT_DIR/ev" | head -n 1)" -ge "$(ns "$t0")" ]
  [ "$(nanos "$BT_DIR/ev" | tail -n 1)" -le "$(ns "$t1")" ]
  # the raw API: since/until as Unix seconds, one JSON line each, application/json
  [ "$(api_save GET "/events?since=$t0&until=$t1")" = 200 ]
  header_is Content-Type application/json
  [ "$(wc -l <"$BT_DIR/api.body")" -eq 5 ]
  # nothing outside the window
  [ -z "$(events "$t1" "$(now)")" ]
}

@test "docker events streams live: start, then die with its exit code, as they happen" {
  t0=$(now)
  docker create --name live busybox sh -c 'sleep 0.3; exit 7'
  # --since: the create is replayed, then the stream goes on live
  timeout 30 "$DOCKER_BIN" events --since "$t0" --filter container=live \
    --format '{{.Action}} {{index .Actor.Attributes "exitCode"}}' >"$BT_DIR/live" 2>&1 &
  pid=$!
  wait_until 10 listening 1
  docker start live
  wait_until 10 grep -qx 'die 7' "$BT_DIR/live"
  kill "$pid"
  wait "$pid" || true
  [ "$(cat "$BT_DIR/live")" = "$(printf 'create \nstart \ndie 7')" ]
  wait_until 5 no_listeners
}

@test "pause, unpause, rename, resize, kill, stop and restart: their events and attributes" {
  docker run -d --name lc busybox sleep 1000
  t0=$(now)
  docker pause lc
  docker unpause lc
  docker rename lc lc2
  [ "$(api POST '/containers/lc2/resize?h=30&w=100' | tail -n 1)" = "HTTP 200" ]
  docker kill -s USR1 lc2  # pid 1 ignores it: lc2 runs on
  docker stop -t 1 lc2     # ... and SIGTERM: SIGKILL after 1 s
  docker restart lc2
  t1=$(now)
  events "$t0" "$t1" >"$BT_DIR/ev"
  [ "$(actions "$BT_DIR/ev")" = "$(printf '%s\n' pause unpause 'rename oldName=lc' \
    'resize height=30 width=100' 'kill signal=10' 'kill signal=15' 'kill signal=9' \
    'die exitCode=137' stop start restart)" ]
  [ "$(jq -r .Actor.Attributes.name "$BT_DIR/ev" | uniq | tr '\n' ,)" = lc,lc2, ] # its name then
}

@test "a container killed for memory: oom before die" {
  t0=$(now)
  run docker run --name hog -m 8m --memory-swap 8m busybox sh -c 'a=$(head -c 64000000 /dev/zero | tr "\0" x)'
  [ "$status" -eq 137 ]
  events "$t0" "$(now)" --filter event=oom --filter event=die >"$BT_DIR/ev"
  [ "$(jq -r '.Action + " " + (.Actor.Attributes.exitCode // "")' "$BT_DIR/ev")" = "$(printf 'oom \ndie 137')" ]
}

@test "filters: type, event, container by name and ID, image, label; other keys refused" {
  t0=$(now)
  a=$(docker create --name fa --label env=prod busybox true)
  b=$(docker create --name fb --label env=dev --label tier=web busybox true)
  docker tag busybox:latest evtag:1
  t1=$(now)
  f() { events "$t0" "$t1" "$@" | jq -r '.Type + " " + .Action + " " + (.Actor.Attributes.name // "")'; }
  [ "$(f --filter type=image)" = "image tag evtag:1" ]
  [ "$(f --filter type=container --filter event=create)" = "$(printf 'container create fa\ncontainer create fb')" ]
  [ "$(f --filter container=fa)" = "container create fa" ]
  [ "$(f --filter container="${b:0:12}")" = "container create fb" ]
  [ "$(f --filter container=fa --filter container=fb | wc -l)" -eq 2 ]
  [ "$(f --filter label=env=prod)" = "container create fa" ]
  [ "$(f --filter label=env | wc -l)" -eq 2 ]
  [ "$(f --filter label=env --filter label=tier)" = "container create fb" ]
  [ "$(f --filter image=busybox | wc -l)" -eq 2 ]   # the containers' image
  [ "$(f --filter image=evtag)" = "image tag evtag:1" ] # the tag, without its tag
  [ "$(f --filter image=evtag:1)" = "image tag evtag:1" ]
  [ "$(f --filter scope=local | wc -l)" -eq 3 ]
  [ -z "$(f --filter scope=swarm)" ]
  [ -z "$(f --filter event=destroy)" ]
  # network= is honoured (57-networks has its events): none of these is a network's
  [ -z "$(f --filter network=bridge)" ]
  # keys berth does not honour: dockerd's words, 400
  run docker events --filter bogus=1
  [[ "$output" == *"invalid filter 'bogus'"* ]]
  [ "$(api GET '/events?filters=%7B%22daemon%22%3A%5B%22x%22%5D%7D' | tail -n 1)" = "HTTP 400" ]
  # since after until, and a since that is no time
  run docker events --since "$t1" --until "$t0"
  [[ "$output" == *'`since` time ('*') cannot be after `until` time ('*')'* ]]
  [ "$(api GET '/events?since=soon' | tail -n 1)" = "HTTP 400" ]
}

@test "--since after an engine restart replays the earlier containers' events, a stopped one's die too" {
  t0=$(now)
  run docker run --name old busybox sh -c 'exit 5'
  [ "$status" -eq 5 ]
  docker rm old
  docker run -d --name sleeper busybox sh -c 'trap "exit 0" TERM; echo ready; while :; do sleep 0.1; done'
  wait_until 5 log_has sleeper ready # its trap is set
  restart_berthd # stops sleeper (its kill and die are in the log)
  # the log's events, then live ones: sleeper's destroy
  timeout 30 "$DOCKER_BIN" events --since "$t0" --filter container=old --filter container=sleeper \
    --format '{{json .}}' >"$BT_DIR/ev" &
  pid=$!
  wait_until 10 listening 1
  docker rm sleeper
  wait_until 10 grep -q '"Action":"destroy".*"name":"sleeper"' "$BT_DIR/ev"
  kill "$pid"
  wait "$pid" || true
  [ "$(jq -r '.Actor.Attributes.name + " " + .Action' "$BT_DIR/ev" | tr '\n' ,)" = \
    "old create,old attach,old start,old die,old destroy,sleeper create,sleeper start,sleeper kill,sleeper die,sleeper destroy," ]
  [ "$(jq -r 'select(.Action == "die") | .Actor.Attributes.exitCode' "$BT_DIR/ev" | head -n 1)" = 5 ]
  # times go on increasing across the restart
  in_order "$BT_DIR/ev"
  # --until alone replays from the log's beginning: the image import of the set-up is there
  docker events --until "$(now)" --filter type=image --format '{{.Action}}' | grep -qx import
}

@test "a crash (kill -9) right after events: the log has them, a torn last line is cut" {
  t0=$(now)
  docker run --name crashy busybox true
  docker rm crashy
  kill -KILL "$BT_PID"
  wait "$BT_PID" || true
  printf '{"status":"torn' >>"$BT_DIR/root/events/events.log" # a write the crash cut short
  berthd_spawn "${BT_ARGS[@]}"
  docker run --name after busybox true
  events "$t0" "$(now)" >"$BT_DIR/ev"
  [ "$(jq -r '.Actor.Attributes.name + " " + .Action' "$BT_DIR/ev" | tr '\n' ,)" = \
    "crashy create,crashy attach,crashy start,crashy die,crashy destroy,after create,after attach,after start,after die," ]
  grep -q 'cutting a torn line' "$BT_DIR/berthd.log"
  # every line of the log is whole JSON
  jq -e . "$BT_DIR/root/events/events.log" >/dev/null
}

@test "a reader too slow for the events is cut off with a last line saying so; memory stays flat; --since resumes" {
  docker run -d --name flood busybox sleep 1000
  base=$(rss_kb)
  run timeout 120 "$HOSTPY" "$FLOOD" "$BT_SOCK" flood --rounds 3 --per-round 10000 --pid "$BT_PID"
  [ "$status" -eq 0 ]
  echo "$output" >"$BT_DIR/out"
  r1=$(awk '$1 == "rss" && $2 == 1 {print $3}' "$BT_DIR/out")
  r3=$(awk '$1 == "rss" && $2 == 3 {print $3}' "$BT_DIR/out")
  echo "# berthd RSS ${base} kB; after 10000 events for a reader that reads nothing ${r1} kB, after 30000 ${r3} kB" >&3
  if ! ldd "$BERTHD" | grep -q libasan; then # ASan's quarantine keeps what is freed
    [ "$r3" -lt $((r1 + 4096)) ]                # flat once its ring is full
    [ "$r3" -lt $((base + 65536)) ]
  fi
  # the stream: resize events, then the error line, then a close without the body's end
  [ "$(tail -n 1 "$BT_DIR/out")" = "[end broken]" ]
  grep '^{' "$BT_DIR/out" >"$BT_DIR/got"
  last=$(tail -n 1 "$BT_DIR/got")
  [ "$(jq -r '.Type + " " + .Action' <<<"$last")" = "daemon error" ]
  [[ "$(jq -r .error <<<"$last")" == *"fell too far behind"* ]]
  since=$(jq -r .Actor.Attributes.since <<<"$last")
  head -n -1 "$BT_DIR/got" >"$BT_DIR/sent"
  n=$(wc -l <"$BT_DIR/sent")
  [ "$n" -gt 100 ]
  [ "$n" -lt 30000 ]
  [ "$(jq -r .Action "$BT_DIR/sent" | sort -u)" = resize ]
  # --since from there: the rest, every one, none twice
  events "$since" "$(now)" --filter event=resize >"$BT_DIR/rest"
  [ "$(wc -l <"$BT_DIR/rest")" -eq $((30000 - n)) ]
  cat "$BT_DIR/sent" "$BT_DIR/rest" >"$BT_DIR/all"
  in_order "$BT_DIR/all"
  [ "$(nanos "$BT_DIR/all" | wc -l)" -eq 30000 ]
  # the engine serves on, and the reader is gone
  [ "$(listeners)" -eq 0 ]
  docker pause flood
}

@test "image events: tag, save, untag, import, delete, load" {
  t0=$(now)
  id=$(docker inspect --format '{{.Id}}' busybox)
  docker tag busybox:latest evimg:1
  docker save evimg:1 -o "$BT_DIR/img.tar"
  docker rmi evimg:1
  imp=$(docker import "$BUSYBOX_TAR" evimp:1)
  docker rmi evimp:1
  docker rmi busybox:latest
  docker load -i "$BT_DIR/img.tar"
  t1=$(now)
  events "$t0" "$t1" --filter type=image >"$BT_DIR/ev"
  [ "$(jq -r '[.Action, .Actor.ID, .Actor.Attributes.name] | join(" ")' "$BT_DIR/ev")" = \
    "$(printf '%s\n' "tag $id evimg:1" "save $id $id" "untag $id $id" "tag $imp evimp:1" \
      "import $imp $imp" "untag $imp $imp" "delete $imp $imp" "untag $id $id" "delete $id $id" \
      "load $id $id")" ]
  run jq -c 'select(.status != .Action or .id != .Actor.ID or has("from"))' "$BT_DIR/ev"
  [ -z "$output" ]
}

@test "prune events: a destroy for each container, then prune with the bytes reclaimed" {
  docker create --name p1 busybox true
  docker create --name p2 busybox true
  t0=$(now)
  docker container prune -f
  docker image prune -af
  t1=$(now)
  events "$t0" "$t1" >"$BT_DIR/ev"
  [ "$(jq -r '.Type + " " + .Action' "$BT_DIR/ev" | tr '\n' ,)" = \
    "container destroy,container destroy,container prune,image untag,image delete,image prune," ]
  [ "$(jq -r 'select(.Action == "prune") | .Actor.ID' "$BT_DIR/ev" | sort -u)" = "" ]
  [ "$(jq -r 'select(.Type == "image" and .Action == "prune") | .Actor.Attributes.reclaimed' "$BT_DIR/ev")" -gt 0 ]
}

@test "image events: pull (the reference and its repository) and push" {
  require_registry_tools
  start_registry
  mkimage "$BT_DIR/fix" --layer-files '[{"path":"f","content":"x\n"}]' --label origin=fixture >/dev/null
  push_layout "$BT_DIR/fix" t/evpull:v1
  t0=$(now)
  docker pull -q "$REGISTRY/t/evpull:v1"
  docker tag busybox "$REGISTRY/t/evpush:v2"
  docker push -q "$REGISTRY/t/evpush:v2"
  t1=$(now)
  events "$t0" "$t1" --filter event=pull --filter event=push >"$BT_DIR/ev"
  [ "$(jq -r '[.Action, .Actor.ID, .Actor.Attributes.name, .Actor.Attributes.origin // "-"] | join(" ")' "$BT_DIR/ev")" = \
    "$(printf '%s\n' "pull $REGISTRY/t/evpull:v1 $REGISTRY/t/evpull fixture" "push $REGISTRY/t/evpush:v2 $REGISTRY/t/evpush -")" ]
}

@test "exec events: exec_create and exec_start name the command, exec_die has its exit code" {
  docker run -d --name evx busybox sleep 1d >/dev/null
  t0=$(now)
  run docker exec evx sh -c 'exit 4'
  [ "$status" -eq 4 ]
  docker exec -d evx true
  exec_dies() { [ "$(events "$t0" "$(now)" --filter event=exec_die | wc -l)" -eq 2 ]; }
  wait_until 10 exec_dies
  events "$t0" "$(now)" --filter container=evx >"$BT_DIR/ev"
  exec_id=$(jq -r 'select(.Action == "exec_die") | .Actor.Attributes.execID' "$BT_DIR/ev" | head -n 1)
  [ ${#exec_id} -eq 64 ]
  [ "$(actions "$BT_DIR/ev" | sed 's/execID=[0-9a-f]*/execID=X/')" = "$(printf '%s\n' \
    'exec_create: sh -c exit 4 execID=X' 'exec_start: sh -c exit 4 execID=X' \
    'exec_die execID=X exitCode=4' 'exec_create: true  execID=X' 'exec_start: true  execID=X' \
    'exec_die execID=X exitCode=0')" ]
  # an event filter names the action before its colon, as dockerd matches it
  [ "$(events "$t0" "$(now)" --filter event=exec_start | wc -l)" -eq 2 ]
  docker rm -f evx >/dev/null
}

@test "volume events: create, mount and unmount around a container's run, destroy, prune" {
  t0=$(now)
  docker volume create evvol >/dev/null
  docker run --rm -v evvol:/data busybox true
  docker volume rm evvol >/dev/null
  docker volume create evvol2 >/dev/null
  docker volume prune -af >/dev/null
  t1=$(now)
  events "$t0" "$t1" --filter type=volume >"$BT_DIR/ev"
  run actions "$BT_DIR/ev"
  id=$(events "$t0" "$t1" --filter type=container --filter event=create --format '{{.Actor.ID}}')
  [ "$output" = "$(printf '%s\n' 'create driver=local' \
    "mount container=$id destination=/data driver=local propagation= read/write=true" \
    "unmount container=$id driver=local" 'destroy driver=local' 'create driver=local' \
    'destroy driver=local' 'prune reclaimed=0')" ]
  [ "$(jq -r '.Actor.ID' "$BT_DIR/ev" | sort -u | tr '\n' ' ')" = " evvol evvol2 " ]
  # the volume filter, by name
  [ "$(events "$t0" "$t1" --filter volume=evvol2 | wc -l)" -eq 2 ]
}

@test "cp, export and commit events: archive-path, extract-to-dir, export, commit with its image" {
  docker run -d --name evc busybox sleep 1d >/dev/null
  t0=$(now)
  echo hi >"$BT_DIR/f"
  docker cp "$BT_DIR/f" evc:/f
  docker cp evc:/f "$BT_DIR/g"
  docker export evc >/dev/null
  img=$(docker commit -m note evc evimg:v1)
  t1=$(now)
  events "$t0" "$t1" --filter container=evc >"$BT_DIR/ev"
  [ "$(actions "$BT_DIR/ev")" = "$(printf '%s\n' 'extract-to-dir' 'archive-path' 'export' \
    "commit comment=note imageID=$img imageRef=evimg:v1")" ]
  docker rm -f evc >/dev/null
  docker rmi evimg:v1 >/dev/null
}

@test "top and update events" {
  docker run -d --name evt busybox sleep 1d >/dev/null
  t0=$(now)
  docker top evt >/dev/null
  docker update --memory 64m --memory-swap 128m evt >/dev/null
  run docker top evt -o nosuchcolumn # a failed top is no event
  events "$t0" "$(now)" --filter container=evt >"$BT_DIR/ev"
  [ "$(actions "$BT_DIR/ev")" = "$(printf '%s\n' top update)" ]
  docker rm -f evt >/dev/null
}
