/* handlers/filters.h — Docker's `filters` query parameter: JSON {"key":{"value":true}} or the
 * older {"key":["value"]}, normalised to {"key":["value",...]}, with dockerd's errors. */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "core/err.h"
#include "core/http.h"

/* Parse the request's `filters` (absent → empty object). EINVAL "invalid filter ..." on bad
 * JSON or a key outside `allowed` (NULL-terminated). */
int filters_from_query(const struct http_msg *msg, const char *const allowed[], json_t **out,
                       struct berth_err **err);
bool filters_has(const json_t *f, const char *key);
/* The values of key (an array, possibly empty; borrowed). */
json_t *filters_values(const json_t *f, const char *key);
/* True when key's only value is `value`. */
bool filters_is(const json_t *f, const char *key, const char *value);
/* dockerd's wording: "invalid filter 'key=v1,v2'". */
int filters_invalid(const json_t *f, const char *key, struct berth_err **err);
/* label filters: every "k" or "k=v" entry must match the labels object. */
bool filters_match_labels(const json_t *f, const char *key, const json_t *labels);
