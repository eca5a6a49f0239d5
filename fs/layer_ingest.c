/* fs/layer_ingest.c — reads through a tee that feeds the blob writer, unpacks, verifies, and
 * commits; the blob is linked into the store only once its digest checks out. */
#include "fs/layer_ingest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "fs/decompress.h"
#include "fs/manifest.h"

#define DRAIN_CHUNK (256u << 10)

struct tee {
    unpack_read_fn read;
    void *ctx;
    struct blob_writer *w;
    unsigned char head[4];
    size_t nhead;
    struct berth_err *err;
};

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

static const char *detected_type(const struct tee *t)
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

static int verify(struct tee *t, const struct ingest_opts *o, const struct unpack_result *ur,
                  char blob[DIGEST_LEN + 1], struct berth_err **err)
{
    int r = store_writer_commit(take_ptr(t->w), o->digest, blob, err);
    if (r < 0 && o->digest && strncmp((*err)->msg, "digest mismatch", 15) == 0) {
        berth_err_freep(err);
        return berth_user_error(err, EINVAL, "filesystem layer verification failed for digest %s",
                                o->digest);
    }
    if (r < 0)
        return r;
    if (o->diff_id && strcmp(ur->diff_id, o->diff_id) != 0)
        return berth_user_error(err, EINVAL,
                                "layer %s: content does not match its diff ID %s "
                                "(got %s)",
                                blob, o->diff_id, ur->diff_id);
    return 0;
}

/* A corrupt blob mostly breaks the decompressor or the tar before its end, and that error
 * would hide the cause. dockerd verifies a blob before extracting it and says so; here the rest
 * of the blob is read (to the blob writer, which hashes it) and a wrong digest is what the
 * caller hears. A source that fails or is cancelled meanwhile leaves the first error. */
static void blame_digest(struct tee *t, const struct ingest_opts *o, struct berth_err **err)
{
    if (!o->digest || !t->w || t->err)
        return;
    _cleanup_free_ char *buf = xmalloc(DRAIN_CHUNK);
    ssize_t n;
    while ((n = tee_read(t, buf, DRAIN_CHUNK)) > 0)
        ;
    char got[DIGEST_LEN + 1];
    if (n < 0)
        return;
    store_writer_digest(t->w, got);
    if (strcmp(got, o->digest) == 0)
        return;
    berth_err_freep(err);
    berth_user_error(err, EINVAL, "filesystem layer verification failed for digest %s", o->digest);
}

static struct layer *new_layer(const struct ingest_opts *o, const struct unpack_result *ur,
                               const char *blob, const char *media_type, uint64_t blob_size)
{
    struct layer *l = xcalloc(1, sizeof(*l));
    memcpy(l->diff_id, ur->diff_id, sizeof(l->diff_id));
    snprintf(l->parent, sizeof(l->parent), "%s", o->parent ? o->parent : "");
    layer_chain_id(l->parent, l->diff_id, l->chain_id);
    l->size = ur->disk_size;
    l->tar_size = ur->tar_size;
    l->blobs = json_array();
    layer_add_blob(l, blob, media_type, blob_size, o->repo);
    return l;
}

static void tee_release(struct tee *t)
{
    store_writer_abort(t->w);
    berth_err_free(t->err);
}

/* Unpack into dfd (the scratch directory tmp's diff) through the tee, verify, and commit. */
static int ingest(struct store *blobs, struct layer_store *ls, struct tee *t, const char *tmp,
                  int dfd, const struct ingest_opts *o, struct layer **out, struct berth_err **err)
{
    struct unpack_result ur;
    char blob[DIGEST_LEN + 1];
    int r = store_writer_new(blobs, &t->w, err);
    if (r < 0)
        return r;
    if ((r = unpack_layer(dfd, tee_read, t, &ur, err)) < 0) {
        if (t->err) {
            berth_err_freep(err); /* the blob write failed: that is the story, not "read failed" */
            *err = take_ptr(t->err);
        } else {
            blame_digest(t, o, err);
        }
        return r;
    }
    uint64_t size = store_writer_size(t->w);
    if ((r = verify(t, o, &ur, blob, err)) < 0)
        return r;
    struct layer *l =
        new_layer(o, &ur, blob, o->media_type ? o->media_type : detected_type(t), size);
    if ((r = layer_commit(ls, tmp, l, err)) < 0) {
        layer_free(l);
        return r;
    }
    *out = l;
    return 0;
}

int layer_ingest(struct store *blobs, struct layer_store *ls, unpack_read_fn read, void *ctx,
                 const struct ingest_opts *o, struct layer **out, struct berth_err **err)
{
    _cleanup_(tee_release) struct tee t = {.read = read, .ctx = ctx};
    _cleanup_free_ char *tmp = NULL;
    _cleanup_close_ int dfd = -1;
    *out = NULL;
    int r = layer_tmp_new(ls, &tmp, &dfd, err);
    if (r < 0)
        return r;
    r = ingest(blobs, ls, &t, tmp, dfd, o, out, err);
    _cleanup_err_ struct berth_err *rm_err = NULL;
    /* whichever step failed, the scratch directory goes (else layers/tmp keeps it till restart) */
    if (r < 0 && layer_rm_tree(tmp, &rm_err) < 0)
        log_warn("layers: %s", rm_err->msg);
    return r;
}
