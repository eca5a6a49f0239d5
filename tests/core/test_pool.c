/* tests/core/test_pool.c — the two-class thread pool: a latency job never waits behind bulk
 * jobs, done callbacks run on the reactor thread, pool_free drains what is queued. Includes
 * pool.c to count its threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/pool.c"

#include <stdatomic.h>
#include <time.h>

#include "tests/core/reactor_helpers.h"

#define SLOW_MS 300

struct fx {
    const char *backend;
    struct reactor *r;
    struct pool *p;
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
    pool_free(f->p);
    reactor_free(f->r);
    free(f);
    return 0;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

struct tally {
    _Atomic int started_bulk, started, finished;
    int done;
    bool done_off_thread; /* a done callback ran off the reactor thread */
    bool work_on_reactor; /* a work function ran on the reactor thread */
    bool signals_open;    /* a worker could take SIGTERM */
    pthread_t reactor_thread;
};

struct tjob {
    struct pool_job job;
    struct tally *t;
    bool slow, bulk;
    unsigned sleep_ms;
    uint64_t submitted, started, finished;
    int finished_rank; /* 0: the first job of the test to finish */
    int done_runs;
};

static void tjob_work(struct pool_job *job)
{
    struct tjob *j = (struct tjob *)job;
    j->started = now_us();
    if (pthread_equal(pthread_self(), j->t->reactor_thread))
        j->t->work_on_reactor = true;
    sigset_t cur;
    pthread_sigmask(SIG_SETMASK, NULL, &cur);
    if (!sigismember(&cur, SIGTERM))
        j->t->signals_open = true;
    atomic_fetch_add(&j->t->started, 1);
    if (j->bulk)
        atomic_fetch_add(&j->t->started_bulk, 1);
    if (j->sleep_ms)
        usleep(j->sleep_ms * 1000); /* stands for blocking work: unpacking, fsync ... */
    j->finished = now_us();
    j->finished_rank = atomic_fetch_add(&j->t->finished, 1);
}

static void tjob_done(struct pool_job *job)
{
    struct tjob *j = (struct tjob *)job;
    if (!pthread_equal(pthread_self(), j->t->reactor_thread))
        j->t->done_off_thread = true;
    j->done_runs++;
    j->t->done++;
}

static void tjob_init(struct tjob *j, struct tally *t, bool bulk, unsigned sleep_ms)
{
    *j = (struct tjob){
        .job = {.work = tjob_work, .done = tjob_done}, .t = t, .bulk = bulk, .sleep_ms = sleep_ms};
}

static void submit(struct pool *p, struct tjob *j)
{
    j->submitted = now_us();
    pool_submit(p, j->bulk ? POOL_BULK : POOL_LATENCY, &j->job);
}

struct atomic_goal {
    _Atomic int *v;
    int want;
};

static bool atomic_reached(void *ctx)
{
    struct atomic_goal *g = ctx;
    return atomic_load(g->v) >= g->want;
}

static void test_latency_not_behind_bulk(void **state)
{
    struct fx *f = *state;
    struct reactor *r = f->r = test_reactor_new(f->backend);
    struct pool *p = f->p = pool_new(r, 1, 2);
    struct tally t = {.reactor_thread = pthread_self()};
    struct tjob bulk[5], lat;
    for (int i = 0; i < 5; i++) { /* more slow bulk jobs than bulk threads */
        tjob_init(&bulk[i], &t, true, SLOW_MS);
        submit(p, &bulk[i]);
    }
    /* Both bulk workers are busy and three bulk jobs wait in their queue. */
    assert_true(run_until(r, atomic_reached, &(struct atomic_goal){&t.started_bulk, 2}, 2000));
    tjob_init(&lat, &t, false, 0);
    submit(p, &lat);
    assert_true(run_until_count(r, &lat.done_runs, 1, 2000));
    assert_true(lat.started - lat.submitted < 50 * 1000); /* at once, not after 300 ms */
    assert_int_equal(lat.finished_rank, 0);               /* before every bulk job */

    assert_true(run_until_count(r, &t.done, 6, 5 * SLOW_MS + 2000));
    for (int i = 0; i < 5; i++) {
        assert_int_equal(bulk[i].done_runs, 1);
        assert_true(bulk[i].finished_rank > 0);
    }
    /* The three queued bulk jobs started only when a bulk worker came free. */
    assert_true(bulk[2].started >= bulk[0].finished || bulk[2].started >= bulk[1].finished);
    assert_int_equal(lat.done_runs, 1);
    assert_false(t.done_off_thread);
    assert_false(t.work_on_reactor);
    assert_false(t.signals_open);
}

/* A latency job waiting for the busy latency worker is taken by an idle bulk worker. */
static void test_idle_bulk_helps_latency(void **state)
{
    struct fx *f = *state;
    struct reactor *r = f->r = test_reactor_new(f->backend);
    struct pool *p = f->p = pool_new(r, 1, 1);
    struct tally t = {.reactor_thread = pthread_self()};
    struct tjob slow, quick;
    tjob_init(&slow, &t, false, SLOW_MS);
    submit(p, &slow);
    assert_true(run_until(r, atomic_reached, &(struct atomic_goal){&t.started, 1}, 2000));
    tjob_init(&quick, &t, false, 0);
    submit(p, &quick);
    assert_true(run_until_count(r, &quick.done_runs, 1, 2000));
    assert_true(quick.started - quick.submitted < 50 * 1000);
    assert_int_equal(quick.finished_rank, 0);
    assert_true(run_until_count(r, &t.done, 2, SLOW_MS + 2000));
}

/* pool_free runs every queued job; their done callbacks wait for the reactor to run. */
static void test_free_drains(void **state)
{
    struct fx *f = *state;
    struct reactor *r = f->r = test_reactor_new(f->backend);
    struct pool *p = pool_new(r, 1, 1);
    struct tally t = {.reactor_thread = pthread_self()};
    enum { NB = 10, NL = 5 };
    struct tjob jobs[NB + NL];
    for (int i = 0; i < NB + NL; i++) {
        tjob_init(&jobs[i], &t, i < NB, 5);
        submit(p, &jobs[i]);
    }
    struct tjob nodone;
    tjob_init(&nodone, &t, true, 0);
    nodone.job.done = NULL; /* fine: nothing is posted */
    submit(p, &nodone);
    pool_free(p);
    assert_int_equal(atomic_load(&t.finished), NB + NL + 1);
    assert_int_equal(t.done, 0); /* the reactor has not run */
    assert_true(run_until_count(r, &t.done, NB + NL, 2000));
    run_for(r, 20);
    assert_int_equal(t.done, NB + NL);
    for (int i = 0; i < NB + NL; i++)
        assert_int_equal(jobs[i].done_runs, 1);
    assert_false(t.done_off_thread);
}

struct blocked_job {
    struct pool_job job;
    int fd; /* read until the test writes */
    _Atomic bool returned;
};

static void blocked_work(struct pool_job *job)
{
    struct blocked_job *b = (struct blocked_job *)job;
    char c;
    (void)!read(b->fd, &c, 1);
    atomic_store(&b->returned, true);
}

/* pool_stop: a job that never ends does not hold the stop past its bound; once it does end,
 * its worker exits without touching anything the caller freed (only the pool is kept). */
static void *left_behind[8]; /* see the end of test_stop_bounded (run once per backend) */
static size_t nleft;

static void test_stop_bounded(void **state)
{
    struct fx *f = *state;
    struct reactor *r = f->r = test_reactor_new(f->backend);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    struct pool *p = pool_new(r, 1, 1);
    struct blocked_job *b = xcalloc(1, sizeof(*b)); /* outlives the test: the worker may run */
    b->fd = fds[0];
    b->job.work = blocked_work;
    pool_submit(p, POOL_BULK, &b->job);
    struct tally t = {.reactor_thread = pthread_self()};
    struct tjob quick;
    tjob_init(&quick, &t, false, 0);
    submit(p, &quick);
    uint64_t t0 = now_us();
    assert_int_equal(pool_stop(p, 200), 1);
    uint64_t waited = now_us() - t0;
    assert_true(waited >= 190 * 1000 && waited < 2000 * 1000);
    assert_int_equal(atomic_load(&t.finished), 1); /* the other job still ran */
    assert_false(atomic_load(&b->returned));
    assert_int_equal(write(fds[1], "x", 1), 1); /* the stuck one ends, its worker exits */
    for (int i = 0; i < 200 && !atomic_load(&b->returned); i++)
        usleep(5000);
    assert_true(atomic_load(&b->returned));
    close(fds[1]);
    /* p, b and fds[0] are left to the process, as berthd leaves them; held here so that
     * LeakSanitizer sees them reachable */
    if (nleft + 2 <= ARRAY_SIZE(left_behind)) {
        left_behind[nleft++] = p;
        left_behind[nleft++] = b;
    }
}

static void test_default_threads(void **state)
{
    struct fx *f = *state;
    struct reactor *r = f->r = test_reactor_new(f->backend);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int dflt = ncpu < 2 ? 2 : (int)ncpu;
    struct pool *p = f->p = pool_new(r, 0, 0);
    assert_int_equal(p->nthreads, 2 * dflt);
    struct tally t = {.reactor_thread = pthread_self()};
    struct tjob j;
    tjob_init(&j, &t, true, 0);
    submit(p, &j);
    assert_true(run_until_count(r, &j.done_runs, 1, 2000));
}

#define BOTH(fn) BOTH_BACKENDS(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_latency_not_behind_bulk),
        BOTH(test_idle_bulk_helps_latency),
        BOTH(test_free_drains),
        BOTH(test_stop_bounded),
        BOTH(test_default_threads),
    };
    return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
