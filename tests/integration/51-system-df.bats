#!/usr/bin/env bats
# docker system df [-v] (images with their shared and unique size, containers with the size of
# their writable layer, volumes with their size and the containers using them, an empty build
# cache) against what is on the disk; docker system prune [-a] [--volumes] [--filter] removing
# the right things; docker info's counts of containers by state and of images.
# bats file_tags=reactor-neutral

load helpers
load containers
load images

bats_require_minimum_version 1.5.0

# Two images made by mkimage on the same busybox layer, each with a layer of its own:
#   one: busybox + /one (3000 bytes)    two: busybox + /two (5000 bytes)
setup_file() {
  ctr_setup_file
  FIX=$BATS_FILE_TMPDIR
  export FIX
  local x
  "$HOSTPY" "$BERTH_SRC/tools/mkimage.py" "$FIX/one" --busybox --cmd '["sh"]' \
    --layer-files '[{"path":"one","size":3000,"seed":1}]' >"$FIX/one.json"
  "$HOSTPY" "$BERTH_SRC/tools/mkimage.py" "$FIX/two" --busybox --cmd '["sh"]' \
    --layer-files '[{"path":"two","size":5000,"seed":2}]' >"$FIX/two.json"
  for x in one two; do layout_tar "$FIX/$x" "$FIX/$x.tar"; done
}
setup() { ctr_setup; }
teardown() { ctr_teardown; }

# sum_sizes DIR...: the bytes of the regular files and symlinks below DIR, as du -b counts
# files (directories aside)
sum_sizes() { find "$@" \( -type f -o -type l \) -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
load_fixture() {
  docker load -i "$FIX/$1.tar" >/dev/null
  docker tag "$(jq -r '.manifests[0].config' "$FIX/$1.json")" "$1:latest"
}
df_json() { api_save GET /system/df >/dev/null && cat "$BT_DIR/api.body"; }

@test "system df: images with shared and unique sizes, containers, volumes, against the disk" {
  load_fixture one
  load_fixture two
  docker run --name writer one sh -c 'head -c 100000 /dev/zero >/big; ln -s /big /link'
  docker create --name idle two true >/dev/null
  docker volume create vol >/dev/null
  head -c 12345 /dev/zero >"$BT_DIR/root/volumes/vol/_data/z"
  docker create --name user1 -v vol:/v busybox true >/dev/null
  docker create --name user2 -v vol:/v busybox true >/dev/null
  local df
  df=$(df_json)
  # layers: each once, as on the disk
  [ "$(jq .LayersSize <<<"$df")" -eq "$(sum_sizes "$BT_DIR"/root/layers/*/diff -type f)" ]
  # images: one and two share busybox's layer; each has one of its own
  local bbsize one two layer
  for layer in "$BT_DIR"/root/layers/*/diff; do # mkimage's busybox layer (busybox:latest has a shadow)
    if [ -e "$layer/bin/busybox" ] && [ ! -e "$layer/etc/shadow" ]; then
      bbsize=$(sum_sizes "$layer" -type f)
    fi
  done
  one=$(jq '.Images[] | select(.RepoTags == ["one:latest"])' <<<"$df")
  two=$(jq '.Images[] | select(.RepoTags == ["two:latest"])' <<<"$df")
  [ "$(jq .SharedSize <<<"$one")" -eq "$bbsize" ]
  [ "$(jq .SharedSize <<<"$two")" -eq "$bbsize" ]
  [ "$(jq '.Size - .SharedSize' <<<"$one")" -eq 3000 ]
  [ "$(jq '.Size - .SharedSize' <<<"$two")" -eq 5000 ]
  [ "$(jq .Containers <<<"$one")" -eq 1 ]
  [ "$(jq .Containers <<<"$two")" -eq 1 ]
  [ "$(jq '.Images[] | select(.RepoTags == ["busybox:latest"]) | .Containers' <<<"$df")" -eq 2 ]
  [ "$(jq '.Images[] | select(.RepoTags == ["busybox:latest"]) | .SharedSize' <<<"$df")" -eq 0 ]
  # containers: the writable layer's bytes, and with the image's
  local id upper
  id=$(docker inspect --format '{{.Id}}' writer)
  upper=$BT_DIR/root/containers/$id/upper
  [ "$(jq ".Containers[] | select(.Id == \"$id\") | .SizeRw" <<<"$df")" -eq "$(sum_sizes "$upper")" ]
  [ "$(sum_sizes "$upper")" -ge 100000 ]
  [ "$(jq ".Containers[] | select(.Id == \"$id\") | .SizeRootFs - .SizeRw" <<<"$df")" -eq "$(jq .Size <<<"$one")" ]
  [ "$(jq '.Containers | length' <<<"$df")" -eq 4 ]
  # volumes: its bytes and how many containers use it
  [ "$(jq -c '.Volumes[] | {Name, Size: .UsageData.Size, RefCount: .UsageData.RefCount}' <<<"$df")" = \
    '{"Name":"vol","Size":12345,"RefCount":2}' ]
  [ "$(jq -c .BuildCache <<<"$df")" = "[]" ]
  # type= asks for some of it only
  [ "$(api_save GET '/system/df?type=volume')" = 200 ]
  [ "$(jq -c 'keys' "$BT_DIR/api.body")" = '["Volumes"]' ]
  [ "$(api_save GET '/system/df?type=volume&type=image')" = 200 ]
  [ "$(jq -c 'keys' "$BT_DIR/api.body")" = '["Images","LayersSize","Volumes"]' ]
  [ "$(api_save GET '/system/df?type=disk')" = 400 ]
  body_is '{"message":"unknown object type: disk"}'
  # the CLI: totals, active counts, and -v's tables
  run docker system df --format '{{.Type}}|{{.TotalCount}}|{{.Active}}'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "Images|3|3" ]
  [ "${lines[1]}" = "Containers|4|0" ]
  [ "${lines[2]}" = "Local Volumes|1|1" ]
  [ "${lines[3]}" = "Build Cache|0|0" ]
  run docker system df -v
  [ "$status" -eq 0 ]
  [[ "$output" == *"Local Volumes space usage:"* ]]
  grep -Eq '^vol +2 +12\.35kB$' <<<"$output"
  grep -Eq "^one +latest +[0-9a-f]{12} .* 3kB +1$" <<<"$output"
  grep -Eq "^two +latest +[0-9a-f]{12} .* 5kB +1$" <<<"$output"
  grep -Eq "^${id:0:12} +one .* 100kB " <<<"$output"
}

@test "system prune: stopped containers, dangling images; -a unused images; --volumes anonymous volumes" {
  load_fixture one
  docker import --change 'CMD ["true"]' "$BUSYBOX_TAR" dang:1 >/dev/null
  local dangling
  dangling=$(docker image inspect --format '{{.Id}}' dang:1)
  docker import --change 'CMD ["false"]' "$BUSYBOX_TAR" dang:1 >/dev/null # the first dangles
  docker run -d --name alive -v /inuse busybox sleep 100 >/dev/null
  docker run --name exited busybox true
  docker volume create named >/dev/null
  local anon exited
  anon=$(docker volume create)
  exited=$(docker inspect --format '{{.Id}}' exited)
  run docker system prune -f
  [ "$status" -eq 0 ]
  [[ "$output" == *"Deleted Containers:"*"$exited"* ]]
  [[ "$output" == *"Total reclaimed space:"* ]]
  [ "$(docker ps -a --format '{{.Names}}')" = alive ]
  run docker image inspect "$dangling"
  [ "$status" -ne 0 ]
  docker image inspect one:latest dang:1 >/dev/null
  [ "$(docker volume ls -q | wc -l)" -eq 3 ] # no --volumes: every volume stays
  # --volumes: the anonymous volumes no container uses
  run docker system prune -f --volumes
  [ "$status" -eq 0 ]
  [[ "$output" == *"Deleted Volumes:"*"$anon"* ]]
  [ "$(docker volume ls -q --filter name=named)" = named ]
  [ "$(docker volume ls -q | wc -l)" -eq 2 ] # named, and alive's
  # -a: images no container uses; --filter goes to every prune
  run docker system prune -af --filter label=nothing=here
  [ "$status" -eq 0 ]
  docker image inspect one:latest >/dev/null
  run docker system prune -af
  [ "$status" -eq 0 ]
  run docker image inspect one:latest
  [ "$status" -ne 0 ]
  run docker image inspect dang:1
  [ "$status" -ne 0 ]
  docker image inspect busybox:latest >/dev/null # alive uses it
  [ "$(docker ps -q | wc -l)" -eq 1 ]
  # the prunes of what berth has none of answer an empty report
  [ "$(api_save POST /networks/prune)" = 200 ]
  body_is '{"NetworksDeleted":null}'
  [ "$(api_save POST /build/prune)" = 200 ]
  body_is '{"CachesDeleted":null,"SpaceReclaimed":0}'
  [ "$(api_save POST '/networks/prune?filters=%7B%22nope%22%3A%5B%22x%22%5D%7D')" = 400 ]
}

@test "info counts containers by state, images, and lists the local volume driver" {
  load_fixture one
  docker run -d --name run1 busybox sleep 100 >/dev/null
  docker run -d --name paused1 busybox sleep 100 >/dev/null
  docker pause paused1 >/dev/null
  docker run --name exited1 busybox true
  docker create --name created1 busybox true >/dev/null
  [ "$(docker info --format '{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}} {{.Images}}')" = "4 1 1 2 2" ]
  [ "$(docker info --format '{{json .Plugins.Volume}}')" = '["local"]' ]
  docker unpause paused1 >/dev/null
  docker rm -f run1 >/dev/null
  [ "$(docker info --format '{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}}')" = "3 1 0 2" ]
}
