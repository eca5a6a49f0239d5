/* net/network/netlink.h — rtnetlink for container networking: links (bridge, veth, macvlan,
 * ipvlan, 802.1q VLAN, dummy), addresses, routes and per-interface sysctls, in the current
 * network namespace or in another one given by an fd, plus one call that plumbs a container's
 * veth end to end in as few netlink round trips as it can.
 *
 * Every call blocks (the kernel answers rtnetlink synchronously, but link creation takes
 * tens to hundreds of microseconds): run them on a pool thread, never on the reactor. A handle
 * is not thread-safe; give each thread its own or lock around it. Calls that take a netns fd
 * switch the CALLING THREAD into that netns with setns() and back before they return (a
 * thread that cannot come back aborts the process: its later work would land in the wrong
 * namespace). Errors: negative return and words in *err naming the step and interface,
 * "add address 172.18.0.2/16 to eth0: File exists"; err->status is the kernel's errno
 * (EEXIST for a duplicate name, ENODEV for a missing link or parent, EOPNOTSUPP for a link
 * kind the kernel lacks). */
#pragma once

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/if_link.h> /* MACVLAN_MODE_*, IPVLAN_MODE_*, IPVLAN_F_* */

#include "core/err.h"

/* ---- addresses ---- */

struct nl_ip {
    int family; /* AF_INET, AF_INET6; 0: none */
    union {
        struct in_addr v4;
        struct in6_addr v6;
    };
};

struct nl_prefix {
    struct nl_ip ip;
    unsigned len; /* prefix length */
};

/* "10.0.0.1", "fd00::1" -> *ip; -EINVAL when it is neither. */
int nl_ip_parse(const char *s, struct nl_ip *ip);
/* "172.18.0.2/16", "fd00::2/64" -> *p (the address is kept as written, host bits and all);
 * -EINVAL when malformed or the length exceeds the family's width. */
int nl_prefix_parse(const char *s, struct nl_prefix *p);
#define NL_PREFIX_STRLEN (INET6_ADDRSTRLEN + 4)
/* "172.18.0.2/16" in buf (NL_PREFIX_STRLEN bytes); returns buf. */
char *nl_prefix_format(const struct nl_prefix *p, char *buf);
char *nl_ip_format(const struct nl_ip *ip, char *buf); /* INET6_ADDRSTRLEN bytes */

/* ---- handles and namespaces ---- */

struct nl_handle;

/* A route netlink socket in the current netns (netns_fd < 0) or in the netns netns_fd names
 * (opened there on this thread: setns, socket, setns back; the socket stays bound to that
 * netns for life). *out is the caller's, freed with nl_close. */
int nl_open(int netns_fd, struct nl_handle **out, struct berth_err **err);
void nl_close(struct nl_handle *h);
void nl_closep(struct nl_handle **h);
#define _cleanup_nl_ __attribute__((cleanup(nl_closep)))

/* A fresh, empty network namespace (only a down lo in it) pinned by the O_CLOEXEC fd put in
 * *out_fd; no bind mount, no name: it lives while some fd or process holds it. Made on this
 * thread (unshare, open /proc/thread-self/ns/net, setns back). */
int nl_netns_new(int *out_fd, struct berth_err **err);

/* ---- links ---- */

/* Optional settings of a link made by a *_create call; a zeroed struct (or NULL) asks for the
 * kernel's defaults. */
struct nl_link_attrs {
    unsigned mtu;   /* 0: the kind's default */
    uint8_t mac[6]; /* all zero: random */
    bool up;
    int master; /* ifindex of a bridge in the handle's netns to join; 0: none. Not with a
                 * link made in another netns (EINVAL). */
};

/* What RTM_GETLINK says about a link. */
struct nl_link {
    int ifindex;
    char name[IFNAMSIZ];
    char kind[16];  /* "veth", "bridge", "macvlan", ...; "" for lo and hardware */
    unsigned flags; /* IFF_* (IFF_UP, IFF_LOWER_UP, ...) */
    unsigned mtu;
    uint8_t mac[6];
    int master;            /* 0: none */
    int link;              /* parent of macvlan/ipvlan/vlan, peer of a veth; 0: none */
    int link_netnsid;      /* -1: `link` is in this netns; else the peer netns's id as seen here */
    unsigned mode;         /* macvlan: MACVLAN_MODE_*; ipvlan: IPVLAN_MODE_* */
    unsigned ipvlan_flags; /* IPVLAN_F_* */
    unsigned vlan_id;
};

int nl_bridge_create(struct nl_handle *h, const char *name, const struct nl_link_attrs *a,
                     struct berth_err **err);
/* For tests: a dummy link to be a macvlan/ipvlan/vlan parent. */
int nl_dummy_create(struct nl_handle *h, const char *name, const struct nl_link_attrs *a,
                    struct berth_err **err);
/* A veth pair: `name` in the handle's netns with *a; `peer` born directly in peer_netns_fd
 * (< 0: the handle's netns) under that name (e.g. "eth0", which may also exist here) with
 * *peer_a, so nothing is moved or renamed afterwards. The kernel cannot make the second end of
 * a pair up (it configures it before joining the two: ENOTCONN) and ignores a master for it, so
 * peer_a->up and ->master cost a second message: in the same batch when the peer is here, on a
 * socket opened in its netns if not (up only). If that fails the pair is deleted. */
int nl_veth_create(struct nl_handle *h, const char *name, const struct nl_link_attrs *a,
                   const char *peer, int peer_netns_fd, const struct nl_link_attrs *peer_a,
                   struct berth_err **err);
/* A macvlan (mode MACVLAN_MODE_BRIDGE/PRIVATE/VEPA/PASSTHRU) or ipvlan (IPVLAN_MODE_L2/L3/L3S,
 * flags IPVLAN_F_PRIVATE/VEPA or 0 for bridge) on `parent` (an ifindex in the handle's netns),
 * created directly in netns_fd (< 0: the handle's netns) under `name`. */
int nl_macvlan_create(struct nl_handle *h, const char *name, int parent, uint32_t mode,
                      int netns_fd, const struct nl_link_attrs *a, struct berth_err **err);
int nl_ipvlan_create(struct nl_handle *h, const char *name, int parent, uint16_t mode,
                     uint16_t flags, int netns_fd, const struct nl_link_attrs *a,
                     struct berth_err **err);
/* An 802.1q link tagging `vid` (1-4094) on `parent`, conventionally named "parent.vid". */
int nl_vlan_create(struct nl_handle *h, const char *name, int parent, uint16_t vid,
                   const struct nl_link_attrs *a, struct berth_err **err);
/* Docker's option words: "bridge" "private" "vepa" "passthru"; "l2" "l3" "l3s". -EINVAL else. */
int nl_macvlan_mode_parse(const char *s, uint32_t *mode);
int nl_ipvlan_mode_parse(const char *s, uint16_t *mode);

int nl_link_set_up(struct nl_handle *h, int ifindex, bool up, struct berth_err **err);
int nl_link_set_mtu(struct nl_handle *h, int ifindex, unsigned mtu, struct berth_err **err);
int nl_link_set_mac(struct nl_handle *h, int ifindex, const uint8_t mac[6], struct berth_err **err);
/* Attach to the bridge `master`, or detach with master 0. */
int nl_link_set_master(struct nl_handle *h, int ifindex, int master, struct berth_err **err);
/* Move the link into netns_fd, renamed `new_name` there (NULL: keeps its name) in the same
 * message, so a name taken here (eth0) is never needed here. */
int nl_link_move(struct nl_handle *h, int ifindex, int netns_fd, const char *new_name,
                 struct berth_err **err);
int nl_link_delete(struct nl_handle *h, int ifindex, struct berth_err **err);
int nl_link_delete_name(struct nl_handle *h, const char *name, struct berth_err **err);

/* The ifindex of `name` in the handle's netns (an ioctl, no netlink round trip); ENODEV in
 * err->status when there is none. */
int nl_link_index(struct nl_handle *h, const char *name, int *ifindex, struct berth_err **err);
/* One link by name (ifindex 0) or ifindex. */
int nl_link_get(struct nl_handle *h, const char *name, int ifindex, struct nl_link *out,
                struct berth_err **err);
/* The links whose names start with `prefix` ("" for all), sorted by ifindex: *out is a heap
 * array of *n entries (NULL when none), the caller frees it. For reconciling what a crash
 * left: list "veth"/"br-", delete what no container owns. */
int nl_link_list(struct nl_handle *h, const char *prefix, struct nl_link **out, size_t *n,
                 struct berth_err **err);

/* ---- addresses and routes ---- */

#define NL_ADDR_NODAD 0x1 /* IPv6: usable at once, no duplicate detection (as dockerd does) */

/* Add/remove an address; an IPv4 one with a prefix under /31 gets its broadcast address as
 * dockerd's gives it (172.18.255.255 for 172.18.0.2/16). */
int nl_addr_add(struct nl_handle *h, int ifindex, const struct nl_prefix *p, unsigned flags,
                struct berth_err **err);
int nl_addr_del(struct nl_handle *h, int ifindex, const struct nl_prefix *p,
                struct berth_err **err);
/* The addresses of `family` (0: both) on ifindex (0: all links); heap array as nl_link_list. */
int nl_addr_list(struct nl_handle *h, int ifindex, int family, struct nl_prefix **out, size_t *n,
                 struct berth_err **err);

struct nl_route {
    struct nl_prefix dst; /* len 0: default route (dst.ip.family gives the family) */
    struct nl_ip gw;      /* family 0: none, the route is on-link (scope link) */
    int oif;              /* 0: the kernel picks from the gateway */
};

/* Add to / remove from the main table: a default route via a gateway, a subnet via a dev. */
int nl_route_add(struct nl_handle *h, const struct nl_route *r, struct berth_err **err);
int nl_route_del(struct nl_handle *h, const struct nl_route *r, struct berth_err **err);
/* The main table's unicast routes of `family`; heap array as nl_link_list. */
int nl_route_list(struct nl_handle *h, int family, struct nl_route **out, size_t *n,
                  struct berth_err **err);

/* ---- sysctls ---- */

/* Write/read /proc/sys/net/<path> ("ipv4/conf/eth0/route_localnet",
 * "ipv6/conf/eth0/disable_ipv6") as seen from netns_fd (< 0: the current one). /proc/sys/net
 * shows the netns of the thread that opens the file (its dentries are per namespace), so
 * the call setns()es this thread, opens, setns()es back, then writes: no /proc/thread-self
 * path is needed. (/proc/net, /proc/self/net, follow the thread-group leader instead, and
 * /sys/class/net the netns that mounted sysfs, so neither is used.) */
int nl_sysctl_set(int netns_fd, const char *path, const char *value, struct berth_err **err);
/* The value without its newline, in buf (size bytes). */
int nl_sysctl_get(int netns_fd, const char *path, char *buf, size_t size, struct berth_err **err);

/* ---- a container's veth, in one call ---- */

struct nl_veth_plumb {
    const char *host_name;         /* the host end, in the handle's netns ("veth1a2b3c4") */
    int bridge;                    /* ifindex of the bridge the host end joins; 0: none */
    unsigned mtu;                  /* both ends; 0: the default (1500) */
    int netns_fd;                  /* the container's netns */
    const char *ifname;            /* the container end's name there ("eth0") */
    uint8_t mac[6];                /* container end; all zero: random */
    struct nl_prefix addr4, addr6; /* ip.family 0: none; addr6 is added NODAD as dockerd does */
    struct nl_ip gw4, gw6;         /* default routes via these; family 0: none */
    bool disable_ipv6; /* ipv6/conf/IF/disable_ipv6=1 before IF comes up (dockerd does for
                        * IPv4-only networks) */
    bool lo_up;        /* bring the netns's lo up as well */
    bool hairpin;      /* the host end's bridge port in hairpin mode (a container reaching its
                        * own published port through a host address: with br_netfilter the
                        * DNATed frame goes back out of the port it came in by) */
    bool default_dev4; /* no gw4: a default route on-link through IF (ipvlan l3, which routes
                        * everything through its parent and answers no ARP) */
};

/* Both ends made, configured and up, addresses and default routes in place, in two netlink
 * round trips: (1) one RTM_NEWLINK makes the pair, the host end born up and in the bridge, the
 * container end born in its netns with its name, MAC and MTU (down: see nl_veth_create), and
 * with hairpin a second message in the same batch sets the host end's bridge port mode;
 * (2) one batch on a socket in the container netns brings lo and IF up and adds the addresses
 * and default routes (each message acked; the first failing one is reported by its step). In
 * between, one setns round trip opens that socket and writes disable_ipv6 while IF is down;
 * IF's ifindex comes from an ioctl. On failure nothing is left: the pair is deleted (which
 * takes IF's addresses and routes along).
 * Cost (bench/netlink): ~0.8-1.2 ms per container, nearly all of it the kernel's work on the
 * links (the pair ~0.3 ms, joining the bridge ~0.15 ms and more as the bridge has more ports);
 * sending the same steps one message each costs the same within noise, ip(8) commands ~12 ms.
 * To unplumb, let the netns go (close its last fd, its last process exits): the kernel drops
 * the pair in its own netns cleanup work; nl_link_delete would block ~16 ms (RCU grace
 * periods) in the calling thread. */
int nl_plumb_veth(struct nl_handle *h, const struct nl_veth_plumb *p, struct berth_err **err);

/* ---- a container's macvlan or ipvlan, in one call ---- */

struct nl_lower_plumb {
    bool ipvlan;           /* an ipvlan child; else a macvlan */
    int parent;            /* its parent's ifindex in the handle's netns */
    uint32_t mode;         /* MACVLAN_MODE_* or IPVLAN_MODE_* */
    uint16_t ipvlan_flags; /* IPVLAN_F_* */
    unsigned mtu;          /* 0: the parent's */
    int netns_fd;          /* the container's netns */
    const char *ifname;    /* its name there ("eth0") */
    uint8_t mac[6];        /* macvlan only; all zero: random (an ipvlan has its parent's) */
    struct nl_prefix addr4;
    struct nl_ip gw4;  /* default route via it; family 0: none */
    bool default_dev4; /* no gw4: a default route on-link through IF */
    bool disable_ipv6, lo_up;
};

/* The child made directly in its netns under its name (one RTM_NEWLINK, so it never exists in
 * the handle's netns), then nl_plumb_veth's second round trip in there: lo and IF up, the
 * address, the default route. On failure the child is deleted. Undone by letting the netns go
 * (the kernel deletes the child with it) or nl_lower_unplumb for a netns that lives on. */
int nl_plumb_lower(struct nl_handle *h, const struct nl_lower_plumb *p, struct berth_err **err);
/* The link `ifname` of netns_fd deleted (a network disconnected from a running container). */
int nl_lower_unplumb(int netns_fd, const char *ifname, struct berth_err **err);
