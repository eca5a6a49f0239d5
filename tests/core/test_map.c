/* tests/core/test_map.c — core/map.c: put/get/replace/delete, growth, tombstone reuse (a map
 * with steady churn must not grow without bound), iteration with deletion, copied keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/map.h"

#define V(n) ((void *)(uintptr_t)(n))

static void test_empty(void **state)
{
    (void)state;
    struct map m = {0};
    assert_null(map_get(&m, "x"));
    assert_false(map_has(&m, "x"));
    assert_null(map_del(&m, "x"));
    size_t i = 0;
    const char *k;
    assert_false(map_next(&m, &i, &k, NULL));
    map_free(&m);
    map_free(&m); /* a freed map is an empty map again */
}

static void test_put_get_replace_del(void **state)
{
    (void)state;
    struct map m = {0};
    assert_null(map_put(&m, "a", V(1)));
    assert_null(map_put(&m, "b", V(2)));
    assert_null(map_put(&m, "", V(3))); /* the empty string is a key like any other */
    assert_int_equal(m.len, 3);
    assert_ptr_equal(map_get(&m, "a"), V(1));
    assert_ptr_equal(map_get(&m, "b"), V(2));
    assert_ptr_equal(map_get(&m, ""), V(3));
    assert_ptr_equal(map_put(&m, "a", V(10)), V(1)); /* replace returns the old value */
    assert_int_equal(m.len, 3);
    assert_ptr_equal(map_get(&m, "a"), V(10));
    assert_ptr_equal(map_del(&m, "a"), V(10));
    assert_false(map_has(&m, "a"));
    assert_null(map_del(&m, "a"));
    assert_int_equal(m.len, 2);
    /* a NULL value is stored, and map_has tells it from absence */
    assert_null(map_put(&m, "nul", NULL));
    assert_true(map_has(&m, "nul"));
    assert_null(map_get(&m, "nul"));
    map_free(&m);
}

static void test_keys_are_copied(void **state)
{
    (void)state;
    struct map m = {0};
    char key[] = "mutable";
    map_put(&m, key, V(7));
    key[0] = 'M';
    assert_ptr_equal(map_get(&m, "mutable"), V(7));
    assert_false(map_has(&m, "Mutable"));
    map_free(&m);
}

static void test_many(void **state)
{
    (void)state;
    struct map m = {0};
    char k[32];
    for (uintptr_t i = 0; i < 20000; i++) {
        snprintf(k, sizeof(k), "key-%lu", (unsigned long)i);
        assert_null(map_put(&m, k, V(i + 1)));
    }
    assert_int_equal(m.len, 20000);
    assert_true(m.cap >= 20000 * 4 / 3);
    assert_int_equal(m.cap & (m.cap - 1), 0); /* a power of two */
    for (uintptr_t i = 0; i < 20000; i += 2) {
        snprintf(k, sizeof(k), "key-%lu", (unsigned long)i);
        assert_ptr_equal(map_del(&m, k), V(i + 1));
    }
    for (uintptr_t i = 0; i < 20000; i++) {
        snprintf(k, sizeof(k), "key-%lu", (unsigned long)i);
        if (i % 2)
            assert_ptr_equal(map_get(&m, k), V(i + 1));
        else
            assert_false(map_has(&m, k));
    }
    assert_int_equal(m.len, 10000);
    map_free(&m);
    assert_int_equal(m.cap, 0);
    assert_null(m.slots);
}

/* Tombstones count towards the load, so a map whose live set stays small while keys come and
 * go (containers by ID) rehashes in place instead of doubling forever or filling up. */
static void test_churn_stays_small(void **state)
{
    (void)state;
    struct map m = {0};
    char k[32];
    for (unsigned long i = 0; i < 200000; i++) {
        snprintf(k, sizeof(k), "c-%lu", i);
        map_put(&m, k, V(i + 1));
        if (i >= 8) {
            snprintf(k, sizeof(k), "c-%lu", i - 8);
            assert_ptr_equal(map_del(&m, k), V(i - 7));
        }
    }
    assert_int_equal(m.len, 8);
    assert_true(m.cap <= 64);
    assert_true(m.used < m.cap);
    for (unsigned long i = 200000 - 8; i < 200000; i++) {
        snprintf(k, sizeof(k), "c-%lu", i);
        assert_ptr_equal(map_get(&m, k), V(i + 1));
    }
    map_free(&m);
}

/* A key deleted and put again reuses its tombstone; a key behind a tombstone stays reachable. */
static void test_tombstone_probe(void **state)
{
    (void)state;
    struct map m = {0};
    char k[16];
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof(k), "t%d", i);
        map_put(&m, k, V(i + 1));
    }
    size_t used = m.used;
    for (int i = 0; i < 10; i += 3) {
        snprintf(k, sizeof(k), "t%d", i);
        map_del(&m, k);
    }
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof(k), "t%d", i);
        assert_int_equal(map_has(&m, k), i % 3 != 0);
    }
    for (int i = 0; i < 10; i += 3) {
        snprintf(k, sizeof(k), "t%d", i);
        assert_null(map_put(&m, k, V(100 + i)));
    }
    assert_int_equal(m.len, 10);
    assert_true(m.used <= used + 4);
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof(k), "t%d", i);
        assert_ptr_equal(map_get(&m, k), i % 3 ? V(i + 1) : V(100 + i));
    }
    map_free(&m);
}

static void test_move(void **state)
{
    (void)state;
    struct map from = {0}, into = {0};
    int a = 1, b = 2, c = 3;
    map_put(&from, "a", &a);
    map_put(&from, "b", &b);
    map_put(&into, "b", &c);
    map_move(&from, &into);
    assert_int_equal(from.len, 0);
    assert_null(map_get(&from, "a"));
    assert_int_equal(into.len, 2);
    assert_ptr_equal(map_get(&into, "a"), &a);
    assert_ptr_equal(map_get(&into, "b"), &b); /* replaced */
    map_move(&from, &into);                    /* an empty one moves nothing */
    assert_int_equal(into.len, 2);
    map_free(&into);
}

static void test_iterate(void **state)
{
    (void)state;
    struct map m = {0};
    char k[16];
    for (uintptr_t i = 0; i < 100; i++) {
        snprintf(k, sizeof(k), "i%lu", (unsigned long)i);
        map_put(&m, k, V(i));
    }
    unsigned char seen[100] = {0};
    const char *key;
    void *value;
    size_t n = 0;
    for (size_t i = 0; map_next(&m, &i, &key, &value);) {
        uintptr_t v = (uintptr_t)value;
        assert_true(v < 100);
        snprintf(k, sizeof(k), "i%lu", (unsigned long)v);
        assert_string_equal(key, k);
        seen[v]++;
        n++;
        if (v % 2) /* removing the current entry while iterating is allowed */
            assert_ptr_equal(map_del(&m, key), value);
    }
    assert_int_equal(n, 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(m.len, 50);
    n = 0;
    for (size_t i = 0; map_next(&m, &i, NULL, &value);) {
        assert_int_equal((uintptr_t)value % 2, 0);
        n++;
    }
    assert_int_equal(n, 50);
    map_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_put_get_replace_del),
        cmocka_unit_test(test_keys_are_copied),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_churn_stays_small),
        cmocka_unit_test(test_tombstone_probe),
        cmocka_unit_test(test_iterate),
        cmocka_unit_test(test_move),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
