/* tests/exec/test_verify.c — exec/verify.c: moby's signal names, the mount parser's rules for
 * Binds and Mounts, extra hosts, ulimits, resource ranges, and the words and status of each
 * refusal (the integration suite 38-create-validation covers them through berthd). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec/verify.c" /* the static helpers: go_quote, is_root, valid_mode, check_bind */
#include "tests/testutil.h"

/* verify_create on a HostConfig (and Config) given as JSON text: the message, or NULL when it
 * passes. Fails the test when the status is not EINVAL. Heap string. */
static char *refusal(const char *config, const char *hc)
{
    json_t *c = json_loads(config ? config : "{}", 0, NULL), *h = json_loads(hc, 0, NULL);
    json_t *warnings = json_array();
    _cleanup_err_ struct berth_err *err = NULL;
    assert_non_null(c);
    assert_non_null(h);
    int r = verify_create(c, h, warnings, &err);
    json_decref(c);
    json_decref(h);
    json_decref(warnings);
    if (r == 0)
        return NULL;
    assert_int_equal(err->status, EINVAL);
    return xstrdup(err->msg);
}

static void refused(const char *config, const char *hc, const char *msg)
{
    _cleanup_free_ char *got = refusal(config, hc);
    if (!got)
        fail_msg("accepted: %s %s", config ? config : "", hc);
    assert_string_equal(got, msg);
}

static void accepted(const char *config, const char *hc)
{
    _cleanup_free_ char *got = refusal(config, hc);
    if (got)
        fail_msg("refused %s %s: %s", config ? config : "", hc, got);
}

static void test_signals(void **state)
{
    (void)state;
    assert_int_equal(verify_signal("SIGTERM"), SIGTERM);
    assert_int_equal(verify_signal("term"), SIGTERM);
    assert_int_equal(verify_signal("sigusr1"), SIGUSR1);
    assert_int_equal(verify_signal("9"), 9);
    assert_int_equal(verify_signal("STKFLT"), SIGSTKFLT);
    assert_int_equal(verify_signal("CLD"), SIGCHLD);
    assert_int_equal(verify_signal("RTMIN"), 34);
    assert_int_equal(verify_signal("SIGRTMIN+3"), 37);
    assert_int_equal(verify_signal("RTMIN+15"), 49);
    assert_int_equal(verify_signal("RTMAX-14"), 50);
    assert_int_equal(verify_signal("rtmax"), 64);
    const char *bad[] = {"SIGPWN",   "",        "0",       "65",      "99999",
                         "RTMIN+16", "RTMIN+0", "RTMIN-1", "RTMAX+1", "RTMAX-15",
                         "RTMIN+1x", "RTMINX",  "SIG",     "-1",      NULL};
    for (const char **b = bad; *b; b++)
        if (verify_signal(*b) != -1)
            fail_msg("%s is a signal", *b);
    assert_int_equal(verify_signal(NULL), -1);
}

static void test_rlimits(void **state)
{
    (void)state;
    assert_int_equal(verify_rlimit("nofile"), RLIMIT_NOFILE);
    assert_int_equal(verify_rlimit("rttime"), RLIMIT_RTTIME);
    assert_int_equal(verify_rlimit("bogus"), -1);
    assert_int_equal(verify_rlimit(NULL), -1);
}

static void test_go_quote(void **state)
{
    (void)state;
    _cleanup_free_ char *a = go_quote("a\nb\t\"c\"\\\x01\x7f"
                                      "é");
    assert_string_equal(a, "\"a\\nb\\t\\\"c\\\"\\\\\\x01\\x7fé\"");
    _cleanup_free_ char *e = go_quote("");
    assert_string_equal(e, "\"\"");
}

static void test_is_root(void **state)
{
    (void)state;
    const char *roots[] = {"/", "//", "/.", "/..", "/a/..", "/a/b/../..", "/../..", "/./", NULL};
    const char *not_roots[] = {"/a", "/a/../b", "..", "", "a/..", "/..a", NULL};
    for (const char **p = roots; *p; p++)
        if (!is_root(*p))
            fail_msg("%s is not root", *p);
    for (const char **p = not_roots; *p; p++)
        if (is_root(*p))
            fail_msg("%s is root", *p);
}

static void test_modes(void **state)
{
    (void)state;
    const char *good[] = {"", "ro", "rw", "ro,z", "Z,rshared", "nocopy", "rw,cached,private", NULL};
    const char *bad[] = {"bogus", "ro,rw", "z,Z", "ro,", ",ro", "shared,slave", "default", NULL};
    for (const char **m = good; *m; m++)
        if (!valid_mode(*m))
            fail_msg("%s refused", *m);
    for (const char **m = bad; *m; m++)
        if (valid_mode(*m))
            fail_msg("%s taken", *m);
}

static void test_binds(void **state)
{
    (void)state;
    accepted(NULL, "{\"Binds\":[\"/src:/dst\",\"/src:/dst:ro\",\"/s:/d:rw,rprivate\"]}");
    refused(NULL, "{\"Binds\":[\"/src:../../../etc\"]}",
            "invalid volume specification: '/src:../../../etc': invalid mount config for type "
            "\"bind\": invalid mount path: '../../../etc' mount path must be absolute");
    refused(NULL, "{\"Binds\":[\"/src:/\"]}",
            "invalid volume specification: '/src:/': invalid mount config for type \"bind\": "
            "invalid specification: destination can't be '/'");
    refused(NULL, "{\"Binds\":[\"/src:/a/../:ro\"]}",
            "invalid volume specification: '/src:/a/../:ro': invalid mount config for type "
            "\"bind\": invalid specification: destination can't be '/'");
    refused(NULL, "{\"Binds\":[\"/src:/dst:bogus\"]}", "invalid mode: bogus");
    refused(NULL, "{\"Binds\":[\"/dst:ro\"]}", "invalid volume specification: '/dst:ro'");
    refused(NULL, "{\"Binds\":[\":/dst\"]}", "invalid volume specification: ':/dst'");
    refused(NULL, "{\"Binds\":[\"/a:/b:ro:x\"]}", "invalid volume specification: '/a:/b:ro:x'");
    /* volumes: named (its name is checked as it is made), anonymous, with a volume's modes */
    accepted(NULL, "{\"Binds\":[\"vol:/data\",\"/data2\",\"v2:/d3:ro,nocopy\"]}");
    refused(NULL, "{\"Binds\":[\"vol:data\"]}",
            "invalid volume specification: 'vol:data': invalid mount config for type "
            "\"volume\": invalid mount path: 'data' mount path must be absolute");
    /* nocopy is a volume's option: moby refuses it on a bind before looking at the target */
    refused(NULL, "{\"Binds\":[\"/src:/:nocopy\"]}",
            "invalid volume specification: '/src:/:nocopy': invalid mount config for type "
            "\"bind\": field VolumeOptions must not be specified");
    refused(NULL, "{\"Binds\":[\"/src:/dst:z,Z\"]}", "invalid mode: z,Z");
    refused(NULL, "{\"Binds\":[\"/src:/dst:rshared,rslave\"]}", "invalid mode: rshared,rslave");
    if (access("/sys/fs/selinux/enforce", F_OK) < 0) /* relabeling is SELinux's only */
        accepted(NULL, "{\"Binds\":[\"/src:/dst:z\",\"/src:/dst2:Z,ro,rshared\"]}");
}

static void test_mounts(void **state)
{
    (void)state;
    accepted(NULL, "{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/s\",\"Target\":\"/t\","
                   "\"BindOptions\":{\"Propagation\":\"rslave\"}}]}");
    refused(NULL, "{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"relmount\",\"Target\":\"/t\"}]}",
            "invalid mount config for type \"bind\": invalid mount path: 'relmount' mount path "
            "must be absolute");
    refused(NULL, "{\"Mounts\":[{\"Type\":\"bind\",\"Target\":\"/t\"}]}",
            "invalid mount config for type \"bind\": field Source must not be empty");
    refused(NULL, "{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/s\"}]}",
            "invalid mount config for type \"bind\": field Target must not be empty");
    refused(NULL, "{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/s\",\"Target\":\"/..\"}]}",
            "invalid mount config for type \"bind\": invalid specification: destination can't "
            "be '/'");
    refused(NULL,
            "{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/s\",\"Target\":\"/t\","
            "\"BindOptions\":{\"Propagation\":\"up\"}}]}",
            "invalid mount config for type \"bind\": invalid propagation mode: up");
    refused(NULL,
            "{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/s\",\"Target\":\"/t\","
            "\"VolumeOptions\":{}}]}",
            "invalid mount config for type \"bind\": field VolumeOptions must not be specified");
    refused(NULL, "{\"Mounts\":[{\"Type\":\"x\\n\",\"Target\":\"/t\"}]}",
            "invalid mount config for type \"x\\n\": mount type unknown");
    accepted(NULL, "{\"Mounts\":[{\"Type\":\"volume\",\"Target\":\"/t\"},{\"Type\":\"volume\","
                   "\"Source\":\"v\",\"Target\":\"/u\",\"VolumeOptions\":{\"NoCopy\":true}}]}");
    refused(NULL,
            "{\"Mounts\":[{\"Type\":\"volume\",\"Target\":\"/t\",\"VolumeOptions\":"
            "{\"Subpath\":\"a\"}}]}",
            "invalid mount config for type \"volume\": must not set Subpath when using anonymous "
            "volumes");
    refused(NULL,
            "{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/t\","
            "\"VolumeOptions\":{\"Subpath\":\"../a\"}}]}",
            "invalid mount config for type \"volume\": subpath must be a relative path within the "
            "volume");
    refused(NULL, "{\"Mounts\":[{\"Type\":\"image\",\"Source\":\"i\",\"Target\":\"/t\"}]}",
            "mounts of type \"image\" are not supported yet");
    /* each type's options on its own type only, checked before anything else (moby's order) */
    refused(NULL, "{\"Mounts\":[{\"Type\":\"tmpfs\",\"BindOptions\":{}}]}",
            "invalid mount config for type \"tmpfs\": field BindOptions must not be specified");
    refused(NULL,
            "{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/s\",\"Target\":\"/t\","
            "\"TmpfsOptions\":{\"SizeBytes\":1}}]}",
            "invalid mount config for type \"bind\": field TmpfsOptions must not be specified");
}

static void test_tmpfs_mounts(void **state)
{
    (void)state;
    accepted(NULL, "{\"Mounts\":[{\"Type\":\"tmpfs\",\"Target\":\"/t\"}]}");
    accepted(NULL, "{\"Mounts\":[{\"Type\":\"tmpfs\",\"Target\":\"/t\",\"TmpfsOptions\":"
                   "{\"SizeBytes\":1048576,\"Mode\":1023,\"Options\":[[\"exec\"]]}}]}");
    refused(NULL, "{\"Mounts\":[{\"Type\":\"tmpfs\",\"Source\":\"/s\",\"Target\":\"/t\"}]}",
            "invalid mount config for type \"tmpfs\": field Source must not be specified");
    refused(NULL, "{\"Mounts\":[{\"Type\":\"tmpfs\",\"Target\":\"/\"}]}",
            "invalid mount config for type \"tmpfs\": invalid specification: destination can't "
            "be '/'");
    refused(NULL,
            "{\"Mounts\":[{\"Type\":\"tmpfs\",\"Target\":\"/t\",\"TmpfsOptions\":"
            "{\"Options\":[[\"suid\"]]}}]}",
            "invalid mount config for type \"tmpfs\": invalid option: suid");
    refused(NULL,
            "{\"Mounts\":[{\"Type\":\"tmpfs\",\"Target\":\"/t\",\"TmpfsOptions\":"
            "{\"Options\":[[\"exec\",\"a\",\"b\"]]}}]}",
            "invalid mount config for type \"tmpfs\": invalid option array length");
}

static void test_dns_and_domainname(void **state)
{
    (void)state;
    accepted("{\"Domainname\":\"example.org\"}",
             "{\"DnsSearch\":[\"a.example\",\".\"],\"DnsOptions\":[\"ndots:2\",\"rotate\"]}");
    refused(NULL, "{\"DnsSearch\":[\"a b\"]}", "invalid DNS search domain: \"a b\"");
    refused(NULL, "{\"DnsOptions\":[\"ndots:1\\nnameserver 1.2.3.4\"]}",
            "invalid DNS option: \"ndots:1\\nnameserver 1.2.3.4\"");
    refused(NULL, "{\"DnsOptions\":[\"\"]}", "invalid DNS option: \"\"");
    refused("{\"Domainname\":\"a\\tb\"}", "{}",
            "invalid domainname \"a\\tb\": whitespace and control characters are not allowed");
    _cleanup_free_ char *config = xasprintf("{\"Domainname\":\"%065d\"}", 0);
    _cleanup_free_ char *want = xasprintf("domainname \"%065d\" is too long (maximum 64 bytes)", 0);
    refused(config, "{}", want);
}

/* This machine has neither AppArmor nor SELinux: what asks for confinement is refused, what
 * asks for none is accepted (as dockerd does everywhere). */
static void test_lsm_opts(void **state)
{
    (void)state;
    if (access("/sys/kernel/security/apparmor", F_OK) == 0 ||
        access("/sys/fs/selinux/enforce", F_OK) == 0)
        skip();
    accepted(NULL, "{\"SecurityOpt\":[\"apparmor=unconfined\",\"label=disable\",\"disable\","
                   "\"label:disable\"]}");
    refused(NULL, "{\"SecurityOpt\":[\"apparmor=docker-default\"]}",
            "--security-opt apparmor=docker-default: AppArmor is not enabled on this host");
    refused(NULL, "{\"SecurityOpt\":[\"label=type:container_t\"]}",
            "--security-opt label=type:container_t: SELinux is not enabled on this host");
    refused(NULL, "{\"SecurityOpt\":[\"label=disable\",\"label=level:s0:c1\"]}",
            "--security-opt label=level:s0:c1: SELinux is not enabled on this host");
}

static void test_mount_sources(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = tu_tmpdir("verify");
    _cleanup_free_ char *hc_text =
        xasprintf("{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"%s\",\"Target\":\"/a\"},"
                  "{\"Type\":\"bind\",\"Source\":\"%s/made\",\"Target\":\"/b\","
                  "\"BindOptions\":{\"CreateMountpoint\":true}},"
                  "{\"Type\":\"bind\",\"Source\":\"%s/missing\",\"Target\":\"/c\"}]}",
                  dir, dir, dir);
    json_t *hc = json_loads(hc_text, 0, NULL);
    _cleanup_err_ struct berth_err *err = NULL;
    assert_true(verify_mount_sources(hc, &err) < 0);
    _cleanup_free_ char *want = xasprintf("invalid mount config for type \"bind\": bind source "
                                          "path does not exist: %s/missing",
                                          dir);
    assert_string_equal(err->msg, want);
    assert_int_equal(err->status, EINVAL);
    json_array_remove(json_object_get(hc, "Mounts"), 2);
    berth_err_free(err);
    err = NULL;
    assert_int_equal(verify_mount_sources(hc, &err), 0);
    json_decref(hc);
    tu_rm_rf(dir);
}

static void test_extra_hosts(void **state)
{
    (void)state;
    accepted(NULL, "{\"ExtraHosts\":[\"db:10.0.0.7\",\"v6:fd00::7\",\"m:::ffff:1.2.3.4\"]}");
    refused(NULL, "{\"ExtraHosts\":[\"evil:1.2.3.4\\n6.6.6.6 bank\"]}",
            "invalid IP address in add-host: \"1.2.3.4\\n6.6.6.6 bank\"");
    refused(NULL, "{\"ExtraHosts\":[\"a\\n6.6.6.6 bank:1.2.3.4\"]}",
            "bad format for add-host: \"a\\n6.6.6.6 bank:1.2.3.4\"");
    refused(NULL, "{\"ExtraHosts\":[\"a b:1.2.3.4\"]}", "bad format for add-host: \"a b:1.2.3.4\"");
    refused(NULL, "{\"ExtraHosts\":[\":1.2.3.4\"]}", "bad format for add-host: \":1.2.3.4\"");
    refused(NULL, "{\"ExtraHosts\":[\"x\"]}", "bad format for add-host: \"x\"");
    refused(NULL, "{\"ExtraHosts\":[\"x:01.2.3.4\"]}",
            "invalid IP address in add-host: \"01.2.3.4\"");
    accepted(NULL, "{\"ExtraHosts\":[\"gw:host-gateway\"]}"); /* its address: at start */
    refused(NULL, "{\"Dns\":[\"8.8.8.8\",\"1.1.1.1\\nnameserver 6.6.6.6\"]}",
            "bad nameserver address 1.1.1.1\nnameserver 6.6.6.6");
}

static void test_config(void **state)
{
    (void)state;
    accepted("{\"WorkingDir\":\"/w\",\"StopSignal\":\"RTMIN+1\",\"Hostname\":\"a.b-c\","
             "\"Env\":[\"A=1\",\"B\"]}",
             "{}");
    refused("{\"WorkingDir\":\"rel\"}", "{}",
            "the working directory 'rel' is invalid, it needs to be an absolute path");
    refused("{\"StopSignal\":\"SIGPWN\"}", "{}", "invalid signal: SIGPWN");
    refused("{\"Env\":[\"=x\"]}", "{}", "invalid environment variable: =x");
    refused("{\"Hostname\":\"h\\nx\"}", "{}",
            "invalid hostname \"h\\nx\": whitespace and control characters are not allowed");
    refused("{\"Hostname\":\"h x\"}", "{}",
            "invalid hostname \"h x\": whitespace and control characters are not allowed");
    char long_name[70];
    memset(long_name, 'h', 65);
    long_name[65] = '\0';
    _cleanup_free_ char *config = xasprintf("{\"Hostname\":\"%s\"}", long_name);
    _cleanup_free_ char *msg =
        xasprintf("hostname \"%s\" is too long (maximum 64 bytes)", long_name);
    refused(config, "{}", msg);
    long_name[64] = '\0';
    _cleanup_free_ char *ok = xasprintf("{\"Hostname\":\"%s\"}", long_name);
    accepted(ok, "{}");
}

static void test_resources(void **state)
{
    (void)state;
    accepted(NULL, "{\"Memory\":67108864,\"MemorySwappiness\":-1,\"CpuShares\":0,"
                   "\"OomScoreAdj\":-1000,\"MemoryReservation\":33554432}");
    accepted(NULL, "{\"MemorySwappiness\":null,\"OomScoreAdj\":1000,\"CpuPeriod\":100000}");
    refused(NULL, "{\"Memory\":-1}", "Minimum memory limit allowed is 6MB");
    refused(NULL, "{\"MemorySwappiness\":500}",
            "Invalid value: 500, valid memory swappiness range is 0-100");
    refused(NULL, "{\"MemorySwappiness\":-2}",
            "Invalid value: -2, valid memory swappiness range is 0-100");
    refused(NULL, "{\"CpuShares\":-1}",
            "invalid CPU shares (-1): value must be a positive integer");
    refused(NULL, "{\"OomScoreAdj\":5000}",
            "Invalid value 5000, range for oom score adj is [-1000, 1000]");
    refused(NULL, "{\"OomScoreAdj\":-1001}",
            "Invalid value -1001, range for oom score adj is [-1000, 1000]");
    refused(NULL, "{\"ShmSize\":-1}", "SHM size can not be less than 0");
    refused(NULL, "{\"MemoryReservation\":1}", "Minimum memory reservation allowed is 6MB");
    refused(NULL, "{\"Memory\":10000000,\"MemoryReservation\":20000000}",
            "Minimum memory limit can not be less than memory reservation limit, see usage");
    refused(NULL, "{\"NanoCpus\":1000000000,\"CpuQuota\":50000}",
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    refused(NULL, "{\"CpuPeriod\":10}",
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
    refused(NULL, "{\"CpuQuota\":10}", "CPU cfs quota can not be less than 1ms (i.e. 1000)");
    refused(NULL, "{\"BlkioWeight\":5}", "Range of blkio weight is from 10 to 1000");
    refused(NULL, "{\"Tmpfs\":{\"run\":\"\"}}",
            "invalid mount path: 'run' mount path must be "
            "absolute");
    refused(NULL, "{\"Tmpfs\":{\"/\":\"\"}}", "invalid specification: destination can't be '/'");
    refused(NULL, "{\"CgroupnsMode\":\"bogus\"}", "invalid cgroup namespace mode: bogus");
}

static void test_ulimits(void **state)
{
    (void)state;
    accepted(NULL, "{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":1024,\"Hard\":2048},"
                   "{\"Name\":\"core\",\"Soft\":-1,\"Hard\":-1},"
                   "{\"Name\":\"memlock\",\"Soft\":1024,\"Hard\":-1}]}");
    refused(NULL, "{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":2048,\"Hard\":1024}]}",
            "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024");
    refused(NULL, "{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":-1,\"Hard\":1024}]}",
            "ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), "
            "hard: 1024");
    refused(NULL, "{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":-2,\"Hard\":-1}]}",
            "invalid ulimit value for nofile: -2:-1 (-1 is unlimited)");
    refused(NULL, "{\"Ulimits\":[{\"Soft\":1,\"Hard\":1}]}", "invalid ulimit type: ");
}

static void test_runtime_and_unsupported(void **state)
{
    (void)state;
    accepted(NULL, "{\"Runtime\":\"runc\",\"Links\":[],\"DeviceCgroupRules\":null}");
    accepted(NULL, "{\"Runtime\":\"io.containerd.runc.v2\"}");
    accepted(NULL, "{\"Runtime\":\"berth\"}");
    refused(NULL, "{\"Runtime\":\"kata\"}", "unknown or invalid runtime name: kata");
    accepted(NULL, "{\"Links\":[\"a:b\"]}"); /* the linked container is looked up later */
    refused(NULL, "{\"NetworkMode\":\"host\",\"Links\":[\"a:b\"]}",
            "conflicting options: host type networking can't be used with links. This would "
            "result in undefined behavior");
    accepted(NULL, "{\"DeviceCgroupRules\":[\"c 1:3 r\"]}");
    refused(NULL, "{\"DeviceCgroupRules\":[\"c 1:3 x\"]}",
            "invalid device cgroup rule format: 'c 1:3 x'");
    /* dockerd's own words come first */
    refused(NULL, "{\"Links\":[\"a:b\"],\"OomScoreAdj\":5000}",
            "Invalid value 5000, range for oom score adj is [-1000, 1000]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signals),
        cmocka_unit_test(test_rlimits),
        cmocka_unit_test(test_go_quote),
        cmocka_unit_test(test_is_root),
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_binds),
        cmocka_unit_test(test_mounts),
        cmocka_unit_test(test_tmpfs_mounts),
        cmocka_unit_test(test_dns_and_domainname),
        cmocka_unit_test(test_lsm_opts),
        cmocka_unit_test(test_mount_sources),
        cmocka_unit_test(test_extra_hosts),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_resources),
        cmocka_unit_test(test_ulimits),
        cmocka_unit_test(test_runtime_and_unsupported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
