/* tests/net/network/test_bridge.c — net/network/bridge*.c: daemon.json's keys and dockerd's
 * refusals, Docker's MAC rule, the endpoint record, and against the kernel (in a network
 * namespace of the program's own, made before any test) the bridge made, reused, re-addressed
 * and remade, the subnet that avoids a docker0, a user's bridge left as it is, endpoints
 * plumbed into namespaces with their addresses handed out lowest first, and the stale veths a
 * crash leaves removed while others' links stay. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "core/xalloc.h"
#include "net/network/bridge.h"
#include "net/network/netlink.h"
#include "tests/testutil.h"

static bool in_own_netns;

#define NEED_NETNS()                                                                               \
    do {                                                                                           \
        if (!in_own_netns)                                                                         \
            skip();                                                                                \
    } while (0)

#define OK(call)                                                                                   \
    do {                                                                                           \
        _cleanup_err_ struct berth_err *_e = NULL;                                                 \
        struct berth_err **err_ = &_e;                                                             \
        int _r = (call);                                                                           \
        if (_r < 0)                                                                                \
            fail_msg("%s: %s", #call, _e ? _e->msg : "?");                                         \
    } while (0)
#define E err_

static void parse(const char *text, struct netbr_config *c)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    if (text)
        assert_non_null(j);
    OK(netbr_config_parse(j, c, E));
    json_decref(j);
}

static void refused(const char *text, const char *words)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    struct netbr_config c;
    _cleanup_err_ struct berth_err *err = NULL;
    assert_true(netbr_config_parse(j, &c, &err) < 0);
    json_decref(j);
    if (strncmp(err->msg, words, strlen(words)) != 0)
        fail_msg("%s: expected `%s...`, got `%s`", text, words, err->msg);
    assert_int_equal(err->status, EINVAL);
}

/* ---- pure ---- */

static void test_mac_rule(void **state)
{
    (void)state;
    struct ipam_addr a;
    uint8_t mac[6];
    char s[18];
    assert_true(ipam_addr_parse("172.17.0.2", &a));
    netbr_mac_from_ip(&a, mac);
    assert_string_equal(netbr_mac_str(mac, s), "02:42:ac:11:00:02");
    assert_true(ipam_addr_parse("10.255.1.254", &a));
    netbr_mac_from_ip(&a, mac);
    assert_string_equal(netbr_mac_str(mac, s), "02:42:0a:ff:01:fe");
}

static void test_config_defaults(void **state)
{
    (void)state;
    struct netbr_config c;
    parse(NULL, &c);
    assert_false(c.disabled);
    assert_false(c.user_bridge);
    assert_string_equal(c.name, "berth0");
    assert_int_equal(c.mtu, 1500);
    assert_true(c.ip_forward && c.icc && c.iptables && c.ip_masq);
    assert_null(c.bip);
    assert_int_equal(c.npools, 0);
    netbr_config_free(&c);
    parse("{\"bridge\":\"none\"}", &c);
    assert_true(c.disabled);
    netbr_config_free(&c);
    parse("{\"bridge\":\"\",\"mtu\":0}", &c); /* dockerd's zero values: the defaults */
    assert_false(c.disabled);
    assert_string_equal(c.name, "berth0");
    assert_int_equal(c.mtu, 1500);
    netbr_config_free(&c);
}

static void test_config_keys(void **state)
{
    (void)state;
    struct netbr_config c;
    parse("{\"bridge\":\"btbr\",\"mtu\":1400,\"icc\":false,\"ip-forward\":false,"
          "\"fixed-cidr\":\"10.1.0.0/24\",\"default-gateway\":\"10.1.0.254\",\"ip\":\"127.0.0.1\","
          "\"default-address-pools\":[{\"base\":\"10.99.0.0/16\",\"size\":24}]}",
          &c);
    assert_true(c.user_bridge);
    assert_string_equal(c.name, "btbr");
    assert_int_equal(c.mtu, 1400);
    assert_false(c.icc);
    assert_false(c.ip_forward);
    assert_string_equal(c.fixed_cidr, "10.1.0.0/24");
    assert_string_equal(c.default_gw, "10.1.0.254");
    assert_string_equal(c.host_ip, "127.0.0.1");
    assert_int_equal(c.npools, 1);
    assert_int_equal(c.pools[0].size, 24);
    netbr_config_free(&c);
    /* as dockerd: no iptables, no masquerading */
    parse("{\"iptables\":false,\"ip-masq\":true}", &c);
    assert_false(c.ip_masq);
    netbr_config_free(&c);
    parse("{\"bip\":\"192.168.5.1/24\"}", &c);
    assert_string_equal(c.bip, "192.168.5.1/24");
    netbr_config_free(&c);
}

static void test_config_refusals(void **state)
{
    (void)state;
    refused("{\"bridge\":\"br0\",\"bip\":\"10.0.0.1/24\"}",
            "You specified -b & --bip, mutually exclusive options. Please specify only one");
    refused("{\"icc\":false,\"iptables\":false}",
            "You specified --iptables=false with --icc=false. ICC=false uses iptables to "
            "function. Please set --icc or --iptables to true");
    refused("{\"mtu\":-1}", "invalid default MTU: -1");
    refused("{\"mtu\":\"1500\"}", "invalid type for configuration key `mtu`");
    refused("{\"icc\":\"no\"}", "invalid type for configuration key `icc`");
    refused("{\"bip\":\"10.0.0.1\"}", "parse bip failed");
    refused("{\"fixed-cidr\":\"fd00::/64\"}", "parse fixed-cidr failed");
    refused("{\"bridge\":\"a-name-far-too-long\"}", "bridge name a-name-far-too-long");
    refused("{\"default-address-pools\":[{\"base\":\"nope\",\"size\":24}]}",
            "default-address-pools:");
    /* not there yet: refused, never ignored */
    refused("{\"ipv6\":true}", "ipv6 (IPv6 on the default bridge) is not supported yet");
    refused("{\"fixed-cidr-v6\":\"fd00:1::/64\"}", "fixed-cidr-v6 is not supported yet");
    struct netbr_config c;
    parse("{\"ipv6\":false,\"fixed-cidr-v6\":\"\"}", &c);
    netbr_config_free(&c);
}

static void test_endpoint_record(void **state)
{
    (void)state;
    struct netbr_endpoint ep = {0}, back;
    memset(ep.id, 'a', 64);
    snprintf(ep.host_if, sizeof(ep.host_if), "vbaaaaaaaaaaa");
    assert_true(ipam_addr_parse("172.17.0.9", &ep.addr));
    netbr_mac_from_ip(&ep.addr, ep.mac);
    json_t *j = netbr_endpoint_json(&ep);
    assert_string_equal(json_string_value(json_object_get(j, "MacAddress")), "02:42:ac:11:00:09");
    assert_true(netbr_endpoint_from_json(j, &back));
    assert_string_equal(back.id, ep.id);
    assert_string_equal(back.host_if, ep.host_if);
    assert_true(ipam_addr_eq(&back.addr, &ep.addr));
    assert_memory_equal(back.mac, ep.mac, 6);
    json_object_set_new(j, "EndpointID", json_string("short"));
    assert_false(netbr_endpoint_from_json(j, &back));
    json_decref(j);
    assert_false(netbr_endpoint_from_json(NULL, &back));
}

/* ---- against the kernel ---- */

static struct nl_handle *handle(void)
{
    struct nl_handle *h = NULL;
    OK(nl_open(-1, &h, E));
    return h;
}

static bool link_exists(const char *name)
{
    _cleanup_nl_ struct nl_handle *h = handle();
    int idx;
    _cleanup_err_ struct berth_err *err = NULL;
    return nl_link_index(h, name, &idx, &err) == 0;
}

static void delete_link(const char *name)
{
    _cleanup_nl_ struct nl_handle *h = handle();
    nl_link_delete_name(h, name, NULL);
}

static struct nl_link get_link(int ns, const char *name)
{
    struct nl_handle *h = NULL;
    OK(nl_open(ns, &h, E));
    struct nl_link l;
    OK(nl_link_get(h, name, 0, &l, E));
    nl_close(h);
    return l;
}

/* The IPv4 addresses of a link, "a/n a/n", in netns ns (< 0: ours). */
static char *addrs_of(int ns, const char *name)
{
    struct nl_handle *h = NULL;
    OK(nl_open(ns, &h, E));
    struct nl_link l;
    OK(nl_link_get(h, name, 0, &l, E));
    struct nl_prefix *list = NULL;
    size_t n = 0;
    OK(nl_addr_list(h, l.ifindex, AF_INET, &list, &n, E));
    struct buf b = {0};
    for (size_t i = 0; i < n; i++) {
        char s[NL_PREFIX_STRLEN];
        buf_printf(&b, "%s%s", i ? " " : "", nl_prefix_format(&list[i], s));
    }
    free(list);
    nl_close(h);
    buf_reserve(&b, 0);
    return buf_steal(&b, NULL);
}

static struct netbr *open_with(const char *config)
{
    struct netbr_config c;
    parse(config, &c);
    struct netbr *b = NULL;
    OK(netbr_open(&c, &b, E));
    netbr_config_free(&c);
    return b;
}

static char *subnet_of(const struct netbr *b)
{
    char s[IPAM_PREFIX_STRLEN], g[IPAM_ADDR_STRLEN];
    return xasprintf("%s via %s", netbr_subnet_str(b, s), netbr_gateway_str(b, g));
}

static void test_open_makes_and_reuses(void **state)
{
    (void)state;
    NEED_NETNS();
    delete_link("berth0");
    struct netbr *b = open_with(NULL);
    _cleanup_free_ char *sub = subnet_of(b);
    assert_string_equal(sub, "172.17.0.0/16 via 172.17.0.1");
    assert_int_equal(strlen(b->id), 64);
    struct nl_link l = get_link(-1, "berth0");
    assert_string_equal(l.kind, "bridge");
    assert_true(l.flags & IFF_UP);
    assert_int_equal(l.mtu, 1500);
    assert_int_equal(l.mac[0] & 0x03, 0x02); /* its own, locally administered */
    _cleanup_free_ char *a = addrs_of(-1, "berth0");
    assert_string_equal(a, "172.17.0.1/16");
    char fwd[8];
    OK(nl_sysctl_get(-1, "ipv4/ip_forward", fwd, sizeof(fwd), E));
    assert_string_equal(fwd, "1");
    char id[65];
    memcpy(id, b->id, sizeof(id));
    netbr_close(b);
    /* a restart: the same link, the same subnet, a new network ID (as dockerd's) */
    b = open_with(NULL);
    struct nl_link again = get_link(-1, "berth0");
    assert_int_equal(again.ifindex, l.ifindex);
    assert_memory_equal(again.mac, l.mac, 6);
    assert_string_not_equal(b->id, id);
    netbr_close(b);
    /* bip changed since: the bridge carries the new address only */
    b = open_with("{\"bip\":\"10.20.0.1/24\",\"mtu\":1400}");
    _cleanup_free_ char *sub2 = subnet_of(b);
    assert_string_equal(sub2, "10.20.0.0/24 via 10.20.0.1");
    _cleanup_free_ char *a2 = addrs_of(-1, "berth0");
    assert_string_equal(a2, "10.20.0.1/24");
    assert_int_equal(get_link(-1, "berth0").mtu, 1400);
    netbr_close(b);
    /* no bip: the address on the bridge keeps the subnet across restarts */
    b = open_with(NULL);
    _cleanup_free_ char *sub3 = subnet_of(b);
    assert_string_equal(sub3, "10.20.0.0/24 via 10.20.0.1");
    netbr_close(b);
    /* default-address-pools: the bridge is made again, its subnet from the pools */
    b = open_with("{\"default-address-pools\":[{\"base\":\"10.99.0.0/16\",\"size\":24}]}");
    _cleanup_free_ char *sub4 = subnet_of(b);
    assert_string_equal(sub4, "10.99.0.0/24 via 10.99.0.1");
    netbr_close(b);
    delete_link("berth0");
}

/* A docker0 (any on-link route) on the host: the first default pool clashes, the next is
 * taken. */
static void test_subnet_avoids_docker0(void **state)
{
    (void)state;
    NEED_NETNS();
    delete_link("berth0");
    _cleanup_nl_ struct nl_handle *h = handle();
    struct nl_link_attrs up = {.up = true};
    OK(nl_bridge_create(h, "docker0", &up, E)); /* dummy links are a module some kernels lack */
    int idx;
    OK(nl_link_index(h, "docker0", &idx, E));
    struct nl_prefix p;
    assert_int_equal(nl_prefix_parse("172.17.0.1/16", &p), 0);
    OK(nl_addr_add(h, idx, &p, 0, E));
    struct netbr *b = open_with("{\"fixed-cidr\":\"172.18.5.0/24\"}");
    _cleanup_free_ char *sub = subnet_of(b);
    assert_string_equal(sub, "172.18.5.0/24 via 172.18.5.1");
    netbr_close(b);
    delete_link("berth0");
    b = open_with(NULL);
    _cleanup_free_ char *sub2 = subnet_of(b);
    assert_string_equal(sub2, "172.18.0.0/16 via 172.18.0.1");
    netbr_close(b);
    delete_link("berth0");
    OK(nl_link_delete(h, idx, E));
}

/* daemon.json names a bridge that exists: used with its address, never changed; one that does
 * not exist is made. */
static void test_user_bridge(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_nl_ struct nl_handle *h = handle();
    struct nl_link_attrs up = {.up = true, .mtu = 1500};
    OK(nl_bridge_create(h, "btuser", &up, E));
    int idx;
    OK(nl_link_index(h, "btuser", &idx, E));
    struct nl_prefix p;
    assert_int_equal(nl_prefix_parse("10.30.0.7/16", &p), 0);
    OK(nl_addr_add(h, idx, &p, 0, E));
    struct netbr *b = open_with("{\"bridge\":\"btuser\"}");
    _cleanup_free_ char *sub = subnet_of(b);
    assert_string_equal(sub, "10.30.0.0/16 via 10.30.0.7");
    _cleanup_free_ char *a = addrs_of(-1, "btuser");
    assert_string_equal(a, "10.30.0.7/16");
    assert_false(link_exists("berth0"));
    netbr_close(b);
    OK(nl_link_delete(h, idx, E));
    /* not there: made */
    b = open_with("{\"bridge\":\"btnew\"}");
    assert_true(link_exists("btnew"));
    netbr_close(b);
    delete_link("btnew");
    /* a link that is no bridge: refused */
    OK(nl_veth_create(h, "btdummy", &up, "btdummy1", -1, &up, E));
    struct netbr_config c;
    parse("{\"bridge\":\"btdummy\"}", &c);
    _cleanup_err_ struct berth_err *err = NULL;
    assert_true(netbr_open(&c, &b, &err) < 0);
    assert_non_null(strstr(err->msg, "error creating default \"bridge\" network: btdummy exists "
                                     "and is not a bridge"));
    netbr_config_free(&c);
    delete_link("btdummy");
}

static int new_netns(void)
{
    int fd = -1;
    OK(nl_netns_new(&fd, E));
    return fd;
}

/* Output of `sh -c cmd` in netns ns. */
static char *sh_in(int ns, const char *cmd)
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setns(ns, CLONE_NEWNET) < 0 || dup2(p[1], 1) < 0)
            _exit(127);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    struct buf out = {0};
    char chunk[4096];
    ssize_t n;
    while ((n = read(p[0], chunk, sizeof(chunk))) > 0)
        buf_append(&out, chunk, (size_t)n);
    close(p[0]);
    waitpid(pid, NULL, 0);
    buf_reserve(&out, 0);
    return buf_steal(&out, NULL);
}

static void test_endpoints(void **state)
{
    (void)state;
    NEED_NETNS();
    delete_link("berth0");
    struct netbr *b = open_with("{\"mtu\":1450}");
    struct netbr_endpoint e1, e2, e3;
    OK(netbr_endpoint_new(b, NULL, &e1, E));
    OK(netbr_endpoint_new(b, "02:42:aa:bb:cc:dd", &e2, E));
    char ip[IPAM_ADDR_STRLEN], mac[18];
    assert_string_equal(ipam_addr_fmt(&e1.addr, ip), "172.17.0.2");
    assert_string_equal(netbr_mac_str(e1.mac, mac), "02:42:ac:11:00:02");
    assert_string_equal(ipam_addr_fmt(&e2.addr, ip), "172.17.0.3");
    assert_string_equal(netbr_mac_str(e2.mac, mac), "02:42:aa:bb:cc:dd"); /* --mac-address */
    assert_int_equal(strncmp(e1.host_if, "vb", 2), 0);
    assert_string_not_equal(e1.host_if, e2.host_if);
    int ns1 = new_netns(), ns2 = new_netns();
    json_t *ports = NULL;
    OK(netbr_endpoint_plumb(b, &e1, ns1, &(struct netbr_ctr){.id = "c1", .name = "c1"}, &ports, E));
    assert_null(ports); /* nothing published */
    OK(netbr_endpoint_plumb(b, &e2, ns2, &(struct netbr_ctr){.id = "c2", .name = "c2"}, &ports, E));
    struct nl_link eth0 = get_link(ns1, "eth0"), host = get_link(-1, e1.host_if);
    assert_int_equal(eth0.mtu, 1450);
    assert_memory_equal(eth0.mac, e1.mac, 6);
    assert_true(eth0.flags & IFF_UP);
    assert_int_equal(host.master, b->ifindex);
    assert_int_equal(host.mtu, 1450);
    _cleanup_free_ char *a = addrs_of(ns1, "eth0");
    assert_string_equal(a, "172.17.0.2/16");
    _cleanup_free_ char *route = sh_in(ns1, "ip route show default");
    assert_non_null(strstr(route, "default via 172.17.0.1 dev eth0"));
    /* the two namespaces reach each other through the bridge, and the bridge reaches both */
    _cleanup_free_ char *ping = sh_in(ns1, "busybox ping -c1 -W2 172.17.0.3 >/dev/null && echo ok");
    assert_string_equal(ping, "ok\n");
    /* a full pool: dockerd's words */
    netbr_endpoint_release(b, &e1);
    OK(netbr_endpoint_new(b, NULL, &e3, E));
    assert_string_equal(ipam_addr_fmt(&e3.addr, ip), "172.17.0.2"); /* given again at once */
    _cleanup_err_ struct berth_err *err = NULL;
    struct netbr_endpoint bad;
    assert_true(netbr_endpoint_new(b, "02:42:aa:bb:cc:dd:ee:ff", &bad, &err) < 0);
    assert_int_equal(err->status, EINVAL);
    /* a restored endpoint holds its address; one held by another is refused */
    struct netbr_endpoint r = e2;
    netbr_endpoint_release(b, &e2);
    OK(netbr_endpoint_restore(b, &r, E));
    assert_string_equal(ipam_addr_fmt(&r.addr, ip), "172.17.0.3");
    struct netbr_endpoint dup = r;
    berth_err_freep(&err);
    assert_true(netbr_endpoint_restore(b, &dup, &err) < 0);
    assert_int_equal(dup.addr.family, 0);
    /* the netns goes: the kernel takes the pair with it */
    close(ns1);
    for (int i = 0; i < 200 && link_exists(e1.host_if); i++)
        usleep(10000);
    assert_false(link_exists(e1.host_if));
    /* shared netns: unplumb deletes the link itself */
    netbr_endpoint_unplumb(b, &e2, "c2", true);
    assert_false(link_exists(e2.host_if));
    close(ns2);
    netbr_endpoint_release(b, &r);
    netbr_endpoint_release(b, &e3);
    netbr_close(b);
    delete_link("berth0");
}

/* A full subnet: the next endpoint is refused in dockerd's words. */
static void test_pool_full(void **state)
{
    (void)state;
    NEED_NETNS();
    delete_link("berth0");
    struct netbr *b = open_with("{\"bip\":\"10.40.0.1/30\"}");
    struct netbr_endpoint e1, e2;
    OK(netbr_endpoint_new(b, NULL, &e1, E));
    _cleanup_err_ struct berth_err *err = NULL;
    assert_true(netbr_endpoint_new(b, NULL, &e2, &err) < 0);
    _cleanup_free_ char *want = xasprintf(
        "no available IPv4 addresses on this network's address pools: bridge (%s)", b->id);
    assert_string_equal(err->msg, want);
    netbr_endpoint_release(b, &e1);
    netbr_close(b);
    delete_link("berth0");
}

/* What a crash left: veths with berth's prefix in the bridge go; anything else stays. */
static void test_stale_veths(void **state)
{
    (void)state;
    NEED_NETNS();
    delete_link("berth0");
    struct netbr *b = open_with(NULL);
    _cleanup_nl_ struct nl_handle *h = handle();
    struct nl_link_attrs in_bridge = {.up = true, .master = b->ifindex}, plain = {.up = true};
    OK(nl_veth_create(h, "vbstale000001", &in_bridge, "btpeer1", -1, &plain, E));
    OK(nl_veth_create(h, "vbnotours0001", &plain, "btpeer2", -1, &plain, E));
    OK(nl_veth_create(h, "btother", &in_bridge, "btpeer3", -1, &plain, E));
    netbr_close(b);
    b = open_with(NULL);
    assert_false(link_exists("vbstale000001"));
    assert_false(link_exists("btpeer1"));
    assert_true(link_exists("vbnotours0001")); /* not in berth's bridge */
    assert_true(link_exists("btother"));       /* not berth's prefix */
    netbr_close(b);
    delete_link("vbnotours0001");
    delete_link("btother");
    delete_link("berth0");
}

static bool enter_test_netns(void)
{
    if (unshare(CLONE_NEWNET) < 0) {
        fprintf(stderr, "# unshare(CLONE_NEWNET): %s: kernel tests skipped\n", strerror(errno));
        return false;
    }
    _cleanup_nl_ struct nl_handle *h = handle();
    OK(nl_link_set_up(h, 1, true, E));
    return true;
}

int main(void)
{
    in_own_netns = tu_is_root() && enter_test_netns();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mac_rule),
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_keys),
        cmocka_unit_test(test_config_refusals),
        cmocka_unit_test(test_endpoint_record),
        cmocka_unit_test(test_open_makes_and_reuses),
        cmocka_unit_test(test_subnet_avoids_docker0),
        cmocka_unit_test(test_user_bridge),
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_pool_full),
        cmocka_unit_test(test_stale_veths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
