/* net/registry/hclient.h — HTTP/1.1 and HTTPS (mbedtls) client on the reactor, for talking to
 * registries: keep-alive connections per host, redirects, timeouts, streamed bodies with
 * back-pressure both ways. Every callback runs on the reactor thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"
#include "core/http.h"
#include "core/pool.h"
#include "core/reactor.h"

struct hclient;
struct hreq;

struct hclient_opts {
    uint64_t connect_timeout_ms; /* TCP connect + TLS handshake (default 30 s) */
    uint64_t io_timeout_ms;      /* no byte moving either way while a request is in flight
                                  * (default 60 s; paused responses do not count) */
    const char *certs_dir;      /* Docker's layout: DIR/HOST:PORT/{ca.crt,client.cert,client.key} */
    const char *system_ca_file; /* default /etc/ssl/certs/ca-certificates.crt */
    unsigned max_idle_per_host; /* kept-alive idle connections per scheme+host+port (default 4) */
};

/* The pool resolves host names (getaddrinfo blocks) and reads certificates. */
struct hclient *hclient_new(struct reactor *r, struct pool *pool, const struct hclient_opts *o);
/* Cancels every request (no callbacks) and closes every connection. */
void hclient_free(struct hclient *hc);

struct hreq_spec {
    const char *method;
    const char *url;     /* http://HOST[:PORT]/path?query or https://... */
    const char *headers; /* extra "Name: value\r\n" lines, or NULL */
    const void *body;    /* a whole body (copied), or NULL */
    size_t body_len;
    bool stream_body;   /* the body is fed with hreq_write()/hreq_end() instead */
    int64_t stream_len; /* its Content-Length, or -1 to send it chunked */
    bool insecure_tls;  /* https without certificate verification */
    int max_redirects;  /* 0: redirects are returned as responses */
    /* The response head (status, headers) once it arrives; the body follows. After a
     * redirect this is the final response's head. */
    void (*on_head)(void *ctx, const struct http_msg *resp);
    /* Body bytes, valid only during the call. Call hreq_pause() to stop the flow. */
    void (*on_body)(void *ctx, const char *data, size_t n);
    /* With stream_body: the queued body fell below the low-water mark, write more. */
    void (*on_drain)(void *ctx);
    /* The last callback: 0 once the whole response is in, or a negative error with words
     * (connection refused, timeout, TLS failure, malformed response). */
    void (*on_done)(void *ctx, int res, const struct berth_err *err);
    void *ctx;
};

/* Start a request. No callback runs from inside this call or any other hclient/hreq call: an
 * early failure (bad URL) reaches on_done from the reactor loop. */
struct hreq *hclient_request(struct hclient *hc, const struct hreq_spec *spec);

/* Body upload for stream_body requests. Returns false above the high-water mark: wait for
 * on_drain. hreq_end() finishes the body. */
bool hreq_write(struct hreq *q, const void *data, size_t n);
void hreq_end(struct hreq *q);
/* Stop and restart the response body flow (back-pressure for slow consumers). */
void hreq_pause(struct hreq *q);
void hreq_resume(struct hreq *q);
/* Abandon the request: no callback runs after this returns. */
void hreq_cancel(struct hreq *q);

/* ---- for a layer that wraps requests (net/registry: auth, scheme choice) ----
 * A prepared request is not sent until hreq_send(); writes to a streamed body are queued
 * until then. The hooks see each final response head first (not those after a redirect to
 * another location) and may swallow one to send the request again, e.g. with a new token. */
struct hreq_hooks {
    /* true: swallow this response; its body is drained, then `again` runs. */
    bool (*head)(void *hctx, struct hreq *q, const struct http_msg *resp);
    /* The swallowed response is over: call hreq_send() or hreq_fail(). */
    void (*again)(void *hctx, struct hreq *q);
    /* The request is finished (after on_done) or cancelled: release hctx. */
    void (*release)(void *hctx);
    void *hctx;
};

struct hreq *hclient_prepare(struct hclient *hc, const struct hreq_spec *spec,
                             const struct hreq_hooks *hooks);
/* Send (again) to url; auth_headers ("Authorization: ...\r\n") are added to spec->headers and,
 * like an Authorization in spec->headers, never follow a redirect to another host. */
void hreq_send(struct hreq *q, const char *url, const char *auth_headers);
/* Verify the server's certificate or not (the endpoint's choice, which may differ from the
 * spec's when a wrapper picks the endpoint); before hreq_send. */
void hreq_set_insecure_tls(struct hreq *q, bool insecure);
/* End the request with this error: on_done gets it (never from inside this call). */
void hreq_fail(struct hreq *q, const struct berth_err *err);
/* Whether the request can be sent again: false once streamed body bytes went out. */
bool hreq_replayable(const struct hreq *q);
/* The request's method, for error words ("Get \"URL\": ..."). */
const char *hreq_method(const struct hreq *q);
