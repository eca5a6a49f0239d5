/* core/timefmt.c — RFC 3339 parsing and Go-compatible formatting; timegm keeps it free of the
 * process time zone. */
#include "core/timefmt.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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
