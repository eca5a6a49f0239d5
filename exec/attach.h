/* exec/attach.h — clients attached to a container over hijacked connections: output fanned
 * out to each (with Docker's 8-byte stream frames when there is no tty), input passed to the
 * container (with a tty, the detach keys, ctrl-p ctrl-q by default, taken out). A slow client
 * gets its own queue and never slows the container; one far behind is cut off. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/http_server.h"
#include "core/pool.h"
#include "exec/container.h"
#include "exec/logfile.h"

struct attach_opts {
    bool in, out, err;
    bool stream;             /* live output (and input) from now on */
    bool logs;               /* first the log so far, as dockerd replays it */
    bool upgrade;            /* the request asked for it: answer 101, else 200 (old clients) */
    const char *detach_keys; /* "ctrl-p,ctrl-q" form, NULL for the default */
    struct pool *pool;       /* for logs: where the log is read */
    const char *log_path;    /* for logs: the json-file log, NULL when its driver cannot read */
    int log_files;           /* ... kept in this many files (max-file) */
};

/* Parse Docker's detach-keys syntax: "ctrl-a".."ctrl-z", "ctrl-@", "ctrl-[", ... and single
 * characters, comma separated. EINVAL "Invalid detach keys (x) provided". */
int attach_parse_keys(const char *spec, unsigned char *out, size_t *n, struct berth_err **err);

/* Take over the connection (answering 101 or 200) as an attach client of c. With logs, the
 * log so far goes first (live output meanwhile waits for it); without stream the client is
 * done after it. */
int attach_add(struct container *c, struct http_conn *conn, const struct attach_opts *o,
               struct berth_err **err);
/* Output of the container to every client that asked for the stream. */
void attach_broadcast(struct container *c, enum log_stream s, const char *data, size_t n);
/* The container's output ended: close every client once its queue is flushed. */
void attach_end_all(struct container *c);

/* Where attach input goes: set by exec/run.c while the container runs. write returns the
 * bytes still waiting for the container: past a limit, clients are not read from until
 * attach_stdin_drained (as dockerd's pipe blocks them; berthd does not buffer without end). */
void attach_set_stdin(size_t (*write)(struct container *c, const char *data, size_t n),
                      void (*close)(struct container *c));
/* The container took (or dropped) its pending input: read the clients again. */
void attach_stdin_drained(struct container *c);
