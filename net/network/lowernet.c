/* net/network/lowernet.c — macvlan and ipvlan networks: the driver options as dockerd reads them,
 * the parent link (found, or made as an 802.1q link or a dummy, and removed with the network),
 * the IPAM pool, and each container's child link. */
#include "net/network/lowernet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "net/network/netlink.h"

static const char *kind_of(const struct netbr_config *c)
{
    return c->driver == NETBR_IPVLAN ? "ipvlan" : "macvlan";
}

/* The driver's refusals are dockerd's plain errors (fmt.Errorf, no errdefs class), so they
 * answer 500 there as here (EIO), with its words kept exactly. */

/* dockerd's getDummyName: the driver's prefix and 12 hex digits of the network's ID. */
static char *dummy_name(enum netbr_driver d, const char *id)
{
    return xasprintf("%s%.12s", d == NETBR_IPVLAN ? "di-" : "dm-", id);
}

static int ipvlan_flag_parse(const char *s, uint16_t *flags)
{
    if (!strcmp(s, "bridge"))
        *flags = 0;
    else if (!strcmp(s, "private"))
        *flags = IPVLAN_F_PRIVATE;
    else if (!strcmp(s, "vepa"))
        *flags = IPVLAN_F_VEPA;
    else
        return -EINVAL;
    return 0;
}

static int ipvlan_options(const json_t *o, struct netbr_config *c, struct berth_err **err)
{
    const char *mode = json_get_str(o, "ipvlan_mode"), *flag = json_get_str(o, "ipvlan_flag");
    uint16_t m = IPVLAN_MODE_L2;
    if (mode && *mode && nl_ipvlan_mode_parse(mode, &m) < 0)
        return berth_user_error(err, EIO,
                                "requested ipvlan mode '%s' is not valid, 'l2' mode is the "
                                "ipvlan driver default",
                                mode);
    if (flag && *flag && ipvlan_flag_parse(flag, &c->ipvlan_flags) < 0)
        return berth_user_error(err, EIO,
                                "requested ipvlan flag '%s' is not valid, 'bridge' is the ipvlan "
                                "driver default",
                                flag);
    c->lower_mode = m;
    return 0;
}

int lowernet_config(const json_t *options, const char *id, struct netbr_config *c,
                    struct berth_err **err)
{
    const char *parent = json_get_str(options, "parent");
    int r = 0;
    if (c->driver == NETBR_IPVLAN) {
        r = ipvlan_options(options, c, err);
    } else {
        const char *mode = json_get_str(options, "macvlan_mode");
        c->lower_mode = MACVLAN_MODE_BRIDGE;
        if (mode && *mode && nl_macvlan_mode_parse(mode, &c->lower_mode) < 0)
            r = berth_user_error(err, EIO,
                                 "requested macvlan mode '%s' is not valid, 'bridge' mode is the "
                                 "macvlan driver default",
                                 mode);
    }
    if (r < 0)
        return r;
    if (parent && !strcmp(parent, "lo"))
        return berth_user_error(err, EIO, "loopback interface is not a valid %s parent link",
                                kind_of(c));
    if (parent && strlen(parent) >= IFNAMSIZ)
        return berth_user_error(err, EIO, "invalid parent interface name %s", parent);
    free(c->parent);
    c->parent = parent && *parent ? xstrdup(parent) : dummy_name(c->driver, id);
    if (!parent || !*parent) /* dockerd: with no parent the network is "internal" */
        c->internal = true;
    return 0;
}

int lowernet_conflict(const struct netbr_config *c, const struct netbr_config *other,
                      const char *other_id, struct berth_err **err)
{
    if (other->driver != c->driver || !other->parent || strcmp(other->parent, c->parent) != 0)
        return 0;
    if (c->driver == NETBR_IPVLAN) {
        _cleanup_free_ char *dm = dummy_name(NETBR_IPVLAN, other_id);
        return berth_user_error(err, EIO, "network %s is already using parent interface %s", dm,
                                c->parent);
    }
    if (c->lower_mode == MACVLAN_MODE_PASSTHRU)
        return berth_user_error(err, EIO,
                                "cannot use mode passthru, macvlan network %s is already using "
                                "parent interface %s",
                                other_id, c->parent);
    if (other->lower_mode == MACVLAN_MODE_PASSTHRU)
        return berth_user_error(err, EIO,
                                "macvlan network %s is already using parent interface %s in mode "
                                "passthru",
                                other_id, c->parent);
    return 0;
}

/* The words for a link kind this kernel was built without. */
static int no_support(const char *what, const char *config, struct berth_err **err)
{
    berth_err_free(take_ptr(*err));
    return berth_user_error(err, EOPNOTSUPP,
                            "this kernel has no %s support (%s is not built in nor loaded)", what,
                            config);
}

/* dockerd's createVlanLink: IF.VID, IF existing, VID in 1-4094. */
static int make_vlan(struct nl_handle *h, const char *name, struct berth_err **err)
{
    const char *dot = strchr(name, '.');
    if (!dot)
        return berth_user_error(
            err, EIO, "invalid subinterface vlan name %s, example formatting is eth0.10", name);
    if (strchr(dot + 1, '.'))
        return berth_user_error(err, EIO,
                                "required interface name format is: name.vlan_id, ex. eth0.10 for "
                                "vlan 10, instead received %s",
                                name);
    char *end;
    long vid = strtol(dot + 1, &end, 10);
    if (!dot[1] || *end)
        return berth_user_error(
            err, EIO, "unable to parse a valid vlan id from: %s (ex. eth0.10 for vlan 10)",
            dot + 1);
    char base[IFNAMSIZ];
    snprintf(base, sizeof(base), "%.*s", (int)(dot - name), name);
    int idx, r;
    _cleanup_err_ struct berth_err *e = NULL;
    if (nl_link_index(h, base, &idx, &e) < 0)
        return berth_user_error(err, EIO, "-o parent interface was not found on the host: %s",
                                base);
    if (vid < 1 || vid > 4094)
        return berth_user_error(err, EIO, "vlan id must be between 1-4094, received: %ld", vid);
    if ((r = nl_vlan_create(h, name, idx, (uint16_t)vid, &(struct nl_link_attrs){.up = true},
                            err)) < 0) {
        if ((*err)->status == EOPNOTSUPP)
            return no_support("802.1q VLAN", "CONFIG_VLAN_8021Q", err);
        return berth_error_wrap(err, "failed to create %s vlan link", name);
    }
    log_info("network: vlan link %s made on %s, id %ld", name, base, vid);
    return 0;
}

/* The parent found, or made when it is berth's to make (dockerd's createNetwork). */
static int ensure_parent(struct nl_handle *h, struct netbr *b, bool *made, struct berth_err **err)
{
    struct netbr_config *c = &b->cfg;
    int idx, r;
    _cleanup_err_ struct berth_err *e = NULL;
    *made = false;
    if (nl_link_index(h, c->parent, &idx, &e) == 0)
        return 0;
    /* the name lowernet_config gave a network without a parent (12 hex digits of its ID) */
    bool dummy = !strncmp(c->parent, c->driver == NETBR_IPVLAN ? "di-" : "dm-", 3) &&
                 strlen(c->parent) == 15;
    if (dummy) {
        r = nl_dummy_create(h, c->parent, &(struct nl_link_attrs){.up = true}, err);
        if (r < 0 && (*err)->status == EOPNOTSUPP)
            return no_support("dummy link", "CONFIG_DUMMY", err);
    } else {
        r = make_vlan(h, c->parent, err);
    }
    if (r < 0)
        return r;
    *made = c->made_parent = true;
    return 0;
}

/* A child made and deleted at once: the kind's support in this kernel, which would otherwise
 * show only at the first container's start. Other errors (a parent busy with the other kind)
 * are left to that start, as dockerd leaves them. */
static int probe_kind(struct nl_handle *h, const struct netbr *b, struct berth_err **err)
{
    int parent;
    if (nl_link_index(h, b->cfg.parent, &parent, err) < 0)
        return -ENODEV;
    char name[IFNAMSIZ];
    snprintf(name, sizeof(name), "btp%.11s", b->id);
    _cleanup_err_ struct berth_err *e = NULL;
    int r = b->cfg.driver == NETBR_IPVLAN
                ? nl_ipvlan_create(h, name, parent, IPVLAN_MODE_L2, 0, -1, NULL, &e)
                : nl_macvlan_create(h, name, parent, MACVLAN_MODE_BRIDGE, -1, NULL, &e);
    if (r == 0)
        (void)nl_link_delete_name(h, name, NULL);
    else if (e->status == EOPNOTSUPP)
        return b->cfg.driver == NETBR_IPVLAN ? no_support("ipvlan link", "CONFIG_IPVLAN", err)
                                             : no_support("macvlan link", "CONFIG_MACVLAN", err);
    return 0;
}

static void parse_addr(const char *s, struct ipam_addr *a)
{
    if (s && !ipam_addr_parse(s, a))
        *a = (struct ipam_addr){0};
}

/* Subnet (given, else from the pools), range and gateway (given, else none: dockerd's
 * GetSkipGwAlloc for these drivers). */
static int settle_pool(struct netbr *b, struct berth_err **err)
{
    struct ipam_conf conf = {0};
    if (b->cfg.bip && !ipam_prefix_parse(b->cfg.bip, &conf.subnet))
        return berth_user_error(err, EIO, "invalid subnet %s", b->cfg.bip);
    if (b->cfg.fixed_cidr && !ipam_prefix_parse(b->cfg.fixed_cidr, &conf.range))
        return berth_user_error(err, EIO, "invalid ip-range %s", b->cfg.fixed_cidr);
    parse_addr(b->cfg.default_gw, &conf.gateway);
    ipam_aux_append(&conf.aux, &conf.n_aux, b->cfg.aux, b->cfg.n_aux);
    _cleanup_free_ struct ipam_prefix *reserved = NULL;
    size_t nres = 0;
    if (!b->cfg.bip) {
        nres = ipam_host_reserved(4, "/proc/net/route", NULL, "/etc/resolv.conf", &reserved);
        nres = netbr_config_reserved(&b->cfg, &reserved, nres);
    }
    struct ipam_pool_opts po = {.family = 4,
                                .skip_gateway = !conf.gateway.family,
                                .reserved = reserved,
                                .n_reserved = nres};
    int r = ipam_new(b->cfg.pools, b->cfg.npools, NULL, &b->_ipam, err);
    if (r == 0)
        r = ipam_pool_request(b->_ipam, &conf, &po, &b->_pool, err);
    if (r == 0) {
        b->subnet = b->_pool->subnet;
        b->range = b->_pool->range;
        b->gateway = b->_pool->gateway;
        b->route_via = b->gateway;
    }
    ipam_conf_clear(&conf);
    return r;
}

static void delete_parent(struct nl_handle *h, const struct netbr *b)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct nl_link l;
    if (nl_link_get(h, b->cfg.parent, 0, &l, &err) < 0)
        return; /* gone already */
    if (strcmp(l.kind, "dummy") != 0 && strcmp(l.kind, "vlan") != 0)
        return; /* never a link berth cannot have made */
    if (nl_link_delete(h, l.ifindex, &err) < 0)
        log_warn("network %s: remove %s: %s", b->cfg.net_name ?: "", b->cfg.parent, err->msg);
    else
        log_info("network %s: %s link %s removed", b->cfg.net_name ?: "", l.kind, b->cfg.parent);
}

int lowernet_open(struct netbr *b, struct berth_err **err)
{
    _cleanup_nl_ struct nl_handle *h = NULL;
    bool made = false;
    int r = nl_open(-1, &h, err);
    if (r < 0)
        return r;
    if ((r = ensure_parent(h, b, &made, err)) < 0)
        return r;
    if ((r = probe_kind(h, b, err)) < 0 || (r = settle_pool(b, err)) < 0) {
        if (made)
            delete_parent(h, b);
        return r;
    }
    char sn[IPAM_PREFIX_STRLEN];
    log_info("network %s: %s on %s, subnet %s", b->cfg.net_name ?: "", kind_of(&b->cfg),
             b->cfg.parent, ipam_prefix_fmt(&b->subnet, sn));
    return 0;
}

void lowernet_destroy(struct netbr *b)
{
    if (!b->cfg.made_parent || b->cfg.keep_parent)
        return;
    _cleanup_nl_ struct nl_handle *h = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    if (nl_open(-1, &h, &err) < 0) {
        log_warn("network %s: %s", b->cfg.net_name ?: "", err->msg);
        return;
    }
    delete_parent(h, b);
}

static struct nl_prefix v4_prefix(const struct ipam_addr *a, unsigned bits)
{
    struct nl_prefix p = {.ip.family = AF_INET, .len = bits};
    uint8_t raw[16];
    ipam_addr_bytes(a, raw);
    memcpy(&p.ip.v4, raw, 4);
    return p;
}

int lowernet_plumb(const struct netbr *b, const struct netbr_endpoint *ep, int netns_fd,
                   const char *ifname, bool no_gateway, struct berth_err **err)
{
    const struct netbr_config *c = &b->cfg;
    _cleanup_nl_ struct nl_handle *h = NULL;
    int parent, r;
    if ((r = nl_open(-1, &h, err)) < 0)
        return r;
    _cleanup_err_ struct berth_err *e = NULL;
    if (nl_link_index(h, c->parent, &parent, &e) < 0)
        return berth_user_error(err, ENODEV,
                                "the requested parent interface %s was not found on the Docker "
                                "host",
                                c->parent);
    bool ipvlan = c->driver == NETBR_IPVLAN, routed = !c->internal && !no_gateway;
    bool l3 = ipvlan && c->lower_mode != IPVLAN_MODE_L2;
    struct nl_lower_plumb p = {.ipvlan = ipvlan,
                               .parent = parent,
                               .mode = c->lower_mode,
                               .ipvlan_flags = c->ipvlan_flags,
                               .mtu = c->mtu,
                               .netns_fd = netns_fd,
                               .ifname = ifname,
                               .addr4 = v4_prefix(&ep->addr, b->subnet.bits),
                               .gw4 = routed && !l3 && b->gateway.family
                                          ? v4_prefix(&b->gateway, 32).ip
                                          : (struct nl_ip){0},
                               .default_dev4 = routed && l3,
                               .disable_ipv6 = true,
                               .lo_up = true};
    if (!ipvlan)
        memcpy(p.mac, ep->mac, sizeof(p.mac));
    if ((r = nl_plumb_lower(h, &p, err)) < 0)
        return berth_error_wrap(err, "failed to create the %s port", kind_of(c));
    return 0;
}
