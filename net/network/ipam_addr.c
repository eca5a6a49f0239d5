/* net/network/ipam_addr.c — addresses and prefixes as numbers: parsed and printed as Go's
 * net/netip does (dockerd's words quote them), masked, compared, contained, overlapping. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/network/ipam.h"

static ipam_u128 host_mask(int family, int bits)
{
    int host = ipam_family_bits(family) - bits;
    return host >= 128 ? ~(ipam_u128)0 : ((ipam_u128)1 << host) - 1;
}

struct ipam_addr ipam_addr_from_bytes(int family, const void *bytes)
{
    const uint8_t *b = bytes;
    struct ipam_addr a = {.family = (uint8_t)family};
    for (int i = 0; i < (family == 6 ? 16 : 4); i++)
        a.v = a.v << 8 | b[i];
    return a;
}

size_t ipam_addr_bytes(const struct ipam_addr *a, uint8_t out[16])
{
    size_t n = a->family == 6 ? 16 : 4;
    ipam_u128 v = a->v;
    for (size_t i = n; i-- > 0; v >>= 8)
        out[i] = (uint8_t)v;
    return n;
}

bool ipam_addr_parse(const char *s, struct ipam_addr *out)
{
    uint8_t b[16];
    /* glibc's inet_pton takes exactly what netip.ParseAddr takes (no leading zeros in a quad,
     * no shortened quads, no zone), except that netip also takes a zone, which no IPAM input
     * may carry. */
    if (inet_pton(AF_INET, s, b) == 1) {
        *out = ipam_addr_from_bytes(4, b);
        return true;
    }
    if (strchr(s, ':') && inet_pton(AF_INET6, s, b) == 1) {
        *out = ipam_addr_from_bytes(6, b);
        return true;
    }
    return false;
}

bool ipam_prefix_parse(const char *s, struct ipam_prefix *out)
{
    const char *slash = strrchr(s, '/');
    if (!slash || slash - s >= IPAM_ADDR_STRLEN)
        return false;
    char addr[IPAM_ADDR_STRLEN];
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    const char *d = slash + 1;
    /* netip: decimal digits only, no sign, no leading zero but "0" itself */
    size_t nd = strspn(d, "0123456789");
    if (nd == 0 || nd > 3 || d[nd] != '\0' || (d[0] == '0' && nd > 1))
        return false;
    int bits = atoi(d);
    struct ipam_addr a;
    if (!ipam_addr_parse(addr, &a) || bits > ipam_family_bits(a.family))
        return false;
    *out = (struct ipam_prefix){.addr = a, .bits = (uint8_t)bits};
    return true;
}

char *ipam_addr_fmt(const struct ipam_addr *a, char buf[IPAM_ADDR_STRLEN])
{
    uint8_t b[16];
    ipam_addr_bytes(a, b);
    if (!a->family || !inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, b, buf, IPAM_ADDR_STRLEN))
        strcpy(buf, "invalid IP");
    return buf;
}

char *ipam_prefix_fmt(const struct ipam_prefix *p, char buf[IPAM_PREFIX_STRLEN])
{
    char a[IPAM_ADDR_STRLEN];
    snprintf(buf, IPAM_PREFIX_STRLEN, "%s/%u", ipam_addr_fmt(&p->addr, a), p->bits);
    return buf;
}

struct ipam_addr ipam_addr_unmap(struct ipam_addr a)
{
    if (a.family == 6 && a.v >> 32 == 0xffff)
        return (struct ipam_addr){.family = 4, .v = a.v & 0xffffffffu};
    return a;
}

int ipam_addr_cmp(const struct ipam_addr *a, const struct ipam_addr *b)
{
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    return a->v < b->v ? -1 : a->v > b->v;
}

int ipam_prefix_cmp(const struct ipam_prefix *a, const struct ipam_prefix *b)
{
    int c = ipam_addr_cmp(&a->addr, &b->addr);
    return c ? c : (int)a->bits - (int)b->bits;
}

bool ipam_addr_eq(const struct ipam_addr *a, const struct ipam_addr *b)
{
    return ipam_addr_cmp(a, b) == 0;
}

bool ipam_prefix_eq(const struct ipam_prefix *a, const struct ipam_prefix *b)
{
    return ipam_prefix_cmp(a, b) == 0;
}

struct ipam_prefix ipam_prefix_masked(struct ipam_prefix p)
{
    p.addr.v &= ~host_mask(p.addr.family, p.bits);
    return p;
}

bool ipam_prefix_is_masked(const struct ipam_prefix *p)
{
    return (p->addr.v & host_mask(p->addr.family, p->bits)) == 0;
}

struct ipam_addr ipam_prefix_first(const struct ipam_prefix *p)
{
    return ipam_prefix_masked(*p).addr;
}

struct ipam_addr ipam_prefix_last(const struct ipam_prefix *p)
{
    struct ipam_addr a = p->addr;
    a.v |= host_mask(a.family, p->bits);
    return a;
}

bool ipam_prefix_contains(const struct ipam_prefix *p, const struct ipam_addr *a)
{
    return p->addr.family && a->family == p->addr.family &&
           (a->v & ~host_mask(a->family, p->bits)) == (p->addr.v & ~host_mask(a->family, p->bits));
}

bool ipam_prefix_overlaps(const struct ipam_prefix *a, const struct ipam_prefix *b)
{
    if (!a->addr.family || a->addr.family != b->addr.family)
        return false;
    /* two prefixes overlap exactly when the shorter one contains the other's address */
    return ipam_prefix_contains(a->bits <= b->bits ? a : b,
                                a->bits <= b->bits ? &b->addr : &a->addr);
}
