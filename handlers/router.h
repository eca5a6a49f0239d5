/* handlers/router.h — matches a request's method and path to an API route: Docker's optional
 * /vX.YY prefix, {param} segments and {param*} for image names that contain slashes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define ROUTER_MAX_PARAMS 4
#define API_VERSION       "1.50"
#define API_MIN_VERSION   "1.24"

struct api_req;
typedef void (*api_handler_fn)(struct api_req *a);

enum {
    ROUTE_STREAM_BODY = 1,    /* the handler reads the request body as it arrives */
    ROUTE_AFTER_RECOVERY = 2, /* it changes what start-up recovery is still reconciling
                               * (a container's cgroup, mount or directory): it waits */
};

struct route {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* "/containers/{id}/json", "/images/{name*}/tag" */
    api_handler_fn fn;
    unsigned flags;
};

struct router;
struct router *router_new(const struct route *routes, size_t n);
void router_free(struct router *rt);

/* Split "/v1.50/info" into version "1.50" and rest "/info". Returns false when there is no
 * version prefix (rest is the whole path and version is left empty). */
bool router_split_version(const char *path, char *version, size_t vlen, const char **rest);
/* Compare dotted API versions numerically ("1.9" < "1.24"): <0, 0, >0. */
int router_version_cmp(const char *a, const char *b);
/* The first route whose method and pattern match; fills params (caller frees each). */
const struct route *router_match(const struct router *rt, const char *method, const char *path,
                                 char *params[ROUTER_MAX_PARAMS]);
