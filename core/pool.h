/* core/pool.h — the thread pool for blocking work, in two classes: latency jobs (start, stop,
 * exec) never wait behind bulk jobs (unpack, rm -rf, build steps). Completions return to the
 * reactor thread. */
#pragma once

#include <stdint.h>

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
/* pool_free with a bound, for shutdown: 0 once it is freed; or, when workers are still busy
 * after timeout_ms (a job blocked on something that never answers), their count: they are
 * left running, detached, and the pool and everything their jobs use must stay allocated
 * until the process exits. */
int pool_stop(struct pool *p, uint64_t timeout_ms);
