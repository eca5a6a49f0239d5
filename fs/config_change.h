/* fs/config_change.h — Dockerfile instructions applied to an image's container config, as
 * `docker import --change` and `docker commit --change` take them (CMD, ENTRYPOINT, ENV,
 * EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR). */
#pragma once

#include <jansson.h>

#include "core/err.h"

/* Apply one instruction line to config (the image config's "config" object). EINVAL with
 * dockerd's words for an unknown or malformed instruction. */
int config_apply_change(json_t *config, const char *line, struct berth_err **err);
/* Apply a NULL-terminated list (NULL: none) in order, as one build: ENTRYPOINT drops an
 * inherited CMD but keeps one that an earlier line of the list set, as dockerd's builder does. */
int config_apply_changes(json_t *config, char *const *lines, struct berth_err **err);
