/* exec/volumes.c — a container's mount points of volumes in dockerd's order of precedence
 * (--volumes-from, then Binds, then Mounts, then the image's VOLUME paths left uncovered), the
 * volumes made and referenced around its create and removal, and what its start does with them:
 * mount their options, copy the image's content into the empty ones. */
#include "exec/volumes.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "exec/effective.h"
#include "fs/copytree.h"

/* ---- resolving ---- */

/* Go's path.Clean of an absolute path (relative ones are refused at create). Heap. */
static char *clean_path(const char *p)
{
    struct buf b = {0};
    _cleanup_free_ char *copy = xstrdup(p);
    for (char *save = NULL, *w = strtok_r(copy, "/", &save); w; w = strtok_r(NULL, "/", &save)) {
        if (strcmp(w, ".") == 0)
            continue;
        if (strcmp(w, "..") == 0) {
            char *slash = b.len ? strrchr(b.data, '/') : NULL;
            b.len = slash ? (size_t)(slash - b.data) : 0;
            continue;
        }
        buf_printf(&b, "/%s", w);
    }
    if (!b.len)
        buf_puts(&b, "/");
    buf_reserve(&b, 0);
    b.data[b.len] = '\0';
    return buf_steal(&b, NULL);
}

static bool has_word(const char *list, const char *want)
{
    for (const char *p = list ? list : ""; *p;) {
        size_t n = strcspn(p, ",");
        if (n == strlen(want) && strncmp(p, want, n) == 0)
            return true;
        p += n + (p[n] == ',');
    }
    return false;
}

/* The record at dst in points, or NULL; its index in *at. */
static json_t *point_at(const json_t *points, const char *dst, size_t *at)
{
    size_t i;
    json_t *p;
    json_array_foreach(points, i, p) if (strcmp(json_get_str(p, "Destination") ?: "", dst) == 0)
    {
        if (at)
            *at = i;
        return p;
    }
    return NULL;
}

/* Put a record in, replacing the one at its destination (taking rec). */
static void put_point(json_t *points, json_t *rec)
{
    size_t at;
    if (point_at(points, json_get_str(rec, "Destination"), &at))
        json_array_set_new(points, at, rec);
    else
        json_array_append_new(points, rec);
}

static void drop_point(json_t *points, const char *dst)
{
    size_t at;
    if (point_at(points, dst, &at))
        json_array_remove(points, at);
}

/* A volume's record. name NULL: an anonymous volume, named now. */
static json_t *volume_point(struct volume_store *vs, const char *name, const char *dst,
                            const char *mode, bool rw, bool copy)
{
    _cleanup_free_ char *fresh = name && *name ? NULL : volume_new_name();
    const char *n = fresh ? fresh : name;
    _cleanup_free_ char *src = volume_data_path(vs, n);
    return json_pack("{ss ss ss ss ss ss sb ss sb sb}", "Type", "volume", "Name", n, "Source", src,
                     "Destination", dst, "Driver", VOLUME_DRIVER, "Mode", mode, "RW", rw,
                     "Propagation", "", "CopyData", copy, "Named", fresh == NULL);
}

struct resolve {
    struct ctr_store *cs;
    struct volume_store *vs;
    struct container *c;
    json_t *points;   /* c->mounts being built */
    struct map taken; /* destinations of this container's own Binds and Mounts */
};

/* moby's ParseVolumesFrom and ReadWrite: ID[:MODE], MODE rw, ro, z or Z (no propagation, no
 * copy mode). rw is whether the mounts stay writable. */
static int parse_volumes_from(const char *spec, char **id, bool *rw, struct berth_err **err)
{
    static const char *const modes[] = {"rw", "ro", "z", "Z"};
    if (!*spec)
        return berth_user_error(err, EINVAL,
                                "volumes-from specification cannot be an empty string");
    const char *colon = strchr(spec, ':'), *mode = colon ? colon + 1 : "";
    int counts[2] = {0}; /* rw/ro, z/Z */
    for (const char *o = mode; *mode;) {
        size_t n = strcspn(o, ","), k = 0;
        while (k < 4 && (strlen(modes[k]) != n || strncmp(o, modes[k], n) != 0))
            k++;
        if (k == 4 || ++counts[k / 2] > 1)
            return berth_user_error(err, EINVAL, "invalid mode: %s", mode);
        if (!o[n])
            break;
        o += n + 1;
    }
    *id = colon ? xstrndup(spec, (size_t)(colon - spec)) : xstrdup(spec);
    *rw = !has_word(mode, "ro");
    return 0;
}

/* The record in src->mounts at dst (to know whether a volume of src was named). */
static bool named_in(const struct container *src, const char *dst)
{
    const json_t *p = point_at(src->mounts, dst, NULL);
    return p ? json_get_bool(p, "Named", false) : false;
}

/* --volumes-from: every mount point of the other container (its tmpfs aside: they are its own),
 * read-only when it says ro; its volumes are never copied into. */
static int volumes_from(struct resolve *rs, struct berth_err **err)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(rs->c->host_config, "VolumesFrom"), i, v)
    {
        _cleanup_free_ char *id = NULL;
        bool rw = true;
        struct container *src;
        int r = parse_volumes_from(json_string_value(v) ?: "", &id, &rw, err);
        if (r < 0)
            return r;
        if ((r = ctr_lookup(rs->cs, id, &src, err)) < 0) {
            (*err)->status = EINVAL; /* dockerd: an invalid parameter, not a missing object */
            return r;
        }
        _cleanup_json_ json_t *theirs = ctr_mount_points(src);
        size_t k;
        json_t *p;
        json_array_foreach(theirs, k, p)
        {
            const char *type = json_get_str(p, "Type") ?: "";
            if (strcmp(type, "volume") != 0 && strcmp(type, "bind") != 0)
                continue;
            json_t *rec = json_deep_copy(p);
            json_object_set_new(rec, "RW", json_boolean(rw && json_get_bool(p, "RW", false)));
            if (strcmp(type, "volume") == 0) {
                json_object_set_new(rec, "CopyData", json_false());
                json_object_set_new(rec, "Named",
                                    json_boolean(named_in(src, json_get_str(p, "Destination"))));
            }
            put_point(rs->points, rec);
        }
    }
    return 0;
}

static int duplicate(const char *dst, struct berth_err **err)
{
    return berth_user_error(err, EINVAL, "Duplicate mount point: %s", dst);
}

static bool in_tmpfs(const struct container *c, const char *dst)
{
    return json_object_get(json_object_get(c->host_config, "Tmpfs"), dst) != NULL;
}

/* HostConfig.Binds: SRC:DST[:MODE] with an absolute SRC is a bind (exec/plan.c mounts it);
 * NAME:DST[:MODE] a named volume, DST alone an anonymous one. */
static int binds(struct resolve *rs, struct berth_err **err)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(rs->c->host_config, "Binds"), i, v)
    {
        _cleanup_free_ char *copy = xstrdup(json_string_value(v) ?: "");
        char *part[3] = {copy, NULL, NULL};
        for (size_t k = 1; k < 3 && part[k - 1]; k++) {
            char *colon = strchr(part[k - 1], ':');
            if (colon)
                *colon = '\0', part[k] = colon + 1;
        }
        const char *src = part[1] ? part[0] : "", *mode = part[2] ? part[2] : "";
        _cleanup_free_ char *dst = clean_path(part[1] ? part[1] : part[0]);
        if (map_has(&rs->taken, dst) || in_tmpfs(rs->c, dst))
            return duplicate(dst, err);
        map_put(&rs->taken, dst, NULL);
        drop_point(rs->points, dst);
        if (src[0] == '/')
            continue;
        put_point(rs->points, volume_point(rs->vs, src, dst, *mode ? mode : "z",
                                           !has_word(mode, "ro"), !has_word(mode, "nocopy")));
    }
    return 0;
}

/* HostConfig.Mounts: type=volume makes a record (its labels and driver options kept for the
 * volume's creation); binds and tmpfs only take their destination. */
static int mounts(struct resolve *rs, struct berth_err **err)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(rs->c->host_config, "Mounts"), i, m)
    {
        const char *target = json_get_str(m, "Target") ?: "";
        _cleanup_free_ char *dst = clean_path(target);
        if (map_has(&rs->taken, dst))
            return duplicate(target, err);
        map_put(&rs->taken, dst, NULL);
        drop_point(rs->points, dst);
        if (strcmp(json_get_str(m, "Type") ?: "", "volume") != 0)
            continue;
        json_t *opts = json_object_get(m, "VolumeOptions");
        json_t *rec = volume_point(rs->vs, json_get_str(m, "Source"), dst, "z",
                                   !json_get_bool(m, "ReadOnly", false),
                                   !json_get_bool(opts, "NoCopy", false));
        json_t *labels = json_object_get(opts, "Labels");
        json_t *options = json_object_get(json_object_get(opts, "DriverConfig"), "Options");
        if (json_object_size(labels))
            json_object_set(rec, "Labels", labels);
        if (json_object_size(options))
            json_object_set(rec, "Options", options);
        put_point(rs->points, rec);
    }
    return 0;
}

/* Config.Volumes (the image's VOLUME, -v DST): an anonymous volume where nothing is mounted. */
static void config_volumes(struct resolve *rs)
{
    const char *path;
    json_t *ignored;
    json_object_foreach(json_object_get(rs->c->config, "Volumes"), path, ignored)
    {
        _cleanup_free_ char *dst = clean_path(path);
        if (point_at(rs->points, dst, NULL) || map_has(&rs->taken, dst) || in_tmpfs(rs->c, dst))
            continue;
        put_point(rs->points, volume_point(rs->vs, NULL, dst, "", true, true));
    }
}

int ctr_volumes_resolve(struct ctr_store *cs, struct volume_store *vs, struct container *c,
                        struct berth_err **err)
{
    struct resolve rs = {.cs = cs, .vs = vs, .c = c, .points = json_array()};
    int r = volumes_from(&rs, err);
    if (r == 0)
        r = binds(&rs, err);
    if (r == 0)
        r = mounts(&rs, err);
    if (r == 0)
        config_volumes(&rs);
    map_free(&rs.taken);
    json_decref(c->mounts);
    c->mounts = rs.points;
    return r;
}

json_t *ctr_volume_point_json(const json_t *rec)
{
    const char *type = json_get_str(rec, "Type") ?: "";
    json_t *j =
        json_pack("{ss ss ss ss sb ss}", "Type", type, "Source", json_get_str(rec, "Source") ?: "",
                  "Destination", json_get_str(rec, "Destination") ?: "", "Mode",
                  json_get_str(rec, "Mode") ?: "", "RW", json_get_bool(rec, "RW", false),
                  "Propagation", json_get_str(rec, "Propagation") ?: "");
    if (strcmp(type, "volume") == 0) {
        json_object_set_new(j, "Name", json_string(json_get_str(rec, "Name") ?: ""));
        json_object_set_new(j, "Driver", json_string(json_get_str(rec, "Driver") ?: ""));
    }
    return j;
}

/* ---- create and remove ---- */

static bool is_volume(const json_t *rec)
{
    return strcmp(json_get_str(rec, "Type") ?: "", "volume") == 0;
}

struct making {
    char id[65];
    int pending, res;
    struct berth_err *err;
    void (*done)(void *ctx, int res, const struct berth_err *err);
    void *ctx;
};

static void making_step(struct making *mk)
{
    if (--mk->pending > 0)
        return;
    mk->done(mk->ctx, mk->res, mk->err);
    berth_err_free(mk->err);
    free(mk);
}

static void made_one(void *ctx, int res, const struct berth_err *err, struct volume *v)
{
    struct making *mk = ctx;
    if (res < 0 && mk->res == 0) {
        mk->res = res;
        mk->err = berth_err_dup(err, "create volume");
    }
    if (v)
        volume_ref(v, mk->id);
    making_step(mk);
}

void ctr_volumes_create(struct volume_store *vs, const struct container *c,
                        void (*done)(void *ctx, int res, const struct berth_err *err), void *ctx)
{
    struct making *mk = xcalloc(1, sizeof(*mk));
    *mk = (struct making){.pending = 1, .done = done, .ctx = ctx};
    memcpy(mk->id, c->id, sizeof(mk->id));
    size_t i;
    json_t *p;
    json_array_foreach(c->mounts, i, p)
    {
        if (!is_volume(p))
            continue;
        _cleanup_json_ json_t *labels = json_deep_copy(json_object_get(p, "Labels"));
        if (!json_get_bool(p, "Named", false)) {
            if (!labels)
                labels = json_object();
            json_object_set_new(labels, VOLUME_ANONYMOUS_LABEL, json_string(""));
        }
        mk->pending++;
        volume_create(vs, json_get_str(p, "Name") ?: "", labels, json_object_get(p, "Options"),
                      made_one, mk);
    }
    making_step(mk);
}

struct dropping {
    int pending;
    void (*done)(void *ctx);
    void *ctx;
};

static void dropping_step(struct dropping *dr)
{
    if (--dr->pending > 0)
        return;
    if (dr->done)
        dr->done(dr->ctx);
    free(dr);
}

static void dropped_one(void *ctx, int res, const struct berth_err *err)
{
    if (res < 0) /* dockerd logs it, and the container is removed all the same */
        log_warn("error removing volumes: %s", err ? err->msg : "error");
    dropping_step(ctx);
}

void ctr_volumes_release(struct volume_store *vs, const struct container *c, bool anonymous,
                         void (*done)(void *ctx), void *ctx)
{
    struct dropping *dr = xcalloc(1, sizeof(*dr));
    *dr = (struct dropping){.pending = 1, .done = done, .ctx = ctx};
    size_t i;
    json_t *p;
    json_array_foreach(c->mounts, i, p)
    {
        struct volume *v = is_volume(p) ? volume_get(vs, json_get_str(p, "Name") ?: "") : NULL;
        if (v)
            volume_unref(v, c->id);
    }
    json_array_foreach(c->mounts, i, p)
    {
        _cleanup_err_ struct berth_err *err = NULL;
        struct volume *v = is_volume(p) ? volume_get(vs, json_get_str(p, "Name") ?: "") : NULL;
        /* named volumes stay; one that another container uses too is no error, as dockerd */
        if (!anonymous || !v || json_get_bool(p, "Named", false) || volume_nrefs(v) > 0)
            continue;
        dr->pending++;
        if (volume_remove(vs, v, dropped_one, dr, &err) < 0) {
            log_warn("error removing volumes: %s", err->msg);
            dr->pending--;
        }
    }
    dropping_step(dr);
}

void ctr_volumes_ref_all(struct volume_store *vs, struct ctr_store *cs)
{
    struct container *c;
    for (size_t i = 0; (c = ctr_next(cs, &i));) {
        size_t k;
        json_t *p;
        json_array_foreach(c->mounts, k, p)
        {
            struct volume *v = is_volume(p) ? volume_get(vs, json_get_str(p, "Name") ?: "") : NULL;
            if (v)
                volume_ref(v, c->id);
            else if (is_volume(p))
                log_warn("container %.12s: its volume %s is gone", c->id,
                         json_get_str(p, "Name") ?: "");
        }
    }
}

/* ---- start ---- */

struct vol_item {
    struct volume *v;
    char *dst;
    bool copy, mounted;
};

struct ctr_vols {
    size_t n;
    struct vol_item items[];
};

int ctr_volumes_pin(struct volume_store *vs, const struct container *c, struct ctr_vols **out,
                    struct berth_err **err)
{
    size_t i, n = 0;
    json_t *p;
    *out = NULL;
    json_array_foreach(c->mounts, i, p) n += is_volume(p);
    if (!n)
        return 0;
    struct ctr_vols *vols = xcalloc(1, sizeof(*vols) + n * sizeof(vols->items[0]));
    json_array_foreach(c->mounts, i, p)
    {
        if (!is_volume(p))
            continue;
        struct vol_item *it = &vols->items[vols->n++];
        int r = volume_lookup(vs, json_get_str(p, "Name") ?: "", &it->v, err);
        if (r < 0) {
            ctr_vols_free(vols);
            return r;
        }
        it->dst = xstrdup(json_get_str(p, "Destination") ?: "/");
        it->copy = json_get_bool(p, "CopyData", false);
    }
    *out = vols;
    return 0;
}

void ctr_vols_free(struct ctr_vols *vols)
{
    for (size_t i = 0; vols && i < vols->n; i++)
        free(vols->items[i].dst);
    free(vols);
}

/* path inside the directory root, resolved as the container will see it (no symlink leads out). */
static int open_in(int root, const char *path, int flags)
{
    struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    return (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
}

/* dockerd's copy of the image's content at the mount point into a volume that is still empty;
 * nothing to do where the image has no directory there. Under the volume's lock, so two starts
 * never both copy. */
static int copy_up(const struct vol_item *it, const char *rootfs, struct berth_err **err)
{
    _cleanup_close_ int root = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return berth_error(err, errno, "open `%s`", rootfs);
    _cleanup_close_ int src = open_in(root, it->dst, O_RDONLY | O_DIRECTORY);
    if (src < 0 && (errno == ENOENT || errno == ENOTDIR))
        return 0;
    if (src < 0)
        return berth_error(err, errno, "open `%s` in the container", it->dst);
    _cleanup_close_ int dst = open(it->v->data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dst < 0)
        return berth_error(err, errno, "open `%s`", it->v->data);
    pthread_mutex_lock(&it->v->lock);
    int r = fs_dir_is_empty(dst);
    if (r > 0) {
        log_debug("volume %s: copying the image's %s into it", it->v->name, it->dst);
        r = fs_copy_tree(src, dst, err);
    } else if (r < 0) {
        r = berth_error(err, -r, "read `%s`", it->v->data);
    }
    pthread_mutex_unlock(&it->v->lock);
    return r < 0 ? berth_error_wrap(err, "failed to populate volume %s", it->v->name) : 0;
}

static int setup(struct ctr_vols *vols, const char *rootfs, struct berth_err **err)
{
    for (size_t i = 0; i < vols->n; i++) {
        struct vol_item *it = &vols->items[i];
        int r = volume_mount(it->v, err);
        if (r < 0)
            return r;
        it->mounted = true;
        if (it->copy && (r = copy_up(it, rootfs, err)) < 0)
            return r;
    }
    return 0;
}

int ctr_volumes_setup(struct ctr_vols *vols, const char *rootfs, struct berth_err **err)
{
    if (!vols)
        return 0;
    int r = setup(vols, rootfs, err);
    if (r < 0) /* the start fails: what was mounted for it is given back */
        ctr_volumes_teardown(vols);
    return r;
}

void ctr_volumes_teardown(struct ctr_vols *vols)
{
    for (size_t i = 0; vols && i < vols->n; i++) {
        if (vols->items[i].mounted)
            volume_unmount(vols->items[i].v);
        vols->items[i].mounted = false;
    }
}
