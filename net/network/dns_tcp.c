/* net/network/dns_tcp.c — DNS over TCP from the container side: two-byte length frames,
 * queries pipelined, replies in whatever order they are ready (RFC 7766), a bounded number of
 * connections, queries and unread replies, and an idle timeout, as dockerd's DNS library
 * serves it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "net/network/dns_priv.h"

/* Replies a client has not read yet: past this it is not reading, and it is dropped. */
#define OUT_MAX (256 * 1024)

struct dns_tcpconn {
    struct dns_ctr *c;
    struct dns_tcpconn *next, **pprev;
    struct rio *io;
    struct buf in, out;
    struct reactor_timer idle;
    unsigned pending; /* forwards still to answer here */
    unsigned queries;
    bool sending;
    bool done_reading; /* EOF, or its query budget spent */
    bool closed;
    bool busy; /* inside on_recv: freeing waits for it to return */
};

/* Closing unlinks the connection at once; the struct lives while forwards still point at it. */
static void conn_close(struct dns_tcpconn *conn)
{
    if (!conn->closed) {
        conn->closed = true;
        reactor_io_close(conn->io);
        conn->io = NULL;
        reactor_timer_stop(conn->c->s->r, &conn->idle);
        *conn->pprev = conn->next;
        if (conn->next)
            conn->next->pprev = conn->pprev;
        conn->c->ntcp--;
    }
    if (conn->pending == 0 && !conn->busy) {
        buf_free(&conn->in);
        buf_free(&conn->out);
        free(conn);
    }
}

/* A client that has sent its last query is closed once every answer has gone out. */
static void close_if_finished(struct dns_tcpconn *conn)
{
    if (conn->done_reading && conn->pending == 0 && !conn->sending && conn->out.len == 0)
        conn_close(conn);
}

static void flush(struct dns_tcpconn *conn);

static void on_sent(void *ctx, int res)
{
    struct dns_tcpconn *conn = ctx;
    conn->sending = false;
    if (res < 0) {
        conn_close(conn);
        return;
    }
    flush(conn);
    close_if_finished(conn);
}

static void flush(struct dns_tcpconn *conn)
{
    if (conn->sending || conn->out.len == 0 || conn->closed)
        return;
    size_t len;
    char *data = buf_steal(&conn->out, &len);
    conn->sending = true;
    if (reactor_send(conn->io, data, len, on_sent) < 0) {
        conn->sending = false;
        conn_close(conn);
    }
}

void dns_tcp_send(struct dns_tcpconn *conn, const uint8_t *msg, size_t len)
{
    if (conn->closed)
        return;
    if (conn->out.len + 2 + len > OUT_MAX) {
        conn->c->s->stats.dropped++;
        conn_close(conn);
        return;
    }
    uint8_t hdr[2];
    dns_put16(hdr, (uint16_t)len);
    buf_append(&conn->out, hdr, 2);
    buf_append(&conn->out, msg, len);
    flush(conn);
}

void dns_tcp_forward_begin(struct dns_tcpconn *conn)
{
    conn->pending++;
}

void dns_tcp_forward_done(struct dns_tcpconn *conn)
{
    conn->pending--;
    if (conn->closed)
        conn_close(conn); /* frees it once nothing points at it */
    else
        close_if_finished(conn);
}

/* Serve every whole frame received so far. */
static void serve_frames(struct dns_tcpconn *conn)
{
    struct dns_ctr *c = conn->c;
    size_t off = 0;
    while (!conn->closed && !conn->done_reading && conn->in.len - off >= 2) {
        size_t len = dns_get16((uint8_t *)conn->in.data + off);
        if (conn->in.len - off < 2 + len)
            break;
        struct dns_client cl = {.conn = conn};
        dns_ctr_query(c, &cl, (uint8_t *)conn->in.data + off + 2, len);
        off += 2 + len;
        if (++conn->queries >= c->s->o.tcp_max_queries)
            conn->done_reading = true;
    }
    buf_consume(&conn->in, off);
}

static void on_recv(void *ctx, const char *data, ssize_t n)
{
    struct dns_tcpconn *conn = ctx;
    if (n <= 0) {
        conn->done_reading = true;
        close_if_finished(conn);
        return;
    }
    if (conn->done_reading)
        return; /* bytes past the last query we serve */
    buf_append(&conn->in, data, (size_t)n);
    conn->busy = true;
    serve_frames(conn);
    conn->busy = false;
    if (conn->closed) {
        conn_close(conn);
        return;
    }
    if (conn->done_reading)
        reactor_recv_pause(conn->io);
    reactor_timer_start(conn->c->s->r, &conn->idle, conn->c->s->o.tcp_idle_ms);
    close_if_finished(conn);
}

static void on_idle(struct reactor_timer *t)
{
    struct dns_tcpconn *conn = container_of(t, struct dns_tcpconn, idle);
    if (conn->pending > 0 || conn->sending)
        reactor_timer_start(conn->c->s->r, t, conn->c->s->o.tcp_idle_ms);
    else
        conn_close(conn);
}

void dns_tcp_accept(void *ctx, int fd)
{
    struct dns_ctr *c = ctx;
    if (fd < 0) {
        log_warn("dns: accept on %s: %s", c->s->o.addr, strerror(-fd));
        dns_ctr_accept_later(c);
        return;
    }
    if (c->ntcp >= c->s->o.max_tcp) {
        close(fd); /* the client falls back to UDP or retries */
        c->s->stats.dropped++;
        return;
    }
    struct dns_tcpconn *conn = xcalloc(1, sizeof(*conn));
    conn->c = c;
    conn->io = reactor_io_open(c->s->r, fd, conn);
    conn->idle.fn = on_idle;
    conn->next = c->conns;
    conn->pprev = &c->conns;
    if (c->conns)
        c->conns->pprev = &conn->next;
    c->conns = conn;
    c->ntcp++;
    reactor_timer_start(c->s->r, &conn->idle, c->s->o.tcp_idle_ms);
    if (reactor_recv(conn->io, on_recv) < 0)
        conn_close(conn);
}

void dns_tcp_close_all(struct dns_ctr *c)
{
    while (c->conns)
        conn_close(c->conns);
}
