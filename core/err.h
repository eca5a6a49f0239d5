/* core/err.h — berth's one error convention: a fallible function takes `struct berth_err **err`
 * last and returns a negative value on failure, with the words a user needs in *err. */
#pragma once

#include <stdarg.h>

struct berth_err {
    int status; /* errno-style cause; handlers/ maps it to an HTTP status */
    char *msg;  /* "context: context: cause" */
};

/* Record a failure caused by `errnum` (0 if none) and return -errnum - 1, negative even for 0.
 * The message is the formatted text followed by ": strerror(errnum)" when errnum != 0.
 * `err` may be NULL when the caller does not want the words. */
int berth_error(struct berth_err **err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like berth_error, but the message is exactly the formatted text: for words a client matches
 * on, such as "No such container: x". */
int berth_user_error(struct berth_err **err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the pending error's message with context ("ctx: old") and return its negative code. */
int berth_error_wrap(struct berth_err **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A copy of a borrowed error, to keep past the callback that lent it; a NULL e becomes EIO with
 * the words `dflt`. */
struct berth_err *berth_err_dup(const struct berth_err *e, const char *dflt);

/* The negative return value that stands for `e`, for passing an error up unchanged. */
int berth_err_code(const struct berth_err *e);

void berth_err_free(struct berth_err *e);
void berth_err_freep(struct berth_err **e);
