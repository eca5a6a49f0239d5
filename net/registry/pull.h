/* net/registry/pull.h — `docker pull`: resolve the manifest (and the platform's entry of an index),
 * fetch the config, download missing layers through the shared downloads, then register the
 * image and its references, reporting progress in Docker's JSON messages. */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "core/err.h"
#include "fs/image.h"
#include "fs/ref.h"
#include "net/registry/download.h"
#include "net/registry/hclient.h"
#include "net/registry/registry.h"

struct pull_env {
    struct hclient *hc;
    const struct registry_config *rc;
    struct image_store *images;
    struct pool *pool;
    struct dl_env *dl;
};

struct pull_opts {
    const char *platform;             /* "" or NULL: the host's */
    const struct registry_auth *auth; /* may be NULL */
    bool all_tags;                    /* a name without tag: every tag (docker pull -a) */
};

struct pull;
/* emit(ctx, msg) gets each progress message (borrowed). done(ctx, res, err) runs once, last;
 * an error before the first message means nothing was reported yet (Docker answers it as a
 * plain HTTP error then). No callback runs before pull_start returns; invalid options return
 * NULL with err set and no callback at all. */
struct pull *pull_start(struct pull_env *env, const struct image_ref *ref,
                        const struct pull_opts *opts, void (*emit)(void *ctx, json_t *msg),
                        void (*done)(void *ctx, int res, const struct berth_err *err), void *ctx,
                        struct berth_err **err);
/* The client left: stop, and let downloads nobody else waits for stop too. No callback runs
 * after this. */
void pull_cancel(struct pull *p);
