/* core/buf.h — a growable byte buffer: request bodies, response heads, pending output.
 * Zero-initialised is empty; data is always NUL-terminated past len for convenience. */
#pragma once

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
};

void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
/* s as Go's url.QueryEscape writes it: unreserved bytes kept, ' ' as '+', the rest %XX. */
void buf_put_query_escaped(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Drop the first n bytes. */
void buf_consume(struct buf *b, size_t n);
/* Hand the bytes to the caller (who frees them) and leave the buffer empty. */
char *buf_steal(struct buf *b, size_t *len);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
