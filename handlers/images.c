/* handlers/images.c — the image API group's read and tag endpoints: list, inspect, history,
 * tag. Pull, push, load, save, import and delete live in their own files. */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/macros.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "fs/image.h"
#include "fs/image_delete.h"
#include "fs/ref.h"
#include "handlers/api.h"
#include "handlers/daemon.h"
#include "handlers/handlers.h"
#include "handlers/filters.h"

static json_t *image_labels(const struct image *img)
{
    json_t *l = json_object_get(json_object_get(img->config, "config"), "Labels");
    return json_is_object(l) ? json_incref(l) : json_object();
}

static json_t *summary(struct api_req *a, struct image *img, json_t *tags, json_t *digests)
{
    json_t *s =
        json_pack("{ss ss sO sO sI sI sI so si}", "Id", img->id, "ParentId",
                  json_get_str(img->meta, "Parent") ? json_get_str(img->meta, "Parent") : "",
                  "RepoTags", tags, "RepoDigests", digests, "Created", (json_int_t)img->created,
                  "Size", (json_int_t)img->size, "SharedSize", (json_int_t)-1, "Labels",
                  image_labels(img), "Containers", -1);
    if (api_version_before(a, "1.44"))
        json_object_set_new(s, "VirtualSize", json_integer((json_int_t)img->size));
    return s;
}

/* reference=PATTERN keeps the names that match, as the familiar name:tag (or name@digest) or
 * the familiar name alone, with path.Match's rules; dockerd lists only those names. */
static json_t *matching_refs(const json_t *f, json_t *refs)
{
    json_t *kept = json_array(), *ref;
    size_t k;
    json_array_foreach(refs, k, ref)
    {
        const char *t = json_string_value(ref), *at = strchr(t, '@'), *colon = strrchr(t, ':');
        const char *end = at ? at : (colon && !strchr(colon, '/') ? colon : NULL);
        _cleanup_free_ char *name = end ? xstrndup(t, (size_t)(end - t)) : xstrdup(t);
        size_t i;
        json_t *pat;
        json_array_foreach(filters_values(f, "reference"), i, pat)
        {
            if (fnmatch(json_string_value(pat), t, FNM_PATHNAME) == 0 ||
                fnmatch(json_string_value(pat), name, FNM_PATHNAME) == 0) {
                json_array_append(kept, ref);
                break;
            }
        }
    }
    return kept;
}

/* The image's creation time in nanoseconds (-1: none), to compare with the filters' bounds. */
static int64_t created_ns(const struct image *img)
{
    return time_parse_rfc3339(json_get_str(img->config, "created"));
}

/* before=/since= take image references: several before= are the oldest of them, several
 * since= the newest, as dockerd ANDs them; until= (timestamps) lowers the before bound. */
static int time_bounds(struct api_req *a, const json_t *f, int64_t *before, int64_t *since,
                       struct berth_err **err)
{
    const char *keys[] = {"before", "since"};
    size_t i;
    json_t *v;
    *before = *since = -1;
    for (size_t k = 0; k < 2; k++) {
        json_array_foreach(filters_values(f, keys[k]), i, v)
        {
            struct image *ref;
            int r = image_find(a->d->images, json_string_value(v), &ref, err);
            if (r < 0)
                return r;
            int64_t t = created_ns(ref);
            int64_t *bound = k == 0 ? before : since;
            if (t >= 0 && (*bound < 0 || (k == 0 ? t < *bound : t > *bound)))
                *bound = t;
        }
    }
    bool has_until;
    int64_t until;
    int r = filters_until(f, time_now_ns(), &has_until, &until, err);
    if (r < 0)
        return r;
    if (has_until && (*before < 0 || until < *before))
        *before = until;
    return 0;
}

struct list_opts {
    json_t *f;
    bool dangling_only, all;
    int64_t before, since; /* nanoseconds; -1: no bound */
    struct label_match labels;
};

/* One image's entry, or NULL when the filters exclude it (moby's rules for <none>). */
static json_t *list_entry(struct api_req *a, struct image *img, const struct list_opts *o)
{
    _cleanup_json_ json_t *tags = image_repo_tags(a->d->images, img->id);
    _cleanup_json_ json_t *digests = image_repo_digests(a->d->images, img->id);
    _cleanup_json_ json_t *labels = image_labels(img);
    int64_t created = created_ns(img);
    if ((o->before >= 0 && (created < 0 || created >= o->before)) ||
        (o->since >= 0 && (created < 0 || created <= o->since)) || !label_match(&o->labels, labels))
        return NULL;
    if (filters_has(o->f, "reference")) {
        json_t *t = matching_refs(o->f, tags), *d = matching_refs(o->f, digests);
        json_decref(tags);
        json_decref(digests);
        tags = t;
        digests = d;
    }
    if (json_array_size(tags) == 0 && json_array_size(digests) == 0) {
        if (filters_has(o->f, "dangling") && !o->dangling_only)
            return NULL;
        if (filters_has(o->f, "reference"))
            return NULL;
        json_array_append_new(tags, json_string("<none>:<none>"));
        json_array_append_new(digests, json_string("<none>@<none>"));
    } else if (o->dangling_only && json_array_size(tags) > 0) {
        return NULL;
    }
    return summary(a, img, tags, digests);
}

/* Newest first, as dockerd lists them. */
static int by_created_desc(const json_t *x, const json_t *y)
{
    json_int_t cx = json_integer_value(json_object_get(x, "Created"));
    json_int_t cy = json_integer_value(json_object_get(y, "Created"));
    return cx < cy ? 1 : (cx > cy ? -1 : 0);
}

void images_list(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct list_opts o = {.all = http_query_bool(a->msg, "all")};
    if (filters_parse(a->msg, FILTERS_IMAGE_LIST, &o.f, &err) < 0)
        return api_reply_error(a, err);
    _cleanup_json_ json_t *f = o.f;
    if (filters_bool(f, "dangling", false, &o.dangling_only, &err) < 0 ||
        time_bounds(a, f, &o.before, &o.since, &err) < 0)
        return api_reply_error(a, err);
    label_match_init(&o.labels, json_object_get(f, "label"), NULL);
    json_t *list = json_array();
    struct image *img;
    for (size_t i = 0; (img = image_next(a->d->images, &i));) {
        json_t *e = list_entry(a, img, &o);
        if (e)
            json_array_append_new(list, e);
    }
    label_match_free(&o.labels);
    api_reply_json(a, 200, json_sorted(list, by_created_desc));
}

static json_t *graph_driver(struct api_req *a, const struct image *img)
{
    struct layer_store *ls = a->d->layers;
    struct buf lower = {0};
    for (size_t i = img->nlayers; i-- > 1;) {
        struct layer *l = layer_get(ls, img->layers[i - 1]);
        if (l)
            buf_printf(&lower, "%s%s/%s/diff", lower.len ? ":" : "", layer_store_dir(ls), l->link);
    }
    struct layer *top = img->nlayers ? layer_get(ls, img->layers[img->nlayers - 1]) : NULL;
    _cleanup_free_ char *upper =
        top ? xasprintf("%s/%s/diff", layer_store_dir(ls), top->link) : xstrdup("");
    json_t *data = json_pack("{ss}", "UpperDir", upper);
    if (lower.len)
        json_object_set_new(data, "LowerDir", json_string(lower.data));
    buf_free(&lower);
    return json_pack("{so ss}", "Data", data, "Name", "overlay2");
}

/* The image's comment, else its last history row's, as dockerd's inspect has it (a commit -m
 * puts it in the history only). */
static const char *comment_of(const json_t *config)
{
    const char *c = json_get_str(config, "comment");
    json_t *hist = json_object_get(config, "history");
    if ((!c || !*c) && json_array_size(hist))
        c = json_get_str(json_array_get(hist, json_array_size(hist) - 1), "comment");
    return c ? c : "";
}

static json_t *inspect(struct api_req *a, struct image *img)
{
    json_t *c = img->config;
    _cleanup_free_ char *created =
        time_format_rfc3339(time_parse_rfc3339(json_get_str(c, "created")) > 0
                                ? time_parse_rfc3339(json_get_str(c, "created"))
                                : 0);
    json_t *config = json_object_get(c, "config");
    json_t *diff_ids = json_object_get(json_object_get(c, "rootfs"), "diff_ids");
    const char *last_tag = json_get_str(img->meta, "LastTagTime");
    json_t *j =
        json_pack("{ss so so ss ss ss ss ss sO ss ss sI so s{ss so} s{ss}}", "Id", img->id,
                  "RepoTags", image_repo_tags(a->d->images, img->id), "RepoDigests",
                  image_repo_digests(a->d->images, img->id), "Parent",
                  json_get_str(img->meta, "Parent") ? json_get_str(img->meta, "Parent") : "",
                  "Comment", comment_of(c), "Created", created, "DockerVersion",
                  json_get_str(c, "docker_version") ? json_get_str(c, "docker_version") : "",
                  "Author", json_get_str(c, "author") ? json_get_str(c, "author") : "", "Config",
                  config ? config : json_null(), "Architecture",
                  json_get_str(c, "architecture") ? json_get_str(c, "architecture") : "", "Os",
                  json_get_str(c, "os") ? json_get_str(c, "os") : "", "Size", (json_int_t)img->size,
                  "GraphDriver", graph_driver(a, img), "RootFS", "Type", "layers", "Layers",
                  diff_ids ? json_incref(diff_ids) : json_array(), "Metadata", "LastTagTime",
                  last_tag ? last_tag : TIME_ZERO);
    if (json_get_str(c, "variant"))
        json_object_set_new(j, "Variant", json_string(json_get_str(c, "variant")));
    if (api_version_before(a, "1.44"))
        json_object_set_new(j, "VirtualSize", json_integer((json_int_t)img->size));
    return j;
}

void images_inspect(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct image *img;
    if (image_find(a->d->images, a->params[0], &img, &err) < 0)
        return api_reply_error(a, err);
    api_reply_json(a, 200, inspect(a, img));
}

/* Newest first; only the top row carries the image ID, the others show <missing>, as with
 * pulled images under dockerd. Layer sizes go to the rows that made a layer. */
void images_history(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct image *img;
    if (image_find(a->d->images, a->params[0], &img, &err) < 0)
        return api_reply_error(a, err);
    json_t *hist = json_object_get(img->config, "history"), *rows = json_array(), *h;
    size_t i, layer = 0;
    json_array_foreach(hist, i, h)
    {
        bool empty = json_get_bool(h, "empty_layer", false);
        struct layer *l =
            !empty && layer < img->nlayers ? layer_get(a->d->layers, img->layers[layer++]) : NULL;
        int64_t t = time_parse_rfc3339(json_get_str(h, "created"));
        json_array_insert_new(
            rows, 0,
            json_pack("{ss sI ss s[] sI ss}", "Id", "<missing>", "Created",
                      (json_int_t)(t > 0 ? t / 1000000000 : 0), "CreatedBy",
                      json_get_str(h, "created_by") ? json_get_str(h, "created_by") : "", "Tags",
                      "Size", (json_int_t)(l ? l->size : 0), "Comment",
                      json_get_str(h, "comment") ? json_get_str(h, "comment") : ""));
    }
    if (json_array_size(rows) == 0) /* no history: one row per image, as dockerd shows */
        json_array_append_new(rows, json_pack("{ss sI ss s[] sI ss}", "Id", "", "Created",
                                              (json_int_t)img->created, "CreatedBy", "", "Tags",
                                              "Size", (json_int_t)img->size, "Comment", ""));
    json_t *top = json_array_get(rows, 0);
    json_object_set_new(top, "Id", json_string(img->id));
    json_object_set_new(top, "Tags", image_repo_tags(a->d->images, img->id));
    api_reply_json(a, 200, rows);
}

/* ---- tag ---- */

struct tag_op {
    struct api_req *a;
    char *id;
    char *name; /* familiar: "busybox:v1" */
};

static void tag_saved(void *ctx, int res, const struct berth_err *err)
{
    struct tag_op *op = ctx;
    if (res >= 0)
        events_image(op->a->d->events, op->a->d->images, op->id, op->name, "tag");
    if (res < 0)
        api_reply_error(op->a, err);
    else
        api_reply_status(op->a, 201);
    free(op->id);
    free(op->name);
    free(op);
}

/* Docker's RepoTagReference: repo is a name (no digest), tag defaults to latest. */
static int tag_reference(const char *repo, const char *tag, char **full, char **familiar,
                         struct berth_err **err)
{
    _cleanup_ref_ struct image_ref r = {0};
    int rc = ref_parse_repo_tag(repo ? repo : "", tag, &r, err);
    if (rc == 0)
        return berth_user_error(err, EINVAL, "invalid reference format");
    if (rc < 0)
        return rc;
    *full = ref_full(&r);
    *familiar = ref_familiar(&r);
    return 0;
}

void images_tag(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_free_ char *repo = http_query_get(a->msg, "repo");
    _cleanup_free_ char *tag = http_query_get(a->msg, "tag");
    _cleanup_free_ char *full = NULL, *familiar = NULL;
    struct image *img;
    if (tag_reference(repo, tag, &full, &familiar, &err) < 0)
        return api_reply_error(a, err);
    if (image_find(a->d->images, a->params[0], &img, &err) < 0)
        return api_reply_error(a, err);
    image_ref_set(a->d->images, full, img->id);
    _cleanup_free_ char *now = time_format_rfc3339(time_now_ns());
    json_object_set_new(img->meta, "LastTagTime", json_string(now));
    struct tag_op *op = xcalloc(1, sizeof(*op));
    *op = (struct tag_op){.a = a, .id = xstrdup(img->id), .name = take_ptr(familiar)};
    api_async(a);
    image_refs_save(a->d->images, tag_saved, op);
}

/* ---- delete and prune ---- */

/* dockerd's [{"Untagged": "busybox:latest"}, {"Deleted": "sha256:..."}]. */
static json_t *records_json(const struct image_record *records, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            list, json_pack("{ss}", records[i].kind == IMAGE_UNTAGGED ? "Untagged" : "Deleted",
                            records[i].what));
    return list;
}

/* As dockerd's LogImageEvent calls in its image deletion: untag and delete, each named by the
 * image's ID. Records of a change that failed are what it did before failing. */
static void emit_records(struct daemon *d, const struct image_record *records, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (records[i].image)
            events_image(d->events, d->images, records[i].image, records[i].image,
                         records[i].kind == IMAGE_UNTAGGED ? "untag" : "delete");
}

static void deleted(void *ctx, int res, const struct image_record *records, size_t n,
                    uint64_t reclaimed, const struct berth_err *err)
{
    struct api_req *a = ctx;
    (void)reclaimed;
    emit_records(a->d, records, n);
    if (res < 0)
        api_reply_error(a, err);
    else
        api_reply_json(a, 200, records_json(records, n));
}

void images_delete(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct image_change ch = {.users = a->d->image_users};
    int r = image_delete(a->d->images, a->params[0], http_query_bool(a->msg, "force"),
                         !http_query_bool(a->msg, "noprune"), &ch, &err);
    if (r < 0 && !ch.nrecords) {
        image_change_free(&ch);
        return api_reply_error(a, err);
    }
    api_async(a);
    image_change_apply(a->d->images, a->d->pool, &ch, deleted, a);
}

/* SpaceReclaimed: what the removal freed, the deleted layers' files and the blobs removed. */
static void pruned(void *ctx, int res, const struct image_record *records, size_t n,
                   uint64_t reclaimed, const struct berth_err *err)
{
    struct api_req *a = ctx;
    emit_records(a->d, records, n);
    if (res >= 0) {
        char bytes[24];
        snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)reclaimed);
        events_emit(a->d->events, EVENT_IMAGE, "prune", "", json_pack("{ss}", "reclaimed", bytes));
    }
    if (res < 0)
        api_reply_error(a, err);
    else
        api_reply_json(a, 200,
                       json_pack("{so sI}", "ImagesDeleted",
                                 n ? records_json(records, n) : json_null(), "SpaceReclaimed",
                                 (json_int_t)reclaimed));
}

/* dangling=true (the default) takes untagged images only, dangling=false every unused one;
 * until= and label=/label!= narrow them, as dockerd's image prune does. */
void images_prune(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_json_ json_t *f = NULL;
    bool dangling;
    struct prune_match m;
    if (filters_parse(a->msg, FILTERS_IMAGE_PRUNE, &f, &err) < 0 ||
        filters_bool(f, "dangling", true, &dangling, &err) < 0 ||
        filters_prune(f, true, &m, &err) < 0)
        return api_reply_error(a, err);
    struct image_change ch = {.users = a->d->image_users};
    image_prune(a->d->images, !dangling, &m, &ch);
    prune_match_free(&m);
    api_async(a);
    image_change_apply(a->d->images, a->d->pool, &ch, pruned, a);
}
