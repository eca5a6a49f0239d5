/* exec/ctrnet_priv.h — what exec/ctrnet.c and exec/ctrnet_connect.c share: one endpoint of a
 * container (its primary network's, or one connected while it runs) and its DNS side. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "exec/ctrnet.h"
#include "net/network/bridge.h"
#include "net/network/dns.h"
#include "net/network/dns_names.h"
#include "net/network/usernet.h"

#define CTRNET_MAX_NETS 8

struct ctrnet {
    struct netbr *br;
    struct usernet *un; /* a user network's (NULL: the default bridge) */
    /* a user network's embedded DNS: its names there (name, aliases, short ID), the netns a
     * server started after the process binds in (dns_ctr_start; -1: none), the server, the
     * upstream resolvers; at a start the sockets are bound by the start job before the process
     * runs (dns_fds, while dns_bound) and served by the reactor once it runs */
    json_t *dns_names;
    int dns_netns;
    struct dns_server *dns_srv;
    int dns_fds[2];
    bool dns_bound;
    struct dns_ctr *dns;
    struct dns_names *views[CTRNET_MAX_NETS]; /* the networks its DNS server answers for */
    struct dns_names_view view;
    struct dns_ctr_config dns_cfg;
    char **link_alias, **link_name; /* its legacy links on a user network (view's) */
    size_t nlinks;
    bool dns_added;
    struct netbr_endpoint ep;
    int netns;
    bool plumbed;
    json_t *ports; /* NetworkSettings.Ports of its published ports (NULL: none published) */
    int64_t netns_us, plumb_us;
    /* networks connected while it runs (docker network connect): eth1..., in its primary's
     * list, which releases them with itself */
    struct ctrnet *extra;
    char ifname[IFNAMSIZ];
    bool no_gateway; /* another of its networks has the default route (dockerd's choice) */
    json_t *aliases; /* a connected network's --alias (shown by inspect) */
};

/* dockerd's DNSNames: the container's name, the aliases, its short ID (a JSON array). */
json_t *ctrnet_dns_names(const struct container *c, const json_t *aliases);
/* Reactor: its names on its network added or removed. */
void ctrnet_names_change(struct ctrnet *n, bool add);
/* Pool: the upstream resolvers of its embedded DNS server into cfg (--dns, else the host's; none
 * on an internal network, as dockerd forwards nothing from there). */
void ctrnet_dns_upstreams(const json_t *host_config, bool internal, struct dns_ctr_config *cfg);
/* Reactor: its embedded DNS server started in n->dns_netns (its own names added on a user
 * network), answering for its network and each connected one. */
void ctrnet_dns_start(struct ctrnet *n, struct exec_env *env, const struct container *c);
/* A connected network's endpoint in c->net's Extra (what inspect shows while it runs). */
void ctrnet_record_extra(struct container *c, const struct ctrnet *x);
/* Reactor, at ctr_start: the endpoints of c->net_more on prim's list, eth1... in dockerd's order
 * (gw-priority, non-internal, name), the default route through the best of all of them. */
int ctrnet_prepare_more(struct exec_env *env, const struct container *c, struct ctrnet *prim,
                        struct berth_err **err);
/* Pool, after the primary's plumbing: each extra endpoint into n->netns. */
int ctrnet_setup_more(struct ctrnet *n, const struct container *c, struct berth_err **err);

/* Its endpoint's JSON as c->net keeps it (NetworkID, address, prefix, gateway, MAC, ...). */
json_t *ctrnet_endpoint_json(const struct ctrnet *n);
