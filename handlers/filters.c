/* handlers/filters.c — parses and queries Docker's filter maps. Values keep their order of
 * appearance; matching of values is left to each endpoint, which knows their meaning. */
#include "handlers/filters.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/xalloc.h"

static json_t *normalise(json_t *raw)
{
    json_t *out = json_object(), *v;
    const char *key;
    json_object_foreach(raw, key, v)
    {
        json_t *values = json_array();
        if (json_is_array(v)) {
            size_t i;
            json_t *s;
            json_array_foreach(v, i, s) if (json_is_string(s)) json_array_append(values, s);
        } else if (json_is_object(v)) {
            const char *val;
            json_t *on;
            json_object_foreach(v, val, on) if (json_is_true(on))
                json_array_append_new(values, json_string(val));
        }
        json_object_set_new(out, key, values);
    }
    return out;
}

int filters_from_query(const struct http_msg *msg, const char *const allowed[], json_t **out,
                       struct berth_err **err)
{
    _cleanup_free_ char *text = http_query_get(msg, "filters");
    json_error_t je;
    _cleanup_json_ json_t *raw = text && *text ? json_loads(text, 0, &je) : json_object();
    if (!json_is_object(raw))
        return berth_user_error(err, EINVAL, "invalid filter: %s", raw ? "not an object" : je.text);
    json_t *f = normalise(raw);
    const char *key;
    json_t *v;
    json_object_foreach(f, key, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed && allowed[i] && !ok; i++)
            ok = strcmp(allowed[i], key) == 0;
        if (!ok) { /* the words first: key lives in f */
            int r = berth_user_error(err, EINVAL, "invalid filter '%s'", key);
            json_decref(f);
            return r;
        }
    }
    *out = f;
    return 0;
}

bool filters_has(const json_t *f, const char *key)
{
    return json_object_get(f, key) != NULL;
}

json_t *filters_values(const json_t *f, const char *key)
{
    json_t *v = json_object_get(f, key);
    static json_t *empty;
    if (!empty)
        empty = json_array();
    return v ? v : empty;
}

bool filters_is(const json_t *f, const char *key, const char *value)
{
    json_t *v = filters_values(f, key);
    return json_array_size(v) == 1 && strcmp(json_string_value(json_array_get(v, 0)), value) == 0;
}

int filters_invalid(const json_t *f, const char *key, struct berth_err **err)
{
    struct buf b = {0};
    size_t i;
    json_t *s;
    json_array_foreach(filters_values(f, key), i, s)
        buf_printf(&b, "%s%s", i ? "," : "", json_string_value(s));
    int r = berth_user_error(err, EINVAL, "invalid filter '%s=%s'", key, b.data ? b.data : "");
    buf_free(&b);
    return r;
}

bool filters_match_labels(const json_t *f, const char *key, const json_t *labels)
{
    size_t i;
    json_t *s;
    json_array_foreach(filters_values(f, key), i, s)
    {
        const char *want = json_string_value(s), *eq = strchr(want, '=');
        _cleanup_free_ char *k = eq ? xstrndup(want, (size_t)(eq - want)) : xstrdup(want);
        const char *have = json_get_str(labels, k);
        if (!have || (eq && strcmp(have, eq + 1) != 0))
            return false;
    }
    return true;
}
