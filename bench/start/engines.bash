# bench/start/engines.bash — the engines bench/start and bench/density compare, each on fresh
# private roots under one temp dir, cgroups under parents the bench owns, all torn down by PID.
#
#   bench_init NAME             BENCH_DIR (fresh), the busybox tarball, the EXIT/INT/TERM/HUP/PIPE traps
#   berth_up / dockerd_up / podman_up
#                               start an engine; status 2 (SKIP_WHY says why) when it is
#                               not installed, status 1 when it fails to come up
#   b_docker / d_docker / pod   the client of each engine (docker CLI to berthd/dockerd, podman)
#   bench_cleanup               remove containers, stop daemons, unmount, remove cgroups, roots
#   stats FILE                  "median p90 min max n" of the numbers in FILE (one per line)
#
# Every daemon is ours: its PID is recorded when we start it, and only those PIDs (and the
# children dockerd starts, containerd) are signalled. Daemons run in their own session
# (setsid, which keeps the PID here) so a Ctrl-C reaches the bench, not them: the bench then
# removes their containers through them before it stops them.

BENCH_SRC=${BENCH_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-build}
BERTHD=$BENCH_SRC/$BUILD/berthd
BERTH=$BENCH_SRC/$BUILD/berth
DOCKER_CLI=$(command -v /usr/local/bin/docker || command -v docker || true)
PEERS=${BENCH_PEERS:-/work/shared/peers}
PY=/usr/bin/python3

BENCH_PIDS=() # daemons we started, stopped in reverse order
BENCH_CG=()   # cgroup parent names (one directory per hierarchy) we own

say() { printf '%s\n' "$*" >&2; }

bench_init() {
  BENCH_NAME=$1
  BENCH_DIR=$(mktemp -d "/var/tmp/berth-bench-$BENCH_NAME.XXXXXX")
  BENCH_TAG=$(basename "$BENCH_DIR" | tr -c 'a-zA-Z0-9\n' '-')
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  trap 'exit 141' PIPE # `bench/start/run | head` must not leave the daemons behind
  BUSYBOX_TAR=$BENCH_DIR/busybox.tar
  "$BENCH_SRC/tools/mkbusybox" >"$BUSYBOX_TAR"
}

# wait_sock SOCK PID SECS: until SOCK answers /_ping, while PID lives.
wait_sock() {
  local i
  for i in $(seq $(($3 * 20))); do
    curl -sf --unix-socket "$1" http://x/_ping >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

b_docker() { DOCKER_HOST=unix://$BENCH_DIR/berth/berth.sock "$DOCKER_CLI" "$@"; }
d_docker() { DOCKER_HOST=unix://$BENCH_DIR/docker/docker.sock "$DOCKER_CLI" "$@"; }
b_berth() { "$BERTH" -H "unix://$BENCH_DIR/berth/berth.sock" "$@"; }

berth_up() {
  [ -x "$BERTHD" ] && [ -x "$BERTH" ] || { SKIP_WHY="$BERTHD not built (make all)"; return 2; }
  local d=$BENCH_DIR/berth
  mkdir -p "$d"
  BENCH_CG+=("$BENCH_TAG-berth")
  # no default bridge, as the peers' dockerd: the host's network untouched
  printf '{"bridge": "none", "cgroup-parent": "/%s"}\n' "$BENCH_TAG-berth" >"$d/daemon.json"
  setsid "$BERTHD" --root "$d/root" --exec-root "$d" -H "unix://$d/berth.sock" -p "$d/berthd.pid" \
    --config-file "$d/daemon.json" --log-level "${BERTH_LOG_LEVEL:-debug}" \
    </dev/null >"$d/berthd.log" 2>&1 &
  BERTHD_PID=$!
  BENCH_PIDS+=("$BERTHD_PID")
  wait_sock "$d/berth.sock" "$BERTHD_PID" 10 || { say "berthd did not start:"; tail "$d/berthd.log" >&2; return 1; }
  b_docker import --change 'CMD ["sh"]' "$BUSYBOX_TAR" busybox:latest >/dev/null
}

dockerd_up() {
  command -v dockerd >/dev/null || { SKIP_WHY="dockerd not installed (apt-get install docker.io)"; return 2; }
  local d=$BENCH_DIR/docker
  mkdir -p "$d"
  BENCH_CG+=("$BENCH_TAG-docker")
  # The peers' daemon.json, its paths moved into our dir, cgroups under our parent.
  jq --arg d "$d" --arg cg "/$BENCH_TAG-docker" \
    '.["data-root"] = "\($d)/root" | .hosts = ["unix://\($d)/docker.sock"]
     | .pidfile = "\($d)/docker.pid" | .["exec-root"] = "\($d)/exec" | .["cgroup-parent"] = $cg' \
    "$PEERS/daemon.json" >"$d/daemon.json"
  setsid dockerd --config-file "$d/daemon.json" </dev/null >"$d/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  BENCH_PIDS+=("$DOCKERD_PID")
  wait_sock "$d/docker.sock" "$DOCKERD_PID" 60 || { say "dockerd did not start:"; tail "$d/dockerd.log" >&2; return 1; }
  d_docker import --change 'CMD ["sh"]' "$BUSYBOX_TAR" busybox:latest >/dev/null
}

# podman keeps no daemon: its state, storage and config all point into our dir.
pod() {
  CONTAINERS_CONF=$BENCH_DIR/podman/containers.conf \
    CONTAINERS_STORAGE_CONF=$BENCH_DIR/podman/storage.conf \
    CONTAINERS_REGISTRIES_CONF=$PEERS/registries.conf \
    podman --root "$BENCH_DIR/podman/root" --runroot "$BENCH_DIR/podman/run" \
    --tmpdir "$BENCH_DIR/podman/tmp" --runtime runc "$@"
}

podman_up() {
  command -v podman >/dev/null || { SKIP_WHY="podman not installed (apt-get install podman)"; return 2; }
  command -v runc >/dev/null || { SKIP_WHY="runc not installed"; return 2; }
  local d=$BENCH_DIR/podman
  mkdir -p "$d/tmp"
  BENCH_CG+=("$BENCH_TAG-podman")
  PODMAN_CG=/$BENCH_TAG-podman
  sed -e "s|^runroot.*|runroot = \"$d/run\"|" -e "s|^graphroot.*|graphroot = \"$d/root\"|" \
    "$PEERS/storage.conf" >"$d/storage.conf"
  cp "$PEERS/containers.conf" "$d/containers.conf"
  pod import --change 'CMD ["sh"]' "$BUSYBOX_TAR" localhost/busybox:latest >/dev/null ||
    { say "podman import failed"; return 1; }
}

# The bundle crun and runc run: busybox's rootfs and `crun spec`'s config with CMD, no tty,
# cgroups under our parent. The default spec has its own network namespace: --network none.
bundle_up() {
  command -v crun >/dev/null || { SKIP_WHY="crun not installed (apt-get install crun)"; return 2; }
  local b=$BENCH_DIR/bundle
  mkdir -p "$b/rootfs"
  BENCH_CG+=("$BENCH_TAG-bundle")
  tar -C "$b/rootfs" -xf "$BUSYBOX_TAR"
  (cd "$b" && crun spec) || return 1
  jq --arg cg "/$BENCH_TAG-bundle/run" '.process.args = ["true"] | .process.terminal = false
     | .linux.cgroupsPath = $cg' "$b/config.json" >"$b/config.json.new" &&
    mv "$b/config.json.new" "$b/config.json"
}

# The children of a PID (dockerd's containerd), so they can be stopped if their parent hangs.
children_of() { cat "/proc/$1/task/"*/children 2>/dev/null; }

stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  local kids
  kids=$(children_of "$pid")
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$pid" 2>/dev/null; then
    say "pid $pid did not stop on SIGTERM: SIGKILL"
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  for pid in $kids; do
    kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/status" 2>/dev/null | awk '/^PPid/{print $2}')" = 1 ] &&
      kill -TERM "$pid" 2>/dev/null
  done
  return 0
}

bench_cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP PIPE
  [ -n "${BENCH_DIR:-}" ] || exit $rc
  say "cleaning up $BENCH_DIR"
  if [ "$rc" -ne 0 ]; then # the daemons' last words, before their logs go with the dir
    local log
    for log in "$BENCH_DIR"/berth/berthd.log "$BENCH_DIR"/docker/dockerd.log; do
      [ -s "$log" ] && { say "--- end of $log"; grep -v 'msg="Calling' "$log" | tail -15 >&2; }
    done
  fi
  if [ -n "${BERTHD_PID:-}" ] && kill -0 "$BERTHD_PID" 2>/dev/null; then
    b_docker rm -f $(b_docker ps -aq 2>/dev/null) >/dev/null 2>&1
  fi
  if [ -n "${DOCKERD_PID:-}" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
    d_docker rm -f $(d_docker ps -aq 2>/dev/null) >/dev/null 2>&1
  fi
  [ -f "$BENCH_DIR/podman/containers.conf" ] && pod rm -af -t 0 >/dev/null 2>&1
  local i
  for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${BENCH_PIDS[i]}"; done
  # Whatever is still mounted under our dir (overlays, netns binds, podman's storage), deepest
  # first.
  awk -v d="$BENCH_DIR/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null; done
  local cg dir
  for cg in "${BENCH_CG[@]}"; do
    for dir in /sys/fs/cgroup/*/"$cg" /sys/fs/cgroup/"$cg"; do
      [ -d "$dir" ] && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
      [ -d "$dir" ] && say "cgroup $dir could not be removed"
    done
  done
  rm -rf "$BENCH_DIR"
  exit $rc
}

# stats FILE: "median p90 min max n" (nearest-rank p90; the median averages the middle pair).
stats() {
  sort -n "$1" | awk '{ v[NR] = $1 }
    END { if (NR == 0) { print "- - - - 0"; exit }
          m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          p = int(0.9 * NR); if (p < 0.9 * NR) p++
          printf "%.2f %.2f %.2f %.2f %d\n", m, v[p], v[1], v[NR], NR }'
}
