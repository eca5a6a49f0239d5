/* fs/image.h — the image store: images by ID (the digest of their config blob, kept in the
 * content store), each registered by ROOT/images/<hex>.json once all its layers exist, and
 * the references (name:tag, name@digest) in ROOT/repositories.json, as dockerd keeps them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/digest.h"
#include "core/err.h"
#include "core/map.h"
#include "core/pool.h"
#include "fs/layer.h"
#include "fs/store.h"

struct image {
    char id[DIGEST_LEN + 1];
    json_t *config; /* the parsed config blob */
    json_t *meta;   /* ROOT/images/<hex>.json: Layers, Size, Manifest, Parent; LastTagTime
                     * (kept with the references, in repositories.json) */
    char **layers;  /* chain IDs, base first */
    size_t nlayers;
    uint64_t size;   /* sum of its layers' sizes */
    int64_t created; /* seconds since the epoch, from config.created */
    int users;       /* containers using it (reactor thread) */
};

struct image_store;

/* Blocking, at start-up: loads every registered image whose config and layers exist. */
int image_store_open(const char *root, struct store *blobs, struct layer_store *layers,
                     struct pool *pool, struct image_store **out, struct berth_err **err);
void image_store_close(struct image_store *is);
struct store *image_store_blobs(struct image_store *is);
struct layer_store *image_store_layers(struct image_store *is);

/* Docker's lookup: full or short ID ("sha256:..." or hex prefix), name[:tag] (tag defaults
 * to latest) or name@digest. ENOENT "No such image: NAME" when absent. */
int image_find(struct image_store *is, const char *name, struct image **out,
               struct berth_err **err);
struct image *image_get(struct image_store *is, const char *id);
size_t image_count(struct image_store *is);
/* Iterate: for (size_t i = 0; (img = image_next(is, &i));) */
struct image *image_next(struct image_store *is, size_t *i);

/* Build an image from its config blob (already in the content store). The layers must be
 * in the layer store. Blocking part: image_write (metadata file) in a pool job; then
 * image_register on the reactor. */
int image_load_config(struct image_store *is, const char *id, const char *config_json, size_t len,
                      struct image **out, struct berth_err **err);
int image_write(struct image_store *is, struct image *img, struct berth_err **err);
/* Reactor thread: index it (taking ownership; an image already known wins and img is freed)
 * and reference its layers. */
struct image *image_register(struct image_store *is, struct image *img);
/* Reactor thread: drop from the index and release its layers; returns the image for the
 * caller to delete files and free. */
struct image *image_unregister(struct image_store *is, const char *id);
void image_free(struct image *img);

/* References (full normalised strings: "docker.io/library/busybox:latest",
 * "docker.io/library/busybox@sha256:..."), reactor thread. */
const char *image_ref_target(struct image_store *is, const char *ref);
void image_ref_set(struct image_store *is, const char *ref, const char *id);
bool image_ref_del(struct image_store *is, const char *ref);
/* The references pointing at id, tags (familiar "busybox:latest") or digests
 * (familiar "busybox@sha256:..."); a JSON array of strings, sorted. */
json_t *image_repo_tags(struct image_store *is, const char *id);
json_t *image_repo_digests(struct image_store *is, const char *id);
/* Tag references (full strings) of repository `name` ("docker.io/library/busybox"), any
 * image (NULL-terminated heap array). */
char **image_refs_named(struct image_store *is, const char *name);
/* Full reference strings pointing at id (heap array of heap strings, NULL-terminated). */
char **image_refs_of(struct image_store *is, const char *id);
void image_strv_free(char **v);
/* Make the references durable; done runs on the reactor when they are. */
void image_refs_save(struct image_store *is,
                     void (*done)(void *ctx, int res, const struct berth_err *err), void *ctx);
/* Blobs that work in progress (pulls, loads) has written or will write, which garbage
 * collection must leave alone. Counted; reactor thread. */
void image_pin_blob(struct image_store *is, const char *digest);
void image_unpin_blob(struct image_store *is, const char *digest);
bool image_blob_pinned(struct image_store *is, const char *digest);
/* Work that commits layers and blobs before the image that uses them is registered (pulls,
 * loads, imports) holds the store meanwhile; garbage collection of what no image uses runs
 * only when it is quiet. Reactor thread. */
void image_store_hold(struct image_store *is);
void image_store_release(struct image_store *is);
bool image_store_quiet(const struct image_store *is);
/* Reactor thread: add to the set `used` every blob an image or layer references (configs,
 * manifests, layer tars) and every pinned one: what garbage collection keeps. */
void image_blobs_in_use(struct image_store *is, struct map *used);
/* Blocking: remove ROOT/images/<hex>.json. */
int image_delete_meta(struct image_store *is, const char *id, struct berth_err **err);
