/* handlers/lifecycle.c — the container API group's lifecycle endpoints: start, stop, restart,
 * kill, wait, remove, pause, resize and attach. Each finds the container and hands the work to
 * exec/run.c; replies wait for the outcome. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "exec/attach.h"
#include "exec/ctrlinks.h"
#include "exec/logconfig.h"
#include "exec/run.h"
#include "exec/verify.h"
#include "handlers/api.h"
#include "handlers/daemon.h"
#include "handlers/events.h"
#include "handlers/handlers.h"

static struct container *find(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct container *c;
    if (ctr_lookup(a->d->cs, a->params[0], &c, &err) < 0) {
        api_reply_error(a, err);
        return NULL;
    }
    return c;
}

/* Most lifecycle calls answer 204 once done, or the error. */
static void done_204(void *ctx, int res, const struct berth_err *err)
{
    struct api_req *a = ctx;
    if (res < 0)
        api_reply_error(a, err);
    else
        api_reply_status(a, 204);
}

/* A call that emits an event about its container once it is done (the container stays while
 * the work runs: a start or a stop holds off its removal). */
struct ctr_call {
    struct api_req *a;
    struct container *c;
    struct events *events;
    bool stopping; /* a restart of a running container */
};

static struct ctr_call *ctr_call_new(struct api_req *a, struct container *c)
{
    struct ctr_call *cc = xcalloc(1, sizeof(*cc));
    *cc = (struct ctr_call){.a = a, .c = c, .events = a->d->events};
    api_async(a);
    return cc;
}

static void started(void *ctx, int res, const struct berth_err *err)
{
    struct ctr_call *cc = ctx;
    if (res >= 0)
        events_container(cc->events, cc->c, "start", NULL);
    done_204(cc->a, res, err);
    free(cc);
}

void containers_start(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct container *c = find(a);
    if (!c)
        return;
    struct ctr_call *cc = ctr_call_new(a, c);
    if (ctr_start(&a->d->exec, c, started, cc, &err) < 0) {
        free(cc);
        if (err->status == EALREADY)
            return api_reply_status(a, 304);
        api_reply_error(a, err);
    }
}

static int query_int(struct api_req *a, const char *key, int dflt)
{
    _cleanup_free_ char *v = http_query_get(a->msg, key);
    return v && *v ? atoi(v) : dflt;
}

/* The signal query parameter of stop and restart (API 1.42 and later, as dockerd reads it): 0
 * for none (the container's StopSignal), -1 when it is not a signal. */
static int query_signal(struct api_req *a, char **text)
{
    if (api_version_before(a, "1.42"))
        return 0;
    *text = http_query_get(a->msg, "signal");
    return *text && **text ? verify_signal(*text) : 0;
}

static void stopped(void *ctx, int res, const struct berth_err *err)
{
    struct ctr_call *cc = ctx;
    if (res >= 0)
        events_container(cc->events, cc->c, "stop", NULL);
    done_204(cc->a, res, err);
    free(cc);
}

void containers_stop(struct api_req *a)
{
    _cleanup_free_ char *text = NULL;
    struct container *c = find(a);
    if (!c)
        return;
    if (!c->run) /* as dockerd: before the signal is looked at */
        return api_reply_status(a, 304);
    int sig = query_signal(a, &text);
    if (sig < 0)
        return api_reply_errorf(a, 400, "cannot stop container: %s: invalid signal: %s",
                                a->params[0], text);
    ctr_stop_signal(&a->d->exec, c, query_int(a, "t", -1), sig, stopped, ctr_call_new(a, c));
}

static void restarted(void *ctx, int res, const struct berth_err *err)
{
    struct ctr_call *cc = ctx;
    if (res >= 0) { /* as dockerd: the start's event, then the restart's */
        events_container(cc->events, cc->c, "start", NULL);
        events_container(cc->events, cc->c, "restart", NULL);
    }
    done_204(cc->a, res, err);
    free(cc);
}

static void restart_stopped(void *ctx, int res, const struct berth_err *err)
{
    struct ctr_call *cc = ctx;
    _cleanup_err_ struct berth_err *start_err = NULL;
    (void)err;
    if (res >= 0 && cc->stopping)
        events_container(cc->events, cc->c, "stop", NULL);
    if (ctr_start(&cc->a->d->exec, cc->c, restarted, cc, &start_err) < 0) {
        api_reply_error(cc->a, start_err);
        free(cc);
    }
}

void containers_restart(struct api_req *a)
{
    _cleanup_free_ char *text = NULL;
    struct container *c = find(a);
    if (!c)
        return;
    int sig = c->run ? query_signal(a, &text) : 0; /* a stopped one is only started */
    if (sig < 0) /* dockerd's words, and its 500: its restart drops the error's kind */
        return api_reply_errorf(a, 500, "Cannot restart container %s: invalid signal: %s",
                                a->params[0], text);
    struct ctr_call *cc = ctr_call_new(a, c);
    cc->stopping = c->run != NULL; /* a stopped one is only started: no stop event */
    ctr_stop_signal(&a->d->exec, c, query_int(a, "t", -1), sig, restart_stopped, cc);
}

void containers_kill(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_free_ char *sig = http_query_get(a->msg, "signal");
    struct container *c = find(a);
    if (!c)
        return;
    api_async(a); /* a SIGKILL answers once the container is dead */
    if (ctr_kill(&a->d->exec, c, sig, done_204, a, &err) < 0)
        api_reply_error(a, err);
}

static void post_pause(struct api_req *a, bool pause)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct container *c = find(a);
    if (!c)
        return;
    if (ctr_pause(&a->d->exec, c, pause, &err) < 0)
        return api_reply_error(a, err);
    events_container(a->d->events, c, pause ? "pause" : "unpause", NULL);
    api_reply_status(a, 204);
}

void containers_pause(struct api_req *a)
{
    post_pause(a, true);
}

void containers_unpause(struct api_req *a)
{
    post_pause(a, false);
}

void containers_delete(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    if (http_query_bool(a->msg, "link")) { /* a link's name PARENT/ALIAS is no container's */
        int r = ctrlinks_remove(a->d->cs, a->params[0], &err);
        if (r < 0)
            return api_reply_error(a, err);
        if (r == 0)
            return api_reply_status(a, 204);
    }
    struct container *c = find(a);
    if (!c)
        return;
    if (http_query_bool(a->msg, "link")) {
        if (c->state.status == CTR_REMOVING)
            return api_reply_errorf(a, 409, "removal of container %s is already in progress",
                                    a->params[0]);
        /* a container's own name: dockerd refuses it so (with its 500), removing nothing */
        return api_reply_errorf(a, 500,
                                "Conflict, cannot remove the default link name of the "
                                "container");
    }
    api_async(a);
    if (ctr_remove_with_volumes(&a->d->exec, c, http_query_bool(a->msg, "force"),
                                http_query_bool(a->msg, "v"), done_204, a, &err) < 0)
        api_reply_error(a, err);
}

/* h and w as Go's strconv.Atoi takes them: dockerd answers 400 with its words otherwise. */
static bool query_atoi(struct api_req *a, const char *key, int *out)
{
    _cleanup_free_ char *v = http_query_get(a->msg, key);
    const char *s = v ? v : "";
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (!*s || *end || errno || n < INT32_MIN || n > INT32_MAX || isspace((unsigned char)*s)) {
        api_reply_errorf(a, 400, "strconv.Atoi: parsing \"%s\": %s", s,
                         *s && !*end && errno ? "value out of range" : "invalid syntax");
        return false;
    }
    *out = (int)n;
    return true;
}

void containers_resize(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    int h, w;
    if (!query_atoi(a, "h", &h) || !query_atoi(a, "w", &w))
        return;
    struct container *c = find(a);
    if (!c)
        return;
    if (ctr_resize(c, h, w, &err) < 0)
        return api_reply_error(a, err);
    char height[16], width[16];
    snprintf(height, sizeof(height), "%d", h);
    snprintf(width, sizeof(width), "%d", w);
    events_container(a->d->events, c, "resize",
                     json_pack("{ss ss}", "height", height, "width", width));
    api_reply_status(a, 200);
}

/* ---- wait: the head goes out at once (the docker CLI starts the container only after it
 * has it), the body when the condition holds ---- */

struct wait_call {
    struct api_req *a;
    struct container *c;
};

static void wait_gone(void *arg)
{
    struct wait_call *w = arg;
    ctr_wait_cancel(w->c, w);
    api_req_free(w->a);
    free(w);
}

static void wait_over(void *ctx, int code, const char *error)
{
    struct wait_call *w = ctx;
    if (w->a->c)
        http_conn_on_close(w->a->c, NULL, NULL);
    _cleanup_json_ json_t *body =
        json_pack("{si so}", "StatusCode", code, "Error",
                  error ? json_pack("{ss}", "Message", error) : json_null());
    api_stream_json(w->a, body);
    api_stream_end(w->a);
    free(w);
}

void containers_wait(struct api_req *a)
{
    _cleanup_free_ char *cond = http_query_get(a->msg, "condition");
    enum ctr_wait_cond wc = WAIT_NOT_RUNNING;
    if (cond && !strcmp(cond, "next-exit"))
        wc = WAIT_NEXT_EXIT;
    else if (cond && !strcmp(cond, "removed"))
        wc = WAIT_REMOVED;
    else if (cond && *cond && strcmp(cond, "not-running"))
        return api_reply_errorf(a, 400, "invalid condition: \"%s\"", cond);
    struct container *c = find(a);
    if (!c)
        return;
    struct wait_call *w = xcalloc(1, sizeof(*w));
    *w = (struct wait_call){a, c};
    api_stream_begin(a, 200, "application/json");
    http_conn_on_close(a->c, wait_gone, w);
    ctr_wait(c, wc, wait_over, w);
}

/* ---- attach ---- */

/* An attach (or exec) client's link is its hijacked connection. */
static bool link_write(void *ctx, const void *data, size_t n)
{
    return http_raw_write(ctx, data, n);
}

static size_t link_pending(void *ctx)
{
    return http_conn_pending(ctx);
}

static void link_pause(void *ctx)
{
    http_conn_pause_read(ctx);
}

static void link_resume(void *ctx)
{
    http_conn_resume_read(ctx);
}

static void link_on_drain(void *ctx, void (*fn)(void *arg), void *arg)
{
    http_conn_on_drain(ctx, fn, arg);
}

static void link_end(void *ctx, bool abort)
{
    http_conn_on_close(ctx, NULL, NULL);
    if (abort)
        http_conn_abort(ctx); /* too far behind: its backlog goes too */
    else
        http_conn_close(ctx);
}

const struct attach_link_ops handlers_hijacked_link = {.write = link_write,
                                                       .pending = link_pending,
                                                       .pause_input = link_pause,
                                                       .resume_input = link_resume,
                                                       .on_drain = link_on_drain,
                                                       .end = link_end};

static void attach_data(void *arg, const char *data, ssize_t n)
{
    attach_input(arg, data, n);
}

static void attach_conn_gone(void *arg)
{
    attach_gone(arg);
}

void containers_attach(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_free_ char *keys = http_query_get(a->msg, "detachKeys");
    struct container *c = find(a);
    if (!c)
        return;
    _cleanup_free_ char *log_path = ctr_log_path(c);
    struct attach_opts o = {.in = http_query_bool(a->msg, "stdin"),
                            .out = http_query_bool(a->msg, "stdout"),
                            .err = http_query_bool(a->msg, "stderr"),
                            .stream = http_query_bool(a->msg, "stream"),
                            .logs = http_query_bool(a->msg, "logs"),
                            .detach_keys = keys,
                            .pool = a->d->pool,
                            .log_path = log_config_enabled(c->host_config) ? log_path : NULL};
    if (!o.stream && !o.logs)
        return api_reply_errorf(a, 400, "Bad parameters: you must choose at least one stream");
    int64_t max_size;
    log_config_limits(c->host_config, &max_size, &o.log_files);
    struct attach_client *client;
    struct attach_link link = {.ops = &handlers_hijacked_link, .ctx = a->c};
    if (attach_add(c, &link, &o, &client, &err) < 0)
        return api_reply_error(a, err);
    /* Docker's hijack: 101 when the client asked to upgrade, else 200 (old clients); a raw
     * stream with a tty, else stdcopy frames */
    api_common_headers(a->c);
    http_hijack(a->c, a->msg->upgrade ? 101 : 200,
                json_get_bool(c->config, "Tty", false)
                    ? "application/vnd.docker.raw-stream"
                    : "application/vnd.docker.multiplexed-stream",
                attach_data, client);
    http_conn_on_close(a->c, attach_conn_gone, client);
    events_container(a->d->events, c, "attach", NULL);
    api_req_free(a); /* the connection belongs to the attach client now */
    attach_begin(client);
}
