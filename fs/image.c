/* fs/image.c — the image index (id → image) and the reference index (ref → id), loaded at
 * start-up from ROOT/images and ROOT/repositories.json. Memory is reactor-owned; files are
 * written by pool jobs (image_write, and the refs through a statefile). */
#include "fs/image.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/map.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "fs/atomic.h"
#include "fs/ref.h"
#include "fs/statefile.h"

struct image_store {
    char *dir; /* ROOT/images */
    struct store *blobs;
    struct layer_store *layers;
    struct map images; /* id → struct image */
    struct map refs;   /* full reference → id (heap string) */
    struct map pins;   /* digest → count (as a pointer-sized integer) */
    int holds;         /* pulls, loads and imports under way (image_store_hold) */
    struct statefile *refs_file;
};

struct store *image_store_blobs(struct image_store *is)
{
    return is->blobs;
}

struct layer_store *image_store_layers(struct image_store *is)
{
    return is->layers;
}

void image_free(struct image *img)
{
    if (!img)
        return;
    for (size_t i = 0; i < img->nlayers; i++)
        free(img->layers[i]);
    free(img->layers);
    json_decref(img->config);
    json_decref(img->meta);
    free(img);
}

/* ---- building an image from its config ---- */

static int chain_layers(struct image *img, const json_t *diff_ids, struct berth_err **err)
{
    size_t i;
    json_t *d;
    char chain[DIGEST_LEN + 1] = "";
    img->layers = xcalloc(json_array_size(diff_ids) + 1, sizeof(*img->layers));
    json_array_foreach(diff_ids, i, d)
    {
        const char *diff = json_string_value(d);
        if (!digest_valid(diff))
            return berth_user_error(err, EINVAL, "invalid diff id in image config");
        char next[DIGEST_LEN + 1];
        layer_chain_id(chain, diff, next);
        memcpy(chain, next, sizeof(chain));
        img->layers[img->nlayers++] = xstrdup(chain);
    }
    return 0;
}

int image_load_config(struct image_store *is, const char *id, const char *config_json, size_t len,
                      struct image **out, struct berth_err **err)
{
    (void)is;
    json_error_t je;
    struct image *img = xcalloc(1, sizeof(*img));
    snprintf(img->id, sizeof(img->id), "%s", id);
    img->config = json_loadb(config_json, len, 0, &je);
    json_t *rootfs = json_object_get(img->config, "rootfs");
    json_t *diff_ids = json_object_get(rootfs, "diff_ids");
    int r = 0;
    if (!json_is_object(img->config))
        r = berth_user_error(err, EINVAL, "invalid image config: %s", je.text);
    else if (!json_is_array(diff_ids) && json_object_size(rootfs) > 0)
        r = berth_user_error(err, EINVAL, "invalid image config: rootfs has no diff_ids");
    else
        r = chain_layers(img, diff_ids, err); /* an empty image has no layers */
    if (r < 0) {
        image_free(img);
        return r;
    }
    int64_t created = time_parse_rfc3339(json_get_str(img->config, "created"));
    img->created = created > 0 ? created / 1000000000 : 0;
    img->meta = json_object();
    *out = img;
    return 0;
}

int image_write(struct image_store *is, struct image *img, struct berth_err **err)
{
    json_t *layers = json_array();
    for (size_t i = 0; i < img->nlayers; i++)
        json_array_append_new(layers, json_string(img->layers[i]));
    json_object_set_new(img->meta, "Layers", layers);
    _cleanup_free_ char *text = json_dumps(img->meta, JSON_COMPACT);
    _cleanup_free_ char *path = xasprintf("%s/%s.json", is->dir, digest_hex(img->id));
    return fs_write_atomic(path, text, strlen(text), 0600, err);
}

int image_delete_meta(struct image_store *is, const char *id, struct berth_err **err)
{
    _cleanup_free_ char *path = xasprintf("%s/%s.json", is->dir, digest_hex(id));
    if (unlink(path) < 0 && errno != ENOENT)
        return berth_error(err, errno, "remove `%s`", path);
    return 0;
}

/* ---- the index ---- */

struct image *image_get(struct image_store *is, const char *id)
{
    return map_get(&is->images, id);
}

size_t image_count(struct image_store *is)
{
    return is->images.len;
}

struct image *image_next(struct image_store *is, size_t *i)
{
    void *v;
    return map_next(&is->images, i, NULL, &v) ? v : NULL;
}

struct image *image_register(struct image_store *is, struct image *img)
{
    struct image *old = image_get(is, img->id);
    if (old) {
        image_free(img);
        return old;
    }
    img->size = 0;
    for (size_t i = 0; i < img->nlayers; i++) {
        struct layer *l = layer_get(is->layers, img->layers[i]);
        if (l) {
            l->refs++;
            img->size += l->size;
        }
    }
    map_put(&is->images, img->id, img);
    return img;
}

struct image *image_unregister(struct image_store *is, const char *id)
{
    struct image *img = map_del(&is->images, id);
    for (size_t i = 0; img && i < img->nlayers; i++)
        layer_unref(is->layers, img->layers[i]);
    return img;
}

/* ---- references ---- */

const char *image_ref_target(struct image_store *is, const char *ref)
{
    return map_get(&is->refs, ref);
}

void image_ref_set(struct image_store *is, const char *ref, const char *id)
{
    free(map_put(&is->refs, ref, xstrdup(id)));
}

bool image_ref_del(struct image_store *is, const char *ref)
{
    char *old = map_del(&is->refs, ref);
    free(old);
    return old != NULL;
}

/* "name" of a full reference: before '@', or before the tag's ':' (after the last '/'). */
static char *ref_repo_name(const char *ref)
{
    const char *at = strchr(ref, '@');
    if (at)
        return xstrndup(ref, (size_t)(at - ref));
    const char *slash = strrchr(ref, '/'), *colon = strrchr(ref, ':');
    return colon && (!slash || colon > slash) ? xstrndup(ref, (size_t)(colon - ref)) : xstrdup(ref);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **image_refs_of(struct image_store *is, const char *id)
{
    const char *key;
    void *v;
    size_t n = 0;
    char **out = xcalloc(is->refs.len + 1, sizeof(*out));
    for (size_t i = 0; map_next(&is->refs, &i, &key, &v);)
        if (strcmp(v, id) == 0)
            out[n++] = xstrdup(key);
    qsort(out, n, sizeof(*out), cmp_str);
    return out;
}

char **image_refs_named(struct image_store *is, const char *name)
{
    const char *key;
    size_t n = 0;
    char **out = xcalloc(is->refs.len + 1, sizeof(*out));
    for (size_t i = 0; map_next(&is->refs, &i, &key, NULL);) {
        _cleanup_free_ char *repo = ref_repo_name(key);
        if (!strchr(key, '@') && strcmp(repo, name) == 0)
            out[n++] = xstrdup(key);
    }
    qsort(out, n, sizeof(*out), cmp_str);
    return out;
}

void image_strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static json_t *familiar_refs(struct image_store *is, const char *id, bool digests)
{
    json_t *out = json_array();
    char **refs = image_refs_of(is, id);
    for (size_t i = 0; refs[i]; i++) {
        struct image_ref r;
        if ((strchr(refs[i], '@') != NULL) != digests ||
            ref_parse(refs[i], REF_NO_DEFAULT_TAG, &r, NULL) < 0)
            continue;
        _cleanup_free_ char *fam = ref_familiar(&r);
        json_array_append_new(out, json_string(fam));
        ref_free(&r);
    }
    image_strv_free(refs);
    return out;
}

json_t *image_repo_tags(struct image_store *is, const char *id)
{
    return familiar_refs(is, id, false);
}

json_t *image_repo_digests(struct image_store *is, const char *id)
{
    return familiar_refs(is, id, true);
}

/* {"Repositories": {"docker.io/library/busybox": {"docker.io/library/busybox:latest": id}},
 *  "LastTagTime": {id: time}}: the tag times travel with the tags, in the same atomic file,
 * so a tag and its time never disagree and a deleted image's time goes with it. */
static char *refs_snapshot(void *arg, size_t *len)
{
    struct image_store *is = arg;
    _cleanup_json_ json_t *repos = json_object();
    const char *key;
    void *v;
    for (size_t i = 0; map_next(&is->refs, &i, &key, &v);) {
        _cleanup_free_ char *name = ref_repo_name(key);
        json_t *repo = json_object_get(repos, name);
        if (!repo)
            json_object_set_new(repos, name, repo = json_object());
        json_object_set_new(repo, key, json_string(v));
    }
    _cleanup_json_ json_t *times = json_object();
    struct image *img;
    for (size_t i = 0; (img = image_next(is, &i));)
        if (json_get_str(img->meta, "LastTagTime"))
            json_object_set(times, img->id, json_object_get(img->meta, "LastTagTime"));
    _cleanup_json_ json_t *doc = json_pack("{sO sO}", "Repositories", repos, "LastTagTime", times);
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    *len = strlen(text);
    return text;
}

void image_refs_save(struct image_store *is,
                     void (*done)(void *ctx, int res, const struct berth_err *err), void *ctx)
{
    statefile_save(is->refs_file, done, ctx);
}

static void note_layer_blobs(struct layer *l, void *arg)
{
    size_t k;
    json_t *b;
    json_array_foreach(l->blobs, k, b) if (json_get_str(b, "Digest"))
        map_put(arg, json_get_str(b, "Digest"), (void *)1);
}

void image_blobs_in_use(struct image_store *is, struct map *used)
{
    struct image *img;
    for (size_t i = 0; (img = image_next(is, &i));) {
        map_put(used, img->id, (void *)1);
        size_t k;
        json_t *m;
        json_array_foreach(json_object_get(img->meta, "Manifests"), k,
                           m) if (json_get_str(m, "Digest"))
            map_put(used, json_get_str(m, "Digest"), (void *)1);
    }
    layer_each(is->layers, note_layer_blobs, used);
    const char *pinned;
    for (size_t i = 0; map_next(&is->pins, &i, &pinned, NULL);)
        map_put(used, pinned, (void *)1);
}

void image_store_hold(struct image_store *is)
{
    is->holds++;
}

void image_store_release(struct image_store *is)
{
    is->holds--;
}

bool image_store_quiet(const struct image_store *is)
{
    return is->holds == 0;
}

/* ---- pins ---- */

void image_pin_blob(struct image_store *is, const char *digest)
{
    map_put(&is->pins, digest, (void *)((uintptr_t)map_get(&is->pins, digest) + 1));
}

void image_unpin_blob(struct image_store *is, const char *digest)
{
    uintptr_t n = (uintptr_t)map_get(&is->pins, digest);
    if (n <= 1)
        map_del(&is->pins, digest);
    else
        map_put(&is->pins, digest, (void *)(n - 1));
}

bool image_blob_pinned(struct image_store *is, const char *digest)
{
    return map_has(&is->pins, digest);
}

/* ---- lookup ---- */

static bool is_hex(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s) && !(*s >= 'a' && *s <= 'f'))
            return false;
    return true;
}

/* The one image whose ID starts with the hex prefix; NULL if none or ambiguous. */
static struct image *find_by_prefix(struct image_store *is, const char *hex)
{
    struct image *found = NULL, *img;
    size_t n = strlen(hex);
    for (size_t i = 0; (img = image_next(is, &i));) {
        if (strncmp(digest_hex(img->id), hex, n) != 0)
            continue;
        if (found)
            return NULL;
        found = img;
    }
    return found;
}

static struct image *find_by_ref(struct image_store *is, const char *name)
{
    struct image_ref r;
    if (ref_parse(name, 0, &r, NULL) < 0)
        return NULL;
    if (r.digest && r.tag) { /* name:tag@digest: the digest decides */
        free(r.tag);
        r.tag = NULL;
    }
    _cleanup_free_ char *full = ref_full(&r);
    ref_free(&r);
    const char *id = image_ref_target(is, full);
    return id ? image_get(is, id) : NULL;
}

int image_find(struct image_store *is, const char *name, struct image **out, struct berth_err **err)
{
    struct image *img = NULL;
    if (strncmp(name, "sha256:", 7) == 0 && is_hex(name + 7))
        img = strlen(name) == DIGEST_LEN ? image_get(is, name) : find_by_prefix(is, name + 7);
    else if (strlen(name) == DIGEST_HEX_LEN && is_hex(name))
        img = find_by_prefix(is, name);
    if (!img)
        img = find_by_ref(is, name);
    if (!img && is_hex(name))
        img = find_by_prefix(is, name);
    if (!img)
        return berth_user_error(err, ENOENT, "No such image: %s", name);
    *out = img;
    return 0;
}

/* ---- start-up ---- */

/* One registered image: its config must be in the content store and all its layers
 * present; anything less is a pull a crash interrupted, and is skipped. */
static void load_image(struct image_store *is, const char *hex)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_free_ char *id = xasprintf("sha256:%s", hex);
    _cleanup_free_ char *path = xasprintf("%s/%s.json", is->dir, hex);
    _cleanup_free_ char *config = NULL;
    size_t len;
    struct image *img = NULL;
    json_error_t je;
    json_t *meta = json_load_file(path, 0, &je);
    if (!json_is_object(meta) || store_get(is->blobs, id, &config, &len, &err) < 0 ||
        image_load_config(is, id, config, len, &img, &err) < 0) {
        log_warn("images: skipping %s: %s", id, err ? err->msg : je.text);
        json_decref(meta);
        return;
    }
    json_decref(img->meta);
    img->meta = meta;
    for (size_t i = 0; i < img->nlayers; i++) {
        if (!layer_get(is->layers, img->layers[i])) {
            log_warn("images: skipping %s: layer %s is missing", id, img->layers[i]);
            image_free(img);
            return;
        }
    }
    image_register(is, img);
}

static int load_images(struct image_store *is, struct berth_err **err)
{
    _cleanup_closedir_ DIR *d = opendir(is->dir);
    if (!d)
        return berth_error(err, errno, "read `%s`", is->dir);
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n == DIGEST_HEX_LEN + 5 && strcmp(e->d_name + DIGEST_HEX_LEN, ".json") == 0) {
            _cleanup_free_ char *hex = xstrndup(e->d_name, DIGEST_HEX_LEN);
            load_image(is, hex);
        }
    }
    return 0;
}

/* References to images that did not load are dropped (and the file rewritten later). */
static void load_refs(struct image_store *is, const char *path)
{
    json_error_t je;
    _cleanup_json_ json_t *doc = json_load_file(path, 0, &je);
    const char *name, *ref;
    json_t *repo, *id;
    json_object_foreach(json_object_get(doc, "Repositories"), name, repo)
    {
        json_object_foreach(repo, ref, id)
        {
            if (json_is_string(id) && image_get(is, json_string_value(id)))
                image_ref_set(is, ref, json_string_value(id));
            else
                log_warn("images: dropping reference %s to a missing image", ref);
        }
    }
    json_object_foreach(json_object_get(doc, "LastTagTime"), name, id)
    {
        struct image *img = image_get(is, name);
        if (img && json_is_string(id))
            json_object_set(img->meta, "LastTagTime", id);
    }
}

/* Create the records' directory and load the records in it. */
static int open_records(struct image_store *is, struct berth_err **err)
{
    int r = fs_mkdir_p(is->dir, 0700, err);
    if (r < 0)
        return r;
    _cleanup_close_ int dfd = open(is->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) /* image records a crash left half-written */
        fs_sweep_temps(dfd);
    return load_images(is, err);
}

int image_store_open(const char *root, struct store *blobs, struct layer_store *layers,
                     struct pool *pool, struct image_store **out, struct berth_err **err)
{
    struct image_store *is = xcalloc(1, sizeof(*is));
    is->dir = xasprintf("%s/images", root);
    is->blobs = blobs;
    is->layers = layers;
    _cleanup_free_ char *refs = xasprintf("%s/repositories.json", root);
    is->refs_file = statefile_new(pool, refs, refs_snapshot, is);
    _cleanup_close_ int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd >= 0) /* a repositories.json a crash left half-written */
        fs_sweep_temps(rootfd);
    int r = open_records(is, err);
    if (r < 0) { /* the store is freed here, whichever step failed */
        image_store_close(is);
        return r;
    }
    load_refs(is, refs);
    *out = is;
    return 0;
}

void image_store_close(struct image_store *is)
{
    if (!is)
        return;
    void *v;
    for (size_t i = 0; map_next(&is->images, &i, NULL, &v);)
        image_free(v);
    for (size_t i = 0; map_next(&is->refs, &i, NULL, &v);)
        free(v);
    map_free(&is->images);
    map_free(&is->refs);
    map_free(&is->pins);
    statefile_free(is->refs_file);
    free(is->dir);
    free(is);
}
