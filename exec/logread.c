/* exec/logread.c — a log reader is a small state machine: a pool job reads the next chunk of
 * the current file, decodes whole lines into output, and the reactor hands that out; at the
 * end of the live file a follower waits for a wake-up. Files are numbered as the writer
 * rotates them (0 the live one, 1 the newest rotated, ...) and read oldest first. The writer
 * may rotate while a file is read, several times even, so the file after the one just read is
 * found by its inode: if it is now number k, the next is k - 1. */
#include "exec/logread.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "exec/logfile.h"

#define CHUNK (256u << 10)

struct log_reader {
    struct pool *pool;
    struct log_reader_opts o;
    struct log_reader_cb cb;
    char *path; /* the live file; rotated ones are path.1 ... path.(max_file - 1) */
    int max_file;
    int index; /* the file to open next (0: live) */
    int fd;
    off_t offset;
    ino_t ino; /* of fd */
    bool started, busy, paused, cancelled, eof;
    bool more;      /* woken while reading or waiting: read again before waiting */
    bool last_look; /* fd is no longer the live file: read it to its end once more */
    struct log_followers *followers;
    struct log_reader *next_follower;
    struct buf partial; /* a line split across chunks */
    struct buf out;     /* formatted, not yet emitted */
    int res;
    struct pool_job job;
    struct log_record rec;
};

/* ---- tail: scan back for the start of the last N lines ---- */

/* Lines (newlines) in fd before `end`, scanning backwards until `want` are found; *start gets
 * the offset where those lines begin (0 when the file has fewer). Returns the lines found. */
static int64_t scan_back(int fd, off_t end, int64_t want, off_t *start)
{
    char buf[65536];
    int64_t found = 0;
    off_t pos = end;
    *start = 0;
    while (pos > 0) {
        size_t n = pos < (off_t)sizeof(buf) ? (size_t)pos : sizeof(buf);
        pos -= (off_t)n;
        if (pread(fd, buf, n, pos) != (ssize_t)n)
            return found; /* unreadable: start at 0 */
        for (size_t i = n; i-- > 0;) {
            if (buf[i] != '\n' || pos + (off_t)i == end - 1)
                continue; /* the file's final newline ends the last line, not a new one */
            if (++found == want) {
                *start = pos + (off_t)i + 1;
                return found;
            }
        }
    }
    return end > 0 ? found + 1 : 0; /* the first line has no newline before it */
}

static char *file_path(const struct log_reader *lr, int index)
{
    return index ? xasprintf("%s.%d", lr->path, index) : xstrdup(lr->path);
}

static int open_index(const struct log_reader *lr, int index, struct stat *st)
{
    _cleanup_free_ char *p = file_path(lr, index);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, st) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The oldest file there is. */
static int oldest_index(const struct log_reader *lr)
{
    for (int i = lr->max_file - 1; i >= 1; i--) {
        _cleanup_free_ char *p = file_path(lr, i);
        if (access(p, F_OK) == 0)
            return i;
    }
    return 0;
}

/* Choose the first file and offset so that only the last `tail` records follow. */
static void seek_tail(struct log_reader *lr)
{
    int64_t want = lr->o.tail;
    lr->index = 0;
    lr->offset = 0;
    for (int i = 0; i < lr->max_file; i++) {
        struct stat st;
        _cleanup_close_ int fd = open_index(lr, i, &st);
        if (fd < 0)
            break;
        off_t start = st.st_size;
        int64_t got = want > 0 ? scan_back(fd, st.st_size, want, &start) : 0;
        lr->index = i;
        lr->offset = start;
        if (got >= want)
            return;
        want -= got;
    }
}

/* ---- formatting ---- */

/* RFC3339Nano with all nine digits, as `docker logs -t` prints. */
static void timestamp(struct buf *b, int64_t ns)
{
    time_t secs = (time_t)(ns / 1000000000);
    struct tm tm;
    char date[32];
    gmtime_r(&secs, &tm);
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    buf_printf(b, "%s.%09lldZ ", date, (long long)(ns % 1000000000));
}

static void format(struct log_reader *lr, const struct log_record *r)
{
    if ((r->stream == LOG_STDOUT && !lr->o.out) || (r->stream == LOG_STDERR && !lr->o.err) ||
        (lr->o.since_ns && r->time_ns < lr->o.since_ns) ||
        (lr->o.until_ns && r->time_ns > lr->o.until_ns))
        return;
    struct buf payload = {0};
    if (lr->o.timestamps)
        timestamp(&payload, r->time_ns);
    if (lr->o.details) /* dockerd prints the separating space even when there are none */
        buf_printf(&payload, "%s ", r->details.data ? r->details.data : "");
    buf_append(&payload, r->line.data, r->line.len);
    if (!lr->o.tty) { /* Docker's stream frame: [stream, 0, 0, 0, size (big-endian)] */
        size_t n = payload.len;
        unsigned char head[8] = {(unsigned char)r->stream,
                                 0,
                                 0,
                                 0,
                                 (unsigned char)(n >> 24),
                                 (unsigned char)(n >> 16),
                                 (unsigned char)(n >> 8),
                                 (unsigned char)n};
        buf_append(&lr->out, head, sizeof(head));
    }
    buf_append(&lr->out, payload.data, payload.len);
    buf_free(&payload);
}

static void decode_lines(struct log_reader *lr, const char *data, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        if (!nl) {
            buf_append(&lr->partial, data, n);
            return;
        }
        size_t len = (size_t)(nl - data);
        if (lr->partial.len) {
            buf_append(&lr->partial, data, len);
            if (log_record_parse(lr->partial.data, lr->partial.len, &lr->rec))
                format(lr, &lr->rec);
            buf_reset(&lr->partial);
        } else if (log_record_parse(data, len, &lr->rec)) {
            format(lr, &lr->rec);
        }
        data = nl + 1;
        n -= len + 1;
    }
}

/* ---- the read job ---- */

/* Open file number lr->index. A rotated file that moved on meanwhile is looked for again. */
static int open_current(struct log_reader *lr)
{
    struct stat st;
    while ((lr->fd = open_index(lr, lr->index, &st)) < 0) {
        if (errno != ENOENT)
            return -errno;
        if (lr->index == 0)
            return 0; /* no live file yet */
        lr->index--;
        lr->offset = 0;
    }
    lr->ino = st.st_ino;
    return 0;
}

/* Is fd still the live file? */
static bool still_live(const struct log_reader *lr)
{
    struct stat st;
    return stat(lr->path, &st) == 0 && st.st_ino == lr->ino;
}

/* fd is read to its end: the next file is the one rotated after it. */
static void next_file(struct log_reader *lr)
{
    int next = -1;
    for (int i = 1; i < lr->max_file && next < 0; i++) {
        _cleanup_free_ char *p = file_path(lr, i);
        struct stat st;
        if (stat(p, &st) == 0 && st.st_ino == lr->ino)
            next = i - 1;
    }
    close(lr->fd);
    lr->fd = -1;
    lr->offset = 0;
    lr->last_look = false;
    lr->index = next >= 0 ? next : oldest_index(lr); /* ours was removed: the oldest follows */
}

/* One step: read a chunk, or move on at the end of a file. False at the end of the live file
 * (nothing more for now). */
static bool read_step(struct log_reader *lr, char *chunk)
{
    if (lr->fd < 0) {
        if ((lr->res = open_current(lr)) < 0 || lr->fd < 0)
            return false;
    }
    ssize_t n = pread(lr->fd, chunk, CHUNK, lr->offset);
    if (n < 0) {
        lr->res = -errno;
        return false;
    }
    if (n > 0) {
        lr->offset += n;
        decode_lines(lr, chunk, (size_t)n);
        return true;
    }
    if (still_live(lr))
        return false;
    /* The writer renames the live file only after its last write to it, so once the rename
     * is seen one more read of it finds everything it holds. */
    if (!lr->last_look) {
        lr->last_look = true;
        return true;
    }
    next_file(lr);
    return true;
}

static void read_work(struct pool_job *job)
{
    struct log_reader *lr = container_of(job, struct log_reader, job);
    char *chunk = xmalloc(CHUNK);
    if (!lr->started) {
        lr->started = true;
        if (lr->o.tail >= 0)
            seek_tail(lr);
        else
            lr->index = oldest_index(lr);
    }
    lr->eof = false;
    while (lr->out.len < CHUNK && !lr->res)
        if (!read_step(lr, chunk)) {
            lr->eof = true;
            break;
        }
    free(chunk);
}

/* ---- on the reactor ---- */

static void unfollow(struct log_reader *lr)
{
    if (!lr->followers)
        return;
    for (struct log_reader **p = &lr->followers->head; *p; p = &(*p)->next_follower)
        if (*p == lr) {
            *p = lr->next_follower;
            break;
        }
    lr->followers = NULL;
}

static void reader_free(struct log_reader *lr)
{
    unfollow(lr);
    if (lr->fd >= 0)
        close(lr->fd);
    free(lr->path);
    buf_free(&lr->partial);
    buf_free(&lr->out);
    buf_free(&lr->rec.line);
    buf_free(&lr->rec.details);
    free(lr);
}

static void read_done(struct pool_job *job);

/* What comes next: another read, waiting for the writer, or the end. */
static void next_step(struct log_reader *lr)
{
    if (lr->busy || lr->paused)
        return;
    if (!lr->eof || lr->more) {
        lr->more = false;
        lr->busy = true;
        lr->job = (struct pool_job){.work = read_work, .done = read_done};
        pool_submit(lr->pool, POOL_LATENCY, &lr->job);
        return;
    }
    if (lr->followers)
        return; /* until log_followers_wake or _finish */
    unfollow(lr);
    lr->cb.end(lr->cb.ctx, 0);
    reader_free(lr);
}

static void read_done(struct pool_job *job)
{
    struct log_reader *lr = container_of(job, struct log_reader, job);
    if (lr->out.len && !lr->cancelled) { /* still busy: a cancel from inside emit defers */
        lr->paused = !lr->cb.emit(lr->cb.ctx, lr->out.data, lr->out.len);
        buf_reset(&lr->out);
    }
    lr->busy = false;
    if (lr->cancelled)
        return reader_free(lr);
    if (lr->res < 0) {
        unfollow(lr);
        lr->cb.end(lr->cb.ctx, lr->res);
        return reader_free(lr);
    }
    next_step(lr);
}

struct log_reader *log_reader_start(struct pool *pool, const char *path, int max_file,
                                    const struct log_reader_opts *o, const struct log_reader_cb *cb,
                                    struct log_followers *f)
{
    struct log_reader *lr = xcalloc(1, sizeof(*lr));
    lr->pool = pool;
    lr->o = *o;
    lr->cb = *cb;
    lr->fd = -1;
    lr->path = xstrdup(path);
    lr->max_file = max_file < 1 ? 1 : max_file;
    if (o->follow && f && f->open) {
        lr->followers = f;
        lr->next_follower = f->head;
        f->head = lr;
    }
    next_step(lr);
    return lr;
}

void log_reader_resume(struct log_reader *lr)
{
    lr->paused = false;
    next_step(lr);
}

void log_reader_cancel(struct log_reader *lr)
{
    unfollow(lr);
    lr->cancelled = true;
    if (!lr->busy)
        reader_free(lr);
}

void log_followers_open(struct log_followers *f)
{
    f->open = true;
}

void log_followers_wake(struct log_followers *f)
{
    for (struct log_reader *lr = f->head; lr; lr = lr->next_follower) {
        lr->more = true;
        next_step(lr);
    }
}

void log_followers_finish(struct log_followers *f)
{
    struct log_reader *lr = f->head, *next;
    f->head = NULL;
    f->open = false;
    for (; lr; lr = next) { /* next_step may free lr */
        next = lr->next_follower;
        lr->followers = NULL; /* so it ends at the end of the file */
        lr->more = true;
        next_step(lr);
    }
}
