/* exec/attach.h — clients attached to a container: output fanned out to each (with Docker's
 * 8-byte stream frames when there is no tty), input passed to the container (with a tty, the
 * detach keys, ctrl-p ctrl-q by default, taken out). A slow client gets its own queue and never
 * slows the container; one far behind is cut off. The transport (a hijacked HTTP connection)
 * belongs to the caller, which lends it through struct attach_link. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/err.h"
#include "core/pool.h"
#include "exec/container.h"
#include "exec/logfile.h"

struct attach_opts {
    bool in, out, err;
    bool stream;             /* live output (and input) from now on */
    bool logs;               /* first the log so far, as dockerd replays it */
    const char *detach_keys; /* "ctrl-p,ctrl-q" form, NULL for the default */
    struct pool *pool;       /* for logs: where the log is read */
    const char *log_path;    /* for logs: the json-file log, NULL when its driver cannot read */
    int log_files;           /* ... kept in this many files (max-file) */
};

/* Parse Docker's detach-keys syntax: "ctrl-a".."ctrl-z", "ctrl-@", "ctrl-[", ... and single
 * characters, comma separated. EINVAL "Invalid detach keys (x) provided". */
int attach_parse_keys(const char *spec, unsigned char *out, size_t *n, struct berth_err **err);

/* A terminal's input watched for the detach sequence (attach, docker exec -it). */
struct attach_keys {
    unsigned char keys[16];
    size_t n, matched;
};
/* Input p minus the sequence: what is to be passed on is appended to out; true once the whole
 * sequence has been typed (the client detaches; what followed it is dropped). Bytes held while
 * a sequence might be starting are passed on once it turns out not to be one. */
bool attach_keys_feed(struct attach_keys *k, const unsigned char *p, size_t n, struct buf *out);

/* Docker's 8-byte stream frame head for n bytes of stream s: [s, 0, 0, 0, big-endian n]. */
void attach_frame_head(unsigned char head[8], enum log_stream s, size_t n);

/* How a client's bytes travel, lent by the caller (ctx is its connection). write queues the
 * bytes and returns false above its high-water mark; pending is what is queued; pause_input
 * and resume_input hold back and release the client's input; on_drain calls fn once the queue
 * is low again; end closes it once its queue is out, or at once when abort. After end, or once
 * the caller has reported attach_gone, no function is called again. */
struct attach_link_ops {
    bool (*write)(void *ctx, const void *data, size_t n);
    size_t (*pending)(void *ctx);
    void (*pause_input)(void *ctx);
    void (*resume_input)(void *ctx);
    void (*on_drain)(void *ctx, void (*fn)(void *arg), void *arg);
    void (*end)(void *ctx, bool abort);
};
struct attach_link {
    const struct attach_link_ops *ops;
    void *ctx;
};

struct attach_client;

/* A new client of c over link. With logs, the log so far goes first (live output meanwhile
 * waits for it); without stream the client is done after it. The caller then feeds it
 * attach_input and reports attach_gone if the transport dies first. */
int attach_add(struct container *c, const struct attach_link *link, const struct attach_opts *o,
               struct attach_client **out, struct berth_err **err);
/* The replay of the log starts (after the caller has answered the request: the log's bytes
 * follow the answer's head). */
void attach_begin(struct attach_client *a);
/* Bytes from the client (n == 0: its input ended; < 0: an error). */
void attach_input(struct attach_client *a, const char *data, ssize_t n);
/* The transport went away on its own: forget the client. */
void attach_gone(struct attach_client *a);
/* Output of the container to every client that asked for the stream. */
void attach_broadcast(struct container *c, enum log_stream s, const char *data, size_t n);
/* The container's output ended: close every client once its queue is flushed. */
void attach_end_all(struct container *c);

/* The container took (or dropped) its pending input: read the clients again. */
void attach_stdin_drained(struct container *c);
