/* tests/net/network/test_dns_msg.c — net/network/dns_msg.c: queries read as dockerd's library
 * reads them (a table of valid ones and one of hostile ones: compression loops, pointers out of
 * range or forward, truncation, labels over 63, names over 255), whole replies checked (with
 * compressed names in answers and rdata), and replies written byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/macros.h"
#include "net/network/dns_msg.h"

/* ---- building test packets ---- */

struct pkt {
    uint8_t b[1024];
    size_t n;
};

static void put(struct pkt *p, const void *d, size_t n)
{
    memcpy(p->b + p->n, d, n);
    p->n += n;
}

static void put16(struct pkt *p, uint16_t v)
{
    dns_put16(p->b + p->n, v);
    p->n += 2;
}

static void put_name(struct pkt *p, const char *text)
{
    uint8_t wire[DNS_NAME_MAX];
    int n = dns_name_from_text(text, wire);
    assert_true(n > 0);
    put(p, wire, (size_t)n);
}

static void header(struct pkt *p, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an,
                   uint16_t ns, uint16_t ar)
{
    p->n = 0;
    put16(p, id);
    put16(p, flags);
    put16(p, qd);
    put16(p, an);
    put16(p, ns);
    put16(p, ar);
}

/* A query for name/type (class IN), with an OPT record of udp_size when it is not 0. */
static void query(struct pkt *p, uint16_t id, const char *name, uint16_t type, uint16_t udp_size)
{
    header(p, id, DNS_F_RD, 1, 0, 0, udp_size ? 1 : 0);
    put_name(p, name);
    put16(p, type);
    put16(p, DNS_CLASS_IN);
    if (udp_size) {
        uint8_t opt[] = {0, 0, DNS_T_OPT, 0, 0, 0,
                         0, 0, 0,         0, 0}; /* root, type, class, TTL, rdlen */
        dns_put16(opt + 3, udp_size);
        put(p, opt, sizeof(opt));
    }
}

static void check_text(const struct dns_question *q, const char *want)
{
    char text[DNS_TEXT_MAX + 1];
    dns_name_text(q->wire, q->wire_len, true, text);
    assert_string_equal(text, want);
}

/* ---- queries ---- */

static void test_query_valid(void **state)
{
    (void)state;
    struct pkt p;
    struct dns_query q;

    query(&p, 0x1234, "Web.Example", DNS_T_A, 0);
    assert_int_equal(dns_query_parse(p.b, p.n, &q), 0);
    assert_int_equal(q.h.id, 0x1234);
    assert_int_equal(q.q.type, DNS_T_A);
    assert_int_equal(q.q.qclass, DNS_CLASS_IN);
    assert_int_equal(q.udp_size, DNS_UDP_MIN);
    assert_false(q.edns);
    check_text(&q.q, "web.example");

    query(&p, 1, "db", DNS_T_AAAA, 4096); /* EDNS raises the limit */
    assert_int_equal(dns_query_parse(p.b, p.n, &q), 0);
    assert_true(q.edns);
    assert_int_equal(q.udp_size, 4096);
    check_text(&q.q, "db");

    query(&p, 1, "db", DNS_T_A, 100); /* an EDNS size below 512 counts as 512 */
    assert_int_equal(dns_query_parse(p.b, p.n, &q), 0);
    assert_int_equal(q.udp_size, DNS_UDP_MIN);

    query(&p, 1, "", DNS_T_A, 0); /* the root */
    assert_int_equal(dns_query_parse(p.b, p.n, &q), 0);
    assert_int_equal(q.q.wire_len, 1);
    check_text(&q.q, "");

    query(&p, 1, "x", DNS_T_A, 0);
    p.b[p.n++] = 0xff; /* trailing bytes are ignored, as dockerd's library does */
    assert_int_equal(dns_query_parse(p.b, p.n, &q), 0);

    /* Odd bytes come out escaped, so they can never match a container's name. */
    header(&p, 1, 0, 1, 0, 0, 0);
    uint8_t odd[] = {4, 'a', '.', 'B', 0x01, 0};
    put(&p, odd, sizeof(odd));
    put16(&p, DNS_T_A);
    put16(&p, DNS_CLASS_IN);
    assert_int_equal(dns_query_parse(p.b, p.n, &q), 0);
    check_text(&q.q, "a\\046b\\001");

    /* The longest name: 255 wire bytes. */
    char longest[300];
    snprintf(longest, sizeof(longest), "%.63s.%.63s.%.63s.%.61s",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
             "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
             "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
             "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");
    query(&p, 1, longest, DNS_T_A, 0);
    assert_int_equal(dns_query_parse(p.b, p.n, &q), 0);
    assert_int_equal(q.q.wire_len, 255);
}

struct hostile {
    const char *what;
    uint8_t b[96];
    size_t n;
    int want; /* < 0: dropped; else the rcode of the refusal */
};

#define H(...) {__VA_ARGS__}, sizeof((uint8_t[]){__VA_ARGS__})

/* Every one of them is refused cleanly (ASan and UBSan watch the reads). */
static const struct hostile hostile_queries[] = {
    {"empty", {0}, 0, -1},
    {"short header", H(0x12, 0x34, 0x01, 0x00, 0x00, 0x01), -1},
    {"a response", H(0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1), -1},
    {"opcode STATUS", H(0, 1, 0x10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1),
     DNS_RC_NOTIMP},
    {"no question", H(0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0), DNS_RC_FORMERR},
    {"two questions",
     H(0, 1, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1, 1, 'b', 0, 0, 1, 0, 1),
     DNS_RC_FORMERR},
    {"question missing", H(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0), DNS_RC_FORMERR},
    {"label runs past the end", H(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 'a', 'b'),
     DNS_RC_FORMERR},
    {"no root label", H(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a'), DNS_RC_FORMERR},
    {"type and class cut", H(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1), DNS_RC_FORMERR},
    {"label kind 0x40", H(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 'a', 0, 0, 1, 0, 1),
     DNS_RC_FORMERR},
    {"label kind 0x80", H(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x81, 'a', 0, 0, 1, 0, 1),
     DNS_RC_FORMERR},
    {"pointer to itself", H(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1),
     DNS_RC_FORMERR},
    {"pointer into the header", H(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 2, 0, 1, 0, 1),
     DNS_RC_FORMERR},
    {"pointer forward", H(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 18, 0, 1, 0, 1, 1, 'a', 0),
     DNS_RC_FORMERR},
    {"pointer past the end", H(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 1, 0, 1),
     DNS_RC_FORMERR},
    {"pointer cut in half", H(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0), DNS_RC_FORMERR},
    /* An answer whose owner "b" points back at its own start: a loop. */
    {"loop in an answer",
     H(0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1, 1, 'b', 0xc0, 19, 0, 1, 0, 1, 0,
       0, 0, 0, 0, 0),
     DNS_RC_FORMERR},
    {"record cut in the middle",
     H(0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0),
     DNS_RC_FORMERR},
    {"rdata past the end",
     H(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 'a', 0, 0, 1, 0, 1, 0, 0, 41, 16, 0, 0, 0, 0, 0, 0,
       0xff),
     DNS_RC_FORMERR},
    {"OPT not at the root",
     H(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 'a', 0, 0, 1, 0, 1, 1, 'b', 0, 0, 41, 16, 0, 0, 0, 0,
       0, 0, 0),
     DNS_RC_FORMERR},
    {"three additional records", H(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 3, 1, 'a', 0, 0, 1, 0, 1),
     DNS_RC_FORMERR},
};

static void test_query_hostile(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(hostile_queries); i++) {
        const struct hostile *h = &hostile_queries[i];
        struct dns_query q;
        /* A copy of exactly n bytes, so reading one past the end is ASan's to catch. */
        uint8_t *b = malloc(h->n ? h->n : 1);
        memcpy(b, h->b, h->n);
        int rc = dns_query_parse(b, h->n, &q);
        free(b);
        if (h->want < 0 ? rc >= 0 : rc != h->want)
            fail_msg("%s: got %d, want %d", h->what, rc, h->want);
    }
}

/* A name over 255 bytes, in labels each valid. */
static void test_query_name_too_long(void **state)
{
    (void)state;
    struct pkt p;
    header(&p, 1, 0, 1, 0, 0, 0);
    for (int i = 0; i < 5; i++) {
        p.b[p.n++] = 63;
        memset(p.b + p.n, 'a' + i, 63);
        p.n += 63;
    }
    p.b[p.n++] = 0;
    put16(&p, DNS_T_A);
    put16(&p, DNS_CLASS_IN);
    struct dns_query q;
    assert_int_equal(dns_query_parse(p.b, p.n, &q), DNS_RC_FORMERR);

    /* The same length reached through pointers: 4 labels of 63 at 12, then a name that adds one
     * more label before pointing there. */
    header(&p, 1, 0, 1, 1, 0, 0);
    for (int i = 0; i < 3; i++) {
        p.b[p.n++] = 63;
        memset(p.b + p.n, 'a' + i, 63);
        p.n += 63;
    }
    p.b[p.n++] = 0;
    put16(&p, DNS_T_A);
    put16(&p, DNS_CLASS_IN);
    p.b[p.n++] = 63;
    memset(p.b + p.n, 'z', 63);
    p.n += 63;
    put16(&p, 0xc000 | DNS_HDR_LEN);
    uint8_t rr[] = {0, 1, 0, 1, 0, 0, 0, 0, 0, 0};
    put(&p, rr, sizeof(rr));
    assert_int_equal(dns_query_parse(p.b, p.n, &q), DNS_RC_FORMERR);
}

/* ---- names ---- */

static void test_name_compression(void **state)
{
    (void)state;
    /* 12: example.com; 25: www → 12; 31: api → 25 (pointers further back each time). */
    struct pkt p;
    header(&p, 0, 0, 0, 0, 0, 0);
    put_name(&p, "example.com");
    assert_int_equal(p.n, 25);
    uint8_t www[] = {3, 'w', 'w', 'w', 0xc0, 12};
    put(&p, www, sizeof(www));
    uint8_t api[] = {3, 'a', 'p', 'i', 0xc0, 25};
    put(&p, api, sizeof(api));
    uint8_t wire[DNS_NAME_MAX];
    size_t wl, off = 31;
    assert_int_equal(dns_name_read(p.b, p.n, &off, wire, &wl), 0);
    assert_int_equal(off, 37); /* past the pointer, not where it led */
    char text[DNS_TEXT_MAX + 1];
    dns_name_text(wire, wl, false, text);
    assert_string_equal(text, "api.www.example.com");

    /* Two names pointing at each other. */
    header(&p, 0, 0, 0, 0, 0, 0);
    uint8_t loop[] = {1, 'a', 0xc0, 16, 1, 'b', 0xc0, 12};
    put(&p, loop, sizeof(loop));
    off = 16;
    assert_int_equal(dns_name_read(p.b, p.n, &off, wire, &wl), -EBADMSG);
    off = 12;
    assert_int_equal(dns_name_read(p.b, p.n, &off, wire, &wl), -EBADMSG);
}

static void test_name_from_text(void **state)
{
    (void)state;
    uint8_t wire[DNS_NAME_MAX];
    assert_int_equal(dns_name_from_text("web.net", wire), 9);
    assert_memory_equal(wire, "\3web\3net", 9);
    assert_int_equal(dns_name_from_text("web.net.", wire), 9); /* a trailing dot is the root */
    assert_int_equal(dns_name_from_text("", wire), 1);
    assert_int_equal(dns_name_from_text("a..b", wire), -EINVAL);
    assert_int_equal(dns_name_from_text(".a", wire), -EINVAL);
    char label64[70];
    memset(label64, 'x', 64);
    label64[64] = 0;
    assert_int_equal(dns_name_from_text(label64, wire), -EINVAL);
    char big[300];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    for (int i = 50; i < 299; i += 51)
        big[i] = '.';
    assert_int_equal(dns_name_from_text(big, wire), -EINVAL);
}

/* ---- whole replies (as an upstream sends them) ---- */

/* An upstream's reply to "www.example.com A": a CNAME whose target is compressed against the
 * question, then the A of that target, pointing at the CNAME's rdata. */
static void upstream_reply(struct pkt *p)
{
    header(p, 0x4242, DNS_F_QR | DNS_F_RD | DNS_F_RA, 1, 2, 0, 0);
    put_name(p, "www.example.com"); /* 12..28 */
    put16(p, DNS_T_A);
    put16(p, DNS_CLASS_IN);
    put16(p, 0xc000 | 12); /* 33: owner www.example.com */
    put16(p, DNS_T_CNAME);
    put16(p, DNS_CLASS_IN);
    put16(p, 0);
    put16(p, 60);
    put16(p, 6);
    uint8_t target[] = {3, 'c', 'd', 'n', 0xc0, 16}; /* 45: cdn.example.com */
    put(p, target, sizeof(target));
    put16(p, 0xc000 | 45);
    put16(p, DNS_T_A);
    put16(p, DNS_CLASS_IN);
    put16(p, 0);
    put16(p, 60);
    put16(p, 4);
    uint8_t a[] = {192, 0, 2, 1};
    put(p, a, 4);
}

static void test_check_reply(void **state)
{
    (void)state;
    struct pkt p;
    struct dns_header h;
    upstream_reply(&p);
    assert_int_equal(dns_msg_check(p.b, p.n, &h), 0);
    assert_int_equal(h.id, 0x4242);
    assert_int_equal(h.ancount, 2);

    struct dns_query q;
    struct pkt qp;
    query(&qp, 7, "WWW.example.com", DNS_T_A, 0);
    assert_int_equal(dns_query_parse(qp.b, qp.n, &q), 0);
    assert_true(dns_msg_has_question(p.b, p.n, &q.q)); /* case does not matter */
    query(&qp, 7, "www.example.com", DNS_T_AAAA, 0);
    assert_int_equal(dns_query_parse(qp.b, qp.n, &q), 0);
    assert_false(dns_msg_has_question(p.b, p.n, &q.q));
    query(&qp, 7, "www.example.org", DNS_T_A, 0);
    assert_int_equal(dns_query_parse(qp.b, qp.n, &q), 0);
    assert_false(dns_msg_has_question(p.b, p.n, &q.q));

    /* A truncated reply whose counts promise more than it holds: tolerated when it ends
     * between records, refused when a record is cut. */
    upstream_reply(&p);
    size_t first_end = 45 + 6;
    assert_int_equal(dns_msg_check(p.b, first_end, &h), 0);
    assert_int_equal(dns_msg_check(p.b, first_end + 3, &h), -EBADMSG);
    for (size_t cut = DNS_HDR_LEN + 1; cut < p.n; cut++) {
        uint8_t *b = malloc(cut);
        memcpy(b, p.b, cut);
        (void)dns_msg_check(b, cut, &h); /* whatever it says, it reads nothing past cut */
        free(b);
    }
}

static void test_check_reply_hostile(void **state)
{
    (void)state;
    struct pkt p;
    struct dns_header h;

    upstream_reply(&p);
    p.b[45 + 5] = 45; /* the CNAME target points at itself */
    assert_int_equal(dns_msg_check(p.b, p.n, &h), -EBADMSG);

    upstream_reply(&p);
    p.b[45 + 5] = 200; /* ... or forward, past its own record */
    assert_int_equal(dns_msg_check(p.b, p.n, &h), -EBADMSG);

    upstream_reply(&p);
    p.b[44] = 5; /* the CNAME's rdlength is shorter than its name */
    assert_int_equal(dns_msg_check(p.b, p.n, &h), -EBADMSG);

    upstream_reply(&p);
    p.b[p.n - 5] = 40; /* the A's rdlength runs past the end */
    assert_int_equal(dns_msg_check(p.b, p.n, &h), -EBADMSG);

    upstream_reply(&p);
    p.b[52] = 33; /* the A's owner points at the CNAME's owner, the owner at the question */
    assert_int_equal(dns_msg_check(p.b, p.n, &h), 0);
    p.b[52] = 51; /* ... or at itself */
    assert_int_equal(dns_msg_check(p.b, p.n, &h), -EBADMSG);

    /* An SOA in the authority section with a bad minimum field length. */
    header(&p, 1, DNS_F_QR, 1, 0, 1, 0);
    put_name(&p, "x");
    put16(&p, DNS_T_A);
    put16(&p, DNS_CLASS_IN);
    put16(&p, 0xc000 | 12);
    put16(&p, DNS_T_SOA);
    put16(&p, DNS_CLASS_IN);
    put16(&p, 0);
    put16(&p, 60);
    put16(&p, 2 + 2 + 19);
    put16(&p, 0xc000 | 12);
    put16(&p, 0xc000 | 12);
    uint8_t nums[19] = {0};
    put(&p, nums, sizeof(nums));
    assert_int_equal(dns_msg_check(p.b, p.n, &h), -EBADMSG);
    p.b[p.n - 19 - 4 - 1] = 2 + 2 + 20;
    p.b[p.n++] = 0;
    assert_int_equal(dns_msg_check(p.b, p.n, &h), 0);
}

/* ---- replies written ---- */

static void parse_query(struct pkt *p, struct dns_query *q)
{
    assert_int_equal(dns_query_parse(p->b, p->n, q), 0);
}

static void test_reply_a_aaaa(void **state)
{
    (void)state;
    struct pkt p;
    struct dns_query q;
    query(&p, 0xbeef, "Web", DNS_T_A, 0);
    p.b[3] |= DNS_F_CD;
    parse_query(&p, &q);
    uint8_t out[DNS_MSG_MAX];
    struct dns_reply r;
    dns_reply_start(&r, out, DNS_UDP_MIN, &q, DNS_RC_NOERROR, true);
    uint8_t a1[4] = {10, 0, 0, 2}, a2[4] = {10, 0, 0, 3};
    assert_true(dns_reply_add_addr(&r, DNS_T_A, a1, 600));
    assert_true(dns_reply_add_addr(&r, DNS_T_A, a2, 600));
    size_t n = dns_reply_finish(&r);
    static const uint8_t want[] = {
        0xbe, 0xef, 0x81, 0x90, 0, 1, 0, 2, 0, 0,    0, 0, /* QR RD RA CD, 1 q, 2 an */
        3,    'W',  'e',  'b',  0, 0, 1, 0, 1,             /* the question as asked */
        0xc0, 12,   0,    1,    0, 1, 0, 0, 2, 0x58, 0, 4, /* A, TTL 600 */
        10,   0,    0,    2,                               /**/
        0xc0, 12,   0,    1,    0, 1, 0, 0, 2, 0x58, 0, 4, /**/
        10,   0,    0,    3,
    };
    assert_int_equal(n, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    struct dns_header h;
    assert_int_equal(dns_msg_check(out, n, &h), 0);
    assert_true(dns_msg_has_question(out, n, &q.q));

    query(&p, 2, "db.net", DNS_T_AAAA, 0);
    parse_query(&p, &q);
    dns_reply_start(&r, out, DNS_UDP_MIN, &q, DNS_RC_NOERROR, true);
    uint8_t v6[16] = {0xfd, 0, [15] = 2};
    assert_true(dns_reply_add_addr(&r, DNS_T_AAAA, v6, 600));
    n = dns_reply_finish(&r);
    assert_int_equal(n, 12 + 8 + 4 + 12 + 16);
    assert_memory_equal(out + n - 16, v6, 16);
    assert_int_equal(dns_get16(out + n - 18), 16);
}

static void test_reply_truncated(void **state)
{
    (void)state;
    struct pkt p;
    struct dns_query q;
    query(&p, 3, "many", DNS_T_A, 0);
    parse_query(&p, &q);
    uint8_t out[DNS_MSG_MAX];
    struct dns_reply r;
    dns_reply_start(&r, out, q.udp_size, &q, DNS_RC_NOERROR, true);
    int added = 0;
    uint8_t a[4] = {10, 0, 0, 0};
    for (int i = 0; i < 100; i++) {
        a[3] = (uint8_t)i;
        added += dns_reply_add_addr(&r, DNS_T_A, a, 600);
    }
    size_t n = dns_reply_finish(&r);
    assert_true(n <= DNS_UDP_MIN);
    assert_int_equal(added, (DNS_UDP_MIN - 12 - 9) / 16); /* 30 fit in 512 bytes */
    assert_int_equal(dns_get16(out + 6), added);
    assert_true(dns_get16(out + 2) & DNS_F_TC);

    /* The same over TCP: all of them, no TC. */
    dns_reply_start(&r, out, DNS_MSG_MAX, &q, DNS_RC_NOERROR, true);
    for (int i = 0; i < 100; i++)
        assert_true(dns_reply_add_addr(&r, DNS_T_A, a, 600));
    n = dns_reply_finish(&r);
    assert_int_equal(dns_get16(out + 6), 100);
    assert_false(dns_get16(out + 2) & DNS_F_TC);
}

static void test_reply_ptr_and_rcodes(void **state)
{
    (void)state;
    struct pkt p;
    struct dns_query q;
    query(&p, 4, "2.0.0.10.in-addr.arpa", DNS_T_PTR, 0);
    parse_query(&p, &q);
    uint8_t out[DNS_MSG_MAX], target[DNS_NAME_MAX];
    int tl = dns_name_from_text("web.mynet", target);
    struct dns_reply r;
    dns_reply_start(&r, out, DNS_UDP_MIN, &q, DNS_RC_NOERROR, true);
    assert_true(dns_reply_add_ptr(&r, target, (size_t)tl, 600));
    size_t n = dns_reply_finish(&r);
    struct dns_header h;
    assert_int_equal(dns_msg_check(out, n, &h), 0);
    assert_int_equal(h.ancount, 1);
    assert_memory_equal(out + n - tl, target, (size_t)tl);

    static const enum dns_rcode rcodes[] = {DNS_RC_NXDOMAIN, DNS_RC_SERVFAIL, DNS_RC_REFUSED};
    for (size_t i = 0; i < ARRAY_SIZE(rcodes); i++) {
        dns_reply_start(&r, out, DNS_UDP_MIN, &q, rcodes[i], false);
        n = dns_reply_finish(&r);
        assert_int_equal(dns_msg_check(out, n, &h), 0);
        assert_int_equal(h.flags, DNS_F_QR | DNS_F_RD | rcodes[i]);
        assert_int_equal(h.qdcount, 1);
        assert_int_equal(h.ancount, 0);
        assert_true(dns_msg_has_question(out, n, &q.q));
    }

    /* FORMERR and NOTIMP: the header alone, id and RD kept; NOTIMP keeps the opcode. */
    struct dns_header qh = {.id = 0x0102, .flags = DNS_F_RD | (2 << 11)};
    assert_int_equal(dns_reply_header_only(out, &qh, DNS_RC_NOTIMP), DNS_HDR_LEN);
    static const uint8_t notimp[] = {1, 2, 0x91, 0x04, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(out, notimp, sizeof(notimp));
    assert_int_equal(dns_reply_header_only(out, &qh, DNS_RC_FORMERR), DNS_HDR_LEN);
    static const uint8_t formerr[] = {1, 2, 0x81, 0x01, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(out, formerr, sizeof(formerr));
}

/* Random damage to good messages: whatever the verdict, nothing is read out of bounds and a
 * name that reads is never longer than 255 (ASan and UBSan watch). */
static void test_random_damage(void **state)
{
    (void)state;
    struct pkt good[2];
    query(&good[0], 9, "web.example.com", DNS_T_A, 1232);
    upstream_reply(&good[1]);
    uint32_t seed = 12345;
    for (int round = 0; round < 20000; round++) {
        const struct pkt *g = &good[round % 2];
        uint8_t *b = malloc(g->n);
        memcpy(b, g->b, g->n);
        for (int k = 0; k < 1 + round % 4; k++) {
            seed = seed * 1103515245 + 12345;
            b[(seed >> 8) % g->n] = (uint8_t)(seed >> 20);
        }
        seed = seed * 1103515245 + 12345;
        size_t len = g->n - (round % 3 == 0 ? (seed >> 8) % g->n : 0);
        struct dns_query q;
        struct dns_header h;
        if (dns_query_parse(b, len, &q) == 0)
            assert_true(q.q.wire_len <= DNS_NAME_MAX);
        (void)dns_msg_check(b, len, &h);
        free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_valid),         cmocka_unit_test(test_query_hostile),
        cmocka_unit_test(test_query_name_too_long), cmocka_unit_test(test_name_compression),
        cmocka_unit_test(test_name_from_text),      cmocka_unit_test(test_check_reply),
        cmocka_unit_test(test_check_reply_hostile), cmocka_unit_test(test_reply_a_aaaa),
        cmocka_unit_test(test_reply_truncated),     cmocka_unit_test(test_reply_ptr_and_rcodes),
        cmocka_unit_test(test_random_damage),
    };
    return cmocka_run_group_tests_name("dns_msg", tests, NULL, NULL);
}
