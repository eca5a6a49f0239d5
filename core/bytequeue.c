/* core/bytequeue.c — a list of copied chunks under a mutex and condition variable. The drain
 * notification crosses threads through reactor_post, and the queue is reference-counted so
 * either side may finish first. */
#include "core/bytequeue.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/macros.h"
#include "core/xalloc.h"

struct chunk {
    struct chunk *next;
    size_t len, off;
    char data[];
};

struct bytequeue {
    struct reactor *r;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct chunk *head, *tail;
    size_t queued, high_water;
    size_t want; /* bytes the sleeping worker waits for; 0 when it is not waiting */
    bool closed, paused;
    int close_res;
    _Atomic uint64_t consumed;
    int refs;
    void (*on_drain)(void *arg);
    void *arg;
    struct reactor_event drain_ev;
    bool drain_posted;
};

static void run_drain(struct reactor_event *ev)
{
    struct bytequeue *q = container_of(ev, struct bytequeue, drain_ev);
    pthread_mutex_lock(&q->lock);
    q->drain_posted = false;
    bool alive = !q->closed; /* after close the reactor side wants no more calls */
    pthread_mutex_unlock(&q->lock);
    if (alive && q->on_drain)
        q->on_drain(q->arg);
    bytequeue_release(q); /* the reference the post held */
}

struct bytequeue *bytequeue_new(struct reactor *r, size_t high_water, void (*on_drain)(void *arg),
                                void *arg)
{
    struct bytequeue *q = xcalloc(1, sizeof(*q));
    q->r = r;
    q->high_water = high_water;
    q->on_drain = on_drain;
    q->arg = arg;
    q->refs = 2;
    q->drain_ev.fn = run_drain;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    return q;
}

bool bytequeue_push(struct bytequeue *q, const void *p, size_t n)
{
    if (n == 0) { /* an empty chunk would read as 0, which the worker takes for the end */
        pthread_mutex_lock(&q->lock);
        bool ok = q->queued < q->high_water;
        pthread_mutex_unlock(&q->lock);
        return ok;
    }
    struct chunk *c = xmalloc(sizeof(*c) + n);
    c->next = NULL;
    c->len = n;
    c->off = 0;
    memcpy(c->data, p, n);
    pthread_mutex_lock(&q->lock);
    if (q->tail)
        q->tail->next = c;
    else
        q->head = c;
    q->tail = c;
    q->queued += n;
    bool ok = q->queued < q->high_water;
    if (!ok)
        q->paused = true;
    if (q->want && q->queued >= q->want)
        pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
    return ok;
}

void bytequeue_close(struct bytequeue *q, int res)
{
    pthread_mutex_lock(&q->lock);
    if (!q->closed) {
        q->closed = true;
        q->close_res = res;
    }
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

/* Called with the lock held after taking bytes: wake the reactor once below half the mark. */
static void maybe_post_drain(struct bytequeue *q)
{
    if (!q->paused || q->queued >= q->high_water / 2 || q->drain_posted)
        return;
    q->paused = false;
    q->drain_posted = true;
    q->refs++; /* held by the post until run_drain */
    reactor_post(q->r, &q->drain_ev);
}

/* A worker woken for every network read would copy and hash in slivers and sleep as often:
 * it waits until a worthwhile batch is queued (a quarter of the high-water mark, so a paused
 * source always refills it) and then takes all it can. */
ssize_t bytequeue_read(struct bytequeue *q, void *buf, size_t cap)
{
    size_t want = q->high_water / 4 < cap ? q->high_water / 4 : cap;
    if (want == 0)
        want = 1;
    pthread_mutex_lock(&q->lock);
    while (q->queued < want && !q->closed) {
        q->want = want;
        pthread_cond_wait(&q->cond, &q->lock);
    }
    q->want = 0;
    ssize_t n = 0;
    if (q->closed && q->close_res < 0) {
        n = q->close_res; /* errors cut the stream short: the queued bytes no longer matter */
    } else {
        while (q->head && (size_t)n < cap) {
            struct chunk *c = q->head;
            size_t take = c->len - c->off < cap - (size_t)n ? c->len - c->off : cap - (size_t)n;
            memcpy((char *)buf + n, c->data + c->off, take);
            c->off += take;
            n += (ssize_t)take;
            if (c->off == c->len) {
                q->head = c->next;
                if (!q->head)
                    q->tail = NULL;
                free(c);
            }
        }
        q->queued -= (size_t)n;
        atomic_fetch_add(&q->consumed, (uint64_t)n);
        maybe_post_drain(q);
    }
    pthread_mutex_unlock(&q->lock);
    return n;
}

uint64_t bytequeue_consumed(struct bytequeue *q)
{
    return atomic_load(&q->consumed);
}

void bytequeue_release(struct bytequeue *q)
{
    pthread_mutex_lock(&q->lock);
    bool last = --q->refs == 0;
    pthread_mutex_unlock(&q->lock);
    if (!last)
        return;
    while (q->head) {
        struct chunk *c = q->head;
        q->head = c->next;
        free(c);
    }
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    free(q);
}
