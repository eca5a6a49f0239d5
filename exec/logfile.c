/* exec/logfile.c — json-file records built with a small escaper (fast, and invalid UTF-8
 * becomes U+FFFD as Go's encoder makes it, so every record stays valid JSON), written through
 * a reactor rio with one write in flight; rotation renames files in a pool job. */
#include "exec/logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/timefmt.h"
#include "core/xalloc.h"

#define MAX_LINE (16u << 10) /* Docker splits longer lines into several records */

struct log_writer {
    struct reactor *r;
    struct pool *pool;
    char *path, *attrs;
    int64_t max_size, size;
    int max_file;
    struct rio *io;
    struct buf pending;
    size_t inflight;
    bool writing, rotating, closing;
    struct buf partial[3]; /* per stream: a line without its newline yet */
    void (*on_written)(void *);
    void *written_arg;
    void (*close_done)(void *);
    void *close_arg;
    struct pool_job rotate_job;
    int new_fd, rotate_errno;
};

int log_file_open(const char *path, int64_t *size, struct berth_err **err)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return berth_error(err, errno, "open log `%s`", path);
    *size = st.st_size;
    return fd;
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len = p[0] < 0x80             ? 1
                 : (p[0] & 0xe0) == 0xc0 ? 2
                 : (p[0] & 0xf0) == 0xe0 ? 3
                 : (p[0] & 0xf8) == 0xf0 ? 4
                                         : 0;
    if (!len || len > n || (len == 2 && p[0] < 0xc2))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* JSON string body of s[0..n): plain runs are copied in one go. */
static void escape(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;
    while (i < n) {
        unsigned char ch = p[i];
        if (ch >= 0x20 && ch < 0x80 && ch != '"' && ch != '\\') {
            i++;
            continue;
        }
        buf_append(b, s + run, i - run);
        size_t len = ch >= 0x80 ? utf8_len(p + i, n - i) : 1;
        if (ch == '"' || ch == '\\') {
            char esc[2] = {'\\', (char)ch};
            buf_append(b, esc, 2);
        } else if (ch == '\n') {
            buf_append(b, "\\n", 2);
        } else if (ch < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
            buf_append(b, esc, 6);
        } else if (len == 0) {
            buf_append(b, "\\ufffd", 6); /* as Go's encoder writes invalid bytes */
            len = 1;
        } else {
            buf_append(b, s + i, len);
        }
        i += len;
        run = i;
    }
    buf_append(b, s + run, i - run);
}

static void add_record(struct log_writer *w, enum log_stream s, const char *line, size_t n)
{
    _cleanup_free_ char *now = time_format_rfc3339(time_now_ns());
    buf_puts(&w->pending, "{\"log\":\"");
    escape(&w->pending, line, n);
    buf_printf(&w->pending, "\",\"stream\":\"%s\",", s == LOG_STDERR ? "stderr" : "stdout");
    if (w->attrs)
        buf_printf(&w->pending, "\"attrs\":%s,", w->attrs);
    buf_printf(&w->pending, "\"time\":\"%s\"}\n", now);
}

static void start_write(struct log_writer *w);

static void rotate_work(struct pool_job *job)
{
    struct log_writer *w = container_of(job, struct log_writer, rotate_job);
    for (int i = w->max_file - 1; i >= 1; i--) {
        _cleanup_free_ char *from = i == 1 ? xstrdup(w->path) : xasprintf("%s.%d", w->path, i - 1);
        _cleanup_free_ char *to = xasprintf("%s.%d", w->path, i);
        rename(from, to); /* a missing older file is fine */
    }
    if (w->max_file <= 1)
        (void)!truncate(w->path, 0);
    w->new_fd = open(w->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    w->rotate_errno = w->new_fd < 0 ? errno : 0;
}

static void rotate_done(struct pool_job *job)
{
    struct log_writer *w = container_of(job, struct log_writer, rotate_job);
    w->rotating = false;
    if (w->new_fd < 0) {
        log_error("logs: rotate `%s`: %s", w->path, strerror(w->rotate_errno));
        return;
    }
    w->io = reactor_io_open(w->r, w->new_fd, w);
    w->size = 0;
    start_write(w);
}

static void on_written(void *ctx, int res)
{
    struct log_writer *w = ctx;
    w->writing = false;
    if (res < 0)
        log_error("logs: write `%s`: %s", w->path, strerror(-res));
    else
        w->size += (int64_t)w->inflight;
    w->inflight = 0;
    if (w->on_written)
        w->on_written(w->written_arg);
    if (w->max_size > 0 && w->size >= w->max_size) {
        w->rotating = true;
        reactor_io_close(w->io);
        w->io = NULL;
        w->rotate_job = (struct pool_job){.work = rotate_work, .done = rotate_done};
        pool_submit(w->pool, POOL_LATENCY, &w->rotate_job);
        return;
    }
    start_write(w);
}

static void finish_close(struct log_writer *w)
{
    void (*done)(void *) = w->close_done;
    void *arg = w->close_arg;
    reactor_io_close(w->io);
    buf_free(&w->pending);
    for (int i = 0; i < 3; i++)
        buf_free(&w->partial[i]);
    free(w->path);
    free(w->attrs);
    free(w);
    if (done)
        done(arg);
}

/* With rotation, a write ends with the record that fills the file: Docker checks the size
 * before each record, so a file holds records until it reaches max-size. Records end in the
 * only raw newlines (the escaper encodes the rest). */
static size_t write_len(const struct log_writer *w)
{
    int64_t room = w->max_size - w->size;
    if (w->max_size <= 0 || (int64_t)w->pending.len <= room)
        return w->pending.len;
    size_t from = room > 0 ? (size_t)room - 1 : 0;
    const char *nl = memchr(w->pending.data + from, '\n', w->pending.len - from);
    return nl ? (size_t)(nl - w->pending.data) + 1 : w->pending.len;
}

static void start_write(struct log_writer *w)
{
    if (w->writing || w->rotating)
        return;
    if (!w->pending.len) {
        if (w->closing)
            finish_close(w);
        return;
    }
    size_t len = write_len(w);
    char *data;
    if (len == w->pending.len) {
        data = buf_steal(&w->pending, &len);
    } else {
        data = memcpy(xmalloc(len), w->pending.data, len);
        buf_consume(&w->pending, len);
    }
    w->writing = true;
    w->inflight = len;
    if (reactor_send(w->io, data, len, on_written) < 0) {
        w->writing = false;
        log_error("logs: cannot write `%s`", w->path);
    }
}

struct log_writer *log_writer_new(struct reactor *r, struct pool *pool, const char *path, int fd,
                                  int64_t size, int64_t max_size, int max_file)
{
    struct log_writer *w = xcalloc(1, sizeof(*w));
    *w = (struct log_writer){.r = r,
                             .pool = pool,
                             .path = xstrdup(path),
                             .size = size,
                             .max_size = max_size,
                             .max_file = max_file < 1 ? 1 : max_file};
    w->io = reactor_io_open(r, fd, w);
    return w;
}

void log_writer_set_attrs(struct log_writer *w, const char *attrs)
{
    free(w->attrs);
    w->attrs = attrs ? xstrdup(attrs) : NULL;
}

void log_writer_write(struct log_writer *w, enum log_stream s, const char *data, size_t n)
{
    struct buf *part = &w->partial[s];
    while (n > 0) {
        /* a record ends at a newline, or once it holds MAX_LINE bytes (Docker's split) */
        size_t room = MAX_LINE - part->len, span = n < room ? n : room;
        const char *nl = memchr(data, '\n', span);
        size_t take = nl ? (size_t)(nl - data) + 1 : span;
        bool ends = nl || part->len + take == MAX_LINE;
        if (part->len == 0 && ends) {
            add_record(w, s, data, take); /* the common case: a whole line, no copy */
        } else {
            buf_append(part, data, take);
            if (ends) {
                add_record(w, s, part->data, part->len);
                buf_reset(part);
            }
        }
        data += take;
        n -= take;
    }
    start_write(w);
}

void log_writer_flush(struct log_writer *w)
{
    for (int s = LOG_STDOUT; s <= LOG_STDERR; s++)
        if (w->partial[s].len) {
            add_record(w, (enum log_stream)s, w->partial[s].data, w->partial[s].len);
            buf_reset(&w->partial[s]);
        }
    start_write(w);
}

void log_writer_on_written(struct log_writer *w, void (*fn)(void *arg), void *arg)
{
    w->on_written = fn;
    w->written_arg = arg;
}

void log_writer_close(struct log_writer *w, void (*done)(void *arg), void *arg)
{
    log_writer_flush(w);
    w->closing = true;
    w->close_done = done;
    w->close_arg = arg;
    w->on_written = NULL;
    start_write(w);
}

/* ---- reading ---- */

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The attrs as dockerd's --details prints them: key=value pairs joined by commas, by key. */
static void details(struct buf *b, json_t *attrs)
{
    buf_reset(b);
    buf_reserve(b, 1);
    b->data[0] = '\0';
    if (!json_is_object(attrs))
        return;
    size_t n = json_object_size(attrs), k = 0;
    const char *key, **keys = xcalloc(n + 1, sizeof(*keys));
    json_t *v;
    json_object_foreach(attrs, key, v) keys[k++] = key;
    qsort(keys, k, sizeof(*keys), compare_strings);
    for (size_t i = 0; i < k; i++) {
        if (i)
            buf_puts(b, ",");
        buf_put_query_escaped(b, keys[i]);
        buf_puts(b, "=");
        buf_put_query_escaped(b, json_get_str(attrs, keys[i]) ?: "");
    }
    free(keys);
}

bool log_record_parse(const char *text, size_t len, struct log_record *rec)
{
    json_error_t je;
    _cleanup_json_ json_t *j = json_loadb(text, len, 0, &je);
    const char *stream = json_get_str(j, "stream");
    json_t *log = json_object_get(j, "log");
    if (!json_is_string(log) || !stream)
        return false;
    rec->stream = strcmp(stream, "stderr") == 0 ? LOG_STDERR : LOG_STDOUT;
    rec->time_ns = time_parse_rfc3339(json_get_str(j, "time"));
    buf_reset(&rec->line);
    buf_append(&rec->line, json_string_value(log), json_string_length(log));
    details(&rec->details, json_object_get(j, "attrs"));
    return true;
}
