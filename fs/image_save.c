/* fs/image_save.c — `docker save`: the OCI image layout (index.json, oci-layout, blobs) plus
 * Docker's manifest.json and repositories, as docker 25+ writes them. Layers go out as
 * uncompressed tars, decompressed on the fly from the stored blobs. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/map.h"
#include "core/xalloc.h"
#include "fs/decompress.h"
#include "fs/image_archive.h"
#include "fs/manifest.h"
#include "fs/ref.h"
#include "fs/store.h"
#include "fs/tarwrite.h"

/* ---- the plan (reactor) ---- */

static struct save_image *plan_image(struct save_plan *plan, const char *id)
{
    for (size_t i = 0; i < plan->n; i++)
        if (strcmp(plan->images[i].id, id) == 0)
            return &plan->images[i];
    return NULL;
}

static void add_ref(struct save_image *si, const char *ref)
{
    size_t n = 0;
    while (si->refs && si->refs[n])
        n++;
    for (size_t i = 0; i < n; i++)
        if (strcmp(si->refs[i], ref) == 0)
            return;
    si->refs = xrealloc(si->refs, (n + 2) * sizeof(*si->refs));
    si->refs[n] = xstrdup(ref);
    si->refs[n + 1] = NULL;
}

static const char *json_or(const json_t *o, const char *key, const char *dflt)
{
    return json_get_str(o, key) ? json_get_str(o, key) : dflt;
}

static int add_image(struct image_store *is, struct save_plan *plan, struct image *img,
                     const char *ref, struct berth_err **err)
{
    struct save_image *si = plan_image(plan, img->id);
    if (!si) {
        plan->images = xrealloc(plan->images, (plan->n + 1) * sizeof(*plan->images));
        si = &plan->images[plan->n++];
        *si = (struct save_image){.layers = xcalloc(img->nlayers + 1, sizeof(*si->layers)),
                                  .os = xstrdup(json_or(img->config, "os", "linux")),
                                  .arch = xstrdup(json_or(img->config, "architecture", "amd64")),
                                  .variant = xstrdup(json_or(img->config, "variant", ""))};
        memcpy(si->id, img->id, sizeof(si->id));
        for (size_t i = 0; i < img->nlayers; i++) {
            struct layer *l = layer_get(image_store_layers(is), img->layers[i]);
            const char *blob = l ? json_get_str(json_array_get(l->blobs, 0), "Digest") : NULL;
            if (!blob)
                return berth_user_error(err, EIO, "layer %s of image %s has no stored tarball",
                                        img->layers[i], img->id);
            struct save_layer *sl = &si->layers[si->nlayers++];
            memcpy(sl->diff_id, l->diff_id, sizeof(sl->diff_id));
            snprintf(sl->blob, sizeof(sl->blob), "%s", blob);
            sl->tar_size = l->tar_size;
        }
    }
    if (ref)
        add_ref(si, ref);
    return 0;
}

int save_plan_add(struct image_store *is, struct save_plan *plan, const char *name,
                  struct berth_err **err)
{
    struct image_ref r;
    bool parsed = ref_parse(name, REF_NO_DEFAULT_TAG, &r, NULL) == 0;
    bool bare = parsed && !r.tag && !r.digest;
    _cleanup_free_ char *repo = parsed ? ref_name(&r) : NULL;
    _cleanup_free_ char *tagged = parsed && r.tag && !r.digest ? ref_full(&r) : NULL;
    if (parsed)
        ref_free(&r);
    if (bare) { /* a bare name: every tag of that repository */
        _cleanup_strv_ char **refs = image_refs_named(is, repo);
        for (size_t i = 0; refs[i]; i++) {
            struct image *img;
            int rc = image_find(is, refs[i], &img, err);
            if (rc < 0)
                return rc;
            if ((rc = add_image(is, plan, img, refs[i], err)) < 0)
                return rc;
        }
        if (refs[0])
            return 0;
    }
    struct image *img;
    int rc = image_find(is, name, &img, err);
    if (rc < 0)
        return rc;
    /* only a name that is one of the image's tags is recorded; an ID saves it untagged */
    return add_image(is, plan, img, tagged && image_ref_target(is, tagged) ? tagged : NULL, err);
}

void save_plan_free(struct save_plan *plan)
{
    for (size_t i = 0; i < plan->n; i++) {
        struct save_image *si = &plan->images[i];
        for (size_t k = 0; si->refs && si->refs[k]; k++)
            free(si->refs[k]);
        free(si->refs);
        free(si->layers);
        free(si->os);
        free(si->arch);
        free(si->variant);
    }
    free(plan->images);
    memset(plan, 0, sizeof(*plan));
}

/* ---- writing (pool) ---- */

struct saver {
    struct tarw *t;
    struct store *blobs;
    struct map written; /* blob paths already in the archive */
};

static int tar_header(struct saver *sv, const char *path, int64_t size, bool dir,
                      struct berth_err **err)
{
    /* mtime 0: reproducible archives */
    return tarw_header(sv->t, path, dir ? S_IFDIR | 0755 : S_IFREG | 0644, size, 0, err);
}

static int tar_file(struct saver *sv, const char *path, const void *data, size_t len,
                    struct berth_err **err)
{
    if (map_has(&sv->written, path))
        return 0;
    map_put(&sv->written, path, (void *)1);
    int r = tar_header(sv, path, (int64_t)len, false, err);
    return r < 0 ? r : tarw_data(sv->t, data, len, err);
}

static int tar_blob(struct saver *sv, const char *digest, const void *data, size_t len,
                    struct berth_err **err)
{
    _cleanup_free_ char *path = xasprintf("blobs/sha256/%s", digest_hex(digest));
    return tar_file(sv, path, data, len, err);
}

/* Copy the blob in fd into the open archive entry, decompressed; *total counts the output. */
static int copy_decompressed(struct saver *sv, int fd, uint64_t *total, struct berth_err **err)
{
    static __thread char in[1 << 17], out[1 << 18];
    _cleanup_(decompressor_freep) struct decompressor *dz = NULL;
    ssize_t n;
    while ((n = read(fd, in, sizeof(in))) > 0) {
        if (!dz)
            dz = decompressor_new(compression_detect(in, (size_t)n));
        size_t off = 0, made;
        int end;
        do { /* until this input is used up and no output is left inside */
            size_t used;
            end = decompressor_run(dz, in + off, (size_t)n - off, &used, out, sizeof(out), &made,
                                   err);
            if (end < 0)
                return end;
            off += used;
            *total += made;
            int r = tarw_data(sv->t, out, made, err);
            if (r < 0)
                return r;
        } while (!end && (off < (size_t)n || made == sizeof(out)));
        if (end) /* the stream ended: what follows it is not read */
            return 0;
    }
    if (n < 0)
        return berth_error(err, errno, "save: read layer blob");
    return 0;
}

/* A layer as an uncompressed tar, decompressed from its stored blob as it is written. */
static int tar_layer(struct saver *sv, const struct save_layer *l, struct berth_err **err)
{
    _cleanup_free_ char *path = xasprintf("blobs/sha256/%s", digest_hex(l->diff_id));
    if (map_has(&sv->written, path))
        return 0;
    map_put(&sv->written, path, (void *)1);
    _cleanup_free_ char *src = store_blob_path(sv->blobs, l->blob);
    _cleanup_close_ int fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return berth_error(err, errno, "save: open layer blob %s", l->blob);
    uint64_t total = 0;
    int r = tar_header(sv, path, (int64_t)l->tar_size, false, err);
    if (r < 0)
        return r;
    if ((r = copy_decompressed(sv, fd, &total, err)) < 0)
        return r;
    if (total != l->tar_size)
        return berth_user_error(err, EIO,
                                "save: layer %s: its stored tarball has %llu bytes, "
                                "expected %llu",
                                l->diff_id, (unsigned long long)total,
                                (unsigned long long)l->tar_size);
    return 0;
}

struct docs {
    json_t *index;        /* index.json's manifests */
    json_t *docker;       /* manifest.json */
    json_t *repositories; /* repositories */
};

static char *familiar(const char *full, char **tag)
{
    struct image_ref r;
    if (ref_parse(full, REF_NO_DEFAULT_TAG, &r, NULL) < 0)
        return NULL;
    char *name = ref_familiar_name(&r);
    *tag = r.tag ? xstrdup(r.tag) : NULL;
    ref_free(&r);
    return name;
}

/* Index entries (one per tag, or one untagged), manifest.json's entry and repositories. */
static void describe(struct docs *d, const struct save_image *si, const char *man_digest,
                     size_t man_len)
{
    json_t *tags = json_array(), *layers = json_array();
    for (size_t i = 0; i < si->nlayers; i++)
        json_array_append_new(layers,
                              json_sprintf("blobs/sha256/%s", digest_hex(si->layers[i].diff_id)));
    size_t nrefs = 0;
    while (si->refs && si->refs[nrefs])
        nrefs++;
    for (size_t i = 0; i < (nrefs ? nrefs : 1); i++) { /* an untagged image: one bare entry */
        const char *full = nrefs ? si->refs[i] : NULL;
        json_t *entry = json_pack("{ss ss sI}", "mediaType", MT_OCI_MANIFEST, "digest", man_digest,
                                  "size", (json_int_t)man_len);
        char *tag = NULL, *name = full ? familiar(full, &tag) : NULL;
        if (name && tag) {
            json_object_set_new(entry, "annotations",
                                json_pack("{ss ss}", "io.containerd.image.name", full,
                                          "org.opencontainers.image.ref.name", tag));
            json_array_append_new(tags, json_sprintf("%s:%s", name, tag));
            json_t *repo = json_object_get(d->repositories, name);
            if (!repo)
                json_object_set_new(d->repositories, name, repo = json_object());
            json_object_set_new(repo, tag, json_string(digest_hex(si->id)));
        }
        json_array_append_new(d->index, entry);
        free(name);
        free(tag);
    }
    json_array_append_new(d->docker, json_pack("{so so so}", "Config",
                                               json_sprintf("blobs/sha256/%s", digest_hex(si->id)),
                                               "RepoTags", tags, "Layers", layers));
}

static int write_image(struct saver *sv, struct docs *d, const struct save_image *si,
                       struct berth_err **err)
{
    _cleanup_free_ char *config = NULL;
    size_t len;
    int r = store_get(sv->blobs, si->id, &config, &len, err);
    if (r < 0)
        return r;
    if ((r = tar_blob(sv, si->id, config, len, err)) < 0)
        return r;
    _cleanup_json_ json_t *layers = json_array();
    for (size_t i = 0; i < si->nlayers; i++) {
        if ((r = tar_layer(sv, &si->layers[i], err)) < 0)
            return r;
        json_array_append_new(layers, json_pack("{ss ss sI}", "mediaType", MT_OCI_LAYER, "digest",
                                                si->layers[i].diff_id, "size",
                                                (json_int_t)si->layers[i].tar_size));
    }
    _cleanup_json_ json_t *man = json_pack(
        "{si ss s{ss ss sI} sO}", "schemaVersion", 2, "mediaType", MT_OCI_MANIFEST, "config",
        "mediaType", MT_OCI_CONFIG, "digest", si->id, "size", (json_int_t)len, "layers", layers);
    _cleanup_free_ char *text = json_dumps(man, JSON_COMPACT);
    char digest[DIGEST_LEN + 1];
    digest_buf(text, strlen(text), digest);
    if ((r = tar_blob(sv, digest, text, strlen(text), err)) < 0)
        return r;
    describe(d, si, digest, strlen(text));
    return 0;
}

static int write_doc(struct saver *sv, const char *path, json_t *doc, struct berth_err **err)
{
    _cleanup_free_ char *text = json_dumps(doc, JSON_COMPACT);
    return tar_file(sv, path, text, strlen(text), err);
}

static void saver_release(struct saver *sv)
{
    tarw_free(sv->t);
    map_free(&sv->written);
}

static void docs_release(struct docs *d)
{
    json_decref(d->index);
    json_decref(d->docker);
    json_decref(d->repositories);
}

int save_write(struct store *blobs, const struct save_plan *plan, int fd, struct berth_err **err)
{
    _cleanup_(saver_release) struct saver sv = {.t = tarw_new_fd(fd), .blobs = blobs};
    _cleanup_(docs_release) struct docs d = {
        .index = json_array(), .docker = json_array(), .repositories = json_object()};
    int r = tar_header(&sv, "blobs/", 0, true, err);
    if (r < 0)
        return r;
    if ((r = tar_header(&sv, "blobs/sha256/", 0, true, err)) < 0)
        return r;
    for (size_t i = 0; i < plan->n; i++)
        if ((r = write_image(&sv, &d, &plan->images[i], err)) < 0)
            return r;
    _cleanup_json_ json_t *index = json_pack("{si ss sO}", "schemaVersion", 2, "mediaType",
                                             MT_OCI_INDEX, "manifests", d.index);
    _cleanup_json_ json_t *layout = json_pack("{ss}", "imageLayoutVersion", "1.0.0");
    if ((r = write_doc(&sv, "index.json", index, err)) < 0)
        return r;
    if ((r = write_doc(&sv, "manifest.json", d.docker, err)) < 0)
        return r;
    if ((r = write_doc(&sv, "oci-layout", layout, err)) < 0)
        return r;
    if ((r = write_doc(&sv, "repositories", d.repositories, err)) < 0)
        return r;
    return tarw_finish(sv.t, err);
}
