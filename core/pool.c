/* core/pool.c — worker threads over two FIFO queues under one mutex. Latency workers never
 * touch the bulk queue, so a latency job starts as soon as one of them is free. */
#include "core/pool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/macros.h"
#include "core/xalloc.h"

struct queue {
    struct pool_job *head, *tail;
};

struct pool {
    struct reactor *r;
    pthread_mutex_t lock;
    pthread_cond_t latency_cond, bulk_cond;
    struct queue latency, bulk;
    int idle_latency; /* latency workers waiting for a job */
    int live;         /* workers that have not exited */
    pthread_cond_t exited_cond;
    bool stopping;
    pthread_t *threads;
    int nthreads;
};

struct worker {
    struct pool *p;
    enum pool_class cls;
};

static void enqueue(struct queue *q, struct pool_job *job)
{
    job->_next = NULL;
    if (q->tail)
        q->tail->_next = job;
    else
        q->head = job;
    q->tail = job;
}

static struct pool_job *dequeue(struct queue *q)
{
    struct pool_job *job = q->head;
    if (job) {
        q->head = job->_next;
        if (!q->head)
            q->tail = NULL;
    }
    return job;
}

static void run_done(struct reactor_event *ev)
{
    struct pool_job *job = container_of(ev, struct pool_job, _ev);
    job->done(job);
}

/* Called with the lock held; returns NULL when the worker should exit. */
static struct pool_job *next_job(struct pool *p, enum pool_class cls)
{
    for (;;) {
        struct pool_job *job = cls == POOL_LATENCY ? dequeue(&p->latency) : dequeue(&p->bulk);
        if (!job && cls == POOL_BULK)
            job = dequeue(&p->latency); /* an idle bulk worker helps with latency work */
        if (job || p->stopping)
            return job;
        if (cls == POOL_LATENCY) {
            p->idle_latency++;
            pthread_cond_wait(&p->latency_cond, &p->lock);
            p->idle_latency--;
        } else {
            pthread_cond_wait(&p->bulk_cond, &p->lock);
        }
    }
}

static void *worker_main(void *arg)
{
    struct worker w = *(struct worker *)arg;
    free(arg);
    struct pool *p = w.p;
    pthread_mutex_lock(&p->lock);
    struct pool_job *job;
    while ((job = next_job(p, w.cls))) {
        pthread_mutex_unlock(&p->lock);
        job->work(job);
        if (job->done) {
            job->_ev.fn = run_done;
            reactor_post(p->r, &job->_ev);
        }
        pthread_mutex_lock(&p->lock);
    }
    p->live--;
    pthread_cond_broadcast(&p->exited_cond);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void spawn(struct pool *p, enum pool_class cls)
{
    struct worker *w = xmalloc(sizeof(*w));
    *w = (struct worker){.p = p, .cls = cls};
    /* Workers never take signals: the reactor thread reads them from a signalfd. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&p->threads[p->nthreads], NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        log_error("pool: cannot start a worker thread");
        free(w);
        return;
    }
    p->nthreads++;
    p->live++;
}

struct pool *pool_new(struct reactor *r, int latency_threads, int bulk_threads)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int dflt = ncpu < 2 ? 2 : (int)ncpu;
    if (latency_threads <= 0)
        latency_threads = dflt;
    if (bulk_threads <= 0)
        bulk_threads = dflt;
    struct pool *p = xcalloc(1, sizeof(*p));
    p->r = r;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->latency_cond, NULL);
    pthread_cond_init(&p->bulk_cond, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->exited_cond, &ca);
    pthread_condattr_destroy(&ca);
    p->threads = xcalloc((size_t)(latency_threads + bulk_threads), sizeof(*p->threads));
    for (int i = 0; i < latency_threads; i++)
        spawn(p, POOL_LATENCY);
    for (int i = 0; i < bulk_threads; i++)
        spawn(p, POOL_BULK);
    return p;
}

void pool_submit(struct pool *p, enum pool_class cls, struct pool_job *job)
{
    pthread_mutex_lock(&p->lock);
    if (cls == POOL_LATENCY) {
        enqueue(&p->latency, job);
        if (p->idle_latency > 0)
            pthread_cond_signal(&p->latency_cond);
        else
            pthread_cond_signal(&p->bulk_cond); /* maybe a bulk worker is idle */
    } else {
        enqueue(&p->bulk, job);
        pthread_cond_signal(&p->bulk_cond);
    }
    pthread_mutex_unlock(&p->lock);
}

int pool_stop(struct pool *p, uint64_t timeout_ms)
{
    if (!p)
        return 0;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)(timeout_ms / 1000);
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->latency_cond);
    pthread_cond_broadcast(&p->bulk_cond);
    while (p->live > 0 && pthread_cond_timedwait(&p->exited_cond, &p->lock, &deadline) != ETIMEDOUT)
        ;
    int stuck = p->live;
    pthread_mutex_unlock(&p->lock);
    if (stuck > 0) { /* they go with the process; nothing of the pool may be freed */
        for (int i = 0; i < p->nthreads; i++)
            pthread_detach(p->threads[i]);
        return stuck;
    }
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->latency_cond);
    pthread_cond_destroy(&p->bulk_cond);
    pthread_cond_destroy(&p->exited_cond);
    free(p->threads);
    free(p);
    return 0;
}

void pool_free(struct pool *p)
{
    pool_stop(p, UINT64_MAX / 2000000); /* no deadline that can be reached */
}
