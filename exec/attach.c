/* exec/attach.c — the attach fan-out. Each client has its own output queue (its link's); a
 * tty's input runs through a small detach-key matcher before it reaches the container, or the
 * container's pending buffer when it has not started yet. */
#include "exec/attach.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "exec/logread.h"
#include "exec/run.h"

#define CUT_OFF    (16u << 20) /* queued output beyond which a client is dropped */
#define STDIN_HIGH (1u << 20)  /* input waiting for the container beyond which clients wait */

struct attach_client {
    struct container *c;
    struct attach_link link;
    bool in, out, err, tty;
    bool stream;               /* live output; without it the client only gets the log */
    struct log_reader *replay; /* attach with logs: the log so far, on its way */
    struct buf held;           /* live output that came meanwhile, framed, sent after it */
    struct attach_opts opts;   /* with logs: where the log is (log_path its own copy) */
    bool paused;               /* its input waits for the container to take what is pending */
    struct attach_keys keys;
    struct attach_client *next;
};

static bool link_write(struct attach_client *a, const void *data, size_t n)
{
    return a->link.ops->write(a->link.ctx, data, n);
}

void attach_stdin_drained(struct container *c)
{
    for (struct attach_client *a = c->attached; a; a = a->next)
        if (a->paused) {
            a->paused = false;
            a->link.ops->resume_input(a->link.ctx);
        }
}

int attach_parse_keys(const char *spec, unsigned char *out, size_t *n, struct berth_err **err)
{
    _cleanup_free_ char *copy = xstrdup(spec);
    *n = 0;
    for (char *save = NULL, *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
        int v = -1;
        if (strlen(k) == 1)
            v = (unsigned char)k[0];
        else if (strncmp(k, "ctrl-", 5) == 0 && strlen(k) == 6) {
            char ch = (char)tolower((unsigned char)k[5]);
            v = ch >= 'a' && ch <= 'z' ? ch - 'a' + 1
                : ch == '@'            ? 0
                : ch == '['            ? 27
                : ch == '\\'           ? 28
                : ch == ']'            ? 29
                : ch == '^'            ? 30
                : ch == '_'            ? 31
                                       : -1;
        }
        if (v < 0 || *n == 16)
            return berth_user_error(err, EINVAL, "Invalid detach keys (%s) provided", spec);
        out[(*n)++] = (unsigned char)v;
    }
    return *n ? 0 : berth_user_error(err, EINVAL, "Invalid detach keys (%s) provided", spec);
}

static void unlink_client(struct attach_client *a)
{
    for (struct attach_client **p = &a->c->attached; *p; p = &(*p)->next)
        if (*p == a) {
            *p = a->next;
            break;
        }
}

static void client_free(struct attach_client *a)
{
    if (a->replay)
        log_reader_cancel(a->replay);
    free((char *)a->opts.log_path);
    buf_free(&a->held);
    free(a);
}

void attach_gone(struct attach_client *a)
{
    unlink_client(a);
    client_free(a);
}

/* Its output flushed first, unless it is too far behind to ever catch up (abort). */
static void end_client(struct attach_client *a, bool abort)
{
    unlink_client(a);
    a->link.ops->end(a->link.ctx, abort);
    client_free(a);
}

static void to_stdin(struct attach_client *a, const unsigned char *p, size_t n)
{
    if (!n)
        return;
    size_t waiting;
    if (a->c->run) {
        waiting = ctr_stdin_write(a->c, (const char *)p, n);
    } else {
        buf_append(&a->c->stdin_pending, p, n); /* docker run -i: input may beat the start */
        waiting = a->c->stdin_pending.len;
    }
    if (waiting > STDIN_HIGH && !a->paused) {
        a->paused = true;
        a->link.ops->pause_input(a->link.ctx);
    }
}

bool attach_keys_feed(struct attach_keys *k, const unsigned char *p, size_t n, struct buf *out)
{
    if (!k->matched && !memchr(p, k->keys[0], n)) {
        buf_append(out, p, n); /* the usual case: nothing that could detach */
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] != k->keys[k->matched] && k->matched) {
            buf_append(out, k->keys, k->matched);
            k->matched = 0;
        }
        if (p[i] != k->keys[k->matched]) {
            buf_append(out, &p[i], 1);
            continue;
        }
        if (++k->matched == k->n)
            return true;
    }
    return false;
}

/* Input, minus the detach sequence; the whole sequence detaches this client only. */
static void on_input(struct attach_client *a, const unsigned char *p, size_t n)
{
    if (!a->keys.matched && !memchr(p, a->keys.keys[0], n))
        return to_stdin(a, p, n); /* the usual case: no copy */
    _cleanup_buf_ struct buf out = {0};
    bool detached = attach_keys_feed(&a->keys, p, n, &out);
    to_stdin(a, (const unsigned char *)out.data, out.len);
    if (detached) {
        log_debug("attach: client detached from %.12s", a->c->id);
        end_client(a, false);
    }
}

void attach_input(struct attach_client *a, const char *data, ssize_t n)
{
    if (n > 0 && a->in && !a->tty) /* as dockerd: detach keys are a terminal's */
        return to_stdin(a, (const unsigned char *)data, (size_t)n);
    if (n > 0 && a->in)
        return on_input(a, (const unsigned char *)data, (size_t)n);
    if (n != 0 || !a->in)
        return; /* a client without input half-closes at once and still reads */
    if (a->tty || !json_get_bool(a->c->config, "StdinOnce", false)) {
        log_debug("attach: input of a client of %.12s ended; so does its attach", a->c->id);
        return end_client(a, false); /* as dockerd; and a killed client is not kept */
    }
    if (a->c->run) /* the client's stdin ended, so does the container's */
        ctr_stdin_close(a->c);
    else
        a->c->stdin_eof = true;
}

void attach_frame_head(unsigned char head[8], enum log_stream s, size_t n)
{
    const unsigned char h[8] = {(unsigned char)s,
                                0,
                                0,
                                0,
                                (unsigned char)(n >> 24),
                                (unsigned char)(n >> 16),
                                (unsigned char)(n >> 8),
                                (unsigned char)n};
    memcpy(head, h, 8);
}

/* Docker's stream framing: [stream, 0, 0, 0, size (big-endian 32)] then the bytes; to the
 * client, or held while its log replay is still on its way. */
static void send_frame(struct attach_client *a, enum log_stream s, const char *data, size_t n)
{
    unsigned char head[8];
    attach_frame_head(head, s, n);
    if (a->replay) {
        if (!a->tty)
            buf_append(&a->held, head, sizeof(head));
        buf_append(&a->held, data, n);
        return;
    }
    if (!a->tty)
        link_write(a, head, sizeof(head));
    link_write(a, data, n);
}

void attach_broadcast(struct container *c, enum log_stream s, const char *data, size_t n)
{
    for (struct attach_client *a = c->attached, *next; a; a = next) {
        next = a->next;
        if (!a->stream || (s == LOG_STDOUT && !a->out) || (s == LOG_STDERR && !a->err))
            continue;
        send_frame(a, s, data, n);
        if (a->link.ops->pending(a->link.ctx) + a->held.len > CUT_OFF) {
            log_warn("attach: a client of %.12s reads too slowly; detaching it", c->id);
            end_client(a, true); /* and its backlog goes: it is not kept for a stalled client */
        }
    }
}

void attach_end_all(struct container *c)
{
    while (c->attached)
        end_client(c->attached, false);
}

/* ---- attach with logs: the log so far, before the live stream ---- */

static void replay_resume(void *arg)
{
    struct attach_client *a = arg;
    if (a->replay)
        log_reader_resume(a->replay);
}

static bool replay_emit(void *ctx, const char *data, size_t n)
{
    struct attach_client *a = ctx;
    if (link_write(a, data, n))
        return true;
    a->link.ops->on_drain(a->link.ctx, replay_resume, a); /* paced by the client */
    return false;
}

/* The log is out: then what came live meanwhile, then the live stream (or the end). */
static void replay_end(void *ctx, int res)
{
    struct attach_client *a = ctx;
    a->replay = NULL; /* the reader is gone after this call */
    if (res < 0)
        log_warn("attach: reading the log of %.12s: %s", a->c->id, strerror(-res));
    if (a->held.len)
        link_write(a, a->held.data, a->held.len);
    buf_free(&a->held);
    if (!a->stream)
        end_client(a, false);
}

/* As dockerd: every record of the log up to now (on the streams asked for), in Docker's frames
 * without a tty. A driver that cannot be read gets dockerd's words on the stream, and the end. */
static void start_replay(struct attach_client *a)
{
    static const char unreadable[] =
        "Error attaching: configured logging driver does not support reading\n";
    const struct attach_opts *o = &a->opts;
    if (!o->log_path) {
        link_write(a, unreadable, sizeof(unreadable) - 1);
        return end_client(a, false);
    }
    struct log_reader_opts lo = {.out = a->out,
                                 .err = a->err,
                                 .tty = a->tty,
                                 .tail = -1,
                                 .until_ns = time_now_ns()}; /* what comes later comes live */
    const struct log_reader_cb cb = {.emit = replay_emit, .end = replay_end, .ctx = a};
    a->replay = log_reader_start(o->pool, o->log_path, o->log_files, &lo, &cb, NULL);
}

int attach_add(struct container *c, const struct attach_link *link, const struct attach_opts *o,
               struct attach_client **out, struct berth_err **err)
{
    struct attach_client *a = xcalloc(1, sizeof(*a));
    *a = (struct attach_client){.c = c,
                                .link = *link,
                                .in = o->in && o->stream,
                                .out = o->out,
                                .err = o->err,
                                .stream = o->stream,
                                .tty = json_get_bool(c->config, "Tty", false)};
    int r = attach_parse_keys(o->detach_keys && *o->detach_keys ? o->detach_keys : "ctrl-p,ctrl-q",
                              a->keys.keys, &a->keys.n, err);
    if (r < 0) {
        free(a);
        return r;
    }
    if (o->logs) { /* read when the replay begins, after the caller's answer */
        a->opts = (struct attach_opts){.logs = true,
                                       .pool = o->pool,
                                       .log_path = o->log_path ? xstrdup(o->log_path) : NULL,
                                       .log_files = o->log_files};
    }
    a->next = c->attached;
    c->attached = a;
    *out = a;
    return 0;
}

void attach_begin(struct attach_client *a)
{
    if (a->opts.logs)
        start_replay(a);
}
