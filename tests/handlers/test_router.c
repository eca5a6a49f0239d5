/* tests/handlers/test_router.c — the API router: Docker's /vX.YY prefix, version ordering,
 * literal routes, {param} and greedy {param*} segments, and what must not match. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/macros.h"
#include "handlers/router.h"

/* The handlers are only compared by address. */
static void h_ping(struct api_req *a)
{
    (void)a;
}
static void h_info(struct api_req *a)
{
    (void)a;
}
static void h_ctr_json(struct api_req *a)
{
    (void)a;
}
static void h_ctr_list(struct api_req *a)
{
    (void)a;
}
static void h_ctr_delete(struct api_req *a)
{
    (void)a;
}
static void h_img_json(struct api_req *a)
{
    (void)a;
}
static void h_img_tag(struct api_req *a)
{
    (void)a;
}
static void h_img_delete(struct api_req *a)
{
    (void)a;
}
static void h_exec_start(struct api_req *a)
{
    (void)a;
}
static void h_archive(struct api_req *a)
{
    (void)a;
}

static const struct route routes[] = {
    {"GET", "/_ping", h_ping, 0},
    {"GET", "/info", h_info, 0},
    {"GET", "/containers/json", h_ctr_list, 0},
    {"GET", "/containers/{id}/json", h_ctr_json, 0},
    {"DELETE", "/containers/{id}", h_ctr_delete, 0},
    {"GET", "/images/{name*}/json", h_img_json, 0},
    {"POST", "/images/{name*}/tag", h_img_tag, 0},
    {"DELETE", "/images/{name*}", h_img_delete, 0},
    {"POST", "/exec/{id}/start", h_exec_start, 0},
    {"GET", "/containers/{id}/archive/{path*}", h_archive, 0},
};

struct fixture {
    struct router *rt;
    char *params[ROUTER_MAX_PARAMS];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->rt = router_new(routes, ARRAY_SIZE(routes));
    *state = f;
    return 0;
}

static void free_params(struct fixture *f)
{
    for (size_t i = 0; i < ROUTER_MAX_PARAMS; i++) {
        free(f->params[i]);
        f->params[i] = NULL;
    }
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    free_params(f);
    router_free(f->rt);
    free(f);
    return 0;
}

static const struct route *match(struct fixture *f, const char *method, const char *path)
{
    free_params(f);
    return router_match(f->rt, method, path, f->params);
}

/* ---- version prefix ---- */

static void test_split_version(void **state)
{
    (void)state;
    char v[16];
    const char *rest;

    assert_true(router_split_version("/v1.50/info", v, sizeof(v), &rest));
    assert_string_equal(v, "1.50");
    assert_string_equal(rest, "/info");

    assert_true(router_split_version("/v1/x", v, sizeof(v), &rest));
    assert_string_equal(v, "1");
    assert_string_equal(rest, "/x");

    /* dockerd's prefix is /v{version:[0-9.]+}: any digits and dots. */
    assert_true(router_split_version("/v1.2.3/x", v, sizeof(v), &rest));
    assert_string_equal(v, "1.2.3");
    assert_string_equal(rest, "/x");

    assert_true(router_split_version("/v1.24/", v, sizeof(v), &rest));
    assert_string_equal(rest, "/");
}

static void test_split_no_version(void **state)
{
    (void)state;
    static const char *const paths[] = {"/version",  "/info",     "/v",
                                        "/v/info",   "/v1.50",    "/v1.x/info",
                                        "/vv1/info", "/v.1/info", "v1.50/info"};
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
        char v[16] = "junk";
        const char *rest = NULL;
        assert_false(router_split_version(paths[i], v, sizeof(v), &rest));
        assert_ptr_equal(rest, paths[i]); /* the whole path is the route */
        assert_string_equal(v, "");
    }
}

static void test_split_version_too_long(void **state)
{
    (void)state;
    char v[5];
    const char *rest;
    assert_true(router_split_version("/v1.24/x", v, sizeof(v), &rest));
    assert_false(router_split_version("/v1.2345/x", v, sizeof(v), &rest));
    assert_string_equal(rest, "/v1.2345/x");
}

static void test_version_cmp(void **state)
{
    (void)state;
    assert_true(router_version_cmp("1.9", "1.24") < 0);
    assert_true(router_version_cmp("1.24", "1.9") > 0);
    assert_int_equal(router_version_cmp("1.50", "1.50"), 0);
    assert_true(router_version_cmp("1.50", "1.51") < 0);
    assert_true(router_version_cmp("2.0", "1.99") > 0);
    assert_true(router_version_cmp("1", "1.0") == 0);
    assert_true(router_version_cmp("1.24", "1.24.1") < 0);
    assert_true(router_version_cmp("1.4", "1.40") < 0);
    assert_int_equal(router_version_cmp("", ""), 0);
}

/* The comparison must end on any input, not only on the digits and dots the prefix allows. */
static void test_version_cmp_junk(void **state)
{
    (void)state;
    assert_int_equal(router_version_cmp("1.x", "1.0"), 0);
    assert_true(router_version_cmp("1.-5", "1.2") < 0);
    assert_true(router_version_cmp("abc", "1") < 0);
}

/* ---- matching ---- */

static void test_literal(void **state)
{
    struct fixture *f = *state;
    assert_ptr_equal(match(f, "GET", "/_ping")->fn, h_ping);
    assert_ptr_equal(match(f, "GET", "/info")->fn, h_info);
    assert_null(f->params[0]);
    /* A literal wins over a later {id} route only by order: /containers/json comes first. */
    assert_ptr_equal(match(f, "GET", "/containers/json")->fn, h_ctr_list);
    assert_null(match(f, "GET", "/nothing"));
    assert_null(match(f, "GET", "/"));
    assert_null(match(f, "GET", "/_pin"));
    assert_null(match(f, "GET", "/_ping/x"));
}

static void test_param(void **state)
{
    struct fixture *f = *state;
    const struct route *r = match(f, "GET", "/containers/3f2a9c/json");
    assert_non_null(r);
    assert_ptr_equal(r->fn, h_ctr_json);
    assert_string_equal(f->params[0], "3f2a9c");
    assert_null(f->params[1]);

    r = match(f, "DELETE", "/containers/web-1");
    assert_ptr_equal(r->fn, h_ctr_delete);
    assert_string_equal(f->params[0], "web-1");

    r = match(f, "POST", "/exec/abc/start");
    assert_ptr_equal(r->fn, h_exec_start);
    assert_string_equal(f->params[0], "abc");
}

static void test_greedy(void **state)
{
    struct fixture *f = *state;
    const struct route *r = match(f, "GET", "/images/127.0.0.1:5000/ns/img/json");
    assert_non_null(r);
    assert_ptr_equal(r->fn, h_img_json);
    assert_string_equal(f->params[0], "127.0.0.1:5000/ns/img");

    r = match(f, "GET", "/images/alpine/json");
    assert_ptr_equal(r->fn, h_img_json);
    assert_string_equal(f->params[0], "alpine");

    r = match(f, "POST", "/images/docker.io/library/busybox:1.36/tag");
    assert_ptr_equal(r->fn, h_img_tag);
    assert_string_equal(f->params[0], "docker.io/library/busybox:1.36");

    /* A greedy last segment takes the rest of the path. */
    r = match(f, "DELETE", "/images/ghcr.io/owner/app:v1");
    assert_ptr_equal(r->fn, h_img_delete);
    assert_string_equal(f->params[0], "ghcr.io/owner/app:v1");

    /* An image literally named "json" still needs a name before /json. */
    r = match(f, "GET", "/images/json/json");
    assert_ptr_equal(r->fn, h_img_json);
    assert_string_equal(f->params[0], "json");
    assert_null(match(f, "GET", "/images/json"));
}

static void test_param_and_greedy(void **state)
{
    struct fixture *f = *state;
    const struct route *r = match(f, "GET", "/containers/web/archive/etc/nginx/nginx.conf");
    assert_non_null(r);
    assert_ptr_equal(r->fn, h_archive);
    assert_string_equal(f->params[0], "web");
    assert_string_equal(f->params[1], "etc/nginx/nginx.conf");
    assert_null(f->params[2]);
}

static void test_trailing_slash(void **state)
{
    struct fixture *f = *state;
    assert_null(match(f, "GET", "/info/"));
    assert_null(match(f, "GET", "/containers/abc/json/"));
    assert_null(match(f, "DELETE", "/containers/abc/"));
    assert_null(match(f, "GET", "/images/alpine/json/"));
    /* "/containers/{id}/archive/{path*}" took {id} before failing: no param may be left. */
    assert_null(match(f, "GET", "/containers/abc/json/x"));
    for (size_t i = 0; i < ROUTER_MAX_PARAMS; i++)
        assert_null(f->params[i]);
}

static void test_method_mismatch(void **state)
{
    struct fixture *f = *state;
    assert_null(match(f, "POST", "/info"));
    assert_null(match(f, "GET", "/containers/abc"));
    assert_null(match(f, "get", "/info"));
    assert_null(match(f, "PUT", "/images/alpine/json"));
    for (size_t i = 0; i < ROUTER_MAX_PARAMS; i++)
        assert_null(f->params[i]); /* nothing left behind by the routes that failed */
}

static void test_empty_segment(void **state)
{
    struct fixture *f = *state;
    assert_null(match(f, "GET", "/containers//json"));
    assert_null(match(f, "DELETE", "/containers/"));
    assert_null(match(f, "GET", "/images//json"));
    assert_null(match(f, "DELETE", "/images/"));
    assert_null(match(f, "POST", "/exec//start"));
    assert_null(match(f, "GET", "//info"));
}

/* A path with more segments than the router splits must not match by losing its tail. */
static void test_many_segments(void **state)
{
    struct fixture *f = *state;
    char path[1024] = "/images";
    for (int i = 0; i < 70; i++)
        strcat(path, "/a");
    char deep[1100];
    snprintf(deep, sizeof(deep), "%s/json", path);
    const struct route *r = match(f, "GET", deep);
    assert_non_null(r);
    assert_ptr_equal(r->fn, h_img_json);
    assert_int_equal(strlen(f->params[0]), 70 * 2 - 1);

    /* 62 name segments, then "json", then more: must not be cut to ".../json". */
    char tricky[1100] = "/images";
    for (int i = 0; i < 62; i++)
        strcat(tricky, "/a");
    strcat(tricky, "/json/b/c");
    assert_null(match(f, "GET", tricky));
}

static void test_no_routes(void **state)
{
    (void)state;
    struct router *rt = router_new(NULL, 0);
    char *params[ROUTER_MAX_PARAMS];
    assert_null(router_match(rt, "GET", "/info", params));
    router_free(rt);
    router_free(NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_version),
        cmocka_unit_test(test_split_no_version),
        cmocka_unit_test(test_split_version_too_long),
        cmocka_unit_test(test_version_cmp),
        cmocka_unit_test(test_version_cmp_junk),
        T(test_literal),
        T(test_param),
        T(test_greedy),
        T(test_param_and_greedy),
        T(test_trailing_slash),
        T(test_method_mismatch),
        T(test_empty_segment),
        T(test_many_segments),
        cmocka_unit_test(test_no_routes),
    };
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
