/* core/reactor_backend.h — the contract between reactor.c and its backends (io_uring, libev).
 * A backend arms operations and reports completions as a batch of struct rdone; nothing else. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"

enum rop {
    ROP_NONE,
    ROP_ACCEPT,
    ROP_RECV,
    ROP_SEND,
    ROP_POLL,
    ROP_RECVMSG, /* datagrams with their senders (multishot) */
    ROP_SENDMSG, /* one datagram; several may be in flight on one rio */
    ROP_CANCEL,
    ROP_MAX
};

/* user_data: 63-56 op | 55-32 rio generation (24 bits) | 31-0 rio slot */
static inline uint64_t ud_pack(enum rop op, uint32_t gen, uint32_t slot)
{
    return ((uint64_t)op << 56) | ((uint64_t)(gen & 0xffffff) << 32) | slot;
}
static inline enum rop ud_op(uint64_t ud)
{
    return (enum rop)(ud >> 56);
}
static inline uint32_t ud_gen(uint64_t ud)
{
    return (uint32_t)(ud >> 32) & 0xffffff;
}
static inline uint32_t ud_slot(uint64_t ud)
{
    return (uint32_t)ud;
}

struct rsub {
    enum rop op;
    uint32_t slot, gen;
    int fd;
    bool is_sock;             /* recv/send vs read/write */
    const char *data;         /* ROP_SEND */
    size_t len;               /* ROP_SEND */
    int events;               /* ROP_POLL: POLLIN/POLLOUT */
    const struct msghdr *msg; /* ROP_SENDMSG: valid until its completion */
    bool ordered_next;        /* ROP_SENDMSG: the next submission goes after this one */
};

struct rdone {
    enum rop op;
    uint32_t slot, gen;
    int32_t res;      /* bytes, fd, revents, or -errno */
    bool more;        /* the operation stays armed (multishot) */
    const char *data; /* ROP_RECV(MSG) bytes, owned by the backend until release() */
    uint32_t buf_id;
    const struct sockaddr *from; /* ROP_RECVMSG: the sender, inside the same buffer */
    socklen_t fromlen;
};

struct reactor_ops {
    const char *name;
    int (*init)(void **impl, struct berth_err **err);
    void (*fini)(void *impl);
    /* Arm one operation; 0 or -errno. */
    int (*submit)(void *impl, const struct rsub *s);
    /* Cancel an armed operation (every ROP_SENDMSG of the rio at once). Returns true when a
     * final completion will still be reported for each, false when they are gone already. */
    bool (*cancel)(void *impl, enum rop op, uint32_t slot, uint32_t gen);
    /* Wait up to timeout_ms (-1: no limit) and fill out[0..max); returns the count or -errno. */
    int (*wait)(void *impl, int timeout_ms, struct rdone *out, int max);
    /* Give back the buffer of a ROP_RECV completion that carried data. */
    void (*release)(void *impl, const struct rdone *d);
};

extern const struct reactor_ops reactor_uring_ops;
extern const struct reactor_ops reactor_ev_ops;
