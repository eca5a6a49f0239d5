/* net/registry/pull.c — one pull as a chain of small asynchronous steps on the reactor:
 * fetch_manifest → (pick platform → fetch_manifest) → fetch_config → join_layers →
 * (downloads) → save_image (pool) → tag → done. Any failure ends it through fail(). */
#include "net/registry/pull.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "fs/layer.h"
#include "fs/manifest.h"
#include "fs/store.h"
#include "net/registry/progress.h"
#include "net/registry/regcall.h"

#define MAX_CONFIG (16u << 20) /* manifests and configs are far smaller */

struct pull;

struct layer_wait {
    struct pull *p;
    struct dl_sub sub;
    struct download *d;
    char id[13];
    bool downloaded;
    bool quiet; /* an earlier layer of the image has the same blob: dockerd shows it once */
};

struct blob_doc { /* a manifest or config kept for the content store */
    char digest[DIGEST_LEN + 1];
    char *media_type;
    struct buf body;
};

struct pull {
    struct pull_env *env;
    struct image_ref ref;
    char *familiar_name;
    char *shown_ref; /* "busybox:latest" for messages */
    struct reg_ref *sess;
    struct platform platform;
    void (*emit)(void *ctx, json_t *msg);
    void (*done)(void *ctx, int res, const struct berth_err *err);
    void *ctx;
    /* the request in flight (manifest, config, tag list) */
    struct regcall *call;
    struct buf body;
    int status;
    char *content_type;
    void (*on_fetched)(struct pull *p);
    /* what was found */
    struct blob_doc index, manifest, config;
    struct manifest man;
    char top_digest[DIGEST_LEN + 1];
    struct layer_wait *layers;
    size_t nlayers, pending;
    /* all tags */
    json_t *tags;
    size_t next_tag;
    bool any_new;
    struct reactor_timer kick; /* starts the work on the next turn, after pull_start returns */
    /* saving */
    struct pool_job job;
    struct image *img;
    bool image_existed;
    int res;
    struct berth_err *err;
};

static void emit(struct pull *p, json_t *msg)
{
    p->emit(p->ctx, msg);
    json_decref(msg);
}

static void free_doc(struct blob_doc *b)
{
    free(b->media_type);
    buf_free(&b->body);
    memset(b, 0, sizeof(*b));
}

static void leave_downloads(struct pull *p)
{
    for (size_t i = 0; i < p->nlayers; i++)
        if (p->layers[i].d) {
            download_leave(p->layers[i].d, &p->layers[i].sub);
            p->layers[i].d = NULL;
        }
}

/* Reset what one image's pull gathered (all-tags pulls run several in a row). */
static void reset_image(struct pull *p)
{
    leave_downloads(p);
    free(p->layers);
    p->layers = NULL;
    p->nlayers = p->pending = 0;
    manifest_free(&p->man);
    free_doc(&p->index);
    free_doc(&p->manifest);
    free_doc(&p->config);
    p->top_digest[0] = '\0';
}

static void pull_free(struct pull *p)
{
    image_store_release(p->env->images);
    reactor_timer_stop(p->env->dl->r, &p->kick);
    regcall_cancel(p->call);
    reset_image(p);
    reg_ref_put(p->sess);
    ref_free(&p->ref);
    free(p->familiar_name);
    free(p->shown_ref);
    buf_free(&p->body);
    free(p->content_type);
    json_decref(p->tags);
    berth_err_free(p->err);
    free(p);
}

static void finish(struct pull *p, int res, const struct berth_err *err)
{
    p->done(p->ctx, res, err);
    pull_free(p);
}

static void fail(struct pull *p, struct berth_err *err)
{
    finish(p, berth_err_code(err), err);
    berth_err_free(err);
}

static void failf(struct pull *p, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void failf(struct pull *p, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    struct berth_err *err = NULL;
    berth_user_error(&err, status, "%s", msg);
    fail(p, err);
}

/* ---- buffered requests ---- */

static char *error_text(struct pull *p)
{
    struct regcall_result r = {.status = p->status, .body = p->body};
    return regcall_error_text(&r);
}

static void on_fetched(void *ctx, int res, const struct berth_err *err, struct regcall_result *r)
{
    struct pull *p = ctx;
    p->call = NULL;
    if (res < 0) {
        return fail(p, berth_err_dup(err, "request failed"));
    }
    buf_free(&p->body);
    p->body = r->body; /* taken: the result's buffer is left empty */
    r->body = (struct buf){0};
    p->status = r->status;
    free(p->content_type);
    p->content_type = take_ptr(r->content_type);
    p->on_fetched(p);
}

static void fetch(struct pull *p, const char *path, const char *accept,
                  void (*then)(struct pull *p))
{
    _cleanup_free_ char *headers = accept ? xasprintf("Accept: %s\r\n", accept) : NULL;
    p->on_fetched = then;
    p->call = regcall_start(p->sess->s, "GET", path, headers, NULL, 0, MAX_CONFIG, on_fetched, p);
}

/* dockerd's words for a manifest the registry would not give. */
static void manifest_failed(struct pull *p, const char *what)
{
    _cleanup_free_ char *text = error_text(p);
    _cleanup_free_ char *shown = ref_familiar(&p->ref);
    if (p->status == 404)
        failf(p, ENOENT, "manifest for %s not found: %s", what ? what : shown, text);
    else if (p->status == 401 || p->status == 403)
        failf(p, EACCES,
              "pull access denied for %s, repository does not exist or may require 'docker "
              "login': %s",
              p->familiar_name, text);
    else
        failf(p, EIO, "error pulling %s: %s", shown, text);
}

/* ---- manifest ---- */

static void fetch_config(struct pull *p);
static void got_manifest(struct pull *p);

static void keep_doc(struct pull *p, struct blob_doc *doc, const char *digest, const char *mt)
{
    free_doc(doc);
    memcpy(doc->digest, digest, sizeof(doc->digest));
    doc->media_type = xstrdup(mt);
    doc->body = p->body;
    p->body = (struct buf){0};
}

/* dockerd's first message, once the manifest is in: "<tag>: Pulling from <path>", the
 * repository path without the registry ("library/alpine"); a pull by digest is keyed by the
 * whole reference ("docker.io/library/alpine@sha256:…"). */
static void pulling_from(struct pull *p)
{
    _cleanup_free_ char *full = p->ref.digest ? ref_full(&p->ref) : NULL;
    _cleanup_free_ char *from = xasprintf("Pulling from %s", p->ref.path);
    emit(p, progress_status(full ? full : p->ref.tag, from));
}

static void fetch_manifest(struct pull *p, const char *reference)
{
    _cleanup_free_ char *path = xasprintf("/v2/%s/manifests/%s", p->ref.path, reference);
    fetch(p, path, manifest_accept(), got_manifest);
}

static void got_manifest(struct pull *p)
{
    struct berth_err *err = NULL;
    char digest[DIGEST_LEN + 1];
    bool nested = p->index.body.len > 0;
    if (p->status != 200)
        return manifest_failed(p, NULL);
    digest_buf(p->body.data, p->body.len, digest);
    const char *want = nested ? NULL : p->ref.digest; /* nested: checked below */
    if (want && strcmp(want, digest) != 0)
        return failf(p, EINVAL, "manifest verification failed for digest %s (got %s)", want,
                     digest);
    struct manifest m;
    if (manifest_parse(p->body.data, p->body.len, p->content_type, &m, &err) < 0)
        return fail(p, err);
    if (!nested) {
        memcpy(p->top_digest, digest, sizeof(digest));
        pulling_from(p);
    }
    if (m.kind == MANIFEST_INDEX) {
        const struct descriptor *d;
        if (nested || manifest_pick(&m, &p->platform, &d, &err) < 0) {
            manifest_free(&m);
            return err ? fail(p, err) : failf(p, EINVAL, "nested manifest index");
        }
        _cleanup_free_ char *chosen = xstrdup(d->digest);
        keep_doc(p, &p->index, digest, m.media_type);
        manifest_free(&m);
        p->man = (struct manifest){0};
        snprintf(p->manifest.digest, sizeof(p->manifest.digest), "%s", chosen);
        return fetch_manifest(p, chosen);
    }
    if (nested && strcmp(p->manifest.digest, digest) != 0) {
        manifest_free(&m);
        return failf(p, EINVAL, "manifest verification failed for digest %s (got %s)",
                     p->manifest.digest, digest);
    }
    keep_doc(p, &p->manifest, digest, m.media_type);
    p->man = m;
    fetch_config(p);
}

/* ---- config and layers ---- */

static void join_layers(struct pull *p);
static void save_image(struct pull *p);

static void got_config(struct pull *p)
{
    char digest[DIGEST_LEN + 1];
    if (p->status != 200) {
        _cleanup_free_ char *text = error_text(p);
        return failf(p, p->status == 404 ? ENOENT : EIO, "error pulling image configuration: %s",
                     text);
    }
    digest_buf(p->body.data, p->body.len, digest);
    if (strcmp(digest, p->man.config.digest) != 0)
        return failf(p, EINVAL, "image config verification failed for digest %s (got %s)",
                     p->man.config.digest, digest);
    keep_doc(p, &p->config, digest, p->man.config.media_type);
    join_layers(p);
}

static void fetch_config(struct pull *p)
{
    if (image_get(p->env->images, p->man.config.digest)) /* nothing to download */
        return save_image(p);
    _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", p->ref.path, p->man.config.digest);
    fetch(p, path, NULL, got_config);
}

static void on_layer_event(void *ctx, struct download *d, enum dl_event ev)
{
    struct layer_wait *w = ctx;
    struct pull *p = w->p;
    uint64_t rec, ext, total;
    download_progress(d, &rec, &ext, &total);
    if (w->quiet && (ev == DL_PROGRESS || ev == DL_DOWNLOADED)) {
        if (ev == DL_DOWNLOADED)
            w->downloaded = true;
    } else if (ev == DL_PROGRESS) {
        emit(p, progress_bytes(w->id, w->downloaded ? "Extracting" : "Downloading",
                               (int64_t)(w->downloaded ? ext : rec), (int64_t)total));
    } else if (ev == DL_DOWNLOADED) {
        w->downloaded = true;
        emit(p, progress_update(w->id, "Verifying Checksum"));
        emit(p, progress_update(w->id, "Download complete"));
    } else if (ev == DL_DONE) {
        w->d = NULL;
        if (!w->quiet)
            emit(p, progress_update(w->id, "Pull complete"));
        if (--p->pending == 0)
            save_image(p);
    } else if (ev == DL_FAILED) {
        w->d = NULL;
        fail(p, berth_err_dup(download_error(d), "download failed"));
    }
}

/* True if a layer below `i`, from `from` up, is the same blob: dockerd downloads a blob once
 * per image and reports it under the first of its layers only. */
static bool same_blob_below(const struct pull *p, size_t from, size_t i)
{
    for (size_t j = from; j < i; j++)
        if (strcmp(p->man.layers[j].digest, p->man.layers[i].digest) == 0)
            return true;
    return false;
}

/* The bottom layers already present show "Already exists" (as dockerd, up to the first one
 * missing); the others join (or start) a download. */
static void join_layers(struct pull *p)
{
    json_error_t je;
    _cleanup_json_ json_t *config = json_loadb(p->config.body.data, p->config.body.len, 0, &je);
    json_t *diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
    if (json_array_size(diff_ids) != p->man.nlayers)
        return failf(p, EINVAL, "invalid image: its config lists %zu diff IDs for %zu layers",
                     json_array_size(diff_ids), p->man.nlayers);
    p->layers = xcalloc(p->man.nlayers + 1, sizeof(*p->layers));
    p->nlayers = p->man.nlayers;
    char parent[DIGEST_LEN + 1] = "", chain[DIGEST_LEN + 1];
    size_t first_missing = p->nlayers;
    for (size_t i = 0; i < p->nlayers; i++) {
        struct layer_wait *w = &p->layers[i];
        const char *diff = json_string_value(json_array_get(diff_ids, i));
        if (!digest_valid(diff))
            return failf(p, EINVAL, "invalid image config: bad diff ID `%s`", diff ? diff : "");
        *w = (struct layer_wait){.p = p, .sub = {.on_event = on_layer_event, .ctx = w}};
        progress_short_id(p->man.layers[i].digest, w->id);
        layer_chain_id(parent, diff, chain);
        if (first_missing == p->nlayers && layer_get(image_store_layers(p->env->images), chain)) {
            emit(p, progress_update(w->id, "Already exists"));
        } else {
            if (first_missing == p->nlayers)
                first_missing = i;
            w->quiet = same_blob_below(p, first_missing, i);
            if (!w->quiet)
                emit(p, progress_update(w->id, "Pulling fs layer"));
            _cleanup_free_ char *source = ref_name(&p->ref);
            w->d = download_join(p->env->dl, p->sess, p->ref.path, source, &p->man.layers[i], diff,
                                 parent, &w->sub);
            p->pending++;
        }
        memcpy(parent, chain, sizeof(parent));
    }
    for (size_t i = 0; i < p->nlayers; i++)
        if (p->layers[i].d && !p->layers[i].quiet && download_waiting(p->layers[i].d))
            emit(p, progress_update(p->layers[i].id, "Waiting"));
    if (p->pending == 0)
        save_image(p);
}

/* ---- saving the image ---- */

static void next_tag(struct pull *p);

static int put_doc(struct pull *p, const struct blob_doc *doc, struct berth_err **err)
{
    char got[DIGEST_LEN + 1];
    if (!doc->body.len)
        return 0;
    return store_put(image_store_blobs(p->env->images), doc->body.data, doc->body.len, doc->digest,
                     got, err);
}

static json_t *manifests_meta(struct pull *p)
{
    json_t *list = json_array();
    const struct blob_doc *docs[] = {&p->manifest, &p->index};
    for (size_t i = 0; i < 2; i++)
        if (docs[i]->body.len)
            json_array_append_new(list, json_pack("{ss ss sI}", "Digest", docs[i]->digest,
                                                  "MediaType", docs[i]->media_type, "Size",
                                                  (json_int_t)docs[i]->body.len));
    return list;
}

/* Manifests and config into the content store, then the image's metadata file. */
static int save_docs(struct pull *p, struct berth_err **err)
{
    struct image_store *is = p->env->images;
    int r = put_doc(p, &p->index, err);
    if (r < 0)
        return r;
    if ((r = put_doc(p, &p->manifest, err)) < 0)
        return r;
    if ((r = put_doc(p, &p->config, err)) < 0)
        return r;
    if (p->image_existed)
        return 0;
    r = image_load_config(is, p->config.digest, p->config.body.data, p->config.body.len, &p->img,
                          err);
    if (r < 0)
        return r;
    json_object_set_new(p->img->meta, "Manifests", manifests_meta(p));
    return image_write(is, p->img, err);
}

/* Pool: the result waits in p for the reactor thread. */
static void save_work(struct pool_job *job)
{
    struct pull *p = container_of(job, struct pull, job);
    p->res = save_docs(p, &p->err);
}

static void tagged(void *ctx, int res, const struct berth_err *err)
{
    struct pull *p = ctx;
    if (res < 0) {
        return fail(p, berth_err_dup(err, "tagging failed"));
    }
    _cleanup_free_ char *digest = xasprintf("Digest: %s", p->top_digest);
    emit(p, progress_status(NULL, digest));
    if (p->tags)
        return next_tag(p);
    _cleanup_free_ char *status = xasprintf(
        "Status: %s for %s", p->image_existed ? "Image is up to date" : "Downloaded newer image",
        p->shown_ref);
    emit(p, progress_status(NULL, status));
    finish(p, 0, NULL);
}

/* Register the image (if new) and point the tag and the repo digest at it. As dockerd, the
 * image is "up to date" when the reference pulled already named it: the tag, or for a pull by
 * digest the digest reference (a digest given with a tag wins: the tag is not stored). */
static void save_done(struct pool_job *job)
{
    struct pull *p = container_of(job, struct pull, job);
    struct image_store *is = p->env->images;
    if (p->res < 0)
        return fail(p, take_ptr(p->err));
    if (p->img)
        image_register(is, take_ptr(p->img));
    _cleanup_free_ char *name = ref_name(&p->ref);
    _cleanup_free_ char *by_digest = xasprintf("%s@%s", name, p->top_digest);
    _cleanup_free_ char *tag_ref =
        p->ref.tag && !p->ref.digest ? xasprintf("%s:%s", name, p->ref.tag) : NULL;
    const char *id = p->man.config.digest;
    const char *before = image_ref_target(is, tag_ref ? tag_ref : by_digest);
    p->image_existed &= before && strcmp(before, id) == 0;
    if (tag_ref)
        image_ref_set(is, tag_ref, id);
    image_ref_set(is, by_digest, id);
    p->any_new |= !p->image_existed;
    image_refs_save(is, tagged, p);
}

static void save_image(struct pull *p)
{
    p->image_existed = image_get(p->env->images, p->man.config.digest) != NULL;
    p->job = (struct pool_job){.work = save_work, .done = save_done};
    pool_submit(p->env->pool, POOL_LATENCY, &p->job);
}

/* ---- start, all tags, cancel ---- */

static void start_image(struct pull *p)
{
    free(p->shown_ref);
    p->shown_ref = ref_familiar(&p->ref);
    fetch_manifest(p, p->ref.digest ? p->ref.digest : p->ref.tag);
}

static void next_tag(struct pull *p)
{
    reset_image(p);
    if (p->next_tag >= json_array_size(p->tags)) {
        _cleanup_free_ char *status = xasprintf(
            "Status: %s for %s", p->any_new ? "Downloaded newer image" : "Image is up to date",
            p->familiar_name);
        emit(p, progress_status(NULL, status));
        return finish(p, 0, NULL);
    }
    free(p->ref.tag);
    p->ref.tag = xstrdup(json_string_value(json_array_get(p->tags, p->next_tag++)));
    start_image(p);
}

static void got_tags(struct pull *p)
{
    if (p->status != 200)
        return manifest_failed(p, p->familiar_name);
    json_error_t je;
    json_t *doc = json_loadb(p->body.data, p->body.len, 0, &je);
    json_t *tags = json_object_get(doc, "tags");
    p->tags = json_is_array(tags) ? json_incref(tags) : json_array();
    json_decref(doc);
    if (json_array_size(p->tags) == 0)
        return failf(p, ENOENT, "no tags found in repository %s", p->familiar_name);
    next_tag(p);
}

static void begin(struct reactor_timer *t)
{
    struct pull *p = container_of(t, struct pull, kick);
    if (!p->ref.tag && !p->ref.digest) { /* docker pull -a */
        _cleanup_free_ char *path = xasprintf("/v2/%s/tags/list", p->ref.path);
        fetch(p, path, NULL, got_tags);
    } else {
        start_image(p);
    }
}

struct pull *pull_start(struct pull_env *env, const struct image_ref *ref,
                        const struct pull_opts *opts, void (*emitfn)(void *ctx, json_t *msg),
                        void (*done)(void *ctx, int res, const struct berth_err *err), void *ctx,
                        struct berth_err **err)
{
    struct platform platform;
    if (platform_parse(opts->platform, &platform, err) < 0)
        return NULL;
    struct pull *p = xcalloc(1, sizeof(*p));
    *p = (struct pull){.env = env, .emit = emitfn, .done = done, .ctx = ctx, .platform = platform};
    image_store_hold(env->images); /* its layers come before its image */
    p->ref = (struct image_ref){.domain = xstrdup(ref->domain),
                                .path = xstrdup(ref->path),
                                .tag = ref->tag ? xstrdup(ref->tag) : NULL,
                                .digest = ref->digest ? xstrdup(ref->digest) : NULL};
    p->familiar_name = ref_familiar_name(&p->ref);
    p->sess = reg_ref_new(
        reg_session_new(env->hc, env->rc, p->ref.domain, p->ref.path, opts->auth, "pull"));
    p->kick.fn = begin;
    reactor_timer_start(env->dl->r, &p->kick, 0);
    return p;
}

void pull_cancel(struct pull *p)
{
    if (p)
        pull_free(p);
}
