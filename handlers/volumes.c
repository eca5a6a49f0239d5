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
#include "handlers/prune.h"

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

static int prune_one(struct api_req *a, const char *name, prune_removed_fn removed, void *ctx,
                     struct berth_err **err)
{
    struct volume *v = volume_get(a->d->volumes, name);
    if (!v || volume_nrefs(v) > 0) /* gone, or a container took it meanwhile */
        return 0;
    int r = volume_remove(a->d->volumes, v, removed, ctx, err);
    return r < 0 ? r : 1;
}

static const struct prune_ops volume_prune_ops = {
    .what = "volume", .type = EVENT_VOLUME, .deleted_key = "VolumesDeleted", .remove = prune_one};

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
    struct prune *p = prune_new(a, &volume_prune_ops, volume_count(a->d->volumes));
    struct volume *v;
    for (size_t i = 0; (v = volume_next(a->d->volumes, &i));) {
        bool anonymous = json_object_get(v->labels, VOLUME_ANONYMOUS_LABEL) != NULL;
        if (volume_nrefs(v) > 0 || json_object_size(v->options) > 0 || (!all && !anonymous) ||
            !label_match(&labels, v->labels))
            continue;
        prune_add(p, v->name, xstrdup(v->data));
    }
    label_match_free(&labels);
    prune_run(p);
}
