/* net/network/bridge_fw.h — where the default bridge's firewall plugs in: outbound NAT
 * (ip-masq), inter-container traffic (icc), published ports (HostConfig.PortBindings,
 * PublishAllPorts), hairpin and route_localnet. The bridge calls these at the points the rules
 * must exist; today they record nothing and return 0 (berth has no nftables module yet, so
 * -p/-P stay refused at create by exec/fields.c and containers have no outbound NAT).
 *
 * Contract for the nftables module: every call is blocking and runs on a pool thread in
 * berthd's netns; network calls run once, before any endpoint call; an endpoint's calls are
 * ordered (up, then down) but endpoints run concurrently on several pool threads; a failing
 * endpoint_up fails the container's start (the words reach docker run) and the bridge unplumbs
 * it; endpoint_down must not fail (a crash between up and down is reconciled by network_up at
 * the next start, which must clear what an earlier berthd left). */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "core/err.h"
#include "net/network/ipam.h"

struct netbr_fw_network {
    const char *bridge; /* "berth0" */
    int ifindex;        /* the bridge's, in berthd's netns */
    struct ipam_prefix subnet;
    struct ipam_addr gateway;
    unsigned mtu;
    const char *host_ip; /* daemon.json "ip": default host address of published ports */
    bool icc, iptables, ip_masq;
};

struct netbr_fw_endpoint {
    const char *ctr_id;
    const char *host_if; /* the host end of its veth, in the bridge */
    struct ipam_addr addr;
    const json_t *host_config; /* its HostConfig: PortBindings, PublishAllPorts */
};

/* At start-up, once the bridge is up (netbr_open). */
int netbr_fw_network_up(const struct netbr_fw_network *n, struct berth_err **err);
/* At a container's start, its veth plumbed, before its process runs. */
int netbr_fw_endpoint_up(const struct netbr_fw_network *n, const struct netbr_fw_endpoint *ep,
                         struct berth_err **err);
/* At its end (or a start that failed after endpoint_up). */
void netbr_fw_endpoint_down(const struct netbr_fw_network *n, const struct netbr_fw_endpoint *ep);
