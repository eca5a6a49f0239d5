/* fs/copytree.c — a recursive copy by file descriptors: each directory is opened with
 * O_NOFOLLOW relative to its parent, files are copied with copy_file_range, and the metadata
 * (owner first, since chown clears set-id bits, then mode, extended attributes and times) is
 * set once an entry is whole; a directory's times last, after its children changed them. */
#include "fs/copytree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

struct copy {
    int dst_root;     /* relative paths of hard links are resolved from here */
    struct map links; /* "dev:ino" of a multiply-linked source file -> its copy's path */
};

static int copy_dir(struct copy *cp, int sfd, int dfd, const char *rel);

/* Extended attributes of sfd onto dfd; those the destination refuses are skipped. */
static void copy_xattrs(int sfd, int dfd)
{
    ssize_t n = flistxattr(sfd, NULL, 0);
    if (n <= 0)
        return;
    _cleanup_free_ char *names = xmalloc((size_t)n);
    n = flistxattr(sfd, names, (size_t)n);
    for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(names + off) + 1) {
        const char *name = names + off;
        ssize_t len = fgetxattr(sfd, name, NULL, 0);
        if (len < 0)
            continue;
        _cleanup_free_ char *value = xmalloc((size_t)len + 1);
        len = fgetxattr(sfd, name, value, (size_t)len);
        if (len >= 0)
            (void)fsetxattr(dfd, name, value, (size_t)len, 0); /* ENOTSUP, EPERM: skipped */
    }
}

/* Owner, mode (not for symlinks, which have none of their own) and times of dst/name. */
static int copy_meta(int dfd, const char *name, const struct stat *st)
{
    if (fchownat(dfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (!S_ISLNK(st->st_mode) && fchmodat(dfd, name, st->st_mode & 07777, 0) < 0)
        return -errno;
    const struct timespec times[2] = {st->st_atim, st->st_mtim};
    if (utimensat(dfd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    return 0;
}

static int copy_data(int in, int out)
{
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
        if (n == 0)
            return 0;
        if (n > 0)
            continue;
        if (errno == EINTR)
            continue;
        if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
            return -errno;
        break; /* not between these file systems: copy by hand */
    }
    char buf[65536];
    for (ssize_t n; (n = read(in, buf, sizeof(buf))) != 0;) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return -errno;
            off += w;
        }
    }
    return 0;
}

static int copy_file(int sfd, int dfd, const char *name, const struct stat *st)
{
    _cleanup_close_ int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return -errno;
    _cleanup_close_ int out =
        openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return -errno;
    int r = copy_data(in, out);
    if (r < 0)
        return r;
    copy_xattrs(in, out);
    return copy_meta(dfd, name, st);
}

static int copy_symlink(int sfd, int dfd, const char *name, const struct stat *st)
{
    char target[PATH_MAX];
    ssize_t n = readlinkat(sfd, name, target, sizeof(target) - 1);
    if (n < 0)
        return -errno;
    target[n] = '\0';
    if (symlinkat(target, dfd, name) < 0)
        return -errno;
    return copy_meta(dfd, name, st);
}

static int copy_subdir(struct copy *cp, int sfd, int dfd, const char *name, const struct stat *st,
                       const char *rel)
{
    if (mkdirat(dfd, name, 0700) < 0)
        return -errno;
    _cleanup_close_ int s = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    _cleanup_close_ int d = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0 || d < 0)
        return -errno;
    int r = copy_dir(cp, s, d, rel);
    if (r < 0)
        return r;
    copy_xattrs(s, d);
    return copy_meta(dfd, name, st); /* after the children: they changed its mtime */
}

/* A file whose inode was copied before under another name becomes a hard link to that copy. */
static bool linked(struct copy *cp, int dfd, const char *name, const struct stat *st,
                   const char *rel, int *res)
{
    if (S_ISDIR(st->st_mode) || st->st_nlink < 2)
        return false;
    char key[48];
    snprintf(key, sizeof(key), "%llx:%llx", (unsigned long long)st->st_dev,
             (unsigned long long)st->st_ino);
    const char *first = map_get(&cp->links, key);
    if (!first) {
        map_put(&cp->links, key, xstrdup(rel));
        return false;
    }
    *res = linkat(cp->dst_root, first, dfd, name, 0) < 0 ? -errno : 0;
    return true;
}

static int copy_entry(struct copy *cp, int sfd, int dfd, const char *name, const char *parent)
{
    struct stat st;
    if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno; /* gone meanwhile: nothing to copy */
    _cleanup_free_ char *rel = *parent ? xasprintf("%s/%s", parent, name) : xstrdup(name);
    int r = 0;
    if (linked(cp, dfd, name, &st, rel, &r))
        return r;
    if (S_ISDIR(st.st_mode))
        return copy_subdir(cp, sfd, dfd, name, &st, rel);
    if (S_ISREG(st.st_mode))
        return copy_file(sfd, dfd, name, &st);
    if (S_ISLNK(st.st_mode))
        return copy_symlink(sfd, dfd, name, &st);
    if (mknodat(dfd, name, st.st_mode, st.st_rdev) < 0) /* devices, fifos, sockets */
        return -errno;
    return copy_meta(dfd, name, &st);
}

static int copy_dir(struct copy *cp, int sfd, int dfd, const char *rel)
{
    _cleanup_closedir_ DIR *d = fs_opendir_at(sfd, ".");
    if (!d)
        return -errno;
    for (struct dirent *e; (e = readdir(d));) {
        if (fs_is_dot(e->d_name))
            continue;
        int r = copy_entry(cp, sfd, dfd, e->d_name, rel);
        if (r < 0)
            return r;
    }
    return 0;
}

int fs_copy_tree(int src_dirfd, int dst_dirfd, struct berth_err **err)
{
    struct copy cp = {.dst_root = dst_dirfd};
    int r = copy_dir(&cp, src_dirfd, dst_dirfd, "");
    void *v;
    for (size_t i = 0; map_next(&cp.links, &i, NULL, &v);)
        free(v);
    map_free(&cp.links);
    return r < 0 ? berth_error(err, -r, "copy") : 0;
}

int fs_dir_is_empty(int dirfd)
{
    _cleanup_closedir_ DIR *d = fs_opendir_at(dirfd, ".");
    if (!d)
        return -errno;
    for (struct dirent *e; (e = readdir(d));)
        if (!fs_is_dot(e->d_name))
            return 0;
    return 1;
}
