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

/* Go's time.ParseDuration ("1h30m", "1.5h", "300ms", "-2h", "0"; units ns us µs μs ms s m h):
 * 0 with *ns set, or -1 when it does not parse or overflows int64 nanoseconds. */
int time_parse_duration(const char *s, int64_t *ns);
/* dockerd's timestamp.Parse, as its `until`, `since` and `--until` values are read: a Go
 * duration counted back from now_ns ("10m": ten minutes ago), an RFC 3339 time or date with or
 * without a zone (none: the local zone's offset at now_ns), or Unix seconds with an optional
 * fraction ("1700000000.5"). Times beyond int64 nanoseconds saturate. Returns 0 and *out, or -1
 * with *why (heap) saying why in Go's words, as dockerd's error reads. */
int time_parse_timestamp(const char *value, int64_t now_ns, int64_t *out, char **why);
