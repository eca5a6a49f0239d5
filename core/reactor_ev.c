/* core/reactor_ev.c — libev (epoll) backend for kernels without io_uring: it performs the
 * accept/read/send itself when the fd is ready and reports results exactly as io_uring would. */
#include <errno.h>
#include <ev.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/reactor.h"
#include "core/reactor_backend.h"
#include "core/xalloc.h"

#define BUF_SIZE         16384
#define ACCEPTS_PER_WAKE 64
/* Datagrams read per readiness: each is a whole message, so a few per wake save epoll turns
 * without letting one busy socket starve the others for long. */
#define DGRAMS_PER_WAKE 32
/* A datagram buffer holds the bytes first (so release() gets the start back) and the sender in
 * its last bytes. */
#define DGRAM_NAME_OFF (BUF_SIZE - (int)sizeof(struct sockaddr_storage))
_Static_assert(REACTOR_DGRAM_MAX <= DGRAM_NAME_OFF, "a datagram leaves room for its sender");

struct evbe;

struct evslot {
    struct evbe *be;
    ev_io rd, wr; /* rd: accept, recv or poll-in; wr: send or poll-out */
    enum rop rd_op, wr_op;
    uint32_t slot, gen;
    int fd;
    bool is_sock;
    const char *send_data;
    size_t send_len;
    /* ROP_SENDMSG: datagrams that met a full socket, sent in order once it is writable. */
    const struct msghdr **dgrams;
    size_t ndgrams, dgrams_cap;
};

struct evbe {
    struct ev_loop *loop;
    ev_timer timeout;
    struct evslot **slots;
    uint32_t nslots;
    struct rdone *q; /* completions waiting for wait() to hand them out */
    size_t qhead, qlen, qcap;
    char **spare; /* recycled receive buffers */
    size_t nspare, spare_cap;
};

static struct rdone *push(struct evbe *be, struct evslot *s, enum rop op, int32_t res, bool more,
                          const char *data)
{
    if (be->qhead + be->qlen == be->qcap) {
        if (be->qhead > 0) {
            memmove(be->q, be->q + be->qhead, be->qlen * sizeof(*be->q));
            be->qhead = 0;
        } else {
            be->qcap = be->qcap ? be->qcap * 2 : 256;
            be->q = xrealloc(be->q, be->qcap * sizeof(*be->q));
        }
    }
    struct rdone *d = &be->q[be->qhead + be->qlen++];
    *d = (struct rdone){
        .op = op, .slot = s->slot, .gen = s->gen, .res = res, .more = more, .data = data};
    return d;
}

static char *get_buf(struct evbe *be)
{
    return be->nspare ? be->spare[--be->nspare] : xmalloc(BUF_SIZE);
}

static void put_buf(struct evbe *be, char *buf)
{
    if (be->nspare == be->spare_cap) {
        be->spare_cap = be->spare_cap ? be->spare_cap * 2 : 64;
        be->spare = xrealloc(be->spare, be->spare_cap * sizeof(*be->spare));
    }
    be->spare[be->nspare++] = buf;
}

static void do_accept(struct evbe *be, struct evslot *s)
{
    for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
        int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            push(be, s, ROP_ACCEPT, fd, true, NULL);
            continue;
        }
        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
            return;
        ev_io_stop(be->loop, &s->rd); /* as a multishot accept ends on error */
        push(be, s, ROP_ACCEPT, -errno, false, NULL);
        return;
    }
}

static void do_recv(struct evbe *be, struct evslot *s)
{
    char *buf = get_buf(be);
    ssize_t n = s->is_sock ? recv(s->fd, buf, BUF_SIZE, 0) : read(s->fd, buf, BUF_SIZE);
    if (n > 0) {
        push(be, s, ROP_RECV, (int32_t)n, true, buf);
        return;
    }
    int e = errno;
    put_buf(be, buf);
    if (n < 0 && (e == EAGAIN || e == EINTR))
        return;
    ev_io_stop(be->loop, &s->rd);
    push(be, s, ROP_RECV, n == 0 ? 0 : -e, false, NULL);
}

static void do_recvmsg(struct evbe *be, struct evslot *s)
{
    for (int i = 0; i < DGRAMS_PER_WAKE; i++) {
        char *buf = get_buf(be);
        struct iovec iov = {.iov_base = buf, .iov_len = REACTOR_DGRAM_MAX};
        struct msghdr msg = {.msg_name = buf + DGRAM_NAME_OFF,
                             .msg_namelen = sizeof(struct sockaddr_storage),
                             .msg_iov = &iov,
                             .msg_iovlen = 1};
        ssize_t n = recvmsg(s->fd, &msg, 0);
        if (n >= 0) {
            struct rdone *d = push(be, s, ROP_RECVMSG, (int32_t)n, true, buf);
            d->from = msg.msg_name;
            d->fromlen = msg.msg_namelen;
            continue;
        }
        int e = errno;
        put_buf(be, buf);
        if (e == EAGAIN || e == EINTR)
            return;
        ev_io_stop(be->loop, &s->rd);
        push(be, s, ROP_RECVMSG, -e, false, NULL);
        return;
    }
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    struct evslot *s = w->data;
    if (s->rd_op == ROP_ACCEPT) {
        do_accept(s->be, s);
    } else if (s->rd_op == ROP_RECV) {
        do_recv(s->be, s);
    } else if (s->rd_op == ROP_RECVMSG) {
        do_recvmsg(s->be, s);
    } else {
        ev_io_stop(s->be->loop, w);
        push(s->be, s, ROP_POLL, (revents & EV_READ) ? POLLIN : POLLERR, false, NULL);
    }
}

/* Returns true when the send finished (fully, partly or with an error) and was reported. */
static bool try_send(struct evbe *be, struct evslot *s)
{
    ssize_t n = s->is_sock ? send(s->fd, s->send_data, s->send_len, MSG_NOSIGNAL)
                           : write(s->fd, s->send_data, s->send_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return false;
    push(be, s, ROP_SEND, n < 0 ? -errno : (int32_t)n, false, NULL);
    return true;
}

/* Sends the waiting datagrams in order; false when the socket filled up again. A datagram the
 * kernel refuses for another reason is reported and the next one goes. */
static bool flush_dgrams(struct evbe *be, struct evslot *s)
{
    size_t i = 0;
    for (; i < s->ndgrams; i++) {
        ssize_t n = sendmsg(s->fd, s->dgrams[i], MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        push(be, s, ROP_SENDMSG, n < 0 ? -errno : (int32_t)n, false, NULL);
    }
    memmove(s->dgrams, s->dgrams + i, (s->ndgrams - i) * sizeof(*s->dgrams));
    s->ndgrams -= i;
    return s->ndgrams == 0;
}

static int submit_sendmsg(struct evbe *be, struct evslot *s, const struct msghdr *msg)
{
    if (ev_is_active(&s->wr) && s->wr_op != ROP_SENDMSG)
        return -EBUSY;
    if (s->ndgrams == s->dgrams_cap) {
        s->dgrams_cap = s->dgrams_cap ? s->dgrams_cap * 2 : 16;
        s->dgrams = xrealloc(s->dgrams, s->dgrams_cap * sizeof(*s->dgrams));
    }
    s->dgrams[s->ndgrams++] = msg;
    if (ev_is_active(&s->wr) || flush_dgrams(be, s))
        return 0; /* behind others, or sent (most datagrams fit the socket buffer) */
    s->wr_op = ROP_SENDMSG;
    ev_io_set(&s->wr, s->fd, EV_WRITE);
    ev_io_start(be->loop, &s->wr);
    return 0;
}

static void on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct evslot *s = w->data;
    if (s->wr_op == ROP_SENDMSG) {
        if (flush_dgrams(s->be, s))
            ev_io_stop(loop, w);
        return;
    }
    if (s->wr_op == ROP_SEND) {
        if (try_send(s->be, s))
            ev_io_stop(loop, w);
        return;
    }
    ev_io_stop(loop, w);
    push(s->be, s, ROP_POLL, (revents & EV_WRITE) ? POLLOUT : POLLERR, false, NULL);
}

static struct evslot *slot_for(struct evbe *be, const struct rsub *sub)
{
    if (sub->slot >= be->nslots) {
        uint32_t n = be->nslots ? be->nslots : 64;
        while (n <= sub->slot)
            n *= 2;
        be->slots = xrealloc(be->slots, n * sizeof(*be->slots));
        memset(be->slots + be->nslots, 0, (n - be->nslots) * sizeof(*be->slots));
        be->nslots = n;
    }
    struct evslot *s = be->slots[sub->slot];
    if (!s) {
        s = be->slots[sub->slot] = xcalloc(1, sizeof(*s));
        s->be = be;
        ev_init(&s->rd, on_readable);
        ev_init(&s->wr, on_writable);
        s->rd.data = s->wr.data = s;
    }
    if (s->gen != sub->gen || s->fd != sub->fd) {
        ev_io_stop(be->loop, &s->rd); /* a recycled slot: normally stopped when it closed */
        ev_io_stop(be->loop, &s->wr);
        s->gen = sub->gen;
        s->fd = sub->fd;
        s->slot = sub->slot;
        s->is_sock = sub->is_sock;
        s->ndgrams = 0;
    }
    return s;
}

static int start(struct evbe *be, struct evslot *s, ev_io *w, int events)
{
    if (ev_is_active(w))
        return -EBUSY;
    ev_io_set(w, s->fd, events);
    ev_io_start(be->loop, w);
    return 0;
}

static int ev_submit(void *impl, const struct rsub *sub)
{
    struct evbe *be = impl;
    struct evslot *s = slot_for(be, sub);
    if (sub->op == ROP_SENDMSG)
        return submit_sendmsg(be, s, sub->msg);
    bool reads = sub->op != ROP_SEND && !(sub->op == ROP_POLL && !(sub->events & POLLIN));
    if (reads) {
        if (ev_is_active(&s->rd))
            return -EBUSY;
        s->rd_op = sub->op;
        return start(be, s, &s->rd, EV_READ);
    }
    if (ev_is_active(&s->wr))
        return -EBUSY;
    s->wr_op = sub->op;
    if (sub->op == ROP_SEND) {
        s->send_data = sub->data;
        s->send_len = sub->len;
        if (try_send(be, s)) /* most sends fit the socket buffer: skip a round through epoll */
            return 0;
    }
    return start(be, s, &s->wr, EV_WRITE);
}

/* libev stops a watcher synchronously, so no completion follows a cancel. */
static bool ev_cancel(void *impl, enum rop op, uint32_t slot, uint32_t gen)
{
    struct evbe *be = impl;
    struct evslot *s = slot < be->nslots ? be->slots[slot] : NULL;
    if (!s || s->gen != gen)
        return false;
    if (s->rd_op == op)
        ev_io_stop(be->loop, &s->rd);
    if (s->wr_op == op)
        ev_io_stop(be->loop, &s->wr);
    if (op == ROP_SENDMSG)
        s->ndgrams = 0; /* the caller frees them: no completion follows */
    return false;
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)w, (void)revents;
}

static int ev_wait(void *impl, int timeout_ms, struct rdone *out, int max)
{
    struct evbe *be = impl;
    if (be->qlen > 0) {
        ev_run(be->loop, EVRUN_NOWAIT);
    } else if (timeout_ms < 0) {
        ev_run(be->loop, EVRUN_ONCE);
    } else {
        ev_now_update(be->loop);
        ev_timer_set(&be->timeout, timeout_ms / 1000.0, 0.);
        ev_timer_start(be->loop, &be->timeout);
        ev_run(be->loop, EVRUN_ONCE);
        ev_timer_stop(be->loop, &be->timeout);
    }
    int n = 0;
    while (n < max && be->qlen > 0) {
        out[n++] = be->q[be->qhead++];
        be->qlen--;
    }
    if (be->qlen == 0)
        be->qhead = 0;
    return n;
}

static void ev_release(void *impl, const struct rdone *d)
{
    put_buf(impl, (char *)d->data);
}

static int ev_init_backend(void **impl, struct berth_err **err)
{
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV | EVFLAG_NOSIGMASK);
    if (!loop)
        loop = ev_loop_new(EVFLAG_NOENV | EVFLAG_NOSIGMASK);
    if (!loop)
        return berth_error(err, ENOSYS, "libev: no usable backend");
    struct evbe *be = xcalloc(1, sizeof(*be));
    be->loop = loop;
    ev_init(&be->timeout, on_timeout);
    *impl = be;
    return 0;
}

static void ev_fini(void *impl)
{
    struct evbe *be = impl;
    if (!be)
        return;
    for (uint32_t i = 0; i < be->nslots; i++) {
        if (be->slots[i])
            free(be->slots[i]->dgrams);
        free(be->slots[i]);
    }
    for (size_t i = 0; i < be->qlen; i++)
        free((char *)be->q[be->qhead + i].data);
    for (size_t i = 0; i < be->nspare; i++)
        free(be->spare[i]);
    ev_loop_destroy(be->loop);
    free(be->slots);
    free(be->q);
    free(be->spare);
    free(be);
}

const struct reactor_ops reactor_ev_ops = {
    .name = "epoll",
    .init = ev_init_backend,
    .fini = ev_fini,
    .submit = ev_submit,
    .cancel = ev_cancel,
    .wait = ev_wait,
    .release = ev_release,
};
