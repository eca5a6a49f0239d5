/* core/reactor.c — the backend-independent half of the reactor: rio slots with generations,
 * callback dispatch after each wait, timers, and posts from other threads via an eventfd. */
#include "core/reactor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/reactor_backend.h"
#include "core/xalloc.h"

#define BATCH 256
/* Timers run at most this many per turn, so a timer that re-arms itself at 0 ms cannot starve
 * I/O: the rest run on the next turn, which then waits with a zero timeout. */
#define TIMERS_PER_TURN 64

/* One datagram for reactor_sendmsg(), with what sendmsg() needs, in one allocation that lives
 * until its completion. */
struct rdgram {
    struct rdgram *next;
    struct msghdr msg;
    struct iovec iov;
    struct sockaddr_storage to;
    char data[];
};

struct rio {
    struct reactor *r;
    int fd;
    uint32_t slot, gen;
    bool open, is_sock;
    bool accept_wanted, recv_wanted, queued_for_rearm;
    enum rop recv_op; /* what recv_wanted asks for: ROP_RECV or ROP_RECVMSG */
    uint32_t armed;   /* bit (1 << enum rop) per operation in flight */
    void *ctx;
    reactor_accept_cb on_accept;
    reactor_recv_cb on_recv;
    reactor_recvmsg_cb on_recvmsg;
    reactor_sent_cb on_sent;
    reactor_poll_cb on_poll;
    char *send_data;
    size_t send_len, send_off;
    /* Datagrams: those queued wait until every one of the batch in flight has completed, so a
     * batch is freed at once and no completion needs to say which datagram it was. */
    struct rdgram *dg_queue, *dg_last, *dg_flight;
    uint32_t dg_count;    /* queued + in the batch in flight: bounded by REACTOR_DGRAM_QUEUE */
    uint32_t dg_inflight; /* completions still due for dg_flight */
    struct rio *next;     /* free list, or re-arm list */
};

struct reactor {
    const struct reactor_ops *ops;
    void *impl;
    struct rio **slots;
    uint32_t nslots, slots_cap;
    struct rio *free_list;
    struct rio *rearm_list;
    struct reactor_timer **heap; /* 1-based binary min-heap on _due_ms */
    size_t heap_len, heap_cap;
    _Atomic(struct reactor_event *) posted;
    struct rio *wake;
    uint64_t now_ms;
    bool stopping;
    struct {
        uint64_t stale, enobufs, dgram_errors;
    } stats;
    struct rdone batch[BATCH];
};

static uint32_t bit(enum rop op)
{
    return 1u << op;
}

/* ---- timers ---- */

static void heap_swap(struct reactor *r, size_t a, size_t b)
{
    struct reactor_timer *t = r->heap[a];
    r->heap[a] = r->heap[b];
    r->heap[b] = t;
    r->heap[a]->_heap_pos = a;
    r->heap[b]->_heap_pos = b;
}

static void heap_up(struct reactor *r, size_t i)
{
    while (i > 1 && r->heap[i / 2]->_due_ms > r->heap[i]->_due_ms) {
        heap_swap(r, i, i / 2);
        i /= 2;
    }
}

static void heap_down(struct reactor *r, size_t i)
{
    for (;;) {
        size_t l = 2 * i, m = i;
        if (l <= r->heap_len && r->heap[l]->_due_ms < r->heap[m]->_due_ms)
            m = l;
        if (l + 1 <= r->heap_len && r->heap[l + 1]->_due_ms < r->heap[m]->_due_ms)
            m = l + 1;
        if (m == i)
            return;
        heap_swap(r, i, m);
        i = m;
    }
}

void reactor_timer_stop(struct reactor *r, struct reactor_timer *t)
{
    size_t i = t->_heap_pos;
    if (i == 0)
        return;
    heap_swap(r, i, r->heap_len);
    r->heap_len--;
    t->_heap_pos = 0;
    if (i <= r->heap_len) {
        heap_up(r, i);
        heap_down(r, i);
    }
}

void reactor_timer_start(struct reactor *r, struct reactor_timer *t, uint64_t after_ms)
{
    reactor_timer_stop(r, t);
    if (r->heap_len + 2 > r->heap_cap) {
        r->heap_cap = r->heap_cap ? r->heap_cap * 2 : 64;
        r->heap = xrealloc(r->heap, r->heap_cap * sizeof(*r->heap));
    }
    t->_due_ms = mono_ms() + after_ms;
    r->heap[++r->heap_len] = t;
    t->_heap_pos = r->heap_len;
    heap_up(r, r->heap_len);
}

static void run_timers(struct reactor *r)
{
    for (int n = 0; n < TIMERS_PER_TURN && r->heap_len > 0; n++) {
        struct reactor_timer *t = r->heap[1];
        if (t->_due_ms > r->now_ms)
            return;
        reactor_timer_stop(r, t);
        t->fn(t);
    }
}

static int next_timeout(const struct reactor *r)
{
    if (r->rearm_list)
        return 0;
    if (r->heap_len == 0)
        return -1;
    uint64_t due = r->heap[1]->_due_ms, now = mono_ms();
    return due <= now ? 0 : (int)(due - now > 60000 ? 60000 : due - now);
}

/* ---- rio slots ---- */

struct rio *reactor_io_open(struct reactor *r, int fd, void *ctx)
{
    struct rio *io = r->free_list;
    if (io) {
        r->free_list = io->next;
    } else {
        if (r->nslots == r->slots_cap) {
            r->slots_cap = r->slots_cap ? r->slots_cap * 2 : 64;
            r->slots = xrealloc(r->slots, r->slots_cap * sizeof(*r->slots));
        }
        io = xcalloc(1, sizeof(*io));
        io->r = r;
        io->slot = r->nslots;
        r->slots[r->nslots++] = io;
    }
    struct stat st;
    io->fd = fd;
    io->ctx = ctx;
    io->open = true;
    io->is_sock = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
    /* The epoll backend reads and writes itself once the fd is ready; on a blocking fd (an
     * adopted or socket-activated one) a large send() would stall the whole loop. */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && !(fl & O_NONBLOCK))
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    io->next = NULL;
    return io;
}

static void dgram_free(struct rdgram *d)
{
    while (d) {
        struct rdgram *next = d->next;
        free(d);
        d = next;
    }
}

/* A closed rio's slot is reused only once no operation of it is in flight, so every late
 * completion still finds the slot's generation and is recognised as stale. */
static void maybe_recycle(struct rio *io)
{
    if (io->open || io->armed || io->queued_for_rearm)
        return;
    free(io->send_data);
    dgram_free(io->dg_queue);
    dgram_free(io->dg_flight);
    struct reactor *r = io->r;
    uint32_t slot = io->slot, gen = (io->gen + 1) & 0xffffff;
    memset(io, 0, sizeof(*io));
    io->r = r;
    io->slot = slot;
    io->gen = gen;
    io->fd = -1;
    io->next = r->free_list;
    r->free_list = io;
}

static void cancel_op(struct rio *io, enum rop op)
{
    if ((io->armed & bit(op)) && !io->r->ops->cancel(io->r->impl, op, io->slot, io->gen))
        io->armed &= ~bit(op);
}

/* Queued datagrams go now; those in flight stay allocated until their completions have come,
 * or go now when the backend says none will come. */
static void cancel_sendmsg(struct rio *io)
{
    dgram_free(io->dg_queue);
    io->dg_queue = io->dg_last = NULL;
    if (!(io->armed & bit(ROP_SENDMSG)) ||
        io->r->ops->cancel(io->r->impl, ROP_SENDMSG, io->slot, io->gen))
        return;
    io->armed &= ~bit(ROP_SENDMSG);
    dgram_free(io->dg_flight);
    io->dg_flight = NULL;
    io->dg_inflight = 0;
}

void reactor_io_close(struct rio *io)
{
    if (!io || !io->open)
        return;
    io->open = false;
    io->accept_wanted = io->recv_wanted = false;
    for (enum rop op = ROP_ACCEPT; op < ROP_CANCEL; op++)
        if (op == ROP_SENDMSG)
            cancel_sendmsg(io);
        else
            cancel_op(io, op);
    close(io->fd);
    io->fd = -1;
    maybe_recycle(io);
}

int reactor_io_fd(const struct rio *io)
{
    return io->fd;
}

void reactor_io_set_ctx(struct rio *io, void *ctx)
{
    io->ctx = ctx;
}

static int arm(struct rio *io, enum rop op, const char *data, size_t len, int events)
{
    struct rsub s = {.op = op,
                     .slot = io->slot,
                     .gen = io->gen,
                     .fd = io->fd,
                     .is_sock = io->is_sock,
                     .data = data,
                     .len = len,
                     .events = events};
    int r = io->r->ops->submit(io->r->impl, &s);
    if (r < 0)
        return r;
    io->armed |= bit(op);
    return 0;
}

int reactor_accept(struct rio *io, reactor_accept_cb cb)
{
    io->on_accept = cb;
    io->accept_wanted = true;
    return (io->armed & bit(ROP_ACCEPT)) ? 0 : arm(io, ROP_ACCEPT, NULL, 0, 0);
}

int reactor_recv(struct rio *io, reactor_recv_cb cb)
{
    if (!io->open)
        return -EBADF;
    io->on_recv = cb;
    io->recv_op = ROP_RECV;
    io->recv_wanted = true;
    return (io->armed & bit(ROP_RECV)) ? 0 : arm(io, ROP_RECV, NULL, 0, 0);
}

int reactor_recvmsg(struct rio *io, reactor_recvmsg_cb cb)
{
    if (!io->open)
        return -EBADF;
    io->on_recvmsg = cb;
    io->recv_op = ROP_RECVMSG;
    io->recv_wanted = true;
    return (io->armed & bit(ROP_RECVMSG)) ? 0 : arm(io, ROP_RECVMSG, NULL, 0, 0);
}

void reactor_recv_pause(struct rio *io)
{
    io->recv_wanted = false;
    cancel_op(io, io->recv_op == ROP_RECVMSG ? ROP_RECVMSG : ROP_RECV);
}

int reactor_send(struct rio *io, char *data, size_t len, reactor_sent_cb cb)
{
    if (!io->open || io->send_data) {
        free(data);
        return io->open ? -EBUSY : -EBADF;
    }
    io->on_sent = cb;
    io->send_data = data;
    io->send_len = len;
    io->send_off = 0;
    int r = arm(io, ROP_SEND, data, len, 0);
    if (r < 0) {
        io->send_data = NULL;
        free(data);
    }
    return r;
}

/* Send every queued datagram as one batch, unless a batch is still in flight: its completions
 * bring the next one. A batch whose submissions all failed is freed at once. */
static void dgram_flush(struct rio *io)
{
    if (io->dg_flight || !io->dg_queue)
        return;
    io->dg_flight = io->dg_queue;
    io->dg_queue = io->dg_last = NULL;
    for (struct rdgram *d = io->dg_flight; d; d = d->next) {
        struct rsub s = {.op = ROP_SENDMSG,
                         .slot = io->slot,
                         .gen = io->gen,
                         .fd = io->fd,
                         .is_sock = true,
                         .msg = &d->msg,
                         .ordered_next = d->next != NULL};
        if (io->r->ops->submit(io->r->impl, &s) == 0)
            io->dg_inflight++;
        else
            io->r->stats.dgram_errors++;
    }
    if (io->dg_inflight > 0)
        io->armed |= bit(ROP_SENDMSG);
    if (io->dg_inflight == 0) {
        io->dg_count = 0;
        dgram_free(take_ptr(io->dg_flight));
    }
}

int reactor_sendmsg(struct rio *io, const void *data, size_t len, const struct sockaddr *to,
                    uint32_t tolen)
{
    if (!io->open)
        return -EBADF;
    if (to && tolen > sizeof(struct sockaddr_storage))
        return -EINVAL;
    if (io->dg_count >= REACTOR_DGRAM_QUEUE)
        return -ENOBUFS;
    struct rdgram *d = xmalloc(sizeof(*d) + len);
    memcpy(d->data, data, len);
    d->next = NULL;
    d->iov = (struct iovec){.iov_base = d->data, .iov_len = len};
    d->msg = (struct msghdr){.msg_iov = &d->iov, .msg_iovlen = 1};
    if (to) {
        memcpy(&d->to, to, tolen);
        d->msg.msg_name = &d->to;
        d->msg.msg_namelen = tolen;
    }
    if (io->dg_queue)
        io->dg_last->next = d;
    else
        io->dg_queue = d;
    io->dg_last = d;
    io->dg_count++;
    dgram_flush(io);
    return 0;
}

int reactor_poll(struct rio *io, int events, reactor_poll_cb cb)
{
    if (!io->open)
        return -EBADF;
    io->on_poll = cb;
    return (io->armed & bit(ROP_POLL)) ? -EBUSY : arm(io, ROP_POLL, NULL, 0, events);
}

/* ---- dispatch ---- */

static void queue_rearm(struct rio *io)
{
    if (io->queued_for_rearm)
        return;
    io->queued_for_rearm = true;
    io->next = io->r->rearm_list;
    io->r->rearm_list = io;
}

/* Re-arm multishot operations that ended (ENOBUFS, a full CQ, single-shot reads on pipes)
 * once the batch has returned its buffers. */
static void rearm_pending(struct reactor *r)
{
    struct rio *io = r->rearm_list;
    r->rearm_list = NULL;
    while (io) {
        struct rio *next = io->next;
        io->queued_for_rearm = false;
        if (io->open && io->accept_wanted && !(io->armed & bit(ROP_ACCEPT)))
            arm(io, ROP_ACCEPT, NULL, 0, 0);
        if (io->open && io->recv_wanted && !(io->armed & bit(io->recv_op)))
            arm(io, io->recv_op, NULL, 0, 0);
        maybe_recycle(io);
        io = next;
    }
}

static void on_accept_done(struct rio *io, const struct rdone *d)
{
    if (!d->more && d->res >= 0)
        queue_rearm(io); /* multishot ended on its own (e.g. CQ overflow): arm it again */
    if (d->res < 0) {
        io->accept_wanted = false; /* the owner decides whether to try again */
        if (d->res == -ECANCELED)
            return;
    }
    io->on_accept(io->ctx, d->res);
}

static void on_recv_done(struct rio *io, const struct rdone *d)
{
    /* A recv resumed before its cancel completed was not armed again (it looked armed): the
     * ECANCELED that ends it is the moment to do so. */
    if (d->res == -ENOBUFS || (d->res > 0 && !d->more) ||
        (d->res == -ECANCELED && io->recv_wanted)) {
        if (d->res == -ENOBUFS)
            io->r->stats.enobufs++;
        queue_rearm(io);
    }
    if (d->res == -ENOBUFS || d->res == -ECANCELED)
        return;
    if (d->res <= 0)
        io->recv_wanted = false;
    io->on_recv(io->ctx, d->data, d->res);
}

static void on_recvmsg_done(struct rio *io, const struct rdone *d)
{
    if (d->res == -ENOBUFS || (d->res >= 0 && !d->more) ||
        (d->res == -ECANCELED && io->recv_wanted)) {
        if (d->res == -ENOBUFS)
            io->r->stats.enobufs++;
        queue_rearm(io);
    }
    if (d->res == -ENOBUFS || d->res == -ECANCELED)
        return;
    if (d->res < 0 && d->more)
        return; /* one datagram the backend could not frame; the receive goes on */
    if (d->res < 0)
        io->recv_wanted = false;
    io->on_recvmsg(io->ctx, d->data, d->res, d->from, d->fromlen);
}

/* Runs for closed rios too: the batch is freed when its last completion has come. */
static void on_sendmsg_done(struct rio *io, const struct rdone *d)
{
    if (d->res < 0 && d->res != -ECANCELED && io->open)
        io->r->stats.dgram_errors++;
    if (io->dg_inflight == 0 || --io->dg_inflight > 0)
        return;
    io->armed &= ~bit(ROP_SENDMSG);
    for (struct rdgram *g = io->dg_flight; g; g = g->next)
        io->dg_count--;
    dgram_free(take_ptr(io->dg_flight));
    if (io->open)
        dgram_flush(io);
    else
        maybe_recycle(io);
}

static void on_send_done(struct rio *io, const struct rdone *d)
{
    int res = d->res;
    if (res > 0) {
        io->send_off += (size_t)res;
        if (io->send_off < io->send_len &&
            arm(io, ROP_SEND, io->send_data + io->send_off, io->send_len - io->send_off, 0) == 0)
            return; /* short write: the rest goes out before the callback */
        res = io->send_off < io->send_len ? -EIO : 0;
    } else if (res == 0) {
        res = -EPIPE;
    }
    free(io->send_data);
    io->send_data = NULL;
    io->on_sent(io->ctx, res); /* last: the callback may start the next send */
}

static void dispatch(struct reactor *r, const struct rdone *d)
{
    struct rio *io = d->slot < r->nslots ? r->slots[d->slot] : NULL;
    if (!io || io->gen != d->gen || d->op == ROP_CANCEL) {
        r->stats.stale += d->op != ROP_CANCEL;
        return;
    }
    if (d->op == ROP_SENDMSG) {
        on_sendmsg_done(io, d);
        return;
    }
    if (!d->more)
        io->armed &= ~bit(d->op);
    if (!io->open) {
        r->stats.stale++;
        maybe_recycle(io);
        return;
    }
    switch (d->op) {
    case ROP_ACCEPT:
        on_accept_done(io, d);
        break;
    case ROP_RECV:
        on_recv_done(io, d);
        break;
    case ROP_RECVMSG:
        on_recvmsg_done(io, d);
        break;
    case ROP_SEND:
        on_send_done(io, d);
        break;
    case ROP_POLL:
        if (d->res != -ECANCELED)
            io->on_poll(io->ctx, d->res);
        break;
    default:
        break;
    }
}

int reactor_run(struct reactor *r)
{
    r->stopping = false;
    while (!r->stopping) {
        int n = r->ops->wait(r->impl, next_timeout(r), r->batch, BATCH);
        if (n < 0 && n != -EINTR && n != -ETIME && n != -EAGAIN)
            return n;
        r->now_ms = mono_ms();
        for (int i = 0; i < n; i++) {
            dispatch(r, &r->batch[i]);
            if (r->batch[i].data)
                r->ops->release(r->impl, &r->batch[i]);
        }
        rearm_pending(r);
        run_timers(r);
    }
    return 0;
}

void reactor_stop(struct reactor *r)
{
    r->stopping = true;
}

uint64_t reactor_now_ms(const struct reactor *r)
{
    return r->now_ms;
}

/* ---- posts from other threads ---- */

/* Lock-free push; the writer that finds the stack empty wakes the reactor. The reactor reads
 * the eventfd before taking the whole stack, so a push can never be left without a wake-up. */
void reactor_post(struct reactor *r, struct reactor_event *ev)
{
    struct reactor_event *head = atomic_load(&r->posted);
    do {
        ev->_next = head;
    } while (!atomic_compare_exchange_weak(&r->posted, &head, ev));
    if (head == NULL) {
        uint64_t one = 1;
        (void)!write(reactor_io_fd(r->wake), &one, sizeof(one));
    }
}

static void on_wake(void *ctx, int revents)
{
    struct reactor *r = ctx;
    uint64_t count;
    (void)!read(reactor_io_fd(r->wake), &count, sizeof(count));
    struct reactor_event *list = atomic_exchange(&r->posted, NULL), *fifo = NULL;
    while (list) { /* the stack is newest-first: reverse it so posts run in order */
        struct reactor_event *next = list->_next;
        list->_next = fifo;
        fifo = list;
        list = next;
    }
    while (fifo) {
        struct reactor_event *next = fifo->_next;
        fifo->fn(fifo);
        fifo = next;
    }
    if (revents >= 0 && reactor_poll(r->wake, POLLIN, on_wake) < 0)
        log_error("reactor: cannot re-arm the wake-up eventfd");
}

/* ---- life cycle ---- */

/* Stands for a name we do not know. It must be static: a compound literal returned from
 * pick_backend() died with it, and the compiler dropped the check (`--reactor bogus` crashed). */
static const struct reactor_ops unknown_backend = {.name = NULL};

static const struct reactor_ops *pick_backend(const char *name)
{
    if (!name || !*name || strcmp(name, "auto") == 0)
        return NULL;
    if (strcmp(name, "io_uring") == 0 || strcmp(name, "uring") == 0)
        return &reactor_uring_ops;
    if (strcmp(name, "epoll") == 0 || strcmp(name, "ev") == 0 || strcmp(name, "libev") == 0)
        return &reactor_ev_ops;
    return &unknown_backend;
}

static int init_backend(struct reactor *r, const char *want, struct berth_err **err)
{
    const struct reactor_ops *ops = pick_backend(want);
    if (ops && !ops->name)
        return berth_user_error(err, EINVAL, "unknown reactor `%s` (use io_uring or epoll)", want);
    if (ops) {
        r->ops = ops;
        return ops->init(&r->impl, err);
    }
    _cleanup_err_ struct berth_err *uring_err = NULL;
    r->ops = &reactor_uring_ops;
    if (r->ops->init(&r->impl, &uring_err) == 0)
        return 0;
    if (uring_err->status != ENOSYS && uring_err->status != EPERM)
        log_warn("reactor: %s; falling back to epoll", uring_err->msg);
    r->ops = &reactor_ev_ops;
    return r->ops->init(&r->impl, err);
}

struct reactor *reactor_new(const char *backend, struct berth_err **err)
{
    struct reactor *r = xcalloc(1, sizeof(*r));
    if (init_backend(r, backend, err) < 0) {
        free(r);
        return NULL;
    }
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0) {
        berth_error(err, errno, "eventfd");
        r->ops->fini(r->impl);
        free(r);
        return NULL;
    }
    r->now_ms = mono_ms();
    r->wake = reactor_io_open(r, efd, r);
    reactor_poll(r->wake, POLLIN, on_wake);
    log_debug("reactor: using %s", r->ops->name);
    return r;
}

const char *reactor_backend_name(const struct reactor *r)
{
    return r->ops->name;
}

void reactor_free(struct reactor *r)
{
    if (!r)
        return;
    r->ops->fini(r->impl); /* first: in-flight operations may still point at send buffers */
    for (uint32_t i = 0; i < r->nslots; i++) {
        struct rio *io = r->slots[i];
        if (io->open)
            close(io->fd);
        free(io->send_data);
        dgram_free(io->dg_queue);
        dgram_free(io->dg_flight);
        free(io);
    }
    free(r->slots);
    free(r->heap);
    free(r);
}
