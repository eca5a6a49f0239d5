/* net/network/netlink_link.c — links: made (bridge, dummy, veth, macvlan, ipvlan, vlan), set
 * (up, MTU, MAC, master), moved to another netns, deleted, found and listed. Each call is one
 * RTM_* message and its ack; a creation carries everything the link is born with (MTU, MAC,
 * master, up, netns) so no second message is needed. */
#include "net/network/netlink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "core/cleanup.h"
#include "net/network/netlink_impl.h"

static const struct nl_link_attrs no_attrs;

static bool mac_set(const uint8_t mac[6])
{
    static const uint8_t zero[6];
    return memcmp(mac, zero, 6) != 0;
}

static void put_ifinfo(struct nlmsghdr *nlh, int ifindex, unsigned change, unsigned flags)
{
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    ifi->ifi_change = change;
    ifi->ifi_flags = flags;
}

/* What a link is born with; the netns it is born in, when it is not the handle's. */
static void put_link_attrs(struct nlmsghdr *nlh, const char *name, const struct nl_link_attrs *a,
                           int netns_fd)
{
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    if (a->mtu)
        mnl_attr_put_u32(nlh, IFLA_MTU, a->mtu);
    if (mac_set(a->mac))
        mnl_attr_put(nlh, IFLA_ADDRESS, 6, a->mac);
    if (a->master)
        mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)a->master);
    if (netns_fd >= 0)
        mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
}

/* RTM_NEWLINK of `kind` named `name`, up or not as a says, on `parent` (0: none), into
 * netns_fd (< 0: here); the caller adds IFLA_INFO_DATA if the kind has some, then closes
 * *linkinfo. */
static struct nlmsghdr *newlink(struct nl_batch *bt, const char *kind, const char *name, int parent,
                                int netns_fd, const struct nl_link_attrs *a,
                                struct nlattr **linkinfo)
{
    struct nlmsghdr *nlh =
        nl_batch_add(bt, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, "create %s link `%s`", kind, name);
    put_ifinfo(nlh, 0, a->up ? IFF_UP : 0, a->up ? IFF_UP : 0);
    put_link_attrs(nlh, name, a, netns_fd);
    if (parent)
        mnl_attr_put_u32(nlh, IFLA_LINK, (uint32_t)parent);
    *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
    return nlh;
}

/* The checks every creation makes before sending anything. */
static bool create_ok(const char *kind, const char *name, const struct nl_link_attrs *a,
                      int netns_fd, struct berth_err **err, int *r)
{
    char what[64];
    snprintf(what, sizeof(what), "create %s link", kind);
    if (!nl_name_ok(name, what, err, r))
        return false;
    if (a->master && netns_fd >= 0) {
        *r = berth_user_error(err, EINVAL,
                              "create %s link `%s`: a link made in another network namespace "
                              "cannot join a bridge of this one",
                              kind, name);
        return false;
    }
    return true;
}

static int create_simple(struct nl_handle *h, const char *kind, const char *name,
                         const struct nl_link_attrs *a, struct berth_err **err)
{
    int r;
    a = a ? a : &no_attrs;
    if (!create_ok(kind, name, a, -1, err, &r))
        return r;
    _cleanup_nl_batch_ struct nl_batch bt;
    nl_batch_init(&bt, h);
    struct nlattr *linkinfo;
    struct nlmsghdr *nlh = newlink(&bt, kind, name, 0, -1, a, &linkinfo);
    mnl_attr_nest_end(nlh, linkinfo);
    return nl_batch_run(&bt, err);
}

int nl_bridge_create(struct nl_handle *h, const char *name, const struct nl_link_attrs *a,
                     struct berth_err **err)
{
    return create_simple(h, "bridge", name, a, err);
}

int nl_dummy_create(struct nl_handle *h, const char *name, const struct nl_link_attrs *a,
                    struct berth_err **err)
{
    return create_simple(h, "dummy", name, a, err);
}

void nl_veth_msg(struct nl_batch *bt, const char *name, const struct nl_link_attrs *a,
                 const char *peer, int peer_netns_fd, const struct nl_link_attrs *peer_a)
{
    struct nlattr *linkinfo;
    struct nlmsghdr *nlh = newlink(bt, "veth", name, 0, -1, a, &linkinfo);
    snprintf(bt->what[bt->n - 1], sizeof(bt->what[0]), "create veth pair `%s` and `%s`", name,
             peer);
    struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    /* The peer is an ifinfomsg and attributes of its own, nested: veth_newlink makes it with
     * them in the netns they name. Never up: the peer is configured before the pair is
     * joined, when opening it fails with ENOTCONN (the first end, configured after, can). */
    struct nlattr *peer_nest = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
    put_ifinfo(nlh, 0, 0, 0);
    struct nl_link_attrs born = *peer_a;
    born.master = 0; /* ignored there by the kernel: nl_veth_create joins it afterwards */
    put_link_attrs(nlh, peer, &born, peer_netns_fd);
    mnl_attr_nest_end(nlh, peer_nest);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, linkinfo);
}

/* RTM_SETLINK of the link named `name` (rtnl_setlink finds it by IFLA_IFNAME): up, and into
 * the bridge `master` when not 0. */
static void peer_msg(struct nl_batch *bt, const char *name, bool up, int master)
{
    struct nlmsghdr *nlh =
        nl_batch_add(bt, RTM_SETLINK, 0, "%s `%s`%s", up ? "bring up" : "attach", name,
                     master ? (up ? " in its bridge" : " to its bridge") : "");
    put_ifinfo(nlh, 0, up ? IFF_UP : 0, up ? IFF_UP : 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    if (master)
        mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
}

static int peer_up_in(int netns_fd, const char *peer, struct berth_err **err)
{
    _cleanup_nl_ struct nl_handle *hn = NULL;
    int r;
    if ((r = nl_open(netns_fd, &hn, err)) < 0)
        return r;
    _cleanup_nl_batch_ struct nl_batch bt;
    nl_batch_init(&bt, hn);
    peer_msg(&bt, peer, true, 0);
    return nl_batch_run(&bt, err);
}

int nl_veth_create(struct nl_handle *h, const char *name, const struct nl_link_attrs *a,
                   const char *peer, int peer_netns_fd, const struct nl_link_attrs *peer_a,
                   struct berth_err **err)
{
    int r;
    a = a ? a : &no_attrs;
    peer_a = peer_a ? peer_a : &no_attrs;
    if (!create_ok("veth", name, a, -1, err, &r) ||
        !create_ok("veth", peer, peer_a, peer_netns_fd, err, &r))
        return r;
    _cleanup_nl_batch_ struct nl_batch bt;
    nl_batch_init(&bt, h);
    nl_veth_msg(&bt, name, a, peer, peer_netns_fd, peer_a);
    /* The peer comes up and joins a bridge by a message of its own: in this batch when it is
     * here; else (up only: create_ok refused a master there) on a socket in its netns. */
    if ((peer_a->up || peer_a->master) && peer_netns_fd < 0)
        peer_msg(&bt, peer, peer_a->up, peer_a->master);
    if ((r = nl_batch_run(&bt, err)) < 0 || !peer_a->up || peer_netns_fd < 0)
        return r;
    if ((r = peer_up_in(peer_netns_fd, peer, err)) < 0)
        (void)nl_link_delete_name(h, name, NULL); /* made but not as asked: undo, report that */
    return r;
}

int nl_macvlan_create(struct nl_handle *h, const char *name, int parent, uint32_t mode,
                      int netns_fd, const struct nl_link_attrs *a, struct berth_err **err)
{
    int r;
    a = a ? a : &no_attrs;
    if (!create_ok("macvlan", name, a, netns_fd, err, &r))
        return r;
    _cleanup_nl_batch_ struct nl_batch bt;
    nl_batch_init(&bt, h);
    struct nlattr *linkinfo;
    struct nlmsghdr *nlh = newlink(&bt, "macvlan", name, parent, netns_fd, a, &linkinfo);
    struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    mnl_attr_put_u32(nlh, IFLA_MACVLAN_MODE, mode);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, linkinfo);
    return nl_batch_run(&bt, err);
}

int nl_ipvlan_create(struct nl_handle *h, const char *name, int parent, uint16_t mode,
                     uint16_t flags, int netns_fd, const struct nl_link_attrs *a,
                     struct berth_err **err)
{
    int r;
    a = a ? a : &no_attrs;
    if (!create_ok("ipvlan", name, a, netns_fd, err, &r))
        return r;
    _cleanup_nl_batch_ struct nl_batch bt;
    nl_batch_init(&bt, h);
    struct nlattr *linkinfo;
    struct nlmsghdr *nlh = newlink(&bt, "ipvlan", name, parent, netns_fd, a, &linkinfo);
    struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    mnl_attr_put_u16(nlh, IFLA_IPVLAN_MODE, mode);
    mnl_attr_put_u16(nlh, IFLA_IPVLAN_FLAGS, flags);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, linkinfo);
    return nl_batch_run(&bt, err);
}

int nl_vlan_create(struct nl_handle *h, const char *name, int parent, uint16_t vid,
                   const struct nl_link_attrs *a, struct berth_err **err)
{
    int r;
    a = a ? a : &no_attrs;
    if (!create_ok("vlan", name, a, -1, err, &r))
        return r;
    if (vid < 1 || vid > 4094)
        return berth_user_error(err, EINVAL, "create vlan link `%s`: VLAN id %u is not in 1-4094",
                                name, vid);
    _cleanup_nl_batch_ struct nl_batch bt;
    nl_batch_init(&bt, h);
    struct nlattr *linkinfo;
    struct nlmsghdr *nlh = newlink(&bt, "vlan", name, parent, -1, a, &linkinfo);
    struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    mnl_attr_put_u16(nlh, IFLA_VLAN_ID, vid);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, linkinfo);
    return nl_batch_run(&bt, err);
}

int nl_macvlan_mode_parse(const char *s, uint32_t *mode)
{
    static const struct {
        const char *word;
        uint32_t mode;
    } modes[] = {{"bridge", MACVLAN_MODE_BRIDGE},
                 {"private", MACVLAN_MODE_PRIVATE},
                 {"vepa", MACVLAN_MODE_VEPA},
                 {"passthru", MACVLAN_MODE_PASSTHRU}};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strcmp(s, modes[i].word) == 0) {
            *mode = modes[i].mode;
            return 0;
        }
    return -EINVAL;
}

int nl_ipvlan_mode_parse(const char *s, uint16_t *mode)
{
    if (strcmp(s, "l2") == 0)
        *mode = IPVLAN_MODE_L2;
    else if (strcmp(s, "l3") == 0)
        *mode = IPVLAN_MODE_L3;
    else if (strcmp(s, "l3s") == 0)
        *mode = IPVLAN_MODE_L3S;
    else
        return -EINVAL;
    return 0;
}

/* ---- changes ---- */

/* RTM_SETLINK of ifindex, named by `what`. */
static struct nlmsghdr *setlink(struct nl_batch *bt, int ifindex, unsigned change, unsigned flags,
                                const char *what)
{
    struct nlmsghdr *nlh = nl_batch_add(bt, RTM_SETLINK, 0, "%s", what);
    put_ifinfo(nlh, ifindex, change, flags);
    return nlh;
}

int nl_link_set_up(struct nl_handle *h, int ifindex, bool up, struct berth_err **err)
{
    char link[IFNAMSIZ + 16], what[64];
    snprintf(what, sizeof(what), "bring %s %s", nl_link_words(h, ifindex, link),
             up ? "up" : "down");
    _cleanup_nl_batch_ struct nl_batch bt;
    nl_batch_init(&bt, h);
    setlink(&bt, ifindex, IFF_UP, up ? IFF_UP : 0, what);
    return nl_batch_run(&bt, err);
}

int nl_link_set_mtu(struct nl_handle *h, int ifindex, unsigned mtu, struct berth_err **err)
{
    char link[IFNAMSIZ + 16], what[64];
    snprintf(what, sizeof(what), "set MTU %u on %s", mtu, nl_link_words(h, ifindex, link));
    _cleanup_nl_batch_ struct nl_batch bt;
    nl_batch_init(&bt, h);
    mnl_attr_put_u32(setlink(&bt, ifindex, 0, 0, what), IFLA_MTU, mtu);
    return nl_batch_run(&bt, err);
}

int nl_link_set_mac(struct nl_handle *h, int ifindex, const uint8_t mac[6], struct berth_err **err)
{
    char link[IFNAMSIZ + 16], what[80];
    snprintf(what, sizeof(what), "set MAC address %02x:%02x:%02x:%02x:%02x:%02x on %s", mac[0],
             mac[1], mac[2], mac[3], mac[4], mac[5], nl_link_words(h, ifindex, link));
    _cleanup_nl_batch_ struct nl_batch bt;
    nl_batch_init(&bt, h);
    mnl_attr_put(setlink(&bt, ifindex, 0, 0, what), IFLA_ADDRESS, 6, mac);
    return nl_batch_run(&bt, err);
}

int nl_link_set_master(struct nl_handle *h, int ifindex, int master, struct berth_err **err)
{
    char link[IFNAMSIZ + 16], bridge[IFNAMSIZ + 16], what[96];
    nl_link_words(h, ifindex, link);
    if (master)
        snprintf(what, sizeof(what), "attach %s to bridge %s", link,
                 nl_link_words(h, master, bridge));
    else
        snprintf(what, sizeof(what), "detach %s from its bridge", link);
    _cleanup_nl_batch_ struct nl_batch bt;
    nl_batch_init(&bt, h);
    mnl_attr_put_u32(setlink(&bt, ifindex, 0, 0, what), IFLA_MASTER, (uint32_t)master);
    return nl_batch_run(&bt, err);
}

int nl_link_move(struct nl_handle *h, int ifindex, int netns_fd, const char *new_name,
                 struct berth_err **err)
{
    int r;
    char link[IFNAMSIZ + 16];
    nl_link_words(h, ifindex, link);
    if (new_name && !nl_name_ok(new_name, "move link", err, &r))
        return r;
    _cleanup_nl_batch_ struct nl_batch bt;
    nl_batch_init(&bt, h);
    struct nlmsghdr *nlh =
        nl_batch_add(&bt, RTM_SETLINK, 0, "move %s to another netns%s%s%s", link,
                     new_name ? " as `" : "", new_name ? new_name : "", new_name ? "`" : "");
    put_ifinfo(nlh, ifindex, 0, 0);
    mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
    /* With a netns, IFLA_IFNAME is the name to take there (a clash there is the error) */
    if (new_name)
        mnl_attr_put_strz(nlh, IFLA_IFNAME, new_name);
    return nl_batch_run(&bt, err);
}

int nl_link_delete(struct nl_handle *h, int ifindex, struct berth_err **err)
{
    char link[IFNAMSIZ + 16];
    _cleanup_nl_batch_ struct nl_batch bt;
    nl_batch_init(&bt, h);
    struct nlmsghdr *nlh =
        nl_batch_add(&bt, RTM_DELLINK, 0, "delete %s", nl_link_words(h, ifindex, link));
    put_ifinfo(nlh, ifindex, 0, 0);
    return nl_batch_run(&bt, err);
}

int nl_link_delete_name(struct nl_handle *h, const char *name, struct berth_err **err)
{
    int r;
    if (!nl_name_ok(name, "delete link", err, &r))
        return r;
    _cleanup_nl_batch_ struct nl_batch bt;
    nl_batch_init(&bt, h);
    struct nlmsghdr *nlh = nl_batch_add(&bt, RTM_DELLINK, 0, "delete link `%s`", name);
    put_ifinfo(nlh, 0, 0, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    return nl_batch_run(&bt, err);
}

/* ---- reading ---- */

int nl_link_index(struct nl_handle *h, const char *name, int *ifindex, struct berth_err **err)
{
    int r;
    if (!nl_name_ok(name, "find link", err, &r))
        return r;
    /* SIOCGIFINDEX on the netlink socket itself answers for the socket's netns: a system call
     * instead of a whole RTM_GETLINK reply. */
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, name);
    if (ioctl(mnl_socket_get_fd(h->sock), SIOCGIFINDEX, &ifr) < 0)
        return berth_error(err, errno, "find link `%s`", name);
    *ifindex = ifr.ifr_ifindex;
    return 0;
}

static void parse_info_data(struct nl_link *l, const struct nlattr *data)
{
    const struct nlattr *a;
    mnl_attr_for_each_nested(a, data)
    {
        unsigned type = mnl_attr_get_type(a), len = mnl_attr_get_payload_len(a);
        if (strcmp(l->kind, "macvlan") == 0 && type == IFLA_MACVLAN_MODE && len >= 4)
            l->mode = mnl_attr_get_u32(a);
        else if (strcmp(l->kind, "ipvlan") == 0 && type == IFLA_IPVLAN_MODE && len >= 2)
            l->mode = mnl_attr_get_u16(a);
        else if (strcmp(l->kind, "ipvlan") == 0 && type == IFLA_IPVLAN_FLAGS && len >= 2)
            l->ipvlan_flags = mnl_attr_get_u16(a);
        else if (strcmp(l->kind, "vlan") == 0 && type == IFLA_VLAN_ID && len >= 2)
            l->vlan_id = mnl_attr_get_u16(a);
    }
}

static void parse_linkinfo(struct nl_link *l, const struct nlattr *info)
{
    const struct nlattr *a, *data = NULL;
    mnl_attr_for_each_nested(a, info)
    {
        if (mnl_attr_get_type(a) == IFLA_INFO_KIND)
            snprintf(l->kind, sizeof(l->kind), "%.*s", (int)mnl_attr_get_payload_len(a),
                     (const char *)mnl_attr_get_payload(a));
        else if (mnl_attr_get_type(a) == IFLA_INFO_DATA)
            data = a;
    }
    if (data)
        parse_info_data(l, data);
}

/* An RTM_NEWLINK reply into *item; arg, when not NULL, is the name prefix to keep. */
static bool parse_link(const struct nlmsghdr *nlh, void *item, const void *arg)
{
    struct nl_link *l = item;
    if (nlh->nlmsg_type != RTM_NEWLINK)
        return false;
    const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
    l->ifindex = ifi->ifi_index;
    l->flags = ifi->ifi_flags;
    l->link_netnsid = -1;
    const struct nlattr *a;
    mnl_attr_for_each(a, nlh, sizeof(*ifi))
    {
        unsigned len = mnl_attr_get_payload_len(a);
        switch (mnl_attr_get_type(a)) {
        case IFLA_IFNAME:
            snprintf(l->name, sizeof(l->name), "%.*s", (int)len,
                     (const char *)mnl_attr_get_payload(a));
            break;
        case IFLA_MTU:
            l->mtu = len >= 4 ? mnl_attr_get_u32(a) : 0;
            break;
        case IFLA_ADDRESS:
            if (len == 6)
                memcpy(l->mac, mnl_attr_get_payload(a), 6);
            break;
        case IFLA_MASTER:
            l->master = len >= 4 ? (int)mnl_attr_get_u32(a) : 0;
            break;
        case IFLA_LINK:
            l->link = len >= 4 ? (int)mnl_attr_get_u32(a) : 0;
            break;
        case IFLA_LINK_NETNSID:
            l->link_netnsid = len >= 4 ? (int)mnl_attr_get_u32(a) : -1;
            break;
        case IFLA_LINKINFO:
            parse_linkinfo(l, a);
            break;
        }
    }
    if (l->link == l->ifindex && l->link_netnsid < 0)
        l->link = 0; /* lo and hardware name themselves as their link */
    const char *prefix = arg;
    return !prefix || strncmp(l->name, prefix, strlen(prefix)) == 0;
}

/* RTM_GETLINK without the statistics, which are most of each reply and never read here. */
static struct nlmsghdr *getlink(struct nl_handle *h, int ifindex, uint16_t flags)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(h->sbuf);
    nlh->nlmsg_type = RTM_GETLINK;
    nlh->nlmsg_flags = flags;
    put_ifinfo(nlh, ifindex, 0, 0);
    mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    return nlh;
}

int nl_link_get(struct nl_handle *h, const char *name, int ifindex, struct nl_link *out,
                struct berth_err **err)
{
    int r;
    char what[IFNAMSIZ + 32];
    if (name && !nl_name_ok(name, "read link", err, &r))
        return r;
    if (name)
        snprintf(what, sizeof(what), "read link `%s`", name);
    else
        snprintf(what, sizeof(what), "read link %d", ifindex);
    struct nlmsghdr *nlh = getlink(h, name ? 0 : ifindex, 0);
    if (name)
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    struct nl_vec v = {.size = sizeof(struct nl_link)};
    if ((r = nl_query(h, nlh, &v, parse_link, NULL, what, err)) < 0) {
        free(v.items);
        return r;
    }
    if (v.n != 1) {
        free(v.items);
        return berth_error(err, ENODEV, "%s", what);
    }
    *out = *(struct nl_link *)v.items;
    free(v.items);
    return 0;
}

static int by_ifindex(const void *a, const void *b)
{
    const struct nl_link *x = a, *y = b;
    return (x->ifindex > y->ifindex) - (x->ifindex < y->ifindex);
}

int nl_link_list(struct nl_handle *h, const char *prefix, struct nl_link **out, size_t *n,
                 struct berth_err **err)
{
    struct nlmsghdr *nlh = getlink(h, 0, NLM_F_DUMP);
    struct nl_vec v = {.size = sizeof(struct nl_link)};
    int r = nl_query(h, nlh, &v, parse_link, prefix ? prefix : "", "list links", err);
    if (r < 0) {
        free(v.items);
        return r;
    }
    qsort(v.items, v.n, v.size, by_ifindex);
    *out = nl_vec_take(&v, n);
    return 0;
}
