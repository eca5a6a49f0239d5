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
 * ("ALL" in add or drop; privileged ignores both once they are valid). "All" means every
 * capability the kernel knows that the engine itself holds, as dockerd's GetAllCapabilities.
 * Root gets the set as bounding, effective and permitted, with empty inheritable and ambient
 * sets. A non-root user gets the set as bounding only, plus the capabilities added by name
 * (or the whole set for "ALL") as effective, permitted, inheritable and ambient, so those and
 * only those survive its execve (Docker gives non-root users no effective caps at all).
 * cap_add/cap_drop: JSON arrays of names, a lone string, NULL or null. EINVAL with dockerd's
 * words for unknown names: "invalid CapAdd: unknown capability: \"CAP_FOO\"", and for ones
 * the engine lacks: "... capability not supported by your kernel or not available in the
 * current environment: \"CAP_FOO\"". */
int caps_compute(bool privileged, const json_t *cap_add, const json_t *cap_drop, bool root_user,
                 struct caps *out, struct berth_err **err);
/* The number of capabilities this kernel knows (CAP_LAST_CAP + 1). */
int caps_last(void);
/* "CAP_CHOWN" for 0, NULL when unknown. */
const char *caps_name(int cap);
/* The number of an exact upper-case name ("CAP_SYS_ADMIN"), -1 when unknown. */
int caps_from_name(const char *name);

/* In the child, after the user switch: drop from the bounding set, then set the effective,
 * permitted, inheritable and ambient sets. Returns 0 or -errno. Async-signal-safe (raw
 * syscalls, no allocation, no /proc). Call caps_keep_across_setuid(true) before setresuid so
 * permitted caps survive the switch; caps_apply() makes them effective again as it needs. */
int caps_apply(const struct caps *c);
int caps_keep_across_setuid(bool keep);
