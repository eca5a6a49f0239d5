/* tests/net/network/test_dns_resolve.c — net/network/dns_resolve.c over net/network/dns_names.c:
 * what the embedded server answers itself and what it forwards, as dockerd's resolver decides
 * (names, aliases, short IDs, name.network, PTR, empty AAAA and MX, ndots, truncation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/macros.h"
#include "net/network/dns_names.h"
#include "net/network/dns_resolve.h"

struct fx {
    struct dns_names *mynet, *other, *dotted;
    struct dns_names *nets[3];
    struct dns_names_view view;
    struct dns_lookup lk;
    uint8_t out[DNS_MSG_MAX];
    size_t len;
    struct dns_query q;
};

static struct in_addr v4(const char *s)
{
    struct in_addr a;
    assert_int_equal(inet_pton(AF_INET, s, &a), 1);
    return a;
}

static struct in6_addr v6(const char *s)
{
    struct in6_addr a;
    assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
    return a;
}

static const char *const web_names[] = {"web", "www", "0123456789ab"};
static const char *const db_names[] = {"db", "svc"};
static const char *const api_names[] = {"api", "svc"};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->mynet = dns_names_new("mynet");
    f->other = dns_names_new("other");
    f->dotted = dns_names_new("my.net");
    struct in_addr w = v4("10.0.0.2"), d = v4("10.0.0.3"), a = v4("10.0.0.4");
    struct in6_addr d6 = v6("fd00::3");
    dns_names_add(f->mynet, web_names, ARRAY_SIZE(web_names), &w, NULL);
    dns_names_add(f->mynet, db_names, ARRAY_SIZE(db_names), &d, &d6);
    dns_names_add(f->mynet, api_names, ARRAY_SIZE(api_names), &a, NULL);
    struct in_addr o = v4("10.1.0.9");
    const char *const lone[] = {"lonely"};
    dns_names_add(f->other, lone, 1, &o, NULL);
    struct in_addr x = v4("10.2.0.5");
    const char *const ab[] = {"a.b"};
    dns_names_add(f->dotted, ab, 1, &x, NULL);
    f->nets[0] = f->mynet;
    f->nets[1] = f->dotted;
    f->view = (struct dns_names_view){.nets = f->nets, .n = 2}; /* not on "other" */
    f->lk = dns_names_lookup(&f->view, false);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    dns_names_free(f->mynet);
    dns_names_free(f->other);
    dns_names_free(f->dotted);
    free(f);
    return 0;
}

/* A query as a stub resolver sends it. */
static size_t make_query(uint8_t *b, uint16_t id, const char *name, uint16_t type, uint16_t edns)
{
    memset(b, 0, DNS_HDR_LEN);
    dns_put16(b, id);
    dns_put16(b + 2, DNS_F_RD);
    dns_put16(b + 4, 1);
    dns_put16(b + 10, edns ? 1 : 0);
    int n = dns_name_from_text(name, b + DNS_HDR_LEN);
    assert_true(n > 0);
    size_t len = DNS_HDR_LEN + (size_t)n;
    dns_put16(b + len, type);
    dns_put16(b + len + 2, DNS_CLASS_IN);
    len += 4;
    if (edns) {
        uint8_t opt[11] = {0, 0, DNS_T_OPT};
        dns_put16(opt + 3, edns);
        memcpy(b + len, opt, sizeof(opt));
        len += sizeof(opt);
    }
    return len;
}

static enum dns_verdict ask(struct fx *f, const char *name, uint16_t type, bool tcp, uint16_t edns)
{
    uint8_t q[600];
    size_t n = make_query(q, 0x7777, name, type, edns);
    return dns_resolve(&f->lk, q, n, tcp, &f->q, f->out, &f->len);
}

/* The answers of the reply in f->out: their rdata, in order. */
struct answers {
    int n;
    uint16_t flags, type[300];
    uint32_t ttl[300];
    uint8_t rdata[300][64];
    size_t rdlen[300];
};

static void read_answers(const struct fx *f, struct answers *a)
{
    struct dns_header h;
    assert_int_equal(dns_msg_check(f->out, f->len, &h), 0);
    assert_int_equal(h.id, 0x7777);
    assert_int_equal(h.qdcount, 1);
    assert_true(dns_msg_has_question(f->out, f->len, &f->q.q));
    a->flags = h.flags;
    a->n = h.ancount;
    size_t off = DNS_HDR_LEN + f->q.q.wire_len + 4;
    for (int i = 0; i < a->n; i++) {
        assert_int_equal(dns_get16(f->out + off), 0xc000 | DNS_HDR_LEN); /* the question's name */
        a->type[i] = dns_get16(f->out + off + 2);
        a->ttl[i] = (uint32_t)dns_get16(f->out + off + 6) << 16 | dns_get16(f->out + off + 8);
        a->rdlen[i] = dns_get16(f->out + off + 10);
        assert_true(a->rdlen[i] <= 64);
        memcpy(a->rdata[i], f->out + off + 12, a->rdlen[i]);
        off += 12 + a->rdlen[i];
    }
    assert_int_equal(off, f->len);
}

static void expect_a(struct fx *f, const char *name, const char *addr)
{
    assert_int_equal(ask(f, name, DNS_T_A, false, 0), DNS_REPLY);
    struct answers a;
    read_answers(f, &a);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.type[0], DNS_T_A);
    assert_int_equal(a.ttl[0], DNS_TTL);
    struct in_addr want = v4(addr);
    assert_memory_equal(a.rdata[0], &want, 4);
    /* NOERROR, RA set, RD copied, not authoritative, as dockerd's createRespMsg. */
    assert_int_equal(a.flags, DNS_F_QR | DNS_F_RD | DNS_F_RA);
}

static void test_names_aliases_short_ids(void **state)
{
    struct fx *f = *state;
    expect_a(f, "web", "10.0.0.2");
    expect_a(f, "WeB", "10.0.0.2"); /* case does not matter; the question keeps its own */
    assert_memory_equal(f->out + DNS_HDR_LEN, "\3WeB", 4);
    expect_a(f, "www", "10.0.0.2");
    expect_a(f, "0123456789ab", "10.0.0.2");
    expect_a(f, "web.", "10.0.0.2");
    expect_a(f, "web.mynet", "10.0.0.2");  /* name.network */
    expect_a(f, "a.b", "10.2.0.5");        /* a dotted container name */
    expect_a(f, "a.b.my.net", "10.2.0.5"); /* ... on a dotted network */
    /* Not on the querying container's networks: the upstream resolvers' to answer. */
    assert_int_equal(ask(f, "lonely", DNS_T_A, false, 0), DNS_FORWARD);
    assert_int_equal(ask(f, "lonely.other", DNS_T_A, false, 0), DNS_FORWARD);
    assert_int_equal(ask(f, "web.other", DNS_T_A, false, 0), DNS_FORWARD);
    assert_int_equal(ask(f, "example.com", DNS_T_A, false, 0), DNS_FORWARD);
    assert_int_equal(ask(f, "nohost", DNS_T_A, false, 0), DNS_FORWARD);
    assert_int_equal(f->q.q.type, DNS_T_A);
}

static void test_aaaa_and_families(void **state)
{
    struct fx *f = *state;
    /* web has no IPv6 address: known, so an empty NOERROR, not forwarded. */
    assert_int_equal(ask(f, "web", DNS_T_AAAA, false, 0), DNS_REPLY);
    struct answers a;
    read_answers(f, &a);
    assert_int_equal(a.n, 0);
    assert_int_equal(a.flags & DNS_F_RCODE, DNS_RC_NOERROR);

    assert_int_equal(ask(f, "db", DNS_T_AAAA, false, 0), DNS_REPLY);
    read_answers(f, &a);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.type[0], DNS_T_AAAA);
    struct in6_addr want = v6("fd00::3");
    assert_memory_equal(a.rdata[0], &want, 16);
}

static void test_shared_alias_shuffled(void **state)
{
    struct fx *f = *state;
    bool seen_first[2] = {false, false};
    for (int i = 0; i < 64; i++) {
        assert_int_equal(ask(f, "svc", DNS_T_A, false, 0), DNS_REPLY);
        struct answers a;
        read_answers(f, &a);
        assert_int_equal(a.n, 2);
        struct in_addr d = v4("10.0.0.3"), p = v4("10.0.0.4");
        bool db_first = memcmp(a.rdata[0], &d, 4) == 0;
        assert_memory_equal(a.rdata[db_first ? 1 : 0], &p, 4);
        seen_first[db_first] = true;
    }
    assert_true(seen_first[0] && seen_first[1]); /* shuffled, as dockerd */
}

static void test_ptr(void **state)
{
    struct fx *f = *state;
    uint8_t want[DNS_NAME_MAX];
    int wl = dns_name_from_text("web.mynet", want);

    assert_int_equal(ask(f, "2.0.0.10.in-addr.arpa", DNS_T_PTR, false, 0), DNS_REPLY);
    struct answers a;
    read_answers(f, &a);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.type[0], DNS_T_PTR);
    assert_int_equal(a.rdlen[0], wl);
    assert_memory_equal(a.rdata[0], want, (size_t)wl); /* names[0] only, with its network */

    char v6ptr[80] = "";
    const char *nibbles = "3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f";
    snprintf(v6ptr, sizeof(v6ptr), "%s.IP6.ARPA", nibbles);
    assert_int_equal(ask(f, v6ptr, DNS_T_PTR, false, 0), DNS_REPLY);
    read_answers(f, &a);
    wl = dns_name_from_text("db.mynet", want);
    assert_memory_equal(a.rdata[0], want, (size_t)wl);

    assert_int_equal(ask(f, "9.9.9.10.in-addr.arpa", DNS_T_PTR, false, 0), DNS_FORWARD);
    assert_int_equal(ask(f, "0.0.10.in-addr.arpa", DNS_T_PTR, false, 0), DNS_FORWARD);
    assert_int_equal(ask(f, "02.0.0.10.in-addr.arpa", DNS_T_PTR, false, 0), DNS_FORWARD);
    assert_int_equal(ask(f, "web", DNS_T_PTR, false, 0), DNS_FORWARD);
    assert_int_equal(ask(f, "9.1.0.10.in-addr.arpa", DNS_T_PTR, false, 0), DNS_FORWARD);
}

static void test_other_types(void **state)
{
    struct fx *f = *state;
    /* MX of a known name: NOERROR and nothing (implicit MX). */
    assert_int_equal(ask(f, "web", DNS_T_MX, false, 0), DNS_REPLY);
    struct answers a;
    read_answers(f, &a);
    assert_int_equal(a.n, 0);
    assert_int_equal(ask(f, "example.com", DNS_T_MX, false, 0), DNS_FORWARD);
    assert_int_equal(ask(f, "web", DNS_T_SRV, false, 0), DNS_FORWARD);
    assert_int_equal(ask(f, "web", 16 /* TXT */, false, 0), DNS_FORWARD);
}

static void test_ndots(void **state)
{
    struct fx *f = *state;
    f->lk.ndots_set = true;
    /* A single label that is not local is answered empty, so the client tries its search
     * domains; a dotted one still goes out; a local one is still answered. */
    assert_int_equal(ask(f, "nohost", DNS_T_A, false, 0), DNS_REPLY);
    struct answers a;
    read_answers(f, &a);
    assert_int_equal(a.n, 0);
    assert_int_equal(a.flags & DNS_F_RCODE, DNS_RC_NOERROR);
    assert_int_equal(ask(f, "nohost", DNS_T_MX, false, 0), DNS_FORWARD);
    assert_int_equal(ask(f, "no.host", DNS_T_A, false, 0), DNS_FORWARD);
    expect_a(f, "web", "10.0.0.2");
}

static void test_truncation(void **state)
{
    struct fx *f = *state;
    char name[32];
    struct in_addr a = v4("10.3.0.0");
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "r%d", i);
        const char *const names[] = {name, "many"};
        a.s_addr = htonl(0x0a030000 + (uint32_t)i);
        dns_names_add(f->mynet, names, 2, &a, NULL);
    }
    struct answers ans;
    assert_int_equal(ask(f, "many", DNS_T_A, false, 0), DNS_REPLY);
    assert_true(f->len <= DNS_UDP_MIN);
    read_answers(f, &ans);
    assert_int_equal(ans.n, 30);
    assert_true(ans.flags & DNS_F_TC); /* the client retries over TCP */

    assert_int_equal(ask(f, "many", DNS_T_A, false, 4096), DNS_REPLY); /* EDNS */
    read_answers(f, &ans);
    assert_int_equal(ans.n, 40);
    assert_false(ans.flags & DNS_F_TC);

    assert_int_equal(ask(f, "many", DNS_T_A, true, 0), DNS_REPLY); /* TCP */
    read_answers(f, &ans);
    assert_int_equal(ans.n, 40);
    assert_false(ans.flags & DNS_F_TC);
}

static void test_join_leave(void **state)
{
    struct fx *f = *state;
    struct in_addr w = v4("10.0.0.2"), d = v4("10.0.0.3");
    struct in6_addr d6 = v6("fd00::3");
    dns_names_del(f->mynet, web_names, ARRAY_SIZE(web_names), &w, NULL);
    assert_int_equal(ask(f, "web", DNS_T_A, false, 0), DNS_FORWARD);
    assert_int_equal(ask(f, "www", DNS_T_A, false, 0), DNS_FORWARD);
    assert_int_equal(ask(f, "2.0.0.10.in-addr.arpa", DNS_T_PTR, false, 0), DNS_FORWARD);
    /* The shared alias keeps its other holders. */
    dns_names_del(f->mynet, db_names, ARRAY_SIZE(db_names), &d, &d6);
    expect_a(f, "svc", "10.0.0.4");
    /* Joining twice and leaving once keeps the name. */
    dns_names_add(f->mynet, web_names, 1, &w, NULL);
    dns_names_add(f->mynet, web_names, 1, &w, NULL);
    dns_names_del(f->mynet, web_names, 1, &w, NULL);
    expect_a(f, "web", "10.0.0.2");
    /* Connecting the container to another network makes its names visible. */
    f->nets[2] = f->other;
    f->view.n = 3;
    expect_a(f, "lonely", "10.1.0.9");
}

static void test_malformed(void **state)
{
    struct fx *f = *state;
    uint8_t q[64];
    size_t n = make_query(q, 0x7777, "web", DNS_T_A, 0);
    dns_put16(q + 4, 2); /* two questions */
    assert_int_equal(dns_resolve(&f->lk, q, n, false, &f->q, f->out, &f->len), DNS_REPLY);
    assert_int_equal(f->len, DNS_HDR_LEN);
    assert_int_equal(dns_get16(f->out + 2) & DNS_F_RCODE, DNS_RC_FORMERR);
    dns_put16(q + 4, 1);
    dns_put16(q + 2, DNS_F_QR); /* a response sent to us: no reply */
    assert_int_equal(dns_resolve(&f->lk, q, n, false, &f->q, f->out, &f->len), DNS_DROP);
    assert_int_equal(dns_resolve(&f->lk, q, 5, false, &f->q, f->out, &f->len), DNS_DROP);
}

static void test_fail_replies(void **state)
{
    struct fx *f = *state;
    assert_int_equal(ask(f, "example.com", DNS_T_A, false, 0), DNS_FORWARD);
    size_t n = dns_resolve_fail(&f->q, DNS_RC_SERVFAIL, f->out);
    struct dns_header h;
    assert_int_equal(dns_msg_check(f->out, n, &h), 0);
    assert_int_equal(h.id, 0x7777);
    assert_int_equal(h.flags, DNS_F_QR | DNS_F_RD | DNS_RC_SERVFAIL); /* RA clear, as dockerd */
    assert_true(dns_msg_has_question(f->out, n, &f->q.q));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_names_aliases_short_ids),
        T(test_aaaa_and_families),
        T(test_shared_alias_shuffled),
        T(test_ptr),
        T(test_other_types),
        T(test_ndots),
        T(test_truncation),
        T(test_join_leave),
        T(test_malformed),
        T(test_fail_replies),
    };
    return cmocka_run_group_tests_name("dns_resolve", tests, NULL, NULL);
}
