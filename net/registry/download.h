/* net/registry/download.h — layer downloads shared between pulls: one streamed pass per layer
 * (registry → digest → decompress → unpack → commit) with at most N running at once; a pull
 * subscribes, and a download nobody waits for any more is cancelled and leaves nothing. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/map.h"
#include "core/pool.h"
#include "core/reactor.h"
#include "fs/image.h"
#include "fs/manifest.h"
#include "net/registry/registry.h"

/* A registry session shared by a pull and the downloads it started. */
struct reg_ref {
    struct reg_session *s;
    int refs;
};
struct reg_ref *reg_ref_new(struct reg_session *s);
struct reg_ref *reg_ref_get(struct reg_ref *r);
void reg_ref_put(struct reg_ref *r);

struct dl_env {
    struct reactor *r;
    struct pool *pool;
    struct image_store *images;
    unsigned max_concurrent; /* max-concurrent-downloads (3) */
    unsigned running;
    struct map active;          /* chain id → struct download */
    struct download *wait_head; /* FIFO of downloads waiting for a slot */
    struct download *wait_tail;
};

enum dl_event {
    DL_WAITING,    /* queued behind other downloads */
    DL_PROGRESS,   /* bytes moved: see download_progress */
    DL_DOWNLOADED, /* all bytes received; verifying and extracting continue */
    DL_DONE,       /* the layer is committed: download_layer */
    DL_FAILED,     /* see download_error */
};

struct download;
struct dl_sub {
    void (*on_event)(void *ctx, struct download *d, enum dl_event ev);
    void *ctx;
    struct dl_sub *next; /* the download's list */
};

/* Join the download of the layer with this diff ID on top of parent_chain ("" for a base
 * layer), starting it (or queueing it: download_waiting) if none runs. `layer` is the
 * manifest's descriptor; `repo` the repository path it is fetched from; `source` the full
 * name ("127.0.0.1:5000/ns/img") recorded on the layer for cross-repository mounts when
 * pushing. The subscriber's events run on the reactor. */
struct download *download_join(struct dl_env *env, struct reg_ref *sess, const char *repo,
                               const char *source, const struct descriptor *layer,
                               const char *diff_id, const char *parent_chain, struct dl_sub *sub);
bool download_waiting(const struct download *d);
/* Leave; the last subscriber to leave cancels the download. */
void download_leave(struct download *d, struct dl_sub *sub);

void download_progress(const struct download *d, uint64_t *received, uint64_t *extracted,
                       uint64_t *total);
const struct berth_err *download_error(const struct download *d);
