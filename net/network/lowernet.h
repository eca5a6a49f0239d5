/* net/network/lowernet.h — macvlan and ipvlan networks (docker network create -d macvlan|ipvlan):
 * no bridge, no firewall, no NAT; each container's interface is a child of the network's parent
 * link, made straight in its netns with its IPAM address. A parent IF.VLAN that does not exist is
 * made as an 802.1q link of IF, no parent at all a dummy link dm-<12 hex> (macvlan) or di-<12 hex>
 * (ipvlan), and berth removes a link it made with the last network on it, as dockerd does.
 * The struct netbr of such a network holds its IPAM pool and its config (bridge.h's
 * netbr_config: driver, parent, modes); netbr_open, netbr_destroy and netbr_endpoint_plumb call
 * here for it. Threads as bridge.h: config and conflict on the reactor, the rest on the pool. */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "core/err.h"
#include "net/network/bridge.h"

/* Reactor: the driver options checked with dockerd's words and put in *c (c->driver set by the
 * caller): parent ("" or absent: the dummy named after id), macvlan_mode (bridge, private, vepa,
 * passthru; default bridge), ipvlan_mode (l2, l3, l3s; default l2), ipvlan_flag (bridge,
 * private, vepa; default bridge); "loopback interface is not a valid macvlan parent link".
 * Refusals here and below are dockerd's 500 (EIO): its driver errors carry no class. */
int lowernet_config(const json_t *options, const char *id, struct netbr_config *c,
                    struct berth_err **err);
/* Reactor: whether c may have its parent while network `other` (ID other_id) is there, dockerd's
 * rules and words: two ipvlan networks never share a parent ("network di-<12 hex> is already
 * using parent interface eth0"), two macvlan networks do unless one is in passthru mode. */
int lowernet_conflict(const struct netbr_config *c, const struct netbr_config *other,
                      const char *other_id, struct berth_err **err);
/* Pool: the parent found or made (802.1q link or dummy, up), the kernel's support for the link
 * kind checked (a child made and deleted: a kernel without it gets words naming the missing
 * support, EOPNOTSUPP), and the IPAM pool (no gateway unless one was given). On failure
 * nothing is left. */
int lowernet_open(struct netbr *b, struct berth_err **err);
/* Pool, at network rm: the parent link berth made deleted unless another network uses it. */
void lowernet_destroy(struct netbr *b);
/* Pool, at start or connect: the child made in netns_fd as `ifname` with the endpoint's MAC
 * (macvlan) and address, lo up, and its default route: via the gateway (macvlan, ipvlan l2),
 * through the link (ipvlan l3, l3s), none when internal, without a parent or no_gateway. */
int lowernet_plumb(const struct netbr *b, const struct netbr_endpoint *ep, int netns_fd,
                   const char *ifname, bool no_gateway, struct berth_err **err);
