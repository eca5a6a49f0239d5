/* handlers/archive.c — image tarballs in and out: POST /images/create?fromSrc= (docker
 * import), POST /images/load and GET /images/get (docker load / save). Bodies stream
 * through a byte queue to a bulk pool job, never buffered whole. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/pump.h"
#include "core/xalloc.h"
#include "fs/image_archive.h"
#include "fs/image_import.h"
#include "fs/manifest.h"
#include "fs/ref.h"
#include "handlers/api.h"
#include "handlers/daemon.h"
#include "handlers/handlers.h"
#include "net/registry/progress.h"

/* ---- import ---- */

struct import_call {
    struct daemon *d;
    struct api_body body;
    struct pool_job job;
    struct import_opts o;
    char *ref; /* full reference to tag, or NULL */
    char *message, *src;
    struct platform platform;
    struct layer *layer;
    struct image *img;
    int res;
    struct berth_err *err;
};

static void import_free(struct import_call *ic)
{
    image_store_release(ic->d->images);
    http_query_free(ic->o.changes);
    free(ic->ref);
    free(ic->message);
    free(ic->src);
    berth_err_free(ic->err);
    free(ic);
}

static void import_work(struct pool_job *job)
{
    struct import_call *ic = container_of(job, struct import_call, job);
    ic->res = import_tarball(ic->body.a->d->images, api_body_read, &ic->body, &ic->o, &ic->layer,
                             &ic->img, &ic->err);
}

/* As dockerd's import: the tag's event first, when it names the image, then the import's. */
static void import_replied(struct import_call *ic)
{
    struct api_req *a = ic->body.a;
    struct events *ev = ic->d->events;
    if (ic->ref) {
        struct image_ref r;
        if (ref_parse(ic->ref, 0, &r, NULL) == 0) {
            _cleanup_free_ char *name = ref_familiar(&r);
            events_image(ev, ic->d->images, ic->img->id, name, "tag");
            ref_free(&r);
        }
    }
    events_image(ev, ic->d->images, ic->img->id, ic->img->id, "import");
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
        api_reply_error(ic->body.a, err);
        import_free(ic);
        return;
    }
    import_replied(ic);
}

static void import_done(struct pool_job *job)
{
    struct import_call *ic = container_of(job, struct import_call, job);
    struct daemon *d = ic->body.a->d;
    api_body_close(&ic->body);
    if (ic->res < 0) {
        if (ic->layer)
            layer_discard(d->layers, d->pool, ic->layer);
        api_reply_error(ic->body.a, ic->err);
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

/* repo and tag name the new image (repo may carry the tag); no repo, no name. */
static int import_reference(struct api_req *a, char **full, struct berth_err **err)
{
    _cleanup_free_ char *repo = http_query_get(a->msg, "repo");
    _cleanup_free_ char *tag = http_query_get(a->msg, "tag");
    _cleanup_ref_ struct image_ref r = {0};
    *full = NULL;
    int rc = ref_parse_repo_tag(repo ? repo : "", tag, &r, err);
    if (rc > 0)
        *full = ref_full(&r);
    return rc < 0 ? rc : 0;
}

void image_import(struct api_req *a, const char *src)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_free_ char *platform = http_query_get(a->msg, "platform");
    if (strcmp(src, "-") != 0)
        return api_reply_errorf(a, 501,
                                "importing from a URL is not supported by berth; "
                                "pipe the file in with `docker import - NAME`");
    struct import_call *ic = xcalloc(1, sizeof(*ic));
    ic->d = a->d;
    image_store_hold(ic->d->images); /* its layer comes before its image */
    ic->o.changes = http_query_all(a->msg, "changes");
    ic->message = http_query_get(a->msg, "message");
    if (import_reference(a, &ic->ref, &err) < 0 || import_check_changes(ic->o.changes, &err) < 0 ||
        platform_parse(platform, &ic->platform, &err) < 0) {
        import_free(ic);
        return api_reply_error(a, err);
    }
    ic->src = xstrdup(src); /* the caller's copy dies with the request handler */
    ic->o = (struct import_opts){.message = ic->message,
                                 .src = ic->src,
                                 .changes = ic->o.changes,
                                 .os = ic->platform.os,
                                 .arch = ic->platform.arch,
                                 .variant = ic->platform.variant,
                                 .named = ic->ref != NULL};
    api_body_open(&ic->body, a);
    ic->job = (struct pool_job){.work = import_work, .done = import_done};
    pool_submit(a->d->pool, POOL_BULK, &ic->job);
}

/* ---- load ---- */

struct load_call {
    struct daemon *d;
    struct api_body body;
    struct pool_job job;
    struct map known; /* chain IDs present at the start */
    struct load_result res;
    int rc;
    struct berth_err *err;
};

static void load_free(struct load_call *lc)
{
    image_store_release(lc->d->images);
    map_free(&lc->known);
    load_result_free(&lc->res);
    berth_err_free(lc->err);
    free(lc);
}

static void note_known(struct layer *l, void *arg)
{
    map_put(arg, l->chain_id, (void *)1);
}

static void load_work(struct pool_job *job)
{
    struct load_call *lc = container_of(job, struct load_call, job);
    lc->rc = load_tarball(lc->body.a->d->images, &lc->known, api_body_read, &lc->body, &lc->res,
                          &lc->err);
}

/* Like dockerd: 200 and the messages, and an error, even one before any image loaded, as the
 * stream's last message; the CLI prints it and fails, docker-py raises ImageLoadError. */
static void load_replied(void *ctx, int res, const struct berth_err *err)
{
    struct load_call *lc = ctx;
    struct api_req *a = lc->body.a;
    api_stream_begin(a, 200, "application/json");
    size_t i;
    json_t *m;
    json_array_foreach(lc->res.messages, i, m)
    {
        _cleanup_json_ json_t *line = json_pack("{s:s+}", "stream", json_string_value(m), "\n");
        api_stream_json(a, line);
    }
    const struct berth_err *failed = lc->rc < 0 ? lc->err : res < 0 ? err : NULL;
    if (failed) {
        _cleanup_json_ json_t *line = progress_error(failed->msg ? failed->msg : "load failed");
        api_stream_json(a, line);
    }
    api_stream_end(a);
    load_free(lc);
}

/* Register what the job committed, even when a later image of the archive failed (the earlier
 * ones are complete, as with dockerd); a layer a concurrent pull committed first wins. */
static void load_done(struct pool_job *job)
{
    struct load_call *lc = container_of(job, struct load_call, job);
    struct daemon *d = lc->body.a->d;
    api_body_close(&lc->body);
    for (size_t i = 0; i < lc->res.nlayers; i++) {
        struct layer *l = lc->res.layers[i];
        if (layer_register(d->layers, l) != l)
            layer_discard(d->layers, d->pool, l);
        lc->res.layers[i] = NULL;
    }
    for (size_t i = 0; i < lc->res.nimages; i++) {
        struct image *img = image_register(d->images, lc->res.images[i]);
        lc->res.images[i] = NULL;
        events_image(d->events, d->images, img->id, img->id, "load"); /* one per image */
    }
    for (size_t i = 0; i + 1 < lc->res.nrefs; i += 2)
        image_ref_set(d->images, lc->res.refs[i], lc->res.refs[i + 1]);
    image_refs_save(d->images, load_replied, lc);
}

void images_load(struct api_req *a)
{
    struct load_call *lc = xcalloc(1, sizeof(*lc));
    lc->d = a->d;
    image_store_hold(lc->d->images); /* its layers and configs come before its images */
    layer_each(a->d->layers, note_known, &lc->known);
    api_body_open(&lc->body, a);
    lc->job = (struct pool_job){.work = load_work, .done = load_done};
    pool_submit(a->d->pool, POOL_BULK, &lc->job);
}

/* ---- save ---- */

/* The tarball is written by a bulk job into a pump; the reactor forwards it to the client,
 * pausing the pump while the client reads slowly. */
struct save_call {
    struct api_req *a;
    struct save_plan plan;
    struct pump *pump;
};

static void save_free(struct save_call *sc)
{
    save_plan_free(&sc->plan);
    free(sc);
}

static int save_produce(void *arg, int fd, struct berth_err **err)
{
    struct save_call *sc = arg;
    return save_write(sc->a->d->blobs, &sc->plan, fd, err);
}

static void save_resume(void *arg)
{
    struct save_call *sc = arg;
    pump_resume(sc->pump);
}

static void save_data(void *arg, const char *data, size_t n)
{
    struct save_call *sc = arg;
    if (!api_stream_write(sc->a, data, n)) {
        pump_pause(sc->pump);
        http_conn_on_drain(sc->a->c, save_resume, sc);
    }
}

static void save_end(void *arg, int res, const struct berth_err *err)
{
    struct save_call *sc = arg;
    http_conn_on_close(sc->a->c, NULL, NULL);
    if (res < 0) { /* mid-stream: all we can do is cut it short */
        log_error("save: %s", err->msg);
        http_conn_close(sc->a->c);
        api_req_free(sc->a);
    } else {
        api_stream_end(sc->a);
    }
    save_free(sc);
}

static void save_client_gone(void *arg)
{
    struct save_call *sc = arg;
    pump_cancel(sc->pump); /* the writer sees EPIPE and stops */
    api_req_free(sc->a);
    save_free(sc);
}

static const struct pump_ops save_ops = {
    .produce = save_produce, .on_data = save_data, .on_end = save_end};

static void save_images(struct api_req *a, char **names)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct save_call *sc = xcalloc(1, sizeof(*sc));
    sc->a = a;
    for (size_t i = 0; names && names[i]; i++)
        if (save_plan_add(a->d->images, &sc->plan, names[i], &err) < 0)
            break;
    if (!err && sc->plan.n == 0)
        berth_user_error(&err, EINVAL, "no images to save: name at least one");
    if (!err)
        sc->pump = pump_start(a->d->r, a->d->pool, POOL_BULK, &save_ops, sc, &err);
    if (err) {
        save_free(sc);
        return api_reply_error(a, err);
    }
    for (size_t i = 0; i < sc->plan.n; i++) /* as dockerd: as each is added to the tarball */
        events_image(a->d->events, a->d->images, sc->plan.images[i].id, sc->plan.images[i].id,
                     "save");
    api_stream_begin(a, 200, "application/x-tar");
    http_conn_on_close(a->c, save_client_gone, sc);
}

void images_save_many(struct api_req *a)
{
    char **names = http_query_all(a->msg, "names");
    save_images(a, names);
    http_query_free(names);
}

void images_save(struct api_req *a)
{
    char *names[] = {a->params[0], NULL};
    save_images(a, names);
}
