/* core/reactor.h — the one event loop berthd runs on: completions reported through callbacks,
 * io_uring underneath where the kernel allows it, libev (epoll) otherwise. Not thread-safe,
 * except reactor_post(), which is how other threads hand work back. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"

struct reactor;
struct rio;      /* one file descriptor watched by the reactor */
struct sockaddr; /* (not <sys/socket.h>: its bind() and listen() would take names from all) */

typedef void (*reactor_accept_cb)(void *ctx, int fd);                    /* fd < 0: -errno */
typedef void (*reactor_recv_cb)(void *ctx, const char *data, ssize_t n); /* 0 EOF, < 0 -errno */
typedef void (*reactor_sent_cb)(void *ctx, int res);                     /* 0 or -errno */
typedef void (*reactor_poll_cb)(void *ctx, int revents);                 /* POLL* or -errno */
/* One datagram (n >= 0 bytes; 0 is an empty datagram, not an end) and its sender, both valid
 * only during the callback; n < 0: -errno, and the receive has ended. */
typedef void (*reactor_recvmsg_cb)(void *ctx, const char *data, ssize_t n,
                                   const struct sockaddr *from, uint32_t fromlen);

/* Embedded by the caller; the reactor never allocates or frees it. */
struct reactor_timer {
    void (*fn)(struct reactor_timer *t);
    uint64_t _due_ms;
    size_t _heap_pos; /* 0: not armed */
};

/* Embedded by the caller; fn runs on the reactor thread after reactor_post(). */
struct reactor_event {
    void (*fn)(struct reactor_event *ev);
    struct reactor_event *_next;
};

/* backend: "io_uring", "epoll" or NULL/"auto" (io_uring, else epoll on ENOSYS/EPERM). */
struct reactor *reactor_new(const char *backend, struct berth_err **err);
void reactor_free(struct reactor *r);
const char *reactor_backend_name(const struct reactor *r);
/* Dispatch completions until reactor_stop(); returns 0 or a negative errno from the backend. */
int reactor_run(struct reactor *r);
void reactor_stop(struct reactor *r);
/* Monotonic milliseconds, read once per loop turn. */
uint64_t reactor_now_ms(const struct reactor *r);

/* Watch fd (the reactor owns it from now on, and sets it O_NONBLOCK). No callback runs after
 * reactor_io_close(), which also closes the fd; buffers of operations still in flight are
 * reclaimed later. */
struct rio *reactor_io_open(struct reactor *r, int fd, void *ctx);
void reactor_io_close(struct rio *io);
int reactor_io_fd(const struct rio *io);
void reactor_io_set_ctx(struct rio *io, void *ctx);

/* Accept connections until close (multishot); accepted fds are CLOEXEC and non-blocking. */
int reactor_accept(struct rio *io, reactor_accept_cb cb);
/* Deliver incoming bytes until EOF, an error or reactor_recv_pause(). The data is only valid
 * during the callback. Pausing is advisory: bytes the kernel already handed over may still
 * arrive once, so a receiver must keep what it cannot use yet. */
int reactor_recv(struct rio *io, reactor_recv_cb cb);
void reactor_recv_pause(struct rio *io);
/* Send all len bytes of data, which the reactor owns and frees when done. One send at a
 * time per rio; cb reports 0 once everything is written, or the error. */
int reactor_send(struct rio *io, char *data, size_t len, reactor_sent_cb cb);
/* Datagram sockets. Deliver datagrams with their senders until an error or
 * reactor_recv_pause() (which pauses this receive as it does reactor_recv). A datagram longer
 * than REACTOR_DGRAM_MAX (16 KiB less a header) arrives cut to that length. */
#define REACTOR_DGRAM_MAX (16384 - 256)
int reactor_recvmsg(struct rio *io, reactor_recvmsg_cb cb);
/* Send one datagram of len bytes (copied) to `to` (NULL: the connected peer). Fire and forget,
 * as the network is: a datagram the kernel refuses is counted in the reactor's stats, not
 * reported. At most REACTOR_DGRAM_QUEUE datagrams wait or fly per rio; beyond that the call
 * returns -ENOBUFS and nothing is sent, so a flood costs bounded memory. A full socket makes
 * them wait for room, except on an unconnected unix socket, whose poll cannot see a full peer
 * (connect it). */
#define REACTOR_DGRAM_QUEUE 256
int reactor_sendmsg(struct rio *io, const void *data, size_t len, const struct sockaddr *to,
                    uint32_t tolen);

/* One-shot readiness: cb gets the POLL* events that fired. */
int reactor_poll(struct rio *io, int events, reactor_poll_cb cb);

void reactor_timer_start(struct reactor *r, struct reactor_timer *t, uint64_t after_ms);
void reactor_timer_stop(struct reactor *r, struct reactor_timer *t);
/* Thread-safe: queue ev->fn to run on the reactor thread. */
void reactor_post(struct reactor *r, struct reactor_event *ev);
