/* tests/core/test_reactor.c — the reactor on both backends: accept/recv/send, large sends with
 * short writes, EOF, closing with operations in flight (stale completions dropped), recv
 * pause, one-shot poll, datagrams with their senders, timers, and posts from other threads.
 * Includes reactor.c to reach its slots, generations and stats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/macros.h"
#include "core/reactor.c"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/un.h>

#include "core/buf.h"
#include "tests/core/reactor_helpers.h"

struct fx {
    const char *backend;
    struct reactor *r;
    char dir[64];
};

static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    f->backend = *state;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    reactor_free(f->r);
    if (f->dir[0]) {
        char path[128];
        snprintf(path, sizeof(path), "%s/s.sock", f->dir);
        unlink(path);
        rmdir(f->dir);
    }
    free(f);
    return 0;
}

static struct reactor *fx_reactor(void **state)
{
    struct fx *f = *state;
    f->r = test_reactor_new(f->backend);
    return f->r;
}

static bool is_uring(const struct reactor *r)
{
    return strcmp(reactor_backend_name(r), "io_uring") == 0;
}

static void make_pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

/* ---- backend selection ---- */

static void test_backend_names(void **state)
{
    struct fx *f = *state;
    _cleanup_err_ struct berth_err *err = NULL;
    struct reactor *r = fx_reactor(state);
    assert_string_equal(reactor_backend_name(r), f->backend);
    const char *alias = is_uring(r) ? "uring" : "ev";
    struct reactor *r2 = reactor_new(alias, &err);
    assert_non_null(r2);
    assert_string_equal(reactor_backend_name(r2), f->backend);
    reactor_free(r2);

    assert_null(reactor_new("kqueue", &err));
    assert_int_equal(err->status, EINVAL);
    assert_non_null(strstr(err->msg, "kqueue"));

    struct reactor *any = reactor_new("auto", NULL);
    assert_non_null(any);
    reactor_free(any);
}

/* ---- accept, recv, send ---- */

#define NCLIENTS 3

struct echo_conn {
    struct rio *io;
    struct buf pending;
    bool sending;
};

struct echo {
    struct reactor *r;
    int accepted;
    struct echo_conn srv[NCLIENTS];
    struct rio *cli[NCLIENTS];
    struct buf got[NCLIENTS];
    int cli_eof[NCLIENTS];
    int srv_closed;
    int cli_sent;
};

static void echo_flush(struct echo_conn *c);

static void echo_sent(void *ctx, int res)
{
    struct echo_conn *c = ctx;
    assert_int_equal(res, 0);
    c->sending = false;
    echo_flush(c);
}

static void echo_flush(struct echo_conn *c)
{
    if (c->sending || c->pending.len == 0)
        return;
    size_t len;
    char *data = buf_steal(&c->pending, &len);
    c->sending = true;
    assert_int_equal(reactor_send(c->io, data, len, echo_sent), 0);
}

static void echo_srv_recv(void *ctx, const char *data, ssize_t n)
{
    struct echo_conn *c = ctx;
    if (n > 0) {
        buf_append(&c->pending, data, (size_t)n);
        echo_flush(c);
        return;
    }
    assert_int_equal(n, 0);
    reactor_io_close(c->io); /* the client finished: close our end */
    c->io = NULL;
}

static void echo_accept(void *ctx, int fd)
{
    struct echo *e = ctx;
    assert_true(fd >= 0);
    assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_true(e->accepted < NCLIENTS);
    struct echo_conn *c = &e->srv[e->accepted++];
    c->io = reactor_io_open(e->r, fd, c);
    assert_int_equal(reactor_recv(c->io, echo_srv_recv), 0);
}

static int cli_index(struct echo *e, void *ctx)
{
    return (int)((struct buf *)ctx - e->got);
}

static struct echo *the_echo;

static void echo_cli_recv(void *ctx, const char *data, ssize_t n)
{
    int i = cli_index(the_echo, ctx);
    if (n > 0)
        buf_append(&the_echo->got[i], data, (size_t)n);
    else
        the_echo->cli_eof[i]++;
}

static void echo_cli_sent(void *ctx, int res)
{
    (void)ctx;
    assert_int_equal(res, 0);
    the_echo->cli_sent++;
}

static bool echo_all_answered(void *ctx)
{
    struct echo *e = ctx;
    for (int i = 0; i < NCLIENTS; i++) {
        char want[32];
        snprintf(want, sizeof(want), "hello from %d", i);
        if (e->got[i].len != strlen(want) || memcmp(e->got[i].data, want, e->got[i].len) != 0)
            return false;
    }
    return true;
}

static bool echo_all_eof(void *ctx)
{
    struct echo *e = ctx;
    for (int i = 0; i < NCLIENTS; i++)
        if (e->cli_eof[i] == 0)
            return false;
    return true;
}

static void test_accept_echo(void **state)
{
    struct fx *f = *state;
    struct reactor *r = fx_reactor(state);
    struct echo e = {.r = r};
    the_echo = &e;

    strcpy(f->dir, "/tmp/berth-test-reactor-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s.sock", f->dir);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 16), 0);
    struct rio *lis = reactor_io_open(r, lfd, &e);
    assert_int_equal(reactor_accept(lis, echo_accept), 0);

    for (int i = 0; i < NCLIENTS; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        e.cli[i] = reactor_io_open(r, fd, &e.got[i]);
        assert_int_equal(reactor_recv(e.cli[i], echo_cli_recv), 0);
        char msg[32];
        int n = snprintf(msg, sizeof(msg), "hello from %d", i);
        assert_int_equal(
            reactor_send(e.cli[i], test_memdup(msg, (size_t)n), (size_t)n, echo_cli_sent), 0);
    }
    assert_true(run_until(r, echo_all_answered, &e, 5000));
    assert_int_equal(e.accepted, NCLIENTS);
    assert_int_equal(e.cli_sent, NCLIENTS);

    /* Half-close each client: the server sees EOF, closes, and the client sees EOF once. */
    for (int i = 0; i < NCLIENTS; i++)
        assert_int_equal(shutdown(reactor_io_fd(e.cli[i]), SHUT_WR), 0);
    assert_true(run_until(r, echo_all_eof, &e, 5000));
    run_for(r, 20);
    for (int i = 0; i < NCLIENTS; i++) {
        assert_int_equal(e.cli_eof[i], 1);
        assert_null(e.srv[i].io);
        reactor_io_close(e.cli[i]);
        buf_free(&e.got[i]);
        buf_free(&e.srv[i].pending);
    }
    reactor_io_close(lis);
}

/* ---- a large send to a slow reader ---- */

#define BIG (6 * 1024 * 1024)

static uint8_t pattern(size_t i)
{
    return (uint8_t)(i % 251 + i / 65521);
}

struct slow_reader {
    int fd;
    size_t total;
    bool in_order;
};

static void *slow_read(void *arg)
{
    struct slow_reader *s = arg;
    static char chunk[32768];
    s->in_order = true;
    for (int reads = 0;; reads++) {
        ssize_t n = read(s->fd, chunk, sizeof(chunk));
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            if ((uint8_t)chunk[i] != pattern(s->total + (size_t)i))
                s->in_order = false;
        s->total += (size_t)n;
        if (reads % 4 == 0)
            usleep(1000); /* slow on purpose: the sender must wait for room, not block */
    }
    return NULL;
}

static const struct reactor_ops *real_ops;
static struct reactor_ops counting_ops;
static int send_submits;

static int counting_submit(void *impl, const struct rsub *s)
{
    send_submits += s->op == ROP_SEND;
    return real_ops->submit(impl, s);
}

/* Count the backend's send submissions: more than one means short writes were resubmitted. */
static void count_submits(struct reactor *r)
{
    real_ops = r->ops;
    counting_ops = *r->ops;
    counting_ops.submit = counting_submit;
    r->ops = &counting_ops;
    send_submits = 0;
}

static void big_sent(void *ctx, int res)
{
    int *out = ctx;
    out[0] = res;
    out[1]++;
}

static void test_large_send(void **state)
{
    struct reactor *r = fx_reactor(state);
    int sv[2];
    make_pair(sv);
    int small = 16384;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) & ~O_NONBLOCK); /* the reader blocks */
    count_submits(r);

    char *data = xmalloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        data[i] = (char)pattern(i);
    struct rio *io = reactor_io_open(r, sv[0], NULL);
    int sent[2] = {1, 0}; /* result, calls */
    reactor_io_set_ctx(io, sent);
    assert_int_equal(reactor_send(io, data, BIG, big_sent), 0);
    assert_int_equal(reactor_send(io, xstrdup("x"), 1, big_sent), -EBUSY); /* one at a time */

    struct slow_reader rd = {.fd = sv[1]};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, slow_read, &rd), 0);
    assert_true(run_until_count(r, &sent[1], 1, 30000));
    run_for(r, 10);
    assert_int_equal(sent[1], 1);
    assert_int_equal(sent[0], 0);
    reactor_io_close(io); /* the reader sees EOF */
    pthread_join(th, NULL);
    close(sv[1]);
    assert_int_equal(rd.total, BIG);
    assert_true(rd.in_order);
    assert_true(send_submits > 1);
}

/* ---- many receivers at once: more data than the provided buffers ---- */

#define NRECV    24
#define PER_SOCK (768 * 1024)

struct sink {
    struct rio *io;
    size_t got;
    bool in_order;
    int eofs;
};

static void sink_recv(void *ctx, const char *data, ssize_t n)
{
    struct sink *s = ctx;
    if (n <= 0) {
        s->eofs += n == 0;
        return;
    }
    for (ssize_t i = 0; i < n; i++)
        if ((uint8_t)data[i] != pattern(s->got + (size_t)i))
            s->in_order = false;
    s->got += (size_t)n;
}

struct writer {
    int fds[NRECV];
};

/* Writes PER_SOCK bytes to every socket, round robin, as fast as they take them. */
static void *fast_write(void *arg)
{
    struct writer *w = arg;
    static char buf[PER_SOCK];
    for (size_t i = 0; i < PER_SOCK; i++)
        buf[i] = (char)pattern(i);
    size_t off[NRECV] = {0};
    for (int left = NRECV; left > 0;) {
        left = 0;
        for (int i = 0; i < NRECV; i++) {
            if (off[i] == PER_SOCK)
                continue;
            ssize_t n = write(w->fds[i], buf + off[i], PER_SOCK - off[i]);
            if (n > 0)
                off[i] += (size_t)n;
            if (off[i] < PER_SOCK)
                left++;
            else
                close(w->fds[i]);
        }
        if (left)
            usleep(200); /* the sockets are full: let the reactor drain them */
    }
    return NULL;
}

static bool sinks_done(void *ctx)
{
    struct sink *s = ctx;
    for (int i = 0; i < NRECV; i++)
        if (!s[i].eofs)
            return false;
    return true;
}

/* 18 MiB through 24 sockets at once: on io_uring more than the 128 provided buffers can be
 * in flight, so multishot recvs end with ENOBUFS and must be re-armed without losing order. */
static void test_many_receivers(void **state)
{
    struct reactor *r = fx_reactor(state);
    struct sink sinks[NRECV];
    struct writer w;
    for (int i = 0; i < NRECV; i++) {
        int sv[2];
        make_pair(sv);
        w.fds[i] = sv[1];
        sinks[i] = (struct sink){.in_order = true};
        sinks[i].io = reactor_io_open(r, sv[0], &sinks[i]);
        assert_int_equal(reactor_recv(sinks[i].io, sink_recv), 0);
    }
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, fast_write, &w), 0);
    bool ok = run_until(r, sinks_done, sinks, 30000);
    pthread_join(th, NULL);
    assert_true(ok);
    for (int i = 0; i < NRECV; i++) {
        assert_int_equal(sinks[i].got, PER_SOCK);
        assert_true(sinks[i].in_order);
        assert_int_equal(sinks[i].eofs, 1);
        reactor_io_close(sinks[i].io);
    }
    if (is_uring(r))
        print_message("# io_uring: %llu ENOBUFS re-arms\n", (unsigned long long)r->stats.enobufs);
}

/* A blocking fd (inherited, or from socket activation) must not block the loop: the epoll
 * backend does the send() itself, which would wait for the peer to read. */
static void test_blocking_fd(void **state)
{
    struct reactor *r = fx_reactor(state);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    struct rio *io = reactor_io_open(r, sv[0], NULL);
    assert_true(fcntl(sv[0], F_GETFL) & O_NONBLOCK); /* else the send below would hang */
    int res[2] = {1, 0};
    reactor_io_set_ctx(io, res);
    assert_int_equal(reactor_send(io, xcalloc(1, 4 << 20), 4 << 20, big_sent), 0);
    run_for(r, 50); /* returns: the reactor is not stuck in send() */
    assert_int_equal(res[1], 0);
    reactor_io_close(io);
    close(sv[1]);
}

/* ---- EOF ---- */

struct rec {
    struct buf data;
    int eofs, errors, calls;
};

static void rec_recv(void *ctx, const char *data, ssize_t n)
{
    struct rec *c = ctx;
    c->calls++;
    if (n > 0)
        buf_append(&c->data, data, (size_t)n);
    else if (n == 0)
        c->eofs++;
    else
        c->errors++;
}

static bool rec_has_eof(void *ctx)
{
    return ((struct rec *)ctx)->eofs > 0;
}

struct rec_want {
    struct rec *rec;
    const char *want;
};

static bool rec_has(void *ctx)
{
    struct rec_want *w = ctx;
    return w->rec->data.len == strlen(w->want) &&
           memcmp(w->rec->data.data, w->want, w->rec->data.len) == 0;
}

/* A socket pair whose sv[0] receives into c; the test writes to sv[1]. */
static struct rio *open_receiving(struct reactor *r, int sv[2], struct rec *c)
{
    make_pair(sv);
    struct rio *io = reactor_io_open(r, sv[0], c);
    assert_int_equal(reactor_recv(io, rec_recv), 0);
    return io;
}

static void test_eof(void **state)
{
    struct reactor *r = fx_reactor(state);
    int sv[2];
    struct rec c = {0};
    struct rio *io = open_receiving(r, sv, &c);
    assert_int_equal(write(sv[1], "bye", 3), 3);
    close(sv[1]);
    assert_true(run_until(r, rec_has_eof, &c, 2000));
    run_for(r, 20);
    assert_int_equal(c.eofs, 1);
    assert_int_equal(c.errors, 0);
    assert_int_equal(c.data.len, 3);
    assert_memory_equal(c.data.data, "bye", 3);
    reactor_io_close(io);
    buf_free(&c.data);
}

/* ---- closing with operations in flight ---- */

struct counts {
    int recv, sent;
};

static void cnt_recv(void *ctx, const char *data, ssize_t n)
{
    (void)data, (void)n;
    ((struct counts *)ctx)->recv++;
}

static void cnt_sent(void *ctx, int res)
{
    (void)res;
    ((struct counts *)ctx)->sent++;
}

struct slot_watch {
    struct reactor *r;
    uint32_t slot, gen;
};

static bool slot_recycled(void *ctx)
{
    struct slot_watch *w = ctx;
    return w->r->slots[w->slot]->gen != w->gen;
}

static bool send_progressed(void *ctx)
{
    struct rio *io = ctx;
    return io->send_off > 0;
}

static void test_close_in_flight(void **state)
{
    struct reactor *r = fx_reactor(state);
    int sv[2];
    make_pair(sv);
    struct counts cnt = {0};
    struct rio *io = reactor_io_open(r, sv[0], &cnt);
    assert_int_equal(reactor_recv(io, cnt_recv), 0);
    /* Far more than the socket holds: part goes out, the rest stays in flight. */
    char *big = xcalloc(1, 4 << 20);
    assert_int_equal(reactor_send(io, big, 4 << 20, cnt_sent), 0);
    assert_true(run_until(r, send_progressed, io, 2000));
    assert_true(io->armed & bit(ROP_SEND));
    assert_true(io->armed & bit(ROP_RECV));
    assert_int_equal(cnt.sent, 0);

    struct slot_watch w = {.r = r, .slot = io->slot, .gen = io->gen};
    uint64_t stale_before = r->stats.stale;
    reactor_io_close(io);
    if (is_uring(r)) /* the kernel still holds both operations: the slot waits for them */
        assert_int_equal(io->gen, w.gen);
    /* Would complete the recv. Only io_uring still holds the socket open for its operations
     * in flight, so this may also find the peer gone. */
    (void)!send(sv[1], "late", 4, MSG_NOSIGNAL);
    char sink[65536];
    while (read(sv[1], sink, sizeof(sink)) > 0) /* and make room for the send */
        ;
    assert_true(run_until(r, slot_recycled, &w, 2000));
    run_for(r, 20);
    assert_int_equal(cnt.recv, 0);
    assert_int_equal(cnt.sent, 0);
    if (is_uring(r)) /* the cancelled operations' last completions were dropped as stale */
        assert_true(r->stats.stale > stale_before);

    /* The slot is reused with the next generation. */
    int sv2[2];
    make_pair(sv2);
    struct counts cnt2 = {0};
    struct rio *io2 = reactor_io_open(r, sv2[0], &cnt2);
    assert_ptr_equal(io2, io);
    assert_int_equal(io2->slot, w.slot);
    assert_int_equal(io2->gen, (w.gen + 1) & 0xffffff);
    assert_int_equal(reactor_recv(io2, cnt_recv), 0);

    /* A completion that carries the old generation is counted and dropped. */
    uint64_t stale = r->stats.stale;
    struct rdone old = {.op = ROP_RECV, .slot = w.slot, .gen = w.gen, .res = 4, .more = true};
    dispatch(r, &old);
    assert_int_equal(r->stats.stale, stale + 1);
    assert_int_equal(cnt2.recv, 0);
    struct rdone bogus = {.op = ROP_RECV, .slot = 9999, .gen = 0, .res = 1, .more = true};
    dispatch(r, &bogus);
    assert_int_equal(r->stats.stale, stale + 2);

    /* The new generation works. */
    assert_int_equal(write(sv2[1], "new", 3), 3);
    assert_true(run_until_count(r, &cnt2.recv, 1, 2000));
    reactor_io_close(io2);
    close(sv[1]);
    close(sv2[1]);
}

/* Two completions of one rio in one batch: the first callback closes it, the second must not
 * run. */
struct closer {
    struct rio *io;
    int calls;
};

static void closer_recv(void *ctx, const char *data, ssize_t n)
{
    (void)data, (void)n;
    struct closer *c = ctx;
    c->calls++;
    reactor_io_close(c->io);
}

static void closer_sent(void *ctx, int res)
{
    (void)res;
    struct closer *c = ctx;
    c->calls++;
    reactor_io_close(c->io);
}

static void test_close_in_callback(void **state)
{
    struct reactor *r = fx_reactor(state);
    int sv[2];
    make_pair(sv);
    assert_int_equal(write(sv[1], "x", 1), 1); /* the recv completes at once */
    struct closer c = {0};
    c.io = reactor_io_open(r, sv[0], &c);
    assert_int_equal(reactor_recv(c.io, closer_recv), 0);
    assert_int_equal(reactor_send(c.io, xstrdup("y"), 1, closer_sent), 0); /* so does this */
    assert_true(run_until_count(r, &c.calls, 1, 2000));
    run_for(r, 30);
    assert_int_equal(c.calls, 1);
    close(sv[1]);
}

/* ---- recv pause ---- */

static bool recv_disarmed(void *ctx)
{
    return !(((struct rio *)ctx)->armed & bit(ROP_RECV));
}

static void test_recv_pause_resume(void **state)
{
    struct reactor *r = fx_reactor(state);
    int sv[2];
    struct rec c = {0};
    struct rio *io = open_receiving(r, sv, &c);
    assert_int_equal(write(sv[1], "one", 3), 3);
    assert_true(run_until(r, rec_has, &(struct rec_want){&c, "one"}, 2000));

    reactor_recv_pause(io);
    assert_true(run_until(r, recv_disarmed, io, 2000)); /* the cancel has settled */
    assert_int_equal(write(sv[1], "two", 3), 3);
    run_for(r, 50);
    assert_int_equal(c.data.len, 3); /* held in the socket while paused */

    assert_int_equal(reactor_recv(io, rec_recv), 0);
    assert_true(run_until(r, rec_has, &(struct rec_want){&c, "onetwo"}, 2000));
    assert_int_equal(c.eofs + c.errors, 0);
    reactor_io_close(io);
    close(sv[1]);
    buf_free(&c.data);
}

/* Resuming before the pause's cancel has completed must leave a recv armed. */
static void test_recv_pause_resume_same_turn(void **state)
{
    struct reactor *r = fx_reactor(state);
    int sv[2];
    struct rec c = {0};
    struct rio *io = open_receiving(r, sv, &c);
    run_for(r, 5); /* the recv is in the kernel */
    reactor_recv_pause(io);
    assert_int_equal(reactor_recv(io, rec_recv), 0);
    run_for(r, 5); /* the cancel completes */
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_true(run_until(r, rec_has, &(struct rec_want){&c, "x"}, 2000));

    /* And with no turn at all between the three calls. */
    reactor_recv_pause(io);
    assert_int_equal(reactor_recv(io, rec_recv), 0);
    assert_int_equal(write(sv[1], "y", 1), 1);
    assert_true(run_until(r, rec_has, &(struct rec_want){&c, "xy"}, 2000));
    reactor_io_close(io);
    close(sv[1]);
    buf_free(&c.data);
}

/* ---- poll and pipes ---- */

struct polls {
    int calls, revents;
};

static void on_poll_cb(void *ctx, int revents)
{
    struct polls *p = ctx;
    p->calls++;
    p->revents = revents;
}

static void test_poll_pipe(void **state)
{
    struct reactor *r = fx_reactor(state);
    int p[2];
    assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    struct polls in = {0}, out = {0};
    struct rio *rd = reactor_io_open(r, p[0], &in);
    struct rio *wr = reactor_io_open(r, p[1], &out);
    assert_int_equal(reactor_poll(rd, POLLIN, on_poll_cb), 0);
    assert_int_equal(reactor_poll(rd, POLLIN, on_poll_cb), -EBUSY);
    run_for(r, 20);
    assert_int_equal(in.calls, 0); /* nothing to read yet */

    assert_int_equal(write(p[1], "a", 1), 1);
    assert_true(run_until_count(r, &in.calls, 1, 2000));
    assert_int_equal(in.calls, 1);
    assert_true(in.revents & POLLIN);

    /* One-shot: more data, no more callbacks until re-armed. */
    assert_int_equal(write(p[1], "b", 1), 1);
    run_for(r, 20);
    assert_int_equal(in.calls, 1);
    assert_int_equal(reactor_poll(rd, POLLIN, on_poll_cb), 0);
    assert_true(run_until_count(r, &in.calls, 2, 2000));

    assert_int_equal(reactor_poll(wr, POLLOUT, on_poll_cb), 0);
    assert_true(run_until_count(r, &out.calls, 1, 2000));
    assert_true(out.revents & POLLOUT);
    reactor_io_close(rd);
    reactor_io_close(wr);
    assert_int_equal(reactor_poll(rd, POLLIN, on_poll_cb), -EBADF);
}

static void test_recv_pipe(void **state)
{
    struct reactor *r = fx_reactor(state);
    int p[2];
    assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    struct rec c = {0};
    struct rio *io = reactor_io_open(r, p[0], &c);
    assert_int_equal(reactor_recv(io, rec_recv), 0);
    assert_int_equal(write(p[1], "abc", 3), 3);
    assert_true(run_until(r, rec_has, &(struct rec_want){&c, "abc"}, 2000));
    assert_int_equal(write(p[1], "def", 3), 3); /* single-shot reads are re-armed */
    assert_true(run_until(r, rec_has, &(struct rec_want){&c, "abcdef"}, 2000));
    close(p[1]);
    assert_true(run_until(r, rec_has_eof, &c, 2000));
    run_for(r, 20);
    assert_int_equal(c.eofs, 1);
    reactor_io_close(io);
    buf_free(&c.data);
}

/* ---- sends that fail ---- */

static void test_send_errors(void **state)
{
    struct reactor *r = fx_reactor(state);
    int sv[2];
    make_pair(sv);
    close(sv[1]);
    int res[2] = {1, 0};
    struct rio *io = reactor_io_open(r, sv[0], res);
    assert_int_equal(reactor_send(io, xstrdup("lost"), 4, big_sent), 0);
    assert_true(run_until_count(r, &res[1], 1, 2000));
    assert_true(res[0] == -EPIPE || res[0] == -ECONNRESET);
    reactor_io_close(io);
    /* Closed: everything refuses, and the reactor frees what it was given. */
    assert_int_equal(reactor_send(io, xstrdup("x"), 1, big_sent), -EBADF);
    assert_int_equal(reactor_recv(io, rec_recv), -EBADF);
    reactor_io_close(io); /* twice is harmless */
}

/* ---- datagrams ---- */

#define DG_CLIENTS 3
#define DG_PER     40

struct dgram_srv {
    struct rio *io;
    int got, empties, cut, errors;
    struct sockaddr_storage last_from;
    uint32_t last_fromlen;
};

/* Echoes each datagram to its sender; counts empty and cut ones. */
static void dgram_echo(void *ctx, const char *data, ssize_t n, const struct sockaddr *from,
                       uint32_t fromlen)
{
    struct dgram_srv *s = ctx;
    if (n < 0) {
        s->errors++;
        return;
    }
    s->got++;
    s->empties += n == 0;
    s->cut += n == REACTOR_DGRAM_MAX;
    assert_true(fromlen <= sizeof(s->last_from));
    memcpy(&s->last_from, from, fromlen);
    s->last_fromlen = fromlen;
    if (n > 0 && n < REACTOR_DGRAM_MAX)
        assert_int_equal(reactor_sendmsg(s->io, data, (size_t)n, from, fromlen), 0);
}

static int udp_socket(struct sockaddr_in *bound)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t len = sizeof(*bound);
    assert_int_equal(getsockname(fd, (struct sockaddr *)bound, &len), 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

struct dgram_clients {
    struct sockaddr_in srv;
    int fds[DG_CLIENTS];
    int echoed[DG_CLIENTS];
    bool in_order;
};

/* Each client sends DG_PER numbered datagrams and reads the echoes back (on a thread: the
 * reactor runs on the test's). */
static void *dgram_client_run(void *arg)
{
    struct dgram_clients *c = arg;
    for (int k = 0; k < DG_PER; k++)
        for (int i = 0; i < DG_CLIENTS; i++) {
            char msg[32];
            int n = snprintf(msg, sizeof(msg), "c%d-%d", i, k);
            sendto(c->fds[i], msg, (size_t)n, 0, (struct sockaddr *)&c->srv, sizeof(c->srv));
        }
    for (int i = 0; i < DG_CLIENTS; i++)
        for (int k = 0; k < DG_PER; k++) {
            char got[64], want[32];
            ssize_t n = recv(c->fds[i], got, sizeof(got) - 1, 0);
            if (n <= 0)
                break;
            got[n] = 0;
            snprintf(want, sizeof(want), "c%d-%d", i, k);
            c->in_order &= strcmp(got, want) == 0;
            c->echoed[i]++;
        }
    return NULL;
}

/* Datagrams from three senders come with each sender's address, and replies sent to those
 * addresses reach each sender in order; an empty datagram is not an end; an oversized one
 * arrives cut to REACTOR_DGRAM_MAX. */
static void test_dgram_echo(void **state)
{
    struct reactor *r = fx_reactor(state);
    struct dgram_clients c = {.in_order = true};
    int sfd = udp_socket(&c.srv);
    struct dgram_srv s = {0};
    s.io = reactor_io_open(r, sfd, &s);
    assert_int_equal(reactor_recvmsg(s.io, dgram_echo), 0);
    struct sockaddr_in cli_addr[DG_CLIENTS];
    for (int i = 0; i < DG_CLIENTS; i++)
        c.fds[i] = udp_socket(&cli_addr[i]);

    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, dgram_client_run, &c), 0);
    assert_true(run_until_count(r, &s.got, DG_CLIENTS * DG_PER, 5000));
    run_for(r, 50); /* the last echoes leave */
    pthread_join(th, NULL);
    for (int i = 0; i < DG_CLIENTS; i++)
        assert_int_equal(c.echoed[i], DG_PER);
    assert_true(c.in_order);

    /* The sender of the last one, as the kernel saw it. */
    assert_int_equal(sendto(c.fds[1], "", 0, 0, (struct sockaddr *)&c.srv, sizeof(c.srv)), 0);
    assert_true(run_until_count(r, &s.empties, 1, 2000));
    assert_int_equal(s.last_fromlen, sizeof(struct sockaddr_in));
    struct sockaddr_in *from = (struct sockaddr_in *)&s.last_from;
    assert_int_equal(from->sin_port, cli_addr[1].sin_port);
    assert_int_equal(from->sin_addr.s_addr, htonl(INADDR_LOOPBACK));

    char *big = xcalloc(1, 20000);
    assert_int_equal(sendto(c.fds[0], big, 20000, 0, (struct sockaddr *)&c.srv, sizeof(c.srv)),
                     20000);
    free(big);
    assert_int_equal(sendto(c.fds[0], "after", 5, 0, (struct sockaddr *)&c.srv, sizeof(c.srv)), 5);
    int want = s.got + 2;
    assert_true(run_until_count(r, &s.got, want, 2000));
    assert_int_equal(s.cut, 1);
    assert_int_equal(s.errors, 0);
    run_for(r, 50); /* the echo leaves: a send queued in a callback goes out on a later turn */
    char back[8];
    assert_int_equal(recv(c.fds[0], back, sizeof(back), 0), 5); /* the receive went on */
    for (int i = 0; i < DG_CLIENTS; i++)
        close(c.fds[i]);
    reactor_io_close(s.io);
}

static bool rio_idle(void *ctx)
{
    return !(((struct rio *)ctx)->armed & bit(ROP_SENDMSG));
}

/* A flood queued in one turn: REACTOR_DGRAM_QUEUE go out, the next is refused with -ENOBUFS
 * and costs nothing; once they have left, sending works again. */
static void test_dgram_queue_bound(void **state)
{
    struct reactor *r = fx_reactor(state);
    struct sockaddr_in dst, src;
    int rfd = udp_socket(&dst);
    int big = 1 << 20;
    setsockopt(rfd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    struct rio *io = reactor_io_open(r, udp_socket(&src), NULL);
    for (int i = 0; i < REACTOR_DGRAM_QUEUE; i++)
        assert_int_equal(reactor_sendmsg(io, &i, sizeof(i), (struct sockaddr *)&dst, sizeof(dst)),
                         0);
    int x = -1;
    assert_int_equal(reactor_sendmsg(io, &x, sizeof(x), (struct sockaddr *)&dst, sizeof(dst)),
                     -ENOBUFS);
    int got = 0, seen[REACTOR_DGRAM_QUEUE] = {0};
    while (got < REACTOR_DGRAM_QUEUE) {
        run_for(r, 5);
        int v;
        while (recv(rfd, &v, sizeof(v), MSG_DONTWAIT) == sizeof(v)) {
            assert_true(v >= 0 && v < REACTOR_DGRAM_QUEUE);
            seen[v]++;
            got++;
        }
    }
    for (int i = 0; i < REACTOR_DGRAM_QUEUE; i++)
        assert_int_equal(seen[i], 1);
    assert_true(run_until(r, rio_idle, io, 2000));
    assert_int_equal(io->dg_count, 0);
    assert_int_equal(reactor_sendmsg(io, &x, sizeof(x), (struct sockaddr *)&dst, sizeof(dst)), 0);
    run_for(r, 20);
    int v = 0;
    assert_int_equal(recv(rfd, &v, sizeof(v), 0), sizeof(v));
    assert_int_equal(v, -1);
    assert_int_equal(r->stats.dgram_errors, 0);
    reactor_io_close(io);
    close(rfd);
}

/* A unix datagram receiver that does not read makes its connected sender wait (EAGAIN): the
 * datagrams are held, not lost, and leave in order once it reads. Only on epoll: io_uring's
 * retry after the wait sends an empty datagram on a unix socket, whose sendmsg consumed the
 * bytes before it found the peer full (a kernel quirk; UDP waits before it copies, but on
 * loopback it never has to wait, so a test cannot make it). */
static void test_dgram_wait_for_room(void **state)
{
    struct fx *f = *state;
    struct reactor *r = fx_reactor(state);
    if (is_uring(r))
        skip();
    strcpy(f->dir, "/tmp/berth-test-reactor-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s.sock", f->dir);
    int rfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(rfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    int sfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(sfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct rio *io = reactor_io_open(r, sfd, NULL);
    enum { N = 200 }; /* far more than the receive queue (net.unix.max_dgram_qlen, 512) */
    char pkt[1024] = {0};
    for (int i = 0; i < N; i++) {
        memcpy(pkt, &i, sizeof(i));
        assert_int_equal(reactor_sendmsg(io, pkt, sizeof(pkt), NULL, 0), 0);
    }
    run_for(r, 50);
    int got = 0;
    bool in_order = true;
    for (int spins = 0; got < N && spins < 2000; spins++) {
        int v;
        while (recv(rfd, pkt, sizeof(pkt), MSG_DONTWAIT) == (ssize_t)sizeof(pkt)) {
            memcpy(&v, pkt, sizeof(v));
            in_order &= v == got;
            got++;
        }
        run_for(r, 2);
    }
    assert_int_equal(got, N);
    assert_true(in_order);
    assert_int_equal(r->stats.dgram_errors, 0);
    reactor_io_close(io);
    close(rfd);
}

/* Refused datagrams are counted, not reported; closing with datagrams queued and in flight
 * frees them (ASan) and leaves no callback behind. */
static void test_dgram_errors_and_close(void **state)
{
    struct reactor *r = fx_reactor(state);
    struct sockaddr_in src, dst;
    int rfd = udp_socket(&dst);
    struct rio *io = reactor_io_open(r, udp_socket(&src), NULL);
    struct sockaddr_un wrong = {.sun_family = AF_UNIX};
    assert_int_equal(reactor_sendmsg(io, "x", 1, (struct sockaddr *)&wrong, sizeof(wrong)), 0);
    assert_true(run_until(r, rio_idle, io, 2000));
    assert_int_equal(r->stats.dgram_errors, 1);

    for (int i = 0; i < 50; i++)
        assert_int_equal(reactor_sendmsg(io, "y", 1, (struct sockaddr *)&dst, sizeof(dst)), 0);
    reactor_io_close(io); /* in flight and queued alike */
    assert_int_equal(reactor_sendmsg(io, "z", 1, (struct sockaddr *)&dst, sizeof(dst)), -EBADF);
    assert_int_equal(reactor_recvmsg(io, dgram_echo), -EBADF);
    run_for(r, 20);
    close(rfd);
}

static bool recvmsg_disarmed(void *ctx)
{
    return !(((struct rio *)ctx)->armed & bit(ROP_RECVMSG));
}

/* Pausing a datagram receive holds datagrams in the socket until it resumes. */
static void test_dgram_pause(void **state)
{
    struct reactor *r = fx_reactor(state);
    struct sockaddr_in dst, src;
    int sfd = udp_socket(&dst);
    int cfd = udp_socket(&src);
    struct dgram_srv s = {0};
    s.io = reactor_io_open(r, sfd, &s);
    assert_int_equal(reactor_recvmsg(s.io, dgram_echo), 0);
    assert_int_equal(sendto(cfd, "1", 1, 0, (struct sockaddr *)&dst, sizeof(dst)), 1);
    assert_true(run_until_count(r, &s.got, 1, 2000));
    reactor_recv_pause(s.io);
    assert_true(run_until(r, recvmsg_disarmed, s.io, 2000));
    assert_int_equal(sendto(cfd, "2", 1, 0, (struct sockaddr *)&dst, sizeof(dst)), 1);
    run_for(r, 30);
    assert_int_equal(s.got, 1);
    assert_int_equal(reactor_recvmsg(s.io, dgram_echo), 0);
    assert_true(run_until_count(r, &s.got, 2, 2000));
    reactor_io_close(s.io);
    close(cfd);
}

/* ---- timers ---- */

/* A timer that appends its id to order[(*n)++] when it fires. */
struct tmark {
    struct reactor_timer t;
    int id;
    int *order;
    int *n;
};

static void tmark_fire(struct reactor_timer *t)
{
    struct tmark *m = (struct tmark *)t;
    m->order[(*m->n)++] = m->id;
}

static void test_timers_order(void **state)
{
    struct reactor *r = fx_reactor(state);
    static const unsigned delays[] = {40, 10, 30, 0, 20, 25, 5};
    enum { N = ARRAY_SIZE(delays) };
    struct tmark m[N];
    int order[N], n = 0;
    uint64_t t0 = mono_ms();
    for (int i = 0; i < N; i++) {
        m[i] = (struct tmark){.t.fn = tmark_fire, .id = i, .order = order, .n = &n};
        reactor_timer_start(r, &m[i].t, delays[i]);
    }
    assert_true(run_until_count(r, &n, N, 2000));
    assert_int_equal(n, N);
    for (int i = 1; i < N; i++)
        assert_true(delays[order[i - 1]] <= delays[order[i]]);
    assert_true(mono_ms() - t0 >= 40);
    for (int i = 0; i < N; i++)
        assert_int_equal(m[i].t._heap_pos, 0);
}

/* Many timers with random delays: the heap gives them back in due order. */
static void test_timers_many(void **state)
{
    struct reactor *r = fx_reactor(state);
    enum { N = 300 };
    struct tmark *m = xcalloc(N, sizeof(*m));
    int *order = xcalloc(N, sizeof(*order)), n = 0;
    srand(42);
    for (int i = 0; i < N; i++) {
        m[i] = (struct tmark){.t.fn = tmark_fire, .id = i, .order = order, .n = &n};
        reactor_timer_start(r, &m[i].t, (uint64_t)(rand() % 60));
    }
    for (int i = 0; i < N; i += 3) /* stop a third of them, from the middle of the heap */
        reactor_timer_stop(r, &m[i].t);
    assert_true(run_until_count(r, &n, N - N / 3, 3000));
    run_for(r, 10);
    assert_int_equal(n, N - N / 3);
    for (int i = 0; i < n; i++) {
        assert_true(order[i] % 3 != 0);
        if (i > 0)
            assert_true(m[order[i - 1]].t._due_ms <= m[order[i]].t._due_ms);
    }
    free(m);
    free(order);
}

struct stopper {
    struct reactor_timer t;
    struct reactor *r;
    struct reactor_timer *victim;
};

static void stopper_fire(struct reactor_timer *t)
{
    struct stopper *s = (struct stopper *)t;
    reactor_timer_stop(s->r, s->victim);
}

static void test_timer_stop(void **state)
{
    struct reactor *r = fx_reactor(state);
    int order[8], n = 0;
    struct tmark a = {.t.fn = tmark_fire, .id = 1, .order = order, .n = &n};
    struct tmark b = {.t.fn = tmark_fire, .id = 2, .order = order, .n = &n};
    struct tmark c = {.t.fn = tmark_fire, .id = 3, .order = order, .n = &n};
    struct tmark d = {.t.fn = tmark_fire, .id = 4, .order = order, .n = &n};
    struct stopper s = {.t.fn = stopper_fire, .r = r, .victim = &b.t};

    reactor_timer_stop(r, &d.t); /* never started: nothing happens */
    reactor_timer_start(r, &a.t, 5);
    reactor_timer_stop(r, &a.t);
    reactor_timer_stop(r, &a.t);
    reactor_timer_start(r, &s.t, 5); /* stops b from a callback */
    reactor_timer_start(r, &b.t, 15);
    reactor_timer_start(r, &c.t, 5);
    reactor_timer_start(r, &c.t, 30); /* re-started: moved, not doubled */
    reactor_timer_start(r, &d.t, 20);
    assert_true(run_until_count(r, &n, 2, 2000));
    run_for(r, 30);
    assert_int_equal(n, 2);
    assert_int_equal(order[0], 4);
    assert_int_equal(order[1], 3);
}

struct spinner {
    struct reactor_timer t;
    struct reactor *r;
    long spins;
};

static void spin_fire(struct reactor_timer *t)
{
    struct spinner *s = (struct spinner *)t;
    s->spins++;
    reactor_timer_start(s->r, t, 0);
}

static void test_timer_zero_rearm_no_starve(void **state)
{
    struct reactor *r = fx_reactor(state);
    int sv[2];
    struct rec c = {0};
    struct rio *io = open_receiving(r, sv, &c);
    struct spinner s = {.t.fn = spin_fire, .r = r};
    reactor_timer_start(r, &s.t, 0);
    int order[1], n = 0;
    struct tmark later = {.t.fn = tmark_fire, .id = 1, .order = order, .n = &n};
    reactor_timer_start(r, &later.t, 10);
    assert_int_equal(write(sv[1], "ping", 4), 4);
    assert_true(run_until(r, rec_has, &(struct rec_want){&c, "ping"}, 2000));
    assert_int_equal(write(sv[1], "pong", 4), 4);
    assert_true(run_until(r, rec_has, &(struct rec_want){&c, "pingpong"}, 2000));
    assert_true(run_until_count(r, &n, 1, 2000)); /* other timers still fire too */
    assert_true(s.spins > 0);
    reactor_timer_stop(r, &s.t);
    reactor_io_close(io);
    close(sv[1]);
    buf_free(&c.data);
}

/* ---- posts from other threads ---- */

#define POSTERS 4
#define POSTS   1000

struct post {
    struct reactor_event ev;
    int thread, seq;
};

struct post_state {
    struct reactor *r;
    struct post ev[POSTERS][POSTS];
    int ran[POSTERS][POSTS];
    int last[POSTERS];
    int total;
    bool in_order;
    pthread_t reactor_thread;
    bool on_reactor_thread;
};

static struct post_state *ps;

static void post_fn(struct reactor_event *ev)
{
    struct post *p = (struct post *)ev;
    ps->ran[p->thread][p->seq]++;
    if (p->seq != ps->last[p->thread] + 1)
        ps->in_order = false;
    ps->last[p->thread] = p->seq;
    if (!pthread_equal(pthread_self(), ps->reactor_thread))
        ps->on_reactor_thread = false;
    if (++ps->total == POSTERS * POSTS)
        reactor_stop(ps->r);
}

static void *poster(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = 0; i < POSTS; i++) {
        ps->ev[t][i] = (struct post){.ev.fn = post_fn, .thread = t, .seq = i};
        reactor_post(ps->r, &ps->ev[t][i].ev);
        if (i % 100 == 0)
            sched_yield();
    }
    return NULL;
}

static bool all_posted(void *ctx)
{
    (void)ctx;
    return ps->total >= POSTERS * POSTS;
}

static void test_post_threads(void **state)
{
    struct reactor *r = fx_reactor(state);
    ps = xcalloc(1, sizeof(*ps));
    ps->r = r;
    ps->in_order = true;
    ps->on_reactor_thread = true;
    ps->reactor_thread = pthread_self();
    for (int t = 0; t < POSTERS; t++)
        ps->last[t] = -1;
    pthread_t th[POSTERS];
    for (int t = 0; t < POSTERS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, poster, (void *)(intptr_t)t), 0);
    bool ok = run_until(r, all_posted, NULL, 10000);
    for (int t = 0; t < POSTERS; t++)
        pthread_join(th[t], NULL);
    run_for(r, 20); /* nothing runs twice */
    assert_true(ok);
    assert_int_equal(ps->total, POSTERS * POSTS);
    for (int t = 0; t < POSTERS; t++)
        for (int i = 0; i < POSTS; i++)
            assert_int_equal(ps->ran[t][i], 1);
    assert_true(ps->in_order);
    assert_true(ps->on_reactor_thread);
    free(ps);
    ps = NULL;
}

#define BOTH(fn) BOTH_BACKENDS(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_backend_names),
        BOTH(test_accept_echo),
        BOTH(test_large_send),
        BOTH(test_many_receivers),
        BOTH(test_blocking_fd),
        BOTH(test_eof),
        BOTH(test_close_in_flight),
        BOTH(test_close_in_callback),
        BOTH(test_recv_pause_resume),
        BOTH(test_recv_pause_resume_same_turn),
        BOTH(test_poll_pipe),
        BOTH(test_recv_pipe),
        BOTH(test_send_errors),
        BOTH(test_dgram_echo),
        BOTH(test_dgram_queue_bound),
        BOTH(test_dgram_wait_for_room),
        BOTH(test_dgram_errors_and_close),
        BOTH(test_dgram_pause),
        BOTH(test_timers_order),
        BOTH(test_timers_many),
        BOTH(test_timer_stop),
        BOTH(test_timer_zero_rearm_no_starve),
        BOTH(test_post_threads),
    };
    return cmocka_run_group_tests_name("reactor", tests, NULL, NULL);
}
