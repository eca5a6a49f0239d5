/* fs/copytree.h — a directory's contents copied into another directory as moby's fs.CopyDir
 * copies an image's files into a new volume: regular files, directories, symlinks, device
 * nodes and fifos, hard links kept as links, with owners, modes, times and extended attributes.
 * Every step is relative to an open directory and never follows a symlink, so neither tree can
 * lead the copy outside itself. Blocking (pool). */
#pragma once

#include "core/err.h"

/* Copy everything below the directory src_dirfd into the (normally empty) directory dst_dirfd.
 * An entry that already exists in dst is an error (EEXIST). Extended attributes the
 * destination's file system refuses are skipped. */
int fs_copy_tree(int src_dirfd, int dst_dirfd, struct berth_err **err);

/* Whether the directory dirfd holds no entry (besides . and ..); -errno when unreadable. */
int fs_dir_is_empty(int dirfd);
