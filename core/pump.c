/* core/pump.c — a pipe between a pool job and the reactor. The pump ends when both the
 * producer has returned and the reader has seen EOF; whichever comes second finishes it. */
#include "core/pump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/macros.h"
#include "core/xalloc.h"

struct pump {
    struct rio *io;
    int wfd;
    struct pool_job job;
    const struct pump_ops *ops;
    void *arg;
    int res;
    struct berth_err *err;
    bool eof, produced, cancelled;
};

static void finish(struct pump *p)
{
    if (!p->eof || !p->produced)
        return;
    reactor_io_close(p->io);
    if (!p->cancelled)
        p->ops->on_end(p->arg, p->res, p->err);
    berth_err_free(p->err);
    free(p);
}

static void on_recv(void *ctx, const char *data, ssize_t n)
{
    struct pump *p = ctx;
    if (n <= 0) {
        p->eof = true;
        return finish(p);
    }
    if (!p->cancelled)
        p->ops->on_data(p->arg, data, (size_t)n);
}

static void produce(struct pool_job *job)
{
    struct pump *p = container_of(job, struct pump, job);
    p->res = p->ops->produce(p->arg, p->wfd, &p->err);
    close(p->wfd); /* the reader's EOF */
}

static void produced(struct pool_job *job)
{
    struct pump *p = container_of(job, struct pump, job);
    p->produced = true;
    finish(p);
}

struct pump *pump_start(struct reactor *r, struct pool *pool, enum pool_class cls,
                        const struct pump_ops *ops, void *arg, struct berth_err **err)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        berth_error(err, errno, "pipe");
        return NULL;
    }
    fcntl(fds[1], F_SETPIPE_SZ, 1 << 20); /* fewer wake-ups; the default 64 KiB works too */
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    struct pump *p = xcalloc(1, sizeof(*p));
    p->ops = ops;
    p->arg = arg;
    p->wfd = fds[1];
    p->io = reactor_io_open(r, fds[0], p);
    reactor_recv(p->io, on_recv);
    p->job = (struct pool_job){.work = produce, .done = produced};
    pool_submit(pool, cls, &p->job);
    return p;
}

void pump_pause(struct pump *p)
{
    if (!p->eof)
        reactor_recv_pause(p->io);
}

void pump_resume(struct pump *p)
{
    if (!p->eof && !p->cancelled)
        reactor_recv(p->io, on_recv);
}

void pump_cancel(struct pump *p)
{
    p->cancelled = true;
    if (!p->eof) { /* closing the read end gives the producer EPIPE */
        reactor_io_close(p->io);
        p->io = NULL;
        p->eof = true;
    }
    finish(p);
}
