/* exec/update.h — `docker update`: new resource limits (and restart policy) for a container,
 * checked with dockerd's rules and words (exec/verify.c's create-time checks of the same
 * fields, then update's own conflicts with what the container has), kept in its HostConfig
 * (inspect shows them, its next start uses them) and, when it runs, written into its cgroup.
 * Reactor thread. */
#pragma once

#include <jansson.h>

#include "core/err.h"
#include "exec/container.h"
#include "exec/run.h"

/* dockerd's checks of the request body (UpdateConfig: Resources and RestartPolicy) before it
 * looks the container up: EINVAL with dockerd's words, or "HostConfig.RestartPolicy.Name
 * (--restart always) is not supported yet" for the restart policies berth refuses at create
 * ("no" is fine). warnings gets dockerd's warnings. */
int ctr_update_check(const json_t *body, json_t *warnings, struct berth_err **err);
/* Update c with a checked body. Errors before anything changes: EBUSY (409) "Cannot update
 * container ID: Conflicting options: ..." and the like, in dockerd's words. Then done(ctx, 0,
 * NULL) once the new HostConfig is on disk and, for a running container, in its cgroup; or
 * done(ctx, res, err) with "Cannot update container ID: ..." when the cgroup refused a value
 * (the HostConfig is then as it was). */
int ctr_update(struct exec_env *env, struct container *c, const json_t *body, ctr_done_fn done,
               void *ctx, struct berth_err **err);
