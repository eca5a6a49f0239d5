/* fs/tarwrite.c — one tar writer for every archive berth makes. libarchive writes the headers
 * (its pax_restricted format: plain ustar headers, a PAX header only for what ustar cannot hold:
 * long names, big ids, xattrs), so the format's corner cases are done once and well; the walk
 * over a file tree, what each entry says (as go-archive's addTarFile) and overlay whiteouts
 * are ours. libarchive's disk reader is not used: it follows its own idea of names and
 * metadata, and a walk here must stay on file descriptors (openat, never a path from /). */
#include "fs/tarwrite.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs/dirlist.h"
#include "core/cleanup.h"
#include "core/map.h"
#include "core/xalloc.h"

#define COPY_BUF (128u << 10)

struct tarw {
    struct archive *a;
    tarw_write_fn write;
    void *ctx;
    int fd;          /* tarw_new_fd's */
    int write_errno; /* the write function's failure, for the words */
};

static la_ssize_t on_write(struct archive *a, void *arg, const void *buf, size_t n)
{
    struct tarw *t = arg;
    ssize_t r = t->write(t->ctx, buf, n);
    if (r < 0) {
        t->write_errno = (int)-r;
        archive_set_error(a, (int)-r, "%s", strerror((int)-r));
        return -1;
    }
    return (la_ssize_t)n;
}

static ssize_t write_fd(void *ctx, const void *buf, size_t n)
{
    struct tarw *t = ctx;
    for (size_t done = 0; done < n;) {
        ssize_t w = write(t->fd, (const char *)buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        done += (size_t)w;
    }
    return (ssize_t)n;
}

struct tarw *tarw_new(tarw_write_fn write, void *ctx)
{
    struct tarw *t = xcalloc(1, sizeof(*t));
    *t = (struct tarw){.a = archive_write_new(), .write = write, .ctx = ctx, .fd = -1};
    archive_write_set_format_pax_restricted(t->a);
    /* xattrs as SCHILY.xattr.* records only: what Go's archive/tar (dockerd) reads */
    archive_write_set_format_option(t->a, "pax", "xattrheader", "SCHILY");
    archive_write_set_bytes_in_last_block(t->a, 1); /* no padding past the end marker */
    archive_write_open(t->a, t, NULL, on_write, NULL);
    return t;
}

struct tarw *tarw_new_fd(int fd)
{
    struct tarw *t = tarw_new(write_fd, NULL); /* nothing is written before the first entry */
    t->ctx = t;
    t->fd = fd;
    return t;
}

static int tar_error(struct tarw *t, const char *what, struct berth_err **err)
{
    if (t->write_errno)
        return berth_error(err, t->write_errno, "write archive");
    int e = archive_errno(t->a);
    return berth_error(err, e > 0 ? e : EIO, "archive `%s`: %s", what,
                       archive_error_string(t->a) ? archive_error_string(t->a) : "failed");
}

int tarw_finish(struct tarw *t, struct berth_err **err)
{
    return archive_write_close(t->a) == ARCHIVE_OK ? 0 : tar_error(t, "end", err);
}

void tarw_free(struct tarw *t)
{
    if (!t)
        return;
    archive_write_free(t->a); /* closes an archive a failure left open */
    free(t);
}

static int write_entry(struct tarw *t, struct archive_entry *e, struct berth_err **err)
{
    int r = archive_write_header(t->a, e);
    /* WARN: a name written raw, its charset unknown (hdrcharset=BINARY), as Go writes it */
    return r == ARCHIVE_OK || r == ARCHIVE_WARN ? 0 : tar_error(t, archive_entry_pathname(e), err);
}

int tarw_header(struct tarw *t, const char *name, mode_t mode, int64_t size, int64_t mtime,
                struct berth_err **err)
{
    _cleanup_free_ char *path =
        S_ISDIR(mode) && name[strlen(name) - 1] != '/' ? xasprintf("%s/", name) : xstrdup(name);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_mode(e, mode);
    archive_entry_set_size(e, S_ISREG(mode) ? size : 0);
    archive_entry_set_mtime(e, mtime, 0);
    int r = write_entry(t, e, err);
    archive_entry_free(e);
    return r;
}

int tarw_data(struct tarw *t, const void *p, size_t n, struct berth_err **err)
{
    return n && archive_write_data(t->a, p, n) < 0 ? tar_error(t, "data", err) : 0;
}

/* ---- trees ---- */

struct walker {
    struct tarw *t;
    const struct tarw_walk *w;
    struct map links; /* "dev:ino" of files with more names: the first name archived */
    char *buf;
    struct berth_err **err;
};

/* An entry of the walk: where it is, what it is called in the archive and in the walk. */
struct node {
    int fd; /* O_PATH, never followed */
    struct stat st;
    const char *name; /* archive name, without a directory's '/'; NULL: no entry (root) */
    const char *rel;  /* relative to the walk's root; "" for the root */
    bool pseudo;      /* on a kernel pseudo file system: no contents */
};

static bool pseudo_fs(int fd)
{
    struct statfs sf;
    if (fstatfs(fd, &sf) < 0)
        return false;
    switch ((unsigned long)sf.f_type) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case DEVPTS_SUPER_MAGIC:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
    case SECURITYFS_MAGIC:
    case BPF_FS_MAGIC:
    case PSTOREFS_MAGIC:
    case SELINUX_MAGIC:
    case EFIVARFS_MAGIC:
    case NSFS_MAGIC:
    case BINFMTFS_MAGIC:
    case 0x19800202: /* mqueue */
    case 0x62656570: /* configfs */
    case 0x65735543: /* fusectl */
        return true;
    default:
        return false;
    }
}

/* A readable descriptor of the file or directory an O_PATH fd names (an O_PATH fd cannot be
 * read): the magic link leads to that very inode, whatever its name has become since. */
static int reopen(int fd, int flags)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    return open(path, flags | O_CLOEXEC);
}

/* The header go-archive's FileInfoHeader gives: numeric owners, no names, whole seconds. */
static struct archive_entry *entry_of(const struct node *n, const char *path)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_mode(e, n->st.st_mode);
    archive_entry_set_uid(e, n->st.st_uid);
    archive_entry_set_gid(e, n->st.st_gid);
    archive_entry_set_mtime(e, n->st.st_mtim.tv_sec, 0);
    archive_entry_set_size(e, 0);
    if (S_ISCHR(n->st.st_mode) || S_ISBLK(n->st.st_mode))
        archive_entry_set_rdev(e, n->st.st_rdev);
    return e;
}

/* security.capability, a v3 (namespaced root id) made v2, as go-archive does: the root id means
 * nothing outside the user namespace the archive was made in. */
static void add_capability(struct archive_entry *e, int fd)
{
    unsigned char cap[64];
    ssize_t len = fgetxattr(fd, "security.capability", cap, sizeof(cap));
    if (len <= 0)
        return;
    if (len > 20 && cap[3] == 3) {
        cap[3] = 2;
        len = 20;
    }
    archive_entry_xattr_add_entry(e, "security.capability", cap, (size_t)len);
}

/* A regular file's bytes: exactly its header's size (libarchive pads a file that shrank while
 * it was read, and drops what it grew by). */
static int copy_data(struct walker *wk, int fd, int64_t size)
{
    for (int64_t left = size; left > 0;) {
        ssize_t n = read(fd, wk->buf, COPY_BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return berth_error(wk->err, errno, "read");
        if (n == 0)
            break;
        int r = tarw_data(wk->t, wk->buf, (size_t)n, wk->err);
        if (r < 0)
            return r;
        left -= n;
    }
    return 0;
}

static int add_file(struct walker *wk, struct node *n, const char *path)
{
    struct archive_entry *e = entry_of(n, path);
    _cleanup_close_ int fd = -1;
    int r = 0;
    if (n->st.st_nlink > 1) {
        char key[64];
        snprintf(key, sizeof(key), "%lu:%lu", (unsigned long)n->st.st_dev,
                 (unsigned long)n->st.st_ino);
        const char *first = map_get(&wk->links, key);
        if (first) {
            archive_entry_set_hardlink(e, first);
            r = write_entry(wk->t, e, wk->err);
            archive_entry_free(e);
            return r;
        }
        map_put(&wk->links, key, xstrdup(path));
    }
    if (!n->pseudo) {
        fd = reopen(n->fd, O_RDONLY | O_NONBLOCK | O_NOATIME);
        if (fd < 0 && errno == EPERM)
            fd = reopen(n->fd, O_RDONLY | O_NONBLOCK);
        if (fd >= 0 && fstat(fd, &n->st) == 0 && S_ISREG(n->st.st_mode)) {
            archive_entry_set_size(e, n->st.st_size);
            add_capability(e, fd);
        }
    }
    r = write_entry(wk->t, e, wk->err);
    int64_t size = archive_entry_size(e);
    archive_entry_free(e);
    if (r < 0 || fd < 0 || size == 0)
        return r;
    return copy_data(wk, fd, size);
}

static bool opaque(int fd)
{
    char v[2];
    int rfd = reopen(fd, O_RDONLY | O_DIRECTORY);
    ssize_t n = rfd < 0 ? -1 : fgetxattr(rfd, "trusted.overlay.opaque", v, sizeof(v));
    if (rfd >= 0)
        close(rfd);
    return n == 1 && v[0] == 'y';
}

static int add_node(struct walker *wk, int dirfd, const char *base, const char *name,
                    const char *rel, dev_t parent_dev);

static int add_children(struct walker *wk, struct node *n)
{
    size_t count;
    _cleanup_strv_ char **names = fs_list_names(n->fd, ".", &count);
    for (size_t i = 0; i < count; i++) {
        _cleanup_free_ char *name =
            n->name ? xasprintf("%s/%s", n->name, names[i]) : xstrdup(names[i]);
        _cleanup_free_ char *rel =
            *n->rel ? xasprintf("%s/%s", n->rel, names[i]) : xstrdup(names[i]);
        int r = add_node(wk, n->fd, names[i], name, rel, n->st.st_dev);
        if (r < 0)
            return r;
    }
    return 0;
}

static int add_dir(struct walker *wk, struct node *n)
{
    int r;
    if (n->name) {
        _cleanup_free_ char *path = xasprintf("%s/", n->name);
        struct archive_entry *e = entry_of(n, path);
        r = write_entry(wk->t, e, wk->err);
        archive_entry_free(e);
        if (r < 0)
            return r;
    }
    if (n->name && wk->w->whiteouts && opaque(n->fd)) {
        /* go-archive's opaque marker: the directory's permissions and owners, no time */
        _cleanup_free_ char *wh = xasprintf("%s/.wh..wh..opq", n->name);
        struct node marker = *n;
        marker.st.st_mode = S_IFREG | (n->st.st_mode & 0777);
        marker.st.st_mtim.tv_sec = 0;
        struct archive_entry *e = entry_of(&marker, wh);
        r = write_entry(wk->t, e, wk->err);
        archive_entry_free(e);
        if (r < 0)
            return r;
    }
    return n->pseudo ? 0 : add_children(wk, n);
}

/* An overlay whiteout (0:0 character device) in an upper directory: the deleted name. */
static bool is_whiteout(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static int add_other(struct walker *wk, struct node *n)
{
    _cleanup_free_ char *path = NULL;
    if (wk->w->whiteouts && is_whiteout(&n->st)) {
        const char *slash = strrchr(n->name, '/');
        path = slash ? xasprintf("%.*s/.wh.%s", (int)(slash - n->name), n->name, slash + 1)
                     : xasprintf(".wh.%s", n->name);
        n->st.st_mode = S_IFREG | 0600;
    } else {
        path = xstrdup(n->name);
    }
    struct archive_entry *e = entry_of(n, path);
    if (S_ISLNK(n->st.st_mode)) {
        char target[4096];
        ssize_t len = readlinkat(n->fd, "", target, sizeof(target) - 1);
        if (len < 0) {
            archive_entry_free(e);
            return errno == ENOENT ? 0 : berth_error(wk->err, errno, "readlink `%s`", n->name);
        }
        target[len] = '\0';
        archive_entry_set_symlink(e, target);
    }
    int r = write_entry(wk->t, e, wk->err);
    archive_entry_free(e);
    return r;
}

/* What a node is: the substitute's object, or dirfd/base not followed. 0 with n->fd set, 1 when
 * it vanished, or an error. */
static int locate(struct walker *wk, int dirfd, const char *base, struct node *n)
{
    int r;
    n->fd = -1;
    if (wk->w->substitute) {
        if ((r = wk->w->substitute(wk->w->ctx, n->rel, &n->fd, wk->err)) < 0)
            return r;
    }
    if (n->fd < 0)
        n->fd = *base ? openat(dirfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC)
                      : fcntl(dirfd, F_DUPFD_CLOEXEC, 0); /* the root itself, of any type */
    if (n->fd < 0)
        return errno == ENOENT ? 1 : berth_error(wk->err, errno, "open `%s`", n->rel);
    if (fstatat(n->fd, "", &n->st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
        return berth_error(wk->err, errno, "stat `%s`", n->rel);
    return 0;
}

static int add_node(struct walker *wk, int dirfd, const char *base, const char *name,
                    const char *rel, dev_t parent_dev)
{
    struct node n = {.name = name, .rel = rel};
    int r = locate(wk, dirfd, base, &n);
    _cleanup_close_ int fd = n.fd;
    if (r != 0)
        return r > 0 ? 0 : r;
    /* only a mount point can bring a pseudo file system; the root may sit on one itself */
    n.pseudo = (!*rel || n.st.st_dev != parent_dev) && pseudo_fs(n.fd);
    if (S_ISDIR(n.st.st_mode))
        return add_dir(wk, &n);
    if (!name || S_ISSOCK(n.st.st_mode)) /* a socket has no tar type: go-archive skips it */
        return 0;
    if (S_ISREG(n.st.st_mode))
        return add_file(wk, &n, name);
    return add_other(wk, &n);
}

static void walker_release(struct walker *wk)
{
    const char *key;
    void *value;
    for (size_t i = 0; map_next(&wk->links, &i, &key, &value);)
        free(value);
    map_free(&wk->links);
    free(wk->buf);
}

int tarw_add_tree(struct tarw *t, int dirfd, const char *base, const char *name,
                  const struct tarw_walk *w, struct berth_err **err)
{
    static const struct tarw_walk plain = {0};
    _cleanup_(walker_release) struct walker wk = {
        .t = t, .w = w ? w : &plain, .buf = xmalloc(COPY_BUF), .err = err};
    return add_node(&wk, dirfd, base, name, "", 0);
}
