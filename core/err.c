/* core/err.c — builds and wraps berth_err values (see docs/errors.md for the contract).
 * Messages are heap strings so context can be prepended on the way up. */
#include "core/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

static int set_error(struct berth_err **err, int errnum, char *msg)
{
    if (!err) {
        free(msg);
        return -errnum - 1;
    }
    berth_err_free(*err);
    *err = xmalloc(sizeof(**err));
    (*err)->status = errnum;
    (*err)->msg = msg;
    return -errnum - 1;
}

int berth_error(struct berth_err **err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = xvasprintf(fmt, ap);
    va_end(ap);
    if (errnum == 0)
        return set_error(err, errnum, text);
    char *msg = xasprintf("%s: %s", text, strerror(errnum));
    free(text);
    return set_error(err, errnum, msg);
}

int berth_user_error(struct berth_err **err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = xvasprintf(fmt, ap);
    va_end(ap);
    return set_error(err, errnum, text);
}

int berth_error_wrap(struct berth_err **err, const char *fmt, ...)
{
    if (!err || !*err)
        return -1; /* nothing to wrap: the callee chose not to give words */
    va_list ap;
    va_start(ap, fmt);
    char *ctx = xvasprintf(fmt, ap);
    va_end(ap);
    char *msg = xasprintf("%s: %s", ctx, (*err)->msg);
    free(ctx);
    free((*err)->msg);
    (*err)->msg = msg;
    return berth_err_code(*err);
}

struct berth_err *berth_err_dup(const struct berth_err *e, const char *dflt)
{
    struct berth_err *copy = xcalloc(1, sizeof(*copy));
    copy->status = e ? e->status : EIO;
    copy->msg = xstrdup(e && e->msg ? e->msg : dflt);
    return copy;
}

int berth_err_code(const struct berth_err *e)
{
    return e ? -e->status - 1 : -1;
}

void berth_err_free(struct berth_err *e)
{
    if (!e)
        return;
    free(e->msg);
    free(e);
}

void berth_err_freep(struct berth_err **e)
{
    berth_err_free(*e);
    *e = NULL;
}
