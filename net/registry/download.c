/* net/registry/download.c — a layer download: the reactor receives the blob into a byte queue, a
 * bulk pool job writes it to the content store and unpacks it as it arrives, and the layer is
 * committed only when both its digest and its diff ID check out. */
#include "net/registry/download.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytequeue.h"
#include "core/cleanup.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "fs/layer.h"
#include "fs/layer_ingest.h"

#define QUEUE_HIGH_WATER (8u << 20) /* bytes received ahead of the unpacker */
#define TICK_MS          100        /* progress reports at most this often */

struct download {
    struct dl_env *env;
    char chain_id[DIGEST_LEN + 1], parent[DIGEST_LEN + 1], diff_id[DIGEST_LEN + 1];
    char digest[DIGEST_LEN + 1];
    char *media_type, *repo, *source;
    int64_t size;
    struct reg_ref *sess;
    struct dl_sub *subs;
    bool waiting, finished, cancelled, paused, bad_status;
    struct download *next_wait;
    struct hreq *req;
    struct bytequeue *q;
    uint64_t received, reported_received, reported_extracted;
    struct reactor_timer tick;
    struct pool_job job;
    struct berth_err *net_err, *job_err;
    struct layer *layer; /* the job's result */
};

struct reg_ref *reg_ref_new(struct reg_session *s)
{
    struct reg_ref *r = xcalloc(1, sizeof(*r));
    r->s = s;
    r->refs = 1;
    return r;
}

struct reg_ref *reg_ref_get(struct reg_ref *r)
{
    r->refs++;
    return r;
}

void reg_ref_put(struct reg_ref *r)
{
    if (r && --r->refs == 0) {
        reg_session_free(r->s);
        free(r);
    }
}

void download_progress(const struct download *d, uint64_t *received, uint64_t *extracted,
                       uint64_t *total)
{
    *received = d->received;
    *extracted = d->q ? bytequeue_consumed(d->q) : (d->finished ? d->received : 0);
    *total = d->size > 0 ? (uint64_t)d->size : 0;
}

const struct berth_err *download_error(const struct download *d)
{
    return d->net_err ? d->net_err : d->job_err;
}

bool download_waiting(const struct download *d)
{
    return d->waiting;
}

static void notify(struct download *d, enum dl_event ev)
{
    for (struct dl_sub *s = d->subs, *next; s; s = next) {
        next = s->next; /* a subscriber may leave from its callback */
        s->on_event(s->ctx, d, ev);
    }
}

static void on_tick(struct reactor_timer *t)
{
    struct download *d = container_of(t, struct download, tick);
    uint64_t rec, ext, total;
    download_progress(d, &rec, &ext, &total);
    if (rec != d->reported_received || ext != d->reported_extracted) {
        d->reported_received = rec;
        d->reported_extracted = ext;
        notify(d, DL_PROGRESS);
    }
    reactor_timer_start(d->env->r, t, TICK_MS);
}

/* ---- network side (reactor) ---- */

static void on_head(void *ctx, const struct http_msg *resp)
{
    struct download *d = ctx;
    if (resp->status == 200)
        return;
    d->bad_status = true;
    berth_user_error(&d->net_err, resp->status == 404 ? ENOENT : EIO, "error pulling layer %s: %s",
                     d->digest,
                     resp->status == 404 ? "unknown blob" : http_status_text(resp->status));
}

static void on_body(void *ctx, const char *data, size_t n)
{
    struct download *d = ctx;
    if (d->bad_status)
        return;
    d->received += n;
    if (!bytequeue_push(d->q, data, n) && d->req) {
        d->paused = true;
        hreq_pause(d->req);
    }
}

static void on_queue_drained(void *arg)
{
    struct download *d = arg;
    if (d->paused && d->req) {
        d->paused = false;
        hreq_resume(d->req);
    }
}

static void on_done(void *ctx, int res, const struct berth_err *err)
{
    struct download *d = ctx;
    d->req = NULL;
    if (res < 0 && !d->net_err)
        d->net_err = berth_err_dup(err, "request failed");
    if (!d->net_err && d->size > 0 && d->received != (uint64_t)d->size)
        d->net_err =
            berth_err_dup(NULL, "short read: the registry sent fewer bytes than announced");
    bytequeue_close(d->q, d->net_err ? -EIO : 0);
    if (!d->net_err)
        notify(d, DL_DOWNLOADED);
}

static void start_request(struct download *d)
{
    _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", d->repo, d->digest);
    struct hreq_spec spec = {.method = "GET",
                             .max_redirects = 10,
                             .on_head = on_head,
                             .on_body = on_body,
                             .on_done = on_done,
                             .ctx = d};
    d->req = reg_request(d->sess->s, path, &spec);
}

/* ---- unpacking side (pool) ---- */

static ssize_t queue_read(void *ctx, void *buf, size_t cap)
{
    struct download *d = ctx;
    return bytequeue_read(d->q, buf, cap);
}

/* Unpack while the bytes arrive; layer_ingest verifies digest and diff ID before committing. */
static void job_work(struct pool_job *job)
{
    struct download *d = container_of(job, struct download, job);
    struct image_store *is = d->env->images;
    struct ingest_opts o = {.digest = d->digest,
                            .diff_id = d->diff_id,
                            .parent = d->parent,
                            .media_type = d->media_type,
                            .repo = d->source};
    layer_ingest(image_store_blobs(is), image_store_layers(is), queue_read, d, &o, &d->layer,
                 &d->job_err);
    bytequeue_release(d->q);
}

/* ---- life cycle (reactor) ---- */

static void start(struct download *d);

static void start_next(struct dl_env *env)
{
    while (env->wait_head && env->running < env->max_concurrent) {
        struct download *d = env->wait_head;
        env->wait_head = d->next_wait;
        if (!env->wait_head)
            env->wait_tail = NULL;
        d->waiting = false;
        start(d);
    }
}

static void download_free(struct download *d)
{
    reactor_timer_stop(d->env->r, &d->tick);
    reg_ref_put(d->sess);
    berth_err_free(d->net_err);
    berth_err_free(d->job_err);
    free(d->media_type);
    free(d->repo);
    free(d->source);
    free(d);
}

static void job_done(struct pool_job *job)
{
    struct download *d = container_of(job, struct download, job);
    struct dl_env *env = d->env;
    if (d->req) { /* unpacking failed first: stop the transfer */
        hreq_cancel(d->req);
        d->req = NULL;
    }
    bytequeue_close(d->q, -ECANCELED);
    bytequeue_release(d->q);
    d->q = NULL;
    d->finished = true;
    env->running--;
    map_del(&env->active, d->chain_id);
    image_unpin_blob(env->images, d->digest);
    if (d->layer && !d->net_err && !d->cancelled) {
        struct layer *l = layer_register(image_store_layers(env->images), d->layer);
        if (l != d->layer) /* a concurrent pull of another image committed it first */
            layer_discard(image_store_layers(env->images), env->pool, d->layer);
        d->layer = l;
        notify(d, DL_DONE);
    } else {
        if (d->layer) /* cancelled after all: nobody wants it */
            layer_discard(image_store_layers(env->images), env->pool, d->layer);
        if (!d->net_err && !d->job_err)
            d->job_err = berth_err_dup(NULL, "unknown error");
        if (!d->cancelled)
            notify(d, DL_FAILED);
    }
    download_free(d);
    start_next(env);
}

static void start(struct download *d)
{
    struct dl_env *env = d->env;
    env->running++;
    d->q = bytequeue_new(env->r, QUEUE_HIGH_WATER, on_queue_drained, d);
    d->job = (struct pool_job){.work = job_work, .done = job_done};
    pool_submit(env->pool, POOL_BULK, &d->job);
    start_request(d);
    d->tick.fn = on_tick;
    reactor_timer_start(env->r, &d->tick, TICK_MS);
}

struct download *download_join(struct dl_env *env, struct reg_ref *sess, const char *repo,
                               const char *source, const struct descriptor *layer,
                               const char *diff_id, const char *parent_chain, struct dl_sub *sub)
{
    char chain[DIGEST_LEN + 1];
    layer_chain_id(parent_chain, diff_id, chain);
    struct download *d = map_get(&env->active, chain);
    if (!d) {
        d = xcalloc(1, sizeof(*d));
        *d = (struct download){.env = env,
                               .sess = reg_ref_get(sess),
                               .size = layer->size,
                               .media_type = xstrdup(layer->media_type),
                               .repo = xstrdup(repo),
                               .source = xstrdup(source)};
        memcpy(d->chain_id, chain, sizeof(chain));
        snprintf(d->parent, sizeof(d->parent), "%s", parent_chain ? parent_chain : "");
        snprintf(d->diff_id, sizeof(d->diff_id), "%s", diff_id);
        memcpy(d->digest, layer->digest, sizeof(d->digest));
        map_put(&env->active, chain, d);
        image_pin_blob(env->images, d->digest);
        if (env->running < env->max_concurrent) {
            start(d);
        } else {
            d->waiting = true;
            if (env->wait_tail)
                env->wait_tail->next_wait = d;
            else
                env->wait_head = d;
            env->wait_tail = d;
        }
    }
    sub->next = d->subs;
    d->subs = sub;
    return d;
}

static void unqueue(struct dl_env *env, struct download *d)
{
    struct download **p = &env->wait_head, *prev = NULL;
    while (*p && *p != d) {
        prev = *p;
        p = &(*p)->next_wait;
    }
    if (*p)
        *p = d->next_wait;
    if (env->wait_tail == d)
        env->wait_tail = prev;
}

void download_leave(struct download *d, struct dl_sub *sub)
{
    for (struct dl_sub **p = &d->subs; *p; p = &(*p)->next)
        if (*p == sub) {
            *p = sub->next;
            break;
        }
    if (d->subs || d->finished || d->cancelled)
        return;
    d->cancelled = true; /* nobody waits: stop, and leave nothing behind */
    if (d->waiting) {
        unqueue(d->env, d);
        map_del(&d->env->active, d->chain_id);
        image_unpin_blob(d->env->images, d->digest);
        download_free(d);
        return;
    }
    if (d->req) {
        hreq_cancel(d->req);
        d->req = NULL;
    }
    bytequeue_close(d->q, -ECANCELED); /* the job fails, cleans up, and job_done frees d */
}
