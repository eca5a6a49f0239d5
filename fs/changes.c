/* fs/changes.c — docker diff. dockerd (overlay2's Changes is its naive diff) walks the whole
 * container and its image side by side; the overlay already knows what changed, so only the
 * upper directory is walked and each of its entries is looked up in the layers below, with
 * the overlay's rules (the first layer holding a name decides; a whiteout hides it; a directory
 * merges with the directories below it until an opaque one). The answers are the naive diff's:
 *   - an entry not below: A (and everything under an added directory: A);
 *   - an entry below too: C when mode, owner, device, capability or (not for a directory) size
 *     and mtime differ; a directory whose contents changed is C as well;
 *   - a whiteout of something below: D; under an opaque directory, every name below that the
 *     directory no longer holds: D. */
#include "fs/changes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs/dirlist.h"
#include "core/cleanup.h"
#include "core/map.h"
#include "core/xalloc.h"

struct change {
    char *path;
    enum change_kind kind;
};

struct differ {
    struct change *v;
    size_t n, cap;
    struct berth_err **err;
};

/* One directory in the layers below: its fds (O_RDONLY), top first, down to an opaque one. */
struct lowers {
    int *fd;
    size_t n;
};

static void lowers_release(struct lowers *lo)
{
    for (size_t i = 0; i < lo->n; i++)
        close(lo->fd[i]);
    free(lo->fd);
    *lo = (struct lowers){0};
}

static void emit(struct differ *d, const char *path, enum change_kind kind)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 64;
        d->v = xrealloc(d->v, d->cap * sizeof(*d->v));
    }
    d->v[d->n++] = (struct change){.path = xstrdup(path), .kind = kind};
}

static bool is_whiteout(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque(int dirfd)
{
    char v[2];
    return fgetxattr(dirfd, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y';
}

/* name under the lower directory lo: its stat in the first layer that holds it (-1: none; else
 * that layer's directory fd), and when it is a directory, that directory in every layer that
 * merges into it (sub, may be NULL). A name missing from a layer may be in one below; a
 * whiteout ends the search, as a non-directory does (below a directory, it is hidden). */
static int lower_child(const struct lowers *lo, const char *name, struct stat *st,
                       struct lowers *sub)
{
    int found = -1;
    for (size_t i = 0; i < lo->n; i++) {
        struct stat s;
        if (fstatat(lo->fd[i], name, &s, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (is_whiteout(&s) || (!S_ISDIR(s.st_mode) && found >= 0))
            return found;
        if (found < 0) {
            *st = s;
            found = lo->fd[i];
        }
        if (!S_ISDIR(s.st_mode) || !sub)
            return found;
        int fd = openat(lo->fd[i], name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return found;
        sub->fd = xrealloc(sub->fd, (sub->n + 1) * sizeof(*sub->fd));
        sub->fd[sub->n++] = fd;
        if (is_opaque(fd))
            return found;
    }
    return found;
}

/* moby's sameFsTime: equal, or the same second with one of them without nanoseconds (a tar
 * keeps whole seconds). */
static bool same_time(const struct timespec *a, const struct timespec *b)
{
    return (a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec) ||
           (a->tv_sec == b->tv_sec && (a->tv_nsec == 0 || b->tv_nsec == 0));
}

static ssize_t capability(int dirfd, const char *name, char *buf, size_t cap)
{
    char path[4200];
    snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
    return lgetxattr(path, "security.capability", buf, cap);
}

/* moby's statDifferent, and the capability compared as its FileInfo does. */
static bool differs(const struct stat *old, int old_dir, const struct stat *new, int new_dir,
                    const char *name)
{
    if (old->st_mode != new->st_mode || old->st_uid != new->st_uid || old->st_gid != new->st_gid ||
        old->st_rdev != new->st_rdev)
        return true;
    if (S_ISDIR(new->st_mode))
        return false; /* a directory's size and mtime say nothing (moby#9874) */
    if (!same_time(&old->st_mtim, &new->st_mtim) || old->st_size != new->st_size)
        return true;
    if (!S_ISREG(new->st_mode))
        return false;
    char a[64], b[64];
    ssize_t la = capability(old_dir, name, a, sizeof(a));
    ssize_t lb = capability(new_dir, name, b, sizeof(b));
    return la != lb || (la > 0 && memcmp(a, b, (size_t)la) != 0);
}

/* Under an opaque directory the names below are gone, unless the directory holds them again:
 * each gone name (not whited out further up, which hides it already) is D. */
static void opaque_deletes(struct differ *d, const struct lowers *lo, const struct map *kept,
                           const char *path)
{
    struct map seen = {0};
    for (size_t i = 0; i < lo->n; i++) {
        size_t count;
        _cleanup_strv_ char **names = fs_list_names(lo->fd[i], ".", &count);
        for (size_t k = 0; k < count; k++) {
            if (map_has(&seen, names[k]))
                continue;
            map_put(&seen, names[k], (void *)1); /* the first layer holding it decides */
            struct stat st;
            if (fstatat(lo->fd[i], names[k], &st, AT_SYMLINK_NOFOLLOW) < 0 || is_whiteout(&st) ||
                map_has(kept, names[k]))
                continue;
            _cleanup_free_ char *cpath = xasprintf("%s/%s", path, names[k]);
            emit(d, cpath, CHANGE_DELETE);
        }
    }
    map_free(&seen);
}

/* The changes under the upper directory upfd (the container's path `path`, "" for the root),
 * over lo; *inside when there was any. */
static int walk(struct differ *d, int upfd, const char *path, const struct lowers *lo, bool opaque,
                bool *inside)
{
    size_t count;
    _cleanup_strv_ char **names = fs_list_names(upfd, ".", &count);
    struct map kept = {0};
    int r = 0;
    for (size_t i = 0; i < count && r == 0; i++) {
        const char *name = names[i];
        _cleanup_free_ char *cpath = xasprintf("%s/%s", path, name);
        struct stat st, old;
        if (fstatat(upfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue; /* gone while we looked: a running container */
        if (is_whiteout(&st)) {
            if (lower_child(lo, name, &old, NULL) >= 0) {
                emit(d, cpath, CHANGE_DELETE);
                *inside = true;
            }
            continue;
        }
        map_put(&kept, name, (void *)1);
        _cleanup_(lowers_release) struct lowers sub = {0};
        int holder = lower_child(lo, name, &old, &sub);
        bool found = holder >= 0;
        bool reported = !found || differs(&old, holder, &st, upfd, name);
        if (reported) {
            emit(d, cpath, found ? CHANGE_MODIFY : CHANGE_ADD);
            *inside = true;
        }
        if (!S_ISDIR(st.st_mode))
            continue;
        _cleanup_close_ int child =
            openat(upfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (child < 0)
            continue;
        if (found && !S_ISDIR(old.st_mode))
            lowers_release(&sub); /* it replaced a file: nothing below merges into it */
        bool changed = false;
        r = walk(d, child, cpath, &sub, is_opaque(child), &changed);
        if (changed && !reported) /* moby notes the directory of every change */
            emit(d, cpath, CHANGE_MODIFY);
        *inside |= changed;
    }
    if (r == 0 && opaque) {
        size_t before = d->n;
        opaque_deletes(d, lo, &kept, path);
        *inside |= d->n > before;
    }
    map_free(&kept);
    return r;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct change *)a)->path, ((const struct change *)b)->path);
}

static void differ_release(struct differ *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i].path);
    free(d->v);
}

int changes_list(int upper, const int *lowers, size_t n, json_t **out, struct berth_err **err)
{
    _cleanup_(differ_release) struct differ d = {.err = err};
    _cleanup_(lowers_release) struct lowers lo = {0};
    _cleanup_close_ int up = openat(upper, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (up < 0)
        return berth_error(err, errno, "open the container's upper directory");
    for (size_t i = 0; i < n; i++) {
        int fd = openat(lowers[i], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return berth_error(err, errno, "open a layer of the container's image");
        lo.fd = xrealloc(lo.fd, (lo.n + 1) * sizeof(*lo.fd));
        lo.fd[lo.n++] = fd;
        if (is_opaque(fd))
            break;
    }
    bool changed = false;
    int r = walk(&d, up, "", &lo, is_opaque(up), &changed);
    if (r < 0)
        return r;
    if (d.n == 0) {
        *out = json_null();
        return 0;
    }
    qsort(d.v, d.n, sizeof(*d.v), by_path);
    *out = json_array();
    for (size_t i = 0; i < d.n; i++)
        json_array_append_new(*out, json_pack("{ss si}", "Path", d.v[i].path, "Kind", d.v[i].kind));
    return 0;
}
