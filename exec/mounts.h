/* exec/mounts.h — what shapes a user's mount beyond its source and target, as moby's Linux mount
 * parser and runc read it: bind propagation (-v SRC:DST:rslave, BindOptions.Propagation) and the
 * host-side condition it needs, tmpfs size and mode (--mount type=tmpfs), and Docker's default
 * masked and read-only paths (HostConfig.MaskedPaths / ReadonlyPaths replace them). */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "core/err.h"

/* Docker's default propagation of a bind. */
#define MOUNTS_DEFAULT_PROPAGATION "rprivate"

/* The propagation a -v mode string ("ro,rslave") asks for: its propagation word, else the
 * default. Static string. */
const char *mounts_mode_propagation(const char *mode);
/* The propagation of a HostConfig.Mounts bind: BindOptions.Propagation, else the default. */
const char *mounts_bind_propagation(const json_t *mount);
/* MS_PRIVATE, MS_SLAVE or MS_SHARED, with MS_REC for the r- forms; 0 for an unknown name. */
unsigned long mounts_propagation_flags(const char *name);
/* A shared or rshared bind: the container's root must not be made a slave of the host's. */
bool mounts_propagation_shared(const char *name);

/* dockerd's check of a bind source before it asks for propagation: (r)shared needs the mount
 * the source is on to be shared, (r)slave shared or a slave (read from MOUNTINFO, normally
 * /proc/self/mountinfo). EINVAL in dockerd's words: "path SRC is mounted on MNT but it is not a
 * shared mount" / "... not a shared or slave mount". Blocking. */
int mounts_check_source(const char *mountinfo, const char *src, const char *propagation,
                        struct berth_err **err);

/* moby's ConvertTmpfsOptions: TmpfsOptions {SizeBytes, Mode, Options} (and ReadOnly) as the
 * data of a --tmpfs entry: "ro,mode=1770,size=64m,exec". EINVAL "invalid option: x" or
 * "invalid option array length" for Options beyond exec/noexec. *out heap. */
int mounts_tmpfs_data(const json_t *tmpfs_options, bool ro, char **out, struct berth_err **err);

/* Docker's masked and read-only paths (NULL-terminated). */
extern const char *const mounts_default_masked[];
extern const char *const mounts_default_readonly[];
/* As dockerd at create: an unprivileged container's unset MaskedPaths and ReadonlyPaths are
 * given the defaults, so inspect shows them (and an empty list, from systempaths=unconfined,
 * stays empty). */
void mounts_fill_default_paths(json_t *host_config);
