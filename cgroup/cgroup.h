/* cgroup/cgroup.h — cgroup v1 and v2 behind one API. For now: which hierarchy this host runs
 * and which resource features it offers, as /info reports them. */
#pragma once

#include <stdbool.h>

struct cgroup_features {
    int version; /* 1 (v1 or hybrid) or 2 (unified) */
    bool memory, swap, kmem_tcp, cpu_cfs, cpu_shares, cpuset, pids, oom_kill_disable;
};

void cgroup_detect(struct cgroup_features *f);
