/* net/network/dns_names.h — the names one user network answers inside its containers, as
 * dockerd keeps them (svcRecords): each endpoint's DNS names (container name, aliases, short ID,
 * hostname; the first one names its addresses for PTR as "name.network") to its addresses.
 * A container's lookups run over the networks it is on, with dockerd's rule for dotted names. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "net/network/dns_resolve.h"

struct dns_names;

struct dns_names *dns_names_new(const char *network);
void dns_names_free(struct dns_names *n);

/* An endpoint joins (or leaves) the network: names[0..count) map to v4 and v6 (either may be
 * NULL), and names[0] is what its addresses resolve back to. Names match without case. Two
 * endpoints may share a name (an alias): it answers with both addresses. Remove with the same
 * arguments. */
void dns_names_add(struct dns_names *n, const char *const *names, size_t count,
                   const struct in_addr *v4, const struct in6_addr *v6);
void dns_names_del(struct dns_names *n, const char *const *names, size_t count,
                   const struct in_addr *v4, const struct in6_addr *v6);

/* struct dns_lookup's name(), over the networks nets[0..n) a container is on. "a.b.c" is
 * looked up as itself on every network, then as "a.b" on network "c", then as "a" on network
 * "b.c" (dockerd's Sandbox.ResolveName), the first network that knows it answering. */
int dns_names_resolve(struct dns_names *const *nets, size_t n, const char *name, int family,
                      struct dns_addr *out, int max);
/* struct dns_lookup's addr(): "name.network" of the first network that knows a, or NULL. */
const char *dns_names_reverse(struct dns_names *const *nets, size_t n, const struct dns_addr *a);

/* A container's networks, as the struct dns_lookup its server asks (ctx = v, which must outlive
 * the server; the engine edits nets as the container connects and disconnects). */
struct dns_names_view {
    struct dns_names **nets;
    size_t n;
    /* its legacy links there (--link NAME:ALIAS): ALIAS is looked up as NAME, for it alone */
    const char *const *link_alias, *const *link_name;
    size_t nlinks;
};
struct dns_lookup dns_names_lookup(struct dns_names_view *v, bool ndots_set);
