#!/usr/bin/env bats
# 200 containers started and removed against one berthd: afterwards no mount, cgroup, berthd
# fd, child or zombie is left over. Four clients at a time, to keep it quick.

load helpers
load containers

setup_file() { ctr_setup_file; }
setup() { ctr_setup; }
teardown() { ctr_teardown; }

children() { cat /proc/"$BT_PID"/task/*/children 2>/dev/null | wc -w; }

# leak_snapshot: mounts, cgroup dirs, fds, children and zombies of berthd, one line.
leak_snapshot() {
  echo "mounts=$(count_mounts) cgroups=$(ctr_cgroup_dirs | wc -l) fds=$(fd_count)" \
    "children=$(children) zombies=$(count_zombies)"
}

settled() { [ "$(leak_snapshot)" = "$1" ]; }

@test "200 containers run --rm, and created/started/removed, leave nothing behind" {
  docker run --rm busybox true # the first start's one-time allocations
  wait_until 5 conns_at_most 0
  local before
  before=$(leak_snapshot)
  [[ "$before" == "mounts=0 cgroups=0 "*" children=0 zombies=0" ]]
  seq 150 | xargs -P 4 -I{} "$DOCKER_BIN" run --rm busybox sh -c 'exit $(({} % 3))' || true
  seq 50 | xargs -P 4 -I{} sh -c \
    'id=$("$0" create busybox sleep 30) && "$0" start "$id" >/dev/null && "$0" rm -f "$id" >/dev/null' \
    "$DOCKER_BIN"
  [ -z "$(docker ps -aq)" ]
  [ "$(grep -c 'started pid' "$BT_DIR/berthd.log")" -eq 201 ] # they did all run
  wait_until 5 conns_at_most 0
  wait_until 5 settled "$before" || {
    echo "before: $before"
    echo "after:  $(leak_snapshot)"
    false
  }
  [ -z "$(ls "$BT_DIR/root/containers")" ]
}
