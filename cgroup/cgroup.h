/* cgroup/cgroup.h — cgroup v1 and v2 behind one API: a container's cgroup under a parent
 * ("/berth" by default, or --cgroup-parent), its limits, the pid placement before the process
 * runs, OOM-kill detection, freezing, and removal. Blocking calls: run them in pool jobs. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"

struct cgroup_features {
    int version; /* 1 (v1 or hybrid) or 2 (unified) */
    bool memory, swap, kmem_tcp, cpu_cfs, cpu_shares, cpuset, pids, oom_kill_disable;
};

void cgroup_detect(struct cgroup_features *f);

/* One rule of the device controller: type 'a' (every device, whatever else the rule says), 'b'
 * or 'c'; major and minor (-1: any, "*"); access, some of "rwm". */
struct cgroup_device_rule {
    char type;
    int64_t major, minor;
    char access[4];
};

/* A block device's I/O limit: its weight (10-1000) or a throttle (bytes or operations per
 * second). */
struct cgroup_blkio_device {
    uint32_t major, minor;
    uint64_t value;
};
enum cgroup_blkio_kind {
    CGROUP_BLKIO_WEIGHT,     /* v1 blkio.weight_device, v2 io.bfq.weight or io.weight */
    CGROUP_BLKIO_READ_BPS,   /* v1 blkio.throttle.read_bps_device, v2 io.max rbps */
    CGROUP_BLKIO_WRITE_BPS,  /* ... write_bps_device, wbps */
    CGROUP_BLKIO_READ_IOPS,  /* ... read_iops_device, riops */
    CGROUP_BLKIO_WRITE_IOPS, /* ... write_iops_device, wiops */
    CGROUP_BLKIO_KINDS
};

/* Limits as the Docker API's HostConfig carries them; 0 means "not set". */
struct cgroup_limits {
    int64_t memory;             /* bytes */
    int64_t memory_swap;        /* memory + swap; -1 unlimited; 0: twice memory, as Docker */
    int64_t memory_reservation; /* soft limit */
    int64_t memory_swappiness;  /* -1: not set */
    bool oom_kill_disable;
    int64_t cpu_shares;
    int64_t cpu_period, cpu_quota; /* microseconds */
    int64_t nano_cpus;             /* --cpus, 1e9 per CPU */
    const char *cpuset_cpus, *cpuset_mems;
    int64_t pids_limit; /* > 0 to limit */
    int64_t blkio_weight;
    int64_t cpu_rt_period, cpu_rt_runtime; /* microseconds (v1 cpu.rt_*; v2 has none) */
    /* Block I/O per device; a kind this host's cgroup lacks is skipped (create warned). */
    const struct cgroup_blkio_device *blkio[CGROUP_BLKIO_KINDS];
    size_t nblkio[CGROUP_BLKIO_KINDS];
    /* The devices the container may use: every other one is denied (v1 devices.deny "a" then
     * devices.allow, v2 an eBPF device program); all of them when privileged. */
    const struct cgroup_device_rule *devices;
    size_t ndevices;
    bool privileged;
};

struct cgroup;

/* The cgroup root this host uses (default /sys/fs/cgroup), overridable for tests. */
void cgroup_set_root(const char *root);
/* Create PARENT/NAME in every controller berth uses (v1) or in the unified tree (v2) and
 * write the limits. EINVAL for limits the host cannot honour, with Docker's words. */
int cgroup_create(const char *parent, const char *name, const struct cgroup_limits *l,
                  struct cgroup **out, struct berth_err **err);
/* Write new limits into a container's cgroup while it runs (docker update). Only what is set
 * is written; unlike at create, memory_swap 0 leaves the swap limit as it is (and a swap limit
 * comes with the memory limit it adds to, which v2 needs), pids_limit < 0 lifts the limit, and
 * cpu_period or cpu_quota/nano_cpus rewrite both of the period and the quota. Devices and
 * per-device block I/O are left alone. Blocking. */
int cgroup_update(const struct cgroup *cg, const struct cgroup_limits *l, struct berth_err **err);
/* Open an existing one (after a daemon restart). */
struct cgroup *cgroup_open(const char *parent, const char *name);
/* A copy of where cg lives (no directory fd), for a pool job to use while the container's own
 * handle may go away with it. */
struct cgroup *cgroup_dup(const struct cgroup *cg);
/* v2: a directory fd for clone3's CLONE_INTO_CGROUP; -1 on v1. */
int cgroup_dir_fd(const struct cgroup *cg);
/* v1: the controllers berth places containers in, NULL-terminated (the ones this host lacks
 * included: check cgroup_path exists); NULL on v2. */
const char *const *cgroup_controllers(const struct cgroup *cg);
/* Is the host's hierarchy unified (cgroup v2)? */
bool cgroup_unified(void);
/* Can this host's cgroups take a limit: on v1 the controller's FILE exists at the root, on v2
 * V2_CONTROLLER is in cgroup.controllers (NULL: v2 has no such limit). A few access() calls. */
bool cgroup_supports(const char *v1_controller, const char *v1_file, const char *v2_controller);
/* v1: the `tasks` file of each controller, opened (O_CLOEXEC) for a new process to write "0"
 * into before it runs anything: a task that moves itself skips the kernel's global threadgroup
 * lock that a pid written to cgroup.procs takes (an RCU grace period per controller, 1-15 ms
 * all told here). v2 places with CLONE_INTO_CGROUP and opens none. Returns the count. */
#define CGROUP_JOIN_MAX 8
int cgroup_join_fds(const struct cgroup *cg, int fds[CGROUP_JOIN_MAX], struct berth_err **err);
/* Was a process of this cgroup killed by the OOM killer? */
bool cgroup_oom_killed(const struct cgroup *cg);
int cgroup_freeze(const struct cgroup *cg, bool frozen, struct berth_err **err);
/* Kill every process left (v2 cgroup.kill, v1 by reading the task lists). */
void cgroup_kill_all(const struct cgroup *cg);
/* Remove the directories (retrying briefly while exiting tasks leave); frees cg. */
int cgroup_destroy(struct cgroup *cg, struct berth_err **err);
void cgroup_free(struct cgroup *cg);
/* Where a controller's file lives, for tests and `docker inspect`: "memory", "pids"... */
char *cgroup_path(const struct cgroup *cg, const char *controller);
/* dockerd's create-time checks of --cpuset-cpus and --cpuset-mems against what the cgroup
 * root offers: EINVAL "Invalid value abc for cpuset cpus: invalid format: abc" or "Requested
 * CPUs are not available - requested 0-3, available: 0-1" (memory nodes likewise). */
int cgroup_check_cpuset(const char *cpus, const char *mems, struct berth_err **err);
