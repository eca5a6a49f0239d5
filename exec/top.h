/* exec/top.h — `docker top`: ps run on the host over a container's processes, as dockerd runs
 * it (daemon/top_unix.go): `ps ARGS -qPID,PID...`, again without the pids when ps refuses them
 * with those arguments, and only the lines of the container's pids (the pids in its cgroup)
 * kept, with the thread lines that follow them. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "core/err.h"

struct cgroup;

/* dockerd's validatePSArgs: an argument KEY=PID... whose KEY is not "pid" is refused,
 * `specifying "KEY=PID..." is not allowed` (dockerd answers 500). Reactor thread. */
int ctr_top_check_args(const char *ps_args, struct berth_err **err);
/* Blocking (a pool job). ps_args as the API gives it ("" is dockerd's "-ef"), split on single
 * spaces as dockerd splits it. titles: a new JSON array of the columns, processes: a new array
 * of arrays of strings, one per kept line. Errors (500 in dockerd): "ps: <its first line on
 * stderr>", "Couldn't find PID field in ps output", "Unexpected pid ...". */
int ctr_top_run(const struct cgroup *cg, const char *ps_args, json_t **titles, json_t **processes,
                struct berth_err **err);
/* dockerd's parsePSOutput over ps's output, for the unit tests. */
int ctr_top_parse(const char *output, const pid_t *pids, size_t npids, json_t **titles,
                  json_t **processes, struct berth_err **err);
