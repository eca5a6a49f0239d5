/* core/http_server.c — connections of the HTTP server: read, parse one request at a time,
 * hand it to the handler, queue the reply with back-pressure, time out stalled peers.
 * Every entry point brackets itself with conn_enter/conn_leave, so a connection closed from
 * deep inside a callback is freed only once the outermost frame is done with it. */
#include "core/http_server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/map.h"
#include "core/xalloc.h"

#define HIGH_WATER (256 * 1024)  /* queued output above which producers are told to wait */
#define LOW_WATER  (64 * 1024)   /* ... and below which they are told to go on */
#define IN_MAX     (1024 * 1024) /* pipelined input kept while a reply is owed */
#define LINGER_MS  5000          /* a hijacked client's last input is awaited this long */
/* A buffered body must average this much after its grace (see arm_timer): 64 MiB, the largest,
 * then takes at most about 70 minutes. */
#define BODY_MIN_RATE  (16 * 1024) /* bytes a second */
#define FD_RESERVE_MIN 64          /* fds kept from connections, however low RLIMIT_NOFILE is */
#define SHED_SCAN      64          /* connections of one peer looked at for an idle one */
#define RETRY_MS       100

enum conn_state { C_READING, C_HANDLING, C_STREAMING, C_HIJACKED };

/* What a reading connection waits for, each with its own clock (see arm_timer). */
enum read_phase { PH_NONE, PH_IDLE, PH_HEAD, PH_BODY };

/* One client process (SO_PEERCRED pid; 0 when unknown, as for a peer in another pid namespace)
 * and its connections, least recently used first. */
struct peer {
    pid_t pid;
    uid_t uid;
    size_t nconns;
    struct http_conn *first, *last;
};

/* A log line that may come at most once a second; the ones held back are counted. */
struct log_limit {
    uint64_t next_ms;
    unsigned held;
};

struct listener {
    struct http_server *srv;
    struct rio *io;
    char *path;
    dev_t dev;
    ino_t ino;
    struct reactor_timer retry;
    struct listener *next;
};

struct http_server {
    struct reactor *r;
    struct http_server_opts o;
    struct listener *listeners;
    struct http_conn *conns;
    size_t nconns;
    size_t max_conns;
    struct map peers; /* pid, in decimal -> struct peer */
    int spare_fd;     /* given up to accept-and-refuse when out of fds (refuse_backlog) */
    struct log_limit accept_log, shed_log, refuse_log;
    struct {
        uint64_t emfile, shed, refused;
    } stats;
};

struct http_conn {
    struct http_server *srv;
    struct rio *io;
    struct http_reader rd;
    struct buf in, out, extra_headers;
    size_t inflight; /* bytes handed to the reactor and not yet confirmed */
    struct http_msg *req;
    enum conn_state state;
    bool keep_alive, head_only, chunked, closing, read_paused, sending, parsing, dead;
    bool expect_checked; /* the request being read was checked for "Expect: 100-continue" */
    int busy;
    struct reactor_timer timer;
    void (*drain_fn)(void *);
    void *drain_arg;
    void (*close_fn)(void *);
    void *close_arg;
    void (*data_fn)(void *, const char *, ssize_t);
    void *data_arg;
    bool body_streaming; /* a dispatched request whose body is still arriving */
    bool discarding;     /* ... and already answered: its rest is read and dropped */
    bool linger;         /* closed by the owner of a hijack: end with a lingering close */
    bool lingering;      /* ... our side shut down, the client's last input being dropped */
    bool peer_eof;       /* a hijacked client half-closed */
    void (*body_fn)(void *, const char *, ssize_t);
    void *body_arg;
    enum read_phase phase;
    uint64_t phase_start_ms, last_rx_ms;
    size_t phase_bytes; /* received since the phase began */
    struct peer *peer;
    struct http_conn *prev, *next;
    struct http_conn *peer_prev, *peer_next;
};

static void on_recv(void *ctx, const char *data, ssize_t n);
static void on_timer(struct reactor_timer *t);
static void arm_timer(struct http_conn *c);
static void parse_pending(struct http_conn *c);
static int on_head(void *ctx, struct http_msg *m);
static int on_body(void *ctx, const char *p, size_t n);

/* ---- peers ---- */

static void peer_key(pid_t pid, char key[static 16])
{
    snprintf(key, 16, "%d", (int)pid);
}

/* The peer process behind fd, created on its first connection. */
static struct peer *peer_get(struct http_server *s, int fd)
{
    struct ucred cred = {0};
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        cred.pid = 0;
    char key[16];
    peer_key(cred.pid, key);
    struct peer *p = map_get(&s->peers, key);
    if (!p) {
        p = xcalloc(1, sizeof(*p));
        p->pid = cred.pid;
        p->uid = cred.uid;
        map_put(&s->peers, key, p);
    }
    return p;
}

static void peer_unlink(struct http_conn *c)
{
    struct peer *p = c->peer;
    if (c->peer_prev)
        c->peer_prev->peer_next = c->peer_next;
    else
        p->first = c->peer_next;
    if (c->peer_next)
        c->peer_next->peer_prev = c->peer_prev;
    else
        p->last = c->peer_prev;
    c->peer_prev = c->peer_next = NULL;
}

static void peer_append(struct http_conn *c)
{
    struct peer *p = c->peer;
    c->peer_prev = p->last;
    c->peer_next = NULL;
    if (p->last)
        p->last->peer_next = c;
    else
        p->first = c;
    p->last = c;
}

/* The connection was used: it goes to the end of its peer's list. */
static void peer_touch(struct http_conn *c)
{
    if (c->peer->last != c) {
        peer_unlink(c);
        peer_append(c);
    }
}

/* One connection of p fewer; a peer with none left is forgotten. */
static void peer_put(struct http_server *s, struct peer *p)
{
    if (--p->nconns == 0) {
        char key[16];
        peer_key(p->pid, key);
        map_del(&s->peers, key);
        free(p);
    }
}

/* ---- life cycle ---- */

/* Input of the client's that was never read turns the close into a reset (ECONNRESET on a
 * unix socket, RST on TCP), which can cost the client an answer it has not read yet: a 408 to
 * a request still trickling in. Refuse more input, then drop what came (a bounded amount: a
 * client pouring data in is reset). */
static void drop_unread_input(int fd)
{
    char sink[4096];
    shutdown(fd, SHUT_RD);
    for (int i = 0; i < 16 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
        continue;
}

static void conn_free(struct http_conn *c)
{
    struct http_server *s = c->srv;
    reactor_timer_stop(s->r, &c->timer);
    drop_unread_input(reactor_io_fd(c->io));
    reactor_io_close(c->io);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    peer_unlink(c);
    peer_put(s, c->peer);
    if (c->req == c->rd.msg) /* a streamed request still being read: the reader owns it */
        c->req = NULL;
    http_reader_free(&c->rd);
    http_msg_free(c->req);
    buf_free(&c->in);
    buf_free(&c->out);
    buf_free(&c->extra_headers);
    free(c);
}

static void conn_enter(struct http_conn *c)
{
    c->busy++;
}

static void conn_leave(struct http_conn *c)
{
    if (--c->busy == 0 && c->dead)
        conn_free(c);
}

/* The reply owed on this connection will never be sent: tell its producer, once. */
static void abandon(struct http_conn *c)
{
    if (c->state == C_READING)
        return;
    void (*fn)(void *) = c->close_fn;
    c->state = C_READING;
    c->close_fn = NULL;
    c->drain_fn = NULL;
    c->data_fn = NULL;
    c->body_fn = NULL;
    c->closing = true;
    if (fn)
        fn(c->close_arg);
}

static void conn_destroy(struct http_conn *c)
{
    if (c->dead)
        return;
    abandon(c);
    c->dead = true;
    c->closing = true;
    if (c->busy == 0)
        conn_free(c);
}

/* ---- the connection cap ---- */

/* Logs a warning unless one came from the same limiter less than a second ago. */
static void __attribute__((format(printf, 2, 3)))
log_limited(struct log_limit *l, const char *fmt, ...)
{
    uint64_t now = mono_ms();
    if (now < l->next_ms) {
        l->held++;
        return;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (l->held)
        log_warn("%s (%u more since the last report)", msg, l->held);
    else
        log_warn("%s", msg);
    l->held = 0;
    l->next_ms = now + 1000;
}

/* Connections may hold RLIMIT_NOFILE less a quarter (FD_RESERVE_MIN at least): the reserve is
 * for what containers (logs, pipes, pidfds), pulls (sockets, blobs being written) and the state
 * files need, which must not fail because clients hold idle connections. */
static size_t conn_cap(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
        return SIZE_MAX;
    size_t n = (size_t)rl.rlim_cur, reserve = n / 4 > FD_RESERVE_MIN ? n / 4 : FD_RESERVE_MIN;
    return n > reserve + 16 ? n - reserve : 16;
}

/* How readily a connection may be closed to make room for another: 2 when idle (no byte of a
 * next request), 1 when a request head is still arriving (nothing dispatched yet), 0 never: a
 * request being handled, a body being read, a streamed or hijacked reply, output still queued. */
static int shed_rank(const struct http_conn *c)
{
    if (c->dead || c->closing || c->state != C_READING || c->discarding || c->sending ||
        c->out.len || c->rd.headers_done)
        return 0;
    return http_reader_idle(&c->rd) && c->in.len == 0 ? 2 : 1;
}

/* The peer's least recently used connection of the best rank (*rank), or NULL. Only the first
 * SHED_SCAN are looked at, so that a peer with thousands of busy connections costs little; the
 * busy ones met go to the end of the list, so that the next look goes further. */
static struct http_conn *peer_victim(struct peer *p, int *rank)
{
    struct http_conn *c = p->first, *best = NULL;
    *rank = 0;
    for (int i = 0; c && i < SHED_SCAN; i++) {
        struct http_conn *next = c->peer_next;
        int r = shed_rank(c);
        if (r == 2) {
            *rank = 2;
            return c;
        }
        if (r == 1 && !best) {
            best = c;
            *rank = 1;
        } else if (r == 0) {
            peer_touch(c);
        }
        c = next;
    }
    return best;
}

/* For the server-wide cap: idle before half-arrived, then the peer holding the most, so that
 * one client's hoard is what goes, and a `docker ps` (a new peer, one connection) never is. */
static struct http_conn *server_victim(struct http_server *s, struct peer **owner)
{
    struct http_conn *best = NULL;
    int best_rank = 0;
    size_t best_n = 0;
    const char *key;
    void *value;
    for (size_t i = 0; map_next(&s->peers, &i, &key, &value);) {
        struct peer *p = value;
        if (best_rank == 2 && p->nconns <= best_n)
            continue; /* cannot do better */
        int rank;
        struct http_conn *c = peer_victim(p, &rank);
        if (c && (rank > best_rank || (rank == best_rank && p->nconns > best_n))) {
            best = c;
            best_rank = rank;
            best_n = p->nconns;
        }
    }
    if (best)
        *owner = best->peer;
    return best;
}

static void shed(struct http_conn *c)
{
    c->srv->stats.shed++;
    conn_destroy(c);
}

/* Before a connection of peer p (counted in p->nconns already) joins: true when there is room for
 * it (an idle connection may have been closed to make it), false when it must be refused. Idle
 * keep-alive connections cost the client nothing to reopen; a busy one is never closed, so a peer
 * whose connections all work (a `docker stats` of many containers) is not held to its cap, only to
 * the server's. */
static bool make_room(struct http_server *s, struct peer *p)
{
    int rank;
    if (s->o.max_peer_conns && p->nconns > s->o.max_peer_conns) {
        struct http_conn *v = peer_victim(p, &rank);
        if (v) {
            log_limited(&s->shed_log,
                        "http: pid %d (uid %u) holds %zu connections: closing its least recently "
                        "used idle ones",
                        (int)p->pid, (unsigned)p->uid, p->nconns);
            shed(v);
        }
    }
    if (s->nconns < s->max_conns)
        return true;
    struct peer *owner;
    struct http_conn *v = server_victim(s, &owner);
    if (!v) {
        log_limited(&s->refuse_log, "http: %zu connections, none of them idle: refusing new ones",
                    s->nconns);
        return false;
    }
    log_limited(&s->shed_log,
                "http: %zu connections, the most the fd limit allows: closing idle ones of the "
                "busiest client, pid %d (uid %u, %zu connections)",
                s->nconns, (int)owner->pid, (unsigned)owner->uid, owner->nconns);
    shed(v);
    return true;
}

static void conn_new(struct http_server *s, int fd)
{
    struct peer *p = peer_get(s, fd);
    p->nconns++; /* now: making room may close the peer's last other connection */
    if (!make_room(s, p)) {
        s->stats.refused++;
        close(fd);
        peer_put(s, p);
        return;
    }
    struct http_conn *c = xcalloc(1, sizeof(*c));
    c->srv = s;
    c->io = reactor_io_open(s->r, fd, c);
    http_reader_init(&c->rd, HTTP_REQUEST, &s->o.limits);
    c->rd.ctx = c;
    c->rd.on_head = s->o.stream_body ? on_head : NULL;
    c->rd.on_body = on_body;
    c->timer.fn = on_timer;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    c->peer = p;
    peer_append(c);
    arm_timer(c);
    if (reactor_recv(c->io, on_recv) < 0)
        conn_destroy(c);
}

size_t http_conn_pending(const struct http_conn *c)
{
    return c->out.len + c->inflight;
}

/* ---- output ---- */

static void on_sent(void *ctx, int res);

/* A hijacked connection ends with our side shut down while the client's last input is read
 * and dropped: closed with input unread, the connection would be reset, and the client lose
 * what it had not read yet (the docker CLI says "connection reset by peer" instead of giving
 * the container's exit status). The client's close, or LINGER_MS, ends it. */
static bool start_linger(struct http_conn *c)
{
    if (!c->linger)
        return false;
    c->linger = false;
    if (c->peer_eof || shutdown(reactor_io_fd(c->io), SHUT_WR) < 0)
        return false;
    c->lingering = true;
    reactor_timer_start(c->srv->r, &c->timer, LINGER_MS);
    http_conn_resume_read(c);
    return true;
}

/* Hand queued output to the reactor (one send in flight), or finish a closing connection. */
static void flush(struct http_conn *c)
{
    if (c->sending || c->dead)
        return;
    if (c->out.len == 0) {
        if (c->closing && !c->lingering && !start_linger(c))
            conn_destroy(c);
        return;
    }
    size_t len;
    char *data = buf_steal(&c->out, &len);
    c->inflight = len;
    c->sending = true;
    if (reactor_send(c->io, data, len, on_sent) < 0) {
        c->sending = false;
        c->inflight = 0;
        conn_destroy(c);
    }
}

static void on_sent(void *ctx, int res)
{
    struct http_conn *c = ctx;
    conn_enter(c);
    c->sending = false;
    c->inflight = 0;
    if (res < 0) {
        conn_destroy(c); /* the client is gone */
    } else {
        flush(c);
        if (!c->dead && c->drain_fn && http_conn_pending(c) < LOW_WATER) {
            void (*fn)(void *) = c->drain_fn;
            c->drain_fn = NULL;
            fn(c->drain_arg);
        }
        parse_pending(c); /* pipelined requests waited while output was backed up */
    }
    conn_leave(c);
}

/* Decimal without printf: a head is written for every reply, and printf was most of its cost. */
static void put_uint(struct buf *b, size_t n)
{
    char digits[24], *p = digits + sizeof(digits);
    do {
        *--p = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    buf_append(b, p, (size_t)(digits + sizeof(digits) - p));
}

static void put_header(struct buf *b, const char *name, const char *value)
{
    buf_puts(b, name);
    buf_puts(b, ": ");
    buf_puts(b, value);
    buf_puts(b, "\r\n");
}

static void write_head(struct http_conn *c, int status, const char *ctype, ssize_t len)
{
    struct buf *o = &c->out;
    buf_puts(o, "HTTP/1.1 ");
    put_uint(o, (size_t)status);
    buf_puts(o, " ");
    buf_puts(o, http_status_text(status));
    buf_puts(o, "\r\n");
    if (ctype)
        put_header(o, "Content-Type", ctype);
    if (len >= 0) {
        buf_puts(o, "Content-Length: ");
        put_uint(o, (size_t)len);
        buf_puts(o, "\r\n");
    }
    if (c->chunked)
        buf_puts(o, "Transfer-Encoding: chunked\r\n");
    if (!c->keep_alive)
        buf_puts(o, "Connection: close\r\n");
    buf_append(o, c->extra_headers.data, c->extra_headers.len);
    buf_puts(o, "\r\n");
    buf_reset(&c->extra_headers);
}

static enum read_phase read_phase(const struct http_conn *c)
{
    if (c->rd.headers_done || c->discarding)
        return PH_BODY;
    return !http_reader_idle(&c->rd) || c->in.len > 0 ? PH_HEAD : PH_IDLE;
}

static uint64_t phase_deadline(const struct http_conn *c)
{
    const struct http_server_opts *o = &c->srv->o;
    if (c->phase == PH_IDLE)
        return c->phase_start_ms + o->idle_timeout_ms;
    if (c->phase == PH_HEAD)
        return c->phase_start_ms + o->request_timeout_ms;
    uint64_t stalled = c->last_rx_ms + o->request_timeout_ms;
    uint64_t slow =
        c->phase_start_ms + o->request_timeout_ms + (uint64_t)c->phase_bytes * 1000 / BODY_MIN_RATE;
    return stalled < slow ? stalled : slow;
}

/* The timeouts of a connection reading a request, each phase with its own clock, which starts
 * when the phase does (and again for each request of a pipeline):
 * - idle, no byte of a request yet: closed after idle_timeout_ms;
 * - head, from its first byte until it is whole: 408 after request_timeout_ms, however its
 *   bytes trickle in (Go's ReadHeaderTimeout, which dockerd sets). A deadline that moved with
 *   each byte let a client sending one a second keep the connection for as long as it liked
 *   (18 hours for a 64 KiB head);
 * - a buffered body (or the rest of one answered early): a minimum rate. 408 once no byte came
 *   for request_timeout_ms, or once it averages less than BODY_MIN_RATE since it began, after a
 *   grace of request_timeout_ms (Apache's mod_reqtimeout MinRate). A total bound would cut
 *   large bodies on slow links; a stall bound alone lets a trickle go on for ever.
 * - a body streamed to its handler (docker load, import) while the handler works: 408 once no
 *   byte came for request_timeout_ms, since a client that stops sending would hold the pool job
 *   reading it for ever; but not while we hold the body back (read paused: the job is slower
 *   than the client). No rate rule there: `docker save | docker load` may be slow. */
static void arm_timer(struct http_conn *c)
{
    if (c->closing)
        return;
    const struct http_server_opts *o = &c->srv->o;
    if (c->body_streaming && (c->state == C_HANDLING || c->state == C_STREAMING)) {
        if (c->read_paused)
            reactor_timer_stop(c->srv->r, &c->timer);
        else
            reactor_timer_start(c->srv->r, &c->timer, o->request_timeout_ms);
        return;
    }
    if (c->state != C_READING)
        return;
    enum read_phase phase = read_phase(c);
    uint64_t now = mono_ms();
    if (phase != c->phase) {
        c->phase = phase;
        c->phase_start_ms = c->last_rx_ms = now;
        c->phase_bytes = 0;
    }
    uint64_t due = phase_deadline(c);
    reactor_timer_start(c->srv->r, &c->timer, due > now ? due - now : 0);
}

static void finish_request(struct http_conn *c)
{
    /* Answered before its body ended (an early error): the rest cannot be skipped, so the
     * connection closes once the body is over. Closing at once would make the client's writes
     * fail, often before it has read the answer (docker then shows "broken pipe" instead of the
     * error); the body is read and dropped meanwhile, as a slow body is timed out as usual. */
    if (c->body_streaming) {
        c->keep_alive = false;
        c->discarding = true;
        c->body_fn = NULL;
        c->req = NULL;            /* still the reader's message; freed when it completes */
        http_conn_resume_read(c); /* whoever held the body back no longer reads it */
    }
    http_msg_free(c->req);
    c->req = NULL;
    c->state = C_READING;
    c->chunked = false;
    c->drain_fn = NULL;
    c->close_fn = NULL;
    if (!c->keep_alive && !c->discarding)
        c->closing = true;
    flush(c);
    arm_timer(c);
    parse_pending(c);
}

/* Protocol errors and timeouts of a request being read: answer and close. A request whose body
 * streams to its handler was dispatched at its head (malformed or stalled midway): the handler
 * is told first (its close callback stops the job reading the body), and the error is the
 * answer only if the handler had begun none; otherwise what it queued goes out, and the
 * connection closes after it. */
static void reply_error(struct http_conn *c, int status, const char *msg)
{
    bool answered = c->discarding || (c->body_streaming && c->state != C_HANDLING);
    if (c->body_streaming) {
        abandon(c);
        c->body_fn = NULL;
        buf_reset(&c->extra_headers);
    }
    if (answered) {
        c->discarding = false;
        c->closing = true;
        reactor_timer_stop(c->srv->r, &c->timer);
        flush(c);
        return;
    }
    _cleanup_json_ json_t *body = json_pack("{ss}", "message", msg);
    _cleanup_free_ char *text = json_dumps(body, JSON_COMPACT);
    c->keep_alive = false;
    c->chunked = false;
    write_head(c, status, "application/json", (ssize_t)strlen(text) + 1);
    buf_puts(&c->out, text);
    buf_puts(&c->out, "\n");
    c->closing = true;
    reactor_timer_stop(c->srv->r, &c->timer);
    flush(c);
}

/* ---- input ---- */

/* A client that sent "Expect: 100-continue" holds its body back until told to go on (curl
 * waits 1 s). Bodies are read whole, so the go-ahead goes out as soon as the head has passed
 * the limits; a head over them was already answered with an error instead. */
static void send_continue(struct http_conn *c)
{
    const struct http_msg *m = c->rd.msg;
    if (!c->rd.headers_done || c->expect_checked || !m)
        return;
    c->expect_checked = true;
    const char *expect = http_msg_header(m, "Expect");
    if (expect && strcasecmp(expect, "100-continue") == 0 && m->http_minor >= 1) {
        buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
        flush(c);
    }
}

static void dispatch(struct http_conn *c, struct http_msg *req)
{
    reactor_timer_stop(c->srv->r, &c->timer);
    c->phase = PH_NONE; /* the next request's clocks start afresh */
    peer_touch(c);
    c->req = req;
    c->state = C_HANDLING;
    c->head_only = req->method == HTTP_HEAD;
    c->keep_alive = req->keep_alive && !req->upgrade;
    c->srv->o.handler(c->srv->o.app, c, req);
}

/* Streamed request bodies: the app decides at the head; the bytes go to the handler's sink. */
static int on_head(void *ctx, struct http_msg *m)
{
    struct http_conn *c = ctx;
    return c->srv->o.stream_body(c->srv->o.app, m) ? 1 : 0;
}

static int on_body(void *ctx, const char *p, size_t n)
{
    struct http_conn *c = ctx;
    if (c->body_fn)
        c->body_fn(c->body_arg, p, (ssize_t)n);
    return 0;
}

static bool can_parse(const struct http_conn *c)
{
    return !c->closing && !c->dead && (c->state == C_READING || c->body_streaming);
}

/* A message is complete: dispatch it, or end the streamed body of the one dispatched. */
static void message_done(struct http_conn *c)
{
    struct http_msg *m = http_reader_take(&c->rd);
    if (!c->body_streaming) {
        dispatch(c, m);
        return;
    }
    c->body_streaming = false;
    if (c->state != C_READING) /* the body's timeout is over; the handler owns the rest */
        reactor_timer_stop(c->srv->r, &c->timer);
    if (m != c->req) /* the reply came before the body ended and let go of it */
        http_msg_free(m);
    void (*fn)(void *, const char *, ssize_t) = c->body_fn;
    c->body_fn = NULL;
    if (fn)
        fn(c->body_arg, NULL, 0);
    if (c->discarding) { /* the answer went before the body ended: now close */
        c->discarding = false;
        c->closing = true;
        flush(c);
    }
}

/* Parse and dispatch requests from p[0..n) while the connection is free to take one;
 * returns the bytes used. The caller holds conn_enter. */
static size_t parse(struct http_conn *c, const char *p, size_t n)
{
    size_t used = 0;
    c->parsing = true;
    while (used < n && can_parse(c) && http_conn_pending(c) < HIGH_WATER) {
        used += http_reader_feed(&c->rd, p + used, n - used);
        if (c->rd.status) {
            reply_error(c, c->rd.status, c->rd.error);
            used = n;
            break;
        }
        if (c->rd.head_paused) { /* a streamed body follows: the handler goes first */
            send_continue(c);
            c->body_streaming = true;
            dispatch(c, c->rd.msg);
            http_reader_resume(&c->rd);
            continue;
        }
        if (!c->rd.done) {
            send_continue(c);
            break;
        }
        c->expect_checked = false; /* the next request is checked afresh */
        message_done(c);
    }
    c->parsing = false;
    return used;
}

static void keep_input(struct http_conn *c, const char *p, size_t n)
{
    buf_append(&c->in, p, n);
    if (c->in.len > IN_MAX && !c->read_paused) {
        c->read_paused = true; /* a client pipelining without reading replies: make it wait */
        reactor_recv_pause(c->io);
    }
}

static void parse_pending(struct http_conn *c)
{
    if (c->parsing || c->in.len == 0 || !can_parse(c))
        return;
    conn_enter(c);
    size_t used = parse(c, c->in.data, c->in.len);
    if (!c->dead) {
        buf_consume(&c->in, used);
        if (c->read_paused && c->in.len < IN_MAX / 2 && c->state != C_HIJACKED) {
            c->read_paused = false;
            reactor_recv(c->io, on_recv);
        }
        arm_timer(c);
    }
    conn_leave(c);
}

static void take_input(struct http_conn *c, const char *data, size_t n)
{
    if (c->closing)
        return; /* nothing more will be answered on this connection */
    c->last_rx_ms = mono_ms();
    c->phase_bytes += n;
    size_t used = 0;
    if (c->in.len == 0 && can_parse(c))
        used = parse(c, data, n);
    if (!c->dead && !c->closing && used < n) {
        if (c->state == C_HIJACKED)
            c->data_fn(c->data_arg, data + used, (ssize_t)(n - used));
        else
            keep_input(c, data + used, n - used);
    }
    if (!c->dead)
        arm_timer(c);
}

/* Bytes that came before a hijack wait in c->in for the new owner, and go to it ahead of
 * anything newer: the zero-delay kick may run only after the next packet or EOF arrived. */
static void deliver_held(struct http_conn *c)
{
    if (c->state != C_HIJACKED || c->in.len == 0)
        return;
    struct buf held = c->in;
    c->in = (struct buf){0};
    c->data_fn(c->data_arg, held.data, (ssize_t)held.len);
    buf_free(&held);
}

static void on_peer_gone(struct http_conn *c, ssize_t n)
{
    if (c->state == C_HIJACKED && n == 0) {
        c->peer_eof = true;
        deliver_held(c);
        if (!c->dead && c->state == C_HIJACKED) /* the owner may have closed on the data */
            c->data_fn(c->data_arg, NULL, 0);   /* half-close: the handler decides */
        return;
    }
    abandon(c);
    c->closing = true;
    if (n < 0 || (!c->sending && c->out.len == 0))
        conn_destroy(c);
}

static void on_recv(void *ctx, const char *data, ssize_t n)
{
    struct http_conn *c = ctx;
    conn_enter(c);
    if (n <= 0)
        on_peer_gone(c, n);
    else if (c->state == C_HIJACKED && c->in.len > 0)
        buf_append(&c->in, data, (size_t)n); /* behind held bytes: the kick delivers both */
    else if (c->state == C_HIJACKED)
        c->data_fn(c->data_arg, data, n);
    else
        take_input(c, data, (size_t)n);
    conn_leave(c);
}

/* One timer per connection: idle and request timeouts while reading, and a zero-delay kick
 * that hands bytes which arrived with a hijack request to the new owner. */
static void on_timer(struct reactor_timer *t)
{
    struct http_conn *c = container_of(t, struct http_conn, timer);
    conn_enter(c);
    if (c->lingering) {
        conn_destroy(c); /* the client never closed */
    } else if (c->state == C_HIJACKED) {
        deliver_held(c);
    } else if (c->closing) {
        /* flushing a last answer: the send completes or fails on its own */
    } else if (c->body_streaming) { /* stalled mid-body, answered or not */
        reply_error(c, 408, "request timed out");
    } else if (c->state == C_READING) {
        /* Idle; or a body still arriving after its answer, which gets no second one. */
        if (read_phase(c) == PH_IDLE || c->discarding)
            conn_destroy(c);
        else
            reply_error(c, 408, "request timed out");
    }
    conn_leave(c);
}

/* ---- replies ---- */

void http_conn_header(struct http_conn *c, const char *name, const char *fmt, ...)
{
    va_list ap;
    buf_puts(&c->extra_headers, name);
    buf_puts(&c->extra_headers, ": ");
    va_start(ap, fmt);
    buf_vprintf(&c->extra_headers, fmt, ap);
    va_end(ap);
    buf_puts(&c->extra_headers, "\r\n");
}

void http_reply(struct http_conn *c, int status, const char *content_type, const void *body,
                size_t len)
{
    if (c->state != C_HANDLING)
        return;
    conn_enter(c);
    write_head(c, status, content_type, (ssize_t)len);
    if (!c->head_only && len)
        buf_append(&c->out, body, len);
    finish_request(c);
    conn_leave(c);
}

void http_stream_begin(struct http_conn *c, int status, const char *content_type)
{
    if (c->state != C_HANDLING)
        return;
    conn_enter(c);
    c->chunked = c->req->http_minor >= 1;
    if (!c->chunked)
        c->keep_alive = false; /* HTTP/1.0: the body runs to the close */
    write_head(c, status, content_type, -1);
    c->state = C_STREAMING;
    flush(c);
    conn_leave(c);
}

bool http_stream_write(struct http_conn *c, const void *data, size_t len)
{
    if (c->state != C_STREAMING)
        return false;
    if (len == 0 || c->head_only)
        return http_conn_pending(c) < HIGH_WATER; /* an empty chunk would end the body */
    conn_enter(c);
    if (c->chunked)
        buf_printf(&c->out, "%zx\r\n", len);
    buf_append(&c->out, data, len);
    if (c->chunked)
        buf_puts(&c->out, "\r\n");
    flush(c);
    bool more = !c->dead && http_conn_pending(c) < HIGH_WATER;
    conn_leave(c);
    return more;
}

void http_stream_end(struct http_conn *c)
{
    if (c->state != C_STREAMING)
        return;
    conn_enter(c);
    if (c->chunked && !c->head_only)
        buf_puts(&c->out, "0\r\n\r\n");
    finish_request(c);
    conn_leave(c);
}

void http_hijack(struct http_conn *c, int status, const char *content_type,
                 void (*on_data)(void *arg, const char *data, ssize_t n), void *arg)
{
    if (c->state != C_HANDLING)
        return;
    conn_enter(c);
    /* Written by hand: no Content-Length and no "Connection: close", the raw stream follows. */
    if (status == 101)
        buf_puts(&c->out, "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n");
    else
        buf_printf(&c->out, "HTTP/1.1 %d %s\r\n", status, http_status_text(status));
    if (content_type)
        buf_printf(&c->out, "Content-Type: %s\r\n", content_type);
    buf_append(&c->out, c->extra_headers.data, c->extra_headers.len);
    buf_puts(&c->out, "\r\n");
    buf_reset(&c->extra_headers);
    c->keep_alive = false;
    c->state = C_HIJACKED;
    c->data_fn = on_data;
    c->data_arg = arg;
    if (c->in.len > 0) /* bytes that came with the request belong to the new owner */
        reactor_timer_start(c->srv->r, &c->timer, 0);
    http_conn_resume_read(c);
    flush(c);
    conn_leave(c);
}

bool http_raw_write(struct http_conn *c, const void *data, size_t len)
{
    if (c->state != C_HIJACKED)
        return false;
    conn_enter(c);
    buf_append(&c->out, data, len);
    flush(c);
    bool more = !c->dead && http_conn_pending(c) < HIGH_WATER;
    conn_leave(c);
    return more;
}

void http_conn_pause_read(struct http_conn *c)
{
    if (!c->read_paused && !c->dead) {
        c->read_paused = true;
        reactor_recv_pause(c->io);
        arm_timer(c); /* a body held back is not a stalled client */
    }
}

void http_conn_resume_read(struct http_conn *c)
{
    if (c->read_paused && !c->dead) {
        c->read_paused = false;
        reactor_recv(c->io, on_recv);
        arm_timer(c);
    }
}

void http_conn_body(struct http_conn *c, void (*fn)(void *arg, const char *data, ssize_t n),
                    void *arg)
{
    c->body_fn = fn;
    c->body_arg = arg;
}

void http_conn_on_drain(struct http_conn *c, void (*fn)(void *arg), void *arg)
{
    c->drain_fn = fn;
    c->drain_arg = arg;
}

void http_conn_on_close(struct http_conn *c, void (*fn)(void *arg), void *arg)
{
    c->close_fn = fn;
    c->close_arg = arg;
}

/* The owner ends the exchange: no callback for it after this. */
static void disown(struct http_conn *c)
{
    c->linger = c->state == C_HIJACKED;
    c->state = C_READING;
    c->close_fn = NULL;
    c->drain_fn = NULL;
    c->data_fn = NULL;
    c->closing = true;
}

void http_conn_close(struct http_conn *c)
{
    if (c->dead)
        return;
    conn_enter(c);
    disown(c);
    flush(c);
    conn_leave(c);
}

void http_conn_abort(struct http_conn *c)
{
    if (c->dead)
        return;
    conn_enter(c);
    disown(c);
    buf_reset(&c->out);
    conn_destroy(c);
    conn_leave(c);
}

/* ---- listeners ---- */

static void on_accept(void *ctx, int fd);

static void retry_accept(struct reactor_timer *t)
{
    struct listener *l = container_of(t, struct listener, retry);
    reactor_accept(l->io, on_accept);
}

/* Accepts and closes every connection waiting on l, with the spare fd given up for each: they
 * learn at once that they will not be served, rather than hang in the backlog. Returns how many;
 * 0 when the spare could not be had back (then they wait for the next try). */
static unsigned refuse_backlog(struct listener *l)
{
    struct http_server *s = l->srv;
    if (s->spare_fd < 0)
        s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (s->spare_fd < 0)
        return 0;
    close(s->spare_fd);
    unsigned n = 0;
    for (int fd; (fd = accept4(reactor_io_fd(l->io), NULL, NULL, SOCK_CLOEXEC)) >= 0; n++)
        close(fd);
    s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC); /* a pool thread may beat us to it */
    s->stats.refused += n;
    if (n)
        log_limited(&s->refuse_log,
                    "http: out of file descriptors and no idle connection to close: refused %u "
                    "connections",
                    n);
    return n;
}

static bool connection_waiting(const struct listener *l)
{
    struct pollfd p = {.fd = reactor_io_fd(l->io), .events = POLLIN};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void on_listener_ready(void *ctx, int revents)
{
    (void)revents;
    struct listener *l = ctx;
    reactor_accept(l->io, on_accept);
}

/* Out of fds, though connections stop short of RLIMIT_NOFILE: something else took the reserve,
 * or the limit was lowered. Accepting resumes only once a connection waits, as an accept armed
 * at once would fail at once (io_uring's takes its fd before it looks for a connection; epoll's
 * listener stays readable). For the one waiting, an idle connection is closed; with none, the
 * waiting ones are refused. The cap is recomputed, in case the limit changed. The log line,
 * which came ten times a second, comes once a second at most. */
static void out_of_fds(struct listener *l, int e)
{
    struct http_server *s = l->srv;
    s->stats.emfile++;
    log_limited(&s->accept_log, "http: accept on `%s`: %s", l->path ? l->path : "?", strerror(e));
    if (!s->o.max_conns)
        s->max_conns = conn_cap();
    struct peer *owner;
    struct http_conn *v;
    if (!connection_waiting(l)) {
        reactor_poll(l->io, POLLIN, on_listener_ready);
    } else if ((v = server_victim(s, &owner))) {
        shed(v);
        reactor_accept(l->io, on_accept);
    } else if (refuse_backlog(l) > 0) {
        reactor_poll(l->io, POLLIN, on_listener_ready);
    } else {
        reactor_timer_start(s->r, &l->retry, RETRY_MS); /* not a spin on a full backlog */
    }
}

static void on_accept(void *ctx, int fd)
{
    struct listener *l = ctx;
    if (fd >= 0) {
        conn_new(l->srv, fd);
        return;
    }
    if (fd == -EMFILE || fd == -ENFILE) {
        out_of_fds(l, -fd);
        return;
    }
    /* Out of memory or buffers: try again shortly rather than spin on the error. */
    log_limited(&l->srv->accept_log, "http: accept on `%s`: %s", l->path ? l->path : "?",
                strerror(-fd));
    reactor_timer_start(l->srv->r, &l->retry, RETRY_MS);
}

/* Alive and not a zombie: a killed daemon its parent has not reaped yet serves nothing. */
static bool process_alive(pid_t pid)
{
    char path[64], stat[256];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno != ENOENT;
    ssize_t n = read(fd, stat, sizeof(stat) - 1);
    if (n <= 0)
        return true;
    stat[n] = '\0';
    const char *paren = strrchr(stat, ')'); /* "pid (comm) S ..." */
    return !paren || (paren[1] != ' ' || (paren[2] != 'Z' && paren[2] != 'X'));
}

/* A socket file answers a connect() only if a server still listens on it. A listener killed
 * a moment ago may still accept for some milliseconds (its io_uring ring, which holds the
 * socket, is torn down after the process is gone), so a connect() that succeeds is checked
 * against the listener's pid too: a restart right after a crash must not be refused. */
static bool socket_is_live(const struct sockaddr_un *sa)
{
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
        return false;
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.pid <= 0)
        return true; /* no pid to check (another pid namespace): assume a server */
    return process_alive(cred.pid);
}

static int prepare_path(const char *path, const struct sockaddr_un *sa, struct berth_err **err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : berth_error(err, errno, "stat `%s`", path);
    if (!S_ISSOCK(st.st_mode))
        return berth_user_error(err, EEXIST, "`%s` exists and is not a socket", path);
    if (socket_is_live(sa))
        return berth_user_error(err, EADDRINUSE, "another daemon is already listening on `%s`",
                                path);
    if (unlink(path) < 0)
        return berth_error(err, errno, "remove stale socket `%s`", path);
    return 0;
}

/* Like dockerd: the socket is root:docker 0660 when a docker group exists, else root 0660. */
static void set_socket_owner(const char *path)
{
    struct group *g = getgrnam("docker");
    if (g && chown(path, 0, g->gr_gid) < 0)
        log_warn("http: chown `%s`: %s", path, strerror(errno));
    if (chmod(path, 0660) < 0)
        log_warn("http: chmod `%s`: %s", path, strerror(errno));
}

int http_server_listen_unix(struct http_server *s, const char *path, struct berth_err **err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return berth_error(err, ENAMETOOLONG, "socket path `%s`", path);
    strcpy(sa.sun_path, path);
    int r = prepare_path(path, &sa, err);
    if (r < 0)
        return r;
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return berth_error(err, errno, "socket");
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return berth_error(err, errno, "bind `%s`", path);
    set_socket_owner(path);
    struct stat st;
    if (listen(fd, 1024) < 0 || stat(path, &st) < 0)
        return berth_error(err, errno, "listen on `%s`", path);
    struct listener *l = xcalloc(1, sizeof(*l));
    *l = (struct listener){.srv = s, .path = xstrdup(path), .dev = st.st_dev, .ino = st.st_ino};
    l->retry.fn = retry_accept;
    l->io = reactor_io_open(s->r, take_fd(&fd), l);
    l->next = s->listeners;
    s->listeners = l;
    return reactor_accept(l->io, on_accept) < 0 ? berth_error(err, EIO, "accept") : 0;
}

void http_server_adopt(struct http_server *s, int fd)
{
    conn_new(s, fd);
}

size_t http_server_conn_count(const struct http_server *s)
{
    return s->nconns;
}

size_t http_server_max_conns(const struct http_server *s)
{
    return s->max_conns;
}

struct http_server *http_server_new(struct reactor *r, const struct http_server_opts *opts)
{
    struct http_server *s = xcalloc(1, sizeof(*s));
    s->r = r;
    s->o = *opts;
    s->max_conns = opts->max_conns ? opts->max_conns : conn_cap();
    s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return s;
}

/* Removes the socket file only if it is still the one we bound (not a successor's). */
static void listener_free(struct listener *l)
{
    struct stat st;
    reactor_timer_stop(l->srv->r, &l->retry);
    reactor_io_close(l->io);
    if (l->path && stat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
        unlink(l->path);
    free(l->path);
    free(l);
}

void http_server_free(struct http_server *s)
{
    if (!s)
        return;
    while (s->listeners) {
        struct listener *l = s->listeners;
        s->listeners = l->next;
        listener_free(l);
    }
    while (s->conns) {
        struct http_conn *c = s->conns;
        c->busy = 0;
        c->dead = false;
        conn_destroy(c);
    }
    map_free(&s->peers); /* empty: the last connection of each peer freed it */
    if (s->spare_fd >= 0)
        close(s->spare_fd);
    free(s);
}
