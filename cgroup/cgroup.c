/* cgroup/cgroup.c — detects the cgroup layout: unified v2 when /sys/fs/cgroup holds
 * cgroup.controllers, else v1 (including the hybrid layout with an almost empty v2 mount). */
#include "cgroup/cgroup.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"

#define ROOT "/sys/fs/cgroup"

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static bool v2_has(const char *controller)
{
    _cleanup_fclose_ FILE *f = fopen(ROOT "/cgroup.controllers", "re");
    char word[64];
    while (f && fscanf(f, "%63s", word) == 1)
        if (strcmp(word, controller) == 0)
            return true;
    return false;
}

void cgroup_detect(struct cgroup_features *f)
{
    memset(f, 0, sizeof(*f));
    if (exists(ROOT "/cgroup.controllers")) {
        f->version = 2;
        f->memory = f->swap = v2_has("memory");
        f->cpu_cfs = f->cpu_shares = v2_has("cpu");
        f->cpuset = v2_has("cpuset");
        f->pids = v2_has("pids");
        return;
    }
    f->version = 1;
    f->memory = exists(ROOT "/memory/memory.limit_in_bytes");
    f->swap = exists(ROOT "/memory/memory.memsw.limit_in_bytes");
    f->kmem_tcp = exists(ROOT "/memory/memory.kmem.tcp.limit_in_bytes");
    f->oom_kill_disable = exists(ROOT "/memory/memory.oom_control");
    f->cpu_cfs = exists(ROOT "/cpu/cpu.cfs_quota_us");
    f->cpu_shares = exists(ROOT "/cpu/cpu.shares");
    f->cpuset = exists(ROOT "/cpuset/cpuset.cpus");
    f->pids = exists(ROOT "/pids");
}
