/* tests/core/test_bytequeue.c — core/bytequeue.c on both reactor backends: the reactor thread
 * pushes, a reader thread pops; push says "pause" at the high-water mark, and on_drain runs on
 * the reactor thread only once the reader has taken the queue below half of it, never after
 * the reactor side has closed. End of stream and errors reach the reader as the contract says. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/bytequeue.h"
#include "core/macros.h"
#include "tests/testutil.h"

#define HIGH  (64u << 10)
#define CHUNK 4000u /* not a divisor of HIGH: pushes overshoot the mark by a varying amount */
#define TOTAL (4u << 20)

static unsigned char pattern(uint64_t off)
{
    return (unsigned char)(off * 7 + (off >> 11));
}

struct fixture {
    const char *backend;
    struct reactor *r;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    f->backend = *state;
    f->r = tu_reactor(f->backend);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    reactor_free(f->r);
    free(f);
    return 0;
}

#define NEED_REACTOR(f)                                                                            \
    do {                                                                                           \
        if (!(f)->r)                                                                               \
            skip();                                                                                \
    } while (0)

/* ---- streaming with back-pressure ---- */

struct stream {
    struct reactor *r;
    struct bytequeue *q;
    pthread_t reactor_thread, reader;
    struct reactor_timer kick;
    sem_t reader_go;
    uint64_t pushed;
    bool paused, closed, reader_done, reader_started;
    int pauses, drains, drain_wrong_thread, drain_too_early, push_wrong;
    struct reactor_event reader_end;
    /* reader's results */
    uint64_t got;
    int bad_byte_at, reader_res;
};

static void push_more(struct stream *s)
{
    unsigned char buf[CHUNK];
    while (!s->paused && s->pushed < TOTAL) {
        size_t n = TOTAL - s->pushed < CHUNK ? TOTAL - s->pushed : CHUNK;
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(s->pushed + i);
        uint64_t before = bytequeue_consumed(s->q);
        bool ok = bytequeue_push(s->q, buf, n);
        s->pushed += n;
        /* false only at or above the mark, true only below it (see the queue's arithmetic) */
        if (!ok && s->pushed - before < HIGH)
            s->push_wrong++;
        if (ok && s->pushed - bytequeue_consumed(s->q) >= HIGH)
            s->push_wrong++;
        if (!ok) {
            s->paused = true;
            s->pauses++;
            if (!s->reader_started) { /* let the reader go only now: one pause is certain */
                s->reader_started = true;
                sem_post(&s->reader_go);
            }
        }
    }
    if (s->pushed == TOTAL && !s->closed) {
        s->closed = true;
        bytequeue_close(s->q, 0);
        bytequeue_release(s->q); /* the reactor side is done with it */
        if (s->reader_done)
            reactor_stop(s->r);
    }
}

static void on_drain(void *arg)
{
    struct stream *s = arg;
    if (!pthread_equal(pthread_self(), s->reactor_thread))
        s->drain_wrong_thread++;
    if (!s->paused || s->pushed - bytequeue_consumed(s->q) >= HIGH / 2)
        s->drain_too_early++;
    s->drains++;
    s->paused = false;
    push_more(s);
}

static void kick(struct reactor_timer *t)
{
    struct stream *s = container_of(t, struct stream, kick);
    push_more(s);
}

static void reader_ended(struct reactor_event *ev)
{
    struct stream *s = container_of(ev, struct stream, reader_end);
    s->reader_done = true;
    if (s->closed)
        reactor_stop(s->r);
}

static void *reader_main(void *arg)
{
    struct stream *s = arg;
    struct bytequeue *q = s->q;
    sem_wait(&s->reader_go);
    unsigned char buf[1021]; /* odd: reads split chunks */
    ssize_t n;
    s->bad_byte_at = -1;
    while ((n = bytequeue_read(q, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != pattern(s->got + (uint64_t)i) && s->bad_byte_at < 0)
                s->bad_byte_at = (int)(s->got + (uint64_t)i);
        s->got += (uint64_t)n;
    }
    s->reader_res = (int)n;
    assert_true(bytequeue_read(q, buf, sizeof(buf)) == 0); /* the end stays the end */
    reactor_post(s->r, &s->reader_end);
    bytequeue_release(q);
    return NULL;
}

static void test_backpressure(void **state)
{
    struct fixture *f = *state;
    NEED_REACTOR(f);
    struct stream s = {.r = f->r, .reactor_thread = pthread_self()};
    s.q = bytequeue_new(f->r, HIGH, on_drain, &s);
    s.kick.fn = kick;
    s.reader_end.fn = reader_ended;
    sem_init(&s.reader_go, 0, 0);
    pthread_create(&s.reader, NULL, reader_main, &s);
    reactor_timer_start(f->r, &s.kick, 0);
    bool ok = tu_run(f->r, 20000);
    if (!ok) /* unblock the reader so the program can end and report */
        sem_post(&s.reader_go);
    pthread_join(s.reader, NULL);
    sem_destroy(&s.reader_go);
    assert_true(ok);
    assert_int_equal(s.reader_res, 0);
    assert_int_equal(s.got, TOTAL);
    assert_int_equal(s.bad_byte_at, -1);
    fprintf(stderr, "# %s: %d pauses, %d drains\n", f->backend, s.pauses, s.drains);
    assert_true(s.pauses >= 1);
    /* every pause but one that came with the end of the data was ended by a drain */
    assert_true(s.drains >= s.pauses - 1 && s.drains <= s.pauses);
    assert_int_equal(s.drain_wrong_thread, 0);
    assert_int_equal(s.drain_too_early, 0);
    assert_int_equal(s.push_wrong, 0);
}

/* ---- ends ---- */

static void never_drain(void *arg)
{
    (*(int *)arg)++;
}

static void test_eof_after_bytes(void **state)
{
    struct fixture *f = *state;
    NEED_REACTOR(f);
    int drains = 0;
    struct bytequeue *q = bytequeue_new(f->r, HIGH, never_drain, &drains);
    assert_true(bytequeue_push(q, "hello", 5));
    assert_true(bytequeue_push(q, "", 0));
    assert_true(bytequeue_push(q, "world", 5));
    bytequeue_close(q, 0);
    bytequeue_close(q, -EIO); /* the first close decides */
    bytequeue_release(q);
    char buf[8];
    const char *want[] = {"hel", "low", "orl", "d"}; /* a read spans chunks */
    for (size_t i = 0; i < 4; i++) {
        ssize_t n = bytequeue_read(q, buf, 3);
        assert_int_equal(n, strlen(want[i]));
        assert_memory_equal(buf, want[i], (size_t)n);
    }
    assert_int_equal(bytequeue_read(q, buf, 3), 0);
    assert_int_equal(bytequeue_read(q, buf, 3), 0);
    assert_int_equal(bytequeue_consumed(q), 10);
    bytequeue_release(q);
    assert_int_equal(drains, 0);
}

/* One read takes every queued chunk that fits, so the worker copies, hashes and writes in
 * batches rather than one network read at a time. */
static void test_read_gathers_chunks(void **state)
{
    struct fixture *f = *state;
    NEED_REACTOR(f);
    int drains = 0;
    struct bytequeue *q = bytequeue_new(f->r, HIGH, never_drain, &drains);
    assert_true(bytequeue_push(q, "ab", 2));
    assert_true(bytequeue_push(q, "cd", 2));
    assert_true(bytequeue_push(q, "ef", 2));
    bytequeue_close(q, 0);
    char buf[64];
    assert_int_equal(bytequeue_read(q, buf, sizeof(buf)), 6);
    assert_memory_equal(buf, "abcdef", 6);
    assert_int_equal(bytequeue_read(q, buf, sizeof(buf)), 0);
    bytequeue_release(q);
    bytequeue_release(q);
}

/* An error cuts the stream at once: queued bytes are not delivered first. */
static void test_error_is_immediate(void **state)
{
    struct fixture *f = *state;
    NEED_REACTOR(f);
    int drains = 0;
    struct bytequeue *q = bytequeue_new(f->r, HIGH, never_drain, &drains);
    bytequeue_push(q, "abc", 3);
    bytequeue_close(q, -ECANCELED);
    char buf[8];
    assert_int_equal(bytequeue_read(q, buf, sizeof(buf)), -ECANCELED);
    assert_int_equal(bytequeue_read(q, buf, sizeof(buf)), -ECANCELED);
    assert_int_equal(bytequeue_consumed(q), 0);
    bytequeue_release(q); /* worker first, then the reactor side: either order frees it */
    bytequeue_release(q);
}

/* A reader blocked on an empty queue wakes for the close. */
struct blocked {
    struct bytequeue *q;
    ssize_t res;
    struct reactor *r;
    struct reactor_event ev;
};

static void blocked_done(struct reactor_event *ev)
{
    struct blocked *b = container_of(ev, struct blocked, ev);
    reactor_stop(b->r);
}

static void *blocked_reader(void *arg)
{
    struct blocked *b = arg;
    char c;
    b->res = bytequeue_read(b->q, &c, 1);
    reactor_post(b->r, &b->ev);
    return NULL;
}

static void test_close_wakes_reader(void **state)
{
    struct fixture *f = *state;
    NEED_REACTOR(f);
    struct blocked b = {.r = f->r, .res = 1, .ev = {.fn = blocked_done}};
    b.q = bytequeue_new(f->r, HIGH, NULL, NULL);
    pthread_t t;
    pthread_create(&t, NULL, blocked_reader, &b);
    bytequeue_close(b.q, -EPIPE);
    bool ok = tu_run(f->r, 10000);
    pthread_join(t, NULL);
    assert_true(ok);
    assert_int_equal(b.res, -EPIPE);
    bytequeue_release(b.q);
    bytequeue_release(b.q);
}

/* Paused, then closed by the reactor side: the drain the reader triggers must not call
 * on_drain (its owner is gone). The reader's own post comes after the drain post, and posts
 * run in order, so when it arrives the drain has been handled. */
struct late {
    struct reactor *r;
    struct bytequeue *q;
    int drains;
    uint64_t got;
    struct reactor_event ev;
};

static void late_drain(void *arg)
{
    ((struct late *)arg)->drains++;
}

static void late_done(struct reactor_event *ev)
{
    struct late *l = container_of(ev, struct late, ev);
    reactor_stop(l->r);
}

static void *late_reader(void *arg)
{
    struct late *l = arg;
    char buf[4096];
    ssize_t n;
    while ((n = bytequeue_read(l->q, buf, sizeof(buf))) > 0)
        l->got += (uint64_t)n;
    reactor_post(l->r, &l->ev);
    bytequeue_release(l->q);
    return NULL;
}

static void test_no_drain_after_close(void **state)
{
    struct fixture *f = *state;
    NEED_REACTOR(f);
    struct late l = {.r = f->r, .ev = {.fn = late_done}};
    l.q = bytequeue_new(f->r, HIGH, late_drain, &l);
    char buf[CHUNK] = {0};
    uint64_t pushed = 0;
    do
        pushed += CHUNK;
    while (bytequeue_push(l.q, buf, sizeof(buf)));
    bytequeue_close(l.q, 0);
    bytequeue_release(l.q);
    pthread_t t;
    pthread_create(&t, NULL, late_reader, &l);
    bool ok = tu_run(f->r, 10000);
    pthread_join(t, NULL);
    assert_true(ok);
    assert_int_equal(l.got, pushed);
    assert_int_equal(l.drains, 0);
}

#define BOTH(fn)                                                                                   \
    {#fn "[io_uring]", fn, setup, teardown, "io_uring"},                                           \
    {                                                                                              \
#fn "[epoll]", fn, setup, teardown, "epoll"                                                \
    }

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_backpressure),        BOTH(test_eof_after_bytes),
        BOTH(test_read_gathers_chunks), BOTH(test_error_is_immediate),
        BOTH(test_close_wakes_reader),  BOTH(test_no_drain_after_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
