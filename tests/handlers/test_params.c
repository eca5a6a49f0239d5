/* tests/handlers/test_params.c — handlers/params.c: every query parameter the spec defines for a
 * route berth serves (tests/data/api-params.txt, from tools/spec-fields) has exactly one row, no
 * row names a parameter the spec does not have, and a refused parameter is a 400 naming it only
 * when it is set. The integration suite 44-refused-fields asks through the docker CLI. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "core/xalloc.h"
#include "handlers/daemon.h"
#include "handlers/routes.h"
#include "handlers/params.h"

struct spec_param {
    char method[8], path[128], name[64];
};

/* "METHOD /path name" lines of the spec's query parameters. */
static struct spec_param *spec_params(size_t *n)
{
    const char *src = getenv("BERTH_SRC");
    _cleanup_free_ char *path = xasprintf("%s/tests/data/api-params.txt", src ? src : ".");
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("open %s: %s (run from the repository, or set BERTH_SRC)", path, strerror(errno));
    struct spec_param *out = NULL;
    char line[512];
    *n = 0;
    while (fgets(line, sizeof(line), f)) {
        if (*line == '#' || *line == '\n')
            continue;
        out = xrealloc(out, (*n + 1) * sizeof(*out));
        struct spec_param *p = &out[*n];
        if (sscanf(line, "%7s %127s %63s", p->method, p->path, p->name) == 3)
            (*n)++;
    }
    fclose(f);
    return out;
}

static const struct param_row *row_of(const char *method, const char *path, const char *name)
{
    const struct param_row *found = NULL;
    for (size_t i = 0; i < params_table_len; i++) {
        const struct param_row *r = &params_table[i];
        if (!strcmp(r->method, method) && !strcmp(r->path, path) && !strcmp(r->name, name)) {
            if (found)
                fail_msg("two rows for %s %s %s", method, path, name);
            found = r;
        }
    }
    return found;
}

static void test_table_matches_spec(void **state)
{
    (void)state;
    size_t n, nroutes, missing = 0, extra = 0;
    struct spec_param *spec = spec_params(&n);
    struct route *routes = api_routes_all(&nroutes);
    assert_true(n > 100);
    assert_true(nroutes > 20);
    /* each parameter of each route berth serves has a row */
    for (size_t i = 0; i < n; i++) {
        bool served = false;
        for (size_t k = 0; k < nroutes && !served; k++)
            served = params_route_is(&routes[k], spec[i].method, spec[i].path);
        if (served && !row_of(spec[i].method, spec[i].path, spec[i].name)) {
            fprintf(stderr, "query parameter in no state (no row in handlers/params.c): %s %s %s\n",
                    spec[i].method, spec[i].path, spec[i].name);
            missing++;
        }
    }
    /* each row is a parameter of the spec, of a route berth serves, and says why if a no-op */
    for (size_t r = 0; r < params_table_len; r++) {
        const struct param_row *row = &params_table[r];
        bool in_spec = false, served = false;
        for (size_t i = 0; i < n && !in_spec; i++)
            in_spec = !strcmp(spec[i].method, row->method) && !strcmp(spec[i].path, row->path) &&
                      !strcmp(spec[i].name, row->name);
        for (size_t k = 0; k < nroutes && !served; k++)
            served = params_route_is(&routes[k], row->method, row->path);
        if (!in_spec || !served || (row->state == FIELD_NOOP && !row->note) ||
            row->state == FIELD_WARNED) {
            fprintf(stderr, "bad row: %s %s %s (in the spec: %d, served: %d)\n", row->method,
                    row->path, row->name, in_spec, served);
            extra++;
        }
    }
    free(routes);
    free(spec);
    assert_int_equal(missing, 0);
    assert_int_equal(extra, 0);
}

static void test_route_is(void **state)
{
    (void)state;
    struct route img = {"GET", "/images/{name*}/json", NULL, 0};
    struct route ctr = {"POST", "/containers/{id}/stop", NULL, 0};
    assert_true(params_route_is(&img, "GET", "/images/{name}/json"));
    assert_false(params_route_is(&img, "POST", "/images/{name}/json"));
    assert_false(params_route_is(&img, "GET", "/images/{name}/jso"));
    assert_false(params_route_is(&img, "GET", "/images/{name}/json/x"));
    assert_true(params_route_is(&ctr, "POST", "/containers/{id}/stop"));
    assert_false(params_route_is(&ctr, "POST", "/containers/{id}/restart"));
}

/* params_check for route r and the raw query: the message, or NULL. */
static char *check(const struct route *r, const char *query)
{
    struct http_msg m = {.query = (char *)query};
    _cleanup_err_ struct berth_err *err = NULL;
    if (params_check(r, &m, &err) == 0)
        return NULL;
    assert_int_equal(err->status, EINVAL);
    return xstrdup(err->msg);
}

static void test_check(void **state)
{
    (void)state;
    struct route load = {"POST", "/images/load", NULL, 0};
    struct route images = {"GET", "/images/json", NULL, 0};
    struct route rmi = {"DELETE", "/images/{name*}", NULL, 0};
    struct route inspect = {"GET", "/images/{name*}/json", NULL, 0};
    /* what the CLI sends by default passes; so do unset values and unknown parameters */
    assert_null(check(&load, "quiet=1"));
    assert_null(check(&load, "quiet=0&platform="));
    assert_null(check(&images, "all=1"));
    assert_null(check(&images, "shared-size=&all=1"));
    assert_null(check(&rmi, "force=1&noprune=0&platforms="));
    assert_null(check(&rmi, "whatever=1"));
    assert_null(check(&inspect, ""));
    /* set: refused by name */
    _cleanup_free_ char *a = check(&load, "quiet=1&platform=linux%2Famd64");
    assert_string_equal(a,
                        "query parameter platform (docker load --platform) is not supported yet");
    _cleanup_free_ char *b = check(&images, "shared-size=1&all=1");
    assert_non_null(strstr(b, "query parameter shared-size"));
    _cleanup_free_ char *c = check(&rmi, "platforms=linux%2Farm64");
    assert_non_null(strstr(c, "query parameter platforms"));
    _cleanup_free_ char *d = check(&inspect, "manifests=true");
    assert_string_equal(d, "query parameter manifests is not supported yet");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_spec),
        cmocka_unit_test(test_route_is),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
