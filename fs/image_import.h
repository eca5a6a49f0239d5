/* fs/image_import.h — `docker import`: one tarball (plain, gzip or zstd) becomes a one-layer
 * image, with --change instructions and a message in its history. */
#pragma once

#include "core/err.h"
#include "fs/image.h"
#include "fs/unpack.h"

struct import_opts {
    const char *message; /* comment (image and history); NULL: "Imported from SRC" */
    const char *src;     /* "-" for the request body */
    char **changes;      /* Dockerfile instructions, NULL-terminated; may be NULL */
    const char *os, *arch, *variant;
    bool named; /* it gets a name: LastTagTime is set, as dockerd's TagImage does */
};

/* Check the changes before any byte is read, so bad input fails fast. */
int import_check_changes(char **changes, struct berth_err **err);
/* Blocking (bulk pool job): unpack and store the layer, write the config blob and the image
 * metadata. On success *layer and *img are ready for layer_register / image_register. */
int import_tarball(struct image_store *is, unpack_read_fn read, void *ctx,
                   const struct import_opts *o, struct layer **layer, struct image **img,
                   struct berth_err **err);
