/* tests/core/test_json.c — request bodies with dockerd's "invalid JSON" wording, replies that
 * end in '\n' as Go's json.Encoder writes them, and typed lookups with defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/macros.h"

static const char eof_msg[] = "invalid JSON: got EOF while reading request body";

static void test_parse_empty(void **state)
{
    (void)state;
    static const char *const bodies[] = {"", " ", "\r\n\t "};
    for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
        _cleanup_err_ struct berth_err *err = NULL;
        json_t *j = NULL;
        int r = json_parse_body(bodies[i], strlen(bodies[i]), false, &j, &err);
        assert_int_equal(r, -EINVAL - 1);
        assert_null(j);
        assert_non_null(err);
        assert_int_equal(err->status, EINVAL);
        assert_string_equal(err->msg, eof_msg);
    }
    /* A NULL body with length 0, as a request without a body has. */
    _cleanup_err_ struct berth_err *err = NULL;
    json_t *j = NULL;
    assert_true(json_parse_body(NULL, 0, false, &j, &err) < 0);
    assert_string_equal(err->msg, eof_msg);
}

static void test_parse_empty_allowed(void **state)
{
    (void)state;
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_json_ json_t *j = NULL;
    assert_int_equal(json_parse_body(" \n", 2, true, &j, &err), 0);
    assert_null(err);
    assert_true(json_is_object(j));
    assert_int_equal(json_object_size(j), 0);

    _cleanup_json_ json_t *j2 = NULL;
    assert_int_equal(json_parse_body(NULL, 0, true, &j2, &err), 0);
    assert_true(json_is_object(j2));
}

static void test_parse_malformed(void **state)
{
    (void)state;
    static const char *const bodies[] = {"{", "{\"a\":}", "nope", "{\"a\":1,}", "\"str\""};
    for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
        _cleanup_err_ struct berth_err *err = NULL;
        json_t *j = NULL;
        int r = json_parse_body(bodies[i], strlen(bodies[i]), true, &j, &err);
        assert_true(r < 0);
        assert_null(j);
        assert_int_equal(err->status, EINVAL);
        assert_true(strncmp(err->msg, "invalid JSON: ", 14) == 0);
        assert_true(strlen(err->msg) > 14); /* says what was wrong */
    }
}

static void test_parse_valid(void **state)
{
    (void)state;
    static const char body[] = "  {\"Image\":\"alpine\",\"Tty\":true,\"Cmd\":[\"sh\"]}\n";
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_json_ json_t *j = NULL;
    assert_int_equal(json_parse_body(body, strlen(body), false, &j, &err), 0);
    assert_null(err);
    assert_string_equal(json_get_str(j, "Image"), "alpine");
    assert_true(json_get_bool(j, "Tty", false));
    assert_int_equal(json_array_size(json_object_get(j, "Cmd")), 1);

    /* Only len bytes count: what follows in memory is not part of the body. */
    _cleanup_json_ json_t *j2 = NULL;
    assert_int_equal(json_parse_body("{\"a\":1}garbage", 7, false, &j2, &err), 0);
    assert_int_equal(json_get_int(j2, "a", 0), 1);
}

static void test_dump_line(void **state)
{
    (void)state;
    _cleanup_json_ json_t *j = json_pack("{sssi}", "Id", "abc", "Warnings", 0);
    size_t len = 0;
    _cleanup_free_ char *s = json_dump_line(j, &len);
    assert_int_equal(len, strlen(s));
    assert_true(len > 1);
    assert_int_equal(s[len - 1], '\n');
    assert_null(strchr(s, ' ')); /* compact, as Go writes it */
    assert_null(memchr(s, '\n', len - 1));

    /* Parsing it back gives the same value. */
    _cleanup_json_ json_t *back = json_loads(s, 0, NULL);
    assert_true(json_equal(j, back));

    _cleanup_json_ json_t *str = json_string("OK");
    _cleanup_free_ char *s2 = json_dump_line(str, NULL);
    assert_string_equal(s2, "\"OK\"\n");

    _cleanup_json_ json_t *arr = json_array();
    _cleanup_free_ char *s3 = json_dump_line(arr, &len);
    assert_string_equal(s3, "[]\n");
    assert_int_equal(len, 3);
}

static void test_get_str(void **state)
{
    (void)state;
    _cleanup_json_ json_t *j =
        json_pack("{sssnsisbs{}}", "s", "v", "null", "int", 3, "bool", 1, "obj");
    assert_string_equal(json_get_str(j, "s"), "v");
    assert_null(json_get_str(j, "null"));
    assert_null(json_get_str(j, "int"));
    assert_null(json_get_str(j, "bool"));
    assert_null(json_get_str(j, "obj"));
    assert_null(json_get_str(j, "absent"));
    assert_null(json_get_str(NULL, "s"));
}

static void test_get_bool(void **state)
{
    (void)state;
    _cleanup_json_ json_t *j =
        json_pack("{sbsbsnsiss}", "t", 1, "f", 0, "null", "one", 1, "s", "true");
    assert_true(json_get_bool(j, "t", false));
    assert_false(json_get_bool(j, "f", true));
    assert_true(json_get_bool(j, "null", true));
    assert_false(json_get_bool(j, "null", false));
    assert_true(json_get_bool(j, "one", true)); /* a number is not a bool: the default */
    assert_false(json_get_bool(j, "one", false));
    assert_false(json_get_bool(j, "s", false));
    assert_true(json_get_bool(j, "absent", true));
    assert_true(json_get_bool(NULL, "t", true));
}

static void test_get_int(void **state)
{
    (void)state;
    _cleanup_json_ json_t *j = json_pack("{sIsfsssnsb}", "big", (json_int_t)5000000000LL, "real",
                                         2.9, "s", "7", "null", "bool", 1);
    assert_int_equal(json_get_int(j, "big", 0), 5000000000LL);
    assert_int_equal(json_get_int(j, "real", 0), 2); /* truncated, as Go's int conversion */
    assert_int_equal(json_get_int(j, "s", -1), -1);
    assert_int_equal(json_get_int(j, "null", 42), 42);
    assert_int_equal(json_get_int(j, "bool", 42), 42);
    assert_int_equal(json_get_int(j, "absent", -7), -7);
}

static void test_set_str(void **state)
{
    (void)state;
    _cleanup_json_ json_t *j = json_object();
    json_set_str(j, "a", "x");
    json_set_str(j, "b", NULL);
    assert_string_equal(json_get_str(j, "a"), "x");
    assert_true(json_is_null(json_object_get(j, "b")));
    json_set_str(j, "a", NULL); /* replaces */
    assert_true(json_is_null(json_object_get(j, "a")));
    assert_int_equal(json_object_size(j), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_empty),     cmocka_unit_test(test_parse_empty_allowed),
        cmocka_unit_test(test_parse_malformed), cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_dump_line),       cmocka_unit_test(test_get_str),
        cmocka_unit_test(test_get_bool),        cmocka_unit_test(test_get_int),
        cmocka_unit_test(test_set_str),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
