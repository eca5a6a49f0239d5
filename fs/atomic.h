/* fs/atomic.h — atomic state files: a crash at any instant leaves the old content or the new,
 * never a torn file (temp file, fsync, rename, fsync of the directory). */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "core/err.h"

/* The temp files of a write in progress are PATH.tmp-XXXXXX; a crash leaves them behind. */
#define FS_TEMP_INFIX ".tmp-"
/* At start-up, before anything writes again: remove the temp files a crash left in the
 * directory (not below it). Returns how many. */
int fs_sweep_temps(int dirfd);

/* Replace `path` with data[0..len). Blocking (fsync): call it from a pool job or at start-up. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                    struct berth_err **err);
/* The same without the fsyncs: a crash may lose the change but never tears the file. For
 * files rebuilt whenever they are needed (a container's /etc/hosts at each start). */
int fs_write_replace(const char *path, const void *data, size_t len, mode_t mode,
                     struct berth_err **err);
/* Bulk writes that a later fsync or syncfs makes durable: after every FS_WRITEBACK_STEP bytes
 * written, start (not wait for) their writeback, so the disk works while the CPU unpacks and
 * the final sync only waits for the tail. Without it, nothing reaches the disk before the sync
 * (dirty pages stay well under the kernel's thresholds) and the sync writes it all. */
#define FS_WRITEBACK_STEP (4u << 20)
struct fs_writeback {
    off_t start, end; /* written but not yet sent: [start, end) */
};
/* Note [off, off+len) written to fd; sends a step to the disk once one has accumulated. */
void fs_writeback_note(struct fs_writeback *wb, int fd, off_t off, size_t len);
/* Send whatever is left (a file done), if at least min_bytes. */
void fs_writeback_flush(struct fs_writeback *wb, int fd, size_t min_bytes);
/* Read a whole (small) file into a NUL-terminated heap string. */
int fs_read_file(const char *path, char **out, size_t *len, struct berth_err **err);
/* mkdir -p with mode for the directories it creates. */
int fs_mkdir_p(const char *path, mode_t mode, struct berth_err **err);
