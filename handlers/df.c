/* handlers/df.c — GET /system/df (docker system df [-v]): the images with their size, the part
 * of it they share with other images and the number of containers using them; the containers
 * with the size of their writable layer; the local volumes without driver options with their
 * size and the number of containers using them; the build cache (berth has none). Sizes are
 * walked on a bulk pool thread, the rest is read on the reactor. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/map.h"
#include "core/xalloc.h"
#include "fs/image.h"
#include "fs/layer.h"
#include "fs/treesize.h"
#include "fs/volume.h"
#include "handlers/api.h"
#include "handlers/daemon.h"
#include "handlers/handlers.h"

enum { DF_CONTAINERS = 1, DF_IMAGES = 2, DF_VOLUMES = 4, DF_BUILD_CACHE = 8 };

/* The `type` values (API 1.42 and later; none: all), dockerd's 400 for another. */
static int df_types(struct api_req *a, unsigned *types)
{
    static const char *const names[] = {"container", "image", "volume", "build-cache"};
    _cleanup_strv_ char **vals =
        api_version_before(a, "1.42") ? NULL : http_query_all(a->msg, "type");
    *types = vals && vals[0] ? 0 : DF_CONTAINERS | DF_IMAGES | DF_VOLUMES | DF_BUILD_CACHE;
    for (char **v = vals; v && *v; v++) {
        size_t k = 0;
        while (k < 4 && strcmp(*v, names[k]) != 0)
            k++;
        if (k == 4) {
            api_reply_errorf(a, 400, "unknown object type: %s", *v);
            return -1;
        }
        *types |= 1u << k;
    }
    return 0;
}

/* ---- images ---- */

/* How many images hold each layer (by chain ID). */
static void count_layer_users(struct image_store *is, struct map *users)
{
    struct image *img;
    for (size_t i = 0; (img = image_next(is, &i));)
        for (size_t k = 0; k < img->nlayers; k++)
            map_put(users, img->layers[k], (void *)((uintptr_t)map_get(users, img->layers[k]) + 1));
}

static int64_t layer_size(struct layer_store *ls, const char *chain)
{
    struct layer *l = layer_get(ls, chain);
    return l ? (int64_t)l->size : 0;
}

static size_t image_containers(struct api_req *a, const struct image *img)
{
    struct container *c;
    size_t n = 0;
    for (size_t i = 0; (c = ctr_next(a->d->cs, &i));)
        n += strcmp(c->image_id, img->id) == 0;
    return n;
}

/* One image as the list shows it, with SharedSize (its layers other images hold too) and
 * Containers filled in, as dockerd's df does. */
static json_t *image_entry(struct api_req *a, struct image *img, const struct map *users)
{
    struct layer_store *ls = a->d->layers;
    int64_t shared = 0;
    for (size_t k = 0; k < img->nlayers; k++)
        if ((uintptr_t)map_get(users, img->layers[k]) > 1)
            shared += layer_size(ls, img->layers[k]);
    json_t *tags = image_repo_tags(a->d->images, img->id);
    json_t *digests = image_repo_digests(a->d->images, img->id);
    if (!json_array_size(tags) && !json_array_size(digests)) { /* as the image list shows it */
        json_array_append_new(tags, json_string("<none>:<none>"));
        json_array_append_new(digests, json_string("<none>@<none>"));
    }
    json_t *labels = json_object_get(json_object_get(img->config, "config"), "Labels");
    return json_pack("{sI ss sO ss so so sI sI sI}", "Containers",
                     (json_int_t)image_containers(a, img), "Id", img->id, "Labels",
                     json_is_object(labels) ? labels : json_object(), "ParentId",
                     json_get_str(img->meta, "Parent") ?: "", "RepoDigests", digests, "RepoTags",
                     tags, "Created", (json_int_t)img->created, "Size", (json_int_t)img->size,
                     "SharedSize", (json_int_t)shared);
}

/* LayersSize: each layer some image holds, once. */
static json_t *images_json(struct api_req *a, int64_t *layers_size)
{
    struct map users = {0};
    json_t *list = json_array();
    struct image *img;
    const char *chain;
    count_layer_users(a->d->images, &users);
    *layers_size = 0;
    for (size_t i = 0; map_next(&users, &i, &chain, NULL);)
        *layers_size += layer_size(a->d->layers, chain);
    for (size_t i = 0; (img = image_next(a->d->images, &i));)
        json_array_append_new(list, image_entry(a, img, &users));
    map_free(&users);
    return list;
}

/* ---- what is measured on the pool ---- */

struct df_item {
    json_t *obj;  /* in the reply */
    char *dir;    /* the tree to measure */
    int64_t base; /* containers: the image's size (SizeRootFs = SizeRw + base) */
    int64_t size; /* what the walk found */
    bool volume;
};

struct df {
    json_t *reply;
    size_t n;
    struct df_item *items;
};

static void add_item(struct df *df, json_t *obj, char *dir, int64_t base, bool volume)
{
    df->items = xrealloc(df->items, (df->n + 1) * sizeof(*df->items));
    df->items[df->n++] = (struct df_item){.obj = obj, .dir = dir, .base = base, .volume = volume};
}

static json_t *containers_json(struct api_req *a, struct df *df)
{
    json_t *list = json_array();
    struct container *c;
    for (size_t i = 0; (c = ctr_next(a->d->cs, &i));) {
        if (c->state.status == CTR_REMOVING)
            continue;
        struct image *img = image_get(a->d->images, c->image_id);
        json_t *s = containers_summary(c);
        json_array_append_new(list, s);
        add_item(df, s, xasprintf("%s/upper", c->dir), img ? (int64_t)img->size : 0, false);
    }
    return list;
}

/* dockerd's LocalVolumesSize: the local volumes without options (a mount's size is not the
 * host's to count), with UsageData. */
static json_t *volumes_json(struct api_req *a, struct df *df)
{
    json_t *list = json_array();
    struct volume *v;
    for (size_t i = 0; (v = volume_next(a->d->volumes, &i));) {
        if (json_object_size(v->options) > 0)
            continue;
        json_t *j = json_pack("{ss ss sO ss ss sO ss s{sI sI}}", "CreatedAt", v->created, "Driver",
                              VOLUME_DRIVER, "Labels", v->labels, "Mountpoint", v->data, "Name",
                              v->name, "Options", v->options, "Scope", "local", "UsageData", "Size",
                              (json_int_t)-1, "RefCount", (json_int_t)volume_nrefs(v));
        json_array_append_new(list, j);
        add_item(df, j, xstrdup(v->data), 0, true);
    }
    return list;
}

static void df_work(struct api_task *t)
{
    struct df *df = t->data;
    for (size_t i = 0; i < df->n; i++)
        df->items[i].size = fs_tree_size(df->items[i].dir);
}

static void df_done(struct api_task *t)
{
    struct df *df = t->data;
    for (size_t i = 0; i < df->n; i++) {
        struct df_item *it = &df->items[i];
        if (it->volume) {
            json_object_set_new(json_object_get(it->obj, "UsageData"), "Size",
                                json_integer(it->size));
        } else {
            json_object_set_new(it->obj, "SizeRw", json_integer(it->size));
            json_object_set_new(it->obj, "SizeRootFs", json_integer(it->size + it->base));
        }
        free(it->dir);
    }
    api_reply_json(t->a, 200, df->reply);
    free(df->items);
    free(df);
}

void system_df(struct api_req *a)
{
    unsigned types;
    if (df_types(a, &types) < 0)
        return;
    struct df *df = xcalloc(1, sizeof(*df));
    df->reply = json_object();
    if (types & DF_IMAGES) {
        int64_t layers;
        json_t *images = images_json(a, &layers);
        if (layers) /* dockerd leaves it out when 0 */
            json_object_set_new(df->reply, "LayersSize", json_integer(layers));
        json_object_set_new(df->reply, "Images", images);
    }
    if (types & DF_CONTAINERS)
        json_object_set_new(df->reply, "Containers", containers_json(a, df));
    if (types & DF_VOLUMES)
        json_object_set_new(df->reply, "Volumes", volumes_json(a, df));
    if (types & DF_BUILD_CACHE)
        json_object_set_new(df->reply, "BuildCache", json_array());
    api_task_run(a, POOL_BULK, df_work, df_done, df);
}
