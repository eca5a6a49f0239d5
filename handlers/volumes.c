/* handlers/volumes.c — the volume API group (docker volume create, ls, inspect, rm, prune) on the
 * local driver's store (fs/volume.h), in dockerd's shapes and words. */
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "fs/treesize.h"
#include "fs/volume.h"
#include "handlers/api.h"
#include "handlers/daemon.h"
#include "handlers/filters.h"
#include "handlers/handlers.h"

/* dockerd's Volume: no UsageData outside /system/df, no Status for the local driver. */
static json_t *volume_json(const struct volume *v)
{
    return json_pack("{ss ss sO ss ss sO ss}", "CreatedAt", v->created, "Driver", VOLUME_DRIVER,
                     "Labels", v->labels, "Mountpoint", v->data, "Name", v->name, "Options",
                     v->options, "Scope", "local");
}

/* ---- list ---- */

/* moby's Args.Match: the exact value, or a regular expression found in s. */
static bool matches(const char *want, const char *s)
{
    regex_t re;
    if (strcmp(want, s) == 0)
        return true;
    if (regcomp(&re, want, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool hit = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return hit;
}

static bool any_matches(const json_t *f, const char *key, const char *s, bool exact)
{
    json_t *vals = filters_values(f, key), *v;
    size_t i;
    if (!json_array_size(vals))
        return true;
    json_array_foreach(vals, i, v)
    {
        const char *want = json_string_value(v);
        if (exact ? strcmp(want, s) == 0 : matches(want, s))
            return true;
    }
    return false;
}

/* dangling=true: volumes no container uses; name= (a regular expression), driver=, label=. */
void volumes_list(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_json_ json_t *f = NULL;
    bool dangling = false;
    if (filters_parse(a->msg, FILTERS_VOLUME_LIST, &f, &err) < 0 ||
        filters_bool(f, "dangling", false, &dangling, &err) < 0)
        return api_reply_error(a, err);
    struct label_match labels;
    filters_labels(f, &labels);
    json_t *list = json_array();
    struct volume *v;
    for (size_t i = 0; (v = volume_next(a->d->volumes, &i));) {
        if ((filters_has(f, "dangling") && (volume_nrefs(v) == 0) != dangling) ||
            !any_matches(f, "name", v->name, false) ||
            !any_matches(f, "driver", VOLUME_DRIVER, true) || !label_match(&labels, v->labels))
            continue;
        json_array_append_new(list, volume_json(v));
    }
    label_match_free(&labels);
    api_reply_json(a, 200, json_pack("{so s:n}", "Volumes", list, "Warnings"));
}

/* ---- create, inspect, update, remove ---- */

static void created(void *ctx, int res, const struct berth_err *err, struct volume *v)
{
    struct api_req *a = ctx;
    if (res < 0)
        return api_reply_error(a, err);
    api_reply_json(a, 201, volume_json(v));
}

static bool object_or_absent(const json_t *v)
{
    return !v || json_is_null(v) || json_is_object(v);
}

/* dockerd's VolumeCreateOptions: Name (none: a random one, labelled anonymous), Driver (local),
 * DriverOpts, Labels; a ClusterVolumeSpec needs swarm. */
void volumes_create(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_json_ json_t *body = NULL;
    if (json_parse_body(a->msg->body.data, a->msg->body.len, true, &body, &err) < 0)
        return api_reply_error(a, err);
    const char *driver = json_get_str(body, "Driver") ?: "";
    json_t *labels = json_object_get(body, "Labels"), *opts = json_object_get(body, "DriverOpts");
    _cleanup_free_ char *name = xstrdup(json_get_str(body, "Name") ?: "");
    json_t *cluster = json_object_get(body, "ClusterVolumeSpec");
    if (cluster && !json_is_null(cluster) && !api_version_before(a, "1.42"))
        return api_reply_errorf(a, 503,
                                "This node is not a swarm manager. Use \"docker swarm init\" or "
                                "\"docker swarm join\" to connect this node to swarm and try "
                                "again.");
    if (!object_or_absent(labels) || !object_or_absent(opts))
        return api_reply_errorf(a, 400, "Labels and DriverOpts must be objects of strings");
    if (*driver && strcmp(driver, VOLUME_DRIVER) != 0)
        return api_reply_errorf(a, 404,
                                "create %s: error looking up volume plugin %s: plugin \"%s\" not "
                                "found",
                                name, driver, driver);
    _cleanup_json_ json_t *all_labels = json_is_object(labels) ? json_deep_copy(labels) : NULL;
    if (!*name) { /* dockerd's anonymous volume: a random name and its label */
        free(name);
        name = volume_new_name();
        if (!all_labels)
            all_labels = json_object();
        json_object_set_new(all_labels, VOLUME_ANONYMOUS_LABEL, json_string(""));
    }
    api_async(a);
    volume_create(a->d->volumes, name, all_labels, json_is_object(opts) ? opts : NULL, created, a);
}

void volumes_inspect(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct volume *v;
    if (volume_lookup(a->d->volumes, a->params[0], &v, &err) < 0)
        return api_reply_error(a, err);
    api_reply_json(a, 200, volume_json(v));
}

/* Only cluster volumes can be updated, and berth is no swarm manager. */
void volumes_update(struct api_req *a)
{
    api_reply_errorf(a, 503,
                     "volume update only valid for cluster volumes, but swarm is "
                     "unavailable");
}

static void removed(void *ctx, int res, const struct berth_err *err)
{
    struct api_req *a = ctx;
    if (res < 0)
        return api_reply_error(a, err);
    api_reply_status(a, 204);
}

/* force: a volume that does not exist is no error (one in use still is, as dockerd). */
void volumes_delete(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct volume *v;
    if (volume_lookup(a->d->volumes, a->params[0], &v, &err) < 0)
        return http_query_bool(a->msg, "force") ? api_reply_status(a, 204)
                                                : api_reply_error(a, err);
    api_async(a);
    if (volume_remove(a->d->volumes, v, removed, a, &err) < 0)
        api_reply_error(a, err);
}

/* ---- prune ---- */

struct prune_victim {
    struct vprune *p;
    char *name, *data;
    int64_t size;
};

struct vprune {
    struct api_req *a;
    struct prune_victim *v;
    size_t n;
    json_t *deleted;
    uint64_t reclaimed;
    int pending;
};

static void prune_finish(struct vprune *p)
{
    if (--p->pending > 0)
        return;
    char reclaimed[24];
    snprintf(reclaimed, sizeof(reclaimed), "%llu", (unsigned long long)p->reclaimed);
    events_emit(p->a->d->events, EVENT_VOLUME, "prune", "",
                json_pack("{ss}", "reclaimed", reclaimed));
    api_reply_json(p->a, 200,
                   json_pack("{so sI}", "VolumesDeleted", p->deleted, "SpaceReclaimed",
                             (json_int_t)p->reclaimed));
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].name);
        free(p->v[i].data);
    }
    free(p->v);
    free(p);
}

static void pruned_one(void *ctx, int res, const struct berth_err *err)
{
    struct prune_victim *v = ctx;
    if (res < 0) { /* dockerd logs it and goes on with the others */
        log_warn("could not remove volume %s: %s", v->name, err ? err->msg : "error");
    } else {
        json_array_append_new(v->p->deleted, json_string(v->name));
        v->p->reclaimed += v->size > 0 ? (uint64_t)v->size : 0;
    }
    prune_finish(v->p);
}

static void prune_measure(struct api_task *t)
{
    struct vprune *p = t->data;
    for (size_t i = 0; i < p->n; i++)
        p->v[i].size = fs_tree_size(p->v[i].data);
}

/* Back on the reactor: each victim still there and still unused goes. */
static void prune_remove(struct api_task *t)
{
    struct vprune *p = t->data;
    p->a = t->a;
    for (size_t i = 0; i < p->n; i++) {
        _cleanup_err_ struct berth_err *err = NULL;
        struct volume *v = volume_get(p->a->d->volumes, p->v[i].name);
        if (!v)
            continue;
        p->pending++;
        if (volume_remove(p->a->d->volumes, v, pruned_one, &p->v[i], &err) < 0) {
            log_warn("could not remove volume %s: %s", v->name, err->msg);
            p->pending--;
        }
    }
    prune_finish(p);
}

/* moby's withPrune: all=true (one value, Go's ParseBool) takes named volumes too; API < 1.42
 * always did. */
static int prune_all(struct api_req *a, const json_t *f, bool *all, struct berth_err **err)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True", NULL};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False", NULL};
    json_t *vals = filters_values(f, "all");
    *all = api_version_before(a, "1.42");
    if (json_array_size(vals) > 1) {
        _cleanup_buf_ struct buf b = {0};
        size_t i;
        json_t *s;
        json_array_foreach(vals, i, s) buf_printf(&b, "%s%s", i ? " " : "", json_string_value(s));
        return berth_user_error(err, EINVAL,
                                "invalid filter 'all=[%s]': only one value is expected", b.data);
    }
    if (!json_array_size(vals))
        return 0;
    const char *v = json_string_value(json_array_get(vals, 0));
    for (size_t i = 0; yes[i]; i++) {
        if (strcmp(v, yes[i]) == 0)
            return *all = true, 0;
        if (strcmp(v, no[i]) == 0)
            return 0;
    }
    return berth_user_error(err, EINVAL,
                            "invalid filter 'all': strconv.ParseBool: parsing \"%s\": invalid "
                            "syntax",
                            v);
}

/* Volumes no container uses, without driver options (nothing to reclaim on a mount), anonymous
 * ones only unless all=true, and those label= and label!= select, as dockerd prunes them. */
void volumes_prune(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_json_ json_t *f = NULL;
    bool all;
    if (filters_parse(a->msg, FILTERS_VOLUME_PRUNE, &f, &err) < 0 ||
        prune_all(a, f, &all, &err) < 0)
        return api_reply_error(a, err);
    struct label_match labels;
    filters_labels(f, &labels);
    struct vprune *p = xcalloc(1, sizeof(*p));
    *p = (struct vprune){.deleted = json_array(), .pending = 1};
    p->v = xcalloc(volume_count(a->d->volumes) + 1, sizeof(*p->v));
    struct volume *v;
    for (size_t i = 0; (v = volume_next(a->d->volumes, &i));) {
        bool anonymous = json_object_get(v->labels, VOLUME_ANONYMOUS_LABEL) != NULL;
        if (volume_nrefs(v) > 0 || json_object_size(v->options) > 0 || (!all && !anonymous) ||
            !label_match(&labels, v->labels))
            continue;
        p->v[p->n++] =
            (struct prune_victim){.p = p, .name = xstrdup(v->name), .data = xstrdup(v->data)};
    }
    label_match_free(&labels);
    api_task_run(a, POOL_BULK, prune_measure, prune_remove, p);
}
