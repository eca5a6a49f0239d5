/* core/pump.h — bytes produced by blocking code, delivered on the reactor: a pool job writes
 * into a pipe and the reactor reads it, so the pipe itself is the back-pressure (a paused
 * reader blocks the writer). Used for `docker save` and for blob uploads. */
#pragma once

#include <stddef.h>

#include "core/err.h"
#include "core/pool.h"
#include "core/reactor.h"

struct pump;

struct pump_ops {
    /* Pool thread: write everything to fd with blocking writes; 0 or a negative error. A
     * reader that went away shows as EPIPE. */
    int (*produce)(void *arg, int fd, struct berth_err **err);
    /* Reactor: the next bytes. */
    void (*on_data)(void *arg, const char *data, size_t n);
    /* Reactor, last: every byte was delivered (res 0) or production failed. */
    void (*on_end)(void *arg, int res, const struct berth_err *err);
};

struct pump *pump_start(struct reactor *r, struct pool *pool, enum pool_class cls,
                        const struct pump_ops *ops, void *arg, struct berth_err **err);
void pump_pause(struct pump *p);
void pump_resume(struct pump *p);
/* Stop early: no callback runs after this; the producer sees EPIPE and the pump frees itself
 * once it has returned. */
void pump_cancel(struct pump *p);
