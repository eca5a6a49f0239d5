/* net/registry/hclient.c — HTTP/1.1 client on the reactor: non-blocking dials, TLS over memory
 * buffers, keep-alive reuse, redirects, timeouts and streamed bodies with back-pressure both ways.
 */
#include "net/registry/hclient.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "net/registry/tls.h"

#define IDLE_TIMEOUT_MS   30000 /* dockerd's IdleConnTimeout */
#define IDLE_MAX_TOTAL    64
#define CONN_QUEUE        (256 * 1024) /* request bytes handed to a connection ahead of the socket */
#define HIGH_WATER        (1024 * 1024) /* hreq_write() says "wait" beyond this much queued */
#define LOW_WATER         (256 * 1024)  /* ... and on_drain runs once the queue falls below this */
#define MAX_ADDRS         8
#define READ_CHUNK        16384
#define MAX_RESPONSE_HEAD (1 << 20) /* Go's MaxResponseHeaderBytes */

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

struct hurl {
    bool tls;
    int port;
    char *host;      /* without brackets */
    char *authority; /* as written: the Host header and the certs.d directory name */
    char *hostport;  /* host:port with the port always there, for keys and error words */
    char *target;    /* /path?query */
};

enum conn_state { CONN_DIALING, CONN_HANDSHAKE, CONN_READY };

struct resolve_job;

struct hconn {
    struct hclient *hc;
    struct hconn *next, *prev;
    int refs; /* the list's reference while open, plus callbacks in progress */
    bool closed, idle, reused, got_bytes, use_tls, insecure;
    enum conn_state state;
    char *key, *host, *authority, *hostport;
    int port;
    struct rio *io;
    struct resolve_job *resolving;
    struct tls_wait tls_wait;
    struct tls_config *tls_conf;
    struct tls_session *tls;
    struct sockaddr_storage addrs[MAX_ADDRS];
    socklen_t addr_lens[MAX_ADDRS];
    int naddrs, next_addr, cur_addr;
    struct berth_err *dial_err; /* the first failure, reported when every address failed */
    char laddr[64], raddr[64];
    struct http_reader rd;
    struct hreq *q;
    struct buf out;  /* bytes waiting for the send in flight */
    size_t inflight; /* bytes of the send in flight */
    struct reactor_timer idle_timer;
};

enum req_state { REQ_IDLE, REQ_CONNECTING, REQ_ACTIVE, REQ_DONE };
enum resp_mode { RESP_DELIVER, RESP_SKIP, RESP_REDIRECT, RESP_INTERCEPT };

struct hreq {
    struct hclient *hc;
    struct hreq *next, *prev;
    int refs; /* the caller's (until on_done returned or cancel), plus callbacks in progress */
    enum req_state state;
    bool cancelled, reported;
    char *method, *headers, *auth_headers;
    struct buf body;
    bool has_body, stream_body, insecure_tls, strip_auth, stale_retried;
    int64_t stream_len, written, stream_sent;
    int max_redirects, redirects, redirect_status;
    void (*on_head)(void *ctx, const struct http_msg *resp);
    void (*on_body)(void *ctx, const char *data, size_t n);
    void (*on_drain)(void *ctx);
    void (*on_done)(void *ctx, int res, const struct berth_err *err);
    void *ctx;
    struct hreq_hooks hooks;
    bool hooked;
    struct hurl url;
    char *url_str, *origin_hostport, *location;
    struct hconn *conn;
    /* upload */
    struct buf pending; /* streamed body bytes (framed) not yet handed to a connection */
    bool ended, want_drain, head_sent, upload_done, body_dropped;
    /* response */
    bool head_handled, paused, complete_pending;
    enum resp_mode mode;
    struct buf held; /* body bytes that arrived while paused */
    int res;
    struct berth_err *err;
    struct reactor_timer timer; /* connect timeout, then io timeout */
    struct reactor_timer kick;  /* deferred work: on_done, or delivery after a resume */
};

struct hclient {
    struct reactor *r;
    struct pool *pool;
    uint64_t connect_timeout_ms, io_timeout_ms;
    unsigned max_idle;
    struct tls_cache *tls;
    struct hconn *conns;
    struct hreq *reqs;
};

struct resolve_job {
    struct pool_job job;
    struct hconn *c; /* NULL once the connection is gone */
    char *host;
    int port, gai;
    struct sockaddr_storage addrs[MAX_ADDRS];
    socklen_t lens[MAX_ADDRS];
    int n;
};

static void conn_on_recv(void *ctx, const char *data, ssize_t n);
static void req_start(struct hreq *q);
static void req_finish(struct hreq *q, struct berth_err *err);
static int req_send_head(struct hreq *q);

/* ---- words ---- */

/* Go's spelling of syscall errors: glibc's text with a lower-case first letter. */
static const char *errno_words(int e, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", strerror(e));
    buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}

/* "Get", "Head", "Put": how Go's url.Error names the operation. */
static char *op_word(const char *method)
{
    char *s = xstrdup(method);
    for (char *p = s + 1; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    s[0] = (char)toupper((unsigned char)s[0]);
    return s;
}

/* Wrap a cause as Go's url.Error does: `Get "URL": cause`. Takes err. */
static struct berth_err *req_wrap(struct hreq *q, struct berth_err *err)
{
    _cleanup_free_ char *op = op_word(q->method);
    struct berth_err *e = NULL;
    berth_user_error(&e, err ? err->status : EIO, "%s \"%s\": %s", op, q->url_str,
                     err ? err->msg : "request failed");
    berth_err_free(err);
    return e;
}

static struct berth_err *words(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static struct berth_err *words(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *text = xvasprintf(fmt, ap);
    va_end(ap);
    struct berth_err *e = NULL;
    berth_user_error(&e, status, "%s", text);
    return e;
}

/* ---- URLs ---- */

static void url_free(struct hurl *u)
{
    free(u->host);
    free(u->authority);
    free(u->hostport);
    free(u->target);
    memset(u, 0, sizeof(*u));
}

static int parse_port(const char *s, int *port)
{
    if (!*s || strlen(s) > 5 || strspn(s, "0123456789") != strlen(s))
        return -1;
    *port = atoi(s);
    return *port > 0 && *port < 65536 ? 0 : -1;
}

/* Split HOST[:PORT] or [V6][:PORT]. */
static int parse_authority(const char *a, struct hurl *u)
{
    const char *port = NULL;
    if (a[0] == '[') {
        const char *end = strchr(a, ']');
        if (!end || (end[1] && end[1] != ':'))
            return -1;
        u->host = xstrndup(a + 1, (size_t)(end - a - 1));
        port = end[1] == ':' ? end + 2 : NULL;
    } else {
        const char *colon = strrchr(a, ':');
        u->host = colon ? xstrndup(a, (size_t)(colon - a)) : xstrdup(a);
        port = colon ? colon + 1 : NULL;
    }
    u->port = u->tls ? 443 : 80;
    if (!u->host[0] || (port && parse_port(port, &u->port) < 0))
        return -1;
    bool v6 = strchr(u->host, ':') != NULL;
    u->hostport = xasprintf(v6 ? "[%s]:%d" : "%s:%d", u->host, u->port);
    u->authority = xstrdup(a);
    return 0;
}

static int url_parse(const char *s, struct hurl *u, struct berth_err **err)
{
    memset(u, 0, sizeof(*u));
    const char *rest = NULL;
    if (strncasecmp(s, "http://", 7) == 0)
        rest = s + 7;
    else if (strncasecmp(s, "https://", 8) == 0)
        rest = s + 8, u->tls = true;
    if (!rest) {
        size_t n = strcspn(s, ":");
        return berth_user_error(err, EINVAL, "unsupported protocol scheme \"%.*s\"",
                                s[n] ? (int)n : 0, s);
    }
    size_t alen = strcspn(rest, "/?#");
    _cleanup_free_ char *authority = xstrndup(rest, alen);
    if (strchr(authority, '@') || parse_authority(authority, u) < 0) {
        url_free(u);
        return berth_user_error(
            err, EINVAL, alen ? "invalid host in URL: %s" : "http: no Host in request URL%.0s",
            authority);
    }
    const char *path = rest + alen;
    size_t plen = strcspn(path, "#");
    u->target = path[0] == '/' ? xstrndup(path, plen) : xasprintf("/%.*s", (int)plen, path);
    return 0;
}

/* Where a Location header points, relative to the request's URL. */
static char *url_resolve(const struct hurl *base, const char *loc)
{
    const char *scheme = base->tls ? "https" : "http";
    if (strncasecmp(loc, "http://", 7) == 0 || strncasecmp(loc, "https://", 8) == 0)
        return xstrdup(loc);
    if (strncmp(loc, "//", 2) == 0)
        return xasprintf("%s:%s", scheme, loc);
    if (loc[0] == '/')
        return xasprintf("%s://%s%s", scheme, base->authority, loc);
    size_t dir = strcspn(base->target, "?");
    while (dir > 0 && base->target[dir - 1] != '/')
        dir--;
    return xasprintf("%s://%s%.*s%s", scheme, base->authority, (int)dir, base->target, loc);
}

/* ---- connections: life cycle and the idle pool ---- */

static void conn_free(struct hconn *c)
{
    tls_session_free(c->tls);
    http_reader_free(&c->rd);
    buf_free(&c->out);
    berth_err_free(c->dial_err);
    free(c->key);
    free(c->host);
    free(c->authority);
    free(c->hostport);
    free(c);
}

static void conn_ref(struct hconn *c)
{
    c->refs++;
}

static void conn_unref(struct hconn *c)
{
    if (--c->refs == 0)
        conn_free(c);
}

static void list_unlink(struct hconn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->hc->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
}

static void list_push(struct hconn *c)
{
    c->next = c->hc->conns;
    c->prev = NULL;
    if (c->next)
        c->next->prev = c;
    c->hc->conns = c;
}

/* Close the socket and forget the connection; its memory goes with the last reference, so a
 * callback further up the stack may still look at it. The request, if any, is detached. */
static void conn_close(struct hconn *c)
{
    if (c->closed)
        return;
    c->closed = true;
    list_unlink(c);
    reactor_timer_stop(c->hc->r, &c->idle_timer);
    if (c->resolving) {
        c->resolving->c = NULL; /* the job frees itself when the pool is done with it */
        c->resolving = NULL;
    }
    tls_wait_cancel(&c->tls_wait);
    if (c->io) {
        reactor_io_close(c->io);
        c->io = NULL;
    }
    if (c->q) {
        c->q->conn = NULL;
        c->q = NULL;
    }
    conn_unref(c);
}

static void conn_on_idle_timeout(struct reactor_timer *t)
{
    conn_close(container_of(t, struct hconn, idle_timer));
}

static int rd_head(void *ctx, struct http_msg *m);
static int rd_body(void *ctx, const char *p, size_t n);

static struct hconn *conn_new(struct hclient *hc, const struct hurl *u, bool insecure,
                              const char *key)
{
    struct hconn *c = xcalloc(1, sizeof(*c));
    c->hc = hc;
    c->refs = 1;
    c->key = xstrdup(key);
    c->host = xstrdup(u->host);
    c->authority = xstrdup(u->authority);
    c->hostport = xstrdup(u->hostport);
    c->port = u->port;
    c->use_tls = u->tls;
    c->insecure = insecure;
    c->idle_timer.fn = conn_on_idle_timeout;
    struct http_limits limits = {
        .max_header_bytes = MAX_RESPONSE_HEAD, .max_headers = 1000, .max_body = SIZE_MAX};
    http_reader_init(&c->rd, HTTP_RESPONSE, &limits);
    c->rd.on_head = rd_head;
    c->rd.on_body = rd_body;
    c->rd.ctx = c;
    list_push(c);
    return c;
}

static char *conn_key(const struct hurl *u, bool insecure)
{
    return xasprintf("%s://%s|%s%s", u->tls ? "https" : "http", u->authority, u->hostport,
                     u->tls && insecure ? "|insecure" : "");
}

/* The most recently used idle connection for key, taken out of the idle pool. */
static struct hconn *idle_take(struct hclient *hc, const char *key)
{
    for (struct hconn *c = hc->conns; c; c = c->next)
        if (c->idle && strcmp(c->key, key) == 0) {
            c->idle = false;
            reactor_timer_stop(hc->r, &c->idle_timer);
            return c;
        }
    return NULL;
}

static bool idle_has_room(struct hclient *hc, const char *key)
{
    unsigned same = 0, all = 0;
    for (struct hconn *c = hc->conns; c; c = c->next)
        if (c->idle) {
            all++;
            same += strcmp(c->key, key) == 0;
        }
    return same < hc->max_idle && all < IDLE_MAX_TOTAL;
}

static void conn_attach(struct hconn *c, struct hreq *q)
{
    c->q = q;
    q->conn = c;
    c->got_bytes = false;
    c->rd.skip_body = strcasecmp(q->method, "HEAD") == 0;
}

/* The response is over: keep the connection for the next request to this host, or close it. */
static void conn_release(struct hconn *c, bool keep)
{
    if (c->q) {
        c->q->conn = NULL;
        c->q = NULL;
    }
    if (c->closed)
        return;
    if (!keep || !idle_has_room(c->hc, c->key) || reactor_recv(c->io, conn_on_recv) < 0) {
        conn_close(c);
        return;
    }
    c->idle = true;
    c->reused = true;
    list_unlink(c); /* to the front: idle_take() prefers the warmest connection */
    list_push(c);
    reactor_timer_start(c->hc->r, &c->idle_timer, IDLE_TIMEOUT_MS);
}

/* ---- connections: output ---- */

static size_t conn_queued(const struct hconn *c)
{
    return c->out.len + c->inflight;
}

static void conn_fail(struct hconn *c, struct hreq *q, struct berth_err *err)
{
    conn_close(c);
    if (q && q->state != REQ_DONE)
        req_finish(q, req_wrap(q, err));
    else
        berth_err_free(err);
}

static bool req_may_retry(const struct hreq *q, const struct hconn *c);

/* A socket error: a request that met a kept-alive connection the server had already closed is
 * sent again on a new one, as Go's transport does; anything else ends the request. */
static void conn_io_failed(struct hconn *c, struct hreq *q, int e, const char *op)
{
    if (q && req_may_retry(q, c)) {
        conn_close(c);
        q->stale_retried = true;
        req_start(q);
        return;
    }
    char w[128];
    conn_fail(c, q,
              words(e, "%s tcp %s->%s: %s: %s", op, c->laddr, c->raddr, op,
                    errno_words(e, w, sizeof(w))));
}

static void conn_on_sent(void *ctx, int res);

static int conn_flush(struct hconn *c)
{
    if (c->closed || c->inflight || c->out.len == 0 || !c->io)
        return 0;
    size_t len;
    char *data = buf_steal(&c->out, &len);
    c->inflight = len;
    int r = reactor_send(c->io, data, len, conn_on_sent);
    if (r < 0) {
        c->inflight = 0;
        conn_io_failed(c, c->q, -r, "write");
        return -1;
    }
    return 0;
}

/* Plain bytes for the peer: encrypted first on https. Fails only when TLS does. */
static int conn_write(struct hconn *c, const void *data, size_t n)
{
    if (!c->tls) {
        buf_append(&c->out, data, n);
        return 0;
    }
    struct berth_err *err = NULL;
    if (tls_session_write(c->tls, data, n, &err) < 0) {
        conn_fail(c, c->q, err);
        return -1;
    }
    return 0;
}

/* ---- requests: helpers ---- */

static void req_ref(struct hreq *q)
{
    q->refs++;
}

static void req_unref(struct hreq *q)
{
    if (--q->refs > 0)
        return;
    free(q->method);
    free(q->headers);
    free(q->auth_headers);
    buf_free(&q->body);
    buf_free(&q->pending);
    buf_free(&q->held);
    url_free(&q->url);
    free(q->url_str);
    free(q->origin_hostport);
    free(q->location);
    berth_err_free(q->err);
    free(q);
}

/* (Re)start the io timeout: bytes moved. A paused response is the consumer's choice, not a
 * stalled peer, so it does not count. */
static void req_touch(struct hreq *q)
{
    if (q->state == REQ_ACTIVE && !q->paused && q->hc->io_timeout_ms)
        reactor_timer_start(q->hc->r, &q->timer, q->hc->io_timeout_ms);
}

static bool req_may_retry(const struct hreq *q, const struct hconn *c)
{
    return c->reused && !c->got_bytes && !q->stale_retried && q->state == REQ_ACTIVE &&
           hreq_replayable(q);
}

/* Unlink the request and drop the caller's reference: no callback runs after this. */
static void req_release(struct hreq *q)
{
    struct hclient *hc = q->hc;
    reactor_timer_stop(hc->r, &q->timer);
    reactor_timer_stop(hc->r, &q->kick);
    if (q->prev)
        q->prev->next = q->next;
    else
        hc->reqs = q->next;
    if (q->next)
        q->next->prev = q->prev;
    if (q->hooked && q->hooks.release)
        q->hooks.release(q->hooks.hctx);
    q->hooked = false;
    req_unref(q);
}

/* End the request with err (taken; NULL for success). on_done runs from a zero timer, so it
 * never runs inside a caller's hreq_*() call. A failing request never leaves its connection
 * behind for reuse. */
static void req_finish(struct hreq *q, struct berth_err *err)
{
    if (q->state == REQ_DONE || q->cancelled) {
        berth_err_free(err);
        return;
    }
    q->state = REQ_DONE;
    q->err = err;
    q->res = err ? berth_err_code(err) : 0;
    reactor_timer_stop(q->hc->r, &q->timer);
    if (q->conn)
        conn_close(q->conn);
    reactor_timer_start(q->hc->r, &q->kick, 0);
}

static void req_deliver(struct hreq *q, const char *p, size_t n)
{
    if (q->on_body && n > 0)
        q->on_body(q->ctx, p, n);
}

/* Bytes held during a pause go out first; then the response completes or the socket reads
 * again. Runs from the kick timer after hreq_resume(). */
static void req_deliver_held(struct hreq *q)
{
    req_ref(q);
    /* Nothing adds to held while on_body runs (only socket reads do), so one call takes all. */
    while (q->held.len > 0 && !q->paused && !q->cancelled) {
        struct buf chunk = q->held;
        q->held = (struct buf){0};
        req_deliver(q, chunk.data, chunk.len);
        buf_free(&chunk);
    }
    if (!q->paused && !q->cancelled && q->held.len == 0) {
        if (q->complete_pending)
            req_finish(q, NULL);
        else if (q->conn && q->conn->io && q->conn->state != CONN_DIALING &&
                 reactor_recv(q->conn->io, conn_on_recv) == 0)
            req_touch(q);
    }
    req_unref(q);
}

static void req_on_kick(struct reactor_timer *t)
{
    struct hreq *q = container_of(t, struct hreq, kick);
    if (q->state != REQ_DONE) {
        req_deliver_held(q);
        return;
    }
    if (q->reported || q->cancelled)
        return;
    q->reported = true;
    req_ref(q);
    if (q->on_done)
        q->on_done(q->ctx, q->res, q->err);
    req_release(q);
    req_unref(q);
}

/* ---- responses ---- */

/* Stream every body to rd_body, except a HEAD response's (none follows, and http_parser must
 * be told to skip it, which a streamed head would not do). */
static int rd_head(void *ctx, struct http_msg *m)
{
    (void)m;
    struct hconn *c = ctx;
    return c->rd.skip_body ? 0 : 1;
}

static int rd_body(void *ctx, const char *p, size_t n)
{
    struct hconn *c = ctx;
    struct hreq *q = c->q;
    if (!q || q->mode != RESP_DELIVER || q->cancelled)
        return 0; /* a swallowed response (redirect, auth retry): drained to keep the connection */
    if (q->paused || q->held.len > 0) {
        buf_append(&q->held, p, n);
        if (q->paused && c->io)
            reactor_recv_pause(c->io); /* paused before the body started: stop the socket now */
    } else {
        req_deliver(q, p, n);
    }
    return 0;
}

static bool is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* Follow this response? 307/308 resend the body, so a streamed one that went out already
 * cannot follow and the caller gets the redirect itself, as with Go's client. */
static bool req_wants_redirect(struct hreq *q, const struct http_msg *m)
{
    const char *loc = http_msg_header(m, "Location");
    if (q->max_redirects <= 0 || !is_redirect(m->status) || !loc || !*loc)
        return false;
    if ((m->status == 307 || m->status == 308) && !hreq_replayable(q))
        return false;
    free(q->location);
    q->location = q->redirects < q->max_redirects ? url_resolve(&q->url, loc) : NULL;
    q->redirect_status = m->status;
    return true;
}

static void req_on_head(struct hreq *q, const struct http_msg *m)
{
    q->head_handled = true;
    if (m->status >= 100 && m->status < 200 && m->status != 101) {
        q->mode = RESP_SKIP;
        return;
    }
    if (req_wants_redirect(q, m)) {
        q->mode = RESP_REDIRECT;
        return;
    }
    if (q->hooked && q->hooks.head && q->redirects == 0 && q->hooks.head(q->hooks.hctx, q, m)) {
        q->mode = RESP_INTERCEPT;
        return;
    }
    q->mode = RESP_DELIVER;
    if (q->on_head)
        q->on_head(q->ctx, m);
}

/* 301/302/303 turn a request with a body into a GET without one; 307/308 keep both. Leaving
 * the origin host drops Authorization for good, as Go does. */
static void req_follow(struct hreq *q)
{
    if (!q->location)
        return req_finish(
            q, req_wrap(q, words(ELOOP, "stopped after %d redirects", q->max_redirects)));
    struct hurl next;
    struct berth_err *err = NULL;
    if (url_parse(q->location, &next, &err) < 0)
        return req_finish(q, req_wrap(q, err));
    q->redirects++;
    if (strcmp(next.hostport, q->origin_hostport) != 0 || next.tls != q->url.tls)
        q->strip_auth = true;
    bool keep = q->redirect_status == 307 || q->redirect_status == 308;
    if (!keep && strcasecmp(q->method, "GET") != 0 && strcasecmp(q->method, "HEAD") != 0) {
        free(q->method);
        q->method = xstrdup("GET");
        q->has_body = false;
        buf_free(&q->body);
        if (q->stream_body) {
            q->body_dropped = true;
            buf_free(&q->pending);
            q->want_drain = false;
        }
    }
    url_free(&q->url);
    q->url = next;
    free(q->url_str);
    q->url_str = take_ptr(q->location);
    req_start(q);
}

/* One whole response is in. extra: bytes followed it, so the connection is out of step. */
static void conn_on_message(struct hconn *c, struct hreq *q, bool extra)
{
    struct http_msg *m = http_reader_take(&c->rd);
    bool keep = m->keep_alive && !extra && q->upload_done && !q->cancelled;
    http_msg_free(m);
    conn_release(c, keep);
    reactor_timer_stop(q->hc->r, &q->timer);
    switch (q->mode) {
    case RESP_REDIRECT:
        req_follow(q);
        break;
    case RESP_INTERCEPT:
        if (q->hooked && q->hooks.again)
            q->hooks.again(q->hooks.hctx, q);
        else
            req_finish(q, req_wrap(q, words(EIO, "response swallowed without a retry")));
        break;
    default:
        if (q->paused || q->held.len > 0)
            q->complete_pending = true; /* finished by hreq_resume() */
        else
            req_finish(q, NULL);
    }
}

/* Feed response bytes to the parser. It stops after the head so the head is handled before
 * any body byte, and after a whole message. */
static void conn_parse(struct hconn *c, struct hreq *q, const char *data, size_t n)
{
    c->got_bytes = true;
    while (n > 0 && c->q == q && !c->closed) {
        size_t used = http_reader_feed(&c->rd, data, n);
        data += used;
        n -= used;
        if (c->rd.status)
            return conn_fail(c, q,
                             words(EPROTO,
                                   "net/http: HTTP/1.x transport connection broken: malformed "
                                   "HTTP response (%s)",
                                   c->rd.error));
        bool progressed = used > 0;
        if (c->rd.headers_done && !q->head_handled) {
            req_on_head(q, c->rd.msg);
            if (c->q != q || c->closed)
                return;
        }
        if (c->rd.head_paused) {
            http_reader_resume(&c->rd);
            progressed = true;
        }
        if (c->rd.done && q->mode == RESP_SKIP) {
            http_msg_free(http_reader_take(&c->rd));
            q->head_handled = false;
            continue;
        }
        if (c->rd.done)
            return conn_on_message(c, q, n > 0);
        if (!progressed)
            break;
    }
}

static void conn_on_eof(struct hconn *c, struct hreq *q)
{
    struct berth_err *err = NULL;
    if (c->state == CONN_HANDSHAKE) {
        tls_session_eof_error(c->tls, &err);
        return conn_fail(c, q, err);
    }
    if (http_reader_idle(&c->rd)) {
        if (req_may_retry(q, c)) {
            conn_close(c);
            q->stale_retried = true;
            return req_start(q);
        }
        return conn_fail(c, q, words(ECONNRESET, "EOF"));
    }
    http_reader_eof(&c->rd); /* completes a body that runs to the end of the connection */
    if (!c->rd.done)
        return conn_fail(c, q, words(EPIPE, "unexpected EOF"));
    if (c->rd.headers_done && !q->head_handled) {
        req_on_head(q, c->rd.msg);
        if (c->q != q || c->closed)
            return;
    }
    conn_on_message(c, q, true);
}

static void conn_ready(struct hconn *c)
{
    c->state = CONN_READY;
    if (c->q)
        req_send_head(c->q);
}

/* 1: done (the request went out), 0: more handshake input needed, -1: failed. */
static int conn_handshake(struct hconn *c)
{
    struct berth_err *err = NULL;
    int r = tls_session_handshake(c->tls, &err);
    if (r < 0) {
        conn_fail(c, c->q, err);
        return -1;
    }
    if (conn_flush(c) < 0)
        return -1;
    if (r == 1)
        conn_ready(c);
    return r;
}

static void conn_on_cipher(struct hconn *c, struct hreq *q, const char *data, size_t n)
{
    tls_session_feed(c->tls, data, n);
    if (c->state == CONN_HANDSHAKE && conn_handshake(c) <= 0)
        return;
    req_touch(q);
    char plain[READ_CHUNK];
    while (c->q == q && !c->closed) {
        struct berth_err *err = NULL;
        ssize_t r = tls_session_read(c->tls, plain, sizeof(plain), &err);
        if (r > 0) {
            conn_parse(c, q, plain, (size_t)r);
        } else if (r == -EPIPE) {
            conn_on_eof(c, q);
        } else if (r < 0) {
            conn_fail(c, q, err);
        } else {
            break;
        }
    }
    conn_flush(c);
}

static void conn_on_recv(void *ctx, const char *data, ssize_t n)
{
    struct hconn *c = ctx;
    struct hreq *q = c->q;
    conn_ref(c);
    if (q)
        req_ref(q);
    if (c->closed)
        ; /* a completion that raced with the close */
    else if (!q)
        conn_close(c); /* idle: the server closed it, or spoke out of turn */
    else if (n < 0)
        conn_io_failed(c, q, (int)-n, "read");
    else if (n == 0)
        conn_on_eof(c, q);
    else if (c->tls)
        conn_on_cipher(c, q, data, (size_t)n);
    else {
        req_touch(q);
        conn_parse(c, q, data, (size_t)n);
    }
    if (q)
        req_unref(q);
    conn_unref(c);
}

/* ---- uploads ---- */

/* Hand queued body bytes to the connection while it is not too far ahead of the socket. */
static int req_pump(struct hreq *q)
{
    struct hconn *c = q->conn;
    if (!c || !q->head_sent || q->upload_done || c->state != CONN_READY)
        return 0;
    if (q->pending.len > 0 && conn_queued(c) < CONN_QUEUE) {
        q->stream_sent += (int64_t)q->pending.len;
        if (conn_write(c, q->pending.data, q->pending.len) < 0)
            return -1;
        buf_reset(&q->pending);
    }
    if (q->ended && q->pending.len == 0)
        q->upload_done = true;
    return conn_flush(c);
}

static size_t req_queued(const struct hreq *q)
{
    return q->pending.len + (q->conn ? conn_queued(q->conn) : 0);
}

static void req_check_drain(struct hreq *q)
{
    if (!q->want_drain || req_queued(q) >= LOW_WATER || q->state == REQ_DONE)
        return;
    q->want_drain = false;
    if (q->on_drain)
        q->on_drain(q->ctx);
}

static void conn_on_sent(void *ctx, int res)
{
    struct hconn *c = ctx;
    struct hreq *q = c->q;
    c->inflight = 0;
    conn_ref(c);
    if (q)
        req_ref(q);
    if (res < 0) {
        conn_io_failed(c, q, -res, "write");
    } else {
        if (q)
            req_touch(q);
        if (q && req_pump(q) == 0 && c->q == q)
            req_check_drain(q);
        conn_flush(c);
    }
    if (q)
        req_unref(q);
    conn_unref(c);
}

/* Request line and headers: Host, our User-Agent, the caller's headers (without Authorization
 * once a redirect left the origin) and the body's framing. */
static void req_build_head(struct hreq *q, struct buf *h)
{
    buf_printf(h, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: berth/%s\r\n", q->method,
               q->url.target, q->url.authority, BERTH_VERSION);
    for (const char *l = q->headers; l && *l;) {
        size_t n = strcspn(l, "\n");
        if (!(q->strip_auth && strncasecmp(l, "Authorization:", 14) == 0))
            buf_printf(h, "%.*s\n", (int)n, l);
        l += n + (l[n] ? 1 : 0);
    }
    if (q->auth_headers && !q->strip_auth)
        buf_puts(h, q->auth_headers);
    if (q->stream_body && !q->body_dropped) {
        if (q->stream_len >= 0)
            buf_printf(h, "Content-Length: %lld\r\n", (long long)q->stream_len);
        else
            buf_puts(h, "Transfer-Encoding: chunked\r\n");
    } else if (q->has_body || strcasecmp(q->method, "POST") == 0 ||
               strcasecmp(q->method, "PUT") == 0 || strcasecmp(q->method, "PATCH") == 0) {
        buf_printf(h, "Content-Length: %zu\r\n", q->body.len);
    }
    buf_puts(h, "\r\n");
}

static int req_send_head(struct hreq *q)
{
    struct hconn *c = q->conn;
    q->state = REQ_ACTIVE;
    _cleanup_buf_ struct buf head = {0};
    req_build_head(q, &head);
    int r = conn_write(c, head.data, head.len);
    if (r < 0)
        return r;
    if (q->has_body && q->body.len > 0) {
        r = conn_write(c, q->body.data, q->body.len);
        if (r < 0)
            return r;
    }
    q->head_sent = true;
    q->upload_done = !q->stream_body || q->body_dropped;
    req_touch(q);
    return q->stream_body ? req_pump(q) : conn_flush(c);
}

/* ---- dialing ---- */

static const char *addr_text(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const void *)ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        port = ntohs(s6->sin6_port);
        snprintf(buf, cap, "[%s]:%d", ip, port);
    } else {
        const struct sockaddr_in *s4 = (const void *)ss;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        port = ntohs(s4->sin_port);
        snprintf(buf, cap, "%s:%d", ip, port);
    }
    return buf;
}

static void dial_note(struct hconn *c, int i, int e, const char *op)
{
    char a[64], w[128];
    if (!c->dial_err)
        c->dial_err = words(e, "dial tcp %s: %s: %s", addr_text(&c->addrs[i], a, sizeof(a)), op,
                            errno_words(e, w, sizeof(w)));
}

static void conn_connected(struct hconn *c)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = reactor_io_fd(c->io), one = 1;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
        addr_text(&ss, c->laddr, sizeof(c->laddr));
    addr_text(&c->addrs[c->cur_addr], c->raddr, sizeof(c->raddr));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int r = reactor_recv(c->io, conn_on_recv);
    if (r < 0)
        return conn_io_failed(c, c->q, -r, "read");
    if (!c->use_tls)
        return conn_ready(c);
    c->tls = tls_session_new(c->tls_conf, c->host, &c->out);
    if (!c->tls)
        return conn_fail(c, c->q, words(EIO, "tls: cannot start a session"));
    c->state = CONN_HANDSHAKE;
    conn_handshake(c);
}

static void conn_dial_next(struct hconn *c);

static void conn_on_connect(void *ctx, int revents)
{
    struct hconn *c = ctx;
    int e = 0;
    socklen_t len = sizeof(e);
    if (revents < 0)
        e = -revents;
    else if (getsockopt(reactor_io_fd(c->io), SOL_SOCKET, SO_ERROR, &e, &len) < 0)
        e = errno;
    if (e == 0)
        return conn_connected(c);
    dial_note(c, c->cur_addr, e, "connect");
    reactor_io_close(c->io);
    c->io = NULL;
    conn_dial_next(c);
}

/* Try the addresses in order, as Go's dialSerial does; report the first failure. */
static void conn_dial_next(struct hconn *c)
{
    while (c->next_addr < c->naddrs) {
        int i = c->next_addr++;
        const struct sockaddr *sa = (const struct sockaddr *)&c->addrs[i];
        int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            dial_note(c, i, errno, "socket");
            continue;
        }
        if (connect(fd, sa, c->addr_lens[i]) < 0 && errno != EINPROGRESS) {
            dial_note(c, i, errno, "connect");
            close(fd);
            continue;
        }
        c->cur_addr = i;
        c->io = reactor_io_open(c->hc->r, fd, c);
        int r = reactor_poll(c->io, POLLOUT, conn_on_connect);
        if (r == 0)
            return;
        dial_note(c, i, -r, "connect");
        reactor_io_close(c->io);
        c->io = NULL;
    }
    struct berth_err *err = take_ptr(c->dial_err);
    conn_fail(c, c->q, err ? err : words(EHOSTUNREACH, "dial tcp %s: no address", c->hostport));
}

static void resolve_work(struct pool_job *job)
{
    struct resolve_job *j = (struct resolve_job *)job;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char port[8];
    snprintf(port, sizeof(port), "%d", j->port);
    j->gai = getaddrinfo(j->host, port, &hints, &res);
    for (struct addrinfo *a = res; a && j->n < MAX_ADDRS; a = a->ai_next) {
        if (a->ai_addrlen > sizeof(j->addrs[0]))
            continue;
        memcpy(&j->addrs[j->n], a->ai_addr, a->ai_addrlen);
        j->lens[j->n++] = a->ai_addrlen;
    }
    if (res)
        freeaddrinfo(res);
}

static void resolve_done(struct pool_job *job)
{
    struct resolve_job *j = (struct resolve_job *)job;
    struct hconn *c = j->c;
    if (c) {
        c->resolving = NULL;
        if (j->gai != 0 || j->n == 0) {
            const char *why = j->gai == EAI_NONAME || j->gai == EAI_NODATA || j->gai == 0
                                  ? "no such host"
                                  : gai_strerror(j->gai);
            conn_fail(c, c->q, words(EHOSTUNREACH, "dial tcp: lookup %s: %s", j->host, why));
        } else {
            memcpy(c->addrs, j->addrs, sizeof(c->addrs));
            memcpy(c->addr_lens, j->lens, sizeof(c->addr_lens));
            c->naddrs = j->n;
            conn_dial_next(c);
        }
    }
    free(j->host);
    free(j);
}

/* Literal addresses skip the resolver; names go to getaddrinfo in the pool (it blocks). */
static void conn_resolve(struct hconn *c)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)&c->addrs[0];
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&c->addrs[0];
    if (inet_pton(AF_INET, c->host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)c->port);
        c->addr_lens[0] = sizeof(*s4);
        c->naddrs = 1;
        return conn_dial_next(c);
    }
    if (inet_pton(AF_INET6, c->host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)c->port);
        c->addr_lens[0] = sizeof(*s6);
        c->naddrs = 1;
        return conn_dial_next(c);
    }
    struct resolve_job *j = xcalloc(1, sizeof(*j));
    j->job.work = resolve_work;
    j->job.done = resolve_done;
    j->c = c;
    j->host = xstrdup(c->host);
    j->port = c->port;
    c->resolving = j;
    pool_submit(c->hc->pool, POOL_LATENCY, &j->job);
}

static void conn_on_tls_config(struct tls_wait *w, struct tls_config *conf,
                               const struct berth_err *err)
{
    struct hconn *c = container_of(w, struct hconn, tls_wait);
    if (!conf)
        return conn_fail(c, c->q, berth_err_dup(err, "request failed"));
    c->tls_conf = conf;
    conn_resolve(c);
}

static void conn_dial(struct hconn *c)
{
    if (c->use_tls) {
        c->tls_wait.fn = conn_on_tls_config;
        c->tls_conf = tls_config_get(c->hc->tls, c->authority, c->host, c->insecure, &c->tls_wait);
        if (!c->tls_conf)
            return; /* conn_on_tls_config() goes on once the pool has read the certificates */
    }
    conn_resolve(c);
}

/* ---- requests: life cycle ---- */

static void req_on_timer(struct reactor_timer *t)
{
    struct hreq *q = container_of(t, struct hreq, timer);
    struct hconn *c = q->conn;
    char a[64];
    struct berth_err *err;
    if (q->state == REQ_CONNECTING && c && c->state == CONN_HANDSHAKE)
        err = words(ETIMEDOUT, "net/http: TLS handshake timeout");
    else if (q->state == REQ_CONNECTING)
        err = words(ETIMEDOUT, "dial tcp %s: i/o timeout",
                    c && c->naddrs ? addr_text(&c->addrs[c->cur_addr], a, sizeof(a))
                                   : q->url.hostport);
    else if (!q->head_handled && c && conn_queued(c) > 0)
        err = words(ETIMEDOUT, "write tcp %s->%s: i/o timeout", c->laddr, c->raddr);
    else if (!q->head_handled)
        err = words(ETIMEDOUT, "net/http: timeout awaiting response headers");
    else
        err = words(ETIMEDOUT, "read tcp %s->%s: i/o timeout", c ? c->laddr : "?",
                    c ? c->raddr : "?");
    req_finish(q, req_wrap(q, err));
}

/* Send on a kept-alive connection to the same place, or dial a new one. */
static void req_start(struct hreq *q)
{
    struct hclient *hc = q->hc;
    q->head_handled = q->head_sent = q->upload_done = q->complete_pending = false;
    q->mode = RESP_DELIVER;
    buf_free(&q->held);
    q->state = REQ_CONNECTING;
    _cleanup_free_ char *key = conn_key(&q->url, q->insecure_tls);
    struct hconn *c = idle_take(hc, key);
    if (c) {
        conn_attach(c, q);
        req_send_head(q);
        return;
    }
    c = conn_new(hc, &q->url, q->insecure_tls, key);
    conn_attach(c, q);
    reactor_timer_start(hc->r, &q->timer, hc->connect_timeout_ms);
    conn_dial(c);
}

static struct hreq *req_new(struct hclient *hc, const struct hreq_spec *spec,
                            const struct hreq_hooks *hooks)
{
    struct hreq *q = xcalloc(1, sizeof(*q));
    q->hc = hc;
    q->refs = 1;
    q->method = xstrdup(spec->method && *spec->method ? spec->method : "GET");
    q->headers = spec->headers ? xstrdup(spec->headers) : NULL;
    if (spec->body && !spec->stream_body) {
        buf_append(&q->body, spec->body, spec->body_len);
        q->has_body = true;
    }
    q->stream_body = spec->stream_body;
    q->stream_len = spec->stream_body ? spec->stream_len : -1;
    q->insecure_tls = spec->insecure_tls;
    q->max_redirects = spec->max_redirects;
    q->on_head = spec->on_head;
    q->on_body = spec->on_body;
    q->on_drain = spec->on_drain;
    q->on_done = spec->on_done;
    q->ctx = spec->ctx;
    if (hooks) {
        q->hooks = *hooks;
        q->hooked = true;
    }
    q->url_str = xstrdup("");
    q->timer.fn = req_on_timer;
    q->kick.fn = req_on_kick;
    q->next = hc->reqs;
    if (q->next)
        q->next->prev = q;
    hc->reqs = q;
    return q;
}

/* ---- public API ---- */

struct hclient *hclient_new(struct reactor *r, struct pool *pool, const struct hclient_opts *o)
{
    static const struct hclient_opts none = {0};
    if (!o)
        o = &none;
    struct hclient *hc = xcalloc(1, sizeof(*hc));
    hc->r = r;
    hc->pool = pool;
    hc->connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 30000;
    hc->io_timeout_ms = o->io_timeout_ms ? o->io_timeout_ms : 60000;
    hc->max_idle = o->max_idle_per_host ? o->max_idle_per_host : 4;
    hc->tls =
        tls_cache_new(pool, o->certs_dir,
                      o->system_ca_file ? o->system_ca_file : "/etc/ssl/certs/ca-certificates.crt");
    return hc;
}

void hclient_free(struct hclient *hc)
{
    if (!hc)
        return;
    while (hc->reqs)
        hreq_cancel(hc->reqs);
    while (hc->conns)
        conn_close(hc->conns);
    tls_cache_free(hc->tls);
    free(hc);
}

struct hreq *hclient_prepare(struct hclient *hc, const struct hreq_spec *spec,
                             const struct hreq_hooks *hooks)
{
    return req_new(hc, spec, hooks);
}

struct hreq *hclient_request(struct hclient *hc, const struct hreq_spec *spec)
{
    struct hreq *q = req_new(hc, spec, NULL);
    hreq_send(q, spec->url, NULL);
    return q;
}

void hreq_send(struct hreq *q, const char *url, const char *auth_headers)
{
    if (!q || q->cancelled || q->state == REQ_DONE)
        return;
    free(q->auth_headers);
    q->auth_headers = auth_headers && *auth_headers ? xstrdup(auth_headers) : NULL;
    url_free(&q->url);
    free(q->url_str);
    q->url_str = xstrdup(url ? url : "");
    struct berth_err *err = NULL;
    if (url_parse(q->url_str, &q->url, &err) < 0)
        return req_finish(q, req_wrap(q, err));
    free(q->origin_hostport);
    q->origin_hostport = xstrdup(q->url.hostport);
    q->strip_auth = q->stale_retried = false;
    q->redirects = 0;
    req_start(q);
}

void hreq_set_insecure_tls(struct hreq *q, bool insecure)
{
    if (q)
        q->insecure_tls = insecure;
}

void hreq_fail(struct hreq *q, const struct berth_err *err)
{
    if (q && !q->cancelled && q->state != REQ_DONE)
        req_finish(q, berth_err_dup(err, "request failed"));
}

bool hreq_replayable(const struct hreq *q)
{
    return !q->stream_body || q->body_dropped || q->stream_sent == 0;
}

const char *hreq_method(const struct hreq *q)
{
    return q->method;
}

bool hreq_write(struct hreq *q, const void *data, size_t n)
{
    if (!q || !q->stream_body || q->ended || q->cancelled || q->state == REQ_DONE ||
        q->body_dropped)
        return true; /* nobody will read it: do not make the writer wait */
    q->written += (int64_t)n;
    if (q->stream_len >= 0 && q->written > q->stream_len) {
        req_finish(q, req_wrap(q, words(EINVAL, "http: ContentLength=%lld with Body length %lld",
                                        (long long)q->stream_len, (long long)q->written)));
        return true;
    }
    if (n > 0 && q->stream_len < 0)
        buf_printf(&q->pending, "%zx\r\n", n);
    buf_append(&q->pending, data, n);
    if (n > 0 && q->stream_len < 0)
        buf_puts(&q->pending, "\r\n");
    req_touch(q);
    req_pump(q);
    if (q->state == REQ_DONE || req_queued(q) < HIGH_WATER)
        return true;
    q->want_drain = true;
    return false;
}

void hreq_end(struct hreq *q)
{
    if (!q || !q->stream_body || q->ended || q->cancelled || q->state == REQ_DONE)
        return;
    q->ended = true;
    if (q->body_dropped)
        return;
    if (q->stream_len >= 0 && q->written != q->stream_len)
        return req_finish(
            q, req_wrap(q, words(EINVAL, "http: ContentLength=%lld with Body length %lld",
                                 (long long)q->stream_len, (long long)q->written)));
    if (q->stream_len < 0)
        buf_puts(&q->pending, "0\r\n\r\n");
    req_pump(q);
}

void hreq_pause(struct hreq *q)
{
    if (!q || q->paused || q->cancelled || q->state == REQ_DONE)
        return;
    q->paused = true;
    reactor_timer_stop(q->hc->r, &q->timer);
    if (q->conn && q->conn->io && q->state == REQ_ACTIVE)
        reactor_recv_pause(q->conn->io);
}

void hreq_resume(struct hreq *q)
{
    if (!q || !q->paused || q->cancelled || q->state == REQ_DONE)
        return;
    q->paused = false;
    reactor_timer_start(q->hc->r, &q->kick, 0); /* held bytes go out from the loop, not here */
}

void hreq_cancel(struct hreq *q)
{
    if (!q || q->cancelled || q->reported)
        return;
    q->cancelled = true;
    if (q->conn)
        conn_close(q->conn);
    req_release(q);
}
