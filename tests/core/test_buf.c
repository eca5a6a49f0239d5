/* tests/core/test_buf.c — core/buf.c: the NUL past len that callers rely on when they steal
 * the bytes as a string (an empty buffer too), printf growth, consume and steal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"

static void test_empty_is_a_string(void **state)
{
    (void)state;
    /* dirty the chunk the buffer is likely to get, so a missing NUL shows without ASan */
    for (size_t size = 64; size <= 1024; size *= 2) {
        char *junk = malloc(size);
        memset(junk, 'Z', size);
        __asm__ volatile("" : : "r"(junk) : "memory"); /* keep the stores */
        free(junk);
    }
    struct buf b = {0};
    buf_reserve(&b, 0);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    size_t len = 99;
    char *s = buf_steal(&b, &len);
    assert_int_equal(len, 0);
    assert_string_equal(s, "");
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
    free(s);
    /* a bigger reservation on an empty buffer is "" as well */
    buf_reserve(&b, 100000);
    assert_string_equal(b.data, "");
    buf_free(&b);
}

static void test_append_printf(void **state)
{
    (void)state;
    struct buf b = {0};
    buf_append(&b, "ab", 2);
    buf_append(&b, "", 0);
    buf_puts(&b, "cd");
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "abcd");
    char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    buf_printf(&b, "[%s]%d", big, 42); /* longer than the spare room: formatted twice */
    assert_int_equal(b.len, 4 + 1 + 4999 + 1 + 2);
    assert_memory_equal(b.data + 4 + 1 + 4999, "]42", 4);
    buf_consume(&b, 2);
    assert_int_equal(b.len, 4 + 1 + 4999 + 1);
    assert_memory_equal(b.data, "cd[x", 4);
    buf_consume(&b, b.len + 10);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    buf_puts(&b, "again");
    buf_reset(&b);
    assert_string_equal(b.data, "");
    buf_free(&b);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_is_a_string),
        cmocka_unit_test(test_append_printf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
