/* net/network/bridge.c — the default bridge at start-up: the link made or reused, its subnet and
 * gateway settled as dockerd's getDefaultBridgeIPAMConf settles them, its address, IP
 * forwarding, and the host ends of veths a crash left behind. */
#include "net/network/bridge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "net/network/bridge_fw.h"
#include "net/network/lowernet.h"
#include "net/network/netlink.h"

/* What a failed open leaves to free. */
static void bridge_free(struct netbr *b)
{
    if (!b)
        return;
    netbr_fw_close(b->_fw);
    ipam_pool_release(b->_pool);
    ipam_free(b->_ipam);
    netbr_config_free(&b->cfg);
    free(b->created);
    free(b);
}

static void config_copy(struct netbr_config *dst, const struct netbr_config *src)
{
    *dst = *src;
    dst->name = xstrdup(src->name);
    dst->bip = src->bip ? xstrdup(src->bip) : NULL;
    dst->fixed_cidr = src->fixed_cidr ? xstrdup(src->fixed_cidr) : NULL;
    dst->aux = NULL;
    dst->n_aux = 0;
    ipam_aux_append(&dst->aux, &dst->n_aux, src->aux, src->n_aux);
    dst->default_gw = src->default_gw ? xstrdup(src->default_gw) : NULL;
    dst->host_ip = src->host_ip ? xstrdup(src->host_ip) : NULL;
    dst->net_name = src->net_name ? xstrdup(src->net_name) : NULL;
    dst->parent = src->parent ? xstrdup(src->parent) : NULL;
    dst->taken = NULL;
    if (src->ntaken) {
        dst->taken = xcalloc(src->ntaken, sizeof(*dst->taken));
        memcpy(dst->taken, src->taken, src->ntaken * sizeof(*dst->taken));
    }
    dst->pools = NULL;
    if (src->npools) {
        dst->pools = xcalloc(src->npools, sizeof(*dst->pools));
        memcpy(dst->pools, src->pools, src->npools * sizeof(*dst->pools));
    }
}

static void random_hex(char *out, size_t nbytes)
{
    uint8_t raw[32];
    if (getrandom(raw, nbytes, 0) != (ssize_t)nbytes)
        for (size_t i = 0; i < nbytes; i++)
            raw[i] = (uint8_t)rand();
    for (size_t i = 0; i < nbytes; i++)
        sprintf(out + 2 * i, "%02x", raw[i]);
}

static struct nl_prefix to_nl(const struct ipam_addr *a, unsigned bits)
{
    struct nl_prefix p = {.len = bits};
    uint8_t raw[16];
    ipam_addr_bytes(a, raw);
    p.ip.family = a->family == 6 ? AF_INET6 : AF_INET;
    memcpy(a->family == 6 ? (void *)&p.ip.v6 : (void *)&p.ip.v4, raw, a->family == 6 ? 16 : 4);
    return p;
}

static struct ipam_prefix from_nl(const struct nl_prefix *p)
{
    struct ipam_prefix out = {.bits = (uint8_t)p->len};
    out.addr = ipam_addr_from_bytes(p->ip.family == AF_INET6 ? 6 : 4,
                                    p->ip.family == AF_INET6 ? (const void *)&p->ip.v6
                                                             : (const void *)&p->ip.v4);
    return out;
}

/* A locally administered unicast MAC of its own, so the bridge's address does not follow the
 * lowest of its ports' (which would change the containers' gateway MAC as they come and go). */
static void random_mac(uint8_t mac[6])
{
    if (getrandom(mac, 6, 0) != 6)
        for (int i = 0; i < 6; i++)
            mac[i] = (uint8_t)rand();
    mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);
}

/* The bridge's link: found (a user's bridge is used as it is), or made. As dockerd with
 * default-address-pools, berth's own bridge is made again at each start, so its subnet comes
 * from the pools in force rather than the address it kept. */
static int ensure_link(struct nl_handle *h, struct netbr *b, bool *made, struct berth_err **err)
{
    struct nl_link link;
    _cleanup_err_ struct berth_err *e = NULL;
    int r = nl_link_get(h, b->cfg.name, 0, &link, &e);
    if (r < 0 && e->status != ENODEV) {
        *err = take_ptr(e);
        return r;
    }
    if (r == 0 && strcmp(link.kind, "bridge") != 0)
        return berth_user_error(err, EEXIST, "%s exists and is not a bridge (its kind: `%s`)",
                                b->cfg.name, link.kind);
    if (r == 0 && !b->cfg.user_bridge && b->cfg.npools) {
        log_info("bridge %s: made again for default-address-pools", b->cfg.name);
        if ((r = nl_link_delete(h, link.ifindex, err)) < 0)
            return r;
        r = -1;
    }
    *made = r < 0;
    if (*made) {
        struct nl_link_attrs a = {.mtu = b->mtu, .up = true};
        random_mac(a.mac);
        if ((r = nl_bridge_create(h, b->cfg.name, &a, err)) < 0)
            return r;
        log_info("bridge %s: created", b->cfg.name);
    }
    if ((r = nl_link_index(h, b->cfg.name, &b->ifindex, err)) < 0)
        return r;
    if (!*made && !b->cfg.user_bridge) { /* ours from an earlier start: settings in force */
        if (link.mtu != b->mtu && (r = nl_link_set_mtu(h, b->ifindex, b->mtu, err)) < 0)
            return r;
        if (!(link.flags & IFF_UP) && (r = nl_link_set_up(h, b->ifindex, true, err)) < 0)
            return r;
    }
    return 0;
}

/* The bridge's IPv4 addresses, as ipam_bridge_conf reads them (a user's bridge's subnet). */
static size_t bridge_addrs(struct nl_handle *h, int ifindex, struct ipam_prefix **out)
{
    struct nl_prefix *list = NULL;
    size_t n = 0;
    *out = NULL;
    if (nl_addr_list(h, ifindex, AF_INET, &list, &n, NULL) < 0 || n == 0)
        return 0;
    *out = xcalloc(n, sizeof(**out));
    for (size_t i = 0; i < n; i++)
        (*out)[i] = from_nl(&list[i]);
    free(list);
    return n;
}

/* Subnet, range and gateway: from bip, fixed-cidr, the bridge's own address, else the first
 * default pool that clashes with no on-link route or nameserver of the host. */
static int settle_pool(struct netbr *b, const struct ipam_prefix *addrs, size_t naddrs,
                       struct berth_err **err)
{
    struct ipam_conf conf = {0};
    struct ipam_bridge_opts o = {.family = 4,
                                 .bip = b->cfg.bip,
                                 .fixed_cidr = b->cfg.fixed_cidr,
                                 .default_gw = b->cfg.default_gw,
                                 .user_managed = b->cfg.user_bridge,
                                 .bridge_addrs = addrs,
                                 .n_bridge_addrs = naddrs};
    int r = ipam_bridge_conf(&o, &conf, err);
    if (r < 0)
        return r;
    ipam_aux_append(&conf.aux, &conf.n_aux, b->cfg.aux, b->cfg.n_aux);
    _cleanup_free_ struct ipam_prefix *reserved = NULL;
    size_t nres = ipam_host_reserved(4, "/proc/net/route", NULL, "/etc/resolv.conf", &reserved);
    nres = netbr_config_reserved(&b->cfg, &reserved, nres);
    struct ipam_pool_opts po = {.family = 4, .reserved = reserved, .n_reserved = nres};
    if ((r = ipam_new(b->cfg.pools, b->cfg.npools, NULL, &b->_ipam, err)) == 0)
        r = ipam_pool_request(b->_ipam, &conf, &po, &b->_pool, err);
    if (r == 0) {
        b->subnet = b->_pool->subnet;
        b->range = b->_pool->range;
        b->gateway = b->_pool->gateway;
        b->route_via = b->gateway;
        for (size_t i = 0; i < b->_pool->n_aux; i++)
            if (strcmp(b->_pool->aux[i].name, "DefaultGatewayIPv4") == 0)
                b->route_via = b->_pool->aux[i].addr;
    }
    ipam_conf_clear(&conf);
    return r;
}

/* Berth's own bridge carries exactly the gateway address (a bip changed since the last start
 * replaces the old one); a user's bridge is never touched. */
static int address_bridge(struct nl_handle *h, struct netbr *b, const struct ipam_prefix *addrs,
                          size_t naddrs, struct berth_err **err)
{
    if (b->cfg.user_bridge)
        return 0;
    struct ipam_prefix want = {.addr = b->gateway, .bits = b->subnet.bits};
    bool have = false;
    int r;
    for (size_t i = 0; i < naddrs; i++) {
        if (ipam_prefix_eq(&addrs[i], &want)) {
            have = true;
            continue;
        }
        struct nl_prefix old = to_nl(&addrs[i].addr, addrs[i].bits);
        if ((r = nl_addr_del(h, b->ifindex, &old, err)) < 0)
            return r;
    }
    if (have)
        return 0;
    struct nl_prefix p = to_nl(&b->gateway, b->subnet.bits);
    return nl_addr_add(h, b->ifindex, &p, 0, err);
}

/* The host ends of containers' veths still in the bridge: no container runs when berthd
 * starts (they end with the daemon), so any is what a crash left. Their netns went with their
 * containers, so there are seldom any: the kernel removes a pair with its netns. */
static void remove_stale_veths(struct nl_handle *h, const struct netbr *b)
{
    struct nl_link *links = NULL;
    size_t n = 0;
    _cleanup_err_ struct berth_err *err = NULL;
    if (nl_link_list(h, NETBR_VETH_PREFIX, &links, &n, &err) < 0) {
        log_warn("bridge %s: list stale veths: %s", b->cfg.name, err->msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(links[i].kind, "veth") != 0 || links[i].master != b->ifindex)
            continue; /* not a container's end in this bridge: someone else's */
        _cleanup_err_ struct berth_err *e = NULL;
        log_info("bridge %s: removing stale veth %s", b->cfg.name, links[i].name);
        if (nl_link_delete(h, links[i].ifindex, &e) < 0)
            log_warn("bridge %s: %s", b->cfg.name, e->msg);
    }
    free(links);
}

static void fw_network(const struct netbr *b, struct netbr_fw_network *n)
{
    *n = (struct netbr_fw_network){.bridge = b->cfg.name,
                                   .ifindex = b->ifindex,
                                   .subnet = b->subnet,
                                   .gateway = b->gateway,
                                   .mtu = b->mtu,
                                   .host_ip = b->cfg.host_ip ? b->cfg.host_ip : "0.0.0.0",
                                   .icc = b->cfg.icc,
                                   .iptables = b->cfg.iptables,
                                   .ip_masq = b->cfg.ip_masq,
                                   .user_net = b->cfg.user_net,
                                   .internal = b->cfg.internal};
}

static int open_bridge(struct netbr *b, struct berth_err **err)
{
    _cleanup_nl_ struct nl_handle *h = NULL;
    _cleanup_free_ struct ipam_prefix *addrs = NULL;
    bool made = false;
    int r = nl_open(-1, &h, err);
    if (r < 0)
        return r;
    if ((r = ensure_link(h, b, &made, err)) < 0)
        return r;
    size_t naddrs = made ? 0 : bridge_addrs(h, b->ifindex, &addrs);
    if ((r = settle_pool(b, addrs, naddrs, err)) < 0)
        return r;
    if ((r = address_bridge(h, b, addrs, naddrs, err)) < 0)
        return r;
    if (b->cfg.ip_forward && !b->cfg.user_net &&
        (r = nl_sysctl_set(-1, "ipv4/ip_forward", "1", err)) < 0)
        return berth_error_wrap(err, "enable IP forwarding");
    struct netbr_fw_network fw;
    fw_network(b, &fw);
    if ((r = netbr_fw_network_up(&fw, &b->_fw, err)) < 0)
        return r;
    remove_stale_veths(h, b);
    return 0;
}

int netbr_open(const struct netbr_config *cfg, struct netbr **out, struct berth_err **err)
{
    struct netbr *b = xcalloc(1, sizeof(*b));
    config_copy(&b->cfg, cfg);
    b->mtu = cfg->mtu ? cfg->mtu : NETBR_DEFAULT_MTU;
    random_hex(b->id, 32);
    b->created = time_format_rfc3339(time_now_ns());
    if (cfg->driver != NETBR_BRIDGE) {
        int r = lowernet_open(b, err);
        if (r < 0)
            bridge_free(b);
        else
            *out = b;
        return r;
    }
    int r = open_bridge(b, err);
    if (r < 0) {
        bridge_free(b);
        return berth_error_wrap(err, "error creating default \"bridge\" network");
    }
    char sn[IPAM_PREFIX_STRLEN], gw[IPAM_ADDR_STRLEN];
    log_info("bridge %s: subnet %s, gateway %s, MTU %u", b->cfg.name,
             ipam_prefix_fmt(&b->subnet, sn), ipam_addr_fmt(&b->gateway, gw), b->mtu);
    *out = b;
    return 0;
}

void netbr_close(struct netbr *b)
{
    bridge_free(b);
}

void netbr_destroy(struct netbr *b)
{
    if (!b)
        return;
    if (b->cfg.driver != NETBR_BRIDGE) {
        lowernet_destroy(b);
        bridge_free(b);
        return;
    }
    struct netbr_fw_network fw;
    fw_network(b, &fw);
    netbr_fw_network_down(&fw, b->_fw);
    _cleanup_nl_ struct nl_handle *h = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    if (nl_open(-1, &h, &err) < 0 || nl_link_delete(h, b->ifindex, &err) < 0)
        log_warn("network %s: remove bridge %s: %s", b->cfg.net_name ?: "", b->cfg.name, err->msg);
    bridge_free(b);
}

char *netbr_subnet_str(const struct netbr *b, char *buf)
{
    return ipam_prefix_fmt(&b->subnet, buf);
}

char *netbr_gateway_str(const struct netbr *b, char *buf)
{
    if (!b->gateway.family) /* a macvlan or ipvlan network given none */
        return strcpy(buf, "");
    return ipam_addr_fmt(&b->gateway, buf);
}
