/* handlers/filters.h — Docker's `filters` query parameter: JSON {"key":{"value":true}} or the
 * older {"key":["value"]}, normalised to {"key":["value",...]}, with dockerd's errors; and the
 * table of which keys each route honours. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"
#include "core/http.h"
#include "core/labels.h"

/* The routes berth serves that take `filters`. */
enum filters_route {
    FILTERS_CONTAINER_LIST,
    FILTERS_CONTAINER_PRUNE,
    FILTERS_IMAGE_LIST,
    FILTERS_IMAGE_PRUNE,
    FILTERS_EVENTS,
    FILTERS_VOLUME_LIST,
    FILTERS_VOLUME_PRUNE,
    FILTERS_NETWORK_LIST,
    FILTERS_NETWORK_PRUNE,
    FILTERS_BUILD_PRUNE,
    FILTERS_ROUTES
};

/* Every key the API spec lists for a route (and any dockerd accepts beyond it): honoured, or
 * refused with dockerd's "invalid filter 'KEY'" until the feature it filters on lands. */
struct filters_key {
    const char *key;
    const char *refused; /* NULL: honoured; else what is missing (for readers of the table) */
};
struct filters_route_keys {
    const char *method, *path;
    const struct filters_key *keys; /* ends with {NULL, NULL} */
};
extern const struct filters_route_keys filters_table[FILTERS_ROUTES];

/* Parse the request's `filters` for route (absent → empty object). EINVAL "invalid filter ..."
 * on bad JSON or a key the route does not honour. */
int filters_parse(const struct http_msg *msg, enum filters_route route, json_t **out,
                  struct berth_err **err);
/* The same with an explicit NULL-terminated list of allowed keys. */
int filters_from_query(const struct http_msg *msg, const char *const allowed[], json_t **out,
                       struct berth_err **err);
bool filters_has(const json_t *f, const char *key);
/* The values of key (an array, possibly empty; borrowed). */
json_t *filters_values(const json_t *f, const char *key);
/* True when key's only value is `value`. */
bool filters_is(const json_t *f, const char *key, const char *value);
/* dockerd's wording: "invalid filter 'key=[v1 v2]'". */
int filters_invalid(const json_t *f, const char *key, struct berth_err **err);
/* moby's GetBoolOrDefault: dflt without the key; true for "true"/"1", false for "false"/"0";
 * EINVAL invalid filter for no value, another value, or both. */
int filters_bool(const json_t *f, const char *key, bool dflt, bool *out, struct berth_err **err);
/* A label matcher from the `label` (and `label!`) values. */
void filters_labels(const json_t *f, struct label_match *m);
/* The earliest of the `until` values (dockerd's timestamps, durations counted back from now),
 * *has false when there is none. EINVAL "invalid value for 'until' filter: ...". */
int filters_until(const json_t *f, int64_t now_ns, bool *has, int64_t *until,
                  struct berth_err **err);
/* A prune's matcher: one `until` at most (dockerd's "more than one until filter specified"),
 * labels and excluded labels. dockerd's words for a bad `until` differ per route: the image
 * prune's start "invalid value for 'until' filter: " (until_prefixed), the container prune's
 * are the parser's alone. */
int filters_prune(const json_t *f, bool until_prefixed, struct prune_match *m,
                  struct berth_err **err);
