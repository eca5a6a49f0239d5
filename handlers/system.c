/* handlers/system.c — the system API group: /_ping, /version and /info, in the shapes the
 * docker CLI reads for `docker version` and `docker info`. */
#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "exec/plan.h"
#include "exec/verify.h"
#include "fs/backing.h"
#include "handlers/api.h"
#include "handlers/daemon.h"
#include "handlers/handlers.h"

void system_ping(struct api_req *a)
{
    http_conn_header(a->c, "Cache-Control", "no-cache, no-store, must-revalidate");
    http_conn_header(a->c, "Pragma", "no-cache");
    http_conn_header(a->c, "Docker-Experimental", "false");
    http_conn_header(a->c, "Swarm", "inactive");
    if (a->msg->method == HTTP_HEAD) {
        api_reply_raw(a, 200, "text/plain; charset=utf-8", NULL, 0);
        return;
    }
    api_reply_raw(a, 200, "text/plain; charset=utf-8", "OK", 2);
}

static json_t *version_json(const struct daemon *d)
{
    json_t *engine = json_pack("{ss ss s{ss ss ss ss ss ss ss ss ss}}", "Name", "Engine", "Version",
                               BERTH_VERSION, "Details", "ApiVersion", API_VERSION, "Arch",
                               d->host.arch, "BuildTime", BERTH_BUILD_TIME, "Experimental", "false",
                               "GitCommit", BERTH_COMMIT, "GoVersion", "", "KernelVersion",
                               d->host.kernel, "MinAPIVersion", API_MIN_VERSION, "Os", "linux");
    json_t *berth =
        json_pack("{ss ss s{ss ss}}", "Name", "berth", "Version", BERTH_VERSION, "Details",
                  "GitCommit", BERTH_COMMIT, "Reactor", reactor_backend_name(d->r));
    return json_pack("{s{ss} s[oo] ss ss ss ss ss ss ss ss ss}", "Platform", "Name", "berth",
                     "Components", engine, berth, "Version", BERTH_VERSION, "ApiVersion",
                     API_VERSION, "MinAPIVersion", API_MIN_VERSION, "GitCommit", BERTH_COMMIT,
                     "GoVersion", "", "Os", "linux", "Arch", d->host.arch, "KernelVersion",
                     d->host.kernel, "BuildTime", BERTH_BUILD_TIME);
}

/* Built once: jansson's packing and dumping were 90% of the request's instructions. */
void system_version(struct api_req *a)
{
    if (!a->d->version_body) {
        _cleanup_json_ json_t *v = version_json(a->d);
        a->d->version_body = json_dump_line(v, NULL);
    }
    api_reply_raw(a, 200, "application/json", a->d->version_body, strlen(a->d->version_body));
}

/* ---- /info ---- */

/* What /info reads from the host, gathered on a pool thread: it changes while berthd runs
 * (hostname, memory, CPUs, ip_forward) and the reads block. */
struct info_facts {
    struct host_info host;
    struct fs_backing backing;
    bool ip_forward;
    int nfd, nthreads;
    char *init; /* the binary --init runs, NULL when there is none */
};

/* Entries of a /proc/self directory (fds, tasks). */
static int count_entries(const char *path)
{
    _cleanup_closedir_ DIR *dir = opendir(path);
    int n = 0;
    for (struct dirent *e; dir && (e = readdir(dir));)
        n += e->d_name[0] != '.';
    return n;
}

static void info_work(struct api_task *t)
{
    struct info_facts *f = t->data;
    host_info_load(&f->host);
    fs_backing_probe(t->a->d->cfg.root, &f->backing);
    f->ip_forward = host_ipv4_forwarding();
    f->nfd = count_entries("/proc/self/fd");
    f->nthreads = count_entries("/proc/self/task");
    const char *init = plan_init_binary(t->a->d->exec.init_path);
    f->init = init ? xstrdup(init) : NULL;
}

static char *now_rfc3339(void)
{
    struct timespec ts;
    struct tm tm;
    char buf[64];
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, ".%09ld", ts.tv_nsec);
    strftime(buf + n, sizeof(buf) - n, "%z", &tm); /* +0100 → +01:00 below */
    size_t len = strlen(buf);
    if (len >= 5 && (buf[len - 5] == '+' || buf[len - 5] == '-')) {
        memmove(buf + len - 1, buf + len - 2, 3);
        buf[len - 2] = ':';
    }
    return xstrdup(buf);
}

static json_t *info_resources(const struct daemon *d, const struct info_facts *f)
{
    const struct cgroup_features *c = &d->cgroup;
    return json_pack("{sb sb sb sb sb sb sb sb sb sb}", "MemoryLimit", c->memory, "SwapLimit",
                     c->swap, "KernelMemoryTCP", c->kmem_tcp, "CpuCfsPeriod", c->cpu_cfs,
                     "CpuCfsQuota", c->cpu_cfs, "CPUShares", c->cpu_shares, "CPUSet", c->cpuset,
                     "PidsLimit", c->pids, "OomKillDisable", c->oom_kill_disable, "IPv4Forwarding",
                     f->ip_forward);
}

/* dockerd's warnings about missing cgroup features, those berth detects. */
static json_t *info_warnings(const struct daemon *d)
{
    const struct cgroup_features *c = &d->cgroup;
    const struct {
        bool missing;
        const char *words;
    } checks[] = {
        {!c->memory, "WARNING: No memory limit support"},
        {!c->swap, "WARNING: No swap limit support"},
        {!c->oom_kill_disable && c->version == 1, "WARNING: No oom kill disable support"},
        {!c->cpu_cfs, "WARNING: No cpu cfs quota support"},
        {!c->cpu_cfs, "WARNING: No cpu cfs period support"},
        {!c->cpu_shares, "WARNING: No cpu shares support"},
        {!c->cpuset, "WARNING: No cpuset support"},
    };
    json_t *w = json_array();
    for (size_t i = 0; i < ARRAY_SIZE(checks); i++)
        if (checks[i].missing)
            json_array_append_new(w, json_string(checks[i].words));
    return w;
}

/* "10.1.2.3/8" → "10.0.0.0/8", as Go's netip.Prefix.Masked() shows a CIDR; NULL when s is not a
 * CIDR (a host[:port] registry). */
static char *masked_cidr(const char *s)
{
    const char *slash = strchr(s, '/');
    unsigned char addr[16];
    char host[INET6_ADDRSTRLEN], out[INET6_ADDRSTRLEN];
    char *end;
    if (!slash || (size_t)(slash - s) >= sizeof(host))
        return NULL;
    memcpy(host, s, (size_t)(slash - s));
    host[slash - s] = '\0';
    int af = strchr(host, ':') ? AF_INET6 : AF_INET;
    long bits = strtol(slash + 1, &end, 10);
    if (inet_pton(af, host, addr) != 1 || *end || !slash[1] || bits < 0 ||
        bits > (af == AF_INET ? 32 : 128))
        return NULL;
    for (int i = 0; i < (af == AF_INET ? 4 : 16); i++) {
        int keep = (int)bits - i * 8;
        addr[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
    }
    inet_ntop(af, addr, out, sizeof(out));
    return xasprintf("%s/%ld", out, bits);
}

/* dockerd's ServiceConfig from daemon.json: registry-mirrors (a trailing slash added, duplicates
 * dropped) and insecure-registries, CIDRs beside loopback's and host[:port] entries as indexes
 * of their own. */
static json_t *info_registry(const struct daemon *d)
{
    const struct registry_config *rc = &d->regcfg;
    json_t *mirrors = json_array(), *cidrs = json_array(), *indexes = json_object();
    for (size_t i = 0; i < rc->nmirrors; i++) {
        size_t n = strlen(rc->mirrors[i]);
        json_t *m = json_sprintf("%.*s/", (int)(n && rc->mirrors[i][n - 1] == '/' ? n - 1 : n),
                                 rc->mirrors[i]);
        size_t k;
        json_t *have;
        bool dup = false;
        json_array_foreach(mirrors, k, have) dup |= json_equal(have, m);
        if (dup)
            json_decref(m);
        else
            json_array_append_new(mirrors, m);
    }
    const char *loopback[] = {"::1/128", "127.0.0.0/8"};
    for (size_t i = 0; i < rc->ninsecure + 2; i++) {
        const char *r = i < rc->ninsecure ? rc->insecure[i] : loopback[i - rc->ninsecure];
        const char *scheme = strstr(r, "://");
        if (scheme) /* dockerd drops http:// and https:// with a warning */
            r = scheme + 3;
        _cleanup_free_ char *cidr = masked_cidr(r);
        json_t *v = json_string(cidr ? cidr : r);
        size_t k;
        json_t *have;
        bool dup = false;
        json_array_foreach(cidrs, k, have) dup |= json_equal(have, v);
        if (cidr && !dup)
            json_array_append(cidrs, v);
        else if (!cidr)
            json_object_set_new(
                indexes, r,
                json_pack("{ss s[] sb sb}", "Name", r, "Mirrors", "Secure", 0, "Official", 0));
        json_decref(v);
    }
    json_object_set_new(indexes, "docker.io",
                        json_pack("{ss sO sb sb}", "Name", "docker.io", "Mirrors", mirrors,
                                  "Secure", 1, "Official", 1));
    return json_pack("{so so so}", "InsecureRegistryCIDRs", cidrs, "IndexConfigs", indexes,
                     "Mirrors", mirrors);
}

/* dockerd counts every container that is neither running nor paused as stopped. */
static json_t *info_engine(const struct daemon *d, const struct info_facts *f)
{
    _cleanup_free_ char *now = now_rfc3339();
    const struct fs_backing *b = &f->backing;
    int all = (int)ctr_count(d->cs, -1), running = (int)ctr_count(d->cs, CTR_RUNNING),
        paused = (int)ctr_count(d->cs, CTR_PAUSED);
    const char *log_driver =
        d->exec.log_driver && *d->exec.log_driver ? d->exec.log_driver : "json-file";
    /* Plugins: only what berth implements. Its overlay mounts never take userxattr (berthd runs
     * as root); its volume driver is dockerd's built-in local one; it has no authorization
     * plugins; its network drivers are bridge, host, ipvlan, macvlan and none (null). */
    return json_pack(
        "{ss si si si si si ss s[[ss][ss][ss][ss][ss]] ss s{s[s] s[sssss] s:n s[s]} sb si si ss ss "
        "ss ss si}",
        "ID", d->id, "Containers", all, "ContainersRunning", running, "ContainersPaused", paused,
        "ContainersStopped", all - running - paused, "Images", (int)image_count(d->images),
        "Driver", "overlay2", "DriverStatus", "Backing Filesystem", b->name, "Supports d_type",
        b->d_type ? "true" : "false", "Using metacopy", b->metacopy ? "true" : "false",
        "Native Overlay Diff", b->native_diff ? "true" : "false", "userxattr", "false",
        "DockerRootDir", d->cfg.root, "Plugins", "Volume", "local", "Network", "bridge", "host",
        "ipvlan", "macvlan", "null", "Authorization", "Log", "json-file", "Debug",
        log_get_level() >= LOG_DEBUG, "NFd", f->nfd, "NGoroutines", f->nthreads, "SystemTime", now,
        "LoggingDriver", log_driver, "CgroupDriver", "cgroupfs", "CgroupVersion",
        d->cgroup.version == 2 ? "2" : "1", "NEventsListener", (int)events_subscribers(d->events));
}

static json_t *info_host(const struct daemon *d, const struct info_facts *f)
{
    json_t *labels = json_object_get(d->cfg.file, "labels");
    return json_pack("{ss ss ss ss ss si sI ss ss ss ss so sb ss}", "KernelVersion", f->host.kernel,
                     "OperatingSystem", f->host.os_name, "OSVersion", f->host.os_version, "OSType",
                     "linux", "Architecture", f->host.machine, "NCPU", (int)f->host.ncpu,
                     "MemTotal", (json_int_t)f->host.mem_total, "IndexServerAddress",
                     "https://index.docker.io/v1/", "HttpProxy", "", "HttpsProxy", "", "NoProxy",
                     "", "Labels", json_is_array(labels) ? json_deep_copy(labels) : json_array(),
                     "ExperimentalBuild", 0, "Name", f->host.hostname);
}

static json_t *info_runtime(const struct daemon *d, const struct info_facts *f)
{
    const char *init = f->init ? strrchr(f->init, '/') : NULL;
    json_t *security = json_pack("[s]", "name=seccomp,profile=builtin");
    if (d->cgroup.version == 2)
        json_array_append_new(security, json_string("name=cgroupns"));
    json_t *runtimes = json_object();
    for (const char *const *r = verify_runtimes; *r; r++) /* every name is berthd itself */
        json_object_set_new(runtimes, *r, json_pack("{ss}", "path", "berthd"));
    return json_pack(
        "{ss so ss s{ss ss ss sb ss s:n} sb ss ss s{ss} s{ss} s{ss} so s[] s[] so s:n}",
        "ServerVersion", BERTH_VERSION, "Runtimes", runtimes, "DefaultRuntime",
        VERIFY_DEFAULT_RUNTIME, "Swarm", "NodeID", "", "NodeAddr", "", "LocalNodeState", "inactive",
        "ControlAvailable", 0, "Error", "", "RemoteManagers", "LiveRestoreEnabled", 0, "Isolation",
        "", "InitBinary", init ? init + 1 : "", "ContainerdCommit", "ID", "", "RuncCommit", "ID",
        "", "InitCommit", "ID", "", "SecurityOptions", security, "DefaultAddressPools",
        "CDISpecDirs", "Warnings", info_warnings(d), "GenericResources");
}

static void merge(json_t *into, json_t *part)
{
    json_object_update(into, part);
    json_decref(part);
}

static void info_done(struct api_task *t)
{
    struct info_facts *f = t->data;
    struct daemon *d = t->a->d;
    json_t *info = info_engine(d, f);
    merge(info, info_resources(d, f));
    merge(info, info_host(d, f));
    json_object_set_new(info, "RegistryConfig", info_registry(d));
    merge(info, info_runtime(d, f));
    host_info_free(&f->host);
    free(f->init);
    free(f);
    api_reply_json(t->a, 200, info);
}

void system_info(struct api_req *a)
{
    api_task_run(a, POOL_LATENCY, info_work, info_done, xcalloc(1, sizeof(struct info_facts)));
}
