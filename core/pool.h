/* core/pool.h — the thread pool for blocking work, in two classes: latency jobs (start, stop,
 * exec) never wait behind bulk jobs (unpack, rm -rf, build steps). Completions return to the
 * reactor thread. */
#pragma once

#include "core/reactor.h"

enum pool_class { POOL_LATENCY, POOL_BULK };

struct pool_job {
    void (*work)(struct pool_job *job); /* on a worker thread: may block */
    void (*done)(struct pool_job *job); /* on the reactor thread, after work; may be NULL */
    struct reactor_event _ev;
    struct pool_job *_next;
};

/* latency_threads run only latency jobs; bulk_threads run bulk jobs and, when the bulk queue
 * is empty, latency jobs too. 0 picks a default from the CPU count. */
struct pool *pool_new(struct reactor *r, int latency_threads, int bulk_threads);
void pool_submit(struct pool *p, enum pool_class cls, struct pool_job *job);
/* Runs every queued job, joins the workers, and frees the pool. Done callbacks of jobs that
 * finish now are posted to the reactor; they run only if it runs again. */
void pool_free(struct pool *p);
