/* tests/handlers/test_filters.c — Docker's filters query: both JSON shapes normalised, and
 * dockerd's words for bad JSON and for a key the endpoint does not know (run under ASan by
 * `make asan`: the words once named a freed key). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "handlers/filters.h"

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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
