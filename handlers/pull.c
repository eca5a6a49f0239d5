/* handlers/pull.c — POST /images/create?fromImage= (docker pull) and POST /auth (docker
 * login): decode the reference and the credentials, run the pull, stream its progress. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "fs/ref.h"
#include "handlers/api.h"
#include "handlers/daemon.h"
#include "net/progress.h"
#include "net/pull.h"
#include "net/registry.h"

struct pull_call {
    struct api_req *a;
    struct pull *pull;
    bool streaming;
    struct registry_auth auth;
};

static void call_free(struct pull_call *pc)
{
    registry_auth_free(&pc->auth);
    free(pc);
}

static int pull_reference(struct api_req *a, struct image_ref *r, struct berth_err **err)
{
    _cleanup_free_ char *image = http_query_get(a->msg, "fromImage");
    _cleanup_free_ char *tag = http_query_get(a->msg, "tag");
    int rc = ref_parse_pull(image ? image : "", tag, r, err);
    if (rc == 0 && (rc = ref_check_tag_name(r, err)) < 0)
        ref_free(r);
    return rc;
}

static void on_emit(void *ctx, json_t *msg)
{
    struct pull_call *pc = ctx;
    if (!pc->streaming) {
        pc->streaming = true;
        api_stream_begin(pc->a, 200, "application/json");
    }
    api_stream_json(pc->a, msg);
}

static void on_done(void *ctx, int res, const struct berth_err *err)
{
    struct pull_call *pc = ctx;
    if (pc->a->c)
        http_conn_on_close(pc->a->c, NULL, NULL);
    if (res < 0 && !pc->streaming) {
        api_reply_error(pc->a, err); /* nothing streamed yet: a plain HTTP error, as dockerd */
    } else {
        if (res < 0) {
            _cleanup_json_ json_t *msg = progress_error(err->msg);
            api_stream_json(pc->a, msg);
        }
        api_stream_end(pc->a);
    }
    call_free(pc);
}

static void on_client_gone(void *arg)
{
    struct pull_call *pc = arg;
    pull_cancel(pc->pull); /* downloads nobody else waits for stop too */
    api_req_free(pc->a);
    call_free(pc);
}

static void pull_image(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct image_ref ref;
    struct pull_call *pc = xcalloc(1, sizeof(*pc));
    pc->a = a;
    _cleanup_free_ char *platform = http_query_get(a->msg, "platform");
    if (registry_auth_decode(http_msg_header(a->msg, "X-Registry-Auth"), &pc->auth, &err) < 0 ||
        pull_reference(a, &ref, &err) < 0) {
        call_free(pc);
        return api_reply_error(a, err);
    }
    struct pull_opts opts = {.platform = platform, .auth = &pc->auth};
    pc->pull = pull_start(&a->d->pull_env, &ref, &opts, on_emit, on_done, pc, &err);
    ref_free(&ref);
    if (!pc->pull) {
        call_free(pc);
        return api_reply_error(a, err);
    }
    http_conn_on_close(a->c, on_client_gone, pc);
}

/* fromSrc imports a tarball; fromImage pulls. */
static void post_create(struct api_req *a)
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

static void post_auth(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_json_ json_t *body = NULL;
    if (json_parse_body(a->msg->body.data, a->msg->body.len, false, &body, &err) < 0)
        return api_reply_error(a, err);
    struct login_call *lc = xcalloc(1, sizeof(*lc));
    lc->a = a;
    lc->auth.username = json_get_str(body, "username") ? xstrdup(json_get_str(body, "username"))
                                                       : NULL;
    lc->auth.password = json_get_str(body, "password") ? xstrdup(json_get_str(body, "password"))
                                                       : NULL;
    lc->auth.identity_token = json_get_str(body, "identitytoken")
                                  ? xstrdup(json_get_str(body, "identitytoken"))
                                  : NULL;
    _cleanup_free_ char *domain = login_domain(json_get_str(body, "serveraddress"));
    api_async(a);
    registry_login(a->d->hc, &a->d->regcfg, domain, &lc->auth, logged_in, lc);
}

const struct route pull_routes[] = {
    {"POST", "/images/create", post_create, ROUTE_STREAM_BODY}, /* import reads a tarball */
    {"POST", "/auth", post_auth, 0},
};
const size_t pull_routes_count = sizeof(pull_routes) / sizeof(pull_routes[0]);
