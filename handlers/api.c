/* handlers/api.c — the Docker API front door: strips and checks /vX.YY, routes, and turns
 * errors into Docker's {"message": ...} replies. The only place errno meets HTTP status. */
#include "handlers/api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytequeue.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "handlers/daemon.h"
#include "handlers/params.h"
#include "handlers/recovery.h"

void api_common_headers(struct http_conn *c)
{
    http_conn_header(c, "Api-Version", "%s", API_VERSION);
    http_conn_header(c, "Ostype", "linux");
    http_conn_header(c, "Server", "berth/%s (linux)", BERTH_VERSION);
}

void api_req_free(struct api_req *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < ROUTER_MAX_PARAMS; i++)
        free(a->params[i]);
    free(a);
}

int api_status_for(int errnum)
{
    switch (errnum) {
    case ENOENT:
        return 404;
    case EINVAL:
        return 400;
    case EEXIST:
    case EBUSY:
    case ENOTEMPTY:
        return 409;
    case EACCES:
        return 403;
    case EKEYREJECTED:
        return 401;
    case EAGAIN:
        return 503;
    case ENOSYS:
    case EOPNOTSUPP:
        return 501;
    default:
        return 500;
    }
}

bool api_version_before(const struct api_req *a, const char *v)
{
    return router_version_cmp(a->version, v) < 0;
}

static void on_client_gone(void *arg)
{
    struct api_req *a = arg;
    a->c = NULL;
    a->msg = NULL; /* the request died with its connection */
}

void api_async(struct api_req *a)
{
    if (a->c)
        http_conn_on_close(a->c, on_client_gone, a);
}

static void task_work(struct pool_job *job)
{
    struct api_task *t = (struct api_task *)job;
    t->work(t);
}

static void task_done(struct pool_job *job)
{
    struct api_task *t = (struct api_task *)job;
    t->done(t);
    berth_err_free(t->err);
    free(t);
}

void api_task_run(struct api_req *a, enum pool_class cls, void (*work)(struct api_task *t),
                  void (*done)(struct api_task *t), void *data)
{
    struct api_task *t = xcalloc(1, sizeof(*t));
    *t = (struct api_task){.job = {.work = task_work, .done = task_done},
                           .a = a,
                           .work = work,
                           .done = done,
                           .data = data};
    api_async(a);
    pool_submit(a->d->pool, cls, &t->job);
}

void api_reply_raw(struct api_req *a, int status, const char *ctype, const void *body, size_t len)
{
    if (!a->c) { /* the client left while we worked */
        api_req_free(a);
        return;
    }
    api_common_headers(a->c);
    http_reply(a->c, status, ctype, body, len);
    api_req_free(a);
}

void api_stream_begin(struct api_req *a, int status, const char *ctype)
{
    if (!a->c)
        return;
    api_common_headers(a->c);
    http_stream_begin(a->c, status, ctype);
}

bool api_stream_write(struct api_req *a, const void *data, size_t len)
{
    return a->c ? http_stream_write(a->c, data, len) : false;
}

bool api_stream_json(struct api_req *a, const json_t *msg)
{
    size_t len;
    _cleanup_free_ char *line = json_dump_line(msg, &len);
    return api_stream_write(a, line, len);
}

bool api_stream_progress(struct api_req *a, const json_t *msg)
{
    size_t len;
    _cleanup_free_ char *line = json_dump_line(msg, &len);
    line = xrealloc(line, len + 2);
    memcpy(line + len - 1, "\r\n", 3); /* the dump's "\n" becomes "\r\n" */
    return api_stream_write(a, line, len + 1);
}

void api_stream_end(struct api_req *a)
{
    if (a->c)
        http_stream_end(a->c);
    api_req_free(a);
}

void api_reply_json(struct api_req *a, int status, json_t *body)
{
    size_t len;
    _cleanup_free_ char *text = json_dump_line(body, &len);
    json_decref(body);
    api_reply_raw(a, status, "application/json", text, len);
}

void api_reply_status(struct api_req *a, int status)
{
    api_reply_raw(a, status, NULL, NULL, 0);
}

/* Like dockerd: clients older than the minimum get plain text, which they print readably. */
static void reply_message(struct api_req *a, int status, const char *msg)
{
    if (!a->c) {
        api_req_free(a);
        return;
    }
    if (status >= 500)
        log_error("Handler for %s %s returned error: %s", http_msg_method(a->msg), a->msg->path,
                  msg);
    if (a->version[0] && router_version_cmp(a->version, API_MIN_VERSION) < 0) {
        _cleanup_free_ char *text = xasprintf("%s\n", msg);
        api_reply_raw(a, status, "text/plain; charset=utf-8", text, strlen(text));
        return;
    }
    api_reply_json(a, status, json_pack("{ss}", "message", msg));
}

void api_reply_error(struct api_req *a, const struct berth_err *err)
{
    reply_message(a, err ? api_status_for(err->status) : 500, err ? err->msg : "unknown error");
}

void api_reply_errorf(struct api_req *a, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    reply_message(a, status, msg);
}

static bool check_version(struct api_req *a)
{
    if (router_version_cmp(a->version, API_MIN_VERSION) < 0) {
        api_reply_errorf(a, 400,
                         "client version %s is too old. Minimum supported API version is %s, "
                         "please upgrade your client to a newer version",
                         a->version, API_MIN_VERSION);
        return false;
    }
    if (router_version_cmp(a->version, API_VERSION) > 0) {
        api_reply_errorf(a, 400,
                         "client version %s is too new. Maximum supported API version "
                         "is %s",
                         a->version, API_VERSION);
        return false;
    }
    return true;
}

static const struct route *route_of(struct daemon *d, const struct http_msg *msg, char *version,
                                    size_t vlen, bool *versioned, char *params[])
{
    const char *rest;
    *versioned = router_split_version(msg->path, version, vlen, &rest);
    return router_match(d->router, http_msg_method(msg), rest, params);
}

bool api_streams_body(void *daemon, const struct http_msg *msg)
{
    char version[16], *params[ROUTER_MAX_PARAMS];
    bool versioned;
    const struct route *r = route_of(daemon, msg, version, sizeof(version), &versioned, params);
    for (size_t i = 0; i < ROUTER_MAX_PARAMS; i++)
        free(params[i]);
    return r && (r->flags & ROUTE_STREAM_BODY);
}

/* ---- streamed request bodies ---- */

#define BODY_HIGH_WATER (8u << 20)

static void body_drained(void *arg)
{
    struct api_body *b = arg;
    if (b->a->c)
        http_conn_resume_read(b->a->c);
}

static void body_data(void *arg, const char *data, ssize_t n)
{
    struct api_body *b = arg;
    if (n <= 0) {
        bytequeue_close(b->q, 0);
        return;
    }
    if (!bytequeue_push(b->q, data, (size_t)n) && b->a->c)
        http_conn_pause_read(b->a->c);
}

static void body_client_gone(void *arg)
{
    struct api_body *b = arg;
    on_client_gone(b->a);
    bytequeue_close(b->q, -ECANCELED); /* the job stops reading and cleans up */
}

void api_body_open(struct api_body *b, struct api_req *a)
{
    b->a = a;
    b->q = bytequeue_new(a->d->r, BODY_HIGH_WATER, body_drained, b);
    if (!a->c) {
        bytequeue_close(b->q, -ECANCELED);
        return;
    }
    http_conn_body(a->c, body_data, b);
    http_conn_on_close(a->c, body_client_gone, b);
}

ssize_t api_body_read(void *body, void *buf, size_t cap)
{
    struct api_body *b = body;
    return bytequeue_read(b->q, buf, cap);
}

/* The queue had two owners, this side and the job; the job has returned, so both let go here,
 * and no drain callback runs after the close. */
void api_body_close(struct api_body *b)
{
    if (!b->q)
        return;
    bytequeue_close(b->q, -ECANCELED);
    bytequeue_release(b->q);
    bytequeue_release(b->q);
    b->q = NULL;
    if (b->a->c) {
        http_conn_body(b->a->c, NULL, NULL);
        http_conn_resume_read(b->a->c); /* the rest of the body, if any, is dropped */
        api_async(b->a);
    }
}

void api_serve(void *daemon, struct http_conn *c, struct http_msg *msg)
{
    struct daemon *d = daemon;
    struct api_req *a = xcalloc(1, sizeof(*a));
    bool versioned;
    a->d = d;
    a->c = c;
    a->msg = msg;
    const struct route *route =
        route_of(d, msg, a->version, sizeof(a->version), &versioned, a->params);
    log_debug("Calling %s %s", http_msg_method(msg), msg->path);
    if (!route) {
        a->version[0] = '\0'; /* dockerd answers unknown routes without a version check */
        api_reply_errorf(a, 404, "page not found");
        return;
    }
    if (!versioned)
        snprintf(a->version, sizeof(a->version), "%s", API_VERSION);
    if (!check_version(a))
        return;
    _cleanup_err_ struct berth_err *err = NULL;
    if (params_check(route, msg, &err) < 0) /* a parameter berth does not honour is named */
        return api_reply_error(a, err);
    if (recovery_park(a, route))
        return;
    route->fn(a);
}
