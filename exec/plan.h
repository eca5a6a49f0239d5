/* exec/plan.h — turns a container's configuration into a spawn plan (exec/spawn.h): every
 * path resolved inside the rootfs, every string and number the child will need computed up
 * front. Blocking (pool): it reads the image's /etc files and creates mount points. */
#pragma once

#include "core/err.h"
#include "exec/container.h"
#include "exec/namespaces.h"
#include "exec/lsm.h"
#include "exec/spawn.h"

/* PATH when the image sets none, as dockerd's. */
#define PLAN_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Everything a plan owns, freed together. */
struct plan_store;

struct plan_stdio {
    int child[3]; /* what the child gets as 0, 1, 2 */
    int out, err; /* our read ends (-1 with a tty) */
    int in;       /* our write end for stdin (-1 without OpenStdin) */
    int master;   /* the pty master with a tty, else -1 */
};
/* No fd at all: what a plan_stdio holds before plan_stdio fills it (plan_stdio_close is safe). */
#define PLAN_STDIO_NONE                                                                            \
    ((struct plan_stdio){.child = {-1, -1, -1}, .out = -1, .err = -1, .in = -1, .master = -1})

struct dev_set; /* exec/devices.h */
struct ctrnet;  /* exec/ctrnet.h */

/* What a start has found out before it plans the process. */
struct plan_inputs {
    const char *rootfs;         /* the mounted merged dir */
    const char *init;           /* the host's init binary to run the command under (--init) */
    const struct cgroup *cg;    /* its cgroup, shown at /sys/fs/cgroup (NULL: nothing there) */
    const struct dev_set *devs; /* its device nodes (dev_resolve; NULL: Docker's defaults) */
    const struct ns_join *join; /* other containers' namespaces it enters, the /dev/shm it
                                 * binds (NULL: none) */
    const struct ctrnet *net;   /* its network namespace, made and plumbed (exec/ctrnet.h):
                                 * entered instead of a new one (NULL: none) */
    const json_t *link_env;     /* its legacy links' variables (exec/ctrlinks.h; NULL: none) */
};

/* PLAN is filled and points into *store (and in->join's fds). */
int plan_build(const struct container *c, const struct plan_inputs *in, struct spawn_plan *plan,
               struct plan_store **store, struct berth_err **err);
/* The static init binary for --init: init-path from daemon.json, else docker-init where
 * dockerd keeps it, else Debian's tini-static. NULL when there is none. */
const char *plan_init_binary(const char *configured);
void plan_store_free(struct plan_store *s);

/* ---- the parts a container's process and a docker exec share (exec/execplan.c) ---- */

struct plan_store *plan_store_new(void);
/* p (heap) is freed with the store; returns p. */
void *plan_keep(struct plan_store *s, void *p);
/* The user as dockerd resolves it: USER ("" or NULL: root) in ROOT's /etc/passwd and /etc/group
 * (read inside ROOT, nothing followed out of it), with the HostConfig hc's GroupAdd; sets
 * p's uid, gid and groups. ENOENT with dockerd's words for an unknown user or group. */
int plan_user(struct plan_store *s, const json_t *hc, const char *root, const char *user,
              struct spawn_plan *p, struct berth_err **err);
/* The resolved user's home ("/" when it has none). */
const char *plan_user_home(const struct plan_store *s);
/* From the HostConfig hc, for p's user (plan_user first): capabilities, seccomp,
 * no_new_privs, AppArmor/SELinux exec attributes, rlimits and oom_score_adj. all_caps (docker
 * exec --privileged) gives every capability but keeps the container's seccomp filter, as runc
 * applies it to every process of a container. */
int plan_security(struct plan_store *s, const json_t *hc, bool all_caps, struct spawn_plan *p,
                  struct berth_err **err);
/* PATH's directories, for the child's command lookup (NULL-terminated, in the store). */
const char *const *plan_path_dirs(struct plan_store *s, const char *path);

/* What a process's stdio is: a pty (rows x cols when both are set) for all three, or a pipe
 * for each stream wanted and /dev/null for the others. */
struct plan_stdio_want {
    bool tty, in, out, err;
    unsigned short rows, cols;
};
/* On failure what was opened stays in *io for plan_stdio_close. */
int plan_stdio_open(const struct plan_stdio_want *w, struct plan_stdio *io, struct berth_err **err);
/* The container's: per Config.Tty and Config.OpenStdin, stdout and stderr always. */
int plan_stdio(const struct container *c, struct plan_stdio *io, struct berth_err **err);
void plan_stdio_close_child(struct plan_stdio *io);
void plan_stdio_close(struct plan_stdio *io);

/* The cgroup limits of HostConfig, with the device rules and block I/O of devs (NULL: Docker's
 * default devices); l points into devs. */
void plan_limits(const struct container *c, const struct dev_set *devs, struct cgroup_limits *l);

/* --security-opt as dockerd's parseSecurityOpt reads it: no-new-privileges[=BOOL],
 * seccomp=unconfined|PROFILE-JSON, apparmor=..., label=..., "disable". EINVAL with its words:
 * "invalid --security-opt 1: \"x\"" (no separator), "... 2: \"k=v\"" (unknown key, bad bool).
 * profile and lsm point into opts (lsm_check says whether this host can honour lsm). */
struct security_opts {
    bool no_new_privs, unconfined;
    const char *profile;
    struct lsm_opts lsm;
};
int plan_security_opts(const json_t *opts, struct security_opts *out, struct berth_err **err);
