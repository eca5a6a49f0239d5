/* fs/image_delete.c — dockerd's image deletion rules (daemon/images/image_delete.go):
 * removing a name untags; removing the last name, or an ID, deletes the image and the layers
 * and blobs only it used. Conflicts read as dockerd's, since scripts match on them. */
#include "fs/image_delete.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/labels.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/map.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "fs/ref.h"

static const char *image_user(const struct image_change *ch, const char *id, bool *running)
{
    *running = false;
    return ch->users.fn ? ch->users.fn(ch->users.arg, id, running) : NULL;
}

static void push_str(char ***v, size_t *n, const char *s)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = xstrdup(s);
}

static void record(struct image_change *ch, enum image_record_kind kind, const char *what,
                   const char *image)
{
    ch->records = xrealloc(ch->records, (ch->nrecords + 1) * sizeof(*ch->records));
    ch->records[ch->nrecords++] = (struct image_record){
        .kind = kind, .what = xstrdup(what), .image = image ? xstrdup(image) : NULL};
}

static char *familiar(const char *full)
{
    struct image_ref r;
    if (ref_parse(full, REF_NO_DEFAULT_TAG, &r, NULL) < 0)
        return xstrdup(full);
    char *f = ref_familiar(&r);
    ref_free(&r);
    return f;
}

static void untag(struct image_store *is, struct image_change *ch, const char *full)
{
    const char *target = image_ref_target(is, full);
    _cleanup_free_ char *image = target ? xstrdup(target) : NULL;
    if (!image_ref_del(is, full))
        return;
    _cleanup_free_ char *f = familiar(full);
    record(ch, IMAGE_UNTAGGED, f, image);
    ch->refs_changed = true;
}

/* The part of a full reference before its tag or digest. */
static char *repo_of(const char *full)
{
    const char *at = strchr(full, '@'), *slash = strrchr(full, '/');
    const char *colon = strrchr(full, ':');
    if (at)
        return xstrndup(full, (size_t)(at - full));
    if (colon && (!slash || colon > slash))
        return xstrndup(full, (size_t)(colon - full));
    return xstrdup(full);
}

/* An ID (or ID prefix) names the image itself rather than one of its references. */
static bool names_id(const struct image *img, const char *name)
{
    const char *hex = strncmp(name, "sha256:", 7) == 0 ? name + 7 : name;
    return *hex && strncmp(digest_hex(img->id), hex, strlen(hex)) == 0 &&
           strspn(hex, "0123456789abcdef") == strlen(hex);
}

/* All references in one repository, with at most one tag among them. */
static bool single_reference(char **refs)
{
    size_t tags = 0;
    _cleanup_free_ char *repo = refs[0] ? repo_of(refs[0]) : NULL;
    for (size_t i = 0; refs[i]; i++) {
        _cleanup_free_ char *r = repo_of(refs[i]);
        if (strcmp(r, repo) != 0)
            return false;
        tags += strchr(refs[i], '@') == NULL;
    }
    return tags <= 1;
}

/* After untagging repo:tag, digest references of the same repository go too when no tag of
 * that repository is left. */
static void untag_orphan_digests(struct image_store *is, struct image_change *ch,
                                 const struct image *img, const char *full)
{
    _cleanup_free_ char *repo = repo_of(full);
    char **refs = image_refs_of(is, img->id);
    bool tag_left = false;
    for (size_t i = 0; refs[i]; i++) {
        _cleanup_free_ char *r = repo_of(refs[i]);
        tag_left |= strcmp(r, repo) == 0 && !strchr(refs[i], '@');
    }
    for (size_t i = 0; refs[i] && !tag_left; i++) {
        _cleanup_free_ char *r = repo_of(refs[i]);
        if (strcmp(r, repo) == 0)
            untag(is, ch, refs[i]);
    }
    image_strv_free(refs);
}

static bool has_children(struct image_store *is, const char *id)
{
    struct image *img;
    for (size_t i = 0; (img = image_next(is, &i));)
        if (json_get_str(img->meta, "Parent") && strcmp(json_get_str(img->meta, "Parent"), id) == 0)
            return true;
    return false;
}

/* dockerd's conflicts, in its order: the hard ones (child images, a running container) even
 * with force; then, unless forced, references left (refs: NULL where they do not count) and a
 * stopped container. */
static int check_conflicts(struct image_store *is, const struct image_change *ch,
                           const struct image *img, char **refs, bool force, struct berth_err **err)
{
    bool running;
    const char *user = image_user(ch, img->id, &running);
    const char *hex = digest_hex(img->id);
    if (has_children(is, img->id))
        return berth_user_error(err, EBUSY,
                                "conflict: unable to delete %.12s (cannot be forced) "
                                "- image has dependent child images",
                                hex);
    if (user && running)
        return berth_user_error(err, EBUSY,
                                "conflict: unable to delete %.12s (cannot be forced) "
                                "- image is being used by running container %.12s",
                                hex, user);
    if (refs && refs[0] && !force)
        return berth_user_error(err, EBUSY,
                                "conflict: unable to delete %.12s (must be forced) - "
                                "image is referenced in multiple repositories",
                                hex);
    if (user && !force)
        return berth_user_error(err, EBUSY,
                                "conflict: unable to delete %.12s (must be forced) - "
                                "image is being used by stopped container %.12s",
                                hex, user);
    return 0;
}

static void collect_blobs(struct image_change *ch, const struct image *img)
{
    push_str(&ch->blobs, &ch->nblobs, img->id);
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(img->meta, "Manifests"), i, m) if (json_get_str(m, "Digest"))
        push_str(&ch->blobs, &ch->nblobs, json_get_str(m, "Digest"));
}

/* Remove the image from the index, and its layers nobody else uses (top layer first). */
static void delete_image(struct image_store *is, struct image *img, struct image_change *ch)
{
    struct layer_store *ls = image_store_layers(is);
    record(ch, IMAGE_DELETED, img->id, img->id);
    push_str(&ch->deleted_ids, &ch->ndeleted, img->id);
    collect_blobs(ch, img);
    image_unregister(is, img->id);
    for (size_t i = img->nlayers; i-- > 0;) {
        struct layer *l = layer_get(ls, img->layers[i]);
        if (!l || l->refs > 0)
            continue;
        layer_forget(ls, l->chain_id);
        record(ch, IMAGE_DELETED, l->chain_id, NULL);
        ch->reclaimed += l->size;
        size_t k;
        json_t *b;
        json_array_foreach(l->blobs, k, b)
            push_str(&ch->blobs, &ch->nblobs, json_get_str(b, "Digest"));
        ch->layers = xrealloc(ch->layers, (ch->nlayers + 1) * sizeof(*ch->layers));
        ch->layers[ch->nlayers++] = l;
    }
    image_free(img);
}

static int delete_helper(struct image_store *is, struct image *img, bool force,
                         bool removed_repo_ref, struct image_change *ch, struct berth_err **err)
{
    _cleanup_strv_ char **refs = image_refs_of(is, img->id);
    int r = check_conflicts(is, ch, img, refs, force, err);
    if (r < 0 && removed_repo_ref) { /* the untag stands; the image stays */
        berth_err_freep(err);
        return 0;
    }
    if (r < 0)
        return r;
    for (size_t i = 0; refs[i]; i++)
        untag(is, ch, refs[i]);
    delete_image(is, img, ch);
    return 0;
}

static char *normalise(const char *name)
{
    struct image_ref r;
    if (ref_parse(name, 0, &r, NULL) < 0)
        return NULL;
    if (r.digest && r.tag) {
        free(r.tag);
        r.tag = NULL;
    }
    char *full = ref_full(&r);
    ref_free(&r);
    return full;
}

static int delete_by_ref(struct image_store *is, struct image *img, const char *name, bool force,
                         struct image_change *ch, struct berth_err **err)
{
    _cleanup_free_ char *full = normalise(name);
    char **refs = image_refs_of(is, img->id);
    /* one tag and its digest references count as one: untagging would leave it dangling */
    bool single = refs[0] && single_reference(refs);
    image_strv_free(refs);
    bool running;
    const char *user = image_user(ch, img->id, &running);
    if (user && !force && single)
        return berth_user_error(err, EBUSY,
                                "conflict: unable to remove repository reference \"%s\" (must "
                                "force) - container %.12s is using its referenced image %.12s",
                                name, user, digest_hex(img->id));
    untag(is, ch, full);
    if (!strchr(full, '@'))
        untag_orphan_digests(is, ch, img, full);
    refs = image_refs_of(is, img->id);
    bool left = refs[0] != NULL;
    image_strv_free(refs);
    return left ? 0 : delete_helper(is, img, force, true, ch, err);
}

int image_delete(struct image_store *is, const char *name, bool force, bool prune,
                 struct image_change *ch, struct berth_err **err)
{
    (void)prune; /* parents exist only for built images; pruned with them once builds land */
    struct image *img;
    int r = image_find(is, name, &img, err);
    if (r < 0)
        return r;
    if (!names_id(img, name))
        return delete_by_ref(is, img, name, force, ch, err);
    _cleanup_strv_ char **refs = image_refs_of(is, img->id);
    if (refs[0] && single_reference(refs)) {
        r = check_conflicts(is, ch, img, NULL, force, err); /* its own references are going */
        if (r < 0)
            return r;
        for (size_t i = 0; refs[i]; i++)
            untag(is, ch, refs[i]);
    }
    return delete_helper(is, img, force, false, ch, err);
}

static bool has_tag(char **refs)
{
    for (size_t i = 0; refs[i]; i++)
        if (!strchr(refs[i], '@'))
            return true;
    return false;
}

/* The image's creation time in nanoseconds, -1 when its config has none. */
static int64_t created_ns(const struct image *img)
{
    return time_parse_rfc3339(json_get_str(img->config, "created"));
}

/* What no image uses any more: layers (of a pull that failed after some of its layers were
 * in) and blobs, the latter left to filter_blobs to keep the used ones. Only when no pull,
 * load or import is under way: their layers and blobs come before their images. */
static void collect_garbage(struct image_store *is, struct image_change *ch)
{
    if (!image_store_quiet(is))
        return;
    struct layer_store *ls = image_store_layers(is);
    struct layer **unused = layer_unused(ls);
    for (size_t i = 0; unused[i]; i++) {
        struct layer *l = layer_forget(ls, unused[i]->chain_id);
        record(ch, IMAGE_DELETED, l->chain_id, NULL);
        ch->reclaimed += l->size;
        ch->layers = xrealloc(ch->layers, (ch->nlayers + 1) * sizeof(*ch->layers));
        ch->layers[ch->nlayers++] = l;
    }
    free(unused);
    char **all = store_digests(image_store_blobs(is));
    for (size_t i = 0; all[i]; i++)
        push_str(&ch->blobs, &ch->nblobs, all[i]);
    image_strv_free(all);
}

void image_prune(struct image_store *is, bool all, const struct prune_match *m,
                 struct image_change *ch)
{
    char **ids = NULL;
    size_t n = 0;
    struct image *img;
    for (size_t i = 0; (img = image_next(is, &i));)
        if (!m || prune_match(m, created_ns(img),
                              json_object_get(json_object_get(img->config, "config"), "Labels")))
            push_str(&ids, &n, img->id);
    for (size_t i = 0; i < n; i++) {
        _cleanup_err_ struct berth_err *err = NULL;
        char **refs = image_refs_of(is, ids[i]);
        if (!refs[0])
            image_delete(is, digest_hex(ids[i]), false, true, ch, &err);
        else if (all || !has_tag(refs))
            for (size_t k = 0; refs[k] && image_get(is, ids[i]); k++)
                image_delete(is, refs[k], false, true, ch, &err); /* conflicts: kept */
        image_strv_free(refs);
        free(ids[i]);
    }
    free(ids);
    collect_garbage(is, ch);
}

void image_change_free(struct image_change *ch)
{
    for (size_t i = 0; i < ch->nrecords; i++) {
        free(ch->records[i].what);
        free(ch->records[i].image);
    }
    free(ch->records);
    for (size_t i = 0; i < ch->ndeleted; i++)
        free(ch->deleted_ids[i]);
    for (size_t i = 0; i < ch->nblobs; i++)
        free(ch->blobs[i]);
    for (size_t i = 0; i < ch->nlayers; i++)
        layer_free(ch->layers[i]);
    free(ch->deleted_ids);
    free(ch->blobs);
    free(ch->layers);
    *ch = (struct image_change){.users = ch->users}; /* ready for another series */
}

/* ---- applying ---- */

struct apply {
    struct image_store *is;
    struct pool *pool;
    struct image_change ch;
    char **trash; /* layer trees moved aside, removed by the bulk job */
    size_t ntrash;
    struct pool_job job, rm_job;
    int res;
    struct berth_err *err;
    image_change_done_fn done;
    void *ctx;
};

/* Keep only candidate blobs that no remaining image or layer references and no work in
 * progress has pinned. */
static void filter_blobs(struct image_store *is, struct image_change *ch)
{
    struct map used = {0};
    image_blobs_in_use(is, &used);
    size_t kept = 0;
    for (size_t i = 0; i < ch->nblobs; i++) {
        if (map_has(&used, ch->blobs[i]))
            free(ch->blobs[i]);
        else
            ch->blobs[kept++] = ch->blobs[i];
    }
    ch->nblobs = kept;
    map_free(&used);
}

/* Records, then layer trees (moved aside into ap->trash), then blobs; stops at the first
 * failure. */
static int apply_change(struct apply *ap, struct berth_err **err)
{
    struct image_change *ch = &ap->ch;
    struct layer_store *ls = image_store_layers(ap->is);
    int r;
    for (size_t i = 0; i < ch->ndeleted; i++)
        if ((r = image_delete_meta(ap->is, ch->deleted_ids[i], err)) < 0)
            return r;
    for (size_t i = 0; i < ch->nlayers; i++)
        if ((r = layer_trash(ls, ch->layers[i], &ap->trash[ap->ntrash++], err)) < 0)
            return r;
    for (size_t i = 0; i < ch->nblobs; i++) {
        struct store *blobs = image_store_blobs(ap->is);
        uint64_t size = 0;
        if (store_size(blobs, ch->blobs[i], &size, NULL) < 0)
            size = 0; /* already gone: it frees nothing now */
        if ((r = store_remove(blobs, ch->blobs[i], err)) < 0)
            return r;
        ch->reclaimed += size;
    }
    return 0;
}

static void apply_work(struct pool_job *job)
{
    struct apply *ap = container_of(job, struct apply, job);
    ap->trash = xcalloc(ap->ch.nlayers + 1, sizeof(*ap->trash));
    ap->res = apply_change(ap, &ap->err);
}

static void rm_work(struct pool_job *job)
{
    struct apply *ap = container_of(job, struct apply, rm_job);
    for (size_t i = 0; i < ap->ntrash; i++) {
        _cleanup_err_ struct berth_err *err = NULL;
        if (ap->trash[i] && layer_rm_tree(ap->trash[i], &err) < 0)
            log_warn("images: %s", err->msg); /* left in layers/tmp: removed at next start */
    }
}

static void rm_done(struct pool_job *job)
{
    struct apply *ap = container_of(job, struct apply, rm_job);
    for (size_t i = 0; i < ap->ntrash; i++)
        free(ap->trash[i]);
    free(ap->trash);
    image_change_free(&ap->ch);
    free(ap);
}

static void apply_done(struct pool_job *job)
{
    struct apply *ap = container_of(job, struct apply, job);
    ap->done(ap->ctx, ap->res, ap->ch.records, ap->ch.nrecords, ap->ch.reclaimed, ap->err);
    berth_err_freep(&ap->err);
    ap->rm_job = (struct pool_job){.work = rm_work, .done = rm_done};
    pool_submit(ap->pool, POOL_BULK, &ap->rm_job);
}

static void after_refs(void *ctx, int res, const struct berth_err *err)
{
    struct apply *ap = ctx;
    if (res < 0) {
        ap->res = res;
        ap->err = berth_err_dup(err, "saving the references failed");
    }
    ap->job = (struct pool_job){.work = apply_work, .done = apply_done};
    pool_submit(ap->pool, POOL_LATENCY, &ap->job);
}

void image_change_apply(struct image_store *is, struct pool *pool, struct image_change *ch,
                        image_change_done_fn done, void *ctx)
{
    struct apply *ap = xcalloc(1, sizeof(*ap));
    *ap = (struct apply){.is = is, .pool = pool, .ch = *ch, .done = done, .ctx = ctx};
    memset(ch, 0, sizeof(*ch));
    filter_blobs(is, &ap->ch);
    if (ap->ch.refs_changed)
        image_refs_save(is, after_refs, ap);
    else
        after_refs(ap, 0, NULL);
}
