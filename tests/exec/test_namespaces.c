/* tests/exec/test_namespaces.c — exec/namespaces.c: the namespace modes of a HostConfig, dockerd's
 * create-time checks of them and runc's of sysctls (words and status), daemon.json's defaults,
 * and the settling at create (defaults filled in, "container:NAME" made "container:ID"). The
 * joins at start are covered through berthd by the integration suite 45-namespaces. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exec/namespaces.c" /* the static helpers: sysctl_dotted, check_sysctl */
#include "tests/testutil.h"

static json_t *parse(const char *text)
{
    json_t *j = json_loads(text ? text : "{}", 0, NULL);
    assert_non_null(j);
    return j;
}

/* ns_check_request + ns_check_modes on a Config and a HostConfig given as JSON text: the
 * message, or NULL when they pass. Fails the test when the status is not EINVAL. Heap. */
static char *refusal(const char *config, const char *hc)
{
    _cleanup_json_ json_t *c = parse(config), *h = parse(hc);
    _cleanup_err_ struct berth_err *err = NULL;
    int r = ns_check_request(c, h, &err);
    if (r == 0)
        r = ns_check_modes(h, &err);
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

static void test_modes(void **state)
{
    (void)state;
    struct ns_modes m;
    _cleanup_json_ json_t *none = parse("{}");
    ns_modes(none, &m);
    assert_int_equal(m.net, NS_PRIVATE);
    assert_int_equal(m.ipc, NS_PRIVATE);
    assert_int_equal(m.pid, NS_PRIVATE);
    assert_int_equal(m.uts, NS_PRIVATE);
    assert_int_equal(m.cgroup, cgroup_unified() ? NS_PRIVATE : NS_HOST);
    _cleanup_json_ json_t *hc =
        parse("{\"NetworkMode\":\"container:web\",\"IpcMode\":\"shareable\","
              "\"PidMode\":\"host\",\"UTSMode\":\"host\","
              "\"CgroupnsMode\":\"private\"}");
    ns_modes(hc, &m);
    assert_int_equal(m.net, NS_CONTAINER);
    assert_string_equal(m.net_of, "web");
    assert_int_equal(m.ipc, NS_SHAREABLE);
    assert_int_equal(m.pid, NS_HOST);
    assert_int_equal(m.uts, NS_HOST);
    assert_int_equal(m.cgroup, NS_PRIVATE);
    _cleanup_json_ json_t *hc2 = parse("{\"NetworkMode\":\"none\",\"IpcMode\":\"container:db\","
                                       "\"PidMode\":\"container:db\",\"CgroupnsMode\":\"host\"}");
    ns_modes(hc2, &m);
    assert_int_equal(m.net, NS_PRIVATE); /* none: a netns of its own with only lo */
    assert_int_equal(m.ipc, NS_CONTAINER);
    assert_string_equal(m.ipc_of, "db");
    assert_int_equal(m.pid, NS_CONTAINER);
    assert_string_equal(m.pid_of, "db");
    assert_int_equal(m.cgroup, NS_HOST);
    _cleanup_json_ json_t *hc3 = parse("{\"IpcMode\":\"none\",\"NetworkMode\":\"host\"}");
    ns_modes(hc3, &m);
    assert_int_equal(m.ipc, NS_NONE);
    assert_int_equal(m.net, NS_HOST);
    assert_true(ns_pid_private(hc3));
    assert_false(ns_pid_private(hc));
    assert_false(ns_pid_private(hc2));
}

static void test_mode_values(void **state)
{
    (void)state;
    const char *good[] = {"{\"IpcMode\":\"\"}",
                          "{\"IpcMode\":\"none\"}",
                          "{\"IpcMode\":\"private\"}",
                          "{\"IpcMode\":\"host\"}",
                          "{\"IpcMode\":\"shareable\"}",
                          "{\"IpcMode\":\"container:x1\"}",
                          "{\"PidMode\":\"host\"}",
                          "{\"PidMode\":\"container:x1\"}",
                          "{\"UTSMode\":\"host\"}",
                          "{\"UTSMode\":\"\",\"PidMode\":\"\"}",
                          NULL};
    for (const char **g = good; *g; g++)
        accepted(NULL, *g);
    refused(NULL, "{\"IpcMode\":\"bogus\"}", "invalid IPC mode: bogus");
    refused(NULL, "{\"IpcMode\":\"container:\"}", "invalid IPC mode: container:");
    refused(NULL, "{\"PidMode\":\"private\"}", "invalid PID mode: private");
    refused(NULL, "{\"PidMode\":\"container:\"}", "invalid PID mode: container:");
    refused(NULL, "{\"UTSMode\":\"private\"}", "invalid UTS mode: private");
}

static void test_network_container(void **state)
{
    (void)state;
    accepted(NULL, "{\"NetworkMode\":\"container:web\"}");
    refused(NULL, "{\"NetworkMode\":\"container:\"}",
            "invalid network mode: invalid container format container:<name|id>");
    refused(NULL, "{\"NetworkMode\":\"container\"}",
            "invalid network mode: invalid container format container:<name|id>");
    refused("{\"Hostname\":\"h\"}", "{\"NetworkMode\":\"container:web\"}",
            "conflicting options: hostname and the network mode");
    refused(NULL, "{\"NetworkMode\":\"container:web\",\"Dns\":[\"1.1.1.1\"]}",
            "conflicting options: dns and the network mode");
    refused(NULL, "{\"NetworkMode\":\"container:web\",\"ExtraHosts\":[\"a:1.2.3.4\"]}",
            "conflicting options: custom host-to-IP mapping and the network mode");
    refused(NULL, "{\"NetworkMode\":\"container:web\",\"PublishAllPorts\":true}",
            "conflicting options: port publishing and the container type network mode");
    refused(NULL,
            "{\"NetworkMode\":\"container:web\",\"PortBindings\":{\"80/"
            "tcp\":[{\"HostPort\":\"8080\"}]}}",
            "conflicting options: port publishing and the container type network mode");
    refused("{\"ExposedPorts\":{\"80/tcp\":{}}}", "{\"NetworkMode\":\"container:web\"}",
            "conflicting options: port exposing and the container type network mode");
    refused(NULL, "{\"NetworkMode\":\"container:web\",\"Links\":[\"a:b\"]}",
            "conflicting options: container type network can't be used with links. This would "
            "result in undefined behavior");
    /* empty lists are no conflict, and a hostname is fine with the host's network */
    accepted("{\"ExposedPorts\":{}}", "{\"NetworkMode\":\"container:web\",\"Dns\":[]}");
    accepted("{\"Hostname\":\"h\"}", "{\"NetworkMode\":\"host\"}");
    refused("{\"Hostname\":\"h\"}", "{\"UTSMode\":\"host\"}",
            "conflicting options: hostname and the UTS mode");
    accepted("{\"Hostname\":\"\"}", "{\"UTSMode\":\"host\"}");
}

static void test_sysctl_spelling(void **state)
{
    (void)state;
    _cleanup_free_ char *a = sysctl_dotted("net.ipv4.ip_forward");
    _cleanup_free_ char *b = sysctl_dotted("net/ipv4/ip_forward");
    _cleanup_free_ char *c = sysctl_dotted("net/ipv4/conf/eth0.100/forwarding");
    _cleanup_free_ char *d = sysctl_dotted("kernel");
    assert_string_equal(a, "net.ipv4.ip_forward");
    assert_string_equal(b, "net.ipv4.ip_forward");
    assert_string_equal(c, "net.ipv4.conf.eth0/100.forwarding");
    assert_string_equal(d, "kernel");
}

static void test_sysctls(void **state)
{
    (void)state;
    accepted(NULL, "{\"Sysctls\":{\"kernel.shmmax\":\"1000\",\"kernel.sem\":\"1 2 3 4\","
                   "\"kernel.msgmnb\":\"1\",\"kernel.shm_rmid_forced\":\"1\","
                   "\"fs.mqueue.msg_max\":\"20\",\"net.ipv4.ip_forward\":\"1\","
                   "\"net/ipv4/ping_group_range\":\"0 0\",\"kernel.domainname\":\"d\"}}");
    accepted(NULL, "{\"Sysctls\":null}");
    accepted(NULL, "{\"IpcMode\":\"container:db\",\"Sysctls\":{\"kernel.shmmax\":\"1\"}}");
    accepted(NULL,
             "{\"NetworkMode\":\"container:db\",\"Sysctls\":{\"net.ipv4.ip_forward\":\"1\"}}");
    accepted(NULL, "{\"NetworkMode\":\"none\",\"Sysctls\":{\"net.ipv4.ip_forward\":\"1\"}}");
    refused(NULL, "{\"Sysctls\":{\"kernel.foo\":\"1\"}}",
            "sysctl \"kernel.foo\" is not in a separate kernel namespace");
    refused(NULL, "{\"Sysctls\":{\"vm.swappiness\":\"1\"}}",
            "sysctl \"vm.swappiness\" is not in a separate kernel namespace");
    refused(NULL, "{\"Sysctls\":{\"kernel/core_pattern\":\"x\"}}",
            "sysctl \"kernel.core_pattern\" is not in a separate kernel namespace");
    refused(NULL, "{\"NetworkMode\":\"host\",\"Sysctls\":{\"net.ipv4.ip_forward\":\"1\"}}",
            "sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace");
    refused(NULL, "{\"IpcMode\":\"host\",\"Sysctls\":{\"kernel.shmmax\":\"1\"}}",
            "sysctl \"kernel.shmmax\" is not allowed in the hosts ipc namespace");
    refused(NULL, "{\"IpcMode\":\"host\",\"Sysctls\":{\"fs.mqueue.msg_max\":\"1\"}}",
            "sysctl \"fs.mqueue.msg_max\" is not allowed in the hosts ipc namespace");
    refused(NULL, "{\"UTSMode\":\"host\",\"Sysctls\":{\"kernel.domainname\":\"d\"}}",
            "sysctl \"kernel.domainname\" is not in a separate kernel namespace");
    refused(NULL, "{\"Sysctls\":{\"kernel.hostname\":\"h\"}}",
            "sysctl \"kernel.hostname\" is not allowed as it conflicts with the OCI \"hostname\" "
            "field");
    refused(NULL, "{\"Sysctls\":{\"user.max_user_namespaces\":\"0\"}}",
            "setting ucounts without a user namespace not allowed: user.max_user_namespaces");
    refused(NULL, "{\"Sysctls\":{\"net.ipv4.ip_forward\":1}}",
            "json: cannot unmarshal value into Go struct field HostConfig.HostConfig.Sysctls of "
            "type string");
    refused(NULL, "{\"Sysctls\":[\"net.ipv4.ip_forward=1\"]}",
            "json: cannot unmarshal array into Go struct field HostConfig.HostConfig.Sysctls of "
            "type map[string]string");
}

static void defaults_refused(const char *file, const char *msg)
{
    _cleanup_json_ json_t *f = parse(file);
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(ns_check_defaults(f, &err) < 0, msg != NULL);
    if (msg)
        assert_string_equal(err->msg, msg);
}

static void test_daemon_defaults(void **state)
{
    (void)state;
    defaults_refused("{}", NULL);
    defaults_refused("{\"default-ipc-mode\":\"shareable\",\"default-cgroupns-mode\":\"host\"}",
                     NULL);
    defaults_refused("{\"default-ipc-mode\":\"private\",\"default-cgroupns-mode\":\"private\"}",
                     NULL);
    defaults_refused("{\"default-ipc-mode\":\"bogus\"}",
                     "default IPC mode setting (bogus) is invalid; use \"shareable\" or "
                     "\"private\"");
    defaults_refused("{\"default-ipc-mode\":\"host\"}",
                     "IPC mode \"host\" is not supported as default value; use \"shareable\" or "
                     "\"private\"");
    defaults_refused("{\"default-cgroupns-mode\":\"bogus\"}",
                     "invalid default cgroup namespace (bogus): use \"host\" or \"private\"");
}

/* A store in a temp dir with one container "donor" in it. */
struct fixture {
    char *root;
    struct ctr_store *cs;
    struct container *donor;
};

static int setup_store(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    f->root = tu_tmpdir("nstest");
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(ctr_store_open(f->root, NULL, &f->cs, &err), 0);
    f->donor = xcalloc(1, sizeof(*f->donor));
    ctr_new_id(f->donor->id);
    f->donor->name = xstrdup("donor");
    f->donor->config = json_object();
    f->donor->host_config = json_object();
    ctr_add(f->cs, f->donor, NULL);
    *state = f;
    return 0;
}

static int teardown_store(void **state)
{
    struct fixture *f = *state;
    ctr_store_close(f->cs);
    tu_rm_rf(f->root);
    free(f->root);
    free(f);
    return 0;
}

static void test_settle(void **state)
{
    struct fixture *f = *state;
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_json_ json_t *hc = parse("{\"PidMode\":\"container:donor\","
                                      "\"IpcMode\":\"container:donor\","
                                      "\"NetworkMode\":\"container:donor\"}");
    assert_int_equal(ns_settle(f->cs, hc, NULL, NULL, &err), 0);
    _cleanup_free_ char *want = xasprintf("container:%s", f->donor->id);
    assert_string_equal(json_get_str(hc, "PidMode"), want);
    assert_string_equal(json_get_str(hc, "IpcMode"), want);
    assert_string_equal(json_get_str(hc, "NetworkMode"), want);
    assert_string_equal(json_get_str(hc, "CgroupnsMode"), cgroup_unified() ? "private" : "host");

    _cleanup_json_ json_t *plain = parse("{}");
    assert_int_equal(ns_settle(f->cs, plain, NULL, NULL, &err), 0);
    assert_string_equal(json_get_str(plain, "IpcMode"), "private");
    _cleanup_json_ json_t *daemon = parse("{\"Privileged\":true}");
    assert_int_equal(ns_settle(f->cs, daemon, "shareable", "private", &err), 0);
    assert_string_equal(json_get_str(daemon, "IpcMode"), "shareable");
    /* dockerd: a privileged container on cgroup v1 keeps the host's, whatever the default */
    assert_string_equal(json_get_str(daemon, "CgroupnsMode"),
                        cgroup_unified() ? "private" : "host");
    _cleanup_json_ json_t *mine = parse("{\"IpcMode\":\"none\",\"CgroupnsMode\":\"host\"}");
    assert_int_equal(ns_settle(f->cs, mine, "shareable", "private", &err), 0);
    assert_string_equal(json_get_str(mine, "IpcMode"), "none");
    assert_string_equal(json_get_str(mine, "CgroupnsMode"), "host");

    /* a missing donor: 404 for PID and IPC at create, the network's is left for the start */
    _cleanup_json_ json_t *pid = parse("{\"PidMode\":\"container:gone\"}");
    assert_int_equal(ns_settle(f->cs, pid, NULL, NULL, &err) < 0, true);
    assert_int_equal(err->status, ENOENT);
    assert_string_equal(err->msg, "No such container: gone");
    berth_err_freep(&err);
    _cleanup_json_ json_t *ipc = parse("{\"IpcMode\":\"container:gone\"}");
    assert_int_equal(ns_settle(f->cs, ipc, NULL, NULL, &err) < 0, true);
    assert_string_equal(err->msg, "No such container: gone");
    berth_err_freep(&err);
    _cleanup_json_ json_t *net = parse("{\"NetworkMode\":\"container:gone\"}");
    assert_int_equal(ns_settle(f->cs, net, NULL, NULL, &err), 0);
    assert_string_equal(json_get_str(net, "NetworkMode"), "container:gone");
}

static void test_etc_dir_and_joins(void **state)
{
    struct fixture *f = *state;
    _cleanup_err_ struct berth_err *err = NULL;
    struct container c = {.id = "self", .dir = "/nowhere/self"};
    c.host_config = parse("{\"NetworkMode\":\"container:donor\"}");
    c.config = json_object();
    assert_string_equal(ns_etc_dir(f->cs, &c), f->donor->dir);
    /* the donor does not run: refused with dockerd's words, 409 */
    struct ns_join *j = NULL;
    assert_true(ns_join_resolve(f->cs, &c, &j, &err) < 0);
    assert_null(j);
    assert_int_equal(err->status, EBUSY);
    assert_string_equal(err->msg, "cannot join network namespace of a non running container: "
                                  "container donor is created");
    berth_err_freep(&err);
    json_decref(c.host_config);
    c.host_config = parse("{\"PidMode\":\"container:donor\"}");
    assert_true(ns_join_resolve(f->cs, &c, &j, &err) < 0);
    _cleanup_free_ char *msg =
        xasprintf("failed to join PID namespace: container donor is not running");
    assert_string_equal(err->msg, msg);
    berth_err_freep(&err);
    json_decref(c.host_config);
    c.host_config = parse("{\"IpcMode\":\"container:nobody\"}");
    assert_true(ns_join_resolve(f->cs, &c, &j, &err) < 0);
    assert_int_equal(err->status, EINVAL);
    assert_string_equal(err->msg, "failed to join IPC namespace: No such container: nobody");
    berth_err_freep(&err);
    /* nothing to join: no work, no struct */
    json_decref(c.host_config);
    c.host_config = parse("{\"IpcMode\":\"private\",\"NetworkMode\":\"none\"}");
    assert_int_equal(ns_join_resolve(f->cs, &c, &j, &err), 0);
    assert_null(j);
    assert_string_equal(ns_etc_dir(f->cs, &c), "/nowhere/self");
    /* shareable: its own tmpfs at DIR/shm */
    json_decref(c.host_config);
    c.host_config = parse("{\"IpcMode\":\"shareable\",\"ShmSize\":1048576}");
    assert_int_equal(ns_join_resolve(f->cs, &c, &j, &err), 0);
    assert_non_null(j);
    assert_string_equal(j->shm, "/nowhere/self/shm");
    assert_true(j->own_shm);
    assert_int_equal(j->shm_size, 1048576);
    assert_int_equal(j->net, -1);
    ns_join_free(j);
    json_decref(c.host_config);
    json_decref(c.config);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_mode_values),
        cmocka_unit_test(test_network_container),
        cmocka_unit_test(test_sysctl_spelling),
        cmocka_unit_test(test_sysctls),
        cmocka_unit_test(test_daemon_defaults),
        cmocka_unit_test_setup_teardown(test_settle, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_etc_dir_and_joins, setup_store, teardown_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
