/* core/bytequeue.h — a bounded byte stream from the reactor thread to one pool worker: the
 * reactor pushes what the network delivers and is told to pause above the high-water mark;
 * the worker pops with blocking reads and wakes the reactor when the queue has drained. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/reactor.h"

struct bytequeue;

/* on_drain runs on the reactor thread once the worker has drained the queue below the
 * low-water mark after a push returned false. */
struct bytequeue *bytequeue_new(struct reactor *r, size_t high_water, void (*on_drain)(void *arg),
                                void *arg);
/* Reactor side: copy bytes in; false means "above high water: pause the source". */
bool bytequeue_push(struct bytequeue *q, const void *p, size_t n);
/* Reactor side: the source ended (res 0) or failed / was cancelled (res < 0, e.g. -ECANCELED);
 * the worker sees EOF after the queued bytes, or the error at once. */
void bytequeue_close(struct bytequeue *q, int res);
/* Worker side: blocking read of as many queued bytes as fit, once a batch is queued (or the
 * source ended); bytes, 0 at the end, or the negative close code. */
ssize_t bytequeue_read(struct bytequeue *q, void *buf, size_t cap);
/* Bytes the worker has taken so far (any thread). */
uint64_t bytequeue_consumed(struct bytequeue *q);
/* Freed by whichever side calls it last (the reactor side after close, the worker when done);
 * on_drain never runs after the reactor side has closed. */
void bytequeue_release(struct bytequeue *q);
