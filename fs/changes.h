/* fs/changes.h — docker diff: what a container changed, from its overlay upper directory and the
 * layers below it. Blocking (pool). */
#pragma once

#include <stddef.h>

#include <jansson.h>

#include "core/err.h"

enum change_kind { CHANGE_MODIFY = 0, CHANGE_ADD = 1, CHANGE_DELETE = 2 };

/* The changes of upper (an overlay upper directory) over lowers (n layer directories, top first,
 * holding overlay whiteouts and opaque directories as berth unpacks them), as dockerd's naive
 * diff of the container against its image finds them: [{"Path","Kind"}] sorted by path, or
 * JSON null when there are none (dockerd's nil slice). Only the upper directory is walked: what
 * is not in it is the image's, unchanged. */
int changes_list(int upper, const int *lowers, size_t n, json_t **out, struct berth_err **err);
