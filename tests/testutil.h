/* tests/testutil.h — helpers the unit tests share: temp directories owned by the test (made
 * with mkdtemp, removed without following symlinks), small file helpers, and a reactor run
 * bounded by a watchdog. Header-only because each test program is built from one .c file. */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/reactor.h"
#include "core/xalloc.h"

/* A fresh directory under /var/tmp (a disk filesystem: xattrs, holes and devices behave as in
 * /var/lib/berth). Heap string. */
static inline char *tu_tmpdir(const char *what)
{
    char *dir = xasprintf("/var/tmp/berth-%s-XXXXXX", what);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "mkdtemp %s: %s\n", dir, strerror(errno));
        abort();
    }
    return dir;
}

static inline int tu_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* rm -rf without following symlinks; tolerates a missing path. */
static inline void tu_rm_rf(const char *path)
{
    if (path && nftw(path, tu_rm_one, 64, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
        fprintf(stderr, "# cleanup of %s: %s\n", path, strerror(errno));
}

static inline bool tu_is_root(void)
{
    return geteuid() == 0;
}

static inline void tu_write(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
        fprintf(stderr, "write %s: %s\n", path, strerror(errno));
        abort();
    }
    close(fd);
}

/* Whole file as a NUL-terminated heap string (*len may be NULL); NULL if it cannot be read. */
static inline char *tu_read(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, n = 0;
    char *data = xmalloc(cap + 1);
    ssize_t k;
    while ((k = read(fd, data + n, cap - n)) > 0) {
        n += (size_t)k;
        if (n == cap)
            data = xrealloc(data, (cap *= 2) + 1);
    }
    close(fd);
    data[n] = '\0';
    if (len)
        *len = n;
    return data;
}

static inline bool tu_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Names in dir, sorted and joined by spaces ("" when empty; NULL when unreadable). */
static inline char *tu_listing(const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0)
        return NULL;
    struct buf b = {0};
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0)
            buf_printf(&b, "%s%s", b.len ? " " : "", names[i]->d_name);
        free(names[i]);
    }
    free(names);
    buf_reserve(&b, 0);
    return buf_steal(&b, NULL);
}

/* ---- reactor runs with a watchdog ---- */

struct tu_watchdog {
    struct reactor_timer t; /* first: the timer callback casts back */
    struct reactor *r;
    bool fired;
};

static inline void tu_watchdog_fire(struct reactor_timer *t)
{
    struct tu_watchdog *w = (struct tu_watchdog *)t;
    w->fired = true;
    reactor_stop(w->r);
}

/* Run until a callback calls reactor_stop(); false if the watchdog had to stop it. */
static inline bool tu_run(struct reactor *r, uint64_t limit_ms)
{
    struct tu_watchdog w = {.t = {.fn = tu_watchdog_fire}, .r = r};
    reactor_timer_start(r, &w.t, limit_ms);
    reactor_run(r);
    reactor_timer_stop(r, &w.t);
    return !w.fired;
}

/* A reactor on the named backend, or NULL when this kernel or sandbox cannot give one (the
 * caller skips). */
static inline struct reactor *tu_reactor(const char *backend)
{
    struct berth_err *err = NULL;
    struct reactor *r = reactor_new(backend, &err);
    if (!r) {
        fprintf(stderr, "# reactor %s unavailable: %s\n", backend ? backend : "auto",
                err ? err->msg : "?");
        berth_err_free(err);
    }
    return r;
}
