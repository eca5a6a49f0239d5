/* tests/fs/test_tarwrite.c — fs/tarwrite.c: a tree written as go-archive writes it (names in
 * Go's walk order, directories with '/', numeric owners, whole-second mtimes, hard links to the
 * first name, symlink targets, devices, long names, only security.capability made v2, sockets
 * left out), an overlay upper directory's whiteouts and opaque directories as ".wh." entries,
 * a substituted directory, and the bytes read back by libarchive's reader. Owners and
 * whiteouts need root; those tests skip otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "fs/tarwrite.h"
#include "tests/testutil.h"

#define T1 1600000000

struct fixture {
    char *dir;
    int fd;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    f->dir = tu_tmpdir("tarwrite");
    f->fd = open(f->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    *state = f;
    return f->fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    close(f->fd);
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static char *at(struct fixture *f, const char *name)
{
    return xasprintf("%s/%s", f->dir, name);
}

static void file_at(struct fixture *f, const char *name, const char *data, mode_t mode)
{
    _cleanup_free_ char *p = at(f, name);
    tu_write(p, data, strlen(data));
    chmod(p, mode);
    struct timespec ts[2] = {{.tv_sec = T1, .tv_nsec = 5}, {.tv_sec = T1, .tv_nsec = 5}};
    utimensat(AT_FDCWD, p, ts, 0);
}

static ssize_t to_buf(void *ctx, const void *p, size_t n)
{
    buf_append(ctx, p, n);
    return (ssize_t)n;
}

/* The archive of the tree at f (rooted as name), or of dirfd/base. */
static void write_tree(int dirfd, const char *base, const char *name, const struct tarw_walk *w,
                       struct buf *out)
{
    _cleanup_(tarw_freep) struct tarw *t = tarw_new(to_buf, out);
    _cleanup_err_ struct berth_err *err = NULL;
    if (tarw_add_tree(t, dirfd, base, name, w, &err) < 0 || tarw_finish(t, &err) < 0)
        fail_msg("write: %s", err->msg);
}

/* Each entry as one line: "NAME TYPE UID:GID PERM SIZE MTIME [-> LINK | => HARDLINK] [data]". */
static char *describe(const struct buf *tar)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_memory(a, tar->data, tar->len), ARCHIVE_OK);
    struct buf out = {0};
    struct archive_entry *e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        char data[64] = "";
        la_ssize_t n = archive_read_data(a, data, sizeof(data) - 1);
        data[n > 0 ? n : 0] = '\0';
        buf_printf(&out, "%s %o %lld:%lld %o %lld %lld", archive_entry_pathname(e),
                   archive_entry_filetype(e) >> 12, (long long)archive_entry_uid(e),
                   (long long)archive_entry_gid(e), archive_entry_perm(e),
                   (long long)archive_entry_size(e), (long long)archive_entry_mtime(e));
        if (archive_entry_symlink(e))
            buf_printf(&out, " -> %s", archive_entry_symlink(e));
        if (archive_entry_hardlink(e))
            buf_printf(&out, " => %s", archive_entry_hardlink(e));
        if (*data)
            buf_printf(&out, " [%s]", data);
        buf_puts(&out, "\n");
    }
    archive_read_free(a);
    buf_reserve(&out, 0);
    return buf_steal(&out, NULL);
}

static void expect_tar(const struct buf *tar, const char *want)
{
    _cleanup_free_ char *got = describe(tar);
    if (strcmp(got, want) != 0)
        fail_msg("archive:\n%swant:\n%s", got, want);
}

static void test_tree(void **state)
{
    if (!tu_is_root())
        skip();
    struct fixture *f = *state;
    _cleanup_free_ char *a = at(f, "a"), *sock = at(f, "a/sock"), *fifo = at(f, "a/fifo");
    mkdir(a, 0750);
    file_at(f, "a/f", "hello", 0640);
    _cleanup_free_ char *fp = at(f, "a/f"), *hard = at(f, "a/zhard"), *lnk = at(f, "a/link");
    chown(fp, 1234, 5678);
    link(fp, hard);
    symlink("../x", lnk);
    lchown(lnk, 7, 8);
    mkfifo(fifo, 0600);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(s);
    char longname[160];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    _cleanup_free_ char *ln = xasprintf("a/%s", longname);
    file_at(f, ln, "long", 0644);
    struct timespec ts[2] = {{.tv_sec = T1}, {.tv_sec = T1}};
    utimensat(AT_FDCWD, a, ts, 0);
    struct buf tar = {0};
    write_tree(f->fd, "a", "a", NULL, &tar);
    struct stat st_fifo, st_link; /* their times are now */
    lstat(fifo, &st_fifo);
    lstat(lnk, &st_link);
    _cleanup_free_ char *want =
        xasprintf("a/ 4 0:0 750 0 %d\n"
                  "a/f 10 1234:5678 640 5 %d [hello]\n"
                  "a/fifo 1 0:0 600 0 %lld\n"
                  "a/link 12 7:8 777 0 %lld -> ../x\n"
                  "a/%s 10 0:0 644 4 %d [long]\n"
                  "a/zhard 0 1234:5678 640 0 %d => a/f\n", /* a link entry: no type */
                  T1, T1, (long long)st_fifo.st_mtim.tv_sec, (long long)st_link.st_mtim.tv_sec,
                  longname, T1, T1);
    expect_tar(&tar, want);
    buf_free(&tar);
}

/* The root entry's names: "" gives "/" and "/x", NULL none (docker export), a file its name. */
static void test_root_names(void **state)
{
    struct fixture *f = *state;
    _cleanup_free_ char *d = at(f, "d");
    mkdir(d, 0755);
    file_at(f, "d/x", "x", 0644);
    _cleanup_close_ int dfd = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
    const struct {
        const char *name, *want;
    } cases[] = {{"", "/\n/x\n"}, {".", "./\n./x\n"}, {"d", "d/\nd/x\n"}, {NULL, "x\n"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf tar = {0};
        write_tree(dfd, "", cases[i].name, NULL, &tar);
        _cleanup_free_ char *got = describe(&tar);
        struct buf names = {0};
        for (char *line = got, *sp; line && *line; line = strchr(line, '\n') + 1) {
            sp = strchr(line, ' ');
            buf_append(&names, line, (size_t)(sp - line));
            buf_puts(&names, "\n");
        }
        buf_reserve(&names, 0);
        assert_string_equal(names.data, cases[i].want);
        buf_free(&names);
        buf_free(&tar);
    }
    struct buf tar = {0};
    write_tree(dfd, "x", "x", NULL, &tar);
    _cleanup_free_ char *got = describe(&tar);
    assert_non_null(strstr(got, "x 10 "));
    assert_non_null(strstr(got, "[x]"));
    buf_free(&tar);
}

/* A v3 capability (namespaced root) goes out as v2, the only xattr written. */
static void test_capability(void **state)
{
    if (!tu_is_root())
        skip();
    struct fixture *f = *state;
    file_at(f, "ping", "p", 0755);
    _cleanup_free_ char *p = at(f, "ping");
    unsigned char v3[24] = {0x00, 0x00, 0x00, 0x03, 0x00, 0x20, 0x00, 0x00};
    if (setxattr(p, "security.capability", v3, sizeof(v3), 0) < 0)
        skip(); /* a file system without capabilities */
    setxattr(p, "user.other", "x", 1, 0);
    struct buf tar = {0};
    write_tree(f->fd, "ping", "ping", NULL, &tar);
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    archive_read_open_memory(a, tar.data, tar.len);
    struct archive_entry *e;
    assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
    assert_int_equal(archive_entry_xattr_count(e), 1);
    const char *name;
    const void *value;
    size_t size;
    archive_entry_xattr_reset(e);
    archive_entry_xattr_next(e, &name, &value, &size);
    assert_string_equal(name, "security.capability");
    assert_int_equal(size, 20);
    assert_int_equal(((const unsigned char *)value)[3], 2);
    archive_read_free(a);
    /* Go reads SCHILY.xattr records only: no LIBARCHIVE.xattr one */
    assert_null(memmem(tar.data, tar.len, "LIBARCHIVE.xattr", 16));
    assert_non_null(memmem(tar.data, tar.len, "SCHILY.xattr.security.capability", 32));
    buf_free(&tar);
}

/* An upper directory: a 0:0 character device is ".wh.NAME", an opaque directory is followed by
 * its ".wh..wh..opq" (its permissions and owners, no time). */
static void test_whiteouts(void **state)
{
    if (!tu_is_root())
        skip();
    struct fixture *f = *state;
    _cleanup_free_ char *gone = at(f, "gone"), *opq = at(f, "opq");
    assert_int_equal(mknod(gone, S_IFCHR | 0, makedev(0, 0)), 0);
    mkdir(opq, 0751);
    chown(opq, 3, 4);
    if (setxattr(opq, "trusted.overlay.opaque", "y", 1, 0) < 0)
        skip();
    file_at(f, "opq/x", "x", 0644);
    struct timespec ts[2] = {{.tv_sec = T1}, {.tv_sec = T1}};
    utimensat(AT_FDCWD, opq, ts, 0);
    utimensat(AT_FDCWD, gone, ts, AT_SYMLINK_NOFOLLOW);
    struct buf tar = {0};
    struct tarw_walk w = {.whiteouts = true};
    write_tree(f->fd, "", NULL, &w, &tar);
    _cleanup_free_ char *want = xasprintf(".wh.gone 10 0:0 600 0 %d\n"
                                          "opq/ 4 3:4 751 0 %d\n"
                                          "opq/.wh..wh..opq 10 3:4 751 0 0\n"
                                          "opq/x 10 0:0 644 1 %d [x]\n",
                                          T1, T1, T1);
    expect_tar(&tar, want);
    buf_free(&tar);
    /* without the option, the device is a device */
    write_tree(f->fd, "", NULL, NULL, &tar);
    _cleanup_free_ char *got = describe(&tar);
    assert_non_null(strstr(got, "gone 2 "));
    assert_null(strstr(got, ".wh."));
    buf_free(&tar);
}

struct sub {
    int fd;
    int calls;
};

static int substitute(void *ctx, const char *rel, int *fd, struct berth_err **err)
{
    (void)err;
    struct sub *s = ctx;
    s->calls++;
    if (strcmp(rel, "mnt") != 0)
        return 0;
    *fd = dup(s->fd);
    return 1;
}

/* A stopped container's bind: the walk reads the directory from where it really is. */
static void test_substitute(void **state)
{
    struct fixture *f = *state;
    _cleanup_free_ char *mnt = at(f, "root/mnt"), *root = at(f, "root"), *src = at(f, "src");
    mkdir(root, 0755);
    mkdir(mnt, 0755);
    mkdir(src, 0755);
    file_at(f, "root/mnt/hidden", "h", 0644);
    file_at(f, "src/real", "r", 0644);
    struct sub s = {.fd = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC)};
    _cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct tarw_walk w = {.substitute = substitute, .ctx = &s};
    struct buf tar = {0};
    write_tree(rfd, "", NULL, &w, &tar);
    _cleanup_free_ char *got = describe(&tar);
    assert_non_null(strstr(got, "mnt/real "));
    assert_null(strstr(got, "hidden"));
    assert_true(s.calls >= 3); /* the root, mnt, mnt/real */
    close(s.fd);
    buf_free(&tar);
}

/* A write that fails ends the walk with its errno. */
static ssize_t refuse(void *ctx, const void *p, size_t n)
{
    (void)ctx, (void)p, (void)n;
    return -ECANCELED;
}

static void test_write_error(void **state)
{
    struct fixture *f = *state;
    char big[20000];
    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    file_at(f, "big", big, 0644);
    _cleanup_(tarw_freep) struct tarw *t = tarw_new(refuse, NULL);
    _cleanup_err_ struct berth_err *err = NULL;
    int r = tarw_add_tree(t, f->fd, "", NULL, NULL, &err);
    if (r == 0)
        r = tarw_finish(t, &err);
    assert_true(r < 0);
    assert_int_equal(err->status, ECANCELED);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_tree),      T(test_root_names), T(test_capability),
        T(test_whiteouts), T(test_substitute), T(test_write_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
