/* exec/caps.h — Linux capabilities for a container process: Docker's default set, --cap-add
 * and --cap-drop (names with or without CAP_, "ALL"), --privileged; computed in the parent and
 * applied in the child with raw syscalls only (async-signal-safe). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"

struct caps {
    uint64_t bounding, effective, permitted, inheritable, ambient; /* bit n = capability n */
};

/* Docker's rules: start from the default set (or all with privileged), apply drops then adds
 * ("ALL" in add or drop), and for a non-root user leave effective/permitted empty unless
 * added explicitly (Docker gives non-root users no effective caps). EINVAL with dockerd's
 * words for unknown names: "invalid CapAdd: unknown capability: \"CAP_FOO\"". */
int caps_compute(bool privileged, const json_t *cap_add, const json_t *cap_drop, bool root_user,
                 struct caps *out, struct berth_err **err);
/* The number of capabilities this kernel knows (CAP_LAST_CAP + 1). */
int caps_last(void);
/* "CAP_CHOWN" for 0, NULL when unknown. */
const char *caps_name(int cap);

/* In the child, async-signal-safe, 0 or -errno. The order matters: caps_drop_bounding while
 * still root (it needs CAP_SETPCAP), caps_keep_across_setuid(true) so permitted caps survive
 * setresuid, then after the user switch caps_apply sets effective, permitted, inheritable and
 * ambient. */
int caps_drop_bounding(const struct caps *c);
int caps_keep_across_setuid(bool keep);
int caps_apply(const struct caps *c);
