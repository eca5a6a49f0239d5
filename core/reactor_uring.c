/* core/reactor_uring.c — io_uring backend: multishot accept and recv with one provided-buffer
 * ring, sends and polls as single SQEs, completions reaped in batches. Exports only the ops. */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "core/macros.h"
#include "core/reactor.h"
#include "core/reactor_backend.h"
#include "core/xalloc.h"

#define SQ_ENTRIES 512
#define CQ_ENTRIES 4096
#define BUF_GROUP  0
#define BUF_COUNT  128 /* power of two */
#define BUF_SIZE   16384

struct uring {
    struct io_uring ring;
    struct io_uring_buf_ring *br;
    size_t br_size;
    char *bufs;
    /* What a multishot recvmsg fills in at the head of each buffer: room for the sender, no
     * control data. The kernel reads it at submission; the same one serves every socket. */
    struct msghdr recvmsg_shape;
};

/* A datagram buffer: io_uring's header, the sender (recvmsg_shape.msg_namelen), then the bytes;
 * REACTOR_DGRAM_MAX leaves room for the first two. */
_Static_assert(sizeof(struct io_uring_recvmsg_out) + sizeof(struct sockaddr_storage) +
                       REACTOR_DGRAM_MAX <=
                   BUF_SIZE,
               "a datagram buffer holds header, sender and REACTOR_DGRAM_MAX bytes");

/* Ring setup prefers SINGLE_ISSUER|DEFER_TASKRUN (completions run only when we wait, on this
 * thread) and falls back to COOP_TASKRUN, then to no flags, on -EINVAL from older kernels. */
static int setup_ring(struct io_uring *ring)
{
    static const unsigned flag_sets[] = {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
                                         IORING_SETUP_COOP_TASKRUN, 0};
    int r = -EINVAL;
    for (size_t i = 0; i < ARRAY_SIZE(flag_sets) && r == -EINVAL; i++) {
        struct io_uring_params p = {.flags = flag_sets[i] | IORING_SETUP_CQSIZE,
                                    .cq_entries = CQ_ENTRIES};
        r = io_uring_queue_init_params(SQ_ENTRIES, ring, &p);
    }
    return r;
}

/* liburing 2.3 has no io_uring_setup_buf_ring(): map and register the ring by hand. */
static int setup_buffers(struct uring *u)
{
    u->br_size = BUF_COUNT * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, u->br_size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED)
        return -errno;
    u->br = mem;
    io_uring_buf_ring_init(u->br);
    struct io_uring_buf_reg reg = {
        .ring_addr = (unsigned long)mem, .ring_entries = BUF_COUNT, .bgid = BUF_GROUP};
    int r = io_uring_register_buf_ring(&u->ring, &reg, 0);
    if (r < 0)
        return r;
    u->bufs = xmalloc((size_t)BUF_COUNT * BUF_SIZE);
    for (unsigned i = 0; i < BUF_COUNT; i++)
        io_uring_buf_ring_add(u->br, u->bufs + (size_t)i * BUF_SIZE, BUF_SIZE, (unsigned short)i,
                              io_uring_buf_ring_mask(BUF_COUNT), (int)i);
    io_uring_buf_ring_advance(u->br, BUF_COUNT);
    return 0;
}

static void uring_fini(void *impl)
{
    struct uring *u = impl;
    if (!u)
        return;
    io_uring_queue_exit(&u->ring);
    if (u->br)
        munmap(u->br, u->br_size);
    free(u->bufs);
    free(u);
}

static int uring_init(void **impl, struct berth_err **err)
{
    struct uring *u = xcalloc(1, sizeof(*u));
    int r = setup_ring(&u->ring);
    if (r < 0) {
        free(u);
        return berth_error(err, -r, "io_uring setup");
    }
    u->recvmsg_shape.msg_namelen = sizeof(struct sockaddr_storage);
    r = setup_buffers(u);
    if (r < 0) {
        uring_fini(u);
        /* a kernel without provided-buffer rings is as good as one without io_uring here */
        return berth_error(err, r == -EINVAL ? ENOSYS : -r, "io_uring buffer ring");
    }
    *impl = u;
    return 0;
}

/* Never fails for want of space: a full SQ is submitted to make room. */
static struct io_uring_sqe *get_sqe(struct uring *u)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (!sqe) {
        io_uring_submit(&u->ring);
        sqe = io_uring_get_sqe(&u->ring);
    }
    return sqe;
}

static int uring_submit(void *impl, const struct rsub *s)
{
    struct uring *u = impl;
    struct io_uring_sqe *sqe = get_sqe(u);
    if (!sqe)
        return -EBUSY;
    switch (s->op) {
    case ROP_ACCEPT:
        io_uring_prep_multishot_accept(sqe, s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        break;
    case ROP_RECV:
        if (s->is_sock)
            io_uring_prep_recv_multishot(sqe, s->fd, NULL, 0, 0);
        else
            io_uring_prep_read(sqe, s->fd, NULL, BUF_SIZE, (__u64)-1);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = BUF_GROUP;
        break;
    case ROP_RECVMSG:
        io_uring_prep_recvmsg_multishot(sqe, s->fd, &u->recvmsg_shape, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = BUF_GROUP;
        break;
    case ROP_SENDMSG:
        io_uring_prep_sendmsg(sqe, s->fd, s->msg, MSG_NOSIGNAL);
        /* A batch goes as one hard-linked chain: in order, one at a time waiting for room (a
         * herd of sends woken together would mostly fail with EAGAIN, as an O_NONBLOCK socket
         * is polled once per request), and a refused datagram does not cancel the rest. */
        if (s->ordered_next)
            sqe->flags |= IOSQE_IO_HARDLINK;
        break;
    case ROP_SEND:
        if (s->is_sock)
            io_uring_prep_send(sqe, s->fd, s->data, s->len, MSG_NOSIGNAL);
        else
            io_uring_prep_write(sqe, s->fd, s->data, (unsigned)s->len, (__u64)-1);
        break;
    case ROP_POLL:
        io_uring_prep_poll_add(sqe, s->fd, (unsigned)s->events);
        break;
    default:
        return -EINVAL;
    }
    io_uring_sqe_set_data64(sqe, ud_pack(s->op, s->gen, s->slot));
    return 0;
}

/* The op's own final CQE (ECANCELED, or its result if it had just finished) always follows. */
static bool uring_cancel(void *impl, enum rop op, uint32_t slot, uint32_t gen)
{
    struct uring *u = impl;
    struct io_uring_sqe *sqe = get_sqe(u);
    /* Several datagram sends share one user_data: cancel them all (a kernel before 5.19 refuses
     * the flag, and its sends then simply finish). */
    io_uring_prep_cancel64(sqe, ud_pack(op, gen, slot),
                           op == ROP_SENDMSG ? IORING_ASYNC_CANCEL_ALL : 0);
    io_uring_sqe_set_data64(sqe, ud_pack(ROP_CANCEL, 0, 0));
    return true;
}

/* A multishot recvmsg buffer starts with io_uring's header and the sender: point the
 * completion at the datagram inside it. */
static void unframe_datagram(struct uring *u, struct rdone *d)
{
    struct io_uring_recvmsg_out *o =
        io_uring_recvmsg_validate((void *)d->data, d->res, &u->recvmsg_shape);
    if (!o) {
        d->res = -EMSGSIZE;
        return;
    }
    d->from = io_uring_recvmsg_name(o);
    d->fromlen =
        o->namelen < u->recvmsg_shape.msg_namelen ? o->namelen : u->recvmsg_shape.msg_namelen;
    unsigned len = io_uring_recvmsg_payload_length(o, d->res, &u->recvmsg_shape);
    d->res = (int32_t)(len < REACTOR_DGRAM_MAX ? len : REACTOR_DGRAM_MAX); /* as epoll cuts */
    d->data = io_uring_recvmsg_payload(o, &u->recvmsg_shape);
}

static int reap(struct uring *u, struct rdone *out, int max)
{
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    int n = 0;
    io_uring_for_each_cqe(&u->ring, head, cqe)
    {
        if (n == max)
            break;
        seen++;
        uint64_t ud = io_uring_cqe_get_data64(cqe);
        if (ud_op(ud) == ROP_CANCEL)
            continue;
        struct rdone *d = &out[n++];
        *d = (struct rdone){.op = ud_op(ud),
                            .slot = ud_slot(ud),
                            .gen = ud_gen(ud),
                            .res = cqe->res,
                            .more = cqe->flags & IORING_CQE_F_MORE};
        if (cqe->flags & IORING_CQE_F_BUFFER) {
            d->buf_id = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
            d->data = u->bufs + (size_t)d->buf_id * BUF_SIZE;
            if (d->op == ROP_RECVMSG && d->res >= 0)
                unframe_datagram(u, d);
        }
    }
    io_uring_cq_advance(&u->ring, seen);
    return n;
}

static int uring_wait(void *impl, int timeout_ms, struct rdone *out, int max)
{
    struct uring *u = impl;
    struct io_uring_cqe *cqe;
    int r;
    if (timeout_ms < 0) {
        r = io_uring_submit_and_wait(&u->ring, 1);
    } else {
        struct __kernel_timespec ts = {.tv_sec = timeout_ms / 1000,
                                       .tv_nsec = (long long)(timeout_ms % 1000) * 1000000};
        r = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
    }
    if (r < 0 && r != -ETIME && r != -EINTR)
        return r;
    return reap(u, out, max);
}

static void uring_release(void *impl, const struct rdone *d)
{
    struct uring *u = impl;
    io_uring_buf_ring_add(u->br, u->bufs + (size_t)d->buf_id * BUF_SIZE, BUF_SIZE,
                          (unsigned short)d->buf_id, io_uring_buf_ring_mask(BUF_COUNT), 0);
    io_uring_buf_ring_advance(u->br, 1);
}

const struct reactor_ops reactor_uring_ops = {
    .name = "io_uring",
    .init = uring_init,
    .fini = uring_fini,
    .submit = uring_submit,
    .cancel = uring_cancel,
    .wait = uring_wait,
    .release = uring_release,
};
