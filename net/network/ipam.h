/* net/network/ipam.h — IP address management for container networks, as dockerd's default IPAM
 * driver (libnetwork/ipams/defaultipam) does it: subnets picked from default-address-pools or
 * given, ip-ranges, gateways, aux addresses, and one address per endpoint, lowest free first.
 * Pure logic on the caller's thread (no lock, no syscall) except the few functions that say they
 * read a file. Four files, one job each: ipam_addr.c (addresses and prefixes), ipam.c (address
 * spaces, pools, addresses), ipam_config.c (requests checked and worded as dockerd does, host
 * reservations, the default bridge), ipam_store.c (a pool's JSON and its state file). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"

/* ---- addresses and prefixes (ipam_addr.c) ---- */

typedef unsigned __int128 ipam_u128;

/* An address as a number: IPv4 in the low 32 bits. family 0 means "none" (an absent gateway,
 * range, ...), so a zeroed struct is a valid "none". */
struct ipam_addr {
    uint8_t family; /* 0, 4 or 6 */
    ipam_u128 v;
};

/* A prefix as written: the host bits of addr are kept (Go's netip.Prefix), ipam_prefix_masked()
 * clears them. */
struct ipam_prefix {
    struct ipam_addr addr;
    uint8_t bits;
};

#define IPAM_ADDR_STRLEN   46 /* INET6_ADDRSTRLEN */
#define IPAM_PREFIX_STRLEN (IPAM_ADDR_STRLEN + 4)

/* Parsed as Go's netip.ParseAddr/ParsePrefix (what dockerd uses): dotted quads without leading
 * zeros, RFC 4291 IPv6 (an IPv4-mapped address stays IPv6), no zone, "/bits" in decimal. */
bool ipam_addr_parse(const char *s, struct ipam_addr *out);
bool ipam_prefix_parse(const char *s, struct ipam_prefix *out);
/* Canonical text (RFC 5952 for IPv6, as Go prints it) into buf; returns buf. */
char *ipam_addr_fmt(const struct ipam_addr *a, char buf[IPAM_ADDR_STRLEN]);
char *ipam_prefix_fmt(const struct ipam_prefix *p, char buf[IPAM_PREFIX_STRLEN]);
/* Network byte order, 4 or 16 bytes (returned), for netlink. */
size_t ipam_addr_bytes(const struct ipam_addr *a, uint8_t out[16]);
struct ipam_addr ipam_addr_from_bytes(int family, const void *bytes);
/* ::ffff:a.b.c.d as a.b.c.d (dockerd unmaps every address it is given). */
struct ipam_addr ipam_addr_unmap(struct ipam_addr a);

int ipam_addr_cmp(const struct ipam_addr *a, const struct ipam_addr *b);
/* By address, then the shorter prefix first (dockerd's PrefixCompare). */
int ipam_prefix_cmp(const struct ipam_prefix *a, const struct ipam_prefix *b);
bool ipam_addr_eq(const struct ipam_addr *a, const struct ipam_addr *b);
bool ipam_prefix_eq(const struct ipam_prefix *a, const struct ipam_prefix *b);
struct ipam_prefix ipam_prefix_masked(struct ipam_prefix p);
bool ipam_prefix_is_masked(const struct ipam_prefix *p);
struct ipam_addr ipam_prefix_first(const struct ipam_prefix *p);
struct ipam_addr ipam_prefix_last(const struct ipam_prefix *p);
bool ipam_prefix_contains(const struct ipam_prefix *p, const struct ipam_addr *a);
bool ipam_prefix_overlaps(const struct ipam_prefix *a, const struct ipam_prefix *b);
static inline int ipam_family_bits(int family)
{
    return family == 6 ? 128 : 32;
}

/* ---- address spaces (ipam.c) ---- */

/* One entry of daemon.json's default-address-pools: base split into /size subnets. */
struct ipam_pool_def {
    struct ipam_prefix base;
    int size;
};

/* dockerd's local defaults: 172.17-19.0.0/16, 172.20-31.0.0/16 (from three /14s), then
 * 192.168.0.0/16 in /20s. */
size_t ipam_default_pools(const struct ipam_pool_def **out);
/* The ULA /48, split in /64s, that dockerd adds when no IPv6 pool is configured: fd00::/8 plus
 * 40 bits of sha256(engine id), so it is stable for one engine and differs between engines. */
struct ipam_pool_def ipam_ula_pool(const char *engine_id);

/* The engine's allocator: for each family the predefined pools and every subnet in use. */
struct ipam;

/* defs NULL or n 0: dockerd's defaults. An IPv6 ULA pool from engine_id is added when defs hold
 * no IPv6 pool (engine_id NULL: none). Bad entries are refused with the index and why. */
int ipam_new(const struct ipam_pool_def *defs, size_t n, const char *engine_id, struct ipam **out,
             struct berth_err **err);
void ipam_free(struct ipam *ipam);

/* ---- pools: one subnet of one network (ipam.c) ---- */

struct ipam_aux {
    char *name;
    struct ipam_addr addr;
};

/* One IPAM config entry of a network (dockerd's IpamConf), parsed. */
void ipam_aux_free(struct ipam_aux *aux, size_t n);
/* Copies of src[0..n) appended to *dst (*ndst of them). */
void ipam_aux_append(struct ipam_aux **dst, size_t *ndst, const struct ipam_aux *src, size_t n);

struct ipam_conf {
    struct ipam_prefix subnet; /* family 0: pick one from the predefined pools */
    struct ipam_prefix range;  /* family 0: the whole subnet */
    struct ipam_addr gateway;  /* family 0: the first free address (unless skipped) */
    struct ipam_aux *aux;      /* reserved, never given to an endpoint */
    size_t n_aux;
};
void ipam_conf_clear(struct ipam_conf *c);

struct ipam_subnet; /* the address set, shared by pools of one subnet (see ipam_pool_request) */
struct ipam_ival {
    ipam_u128 lo, hi;
};
struct ipam_set {
    struct ipam_ival *v; /* sorted, disjoint, non-adjacent [lo, hi] */
    size_t n, cap;
};

struct ipam_pool {
    struct ipam_prefix subnet; /* masked */
    struct ipam_prefix range;  /* masked; family 0: none (endpoints get any of the subnet) */
    struct ipam_addr gateway;  /* family 0: none (skip_gateway) */
    struct ipam_aux *aux;
    size_t n_aux;
    bool user_subnet; /* the user chose the subnet: --ip is accepted (dockerd's IsStatic) */
    struct ipam *_ipam;
    struct ipam_subnet *_sn;
    struct ipam_set _mine; /* the endpoint addresses this pool handed out */
};

/* How ipam_pool_request treats its request. */
struct ipam_pool_opts {
    int family;                         /* 4 or 6: which space a dynamic subnet comes from */
    bool skip_gateway;                  /* the driver wants no gateway (dockerd's skipGwAlloc) */
    const struct ipam_prefix *reserved; /* host routes and nameservers, sorted or not: a */
    size_t n_reserved;                  /* dynamic subnet overlaps none of them */
    bool restore; /* a saved pool coming back: no overlap check, not user's unless saved so */
};

/* Reserve a subnet for a network and, within it, the gateway and aux addresses, as dockerd's
 * RequestPool + gateway + aux requests. A subnet given without an ip-range must overlap no
 * other subnet ("invalid pool request: Pool overlaps with other one on this address space",
 * EACCES as dockerd's 403); with an ip-range it is not checked (dockerd's documented quirk,
 * moby#46756) and two networks of one subnet share its addresses, each with its own range.
 * Without a subnet the lowest free /size of the sorted predefined pools is taken that overlaps
 * no subnet in use and nothing in opts->reserved ("all predefined address pools have been fully
 * subnetted", EINVAL). On failure nothing stays reserved. The pool is the caller's until
 * ipam_pool_release. */
int ipam_pool_request(struct ipam *ipam, const struct ipam_conf *conf,
                      const struct ipam_pool_opts *opts, struct ipam_pool **out,
                      struct berth_err **err);
/* Give back everything the pool holds (its addresses, gateway, aux, the subnet when no other
 * pool uses it) and free it. NULL is fine. */
void ipam_pool_release(struct ipam_pool *pool);

/* ---- endpoint addresses (ipam.c) ---- */

/* An address for an endpoint: pref if given (anywhere in the subnet, not only the range, as
 * dockerd), else the lowest free address of the range (dockerd's non-serial AddAny: a released
 * address is given again at once). Errors as dockerd's: "requested address is out of range"
 * (EINVAL), "Address already in use" (EACCES, 403), "no available addresses on this pool"
 * (EAGAIN, 503). Also how addresses saved elsewhere are put back at start-up. */
int ipam_addr_request(struct ipam_pool *pool, const struct ipam_addr *pref, struct ipam_addr *out,
                      struct berth_err **err);
/* Release an address this pool handed out; an address it did not is left alone (0). */
int ipam_addr_release(struct ipam_pool *pool, const struct ipam_addr *a, struct berth_err **err);
bool ipam_addr_in_use(const struct ipam_pool *pool, const struct ipam_addr *a);
/* How many endpoint addresses the pool holds. */
uint64_t ipam_pool_count(const struct ipam_pool *pool);

/* An endpoint's address on a network with several pools of one family, as dockerd's
 * assignAddressVersion: pref goes to the pool whose subnet holds it ("invalid address X: It does
 * not belong to any of this network's subnets", EINVAL); without pref the pools are tried in
 * order, the next when one is full ("no available IPv4 addresses on this network's address
 * pools: NAME (ID)", EIO). *which is the pool's index. */
int ipam_pools_assign(struct ipam_pool *const *pools, size_t n, const struct ipam_addr *pref,
                      const char *net_name, const char *net_id, struct ipam_addr *out,
                      size_t *which, struct berth_err **err);

/* ---- requests checked as dockerd checks them (ipam_config.c) ---- */

/* A network create's IPAM.Config array (Subnet, IPRange, Gateway, AuxiliaryAddresses) checked as
 * dockerd's ValidateIPAM, every problem listed ("invalid network config:\n* invalid ip-range
 * ...", EINVAL), and parsed into v4 and v6 lists (IPv6 entries only when enable_ipv6: dockerd
 * neither checks nor uses them otherwise). config may be NULL (no entry). */
int ipam_conf_parse(const json_t *config, bool enable_ipv6, struct ipam_conf **v4, size_t *n4,
                    struct ipam_conf **v6, size_t *n6, struct berth_err **err);
void ipam_confs_free(struct ipam_conf *c, size_t n);

/* daemon.json "default-address-pools" ([{"base": "10.10.0.0/16", "size": 24}, ...]) into a heap
 * array for ipam_new. */
int ipam_pools_parse(const json_t *arr, struct ipam_pool_def **out, size_t *n,
                     struct berth_err **err);

/* --ip/--ip6 of a container on a network, as dockerd checks them at create: "invalid IPv4
 * address: X", "user specified IP address is supported on user defined networks only" (bridge,
 * host, none), "user specified IP address is supported only when connecting to networks with
 * user configured subnets", "no configured subnet or ip-range contain the IP address X", joined
 * under "invalid endpoint settings:\n" (EINVAL). pools NULL: the network is not known yet (only
 * the first checks). ipv4/ipv6 NULL or "": not asked. */
int ipam_endpoint_check(const char *ipv4, const char *ipv6, bool user_defined,
                        struct ipam_pool *const *pools, size_t n_pools, struct berth_err **err);

/* What stays out of dynamic subnets, as dockerd's InferReservedNetworks: the resolv.conf
 * nameservers and the on-link routes (no gateway, not reject, not default) of /proc/net/route,
 * and for IPv6 also those of /proc/net/ipv6_route (dockerd skips IPv6 routes; berth avoids a
 * ULA /64 the host already uses). Paths, so tests feed files; a file that cannot be read
 * reserves nothing, as in dockerd. Reads files: not on the reactor. *out is a sorted heap array
 * (NULL when empty); returns its length. */
size_t ipam_host_reserved(int family, const char *route_path, const char *route6_path,
                          const char *resolv_path, struct ipam_prefix **out);

/* The default bridge's IPAM config for one family, as dockerd's getDefaultBridgeIPAMConf:
 * bip gives subnet and gateway; else an address already on the bridge (bridge_addrs, as
 * netlink lists them, addr/len) does, chosen as dockerd does with fixed-cidr; fixed-cidr is the
 * range (and the subnet when nothing else gives one); default_gw is the aux address
 * "DefaultGatewayIPv4"/"DefaultGatewayIPv6". Nothing given: a dynamic subnet. */
struct ipam_bridge_opts {
    int family;
    const char *bip;        /* daemon.json "bip" ("bip6"): a CIDR, the bridge's address */
    const char *fixed_cidr; /* "fixed-cidr" ("fixed-cidr-v6") */
    const char *default_gw; /* "default-gateway" ("default-gateway-v6") */
    bool user_managed;      /* daemon.json "bridge": the user's bridge, berth never addresses it */
    const struct ipam_prefix *bridge_addrs;
    size_t n_bridge_addrs;
};
int ipam_bridge_conf(const struct ipam_bridge_opts *o, struct ipam_conf *out,
                     struct berth_err **err);

/* ---- saving (ipam_store.c) ---- */

/* A pool as JSON: its config and, with_addresses, its endpoint addresses as ranges ("a" or
 * "a-b"). Without them it is what a network's own record needs when each container's record
 * keeps its address (the recommended way: no extra write when a container starts). */
json_t *ipam_pool_json(const struct ipam_pool *pool, bool with_addresses);
/* Bring a saved pool back (a restore request: its subnet, gateway and aux again, then its
 * addresses). Nothing stays reserved on failure. */
int ipam_pool_from_json(struct ipam *ipam, const json_t *j, struct ipam_pool **out,
                        struct berth_err **err);
/* A network's pools in one state file, replaced atomically (temp, fsync, rename, fsync dir): a
 * crash leaves the old file or the new, and a torn temp file is never read. Blocking. */
int ipam_state_save(const char *path, struct ipam_pool *const *pools, size_t n,
                    struct berth_err **err);
/* Load what ipam_state_save wrote: heap array of pools. A missing file is ENOENT. */
int ipam_state_load(struct ipam *ipam, const char *path, struct ipam_pool ***out, size_t *n,
                    struct berth_err **err);
