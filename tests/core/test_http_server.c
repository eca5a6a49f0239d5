/* tests/core/test_http_server.c — the HTTP server on both backends, driven through one end of
 * a socketpair (or a temp unix socket): keep-alive, pipelining, HEAD, close, timeouts, limits,
 * streaming back-pressure, hijack, and close callbacks when the client goes away. Includes
 * http_server.c to check how much a connection buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/http_server.c" /* to look inside struct http_conn */

#include "core/buf.h"
#include "core/xalloc.h"
#include "tests/core/reactor_helpers.h"

#define CHUNK (64 * 1024)
#define MiB   (1024 * 1024)

/* ---- the server under test and its handler ---- */

struct hs {
    struct reactor *r;
    struct http_server *srv;
    char dir[64];
    int handled;
    char paths[16][64];
    struct http_conn *held; /* a reply owed later */
    int closes;             /* close callbacks */
    /* streaming */
    struct http_conn *stream;
    size_t stream_target, stream_written, max_pending;
    int drains;
    bool stream_ended;
    /* hijack */
    struct http_conn *hj;
    int hj_eofs;
    struct buf hj_got;
    /* a streamed request body (/upload) */
    struct http_conn *up;
    struct buf up_got;
    int up_bytes, up_ends;
    bool up_pause; /* hold the body back after each piece */
};

static void on_owed_close(void *arg)
{
    struct hs *h = arg;
    h->closes++;
    h->held = NULL;
    h->stream = NULL; /* the connection must not be touched any more */
    h->hj = NULL;
    h->up = NULL;
}

static uint8_t pattern(size_t i)
{
    return (uint8_t)(i % 253 + i / 8191);
}

static void stream_on_drain(void *arg);

/* Write until the server says stop, then wait for the drain callback. */
static void stream_more(struct hs *h)
{
    static char chunk[CHUNK];
    while (h->stream && h->stream_written < h->stream_target) {
        size_t n = h->stream_target - h->stream_written;
        n = n < CHUNK ? n : CHUNK;
        for (size_t i = 0; i < n; i++)
            chunk[i] = (char)pattern(h->stream_written + i);
        bool more = http_stream_write(h->stream, chunk, n);
        h->stream_written += n;
        if (h->stream && http_conn_pending(h->stream) > h->max_pending)
            h->max_pending = http_conn_pending(h->stream);
        if (!more) {
            if (h->stream)
                http_conn_on_drain(h->stream, stream_on_drain, h);
            return;
        }
    }
    if (h->stream) {
        http_stream_end(h->stream);
        h->stream = NULL;
        h->stream_ended = true;
    }
}

static void stream_on_drain(void *arg)
{
    struct hs *h = arg;
    h->drains++;
    stream_more(h);
}

static void hj_on_data(void *arg, const char *data, ssize_t n)
{
    struct hs *h = arg;
    if (n > 0) {
        buf_append(&h->hj_got, data, (size_t)n);
        http_raw_write(h->hj, data, (size_t)n); /* echo */
        return;
    }
    h->hj_eofs++;
    http_conn_close(h->hj); /* the client is done: so are we */
    h->hj = NULL;
}

/* /upload: the body streams in and is echoed at its end; /upload-streaming answers with a
 * streamed reply at once, before the body has come. */
static void upload_data(void *arg, const char *data, ssize_t n)
{
    struct hs *h = arg;
    assert_non_null(h->up); /* never called once the handler was told the client is gone */
    if (n > 0) {
        buf_append(&h->up_got, data, (size_t)n);
        h->up_bytes += (int)n;
        if (h->up_pause)
            http_conn_pause_read(h->up);
        return;
    }
    h->up_ends++;
    if (h->up && strcmp(h->up->req->path, "/upload") == 0)
        http_reply(h->up, 200, "text/plain", h->up_got.data, h->up_got.len);
    else if (h->up)
        http_stream_end(h->up);
    h->up = NULL;
}

static bool stream_body(void *app, const struct http_msg *req)
{
    (void)app;
    return strncmp(req->path, "/upload", 7) == 0;
}

static void handler(void *app, struct http_conn *c, struct http_msg *req)
{
    struct hs *h = app;
    snprintf(h->paths[h->handled++ % 16], sizeof(h->paths[0]), "%s", req->path);
    if (strcmp(req->path, "/hello") == 0) {
        http_conn_header(c, "X-Test", "%d", 1);
        http_reply(c, 200, "text/plain", "hello", 5);
    } else if (strcmp(req->path, "/echo") == 0) {
        http_reply(c, 200, "application/octet-stream", req->body.data, req->body.len);
    } else if (strcmp(req->path, "/big") == 0) {
        static char big[CHUNK];
        memset(big, 'B', sizeof(big));
        http_reply(c, 200, "application/octet-stream", big, sizeof(big));
    } else if (strcmp(req->path, "/later") == 0) {
        h->held = c;
        http_conn_on_close(c, on_owed_close, h);
    } else if (strcmp(req->path, "/stream") == 0) {
        h->stream = c;
        http_conn_on_close(c, on_owed_close, h);
        http_stream_begin(c, 200, "application/octet-stream");
        stream_more(h);
    } else if (strcmp(req->path, "/attach") == 0) {
        h->hj = c;
        http_hijack(c, 101, "application/vnd.docker.raw-stream", hj_on_data, h);
    } else if (strncmp(req->path, "/upload", 7) == 0) {
        h->up = c;
        http_conn_body(c, upload_data, h);
        http_conn_on_close(c, on_owed_close, h);
        if (strcmp(req->path, "/upload-streaming") == 0) {
            http_stream_begin(c, 200, "text/plain");
            http_stream_write(c, "started", 7);
        }
    } else if (strcmp(req->path, "/attach-later") == 0) {
        h->hj = c; /* the test hijacks it later, as a handler waiting on the pool would */
    } else {
        http_reply(c, 404, "application/json", "{\"message\":\"page not found\"}\n", 29);
    }
}

struct fx {
    const char *backend;
    struct hs h;
};

static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    f->backend = *state;
    *state = f;
    return 0;
}

static struct fd_squeeze *squeezed; /* undone by teardown if a test fails midway */
static void unsqueeze(struct fd_squeeze *q);

static int teardown(void **state)
{
    struct fx *f = *state;
    if (squeezed)
        unsqueeze(squeezed);
    http_server_free(f->h.srv);
    reactor_free(f->h.r);
    buf_free(&f->h.hj_got);
    buf_free(&f->h.up_got);
    if (f->h.dir[0]) {
        char path[128];
        snprintf(path, sizeof(path), "%s/api.sock", f->h.dir);
        unlink(path);
        rmdir(f->h.dir);
    }
    free(f);
    return 0;
}

static struct http_server_opts default_opts(uint64_t request_timeout_ms, uint64_t idle_timeout_ms)
{
    return (struct http_server_opts){
        .limits = {.max_header_bytes = 2048, .max_headers = 16, .max_body = 4096},
        .request_timeout_ms = request_timeout_ms,
        .idle_timeout_ms = idle_timeout_ms,
        .handler = handler,
        .stream_body = stream_body,
    };
}

static struct hs *start_opts(void **state, struct http_server_opts o)
{
    struct fx *f = *state;
    struct hs *h = &f->h;
    h->r = test_reactor_new(f->backend);
    o.app = h;
    h->srv = http_server_new(h->r, &o);
    return h;
}

static struct hs *start(void **state, uint64_t request_timeout_ms, uint64_t idle_timeout_ms)
{
    return start_opts(state, default_opts(request_timeout_ms, idle_timeout_ms));
}

#define LONG 10000 /* timeouts that must not fire during a test */

/* ---- the client side ---- */

struct client {
    struct reactor *r;
    int fd;
    struct rio *io;
    struct buf in;
    int eofs, errors;
    int sent, send_res; /* reactor_send from the client side */
};

static void client_sent(void *ctx, int res)
{
    struct client *c = ctx;
    c->sent++;
    c->send_res = res;
}

static void client_recv(void *ctx, const char *data, ssize_t n)
{
    struct client *c = ctx;
    if (n > 0)
        buf_append(&c->in, data, (size_t)n);
    else if (n == 0)
        c->eofs++;
    else
        c->errors++;
}

/* A connection adopted by the server; the client reads unless told not to. */
static struct client *client_new(struct hs *h, bool reading)
{
    struct client *c = xcalloc(1, sizeof(*c));
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    http_server_adopt(h->srv, sv[0]);
    c->r = h->r;
    c->fd = sv[1];
    c->io = reactor_io_open(h->r, sv[1], c);
    if (reading)
        assert_int_equal(reactor_recv(c->io, client_recv), 0);
    return c;
}

static void client_read(struct client *c)
{
    assert_int_equal(reactor_recv(c->io, client_recv), 0);
}

static void client_free(struct client *c)
{
    if (!c)
        return;
    reactor_io_close(c->io);
    buf_free(&c->in);
    free(c);
}

static void client_send(struct client *c, const char *s)
{
    size_t n = strlen(s);
    assert_int_equal(send(c->fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Parse the responses in c->in; the ones whose bit is set in head_mask answer HEAD. Fills
 * out[0..max) when out is given (caller frees) and returns how many are complete; *rest gets
 * the offset after the last one. */
static int parse_responses(const struct client *c, unsigned head_mask, struct http_msg **out,
                           int max, size_t *rest)
{
    struct http_limits lim = {.max_header_bytes = 65536, .max_headers = 64, .max_body = 64 * MiB};
    struct http_reader rd;
    http_reader_init(&rd, HTTP_RESPONSE, &lim);
    size_t off = 0;
    int n = 0;
    while (n < max) {
        rd.skip_body = n < 32 && ((head_mask >> n) & 1);
        off += http_reader_feed(&rd, c->in.data + off, c->in.len - off);
        if (!rd.done && c->eofs && !rd.status)
            http_reader_eof(&rd);
        if (!rd.done)
            break;
        struct http_msg *m = http_reader_take(&rd);
        bool upgraded = m->status == 101;
        if (out)
            out[n] = m;
        else
            http_msg_free(m);
        n++;
        if (upgraded)
            break; /* raw bytes follow */
    }
    assert_int_equal(rd.status, 0);
    http_reader_free(&rd);
    if (rest)
        *rest = off;
    return n;
}

struct resp_goal {
    struct client *c;
    int n;
    unsigned head_mask;
};

static bool has_responses(void *ctx)
{
    struct resp_goal *g = ctx;
    return parse_responses(g->c, g->head_mask, NULL, g->n, NULL) >= g->n;
}

static bool wait_responses(struct client *c, int n, unsigned head_mask)
{
    struct resp_goal g = {c, n, head_mask};
    return run_until(c->r, has_responses, &g, 5000);
}

static bool client_eof(void *ctx)
{
    return ((struct client *)ctx)->eofs > 0;
}

static bool no_conns(void *ctx)
{
    return http_server_conn_count(ctx) == 0;
}

static void free_msgs(struct http_msg **m, int n)
{
    for (int i = 0; i < n; i++)
        http_msg_free(m[i]);
}

/* ---- keep-alive, pipelining, HEAD, close ---- */

static void test_keep_alive(void **state)
{
    struct hs *h = start(state, LONG, LONG);
    struct client *c = client_new(h, true);
    client_send(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(wait_responses(c, 1, 0));
    client_send(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nping");
    assert_true(wait_responses(c, 2, 0));
    struct http_msg *m[2];
    assert_int_equal(parse_responses(c, 0, m, 2, NULL), 2);
    assert_int_equal(m[0]->status, 200);
    assert_string_equal(m[0]->body.data, "hello");
    assert_string_equal(http_msg_header(m[0], "Content-Type"), "text/plain");
    assert_string_equal(http_msg_header(m[0], "Content-Length"), "5");
    assert_string_equal(http_msg_header(m[0], "X-Test"), "1");
    assert_null(http_msg_header(m[0], "Connection"));
    assert_null(http_msg_header(m[1], "X-Test")); /* extra headers belong to one reply */
    assert_string_equal(m[1]->body.data, "ping");
    free_msgs(m, 2);
    run_for(h->r, 20);
    assert_int_equal(c->eofs, 0); /* still open */
    assert_int_equal(http_server_conn_count(h->srv), 1);
    assert_int_equal(h->handled, 2);
    client_free(c);
    assert_true(run_until(h->r, no_conns, h->srv, 2000));
}

static void reply_held(struct hs *h, const char *body)
{
    assert_non_null(h->held);
    struct http_conn *c = h->held;
    h->held = NULL;
    http_reply(c, 200, "text/plain", body, strlen(body));
}

static void test_pipelined(void **state)
{
    struct hs *h = start(state, LONG, LONG);
    struct client *c = client_new(h, true);
    /* Three requests in one packet; the first is answered later. */
    client_send(c, "GET /later HTTP/1.1\r\n\r\n"
                   "GET /hello HTTP/1.1\r\n\r\n"
                   "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
    assert_true(run_until_count(h->r, &h->handled, 1, 2000));
    run_for(h->r, 20);
    assert_int_equal(h->handled, 1); /* one request at a time */
    assert_int_equal(c->in.len, 0);
    reply_held(h, "first");
    assert_true(wait_responses(c, 3, 0));
    struct http_msg *m[3];
    assert_int_equal(parse_responses(c, 0, m, 3, NULL), 3);
    assert_string_equal(m[0]->body.data, "first");
    assert_string_equal(m[1]->body.data, "hello");
    assert_string_equal(m[2]->body.data, "abc");
    free_msgs(m, 3);
    assert_string_equal(h->paths[0], "/later");
    assert_string_equal(h->paths[1], "/hello");
    assert_string_equal(h->paths[2], "/echo");
    assert_int_equal(h->closes, 0); /* the owed reply was given: no close callback */
    client_free(c);
}

static void test_head(void **state)
{
    struct hs *h = start(state, LONG, LONG);
    struct client *c = client_new(h, true);
    client_send(c, "HEAD /hello HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
    assert_true(wait_responses(c, 2, 1));
    struct http_msg *m[2];
    size_t used;
    assert_int_equal(parse_responses(c, 1, m, 2, &used), 2);
    assert_int_equal(m[0]->status, 200);
    assert_string_equal(http_msg_header(m[0], "Content-Length"), "5");
    assert_int_equal(m[0]->body.len, 0);
    assert_string_equal(m[1]->body.data, "hello"); /* so no stray body came after the HEAD */
    assert_int_equal(used, c->in.len);
    free_msgs(m, 2);
    client_free(c);
}

static void test_connection_close(void **state)
{
    struct hs *h = start(state, LONG, LONG);
    struct client *c = client_new(h, true);
    client_send(c, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
    assert_true(run_until(h->r, client_eof, c, 2000));
    struct http_msg *m[2] = {0};
    assert_int_equal(parse_responses(c, 0, m, 2, NULL), 1); /* nothing after the close */
    assert_string_equal(http_msg_header(m[0], "Connection"), "close");
    assert_string_equal(m[0]->body.data, "hello");
    free_msgs(m, 1);
    assert_int_equal(h->handled, 1);
    assert_true(run_until(h->r, no_conns, h->srv, 2000));
    client_free(c);

    /* HTTP/1.0 without keep-alive closes too. */
    c = client_new(h, true);
    client_send(c, "GET /hello HTTP/1.0\r\n\r\n");
    assert_true(run_until(h->r, client_eof, c, 2000));
    assert_int_equal(parse_responses(c, 0, m, 1, NULL), 1);
    assert_string_equal(http_msg_header(m[0], "Connection"), "close");
    free_msgs(m, 1);
    client_free(c);
}

/* ---- timeouts ---- */

static void test_request_timeout(void **state)
{
    struct hs *h = start(state, 100, LONG);
    struct client *c = client_new(h, true);
    uint64_t t0 = reactor_now_ms(h->r);
    client_send(c, "GET /hello HTTP/1.1\r\nHost:");
    assert_true(run_until(h->r, client_eof, c, 3000));
    assert_true(reactor_now_ms(h->r) - t0 >= 100);
    struct http_msg *m[1];
    assert_int_equal(parse_responses(c, 0, m, 1, NULL), 1);
    assert_int_equal(m[0]->status, 408);
    assert_string_equal(http_msg_header(m[0], "Connection"), "close");
    json_t *j = json_loads(m[0]->body.data, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "message")), "request timed out");
    json_decref(j);
    free_msgs(m, 1);
    assert_int_equal(h->handled, 0);
    assert_true(run_until(h->r, no_conns, h->srv, 2000));
    client_free(c);

    /* A handler slower than the request timeout is not cut off: the request had arrived. */
    c = client_new(h, true);
    client_send(c, "GET /later HTTP/1.1\r\n\r\n");
    assert_true(run_until_count(h->r, &h->handled, 1, 2000));
    run_for(h->r, 250);
    assert_int_equal(c->in.len, 0);
    reply_held(h, "slow but fine");
    assert_true(wait_responses(c, 1, 0));
    assert_int_equal(parse_responses(c, 0, m, 1, NULL), 1);
    assert_int_equal(m[0]->status, 200);
    free_msgs(m, 1);
    assert_int_equal(c->eofs, 0);
    client_free(c);
}

/* The reply to the first request (a 408 or a 400 from the server), once the server closed. */
static int closed_with(struct client *c)
{
    assert_true(run_until(c->r, client_eof, c, 3000));
    struct http_msg *m[2];
    assert_int_equal(parse_responses(c, 0, m, 2, NULL), 1); /* one answer, never two */
    int status = m[0]->status;
    free_msgs(m, 1);
    return status;
}

/* A streamed body that stops arriving while its handler works would hold whatever reads it
 * forever: the request timeout ends it, the handler is told the client is gone, and the server
 * answers 408. Held back by the handler (read paused), it is not timed out. */
static void test_stream_body_timeout(void **state)
{
    struct hs *h = start(state, 100, LONG);
    struct client *c = client_new(h, true);
    client_send(c, "POST /upload HTTP/1.1\r\nContent-Length: 1000\r\n\r\n0123456789");
    assert_int_equal(closed_with(c), 408);
    assert_int_equal(h->closes, 1);
    assert_int_equal(h->up_bytes, 10);
    assert_int_equal(h->up_ends, 0);
    assert_true(run_until(h->r, no_conns, h->srv, 2000));
    client_free(c);

    h->up_bytes = 0;
    buf_reset(&h->up_got);
    h->up_pause = true;
    c = client_new(h, true);
    client_send(c, "POST /upload HTTP/1.1\r\nContent-Length: 20\r\n\r\n0123456789");
    assert_true(run_until_count(h->r, &h->up_bytes, 10, 2000));
    run_for(h->r, 300);
    assert_int_equal(c->in.len, 0);
    assert_int_equal(h->closes, 1);
    h->up_pause = false;
    http_conn_resume_read(h->up);
    client_send(c, "abcdefghij");
    assert_true(wait_responses(c, 1, 0));
    assert_int_equal(h->up_ends, 1);
    assert_int_equal(h->up_bytes, 20);
    assert_int_equal(c->eofs, 0);
    client_free(c);
}

static void test_idle_timeout(void **state)
{
    struct hs *h = start(state, LONG, 100);
    struct client *c = client_new(h, true);
    assert_true(run_until(h->r, client_eof, c, 3000));
    assert_int_equal(c->in.len, 0); /* silent */
    client_free(c);

    /* After a keep-alive exchange, too. */
    c = client_new(h, true);
    client_send(c, "GET /hello HTTP/1.1\r\n\r\n");
    assert_true(wait_responses(c, 1, 0));
    size_t len = c->in.len;
    assert_true(run_until(h->r, client_eof, c, 3000));
    assert_int_equal(c->in.len, len);
    assert_true(run_until(h->r, no_conns, h->srv, 2000));
    client_free(c);
}

/* A request slower than the idle timeout but within the request timeout is answered: once its
 * first byte is in, the request timeout applies. */
static void test_request_timeout_replaces_idle(void **state)
{
    struct hs *h = start(state, 2000, 60);
    struct client *c = client_new(h, true);
    client_send(c, "GET /hello HTTP/1.1\r\n");
    run_for(h->r, 150);
    client_send(c, "\r\n");
    assert_true(wait_responses(c, 1, 0));
    assert_int_equal(c->eofs, 0);
    client_free(c);
}

/* A client sending its request `step` bytes every `every_ms`, from a reactor timer. Stop it
 * (trickle_stop) before it goes out of scope. */
struct trickle {
    struct reactor_timer t; /* first: the timer callback finds the trickle at its address */
    struct reactor *r;
    int fd;
    const char *data;
    size_t off, len, step;
    unsigned every_ms;
};

static void trickle_next(struct reactor_timer *t)
{
    struct trickle *tr = (struct trickle *)t;
    size_t n = tr->len - tr->off < tr->step ? tr->len - tr->off : tr->step;
    if (n && send(tr->fd, tr->data + tr->off, n, MSG_NOSIGNAL) == (ssize_t)n) {
        tr->off += n;
        reactor_timer_start(tr->r, t, tr->every_ms);
    }
}

static void trickle_start(struct trickle *tr, struct client *c, const char *data, size_t len,
                          size_t step, unsigned every_ms)
{
    *tr = (struct trickle){.t.fn = trickle_next,
                           .r = c->r,
                           .fd = c->fd,
                           .data = data,
                           .len = len,
                           .step = step,
                           .every_ms = every_ms};
    trickle_next(&tr->t);
}

static void trickle_stop(struct trickle *tr)
{
    reactor_timer_stop(tr->r, &tr->t);
}

/* The reply c got is a single 408 and the connection closed; nothing reached the handler. */
static void check_timed_out(struct hs *h, struct client *c)
{
    struct http_msg *m[1];
    assert_int_equal(parse_responses(c, 0, m, 1, NULL), 1);
    assert_int_equal(m[0]->status, 408);
    assert_string_equal(http_msg_header(m[0], "Connection"), "close");
    free_msgs(m, 1);
    assert_int_equal(h->handled, 0);
}

/* A head that trickles in, a byte every 25 ms, is cut request_timeout_ms after its first byte,
 * long before it would be whole (1.5 s): the deadline no longer moves with each byte. */
static void test_head_deadline(void **state)
{
    struct hs *h = start(state, 300, LONG);
    struct client *c = client_new(h, true);
    static const char req[] = "GET /hello HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    struct trickle tr;
    uint64_t t0 = mono_ms();
    trickle_start(&tr, c, req, sizeof(req) - 1, 1, 25);
    assert_true(run_until(h->r, client_eof, c, 5000));
    uint64_t took = mono_ms() - t0;
    trickle_stop(&tr);
    assert_true(took >= 300 && took < 1000);
    assert_true(tr.off < tr.len);
    check_timed_out(h, c);
    client_free(c);
}

/* A body that trickles (a byte every 25 ms: 40 B/s) is cut too, though bytes keep coming. */
static void test_body_min_rate(void **state)
{
    struct hs *h = start(state, 300, LONG);
    struct client *c = client_new(h, true);
    client_send(c, "POST /echo HTTP/1.1\r\nContent-Length: 60\r\n\r\n");
    char body[60];
    memset(body, 'b', sizeof(body));
    struct trickle tr;
    uint64_t t0 = mono_ms();
    trickle_start(&tr, c, body, sizeof(body), 1, 25);
    assert_true(run_until(h->r, client_eof, c, 5000));
    uint64_t took = mono_ms() - t0;
    trickle_stop(&tr);
    assert_true(took >= 300 && took < 1000);
    assert_true(tr.off < tr.len);
    check_timed_out(h, c);
    client_free(c);
}

/* A body over the minimum rate is read whole, however much longer than request_timeout_ms it
 * takes (200 KiB at 200 KiB/s: a second, against 500 ms). */
static void test_body_fast_enough(void **state)
{
    struct http_server_opts o = default_opts(500, LONG);
    o.limits.max_body = MiB;
    struct hs *h = start_opts(state, o);
    struct client *c = client_new(h, true);
    size_t len = 200 * 1024;
    char *body = xmalloc(len);
    memset(body, 'f', len);
    char head[128];
    snprintf(head, sizeof(head), "POST /echo HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", len);
    client_send(c, head);
    struct trickle tr;
    uint64_t t0 = mono_ms();
    trickle_start(&tr, c, body, len, 20 * 1024, 100);
    assert_true(wait_responses(c, 1, 0));
    trickle_stop(&tr);
    assert_true(mono_ms() - t0 >= 800);
    struct http_msg *m[1];
    assert_int_equal(parse_responses(c, 0, m, 1, NULL), 1);
    assert_int_equal(m[0]->status, 200);
    assert_int_equal(m[0]->body.len, len);
    free_msgs(m, 1);
    assert_int_equal(c->eofs, 0);
    free(body);
    client_free(c);
}

/* ---- limits ---- */

static void check_error_reply(struct hs *h, const char *req, int status)
{
    struct client *c = client_new(h, true);
    client_send(c, req);
    assert_true(run_until(h->r, client_eof, c, 3000));
    struct http_msg *m[1];
    assert_int_equal(parse_responses(c, 0, m, 1, NULL), 1);
    assert_int_equal(m[0]->status, status);
    assert_string_equal(http_msg_header(m[0], "Content-Type"), "application/json");
    assert_string_equal(http_msg_header(m[0], "Connection"), "close");
    json_t *j = json_loadb(m[0]->body.data, m[0]->body.len, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_string(json_object_get(j, "message")));
    assert_true(strlen(json_string_value(json_object_get(j, "message"))) > 0);
    assert_int_equal(m[0]->body.data[m[0]->body.len - 1], '\n');
    json_decref(j);
    free_msgs(m, 1);
    client_free(c);
}

static void test_limits(void **state)
{
    struct hs *h = start(state, LONG, LONG);
    char big[4096];
    char pad[3000];
    memset(pad, 'a', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    snprintf(big, sizeof(big), "GET /hello HTTP/1.1\r\nX-Pad: %s\r\n\r\n", pad);
    check_error_reply(h, big, 431);

    strcpy(big, "GET /hello HTTP/1.1\r\n");
    for (int i = 0; i < 17; i++)
        sprintf(big + strlen(big), "X-H%d: v\r\n", i);
    strcat(big, "\r\n");
    check_error_reply(h, big, 431);

    check_error_reply(h, "POST /echo HTTP/1.1\r\nContent-Length: 4097\r\n\r\n", 413);
    assert_int_equal(h->handled, 0);
}

static void test_limits_chunked(void **state)
{
    struct hs *h = start(state, LONG, LONG);
    struct client *c = client_new(h, true);
    client_send(c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    char chunk[2100];
    memset(chunk, 'b', 2048);
    strcpy(chunk + 2048, "\r\n");
    for (int i = 0; i < 3; i++) { /* 6 KiB in all: over max_body */
        client_send(c, "800\r\n");
        client_send(c, chunk);
    }
    assert_true(run_until(h->r, client_eof, c, 3000));
    struct http_msg *m[1];
    assert_int_equal(parse_responses(c, 0, m, 1, NULL), 1);
    assert_int_equal(m[0]->status, 413);
    free_msgs(m, 1);
    assert_int_equal(h->handled, 0);
    client_free(c);
}

static void test_bad_request(void **state)
{
    struct hs *h = start(state, LONG, LONG);
    check_error_reply(h, "THIS IS NOT HTTP\r\n\r\n", 400);
    check_error_reply(h, "GET /hello HTTP/1.1\r\nBad Header: x\r\n\r\n", 400);
    assert_int_equal(h->handled, 0);
    assert_true(run_until(h->r, no_conns, h->srv, 2000));
}

/* Input the server never read (what follows a bad request, sent at once) is dropped before the
 * close: the client reads its 400 and an end, not a reset (ECONNRESET on a unix socket). */
static void test_error_with_unread_input(void **state)
{
    struct hs *h = start(state, LONG, LONG);
    static char req[40 * 1024];
    memset(req, 'x', sizeof(req) - 1);
    memcpy(req, "THIS IS NOT HTTP\r\n\r\n", 20);
    check_error_reply(h, req, 400);
}

/* A chunk not followed by CRLF: 400 and the close, not a request handed to the handler. */
static void test_bad_chunk_framing(void **state)
{
    struct hs *h = start(state, LONG, LONG);
    check_error_reply(h,
                      "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\nhelloXY0\r\n\r\n",
                      400);
    assert_int_equal(h->handled, 0);
}

static bool got_upload(void *ctx)
{
    struct hs *h = ctx;
    return h->up_got.len >= 5;
}

/* The same in a body streamed to its handler, which had the request at its head: the handler is
 * told (its close callback, no end of body) and the 400 is the reply... */
static void test_bad_chunk_framing_streamed(void **state)
{
    struct hs *h = start(state, LONG, LONG);
    struct client *c = client_new(h, true);
    client_send(c, "POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    assert_true(run_until(h->r, got_upload, h, 2000));
    client_send(c, "5\r\nworldXY0\r\n\r\n");
    assert_true(run_until(h->r, client_eof, c, 3000));
    struct http_msg *m[1];
    assert_int_equal(parse_responses(c, 0, m, 1, NULL), 1);
    assert_int_equal(m[0]->status, 400);
    assert_non_null(strstr(m[0]->body.data, "malformed chunked encoding"));
    free_msgs(m, 1);
    assert_int_equal(h->closes, 1);
    assert_int_equal(h->up_ends, 0);
    assert_null(h->up);
    assert_true(run_until(h->r, no_conns, h->srv, 2000));
    client_free(c);

    /* ... unless it had begun its own, which is cut short then: no second head in its body. */
    h->closes = 0;
    buf_reset(&h->up_got);
    c = client_new(h, true);
    client_send(c, "POST /upload-streaming HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5\r\nhello\r\n");
    assert_true(run_until(h->r, got_upload, h, 2000));
    client_send(c, "5\r\nworldXY0\r\n\r\n");
    assert_true(run_until(h->r, client_eof, c, 3000));
    assert_int_equal(h->closes, 1);
    assert_int_equal(h->up_ends, 0);
    buf_append(&c->in, "", 1);
    assert_non_null(strstr(c->in.data, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(c->in.data, "started"));
    assert_null(strstr(c->in.data, "HTTP/1.1 400"));
    assert_null(strstr(c->in.data, "0\r\n\r\n")); /* not ended as if whole */
    assert_true(run_until(h->r, no_conns, h->srv, 2000));
    client_free(c);
}

/* ---- streaming ---- */

struct body_goal {
    struct client *c;
    size_t len;
};

static bool has_body(void *ctx)
{
    struct body_goal *g = ctx;
    struct http_msg *m[1];
    if (parse_responses(g->c, 0, m, 1, NULL) < 1)
        return false;
    bool ok = m[0]->body.len >= g->len;
    http_msg_free(m[0]);
    return ok;
}

static void test_stream_backpressure(void **state)
{
    struct hs *h = start(state, LONG, LONG);
    struct client *c = client_new(h, false); /* not reading */
    h->stream_target = 8 * MiB;
    client_send(c, "GET /stream HTTP/1.1\r\n\r\n");
    assert_true(run_until_count(h->r, &h->handled, 1, 2000));
    run_for(h->r, 100);
    assert_int_equal(h->drains, 0);
    assert_false(h->stream_ended);
    assert_non_null(h->stream);
    assert_true(h->stream_written < MiB); /* the producer was told to stop */
    assert_true(h->max_pending < MiB);
    assert_true(http_conn_pending(h->stream) < MiB);

    client_read(c);
    struct body_goal g = {c, h->stream_target};
    assert_true(run_until(h->r, has_body, &g, 20000));
    assert_true(h->stream_ended);
    assert_true(h->drains >= 1);
    assert_true(h->max_pending < MiB);
    struct http_msg *m[1];
    assert_int_equal(parse_responses(c, 0, m, 1, NULL), 1);
    assert_string_equal(http_msg_header(m[0], "Transfer-Encoding"), "chunked");
    assert_int_equal(m[0]->body.len, h->stream_target);
    bool in_order = true;
    for (size_t i = 0; i < m[0]->body.len && in_order; i++)
        in_order = (uint8_t)m[0]->body.data[i] == pattern(i);
    assert_true(in_order);
    free_msgs(m, 1);
    assert_int_equal(h->closes, 0);

    /* The connection is reusable after the stream. */
    client_send(c, "GET /hello HTTP/1.1\r\n\r\n");
    assert_true(wait_responses(c, 2, 0));
    client_free(c);
}

/* HEAD of a streamed reply: head only, and the connection stays usable. */
static void test_stream_head(void **state)
{
    struct hs *h = start(state, LONG, LONG);
    struct client *c = client_new(h, true);
    h->stream_target = 3 * CHUNK;
    client_send(c, "HEAD /stream HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
    assert_true(wait_responses(c, 2, 1));
    struct http_msg *m[2];
    assert_int_equal(parse_responses(c, 1, m, 2, NULL), 2);
    assert_int_equal(m[0]->body.len, 0);
    assert_string_equal(m[1]->body.data, "hello");
    free_msgs(m, 2);
    client_free(c);
}

/* HTTP/1.0 has no chunked encoding: the body runs to the close. */
static void test_stream_http10(void **state)
{
    struct hs *h = start(state, LONG, LONG);
    struct client *c = client_new(h, true);
    h->stream_target = 3 * CHUNK + 7;
    client_send(c, "GET /stream HTTP/1.0\r\n\r\n");
    assert_true(run_until(h->r, client_eof, c, 5000));
    struct http_msg *m[1];
    assert_int_equal(parse_responses(c, 0, m, 1, NULL), 1);
    assert_null(http_msg_header(m[0], "Transfer-Encoding"));
    assert_string_equal(http_msg_header(m[0], "Connection"), "close");
    assert_int_equal(m[0]->body.len, h->stream_target);
    free_msgs(m, 1);
    client_free(c);
}

/* A client that pipelines without reading the replies: once its replies back up, the server
 * stops parsing, keeps a bounded amount of input, and stops reading; all is answered once the
 * client reads. */
#define NPAD 1500

static void test_pipelining_client_not_reading(void **state)
{
    struct hs *h = start(state, LONG, LONG);
    struct client *c = client_new(h, false);
    struct buf reqs = {0};
    for (int i = 0; i < 8; i++) /* 512 KiB of replies: over the high-water mark */
        buf_puts(&reqs, "GET /big HTTP/1.1\r\n\r\n");
    char pad[1001];
    memset(pad, 'p', 1000);
    pad[1000] = '\0';
    for (int i = 0; i < NPAD; i++) /* and 1.5 MiB more requests behind them */
        buf_printf(&reqs, "GET /hello HTTP/1.1\r\nX-Pad: %s\r\n\r\n", pad);
    size_t len;
    char *data = buf_steal(&reqs, &len);
    assert_int_equal(reactor_send(c->io, data, len, client_sent), 0);
    run_for(h->r, 200);
    assert_non_null(h->srv->conns);
    struct http_conn *sc = h->srv->conns;
    assert_true(h->handled < 8 + NPAD);
    assert_true(sc->in.len < 2 * MiB); /* bounded, though 1.5 MiB were sent */
    assert_true(http_conn_pending(sc) < MiB);
    assert_true(sc->read_paused);

    client_read(c);
    assert_true(run_until_count(h->r, &h->handled, 8 + NPAD, 10000));
    assert_true(wait_responses(c, 8 + NPAD, 0));
    assert_int_equal(c->sent, 1);
    assert_int_equal(c->send_res, 0);
    client_free(c);
}

static bool closed_once(void *ctx)
{
    return ((struct hs *)ctx)->closes > 0;
}

static void test_client_vanishes_mid_stream(void **state)
{
    struct hs *h = start(state, LONG, LONG);
    struct client *c = client_new(h, false);
    h->stream_target = (size_t)1 << 40; /* never ends on its own */
    client_send(c, "GET /stream HTTP/1.1\r\n\r\n");
    assert_true(run_until_count(h->r, &h->handled, 1, 2000));
    run_for(h->r, 20);
    assert_non_null(h->stream);
    client_free(c); /* gone without a word */
    assert_true(run_until(h->r, closed_once, h, 3000));
    assert_true(run_until(h->r, no_conns, h->srv, 3000));
    run_for(h->r, 30);
    assert_int_equal(h->closes, 1);
    assert_null(h->stream);
    assert_int_equal(h->drains, 0);
}

/* A reply owed when the client leaves, and when the server shuts down. */
static void test_close_callback_owed_reply(void **state)
{
    struct hs *h = start(state, LONG, LONG);
    struct client *c = client_new(h, true);
    client_send(c, "GET /later HTTP/1.1\r\n\r\n");
    assert_true(run_until_count(h->r, &h->handled, 1, 2000));
    shutdown(c->fd, SHUT_WR);
    assert_true(run_until(h->r, closed_once, h, 3000));
    run_for(h->r, 30);
    assert_int_equal(h->closes, 1);
    assert_null(h->held);
    client_free(c);

    c = client_new(h, true);
    client_send(c, "GET /later HTTP/1.1\r\n\r\n");
    assert_true(run_until_count(h->r, &h->handled, 2, 2000));
    http_server_free(h->srv);
    h->srv = NULL;
    assert_int_equal(h->closes, 2);
    assert_true(run_until(h->r, client_eof, c, 2000));
    client_free(c);
}

/* ---- hijack ---- */

struct raw_goal {
    struct client *c;
    const char *want; /* the bytes after the 101 head */
};

static bool has_raw(void *ctx)
{
    struct raw_goal *g = ctx;
    size_t off;
    struct http_msg *m[1];
    if (parse_responses(g->c, 0, m, 1, &off) < 1)
        return false;
    http_msg_free(m[0]);
    size_t n = strlen(g->want);
    return g->c->in.len - off >= n && memcmp(g->c->in.data + off, g->want, n) == 0;
}

static bool raw_is(struct client *c, const char *want)
{
    struct raw_goal g = {c, want};
    return run_until(c->r, has_raw, &g, 3000) &&
           c->in.len - (size_t)(strstr(c->in.data, "\r\n\r\n") + 4 - c->in.data) == strlen(want);
}

static void test_hijack(void **state)
{
    struct hs *h = start(state, LONG, LONG);
    struct client *c = client_new(h, true);
    /* Bytes for the new owner arrive in the same packet as the request. */
    client_send(c, "POST /attach?stream=1&stdin=1 HTTP/1.1\r\nConnection: Upgrade\r\n"
                   "Upgrade: tcp\r\n\r\nEARLY");
    assert_true(raw_is(c, "EARLY"));
    struct http_msg *m[1];
    assert_int_equal(parse_responses(c, 0, m, 1, NULL), 1);
    assert_int_equal(m[0]->status, 101);
    assert_string_equal(http_msg_header(m[0], "Upgrade"), "tcp");
    assert_string_equal(http_msg_header(m[0], "Content-Type"), "application/vnd.docker.raw-stream");
    free_msgs(m, 1);

    client_send(c, "GET /hello HTTP/1.1\r\n\r\n"); /* not HTTP any more: raw bytes */
    assert_true(raw_is(c, "EARLYGET /hello HTTP/1.1\r\n\r\n"));
    assert_int_equal(h->handled, 1);

    shutdown(c->fd, SHUT_WR); /* the handler closes on EOF */
    assert_true(run_until(h->r, client_eof, c, 2000));
    assert_int_equal(h->hj_eofs, 1);
    assert_string_equal(h->hj_got.data, "EARLYGET /hello HTTP/1.1\r\n\r\n");
    assert_true(run_until(h->r, no_conns, h->srv, 2000));
    assert_int_equal(h->closes, 0);
    client_free(c);
}

/* The handler hijacks later (as after pool work); bytes that came with the request must still
 * reach it before bytes sent after the hijack. */
static void test_hijack_later_keeps_order(void **state)
{
    struct hs *h = start(state, LONG, LONG);
    struct client *c = client_new(h, true);
    client_send(c, "POST /attach-later HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
                   "one,");
    assert_true(run_until_count(h->r, &h->handled, 1, 2000));
    run_for(h->r, 20);
    assert_non_null(h->hj);
    http_hijack(h->hj, 101, NULL, hj_on_data, h);
    client_send(c, "two,");
    assert_true(raw_is(c, "one,two,"));
    client_send(c, "three");
    assert_true(raw_is(c, "one,two,three"));
    assert_string_equal(h->hj_got.data, "one,two,three");
    client_free(c);

    assert_true(run_until(h->r, no_conns, h->srv, 2000));

    /* Nor may EOF overtake them. */
    buf_reset(&h->hj_got);
    h->hj_eofs = 0;
    c = client_new(h, true);
    client_send(c, "POST /attach-later HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
                   "held");
    assert_true(run_until_count(h->r, &h->handled, 2, 2000));
    run_for(h->r, 20);
    http_hijack(h->hj, 101, NULL, hj_on_data, h);
    shutdown(c->fd, SHUT_WR);
    assert_true(run_until(h->r, client_eof, c, 2000));
    assert_int_equal(h->hj_eofs, 1);
    assert_string_equal(h->hj_got.data, "held");
    assert_true(raw_is(c, "held"));
    client_free(c);
}

/* ---- the connection caps ---- */

static bool has_eof(struct hs *h, struct client *c)
{
    run_for(h->r, 30);
    return c->eofs > 0;
}

/* One peer (all of a test's socketpairs are this process) over max_peer_conns: each new
 * connection closes its least recently used idle one; an idle one before one whose head is
 * still arriving; a busy one (a reply owed) never. */
static void test_peer_cap(void **state)
{
    struct http_server_opts o = default_opts(LONG, LONG);
    o.max_peer_conns = 3;
    struct hs *h = start_opts(state, o);
    struct client *c[7];
    c[0] = client_new(h, true);
    client_send(c[0], "GET /later HTTP/1.1\r\n\r\n"); /* busy */
    assert_true(run_until_count(h->r, &h->handled, 1, 2000));
    c[1] = client_new(h, true);
    client_send(c[1], "GET /hello HTTP/1.1\r\n\r\n"); /* idle after its reply */
    assert_true(wait_responses(c[1], 1, 0));
    c[2] = client_new(h, true); /* idle, no request yet */
    run_for(h->r, 20);
    assert_int_equal(http_server_conn_count(h->srv), 3);

    c[3] = client_new(h, true); /* the busy c[0] is older, but c[1] goes */
    assert_true(has_eof(h, c[1]));
    assert_false(has_eof(h, c[0]) || has_eof(h, c[2]) || has_eof(h, c[3]));
    c[4] = client_new(h, true);
    assert_true(has_eof(h, c[2]));
    assert_int_equal(http_server_conn_count(h->srv), 3);

    client_send(c[3], "GET /hel"); /* its head arriving: kept while an idle one is left */
    run_for(h->r, 20);
    c[5] = client_new(h, true);
    assert_true(has_eof(h, c[4]));
    assert_false(has_eof(h, c[3]));
    c[6] = client_new(h, true);
    assert_true(has_eof(h, c[5]));
    assert_false(has_eof(h, c[0]) || has_eof(h, c[3]) || has_eof(h, c[6]));

    /* The busy one still gets its reply, and the half-sent request its answer. */
    reply_held(h, "held");
    assert_true(wait_responses(c[0], 1, 0));
    client_send(c[3], "lo HTTP/1.1\r\n\r\n");
    assert_true(wait_responses(c[3], 1, 0));
    assert_int_equal(h->closes, 0);
    assert_int_equal(h->srv->stats.shed, 4);
    for (int i = 0; i < 7; i++)
        client_free(c[i]);
}

/* A client process, forked, holding n connections to path until its pipe closes. */
static pid_t hoarder(const char *path, int n, int *release)
{
    int ready[2], hold[2];
    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    assert_int_equal(pipe2(hold, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(hold[1]); /* else its own copy would keep it from seeing the test's close */
        close(ready[0]);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        strcpy(sa.sun_path, path);
        for (int i = 0; i < n; i++) {
            int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                _exit(1);
        }
        char b = 'r';
        (void)!write(ready[1], &b, 1);
        (void)!read(hold[0], &b, 1); /* until the test closes its end */
        _exit(0);
    }
    close(ready[1]);
    close(hold[0]);
    char b;
    assert_int_equal(read(ready[0], &b, 1), 1);
    close(ready[0]);
    *release = hold[1];
    return pid;
}

static void release_hoarder(pid_t pid, int release)
{
    close(release);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
}

static const char *listen_tmp(struct hs *h)
{
    static char path[128];
    _cleanup_err_ struct berth_err *err = NULL;
    strcpy(h->dir, "/tmp/berth-test-http-XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    snprintf(path, sizeof(path), "%s/api.sock", h->dir);
    assert_int_equal(http_server_listen_unix(h->srv, path, &err), 0);
    return path;
}

/* A client socket, made now, connected later (client_connect_to). */
static struct client *client_socket(struct hs *h)
{
    struct client *c = xcalloc(1, sizeof(*c));
    c->r = h->r;
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(c->fd >= 0);
    c->io = reactor_io_open(h->r, c->fd, c);
    return c;
}

static void client_connect_to(struct client *c, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, path);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    client_read(c);
}

static struct client *client_connect(struct hs *h, const char *path)
{
    struct client *c = client_socket(h);
    client_connect_to(c, path);
    return c;
}

struct conns_goal {
    struct http_server *srv;
    size_t n;
};

static bool has_conns(void *ctx)
{
    struct conns_goal *g = ctx;
    return http_server_conn_count(g->srv) == g->n;
}

static bool conns_are(struct hs *h, size_t n)
{
    struct conns_goal g = {h->srv, n};
    return run_until(h->r, has_conns, &g, 3000);
}

/* At the server-wide cap, a new connection closes an idle one of the peer holding the most
 * (a forked process with three), not one of a peer with a single connection. */
static void test_server_cap(void **state)
{
    struct http_server_opts o = default_opts(LONG, LONG);
    o.max_conns = 4;
    struct hs *h = start_opts(state, o);
    assert_int_equal(http_server_max_conns(h->srv), 4);
    const char *path = listen_tmp(h);
    int release;
    pid_t pid = hoarder(path, 3, &release);
    assert_true(conns_are(h, 3));
    struct client *mine = client_connect(h, path);
    assert_true(conns_are(h, 4));
    struct client *next = client_connect(h, path);
    run_for(h->r, 50);
    assert_int_equal(http_server_conn_count(h->srv), 4);
    assert_int_equal(h->srv->stats.shed, 1);
    char key[16];
    snprintf(key, sizeof(key), "%d", (int)pid);
    struct peer *p = map_get(&h->srv->peers, key);
    assert_non_null(p);
    assert_int_equal(p->nconns, 2);
    client_send(mine, "GET /hello HTTP/1.1\r\n\r\n");
    client_send(next, "GET /hello HTTP/1.1\r\n\r\n");
    assert_true(wait_responses(mine, 1, 0));
    assert_true(wait_responses(next, 1, 0));
    release_hoarder(pid, release);
    assert_true(conns_are(h, 2));
    client_free(mine);
    client_free(next);
}

/* At the cap with every connection busy (a body arriving), a new one is refused at once. */
static void test_server_cap_all_busy(void **state)
{
    struct http_server_opts o = default_opts(LONG, LONG);
    o.max_conns = 2;
    struct hs *h = start_opts(state, o);
    struct client *busy[2];
    for (int i = 0; i < 2; i++) {
        busy[i] = client_new(h, true);
        client_send(busy[i], "POST /echo HTTP/1.1\r\nContent-Length: 4\r\n\r\nab");
    }
    run_for(h->r, 20);
    struct client *c = client_new(h, true);
    assert_true(run_until(h->r, client_eof, c, 2000));
    assert_int_equal(c->in.len, 0);
    assert_int_equal(h->srv->stats.refused, 1);
    assert_int_equal(http_server_conn_count(h->srv), 2);
    for (int i = 0; i < 2; i++) {
        client_send(busy[i], "cd");
        assert_true(wait_responses(busy[i], 1, 0));
        client_free(busy[i]);
    }
    client_free(c);
}

/* ---- out of fds ---- */

/* Fills the fd table up to a new RLIMIT_NOFILE so that `spare` fds are left free. */
struct fd_squeeze {
    struct rlimit old;
    int fds[4096];
    int n;
};

static void squeeze(struct fd_squeeze *q, int spare)
{
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &q->old), 0);
    q->n = 0;
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    int limit = fd + 32;
    q->fds[q->n++] = fd;
    while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < limit - spare) {
        assert_true(fd >= 0 && q->n < 4096);
        q->fds[q->n++] = fd;
    }
    close(fd);
    struct rlimit rl = {.rlim_cur = (rlim_t)limit, .rlim_max = q->old.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    squeezed = q;
}

static void unsqueeze(struct fd_squeeze *q)
{
    while (q->n)
        close(q->fds[--q->n]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &q->old), 0);
    squeezed = NULL;
}

/* Out of fds with an idle connection: it is closed, and the new connection served. The client
 * sockets are made first and the listener after the squeeze, as io_uring's accept takes the fd
 * limit when it is armed. */
static void test_out_of_fds_sheds_idle(void **state)
{
    struct http_server_opts o = default_opts(LONG, LONG);
    o.max_conns = 1000; /* far from it: the fd limit is what is hit */
    struct hs *h = start_opts(state, o);
    struct client *idle = client_socket(h), *c = client_socket(h);
    static struct fd_squeeze q; /* static: teardown may undo it after a failure */
    squeeze(&q, 2);             /* the listener's, and the idle connection's */
    const char *path = listen_tmp(h);
    client_connect_to(idle, path);
    assert_true(conns_are(h, 1));
    client_connect_to(c, path); /* no fd left for it */
    client_send(c, "GET /hello HTTP/1.1\r\n\r\n");
    bool served = wait_responses(c, 1, 0);
    unsqueeze(&q);
    assert_true(served);
    assert_true(run_until(h->r, client_eof, idle, 2000));
    assert_true(h->srv->stats.emfile >= 1);
    assert_true(h->srv->stats.shed >= 1);
    client_free(idle);
    client_free(c);
}

/* Out of fds with nothing idle: the waiting connection is refused at once (not left in the
 * backlog), and accepting goes on once fds are back. */
static void test_out_of_fds_refuses(void **state)
{
    struct http_server_opts o = default_opts(LONG, LONG);
    o.max_conns = 1000;
    struct hs *h = start_opts(state, o);
    struct client *c = client_socket(h);
    static struct fd_squeeze q; /* static: teardown may undo it after a failure */
    squeeze(&q, 1);             /* the listener's */
    const char *path = listen_tmp(h);
    client_connect_to(c, path);
    client_send(c, "GET /hello HTTP/1.1\r\n\r\n");
    bool refused = run_until(h->r, client_eof, c, 2000) || c->errors > 0;
    unsqueeze(&q);
    assert_true(refused);
    assert_int_equal(c->in.len, 0);
    assert_int_equal(h->srv->stats.refused, 1);
    assert_int_equal(h->handled, 0);
    client_free(c);

    c = client_connect(h, path);
    client_send(c, "GET /hello HTTP/1.1\r\n\r\n");
    assert_true(wait_responses(c, 1, 0));
    client_free(c);
}

/* The accept error's log line comes once a second at most, with the count of those held. */
static void test_log_limited(void **state)
{
    (void)state;
    char path[] = "/tmp/berth-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    int saved = dup(2);
    dup2(fd, 2);
    struct log_limit l = {0};
    for (int i = 0; i < 50; i++)
        log_limited(&l, "accept: %s", strerror(EMFILE));
    l.next_ms = 0; /* a second later */
    log_limited(&l, "accept: %s", strerror(EMFILE));
    dup2(saved, 2);
    close(saved);
    char out[4096] = {0};
    assert_true(pread(fd, out, sizeof(out) - 1, 0) > 0);
    close(fd);
    int lines = 0;
    for (char *p = out; (p = strstr(p, "Too many open files")); p++)
        lines++;
    assert_int_equal(lines, 2);
    assert_non_null(strstr(out, "(49 more since the last report)"));
}

/* ---- listening on a unix socket ---- */

static void test_listen_unix(void **state)
{
    struct hs *h = start(state, LONG, LONG);
    _cleanup_err_ struct berth_err *err = NULL;
    strcpy(h->dir, "/tmp/berth-test-http-XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/api.sock", h->dir);

    /* A file that is not a socket is left alone. */
    close(open(path, O_CREAT | O_WRONLY, 0600));
    assert_true(http_server_listen_unix(h->srv, path, &err) < 0);
    assert_int_equal(err->status, EEXIST);
    unlink(path);

    /* A stale socket (bound, nobody listening) is replaced. */
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, path);
    int stale = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(stale, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(stale);
    berth_err_freep(&err);
    assert_int_equal(http_server_listen_unix(h->srv, path, &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0660);

    /* A live one is refused. */
    struct http_server_opts o = {.handler = handler, .app = h, .idle_timeout_ms = LONG};
    struct http_server *other = http_server_new(h->r, &o);
    assert_true(http_server_listen_unix(other, path, &err) < 0);
    assert_int_equal(err->status, EADDRINUSE);
    http_server_free(other);
    assert_int_equal(stat(path, &st), 0); /* the refused server did not remove ours */

    /* A request through the socket. */
    struct client *c = xcalloc(1, sizeof(*c));
    c->r = h->r;
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    c->io = reactor_io_open(h->r, c->fd, c);
    client_read(c);
    client_send(c, "GET /hello HTTP/1.1\r\n\r\n");
    assert_true(wait_responses(c, 1, 0));
    assert_int_equal(http_server_conn_count(h->srv), 1);
    client_free(c);

    http_server_free(h->srv);
    h->srv = NULL;
    assert_int_equal(stat(path, &st), -1); /* removed on shutdown */
}

#define BOTH(fn) BOTH_BACKENDS(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_keep_alive),
        BOTH(test_pipelined),
        BOTH(test_head),
        BOTH(test_connection_close),
        BOTH(test_request_timeout),
        BOTH(test_idle_timeout),
        BOTH(test_request_timeout_replaces_idle),
        BOTH(test_stream_body_timeout),
        BOTH(test_head_deadline),
        BOTH(test_body_min_rate),
        BOTH(test_body_fast_enough),
        BOTH(test_limits),
        BOTH(test_limits_chunked),
        BOTH(test_bad_request),
        BOTH(test_error_with_unread_input),
        BOTH(test_bad_chunk_framing),
        BOTH(test_bad_chunk_framing_streamed),
        BOTH(test_stream_backpressure),
        BOTH(test_stream_head),
        BOTH(test_stream_http10),
        BOTH(test_pipelining_client_not_reading),
        BOTH(test_client_vanishes_mid_stream),
        BOTH(test_close_callback_owed_reply),
        BOTH(test_hijack),
        BOTH(test_hijack_later_keeps_order),
        BOTH(test_listen_unix),
        BOTH(test_peer_cap),
        BOTH(test_server_cap),
        BOTH(test_server_cap_all_busy),
        BOTH(test_out_of_fds_sheds_idle),
        BOTH(test_out_of_fds_refuses),
        cmocka_unit_test(test_log_limited),
    };
    return cmocka_run_group_tests_name("http_server", tests, NULL, NULL);
}
