/* net/registry/push.h — `docker push`: for each layer, skip it if the registry has it, mount it
 * from another repository of the same registry if one had it, else upload it; then the config and
 * the manifest (the original bytes for pulled images, so digests survive a round trip). */
#pragma once

#include <jansson.h>

#include "core/err.h"
#include "core/pool.h"
#include "fs/image.h"
#include "fs/ref.h"
#include "net/registry/registry.h"

struct push_env {
    struct reactor *r;
    struct hclient *hc;
    const struct registry_config *rc;
    struct image_store *images;
    struct pool *pool;
};

struct push;
/* ref names the repository and a tag, or no tag: every tag of it (docker push -a). Callbacks
 * as for a pull: emit(msg) for each progress message, then done once. No callback runs before
 * push_start returns; NULL with err when there is nothing to push. */
struct push *push_start(struct push_env *env, const struct image_ref *ref,
                        const struct registry_auth *auth, void (*emit)(void *ctx, json_t *msg),
                        void (*done)(void *ctx, int res, const struct berth_err *err), void *ctx,
                        struct berth_err **err);
void push_cancel(struct push *p);
