/* tests/handlers/test_filters.c — Docker's filters query: both JSON shapes normalised, and
 * dockerd's words for bad JSON and for a key the endpoint does not know (run under ASan by
 * `make asan`: the words once named a freed key); the table of honoured keys against the keys
 * the API spec lists for every route berth serves (tests/handlers/data/filter-keys.txt, made by
 * tools/filter-keys.py); booleans, until and label matching as dockerd reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "core/macros.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "handlers/filters.h"
#include "handlers/routes.h"

static const char *const allowed[] = {"status", "label", NULL};

static int parse(const char *query, json_t **out, struct berth_err **err)
{
    struct http_msg msg = {0};
    msg.query = (char *)query;
    return filters_from_query(&msg, allowed, out, err);
}

static void test_both_shapes_normalised(void **state)
{
    (void)state;
    json_t *f = NULL;
    assert_int_equal(parse("filters=%7B%22status%22%3A%7B%22running%22%3Atrue%7D%7D", &f, NULL), 0);
    assert_true(filters_is(f, "status", "running"));
    json_decref(f);
    assert_int_equal(parse("filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D", &f, NULL), 0);
    assert_true(filters_is(f, "label", "a=b"));
    json_decref(f);
    assert_int_equal(parse("", &f, NULL), 0);
    assert_false(filters_has(f, "status"));
    json_decref(f);
}

static void test_unknown_key_named_in_the_error(void **state)
{
    (void)state;
    json_t *f = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    assert_true(parse("filters=%7B%22bogus-key%22%3A%7B%22x%22%3Atrue%7D%7D", &f, &err) < 0);
    assert_string_equal(err->msg, "invalid filter 'bogus-key'");
    assert_null(f);
}

static char *src_path(const char *rel)
{
    const char *src = getenv("BERTH_SRC");
    return xasprintf("%s/%s", src ? src : ".", rel);
}

/* The spec's keys for "METHOD PATH", as a NULL-terminated list (heap), or NULL. */
static char **spec_keys(const char *method, const char *path)
{
    _cleanup_free_ char *file = src_path("tests/handlers/data/filter-keys.txt");
    _cleanup_fclose_ FILE *f = fopen(file, "r");
    char line[1024];
    if (!f)
        fail_msg("cannot read %s", file);
    while (fgets(line, sizeof(line), f)) {
        char *save = NULL, *m = strtok_r(line, " \n", &save), *p = strtok_r(NULL, " \n", &save);
        if (!m || m[0] == '#' || !p || strcmp(m, method) || strcmp(p, path))
            continue;
        char **keys = xcalloc(64, sizeof(*keys));
        size_t n = 0;
        for (char *k; n < 63 && (k = strtok_r(NULL, " \n", &save));)
            keys[n++] = xstrdup(k);
        return keys;
    }
    return NULL;
}

static void keys_free(char **keys)
{
    for (size_t i = 0; keys && keys[i]; i++)
        free(keys[i]);
    free(keys);
}

static const struct filters_key *table_key(const struct filters_route_keys *r, const char *key)
{
    for (const struct filters_key *k = r->keys; k->key; k++)
        if (strcmp(k->key, key) == 0)
            return k;
    return NULL;
}

/* Each route's table names exactly the keys the spec lists for it: none left to be accepted
 * and ignored, none made up. */
static void test_table_matches_spec(void **state)
{
    (void)state;
    for (size_t i = 0; i < FILTERS_ROUTES; i++) {
        const struct filters_route_keys *r = &filters_table[i];
        char **keys = spec_keys(r->method, r->path);
        if (!keys)
            fail_msg("%s %s: not in the spec's list", r->method, r->path);
        for (size_t k = 0; keys[k]; k++)
            if (!table_key(r, keys[k]))
                fail_msg("%s %s: the spec's key `%s` is not in the table", r->method, r->path,
                         keys[k]);
        for (const struct filters_key *k = r->keys; k->key; k++) {
            bool listed = false;
            for (size_t j = 0; keys[j] && !listed; j++)
                listed = strcmp(keys[j], k->key) == 0;
            if (!listed)
                fail_msg("%s %s: `%s` is not a key of the spec", r->method, r->path, k->key);
        }
        keys_free(keys);
    }
}

/* Every route berth serves (handlers/routes.c) that the spec gives a filters parameter has a
 * table entry. */
static void test_every_served_route_in_table(void **state)
{
    (void)state;
    size_t nroutes;
    struct route *routes = api_routes_all(&nroutes);
    assert_true(nroutes > 20);
    for (size_t i = 0; i < nroutes; i++) {
        /* the spec writes {name} where the router has {name*} */
        _cleanup_free_ char *path = xstrdup(routes[i].pattern);
        for (char *star; (star = strstr(path, "*}"));)
            memmove(star, star + 1, strlen(star));
        char **keys = spec_keys(routes[i].method, path);
        bool listed = false;
        for (size_t k = 0; keys && k < FILTERS_ROUTES && !listed; k++)
            listed = !strcmp(filters_table[k].method, routes[i].method) &&
                     !strcmp(filters_table[k].path, path);
        if (keys && !listed)
            fail_msg("%s %s takes filters in the spec but has no filters_table entry",
                     routes[i].method, path);
        keys_free(keys);
    }
    free(routes);
}

static int parse_route(enum filters_route route, const char *key, struct berth_err **err)
{
    _cleanup_free_ char *q = xasprintf("filters=%%7B%%22%s%%22%%3A%%5B%%5D%%7D", key);
    struct http_msg msg = {0};
    json_t *f = NULL;
    msg.query = q;
    int r = filters_parse(&msg, route, &f, err);
    json_decref(f);
    return r;
}

/* A refused key is dockerd's 400 "invalid filter 'KEY'"; an honoured one parses. */
static void test_refused_keys_are_invalid(void **state)
{
    (void)state;
    for (size_t i = 0; i < FILTERS_ROUTES; i++)
        for (const struct filters_key *k = filters_table[i].keys; k->key; k++) {
            _cleanup_err_ struct berth_err *err = NULL;
            int r = parse_route((enum filters_route)i, k->key, &err);
            if (k->refused) {
                _cleanup_free_ char *want = xasprintf("invalid filter '%s'", k->key);
                if (r >= 0 || strcmp(err->msg, want) != 0)
                    fail_msg("%s: %s, want %s", k->key, err ? err->msg : "accepted", want);
                assert_int_equal(berth_err_code(err), -EINVAL - 1);
            } else if (r < 0) {
                fail_msg("%s %s: honoured key %s refused: %s", filters_table[i].method,
                         filters_table[i].path, k->key, err->msg);
            }
        }
}

static json_t *filters_of(const char *json)
{
    json_t *f = json_loads(json, 0, NULL);
    assert_non_null(f);
    return f;
}

/* moby's GetBoolOrDefault. */
static void test_bool(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int r;
        bool value;
    } cases[] = {
        {"{}", 0, true},
        {"{\"dangling\":[\"true\"]}", 0, true},
        {"{\"dangling\":[\"1\"]}", 0, true},
        {"{\"dangling\":[\"false\"]}", 0, false},
        {"{\"dangling\":[\"0\"]}", 0, false},
        {"{\"dangling\":[\"true\",\"1\"]}", 0, true},
        {"{\"dangling\":[\"maybe\"]}", -1, true},
        {"{\"dangling\":[\"true\",\"false\"]}", -1, true},
        {"{\"dangling\":[]}", -1, true},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        _cleanup_json_ json_t *f = filters_of(cases[i].json);
        _cleanup_err_ struct berth_err *err = NULL;
        bool v;
        int r = filters_bool(f, "dangling", true, &v, &err);
        if ((r < 0 ? -1 : 0) != cases[i].r || (r == 0 && v != cases[i].value))
            fail_msg("%s: r=%d v=%d", cases[i].json, r, v);
    }
    _cleanup_json_ json_t *f = filters_of("{\"dangling\":[\"maybe\"]}");
    _cleanup_err_ struct berth_err *err = NULL;
    bool v;
    assert_true(filters_bool(f, "dangling", false, &v, &err) < 0);
    assert_string_equal(err->msg, "invalid filter 'dangling=[maybe]'");
}

/* A prune's until: one value, dockerd's words per route; label and label!. */
static void test_prune_filters(void **state)
{
    (void)state;
    struct prune_match m;
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_json_ json_t *two = filters_of("{\"until\":[\"1h\",\"2h\"]}");
    assert_true(filters_prune(two, true, &m, &err) < 0);
    assert_string_equal(err->msg, "more than one until filter specified");
    berth_err_freep(&err);

    _cleanup_json_ json_t *bad = filters_of("{\"until\":[\"soon\"]}");
    assert_true(filters_prune(bad, true, &m, &err) < 0);
    assert_string_equal(err->msg, "invalid value for 'until' filter: failed to parse value as "
                                  "time or duration: invalid seconds \"soon\": invalid syntax");
    berth_err_freep(&err);
    assert_true(filters_prune(bad, false, &m, &err) < 0);
    assert_string_equal(err->msg, "failed to parse value as time or duration: invalid seconds "
                                  "\"soon\": invalid syntax");
    berth_err_freep(&err);

    _cleanup_json_ json_t *f =
        filters_of("{\"until\":[\"1h\"],\"label\":[\"a\"],\"label!\":[\"b=2\"]}");
    assert_int_equal(filters_prune(f, true, &m, &err), 0);
    assert_true(m.has_until);
    int64_t hour_ago = time_now_ns() - 3600LL * 1000000000;
    assert_true(m.until <= hour_ago && m.until > hour_ago - 60LL * 1000000000);
    _cleanup_json_ json_t *a = filters_of("{\"a\":\"1\"}");
    _cleanup_json_ json_t *ab1 = filters_of("{\"a\":\"1\",\"b\":\"1\"}");
    _cleanup_json_ json_t *ab2 = filters_of("{\"a\":\"1\",\"b\":\"2\"}");
    _cleanup_json_ json_t *b2 = filters_of("{\"b\":\"2\"}");
    assert_true(prune_match(&m, m.until - 1000, a));
    assert_true(prune_match(&m, m.until, a)); /* at `until` is not after it */
    assert_false(prune_match(&m, m.until + 1, a));
    assert_false(prune_match(&m, -1, a)); /* no creation time */
    assert_true(prune_match(&m, 0, ab1));
    assert_false(prune_match(&m, 0, ab2));
    assert_false(prune_match(&m, 0, b2));
    assert_false(prune_match(&m, 0, NULL));
    prune_match_free(&m);

    /* label! excludes only what matches all its entries (MatchKVList) */
    _cleanup_json_ json_t *not2 = filters_of("{\"label!\":[\"a\",\"b\"]}");
    assert_int_equal(filters_prune(not2, true, &m, &err), 0);
    assert_false(m.has_until);
    assert_true(prune_match(&m, -1, a));
    assert_true(prune_match(&m, -1, NULL));
    assert_false(prune_match(&m, -1, ab1));
    prune_match_free(&m);
}

/* The list's until: every value, the earliest wins. */
static void test_list_until(void **state)
{
    (void)state;
    _cleanup_json_ json_t *f = filters_of("{\"until\":[\"1700000000\",\"1600000000\"]}");
    _cleanup_err_ struct berth_err *err = NULL;
    bool has;
    int64_t until;
    assert_int_equal(filters_until(f, time_now_ns(), &has, &until, &err), 0);
    assert_true(has);
    assert_true(until == 1600000000LL * 1000000000);
    _cleanup_json_ json_t *none = filters_of("{}");
    assert_int_equal(filters_until(none, time_now_ns(), &has, &until, &err), 0);
    assert_false(has);
}

static void test_bad_json(void **state)
{
    (void)state;
    json_t *f = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    assert_true(parse("filters=%7Bnope", &f, &err) < 0);
    assert_non_null(strstr(err->msg, "invalid filter"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_shapes_normalised),
        cmocka_unit_test(test_unknown_key_named_in_the_error),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_table_matches_spec),
        cmocka_unit_test(test_every_served_route_in_table),
        cmocka_unit_test(test_refused_keys_are_invalid),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_prune_filters),
        cmocka_unit_test(test_list_until),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
