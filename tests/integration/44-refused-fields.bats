#!/usr/bin/env bats
# Every run flag works or is refused (exec/fields.c, handlers/params.c): each option berth does
# not honour yet is refused at create through the docker CLI with a message naming it, and
# nothing is created (no container, no image pulled for it); healthchecks are accepted with a
# warning the CLI prints; a plain docker run (on the default bridge: this daemon has one,
# CTR_BRIDGE=1, in a network namespace of its own), docker create and docker-py's
# containers.run work without a warning. Query parameters berth does not honour are refused by
# name the same way.
# bats file_tags=reactor-neutral

bats_require_minimum_version 1.5.0

load helpers
load containers

setup_file() { ctr_setup_file; }
setup() { CTR_BRIDGE=1 ctr_setup; }
teardown() { ctr_teardown; }


# refused_run MESSAGE ARGS...: `docker run ARGS... busybox true` and `docker create` with the
# same ARGS both fail with "Error response from daemon: MESSAGE", print nothing else of note
# (no pull: the CLI pulls only on a 404), and create nothing.
refused_run() {
  local msg=$1 cmd
  shift
  for cmd in run create; do
    run docker "$cmd" "$@" busybox true
    if [ "$status" -ne 125 ] && [ "$cmd" = run ] || [ "$status" -eq 0 ] ||
      [[ "$output" != *"Error response from daemon: $msg"* ]] ||
      [[ "$output" == *"Unable to find image"* ]]; then
      echo "docker $cmd $*"
      echo "expected: Error response from daemon: $msg"
      echo "got ($status): $output"
      return 1
    fi
    no_containers
  done
}

@test "a plain docker run works: the default network is the bridge, and nothing warns" {
  run --separate-stderr docker run --rm busybox sh -c 'echo hi; ls /sys/class/net'
  [ "$status" -eq 0 ]
  [ "$output" = $'hi\neth0\nlo' ]
  [ -z "$stderr" ]
  run --separate-stderr docker run --rm --network bridge busybox ls /sys/class/net
  [ "$status" -eq 0 ]
  [ "$output" = $'eth0\nlo' ]
  [ -z "$stderr" ]
  run --separate-stderr docker run --rm --network none busybox echo quiet
  [ "$output" = quiet ]
  [ -z "$stderr" ]
  run --separate-stderr docker run --rm --network host busybox echo quiet
  [ "$output" = quiet ]
  [ -z "$stderr" ]
  # docker create; the container runs
  run --separate-stderr docker create --name made busybox echo made
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  [ "$(docker start -a made)" = made ]
  docker rm made >/dev/null
  # the create reply's Warnings, through the API
  [ "$(api_save POST /containers/create -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","Cmd":["true"]}')" = 201 ]
  [ "$(jq -c .Warnings "$BT_DIR/api.body")" = "[]" ]
  docker rm "$(jq -r .Id "$BT_DIR/api.body")" >/dev/null
  # berth's own client
  run --separate-stderr "$BERTH" -H "unix://$BT_SOCK" run --rm busybox echo hi
  [ "$status" -eq 0 ]
  [ "$output" = hi ]
  [ -z "$stderr" ]
  # docker-py's containers.run
  run "$HOSTPY" -c "
import docker
c = docker.DockerClient(base_url='unix://$BT_SOCK')
print(c.containers.run('busybox', 'echo from-py', remove=True).decode().strip())"
  [ "$status" -eq 0 ]
  [ "$output" = from-py ]
  no_containers
}

@test "daemon.json bridge: none (dockerd's -b none): the default network runs as none, silently" {
  ctr_teardown
  ctr_setup # the suites' daemon: "bridge": "none"
  run --separate-stderr docker run --rm busybox ls /sys/class/net
  [ "$output" = lo ]
  [ -z "$stderr" ]
  [ "$(api_save POST /containers/create -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","Cmd":["true"]}')" = 201 ]
  [ "$(jq -c .Warnings "$BT_DIR/api.body")" = "[]" ]
}

@test "restart policies, volume plugins, links, user-defined networks: refused by name, nothing made" {
  # -p and -P are published on the default bridge (56-ports.bats); an IPv6 host address is not
  refused_run "HostConfig.PortBindings: an IPv6 host address (::1) is not supported yet: the default bridge is IPv4-only" \
    -p '[::1]:8080:80'
  refused_run "HostConfig.RestartPolicy.Name (--restart always) is not supported yet" --restart always
  refused_run "HostConfig.RestartPolicy.Name (--restart unless-stopped) is not supported yet" \
    --restart unless-stopped
  refused_run "HostConfig.RestartPolicy.Name (--restart on-failure) is not supported yet" \
    --restart on-failure:3
  # exec/verify.c refuses this first, in its own words
  refused_run 'mounts of type "image" are not supported yet' --mount type=image,src=busybox,dst=/p
  refused_run 'HostConfig.VolumeDriver "nfsplug" (--volume-driver): volume plugins are not supported yet, only the local driver' \
    --volume-driver nfsplug
  refused_run 'HostConfig.Mounts[0].VolumeOptions.DriverConfig.Name "nfsplug" (--mount volume-driver=): volume plugins are not supported yet, only the local driver' \
    --mount type=volume,src=named,dst=/p,volume-driver=nfsplug
  refused_run 'HostConfig.Mounts[0].VolumeOptions.Subpath (--mount volume-subpath=) is not supported yet' \
    --mount type=volume,src=named,dst=/p,volume-subpath=sub
  refused_run "could not get container for other: No such container: other" --link other:alias
  refused_run "network mynet not found" --network mynet
  refused_run "invalid endpoint settings:
user specified IP address is supported on user defined networks only" --ip 10.0.0.5
  refused_run "NetworkingConfig.EndpointsConfig.default.IPAMConfig.IPv6Address (--ip6) is not supported yet" \
    --ip6 fd00::5
  refused_run "HostConfig.StorageOpt (--storage-opt) is not supported yet" --storage-opt size=1G
  refused_run "HostConfig.Annotations (--annotation) is not supported yet" --annotation a=b
  refused_run 'could not select device driver "" with capabilities: [[gpu]]' --gpus all
  refused_run "invalid isolation (hyperv): linux only supports 'default'" --isolation hyperv
  [ -z "$(docker volume ls -q)" ] # no volume was made for any of them
}

@test "what the CLI sends by default for those options is no request: --restart no, -p with the host's network" {
  run --separate-stderr docker run --rm --network none --restart no busybox echo ok
  [ "$status" -eq 0 ]
  [ "$output" = ok ]
  # dockerd discards published ports on the host's network, with this warning
  run --separate-stderr docker run --rm --network host -p 8080:80 -P busybox echo ok
  [ "$status" -eq 0 ]
  [ "$output" = ok ]
  [ "$stderr" = "WARNING: Published ports are discarded when using host network mode" ]
  # --userns host, --isolation default, --cgroupns: accepted (dockerd ignores the first two here)
  run docker run --rm --network none --userns host --isolation default busybox echo ok
  [ "$output" = ok ]
  no_containers
}

@test "an image with VOLUME runs with an anonymous volume there; -v HOST:PATH and --tmpfs PATH make none" {
  docker import --change 'VOLUME /data' --change 'CMD ["sh"]' "$BUSYBOX_TAR" withvol:latest >/dev/null
  docker run --rm --network none withvol sh -c 'echo x >/data/f'
  [ -z "$(docker volume ls -q)" ] # --rm took its anonymous volume with it
  docker run --name kept --network none withvol sh -c 'echo x >/data/f'
  [ "$(docker volume ls -q)" = "$(docker inspect --format '{{range .Mounts}}{{.Name}}{{end}}' kept)" ]
  docker rm -v kept >/dev/null
  no_containers
  mkdir "$BT_DIR/host"
  docker run --rm --network none -v "$BT_DIR/host:/data" withvol sh -c 'echo x >/data/f'
  [ "$(cat "$BT_DIR/host/f")" = x ]
  run docker run --rm --network none --tmpfs /data withvol sh -c 'grep " /data " /proc/mounts'
  [ "$status" -eq 0 ]
  [[ "$output" == *"tmpfs /data tmpfs"* ]]
  docker run --rm --network none --mount "type=bind,src=$BT_DIR/host,dst=/data" withvol \
    cat /data/f
  no_containers
  [ -z "$(docker volume ls -q)" ]
}

@test "--health-cmd warns (not run) and is kept in inspect; --no-healthcheck does not warn" {
  run --separate-stderr docker run --name hc --network none --health-cmd 'exit 1' \
    --health-interval 1s busybox echo ran
  [ "$status" -eq 0 ]
  [ "$output" = ran ]
  [ "$stderr" = "WARNING: healthchecks are not supported yet: Config.Healthcheck (--health-cmd, or the image's HEALTHCHECK) is kept but never run" ]
  [ "$(docker inspect -f '{{json .Config.Healthcheck.Test}}' hc)" = '["CMD-SHELL","exit 1"]' ]
  run --separate-stderr docker run --rm --network none --no-healthcheck busybox echo ran
  [ "$output" = ran ]
  [ -z "$stderr" ]
  # dockerd's own check of the durations
  run docker run --rm --network none --health-cmd true --health-interval 1us busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"Interval in Healthcheck cannot be less than 1ms"* ]]
}

@test "an image's HEALTHCHECK warns too" {
  local img=$BT_DIR/img
  "$HOSTPY" "$BERTH_SRC/tools/mkimage.py" "$img" --spec - >/dev/null <<EOF
{"config": {"Cmd": ["echo", "ran"],
            "Healthcheck": {"Test": ["CMD-SHELL", "exit 1"], "Interval": 1000000000}},
 "layers": [{"busybox": "/bin/busybox", "applets": ["sh", "echo"]}]}
EOF
  tar -C "$img" -cf "$BT_DIR/img.tar" .
  local id
  id=$(docker load -i "$BT_DIR/img.tar" | sed -n 's/^Loaded image ID: //p')
  [ -n "$id" ]
  run --separate-stderr docker run --rm --network none "$id"
  [ "$status" -eq 0 ]
  [ "$output" = ran ]
  [[ "$stderr" == *"WARNING: healthchecks are not supported yet"* ]]
}

@test "query parameters berth does not honour are refused by name; nothing is done" {
  docker run -d --name alive --network none busybox sleep 60 >/dev/null
  run docker create --platform linux/amd64 --network none busybox true
  [ "$status" -ne 0 ]
  [[ "$output" == *"query parameter platform (docker create --platform) is not supported yet"* ]]
  [ "$(docker ps -aq | wc -l)" -eq 1 ]
  run docker save --platform linux/amd64 -o "$BT_DIR/x.tar" busybox
  [ "$status" -ne 0 ]
  [[ "$output" == *"query parameter platform (docker save --platform) is not supported yet"* ]]
  run docker image inspect --platform linux/amd64 busybox
  [[ "$output" == *"query parameter platform (docker image inspect --platform) is not supported yet"* ]]
  [ "$(api_save GET '/images/json?shared-size=1')" = 400 ]
  body_is '{"message":"query parameter shared-size (docker system df -v) is not supported yet"}'
  # unset values, and what the CLI sends by default, pass: docker rm -v
  [ "$(api_save GET '/images/json?shared-size=0&digests=1')" = 200 ]
  docker rm -f -v alive >/dev/null
  no_containers
}
