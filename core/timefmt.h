/* core/timefmt.h — the RFC 3339 times the Docker API speaks ("2026-11-23T12:56:22.266Z"),
 * parsed and formatted, and Go's zero time "0001-01-01T00:00:00Z". */
#pragma once

#include <stdint.h>

#define TIME_ZERO "0001-01-01T00:00:00Z"

/* Nanoseconds since the epoch of an RFC 3339 time (with or without fraction and offset);
 * returns -1 when it does not parse or lies outside what int64 nanoseconds hold (1678-2262,
 * so TIME_ZERO gives -1 too). */
int64_t time_parse_rfc3339(const char *s);
/* Format UTC with nanoseconds, trailing zeros trimmed as Go's RFC3339Nano does (heap). */
char *time_format_rfc3339(int64_t ns);
/* Now, in nanoseconds since the epoch (CLOCK_REALTIME). */
int64_t time_now_ns(void);
