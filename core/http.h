/* core/http.h — HTTP/1.1 message codec over Debian's http_parser: incremental parsing of
 * requests (server) and responses (clients) with limits, query and header access. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

#include "core/buf.h"

struct http_header {
    char *name;
    char *value;
};

/* A parsed request or response. */
struct http_msg {
    int method;   /* requests: enum http_method */
    char *target; /* requests: as sent, "/v1.50/info?x=1" */
    char *path;   /* requests: percent-decoded path */
    char *query;  /* requests: raw query string, "" if none */
    int status;   /* responses */
    struct http_header *headers;
    size_t nheaders;
    struct buf body; /* unless the body is streamed through on_body */
    unsigned http_major, http_minor;
    bool keep_alive;
    bool upgrade; /* the request asked to switch protocols (Docker's hijack) */
};

struct http_limits {
    size_t max_header_bytes; /* request line + headers: 431 beyond */
    size_t max_headers;      /* count: 431 beyond */
    size_t max_body;         /* buffered body: 413 beyond */
};

struct http_reader {
    http_parser parser;
    struct http_limits limits;
    struct http_msg *msg; /* being built */
    struct buf field;     /* header name in progress */
    size_t header_bytes;
    bool in_value;
    bool done;         /* a whole message is ready: take it */
    bool headers_done; /* its head is complete (body may follow) */
    bool skip_body;    /* response to HEAD: no body follows */
    /* Framing check (see check_framing in http.c): where the bytes of the current feed not yet
     * checked start, the data still due in the current chunk, and the framing bytes due next
     * (1: the LF after a CR; 2: the CRLF after a chunk's data). */
    const char *scan_at;
    uint64_t chunk_left;
    unsigned crlf_due;
    int status;        /* on error: the HTTP status to answer with (400, 413, 431) */
    const char *error; /* on error: what was wrong */
    /* Optional: asked when a head is complete; returning 1 streams this message's body to
     * on_body (no max_body limit) instead of buffering it. Parsing then pauses right after the
     * head (head_paused) until http_reader_resume(), so the owner can act first. */
    int (*on_head)(void *ctx, struct http_msg *m);
    bool head_paused;
    bool streaming; /* the current message's body goes to on_body */
    /* The body sink for streamed messages. Return non-zero to abort with 400. */
    int (*on_body)(void *ctx, const char *p, size_t n);
    void *ctx;
};

void http_reader_init(struct http_reader *rd, enum http_parser_type type,
                      const struct http_limits *limits);
void http_reader_free(struct http_reader *rd);
/* Parse up to n bytes and return how many were used: parsing stops right after a complete
 * message (rd->done) so pipelined requests are handled one at a time, or at an error
 * (rd->status != 0). Take the message before feeding more. */
size_t http_reader_feed(struct http_reader *rd, const char *data, size_t n);
/* Continue after head_paused. */
void http_reader_resume(struct http_reader *rd);
/* The peer closed: completes a response whose body runs to EOF. */
void http_reader_eof(struct http_reader *rd);
/* Hand the finished message to the caller and get ready for the next one. */
struct http_msg *http_reader_take(struct http_reader *rd);
/* True when no byte of a next message has arrived. */
bool http_reader_idle(const struct http_reader *rd);

void http_msg_free(struct http_msg *m);
const char *http_msg_header(const struct http_msg *m, const char *name);
const char *http_msg_method(const struct http_msg *m);
/* The decoded value of query key `key` (first occurrence; xstrdup'd), or NULL if absent. */
char *http_query_get(const struct http_msg *m, const char *key);
/* Every decoded value of query key `key`, in order (NULL-terminated heap array of heap
 * strings; free with http_query_free). */
char **http_query_all(const struct http_msg *m, const char *key);
void http_query_free(char **values);
/* Docker's boolean query rule: absent, "", "0", "no", "false", "none" are false. */
bool http_query_bool(const struct http_msg *m, const char *key);

/* Decode %XX (and '+' as space when plus_is_space) in place; false if malformed or %00. */
bool http_url_decode(char *s, bool plus_is_space);
const char *http_status_text(int status);
