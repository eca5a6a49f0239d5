/* fs/unpack.c — layer unpacking: libarchive reads tar headers from our own source (a thread that
 * pulls bytes, decompresses them with igzip/zstd and hashes them for the diff ID), and every
 * entry is written relative to a parent directory resolved with openat2(RESOLVE_IN_ROOT), acting
 * only on a single final name that is never followed. Nothing can land outside the layer
 * directory. */
#include "fs/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs/dirlist.h"
#include "core/buf.h"
#include "core/cleanup.h"
#include "core/xalloc.h"
#include "fs/atomic.h"
#include "fs/decompress.h"

#define IN_SIZE    (256u << 10)
#define SLOT_SIZE  (256u << 10) /* a decompressed chunk: hashed and parsed while in cache */
#define RING_SLOTS 8
/* Files this big start their writeback as soon as they are written, which halves what the
 * layer store's background flush has left to do; for smaller ones a sync_file_range each
 * costs more (submission stalls on the queue) than it saves, and that flush's syncfs writes
 * them in one go. */
#define WRITEBACK_MIN (64u << 10)

/* ---- the byte source libarchive reads from ----
 *
 * Reading, decompressing and hashing (the blob digest in the caller's read function, the diff
 * ID here) take about as much CPU as creating the files, so they run on a thread of their own,
 * one per unpack, which hands decompressed chunks to libarchive through a ring of RING_SLOTS
 * buffers. Not a pool job: the pool's bulk workers may all be unpackers waiting for their
 * producers. The producer stops at the end of the stream, at an error, or when the unpacker
 * quits; the unpacker joins it before returning, so the caller's read function is never
 * called once unpack_layer has returned. */

struct source {
    unpack_read_fn read;
    void *ctx;
    struct decompressor *dz;
    unsigned char *in;
    size_t in_off, in_len;
    bool in_eof;
    struct digester diff;
    uint64_t tar_size;
    struct berth_err *err;
    /* the ring, under lock: slots [tail, head) are full; the unpacker holds slot tail while
     * libarchive reads it (held) */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned char *slot[RING_SLOTS];
    size_t slot_len[RING_SLOTS];
    unsigned head, tail;
    bool held, done, stop, ended;
    bool producer_waits, unpacker_waits; /* wake the other side only when it sleeps */
    bool source_failed;                  /* the unpacker saw the producer's error (not its own) */
    int result;                          /* once done: 0 at the end, -1 with err set */
};

/* Fill the input buffer; the first fill gathers enough bytes to recognise the compression. */
static int fill(struct source *s)
{
    s->in_off = s->in_len = 0;
    while (!s->in_eof && s->in_len < (s->dz ? 1 : 4)) {
        ssize_t n = s->read(s->ctx, s->in + s->in_len, IN_SIZE - s->in_len);
        if (n < 0)
            return berth_error(&s->err, (int)-n, "read layer");
        if (n == 0)
            s->in_eof = true;
        s->in_len += (size_t)n;
    }
    if (!s->dz)
        s->dz = decompressor_new(compression_detect(s->in, s->in_len));
    return 0;
}

/* The next decompressed bytes into out (hashed on the way), 0 at the end, or -1 with s->err
 * set. Producer thread only. */
static ssize_t next_bytes(struct source *s, unsigned char *out, size_t cap)
{
    for (;;) {
        if (s->in_off == s->in_len && !s->in_eof && fill(s) < 0)
            return -1;
        size_t used, made;
        int r = decompressor_run(s->dz, s->in + s->in_off, s->in_len - s->in_off, &used, out, cap,
                                 &made, &s->err);
        if (r < 0)
            return -1;
        s->in_off += used;
        if (made) {
            digester_update(&s->diff, out, made);
            s->tar_size += made;
            return (ssize_t)made;
        }
        if (s->in_eof && s->in_off == s->in_len) {
            if (!decompressor_finished(s->dz))
                return berth_user_error(&s->err, EINVAL, "layer data is truncated"), -1;
            return 0;
        }
    }
}

static void *produce(void *arg)
{
    struct source *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (s->head - s->tail == RING_SLOTS && !s->stop) {
            s->producer_waits = true;
            pthread_cond_wait(&s->cond, &s->lock);
        }
        s->producer_waits = false;
        bool stop = s->stop;
        unsigned slot = s->head % RING_SLOTS; /* not in [tail, head): ours to fill */
        pthread_mutex_unlock(&s->lock);
        ssize_t n = stop ? 0 : next_bytes(s, s->slot[slot], SLOT_SIZE);
        pthread_mutex_lock(&s->lock);
        if (n > 0) {
            s->slot_len[slot] = (size_t)n;
            s->head++;
        } else {
            s->done = true;
            s->result = n < 0 ? -1 : 0;
        }
        if (s->unpacker_waits)
            pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        if (n <= 0)
            return NULL;
    }
}

/* Unpacker side: give back the chunk libarchive had, then wait for the next one. Returns its
 * length, 0 at the end, or -1 (the producer's error is in s->err once it is joined). */
static ssize_t take_chunk(struct source *s, const void **buf)
{
    pthread_mutex_lock(&s->lock);
    if (s->held) {
        s->held = false;
        s->tail++;
        if (s->producer_waits && s->head - s->tail <= RING_SLOTS / 2) /* room for a few */
            pthread_cond_broadcast(&s->cond);
    }
    while (s->head == s->tail && !s->done) {
        s->unpacker_waits = true;
        pthread_cond_wait(&s->cond, &s->lock);
    }
    s->unpacker_waits = false;
    ssize_t n;
    if (s->head != s->tail) {
        *buf = s->slot[s->tail % RING_SLOTS];
        n = (ssize_t)s->slot_len[s->tail % RING_SLOTS];
        s->held = true;
    } else {
        n = s->result;
        s->ended = n == 0;
        s->source_failed = n < 0;
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}

static int source_start(struct source *s, unpack_read_fn read, void *ctx, struct berth_err **err)
{
    *s = (struct source){.read = read, .ctx = ctx, .in = xmalloc(IN_SIZE)};
    for (int i = 0; i < RING_SLOTS; i++)
        s->slot[i] = xmalloc(SLOT_SIZE);
    digester_init(&s->diff);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    int r = pthread_create(&s->thread, NULL, produce, s);
    if (r != 0) {
        s->done = true; /* nothing to join */
        return berth_error(err, r, "start the layer reader thread");
    }
    return 0;
}

/* Stop the producer (if still running) and wait for it; its error, if any, is in s->err. */
static void source_stop(struct source *s, bool started)
{
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    if (started)
        pthread_join(s->thread, NULL);
}

static void source_free(struct source *s)
{
    decompressor_free(s->dz);
    berth_err_free(s->err);
    free(s->in);
    for (int i = 0; i < RING_SLOTS; i++)
        free(s->slot[i]);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
}

static la_ssize_t archive_source(struct archive *a, void *ctx, const void **buf)
{
    struct source *s = ctx;
    ssize_t n = s->ended ? 0 : take_chunk(s, buf);
    if (n < 0) /* the message is read once the producer is joined (unpack_layer) */
        archive_set_error(a, EIO, "read failed");
    return n;
}

/* The tar ended: take what follows it too (padding), as the diff ID covers every byte. */
static int drain(struct source *s)
{
    const void *buf;
    ssize_t n;
    while (!s->ended && (n = take_chunk(s, &buf)) > 0)
        ;
    return s->ended ? 0 : -1;
}

/* ---- names ---- */

/* Docker's filepath.Clean("/" + name) without the leading slash: "." and empty parts vanish,
 * ".." pops a component and clamps at the root. "" is the root itself. */
static char *clean_name(const char *name)
{
    char *out = xmalloc(strlen(name) + 1);
    size_t len = 0;
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--;
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (len > 0)
                out[len++] = '/';
            memcpy(out + len, p, n);
            len += n;
        }
        p += n + (p[n] == '/');
    }
    out[len] = '\0';
    return out;
}

/* A name that climbs above the root once cleaned ("../x", "a/../../x"); a leading '/' is
 * stripped first, as go-archive does. docker cp refuses those where a layer clamps them. */
static bool escapes(const char *name)
{
    int depth = 0;
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (--depth < 0)
                return true;
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            depth++;
        }
        p += n + (p[n] == '/');
    }
    return false;
}

/* ---- the writer ---- */

struct dir_time {
    char *path;
    struct timespec ts[2];
};

enum unpack_mode {
    MODE_LAYER,   /* unpack_layer */
    MODE_ARCHIVE, /* unpack_archive: files that are read back */
    MODE_COPY,    /* unpack_copy: docker cp into a container */
};

struct unpacker {
    int root;
    enum unpack_mode mode;
    const struct unpack_copy_opts *copy; /* MODE_COPY's options */
    const char *copy_name;               /* the entry being applied, cleaned */
    struct archive *a;
    char *parent_path; /* cached parent directory */
    int parent_fd;
    bool parent_stale; /* something was removed: resolve again before the next entry */
    struct dir_time *dirs;
    size_t ndirs;
    uint64_t entries, disk_size;
    struct berth_err **err;
};

static int open_in_root(int root, const char *path, int flags, mode_t mode)
{
    struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC,
                           .mode = mode,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, root, *path ? path : ".", &how, sizeof(how));
    return fd < 0 ? -errno : fd;
}

static void forget_parent(struct unpacker *u)
{
    if (u->parent_fd >= 0)
        close(u->parent_fd);
    u->parent_fd = -1;
    free(u->parent_path);
    u->parent_path = NULL;
}

/* The directory `path` inside the layer, created (0755) with any missing ancestors. */
static int parent_dir(struct unpacker *u, const char *path)
{
    if (u->parent_path && !u->parent_stale && strcmp(u->parent_path, path) == 0)
        return u->parent_fd;
    forget_parent(u);
    u->parent_stale = false;
    int fd = open_in_root(u->root, path, O_PATH | O_DIRECTORY, 0);
    if (fd == -ENOENT) { /* tar streams may omit directory entries */
        _cleanup_free_ char *copy = xstrdup(path);
        char *slash = strrchr(copy, '/');
        if (slash)
            *slash = '\0';
        int up = parent_dir(u, slash ? copy : "");
        if (up < 0)
            return up;
        const char *base = slash ? slash + 1 : copy;
        if (mkdirat(up, base, 0755) < 0 && errno != EEXIST)
            return berth_error(u->err, errno, "mkdir `%s`", path);
        forget_parent(u);
        fd = open_in_root(u->root, path, O_PATH | O_DIRECTORY, 0);
    }
    if (fd < 0)
        return berth_error(u->err, -fd, "open directory `%s` in the layer", path);
    u->parent_fd = fd;
    u->parent_path = xstrdup(path);
    return fd;
}

/* Make room for a new entry named base: an existing non-directory goes; so does a directory,
 * unless keep_dir (a directory entry over a directory merges). dfd is the cached parent, which
 * stays valid: only its child base goes away. */
static int make_room(struct unpacker *u, int dfd, const char *base, bool keep_dir, bool *is_dir)
{
    struct stat st;
    *is_dir = false;
    if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : berth_error(u->err, errno, "stat `%s`", base);
    if (u->copy && u->copy->no_overwrite_dir_nondir && u->copy_name &&
        S_ISDIR(st.st_mode) != keep_dir) /* dockerd's words, and its 500 */
        return berth_user_error(u->err, EIO, "cannot overwrite %s \"%s\" with %s \"%s\"",
                                keep_dir ? "non-directory" : "directory", u->copy_name,
                                keep_dir ? "directory" : "non-directory", u->copy->dest);
    if (S_ISDIR(st.st_mode) && keep_dir) {
        *is_dir = true;
        return 0;
    }
    u->parent_stale = true; /* what goes may be on the cached parent's path; dfd stays usable */
    if (!S_ISDIR(st.st_mode))
        return unlinkat(dfd, base, 0) < 0 ? berth_error(u->err, errno, "replace `%s`", base) : 0;
    _cleanup_close_ int sub = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    _cleanup_closedir_ DIR *d = sub >= 0 ? fs_opendir_at(sub, ".") : NULL;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (fs_is_dot(e->d_name))
            continue;
        bool sub_dir;
        int r = make_room(u, sub, e->d_name, false, &sub_dir);
        if (r < 0)
            return r;
    }
    return unlinkat(dfd, base, AT_REMOVEDIR) < 0 ? berth_error(u->err, errno, "replace `%s`", base)
                                                 : 0;
}

/* Owner first, then mode (chown clears setuid), then xattrs (chown clears
 * security.capability), then times. fd is a regular open of the file or directory. What we
 * created mostly has the entry's owner and mode already: a stat is cheaper than changing an
 * inode twice, and a setgid parent, an ACL or the umask can still make either differ. */
/* The owner an entry gets: its own, or docker cp's copyUIDGID user. */
static void entry_owner(const struct unpacker *u, struct archive_entry *e, uid_t *uid, gid_t *gid)
{
    bool chown_all = u->copy && u->copy->chown;
    *uid = chown_all ? u->copy->uid : (uid_t)archive_entry_uid(e);
    *gid = chown_all ? u->copy->gid : (gid_t)archive_entry_gid(e);
}

static int set_meta_fd(struct unpacker *u, int fd, struct archive_entry *e, const char *name)
{
    uid_t uid;
    gid_t gid;
    entry_owner(u, e, &uid, &gid);
    mode_t perm = archive_entry_perm(e) & 07777;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return berth_error(u->err, errno, "stat `%s`", name);
    bool chown_it = st.st_uid != uid || st.st_gid != gid;
    if ((chown_it && fchown(fd, uid, gid) < 0) ||
        ((chown_it || (st.st_mode & 07777) != perm) && fchmod(fd, perm) < 0))
        return berth_error(u->err, errno, "set owner and mode of `%s`", name);
    const char *xname;
    const void *value;
    size_t size;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &xname, &value, &size) == ARCHIVE_OK)
        if (fsetxattr(fd, xname, value, size, 0) < 0 && errno != ENOTSUP)
            return berth_error(u->err, errno, "set xattr %s on `%s`", xname, name);
    return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
    ts[0] = (struct timespec){
        .tv_sec = archive_entry_atime_is_set(e) ? archive_entry_atime(e) : archive_entry_mtime(e),
        .tv_nsec = archive_entry_atime_is_set(e) ? archive_entry_atime_nsec(e)
                                                 : archive_entry_mtime_nsec(e)};
    ts[1] =
        (struct timespec){.tv_sec = archive_entry_mtime(e), .tv_nsec = archive_entry_mtime_nsec(e)};
}

/* Regular file data, sparse holes kept: blocks come with their offsets. *end is where the data
 * written ends. A big file's writeback starts as soon as it is written (see fs_writeback). */
static int write_data(struct unpacker *u, int fd, const char *name, int64_t *end)
{
    const void *buf;
    size_t len;
    la_int64_t off;
    int r;
    struct fs_writeback wb = {0};
    while ((r = archive_read_data_block(u->a, &buf, &len, &off)) == ARCHIVE_OK) {
        for (size_t done = 0; done < len;) {
            ssize_t n = pwrite(fd, (const char *)buf + done, len - done, off + (off_t)done);
            if (n < 0)
                return berth_error(u->err, errno, "write `%s`", name);
            fs_writeback_note(&wb, fd, off + (off_t)done, (size_t)n);
            done += (size_t)n;
        }
        if (off + (int64_t)len > *end)
            *end = off + (int64_t)len;
    }
    if (r != ARCHIVE_EOF)
        return berth_user_error(u->err, EINVAL, "read `%s` from the layer: %s", name,
                                archive_error_string(u->a));
    fs_writeback_flush(&wb, fd, WRITEBACK_MIN);
    return 0;
}

/* The data, size, owner, mode and times of a regular file just created as fd. */
static int fill_file(struct unpacker *u, int fd, struct archive_entry *e, const char *name)
{
    int64_t size = archive_entry_size(e), end = 0;
    u->disk_size += (uint64_t)size;
    int r = write_data(u, fd, name, &end);
    if (r < 0)
        return r;
    if (end != size && ftruncate(fd, size) < 0) /* a sparse file's trailing hole */
        return berth_error(u->err, errno, "size `%s`", name);
    if ((r = set_meta_fd(u, fd, e, name)) < 0)
        return r;
    struct timespec ts[2];
    entry_times(e, ts);
    if (futimens(fd, ts) < 0)
        return berth_error(u->err, errno, "set times of `%s`", name);
    return 0;
}

static int make_file(struct unpacker *u, int dfd, const char *base, struct archive_entry *e,
                     const char *name)
{
    _cleanup_close_ int fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                    archive_entry_perm(e) & 0777);
    if (fd < 0)
        return berth_error(u->err, errno, "create `%s`", name);
    return fill_file(u, fd, e, name);
}

/* Most entries of a layer are new files in a directory that exists: one openat2 of the whole
 * name (inside the layer, O_EXCL: the final name is never followed) creates them. Returns 1
 * when it did, 0 when it could not (a missing parent, a name already taken...: the general
 * path deals with those and words their errors), or the error of filling it. */
static int make_new_file(struct unpacker *u, struct archive_entry *e, const char *name)
{
    _cleanup_close_ int fd = open_in_root(u->root, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
                                          archive_entry_perm(e) & 0777);
    if (fd < 0)
        return 0;
    u->entries++;
    int r = fill_file(u, fd, e, name);
    return r < 0 ? r : 1;
}

static int make_dir(struct unpacker *u, int dfd, const char *base, struct archive_entry *e,
                    const char *name, bool exists)
{
    if (!exists && mkdirat(dfd, base, 0700) < 0)
        return berth_error(u->err, errno, "mkdir `%s`", name);
    _cleanup_close_ int fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return berth_error(u->err, errno, "open `%s`", name);
    int r = set_meta_fd(u, fd, e, name);
    if (r < 0)
        return r;
    /* times last, once nothing more is created inside (see finish_dirs) */
    u->dirs = xrealloc(u->dirs, (u->ndirs + 1) * sizeof(*u->dirs));
    u->dirs[u->ndirs].path = xstrdup(name);
    entry_times(e, u->dirs[u->ndirs++].ts);
    return 0;
}

/* Symlinks, devices and fifos: created by name; owner and times without following. */
static int make_special(struct unpacker *u, int dfd, const char *base, struct archive_entry *e,
                        const char *name)
{
    mode_t type = archive_entry_filetype(e);
    int r = type == AE_IFLNK
                ? symlinkat(archive_entry_symlink(e) ? archive_entry_symlink(e) : "", dfd, base)
                : mknodat(dfd, base, type | (archive_entry_perm(e) & 07777), archive_entry_rdev(e));
    if (r < 0)
        return berth_error(u->err, errno, "create `%s`", name);
    uid_t uid;
    gid_t gid;
    entry_owner(u, e, &uid, &gid);
    if (fchownat(dfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        return berth_error(u->err, errno, "set owner of `%s`", name);
    if (type != AE_IFLNK && fchmodat(dfd, base, archive_entry_perm(e) & 07777, 0) < 0)
        return berth_error(u->err, errno, "set mode of `%s`", name); /* we just made it */
    struct timespec ts[2];
    entry_times(e, ts);
    if (utimensat(dfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return berth_error(u->err, errno, "set times of `%s`", name);
    return 0;
}

/* The target must already be in this layer; it is resolved inside it and never followed. */
static int make_hardlink(struct unpacker *u, int dfd, const char *base, const char *target,
                         const char *name)
{
    if (u->mode == MODE_COPY && escapes(target)) /* go-archive's words; 500 as in dockerd */
        return berth_user_error(u->err, EIO, "invalid hardlink target \"%s\"", target);
    _cleanup_free_ char *clean = clean_name(target);
    _cleanup_close_ int tfd = open_in_root(u->root, clean, O_PATH | O_NOFOLLOW, 0);
    if (tfd < 0)
        return berth_user_error(u->err, EINVAL,
                                "invalid hardlink `%s` → `%s`: target is not in "
                                "the layer",
                                name, target);
    struct stat st;
    if (fstat(tfd, &st) == 0 && S_ISDIR(st.st_mode))
        return berth_user_error(u->err, EINVAL,
                                "invalid hardlink `%s` → `%s`: target is a "
                                "directory",
                                name, target);
    if (linkat(tfd, "", dfd, base, AT_EMPTY_PATH) < 0)
        return berth_error(u->err, errno, "link `%s`", name);
    return 0;
}

/* ".wh..wh..opq" marks its directory opaque; ".wh.NAME" becomes a 0:0 character device NAME;
 * other ".wh..wh." names are aufs bookkeeping and are skipped. */
static int whiteout(struct unpacker *u, int dfd, const char *dir, const char *base)
{
    if (strcmp(base, ".wh..wh..opq") == 0) {
        _cleanup_close_ int fd = open_in_root(u->root, dir, O_RDONLY | O_DIRECTORY, 0);
        if (fd < 0 || fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) < 0)
            return berth_error(u->err, fd < 0 ? -fd : errno, "mark `%s` opaque", dir);
        return 0;
    }
    if (strncmp(base, ".wh..wh.", 8) == 0)
        return 0;
    const char *target = base + 4;
    bool is_dir;
    if (!*target || strcmp(target, ".") == 0 || strcmp(target, "..") == 0)
        return berth_user_error(u->err, EINVAL, "invalid whiteout `%s%s%s`", dir, *dir ? "/" : "",
                                base);
    int r = make_room(u, dfd, target, false, &is_dir);
    if (r < 0)
        return r;
    if (mknodat(dfd, target, S_IFCHR, makedev(0, 0)) < 0)
        return berth_error(u->err, errno, "whiteout `%s/%s`", dir, target);
    return 0;
}

static const char *type_name(mode_t type)
{
    switch (type) {
    case AE_IFCHR:
        return "a character device";
    case AE_IFBLK:
        return "a block device";
    case AE_IFIFO:
        return "a fifo";
    case AE_IFSOCK:
        return "a socket";
    default:
        return "of an unsupported type";
    }
}

/* A plain archive is read back after unpacking: a device would be read forever (or do what
 * opening it does), a fifo would block its reader, so neither is ever made. */
static int refuse_entry(struct unpacker *u, const char *name, mode_t type)
{
    return berth_user_error(u->err, EINVAL,
                            "`%s` is %s: an image archive may hold only files, directories "
                            "and links",
                            name, type_name(type));
}

static int apply_entry(struct unpacker *u, struct archive_entry *e)
{
    const char *raw = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    if (u->mode == MODE_COPY && escapes(raw)) /* go-archive's words; 500 as in dockerd */
        return berth_user_error(u->err, EIO, "invalid entry name \"%s\"", raw);
    _cleanup_free_ char *name = clean_name(raw);
    if (!*name)
        return 0;        /* the layer's root itself */
    u->copy_name = name; /* for make_room's words */
    char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    mode_t type = archive_entry_filetype(e);
    const char *link = archive_entry_hardlink(e);
    if (u->mode == MODE_ARCHIVE && !link && type != AE_IFREG && type != AE_IFDIR &&
        type != AE_IFLNK)
        return refuse_entry(u, name, type);
    bool is_whiteout = u->mode == MODE_LAYER && strncmp(base, ".wh.", 4) == 0;
    if (type == AE_IFREG && !link && !is_whiteout) {
        int made = make_new_file(u, e, name);
        if (made != 0)
            return made < 0 ? made : 0;
    }
    _cleanup_free_ char *dir = slash ? xstrndup(name, (size_t)(slash - name)) : xstrdup("");
    int dfd = parent_dir(u, dir);
    if (dfd < 0)
        return dfd;
    u->entries++;
    if (is_whiteout)
        return whiteout(u, dfd, dir, base);
    bool exists;
    int r = make_room(u, dfd, base, type == AE_IFDIR && !link, &exists);
    if (r < 0)
        return r;
    if (link)
        return make_hardlink(u, dfd, base, link, name);
    if (type == AE_IFREG)
        return make_file(u, dfd, base, e, name);
    if (type == AE_IFDIR)
        return make_dir(u, dfd, base, e, name, exists);
    if (type == AE_IFLNK || type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO)
        return make_special(u, dfd, base, e, name);
    return berth_user_error(u->err, EINVAL, "`%s`: unsupported entry type %o", name, type);
}

/* Directory times are set last, when creating entries inside no longer changes them, and in
 * tar order, so the later of two entries for one directory wins (as in dockerd). A directory
 * a later entry replaced (by a file, a symlink, a whiteout) is no longer there to set. */
static int finish_dirs(struct unpacker *u)
{
    for (size_t i = 0; i < u->ndirs; i++) {
        const char *path = u->dirs[i].path;
        _cleanup_close_ int fd =
            open_in_root(u->root, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        if (fd >= 0 && futimens(fd, u->dirs[i].ts) < 0)
            return berth_error(u->err, errno, "set times of `%s`", path);
        if (fd < 0 && fd != -ENOENT && fd != -ENOTDIR && fd != -ELOOP)
            return berth_error(u->err, -fd, "set times of `%s`", path);
    }
    return 0;
}

static void unpacker_release(struct unpacker *u)
{
    forget_parent(u);
    archive_read_free(u->a);
    for (size_t i = 0; i < u->ndirs; i++)
        free(u->dirs[i].path);
    free(u->dirs);
}

/* libarchive's words for a stream that is not a (complete) tar; an archive's caller says
 * what it was meant to be. */
static int bad_tar(struct unpacker *u)
{
    return berth_user_error(u->err, EINVAL, "%s%s",
                            u->mode == MODE_LAYER ? "invalid layer tar: " : "",
                            archive_error_string(u->a));
}

static int read_entries(struct unpacker *u)
{
    struct archive_entry *e;
    int ar;
    while ((ar = archive_read_next_header(u->a, &e)) == ARCHIVE_OK) {
        int r = apply_entry(u, e);
        if (r < 0)
            return r;
    }
    if (ar != ARCHIVE_EOF)
        return bad_tar(u);
    return 0;
}

/* The entries, then the directories' times, then what follows the tar in the stream. */
static int unpack_all(struct unpacker *u, struct source *s)
{
    if (archive_read_open(u->a, s, NULL, archive_source, NULL) != ARCHIVE_OK)
        return bad_tar(u);
    int r = read_entries(u);
    if (r < 0)
        return r;
    if ((r = finish_dirs(u)) < 0)
        return r;
    if (drain(s) < 0)
        return -EIO;
    return 0;
}

static int unpack(int dirfd, enum unpack_mode mode, const struct unpack_copy_opts *copy,
                  unpack_read_fn read, void *ctx, struct unpack_result *res, struct berth_err **err)
{
    /* s is declared first so that it is freed last, after the archive that reads from it */
    _cleanup_(source_free) struct source s = {0};
    _cleanup_(unpacker_release) struct unpacker u = {.root = dirfd,
                                                     .mode = mode,
                                                     .copy = copy,
                                                     .parent_fd = -1,
                                                     .a = archive_read_new(),
                                                     .err = err};
    archive_read_support_format_tar(u.a);
    archive_read_support_format_empty(u.a);
    int r = source_start(&s, read, ctx, err);
    if (r < 0)
        return r;
    r = unpack_all(&u, &s);
    source_stop(&s, true); /* whatever happened: the producer's error is read once it is joined */
    if (r < 0 && s.source_failed && s.err) { /* the source's own words beat libarchive's */
        berth_err_freep(err);
        *err = take_ptr(s.err);
        return berth_err_code(*err);
    }
    if (r < 0)
        return r;
    *res = (struct unpack_result){
        .tar_size = s.tar_size, .entries = u.entries, .disk_size = u.disk_size};
    digester_final(&s.diff, res->diff_id);
    return 0;
}

int unpack_layer(int dirfd, unpack_read_fn read, void *ctx, struct unpack_result *res,
                 struct berth_err **err)
{
    return unpack(dirfd, MODE_LAYER, NULL, read, ctx, res, err);
}

int unpack_archive(int dirfd, unpack_read_fn read, void *ctx, struct unpack_result *res,
                   struct berth_err **err)
{
    return unpack(dirfd, MODE_ARCHIVE, NULL, read, ctx, res, err);
}

int unpack_copy(int dirfd, const struct unpack_copy_opts *o, unpack_read_fn read, void *ctx,
                struct berth_err **err)
{
    struct unpack_result res;
    return unpack(dirfd, MODE_COPY, o, read, ctx, &res, err);
}
