/* fs/image_archive.h — image tarballs: `docker save` writes the OCI image layout with
 * Docker's manifest.json beside it (as docker 25+ does), `docker load` reads that, older
 * docker-archive tarballs, and plain OCI layouts. */
#pragma once

#include <stdint.h>

#include <jansson.h>

#include "core/err.h"
#include "core/map.h"
#include "fs/image.h"
#include "fs/unpack.h"

/* ---- save ---- */

struct save_layer {
    char diff_id[DIGEST_LEN + 1];
    char blob[DIGEST_LEN + 1]; /* the stored tar (maybe compressed) it is read from */
    uint64_t tar_size;
};

struct save_image {
    char id[DIGEST_LEN + 1];
    char **refs; /* full references to record (NULL-terminated) */
    struct save_layer *layers;
    size_t nlayers;
    char *os, *arch, *variant;
};

struct save_plan {
    struct save_image *images;
    size_t n;
};

/* Reactor thread: add the image NAME names (a reference adds that tag; a bare name every tag
 * of the repository; an ID the image without tags), copying what the writer needs. */
int save_plan_add(struct image_store *is, struct save_plan *plan, const char *name,
                  struct berth_err **err);
void save_plan_free(struct save_plan *plan);
/* Pool: write the tarball to fd (blocking writes; a closed reader ends it with EPIPE). */
int save_write(struct store *blobs, const struct save_plan *plan, int fd, struct berth_err **err);

/* ---- load ---- */

struct load_result {
    struct layer **layers; /* committed, to register */
    size_t nlayers;
    struct image **images; /* written, to register */
    size_t nimages;
    char **refs; /* pairs: full reference, image id (NULL-terminated) */
    size_t nrefs;
    json_t *messages; /* ["Loaded image: busybox:latest", ...] */
};

/* Pool: read a tarball from `read` and bring its images in. `known` holds the chain IDs
 * present when the load started (a snapshot: the layer index belongs to the reactor). */
int load_tarball(struct image_store *is, const struct map *known, unpack_read_fn read, void *ctx,
                 struct load_result *res, struct berth_err **err);
void load_result_free(struct load_result *res);
