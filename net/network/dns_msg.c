/* net/network/dns_msg.c — DNS messages read and written for the embedded server. Every read is
 * bounded by the message length; nothing is trusted, whether it comes from a container or from
 * an upstream resolver. */
#include "net/network/dns_msg.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

/* Pointers a name may follow. Each must go further back than the last, which alone ends any
 * chain; the cap is a second guard. */
#define MAX_JUMPS 64

bool dns_header_read(const uint8_t *msg, size_t len, struct dns_header *h)
{
    if (len < DNS_HDR_LEN)
        return false;
    h->id = dns_get16(msg);
    h->flags = dns_get16(msg + 2);
    h->qdcount = dns_get16(msg + 4);
    h->ancount = dns_get16(msg + 6);
    h->nscount = dns_get16(msg + 8);
    h->arcount = dns_get16(msg + 10);
    return true;
}

/* ---- names ---- */

int dns_name_read(const uint8_t *msg, size_t len, size_t *off, uint8_t *wire, size_t *wire_len)
{
    size_t pos = *off, bound = *off, out = 0, after = 0;
    int jumps = 0;
    for (;;) {
        if (pos >= len)
            return -EBADMSG;
        uint8_t c = msg[pos];
        if ((c & 0xc0) == 0xc0) {
            if (pos + 1 >= len)
                return -EBADMSG;
            size_t target = (size_t)(c & 0x3f) << 8 | msg[pos + 1];
            if (target < DNS_HDR_LEN || target >= bound || ++jumps > MAX_JUMPS)
                return -EBADMSG;
            if (jumps == 1)
                after = pos + 2;
            pos = bound = target;
            continue;
        }
        if (c & 0xc0)
            return -EBADMSG; /* 0x40 and 0x80: extended and reserved label kinds */
        if (c == 0) {
            wire[out++] = 0;
            pos++;
            break;
        }
        if (pos + 1 + c > len || out + 1 + c + 1 > DNS_NAME_MAX)
            return -EBADMSG;
        memcpy(wire + out, msg + pos, 1 + (size_t)c);
        out += 1 + (size_t)c;
        pos += 1 + (size_t)c;
    }
    *off = jumps ? after : pos;
    *wire_len = out;
    return 0;
}

static bool plain_byte(uint8_t c)
{
    return isalnum(c) || c == '-' || c == '_';
}

size_t dns_name_text(const uint8_t *wire, size_t wire_len, bool lower, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < wire_len && wire[i] != 0;) {
        uint8_t l = wire[i++];
        if (n > 0)
            out[n++] = '.';
        for (uint8_t k = 0; k < l && i < wire_len; k++, i++) {
            uint8_t c = wire[i];
            if (!plain_byte(c)) {
                out[n++] = '\\';
                out[n++] = (char)('0' + c / 100);
                out[n++] = (char)('0' + c / 10 % 10);
                out[n++] = (char)('0' + c % 10);
            } else {
                out[n++] = (char)(lower ? tolower(c) : c);
            }
        }
    }
    out[n] = 0;
    return n;
}

int dns_name_from_text(const char *text, uint8_t *wire)
{
    size_t out = 0;
    const char *p = text;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l == 0 || l > 63 || out + 1 + l + 1 > DNS_NAME_MAX)
            return -EINVAL;
        wire[out++] = (uint8_t)l;
        memcpy(wire + out, p, l);
        out += l;
        if (!dot)
            break;
        p = dot + 1;
    }
    wire[out++] = 0;
    return (int)out;
}

/* ---- whole messages ---- */

static int skip_name(const uint8_t *msg, size_t len, size_t *off)
{
    uint8_t wire[DNS_NAME_MAX];
    size_t wl;
    return dns_name_read(msg, len, off, wire, &wl);
}

/* The names inside a record's data, for the types that carry them: a bad pointer there is as
 * hostile as one in an owner name. */
static int check_rdata(const uint8_t *msg, uint16_t type, size_t off, size_t end)
{
    size_t skip = 0;
    int names = 1;
    switch (type) {
    case DNS_T_NS:
    case DNS_T_CNAME:
    case DNS_T_PTR:
        break;
    case DNS_T_MX:
        skip = 2;
        break;
    case DNS_T_SRV:
        skip = 6;
        break;
    case DNS_T_SOA:
        names = 2;
        break;
    default:
        return 0;
    }
    off += skip;
    for (int i = 0; i < names; i++)
        if (off > end || skip_name(msg, end, &off) < 0)
            return -EBADMSG;
    if (type == DNS_T_SOA)
        off += 20; /* serial, refresh, retry, expire, minimum */
    return off == end ? 0 : -EBADMSG;
}

struct walk {
    bool edns;
    uint16_t udp_size;
};

/* Walk count records from *off. As dockerd's library does, counts larger than what the
 * message holds are tolerated when it ends between two records (a truncated reply); a record
 * cut in the middle is not. */
static int walk_records(const uint8_t *msg, size_t len, size_t *off, unsigned count, bool extra,
                        struct walk *w)
{
    for (unsigned i = 0; i < count && *off < len; i++) {
        size_t start = *off;
        if (skip_name(msg, len, off) < 0 || *off + 10 > len)
            return -EBADMSG;
        uint16_t type = dns_get16(msg + *off), rclass = dns_get16(msg + *off + 2);
        size_t rdlen = dns_get16(msg + *off + 8);
        size_t rdata = *off + 10;
        if (rdata + rdlen > len || check_rdata(msg, type, rdata, rdata + rdlen) < 0)
            return -EBADMSG;
        if (extra && type == DNS_T_OPT && w) {
            if (msg[start] != 0) /* OPT belongs to the root */
                return -EBADMSG;
            w->edns = true;
            w->udp_size = rclass;
        }
        *off = rdata + rdlen;
    }
    return 0;
}

static int read_question(const uint8_t *msg, size_t len, size_t *off, struct dns_question *q)
{
    size_t wl;
    if (dns_name_read(msg, len, off, q->wire, &wl) < 0 || *off + 4 > len)
        return -EBADMSG;
    q->wire_len = (uint8_t)wl;
    q->type = dns_get16(msg + *off);
    q->qclass = dns_get16(msg + *off + 2);
    *off += 4;
    return 0;
}

/* Trailing bytes after the last record are ignored, as dockerd's library ignores them. */
static int walk_message(const uint8_t *msg, size_t len, const struct dns_header *h, size_t off,
                        struct walk *w)
{
    if (walk_records(msg, len, &off, h->ancount, false, w) < 0 ||
        walk_records(msg, len, &off, h->nscount, false, w) < 0 ||
        walk_records(msg, len, &off, h->arcount, true, w) < 0)
        return -EBADMSG;
    return 0;
}

int dns_query_parse(const uint8_t *msg, size_t len, struct dns_query *q)
{
    memset(&q->h, 0, sizeof(q->h));
    q->q.wire_len = 0;
    q->udp_size = DNS_UDP_MIN;
    q->edns = false;
    if (!dns_header_read(msg, len, &q->h) || (q->h.flags & DNS_F_QR))
        return -EBADMSG;
    int op = DNS_OPCODE(q->h.flags);
    if (op != DNS_OP_QUERY && op != DNS_OP_NOTIFY)
        return DNS_RC_NOTIMP;
    if (q->h.qdcount != 1 || q->h.ancount > 1 || q->h.nscount > 1 || q->h.arcount > 2)
        return DNS_RC_FORMERR;
    size_t off = DNS_HDR_LEN;
    struct walk w = {0};
    if (read_question(msg, len, &off, &q->q) < 0 || walk_message(msg, len, &q->h, off, &w) < 0)
        return DNS_RC_FORMERR;
    q->edns = w.edns;
    if (w.edns && w.udp_size > DNS_UDP_MIN)
        q->udp_size = w.udp_size;
    return 0;
}

int dns_msg_check(const uint8_t *msg, size_t len, struct dns_header *h)
{
    if (!dns_header_read(msg, len, h))
        return -EBADMSG;
    size_t off = DNS_HDR_LEN;
    for (unsigned i = 0; i < h->qdcount && off < len; i++) {
        struct dns_question q;
        if (read_question(msg, len, &off, &q) < 0)
            return -EBADMSG;
    }
    return walk_message(msg, len, h, off, NULL);
}

static bool same_name(const uint8_t *a, const uint8_t *b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (tolower(a[i]) != tolower(b[i]))
            return false;
    return true;
}

bool dns_msg_has_question(const uint8_t *msg, size_t len, const struct dns_question *q)
{
    struct dns_header h;
    struct dns_question got;
    size_t off = DNS_HDR_LEN;
    if (!dns_header_read(msg, len, &h) || h.qdcount != 1 || read_question(msg, len, &off, &got) < 0)
        return false;
    /* Label lengths are below 64, so lowering every byte never confuses one with a letter. */
    return got.wire_len == q->wire_len && same_name(got.wire, q->wire, q->wire_len) &&
           got.type == q->type && got.qclass == q->qclass;
}

/* ---- replies ---- */

void dns_reply_start(struct dns_reply *r, uint8_t *buf, size_t limit, const struct dns_query *q,
                     enum dns_rcode rcode, bool ra)
{
    uint16_t op = q->h.flags & DNS_F_OPCODE;
    uint16_t flags = DNS_F_QR | op | (uint16_t)rcode | (ra ? DNS_F_RA : 0);
    if (DNS_OPCODE(q->h.flags) == DNS_OP_QUERY)
        flags |= q->h.flags & (DNS_F_RD | DNS_F_CD);
    *r = (struct dns_reply){.buf = buf, .limit = limit < DNS_UDP_MIN ? DNS_UDP_MIN : limit};
    dns_put16(buf, q->h.id);
    dns_put16(buf + 2, flags);
    dns_put16(buf + 4, 1);
    memset(buf + 6, 0, 6);
    memcpy(buf + DNS_HDR_LEN, q->q.wire, q->q.wire_len);
    r->len = DNS_HDR_LEN + q->q.wire_len;
    dns_put16(buf + r->len, q->q.type);
    dns_put16(buf + r->len + 2, q->q.qclass);
    r->len += 4;
}

/* The owner of every answer is the question's name: a pointer to it. */
static bool add_record(struct dns_reply *r, uint16_t type, uint32_t ttl, const void *rdata,
                       size_t rdlen)
{
    if (r->len + 12 + rdlen > r->limit) {
        r->truncated = true;
        return false;
    }
    uint8_t *p = r->buf + r->len;
    dns_put16(p, 0xc000 | DNS_HDR_LEN);
    dns_put16(p + 2, type);
    dns_put16(p + 4, DNS_CLASS_IN);
    dns_put16(p + 6, (uint16_t)(ttl >> 16));
    dns_put16(p + 8, (uint16_t)ttl);
    dns_put16(p + 10, (uint16_t)rdlen);
    memcpy(p + 12, rdata, rdlen);
    r->len += 12 + rdlen;
    r->ancount++;
    return true;
}

bool dns_reply_add_addr(struct dns_reply *r, enum dns_type type, const void *addr, uint32_t ttl)
{
    return add_record(r, (uint16_t)type, ttl, addr, type == DNS_T_AAAA ? 16 : 4);
}

bool dns_reply_add_ptr(struct dns_reply *r, const uint8_t *target_wire, size_t target_len,
                       uint32_t ttl)
{
    return add_record(r, DNS_T_PTR, ttl, target_wire, target_len);
}

size_t dns_reply_finish(struct dns_reply *r)
{
    dns_put16(r->buf + 6, r->ancount);
    if (r->truncated)
        dns_put16(r->buf + 2, dns_get16(r->buf + 2) | DNS_F_TC);
    return r->len;
}

size_t dns_reply_header_only(uint8_t *buf, const struct dns_header *h, enum dns_rcode rcode)
{
    uint16_t keep = h->flags & (DNS_F_TC | DNS_F_RD | DNS_F_RA | DNS_F_AD | DNS_F_CD);
    uint16_t op = rcode == DNS_RC_NOTIMP ? (h->flags & DNS_F_OPCODE) : 0;
    memset(buf, 0, DNS_HDR_LEN);
    dns_put16(buf, h->id);
    dns_put16(buf + 2, DNS_F_QR | op | keep | (uint16_t)rcode);
    return DNS_HDR_LEN;
}
