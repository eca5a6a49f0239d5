/* handlers/prune.c — the course of a container or volume prune (handlers/prune.h). */
#include "handlers/prune.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "fs/treesize.h"
#include "handlers/daemon.h"

struct prune_victim {
    struct prune *p;
    char *name, *path;
    int64_t size;
};

struct prune {
    struct api_req *a;
    const struct prune_ops *ops;
    struct prune_victim *v;
    size_t n;
    json_t *deleted;
    uint64_t reclaimed;
    int pending; /* removals under way, and one for prune_remove itself */
};

struct prune *prune_new(struct api_req *a, const struct prune_ops *ops, size_t max)
{
    struct prune *p = xcalloc(1, sizeof(*p));
    *p = (struct prune){.a = a, .ops = ops, .deleted = json_array(), .pending = 1};
    p->v = xcalloc(max + 1, sizeof(*p->v));
    return p;
}

void prune_add(struct prune *p, const char *name, char *path)
{
    p->v[p->n++] = (struct prune_victim){.p = p, .name = xstrdup(name), .path = path};
}

static void prune_finish(struct prune *p)
{
    if (--p->pending > 0)
        return;
    char reclaimed[24];
    snprintf(reclaimed, sizeof(reclaimed), "%llu", (unsigned long long)p->reclaimed);
    events_emit(p->a->d->events, p->ops->type, "prune", "",
                json_pack("{ss}", "reclaimed", reclaimed));
    json_t *deleted = p->deleted;
    if (p->ops->null_when_none && !json_array_size(deleted)) {
        json_decref(deleted);
        deleted = json_null();
    }
    api_reply_json(p->a, 200,
                   json_pack("{so sI}", p->ops->deleted_key, deleted, "SpaceReclaimed",
                             (json_int_t)p->reclaimed));
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].name);
        free(p->v[i].path);
    }
    free(p->v);
    free(p);
}

static void pruned_one(void *ctx, int res, const struct berth_err *err)
{
    struct prune_victim *v = ctx;
    struct prune *p = v->p;
    if (res < 0) { /* dockerd logs it and goes on with the others */
        log_warn("failed to prune %s %s: %s", p->ops->what, v->name, err ? err->msg : "error");
    } else {
        json_array_append_new(p->deleted, json_string(v->name));
        p->reclaimed += v->size > 0 ? (uint64_t)v->size : 0;
    }
    prune_finish(p);
}

static void prune_measure(struct api_task *t)
{
    struct prune *p = t->data;
    for (size_t i = 0; i < p->n; i++)
        p->v[i].size = fs_tree_size(p->v[i].path);
}

/* Back on the reactor: the victims as they are now. */
static void prune_remove(struct api_task *t)
{
    struct prune *p = t->data;
    p->a = t->a;
    for (size_t i = 0; i < p->n; i++) {
        _cleanup_err_ struct berth_err *err = NULL;
        p->pending++;
        int r = p->ops->remove(p->a, p->v[i].name, pruned_one, &p->v[i], &err);
        if (r < 0)
            log_warn("failed to prune %s %s: %s", p->ops->what, p->v[i].name, err->msg);
        if (r <= 0)
            p->pending--;
    }
    prune_finish(p);
}

void prune_run(struct prune *p)
{
    api_task_run(p->a, POOL_BULK, prune_measure, prune_remove, p);
}
