/* handlers/distribution.c — talking to registries: POST /images/create?fromImage= (docker
 * pull), POST /images/{name}/push and POST /auth (docker login). Decode the reference and the
 * credentials, run the transfer, stream its progress in Docker's JSON messages. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "fs/ref.h"
#include "handlers/api.h"
#include "handlers/daemon.h"
#include "handlers/handlers.h"
#include "net/registry/progress.h"
#include "net/registry/pull.h"
#include "net/registry/push.h"
#include "net/registry/registry.h"

/* A pull or push in progress for one client. */
struct xfer_call {
    struct api_req *a;
    void *op;
    void (*cancel)(void *op);
    bool streaming;
    struct registry_auth auth;
    /* the image event of a success, as dockerd's: the reference and its repository, familiar */
    const char *action;
    char *ref, *repo;
};

static void call_free(struct xfer_call *xc)
{
    registry_auth_free(&xc->auth);
    free(xc->ref);
    free(xc->repo);
    free(xc);
}

static void set_event(struct xfer_call *xc, const char *action, const struct image_ref *r)
{
    xc->action = action;
    xc->ref = ref_familiar(r);
    xc->repo = ref_familiar_name(r);
}

static void on_emit(void *ctx, json_t *msg)
{
    struct xfer_call *xc = ctx;
    if (!xc->streaming) {
        xc->streaming = true;
        api_stream_begin(xc->a, 200, "application/json");
    }
    api_stream_progress(xc->a, msg);
}

/* Before the first message an error is a plain HTTP error, as dockerd answers; after it, an
 * errorDetail message ends the stream. */
static void on_done(void *ctx, int res, const struct berth_err *err)
{
    struct xfer_call *xc = ctx;
    if (res >= 0)
        events_image(xc->a->d->events, xc->a->d->images, xc->ref, xc->repo, xc->action);
    if (xc->a->c)
        http_conn_on_close(xc->a->c, NULL, NULL);
    if (res < 0 && !xc->streaming) {
        api_reply_error(xc->a, err);
    } else {
        if (res < 0) {
            _cleanup_json_ json_t *msg = progress_error(err->msg);
            api_stream_progress(xc->a, msg);
        }
        api_stream_end(xc->a);
    }
    call_free(xc);
}

static void on_client_gone(void *arg)
{
    struct xfer_call *xc = arg;
    xc->cancel(xc->op); /* downloads nobody else waits for stop too */
    api_req_free(xc->a);
    call_free(xc);
}

static struct xfer_call *xfer_new(struct api_req *a, struct berth_err **err)
{
    struct xfer_call *xc = xcalloc(1, sizeof(*xc));
    xc->a = a;
    if (registry_auth_decode(http_msg_header(a->msg, "X-Registry-Auth"), &xc->auth, err) < 0) {
        call_free(xc);
        return NULL;
    }
    return xc;
}

static int pull_reference(struct api_req *a, struct image_ref *r, struct berth_err **err)
{
    _cleanup_free_ char *image = http_query_get(a->msg, "fromImage");
    _cleanup_free_ char *tag = http_query_get(a->msg, "tag");
    int rc = ref_parse_pull(image ? image : "", tag, r, err);
    if (rc < 0)
        return rc;
    if ((rc = ref_check_tag_name(r, err)) < 0)
        ref_free(r); /* the caller gets no reference when the name is refused */
    return rc;
}

static void pull_image(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_ref_ struct image_ref ref = {0};
    _cleanup_free_ char *platform = http_query_get(a->msg, "platform");
    struct xfer_call *xc = xfer_new(a, &err);
    if (!xc || pull_reference(a, &ref, &err) < 0) {
        if (xc)
            call_free(xc);
        return api_reply_error(a, err);
    }
    set_event(xc, "pull", &ref);
    struct pull_opts opts = {.platform = platform, .auth = &xc->auth};
    xc->op = pull_start(&a->d->pull_env, &ref, &opts, on_emit, on_done, xc, &err);
    xc->cancel = (void (*)(void *))pull_cancel;
    if (!xc->op) {
        call_free(xc);
        return api_reply_error(a, err);
    }
    http_conn_on_close(a->c, on_client_gone, xc);
}

/* POST /images/{name}/push?tag=: no tag pushes every tag of the repository. */
void images_push(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_ref_ struct image_ref ref = {0};
    _cleanup_free_ char *tag = http_query_get(a->msg, "tag");
    struct xfer_call *xc = xfer_new(a, &err);
    if (!xc || ref_parse_pull(a->params[0], tag, &ref, &err) < 0 || ref.digest) {
        if (xc)
            call_free(xc);
        if (!err)
            berth_user_error(&err, EINVAL, "cannot push a digest reference");
        return api_reply_error(a, err);
    }
    set_event(xc, "push", &ref);
    xc->op = push_start(&a->d->push_env, &ref, &xc->auth, on_emit, on_done, xc, &err);
    xc->cancel = (void (*)(void *))push_cancel;
    if (!xc->op) {
        call_free(xc);
        return api_reply_error(a, err);
    }
    http_conn_on_close(a->c, on_client_gone, xc);
}

/* fromSrc imports a tarball; fromImage pulls. */
void images_create(struct api_req *a)
{
    _cleanup_free_ char *src = http_query_get(a->msg, "fromSrc");
    if (src) {
        image_import(a, src);
        return;
    }
    pull_image(a);
}

/* ---- docker login ---- */

struct login_call {
    struct api_req *a;
    struct registry_auth auth;
};

static void logged_in(void *ctx, int res, const char *identity_token, const struct berth_err *err)
{
    struct login_call *lc = ctx;
    if (res < 0)
        api_reply_error(lc->a, err);
    else
        api_reply_json(lc->a, 200,
                       json_pack("{ss ss}", "Status", "Login Succeeded", "IdentityToken",
                                 identity_token ? identity_token : ""));
    registry_auth_free(&lc->auth);
    free(lc);
}

/* "https://index.docker.io/v1/", "http://127.0.0.1:5000/" → the registry's domain. */
static char *login_domain(const char *server)
{
    if (!server || !*server || strstr(server, "index.docker.io") ||
        strcmp(server, "docker.io") == 0)
        return xstrdup("docker.io");
    const char *s = strstr(server, "://");
    s = s ? s + 3 : server;
    return xstrndup(s, strcspn(s, "/"));
}

void auth_login(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_json_ json_t *body = NULL;
    if (json_parse_body(a->msg->body.data, a->msg->body.len, false, &body, &err) < 0)
        return api_reply_error(a, err);
    struct login_call *lc = xcalloc(1, sizeof(*lc));
    lc->a = a;
    lc->auth.username =
        json_get_str(body, "username") ? xstrdup(json_get_str(body, "username")) : NULL;
    lc->auth.password =
        json_get_str(body, "password") ? xstrdup(json_get_str(body, "password")) : NULL;
    lc->auth.identity_token =
        json_get_str(body, "identitytoken") ? xstrdup(json_get_str(body, "identitytoken")) : NULL;
    _cleanup_free_ char *domain = login_domain(json_get_str(body, "serveraddress"));
    api_async(a);
    registry_login(a->d->hc, &a->d->regcfg, domain, &lc->auth, logged_in, lc);
}
