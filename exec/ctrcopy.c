/* exec/ctrcopy.c — docker cp and docker export on a container view (exec/ctrfs.c). Names follow
 * moby's daemon/archive_unix.go and go-archive's TarResourceRebaseOpts: a directory /etc goes
 * out as "etc/", "etc/passwd" ..., "/etc/." as "./", "./passwd", the root as "/", "/bin" ...,
 * a file as its base name. */
#include "exec/ctrcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/timefmt.h"
#include "core/xalloc.h"

/* Go's os.FileMode bits for a stat mode. */
static uint32_t go_mode(mode_t m)
{
    uint32_t g = m & 0777;
    if (S_ISDIR(m))
        g |= 1u << 31;
    else if (S_ISLNK(m))
        g |= 1u << 27;
    else if (S_ISBLK(m))
        g |= 1u << 26;
    else if (S_ISCHR(m))
        g |= 1u << 26 | 1u << 21;
    else if (S_ISFIFO(m))
        g |= 1u << 25;
    else if (S_ISSOCK(m))
        g |= 1u << 24;
    if (m & S_ISUID)
        g |= 1u << 23;
    if (m & S_ISGID)
        g |= 1u << 22;
    if (m & S_ISVTX)
        g |= 1u << 20;
    return g;
}

/* Go's filepath.Base: the last element, trailing slashes dropped; "/" for the root. */
static char *go_base(const char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    if (len == 1 && path[0] == '/')
        return xstrdup("/");
    const char *start = path + len;
    while (start > path && start[-1] != '/')
        start--;
    return xstrndup(start, (size_t)(path + len - start));
}

/* The path dockerd works with: "/" + path cleaned, a trailing "/." or "/" kept (go-archive's
 * PreserveTrailingDotOrSeparator); *follow when either asks for the last part to be followed. */
static char *abs_path(const char *path, bool *follow)
{
    _cleanup_free_ char *clean = ctrfs_clean(path);
    _cleanup_free_ char *base = go_base(path);
    size_t len = strlen(path);
    bool dot = strcmp(base, ".") == 0, slash = len && path[len - 1] == '/';
    *follow = dot || slash;
    bool root = strcmp(clean, "/") == 0;
    if (dot)
        return xasprintf("%s%s.", clean, root ? "" : "/");
    if (slash && !root)
        return xasprintf("%s/", clean);
    return xstrdup(clean);
}

static int not_found(const char *path, const char *ctr_name, struct berth_err **err)
{
    return berth_user_error(err, ENOENT, "Could not find the file %s in container %s", path,
                            ctr_name);
}

int ctrcopy_stat(struct ctrfs *fs, const char *path, const char *ctr_name, struct ctrcopy_stat *st,
                 struct berth_err **err)
{
    bool follow;
    _cleanup_free_ char *abs = abs_path(path, &follow);
    _cleanup_free_ char *clean = ctrfs_clean(path);
    *st = (struct ctrcopy_stat){0};
    int r = ctrfs_resolve(fs, clean, follow, &st->cpath, err);
    if (r < 0)
        return r;
    _cleanup_close_ int fd = ctrfs_open_path(fs, st->cpath, O_PATH | O_NOFOLLOW);
    struct stat sb;
    if (fd == -ENOENT)
        return not_found(path, ctr_name, err);
    if (fd < 0)
        return berth_error(err, -fd, "lstat %s", abs);
    if (fstatat(fd, "", &sb, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
        return berth_error(err, errno, "lstat %s", abs);
    if (follow && !S_ISDIR(sb.st_mode)) /* "x/" or "x/." of a file */
        return berth_user_error(err, ENOTDIR, "lstat %s: not a directory", abs);
    st->name = go_base(abs);
    st->size = sb.st_size;
    st->mode = go_mode(sb.st_mode);
    st->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    if (S_ISLNK(sb.st_mode)) {
        if ((r = ctrfs_resolve(fs, clean, true, &st->link_target, err)) < 0)
            return r;
    } else {
        st->link_target = xstrdup("");
    }
    st->root_name = strcmp(st->name, "/") == 0 ? xstrdup("") : xstrdup(st->name);
    return 0;
}

void ctrcopy_stat_free(struct ctrcopy_stat *st)
{
    free(st->name);
    free(st->link_target);
    free(st->cpath);
    free(st->root_name);
    *st = (struct ctrcopy_stat){0};
}

json_t *ctrcopy_stat_json(const struct ctrcopy_stat *st)
{
    _cleanup_free_ char *mtime = time_format_rfc3339(st->mtime_ns);
    return json_pack("{ss sI sI ss ss}", "name", st->name, "size", (json_int_t)st->size, "mode",
                     (json_int_t)st->mode, "mtime", mtime, "linkTarget", st->link_target);
}

/* A stopped container's binds are not mounted: the walk reads each from its host source. */
struct walk_binds {
    struct ctrfs *fs;
    const char *root; /* the walk root's container path */
};

static int bind_source(void *ctx, const char *rel, int *fd, struct berth_err **err)
{
    (void)err;
    struct walk_binds *wb = ctx;
    _cleanup_free_ char *cpath =
        !*rel ? xstrdup(wb->root)
              : xasprintf("%s/%s", strcmp(wb->root, "/") == 0 ? "" : wb->root, rel);
    *fd = ctrfs_bind_at(wb->fs, cpath);
    return *fd >= 0;
}

int ctrcopy_archive(struct ctrfs *fs, const struct ctrcopy_stat *st, struct tarw *t,
                    struct berth_err **err)
{
    _cleanup_close_ int fd = ctrfs_open_path(fs, st->cpath, O_PATH | O_NOFOLLOW);
    if (fd < 0)
        return berth_error(err, -fd, "open %s", st->cpath);
    struct walk_binds wb = {.fs = fs, .root = st->cpath};
    struct tarw_walk w = {.substitute = bind_source, .ctx = &wb};
    int r = tarw_add_tree(t, fd, "", st->root_name, &w, err);
    return r < 0 ? r : tarw_finish(t, err);
}

int ctrcopy_extract(struct ctrfs *fs, const struct ctrcopy_put *p, unpack_read_fn read, void *ctx,
                    struct berth_err **err)
{
    bool follow;
    _cleanup_free_ char *abs = abs_path(p->path, &follow);
    _cleanup_free_ char *clean = ctrfs_clean(p->path);
    _cleanup_free_ char *cpath = NULL;
    /* the extraction point is followed to the end, as dockerd's filepath.EvalSymlinks */
    int r = ctrfs_resolve(fs, clean, true, &cpath, err);
    if (r < 0)
        return r;
    _cleanup_close_ int fd = ctrfs_open_path(fs, cpath, O_RDONLY | O_DIRECTORY);
    if (fd == -ENOENT)
        return not_found(p->path, p->ctr_name, err);
    if (fd == -ENOTDIR)
        return berth_user_error(err, EINVAL, "extraction point is not a directory");
    if (fd < 0)
        return berth_error(err, -fd, "lstat %s", cpath);
    if ((r = ctrfs_check_writable(fs, cpath, err)) < 0)
        return r;
    struct unpack_copy_opts o = {.no_overwrite_dir_nondir = p->no_overwrite_dir_nondir};
    if (p->copy_uidgid && (r = ctrfs_user(fs, &o.uid, &o.gid, err)) < 0)
        return r;
    o.chown = p->copy_uidgid && r > 0;
    /* dockerd's words name the extraction point as resolved, its trailing "/" or "/." kept */
    size_t alen = strlen(abs);
    _cleanup_free_ char *dest =
        xasprintf("%s%s", cpath,
                  follow ? (abs[alen - 1] == '.' ? (strcmp(cpath, "/") ? "/." : ".")
                                                 : (strcmp(cpath, "/") ? "/" : ""))
                         : "");
    o.dest = dest;
    return unpack_copy(fd, &o, read, ctx, err);
}

int ctrcopy_export(struct ctrfs *fs, struct tarw *t, struct berth_err **err)
{
    int r = tarw_add_tree(t, ctrfs_root(fs), "", NULL, NULL, err);
    return r < 0 ? r : tarw_finish(t, err);
}
