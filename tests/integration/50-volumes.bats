#!/usr/bin/env bats
# Volumes of the local driver through the docker CLI: volume create/ls/inspect/rm/prune with
# labels, filters and driver options (a tmpfs, a bind of a host directory); named volumes
# (-v NAME:/p, --mount type=volume) that keep their data across docker rm, an engine restart and
# a SIGKILL of berthd; the image's content copied into an empty volume (not with nocopy);
# anonymous volumes (-v /p, the image's VOLUME) removed by rm -v and --rm; --volumes-from;
# dockerd's words for a volume in use; volume mounts in inspect; what a crash leaves.
# bats file_tags=reactor-neutral

load helpers
load containers

bats_require_minimum_version 1.5.0

setup_file() {
  ctr_setup_file
  # busybox with /data/hello (mode 0640, owner 1000:1000) and /data/sub/deep
  local d=$BATS_FILE_TMPDIR/datafiles
  mkdir -p "$d/data/sub"
  echo img >"$d/data/hello"
  echo deep >"$d/data/sub/deep"
  chmod 0640 "$d/data/hello"
  DATA_TAR=$BATS_FILE_TMPDIR/withdata.tar
  cp "$BUSYBOX_TAR" "$DATA_TAR"
  tar --owner=1000 --group=1000 --numeric-owner -rf "$DATA_TAR" -C "$d" ./data
  export DATA_TAR
}
setup() { ctr_setup; }
teardown() {
  local m
  # a test that failed may leave a volume's options mounted: never a mount left behind
  for m in $(awk -v d="${BT_DIR:-/nonexistent}/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  ctr_teardown
}

vol_dir() { echo "$BT_DIR/root/volumes/$1"; }
ctr_id() { docker inspect --format '{{.Id}}' "$1"; }
# volumes: the names docker volume ls lists, sorted, on one line
volumes() { docker volume ls -q "$@" | sort | tr '\n' ' ' | sed 's/ $//'; }
mounted() { grep -q " $1 " /proc/self/mountinfo; }
leftovers() { find "$BT_DIR/root/volumes" -mindepth 1 -maxdepth 1 -name '.*'; }

@test "volume create, inspect, ls with filters, rm: dockerd's shapes and words" {
  docker volume create --label a=1 --label b v1 >/dev/null
  [ "$(docker volume create v2)" = v2 ]
  local anon
  anon=$(docker volume create)
  [[ "$anon" =~ ^[0-9a-f]{64}$ ]]
  # inspect: the local driver's record, the data under ROOT/volumes/NAME/_data
  run docker volume inspect v1
  [ "$status" -eq 0 ]
  local j
  j=$(jq '.[0]' <<<"$output")
  [ "$(jq -r .Name <<<"$j")" = v1 ]
  [ "$(jq -r .Driver <<<"$j")" = local ]
  [ "$(jq -r .Scope <<<"$j")" = local ]
  [ "$(jq -r .Mountpoint <<<"$j")" = "$(vol_dir v1)/_data" ]
  [ -d "$(vol_dir v1)/_data" ]
  [ "$(jq -c .Labels <<<"$j")" = '{"a":"1","b":""}' ]
  [[ "$(jq -r .CreatedAt <<<"$j")" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})$ ]]
  [ "$(docker volume inspect --format '{{index .Labels "com.docker.volume.anonymous"}}|{{.Name}}' "$anon")" = "|$anon" ]
  # ls and its filters
  [ "$(volumes)" = "$(printf '%s\n' "$anon" v1 v2 | sort | tr '\n' ' ' | sed 's/ $//')" ]
  [ "$(volumes --filter label=a=1)" = v1 ]
  [ "$(volumes --filter label=b)" = v1 ]
  [ "$(volumes --filter name=v)" = "v1 v2" ]
  [ "$(volumes --filter name='^v2$')" = v2 ]
  [ "$(volumes --filter driver=local --filter name=v1)" = v1 ]
  [ -z "$(volumes --filter driver=other)" ]
  docker create --name user -v v2:/d busybox true >/dev/null
  [ "$(volumes --filter dangling=false)" = v2 ]
  [ "$(volumes --filter dangling=true --filter name=v)" = v1 ]
  run docker volume ls --filter dangling=maybe
  [[ "$output" == *"invalid filter 'dangling=[maybe]'"* ]]
  run docker volume ls --filter until=1h
  [[ "$output" == *"invalid filter 'until'"* ]]
  # an existing name: the volume as it is (dockerd keeps its labels)
  docker volume create --label other=x v1 >/dev/null
  [ "$(docker volume inspect --format '{{json .Labels}}' v1)" = '{"a":"1","b":""}' ]
  # rm; a missing one; -f of a missing one is no error
  docker volume rm v1 "$anon" >/dev/null
  [ ! -e "$(vol_dir v1)" ]
  run docker volume inspect v1
  [ "$status" -ne 0 ]
  [[ "$output" == *"get v1: no such volume"* ]]
  run docker volume rm nope
  [[ "$output" == *"Error response from daemon: get nope: no such volume"* ]]
  [ "$(api_save DELETE /volumes/nope)" = 404 ]
  [ "$(api_save DELETE '/volumes/nope?force=1')" = 204 ]
  [ -z "$(leftovers)" ]
}

@test "volume create refuses bad names, options and drivers in dockerd's words" {
  run docker volume create a
  [[ "$output" == *"Error response from daemon: create a: volume name is too short, names should be at least two alphanumeric characters"* ]]
  run docker volume create 'bad@name'
  [[ "$output" == *'create bad@name: "bad@name" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path'* ]]
  run docker volume create -o foo=bar x1
  [[ "$output" == *'create x1: invalid option: "foo"'* ]]
  run docker volume create -o type=tmpfs x2
  [[ "$output" == *'create x2: missing required option: "device"'* ]]
  run docker volume create -o o=size=1m -o device=tmpfs x3
  [[ "$output" == *'create x3: missing required option: "type"'* ]]
  run docker volume create -o size=10m x4
  [[ "$output" == *'create x4: quota size requested but no quota support'* ]]
  run docker volume create -d nfsplug x5
  [[ "$output" == *'create x5: error looking up volume plugin nfsplug: plugin "nfsplug" not found'* ]]
  [ "$(api_save POST /volumes/create -H 'Content-Type: application/json' -d '{"Name":"x6","Driver":"nfsplug"}')" = 404 ]
  [ "$(api_save PUT '/volumes/x6?version=1' -H 'Content-Type: application/json' -d '{}')" = 503 ]
  [ -z "$(volumes)" ]
  # through a container: the words dockerd's create gives
  run docker run --rm -v 'bad@:/d' busybox true
  [[ "$output" == *'create bad@: "bad@" includes invalid characters for a local volume name'* ]]
  run docker run --rm -v v1:/d -v v2:/d busybox true
  [[ "$output" == *"Duplicate mount point: /d"* ]]
  run docker run --rm --volume-driver nfsplug -v v1:/d busybox true
  [[ "$output" == *'HostConfig.VolumeDriver "nfsplug" (--volume-driver): volume plugins are not supported yet, only the local driver'* ]]
  no_containers
  [ -z "$(volumes)" ]
}

@test "-v NAME:/p is made at create, keeps its data across rm and a restart; in use it is a 409" {
  docker run --name w1 -v data:/data busybox sh -c 'echo hi >/data/f' >/dev/null
  [ "$(cat "$(vol_dir data)/_data/f")" = hi ]
  local id
  id=$(ctr_id w1)
  run docker volume rm data
  [ "$status" -ne 0 ]
  [[ "$output" == *"Error response from daemon: remove data: volume is in use - [$id]"* ]]
  [ "$(api_save DELETE /volumes/data)" = 409 ]
  body_is "{\"message\":\"remove data: volume is in use - [$id]\"}"
  docker create --name w2 -v data:/x busybox true >/dev/null
  run docker volume rm data
  [[ "$output" == *"volume is in use - ["*"]"* ]]
  [[ "$output" == *"$id"* && "$output" == *"$(ctr_id w2)"* ]]
  docker rm -v w1 w2 >/dev/null # named volumes stay, even with -v
  [ "$(volumes)" = data ]
  [ "$(docker run --rm -v data:/data busybox cat /data/f)" = hi ]
  restart_berthd
  [ "$(volumes)" = data ]
  [ "$(docker run --rm -v data:/data busybox cat /data/f)" = hi ]
  # docker create alone makes it, as dockerd does; prune -a then takes the unused ones
  docker create --name cm -v made:/m busybox true >/dev/null
  [ "$(volumes)" = "data made" ]
  run docker volume prune -af
  [[ "$output" == *"Deleted Volumes:"*"data"* ]]
  [ "$(volumes)" = made ] # in use
  docker rm cm >/dev/null
  docker volume rm made >/dev/null
  [ -z "$(leftovers)" ]
}

@test "--mount type=volume: readonly, labels, nocopy; inspect shows the volume mount" {
  docker run --name mm --mount type=volume,source=mv,target=/mv,volume-label=k=v busybox \
    sh -c 'echo x >/mv/f' >/dev/null
  [ "$(docker volume inspect --format '{{json .Labels}}' mv)" = '{"k":"v"}' ]
  local j
  j=$(docker inspect --format '{{json .Mounts}}' mm)
  [ "$(jq length <<<"$j")" = 1 ]
  [ "$(jq -c '.[0] | {Type, Name, Source, Destination, Driver, Mode, RW, Propagation}' <<<"$j")" = \
    "{\"Type\":\"volume\",\"Name\":\"mv\",\"Source\":\"$(vol_dir mv)/_data\",\"Destination\":\"/mv\",\"Driver\":\"local\",\"Mode\":\"z\",\"RW\":true,\"Propagation\":\"\"}" ]
  # stdout and stderr apart: their order is not kept between two pipes (as with dockerd)
  run --separate-stderr docker run --rm --mount type=volume,source=mv,target=/mv,readonly busybox sh -c 'cat /mv/f; echo y >/mv/g'
  [ "$status" -ne 0 ]
  [ "$output" = x ]
  [[ "$stderr" == *"Read-only file system"* ]]
  docker run --name rr --mount type=volume,source=mv,target=/mv,readonly busybox true
  [ "$(docker inspect --format '{{range .Mounts}}{{.RW}}{{end}}' rr)" = false ]
  # -v NAME:/p:ro shows its mode
  docker create --name vv -v mv:/mv:ro busybox true >/dev/null
  [ "$(docker inspect --format '{{range .Mounts}}{{.Name}} {{.Mode}} {{.RW}}{{end}}' vv)" = "mv ro false" ]
  [ "$(docker ps -a --filter volume=mv --format '{{.Names}}' | sort | tr '\n' ' ')" = "mm rr vv " ]
}

@test "an empty volume is filled from the image at first use, as Docker does; not with nocopy" {
  docker import --change 'CMD ["sh"]' "$DATA_TAR" withdata >/dev/null
  [ "$(docker run --rm -v new:/data withdata ls /data | tr '\n' ' ')" = "hello sub " ]
  local d
  d="$(vol_dir new)/_data"
  [ "$(cat "$d/hello")" = img ]
  [ "$(cat "$d/sub/deep")" = deep ]
  [ "$(stat -c '%a %u:%g' "$d/hello")" = "640 1000:1000" ]
  # the volume is not empty any more: what the container wrote stays, the image's is not copied
  docker run --rm -v new:/data withdata sh -c 'rm /data/hello; echo mine >/data/mine'
  [ "$(docker run --rm -v new:/data withdata ls /data | tr '\n' ' ')" = "mine sub " ]
  # nocopy: the volume stays empty
  [ -z "$(docker run --rm --mount type=volume,src=nocp,dst=/data,volume-nocopy withdata ls /data)" ]
  [ -z "$(docker run --rm -v nocp2:/data:nocopy withdata ls /data)" ]
  [ -z "$(ls -A "$(vol_dir nocp)/_data")" ]
  # a path the image does not have: nothing to copy, the volume is there empty
  [ -z "$(docker run --rm -v other:/nothere withdata ls /nothere)" ]
  # a symlink in the image cannot lead the copy out of the container's root
  mkdir -p "$BATS_TEST_TMPDIR/ln"
  ln -s /etc "$BATS_TEST_TMPDIR/ln/data"
  cp "$BUSYBOX_TAR" "$BATS_TEST_TMPDIR/ln.tar"
  tar -rf "$BATS_TEST_TMPDIR/ln.tar" -C "$BATS_TEST_TMPDIR/ln" ./data
  docker import --change 'CMD ["sh"]' "$BATS_TEST_TMPDIR/ln.tar" linked >/dev/null
  docker run --rm -v esc:/data linked true
  [ ! -e "$(vol_dir esc)/_data/debian_version" ] # not the host's /etc
  [ "$(cat "$(vol_dir esc)/_data/group")" = "$(tar -xOf "$BUSYBOX_TAR" ./etc/group)" ]
}

@test "anonymous volumes: -v /p and the image's VOLUME; rm -v and --rm remove them, rm alone keeps them" {
  docker run --name a1 -v /p busybox touch /p/x
  local name
  name=$(docker inspect --format '{{range .Mounts}}{{.Name}}{{end}}' a1)
  [[ "$name" =~ ^[0-9a-f]{64}$ ]]
  [ "$(docker inspect --format '{{range .Mounts}}{{.Type}} {{.Destination}} {{.Driver}} {{.Source}}{{end}}' a1)" = \
    "volume /p local $(vol_dir "$name")/_data" ]
  [ -e "$(vol_dir "$name")/_data/x" ]
  [ "$(docker volume inspect --format '{{json .Labels}}' "$name")" = '{"com.docker.volume.anonymous":""}' ]
  docker rm a1 >/dev/null
  [ "$(volumes)" = "$name" ] # kept without -v
  docker volume rm "$name" >/dev/null
  docker run --name a2 -v /p -v keep:/k busybox true
  docker rm -v a2 >/dev/null
  [ "$(volumes)" = keep ] # the anonymous one went, the named one stays
  docker run --rm -v /q busybox true
  [ "$(volumes)" = keep ]
  # the image's VOLUME: an anonymous volume, filled from the image
  docker import --change 'VOLUME /data' --change 'CMD ["sh"]' "$DATA_TAR" withvol >/dev/null
  [ "$(docker run --name iv withvol cat /data/hello)" = img ]
  name=$(docker inspect --format '{{range .Mounts}}{{.Name}}{{end}}' iv)
  [ "$(docker inspect --format '{{range .Mounts}}{{.Destination}} {{.Mode}} {{.RW}}{{end}}' iv)" = "/data  true" ]
  [ "$(cat "$(vol_dir "$name")/_data/hello")" = img ]
  docker rm -v iv >/dev/null
  [ ! -e "$(vol_dir "$name")" ]
  # a bind or tmpfs on the path: no volume
  docker run --rm --tmpfs /data withvol true
  docker run --rm -v "$BT_DIR:/data" withvol true
  [ "$(volumes)" = keep ]
  # one that another container uses stays at rm -v (dockerd skips it quietly)
  docker create --name b1 -v /shared busybox true >/dev/null
  docker create --name b2 --volumes-from b1 busybox true >/dev/null
  name=$(docker inspect --format '{{range .Mounts}}{{.Name}}{{end}}' b1)
  docker rm -v b1 >/dev/null
  [ -d "$(vol_dir "$name")" ]
  docker rm -v b2 >/dev/null
  [ ! -e "$(vol_dir "$name")" ]
  [ -z "$(leftovers)" ]
}

@test "--volumes-from X[:ro|rw] brings X's volumes and binds" {
  mkdir "$BT_DIR/host"
  echo h >"$BT_DIR/host/f"
  docker create --name src -v shared:/s -v "$BT_DIR/host:/h" -v /anon busybox true >/dev/null
  docker run --rm --volumes-from src busybox sh -c 'echo w >/s/a; cat /h/f; echo a >/anon/b'
  [ "$(cat "$(vol_dir shared)/_data/a")" = w ]
  run --separate-stderr docker run --rm --volumes-from src:ro busybox sh -c 'cat /s/a; echo z >/s/z'
  [ "$output" = w ]
  [[ "$stderr" == *"Read-only file system"* ]]
  run docker run --rm --volumes-from src:ro busybox sh -c 'echo z >/h/z'
  [[ "$output" == *"Read-only file system"* ]]
  docker create --name from --volumes-from src:ro busybox true >/dev/null
  [ "$(docker inspect --format '{{range .Mounts}}{{.Destination}}={{.RW}} {{end}}' from | tr ' ' '\n' | sort | tr '\n' ' ')" = \
    " /anon=false /h=false /s=false " ]
  # its own mount at a destination wins over what --volumes-from brings
  [ "$(docker run --rm --volumes-from src -v other:/s busybox ls /s)" = "" ]
  run docker run --rm --volumes-from nosuch busybox true
  [[ "$output" == *"No such container: nosuch"* ]]
  run docker run --rm --volumes-from src:rshared busybox true
  [[ "$output" == *"invalid mode: rshared"* ]]
}

@test "driver options: a tmpfs volume is a tmpfs inside, mounted while used; a bind volume binds its device" {
  docker volume create -o type=tmpfs -o device=tmpfs -o o=size=1m,mode=0700 tv >/dev/null
  [ "$(docker volume inspect --format '{{json .Options}}' tv)" = '{"device":"tmpfs","o":"size=1m,mode=0700","type":"tmpfs"}' ]
  run docker run --rm -v tv:/t busybox sh -c 'stat -f -c %T /t; grep " /t " /proc/mounts'
  [ "${lines[0]}" = tmpfs ]
  [[ "${lines[1]}" == "tmpfs /t tmpfs "*"size=1024k"*"mode=700"* ]]
  local data
  data="$(vol_dir tv)/_data"
  ! mounted "$data" # unmounted when its last user stopped
  # two users: mounted until both have stopped, the same tmpfs for both
  docker run -d --name t1 -v tv:/t busybox sh -c 'echo one >/t/f; sleep 100' >/dev/null
  wait_until 10 test -e "$data/f"
  mounted "$data"
  [ "$(docker run --rm -v tv:/t busybox cat /t/f)" = one ]
  mounted "$data"
  docker rm -f t1 >/dev/null
  wait_until 10 sh -c "! grep -q ' $data ' /proc/self/mountinfo"
  [ ! -e "$data/f" ] # a tmpfs: its content went with the mount
  # type=none,o=bind,device=DIR: the host directory itself
  mkdir "$BT_DIR/dev"
  echo there >"$BT_DIR/dev/f"
  docker volume create -o type=none -o o=bind -o device="$BT_DIR/dev" bv >/dev/null
  [ "$(docker run --rm -v bv:/b busybox sh -c 'cat /b/f; echo new >/b/g')" = there ]
  [ "$(cat "$BT_DIR/dev/g")" = new ]
  ! mounted "$(vol_dir bv)/_data"
  [ ! -e "$(vol_dir bv)/_data/f" ]
  # removing the volume never touches the directory it bound
  docker volume rm bv >/dev/null
  [ "$(cat "$BT_DIR/dev/f")" = there ]
  # a device that does not exist: the start fails and nothing stays mounted
  docker volume create -o type=none -o o=bind -o device=/nonexistent/dir bad >/dev/null
  run docker run --rm -v bad:/b busybox true
  [ "$status" -ne 0 ]
  [[ "$output" == *"failed to mount local volume"* ]]
  [ "$(grep -c " $BT_DIR/" /proc/self/mountinfo)" -eq 0 ]
  # prune skips volumes with options (nothing of theirs is on this disk)
  docker volume prune -af >/dev/null
  [ "$(volumes)" = "bad tv" ]
}

@test "docker volume prune: anonymous unused volumes; -a and label filters; the space it frees" {
  docker run --name keepme -v /inuse busybox true
  docker volume create named >/dev/null
  docker volume create --label tier=x named2 >/dev/null
  local a1 a2
  a1=$(docker volume create)
  a2=$(docker volume create --label tier=x)
  head -c 10000 /dev/zero >"$(vol_dir "$a1")/_data/z"
  run docker volume prune -f --filter label=tier=x
  [[ "$output" == *"Deleted Volumes:"*"$a2"* ]]
  [ -d "$(vol_dir "$a1")" ]
  run docker volume prune -f
  [[ "$output" == *"$a1"* ]]
  [[ "$output" == *"Total reclaimed space: 10kB"* ]]
  [ "$(volumes | wc -w)" -eq 3 ] # named, named2, and the anonymous one keepme uses
  run docker volume prune -af --filter 'label!=tier=x'
  [[ "$output" == *named* ]]
  [ "$(volumes | wc -w)" -eq 2 ]
  [ "$(api_save POST '/volumes/prune?filters=%7B%22all%22%3A%5B%22maybe%22%5D%7D')" = 400 ]
  body_is '{"message":"invalid filter '"'"'all'"'"': strconv.ParseBool: parsing \"maybe\": invalid syntax"}'
  # API before 1.42 prunes named volumes too
  [ "$(api_save POST /v1.41/volumes/prune)" = 200 ]
  [ "$(jq -c .VolumesDeleted "$BT_DIR/api.body")" = '["named2"]' ]
  [ "$(volumes | wc -w)" -eq 1 ]
}

@test "berthd killed during a write burst into a volume: the volume and its synced files survive" {
  docker run -d --name burst -v burst:/data busybox \
    sh -c 'i=0; while :; do echo $i >/data/f$i; i=$((i+1)); [ $((i % 50)) -ne 0 ] || sync; done' >/dev/null
  wait_until 10 test -e "$(vol_dir burst)/_data/f200"
  kill -KILL "$BT_PID"
  wait "$BT_PID" 2>/dev/null || true
  BT_PID=
  berthd_spawn "${BT_ARGS[@]}"
  [ "$(volumes)" = burst ]
  local n
  n=$(docker run --rm -v burst:/data busybox sh -c 'ls /data | wc -l')
  [ "$n" -ge 200 ]
  [ "$(docker run --rm -v burst:/data busybox cat /data/f100)" = 100 ]
  [ -z "$(leftovers)" ]
  # the container that used it is stopped, still uses it, and is removed with it kept
  [ "$(docker inspect --format '{{.State.Running}}' burst)" = false ]
  run docker volume rm burst
  [[ "$output" == *"volume is in use"* ]]
  docker rm -v burst >/dev/null
  [ "$(volumes)" = burst ]
}

# respawn_crashing POINT: restart berthd on the same root with a crash point armed.
respawn_crashing() {
  stop_berthd --keep
  export BERTH_CRASH_AT=$1
  berthd_spawn "${BT_ARGS[@]}"
  unset BERTH_CRASH_AT
}
crashed() {
  wait "$BT_PID" 2>/dev/null || true
  BT_PID=
  grep -q "crash point \`$1\` reached" "$BT_DIR/berthd.log"
}

@test "berthd killed while a volume is made or removed: it is whole or gone after the restart" {
  respawn_crashing volume-create
  run docker volume create half
  crashed volume-create
  [ -n "$(leftovers)" ] # the temp directory of the volume being made
  berthd_spawn "${BT_ARGS[@]}"
  [ -z "$(volumes)" ]
  wait_until 10 eval 'test -z "$(leftovers)"'
  docker volume create half >/dev/null # the name is free
  echo data >"$(vol_dir half)/_data/f"
  respawn_crashing volume-remove
  run docker volume rm half
  crashed volume-remove
  [ ! -e "$(vol_dir half)" ]
  [ -n "$(leftovers)" ] # renamed out, not yet deleted
  berthd_spawn "${BT_ARGS[@]}"
  [ -z "$(volumes)" ]
  wait_until 10 eval 'test -z "$(leftovers)"'
  # killed while a tmpfs volume is mounted: the restart unmounts it
  docker volume create -o type=tmpfs -o device=tmpfs tv >/dev/null
  docker run -d --name tt -v tv:/t busybox sleep 100 >/dev/null
  mounted "$(vol_dir tv)/_data"
  kill -KILL "$BT_PID"
  wait "$BT_PID" 2>/dev/null || true
  BT_PID=
  berthd_spawn "${BT_ARGS[@]}"
  wait_until 10 sh -c "! grep -q ' $(vol_dir tv)/_data ' /proc/self/mountinfo"
  [ "$(docker run --rm -v tv:/t busybox stat -f -c %T /t)" = tmpfs ]
}

@test "killed in a burst of volume creates: every volume listed after the restart is whole" {
  (for i in $(seq 1 40); do docker volume create "burst$i" >/dev/null 2>&1 || true; done) &
  local pid=$!
  wait_until 10 test -d "$(vol_dir burst5)"
  kill -KILL "$BT_PID"
  wait "$BT_PID" 2>/dev/null || true
  BT_PID=
  wait "$pid" || true
  berthd_spawn "${BT_ARGS[@]}"
  wait_until 10 eval 'test -z "$(leftovers)"'
  local v
  for v in $(volumes); do
    [ -d "$(vol_dir "$v")/_data" ]
    jq -e .Name "$(vol_dir "$v")/volume.json" >/dev/null
  done
  [ "$(volumes | wc -w)" -ge 5 ]
}

@test "the Volumes API through docker-py: create, get, list with filters, remove, prune; its errors" {
  run "$HOSTPY" - "$BT_SOCK" <<'EOF2'
import sys, docker
cl = docker.DockerClient(base_url="unix://" + sys.argv[1])
v = cl.volumes.create("pyvol", driver="local", labels={"k": "v"})
print(v.name, v.attrs["Driver"], v.attrs["Labels"]["k"], v.attrs["Scope"],
      v.attrs["Mountpoint"].endswith("/volumes/pyvol/_data"))
t = cl.volumes.create("pytmp", driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=1m"})
print(t.attrs["Options"]["type"], cl.volumes.get("pytmp").attrs["Options"]["o"])
print(sorted(x.name for x in cl.volumes.list(filters={"label": "k=v"})))
print(sorted(x.name for x in cl.volumes.list(filters={"name": "py"})))
c = cl.containers.run("busybox", "sleep 1000", detach=True, volumes={"pyvol": {"bind": "/d", "mode": "rw"}})
print(sorted(x.name for x in cl.volumes.list(filters={"dangling": True})))
try:
    v.remove()
except docker.errors.APIError as e:
    print(e.status_code, "volume is in use" in str(e.explanation), c.id in str(e.explanation))
try:
    cl.volumes.get("nosuch")
except docker.errors.NotFound as e:
    print(404, e.explanation)
try:
    cl.volumes.create("a/b")
except docker.errors.APIError as e:
    print(e.status_code)
c.remove(force=True)
r = cl.volumes.prune(filters={"all": "true", "label": "k"})
print(r["VolumesDeleted"], r["SpaceReclaimed"] >= 0)
t.remove()
print(sorted(x.name for x in cl.volumes.list()))
EOF2
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "pyvol local v local True" ]
  [ "${lines[1]}" = "tmpfs size=1m" ]
  [ "${lines[2]}" = "['pyvol']" ]
  [ "${lines[3]}" = "['pytmp', 'pyvol']" ]
  [ "${lines[4]}" = "['pytmp']" ]
  [ "${lines[5]}" = "409 True True" ]
  [ "${lines[6]}" = "404 get nosuch: no such volume" ]
  [ "${lines[7]}" = "400" ]
  [ "${lines[8]}" = "['pyvol'] True" ]
  [ "${lines[9]}" = "[]" ]
}
