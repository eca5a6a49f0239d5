/* fs/layer.h — unpacked layers (snapshots) indexed by chain ID. Each lives in
 * ROOT/layers/<ID>/ (ID: 26 random characters, files in diff/, metadata in layer.json), with a
 * link ROOT/layers/l/<ID> → ../<ID>/diff that keeps an overlay lowerdir of 125+ layers under
 * the page-size mount-option limit (as overlay2 does). Random directory names mean a layer
 * being committed can never collide with an older copy of it being deleted. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/digest.h"
#include "core/err.h"
#include "core/map.h"
#include "core/pool.h"

#define LAYER_LINK_LEN 26

struct layer {
    char chain_id[DIGEST_LEN + 1];
    char diff_id[DIGEST_LEN + 1];
    char parent[DIGEST_LEN + 1];   /* chain ID of the layer below; "" for a base layer */
    char link[LAYER_LINK_LEN + 1]; /* its directory and link name */
    uint64_t size;                 /* bytes of its regular files */
    uint64_t tar_size;             /* bytes of its uncompressed tar (the diff), for save */
    json_t *blobs;    /* [{"Digest","MediaType","Size","Repos":[...]}]: where its tar is kept */
    char boot_id[40]; /* the boot its files were written in ("" for layers synced at commit) */
    int refs;         /* images and containers using it (reactor thread only) */
};

struct layer_store;

/* Load ROOT/layers (blocking, at start-up). What a crash left (unfinished unpacks and
 * deletions, duplicate copies of a chain, layers lost with the machine) is moved into tmp/,
 * which is quick, for layer_store_take_stale. */
int layer_store_open(const char *root, struct layer_store **out, struct berth_err **err);
/* The paths found stale at open, added to `into` (a set) for removal with layer_rm_tree once
 * the engine serves; the store forgets them. */
void layer_store_take_stale(struct layer_store *ls, struct map *into);
/* Flushes the layers still waiting for the disk, then closes. */
void layer_store_close(struct layer_store *ls);
/* Any pool thread: wait until every layer committed so far is on disk (marked synced).
 * Containers are created only on such layers. */
void layer_store_flush(struct layer_store *ls);
/* Reactor thread: true when a layer of this chain is not yet known to be on disk. */
bool layer_chain_unsynced(struct layer_store *ls, const char *chain_id);
const char *layer_store_dir(const struct layer_store *ls);

/* ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). */
void layer_chain_id(const char *parent_chain, const char *diff_id, char out[DIGEST_LEN + 1]);

/* Reactor thread: the in-memory index. */
struct layer *layer_get(struct layer_store *ls, const char *chain_id);
void layer_ref(struct layer_store *ls, const char *chain_id);
/* Returns the remaining count (0: nothing uses it any more). */
int layer_unref(struct layer_store *ls, const char *chain_id);
/* Adopt a committed layer into the index (takes ownership). Returns the indexed layer: when
 * the chain was already there, the existing one, and l is NOT taken: the caller deletes l's
 * directory (layer_trash) and frees it. */
struct layer *layer_register(struct layer_store *ls, struct layer *l);
/* Drop from the index and return it (the caller trashes its directory and frees it). */
struct layer *layer_forget(struct layer_store *ls, const char *chain_id);
/* Layers nobody references (after images and containers are loaded): for start-up GC. */
struct layer **layer_unused(struct layer_store *ls);
/* Record that the tar of this layer is also stored as a blob (for push, save and reuse), and
 * a repository it came from or went to. True when l->blobs changed. */
bool layer_add_blob(struct layer *l, const char *digest, const char *media_type, uint64_t size,
                    const char *repo);
/* Calls fn for each layer; do not register or forget while iterating. */
void layer_each(struct layer_store *ls, void (*fn)(struct layer *l, void *arg), void *arg);

/* Blocking (pool jobs). A new layer is unpacked into layers/tmp/<random>/diff and becomes
 * visible only when layer_commit renames it into place with its metadata. */
int layer_tmp_new(struct layer_store *ls, char **tmp_dir, int *diff_fd, struct berth_err **err);
int layer_commit(struct layer_store *ls, const char *tmp_dir, struct layer *l,
                 struct berth_err **err);
/* Rewrite a layer's metadata (after layer_add_blob). */
int layer_save(struct layer_store *ls, const struct layer *l, struct berth_err **err);
/* Reactor thread: the same, later, in a bulk pool job. The metadata is serialised now; the
 * store's rewrites run one job at a time and coalesce. A failure is only logged. */
void layer_save_later(struct layer_store *ls, struct pool *pool, const struct layer *l);
/* Deleting: layer_trash moves the directory into layers/tmp and drops its link (fast, latency
 * class); the returned path is then removed with layer_rm_tree (bulk class). */
int layer_trash(struct layer_store *ls, const struct layer *l, char **trash_path,
                struct berth_err **err);
/* Trash and remove an unregistered layer (a losing duplicate, a failed commit) in a bulk pool
 * job, and free l. Reactor thread. */
void layer_discard(struct layer_store *ls, struct pool *pool, struct layer *l);
/* Remove a directory tree without following symlinks (also used for temp dirs). */
int layer_rm_tree(const char *path, struct berth_err **err);

/* "l/AAA:l/BBB:..." from the top layer down, relative to layer_store_dir(); heap string. */
char *layer_lowerdir(struct layer_store *ls, const char *chain_id);
void layer_free(struct layer *l);
