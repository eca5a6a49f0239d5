/* net/network/dns_msg.h — the DNS wire format as the embedded server needs it: a query read
 * (header, the one question, the client's EDNS size), any message checked end to end (names
 * with compression, hostile or not), and replies written (A, AAAA, PTR, any rcode). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN  12
#define DNS_NAME_MAX 255 /* wire bytes, the root label included */
/* A name as text: every byte escaped (\DDD) at worst, and the dots. */
#define DNS_TEXT_MAX (4 * DNS_NAME_MAX)
#define DNS_UDP_MIN  512 /* what a client without EDNS accepts over UDP */
#define DNS_MSG_MAX  65535
#define DNS_CLASS_IN 1
#define DNS_PORT     53

enum dns_type {
    DNS_T_A = 1,
    DNS_T_NS = 2,
    DNS_T_CNAME = 5,
    DNS_T_SOA = 6,
    DNS_T_PTR = 12,
    DNS_T_MX = 15,
    DNS_T_AAAA = 28,
    DNS_T_SRV = 33,
    DNS_T_OPT = 41,
};

enum dns_rcode {
    DNS_RC_NOERROR = 0,
    DNS_RC_FORMERR = 1,
    DNS_RC_SERVFAIL = 2,
    DNS_RC_NXDOMAIN = 3,
    DNS_RC_NOTIMP = 4,
    DNS_RC_REFUSED = 5,
};

/* Header flag bits (host order). */
#define DNS_F_QR      0x8000
#define DNS_F_OPCODE  0x7800
#define DNS_F_AA      0x0400
#define DNS_F_TC      0x0200
#define DNS_F_RD      0x0100
#define DNS_F_RA      0x0080
#define DNS_F_AD      0x0020
#define DNS_F_CD      0x0010
#define DNS_F_RCODE   0x000f
#define DNS_OPCODE(f) (((f) >> 11) & 0xf)
#define DNS_OP_QUERY  0
#define DNS_OP_NOTIFY 4

struct dns_header {
    uint16_t id, flags, qdcount, ancount, nscount, arcount;
};

struct dns_question {
    uint8_t wire[DNS_NAME_MAX]; /* uncompressed, with the root label */
    uint8_t wire_len;
    uint16_t type, qclass;
};

struct dns_query {
    struct dns_header h;
    struct dns_question q;
    uint16_t udp_size; /* the client's EDNS UDP size; DNS_UDP_MIN without (or below it) */
    bool edns;
};

/* Read the header; false when fewer than DNS_HDR_LEN bytes. */
bool dns_header_read(const uint8_t *msg, size_t len, struct dns_header *h);

/* Read a query as dockerd's DNS library accepts one: a response, or anything shorter than a
 * header, is dropped (returns < 0: no reply, a reply could amplify); an opcode other than QUERY
 * or NOTIFY gets NOTIMP, and a question count other than one, more records than a query
 * carries, or a message that does not parse to its end gets FORMERR (returns that rcode > 0;
 * q->h is filled). 0: q is the query. */
int dns_query_parse(const uint8_t *msg, size_t len, struct dns_query *q);

/* Check a whole message: every name (compression pointers must point back past the header,
 * each further back than the last, so loops cannot be made), every record inside its bounds,
 * names inside the rdata of the types that carry them. As dockerd's library, it tolerates
 * bytes after the last record, and counts above what a message holds when it ends between two
 * records (a truncated reply). Fills h. 0 or -EBADMSG. */
int dns_msg_check(const uint8_t *msg, size_t len, struct dns_header *h);

/* Does msg (checked) carry exactly the question q (names compared without case)? */
bool dns_msg_has_question(const uint8_t *msg, size_t len, const struct dns_question *q);

/* Read the name at *off (following pointers), write its uncompressed wire form to wire
 * (DNS_NAME_MAX bytes) and move *off past it. 0 or -EBADMSG: truncated, a label over 63 bytes
 * or of a reserved kind, a name over 255 bytes, a pointer forward, into the header or into a
 * loop. */
int dns_name_read(const uint8_t *msg, size_t len, size_t *off, uint8_t *wire, size_t *wire_len);
/* The name as text, labels joined by dots, no trailing dot ("" for the root), bytes other than
 * letters, digits, '-' and '_' escaped as \DDD (a dot inside a label too), letters lowered when
 * lower. out holds DNS_TEXT_MAX + 1. Returns the length. */
size_t dns_name_text(const uint8_t *wire, size_t wire_len, bool lower, char *out);
/* A plain dotted name (a trailing dot allowed) to wire form; -EINVAL when a label is empty or
 * over 63 bytes, or the whole over 255. Returns the wire length. */
int dns_name_from_text(const char *text, uint8_t *wire);

/* ---- replies ---- */

struct dns_reply {
    uint8_t *buf;
    size_t len, limit; /* limit: what the client takes (UDP size, or DNS_MSG_MAX over TCP) */
    uint16_t ancount;
    bool truncated;
};

/* Start the reply to q in buf (DNS_MSG_MAX bytes, or at least limit): the header as dockerd's
 * library sets it (id, QR, opcode, RD and CD copied for a query), the rcode, RA when ra, and the
 * question copied (the answers point at its name). */
void dns_reply_start(struct dns_reply *r, uint8_t *buf, size_t limit, const struct dns_query *q,
                     enum dns_rcode rcode, bool ra);
/* Add an answer for the question's name. A record that does not fit in the limit is left out
 * and sets TC, as an authoritative server truncates: false then. */
bool dns_reply_add_addr(struct dns_reply *r, enum dns_type type, const void *addr, uint32_t ttl);
bool dns_reply_add_ptr(struct dns_reply *r, const uint8_t *target_wire, size_t target_len,
                       uint32_t ttl);
/* Write the counts; returns the length. */
size_t dns_reply_finish(struct dns_reply *r);

/* A header-only refusal (FORMERR or NOTIMP) to a query whose header is h, as dockerd's library
 * sends it: the id, QR, RD and CD kept, opcode QUERY for FORMERR, no question. 12 bytes. */
size_t dns_reply_header_only(uint8_t *buf, const struct dns_header *h, enum dns_rcode rcode);

/* Big-endian helpers shared by the server. */
static inline uint16_t dns_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static inline void dns_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
