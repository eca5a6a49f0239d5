/* handlers/berthd.c — berthd's main: load the configuration, then start the engine as a
 * checklist of small steps, run the reactor until SIGTERM/SIGINT, and shut down cleanly. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/crashpoint.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "fs/atomic.h"
#include "fs/image_delete.h"
#include "exec/effective.h"
#include "exec/execproc.h"
#include "exec/logconfig.h"
#include "exec/namespaces.h"
#include "exec/volumes.h"
#include "handlers/api.h"
#include "handlers/daemon.h"
#include "net/network/dns.h"
#include "net/network/usernet.h"
#include "handlers/routes.h"
#include "handlers/recovery.h"

static int prepare_dirs(struct daemon *d, struct berth_err **err)
{
    int r = fs_mkdir_p(d->cfg.root, 0711, err);
    if (r < 0)
        return r;
    return fs_mkdir_p(d->cfg.exec_root, 0700, err);
}

/* The pid file is held with flock for the daemon's life: a second berthd on the same pid file
 * fails at once, and a crashed one leaves no stale lock behind. */
static int lock_pidfile(struct daemon *d, struct berth_err **err)
{
    const char *path = d->cfg.pidfile;
    _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return berth_error(err, errno, "open pid file `%s`", path);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        char pid[32] = "";
        (void)!pread(fd, pid, sizeof(pid) - 1, 0);
        pid[strcspn(pid, "\n")] = '\0';
        return berth_user_error(err, EEXIST,
                                "pid file `%s` is locked by a running berthd (pid %s): ensure "
                                "berthd is not running or use another --pidfile",
                                path, pid[0] ? pid : "?");
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        return berth_error(err, errno, "write pid file `%s`", path);
    d->pidfile_fd = take_fd(&fd);
    return 0;
}

static char *new_uuid(void)
{
    unsigned char b[16];
    _cleanup_close_ int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b))
        for (size_t i = 0; i < sizeof(b); i++)
            b[i] = (unsigned char)(rand() ^ getpid());
    b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
    b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
    return xasprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                     b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                     b[13], b[14], b[15]);
}

/* The engine ID survives restarts, as dockerd's does. */
static int load_engine_id(struct daemon *d, struct berth_err **err)
{
    _cleanup_free_ char *path = xasprintf("%s/engine-id", d->cfg.root);
    char *id = NULL;
    if (fs_read_file(path, &id, NULL, NULL) == 0 && strlen(id) >= 36) {
        id[strcspn(id, "\n")] = '\0';
        d->id = id;
        return 0;
    }
    free(id);
    d->id = new_uuid();
    return fs_write_atomic(path, d->id, strlen(d->id), 0600, err);
}

/* Raise the fd limit to the hard limit: each connection and container costs fds. */
static void raise_limits(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* Let the kernel's OOM killer prefer containers to the engine, as dockerd does. */
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (write(fd, "-500", 4) < 0)
            log_debug("cannot lower oom_score_adj: %s", strerror(errno));
        close(fd);
    }
}

static void all_stopped(void *arg)
{
    struct daemon *d = arg;
    reactor_stop(d->r);
}

static void on_signal(void *ctx, int revents)
{
    struct daemon *d = ctx;
    struct signalfd_siginfo si;
    if (revents < 0 || read(reactor_io_fd(d->signals), &si, sizeof(si)) != sizeof(si)) {
        reactor_poll(d->signals, POLLIN, on_signal);
        return;
    }
    log_info("Processing signal '%s'", strsignal((int)si.ssi_signo));
    reactor_poll(d->signals, POLLIN, on_signal);
    switch (++d->stop_signals) {
    case 1: /* as dockerd: containers stop with the engine, each given its own stop timeout */
        ctr_stop_all(&d->exec, -1, all_stopped, d);
        break;
    case 2: /* stop waiting for them: SIGKILL, and still clean up after them */
        log_info("second signal: killing the containers");
        ctr_kill_all(&d->exec);
        break;
    default: /* their mounts and cgroups are released at the next start */
        log_info("forcing shutdown without cleanup");
        reactor_stop(d->r);
    }
}

/* SIGINT and SIGTERM arrive through a signalfd on the reactor; no handler runs async. */
static int watch_signals(struct daemon *d, struct berth_err **err)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0)
        return berth_error(err, errno, "signalfd");
    d->signals = reactor_io_open(d->r, fd, d);
    return reactor_poll(d->signals, POLLIN, on_signal) < 0 ? berth_error(err, EIO, "watch signals")
                                                           : 0;
}

static unsigned max_downloads(const struct daemon *d)
{
    int64_t max = json_get_int(d->cfg.file, "max-concurrent-downloads", 3);
    return max > 0 ? (unsigned)max : 3;
}

/* Each layer a pull fetches at once is unpacked by a bulk worker for as long as it streams:
 * fewer workers than downloads leave a download waiting and a core idle while one syncs. */
static int bulk_workers(const struct daemon *d)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    return (int)(ncpu > (long)max_downloads(d) ? ncpu : (long)max_downloads(d));
}

static int start_reactor(struct daemon *d, struct berth_err **err)
{
    d->r = reactor_new(d->cfg.reactor, err);
    if (!d->r)
        return berth_error_wrap(err, "start reactor");
    log_info("reactor: using %s", reactor_backend_name(d->r));
    d->pool = pool_new(d->r, 0, bulk_workers(d));
    return 0;
}

static void build_router(struct daemon *d)
{
    size_t n;
    d->routes = api_routes_all(&n);
    d->router = router_new(d->routes, n);
}

/* A container holds the layers of its image, so they outlive a forced rmi of the image. */
static void hold_container_layers(struct daemon *d)
{
    struct container *c;
    for (size_t i = 0; (c = ctr_next(d->cs, &i));)
        for (struct layer *l = layer_get(d->layers, c->image_chain); l;
             l = l->parent[0] ? layer_get(d->layers, l->parent) : NULL)
            l->refs++;
}

/* image_delete's question: which container uses this image (and does it run)? */
static const char *image_user(void *arg, const char *image_id, bool *running)
{
    struct daemon *d = arg;
    struct container *c, *stopped = NULL;
    for (size_t i = 0; (c = ctr_next(d->cs, &i));) {
        if (strcmp(c->image_id, image_id) != 0)
            continue;
        if (c->run) {
            *running = true;
            return c->id;
        }
        stopped = c;
    }
    return stopped ? stopped->id : NULL;
}

static void start_exec(struct daemon *d)
{
    const char *parent = json_get_str(d->cfg.file, "cgroup-parent");
    d->exec = (struct exec_env){
        .r = d->r,
        .pool = d->pool,
        .cs = d->cs,
        .images = d->images,
        .layers = d->layers,
        .volumes = d->volumes,
        .cgroup_parent = parent && *parent ? parent : "berth",
        .log_driver = json_get_str(d->cfg.file, "log-driver"),
        .log_opts = json_object_get(d->cfg.file, "log-opts"),
        .init = json_get_bool(d->cfg.file, "init", false),
        .init_path = json_get_str(d->cfg.file, "init-path"),
        .ipc_mode = json_get_str(d->cfg.file, "default-ipc-mode"),
        .cgroupns_mode = json_get_str(d->cfg.file, "default-cgroupns-mode"),
        .notify = {.fn = events_on_container, .exec_die = events_on_exec_die, .arg = d->events},
        .default_bridge = !d->bridge_cfg.disabled}; /* .bridge: made by handlers/recovery.c */
    ctr_network_default_bridge(!d->bridge_cfg.disabled);
    _cleanup_free_ char *nets = xasprintf("%s/networks", d->cfg.root);
    d->exec.nets = usernets_new(nets);
    usernets_read(d->exec.nets); /* their bridges: handlers/recovery.c */
    events_watch_networks(d->events, d->exec.nets);
    d->image_users = (struct image_users){.fn = image_user, .arg = d};
}

/* daemon.json's list of strings under key, as a heap array. */
static char **string_list(const json_t *file, const char *key, size_t *n)
{
    json_t *list = json_object_get(file, key), *v;
    size_t i;
    char **out = xcalloc(json_array_size(list) + 1, sizeof(*out));
    *n = 0;
    json_array_foreach(list, i, v) if (json_is_string(v)) out[(*n)++] =
        xstrdup(json_string_value(v));
    return out;
}

/* The registry client and the shared download manager, from daemon.json's registry keys. */
static void start_registry_client(struct daemon *d)
{
    const json_t *f = d->cfg.file;
    d->regcfg.insecure = string_list(f, "insecure-registries", &d->regcfg.ninsecure);
    d->regcfg.mirrors = string_list(f, "registry-mirrors", &d->regcfg.nmirrors);
    struct hclient_opts o = {.connect_timeout_ms = 30000,
                             .io_timeout_ms = 60000,
                             .certs_dir = d->cfg.certs_dir,
                             .system_ca_file = "/etc/ssl/certs/ca-certificates.crt"};
    d->hc = hclient_new(d->r, d->pool, &o);
    d->dl = (struct dl_env){
        .r = d->r, .pool = d->pool, .images = d->images, .max_concurrent = max_downloads(d)};
    d->pull_env = (struct pull_env){
        .hc = d->hc, .rc = &d->regcfg, .images = d->images, .pool = d->pool, .dl = &d->dl};
    d->push_env = (struct push_env){
        .r = d->r, .hc = d->hc, .rc = &d->regcfg, .images = d->images, .pool = d->pool};
}

static void stop_registry_client(struct daemon *d)
{
    hclient_free(d->hc);
    map_free(&d->dl.active);
    for (size_t i = 0; i < d->regcfg.ninsecure; i++)
        free(d->regcfg.insecure[i]);
    for (size_t i = 0; i < d->regcfg.nmirrors; i++)
        free(d->regcfg.mirrors[i]);
    free(d->regcfg.insecure);
    free(d->regcfg.mirrors);
}

static int open_each_store(struct daemon *d, struct berth_err **err)
{
    int r = store_open(d->cfg.root, &d->blobs, err);
    if (r < 0)
        return r;
    r = layer_store_open(d->cfg.root, &d->layers, err);
    if (r < 0)
        return r;
    r = image_store_open(d->cfg.root, d->blobs, d->layers, d->pool, &d->images, err);
    if (r < 0)
        return r;
    r = ctr_store_open(d->cfg.root, d->pool, &d->cs, err);
    if (r < 0)
        return r;
    r = volume_store_open(d->cfg.root, d->pool, &d->volumes, err);
    if (r < 0)
        return r;
    ctr_volumes_ref_all(d->volumes, d->cs); /* which volume each container uses */
    return 0;
}

static int open_stores(struct daemon *d, struct berth_err **err)
{
    /* a store opened before the failure is closed by daemon_stop */
    if (open_each_store(d, err) < 0)
        return berth_error_wrap(err, "open the store in `%s`", d->cfg.root);
    hold_container_layers(d);
    log_info("store: %zu images", image_count(d->images));
    return 0;
}

/* Before anything emits: the start-up's own removals (--rm containers) are events too. */
static int open_events(struct daemon *d, struct berth_err **err)
{
    _cleanup_free_ char *dir = xasprintf("%s/events", d->cfg.root);
    int r = events_open(d->r, d->pool, dir, d->id, &d->events, err);
    if (r == 0)
        volume_store_notify(d->volumes, events_on_volume, d->events);
    return r;
}

static int start_api(struct daemon *d, struct berth_err **err)
{
    struct http_server_opts o = {
        .limits = {.max_header_bytes = 64 * 1024, .max_headers = 100, .max_body = 64 << 20},
        .request_timeout_ms = d->cfg.request_timeout_ms,
        .idle_timeout_ms = d->cfg.idle_timeout_ms,
        /* Far above what clients keep (Go's transport 2 idle per host, docker-py 10, compose a
         * few dozen), and above the 200 that tests/integration/05 opens at once; one process
         * holding more loses its idle ones, never a busy one. The server-wide cap is derived
         * from RLIMIT_NOFILE, which raise_limits() set before. */
        .max_peer_conns = 256,
        .handler = api_serve,
        .app = d,
        .stream_body = api_streams_body,
    };
    d->http = http_server_new(d->r, &o);
    for (size_t i = 0; i < d->cfg.nhosts; i++) {
        int r = http_server_listen_unix(d->http, d->cfg.hosts[i], err);
        if (r < 0)
            return r;
        log_info("API listen on %s", d->cfg.hosts[i]);
    }
    return 0;
}

static int daemon_start(struct daemon *d, struct berth_err **err)
{
    int r = log_config_check(json_get_str(d->cfg.file, "log-driver"),
                             json_object_get(d->cfg.file, "log-opts"), err);
    if (r < 0)
        return r;
    if ((r = ns_check_defaults(d->cfg.file, err)) < 0)
        return r;
    if ((r = netbr_config_parse(d->cfg.file, &d->bridge_cfg, err)) < 0)
        return r;
    if ((r = prepare_dirs(d, err)) < 0)
        return r;
    if ((r = lock_pidfile(d, err)) < 0)
        return r;
    if ((r = load_engine_id(d, err)) < 0)
        return r;
    raise_limits();
    d->started = time_format_rfc3339(time_now_ns());
    host_info_load(&d->host);
    cgroup_detect(&d->cgroup);
    if ((r = start_reactor(d, err)) < 0)
        return r;
    if ((r = watch_signals(d, err)) < 0)
        return r;
    if ((r = open_stores(d, err)) < 0)
        return r;
    if ((r = open_events(d, err)) < 0)
        return r;
    start_registry_client(d);
    start_exec(d);
    recovery_prepare(d);
    build_router(d);
    if ((r = start_api(d, err)) < 0)
        return r;
    recovery_start(d); /* what a crash left is reconciled while the API serves */
    log_info("berthd %s started (root %s, exec-root %s, cgroup v%d)", BERTH_VERSION, d->cfg.root,
             d->cfg.exec_root, d->cgroup.version);
    return 0;
}

/* A pool job that never ends (blocked on a device or a remote that stopped answering) must
 * not keep berthd from stopping: after this long it exits without it. Every operation is
 * crash-safe, so what the job left half-done is finished or undone at the next start. */
#define SHUTDOWN_POOL_MS 5000

static void release_pidfile(struct daemon *d)
{
    if (d->pidfile_fd >= 0) {
        unlink(d->cfg.pidfile); /* still ours: we hold its lock */
        close(d->pidfile_fd);
        d->pidfile_fd = -1;
    }
}

static void daemon_stop(struct daemon *d)
{
    http_server_free(d->http); /* also removes the sockets */
    stop_registry_client(d);
    int stuck = pool_stop(d->pool, SHUTDOWN_POOL_MS);
    if (stuck > 0) { /* their jobs still use the stores: leave everything as it is */
        log_error("shutdown: %d pool jobs still running after %d s; exiting without them", stuck,
                  SHUTDOWN_POOL_MS / 1000);
        events_sync(d->events); /* its writer is a thread of its own: the log is complete */
        release_pidfile(d);
        return;
    }
    recovery_free(d);
    ctr_stats_free(d->stats);
    execproc_free_all(&d->exec);
    events_close(d->events); /* after the containers' last events */
    ctr_shutdown_free(&d->exec);
    ctr_store_close(d->cs);
    netbr_close(take_ptr(d->exec.bridge)); /* its link stays, as docker0 does */
    usernets_free(take_ptr(d->exec.nets));
    dns_server_free(take_ptr(d->exec.dns)); /* every container's server stopped with it */
    netbr_config_free(&d->bridge_cfg);
    volume_store_close(d->volumes);
    image_store_close(d->images);
    layer_store_close(d->layers);
    store_close(d->blobs);
    reactor_free(d->r);
    router_free(d->router);
    free(d->version_body);
    free(d->routes);
    release_pidfile(d);
    host_info_free(&d->host);
    free(d->id);
    free(d->started);
    config_free(&d->cfg);
}

/* Start the daemon and run it until it is told to stop; 0 after a clean shut-down. */
static int serve(struct daemon *d, struct berth_err **err)
{
    int r = daemon_start(d, err);
    if (r < 0) {
        log_error("failed to start daemon: %s", (*err)->msg);
        return r;
    }
    r = reactor_run(d->r);
    if (r < 0)
        return r;
    if (d->fatal) /* said in the log when it happened */
        return berth_user_error(err, EIO, "start-up failed");
    log_info("berthd shut down");
    return 0;
}

int main(int argc, char **argv)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct daemon d = {.pidfile_fd = -1};
    if (config_load(&d.cfg, argc, argv, &err) < 0) {
        fprintf(stderr, "berthd: %s\n", err->msg);
        config_free(&d.cfg);
        return 1;
    }
    if (d.cfg.show_help || d.cfg.show_version) {
        if (d.cfg.show_help)
            fputs(config_usage(), stdout);
        else
            printf("berth version %s, build %s\n", BERTH_VERSION, BERTH_COMMIT);
        config_free(&d.cfg);
        return 0;
    }
    log_set_level((enum log_level)log_level_parse(d.cfg.log_level));
    crashpoint_init();
    int r = serve(&d, &err);
    daemon_stop(&d); /* whatever happened: it also undoes a start that failed halfway */
    return r < 0 ? 1 : 0;
}
