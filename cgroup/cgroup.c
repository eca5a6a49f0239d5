/* cgroup/cgroup.c — detects the layout (unified v2 when ROOT/cgroup.controllers exists, else
 * v1, including the hybrid layout with an almost empty v2 mount) and drives it. v1 keeps one
 * directory per controller; v2 one directory for all. */
#include "cgroup/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "cgroup/devfilter.h"

static const char *root_dir = "/sys/fs/cgroup";

/* v1 controllers berth uses; a missing one is skipped (hosts differ). */
static const char *const v1_controllers[] = {"cpu",     "cpuacct", "cpuset", "memory", "pids",
                                             "freezer", "devices", "blkio",  NULL};

struct cgroup {
    int version;
    char *rel; /* "berth/<id>" relative to each hierarchy */
    int dirfd; /* v2 only */
};

void cgroup_set_root(const char *root)
{
    root_dir = root;
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static bool has_file(const char *dir, const char *file)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
    return exists(p);
}

static bool is_v2(void)
{
    _cleanup_free_ char *p = xasprintf("%s/cgroup.controllers", root_dir);
    return exists(p);
}

static bool v2_has(const char *controller)
{
    _cleanup_free_ char *p = xasprintf("%s/cgroup.controllers", root_dir);
    _cleanup_fclose_ FILE *f = fopen(p, "re");
    char word[64];
    while (f && fscanf(f, "%63s", word) == 1)
        if (strcmp(word, controller) == 0)
            return true;
    return false;
}

static bool v1_file(const char *ctrl, const char *file)
{
    _cleanup_free_ char *p = xasprintf("%s/%s/%s", root_dir, ctrl, file);
    return exists(p);
}

void cgroup_detect(struct cgroup_features *f)
{
    memset(f, 0, sizeof(*f));
    if (is_v2()) {
        f->version = 2;
        f->memory = f->swap = v2_has("memory");
        f->cpu_cfs = f->cpu_shares = v2_has("cpu");
        f->cpuset = v2_has("cpuset");
        f->pids = v2_has("pids");
        return;
    }
    f->version = 1;
    f->memory = v1_file("memory", "memory.limit_in_bytes");
    f->swap = v1_file("memory", "memory.memsw.limit_in_bytes");
    f->kmem_tcp = v1_file("memory", "memory.kmem.tcp.limit_in_bytes");
    f->oom_kill_disable = v1_file("memory", "memory.oom_control");
    f->cpu_cfs = v1_file("cpu", "cpu.cfs_quota_us");
    f->cpu_shares = v1_file("cpu", "cpu.shares");
    f->cpuset = v1_file("cpuset", "cpuset.cpus");
    f->pids = v1_file("pids", "pids.max");
}

static char *dir_of(const struct cgroup *cg, const char *ctrl)
{
    if (cg->version == 2 || !ctrl) /* v2: one tree for every controller */
        return xasprintf("%s/%s", root_dir, cg->rel);
    return xasprintf("%s/%s/%s", root_dir, ctrl, cg->rel);
}

char *cgroup_path(const struct cgroup *cg, const char *controller)
{
    return dir_of(cg, controller);
}

static int write_file(const char *dir, const char *file, const char *value, struct berth_err **err)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, value, strlen(value)) < 0)
        return berth_error(err, errno, "write %s to `%s`", value, path);
    return 0;
}

static int read_file(const char *dir, const char *file, char *buf, size_t len)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

/* v1 cpuset: a new directory starts with empty cpus and mems, which no task may join; copy
 * the parent's, level by level. */
static int cpuset_inherit(const char *dir, struct berth_err **err)
{
    _cleanup_free_ char *parent = xstrdup(dir);
    char *slash = strrchr(parent, '/');
    if (slash)
        *slash = '\0';
    char value[4096];
    for (const char *const *f = (const char *const[]){"cpuset.cpus", "cpuset.mems", NULL}; *f;
         f++) {
        char mine[16];
        if (read_file(dir, *f, mine, sizeof(mine)) == 0 && mine[0])
            continue;
        if (read_file(parent, *f, value, sizeof(value)) < 0)
            return berth_error(err, errno, "read `%s/%s`", parent, *f);
        int r = write_file(dir, *f, value, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* mkdir -p below the hierarchy root, fixing up cpuset on the way (v1). */
static int make_dirs(const char *base, const char *rel, bool cpuset, struct berth_err **err)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", base, rel);
    for (char *p = path + strlen(base) + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return berth_error(err, errno, "create cgroup `%s`", path);
        if (cpuset) {
            int r = cpuset_inherit(path, err);
            if (r < 0)
                return r;
        }
        *p = saved;
        if (!saved)
            return 0;
    }
}

static char *num(int64_t v)
{
    return xasprintf("%lld", (long long)v);
}

static int v1_memory(const char *dir, const struct cgroup_limits *l, struct berth_err **err)
{
    int r;
    if (l->memory > 0) {
        _cleanup_free_ char *v = num(l->memory);
        if ((r = write_file(dir, "memory.limit_in_bytes", v, err)) < 0)
            return r;
        int64_t swap = l->memory_swap == 0 ? 2 * l->memory : l->memory_swap;
        _cleanup_free_ char *sv = swap < 0 ? xstrdup("-1") : num(swap);
        _cleanup_free_ char *memsw = xasprintf("%s/memory.memsw.limit_in_bytes", dir);
        if (exists(memsw)) {
            if ((r = write_file(dir, "memory.memsw.limit_in_bytes", sv, err)) < 0)
                return r;
        }
    }
    if (l->memory_reservation > 0) {
        _cleanup_free_ char *v = num(l->memory_reservation);
        if ((r = write_file(dir, "memory.soft_limit_in_bytes", v, err)) < 0)
            return r;
    }
    if (l->memory_swappiness >= 0 && l->memory_swappiness <= 100) {
        _cleanup_free_ char *v = num(l->memory_swappiness);
        if ((r = write_file(dir, "memory.swappiness", v, err)) < 0)
            return r;
    }
    if (l->oom_kill_disable)
        return write_file(dir, "memory.oom_control", "1", err);
    return 0;
}

/* The real-time budget, period first (the runtime must fit in it). A new cgroup has none, and
 * the kernel refuses a runtime its parent cannot give (EINVAL; EBUSY on older kernels), which
 * dockerd leaves to the daemon's --cpu-rt-runtime: say so. */
static int v1_cpu_rt(const char *dir, const struct cgroup_limits *l, struct berth_err **err)
{
    _cleanup_free_ char *period = num(l->cpu_rt_period), *runtime = num(l->cpu_rt_runtime);
    int r = l->cpu_rt_period ? write_file(dir, "cpu.rt_period_us", period, err) : 0;
    if (r < 0 || !l->cpu_rt_runtime)
        return r;
    _cleanup_free_ char *path = xasprintf("%s/cpu.rt_runtime_us", dir);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0 && write(fd, runtime, strlen(runtime)) >= 0)
        return 0;
    if (fd >= 0 && (errno == EINVAL || errno == EBUSY))
        return berth_user_error(err, EINVAL,
                                "failed to write \"%s\": write %s: %s (the cgroup parent's "
                                "real-time runtime, its cpu.rt_runtime_us, must cover it: give it "
                                "some, as dockerd's --cpu-rt-runtime does)",
                                runtime, path,
                                errno == EBUSY ? "device or resource busy" : "invalid argument");
    return berth_error(err, errno, "write %s to `%s`", runtime, path);
}

/* The CFS period (the kernel's default 100 ms when none is given) and the quota in it: --cpus
 * is a quota over that period. */
static int64_t cpu_period(const struct cgroup_limits *l)
{
    return l->cpu_period > 0 ? l->cpu_period : 100000;
}

static int64_t cpu_quota(const struct cgroup_limits *l, int64_t period)
{
    return l->nano_cpus > 0 ? l->nano_cpus * period / 1000000000 : l->cpu_quota;
}

static int v1_cpu(const struct cgroup *cg, const struct cgroup_limits *l, struct berth_err **err)
{
    _cleanup_free_ char *cpu = dir_of(cg, "cpu");
    _cleanup_free_ char *cpuset = dir_of(cg, "cpuset");
    int64_t period = cpu_period(l), quota = cpu_quota(l, period);
    int r;
    if (l->cpu_shares > 0) {
        _cleanup_free_ char *v = num(l->cpu_shares);
        if ((r = write_file(cpu, "cpu.shares", v, err)) < 0)
            return r;
    }
    if (quota > 0 || l->cpu_period > 0) {
        _cleanup_free_ char *p = num(period), *q = num(quota > 0 ? quota : -1);
        if ((r = write_file(cpu, "cpu.cfs_period_us", p, err)) < 0)
            return r;
        if ((r = write_file(cpu, "cpu.cfs_quota_us", q, err)) < 0)
            return r;
    }
    if (l->cpuset_cpus && *l->cpuset_cpus) {
        if ((r = write_file(cpuset, "cpuset.cpus", l->cpuset_cpus, err)) < 0)
            return r;
    }
    if (l->cpuset_mems && *l->cpuset_mems) {
        if ((r = write_file(cpuset, "cpuset.mems", l->cpuset_mems, err)) < 0)
            return r;
    }
    if (l->cpu_rt_period || l->cpu_rt_runtime)
        return v1_cpu_rt(cpu, l, err);
    return 0;
}

/* A rule as devices.allow takes it: "c 1:3 rwm", "b *:* m", "a". */
static void rule_text(const struct cgroup_device_rule *d, char out[64])
{
    char major[24] = "*", minor[24] = "*";
    if (d->major >= 0)
        snprintf(major, sizeof(major), "%lld", (long long)d->major);
    if (d->minor >= 0)
        snprintf(minor, sizeof(minor), "%lld", (long long)d->minor);
    if (d->type == 'a')
        snprintf(out, 64, "a");
    else
        snprintf(out, 64, "%c %s:%s %.3s", d->type, major, minor, d->access);
}

/* Deny everything, then allow the container's list (all allow rules, so their order does not
 * matter: the kernel keeps their union). A new devices cgroup starts allowing everything, which
 * is what a privileged container keeps. */
static int v1_devices(const char *dir, const struct cgroup_limits *l, struct berth_err **err)
{
    if (l->privileged)
        return 0;
    int r = write_file(dir, "devices.deny", "a", err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < l->ndevices; i++) {
        char rule[64];
        rule_text(&l->devices[i], rule);
        if ((r = write_file(dir, "devices.allow", rule, err)) < 0)
            return r;
    }
    return 0;
}

static bool blkio_set(const struct cgroup_limits *l)
{
    size_t n = 0;
    for (int k = 0; k < CGROUP_BLKIO_KINDS; k++)
        n += l->nblkio[k];
    return l->blkio_weight > 0 || n > 0;
}

/* Per-device block I/O, one "MAJOR:MINOR VALUE" line per write; a file this host lacks is skipped
 * (create warned, as dockerd, that the limit is discarded). A value of 0 (the API's "remove the
 * limit") has nothing to remove in a new cgroup. */
static int v1_blkio(const char *dir, const struct cgroup_limits *l, struct berth_err **err)
{
    static const char *const files[CGROUP_BLKIO_KINDS] = {
        "blkio.weight_device", "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
        "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"};
    int r;
    if (l->blkio_weight > 0 && has_file(dir, "blkio.weight")) {
        _cleanup_free_ char *v = num(l->blkio_weight);
        if ((r = write_file(dir, "blkio.weight", v, err)) < 0)
            return r;
    }
    for (int k = 0; k < CGROUP_BLKIO_KINDS; k++) {
        for (size_t i = 0; i < l->nblkio[k] && has_file(dir, files[k]); i++) {
            const struct cgroup_blkio_device *d = &l->blkio[k][i];
            _cleanup_free_ char *v =
                xasprintf("%u:%u %llu", d->major, d->minor, (unsigned long long)d->value);
            if (!d->value)
                continue;
            if ((r = write_file(dir, files[k], v, err)) < 0)
                return r;
        }
    }
    return 0;
}

static int v1_limits(const struct cgroup *cg, const struct cgroup_limits *l, struct berth_err **err)
{
    _cleanup_free_ char *mem = dir_of(cg, "memory");
    _cleanup_free_ char *pids = dir_of(cg, "pids");
    _cleanup_free_ char *dev = dir_of(cg, "devices");
    _cleanup_free_ char *blkio = dir_of(cg, "blkio");
    int r = v1_memory(mem, l, err);
    if (r < 0)
        return r;
    if ((r = v1_cpu(cg, l, err)) < 0)
        return r;
    if (l->pids_limit > 0) {
        _cleanup_free_ char *v = num(l->pids_limit);
        if ((r = write_file(pids, "pids.max", v, err)) < 0)
            return r;
    }
    if (exists(dev)) {
        if ((r = v1_devices(dev, l, err)) < 0)
            return r;
    }
    if (blkio_set(l) && exists(blkio))
        return v1_blkio(blkio, l, err);
    return 0;
}

/* A weight of blkio's 10-1000 on io.weight's 1-10000 scale (runc's conversion). */
static uint64_t io_weight(uint64_t blkio)
{
    return 1 + (blkio - 10) * 9999 / 990;
}

/* A weight for the whole cgroup or one device: io.bfq.weight takes blkio's scale where the BFQ
 * scheduler is in use, else io.weight (as runc). */
static int v2_weight(const char *dir, const char *dev, uint64_t w, struct berth_err **err)
{
    _cleanup_free_ char *bfq = xasprintf("%s%s%llu", dev, *dev ? " " : "", (unsigned long long)w);
    _cleanup_free_ char *io =
        xasprintf("%s%s%llu", dev, *dev ? " " : "", (unsigned long long)io_weight(w));
    if (has_file(dir, "io.bfq.weight") && write_file(dir, "io.bfq.weight", bfq, NULL) == 0)
        return 0;
    return write_file(dir, "io.weight", io, err);
}

/* v2's io controller: weights, and io.max "MAJOR:MINOR rbps=N" for each throttle. Skipped when the
 * io controller is not there (create warned, as dockerd, that the limits are discarded). */
static int v2_io(const char *dir, const struct cgroup_limits *l, struct berth_err **err)
{
    static const char *const keys[CGROUP_BLKIO_KINDS] = {NULL, "rbps", "wbps", "riops", "wiops"};
    if (!blkio_set(l) || !has_file(dir, "io.max"))
        return 0;
    int r;
    if (l->blkio_weight > 0) {
        if ((r = v2_weight(dir, "", (uint64_t)l->blkio_weight, err)) < 0)
            return r;
    }
    for (size_t i = 0; i < l->nblkio[CGROUP_BLKIO_WEIGHT]; i++) {
        const struct cgroup_blkio_device *d = &l->blkio[CGROUP_BLKIO_WEIGHT][i];
        _cleanup_free_ char *dev = xasprintf("%u:%u", d->major, d->minor);
        if (!d->value) /* 0: no weight of its own, as a new cgroup has */
            continue;
        if ((r = v2_weight(dir, dev, d->value, err)) < 0)
            return r;
    }
    for (int k = CGROUP_BLKIO_READ_BPS; k < CGROUP_BLKIO_KINDS; k++) {
        for (size_t i = 0; i < l->nblkio[k]; i++) {
            const struct cgroup_blkio_device *d = &l->blkio[k][i];
            _cleanup_free_ char *v = xasprintf("%u:%u %s=%llu", d->major, d->minor, keys[k],
                                               (unsigned long long)d->value);
            if (!d->value) /* 0: no limit, as a new cgroup has */
                continue;
            if ((r = write_file(dir, "io.max", v, err)) < 0)
                return r;
        }
    }
    return 0;
}

/* v2 names and units: cpu.weight from shares (as runc converts), cpu.max "quota period". */
static int v2_limits(const struct cgroup *cg, const struct cgroup_limits *l, struct berth_err **err)
{
    _cleanup_free_ char *dir = dir_of(cg, NULL);
    int64_t period = cpu_period(l), quota = cpu_quota(l, period);
    int r;
    if (l->memory > 0) {
        _cleanup_free_ char *v = num(l->memory);
        int64_t swap = l->memory_swap == 0 ? l->memory : l->memory_swap - l->memory;
        _cleanup_free_ char *sv = l->memory_swap < 0 ? xstrdup("max") : num(swap);
        if ((r = write_file(dir, "memory.max", v, err)) < 0)
            return r;
        if ((r = write_file(dir, "memory.swap.max", sv, err)) < 0)
            return r;
    }
    if (l->memory_reservation > 0) {
        _cleanup_free_ char *v = num(l->memory_reservation);
        if ((r = write_file(dir, "memory.low", v, err)) < 0)
            return r;
    }
    if (l->cpu_shares > 0) {
        _cleanup_free_ char *v = num(1 + ((l->cpu_shares - 2) * 9999) / 262142);
        if ((r = write_file(dir, "cpu.weight", v, err)) < 0)
            return r;
    }
    if (quota > 0) {
        _cleanup_free_ char *v = xasprintf("%lld %lld", (long long)quota, (long long)period);
        if ((r = write_file(dir, "cpu.max", v, err)) < 0)
            return r;
    }
    if (l->cpuset_cpus && *l->cpuset_cpus) {
        if ((r = write_file(dir, "cpuset.cpus", l->cpuset_cpus, err)) < 0)
            return r;
    }
    if (l->pids_limit > 0) {
        _cleanup_free_ char *v = num(l->pids_limit);
        if ((r = write_file(dir, "pids.max", v, err)) < 0)
            return r;
    }
    if ((r = v2_io(dir, l, err)) < 0)
        return r;
    if (!l->privileged)
        return devfilter_attach(cg->dirfd, l->devices, l->ndevices, err);
    return 0;
}

/* v2 delegates controllers level by level through cgroup.subtree_control, from the root down
 * to the container's parent; a controller the host lacks is simply not enabled. */
static void v2_enable_controllers(const char *rel)
{
    static const char *const ctrls[] = {"+cpu", "+cpuset", "+memory", "+pids", "+io", NULL};
    _cleanup_buf_ struct buf dir = {0};
    buf_puts(&dir, root_dir);
    for (const char *p = rel;;) {
        for (const char *const *c = ctrls; *c; c++)
            write_file(dir.data, "cgroup.subtree_control", *c, NULL);
        size_t n = strcspn(p, "/");
        if (!p[n])
            return; /* not in the leaf: a cgroup with processes may not delegate */
        buf_printf(&dir, "/%.*s", (int)n, p);
        p += n + 1;
    }
}

static char *relative(const char *parent, const char *name)
{
    while (*parent == '/')
        parent++;
    size_t n = strlen(parent);
    while (n && parent[n - 1] == '/')
        n--;
    return n ? xasprintf("%.*s/%s", (int)n, parent, name) : xstrdup(name);
}

static int v2_create(struct cgroup *cg, const struct cgroup_limits *l, struct berth_err **err)
{
    v2_enable_controllers(cg->rel);
    int r = make_dirs(root_dir, cg->rel, false, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *dir = dir_of(cg, NULL);
    if ((cg->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return berth_error(err, errno, "open cgroup `%s`", dir);
    return v2_limits(cg, l, err);
}

static int v1_create(struct cgroup *cg, const struct cgroup_limits *l, struct berth_err **err)
{
    for (const char *const *c = v1_controllers; *c; c++) {
        _cleanup_free_ char *base = xasprintf("%s/%s", root_dir, *c);
        int r = exists(base) ? make_dirs(base, cg->rel, strcmp(*c, "cpuset") == 0, err) : 0;
        if (r < 0)
            return r;
    }
    return v1_limits(cg, l, err);
}

int cgroup_create(const char *parent, const char *name, const struct cgroup_limits *l,
                  struct cgroup **out, struct berth_err **err)
{
    struct cgroup *cg = xcalloc(1, sizeof(*cg));
    cg->version = is_v2() ? 2 : 1;
    cg->rel = relative(parent && *parent ? parent : "berth", name);
    cg->dirfd = -1;
    /* The steps return at their first failure; what they made is removed here, in one place. */
    int r = cg->version == 2 ? v2_create(cg, l, err) : v1_create(cg, l, err);
    if (r < 0) {
        cgroup_destroy(cg, NULL);
        return r;
    }
    *out = cg;
    return 0;
}

struct cgroup *cgroup_open(const char *parent, const char *name)
{
    struct cgroup *cg = xcalloc(1, sizeof(*cg));
    cg->version = is_v2() ? 2 : 1;
    cg->rel = relative(parent && *parent ? parent : "berth", name);
    cg->dirfd = -1;
    if (cg->version == 2) {
        _cleanup_free_ char *dir = dir_of(cg, NULL);
        cg->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    return cg;
}

struct cgroup *cgroup_dup(const struct cgroup *cg)
{
    struct cgroup *copy = xcalloc(1, sizeof(*copy));
    *copy = (struct cgroup){.version = cg->version, .rel = xstrdup(cg->rel), .dirfd = -1};
    return copy;
}

int cgroup_dir_fd(const struct cgroup *cg)
{
    return cg->version == 2 ? cg->dirfd : -1;
}

const char *const *cgroup_controllers(const struct cgroup *cg)
{
    return cg->version == 1 ? v1_controllers : NULL;
}

bool cgroup_unified(void)
{
    return is_v2();
}

bool cgroup_supports(const char *v1_controller, const char *file, const char *v2_controller)
{
    if (is_v2())
        return v2_controller && v2_has(v2_controller);
    return v1_file(v1_controller, file);
}

int cgroup_join_fds(const struct cgroup *cg, int fds[CGROUP_JOIN_MAX], struct berth_err **err)
{
    int n = 0;
    for (const char *const *c = v1_controllers; cg->version == 1 && *c; c++) {
        _cleanup_free_ char *dir = dir_of(cg, *c);
        _cleanup_free_ char *path = xasprintf("%s/tasks", dir);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && !exists(dir))
            continue; /* a controller this host lacks */
        if (fd < 0) {
            int e = errno;
            while (n > 0)
                close(fds[--n]);
            return berth_error(err, e, "open `%s`", path);
        }
        fds[n++] = fd;
    }
    return n;
}

/* ---- live updates (docker update) ---- */

static char *swap_text(int64_t swap, const char *unlimited)
{
    return swap < 0 ? xstrdup(unlimited) : num(swap);
}

/* v1 memory and swap in an order the kernel takes: memsw may never be below memory, so a swap
 * limit above the current memory limit (or none, -1) goes first, as runc orders them. */
static int v1_memory_update(const char *dir, const struct cgroup_limits *l, struct berth_err **err)
{
    _cleanup_free_ char *mem = l->memory > 0 ? num(l->memory) : NULL;
    bool memsw = l->memory_swap && has_file(dir, "memory.memsw.limit_in_bytes");
    _cleanup_free_ char *swap = memsw ? swap_text(l->memory_swap, "-1") : NULL;
    char cur[32] = "";
    bool swap_first = swap && (l->memory_swap < 0 ||
                               (read_file(dir, "memory.limit_in_bytes", cur, sizeof(cur)) == 0 &&
                                strtoull(cur, NULL, 10) < (unsigned long long)l->memory_swap));
    int r;
    if (swap_first && (r = write_file(dir, "memory.memsw.limit_in_bytes", swap, err)) < 0)
        return r;
    if (mem && (r = write_file(dir, "memory.limit_in_bytes", mem, err)) < 0)
        return r;
    if (swap && !swap_first && (r = write_file(dir, "memory.memsw.limit_in_bytes", swap, err)) < 0)
        return r;
    if (l->memory_reservation > 0) {
        _cleanup_free_ char *v = num(l->memory_reservation);
        return write_file(dir, "memory.soft_limit_in_bytes", v, err);
    }
    return 0;
}

static int pids_update(const char *dir, const struct cgroup_limits *l, struct berth_err **err)
{
    if (!l->pids_limit)
        return 0;
    _cleanup_free_ char *v = l->pids_limit < 0 ? xstrdup("max") : num(l->pids_limit);
    return write_file(dir, "pids.max", v, err);
}

static int v1_update(const struct cgroup *cg, const struct cgroup_limits *l, struct berth_err **err)
{
    _cleanup_free_ char *mem = dir_of(cg, "memory");
    _cleanup_free_ char *pids = dir_of(cg, "pids");
    _cleanup_free_ char *blkio = dir_of(cg, "blkio");
    int r = v1_memory_update(mem, l, err);
    if (r < 0)
        return r;
    if ((r = v1_cpu(cg, l, err)) < 0)
        return r;
    if ((r = pids_update(pids, l, err)) < 0)
        return r;
    if (l->blkio_weight > 0 && exists(blkio))
        return v1_blkio(blkio, l, err);
    return 0;
}

/* v2's files take each value on its own: memory.swap.max is the swap beyond memory (the
 * caller gives the memory limit with a swap limit), cpu.max "QUOTA PERIOD". */
static int v2_update(const struct cgroup *cg, const struct cgroup_limits *l, struct berth_err **err)
{
    _cleanup_free_ char *dir = dir_of(cg, NULL);
    int64_t period = cpu_period(l), quota = cpu_quota(l, period);
    int r;
    if (l->memory > 0) {
        _cleanup_free_ char *v = num(l->memory);
        if ((r = write_file(dir, "memory.max", v, err)) < 0)
            return r;
    }
    if (l->memory_swap) {
        _cleanup_free_ char *v = swap_text(l->memory_swap - l->memory, "max");
        if ((r = write_file(dir, "memory.swap.max", v, err)) < 0)
            return r;
    }
    if (l->memory_reservation > 0) {
        _cleanup_free_ char *v = num(l->memory_reservation);
        if ((r = write_file(dir, "memory.low", v, err)) < 0)
            return r;
    }
    if (l->cpu_shares > 0) {
        _cleanup_free_ char *v = num(1 + ((l->cpu_shares - 2) * 9999) / 262142);
        if ((r = write_file(dir, "cpu.weight", v, err)) < 0)
            return r;
    }
    if (quota > 0 || l->cpu_period > 0) {
        _cleanup_free_ char *v = quota > 0
                                     ? xasprintf("%lld %lld", (long long)quota, (long long)period)
                                     : xasprintf("max %lld", (long long)period);
        if ((r = write_file(dir, "cpu.max", v, err)) < 0)
            return r;
    }
    const char *sets[][2] = {{"cpuset.cpus", l->cpuset_cpus}, {"cpuset.mems", l->cpuset_mems}};
    for (size_t i = 0; i < 2; i++) {
        if (sets[i][1] && *sets[i][1] && (r = write_file(dir, sets[i][0], sets[i][1], err)) < 0)
            return r;
    }
    if ((r = pids_update(dir, l, err)) < 0)
        return r;
    if (l->blkio_weight > 0 && has_file(dir, "io.max"))
        return v2_weight(dir, "", (uint64_t)l->blkio_weight, err);
    return 0;
}

int cgroup_update(const struct cgroup *cg, const struct cgroup_limits *l, struct berth_err **err)
{
    return cg->version == 2 ? v2_update(cg, l, err) : v1_update(cg, l, err);
}

/* "oom_kill N" in memory.oom_control (v1, kernel 4.13+) or memory.events (v2). */
bool cgroup_oom_killed(const struct cgroup *cg)
{
    _cleanup_free_ char *dir = dir_of(cg, "memory");
    _cleanup_free_ char *path =
        xasprintf("%s/%s", dir, cg->version == 2 ? "memory.events" : "memory.oom_control");
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    char key[64];
    long long v;
    while (f && fscanf(f, "%63s %lld", key, &v) == 2)
        if (strcmp(key, "oom_kill") == 0 && v > 0)
            return true;
    return false;
}

int cgroup_freeze(const struct cgroup *cg, bool frozen, struct berth_err **err)
{
    _cleanup_free_ char *dir = dir_of(cg, "freezer");
    if (cg->version == 2)
        return write_file(dir, "cgroup.freeze", frozen ? "1" : "0", err);
    return write_file(dir, "freezer.state", frozen ? "FROZEN" : "THAWED", err);
}

void cgroup_kill_all(const struct cgroup *cg)
{
    _cleanup_free_ char *dir = dir_of(cg, cg->version == 2 ? NULL : "pids");
    if (cg->version == 2 && write_file(dir, "cgroup.kill", "1", NULL) == 0)
        return;
    _cleanup_free_ char *path = xasprintf("%s/cgroup.procs", dir);
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    int pid;
    while (f && fscanf(f, "%d", &pid) == 1)
        kill(pid, SIGKILL);
}

/* rmdir fails with EBUSY while exiting tasks still count: retry for a moment. */
static int remove_dir(const char *dir, struct berth_err **err)
{
    for (int i = 0; i < 50; i++) {
        if (rmdir(dir) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY)
            break;
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    return berth_error(err, errno, "remove cgroup `%s`", dir);
}

int cgroup_destroy(struct cgroup *cg, struct berth_err **err)
{
    int r = 0;
    if (cg->version == 2) {
        _cleanup_free_ char *dir = dir_of(cg, NULL);
        r = remove_dir(dir, err);
    }
    for (const char *const *c = v1_controllers; cg->version == 1 && *c; c++) {
        _cleanup_free_ char *dir = dir_of(cg, *c);
        if (exists(dir) && remove_dir(dir, r < 0 ? NULL : err) < 0)
            r = -1;
    }
    cgroup_free(cg);
    return r;
}

void cgroup_free(struct cgroup *cg)
{
    if (!cg)
        return;
    if (cg->dirfd >= 0)
        close(cg->dirfd);
    free(cg->rel);
    free(cg);
}

/* ---- --cpuset-cpus / --cpuset-mems checks at create ---- */

#define CPUSET_MAX 4096

/* Go's parsers.ParseUintList: "0-2,5"; false for anything else. Sets bits below CPUSET_MAX,
 * and *over when an id is at or past it (no host has such a CPU or node). */
static bool parse_list(const char *s, uint64_t *bits, bool *over)
{
    memset(bits, 0, CPUSET_MAX / 8);
    *over = false;
    for (const char *p = s;;) {
        char *end;
        if (*p < '0' || *p > '9')
            return false;
        unsigned long lo = strtoul(p, &end, 10), hi = lo;
        if (*end == '-') {
            if (end[1] < '0' || end[1] > '9')
                return false;
            hi = strtoul(end + 1, &end, 10);
        }
        if (hi < lo || (*end && *end != ','))
            return false;
        *over |= hi >= CPUSET_MAX;
        for (unsigned long i = lo; i <= hi && i < CPUSET_MAX; i++)
            bits[i / 64] |= 1ull << (i % 64);
        if (!*end)
            return true;
        p = end + 1;
    }
}

static int check_set(const char *want, const char *file, const char *what, const char *word,
                     struct berth_err **err)
{
    if (!want || !*want)
        return 0;
    uint64_t req[CPUSET_MAX / 64], avail[CPUSET_MAX / 64];
    bool over, unused;
    if (!parse_list(want, req, &over))
        return berth_user_error(err, EINVAL, "Invalid value %s for cpuset %s: invalid format: %s",
                                want, word, want);
    char have[1024] = "";
    _cleanup_free_ char *dir = is_v2() ? xstrdup(root_dir) : xasprintf("%s/cpuset", root_dir);
    if (read_file(dir, file, have, sizeof(have)) < 0 || !parse_list(have, avail, &unused))
        return 0; /* no cpuset controller to check against: the write at start will tell */
    for (size_t i = 0; i < CPUSET_MAX / 64; i++)
        over |= (req[i] & ~avail[i]) != 0;
    if (over)
        return berth_user_error(err, EINVAL,
                                "Requested %s are not available - requested %s, available: %s",
                                what, want, have);
    return 0;
}

/* Small pseudo-files of the cgroup root: quick enough for the create call itself. */
int cgroup_check_cpuset(const char *cpus, const char *mems, struct berth_err **err)
{
    bool v2 = is_v2();
    int r = check_set(cpus, v2 ? "cpuset.cpus.effective" : "cpuset.cpus", "CPUs", "cpus", err);
    return r < 0 ? r
                 : check_set(mems, v2 ? "cpuset.mems.effective" : "cpuset.mems", "memory nodes",
                             "mems", err);
}
