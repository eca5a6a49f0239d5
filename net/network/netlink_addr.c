/* net/network/netlink_addr.c — IPv4/IPv6 addresses on links and routes in the main table:
 * added, removed, listed. The message builders are shared with netlink_plumb.c, which puts
 * several of them in one batch. */
#include "net/network/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "net/network/netlink_impl.h"

static size_t ip_len(int family)
{
    return family == AF_INET ? 4 : 16;
}

static bool family_ok(int family)
{
    return family == AF_INET || family == AF_INET6;
}

/* The IPv4 broadcast address of p: its host bits all set. */
static struct in_addr broadcast(const struct nl_prefix *p)
{
    uint32_t mask = p->len ? htonl(~0u << (32 - p->len)) : 0;
    return (struct in_addr){p->ip.v4.s_addr | ~mask};
}

void nl_addr_msg(struct nl_batch *bt, uint16_t type, int ifindex, const struct nl_prefix *p,
                 unsigned flags, const char *link)
{
    char ip[NL_PREFIX_STRLEN];
    nl_prefix_format(p, ip);
    struct nlmsghdr *nlh;
    if (type == RTM_NEWADDR)
        nlh = nl_batch_add(bt, type, NLM_F_CREATE | NLM_F_EXCL, "add address %s to %s", ip, link);
    else
        nlh = nl_batch_add(bt, type, 0, "remove address %s from %s", ip, link);
    struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
    ifa->ifa_family = (uint8_t)p->ip.family;
    ifa->ifa_prefixlen = (uint8_t)p->len;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (uint32_t)ifindex;
    if (p->ip.family == AF_INET6 && (flags & NL_ADDR_NODAD))
        ifa->ifa_flags = IFA_F_NODAD;
    size_t len = ip_len(p->ip.family);
    mnl_attr_put(nlh, IFA_LOCAL, len, &p->ip.v6);
    mnl_attr_put(nlh, IFA_ADDRESS, len, &p->ip.v6);
    if (type == RTM_NEWADDR && p->ip.family == AF_INET && p->len < 31) {
        struct in_addr brd = broadcast(p);
        mnl_attr_put(nlh, IFA_BROADCAST, 4, &brd);
    }
}

static int addr_change(struct nl_handle *h, uint16_t type, int ifindex, const struct nl_prefix *p,
                       unsigned flags, struct berth_err **err)
{
    char link[IFNAMSIZ + 16];
    if (!family_ok(p->ip.family) || p->len > (p->ip.family == AF_INET ? 32u : 128u))
        return berth_user_error(err, EINVAL, "%s address on %s: not an IPv4 or IPv6 prefix",
                                type == RTM_NEWADDR ? "add" : "remove",
                                nl_link_words(h, ifindex, link));
    _cleanup_nl_batch_ struct nl_batch bt;
    nl_batch_init(&bt, h);
    nl_addr_msg(&bt, type, ifindex, p, flags, nl_link_words(h, ifindex, link));
    return nl_batch_run(&bt, err);
}

int nl_addr_add(struct nl_handle *h, int ifindex, const struct nl_prefix *p, unsigned flags,
                struct berth_err **err)
{
    return addr_change(h, RTM_NEWADDR, ifindex, p, flags, err);
}

int nl_addr_del(struct nl_handle *h, int ifindex, const struct nl_prefix *p, struct berth_err **err)
{
    return addr_change(h, RTM_DELADDR, ifindex, p, 0, err);
}

struct addr_filter {
    int ifindex, family;
};

static bool parse_addr(const struct nlmsghdr *nlh, void *item, const void *arg)
{
    const struct addr_filter *f = arg;
    struct nl_prefix *p = item;
    const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
    if (nlh->nlmsg_type != RTM_NEWADDR || (f->ifindex && (int)ifa->ifa_index != f->ifindex) ||
        (f->family && ifa->ifa_family != f->family) || !family_ok(ifa->ifa_family))
        return false;
    size_t len = ip_len(ifa->ifa_family);
    const struct nlattr *a, *local = NULL, *address = NULL;
    mnl_attr_for_each(a, nlh, sizeof(*ifa))
    {
        if (mnl_attr_get_payload_len(a) != len)
            continue;
        if (mnl_attr_get_type(a) == IFA_LOCAL)
            local = a;
        else if (mnl_attr_get_type(a) == IFA_ADDRESS)
            address = a;
    }
    /* IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on point-to-point links and
     * the only one IPv6 gives. */
    a = local ? local : address;
    if (!a)
        return false;
    p->ip.family = ifa->ifa_family;
    memcpy(&p->ip.v6, mnl_attr_get_payload(a), len);
    p->len = ifa->ifa_prefixlen;
    return true;
}

int nl_addr_list(struct nl_handle *h, int ifindex, int family, struct nl_prefix **out, size_t *n,
                 struct berth_err **err)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(h->sbuf);
    nlh->nlmsg_type = RTM_GETADDR;
    nlh->nlmsg_flags = NLM_F_DUMP;
    struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
    ifa->ifa_family = (uint8_t)family;
    struct addr_filter f = {ifindex, family};
    struct nl_vec v = {.size = sizeof(struct nl_prefix)};
    int r = nl_query(h, nlh, &v, parse_addr, &f, "list addresses", err);
    if (r < 0) {
        free(v.items);
        return r;
    }
    *out = nl_vec_take(&v, n);
    return 0;
}

/* ---- routes ---- */

static int route_family(const struct nl_route *r)
{
    return r->dst.ip.family ? r->dst.ip.family : r->gw.family;
}

static void route_words(const struct nl_route *r, const char *link, char *buf, size_t size)
{
    char dst[NL_PREFIX_STRLEN], gw[INET6_ADDRSTRLEN];
    int n = snprintf(buf, size, "%s", r->dst.len == 0 ? "default" : nl_prefix_format(&r->dst, dst));
    if (r->gw.family && n >= 0 && (size_t)n < size)
        n += snprintf(buf + n, size - n, " via %s", nl_ip_format(&r->gw, gw));
    if (link && n >= 0 && (size_t)n < size)
        snprintf(buf + n, size - n, " dev %s", link);
}

void nl_route_msg(struct nl_batch *bt, uint16_t type, const struct nl_route *r, const char *link)
{
    char words[128];
    route_words(r, link, words, sizeof(words));
    struct nlmsghdr *nlh;
    if (type == RTM_NEWROUTE)
        nlh = nl_batch_add(bt, type, NLM_F_CREATE | NLM_F_EXCL, "add route %s", words);
    else
        nlh = nl_batch_add(bt, type, 0, "remove route %s", words);
    int family = route_family(r);
    struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
    rtm->rtm_family = (uint8_t)family;
    rtm->rtm_dst_len = (uint8_t)r->dst.len;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_BOOT; /* what ip(8) and dockerd's netlink library write */
    rtm->rtm_type = RTN_UNICAST;
    /* A gateway makes it a universe route; without one the subnet is on the link. A removal
     * matches any scope. */
    rtm->rtm_scope = type == RTM_DELROUTE ? RT_SCOPE_NOWHERE
                     : r->gw.family       ? RT_SCOPE_UNIVERSE
                                          : RT_SCOPE_LINK;
    if (r->dst.len)
        mnl_attr_put(nlh, RTA_DST, ip_len(family), &r->dst.ip.v6);
    if (r->gw.family)
        mnl_attr_put(nlh, RTA_GATEWAY, ip_len(family), &r->gw.v6);
    if (r->oif)
        mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)r->oif);
}

static int route_change(struct nl_handle *h, uint16_t type, const struct nl_route *r,
                        struct berth_err **err)
{
    char link[IFNAMSIZ + 16];
    int family = route_family(r);
    if (!family_ok(family) || (r->dst.ip.family && r->gw.family && r->dst.ip.family != family) ||
        (r->dst.ip.family && r->gw.family && r->dst.ip.family != r->gw.family) ||
        (!r->gw.family && !r->oif))
        return berth_user_error(err, EINVAL,
                                "%s route: it needs one family, and a gateway or a device",
                                type == RTM_NEWROUTE ? "add" : "remove");
    _cleanup_nl_batch_ struct nl_batch bt;
    nl_batch_init(&bt, h);
    nl_route_msg(&bt, type, r, r->oif ? nl_link_words(h, r->oif, link) : NULL);
    return nl_batch_run(&bt, err);
}

int nl_route_add(struct nl_handle *h, const struct nl_route *r, struct berth_err **err)
{
    return route_change(h, RTM_NEWROUTE, r, err);
}

int nl_route_del(struct nl_handle *h, const struct nl_route *r, struct berth_err **err)
{
    return route_change(h, RTM_DELROUTE, r, err);
}

static bool parse_route(const struct nlmsghdr *nlh, void *item, const void *arg)
{
    (void)arg;
    struct nl_route *r = item;
    const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
    if (nlh->nlmsg_type != RTM_NEWROUTE || rtm->rtm_type != RTN_UNICAST ||
        !family_ok(rtm->rtm_family))
        return false;
    uint32_t table = rtm->rtm_table;
    size_t len = ip_len(rtm->rtm_family);
    r->dst.ip.family = rtm->rtm_family;
    r->dst.len = rtm->rtm_dst_len;
    const struct nlattr *a;
    mnl_attr_for_each(a, nlh, sizeof(*rtm))
    {
        unsigned plen = mnl_attr_get_payload_len(a);
        switch (mnl_attr_get_type(a)) {
        case RTA_TABLE:
            table = plen >= 4 ? mnl_attr_get_u32(a) : table;
            break;
        case RTA_DST:
            if (plen == len)
                memcpy(&r->dst.ip.v6, mnl_attr_get_payload(a), len);
            break;
        case RTA_GATEWAY:
            if (plen == len) {
                r->gw.family = rtm->rtm_family;
                memcpy(&r->gw.v6, mnl_attr_get_payload(a), len);
            }
            break;
        case RTA_OIF:
            r->oif = plen >= 4 ? (int)mnl_attr_get_u32(a) : 0;
            break;
        }
    }
    return table == RT_TABLE_MAIN;
}

int nl_route_list(struct nl_handle *h, int family, struct nl_route **out, size_t *n,
                  struct berth_err **err)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(h->sbuf);
    nlh->nlmsg_type = RTM_GETROUTE;
    nlh->nlmsg_flags = NLM_F_DUMP;
    struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
    rtm->rtm_family = (uint8_t)family;
    struct nl_vec v = {.size = sizeof(struct nl_route)};
    int r = nl_query(h, nlh, &v, parse_route, NULL, "list routes", err);
    if (r < 0) {
        free(v.items);
        return r;
    }
    *out = nl_vec_take(&v, n);
    return 0;
}
