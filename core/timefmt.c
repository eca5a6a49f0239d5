/* core/timefmt.c — RFC 3339 parsing and Go-compatible formatting; timegm keeps it free of the
 * process time zone. */
#include "core/timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/macros.h"
#include "core/xalloc.h"

int64_t time_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Fraction digits after '.', scaled to nanoseconds; advances *p. */
static int64_t parse_fraction(const char **p)
{
    int64_t ns = 0, scale = 100000000;
    if (**p != '.')
        return 0;
    for ((*p)++; isdigit((unsigned char)**p); (*p)++) {
        ns += (**p - '0') * scale;
        scale /= 10;
    }
    return ns;
}

int64_t time_parse_rfc3339(const char *s)
{
    struct tm tm = {0};
    int n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const char *p = s + n;
    int64_t ns = parse_fraction(&p);
    int64_t offset = 0;
    if (*p == '+' || *p == '-') {
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return -1;
        offset = (int64_t)(hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
    } else if (*p != 'Z' && *p != 'z') {
        return -1;
    }
    /* int64 nanoseconds span 1678-2262: Go's zero time and the like do not fit, and must not
     * wrap round into some plausible (even positive) time */
    int64_t secs = (int64_t)timegm(&tm) - offset;
    if (secs > INT64_MAX / 1000000000 || secs < INT64_MIN / 1000000000 ||
        secs * 1000000000 > INT64_MAX - ns)
        return -1;
    return secs * 1000000000 + ns;
}

char *time_format_rfc3339(int64_t ns)
{
    time_t secs = (time_t)(ns / 1000000000);
    long frac = (long)(ns % 1000000000);
    if (frac < 0) {
        frac += 1000000000;
        secs--;
    }
    struct tm tm;
    char date[32], fraction[16] = "";
    gmtime_r(&secs, &tm);
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac) {
        snprintf(fraction, sizeof(fraction), ".%09ld", frac);
        for (size_t n = strlen(fraction); fraction[n - 1] == '0'; n--)
            fraction[n - 1] = '\0';
    }
    return xasprintf("%s%sZ", date, fraction);
}

/* ---- Go durations ---- */

static const struct {
    const char *name;
    uint64_t ns;
} duration_units[] = {
    {"ns", 1},           {"us", 1000},         {"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
    {"\xce\xbcs", 1000},                                            /* U+03BC Greek mu */
    {"ms", 1000000},     {"s", 1000000000ULL}, {"m", 60000000000ULL}, {"h", 3600000000000ULL},
};

#define DURATION_LIMIT (1ULL << 63) /* Go's bound on the magnitude while it adds up */

static uint64_t duration_unit(const char *u, size_t n)
{
    for (size_t i = 0; i < ARRAY_SIZE(duration_units); i++)
        if (strlen(duration_units[i].name) == n && strncmp(duration_units[i].name, u, n) == 0)
            return duration_units[i].ns;
    return 0;
}

/* One [0-9]*(.[0-9]*)?UNIT term, as Go's leadingInt and leadingFraction read it: the whole
 * part must not overflow; fraction digits past what uint64 holds are read and dropped. */
static int duration_term(const char **p, uint64_t *out)
{
    const char *s = *p, *start = s;
    uint64_t v = 0, f = 0;
    double scale = 1;
    for (; isdigit((unsigned char)*s); s++) {
        if (v > DURATION_LIMIT / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > DURATION_LIMIT)
            return -1;
    }
    bool pre = s != start, post = false, overflow = false;
    if (*s == '.') {
        const char *frac = ++s;
        for (; isdigit((unsigned char)*s); s++) {
            if (overflow || f > (DURATION_LIMIT - 1) / 10) {
                overflow = true;
                continue;
            }
            uint64_t y = f * 10 + (uint64_t)(*s - '0');
            if (y > DURATION_LIMIT) {
                overflow = true;
                continue;
            }
            f = y;
            scale *= 10;
        }
        post = s != frac;
    }
    if (!pre && !post)
        return -1;
    size_t n = 0;
    while (s[n] && s[n] != '.' && !isdigit((unsigned char)s[n]))
        n++;
    uint64_t unit = n ? duration_unit(s, n) : 0;
    if (!unit || v > DURATION_LIMIT / unit)
        return -1;
    v *= unit;
    if (f > 0) { /* float64, as Go: nanosecond-exact for fractions of an hour */
        v += (uint64_t)((double)f * ((double)unit / scale));
        if (v > DURATION_LIMIT)
            return -1;
    }
    *p = s + n;
    *out = v;
    return 0;
}

int time_parse_duration(const char *s, int64_t *ns)
{
    bool neg = false;
    uint64_t d = 0;
    if (!s)
        return -1;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (strcmp(s, "0") == 0) {
        *ns = 0;
        return 0;
    }
    if (!*s)
        return -1;
    while (*s) {
        uint64_t v;
        if ((*s != '.' && !isdigit((unsigned char)*s)) || duration_term(&s, &v) < 0)
            return -1;
        d += v;
        if (d > DURATION_LIMIT)
            return -1;
    }
    if (!neg && d > (uint64_t)INT64_MAX)
        return -1;
    *ns = neg ? (d == DURATION_LIMIT ? INT64_MIN : -(int64_t)d) : (int64_t)d;
    return 0;
}

/* ---- dockerd's timestamps ---- */

/* Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil): no
 * time_t or time zone in the way, whatever the year. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in(int month, int year)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    return month == 2 && leap ? 29 : days[month - 1];
}

/* Seconds and nanoseconds to int64 nanoseconds, saturated at the ends. */
static int64_t saturate_ns(int64_t secs, int64_t nsec)
{
    if (secs > INT64_MAX / 1000000000 - 1)
        return INT64_MAX;
    if (secs < INT64_MIN / 1000000000 + 1)
        return INT64_MIN;
    int64_t whole = secs * 1000000000;
    if (whole > 0 && whole > INT64_MAX - nsec)
        return INT64_MAX;
    return whole + nsec;
}

struct civil {
    int year, month, day, hour, min, sec;
    int64_t nsec;
    bool zoned;          /* the value named its zone (Z or an offset) */
    int64_t offset;      /* seconds east of UTC */
    const char *range;   /* Go's "month" in "month out of range" */
    const char *at;      /* where the value stopped matching, for the words */
    const char *element; /* ... and the layout element it did not match */
    char literal[2];     /* (a literal character of the layout) */
};

/* Go's getnum: one or two digits (two when fixed). */
static bool getnum(const char **v, bool fixed, int *out)
{
    const char *s = *v;
    if (!isdigit((unsigned char)s[0]))
        return false;
    if (!isdigit((unsigned char)s[1])) {
        if (fixed)
            return false;
        *out = s[0] - '0';
        *v = s + 1;
        return true;
    }
    *out = (s[0] - '0') * 10 + (s[1] - '0');
    *v = s + 2;
    return true;
}

/* Go's parseNanoseconds: [.,] then digits, at most nine of them significant. */
static int64_t fraction_ns(const char **v)
{
    const char *s = *v + 1;
    int64_t ns = 0;
    int n = 0;
    for (; isdigit((unsigned char)*s); s++, n++)
        if (n < 9)
            ns = ns * 10 + (*s - '0');
    for (; n < 9; n++)
        ns *= 10;
    *v = s;
    return ns;
}

static bool fraction_next(const char *v)
{
    return (v[0] == '.' || v[0] == ',') && isdigit((unsigned char)v[1]);
}

/* Go's "Z07:00": Z, or +hh:mm / -hh:mm. */
static bool zone(const char **v, struct civil *t)
{
    const char *s = *v;
    int hh, mm;
    t->zoned = true;
    if (s[0] == 'Z') {
        *v = s + 1;
        return true;
    }
    if (strlen(s) < 6 || s[3] != ':' || (s[0] != '+' && s[0] != '-'))
        return false;
    const char *h = s + 1, *m = s + 4;
    if (!getnum(&h, true, &hh) || !getnum(&m, true, &mm))
        return false;
    if (hh > 24)
        t->range = "time zone offset hour";
    if (mm > 60)
        t->range = "time zone offset minute";
    t->offset = (int64_t)(hh * 60 + mm) * 60 * (s[0] == '-' ? -1 : 1);
    *v = s + 6;
    return true;
}

/* One layout element at *l against *v; false when the value does not match it. */
static bool layout_element(const char **l, const char **v, struct civil *t)
{
    static const char frac9[] = ".999999999", zone_colon[] = "Z07:00";
    const char *s = *v;
    int n;
    t->element = NULL;
    if (strncmp(*l, "2006", 4) == 0) {
        t->element = "2006";
        if (strlen(s) < 4 || strspn(s, "0123456789") < 4)
            return false;
        t->year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
        *v = s + 4, *l += 4;
        return true;
    }
    if (strncmp(*l, frac9, sizeof(frac9) - 1) == 0) { /* optional */
        if (fraction_next(s))
            t->nsec = fraction_ns(v);
        *l += sizeof(frac9) - 1;
        return true;
    }
    if (strncmp(*l, zone_colon, sizeof(zone_colon) - 1) == 0) {
        t->element = zone_colon;
        *l += sizeof(zone_colon) - 1;
        return zone(v, t);
    }
    static const struct {
        const char *elem;
        bool fixed;
        size_t field;
        int lo, hi;
        const char *name;
    } nums[] = {
        {"01", true, offsetof(struct civil, month), 1, 12, "month"},
        {"02", true, offsetof(struct civil, day), 0, 31, "day"},
        {"15", false, offsetof(struct civil, hour), 0, 23, "hour"},
        {"04", true, offsetof(struct civil, min), 0, 59, "minute"},
        {"05", true, offsetof(struct civil, sec), 0, 59, "second"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(nums); i++) {
        if (strncmp(*l, nums[i].elem, 2) != 0)
            continue;
        t->element = nums[i].elem;
        if (!getnum(v, nums[i].fixed, &n))
            return false;
        *(int *)((char *)t + nums[i].field) = n;
        if ((n < nums[i].lo || n > nums[i].hi) && !t->range)
            t->range = nums[i].name;
        *l += 2;
        /* Go reads a fraction the layout does not have after the seconds */
        if (strcmp(nums[i].elem, "05") == 0 && fraction_next(*v) &&
            strncmp(*l, frac9, sizeof(frac9) - 1) != 0)
            t->nsec = fraction_ns(v);
        return true;
    }
    t->literal[0] = **l;
    t->literal[1] = '\0';
    t->element = t->literal;
    if (*s != **l)
        return false;
    (*v)++, (*l)++;
    return true;
}

/* Go's time.Parse of value with one of dockerd's layouts; NULL, or Go's words (heap). */
static char *parse_layout(const char *layout, const char *value, struct civil *t)
{
    const char *l = layout, *v = value;
    *t = (struct civil){.month = 1, .day = 1};
    while (*l) {
        t->at = v;
        if (!layout_element(&l, &v, t))
            return xasprintf("parsing time \"%s\" as \"%s\": cannot parse \"%s\" as \"%s\"", value,
                             layout, t->at, t->element);
    }
    if (*v)
        return xasprintf("parsing time \"%s\": extra text: \"%s\"", value, v);
    if (t->range)
        return xasprintf("parsing time \"%s\": %s out of range", value, t->range);
    if (t->day < 1 || t->day > days_in(t->month, t->year))
        return xasprintf("parsing time \"%s\": day out of range", value);
    return NULL;
}

/* dockerd's parseTimestamp: [+-]seconds[.fraction], the fraction at most 20 digits, nine of
 * them significant. */
static char *parse_unix(const char *value, int64_t *out)
{
    const char *dot = strchr(value, '.');
    size_t slen = dot ? (size_t)(dot - value) : strlen(value);
    char secs[32];
    const char *digits = value + (value[0] == '+' || value[0] == '-');
    size_t ndigits = slen - (size_t)(digits - value);
    if (slen == 0 || ndigits == 0 || strspn(digits, "0123456789") < ndigits)
        return xasprintf("invalid seconds \"%.*s\": invalid syntax", (int)slen, value);
    if (slen >= sizeof(secs))
        return xasprintf("invalid seconds \"%.*s\": value out of range", (int)slen, value);
    memcpy(secs, value, slen);
    secs[slen] = '\0';
    errno = 0;
    long long sec = strtoll(secs, NULL, 10);
    if (errno == ERANGE)
        return xasprintf("invalid seconds \"%s\": value out of range", secs);
    int64_t nsec = 0;
    if (dot && dot[1]) {
        size_t n = strlen(dot + 1);
        if (n > 20)
            return xasprintf("invalid nanoseconds: length %zu exceeds maximum 20", n);
        for (size_t i = 0; i < n; i++)
            if (!isdigit((unsigned char)dot[1 + i]))
                return xasprintf("invalid nanoseconds: invalid character '%c' at position %zu",
                                 dot[1 + i], i);
        const char *p = dot;
        nsec = fraction_ns(&p);
    }
    *out = saturate_ns((int64_t)sec, nsec);
    return NULL;
}

/* The layout dockerd picks for a value, by its shape. */
static const char *pick_layout(const char *value, bool in_location)
{
    if (strchr(value, '.'))
        return in_location ? "2006-01-02T15:04:05.999999999"
                           : "2006-01-02T15:04:05.999999999Z07:00";
    if (!strchr(value, 'T'))
        return in_location ? "2006-01-02" : "2006-01-02Z07:00";
    size_t colons = 0;
    for (const char *p = value; *p; p++)
        colons += *p == ':';
    /* an offset (not Z) brings a colon of its own */
    if (!in_location && !strpbrk(value, "zZ") && colons > 0)
        colons--;
    static const char *const local[] = {"2006-01-02T15", "2006-01-02T15:04", "2006-01-02T15:04:05"};
    static const char *const zoned[] = {"2006-01-02T15Z07:00", "2006-01-02T15:04Z07:00",
                                        "2006-01-02T15:04:05Z07:00"};
    return (in_location ? local : zoned)[colons > 2 ? 2 : colons];
}

static int64_t local_offset(int64_t now_ns)
{
    time_t secs = (time_t)(now_ns / 1000000000);
    struct tm tm;
    return localtime_r(&secs, &tm) ? (int64_t)tm.tm_gmtoff : 0;
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

int time_parse_timestamp(const char *value, int64_t now_ns, int64_t *out, char **why)
{
    int64_t d;
    *why = NULL;
    if (!value || blank(value)) {
        *why = xstrdup("failed to parse value as time or duration: value is empty");
        return -1;
    }
    if (strcmp(value, "0") != 0 && time_parse_duration(value, &d) == 0) {
        bool over = d < 0 ? now_ns > INT64_MAX + d : now_ns < INT64_MIN + d;
        *out = over ? (d < 0 ? INT64_MAX : INT64_MIN) : now_ns - d;
        return 0;
    }
    size_t dashes = 0;
    for (const char *p = value; *p; p++)
        dashes += *p == '-';
    bool in_location = !strpbrk(value, "zZ+") && dashes != 3;
    struct civil t;
    char *bad = parse_layout(pick_layout(value, in_location), value, &t);
    if (!bad) {
        int64_t offset = in_location ? local_offset(now_ns) : t.offset;
        int64_t secs = days_from_civil(t.year, t.month, t.day) * 86400 + t.hour * 3600 +
                       t.min * 60 + t.sec - offset;
        *out = saturate_ns(secs, t.nsec);
        return 0;
    }
    if (strchr(value, '-')) { /* it looked like a date: Go's words about the date */
        *why = bad;
        return -1;
    }
    free(bad);
    bad = parse_unix(value, out);
    if (!bad)
        return 0;
    *why = xasprintf("failed to parse value as time or duration: %s", bad);
    free(bad);
    return -1;
}
