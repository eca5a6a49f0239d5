/* fs/layer.c — layer directories, their metadata (one atomic layer.json each), short links,
 * and the in-memory index. Unpacks happen in layers/tmp and appear by rename; deletions
 * disappear by rename into layers/tmp first, so a crash leaves only tmp to clean. */
#include "fs/layer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs/dirlist.h"
#include "core/buf.h"
#include "core/cleanup.h"
#include "core/clock.h"
#include "core/crashpoint.h"
#include "core/json.h"
#include "core/log.h"
#include "core/map.h"
#include "core/xalloc.h"
#include "fs/atomic.h"

/* Layers reach the disk in the background, off the pull's path. layer.json records the boot
 * during which the files were written ("Boot"); a flusher thread syncs the file system and
 * then leaves SYNCED_MARK in the layer's directory. At start-up, a layer without the mark from
 * this boot means only berthd died: the page cache still holds every file, so it is kept and
 * flushed. One from another boot means the machine went down before its files were known to
 * be on disk: it goes, its images are no longer listed, and pulling again fetches it. Layers
 * without "Boot" were synced before they were committed. */
#define SYNCED_MARK "synced"
/* A flush waits for unpacking to pause this long (a pull's layers commit within a fraction of
 * a second of each other, and a syncfs would stall them), but never delays a layer longer than
 * FLUSH_MAX_DELAY_MS, nor anyone waiting in layer_store_flush. */
#define FLUSH_QUIET_MS     1000
#define FLUSH_MAX_DELAY_MS 10000

/* The value of a link in flusher.pending. */
#define FLUSH_QUEUED  ((void *)1)
#define FLUSH_RUNNING ((void *)2)

struct flusher {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool started, stop;
    int waiters;               /* in layer_store_flush: flush now */
    uint64_t last_activity_ms; /* an unpack started or a layer was committed */
    uint64_t first_pending_ms; /* when the oldest queued layer was queued */
    struct map pending;        /* link of each committed layer not yet marked synced → state */
    size_t nqueued;            /* of them FLUSH_QUEUED, not yet in the batch being flushed */
    uint64_t queued, flushed;  /* tickets: a layer_store_flush waits until flushed >= queued */
};

struct layer_store {
    char *dir; /* ROOT/layers */
    char boot_id[40];
    struct flusher fl;
    struct map index;   /* chain id → struct layer */
    struct map unsaved; /* chain ids whose layer.json layer_save_later must rewrite */
    bool saving;        /* a rewrite job is in flight */
    struct map stale;   /* paths a crash left (in tmp/) for layer_store_take_stale */
};

const char *layer_store_dir(const struct layer_store *ls)
{
    return ls->dir;
}

void layer_chain_id(const char *parent_chain, const char *diff_id, char out[DIGEST_LEN + 1])
{
    if (!parent_chain || !*parent_chain) {
        snprintf(out, DIGEST_LEN + 1, "%s", diff_id);
        return;
    }
    _cleanup_free_ char *text = xasprintf("%s %s", parent_chain, diff_id);
    digest_buf(text, strlen(text), out);
}

void layer_free(struct layer *l)
{
    if (!l)
        return;
    json_decref(l->blobs);
    free(l);
}

/* ---- metadata ---- */

static json_t *layer_to_json(const struct layer *l)
{
    json_t *blobs = l->blobs ? json_incref(l->blobs) : json_array();
    json_t *j = json_pack("{ss ss ss ss sI sI so}", "ChainID", l->chain_id, "DiffID", l->diff_id,
                          "Parent", l->parent, "Link", l->link, "Size", (json_int_t)l->size,
                          "TarSize", (json_int_t)l->tar_size, "Blobs", blobs);
    if (l->boot_id[0])
        json_object_set_new(j, "Boot", json_string(l->boot_id));
    return j;
}

static struct layer *layer_from_json(const json_t *j)
{
    const char *chain = json_get_str(j, "ChainID"), *diff = json_get_str(j, "DiffID");
    const char *parent = json_get_str(j, "Parent"), *link = json_get_str(j, "Link");
    if (!digest_valid(chain) || !digest_valid(diff) || !link || strlen(link) != LAYER_LINK_LEN ||
        (parent && *parent && !digest_valid(parent)))
        return NULL;
    struct layer *l = xcalloc(1, sizeof(*l));
    snprintf(l->chain_id, sizeof(l->chain_id), "%s", chain);
    snprintf(l->diff_id, sizeof(l->diff_id), "%s", diff);
    snprintf(l->parent, sizeof(l->parent), "%s", parent ? parent : "");
    snprintf(l->link, sizeof(l->link), "%s", link);
    l->size = (uint64_t)json_get_int(j, "Size", 0);
    l->tar_size = (uint64_t)json_get_int(j, "TarSize", 0);
    snprintf(l->boot_id, sizeof(l->boot_id), "%s", json_get_str(j, "Boot") ?: "");
    json_t *blobs = json_object_get(j, "Blobs");
    l->blobs = json_is_array(blobs) ? json_incref(blobs) : json_array();
    return l;
}

static int write_meta(const char *dir, const struct layer *l, struct berth_err **err)
{
    _cleanup_json_ json_t *j = layer_to_json(l);
    _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
    _cleanup_free_ char *path = xasprintf("%s/layer.json", dir);
    return fs_write_atomic(path, text, strlen(text), 0600, err);
}

int layer_save(struct layer_store *ls, const struct layer *l, struct berth_err **err)
{
    _cleanup_free_ char *dir = xasprintf("%s/%s", ls->dir, l->link);
    return write_meta(dir, l, err);
}

/* ---- metadata rewrites, off the reactor ---- */

struct meta_save {
    struct pool_job job;
    struct layer_store *ls;
    struct pool *pool;
    char **paths, **texts;
    size_t n;
};

static void meta_save_work(struct pool_job *job)
{
    struct meta_save *ms = (struct meta_save *)job;
    for (size_t i = 0; i < ms->n; i++) {
        _cleanup_err_ struct berth_err *err = NULL;
        if (fs_write_atomic(ms->paths[i], ms->texts[i], strlen(ms->texts[i]), 0600, &err) < 0)
            log_warn("layers: %s", err->msg); /* also when the layer was deleted meanwhile */
    }
}

static void meta_save_start(struct layer_store *ls, struct pool *pool);

static void meta_save_done(struct pool_job *job)
{
    struct meta_save *ms = (struct meta_save *)job;
    for (size_t i = 0; i < ms->n; i++) {
        free(ms->paths[i]);
        free(ms->texts[i]);
    }
    free(ms->paths);
    free(ms->texts);
    ms->ls->saving = false;
    if (ms->ls->unsaved.len) /* changed while this job ran */
        meta_save_start(ms->ls, ms->pool);
    free(ms);
}

/* One job at a time: an older snapshot of a layer.json can never land after a newer one. */
static void meta_save_start(struct layer_store *ls, struct pool *pool)
{
    struct meta_save *ms = xcalloc(1, sizeof(*ms));
    *ms = (struct meta_save){
        .job = {.work = meta_save_work, .done = meta_save_done}, .ls = ls, .pool = pool};
    ms->paths = xcalloc(ls->unsaved.len + 1, sizeof(*ms->paths));
    ms->texts = xcalloc(ls->unsaved.len + 1, sizeof(*ms->texts));
    const char *chain;
    for (size_t i = 0; map_next(&ls->unsaved, &i, &chain, NULL);) {
        struct layer *l = layer_get(ls, chain);
        if (!l)
            continue; /* deleted since: nothing to write */
        _cleanup_json_ json_t *j = layer_to_json(l);
        ms->paths[ms->n] = xasprintf("%s/%s/layer.json", ls->dir, l->link);
        ms->texts[ms->n++] = json_dumps(j, JSON_COMPACT);
    }
    map_free(&ls->unsaved);
    ls->saving = true;
    pool_submit(pool, POOL_BULK, &ms->job);
}

void layer_save_later(struct layer_store *ls, struct pool *pool, const struct layer *l)
{
    map_put(&ls->unsaved, l->chain_id, (void *)1);
    if (!ls->saving)
        meta_save_start(ls, pool);
}

/* ---- short links ---- */

static void random_link(char out[LAYER_LINK_LEN + 1])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    unsigned char raw[LAYER_LINK_LEN];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        for (size_t i = 0; i < sizeof(raw); i++)
            raw[i] = (unsigned char)rand();
    for (size_t i = 0; i < LAYER_LINK_LEN; i++)
        out[i] = alphabet[raw[i] % (sizeof(alphabet) - 1)];
    out[LAYER_LINK_LEN] = '\0';
}

static int make_link(struct layer_store *ls, const struct layer *l, struct berth_err **err)
{
    _cleanup_free_ char *link = xasprintf("%s/l/%s", ls->dir, l->link);
    _cleanup_free_ char *target = xasprintf("../%s/diff", l->link);
    if (symlink(target, link) < 0 && errno != EEXIST)
        return berth_error(err, errno, "link layer %s", l->chain_id);
    return 0;
}

/* ---- removing trees ---- */

static int rm_at(int dirfd, const char *name, bool is_dir);

/* Unlink everything in the directory fd (which this closes); -errno on failure. */
static int empty_dir(int fd)
{
    _cleanup_closedir_ DIR *d = fs_opendir_fd(fd);
    if (!d)
        return -errno;
    for (struct dirent *e; (e = readdir(d));) {
        if (fs_is_dot(e->d_name))
            continue;
        bool sub = e->d_type == DT_DIR;
        struct stat st;
        if (e->d_type == DT_UNKNOWN && fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            sub = S_ISDIR(st.st_mode);
        int r = rm_at(fd, e->d_name, sub);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Unlink everything under dirfd/name without following symlinks, then name itself. */
static int rm_at(int dirfd, const char *name, bool is_dir)
{
    if (!is_dir)
        return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : (errno == ENOTDIR ? rm_at(dirfd, name, false) : -errno);
    int r = empty_dir(fd);
    if (r < 0)
        return r;
    if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

int layer_rm_tree(const char *path, struct berth_err **err)
{
    int r = rm_at(AT_FDCWD, path, true);
    return r < 0 ? berth_error(err, -r, "remove `%s`", path) : 0;
}

/* ---- index ---- */

struct layer *layer_get(struct layer_store *ls, const char *chain_id)
{
    return map_get(&ls->index, chain_id);
}

void layer_ref(struct layer_store *ls, const char *chain_id)
{
    struct layer *l = layer_get(ls, chain_id);
    if (l)
        l->refs++;
}

int layer_unref(struct layer_store *ls, const char *chain_id)
{
    struct layer *l = layer_get(ls, chain_id);
    if (!l)
        return 0;
    if (l->refs > 0)
        l->refs--;
    return l->refs;
}

struct layer *layer_register(struct layer_store *ls, struct layer *l)
{
    struct layer *old = layer_get(ls, l->chain_id);
    if (old)
        return old;
    map_put(&ls->index, l->chain_id, l);
    return l;
}

struct layer *layer_forget(struct layer_store *ls, const char *chain_id)
{
    return map_del(&ls->index, chain_id);
}

struct layer **layer_unused(struct layer_store *ls)
{
    struct layer **out = xcalloc(ls->index.len + 1, sizeof(*out));
    size_t n = 0;
    void *v;
    for (size_t i = 0; map_next(&ls->index, &i, NULL, &v);)
        if (((struct layer *)v)->refs == 0)
            out[n++] = v;
    return out;
}

bool layer_add_blob(struct layer *l, const char *digest, const char *media_type, uint64_t size,
                    const char *repo)
{
    size_t i;
    json_t *b;
    json_array_foreach(l->blobs, i, b)
    {
        if (strcmp(json_get_str(b, "Digest") ? json_get_str(b, "Digest") : "", digest) != 0)
            continue;
        json_t *repos = json_object_get(b, "Repos");
        bool known = false;
        for (size_t k = 0; repo && k < json_array_size(repos); k++)
            known |= strcmp(json_string_value(json_array_get(repos, k)), repo) == 0;
        if (repo && !known && json_is_array(repos))
            json_array_append_new(repos, json_string(repo));
        return repo && !known && json_is_array(repos);
    }
    json_array_append_new(l->blobs, json_pack("{ss ss sI s[]}", "Digest", digest, "MediaType",
                                              media_type, "Size", (json_int_t)size, "Repos"));
    if (repo)
        json_array_append_new(json_object_get(json_array_get(l->blobs, i), "Repos"),
                              json_string(repo));
    return true;
}

void layer_each(struct layer_store *ls, void (*fn)(struct layer *l, void *arg), void *arg)
{
    void *v;
    for (size_t i = 0; map_next(&ls->index, &i, NULL, &v);)
        fn(v, arg);
}

char *layer_lowerdir(struct layer_store *ls, const char *chain_id)
{
    struct buf b = {0};
    for (struct layer *l = layer_get(ls, chain_id); l; l = layer_get(ls, l->parent)) {
        buf_printf(&b, "%sl/%s", b.len ? ":" : "", l->link);
        if (!l->parent[0])
            break;
    }
    buf_reserve(&b, 0);
    return buf_steal(&b, NULL);
}

/* ---- durability (see SYNCED_MARK) ---- */

/* One batch: the files, then their marks, each made durable by a syncfs. */
static void flush_batch(struct layer_store *ls, char **links, size_t n)
{
    _cleanup_close_ int fd = open(ls->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || syncfs(fd) < 0) {
        log_warn("layers: sync `%s`: %s; not marked synced", ls->dir, strerror(errno));
        return; /* the layers are whole until the machine goes down; the next start retries */
    }
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *mark = xasprintf("%s/%s/%s", ls->dir, links[i], SYNCED_MARK);
        _cleanup_close_ int m = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (m < 0 && errno != ENOENT) /* ENOENT: deleted meanwhile */
            log_warn("layers: create `%s`: %s", mark, strerror(errno));
    }
    if (syncfs(fd) < 0)
        log_warn("layers: sync `%s`: %s", ls->dir, strerror(errno));
}

/* With the lock held: the queued links, now marked as the running batch. */
static char **flusher_take_batch(struct flusher *f, size_t *n)
{
    char **links = xcalloc(f->nqueued, sizeof(*links));
    const char *link;
    void *state;
    *n = 0;
    for (size_t i = 0; map_next(&f->pending, &i, &link, &state);)
        if (state == FLUSH_QUEUED)
            links[(*n)++] = xstrdup(link);
    for (size_t i = 0; i < *n; i++)
        map_put(&f->pending, links[i], FLUSH_RUNNING);
    f->nqueued = 0;
    return links;
}

/* With the lock held: wait until the queued layers should be flushed. */
static void flusher_wait_for_quiet(struct flusher *f)
{
    for (;;) {
        uint64_t quiet = f->last_activity_ms + FLUSH_QUIET_MS;
        uint64_t latest = f->first_pending_ms + FLUSH_MAX_DELAY_MS;
        uint64_t due = quiet < latest ? quiet : latest, now = mono_ms();
        if (f->stop || f->waiters || now >= due)
            return;
        struct timespec ts = {.tv_sec = (time_t)(due / 1000),
                              .tv_nsec = (long)(due % 1000) * 1000000};
        pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    }
}

static void *flusher_run(void *arg)
{
    struct layer_store *ls = arg;
    struct flusher *f = &ls->fl;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (!f->nqueued && !f->stop)
            pthread_cond_wait(&f->cv, &f->mu);
        if (!f->nqueued)
            break;
        flusher_wait_for_quiet(f);
        size_t n;
        char **links = flusher_take_batch(f, &n);
        uint64_t upto = f->queued;
        pthread_mutex_unlock(&f->mu);
        flush_batch(ls, links, n);
        pthread_mutex_lock(&f->mu);
        for (size_t i = 0; i < n; i++) {
            map_del(&f->pending, links[i]);
            free(links[i]);
        }
        free(links);
        f->flushed = upto;
        pthread_cond_broadcast(&f->cv);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* Any thread: queue a committed layer (by its link) for the flusher. */
static void flusher_add(struct layer_store *ls, const char *link)
{
    struct flusher *f = &ls->fl;
    pthread_mutex_lock(&f->mu);
    f->last_activity_ms = mono_ms();
    if (!f->nqueued)
        f->first_pending_ms = f->last_activity_ms;
    map_put(&f->pending, link, FLUSH_QUEUED);
    f->nqueued++;
    f->queued++;
    if (!f->started) {
        int e = pthread_create(&f->thread, NULL, flusher_run, ls);
        if (e != 0) /* the layers stay unmarked: the next start flushes them */
            log_warn("layers: start the flusher: %s", strerror(e));
        f->started = e == 0;
    }
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

void layer_store_flush(struct layer_store *ls)
{
    struct flusher *f = &ls->fl;
    pthread_mutex_lock(&f->mu);
    uint64_t want = f->queued;
    f->waiters++;
    pthread_cond_broadcast(&f->cv); /* the flusher may be waiting for quiet */
    while (f->started && f->flushed < want)
        pthread_cond_wait(&f->cv, &f->mu);
    f->waiters--;
    pthread_mutex_unlock(&f->mu);
}

bool layer_chain_unsynced(struct layer_store *ls, const char *chain_id)
{
    bool found = false;
    pthread_mutex_lock(&ls->fl.mu);
    for (struct layer *l = layer_get(ls, chain_id); l && !found; l = layer_get(ls, l->parent))
        found = map_get(&ls->fl.pending, l->link) != NULL;
    pthread_mutex_unlock(&ls->fl.mu);
    return found;
}

static void flusher_stop(struct layer_store *ls)
{
    struct flusher *f = &ls->fl;
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_cond_broadcast(&f->cv);
    bool started = f->started;
    pthread_mutex_unlock(&f->mu);
    if (started)
        pthread_join(f->thread, NULL); /* it flushes what is queued first */
    map_free(&f->pending);
}

/* A layer whose files may not be on disk: *same_boot when they were written during this boot
 * (so the page cache still has them). */
static bool unsynced(const struct layer_store *ls, const struct layer *l, const char *dir,
                     bool *same_boot)
{
    _cleanup_free_ char *mark = xasprintf("%s/%s", dir, SYNCED_MARK);
    if (!l->boot_id[0] || access(mark, F_OK) == 0)
        return false;
    *same_boot = ls->boot_id[0] && strcmp(l->boot_id, ls->boot_id) == 0;
    return true;
}

/* ---- load ---- */

/* Move ROOT/layers/NAME into tmp/ and drop its link: fast, so start-up need not wait for a
 * tree to be deleted. The path it now has is returned (heap). */
static char *trash_dir(struct layer_store *ls, const char *name, struct berth_err **err)
{
    _cleanup_free_ char *link = xasprintf("%s/l/%s", ls->dir, name);
    _cleanup_free_ char *src = xasprintf("%s/%s", ls->dir, name);
    _cleanup_free_ char *dst = xasprintf("%s/tmp/delete-%s", ls->dir, name);
    unlink(link);
    if (rename(src, dst) < 0 && errno != ENOENT) {
        berth_error(err, errno, "remove `%s`", src);
        return NULL;
    }
    return take_ptr(dst);
}

/* A directory without valid metadata, or a second copy of a chain (two pulls committed it
 * and a crash came before one was removed), goes to the stale set. */
static void load_one(struct layer_store *ls, const char *name)
{
    _cleanup_free_ char *dir = xasprintf("%s/%s", ls->dir, name);
    _cleanup_free_ char *path = xasprintf("%s/layer.json", dir);
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        fs_sweep_temps(dfd); /* a layer.json rewrite a crash interrupted */
    json_error_t je;
    _cleanup_json_ json_t *j = json_load_file(path, 0, &je);
    struct layer *l = j ? layer_from_json(j) : NULL;
    bool same_boot = false, pending = l && unsynced(ls, l, dir, &same_boot);
    bool lost = pending && !same_boot;
    if (!l || strcmp(l->link, name) != 0 || lost || layer_register(ls, l) != l) {
        log_warn("layers: removing `%s`: %s", dir,
                 !l     ? "no valid layer.json"
                 : lost ? "its files were not yet on disk when the machine went down"
                        : "duplicate");
        layer_free(l);
        _cleanup_free_ char *trash = trash_dir(ls, name, &err);
        if (trash)
            map_put(&ls->stale, trash, (void *)1);
        else
            log_warn("layers: %s", err->msg);
        return;
    }
    if (make_link(ls, l, &err) < 0) /* a crash between rename and symlink */
        log_warn("layers: %s", err->msg);
    if (pending) /* berthd died before its flush: the page cache still has the files */
        flusher_add(ls, l->link);
}

/* Everything in tmp/ at start-up is what a crash interrupted: unpacks and deletions. */
static int note_stale_tmp(struct layer_store *ls, const char *tmp, struct berth_err **err)
{
    _cleanup_closedir_ DIR *d = opendir(tmp);
    if (!d)
        return berth_error(err, errno, "read `%s`", tmp);
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            _cleanup_free_ char *path = xasprintf("%s/%s", tmp, e->d_name);
            map_put(&ls->stale, path, (void *)1);
        }
    return 0;
}

void layer_store_take_stale(struct layer_store *ls, struct map *into)
{
    map_move(&ls->stale, into);
}

/* The kernel's ID of this boot ("" if unreadable: unsynced layers then count as another boot's). */
static void read_boot_id(char *out, size_t cap)
{
    _cleanup_free_ char *text = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    size_t len;
    out[0] = '\0';
    if (fs_read_file("/proc/sys/kernel/random/boot_id", &text, &len, &err) == 0)
        snprintf(out, cap, "%.*s", (int)strcspn(text, "\n"), text);
}

static int load_all(struct layer_store *ls, struct berth_err **err)
{
    _cleanup_closedir_ DIR *d = opendir(ls->dir);
    if (!d)
        return berth_error(err, errno, "read `%s`", ls->dir);
    for (struct dirent *e; (e = readdir(d));)
        if (strlen(e->d_name) == LAYER_LINK_LEN)
            load_one(ls, e->d_name);
    return 0;
}

/* Make the store's directories, note what a crash left in tmp, and load the index. */
static int open_dirs(struct layer_store *ls, struct berth_err **err)
{
    _cleanup_free_ char *links = xasprintf("%s/l", ls->dir);
    _cleanup_free_ char *tmp = xasprintf("%s/tmp", ls->dir);
    int r = fs_mkdir_p(links, 0700, err);
    if (r < 0)
        return r;
    if ((r = fs_mkdir_p(tmp, 0700, err)) < 0)
        return r;
    if ((r = note_stale_tmp(ls, tmp, err)) < 0)
        return r;
    return load_all(ls, err);
}

int layer_store_open(const char *root, struct layer_store **out, struct berth_err **err)
{
    struct layer_store *ls = xcalloc(1, sizeof(*ls));
    ls->dir = xasprintf("%s/layers", root);
    pthread_mutex_init(&ls->fl.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the flusher's timed waits */
    pthread_cond_init(&ls->fl.cv, &ca);
    pthread_condattr_destroy(&ca);
    read_boot_id(ls->boot_id, sizeof(ls->boot_id));
    int r = open_dirs(ls, err);
    if (r < 0) { /* the store is freed here, whichever step failed */
        layer_store_close(ls);
        return r;
    }
    *out = ls;
    return 0;
}

void layer_store_close(struct layer_store *ls)
{
    if (!ls)
        return;
    flusher_stop(ls);
    void *v;
    for (size_t i = 0; map_next(&ls->index, &i, NULL, &v);)
        layer_free(v);
    map_free(&ls->index);
    map_free(&ls->unsaved);
    map_free(&ls->stale);
    pthread_mutex_destroy(&ls->fl.mu);
    pthread_cond_destroy(&ls->fl.cv);
    free(ls->dir);
    free(ls);
}

/* ---- new layers and deletion (blocking) ---- */

int layer_tmp_new(struct layer_store *ls, char **tmp_dir, int *diff_fd, struct berth_err **err)
{
    pthread_mutex_lock(&ls->fl.mu);
    ls->fl.last_activity_ms = mono_ms(); /* a flush now would stall this unpack */
    pthread_mutex_unlock(&ls->fl.mu);
    _cleanup_free_ char *dir = xasprintf("%s/tmp/unpack-XXXXXX", ls->dir);
    if (!mkdtemp(dir))
        return berth_error(err, errno, "create a directory in `%s/tmp`", ls->dir);
    _cleanup_free_ char *diff = xasprintf("%s/diff", dir);
    if (mkdir(diff, 0755) < 0)
        return berth_error(err, errno, "mkdir `%s`", diff);
    int fd = open(diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return berth_error(err, errno, "open `%s`", diff);
    *diff_fd = fd;
    *tmp_dir = take_ptr(dir);
    return 0;
}

/* The layer's files reach the disk later (see SYNCED_MARK); its metadata is durable before the
 * rename and the link make it appear. */
int layer_commit(struct layer_store *ls, const char *tmp_dir, struct layer *l,
                 struct berth_err **err)
{
    random_link(l->link);
    snprintf(l->boot_id, sizeof(l->boot_id), "%s", ls->boot_id);
    int r = write_meta(tmp_dir, l, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *dst = xasprintf("%s/%s", ls->dir, l->link);
    if (rename(tmp_dir, dst) < 0)
        return berth_error(err, errno, "commit layer %s", l->chain_id);
    _cleanup_close_ int dfd = open(ls->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        fsync(dfd);
    r = make_link(ls, l, err);
    flusher_add(ls, l->link);
    crashpoint("layer-committed");
    return r;
}

int layer_trash(struct layer_store *ls, const struct layer *l, char **trash_path,
                struct berth_err **err)
{
    *trash_path = trash_dir(ls, l->link, err);
    return *trash_path ? 0 : berth_error_wrap(err, "remove layer %s", l->chain_id);
}

struct discard {
    struct pool_job job;
    struct layer_store *ls;
    struct layer *l;
};

static void discard_work(struct pool_job *job)
{
    struct discard *d = (struct discard *)job;
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_free_ char *trash = NULL;
    if (layer_trash(d->ls, d->l, &trash, &err) < 0 || layer_rm_tree(trash, &err) < 0)
        log_warn("layers: %s", err->msg); /* whatever is left goes at the next start */
}

static void discard_done(struct pool_job *job)
{
    struct discard *d = (struct discard *)job;
    layer_free(d->l);
    free(d);
}

void layer_discard(struct layer_store *ls, struct pool *pool, struct layer *l)
{
    struct discard *d = xcalloc(1, sizeof(*d));
    *d = (struct discard){.job = {.work = discard_work, .done = discard_done}, .ls = ls, .l = l};
    pool_submit(pool, POOL_BULK, &d->job);
}
