/* net/network/netlink_plumb.c — a container's veth end to end in one call: the pair made with
 * everything it is born with in one message, then everything inside the container's netns in
 * one batch. This is on the container start path, so each kernel round trip counts. */
#include "net/network/netlink.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "net/network/netlink_impl.h"

#define LOOPBACK_IFINDEX 1 /* lo is the first link of every netns */

static int plumb_check(const struct nl_veth_plumb *p, struct berth_err **err)
{
    int r;
    if (!nl_name_ok(p->host_name, "plumb a veth", err, &r) ||
        !nl_name_ok(p->ifname, "plumb a veth", err, &r))
        return r;
    if (p->netns_fd < 0)
        return berth_user_error(err, EINVAL, "plumb veth `%s`: no container netns given",
                                p->host_name);
    if ((p->addr4.ip.family && p->addr4.ip.family != AF_INET) ||
        (p->gw4.family && p->gw4.family != AF_INET) ||
        (p->addr6.ip.family && p->addr6.ip.family != AF_INET6) ||
        (p->gw6.family && p->gw6.family != AF_INET6))
        return berth_user_error(
            err, EINVAL, "plumb veth `%s`: an IPv4 field holds IPv6 or the reverse", p->host_name);
    return 0;
}

/* RTM_NEWLINK on the link named `name` (no NLM_F_CREATE: a change) with bridge-port data: the
 * change path hands IFLA_INFO_SLAVE_DATA to the master's driver, which RTM_SETLINK does not,
 * and it finds the link by name, which the AF_BRIDGE RTM_SETLINK does not. */
static void hairpin_msg(struct nl_batch *bt, const char *name)
{
    struct nlmsghdr *nlh = nl_batch_add(bt, RTM_NEWLINK, 0, "hairpin mode on `%s`", name);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_SLAVE_DATA);
    mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, 1);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, linkinfo);
}

/* Round trip 1: the host end born up and in the bridge, the container end born in its netns
 * with its name, MAC and MTU (down: a veth's second end cannot be born up). */
static int plumb_pair(struct nl_handle *h, const struct nl_veth_plumb *p, struct berth_err **err)
{
    struct nl_link_attrs host = {.mtu = p->mtu, .up = true, .master = p->bridge};
    struct nl_link_attrs inside = {.mtu = p->mtu};
    memcpy(inside.mac, p->mac, sizeof(inside.mac));
    _cleanup_nl_batch_ struct nl_batch bt;
    nl_batch_init(&bt, h);
    nl_veth_msg(&bt, p->host_name, &host, p->ifname, p->netns_fd, &inside);
    if (p->hairpin)
        hairpin_msg(&bt, p->host_name);
    return nl_batch_run(&bt, err);
}

/* In the container's netns (this thread has switched): the socket for round trip 2, and
 * disable_ipv6 while the end is still down, so no IPv6 address or multicast group is ever
 * made on it. */
static int plumb_in_netns(const struct nl_veth_plumb *p, struct nl_handle **c,
                          struct berth_err **err)
{
    int r;
    if ((r = nl_handle_new(c, err)) < 0)
        return r;
    if (!p->disable_ipv6)
        return 0;
    char path[64];
    snprintf(path, sizeof(path), "ipv6/conf/%s/disable_ipv6", p->ifname);
    struct berth_err *e = NULL;
    if ((r = nl_sysctl_write(path, "1", &e)) < 0 && e->status == ENOENT) {
        berth_err_free(e); /* a kernel without IPv6: nothing to disable, as dockerd sees it */
        return 0;
    }
    if (r < 0) {
        *err = e;
        return berth_error_wrap(err, "disable IPv6 on `%s`", p->ifname);
    }
    return 0;
}

static void up_msg(struct nl_batch *bt, int ifindex, const char *name)
{
    struct nlmsghdr *nlh = nl_batch_add(bt, RTM_SETLINK, 0, "bring `%s` up", name);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    ifi->ifi_change = IFF_UP;
    ifi->ifi_flags = IFF_UP;
}

/* Round trip 2, on the container-side socket: lo and the end up, addresses, default routes. */
static int plumb_configure(struct nl_handle *c, const struct nl_veth_plumb *p,
                           struct berth_err **err)
{
    int r, ifindex;
    if ((r = nl_link_index(c, p->ifname, &ifindex, err)) < 0)
        return r;
    char link[IFNAMSIZ + 2];
    snprintf(link, sizeof(link), "`%s`", p->ifname);
    _cleanup_nl_batch_ struct nl_batch bt;
    nl_batch_init(&bt, c);
    if (p->lo_up)
        up_msg(&bt, LOOPBACK_IFINDEX, "lo");
    up_msg(&bt, ifindex, p->ifname);
    if (p->addr4.ip.family)
        nl_addr_msg(&bt, RTM_NEWADDR, ifindex, &p->addr4, 0, link);
    if (p->addr6.ip.family)
        nl_addr_msg(&bt, RTM_NEWADDR, ifindex, &p->addr6, NL_ADDR_NODAD, link);
    if (p->gw4.family) {
        struct nl_route rt = {.dst.ip.family = AF_INET, .gw = p->gw4, .oif = ifindex};
        nl_route_msg(&bt, RTM_NEWROUTE, &rt, link);
    } else if (p->default_dev4) {
        struct nl_route rt = {.dst.ip.family = AF_INET, .oif = ifindex};
        nl_route_msg(&bt, RTM_NEWROUTE, &rt, link);
    }
    if (p->gw6.family) {
        struct nl_route rt = {.dst.ip.family = AF_INET6, .gw = p->gw6, .oif = ifindex};
        nl_route_msg(&bt, RTM_NEWROUTE, &rt, link);
    }
    return nl_batch_run(&bt, err);
}

/* Everything after the pair exists; the caller deletes the pair if this fails. */
static int plumb_inside(const struct nl_veth_plumb *p, struct berth_err **err)
{
    _cleanup_nl_ struct nl_handle *c = NULL;
    int self, r;
    if ((r = nl_netns_enter(p->netns_fd, &self, err)) < 0)
        return r;
    r = plumb_in_netns(p, &c, err);
    nl_netns_leave(&self); /* whatever happened in there */
    if (r < 0)
        return r;
    return plumb_configure(c, p, err);
}

int nl_plumb_veth(struct nl_handle *h, const struct nl_veth_plumb *p, struct berth_err **err)
{
    int r;
    if ((r = plumb_check(p, err)) < 0)
        return r;
    /* A failure here made nothing: a clash of names leaves the link that was there alone */
    if ((r = plumb_pair(h, p, err)) < 0)
        return r;
    if ((r = plumb_inside(p, err)) < 0) {
        /* Deleting one end deletes both, and with the container's end its addresses and
         * routes. If even that fails the pair is left to the reconciliation that lists
         * links by prefix: the error to report is the first one. */
        (void)nl_link_delete_name(h, p->host_name, NULL);
        return r;
    }
    return 0;
}

static int lower_child(struct nl_handle *h, const struct nl_lower_plumb *p, struct berth_err **err)
{
    struct nl_link_attrs a = {.mtu = p->mtu};
    if (p->ipvlan)
        return nl_ipvlan_create(h, p->ifname, p->parent, (uint16_t)p->mode, p->ipvlan_flags,
                                p->netns_fd, &a, err);
    memcpy(a.mac, p->mac, sizeof(a.mac));
    return nl_macvlan_create(h, p->ifname, p->parent, p->mode, p->netns_fd, &a, err);
}

int nl_plumb_lower(struct nl_handle *h, const struct nl_lower_plumb *p, struct berth_err **err)
{
    int r;
    if (!nl_name_ok(p->ifname, "plumb a macvlan or ipvlan", err, &r))
        return r;
    if (p->netns_fd < 0)
        return berth_user_error(err, EINVAL, "plumb `%s`: no container netns given", p->ifname);
    if ((p->addr4.ip.family && p->addr4.ip.family != AF_INET) ||
        (p->gw4.family && p->gw4.family != AF_INET))
        return berth_user_error(err, EINVAL, "plumb `%s`: an IPv4 field holds IPv6", p->ifname);
    if ((r = lower_child(h, p, err)) < 0)
        return r;
    struct nl_veth_plumb v = {.netns_fd = p->netns_fd,
                              .ifname = p->ifname,
                              .addr4 = p->addr4,
                              .gw4 = p->gw4,
                              .default_dev4 = p->default_dev4,
                              .disable_ipv6 = p->disable_ipv6,
                              .lo_up = p->lo_up};
    if ((r = plumb_inside(&v, err)) < 0)
        (void)nl_lower_unplumb(p->netns_fd, p->ifname, NULL); /* the first error is the one */
    return r;
}

int nl_lower_unplumb(int netns_fd, const char *ifname, struct berth_err **err)
{
    _cleanup_nl_ struct nl_handle *c = NULL;
    int r = nl_open(netns_fd, &c, err);
    if (r < 0)
        return r;
    return nl_link_delete_name(c, ifname, err);
}
