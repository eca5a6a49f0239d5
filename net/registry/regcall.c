/* net/registry/regcall.c — buffers one registry response. The done callback is deferred to a zero
 * timer when the request fails before it starts, so callers never see it re-entrantly. */
#include "net/registry/regcall.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/xalloc.h"

struct regcall {
    struct hreq *req;
    struct regcall_result r;
    size_t max_body;
    bool too_big;
    regcall_fn done;
    void *ctx;
};

static void result_free(struct regcall_result *r)
{
    buf_free(&r->body);
    free(r->content_type);
    free(r->location);
    free(r->digest);
}

static char *header_copy(const struct http_msg *m, const char *name)
{
    const char *v = http_msg_header(m, name);
    return v ? xstrdup(v) : NULL;
}

static void on_head(void *ctx, const struct http_msg *resp)
{
    struct regcall *c = ctx;
    c->r.status = resp->status;
    c->r.content_type = header_copy(resp, "Content-Type");
    c->r.location = header_copy(resp, "Location");
    c->r.digest = header_copy(resp, "Docker-Content-Digest");
}

static void on_body(void *ctx, const char *data, size_t n)
{
    struct regcall *c = ctx;
    if (c->r.body.len + n > c->max_body) {
        c->too_big = true; /* keep reading to keep the connection reusable, but drop it */
        return;
    }
    buf_append(&c->r.body, data, n);
}

static void on_done(void *ctx, int res, const struct berth_err *err)
{
    struct regcall *c = ctx;
    struct berth_err *big = NULL;
    if (res == 0 && c->too_big)
        res =
            berth_user_error(&big, EINVAL, "registry response larger than %zu bytes", c->max_body);
    c->done(c->ctx, res, big ? big : err, &c->r);
    berth_err_free(big);
    result_free(&c->r);
    free(c);
}

struct regcall *regcall_start(struct reg_session *s, const char *method, const char *path,
                              const char *headers, const void *body, size_t len, size_t max_body,
                              regcall_fn done, void *ctx)
{
    struct regcall *c = xcalloc(1, sizeof(*c));
    c->max_body = max_body;
    c->done = done;
    c->ctx = ctx;
    struct hreq_spec spec = {.method = method,
                             .headers = headers,
                             .body = body,
                             .body_len = len,
                             .max_redirects = 10,
                             .on_head = on_head,
                             .on_body = on_body,
                             .on_done = on_done,
                             .ctx = c};
    c->req = reg_request(s, path, &spec);
    return c;
}

void regcall_cancel(struct regcall *c)
{
    if (!c)
        return;
    hreq_cancel(c->req);
    result_free(&c->r);
    free(c);
}

char *regcall_error_text(const struct regcall_result *r)
{
    json_error_t je;
    _cleanup_json_ json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &je);
    json_t *e = json_array_get(json_object_get(j, "errors"), 0);
    const char *code = json_get_str(e, "code"), *msg = json_get_str(e, "message");
    if (!code)
        return xasprintf("%d %s", r->status, http_status_text(r->status));
    char *words = xstrdup(code);
    for (char *c = words; *c; c++)
        *c = *c == '_' ? ' ' : (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    char *text = xasprintf("%s: %s", words, msg ? msg : "");
    free(words);
    return text;
}
