/* exec/logfile.h — Docker's json-file log driver: each line a container prints becomes
 * {"log":"...\n","stream":"stdout","time":"..."} in ROOT/containers/<id>/<id>-json.log,
 * written asynchronously on the reactor, rotated by max-size/max-file; and the reader behind
 * `docker logs` (tail, since, until, follow). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/pool.h"
#include "core/reactor.h"

enum log_stream { LOG_STDOUT = 1, LOG_STDERR = 2 };

struct log_writer;

/* Blocking (pool): open (creating) the log file for appending; its size goes to *size. */
int log_file_open(const char *path, int64_t *size, struct berth_err **err);
/* Reactor: write to fd (taken). max_size <= 0: never rotate; max_file files are kept, the live
 * one included. */
struct log_writer *log_writer_new(struct reactor *r, struct pool *pool, const char *path, int fd,
                                  int64_t size, int64_t max_size, int max_file);
/* Extra attributes (a JSON object text, copied; NULL: none) written with each record. */
void log_writer_set_attrs(struct log_writer *w, const char *attrs);
/* Bytes the container wrote on a stream; complete lines become records at once, a partial
 * line waits for its end (or 16 KiB, as Docker splits long lines). */
void log_writer_write(struct log_writer *w, enum log_stream s, const char *data, size_t n);
/* The streams ended: flush partial lines. */
void log_writer_flush(struct log_writer *w);
/* fn(arg) runs each time records reach the file (followers read on). */
void log_writer_on_written(struct log_writer *w, void (*fn)(void *arg), void *arg);
/* Close once everything queued is written; done (may be NULL) runs then. */
void log_writer_close(struct log_writer *w, void (*done)(void *arg), void *arg);

/* One decoded record. */
struct log_record {
    enum log_stream stream;
    int64_t time_ns;
    struct buf line;    /* with its trailing newline */
    struct buf details; /* its attrs as `docker logs --details` shows them: k=v,k2=v2 */
};

/* Parse one JSON record line; false when it is not one. */
bool log_record_parse(const char *text, size_t len, struct log_record *rec);
