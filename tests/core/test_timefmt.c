/* tests/core/test_timefmt.c — core/timefmt.c: RFC 3339 parsing (fractions, offsets, the
 * nanosecond range) and formatting as Go's time.RFC3339Nano does (UTC, trailing zeros of the
 * fraction trimmed, none at all for whole seconds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/timefmt.h"

#define NS    1000000000LL
#define T2026 1795438582LL /* 2026-11-23T12:56:22Z */

struct parse_case {
    const char *in;
    int64_t ns;
};

static const struct parse_case parse_cases[] = {
    {"1970-01-01T00:00:00Z", 0},
    {"1970-01-01T00:00:00.000000001Z", 1},
    {"2026-11-23T12:56:22Z", T2026 *NS},
    {"2026-11-23T12:56:22z", T2026 *NS},
    {"2026-11-23T12:56:22.266Z", T2026 *NS + 266000000},
    {"2026-11-23T12:56:22.5Z", T2026 *NS + 500000000},
    {"2026-11-23T12:56:22.123456789Z", T2026 *NS + 123456789},
    /* Go reads at most nine digits of fraction and drops the rest */
    {"2026-11-23T12:56:22.1234567899Z", T2026 *NS + 123456789},
    {"2026-11-23T14:56:22.266+02:00", T2026 *NS + 266000000},
    {"2026-11-23T07:26:22.266-05:30", T2026 *NS + 266000000},
    {"2026-11-24T00:56:22+12:00", T2026 *NS},
    {"2026-11-23T12:56:22+00:00", T2026 *NS},
    {"2026-11-23T12:56:22-00:00", T2026 *NS},
    {"2000-02-29T00:00:00Z", 951782400LL * NS},
    {"1969-12-31T23:59:59.5Z", -500000000},
    {"1969-12-31T23:59:59Z", -NS},
    {"1970-01-01T01:00:00+01:00", 0},
    /* the edges of int64 nanoseconds */
    {"2262-04-11T23:47:16.854775807Z", INT64_MAX},
    {"1677-09-21T00:12:44Z", -9223372036LL * NS},
};

static void test_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        int64_t got = time_parse_rfc3339(parse_cases[i].in);
        if (got != parse_cases[i].ns)
            fail_msg("%s: %lld, want %lld", parse_cases[i].in, (long long)got,
                     (long long)parse_cases[i].ns);
    }
}

static void test_parse_invalid(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "now",
        "2026-11-23",
        "2026-11-23T12:56",
        "2026-11-23T12:56:22",      /* no zone */
        "2026-11-23 12:56:22Z",     /* a space where T goes */
        "2026-11-23T12:56:22+0200", /* the offset needs its colon */
        "2026-11-23T12:56:22+02",
        "2026-11-23T12:56:22.5",
        "2026-11-23T12:56:22 Z",
    };
    assert_int_equal(time_parse_rfc3339(NULL), -1);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (time_parse_rfc3339(bad[i]) != -1)
            fail_msg("\"%s\" parsed as %lld", bad[i], (long long)time_parse_rfc3339(bad[i]));
}

/* Go's zero time and other instants int64 nanoseconds cannot hold are "does not parse", with
 * no overflow on the way (UBSan watches the asan build). */
static void test_parse_out_of_range(void **state)
{
    (void)state;
    const char *far[] = {TIME_ZERO,
                         "0001-01-01T00:00:00.5Z",
                         "1600-01-01T00:00:00Z",
                         "2262-04-11T23:47:16.854775808Z",
                         "2262-04-11T23:47:17Z",
                         "9999-12-31T23:59:59.999999999Z"};
    for (size_t i = 0; i < sizeof(far) / sizeof(far[0]); i++)
        if (time_parse_rfc3339(far[i]) != -1)
            fail_msg("%s: %lld, want -1", far[i], (long long)time_parse_rfc3339(far[i]));
}

struct format_case {
    int64_t ns;
    const char *out;
};

static const struct format_case format_cases[] = {
    {0, "1970-01-01T00:00:00Z"},
    {1, "1970-01-01T00:00:00.000000001Z"},
    {100, "1970-01-01T00:00:00.0000001Z"},
    {T2026 * NS, "2026-11-23T12:56:22Z"},
    {T2026 * NS + 266000000, "2026-11-23T12:56:22.266Z"},
    {T2026 * NS + 500000000, "2026-11-23T12:56:22.5Z"},
    {T2026 * NS + 120000000, "2026-11-23T12:56:22.12Z"},
    {T2026 * NS + 123456789, "2026-11-23T12:56:22.123456789Z"},
    {T2026 * NS + 100000010, "2026-11-23T12:56:22.10000001Z"},
    {-1, "1969-12-31T23:59:59.999999999Z"},
    {-500000000, "1969-12-31T23:59:59.5Z"},
    {-NS, "1969-12-31T23:59:59Z"},
    {951782400LL * NS, "2000-02-29T00:00:00Z"},
    {INT64_MAX, "2262-04-11T23:47:16.854775807Z"},
};

static void test_format(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]); i++) {
        char *s = time_format_rfc3339(format_cases[i].ns);
        if (strcmp(s, format_cases[i].out) != 0)
            fail_msg("%lld: \"%s\", want \"%s\"", (long long)format_cases[i].ns, s,
                     format_cases[i].out);
        free(s);
    }
}

static void test_round_trips(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]); i++) {
        char *s = time_format_rfc3339(format_cases[i].ns);
        assert_int_equal(time_parse_rfc3339(s), format_cases[i].ns);
        free(s);
    }
    /* strings come back canonical: UTC, upper-case Z, fraction trimmed */
    static const char *const canon[][2] = {
        {"2026-11-23T14:56:22.266+02:00", "2026-11-23T12:56:22.266Z"},
        {"2026-11-23T12:56:22.500000000Z", "2026-11-23T12:56:22.5Z"},
        {"2026-11-23T12:56:22.000Z", "2026-11-23T12:56:22Z"},
        {"2026-11-23T12:56:22z", "2026-11-23T12:56:22Z"},
        {"1970-01-01T01:00:00+01:00", "1970-01-01T00:00:00Z"},
    };
    for (size_t i = 0; i < sizeof(canon) / sizeof(canon[0]); i++) {
        char *s = time_format_rfc3339(time_parse_rfc3339(canon[i][0]));
        if (strcmp(s, canon[i][1]) != 0)
            fail_msg("%s came back as %s, want %s", canon[i][0], s, canon[i][1]);
        free(s);
    }
    int64_t now = time_now_ns();
    assert_true(now > 1700000000LL * NS); /* after November 2023 */
    char *s = time_format_rfc3339(now);
    assert_int_equal(time_parse_rfc3339(s), now);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_parse_out_of_range),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
