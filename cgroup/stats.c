/* cgroup/stats.c — the counters `docker stats` shows, read as containerd's cgroups library
 * reads them for dockerd (the same files, the same keys, "max" read the same way), but with
 * files opened once per container and read with pread: a sample is about a dozen syscalls.
 * v1's CPU time comes from cpuacct.usage_percpu (in ns, exact) and cpuacct.stat (user and
 * system in USER_HZ ticks), as the library reads them; the total is the per-CPU values' sum,
 * which is what the kernel's cpuacct.usage adds up (the same counters), so one file less to
 * hold and read. cpuacct.usage_all would give it all at once, but its user and system columns
 * are tick-based on recent kernels and their sum is not cpuacct.usage. */
#include "cgroup/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "core/cleanup.h"
#include "core/macros.h"
#include "core/xalloc.h"

/* dockerd's statsV1 and statsV2 maps, sorted (Go's encoder writes a map's keys sorted). */
static const char *const mem_keys_v1[] = {"active_anon",
                                          "active_file",
                                          "cache",
                                          "dirty",
                                          "hierarchical_memory_limit",
                                          "hierarchical_memsw_limit",
                                          "inactive_anon",
                                          "inactive_file",
                                          "mapped_file",
                                          "pgfault",
                                          "pgmajfault",
                                          "pgpgin",
                                          "pgpgout",
                                          "rss",
                                          "rss_huge",
                                          "total_active_anon",
                                          "total_active_file",
                                          "total_cache",
                                          "total_dirty",
                                          "total_inactive_anon",
                                          "total_inactive_file",
                                          "total_mapped_file",
                                          "total_pgfault",
                                          "total_pgmajfault",
                                          "total_pgpgin",
                                          "total_pgpgout",
                                          "total_rss",
                                          "total_rss_huge",
                                          "total_unevictable",
                                          "total_writeback",
                                          "unevictable",
                                          "writeback",
                                          NULL};
static const char *const mem_keys_v2[] = {"active_anon",
                                          "active_file",
                                          "anon",
                                          "anon_thp",
                                          "file",
                                          "file_dirty",
                                          "file_mapped",
                                          "file_writeback",
                                          "inactive_anon",
                                          "inactive_file",
                                          "kernel_stack",
                                          "pgactivate",
                                          "pgdeactivate",
                                          "pgfault",
                                          "pglazyfree",
                                          "pglazyfreed",
                                          "pgmajfault",
                                          "pgrefill",
                                          "pgscan",
                                          "pgsteal",
                                          "shmem",
                                          "slab",
                                          "slab_reclaimable",
                                          "slab_unreclaimable",
                                          "sock",
                                          "thp_collapse_alloc",
                                          "thp_fault_alloc",
                                          "unevictable",
                                          "workingset_activate",
                                          "workingset_nodereclaim",
                                          "workingset_refault",
                                          NULL};

const char *const *cgroup_stats_mem_keys(int version)
{
    return version == 2 ? mem_keys_v2 : mem_keys_v1;
}

void cgroup_stats_free(struct cgroup_stats *s)
{
    free(take_ptr(s->percpu));
    free(take_ptr(s->io_bytes));
    free(take_ptr(s->io_ops));
    s->npercpu = s->nio_bytes = s->nio_ops = 0;
}

/* ---- parsers ---- */

/* A decimal at *p (skipping blanks), or 0; *p moves past it. */
static uint64_t number(const char **p)
{
    const char *s = *p + strspn(*p, " \t");
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        v = v * 10 + (uint64_t)(*s - '0');
    *p = s;
    return v;
}

static const char *next_line(const char *p)
{
    const char *nl = strchr(p, '\n');
    return nl ? nl + 1 : p + strlen(p);
}

/* "max" is max_value (v1's readers take it as 0, v2's as UINT64_MAX); a negative number 0, as
 * the library's parseUint. */
uint64_t cgroup_parse_u64(const char *text, uint64_t max_value)
{
    const char *p = text + strspn(text, " \t\n");
    if (strncmp(p, "max", 3) == 0)
        return max_value;
    if (*p == '-')
        return 0;
    return number(&p);
}

/* cpuacct.usage_percpu: one number per possible CPU, in nanoseconds. */
void cgroup_parse_percpu(const char *text, struct cgroup_stats *s)
{
    size_t n = 0, cap = 0;
    uint64_t *percpu = NULL;
    for (const char *p = text + strspn(text, " \t\n"); *p >= '0' && *p <= '9';
         p += strspn(p, " \t\n")) {
        if (n == cap)
            percpu = xrealloc(percpu, (cap = cap ? 2 * cap : 8) * sizeof(*percpu));
        percpu[n++] = number(&p);
    }
    free(s->percpu);
    s->percpu = percpu;
    s->npercpu = n;
}

/* KEY VALUE lines: calls fn for each. */
static void each_kv(const char *text,
                    void (*fn)(void *arg, const char *key, size_t klen, uint64_t v), void *arg)
{
    for (const char *p = text; *p; p = next_line(p)) {
        size_t klen = strcspn(p, " \n");
        if (p[klen] != ' ')
            continue;
        const char *q = p + klen;
        fn(arg, p, klen, number(&q));
    }
}

static bool key_is(const char *key, size_t klen, const char *want)
{
    return strlen(want) == klen && memcmp(key, want, klen) == 0;
}

/* v1: nr_periods, nr_throttled, throttled_time (ns); v2 adds usage_usec, user_usec,
 * system_usec and names the last throttled_usec. */
static void cpu_kv(void *arg, const char *key, size_t klen, uint64_t v)
{
    struct cgroup_stats *s = arg;
    if (key_is(key, klen, "nr_periods"))
        s->periods = v;
    else if (key_is(key, klen, "nr_throttled"))
        s->throttled_periods = v;
    else if (key_is(key, klen, "throttled_time"))
        s->throttled_time = v;
    else if (key_is(key, klen, "throttled_usec"))
        s->throttled_time = v * 1000;
    else if (key_is(key, klen, "usage_usec"))
        s->cpu_total = v * 1000;
    else if (key_is(key, klen, "user_usec"))
        s->cpu_user = v * 1000;
    else if (key_is(key, klen, "system_usec"))
        s->cpu_kernel = v * 1000;
}

/* v1 cpuacct.stat: "user TICKS", "system TICKS" in USER_HZ (100 a second, as the library
 * assumes). */
static void cpuacct_kv(void *arg, const char *key, size_t klen, uint64_t v)
{
    struct cgroup_stats *s = arg;
    if (key_is(key, klen, "user"))
        s->cpu_user = v * (1000000000ull / 100);
    else if (key_is(key, klen, "system"))
        s->cpu_kernel = v * (1000000000ull / 100);
}

void cgroup_parse_cpuacct_stat(const char *text, struct cgroup_stats *s)
{
    each_kv(text, cpuacct_kv, s);
}

void cgroup_parse_cpu_stat(const char *text, struct cgroup_stats *s)
{
    each_kv(text, cpu_kv, s);
}

/* A binary search in the sorted key list: memory.stat has 40-60 lines. */
static void mem_kv(void *arg, const char *key, size_t klen, uint64_t v)
{
    struct cgroup_stats *s = arg;
    const char *const *keys = cgroup_stats_mem_keys(s->version);
    size_t lo = 0, hi = 0;
    while (keys[hi])
        hi++;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strncmp(keys[mid], key, klen);
        if (c == 0 && keys[mid][klen] == '\0') {
            s->mem_stat[mid] = v;
            return;
        }
        if (c < 0)
            lo = mid + 1;
        else /* c == 0 too: keys[mid] is longer, so it sorts after key */
            hi = mid;
    }
}

void cgroup_parse_mem_stat(const char *text, struct cgroup_stats *s)
{
    memset(s->mem_stat, 0, sizeof(s->mem_stat));
    each_kv(text, mem_kv, s);
}

struct key_find {
    const char *want;
    uint64_t v;
};

static void find_kv(void *arg, const char *key, size_t klen, uint64_t v)
{
    struct key_find *k = arg;
    if (key_is(key, klen, k->want))
        k->v = v;
}

uint64_t cgroup_parse_key(const char *text, const char *key)
{
    struct key_find k = {.want = key};
    each_kv(text, find_kv, &k);
    return k.v;
}

static void add_entry(struct cgroup_io_entry **out, size_t *n, size_t *cap,
                      const struct cgroup_io_entry *e)
{
    if (*n == *cap)
        *out = xrealloc(*out, (*cap = *cap ? 2 * *cap : 8) * sizeof(**out));
    (*out)[(*n)++] = *e;
}

/* v1 throttle files: "8:0 Read 4096" per device and op, then "Total N", which the library
 * skips. */
size_t cgroup_parse_blkio(const char *text, struct cgroup_io_entry **out)
{
    size_t n = 0, cap = 0;
    *out = NULL;
    for (const char *p = text; *p; p = next_line(p)) {
        struct cgroup_io_entry e = {0};
        const char *q = p;
        e.major = number(&q);
        if (*q != ':')
            continue;
        q++;
        e.minor = number(&q);
        q += strspn(q, " ");
        size_t oplen = strcspn(q, " \n");
        if (!oplen || oplen >= sizeof(e.op) || q[oplen] != ' ')
            continue;
        memcpy(e.op, q, oplen);
        q += oplen;
        e.value = number(&q);
        add_entry(out, &n, &cap, &e);
    }
    return n;
}

/* v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device: dockerd shows
 * a "read" and a "write" entry of bytes for each. */
size_t cgroup_parse_io_stat(const char *text, struct cgroup_io_entry **out)
{
    size_t n = 0, cap = 0;
    *out = NULL;
    for (const char *p = text; *p; p = next_line(p)) {
        struct cgroup_io_entry r = {.op = "read"}, w = {.op = "write"};
        const char *q = p, *end = next_line(p);
        r.major = w.major = number(&q);
        if (*q != ':')
            continue;
        q++;
        r.minor = w.minor = number(&q);
        while (q < end && *q == ' ') {
            q++;
            size_t klen = strcspn(q, "= \n");
            const char *key = q;
            q += klen;
            if (*q != '=')
                continue;
            q++;
            uint64_t v = number(&q);
            if (key_is(key, klen, "rbytes"))
                r.value = v;
            else if (key_is(key, klen, "wbytes"))
                w.value = v;
        }
        add_entry(out, &n, &cap, &r);
        add_entry(out, &n, &cap, &w);
    }
    return n;
}

/* The "cpu " line's user nice system idle iowait irq softirq in USER_HZ ticks (100 a second,
 * what dockerd assumes too), and one "cpuN" line per online CPU. */
int cgroup_parse_proc_stat(const char *text, uint64_t *total_ns, uint32_t *online)
{
    *total_ns = 0;
    *online = 0;
    bool found = false;
    for (const char *p = text; strncmp(p, "cpu", 3) == 0; p = next_line(p)) {
        if (p[3] == ' ') {
            const char *q = p + 3;
            uint64_t ticks = 0;
            for (int i = 0; i < 7; i++)
                ticks += number(&q);
            *total_ns = ticks * (1000000000ull / 100);
            found = true;
        } else if (p[3] >= '0' && p[3] <= '9') {
            (*online)++;
        }
    }
    return found ? 0 : -EINVAL;
}

/* ---- the reader ---- */

struct stat_file {
    const char *controller; /* v1 */
    const char *name;
};

enum {
    V1_PERCPU,
    V1_CPUACCT_STAT,
    V1_CPU_STAT,
    V1_MEM_USAGE,
    V1_MEM_MAX,
    V1_MEM_LIMIT,
    V1_MEM_FAILCNT,
    V1_MEM_STAT,
    V1_PIDS_CUR,
    V1_PIDS_MAX,
    V1_BLK_BYTES,
    V1_BLK_OPS,
    V1_FILES,
    V1_CPU_FILES = V1_MEM_USAGE /* the CPU counters' files come first */
};
static const struct stat_file v1_files[V1_FILES] = {
    [V1_PERCPU] = {"cpuacct", "cpuacct.usage_percpu"},
    [V1_CPUACCT_STAT] = {"cpuacct", "cpuacct.stat"},
    [V1_CPU_STAT] = {"cpu", "cpu.stat"},
    [V1_MEM_USAGE] = {"memory", "memory.usage_in_bytes"},
    [V1_MEM_MAX] = {"memory", "memory.max_usage_in_bytes"},
    [V1_MEM_LIMIT] = {"memory", "memory.limit_in_bytes"},
    [V1_MEM_FAILCNT] = {"memory", "memory.failcnt"},
    [V1_MEM_STAT] = {"memory", "memory.stat"},
    [V1_PIDS_CUR] = {"pids", "pids.current"},
    [V1_PIDS_MAX] = {"pids", "pids.max"},
    [V1_BLK_BYTES] = {"blkio", "blkio.throttle.io_service_bytes"},
    [V1_BLK_OPS] = {"blkio", "blkio.throttle.io_serviced"},
};

enum {
    V2_CPU_STAT,
    V2_MEM_CUR,
    V2_MEM_MAX,
    V2_MEM_STAT,
    V2_MEM_EVENTS,
    V2_PIDS_CUR,
    V2_PIDS_MAX,
    V2_IO_STAT,
    V2_FILES,
    V2_CPU_FILES = V2_MEM_CUR
};
static const struct stat_file v2_files[V2_FILES] = {
    [V2_CPU_STAT] = {NULL, "cpu.stat"},        [V2_MEM_CUR] = {NULL, "memory.current"},
    [V2_MEM_MAX] = {NULL, "memory.max"},       [V2_MEM_STAT] = {NULL, "memory.stat"},
    [V2_MEM_EVENTS] = {NULL, "memory.events"}, [V2_PIDS_CUR] = {NULL, "pids.current"},
    [V2_PIDS_MAX] = {NULL, "pids.max"},        [V2_IO_STAT] = {NULL, "io.stat"},
};

struct cgroup_stats_reader {
    struct cgroup *cg; /* a copy of where it lives */
    int version;
    bool opened_cpu, opened_all; /* the CPU files; all of them */
    int fds[CGROUP_STATS_FDS_MAX];
};

struct cgroup_stats_reader *cgroup_stats_reader_new(const struct cgroup *cg)
{
    struct cgroup_stats_reader *r = xcalloc(1, sizeof(*r));
    r->cg = cgroup_dup(cg);
    r->version = cgroup_controllers(cg) ? 1 : 2;
    for (size_t i = 0; i < CGROUP_STATS_FDS_MAX; i++)
        r->fds[i] = -1;
    return r;
}

int cgroup_stats_reader_close(struct cgroup_stats_reader *r)
{
    int n = 0;
    for (size_t i = 0; i < CGROUP_STATS_FDS_MAX; i++)
        if (r->fds[i] >= 0) {
            close(r->fds[i]);
            r->fds[i] = -1;
            n++;
        }
    r->opened_cpu = r->opened_all = false;
    return n;
}

int cgroup_stats_reader_fds(const struct cgroup_stats_reader *r)
{
    int n = 0;
    for (size_t i = 0; i < CGROUP_STATS_FDS_MAX; i++)
        n += r->fds[i] >= 0;
    return n;
}

void cgroup_stats_reader_free(struct cgroup_stats_reader *r)
{
    if (!r)
        return;
    cgroup_stats_reader_close(r);
    cgroup_free(r->cg);
    free(r);
}

/* Every file of the CPU counters (the first ones of the list), or of all the counters, that
 * exists and is not open yet: a reader that only ever takes CPU samples (an earlier sample for
 * a CPU percentage) holds 4 files on v1, 1 on v2. ENOENT when none is there and the cgroup's
 * directory is gone. */
static int reader_open(struct cgroup_stats_reader *r, bool cpu_only)
{
    const struct stat_file *files = r->version == 2 ? v2_files : v1_files;
    size_t n = cpu_only ? (r->version == 2 ? V2_CPU_FILES : V1_CPU_FILES)
                        : (r->version == 2 ? V2_FILES : V1_FILES);
    int opened = 0;
    for (size_t i = 0; i < n; i++) {
        if (r->fds[i] >= 0)
            continue;
        _cleanup_free_ char *dir = cgroup_path(r->cg, files[i].controller);
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, files[i].name);
        r->fds[i] = open(path, O_RDONLY | O_CLOEXEC);
        opened += r->fds[i] >= 0;
    }
    _cleanup_free_ char *dir = cgroup_path(r->cg, r->version == 2 ? NULL : "memory");
    if (!opened && !cgroup_stats_reader_fds(r) && access(dir, F_OK) < 0)
        return -ENOENT;
    r->opened_cpu = true;
    r->opened_all = r->opened_all || !cpu_only;
    return 0;
}

/* The file's text (NUL-terminated) in buf; 0 when the host lacks the file. */
static ssize_t read_at(const struct cgroup_stats_reader *r, int which, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (r->fds[which] < 0)
        return 0;
    ssize_t n = pread(r->fds[which], buf, cap - 1, 0);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    return n;
}

#define READ_OR_FAIL(which)                                                                        \
    do {                                                                                           \
        ssize_t n_ = read_at(r, (which), buf, sizeof(buf));                                        \
        if (n_ < 0)                                                                                \
            return (int)n_;                                                                        \
    } while (0)

static int read_v1(struct cgroup_stats_reader *r, struct cgroup_stats *s, bool cpu_only)
{
    char buf[16384];
    READ_OR_FAIL(V1_PERCPU);
    cgroup_parse_percpu(buf, s);
    for (size_t i = 0; i < s->npercpu; i++)
        s->cpu_total += s->percpu[i];
    READ_OR_FAIL(V1_CPUACCT_STAT);
    cgroup_parse_cpuacct_stat(buf, s);
    READ_OR_FAIL(V1_CPU_STAT);
    cgroup_parse_cpu_stat(buf, s);
    if (cpu_only)
        return 0;
    static const int mem[] = {V1_MEM_USAGE, V1_MEM_MAX, V1_MEM_LIMIT, V1_MEM_FAILCNT};
    uint64_t *to[] = {&s->mem_usage, &s->mem_max_usage, &s->mem_limit, &s->mem_failcnt};
    for (size_t i = 0; i < ARRAY_SIZE(mem); i++) {
        READ_OR_FAIL(mem[i]);
        *to[i] = cgroup_parse_u64(buf, 0);
    }
    READ_OR_FAIL(V1_MEM_STAT);
    cgroup_parse_mem_stat(buf, s);
    s->has_memory = r->fds[V1_MEM_STAT] >= 0;
    READ_OR_FAIL(V1_PIDS_CUR);
    s->pids_current = cgroup_parse_u64(buf, 0);
    READ_OR_FAIL(V1_PIDS_MAX);
    s->pids_limit = cgroup_parse_u64(buf, 0);
    s->has_pids = r->fds[V1_PIDS_CUR] >= 0;
    READ_OR_FAIL(V1_BLK_BYTES);
    s->nio_bytes = cgroup_parse_blkio(buf, &s->io_bytes);
    READ_OR_FAIL(V1_BLK_OPS);
    s->nio_ops = cgroup_parse_blkio(buf, &s->io_ops);
    return 0;
}

static int read_v2(struct cgroup_stats_reader *r, struct cgroup_stats *s, bool cpu_only)
{
    char buf[16384];
    READ_OR_FAIL(V2_CPU_STAT);
    cgroup_parse_cpu_stat(buf, s);
    if (cpu_only)
        return 0;
    READ_OR_FAIL(V2_MEM_CUR);
    s->mem_usage = cgroup_parse_u64(buf, UINT64_MAX);
    READ_OR_FAIL(V2_MEM_MAX);
    s->mem_limit = cgroup_parse_u64(buf, UINT64_MAX);
    READ_OR_FAIL(V2_MEM_STAT);
    cgroup_parse_mem_stat(buf, s);
    s->has_memory = r->fds[V2_MEM_STAT] >= 0;
    READ_OR_FAIL(V2_MEM_EVENTS);
    s->mem_failcnt = cgroup_parse_key(buf, "oom"); /* dockerd's failcnt on v2 */
    READ_OR_FAIL(V2_PIDS_CUR);
    s->pids_current = cgroup_parse_u64(buf, UINT64_MAX);
    READ_OR_FAIL(V2_PIDS_MAX);
    s->pids_limit = cgroup_parse_u64(buf, UINT64_MAX);
    s->has_pids = r->fds[V2_PIDS_CUR] >= 0;
    READ_OR_FAIL(V2_IO_STAT);
    s->nio_bytes = cgroup_parse_io_stat(buf, &s->io_bytes);
    return 0;
}

int cgroup_stats_read(struct cgroup_stats_reader *r, struct cgroup_stats *out, bool cpu_only)
{
    memset(out, 0, sizeof(*out));
    out->version = r->version;
    int res = r->opened_all || (cpu_only && r->opened_cpu) ? 0 : reader_open(r, cpu_only);
    if (res < 0)
        return res;
    res = r->version == 2 ? read_v2(r, out, cpu_only) : read_v1(r, out, cpu_only);
    if (res < 0)
        cgroup_stats_free(out);
    return res;
}

int cgroup_host_cpu(int fd, uint64_t *total_ns, uint32_t *online)
{
    char buf[4096]; /* the cpu lines come first; the rest (interrupts) is not needed */
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    return cgroup_parse_proc_stat(buf, total_ns, online);
}

/* ---- processes ---- */

int cgroup_procs(const struct cgroup *cg, pid_t **pids, size_t *n, struct berth_err **err)
{
    static const char *const ctrls[] = {"pids", "memory", "cpu"};
    _cleanup_fclose_ FILE *f = NULL;
    _cleanup_free_ char *path = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(ctrls) && !f; i++) {
        _cleanup_free_ char *dir = cgroup_path(cg, ctrls[i]);
        free(path);
        path = xasprintf("%s/cgroup.procs", dir);
        f = fopen(path, "re");
        if (cgroup_controllers(cg) == NULL) /* v2: one directory */
            break;
    }
    if (!f)
        return berth_error(err, errno, "open `%s`", path);
    size_t cap = 0;
    int pid;
    *pids = NULL;
    *n = 0;
    while (fscanf(f, "%d", &pid) == 1) {
        if (*n == cap)
            *pids = xrealloc(*pids, (cap = cap ? 2 * cap : 16) * sizeof(**pids));
        (*pids)[(*n)++] = pid;
    }
    return 0;
}
