/* fs/eventlog.c — the event log's writer thread (a queue under a mutex: the reactor copies a
 * line in and signals; the thread swaps the queue out and writes it, rotates, syncs) and its
 * cursor (the two files read oldest first; a file rotated while it is read is followed by its
 * inode, as exec/logread.c follows container logs). */
#include "fs/eventlog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "fs/atomic.h"

#define TAIL_SCAN  (64u << 10) /* how far back the last line is looked for at open */
#define READ_CHUNK (256u << 10)

struct eventlog {
    char *dir, *live, *old; /* ROOT/events, .../events.log, .../events.log.1 */
    struct eventlog_opts o;
    /* the writer thread's own */
    int fd;
    size_t size;
    uint64_t dirty_since_ms; /* 0: everything written is synced */
    pthread_t thread;
    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct buf queue;
    uint64_t queue_seq; /* the seq of the last line queued (or dropped) */
    bool closing;
    bool warned; /* a drop was logged since the queue last emptied */
    /* any thread */
    _Atomic uint64_t done;
    _Atomic uint64_t dropped;
};

int64_t eventlog_line_time(const char *line, size_t len)
{
    static const char key[] = "\"timeNano\":";
    const size_t klen = sizeof(key) - 1;
    if (len && line[len - 1] == '\n')
        len--;
    if (!len || line[len - 1] != '}')
        return -1;
    size_t end = len - 1, i = end;
    while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9')
        i--;
    if (i == end || end - i > 19 || i < klen || memcmp(line + i - klen, key, klen) != 0)
        return -1;
    int64_t t = 0;
    for (size_t k = i; k < end; k++) {
        if (t > (INT64_MAX - 9) / 10)
            return -1;
        t = t * 10 + (line[k] - '0');
    }
    return t;
}

/* ---- open ---- */

/* Cut a torn last line (a crash mid-write, or zeros after a power cut) and return the time of
 * the last whole line of fd, -1 for none. */
static int64_t repair_tail(int fd, const char *path)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size == 0)
        return -1;
    size_t n = st.st_size < (off_t)TAIL_SCAN ? (size_t)st.st_size : TAIL_SCAN;
    off_t base = st.st_size - (off_t)n;
    _cleanup_free_ char *tail = xmalloc(n);
    if (pread(fd, tail, n, base) != (ssize_t)n)
        return -1;
    size_t keep = n;
    while (keep > 0 && tail[keep - 1] != '\n')
        keep--;
    if (keep < n) {
        log_warn("events: cutting a torn line at the end of `%s` (%zu bytes)", path, n - keep);
        if (ftruncate(fd, base + (off_t)keep) < 0)
            log_warn("events: truncate `%s`: %s", path, strerror(errno));
    }
    /* the last line that has a time (a line of zeros has none) */
    while (keep > 0) {
        size_t end = keep, start = end - 1;
        while (start > 0 && tail[start - 1] != '\n')
            start--;
        int64_t t = eventlog_line_time(tail + start, end - start);
        if (t >= 0)
            return t;
        keep = start;
    }
    return -1;
}

static int64_t file_last_time(const char *path)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -1 : repair_tail(fd, path);
}

static void sync_dir(const char *dir)
{
    _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0)
        fsync(fd);
}

/* ---- the writer ---- */

static void write_all(struct eventlog *l, const char *data, size_t len, uint64_t lines_seq)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(l->fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            log_error("events: write `%s`: %s (events up to #%llu are not in the log)", l->live,
                      n < 0 ? strerror(errno) : "no progress", (unsigned long long)lines_seq);
            atomic_fetch_add(&l->dropped, 1);
            return;
        }
        off += (size_t)n;
    }
    l->size += len;
}

static void sync_file(struct eventlog *l)
{
    if (!l->dirty_since_ms)
        return;
    if (fdatasync(l->fd) < 0)
        log_warn("events: sync `%s`: %s", l->live, strerror(errno));
    l->dirty_since_ms = 0;
}

/* The live file becomes the old one (the previous old one goes), and a new live file starts. */
static void rotate(struct eventlog *l)
{
    sync_file(l);
    if (rename(l->live, l->old) < 0) {
        log_error("events: rotate `%s`: %s", l->live, strerror(errno));
        return;
    }
    int fd = open(l->live, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) { /* keep appending to the renamed file: nothing is lost */
        log_error("events: open `%s`: %s", l->live, strerror(errno));
        return;
    }
    sync_dir(l->dir);
    close(l->fd);
    l->fd = fd;
    l->size = 0;
}

/* Wait for lines, or for the sync deadline of what was written. Called and returns with mu. */
static void wait_for_lines(struct eventlog *l)
{
    while (!l->queue.len && !l->closing) {
        if (!l->dirty_since_ms) {
            pthread_cond_wait(&l->cond, &l->mu);
            continue;
        }
        uint64_t due = l->dirty_since_ms + l->o.sync_ms;
        if (mono_ms() >= due) {
            pthread_mutex_unlock(&l->mu);
            sync_file(l);
            pthread_mutex_lock(&l->mu);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t wait_ms = due - mono_ms();
        ts.tv_sec += (time_t)(wait_ms / 1000);
        ts.tv_nsec += (long)(wait_ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&l->cond, &l->mu, &ts);
    }
}

static void *writer_main(void *arg)
{
    struct eventlog *l = arg;
    struct buf batch = {0};
    pthread_mutex_lock(&l->mu);
    for (;;) {
        wait_for_lines(l);
        if (!l->queue.len) /* closing, and everything is written */
            break;
        struct buf swap = l->queue;
        l->queue = batch;
        batch = swap;
        uint64_t seq = l->queue_seq;
        l->warned = false;
        pthread_mutex_unlock(&l->mu);

        write_all(l, batch.data, batch.len, seq);
        buf_reset(&batch);
        atomic_store_explicit(&l->done, seq, memory_order_release);
        if (!l->dirty_since_ms)
            l->dirty_since_ms = mono_ms();
        if (l->size >= l->o.file_max)
            rotate(l);
        else if (mono_ms() >= l->dirty_since_ms + l->o.sync_ms) /* steady load: sync on time */
            sync_file(l);
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    sync_file(l);
    buf_free(&batch);
    return NULL;
}

static void eventlog_free(struct eventlog *l)
{
    if (l->fd >= 0)
        close(l->fd);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cond);
    buf_free(&l->queue);
    free(l->dir);
    free(l->live);
    free(l->old);
    free(l);
}

int eventlog_open(const char *dir, const struct eventlog_opts *o, struct eventlog **out,
                  int64_t *last_time, struct berth_err **err)
{
    int r = fs_mkdir_p(dir, 0700, err);
    if (r < 0)
        return r;
    struct eventlog *l = xcalloc(1, sizeof(*l));
    l->dir = xstrdup(dir);
    l->live = xasprintf("%s/events.log", dir);
    l->old = xasprintf("%s/events.log.1", dir);
    l->o = *o;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the sync deadline is a mono_ms time */
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cond, &ca);
    pthread_condattr_destroy(&ca);
    l->fd = open(l->live, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    struct stat st;
    if (l->fd < 0 || fstat(l->fd, &st) < 0) {
        r = berth_error(err, errno, "open the event log `%s`", l->live);
        eventlog_free(l);
        return r;
    }
    int64_t t = repair_tail(l->fd, l->live);
    if (t < 0)
        t = file_last_time(l->old);
    *last_time = t < 0 ? 0 : t;
    fstat(l->fd, &st); /* after a cut */
    l->size = (size_t)st.st_size;
    if ((r = pthread_create(&l->thread, NULL, writer_main, l)) != 0) {
        r = berth_error(err, r, "start the event log writer");
        eventlog_free(l);
        return r;
    }
    *out = l;
    return 0;
}

bool eventlog_append(struct eventlog *l, uint64_t seq, const char *line, size_t len)
{
    bool kept = true, warn = false;
    pthread_mutex_lock(&l->mu);
    bool was_empty = l->queue.len == 0;
    if (l->queue.len + len > l->o.queue_max) {
        kept = false;
        warn = !l->warned;
        l->warned = true;
    } else {
        buf_append(&l->queue, line, len);
    }
    l->queue_seq = seq;
    pthread_mutex_unlock(&l->mu);
    if (was_empty && kept) /* a writer busy with the previous batch looks again anyway */
        pthread_cond_signal(&l->cond);
    if (!kept) {
        atomic_fetch_add(&l->dropped, 1);
        if (warn)
            log_error("events: the log writer is %zu bytes behind: events are not logged until "
                      "it catches up",
                      l->o.queue_max);
    }
    return kept;
}

uint64_t eventlog_done(struct eventlog *l)
{
    return atomic_load_explicit(&l->done, memory_order_acquire);
}

uint64_t eventlog_dropped(struct eventlog *l)
{
    return atomic_load(&l->dropped);
}

void eventlog_close(struct eventlog *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->closing = true;
    pthread_mutex_unlock(&l->mu);
    pthread_cond_signal(&l->cond);
    pthread_join(l->thread, NULL);
    eventlog_free(l);
}

/* ---- the cursor ---- */

struct eventlog_cursor {
    char *live, *old;
    int fd; /* -1: not started */
    ino_t ino;
    off_t off;        /* of the first byte not passed to fn */
    bool last_look;   /* fd is no longer the live file: read it to its end once more */
    struct buf chunk; /* bytes from off on: a line not whole yet */
};

struct eventlog_cursor *eventlog_cursor_new(const struct eventlog *l)
{
    struct eventlog_cursor *c = xcalloc(1, sizeof(*c));
    c->live = xstrdup(l->live);
    c->old = xstrdup(l->old);
    c->fd = -1;
    return c;
}

void eventlog_cursor_free(struct eventlog_cursor *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    buf_free(&c->chunk);
    free(c->live);
    free(c->old);
    free(c);
}

static ino_t inode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

static int open_at(struct eventlog_cursor *c, const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = fd;
    c->ino = st.st_ino;
    c->off = 0;
    c->last_look = false;
    buf_reset(&c->chunk);
    return 0;
}

/* The oldest file first. */
static int start(struct eventlog_cursor *c)
{
    int r = open_at(c, c->old);
    if (r == -ENOENT)
        r = open_at(c, c->live);
    return r;
}

/* The end of a file that is no longer the live one: the next is the one rotated after it. The
 * writer renames the live file only after its last write to it, so once the rename is seen one
 * more read finds everything it holds (last_look). Returns 0, or -errno. */
static int next_file(struct eventlog_cursor *c, bool *gap)
{
    if (inode_of(c->old) == c->ino)
        return open_at(c, c->live);
    /* ours was rotated away: the old file now follows it, unless a rotation came between */
    *gap = true;
    int r = open_at(c, c->old);
    return r == -ENOENT ? open_at(c, c->live) : r;
}

/* Pass the whole lines of the chunk to fn; returns false when fn stopped. */
static bool pass_lines(struct eventlog_cursor *c, size_t max_bytes, size_t *passed,
                       bool (*fn)(void *, int64_t, const char *, size_t), void *arg)
{
    size_t pos = 0;
    bool go_on = true;
    while (go_on && *passed < max_bytes && pos < c->chunk.len) {
        const char *nl = memchr(c->chunk.data + pos, '\n', c->chunk.len - pos);
        if (!nl)
            break;
        size_t len = (size_t)(nl - (c->chunk.data + pos)) + 1;
        int64_t t = eventlog_line_time(c->chunk.data + pos, len);
        if (t >= 0 && !fn(arg, t, c->chunk.data + pos, len)) {
            go_on = false;
            break;
        }
        pos += len;
        *passed += len;
    }
    buf_consume(&c->chunk, pos);
    c->off += (off_t)pos;
    return go_on;
}

int eventlog_read(struct eventlog_cursor *c, size_t max_bytes,
                  bool (*fn)(void *arg, int64_t t, const char *line, size_t len), void *arg,
                  bool *gap)
{
    size_t passed = 0;
    *gap = false;
    if (c->fd < 0) {
        int r = start(c);
        if (r == -ENOENT)
            return EVENTLOG_END;
        if (r < 0)
            return r;
    }
    for (;;) {
        if (!pass_lines(c, max_bytes, &passed, fn, arg))
            return EVENTLOG_STOPPED;
        if (passed >= max_bytes)
            return EVENTLOG_MORE;
        buf_reserve(&c->chunk, READ_CHUNK);
        ssize_t n =
            pread(c->fd, c->chunk.data + c->chunk.len, READ_CHUNK, c->off + (off_t)c->chunk.len);
        if (n < 0)
            return -errno;
        if (n > 0) {
            c->chunk.len += (size_t)n;
            c->chunk.data[c->chunk.len] = '\0';
            continue;
        }
        if (inode_of(c->live) == c->ino)
            return EVENTLOG_END; /* a partial line stays in chunk until its end is written */
        if (!c->last_look) {
            c->last_look = true;
            continue;
        }
        int r = next_file(c, gap);
        if (r < 0)
            return r == -ENOENT ? EVENTLOG_END : r;
    }
}
