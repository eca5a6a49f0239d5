/* exec/ctrfs.c — views of a container's files. A running container is seen through its own
 * mount namespace (/proc/PID/root, checked against its pidfd so a recycled PID cannot stand in
 * for it); a stopped one through its overlay, mounted as the start mounts it and at once
 * detached, so only our descriptors reach it, shared by concurrent users and gone with the last
 * of them; its binds are mapped path by path to their host sources. Every open is an openat2
 * with RESOLVE_IN_ROOT under the view's root or a bind source: a symlink to /etc or to
 * ../../.. stays inside. */
#include "exec/ctrfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "exec/rootfs.h"
#include "fs/layer.h"

#define MAX_LINKS 255 /* moby's FollowSymlinkInScope limit */

struct ctrfs_bind {
    char *dest;   /* clean, absolute, in the container */
    char *source; /* host path */
    bool ro;
    bool etc; /* one of the /etc files berth provides: not a user mount (writable check) */
};

struct ctrfs_spec {
    char id[65];
    enum ctrfs_kind kind;
    char *dir; /* ROOT/containers/<id> */
    int pidfd; /* running (CTRFS_VIEW): a dup of its pidfd */
    pid_t pid;
    bool mounts; /* its stopped overlay is mounted for us: c->fs_mounts is held */
    char *layers_dir, *lowerdir, *top_link;
    struct ctrfs_bind *binds;
    size_t nbinds;
    bool readonly_rootfs;
    char *user;
};

/* A stopped container's overlay, mounted once for every view open at the same time. The pool
 * jobs of different requests meet here, hence the lock; the reactor's c->fs_mounts keeps the
 * container from starting (and mounting it again) meanwhile. */
struct shared_mount {
    char *dir;
    int fd; /* O_PATH root of the detached mount */
    int refs;
    struct shared_mount *next;
};
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shared_mount *shared_mounts;

struct mapping {
    const struct ctrfs_bind *bind;
    size_t len; /* strlen(bind->dest) */
    int fd;     /* O_PATH of the host source */
    bool dir;
};

struct ctrfs {
    struct ctrfs_spec *s;
    int root; /* O_PATH */
    struct shared_mount *shared;
    struct mapping *maps; /* a stopped container's binds */
    size_t nmaps;
    int upper; /* CTRFS_LAYERS */
    int *lowers;
    size_t nlowers;
};

/* ---- the hold (reactor) ---- */

char *ctrfs_clean(const char *path)
{
    struct buf b = {0};
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (b.len > 0 && b.data[b.len - 1] != '/')
                b.len--;
            if (b.len > 0)
                b.len--;
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            buf_append(&b, "/", 1);
            buf_append(&b, p, n);
        }
        p += n + (p[n] == '/');
    }
    if (!b.len)
        buf_append(&b, "/", 1);
    b.data[b.len] = '\0';
    return buf_steal(&b, NULL);
}

static void add_bind(struct ctrfs_spec *s, const char *src, const char *dst, bool ro, bool etc)
{
    s->binds = xrealloc(s->binds, (s->nbinds + 1) * sizeof(*s->binds));
    s->binds[s->nbinds++] =
        (struct ctrfs_bind){.dest = ctrfs_clean(dst), .source = xstrdup(src), .ro = ro, .etc = etc};
}

static bool has_ro(const char *opts)
{
    for (const char *p = opts ? opts : ""; *p;) {
        size_t n = strcspn(p, ",");
        if (n == 2 && strncmp(p, "ro", 2) == 0)
            return true;
        p += n + (p[n] == ',');
    }
    return false;
}

/* -v SRC:DST[:OPTS] and --mount type=bind, as the start mounts them, then the /etc files. */
static void collect_binds(struct ctrfs_spec *s, const struct container *c)
{
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(c->host_config, "Binds"), i, b)
    {
        _cleanup_free_ char *spec = xstrdup(json_string_value(b) ? json_string_value(b) : "");
        char *dst = strchr(spec, ':');
        if (!dst || spec[0] != '/')
            continue; /* create refused it */
        *dst++ = '\0';
        char *opts = strchr(dst, ':');
        if (opts)
            *opts++ = '\0';
        add_bind(s, spec, dst, has_ro(opts), false);
    }
    json_array_foreach(json_object_get(c->host_config, "Mounts"), i, b)
    {
        const char *type = json_get_str(b, "Type"), *src = json_get_str(b, "Source");
        const char *dst = json_get_str(b, "Target");
        if (type && strcmp(type, "bind") == 0 && src && dst)
            add_bind(s, src, dst, json_get_bool(b, "ReadOnly", false), false);
    }
    static const char *const files[] = {"hosts", "hostname", "resolv.conf"};
    for (size_t k = 0; k < 3; k++) {
        _cleanup_free_ char *src = xasprintf("%s/%s", c->dir, files[k]);
        _cleanup_free_ char *dst = xasprintf("/etc/%s", files[k]);
        add_bind(s, src, dst, false, true); /* absent until its first start: skipped then */
    }
}

static void spec_free(struct ctrfs_spec *s)
{
    if (s->pidfd >= 0)
        close(s->pidfd);
    for (size_t i = 0; i < s->nbinds; i++) {
        free(s->binds[i].dest);
        free(s->binds[i].source);
    }
    free(s->binds);
    free(s->dir);
    free(s->layers_dir);
    free(s->lowerdir);
    free(s->top_link);
    free(s->user);
    free(s);
}

/* Its image's layers: the lowerdir the start would mount, and where they are. */
static int layers_of(struct exec_env *env, const struct container *c, struct ctrfs_spec *s,
                     struct berth_err **err)
{
    s->layers_dir = xstrdup(layer_store_dir(env->layers));
    if (!c->image_chain || !*c->image_chain)
        return 0;
    struct layer *top = layer_get(env->layers, c->image_chain);
    if (!top)
        return berth_user_error(err, ENOENT, "the image layers of container %s are gone", c->id);
    _cleanup_free_ char *layers = layer_lowerdir(env->layers, c->image_chain);
    s->top_link = xstrdup(top->link);
    s->lowerdir = xasprintf("%s/init:%s", top->link, layers);
    return 0;
}

struct ctrfs_spec *ctrfs_hold(struct exec_env *env, struct container *c, enum ctrfs_kind kind,
                              const char *verb, struct berth_err **err)
{
    if (c->state.status == CTR_REMOVING) { /* dockerd's 409 */
        berth_user_error(err, EBUSY, "You cannot %s container %s which is being removed", verb,
                         c->id);
        return NULL;
    }
    if (c->starting || (c->run && ctr_run_pidfd(c) < 0)) {
        berth_user_error(err, EBUSY, "container %s is %s: try again", c->id,
                         c->starting ? "starting" : "stopping");
        return NULL;
    }
    struct ctrfs_spec *s = xcalloc(1, sizeof(*s));
    *s = (struct ctrfs_spec){.kind = kind, .dir = xstrdup(c->dir), .pidfd = -1};
    memcpy(s->id, c->id, sizeof(s->id));
    bool running = ctr_run_pidfd(c) >= 0;
    if (kind == CTRFS_VIEW && running) {
        s->pidfd = fcntl(ctr_run_pidfd(c), F_DUPFD_CLOEXEC, 0);
        s->pid = c->state.pid;
    }
    s->mounts = kind != CTRFS_LAYERS && !running;
    if ((kind == CTRFS_LAYERS || s->mounts) && layers_of(env, c, s, err) < 0) {
        spec_free(s);
        return NULL;
    }
    if (kind == CTRFS_VIEW)
        collect_binds(s, c);
    s->readonly_rootfs = json_get_bool(c->host_config, "ReadonlyRootfs", false);
    s->user = xstrdup(json_get_str(c->config, "User") ? json_get_str(c->config, "User") : "");
    c->fs_holds++;
    if (s->mounts)
        c->fs_mounts++;
    return s;
}

void ctrfs_release(struct exec_env *env, struct ctrfs_spec *s)
{
    struct container *c;
    if (ctr_lookup(env->cs, s->id, &c, NULL) == 0 && strcmp(c->id, s->id) == 0) {
        c->fs_holds--;
        if (s->mounts)
            c->fs_mounts--;
    } /* else it went (an --rm container's end does not wait for holds) */
    spec_free(s);
}

const char *ctrfs_spec_id(const struct ctrfs_spec *s)
{
    return s->id;
}

bool ctrfs_spec_running(const struct ctrfs_spec *s)
{
    return s->pidfd >= 0;
}

/* ---- opening (pool) ---- */

static int open_in(int root, const char *rel, int flags)
{
    struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, root, *rel ? rel : ".", &how, sizeof(how));
    return fd < 0 ? -errno : fd;
}

/* Its mount namespace's root; the pidfd proves the PID was still its process after the open. */
static int open_running(struct ctrfs *fs, struct berth_err **err)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/root", (int)fs->s->pid);
    fs->root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fs->root < 0 || syscall(SYS_pidfd_send_signal, fs->s->pidfd, 0, NULL, 0) < 0)
        return berth_user_error(err, EBUSY, "container %s stopped meanwhile: try again", fs->s->id);
    return 0;
}

static int mount_detached(const struct ctrfs_spec *s, struct berth_err **err)
{
    int r;
    if (s->top_link) {
        if ((r = rootfs_init_layer(s->layers_dir, s->top_link, err)) < 0)
            return r;
    }
    if ((r = rootfs_mount(s->dir, s->layers_dir, s->lowerdir, err)) < 0)
        return r;
    _cleanup_free_ char *merged = xasprintf("%s/merged", s->dir);
    int fd = open(merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int saved = errno;
    /* detached at once: only descriptors reach it now, and it goes with the last of them */
    _cleanup_err_ struct berth_err *uerr = NULL;
    if (rootfs_unmount(s->dir, &uerr) < 0)
        log_warn("container %.12s: %s", s->id, uerr->msg);
    if (fd < 0)
        return berth_error(err, saved, "open `%s`", merged);
    return fd;
}

static int open_stopped(struct ctrfs *fs, struct berth_err **err)
{
    pthread_mutex_lock(&shared_lock);
    struct shared_mount *m = shared_mounts;
    while (m && strcmp(m->dir, fs->s->dir) != 0)
        m = m->next;
    int r = 0;
    if (!m) {
        r = mount_detached(fs->s, err);
        if (r >= 0) {
            m = xcalloc(1, sizeof(*m));
            *m = (struct shared_mount){.dir = xstrdup(fs->s->dir), .fd = r, .next = shared_mounts};
            shared_mounts = m;
        }
    }
    if (m) {
        m->refs++;
        fs->shared = m;
        fs->root = m->fd;
    }
    pthread_mutex_unlock(&shared_lock);
    return r < 0 ? r : 0;
}

static void close_stopped(struct shared_mount *m)
{
    pthread_mutex_lock(&shared_lock);
    if (--m->refs == 0) {
        for (struct shared_mount **p = &shared_mounts; *p; p = &(*p)->next)
            if (*p == m) {
                *p = m->next;
                break;
            }
        close(m->fd); /* the detached overlay goes with it */
        free(m->dir);
        free(m);
    }
    pthread_mutex_unlock(&shared_lock);
}

/* The overlay the running container has (on the host, without its mounts): dockerd's export. */
static int open_merged(struct ctrfs *fs, struct berth_err **err)
{
    _cleanup_free_ char *merged = xasprintf("%s/merged", fs->s->dir);
    fs->root = open(merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct statfs sf;
    if (fs->root < 0 || fstatfs(fs->root, &sf) < 0 || sf.f_type != OVERLAYFS_SUPER_MAGIC)
        return berth_user_error(err, EBUSY, "container %s stopped meanwhile: try again", fs->s->id);
    return 0;
}

static void map_binds(struct ctrfs *fs)
{
    fs->maps = xcalloc(fs->s->nbinds + 1, sizeof(*fs->maps));
    for (size_t i = 0; i < fs->s->nbinds; i++) {
        const struct ctrfs_bind *b = &fs->s->binds[i];
        int fd = open(b->source, O_PATH | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
            if (fd >= 0)
                close(fd);
            continue; /* a source made at the first start, not yet there */
        }
        fs->maps[fs->nmaps++] = (struct mapping){
            .bind = b, .len = strlen(b->dest), .fd = fd, .dir = S_ISDIR(st.st_mode)};
    }
}

static int open_layers(struct ctrfs *fs, struct berth_err **err)
{
    _cleanup_free_ char *upper = xasprintf("%s/upper", fs->s->dir);
    if ((fs->upper = open(upper, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
        return berth_error(err, errno, "open `%s`", upper);
    if (!fs->s->lowerdir)
        return 0;
    _cleanup_free_ char *dirs = xstrdup(fs->s->lowerdir);
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        _cleanup_free_ char *path = xasprintf("%s/%s", fs->s->layers_dir, d);
        int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && strstr(d, "/init"))
            continue; /* never started: no init layer yet, and nothing of it in upper */
        if (fd < 0)
            return berth_error(err, errno, "open `%s`", path);
        fs->lowers = xrealloc(fs->lowers, (fs->nlowers + 1) * sizeof(*fs->lowers));
        fs->lowers[fs->nlowers++] = fd;
    }
    return 0;
}

static int open_view(struct ctrfs *fs, struct berth_err **err)
{
    switch (fs->s->kind) {
    case CTRFS_LAYERS:
        return open_layers(fs, err);
    case CTRFS_ROOTFS:
        return fs->s->mounts ? open_stopped(fs, err) : open_merged(fs, err);
    case CTRFS_VIEW:
    default:
        if (!fs->s->mounts)
            return open_running(fs, err);
        map_binds(fs);
        return open_stopped(fs, err);
    }
}

int ctrfs_open(struct ctrfs_spec *s, struct ctrfs **out, struct berth_err **err)
{
    struct ctrfs *fs = xcalloc(1, sizeof(*fs));
    *fs = (struct ctrfs){.s = s, .root = -1, .upper = -1};
    int r = open_view(fs, err);
    if (r < 0) {
        ctrfs_close(fs);
        return r;
    }
    *out = fs;
    return 0;
}

void ctrfs_close(struct ctrfs *fs)
{
    if (fs->shared)
        close_stopped(fs->shared);
    else if (fs->root >= 0)
        close(fs->root);
    for (size_t i = 0; i < fs->nmaps; i++)
        close(fs->maps[i].fd);
    free(fs->maps);
    if (fs->upper >= 0)
        close(fs->upper);
    for (size_t i = 0; i < fs->nlowers; i++)
        close(fs->lowers[i]);
    free(fs->lowers);
    free(fs);
}

int ctrfs_root(const struct ctrfs *fs)
{
    return fs->root;
}

int ctrfs_upper(const struct ctrfs *fs)
{
    return fs->upper;
}

const int *ctrfs_lowers(const struct ctrfs *fs, size_t *n)
{
    *n = fs->nlowers;
    return fs->lowers;
}

/* ---- paths ---- */

/* The bind holding cpath (the deepest one), and cpath relative to its mount point. */
static const struct mapping *mapped(const struct ctrfs *fs, const char *cpath, const char **rel)
{
    const struct mapping *best = NULL;
    for (size_t i = 0; i < fs->nmaps; i++) {
        const struct mapping *m = &fs->maps[i];
        if (strncmp(cpath, m->bind->dest, m->len) == 0 &&
            (cpath[m->len] == '\0' || cpath[m->len] == '/') && (!best || m->len > best->len))
            best = m;
    }
    *rel = best ? cpath + best->len + (cpath[best->len] == '/') : cpath + 1;
    return best;
}

int ctrfs_open_path(struct ctrfs *fs, const char *cpath, int flags)
{
    const char *rel;
    const struct mapping *m = mapped(fs, cpath, &rel);
    if (!m)
        return open_in(fs->root, rel, flags);
    if (m->dir)
        return open_in(m->fd, rel, flags);
    if (*rel) /* a file bound there: nothing below it */
        return -ENOTDIR;
    if (flags & O_PATH) {
        int fd = fcntl(m->fd, F_DUPFD_CLOEXEC, 0);
        return fd < 0 ? -errno : fd;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", m->fd);
    int fd = open(path, (flags & ~O_NOFOLLOW) | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int ctrfs_bind_at(struct ctrfs *fs, const char *cpath)
{
    for (size_t i = 0; i < fs->nmaps; i++)
        if (strcmp(fs->maps[i].bind->dest, cpath) == 0)
            return fcntl(fs->maps[i].fd, F_DUPFD_CLOEXEC, 0);
    return -1;
}

/* Resolution state: `done` the resolved part ("" for the root, else "/a/b"), `todo` what is
 * left of the path, components separated by '/'. */
static void pop_component(struct buf *done)
{
    while (done->len > 0 && done->data[done->len - 1] != '/')
        done->len--;
    if (done->len > 0)
        done->len--;
    if (done->data)
        done->data[done->len] = '\0';
}

int ctrfs_resolve(struct ctrfs *fs, const char *path, bool follow_last, char **out,
                  struct berth_err **err)
{
    _cleanup_buf_ struct buf done = {0};
    _cleanup_free_ char *todo = xstrdup(path);
    int links = 0;
    for (char *p = todo; *p;) {
        size_t n = strcspn(p, "/");
        char *next = p + n + (p[n] == '/');
        if (n == 0 || (n == 1 && p[0] == '.')) {
            p = next;
            continue;
        }
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            pop_component(&done);
            p = next;
            continue;
        }
        size_t mark = done.len;
        buf_append(&done, "/", 1);
        buf_append(&done, p, n);
        bool last = strspn(next, "/") == strlen(next);
        if (last && !follow_last)
            break;
        _cleanup_close_ int fd = ctrfs_open_path(fs, done.data, O_PATH | O_NOFOLLOW);
        struct stat st;
        if (fd == -ENOENT) { /* kept as it is, as moby does */
            p = next;
            continue;
        }
        if (fd < 0)
            return berth_error(err, -fd, "lstat %s", done.data);
        if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
            return berth_error(err, errno, "lstat %s", done.data);
        if (!S_ISLNK(st.st_mode)) {
            p = next;
            continue;
        }
        if (++links > MAX_LINKS)
            return berth_user_error(err, ELOOP, "too many links in %s", path);
        char target[4096];
        ssize_t len = readlinkat(fd, "", target, sizeof(target) - 1);
        if (len < 0)
            return berth_error(err, errno, "readlink %s", done.data);
        target[len] = '\0';
        done.len = target[0] == '/' ? 0 : mark; /* the link is replaced by its target */
        done.data[done.len] = '\0';
        char *rest = xasprintf("%s/%s", target, next);
        free(todo);
        todo = p = rest;
    }
    *out = done.len ? xstrdup(done.data) : xstrdup("/");
    return 0;
}

int ctrfs_check_writable(const struct ctrfs *fs, const char *cpath, struct berth_err **err)
{
    const struct ctrfs_bind *best = NULL;
    for (size_t i = 0; i < fs->s->nbinds; i++) {
        const struct ctrfs_bind *b = &fs->s->binds[i];
        size_t len = strcmp(b->dest, "/") == 0 ? 0 : strlen(b->dest);
        if (!b->etc && strncmp(cpath, b->dest, len) == 0 &&
            (cpath[len] == '\0' || cpath[len] == '/') && (!best || len > strlen(best->dest)))
            best = b;
    }
    if (best && best->ro)
        return berth_user_error(err, EINVAL, "mounted volume is marked read-only");
    if (!best && fs->s->readonly_rootfs)
        return berth_user_error(err, EINVAL, "container rootfs is marked read-only");
    return 0;
}

int ctrfs_user(struct ctrfs *fs, uid_t *uid, gid_t *gid, struct berth_err **err)
{
    if (!*fs->s->user)
        return 0;
    /* docker run's reading of ":33": no user is root */
    _cleanup_free_ char *user =
        fs->s->user[0] == ':' ? xasprintf("0%s", fs->s->user) : xstrdup(fs->s->user);
    char root[64];
    snprintf(root, sizeof(root), "/proc/self/fd/%d", fs->root);
    struct user_spec us;
    _cleanup_err_ struct berth_err *lookup = NULL;
    if (rootfs_user(root, user, NULL, &us, &lookup) < 0) { /* dockerd's words, a 400 */
        bool group = strncmp(lookup->msg, "unable to find group", 20) == 0;
        char *colon = strchr(user, ':');
        if (colon)
            *colon = '\0';
        return berth_user_error(err, EINVAL,
                                "failed to look up %s \"%s\" in container: no matching "
                                "entries in %s file",
                                group ? "group" : "user", group ? colon + 1 : user,
                                group ? "group" : "passwd");
    }
    *uid = us.uid;
    *gid = us.gid;
    user_spec_free(&us);
    return 1;
}
