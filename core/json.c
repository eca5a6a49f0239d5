/* core/json.c — jansson helpers. Lookups never fail loudly: the Docker API treats absent and
 * null members alike, so callers get a default and decide whether that is an error. */
#include "core/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

int json_parse_body(const char *data, size_t len, bool allow_empty, json_t **out,
                    struct berth_err **err)
{
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", data[i]))
        i++;
    if (i == len) {
        if (allow_empty) {
            *out = json_object();
            return 0;
        }
        return berth_user_error(err, EINVAL, "invalid JSON: got EOF while reading request body");
    }
    json_error_t je;
    json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return berth_user_error(err, EINVAL, "invalid JSON: %s", je.text);
    *out = j;
    return 0;
}

char *json_dump_line(const json_t *j, size_t *len)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        s = xstrdup("null");
    size_t n = strlen(s);
    s = xrealloc(s, n + 2);
    s[n] = '\n';
    s[n + 1] = '\0';
    if (len)
        *len = n + 1;
    return s;
}

const char *json_get_str(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

bool json_get_bool(const json_t *obj, const char *key, bool dflt)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

int64_t json_get_int(const json_t *obj, const char *key, int64_t dflt)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_real(v))
        return (int64_t)json_real_value(v);
    return dflt;
}

void json_set_str(json_t *obj, const char *key, const char *s)
{
    json_object_set_new(obj, key, s ? json_string(s) : json_null());
}

json_t *json_sorted(json_t *array, int (*cmp)(const json_t *a, const json_t *b))
{
    size_t n = json_array_size(array);
    json_t **items = xcalloc(n + 1, sizeof(*items));
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(array, i));
    for (size_t i = 1; i < n; i++) { /* insertion sort: stable, and lists are short */
        json_t *x = items[i];
        size_t j = i;
        for (; j > 0 && cmp(items[j - 1], x) > 0; j--)
            items[j] = items[j - 1];
        items[j] = x;
    }
    json_array_clear(array);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(array, items[i]);
    free(items);
    return array;
}
