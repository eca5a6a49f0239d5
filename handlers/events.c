/* handlers/events.c — the event bus. Each event gets a sequence number and a time (nanoseconds,
 * strictly increasing, across restarts too), is formatted once into the JSON line every client
 * is sent, goes to the log's writer and into a ring of the latest events.
 *
 * A subscriber is a cursor. A live one holds the sequence number of the next event it has to
 * look at; its client pulls lines while its connection takes them, so a slow client slows only
 * itself. The ring keeps RING_KEEP events (more while the log writer has not written them): a
 * cursor older than the ring's first event has lost events, and its stream is cut off with a
 * line saying so.
 *
 * A replay (`since` or `until`) first reads the log on the pool, a chunk per job, then joins the
 * ring. The seam: every event that left the ring is in the log (it leaves only once written), so
 * the replay reads the log until it reaches the ring's first event, or until it has read past
 * the newest event that left the ring (evicted_t); from there on the ring has everything. */
#include "handlers/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "exec/ctrnet.h"
#include "fs/eventlog.h"
#include "net/network/usernet.h"
#include "handlers/events_filter.h"

#define RING_KEEP  4096            /* events kept for clients that are behind */
#define RING_LIMIT (4 * RING_KEEP) /* ... and the most, while the log writer is behind */

#define LOG_FILE_MAX  (8u << 20) /* two files: the log holds the latest 8-16 MiB of events */
#define LOG_QUEUE_MAX (8u << 20)
#define LOG_SYNC_MS   1000

#define REPLAY_OUT  (256u << 10) /* matched lines one replay job hands over */
#define REPLAY_READ (4u << 20)   /* log bytes one replay job reads at most */

static const char *const type_names[] = {
    [EVENT_CONTAINER] = "container", [EVENT_IMAGE] = "image",   [EVENT_VOLUME] = "volume",
    [EVENT_NETWORK] = "network",     [EVENT_DAEMON] = "daemon", [EVENT_PLUGIN] = "plugin",
    [EVENT_BUILDER] = "builder",
};

struct event {
    uint64_t seq;
    int64_t t;
    enum event_type type;
    char *action, *id;
    json_t *attrs;
    char *line; /* what clients are sent, '\n' included */
    size_t len;
};

struct events {
    struct reactor *r;
    struct pool *pool;
    struct eventlog *log;
    char *engine_id;
    struct event **ring; /* ring[(head + i) % cap], oldest first */
    size_t cap, head, count;
    uint64_t next_seq;
    int64_t last_t;    /* the newest event's time */
    int64_t evicted_t; /* the newest time no longer in the ring (the log's last, at start) */
    struct event_sub *subs;
    size_t nsubs;
    struct reactor_timer deliver;
    const struct usernets *nets; /* for the driver of a user network's connect (NULL: none) */
};

enum sub_phase { SUB_REPLAY, SUB_LIVE, SUB_OVER };

struct event_sub {
    struct events *ev;
    struct event_sub *next;
    json_t *filters;
    int64_t since, until;
    bool skip_image_create;
    void (*wake)(void *arg);
    void *arg;
    enum sub_phase phase;
    bool waiting;      /* told EVENTS_WAIT: to be woken */
    bool cancelled;    /* unsubscribed while its replay job ran */
    uint64_t cursor;   /* live: the next event to look at */
    int64_t sent_t;    /* the time of the last line handed out (0: none yet) */
    int64_t created_t; /* when it subscribed */
    char *behind_line;
    /* the replay */
    struct eventlog_cursor *lc;
    struct pool_job job;
    bool started, busy;
    int64_t read_t; /* the time of the last log line read: the replay is past it */
    int64_t stop_t; /* the job stops at a line this recent (the ring has it) */
    int job_end;    /* eventlog_read's answer */
    bool job_progress, job_gap, out_full, until_reached;
    struct buf out; /* matched lines: {int64_t t; size_t len;} then the line */
    size_t out_pos;
};

struct out_head {
    int64_t t;
    size_t len;
};

/* ---- the ring ---- */

static struct event *ring_at(const struct events *ev, size_t i)
{
    return ev->ring[(ev->head + i) % ev->cap];
}

static uint64_t ring_first_seq(const struct events *ev)
{
    return ev->count ? ring_at(ev, 0)->seq : ev->next_seq;
}

static void event_free(struct event *e)
{
    free(e->action);
    free(e->id);
    json_decref(e->attrs);
    free(e->line);
    free(e);
}

static void ring_push(struct events *ev, struct event *e)
{
    if (ev->count == ev->cap) {
        size_t cap = ev->cap ? ev->cap * 2 : 256;
        struct event **ring = xcalloc(cap, sizeof(*ring));
        for (size_t i = 0; i < ev->count; i++)
            ring[i] = ring_at(ev, i);
        free(ev->ring);
        ev->ring = ring;
        ev->cap = cap;
        ev->head = 0;
    }
    ev->ring[(ev->head + ev->count++) % ev->cap] = e;
}

/* Down to RING_KEEP, but never an event the log has not written, unless past RING_LIMIT (a log
 * writer stuck on a dead disk must not hold the engine's memory: replays then miss those). */
static void ring_trim(struct events *ev)
{
    uint64_t done = ev->log ? eventlog_done(ev->log) : UINT64_MAX;
    while (ev->count > RING_KEEP) {
        struct event *e = ring_at(ev, 0);
        if (e->seq > done && ev->count <= RING_LIMIT)
            break;
        ev->evicted_t = e->t;
        ev->head = (ev->head + 1) % ev->cap;
        ev->count--;
        event_free(e);
    }
}

/* ---- formatting ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A copy with its keys in order, as Go writes a map. */
static json_t *sorted(const json_t *obj)
{
    size_t n = json_object_size(obj), i = 0;
    const char **keys = xcalloc(n + 1, sizeof(*keys));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) keys[i++] = k;
    qsort(keys, n, sizeof(*keys), cmp_str);
    json_t *out = json_object();
    for (i = 0; i < n; i++)
        json_object_set(out, keys[i], json_object_get(obj, keys[i]));
    free(keys);
    return out;
}

/* Docker's events.Message, with the fields dockerd still fills in for API < 1.52 (status, id
 * and from for containers, status and id for images) first; timeNano last, as fs/eventlog.h
 * wants it. */
static void format(struct event *e)
{
    json_t *m = json_object();
    if (e->type == EVENT_CONTAINER || e->type == EVENT_IMAGE) {
        json_object_set_new(m, "status", json_string(e->action));
        json_object_set_new(m, "id", json_string(e->id));
        const char *from = json_get_str(e->attrs, "image");
        if (e->type == EVENT_CONTAINER && from && *from)
            json_object_set_new(m, "from", json_string(from));
    }
    json_object_set_new(m, "Type", json_string(type_names[e->type]));
    json_object_set_new(m, "Action", json_string(e->action));
    json_object_set_new(m, "Actor",
                        json_pack("{ss so}", "ID", e->id, "Attributes", sorted(e->attrs)));
    json_object_set_new(m, "scope", json_string("local"));
    json_object_set_new(m, "time", json_integer(e->t / 1000000000));
    json_object_set_new(m, "timeNano", json_integer(e->t));
    e->line = json_dump_line(m, &e->len);
    json_decref(m);
}

/* ---- emitting ---- */

static void deliver(struct reactor_timer *t);

void events_emit(struct events *ev, enum event_type type, const char *action, const char *id,
                 json_t *attrs)
{
    struct event *e = xcalloc(1, sizeof(*e));
    int64_t now = time_now_ns();
    e->t = ev->last_t = now > ev->last_t ? now : ev->last_t + 1;
    e->seq = ev->next_seq++;
    e->type = type;
    e->action = xstrdup(action);
    e->id = xstrdup(id ? id : "");
    e->attrs = json_is_object(attrs) ? attrs : json_object();
    if (attrs && attrs != e->attrs)
        json_decref(attrs);
    format(e);
    if (ev->log)
        eventlog_append(ev->log, e->seq, e->line, e->len);
    ring_push(ev, e);
    ring_trim(ev);
    /* Subscribers are served after the emitter's callback, in one pass for a burst. */
    if (ev->subs && !ev->deliver._heap_pos)
        reactor_timer_start(ev->r, &ev->deliver, 0);
}

void events_container(struct events *ev, const struct container *c, const char *action,
                      json_t *extra)
{
    json_t *attrs = extra ? extra : json_object(), *v;
    const char *k;
    json_object_foreach(json_object_get(c->config, "Labels"), k, v) if (json_is_string(v))
        json_object_set(attrs, k, v);
    const char *image = json_get_str(c->config, "Image");
    if (image && *image)
        json_object_set_new(attrs, "image", json_string(image));
    json_object_set_new(attrs, "name", json_string(c->name));
    events_emit(ev, EVENT_CONTAINER, action, c->id, attrs);
}

void events_container_id(struct events *ev, struct ctr_store *cs, const char *id,
                         const char *action, json_t *extra)
{
    struct container *c;
    if (ctr_lookup(cs, id, &c, NULL) == 0 && strcmp(c->id, id) == 0)
        events_container(ev, c, action, extra);
    else
        json_decref(extra);
}

void events_image(struct events *ev, struct image_store *is, const char *id, const char *name,
                  const char *action)
{
    json_t *attrs = json_object(), *v;
    struct image *img = NULL;
    const char *k;
    if (is && image_find(is, id, &img, NULL) == 0) /* gone after a delete: no labels then */
        json_object_foreach(json_object_get(json_object_get(img->config, "config"), "Labels"), k,
                            v) if (json_is_string(v)) json_object_set(attrs, k, v);
    if (name && *name)
        json_object_set_new(attrs, "name", json_string(name));
    events_emit(ev, EVENT_IMAGE, action, id, attrs);
}

/* dockerd's volume mount and unmount events: one per volume the container has (its
 * MountPoints of type volume), at its start and its end. */
static void volume_points(struct events *ev, const struct container *c, const char *action)
{
    size_t i;
    const json_t *p;
    json_array_foreach(c->mounts, i, p)
    {
        const char *name = json_get_str(p, "Name");
        if (!name || strcmp(json_get_str(p, "Type") ?: "", "volume") != 0)
            continue;
        json_t *attrs = json_pack("{ss ss}", "driver", json_get_str(p, "Driver") ?: VOLUME_DRIVER,
                                  "container", c->id);
        if (strcmp(action, "mount") == 0)
            json_object_update_new(
                attrs, json_pack("{ss ss ss}", "destination", json_get_str(p, "Destination") ?: "",
                                 "read/write", json_get_bool(p, "RW", true) ? "true" : "false",
                                 "propagation", json_get_str(p, "Propagation") ?: ""));
        events_emit(ev, EVENT_VOLUME, action, name, attrs);
    }
}

void events_on_volume(void *arg, const char *name, enum volume_event what)
{
    events_emit(arg, EVENT_VOLUME, what == VOLUME_EVENT_CREATE ? "create" : "destroy", name,
                json_pack("{ss}", "driver", VOLUME_DRIVER));
}

void events_on_exec_die(void *arg, const struct container *c, const char *exec_id, int exit_code)
{
    char n[16];
    snprintf(n, sizeof(n), "%d", exit_code);
    events_container(arg, c, "exec_die", json_pack("{ss ss}", "execID", exec_id, "exitCode", n));
}

void events_exec(struct events *ev, const struct container *c, const char *action,
                 const char *exec_id, char *const *argv)
{
    _cleanup_buf_ struct buf b = {0};
    buf_printf(&b, "%s: %s ", action, argv && argv[0] ? argv[0] : "");
    for (size_t i = 1; argv && argv[i]; i++)
        buf_printf(&b, "%s%s", i > 1 ? " " : "", argv[i]);
    events_container(ev, c, b.data, json_pack("{ss}", "execID", exec_id));
}

/* dockerd's network connect when a container on the default bridge or a user network starts,
 * one per network it joins (its first, then those of c->net_more), disconnect when it has
 * ended. */
void events_watch_networks(struct events *ev, const struct usernets *nets)
{
    ev->nets = nets;
}

/* The "type" of a network's connect and disconnect: its driver, as dockerd's. */
static const char *net_driver(const struct events *ev, const char *id)
{
    const struct usernet *n = ev->nets ? usernets_find(ev->nets, id) : NULL;
    return n && n->driver ? n->driver : "bridge";
}

static void user_network(struct events *ev, const struct container *c, const char *action)
{
    const char *mode = json_get_str(c->host_config, "NetworkMode");
    const char *id = json_get_str(c->net, "NetworkID"), *name;
    bool bridge = !mode || !*mode || !strcmp(mode, "default") || !strcmp(mode, "bridge");
    json_t *req;
    if ((bridge || ctrnet_user_mode(mode)) && id && *id)
        events_emit(ev, EVENT_NETWORK, action, id,
                    json_pack("{ss ss ss}", "container", c->id, "name", bridge ? "bridge" : mode,
                              "type", bridge ? "bridge" : net_driver(ev, id)));
    json_object_foreach(c->net_more, name, req)
    {
        const char *more = json_get_str(req, "NetworkID");
        if (more && *more)
            events_emit(ev, EVENT_NETWORK, action, more,
                        json_pack("{ss ss ss}", "container", c->id, "name", name, "type",
                                  net_driver(ev, more)));
    }
}

void events_on_container(void *arg, const struct container *c, enum ctr_event what, int value)
{
    struct events *ev = arg;
    char n[16];
    snprintf(n, sizeof(n), "%d", value);
    switch (what) {
    case CTR_EVENT_KILL:
        events_container(ev, c, "kill", json_pack("{ss}", "signal", n));
        break;
    case CTR_EVENT_OOM:
        events_container(ev, c, "oom", NULL);
        break;
    case CTR_EVENT_START:
        user_network(ev, c, "connect");
        volume_points(ev, c, "mount");
        break;
    case CTR_EVENT_DIE: { /* as dockerd: whole seconds it ran, after its volumes' unmount */
        volume_points(ev, c, "unmount");
        int64_t from = time_parse_rfc3339(c->state.started_at);
        int64_t to = time_parse_rfc3339(c->state.finished_at);
        char secs[24];
        snprintf(secs, sizeof(secs), "%lld",
                 from > 0 && to > from ? (long long)((to - from) / 1000000000) : 0LL);
        events_container(ev, c, "die", json_pack("{ss ss}", "exitCode", n, "execDuration", secs));
        user_network(ev, c, "disconnect");
        break;
    }
    case CTR_EVENT_DESTROY:
        events_container(ev, c, "destroy", NULL);
        break;
    }
}

/* ---- subscriptions ---- */

size_t events_subscribers(const struct events *ev)
{
    return ev->nsubs;
}

static void sub_free(struct event_sub *s)
{
    json_decref(s->filters);
    eventlog_cursor_free(s->lc);
    buf_free(&s->out);
    free(s->behind_line);
    free(s);
}

static void unlink_sub(struct event_sub *s)
{
    for (struct event_sub **p = &s->ev->subs; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            return;
        }
}

/* Does s want e? type/action/id/attrs of an event in memory or of a line from the log. */
static bool wanted(const struct event_sub *s, const struct event_fields *f)
{
    if (s->skip_image_create && strcmp(f->type, "image") == 0 && strcmp(f->action, "create") == 0)
        return false;
    return events_filter_match(s->filters, f);
}

/* The line that ends a stream that fell behind: a daemon event, so that clients decoding
 * events read it as one, with the words and where to pick up again (`since`, inclusive: the
 * nanosecond after the last event sent). */
static enum events_next behind(struct event_sub *s, const char **line, size_t *len, const char *why)
{
    int64_t t = s->sent_t ? s->sent_t : (s->since ? s->since - 1 : s->created_t);
    _cleanup_free_ char *resume = xasprintf("%lld.%09lld", (long long)((t + 1) / 1000000000),
                                            (long long)((t + 1) % 1000000000));
    _cleanup_free_ char *msg = xasprintf("events: %s: the events after the last one sent were "
                                         "not sent; ask again with since=%s for them",
                                         why, resume);
    json_t *m = json_pack("{ss ss s{ss s{ss ss}} ss sI sI ss}", "Type", "daemon", "Action", "error",
                          "Actor", "ID", s->ev->engine_id, "Attributes", "error", msg, "since",
                          resume, "scope", "local", "time", (json_int_t)(t / 1000000000),
                          "timeNano", (json_int_t)t, "error", msg);
    free(s->behind_line);
    s->behind_line = json_dump_line(m, len);
    json_decref(m);
    *line = s->behind_line;
    s->phase = SUB_OVER;
    log_warn("events: a subscriber %s: its stream is cut off", why);
    return EVENTS_BEHIND;
}

static enum events_next live_next(struct event_sub *s, const char **line, size_t *len)
{
    struct events *ev = s->ev;
    uint64_t first = ring_first_seq(ev);
    if (s->cursor < first)
        return behind(s, line, len, "this client fell too far behind");
    for (; s->cursor < ev->next_seq; s->cursor++) {
        const struct event *e = ring_at(ev, s->cursor - first);
        if (e->t < s->since)
            continue;
        if (s->until && e->t > s->until) {
            s->phase = SUB_OVER;
            return EVENTS_END;
        }
        struct event_fields f = {type_names[e->type], e->action, "local", e->id, e->attrs};
        if (!wanted(s, &f))
            continue;
        s->cursor++;
        s->sent_t = e->t;
        *line = e->line;
        *len = e->len;
        return EVENTS_LINE;
    }
    if (s->until && time_now_ns() > s->until) {
        s->phase = SUB_OVER;
        return EVENTS_END;
    }
    s->waiting = true;
    return EVENTS_WAIT;
}

/* From the replay to the ring: the first event after the last line read. */
static void go_live(struct event_sub *s)
{
    struct events *ev = s->ev;
    s->phase = SUB_LIVE;
    s->cursor = ev->next_seq;
    for (size_t i = 0; i < ev->count; i++)
        if (ring_at(ev, i)->t > s->read_t) {
            s->cursor = ring_at(ev, i)->seq;
            break;
        }
    eventlog_cursor_free(take_ptr(s->lc));
    buf_free(&s->out);
    s->out_pos = 0;
}

/* ---- the replay (pool) ---- */

/* A line from the log the subscriber may want: parsed only when a filter needs its fields. */
static bool line_wanted(const struct event_sub *s, const char *line, size_t len)
{
    if (!json_object_size(s->filters) && !s->skip_image_create)
        return true;
    _cleanup_json_ json_t *m = json_loadb(line, len, 0, NULL);
    json_t *actor = json_object_get(m, "Actor");
    struct event_fields f = {json_get_str(m, "Type") ?: "", json_get_str(m, "Action") ?: "",
                             json_get_str(m, "scope") ?: "", json_get_str(actor, "ID") ?: "",
                             json_object_get(actor, "Attributes")};
    return m && wanted(s, &f);
}

static bool replay_line(void *arg, int64_t t, const char *line, size_t len)
{
    struct event_sub *s = arg;
    if (t >= s->stop_t)
        return false; /* the ring has it */
    if (s->out.len >= REPLAY_OUT) {
        s->out_full = true;
        return false;
    }
    if (t <= s->read_t) /* a file read again across a rotation */
        return true;
    if (s->until && t > s->until) {
        s->until_reached = true;
        return false;
    }
    s->read_t = t;
    s->job_progress = true;
    if (t < s->since || !line_wanted(s, line, len))
        return true;
    struct out_head h = {t, len};
    buf_append(&s->out, &h, sizeof(h));
    buf_append(&s->out, line, len);
    return true;
}

static void replay_work(struct pool_job *job)
{
    struct event_sub *s = container_of(job, struct event_sub, job);
    s->job_progress = s->out_full = s->until_reached = s->job_gap = false;
    s->job_end = eventlog_read(s->lc, REPLAY_READ, replay_line, s, &s->job_gap);
}

static void replay_done(struct pool_job *job)
{
    struct event_sub *s = container_of(job, struct event_sub, job);
    s->busy = false;
    if (s->cancelled) {
        unlink_sub(s);
        return sub_free(s);
    }
    if (s->waiting) {
        s->waiting = false;
        s->wake(s->arg);
    }
}

/* The next chunk of the log, read up to the ring's first event. */
static void replay_submit(struct event_sub *s)
{
    struct events *ev = s->ev;
    s->started = s->busy = s->waiting = true;
    s->stop_t = ev->count ? ring_at(ev, 0)->t : INT64_MAX;
    s->job = (struct pool_job){.work = replay_work, .done = replay_done};
    pool_submit(ev->pool, POOL_BULK, &s->job);
}

static enum events_next replay_next(struct event_sub *s, const char **line, size_t *len)
{
    if (s->out_pos < s->out.len) {
        struct out_head h;
        memcpy(&h, s->out.data + s->out_pos, sizeof(h));
        *line = s->out.data + s->out_pos + sizeof(h);
        *len = h.len;
        s->out_pos += sizeof(h) + h.len;
        s->sent_t = h.t;
        return EVENTS_LINE;
    }
    buf_reset(&s->out);
    s->out_pos = 0;
    if (s->busy) {
        s->waiting = true;
        return EVENTS_WAIT;
    }
    if (s->started && s->job_gap)
        return behind(s, line, len, "the log was rotated while this client read it");
    if (s->started && s->job_end < 0)
        log_warn("events: reading the log: %s", strerror(-s->job_end)); /* live from here */
    if (s->until_reached) {
        s->phase = SUB_OVER;
        return EVENTS_END;
    }
    bool more = s->job_end == EVENTLOG_MORE || s->out_full ||
                (s->job_progress && s->read_t < s->ev->evicted_t);
    if (!s->started || (s->job_end >= 0 && more)) {
        replay_submit(s);
        return EVENTS_WAIT;
    }
    go_live(s);
    return live_next(s, line, len);
}

enum events_next events_next(struct event_sub *s, const char **line, size_t *len)
{
    switch (s->phase) {
    case SUB_REPLAY:
        return replay_next(s, line, len);
    case SUB_LIVE:
        return live_next(s, line, len);
    default:
        return EVENTS_END;
    }
}

struct event_sub *events_subscribe(struct events *ev, const struct event_sub_opts *o,
                                   void (*wake)(void *arg), void *arg)
{
    struct event_sub *s = xcalloc(1, sizeof(*s));
    *s = (struct event_sub){.ev = ev,
                            .next = ev->subs,
                            .filters = o->filters,
                            .since = o->since_ns,
                            .until = o->until_ns,
                            .skip_image_create = o->skip_image_create,
                            .wake = wake,
                            .arg = arg,
                            .created_t = time_now_ns()};
    ev->subs = s;
    ev->nsubs++;
    bool replay = o->since_ns || o->until_ns;
    if (!replay) {
        s->phase = SUB_LIVE;
        s->cursor = ev->next_seq;
    } else if (!ev->log || o->since_ns > ev->evicted_t) { /* the ring has all it asks for */
        s->phase = SUB_LIVE;
        s->cursor = ring_first_seq(ev);
    } else {
        s->phase = SUB_REPLAY;
        s->lc = eventlog_cursor_new(ev->log);
    }
    return s;
}

void events_unsubscribe(struct event_sub *s)
{
    if (!s)
        return;
    s->ev->nsubs--;
    if (s->busy) { /* the job has it: its done callback frees it (or events_close) */
        s->cancelled = true;
        return;
    }
    unlink_sub(s);
    sub_free(s);
}

/* After a burst of events: wake the subscribers waiting for one, and those the ring left
 * behind (they are cut off; a paused one would otherwise learn it only once its client reads). */
static void deliver(struct reactor_timer *t)
{
    struct events *ev = container_of(t, struct events, deliver);
    uint64_t first = ring_first_seq(ev);
    for (struct event_sub *s = ev->subs, *next; s; s = next) {
        next = s->next; /* wake may unsubscribe s, and only s */
        if (s->phase != SUB_LIVE || s->cancelled || (!s->waiting && s->cursor >= first))
            continue;
        s->waiting = false;
        s->wake(s->arg);
    }
}

/* ---- the bus ---- */

int events_open(struct reactor *r, struct pool *pool, const char *dir, const char *engine_id,
                struct events **out, struct berth_err **err)
{
    struct events *ev = xcalloc(1, sizeof(*ev));
    *ev = (struct events){.r = r, .pool = pool, .engine_id = xstrdup(engine_id), .next_seq = 1};
    ev->deliver.fn = deliver;
    if (dir) {
        const struct eventlog_opts o = {
            .file_max = LOG_FILE_MAX, .queue_max = LOG_QUEUE_MAX, .sync_ms = LOG_SYNC_MS};
        int rc = eventlog_open(dir, &o, &ev->log, &ev->last_t, err);
        if (rc < 0) {
            free(ev->engine_id);
            free(ev);
            return berth_error_wrap(err, "open the event log");
        }
        ev->evicted_t = ev->last_t; /* what the log has is not in memory */
    }
    *out = ev;
    return 0;
}

void events_sync(struct events *ev)
{
    if (ev)
        eventlog_close(take_ptr(ev->log));
}

void events_close(struct events *ev)
{
    if (!ev)
        return;
    reactor_timer_stop(ev->r, &ev->deliver);
    events_sync(ev);
    while (ev->subs) {
        struct event_sub *s = ev->subs;
        unlink_sub(s);
        sub_free(s);
    }
    for (size_t i = 0; i < ev->count; i++)
        event_free(ring_at(ev, i));
    free(ev->ring);
    free(ev->engine_id);
    free(ev);
}
