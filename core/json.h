/* core/json.h — small helpers over jansson for the shapes the Docker API uses: request bodies
 * with Docker's "invalid JSON" errors, typed lookups with defaults, replies ending in '\n'. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"

/* Parse a request body. An empty body gives an empty object when allow_empty, else an error
 * worded as dockerd's ("invalid JSON: ..."), status EINVAL. */
int json_parse_body(const char *data, size_t len, bool allow_empty, json_t **out,
                    struct berth_err **err);
/* Serialise compactly with a trailing newline, as Go's json.Encoder does. Caller frees. */
char *json_dump_line(const json_t *j, size_t *len);

/* Typed member lookups: the default when the key is absent, null or of another type. */
const char *json_get_str(const json_t *obj, const char *key);
bool json_get_bool(const json_t *obj, const char *key, bool dflt);
int64_t json_get_int(const json_t *obj, const char *key, int64_t dflt);
/* Sort an array's elements with cmp (stable); returns the same array. */
json_t *json_sorted(json_t *array, int (*cmp)(const json_t *a, const json_t *b));
/* Set obj[key] to a string, or to null when s is NULL. */
void json_set_str(json_t *obj, const char *key, const char *s);
