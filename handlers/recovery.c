/* handlers/recovery.c — see recovery.h. Two pool jobs after the socket listens: a latency
 * job reconciles every container with the host (nothing else may start or remove one until
 * it ends: those requests are parked and replayed), then a bulk job deletes the trees and
 * blobs set aside (volumes' too, once the first job has unmounted what was left mounted). Nothing
 * set aside is visible to a request, so only the first job gates. */
#include "handlers/recovery.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "exec/ctrnet.h"
#include "handlers/daemon.h"
#include "net/network/bridge.h"
#include "net/network/usernet.h"

struct parked {
    struct api_req *a;
    api_handler_fn fn;
    struct parked *next;
};

struct recovery {
    struct pool_job host_job, trash_job;
    struct daemon *d;
    struct ctr_recovery *rc;
    struct map trash; /* paths to delete */
    size_t removed, failed;
    struct parked *parked, **tail;
    bool host_done;
    struct netbr *bridge; /* the default bridge, set up by host_work */
    struct berth_err *bridge_err;
};

/* Layers nothing uses: left by a crash between unregistering an image and trashing its layers,
 * or by a pull that died before its image was registered. Moved into layers/tmp now. */
static void trash_unused_layers(struct daemon *d, struct recovery *rv)
{
    struct layer **unused = layer_unused(d->layers);
    for (size_t i = 0; unused[i]; i++) {
        _cleanup_err_ struct berth_err *err = NULL;
        _cleanup_free_ char *trash = NULL;
        struct layer *l = layer_forget(d->layers, unused[i]->chain_id);
        if (layer_trash(d->layers, l, &trash, &err) < 0)
            log_warn("start-up: %s", err->msg);
        else
            map_put(&rv->trash, trash, (void *)1);
        log_info("start-up: removing unused layer %s", l->chain_id);
        layer_free(l);
    }
    free(unused);
}

/* Blobs no image or layer references: what an interrupted pull or load had fetched. */
static void trash_unkept_blobs(struct daemon *d)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct map keep = {0};
    uint64_t bytes;
    image_blobs_in_use(d->images, &keep);
    int n = store_trash_unkept(d->blobs, &keep, &bytes, &err);
    map_free(&keep);
    if (n < 0)
        log_warn("start-up: %s", err->msg);
    else if (n > 0)
        log_info("start-up: removing %d unreferenced blobs (%llu bytes)", n,
                 (unsigned long long)bytes);
}

void recovery_prepare(struct daemon *d)
{
    struct recovery *rv = xcalloc(1, sizeof(*rv));
    rv->d = d;
    rv->tail = &rv->parked;
    d->recovery = rv;
    trash_unused_layers(d, rv);
    trash_unkept_blobs(d);
    layer_store_take_stale(d->layers, &rv->trash);
    store_take_stale(d->blobs, &rv->trash);
    /* volumes half made or half removed: deleted after host_work unmounted what they held */
    volume_store_take_stale(d->volumes, &rv->trash);
    rv->rc = ctr_recover_plan(&d->exec);
}

static void trash_work(struct pool_job *job)
{
    struct recovery *rv = container_of(job, struct recovery, trash_job);
    const char *path;
    for (size_t i = 0; map_next(&rv->trash, &i, &path, NULL);) {
        _cleanup_err_ struct berth_err *err = NULL;
        if (layer_rm_tree(path, &err) < 0) {
            log_warn("start-up: %s", err->msg); /* still set aside: the next start retries */
            rv->failed++;
        } else {
            rv->removed++;
        }
    }
}

static void trash_done(struct pool_job *job)
{
    struct recovery *rv = container_of(job, struct recovery, trash_job);
    if (rv->removed || rv->failed)
        log_info("start-up: removed %zu stale trees and blobs (%zu failed)", rv->removed,
                 rv->failed);
    map_free(&rv->trash);
    rv->d->recovery = NULL;
    free(rv);
}

static void host_work(struct pool_job *job)
{
    struct recovery *rv = container_of(job, struct recovery, host_job);
    /* before any container starts (starts wait for this job): the default bridge, made or
     * reused, and what a crash left in it */
    if (!rv->d->bridge_cfg.disabled)
        netbr_open(&rv->d->bridge_cfg, &rv->bridge, &rv->bridge_err);
    if (!rv->bridge_err) /* after the default bridge, which reconciled the nft tables */
        usernets_open_all(rv->d->exec.nets);
    ctr_recover_host(rv->rc);
    volume_recover_host(rv->d->volumes); /* no container runs: no volume is mounted */
}

/* As dockerd, a default bridge that cannot be set up stops the daemon (SIGTERM to itself: the
 * usual shutdown, which stops what runs); else containers may use it from now on, and the
 * addresses their records kept are settled. */
static void bridge_ready(struct recovery *rv)
{
    struct daemon *d = rv->d;
    if (rv->bridge_err) {
        log_error("failed to start daemon: %s", rv->bridge_err->msg);
        berth_err_free(take_ptr(rv->bridge_err));
        d->fatal = true;
        kill(getpid(), SIGTERM);
        return;
    }
    d->exec.bridge = take_ptr(rv->bridge);
    ctrnet_recover(&d->exec); /* user networks' addresses too, with "bridge": "none" */
}

/* Containers are reconciled: the parked requests run, in the order they came. */
static void host_done(struct pool_job *job)
{
    struct recovery *rv = container_of(job, struct recovery, host_job);
    bridge_ready(rv);
    ctr_recover_finish(take_ptr(rv->rc), &rv->trash);
    rv->host_done = true;
    log_info("start-up: containers reconciled with the host");
    for (struct parked *p = rv->parked, *next; p; p = next) {
        next = p->next;
        if (p->a->c)
            p->fn(p->a);
        else /* the client left while it waited */
            api_req_free(p->a);
        free(p);
    }
    rv->parked = NULL;
    rv->trash_job = (struct pool_job){.work = trash_work, .done = trash_done};
    pool_submit(rv->d->pool, POOL_BULK, &rv->trash_job);
}

void recovery_start(struct daemon *d)
{
    struct recovery *rv = d->recovery;
    rv->host_job = (struct pool_job){.work = host_work, .done = host_done};
    pool_submit(d->pool, POOL_LATENCY, &rv->host_job);
}

bool recovery_park(struct api_req *a, const struct route *route)
{
    struct recovery *rv = a->d->recovery;
    if (!rv || rv->host_done || !(route->flags & ROUTE_AFTER_RECOVERY))
        return false;
    log_debug("%s %s waits for start-up recovery", http_msg_method(a->msg), a->msg->path);
    struct parked *p = xcalloc(1, sizeof(*p));
    *p = (struct parked){.a = a, .fn = route->fn};
    *rv->tail = p;
    rv->tail = &p->next;
    api_async(a);
    return true;
}

void recovery_free(struct daemon *d)
{
    struct recovery *rv = d->recovery;
    if (!rv)
        return;
    for (struct parked *p = rv->parked, *next; p; p = next) {
        next = p->next;
        api_req_free(p->a);
        free(p);
    }
    rv->parked = NULL;
    rv->tail = &rv->parked;
}
