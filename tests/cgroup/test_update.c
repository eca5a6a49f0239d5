/* tests/cgroup/test_update.c — cgroup_update (docker update's live limits) over sample v1 and v2
 * trees in a temp dir: what each file receives, what is left alone when not set, the CPU quota
 * lifted, v2's swap limit as the difference from the memory limit. The kernel's own refusals
 * (a limit below the usage) are the integration tests' (53-stats-top-update.bats). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup/cgroup.h"
#include "core/macros.h"
#include "tests/testutil.h"

/* Empty files (the fakes take a write at offset 0 as the kernel's files take one value). */
static void empty(const char *dir, const char *const *names)
{
    for (; *names; names++) {
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, *names);
        tu_write(p, "", 0);
    }
}

static char *text(const char *dir, const char *name)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
    return tu_read(p, NULL);
}

#define ASSERT_FILE(dir, name, want)                                                               \
    do {                                                                                           \
        _cleanup_free_ char *got_ = text(dir, name);                                               \
        assert_non_null(got_);                                                                     \
        assert_string_equal(got_, want);                                                           \
    } while (0)

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

static void test_update_v2(void **state)
{
    (void)state;
    _cleanup_free_ char *root = tu_tmpdir("update-v2");
    _cleanup_free_ char *ctrls = xasprintf("%s/cgroup.controllers", root);
    tu_write(ctrls, "cpuset cpu io memory pids\n", 26);
    _cleanup_free_ char *dir = mkdirs(root, "p/c");
    static const char *const files[] = {"memory.max",  "memory.swap.max", "memory.low",
                                        "cpu.weight",  "cpu.max",         "cpuset.cpus",
                                        "cpuset.mems", "pids.max",        NULL};
    empty(dir, files);
    cgroup_set_root(root);
    struct cgroup *cg = cgroup_open("p", "c");
    _cleanup_err_ struct berth_err *err = NULL;
    struct cgroup_limits l = {.memory = 128 << 20,
                              .memory_swap = 256 << 20,
                              .memory_reservation = 64 << 20,
                              .memory_swappiness = -1,
                              .cpu_shares = 512,
                              .nano_cpus = 1500000000,
                              .cpu_period = 100000,
                              .cpuset_cpus = "0",
                              .cpuset_mems = "",
                              .pids_limit = -1};
    assert_int_equal(cgroup_update(cg, &l, &err), 0);
    ASSERT_FILE(dir, "memory.max", "134217728");
    ASSERT_FILE(dir, "memory.swap.max", "134217728"); /* the swap beyond the memory */
    ASSERT_FILE(dir, "memory.low", "67108864");
    ASSERT_FILE(dir, "cpu.weight", "20"); /* 512 shares on cpu.weight's scale, as runc */
    ASSERT_FILE(dir, "cpu.max", "150000 100000");
    ASSERT_FILE(dir, "cpuset.cpus", "0");
    ASSERT_FILE(dir, "cpuset.mems", ""); /* not set: left alone */
    ASSERT_FILE(dir, "pids.max", "max"); /* < 0: the limit lifted */

    /* the quota lifted (-1 with a period), an unlimited swap, the rest left alone */
    empty(dir, files);
    l = (struct cgroup_limits){.memory = 64 << 20,
                               .memory_swap = -1,
                               .memory_swappiness = -1,
                               .cpu_period = 50000,
                               .cpu_quota = -1,
                               .pids_limit = 20};
    assert_int_equal(cgroup_update(cg, &l, &err), 0);
    ASSERT_FILE(dir, "memory.max", "67108864");
    ASSERT_FILE(dir, "memory.swap.max", "max");
    ASSERT_FILE(dir, "cpu.max", "max 50000");
    ASSERT_FILE(dir, "pids.max", "20");
    ASSERT_FILE(dir, "memory.low", "");
    ASSERT_FILE(dir, "cpu.weight", "");

    /* a file the write fails on (here: missing) is an error naming it */
    _cleanup_free_ char *pids = xasprintf("%s/pids.max", dir);
    unlink(pids);
    l = (struct cgroup_limits){.memory_swappiness = -1, .pids_limit = 5};
    assert_true(cgroup_update(cg, &l, &err) < 0);
    assert_non_null(strstr(err->msg, "pids.max"));
    cgroup_free(cg);
    cgroup_set_root("/sys/fs/cgroup");
    tu_rm_rf(root);
}

static void test_update_v1(void **state)
{
    (void)state;
    _cleanup_free_ char *root = tu_tmpdir("update-v1");
    _cleanup_free_ char *memory = mkdirs(root, "memory/p/c"), *cpu = mkdirs(root, "cpu/p/c");
    _cleanup_free_ char *cpuset = mkdirs(root, "cpuset/p/c"), *pids = mkdirs(root, "pids/p/c");
    empty(memory, (const char *const[]){"memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
                                        "memory.soft_limit_in_bytes", NULL});
    empty(cpu, (const char *const[]){"cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", NULL});
    empty(cpuset, (const char *const[]){"cpuset.cpus", "cpuset.mems", NULL});
    empty(pids, (const char *const[]){"pids.max", NULL});
    cgroup_set_root(root);
    struct cgroup *cg = cgroup_open("p", "c");
    _cleanup_err_ struct berth_err *err = NULL;
    struct cgroup_limits l = {.memory = 128 << 20,
                              .memory_swap = 256 << 20,
                              .memory_reservation = 64 << 20,
                              .memory_swappiness = -1,
                              .cpu_shares = 512,
                              .nano_cpus = 500000000,
                              .cpu_period = 100000,
                              .cpuset_mems = "0",
                              .pids_limit = 30};
    assert_int_equal(cgroup_update(cg, &l, &err), 0);
    ASSERT_FILE(memory, "memory.limit_in_bytes", "134217728");
    ASSERT_FILE(memory, "memory.memsw.limit_in_bytes", "268435456"); /* memory + swap */
    ASSERT_FILE(memory, "memory.soft_limit_in_bytes", "67108864");
    ASSERT_FILE(cpu, "cpu.shares", "512");
    ASSERT_FILE(cpu, "cpu.cfs_period_us", "100000");
    ASSERT_FILE(cpu, "cpu.cfs_quota_us", "50000");
    ASSERT_FILE(cpuset, "cpuset.mems", "0");
    ASSERT_FILE(cpuset, "cpuset.cpus", "");
    ASSERT_FILE(pids, "pids.max", "30");

    /* a swap limit alone leaves the memory limit's file untouched when the caller gives none;
     * the quota lifted writes -1 */
    empty(memory,
          (const char *const[]){"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", NULL});
    empty(cpu, (const char *const[]){"cpu.cfs_period_us", "cpu.cfs_quota_us", NULL});
    l = (struct cgroup_limits){.memory_swap = -1,
                               .memory_swappiness = -1,
                               .cpu_period = 100000,
                               .cpu_quota = -1,
                               .pids_limit = -1};
    assert_int_equal(cgroup_update(cg, &l, &err), 0);
    ASSERT_FILE(memory, "memory.memsw.limit_in_bytes", "-1");
    ASSERT_FILE(memory, "memory.limit_in_bytes", "");
    ASSERT_FILE(cpu, "cpu.cfs_quota_us", "-1");
    ASSERT_FILE(pids, "pids.max", "max");
    cgroup_free(cg);
    cgroup_set_root("/sys/fs/cgroup");
    tu_rm_rf(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update_v2),
        cmocka_unit_test(test_update_v1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
