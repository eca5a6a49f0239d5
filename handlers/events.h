/* handlers/events.h — the engine's events (GET /events): what handlers emit, in Docker's shapes
 * (Type, Action, Actor{ID, Attributes}, scope, time, timeNano, and the deprecated status, id
 * and from dockerd still sends), kept in memory for live subscribers and in a bounded log on
 * disk (fs/eventlog.c) for replays with `since` that reach back past a restart.
 *
 * Emitting is one call on the reactor thread, from a handler or from a callback through which
 * a domain reports back (exec/run.c's ctr_notify):
 *   events_container(d->events, c, "pause", NULL);
 *   events_container(d->events, c, "resize", json_pack("{ss ss}", "height", h, "width", w));
 *   events_image(d->events, d->images, img->id, "busybox:v1", "tag");
 *   events_emit(d->events, EVENT_VOLUME, "create", name, json_pack("{ss}", "driver", "local"));
 * Attributes are strings; the call takes the object. The domain never formats an event.
 *
 * Subscribers read through a cursor, paced by their client; one that falls so far behind that
 * the events it has yet to read have left memory is cut off with a last line saying so (and
 * where to resume with `since`), never silently skipped. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"
#include "core/pool.h"
#include "core/reactor.h"
#include "exec/container.h"
#include "exec/run.h"
#include "fs/image.h"

enum event_type {
    EVENT_CONTAINER,
    EVENT_IMAGE,
    EVENT_VOLUME,
    EVENT_NETWORK,
    EVENT_DAEMON,
    EVENT_PLUGIN,
    EVENT_BUILDER,
};

struct events;
struct usernets;

/* Blocking, at start-up: the log in dir (ROOT/events). engine_id names the daemon in the line
 * that cuts off a subscriber. */
int events_open(struct reactor *r, struct pool *pool, const char *dir, const char *engine_id,
                struct events **out, struct berth_err **err);
/* The user networks, whose drivers name the "type" of their connect and disconnect events. */
void events_watch_networks(struct events *ev, const struct usernets *nets);
/* After the reactor's last turn and the pool's: writes and syncs what the log has queued, frees
 * the subscriptions still there. */
void events_close(struct events *ev);
/* Only the log's part of events_close, when the rest must stay (a shutdown that leaves pool
 * jobs running). */
void events_sync(struct events *ev);

/* One event: its type, action, actor ID and attributes (taken; NULL: none). */
void events_emit(struct events *ev, enum event_type type, const char *action, const char *id,
                 json_t *attrs);
/* A container's event, its attributes as dockerd's LogContainerEventWithAttributes makes them:
 * extra (taken; NULL: none), then its labels, image and name. */
void events_container(struct events *ev, const struct container *c, const char *action,
                      json_t *extra);
/* The same for the container with this exact ID, if it is still there (after an asynchronous
 * step, which it may not have outlived). */
void events_container_id(struct events *ev, struct ctr_store *cs, const char *id,
                         const char *action, json_t *extra);
/* An image's event as dockerd's LogImageEvent: actor id, attributes the image's labels (while
 * the store has it: is may be NULL) and name (NULL: none). */
void events_image(struct events *ev, struct image_store *is, const char *id, const char *name,
                  const char *action);
/* exec/run.c's reports (ctr_notify, arg: the struct events): kill (the signal), die (exitCode,
 * execDuration) after its volumes' unmount, oom, destroy; at start its volumes' mount. */
void events_on_container(void *arg, const struct container *c, enum ctr_event what, int value);
/* exec/execproc.c's report (ctr_notify.exec_die): exec_die (execID, exitCode). */
void events_on_exec_die(void *arg, const struct container *c, const char *exec_id, int exit_code);
/* fs/volume.c's reports (volume_store_notify): create and destroy, driver local. */
void events_on_volume(void *arg, const char *name, enum volume_event what);
/* exec_create and exec_start, as dockerd names them: "exec_create: ENTRYPOINT ARGS..." (with
 * its space when there is no argument), execID in the attributes. */
void events_exec(struct events *ev, const struct container *c, const char *action,
                 const char *exec_id, char *const *argv);

/* ---- subscriptions (handlers/system_events.c) ---- */

struct event_sub;

struct event_sub_opts {
    int64_t since_ns, until_ns; /* 0: none; either replays what the log has from since on */
    json_t *filters;            /* handlers/filters.c's normalised map (taken; NULL: none) */
    bool skip_image_create;     /* API < 1.46: image create events were not sent yet */
};

enum events_next {
    EVENTS_LINE,   /* *line, *len: the next event, a JSON line (valid until the next call) */
    EVENTS_WAIT,   /* nothing yet: wake runs when there may be */
    EVENTS_END,    /* until has passed: the stream is over */
    EVENTS_BEHIND, /* fell too far behind: *line is the last line to send, then end */
};

struct event_sub *events_subscribe(struct events *ev, const struct event_sub_opts *o,
                                   void (*wake)(void *arg), void *arg);
enum events_next events_next(struct event_sub *s, const char **line, size_t *len);
/* No callback after this. */
void events_unsubscribe(struct event_sub *s);
/* Subscriptions open now (docker info's NEventsListener). */
size_t events_subscribers(const struct events *ev);
