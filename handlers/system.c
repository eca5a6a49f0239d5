/* handlers/system.c — the system API group: /_ping, /version and /info, in the shapes the
 * docker CLI reads for `docker version` and `docker info`. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "exec/verify.h"
#include "handlers/api.h"
#include "handlers/daemon.h"

static void get_ping(struct api_req *a)
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
static void get_version(struct api_req *a)
{
    if (!a->d->version_body) {
        _cleanup_json_ json_t *v = version_json(a->d);
        a->d->version_body = json_dump_line(v, NULL);
    }
    api_reply_raw(a, 200, "application/json", a->d->version_body, strlen(a->d->version_body));
}

/* Entries of a /proc/self directory (fds, tasks): cheap procfs reads. */
static int count_entries(const char *path)
{
    _cleanup_closedir_ DIR *dir = opendir(path);
    int n = 0;
    for (struct dirent *e; dir && (e = readdir(dir));)
        n += e->d_name[0] != '.';
    return n;
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

static json_t *info_resources(const struct daemon *d)
{
    const struct cgroup_features *f = &d->cgroup;
    return json_pack("{sb sb sb sb sb sb sb sb sb sb}", "MemoryLimit", f->memory, "SwapLimit",
                     f->swap, "KernelMemoryTCP", f->kmem_tcp, "CpuCfsPeriod", f->cpu_cfs,
                     "CpuCfsQuota", f->cpu_cfs, "CPUShares", f->cpu_shares, "CPUSet", f->cpuset,
                     "PidsLimit", f->pids, "OomKillDisable", f->oom_kill_disable, "IPv4Forwarding",
                     true);
}

static json_t *info_registry(void)
{
    return json_pack("{s[ss] s{s{ss s[] sb sb}} s[]}", "InsecureRegistryCIDRs", "::1/128",
                     "127.0.0.0/8", "IndexConfigs", "docker.io", "Name", "docker.io", "Mirrors",
                     "Secure", 1, "Official", 1, "Mirrors");
}

static json_t *info_engine(const struct daemon *d)
{
    _cleanup_free_ char *now = now_rfc3339();
    return json_pack(
        "{ss si si si si si ss s[[ss][ss][ss][ss][ss]] ss s{s[s] s[sss] s:n s[s]} sb si si ss ss "
        "ss ss si}",
        "ID", d->id, "Containers", (int)ctr_count(d->cs, -1), "ContainersRunning",
        (int)ctr_count(d->cs, CTR_RUNNING), "ContainersPaused", (int)ctr_count(d->cs, CTR_PAUSED),
        "ContainersStopped", (int)(ctr_count(d->cs, CTR_EXITED) + ctr_count(d->cs, CTR_CREATED)),
        "Images", (int)image_count(d->images), "Driver", "overlay2", "DriverStatus",
        "Backing Filesystem", "extfs", "Supports d_type", "true", "Using metacopy", "false",
        "Native Overlay Diff", "true", "userxattr", "false", "DockerRootDir", d->cfg.root,
        "Plugins", "Volume", "local", "Network", "bridge", "host", "null", "Authorization", "Log",
        "json-file", "Debug", log_get_level() >= LOG_DEBUG, "NFd", count_entries("/proc/self/fd"),
        "NGoroutines", count_entries("/proc/self/task"), "SystemTime", now, "LoggingDriver",
        "json-file", "CgroupDriver", "cgroupfs", "CgroupVersion",
        d->cgroup.version == 2 ? "2" : "1", "NEventsListener", 0);
}

static json_t *info_host(const struct daemon *d)
{
    return json_pack("{ss ss ss ss ss si sI ss ss ss ss s[] sb ss}", "KernelVersion",
                     d->host.kernel, "OperatingSystem", d->host.os_name, "OSVersion",
                     d->host.os_version, "OSType", "linux", "Architecture", d->host.machine, "NCPU",
                     (int)d->host.ncpu, "MemTotal", (json_int_t)d->host.mem_total,
                     "IndexServerAddress", "https://index.docker.io/v1/", "HttpProxy", "",
                     "HttpsProxy", "", "NoProxy", "", "Labels", "ExperimentalBuild", 0, "Name",
                     d->host.hostname);
}

static json_t *info_runtime(const struct daemon *d)
{
    json_t *security = json_pack("[s]", "name=seccomp,profile=builtin");
    if (d->cgroup.version == 2)
        json_array_append_new(security, json_string("name=cgroupns"));
    json_t *runtimes = json_object();
    for (const char *const *r = verify_runtimes; *r; r++) /* every name is berthd itself */
        json_object_set_new(runtimes, *r, json_pack("{ss}", "path", "berthd"));
    return json_pack(
        "{ss so ss s{ss ss ss sb ss s:n} sb ss ss s{ss} s{ss} s{ss} so s[] s[] s[] s:n}",
        "ServerVersion", BERTH_VERSION, "Runtimes", runtimes, "DefaultRuntime",
        VERIFY_DEFAULT_RUNTIME, "Swarm", "NodeID", "", "NodeAddr", "", "LocalNodeState", "inactive",
        "ControlAvailable", 0, "Error", "", "RemoteManagers", "LiveRestoreEnabled", 0, "Isolation",
        "", "InitBinary", "", "ContainerdCommit", "ID", "", "RuncCommit", "ID", "", "InitCommit",
        "ID", "", "SecurityOptions", security, "DefaultAddressPools", "CDISpecDirs", "Warnings",
        "GenericResources");
}

static void merge(json_t *into, json_t *part)
{
    json_object_update(into, part);
    json_decref(part);
}

static void get_info(struct api_req *a)
{
    json_t *info = info_engine(a->d);
    merge(info, info_resources(a->d));
    merge(info, info_host(a->d));
    json_object_set_new(info, "RegistryConfig", info_registry());
    merge(info, info_runtime(a->d));
    api_reply_json(a, 200, info);
}

const struct route system_routes[] = {
    {"GET", "/_ping", get_ping, 0},
    {"HEAD", "/_ping", get_ping, 0},
    {"GET", "/version", get_version, 0},
    {"GET", "/info", get_info, 0},
};
const size_t system_routes_count = sizeof(system_routes) / sizeof(system_routes[0]);
