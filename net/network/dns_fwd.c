/* net/network/dns_fwd.c — queries the embedded DNS server cannot answer, sent to the upstream
 * resolvers from berthd's own netns (the container may have no route to them), as dockerd's
 * forwardExtDNS does: each upstream in turn, over the protocol the client used, on a socket of
 * its own (a fresh source port per query, and the kernel drops what another peer sends), with a
 * random query id mapped back to the client's, a timeout per try, SERVFAIL and REFUSED taken as
 * "try the next one", and at most max_inflight queries per container. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "net/network/dns_priv.h"

struct dns_fwd {
    struct dns_ctr *c;
    struct dns_fwd *next, **pprev;
    struct dns_client to;
    struct dns_query q; /* the client's id and question, for the reply and the checks */
    uint16_t up_id;
    bool tcp;
    uint8_t *msg; /* the query as sent upstream: the client's bytes with up_id */
    size_t len;
    size_t server; /* the upstream being tried */
    struct rio *io;
    struct reactor_timer timer;
    struct buf in; /* TCP: the reply so far */
};

static void *memdup(const void *p, size_t n)
{
    void *d = xmalloc(n);
    memcpy(d, p, n);
    return d;
}

static void finish(struct dns_fwd *f)
{
    struct dns_ctr *c = f->c;
    *f->pprev = f->next;
    if (f->next)
        f->next->pprev = f->pprev;
    c->inflight--;
    reactor_io_close(f->io);
    reactor_timer_stop(c->s->r, &f->timer);
    if (f->to.conn)
        dns_tcp_forward_done(f->to.conn);
    buf_free(&f->in);
    free(f->msg);
    free(f);
}

/* No upstream answered: SERVFAIL, as dockerd. */
static void fail(struct dns_fwd *f)
{
    struct dns_ctr *c = f->c;
    c->s->stats.servfail++;
    size_t n = dns_resolve_fail(&f->q, DNS_RC_SERVFAIL, c->s->scratch);
    dns_ctr_reply(c, &f->to, c->s->scratch, n);
    finish(f);
}

static void try_from(struct dns_fwd *f, size_t server);

static void try_next(struct dns_fwd *f)
{
    reactor_io_close(f->io);
    f->io = NULL;
    buf_reset(&f->in);
    try_from(f, f->server + 1);
}

/* The upstream's reply: relayed with the client's id when it is well formed, is the answer to
 * our question, and is not a failure another upstream might not share. */
static void on_reply(struct dns_fwd *f, const uint8_t *msg, size_t len)
{
    struct dns_ctr *c = f->c;
    struct dns_header h;
    if (dns_msg_check(msg, len, &h) < 0 || !(h.flags & DNS_F_QR) || h.id != f->up_id ||
        !dns_msg_has_question(msg, len, &f->q.q)) {
        log_debug("dns: upstream %zu sent a reply that is not ours or not well formed", f->server);
        try_next(f);
        return;
    }
    int rcode = h.flags & DNS_F_RCODE;
    if (rcode == DNS_RC_SERVFAIL || rcode == DNS_RC_REFUSED) {
        try_next(f);
        return;
    }
    uint8_t *out = c->s->scratch;
    memcpy(out, msg, len);
    dns_put16(out, f->q.h.id);
    c->s->stats.relayed++;
    dns_ctr_reply(c, &f->to, out, len);
    finish(f);
}

static void on_sent(void *ctx, int res)
{
    struct dns_fwd *f = ctx;
    if (res < 0)
        try_next(f); /* e.g. no route, or the port unreachable reported on this socket */
}

static void on_udp_reply(void *ctx, const char *data, ssize_t n)
{
    struct dns_fwd *f = ctx;
    if (n <= 0) {
        try_next(f);
        return;
    }
    on_reply(f, (const uint8_t *)data, (size_t)n);
}

static void on_tcp_reply(void *ctx, const char *data, ssize_t n)
{
    struct dns_fwd *f = ctx;
    if (n <= 0) {
        try_next(f);
        return;
    }
    buf_append(&f->in, data, (size_t)n);
    if (f->in.len < 2)
        return;
    size_t len = dns_get16((uint8_t *)f->in.data);
    if (f->in.len >= 2 + len)
        on_reply(f, (uint8_t *)f->in.data + 2, len);
}

static void on_connected(void *ctx, int revents)
{
    struct dns_fwd *f = ctx;
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (revents < 0 || getsockopt(reactor_io_fd(f->io), SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 ||
        soerr != 0) {
        try_next(f);
        return;
    }
    char *frame = xmalloc(2 + f->len);
    dns_put16((uint8_t *)frame, (uint16_t)f->len);
    memcpy(frame + 2, f->msg, f->len);
    if (reactor_send(f->io, frame, 2 + f->len, on_sent) < 0 ||
        reactor_recv(f->io, on_tcp_reply) < 0)
        try_next(f);
}

/* A socket of berthd's netns (this runs on the reactor thread, which never leaves it),
 * connected to the upstream. 0, or -errno when this upstream cannot be tried. */
static int open_upstream(struct dns_fwd *f, const struct sockaddr_storage *up)
{
    socklen_t len =
        up->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int fd = socket(up->ss_family,
                    (f->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (const struct sockaddr *)up, len) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return -e;
    }
    f->io = reactor_io_open(f->c->s->r, fd, f);
    if (f->tcp)
        return reactor_poll(f->io, POLLOUT, on_connected);
    int r = reactor_recv(f->io, on_udp_reply);
    if (r == 0)
        r = reactor_send(f->io, memdup(f->msg, f->len), f->len, on_sent);
    return r;
}

static void on_timeout(struct reactor_timer *t)
{
    struct dns_fwd *f = container_of(t, struct dns_fwd, timer);
    log_debug("dns: upstream %zu did not answer in %u ms", f->server, f->c->s->o.timeout_ms);
    try_next(f);
}

static void try_from(struct dns_fwd *f, size_t server)
{
    struct dns_ctr *c = f->c;
    for (f->server = server; f->server < c->nupstream; f->server++) {
        if (open_upstream(f, &c->upstream[f->server]) == 0) {
            reactor_timer_start(c->s->r, &f->timer, c->s->o.timeout_ms);
            return;
        }
        reactor_io_close(f->io);
        f->io = NULL;
    }
    fail(f);
}

void dns_fwd_start(struct dns_ctr *c, const struct dns_client *from, const struct dns_query *q,
                   const uint8_t *msg, size_t len, bool tcp)
{
    struct dns_server *s = c->s;
    if (c->nupstream == 0 || c->inflight >= s->o.max_inflight) {
        /* dockerd answers REFUSED when its forwarding slots stay taken, SERVFAIL when no
         * upstream is there to ask. */
        enum dns_rcode rc = c->nupstream == 0 ? DNS_RC_SERVFAIL : DNS_RC_REFUSED;
        if (rc == DNS_RC_SERVFAIL)
            s->stats.servfail++;
        else
            s->stats.refused++;
        size_t n = dns_resolve_fail(q, rc, s->scratch);
        dns_ctr_reply(c, from, s->scratch, n);
        return;
    }
    struct dns_fwd *f = xcalloc(1, sizeof(*f));
    f->c = c;
    f->to = *from;
    f->q = *q;
    f->tcp = tcp;
    f->up_id = (uint16_t)arc4random();
    f->msg = memdup(msg, len);
    f->len = len;
    dns_put16(f->msg, f->up_id);
    f->timer.fn = on_timeout;
    f->next = c->fwds;
    f->pprev = &c->fwds;
    if (c->fwds)
        c->fwds->pprev = &f->next;
    c->fwds = f;
    c->inflight++;
    if (from->conn)
        dns_tcp_forward_begin(from->conn);
    s->stats.forwarded++;
    try_from(f, 0);
}

void dns_fwd_drop_all(struct dns_ctr *c)
{
    while (c->fwds)
        finish(c->fwds);
}
