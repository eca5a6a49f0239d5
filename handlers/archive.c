/* handlers/archive.c — image tarballs in and out: POST /images/create?fromSrc= (docker
 * import), POST /images/load and GET /images/get (docker load / save). Bodies stream
 * through a byte queue to a bulk pool job, never buffered whole. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytequeue.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "fs/image_import.h"
#include "fs/manifest.h"
#include "fs/ref.h"
#include "handlers/api.h"
#include "handlers/daemon.h"

#define BODY_HIGH_WATER (8u << 20)

/* A request body flowing to a pool job. */
struct body_pipe {
    struct api_req *a;
    struct bytequeue *q;
    bool gone; /* the client left: the job's result is dropped */
};

static void body_drained(void *arg)
{
    struct body_pipe *bp = arg;
    if (!bp->gone && bp->a->c)
        http_conn_resume_read(bp->a->c);
}

static void body_data(void *arg, const char *data, ssize_t n)
{
    struct body_pipe *bp = arg;
    if (n <= 0) {
        bytequeue_close(bp->q, 0);
        return;
    }
    if (!bytequeue_push(bp->q, data, (size_t)n) && bp->a->c)
        http_conn_pause_read(bp->a->c);
}

static void body_client_gone(void *arg)
{
    struct body_pipe *bp = arg;
    bp->gone = true;
    bp->a->c = NULL;
    bp->a->msg = NULL;
    bytequeue_close(bp->q, -ECANCELED); /* the job stops reading and cleans up */
}

static void body_pipe_start(struct body_pipe *bp, struct api_req *a)
{
    bp->a = a;
    bp->q = bytequeue_new(a->d->r, BODY_HIGH_WATER, body_drained, bp);
    api_body_sink(a, body_data, bp);
    http_conn_on_close(a->c, body_client_gone, bp);
}

/* Reactor side is done with the queue (the job has its own reference). */
static void body_pipe_stop(struct body_pipe *bp)
{
    bytequeue_close(bp->q, -ECANCELED);
    bytequeue_release(bp->q);
    bp->q = NULL;
    if (bp->a->c)
        http_conn_on_close(bp->a->c, NULL, NULL);
}

static ssize_t body_read(void *ctx, void *buf, size_t cap)
{
    struct body_pipe *bp = ctx;
    return bytequeue_read(bp->q, buf, cap);
}

/* ---- import ---- */

struct import_call {
    struct body_pipe bp;
    struct pool_job job;
    struct import_opts o;
    char *ref;      /* full reference to tag, or NULL */
    char *message;
    struct platform platform;
    struct layer *layer;
    struct image *img;
    int res;
    struct berth_err *err;
};

static void import_free(struct import_call *ic)
{
    http_query_free(ic->o.changes);
    free(ic->ref);
    free(ic->message);
    berth_err_free(ic->err);
    free(ic);
}

static void import_work(struct pool_job *job)
{
    struct import_call *ic = (struct import_call *)((char *)job - offsetof(struct import_call, job));
    ic->res = import_tarball(ic->bp.a->d->images, body_read, &ic->bp, &ic->o, &ic->layer,
                             &ic->img, &ic->err);
    bytequeue_release(ic->bp.q);
}

static void import_replied(struct import_call *ic)
{
    struct api_req *a = ic->bp.a;
    _cleanup_json_ json_t *msg = json_pack("{ss}", "status", ic->img->id);
    api_stream_begin(a, 200, "application/json");
    api_stream_json(a, msg);
    api_stream_end(a);
    import_free(ic);
}

static void import_tagged(void *ctx, int res, const struct berth_err *err)
{
    struct import_call *ic = ctx;
    if (res < 0) {
        api_reply_error(ic->bp.a, err);
        import_free(ic);
        return;
    }
    import_replied(ic);
}

static void import_done(struct pool_job *job)
{
    struct import_call *ic = (struct import_call *)((char *)job - offsetof(struct import_call, job));
    struct daemon *d = ic->bp.a->d;
    body_pipe_stop(&ic->bp);
    if (ic->res < 0) {
        if (ic->layer)
            layer_discard(d->layers, d->pool, ic->layer);
        api_reply_error(ic->bp.a, ic->err);
        import_free(ic);
        return;
    }
    struct layer *l = layer_register(d->layers, ic->layer);
    if (l != ic->layer)
        layer_discard(d->layers, d->pool, ic->layer);
    ic->img = image_register(d->images, ic->img);
    if (!ic->ref)
        return import_replied(ic);
    image_ref_set(d->images, ic->ref, ic->img->id);
    image_refs_save(d->images, import_tagged, ic);
}

/* repo and tag name the new image; repo may carry the tag itself. */
static int import_reference(struct api_req *a, char **full, struct berth_err **err)
{
    _cleanup_free_ char *repo = http_query_get(a->msg, "repo");
    _cleanup_free_ char *tag = http_query_get(a->msg, "tag");
    *full = NULL;
    if (!repo || !*repo)
        return 0;
    struct image_ref r;
    int rc = ref_parse(repo, REF_NO_DEFAULT_TAG, &r, err);
    if (rc < 0)
        return rc;
    if (r.digest) {
        ref_free(&r);
        return berth_user_error(err, EINVAL, "cannot import digest reference");
    }
    if (tag && *tag && !r.tag) {
        if (!ref_tag_valid(tag)) {
            ref_free(&r);
            return berth_user_error(err, EINVAL, "invalid tag format");
        }
        r.tag = xstrdup(tag);
    }
    if (!r.tag)
        r.tag = xstrdup("latest");
    *full = ref_full(&r);
    ref_free(&r);
    return 0;
}

void image_import(struct api_req *a, const char *src)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_free_ char *platform = http_query_get(a->msg, "platform");
    if (strcmp(src, "-") != 0)
        return api_reply_errorf(a, 501, "importing from a URL is not supported by berth; "
                                        "pipe the file in with `docker import - NAME`");
    struct import_call *ic = xcalloc(1, sizeof(*ic));
    ic->o.changes = http_query_all(a->msg, "changes");
    ic->message = http_query_get(a->msg, "message");
    if (import_reference(a, &ic->ref, &err) < 0 || import_check_changes(ic->o.changes, &err) < 0 ||
        platform_parse(platform, &ic->platform, &err) < 0) {
        import_free(ic);
        return api_reply_error(a, err);
    }
    ic->o = (struct import_opts){.message = ic->message, .src = src, .changes = ic->o.changes,
                                 .os = ic->platform.os, .arch = ic->platform.arch,
                                 .variant = ic->platform.variant};
    body_pipe_start(&ic->bp, a);
    ic->job = (struct pool_job){.work = import_work, .done = import_done};
    pool_submit(a->d->pool, POOL_BULK, &ic->job);
}
