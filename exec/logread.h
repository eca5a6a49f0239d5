/* exec/logread.h — reading a json-file log for `docker logs`: --tail (found by scanning back
 * from the end, not by decoding everything), --since/--until, --timestamps, Docker's stream
 * frames, and --follow (woken as the writer appends). Reads are short pool jobs; output is
 * paced by the caller. Reactor thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"
#include "core/reactor.h"

struct log_reader_opts {
    bool out, err, follow, timestamps, details, tty;
    int64_t tail;               /* < 0: everything */
    int64_t since_ns, until_ns; /* 0: no bound */
};

struct log_reader_cb {
    /* Formatted output; return false to pause until log_reader_resume. */
    bool (*emit)(void *ctx, const char *data, size_t n);
    /* The end (res 0), or a read error. The reader is gone after it. */
    void (*end)(void *ctx, int res);
    void *ctx;
};

struct log_reader;

/* The followers of one container's log: the writer wakes them as records reach the file, and
 * the container's end finishes them. Followers join only while the log is open: from the
 * start of a run until its last record is in the file. Zero-initialised (closed). */
struct log_followers {
    struct log_reader *head;
    bool open;
};
/* A run begins: more records may come. */
void log_followers_open(struct log_followers *f);
void log_followers_wake(struct log_followers *f);
/* No more records: each follower ends once it has read everything, and a reader that comes
 * later reads to the end and ends. */
void log_followers_finish(struct log_followers *f);

/* Read path (rotated into max_file files) with o; a follower (o->follow) joins f while it is
 * open (f must outlive it or finish it first); otherwise it reads what there is and ends. */
struct log_reader *log_reader_start(struct pool *pool, const char *path, int max_file,
                                    const struct log_reader_opts *o, const struct log_reader_cb *cb,
                                    struct log_followers *f);
/* After emit returned false. */
void log_reader_resume(struct log_reader *lr);
/* The client left: no callback after this. */
void log_reader_cancel(struct log_reader *lr);
