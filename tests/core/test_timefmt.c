/* tests/core/test_timefmt.c — core/timefmt.c: RFC 3339 parsing (fractions, offsets, the
 * nanosecond range) and formatting as Go's time.RFC3339Nano does (UTC, trailing zeros of the
 * fraction trimmed, none at all for whole seconds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/macros.h"
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
    for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
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
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
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
    for (size_t i = 0; i < ARRAY_SIZE(far); i++)
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
    for (size_t i = 0; i < ARRAY_SIZE(format_cases); i++) {
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
    for (size_t i = 0; i < ARRAY_SIZE(format_cases); i++) {
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
    for (size_t i = 0; i < ARRAY_SIZE(canon); i++) {
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

/* ---- Go durations (time.ParseDuration) ---- */

struct duration_case {
    const char *in;
    int64_t ns;
};

static const struct duration_case duration_cases[] = {
    {"0", 0},
    {"-0", 0},
    {"+0", 0},
    {"0s", 0},
    {"1h", 3600 * NS},
    {"10m", 600 * NS},
    {"1h30m", 5400 * NS},
    {"1.5h", 5400 * NS},
    {"300ms", 300000000},
    {"-2h45m", -9900 * NS},
    {"+5s", 5 * NS},
    {"1h1m1s1ms1us1ns", 3661001001001},
    {"1\xc2\xb5s", 1000}, /* µ, the micro sign */
    {"1\xce\xbcs", 1000}, /* μ, Greek mu */
    {".5s", 500000000},
    {"1.s", NS},
    {"0.1ns", 0},
    {"1.0000000001s", NS},
    {"100h", 360000 * NS},
    {"2562047h47m16.854775807s", INT64_MAX},
    {"-2562047h47m16.854775808s", INT64_MIN},
    {"9223372036854775807ns", INT64_MAX},
};

static void test_duration(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(duration_cases); i++) {
        int64_t got = 42;
        if (time_parse_duration(duration_cases[i].in, &got) != 0 || got != duration_cases[i].ns)
            fail_msg("%s: %lld, want %lld", duration_cases[i].in, (long long)got,
                     (long long)duration_cases[i].ns);
    }
}

static void test_duration_invalid(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "-",
                         "+",
                         "1",
                         "10",
                         "h",
                         ".h",
                         ".",
                         "1hm",
                         "1d",
                         "1.5",
                         "1 h",
                         " 1h",
                         "1h ",
                         "h1",
                         "1h-1m",
                         "3000000h",
                         "9223372036854775808ns",
                         "9223372036854775807ns1ns",
                         "-9223372036854775809ns"};
    int64_t ns;
    assert_int_equal(time_parse_duration(NULL, &ns), -1);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        if (time_parse_duration(bad[i], &ns) != -1)
            fail_msg("\"%s\" parsed as %lld", bad[i], (long long)ns);
}

/* ---- dockerd's timestamps (timestamp.Parse) ---- */

#define NOW 1700000000LL /* 2023-11-14T22:13:20Z */
#define DAY 86400LL

struct stamp_case {
    const char *in;
    int64_t ns;
};

/* With TZ=UTC-2: the local zone is two hours east of UTC. */
static const struct stamp_case stamp_cases[] = {
    /* durations count back from now */
    {"10m", (NOW - 600) * NS},
    {"1h30m", (NOW - 5400) * NS},
    {"1.5h", (NOW - 5400) * NS},
    {"300ms", NOW *NS - 300000000},
    {"-1h", (NOW + 3600) * NS},
    {"0s", NOW *NS},
    /* "0" alone is Unix time 0, not a zero duration */
    {"0", 0},
    /* Unix seconds, with up to 20 digits of fraction, nine significant */
    {"1700000000", NOW *NS},
    {"+1700000000", NOW *NS},
    {"1700000000.5", NOW *NS + 500000000},
    {"1700000000.", NOW *NS},
    {"1700000000.000000001", NOW *NS + 1},
    {"1700000000.12345678912345678912", NOW *NS + 123456789},
    /* RFC 3339 with a zone */
    {"2023-11-14T22:13:20Z", NOW *NS},
    {"2023-11-14T22:13:20.5Z", NOW *NS + 500000000},
    {"2023-11-14T22:13:20.123456789Z", NOW *NS + 123456789},
    {"2023-11-15T00:13:20+02:00", NOW *NS},
    {"2023-11-14T17:13:20-05:00", NOW *NS},
    {"2023-11-14T17:13:20.25-05:00", NOW *NS + 250000000},
    {"2023-11-14T22:13Z", (NOW - 20) * NS},
    {"2023-11-14T22Z", (NOW - 800) * NS},
    {"2023-11-14T22+01:00", (NOW - 800 - 3600) * NS},
    {"2023-11-14T1:13:20Z", (NOW - 21 * 3600) * NS}, /* Go takes a one-digit hour */
    {"2023-11-14Z", (NOW - 80000) * NS},
    {"2023-11-14+02:00", (NOW - 80000 - 7200) * NS},
    /* without a zone: the local one */
    {"2023-11-14T22:13:20", (NOW - 7200) * NS},
    {"2023-11-14T22:13:20.5", (NOW - 7200) * NS + 500000000},
    {"2023-11-14T22:13", (NOW - 7200 - 20) * NS},
    {"2023-11-14T22", (NOW - 7200 - 800) * NS},
    {"2023-11-14", (NOW - 80000 - 7200) * NS},
    {"2024-02-29", (19782 * DAY - 7200) * NS},
    {"1970-01-01Z", 0},
    /* beyond int64 nanoseconds: saturated */
    {"9999-12-31", INT64_MAX},
    {"0000-01-01Z", INT64_MIN},
    {"99999999999", INT64_MAX},
};

static void set_zone(void)
{
    setenv("TZ", "UTC-2", 1);
    tzset();
}

static void test_timestamp(void **state)
{
    (void)state;
    set_zone();
    for (size_t i = 0; i < ARRAY_SIZE(stamp_cases); i++) {
        int64_t got = 42;
        char *why = NULL;
        if (time_parse_timestamp(stamp_cases[i].in, NOW * NS, &got, &why) != 0 ||
            got != stamp_cases[i].ns)
            fail_msg("%s: %lld, want %lld (%s)", stamp_cases[i].in, (long long)got,
                     (long long)stamp_cases[i].ns, why ? why : "parsed");
        assert_null(why);
    }
}

/* What does not parse, with Go's and dockerd's words. */
static void test_timestamp_invalid(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"", "failed to parse value as time or duration: value is empty"},
        {"  ", "failed to parse value as time or duration: value is empty"},
        {"abc",
         "failed to parse value as time or duration: invalid seconds \"abc\": invalid syntax"},
        {"1h30", "failed to parse value as time or duration: invalid seconds \"1h30\": invalid "
                 "syntax"},
        {"2023/11/14",
         "failed to parse value as time or duration: invalid seconds \"2023/11/14\": invalid "
         "syntax"},
        {".5", "failed to parse value as time or duration: invalid seconds \"\": invalid syntax"},
        {"1700000000.5x", "failed to parse value as time or duration: invalid nanoseconds: invalid "
                          "character 'x' at position 1"},
        {"1.123456789012345678901", "failed to parse value as time or duration: invalid "
                                    "nanoseconds: length 21 exceeds maximum 20"},
        {"2023-13-01", "parsing time \"2023-13-01\": month out of range"},
        {"2023-02-30", "parsing time \"2023-02-30\": day out of range"},
        {"2023-11-14T25:00:00Z", "parsing time \"2023-11-14T25:00:00Z\": hour out of range"},
        {"2023-11-14T22:61", "parsing time \"2023-11-14T22:61\": minute out of range"},
        {"2023-11-14T22:13:20z", "parsing time \"2023-11-14T22:13:20z\" as "
                                 "\"2006-01-02T15:04:05Z07:00\": cannot parse \"z\" as \"Z07:00\""},
        {"2023-1-14", "parsing time \"2023-1-14\" as \"2006-01-02\": cannot parse \"1-14\" as "
                      "\"01\""},
        {"2023-11-14 22:13", "parsing time \"2023-11-14 22:13\": extra text: \" 22:13\""},
        {"23-11-14", "parsing time \"23-11-14\" as \"2006-01-02\": cannot parse \"23-11-14\" as "
                     "\"2006\""},
        {"-1", "parsing time \"-1\" as \"2006-01-02\": cannot parse \"-1\" as \"2006\""},
    };
    set_zone();
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        int64_t got = 42;
        char *why = NULL;
        if (time_parse_timestamp(bad[i][0], NOW * NS, &got, &why) != -1)
            fail_msg("\"%s\" parsed as %lld", bad[i][0], (long long)got);
        if (!why || strcmp(why, bad[i][1]) != 0)
            fail_msg("\"%s\": \"%s\", want \"%s\"", bad[i][0], why ? why : "(none)", bad[i][1]);
        free(why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_parse_out_of_range),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_duration_invalid),
        cmocka_unit_test(test_timestamp),
        cmocka_unit_test(test_timestamp_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
