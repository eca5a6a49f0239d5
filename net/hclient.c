/* net/hclient.c — an HTTP/1.1 client on the reactor. A request takes an idle keep-alive
 * connection to its scheme://host:port or opens one (name lookup and certificate loading in
 * the pool, then a non-blocking connect and a TLS handshake over memory buffers), sends its
 * head and body, and streams the response through the shared codec. */
#include "net/hclient.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/log.h"
#include "core/map.h"
#include "core/xalloc.h"
#include "net/tls.h"

#define HIGH_WATER (256u << 10)
#define LOW_WATER (64u << 10)
#define MAX_IDLE 16
#define PLAIN_MAX (1u << 20) /* decrypted bytes held while the consumer is paused */

#ifndef BERTH_VERSION
#define BERTH_VERSION "dev"
#endif

struct url {
    char *host;     /* "127.0.0.1", "::1", "registry.example" */
    char *hostport; /* "127.0.0.1:5000": certs.d name */
    char *authority; /* Host header: the port only when not the scheme's default */
    char *path;     /* "/v2/?x=1" */
    int port;
    bool tls;
};

struct hconn;

struct hclient {
    struct reactor *r;
    struct pool *pool;
    struct hclient_opts o;
    struct hconn *idle;
    size_t nidle;
    struct map confs; /* "host:port|insecure" → struct tls_conf */
    struct hreq *reqs;
};

struct resolve_job {
    struct pool_job job;
    struct hconn *conn; /* NULL once the connection gave up waiting */
    char *host, *hostport, *key;
    const char *certs_dir, *ca_file;
    int port;
    bool want_conf, insecure;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct tls_conf *conf;
    int res;
    struct berth_err *err;
};

struct hconn {
    struct hclient *hc;
    char *key; /* "https://host:port|insecure" */
    struct url u;
    bool insecure;
    struct rio *io;
    struct tls *tls;
    struct tls_conf *conf;
    struct buf plain; /* decrypted (or plain) bytes not yet parsed */
    struct buf out;   /* bytes to send (ciphertext for TLS) */
    size_t inflight;
    bool sending, ready, broken, eof;
    int eof_code; /* 0 or -errno of the recv that ended the stream */
    struct hreq *req;
    struct resolve_job *job;
    struct hconn *next_idle;
};

struct hreq {
    struct hclient *hc;
    struct hreq_spec spec;
    char *method, *headers;
    struct buf body;    /* a whole body, or stream bytes written before the connection was up */
    struct url u;
    struct hconn *conn;
    struct http_reader rd;
    int redirects, redirect_status;
    char *redirect_to;
    bool sent_head, paused, body_ended, upload_blocked, dead, failed;
    int busy; /* callbacks running: a cancel inside one is finished on the way out */
    struct reactor_timer timer;
    enum { T_NONE, T_CONNECT, T_IO, T_FAIL } timer_kind;
    struct berth_err *fail_err;
    struct hreq_hook hook;
    char *extra_headers; /* the hook's headers (Authorization), added after the caller's */
    struct buf replay;   /* a whole body, kept for hreq_restart */
    bool swallow, held, ended;
    struct hreq *prev, *next;
};

static void url_free(struct url *u)
{
    free(u->host);
    free(u->hostport);
    free(u->authority);
    free(u->path);
    memset(u, 0, sizeof(*u));
}

/* http://host[:port]/path or https://..., IPv6 hosts in brackets. */
static int url_parse(const char *s, struct url *u, struct berth_err **err)
{
    memset(u, 0, sizeof(*u));
    u->tls = strncmp(s, "https://", 8) == 0;
    if (!u->tls && strncmp(s, "http://", 7) != 0)
        return berth_user_error(err, EINVAL, "unsupported URL `%s`", s);
    const char *p = s + (u->tls ? 8 : 7);
    size_t alen = strcspn(p, "/?#");
    _cleanup_free_ char *auth = xstrndup(p, alen);
    char *port = NULL;
    if (auth[0] == '[') {
        char *end = strchr(auth, ']');
        if (!end)
            return berth_user_error(err, EINVAL, "invalid URL `%s`", s);
        u->host = xstrndup(auth + 1, (size_t)(end - auth - 1));
        port = end[1] == ':' ? end + 2 : NULL;
    } else {
        port = strrchr(auth, ':');
        u->host = port ? xstrndup(auth, (size_t)(port - auth)) : xstrdup(auth);
        port = port ? port + 1 : NULL;
    }
    u->port = port ? atoi(port) : (u->tls ? 443 : 80);
    if (!*u->host || u->port <= 0 || u->port > 65535) {
        url_free(u);
        return berth_user_error(err, EINVAL, "invalid URL `%s`", s);
    }
    bool v6 = strchr(u->host, ':') != NULL;
    u->hostport = xasprintf(v6 ? "[%s]:%d" : "%s:%d", u->host, u->port);
    u->authority = port ? xstrdup(auth) : xstrdup(u->host);
    u->path = xstrdup(p[alen] == '/' || p[alen] == '?' ? p + alen : "/");
    return 0;
}

/* ---- requests: life cycle ---- */

static void conn_close(struct hconn *c);
static void conn_release(struct hconn *c);
static void start(struct hreq *q);

static void req_free(struct hreq *q)
{
    struct hclient *hc = q->hc;
    if (q->hook.on_end && !q->ended) {
        q->ended = true;
        q->hook.on_end(q->hook.ctx, q);
    }
    reactor_timer_stop(hc->r, &q->timer);
    if (q->prev)
        q->prev->next = q->next;
    else
        hc->reqs = q->next;
    if (q->next)
        q->next->prev = q->prev;
    http_reader_free(&q->rd);
    url_free(&q->u);
    buf_free(&q->body);
    berth_err_free(q->fail_err);
    free(q->method);
    free(q->headers);
    free(q->extra_headers);
    buf_free(&q->replay);
    free(q->redirect_to);
    free((char *)q->spec.url);
    free(q);
}

static void enter(struct hreq *q)
{
    q->busy++;
}

/* Returns false when the request ended (cancelled) during the callbacks just run. */
static bool leave(struct hreq *q)
{
    if (--q->busy == 0 && q->dead) {
        req_free(q);
        return false;
    }
    return !q->dead;
}

/* The last callback: the connection goes back to the pool only after a clean response. */
static void finish(struct hreq *q, int res, const struct berth_err *err)
{
    struct hconn *c = q->conn;
    q->conn = NULL;
    if (c) {
        c->req = NULL;
        if (res == 0 && !c->broken && q->rd.msg == NULL && c->plain.len == 0)
            conn_release(c);
        else
            conn_close(c);
    }
    reactor_timer_stop(q->hc->r, &q->timer);
    q->dead = true;
    enter(q);
    q->spec.on_done(q->spec.ctx, res, err);
    leave(q);
}

static void fail(struct hreq *q, struct berth_err *err)
{
    if (q->dead) {
        berth_err_free(err);
        return;
    }
    finish(q, berth_err_code(err), err);
    berth_err_free(err);
}

/* "Get "https://h:p/v2/": <what>", the way Go's net/http words transport errors. */
static void failf(struct hreq *q, int status, const char *what)
{
    struct berth_err *err = NULL;
    char method[16];
    snprintf(method, sizeof(method), "%s", q->method);
    for (char *m = method + 1; *m; m++)
        *m = (char)tolower((unsigned char)*m);
    berth_user_error(&err, status, "%s \"%s\": %s", method, q->spec.url, what);
    fail(q, err);
}

static void on_timer(struct reactor_timer *t)
{
    struct hreq *q = (struct hreq *)((char *)t - offsetof(struct hreq, timer));
    if (q->timer_kind == T_FAIL)
        return fail(q, take_ptr(q->fail_err));
    _cleanup_free_ char *what =
        q->timer_kind == T_CONNECT
            ? xasprintf("dial tcp %s: i/o timeout", q->u.hostport)
            : xstrdup("net/http: timeout awaiting response or body (no data for too long)");
    failf(q, ETIMEDOUT, what);
}

static void arm(struct hreq *q, int kind)
{
    uint64_t ms = kind == T_CONNECT ? q->hc->o.connect_timeout_ms
                                    : kind == T_IO ? q->hc->o.io_timeout_ms : 0;
    q->timer_kind = kind;
    if (kind == T_NONE)
        reactor_timer_stop(q->hc->r, &q->timer);
    else
        reactor_timer_start(q->hc->r, &q->timer, ms);
}

/* Errors found before any I/O are reported on the next turn, never from hclient_request. */
static void fail_later(struct hreq *q, struct berth_err *err)
{
    q->fail_err = err;
    arm(q, T_FAIL);
}

/* ---- connections ---- */

static void on_conn_recv(void *ctx, const char *data, ssize_t n);
static void send_request(struct hreq *q);
static void process(struct hconn *c);
static void follow_redirect(struct hreq *q);

static void conn_close(struct hconn *c)
{
    if (c->job)
        c->job->conn = NULL; /* the lookup finishes alone and frees itself */
    reactor_io_close(c->io);
    tls_free(c->tls);
    buf_free(&c->plain);
    buf_free(&c->out);
    url_free(&c->u);
    free(c->key);
    free(c);
}

/* Keep a healthy connection for the next request to the same place. */
static void conn_release(struct hconn *c)
{
    struct hclient *hc = c->hc;
    if (hc->nidle >= MAX_IDLE || c->sending || c->out.len)
        return conn_close(c);
    c->next_idle = hc->idle;
    hc->idle = c;
    hc->nidle++;
}

static struct hconn *take_idle(struct hclient *hc, const char *key)
{
    for (struct hconn **p = &hc->idle; *p; p = &(*p)->next_idle) {
        if (strcmp((*p)->key, key) == 0) {
            struct hconn *c = *p;
            *p = c->next_idle;
            hc->nidle--;
            return c;
        }
    }
    return NULL;
}

static void drop_idle(struct hconn *c)
{
    for (struct hconn **p = &c->hc->idle; *p; p = &(*p)->next_idle)
        if (*p == c) {
            *p = c->next_idle;
            c->hc->nidle--;
            break;
        }
    conn_close(c);
}

static void on_sent(void *ctx, int res);

static void flush(struct hconn *c)
{
    struct buf *cipher = c->tls ? tls_outgoing(c->tls) : NULL;
    if (cipher && cipher->len) {
        buf_append(&c->out, cipher->data, cipher->len);
        buf_reset(cipher);
    }
    if (c->sending || !c->out.len || !c->io)
        return;
    size_t len;
    char *data = buf_steal(&c->out, &len);
    c->inflight = len;
    c->sending = true;
    if (reactor_send(c->io, data, len, on_sent) < 0) {
        c->sending = false;
        c->broken = true;
    }
}

static int conn_write(struct hconn *c, const void *data, size_t n, struct berth_err **err)
{
    if (c->tls) {
        int r = tls_write(c->tls, data, n, err);
        if (r < 0)
            return r;
    } else {
        buf_append(&c->out, data, n);
    }
    flush(c);
    return 0;
}

static size_t pending(const struct hconn *c)
{
    return c->out.len + c->inflight + (c->tls ? tls_outgoing(c->tls)->len : 0);
}

static void on_sent(void *ctx, int res)
{
    struct hconn *c = ctx;
    struct hreq *q = c->req;
    c->sending = false;
    c->inflight = 0;
    if (res < 0) {
        c->broken = true;
        if (q)
            failf(q, EIO, "write: broken pipe");
        return;
    }
    flush(c);
    if (q && q->upload_blocked && pending(c) < LOW_WATER && q->spec.on_drain) {
        q->upload_blocked = false;
        arm(q, T_IO);
        enter(q);
        q->spec.on_drain(q->spec.ctx);
        leave(q);
    }
}

/* ---- opening a connection: lookup (pool), connect, TLS handshake ---- */

static void lowercase_first(char *s)
{
    s[0] = (char)tolower((unsigned char)s[0]);
}

static void resolve_work(struct pool_job *job)
{
    struct resolve_job *j = (struct resolve_job *)job;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&j->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&j->addr;
    if (inet_pton(AF_INET, j->host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)j->port);
        j->addrlen = sizeof(*v4);
    } else if (inet_pton(AF_INET6, j->host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)j->port);
        j->addrlen = sizeof(*v6);
    } else {
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
        char port[16];
        snprintf(port, sizeof(port), "%d", j->port);
        int r = getaddrinfo(j->host, port, &hints, &ai);
        if (r != 0) {
            j->res = berth_user_error(&j->err, EHOSTUNREACH, "dial tcp: lookup %s: %s", j->host,
                                      gai_strerror(r));
            return;
        }
        memcpy(&j->addr, ai->ai_addr, ai->ai_addrlen);
        j->addrlen = ai->ai_addrlen;
        freeaddrinfo(ai);
    }
    if (j->want_conf)
        j->conf = tls_conf_load(j->certs_dir, j->ca_file, j->hostport, j->insecure, &j->err);
    if (j->want_conf && !j->conf)
        j->res = berth_err_code(j->err);
}

static void on_connected(void *ctx, int revents);

/* A non-blocking connect; its completion arrives as writability. */
static void dial(struct hconn *c, const struct sockaddr_storage *addr, socklen_t len)
{
    struct hreq *q = c->req;
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || (connect(fd, (const struct sockaddr *)addr, len) < 0 && errno != EINPROGRESS)) {
        _cleanup_free_ char *what =
            xasprintf("dial tcp %s: connect: %s", c->u.hostport, strerror(errno));
        if (fd >= 0)
            close(fd);
        lowercase_first(strstr(what, "connect: ") + 9);
        return failf(q, ECONNREFUSED, what);
    }
    c->io = reactor_io_open(c->hc->r, fd, c);
    reactor_poll(c->io, POLLOUT, on_connected);
}

static void resolve_done(struct pool_job *job)
{
    struct resolve_job *j = (struct resolve_job *)job;
    struct hconn *c = j->conn;
    if (c) {
        c->job = NULL;
        if (j->conf) { /* cached for later connections to the same place */
            map_put(&c->hc->confs, j->key, j->conf);
            c->conf = take_ptr(j->conf);
        }
        if (j->res < 0)
            fail(c->req, take_ptr(j->err));
        else
            dial(c, &j->addr, j->addrlen);
    }
    tls_conf_free(j->conf);
    berth_err_free(j->err);
    free(j->host);
    free(j->hostport);
    free(j->key);
    free(j);
}

static void handshake(struct hconn *c)
{
    struct berth_err *err = NULL;
    int r = tls_handshake(c->tls, &err);
    flush(c);
    if (r < 0) {
        c->broken = true;
        failf(c->req, err->status, err->msg);
        berth_err_free(err);
        return;
    }
    if (r == 0) {
        c->ready = true;
        send_request(c->req);
    }
}

static void on_connected(void *ctx, int revents)
{
    struct hconn *c = ctx;
    int e = 0;
    socklen_t len = sizeof(e);
    if (revents < 0)
        e = -revents;
    else if (getsockopt(reactor_io_fd(c->io), SOL_SOCKET, SO_ERROR, &e, &len) < 0)
        e = errno;
    if (e) {
        _cleanup_free_ char *what = xasprintf("dial tcp %s: connect: %s", c->u.hostport,
                                              strerror(e));
        lowercase_first(strstr(what, "connect: ") + 9);
        c->broken = true;
        return failf(c->req, e == ECONNREFUSED ? ECONNREFUSED : EHOSTUNREACH, what);
    }
    reactor_recv(c->io, on_conn_recv);
    if (!c->u.tls) {
        c->ready = true;
        return send_request(c->req);
    }
    struct berth_err *err = NULL;
    if (!(c->tls = tls_new(c->conf, c->u.host, &err))) {
        failf(c->req, err->status, err->msg);
        berth_err_free(err);
        return;
    }
    handshake(c);
}

static char *conn_key(const struct url *u, bool insecure)
{
    return xasprintf("%s://%s|%d", u->tls ? "https" : "http", u->hostport, insecure);
}

/* A new connection for q: lookup (and certificates) in the pool, then dial. */
static void conn_open(struct hreq *q)
{
    struct hclient *hc = q->hc;
    struct hconn *c = xcalloc(1, sizeof(*c));
    c->hc = hc;
    c->insecure = q->spec.insecure_tls;
    c->key = conn_key(&q->u, c->insecure);
    c->u = (struct url){.host = xstrdup(q->u.host), .hostport = xstrdup(q->u.hostport),
                        .authority = xstrdup(q->u.authority), .path = xstrdup("/"),
                        .port = q->u.port, .tls = q->u.tls};
    c->req = q;
    q->conn = c;
    struct resolve_job *j = xcalloc(1, sizeof(*j));
    *j = (struct resolve_job){.job = {.work = resolve_work, .done = resolve_done},
                              .conn = c, .host = xstrdup(c->u.host),
                              .hostport = xstrdup(c->u.hostport), .key = xstrdup(c->key),
                              .certs_dir = hc->o.certs_dir, .ca_file = hc->o.system_ca_file,
                              .port = c->u.port, .insecure = c->insecure};
    c->conf = c->u.tls ? map_get(&hc->confs, c->key) : NULL;
    j->want_conf = c->u.tls && !c->conf;
    c->job = j;
    arm(q, T_CONNECT);
    pool_submit(hc->pool, POOL_LATENCY, &j->job);
}

static void start(struct hreq *q)
{
    _cleanup_free_ char *key = conn_key(&q->u, q->spec.insecure_tls);
    struct hconn *c = take_idle(q->hc, key);
    if (!c)
        return conn_open(q);
    c->req = q;
    q->conn = c;
    send_request(q);
}

/* ---- the exchange ---- */

static int on_resp_head(void *ctx, struct http_msg *m)
{
    (void)ctx, (void)m;
    return 1; /* stream every response body: the caller gets it as it arrives */
}

static int on_resp_body(void *ctx, const char *p, size_t n)
{
    struct hreq *q = ctx;
    if (!q->redirect_to && !q->swallow && q->spec.on_body && !q->dead)
        q->spec.on_body(q->spec.ctx, p, n);
    return 0;
}

static const struct http_limits resp_limits = {
    .max_header_bytes = 256 << 10, .max_headers = 200, .max_body = (size_t)1 << 40};

static void send_request(struct hreq *q)
{
    struct hconn *c = q->conn;
    struct buf head = {0};
    _cleanup_err_ struct berth_err *err = NULL;
    http_reader_free(&q->rd);
    http_reader_init(&q->rd, HTTP_RESPONSE, &resp_limits);
    q->rd.ctx = q;
    q->rd.on_head = on_resp_head;
    q->rd.on_body = on_resp_body;
    q->rd.skip_body = strcmp(q->method, "HEAD") == 0;
    buf_printf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: berth/%s\r\n", q->method,
               q->u.path, q->u.authority, BERTH_VERSION);
    if (q->spec.stream_body && q->spec.stream_len < 0)
        buf_puts(&head, "Transfer-Encoding: chunked\r\n");
    else if (q->spec.stream_body || q->spec.body || strcmp(q->method, "POST") == 0 ||
             strcmp(q->method, "PUT") == 0 || strcmp(q->method, "PATCH") == 0)
        buf_printf(&head, "Content-Length: %lld\r\n",
                   (long long)(q->spec.stream_body ? q->spec.stream_len : (int64_t)q->body.len));
    if (q->headers)
        buf_puts(&head, q->headers);
    if (q->extra_headers)
        buf_puts(&head, q->extra_headers);
    buf_puts(&head, "\r\n");
    if (!q->spec.stream_body && !q->replay.len) /* kept to send again after a redirect or 401 */
        buf_append(&q->replay, q->body.data, q->body.len);
    buf_append(&head, q->body.data, q->body.len); /* a whole body, or stream bytes so far */
    buf_reset(&q->body);
    q->sent_head = true;
    arm(q, T_IO);
    if (conn_write(c, head.data, head.len, &err) < 0)
        failf(q, err->status, err->msg);
    buf_free(&head);
    process(c); /* bytes that arrived early (a server answering before the body ends) */
}

static bool is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* The head is in: a redirect to follow is kept to ourselves, anything else goes to the caller. */
static void got_head(struct hreq *q)
{
    struct http_msg *m = q->rd.msg;
    const char *loc = http_msg_header(m, "Location");
    if (is_redirect(m->status) && loc && q->redirects < q->spec.max_redirects &&
        !q->spec.stream_body) {
        q->redirect_to = xstrdup(loc);
        q->redirect_status = m->status;
        return;
    }
    if (q->hook.on_head && q->hook.on_head(q->hook.ctx, q, m)) {
        q->swallow = true; /* its body is drained, then on_swallowed decides */
        return;
    }
    if (q->spec.on_head)
        q->spec.on_head(q->spec.ctx, m);
}

static void swallowed(struct hreq *q);

/* A whole response is in: follow a redirect, hand a swallowed one to the hook, or finish. */
static void complete(struct hreq *q)
{
    if (q->redirect_to)
        return follow_redirect(q);
    if (q->swallow)
        return swallowed(q);
    finish(q, 0, NULL);
}

/* Parse what has arrived, one step at a time, until it runs out or the caller pauses. */
static void parse(struct hreq *q, struct hconn *c)
{
    while (!q->dead && !q->paused && c->plain.len) {
        size_t used = http_reader_feed(&q->rd, c->plain.data, c->plain.len);
        buf_consume(&c->plain, used);
        if (q->rd.status) {
            c->broken = true;
            return failf(q, EPROTO, "malformed HTTP response from the registry");
        }
        if (q->rd.head_paused) {
            got_head(q);
            http_reader_resume(&q->rd);
            continue;
        }
        if (!q->rd.done) {
            if (!used)
                return;
            continue;
        }
        http_msg_free(http_reader_take(&q->rd));
        return complete(q);
    }
}

/* Decrypt (TLS) what came in, then parse it for the connection's request. */
static void process(struct hconn *c)
{
    struct hreq *q = c->req;
    if (c->tls && !c->ready)
        return handshake(c);
    while (c->tls && c->plain.len < PLAIN_MAX) {
        char chunk[16384];
        _cleanup_err_ struct berth_err *err = NULL;
        ssize_t n = tls_read(c->tls, chunk, sizeof(chunk), &err);
        if (n == 0 || n == -EPIPE)
            break;
        if (n < 0) {
            c->broken = true;
            if (q)
                failf(q, err->status, err->msg);
            return;
        }
        buf_append(&c->plain, chunk, (size_t)n);
    }
    flush(c); /* TLS may answer on its own (renegotiation, alerts) */
    if (!q || !q->sent_head)
        return;
    enter(q);
    parse(q, c);
    leave(q);
}

/* The peer closed: a response that runs to EOF is complete; anything else was cut short.
 * Waits while the caller has paused and parsed bytes remain. */
static void handle_eof(struct hreq *q, struct hconn *c)
{
    if (q->dead || q->conn != c || !c->eof || (q->paused && c->plain.len))
        return;
    http_reader_eof(&q->rd);
    if (q->rd.done) {
        http_msg_free(http_reader_take(&q->rd));
        return complete(q);
    }
    failf(q, c->eof_code ? -c->eof_code : EPIPE,
          c->eof_code ? strerror(-c->eof_code) : "unexpected EOF");
}

static void on_conn_recv(void *ctx, const char *data, ssize_t n)
{
    struct hconn *c = ctx;
    struct hreq *q = c->req;
    if (!q) /* an idle connection has nothing to say: whatever it is, drop it */
        return drop_idle(c);
    if (n > 0) {
        if (c->tls)
            tls_feed(c->tls, data, (size_t)n);
        else
            buf_append(&c->plain, data, (size_t)n);
        arm(q, T_IO);
        return process(c);
    }
    c->broken = true;
    c->eof = true;
    c->eof_code = (int)n;
    enter(q);
    process(c); /* what arrived before the close still counts */
    handle_eof(q, c);
    leave(q);
}

/* Drop an Authorization header before sending the request to another host. */
static char *without_authorization(const char *headers)
{
    struct buf out = {0};
    for (const char *p = headers ? headers : ""; *p;) {
        size_t n = strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n');
        if (strncasecmp(p, "Authorization:", 14) != 0)
            buf_append(&out, p, n);
        p += n;
    }
    buf_reserve(&out, 0);
    return buf_steal(&out, NULL);
}

static void follow_redirect(struct hreq *q)
{
    struct hconn *c = q->conn;
    _cleanup_free_ char *target =
        q->redirect_to[0] == '/' ? xasprintf("%s://%s%s", q->u.tls ? "https" : "http",
                                             q->u.authority, q->redirect_to)
                                 : xstrdup(q->redirect_to);
    struct berth_err *err = NULL;
    struct url next;
    q->conn = NULL;
    if (c) {
        c->req = NULL;
        if (c->broken || c->plain.len)
            conn_close(c);
        else
            conn_release(c);
    }
    free(q->redirect_to);
    q->redirect_to = NULL;
    if (url_parse(target, &next, &err) < 0)
        return fail(q, err);
    if (strcmp(next.hostport, q->u.hostport) != 0) {
        char *h = without_authorization(q->headers);
        free(q->headers);
        q->headers = h;
    }
    if (q->redirect_status == 303) {
        free(q->method);
        q->method = xstrdup("GET");
    }
    url_free(&q->u);
    q->u = next;
    q->redirects++;
    q->sent_head = false;
    buf_reset(&q->body);
    buf_append(&q->body, q->replay.data, q->replay.len);
    start(q);
}

/* The hook swallowed this response; the connection is free again, the hook decides. */
static void swallowed(struct hreq *q)
{
    struct hconn *c = q->conn;
    q->conn = NULL;
    q->swallow = false;
    if (c) {
        c->req = NULL;
        if (c->broken || c->plain.len)
            conn_close(c);
        else
            conn_release(c);
    }
    arm(q, T_NONE);
    q->hook.on_swallowed(q->hook.ctx, q);
}

/* ---- the API ---- */

struct hclient *hclient_new(struct reactor *r, struct pool *pool, const struct hclient_opts *o)
{
    struct hclient *hc = xcalloc(1, sizeof(*hc));
    hc->r = r;
    hc->pool = pool;
    hc->o = *o;
    if (!hc->o.connect_timeout_ms)
        hc->o.connect_timeout_ms = 30000;
    if (!hc->o.io_timeout_ms)
        hc->o.io_timeout_ms = 60000;
    if (!hc->o.system_ca_file)
        hc->o.system_ca_file = "/etc/ssl/certs/ca-certificates.crt";
    return hc;
}

void hclient_free(struct hclient *hc)
{
    if (!hc)
        return;
    while (hc->reqs)
        hreq_cancel(hc->reqs);
    while (hc->idle) {
        struct hconn *c = hc->idle;
        hc->idle = c->next_idle;
        conn_close(c);
    }
    void *v;
    for (size_t i = 0; map_next(&hc->confs, &i, NULL, &v);)
        tls_conf_free(v);
    map_free(&hc->confs);
    free(hc);
}

struct hreq *hclient_request(struct hclient *hc, const struct hreq_spec *spec)
{
    struct hreq *q = xcalloc(1, sizeof(*q));
    q->hc = hc;
    q->spec = *spec;
    q->spec.url = xstrdup(spec->url ? spec->url : "");
    q->method = xstrdup(spec->method ? spec->method : "GET");
    q->headers = spec->headers ? xstrdup(spec->headers) : NULL;
    if (spec->body)
        buf_append(&q->body, spec->body, spec->body_len);
    q->timer.fn = on_timer;
    q->next = hc->reqs;
    if (hc->reqs)
        hc->reqs->prev = q;
    hc->reqs = q;
    q->held = spec->url == NULL;
    struct berth_err *err = NULL;
    if (q->held)
        return q; /* hreq_start sends it */
    if (url_parse(q->spec.url, &q->u, &err) < 0)
        fail_later(q, err);
    else
        start(q);
    return q;
}

void hreq_set_hook(struct hreq *q, const struct hreq_hook *hook)
{
    q->hook = *hook;
}

void hreq_start(struct hreq *q, const char *url, const char *extra_headers, bool insecure_tls)
{
    if (q->dead || !q->held)
        return;
    q->held = false;
    q->spec.insecure_tls = insecure_tls;
    free((char *)q->spec.url);
    q->spec.url = xstrdup(url);
    free(q->extra_headers);
    q->extra_headers = extra_headers ? xstrdup(extra_headers) : NULL;
    struct berth_err *err = NULL;
    if (url_parse(q->spec.url, &q->u, &err) < 0)
        fail_later(q, err);
    else
        start(q);
}

void hreq_restart(struct hreq *q, const char *url, const char *extra_headers)
{
    if (q->dead)
        return;
    url_free(&q->u);
    http_reader_free(&q->rd);
    memset(&q->rd, 0, sizeof(q->rd));
    q->sent_head = false;
    q->redirects = 0;
    buf_reset(&q->body);
    buf_append(&q->body, q->replay.data, q->replay.len);
    q->held = true;
    hreq_start(q, url, extra_headers, q->spec.insecure_tls);
}

void hreq_fail(struct hreq *q, const struct berth_err *err)
{
    if (q->dead)
        return;
    struct berth_err *copy = NULL;
    berth_user_error(&copy, err ? err->status : EIO, "%s", err ? err->msg : "request failed");
    struct hconn *c = q->conn;
    q->conn = NULL;
    if (c) {
        c->req = NULL;
        conn_close(c);
    }
    fail_later(q, copy);
}

/* Queue upload bytes: straight to the connection once the head went out, else kept for it. */
static void upload(struct hreq *q, const void *data, size_t n)
{
    _cleanup_err_ struct berth_err *err = NULL;
    if (q->conn && q->sent_head && !q->dead) {
        if (conn_write(q->conn, data, n, &err) < 0)
            failf(q, err->status, err->msg);
    } else {
        buf_append(&q->body, data, n);
    }
}

bool hreq_write(struct hreq *q, const void *data, size_t n)
{
    if (q->dead || q->body_ended || n == 0)
        return !q->dead;
    if (q->spec.stream_len < 0) {
        char size[32];
        int len = snprintf(size, sizeof(size), "%zx\r\n", n);
        upload(q, size, (size_t)len);
        upload(q, data, n);
        upload(q, "\r\n", 2);
    } else {
        upload(q, data, n);
    }
    size_t queued = q->conn && q->sent_head ? pending(q->conn) : q->body.len;
    if (queued >= HIGH_WATER)
        q->upload_blocked = true;
    return !q->upload_blocked;
}

void hreq_end(struct hreq *q)
{
    if (q->dead || q->body_ended)
        return;
    q->body_ended = true;
    if (q->spec.stream_len < 0)
        upload(q, "0\r\n\r\n", 5);
}

void hreq_pause(struct hreq *q)
{
    if (q->paused || q->dead)
        return;
    q->paused = true;
    arm(q, T_NONE); /* a paused consumer is not the peer's fault */
    if (q->conn && q->conn->io)
        reactor_recv_pause(q->conn->io);
}

void hreq_resume(struct hreq *q)
{
    if (!q->paused || q->dead)
        return;
    q->paused = false;
    struct hconn *c = q->conn;
    if (!c)
        return;
    arm(q, T_IO);
    if (c->io && !c->eof)
        reactor_recv(c->io, on_conn_recv);
    enter(q);
    process(c);
    if (!q->dead && q->conn == c)
        handle_eof(q, c);
    leave(q);
}

void hreq_cancel(struct hreq *q)
{
    if (!q || q->dead) {
        if (q && q->busy == 0)
            req_free(q);
        return;
    }
    struct hconn *c = q->conn;
    q->conn = NULL;
    if (c) {
        c->req = NULL;
        conn_close(c); /* mid-exchange: it cannot be reused */
    }
    q->dead = true;
    if (q->busy == 0)
        req_free(q);
}
