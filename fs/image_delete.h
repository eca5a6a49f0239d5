/* fs/image_delete.h — removing images the way dockerd does (`docker rmi`, `image prune`):
 * untag versus delete, conflicts, and freeing layers and blobs nobody else uses. The
 * in-memory change happens at once; image_change_apply makes it durable. */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "core/err.h"
#include "core/labels.h"
#include "core/pool.h"
#include "fs/image.h"

/* Who uses an image, for conflicts (the container module answers; fn NULL: nobody). fn returns
 * a container ID (borrowed) or NULL; *running tells whether that container runs. */
struct image_users {
    const char *(*fn)(void *arg, const char *image_id, bool *running);
    void *arg;
};

/* One thing a deletion did, in order, as dockerd reports them. */
enum image_record_kind { IMAGE_UNTAGGED, IMAGE_DELETED };
struct image_record {
    enum image_record_kind kind;
    char *what;  /* the familiar reference untagged, or the image or layer ID deleted */
    char *image; /* the image untagged or deleted; NULL for a layer */
};

/* What a series of deletions did, and what is left to remove from disk. The caller sets users
 * before the first deletion. */
struct image_change {
    struct image_users users;
    struct image_record *records;
    size_t nrecords;
    char **deleted_ids; /* images whose metadata file goes */
    size_t ndeleted;
    struct layer **layers; /* layers no longer used: trashed, then removed */
    size_t nlayers;
    char **blobs; /* blobs that may now be unused (checked again when applied) */
    size_t nblobs;
    uint64_t reclaimed; /* bytes of the deleted layers, then also of the blobs removed */
    bool refs_changed;
};

/* `docker rmi NAME` (force: -f; prune: also untagged parents). Conflicts are EBUSY with
 * dockerd's words; an unknown name is ENOENT "No such image: NAME". */
int image_delete(struct image_store *is, const char *name, bool force, bool prune,
                 struct image_change *ch, struct berth_err **err);
/* `docker image prune`: dangling images only, or (all) every image no container uses, and
 * only those m selects (created by its `until`, by its labels; m may be NULL: all); then,
 * unless a pull, load or import is under way, the layers and blobs no image uses (what a
 * failed pull left). */
void image_prune(struct image_store *is, bool all, const struct prune_match *m,
                 struct image_change *ch);

/* Make the change durable (references, metadata files, layers trashed, unused blobs removed)
 * and then call done on the reactor with the records and the bytes freed: the deleted layers'
 * files and the blobs actually removed. Trashed layer trees are removed afterwards by a bulk
 * job. Frees the change's contents (records are lent to done, which must not keep them). */
typedef void (*image_change_done_fn)(void *ctx, int res, const struct image_record *records,
                                     size_t nrecords, uint64_t reclaimed,
                                     const struct berth_err *err);
void image_change_apply(struct image_store *is, struct pool *pool, struct image_change *ch,
                        image_change_done_fn done, void *ctx);
/* Frees the contents; users stays, for another series of deletions. */
void image_change_free(struct image_change *ch);
