/* net/registry/push.c — a push as steps on the reactor, one tag at a time: next_tag → (for each
 * layer: check → mount → start upload → upload) → config → manifest → record the repo
 * digest. Blob bytes come from the content store through a pump. */
#include "net/registry/push.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/pump.h"
#include "core/xalloc.h"
#include "fs/manifest.h"
#include "fs/store.h"
#include "net/registry/download.h"
#include "net/registry/progress.h"
#include "net/registry/regcall.h"

#define MAX_RESPONSE (1u << 20)

struct blob {
    char digest[DIGEST_LEN + 1];
    char chain_id[DIGEST_LEN + 1]; /* its layer's */
    char *media_type;
    int64_t size;
    char *mount_from; /* path of another repository of this registry that has it, or NULL */
    char id[13];
};

struct push {
    struct push_env *env;
    struct image_ref ref;
    char *name; /* docker.io/library/busybox */
    struct reg_ref *sess;
    void (*emit)(void *ctx, json_t *msg);
    void (*done)(void *ctx, int res, const struct berth_err *err);
    void *ctx;
    struct reactor_timer kick;
    char **tags;
    size_t ntags, next_tag;
    /* the image being pushed (copied: it may be deleted meanwhile) */
    char tag[256];
    char id[DIGEST_LEN + 1];
    struct blob *layers;
    size_t nlayers, cur;
    struct buf manifest, config;
    char *manifest_type;
    /* in flight */
    struct regcall *call;
    struct hreq *upload;
    struct pump *pump;
    char *upload_path;
    uint64_t sent;
    bool upload_paused;
};

static void emit(struct push *p, json_t *msg)
{
    p->emit(p->ctx, msg);
    json_decref(msg);
}

static void clear_image(struct push *p)
{
    for (size_t i = 0; i < p->nlayers; i++) {
        free(p->layers[i].media_type);
        free(p->layers[i].mount_from);
    }
    free(p->layers);
    p->layers = NULL;
    p->nlayers = p->cur = 0;
    buf_free(&p->manifest);
    buf_free(&p->config);
    free(p->manifest_type);
    p->manifest_type = NULL;
}

static void stop_transfers(struct push *p)
{
    regcall_cancel(p->call);
    p->call = NULL;
    if (p->pump)
        pump_cancel(p->pump);
    p->pump = NULL;
    if (p->upload)
        hreq_cancel(p->upload);
    p->upload = NULL;
    free(p->upload_path);
    p->upload_path = NULL;
}

static void push_free(struct push *p)
{
    reactor_timer_stop(p->env->r, &p->kick);
    stop_transfers(p);
    clear_image(p);
    image_strv_free(p->tags);
    reg_ref_put(p->sess);
    ref_free(&p->ref);
    free(p->name);
    free(p);
}

static void finish(struct push *p, int res, const struct berth_err *err)
{
    p->done(p->ctx, res, err);
    push_free(p);
}

static void failf(struct push *p, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void failf(struct push *p, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    _cleanup_err_ struct berth_err *err = NULL;
    berth_user_error(&err, status, "%s", msg);
    finish(p, berth_err_code(err), err);
}

/* Fail with a borrowed error (NULL: EIO and the words dflt). */
static void fail_with(struct push *p, const struct berth_err *err, const char *dflt)
{
    _cleanup_err_ struct berth_err *copy = berth_err_dup(err, dflt);
    finish(p, berth_err_code(copy), copy);
}

/* A transport error, or a registry answer other than the expected status. */
static bool check(struct push *p, int res, const struct berth_err *err,
                  const struct regcall_result *r, int want, const char *what)
{
    if (res < 0) {
        fail_with(p, err, "request failed");
        return false;
    }
    if (r->status == want || (want == 202 && r->status == 201))
        return true;
    _cleanup_free_ char *text = regcall_error_text(r);
    failf(p, r->status == 401 || r->status == 403 ? EACCES : EIO, "%s: %s", what, text);
    return false;
}

/* ---- layers ---- */

static void next_layer(struct push *p);
static void push_config(struct push *p);

static struct blob *cur(struct push *p)
{
    return &p->layers[p->cur];
}

/* The registry has the blob in this repository now: a later push to another repository of
 * the registry mounts it from here instead of sending it again, as with dockerd. */
static void remember_repo(struct push *p, const struct blob *b)
{
    struct layer_store *ls = image_store_layers(p->env->images);
    struct layer *l = layer_get(ls, b->chain_id);
    if (l && layer_add_blob(l, b->digest, b->media_type, (uint64_t)b->size, p->name))
        layer_save_later(ls, p->env->pool, l);
}

static void layer_done(struct push *p, const char *status)
{
    remember_repo(p, cur(p));
    emit(p, progress_update(cur(p)->id, status));
    p->cur++;
    next_layer(p);
}

/* "http://127.0.0.1:5000/v2/x/blobs/uploads/uuid?_state=..." → the path and query. */
static char *location_path(const char *loc)
{
    const char *s = strstr(loc, "://");
    if (s)
        s = strchr(s + 3, '/');
    return xstrdup(s ? s : loc);
}

static void upload_done(void *ctx, int res, const struct berth_err *err)
{
    struct push *p = ctx;
    p->upload = NULL;
    if (p->pump) {
        pump_cancel(p->pump);
        p->pump = NULL;
    }
    if (res < 0)
        return fail_with(p, err, "upload failed");
    layer_done(p, "Pushed");
}

static void upload_head(void *ctx, const struct http_msg *resp)
{
    struct push *p = ctx;
    if (resp->status != 201 && resp->status != 204) {
        _cleanup_free_ char *msg = xasprintf("upload of %s refused: %d %s", cur(p)->digest,
                                             resp->status, http_status_text(resp->status));
        hreq_cancel(p->upload);
        p->upload = NULL;
        failf(p, resp->status == 401 || resp->status == 403 ? EACCES : EIO, "%s", msg);
    }
}

static void upload_drain(void *ctx)
{
    struct push *p = ctx;
    if (p->upload_paused && p->pump) {
        p->upload_paused = false;
        pump_resume(p->pump);
    }
}

static int blob_produce(void *arg, int fd, struct berth_err **err)
{
    struct push *p = arg;
    _cleanup_free_ char *path = store_blob_path(image_store_blobs(p->env->images), cur(p)->digest);
    _cleanup_close_ int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return berth_error(err, errno, "open blob %s", cur(p)->digest);
    static __thread char chunk[1 << 18];
    ssize_t n;
    while ((n = read(in, chunk, sizeof(chunk))) > 0)
        for (ssize_t off = 0, w; off < n; off += w)
            if ((w = write(fd, chunk + off, (size_t)(n - off))) < 0)
                return berth_error(err, errno, "send blob %s", cur(p)->digest);
    return n < 0 ? berth_error(err, errno, "read blob %s", cur(p)->digest) : 0;
}

static void blob_data(void *arg, const char *data, size_t n)
{
    struct push *p = arg;
    uint64_t before = p->sent;
    p->sent += n;
    if (!hreq_write(p->upload, data, n)) {
        p->upload_paused = true;
        pump_pause(p->pump);
    }
    if (before / (512 << 10) != p->sent / (512 << 10)) /* a progress line per 512 KiB */
        emit(p, progress_bytes(cur(p)->id, "Pushing", (int64_t)p->sent, cur(p)->size));
}

static void blob_end(void *arg, int res, const struct berth_err *err)
{
    struct push *p = arg;
    p->pump = NULL;
    if (res < 0)
        return fail_with(p, err, "read failed");
    hreq_end(p->upload);
}

static const struct pump_ops blob_ops = {
    .produce = blob_produce, .on_data = blob_data, .on_end = blob_end};

/* PUT the blob's bytes, streamed from the content store, to the upload location. */
static void upload(struct push *p, const char *location)
{
    _cleanup_free_ char *base = location_path(location);
    _cleanup_free_ char *path =
        xasprintf("%s%sdigest=%s", base, strchr(base, '?') ? "&" : "?", cur(p)->digest);
    struct hreq_spec spec = {.method = "PUT",
                             .headers = "Content-Type: application/octet-stream\r\n",
                             .stream_body = true,
                             .stream_len = cur(p)->size,
                             .on_head = upload_head,
                             .on_drain = upload_drain,
                             .on_done = upload_done,
                             .ctx = p};
    _cleanup_err_ struct berth_err *err = NULL;
    p->sent = 0;
    p->upload = reg_request(p->sess->s, path, &spec);
    p->pump = pump_start(p->env->r, p->env->pool, POOL_BULK, &blob_ops, p, &err);
    if (!p->pump)
        fail_with(p, err, "push failed");
}

/* "Mounted from library/busybox": the source's path, as dockerd shows it. */
static char *mounted_from(const char *path)
{
    return xasprintf("Mounted from %s", path);
}

static void upload_started(void *ctx, int res, const struct berth_err *err,
                           struct regcall_result *r)
{
    struct push *p = ctx;
    p->call = NULL;
    if (!check(p, res, err, r, 202, "start blob upload"))
        return;
    if (r->status == 201) { /* the mount worked: nothing to send */
        _cleanup_free_ char *from = mounted_from(cur(p)->mount_from);
        return layer_done(p, from);
    }
    if (!r->location)
        return failf(p, EIO, "the registry started an upload without a Location");
    upload(p, r->location);
}

static void start_upload(struct push *p, bool mount)
{
    struct blob *b = cur(p);
    _cleanup_free_ char *path = mount ? xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s",
                                                  p->ref.path, b->digest, b->mount_from)
                                      : xasprintf("/v2/%s/blobs/uploads/", p->ref.path);
    emit(p, progress_bytes(b->id, "Pushing", 0, b->size));
    p->call = regcall_start(p->sess->s, "POST", path, NULL, "", 0, MAX_RESPONSE, upload_started, p);
}

static void checked_layer(void *ctx, int res, const struct berth_err *err, struct regcall_result *r)
{
    struct push *p = ctx;
    p->call = NULL;
    if (res < 0)
        return fail_with(p, err, "request failed");
    if (r->status == 200)
        return layer_done(p, "Layer already exists");
    start_upload(p, cur(p)->mount_from != NULL);
}

static void next_layer(struct push *p)
{
    if (p->cur == p->nlayers)
        return push_config(p);
    _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", p->ref.path, cur(p)->digest);
    p->call =
        regcall_start(p->sess->s, "HEAD", path, NULL, NULL, 0, MAX_RESPONSE, checked_layer, p);
}

/* ---- config and manifest ---- */

static void next_tag(struct push *p);

static void manifest_put(void *ctx, int res, const struct berth_err *err, struct regcall_result *r)
{
    struct push *p = ctx;
    p->call = NULL;
    if (!check(p, res, err, r, 201, "put manifest"))
        return;
    char digest[DIGEST_LEN + 1];
    digest_buf(p->manifest.data, p->manifest.len, digest);
    _cleanup_free_ char *line =
        xasprintf("%s: digest: %s size: %zu", p->tag, digest, p->manifest.len);
    emit(p, progress_status(NULL, line));
    emit(p, json_pack("{s{} s{ss ss sI}}", "progressDetail", "aux", "Tag", p->tag, "Digest", digest,
                      "Size", (json_int_t)p->manifest.len));
    _cleanup_free_ char *by_digest = xasprintf("%s@%s", p->name, digest);
    image_ref_set(p->env->images, by_digest, p->id); /* as dockerd records the repo digest */
    next_tag(p);
}

static void push_manifest(struct push *p)
{
    _cleanup_free_ char *path = xasprintf("/v2/%s/manifests/%s", p->ref.path, p->tag);
    _cleanup_free_ char *headers = xasprintf("Content-Type: %s\r\n", p->manifest_type);
    p->call = regcall_start(p->sess->s, "PUT", path, headers, p->manifest.data, p->manifest.len,
                            MAX_RESPONSE, manifest_put, p);
}

static void config_put(void *ctx, int res, const struct berth_err *err, struct regcall_result *r)
{
    struct push *p = ctx;
    p->call = NULL;
    if (check(p, res, err, r, 201, "put image config"))
        push_manifest(p);
}

static void config_upload_started(void *ctx, int res, const struct berth_err *err,
                                  struct regcall_result *r)
{
    struct push *p = ctx;
    p->call = NULL;
    if (!check(p, res, err, r, 202, "start config upload"))
        return;
    if (!r->location)
        return failf(p, EIO, "the registry started an upload without a Location");
    _cleanup_free_ char *base = location_path(r->location);
    _cleanup_free_ char *path =
        xasprintf("%s%sdigest=%s", base, strchr(base, '?') ? "&" : "?", p->id);
    p->call = regcall_start(p->sess->s, "PUT", path, "Content-Type: application/octet-stream\r\n",
                            p->config.data, p->config.len, MAX_RESPONSE, config_put, p);
}

static void config_checked(void *ctx, int res, const struct berth_err *err,
                           struct regcall_result *r)
{
    struct push *p = ctx;
    p->call = NULL;
    if (res < 0)
        return fail_with(p, err, "request failed");
    if (r->status == 200)
        return push_manifest(p);
    _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/uploads/", p->ref.path);
    p->call = regcall_start(p->sess->s, "POST", path, NULL, "", 0, MAX_RESPONSE,
                            config_upload_started, p);
}

static void push_config(struct push *p)
{
    _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", p->ref.path, p->id);
    p->call =
        regcall_start(p->sess->s, "HEAD", path, NULL, NULL, 0, MAX_RESPONSE, config_checked, p);
}

/* ---- preparing an image ---- */

struct prep {
    struct pool_job job;
    struct push *p;
    char orig[DIGEST_LEN + 1]; /* the manifest it was pulled with, or "" */
    int res;
    struct berth_err *err;
};

/* The original manifest is pushed as it was when it describes exactly these blobs. */
static bool manifest_matches(const struct push *p, const char *body, size_t len, const char *mt)
{
    struct manifest m;
    if (manifest_parse(body, len, mt, &m, NULL) < 0)
        return false;
    bool same =
        m.kind == MANIFEST_IMAGE && strcmp(m.config.digest, p->id) == 0 && m.nlayers == p->nlayers;
    for (size_t i = 0; same && i < m.nlayers; i++)
        same = strcmp(m.layers[i].digest, p->layers[i].digest) == 0;
    manifest_free(&m);
    return same;
}

static void build_manifest(struct push *p)
{
    json_t *layers = json_array();
    for (size_t i = 0; i < p->nlayers; i++)
        json_array_append_new(layers, json_pack("{ss ss sI}", "mediaType", p->layers[i].media_type,
                                                "digest", p->layers[i].digest, "size",
                                                (json_int_t)p->layers[i].size));
    _cleanup_json_ json_t *m =
        json_pack("{si ss s{ss ss sI} so}", "schemaVersion", 2, "mediaType", MT_OCI_MANIFEST,
                  "config", "mediaType", MT_OCI_CONFIG, "digest", p->id, "size",
                  (json_int_t)p->config.len, "layers", layers);
    char *text = json_dumps(m, JSON_COMPACT);
    buf_reset(&p->manifest);
    buf_puts(&p->manifest, text);
    free(text);
    p->manifest_type = xstrdup(MT_OCI_MANIFEST);
}

static void prep_work(struct pool_job *job)
{
    struct prep *pr = (struct prep *)job;
    struct push *p = pr->p;
    struct store *blobs = image_store_blobs(p->env->images);
    char *data = NULL;
    size_t len = 0;
    pr->res = store_get(blobs, p->id, &data, &len, &pr->err);
    if (pr->res < 0)
        return;
    buf_append(&p->config, data, len);
    free(data);
    data = NULL;
    if (pr->orig[0] && store_get(blobs, pr->orig, &data, &len, NULL) == 0 &&
        manifest_matches(p, data, len, p->manifest_type)) {
        buf_append(&p->manifest, data, len);
    } else {
        free(p->manifest_type);
        build_manifest(p);
    }
    free(data);
}

static void prep_done(struct pool_job *job)
{
    struct prep *pr = (struct prep *)job;
    struct push *p = pr->p;
    int res = pr->res;
    struct berth_err *err = pr->err;
    free(pr);
    if (res < 0) {
        fail_with(p, err, "push failed");
        berth_err_free(err);
        return;
    }
    for (size_t i = p->nlayers; i-- > 0;)
        emit(p, progress_update(p->layers[i].id, "Preparing"));
    for (size_t i = p->nlayers; i-- > 1;)
        emit(p, progress_update(p->layers[i].id, "Waiting"));
    next_layer(p);
}

/* Copy what the push needs from the image and its layers (it may be deleted meanwhile). */
static int copy_image(struct push *p, struct image *img, char orig[DIGEST_LEN + 1],
                      struct berth_err **err)
{
    memcpy(p->id, img->id, sizeof(p->id));
    p->layers = xcalloc(img->nlayers + 1, sizeof(*p->layers));
    for (size_t i = 0; i < img->nlayers; i++) {
        struct layer *l = layer_get(image_store_layers(p->env->images), img->layers[i]);
        json_t *b = l ? json_array_get(l->blobs, 0) : NULL;
        if (!b || !digest_valid(json_get_str(b, "Digest")))
            return berth_user_error(err, EIO, "layer %s has no stored tarball to push",
                                    img->layers[i]);
        struct blob *bl = &p->layers[p->nlayers++];
        snprintf(bl->digest, sizeof(bl->digest), "%s", json_get_str(b, "Digest"));
        memcpy(bl->chain_id, l->chain_id, sizeof(bl->chain_id));
        bl->media_type =
            xstrdup(json_get_str(b, "MediaType") ? json_get_str(b, "MediaType") : MT_OCI_LAYER);
        bl->size = json_get_int(b, "Size", 0);
        progress_short_id(bl->digest, bl->id);
        size_t k;
        json_t *repo;
        size_t dlen = strlen(p->ref.domain);
        json_array_foreach(json_object_get(b, "Repos"), k, repo)
        {
            const char *r = json_string_value(repo);
            if (!bl->mount_from && r && strncmp(r, p->ref.domain, dlen) == 0 && r[dlen] == '/' &&
                strcmp(r + dlen + 1, p->ref.path) != 0) {
                bl->mount_from = xstrdup(r + dlen + 1);
                reg_session_add_scope(p->sess->s, bl->mount_from, "pull");
            }
        }
    }
    orig[0] = '\0';
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(img->meta, "Manifests"), i, m)
    {
        const char *mt = json_get_str(m, "MediaType");
        if (mt && (strcmp(mt, MT_OCI_MANIFEST) == 0 || strcmp(mt, MT_DOCKER_MANIFEST) == 0) &&
            digest_valid(json_get_str(m, "Digest"))) {
            snprintf(orig, DIGEST_LEN + 1, "%s", json_get_str(m, "Digest"));
            p->manifest_type = xstrdup(mt);
        }
    }
    return 0;
}

/* ---- tags ---- */

static void refs_saved(void *ctx, int res, const struct berth_err *err)
{
    struct push *p = ctx;
    finish(p, res, err);
}

static void next_tag(struct push *p)
{
    clear_image(p);
    if (p->next_tag == p->ntags)
        return image_refs_save(p->env->images, refs_saved, p);
    const char *full = p->tags[p->next_tag++];
    const char *colon = strrchr(full, ':');
    snprintf(p->tag, sizeof(p->tag), "%s", colon ? colon + 1 : "latest");
    struct image *img;
    _cleanup_err_ struct berth_err *err = NULL;
    struct prep *pr = xcalloc(1, sizeof(*pr));
    pr->p = p;
    if (image_find(p->env->images, full, &img, &err) < 0 ||
        copy_image(p, img, pr->orig, &err) < 0) {
        free(pr);
        return fail_with(p, err, "push failed");
    }
    pr->job = (struct pool_job){.work = prep_work, .done = prep_done};
    pool_submit(p->env->pool, POOL_LATENCY, &pr->job);
}

static void begin(struct reactor_timer *t)
{
    struct push *p = container_of(t, struct push, kick);
    _cleanup_free_ char *shown = ref_familiar_name(&p->ref);
    _cleanup_free_ char *line = xasprintf("The push refers to repository [%s]", shown);
    emit(p, progress_status(NULL, line));
    next_tag(p);
}

struct push *push_start(struct push_env *env, const struct image_ref *ref,
                        const struct registry_auth *auth, void (*emitfn)(void *ctx, json_t *msg),
                        void (*done)(void *ctx, int res, const struct berth_err *err), void *ctx,
                        struct berth_err **err)
{
    struct image_ref copy = {.domain = xstrdup(ref->domain), .path = xstrdup(ref->path)};
    char *name = ref_name(&copy);
    char **tags;
    if (ref->tag) {
        tags = xcalloc(2, sizeof(*tags));
        tags[0] = xasprintf("%s:%s", name, ref->tag);
    } else {
        tags = image_refs_named(env->images, name); /* docker push -a */
    }
    struct image *img;
    if (!tags[0] || image_find(env->images, tags[0], &img, NULL) < 0) {
        _cleanup_free_ char *shown = ref_familiar_name(&copy);
        berth_user_error(err, ENOENT, "An image does not exist locally with the tag: %s", shown);
        image_strv_free(tags);
        ref_free(&copy);
        free(name);
        return NULL;
    }
    struct push *p = xcalloc(1, sizeof(*p));
    *p = (struct push){.env = env,
                       .ref = copy,
                       .name = name,
                       .emit = emitfn,
                       .done = done,
                       .ctx = ctx,
                       .tags = tags};
    while (p->tags[p->ntags])
        p->ntags++;
    p->sess =
        reg_ref_new(reg_session_new(env->hc, env->rc, copy.domain, copy.path, auth, "pull,push"));
    p->kick.fn = begin;
    reactor_timer_start(env->r, &p->kick, 0);
    return p;
}

void push_cancel(struct push *p)
{
    if (p)
        push_free(p);
}
