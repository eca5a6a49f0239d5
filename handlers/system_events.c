/* handlers/system_events.c — GET /events: since, until and filters read as dockerd reads them,
 * then the subscription's lines (handlers/events.c) streamed as the client takes them: a full
 * connection pauses the subscriber until it drains; until ends the stream; a subscriber cut off
 * for falling behind gets its last line and the connection closes without the body's end, so
 * that a client sees the stream broken, not complete. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/macros.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "handlers/api.h"
#include "handlers/daemon.h"
#include "handlers/events.h"
#include "handlers/filters.h"
#include "handlers/handlers.h"

struct events_call {
    struct api_req *a;
    struct reactor *r;
    struct event_sub *sub;
    int64_t until;
    struct reactor_timer until_timer;
    int pumping; /* pump frames on the stack: the call is freed by the outermost */
    bool gone;   /* the client left, or the stream ended */
};

static void call_free(struct events_call *ec)
{
    reactor_timer_stop(ec->r, &ec->until_timer);
    events_unsubscribe(ec->sub);
    api_req_free(ec->a);
    free(ec);
}

static void client_gone(void *arg)
{
    struct events_call *ec = arg;
    ec->a->c = NULL;
    ec->gone = true;
    if (!ec->pumping)
        call_free(ec);
}

/* The stream is over: until has passed (a whole body), or the subscriber fell behind (its last
 * line sent, then a close that leaves the body unfinished). */
static void end_stream(struct events_call *ec, bool broken)
{
    ec->gone = true;
    if (!ec->a->c)
        return;
    http_conn_on_close(ec->a->c, NULL, NULL);
    if (broken)
        http_conn_close(ec->a->c);
    else
        http_stream_end(ec->a->c);
    ec->a->c = NULL;
}

static void resume(void *arg);

/* Hand the client lines while its connection takes them. */
static void pump(struct events_call *ec)
{
    ec->pumping++;
    while (!ec->gone) {
        const char *line;
        size_t len;
        enum events_next n = events_next(ec->sub, &line, &len);
        if (n == EVENTS_LINE && api_stream_write(ec->a, line, len))
            continue;
        if (n == EVENTS_LINE) { /* above the high-water mark: on when it drains */
            if (ec->a->c)
                http_conn_on_drain(ec->a->c, resume, ec);
            break;
        }
        if (n == EVENTS_WAIT)
            break;
        if (n == EVENTS_BEHIND)
            api_stream_write(ec->a, line, len);
        end_stream(ec, n == EVENTS_BEHIND);
    }
    if (--ec->pumping == 0 && ec->gone)
        call_free(ec);
}

static void resume(void *arg)
{
    pump(arg);
}

static void until_passed(struct reactor_timer *t)
{
    struct events_call *ec = container_of(t, struct events_call, until_timer);
    int64_t left = ec->until - time_now_ns();
    if (left >= 0) /* the timer's milliseconds are coarser than until's nanoseconds */
        return reactor_timer_start(ec->r, t, (uint64_t)(left / 1000000) + 1);
    pump(ec);
}

/* since and until: Unix seconds with a fraction as the docker CLI sends them (and, beyond
 * dockerd, whatever else `docker events --since` takes: RFC 3339 times, Go durations). 0 for
 * none; -1 with the reply sent when malformed. */
static int64_t query_time(struct api_req *a, const char *key, int64_t now, char **text)
{
    *text = http_query_get(a->msg, key);
    if (!*text || !**text)
        return 0;
    int64_t t;
    _cleanup_free_ char *why = NULL;
    if (time_parse_timestamp(*text, now, &t, &why) < 0) {
        api_reply_errorf(a, 400, "invalid value for '%s': %s", key, why);
        return -1;
    }
    return t > 0 ? t : 1; /* before 1970: everything there is */
}

void system_events(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_free_ char *since_text = NULL, *until_text = NULL;
    json_t *filters = NULL;
    int64_t now = time_now_ns();
    int64_t since = query_time(a, "since", now, &since_text);
    if (since < 0)
        return;
    int64_t until = query_time(a, "until", now, &until_text);
    if (until < 0)
        return;
    if (until && until < since)
        return api_reply_errorf(a, 400, "`since` time (%s) cannot be after `until` time (%s)",
                                since_text, until_text);
    if (filters_parse(a->msg, FILTERS_EVENTS, &filters, &err) < 0)
        return api_reply_error(a, err);
    struct events_call *ec = xcalloc(1, sizeof(*ec));
    *ec = (struct events_call){.a = a, .r = a->d->r, .until = until};
    ec->until_timer.fn = until_passed;
    const struct event_sub_opts o = {.since_ns = since,
                                     .until_ns = until,
                                     .filters = filters,
                                     .skip_image_create = api_version_before(a, "1.46")};
    api_stream_begin(a, 200, "application/json");
    http_conn_on_close(a->c, client_gone, ec);
    ec->sub = events_subscribe(a->d->events, &o, resume, ec);
    if (until > now)
        reactor_timer_start(ec->r, &ec->until_timer, (uint64_t)((until - now) / 1000000) + 1);
    pump(ec);
}
