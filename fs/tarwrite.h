/* fs/tarwrite.h — every tar berth writes goes through here: docker save's image layout, docker
 * export, a commit's layer and docker cp's archive of a path. Headers as moby's go-archive makes
 * them (PAX where one needs it, mtimes in whole seconds, numeric owners, only the
 * security.capability xattr), written by libarchive. Blocking: pool threads. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"

struct tarw;

/* Where the bytes go: all n of them, or -errno (-ECANCELED to stop the writer). */
typedef ssize_t (*tarw_write_fn)(void *ctx, const void *buf, size_t n);

struct tarw *tarw_new(tarw_write_fn write, void *ctx);
/* Blocking writes to fd (a pipe whose reader left shows as EPIPE). */
struct tarw *tarw_new_fd(int fd);
/* The end-of-archive blocks, flushed; nothing is padded past them. */
int tarw_finish(struct tarw *t, struct berth_err **err);
void tarw_free(struct tarw *t);
static inline void tarw_freep(struct tarw **t)
{
    tarw_free(*t);
}

/* One entry from given metadata (docker save's documents); a regular file's size bytes follow
 * through tarw_data. A directory's name gets its trailing '/'. */
int tarw_header(struct tarw *t, const char *name, mode_t mode, int64_t size, int64_t mtime,
                struct berth_err **err);
int tarw_data(struct tarw *t, const void *p, size_t n, struct berth_err **err);

/* How a file tree is walked into the archive. */
struct tarw_walk {
    /* An overlay upper directory (a commit's layer): a whiteout (0:0 character device) becomes
     * an empty ".wh.NAME" file and an opaque directory gets a ".wh..wh..opq" entry, as docker's
     * layer tars have them. */
    bool whiteouts;
    /* Optional: what the directory at rel (relative to the walk's root, "" for the root
     * itself) really is, for a view whose mounts are not mounted (a stopped container's
     * binds): 1 and *fd (an O_PATH fd the walker closes) to read it from there, 0 to read it
     * in place, or an error. */
    int (*substitute)(void *ctx, const char *rel, int *fd, struct berth_err **err);
    void *ctx;
};

/* Add what is at dirfd/base (not followed; base "" for what dirfd itself is, an O_PATH fd of
 * any type) as `name`, and when it is a
 * directory everything under it as name/CHILD, in lexical order as Go's walk gives them. name
 * NULL: no entry for the root, its children are top-level names (docker export). Hard links
 * within the walk become link entries; a directory on a kernel pseudo file system (proc, sysfs,
 * cgroup, ...) is archived empty and a file on one without its bytes, so a container's /proc
 * is never read. What vanishes during the walk is left out (a running container changes). */
int tarw_add_tree(struct tarw *t, int dirfd, const char *base, const char *name,
                  const struct tarw_walk *w, struct berth_err **err);
