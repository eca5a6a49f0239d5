/* fs/atomic.c — write-to-temp, fsync, rename, fsync-dir; plus the small file helpers that
 * state loading needs. Each write has its own temp name, so concurrent writers never collide. */
#include "fs/atomic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/dirlist.h"
#include "core/buf.h"
#include "core/cleanup.h"
#include "core/crashpoint.h"
#include "core/xalloc.h"

/* sync_file_range(WRITE) only queues I/O: a failure shows up in the later fsync/syncfs. */
static void writeback_send(struct fs_writeback *wb, int fd)
{
    if (wb->end > wb->start)
        (void)sync_file_range(fd, wb->start, wb->end - wb->start, SYNC_FILE_RANGE_WRITE);
    wb->start = wb->end;
}

void fs_writeback_note(struct fs_writeback *wb, int fd, off_t off, size_t len)
{
    if (off < wb->start || off > wb->end) { /* not contiguous (a sparse file): send what was */
        writeback_send(wb, fd);
        wb->start = off;
    }
    wb->end = off + (off_t)len;
    if (wb->end - wb->start >= (off_t)FS_WRITEBACK_STEP)
        writeback_send(wb, fd);
}

void fs_writeback_flush(struct fs_writeback *wb, int fd, size_t min_bytes)
{
    if (wb->end - wb->start >= (off_t)min_bytes)
        writeback_send(wb, fd);
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_dir_of(const char *path)
{
    _cleanup_free_ char *copy = xstrdup(path);
    _cleanup_close_ int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) < 0)
        return -errno;
    return 0;
}

/* Fill the temp file fd (named tmp) and rename it over path; -errno on failure. */
static int fill_and_rename(int fd, const char *tmp, const char *path, const void *data, size_t len,
                           mode_t mode, bool durable)
{
    if (fchmod(fd, mode) < 0)
        return -errno;
    int r = write_all(fd, data, len);
    if (r < 0)
        return r;
    if (durable && fsync(fd) < 0)
        return -errno;
    if (crashpoint_armed()) { /* "write:container.json": the temp is whole, unnamed */
        _cleanup_free_ char *copy = xstrdup(path), *point = xasprintf("write:%s", basename(copy));
        crashpoint(point);
    }
    if (rename(tmp, path) < 0)
        return -errno;
    return 0;
}

static int replace(const char *path, const void *data, size_t len, mode_t mode, bool durable,
                   struct berth_err **err)
{
    /* a unique temp name: two pool jobs writing the same file must not share (and tear) one */
    _cleanup_free_ char *tmp = xasprintf("%s" FS_TEMP_INFIX "XXXXXX", path);
    _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return berth_error(err, errno, "create `%s`", tmp);
    int r = fill_and_rename(fd, tmp, path, data, len, mode, durable);
    if (r < 0) { /* whichever step failed, the temp must not stay behind */
        unlink(tmp);
        return berth_error(err, -r, "write `%s`", path);
    }
    r = durable ? fsync_dir_of(path) : 0;
    return r < 0 ? berth_error(err, -r, "sync directory of `%s`", path) : 0;
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                    struct berth_err **err)
{
    return replace(path, data, len, mode, true, err);
}

int fs_write_replace(const char *path, const void *data, size_t len, mode_t mode,
                     struct berth_err **err)
{
    return replace(path, data, len, mode, false, err);
}

int fs_read_file(const char *path, char **out, size_t *len, struct berth_err **err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return berth_error(err, errno, "open `%s`", path);
    _cleanup_buf_ struct buf b = {0};
    char chunk[8192];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return berth_error(err, errno, "read `%s`", path);
        buf_append(&b, chunk, (size_t)n);
    }
    buf_reserve(&b, 0);
    *out = buf_steal(&b, len);
    return 0;
}

int fs_mkdir_p(const char *path, mode_t mode, struct berth_err **err)
{
    _cleanup_free_ char *p = xstrdup(path);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char saved = *s;
        *s = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            return berth_error(err, errno, "mkdir `%s`", p);
        *s = saved;
        if (!saved)
            break;
    }
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return berth_error(err, ENOTDIR, "`%s`", path);
    return 0;
}

/* NAME.tmp-XXXXXX, as replace() makes them. */
static bool is_temp_name(const char *name)
{
    const char *infix = strstr(name, FS_TEMP_INFIX);
    return infix && infix != name && strlen(infix + strlen(FS_TEMP_INFIX)) == 6 &&
           !strstr(infix + 1, FS_TEMP_INFIX);
}

int fs_sweep_temps(int dirfd)
{
    _cleanup_closedir_ DIR *d = fs_opendir_at(dirfd, ".");
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if ((e->d_type == DT_REG || e->d_type == DT_UNKNOWN) && is_temp_name(e->d_name) &&
            unlinkat(dirfd, e->d_name, 0) == 0)
            n++;
    return n;
}
