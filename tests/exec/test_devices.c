/* tests/exec/test_devices.c — exec/devices.c: moby's device cgroup rule pattern and words, the
 * device mapping and block I/O checks at create, what a mapping resolves to on the host (a
 * symlink followed, a directory walked, a default node replaced with its rule), and that a
 * container without device fields gets Docker's defaults with nothing looked up. The
 * integration suite 46-devices-blkio covers their effect in a container. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/macros.h"
#include "exec/devices.c" /* the static helpers: valid_mode, go_errno, caps_text */
#include "tests/testutil.h"

static json_t *parse(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    return j;
}

/* dev_verify of HostConfig HC: the message, or NULL when it passes (warnings into *warnings
 * when given). Heap string. */
static char *verify_msg(const char *hc, json_t **warnings)
{
    _cleanup_json_ json_t *h = parse(hc);
    json_t *w = json_array();
    _cleanup_err_ struct berth_err *err = NULL;
    int r = dev_verify(h, w, &err);
    if (warnings)
        *warnings = w;
    else
        json_decref(w);
    if (r == 0)
        return NULL;
    assert_int_equal(err->status, EINVAL);
    return xstrdup(err->msg);
}

static void refused(const char *hc, const char *msg)
{
    _cleanup_free_ char *got = verify_msg(hc, NULL);
    if (!got)
        fail_msg("accepted: %s", hc);
    assert_string_equal(got, msg);
}

static void accepted(const char *hc)
{
    _cleanup_free_ char *got = verify_msg(hc, NULL);
    if (got)
        fail_msg("refused %s: %s", hc, got);
}

static void rule_is(const char *text, char type, int64_t major, int64_t minor, const char *access)
{
    struct cgroup_device_rule r;
    _cleanup_err_ struct berth_err *err = NULL;
    if (dev_parse_rule(text, &r, &err) < 0)
        fail_msg("%s: %s", text, err->msg);
    assert_int_equal(r.type, type);
    assert_int_equal(r.major, major);
    assert_int_equal(r.minor, minor);
    assert_string_equal(r.access, access);
}

static void rule_refused(const char *text, const char *msg)
{
    struct cgroup_device_rule r;
    _cleanup_err_ struct berth_err *err = NULL;
    assert_true(dev_parse_rule(text, &r, &err) < 0);
    assert_int_equal(err->status, EINVAL);
    assert_string_equal(err->msg, msg);
}

static void test_rules(void **state)
{
    (void)state;
    rule_is("c 1:3 rwm", 'c', 1, 3, "rwm");
    rule_is("b *:* m", 'b', -1, -1, "m");
    rule_is("c 13:* rm", 'c', 13, -1, "rm");
    rule_is("a *:* rwm", 'a', -1, -1, "rwm");
    rule_is("c 1:5 rrr", 'c', 1, 5, "rrr"); /* moby's [rwm]{1,3} */
    rule_is("c 4294967295:0 r", 'c', 4294967295LL, 0, "r");
    static const char *const bad[] = {"",           "x 1:3 rwm", "c 1:3",      "c 1:3 ",
                                      "c 1:3 rwmr", "c 1:3 rwx", "c -1:3 r",   "c 1:3  r",
                                      "c 1 :3 r",   "c1:3 r",    "c 1:3 rwm ", "C 1:3 r",
                                      "c :3 r",     "c 1: r",    "c **:3 r",   " c 1:3 r"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        _cleanup_free_ char *msg = xasprintf("invalid device cgroup rule format: '%s'", bad[i]);
        rule_refused(bad[i], msg);
    }
    rule_refused("c 4294967296:3 r",
                 "invalid major value in device cgroup rule format: 'c 4294967296:3 r'");
    rule_refused("c 1:99999999999999999999 r",
                 "invalid minor value in device cgroup rule format: 'c 1:99999999999999999999 r'");
}

static void clean_is(const char *in, const char *want)
{
    _cleanup_free_ char *got = dev_clean_path(in);
    assert_string_equal(got, want);
}

static void test_clean_path(void **state)
{
    (void)state;
    clean_is("/dev/null", "/dev/null");
    clean_is("/dev//./x/", "/dev/x");
    clean_is("/dev/a/../b", "/dev/b");
    clean_is("/../../dev/x", "/dev/x");
    clean_is("/dev/..", "/");
    clean_is("/", "/");
}

static void test_modes(void **state)
{
    (void)state;
    assert_true(valid_mode("rwm"));
    assert_true(valid_mode("mr"));
    assert_true(valid_mode("w"));
    assert_false(valid_mode(""));
    assert_false(valid_mode("rr"));
    assert_false(valid_mode("rwx"));
    assert_false(valid_mode("rwmr"));
}

static void test_verify_devices(void **state)
{
    (void)state;
    accepted("{}");
    accepted("{\"Devices\":null,\"DeviceCgroupRules\":null,\"DeviceRequests\":null}");
    accepted("{\"Devices\":[{\"PathOnHost\":\"/dev/null\",\"PathInContainer\":\"/dev/n\","
             "\"CgroupPermissions\":\"rwm\"}]}");
    /* the CLI's defaults when an API client leaves them out */
    accepted("{\"Devices\":[{\"PathOnHost\":\"/dev/null\"}]}");
    refused("{\"Devices\":[{\"PathOnHost\":\"/dev/null\",\"PathInContainer\":\"/dev/n\","
            "\"CgroupPermissions\":\"rwx\"}]}",
            "bad mode specified: rwx");
    refused("{\"Devices\":[{\"PathOnHost\":\"dev/null\",\"PathInContainer\":\"/dev/n\"}]}",
            "dev/null is not an absolute path");
    refused("{\"Devices\":[{\"PathOnHost\":\"/dev/null\",\"PathInContainer\":\"n\"}]}",
            "n is not an absolute path");
    refused("{\"Devices\":[{\"PathOnHost\":\"/dev/null\",\"PathInContainer\":\"/dev/..\"}]}",
            "invalid device path in container: /dev/..");
    refused("{\"DeviceCgroupRules\":[\"c 1:3 rwm\",\"c 1:3\"]}",
            "invalid device cgroup rule format: 'c 1:3'");
}

static void test_verify_requests(void **state)
{
    (void)state;
    accepted("{\"DeviceRequests\":[]}");
    refused("{\"DeviceRequests\":[{\"Driver\":\"\",\"Count\":-1,\"Capabilities\":[[\"gpu\"]]}]}",
            "could not select device driver \"\" with capabilities: [[gpu]]");
    refused("{\"DeviceRequests\":[{\"Driver\":\"nvidia\",\"Capabilities\":[[\"gpu\",\"compute\"],"
            "[\"utility\"]]}]}",
            "could not select device driver \"nvidia\" with capabilities: [[gpu compute] "
            "[utility]]");
    refused("{\"DeviceRequests\":[{\"Driver\":\"cdi\",\"DeviceIDs\":[\"x.com/gpu=0\"]}]}",
            "could not select device driver \"cdi\" with capabilities: []");
}

static void test_verify_blkio(void **state)
{
    (void)state;
    accepted("{\"BlkioWeightDevice\":[{\"Path\":\"/dev/vda\",\"Weight\":10}],"
             "\"BlkioDeviceReadBps\":[{\"Path\":\"/dev/vda\",\"Rate\":0}]}");
    accepted("{\"BlkioWeightDevice\":[{\"Path\":\"/dev/vda\",\"Weight\":0}]}");
    refused("{\"BlkioWeightDevice\":[{\"Path\":\"/dev/vda\",\"Weight\":5}]}",
            "invalid weight for device: /dev/vda:5");
    refused("{\"BlkioWeightDevice\":[{\"Path\":\"/dev/vda\",\"Weight\":1001}]}",
            "invalid weight for device: /dev/vda:1001");
    refused("{\"BlkioDeviceWriteIOps\":[{\"Path\":\"/dev/vda\",\"Rate\":-1}]}",
            "invalid rate for device: /dev/vda:-1. Number must be a positive integer");
    refused("{\"BlkioDeviceReadBps\":[{\"Path\":\"vda\",\"Rate\":1}]}",
            "bad format for device path: vda:1");
    /* a host without a limit's file is warned, in dockerd's words, and the limit dropped */
    json_t *w = NULL;
    _cleanup_free_ char *msg =
        verify_msg("{\"BlkioWeightDevice\":[{\"Path\":\"/dev/vda\",\"Weight\":300}]}", &w);
    assert_null(msg);
    bool has = cgroup_supports("blkio", "blkio.weight_device", "io");
    assert_int_equal(json_array_size(w), has ? 0 : 1);
    if (!has)
        assert_string_equal(json_string_value(json_array_get(w, 0)),
                            blkio_fields[CGROUP_BLKIO_WEIGHT].warning);
    json_decref(w);
}

static void test_go_errno(void **state)
{
    (void)state;
    _cleanup_free_ char *a = go_errno(ENOENT), *b = go_errno(EACCES), *c = go_errno(ENOTDIR);
    assert_string_equal(a, "no such file or directory");
    assert_string_equal(b, "permission denied");
    assert_string_equal(c, "not a directory");
}

/* dev_resolve of HC: the set (the test frees it), failing on an error. */
static struct dev_set *resolve(const char *hc)
{
    _cleanup_json_ json_t *h = parse(hc);
    _cleanup_err_ struct berth_err *err = NULL;
    struct dev_set *set = NULL;
    if (dev_resolve(h, &set, &err) < 0)
        fail_msg("%s: %s", hc, err->msg);
    return set;
}

static char *resolve_error(const char *hc)
{
    _cleanup_json_ json_t *h = parse(hc);
    _cleanup_err_ struct berth_err *err = NULL;
    assert_true(dev_verify_host(h, &err) < 0);
    assert_int_equal(err->status, EINVAL);
    return xstrdup(err->msg);
}

static bool has_rule(const struct dev_set *s, char type, int64_t major, int64_t minor,
                     const char *access)
{
    for (size_t i = 0; i < s->nrules; i++)
        if (s->rules[i].type == type && s->rules[i].major == major && s->rules[i].minor == minor &&
            strcmp(s->rules[i].access, access) == 0)
            return true;
    return false;
}

static void test_defaults_cost_nothing(void **state)
{
    (void)state;
    assert_null(resolve("{}"));
    assert_null(resolve("{\"Devices\":[],\"BlkioDeviceReadBps\":null,\"Memory\":0}"));
    struct cgroup_limits l = {0};
    dev_limits(NULL, &l);
    assert_ptr_equal(l.devices, default_rules);
    assert_int_equal(l.ndevices, NDEFAULTS);
    for (int k = 0; k < CGROUP_BLKIO_KINDS; k++)
        assert_int_equal(l.nblkio[k], 0);
}

static void test_resolve_node(void **state)
{
    (void)state;
    struct stat null;
    assert_int_equal(stat("/dev/null", &null), 0);
    struct dev_set *s = resolve(
        "{\"Devices\":[{\"PathOnHost\":\"/dev/null\",\"PathInContainer\":\"/dev//my/./null\","
        "\"CgroupPermissions\":\"rw\"}],\"DeviceCgroupRules\":[\"c 13:* rm\"]}");
    assert_non_null(s);
    assert_int_equal(s->nnodes, 1);
    assert_string_equal(s->nodes[0].path, "/dev/my/null");
    assert_int_equal(s->nodes[0].mode, null.st_mode);
    assert_int_equal(s->nodes[0].rdev, makedev(1, 3));
    assert_true(has_rule(s, 'c', 1, 3, "rw"));
    assert_true(has_rule(s, 'c', 13, -1, "rm"));
    assert_true(has_rule(s, 'c', 1, 3, "rwm")); /* /dev/null's default stays */
    assert_int_equal(s->nrules, 2 + NDEFAULTS);
    assert_false(dev_claims(s, "/dev/null"));
    struct cgroup_limits l = {0};
    dev_limits(s, &l);
    assert_ptr_equal(l.devices, s->rules);
    dev_set_free(s);
}

static void test_resolve_replaces_default(void **state)
{
    (void)state;
    struct dev_set *s = resolve("{\"Devices\":[{\"PathOnHost\":\"/dev/zero\","
                                "\"PathInContainer\":\"/dev/zero\",\"CgroupPermissions\":\"r\"}]}");
    assert_true(dev_claims(s, "/dev/zero"));
    assert_true(has_rule(s, 'c', 1, 5, "r"));
    assert_false(has_rule(s, 'c', 1, 5, "rwm"));
    assert_int_equal(s->nrules, NDEFAULTS); /* one replaced by its own */
    dev_set_free(s);
}

static void test_resolve_errors(void **state)
{
    (void)state;
    _cleanup_free_ char *missing =
        resolve_error("{\"Devices\":[{\"PathOnHost\":\"/dev/nonexist\"}]}");
    assert_string_equal(missing, "error gathering device information while adding custom device "
                                 "\"/dev/nonexist\": no such file or directory");
    _cleanup_free_ char *dir = tu_tmpdir("devices");
    _cleanup_free_ char *hc = xasprintf("{\"Devices\":[{\"PathOnHost\":\"%s\"}]}", dir);
    _cleanup_free_ char *empty = resolve_error(hc);
    _cleanup_free_ char *want = xasprintf(
        "error gathering device information while adding custom device \"%s\": not a device node",
        dir);
    assert_string_equal(empty, want);
    tu_rm_rf(dir);
    _cleanup_free_ char *stat_msg =
        resolve_error("{\"BlkioDeviceReadBps\":[{\"Path\":\"/dev/nonexist\",\"Rate\":1}]}");
    assert_string_equal(stat_msg, "stat /dev/nonexist: no such file or directory");
    _cleanup_free_ char *chr =
        resolve_error("{\"BlkioDeviceWriteBps\":[{\"Path\":\"/dev/null\",\"Rate\":1}]}");
    assert_string_equal(
        chr, "invalid device path for --device-write-bps: /dev/null is not a block device");
}

/* A directory of devices (made here: root only), with a symlink to it as the host path. */
static void test_resolve_directory(void **state)
{
    (void)state;
    if (!tu_is_root())
        skip();
    _cleanup_free_ char *dir = tu_tmpdir("devices");
    _cleanup_free_ char *devs = xasprintf("%s/devs", dir), *sub = xasprintf("%s/devs/sub", dir);
    _cleanup_free_ char *n = xasprintf("%s/n", devs), *z = xasprintf("%s/z", sub);
    _cleanup_free_ char *file = xasprintf("%s/file", devs), *link = xasprintf("%s/link", dir);
    _cleanup_free_ char *inner = xasprintf("%s/nlink", devs);
    assert_int_equal(mkdir(devs, 0755), 0);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(mknod(n, S_IFCHR | 0640, makedev(1, 3)), 0);
    assert_int_equal(mknod(z, S_IFBLK | 0600, makedev(7, 200)), 0);
    tu_write(file, "x", 1);
    assert_int_equal(symlink("n", inner), 0); /* not followed inside the directory */
    assert_int_equal(symlink(devs, link), 0);
    _cleanup_free_ char *hc =
        xasprintf("{\"Devices\":[{\"PathOnHost\":\"%s\",\"PathInContainer\":\"/dev/mine\","
                  "\"CgroupPermissions\":\"r\"}]}",
                  link);
    struct dev_set *s = resolve(hc);
    assert_int_equal(s->nnodes, 2);
    for (size_t i = 0; i < 2; i++) {
        const struct dev_node *d = &s->nodes[i];
        if (strcmp(d->path, "/dev/mine/n") == 0) {
            assert_int_equal(d->mode, S_IFCHR | 0640);
            assert_int_equal(d->rdev, makedev(1, 3));
        } else {
            assert_string_equal(d->path, "/dev/mine/sub/z");
            assert_int_equal(d->mode, S_IFBLK | 0600);
        }
    }
    assert_true(has_rule(s, 'c', 1, 3, "r"));
    assert_true(has_rule(s, 'b', 7, 200, "r"));
    dev_set_free(s);
    tu_rm_rf(dir);
}

static void test_resolve_blkio(void **state)
{
    (void)state;
    static const char *const disks[] = {"/dev/vda", "/dev/sda", "/dev/loop0", NULL};
    const char *disk = NULL;
    struct stat st;
    for (const char *const *d = disks; *d && !disk; d++)
        if (stat(*d, &st) == 0 && S_ISBLK(st.st_mode))
            disk = *d;
    if (!disk)
        skip();
    _cleanup_free_ char *hc =
        xasprintf("{\"BlkioDeviceReadBps\":[{\"Path\":\"%s\",\"Rate\":1048576}],"
                  "\"BlkioWeightDevice\":[{\"Path\":\"%s\",\"Weight\":300}]}",
                  disk, disk);
    struct dev_set *s = resolve(hc);
    assert_int_equal(s->nnodes, 0);
    assert_int_equal(s->nrules, NDEFAULTS);
    assert_int_equal(s->nblkio[CGROUP_BLKIO_READ_BPS], 1);
    assert_int_equal(s->blkio[CGROUP_BLKIO_READ_BPS][0].major, major(st.st_rdev));
    assert_int_equal(s->blkio[CGROUP_BLKIO_READ_BPS][0].minor, minor(st.st_rdev));
    assert_int_equal(s->blkio[CGROUP_BLKIO_READ_BPS][0].value, 1048576);
    assert_int_equal(s->blkio[CGROUP_BLKIO_WEIGHT][0].value, 300);
    struct cgroup_limits l = {0};
    dev_limits(s, &l);
    assert_ptr_equal(l.blkio[CGROUP_BLKIO_READ_BPS], s->blkio[CGROUP_BLKIO_READ_BPS]);
    assert_int_equal(l.nblkio[CGROUP_BLKIO_WEIGHT], 1);
    dev_set_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),           cmocka_unit_test(test_clean_path),
        cmocka_unit_test(test_modes),           cmocka_unit_test(test_verify_devices),
        cmocka_unit_test(test_verify_requests), cmocka_unit_test(test_verify_blkio),
        cmocka_unit_test(test_go_errno),        cmocka_unit_test(test_defaults_cost_nothing),
        cmocka_unit_test(test_resolve_node),    cmocka_unit_test(test_resolve_replaces_default),
        cmocka_unit_test(test_resolve_errors),  cmocka_unit_test(test_resolve_directory),
        cmocka_unit_test(test_resolve_blkio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
