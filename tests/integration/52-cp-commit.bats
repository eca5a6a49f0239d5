#!/usr/bin/env bats
# docker cp (both ways, running and stopped containers, binds, -a, -L, the stat header,
# dockerd's errors), symlinks and hostile tars that try to reach the host, docker commit (the
# layer, whiteouts, -c/-m/-a, the pause, save's diff IDs), docker diff and docker export.

load helpers
load containers

bats_require_minimum_version 1.5.0

setup_file() { ctr_setup_file; }
setup() {
  ctr_setup
  W=$BT_DIR/work
  mkdir -p "$W"
}
teardown() { ctr_teardown; }

# log_wait CTR RE: its log gets a line matching RE within 10 s.
log_wait() { wait_until 10 log_has "$1" "$2"; }

# tar_names: a tar on stdin as its sorted entry names, one a line.
tar_names() { tar -t | sort; }

# stat_of CTR PATH: the X-Docker-Container-Path-Stat of HEAD /containers/CTR/archive?path=PATH,
# decoded.
stat_of() {
  curl -s -I --unix-socket "$BT_SOCK" "http://berth/containers/$1/archive?path=$2" |
    tr -d '\r' | sed -n 's/^X-Docker-Container-Path-Stat: //p' | base64 -d
}

# host_print: what a breakout would change on the host: /etc's sensitive files, the names the
# tests write (at / and in /etc), and the test's sentinel directory (names and contents).
host_print() {
  sha256sum /etc/passwd /etc/shadow /etc/hosts /etc/group
  local n
  for n in dotdot absolute via-up via-abs passwd-running passwd-stopped passwd-up-running \
    passwd-up-stopped hl; do ls -d "/$n" "/etc/$n" 2>/dev/null || true; done
  (cd "$SENTINEL" && find . -type f -exec sha256sum {} + && find . | sort)
}

# evil_container NAME: a busybox container whose /etc is a symlink to /, /up one to
# ../../../../../../.. and /abs one to the test's sentinel directory on the host, with /passwd
# saying "inside": put in place by an archive (no noOverwriteDirNonDir, so /etc is replaced)
# before its first start, then started. (An imported image's /etc link would be hidden by the
# init layer's /etc directory.)
evil_container() {
  "$HOSTPY" - "$W/evil.tar" "$SENTINEL" <<'EOF2'
import io, sys, tarfile
out, sentinel = sys.argv[1:3]
t = tarfile.open(out, "w", format=tarfile.PAX_FORMAT)
def link(name, target):
    i = tarfile.TarInfo(name); i.type = tarfile.SYMTYPE; i.linkname = target; t.addfile(i)
link("etc", "/")
link("up", "../../../../../../..")
link("abs", sentinel)
i = tarfile.TarInfo("passwd"); data = b"inside\n"; i.size = len(data); t.addfile(i, io.BytesIO(data))
t.close()
EOF2
  docker create --name "$1" busybox sleep 1000 >/dev/null
  [ "$(api_save PUT "/containers/$1/archive?path=/" --data-binary "@$W/evil.tar")" = 200 ]
  docker start "$1" >/dev/null
}

# hostile_tar FILE KIND: a tar built to escape its extraction point.
hostile_tar() {
  "$HOSTPY" - "$1" "$2" "$SENTINEL" <<'EOF'
import io, sys, tarfile
out, kind, sentinel = sys.argv[1:4]
t = tarfile.open(out, "w", format=tarfile.PAX_FORMAT)
def add(name, data=b"escaped\n", **kw):
    i = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(i, k, v)
    if i.type == tarfile.REGTYPE:
        i.size = len(data)
        t.addfile(i, io.BytesIO(data))
    else:
        t.addfile(i)
if kind == "dotdot":
    add("../../../../../../../../" + sentinel.lstrip("/") + "/dotdot")
elif kind == "absolute":
    add(sentinel + "/absolute")
elif kind == "symlink":
    add(sentinel.lstrip("/") + "/", type=tarfile.DIRTYPE)
    add("up", type=tarfile.SYMTYPE, linkname="../../../../../../../../" + sentinel.lstrip("/"))
    add("up/via-up")
    add("abs", type=tarfile.SYMTYPE, linkname=sentinel)
    add("abs/via-abs")
    add("root", type=tarfile.SYMTYPE, linkname="/")
    add("root/etc/passwd", b"root::0:0::/:/bin/sh\n")
elif kind == "hardlink":
    add("hl", type=tarfile.LNKTYPE, linkname="../../../../../../../../etc/passwd")
t.close()
EOF
}

# put_tar CTR PATH FILE: PUT FILE as the archive for PATH; prints the status, body in api.body.
put_tar() {
  api_save PUT "/containers/$1/archive?path=$2&noOverwriteDirNonDir=true" \
    -H 'Content-Type: application/x-tar' --data-binary "@$3"
}

@test "cp from a running container: a file, a directory, its contents (/.), the root's names" {
  docker run -d --name cc busybox sh -c 'mkdir -p /d/e; echo hi >/d/e/f; echo top >/top; sleep 1000'
  wait_until 10 docker cp cc:/top "$W/top"
  [ "$(cat "$W/top")" = top ]
  docker cp cc:/d "$W/d"
  [ "$(cat "$W/d/e/f")" = hi ]
  mkdir "$W/into"
  docker cp cc:/d/. "$W/into"
  [ "$(cat "$W/into/e/f")" = hi ]
  # the archive's names as dockerd gives them
  [ "$(docker cp cc:/d - | tar_names)" = "$(printf 'd/\nd/e/\nd/e/f')" ]
  [ "$(docker cp cc:/d/. - | tar_names)" = "$(printf './\n./e/\n./e/f')" ]
  [ "$(docker cp cc:/top - | tar_names)" = top ]
  docker cp cc:/ - | tar_names >"$W/root"
  grep -qx /bin/busybox "$W/root"
  grep -qx /top "$W/root"
  grep -qx /proc/ "$W/root"
  ! grep -q '^/proc/.' "$W/root" # its /proc and /sys are mounts of the kernel's: not read
  ! grep -q '^/sys/.' "$W/root"
}

@test "cp into a running container: the container sees the file and the directory" {
  docker run -d --name cc busybox sh -c \
    'until [ -f /dst/f ] && [ -f /tmp/g ]; do sleep 0.1; done; cat /dst/f /tmp/g; sleep 1000'
  mkdir -p "$W/sub"
  echo from-host >"$W/sub/f"
  echo second >"$W/g"
  wait_until 10 running cc
  docker cp "$W/sub" cc:/dst # /dst is made: the directory renamed, as dockerd's CLI asks
  docker cp "$W/g" cc:/tmp/g
  log_wait cc from-host
  log_wait cc second
}

@test "cp from and into a stopped container, created and exited" {
  docker create --name fresh busybox sh -c 'cat /tmp/in; sleep 1000'
  echo into-fresh >"$W/in"
  docker cp "$W/in" fresh:/tmp/in
  docker cp fresh:/etc/passwd "$W/passwd"
  grep -q '^root:' "$W/passwd"
  [ "$(count_mounts)" = 0 ]
  docker start fresh
  log_wait fresh into-fresh
  docker run --name done busybox sh -c 'echo made >/made; rm /etc/group'
  docker cp done:/made "$W/made"
  [ "$(cat "$W/made")" = made ]
  run docker cp done:/etc/group "$W/group"
  [ "$status" -ne 0 ]
  [[ "$output" == *"Could not find the file /etc/group in container done"* ]]
  echo later >"$W/later"
  docker cp "$W/later" done:/
  docker cp done:/later - | tar -xO | grep -qx later
  # copies at the same time share one mount of the stopped rootfs, which goes with the last
  local i pids=()
  for i in 1 2 3 4; do
    docker cp done:/bin - >"$W/bin$i.tar" &
    pids+=($!)
  done
  wait "${pids[@]}" # not a bare wait: berthd is this shell's child too
  for i in 1 2 3 4; do tar -tf "$W/bin$i.tar" | grep -qx bin/busybox; done
  [ "$(count_mounts)" = 1 ] # fresh's; the stopped rootfs was mounted for the copies only
}

@test "cp -a: the container's user owns the files; without it the archive's owners stay" {
  docker create --name uu -u 1234:5678 busybox true
  echo x >"$W/f"
  chown 4321:8765 "$W/f"
  docker cp "$W/f" uu:/tmp/plain
  docker cp -a "$W/f" uu:/tmp/owned
  [ "$(docker cp uu:/tmp/plain - | tar -tv --numeric-owner | awk '{print $2}')" = 4321/8765 ]
  [ "$(docker cp uu:/tmp/owned - | tar -tv --numeric-owner | awk '{print $2}')" = 1234/5678 ]
  docker create --name named -u nosuchuser busybox true
  run docker cp -a "$W/f" named:/tmp/
  [ "$status" -ne 0 ]
  [[ "$output" == *'failed to look up user "nosuchuser" in container: no matching entries in passwd file'* ]]
}

@test "cp -L follows a symlink in the container; without it the link is copied" {
  docker run --name ll busybox sh -c 'echo target >/t; ln -s /t /link; ln -s ../../../../t /rel'
  docker cp ll:/link "$W/nolink"
  [ -L "$W/nolink" ] && [ "$(readlink "$W/nolink")" = /t ]
  docker cp -L ll:/link "$W/followed"
  [ ! -L "$W/followed" ] && [ "$(cat "$W/followed")" = target ]
  docker cp -L ll:/rel "$W/rel"
  [ "$(cat "$W/rel")" = target ]
}

@test "cp into and out of a bind mount inside the container, running and stopped" {
  mkdir -p "$W/bind"
  echo on-host >"$W/bind/h"
  docker run -d --name bb -v "$W/bind:/mnt/b" busybox sh -c 'until [ -f /mnt/b/in ]; do sleep 0.1; done; cat /mnt/b/in; sleep 1000'
  echo into-bind >"$W/in"
  wait_until 10 running bb
  docker cp "$W/in" bb:/mnt/b/in
  [ "$(cat "$W/bind/in")" = into-bind ]
  log_wait bb into-bind
  docker cp bb:/mnt/b/h - | tar -xO | grep -qx on-host
  docker stop -t 0 bb
  echo stopped >"$W/in2"
  docker cp "$W/in2" bb:/mnt/b/in2
  [ "$(cat "$W/bind/in2")" = stopped ]
  docker cp bb:/mnt/b/h - | tar -xO | grep -qx on-host
  docker cp bb:/mnt - | tar_names | grep -qx mnt/b/h # a walk enters the stopped bind too
  mkdir -p "$W/ro"
  docker create --name rr -v "$W/ro:/ro:ro" busybox true
  run docker cp "$W/in" rr:/ro/
  [[ "$output" == *"mounted volume is marked read-only"* ]]
  [ ! -e "$W/ro/in" ]
}

# The container's own /etc is a symlink to / (or /x to ../../..): what it names is the
# container's, never the host's, on the way out and in, running or stopped.
@test "symlinks to / and ../../.. in the container lead neither a read nor a write to the host" {
  SENTINEL=$BT_DIR/sentinel
  mkdir -p "$SENTINEL"
  echo secret >"$SENTINEL/secret"
  local before
  before=$(host_print)
  evil_container ss
  wait_until 10 running ss
  for state in running stopped; do
    docker cp ss:/etc/passwd "$W/p-$state"
    [ "$(cat "$W/p-$state")" = inside ] # the container's /passwd, through its /etc
    docker cp ss:/up/passwd - | tar -xO | grep -qx inside
    run docker cp ss:/up/etc/shadow "$W/shadow-$state"
    [ "$status" -ne 0 ] && [ ! -e "$W/shadow-$state" ] # the container's / has no shadow
    run docker cp ss:/abs/secret "$W/secret-$state"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Could not find the file /abs/secret in container ss"* ]]
    run docker cp "ss:/up$SENTINEL/secret" "$W/secret2-$state"
    [ "$status" -ne 0 ] && [ ! -e "$W/secret2-$state" ]
    echo "evil:x:0:0::/:/bin/sh" >"$W/passwd"
    docker cp "$W/passwd" "ss:/etc/passwd-$state" # the container's /etc is its /
    docker cp "ss:/passwd-$state" - | tar -xO | grep -qx 'evil:x:0:0::/:/bin/sh'
    docker cp "$W/passwd" "ss:/up/etc/passwd-up-$state"
    docker cp "ss:/passwd-up-$state" - | tar -xO | grep -qx 'evil:x:0:0::/:/bin/sh'
    run docker cp "$W/passwd" ss:/abs/ # no such directory in the container
    [ "$status" -ne 0 ]
    [ "$(host_print)" = "$before" ]
    docker stop -t 0 ss
  done
}

@test "a hostile tar PUT into a container cannot escape: .., absolute names, links" {
  SENTINEL=$BT_DIR/sentinel
  mkdir -p "$SENTINEL"
  echo secret >"$SENTINEL/secret"
  local before
  before=$(host_print)
  docker run -d --name hh busybox sh -c 'mkdir -p /x/dst; sleep 1000'
  wait_until 10 docker cp hh:/x/dst - >/dev/null
  for state in running stopped; do
    hostile_tar "$W/dotdot.tar" dotdot
    [ "$(put_tar hh /x/dst "$W/dotdot.tar")" = 500 ]
    jq -r .message "$BT_DIR/api.body" | grep -q '^invalid entry name "\.\./\.\./'
    hostile_tar "$W/hardlink.tar" hardlink
    [ "$(put_tar hh /x/dst "$W/hardlink.tar")" = 500 ]
    jq -r .message "$BT_DIR/api.body" | grep -q '^invalid hardlink target "\.\./\.\./'
    hostile_tar "$W/abs.tar" absolute
    [ "$(put_tar hh /x/dst "$W/abs.tar")" = 200 ]
    docker cp "hh:/x/dst$SENTINEL/absolute" - | tar -xO | grep -qx escaped # under dst
    hostile_tar "$W/sym.tar" symlink
    [ "$(put_tar hh /x/dst "$W/sym.tar")" = 200 ]
    # every link resolves inside the extraction point, as the root it is
    docker cp "hh:/x/dst$SENTINEL/via-up" - | tar -xO | grep -qx escaped
    docker cp "hh:/x/dst$SENTINEL/via-abs" - | tar -xO | grep -qx escaped
    docker cp hh:/x/dst/etc/passwd - | tar -xO | grep -qx 'root::0:0::/:/bin/sh'
    docker cp hh:/etc/passwd - | tar -xO | grep -q '^root:x:0:0' # the container's own: intact
    [ "$(host_print)" = "$before" ]
    docker stop -t 0 hh
  done
}

@test "PUT refusals in dockerd's words: noOverwriteDirNonDir, not a directory, not found" {
  docker create --name nn busybox true
  mkdir -p "$W/a/clash" "$W/b"
  echo f >"$W/a/clash/f"
  : >"$W/b/clash"
  docker cp "$W/b/clash" nn:/tmp/clash # a file /tmp/clash
  run docker cp "$W/a/clash" nn:/tmp/
  [ "$status" -ne 0 ]
  [[ "$output" == *'cannot overwrite non-directory "clash" with directory "/tmp/"'* ]]
  docker cp "$W/a/clash" nn:/var/ # a directory /var/clash
  run docker cp "$W/b/clash" nn:/var/
  [ "$status" -ne 0 ]
  [[ "$output" == *'cannot overwrite directory "clash" with non-directory "/var/"'* ]]
  tar -C "$W/b" -cf "$W/b.tar" clash
  [ "$(put_tar nn /etc/passwd "$W/b.tar")" = 400 ]
  [ "$(jq -r .message "$BT_DIR/api.body")" = "extraction point is not a directory" ]
  [ "$(put_tar nn /nope "$W/b.tar")" = 404 ]
  [ "$(jq -r .message "$BT_DIR/api.body")" = "Could not find the file /nope in container nn" ]
  [ "$(api_save GET '/containers/nn/archive?path=')" = 400 ]
  [ "$(jq -r .message "$BT_DIR/api.body")" = "bad parameter: path cannot be empty" ]
  [ "$(api_save GET '/containers/nosuch/archive?path=/')" = 404 ]
}

@test "HEAD archive: X-Docker-Container-Path-Stat as dockerd encodes it" {
  docker run --name st busybox sh -c 'mkdir -m 755 /d; printf 12345 >/d/f; ln -s d/f /l; touch -t 202311142213.20 /d/f'
  local j
  j=$(stat_of st /d/f)
  [ "$(jq -r .name <<<"$j")" = f ]
  [ "$(jq -r .size <<<"$j")" = 5 ]
  [ "$(jq -r .mode <<<"$j")" = 420 ] # 0644
  [ "$(jq -r .mtime <<<"$j")" = 2023-11-14T22:13:20Z ]
  [ "$(jq -r .linkTarget <<<"$j")" = "" ]
  j=$(stat_of st /d)
  [ "$(jq -r .mode <<<"$j")" = $((2147483648 + 493)) ] # os.ModeDir | 0755
  j=$(stat_of st /l)
  [ "$(jq -r .mode <<<"$j")" = $((134217728 + 511)) ] # os.ModeSymlink | 0777
  [ "$(jq -r .linkTarget <<<"$j")" = /d/f ]
  j=$(stat_of st /)
  [ "$(jq -r .name <<<"$j")" = / ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' -I --unix-socket "$BT_SOCK" \
    'http://berth/containers/st/archive?path=/nope')" = 404 ]
}

@test "commit: a run of the image sees the change, and a deleted file stays deleted" {
  docker run --name c0 busybox sh -c 'echo changed >/etc/motd; rm /etc/shadow; rm -rf /home; mkdir /var/new'
  run docker commit c0 committed:v1
  [ "$status" -eq 0 ]
  [[ "$output" == sha256:* ]]
  run docker run --rm committed:v1 sh -c 'cat /etc/motd; ls /etc/shadow /home 2>&1; ls -d /var/new'
  [[ "$output" == *changed* ]]
  [[ "$output" == *"/etc/shadow: No such file or directory"* ]]
  [[ "$output" == *"/home: No such file or directory"* ]]
  [[ "$output" == */var/new* ]]
  # an opaque directory: /var made anew holds only the new file
  docker run --name c1 committed:v1 sh -c 'rm -rf /var; mkdir /var; echo only >/var/only'
  docker commit c1 committed:v2
  [ "$(docker run --rm committed:v2 ls /var)" = only ]
  # the image has a layer more than its parent, and the parent is recorded
  [ "$(docker inspect -f '{{len .RootFS.Layers}}' committed:v2)" = 3 ]
  [ "$(docker inspect -f '{{.Parent}}' committed:v2)" = "$(docker inspect -f '{{.Id}}' committed:v1)" ]
}

@test "commit -c -m -a: the config, the author and the history row" {
  docker run --name c2 -e FOO=bar busybox sh -c 'echo x >/x'
  docker commit -c 'CMD ["cat","/x"]' -c 'ENV ADDED=1' -c 'LABEL k=v' -m "the message" \
    -a "Jane Doe <jane@example.com>" c2 withchanges
  [ "$(docker run --rm withchanges)" = x ]
  [ "$(docker inspect -f '{{json .Config.Cmd}}' withchanges)" = '["cat","/x"]' ]
  docker inspect -f '{{json .Config.Env}}' withchanges | grep -q '"ADDED=1"'
  docker inspect -f '{{json .Config.Env}}' withchanges | grep -q '"FOO=bar"'
  [ "$(docker inspect -f '{{.Config.Labels.k}}' withchanges)" = v ]
  [ "$(docker inspect -f '{{.Author}}' withchanges)" = "Jane Doe <jane@example.com>" ]
  [ "$(docker inspect -f '{{.Comment}}' withchanges)" = "the message" ]
  run docker history --no-trunc --format '{{.CreatedBy}}|{{.Comment}}' withchanges
  [ "${lines[0]}" = "sh -c echo x >/x|the message" ]
  run docker commit -c 'NOSUCH x' c2
  [ "$status" -ne 0 ]
  # nothing changed: no layer added (dockerd's empty layer), the history row says so
  docker run --name same busybox true
  docker commit same unchanged
  [ "$(docker inspect -f '{{len .RootFS.Layers}}' unchanged)" = 1 ]
}

@test "commit pauses the container while it reads its files; it runs on after" {
  docker run -d --name pp busybox sh -c 'dd if=/dev/zero of=/big bs=1M count=96 2>/dev/null; echo ready
    i=0; while :; do i=$((i + 1)); echo $i >/tmp/t; mv /tmp/t /tmp/tick; sleep 0.05; done'
  log_wait pp ready
  local id state seen=
  id=$(docker inspect -f '{{.Id}}' pp)
  state=$CG_ROOT/freezer/$CG_PARENT/$id/freezer.state
  [ -f "$state" ] || state=$CG_ROOT/$CG_PARENT/$id/cgroup.freeze
  docker commit pp paused-img >"$W/id" &
  local pid=$! s
  while kill -0 "$pid" 2>/dev/null; do
    read -r s <"$state" || true
    [ "$s" = FROZEN ] || [ "$s" = 1 ] && seen=1
  done
  wait "$pid"
  [ -n "$seen" ]
  [ "$(docker inspect -f '{{.State.Status}}' pp)" = running ]
  read -r s <"$state"
  [ "$s" = THAWED ] || [ "$s" = 0 ]
  local t1 t2
  t1=$(docker cp pp:/tmp/tick - | tar -xO)
  sleep 0.3
  t2=$(docker cp pp:/tmp/tick - | tar -xO)
  [ "$t2" -gt "$t1" ]
  # --pause=false: never frozen
  seen=
  docker commit --pause=false pp unpaused-img >/dev/null &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    read -r s <"$state" || true
    [ "$s" = FROZEN ] || [ "$s" = 1 ] && seen=1
  done
  wait "$pid"
  [ -z "$seen" ]
}

@test "docker save of a committed image: each layer's sha256 is its diff ID" {
  docker run --name sv busybox sh -c 'mkdir -p /a/b; echo 1 >/a/b/c; ln /a/b/c /a/hard; rm /bin/vi; chmod 4755 /a/b/c'
  docker commit sv saved
  docker save saved -o "$W/saved.tar"
  mkdir "$W/x"
  tar -C "$W/x" -xf "$W/saved.tar"
  local cfg
  cfg=$(jq -r '.[0].Config' "$W/x/manifest.json")
  local n=0 layer want got
  for layer in $(jq -r '.[0].Layers[]' "$W/x/manifest.json"); do
    want=$(jq -r ".rootfs.diff_ids[$n]" "$W/x/$cfg")
    got=sha256:$(sha256sum "$W/x/$layer" | cut -d' ' -f1)
    [ "$got" = "$want" ]
    n=$((n + 1))
  done
  [ "$n" = 2 ]
  # the layer holds the change, the hard link and the whiteout as docker's layer tars do
  tar -tvf "$W/x/$layer" | grep -q '^-rwsr-xr-x 0/0 *2 .* a/b/c$'
  tar -tvf "$W/x/$layer" | grep -q '^hrwsr-xr-x .* a/hard link to a/b/c$'
  tar -tf "$W/x/$layer" | grep -qx 'bin/.wh.vi'
  # and loads back as the same image
  docker rmi saved
  docker load -i "$W/saved.tar"
  docker run --rm saved cat /a/hard | grep -qx 1
}

@test "docker diff: A, C and D for an add, a change, a delete and a deleted directory" {
  docker run --name dd busybox sh -c 'echo new >/new; echo more >>/etc/passwd; rm /etc/group
    rm -rf /home; mkdir -p /var/a/b; touch /var/a/b/f'
  run docker diff dd
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf '%s\n' 'C /etc' 'D /etc/group' 'C /etc/passwd' 'D /home' 'A /new' \
    'C /var' 'A /var/a' 'A /var/a/b' 'A /var/a/b/f')" ] || {
    echo "$output"
    false
  }
  # an opaque directory: what it held and no longer holds is deleted
  docker run --name base busybox sh -c 'mkdir /data; echo 1 >/data/a; echo 2 >/data/b; echo 3 >/data/c'
  docker commit base withdata
  docker run --name oo withdata sh -c 'rm -rf /data; mkdir /data; echo 11 >/data/a'
  run docker diff oo
  [ "$output" = "$(printf '%s\n' 'C /data' 'C /data/a' 'D /data/b' 'D /data/c')" ] || {
    echo "$output"
    false
  }
  docker create --name untouched busybox true
  [ -z "$(docker diff untouched)" ]
}

@test "docker export: the tar's names are the container's view, running and stopped" {
  docker run -d --name ee busybox sh -c 'echo x >/added; rm /bin/vi; rm -rf /home; find / -xdev >/tmp/view; echo ready; sleep 1000'
  log_wait ee ready
  docker cp ee:/tmp/view - | tar -xO | sort >"$W/view"
  docker export ee | tar_names | sed -e 's|/$||' -e 's|^|/|' >"$W/running"
  grep -vx / "$W/view" | diff - "$W/running" # find lists / itself, export has no entry for it
  docker stop -t 0 ee
  docker export ee | tar_names | sed -e 's|/$||' -e 's|^|/|' >"$W/stopped"
  diff "$W/running" "$W/stopped"
  grep -qx /added "$W/stopped"
  ! grep -qx /bin/vi "$W/stopped"
  [ "$(count_mounts)" = 0 ]
}

@test "the archive API through docker-py: put_archive, get_archive with its stat, export, diff, commit" {
  docker run -d --name pyc busybox sleep 1000 >/dev/null
  run "$HOSTPY" - "$BT_SOCK" <<'EOF2'
import io, sys, tarfile, docker
cl = docker.DockerClient(base_url="unix://" + sys.argv[1])
c = cl.containers.get("pyc")
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    i = tarfile.TarInfo("py.txt"); data = b"from python\n"; i.size = len(data); i.mode = 0o640
    t.addfile(i, io.BytesIO(data))
print(c.put_archive("/tmp", buf.getvalue()))
print(c.exec_run("cat /tmp/py.txt").output.decode().strip())
stream, stat = c.get_archive("/tmp/py.txt")
with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as t:
    m = t.getmember("py.txt")
    print(stat["name"], stat["size"], oct(stat["mode"] & 0o777), t.extractfile(m).read().decode().strip())
try:
    c.get_archive("/nosuch")
except docker.errors.NotFound as e:
    print(404)
try:
    c.put_archive("/nosuch/dir", buf.getvalue())
except docker.errors.NotFound as e:
    print(404)
names = tarfile.open(fileobj=io.BytesIO(b"".join(c.export())), mode="r|").getnames()
print("tmp/py.txt" in names, "bin/busybox" in names)
print(sorted((d["Path"], d["Kind"]) for d in c.diff() if d["Path"].startswith("/tmp")))
img = c.commit(repository="pycommit", tag="v1", message="msg", author="me", changes=["ENV X=1"])
print(img.tags, img.attrs["Comment"], img.attrs["Author"], "X=1" in img.attrs["Config"]["Env"])
print(cl.containers.run("pycommit:v1", "cat /tmp/py.txt", remove=True).decode().strip())
EOF2
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = True ]
  [ "${lines[1]}" = "from python" ]
  [ "${lines[2]}" = "py.txt 12 0o640 from python" ]
  [ "${lines[3]}" = 404 ]
  [ "${lines[4]}" = 404 ]
  [ "${lines[5]}" = "True True" ]
  [ "${lines[6]}" = "[('/tmp', 0), ('/tmp/py.txt', 1)]" ]
  [ "${lines[7]}" = "['pycommit:v1'] msg me True" ]
  [ "${lines[8]}" = "from python" ]
}
