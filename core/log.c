/* core/log.c — formats a log line into one buffer and writes it with a single write(2).
 * Quotes and newlines in messages are escaped so each entry stays one logfmt line. */
#include "core/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/macros.h"

static _Atomic int current_level = LOG_INFO;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void log_set_level(enum log_level level)
{
    atomic_store(&current_level, (int)level);
}

enum log_level log_get_level(void)
{
    return (enum log_level)atomic_load_explicit(&current_level, memory_order_relaxed);
}

int log_level_parse(const char *name)
{
    static const struct {
        const char *name;
        enum log_level level;
    } names[] = {{"debug", LOG_DEBUG},  {"info", LOG_INFO},   {"warn", LOG_WARN},
                 {"warning", LOG_WARN}, {"error", LOG_ERROR}, {"fatal", LOG_ERROR}};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strcmp(name, names[i].name) == 0)
            return (int)names[i].level;
    return -1;
}

/* Copy `src` into dst[pos..cap) escaping `"`, `\` and control characters; returns new pos. */
static size_t append_escaped(char *dst, size_t pos, size_t cap, const char *src)
{
    for (; *src && pos + 2 < cap; src++) {
        unsigned char ch = (unsigned char)*src;
        if (ch == '"' || ch == '\\') {
            dst[pos++] = '\\';
            dst[pos++] = (char)ch;
        } else if (ch == '\n') {
            dst[pos++] = '\\';
            dst[pos++] = 'n';
        } else if (ch < 0x20) {
            dst[pos++] = ' ';
        } else {
            dst[pos++] = (char)ch;
        }
    }
    return pos;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if ((int)level > atomic_load_explicit(&current_level, memory_order_relaxed))
        return;
    char msg[2048], line[4608];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t pos = strftime(line, sizeof(line), "time=\"%Y-%m-%dT%H:%M:%S", &tm);
    pos += (size_t)snprintf(line + pos, sizeof(line) - pos, ".%09ldZ\" level=%s msg=\"", ts.tv_nsec,
                            level_names[level]);
    pos = append_escaped(line, pos, sizeof(line) - 2, msg);
    line[pos++] = '"';
    line[pos++] = '\n';
    (void)!write(2, line, pos);
}
