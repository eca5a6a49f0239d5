/* exec/run.c — the running part of a container's life. The start runs as one latency pool job
 * whose result the reactor installs; output flows from the container's pipes (or pty) to the
 * json-file log and attached clients; the exit arrives on the pidfd and is finished (log
 * flushed, rootfs unmounted, cgroup removed) before anyone is told. */
#include "exec/run.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "core/cleanup.h"
#include "core/clock.h"
#include "core/crashpoint.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "exec/attach.h"
#include "exec/ctrlinks.h"
#include "exec/ctrnet.h"
#include "exec/devices.h"
#include "exec/execproc.h"
#include "exec/logconfig.h"
#include "exec/logfile.h"
#include "exec/namespaces.h"
#include "exec/plan.h"
#include "exec/resolvconf.h"
#include "exec/rootfs.h"
#include "exec/spawn.h"
#include "exec/verify.h"
#include "exec/volumes.h"
#include "fs/atomic.h"
#include "fs/layer.h"
#include "net/network/bridge.h"

/* Someone waiting for a running container's end: a stop, a restart, rm -f, a SIGKILL kill
 * (which gives up after a while: its deadline) or the daemon's shutdown. */
struct stop_waiter {
    ctr_done_fn done;
    void *ctx;
    struct ctr_run *run;
    struct reactor_timer deadline;
    bool last_chance;
    struct stop_waiter *next;
};

/* The daemon's shutdown (ctr_stop_all): containers still to stop. */
struct ctr_shutdown {
    int pending;
    int timeout;
    void (*done)(void *arg);
    void *arg;
};

struct ctr_run {
    struct container *c;
    struct exec_env *env;
    pid_t pid;
    struct rio *pidfd;
    struct cgroup *cg;
    struct rio *out, *err, *tty; /* tty: the pty master, for output and input */
    struct rio *in;              /* the stdin pipe's write end */
    struct log_writer *log;
    struct buf stdin_q;
    size_t stdin_inflight;
    bool stdin_sending, stdin_closing;
    int open_outputs;
    bool exited, finishing;
    int status; /* exit code */
    struct reactor_timer kill_timer;
    struct stop_waiter *stoppers;
    char *shm;             /* the host directory at its /dev/shm, for containers joining its IPC */
    bool own_shm;          /* ... its own tmpfs (--ipc shareable), unmounted at its end */
    struct ctr_vols *vols; /* its volumes, given back at its end */
    struct ctrnet *net;    /* its endpoint on the default bridge (NULL: not on it) */
    bool net_shared;       /* ... and another container still runs in its netns */
};

struct ctr_waiter {
    enum ctr_wait_cond cond;
    void (*fn)(void *ctx, int code, const char *error);
    void *ctx;
    struct ctr_waiter *next;
};

static void notify(struct exec_env *env, const struct container *c, enum ctr_event what, int value)
{
    if (env->notify.fn)
        env->notify.fn(env->notify.arg, c, what, value);
}

static void set_time(char **field)
{
    free(*field);
    *field = time_format_rfc3339(time_now_ns());
}

/* ---- waiters ---- */

/* Call the waiters whose condition now holds: an exit wakes not-running and next-exit ones, a
 * removal everyone. */
static void wake_waiters(struct container *c, bool removed)
{
    struct ctr_waiter **p = &c->waiters;
    while (*p) {
        struct ctr_waiter *w = *p;
        if (w->cond == WAIT_REMOVED && !removed) {
            p = &w->next;
            continue;
        }
        *p = w->next;
        w->fn(w->ctx, c->state.exit_code, NULL); /* a start error was already the start's answer */
        free(w);
    }
}

void ctr_wait(struct container *c, enum ctr_wait_cond cond,
              void (*fn)(void *ctx, int code, const char *error), void *ctx)
{
    bool running = c->state.status == CTR_RUNNING || c->state.status == CTR_PAUSED ||
                   c->state.status == CTR_RESTARTING || c->run;
    if (cond == WAIT_NOT_RUNNING && !running)
        return fn(ctx, c->state.exit_code, NULL);
    struct ctr_waiter *w = xcalloc(1, sizeof(*w));
    *w = (struct ctr_waiter){.cond = cond, .fn = fn, .ctx = ctx, .next = c->waiters};
    c->waiters = w;
}

void ctr_wait_cancel(struct container *c, void *ctx)
{
    for (struct ctr_waiter **p = &c->waiters; *p; p = &(*p)->next)
        if ((*p)->ctx == ctx) {
            struct ctr_waiter *w = *p;
            *p = w->next;
            free(w);
            return;
        }
}

/* ---- output and input ---- */

static void maybe_finish(struct ctr_run *run);

static void output(struct ctr_run *run, enum log_stream s, const char *data, ssize_t n)
{
    if (n <= 0) { /* EOF (a pty master reports EIO once the container side closed) */
        run->open_outputs--;
        return maybe_finish(run);
    }
    if (run->log)
        log_writer_write(run->log, s, data, (size_t)n);
    attach_broadcast(run->c, s, data, (size_t)n);
}

static void on_stdout(void *ctx, const char *data, ssize_t n)
{
    output(ctx, LOG_STDOUT, data, n);
}

static void on_stderr(void *ctx, const char *data, ssize_t n)
{
    output(ctx, LOG_STDERR, data, n);
}

static void flush_stdin(struct ctr_run *run);

static void on_stdin_sent(void *ctx, int res)
{
    struct ctr_run *run = ctx;
    run->stdin_sending = false;
    run->stdin_inflight = 0;
    if (res < 0) /* the container closed its stdin: drop what it will never read */
        buf_reset(&run->stdin_q);
    else
        flush_stdin(run);
    attach_stdin_drained(run->c); /* clients held back may send more */
}

static struct rio *stdin_rio(struct ctr_run *run)
{
    return run->tty ? run->tty : run->in;
}

static void flush_stdin(struct ctr_run *run)
{
    struct rio *io = stdin_rio(run);
    if (!io || run->stdin_sending)
        return;
    if (run->stdin_q.len) {
        size_t len;
        char *data = buf_steal(&run->stdin_q, &len);
        run->stdin_sending = reactor_send(io, data, len, on_stdin_sent) == 0;
        run->stdin_inflight = run->stdin_sending ? len : 0;
    } else if (run->stdin_closing && run->in) { /* all sent: now the container sees EOF */
        reactor_io_close(run->in);
        run->in = NULL;
    }
}

size_t ctr_stdin_write(struct container *c, const char *data, size_t n)
{
    if (!c->run)
        return 0;
    buf_append(&c->run->stdin_q, data, n);
    flush_stdin(c->run);
    return c->run->stdin_q.len + c->run->stdin_inflight;
}

void ctr_stdin_close(struct container *c)
{
    if (!c->run)
        return;
    c->run->stdin_closing = true;
    flush_stdin(c->run);
}

int ctr_resize(struct container *c, int height, int width, struct berth_err **err)
{
    if (!c->run)
        return berth_user_error(err, EBUSY, "Container %s is not running", c->id);
    if (!c->run->tty) /* as dockerd: nothing to resize, and no error */
        return 0;
    struct winsize ws = {.ws_row = (unsigned short)height, .ws_col = (unsigned short)width};
    if (ioctl(reactor_io_fd(c->run->tty), TIOCSWINSZ, &ws) < 0)
        return berth_error(err, errno, "resize the tty");
    return 0;
}

/* ---- exit ---- */

struct cleanup {
    struct pool_job job;
    struct ctr_run *run;
    bool oom;
};

static void run_free(struct ctr_run *run)
{
    reactor_timer_stop(run->env->r, &run->kill_timer);
    reactor_io_close(run->pidfd);
    buf_free(&run->stdin_q);
    free(run->shm);
    ctr_vols_free(run->vols);
    ctrnet_release(run->env, run->net, NULL);
    free(run);
}

int ctr_run_pidfd(const struct container *c)
{
    return c->run && !c->run->exited ? reactor_io_fd(c->run->pidfd) : -1;
}

const struct cgroup *ctr_run_cgroup(const struct container *c)
{
    return c->run && !c->run->exited && !c->run->finishing ? c->run->cg : NULL;
}

const char *ctr_run_shm(const struct container *c)
{
    return c->run ? c->run->shm : NULL;
}

/* What a container that ran holds on the host: its cgroup (every process left in it killed
 * first: nothing of it may outlive it), its overlay mount and its shareable /dev/shm (shm).
 * Blocking. */
static void release_host(const struct container *c, struct cgroup *cg, bool shm)
{
    _cleanup_err_ struct berth_err *err = NULL;
    if (cg) {
        cgroup_kill_all(cg);
        if (cgroup_destroy(cg, &err) < 0)
            log_warn("container %.12s: %s", c->id, err->msg);
    }
    berth_err_freep(&err);
    if (rootfs_unmount(c->dir, &err) < 0)
        log_warn("container %.12s: %s", c->id, err->msg);
    if (shm)
        ns_shm_unmount(c->dir);
}

static void cleanup_work(struct pool_job *job)
{
    struct cleanup *cl = (struct cleanup *)job;
    struct ctr_run *run = cl->run;
    cl->oom = run->cg && cgroup_oom_killed(run->cg);
    release_host(run->c, take_ptr(run->cg), run->own_shm);
    ctr_volumes_teardown(run->vols); /* its last user unmounts a volume's options */
    ctrnet_unplumb(run->net, run->c->id, run->net_shared);
}

static void remove_after_exit(struct exec_env *env, struct container *c);

/* The shutdown waits for work that began while it runs: a container's end, which may go on
 * to its --rm removal, and removals. Held before, released after. */
static struct ctr_shutdown *shutdown_hold(struct exec_env *env)
{
    if (env->shutdown)
        env->shutdown->pending++;
    return env->shutdown;
}

static void one_stopped(void *arg, int res, const struct berth_err *err);

static void shutdown_release(struct ctr_shutdown *sd)
{
    if (sd)
        one_stopped(sd, 0, NULL);
}

static void cleanup_done(struct pool_job *job)
{
    struct cleanup *cl = (struct cleanup *)job;
    struct ctr_run *run = cl->run;
    struct container *c = run->c;
    struct exec_env *env = run->env;
    struct ctr_shutdown *sd = shutdown_hold(env); /* till its --rm removal is under way */
    c->run = NULL;
    c->state.status = CTR_EXITED;
    c->state.pid = 0;
    c->state.exit_code = run->status;
    c->state.oom_killed = cl->oom;
    set_time(&c->state.finished_at);
    if (run->net || c->net) /* its address back to the pool before anyone hears of its end */
        ctrnet_release(env, take_ptr(run->net), c);
    log_debug("container %.12s: exited with %d%s", c->id, run->status, cl->oom ? " (OOM)" : "");
    if (cl->oom)
        notify(env, c, CTR_EVENT_OOM, 0);
    notify(env, c, CTR_EVENT_DIE, run->status);
    bool auto_remove = json_get_bool(c->host_config, "AutoRemove", false);
    if (!auto_remove) /* a --rm container's last state is its removal: no fsyncs for it */
        ctr_save(c, NULL, NULL);
    struct stop_waiter *stoppers = run->stoppers;
    free(cl);
    run_free(run);
    attach_end_all(c);
    execproc_container_exited(env, c);
    wake_waiters(c, false);
    /* Stoppers last: one may remove the container (rm -f), whose rm -rf must come after the
     * state write above (ctr_retire waits for it), or start it again (restart). */
    for (struct stop_waiter *s = stoppers, *next; s; s = next) {
        next = s->next;
        reactor_timer_stop(env->r, &s->deadline);
        s->done(s->ctx, 0, NULL);
        free(s);
    }
    if (auto_remove && c->state.status != CTR_REMOVING && !c->starting && !c->run)
        remove_after_exit(env, c);
    shutdown_release(sd);
}

static void wake_followers(void *arg)
{
    struct container *c = arg;
    log_followers_wake(&c->followers);
}

static void log_closed(void *arg)
{
    struct ctr_run *run = arg;
    run->log = NULL;
    log_followers_finish(&run->c->followers); /* everything it printed is in the file */
    struct cleanup *cl = xcalloc(1, sizeof(*cl));
    *cl = (struct cleanup){.job = {.work = cleanup_work, .done = cleanup_done}, .run = run};
    run->net_shared = run->net && ctrnet_shared(run->env, run->c);
    pool_submit(run->env->pool, POOL_LATENCY, &cl->job);
}

/* Finished only when the process is gone and its output drained into the log. */
static void maybe_finish(struct ctr_run *run)
{
    if (!run->exited || run->open_outputs > 0 || run->finishing)
        return;
    run->finishing = true;
    reactor_io_close(run->out);
    reactor_io_close(run->err);
    reactor_io_close(run->tty);
    reactor_io_close(run->in);
    run->out = run->err = run->tty = run->in = NULL;
    if (run->log)
        log_writer_close(run->log, log_closed, run);
    else
        log_closed(run);
}

static void on_exit_ready(void *ctx, int revents)
{
    struct ctr_run *run = ctx;
    siginfo_t info = {0};
    if (revents < 0 ||
        waitid((idtype_t)P_PIDFD, (id_t)reactor_io_fd(run->pidfd), &info, WEXITED | WNOHANG) < 0 ||
        info.si_pid == 0) {
        if (revents >= 0 && errno != ECHILD) { /* not quite gone yet */
            reactor_poll(run->pidfd, POLLIN, on_exit_ready);
            return;
        }
    }
    run->status = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
    run->exited = true;
    reactor_timer_stop(run->env->r, &run->kill_timer);
    maybe_finish(run);
}

/* ---- start ---- */

struct start_job {
    struct pool_job job;
    struct exec_env *env;
    struct container *c;
    char *lowerdir, *top_link;
    ctr_done_fn done;
    void *ctx;
    int res, exit_code;
    struct berth_err *err;
    struct spawn_result sr;
    struct plan_stdio io;
    struct cgroup *cg;
    struct dev_set *devs;  /* NULL unless it maps devices or limits block I/O */
    struct ns_join *join;  /* other containers' namespaces it enters, its shared /dev/shm */
    struct ctr_vols *vols; /* its volumes (NULL: none) */
    struct ctrnet *net;    /* its endpoint on the default bridge (NULL: not on it) */
    struct buf link_hosts; /* its legacy links' /etc/hosts lines and variables */
    json_t *link_env;
    int log_fd;
    int64_t log_size;
    int64_t t_submit, t_begin, t_net, t_mount, t_cgroup, t_plan, t_end;
};

static char *read_host_file(const char *path)
{
    char *data = NULL;
    size_t len;
    return fs_read_file(path, &data, &len, NULL) == 0 ? data : xstrdup("");
}

/* /etc/hosts, /etc/hostname and /etc/resolv.conf as Docker writes them: for none loopback only,
 * for host the host's files, on the default bridge also the container's address and the host's
 * nameservers it can reach (net). With --network container:X it uses X's files, and writes
 * none. */
static int write_etc(const struct container *c, const struct ns_join *join,
                     const struct ctrnet *net, const struct buf *links, const char *host_gw,
                     struct berth_err **err)
{
    if (join && join->etc_dir)
        return 0;
    const char *mode = json_get_str(c->host_config, "NetworkMode");
    bool host = mode && strcmp(mode, "host") == 0;
    _cleanup_buf_ struct buf hosts = {0}, resolv = {0};
    _cleanup_free_ char *host_hosts = host ? read_host_file("/etc/hosts") : NULL;
    _cleanup_free_ char *host_resolv = read_host_file("/etc/resolv.conf");
    buf_puts(&hosts, host ? host_hosts
                          : "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                            "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\n"
                            "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
    size_t i;
    json_t *v;
    int r;
    json_array_foreach(json_object_get(c->host_config, "ExtraHosts"), i, v)
    {
        const char *e = json_string_value(v) ?: "", *colon = strchr(e, ':');
        /* create refuses a bad entry; one in a container.json of an older berthd fails here */
        if ((r = verify_extra_host(e, err)) < 0)
            return r;
        const char *ip = colon + 1;
        /* dockerd's host-gateway: its host-gateway-ips, by default the default bridge's address */
        if (!strcmp(ip, "host-gateway") && !(ip = host_gw))
            return berth_user_error(err, EINVAL, "unable to derive the IP value for host-gateway");
        buf_printf(&hosts, "%s\t%.*s\n", ip, (int)(colon - e), e);
    }
    if (links->len) /* after --add-host's, as dockerd adds them to its extra hosts */
        buf_append(&hosts, links->data, links->len);
    ctrnet_hosts_line(net, json_get_str(c->config, "Hostname"),
                      json_get_str(c->config, "Domainname"), &hosts);
    json_t *dns = json_object_get(c->host_config, "Dns");
    json_t *search = json_object_get(c->host_config, "DnsSearch");
    json_t *options = json_object_get(c->host_config, "DnsOptions");
    if (ctrnet_wants_resolver(net)) { /* the embedded DNS server, as dockerd's rewrite */
        _cleanup_free_ char *text = resolvconf_build_user(host_resolv, search, options);
        buf_puts(&resolv, text);
    } else if (net) {
        _cleanup_free_ char *text = resolvconf_build_bridge(host_resolv, dns, search, options);
        buf_puts(&resolv, text);
    } else if (json_array_size(dns) || json_array_size(search) || json_array_size(options)) {
        _cleanup_free_ char *text = resolvconf_build(host_resolv, dns, search, options);
        buf_puts(&resolv, text);
    } else {
        buf_puts(&resolv, host_resolv); /* nothing to change: the host's, as it is */
    }
    _cleanup_free_ char *hostname = xasprintf("%s\n", json_get_str(c->config, "Hostname"));
    const char *names[] = {"hosts", "hostname", "resolv.conf"};
    const char *texts[] = {hosts.data ? hosts.data : "", hostname, resolv.data ? resolv.data : ""};
    for (size_t k = 0; k < 3; k++) {
        _cleanup_free_ char *path = xasprintf("%s/%s", c->dir, names[k]);
        /* rebuilt each start */
        if ((r = fs_write_replace(path, texts[k], strlen(texts[k]), 0644, err)) < 0)
            return r;
    }
    return 0;
}

/* HostConfig.Init, or the daemon's "init" when the client left it unset (null). */
static bool wants_init(const struct container *c, const struct exec_env *env)
{
    json_t *v = json_object_get(c->host_config, "Init");
    return json_is_boolean(v) ? json_is_true(v) : env->init;
}

const char *ctr_cgroup_parent(const struct container *c, const struct exec_env *env)
{
    const char *parent = json_get_str(c->host_config, "CgroupParent");
    return parent && *parent ? parent : env->cgroup_parent;
}

/* Everything that can fail before the process exists, in order; undone on failure. */
static int prepare(struct start_job *j, struct spawn_plan *plan, struct plan_store **store,
                   char **merged)
{
    struct container *c = j->c;
    struct cgroup_limits limits;
    *merged = xasprintf("%s/merged", c->dir);
    int r = ctrnet_setup(j->net, c, &j->err);
    if (r < 0)
        return r;
    crashpoint("start-plumbed");
    j->t_net = mono_us();
    char gw[IPAM_ADDR_STRLEN];
    const char *host_gw = j->env->bridge ? ipam_addr_fmt(&j->env->bridge->gateway, gw) : NULL;
    if ((r = write_etc(c, j->join, j->net, &j->link_hosts, host_gw, &j->err)) < 0)
        return r;
    if ((r = ns_shm_mount(j->join, &j->err)) < 0)
        return r;
    if (j->top_link) {
        r = rootfs_init_layer(layer_store_dir(j->env->layers), j->top_link, &j->err);
        if (r < 0)
            return r;
    }
    if ((r = rootfs_mount(c->dir, layer_store_dir(j->env->layers), j->lowerdir, &j->err)) < 0)
        return r;
    crashpoint("start-mounted");
    j->t_mount = mono_us();
    if ((r = ctr_volumes_setup(j->vols, *merged, &j->err)) < 0)
        return r;
    if ((r = dev_resolve(c->host_config, &j->devs, &j->err)) < 0)
        return r;
    plan_limits(c, j->devs, &limits);
    if ((r = cgroup_create(ctr_cgroup_parent(c, j->env), c->id, &limits, &j->cg, &j->err)) < 0)
        return r;
    crashpoint("start-cgroup");
    j->t_cgroup = mono_us();
    const char *init = NULL;
    /* as dockerd: no init in a PID namespace it shares (the host's or a container's) */
    bool want_init = wants_init(c, j->env) && ns_pid_private(c->host_config);
    if (want_init && !(init = plan_init_binary(j->env->init_path)))
        return berth_user_error(&j->err, ENOENT,
                                "failed to create task for container: exec: \"docker-init\": "
                                "executable file not found in $PATH (install Debian's tini or "
                                "set init-path in daemon.json)");
    r = plan_build(c,
                   &(struct plan_inputs){.rootfs = *merged,
                                         .init = init,
                                         .cg = j->cg,
                                         .devs = j->devs,
                                         .join = j->join,
                                         .net = j->net,
                                         .link_env = j->link_env},
                   plan, store, &j->err);
    if (r < 0)
        return r;
    if ((r = plan_stdio(c, &j->io, &j->err)) < 0)
        return r;
    if (log_config_enabled(c->host_config)) {
        _cleanup_free_ char *log = ctr_log_path(c);
        if ((j->log_fd = log_file_open(log, &j->log_size, &j->err)) < 0)
            return j->log_fd;
    }
    j->t_plan = mono_us();
    return 0;
}

static void undo(struct start_job *j)
{
    plan_stdio_close(&j->io);
    if (j->log_fd >= 0)
        close(j->log_fd);
    j->log_fd = -1;
    if (j->cg)
        cgroup_destroy(j->cg, NULL);
    j->cg = NULL;
    ctr_volumes_teardown(j->vols);
    rootfs_unmount(j->c->dir, NULL);
    if (j->join && j->join->own_shm)
        ns_shm_unmount(j->c->dir);
    ctrnet_undo(j->net, j->c->id);
}

/* Prepare, then spawn the process from the plan. */
static int start_process(struct start_job *j, struct plan_store **store, char **merged)
{
    struct spawn_plan plan;
    int r = prepare(j, &plan, store, merged);
    if (r < 0)
        return r;
    memcpy(plan.stdio, j->io.child, sizeof(plan.stdio));
    r = spawn(&plan, j->cg, &j->sr, &j->exit_code, &j->err);
    plan_stdio_close_child(&j->io); /* the child has its copies */
    ctrnet_spawned(j->net);         /* and its netns */
    crashpoint("start-spawned");    /* it runs; its state is not saved yet */
    return r;
}

static void start_work(struct pool_job *job)
{
    struct start_job *j = (struct start_job *)job;
    struct plan_store *store = NULL;
    _cleanup_free_ char *merged = NULL;
    j->t_begin = j->t_net = mono_us();
    j->log_fd = -1;
    j->exit_code = 125;
    j->res = start_process(j, &store, &merged);
    j->t_end = mono_us();
    plan_store_free(store);
    dev_set_free(take_ptr(j->devs));
    if (j->res < 0)
        undo(j);
}

/* The start trace: where the time went, kept with the container and in the debug log. */
static json_t *trace(const struct start_job *j)
{
    json_t *t = json_pack("{sI}", "QueueUs", (json_int_t)(j->t_begin - j->t_submit));
    if (j->net) { /* the default bridge: its netns, then the veth plumbed into it */
        int64_t netns, plumb;
        ctrnet_times(j->net, &netns, &plumb);
        json_object_set_new(t, "NetnsUs", json_integer(netns));
        json_object_set_new(t, "PlumbUs", json_integer(plumb));
    }
    json_t *rest =
        json_pack("{sI sI sI sI sI sI}", "RootfsUs", (json_int_t)(j->t_mount - j->t_net),
                  "CgroupUs", (json_int_t)(j->t_cgroup - j->t_mount), "PlanUs",
                  (json_int_t)(j->t_plan - j->t_cgroup), "CloneUs", (json_int_t)j->sr.clone_us,
                  "ExecUs", (json_int_t)(j->sr.exec_us - j->sr.clone_us), "TotalUs",
                  (json_int_t)(j->t_end - j->t_submit));
    json_object_update(t, rest);
    json_decref(rest);
    return t;
}

static struct rio *watch(struct exec_env *env, int fd, struct ctr_run *run, reactor_recv_cb cb)
{
    if (fd < 0)
        return NULL;
    struct rio *io = reactor_io_open(env->r, fd, run);
    if (cb) {
        reactor_recv(io, cb);
        run->open_outputs++;
    }
    return io;
}

/* The process runs: install what the reactor watches, and hand it any early stdin. */
static void begin_run(struct start_job *j)
{
    struct container *c = j->c;
    struct ctr_run *run = xcalloc(1, sizeof(*run));
    *run = (struct ctr_run){.c = c, .env = j->env, .pid = j->sr.pid, .cg = take_ptr(j->cg)};
    if (j->log_fd >= 0) {
        _cleanup_free_ char *log = ctr_log_path(c);
        int64_t max_size;
        int max_file;
        log_config_limits(c->host_config, &max_size, &max_file);
        run->log = log_writer_new(j->env->r, j->env->pool, log, take_fd(&j->log_fd), j->log_size,
                                  max_size, max_file);
        _cleanup_free_ char *attrs = log_config_attrs(c);
        log_writer_set_attrs(run->log, attrs);
        log_writer_on_written(run->log, wake_followers, c);
    }
    run->pidfd = reactor_io_open(j->env->r, j->sr.pidfd, run);
    run->out = watch(j->env, take_fd(&j->io.out), run, on_stdout);
    run->err = watch(j->env, take_fd(&j->io.err), run, on_stderr);
    run->tty = watch(j->env, take_fd(&j->io.master), run, on_stdout);
    run->in = watch(j->env, take_fd(&j->io.in), run, NULL);
    if (j->join) {
        run->shm = take_ptr(j->join->shm);
        run->own_shm = j->join->own_shm;
    }
    run->vols = take_ptr(j->vols);
    run->net = take_ptr(j->net);
    ctrnet_record(run->net, j->env, c);
    c->run = run;
    reactor_poll(run->pidfd, POLLIN, on_exit_ready);
    buf_append(&run->stdin_q, c->stdin_pending.data, c->stdin_pending.len);
    buf_reset(&c->stdin_pending);
    run->stdin_closing = c->stdin_eof;
    c->stdin_eof = false;
    flush_stdin(run);
}

/* A start that was under way when the shutdown began (none begins after): what it started
 * stops now, so nothing of it outlives the daemon. */
static void stop_if_shutting_down(struct exec_env *env, struct container *c)
{
    struct ctr_shutdown *sd = env->shutdown;
    if (!sd)
        return;
    if (c->run)
        ctr_stop(env, c, sd->timeout, one_stopped, sd);
    else
        one_stopped(sd, 0, NULL);
}

static void start_done(struct pool_job *job)
{
    struct start_job *j = (struct start_job *)job;
    struct container *c = j->c;
    c->starting = false;
    free(c->state.error);
    c->state.error = NULL;
    if (j->res < 0) { /* it never ran: dockerd leaves it "created" with the words and code */
        c->state.exit_code = j->exit_code;
        c->state.error = xstrdup(j->err->msg);
        log_debug("container %.12s: start failed: %s", c->id, j->err->msg);
    } else {
        json_decref(c->trace);
        c->trace = trace(j); /* before begin_run takes its network */
        begin_run(j);
        /* those linking to it follow its new address, as dockerd's hosts files do */
        ctrlinks_child_started(j->env, c, json_get_str(c->net, "IPAddress"));
        c->state.status = CTR_RUNNING;
        c->state.pid = j->sr.pid;
        c->state.exit_code = 0;
        c->state.oom_killed = false;
        set_time(&c->state.started_at);
        notify(j->env, c, CTR_EVENT_START, 0);
        _cleanup_free_ char *t = json_dumps(c->trace, JSON_COMPACT);
        log_debug("container %.12s: started pid %d, trace %s", c->id, j->sr.pid, t);
    }
    ctr_save(c, NULL, NULL);
    struct exec_env *env = j->env;
    bool failed = j->res < 0;
    j->done(j->ctx, j->res, j->err);
    berth_err_free(j->err);
    free(j->lowerdir);
    free(j->top_link);
    ns_join_free(j->join);
    ctr_vols_free(j->vols);
    ctrnet_release(env, take_ptr(j->net), NULL); /* a start that failed: its address back */
    buf_free(&j->link_hosts);
    json_decref(j->link_env);
    free(j);
    if (failed) {
        log_followers_finish(&c->followers); /* followers of a run that never happened */
        wake_waiters(c, false);              /* and waiters */
        if (json_get_bool(c->host_config, "AutoRemove", false)) /* as dockerd: --rm goes */
            remove_after_exit(env, c);
    }
    stop_if_shutting_down(env, c);
}

int ctr_start(struct exec_env *env, struct container *c, ctr_done_fn done, void *ctx,
              struct berth_err **err)
{
    if (c->run || c->state.status == CTR_RUNNING)
        return berth_user_error(err, EALREADY, "container %s is already running", c->id);
    if (c->state.status == CTR_REMOVING)
        return berth_user_error(err, EBUSY,
                                "container %s is marked for removal and cannot be "
                                "started",
                                c->id);
    if (c->starting)
        return berth_user_error(err, EBUSY, "container %s is already starting", c->id);
    if (c->fs_mounts) /* a second overlay on its upper dir would be undefined behaviour */
        return berth_user_error(err, EBUSY,
                                "container %s is busy: its files are being copied or "
                                "exported, try again",
                                c->id);
    if (env->shutdown) /* it would outlive the daemon's stop of every container */
        return berth_user_error(err, EAGAIN, "cannot start container %s: berthd is shutting down",
                                c->id);
    struct ctr_vols *vols; /* its volumes are looked up now, while none can go */
    int r = ctr_volumes_pin(env->volumes, c, &vols, err);
    if (r < 0)
        return r;
    struct start_job *j = xcalloc(1, sizeof(*j));
    *j = (struct start_job){.job = {.work = start_work, .done = start_done},
                            .env = env,
                            .c = c,
                            .done = done,
                            .ctx = ctx,
                            .io = PLAN_STDIO_NONE, /* undo() may run before plan_stdio */
                            .vols = vols,
                            .log_fd = -1};
    struct layer *top =
        c->image_chain && *c->image_chain ? layer_get(env->layers, c->image_chain) : NULL;
    if (c->image_chain && *c->image_chain && !top) {
        ctr_vols_free(j->vols);
        free(j);
        return berth_user_error(err, ENOENT, "the image layers of container %s are gone", c->id);
    }
    if (top) { /* the image's init layer on top of its layers */
        _cleanup_free_ char *layers = layer_lowerdir(env->layers, c->image_chain);
        j->top_link = xstrdup(top->link);
        j->lowerdir = xasprintf("%s/init:%s", top->link, layers);
    }
    /* the other containers' namespaces are looked up now, while they cannot change */
    int joined = ns_join_resolve(env->cs, c, &j->join, &j->err);
    if (joined == 0) /* the linked containers run (dockerd checks them first) */
        joined = ctrlinks_resolve(env, c, &j->link_hosts, &j->link_env, &j->err);
    if (joined == 0) /* its address is taken here, on the reactor: IPAM needs no lock */
        joined = ctrnet_prepare(env, c, &j->net, &j->err);
    c->starting = true; /* blocks a concurrent start or removal until the job is done */
    log_followers_open(&c->followers); /* logs -f from now on waits for this run's end */
    j->t_submit = mono_us();
    if (joined < 0) { /* refused: it ends as a start that failed (state, --rm, waiters) */
        j->res = joined;
        j->exit_code = 125;
        start_done(&j->job);
        return 0;
    }
    pool_submit(env->pool, POOL_LATENCY, &j->job);
    return 0;
}

/* ---- signals, stop, pause ---- */

static int send_signal(struct ctr_run *run, int sig)
{
    return syscall(SYS_pidfd_send_signal, reactor_io_fd(run->pidfd), sig, NULL, 0) < 0 ? -errno : 0;
}

static struct stop_waiter *add_stopper(struct ctr_run *run, ctr_done_fn done, void *ctx)
{
    struct stop_waiter *s = xcalloc(1, sizeof(*s));
    *s = (struct stop_waiter){.done = done, .ctx = ctx, .run = run, .next = run->stoppers};
    run->stoppers = s;
    return s;
}

#define KILL_WAIT_MS      10000 /* dockerd's: how long a SIGKILL may take to end a container */
#define KILL_LAST_WAIT_MS 2000  /* ... and after its second try */

/* A SIGKILL kill still waiting: once more, to every process of its cgroup (its process may be
 * gone while something holds its output open); then give up, in dockerd's words. */
static void on_kill_deadline(struct reactor_timer *t)
{
    struct stop_waiter *s = container_of(t, struct stop_waiter, deadline);
    struct ctr_run *run = s->run;
    if (!s->last_chance) {
        log_warn("container %.12s: still running %d s after SIGKILL: killing its cgroup",
                 run->c->id, KILL_WAIT_MS / 1000);
        s->last_chance = true;
        send_signal(run, SIGKILL);
        if (run->cg && !run->finishing) /* finishing: the cleanup job owns the cgroup */
            cgroup_kill_all(run->cg);
        reactor_timer_start(run->env->r, t, KILL_LAST_WAIT_MS);
        return;
    }
    for (struct stop_waiter **p = &run->stoppers; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    _cleanup_err_ struct berth_err *err = NULL;
    int r = berth_user_error(&err, ETIMEDOUT,
                             "tried to kill container, but did not receive an exit event");
    s->done(s->ctx, r, err);
    free(s);
}

/* As dockerd: a kill with the container's stop signal (any signal when it has none) or
 * SIGKILL is meant to end it, so a paused container is thawed to receive it. */
static bool kill_unpauses(const struct container *c, int sig)
{
    int stop_sig = verify_signal(json_get_str(c->config, "StopSignal"));
    return sig == SIGKILL || stop_sig <= 0 || stop_sig == sig;
}

int ctr_kill(struct exec_env *env, struct container *c, const char *signal, ctr_done_fn done,
             void *ctx, struct berth_err **err)
{
    int sig = signal && *signal ? verify_signal(signal) : SIGKILL;
    if (sig < 0)
        return berth_user_error(err, EINVAL, "invalid signal: %s", signal); /* moby's words */
    struct ctr_run *run = c->run;
    if (!run)
        return berth_user_error(err, EBUSY,
                                "cannot kill container: %s: container %s is not "
                                "running",
                                c->name, c->id);
    if (!run->exited) { /* exited: it is being finished, and will answer a SIGKILL below */
        int r = send_signal(run, sig);
        if (r < 0 && r != -ESRCH)
            return berth_error(err, -r, "kill container %s", c->id);
        if (r == 0)
            notify(env, c, CTR_EVENT_KILL, sig);
        if (c->state.status == CTR_PAUSED && kill_unpauses(c, sig))
            ctr_pause(env, c, false, NULL); /* after the signal, which it takes as it thaws */
    }
    if (sig != SIGKILL) {
        done(ctx, 0, NULL);
        return 0;
    }
    struct stop_waiter *s = add_stopper(run, done, ctx); /* answered by its end */
    s->deadline.fn = on_kill_deadline;
    reactor_timer_start(env->r, &s->deadline, KILL_WAIT_MS);
    return 0;
}

static void on_kill_timer(struct reactor_timer *t)
{
    struct ctr_run *run = container_of(t, struct ctr_run, kill_timer);
    log_debug("container %.12s: stop timeout: sending SIGKILL", run->c->id);
    send_signal(run, SIGKILL);
    notify(run->env, run->c, CTR_EVENT_KILL, SIGKILL);
}

void ctr_stop(struct exec_env *env, struct container *c, int timeout, ctr_done_fn done, void *ctx)
{
    ctr_stop_signal(env, c, timeout, 0, done, ctx);
}

void ctr_stop_signal(struct exec_env *env, struct container *c, int timeout, int signal,
                     ctr_done_fn done, void *ctx)
{
    struct ctr_run *run = c->run;
    if (!run) {
        if (done)
            done(ctx, 0, NULL);
        return;
    }
    if (done)
        add_stopper(run, done, ctx);
    if (timeout < 0)
        timeout = (int)json_get_int(c->config, "StopTimeout", 10);
    int sig = signal > 0 ? signal : verify_signal(json_get_str(c->config, "StopSignal"));
    if (c->state.status == CTR_PAUSED) /* a frozen process cannot act on a signal */
        ctr_pause(env, c, false, NULL);
    sig = timeout == 0 ? SIGKILL : (sig > 0 ? sig : SIGTERM);
    if (send_signal(run, sig) == 0)
        notify(env, c, CTR_EVENT_KILL, sig);
    run->kill_timer.fn = on_kill_timer;
    if (timeout > 0 && !run->kill_timer._heap_pos)
        reactor_timer_start(env->r, &run->kill_timer, (uint64_t)timeout * 1000);
}

/* Freezing is a cgroup write: quick enough to do here, and it must be done before replying. */
int ctr_pause(struct exec_env *env, struct container *c, bool pause, struct berth_err **err)
{
    (void)env;
    if (!c->run || !c->run->cg || c->run->exited) /* exited: its cgroup is the cleanup's */
        return berth_user_error(err, EBUSY, "Container %s is not running", c->id);
    if (pause && c->state.status == CTR_PAUSED)
        return berth_user_error(err, EBUSY, "Container %s is already paused", c->id);
    if (!pause && c->state.status != CTR_PAUSED)
        return berth_user_error(err, EBUSY, "Container %s is not paused", c->id);
    int r = cgroup_freeze(c->run->cg, pause, err);
    if (r < 0)
        return r;
    c->state.status = pause ? CTR_PAUSED : CTR_RUNNING;
    ctr_save(c, NULL, NULL);
    return 0;
}

/* ---- removal ---- */

struct removal {
    struct pool_job job;
    struct exec_env *env;
    struct ctr_shutdown *shutdown; /* held while it runs */
    struct container *c;
    bool volumes; /* its anonymous volumes go too (rm -v, --rm) */
    ctr_done_fn done;
    void *ctx;
    int res;
    struct berth_err *err;
};

static void removal_work(struct pool_job *job)
{
    struct removal *rm = (struct removal *)job;
    rootfs_unmount(rm->c->dir, NULL); /* in case a crash left it mounted */
    ns_shm_unmount(rm->c->dir);
    rm->res = layer_rm_tree(rm->c->dir, &rm->err);
}

static void removal_finish(void *arg)
{
    struct removal *rm = arg;
    if (rm->res == 0)
        notify(rm->env, rm->c, CTR_EVENT_DESTROY, 0);
    if (rm->done)
        rm->done(rm->ctx, rm->res, rm->err);
    else if (rm->res < 0)
        log_warn("container %.12s: %s", rm->c->id, rm->err->msg);
    ctr_free(rm->c);
    berth_err_free(rm->err);
    shutdown_release(rm->shutdown);
    free(rm);
}

/* Its files are gone: its volumes are given back (its anonymous ones removed with rm -v), and
 * only then is the removal done: a volume list after `docker rm -v` no longer shows them. */
static void removal_done(struct pool_job *job)
{
    struct removal *rm = (struct removal *)job;
    wake_waiters(rm->c, true);
    ctr_volumes_release(rm->env->volumes, rm->c, rm->volumes, removal_finish, rm);
}

static void submit_removal(void *arg)
{
    struct removal *rm = arg;
    pool_submit(rm->env->pool, POOL_BULK, &rm->job);
}

/* Out of the index at once (its name is free again), files removed in the bulk class. */
static void do_remove(struct exec_env *env, struct container *c, bool volumes, ctr_done_fn done,
                      void *ctx)
{
    c->state.status = CTR_REMOVING;
    attach_end_all(c);
    execproc_container_removed(env, c);
    ctr_remove(env->cs, c);
    struct removal *rm = xcalloc(1, sizeof(*rm));
    *rm = (struct removal){.job = {.work = removal_work, .done = removal_done},
                           .env = env,
                           .shutdown = shutdown_hold(env),
                           .c = c,
                           .volumes = volumes,
                           .done = done,
                           .ctx = ctx};
    ctr_retire(c, submit_removal, rm); /* no state write races the rm -rf */
}

struct remove_when_stopped {
    struct exec_env *env;
    struct container *c;
    bool volumes;
    ctr_done_fn done;
    void *ctx;
};

static void stopped_then_remove(void *arg, int res, const struct berth_err *err)
{
    struct remove_when_stopped *w = arg;
    (void)res, (void)err;
    do_remove(w->env, w->c, w->volumes, w->done, w->ctx);
    free(w);
}

int ctr_remove_async(struct exec_env *env, struct container *c, bool force, ctr_done_fn done,
                     void *ctx, struct berth_err **err)
{
    return ctr_remove_with_volumes(env, c, force, false, done, ctx, err);
}

int ctr_remove_with_volumes(struct exec_env *env, struct container *c, bool force, bool volumes,
                            ctr_done_fn done, void *ctx, struct berth_err **err)
{
    if (c->state.status == CTR_REMOVING)
        return berth_user_error(err, EBUSY, "removal of container %s is already in progress",
                                c->id);
    if (c->starting)
        return berth_user_error(err, EBUSY, "container %s is starting: try again", c->id);
    if (c->fs_holds) /* dockerd waits on the container's lock; berth says so instead */
        return berth_user_error(err, EBUSY,
                                "container %s is in use: a copy, commit, diff or export is "
                                "under way, try again",
                                c->id);
    if (c->run && !force)
        return berth_user_error(err, EBUSY,
                                "cannot remove container \"/%s\": container is "
                                "running: stop the container before removing or "
                                "force remove",
                                c->name);
    if (!c->run) {
        do_remove(env, c, volumes, done, ctx);
        return 0;
    }
    struct remove_when_stopped *w = xcalloc(1, sizeof(*w));
    *w = (struct remove_when_stopped){
        .env = env, .c = c, .volumes = volumes, .done = done, .ctx = ctx};
    ctr_stop(env, c, 0, stopped_then_remove, w); /* rm -f: SIGKILL at once */
    return 0;
}

/* --rm: dockerd removes its anonymous volumes with it. */
static void remove_after_exit(struct exec_env *env, struct container *c)
{
    do_remove(env, c, true, NULL, NULL);
}

/* What one container may have left on the host, copied so the pool job never reads the
 * container itself (the reactor may change or free it meanwhile). */
struct recover_item {
    char id[65];
    char *dir, *cgroup_parent;
};

struct ctr_recovery {
    struct recover_item *items;
    size_t n;
    char **stale_dirs; /* directories without a record: unmounted, then removed by the caller */
    size_t nstale;
};

/* --rm containers go at once, as dockerd removes them at start-up: out of the index now,
 * their files in a bulk job (which unmounts first); their cgroups are in the plan. */
static void remove_auto_removed(struct exec_env *env)
{
    struct container *c, **doomed = xcalloc(ctr_count(env->cs, -1) + 1, sizeof(*doomed));
    size_t n = 0;
    for (size_t i = 0; (c = ctr_next(env->cs, &i));)
        if (json_get_bool(c->host_config, "AutoRemove", false))
            doomed[n++] = c;
    for (size_t i = 0; i < n; i++) {
        log_info("start-up: removing --rm container %.12s", doomed[i]->id);
        ctr_remove_with_volumes(env, doomed[i], true, true, NULL, NULL, NULL);
    }
    free(doomed);
}

struct ctr_recovery *ctr_recover_plan(struct exec_env *env)
{
    struct ctr_recovery *rc = xcalloc(1, sizeof(*rc));
    struct container *c;
    rc->items = xcalloc(ctr_count(env->cs, -1) + 1, sizeof(*rc->items));
    for (size_t i = 0; (c = ctr_next(env->cs, &i));) {
        struct recover_item *it = &rc->items[rc->n++];
        memcpy(it->id, c->id, sizeof(it->id));
        it->dir = xstrdup(c->dir);
        it->cgroup_parent = xstrdup(ctr_cgroup_parent(c, env));
    }
    struct map stale = {0};
    ctr_store_take_stale(env->cs, &stale);
    rc->stale_dirs = xcalloc(stale.len + 1, sizeof(*rc->stale_dirs));
    const char *dir;
    for (size_t i = 0; map_next(&stale, &i, &dir, NULL);)
        rc->stale_dirs[rc->nstale++] = xstrdup(dir);
    map_free(&stale);
    remove_auto_removed(env);
    return rc;
}

/* Every container, whatever its record says: a crash during a start leaves one "created"
 * with its cgroup made and its rootfs mounted, and a child that outlived the daemon (it
 * re-parented before PDEATHSIG could reach it) is killed with its cgroup. Where nothing is
 * left this costs a few failing syscalls. */
void ctr_recover_host(struct ctr_recovery *rc)
{
    crashpoint("recovery-host");
    for (size_t i = 0; i < rc->n; i++) {
        struct container probe = {.dir = rc->items[i].dir};
        memcpy(probe.id, rc->items[i].id, sizeof(probe.id));
        release_host(&probe, cgroup_open(rc->items[i].cgroup_parent, rc->items[i].id), true);
    }
    for (size_t i = 0; i < rc->nstale; i++) {
        _cleanup_err_ struct berth_err *err = NULL;
        if (rootfs_unmount(rc->stale_dirs[i], &err) < 0)
            log_warn("start-up: %s", err->msg);
    }
}

void ctr_recover_finish(struct ctr_recovery *rc, struct map *trash)
{
    for (size_t i = 0; i < rc->nstale; i++) {
        map_put(trash, rc->stale_dirs[i], (void *)1);
        free(rc->stale_dirs[i]);
    }
    for (size_t i = 0; i < rc->n; i++) {
        free(rc->items[i].dir);
        free(rc->items[i].cgroup_parent);
    }
    free(rc->stale_dirs);
    free(rc->items);
    free(rc);
}

static void one_stopped(void *arg, int res, const struct berth_err *err)
{
    struct ctr_shutdown *sd = arg;
    (void)res, (void)err;
    if (--sd->pending == 0)
        sd->done(sd->arg); /* sd stays as env->shutdown: no start after this */
}

void ctr_stop_all(struct exec_env *env, int timeout, void (*done)(void *arg), void *arg)
{
    struct ctr_shutdown *sd = xcalloc(1, sizeof(*sd));
    *sd = (struct ctr_shutdown){.pending = 1, .timeout = timeout, .done = done, .arg = arg};
    env->shutdown = sd;
    struct container *c;
    for (size_t i = 0; (c = ctr_next(env->cs, &i));)
        if (c->run) {
            sd->pending++;
            ctr_stop(env, c, timeout, one_stopped, sd);
        } else if (c->starting) {
            sd->pending++; /* stopped as its start ends: see stop_if_shutting_down */
        }
    one_stopped(sd, 0, NULL);
}

void ctr_kill_all(struct exec_env *env)
{
    if (env->shutdown)
        env->shutdown->timeout = 0; /* starts still under way end in a SIGKILL too */
    struct container *c;
    for (size_t i = 0; (c = ctr_next(env->cs, &i));)
        if (c->run)
            ctr_stop(env, c, 0, NULL, NULL);
}

void ctr_shutdown_free(struct exec_env *env)
{
    free(take_ptr(env->shutdown));
}

struct ctrnet *ctr_run_net(const struct container *c)
{
    return c->run ? c->run->net : NULL;
}
