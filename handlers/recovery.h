/* handlers/recovery.h — start-up after a crash, with the API serving at once: what the last
 * daemon left (stale layer trees, blobs nothing references, containers' cgroups and mounts,
 * directories no record owns, volumes half made or removed, volume mounts) is set aside quickly
 * before the socket listens and reconciled on the pool after; requests that would race that work
 * wait for it. */
#pragma once

#include <stdbool.h>

#include "handlers/api.h"
#include "handlers/router.h"

struct daemon;

/* Blocking, before listening; each step is a rename or a memory operation. */
void recovery_prepare(struct daemon *d);
/* Once listening: the pool jobs that finish recovery. */
void recovery_start(struct daemon *d);
/* api_serve: true when the request was parked until recovery ends (it then runs as if just
 * received); false when it may run now. */
bool recovery_park(struct api_req *a, const struct route *route);
/* Shutdown: parked requests are dropped (their connections are already closed). */
void recovery_free(struct daemon *d);
