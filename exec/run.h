/* exec/run.h — a container's life: start (a latency pool job: rootfs, cgroup, spawn; each
 * phase timed), output to the log and attached clients while it runs, its exit seen through
 * its pidfd, stop, kill, wait, pause, restart and removal. Reactor thread. */
#pragma once

#include <stdbool.h>

#include "core/err.h"
#include "core/map.h"
#include "core/pool.h"
#include "core/reactor.h"
#include "exec/container.h"
#include "fs/image.h"
#include "fs/layer.h"
#include "fs/volume.h"

struct ctr_shutdown; /* exec/run.c: the daemon stopping its containers */
struct netbr;        /* net/network/bridge.h: the default bridge network */
struct usernets;     /* net/network/usernet.h: user-defined networks */
struct dns_server;   /* net/network/dns.h: the embedded DNS server */

/* What happens to a container that only exec/ sees, reported for the daemon's events (reactor
 * thread; fn NULL: nobody listens). value: the signal sent for CTR_EVENT_KILL (by a kill or a
 * stop, its timeout's SIGKILL too), the exit code for CTR_EVENT_DIE; OOM comes before DIE when
 * the kernel killed in its cgroup; DESTROY once its files are gone, before it is freed. START
 * when its process runs (before the start's caller hears it: its volumes were mounted).
 * exec_die: one of its exec processes exited (value: its exit code). */
enum ctr_event { CTR_EVENT_START, CTR_EVENT_KILL, CTR_EVENT_OOM, CTR_EVENT_DIE, CTR_EVENT_DESTROY };
struct ctr_notify {
    void (*fn)(void *arg, const struct container *c, enum ctr_event what, int value);
    void (*exec_die)(void *arg, const struct container *c, const char *exec_id, int exit_code);
    void *arg;
};

struct exec_env {
    struct reactor *r;
    struct pool *pool;
    struct ctr_store *cs;
    struct image_store *images;
    struct layer_store *layers;
    struct volume_store *volumes;
    const char *cgroup_parent; /* daemon default ("berth") */
    const char *log_driver;    /* daemon.json log-driver and log-opts: defaults for create */
    const json_t *log_opts;
    bool init;                 /* daemon.json "init": containers run under an init by default */
    const char *init_path;     /* daemon.json "init-path" */
    const char *ipc_mode;      /* daemon.json "default-ipc-mode" (NULL: dockerd's, private) */
    const char *cgroupns_mode; /* daemon.json "default-cgroupns-mode" (NULL: per cgroup version) */
    struct ctr_notify notify;  /* the daemon's events */
    bool default_bridge;       /* daemon.json "bridge" is not "none": "", default and bridge
                                * put a container on the default bridge */
    struct netbr *bridge;      /* ... once it is set up, at start-up (before any start) */
    struct usernets *nets;     /* user-defined networks (net/network/usernet.h) */
    struct dns_server *dns;    /* their embedded DNS server, made at the first use */

    struct ctr_shutdown *shutdown; /* set by ctr_stop_all: no container starts any more */
    struct map execs;              /* docker exec instances by ID (exec/execproc.c) */
};

typedef void (*ctr_done_fn)(void *ctx, int res, const struct berth_err *err);

/* Start a created or exited container. done runs when it runs (or failed to start: the words
 * and, for exec failures, the exit code 126/127 recorded in its state). A running container is
 * EALREADY (dockerd answers 304). */
int ctr_start(struct exec_env *env, struct container *c, ctr_done_fn done, void *ctx,
              struct berth_err **err);
/* Stop: its StopSignal (SIGTERM), then SIGKILL after timeout seconds (< 0: its StopTimeout, or
 * 10). done runs once it has exited; at once when it does not run. */
void ctr_stop(struct exec_env *env, struct container *c, int timeout, ctr_done_fn done, void *ctx);
/* The same with signal (> 0) instead of its StopSignal: docker stop -s / restart -s. */
void ctr_stop_signal(struct exec_env *env, struct container *c, int timeout, int signal,
                     ctr_done_fn done, void *ctx);
/* Send signal (Docker's names or numbers; none: SIGKILL). As dockerd: done runs at once for
 * other signals, and for SIGKILL once the container has exited and its state says so (after
 * 10 s its cgroup is killed; 2 s later done gets ETIMEDOUT). A paused container is thawed for
 * SIGKILL or its stop signal. Errors before anything is sent: EINVAL for an unknown signal,
 * EBUSY "... is not running" when it does not run. */
int ctr_kill(struct exec_env *env, struct container *c, const char *signal, ctr_done_fn done,
             void *ctx, struct berth_err **err);
int ctr_pause(struct exec_env *env, struct container *c, bool pause, struct berth_err **err);

enum ctr_wait_cond { WAIT_NOT_RUNNING, WAIT_NEXT_EXIT, WAIT_REMOVED };
/* fn(ctx, exit_code, error_message or NULL) once the condition holds (maybe at once). */
void ctr_wait(struct container *c, enum ctr_wait_cond cond,
              void (*fn)(void *ctx, int code, const char *error), void *ctx);
/* Forget a waiter whose client left. */
void ctr_wait_cancel(struct container *c, void *ctx);

/* Remove: a running container needs force (it is killed first). done runs when its files are
 * gone. */
int ctr_remove_async(struct exec_env *env, struct container *c, bool force, ctr_done_fn done,
                     void *ctx, struct berth_err **err);
/* The same, and with volumes its anonymous volumes no other container uses go too (docker rm -v,
 * as dockerd's RemoveVolume); done runs once they are gone. */
int ctr_remove_with_volumes(struct exec_env *env, struct container *c, bool force, bool volumes,
                            ctr_done_fn done, void *ctx, struct berth_err **err);
/* Resize the tty of a running container (nothing to do without a tty, as dockerd). */
int ctr_resize(struct container *c, int height, int width, struct berth_err **err);
/* A running container's pidfd (-1 when it does not run or has exited), and the host directory
 * bound at its /dev/shm (NULL: a tmpfs of its own or none), for a container joining its
 * namespaces. Reactor thread. */
int ctr_run_pidfd(const struct container *c);
/* Its cgroup's parent: HostConfig.CgroupParent, else the daemon's. */
const char *ctr_cgroup_parent(const struct container *c, const struct exec_env *env);
const char *ctr_run_shm(const struct container *c);
/* The cgroup of a running container (paused included), NULL once it has exited: its end's
 * cleanup takes it. A pool job uses a copy (cgroup_dup), as the handle goes with the run. */
struct cgroup;
const struct cgroup *ctr_run_cgroup(const struct container *c);
/* Attach input for a running container: queued for its stdin; returns the bytes still waiting
 * for it (past a limit, exec/attach holds its clients back, as dockerd's pipe blocks them). */
size_t ctr_stdin_write(struct container *c, const char *data, size_t n);
/* An attach client's input ended: the container's stdin closes once what is queued is in. */
void ctr_stdin_close(struct container *c);
/* Start-up recovery of what the last daemon left on the host, in three steps so the API can
 * serve meanwhile: ctr_recover_plan (reactor) copies what the pool job needs and removes
 * --rm containers, as dockerd does; ctr_recover_host (blocking, pool) kills what is left in
 * every container's cgroup, removes the cgroups and unmounts the rootfs, whatever each record
 * says, and unmounts directories no record owns; ctr_recover_finish (reactor) adds those
 * directories to the set `trash` (for removal) and frees rc. No container may be started
 * or removed between plan and finish. */
struct ctr_recovery;
struct ctr_recovery *ctr_recover_plan(struct exec_env *env);
void ctr_recover_host(struct ctr_recovery *rc);
void ctr_recover_finish(struct ctr_recovery *rc, struct map *trash);
/* The daemon's shutdown: stop every running container (timeout as ctr_stop's: < 0 each its own)
 * and those being started as their start ends, calling done once all have exited and are
 * cleaned up (no overlay mount, no cgroup left). Starts are refused (EAGAIN) from now on. */
void ctr_stop_all(struct exec_env *env, int timeout, void (*done)(void *arg), void *arg);
/* During ctr_stop_all: SIGKILL them all now instead of waiting for their stop timeouts. */
void ctr_kill_all(struct exec_env *env);
/* After the reactor's last turn. */
void ctr_shutdown_free(struct exec_env *env);

/* Its running endpoint (exec/ctrnet.h; NULL: not running, or on no bridge). */
struct ctrnet *ctr_run_net(const struct container *c);
