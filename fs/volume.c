/* fs/volume.c — the local volume store: records loaded at start-up, volumes made and removed by
 * pool jobs with a rename at the one instant that decides (temp name -> name -> trash name),
 * the driver options mounted with moby's option words, and nothing deleted across a mount. */
#include "fs/volume.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/crashpoint.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "fs/atomic.h"
#include "fs/layer.h"
#include "fs/mountinfo.h"

#define RECORD     "volume.json"
#define DATA       "_data"
#define TMP_PREFIX ".tmp-"   /* a volume being made: no volume name starts with a dot */
#define RM_PREFIX  ".trash-" /* a volume being removed */

struct volume_store {
    char *dir; /* ROOT/volumes */
    struct pool *pool;
    struct map by_name;
    struct map stale; /* temp and trash directories a crash left */
    volume_notify_fn notify;
    void *notify_arg;
};

struct volume_waiter {
    volume_done_fn done;
    void *ctx;
    struct volume_waiter *next;
};

/* ---- names and options ---- */

int volume_check_name(const char *name, struct berth_err **err)
{
    bool ok = isalnum((unsigned char)name[0]) && name[1];
    for (const char *p = name + 1; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-';
    if (strlen(name) == 1)
        return berth_user_error(err, EINVAL,
                                "volume name is too short, names should be at least two "
                                "alphanumeric characters");
    if (!ok)
        return berth_user_error(err, EINVAL,
                                "\"%s\" includes invalid characters for a local volume name, only "
                                "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to "
                                "pass a host directory, use absolute path",
                                name);
    return 0;
}

/* go-units' RAMInBytes, far enough to tell a size from words: bytes, or -1. */
static long long ram_in_bytes(const char *s)
{
    char *end;
    errno = 0;
    double n = strtod(s, &end);
    if (end == s || errno || n < 0)
        return -1;
    static const char units[] = "kmgtp";
    const char *u = *end ? strchr(units, tolower((unsigned char)*end)) : NULL;
    if (*end && !u)
        return -1;
    if (u)
        for (const char *p = units; p <= u; p++)
            n *= 1024;
    end += u != NULL;
    end += (*end == 'i' || *end == 'I');
    end += (*end == 'b' || *end == 'B');
    return *end ? -1 : (long long)n;
}

int volume_check_options(const json_t *opts, struct berth_err **err)
{
    static const char *const valid[] = {"type", "o", "device", "size"};
    static const struct {
        const char *opt, *needs[2];
    } mandatory[] = {
        {"device", {"type", NULL}}, {"type", {"device", NULL}}, {"o", {"device", "type"}}};
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)opts, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < ARRAY_SIZE(valid); i++)
            known |= strcmp(key, valid[i]) == 0;
        if (!known)
            return berth_user_error(err, EINVAL, "invalid option: \"%s\"", key);
    }
    const char *size = json_get_str(opts, "size");
    if (size) {
        long long n = ram_in_bytes(size);
        if (n < 0)
            return berth_user_error(err, EINVAL, "invalid size: '%s'", size);
        if (n > 0) /* dockerd's answer where the file system has no project quotas */
            return berth_user_error(err, EINVAL, "quota size requested but no quota support");
    }
    for (size_t i = 0; i < ARRAY_SIZE(mandatory); i++) {
        if (!json_object_get(opts, mandatory[i].opt))
            continue;
        for (size_t k = 0; k < 2 && mandatory[i].needs[k]; k++)
            if (!json_object_get(opts, mandatory[i].needs[k]))
                return berth_user_error(err, EINVAL, "missing required option: \"%s\"",
                                        mandatory[i].needs[k]);
    }
    return 0;
}

char *volume_new_name(void)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[32];
    char *out = xmalloc(65);
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        for (size_t i = 0; i < sizeof(raw); i++)
            raw[i] = (unsigned char)rand();
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[64] = '\0';
    return out;
}

bool volume_needs_mount(const struct volume *v)
{
    const char *type = json_get_str(v->options, "type"), *dev = json_get_str(v->options, "device");
    return (type && *type) || (dev && *dev);
}

/* Go's time.Format(time.RFC3339) in the local zone, as dockerd shows CreatedAt. */
static char *format_time(time_t t)
{
    struct tm tm;
    char buf[64];
    localtime_r(&t, &tm);
    size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    long off = tm.tm_gmtoff / 60;
    if (off == 0)
        snprintf(buf + n, sizeof(buf) - n, "Z");
    else
        snprintf(buf + n, sizeof(buf) - n, "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 60,
                 labs(off) % 60);
    return xstrdup(buf);
}

/* ---- records ---- */

char *volume_data_path(const struct volume_store *vs, const char *name)
{
    return xasprintf("%s/%s/" DATA, vs->dir, name);
}

static json_t *object_or_null(const json_t *o)
{
    return json_is_object(o) ? json_deep_copy(o) : json_null();
}

static struct volume *volume_new(struct volume_store *vs, const char *name, const char *created,
                                 const json_t *labels, const json_t *options)
{
    struct volume *v = xcalloc(1, sizeof(*v));
    v->name = xstrdup(name);
    v->dir = xasprintf("%s/%s", vs->dir, name);
    v->data = volume_data_path(vs, name);
    v->created = xstrdup(created);
    v->labels = object_or_null(labels);
    v->options = object_or_null(options);
    pthread_mutex_init(&v->lock, NULL);
    return v;
}

static void volume_free(struct volume *v)
{
    if (!v)
        return;
    free(v->name);
    free(v->dir);
    free(v->data);
    free(v->created);
    json_decref(v->labels);
    json_decref(v->options);
    map_free(&v->refs);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

static char *record_text(const struct volume *v)
{
    _cleanup_json_ json_t *j =
        json_pack("{ss ss ss sO sO}", "Name", v->name, "Driver", VOLUME_DRIVER, "CreatedAt",
                  v->created, "Labels", v->labels, "Options", v->options);
    return json_dumps(j, JSON_COMPACT);
}

/* dockerd's CreatedAt for a volume without a record of ours: its directory's ctime. */
static char *ctime_of(const char *path)
{
    struct stat st;
    return stat(path, &st) < 0 ? xstrdup(TIME_ZERO) : format_time(st.st_ctim.tv_sec);
}

/* One directory of ROOT/volumes: a volume (its record, or a _data of a volume made by another
 * engine's local driver), a leftover of a crash (set aside), or something else (left alone). */
static void load_one(struct volume_store *vs, const char *name)
{
    _cleanup_free_ char *dir = xasprintf("%s/%s", vs->dir, name);
    if (strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0 ||
        strncmp(name, RM_PREFIX, strlen(RM_PREFIX)) == 0) {
        log_warn("volumes: removing `%s`, left by a crash", dir);
        map_put(&vs->stale, dir, (void *)1);
        return;
    }
    _cleanup_free_ char *record = xasprintf("%s/" RECORD, dir);
    _cleanup_free_ char *data = xasprintf("%s/" DATA, dir);
    json_error_t je;
    _cleanup_json_ json_t *j = json_load_file(record, 0, &je);
    struct stat st;
    if (volume_check_name(name, NULL) < 0 || (!j && stat(data, &st) < 0)) {
        log_warn("volumes: `%s` is no volume: left alone", dir);
        return;
    }
    _cleanup_free_ char *created = j ? NULL : ctime_of(dir);
    struct volume *v = volume_new(vs, name, j ? json_get_str(j, "CreatedAt") ?: TIME_ZERO : created,
                                  json_object_get(j, "Labels"), json_object_get(j, "Options"));
    v->state = VOLUME_READY;
    map_put(&vs->by_name, v->name, v);
}

int volume_store_open(const char *root, struct pool *pool, struct volume_store **out,
                      struct berth_err **err)
{
    struct volume_store *vs = xcalloc(1, sizeof(*vs));
    vs->dir = xasprintf("%s/volumes", root);
    vs->pool = pool;
    int r = fs_mkdir_p(vs->dir, 0701, err);
    _cleanup_closedir_ DIR *d = r < 0 ? NULL : opendir(vs->dir);
    if (r == 0 && !d)
        r = berth_error(err, errno, "read `%s`", vs->dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")))
            load_one(vs, e->d_name);
    if (r < 0) {
        volume_store_close(vs);
        return r;
    }
    *out = vs;
    return 0;
}

void volume_store_take_stale(struct volume_store *vs, struct map *into)
{
    map_move(&vs->stale, into);
}

void volume_store_close(struct volume_store *vs)
{
    if (!vs)
        return;
    void *v;
    for (size_t i = 0; map_next(&vs->by_name, &i, NULL, &v);)
        volume_free(v);
    map_free(&vs->by_name);
    map_free(&vs->stale);
    free(vs->dir);
    free(vs);
}

/* ---- the index ---- */

void volume_store_notify(struct volume_store *vs, volume_notify_fn fn, void *arg)
{
    vs->notify = fn;
    vs->notify_arg = arg;
}

static void notify(struct volume_store *vs, const char *name, enum volume_event what)
{
    if (vs->notify)
        vs->notify(vs->notify_arg, name, what);
}

struct volume *volume_get(struct volume_store *vs, const char *name)
{
    struct volume *v = map_get(&vs->by_name, name);
    return v && v->state == VOLUME_READY ? v : NULL;
}

int volume_lookup(struct volume_store *vs, const char *name, struct volume **out,
                  struct berth_err **err)
{
    *out = volume_get(vs, name);
    return *out ? 0 : berth_user_error(err, ENOENT, "get %s: no such volume", name);
}

struct volume *volume_next(struct volume_store *vs, size_t *i)
{
    void *v;
    while (map_next(&vs->by_name, i, NULL, &v))
        if (((struct volume *)v)->state == VOLUME_READY)
            return v;
    return NULL;
}

size_t volume_count(struct volume_store *vs)
{
    size_t n = 0;
    for (size_t i = 0; volume_next(vs, &i);)
        n++;
    return n;
}

void volume_ref(struct volume *v, const char *ctr_id)
{
    map_put(&v->refs, ctr_id, (void *)1);
}

void volume_unref(struct volume *v, const char *ctr_id)
{
    map_del(&v->refs, ctr_id);
}

size_t volume_nrefs(const struct volume *v)
{
    return v->refs.len;
}

/* ---- mounts on the host ---- */

/* The mount points at or below dir, the last mounted first (NULL-terminated, heap). */
static char **mounts_under(const char *dir)
{
    _cleanup_free_ char *text = NULL;
    size_t len, n = 0, dlen = strlen(dir);
    char **out = xcalloc(1, sizeof(*out));
    if (fs_read_file("/proc/self/mountinfo", &text, &len, NULL) < 0)
        return out;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        struct mountinfo_line m;
        if (!mountinfo_parse(line, &m) || strncmp(m.point, dir, dlen) != 0 ||
            (m.point[dlen] != '\0' && m.point[dlen] != '/'))
            continue;
        out = xrealloc(out, (n + 2) * sizeof(*out));
        memmove(out + 1, out, (n + 1) * sizeof(*out)); /* newest first */
        out[0] = xstrdup(m.point);
        n++;
    }
    return out;
}

/* Unmount everything at or below dir; 0, or EBUSY when something stays mounted there. */
static int unmount_all_under(const char *dir)
{
    _cleanup_strv_ char **mounts = mounts_under(dir);
    for (char **m = mounts; *m; m++)
        if (umount2(*m, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
            log_warn("volumes: unmount `%s`: %s", *m, strerror(errno));
    _cleanup_strv_ char **left = mounts_under(dir);
    return left[0] ? -EBUSY : 0;
}

/* Delete a tree that nothing is mounted on any more: a remove never crosses into a file system
 * mounted there (a bind of a host directory would lose its files). */
static int remove_tree(const char *dir, struct berth_err **err)
{
    if (unmount_all_under(dir) < 0)
        return berth_error(err, EBUSY, "remove `%s`: still mounted", dir);
    return layer_rm_tree(dir, err);
}

void volume_recover_host(struct volume_store *vs)
{
    _cleanup_strv_ char **mounts = mounts_under(vs->dir);
    for (char **m = mounts; *m; m++)
        log_info("start-up: unmounting `%s`, left mounted by the last daemon", *m);
    if (unmount_all_under(vs->dir) < 0)
        log_warn("start-up: something stays mounted under `%s`", vs->dir);
}

/* moby's mount.ParseOptions: the words that are mount flags, the rest the file system's data. */
static void parse_mount_options(const char *o, unsigned long *flags, char **data)
{
    static const struct {
        const char *word;
        bool clear;
        unsigned long flag;
    } words[] = {
        {"defaults", false, 0},
        {"ro", false, MS_RDONLY},
        {"rw", true, MS_RDONLY},
        {"suid", true, MS_NOSUID},
        {"nosuid", false, MS_NOSUID},
        {"dev", true, MS_NODEV},
        {"nodev", false, MS_NODEV},
        {"exec", true, MS_NOEXEC},
        {"noexec", false, MS_NOEXEC},
        {"sync", false, MS_SYNCHRONOUS},
        {"async", true, MS_SYNCHRONOUS},
        {"dirsync", false, MS_DIRSYNC},
        {"remount", false, MS_REMOUNT},
        {"mand", false, MS_MANDLOCK},
        {"nomand", true, MS_MANDLOCK},
        {"atime", true, MS_NOATIME},
        {"noatime", false, MS_NOATIME},
        {"diratime", true, MS_NODIRATIME},
        {"nodiratime", false, MS_NODIRATIME},
        {"bind", false, MS_BIND},
        {"rbind", false, MS_BIND | MS_REC},
        {"unbindable", false, MS_UNBINDABLE},
        {"runbindable", false, MS_UNBINDABLE | MS_REC},
        {"private", false, MS_PRIVATE},
        {"rprivate", false, MS_PRIVATE | MS_REC},
        {"shared", false, MS_SHARED},
        {"rshared", false, MS_SHARED | MS_REC},
        {"slave", false, MS_SLAVE},
        {"rslave", false, MS_SLAVE | MS_REC},
        {"relatime", false, MS_RELATIME},
        {"norelatime", true, MS_RELATIME},
        {"strictatime", false, MS_STRICTATIME},
        {"nostrictatime", true, MS_STRICTATIME},
    };
    struct buf b = {0};
    _cleanup_free_ char *copy = xstrdup(o ? o : "");
    *flags = 0;
    for (char *save = NULL, *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        size_t i = 0;
        while (i < ARRAY_SIZE(words) && strcmp(words[i].word, w) != 0)
            i++;
        if (i == ARRAY_SIZE(words))
            buf_printf(&b, "%s%s", b.len ? "," : "", w);
        else if (words[i].clear)
            *flags &= ~words[i].flag;
        else
            *flags |= words[i].flag;
    }
    buf_reserve(&b, 0);
    *data = buf_steal(&b, NULL);
}

#define PROPAGATION (MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE)

/* moby's mount.Mount on Linux: the mount with every flag but the propagation, then the
 * propagation, then a read-only remount of a read-only bind (the kernel ignores MS_RDONLY on
 * the bind itself). */
static int mount_options(const struct volume *v, struct berth_err **err)
{
    const char *type = json_get_str(v->options, "type"), *dev = json_get_str(v->options, "device");
    unsigned long flags;
    _cleanup_free_ char *data = NULL;
    if (!dev || !*dev)
        return berth_user_error(err, EINVAL, "missing device in volume options");
    parse_mount_options(json_get_str(v->options, "o"), &flags, &data);
    unsigned long base = flags & ~(unsigned long)PROPAGATION;
    if ((!(flags & MS_REMOUNT) || *data) &&
        mount(dev, v->data, type, base, *data ? data : NULL) < 0)
        return berth_error(err, errno, "failed to mount local volume: mount %s:%s, data: %s", dev,
                           v->data, data);
    if ((flags & PROPAGATION) && mount("", v->data, NULL, flags & (PROPAGATION | MS_REC), NULL) < 0)
        return berth_error(err, errno, "failed to mount local volume: change propagation of `%s`",
                           v->data);
    if ((base & (MS_BIND | MS_RDONLY)) == (MS_BIND | MS_RDONLY) &&
        mount("", v->data, NULL, base | MS_REMOUNT, NULL) < 0)
        return berth_error(err, errno, "failed to mount local volume: remount `%s` read-only",
                           v->data);
    return 0;
}

int volume_mount(struct volume *v, struct berth_err **err)
{
    if (!volume_needs_mount(v))
        return 0;
    int r = 0;
    pthread_mutex_lock(&v->lock);
    if (!v->mounted) {
        log_debug("volume %s: mounting its options on `%s`", v->name, v->data);
        r = mount_options(v, err);
        if (r < 0) /* half of moby's three steps may be done: none must stay */
            unmount_all_under(v->data);
        v->mounted = r == 0;
    }
    v->active += r == 0;
    pthread_mutex_unlock(&v->lock);
    return r;
}

void volume_unmount(struct volume *v)
{
    if (!volume_needs_mount(v))
        return;
    pthread_mutex_lock(&v->lock);
    if (v->active > 0 && --v->active == 0 && v->mounted) {
        log_debug("volume %s: its last user stopped: unmounting `%s`", v->name, v->data);
        if (unmount_all_under(v->data) < 0)
            log_warn("volume %s: `%s` stays mounted", v->name, v->data);
        else
            v->mounted = false;
    }
    pthread_mutex_unlock(&v->lock);
}

/* ---- create ---- */

struct create_job {
    struct pool_job job;
    struct volume_store *vs;
    struct volume *v;
    char *record;
    int res;
    struct berth_err *err;
};

static int fsync_path(const char *path)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd < 0 || fsync(fd) < 0 ? -errno : 0;
}

/* Build the volume under a temp name (its _data and its record, synced), then rename it in:
 * before the rename a crash leaves a temp directory that start-up removes; after it, the whole
 * volume. */
static int make_volume(struct create_job *cj, const char *tmp)
{
    struct volume *v = cj->v;
    _cleanup_free_ char *data = xasprintf("%s/" DATA, tmp);
    _cleanup_free_ char *record = xasprintf("%s/" RECORD, tmp);
    if (chmod(tmp, 0701) < 0 || mkdir(data, 0755) < 0)
        return berth_error(&cj->err, errno, "error while creating volume data path '%s'", data);
    int r = fs_write_atomic(record, cj->record, strlen(cj->record), 0600, &cj->err);
    if (r < 0)
        return r;
    crashpoint("volume-create");
    if (rename(tmp, v->dir) < 0)
        return berth_error(&cj->err, errno, "error while creating volume root path '%s'", v->dir);
    if ((r = fsync_path(cj->vs->dir)) < 0)
        return berth_error(&cj->err, -r, "sync `%s`", cj->vs->dir);
    return 0;
}

static void create_work(struct pool_job *job)
{
    struct create_job *cj = (struct create_job *)job;
    _cleanup_free_ char *tmp = xasprintf("%s/" TMP_PREFIX "%s-XXXXXX", cj->vs->dir, cj->v->name);
    if (!mkdtemp(tmp)) {
        cj->res =
            berth_error(&cj->err, errno, "error while creating volume root path '%s'", cj->v->dir);
        return;
    }
    cj->res = make_volume(cj, tmp);
    if (cj->res < 0 && access(tmp, F_OK) == 0)
        layer_rm_tree(tmp, NULL); /* nothing of it is mounted: it never was a volume */
}

/* Call every waiter of v (and drop them): with v when it exists, else with the error. */
static void wake(struct volume *v, int res, const struct berth_err *err)
{
    struct volume_waiter *w = take_ptr(v->waiters);
    while (w) {
        struct volume_waiter *next = w->next;
        w->done(w->ctx, res, err, res < 0 ? NULL : v);
        free(w);
        w = next;
    }
}

static void create_done(struct pool_job *job)
{
    struct create_job *cj = (struct create_job *)job;
    struct volume *v = cj->v;
    if (cj->res < 0) {
        berth_error_wrap(&cj->err, "create %s", v->name);
        map_del(&cj->vs->by_name, v->name);
        wake(v, cj->res, cj->err);
        volume_free(v);
    } else {
        log_debug("volume %s: created", v->name);
        v->state = VOLUME_READY;
        notify(cj->vs, v->name, VOLUME_EVENT_CREATE);
        wake(v, 0, NULL);
    }
    berth_err_free(cj->err);
    free(cj->record);
    free(cj);
}

static void add_waiter(struct volume *v, volume_done_fn done, void *ctx)
{
    struct volume_waiter *w = xcalloc(1, sizeof(*w)), **tail = &v->waiters;
    *w = (struct volume_waiter){.done = done, .ctx = ctx};
    while (*tail)
        tail = &(*tail)->next;
    *tail = w;
}

void volume_create(struct volume_store *vs, const char *name, const json_t *labels,
                   const json_t *options, volume_done_fn done, void *ctx)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct volume *v = map_get(&vs->by_name, name);
    if (v && v->state == VOLUME_READY)
        return done(ctx, 0, NULL, v);
    if (v && v->state == VOLUME_CREATING)
        return add_waiter(v, done, ctx);
    if (v) /* dockerd would wait for the removal and make a new one: berth asks to retry */
        return done(ctx,
                    berth_user_error(&err, EBUSY, "create %s: the volume is being removed", name),
                    err, NULL);
    if (volume_check_name(name, &err) < 0 || volume_check_options(options, &err) < 0) {
        int r = berth_error_wrap(&err, "create %s", name);
        return done(ctx, r, err, NULL);
    }
    _cleanup_free_ char *created = format_time(time(NULL));
    v = volume_new(vs, name, created, labels, options);
    v->state = VOLUME_CREATING;
    map_put(&vs->by_name, v->name, v);
    add_waiter(v, done, ctx);
    struct create_job *cj = xcalloc(1, sizeof(*cj));
    *cj = (struct create_job){.job = {.work = create_work, .done = create_done},
                              .vs = vs,
                              .v = v,
                              .record = record_text(v)};
    pool_submit(vs->pool, POOL_LATENCY, &cj->job);
}

/* ---- remove ---- */

struct remove_job {
    struct pool_job job;
    struct volume_store *vs;
    struct volume *v;
    void (*done)(void *ctx, int res, const struct berth_err *err);
    void *ctx;
    int res;
    struct berth_err *err;
};

/* Rename it out of its name (the instant it stops being a volume), then delete the tree; a
 * crash after the rename leaves a trash directory that start-up removes. */
static void remove_work(struct pool_job *job)
{
    struct remove_job *rj = (struct remove_job *)job;
    struct volume *v = rj->v;
    pthread_mutex_lock(&v->lock); /* no user left (it has no reference): just in case */
    int busy = v->active > 0 ? -EBUSY : unmount_all_under(v->dir);
    v->mounted = false;
    pthread_mutex_unlock(&v->lock);
    if (busy < 0) {
        rj->res = berth_user_error(&rj->err, EBUSY, "remove %s: volume has active mounts", v->name);
        return;
    }
    _cleanup_free_ char *trash = xasprintf("%s/" RM_PREFIX "%s-XXXXXX", rj->vs->dir, v->name);
    /* a unique name: the rename replaces this empty directory, atomically */
    if (!mkdtemp(trash) || rename(v->dir, trash) < 0) {
        rj->res = berth_error(&rj->err, errno, "remove %s: error removing volume path '%s'",
                              v->name, v->dir);
        return;
    }
    int r = fsync_path(rj->vs->dir);
    if (r < 0)
        log_warn("volume %s: sync `%s`: %s", v->name, rj->vs->dir, strerror(-r));
    crashpoint("volume-remove");
    _cleanup_err_ struct berth_err *err = NULL;
    if (remove_tree(trash, &err) < 0) /* it is no volume any more: the next start retries */
        log_warn("volume %s: %s", v->name, err->msg);
}

static void remove_done(struct pool_job *job)
{
    struct remove_job *rj = (struct remove_job *)job;
    struct volume *v = rj->v;
    if (rj->res < 0) {
        v->state = VOLUME_READY;
    } else {
        log_debug("volume %s: removed", v->name);
        notify(rj->vs, v->name, VOLUME_EVENT_DESTROY);
        map_del(&rj->vs->by_name, v->name);
        volume_free(v);
    }
    if (rj->done)
        rj->done(rj->ctx, rj->res, rj->err);
    berth_err_free(rj->err);
    free(rj);
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "[id1, id2]", sorted, as dockerd lists the references of a volume in use. */
static char *refs_text(const struct volume *v)
{
    size_t n = v->refs.len, k = 0;
    const char **ids = xcalloc(n + 1, sizeof(*ids));
    const char *id;
    for (size_t i = 0; map_next(&v->refs, &i, &id, NULL);)
        ids[k++] = id;
    qsort(ids, k, sizeof(*ids), by_string);
    struct buf b = {0};
    buf_puts(&b, "[");
    for (size_t i = 0; i < k; i++)
        buf_printf(&b, "%s%s", i ? ", " : "", ids[i]);
    buf_puts(&b, "]");
    free(ids);
    return buf_steal(&b, NULL);
}

int volume_remove(struct volume_store *vs, struct volume *v,
                  void (*done)(void *ctx, int res, const struct berth_err *err), void *ctx,
                  struct berth_err **err)
{
    if (volume_nrefs(v) > 0) {
        _cleanup_free_ char *refs = refs_text(v);
        return berth_user_error(err, EBUSY, "remove %s: volume is in use - %s", v->name, refs);
    }
    v->state = VOLUME_REMOVING;
    struct remove_job *rj = xcalloc(1, sizeof(*rj));
    *rj = (struct remove_job){.job = {.work = remove_work, .done = remove_done},
                              .vs = vs,
                              .v = v,
                              .done = done,
                              .ctx = ctx};
    pool_submit(vs->pool, POOL_BULK, &rj->job);
    return 0;
}
