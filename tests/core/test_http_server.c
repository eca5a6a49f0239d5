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
#include <sys/un.h>
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
    int up_bytes;
    bool up_pause, up_ended;
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

/* The /upload sink: counts the bytes, holds them back if told to, answers at the end. */
static void up_data(void *arg, const char *data, ssize_t n)
{
    struct hs *h = arg;
    (void)data;
    assert_non_null(h->up); /* never called once the handler was told the client is gone */
    if (n > 0) {
        h->up_bytes += (int)n;
        if (h->up_pause)
            http_conn_pause_read(h->up);
        return;
    }
    h->up_ended = true;
    http_reply(h->up, 200, "text/plain", "got it", 6);
    h->up = NULL;
}

static bool stream_body(void *app, const struct http_msg *req)
{
    (void)app;
    return strcmp(req->path, "/upload") == 0;
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
    } else if (strcmp(req->path, "/upload") == 0) {
        h->up = c;
        http_conn_body(c, up_data, h);
        http_conn_on_close(c, on_owed_close, h);
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

static int teardown(void **state)
{
    struct fx *f = *state;
    http_server_free(f->h.srv);
    reactor_free(f->h.r);
    buf_free(&f->h.hj_got);
    if (f->h.dir[0]) {
        char path[128];
        snprintf(path, sizeof(path), "%s/api.sock", f->h.dir);
        unlink(path);
        rmdir(f->h.dir);
    }
    free(f);
    return 0;
}

static struct hs *start(void **state, uint64_t request_timeout_ms, uint64_t idle_timeout_ms)
{
    struct fx *f = *state;
    struct hs *h = &f->h;
    h->r = test_reactor_new(f->backend);
    struct http_server_opts o = {
        .limits = {.max_header_bytes = 2048, .max_headers = 16, .max_body = 4096},
        .request_timeout_ms = request_timeout_ms,
        .idle_timeout_ms = idle_timeout_ms,
        .handler = handler,
        .app = h,
        .stream_body = stream_body,
    };
    h->srv = http_server_new(h->r, &o);
    return h;
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
    assert_false(h->up_ended);
    assert_true(run_until(h->r, no_conns, h->srv, 2000));
    client_free(c);

    h->up_bytes = 0;
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
    assert_true(h->up_ended);
    assert_int_equal(h->up_bytes, 20);
    assert_int_equal(c->eofs, 0);
    client_free(c);
}

/* A streamed body that turns out malformed: one answer (the server's 400), after the handler
 * was told the client is gone. */
static void test_stream_body_malformed(void **state)
{
    struct hs *h = start(state, LONG, LONG);
    struct client *c = client_new(h, true);
    client_send(c, "POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5\r\nhello\r\nzz\r\n");
    assert_int_equal(closed_with(c), 400);
    assert_int_equal(h->closes, 1);
    assert_int_equal(h->up_bytes, 5);
    assert_false(h->up_ended);
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
        BOTH(test_stream_body_malformed),
        BOTH(test_limits),
        BOTH(test_limits_chunked),
        BOTH(test_bad_request),
        BOTH(test_stream_backpressure),
        BOTH(test_stream_head),
        BOTH(test_stream_http10),
        BOTH(test_pipelining_client_not_reading),
        BOTH(test_client_vanishes_mid_stream),
        BOTH(test_close_callback_owed_reply),
        BOTH(test_hijack),
        BOTH(test_hijack_later_keeps_order),
        BOTH(test_listen_unix),
    };
    return cmocka_run_group_tests_name("http_server", tests, NULL, NULL);
}
