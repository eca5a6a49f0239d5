/* tests/exec/test_mounts.c — exec/mounts.c and the parts of the spawn plan it shapes: bind
 * propagation names and flags, dockerd's shared/slave check of a bind source against mountinfo
 * texts, moby's tmpfs option conversion, Docker's default system paths, and plans built for a
 * scratch rootfs (binds with their propagation, --mount tmpfs, MaskedPaths / ReadonlyPaths,
 * domainname, the refused apparmor profile). The integration suite 47-mounts-security covers
 * their effect in containers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/macros.h"
#include "exec/mounts.h"
#include "exec/plan.h"
#include "tests/testutil.h"

static void test_propagation_names(void **state)
{
    (void)state;
    assert_int_equal(mounts_propagation_flags("rprivate"), MS_PRIVATE | MS_REC);
    assert_int_equal(mounts_propagation_flags("private"), MS_PRIVATE);
    assert_int_equal(mounts_propagation_flags("rslave"), MS_SLAVE | MS_REC);
    assert_int_equal(mounts_propagation_flags("slave"), MS_SLAVE);
    assert_int_equal(mounts_propagation_flags("rshared"), MS_SHARED | MS_REC);
    assert_int_equal(mounts_propagation_flags("shared"), MS_SHARED);
    assert_int_equal(mounts_propagation_flags("up"), 0);
    assert_int_equal(mounts_propagation_flags(NULL), 0);
    assert_true(mounts_propagation_shared("shared") && mounts_propagation_shared("rshared"));
    assert_false(mounts_propagation_shared("rslave") || mounts_propagation_shared("rprivate"));
    assert_string_equal(mounts_mode_propagation(NULL), "rprivate");
    assert_string_equal(mounts_mode_propagation(""), "rprivate");
    assert_string_equal(mounts_mode_propagation("ro"), "rprivate");
    assert_string_equal(mounts_mode_propagation("ro,rslave"), "rslave");
    assert_string_equal(mounts_mode_propagation("z,shared"), "shared");
    assert_string_equal(mounts_mode_propagation("rsharedx"), "rprivate");
    json_t *m = json_pack("{s{ss}}", "BindOptions", "Propagation", "rshared");
    assert_string_equal(mounts_bind_propagation(m), "rshared");
    json_decref(m);
    m = json_pack("{ss}", "Type", "bind");
    assert_string_equal(mounts_bind_propagation(m), "rprivate");
    json_decref(m);
}

/* mounts_check_source against a mountinfo text; the message, or NULL when it passes. */
static char *source_check(const char *dir, const char *mountinfo, const char *src,
                          const char *propagation)
{
    _cleanup_free_ char *path = xasprintf("%s/mountinfo", dir);
    _cleanup_err_ struct berth_err *err = NULL;
    tu_write(path, mountinfo, strlen(mountinfo));
    if (mounts_check_source(path, src, propagation, &err) == 0)
        return NULL;
    assert_int_equal(err->status, EINVAL);
    return xstrdup(err->msg);
}

static void test_source_propagation(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = tu_tmpdir("mounts");
    _cleanup_free_ char *src = xasprintf("%s/src dir", dir);
    assert_int_equal(mkdir(src, 0755), 0);
    /* the source's own mount (its name escaped as mountinfo writes a space) is the longest */
    _cleanup_free_ char *esc = xasprintf("%s/src\\040dir", dir);
    _cleanup_free_ char *shared = xasprintf("1 0 8:1 / / rw - ext4 /dev/a rw\n"
                                            "2 1 8:1 / %s rw shared:7 - ext4 /dev/a rw\n",
                                            esc);
    _cleanup_free_ char *slave = xasprintf("1 0 8:1 / / rw shared:1 - ext4 /dev/a rw\n"
                                           "2 1 8:1 / %s rw master:3 - ext4 /dev/a rw\n",
                                           esc);
    const char *private_root = "1 0 8:1 / / rw - ext4 /dev/a rw\n"
                               "2 1 0:5 / /proc rw shared:2 - proc proc rw\n";
    const char *shared_root = "1 0 8:1 / / rw shared:1 - ext4 /dev/a rw\n";
    char *got;
    assert_null(source_check(dir, private_root, src, "rprivate"));
    assert_null(source_check(dir, private_root, src, "private"));
    assert_null(source_check(dir, shared, src, "rshared"));
    assert_null(source_check(dir, shared, src, "rslave"));
    assert_null(source_check(dir, slave, src, "slave"));
    assert_null(source_check(dir, shared_root, src, "shared"));
    _cleanup_free_ char *want_slave =
        xasprintf("path %s is mounted on %s but it is not a shared mount", src, src);
    assert_string_equal(got = source_check(dir, slave, src, "rshared"), want_slave);
    free(got);
    _cleanup_free_ char *want_private =
        xasprintf("path %s is mounted on / but it is not a shared or slave mount", src);
    assert_string_equal(got = source_check(dir, private_root, src, "rslave"), want_private);
    free(got);
    /* /proc is shared but no parent of the source: it does not count */
    _cleanup_free_ char *want_shared =
        xasprintf("path %s is mounted on / but it is not a shared mount", src);
    assert_string_equal(got = source_check(dir, private_root, src, "shared"), want_shared);
    free(got);
    _cleanup_free_ char *missing = xasprintf("%s/missing", dir);
    _cleanup_free_ char *want_missing = xasprintf("lstat %s: No such file or directory", missing);
    assert_string_equal(got = source_check(dir, shared_root, missing, "rslave"), want_missing);
    free(got);
    tu_rm_rf(dir);
}

static char *tmpfs_data(const char *opts, bool ro)
{
    json_t *o = opts ? json_loads(opts, 0, NULL) : NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    char *out = NULL;
    int r = mounts_tmpfs_data(o, ro, &out, &err);
    json_decref(o);
    if (r < 0)
        return xasprintf("error: %s", err->msg);
    return out;
}

static void test_tmpfs_options(void **state)
{
    (void)state;
    const struct {
        const char *opts;
        bool ro;
        const char *want;
    } cases[] = {
        {NULL, false, ""},
        {NULL, true, "ro"},
        {"{\"SizeBytes\":67108864}", false, "size=64m"},
        {"{\"SizeBytes\":3221225472}", false, "size=3g"},
        {"{\"SizeBytes\":3072}", false, "size=3k"},
        {"{\"SizeBytes\":1536}", false, "size=1536"},
        {"{\"SizeBytes\":1000}", false, "size=1000"},
        {"{\"Mode\":1016}", false, "mode=1770"}, /* 01770: the CLI's tmpfs-mode=1770 */
        {"{\"Mode\":448,\"SizeBytes\":1048576}", true, "ro,mode=700,size=1m"},
        {"{\"Options\":[[\"exec\"],[\"noexec\"]]}", false, "exec,noexec"},
        {"{\"Options\":[[\"exec\",\"x\"]]}", false, "exec=x"},
        {"{\"Options\":[[\"nosuid\"]]}", false, "error: invalid option: nosuid"},
        {"{\"Options\":[[]]}", false, "error: invalid option array length"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        _cleanup_free_ char *got = tmpfs_data(cases[i].opts, cases[i].ro);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s ro=%d: got \"%s\", want \"%s\"", cases[i].opts ? cases[i].opts : "null",
                     cases[i].ro, got, cases[i].want);
    }
}

static void test_default_paths(void **state)
{
    (void)state;
    json_t *hc = json_object();
    mounts_fill_default_paths(hc);
    json_t *masked = json_object_get(hc, "MaskedPaths");
    assert_true(json_array_size(masked) >= 12);
    assert_string_equal(json_string_value(json_array_get(masked, 0)), "/proc/acpi");
    assert_int_equal(json_array_size(json_object_get(hc, "ReadonlyPaths")), 5);
    json_decref(hc);
    /* systempaths=unconfined (empty lists) and a list of one's own are kept */
    hc = json_pack("{s[] s[s]}", "MaskedPaths", "ReadonlyPaths", "/x");
    mounts_fill_default_paths(hc);
    assert_int_equal(json_array_size(json_object_get(hc, "MaskedPaths")), 0);
    assert_int_equal(json_array_size(json_object_get(hc, "ReadonlyPaths")), 1);
    json_decref(hc);
    hc = json_pack("{sb}", "Privileged", 1);
    mounts_fill_default_paths(hc);
    assert_null(json_object_get(hc, "MaskedPaths"));
    assert_null(json_object_get(hc, "ReadonlyPaths"));
    json_decref(hc);
}

/* ---- plans for a scratch rootfs ---- */

struct planned {
    char *dir, *rootfs, *src;
    struct container c;
    struct spawn_plan p;
    struct plan_store *store;
    char *error;
};

/* plan_build for a container whose Config and HostConfig are these JSON texts ("%s" in
 * hc is the bind source, a fresh directory). */
static struct planned *plan(const char *config, const char *hc_fmt)
{
    struct planned *t = xcalloc(1, sizeof(*t));
    t->dir = tu_tmpdir("plan");
    t->rootfs = xasprintf("%s/rootfs", t->dir);
    t->src = xasprintf("%s/src", t->dir);
    assert_int_equal(mkdir(t->rootfs, 0755), 0);
    assert_int_equal(mkdir(t->src, 0755), 0);
    static const char *const etc[] = {"hosts", "hostname", "resolv.conf"};
    for (size_t i = 0; i < 3; i++) { /* what the start writes before it plans */
        _cleanup_free_ char *f = xasprintf("%s/%s", t->dir, etc[i]);
        tu_write(f, "", 0);
    }
    _cleanup_free_ char *hc = xasprintf(hc_fmt, t->src, t->src);
    t->c.config = json_loads(config, 0, NULL);
    t->c.host_config = json_loads(hc, 0, NULL);
    assert_non_null(t->c.config);
    assert_non_null(t->c.host_config);
    t->c.path = xstrdup("true");
    t->c.args = json_array();
    t->c.dir = xstrdup(t->dir);
    _cleanup_err_ struct berth_err *err = NULL;
    if (plan_build(&t->c, &(struct plan_inputs){.rootfs = t->rootfs}, &t->p, &t->store, &err) < 0)
        t->error = xstrdup(err->msg);
    return t;
}

static void planned_free(struct planned *t)
{
    plan_store_free(t->store);
    json_decref(t->c.config);
    json_decref(t->c.host_config);
    json_decref(t->c.args);
    free(t->c.path);
    free(t->c.dir);
    tu_rm_rf(t->dir);
    free(t->dir);
    free(t->rootfs);
    free(t->src);
    free(t->error);
    free(t);
}

static const struct spawn_mount *mount_at(const struct planned *t, const char *dst)
{
    _cleanup_free_ char *want = xasprintf("%s%s", t->rootfs, dst);
    for (size_t i = 0; i < t->p.nmounts; i++)
        if (strcmp(t->p.mounts[i].target, want) == 0)
            return &t->p.mounts[i];
    fail_msg("no mount at %s", dst);
    return NULL;
}

static size_t list_len(const char *const *l)
{
    size_t n = 0;
    while (l && l[n])
        n++;
    return n;
}

static void test_plan_binds(void **state)
{
    (void)state;
    struct planned *t = plan("{\"Hostname\":\"h\",\"Domainname\":\"example.org\"}",
                             "{\"Binds\":[\"%s:/a:ro\"],\"Mounts\":[{\"Type\":\"bind\","
                             "\"Source\":\"%s\",\"Target\":\"/b\",\"BindOptions\":"
                             "{\"Propagation\":\"private\"}}]}");
    if (t->error)
        fail_msg("%s", t->error);
    const struct spawn_mount *a = mount_at(t, "/a"), *b = mount_at(t, "/b");
    assert_int_equal(a->kind, SPAWN_MOUNT_BIND);
    assert_int_equal(a->flags, MS_RDONLY);
    assert_int_equal(a->propagation, MS_PRIVATE | MS_REC); /* Docker's default: rprivate */
    assert_int_equal(b->propagation, MS_PRIVATE);
    assert_false(t->p.root_shared);
    /* the /etc files are berth's own binds: no propagation of their own */
    assert_int_equal(mount_at(t, "/etc/hosts")->propagation, 0);
    assert_string_equal(t->p.domainname, "example.org");
    /* no MaskedPaths in the HostConfig (a container of an older berthd): Docker's defaults */
    assert_int_equal(list_len(t->p.masked), list_len(mounts_default_masked));
    assert_int_equal(list_len(t->p.readonly), list_len(mounts_default_readonly));
    assert_int_equal(t->p.nattrs, 0);
    planned_free(t);
}

/* This machine's mounts are private: (r)slave and (r)shared binds are refused at start in
 * dockerd's words, as it checks the source's mount. */
static void test_plan_propagation_refused(void **state)
{
    (void)state;
    if (!tu_is_root())
        skip();
    struct planned *t = plan("{}", "{\"Binds\":[\"%s:/a:rslave\"]}");
    if (!t->error) { /* the test dir is on a shared or slave mount here */
        planned_free(t);
        skip();
    }
    assert_non_null(strstr(t->error, "but it is not a shared or slave mount"));
    planned_free(t);
    t = plan("{}", "{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"%s\",\"Target\":\"/a\","
                   "\"BindOptions\":{\"Propagation\":\"rshared\"}}]}");
    assert_non_null(t->error);
    assert_non_null(strstr(t->error, "but it is not a shared mount"));
    planned_free(t);
}

static void test_plan_tmpfs_and_paths(void **state)
{
    (void)state;
    struct planned *t =
        plan("{}", "{\"Tmpfs\":{\"/t1\":\"size=1m,exec\"},\"Mounts\":[{\"Type\":\"tmpfs\","
                   "\"Target\":\"/t2\",\"ReadOnly\":true,\"TmpfsOptions\":{\"SizeBytes\":2097152,"
                   "\"Mode\":1023}}],\"MaskedPaths\":[\"/etc/x\"],\"ReadonlyPaths\":[],"
                   "\"Privileged\":true,\"X\":\"%s\"}");
    if (t->error)
        fail_msg("%s", t->error);
    const struct spawn_mount *t1 = mount_at(t, "/t1"), *t2 = mount_at(t, "/t2");
    assert_int_equal(t1->kind, SPAWN_MOUNT_FS);
    assert_string_equal(t1->data, "size=1m");
    assert_int_equal(t1->flags, MS_NOSUID | MS_NODEV);
    assert_string_equal(t2->fstype, "tmpfs");
    assert_string_equal(t2->data, "mode=1777,size=2m");
    assert_int_equal(t2->flags, MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY);
    /* set lists apply even to a privileged container (dockerd applies them last) */
    assert_int_equal(list_len(t->p.masked), 1);
    assert_string_equal(t->p.masked[0], "/etc/x");
    assert_non_null(t->p.readonly);
    assert_int_equal(list_len(t->p.readonly), 0);
    assert_null(t->p.domainname);
    planned_free(t);
    /* privileged without lists: none */
    t = plan("{}", "{\"Privileged\":true,\"X\":\"%s\"}");
    assert_null(t->p.masked);
    assert_null(t->p.readonly);
    planned_free(t);
}

static void test_plan_lsm(void **state)
{
    (void)state;
    if (access("/sys/kernel/security/apparmor", F_OK) == 0 ||
        access("/sys/fs/selinux/enforce", F_OK) == 0)
        skip(); /* the refusals below are for a host with neither */
    struct planned *t = plan("{}", "{\"SecurityOpt\":[\"apparmor=unconfined\",\"label=disable\"],"
                                   "\"X\":\"%s\"}");
    assert_null(t->error);
    assert_int_equal(t->p.nattrs, 0);
    planned_free(t);
    t = plan("{}", "{\"SecurityOpt\":[\"apparmor=my-profile\"],\"X\":\"%s\"}");
    assert_non_null(t->error);
    assert_string_equal(t->error,
                        "--security-opt apparmor=my-profile: AppArmor is not enabled on this host");
    planned_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_propagation_names),
        cmocka_unit_test(test_source_propagation),
        cmocka_unit_test(test_tmpfs_options),
        cmocka_unit_test(test_default_paths),
        cmocka_unit_test(test_plan_binds),
        cmocka_unit_test(test_plan_propagation_refused),
        cmocka_unit_test(test_plan_tmpfs_and_paths),
        cmocka_unit_test(test_plan_lsm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
