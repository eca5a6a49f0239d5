/* net/network/ports.h — published ports as Docker clients ask for them (Config.ExposedPorts,
 * HostConfig.PortBindings and PublishAllPorts) and as dockerd shows them (NetworkSettings.Ports,
 * the list's Ports): requests parsed and checked with dockerd's words, results as JSON. No I/O:
 * host ports are reserved by portalloc.c, the NAT is nft.c's, bridge_fw.c ties them together.
 *
 * dockerd's rules (daemon/network.go buildPortsRelatedCreateEndpointOptions): only the ports of
 * Config.ExposedPorts count (the CLI adds every -p port there); each gets a mapping per binding
 * of PortBindings, or, with PublishAllPorts and no binding, one on an ephemeral port of the
 * default address. An exposed port without a mapping shows as null in NetworkSettings.Ports. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"

/* One mapping to make. */
struct ports_req {
    uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP */
    uint16_t ctr_port;
    bool host_ip_set;          /* false: the default binding address (daemon.json "ip") */
    struct in_addr host_ip;    /* network order */
    uint16_t host_lo, host_hi; /* a port, a range to pick one from, or 0 and 0: ephemeral */
};

struct ports_plan {
    struct ports_req *reqs; /* ExposedPorts' order: by port, then protocol */
    size_t n_reqs;
};

/* A mapping made. */
struct ports_bound {
    uint8_t proto;
    uint16_t ctr_port;
    struct in_addr host_ip;
    uint16_t host_port;
};

/* Whether the container asks for any mapping (a non-empty PortBindings, or PublishAllPorts
 * with something exposed): a few lookups, no parsing, for the start path of those that do not. */
bool ports_publishes(const json_t *config, const json_t *host_config);

/* At create: HostConfig.PortBindings as dockerd's validatePortBindings checks it ("invalid port
 * specification: \"x\""), a protocol that is not tcp, udp or sctp, a host address that is not
 * an IPv4 one ("invalid IP address: x"; IPv6 ones are refused by name: the default bridge is
 * IPv4-only). EINVAL. */
int ports_check(const json_t *host_config, struct berth_err **err);

/* The mappings to make, by dockerd's rules above (the same checks as ports_check). */
int ports_plan(const json_t *config, const json_t *host_config, struct ports_plan *out,
               struct berth_err **err);
void ports_plan_free(struct ports_plan *p);

/* NetworkSettings.Ports of a running container: every exposed port, with its mappings
 * ({"HostIp": "0.0.0.0", "HostPort": "8080"}, in the order made) or null. A new object (empty
 * when nothing is exposed). */
json_t *ports_settings_json(const json_t *config, const struct ports_bound *b, size_t n);

/* The list's Ports (GET /containers/json) from NetworkSettings.Ports: {"IP", "PrivatePort",
 * "PublicPort", "Type"} per mapping, {"PrivatePort", "Type"} for a port only exposed, sorted
 * as dockerd's view sorts them. A new array. */
json_t *ports_summary_json(const json_t *settings_ports);

/* "tcp", "udp", "sctp" (NULL for another), and back (0 for another). */
const char *ports_proto_name(uint8_t proto);
uint8_t ports_proto_parse(const char *name);

/* "80/tcp" -> 80 and IPPROTO_TCP ("80" alone is tcp); false when it is no such key. */
bool ports_key_parse(const char *key, uint16_t *port, uint8_t *proto);
