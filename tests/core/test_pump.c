/* tests/core/test_pump.c — core/pump.c on both reactor backends: a pool job writes megabytes
 * through the pipe while the reactor side pauses and resumes; every byte arrives in order and
 * on_end comes last. Cancelling mid-way makes the producer's write fail with EPIPE (workers
 * block SIGPIPE, so the process survives without ignoring it), and no callback runs after. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/macros.h"
#include "core/pool.h"
#include "core/pump.h"
#include "tests/testutil.h"

#define TOTAL       (8u << 20)
#define PAUSE_EVERY (1u << 20)

static unsigned char pattern(uint64_t off)
{
    return (unsigned char)(off * 13 + (off >> 9));
}

struct fixture {
    const char *backend;
    struct reactor *r;
    struct pool *pool;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    f->backend = *state;
    f->r = tu_reactor(f->backend);
    if (f->r)
        f->pool = pool_new(f->r, 1, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pool_free(f->pool);
    reactor_free(f->r);
    free(f);
    return 0;
}

struct run {
    struct reactor *r;
    struct pump *p;
    struct reactor_timer poll;
    _Atomic uint64_t written;
    _Atomic bool produced;
    _Atomic int write_errno;
    uint64_t delivered, next_pause;
    bool paused, cancelled, ended;
    int data_while_paused, max_data_while_paused, pauses, resumes;
    int data_after_cancel, end_res, ends, bad_byte_at;
    bool forever;
};

/* Blocking writes of the pattern; with forever, until the reader goes away. */
static int produce(void *arg, int fd, struct berth_err **err)
{
    struct run *ru = arg;
    unsigned char buf[65536 + 17];
    int r = 0;
    while (ru->forever || atomic_load(&ru->written) < TOTAL) {
        uint64_t off = atomic_load(&ru->written);
        size_t n = sizeof(buf);
        if (!ru->forever && TOTAL - off < n)
            n = TOTAL - off;
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(off + i);
        ssize_t k = write(fd, buf, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            atomic_store(&ru->write_errno, errno);
            r = berth_error(err, errno, "write");
            break;
        }
        atomic_fetch_add(&ru->written, (uint64_t)k);
    }
    atomic_store(&ru->produced, true);
    return r;
}

static void on_data(void *arg, const char *data, size_t n)
{
    struct run *ru = arg;
    if (ru->cancelled) {
        ru->data_after_cancel++;
        return;
    }
    if (ru->paused && ++ru->data_while_paused > ru->max_data_while_paused)
        ru->max_data_while_paused = ru->data_while_paused;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)data[i] != pattern(ru->delivered + i) && ru->bad_byte_at < 0)
            ru->bad_byte_at = (int)(ru->delivered + i);
    ru->delivered += n;
    if (!ru->paused && ru->delivered >= ru->next_pause) {
        ru->next_pause += PAUSE_EVERY;
        ru->paused = true;
        ru->data_while_paused = 0;
        ru->pauses++;
        pump_pause(ru->p);
        reactor_timer_start(ru->r, &ru->poll, 1);
    }
}

static void on_end(void *arg, int res, const struct berth_err *err)
{
    struct run *ru = arg;
    (void)err;
    ru->ends++;
    ru->end_res = res;
    ru->ended = true;
    reactor_stop(ru->r);
}

static const struct pump_ops ops = {.produce = produce, .on_data = on_data, .on_end = on_end};

/* While paused, wait for the producer to get ahead (the pipe fills) or to finish, then go on:
 * a paused reader holds the producer back only by the pipe's size. */
static void resume_when_ahead(struct reactor_timer *t)
{
    struct run *ru = container_of(t, struct run, poll);
    uint64_t ahead = atomic_load(&ru->written) - ru->delivered;
    if (ahead < 32768 && !atomic_load(&ru->produced)) {
        reactor_timer_start(ru->r, &ru->poll, 1);
        return;
    }
    ru->paused = false;
    ru->resumes++;
    pump_resume(ru->p);
}

static void test_stream_with_pauses(void **state)
{
    struct fixture *f = *state;
    if (!f->r)
        skip();
    struct run ru = {.r = f->r, .poll = {.fn = resume_when_ahead}, .bad_byte_at = -1};
    ru.next_pause = PAUSE_EVERY / 3;
    _cleanup_err_ struct berth_err *err = NULL;
    ru.p = pump_start(f->r, f->pool, POOL_BULK, &ops, &ru, &err);
    assert_non_null(ru.p);
    bool ok = tu_run(f->r, 30000);
    reactor_timer_stop(f->r, &ru.poll);
    assert_true(ok);
    assert_int_equal(ru.ends, 1);
    assert_int_equal(ru.end_res, 0);
    assert_int_equal(ru.delivered, TOTAL);
    assert_int_equal(ru.bad_byte_at, -1);
    assert_true(ru.pauses >= 7);
    /* pausing is advisory: what the kernel already handed over may arrive once */
    assert_true(ru.max_data_while_paused <= 1);
}

/* ---- cancel ---- */

static void on_data_cancel(void *arg, const char *data, size_t n)
{
    struct run *ru = arg;
    (void)data;
    if (ru->cancelled) {
        ru->data_after_cancel++;
        return;
    }
    ru->delivered += n;
    if (ru->delivered >= (1u << 20)) {
        ru->cancelled = true;
        pump_cancel(ru->p);
        reactor_timer_start(ru->r, &ru->poll, 1);
    }
}

static void stop_when_produced(struct reactor_timer *t)
{
    struct run *ru = container_of(t, struct run, poll);
    if (atomic_load(&ru->produced))
        reactor_stop(ru->r);
    else
        reactor_timer_start(ru->r, &ru->poll, 1);
}

struct stop_ev {
    struct reactor_event ev;
    struct reactor *r;
};

static void stop_now(struct reactor_event *ev)
{
    reactor_stop(((struct stop_ev *)ev)->r);
}

static void test_cancel_midway(void **state)
{
    struct fixture *f = *state;
    if (!f->r)
        skip();
    static const struct pump_ops cancel_ops = {
        .produce = produce, .on_data = on_data_cancel, .on_end = on_end};
    struct run ru = {.r = f->r, .poll = {.fn = stop_when_produced}, .forever = true};
    _cleanup_err_ struct berth_err *err = NULL;
    ru.p = pump_start(f->r, f->pool, POOL_BULK, &cancel_ops, &ru, &err);
    assert_non_null(ru.p);
    bool ok = tu_run(f->r, 30000);
    assert_true(ok);
    assert_true(ru.cancelled);
    assert_int_equal(atomic_load(&ru.write_errno), EPIPE);
    /* The pump frees itself when the job's completion arrives: join the workers (their posts
     * are queued by then), then run until a post made after them, since posts run in order. */
    pool_free(f->pool);
    f->pool = NULL;
    struct stop_ev st = {.ev = {.fn = stop_now}, .r = f->r};
    reactor_post(f->r, &st.ev);
    assert_true(tu_run(f->r, 10000));
    assert_int_equal(ru.ends, 0);
    assert_int_equal(ru.data_after_cancel, 0);
    /* LeakSanitizer (make asan) checks that the pump freed itself */
}

/* A producer that fails: on_end reports its error after the bytes it did write. */
static int produce_fail(void *arg, int fd, struct berth_err **err)
{
    (void)arg;
    if (write(fd, "partial", 7) != 7)
        return berth_error(err, errno, "write");
    return berth_user_error(err, EIO, "source broke");
}

struct fail_run {
    struct reactor *r;
    char got[16];
    size_t n;
    int res, ends;
    char msg[64];
};

static void fail_data(void *arg, const char *data, size_t n)
{
    struct fail_run *fr = arg;
    if (fr->n + n < sizeof(fr->got))
        memcpy(fr->got + fr->n, data, n);
    fr->n += n;
}

static void fail_end(void *arg, int res, const struct berth_err *err)
{
    struct fail_run *fr = arg;
    fr->res = res;
    fr->ends++;
    snprintf(fr->msg, sizeof(fr->msg), "%s", err ? err->msg : "");
    reactor_stop(fr->r);
}

static void test_producer_error(void **state)
{
    struct fixture *f = *state;
    if (!f->r)
        skip();
    static const struct pump_ops fail_ops = {
        .produce = produce_fail, .on_data = fail_data, .on_end = fail_end};
    struct fail_run fr = {.r = f->r};
    _cleanup_err_ struct berth_err *err = NULL;
    assert_non_null(pump_start(f->r, f->pool, POOL_LATENCY, &fail_ops, &fr, &err));
    assert_true(tu_run(f->r, 10000));
    assert_int_equal(fr.ends, 1);
    assert_int_equal(fr.n, 7);
    assert_memory_equal(fr.got, "partial", 7);
    assert_int_equal(fr.res, -EIO - 1);
    assert_string_equal(fr.msg, "source broke");
}

#define BOTH(fn)                                                                                   \
    {#fn "[io_uring]", fn, setup, teardown, "io_uring"},                                           \
    {                                                                                              \
#fn "[epoll]", fn, setup, teardown, "epoll"                                                \
    }

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_stream_with_pauses),
        BOTH(test_cancel_midway),
        BOTH(test_producer_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
