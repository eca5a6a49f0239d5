/* net/network/bridge_fw.h — the default bridge's firewall: outbound NAT (ip-masq),
 * inter-container traffic (icc), published ports (Config.ExposedPorts, HostConfig.PortBindings,
 * PublishAllPorts) with their host ports held (portalloc.h), hairpin and route_localnet, all in
 * berth's nftables tables (nft.h). The bridge calls these at the points the rules must exist.
 *
 * What network_up sets up around the tables (nft.h's contract): net.ipv4.conf.BRIDGE.
 * route_localnet = 1, so ports answer on 127.0.0.1; with icc false, net.bridge.
 * bridge-nf-call-iptables (and -ip6tables) = 1, so traffic between two ports of the bridge meets
 * the forward chain; ip_forward is the bridge's (daemon.json ip-forward). Hairpin mode goes on the
 * bridge port of each container that publishes a port (netbr_fw_hairpin), in the same netlink
 * batch that plumbs it. With daemon.json "iptables": false berth adds no rules at all (and
 * removes the tables an earlier run left); a container that publishes a port then fails to start
 * (berth has no userland proxy to carry the port instead).
 *
 * Contract: every call blocks and runs on a pool thread in berthd's netns; network_up runs once,
 * before any endpoint call; an endpoint's calls are ordered (up, then down) but endpoints run
 * concurrently on several pool threads (the state below has its own lock); a failing
 * endpoint_up leaves nothing (no host port held, no nft element) and fails the container's
 * start with dockerd's words; endpoint_down cannot fail. No container outlives berthd, so
 * network_up removes every published port an earlier berthd left (a crash between up and down). */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "core/err.h"
#include "net/network/ipam.h"

struct netbr_fw; /* the firewall's live state: nft handle, port allocator, endpoints' ports */

struct netbr_fw_network {
    const char *bridge; /* "berth0" */
    int ifindex;        /* the bridge's, in berthd's netns */
    struct ipam_prefix subnet;
    struct ipam_addr gateway;
    unsigned mtu;
    const char *host_ip; /* daemon.json "ip": default host address of published ports */
    bool icc, iptables, ip_masq;
    bool user_net, internal; /* a user network: only its own element is reconciled */
    struct netbr_fw *fw;     /* what network_up made (NULL before) */
};

struct netbr_fw_endpoint {
    const char *ctr_id;
    const char *ctr_name;    /* the endpoint's name in dockerd's words */
    const char *endpoint_id; /* unique per start: the key of its ports */
    const char *host_if;     /* the host end of its veth, in the bridge */
    struct ipam_addr addr;
    const json_t *config;      /* its Config: ExposedPorts */
    const json_t *host_config; /* its HostConfig: PortBindings, PublishAllPorts */
};

/* At start-up, once the bridge is up (netbr_open): the tables made or rewritten, this network's
 * elements in place, what an earlier berthd left removed; *out for the calls below. Errors
 * (berthd does not start): nf_tables missing or refused, a sysctl that cannot be set, an "ip"
 * that is not an IPv4 address. */
int netbr_fw_network_up(const struct netbr_fw_network *n, struct netbr_fw **out,
                        struct berth_err **err);
/* At shutdown, after every endpoint is down: the handle closed; the tables stay (the next start
 * rewrites them), as docker0's rules stay. NULL is fine. */
void netbr_fw_close(struct netbr_fw *fw);
/* A user network removed: its element goes from the tables (then netbr_fw_close). */
void netbr_fw_network_down(const struct netbr_fw_network *n, struct netbr_fw *fw);

/* Whether the endpoint's bridge port needs hairpin mode: it publishes a port (it may reach it
 * through a host address, which sends the packets back out of the port they came in by). */
bool netbr_fw_hairpin(const struct netbr_fw_network *n, const json_t *config,
                      const json_t *host_config);

/* At a container's start, its veth plumbed, before its process runs: its published ports held
 * and their DNAT elements added in one transaction; *ports gets NetworkSettings.Ports (NULL when
 * nothing is exposed). Errors: "driver failed programming external connectivity on endpoint
 * NAME (EPID): Bind for 0.0.0.0:8080 failed: port is already allocated" and the others of
 * portalloc.h. */
int netbr_fw_endpoint_up(const struct netbr_fw_network *n, const struct netbr_fw_endpoint *ep,
                         json_t **ports, struct berth_err **err);
/* At its end (or a start that failed after endpoint_up): its elements and host ports go. */
void netbr_fw_endpoint_down(const struct netbr_fw_network *n, const struct netbr_fw_endpoint *ep);
