/* fs/eventlog.h — the engine's events on disk: one JSON line per event appended to
 * ROOT/events/events.log, rotated at a size bound into events.log.1 (the one older file kept),
 * written by a thread of its own so that the reactor never waits on the disk; and a cursor that
 * reads the two files back in order, a chunk at a time, for replays (pool).
 *
 * The log does not know Docker's shapes, only this contract: every line is a JSON object that
 * ends with its time, `"timeNano":N}` (nanoseconds since the epoch), and times increase from one
 * line to the next, across restarts too (the caller keeps them so, starting from the last time
 * eventlog_open found).
 *
 * What is on disk when: a line handed to eventlog_append is written (write(2)) by the writer
 * within microseconds, in the order given, so a crash of berthd loses only the lines still in
 * the queue at that instant; written lines are fdatasync'ed within sync_ms, so a crash of the
 * machine loses at most that much; a rotation syncs the file and the directory first. A line
 * torn by a crash (no newline) is cut off at the next open. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct eventlog;

struct eventlog_opts {
    size_t file_max;  /* the live file is rotated once it holds this many bytes */
    size_t queue_max; /* bytes waiting for the writer past which new lines are dropped (counted) */
    unsigned sync_ms; /* the longest a written line waits for its fdatasync */
};

/* Blocking, at start-up: create dir if needed, cut a torn last line, find the time of the last
 * line (*last_time, 0 for none) and start the writer. */
int eventlog_open(const char *dir, const struct eventlog_opts *o, struct eventlog **out,
                  int64_t *last_time, struct berth_err **err);
/* Reactor thread: queue one line (ending in '\n') for the file, never blocking. seq numbers
 * increase; a line dropped because the queue is full still counts as done for eventlog_done.
 * Returns false when it was dropped. */
bool eventlog_append(struct eventlog *l, uint64_t seq, const char *line, size_t len);
/* Any thread: the highest seq whose line is in the file (readable by a cursor) or dropped. */
uint64_t eventlog_done(struct eventlog *l);
/* Lines dropped since the start (the queue was full, or a write failed). */
uint64_t eventlog_dropped(struct eventlog *l);
/* Blocking, after the reactor's last turn: write and sync what is queued, stop the writer. */
void eventlog_close(struct eventlog *l);

/* The time of one of the log's lines (with or without its '\n'), -1 when it has none. */
int64_t eventlog_line_time(const char *line, size_t len);

/* ---- reading ---- */

struct eventlog_cursor;

/* A cursor at the oldest line of the log. Used by one thread at a time. */
struct eventlog_cursor *eventlog_cursor_new(const struct eventlog *l);
void eventlog_cursor_free(struct eventlog_cursor *c);

enum eventlog_read_end {
    EVENTLOG_MORE,    /* max_bytes read: call again */
    EVENTLOG_STOPPED, /* fn returned false: that line is read again by the next call */
    EVENTLOG_END,     /* the end of the live file: later lines come with a later call */
};
/* Blocking (pool): call fn for each whole line from the cursor on, oldest first, until
 * max_bytes of lines were passed, fn returns false or the live file ends. *gap is set when the
 * writer rotated away a file the cursor had not finished (lines were lost to it). Returns an
 * eventlog_read_end, or -errno. */
int eventlog_read(struct eventlog_cursor *c, size_t max_bytes,
                  bool (*fn)(void *arg, int64_t t, const char *line, size_t len), void *arg,
                  bool *gap);
