/* fs/statefile.c — coalescing durable writes: at most one write job in flight; requests made
 * meanwhile are served by one more write of the newest state, whose waiters are called when
 * it lands. */
#include "fs/statefile.h"

#include <stdlib.h>

#include "core/cleanup.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "fs/atomic.h"

struct waiter {
    uint64_t gen;
    void (*done)(void *ctx, int res, const struct berth_err *err);
    void *ctx;
    struct waiter *next;
};

struct statefile {
    struct pool *pool;
    char *path;
    char *(*snapshot)(void *arg, size_t *len);
    void *arg;
    uint64_t wanted; /* generation asked for most recently */
    bool writing, retiring;
    struct waiter *waiters;
    void (*retired)(void *ctx);
    void *retired_ctx;
    struct {
        struct pool_job job;
        uint64_t gen;
        char *data;
        size_t len;
        int res;
        struct berth_err *err;
    } w; /* the write in flight */
};

static void start_write(struct statefile *sf);

static void write_work(struct pool_job *job)
{
    struct statefile *sf = container_of(job, struct statefile, w.job);
    sf->w.res = fs_write_atomic(sf->path, sf->w.data, sf->w.len, 0600, &sf->w.err);
}

/* Call every waiter covered by the write that just ended, then write again if asked. */
static void write_done(struct pool_job *job)
{
    struct statefile *sf = container_of(job, struct statefile, w.job);
    sf->writing = false;
    free(sf->w.data);
    sf->w.data = NULL;
    struct waiter **p = &sf->waiters;
    while (*p) {
        struct waiter *wt = *p;
        if (wt->gen > sf->w.gen) {
            p = &wt->next;
            continue;
        }
        *p = wt->next;
        if (wt->done)
            wt->done(wt->ctx, sf->w.res, sf->w.err);
        free(wt);
    }
    berth_err_freep(&sf->w.err);
    if (sf->wanted > sf->w.gen)
        start_write(sf);
    else if (sf->retired)
        sf->retired(sf->retired_ctx);
}

static void start_write(struct statefile *sf)
{
    sf->writing = true;
    sf->w.gen = sf->wanted;
    sf->w.data = sf->snapshot(sf->arg, &sf->w.len);
    sf->w.res = 0;
    sf->w.job = (struct pool_job){.work = write_work, .done = write_done};
    pool_submit(sf->pool, POOL_LATENCY, &sf->w.job);
}

struct statefile *statefile_new(struct pool *pool, const char *path,
                                char *(*snapshot)(void *arg, size_t *len), void *arg)
{
    struct statefile *sf = xcalloc(1, sizeof(*sf));
    sf->pool = pool;
    sf->path = xstrdup(path);
    sf->snapshot = snapshot;
    sf->arg = arg;
    return sf;
}

void statefile_save(struct statefile *sf,
                    void (*done)(void *ctx, int res, const struct berth_err *err), void *ctx)
{
    if (sf->retiring) { /* its file is about to go: nothing more is written */
        if (done)
            done(ctx, 0, NULL);
        return;
    }
    struct waiter *wt = xmalloc(sizeof(*wt));
    *wt = (struct waiter){.gen = ++sf->wanted, .done = done, .ctx = ctx, .next = sf->waiters};
    sf->waiters = wt;
    if (!sf->writing)
        start_write(sf);
}

int statefile_save_now(struct statefile *sf, struct berth_err **err)
{
    size_t len;
    _cleanup_free_ char *data = sf->snapshot(sf->arg, &len);
    return fs_write_atomic(sf->path, data, len, 0600, err);
}

void statefile_retire(struct statefile *sf, void (*done)(void *ctx), void *ctx)
{
    if (sf)
        sf->retiring = true;
    if (!sf || !sf->writing)
        return done(ctx);
    sf->retired = done;
    sf->retired_ctx = ctx;
}

void statefile_free(struct statefile *sf)
{
    if (!sf)
        return;
    while (sf->waiters) { /* only at shutdown, after the pool has drained */
        struct waiter *wt = sf->waiters;
        sf->waiters = wt->next;
        free(wt);
    }
    free(sf->w.data);
    free(sf->path);
    free(sf);
}
