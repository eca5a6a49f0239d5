/* handlers/routes.c — the whole Docker API berthd serves, one route a line, in matching order
 * (the first match wins, so a literal path comes before a {param} that would take it). Used by
 * berthd's router and by the unit tests that check each route's parameters against the spec. */
#include "handlers/routes.h"

#include "core/macros.h"
#include "core/xalloc.h"
#include "handlers/handlers.h"

/* ROUTE_STREAM_BODY: the handler reads the body as it arrives (a tarball). ROUTE_AFTER_RECOVERY:
 * it waits for the start-up reconciliation of containers (handlers/recovery.c). */
static const struct route routes[] = {
    {"GET", "/_ping", system_ping, 0},
    {"HEAD", "/_ping", system_ping, 0},
    {"GET", "/version", system_version, 0},
    {"GET", "/info", system_info, 0},
    {"GET", "/system/df", system_df, 0},
    {"POST", "/auth", auth_login, 0},
    {"GET", "/events", system_events, 0},

    {"GET", "/images/json", images_list, 0},
    {"POST", "/images/prune", images_prune, 0},
    {"POST", "/images/create", images_create, ROUTE_STREAM_BODY}, /* pull, or import's tarball */
    {"POST", "/images/load", images_load, ROUTE_STREAM_BODY},
    {"GET", "/images/get", images_save_many, 0},
    {"GET", "/images/{name*}/json", images_inspect, 0},
    {"GET", "/images/{name*}/history", images_history, 0},
    {"POST", "/images/{name*}/tag", images_tag, 0},
    {"POST", "/images/{name*}/push", images_push, 0},
    {"GET", "/images/{name*}/get", images_save, 0},
    {"DELETE", "/images/{name*}", images_delete, 0},

    {"POST", "/containers/create", containers_create, 0},
    {"GET", "/containers/json", containers_list, 0},
    {"POST", "/containers/prune", containers_prune, ROUTE_AFTER_RECOVERY},
    {"GET", "/containers/{id}/json", containers_inspect, 0},
    {"POST", "/containers/{id}/rename", containers_rename, 0},
    {"POST", "/containers/{id}/start", containers_start, ROUTE_AFTER_RECOVERY},
    {"POST", "/containers/{id}/stop", containers_stop, 0},
    {"POST", "/containers/{id}/restart", containers_restart, ROUTE_AFTER_RECOVERY},
    {"POST", "/containers/{id}/kill", containers_kill, 0},
    {"POST", "/containers/{id}/wait", containers_wait, 0},
    {"POST", "/containers/{id}/pause", containers_pause, 0},
    {"POST", "/containers/{id}/unpause", containers_unpause, 0},
    {"POST", "/containers/{id}/resize", containers_resize, 0},
    {"POST", "/containers/{id}/attach", containers_attach, 0},
    {"GET", "/containers/{id}/logs", containers_logs, 0},
    {"POST", "/containers/{id}/exec", exec_create, 0},
    /* these may mount a stopped container's rootfs: after the start-up unmounts */
    {"HEAD", "/containers/{id}/archive", containers_archive_head, ROUTE_AFTER_RECOVERY},
    {"GET", "/containers/{id}/archive", containers_archive_get, ROUTE_AFTER_RECOVERY},
    {"PUT", "/containers/{id}/archive", containers_archive_put,
     ROUTE_STREAM_BODY | ROUTE_AFTER_RECOVERY},
    {"GET", "/containers/{id}/export", containers_export, ROUTE_AFTER_RECOVERY},
    {"GET", "/containers/{id}/changes", containers_changes, 0},
    {"POST", "/commit", images_commit, ROUTE_AFTER_RECOVERY},
    {"GET", "/containers/{id}/stats", containers_stats, 0},
    {"GET", "/containers/{id}/top", containers_top, 0},
    {"POST", "/containers/{id}/update", containers_update, 0},
    /* {name:.*} in dockerd: a link's name PARENT/ALIAS (rm --link) is one name */
    {"DELETE", "/containers/{id*}", containers_delete, ROUTE_AFTER_RECOVERY},

    {"POST", "/exec/{id}/start", exec_start, 0},
    {"POST", "/exec/{id}/resize", exec_resize, 0},
    {"GET", "/exec/{id}/json", exec_inspect, 0},

    {"GET", "/volumes", volumes_list, 0},
    {"POST", "/volumes/create", volumes_create, 0},
    {"POST", "/volumes/prune", volumes_prune, ROUTE_AFTER_RECOVERY},
    {"GET", "/volumes/{name}", volumes_inspect, 0},
    {"PUT", "/volumes/{name}", volumes_update, 0},
    {"DELETE", "/volumes/{name}", volumes_delete, ROUTE_AFTER_RECOVERY},

    /* the default bridge is set up by the start-up recovery */
    {"GET", "/networks", networks_list, ROUTE_AFTER_RECOVERY},
    {"POST", "/networks/create", networks_create, ROUTE_AFTER_RECOVERY},
    {"POST", "/networks/prune", networks_prune, ROUTE_AFTER_RECOVERY},
    {"GET", "/networks/{id}", networks_inspect, ROUTE_AFTER_RECOVERY},
    {"DELETE", "/networks/{id}", networks_delete, ROUTE_AFTER_RECOVERY},
    {"POST", "/networks/{id}/connect", networks_connect, ROUTE_AFTER_RECOVERY},
    {"POST", "/networks/{id}/disconnect", networks_disconnect, ROUTE_AFTER_RECOVERY},
    {"POST", "/build/prune", build_prune, 0},
};

struct route *api_routes_all(size_t *count)
{
    struct route *all = xcalloc(ARRAY_SIZE(routes), sizeof(*all));
    for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
        all[i] = routes[i];
    *count = ARRAY_SIZE(routes);
    return all;
}
