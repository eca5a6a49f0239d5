/* core/http.c — wraps http_parser's callbacks into whole messages, enforcing berth's limits
 * on head size, header count and body size, and pausing after each message for pipelining. */
#include "core/http.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/macros.h"
#include "core/xalloc.h"

static struct http_reader *reader_of(http_parser *p)
{
    return p->data;
}

static int fail(struct http_reader *rd, int status, const char *error)
{
    if (!rd->status) {
        rd->status = status;
        rd->error = error;
    }
    return -1;
}

/* Counts every head byte against max_header_bytes. */
static int account_head(struct http_reader *rd, size_t n)
{
    rd->header_bytes += n;
    return rd->header_bytes > rd->limits.max_header_bytes
               ? fail(rd, 431, "request header fields too large")
               : 0;
}

static int on_message_begin(http_parser *p)
{
    struct http_reader *rd = reader_of(p);
    if (!rd->msg)
        rd->msg = xcalloc(1, sizeof(*rd->msg));
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    struct http_reader *rd = reader_of(p);
    if (account_head(rd, n) < 0)
        return -1;
    size_t old = rd->msg->target ? strlen(rd->msg->target) : 0;
    rd->msg->target = xrealloc(rd->msg->target, old + n + 1);
    memcpy(rd->msg->target + old, at, n);
    rd->msg->target[old + n] = '\0';
    return 0;
}

static void finish_header(struct http_reader *rd)
{
    struct http_msg *m = rd->msg;
    struct http_header *h = &m->headers[m->nheaders - 1];
    h->name = buf_steal(&rd->field, NULL);
    if (!h->name)
        h->name = xstrdup("");
    rd->in_value = false;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    struct http_reader *rd = reader_of(p);
    struct http_msg *m = rd->msg;
    if (account_head(rd, n) < 0)
        return -1;
    if (rd->headers_done) /* a chunked body's trailer: see on_header_value */
        return 0;
    /* http_parser without HTTP_PARSER_STRICT takes a space as a token character; Go (dockerd)
     * refuses such names, and "Content-Length : 5" is a request-smuggling classic. */
    if (memchr(at, ' ', n))
        return fail(rd, 400, "malformed header field name");
    if (rd->in_value) /* the previous header's value ended: a new name starts */
        finish_header(rd);
    if (rd->field.len == 0) {
        if (m->nheaders + 1 > rd->limits.max_headers)
            return fail(rd, 431, "too many header fields");
        m->headers = xrealloc(m->headers, (m->nheaders + 1) * sizeof(*m->headers));
        m->headers[m->nheaders++] = (struct http_header){0};
    }
    buf_append(&rd->field, at, n);
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    struct http_reader *rd = reader_of(p);
    if (account_head(rd, n) < 0)
        return -1;
    /* Trailer fields (after a chunked body) are counted against the head limit and dropped, as
     * dockerd's handlers never see them: kept, they would arrive after the head was finished
     * and reach handlers without a name. */
    if (rd->headers_done)
        return 0;
    /* http_parser lets a NUL through as a value's first byte; our values are C strings, so it
     * would cut them short (at a place that depends on how the bytes were split). */
    if (memchr(at, '\0', n))
        return fail(rd, 400, "invalid character in header value");
    struct http_header *h = &rd->msg->headers[rd->msg->nheaders - 1];
    rd->in_value = true;
    size_t old = h->value ? strlen(h->value) : 0;
    h->value = xrealloc(h->value, old + n + 1);
    memcpy(h->value + old, at, n);
    h->value[old + n] = '\0';
    return 0;
}

static int split_target(struct http_msg *m)
{
    if (!m->target)
        return -1;
    char *q = strchr(m->target, '?');
    m->path = q ? xstrndup(m->target, (size_t)(q - m->target)) : xstrdup(m->target);
    m->query = xstrdup(q ? q + 1 : "");
    char *hash = strchr(m->query, '#');
    if (hash)
        *hash = '\0';
    return m->path[0] == '/' && http_url_decode(m->path, false) ? 0 : -1;
}

static int on_headers_complete(http_parser *p)
{
    struct http_reader *rd = reader_of(p);
    struct http_msg *m = rd->msg;
    if (rd->in_value || rd->field.len)
        finish_header(rd);
    for (size_t i = 0; i < m->nheaders; i++)
        if (!m->headers[i].value)
            m->headers[i].value = xstrdup("");
    m->http_major = p->http_major;
    m->http_minor = p->http_minor;
    m->keep_alive = http_should_keep_alive(p);
    m->upgrade = (p->flags & F_UPGRADE) != 0;
    if (p->type == HTTP_REQUEST) {
        m->method = (int)p->method;
        if (split_target(m) < 0)
            return fail(rd, 400, "malformed request target");
    } else {
        m->status = (int)p->status_code;
    }
    rd->headers_done = true;
    if (rd->on_head && rd->on_head(rd->ctx, m) == 1) {
        rd->streaming = rd->head_paused = true;
        http_parser_pause(p, 1); /* the owner dispatches before any body byte is parsed */
        return rd->skip_body ? 1 : 0;
    }
    /* A reply to HEAD announces a length but carries no body: nothing to refuse. */
    if (!rd->skip_body && (p->flags & F_CONTENTLENGTH) && p->content_length > rd->limits.max_body)
        return fail(rd, 413, "request body too large");
    return rd->skip_body ? 1 : 0;
}

/* http_parser as Debian builds it (without HTTP_PARSER_STRICT) takes any byte where it expects
 * the LF of a CRLF, and any two bytes where it expects the CRLF that ends a chunk's data:
 * "5\r\nhelloXY0\r\n\r\n" is a whole body "hello" to it, and "5\rXhello..." a chunk. Go
 * (dockerd) refuses both ("malformed chunked encoding"), and a reader that disagrees with the
 * client on where a chunk ends is a request-smuggling classic. So the bytes http_parser takes as
 * framing (everything but body data, which on_body delimits) are checked here: a CR must be
 * followed by LF, and a chunk's data by exactly CRLF. The state carries over between feeds, as a
 * CRLF may be split between two reads. */
static int check_framing(struct http_reader *rd, const char *p, const char *end)
{
    for (; p < end; p++) {
        if (rd->crlf_due == 2 && *p != '\r')
            return fail(rd, 400, "malformed chunked encoding");
        if (rd->crlf_due == 1 && *p != '\n')
            return fail(rd, 400, "malformed line ending: CR without LF");
        if (rd->crlf_due)
            rd->crlf_due--;
        else if (*p == '\r')
            rd->crlf_due = 1;
    }
    return 0;
}

static int on_chunk_header(http_parser *p)
{
    reader_of(p)->chunk_left = p->content_length; /* 0 for the last chunk */
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct http_reader *rd = reader_of(p);
    if (rd->scan_at && check_framing(rd, rd->scan_at, at) < 0)
        return -1;
    rd->scan_at = at + n;
    if ((p->flags & F_CHUNKED) && rd->chunk_left >= n && (rd->chunk_left -= n) == 0)
        rd->crlf_due = 2;
    if (rd->streaming)
        return rd->on_body && rd->on_body(rd->ctx, at, n) ? fail(rd, 400, "request body refused")
                                                          : 0;
    if (rd->msg->body.len + n > rd->limits.max_body)
        return fail(rd, 413, "request body too large");
    buf_append(&rd->msg->body, at, n);
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct http_reader *rd = reader_of(p);
    rd->done = true;
    http_parser_pause(p, 1); /* one message at a time: the next waits for http_reader_take */
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
    .on_chunk_header = on_chunk_header,
};

void http_reader_init(struct http_reader *rd, enum http_parser_type type,
                      const struct http_limits *limits)
{
    memset(rd, 0, sizeof(*rd));
    /* Our own limit is enforced in the callbacks; keep http_parser's out of its way. */
    http_parser_set_max_header_size((uint32_t)(limits->max_header_bytes + 4096));
    http_parser_init(&rd->parser, type);
    rd->parser.data = rd;
    rd->limits = *limits;
}

void http_reader_free(struct http_reader *rd)
{
    http_msg_free(rd->msg);
    rd->msg = NULL;
    buf_free(&rd->field);
}

size_t http_reader_feed(struct http_reader *rd, const char *data, size_t n)
{
    if (rd->done || rd->status)
        return 0;
    if (rd->head_paused)
        return 0;
    rd->scan_at = data;
    size_t used = http_parser_execute(&rd->parser, &settings, data, n);
    enum http_errno e = HTTP_PARSER_ERRNO(&rd->parser);
    bool parsed = rd->done || e == HPE_OK || (e == HPE_PAUSED && rd->head_paused);
    /* The framing after the last body bytes; a message with bad framing is not handed out. */
    if (parsed && !rd->status && check_framing(rd, rd->scan_at, data + used) < 0)
        rd->done = false;
    rd->scan_at = NULL;
    if (rd->status || parsed)
        return used;
    if (e == HPE_HEADER_OVERFLOW)
        fail(rd, 431, "request header fields too large");
    else
        fail(rd, 400, http_errno_description(e));
    return used;
}

void http_reader_eof(struct http_reader *rd)
{
    if (!rd->done && !rd->status && !http_reader_idle(rd))
        http_parser_execute(&rd->parser, &settings, NULL, 0);
    if (!rd->done && !rd->status && !http_reader_idle(rd))
        fail(rd, 400, "unexpected end of message");
}

void http_reader_resume(struct http_reader *rd)
{
    if (rd->head_paused) {
        rd->head_paused = false;
        http_parser_pause(&rd->parser, 0);
    }
}

struct http_msg *http_reader_take(struct http_reader *rd)
{
    if (!rd->done)
        return NULL;
    struct http_msg *m = rd->msg;
    rd->msg = NULL;
    rd->done = rd->headers_done = rd->in_value = rd->streaming = false;
    rd->header_bytes = 0;
    rd->chunk_left = 0;
    rd->crlf_due = 0;
    buf_reset(&rd->field);
    http_parser_pause(&rd->parser, 0);
    return m;
}

bool http_reader_idle(const struct http_reader *rd)
{
    return rd->msg == NULL;
}

void http_msg_free(struct http_msg *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nheaders; i++) {
        free(m->headers[i].name);
        free(m->headers[i].value);
    }
    free(m->headers);
    free(m->target);
    free(m->path);
    free(m->query);
    buf_free(&m->body);
    free(m);
}

const char *http_msg_header(const struct http_msg *m, const char *name)
{
    for (size_t i = 0; i < m->nheaders; i++)
        if (strcasecmp(m->headers[i].name, name) == 0)
            return m->headers[i].value;
    return NULL;
}

const char *http_msg_method(const struct http_msg *m)
{
    return http_method_str((enum http_method)m->method);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool http_url_decode(char *s, bool plus_is_space)
{
    char *out = s;
    for (; *s; s++) {
        if (*s == '%') {
            int hi = hexval((unsigned char)s[1]), lo = hi < 0 ? -1 : hexval((unsigned char)s[2]);
            /* %00 would end the C string early: "/containers/a%00/x" is not "/containers/a" */
            if (hi < 0 || lo < 0 || hi + lo == 0)
                return false;
            *out++ = (char)(hi * 16 + lo);
            s += 2;
        } else {
            *out++ = plus_is_space && *s == '+' ? ' ' : *s;
        }
    }
    *out = '\0';
    return true;
}

/* Calls fn for each key=value pair whose decoded key is `key`; stops when fn returns false. */
static void query_each(const struct http_msg *m, const char *key,
                       bool (*fn)(void *arg, char *value), void *arg)
{
    size_t klen = strlen(key);
    for (const char *p = m->query ? m->query : ""; *p;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t nlen = eq ? (size_t)(eq - p) : len;
        char *name = xstrndup(p, nlen);
        bool match =
            http_url_decode(name, true) && strlen(name) == klen && memcmp(name, key, klen) == 0;
        free(name);
        if (match) {
            char *value = eq ? xstrndup(eq + 1, len - nlen - 1) : xstrdup("");
            if (!http_url_decode(value, true)) {
                free(value);
                value = NULL;
            }
            if (!fn(arg, value))
                return;
        }
        p += len + (end ? 1 : 0);
    }
}

static bool take_first(void *arg, char *value)
{
    *(char **)arg = value;
    return false;
}

char *http_query_get(const struct http_msg *m, const char *key)
{
    char *value = NULL;
    query_each(m, key, take_first, &value);
    return value;
}

struct values {
    char **v;
    size_t n;
};

static bool take_all(void *arg, char *value)
{
    struct values *vs = arg;
    if (value) {
        vs->v = xrealloc(vs->v, (vs->n + 2) * sizeof(*vs->v));
        vs->v[vs->n++] = value;
        vs->v[vs->n] = NULL;
    }
    return true;
}

char **http_query_all(const struct http_msg *m, const char *key)
{
    struct values vs = {.v = xcalloc(1, sizeof(char *))};
    query_each(m, key, take_all, &vs);
    return vs.v;
}

void http_query_free(char **values)
{
    for (size_t i = 0; values && values[i]; i++)
        free(values[i]);
    free(values);
}

bool http_query_bool(const struct http_msg *m, const char *key)
{
    char *v = http_query_get(m, key);
    if (!v)
        return false;
    char *s = v;
    while (isspace((unsigned char)*s))
        s++;
    for (char *c = s; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    bool r = !(n == 0 || strcmp(s, "0") == 0 || strcmp(s, "no") == 0 || strcmp(s, "false") == 0 ||
               strcmp(s, "none") == 0);
    free(v);
    return r;
}

/* Go's net/http words, which dockerd's status lines carry (413 keeps its older name). */
static const struct {
    int code;
    const char *text;
} status_texts[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {411, "Length Required"},
    {413, "Request Entity Too Large"},
    {415, "Unsupported Media Type"},
    {416, "Requested Range Not Satisfiable"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

const char *http_status_text(int status)
{
    for (size_t i = 0; i < ARRAY_SIZE(status_texts); i++)
        if (status_texts[i].code == status)
            return status_texts[i].text;
    return "Unknown";
}
