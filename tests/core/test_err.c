/* tests/core/test_err.c — berth's error convention: negative returns even for errno 0,
 * strerror appended or not, context prepended on the way up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/err.h"

static int open_layer(const char *digest, struct berth_err **err)
{
    return berth_error(err, ENOENT, "open layer `%s`", digest);
}

static void test_error_with_errno(void **state)
{
    (void)state;
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(open_layer("sha256:ab", &err), -ENOENT - 1);
    assert_int_equal(err->status, ENOENT);
    assert_string_equal(err->msg, "open layer `sha256:ab`: No such file or directory");
    assert_int_equal(berth_err_code(err), -ENOENT - 1);
}

static void test_error_without_errno(void **state)
{
    (void)state;
    _cleanup_err_ struct berth_err *err = NULL;
    int r = berth_error(&err, 0, "nothing to say %d", 7);
    assert_int_equal(r, -1); /* negative even when errno is 0 */
    assert_int_equal(err->status, 0);
    assert_string_equal(err->msg, "nothing to say 7");
}

static void test_user_error(void **state)
{
    (void)state;
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(berth_user_error(&err, ENOENT, "No such container: %s", "web"), -ENOENT - 1);
    assert_string_equal(err->msg, "No such container: web"); /* exactly the words */
}

static void test_wrap(void **state)
{
    (void)state;
    _cleanup_err_ struct berth_err *err = NULL;
    open_layer("x", &err);
    assert_int_equal(berth_error_wrap(&err, "start container `%s`", "web"), -ENOENT - 1);
    assert_int_equal(berth_error_wrap(&err, "api"), -ENOENT - 1);
    assert_string_equal(err->msg,
                        "api: start container `web`: open layer `x`: No such file or directory");
    assert_int_equal(err->status, ENOENT);

    struct berth_err *none = NULL;
    assert_int_equal(berth_error_wrap(&none, "ctx"), -1);
    assert_null(none);
    assert_int_equal(berth_error_wrap(NULL, "ctx"), -1);
    assert_int_equal(berth_err_code(NULL), -1);
}

/* A second error replaces the first (the old one is freed: ASan checks), and NULL is fine. */
static void test_replace_and_null(void **state)
{
    (void)state;
    _cleanup_err_ struct berth_err *err = NULL;
    berth_error(&err, EIO, "first");
    berth_user_error(&err, EEXIST, "second");
    assert_int_equal(err->status, EEXIST);
    assert_string_equal(err->msg, "second");
    assert_int_equal(berth_error(NULL, EPERM, "nobody listens"), -EPERM - 1);
    assert_int_equal(berth_user_error(NULL, 0, "nobody"), -1);
    berth_err_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_with_errno), cmocka_unit_test(test_error_without_errno),
        cmocka_unit_test(test_user_error),       cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_replace_and_null),
    };
    return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
