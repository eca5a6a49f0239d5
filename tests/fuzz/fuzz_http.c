/* tests/fuzz/fuzz_http.c — libFuzzer target for the request path up to the handler: the HTTP
 * reader fed in input-derived chunks, then the router and the query helpers on each request. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/http.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "handlers/router.h"

#define MAX_MSGS 64 /* per input: enough for any pipelined run a 16 KiB input can hold */

/* What the reader produced for one message, kept to compare a split parse with a whole one:
 * http_reader promises that how the bytes arrive never changes what it parses. */
struct digest {
    struct buf text;
    size_t nmsgs;
    int status; /* the reader's error status, 0 if none */
};

static void route_fn(struct api_req *a)
{
    (void)a;
}

/* A table shaped like berthd's full one: literals, {id}, and greedy {name*} for image names
 * that carry slashes, including a greedy segment followed by literals. */
static const struct route routes[] = {
    {"GET", "/_ping", route_fn, 0},
    {"HEAD", "/_ping", route_fn, 0},
    {"GET", "/version", route_fn, 0},
    {"GET", "/info", route_fn, 0},
    {"GET", "/events", route_fn, 0},
    {"GET", "/containers/json", route_fn, 0},
    {"POST", "/containers/create", route_fn, 0},
    {"GET", "/containers/{id}/json", route_fn, 0},
    {"GET", "/containers/{id}/logs", route_fn, 0},
    {"POST", "/containers/{id}/start", route_fn, 0},
    {"POST", "/containers/{id}/stop", route_fn, 0},
    {"POST", "/containers/{id}/attach", route_fn, 0},
    {"POST", "/containers/{id}/exec", route_fn, 0},
    {"POST", "/containers/{id}/wait", route_fn, 0},
    {"DELETE", "/containers/{id}", route_fn, 0},
    {"GET", "/containers/{id}/archive", route_fn, 0},
    {"PUT", "/containers/{id}/archive", route_fn, 0},
    {"POST", "/exec/{id}/start", route_fn, 0},
    {"POST", "/exec/{id}/resize", route_fn, 0},
    {"GET", "/exec/{id}/json", route_fn, 0},
    {"GET", "/images/json", route_fn, 0},
    {"POST", "/images/create", route_fn, 0},
    {"POST", "/images/load", route_fn, 0},
    {"GET", "/images/{name*}/json", route_fn, 0},
    {"GET", "/images/{name*}/history", route_fn, 0},
    {"POST", "/images/{name*}/push", route_fn, 0},
    {"POST", "/images/{name*}/tag", route_fn, 0},
    {"DELETE", "/images/{name*}", route_fn, 0},
    {"GET", "/distribution/{name*}/json", route_fn, 0},
    {"GET", "/networks", route_fn, 0},
    {"GET", "/networks/{id}", route_fn, 0},
    {"POST", "/networks/{id}/connect", route_fn, 0},
    {"GET", "/volumes", route_fn, 0},
    {"GET", "/volumes/{name}", route_fn, 0},
    {"DELETE", "/volumes/{name}", route_fn, 0},
    {"POST", "/build", route_fn, 0},
    {"POST", "/session", route_fn, 0},
};

static struct router *router;

/* splitmix64: chunk sizes and reader options from one seed, so an input replays exactly. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* FNV-1a of the input: the corpus stays plain HTTP, and every mutation also moves the splits. */
static uint64_t seed_of(const uint8_t *data, size_t size)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 0x100000001b3ULL;
    return h;
}

/* As http_server's stream_body: every message's body goes to on_body, after a pause at the
 * end of its head (http_reader_resume continues). */
static int stream_all(void *ctx, struct http_msg *m)
{
    (void)ctx, (void)m;
    return 1;
}

static int sink_body(void *ctx, const char *p, size_t n)
{
    struct buf *b = ctx;
    if (b->len + n > 4096)
        return 1; /* a handler refusing the rest of a large upload */
    buf_append(b, p, n);
    return 0;
}

/* Everything handlers/api.c does with a request before the route's function runs. */
static void route_request(const struct http_msg *m, struct buf *out)
{
    char version[16], *params[ROUTER_MAX_PARAMS];
    const char *rest;
    bool versioned = router_split_version(m->path, version, sizeof(version), &rest);
    if (versioned)
        buf_printf(out, "v=%s cmp=%d ", version, router_version_cmp(version, API_MIN_VERSION));
    const char *method = m->method == HTTP_HEAD ? "GET" : http_msg_method(m);
    const struct route *r = router_match(router, method, rest, params);
    buf_printf(out, "route=%s", r ? r->pattern : "-");
    for (size_t i = 0; i < ROUTER_MAX_PARAMS; i++) {
        if (params[i])
            buf_printf(out, " p%zu=%s", i, params[i]);
        free(params[i]);
    }
    buf_puts(out, "\n");
}

static void query_request(const struct http_msg *m, struct buf *out)
{
    static const char *const keys[] = {"all", "filters", "fromImage", "tag", "force", ""};
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        _cleanup_free_ char *v = http_query_get(m, keys[i]);
        buf_printf(out, "q[%s]=%s b=%d\n", keys[i], v ? v : "(none)", http_query_bool(m, keys[i]));
    }
    /* A key taken from the query itself, so lookups hit as often as they miss. */
    const char *eq = strchr(m->query, '=');
    _cleanup_free_ char *key = xstrndup(m->query, eq ? (size_t)(eq - m->query) : 16);
    _cleanup_free_ char *v = http_query_get(m, key);
    buf_printf(out, "q1=%s b=%d\n", v ? v : "(none)", http_query_bool(m, key));
    char **all = http_query_all(m, key);
    for (size_t i = 0; all[i]; i++)
        buf_printf(out, "qa=%s\n", all[i]);
    http_query_free(all);
    _cleanup_free_ char *q = xstrdup(m->query);
    buf_printf(out, "qdec=%d\n", http_url_decode(q, true));
}

static void describe(const struct http_msg *m, enum http_parser_type type, struct buf *out)
{
    static const char *const names[] = {"Host", "Content-Type", "Upgrade", "Connection",
                                        "X-Registry-Auth"};
    if (type == HTTP_REQUEST)
        buf_printf(out, "%s %s path=%s query=%s\n", http_msg_method(m), m->target, m->path,
                   m->query);
    else
        buf_printf(out, "status %d\n", m->status);
    buf_printf(out, "HTTP/%u.%u ka=%d up=%d\n", m->http_major, m->http_minor, m->keep_alive,
               m->upgrade);
    for (size_t i = 0; i < m->nheaders; i++)
        buf_printf(out, "h %s: %s\n", m->headers[i].name, m->headers[i].value);
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        const char *v = http_msg_header(m, names[i]);
        buf_printf(out, "%s=%s\n", names[i], v ? v : "(none)");
    }
    buf_printf(out, "body %zu:", m->body.len);
    buf_append(out, m->body.data, m->body.len);
    buf_puts(out, "\n");
    if (type == HTTP_REQUEST) {
        route_request(m, out);
        query_request(m, out);
    }
}

struct parse_opts {
    enum http_parser_type type;
    struct http_limits limits;
    bool sink; /* stream bodies through on_body instead of buffering them */
    bool skip_body;
};

/* Parse data in chunks from rnd (whole when rnd is NULL), as http_server does: feed, take each
 * complete message, keep feeding the rest; stop at the first error. */
static void parse(const struct parse_opts *o, const uint8_t *data, size_t size, uint64_t *rnd,
                  struct digest *d)
{
    struct http_reader rd;
    struct buf sunk = {0};
    http_reader_init(&rd, o->type, &o->limits);
    rd.skip_body = o->skip_body;
    if (o->sink) {
        rd.on_head = stream_all;
        rd.on_body = sink_body;
        rd.ctx = &sunk;
    }
    size_t off = 0;
    while (off < size && !rd.status && d->nmsgs < MAX_MSGS) {
        size_t want = size - off;
        if (rnd) {
            uint64_t r = next_rand(rnd);
            size_t max = (r & 3) == 0 ? 4 : (r & 3) == 1 ? 64 : 1024;
            want = 1 + (size_t)((r >> 8) % max);
            if (want > size - off)
                want = size - off;
        }
        /* The chunk lives only as long as a recv buffer would: copy it so ASan sees any read
         * that outlives the feed. */
        char *chunk = xmalloc(want);
        memcpy(chunk, data + off, want);
        size_t used = 0;
        while (used < want && !rd.status && d->nmsgs < MAX_MSGS) {
            size_t n = http_reader_feed(&rd, chunk + used, want - used);
            used += n;
            if (rd.head_paused) {
                http_reader_resume(&rd);
                continue;
            }
            struct http_msg *m = http_reader_take(&rd);
            if (m) {
                d->nmsgs++;
                describe(m, o->type, &d->text);
                buf_printf(&d->text, "sunk %zu:", sunk.len);
                buf_append(&d->text, sunk.data, sunk.len);
                buf_puts(&d->text, "\n");
                buf_reset(&sunk);
                http_msg_free(m);
            } else if (n == 0) {
                break;
            }
        }
        free(chunk);
        off += used;
        if (used < want)
            break; /* the reader refused bytes: an error, or the message cap */
    }
    if (off == size && !rd.status && d->nmsgs < MAX_MSGS) {
        http_reader_eof(&rd);
        struct http_msg *m = http_reader_take(&rd);
        if (m) {
            d->nmsgs++;
            describe(m, o->type, &d->text);
            http_msg_free(m);
        }
    }
    /* Not the words: which of two bad bytes is reported first may depend on where a chunk
     * ends (http_parser checks a whole run of a value before our callback sees it). */
    d->status = rd.status;
    http_reader_free(&rd);
    buf_free(&sunk);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    router = router_new(routes, ARRAY_SIZE(routes));
    return 0;
}

static const struct http_limits berthd_limits = {
    .max_header_bytes = 64 * 1024, .max_headers = 100, .max_body = 64 << 20};
static const struct http_limits tiny_limits = {
    .max_header_bytes = 256, .max_headers = 4, .max_body = 32};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t seed = seed_of(data, size), rnd = seed;
    uint64_t pick = next_rand(&rnd);
    struct parse_opts o = {
        .type = (pick & 15) == 0 ? HTTP_RESPONSE : HTTP_REQUEST,
        /* berthd's own limits most of the time; tiny ones to reach the 413/431 paths */
        .limits = (pick & 0x30) == 0 ? tiny_limits : berthd_limits,
        .sink = (pick & 0xc0) == 0,
        .skip_body = (pick & 0x300) == 0,
    };
    struct digest whole = {0}, split = {0};
    parse(&o, data, size, NULL, &whole);
    parse(&o, data, size, &rnd, &split);
    /* Both must fail or neither; the status may differ (a head both too long and malformed
     * is 431 or 400 depending on which the chunk boundaries let us see first). */
    if (!whole.status != !split.status || whole.nmsgs != split.nmsgs ||
        whole.text.len != split.text.len ||
        (whole.text.len && memcmp(whole.text.data, split.text.data, whole.text.len) != 0)) {
        fprintf(stderr,
                "split parse differs from whole parse (seed %016llx)\n"
                "--- whole: %zu messages, status %d\n%s--- split: %zu messages, status %d\n%s",
                (unsigned long long)seed, whole.nmsgs, whole.status,
                whole.text.data ? whole.text.data : "", split.nmsgs, split.status,
                split.text.data ? split.text.data : "");
        abort();
    }
    buf_free(&whole.text);
    buf_free(&split.text);
    return 0;
}
