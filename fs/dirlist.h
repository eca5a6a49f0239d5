/* fs/dirlist.h — reading directories: a DIR made from a descriptor (which is closed when it
 * cannot be made, so no caller leaks it), and the names a directory holds. */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>

/* fdopendir(fd), closing fd when that fails; NULL (errno kept) for fd < 0 too. */
DIR *fs_opendir_fd(int fd);
/* A DIR of its own (its own offset) on the directory path names at dirfd ("." for dirfd's). */
DIR *fs_opendir_at(int dirfd, const char *path);
/* "." or "..": the entries a walk skips. */
bool fs_is_dot(const char *name);
/* The names in the directory at dirfd/path but . and .., sorted bytewise (Go's walk order):
 * NULL-terminated, never NULL (empty when it cannot be read); *count their number. */
char **fs_list_names(int dirfd, const char *path, size_t *count);
