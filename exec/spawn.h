/* exec/spawn.h — creating a container process straight from berthd: clone3 into new
 * namespaces with a pidfd, placed in its cgroup before it runs, then (in the child, with
 * async-signal-safe calls only) mounts, pivot_root, /dev, masked paths, hostname, limits,
 * user, capabilities, seccomp and exec. The parent learns of exec or the exact failure
 * through a close-on-exec pipe. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "cgroup/cgroup.h"
#include "core/err.h"
#include "exec/caps.h"
#include "exec/seccomp.h"

enum spawn_mount_kind {
    SPAWN_MOUNT_FS,      /* mount(source, target, fstype, flags, data) */
    SPAWN_MOUNT_BIND,    /* bind source on target, then remount with flags if MS_RDONLY, then
                            set its propagation if it has one */
    SPAWN_MOUNT_MKNOD,   /* char device `rdev` at target, mode 0666 */
    SPAWN_MOUNT_SYMLINK, /* symlink target → source */
    SPAWN_MOUNT_DIR,     /* a directory at target (0755), unless one is there */
    SPAWN_MOUNT_DEVICE   /* the node `mode`/`rdev` at target, replacing what is there, owned
                            by uid:gid */
};

/* One step of building the container's filesystem; all paths are absolute host paths inside
 * the rootfs (computed by the parent, so the child formats nothing). */
struct spawn_mount {
    enum spawn_mount_kind kind;
    const char *source, *target, *fstype, *data;
    unsigned long flags;
    unsigned long propagation; /* a bind's MS_PRIVATE/MS_SLAVE/MS_SHARED (| MS_REC), or 0 */
    dev_t rdev;
    mode_t mode; /* SPAWN_MOUNT_DEVICE: type and permissions */
    uid_t uid;
    gid_t gid;
    bool mkdir_target; /* create the target directory first (0755) */
};

struct spawn_rlimit {
    int resource;
    struct rlimit limit;
};

/* Namespaces of another process to enter: setns(pidfd, nstype) in the child. */
struct spawn_join {
    int pidfd;
    int nstype; /* CLONE_NEWNET, CLONE_NEWIPC or CLONE_NEWPID; for an exec, all it enters */
};
#define SPAWN_JOINS_MAX 3

/* A sysctl written in the child once its namespaces exist: path under the new root's /proc. */
struct spawn_sysctl {
    const char *key, *path, *value;
};

/* A /proc attribute written just before exec (an AppArmor profile, an SELinux label). */
struct spawn_attr {
    const char *path, *value;
};

struct spawn_plan {
    /* A process started in a running container (docker exec): it enters the container's
     * namespaces (one join, the container's pidfd) and builds no filesystem (rootfs, mounts,
     * masked paths and hostname unset), and its failures have dockerd's exec words. */
    bool exec;
    const char *rootfs; /* the mounted root (overlay merged dir) */
    int clone_flags;    /* CLONE_NEW*, but for the cgroup namespace: */
    bool cgroupns;      /* a private one, made once the child is in its cgroup */
    /* Other containers' namespaces, entered right after the cgroup. Entering a PID namespace
     * only places the children: the child forks once more (CLONE_PARENT, so the process is
     * berthd's child all the same) and the grandchild is the container's process. */
    struct spawn_join joins[SPAWN_JOINS_MAX];
    size_t njoins;
    const struct spawn_sysctl *sysctls;
    size_t nsysctls;
    /* A (r)shared bind: the host's mounts are not made slaves in the container, so the bind
     * stays a peer of its source; the rootfs is made private instead (as runc does for a
     * shared root propagation). */
    bool root_shared;
    const struct spawn_mount *mounts;
    size_t nmounts;
    const char *const *masked;   /* paths in the new root, NULL-terminated */
    const char *const *readonly; /* paths in the new root, NULL-terminated */
    bool readonly_rootfs;
    const char *hostname;
    const char *domainname; /* NULL: none */
    const struct spawn_rlimit *rlimits;
    size_t nrlimits;
    int oom_score_adj;
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    size_t ngroups;
    const char *cwd;
    char *const *argv;
    char *const *envp;
    const char *const *path; /* PATH entries for the command lookup, NULL-terminated */
    struct caps caps;
    bool no_new_privs;
    const struct seccomp_prog *seccomp; /* NULL: unconfined */
    struct spawn_attr attrs[2];
    size_t nattrs;
    int stdio[3]; /* fds the child gets as 0, 1, 2 (a tty slave for all three with tty) */
    bool tty;
};

/* Where the child stopped when it failed (for the words and the exit code). */
enum spawn_stage {
    STAGE_CGROUP = 1,
    STAGE_NAMESPACES,
    STAGE_STDIO,
    STAGE_MOUNT,
    STAGE_PIVOT,
    STAGE_SYSCTL_OPEN,
    STAGE_SYSCTL,
    STAGE_MASK,
    STAGE_HOSTNAME,
    STAGE_RLIMIT,
    STAGE_USER,
    STAGE_CAPS,
    STAGE_SECCOMP,
    STAGE_CWD,
    STAGE_LSM,
    STAGE_EXEC,
};

struct spawn_result {
    pid_t pid;
    int pidfd;
    int64_t clone_us, exec_us; /* from clone3's call to its return, and to exec */
};

/* Blocking (latency pool job). On a failure inside the child, EINVAL with dockerd's words
 * (`exec: "x": executable file not found in $PATH`), *exit_code set to 127 (not found), 126
 * (not executable) or 125 (anything else), and no process left. */
int spawn(const struct spawn_plan *p, const struct cgroup *cg, struct spawn_result *out,
          int *exit_code, struct berth_err **err);
