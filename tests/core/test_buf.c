/* tests/core/test_buf.c — core/buf.c: appends, printf growth, consume, steal, and the NUL past
 * len that callers rely on when they steal the bytes as a string (an empty buffer too). */
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

static void test_append_and_grow(void **state)
{
    (void)state;
    struct buf b = {0};
    buf_append(&b, "", 0);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    for (int i = 0; i < 1000; i++)
        buf_append(&b, "0123456789", 10);
    assert_int_equal(b.len, 10000);
    assert_true(b.cap > b.len);
    assert_int_equal(b.data[b.len], '\0');
    assert_memory_equal(b.data + 9990, "0123456789", 10);
    buf_puts(&b, "!");
    assert_int_equal(b.len, 10001);
    buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    buf_free(&b); /* twice is fine */
}

static void test_binary(void **state)
{
    (void)state;
    struct buf b = {0};
    buf_append(&b, "a\0b", 3);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "a\0b", 3);
    buf_free(&b);
}

static void test_printf(void **state)
{
    (void)state;
    struct buf b = {0};
    buf_printf(&b, "%s=%d;", "a", 1);
    buf_printf(&b, "%s", ""); /* nothing appended */
    char big[600];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    buf_printf(&b, "%s|%zx", big, (size_t)255);
    assert_int_equal(b.len, 4 + 599 + 3);
    assert_memory_equal(b.data, "a=1;", 4);
    assert_string_equal(b.data + 4 + 599, "|ff");
    buf_free(&b);
}

/* The shortcuts for a format with no conversion and for a lone "%s" print what printf would. */
static void vprintf_to(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vprintf_to(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

static void test_printf_shortcuts(void **state)
{
    (void)state;
    struct buf b = {0};
    buf_printf(&b, "no-cache");
    buf_printf(&b, "%s", ",x");
    buf_printf(&b, "%s%s", ",", "y");
    buf_printf(&b, "%%s");
    vprintf_to(&b, "%s", ",z");
    vprintf_to(&b, "[%d]", 7);
    assert_string_equal(b.data, "no-cache,x,y%s,z[7]");
    assert_int_equal(b.len, strlen("no-cache,x,y%s,z[7]"));
    buf_free(&b);
}

static void test_consume(void **state)
{
    (void)state;
    struct buf b = {0};
    buf_consume(&b, 5); /* empty: nothing to do */
    buf_puts(&b, "hello world");
    buf_consume(&b, 6);
    assert_string_equal(b.data, "world");
    assert_int_equal(b.len, 5);
    buf_consume(&b, 100);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    buf_free(&b);
}

static void test_steal_and_reset(void **state)
{
    (void)state;
    struct buf b = {0};
    buf_puts(&b, "abc");
    size_t len = 0;
    char *p = buf_steal(&b, &len);
    assert_int_equal(len, 3);
    assert_string_equal(p, "abc");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    free(p);
    assert_null(buf_steal(&b, NULL));

    buf_puts(&b, "again");
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    buf_puts(&b, "x");
    assert_string_equal(b.data, "x");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_is_a_string),
        cmocka_unit_test(test_append_printf),
        cmocka_unit_test(test_append_and_grow),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_printf_shortcuts),
        cmocka_unit_test(test_consume),
        cmocka_unit_test(test_steal_and_reset),
    };
    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
