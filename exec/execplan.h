/* exec/execplan.h — a docker exec's process, made by a pool job: its user resolved in the
 * container's own /etc files (through /proc/PID/root, nothing followed out of it), its spawn
 * plan from the container's HostConfig as the container's start reads it (capabilities,
 * seccomp, no_new_privs, AppArmor/SELinux, rlimits, oom_score_adj) and the exec's settings,
 * its stdio, and the spawn into the container's namespaces and cgroup (exec/spawn.c). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include "core/err.h"
#include "exec/plan.h"
#include "exec/spawn.h"

/* What the job reads: copies made on the reactor thread, or the container's HostConfig held by
 * a reference (nothing changes a HostConfig after create). */
struct execplan_inputs {
    int ctr_pidfd;         /* the container's process: the namespaces it enters */
    pid_t ctr_pid;         /* ... for /proc/PID/root */
    int nstypes;           /* those namespaces (execplan_nstypes) */
    const char *cg_parent; /* the container's cgroup: PARENT/ID */
    const char *ctr_id;
    const json_t *host_config; /* the container's */
    const char *user;          /* the exec's or the container's; "" or NULL: root */
    const char *cwd;           /* "" or NULL: "/" */
    char *const *argv;
    char *const *env; /* HOME is added from the user's passwd entry when it has none */
    bool privileged;  /* docker exec --privileged: every capability */
    struct plan_stdio_want stdio;
};

/* The namespaces of the container (HostConfig hc) that are not the host's, as CLONE_NEW* for
 * one setns on its pidfd; no syscall. */
int execplan_nstypes(const json_t *hc);

/* Blocking. Spawn the exec's process: 0 with *sr (its pid and pidfd) and *io (our ends of its
 * stdio). On failure nothing is left open, *exit_code is what dockerd records for the exec
 * (126 permission denied, 127 not found, 128 otherwise; 126 when it failed before the spawn)
 * and the words are runc's ("OCI runtime exec failed: exec failed: unable to start container
 * process: exec: \"x\": executable file not found in $PATH: unknown"): EINVAL for 126 and
 * 127, EIO else. */
int execplan_spawn(const struct execplan_inputs *in, struct plan_stdio *io, struct spawn_result *sr,
                   int *exit_code, struct berth_err **err);

/* Blocking. dockerd's check at exec create: USER exists in the container of pid ctr_pid (its
 * HostConfig hc for GroupAdd). EINVAL "unable to find user x: no matching entries in passwd
 * file". */
int execplan_check_user(pid_t ctr_pid, const json_t *hc, const char *user, struct berth_err **err);
