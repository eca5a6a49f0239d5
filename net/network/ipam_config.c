/* net/network/ipam_config.c — what users and the host hand to the allocator, checked and worded
 * as dockerd does: a network create's IPAM.Config, daemon.json's default-address-pools, a
 * container's --ip/--ip6, the host's routes and nameservers, and the default bridge's
 * bip/fixed-cidr/default-gateway. */
#include "net/network/ipam.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "fs/atomic.h"

/* ---- a list of problems, joined as dockerd's multierror ---- */

struct problems {
    char **v;
    size_t n;
};

static void problem(struct problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct problems *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    p->v = xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
    p->v[p->n++] = xvasprintf(fmt, ap);
    va_end(ap);
}

static void problems_free(struct problems *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i]);
    free(p->v);
}

/* "HEAD:\nONE" or "HEAD:\n* ONE\n* TWO", as dockerd's multierror.Join under a heading. */
static int problems_error(struct problems *p, const char *head, struct berth_err **err)
{
    _cleanup_buf_ struct buf b = {0};
    buf_printf(&b, "%s:\n", head);
    for (size_t i = 0; i < p->n; i++)
        buf_printf(&b, "%s%s", p->n > 1 ? (i ? "\n* " : "* ") : "", p->v[i]);
    return berth_user_error(err, EINVAL, "%s", b.data);
}

static const char *family_block(int family)
{
    return family == 6 ? "IPv6" : "IPv4";
}

/* ---- a network create's IPAM.Config ---- */

static void check_range(struct problems *p, const char *text, const struct ipam_prefix *subnet,
                        struct ipam_prefix *out)
{
    struct ipam_prefix r;
    char b[IPAM_PREFIX_STRLEN], m[IPAM_PREFIX_STRLEN], s[IPAM_PREFIX_STRLEN];
    if (!text || !*text)
        return;
    if (!ipam_prefix_parse(text, &r)) {
        problem(p, "invalid ip-range %s: invalid CIDR block notation", text);
        return;
    }
    if (r.addr.family != subnet->addr.family) {
        problem(p, "invalid ip-range %s: parent subnet is an %s block", text,
                family_block(subnet->addr.family));
        return;
    }
    ipam_prefix_fmt(subnet, s);
    if (r.bits < subnet->bits)
        problem(p, "invalid ip-range %s: CIDR block is bigger than its parent subnet %s", text, s);
    struct ipam_prefix masked = ipam_prefix_masked(r);
    if (!ipam_prefix_eq(&r, &masked))
        problem(p, "invalid ip-range %s: it should be %s", ipam_prefix_fmt(&r, b),
                ipam_prefix_fmt(&masked, m));
    if (!ipam_prefix_overlaps(subnet, &r))
        problem(p, "invalid ip-range %s: parent subnet %s doesn't contain ip-range", text, s);
    *out = r;
}

/* dockerd's validateAddress: the words after "invalid gateway X: ", or NULL when fine. */
static char *check_address(const char *text, const struct ipam_prefix *subnet,
                           struct ipam_addr *out)
{
    struct ipam_addr a;
    char s[IPAM_PREFIX_STRLEN];
    if (!ipam_addr_parse(text, &a))
        return xstrdup("invalid address");
    if (a.family != subnet->addr.family)
        return xasprintf("parent subnet is an %s block", family_block(subnet->addr.family));
    if (!ipam_prefix_contains(subnet, &a))
        return xasprintf("parent subnet %s doesn't contain this address",
                         ipam_prefix_fmt(subnet, s));
    *out = a;
    return NULL;
}

static void check_entry(struct problems *p, const json_t *cfg, const struct ipam_prefix *subnet,
                        struct ipam_conf *c)
{
    char b[IPAM_PREFIX_STRLEN], m[IPAM_PREFIX_STRLEN];
    struct ipam_prefix masked = ipam_prefix_masked(*subnet);
    if (!ipam_prefix_eq(subnet, &masked))
        problem(p, "invalid subnet %s: it should be %s", ipam_prefix_fmt(subnet, b),
                ipam_prefix_fmt(&masked, m));
    c->subnet = *subnet;
    check_range(p, json_get_str(cfg, "IPRange"), subnet, &c->range);
    const char *gw = json_get_str(cfg, "Gateway");
    if (gw && *gw) {
        _cleanup_free_ char *why = check_address(gw, subnet, &c->gateway);
        if (why)
            problem(p, "invalid gateway %s: %s", gw, why);
    }
    const json_t *aux = json_object_get(cfg, "AuxiliaryAddresses");
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)aux, name, v)
    {
        struct ipam_addr a = {0};
        const char *text = json_is_string(v) ? json_string_value(v) : "";
        _cleanup_free_ char *why = check_address(text, subnet, &a);
        if (why) {
            problem(p, "invalid auxiliary address %s: %s", name, why);
            continue;
        }
        c->aux = xrealloc(c->aux, (c->n_aux + 1) * sizeof(*c->aux));
        c->aux[c->n_aux++] = (struct ipam_aux){.name = xstrdup(name), .addr = a};
    }
}

static void push_conf(struct ipam_conf **v, size_t *n, struct ipam_conf *c)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = *c;
    *c = (struct ipam_conf){0};
}

void ipam_confs_free(struct ipam_conf *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ipam_conf_clear(&c[i]);
    free(c);
}

int ipam_conf_parse(const json_t *config, bool enable_ipv6, struct ipam_conf **v4, size_t *n4,
                    struct ipam_conf **v6, size_t *n6, struct berth_err **err)
{
    struct problems p = {0};
    struct ipam_conf *l4 = NULL, *l6 = NULL;
    size_t c4 = 0, c6 = 0, i;
    const json_t *cfg;
    json_array_foreach((json_t *)config, i, cfg)
    {
        const char *text = json_get_str(cfg, "Subnet");
        struct ipam_prefix subnet;
        if (!text || !ipam_prefix_parse(text, &subnet)) {
            problem(&p, "invalid subnet %s: invalid CIDR block notation", text ? text : "");
            continue;
        }
        if (subnet.addr.family == 6 && !enable_ipv6)
            continue;
        struct ipam_conf c = {0};
        check_entry(&p, cfg, &subnet, &c);
        if (subnet.addr.family == 4)
            push_conf(&l4, &c4, &c);
        else
            push_conf(&l6, &c6, &c);
    }
    if (p.n) {
        int r = problems_error(&p, "invalid network config", err);
        problems_free(&p);
        ipam_confs_free(l4, c4);
        ipam_confs_free(l6, c6);
        return r;
    }
    *v4 = l4, *n4 = c4, *v6 = l6, *n6 = c6;
    return 0;
}

/* ---- daemon.json default-address-pools ---- */

int ipam_pools_parse(const json_t *arr, struct ipam_pool_def **out, size_t *n,
                     struct berth_err **err)
{
    if (!json_is_array(arr))
        return berth_user_error(err, EINVAL, "default-address-pools: expected a list of pools");
    _cleanup_free_ struct ipam_pool_def *defs = xcalloc(json_array_size(arr) + 1, sizeof(*defs));
    size_t i;
    const json_t *e;
    json_array_foreach((json_t *)arr, i, e)
    {
        const char *base = json_get_str(e, "base");
        if (!base || !ipam_prefix_parse(base, &defs[i].base))
            return berth_user_error(err, EINVAL,
                                    "default-address-pools: netip.ParsePrefix(\"%s\"): invalid "
                                    "prefix",
                                    base ? base : "");
        defs[i].size = (int)json_get_int(e, "size", 0);
    }
    *n = json_array_size(arr);
    *out = take_ptr(defs);
    return 0;
}

/* ---- --ip / --ip6 ---- */

static bool ip_ok(const char *text, int family, struct ipam_addr *a)
{
    if (!ipam_addr_parse(text, a))
        return false;
    if (family == 4)
        *a = ipam_addr_unmap(*a); /* Go's To4() takes ::ffff:a.b.c.d as IPv4 */
    return a->family == family && a->v != 0;
}

static void check_in_range(struct problems *p, const char *text, int family,
                           struct ipam_pool *const *pools, size_t n)
{
    struct ipam_addr a = {0};
    bool parsed = ipam_addr_parse(text, &a);
    if (parsed && family == 4)
        a = ipam_addr_unmap(a);
    bool user_subnet = false;
    for (size_t i = 0; i < n; i++) {
        if (pools[i]->subnet.addr.family != family || !pools[i]->user_subnet)
            continue;
        user_subnet = true;
        if (parsed && ipam_prefix_contains(&pools[i]->subnet, &a))
            return;
    }
    if (user_subnet)
        problem(p, "no configured subnet or ip-range contain the IP address %s", text);
    else
        problem(p, "user specified IP address is supported only when connecting to networks with "
                   "user configured subnets");
}

int ipam_endpoint_check(const char *ipv4, const char *ipv6, bool user_defined,
                        struct ipam_pool *const *pools, size_t n_pools, struct berth_err **err)
{
    bool has4 = ipv4 && *ipv4, has6 = ipv6 && *ipv6;
    struct problems p = {0};
    struct ipam_addr a;
    if (!user_defined && (has4 || has6))
        problem(&p, "user specified IP address is supported on user defined networks only");
    if (has4 && !ip_ok(ipv4, 4, &a))
        problem(&p, "invalid IPv4 address: %s", ipv4);
    if (has6 && !ip_ok(ipv6, 6, &a))
        problem(&p, "invalid IPv6 address: %s", ipv6);
    if (pools && has4)
        check_in_range(&p, ipv4, 4, pools, n_pools);
    if (pools && has6)
        check_in_range(&p, ipv6, 6, pools, n_pools);
    if (!p.n)
        return 0;
    int r = problems_error(&p, "invalid endpoint settings", err);
    problems_free(&p);
    return r;
}

/* ---- the host's routes and nameservers ---- */

#define RTF_GATEWAY_ 0x0002u
#define RTF_REJECT_  0x0200u
#define RTF_ANYCAST_ 0x00100000u
#define RTF_CACHE_   0x01000000u
#define RTF_LOCAL_   0x80000000u

struct plist {
    struct ipam_prefix *v;
    size_t n;
};

static void plist_add(struct plist *l, struct ipam_prefix p)
{
    l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
    l->v[l->n++] = ipam_prefix_masked(p);
}

/* A file's lines, or none when it cannot be read (dockerd ignores a missing resolv.conf, and a
 * host without IPv6 has no ipv6_route). */
static char *slurp(const char *path)
{
    char *text = NULL;
    size_t len;
    if (!path || fs_read_file(path, &text, &len, NULL) < 0)
        return NULL;
    return text;
}

/* /proc/net/route: "Iface Destination Gateway Flags RefCnt Use Metric Mask ...", addresses as
 * the kernel's __be32 printed with %08X, so read back into memory they are in network order. */
static void routes4(const char *path, struct plist *l)
{
    _cleanup_free_ char *text = slurp(path);
    char *save = NULL;
    for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char ifname[64];
        unsigned dst, gw, flags, mask;
        if (sscanf(line, "%63s %x %x %x %*d %*d %*d %x", ifname, &dst, &gw, &flags, &mask) != 5)
            continue; /* the header */
        uint32_t d = dst, m = mask;
        if ((flags & (RTF_GATEWAY_ | RTF_REJECT_)) || d == 0)
            continue;
        struct ipam_addr ma = ipam_addr_from_bytes(4, &m);
        int bits = __builtin_popcount((unsigned)ma.v);
        plist_add(l,
                  (struct ipam_prefix){.addr = ipam_addr_from_bytes(4, &d), .bits = (uint8_t)bits});
    }
}

static bool hex_bytes(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return false;
        out[i] = (uint8_t)v;
    }
    return true;
}

/* /proc/net/ipv6_route: "dst dstlen src srclen nexthop metric refcnt use flags iface", all tables;
 * on-link is a route of the host's own prefixes: no gateway, not local, not link-local or
 * multicast. */
static void routes6(const char *path, struct plist *l)
{
    _cleanup_free_ char *text = slurp(path);
    char *save = NULL;
    for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char dst[33];
        unsigned bits, flags;
        uint8_t b[16];
        if (sscanf(line, "%32s %x %*s %*x %*s %*x %*x %*x %x", dst, &bits, &flags) != 3 ||
            !hex_bytes(dst, b, 16) || bits == 0 || bits > 128)
            continue;
        if (flags & (RTF_GATEWAY_ | RTF_REJECT_ | RTF_LOCAL_ | RTF_ANYCAST_ | RTF_CACHE_))
            continue;
        if (b[0] == 0xff || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80))
            continue;
        plist_add(l,
                  (struct ipam_prefix){.addr = ipam_addr_from_bytes(6, b), .bits = (uint8_t)bits});
    }
}

static void nameservers(const char *path, int family, struct plist *l)
{
    _cleanup_free_ char *text = slurp(path);
    char *save = NULL;
    for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char word[16], addr[128];
        struct ipam_addr a;
        if (sscanf(line, " %15s %127s", word, addr) != 2 || strcmp(word, "nameserver") != 0)
            continue;
        addr[strcspn(addr, "%")] = '\0'; /* a zone says nothing about the address */
        if (ipam_addr_parse(addr, &a) && (a = ipam_addr_unmap(a)).family == family)
            plist_add(l,
                      (struct ipam_prefix){.addr = a, .bits = (uint8_t)ipam_family_bits(family)});
    }
}

static int prefix_cmp_qsort(const void *a, const void *b)
{
    return ipam_prefix_cmp(a, b);
}

size_t ipam_host_reserved(int family, const char *route_path, const char *route6_path,
                          const char *resolv_path, struct ipam_prefix **out)
{
    struct plist l = {0};
    nameservers(resolv_path, family, &l);
    if (family == 4)
        routes4(route_path, &l);
    else
        routes6(route6_path, &l);
    if (l.n)
        qsort(l.v, l.n, sizeof(*l.v), prefix_cmp_qsort);
    *out = l.v;
    return l.n;
}

/* ---- the default bridge ---- */

static bool standard_ll(const struct ipam_addr *a)
{
    return a->family == 6 && a->v >> 64 == (ipam_u128)0xfe80 << 48;
}

/* dockerd's selectBIP: which address already on the bridge stands for bip. */
static bool select_bip(const struct ipam_bridge_opts *o, const struct ipam_prefix *fixed,
                       struct ipam_addr *bip, struct ipam_prefix *net)
{
    const struct ipam_prefix *nw = NULL;
    for (size_t i = 0; i < o->n_bridge_addrs; i++) {
        const struct ipam_prefix *e = &o->bridge_addrs[i];
        /* the kernel's link-local address is no choice, unless fixed-cidr-v6 is link-local */
        if (e->addr.family != o->family ||
            (standard_ll(&e->addr) && !(fixed && standard_ll(&fixed->addr))))
            continue;
        if (!nw) {
            nw = e;
            if (!fixed)
                break;
        }
        if (fixed && ipam_prefix_contains(e, &fixed->addr)) {
            nw = e;
            break;
        }
        if (fixed && ipam_prefix_contains(fixed, &e->addr) &&
            !ipam_prefix_contains(fixed, &nw->addr))
            nw = e;
    }
    if (!nw)
        return false;
    *bip = nw->addr;
    *net = ipam_prefix_masked(*nw);
    if (o->user_managed || !fixed)
        return true;
    /* berth's own bridge whose address no longer fits fixed-cidr: the config wins */
    if (!ipam_prefix_contains(net, &fixed->addr))
        return false;
    if (fixed->bits < net->bits)
        *net = ipam_prefix_masked((struct ipam_prefix){.addr = *bip, .bits = fixed->bits});
    return true;
}

static int parse_cidr_opt(const char *text, int family, const char *opt, struct ipam_prefix *out,
                          struct berth_err **err)
{
    if (!ipam_prefix_parse(text, out))
        return berth_user_error(err, EINVAL, "parse %s failed: invalid CIDR address: %s", opt,
                                text);
    *out = (struct ipam_prefix){.addr = ipam_addr_unmap(out->addr), .bits = out->bits};
    if (out->addr.family != family)
        return berth_user_error(err, EINVAL, "parse %s failed: %s is not an %s CIDR", opt, text,
                                family_block(family));
    return 0;
}

int ipam_bridge_conf(const struct ipam_bridge_opts *o, struct ipam_conf *out,
                     struct berth_err **err)
{
    bool v6 = o->family == 6;
    const char *fixed_opt = v6 ? "fixed-cidr-v6" : "fixed-cidr", *bip_opt = v6 ? "bip6" : "bip";
    struct ipam_prefix fixed = {0}, net = {0}, bnet;
    struct ipam_addr bip = {0};
    int r;
    if (o->fixed_cidr && *o->fixed_cidr &&
        (r = parse_cidr_opt(o->fixed_cidr, o->family, fixed_opt, &fixed, err)) < 0)
        return r;
    if (o->bip && *o->bip) {
        if ((r = parse_cidr_opt(o->bip, o->family, bip_opt, &bnet, err)) < 0)
            return r;
        bip = bnet.addr;
        net = ipam_prefix_masked(bnet);
    } else if (!select_bip(o, fixed.addr.family ? &fixed : NULL, &bip, &net)) {
        bip = (struct ipam_addr){0};
        net = (struct ipam_prefix){0};
    }
    *out = (struct ipam_conf){.subnet = net, .gateway = bip};
    if (fixed.addr.family) {
        out->range = ipam_prefix_masked(fixed);
        if (!net.addr.family) {
            out->subnet = out->range;
        } else if (o->user_managed &&
                   (!ipam_prefix_contains(&net, &fixed.addr) || fixed.bits < net.bits)) {
            /* the user's bridge has no address for fixed-cidr: dockerd refuses it for IPv6 and,
             * as it always has, drops the range for IPv4 */
            if (v6)
                return berth_user_error(err, EINVAL,
                                        "%s=%s is outside any subnet implied by addresses on the "
                                        "user-managed default bridge",
                                        fixed_opt, o->fixed_cidr);
            out->range = (struct ipam_prefix){0};
        }
    }
    if (o->default_gw && *o->default_gw) {
        struct ipam_addr gw;
        if (!ipam_addr_parse(o->default_gw, &gw))
            return berth_user_error(err, EINVAL, "invalid %s: %s",
                                    v6 ? "default-gateway-v6" : "default-gateway", o->default_gw);
        out->aux = xcalloc(1, sizeof(*out->aux));
        out->aux[0] = (struct ipam_aux){
            .name = xstrdup(v6 ? "DefaultGatewayIPv6" : "DefaultGatewayIPv4"), .addr = gw};
        out->n_aux = 1;
    }
    return 0;
}
