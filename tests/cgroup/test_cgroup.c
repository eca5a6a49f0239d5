/* tests/cgroup/test_cgroup.c — cgroup/: the v2 device filter (its program's shape, and the
 * kernel applying it to a process moved into a cgroup2 directory this test makes: the unified
 * tree, or on a hybrid host the cgroup2 mount beside the v1 ones), the v1 devices and blkio
 * files of a cgroup made under a parent this test owns, and v2's io files written into a fake
 * root. The kernel parts need root and skip otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup/cgroup.h"
#include "cgroup/devfilter.h"
#include "core/macros.h"
#include "tests/testutil.h"

static const struct cgroup_device_rule rules[] = {
    {'c', 1, 3, "rwm"}, /* /dev/null */
    {'c', 1, 5, "r"},   /* /dev/zero, read only */
    {'b', -1, -1, "m"}, /* mknod of any block device */
};
#define NRULES (ARRAY_SIZE(rules))

/* Every jump lands inside the program, on the first instruction of a later block. */
static void test_program_shape(void **state)
{
    (void)state;
    size_t n;
    struct bpf_insn *p = devfilter_build(rules, NRULES, &n);
    /* 6 loads; blocks of 5 (type, major, minor, allow), 8 (with the access check) and 6
     * ("b *:* m": type and access only); the deny */
    assert_int_equal(n, 6 + 5 + 8 + 6 + 2);
    assert_int_equal(p[n - 1].code, BPF_JMP | BPF_EXIT);
    assert_int_equal(p[n - 2].imm, 0); /* the default: deny */
    for (size_t i = 0; i < n; i++) {
        if (BPF_CLASS(p[i].code) != BPF_JMP || BPF_OP(p[i].code) == BPF_EXIT)
            continue;
        size_t to = i + 1 + (size_t)p[i].off;
        assert_true(to < n);
        assert_true(to == n - 2 || p[to - 1].code == (BPF_JMP | BPF_EXIT));
    }
    free(p);
    /* "a": everything, whatever follows */
    struct cgroup_device_rule all = {'a', 1, 3, "r"};
    p = devfilter_build(&all, 1, &n);
    assert_int_equal(n, 6 + 2 + 2);
    assert_int_equal(p[6].imm, 1);
    free(p);
}

/* Where a cgroup2 hierarchy is mounted: the root (v2) or the hybrid layout's unified mount. */
static const char *cgroup2_root(void)
{
    static const char *const roots[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified", NULL};
    for (const char *const *r = roots; *r; r++) {
        _cleanup_free_ char *p = xasprintf("%s/cgroup.procs", *r);
        _cleanup_free_ char *c = xasprintf("%s/cgroup.controllers", *r);
        if (access(p, F_OK) == 0 && access(c, F_OK) == 0)
            return *r;
    }
    return NULL;
}

static int try_open(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return errno;
    close(fd);
    return 0;
}

/* In the child, once in the filtered cgroup: what each open gives, as a bitmask of surprises. */
static int probe(void)
{
    int bad = 0;
    bad |= try_open("/dev/null", O_WRONLY) != 0 ? 1 : 0;
    bad |= try_open("/dev/zero", O_RDONLY) != 0 ? 2 : 0;
    bad |= try_open("/dev/zero", O_WRONLY) != EPERM ? 4 : 0;
    bad |= try_open("/dev/full", O_RDONLY) != EPERM ? 8 : 0;
    return bad;
}

static void test_filter_in_kernel(void **state)
{
    (void)state;
    const char *root = cgroup2_root();
    if (!tu_is_root() || !root)
        skip();
    _cleanup_free_ char *dir = xasprintf("%s/berth-test-devfilter-%d", root, (int)getpid());
    _cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    _cleanup_err_ struct berth_err *err = NULL;
    assert_true(fd >= 0);
    int r = devfilter_attach(fd, rules, NRULES, &err);
    if (r < 0)
        fail_msg("%s", err->msg);
    /* the same rules again: the kept program, attached to a second cgroup */
    _cleanup_free_ char *dir2 = xasprintf("%s-2", dir);
    assert_int_equal(mkdir(dir2, 0755), 0);
    _cleanup_close_ int fd2 = open(dir2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_int_equal(devfilter_attach(fd2, rules, NRULES, &err), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int p = open(procs, O_WRONLY | O_CLOEXEC);
        _exit(p < 0 || write(p, "0", 1) != 1 ? 100 : probe());
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    rmdir(dir2);
    assert_int_equal(rmdir(dir), 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static char *read_text(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "re");
    assert_non_null(f);
    struct buf b = {0};
    char chunk[512];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    buf_reserve(&b, 0);
    data = buf_steal(&b, &len);
    return data;
}

static const char *first_block_device(struct stat *st)
{
    static const char *const disks[] = {"/dev/vda", "/dev/sda", "/dev/nvme0n1", NULL};
    for (const char *const *d = disks; *d; d++)
        if (stat(*d, st) == 0 && S_ISBLK(st->st_mode))
            return *d;
    return NULL;
}

/* v1: devices.list after deny-all and the rules; a throttle in blkio (a limit written into the
 * test's own cgroup harms nothing). */
static void test_v1_files(void **state)
{
    (void)state;
    if (!tu_is_root() || cgroup_unified() || access("/sys/fs/cgroup/devices", F_OK) < 0)
        skip();
    _cleanup_free_ char *parent = xasprintf("berth-test-cgroup-%d", (int)getpid());
    struct stat disk;
    const char *dev = first_block_device(&disk);
    struct cgroup_blkio_device read_bps = {0, 0, 1048576};
    struct cgroup_limits l = {.memory_swappiness = -1, .devices = rules, .ndevices = NRULES};
    if (dev) {
        read_bps.major = major(disk.st_rdev);
        read_bps.minor = minor(disk.st_rdev);
        l.blkio[CGROUP_BLKIO_READ_BPS] = &read_bps;
        l.nblkio[CGROUP_BLKIO_READ_BPS] = 1;
    }
    struct cgroup *cg = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    if (cgroup_create(parent, "c", &l, &cg, &err) < 0)
        fail_msg("%s", err->msg);
    _cleanup_free_ char *devdir = cgroup_path(cg, "devices");
    _cleanup_free_ char *list_path = xasprintf("%s/devices.list", devdir);
    _cleanup_free_ char *list = read_text(list_path);
    assert_string_equal(list, "c 1:3 rwm\nc 1:5 r\nb *:* m\n");
    _cleanup_free_ char *blkdir = cgroup_path(cg, "blkio");
    _cleanup_free_ char *bps_path = xasprintf("%s/blkio.throttle.read_bps_device", blkdir);
    _cleanup_free_ char *want = xasprintf("%u:%u 1048576\n", read_bps.major, read_bps.minor);
    _cleanup_free_ char *bps = dev && access(bps_path, F_OK) == 0 ? read_text(bps_path) : NULL;
    if (bps)
        assert_string_equal(bps, want);
    /* privileged: the new cgroup's allow-all stays */
    struct cgroup *priv = NULL;
    struct cgroup_limits pl = {.memory_swappiness = -1, .privileged = true};
    assert_int_equal(cgroup_create(parent, "p", &pl, &priv, &err), 0);
    _cleanup_free_ char *pdir = cgroup_path(priv, "devices");
    _cleanup_free_ char *plist_path = xasprintf("%s/devices.list", pdir);
    _cleanup_free_ char *plist = read_text(plist_path);
    assert_string_equal(plist, "a *:* rwm\n");
    assert_int_equal(cgroup_destroy(cg, &err), 0);
    assert_int_equal(cgroup_destroy(priv, &err), 0);
    for (const char *const *c = (const char *const[]){"cpu", "cpuacct", "cpuset", "memory", "pids",
                                                      "freezer", "devices", "blkio", NULL};
         *c; c++) {
        _cleanup_free_ char *p = xasprintf("/sys/fs/cgroup/%s/%s", *c, parent);
        rmdir(p);
    }
}

/* v2's io files, in a fake root (no kernel: the test reads what was written). */
static void test_v2_io_files(void **state)
{
    (void)state;
    _cleanup_free_ char *root = tu_tmpdir("cgroup2");
    _cleanup_free_ char *ctrls = xasprintf("%s/cgroup.controllers", root);
    _cleanup_free_ char *dir = xasprintf("%s/p/c", root);
    _cleanup_free_ char *p = xasprintf("%s/p", root);
    tu_write(ctrls, "cpu io memory pids\n", 19);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(mkdir(dir, 0755), 0);
    _cleanup_free_ char *max = xasprintf("%s/io.max", dir),
                        *weight = xasprintf("%s/io.weight", dir);
    tu_write(max, "", 0);
    tu_write(weight, "", 0);
    struct cgroup_blkio_device wbps = {254, 0, 2097152}, w = {254, 0, 300};
    struct cgroup_limits l = {.memory_swappiness = -1, .privileged = true /* no eBPF here */};
    l.blkio[CGROUP_BLKIO_WRITE_BPS] = &wbps;
    l.nblkio[CGROUP_BLKIO_WRITE_BPS] = 1;
    l.blkio[CGROUP_BLKIO_WEIGHT] = &w;
    l.nblkio[CGROUP_BLKIO_WEIGHT] = 1;
    cgroup_set_root(root);
    struct cgroup *cg = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    int r = cgroup_create("p", "c", &l, &cg, &err);
    cgroup_set_root("/sys/fs/cgroup");
    if (r < 0)
        fail_msg("%s", err->msg);
    _cleanup_free_ char *got_max = read_text(max), *got_weight = read_text(weight);
    assert_string_equal(got_max, "254:0 wbps=2097152");
    assert_string_equal(got_weight, "254:0 2930"); /* 300 on io.weight's 1-10000 scale */
    cgroup_free(cg);
    tu_rm_rf(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_program_shape),
        cmocka_unit_test(test_filter_in_kernel),
        cmocka_unit_test(test_v1_files),
        cmocka_unit_test(test_v2_io_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
