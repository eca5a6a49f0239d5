/* tests/core/reactor_helpers.h — what the reactor-driven unit tests share: one test case per
 * backend, a reactor that skips (not fails) where io_uring is missing, and running the loop
 * until a condition holds or a deadline passes. Include after <cmocka.h>. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/macros.h"
#include "core/reactor.h"

/* Two cmocka cases for one test function, one per backend; the backend name is the initial
 * state, and the fixture replaces it. */
/* (clang-format takes the braces of this initializer for a block.) */
/* clang-format off */
#define BACKEND_CASE(fn, name, setup, teardown) {#fn "/" name, fn, setup, teardown, (void *)name}
/* clang-format on */
#define BOTH_BACKENDS(fn, setup, teardown)                                                         \
    BACKEND_CASE(fn, "io_uring", setup, teardown), BACKEND_CASE(fn, "epoll", setup, teardown)

/* A reactor on the named backend; skips the test when the kernel refuses io_uring. */
static inline struct reactor *test_reactor_new(const char *backend)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct reactor *r = reactor_new(backend, &err);
    if (!r && strcmp(backend, "io_uring") == 0 && (err->status == ENOSYS || err->status == EPERM))
        skip();
    if (!r)
        fail_msg("reactor_new(%s): %s", backend, err ? err->msg : "?");
    assert_string_equal(reactor_backend_name(r), backend);
    return r;
}

struct test_waiter {
    struct reactor_timer check, deadline;
    struct reactor *r;
    bool (*pred)(void *ctx);
    void *ctx;
    bool timed_out;
};

static inline void test_waiter_check(struct reactor_timer *t)
{
    struct test_waiter *w = container_of(t, struct test_waiter, check);
    if (w->pred && w->pred(w->ctx))
        reactor_stop(w->r);
    else
        reactor_timer_start(w->r, t, 1);
}

static inline void test_waiter_deadline(struct reactor_timer *t)
{
    struct test_waiter *w = container_of(t, struct test_waiter, deadline);
    w->timed_out = true;
    reactor_stop(w->r);
}

/* Run the reactor until pred(ctx) holds (checked every millisecond and whenever a callback
 * stops the loop) or timeout_ms pass; returns pred(ctx). With pred NULL it just runs for
 * timeout_ms: an observation window for "nothing else happens". */
static inline bool run_until(struct reactor *r, bool (*pred)(void *ctx), void *ctx,
                             unsigned timeout_ms)
{
    struct test_waiter w = {.r = r, .pred = pred, .ctx = ctx};
    w.check.fn = test_waiter_check;
    w.deadline.fn = test_waiter_deadline;
    reactor_timer_start(r, &w.deadline, timeout_ms);
    reactor_timer_start(r, &w.check, 1);
    while (!w.timed_out && !(pred && pred(ctx)))
        assert_int_equal(reactor_run(r), 0);
    reactor_timer_stop(r, &w.check);
    reactor_timer_stop(r, &w.deadline);
    return pred ? pred(ctx) : true;
}

static inline void run_for(struct reactor *r, unsigned ms)
{
    run_until(r, NULL, NULL, ms);
}

static inline bool pred_flag(void *ctx)
{
    return *(bool *)ctx;
}

struct test_goal {
    const int *value;
    int want;
};

static inline bool pred_goal(void *ctx)
{
    const struct test_goal *g = ctx;
    return *g->value >= g->want;
}

/* Run until *value >= want (a callback counter), or timeout_ms. */
static inline bool run_until_count(struct reactor *r, const int *value, int want,
                                   unsigned timeout_ms)
{
    struct test_goal g = {value, want};
    return run_until(r, pred_goal, &g, timeout_ms);
}

static inline char *test_memdup(const void *p, size_t n)
{
    char *d = malloc(n ? n : 1);
    assert_non_null(d);
    memcpy(d, p, n);
    return d;
}
