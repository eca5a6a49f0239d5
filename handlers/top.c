/* handlers/top.c — GET /containers/{id}/top?ps_args=: the processes of a running container
 * as ps lists them (exec/top.c, in a pool job), in dockerd's {"Titles", "Processes"}. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/cgroup.h"
#include "core/cleanup.h"
#include "core/xalloc.h"
#include "exec/top.h"
#include "handlers/api.h"
#include "handlers/daemon.h"
#include "handlers/handlers.h"

struct top_call {
    char ctr_id[65];
    struct cgroup *cg; /* a copy: the container's own goes with its run */
    char *ps_args;
    json_t *titles, *processes;
};

static void top_work(struct api_task *t)
{
    struct top_call *tc = t->data;
    t->res = ctr_top_run(tc->cg, tc->ps_args, &tc->titles, &tc->processes, &t->err);
}

static void top_done(struct api_task *t)
{
    struct top_call *tc = t->data;
    if (t->res < 0) {
        api_reply_error(t->a, t->err);
    } else { /* dockerd's TopResponse: Processes first */
        events_container_id(t->a->d->events, t->a->d->cs, tc->ctr_id, "top", NULL);
        api_reply_json(t->a, 200,
                       json_pack("{so so}", "Processes", tc->processes, "Titles", tc->titles));
    }
    cgroup_free(tc->cg);
    free(tc->ps_args);
    free(tc);
}

/* dockerd's order: the arguments, the container, then whether it runs. */
void containers_top(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_free_ char *ps_args = http_query_get(a->msg, "ps_args");
    struct container *c;
    if (ctr_top_check_args(ps_args ? ps_args : "", &err) < 0 ||
        ctr_lookup(a->d->cs, a->params[0], &c, &err) < 0)
        return api_reply_error(a, err);
    const struct cgroup *cg = ctr_run_cgroup(c);
    if (!cg)
        return api_reply_errorf(a, 409, "container %s is not running", c->id);
    if (c->state.status == CTR_RESTARTING)
        return api_reply_errorf(
            a, 409, "Container %s is restarting, wait until the container is running", c->id);
    struct top_call *tc = xcalloc(1, sizeof(*tc));
    memcpy(tc->ctr_id, c->id, sizeof(tc->ctr_id));
    tc->cg = cgroup_dup(cg);
    tc->ps_args = xstrdup(ps_args ? ps_args : "");
    api_task_run(a, POOL_LATENCY, top_work, top_done, tc);
}
