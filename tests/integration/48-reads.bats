#!/usr/bin/env bats
# Truthful reads (issue 11 §3): /info's fields against the host and daemon.json, inspect's
# HostConfig in force, real overlay directories and mount points, prune's until= and label!=
# for containers and images with SpaceReclaimed measured, and ps filters that are honoured or
# refused, never ignored.

load helpers
load containers
load registry
load images

setup_file() {
  ctr_setup_file
  # Two images for the image prunes: OLD made in 2001 with a 4 MiB layer of random bytes only
  # it has (so pruning it frees the layer and its blob), NEW made in 2030 (in the future: a
  # fresh image by any `until` given as a duration).
  FIX=$BATS_FILE_TMPDIR
  export FIX
  mkimage "$FIX/old" --created 2001-01-01T00:00:00Z --label keep=no \
    --layer-files '[{"path":"big.bin","size":4194304,"seed":7}]' >"$FIX/old.json"
  mkimage "$FIX/new" --created 2030-01-01T00:00:00Z --label keep=yes \
    --layer-files '[{"path":"new.txt","content":"new\n"}]' >"$FIX/new.json"
  layout_tar "$FIX/old" "$FIX/old.tar"
  layout_tar "$FIX/new" "$FIX/new.tar"
}

setup() {
  WORK=$(mktemp -d /tmp/berth-reads.XXXXXX)
}

teardown() {
  ctr_teardown
  rm -rf "$WORK"
}

# info FORMAT: one field of docker info.
info() { docker info --format "$1"; }
# js FILTER: jq on the last api_save body.
js() { jq -r "$1" "$BT_DIR/api.body"; }
# Image IDs of the fixtures (their config digests).
fix_id() { jq -r '.manifests[0].config' "$FIX/$1.json"; }
load_fixtures() {
  docker load -i "$FIX/old.tar" >/dev/null
  docker load -i "$FIX/new.tar" >/dev/null
  docker tag "$(fix_id old)" fix:old
  docker tag "$(fix_id new)" fix:new
}

# backdate CTR RFC3339: the test hook for an old container. berth has no API that sets a
# container's creation time, so berthd is stopped, the Created of the container's record is
# rewritten, and berthd starts again on the same root (as after an upgrade).
backdate() {
  local id rec
  id=$(docker inspect -f '{{.Id}}' "$1")
  rec=$BT_DIR/root/containers/$id/container.json
  [ -f "$rec" ]
  stop_berthd --keep
  jq --arg t "$2" '.Created = $t' "$rec" >"$rec.new" && mv "$rec.new" "$rec"
  berthd_spawn "${BT_ARGS[@]}"
}

# dockerd's name for the filesystem type under a path (moby's fstype.FsNames).
fs_name() {
  case "$(stat -f -c %t "$1")" in
    ef53) echo extfs ;; 58465342) echo xfs ;; 9123683e) echo btrfs ;; 1021994) echo tmpfs ;;
    794c7630) echo overlayfs ;; 2fc12fc1) echo zfs ;; *) echo "<unknown>" ;;
  esac
}

@test "info: every field from the host, the cgroup tree, daemon.json and the containers" {
  BT_CONFIG_EXTRA='"log-driver":"none","registry-mirrors":["https://mirror.example.com"],'
  BT_CONFIG_EXTRA+='"insecure-registries":["10.9.8.7/8","myreg.example:5000"],"labels":["zone=a"]'
  ctr_setup
  api_save GET /info >/dev/null
  [ "$(js '.DriverStatus[] | select(.[0] == "Backing Filesystem") | .[1]')" = "$(fs_name "$BT_DIR/root")" ]
  [ "$(js '.DriverStatus[] | select(.[0] == "Supports d_type") | .[1]')" = true ]
  local fwd
  fwd=$(cat /proc/sys/net/ipv4/ip_forward)
  [ "$(js .IPv4Forwarding)" = "$([ "$fwd" = 1 ] && echo true || echo false)" ]
  [ "$(js .NCPU)" = "$(nproc)" ]
  [ "$(js .MemTotal)" = "$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) * 1024))" ]
  [ "$(js .KernelVersion)" = "$(uname -r)" ]
  [ "$(js .OperatingSystem)" = "$(. /etc/os-release && echo "$PRETTY_NAME")" ]
  [ "$(js .Name)" = "$(hostname)" ]
  [ "$(js .CgroupDriver)" = cgroupfs ]
  [ "$(js .CgroupVersion)" = "$([ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] && echo 2 || echo 1)" ]
  # from daemon.json
  [ "$(js .LoggingDriver)" = none ]
  [ "$(js '.RegistryConfig.Mirrors | join(",")')" = "https://mirror.example.com/" ]
  [ "$(js '.RegistryConfig.IndexConfigs["docker.io"].Mirrors | join(",")')" = "https://mirror.example.com/" ]
  [ "$(js '.RegistryConfig.InsecureRegistryCIDRs | sort | join(",")')" = "10.0.0.0/8,127.0.0.0/8,::1/128" ]
  [ "$(js '.RegistryConfig.IndexConfigs["myreg.example:5000"].Secure')" = false ]
  [ "$(js '.Labels | join(",")')" = zone=a ]
  # drivers: only those berth has
  [ "$(js '.Plugins.Network | join(",")')" = bridge,host,ipvlan,macvlan,null ]
  [ "$(js '.Plugins.Volume | join(",")')" = local ]
  [ "$(js '.Plugins.Log | join(",")')" = json-file ]
  # the docker CLI shows the same
  [ "$(info '{{.LoggingDriver}}')" = none ]
  [ "$(info '{{json .RegistryConfig.Mirrors}}')" = '["https://mirror.example.com/"]' ]

  # counts: one running, one paused, one exited, one created (dockerd: stopped is the rest)
  docker run -d --name up busybox sleep 60 >/dev/null
  docker run -d --name frozen busybox sleep 60 >/dev/null
  docker pause frozen
  docker run --name done busybox true
  docker create --name fresh busybox >/dev/null
  [ "$(info '{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}}')" = "4 1 1 2" ]
  docker unpause frozen
}

@test "inspect: HostConfig in force after defaults, the image's config merged" {
  ctr_setup
  docker import --change 'ENV FROM_IMAGE=1' --change 'WORKDIR /srv' --change 'LABEL img=yes' \
    --change 'CMD ["sh"]' "$BUSYBOX_TAR" withcfg >/dev/null
  docker create --name plain --label own=1 withcfg >/dev/null
  [ "$(docker inspect -f '{{.HostConfig.ShmSize}}' plain)" = 67108864 ]
  [ "$(docker inspect -f '{{.HostConfig.Runtime}}' plain)" = runc ]
  # this daemon has no default bridge ("bridge": "none"): the container is on none, and says so
  [ "$(docker inspect -f '{{.HostConfig.NetworkMode}}' plain)" = none ]
  [ "$(docker inspect -f '{{json .NetworkSettings.Networks}}' plain | jq -r 'keys | join(",")')" = none ]
  [ "$(docker inspect -f '{{.HostConfig.IpcMode}}' plain)" = private ]
  local cgns=host
  [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ] || cgns=private
  [ "$(docker inspect -f '{{.HostConfig.CgroupnsMode}}' plain)" = "$cgns" ]
  [ "$(docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' plain)" = no ]
  # the image's defaults in Config
  docker inspect -f '{{json .Config.Env}}' plain | jq -e 'index("FROM_IMAGE=1") != null'
  [ "$(docker inspect -f '{{.Config.WorkingDir}}' plain)" = /srv ]
  [ "$(docker inspect -f '{{json .Config.Labels}}' plain | jq -c -S .)" = '{"img":"yes","own":"1"}' ]
  [ "$(docker inspect -f '{{json .Config.Cmd}}' plain)" = '["sh"]' ]
  # what the container sees is what inspect says: /dev/shm's size, the working directory
  docker run --name shm --shm-size 8m withcfg sh -c 'df -k /dev/shm | tail -1; pwd' >"$WORK/out"
  [ "$(docker inspect -f '{{.HostConfig.ShmSize}}' shm)" = 8388608 ]
  [ "$(awk 'NR==1 {print $2}' "$WORK/out")" = 8192 ]
  [ "$(sed -n 2p "$WORK/out")" = /srv ]
  docker run --name dflt withcfg sh -c 'df -k /dev/shm | tail -1' >"$WORK/out"
  [ "$(awk '{print $2}' "$WORK/out")" = 65536 ]
  docker create --name onhost --network host busybox >/dev/null
  [ "$(docker inspect -f '{{.HostConfig.NetworkMode}}' onhost)" = host ]
}

@test "inspect: GraphDriver.Data names the overlay's real directories" {
  ctr_setup
  docker run -d --name gd busybox sh -c 'echo hi >/written; sleep 60' >/dev/null
  local lower upper work merged d
  lower=$(docker inspect -f '{{.GraphDriver.Data.LowerDir}}' gd)
  upper=$(docker inspect -f '{{.GraphDriver.Data.UpperDir}}' gd)
  work=$(docker inspect -f '{{.GraphDriver.Data.WorkDir}}' gd)
  merged=$(docker inspect -f '{{.GraphDriver.Data.MergedDir}}' gd)
  [ -n "$lower" ]
  for d in ${lower//:/ }; do
    [ -d "$d" ] && [ ! -L "$d" ] # the layer's own directory, not a link to it
  done
  [ -x "${lower%%:*}/bin/busybox" ]
  [ -d "$work" ] && mountpoint -q "$merged"
  # what the container writes lands in UpperDir
  wait_until 5 test -f "$upper/written"
  [ "$(cat "$upper/written")" = hi ]
  # the image's own layer
  [ -x "$(docker image inspect -f '{{.GraphDriver.Data.UpperDir}}' busybox)/bin/busybox" ]
}

@test "inspect: Mounts lists -v and --mount binds with their mode, RW and propagation" {
  ctr_setup
  mkdir -p "$WORK/a" "$WORK/b"
  echo hi >"$WORK/b/f"
  # the container reports what it has: whether /ro takes a write, and its mountinfo lines
  docker run -d --name mnt -v "$WORK/a:/data" --mount "type=bind,src=$WORK/b,dst=/ro,readonly" \
    --tmpfs /scratch busybox sh -c \
    'grep -E " /(data|ro) " /proc/self/mountinfo >/data/mi; (echo x >/ro/g) 2>/dev/null && echo rw >/data/ro || echo ro >/data/ro; sleep 60' >/dev/null
  docker inspect -f '{{json .Mounts}}' mnt >"$WORK/mounts"
  [ "$(jq length "$WORK/mounts")" = 2 ] # --tmpfs is not a mount point, as with dockerd
  [ "$(jq -c '.[0] | [.Type, .Source, .Destination, .Mode, .RW, .Propagation]' "$WORK/mounts")" = \
    "[\"bind\",\"$WORK/a\",\"/data\",\"\",true,\"rprivate\"]" ]
  [ "$(jq -c '.[1] | [.Type, .Source, .Destination, .Mode, .RW, .Propagation]' "$WORK/mounts")" = \
    "[\"bind\",\"$WORK/b\",\"/ro\",\"\",false,\"rprivate\"]" ]
  wait_until 5 test -s "$WORK/a/ro"
  [ "$(cat "$WORK/a/ro")" = ro ]
  [ "$(wc -l <"$WORK/a/mi")" -eq 2 ]
  ! grep -q 'shared:' "$WORK/a/mi" # private, not shared with the host
  docker inspect -f '{{json .HostConfig.Tmpfs}}' mnt | jq -e 'has("/scratch")'
  # ps --filter volume= matches a mount point's destination or source
  [ "$(docker ps --filter volume=/ro --format '{{.Names}}')" = mnt ]
  [ "$(docker ps --filter volume="$WORK/a" --format '{{.Names}}')" = mnt ]
  [ -z "$(docker ps --filter volume=/elsewhere --format '{{.Names}}')" ]
}

@test "container prune --filter until= removes only what is older, by time or duration" {
  ctr_setup
  docker create --name c1 busybox >/dev/null
  sleep 1.2
  local t
  t=$(date +%s.%N)
  sleep 1.2
  docker create --name c2 busybox >/dev/null
  local id1 id2
  id1=$(docker inspect -f '{{.Id}}' c1)
  id2=$(docker inspect -f '{{.Id}}' c2)
  # Unix seconds with a fraction: c1 was created before it, c2 after
  api_save POST "/containers/prune?filters=$(jq -rn --arg t "$t" '{until: [$t]} | @uri')" >"$WORK/code"
  [ "$(cat "$WORK/code")" = 200 ]
  [ "$(js '.ContainersDeleted | join(",")')" = "$id1" ]
  [ "$(docker ps -aq --no-trunc)" = "$id2" ]
  # a Go duration: c2 is fresh
  run docker container prune -f --filter until=1h
  [ "$status" -eq 0 ]
  [ "$(docker ps -aq --no-trunc)" = "$id2" ]
  # backdated to 2001 (see backdate): now it is older than an hour, and RFC 3339 says so too
  docker create --name c3 busybox >/dev/null
  backdate c2 2001-01-01T00:00:00Z
  run docker container prune -f --filter until=2010-01-01T00:00:00Z
  [ "$status" -eq 0 ]
  [[ "$output" == *"$id2"* ]]
  [ "$(docker ps -a --format '{{.Names}}')" = c3 ]
  # words for what does not parse, and for two untils
  run docker container prune -f --filter until=soon
  [ "$status" -ne 0 ]
  [[ "$output" == *'failed to parse value as time or duration: invalid seconds "soon"'* ]]
  run docker container prune -f --filter until=1h --filter until=2h
  [ "$status" -ne 0 ]
  [[ "$output" == *"more than one until filter specified"* ]]
}

@test "container prune: label!= keeps what carries the label; only stopped ones go; SpaceReclaimed measured" {
  ctr_setup
  docker run --name keepme --label keep=yes busybox true
  docker run --name big busybox sh -c 'dd if=/dev/urandom of=/big bs=1024 count=3072 2>/dev/null'
  docker run -d --name live busybox sleep 60 >/dev/null
  local upper bytes idbig
  idbig=$(docker inspect -f '{{.Id}}' big)
  upper=$(docker inspect -f '{{.GraphDriver.Data.UpperDir}}' big)
  bytes=$(du -sb --apparent-size "$upper" | cut -f1)
  api_save POST "/containers/prune?filters=$(jq -rn '{"label!": ["keep=yes"]} | @uri')" >/dev/null
  [ "$(js '.ContainersDeleted | join(",")')" = "$idbig" ]
  local got
  got=$(js .SpaceReclaimed)
  # the 3 MiB file is the writable layer's; du also counts its directories
  [ "$got" -ge 3145728 ] && [ "$got" -le "$bytes" ]
  [ "$(docker ps -a --format '{{.Names}}' | sort | tr '\n' ' ')" = "keepme live " ]
  # label= and label!= together, as dockerd: keep=yes is excluded, nothing else is stopped
  api_save POST "/containers/prune?filters=$(jq -rn '{"label": ["keep"], "label!": ["keep=yes"]} | @uri')" >/dev/null
  [ "$(js .ContainersDeleted)" = null ]
  [ "$(js .SpaceReclaimed)" = 0 ]
  docker container prune -f --filter label=keep=yes >/dev/null
  [ "$(docker ps -a --format '{{.Names}}')" = live ]
}

@test "image prune -a --filter until= keeps a fresh image and removes an old one; label!=" {
  ctr_setup
  load_fixtures
  run docker image prune -a -f --filter until=1h
  [ "$status" -eq 0 ]
  [[ "$output" == *"$(fix_id old)"* ]]
  [[ "$output" != *"$(fix_id new)"* ]]
  run docker image inspect fix:old
  [ "$status" -ne 0 ]
  docker image inspect fix:new >/dev/null
  docker image inspect busybox >/dev/null # made now: fresh too
  # label!=: the image labelled keep=yes stays; old (keep=no) and busybox (no labels) go
  load_fixtures
  run docker image prune -a -f --filter label!=keep=yes
  [ "$status" -eq 0 ]
  docker image inspect fix:new >/dev/null
  run docker image inspect busybox
  [ "$status" -ne 0 ]
  run docker image inspect fix:old
  [ "$status" -ne 0 ]
  run docker image prune -a -f --filter until=yesterday
  [ "$status" -ne 0 ]
  [[ "$output" == *"invalid value for 'until' filter"* ]]
}

@test "image prune: SpaceReclaimed is what leaves the disk (the unique layer and its blob)" {
  ctr_setup
  load_fixtures
  wait_settled
  local before after freed got
  before=$(du -sb --apparent-size "$BT_DIR/root" | cut -f1)
  api_save POST "/images/prune?filters=$(jq -rn '{dangling: ["false"], label: ["keep=no"]} | @uri')" >/dev/null
  js '.ImagesDeleted[].Deleted // empty' | grep -qx "$(fix_id old)"
  got=$(js .SpaceReclaimed)
  wait_settled
  after=$(du -sb --apparent-size "$BT_DIR/root" | cut -f1)
  freed=$((before - after))
  # a 4 MiB layer of random bytes and its (incompressible) gzip blob: about 8 MiB, within 5%
  [ "$got" -gt 8000000 ]
  [ "$((got * 100 / freed))" -ge 95 ] && [ "$((got * 100 / freed))" -le 105 ]
}

@test "images --filter until= lists what was created before it" {
  ctr_setup
  load_fixtures
  [ "$(docker images --filter until=2010-01-01 --format '{{.Repository}}:{{.Tag}}')" = fix:old ]
  [ "$(docker images --filter until=1h --format '{{.Tag}}' | sort | tr '\n' ' ')" = "old " ]
  run docker images --filter until=someday
  [ "$status" -ne 0 ]
  [[ "$output" == *"invalid value for 'until' filter"* ]]
}

@test "ps filters: network, is-task, isolation honoured; health refused" {
  ctr_setup
  docker run -d --name own busybox sleep 60 >/dev/null
  docker run -d --name shared --network host busybox sleep 60 >/dev/null
  [ "$(docker ps --filter network=host --format '{{.Names}}')" = shared ]
  [ "$(docker ps --filter network=none --format '{{.Names}}')" = own ]
  [ -z "$(docker ps --filter network=bridge --format '{{.Names}}')" ]
  [ -z "$(docker ps --filter is-task=true --format '{{.Names}}')" ]
  [ "$(docker ps --filter is-task=false -q | wc -l)" -eq 2 ]
  [ "$(docker ps --filter isolation=default -q | wc -l)" -eq 2 ]
  [ -z "$(docker ps --filter isolation=hyperv -q)" ]
  local k
  for k in health=healthy; do
    run docker ps --filter "$k"
    [ "$status" -ne 0 ]
    [[ "$output" == *"invalid filter '${k%%=*}'"* ]]
  done
  run docker ps --filter is-task=maybe
  [ "$status" -ne 0 ]
  [[ "$output" == *"invalid filter 'is-task=[maybe]'"* ]]
  run docker ps -a --filter exited=abc
  [ "$status" -ne 0 ]
  [[ "$output" == *"invalid filter 'exited=abc'"* ]]
  # SandboxKey: the running container's own network namespace
  local key
  key=$(docker inspect -f '{{.NetworkSettings.SandboxKey}}' own)
  [ "$(readlink "$key")" = "$(readlink "/proc/$(ctr_pid own)/ns/net")" ]
  [ "$(readlink "$key")" != "$(readlink /proc/self/ns/net)" ]
}
