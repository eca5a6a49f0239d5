/* fs/treesize.h — the bytes a directory tree holds, as `docker ps -s` counts a container's
 * writable layer: regular files and symlinks, a hard-linked inode once. Blocking: pool jobs. */
#pragma once

#include <stdint.h>

/* 0 for a tree that is missing or empty; entries that vanish while walking are skipped. */
int64_t fs_tree_size(const char *dir);
