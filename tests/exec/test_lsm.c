/* tests/exec/test_lsm.c — exec/lsm.c: the host probe on scratch trees laid out as /sys, /proc and
 * /etc/selinux are, the planned exec attribute for AppArmor (both kernel conventions) and SELinux
 * (the policy's container context with label options over it), the refusals where a module is
 * off, and the child's write of an attribute, to a temp file in place of /proc's. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "exec/lsm.h"
#include "tests/testutil.h"

/* root/path with its parent directories, holding text. */
static void put(const char *root, const char *path, const char *text)
{
    _cleanup_free_ char *full = xasprintf("%s%s", root, path);
    for (char *p = full + strlen(root) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        if (mkdir(full, 0755) < 0 && errno != EEXIST)
            fail_msg("mkdir %s: %s", full, strerror(errno));
        *p = '/';
    }
    tu_write(full, text, strlen(text));
}

static void test_probe(void **state)
{
    (void)state;
    _cleanup_free_ char *root = tu_tmpdir("lsm");
    struct lsm_host h;
    lsm_probe(root, &h);
    assert_false(h.apparmor || h.apparmor_dir || h.selinux);
    assert_null(h.selinux_base);
    /* AppArmor: securityfs's dir and the module's parameter both say so */
    put(root, "/sys/kernel/security/apparmor/profiles", "");
    lsm_probe(root, &h);
    assert_false(h.apparmor);
    put(root, "/sys/module/apparmor/parameters/enabled", "N\n");
    lsm_probe(root, &h);
    assert_false(h.apparmor);
    put(root, "/sys/module/apparmor/parameters/enabled", "Y\n");
    put(root, "/proc/self/attr/apparmor/exec", "");
    lsm_probe(root, &h);
    assert_true(h.apparmor && h.apparmor_dir);
    /* SELinux: selinuxfs, and the policy's container context */
    put(root, "/sys/fs/selinux/enforce", "1");
    put(root, "/etc/selinux/config", "# comment\nSELINUX=enforcing\nSELINUXTYPE=targeted\n");
    put(root, "/etc/selinux/targeted/contexts/lxc_contexts",
        "process = \"system_u:system_r:container_t:s0\"\nfile = \"x:y:z:s0\"\n");
    lsm_probe(root, &h);
    assert_true(h.selinux);
    assert_string_equal(h.selinux_base, "system_u:system_r:container_t:s0");
    lsm_host_free(&h);
    assert_null(h.selinux_base);
    tu_rm_rf(root);
}

/* lsm_plan's attributes as "path=value;..." or "error: MSG". */
static char *planned(const struct lsm_host *h, const char *apparmor, const char *const *labels)
{
    struct lsm_opts o = {.apparmor = apparmor};
    struct lsm_attr attrs[2];
    size_t n;
    _cleanup_err_ struct berth_err *err = NULL;
    for (; labels && *labels; labels++)
        o.labels[o.nlabels++] = *labels;
    if (lsm_plan(&o, h, attrs, &n, &err) < 0) {
        assert_int_equal(err->status, EINVAL);
        return xasprintf("error: %s", err->msg);
    }
    struct buf b = {0};
    for (size_t i = 0; i < n; i++) {
        buf_printf(&b, "%s%s=%s", i ? ";" : "", attrs[i].path, attrs[i].value);
        free(attrs[i].value);
    }
    buf_reserve(&b, 0);
    return buf_steal(&b, NULL);
}

static void expect(const struct lsm_host *h, const char *apparmor, const char *const *labels,
                   const char *want)
{
    _cleanup_free_ char *got = planned(h, apparmor, labels);
    if (strcmp(got, want) != 0)
        fail_msg("apparmor=%s: got \"%s\", want \"%s\"", apparmor ? apparmor : "-", got, want);
}

static void test_plan_without_modules(void **state)
{
    (void)state;
    const struct lsm_host none = {0};
    expect(&none, NULL, NULL, "");
    /* asking for no confinement is what such a host gives: accepted, nothing written */
    expect(&none, "unconfined", (const char *const[]){"disable", NULL}, "");
    expect(&none, "docker-default", NULL,
           "error: --security-opt apparmor=docker-default: AppArmor is not enabled on this host");
    expect(&none, NULL, (const char *const[]){"disable", "type:spc_t", NULL},
           "error: --security-opt label=type:spc_t: SELinux is not enabled on this host");
}

static void test_plan_apparmor(void **state)
{
    (void)state;
    const struct lsm_host h = {.apparmor = true, .apparmor_dir = true};
    expect(&h, "my-profile", NULL, "/proc/thread-self/attr/apparmor/exec=exec my-profile");
    expect(&h, "unconfined", NULL, "/proc/thread-self/attr/apparmor/exec=exec unconfined");
    const struct lsm_host old = {.apparmor = true}; /* a kernel without attr/apparmor/ */
    expect(&old, "my-profile", NULL, "/proc/thread-self/attr/exec=exec my-profile");
    /* label options on an AppArmor host: SELinux is off */
    expect(&h, NULL, (const char *const[]){"level:s0", NULL},
           "error: --security-opt label=level:s0: SELinux is not enabled on this host");
}

static void test_plan_selinux(void **state)
{
    (void)state;
    struct lsm_host h = {.selinux = true,
                         .selinux_base = (char *)"system_u:system_r:container_t:s0"};
    expect(&h, NULL, NULL, "");
    expect(&h, NULL, (const char *const[]){"type:spc_t", NULL},
           "/proc/thread-self/attr/exec=system_u:system_r:spc_t:s0");
    expect(&h, NULL, (const char *const[]){"user:u", "role:r", "type:t", "level:s0:c1,c2", NULL},
           "/proc/thread-self/attr/exec=u:r:t:s0:c1,c2");
    expect(&h, NULL, (const char *const[]){"disable", NULL}, "");
    expect(&h, NULL, (const char *const[]){"type:t", "disable", NULL}, "");
    expect(&h, NULL, (const char *const[]){"kind:t", NULL},
           "error: bad label option \"kind:t\", valid options 'disable' or \n'user, role, level, "
           "type, filetype' followed by ':' and a value");
    expect(&h, NULL, (const char *const[]){"nocolon", NULL},
           "error: bad label option \"nocolon\", valid options 'disable' or \n'user, role, level, "
           "type, filetype' followed by ':' and a value");
    expect(&h, NULL, (const char *const[]){"filetype:f_t", NULL},
           "error: --security-opt label=filetype:f_t: mount labels are not supported yet");
    h.selinux_base = NULL;
    expect(&h, NULL, (const char *const[]){"type:t", NULL},
           "error: --security-opt label=type:t: the SELinux policy has no container context "
           "(contexts/lxc_contexts)");
}

/* The child's write: one write of the whole value, the attribute's errors as -errno. */
static void test_write_attr(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = tu_tmpdir("lsm");
    _cleanup_free_ char *attr = xasprintf("%s/exec", dir);
    tu_write(attr, "old contents that are longer", 28);
    assert_int_equal(lsm_write_attr(attr, "exec my-profile"), 0);
    _cleanup_free_ char *got = tu_read(attr, NULL);
    /* O_WRONLY without O_TRUNC, as a /proc attribute takes it: the value at offset 0 */
    assert_memory_equal(got, "exec my-profile", 15);
    _cleanup_free_ char *missing = xasprintf("%s/apparmor/exec", dir);
    assert_int_equal(lsm_write_attr(missing, "exec x"), -ENOENT);
    assert_int_equal(lsm_write_attr(dir, "exec x"), -EISDIR);
    tu_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe),         cmocka_unit_test(test_plan_without_modules),
        cmocka_unit_test(test_plan_apparmor), cmocka_unit_test(test_plan_selinux),
        cmocka_unit_test(test_write_attr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
