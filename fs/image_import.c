/* fs/image_import.c — builds an image from a root filesystem tarball: the tarball is kept as
 * the layer's blob (as it came), unpacked into a new layer, and described by a fresh config. */
#include "fs/image_import.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "fs/config_change.h"
#include "fs/decompress.h"
#include "fs/manifest.h"
#include "fs/store.h"

int import_check_changes(char **changes, struct berth_err **err)
{
    _cleanup_json_ json_t *scratch = json_object();
    for (size_t i = 0; changes && changes[i]; i++) {
        int r = config_apply_change(scratch, changes[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

struct tee {
    unpack_read_fn read;
    void *ctx;
    struct blob_writer *w;
    unsigned char head[4];
    size_t nhead;
    struct berth_err *err;
};

/* Every byte read is also written to the blob; the first ones tell the compression. */
static ssize_t tee_read(void *ctx, void *buf, size_t cap)
{
    struct tee *t = ctx;
    ssize_t n = t->read(t->ctx, buf, cap);
    if (n <= 0)
        return n;
    for (ssize_t i = 0; i < n && t->nhead < sizeof(t->head); i++)
        t->head[t->nhead++] = ((unsigned char *)buf)[i];
    return store_writer_write(t->w, buf, (size_t)n, &t->err) < 0 ? -EIO : n;
}

static const char *layer_media_type(const struct tee *t)
{
    switch (compression_detect(t->head, t->nhead)) {
    case COMPRESSION_GZIP:
        return MT_OCI_LAYER_GZIP;
    case COMPRESSION_ZSTD:
        return MT_OCI_LAYER_ZSTD;
    default:
        return MT_OCI_LAYER;
    }
}

static json_t *import_config(const struct import_opts *o, const char *diff_id,
                             struct berth_err **err)
{
    _cleanup_free_ char *now = time_format_rfc3339(time_now_ns());
    _cleanup_free_ char *comment =
        o->message && *o->message ? xstrdup(o->message) : xasprintf("Imported from %s", o->src);
    json_t *config = json_object();
    for (size_t i = 0; o->changes && o->changes[i]; i++)
        if (config_apply_change(config, o->changes[i], err) < 0) {
            json_decref(config);
            return NULL;
        }
    json_t *c = json_pack("{ss ss ss so s{ss s[s]} s[{ss ss}]}", "architecture", o->arch, "os",
                          o->os, "created", now, "config", config, "rootfs", "type", "layers",
                          "diff_ids", diff_id, "history", "created", now, "comment", comment);
    if (o->variant && *o->variant)
        json_object_set_new(c, "variant", json_string(o->variant));
    return c;
}

/* Unpack the tarball into a new layer while keeping its bytes as the layer's blob. */
static int import_layer(struct image_store *is, struct tee *t, struct layer **out,
                        struct berth_err **err)
{
    struct layer_store *ls = image_store_layers(is);
    _cleanup_free_ char *tmp = NULL;
    _cleanup_close_ int dfd = -1;
    struct unpack_result ur;
    char blob[DIGEST_LEN + 1];
    uint64_t size = 0;
    int r = layer_tmp_new(ls, &tmp, &dfd, err);
    if (r == 0)
        r = store_writer_new(image_store_blobs(is), &t->w, err);
    if (r == 0 && (r = unpack_layer(dfd, tee_read, t, &ur, err)) < 0 && t->err) {
        berth_err_freep(err);
        *err = take_ptr(t->err);
    }
    if (r == 0) {
        size = store_writer_size(t->w);
        r = store_writer_commit(take_ptr(t->w), NULL, blob, err);
    }
    struct layer *l = NULL;
    if (r == 0) {
        l = xcalloc(1, sizeof(*l));
        memcpy(l->chain_id, ur.diff_id, sizeof(l->chain_id));
        memcpy(l->diff_id, ur.diff_id, sizeof(l->diff_id));
        l->size = ur.disk_size;
        l->tar_size = ur.tar_size;
        l->blobs = json_array();
        layer_add_blob(l, blob, layer_media_type(t), size, NULL);
        r = layer_commit(ls, tmp, l, err);
    }
    store_writer_abort(t->w);
    if (r < 0) {
        layer_free(l);
        _cleanup_err_ struct berth_err *rm_err = NULL;
        if (tmp && layer_rm_tree(tmp, &rm_err) < 0)
            log_warn("import: %s", rm_err->msg);
        return r;
    }
    *out = l;
    return 0;
}

int import_tarball(struct image_store *is, unpack_read_fn read, void *ctx,
                   const struct import_opts *o, struct layer **layer, struct image **img,
                   struct berth_err **err)
{
    struct tee t = {.read = read, .ctx = ctx};
    int r = import_layer(is, &t, layer, err);
    berth_err_free(t.err);
    if (r < 0)
        return r;
    _cleanup_json_ json_t *config = import_config(o, (*layer)->diff_id, err);
    if (!config)
        return berth_err_code(*err);
    _cleanup_free_ char *text = json_dumps(config, JSON_COMPACT);
    char id[DIGEST_LEN + 1];
    r = store_put(image_store_blobs(is), text, strlen(text), NULL, id, err);
    if (r == 0)
        r = image_load_config(is, id, text, strlen(text), img, err);
    if (r == 0 && (r = image_write(is, *img, err)) < 0) {
        image_free(*img);
        *img = NULL;
    }
    return r;
}
