/* core/http_server.h — HTTP/1.1 server on the reactor: keep-alive, pipelining, limits and
 * timeouts, whole or chunked-streamed replies with back-pressure, and Docker's hijack. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"
#include "core/http.h"
#include "core/reactor.h"

struct http_server;
struct http_conn;

/* Runs on the reactor thread for each request. The connection owns `req` until the reply is
 * complete; the handler must answer exactly once (reply, stream or hijack), now or later. */
typedef void (*http_handler_fn)(void *app, struct http_conn *c, struct http_msg *req);

struct http_server_opts {
    struct http_limits limits;
    /* 408 for a request head not whole this long after its first byte, however its bytes
     * trickle in, and for a buffered body that stalls this long or trickles (see arm_timer). */
    uint64_t request_timeout_ms;
    uint64_t idle_timeout_ms; /* a keep-alive connection with no request: closed */
    /* Connections held at once; 0: RLIMIT_NOFILE less a reserve for everything else. At the
     * cap a new connection closes an idle one (of the peer holding the most), or is refused
     * when none is idle. */
    size_t max_conns;
    /* Connections of one peer process (SO_PEERCRED pid) past which each new one closes the
     * peer's least recently used idle one; 0: no such cap. */
    size_t max_peer_conns;
    http_handler_fn handler;
    void *app;
    /* Optional: true when this request's body should be streamed to the handler (set with
     * http_conn_body) instead of buffered; the handler then runs as soon as the head is in. */
    bool (*stream_body)(void *app, const struct http_msg *req);
};

struct http_server *http_server_new(struct reactor *r, const struct http_server_opts *opts);
/* Bind a unix socket: refuses a path that is not a socket or that a live server answers on,
 * unlinks a stale one, and leaves the socket mode 0660. */
int http_server_listen_unix(struct http_server *s, const char *path, struct berth_err **err);
/* Serve an already connected socket (tests, socket activation). */
void http_server_adopt(struct http_server *s, int fd);
size_t http_server_conn_count(const struct http_server *s);
/* The connection cap in force (opts.max_conns, or the one derived from RLIMIT_NOFILE). */
size_t http_server_max_conns(const struct http_server *s);
/* Closes listeners and connections (their close callbacks run) and removes unix sockets. */
void http_server_free(struct http_server *s);

/* Add a header to the reply about to be sent. */
void http_conn_header(struct http_conn *c, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A whole reply with Content-Length; the body is dropped for HEAD. */
void http_reply(struct http_conn *c, int status, const char *content_type, const void *body,
                size_t len);

/* A streamed reply (chunked on HTTP/1.1). Writes return false once the queued output passes
 * the high-water mark: stop producing until the drain callback runs. */
void http_stream_begin(struct http_conn *c, int status, const char *content_type);
bool http_stream_write(struct http_conn *c, const void *data, size_t len);
void http_stream_end(struct http_conn *c);

/* Take over the connection after a head (101 with Upgrade: tcp, as Docker's attach and exec
 * do): from then on on_data gets the raw bytes (n == 0 at EOF, < 0 on error) and
 * http_raw_write sends raw bytes, with the same back-pressure as streaming. */
void http_hijack(struct http_conn *c, int status, const char *content_type,
                 void (*on_data)(void *arg, const char *data, ssize_t n), void *arg);
bool http_raw_write(struct http_conn *c, const void *data, size_t len);
void http_conn_pause_read(struct http_conn *c);
void http_conn_resume_read(struct http_conn *c);

/* The sink for a streamed request body: fn gets the bytes as they arrive, then n == 0 at the
 * end. Use http_conn_pause_read/resume_read for back-pressure. Set it in the handler; set it
 * to NULL when done with the body (the rest is then read and dropped), and it is gone once
 * the reply is complete. A body that stops arriving for the request timeout (reading not
 * paused), or turns out malformed, while the reply is owed is answered by the server (408,
 * 400) after the close callback has told the handler the client is gone. */
void http_conn_body(struct http_conn *c, void (*fn)(void *arg, const char *data, ssize_t n),
                    void *arg);
/* fn runs once when queued output falls below the low-water mark. */
void http_conn_on_drain(struct http_conn *c, void (*fn)(void *arg), void *arg);
/* fn runs if the connection goes away while a reply is owed or streaming (the client left,
 * or shutdown); the handler must not touch the connection after it. */
void http_conn_on_close(struct http_conn *c, void (*fn)(void *arg), void *arg);
/* Close once queued output is flushed (a hijacked one with a lingering close: the client's
 * last input is read and dropped, so that it is not reset before it has read everything). */
void http_conn_close(struct http_conn *c);
/* Close now, dropping queued output (a client too far behind to catch up). */
void http_conn_abort(struct http_conn *c);
size_t http_conn_pending(const struct http_conn *c);
