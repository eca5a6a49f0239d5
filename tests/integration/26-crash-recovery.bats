#!/usr/bin/env bats
# berthd killed (SIGKILL, raised by itself at a named crash point: BERTH_CRASH_AT) at several
# instants of a start, a create, a state write and a pull, then started again on the same
# root: nothing it made may be left behind (cgroups, overlay mounts, record-less container
# directories, temp files, blobs and layers no image uses), and the API answers before the
# start-up clean-up has finished.
# bats file_tags=reactor-neutral

load helpers
load containers
load registry
load images

setup_file() {
  ctr_setup_file
  require_registry_tools
  FIX=$BATS_FILE_TMPDIR
  export FIX
  start_registry
  mkimage "$FIX/three" --layer-files '[{"path":"a","size":3000000,"seed":1}]' \
    --layer-files '[{"path":"b","size":3000000,"seed":2}]' \
    --layer-files '[{"path":"c","size":3000000,"seed":3}]' >"$FIX/three.json"
  push_layout "$FIX/three" t/three:v1
}

teardown_file() { stop_registry; }
setup() { ctr_setup; }
teardown() {
  [ -n "${CURL_PID:-}" ] && kill "$CURL_PID" 2>/dev/null
  stop_slowproxy
  ctr_teardown
}

# respawn_crashing POINT: restart berthd (SIGTERM) on the same root with the crash point armed.
respawn_crashing() {
  stop_berthd --keep
  export BERTH_CRASH_AT=$1
  berthd_spawn "${BT_ARGS[@]}"
  unset BERTH_CRASH_AT
}

# crashed: berthd died at its crash point (it logged reaching it).
crashed() {
  wait "$BT_PID" 2>/dev/null || true
  BT_PID=
  grep -q "crash point \`$BERTH_POINT\` reached" "$BT_DIR/berthd.log"
}

# respawn: start berthd again, unarmed, on the root the crash left.
respawn() { berthd_spawn "${BT_ARGS[@]}"; }

blob_count() { find "$BT_DIR/root/blobs/sha256" -type f | wc -l; }
trash_count() { find "$BT_DIR/root/blobs/trash" "$BT_DIR/root/layers/tmp" -mindepth 1 -maxdepth 1 | wc -l; }
temp_files() { find "$BT_DIR/root" -name '*.tmp-??????' | wc -l; }
ctr_dirs() { find "$BT_DIR/root/containers" -mindepth 1 -maxdepth 1 | wc -l; }
no_host_leftovers() { [ "$(count_mounts)" -eq 0 ] && [ -z "$(ctr_cgroup_dirs)" ]; }

@test "killed at each instant of a start: after the restart no cgroup or mount is left; it starts again" {
  local point
  for point in start-mounted start-cgroup start-spawned; do
    BERTH_POINT=$point
    respawn_crashing "$point"
    docker create --name "c-$point" busybox sleep 100 >/dev/null
    run docker start "c-$point"
    [ "$status" -ne 0 ]
    crashed
    # the crash did leave something on the host for the restart to reconcile
    [ "$(count_mounts)" -gt 0 ] || [ -n "$(ctr_cgroup_dirs)" ]
    respawn
    wait_until 10 no_host_leftovers
    [ "$(docker inspect --format '{{.State.Running}}' "c-$point")" = false ]
    docker start "c-$point" >/dev/null
    running "c-$point"
    docker rm -f "c-$point" >/dev/null
    wait_until 10 no_host_leftovers
  done
  [ "$(ctr_dirs)" -eq 0 ]
}

@test "killed mid-start of a --rm container: removed at the restart with its cgroup and mount" {
  BERTH_POINT=start-spawned
  respawn_crashing start-spawned
  docker create --rm --name gone busybox sleep 100 >/dev/null
  run docker start gone
  crashed
  [ -n "$(ctr_cgroup_dirs)" ]
  respawn
  run docker inspect gone
  [ "$status" -ne 0 ]
  wait_until 10 no_host_leftovers
  wait_until 10 eval 'test "$(ctr_dirs)" -eq 0'
}

@test "killed in a create (directories made, or its record half-written): no directory without a record is left" {
  local point
  for point in create-dirs write:container.json; do
    BERTH_POINT=$point
    respawn_crashing "$point"
    run docker create busybox true
    [ "$status" -ne 0 ]
    crashed
    [ "$(ctr_dirs)" -eq 1 ] # the half-made container
    respawn
    wait_until 10 eval 'test "$(ctr_dirs)" -eq 0'
    [ "$(temp_files)" -eq 0 ]
    [ -z "$(docker ps -aq)" ]
  done
  grep -q "containers: removing .*/containers/" "$BT_DIR/berthd.log"
}

@test "killed while writing repositories.json: no temp file is left, the tags are whole" {
  BERTH_POINT=write:repositories.json
  respawn_crashing write:repositories.json
  run docker tag busybox busybox:two
  crashed
  [ -n "$(find "$BT_DIR/root" -maxdepth 1 -name 'repositories.json.tmp-*')" ]
  respawn
  [ "$(temp_files)" -eq 0 ]
  docker image inspect busybox:latest >/dev/null
  docker tag busybox busybox:two # works again
  docker image inspect busybox:two >/dev/null
}

@test "killed mid-pull after a layer is committed: its blobs and layers are reclaimed at the restart" {
  local before_blobs before_layers
  before_blobs=$(blob_count) before_layers=$(layer_dirs) # busybox's
  BERTH_POINT=layer-committed
  respawn_crashing layer-committed
  run docker pull "$REGISTRY/t/three:v1"
  crashed
  [ "$(blob_count)" -gt "$before_blobs" ] # what the interrupted pull had fetched
  respawn
  [ "$(blob_count)" -eq "$before_blobs" ]
  [ "$(layer_dirs)" -eq "$before_layers" ]
  wait_until 10 eval 'test "$(trash_count)" -eq 0'
  grep -q "start-up: removing [0-9]* unreferenced blobs" "$BT_DIR/berthd.log"
  # what a whole pull fetched is all referenced: a restart keeps every blob
  docker pull -q "$REGISTRY/t/three:v1" >/dev/null
  local blobs
  blobs=$(blob_count)
  [ "$blobs" -ge 4 ] # config and three layers (and the manifest)
  restart_berthd
  [ "$(blob_count)" -eq "$blobs" ]
  docker save "$REGISTRY/t/three:v1" | tar -t >/dev/null
}

@test "killed at random instants of a slow pull: after each restart nothing unreferenced is left" {
  local before_blobs before_layers delay
  before_blobs=$(blob_count) before_layers=$(layer_dirs) # busybox's
  start_slowproxy 6000000
  for delay in 0.3 0.9 1.6; do
    api_pull "$SLOW/t/three:v1" /dev/null
    sleep "$delay"
    kill -KILL "$BT_PID"
    wait "$BT_PID" 2>/dev/null || true
    wait "$CURL_PID" 2>/dev/null || true
    CURL_PID=
    respawn
    if ! docker image inspect "$SLOW/t/three:v1" >/dev/null 2>&1; then
      [ "$(blob_count)" -eq "$before_blobs" ]
      [ "$(layer_dirs)" -eq "$before_layers" ]
    fi
    wait_until 10 eval 'test "$(trash_count)" -eq 0'
    [ "$(temp_files)" -eq 0 ]
  done
  docker pull -q "$SLOW/t/three:v1" >/dev/null
}

@test "the API answers before the start-up clean-up ends; a start waits for the containers' reconciliation" {
  docker create --name later busybox sleep 100 >/dev/null
  stop_berthd --keep
  # a big stale tree, as an unpack a crash interrupted leaves
  mkdir -p "$BT_DIR/root/layers/tmp/unpack-stale/diff"
  seq 3000 | sed "s|^|$BT_DIR/root/layers/tmp/unpack-stale/diff/f|" | xargs touch
  export BERTH_STALL_AT=recovery-host:1500
  berthd_spawn "${BT_ARGS[@]}"
  unset BERTH_STALL_AT
  docker ps -a --format '{{.Names}}' | grep -qx later # served while recovery stalls
  docker start later >/dev/null                      # parked until it ends
  running later
  wait_until 20 test ! -e "$BT_DIR/root/layers/tmp/unpack-stale"
  # in that order: listening, the ps answered, recovery done, the start, the stale tree gone
  local listen ps reconciled started removed
  listen=$(grep -n "API listen on" "$BT_DIR/berthd.log" | tail -1 | cut -d: -f1)
  ps=$(grep -n "Calling GET /v[0-9.]*/containers/json" "$BT_DIR/berthd.log" | tail -1 | cut -d: -f1)
  reconciled=$(grep -n "containers reconciled with the host" "$BT_DIR/berthd.log" | tail -1 | cut -d: -f1)
  started=$(grep -n "started pid" "$BT_DIR/berthd.log" | tail -1 | cut -d: -f1)
  removed=$(grep -n "removed [0-9]* stale trees" "$BT_DIR/berthd.log" | tail -1 | cut -d: -f1)
  [ "$listen" -lt "$ps" ] && [ "$ps" -lt "$reconciled" ] && [ "$reconciled" -lt "$started" ]
  [ "$listen" -lt "$removed" ]
}

@test "a pool job that never ends does not keep berthd from stopping; the next start finishes its work" {
  docker create --name held busybox true >/dev/null
  stop_berthd --keep
  export BERTH_STALL_AT=recovery-host:600000 # the start-up reconciliation blocks for 10 min
  berthd_spawn "${BT_ARGS[@]}"
  unset BERTH_STALL_AT
  wait_for_grep "stall point \`recovery-host\` reached" "$BT_DIR/berthd.log" 10
  kill -TERM "$BT_PID"
  local i
  for i in $(seq 200); do kill -0 "$BT_PID" 2>/dev/null || break; sleep 0.05; done
  ! kill -0 "$BT_PID" 2>/dev/null # gone within 10 s
  wait "$BT_PID" || true
  BT_PID=
  grep -q "shutdown: 1 pool jobs still running after 5 s; exiting without them" "$BT_DIR/berthd.log"
  [ ! -e "$BT_DIR/run/berth.sock" ]
  respawn
  docker start held >/dev/null
  [ "$(docker inspect --format '{{.State.ExitCode}}' held)" = 0 ]
}
