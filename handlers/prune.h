/* handlers/prune.h — the course of dockerd's container and volume prunes: the handler picks
 * the victims on the reactor, their sizes are measured on a bulk thread (SpaceReclaimed counts
 * what removing them frees), each one still there and still prunable is removed, and the reply
 * (and the prune event) comes once the last removal is done; only those removed are reported.
 *
 *   struct prune *p = prune_new(a, &volume_prune_ops, volume_count(vs));
 *   for (...) prune_add(p, v->name, xstrdup(v->data));
 *   prune_run(p);
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "handlers/api.h"
#include "handlers/events.h"

struct prune;

/* A removal's end: res < 0 with err when it failed (logged, the others go on, as dockerd). */
typedef void (*prune_removed_fn)(void *ctx, int res, const struct berth_err *err);

struct prune_ops {
    const char *what;        /* "container", "volume": the log's words */
    enum event_type type;    /* the prune event's type */
    const char *deleted_key; /* "ContainersDeleted" */
    bool null_when_none;     /* dockerd says null, not [], for none (containers) */
    /* Reactor: remove the victim named, if it is still there and still prunable: 1 when its
     * removal began (removed is called once it ends), 0 when it is left alone, < 0 when it
     * could not begin. */
    int (*remove)(struct api_req *a, const char *name, prune_removed_fn removed, void *ctx,
                  struct berth_err **err);
};

/* At most max victims. */
struct prune *prune_new(struct api_req *a, const struct prune_ops *ops, size_t max);
/* A victim: its name (copied) and the tree whose size removing it frees (taken). */
void prune_add(struct prune *p, const char *name, char *path);
/* Measures, removes, replies; p is freed once the reply is out. */
void prune_run(struct prune *p);
