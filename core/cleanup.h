/* core/cleanup.h — scope-bound cleanup for every owned local resource, and take_*() to hand
 * one out. Each *_freep tolerates NULL or -1, so early returns need no bookkeeping. */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
    free(*(void **)p);
}

static inline void closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno; /* a cleanup must not clobber the errno being reported */
        close(*fd);
        errno = saved;
    }
}

static inline void fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}

static inline void closedirp(DIR **d)
{
    if (*d)
        closedir(*d);
}

/* A NULL-terminated array of heap strings. */
static inline void strv_freep(char ***v)
{
    for (char **p = *v; p && *p; p++)
        free(*p);
    free(*v);
}

#define _cleanup_free_     _cleanup_(freep)
#define _cleanup_close_    _cleanup_(closep)
#define _cleanup_fclose_   _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)
#define _cleanup_json_     _cleanup_(json_decrefp) /* jansson provides json_decrefp */
#define _cleanup_err_      _cleanup_(berth_err_freep)
#define _cleanup_buf_      _cleanup_(buf_free) /* buf_free takes the buffer's address */
#define _cleanup_strv_     _cleanup_(strv_freep)

static inline int take_fd(int *fd)
{
    int r = *fd;
    *fd = -1;
    return r;
}

#define take_ptr(p)                                                                                \
    ({                                                                                             \
        __typeof__(p) _taken = (p);                                                                \
        (p) = NULL;                                                                                \
        _taken;                                                                                    \
    })
