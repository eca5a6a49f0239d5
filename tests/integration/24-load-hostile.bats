#!/usr/bin/env bats
# docker load and docker import fed hostile bodies: random bytes, archives holding a device or
# a fifo, invalid names, a tarball that is no image archive, a client that stalls midway.
# Each gets a clear error, promptly; berthd, its containers and its other clients go on.

load helpers
load containers
load images

bats_require_minimum_version 1.5.0

setup_file() { ctr_setup_file; }

setup() {
  ctr_setup
  WORK=$(mktemp -d /tmp/berth-hostile.XXXXXX)
  docker save -o "$WORK/good.tar" busybox:latest
}

teardown() {
  ctr_teardown
  rm -rf "$WORK"
}

# hostile_tar OUT KIND: a docker-archive whose layer.tar is a character device 1:5
# (KIND=chardev: read, it never ends) or whose manifest.json is a fifo (KIND=fifo: opening it
# for reading blocks until a writer comes).
hostile_tar() {
  "$HOSTPY" - "$1" "$2" <<'EOF'
import io, json, sys, tarfile
out, kind = sys.argv[1], sys.argv[2]
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "a" * 64]}}).encode()
manifest = json.dumps([{"Config": "config.json", "RepoTags": ["local/hostile:v1"],
                        "Layers": ["layer.tar"]}]).encode()
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    def entry(name, data=None, type=tarfile.REGTYPE, major=0, minor=0):
        ti = tarfile.TarInfo(name)
        ti.type, ti.devmajor, ti.devminor = type, major, minor
        ti.size = len(data) if data is not None else 0
        t.addfile(ti, io.BytesIO(data) if data is not None else None)
    entry("config.json", config)
    if kind == "fifo":
        entry("manifest.json", type=tarfile.FIFOTYPE)
    else:
        entry("manifest.json", manifest)
        entry("layer.tar", type=tarfile.CHRTYPE, major=1, minor=5)
EOF
}

# retag_tar IN OUT NAME...: IN (a docker save tarball) with manifest.json's RepoTags set to
# the NAMEs.
retag_tar() {
  "$HOSTPY" - "$@" <<'EOF'
import io, json, sys, tarfile
src, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with tarfile.open(src) as i, tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as o:
    for m in i.getmembers():
        data = i.extractfile(m).read() if m.isfile() else None
        if m.name.lstrip("./") == "manifest.json":
            man = json.loads(data)
            man[0]["RepoTags"] = names
            data = json.dumps(man).encode()
            m.size = len(data)
        o.addfile(m, io.BytesIO(data) if data is not None else None)
EOF
}

@test "load and import of 20 MB of random bytes: a clear error; berthd and a container live on" {
  docker run -d --name keep busybox sleep 1000
  head -c 20000000 /dev/urandom >"$WORK/junk.tar"
  local i
  for i in 1 2 3; do
    run docker load -i "$WORK/junk.tar"
    kill -0 "$BT_PID"
    [ "$status" -eq 1 ]
    [[ "$output" == *"invalid archive: Unrecognized archive format"* ]]
  done
  for i in 1 2 3; do
    run docker import "$WORK/junk.tar" local/junk:v1
    kill -0 "$BT_PID"
    [ "$status" -eq 1 ]
    [[ "$output" == *"invalid layer tar: Unrecognized archive format"* ]]
  done
  running keep
  wait_settled
  run docker images -q local/junk
  [ -z "$output" ]
  # The engine still loads and imports.
  run docker load -i "$WORK/good.tar"
  [ "$status" -eq 0 ]
  [ "$output" = "Loaded image: busybox:latest" ]
  docker import "$BUSYBOX_TAR" local/imp:v1 >/dev/null
  docker image inspect local/imp:v1 >/dev/null
}

@test "load: a device or a fifo in the archive is refused at once, naming the entry" {
  hostile_tar "$WORK/chr.tar" chardev
  hostile_tar "$WORK/fifo.tar" fifo
  run timeout 60 "$DOCKER_BIN" load -i "$WORK/chr.tar"
  [ "$status" -eq 1 ]
  [[ "$output" == *'invalid archive: `layer.tar` is a character device: an image archive may hold only files, directories and links'* ]]
  run timeout 60 "$DOCKER_BIN" load -i "$WORK/fifo.tar"
  [ "$status" -eq 1 ]
  [[ "$output" == *'invalid archive: `manifest.json` is a fifo: an image archive may hold only files, directories and links'* ]]
  run docker images -q local/hostile
  [ -z "$output" ]
  wait_settled
}

@test "load: after three hostile loads, rm and load still work and SIGTERM stops berthd" {
  docker run -d --name victim busybox sleep 1000
  hostile_tar "$WORK/chr.tar" chardev
  hostile_tar "$WORK/fifo.tar" fifo
  local t
  for t in chr fifo chr; do
    run timeout 60 "$DOCKER_BIN" load -i "$WORK/$t.tar"
    [ "$status" -eq 1 ]
  done
  run timeout 30 "$DOCKER_BIN" rm -f victim
  [ "$status" -eq 0 ]
  run timeout 30 "$DOCKER_BIN" rmi busybox:latest
  [ "$status" -eq 0 ]
  run timeout 60 "$DOCKER_BIN" load -i "$WORK/good.tar"
  [ "$status" -eq 0 ]
  [ "$output" = "Loaded image: busybox:latest" ]
  berthd_signal TERM
  [ "$BT_EXIT" -eq 0 ]
}

@test "load: an invalid RepoTags entry is an error in dockerd's words, not a silent success" {
  retag_tar "$WORK/good.tar" "$WORK/upper.tar" local/UPPER:v1
  run docker load -i "$WORK/upper.tar"
  [ "$status" -eq 1 ]
  [[ "$output" == *"invalid reference format: repository name (local/UPPER) must be lowercase"* ]]
  retag_tar "$WORK/good.tar" "$WORK/notag.tar" local/ok:v1 local/notag
  run docker load -i "$WORK/notag.tar"
  [ "$status" -eq 1 ]
  [[ "$output" == *'invalid tag "local/notag"'* ]]
  # Nothing was tagged: the names are checked before the image is taken in.
  run docker images -q local/ok
  [ -z "$output" ]
  retag_tar "$WORK/good.tar" "$WORK/fine.tar" local/ok:v1 local/ok:v2
  run docker load -i "$WORK/fine.tar"
  [ "$status" -eq 0 ]
  [ "$output" = $'Loaded image: local/ok:v1\nLoaded image: local/ok:v2' ]
}

@test "load: not an image archive answers 200 with the error in the stream, as dockerd does" {
  rootfs_tar "$WORK/root.tar"
  local msg="invalid archive: it has neither manifest.json nor index.json"
  [ "$(api_save POST /images/load --data-binary @"$WORK/root.tar" -H 'Content-Type: application/x-tar')" = 200 ]
  header_is Content-Type application/json
  [ "$(jq -c . "$BT_DIR/api.body")" = "{\"errorDetail\":{\"message\":\"$msg\"},\"error\":\"$msg\"}" ]
  run docker load -i "$WORK/root.tar"
  [ "$status" -eq 1 ]
  [[ "$output" == *"$msg"* ]]
  # docker-py raises ImageLoadError with the message.
  run "$HOSTPY" - "$BT_SOCK" "$WORK/root.tar" <<'EOF'
import sys, docker
c = docker.DockerClient(base_url="unix://" + sys.argv[1])
try:
    c.images.load(open(sys.argv[2], "rb").read())
    print("loaded?")
except docker.errors.ImageLoadError as e:
    print("ImageLoadError:", e)
EOF
  [ "$output" = "ImageLoadError: $msg" ]
}

@test "load and import: a body that stalls midway gets 408 after the request timeout and frees its job" {
  ctr_teardown
  ctr_setup --http-request-timeout 1
  # Three loads (as many as there are bulk workers, and more) and an import, each sending a
  # part of its body and then nothing.
  local i f pids=()
  head -c 1000000 "$BUSYBOX_TAR" >"$WORK/part"
  for i in 1 2 3; do
    printf 'POST /images/load HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n' |
      cat - "$WORK/part" >"$WORK/load.req"
    "$HOSTPY" "$RAWSOCK" "$BT_SOCK" --wait 20 --status <"$WORK/load.req" >"$WORK/load.$i.out" &
    pids+=($!)
  done
  printf 'POST /images/create?fromSrc=-&repo=local/stall HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n' |
    cat - "$WORK/part" >"$WORK/import.req"
  "$HOSTPY" "$RAWSOCK" "$BT_SOCK" --wait 20 --status <"$WORK/import.req" >"$WORK/import.out"
  wait "${pids[@]}"
  for f in "$WORK"/load.*.out "$WORK/import.out"; do
    run cat "$f"
    [[ "${lines[0]}" == $'HTTP/1.1 408 Request Timeout\r' ]]
    [[ "$output" == *'{"message":"request timed out"}'* ]]
    [[ "$output" == *"[closed after "* ]]
  done
  wait_settled
  # Every bulk worker is free again: a load and an rm go through, SIGTERM stops berthd.
  run timeout 60 "$DOCKER_BIN" load -i "$WORK/good.tar"
  [ "$status" -eq 0 ]
  docker run -d --name late busybox sleep 1000
  run timeout 30 "$DOCKER_BIN" rm -f late
  [ "$status" -eq 0 ]
  berthd_signal TERM
}
