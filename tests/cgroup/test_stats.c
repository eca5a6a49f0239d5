/* tests/cgroup/test_stats.c — cgroup/stats.c: each parser on the kernel's text (v1's
 * cpuacct.usage_percpu, cpuacct.stat, cpu.stat, memory.stat, blkio throttle files; v2's
 * cpu.stat, memory.stat, memory.events, io.stat, "max"; /proc/stat), the reader over sample v1
 * and v2 trees in a temp dir (every field, a controller the host lacks, files kept open and read
 * again, the cgroup removed), cgroup_procs on both, and on a v1 host the reader against the
 * kernel's own files for a process the test moves into a cgroup of its own (root only). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup/cgroup.h"
#include "cgroup/stats.h"
#include "core/macros.h"
#include "tests/testutil.h"

/* The value of KEY in s->mem_stat, by the version's key list. */
static uint64_t mem(const struct cgroup_stats *s, const char *key)
{
    const char *const *keys = cgroup_stats_mem_keys(s->version);
    for (size_t i = 0; keys[i]; i++)
        if (strcmp(keys[i], key) == 0)
            return s->mem_stat[i];
    fail_msg("no key %s", key);
    return 0;
}

/* ---- parsers ---- */

static void test_mem_keys_sorted(void **state)
{
    (void)state;
    for (int v = 1; v <= 2; v++) {
        const char *const *keys = cgroup_stats_mem_keys(v);
        size_t n = 0;
        for (; keys[n]; n++)
            if (n)
                assert_true(strcmp(keys[n - 1], keys[n]) < 0); /* the binary search needs it */
        assert_int_equal(n, v == 1 ? 32 : 31);                 /* dockerd's two maps */
        assert_true(n <= CGROUP_STATS_MEM_KEYS);
    }
}

static void test_parse_v1_cpu(void **state)
{
    (void)state;
    struct cgroup_stats s = {.version = 1};
    cgroup_parse_percpu("7310118481 1444004375 0 12 \n", &s);
    assert_int_equal(s.npercpu, 4);
    assert_int_equal(s.percpu[0], 7310118481ull);
    assert_int_equal(s.percpu[1], 1444004375ull);
    assert_int_equal(s.percpu[3], 12);
    /* USER_HZ ticks to nanoseconds */
    cgroup_parse_cpuacct_stat("user 874\nsystem 1\n", &s);
    assert_int_equal(s.cpu_user, 8740000000ull);
    assert_int_equal(s.cpu_kernel, 10000000ull);
    cgroup_parse_cpu_stat("nr_periods 12\nnr_throttled 3\nthrottled_time 456789\nnr_bursts 0\n"
                          "burst_time 0\n",
                          &s);
    assert_int_equal(s.periods, 12);
    assert_int_equal(s.throttled_periods, 3);
    assert_int_equal(s.throttled_time, 456789);
    assert_int_equal(s.cpu_user, 8740000000ull); /* v1's cpu.stat has no usage keys */
    cgroup_parse_percpu("", &s);
    assert_int_equal(s.npercpu, 0);
    cgroup_stats_free(&s);
}

/* v2 cpu.stat in microseconds, with the cpu controller's keys (and keys dockerd does not show). */
static void test_parse_v2_cpu(void **state)
{
    (void)state;
    struct cgroup_stats s = {.version = 2};
    cgroup_parse_cpu_stat("usage_usec 9618915200\nuser_usec 6530607607\nsystem_usec 3088307593\n"
                          "nice_usec 0\ncore_sched.force_idle_usec 0\nnr_periods 40\n"
                          "nr_throttled 2\nthrottled_usec 31000\nnr_bursts 0\nburst_usec 0\n",
                          &s);
    assert_int_equal(s.cpu_total, 9618915200000ull);
    assert_int_equal(s.cpu_user, 6530607607000ull);
    assert_int_equal(s.cpu_kernel, 3088307593000ull);
    assert_int_equal(s.periods, 40);
    assert_int_equal(s.throttled_periods, 2);
    assert_int_equal(s.throttled_time, 31000000ull);
    assert_int_equal(s.npercpu, 0);
}

static void test_parse_mem_stat(void **state)
{
    (void)state;
    struct cgroup_stats s = {.version = 1};
    cgroup_parse_mem_stat("cache 4096\nrss 53248\nrss_huge 0\nshmem 0\nmapped_file 8192\n"
                          "workingset_refault_anon 7\nswap 0\npgfault 43\ninactive_file 1024\n"
                          "hierarchical_memory_limit 314572800\n"
                          "hierarchical_memsw_limit 629145600\ntotal_cache 4096\n"
                          "total_inactive_file 2048\ntotal_unevictable 5\n",
                          &s);
    assert_int_equal(mem(&s, "cache"), 4096);
    assert_int_equal(mem(&s, "rss"), 53248);
    assert_int_equal(mem(&s, "mapped_file"), 8192);
    assert_int_equal(mem(&s, "pgfault"), 43);
    assert_int_equal(mem(&s, "inactive_file"), 1024);
    assert_int_equal(mem(&s, "total_inactive_file"), 2048);
    assert_int_equal(mem(&s, "hierarchical_memsw_limit"), 629145600);
    assert_int_equal(mem(&s, "total_unevictable"), 5);
    assert_int_equal(mem(&s, "writeback"), 0); /* absent */

    /* v2 (kernel 6.x): keys dockerd does not show are skipped, and a key that only starts
     * like one (workingset_refault_anon) is not it */
    struct cgroup_stats t = {.version = 2};
    cgroup_parse_mem_stat("anon 1101824\nfile 4096\nkernel 245760\nkernel_stack 16384\n"
                          "pagetables 20480\nsock 0\nvmalloc 0\nshmem 0\nfile_mapped 0\n"
                          "file_dirty 0\nfile_writeback 0\nanon_thp 0\ninactive_anon 1093632\n"
                          "active_anon 8192\ninactive_file 4096\nactive_file 0\nunevictable 0\n"
                          "slab_reclaimable 33280\nslab_unreclaimable 62976\nslab 96256\n"
                          "workingset_refault_anon 9\nworkingset_refault_file 8\n"
                          "workingset_activate_anon 0\nworkingset_nodereclaim 3\npgscan 0\n"
                          "pgsteal 0\npgfault 581\npgmajfault 1\npgrefill 0\npgactivate 2\n"
                          "pgdeactivate 0\npglazyfree 0\npglazyfreed 0\nthp_fault_alloc 0\n"
                          "thp_collapse_alloc 0\n",
                          &t);
    assert_int_equal(mem(&t, "anon"), 1101824);
    assert_int_equal(mem(&t, "file"), 4096);
    assert_int_equal(mem(&t, "kernel_stack"), 16384);
    assert_int_equal(mem(&t, "inactive_file"), 4096);
    assert_int_equal(mem(&t, "slab"), 96256);
    assert_int_equal(mem(&t, "slab_unreclaimable"), 62976);
    assert_int_equal(mem(&t, "workingset_refault"), 0);
    assert_int_equal(mem(&t, "workingset_nodereclaim"), 3);
    assert_int_equal(mem(&t, "pgfault"), 581);
    assert_int_equal(mem(&t, "pgmajfault"), 1);
    assert_int_equal(mem(&t, "pgactivate"), 2);
}

static void test_parse_values(void **state)
{
    (void)state;
    assert_int_equal(cgroup_parse_u64("104857600\n", 0), 104857600);
    assert_int_equal(cgroup_parse_u64("max\n", UINT64_MAX), UINT64_MAX); /* v2 */
    assert_int_equal(cgroup_parse_u64("max\n", 0), 0);                   /* v1's pids.max */
    assert_int_equal(cgroup_parse_u64("-1\n", 7), 0);
    assert_int_equal(cgroup_parse_u64("9223372036854771712\n", 0), 9223372036854771712ull);
    assert_int_equal(cgroup_parse_key("low 0\nhigh 1\nmax 2\noom 3\noom_kill 4\n"
                                      "oom_group_kill 5\n",
                                      "oom"),
                     3);
    assert_int_equal(cgroup_parse_key("low 0\n", "oom"), 0);
}

static void test_parse_blkio(void **state)
{
    (void)state;
    struct cgroup_io_entry *e = NULL;
    size_t n = cgroup_parse_blkio("8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 12288\n8:0 Async 0\n"
                                  "8:0 Discard 0\n8:0 Total 12288\n254:16 Read 1\nTotal 12289\n",
                                  &e);
    assert_int_equal(n, 7); /* the last "Total N" is skipped, as the library does */
    assert_int_equal(e[0].major, 8);
    assert_int_equal(e[0].minor, 0);
    assert_string_equal(e[0].op, "Read");
    assert_int_equal(e[0].value, 4096);
    assert_string_equal(e[5].op, "Total");
    assert_int_equal(e[6].major, 254);
    assert_int_equal(e[6].minor, 16);
    free(e);
    n = cgroup_parse_blkio("Total 0\n", &e);
    assert_int_equal(n, 0);
    free(e);

    /* v2: a "read" and a "write" entry of bytes per device, the other keys skipped */
    n = cgroup_parse_io_stat("8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 "
                             "dios=0\n8:0 rbytes=90430464 wbytes=299008000 rios=8950 wios=1252 "
                             "dbytes=50331648 dios=3021\n",
                             &e);
    assert_int_equal(n, 4);
    assert_int_equal(e[0].major, 8);
    assert_int_equal(e[0].minor, 16);
    assert_string_equal(e[0].op, "read");
    assert_int_equal(e[0].value, 1459200);
    assert_string_equal(e[1].op, "write");
    assert_int_equal(e[1].value, 314773504);
    assert_int_equal(e[3].minor, 0);
    assert_int_equal(e[3].value, 299008000);
    free(e);
    n = cgroup_parse_io_stat("", &e);
    assert_int_equal(n, 0);
    free(e);
}

static void test_parse_proc_stat(void **state)
{
    (void)state;
    uint64_t total;
    uint32_t online;
    /* the first seven fields (steal, guest, guest_nice left out), ticks of 10 ms */
    assert_int_equal(cgroup_parse_proc_stat("cpu  100 2 30 400 5 6 7 800 900 1000\n"
                                            "cpu0 50 1 15 200 2 3 3 400 0 0\n"
                                            "cpu1 50 1 15 200 3 3 4 400 0 0\n"
                                            "intr 12345 0 0\nctxt 99\n",
                                            &total, &online),
                     0);
    assert_int_equal(total, 550ull * 10000000);
    assert_int_equal(online, 2);
    assert_int_equal(cgroup_parse_proc_stat("intr 1\n", &total, &online), -EINVAL);
}

/* ---- the reader over sample trees ---- */

static void put(const char *dir, const char *name, const char *text)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
    tu_write(p, text, strlen(text));
}

static char *mkdirs(const char *root, const char *rel)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    mkdir(path, 0755);
    return take_ptr(path);
}

/* v1: one directory per controller, the container's cgroup at p/c in each. */
static char *v1_tree(void)
{
    char *root = tu_tmpdir("stats-v1");
    _cleanup_free_ char *cpuacct = mkdirs(root, "cpuacct/p/c");
    _cleanup_free_ char *cpu = mkdirs(root, "cpu/p/c");
    _cleanup_free_ char *memory = mkdirs(root, "memory/p/c");
    _cleanup_free_ char *pids = mkdirs(root, "pids/p/c");
    _cleanup_free_ char *blkio = mkdirs(root, "blkio/p/c");
    put(cpuacct, "cpuacct.usage", "1\n"); /* not read: the per-CPU values' sum is the total */
    put(cpuacct, "cpuacct.usage_percpu", "2000000000 1000000000 \n");
    put(cpuacct, "cpuacct.stat", "user 250\nsystem 50\n");
    put(cpu, "cpu.stat", "nr_periods 10\nnr_throttled 4\nthrottled_time 2000000\n");
    put(memory, "memory.usage_in_bytes", "8388608\n");
    put(memory, "memory.max_usage_in_bytes", "9437184\n");
    put(memory, "memory.limit_in_bytes", "67108864\n");
    put(memory, "memory.failcnt", "2\n");
    put(memory, "memory.stat", "cache 4096\nrss 8192\ntotal_inactive_file 1048576\n");
    put(pids, "pids.current", "3\n");
    put(pids, "pids.max", "max\n");
    put(blkio, "blkio.throttle.io_service_bytes", "8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
    put(blkio, "blkio.throttle.io_serviced", "8:0 Read 1\n8:0 Write 0\nTotal 1\n");
    put(pids, "cgroup.procs", "41\n42\n43\n");
    put(memory, "cgroup.procs", "41\n");
    return root;
}

static void test_reader_v1(void **state)
{
    (void)state;
    _cleanup_free_ char *root = v1_tree();
    cgroup_set_root(root);
    struct cgroup *cg = cgroup_open("p", "c");
    struct cgroup_stats_reader *r = cgroup_stats_reader_new(cg);
    struct cgroup_stats s;
    assert_int_equal(cgroup_stats_reader_fds(r), 0);     /* nothing opened until the first read */
    assert_int_equal(cgroup_stats_read(r, &s, true), 0); /* the CPU files alone */
    assert_int_equal(cgroup_stats_reader_fds(r), 3);
    cgroup_stats_free(&s);
    assert_int_equal(cgroup_stats_read(r, &s, false), 0);
    assert_int_equal(cgroup_stats_reader_fds(r), 12);
    assert_int_equal(s.version, 1);
    assert_int_equal(s.cpu_total, 3000000000ull);
    assert_int_equal(s.npercpu, 2);
    assert_int_equal(s.percpu[0], 2000000000ull);
    assert_int_equal(s.cpu_user, 2500000000ull);
    assert_int_equal(s.cpu_kernel, 500000000ull);
    assert_int_equal(s.periods, 10);
    assert_int_equal(s.throttled_periods, 4);
    assert_int_equal(s.throttled_time, 2000000);
    assert_true(s.has_memory);
    assert_int_equal(s.mem_usage, 8388608);
    assert_int_equal(s.mem_max_usage, 9437184);
    assert_int_equal(s.mem_limit, 67108864);
    assert_int_equal(s.mem_failcnt, 2);
    assert_int_equal(mem(&s, "total_inactive_file"), 1048576);
    assert_true(s.has_pids);
    assert_int_equal(s.pids_current, 3);
    assert_int_equal(s.pids_limit, 0); /* v1 reads "max" as 0, as the library */
    assert_int_equal(s.nio_bytes, 2);
    assert_string_equal(s.io_bytes[0].op, "Read");
    assert_int_equal(s.io_bytes[0].value, 4096);
    assert_int_equal(s.nio_ops, 2);
    assert_int_equal(s.io_ops[0].value, 1);
    cgroup_stats_free(&s);

    /* the files stay open: a new value in the same file is read at the next sample */
    _cleanup_free_ char *cpuacct = xasprintf("%s/cpuacct/p/c", root);
    put(cpuacct, "cpuacct.usage_percpu", "2500000000 1000000000 \n");
    assert_int_equal(cgroup_stats_read(r, &s, true), 0);
    assert_int_equal(s.cpu_total, 3500000000ull);
    assert_int_equal(s.mem_usage, 0); /* cpu_only */
    assert_false(s.has_memory);
    cgroup_stats_free(&s);
    assert_int_equal(cgroup_stats_reader_close(r), 12);
    assert_int_equal(cgroup_stats_reader_fds(r), 0);

    /* a controller the host lacks leaves its part zero */
    _cleanup_free_ char *blkio = xasprintf("%s/blkio", root);
    tu_rm_rf(blkio);
    assert_int_equal(cgroup_stats_read(r, &s, false), 0);
    assert_int_equal(cgroup_stats_reader_fds(r), 10);
    assert_int_equal(s.nio_bytes, 0);
    assert_int_equal(s.pids_current, 3);
    cgroup_stats_free(&s);

    /* processes: the pids controller's list */
    pid_t *pids = NULL;
    size_t n = 0;
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(cgroup_procs(cg, &pids, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(pids[2], 43);
    free(pids);

    /* the cgroup gone: ENOENT at the next open */
    cgroup_stats_reader_close(r);
    for (const char *const *c = (const char *const[]){"cpuacct", "cpu", "memory", "pids", NULL}; *c;
         c++) {
        _cleanup_free_ char *d = xasprintf("%s/%s/p/c", root, *c);
        tu_rm_rf(d);
    }
    assert_int_equal(cgroup_stats_read(r, &s, false), -ENOENT);
    cgroup_stats_reader_free(r);
    cgroup_free(cg);
    cgroup_set_root("/sys/fs/cgroup");
    tu_rm_rf(root);
}

/* v2: one tree; cgroup.controllers at the root says so. */
static void test_reader_v2(void **state)
{
    (void)state;
    _cleanup_free_ char *root = tu_tmpdir("stats-v2");
    put(root, "cgroup.controllers", "cpuset cpu io memory pids\n");
    _cleanup_free_ char *dir = mkdirs(root, "p/c");
    put(dir, "cpu.stat",
        "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n"
        "nr_periods 7\nnr_throttled 1\nthrottled_usec 250\n");
    put(dir, "memory.current", "5242880\n");
    put(dir, "memory.max", "max\n");
    put(dir, "memory.stat", "anon 4194304\nfile 1048576\ninactive_file 524288\n");
    put(dir, "memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\n");
    put(dir, "pids.current", "2\n");
    put(dir, "pids.max", "max\n");
    put(dir, "io.stat", "254:0 rbytes=8192 wbytes=4096 rios=2 wios=1 dbytes=0 dios=0\n");
    put(dir, "cgroup.procs", "7\n8\n");
    cgroup_set_root(root);
    struct cgroup *cg = cgroup_open("p", "c");
    struct cgroup_stats_reader *r = cgroup_stats_reader_new(cg);
    struct cgroup_stats s;
    assert_int_equal(cgroup_stats_read(r, &s, true), 0);
    assert_int_equal(cgroup_stats_reader_fds(r), 1); /* cpu.stat */
    cgroup_stats_free(&s);
    assert_int_equal(cgroup_stats_read(r, &s, false), 0);
    assert_int_equal(cgroup_stats_reader_fds(r), 8);
    assert_int_equal(s.version, 2);
    assert_int_equal(s.cpu_total, 1500000000ull);
    assert_int_equal(s.cpu_user, 1000000000ull);
    assert_int_equal(s.cpu_kernel, 500000000ull);
    assert_int_equal(s.npercpu, 0); /* v2 has no per-CPU usage: dockerd shows none */
    assert_int_equal(s.periods, 7);
    assert_int_equal(s.throttled_time, 250000);
    assert_true(s.has_memory);
    assert_int_equal(s.mem_usage, 5242880);
    assert_int_equal(s.mem_limit, UINT64_MAX); /* "max": the render caps it at the host's */
    assert_int_equal(s.mem_max_usage, 0);
    assert_int_equal(s.mem_failcnt, 2); /* memory.events' oom, as dockerd's failcnt on v2 */
    assert_int_equal(mem(&s, "anon"), 4194304);
    assert_int_equal(mem(&s, "inactive_file"), 524288);
    assert_int_equal(s.pids_current, 2);
    assert_int_equal(s.pids_limit, UINT64_MAX);
    assert_int_equal(s.nio_bytes, 2);
    assert_int_equal(s.io_bytes[0].major, 254);
    assert_string_equal(s.io_bytes[0].op, "read");
    assert_int_equal(s.io_bytes[0].value, 8192);
    assert_string_equal(s.io_bytes[1].op, "write");
    assert_int_equal(s.io_bytes[1].value, 4096);
    assert_int_equal(s.nio_ops, 0);
    cgroup_stats_free(&s);

    /* a limit and a pids limit, and a cgroup without the io and pids controllers' files */
    put(dir, "memory.max", "67108864\n");
    _cleanup_free_ char *io = xasprintf("%s/io.stat", dir), *pc = xasprintf("%s/pids.current", dir),
                        *pm = xasprintf("%s/pids.max", dir);
    unlink(io);
    unlink(pc);
    unlink(pm);
    cgroup_stats_reader_close(r);
    assert_int_equal(cgroup_stats_read(r, &s, false), 0);
    assert_int_equal(s.mem_limit, 67108864);
    assert_false(s.has_pids);
    assert_int_equal(s.nio_bytes, 0);
    cgroup_stats_free(&s);

    pid_t *pids = NULL;
    size_t n = 0;
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(cgroup_procs(cg, &pids, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(pids[0], 7);
    free(pids);

    cgroup_stats_reader_close(r);
    tu_rm_rf(dir);
    assert_int_equal(cgroup_stats_read(r, &s, false), -ENOENT);
    assert_int_equal(cgroup_procs(cg, &pids, &n, &err), -ENOENT - 1);
    cgroup_stats_reader_free(r);
    cgroup_free(cg);
    cgroup_set_root("/sys/fs/cgroup");
    tu_rm_rf(root);
}

/* ---- the kernel's own files (v1 host, root) ---- */

static void spin_ms(int ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do
        clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

static void test_reader_kernel_v1(void **state)
{
    (void)state;
    if (!tu_is_root() || cgroup_unified() || access("/sys/fs/cgroup/cpuacct", F_OK) < 0)
        skip();
    _cleanup_free_ char *parent = xasprintf("berth-test-stats-%d", (int)getpid());
    struct cgroup_limits l = {
        .memory = 64 << 20, .pids_limit = 10, .memory_swappiness = -1, .privileged = true};
    struct cgroup *cg = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    if (cgroup_create(parent, "c", &l, &cg, &err) < 0)
        fail_msg("%s", err->msg);
    int fds[CGROUP_JOIN_MAX];
    int nfds = cgroup_join_fds(cg, fds, &err);
    assert_true(nfds > 0);
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t child = fork();
    if (child == 0) { /* joins, touches 4 MiB, spins 200 ms, then waits to be killed */
        char c;
        volatile char *m;
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed assertion in the parent ends it too */
        close(1);                         /* and the test's output is not held open */
        for (int i = 0; i < nfds; i++)
            if (write(fds[i], "0", 1) < 0)
                _exit(1);
        if (read(go[0], &c, 1) != 1 || !(m = malloc(4 << 20)))
            _exit(1);
        for (int i = 0; i < 4 << 20; i += 4096) /* volatile: not a store the compiler drops */
            m[i] = 1;
        spin_ms(200);
        pause();
        _exit(0);
    }
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    struct cgroup_stats_reader *r = cgroup_stats_reader_new(cg);
    struct cgroup_stats s;
    for (int i = 0; i < 200; i++) { /* until the child is in */
        assert_int_equal(cgroup_stats_read(r, &s, false), 0);
        bool in = s.pids_current == 1;
        cgroup_stats_free(&s);
        if (in)
            break;
        usleep(5000);
    }
    assert_int_equal(write(go[1], "x", 1), 1);
    usleep(300000);
    assert_int_equal(cgroup_stats_read(r, &s, false), 0);
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    assert_true(s.cpu_total >= 100000000ull); /* 200 ms of spinning, at least half counted */
    assert_true(s.cpu_total < 2000000000ull);
    assert_true(s.npercpu >= (size_t)ncpu);
    /* the total is cpuacct.usage's: read after the sample, it is at least as much */
    _cleanup_free_ char *acct = cgroup_path(cg, "cpuacct");
    _cleanup_free_ char *usage_path = xasprintf("%s/cpuacct.usage", acct);
    _cleanup_free_ char *usage = tu_read(usage_path, NULL);
    assert_true(strtoull(usage, NULL, 10) >= s.cpu_total);
    assert_true(strtoull(usage, NULL, 10) < s.cpu_total + 50000000); /* the child is idle */
    assert_true(s.cpu_user + s.cpu_kernel > 0);
    assert_int_equal(s.mem_limit, 64 << 20);
    assert_true(s.mem_usage >= 4 << 20); /* charged as the child touched it */
    assert_int_equal(s.pids_current, 1);
    assert_int_equal(s.pids_limit, 10);
    cgroup_stats_free(&s);

    pid_t *pids = NULL;
    size_t n = 0;
    assert_int_equal(cgroup_procs(cg, &pids, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(pids[0], child);
    free(pids);

    uint64_t total;
    uint32_t online;
    _cleanup_close_ int ps = open("/proc/stat", O_RDONLY | O_CLOEXEC);
    assert_int_equal(cgroup_host_cpu(ps, &total, &online), 0);
    assert_int_equal(online, (uint32_t)sysconf(_SC_NPROCESSORS_ONLN));
    assert_true(total > 0);

    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    close(go[0]);
    close(go[1]);
    cgroup_stats_reader_free(r);
    assert_int_equal(cgroup_destroy(cg, &err), 0);
    for (const char *const *c = (const char *const[]){"cpu", "cpuacct", "cpuset", "memory", "pids",
                                                      "freezer", "devices", "blkio", NULL};
         *c; c++) {
        _cleanup_free_ char *p = xasprintf("/sys/fs/cgroup/%s/%s", *c, parent);
        rmdir(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mem_keys_sorted), cmocka_unit_test(test_parse_v1_cpu),
        cmocka_unit_test(test_parse_v2_cpu),    cmocka_unit_test(test_parse_mem_stat),
        cmocka_unit_test(test_parse_values),    cmocka_unit_test(test_parse_blkio),
        cmocka_unit_test(test_parse_proc_stat), cmocka_unit_test(test_reader_v1),
        cmocka_unit_test(test_reader_v2),       cmocka_unit_test(test_reader_kernel_v1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
