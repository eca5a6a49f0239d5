/* handlers/api.h — what every Docker API handler gets and how it answers: the request with
 * its path parameters and API version, JSON and error replies in Docker's shape. */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "core/err.h"
#include "core/http_server.h"
#include "core/pool.h"
#include "handlers/router.h"

struct daemon;

/* One API call in progress. Freed by the reply functions below; a handler that answers later
 * keeps it until then (and frees it with api_req_free if the client leaves first). */
struct api_req {
    struct daemon *d;
    struct http_conn *c;
    struct http_msg *msg;
    char version[16]; /* the API version the client speaks: from the URL, else ours */
    char *params[ROUTER_MAX_PARAMS];
};

/* Answer later: if the client leaves before the reply, a->c becomes NULL and the reply
 * functions only free a. Call before handing a to anything asynchronous. */
void api_async(struct api_req *a);

/* Blocking work for a handler: work runs on a pool thread, then done on the reactor thread,
 * which replies through t->a. The task is freed after done. */
struct api_task {
    struct pool_job job;
    struct api_req *a;
    void (*work)(struct api_task *t);
    void (*done)(struct api_task *t);
    void *data;
    int res;
    struct berth_err *err;
};
void api_task_run(struct api_req *a, enum pool_class cls, void (*work)(struct api_task *t),
                  void (*done)(struct api_task *t), void *data);

/* The http_server handler: version check, routing, then the route's function. */
void api_serve(void *daemon, struct http_conn *c, struct http_msg *msg);
/* The http_server's stream_body question: does the request's route read its body as it
 * arrives (ROUTE_STREAM_BODY)? */
bool api_streams_body(void *daemon, const struct http_msg *msg);
/* A ROUTE_STREAM_BODY request's body read by a pool job as it arrives (docker load and import;
 * build contexts later), through a bounded byte queue. One life cycle for all of them:
 *   api_body_open(&b, a)          in the handler, before the job is submitted;
 *   api_body_read(&b, buf, cap)   in the job (an unpack_read_fn): blocks for bytes; 0 at the
 *                                 end; -ECANCELED once the client has left;
 *   api_body_close(&b)            first thing in the job's done callback, before any reply.
 * The sink and the queue go away together at close: what the client still sends is read and
 * dropped until the reply, and a client that leaves afterwards makes a->c NULL as api_async
 * does. A client that stalls mid-body is answered 408 by the server (its request timeout),
 * which counts as leaving. */
struct bytequeue;
struct api_body {
    struct api_req *a;
    struct bytequeue *q;
};
void api_body_open(struct api_body *b, struct api_req *a);
ssize_t api_body_read(void *body, void *buf, size_t cap);
void api_body_close(struct api_body *b);
void api_req_free(struct api_req *a);

/* Replies (each frees `a`). api_reply_json takes ownership of body. */
void api_reply_json(struct api_req *a, int status, json_t *body);
void api_reply_raw(struct api_req *a, int status, const char *ctype, const void *body, size_t len);
void api_reply_status(struct api_req *a, int status); /* no body: 204, 304 ... */
void api_reply_error(struct api_req *a, const struct berth_err *err);
void api_reply_errorf(struct api_req *a, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Streamed replies (pull progress, logs, events). api_stream_end frees a. Writes return false
 * above the connection's high-water mark. */
void api_stream_begin(struct api_req *a, int status, const char *ctype);
bool api_stream_write(struct api_req *a, const void *data, size_t len);
bool api_stream_json(struct api_req *a, const json_t *msg); /* one JSON line */
/* One jsonmessage of a progress stream (pull, push), ended with "\r\n" as dockerd's
 * streamformatter ends them. */
bool api_stream_progress(struct api_req *a, const json_t *msg);
void api_stream_end(struct api_req *a);

/* The HTTP status for an error's errno-style cause (see docs/errors.md). */
int api_status_for(int errnum);
/* True when the client speaks an API version older than v. */
bool api_version_before(const struct api_req *a, const char *v);
/* Adds dockerd's per-response headers (Server, Api-Version, Ostype) to the next reply. */
void api_common_headers(struct http_conn *c);
