/* exec/execplan.c — a docker exec's process: the plan the container's start would make for
 * its process, minus the filesystem (the exec enters the container's mount namespace, whose
 * root is the container's), plus the exec's user, directory, environment and command. */
#include "exec/execplan.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "exec/namespaces.h"

int execplan_nstypes(const json_t *hc)
{
    struct ns_modes m;
    ns_modes(hc, &m);
    /* container:X modes are X's namespaces, which the container's own process is in too */
    return CLONE_NEWNS | (m.pid == NS_HOST ? 0 : CLONE_NEWPID) |
           (m.uts == NS_HOST ? 0 : CLONE_NEWUTS) | (m.ipc == NS_HOST ? 0 : CLONE_NEWIPC) |
           (m.net == NS_HOST ? 0 : CLONE_NEWNET) | (m.cgroup == NS_PRIVATE ? CLONE_NEWCGROUP : 0);
}

static void plan_store_freep(struct plan_store **s)
{
    plan_store_free(*s);
}

static void cgroup_freep(struct cgroup **cg)
{
    if (*cg)
        cgroup_free(*cg);
}

/* The environment with HOME from the user's passwd entry when it sets none, as runc adds it;
 * *path: its PATH, for the command lookup. */
static char *const *environment_home(struct plan_store *s, char *const *env, const char *home,
                                     const char **path)
{
    size_t n = 0;
    bool has_home = false;
    *path = PLAN_DEFAULT_PATH;
    for (; env && env[n]; n++) {
        has_home |= strncmp(env[n], "HOME=", 5) == 0;
        if (strncmp(env[n], "PATH=", 5) == 0)
            *path = env[n] + 5;
    }
    if (has_home)
        return env;
    char **out = plan_keep(s, xcalloc(n + 2, sizeof(char *)));
    memcpy(out, env, n * sizeof(char *));
    out[n] = plan_keep(s, xasprintf("HOME=%s", home));
    return out;
}

/* The container's process still runs: then /proc/PID was its, and is. */
static int still_running(const struct execplan_inputs *in, struct berth_err **err)
{
    if (syscall(SYS_pidfd_send_signal, in->ctr_pidfd, 0, NULL, 0) == 0)
        return 0;
    return berth_user_error(err, EBUSY, "container %s is not running", in->ctr_id);
}

static int build(const struct execplan_inputs *in, struct plan_store *s, struct spawn_plan *p,
                 struct berth_err **err)
{
    char root[32];
    const char *path;
    snprintf(root, sizeof(root), "/proc/%d/root", (int)in->ctr_pid);
    *p = (struct spawn_plan){.exec = true,
                             .joins = {{.pidfd = in->ctr_pidfd, .nstype = in->nstypes}},
                             .njoins = 1,
                             .cwd = in->cwd && *in->cwd ? in->cwd : "/",
                             .argv = in->argv,
                             .tty = in->stdio.tty};
    int r = plan_user(s, in->host_config, root, in->user, p, err);
    if (r < 0)
        return r;
    if ((r = still_running(in, err)) < 0)
        return r;
    if ((r = plan_security(s, in->host_config, in->privileged, p, err)) < 0)
        return r;
    p->envp = environment_home(s, in->env, plan_user_home(s), &path);
    p->path = plan_path_dirs(s, path);
    return 0;
}

/* dockerd's reading of a failed exec (setExitCodeFromError): 126 when it could not be
 * executed, 127 when it was not found, 128 for anything else. */
static int exit_code_of(const char *msg)
{
    if (strcasestr(msg, "permission denied") || strcasestr(msg, "is a directory"))
        return 126;
    if (strcasestr(msg, "not a directory") || strcasestr(msg, "executable file not found") ||
        strcasestr(msg, "no such file or directory"))
        return 127;
    return 128;
}

int execplan_spawn(const struct execplan_inputs *in, struct plan_stdio *io, struct spawn_result *sr,
                   int *exit_code, struct berth_err **err)
{
    _cleanup_(plan_store_freep) struct plan_store *s = plan_store_new();
    _cleanup_(cgroup_freep) struct cgroup *cg = NULL;
    struct spawn_plan p;
    *io = PLAN_STDIO_NONE;
    *exit_code = 126; /* dockerd's for an exec that failed before its process was made */
    int r = build(in, s, &p, err);
    if (r < 0)
        return r;
    if ((r = plan_stdio_open(&in->stdio, io, err)) < 0) {
        plan_stdio_close(io);
        return r;
    }
    memcpy(p.stdio, io->child, sizeof(p.stdio));
    cg = cgroup_open(in->cg_parent, in->ctr_id);
    r = spawn(&p, cg, sr, exit_code, err);
    plan_stdio_close_child(io); /* the child has its copies */
    if (r < 0) {
        plan_stdio_close(io);
        *exit_code = exit_code_of((*err)->msg);
        if (*exit_code == 128)
            (*err)->status = EIO; /* dockerd's 500 for the unknown */
    }
    return r;
}

int execplan_check_user(pid_t ctr_pid, const json_t *hc, const char *user, struct berth_err **err)
{
    _cleanup_(plan_store_freep) struct plan_store *s = plan_store_new();
    struct spawn_plan p = {0};
    char root[32];
    snprintf(root, sizeof(root), "/proc/%d/root", (int)ctr_pid);
    int r = plan_user(s, hc, root, user, &p, err);
    if (r < 0)
        (*err)->status = EINVAL; /* dockerd's InvalidParameter: 400 */
    return r;
}
