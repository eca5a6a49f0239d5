/* core/buf.c — growable byte buffer. Growth doubles, so appends are amortised O(1);
 * consume moves the tail down, which is cheap for the small leftovers it sees. */
#include "core/buf.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

void buf_reserve(struct buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->data[b->len] = '\0'; /* a fresh buffer is "" too: callers steal it as a string */
    b->cap = cap;
}

void buf_append(struct buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_put_query_escaped(struct buf *b, const char *s)
{
    buf_reserve(b, 0); /* an empty input still leaves a string */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~')
            buf_append(b, p, 1);
        else if (*p == ' ')
            buf_puts(b, "+");
        else
            buf_printf(b, "%%%02X", *p);
    }
}

/* Format straight into the spare room; only output larger than it is formatted twice. A format
 * with no conversion, or a lone "%s" (most header values), skips vsnprintf. */
void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    if (!strchr(fmt, '%')) {
        buf_puts(b, fmt);
        return;
    }
    if (strcmp(fmt, "%s") == 0) {
        const char *s = va_arg(ap, const char *);
        buf_puts(b, s ? s : "(null)"); /* as glibc's printf */
        return;
    }
    va_list again;
    va_copy(again, ap);
    buf_reserve(b, 128);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    if (n >= 0 && (size_t)n >= b->cap - b->len) {
        buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
    }
    va_end(again);
    if (n > 0)
        b->len += (size_t)n;
    b->data[b->len] = '\0'; /* on an encoding error, drop whatever vsnprintf left */
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
    }
    if (b->data)
        b->data[b->len] = '\0';
}

char *buf_steal(struct buf *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
