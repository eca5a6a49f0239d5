/* net/network/dns_resolve.h — what the embedded DNS server answers, as dockerd's resolver does:
 * A and AAAA for the names of the querying container's networks, PTR for their addresses, an
 * empty MX for a known name; everything else goes to the upstream resolvers. Pure: the names
 * come through a lookup the caller provides, and nothing here does I/O. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/network/dns_msg.h"

#define DNS_TTL 600 /* dockerd's respTTL for local answers */
/* Addresses one answer may carry (an alias shared by many containers); the reply limit cuts
 * them further, with TC set. */
#define DNS_MAX_ADDRS 256

struct dns_addr {
    int family; /* AF_INET or AF_INET6 */
    union {
        struct in_addr v4;
        struct in6_addr v6;
    };
};

/* The querying container's view of names: its networks are the caller's business. */
struct dns_lookup {
    /* Addresses of family (AF_INET, AF_INET6) for name (lower case, no trailing dot) into
     * out[0..max): their count, 0 when the name is known without one of that family (answered
     * NOERROR with no records), or -1 when it is not known (forwarded). */
    int (*name)(void *ctx, const char *name, int family, struct dns_addr *out, int max);
    /* The dotted name of a, e.g. "web.mynet", or NULL when unknown (forwarded). Valid until the
     * next call. */
    const char *(*addr)(void *ctx, const struct dns_addr *a);
    void *ctx;
    /* The container's resolv.conf sets ndots (--dns-option ndots:N): a single-label A/AAAA
     * name that is not local is then answered empty rather than forwarded, so the client goes
     * on with its search domains. */
    bool ndots_set;
};

enum dns_verdict {
    DNS_DROP,    /* send nothing (not a query, or a header too short to answer) */
    DNS_REPLY,   /* reply with the bytes written to out */
    DNS_FORWARD, /* ask the upstream resolvers; q is the parsed query */
};

/* Decide what to do with the query msg[0..len) that came over TCP (tcp) or UDP. out holds
 * DNS_MSG_MAX bytes; a UDP reply is cut to the client's EDNS size (512 without), with TC set,
 * and the client retries over TCP. q is filled for DNS_FORWARD and DNS_REPLY. */
enum dns_verdict dns_resolve(const struct dns_lookup *lk, const uint8_t *msg, size_t len, bool tcp,
                             struct dns_query *q, uint8_t *out, size_t *out_len);

/* The reply to q with rcode and no answers (SERVFAIL when no upstream answers, REFUSED when
 * too many queries are in flight), as dockerd sends them: RA clear. Returns the length. */
size_t dns_resolve_fail(const struct dns_query *q, enum dns_rcode rcode, uint8_t *out);

/* The address a PTR name stands for ("4.3.2.1.in-addr.arpa", 32 nibbles and "ip6.arpa"),
 * case-insensitive, without trailing dot; false for any other name. */
bool dns_ptr_name_addr(const char *name, struct dns_addr *a);
