/* tests/exec/test_caps.c — exec/caps.c: dockerd's rules for default/add/drop/ALL/privileged and
 * non-root users, its error words, and a forked child whose /proc/self/status shows the sets. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/capability.h>

#include "core/cleanup.h"
#include "exec/caps.h"

#define BIT(c) (UINT64_C(1) << (c))

static const uint64_t docker_default =
    BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FSETID) | BIT(CAP_FOWNER) | BIT(CAP_MKNOD) |
    BIT(CAP_NET_RAW) | BIT(CAP_SETGID) | BIT(CAP_SETUID) | BIT(CAP_SETFCAP) | BIT(CAP_SETPCAP) |
    BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_SYS_CHROOT) | BIT(CAP_KILL) | BIT(CAP_AUDIT_WRITE);

/* One "CapXxx:\t<hex>" line of a /proc/<pid>/status text. */
static uint64_t status_field(const char *status, const char *key)
{
    const char *p = strstr(status, key);
    assert_non_null(p);
    return strtoull(p + strlen(key) + 1, NULL, 16);
}

static char *read_file(const char *path)
{
    static char buf[8192];
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    return buf;
}

/* Every capability the kernel knows that this test process holds: what "ALL" means. */
static uint64_t all_caps(void)
{
    uint64_t known = BIT(caps_last()) - 1;
    return known & status_field(read_file("/proc/self/status"), "CapEff:");
}

static struct caps compute_ok(bool privileged, json_t *add, json_t *drop, bool root)
{
    struct caps c;
    _cleanup_err_ struct berth_err *err = NULL;
    int r = caps_compute(privileged, add, drop, root, &c, &err);
    if (r < 0)
        fail_msg("caps_compute: %s", err->msg);
    json_decref(add);
    json_decref(drop);
    return c;
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(caps_name(CAP_CHOWN), "CAP_CHOWN");
    assert_string_equal(caps_name(CAP_SYS_ADMIN), "CAP_SYS_ADMIN");
    assert_string_equal(caps_name(40), "CAP_CHECKPOINT_RESTORE");
    assert_null(caps_name(-1));
    assert_null(caps_name(63));
    assert_int_equal(caps_from_name("CAP_NET_ADMIN"), CAP_NET_ADMIN);
    assert_int_equal(caps_from_name("NET_ADMIN"), -1); /* exact names only */
    assert_int_equal(caps_from_name("cap_net_admin"), -1);
    int last = atoi(read_file("/proc/sys/kernel/cap_last_cap"));
    assert_int_equal(caps_last(), last + 1);
}

static void test_default_root(void **state)
{
    (void)state;
    assert_int_equal(__builtin_popcountll(docker_default), 14);
    if ((all_caps() & docker_default) != docker_default)
        skip(); /* this test process lacks one of Docker's defaults */
    struct caps c = compute_ok(false, NULL, NULL, true);
    assert_int_equal(c.bounding, docker_default);
    assert_int_equal(c.effective, docker_default);
    assert_int_equal(c.permitted, docker_default);
    assert_int_equal(c.inheritable, 0);
    assert_int_equal(c.ambient, 0);
    /* an empty list and JSON null mean nothing, as an absent one */
    c = compute_ok(false, json_array(), json_null(), true);
    assert_int_equal(c.bounding, docker_default);
}

static void test_add_drop_forms(void **state)
{
    (void)state;
    struct caps c = compute_ok(false, json_pack("[sss]", "net_admin", "CAP_SYS_TIME", "Sys_Nice"),
                               json_pack("[ss]", "chown", "cap_KILL"), true);
    uint64_t want = (docker_default | BIT(CAP_NET_ADMIN) | BIT(CAP_SYS_TIME) | BIT(CAP_SYS_NICE)) &
                    ~(BIT(CAP_CHOWN) | BIT(CAP_KILL));
    assert_int_equal(c.bounding, want & all_caps());
    assert_int_equal(c.effective, c.bounding);
    /* a lone string is a one-item list (Docker's strslice) */
    c = compute_ok(false, json_string("NET_ADMIN"), NULL, true);
    assert_true(c.bounding & BIT(CAP_NET_ADMIN));
    /* added and dropped: dockerd drops first, then adds */
    c = compute_ok(false, json_pack("[s]", "MKNOD"), json_pack("[s]", "MKNOD"), true);
    assert_true(c.bounding & BIT(CAP_MKNOD));
}

static void test_all(void **state)
{
    (void)state;
    uint64_t all = all_caps();
    struct caps c = compute_ok(false, json_pack("[s]", "ALL"), json_pack("[s]", "mknod"), true);
    assert_int_equal(c.bounding, all & ~BIT(CAP_MKNOD));
    c = compute_ok(false, json_pack("[s]", "all"), NULL, true);
    assert_int_equal(c.bounding, all);
    c = compute_ok(false, json_pack("[ss]", "NET_BIND_SERVICE", "chown"), json_pack("[s]", "ALL"),
                   true);
    assert_int_equal(c.bounding, BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_CHOWN));
    c = compute_ok(false, NULL, json_pack("[s]", "ALL"), true);
    assert_int_equal(c.bounding, 0);
    assert_int_equal(c.effective, 0);
    c = compute_ok(false, json_pack("[s]", "ALL"), json_pack("[s]", "ALL"), true);
    assert_int_equal(c.bounding, all);
}

static void test_privileged(void **state)
{
    (void)state;
    uint64_t all = all_caps();
    struct caps c = compute_ok(true, NULL, json_pack("[s]", "CHOWN"), true);
    assert_int_equal(c.bounding, all); /* privileged ignores drops, as dockerd */
    assert_int_equal(c.effective, all);
    assert_int_equal(c.permitted, all);
    assert_int_equal(c.inheritable, 0);
    /* a privileged non-root user holds nothing after exec unless asked by name */
    c = compute_ok(true, json_pack("[s]", "NET_RAW"), NULL, false);
    assert_int_equal(c.bounding, all);
    assert_int_equal(c.effective, BIT(CAP_NET_RAW));
}

static void test_non_root(void **state)
{
    (void)state;
    struct caps c = compute_ok(false, NULL, NULL, false);
    assert_int_equal(c.bounding, docker_default & all_caps());
    assert_int_equal(c.effective | c.permitted | c.inheritable | c.ambient, 0);

    c = compute_ok(false, json_pack("[s]", "NET_BIND_SERVICE"), json_pack("[s]", "CHOWN"), false);
    assert_int_equal(c.bounding, (docker_default & all_caps()) & ~BIT(CAP_CHOWN));
    assert_int_equal(c.effective, BIT(CAP_NET_BIND_SERVICE));
    assert_int_equal(c.permitted, BIT(CAP_NET_BIND_SERVICE));
    assert_int_equal(c.inheritable, BIT(CAP_NET_BIND_SERVICE));
    assert_int_equal(c.ambient, BIT(CAP_NET_BIND_SERVICE));

    c = compute_ok(false, json_pack("[s]", "ALL"), json_pack("[s]", "SYS_ADMIN"), false);
    assert_int_equal(c.ambient, all_caps() & ~BIT(CAP_SYS_ADMIN));
    assert_int_equal(c.effective, c.bounding);
}

static void expect_error(bool privileged, json_t *add, json_t *drop, const char *msg)
{
    struct caps c;
    _cleanup_err_ struct berth_err *err = NULL;
    int r = caps_compute(privileged, add, drop, true, &c, &err);
    json_decref(add);
    json_decref(drop);
    assert_true(r < 0);
    assert_non_null(err);
    assert_int_equal(err->status, EINVAL);
    assert_string_equal(err->msg, msg);
}

static void test_unknown_names(void **state)
{
    (void)state;
    expect_error(false, json_pack("[s]", "foo"), NULL,
                 "invalid CapAdd: unknown capability: \"CAP_FOO\"");
    expect_error(false, NULL, json_pack("[ss]", "chown", "CAP_BAR"),
                 "invalid CapDrop: unknown capability: \"CAP_BAR\"");
    /* "ALL" is special only without the prefix */
    expect_error(false, json_pack("[s]", "CAP_ALL"), NULL,
                 "invalid CapAdd: unknown capability: \"CAP_ALL\"");
    /* CapAdd is checked first; privileged does not skip the check */
    expect_error(true, json_pack("[s]", "nope"), json_pack("[s]", "nada"),
                 "invalid CapAdd: unknown capability: \"CAP_NOPE\"");
    expect_error(false, json_pack("[i]", 3), NULL, "invalid CapAdd: expected a list of strings");
    expect_error(false, json_pack("{}"), NULL, "invalid CapAdd: expected a list of strings");
}

static void test_unavailable(void **state)
{
    (void)state;
    uint64_t known = BIT(caps_last()) - 1, missing = known & ~all_caps();
    if (!missing)
        skip(); /* this process holds every capability: nothing is unavailable */
    int cap = __builtin_ctzll(missing);
    char msg[256];
    snprintf(msg, sizeof(msg),
             "invalid CapAdd: capability not supported by your kernel or not available in the "
             "current environment: \"%s\"",
             caps_name(cap));
    expect_error(false, json_pack("[s]", caps_name(cap)), NULL, msg);
}

/* The child's side: setup, then its status (read here or by an exec'd cat) on stdout. */
struct child_spec {
    const struct caps *caps;
    uid_t uid;     /* 0: stay root */
    bool exec_cat; /* show the sets as they are after execve */
};

static void child_fail(const char *step, int e)
{
    dprintf(1, "ERR %s %d\n", step, e);
    _exit(1);
}

static void child_run(const struct child_spec *s)
{
    if (s->uid) {
        if (caps_keep_across_setuid(true) < 0)
            child_fail("keepcaps", errno);
        if (setgroups(0, NULL) < 0 || setresgid(s->uid, s->uid, s->uid) < 0)
            child_fail("setgid", errno);
        if (setresuid(s->uid, s->uid, s->uid) < 0)
            child_fail("setuid", errno);
    }
    int r = caps_apply(s->caps);
    if (r < 0)
        child_fail("caps_apply", -r);
    if (s->exec_cat) {
        execl("/bin/cat", "cat", "/proc/self/status", (char *)NULL);
        child_fail("exec", errno);
    }
    char buf[8192];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
    if (n <= 0 || write(1, buf, (size_t)n) != n)
        child_fail("status", errno);
    _exit(0);
}

/* Fork, run the child with its stdout on a pipe, return what it printed. */
static char *in_child(const struct child_spec *s)
{
    static char out[8192];
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        child_run(s);
    }
    close(p[1]);
    size_t len = 0;
    ssize_t n;
    while (len < sizeof(out) - 1 && (n = read(p[0], out + len, sizeof(out) - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(p[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("child failed: %s", out);
    return out;
}

static void check_status(const char *st, uint64_t bnd, uint64_t eff, uint64_t prm, uint64_t inh,
                         uint64_t amb)
{
    assert_int_equal(status_field(st, "CapBnd:"), bnd);
    assert_int_equal(status_field(st, "CapEff:"), eff);
    assert_int_equal(status_field(st, "CapPrm:"), prm);
    assert_int_equal(status_field(st, "CapInh:"), inh);
    assert_int_equal(status_field(st, "CapAmb:"), amb);
}

static void test_apply_root(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    struct caps c = compute_ok(false, json_pack("[s]", "NET_ADMIN"), json_pack("[s]", "MKNOD"), 1);
    const char *st = in_child(&(struct child_spec){.caps = &c});
    check_status(st, c.bounding, c.effective, c.permitted, c.inheritable, c.ambient);
    /* after execve root's sets are its bounding set: files count as fully capable for uid 0 */
    st = in_child(&(struct child_spec){.caps = &c, .exec_cat = true});
    check_status(st, c.bounding, c.bounding, c.bounding, 0, 0);
}

static void test_apply_non_root(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    struct caps c = compute_ok(false, json_pack("[s]", "NET_BIND_SERVICE"), NULL, false);
    const char *st = in_child(&(struct child_spec){.caps = &c, .uid = 65534});
    check_status(st, c.bounding, c.effective, c.permitted, c.inheritable, c.ambient);
    assert_true(strstr(st, "Uid:\t65534\t65534\t65534"));
    /* the named capability survives execve through the ambient set, nothing else does */
    st = in_child(&(struct child_spec){.caps = &c, .uid = 65534, .exec_cat = true});
    uint64_t nbs = BIT(CAP_NET_BIND_SERVICE);
    check_status(st, c.bounding, nbs, nbs, nbs, nbs);

    c = compute_ok(false, NULL, NULL, false);
    st = in_child(&(struct child_spec){.caps = &c, .uid = 65534, .exec_cat = true});
    check_status(st, c.bounding, 0, 0, 0, 0);
}

static void test_apply_privileged(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    struct caps c = compute_ok(true, NULL, NULL, true);
    const char *st = in_child(&(struct child_spec){.caps = &c});
    check_status(st, c.bounding, c.effective, c.permitted, 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_default_root),
        cmocka_unit_test(test_add_drop_forms),
        cmocka_unit_test(test_all),
        cmocka_unit_test(test_privileged),
        cmocka_unit_test(test_non_root),
        cmocka_unit_test(test_unknown_names),
        cmocka_unit_test(test_unavailable),
        cmocka_unit_test(test_apply_root),
        cmocka_unit_test(test_apply_non_root),
        cmocka_unit_test(test_apply_privileged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
