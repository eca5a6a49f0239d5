/* tests/net/network/test_usernet.c — net/network/usernet.c: a network create request checked
 * with dockerd's words and settled into its bridge's settings (br-<12 hex of the ID>, bip from
 * the subnet and gateway, options), the list's lookup as dockerd's. Pure: no kernel. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "net/network/netlink.h"
#include "net/network/usernet.h"

static struct usernets *all;

static int parse(const char *text, struct usernet **out, struct berth_err **err)
{
    json_error_t e;
    _cleanup_json_ json_t *req = json_loads(text, 0, &e);
    if (!req)
        fail_msg("bad JSON in the test: %s", text);
    struct ipam_prefix dflt;
    assert_true(ipam_prefix_parse("172.17.0.0/16", &dflt));
    return usernet_parse(req, all, &dflt, out, err);
}

static void refused(const char *text, int status, const char *words)
{
    struct usernet *n = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    assert_true(parse(text, &n, &err) < 0);
    assert_null(n);
    assert_int_equal(err->status, status);
    if (!strstr(err->msg, words))
        fail_msg("%s: got \"%s\", want \"%s\"", text, err->msg, words);
}

static void test_settled(void **state)
{
    (void)state;
    struct usernet *n = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(parse("{\"Name\":\"a\",\"Labels\":{\"k\":\"v\"}}", &n, &err), 0);
    assert_int_equal(strlen(n->id), 64);
    char want[16];
    snprintf(want, sizeof(want), "br-%.12s", n->id);
    assert_string_equal(n->cfg.name, want);
    assert_null(n->cfg.bip); /* a subnet picked when its bridge is made */
    assert_true(n->cfg.icc && n->cfg.ip_masq && n->cfg.user_net && !n->cfg.internal);
    usernets_add(all, n);
    assert_ptr_equal(usernets_find(all, "a"), n);
    assert_ptr_equal(usernets_find(all, n->id), n);
    char prefix[8];
    snprintf(prefix, sizeof(prefix), "%.6s", n->id);
    assert_ptr_equal(usernets_find(all, prefix), n);
    assert_null(usernets_find(all, "nope")); /* not hex: never an ID prefix */

    struct usernet *m = NULL;
    assert_int_equal(
        parse("{\"Name\":\"b\",\"Internal\":true,\"IPAM\":{\"Config\":[{\"Subnet\":"
              "\"10.5.0.0/16\",\"Gateway\":\"10.5.0.9\",\"IPRange\":\"10.5.1.0/24\"}]},"
              "\"Options\":{\"com.docker.network.bridge.name\":\"btx\","
              "\"com.docker.network.bridge.enable_icc\":\"false\","
              "\"com.docker.network.driver.mtu\":\"1400\"}}",
              &m, &err),
        0);
    assert_string_equal(m->cfg.name, "btx");
    assert_string_equal(m->cfg.bip, "10.5.0.9/16");
    assert_string_equal(m->cfg.fixed_cidr, "10.5.1.0/24");
    assert_int_equal(m->cfg.mtu, 1400);
    assert_false(m->cfg.icc);
    assert_true(m->cfg.internal);
    usernets_add(all, m);

    struct usernet *g = NULL; /* no gateway: the subnet's first address */
    assert_int_equal(
        parse("{\"Name\":\"c\",\"IPAM\":{\"Config\":[{\"Subnet\":\"10.6.0.0/24\"}]}}", &g, &err),
        0);
    assert_string_equal(g->cfg.bip, "10.6.0.1/24");
    usernet_free(g);

    struct usernet *x = NULL; /* --aux-address: in the bridge's settings, for its IPAM */
    assert_int_equal(parse("{\"Name\":\"d\",\"IPAM\":{\"Config\":[{\"Subnet\":\"10.7.0.0/24\","
                           "\"AuxiliaryAddresses\":{\"h\":\"10.7.0.5\"}}]}}",
                           &x, &err),
                     0);
    assert_int_equal(x->cfg.n_aux, 1);
    assert_string_equal(x->cfg.aux[0].name, "h");
    json_t *aux = usernet_aux_json(x);
    assert_string_equal(json_get_str(aux, "h"), "10.7.0.5");
    json_decref(aux);
    usernet_free(x);

    /* a name that is a prefix of another network's ID is free (it failed 1 run in 16 or so) */
    char hexname[4];
    snprintf(hexname, sizeof(hexname), "%.3s", n->id);
    struct usernet *h = NULL;
    _cleanup_free_ char *req = NULL;
    assert_int_equal(asprintf(&req, "{\"Name\":\"%s\"}", hexname) > 0, 1);
    assert_int_equal(parse(req, &h, &err), 0);
    usernet_free(h);
}

static void test_refused(void **state)
{
    (void)state;
    refused("{\"Name\":\"a\"}", EEXIST, "network with name a already exists");
    refused("{\"Name\":\"bridge\"}", EEXIST, "network with name bridge already exists");
    refused("{\"Name\":\"\"}", EINVAL, "name is empty");
    refused("{\"Name\":\"m\",\"Driver\":\"overlay\"}", EINVAL,
            "network driver overlay is not supported yet");
    refused("{\"Name\":\"m\",\"EnableIPv6\":true}", EINVAL, "IPv6 networks are not supported yet");
    refused("{\"Name\":\"m\",\"IPAM\":{\"Config\":[{\"Subnet\":\"10.5.3.0/24\"}]}}", EACCES,
            "invalid pool request: Pool overlaps with other one on this address space");
    refused("{\"Name\":\"m\",\"IPAM\":{\"Config\":[{\"Subnet\":\"172.17.5.0/24\"}]}}", EACCES,
            "Pool overlaps");
    refused("{\"Name\":\"m\",\"IPAM\":{\"Config\":[{\"Subnet\":\"10.7.0.0/24\","
            "\"AuxiliaryAddresses\":{\"h\":\"10.8.0.5\"}}]}}",
            EINVAL, "invalid auxiliary address h");
    refused("{\"Name\":\"m\",\"IPAM\":{\"Config\":[{\"Subnet\":\"10.8.0.0/24\","
            "\"Gateway\":\"10.9.0.1\"}]}}",
            EINVAL, "invalid network config");
    refused("{\"Name\":\"m\",\"Options\":{\"com.docker.network.bridge.enable_icc\":\"maybe\"}}",
            EINVAL, "failed to parse com.docker.network.bridge.enable_icc value: maybe");
    refused("{\"Name\":\"m\",\"Options\":{\"com.docker.network.driver.mtu\":\"x\"}}", EINVAL,
            "invalid MTU number: x");
}

/* macvlan and ipvlan (net/network/lowernet.h): the options settled with dockerd's defaults, no
 * bridge name and no gateway unless one is given, no parent a dummy dm-/di-<12 hex> and an
 * internal network; dockerd's words for bad modes, lo, and parents two networks cannot share. */
static void test_lower(void **state)
{
    (void)state;
    struct usernets *own = usernets_new("/nonexistent");
    struct usernets *saved = all;
    all = own;
    struct usernet *m = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(parse("{\"Name\":\"mv\",\"Driver\":\"macvlan\",\"IPAM\":{\"Config\":[{"
                           "\"Subnet\":\"10.98.0.0/24\"}]},\"Options\":{\"parent\":\"eth0\"}}",
                           &m, &err),
                     0);
    assert_string_equal(m->driver, "macvlan");
    assert_int_equal(m->cfg.driver, NETBR_MACVLAN);
    assert_string_equal(m->cfg.parent, "eth0");
    assert_int_equal(m->cfg.lower_mode, MACVLAN_MODE_BRIDGE);
    assert_string_equal(m->cfg.bip, "10.98.0.0/24"); /* the subnet as given */
    assert_null(m->cfg.default_gw);                  /* no gateway: dockerd allocates none */
    assert_false(m->cfg.internal);
    usernets_add(all, m);

    struct usernet *d = NULL;
    assert_int_equal(parse("{\"Name\":\"dm\",\"Driver\":\"ipvlan\",\"Options\":{"
                           "\"ipvlan_mode\":\"l3s\",\"ipvlan_flag\":\"private\"}}",
                           &d, &err),
                     0);
    char want[16];
    snprintf(want, sizeof(want), "di-%.12s", d->id);
    assert_string_equal(d->cfg.parent, want);
    assert_true(d->cfg.internal); /* no parent: internal, as dockerd */
    assert_false(d->internal);    /* ... though inspect shows what was asked */
    assert_int_equal(d->cfg.lower_mode, IPVLAN_MODE_L3S);
    assert_int_equal(d->cfg.ipvlan_flags, IPVLAN_F_PRIVATE);
    usernet_free(d);

    /* a second macvlan on eth0 is fine; passthru on a used parent is not */
    struct usernet *m2 = NULL;
    assert_int_equal(parse("{\"Name\":\"mv2\",\"Driver\":\"macvlan\",\"Options\":{\"parent\":"
                           "\"eth0\"}}",
                           &m2, &err),
                     0);
    usernet_free(m2);
    refused("{\"Name\":\"p\",\"Driver\":\"macvlan\",\"Options\":{\"parent\":\"eth0\","
            "\"macvlan_mode\":\"passthru\"}}",
            EIO, "cannot use mode passthru, macvlan network ");
    struct usernet *iv = NULL;
    assert_int_equal(parse("{\"Name\":\"iv\",\"Driver\":\"ipvlan\",\"Options\":{\"parent\":"
                           "\"eth1\"}}",
                           &iv, &err),
                     0);
    usernets_add(all, iv);
    char used[64];
    snprintf(used, sizeof(used), "network di-%.12s is already using parent interface eth1", iv->id);
    refused("{\"Name\":\"iv2\",\"Driver\":\"ipvlan\",\"Options\":{\"parent\":\"eth1\"}}", EIO,
            used);
    refused("{\"Name\":\"x\",\"Driver\":\"macvlan\",\"Options\":{\"macvlan_mode\":\"l2\"}}", EIO,
            "requested macvlan mode 'l2' is not valid, 'bridge' mode is the macvlan driver "
            "default");
    refused("{\"Name\":\"x\",\"Driver\":\"ipvlan\",\"Options\":{\"ipvlan_mode\":\"bridge\"}}", EIO,
            "requested ipvlan mode 'bridge' is not valid, 'l2' mode is the ipvlan driver");
    refused("{\"Name\":\"x\",\"Driver\":\"ipvlan\",\"Options\":{\"ipvlan_flag\":\"l2\"}}", EIO,
            "requested ipvlan flag 'l2' is not valid, 'bridge' is the ipvlan driver default");
    refused("{\"Name\":\"x\",\"Driver\":\"macvlan\",\"Options\":{\"parent\":\"lo\"}}", EIO,
            "loopback interface is not a valid macvlan parent link");
    all = saved;
    usernets_free(own);
}

int main(void)
{
    all = usernets_new("/nonexistent");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settled),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_lower),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    usernets_free(all);
    return r;
}
