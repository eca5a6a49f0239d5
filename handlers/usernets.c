/* handlers/usernets.c — docker network create, rm and prune of user-defined bridge networks
 * (net/network/usernet.h): the request checked on the reactor, the bridge made or removed on
 * the pool, the list changed back on the reactor, and dockerd's network events. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/labels.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "exec/ctrnet.h"
#include "exec/effective.h"
#include "handlers/api.h"
#include "handlers/daemon.h"
#include "handlers/events.h"
#include "handlers/filters.h"
#include "handlers/handlers.h"
#include "net/network/usernet.h"

void usernets_handle_delete(struct api_req *a, struct usernet *n);

static struct usernets *nets_of(struct daemon *d)
{
    return d->exec.nets;
}

/* ---- create ---- */

/* Creates run one at a time, each checked against the networks the one before made: a subnet
 * is picked from the host's routes when the bridge is made, so two at once could pick one. */
struct pending_create {
    struct api_req *a;
    json_t *body;
    struct pending_create *next;
};
static struct pending_create *queue, **queue_tail = &queue;
static bool creating;

static void start_next(void);

static void create_work(struct api_task *t)
{
    struct usernet *n = t->data;
    if (mkdir(nets_of(t->a->d)->dir, 0700) < 0 && errno != EEXIST)
        t->res = berth_error(&t->err, errno, "mkdir %s", nets_of(t->a->d)->dir);
    else
        t->res = usernet_open(n, nets_of(t->a->d)->dir, &t->err);
}

static void create_done(struct api_task *t)
{
    struct usernet *n = t->data;
    struct daemon *d = t->a->d;
    creating = false;
    if (t->res < 0) {
        usernet_free(n);
        api_reply_error(t->a, t->err);
    } else {
        usernets_add(nets_of(d), n);
        events_emit(d->events, EVENT_NETWORK, "create", n->id,
                    json_pack("{ss ss}", "name", n->name, "type", n->driver));
        api_reply_json(t->a, 201, json_pack("{ss ss}", "Id", n->id, "Warning", ""));
    }
    start_next();
}

static void start_next(void)
{
    while (!creating && queue) {
        struct pending_create *p = queue;
        if (!(queue = p->next))
            queue_tail = &queue;
        struct daemon *d = p->a->d;
        struct ipam_prefix dflt;
        if (d->exec.bridge)
            dflt = d->exec.bridge->subnet;
        struct usernet *n = NULL;
        _cleanup_err_ struct berth_err *err = NULL;
        if (usernet_parse(p->body, nets_of(d), d->exec.bridge ? &dflt : NULL, &n, &err) < 0) {
            api_reply_error(p->a, err);
        } else {
            creating = true;
            api_task_run(p->a, POOL_LATENCY, create_work, create_done, n);
        }
        json_decref(p->body);
        free(p);
    }
}

void networks_create(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    json_t *body = NULL;
    if (json_parse_body(a->msg->body.data, a->msg->body.len, true, &body, &err) < 0)
        return api_reply_error(a, err);
    struct pending_create *p = xcalloc(1, sizeof(*p));
    *p = (struct pending_create){.a = a, .body = body};
    *queue_tail = p;
    queue_tail = &p->next;
    api_async(a);
    start_next();
}

/* ---- rm ---- */

/* dockerd's words for a network with endpoints (its running containers). */
static bool in_use(struct daemon *d, const struct usernet *n, struct berth_err **err)
{
    struct container *c;
    for (size_t i = 0; (c = ctr_next(d->cs, &i));)
        if (c->run && ctrnet_on_network(c, n->name)) {
            berth_user_error(err, EBUSY,
                             "error while removing network: network %s has active endpoints "
                             "(name:\"%s\" id:\"%.12s\")",
                             n->name, c->name, c->id);
            return true;
        }
    return false;
}

static void destroy_work(struct api_task *t)
{
    usernet_destroy(t->data, nets_of(t->a->d)->dir);
}

static void destroy_done(struct api_task *t)
{
    struct usernet *n = t->data;
    events_emit(t->a->d->events, EVENT_NETWORK, "destroy", n->id,
                json_pack("{ss ss}", "name", n->name, "type", n->driver));
    usernet_free(n);
    api_reply_raw(t->a, 204, NULL, NULL, 0);
}

/* Taken off the list at once: a second rm or a start no longer finds it. */
void usernets_handle_delete(struct api_req *a, struct usernet *n)
{
    _cleanup_err_ struct berth_err *err = NULL;
    if (in_use(a->d, n, &err))
        return api_reply_error(a, err);
    usernets_remove(nets_of(a->d), n);
    api_task_run(a, POOL_LATENCY, destroy_work, destroy_done, n);
}

/* ---- prune ---- */

static int64_t created_ns(const struct usernet *n)
{
    int64_t ns = time_parse_rfc3339(n->created);
    return ns < 0 ? 0 : ns;
}

struct prune_job {
    struct usernet **v;
    size_t n;
};

static void prune_work(struct api_task *t)
{
    struct prune_job *p = t->data;
    for (size_t i = 0; i < p->n; i++)
        usernet_destroy(p->v[i], nets_of(t->a->d)->dir);
}

static void prune_done(struct api_task *t)
{
    struct prune_job *p = t->data;
    json_t *names = p->n ? json_array() : json_null();
    for (size_t i = 0; i < p->n; i++) {
        events_emit(t->a->d->events, EVENT_NETWORK, "destroy", p->v[i]->id,
                    json_pack("{ss ss}", "name", p->v[i]->name, "type", p->v[i]->driver));
        json_array_append_new(names, json_string(p->v[i]->name));
        usernet_free(p->v[i]);
    }
    free(p->v);
    free(p);
    api_reply_json(t->a, 200, json_pack("{so}", "NetworksDeleted", names));
}

void networks_prune(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_json_ json_t *f = NULL;
    struct prune_match m;
    if (filters_parse(a->msg, FILTERS_NETWORK_PRUNE, &f, &err) < 0 ||
        filters_prune(f, false, &m, &err) < 0)
        return api_reply_error(a, err);
    struct usernets *all = nets_of(a->d);
    struct prune_job *p = xcalloc(1, sizeof(*p));
    p->v = xcalloc(all->n + 1, sizeof(*p->v));
    for (size_t i = 0; i < all->n;) {
        struct usernet *n = all->v[i];
        _cleanup_err_ struct berth_err *busy = NULL;
        if (in_use(a->d, n, &busy) || !prune_match(&m, created_ns(n), n->labels)) {
            i++;
            continue;
        }
        p->v[p->n++] = n;
        usernets_remove(all, n);
    }
    prune_match_free(&m);
    api_task_run(a, POOL_LATENCY, prune_work, prune_done, p);
}
