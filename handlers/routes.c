/* handlers/routes.c — every API group's routes gathered in matching order: one list for berthd's
 * router and for the unit test that checks each route's query parameters against the spec. */
#include "core/macros.h"
#include "handlers/daemon.h"

#include "core/xalloc.h"

struct route *api_routes_all(size_t *count)
{
    const struct {
        const struct route *routes;
        size_t n;
    } groups[] = {{system_routes, system_routes_count},
                  {image_routes, image_routes_count},
                  {distribution_routes, distribution_routes_count},
                  {archive_routes, archive_routes_count},
                  {container_routes, container_routes_count},
                  {lifecycle_routes, lifecycle_routes_count},
                  {logs_routes, logs_routes_count}};
    size_t n = 0;
    for (size_t i = 0; i < ARRAY_SIZE(groups); i++)
        n += groups[i].n;
    struct route *all = xcalloc(n, sizeof(*all));
    n = 0;
    for (size_t i = 0; i < ARRAY_SIZE(groups); i++)
        for (size_t k = 0; k < groups[i].n; k++)
            all[n++] = groups[i].routes[k];
    *count = n;
    return all;
}
