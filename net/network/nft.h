/* net/network/nft.h — NAT and filtering for container networks with nftables. berthd owns one
 * table per family, `ip berth` and `ip6 berth`, and touches nothing else on the host. The
 * table's rules are fixed; networks and published ports are elements of its sets and maps, so
 * adding the 1000th costs what the first did:
 *
 *   set bridges, same (br . br), masq, icc_off, internal   one element per network
 *   set nets (subnet . br, intervals)                       one per subnet of a network
 *   map ports_any (proto . port : ctr_ip . ctr_port)        one per published port on any
 *   map ports_ip (host_ip . proto . port : ...)             address, or on one host address
 *
 * The rules (written out in nft.c) do what dockerd's iptables rules do: DNAT of published
 * ports in prerouting and output for traffic to a local address (127.0.0.1 too), masquerade
 * of outbound traffic (ip-masq), of hairpin traffic (a container reaching a published port on
 * its own network through a host address) and of 127.0.0.0/8 sources sent to a bridge;
 * isolation between berth bridges, icc, internal networks, and no forwarding into a bridge
 * other than replies and published ports (dockerd 28).
 *
 * What the caller sets up around it (the netlink side): /proc/sys/net/ipv4/ip_forward = 1;
 * route_localnet = 1 on a bridge for its ports to answer on 127.0.0.1; hairpin mode on each
 * bridge port, for a container to reach its own published port; and, for icc = false,
 * /proc/sys/net/bridge/bridge-nf-call-iptables (and -ip6tables) = 1, since traffic between two
 * ports of one bridge meets netfilter's IP hooks only through br_netfilter (as for dockerd).
 *
 * A handle is one netlink socket; use it from one thread at a time. Each call below is one
 * atomic transaction (all of it or none of it), unless nft_begin() opened a batch: then the
 * calls queue and nft_commit() sends them as one transaction. */
#pragma once

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define NFT_TABLE       "berth"
#define NFT_SUBNETS_MAX 4

union nft_addr {
    struct in_addr v4;
    struct in6_addr v6;
};

struct nft_subnet {
    int family; /* AF_INET or AF_INET6 */
    union nft_addr addr;
    uint8_t prefixlen;
};

struct nft_network {
    char bridge[IFNAMSIZ];
    bool masquerade; /* ip-masq: traffic leaving through another interface gets its address */
    bool icc;        /* containers on this bridge may talk to each other */
    bool internal;   /* nothing is forwarded into or out of the bridge */
    size_t n_subnets;
    struct nft_subnet subnets[NFT_SUBNETS_MAX]; /* for hairpin masquerade */
};

struct nft_port {
    int family;             /* AF_INET or AF_INET6, of both addresses */
    uint8_t proto;          /* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP */
    union nft_addr host_ip; /* all zeros: every local address */
    uint16_t host_port;
    union nft_addr ctr_ip;
    uint16_t ctr_port;
    uint16_t count; /* a range: host_port+i to ctr_port+i for i < count (0 counts as 1) */
};

struct nft;

/* A netlink socket to nf_tables. *out is freed with nft_close. */
int nft_open(struct nft **out, struct berth_err **err);
void nft_close(struct nft *n);
void nft_closep(struct nft **n);

/* Creates both tables, their chains and sets, and (re)writes the rules, keeping the elements
 * already there: run at every start, then nft_list() to reconcile. A table left by a berth
 * whose sets differ is replaced (its elements are lost; nft_list then shows none). */
int nft_init(struct nft *n, struct berth_err **err);
/* Deletes both tables; nothing of berth's is left. No error when they are absent. */
int nft_teardown(struct nft *n, struct berth_err **err);

/* Adding what is there, or removing what is not, fails (EEXIST, ENOENT) and changes nothing:
 * a published port already in a map is EEXIST. Remove with the struct that was added (the
 * flags say which sets hold the bridge). */
int nft_network_add(struct nft *n, const struct nft_network *net, struct berth_err **err);
int nft_network_del(struct nft *n, const struct nft_network *net, struct berth_err **err);
int nft_port_add(struct nft *n, const struct nft_port *p, struct berth_err **err);
int nft_port_del(struct nft *n, const struct nft_port *p, struct berth_err **err);

/* Between nft_begin and nft_commit the four calls above only check and queue (a call that
 * fails queues nothing); nft_commit sends the queue as one transaction and empties it, as
 * nft_discard does without sending. */
void nft_begin(struct nft *n);
int nft_commit(struct nft *n, struct berth_err **err);
void nft_discard(struct nft *n);

/* What the tables hold, for reconciling after a crash: every network (a bridge with its
 * flags and subnets, both families merged) and every published port element (count 1 each),
 * sorted. Listed until two dumps in a row agree: the kernel resizes a big hash set in its own
 * time, and a dump that meets a resize shows elements twice or misses some. */
struct nft_state {
    struct nft_network *networks;
    size_t n_networks;
    struct nft_port *ports;
    size_t n_ports;
};
int nft_list(struct nft *n, struct nft_state *out, struct berth_err **err);
void nft_state_free(struct nft_state *s);
