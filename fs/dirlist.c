/* fs/dirlist.c — DIRs from descriptors, and sorted name lists. */
#include "fs/dirlist.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/xalloc.h"

DIR *fs_opendir_fd(int fd)
{
    if (fd < 0)
        return NULL;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return d;
}

DIR *fs_opendir_at(int dirfd, const char *path)
{
    return fs_opendir_fd(openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

bool fs_is_dot(const char *name)
{
    return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

static int by_bytes(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **fs_list_names(int dirfd, const char *path, size_t *count)
{
    DIR *d = fs_opendir_at(dirfd, path);
    size_t n = 0, cap = 8;
    char **names = xcalloc(cap, sizeof(*names));
    for (struct dirent *e; d && (e = readdir(d));) {
        if (fs_is_dot(e->d_name))
            continue;
        if (n + 1 >= cap) {
            cap *= 2;
            names = xrealloc(names, cap * sizeof(*names));
        }
        names[n++] = xstrdup(e->d_name);
        names[n] = NULL;
    }
    if (d)
        closedir(d);
    qsort(names, n, sizeof(*names), by_bytes);
    *count = n;
    return names;
}
