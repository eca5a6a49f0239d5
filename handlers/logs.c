/* handlers/logs.c — GET /containers/{id}/logs: the json-file log read by exec/logread.c,
 * streamed as the reader produces it and paced by the client; a follower stays until the
 * container stops or the client leaves. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "exec/logconfig.h"
#include "exec/logread.h"
#include "handlers/api.h"
#include "handlers/daemon.h"
#include "handlers/handlers.h"

struct logs_call {
    struct api_req *a;
    struct log_reader *lr;
};

/* Docker's timestamps: "SECONDS[.NANOSECONDS]" (the CLI turns "10m" or a date into this).
 * Returns ns since the epoch, 0 for none, -1 when malformed. */
static int64_t parse_timestamp(const char *s)
{
    if (!s || !*s)
        return 0;
    char *end;
    long long secs = strtoll(s, &end, 10);
    int64_t ns = 0;
    if (end == s || secs < 0)
        return -1;
    if (secs > INT64_MAX / 1000000000 - 1)
        secs = INT64_MAX / 1000000000 - 1; /* far future: no bound in practice */
    if (*end == '.') {
        int digits = 0;
        for (end++; *end >= '0' && *end <= '9'; end++)
            if (digits++ < 9)
                ns = ns * 10 + (*end - '0');
        for (; digits < 9; digits++)
            ns *= 10;
    }
    return *end ? -1 : (int64_t)secs * 1000000000 + ns;
}

static void logs_resume(void *arg)
{
    struct logs_call *lc = arg;
    log_reader_resume(lc->lr);
}

static bool logs_emit(void *ctx, const char *data, size_t n)
{
    struct logs_call *lc = ctx;
    if (api_stream_write(lc->a, data, n))
        return true;
    http_conn_on_drain(lc->a->c, logs_resume, lc);
    return false;
}

static void logs_end(void *ctx, int res)
{
    struct logs_call *lc = ctx;
    http_conn_on_close(lc->a->c, NULL, NULL);
    if (res < 0) { /* mid-stream: all we can do is cut it short */
        log_error("logs: reading the log: %s", strerror(-res));
        http_conn_close(lc->a->c);
        api_req_free(lc->a);
    } else {
        api_stream_end(lc->a);
    }
    free(lc);
}

static void logs_client_gone(void *arg)
{
    struct logs_call *lc = arg;
    log_reader_cancel(lc->lr);
    api_req_free(lc->a);
    free(lc);
}

void containers_logs(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_free_ char *since = http_query_get(a->msg, "since");
    _cleanup_free_ char *until = http_query_get(a->msg, "until");
    _cleanup_free_ char *tail = http_query_get(a->msg, "tail");
    struct container *c;
    if (ctr_lookup(a->d->cs, a->params[0], &c, &err) < 0)
        return api_reply_error(a, err);
    struct log_reader_opts o = {
        .out = http_query_bool(a->msg, "stdout"),
        .err = http_query_bool(a->msg, "stderr"),
        .follow = http_query_bool(a->msg, "follow"),
        .timestamps = http_query_bool(a->msg, "timestamps"),
        .details = http_query_bool(a->msg, "details"),
        .tty = json_is_true(json_object_get(c->config, "Tty")),
        .tail = tail && *tail && strcmp(tail, "all") != 0 ? strtoll(tail, NULL, 10) : -1,
        .since_ns = parse_timestamp(since),
        .until_ns = parse_timestamp(until),
    };
    if (!o.out && !o.err)
        return api_reply_errorf(a, 400, "Bad parameters: you must choose at least one stream");
    if (o.since_ns < 0 || o.until_ns < 0)
        return api_reply_errorf(a, 400, "failed to parse value %s as a timestamp",
                                o.since_ns < 0 ? since : until);
    if (!log_config_enabled(c->host_config))
        return api_reply_errorf(a, 501, "configured logging driver does not support reading");
    int64_t max_size;
    int max_file;
    log_config_limits(c->host_config, &max_size, &max_file);
    _cleanup_free_ char *path = ctr_log_path(c);

    struct logs_call *lc = xcalloc(1, sizeof(*lc));
    lc->a = a;
    api_async(a);
    api_stream_begin(a, 200,
                     o.tty || api_version_before(a, "1.42")
                         ? "application/vnd.docker.raw-stream"
                         : "application/vnd.docker.multiplexed-stream");
    http_conn_on_close(a->c, logs_client_gone, lc);
    const struct log_reader_cb cb = {.emit = logs_emit, .end = logs_end, .ctx = lc};
    /* A follower of a container whose log is closed (stopped, or its last record is in the
     * file) reads to the end and ends. */
    lc->lr = log_reader_start(a->d->pool, path, max_file, &o, &cb, &c->followers);
}
