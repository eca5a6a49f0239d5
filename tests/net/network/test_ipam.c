/* tests/net/network/test_ipam.c — net/network/ipam*.c against what dockerd's default IPAM does:
 * address and prefix parsing and printing, subnets from the default pools and from
 * default-address-pools avoiding host routes, nameservers and other networks, static subnets
 * and their overlaps, gateway/aux/ip-range rules with dockerd's words and statuses, lowest-free
 * allocation with release, exhaustion of a /30 and of a /29 range, --ip checks, IPv6 without
 * bitmaps, the default bridge's bip/fixed-cidr, and the state file: round trip, a torn temp
 * file, and a crash in the middle of a save. Ends with a timing printout. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/crashpoint.h"
#include "fs/atomic.h"
#include "net/network/ipam.h"
#include "tests/testutil.h"

/* ---- helpers ---- */

static struct ipam_addr A(const char *s) {
    struct ipam_addr a;
    if (!ipam_addr_parse(s, &a))
        fail_msg("bad address in test: %s", s);
    return a;
}

static struct ipam_prefix
P(const char *s) {
    struct ipam_prefix p;
    if (!ipam_prefix_parse(s, &p))
        fail_msg("bad prefix in test: %s", s);
    return p;
}

static const char *
fa(const struct ipam_addr *a)
{
    static char b[4][IPAM_ADDR_STRLEN];
    static int i;
    return ipam_addr_fmt(a, b[i++ % 4]);
}

static const char *fp(const struct ipam_prefix *p)
{
    static char b[4][IPAM_PREFIX_STRLEN];
    static int i;
    return p->addr.family ? ipam_prefix_fmt(p, b[i++ % 4]) : "";
}

static struct ipam *new_ipam(const char *pools_json, const char *engine_id)
{
    struct berth_err *err = NULL;
    struct ipam_pool_def *defs = NULL;
    size_t n = 0;
    if (pools_json) {
        json_t *j = json_loads(pools_json, 0, NULL);
        assert_non_null(j);
        if (ipam_pools_parse(j, &defs, &n, &err) < 0)
            fail_msg("ipam_pools_parse: %s", err->msg);
        json_decref(j);
    }
    struct ipam *ipam = NULL;
    if (ipam_new(defs, n, engine_id, &ipam, &err) < 0)
        fail_msg("ipam_new: %s", err->msg);
    free(defs);
    return ipam;
}

/* A conf from short strings (NULL: not given), aux as "name=addr,name=addr". */
static struct ipam_conf conf(const char *subnet, const char *range, const char *gw, const char *aux)
{
    struct ipam_conf c = {0};
    if (subnet)
        c.subnet = P(subnet);
    if (range)
        c.range = P(range);
    if (gw)
        c.gateway = A(gw);
    if (aux) {
        char *copy = xstrdup(aux), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(t, '=');
            *eq = '\0';
            c.aux = xrealloc(c.aux, (c.n_aux + 1) * sizeof(*c.aux));
            c.aux[c.n_aux++] = (struct ipam_aux){.name = xstrdup(t), .addr = A(eq + 1)};
        }
        free(copy);
    }
    return c;
}

static struct ipam_pool *pool_ok(struct ipam *ipam, struct ipam_conf *c, int family,
                                 const struct ipam_prefix *reserved, size_t n_reserved)
{
    struct berth_err *err = NULL;
    struct ipam_pool *pool = NULL;
    struct ipam_pool_opts o = {.family = family, .reserved = reserved, .n_reserved = n_reserved};
    if (ipam_pool_request(ipam, c, &o, &pool, &err) < 0)
        fail_msg("ipam_pool_request: %s", err->msg);
    if (c)
        ipam_conf_clear(c);
    return pool;
}

static void expect_err(int r, struct berth_err **err, int status, const char *msg)
{
    assert_true(r < 0);
    assert_non_null(*err);
    if (strcmp((*err)->msg, msg) != 0 || (*err)->status != status)
        fail_msg("want [%d] \"%s\"\n got [%d] \"%s\"", status, msg, (*err)->status, (*err)->msg);
    assert_int_equal(r, -status - 1);
    berth_err_free(*err);
    *err = NULL;
}

static struct ipam_addr alloc_ok(struct ipam_pool *pool, const char *pref)
{
    struct berth_err *err = NULL;
    struct ipam_addr a = pref ? A(pref) : (struct ipam_addr){0}, out;
    if (ipam_addr_request(pool, pref ? &a : NULL, &out, &err) < 0)
        fail_msg("ipam_addr_request(%s): %s", pref ? pref : "any", err->msg);
    return out;
}

static void expect_addr(struct ipam_pool *pool, const char *want)
{
    struct ipam_addr a = alloc_ok(pool, NULL);
    if (strcmp(fa(&a), want) != 0)
        fail_msg("allocated %s, want %s", fa(&a), want);
}

/* ---- parsing and printing ---- */

static void test_parse_addr(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out; /* out NULL: refused */
        int family;
    } t[] = {
        {"10.0.0.1", "10.0.0.1", 4},
        {"0.0.0.0", "0.0.0.0", 4},
        {"255.255.255.255", "255.255.255.255", 4},
        {"010.0.0.1", NULL, 0}, /* netip refuses leading zeros */
        {"1.2.3", NULL, 0},
        {"256.1.1.1", NULL, 0},
        {"1.2.3.4 ", NULL, 0},
        {"", NULL, 0},
        {"::", "::", 6},
        {"::1", "::1", 6},
        {"2001:DB8:0:0:0:0:0:1", "2001:db8::1", 6},
        {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", 6}, /* the first longest run of zeros */
        {"fd00:0:0:1::", "fd00:0:0:1::", 6},
        {"::ffff:1.2.3.4", "::ffff:1.2.3.4", 6}, /* mapped stays IPv6 */
        {"fe80::1%eth0", NULL, 0},
        {"1::2::3", NULL, 0},
        {"12345::", NULL, 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct ipam_addr a;
        bool ok = ipam_addr_parse(t[i].in, &a);
        if (ok != (t[i].out != NULL))
            fail_msg("parse \"%s\": got %d", t[i].in, ok);
        if (!ok)
            continue;
        assert_int_equal(a.family, t[i].family);
        assert_string_equal(fa(&a), t[i].out);
        uint8_t b[16];
        struct ipam_addr back = ipam_addr_from_bytes(a.family, (ipam_addr_bytes(&a, b), b));
        assert_true(ipam_addr_eq(&a, &back));
    }
    struct ipam_addr m = ipam_addr_unmap(A("::ffff:10.1.2.3"));
    assert_int_equal(m.family, 4);
    assert_string_equal(fa(&m), "10.1.2.3");
}

static void test_parse_prefix(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out, *masked; /* out NULL: refused */
    } t[] = {
        {"10.0.0.0/8", "10.0.0.0/8", "10.0.0.0/8"},
        {"10.0.0.1/24", "10.0.0.1/24", "10.0.0.0/24"}, /* host bits kept, as netip */
        {"0.0.0.0/0", "0.0.0.0/0", "0.0.0.0/0"},
        {"192.168.1.77/32", "192.168.1.77/32", "192.168.1.77/32"},
        {"10.0.0.0/33", NULL, NULL},
        {"10.0.0.0/08", NULL, NULL},
        {"10.0.0.0/+8", NULL, NULL},
        {"10.0.0.0/", NULL, NULL},
        {"10.0.0.0", NULL, NULL},
        {"10.0.0/8", NULL, NULL},
        {"/8", NULL, NULL},
        {"2001:0db8:0000::/48", "2001:db8::/48", "2001:db8::/48"},
        {"2001:db8::1/64", "2001:db8::1/64", "2001:db8::/64"},
        {"::/0", "::/0", "::/0"},
        {"2001:db8::/129", NULL, NULL},
        {"fe80::/10%eth0", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct ipam_prefix p;
        bool ok = ipam_prefix_parse(t[i].in, &p);
        if (ok != (t[i].out != NULL))
            fail_msg("parse \"%s\": got %d", t[i].in, ok);
        if (!ok)
            continue;
        assert_string_equal(fp(&p), t[i].out);
        struct ipam_prefix m = ipam_prefix_masked(p);
        assert_string_equal(fp(&m), t[i].masked);
        assert_int_equal(ipam_prefix_is_masked(&p), strcmp(t[i].out, t[i].masked) == 0);
    }
}

static void test_contains_overlaps(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        bool overlaps;
        const char *first, *last; /* of a */
    } t[] = {
        {"172.17.0.0/16", "172.17.5.0/24", true, "172.17.0.0", "172.17.255.255"},
        {"172.17.5.0/24", "172.17.0.0/16", true, "172.17.5.0", "172.17.5.255"},
        {"172.17.0.0/16", "172.18.0.0/16", false, "172.17.0.0", "172.17.255.255"},
        {"172.16.0.0/12", "172.31.255.0/24", true, "172.16.0.0", "172.31.255.255"},
        {"10.0.0.0/8", "fd00::/8", false, "10.0.0.0", "10.255.255.255"},
        {"0.0.0.0/0", "1.2.3.4/32", true, "0.0.0.0", "255.255.255.255"},
        {"10.1.0.1/24", "10.1.0.200/32", true, "10.1.0.0", "10.1.0.255"}, /* host bits ignored */
        {"fd00:1::/64", "fd00:1:0:0:ffff::/80", true, "fd00:1::", "fd00:1::ffff:ffff:ffff:ffff"},
        {"::/0", "fd00::/8", true, "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
        {"fd00:1::/64", "fd00:2::/64", false, "fd00:1::", "fd00:1::ffff:ffff:ffff:ffff"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct ipam_prefix a = P(t[i].a), b = P(t[i].b);
        if (ipam_prefix_overlaps(&a, &b) != t[i].overlaps ||
            ipam_prefix_overlaps(&b, &a) != t[i].overlaps)
            fail_msg("%s overlaps %s: want %d", t[i].a, t[i].b, t[i].overlaps);
        struct ipam_addr f = ipam_prefix_first(&a), l = ipam_prefix_last(&a);
        assert_string_equal(fa(&f), t[i].first);
        assert_string_equal(fa(&l), t[i].last);
        assert_true(ipam_prefix_contains(&a, &f) && ipam_prefix_contains(&a, &l));
    }
    struct ipam_prefix p = P("10.1.0.0/24");
    struct ipam_addr out = A("10.1.1.0"), in4 = A("10.1.0.7"), six = A("::ffff:10.1.0.7");
    assert_false(ipam_prefix_contains(&p, &out));
    assert_true(ipam_prefix_contains(&p, &in4));
    assert_false(ipam_prefix_contains(&p, &six)); /* other family */
}

/* ---- subnets from the predefined pools ---- */

static void test_default_pools(void **state)
{
    (void)state;
    static const struct {
        const char *pools;       /* default-address-pools JSON, NULL: dockerd's defaults */
        const char *existing[3]; /* static subnets made first */
        const char *reserved[4]; /* host routes and nameservers */
        const char *want[4];     /* successive dynamic subnets */
    } t[] = {
        {NULL, {0}, {0}, {"172.17.0.0/16", "172.18.0.0/16", "172.19.0.0/16", "172.20.0.0/16"}},
        /* a dockerd's docker0 on the same host: its route keeps berth's bridge off 172.17 */
        {NULL, {0}, {"172.17.0.0/16"}, {"172.18.0.0/16", "172.19.0.0/16"}},
        /* a partial overlap (a /24 route, a nameserver) still blocks the whole /16 */
        {NULL, {0}, {"172.17.3.0/24", "172.18.0.53/32"}, {"172.19.0.0/16", "172.20.0.0/16"}},
        /* a wide route blocks every pool it covers: 172.16/12 is all the 172 pools */
        {NULL, {0}, {"172.16.0.0/12"}, {"192.168.0.0/20", "192.168.16.0/20"}},
        /* an existing network's subnet is skipped, the hole before it is used */
        {NULL, {"172.18.0.0/16"}, {0}, {"172.17.0.0/16", "172.19.0.0/16"}},
        {NULL, {"172.17.0.0/16", "192.168.0.0/20"}, {"172.16.0.0/12"}, {"192.168.16.0/20"}},
        /* default-address-pools: split into /size, the user's own networks avoided */
        {"[{\"base\":\"10.10.0.0/16\",\"size\":24}]",
         {"10.10.1.0/24"},
         {0},
         {"10.10.0.0/24", "10.10.2.0/24", "10.10.3.0/24"}},
        /* sorted as dockerd sorts them, whatever the order in daemon.json */
        {"[{\"base\":\"10.20.0.0/16\",\"size\":24},{\"base\":\"10.10.0.0/16\",\"size\":24}]",
         {0},
         {0},
         {"10.10.0.0/24", "10.10.1.0/24"}},
        /* a pool inside another is dropped; host bits of a base are cleared */
        {"[{\"base\":\"10.0.0.0/8\",\"size\":16},{\"base\":\"10.1.0.0/16\",\"size\":24},"
         "{\"base\":\"192.168.5.9/24\",\"size\":26}]",
         {0},
         {"10.0.0.0/16"},
         {"10.1.0.0/16", "10.2.0.0/16"}},
        /* a host route across two /26 blocks of a small pool */
        {"[{\"base\":\"192.168.5.0/24\",\"size\":26}]",
         {0},
         {"192.168.5.32/27", "192.168.5.64/32"},
         {"192.168.5.128/26", "192.168.5.192/26"}},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct ipam *ipam = new_ipam(t[i].pools, NULL);
        struct ipam_pool *pools[8] = {0};
        size_t np = 0;
        for (size_t e = 0; e < 3 && t[i].existing[e]; e++) {
            struct ipam_conf c = conf(t[i].existing[e], NULL, NULL, NULL);
            pools[np++] = pool_ok(ipam, &c, 4, NULL, 0);
        }
        struct ipam_prefix res[4];
        size_t nres = 0;
        for (; nres < 4 && t[i].reserved[nres]; nres++)
            res[nres] = P(t[i].reserved[nres]);
        for (size_t w = 0; w < 4 && t[i].want[w]; w++) {
            pools[np] = pool_ok(ipam, NULL, 4, res, nres);
            if (strcmp(fp(&pools[np]->subnet), t[i].want[w]) != 0)
                fail_msg("case %zu pick %zu: got %s, want %s", i, w, fp(&pools[np]->subnet),
                         t[i].want[w]);
            assert_false(pools[np]->user_subnet);
            np++;
        }
        while (np)
            ipam_pool_release(pools[--np]);
        ipam_free(ipam);
    }
}

static void test_default_pools_exhausted(void **state)
{
    (void)state;
    struct ipam *ipam = new_ipam(NULL, NULL);
    struct ipam_pool *pools[64];
    /* 172.17..31 as /16s (15) and 192.168.0.0/16 as /20s (16) */
    for (int i = 0; i < 31; i++)
        pools[i] = pool_ok(ipam, NULL, 4, NULL, 0);
    assert_string_equal(fp(&pools[14]->subnet), "172.31.0.0/16");
    assert_string_equal(fp(&pools[30]->subnet), "192.168.240.0/20");
    struct berth_err *err = NULL;
    struct ipam_pool *p = NULL;
    struct ipam_pool_opts o = {.family = 4};
    expect_err(ipam_pool_request(ipam, NULL, &o, &p, &err), &err, EINVAL,
               "all predefined address pools have been fully subnetted");
    /* a network removed gives its subnet back */
    ipam_pool_release(pools[3]);
    pools[3] = pool_ok(ipam, NULL, 4, NULL, 0);
    assert_string_equal(fp(&pools[3]->subnet), "172.20.0.0/16");
    for (int i = 0; i < 31; i++)
        ipam_pool_release(pools[i]);
    ipam_free(ipam);
}

static void test_pool_defs_refused(void **state)
{
    (void)state;
    static const struct {
        const char *json, *msg;
    } t[] = {
        {"[{\"base\":\"10.0.0.0/24\",\"size\":16}]",
         "could not construct local address space: network at index 0 (10.0.0.0/24, size 16) "
         "has a smaller prefix (/24) than the target size of that pool (/16)"},
        {"[{\"base\":\"10.0.0.0/8\",\"size\":24},{\"base\":\"10.0.0.0/8\"}]",
         "could not construct local address space: network at index 1 (10.0.0.0/8, size 0) is "
         "not in canonical form"},
        {"[{\"base\":\"10.0.0.0/8\",\"size\":33}]",
         "could not construct local address space: network at index 0 (10.0.0.0/8, size 33) has "
         "a target size longer than an IPv4 address"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct berth_err *err = NULL;
        struct ipam_pool_def *defs = NULL;
        size_t n = 0;
        json_t *j = json_loads(t[i].json, 0, NULL);
        assert_int_equal(ipam_pools_parse(j, &defs, &n, &err), 0);
        struct ipam *ipam = NULL;
        expect_err(ipam_new(defs, n, NULL, &ipam, &err), &err, EINVAL, t[i].msg);
        json_decref(j);
        free(defs);
    }
    struct berth_err *err = NULL;
    struct ipam_pool_def *defs = NULL;
    size_t n = 0;
    json_t *j = json_loads("[{\"base\":\"10.0.0/8\",\"size\":24}]", 0, NULL);
    expect_err(ipam_pools_parse(j, &defs, &n, &err), &err, EINVAL,
               "default-address-pools: netip.ParsePrefix(\"10.0.0/8\"): invalid prefix");
    json_decref(j);
}

static void test_ula_pool(void **state)
{
    (void)state;
    struct ipam_pool_def d = ipam_ula_pool("bt-engine");
    assert_string_equal(fp(&d.base), "fda5:c4b8:5235::/48"); /* sha256("bt-engine"), by hand */
    assert_int_equal(d.size, 64);
    struct ipam *ipam = new_ipam(NULL, "bt-engine");
    struct ipam_pool *a = pool_ok(ipam, NULL, 6, NULL, 0);
    struct ipam_pool *b = pool_ok(ipam, NULL, 6, NULL, 0);
    assert_string_equal(fp(&a->subnet), "fda5:c4b8:5235::/64");
    assert_string_equal(fp(&b->subnet), "fda5:c4b8:5235:1::/64");
    assert_string_equal(fa(&a->gateway), "fda5:c4b8:5235::1");
    ipam_pool_release(a);
    ipam_pool_release(b);
    ipam_free(ipam);
    /* an IPv6 pool in default-address-pools replaces the ULA one; none at all: no dynamic v6 */
    ipam = new_ipam("[{\"base\":\"fd99::/56\",\"size\":64}]", "bt-engine");
    a = pool_ok(ipam, NULL, 6, NULL, 0);
    assert_string_equal(fp(&a->subnet), "fd99::/64");
    ipam_pool_release(a);
    ipam_free(ipam);
    ipam = new_ipam(NULL, NULL);
    struct berth_err *err = NULL;
    struct ipam_pool_opts o = {.family = 6};
    expect_err(ipam_pool_request(ipam, NULL, &o, &a, &err), &err, EINVAL,
               "all predefined address pools have been fully subnetted");
    ipam_free(ipam);
}

/* ---- host routes and nameservers ---- */

static const char route_file[] =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"    /* default via */
    "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"    /* 192.0.2.0/24 */
    "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n" /* 172.17.0.0/16 */
    "eth0\t000012AC\t010200C0\t0003\t0\t0\t0\t0000FFFF\t0\t0\t0\n"    /* 172.18/16 via: no */
    "wg0\t000513AC\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"     /* 172.19.5.0/24 */
    "*\t000014AC\t00000000\t0201\t0\t0\t0\t0000FFFF\t0\t0\t0\n"       /* unreachable: no */
    "tun0\t00000000\t00000000\t0001\t0\t0\t0\t00000080\t0\t0\t0\n";   /* 0.0.0.0/1: no */

static const char route6_file[] =
    "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n"
    "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0\n"
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
    "fd000000000000000000000000000001 00000400 00000003 00000000 00000003     eth0\n"
    "fda5c4b8523500000000000000000000 40 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 00000001 00000000 00000001     br0\n"
    "fd000000000000000000000000000002 80 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000000 00000003 00000000 80200001     eth0\n"
    "ff000000000000000000000000000000 08 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 00000003 00000000 00000001     eth0\n";

static const char resolv_file[] = "# comment\nsearch example.org\nnameserver 172.20.0.53\n"
                                  "nameserver fd00:53::1\noptions ndots:2\n"
                                  "nameserver fe80::1%eth0\n";

static void test_host_reserved(void **state)
{
    (void)state;
    char *dir = tu_tmpdir("ipam-routes");
    char *rt = xasprintf("%s/route", dir), *rt6 = xasprintf("%s/ipv6_route", dir),
         *rc = xasprintf("%s/resolv.conf", dir);
    tu_write(rt, route_file, strlen(route_file));
    tu_write(rt6, route6_file, strlen(route6_file));
    tu_write(rc, resolv_file, strlen(resolv_file));
    struct ipam_prefix *res = NULL;
    size_t n = 0;
    n = ipam_host_reserved(4, rt, rt6, rc, &res);
    static const char *want4[] = {"172.17.0.0/16", "172.19.5.0/24", "172.20.0.53/32",
                                  "192.0.2.0/24"};
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(fp(&res[i]), want4[i]);
    /* the first pick avoids docker0's 172.17 and the wg0 /24 inside 172.19; 172.18 is only
     * reachable through a gateway, which dockerd does not count (on-link routes only); the
     * nameserver takes 172.20 */
    struct ipam *ipam = new_ipam(NULL, "bt-engine");
    struct ipam_pool *a = pool_ok(ipam, NULL, 4, res, n), *b = pool_ok(ipam, NULL, 4, res, n);
    assert_string_equal(fp(&a->subnet), "172.18.0.0/16");
    assert_string_equal(fp(&b->subnet), "172.21.0.0/16");
    /* a static subnet may overlap a host route (dockerd checks only other networks) */
    struct ipam_conf c = conf("172.17.0.0/16", NULL, NULL, NULL);
    struct ipam_pool *s = pool_ok(ipam, &c, 4, res, n);
    free(res);

    n = ipam_host_reserved(6, rt, rt6, rc, &res);
    static const char *want6[] = {"fd00::/64", "fd00:53::1/128", "fda5:c4b8:5235::/64",
                                  "fe80::1/128"};
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(fp(&res[i]), want6[i]);
    struct ipam_pool *v6 = pool_ok(ipam, NULL, 6, res, n);
    assert_string_equal(fp(&v6->subnet), "fda5:c4b8:5235:1::/64");
    free(res);

    /* missing files reserve nothing */
    assert_int_equal(ipam_host_reserved(4, "/nonexistent/route", NULL, NULL, &res), 0);
    free(res);
    ipam_pool_release(a);
    ipam_pool_release(b);
    ipam_pool_release(s);
    ipam_pool_release(v6);
    ipam_free(ipam);
    tu_rm_rf(dir);
    free(dir), free(rt), free(rt6), free(rc);
}

/* ---- static subnets ---- */

static void test_static_overlap(void **state)
{
    (void)state;
    static const char overlap[] =
        "invalid pool request: Pool overlaps with other one on this address space";
    static const struct {
        const char *subnet, *range;
        const char *msg; /* NULL: accepted */
    } t[] = {
        {"172.18.0.0/16", NULL, overlap}, /* the same as an existing network */
        {"172.18.5.0/24", NULL, overlap}, /* inside one */
        {"172.0.0.0/8", NULL, overlap},   /* around one */
        {"10.99.0.0/16", NULL, overlap},  /* the ranged network's subnet */
        {"172.19.0.0/16", NULL, NULL},    /* next to one */
        /* with an ip-range dockerd does not check the subnet (moby#46756): it is shared */
        {"172.18.0.0/16", "172.18.7.0/24", NULL},
        {"10.99.0.0/16", "10.99.1.0/24", overlap}, /* but not the same range twice */
        {"10.99.0.0/16", "10.99.2.0/24", NULL},
        {"10.98.0.0/15", "10.98.0.0/24", NULL}, /* overlapping, ranged: not checked */
    };
    struct ipam *ipam = new_ipam(NULL, NULL);
    struct ipam_conf c1 = conf("172.18.0.0/16", NULL, NULL, NULL),
                     c2 = conf("10.99.0.0/16", "10.99.1.0/24", NULL, NULL);
    struct ipam_pool *base = pool_ok(ipam, &c1, 4, NULL, 0),
                     *ranged = pool_ok(ipam, &c2, 4, NULL, 0);
    assert_true(base->user_subnet);
    struct ipam_pool *keep[16];
    size_t nk = 0;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct ipam_conf c = conf(t[i].subnet, t[i].range, NULL, NULL);
        struct ipam_pool_opts o = {.family = 4};
        struct ipam_pool *p = NULL;
        struct berth_err *err = NULL;
        int r = ipam_pool_request(ipam, &c, &o, &p, &err);
        ipam_conf_clear(&c);
        if (t[i].msg) {
            expect_err(r, &err, EACCES, t[i].msg);
            continue;
        }
        if (r < 0)
            fail_msg("case %zu: %s", i, err->msg);
        keep[nk++] = p;
    }
    /* the shared subnet has one set of addresses: the ranged network's gateway is the first of
     * its range, and base's next address skips nothing of it */
    assert_string_equal(fa(&keep[1]->gateway), "172.18.7.0");
    assert_string_equal(fa(&base->gateway), "172.18.0.1");
    expect_addr(base, "172.18.0.2");
    expect_addr(keep[1], "172.18.7.1");
    struct berth_err *err = NULL;
    struct ipam_addr got, want = A("172.18.7.1");
    expect_err(ipam_addr_request(base, &want, &got, &err), &err, EACCES, "Address already in use");
    /* releasing the ranged network keeps the subnet of the other */
    ipam_pool_release(keep[1]);
    assert_false(ipam_addr_in_use(base, &want));
    expect_addr(base, "172.18.0.3");
    for (size_t i = 0; i < nk; i++)
        if (i != 1)
            ipam_pool_release(keep[i]);
    ipam_pool_release(base);
    ipam_pool_release(ranged);
    /* everything given back: the same subnets can be made again */
    c1 = conf("172.0.0.0/8", NULL, NULL, NULL);
    base = pool_ok(ipam, &c1, 4, NULL, 0);
    ipam_pool_release(base);
    ipam_free(ipam);
}

/* ---- the network create's IPAM config ---- */

static void test_conf_parse(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        bool ipv6;
        const char *msg; /* NULL: accepted */
        size_t n4, n6;
    } t[] = {
        {"[{\"Subnet\":\"10.1.0.0/24\",\"IPRange\":\"10.1.0.128/25\",\"Gateway\":\"10.1.0.1\","
         "\"AuxiliaryAddresses\":{\"router\":\"10.1.0.2\"}}]",
         false, NULL, 1, 0},
        {"[{\"Subnet\":\"10.1.0.0/24\",\"Gateway\":\"10.2.0.1\"}]", false,
         "invalid network config:\ninvalid gateway 10.2.0.1: parent subnet 10.1.0.0/24 doesn't "
         "contain this address",
         0, 0},
        {"[{\"Subnet\":\"10.1.0.1/24\"}]", false,
         "invalid network config:\ninvalid subnet 10.1.0.1/24: it should be 10.1.0.0/24", 0, 0},
        {"[{\"Subnet\":\"10.1.0.0/24\",\"IPRange\":\"10.2.0.0/25\"}]", false,
         "invalid network config:\ninvalid ip-range 10.2.0.0/25: parent subnet 10.1.0.0/24 "
         "doesn't contain ip-range",
         0, 0},
        {"[{\"Subnet\":\"10.1.0.0/24\",\"IPRange\":\"10.0.0.0/16\"}]", false,
         "invalid network config:\n* invalid ip-range 10.0.0.0/16: CIDR block is bigger than its "
         "parent subnet 10.1.0.0/24\n* invalid ip-range 10.0.0.0/16: parent subnet 10.1.0.0/24 "
         "doesn't contain ip-range",
         0, 0},
        {"[{\"Subnet\":\"10.1.0.0/24\",\"IPRange\":\"10.1.0.9/25\"}]", false,
         "invalid network config:\ninvalid ip-range 10.1.0.9/25: it should be 10.1.0.0/25", 0, 0},
        {"[{\"Subnet\":\"300.1.0.0/24\"}]", false,
         "invalid network config:\ninvalid subnet 300.1.0.0/24: invalid CIDR block notation", 0, 0},
        {"[{\"Gateway\":\"10.1.0.1\"}]", false,
         "invalid network config:\ninvalid subnet : invalid CIDR block notation", 0, 0},
        {"[{\"Subnet\":\"10.1.0.0/24\",\"IPRange\":\"fd00::/64\"}]", false,
         "invalid network config:\ninvalid ip-range fd00::/64: parent subnet is an IPv4 block", 0,
         0},
        {"[{\"Subnet\":\"10.1.0.0/24\",\"IPRange\":\"10.1.0/25\"}]", false,
         "invalid network config:\ninvalid ip-range 10.1.0/25: invalid CIDR block notation", 0, 0},
        {"[{\"Subnet\":\"10.1.0.0/24\",\"AuxiliaryAddresses\":{\"a\":\"10.9.9.9\"}}]", false,
         "invalid network config:\ninvalid auxiliary address a: parent subnet 10.1.0.0/24 "
         "doesn't contain this address",
         0, 0},
        {"[{\"Subnet\":\"10.1.0.0/24\",\"Gateway\":\"bogus\"}]", false,
         "invalid network config:\ninvalid gateway bogus: invalid address", 0, 0},
        {"[{\"Subnet\":\"fd00:1::/64\",\"Gateway\":\"10.0.0.1\"}]", true,
         "invalid network config:\ninvalid gateway 10.0.0.1: parent subnet is an IPv6 block", 0, 0},
        /* without --ipv6 dockerd neither checks nor uses an IPv6 entry */
        {"[{\"Subnet\":\"10.1.0.0/24\"},{\"Subnet\":\"fd00:1::/64\",\"Gateway\":\"x\"}]", false,
         NULL, 1, 0},
        {"[{\"Subnet\":\"10.1.0.0/24\"},{\"Subnet\":\"10.2.0.0/24\"},{\"Subnet\":\"fd00:1::/64\"}]",
         true, NULL, 2, 1},
        /* every problem of every entry, in order */
        {"[{\"Subnet\":\"10.1.0.1/24\",\"Gateway\":\"10.9.0.1\"},{\"Subnet\":\"nope\"}]", false,
         "invalid network config:\n* invalid subnet 10.1.0.1/24: it should be 10.1.0.0/24\n* "
         "invalid gateway 10.9.0.1: parent subnet 10.1.0.1/24 doesn't contain this address\n* "
         "invalid subnet nope: invalid CIDR block notation",
         0, 0},
        {"[]", false, NULL, 0, 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        json_t *j = json_loads(t[i].json, 0, NULL);
        assert_non_null(j);
        struct ipam_conf *v4 = NULL, *v6 = NULL;
        size_t n4 = 0, n6 = 0;
        struct berth_err *err = NULL;
        int r = ipam_conf_parse(j, t[i].ipv6, &v4, &n4, &v6, &n6, &err);
        json_decref(j);
        if (t[i].msg) {
            expect_err(r, &err, EINVAL, t[i].msg);
            continue;
        }
        if (r < 0)
            fail_msg("case %zu: %s", i, err->msg);
        assert_int_equal(n4, t[i].n4);
        assert_int_equal(n6, t[i].n6);
        if (i == 0) {
            assert_string_equal(fp(&v4[0].range), "10.1.0.128/25");
            assert_string_equal(fa(&v4[0].gateway), "10.1.0.1");
            assert_int_equal(v4[0].n_aux, 1);
            assert_string_equal(v4[0].aux[0].name, "router");
        }
        ipam_confs_free(v4, n4);
        ipam_confs_free(v6, n6);
    }
}

/* ---- gateway, aux and range when the pool is made ---- */

static void test_gateway_aux_range(void **state)
{
    (void)state;
    static const struct {
        const char *subnet, *range, *gw, *aux;
        const char *want_gw, *first; /* first endpoint address */
        int status;
        const char *msg; /* an error instead */
    } t[] = {
        {"10.1.0.0/24", NULL, NULL, NULL, "10.1.0.1", "10.1.0.2", 0, NULL},
        {"10.1.0.0/24", NULL, "10.1.0.254", NULL, "10.1.0.254", "10.1.0.1", 0, NULL},
        /* with an ip-range the gateway is the range's first free address, as in dockerd */
        {"10.1.0.0/24", "10.1.0.128/25", NULL, NULL, "10.1.0.128", "10.1.0.129", 0, NULL},
        {"10.1.0.0/24", "10.1.0.128/25", "10.1.0.1", NULL, "10.1.0.1", "10.1.0.128", 0, NULL},
        /* aux addresses are never given */
        {"10.1.0.0/24", NULL, NULL, "a=10.1.0.2,b=10.1.0.3", "10.1.0.1", "10.1.0.4", 0, NULL},
        {"10.1.0.0/24", "10.1.0.128/25", NULL, "out=10.1.0.7", "10.1.0.128", "10.1.0.129", 0, NULL},
        {"10.1.0.0/24", NULL, "10.1.0.0", NULL, NULL, NULL, EIO,
         "failed to allocate gateway (10.1.0.0): Address already in use"},
        {"10.1.0.0/24", NULL, "10.1.0.255", NULL, NULL, NULL, EIO,
         "failed to allocate gateway (10.1.0.255): Address already in use"},
        {"10.1.0.0/24", NULL, NULL, "a=10.1.0.1", NULL, NULL, EIO,
         "failed to allocate secondary ip address (a:10.1.0.1): Address already in use"},
        {"10.1.0.0/24", NULL, NULL, "a=10.2.0.1", NULL, NULL, EACCES,
         "auxiliary address: (a:10.2.0.1) must belong to the master pool: 10.1.0.0/24"},
        /* /31 (RFC 3021) and /32: no network or broadcast address to keep */
        {"10.1.0.0/31", NULL, NULL, NULL, "10.1.0.0", "10.1.0.1", 0, NULL},
        {"10.1.0.5/32", NULL, NULL, NULL, "10.1.0.5", NULL, 0, NULL},
        /* IPv6: the subnet-router anycast address (first) is kept, the last is usable */
        {"fd00:1::/64", NULL, NULL, NULL, "fd00:1::1", "fd00:1::2", 0, NULL},
        {"fd00:1::/127", NULL, NULL, NULL, "fd00:1::1", NULL, 0, NULL},
        {"fd00:1::/64", "fd00:1::100/120", NULL, NULL, "fd00:1::100", "fd00:1::101", 0, NULL},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct ipam *ipam = new_ipam(NULL, NULL);
        struct ipam_conf c = conf(t[i].subnet, t[i].range, t[i].gw, t[i].aux);
        struct ipam_pool_opts o = {.family = c.subnet.addr.family};
        struct ipam_pool *p = NULL;
        struct berth_err *err = NULL;
        int r = ipam_pool_request(ipam, &c, &o, &p, &err);
        ipam_conf_clear(&c);
        if (t[i].msg) {
            expect_err(r, &err, t[i].status, t[i].msg);
            /* nothing stays taken: the same subnet is free again */
            c = conf(t[i].subnet, NULL, NULL, NULL);
            ipam_pool_release(pool_ok(ipam, &c, 4, NULL, 0));
            ipam_free(ipam);
            continue;
        }
        if (r < 0)
            fail_msg("case %zu: %s", i, err->msg);
        assert_string_equal(fa(&p->gateway), t[i].want_gw);
        struct ipam_addr a;
        r = ipam_addr_request(p, NULL, &a, &err);
        if (t[i].first) {
            assert_int_equal(r, 0);
            assert_string_equal(fa(&a), t[i].first);
        } else {
            expect_err(r, &err, EAGAIN, "no available addresses on this pool");
        }
        ipam_pool_release(p);
        ipam_free(ipam);
    }
    /* a driver without gateway (skip_gateway): the first address goes to an endpoint */
    struct ipam *ipam = new_ipam(NULL, NULL);
    struct ipam_conf c = conf("10.1.0.0/24", NULL, NULL, NULL);
    struct ipam_pool_opts o = {.family = 4, .skip_gateway = true};
    struct ipam_pool *p = NULL;
    assert_int_equal(ipam_pool_request(ipam, &c, &o, &p, NULL), 0);
    ipam_conf_clear(&c);
    assert_int_equal(p->gateway.family, 0);
    expect_addr(p, "10.1.0.1");
    ipam_pool_release(p);
    ipam_free(ipam);
}

/* ---- endpoint addresses ---- */

static void test_sequential_release(void **state)
{
    (void)state;
    struct ipam *ipam = new_ipam(NULL, NULL);
    struct ipam_conf c = conf("10.2.0.0/24", NULL, NULL, NULL);
    struct ipam_pool *p = pool_ok(ipam, &c, 4, NULL, 0);
    static const char *seq[] = {"10.2.0.2", "10.2.0.3", "10.2.0.4", "10.2.0.5"};
    for (size_t i = 0; i < 4; i++)
        expect_addr(p, seq[i]);
    /* dockerd's local networks allocate lowest-free (AddAny without the swarm-only "serial"
     * option): a released address is given again at once */
    struct berth_err *err = NULL;
    struct ipam_addr three = A("10.2.0.3");
    assert_int_equal(ipam_addr_release(p, &three, &err), 0);
    assert_false(ipam_addr_in_use(p, &three));
    expect_addr(p, "10.2.0.3");
    expect_addr(p, "10.2.0.6");
    assert_int_equal(ipam_pool_count(p), 5);
    /* releasing what the pool did not hand out is a no-op, as dockerd's Remove of an unset bit;
     * the gateway stays */
    struct ipam_addr gw = A("10.2.0.1"), free_one = A("10.2.0.77"), out = A("10.3.0.1");
    assert_int_equal(ipam_addr_release(p, &gw, &err), 0);
    assert_true(ipam_addr_in_use(p, &gw));
    assert_int_equal(ipam_addr_release(p, &free_one, &err), 0);
    expect_err(ipam_addr_release(p, &out, &err), &err, EINVAL, "requested address is out of range");
    /* --ip: anywhere in the subnet, once */
    struct ipam_addr got, want = A("10.2.0.200");
    assert_int_equal(ipam_addr_request(p, &want, &got, &err), 0);
    expect_err(ipam_addr_request(p, &want, &got, &err), &err, EACCES, "Address already in use");
    expect_err(ipam_addr_request(p, &gw, &got, &err), &err, EACCES, "Address already in use");
    expect_err(ipam_addr_request(p, &out, &got, &err), &err, EINVAL,
               "requested address is out of range");
    struct ipam_addr mapped = alloc_ok(p, "::ffff:10.2.0.201"); /* unmapped, as dockerd */
    assert_string_equal(fa(&mapped), "10.2.0.201");
    ipam_pool_release(p);
    ipam_free(ipam);
}

static void test_exhaustion(void **state)
{
    (void)state;
    static const struct {
        const char *subnet, *range, *gw;
        const char *addrs[10]; /* every address given, in order, then the pool is full */
    } t[] = {
        /* a /30: network, gateway, one endpoint, broadcast */
        {"10.3.0.0/30", NULL, NULL, {"10.3.0.2"}},
        /* a /29 range inside a /24, gateway outside it: all 8 range addresses usable */
        {"10.4.0.0/24",
         "10.4.0.8/29",
         "10.4.0.1",
         {"10.4.0.8", "10.4.0.9", "10.4.0.10", "10.4.0.11", "10.4.0.12", "10.4.0.13", "10.4.0.14",
          "10.4.0.15"}},
        /* a /29 subnet: 8 - network - broadcast - gateway */
        {"10.5.0.0/29", NULL, NULL, {"10.5.0.2", "10.5.0.3", "10.5.0.4", "10.5.0.5", "10.5.0.6"}},
        /* a /29 range at the start of its subnet loses the network address */
        {"10.6.0.0/24",
         "10.6.0.0/29",
         NULL,
         {"10.6.0.2", "10.6.0.3", "10.6.0.4", "10.6.0.5", "10.6.0.6", "10.6.0.7"}},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct ipam *ipam = new_ipam(NULL, NULL);
        struct ipam_conf c = conf(t[i].subnet, t[i].range, t[i].gw, NULL);
        struct ipam_pool *p = pool_ok(ipam, &c, 4, NULL, 0);
        size_t n = 0;
        for (; n < 10 && t[i].addrs[n]; n++)
            expect_addr(p, t[i].addrs[n]);
        struct berth_err *err = NULL;
        struct ipam_addr a;
        expect_err(ipam_addr_request(p, NULL, &a, &err), &err, EAGAIN,
                   "no available addresses on this pool");
        /* one freed is the one given next */
        struct ipam_addr back = A(t[i].addrs[n / 2]);
        assert_int_equal(ipam_addr_release(p, &back, &err), 0);
        expect_addr(p, t[i].addrs[n / 2]);
        ipam_pool_release(p);
        ipam_free(ipam);
    }
    /* outside a full range, --ip still finds room in the subnet */
    struct ipam *ipam = new_ipam(NULL, NULL);
    struct ipam_conf c = conf("10.4.0.0/24", "10.4.0.8/29", "10.4.0.1", NULL);
    struct ipam_pool *p = pool_ok(ipam, &c, 4, NULL, 0);
    for (int k = 0; k < 8; k++)
        alloc_ok(p, NULL);
    alloc_ok(p, "10.4.0.100");
    ipam_pool_release(p);
    ipam_free(ipam);
}

static void test_pools_assign(void **state)
{
    (void)state;
    struct ipam *ipam = new_ipam(NULL, NULL);
    struct ipam_conf c1 = conf("10.7.0.0/30", NULL, NULL, NULL),
                     c2 = conf("10.8.0.0/24", NULL, NULL, NULL);
    struct ipam_pool *pools[2] = {pool_ok(ipam, &c1, 4, NULL, 0), pool_ok(ipam, &c2, 4, NULL, 0)};
    struct berth_err *err = NULL;
    struct ipam_addr a;
    size_t which = 9;
    assert_int_equal(ipam_pools_assign(pools, 2, NULL, "bt", "id1", &a, &which, &err), 0);
    assert_string_equal(fa(&a), "10.7.0.2");
    assert_int_equal(which, 0);
    /* the first pool is full: the next one, as dockerd */
    assert_int_equal(ipam_pools_assign(pools, 2, NULL, "bt", "id1", &a, &which, &err), 0);
    assert_string_equal(fa(&a), "10.8.0.2");
    assert_int_equal(which, 1);
    struct ipam_addr pref = A("10.8.0.50"), other = A("10.9.0.1"), taken = A("10.7.0.2");
    assert_int_equal(ipam_pools_assign(pools, 2, &pref, "bt", "id1", &a, &which, &err), 0);
    assert_int_equal(which, 1);
    expect_err(ipam_pools_assign(pools, 2, &other, "bt", "id1", &a, &which, &err), &err, EINVAL,
               "invalid address 10.9.0.1: It does not belong to any of this network's subnets");
    expect_err(ipam_pools_assign(pools, 2, &taken, "bt", "id1", &a, &which, &err), &err, EACCES,
               "Address already in use");
    expect_err(ipam_pools_assign(pools, 1, NULL, "bt", "id1", &a, &which, &err), &err, EIO,
               "no available IPv4 addresses on this network's address pools: bt (id1)");
    ipam_pool_release(pools[0]);
    ipam_pool_release(pools[1]);
    ipam_free(ipam);
}

static void test_endpoint_check(void **state)
{
    (void)state;
    struct ipam *ipam = new_ipam(NULL, NULL);
    struct ipam_conf c = conf("10.1.0.0/24", "10.1.0.0/25", NULL, NULL),
                     c6 = conf("fd00:1::/64", NULL, NULL, NULL);
    struct ipam_pool *user[2] = {pool_ok(ipam, &c, 4, NULL, 0), pool_ok(ipam, &c6, 6, NULL, 0)};
    struct ipam_pool *dyn[1] = {pool_ok(ipam, NULL, 4, NULL, 0)};
    static const char hd[] = "invalid endpoint settings:\n";
    static const struct {
        const char *ip4, *ip6;
        bool user_defined;
        int pools; /* 0: none known, 1: user subnets, 2: dynamic subnet */
        const char *msg;
    } t[] = {
        {"10.1.0.5", NULL, true, 1, NULL},
        {"10.1.0.200", NULL, true, 1, NULL}, /* outside the range, inside the subnet: fine */
        {"::ffff:10.1.0.5", NULL, true, 1, NULL},
        {"10.1.0.5", "fd00:1::5", true, 1, NULL},
        {NULL, NULL, false, 2, NULL},
        {"10.1.0.5", NULL, true, 0, NULL},
        {"10.1.0.5", NULL, false, 0,
         "user specified IP address is supported on user defined "
         "networks only"},
        {"172.17.0.5", NULL, true, 2,
         "user specified IP address is supported only when "
         "connecting to networks with user configured subnets"},
        {"10.9.0.5", NULL, true, 1,
         "no configured subnet or ip-range contain the IP address "
         "10.9.0.5"},
        {"foo", NULL, true, 1,
         "* invalid IPv4 address: foo\n* no configured subnet or ip-range "
         "contain the IP address foo"},
        {"0.0.0.0", NULL, true, 0, "invalid IPv4 address: 0.0.0.0"},
        {NULL, "10.1.0.5", true, 0, "invalid IPv6 address: 10.1.0.5"},
        {NULL, "fd00:2::5", true, 1,
         "no configured subnet or ip-range contain the IP address "
         "fd00:2::5"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct ipam_pool *const *pools = t[i].pools == 1 ? user : t[i].pools == 2 ? dyn : NULL;
        size_t n = t[i].pools == 1 ? 2 : t[i].pools == 2 ? 1 : 0;
        struct berth_err *err = NULL;
        int r = ipam_endpoint_check(t[i].ip4, t[i].ip6, t[i].user_defined, pools, n, &err);
        if (!t[i].msg) {
            if (r < 0)
                fail_msg("case %zu: %s", i, err->msg);
            continue;
        }
        char *want = xasprintf("%s%s", hd, t[i].msg);
        expect_err(r, &err, EINVAL, want);
        free(want);
    }
    ipam_pool_release(user[0]);
    ipam_pool_release(user[1]);
    ipam_pool_release(dyn[0]);
    ipam_free(ipam);
}

/* ---- IPv6 ---- */

static void test_ipv6(void **state)
{
    (void)state;
    struct ipam *ipam = new_ipam(NULL, "bt-engine");
    struct ipam_conf c = conf("fd00:1::/64", NULL, NULL, NULL);
    struct ipam_pool *p = pool_ok(ipam, &c, 6, NULL, 0);
    assert_string_equal(fa(&p->gateway), "fd00:1::1");
    char want[64];
    for (int i = 2; i < 1002; i++) {
        snprintf(want, sizeof(want), "fd00:1::%x", i);
        expect_addr(p, want);
    }
    /* 1000 consecutive addresses are one interval, not a bitmap */
    assert_int_equal(p->_mine.n, 1);
    assert_int_equal(ipam_pool_count(p), 1000);
    alloc_ok(p, "fd00:1::ffff:ffff:ffff:ffff"); /* the last is usable in IPv6 */
    alloc_ok(p, "fd00:1::8000:0:0:1");
    assert_int_equal(p->_mine.n, 3);
    struct berth_err *err = NULL;
    struct ipam_addr mid = A("fd00:1::100"), got;
    assert_int_equal(ipam_addr_release(p, &mid, &err), 0);
    assert_int_equal(p->_mine.n, 4); /* the run split in two */
    expect_addr(p, "fd00:1::100");
    assert_int_equal(p->_mine.n, 3);
    struct ipam_addr anycast = A("fd00:1::");
    expect_err(ipam_addr_request(p, &anycast, &got, &err), &err, EACCES, "Address already in use");
    ipam_pool_release(p);
    /* a whole /8 subnet works the same way */
    c = conf("fd00::/8", NULL, NULL, NULL);
    p = pool_ok(ipam, &c, 6, NULL, 0);
    expect_addr(p, "fd00::2");
    ipam_pool_release(p);
    /* the top of the address space: no wrap past ffff...ffff */
    c = conf("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffc/126", NULL, NULL, NULL);
    p = pool_ok(ipam, &c, 6, NULL, 0);
    expect_addr(p, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
    expect_addr(p, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    expect_err(ipam_addr_request(p, NULL, &got, &err), &err, EAGAIN,
               "no available addresses on this pool");
    ipam_pool_release(p);
    ipam_free(ipam);
}

/* ---- the default bridge ---- */

static void test_bridge_conf(void **state)
{
    (void)state;
    static const struct {
        int family;
        const char *bip, *fixed, *gw;
        bool user;
        const char *addrs[3];                       /* on the bridge already */
        const char *subnet, *range, *gateway, *aux; /* "" where none */
        const char *msg;
    } t[] = {
        {4, "172.30.0.1/16", NULL, NULL, false, {0}, "172.30.0.0/16", "", "172.30.0.1", "", NULL},
        /* the docs' example */
        {4,
         "192.168.1.1/24",
         "192.168.1.0/25",
         NULL,
         false,
         {0},
         "192.168.1.0/24",
         "192.168.1.0/25",
         "192.168.1.1",
         "",
         NULL},
        /* nothing given, nothing on the bridge: a dynamic subnet */
        {4, NULL, NULL, NULL, false, {0}, "", "", "", "", NULL},
        {4, NULL, "10.20.0.0/16", NULL, false, {0}, "10.20.0.0/16", "10.20.0.0/16", "", "", NULL},
        /* the bridge's address gives subnet and gateway, fixed-cidr the range */
        {4,
         NULL,
         "10.11.22.0/24",
         NULL,
         false,
         {"10.11.12.13/16"},
         "10.11.0.0/16",
         "10.11.22.0/24",
         "10.11.12.13",
         "",
         NULL},
        {4,
         NULL,
         NULL,
         NULL,
         false,
         {"10.9.0.1/16", "10.8.0.1/24"},
         "10.9.0.0/16",
         "",
         "10.9.0.1",
         "",
         NULL},
        /* of several, the one whose subnet holds fixed-cidr */
        {4,
         NULL,
         "10.8.0.0/25",
         NULL,
         false,
         {"10.9.0.1/16", "10.8.0.1/24"},
         "10.8.0.0/24",
         "10.8.0.0/25",
         "10.8.0.1",
         "",
         NULL},
        /* berth's bridge with a subnet smaller than a changed fixed-cidr holding its address:
         * widened; one whose subnet does not hold fixed-cidr's address: ignored */
        {4,
         NULL,
         "10.11.12.0/16",
         NULL,
         false,
         {"10.11.12.13/24"},
         "10.11.0.0/16",
         "10.11.0.0/16",
         "10.11.12.13",
         "",
         NULL},
        {4,
         NULL,
         "10.11.0.0/16",
         NULL,
         false,
         {"10.11.12.13/24"},
         "10.11.0.0/16",
         "10.11.0.0/16",
         "",
         "",
         NULL},
        /* ... and one outside it: ignored */
        {4,
         NULL,
         "10.6.0.0/24",
         NULL,
         false,
         {"10.5.0.1/16"},
         "10.6.0.0/24",
         "10.6.0.0/24",
         "",
         "",
         NULL},
        /* the user's bridge: its address is kept and a fixed-cidr outside it dropped (IPv4) */
        {4,
         NULL,
         "10.6.0.0/24",
         NULL,
         true,
         {"10.5.0.1/16"},
         "10.5.0.0/16",
         "",
         "10.5.0.1",
         "",
         NULL},
        {6,
         NULL,
         "fd00:6::/64",
         NULL,
         true,
         {"fd00:5::1/64"},
         NULL,
         NULL,
         NULL,
         NULL,
         "fixed-cidr-v6=fd00:6::/64 is outside any subnet implied by addresses on the "
         "user-managed default bridge"},
        /* the kernel's link-local address is no bridge address */
        {6, NULL, NULL, NULL, false, {"fe80::1/64"}, "", "", "", "", NULL},
        {6,
         "fd00:7::1/64",
         NULL,
         NULL,
         false,
         {"fe80::1/64"},
         "fd00:7::/64",
         "",
         "fd00:7::1",
         "",
         NULL},
        {4,
         "172.30.0.1/16",
         NULL,
         "172.30.0.254",
         false,
         {0},
         "172.30.0.0/16",
         "",
         "172.30.0.1",
         "DefaultGatewayIPv4=172.30.0.254",
         NULL},
        {4,
         "172.30.0.1",
         NULL,
         NULL,
         false,
         {0},
         NULL,
         NULL,
         NULL,
         NULL,
         "parse bip failed: invalid CIDR address: 172.30.0.1"},
        {4,
         NULL,
         "10.0.0.0/33",
         NULL,
         false,
         {0},
         NULL,
         NULL,
         NULL,
         NULL,
         "parse fixed-cidr failed: invalid CIDR address: 10.0.0.0/33"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct ipam_prefix addrs[3];
        size_t n = 0;
        for (; n < 3 && t[i].addrs[n]; n++)
            addrs[n] = P(t[i].addrs[n]);
        struct ipam_bridge_opts o = {.family = t[i].family,
                                     .bip = t[i].bip,
                                     .fixed_cidr = t[i].fixed,
                                     .default_gw = t[i].gw,
                                     .user_managed = t[i].user,
                                     .bridge_addrs = addrs,
                                     .n_bridge_addrs = n};
        struct ipam_conf c = {0};
        struct berth_err *err = NULL;
        int r = ipam_bridge_conf(&o, &c, &err);
        if (t[i].msg) {
            expect_err(r, &err, EINVAL, t[i].msg);
            ipam_conf_clear(&c);
            continue;
        }
        if (r < 0)
            fail_msg("case %zu: %s", i, err->msg);
        if (strcmp(fp(&c.subnet), t[i].subnet) || strcmp(fp(&c.range), t[i].range) ||
            strcmp(c.gateway.family ? fa(&c.gateway) : "", t[i].gateway))
            fail_msg("case %zu: got subnet %s range %s gateway %s", i, fp(&c.subnet), fp(&c.range),
                     c.gateway.family ? fa(&c.gateway) : "");
        char aux[128] = "";
        if (c.n_aux)
            snprintf(aux, sizeof(aux), "%s=%s", c.aux[0].name, fa(&c.aux[0].addr));
        assert_string_equal(aux, t[i].aux);
        ipam_conf_clear(&c);
    }
    /* bip's conf as a pool: the bridge address is the gateway, endpoints follow */
    struct ipam *ipam = new_ipam(NULL, NULL);
    struct ipam_bridge_opts o = {
        .family = 4, .bip = "172.30.0.1/16", .fixed_cidr = "172.30.5.0/24"};
    struct ipam_conf c;
    assert_int_equal(ipam_bridge_conf(&o, &c, NULL), 0);
    struct ipam_pool *p = pool_ok(ipam, &c, 4, NULL, 0);
    assert_string_equal(fa(&p->gateway), "172.30.0.1");
    /* the range's .0 is not the subnet's network address: dockerd gives it (its own test
     * TestRequestReleaseAddressFromSubPool expects 10.2.2.0 first) */
    expect_addr(p, "172.30.5.0");
    ipam_pool_release(p);
    ipam_free(ipam);
}

/* ---- the state file ---- */

struct store_fixture {
    char *dir, *path;
};

static int store_setup(void **state)
{
    struct store_fixture *f = xcalloc(1, sizeof(*f));
    f->dir = tu_tmpdir("ipam");
    f->path = xasprintf("%s/ipam.json", f->dir);
    *state = f;
    return 0;
}

static int store_teardown(void **state)
{
    struct store_fixture *f = *state;
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f->path);
    free(f);
    return 0;
}

static void release_pools(struct ipam_pool **pools, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ipam_pool_release(pools[i]);
    free(pools);
}

static void test_state_round_trip(void **state)
{
    struct store_fixture *f = *state;
    struct ipam *ipam = new_ipam(NULL, "bt-engine");
    struct ipam_conf c = conf("10.10.0.0/24", "10.10.0.128/25", "10.10.0.1", "r=10.10.0.130");
    struct ipam_pool *net[3] = {pool_ok(ipam, &c, 4, NULL, 0), pool_ok(ipam, NULL, 4, NULL, 0),
                                pool_ok(ipam, NULL, 6, NULL, 0)};
    for (int i = 0; i < 5; i++)
        alloc_ok(net[0], NULL); /* .128 .129 .131 .132 .133 */
    alloc_ok(net[0], "10.10.0.9");
    struct ipam_addr rel = A("10.10.0.131");
    assert_int_equal(ipam_addr_release(net[0], &rel, NULL), 0);
    alloc_ok(net[1], NULL);
    alloc_ok(net[2], NULL);
    struct berth_err *err = NULL;
    if (ipam_state_save(f->path, net, 3, &err) < 0)
        fail_msg("save: %s", err->msg);
    json_t *j = json_load_file(f->path, 0, NULL);
    json_t *first = json_array_get(json_object_get(j, "pools"), 0);
    char *addrs = json_dumps(json_object_get(first, "addresses"), JSON_COMPACT);
    assert_string_equal(addrs,
                        "[\"10.10.0.9\",\"10.10.0.128-10.10.0.129\",\"10.10.0.132-10.10.0.133\"]");
    free(addrs);
    json_decref(j);

    /* a new engine: the same pools come back, taken in the new allocator */
    struct ipam *ipam2 = new_ipam(NULL, "bt-engine");
    struct ipam_pool **back = NULL;
    size_t n = 0;
    if (ipam_state_load(ipam2, f->path, &back, &n, &err) < 0)
        fail_msg("load: %s", err->msg);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(fp(&back[i]->subnet), fp(&net[i]->subnet));
        assert_string_equal(fp(&back[i]->range), fp(&net[i]->range));
        assert_string_equal(fa(&back[i]->gateway), fa(&net[i]->gateway));
        assert_int_equal(back[i]->user_subnet, net[i]->user_subnet);
        assert_int_equal(ipam_pool_count(back[i]), ipam_pool_count(net[i]));
    }
    assert_int_equal(back[0]->n_aux, 1);
    assert_string_equal(back[0]->aux[0].name, "r");
    expect_addr(back[0], "10.10.0.131"); /* the released one, then after the taken ones */
    expect_addr(back[0], "10.10.0.134");
    expect_addr(back[1], "172.17.0.3");
    expect_addr(back[2], "fda5:c4b8:5235::3");
    /* a loaded dynamic subnet still blocks dynamic picks, and stays not the user's */
    struct ipam_pool *next = pool_ok(ipam2, NULL, 4, NULL, 0);
    assert_string_equal(fp(&next->subnet), "172.18.0.0/16");
    assert_false(back[1]->user_subnet);
    assert_true(back[0]->user_subnet);
    ipam_pool_release(next);
    release_pools(back, n);
    ipam_free(ipam2);

    struct ipam_pool **none = NULL;
    expect_err(ipam_state_load(ipam, "/nonexistent/ipam.json", &none, &n, &err), &err, ENOENT,
               "open `/nonexistent/ipam.json`: No such file or directory");
    for (int i = 0; i < 3; i++)
        ipam_pool_release(net[i]);
    ipam_free(ipam);
}

static void test_state_torn_temp(void **state)
{
    struct store_fixture *f = *state;
    struct ipam *ipam = new_ipam(NULL, NULL);
    struct ipam_conf c = conf("10.11.0.0/24", NULL, NULL, NULL);
    struct ipam_pool *p = pool_ok(ipam, &c, 4, NULL, 0);
    alloc_ok(p, NULL);
    assert_int_equal(ipam_state_save(f->path, &p, 1, NULL), 0);
    /* a crash in the middle of the next write leaves a torn temp file beside the state */
    char *tmp = xasprintf("%s" FS_TEMP_INFIX "a1B2c3", f->path);
    static const char torn[] = "{\"version\":1,\"pools\":[{\"subnet\":\"10.11.0.0/24\",\"addr";
    tu_write(tmp, torn, strlen(torn));
    struct ipam *ipam2 = new_ipam(NULL, NULL);
    struct ipam_pool **back = NULL;
    size_t n = 0;
    struct berth_err *err = NULL;
    if (ipam_state_load(ipam2, f->path, &back, &n, &err) < 0)
        fail_msg("load: %s", err->msg);
    assert_int_equal(n, 1);
    assert_int_equal(ipam_pool_count(back[0]), 1);
    release_pools(back, n);
    /* the start-up sweep removes it */
    int dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_int_equal(fs_sweep_temps(dfd), 1);
    close(dfd);
    assert_int_equal(access(tmp, F_OK), -1);
    /* a state file torn by something else than berth is refused, not half-loaded */
    tu_write(f->path, torn, strlen(torn));
    assert_true(ipam_state_load(ipam2, f->path, &back, &n, &err) < 0);
    assert_int_equal(err->status, EINVAL);
    berth_err_free(err);
    free(tmp);
    ipam_free(ipam2);
    ipam_pool_release(p);
    ipam_free(ipam);
}

/* The recommended integration: the network's record keeps its pool without addresses, each
 * running container's record its own address; start-up replays both. */
static void test_replay_from_records(void **state)
{
    (void)state;
    struct ipam *ipam = new_ipam(NULL, NULL);
    struct ipam_conf c = conf("10.14.0.0/24", "10.14.0.0/25", "10.14.0.1", "r=10.14.0.2");
    struct ipam_pool *p = pool_ok(ipam, &c, 4, NULL, 0);
    struct ipam_addr ctr[3] = {alloc_ok(p, NULL), alloc_ok(p, NULL), alloc_ok(p, "10.14.0.200")};
    json_t *net = ipam_pool_json(p, false);
    assert_null(json_object_get(net, "addresses"));
    ipam_pool_release(p);
    ipam_free(ipam);

    ipam = new_ipam(NULL, NULL);
    struct berth_err *err = NULL;
    if (ipam_pool_from_json(ipam, net, &p, &err) < 0)
        fail_msg("from_json: %s", err->msg);
    json_decref(net);
    assert_true(p->user_subnet);
    for (int i = 0; i < 3; i++) { /* each container record's address, taken again */
        struct ipam_addr got;
        assert_int_equal(ipam_addr_request(p, &ctr[i], &got, &err), 0);
    }
    expect_addr(p, "10.14.0.5"); /* .1 gateway, .2 aux, .3 .4 the containers */
    struct ipam_addr dup;
    expect_err(ipam_addr_request(p, &ctr[0], &dup, &err), &err, EACCES, "Address already in use");
    ipam_pool_release(p);
    ipam_free(ipam);
}

/* A child saves the new state with a crash point armed between the temp file's fsync and its
 * rename: it dies by SIGKILL there, and the file still holds the old state. Then again without
 * the crash: the new state. */
static void test_state_crash(void **state)
{
    struct store_fixture *f = *state;
    struct ipam *ipam = new_ipam(NULL, NULL);
    struct ipam_conf c = conf("10.12.0.0/24", NULL, NULL, NULL);
    struct ipam_pool *p = pool_ok(ipam, &c, 4, NULL, 0);
    alloc_ok(p, NULL);
    assert_int_equal(ipam_state_save(f->path, &p, 1, NULL), 0); /* old: one address */
    alloc_ok(p, NULL);
    for (int crash = 1; crash >= 0; crash--) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            if (crash)
                setenv("BERTH_CRASH_AT", "write:ipam.json", 1);
            crashpoint_init();
            _exit(ipam_state_save(f->path, &p, 1, NULL) < 0 ? 1 : 0);
        }
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (crash)
            assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        else
            assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        struct ipam *ipam2 = new_ipam(NULL, NULL);
        struct ipam_pool **back = NULL;
        size_t n = 0;
        struct berth_err *err = NULL;
        if (ipam_state_load(ipam2, f->path, &back, &n, &err) < 0)
            fail_msg("load: %s", err->msg);
        assert_int_equal(ipam_pool_count(back[0]), crash ? 1 : 2);
        release_pools(back, n);
        ipam_free(ipam2);
    }
    ipam_pool_release(p);
    ipam_free(ipam);
}

/* ---- cost of the per-container operations ---- */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void test_timing(void **state)
{
    struct store_fixture *f = *state;
    struct ipam *ipam = new_ipam(NULL, NULL);
    struct ipam_conf c = conf("10.13.0.0/16", NULL, NULL, NULL);
    struct ipam_pool *p = pool_ok(ipam, &c, 4, NULL, 0);
    /* a network with 1000 endpoints, one in ten released: a realistic interval list */
    struct ipam_addr addrs[1000];
    for (int i = 0; i < 1000; i++)
        addrs[i] = alloc_ok(p, NULL);
    for (int i = 10; i < 1000; i += 10)
        ipam_addr_release(p, &addrs[i], NULL);
    enum { N = 200000 };
    double t0 = now_ns();
    for (int i = 0; i < N; i++) {
        struct ipam_addr a;
        ipam_addr_request(p, NULL, &a, NULL);
        ipam_addr_release(p, &a, NULL);
    }
    double alloc = (now_ns() - t0) / N;
    enum { S = 50 };
    t0 = now_ns();
    for (int i = 0; i < S; i++) {
        struct ipam_addr a = alloc_ok(p, NULL);
        assert_int_equal(ipam_state_save(f->path, &p, 1, NULL), 0);
        ipam_addr_release(p, &a, NULL);
    }
    double durable = (now_ns() - t0) / S;
    t0 = now_ns();
    for (int i = 0; i < S; i++) {
        struct ipam_addr a = alloc_ok(p, NULL);
        json_t *j = ipam_pool_json(p, true);
        char *text = json_dumps(j, JSON_COMPACT);
        assert_int_equal(fs_write_replace(f->path, text, strlen(text), 0600, NULL), 0);
        free(text);
        json_decref(j);
        ipam_addr_release(p, &a, NULL);
    }
    double replace = (now_ns() - t0) / S;
    print_message("# ipam: request+release %.0f ns; request + state file (fsync, rename, fsync "
                  "dir) %.0f us; request + state file without fsync %.0f us (%zu intervals)\n",
                  alloc, durable / 1000, replace / 1000, p->_mine.n);
    ipam_pool_release(p);
    ipam_free(ipam);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_addr),
        cmocka_unit_test(test_parse_prefix),
        cmocka_unit_test(test_contains_overlaps),
        cmocka_unit_test(test_default_pools),
        cmocka_unit_test(test_default_pools_exhausted),
        cmocka_unit_test(test_pool_defs_refused),
        cmocka_unit_test(test_ula_pool),
        cmocka_unit_test(test_host_reserved),
        cmocka_unit_test(test_static_overlap),
        cmocka_unit_test(test_conf_parse),
        cmocka_unit_test(test_gateway_aux_range),
        cmocka_unit_test(test_sequential_release),
        cmocka_unit_test(test_exhaustion),
        cmocka_unit_test(test_pools_assign),
        cmocka_unit_test(test_endpoint_check),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_bridge_conf),
        cmocka_unit_test_setup_teardown(test_state_round_trip, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_state_torn_temp, store_setup, store_teardown),
        cmocka_unit_test(test_replay_from_records),
        cmocka_unit_test_setup_teardown(test_state_crash, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_timing, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
