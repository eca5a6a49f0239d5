/* fs/store.c — content-addressed blobs. Writers use O_TMPFILE in the blob directory and
 * linkat() the verified file into place; the index of present digests is kept in memory
 * under a mutex, because pool jobs and the reactor both ask it. */
#include "fs/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/dirlist.h"
#include "core/cleanup.h"
#include "core/log.h"
#include "core/map.h"
#include "core/xalloc.h"
#include "fs/atomic.h"

struct store {
    char *dir;   /* ROOT/blobs/sha256 */
    char *trash; /* ROOT/blobs/trash: blobs collected at start-up, removed once it serves */
    int dirfd;
    struct map stale; /* paths in trash, for store_take_stale */
    pthread_mutex_t lock;
    struct map present; /* digest → (void *)1 */
};

struct blob_writer {
    struct store *s;
    int fd;
    struct digester d;
    uint64_t size;
    struct fs_writeback wb;
};

static void index_set(struct store *s, const char *digest, bool present)
{
    pthread_mutex_lock(&s->lock);
    if (present)
        map_put(&s->present, digest, (void *)1);
    else
        map_del(&s->present, digest);
    pthread_mutex_unlock(&s->lock);
}

bool store_has(struct store *s, const char *digest)
{
    pthread_mutex_lock(&s->lock);
    bool r = map_has(&s->present, digest);
    pthread_mutex_unlock(&s->lock);
    return r;
}

static int index_dir(struct store *s, struct berth_err **err)
{
    _cleanup_closedir_ DIR *d = fs_opendir_at(s->dirfd, ".");
    if (!d)
        return berth_error(err, errno, "read `%s`", s->dir);
    for (struct dirent *e; (e = readdir(d));) {
        char digest[sizeof(e->d_name) + 8];
        snprintf(digest, sizeof(digest), "sha256:%s", e->d_name);
        if (digest_valid(digest))
            map_put(&s->present, digest, (void *)1);
        else if (e->d_name[0] != '.')
            log_warn("store: ignoring stray file `%s/%s`", s->dir, e->d_name);
    }
    return 0;
}

/* A collection a crash interrupted left blobs in the trash: still to remove. */
static int note_stale_trash(struct store *s, struct berth_err **err)
{
    _cleanup_closedir_ DIR *d = opendir(s->trash);
    if (!d)
        return berth_error(err, errno, "read `%s`", s->trash);
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') {
            _cleanup_free_ char *path = xasprintf("%s/%s", s->trash, e->d_name);
            map_put(&s->stale, path, (void *)1);
        }
    return 0;
}

/* Make the store's directories, note what a crash left in the trash, and index the blobs. */
static int open_dirs(struct store *s, struct berth_err **err)
{
    int r = fs_mkdir_p(s->dir, 0700, err);
    if (r < 0)
        return r;
    if ((r = fs_mkdir_p(s->trash, 0700, err)) < 0)
        return r;
    if ((r = note_stale_trash(s, err)) < 0)
        return r;
    if ((s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return berth_error(err, errno, "open `%s`", s->dir);
    return index_dir(s, err);
}

int store_open(const char *root, struct store **out, struct berth_err **err)
{
    struct store *s = xcalloc(1, sizeof(*s));
    s->dir = xasprintf("%s/blobs/sha256", root);
    s->trash = xasprintf("%s/blobs/trash", root);
    s->dirfd = -1;
    pthread_mutex_init(&s->lock, NULL);
    int r = open_dirs(s, err);
    if (r < 0) { /* the store is freed here, whichever step failed */
        store_close(s);
        return r;
    }
    *out = s;
    return 0;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    if (s->dirfd >= 0)
        close(s->dirfd);
    map_free(&s->present);
    map_free(&s->stale);
    pthread_mutex_destroy(&s->lock);
    free(s->dir);
    free(s->trash);
    free(s);
}

char *store_blob_path(const struct store *s, const char *digest)
{
    return xasprintf("%s/%s", s->dir, digest_valid(digest) ? digest_hex(digest) : "invalid");
}

int store_writer_new(struct store *s, struct blob_writer **out, struct berth_err **err)
{
    int fd = openat(s->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        return berth_error(err, errno, "create a temporary blob in `%s`", s->dir);
    struct blob_writer *w = xcalloc(1, sizeof(*w));
    w->s = s;
    w->fd = fd;
    digester_init(&w->d);
    *out = w;
    return 0;
}

int store_writer_write(struct blob_writer *w, const void *p, size_t n, struct berth_err **err)
{
    digester_update(&w->d, p, n);
    w->size += n;
    for (const char *c = p; n > 0;) {
        ssize_t k = write(w->fd, c, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return berth_error(err, errno, "write blob");
        fs_writeback_note(&w->wb, w->fd, (off_t)(w->size - n), (size_t)k);
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

uint64_t store_writer_size(const struct blob_writer *w)
{
    return w->size;
}

void store_writer_digest(const struct blob_writer *w, char digest[DIGEST_LEN + 1])
{
    struct digester copy = w->d; /* finishing a copy leaves the running hash untouched */
    digester_final(&copy, digest);
}

void store_writer_abort(struct blob_writer *w)
{
    if (!w)
        return;
    close(w->fd); /* an O_TMPFILE vanishes with its last fd */
    free(w);
}

/* linkat of an O_TMPFILE by its /proc/self/fd path works without CAP_DAC_READ_SEARCH. */
static int link_in(struct blob_writer *w, const char *digest, struct berth_err **err)
{
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", w->fd);
    if (linkat(AT_FDCWD, proc, w->s->dirfd, digest_hex(digest), AT_SYMLINK_FOLLOW) < 0 &&
        errno != EEXIST)
        return berth_error(err, errno, "link blob %s", digest);
    if (fsync(w->s->dirfd) < 0)
        return berth_error(err, errno, "sync `%s`", w->s->dir);
    return 0;
}

static int commit(struct blob_writer *w, const char *expected, char digest[DIGEST_LEN + 1],
                  struct berth_err **err)
{
    digester_final(&w->d, digest);
    if (expected && strcmp(expected, digest) != 0)
        return berth_user_error(err, EINVAL, "digest mismatch: expected %s, got %s", expected,
                                digest);
    if (fsync(w->fd) < 0)
        return berth_error(err, errno, "sync blob");
    if (!store_has(w->s, digest)) {
        int r = link_in(w, digest, err);
        if (r < 0)
            return r;
    }
    index_set(w->s, digest, true);
    return 0;
}

int store_writer_commit(struct blob_writer *w, const char *expected, char digest[DIGEST_LEN + 1],
                        struct berth_err **err)
{
    int r = commit(w, expected, digest, err);
    store_writer_abort(w); /* whatever happened: the writer is spent */
    return r;
}

int store_put(struct store *s, const void *data, size_t len, const char *expected,
              char digest[DIGEST_LEN + 1], struct berth_err **err)
{
    struct blob_writer *w;
    int r = store_writer_new(s, &w, err);
    if (r < 0)
        return r;
    r = store_writer_write(w, data, len, err);
    if (r < 0) {
        store_writer_abort(w);
        return r;
    }
    return store_writer_commit(w, expected, digest, err);
}

int store_get(struct store *s, const char *digest, char **data, size_t *len, struct berth_err **err)
{
    if (!digest_valid(digest) || !store_has(s, digest))
        return berth_user_error(err, ENOENT, "blob %s not found", digest);
    _cleanup_free_ char *path = store_blob_path(s, digest);
    return fs_read_file(path, data, len, err);
}

int store_size(struct store *s, const char *digest, uint64_t *size, struct berth_err **err)
{
    struct stat st;
    if (!digest_valid(digest) || fstatat(s->dirfd, digest_hex(digest), &st, 0) < 0)
        return berth_user_error(err, ENOENT, "blob %s not found", digest);
    *size = (uint64_t)st.st_size;
    return 0;
}

int store_remove(struct store *s, const char *digest, struct berth_err **err)
{
    if (!digest_valid(digest))
        return berth_user_error(err, EINVAL, "invalid digest `%s`", digest);
    index_set(s, digest, false);
    if (unlinkat(s->dirfd, digest_hex(digest), 0) < 0 && errno != ENOENT)
        return berth_error(err, errno, "remove blob %s", digest);
    return fsync(s->dirfd) < 0 ? berth_error(err, errno, "sync `%s`", s->dir) : 0;
}

char **store_digests(struct store *s)
{
    pthread_mutex_lock(&s->lock);
    char **out = xcalloc(s->present.len + 1, sizeof(*out));
    const char *digest;
    size_t n = 0;
    for (size_t i = 0; map_next(&s->present, &i, &digest, NULL);)
        out[n++] = xstrdup(digest);
    pthread_mutex_unlock(&s->lock);
    return out;
}

int store_trash_unkept(struct store *s, const struct map *keep, uint64_t *bytes,
                       struct berth_err **err)
{
    const char *digest;
    int n = 0;
    *bytes = 0;
    _cleanup_strv_ char **doomed = xcalloc(s->present.len + 1, sizeof(*doomed));
    for (size_t i = 0; map_next(&s->present, &i, &digest, NULL);)
        if (!map_has(keep, digest))
            doomed[n++] = xstrdup(digest);
    for (int i = 0; i < n; i++) {
        _cleanup_free_ char *dst = xasprintf("%s/%s", s->trash, digest_hex(doomed[i]));
        struct stat st;
        if (fstatat(s->dirfd, digest_hex(doomed[i]), &st, 0) == 0)
            *bytes += (uint64_t)st.st_size;
        if (renameat(s->dirfd, digest_hex(doomed[i]), AT_FDCWD, dst) < 0 && errno != ENOENT)
            return berth_error(err, errno, "move blob %s to `%s`", doomed[i], s->trash);
        map_del(&s->present, doomed[i]);
        map_put(&s->stale, dst, (void *)1);
    }
    if (n > 0 && fsync(s->dirfd) < 0)
        return berth_error(err, errno, "sync `%s`", s->dir);
    return n;
}

void store_take_stale(struct store *s, struct map *into)
{
    map_move(&s->stale, into);
}
