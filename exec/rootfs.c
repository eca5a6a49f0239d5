/* exec/rootfs.c — overlay mounting (short relative lowerdirs, so a 125-layer image fits the
 * page-size option limit), safe in-root path resolution with openat2, and passwd/group files
 * read from inside the image, never from the host. */
#include "exec/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/xalloc.h"
#include "fs/layer.h"

/* The worker thread gets its own cwd the first time, so chdir() here cannot disturb the
 * engine's other threads. */
static int private_cwd(struct berth_err **err)
{
    static __thread bool done;
    if (!done && unshare(CLONE_FS) < 0)
        return berth_error(err, errno, "unshare(CLONE_FS)");
    done = true;
    return 0;
}

int rootfs_mount(const char *dir, const char *layers_dir, const char *lowerdir,
                 struct berth_err **err)
{
    _cleanup_free_ char *merged = xasprintf("%s/merged", dir);
    _cleanup_free_ char *empty = xasprintf("%s/empty", dir);
    if (!lowerdir || !*lowerdir) { /* overlay wants a lower layer: an empty one will do */
        if (mkdir(empty, 0755) < 0 && errno != EEXIST)
            return berth_error(err, errno, "create `%s`", empty);
    }
    _cleanup_free_ char *opts = xasprintf("lowerdir=%s,upperdir=%s/upper,workdir=%s/work",
                                          lowerdir && *lowerdir ? lowerdir : empty, dir, dir);
    int r = private_cwd(err);
    if (r < 0)
        return r;
    if (chdir(layers_dir) < 0)
        return berth_error(err, errno, "chdir `%s`", layers_dir);
    int mounted = mount("overlay", merged, "overlay", 0, opts) < 0 ? -errno : 0;
    int back = chdir("/") < 0 ? -errno : 0; /* whatever the mount did; its error is told first */
    if (mounted < 0)
        return berth_error(err, -mounted, "mount overlay on `%s`", merged);
    if (back < 0)
        return berth_error(err, -back, "chdir /");
    return 0;
}

static int fill_init_layer(const char *dir)
{
    static const char *const dirs[] = {"etc", "proc", "sys", "dev", NULL};
    static const char *const files[] = {"etc/hosts", "etc/hostname", "etc/resolv.conf", NULL};
    _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    for (const char *const *d = dirs; *d; d++)
        if (mkdirat(dfd, *d, 0755) < 0)
            return -errno;
    for (const char *const *f = files; *f; f++) {
        int fd = openat(dfd, *f, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            return -errno;
        close(fd);
    }
    return 0;
}

/* Fill tmp and rename it to dir; -errno on failure. Another start that got there first is
 * not a failure. */
static int build_init_layer(const char *tmp, const char *dir)
{
    int r = fill_init_layer(tmp);
    if (r < 0)
        return r;
    if (rename(tmp, dir) < 0 && errno != EEXIST && errno != ENOTEMPTY)
        return -errno;
    return 0;
}

int rootfs_init_layer(const char *layers_dir, const char *top_link, struct berth_err **err)
{
    _cleanup_free_ char *dir = xasprintf("%s/%s/init", layers_dir, top_link);
    if (access(dir, F_OK) == 0)
        return 0;
    /* built aside, then renamed: a concurrent start of the same image may race us */
    _cleanup_free_ char *tmp = xasprintf("%s/%s/init.tmp-XXXXXX", layers_dir, top_link);
    if (!mkdtemp(tmp))
        return berth_error(err, errno, "create `%s`", tmp);
    chmod(tmp, 0755);
    int r = build_init_layer(tmp, dir);
    if (access(tmp, F_OK) == 0)
        layer_rm_tree(tmp, NULL); /* ours lost the race, or failed */
    return r < 0 ? berth_error(err, -r, "create the init layer `%s`", dir) : 0;
}

int rootfs_unmount(const char *dir, struct berth_err **err)
{
    _cleanup_free_ char *merged = xasprintf("%s/merged", dir);
    if (umount2(merged, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return berth_error(err, errno, "unmount `%s`", merged);
    return 0;
}

static int open_in(int root, const char *path, int flags)
{
    struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    return (int)syscall(SYS_openat2, root, *path ? path : ".", &how, sizeof(how));
}

/* mkdir -p inside root, each step resolved in root. */
static int make_parents(int root, const char *path)
{
    if (!*path || strcmp(path, "/") == 0)
        return 0;
    _cleanup_free_ char *p = xstrdup(path);
    for (char *s = p + (*p == '/');; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char saved = *s;
        *s = '\0';
        char *slash = strrchr(p, '/');
        _cleanup_free_ char *parent = slash ? xstrndup(p, (size_t)(slash - p)) : xstrdup("");
        _cleanup_close_ int dfd = open_in(root, parent, O_PATH | O_DIRECTORY);
        if (dfd < 0 || (mkdirat(dfd, slash ? slash + 1 : p, 0755) < 0 && errno != EEXIST))
            return -errno;
        *s = saved;
        if (!saved)
            return 0;
    }
}

int rootfs_target(const char *root, const char *path, bool is_dir, char **out,
                  struct berth_err **err)
{
    _cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return berth_error(err, errno, "open `%s`", root);
    _cleanup_free_ char *parent = xstrdup(path);
    char *slash = strrchr(parent, '/');
    if (slash)
        *slash = '\0';
    int r = is_dir ? make_parents(rfd, path) : make_parents(rfd, parent);
    if (r < 0)
        return berth_error(err, -r, "mount point `%s`", path);
    _cleanup_close_ int fd = open_in(rfd, path, O_PATH);
    if (fd < 0 && !is_dir && errno == ENOENT) {
        _cleanup_close_ int pfd = open_in(rfd, parent, O_PATH | O_DIRECTORY);
        _cleanup_close_ int created =
            pfd < 0 ? -1
                    : openat(pfd, slash ? slash + 1 : path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        fd = created < 0 ? -1 : open_in(rfd, path, O_PATH);
    }
    if (fd < 0)
        return berth_error(err, errno, "mount point `%s`", path);
    char link[64], real[4096];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, real, sizeof(real) - 1);
    if (n < 0)
        return berth_error(err, errno, "resolve `%s`", path);
    real[n] = '\0';
    *out = xstrdup(real);
    return 0;
}

/* ---- users ---- */

/* The lines of an /etc file inside root, read without following anything out of it. */
static char *read_in_root(const char *root, const char *path)
{
    _cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    _cleanup_close_ int fd = rfd < 0 ? -1 : open_in(rfd, path, O_RDONLY);
    struct buf b = {0};
    char chunk[4096];
    ssize_t n;
    while (fd >= 0 && (n = read(fd, chunk, sizeof(chunk))) > 0 && b.len < (4u << 20))
        buf_append(&b, chunk, (size_t)n);
    buf_reserve(&b, 0);
    return buf_steal(&b, NULL);
}

static bool all_digits(const char *s)
{
    return *s && strspn(s, "0123456789") == strlen(s);
}

/* Field k (0-based) of a ':'-separated line, copied. */
static char *field(const char *line, int k)
{
    for (; k > 0 && line; k--) {
        line = strchr(line, ':');
        line = line ? line + 1 : NULL;
    }
    return line ? xstrndup(line, strcspn(line, ":\n")) : NULL;
}

/* The passwd or group line whose name (field 0) or id (field 2) is `who`. */
static char *find_entry(const char *text, const char *who)
{
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        _cleanup_free_ char *name = field(line, 0), *id = field(line, 2);
        if (line[0] != '#' && ((name && strcmp(name, who) == 0) || (id && strcmp(id, who) == 0)))
            return xstrndup(line, end ? (size_t)(end - line) : strlen(line));
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

static void add_group(struct user_spec *u, gid_t g)
{
    for (size_t i = 0; i < u->ngroups; i++)
        if (u->groups[i] == g)
            return;
    u->groups = xrealloc(u->groups, (u->ngroups + 1) * sizeof(*u->groups));
    u->groups[u->ngroups++] = g;
}

/* Groups listing the user as a member (field 3), as getgrouplist would find them. */
static void member_groups(struct user_spec *u, const char *groups, const char *name)
{
    for (const char *line = groups; name && line && *line;) {
        const char *end = strchr(line, '\n');
        _cleanup_free_ char *members = field(line, 3), *gid = field(line, 2);
        for (char *m = members, *save = NULL, *tok; m && gid && (tok = strtok_r(m, ",", &save));
             m = NULL)
            if (strcmp(tok, name) == 0 && all_digits(gid))
                add_group(u, (gid_t)strtoul(gid, NULL, 10));
        line = end ? end + 1 : NULL;
    }
}

static int resolve_group(const char *groups, const char *g, gid_t *out, struct berth_err **err)
{
    if (all_digits(g)) {
        *out = (gid_t)strtoul(g, NULL, 10);
        return 0;
    }
    _cleanup_free_ char *line = find_entry(groups, g);
    _cleanup_free_ char *gid = line ? field(line, 2) : NULL;
    if (!gid || !all_digits(gid))
        return berth_user_error(err, ENOENT,
                                "unable to find group %s: no matching entries in "
                                "group file",
                                g);
    *out = (gid_t)strtoul(gid, NULL, 10);
    return 0;
}

/* The primary group (group, when the user spec names one) and the supplementary ones. */
static int user_groups(struct user_spec *out, const char *groups, const char *group,
                       const char *name, char *const *group_add, struct berth_err **err)
{
    int r;
    if (group && *group) {
        if ((r = resolve_group(groups, group, &out->gid, err)) < 0)
            return r;
    }
    add_group(out, out->gid); /* the primary group first, as dockerd since CVE-2022-36109 */
    if (!(group && *group))
        member_groups(out, groups, name);
    for (size_t i = 0; group_add && group_add[i]; i++) {
        gid_t g;
        if ((r = resolve_group(groups, group_add[i], &g, err)) < 0)
            return r;
        add_group(out, g);
    }
    return 0;
}

int rootfs_user(const char *root, const char *user, char *const *group_add, struct user_spec *out,
                struct berth_err **err)
{
    _cleanup_free_ char *passwd = read_in_root(root, "/etc/passwd");
    _cleanup_free_ char *groups = read_in_root(root, "/etc/group");
    _cleanup_free_ char *spec = xstrdup(user && *user ? user : "0");
    char *colon = strchr(spec, ':');
    if (colon)
        *colon++ = '\0';
    memset(out, 0, sizeof(*out));
    _cleanup_free_ char *line = find_entry(passwd, spec);
    _cleanup_free_ char *name = line ? field(line, 0) : NULL;
    _cleanup_free_ char *uid = line ? field(line, 2) : NULL, *gid = line ? field(line, 3) : NULL;
    if (!line && !all_digits(spec))
        return berth_user_error(err, ENOENT,
                                "unable to find user %s: no matching entries in "
                                "passwd file",
                                spec);
    out->uid = (uid_t)strtoul(line ? uid : spec, NULL, 10);
    out->gid = line && gid && all_digits(gid) ? (gid_t)strtoul(gid, NULL, 10) : 0;
    out->home = line ? field(line, 5) : NULL;
    if (!out->home || !*out->home) {
        free(out->home);
        out->home = xstrdup("/");
    }
    int r = user_groups(out, groups, colon, name, group_add, err);
    if (r < 0) /* the caller gets nothing half-made */
        user_spec_free(out);
    return r;
}

void user_spec_free(struct user_spec *u)
{
    free(u->groups);
    free(u->home);
    memset(u, 0, sizeof(*u));
}
