/* exec/execproc.h — docker exec: processes started in a running container. Each instance lives
 * from its create to a while after its exit (exec inspect reads it: until its container is
 * removed, or five minutes after the exit, as dockerd forgets them), in memory only. Its
 * process is made by a latency pool job (exec/execplan.c); then, as a container's own, its
 * stdio (pipes or a pty) is the reactor's and its exit arrives through its pidfd: no helper
 * process. Its one client (a hijacked connection, lent through struct attach_link) gets the
 * output (in Docker's frames without a tty) and gives the input. Reactor thread. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "core/err.h"
#include "exec/attach.h"
#include "exec/container.h"
#include "exec/run.h"

enum execproc_state {
    EXECPROC_CREATED,
    EXECPROC_STARTING, /* its process is being made: Running already, as dockerd shows it */
    EXECPROC_RUNNING,
    EXECPROC_EXITED, /* exit_code is its status, or what its failed start recorded */
};

struct execproc_run; /* exec/execproc.c: what exists while it starts, runs and drains */

/* dockerd's ExecConfig, as exec inspect shows it. */
struct execproc {
    char id[65];
    char ctr_id[65];
    struct container *c; /* NULL once its container exited or went: no API call finds it then */
    char **argv;         /* the entrypoint, then the arguments; NULL-terminated */
    char **env;          /* the process's: the container's defaults and Env, then the exec's */
    char *user;          /* the exec's, or the container's */
    char *workdir;       /* the exec's, or the container's */
    bool tty, privileged, open_stdin, open_stdout, open_stderr;
    unsigned char detach_keys[16]; /* as given (none: ctrl-p ctrl-q with a tty) */
    size_t ndetach_keys;
    unsigned short console[2]; /* [height, width] asked at create; 0 0: none */
    enum execproc_state state;
    int exit_code;
    pid_t pid;                 /* on the host, once started */
    struct execproc *ctr_next; /* the container's list, c->execs */
    uint64_t _exited_ms;
    struct execproc_run *_run;
};

/* The container can take an exec: it runs and is not paused. EBUSY (409) with dockerd's words
 * ("container ID is not running", "Container NAME is paused, unpause the container before
 * exec"); name is how the client named it. */
int execproc_check_container(const struct container *c, const char *name, struct berth_err **err);

/* POST /containers/{id}/exec with its body (ExecConfig: Cmd, Env, User, WorkingDir, Tty,
 * Attach*, DetachKeys, Privileged; ConsoleSize when console_size). The user is looked up by
 * the caller beforehand (execplan_check_user). EINVAL "No exec command specified", EIO
 * "Invalid escape keys (x) provided", or the container's refusal. The instance is indexed
 * (env->execs) and in c->execs. */
int execproc_create(struct exec_env *env, struct container *c, const char *name, const json_t *body,
                    bool console_size, struct execproc **out, struct berth_err **err);

/* By exact ID; ENOENT "No such exec instance: ID" (also for one whose container went). */
int execproc_get(struct exec_env *env, const char *id, struct execproc **out,
                 struct berth_err **err);

/* POST /exec/{id}/start. With a link (not detached) the instance takes the client: it gets
 * the output (framed: Docker's 8-byte frames, else raw) and its input goes to the process
 * through execproc_input; the link ends once the process has exited and its output is out
 * (at most 2 s after the exit, as dockerd waits for it), or when the client types the detach
 * keys. started (may be NULL) runs once the process runs, or with the error when it could not
 * be made. A refusal (EBUSY "exec command ID is already running" / "... has already run", or
 * the container's) returns < 0; with a link its words also go to the client, as dockerd writes
 * them after the hijack, and the link ends. console: [height, width] for the tty, 0 0 for the
 * create's. */
struct execproc_start {
    const struct attach_link *link;
    bool framed;
    unsigned short console[2];
    void (*started)(void *ctx, int res, const struct berth_err *err);
    void *ctx;
};
int execproc_start(struct exec_env *env, struct execproc *e, const struct execproc_start *o,
                   struct berth_err **err);
/* The client's bytes (n == 0: its input ended; < 0: an error). */
void execproc_input(struct execproc *e, const char *data, ssize_t n);
/* The client's transport went away on its own: the process runs on, its output is dropped. */
void execproc_client_gone(struct execproc *e);
/* POST /exec/{id}/resize: the tty's size, now or (while it starts) once it runs; nothing to
 * do without a tty or after the exit. */
int execproc_resize(struct execproc *e, unsigned short height, unsigned short width,
                    struct berth_err **err);

/* Its container exited: execs that never ran are forgotten, and so are those still running,
 * as dockerd's cleanup does (their processes die with the container: its PID namespace, or
 * its cgroup killed). */
void execproc_container_exited(struct exec_env *env, struct container *c);
/* Its container is removed: all its execs are forgotten. */
void execproc_container_removed(struct exec_env *env, struct container *c);
/* The daemon's end: every instance freed (their clients are gone already). */
void execproc_free_all(struct exec_env *env);
