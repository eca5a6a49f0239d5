/* exec/create.h — POST /containers/create: the request's Config and HostConfig merged with the
 * image's defaults as dockerd merges them, checked with dockerd's words, into a container
 * ready to be stored. */
#pragma once

#include <jansson.h>

#include "core/err.h"
#include "exec/container.h"
#include "fs/image.h"

/* What a user network's EndpointsConfig entry asks for, as c->net_request and c->net_more keep
 * it: {IPv4Address, Aliases, GwPriority} of those given. */
json_t *ctr_endpoint_request(const json_t *ep);
/* Reactor thread, no I/O. name may be NULL (one is generated). warnings gets dockerd's
 * warning strings. On success *out is a container not yet in the store. */
int ctr_build(struct ctr_store *cs, struct image_store *is, const json_t *body, const char *name,
              json_t *warnings, struct container **out, struct berth_err **err);
/* Blocking (pool): check that its HostConfig.Mounts bind sources exist (dockerd's create-time
 * check, EINVAL), make its directory (rw layer dirs, config files) and write container.json. */
int ctr_prepare_dir(struct container *c, struct berth_err **err);
