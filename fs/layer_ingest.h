/* fs/layer_ingest.h — one streamed pass that turns a layer tarball into a layer: its bytes go
 * to the content store as a blob while they are unpacked, the blob digest and the diff ID are
 * verified, and only then is the layer committed. Pulls, imports and loads all use it. */
#pragma once

#include "core/err.h"
#include "fs/layer.h"
#include "fs/store.h"
#include "fs/unpack.h"

struct ingest_opts {
    const char *digest;     /* expected blob digest, or NULL to accept what arrives */
    const char *diff_id;    /* expected diff ID, or NULL */
    const char *parent;     /* parent chain ID; "" or NULL for a base layer */
    const char *media_type; /* NULL: from the compression found in the stream */
    const char *repo;       /* repository the blob came from, or NULL */
};

/* Blocking (bulk pool job). On success *out is committed on disk, ready for layer_register.
 * On failure nothing is left behind but what a restart removes. Mismatches are EINVAL with
 * Docker's words ("filesystem layer verification failed for digest ..."). */
int layer_ingest(struct store *blobs, struct layer_store *ls, unpack_read_fn read, void *ctx,
                 const struct ingest_opts *o, struct layer **out, struct berth_err **err);
