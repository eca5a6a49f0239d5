/* handlers/filters.c — parses and queries Docker's filter maps, and holds the table of the keys
 * each route honours. Values keep their order of appearance; matching of values is left to each
 * endpoint, which knows their meaning. */
#include "handlers/filters.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/macros.h"
#include "core/timefmt.h"
#include "core/xalloc.h"

/* tests/handlers/test_filters.c checks this against the keys the API spec lists for each route
 * (tests/handlers/data/filter-keys.txt) and against the routes berth serves. */
static const struct filters_key container_list_keys[] = {
    {"ancestor", NULL},
    {"before", NULL},
    {"exited", NULL},
    {"expose", NULL},
    {"health", "healthchecks are not run yet"},
    {"id", NULL},
    {"is-task", NULL}, /* no swarm: no container is a task */
    {"isolation", NULL},
    {"label", NULL},
    {"name", NULL},
    {"network", NULL},
    {"publish", NULL},
    {"since", NULL},
    {"status", NULL},
    {"volume", NULL},
    {NULL, NULL},
};
static const struct filters_key container_prune_keys[] = {
    {"label", NULL},
    {"label!", NULL},
    {"until", NULL},
    {NULL, NULL},
};
static const struct filters_key image_list_keys[] = {
    {"before", NULL}, {"dangling", NULL}, {"label", NULL}, {"reference", NULL},
    {"since", NULL},  {"until", NULL},    {NULL, NULL},
};
static const struct filters_key image_prune_keys[] = {
    {"dangling", NULL}, {"label", NULL}, {"label!", NULL}, {"until", NULL}, {NULL, NULL},
};

/* dockerd takes any key here and ignores those it does not know; berth refuses them, and the
 * keys of objects it has no events of. The rest match as dockerd's (handlers/events_filter.c). */
static const struct filters_key events_keys[] = {
    {"config", "berth has no swarm configs"},
    {"container", NULL},
    {"daemon", "berth emits no daemon events yet"},
    {"event", NULL},
    {"image", NULL},
    {"label", NULL},
    {"network", NULL},
    {"node", "berth has no swarm nodes"},
    {"plugin", "berth has no plugins"},
    {"scope", NULL},
    {"secret", "berth has no swarm secrets"},
    {"service", "berth has no swarm services"},
    {"type", NULL},
    {"volume", NULL},
    {NULL, NULL},
};
static const struct filters_key volume_list_keys[] = {
    {"dangling", NULL}, {"driver", NULL}, {"label", NULL}, {"name", NULL}, {NULL, NULL},
};
static const struct filters_key volume_prune_keys[] = {
    {"all", NULL},
    {"label", NULL},
    {"label!", NULL},
    {NULL, NULL},
};
static const struct filters_key network_list_keys[] = {
    {"dangling", NULL}, {"driver", NULL}, {"id", NULL},   {"label", NULL},
    {"name", NULL},     {"scope", NULL},  {"type", NULL}, {NULL, NULL},
};
/* berth has no user-defined network and no build cache yet: these prunes find nothing, whatever
 * the keys select (handlers/prune_empty.c; the build prune, as dockerd's, ignores keys it does
 * not know). */
static const struct filters_key network_prune_keys[] = {
    {"label", NULL},
    {"label!", NULL},
    {"until", NULL},
    {NULL, NULL},
};
static const struct filters_key build_prune_keys[] = {
    {"description", NULL}, {"id", NULL},   {"inuse", NULL}, {"parent", NULL}, {"private", NULL},
    {"shared", NULL},      {"type", NULL}, {"until", NULL}, {NULL, NULL},
};

const struct filters_route_keys filters_table[FILTERS_ROUTES] = {
    [FILTERS_CONTAINER_LIST] = {"GET", "/containers/json", container_list_keys},
    [FILTERS_CONTAINER_PRUNE] = {"POST", "/containers/prune", container_prune_keys},
    [FILTERS_IMAGE_LIST] = {"GET", "/images/json", image_list_keys},
    [FILTERS_IMAGE_PRUNE] = {"POST", "/images/prune", image_prune_keys},
    [FILTERS_EVENTS] = {"GET", "/events", events_keys},
    [FILTERS_VOLUME_LIST] = {"GET", "/volumes", volume_list_keys},
    [FILTERS_VOLUME_PRUNE] = {"POST", "/volumes/prune", volume_prune_keys},
    [FILTERS_NETWORK_LIST] = {"GET", "/networks", network_list_keys},
    [FILTERS_NETWORK_PRUNE] = {"POST", "/networks/prune", network_prune_keys},
    [FILTERS_BUILD_PRUNE] = {"POST", "/build/prune", build_prune_keys},
};

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

int filters_parse(const struct http_msg *msg, enum filters_route route, json_t **out,
                  struct berth_err **err)
{
    const char *allowed[32];
    size_t n = 0;
    for (const struct filters_key *k = filters_table[route].keys; k->key; k++)
        if (!k->refused && n < ARRAY_SIZE(allowed) - 1)
            allowed[n++] = k->key;
    allowed[n] = NULL;
    return filters_from_query(msg, allowed, out, err);
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
        buf_printf(&b, "%s%s", i ? " " : "", json_string_value(s));
    int r = berth_user_error(err, EINVAL, "invalid filter '%s=[%s]'", key, b.data ? b.data : "");
    buf_free(&b);
    return r;
}

static bool has_value(const json_t *f, const char *key, const char *value)
{
    size_t i;
    json_t *s;
    json_array_foreach(filters_values(f, key), i,
                       s) if (strcmp(json_string_value(s), value) == 0) return true;
    return false;
}

int filters_bool(const json_t *f, const char *key, bool dflt, bool *out, struct berth_err **err)
{
    *out = dflt;
    if (!filters_has(f, key))
        return 0;
    if (json_array_size(filters_values(f, key)) == 0)
        return berth_user_error(err, EINVAL, "invalid filter '%s'", key);
    bool no = has_value(f, key, "0") || has_value(f, key, "false");
    bool yes = has_value(f, key, "1") || has_value(f, key, "true");
    if (no == yes) /* neither, or both */
        return filters_invalid(f, key, err);
    *out = yes;
    return 0;
}

void filters_labels(const json_t *f, struct label_match *m)
{
    label_match_init(m, json_object_get(f, "label"), json_object_get(f, "label!"));
}

static int until_value(const char *v, int64_t now_ns, bool prefixed, int64_t *out,
                       struct berth_err **err)
{
    _cleanup_free_ char *why = NULL;
    if (time_parse_timestamp(v, now_ns, out, &why) == 0)
        return 0;
    return berth_user_error(err, EINVAL, "%s%s",
                            prefixed ? "invalid value for 'until' filter: " : "", why);
}

int filters_until(const json_t *f, int64_t now_ns, bool *has, int64_t *until,
                  struct berth_err **err)
{
    size_t i;
    json_t *s;
    *has = false;
    json_array_foreach(filters_values(f, "until"), i, s)
    {
        int64_t t;
        int r = until_value(json_string_value(s), now_ns, true, &t, err);
        if (r < 0)
            return r;
        if (!*has || t < *until)
            *until = t;
        *has = true;
    }
    return 0;
}

int filters_prune(const json_t *f, bool until_prefixed, struct prune_match *m,
                  struct berth_err **err)
{
    json_t *until = filters_values(f, "until");
    *m = (struct prune_match){0};
    if (json_array_size(until) > 1)
        return berth_user_error(err, EINVAL, "more than one until filter specified");
    if (filters_has(f, "until")) {
        /* dockerd reads the one value it has; an empty list is an empty value */
        const char *v = json_array_size(until) ? json_string_value(json_array_get(until, 0)) : "";
        int r = until_value(v, time_now_ns(), until_prefixed, &m->until, err);
        if (r < 0)
            return r;
        m->has_until = true;
    }
    filters_labels(f, &m->labels);
    return 0;
}
