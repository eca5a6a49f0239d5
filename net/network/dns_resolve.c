/* net/network/dns_resolve.c — the embedded DNS server's decisions, after dockerd's
 * libnetwork/resolver.go (serveDNS and its handlers): local answers with TTL 600 and RA set,
 * shuffled, cut to what the client takes; unknown names forwarded. */
#include "net/network/dns_resolve.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>

/* ---- PTR names ---- */

static bool ends_with(const char *s, size_t len, const char *suffix, size_t *stem)
{
    size_t sl = strlen(suffix);
    if (len < sl || strcasecmp(s + len - sl, suffix) != 0)
        return false;
    *stem = len - sl;
    return true;
}

/* "d.c.b.a": four decimal labels, no leading zeros (what dockerd's reversed text would be). */
static bool parse_v4(const char *s, size_t len, struct in_addr *out)
{
    uint8_t b[4];
    size_t i = 0;
    for (int k = 3; k >= 0; k--) {
        unsigned v = 0, digits = 0;
        for (; i < len && isdigit((unsigned char)s[i]); i++, digits++)
            v = v * 10 + (unsigned)(s[i] - '0');
        if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && s[i - digits] == '0'))
            return false;
        b[k] = (uint8_t)v;
        if (k > 0 && (i >= len || s[i++] != '.'))
            return false;
    }
    if (i != len)
        return false;
    memcpy(out, b, 4);
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* 32 single-nibble labels, least significant first. */
static bool parse_v6(const char *s, size_t len, struct in6_addr *out)
{
    if (len != 63)
        return false;
    for (int n = 0; n < 32; n++) {
        int v = hexval(s[2 * n]);
        if (v < 0 || (n < 31 && s[2 * n + 1] != '.'))
            return false;
        int byte = 15 - n / 2;
        if (n % 2 == 0)
            out->s6_addr[byte] = (uint8_t)v;
        else
            out->s6_addr[byte] |= (uint8_t)(v << 4);
    }
    return true;
}

bool dns_ptr_name_addr(const char *name, struct dns_addr *a)
{
    size_t len = strlen(name), stem;
    memset(a, 0, sizeof(*a));
    if (ends_with(name, len, ".in-addr.arpa", &stem)) {
        a->family = AF_INET;
        return parse_v4(name, stem, &a->v4);
    }
    if (ends_with(name, len, ".ip6.arpa", &stem)) {
        a->family = AF_INET6;
        return parse_v6(name, stem, &a->v6);
    }
    return false;
}

/* ---- answers ---- */

/* dockerd shuffles the addresses so clients that take the first spread over them. A weak
 * generator is enough for that; it is seeded once per thread. */
static uint32_t next_random(void)
{
    static _Thread_local uint64_t s;
    if (s == 0 && (getrandom(&s, sizeof(s), GRND_NONBLOCK) != sizeof(s) || s == 0))
        s = 0x9e3779b97f4a7c15ull;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return (uint32_t)(s >> 32);
}

static void shuffle(struct dns_addr *a, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(next_random() % (uint32_t)(i + 1));
        struct dns_addr t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* The size a local answer may take: 512 over UDP unless EDNS says more, 64 KiB over TCP. */
static size_t reply_limit(const struct dns_query *q, bool tcp)
{
    return tcp ? DNS_MSG_MAX : q->udp_size;
}

/* A and AAAA: the name's addresses, or an empty NOERROR when it is known without one of that
 * family; false when it is not known. */
static bool answer_addr(const struct dns_lookup *lk, const struct dns_query *q, const char *name,
                        bool tcp, uint8_t *out, size_t *out_len)
{
    struct dns_addr addrs[DNS_MAX_ADDRS];
    int family = q->q.type == DNS_T_A ? AF_INET : AF_INET6;
    int n = lk->name(lk->ctx, name, family, addrs, DNS_MAX_ADDRS);
    if (n < 0)
        return false;
    shuffle(addrs, n);
    struct dns_reply r;
    dns_reply_start(&r, out, reply_limit(q, tcp), q, DNS_RC_NOERROR, true);
    for (int i = 0; i < n && addrs[i].family == family; i++)
        if (!dns_reply_add_addr(&r, (enum dns_type)q->q.type, &addrs[i].v4, DNS_TTL))
            break;
    *out_len = dns_reply_finish(&r);
    return true;
}

/* MX for a name that has an address: NOERROR with no record, so a mail client falls back to
 * the address (RFC 5321 5.1, "implicit MX"), as dockerd answers. */
static bool answer_mx(const struct dns_lookup *lk, const struct dns_query *q, const char *name,
                      bool tcp, uint8_t *out, size_t *out_len)
{
    struct dns_addr a;
    if (lk->name(lk->ctx, name, AF_INET, &a, 1) <= 0 &&
        lk->name(lk->ctx, name, AF_INET6, &a, 1) <= 0)
        return false;
    struct dns_reply r;
    dns_reply_start(&r, out, reply_limit(q, tcp), q, DNS_RC_NOERROR, true);
    *out_len = dns_reply_finish(&r);
    return true;
}

static bool answer_ptr(const struct dns_lookup *lk, const struct dns_query *q, const char *name,
                       bool tcp, uint8_t *out, size_t *out_len)
{
    struct dns_addr a;
    if (!dns_ptr_name_addr(name, &a))
        return false;
    const char *host = lk->addr(lk->ctx, &a);
    uint8_t wire[DNS_NAME_MAX];
    int wl = host ? dns_name_from_text(host, wire) : -1;
    if (wl < 0)
        return false; /* unknown here (or unwritable): maybe the upstream resolvers know it */
    struct dns_reply r;
    dns_reply_start(&r, out, reply_limit(q, tcp), q, DNS_RC_NOERROR, true);
    dns_reply_add_ptr(&r, wire, (size_t)wl, DNS_TTL);
    *out_len = dns_reply_finish(&r);
    return true;
}

enum dns_verdict dns_resolve(const struct dns_lookup *lk, const uint8_t *msg, size_t len, bool tcp,
                             struct dns_query *q, uint8_t *out, size_t *out_len)
{
    int rc = dns_query_parse(msg, len, q);
    if (rc < 0)
        return DNS_DROP;
    if (rc > 0) {
        *out_len = dns_reply_header_only(out, &q->h, (enum dns_rcode)rc);
        return DNS_REPLY;
    }
    char name[DNS_TEXT_MAX + 1];
    dns_name_text(q->q.wire, q->q.wire_len, true, name);
    bool local = false;
    switch (q->q.type) { /* whatever the class, as dockerd */
    case DNS_T_A:
    case DNS_T_AAAA:
        local = answer_addr(lk, q, name, tcp, out, out_len);
        break;
    case DNS_T_MX:
        local = answer_mx(lk, q, name, tcp, out, out_len);
        break;
    case DNS_T_PTR:
        local = answer_ptr(lk, q, name, tcp, out, out_len);
        break;
    default:
        break; /* SRV (no services here) and the rest: the upstream resolvers' */
    }
    if (local)
        return DNS_REPLY;
    /* With ndots set, a single-label name is not sent out: the empty answer makes the client
     * try it with its search domains (dockerd's rule). */
    if ((q->q.type == DNS_T_A || q->q.type == DNS_T_AAAA) && lk->ndots_set && !strchr(name, '.')) {
        struct dns_reply r;
        dns_reply_start(&r, out, reply_limit(q, tcp), q, DNS_RC_NOERROR, true);
        *out_len = dns_reply_finish(&r);
        return DNS_REPLY;
    }
    return DNS_FORWARD;
}

size_t dns_resolve_fail(const struct dns_query *q, enum dns_rcode rcode, uint8_t *out)
{
    struct dns_reply r;
    dns_reply_start(&r, out, DNS_UDP_MIN, q, rcode, false);
    return dns_reply_finish(&r);
}
