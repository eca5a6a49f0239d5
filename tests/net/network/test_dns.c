/* tests/net/network/test_dns.c — net/network/dns.c (with dns_tcp.c and dns_fwd.c) for real, on
 * both reactor backends: the test unshares a netns of its own (the "host"), makes two more as
 * containers, and runs upstream resolvers of its own on the host side's loopback. Clients in a
 * container's netns ask 127.0.0.11 over UDP and TCP, by hand and through glibc's resolver;
 * forwarding, failover, timeouts, the in-flight bound, stop and restart are checked, and the
 * local answer rate and the per-container cost are printed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <resolv.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/macros.h"
#include "core/pool.h"
#include "core/xalloc.h"
#include "net/network/dns.h"
#include "net/network/dns_names.h"
#include "net/network/dns_priv.h"
#include "tests/core/reactor_helpers.h"

static bool netns_ok;
static int ctr_ns[2] = {-1, -1}; /* two containers' netns */

/* ---- namespaces ---- */

static int lo_up_here(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "lo");
    int r = ioctl(fd, SIOCGIFFLAGS, &ifr);
    ifr.ifr_flags |= IFF_UP;
    if (r == 0)
        r = ioctl(fd, SIOCSIFFLAGS, &ifr);
    close(fd);
    return r;
}

/* A fresh netns, held by its descriptor: a child unshares one, we open it, the child goes. */
static int make_netns(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char ok = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
        (void)!write(p[1], &ok, 1);
        pause();
        _exit(0);
    }
    close(p[1]);
    char ok = 0;
    (void)!read(p[0], &ok, 1);
    close(p[0]);
    int fd = -1;
    if (ok == 'y') {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return fd;
}

/* ---- queries and replies ---- */

static size_t make_query(uint8_t *b, uint16_t id, const char *name, uint16_t type)
{
    memset(b, 0, DNS_HDR_LEN);
    dns_put16(b, id);
    dns_put16(b + 2, DNS_F_RD);
    dns_put16(b + 4, 1);
    int n = dns_name_from_text(name, b + DNS_HDR_LEN);
    size_t len = DNS_HDR_LEN + (size_t)n;
    dns_put16(b + len, type);
    dns_put16(b + len + 2, DNS_CLASS_IN);
    return len + 4;
}

struct parsed {
    bool ok;
    uint16_t id, flags, ancount;
    int rcode;
    int naddr;
    uint8_t addr[64][16]; /* A or AAAA rdata */
    uint32_t ttl[64];
    char ptr[DNS_TEXT_MAX + 1];
};

static struct parsed parse_reply(const uint8_t *b, ssize_t n)
{
    struct parsed p = {0};
    struct dns_header h;
    if (n <= 0 || dns_msg_check(b, (size_t)n, &h) < 0)
        return p;
    p.ok = true;
    p.id = h.id;
    p.flags = h.flags;
    p.rcode = h.flags & DNS_F_RCODE;
    p.ancount = h.ancount;
    size_t off = DNS_HDR_LEN;
    uint8_t wire[DNS_NAME_MAX];
    size_t wl;
    for (unsigned i = 0; i < h.qdcount; i++) {
        dns_name_read(b, (size_t)n, &off, wire, &wl);
        off += 4;
    }
    for (unsigned i = 0; i < h.ancount && off < (size_t)n; i++) {
        dns_name_read(b, (size_t)n, &off, wire, &wl);
        uint16_t type = dns_get16(b + off);
        uint32_t ttl = (uint32_t)dns_get16(b + off + 4) << 16 | dns_get16(b + off + 6);
        size_t rdlen = dns_get16(b + off + 8);
        off += 10;
        if ((type == DNS_T_A || type == DNS_T_AAAA) && p.naddr < 64) {
            p.ttl[p.naddr] = ttl;
            memcpy(p.addr[p.naddr++], b + off, rdlen);
        }
        if (type == DNS_T_PTR) {
            size_t o = off;
            dns_name_read(b, (size_t)n, &o, wire, &wl);
            dns_name_text(wire, wl, false, p.ptr);
        }
        off += rdlen;
    }
    return p;
}

static bool has_v4(const struct parsed *p, const char *addr)
{
    struct in_addr a;
    inet_pton(AF_INET, addr, &a);
    for (int i = 0; i < p->naddr; i++)
        if (memcmp(p->addr[i], &a, 4) == 0)
            return true;
    return false;
}

/* ---- clients, on a thread inside a container's netns ---- */

static const struct sockaddr_in dns_addr = {
    .sin_family = AF_INET, .sin_port = 0x3500 /* htons(53) */, .sin_addr.s_addr = 0x0b00007f};

static void set_timeout(int fd, int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static ssize_t udp_ask(const char *name, uint16_t type, uint16_t id, uint8_t *out, size_t cap)
{
    uint8_t q[512];
    size_t n = make_query(q, id, name, type);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    set_timeout(fd, 5000);
    ssize_t r = -1;
    if (connect(fd, (const struct sockaddr *)&dns_addr, sizeof(dns_addr)) == 0 &&
        send(fd, q, n, 0) == (ssize_t)n)
        r = recv(fd, out, cap, 0);
    close(fd);
    return r;
}

static bool read_all(int fd, uint8_t *b, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, b + got, n - got);
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

static ssize_t tcp_read_frame(int fd, uint8_t *out, size_t cap)
{
    uint8_t hdr[2];
    if (!read_all(fd, hdr, 2))
        return -1;
    size_t len = dns_get16(hdr);
    if (len > cap || !read_all(fd, out, len))
        return -1;
    return (ssize_t)len;
}

static int tcp_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    set_timeout(fd, 5000);
    if (connect(fd, (const struct sockaddr *)&dns_addr, sizeof(dns_addr)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static ssize_t tcp_ask(const char *name, uint16_t type, uint16_t id, uint8_t *out, size_t cap)
{
    uint8_t q[514];
    size_t n = make_query(q + 2, id, name, type);
    dns_put16(q, (uint16_t)n);
    int fd = tcp_connect();
    ssize_t r = -1;
    if (fd >= 0 && write(fd, q, n + 2) == (ssize_t)(n + 2))
        r = tcp_read_frame(fd, out, cap);
    if (fd >= 0)
        close(fd);
    return r;
}

struct in_ns {
    int ns;
    void (*fn)(void *);
    void *arg;
    atomic_bool done;
};

static void *ns_thread(void *p)
{
    struct in_ns *j = p;
    if (setns(j->ns, CLONE_NEWNET) == 0)
        j->fn(j->arg);
    else
        perror("setns");
    atomic_store(&j->done, true);
    return NULL;
}

static bool ns_done(void *ctx)
{
    return atomic_load(&((struct in_ns *)ctx)->done);
}

/* Run fn(arg) on a thread inside netns ns while the reactor runs here. */
static void in_ctr(struct reactor *r, int ns, void (*fn)(void *), void *arg, unsigned timeout_ms)
{
    struct in_ns j = {.ns = ns, .fn = fn, .arg = arg};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, ns_thread, &j), 0);
    bool ok = run_until(r, ns_done, &j, timeout_ms);
    pthread_join(th, NULL);
    assert_true(ok);
}

/* ---- upstream resolvers on the host side's loopback ---- */

enum up_mode { UP_ANSWER, UP_SERVFAIL, UP_SILENT };

struct upstream {
    enum up_mode mode;
    int udp, tcp, stop;
    uint16_t port;
    pthread_t th;
    atomic_int udp_queries, tcp_queries;
    atomic_int ids_seen[64];
    atomic_int nids;
    struct sockaddr_in last_from;
};

/* example.com: 192.0.2.1; big.test: 60 addresses (over UDP: TC and none, as a server without
 * EDNS room answers); anything else NXDOMAIN; SERVFAIL for everything in that mode. */
static size_t up_answer(struct upstream *u, const uint8_t *q, size_t qlen, bool tcp, uint8_t *out)
{
    struct dns_query dq;
    if (dns_query_parse(q, qlen, &dq) != 0)
        return 0;
    int nid = atomic_fetch_add(&u->nids, 1);
    if (nid < 64)
        atomic_store(&u->ids_seen[nid], dq.h.id);
    char name[DNS_TEXT_MAX + 1];
    dns_name_text(dq.q.wire, dq.q.wire_len, true, name);
    struct dns_reply r;
    bool big = strcmp(name, "big.test") == 0;
    enum dns_rcode rc = u->mode == UP_SERVFAIL                    ? DNS_RC_SERVFAIL
                        : big || strcmp(name, "example.com") == 0 ? DNS_RC_NOERROR
                                                                  : DNS_RC_NXDOMAIN;
    dns_reply_start(&r, out, tcp ? DNS_MSG_MAX : DNS_UDP_MIN, &dq, rc, true);
    uint8_t a[4] = {192, 0, 2, 1};
    if (rc == DNS_RC_NOERROR && !big)
        dns_reply_add_addr(&r, DNS_T_A, a, 30);
    for (int i = 0; big && i < 60; i++) {
        a[3] = (uint8_t)(10 + i);
        if (!tcp) {
            r.truncated = true; /* a server drops them all and sets TC */
            break;
        }
        dns_reply_add_addr(&r, DNS_T_A, a, 30);
    }
    return dns_reply_finish(&r);
}

static void up_serve_tcp(struct upstream *u, int fd)
{
    set_timeout(fd, 2000);
    uint8_t q[1024], out[DNS_MSG_MAX + 2];
    for (;;) {
        ssize_t n = tcp_read_frame(fd, q, sizeof(q));
        if (n <= 0)
            break;
        atomic_fetch_add(&u->tcp_queries, 1);
        size_t len = up_answer(u, q, (size_t)n, true, out + 2);
        dns_put16(out, (uint16_t)len);
        if (write(fd, out, len + 2) != (ssize_t)(len + 2))
            break;
    }
    close(fd);
}

static void *up_run(void *arg)
{
    struct upstream *u = arg;
    uint8_t q[2048], out[DNS_MSG_MAX];
    for (;;) {
        struct pollfd pf[3] = {{u->udp, POLLIN, 0}, {u->tcp, POLLIN, 0}, {u->stop, POLLIN, 0}};
        if (poll(pf, 3, -1) < 0 || pf[2].revents)
            return NULL;
        if (pf[0].revents) {
            struct sockaddr_in from;
            socklen_t fl = sizeof(from);
            ssize_t n = recvfrom(u->udp, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
            if (n > 0) {
                atomic_fetch_add(&u->udp_queries, 1);
                u->last_from = from;
                size_t len = up_answer(u, q, (size_t)n, false, out);
                if (len)
                    sendto(u->udp, out, len, 0, (struct sockaddr *)&from, fl);
            }
        }
        if (pf[1].revents) {
            int fd = accept4(u->tcp, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0)
                up_serve_tcp(u, fd);
        }
    }
}

/* A resolver on 127.0.0.1 of the host side (UDP and TCP on one port); a silent one binds its
 * sockets and never answers (no ICMP either, so only the timeout tells). */
static void up_start(struct upstream *u, enum up_mode mode)
{
    memset(u, 0, sizeof(*u));
    u->mode = mode;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    u->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(u->udp, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t sl = sizeof(sa);
    getsockname(u->udp, (struct sockaddr *)&sa, &sl);
    u->port = ntohs(sa.sin_port);
    u->tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(u->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    assert_int_equal(bind(u->tcp, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(u->tcp, 16), 0);
    u->stop = eventfd(0, EFD_CLOEXEC);
    if (mode != UP_SILENT)
        assert_int_equal(pthread_create(&u->th, NULL, up_run, u), 0);
}

static void up_stop(struct upstream *u)
{
    uint64_t one = 1;
    (void)!write(u->stop, &one, sizeof(one));
    if (u->mode != UP_SILENT)
        pthread_join(u->th, NULL);
    close(u->udp);
    close(u->tcp);
    close(u->stop);
}

static struct sockaddr_storage up_addr(uint16_t port)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ss;
}

/* ---- the fixture: a reactor, a pool, a server, the names of one network ---- */

struct fx {
    const char *backend;
    struct reactor *r;
    struct pool *pool;
    struct dns_server *srv;
    struct dns_names *mynet, *other;
    struct dns_names *nets0[1], *nets1[1];
    struct dns_names_view view0, view1;
    struct dns_ctr *ctr[2];
    int ready, failed;
    int ready_status;
};

static const char *const web_names[] = {"web", "www", "0123456789ab"};

static void add_names(struct fx *f)
{
    f->mynet = dns_names_new("mynet");
    f->other = dns_names_new("other");
    struct in_addr w, d, o;
    struct in6_addr d6;
    inet_pton(AF_INET, "10.0.0.2", &w);
    inet_pton(AF_INET, "10.0.0.3", &d);
    inet_pton(AF_INET6, "fd00::3", &d6);
    inet_pton(AF_INET, "10.1.0.9", &o);
    dns_names_add(f->mynet, web_names, ARRAY_SIZE(web_names), &w, NULL);
    const char *const db[] = {"db"};
    dns_names_add(f->mynet, db, 1, &d, &d6);
    const char *const lonely[] = {"lonely"};
    dns_names_add(f->other, lonely, 1, &o, NULL);
    for (int i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof(name), "r%d", i);
        const char *const names[] = {name, "many"};
        struct in_addr a = {.s_addr = htonl(0x0a030000 + (uint32_t)i)};
        dns_names_add(f->mynet, names, 2, &a, NULL);
    }
    f->nets0[0] = f->mynet;
    f->nets1[0] = f->other;
    f->view0 = (struct dns_names_view){.nets = f->nets0, .n = 1};
    f->view1 = (struct dns_names_view){.nets = f->nets1, .n = 1};
}

static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    f->backend = *state;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 2; i++)
        dns_ctr_stop(f->ctr[i]);
    if (f->r)
        run_for(f->r, 10); /* the cancelled operations let go of the sockets */
    if (f->pool)
        pool_free(f->pool);
    if (f->srv)
        dns_server_free(f->srv);
    reactor_free(f->r);
    dns_names_free(f->mynet);
    dns_names_free(f->other);
    free(f);
    return 0;
}

static struct fx *fx_up(void **state, const struct dns_server_opts *o)
{
    if (!netns_ok)
        skip();
    struct fx *f = *state;
    f->r = test_reactor_new(f->backend);
    f->pool = pool_new(f->r, 1, 1);
    f->srv = dns_server_new(f->r, f->pool, o);
    add_names(f);
    return f;
}

static void on_ready(void *ctx, struct dns_ctr *c, const struct berth_err *err)
{
    struct fx *f = ctx;
    if (err) {
        f->failed++;
        f->ready_status = err->status;
        for (int i = 0; i < 2; i++)
            if (f->ctr[i] == c)
                f->ctr[i] = NULL; /* freed after this call */
    } else {
        f->ready++;
    }
}

/* Start container i's server with these upstreams and wait until it serves. */
static void ctr_start(struct fx *f, int i, const struct sockaddr_storage *up, size_t nup)
{
    struct dns_ctr_config cfg = {.lookup = dns_names_lookup(i == 0 ? &f->view0 : &f->view1, false)};
    if (nup)
        memcpy(cfg.upstream, up, nup * sizeof(*up));
    cfg.nupstream = nup;
    int want = f->ready + 1;
    f->ctr[i] = dns_ctr_start(f->srv, ctr_ns[i], &cfg, on_ready, f);
    assert_true(run_until_count(f->r, &f->ready, want, 5000));
}

/* ---- local answers ---- */

struct local_run {
    ssize_t n[8];
    uint8_t b[8][1024];
};

static void local_client(void *arg)
{
    struct local_run *l = arg;
    l->n[0] = udp_ask("web", DNS_T_A, 0x0101, l->b[0], sizeof(l->b[0]));
    l->n[1] = udp_ask("www", DNS_T_A, 0x0102, l->b[1], sizeof(l->b[1]));
    l->n[2] = udp_ask("0123456789ab", DNS_T_A, 0x0103, l->b[2], sizeof(l->b[2]));
    l->n[3] = udp_ask("2.0.0.10.in-addr.arpa", DNS_T_PTR, 0x0104, l->b[3], sizeof(l->b[3]));
    l->n[4] = udp_ask("web", DNS_T_AAAA, 0x0105, l->b[4], sizeof(l->b[4]));
    l->n[5] = udp_ask("db", DNS_T_AAAA, 0x0106, l->b[5], sizeof(l->b[5]));
    l->n[6] = udp_ask("WEB.mynet", DNS_T_A, 0x0107, l->b[6], sizeof(l->b[6]));
}

static void test_local_udp(void **state)
{
    struct fx *f = fx_up(state, NULL);
    ctr_start(f, 0, NULL, 0);
    struct local_run *l = xcalloc(1, sizeof(*l));
    in_ctr(f->r, ctr_ns[0], local_client, l, 10000);
    struct parsed p[7];
    for (int i = 0; i < 7; i++) {
        p[i] = parse_reply(l->b[i], l->n[i]);
        assert_true(p[i].ok);
        assert_int_equal(p[i].id, 0x0101 + i);
        assert_int_equal(p[i].rcode, DNS_RC_NOERROR);
        assert_true(p[i].flags & DNS_F_RA);
    }
    assert_true(has_v4(&p[0], "10.0.0.2"));
    assert_int_equal(p[0].ttl[0], 600);
    assert_true(has_v4(&p[1], "10.0.0.2")); /* alias */
    assert_true(has_v4(&p[2], "10.0.0.2")); /* short ID */
    assert_string_equal(p[3].ptr, "web.mynet");
    assert_int_equal(p[4].ancount, 0); /* known, no IPv6 */
    assert_int_equal(p[5].naddr, 1);
    assert_true(has_v4(&p[6], "10.0.0.2"));
    assert_int_equal(dns_server_stats(f->srv)->local, 7);
    assert_int_equal(dns_server_stats(f->srv)->forwarded, 0);
    free(l);
}

/* ---- forwarding ---- */

struct fwd_run {
    ssize_t n[6];
    uint8_t b[6][2048];
};

static void fwd_client(void *arg)
{
    struct fwd_run *w = arg;
    for (int i = 0; i < 4; i++)
        w->n[i] = udp_ask("example.com", DNS_T_A, 0x1111, w->b[i], sizeof(w->b[i]));
    w->n[4] = udp_ask("nosuch.test", DNS_T_A, 0x2222, w->b[4], sizeof(w->b[4]));
    w->n[5] = udp_ask("lonely", DNS_T_A, 0x3333, w->b[5], sizeof(w->b[5]));
}

static void test_forward(void **state)
{
    struct fx *f = fx_up(state, NULL);
    struct upstream *up = xcalloc(1, sizeof(*up));
    up_start(up, UP_ANSWER);
    struct sockaddr_storage ups[1] = {up_addr(up->port)};
    ctr_start(f, 0, ups, 1);
    struct fwd_run *w = xcalloc(1, sizeof(*w));
    in_ctr(f->r, ctr_ns[0], fwd_client, w, 10000);
    up_stop(up);

    bool other_id = false;
    for (int i = 0; i < 4; i++) {
        struct parsed p = parse_reply(w->b[i], w->n[i]);
        assert_true(p.ok);
        assert_int_equal(p.id, 0x1111); /* the client's id back */
        assert_true(has_v4(&p, "192.0.2.1"));
        assert_int_equal(p.ttl[0], 30); /* relayed as the upstream said */
        other_id |= atomic_load(&up->ids_seen[i]) != 0x1111;
    }
    assert_true(other_id); /* the upstream saw ids of our own */
    struct parsed nx = parse_reply(w->b[4], w->n[4]);
    assert_int_equal(nx.id, 0x2222);
    assert_int_equal(nx.rcode, DNS_RC_NXDOMAIN);
    /* Not on this container's networks: forwarded too. */
    assert_int_equal(parse_reply(w->b[5], w->n[5]).rcode, DNS_RC_NXDOMAIN);
    /* The queries came from the host side: the upstream only exists there. */
    assert_int_equal(atomic_load(&up->udp_queries), 6);
    assert_int_equal(up->last_from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    assert_int_equal(dns_server_stats(f->srv)->relayed, 6);
    assert_int_equal(dns_ctr_inflight(f->ctr[0]), 0);
    free(w);
    free(up);
}

struct one_run {
    const char *name;
    bool tcp;
    ssize_t n;
    uint8_t b[DNS_MSG_MAX];
    uint64_t ms;
};

static void one_client(void *arg)
{
    struct one_run *o = arg;
    uint64_t t0 = mono_ms();
    o->n = o->tcp ? tcp_ask(o->name, DNS_T_A, 0x4444, o->b, sizeof(o->b))
                  : udp_ask(o->name, DNS_T_A, 0x4444, o->b, sizeof(o->b));
    o->ms = mono_ms() - t0;
}

static struct parsed ask_one(struct fx *f, int i, const char *name, bool tcp, struct one_run *o)
{
    o->name = name;
    o->tcp = tcp;
    in_ctr(f->r, ctr_ns[i], one_client, o, 15000);
    struct parsed p = parse_reply(o->b, o->n);
    assert_true(p.ok);
    assert_int_equal(p.id, 0x4444);
    return p;
}

/* SERVFAIL from the first upstream, and a closed port at the second: the next one answers. */
static void test_failover(void **state)
{
    struct dns_server_opts o = {.timeout_ms = 3000};
    struct fx *f = fx_up(state, &o);
    struct upstream *bad = xcalloc(1, sizeof(*bad)), *good = xcalloc(1, sizeof(*good));
    up_start(bad, UP_SERVFAIL);
    up_start(good, UP_ANSWER);
    int closed = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); /* a port nobody listens on */
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(closed, (struct sockaddr *)&sa, sizeof(sa));
    socklen_t sl = sizeof(sa);
    getsockname(closed, (struct sockaddr *)&sa, &sl);
    close(closed);
    struct sockaddr_storage ups[3] = {up_addr(bad->port), up_addr(ntohs(sa.sin_port)),
                                      up_addr(good->port)};
    ctr_start(f, 0, ups, 3);
    struct one_run *run = xcalloc(1, sizeof(*run));
    struct parsed p = ask_one(f, 0, "example.com", false, run);
    assert_int_equal(p.rcode, DNS_RC_NOERROR);
    assert_true(has_v4(&p, "192.0.2.1"));
    assert_true(run->ms < 2500); /* the refused port failed at once, not by the timeout */
    up_stop(bad);
    up_stop(good);
    assert_int_equal(atomic_load(&bad->udp_queries), 1);
    assert_int_equal(atomic_load(&good->udp_queries), 1);
    free(run);
    free(bad);
    free(good);
}

/* An upstream that never answers: SERVFAIL once the timeout passes; none at all: at once. */
static void test_timeout(void **state)
{
    struct dns_server_opts o = {.timeout_ms = 300};
    struct fx *f = fx_up(state, &o);
    struct upstream *silent = xcalloc(1, sizeof(*silent));
    up_start(silent, UP_SILENT);
    struct sockaddr_storage ups[1] = {up_addr(silent->port)};
    ctr_start(f, 0, ups, 1);
    ctr_start(f, 1, NULL, 0);
    struct one_run *r = xcalloc(1, sizeof(*r));
    struct parsed p = ask_one(f, 0, "example.com", false, r);
    assert_int_equal(p.rcode, DNS_RC_SERVFAIL);
    assert_false(p.flags & DNS_F_RA);
    assert_true(r->ms >= 300);
    p = ask_one(f, 1, "example.com", false, r);
    assert_int_equal(p.rcode, DNS_RC_SERVFAIL);
    assert_int_equal(dns_server_stats(f->srv)->servfail, 2);
    up_stop(silent);
    free(silent);
    free(r);
}

/* ---- TCP ---- */

struct tcp_run {
    ssize_t n[2];
    uint8_t b[2][1024];
    int ids[2];
};

/* Two queries in one write; the answers may come in either order. */
static void pipelined_client(void *arg)
{
    struct tcp_run *t = arg;
    uint8_t q[1024];
    size_t n1 = make_query(q + 2, 0x5001, "web", DNS_T_A);
    dns_put16(q, (uint16_t)n1);
    size_t n2 = make_query(q + 4 + n1, 0x5002, "db", DNS_T_AAAA);
    dns_put16(q + 2 + n1, (uint16_t)n2);
    int fd = tcp_connect();
    if (fd < 0)
        return;
    if (write(fd, q, n1 + n2 + 4) == (ssize_t)(n1 + n2 + 4))
        for (int i = 0; i < 2; i++) {
            t->n[i] = tcp_read_frame(fd, t->b[i], sizeof(t->b[i]));
            t->ids[i] = t->n[i] >= 2 ? dns_get16(t->b[i]) : -1;
        }
    close(fd);
}

static void test_tcp(void **state)
{
    struct fx *f = fx_up(state, NULL);
    struct upstream *up = xcalloc(1, sizeof(*up));
    up_start(up, UP_ANSWER);
    struct sockaddr_storage ups[1] = {up_addr(up->port)};
    ctr_start(f, 0, ups, 1);
    struct one_run *o = xcalloc(1, sizeof(*o));

    struct parsed p = ask_one(f, 0, "web", true, o);
    assert_true(has_v4(&p, "10.0.0.2"));

    struct tcp_run *t = xcalloc(1, sizeof(*t));
    in_ctr(f->r, ctr_ns[0], pipelined_client, t, 10000);
    assert_int_equal(t->ids[0] + t->ids[1], 0x5001 + 0x5002);
    for (int i = 0; i < 2; i++)
        assert_int_equal(parse_reply(t->b[i], t->n[i]).naddr, 1);

    /* Truncation: UDP gets what fits in 512 bytes and TC; TCP gets all 40. */
    p = ask_one(f, 0, "many", false, o);
    assert_true(p.flags & DNS_F_TC);
    assert_int_equal(p.naddr, 30);
    p = ask_one(f, 0, "many", true, o);
    assert_false(p.flags & DNS_F_TC);
    assert_int_equal(p.naddr, 40);

    /* Forwarded over the client's protocol: UDP relays the upstream's TC, TCP the whole. */
    p = ask_one(f, 0, "big.test", false, o);
    assert_true(p.flags & DNS_F_TC);
    assert_int_equal(p.naddr, 0);
    p = ask_one(f, 0, "big.test", true, o);
    assert_int_equal(p.naddr, 60);
    assert_int_equal(atomic_load(&up->tcp_queries), 1);
    up_stop(up);
    run_for(f->r, 20); /* the closed connections are noticed */
    assert_int_equal(dns_ctr_tcp_conns(f->ctr[0]), 0);
    free(t);
    free(o);
    free(up);
}

/* ---- floods ---- */

struct flood {
    int count;
    bool tcp_extra;
    int rcodes[16];
    int replies;
    uint64_t ms;
};

/* count queries at once from one socket, then every reply. */
static void flood_client(void *arg)
{
    struct flood *fl = arg;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    set_timeout(fd, 5000);
    connect(fd, (const struct sockaddr *)&dns_addr, sizeof(dns_addr));
    uint8_t q[512], b[1024];
    uint64_t t0 = mono_ms();
    for (int i = 0; i < fl->count; i++) {
        size_t n = make_query(q, (uint16_t)i, "example.com", DNS_T_A);
        (void)!send(fd, q, n, 0);
    }
    for (int i = 0; i < fl->count; i++) {
        ssize_t n = recv(fd, b, sizeof(b), 0);
        if (n < DNS_HDR_LEN)
            break;
        fl->replies++;
        fl->rcodes[dns_get16(b + 2) & DNS_F_RCODE]++;
    }
    fl->ms = mono_ms() - t0;
    close(fd);
}

struct sampler {
    struct reactor_timer t;
    struct reactor *r;
    struct dns_ctr *c;
    unsigned max;
};

static void sample(struct reactor_timer *t)
{
    struct sampler *s = container_of(t, struct sampler, t);
    unsigned n = dns_ctr_inflight(s->c);
    if (n > s->max)
        s->max = n;
    reactor_timer_start(s->r, t, 1);
}

/* 40 queries for a silent upstream with room for 8: 8 wait and get SERVFAIL, 32 get REFUSED at
 * once (dockerd's answer when its forwarding slots are taken), and no more than 8 are ever in
 * flight. */
static void test_flood_bound(void **state)
{
    struct dns_server_opts o = {.timeout_ms = 400, .max_inflight = 8};
    struct fx *f = fx_up(state, &o);
    struct upstream *silent = xcalloc(1, sizeof(*silent));
    up_start(silent, UP_SILENT);
    struct sockaddr_storage ups[1] = {up_addr(silent->port)};
    ctr_start(f, 0, ups, 1);
    struct sampler s = {.t.fn = sample, .r = f->r, .c = f->ctr[0]};
    reactor_timer_start(f->r, &s.t, 1);
    struct flood fl = {.count = 40};
    in_ctr(f->r, ctr_ns[0], flood_client, &fl, 10000);
    reactor_timer_stop(f->r, &s.t);
    assert_int_equal(fl.replies, 40);
    assert_int_equal(fl.rcodes[DNS_RC_REFUSED], 32);
    assert_int_equal(fl.rcodes[DNS_RC_SERVFAIL], 8);
    assert_true(s.max <= 8 && s.max > 0);
    assert_int_equal(dns_ctr_inflight(f->ctr[0]), 0);
    up_stop(silent);
    free(silent);
}

/* A client TCP connection beyond max_tcp is closed at once; the others still work. */
struct conns_run {
    int fds[4];
    ssize_t extra_read;
    ssize_t n;
    uint8_t b[512];
};

static void conns_client(void *arg)
{
    struct conns_run *c = arg;
    for (int i = 0; i < 3; i++)
        c->fds[i] = tcp_connect();
    usleep(100000); /* the server has accepted them */
    uint8_t x;
    c->extra_read = read(c->fds[2], &x, 1); /* 0: closed by the server */
    uint8_t q[300];
    size_t n = make_query(q + 2, 0x6001, "web", DNS_T_A);
    dns_put16(q, (uint16_t)n);
    if (write(c->fds[0], q, n + 2) == (ssize_t)(n + 2))
        c->n = tcp_read_frame(c->fds[0], c->b, sizeof(c->b));
    for (int i = 0; i < 3; i++)
        close(c->fds[i]);
}

struct idle_run {
    ssize_t n;
    uint64_t ms;
};

static void idle_client(void *arg)
{
    struct idle_run *r = arg;
    int fd = tcp_connect();
    uint64_t t0 = mono_ms();
    uint8_t x;
    r->n = fd >= 0 ? read(fd, &x, 1) : -1;
    r->ms = mono_ms() - t0;
    if (fd >= 0)
        close(fd);
}

static void test_tcp_limits(void **state)
{
    struct dns_server_opts o = {.max_tcp = 2, .tcp_idle_ms = 300};
    struct fx *f = fx_up(state, &o);
    ctr_start(f, 0, NULL, 0);
    struct conns_run c = {0};
    in_ctr(f->r, ctr_ns[0], conns_client, &c, 10000);
    assert_int_equal(c.extra_read, 0);
    struct parsed p = parse_reply(c.b, c.n);
    assert_true(has_v4(&p, "10.0.0.2"));
    run_for(f->r, 20);
    assert_int_equal(dns_ctr_tcp_conns(f->ctr[0]), 0);

    /* A connection that asks nothing is closed by the server after tcp_idle_ms. */
    struct idle_run idle = {0};
    in_ctr(f->r, ctr_ns[0], idle_client, &idle, 10000);
    assert_int_equal(idle.n, 0);
    assert_true(idle.ms >= 250);
    assert_int_equal(dns_ctr_tcp_conns(f->ctr[0]), 0);
}

/* ---- glibc's resolver as the client ---- */

struct glibc_run {
    int n_web, n_many, n_nx, herr_nx;
    uint8_t many[DNS_MSG_MAX];
};

static void glibc_client(void *arg)
{
    struct glibc_run *g = arg;
    struct __res_state st;
    memset(&st, 0, sizeof(st));
    if (res_ninit(&st) < 0)
        return;
    st.nscount = 1;
    st.nsaddr_list[0] = dns_addr;
    st.retry = 1;
    st.retrans = 3;
    uint8_t ans[DNS_MSG_MAX];
    g->n_web = res_nquery(&st, "web", C_IN, T_A, ans, sizeof(ans));
    g->n_many = res_nquery(&st, "many", C_IN, T_A, g->many, sizeof(g->many));
    g->n_nx = res_nquery(&st, "nosuch.test", C_IN, T_A, ans, sizeof(ans));
    g->herr_nx = st.res_h_errno;
    res_nclose(&st);
}

/* glibc parses our answers, follows TC to TCP for the long one, and sees NXDOMAIN relayed. */
static void test_glibc_client(void **state)
{
    struct fx *f = fx_up(state, NULL);
    struct upstream *up = xcalloc(1, sizeof(*up));
    up_start(up, UP_ANSWER);
    struct sockaddr_storage ups[1] = {up_addr(up->port)};
    ctr_start(f, 0, ups, 1);
    struct glibc_run *g = xcalloc(1, sizeof(*g));
    in_ctr(f->r, ctr_ns[0], glibc_client, g, 20000);
    up_stop(up);
    assert_true(g->n_web > DNS_HDR_LEN);
    assert_true(g->n_many > DNS_UDP_MIN);
    assert_int_equal(parse_reply(g->many, g->n_many).naddr, 40);
    assert_int_equal(g->n_nx, -1);
    assert_int_equal(g->herr_nx, HOST_NOT_FOUND);
    free(g);
    free(up);
}

/* ---- two containers, each its own view ---- */

static void test_two_containers(void **state)
{
    struct fx *f = fx_up(state, NULL);
    ctr_start(f, 0, NULL, 0);
    ctr_start(f, 1, NULL, 0);
    struct one_run *o = xcalloc(1, sizeof(*o));
    struct parsed p = ask_one(f, 0, "web", false, o);
    assert_true(has_v4(&p, "10.0.0.2"));
    p = ask_one(f, 1, "web", false, o);
    assert_int_equal(p.rcode, DNS_RC_SERVFAIL); /* not its network, and nowhere to forward */
    p = ask_one(f, 1, "lonely", false, o);
    assert_true(has_v4(&p, "10.1.0.9"));
    /* The second container joins mynet: its names appear at once. */
    struct dns_names *both[2] = {f->other, f->mynet};
    f->view1 = (struct dns_names_view){.nets = both, .n = 2};
    p = ask_one(f, 1, "web", false, o);
    assert_true(has_v4(&p, "10.0.0.2"));
    dns_ctr_stop(f->ctr[1]);
    f->ctr[1] = NULL;
    free(o);
}

/* ---- life cycle ---- */

static void busy_bind(void *arg)
{
    int *fd = arg;
    lo_up_here();
    *fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (bind(*fd, (const struct sockaddr *)&dns_addr, sizeof(dns_addr)) < 0) {
        close(*fd);
        *fd = -1;
    }
}

static void test_start_stop(void **state)
{
    struct dns_server_opts o = {.timeout_ms = 5000};
    struct fx *f = fx_up(state, &o);
    struct upstream *silent = xcalloc(1, sizeof(*silent));
    up_start(silent, UP_SILENT);
    struct sockaddr_storage ups[1] = {up_addr(silent->port)};

    /* Stopped before its job ran: no callback, nothing left. */
    struct dns_ctr_config cfg = {.lookup = dns_names_lookup(&f->view0, false)};
    struct dns_ctr *c = dns_ctr_start(f->srv, ctr_ns[0], &cfg, on_ready, f);
    dns_ctr_stop(c);
    run_for(f->r, 100);
    assert_int_equal(f->ready + f->failed, 0);

    /* Stopped with a forward in flight and a client connection open. */
    ctr_start(f, 0, ups, 1);
    struct flood fl = {.count = 3};
    struct in_ns j = {.ns = ctr_ns[0], .fn = flood_client, .arg = &fl};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, ns_thread, &j), 0);
    while (dns_ctr_inflight(f->ctr[0]) < 3)
        run_for(f->r, 5);
    dns_ctr_stop(f->ctr[0]); /* the client gets nothing and times out */
    f->ctr[0] = NULL;
    pthread_join(th, NULL);
    assert_int_equal(fl.replies, 0);

    /* The address is free again: the next server binds it. */
    ctr_start(f, 0, NULL, 0);
    struct one_run *r = xcalloc(1, sizeof(*r));
    struct parsed p = ask_one(f, 0, "web", false, r);
    assert_true(has_v4(&p, "10.0.0.2"));
    dns_ctr_stop(f->ctr[0]);
    f->ctr[0] = NULL;

    /* Someone else holds 127.0.0.11:53 there: the start fails with the bind's error. */
    int busy = -1;
    in_ctr(f->r, ctr_ns[0], busy_bind, &busy, 5000);
    assert_true(busy >= 0);
    c = dns_ctr_start(f->srv, ctr_ns[0], &cfg, on_ready, f);
    assert_true(run_until_count(f->r, &f->failed, 1, 5000));
    assert_int_equal(f->ready_status, EADDRINUSE);
    close(busy);
    up_stop(silent);
    free(silent);
    free(r);
}

/* A client asks over UDP, then over TCP, before anything serves the sockets. */
static void early_client(void *arg)
{
    struct local_run *l = arg;
    l->n[0] = udp_ask("web", DNS_T_A, 0x0201, l->b[0], sizeof(l->b[0]));
    l->n[1] = tcp_ask("www", DNS_T_A, 0x0202, l->b[1], sizeof(l->b[1]));
}

/* Bound by the start job before the container's process runs, served by the reactor after: a
 * query sent in between waits in the sockets' queues and is answered (a container's first
 * lookup). A bind that fails leaves nothing open. */
static void test_bound_then_served(void **state)
{
    struct fx *f = fx_up(state, NULL);
    int fds[2];
    struct berth_err *err = NULL;
    assert_int_equal(dns_ctr_bind(f->srv, ctr_ns[0], fds, &err), 0);
    assert_true(fds[0] >= 0 && fds[1] >= 0);
    struct local_run *l = xcalloc(1, sizeof(*l));
    struct in_ns j = {.ns = ctr_ns[0], .fn = early_client, .arg = l};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, ns_thread, &j), 0);
    usleep(50000); /* the UDP query is on its way (a slower client proves less, not fails) */
    struct dns_ctr_config cfg = {.lookup = dns_names_lookup(&f->view0, false)};
    f->ctr[0] = dns_ctr_serve(f->srv, fds, &cfg, &err);
    assert_non_null(f->ctr[0]);
    assert_int_equal(fds[0], -1);
    assert_int_equal(fds[1], -1);
    bool ok = run_until(f->r, ns_done, &j, 10000);
    pthread_join(th, NULL);
    assert_true(ok);
    for (int i = 0; i < 2; i++) {
        struct parsed p = parse_reply(l->b[i], l->n[i]);
        assert_true(p.ok);
        assert_int_equal(p.id, 0x0201 + i);
        assert_true(has_v4(&p, "10.0.0.2"));
    }
    /* the address is this server's: a second bind fails, and holds no socket */
    int again[2];
    assert_true(dns_ctr_bind(f->srv, ctr_ns[0], again, &err) < 0);
    assert_int_equal(err->status, EADDRINUSE);
    assert_int_equal(again[0], -1);
    assert_int_equal(again[1], -1);
    berth_err_free(err);
    free(l);
}

/* ---- figures ---- */

struct bench {
    int total, window;
    int answered;
    uint64_t us;
};

/* Local answers as fast as the server gives them: window queries outstanding on one socket. */
static void bench_client(void *arg)
{
    struct bench *b = arg;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    set_timeout(fd, 2000);
    int big = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    connect(fd, (const struct sockaddr *)&dns_addr, sizeof(dns_addr));
    uint8_t q[512], r[1024];
    size_t n = make_query(q, 1, "web", DNS_T_A);
    int64_t t0 = mono_us();
    int sent = 0;
    for (; sent < b->window; sent++)
        (void)!send(fd, q, n, 0);
    while (b->answered < b->total) {
        if (recv(fd, r, sizeof(r), 0) <= 0)
            break;
        b->answered++;
        if (sent < b->total) {
            (void)!send(fd, q, n, 0);
            sent++;
        }
    }
    b->us = (uint64_t)(mono_us() - t0);
    close(fd);
}

static size_t rss_kb(void)
{
    FILE *fp = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (fp) {
        if (fscanf(fp, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(fp);
    }
    return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE) / 1024;
}

static uint64_t thread_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return (uint64_t)ru.ru_utime.tv_sec * 1000000 + (uint64_t)ru.ru_utime.tv_usec +
           (uint64_t)ru.ru_stime.tv_sec * 1000000 + (uint64_t)ru.ru_stime.tv_usec;
}

static void test_figures(void **state)
{
    struct fx *f = fx_up(state, NULL);
    ctr_start(f, 0, NULL, 0);
    struct bench b = {.total = 40000, .window = 32};
    uint64_t cpu0 = thread_cpu_us(); /* the reactor's: it runs on this thread */
    in_ctr(f->r, ctr_ns[0], bench_client, &b, 60000);
    uint64_t cpu = thread_cpu_us() - cpu0;
    assert_int_equal(b.answered, b.total);
    printf("# dns %s: %d local answers in %.1f ms (%.0f/s); the reactor thread used %.1f ms of "
           "CPU: %.2f us per query, %.0f queries per CPU-second\n",
           f->backend, b.total, b.us / 1000.0, b.total * 1e6 / (double)b.us, cpu / 1000.0,
           (double)cpu / b.total, b.total * 1e6 / (double)cpu);
    dns_ctr_stop(f->ctr[0]);
    f->ctr[0] = NULL;

    /* Many container servers at once, each in a fresh netns: start until serving (the pool
     * job's setns, lo, two sockets), memory, stop. */
    enum { M = 50 };
    int ns[M];
    struct dns_ctr *cs[M];
    for (int i = 0; i < M; i++) {
        ns[i] = make_netns();
        assert_true(ns[i] >= 0);
    }
    size_t rss0 = rss_kb();
    int want = f->ready + M;
    int64_t t0 = mono_us();
    for (int i = 0; i < M; i++) {
        struct dns_ctr_config cfg = {.lookup = dns_names_lookup(&f->view0, false)};
        cs[i] = dns_ctr_start(f->srv, ns[i], &cfg, on_ready, f);
    }
    assert_true(run_until_count(f->r, &f->ready, want, 10000));
    int64_t start_us = (mono_us() - t0) / M;
    size_t rss1 = rss_kb();
    t0 = mono_us();
    for (int i = 0; i < M; i++)
        dns_ctr_stop(cs[i]);
    int64_t stop_us = (mono_us() - t0) / M;
    printf("# dns %s: per container: start until serving %lld us (%d at once, 2 pool threads), "
           "stop %lld us; struct dns_ctr %zu bytes, 2 descriptors (UDP socket, TCP listener), 2 "
           "reactor "
           "slots; RSS +%zu KiB for %d servers\n",
           f->backend, (long long)start_us, M, (long long)stop_us, sizeof(struct dns_ctr),
           rss1 - rss0, M);
    for (int i = 0; i < M; i++)
        close(ns[i]);
}

/* The host's resolv.conf as the upstream list: nameservers only, the embedded server's own
 * address left out, at most three, IPv6 with a zone. */
static void test_upstreams_parse(void **state)
{
    (void)state;
    const char *conf = "# generated\n"
                       "search example.org\n"
                       "nameserver 127.0.0.11\n"
                       "nameserver 192.0.2.53\n"
                       "  nameserver   2001:db8::1  \n"
                       "nameserver not-an-address\n"
                       "nameserver fe80::1%lo\n"
                       "options ndots:2\n"
                       "nameserver 198.51.100.1\n";
    struct sockaddr_storage up[DNS_MAX_UPSTREAM];
    size_t n = dns_upstreams_parse(conf, "127.0.0.11", up, DNS_MAX_UPSTREAM);
    assert_int_equal(n, 3);
    char text[INET6_ADDRSTRLEN];
    const struct sockaddr_in *a = (const struct sockaddr_in *)&up[0];
    assert_int_equal(a->sin_family, AF_INET);
    assert_int_equal(ntohs(a->sin_port), 53);
    assert_string_equal(inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text)), "192.0.2.53");
    const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)&up[1];
    assert_int_equal(b->sin6_family, AF_INET6);
    assert_string_equal(inet_ntop(AF_INET6, &b->sin6_addr, text, sizeof(text)), "2001:db8::1");
    const struct sockaddr_in6 *c = (const struct sockaddr_in6 *)&up[2];
    assert_string_equal(inet_ntop(AF_INET6, &c->sin6_addr, text, sizeof(text)), "fe80::1");
    assert_int_equal(c->sin6_scope_id, if_nametoindex("lo"));
    assert_int_equal(dns_upstreams_parse("", NULL, up, 3), 0);
    assert_int_equal(dns_upstreams_parse("nameserver 10.0.0.1", NULL, up, 3), 1); /* no newline */
}

#define BOTH(fn) BOTH_BACKENDS(fn, setup, teardown)

int main(void)
{
    /* Everything this test makes lives in netns of its own. */
    if (unshare(CLONE_NEWNET) == 0 && lo_up_here() == 0) {
        ctr_ns[0] = make_netns();
        ctr_ns[1] = make_netns();
        netns_ok = ctr_ns[0] >= 0 && ctr_ns[1] >= 0;
    }
    if (!netns_ok)
        printf("# no private netns (not root?): the DNS server tests are skipped\n");
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstreams_parse),
        BOTH(test_local_udp),
        BOTH(test_forward),
        BOTH(test_failover),
        BOTH(test_timeout),
        BOTH(test_tcp),
        BOTH(test_flood_bound),
        BOTH(test_tcp_limits),
        BOTH(test_glibc_client),
        BOTH(test_two_containers),
        BOTH(test_start_stop),
        BOTH(test_bound_then_served),
        BOTH(test_figures),
    };
    int r = cmocka_run_group_tests_name("dns", tests, NULL, NULL);
    for (int i = 0; i < 2; i++)
        if (ctr_ns[i] >= 0)
            close(ctr_ns[i]);
    return r;
}
