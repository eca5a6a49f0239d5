/* fs/atomic.h — atomic state files: a crash at any instant leaves the old content or the new,
 * never a torn file (temp file, fsync, rename, fsync of the directory). */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "core/err.h"

/* Replace `path` with data[0..len). Blocking (fsync): call it from a pool job or at start-up. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                    struct berth_err **err);
/* The same without the fsyncs: a crash may lose the change but never tears the file. For
 * files rebuilt whenever they are needed (a container's /etc/hosts at each start). */
int fs_write_replace(const char *path, const void *data, size_t len, mode_t mode,
                     struct berth_err **err);
/* Read a whole (small) file into a NUL-terminated heap string. */
int fs_read_file(const char *path, char **out, size_t *len, struct berth_err **err);
/* mkdir -p with mode for the directories it creates. */
int fs_mkdir_p(const char *path, mode_t mode, struct berth_err **err);
