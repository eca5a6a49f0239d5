/* handlers/update.c — POST /containers/{id}/update: dockerd's UpdateConfig (Resources and
 * RestartPolicy) applied by exec/update.c, answered with {"Warnings": [...]}. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "exec/update.h"
#include "handlers/api.h"
#include "handlers/daemon.h"
#include "handlers/handlers.h"

struct update_call {
    struct api_req *a;
    char ctr_id[65];
    json_t *warnings;
};

/* dockerd's UpdateResponse: Warnings is null when there are none. */
static void updated(void *ctx, int res, const struct berth_err *err)
{
    struct update_call *uc = ctx;
    if (res < 0) {
        api_reply_error(uc->a, err);
    } else {
        events_container_id(uc->a->d->events, uc->a->d->cs, uc->ctr_id, "update", NULL);
        api_reply_json(
            uc->a, 200,
            json_pack("{so}", "Warnings",
                      json_array_size(uc->warnings) ? json_incref(uc->warnings) : json_null()));
    }
    json_decref(uc->warnings);
    free(uc);
}

void containers_update(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_json_ json_t *body = NULL;
    json_t *warnings = json_array();
    struct container *c;
    int r = json_parse_body(a->msg->body.data, a->msg->body.len, true, &body, &err);
    if (r == 0 && api_version_before(a, "1.40")) /* as dockerd: older clients cannot set it */
        json_object_del(body, "PidsLimit");
    /* dockerd below API 1.55 drops BlkioWeightDevice and the per-device throttles of an
     * update: they are never read here. */
    if (r < 0 || ctr_update_check(body, warnings, &err) < 0 ||
        ctr_lookup(a->d->cs, a->params[0], &c, &err) < 0) {
        json_decref(warnings);
        return api_reply_error(a, err);
    }
    struct update_call *uc = xcalloc(1, sizeof(*uc));
    *uc = (struct update_call){.a = a, .warnings = warnings};
    memcpy(uc->ctr_id, c->id, sizeof(uc->ctr_id));
    api_async(a);
    if (ctr_update(&a->d->exec, c, body, updated, uc, &err) < 0)
        updated(uc, -1, err);
}
