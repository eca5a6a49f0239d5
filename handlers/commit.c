/* handlers/commit.c — POST /commit (docker commit): the container paused while its upper
 * directory is read (unless pause=0), its layer and image made in a bulk job (fs/commit.c),
 * then registered and tagged here, as dockerd's CreateImageFromContainer does it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "exec/ctrfs.h"
#include "exec/run.h"
#include "fs/commit.h"
#include "fs/ref.h"
#include "handlers/api.h"
#include "handlers/daemon.h"
#include "handlers/handlers.h"

struct commit_call {
    struct pool_job job;
    struct api_req *a;
    struct daemon *d;
    struct ctrfs_spec *spec;
    bool paused; /* by us: thawed when done */
    char *ref;   /* the full reference to tag, or NULL */
    char *parent_id, *parent_chain, *author, *comment;
    char ctr_id[65];
    json_t *parent_config, *config, *container_config;
    struct commit_result res;
    int rc;
    struct berth_err *err;
};

static void commit_free(struct commit_call *cc)
{
    free(cc->ref);
    free(cc->parent_id);
    free(cc->parent_chain);
    free(cc->author);
    free(cc->comment);
    json_decref(cc->parent_config);
    json_decref(cc->config);
    json_decref(cc->container_config);
    berth_err_free(cc->err);
    free(cc);
}

static void commit_work(struct pool_job *job)
{
    struct commit_call *cc = container_of(job, struct commit_call, job);
    _cleanup_(ctrfs_closep) struct ctrfs *fs = NULL;
    struct commit_opts o = {.parent_id = cc->parent_id,
                            .parent_config = cc->parent_config,
                            .parent_chain = cc->parent_chain,
                            .config = cc->config,
                            .container_config = cc->container_config,
                            .container_id = cc->ctr_id,
                            .author = cc->author,
                            .comment = cc->comment,
                            .named = cc->ref != NULL};
    cc->rc = ctrfs_open(cc->spec, &fs, &cc->err);
    if (cc->rc == 0)
        cc->rc = commit_image(cc->d->images, ctrfs_upper(fs), &o, &cc->res, &cc->err);
}

/* dockerd's commit event: the comment, the new image's ID and its tag as the user writes it. */
static void commit_event(struct commit_call *cc)
{
    _cleanup_ref_ struct image_ref r = {0};
    _cleanup_free_ char *familiar =
        cc->ref && ref_parse(cc->ref, 0, &r, NULL) == 0 ? ref_familiar(&r) : NULL;
    events_container_id(cc->d->events, cc->d->cs, cc->ctr_id, "commit",
                        json_pack("{ss ss ss}", "comment", cc->comment, "imageID", cc->res.img->id,
                                  "imageRef", familiar ? familiar : ""));
}

static void commit_replied(void *ctx, int res, const struct berth_err *err)
{
    struct commit_call *cc = ctx;
    if (res < 0) {
        api_reply_error(cc->a, err);
    } else {
        commit_event(cc);
        api_reply_json(cc->a, 201, json_pack("{ss}", "Id", cc->res.img->id));
    }
    image_store_release(cc->d->images);
    commit_free(cc);
}

/* The hold ends and the container thaws (if it still runs paused: someone may have unpaused
 * or stopped it meanwhile, which is theirs to do). */
static void commit_unhold(struct commit_call *cc)
{
    struct container *c;
    if (cc->paused && ctr_lookup(cc->d->cs, cc->ctr_id, &c, NULL) == 0 &&
        c->state.status == CTR_PAUSED)
        ctr_pause(&cc->d->exec, c, false, NULL); /* its failure leaves it paused: logged there */
    ctrfs_release(&cc->d->exec, cc->spec);
}

static void commit_done(struct pool_job *job)
{
    struct commit_call *cc = container_of(job, struct commit_call, job);
    struct daemon *d = cc->d;
    commit_unhold(cc);
    struct layer *l = take_ptr(cc->res.layer);
    if (l && (cc->rc < 0 || cc->res.empty)) /* nothing changed: dockerd adds no empty layer */
        layer_discard(d->layers, d->pool, l);
    else if (l && layer_register(d->layers, l) != l) /* the same layer, committed before */
        layer_discard(d->layers, d->pool, l);
    if (cc->rc < 0) {
        api_reply_error(cc->a, cc->err);
        image_store_release(d->images);
        return commit_free(cc);
    }
    cc->res.img = image_register(d->images, cc->res.img);
    if (!cc->ref)
        return commit_replied(cc, 0, NULL);
    image_ref_set(d->images, cc->ref, cc->res.img->id);
    image_refs_save(d->images, commit_replied, cc);
}

/* dockerd's RepoTagReference of repo and tag: no repo, no tag. */
static int commit_reference(struct api_req *a, char **full, struct berth_err **err)
{
    _cleanup_free_ char *repo = http_query_get(a->msg, "repo");
    _cleanup_free_ char *tag = http_query_get(a->msg, "tag");
    _cleanup_ref_ struct image_ref r = {0};
    *full = NULL;
    int rc = ref_parse_repo_tag(repo ? repo : "", tag, &r, err);
    if (rc > 0 && ref_check_tag_name(&r, err) < 0)
        return -1;
    if (rc > 0)
        *full = ref_full(&r);
    return rc < 0 ? rc : 0;
}

/* The body is an optional container config: empty or JSON null is none, as for dockerd. */
static int commit_body(struct api_req *a, json_t **out, struct berth_err **err)
{
    const char *data = a->msg->body.data ? a->msg->body.data : "";
    size_t len = a->msg->body.len, i = 0;
    *out = NULL;
    while (i < len && strchr(" \t\r\n", data[i]))
        i++;
    if (len - i >= 4 && strncmp(data + i, "null", 4) == 0 &&
        strspn(data + i + 4, " \t\r\n") == len - i - 4)
        return 0;
    int r = json_parse_body(data, len, true, out, err);
    if (r == 0 && !json_is_object(*out)) {
        json_decref(take_ptr(*out));
        return berth_user_error(err, EINVAL,
                                "invalid JSON: json: cannot unmarshal into Go value of type "
                                "container.Config");
    }
    return r;
}

/* What the job needs, copied from the container and its image (reactor thread). */
static int commit_prepare(struct commit_call *cc, struct container *c, char **changes,
                          const json_t *body, struct berth_err **err)
{
    if (c->state.status == CTR_DEAD) /* dockerd's 409 */
        return berth_user_error(err, EBUSY, "You cannot commit container %s which is Dead", c->id);
    struct image *img = image_get(cc->d->images, c->image_id);
    if (!img)
        return berth_user_error(err, ENOENT, "No such image: %s", c->image_id);
    int r = commit_config(c->config, body, changes, &cc->config, err);
    if (r < 0)
        return r;
    cc->parent_config = json_deep_copy(img->config);
    cc->container_config = json_deep_copy(c->config);
    cc->parent_id = xstrdup(c->image_id);
    cc->parent_chain = xstrdup(c->image_chain ? c->image_chain : "");
    memcpy(cc->ctr_id, c->id, sizeof(cc->ctr_id));
    cc->spec = ctrfs_hold(&cc->d->exec, c, CTRFS_LAYERS, "commit", err);
    return cc->spec ? 0 : -1;
}

void images_commit(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_free_ char *name = http_query_get(a->msg, "container");
    _cleanup_json_ json_t *body = NULL;
    _cleanup_strv_ char **changes = http_query_all(a->msg, "changes");
    struct container *c;
    struct commit_call *cc = xcalloc(1, sizeof(*cc));
    *cc = (struct commit_call){.job = {.work = commit_work, .done = commit_done},
                               .a = a,
                               .d = a->d,
                               .author = http_query_get(a->msg, "author"),
                               .comment = http_query_get(a->msg, "comment")};
    if (!cc->author)
        cc->author = xstrdup("");
    if (!cc->comment)
        cc->comment = xstrdup("");
    if (!name || !*name)
        berth_user_error(&err, EINVAL, "invalid name or ID supplied: \"\"");
    if (!err && commit_body(a, &body, &err) == 0 && commit_reference(a, &cc->ref, &err) == 0 &&
        ctr_lookup(a->d->cs, name, &c, &err) == 0)
        commit_prepare(cc, c, changes, body, &err);
    if (err) {
        commit_free(cc);
        return api_reply_error(a, err);
    }
    /* as dockerd: pause=0 (present and false) does not pause; a pause that fails is ignored */
    _cleanup_free_ char *pause = http_query_get(a->msg, "pause");
    bool no_pause = pause && !http_query_bool(a->msg, "pause");
    if (!no_pause && c->state.status == CTR_RUNNING)
        cc->paused = ctr_pause(&a->d->exec, c, true, NULL) == 0;
    image_store_hold(a->d->images); /* its layer comes before its image */
    api_async(a);
    pool_submit(a->d->pool, POOL_BULK, &cc->job);
}
