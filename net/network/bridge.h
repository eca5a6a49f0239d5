/* net/network/bridge.h — Docker's default network `bridge`: a Linux bridge (berth0 unless
 * daemon.json names another), its subnet and gateway from IPAM, and one endpoint per container
 * on it (an address, a MAC, a veth whose container end is eth0 in the container's netns).
 * Four files, one job each: bridge_config.c (daemon.json's keys, checked as dockerd checks
 * them), bridge.c (the bridge link and its pool, made or reused at start-up, and what a crash
 * left on it), bridge_endpoint.c (a container's endpoint), bridge_fw.c (where nftables plugs
 * in: NAT, published ports, icc).
 *
 * Threads: netbr_open and netbr_endpoint_plumb block (netlink, sysctls): pool only. The
 * endpoint's address (netbr_endpoint_new/_restore/_release) is pure IPAM bookkeeping, done on
 * the reactor thread only, so the pool needs no lock. Everything else in struct netbr is fixed
 * once netbr_open returns and may be read from any thread. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"
#include "net/network/ipam.h"

#define NETBR_DEFAULT_NAME "berth0" /* never docker0: a dockerd may share the host */
#define NETBR_VETH_PREFIX  "vb"     /* host ends of containers' veths (reconciled by it) */
#define NETBR_DEFAULT_MTU  1500
#define NETBR_IFNAME       "eth0" /* the container end */

/* daemon.json's default-bridge keys (dockerd's names and defaults). */
struct netbr_config {
    bool disabled;        /* "bridge": "none" (dockerd's -b none): no default bridge */
    char *name;           /* the bridge: NETBR_DEFAULT_NAME or daemon.json "bridge" */
    bool user_bridge;     /* daemon.json named one (dockerd's -b): never addressed if it exists */
    char *bip;            /* "bip": the bridge's address, CIDR */
    char *fixed_cidr;     /* "fixed-cidr": containers' addresses come from this range */
    struct ipam_aux *aux; /* a user network's --aux-address: reserved, never given out */
    size_t n_aux;
    char *default_gw;            /* "default-gateway": the containers' default route instead */
    char *host_ip;               /* "ip": the default host address of published ports (for NAT) */
    unsigned mtu;                /* "mtu" (0 in the file: 1500) */
    struct ipam_pool_def *pools; /* "default-address-pools" (NULL: dockerd's) */
    size_t npools;
    bool ip_forward; /* "ip-forward" (true): net.ipv4.ip_forward=1 at start-up */
    bool icc;        /* "icc" (true): containers reach each other (enforced by bridge_fw.c) */
    bool iptables;   /* "iptables" (true): berth keeps its firewall rules (bridge_fw.c) */
    bool ip_masq;    /* "ip-masq" (true, false without iptables): outbound NAT (bridge_fw.c) */
    /* A user-defined network (net/network/usernet.h) rather than the default bridge: its
     * firewall reconciles its own element only (the default bridge's start reconciled the
     * tables), ip_forward is left alone, and with internal nothing is forwarded in or out and
     * its containers get no default route (dockerd's needDefaultGW). */
    bool user_net, internal;
    char *net_name; /* the network's name in dockerd's words ("bridge" when NULL) */
    /* A macvlan or ipvlan network (net/network/lowernet.h) rather than a bridge: no bridge link,
     * no firewall, each container's eth0 a child of `parent`. bip then holds the subnet as given
     * (NULL: one from the pools), default_gw the gateway (NULL: none, dockerd allocates none for
     * these drivers) and fixed_cidr the ip-range; internal: no default route. */
    enum netbr_driver { NETBR_BRIDGE, NETBR_MACVLAN, NETBR_IPVLAN } driver;
    char *parent;          /* -o parent (dm-/di-<12 hex of the ID> when none was given) */
    uint32_t lower_mode;   /* MACVLAN_MODE_* or IPVLAN_MODE_* */
    uint16_t ipvlan_flags; /* IPVLAN_F_* */
    bool made_parent; /* berth made the parent (802.1q link or dummy): it goes with the network */
    bool keep_parent; /* ... unless another network still uses it (reactor: usernets_remove) */
    /* The other networks' subnets when this one picks its own: a macvlan or ipvlan network's
     * subnet has no host route to keep it out of the pick (heap array, NULL: none). */
    struct ipam_prefix *taken;
    size_t ntaken;
};

/* *reserved (ipam_host_reserved's heap array of n) with c->taken appended; the new length. */
size_t netbr_config_reserved(const struct netbr_config *c, struct ipam_prefix **reserved, size_t n);

/* Read and check the keys of daemon.json `file` (NULL: all defaults) with dockerd's words:
 * "You specified -b & --bip, mutually exclusive options. Please specify only one", "You
 * specified --iptables=false with --icc=false. ICC=false uses iptables to function. Please set
 * --icc or --iptables to true", "invalid default MTU: -1", a bad bip or fixed-cidr. EINVAL. */
int netbr_config_parse(const json_t *file, struct netbr_config *out, struct berth_err **err);
void netbr_config_free(struct netbr_config *c);

/* The default bridge network, live. */
struct netbr {
    struct netbr_config cfg;
    char id[65];   /* the network's ID: new at each start, as dockerd remakes its bridge network */
    char *created; /* RFC 3339 */
    int ifindex;   /* of the bridge, in berthd's netns */
    struct ipam_prefix subnet;  /* masked */
    struct ipam_prefix range;   /* fixed-cidr (family 0: none) */
    struct ipam_addr gateway;   /* the bridge's address */
    struct ipam_addr route_via; /* containers' default route: default-gateway, else gateway */
    unsigned mtu;
    struct ipam *_ipam; /* reactor only, after netbr_open */
    struct ipam_pool *_pool;
    struct netbr_fw *_fw; /* bridge_fw.c's state (thread-safe) */
};

/* Blocking (pool), once at start-up, before any container starts: the bridge made (up, its
 * MTU, a fixed random MAC so its address never follows its ports', the gateway address) or
 * reused as it is, with dockerd's rules for the subnet (bip, the address already on the bridge,
 * fixed-cidr, else the first pool that clashes with no host route or nameserver: docker0's
 * 172.17.0.0/16 among them); net.ipv4.ip_forward when asked; the firewall's network rules
 * (bridge_fw.c); and the host ends of veths a crash left in the bridge deleted (NETBR_VETH_PREFIX
 * and the bridge as master: nothing else is touched). engine_id seeds nothing yet (IPv6 comes
 * with user networks). Errors in dockerd's words: "error creating default "bridge" network: ..."
 * (EINVAL for the configuration, the kernel's errno else). */
int netbr_open(const struct netbr_config *cfg, struct netbr **out, struct berth_err **err);
/* Forget it (the bridge stays on the host, as docker0 does). NULL is fine. */
void netbr_close(struct netbr *b);
/* Blocking (pool): a user network removed: its nft element and its bridge link go, and b is
 * freed. Failures are logged (what is left is reconciled at the next start). */
void netbr_destroy(struct netbr *b);

/* "172.18.0.0/16", "172.18.0.1" and the range, as inspect shows them (buf: IPAM_PREFIX_STRLEN). */
char *netbr_subnet_str(const struct netbr *b, char *buf);
char *netbr_gateway_str(const struct netbr *b, char *buf);

/* ---- endpoints (bridge_endpoint.c) ---- */

struct netbr_endpoint {
    char id[65];            /* EndpointID: 64 random hex digits */
    char host_if[IFNAMSIZ]; /* NETBR_VETH_PREFIX + 11 hex digits of the ID */
    struct ipam_addr addr;  /* the container's address (family 0: none held) */
    uint8_t mac[6];
};

/* Docker's MAC rule: 02:42 and the four bytes of the IPv4 address. */
void netbr_mac_from_ip(const struct ipam_addr *a, uint8_t mac[6]);
/* "02:42:ac:11:00:02" (buf: 18 bytes); returns buf. */
char *netbr_mac_str(const uint8_t mac[6], char buf[18]);

/* Reactor. A new endpoint: the lowest free address of the bridge's pool (or fixed-cidr), the
 * MAC `mac` (Go's ParseMAC forms, 6 bytes; NULL or "": Docker's rule), a fresh ID and host end
 * name. "no available IPv4 addresses on this network's address pools: bridge (ID)" (EIO) when
 * the pool is full; EINVAL for a MAC that is not 6 bytes. */
int netbr_endpoint_new(struct netbr *b, const char *mac, struct netbr_endpoint *ep,
                       struct berth_err **err);
/* The same at the address ip asks (--ip, NULL or "": the lowest free one), with dockerd's words
 * for one out of the subnet or taken. */
int netbr_endpoint_new_at(struct netbr *b, const char *mac, const char *ip,
                          struct netbr_endpoint *ep, struct berth_err **err);
/* Reactor: its address back to the pool (an endpoint without one is fine). */
void netbr_endpoint_release(struct netbr *b, struct netbr_endpoint *ep);
/* Reactor, at start-up: an endpoint a record kept (its container still runs) holds its address
 * again. EACCES when another holds it (then this one keeps none). */
int netbr_endpoint_restore(struct netbr *b, struct netbr_endpoint *ep, struct berth_err **err);

/* The container an endpoint is for, as the firewall needs it. */
struct netbr_ctr {
    const char *id, *name;
    const json_t *config;      /* ExposedPorts */
    const json_t *host_config; /* PortBindings, PublishAllPorts */
    const char *ifname;        /* its name in the container (NULL: eth0) */
    bool no_gateway;           /* no default route through it (a second network's) */
};

/* Blocking (pool). The veth plumbed (net/network/netlink.h nl_plumb_veth: two round trips): the
 * host end up in the bridge (in hairpin mode when the container publishes a port), eth0 in
 * netns_fd with its MAC, MTU, address and default route, lo up, IPv6 off on eth0; then the
 * firewall's endpoint rules (bridge_fw.c: published ports), *ports their NetworkSettings.Ports
 * (NULL when none is published). On failure nothing is left. Undone by letting the netns go
 * (the kernel removes the pair) and netbr_endpoint_unplumb. */
int netbr_endpoint_plumb(const struct netbr *b, const struct netbr_endpoint *ep, int netns_fd,
                         const struct netbr_ctr *ctr, json_t **ports, struct berth_err **err);
/* Blocking (pool), when its container has exited: the firewall's endpoint rules go; with
 * delete_link the host end is deleted now (~16 ms) — for a netns that outlives the container
 * (another container shares it): the kernel would otherwise keep the pair, address and all. */
void netbr_endpoint_unplumb(const struct netbr *b, const struct netbr_endpoint *ep,
                            const char *ctr_id, bool delete_link);

/* The endpoint as a container's record keeps it, and back (false: not one). */
json_t *netbr_endpoint_json(const struct netbr_endpoint *ep);
bool netbr_endpoint_from_json(const json_t *j, struct netbr_endpoint *ep);
