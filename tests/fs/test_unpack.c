/* tests/fs/test_unpack.c — fs/unpack.c: what a layer tar becomes on disk (every entry type,
 * owners, modes, times, xattrs, holes, long names, replacement, merging, whiteouts), the diff
 * ID over every uncompressed byte for gzip/zstd/plain/multi-member input, errors (truncation,
 * cancellation), and hostile streams that must not create or change anything outside the
 * layer directory. The unpacker chowns every entry, so all of it needs root; it skips
 * otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/macros.h"
#include "fs/unpack.h"
#include "tests/fs/tarutil.h"
#include "tests/testutil.h"

#define T1 1600000000
#define T2 1650000000
#define T3 1690000000

struct fixture {
    char *parent, *layer, *outside;
    int dfd;
    struct stat parent_st, outside_st;
};

/* parent/{layer, outside/sentinel, sentinel}: the layer is unpacked into layer/, and the
 * rest must look the same afterwards. */
static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    f->parent = tu_tmpdir("unpack");
    f->layer = xasprintf("%s/layer", f->parent);
    f->outside = xasprintf("%s/outside", f->parent);
    char *s1 = xasprintf("%s/sentinel", f->parent), *s2 = xasprintf("%s/sentinel", f->outside);
    if (mkdir(f->layer, 0755) < 0 || mkdir(f->outside, 0755) < 0)
        return -1;
    tu_write(s1, "keep", 4);
    tu_write(s2, "keep", 4);
    free(s1);
    free(s2);
    f->dfd = open(f->layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    stat(f->parent, &f->parent_st);
    stat(f->outside, &f->outside_st);
    *state = f;
    return f->dfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    close(f->dfd);
    umount2(f->layer, MNT_DETACH); /* the 100 000-entry test's tmpfs, if any */
    tu_rm_rf(f->parent);
    free(f->parent);
    free(f->layer);
    free(f->outside);
    free(f);
    return 0;
}

#define NEED_ROOT()                                                                                \
    do {                                                                                           \
        if (!tu_is_root())                                                                         \
            skip();                                                                                \
    } while (0)

/* ---- the byte source ---- */

struct mem_src {
    const unsigned char *p;
    size_t len, off, chunk;
    size_t cancel_at; /* -ECANCELED once this many bytes have been read */
};

static ssize_t mem_read(void *ctx, void *buf, size_t cap)
{
    struct mem_src *m = ctx;
    if (m->off >= m->cancel_at)
        return -ECANCELED;
    size_t n = m->len - m->off;
    if (n > cap)
        n = cap;
    if (n > m->chunk)
        n = m->chunk;
    if (m->off + n > m->cancel_at)
        n = m->cancel_at - m->off;
    memcpy(buf, m->p + m->off, n);
    m->off += n;
    return (ssize_t)n;
}

static int unpack_mem(int dfd, const void *p, size_t len, size_t chunk, struct unpack_result *res,
                      struct berth_err **err)
{
    struct mem_src m = {.p = p, .len = len, .chunk = chunk, .cancel_at = SIZE_MAX};
    memset(res, 0, sizeof(*res));
    return unpack_layer(dfd, mem_read, &m, res, err);
}

static void unpack_ok(struct fixture *f, const struct buf *tar, struct unpack_result *res)
{
    _cleanup_err_ struct berth_err *err = NULL;
    int r = unpack_mem(f->dfd, tar->data, tar->len, 65536, res, &err);
    if (r < 0)
        fail_msg("unpack: %s", err ? err->msg : "(no words)");
}

static char *in_layer(struct fixture *f, const char *name)
{
    return xasprintf("%s/%s", f->layer, name);
}

static struct stat lstat_in(struct fixture *f, const char *name)
{
    _cleanup_free_ char *p = in_layer(f, name);
    struct stat st;
    if (lstat(p, &st) < 0)
        fail_msg("lstat %s: %s", name, strerror(errno));
    return st;
}

static bool exists_in(struct fixture *f, const char *name)
{
    _cleanup_free_ char *p = in_layer(f, name);
    return tu_exists(p);
}

static void expect_content(struct fixture *f, const char *name, const char *want)
{
    _cleanup_free_ char *p = in_layer(f, name);
    _cleanup_free_ char *got = tu_read(p, NULL);
    if (!got || strcmp(got, want) != 0)
        fail_msg("%s: \"%s\", want \"%s\"", name, got ? got : "(unreadable)", want);
}

static char *xattr_in(struct fixture *f, const char *name, const char *key, ssize_t *len)
{
    _cleanup_free_ char *p = in_layer(f, name);
    char *v = xcalloc(1, 256);
    *len = lgetxattr(p, key, v, 255);
    if (*len < 0) {
        free(v);
        return NULL;
    }
    return v;
}

/* Nothing next to the layer directory was created, removed or changed. */
static void check_outside(struct fixture *f)
{
    _cleanup_free_ char *ls = tu_listing(f->parent);
    _cleanup_free_ char *ls_out = tu_listing(f->outside);
    assert_string_equal(ls, "layer outside sentinel");
    assert_string_equal(ls_out, "sentinel");
    const char *sentinels[] = {"sentinel", "outside/sentinel"};
    for (int i = 0; i < 2; i++) {
        _cleanup_free_ char *p = xasprintf("%s/%s", f->parent, sentinels[i]);
        _cleanup_free_ char *c = tu_read(p, NULL);
        struct stat st;
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_nlink, 1);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_string_equal(c, "keep");
    }
    struct stat st;
    assert_int_equal(stat(f->outside, &st), 0);
    assert_int_equal(st.st_mode, f->outside_st.st_mode);
    assert_int_equal(st.st_uid, f->outside_st.st_uid);
    char v[8];
    assert_true(getxattr(f->outside, "trusted.overlay.opaque", v, sizeof(v)) < 0);
    assert_true(getxattr(f->parent, "trusted.overlay.opaque", v, sizeof(v)) < 0);
    /* the fixed names hostile streams aim at */
    const char *far[] = {"/berth-test-escape",   "/var/tmp/berth-test-escape",
                         "/etc/berth-test-evil", "/berth-test-evil",
                         "/berth-test-up",       "/var/tmp/berth-test-up"};
    for (size_t i = 0; i < ARRAY_SIZE(far); i++)
        if (tu_exists(far[i])) {
            unlink(far[i]);
            fail_msg("%s was created outside the layer", far[i]);
        }
}

/* ---- a tree of every kind of entry ---- */

static const unsigned char cap_net_raw[20] = {
    /* struct vfs_cap_data, revision 2, effective: permitted = CAP_NET_RAW (13) */
    0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

static void build_tree(struct buf *out, uint64_t *regular_bytes)
{
    struct tar t;
    tar_open(&t);
    struct archive_entry *e = tar_entry("etc/", AE_IFDIR, 0755);
    archive_entry_set_mtime(e, T1, 0);
    tar_add(&t, e, NULL, 0);
    e = tar_entry("etc/hostname", AE_IFREG, 0640);
    archive_entry_set_uid(e, 1234);
    archive_entry_set_gid(e, 5678);
    archive_entry_set_mtime(e, T2, 123456789);
    tar_add(&t, e, "berth\n", 6);
    e = tar_entry("etc/localtime", AE_IFLNK, 0777);
    archive_entry_set_symlink(e, "/usr/share/zoneinfo/UTC");
    archive_entry_set_uid(e, 1234);
    archive_entry_set_gid(e, 99);
    archive_entry_set_mtime(e, T3, 0);
    tar_add(&t, e, NULL, 0);
    /* no entry for bin/: parents are made as needed */
    e = tar_entry("bin/tool", AE_IFREG, 04755);
    tar_add(&t, e, "#!/bin/sh\n", 10);
    e = tar_entry("bin/sg", AE_IFREG, 02711);
    archive_entry_set_gid(e, 50);
    tar_add(&t, e, "sg", 2);
    tar_hardlink(&t, "bin/tool-link", "bin/tool");
    e = tar_entry("bin/ping", AE_IFREG, 0755);
    archive_entry_set_uid(e, 1000); /* chown would clear the capability if it came after */
    archive_entry_xattr_add_entry(e, "security.capability", cap_net_raw, sizeof(cap_net_raw));
    archive_entry_xattr_add_entry(e, "user.berth", "yes", 3);
    tar_add(&t, e, "ping", 4);
    e = tar_entry("tmp", AE_IFDIR, 01777);
    tar_add(&t, e, NULL, 0);
    e = tar_entry("run/fifo", AE_IFIFO, 0600);
    tar_add(&t, e, NULL, 0);
    e = tar_entry("dev/null", AE_IFCHR, 0666);
    archive_entry_set_rdev(e, makedev(1, 3));
    tar_add(&t, e, NULL, 0);
    e = tar_entry("dev/loop0", AE_IFBLK, 0660);
    archive_entry_set_rdev(e, makedev(7, 0));
    archive_entry_set_gid(e, 6);
    tar_add(&t, e, NULL, 0);
    tar_file(&t, "a/b/c/d/deep", "deep", 0600);
    /* a directory whose time must survive entries created inside it afterwards */
    e = tar_entry("late", AE_IFDIR, 0750);
    archive_entry_set_mtime(e, T1, 5);
    archive_entry_xattr_add_entry(e, "user.dir", "d", 1);
    tar_add(&t, e, NULL, 0);
    tar_file(&t, "late/x", "x", 0644);
    tar_dir(&t, "late/sub", 0755);
    tar_file(&t, "late/sub/y", "y", 0644);
    tar_close(&t, out);
    *regular_bytes = 6 + 10 + 2 + 4 + 4 + 1 + 1;
}

static void test_tree(void **state)
{
    NEED_ROOT();
    struct fixture *f = *state;
    struct buf tar;
    uint64_t regular;
    build_tree(&tar, &regular);
    struct unpack_result res;
    unpack_ok(f, &tar, &res);
    char want[DIGEST_LEN + 1];
    digest_buf(tar.data, tar.len, want);
    assert_string_equal(res.diff_id, want);
    assert_int_equal(res.tar_size, tar.len);
    assert_int_equal(res.entries, 16);
    assert_int_equal(res.disk_size, regular);

    struct stat st = lstat_in(f, "etc");
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(st.st_mtim.tv_sec, T1);
    st = lstat_in(f, "etc/hostname");
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(st.st_uid, 1234);
    assert_int_equal(st.st_gid, 5678);
    assert_int_equal(st.st_mtim.tv_sec, T2);
    assert_int_equal(st.st_mtim.tv_nsec, 123456789);
    assert_int_equal(st.st_atim.tv_sec, T2); /* no atime in the tar: the mtime */
    expect_content(f, "etc/hostname", "berth\n");
    st = lstat_in(f, "etc/localtime");
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(st.st_uid, 1234);
    assert_int_equal(st.st_gid, 99);
    assert_int_equal(st.st_mtim.tv_sec, T3);
    char target[64] = {0};
    _cleanup_free_ char *lt = in_layer(f, "etc/localtime");
    assert_int_equal(readlink(lt, target, sizeof(target) - 1), 23);
    assert_string_equal(target, "/usr/share/zoneinfo/UTC");

    st = lstat_in(f, "bin");
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0755);
    st = lstat_in(f, "bin/tool");
    assert_int_equal(st.st_mode & 07777, 04755);
    assert_int_equal(st.st_nlink, 2);
    struct stat link = lstat_in(f, "bin/tool-link");
    assert_int_equal(link.st_ino, st.st_ino);
    st = lstat_in(f, "bin/sg");
    assert_int_equal(st.st_mode & 07777, 02711);
    assert_int_equal(st.st_gid, 50);
    st = lstat_in(f, "bin/ping");
    assert_int_equal(st.st_uid, 1000);
    ssize_t n;
    _cleanup_free_ char *cap = xattr_in(f, "bin/ping", "security.capability", &n);
    assert_non_null(cap);
    assert_int_equal(n, sizeof(cap_net_raw));
    assert_memory_equal(cap, cap_net_raw, sizeof(cap_net_raw));
    _cleanup_free_ char *ux = xattr_in(f, "bin/ping", "user.berth", &n);
    assert_non_null(ux);
    assert_string_equal(ux, "yes");

    st = lstat_in(f, "tmp");
    assert_int_equal(st.st_mode & 07777, 01777);
    st = lstat_in(f, "run/fifo");
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    st = lstat_in(f, "dev/null");
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(1, 3));
    assert_int_equal(st.st_mode & 07777, 0666);
    st = lstat_in(f, "dev/loop0");
    assert_true(S_ISBLK(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(7, 0));
    assert_int_equal(st.st_gid, 6);
    assert_int_equal(st.st_mode & 07777, 0660);
    expect_content(f, "a/b/c/d/deep", "deep");
    st = lstat_in(f, "a/b/c");
    assert_int_equal(st.st_mode & 07777, 0755);

    st = lstat_in(f, "late");
    assert_int_equal(st.st_mode & 07777, 0750);
    assert_int_equal(st.st_mtim.tv_sec, T1);
    assert_int_equal(st.st_mtim.tv_nsec, 5);
    _cleanup_free_ char *dx = xattr_in(f, "late", "user.dir", &n);
    assert_non_null(dx);
    assert_string_equal(dx, "d");
    st = lstat_in(f, "late/sub");
    assert_int_equal(st.st_mtim.tv_sec, 1700000000);
    check_outside(f);
    buf_free(&tar);
}

/* A new file takes its group from a setgid parent and its mode through the umask: the
 * unpacker must not trust what it created to match the entry. */
static void test_owner_mode_not_inherited(void **state)
{
    NEED_ROOT();
    struct fixture *f = *state;
    struct tar t;
    tar_open(&t);
    struct archive_entry *e = tar_entry("shared", AE_IFDIR, 02775);
    archive_entry_set_gid(e, 50);
    tar_add(&t, e, NULL, 0);
    tar_file(&t, "shared/root-file", "r", 0666); /* uid 0, gid 0 */
    e = tar_entry("shared/sub", AE_IFDIR, 0755);
    tar_add(&t, e, NULL, 0);
    struct buf tar;
    tar_close(&t, &tar);
    mode_t old = umask(022);
    struct unpack_result res;
    unpack_ok(f, &tar, &res);
    umask(old);
    struct stat st = lstat_in(f, "shared/root-file");
    assert_int_equal(st.st_gid, 0);
    assert_int_equal(st.st_mode & 07777, 0666);
    st = lstat_in(f, "shared/sub");
    assert_int_equal(st.st_gid, 0);
    assert_int_equal(st.st_mode & 07777, 0755); /* no setgid inherited from its parent */
    buf_free(&tar);
}

static void test_long_names(void **state)
{
    NEED_ROOT();
    struct fixture *f = *state;
    char comp[151], target[221];
    memset(comp, 'c', sizeof(comp) - 1);
    comp[sizeof(comp) - 1] = '\0';
    memset(target, 't', sizeof(target) - 1);
    target[0] = '/';
    target[sizeof(target) - 1] = '\0';
    _cleanup_free_ char *dir = xasprintf("%s/%s", comp, comp); /* 301 bytes */
    _cleanup_free_ char *file = xasprintf("%s/%s.txt", dir, comp);
    _cleanup_free_ char *lnk = xasprintf("%s/symlink", dir);
    _cleanup_free_ char *hard = xasprintf("%s/hard", dir);
    struct tar t;
    tar_open(&t);
    tar_file(&t, file, "long", 0644);
    tar_symlink(&t, lnk, target);
    tar_hardlink(&t, hard, file);
    struct buf tar;
    tar_close(&t, &tar);
    struct unpack_result res;
    unpack_ok(f, &tar, &res);
    expect_content(f, file, "long");
    _cleanup_free_ char *lp = in_layer(f, lnk);
    char got[256] = {0};
    assert_int_equal(readlink(lp, got, sizeof(got) - 1), strlen(target));
    assert_string_equal(got, target);
    assert_int_equal(lstat_in(f, hard).st_ino, lstat_in(f, file).st_ino);
    assert_int_equal(res.entries, 3);
    buf_free(&tar);
}

static void test_sparse(void **state)
{
    NEED_ROOT();
    struct fixture *f = *state;
    struct buf tar = {0};
    const uint64_t offs[] = {0, 1u << 20};
    const char *chunks[] = {"HEAD", "TAIL"};
    uint64_t size = (8u << 20) + 3; /* a trailing hole after TAIL too */
    raw_sparse(&tar, "sparse", size, offs, chunks, 2);
    raw_end(&tar);
    struct unpack_result res;
    unpack_ok(f, &tar, &res);
    struct stat st = lstat_in(f, "sparse");
    assert_int_equal(st.st_size, size);
    assert_true(st.st_blocks * 512 < 256 << 10); /* the holes are holes */
    assert_int_equal(res.disk_size, size);
    _cleanup_free_ char *p = in_layer(f, "sparse");
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    char b[4];
    assert_int_equal(pread(fd, b, 4, 0), 4);
    assert_memory_equal(b, "HEAD", 4);
    assert_int_equal(pread(fd, b, 4, 1 << 20), 4);
    assert_memory_equal(b, "TAIL", 4);
    assert_int_equal(pread(fd, b, 4, 4096), 4);
    assert_memory_equal(b, "\0\0\0\0", 4);
    assert_int_equal(pread(fd, b, 3, (off_t)size - 3), 3);
    assert_memory_equal(b, "\0\0\0", 3);
    assert_true(lseek(fd, 0, SEEK_HOLE) < (off_t)(1 << 20));
    close(fd);
    buf_free(&tar);
}

/* A later entry replaces an earlier one of the same name, whatever either is; a directory
 * entry over a directory merges (its contents stay, its metadata is the later entry's). */
static void test_replace_and_merge(void **state)
{
    NEED_ROOT();
    struct fixture *f = *state;
    struct tar t;
    tar_open(&t);
    tar_file(&t, "x", "one", 0644);
    tar_hardlink(&t, "x-old", "x");
    tar_file(&t, "x", "two", 0600);
    tar_dir(&t, "d", 0755);
    tar_file(&t, "d/inner", "inner", 0644);
    tar_file(&t, "d", "now a file", 0644);
    tar_file(&t, "f", "a file", 0644);
    tar_dir(&t, "f", 0711);
    tar_file(&t, "f/y", "y", 0644);
    tar_symlink(&t, "s", "x");
    tar_file(&t, "s", "no longer a link", 0644);
    tar_file(&t, "l", "file first", 0644);
    tar_symlink(&t, "l", "x");
    struct archive_entry *e = tar_entry("m", AE_IFDIR, 0700);
    archive_entry_set_mtime(e, T1, 0);
    archive_entry_set_uid(e, 1);
    tar_add(&t, e, NULL, 0);
    tar_file(&t, "m/keep", "kept", 0644);
    e = tar_entry("m", AE_IFDIR, 0755);
    archive_entry_set_mtime(e, T2, 0);
    archive_entry_set_uid(e, 2);
    tar_add(&t, e, NULL, 0);
    tar_file(&t, "m/new", "new", 0644);
    struct buf tar;
    tar_close(&t, &tar);
    struct unpack_result res;
    unpack_ok(f, &tar, &res);
    expect_content(f, "x", "two");
    assert_int_equal(lstat_in(f, "x").st_mode & 07777, 0600);
    assert_int_equal(lstat_in(f, "x").st_nlink, 1);
    expect_content(f, "x-old", "one");
    assert_true(S_ISREG(lstat_in(f, "d").st_mode));
    expect_content(f, "d", "now a file");
    assert_true(S_ISDIR(lstat_in(f, "f").st_mode));
    assert_int_equal(lstat_in(f, "f").st_mode & 07777, 0711);
    expect_content(f, "f/y", "y");
    assert_true(S_ISREG(lstat_in(f, "s").st_mode));
    expect_content(f, "s", "no longer a link");
    assert_true(S_ISLNK(lstat_in(f, "l").st_mode));
    struct stat m = lstat_in(f, "m");
    assert_int_equal(m.st_mode & 07777, 0755);
    assert_int_equal(m.st_uid, 2);
    assert_int_equal(m.st_mtim.tv_sec, T2); /* the later entry's time */
    expect_content(f, "m/keep", "kept");
    expect_content(f, "m/new", "new");
    check_outside(f);
    buf_free(&tar);
}

static void test_whiteouts(void **state)
{
    NEED_ROOT();
    struct fixture *f = *state;
    struct tar t;
    tar_open(&t);
    tar_dir(&t, "etc", 0755);
    tar_file(&t, "etc/.wh.passwd", "", 0644);
    tar_dir(&t, "opt", 0755);
    tar_file(&t, "opt/.wh..wh..opq", "", 0644);
    tar_file(&t, "opt/kept", "kept", 0644); /* an opaque dir still has this layer's files */
    tar_file(&t, ".wh..wh.plnk", "", 0644); /* aufs bookkeeping: ignored */
    tar_file(&t, "gone", "here a moment", 0644);
    tar_file(&t, ".wh.gone", "", 0644);
    tar_file(&t, "var/lib/.wh.cache", "", 0644); /* missing parents are made */
    struct buf tar;
    tar_close(&t, &tar);
    struct unpack_result res;
    unpack_ok(f, &tar, &res);
    const char *wh[] = {"etc/passwd", "gone", "var/lib/cache"};
    for (int i = 0; i < 3; i++) {
        struct stat st = lstat_in(f, wh[i]);
        if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(0, 0))
            fail_msg("%s is not a 0:0 character device", wh[i]);
    }
    assert_false(exists_in(f, "etc/.wh.passwd"));
    assert_false(exists_in(f, ".wh..wh.plnk"));
    assert_false(exists_in(f, "opt/.wh..wh..opq"));
    ssize_t n;
    _cleanup_free_ char *opq = xattr_in(f, "opt", "trusted.overlay.opaque", &n);
    assert_non_null(opq);
    assert_int_equal(n, 1);
    assert_string_equal(opq, "y");
    expect_content(f, "opt/kept", "kept");
    _cleanup_free_ char *none = xattr_in(f, "etc", "trusted.overlay.opaque", &n);
    assert_null(none);
    _cleanup_free_ char *ls = tu_listing(f->layer);
    assert_string_equal(ls, "etc gone opt var");
    check_outside(f);
    buf_free(&tar);
}

static void test_bad_whiteouts(void **state)
{
    NEED_ROOT();
    struct fixture *f = *state;
    const char *names[] = {"dir/.wh..", "dir/.wh...", ".wh."};
    for (size_t i = 0; i < 3; i++) {
        struct buf tar = {0};
        raw_entry(&tar, "dir/", '5', NULL, NULL, 0, 0755);
        raw_entry(&tar, names[i], '0', NULL, NULL, 0, 0644);
        raw_end(&tar);
        _cleanup_err_ struct berth_err *err = NULL;
        struct unpack_result res;
        int r = unpack_mem(f->dfd, tar.data, tar.len, 512, &res, &err);
        if (r >= 0 || !err || err->status != EINVAL || !strstr(err->msg, "invalid whiteout"))
            fail_msg("%s: rc %d (%s)", names[i], r, err ? err->msg : "");
        check_outside(f);
        buf_free(&tar);
    }
}

/* ---- plain archives (unpack_archive) ---- */

static int unpack_archive_mem(int dfd, const struct buf *tar, struct berth_err **err)
{
    struct mem_src m = {.p = (const unsigned char *)tar->data,
                        .len = tar->len,
                        .chunk = 65536,
                        .cancel_at = SIZE_MAX};
    struct unpack_result res;
    return unpack_archive(dfd, mem_read, &m, &res, err);
}

/* Files, directories and links come out as in a layer; whiteout names are only names. */
static void test_archive_plain_entries(void **state)
{
    NEED_ROOT();
    struct fixture *f = *state;
    struct tar t;
    tar_open(&t);
    tar_dir(&t, "d", 0755);
    tar_file(&t, "d/f", "data", 0644);
    tar_symlink(&t, "l", "d/f");
    tar_hardlink(&t, "h", "d/f");
    tar_file(&t, ".wh.x", "not a whiteout", 0644);
    tar_file(&t, "d/.wh..wh..opq", "nor this", 0644);
    struct buf tar;
    tar_close(&t, &tar);
    _cleanup_err_ struct berth_err *err = NULL;
    if (unpack_archive_mem(f->dfd, &tar, &err) < 0)
        fail_msg("unpack_archive: %s", err->msg);
    expect_content(f, "d/f", "data");
    expect_content(f, "h", "data");
    assert_true(S_ISLNK(lstat_in(f, "l").st_mode));
    expect_content(f, ".wh.x", "not a whiteout");
    expect_content(f, "d/.wh..wh..opq", "nor this");
    assert_false(exists_in(f, "x"));
    ssize_t n;
    _cleanup_free_ char *opq = xattr_in(f, "d", "trusted.overlay.opaque", &n);
    assert_null(opq);
    check_outside(f);
    buf_free(&tar);
}

/* A device or a fifo would hang whoever reads the archive's files: refused, by name, and never
 * made; the same entries in a layer are made. */
static void test_archive_refuses_specials(void **state)
{
    NEED_ROOT();
    struct fixture *f = *state;
    const struct {
        mode_t type;
        const char *words;
    } cases[] = {
        {AE_IFCHR, "`dev/node` is a character device"},
        {AE_IFBLK, "`dev/node` is a block device"},
        {AE_IFIFO, "`dev/node` is a fifo"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct tar t;
        tar_open(&t);
        tar_file(&t, "before", "ok", 0644);
        struct archive_entry *e = tar_entry("dev/node", cases[i].type, 0644);
        archive_entry_set_rdev(e, makedev(1, 5));
        tar_add(&t, e, NULL, 0);
        tar_file(&t, "after", "never", 0644);
        struct buf tar;
        tar_close(&t, &tar);
        _cleanup_err_ struct berth_err *err = NULL;
        int r = unpack_archive_mem(f->dfd, &tar, &err);
        if (r >= 0 || !err || err->status != EINVAL || !strstr(err->msg, cases[i].words) ||
            !strstr(err->msg, "an image archive may hold only files, directories and links"))
            fail_msg("case %zu: rc %d (%s)", i, r, err ? err->msg : "");
        assert_false(exists_in(f, "dev/node"));
        assert_false(exists_in(f, "after"));
        check_outside(f);
        _cleanup_free_ char *p = in_layer(f, "before");
        unlink(p);
        _cleanup_err_ struct berth_err *lerr = NULL;
        struct unpack_result res;
        if (unpack_mem(f->dfd, tar.data, tar.len, 65536, &res, &lerr) < 0)
            fail_msg("case %zu as a layer: %s", i, lerr->msg);
        assert_true((lstat_in(f, "dev/node").st_mode & S_IFMT) == cases[i].type);
        _cleanup_free_ char *d = in_layer(f, "dev");
        tu_rm_rf(d);
        _cleanup_free_ char *b = in_layer(f, "before");
        _cleanup_free_ char *a = in_layer(f, "after");
        unlink(b);
        unlink(a);
        buf_free(&tar);
    }
}

/* ---- docker cp's extraction ---- */

static int unpack_copy_mem(int dfd, const struct buf *tar, const struct unpack_copy_opts *o,
                           struct berth_err **err)
{
    struct mem_src m = {.p = (const unsigned char *)tar->data,
                        .len = tar->len,
                        .chunk = 65536,
                        .cancel_at = SIZE_MAX};
    return unpack_copy(dfd, o, mem_read, &m, err);
}

/* As dockerd: ".wh." names are files, devices and fifos are made, owners are the archive's or,
 * with chown, the container user's. */
static void test_copy_entries_and_owners(void **state)
{
    NEED_ROOT();
    struct fixture *f = *state;
    struct tar t;
    tar_open(&t);
    struct archive_entry *e = tar_entry("d/f", AE_IFREG, 0640);
    archive_entry_set_uid(e, 1234);
    archive_entry_set_gid(e, 5678);
    tar_add(&t, e, "data", 4);
    tar_file(&t, ".wh.x", "a file", 0644);
    e = tar_entry("dev/null", AE_IFCHR, 0666);
    archive_entry_set_rdev(e, makedev(1, 3));
    tar_add(&t, e, NULL, 0);
    tar_add(&t, tar_entry("fifo", AE_IFIFO, 0600), NULL, 0);
    struct buf tar;
    tar_close(&t, &tar);
    struct unpack_copy_opts o = {.dest = "/dst"};
    _cleanup_err_ struct berth_err *err = NULL;
    if (unpack_copy_mem(f->dfd, &tar, &o, &err) < 0)
        fail_msg("unpack_copy: %s", err->msg);
    assert_int_equal(lstat_in(f, "d/f").st_uid, 1234);
    assert_int_equal(lstat_in(f, "d/f").st_gid, 5678);
    expect_content(f, ".wh.x", "a file");
    assert_true(S_ISCHR(lstat_in(f, "dev/null").st_mode));
    assert_true(S_ISFIFO(lstat_in(f, "fifo").st_mode));
    o = (struct unpack_copy_opts){.chown = true, .uid = 42, .gid = 43, .dest = "/dst"};
    if (unpack_copy_mem(f->dfd, &tar, &o, &err) < 0)
        fail_msg("unpack_copy with chown: %s", err->msg);
    assert_int_equal(lstat_in(f, "d/f").st_uid, 42);
    assert_int_equal(lstat_in(f, "d/f").st_gid, 43);
    assert_int_equal(lstat_in(f, "fifo").st_uid, 42);
    check_outside(f);
    buf_free(&tar);
}

/* A name or a hard link that climbs out is refused in go-archive's words; an absolute name or a
 * symlink is resolved inside the extraction point. */
static void test_copy_escapes(void **state)
{
    NEED_ROOT();
    struct fixture *f = *state;
    const struct {
        const char *name, *link, *words;
    } refused[] = {
        {"../outside/sentinel", NULL, "invalid entry name \"../outside/sentinel\""},
        {"a/../../sentinel", NULL, "invalid entry name \"a/../../sentinel\""},
        {"h", "../sentinel", "invalid hardlink target \"../sentinel\""},
    };
    struct unpack_copy_opts o = {.no_overwrite_dir_nondir = true, .dest = "/dst"};
    for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
        struct tar t;
        tar_open(&t);
        if (refused[i].link)
            tar_hardlink(&t, refused[i].name, refused[i].link);
        else
            tar_file(&t, refused[i].name, "escaped", 0644);
        struct buf tar;
        tar_close(&t, &tar);
        _cleanup_err_ struct berth_err *err = NULL;
        int r = unpack_copy_mem(f->dfd, &tar, &o, &err);
        if (r >= 0 || !err || strcmp(err->msg, refused[i].words) != 0 || err->status != EIO)
            fail_msg("case %zu: rc %d (%s)", i, r, err ? err->msg : "");
        check_outside(f);
        buf_free(&tar);
    }
    struct tar t;
    tar_open(&t);
    tar_file(&t, "/abs", "inside", 0644);
    tar_symlink(&t, "up", "../../..");
    tar_file(&t, "up/via-up", "inside", 0644);
    tar_symlink(&t, "root", "/");
    tar_file(&t, "root/via-root", "inside", 0644);
    struct buf tar;
    tar_close(&t, &tar);
    _cleanup_err_ struct berth_err *err = NULL;
    if (unpack_copy_mem(f->dfd, &tar, &o, &err) < 0)
        fail_msg("unpack_copy: %s", err->msg);
    expect_content(f, "abs", "inside");
    expect_content(f, "via-up", "inside");
    expect_content(f, "via-root", "inside");
    check_outside(f);
    buf_free(&tar);
}

/* noOverwriteDirNonDir: a directory never replaced by a non-directory, nor the reverse; without
 * it both are. */
static void test_copy_no_overwrite(void **state)
{
    NEED_ROOT();
    struct fixture *f = *state;
    _cleanup_free_ char *dir = in_layer(f, "dir"), *file = in_layer(f, "file");
    mkdir(dir, 0755);
    tu_write(file, "f", 1);
    struct tar t;
    tar_open(&t);
    tar_file(&t, "dir", "now a file", 0644);
    struct buf over_dir;
    tar_close(&t, &over_dir);
    tar_open(&t);
    tar_dir(&t, "file", 0755);
    struct buf over_file;
    tar_close(&t, &over_file);
    struct unpack_copy_opts o = {.no_overwrite_dir_nondir = true, .dest = "/tmp/"};
    _cleanup_err_ struct berth_err *e1 = NULL, *e2 = NULL, *e3 = NULL;
    assert_true(unpack_copy_mem(f->dfd, &over_dir, &o, &e1) < 0);
    assert_string_equal(e1->msg, "cannot overwrite directory \"dir\" with non-directory \"/tmp/\"");
    assert_true(unpack_copy_mem(f->dfd, &over_file, &o, &e2) < 0);
    assert_string_equal(e2->msg,
                        "cannot overwrite non-directory \"file\" with directory \"/tmp/\"");
    assert_true(S_ISDIR(lstat_in(f, "dir").st_mode));
    assert_true(S_ISREG(lstat_in(f, "file").st_mode));
    o.no_overwrite_dir_nondir = false;
    assert_int_equal(unpack_copy_mem(f->dfd, &over_dir, &o, &e3), 0);
    assert_int_equal(unpack_copy_mem(f->dfd, &over_file, &o, &e3), 0);
    expect_content(f, "dir", "now a file");
    assert_true(S_ISDIR(lstat_in(f, "file").st_mode));
    buf_free(&over_dir);
    buf_free(&over_file);
}

/* ---- the diff ID and the compressions ---- */

static void test_diff_id_all_compressions(void **state)
{
    NEED_ROOT();
    struct fixture *f = *state;
    struct buf tar;
    uint64_t regular;
    build_tree(&tar, &regular);
    /* bytes after the end marker are part of the layer's content too */
    struct buf padded = {0};
    buf_append(&padded, tar.data, tar.len);
    for (int i = 0; i < 7777; i++)
        buf_append(&padded, i % 3 ? "\0" : "j", 1);
    char want[DIGEST_LEN + 1];
    digest_buf(padded.data, padded.len, want);
    struct buf gz = {0}, zs = {0}, multi = {0};
    tar_compress(COMPRESSION_GZIP, padded.data, padded.len, &gz);
    tar_compress(COMPRESSION_ZSTD, padded.data, padded.len, &zs);
    /* three gzip members, cut at odd places (one inside a header block) */
    size_t cuts[] = {0, 700, 3001, padded.len};
    for (int i = 0; i < 3; i++)
        tar_compress(COMPRESSION_GZIP, padded.data + cuts[i], cuts[i + 1] - cuts[i], &multi);
    const struct buf *inputs[] = {&padded, &gz, &zs, &multi};
    const char *names[] = {"plain", "gzip", "zstd", "gzip members"};
    const size_t chunks[] = {1, 511, 4096, 1u << 20};
    for (size_t i = 0; i < 4; i++) {
        for (size_t c = 0; c < 4; c++) {
            if (chunks[c] == 1 && i != 1)
                continue; /* byte by byte once is enough */
            tu_rm_rf(f->layer);
            mkdir(f->layer, 0755);
            close(f->dfd);
            f->dfd = open(f->layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            _cleanup_err_ struct berth_err *err = NULL;
            struct unpack_result res;
            int r = unpack_mem(f->dfd, inputs[i]->data, inputs[i]->len, chunks[c], &res, &err);
            if (r < 0)
                fail_msg("%s in %zu-byte reads: %s", names[i], chunks[c], err ? err->msg : "");
            if (strcmp(res.diff_id, want) != 0 || res.tar_size != padded.len)
                fail_msg("%s in %zu-byte reads: %s, %llu bytes", names[i], chunks[c], res.diff_id,
                         (unsigned long long)res.tar_size);
            assert_int_equal(res.entries, 16);
            expect_content(f, "etc/hostname", "berth\n");
        }
    }
    buf_free(&tar);
    buf_free(&padded);
    buf_free(&gz);
    buf_free(&zs);
    buf_free(&multi);
}

static void expect_failure(struct fixture *f, const void *p, size_t len, size_t cancel_at,
                           int status, const char *words, const char *what)
{
    struct mem_src m = {.p = p, .len = len, .chunk = 4096, .cancel_at = cancel_at};
    struct unpack_result res;
    _cleanup_err_ struct berth_err *err = NULL;
    int r = unpack_layer(f->dfd, mem_read, &m, &res, &err);
    if (r >= 0)
        fail_msg("%s: unpacked", what);
    if (!err || err->status != status || (words && !strstr(err->msg, words)))
        fail_msg("%s: status %d (%s), want %d (%s)", what, err ? err->status : -1,
                 err ? err->msg : "no words", status, words ? words : "");
    assert_int_equal(r, -status - 1);
}

static void test_truncated(void **state)
{
    NEED_ROOT();
    struct fixture *f = *state;
    struct buf tar;
    uint64_t regular;
    build_tree(&tar, &regular);
    struct buf gz = {0}, zs = {0};
    tar_compress(COMPRESSION_GZIP, tar.data, tar.len, &gz);
    tar_compress(COMPRESSION_ZSTD, tar.data, tar.len, &zs);
    /* cut in the trailer: every tar byte is there, the stream is still short */
    expect_failure(f, gz.data, gz.len - 4, SIZE_MAX, EINVAL, "truncated", "gzip without ISIZE");
    expect_failure(f, zs.data, zs.len - 2, SIZE_MAX, EINVAL, "truncated", "zstd cut short");
    /* cut in the middle: whichever notices first, it is an error */
    expect_failure(f, gz.data, gz.len / 2, SIZE_MAX, EINVAL, NULL, "gzip cut in half");
    expect_failure(f, tar.data, 1536 + 100, SIZE_MAX, EINVAL, NULL, "plain tar cut in a file");
    /* corrupt compressed data */
    gz.data[gz.len / 2] ^= 0x55;
    gz.data[gz.len / 2 + 1] ^= 0x55;
    expect_failure(f, gz.data, gz.len, SIZE_MAX, EINVAL, NULL, "corrupt gzip");
    buf_free(&tar);
    buf_free(&gz);
    buf_free(&zs);
}

static void test_cancelled(void **state)
{
    NEED_ROOT();
    struct fixture *f = *state;
    struct buf tar;
    uint64_t regular;
    build_tree(&tar, &regular);
    struct buf gz = {0}, padded = {0};
    tar_compress(COMPRESSION_GZIP, tar.data, tar.len, &gz);
    expect_failure(f, tar.data, tar.len, 0, ECANCELED, NULL, "cancelled before the first byte");
    expect_failure(f, tar.data, tar.len, 3000, ECANCELED, NULL, "cancelled in the tar");
    expect_failure(f, gz.data, gz.len, gz.len / 3, ECANCELED, NULL, "cancelled in gzip");
    /* cancelled while reading what follows the end marker */
    buf_append(&padded, tar.data, tar.len);
    static const char zeros[65536];
    for (int i = 0; i < 8; i++)
        buf_append(&padded, zeros, sizeof(zeros));
    expect_failure(f, padded.data, padded.len, tar.len + 70000, ECANCELED, NULL,
                   "cancelled in the padding");
    check_outside(f);
    buf_free(&tar);
    buf_free(&gz);
    buf_free(&padded);
}

static void test_empty_streams(void **state)
{
    struct fixture *f = *state; /* no entries, so nothing to chown: no root needed */
    static const char zeros[1024];
    struct buf gz = {0};
    tar_compress(COMPRESSION_GZIP, zeros, sizeof(zeros), &gz);
    const struct {
        const void *p;
        size_t len;
        size_t tar_size;
    } cases[] = {{"", 0, 0}, {zeros, sizeof(zeros), sizeof(zeros)}, {gz.data, gz.len, 1024}};
    for (size_t i = 0; i < 3; i++) {
        _cleanup_err_ struct berth_err *err = NULL;
        struct unpack_result res;
        int r = unpack_mem(f->dfd, cases[i].p, cases[i].len, 4096, &res, &err);
        if (r < 0)
            fail_msg("case %zu: %s", i, err ? err->msg : "");
        char want[DIGEST_LEN + 1];
        digest_buf(zeros, cases[i].tar_size, want);
        assert_string_equal(res.diff_id, want);
        assert_int_equal(res.tar_size, cases[i].tar_size);
        assert_int_equal(res.entries, 0);
        assert_int_equal(res.disk_size, 0);
        _cleanup_free_ char *ls = tu_listing(f->layer);
        assert_string_equal(ls, "");
    }
    buf_free(&gz);
}

/* ---- hostile streams ---- */

struct hostile {
    const char *what;
    void (*build)(struct buf *b, const char *outside);
    bool fails;          /* the stream must be refused */
    const char *lands;   /* else: this path exists in the layer afterwards */
    const char *missing; /* and this one does not */
};

static void h_dotdot(struct buf *b, const char *out)
{
    (void)out;
    raw_entry(b, "../../berth-test-escape", '0', NULL, "x", 1, 0644);
    raw_entry(b, "../sentinel", '0', NULL, "pwned", 5, 0644);
}

static void h_absolute(struct buf *b, const char *out)
{
    (void)out;
    raw_entry(b, "/etc/berth-test-evil", '0', NULL, "x", 1, 0644);
}

static void h_link_root(struct buf *b, const char *out)
{
    (void)out;
    raw_entry(b, "link", '2', "/", NULL, 0, 0777);
    raw_entry(b, "link/berth-test-evil", '0', NULL, "x", 1, 0644);
}

static void h_link_up(struct buf *b, const char *out)
{
    (void)out;
    raw_entry(b, "up", '2', "../../..", NULL, 0, 0777);
    raw_entry(b, "up/berth-test-up", '0', NULL, "x", 1, 0644);
    raw_entry(b, "up2", '2', "..", NULL, 0, 0777);
    raw_entry(b, "up2/sentinel", '0', NULL, "pwned", 5, 0644);
}

static void h_hardlink_passwd(struct buf *b, const char *out)
{
    (void)out;
    raw_entry(b, "pw", '1', "/etc/passwd", NULL, 0, 0644);
}

static void h_hardlink_dotdot(struct buf *b, const char *out)
{
    (void)out;
    raw_entry(b, "hl", '1', "../sentinel", NULL, 0, 0644);
}

static void h_hardlink_via_symlink(struct buf *b, const char *out)
{
    raw_entry(b, "out", '2', out, NULL, 0, 0777);
    raw_entry(b, "hl", '1', "out/sentinel", NULL, 0, 0644);
}

static void h_hardlink_via_rel_symlink(struct buf *b, const char *out)
{
    (void)out;
    raw_entry(b, "out", '2', "../outside", NULL, 0, 0777);
    raw_entry(b, "hl", '1', "out/sentinel", NULL, 0, 0644);
}

static void h_hardlink_to_symlink(struct buf *b, const char *out)
{
    _cleanup_free_ char *target = xasprintf("%s/sentinel", out);
    raw_entry(b, "s", '2', target, NULL, 0, 0777);
    raw_entry(b, "h", '1', "s", NULL, 0, 0644);
}

static void h_device_via_symlink(struct buf *b, const char *out)
{
    raw_entry(b, "devs", '2', out, NULL, 0, 0777);
    raw_entry(b, "devs/null", '3', NULL, NULL, 0, 0666);
}

static void h_whiteout_dotdot(struct buf *b, const char *out)
{
    (void)out;
    raw_entry(b, "../.wh.sentinel", '0', NULL, NULL, 0, 0644);
    raw_entry(b, "../../.wh..wh..opq", '0', NULL, NULL, 0, 0644);
}

static void h_whiteout_via_symlink(struct buf *b, const char *out)
{
    raw_entry(b, "wl", '2', out, NULL, 0, 0777);
    raw_entry(b, "wl/.wh.sentinel", '0', NULL, NULL, 0, 0644);
}

static void h_opaque_via_symlink(struct buf *b, const char *out)
{
    raw_entry(b, "wl", '2', out, NULL, 0, 0777);
    raw_entry(b, "wl/.wh..wh..opq", '0', NULL, NULL, 0, 0644);
}

static void h_file_over_symlink(struct buf *b, const char *out)
{
    _cleanup_free_ char *target = xasprintf("%s/sentinel", out);
    raw_entry(b, "s", '2', target, NULL, 0, 0777);
    raw_entry(b, "s", '0', NULL, "pwned", 5, 0600);
}

static void h_dir_over_symlink(struct buf *b, const char *out)
{
    raw_entry(b, "sd", '2', out, NULL, 0, 0777);
    raw_entry(b, "sd/", '5', NULL, NULL, 0, 0700);
}

static void h_parents_via_symlink(struct buf *b, const char *out)
{
    raw_entry(b, "p", '2', out, NULL, 0, 0777);
    raw_entry(b, "p/q/r", '0', NULL, "x", 1, 0644);
}

static void h_symlink_chain(struct buf *b, const char *out)
{
    (void)out;
    raw_entry(b, "a", '2', "b/../../..", NULL, 0, 0777);
    raw_entry(b, "b", '2', "/../..", NULL, 0, 0777);
    raw_entry(b, "a/berth-test-up", '0', NULL, "x", 1, 0644);
}

static const struct hostile hostile_cases[] = {
    {"../../escape", h_dotdot, false, "berth-test-escape", NULL},
    {"/etc/evil", h_absolute, false, "etc/berth-test-evil", NULL},
    {"link -> / then link/evil", h_link_root, false, "berth-test-evil", NULL},
    {"link -> ../../.. then a file", h_link_up, false, "berth-test-up", NULL},
    {"hardlink to /etc/passwd", h_hardlink_passwd, true, NULL, "pw"},
    {"hardlink to ../sentinel", h_hardlink_dotdot, true, NULL, "hl"},
    {"hardlink through a symlink", h_hardlink_via_symlink, true, NULL, "hl"},
    {"hardlink through a relative symlink", h_hardlink_via_rel_symlink, true, NULL, "hl"},
    {"hardlink to a symlink", h_hardlink_to_symlink, false, "h", NULL},
    {"device through a symlinked parent", h_device_via_symlink, true, NULL, NULL},
    {".wh. with ..", h_whiteout_dotdot, false, "sentinel", NULL},
    {".wh. through a symlink", h_whiteout_via_symlink, true, NULL, NULL},
    {"opaque through a symlink", h_opaque_via_symlink, true, NULL, NULL},
    {"file over a symlink", h_file_over_symlink, false, "s", NULL},
    {"directory over a symlink", h_dir_over_symlink, false, "sd", NULL},
    {"parents through a symlink", h_parents_via_symlink, true, NULL, NULL},
    {"symlink chain", h_symlink_chain, false, "berth-test-up", NULL},
};

static void test_hostile(void **state)
{
    NEED_ROOT();
    struct fixture *f = *state;
    struct stat passwd;
    assert_int_equal(stat("/etc/passwd", &passwd), 0);
    for (size_t i = 0; i < ARRAY_SIZE(hostile_cases); i++) {
        const struct hostile *h = &hostile_cases[i];
        tu_rm_rf(f->layer);
        mkdir(f->layer, 0755);
        close(f->dfd);
        f->dfd = open(f->layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct buf tar = {0};
        h->build(&tar, f->outside);
        raw_end(&tar);
        _cleanup_err_ struct berth_err *err = NULL;
        struct unpack_result res;
        int r = unpack_mem(f->dfd, tar.data, tar.len, 4096, &res, &err);
        if (h->fails && r >= 0)
            fail_msg("%s: accepted", h->what);
        if (!h->fails && r < 0)
            fail_msg("%s: %s", h->what, err ? err->msg : "(no words)");
        if (h->lands && !exists_in(f, h->lands))
            fail_msg("%s: %s is not in the layer", h->what, h->lands);
        if (h->missing && exists_in(f, h->missing))
            fail_msg("%s: %s was created", h->what, h->missing);
        check_outside(f);
        struct stat st;
        assert_int_equal(stat("/etc/passwd", &st), 0);
        assert_int_equal(st.st_nlink, passwd.st_nlink);
        assert_int_equal(st.st_ctim.tv_sec, passwd.st_ctim.tv_sec);
        buf_free(&tar);
    }
}

/* The unpacker refuses the first entry while the reader thread goes on and finds the source
 * failing (cancelled after two 4 KiB reads), most likely before the refusal: the refusal is
 * what the caller hears, as when one thread did both. */
static void test_refusal_beats_later_source_error(void **state)
{
    NEED_ROOT();
    struct fixture *f = *state;
    struct buf tar = {0};
    h_hardlink_passwd(&tar, f->outside);
    static char filler[1 << 20];
    memset(filler, 'x', sizeof(filler));
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof(name), "filler%d", i);
        raw_entry(&tar, name, '0', NULL, filler, sizeof(filler), 0644);
    }
    raw_end(&tar);
    expect_failure(f, tar.data, tar.len, 8192, EINVAL, "invalid hardlink",
                   "refused, then cancelled");
    check_outside(f);
    buf_free(&tar);
}

/* The details some hostile cases leave behind inside the layer. */
static void test_hostile_results(void **state)
{
    NEED_ROOT();
    struct fixture *f = *state;
    struct buf tar = {0};
    h_hardlink_to_symlink(&tar, f->outside);
    h_whiteout_dotdot(&tar, f->outside);
    raw_end(&tar);
    struct unpack_result res;
    unpack_ok(f, &tar, &res);
    struct stat h = lstat_in(f, "h"), s = lstat_in(f, "s");
    assert_true(S_ISLNK(h.st_mode)); /* the link itself was linked, not what it points at */
    assert_int_equal(h.st_ino, s.st_ino);
    struct stat wh = lstat_in(f, "sentinel");
    assert_true(S_ISCHR(wh.st_mode));
    assert_int_equal(wh.st_rdev, makedev(0, 0));
    ssize_t n;
    _cleanup_free_ char *opq = xattr_in(f, ".", "trusted.overlay.opaque", &n);
    assert_non_null(opq); /* ../../.wh..wh..opq clamps to the layer's own root */
    check_outside(f);
    buf_free(&tar);
}

/* ---- size ---- */

/* A tmpfs over dir, in a mount namespace of this process alone (made private first, so
 * nothing propagates to the host): 100 000 creates and deletes then measure the unpacker,
 * not a shared disk's journal and discards. false: stay on the disk. */
static bool private_tmpfs(const char *dir)
{
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return false;
    return mount("berth-test", dir, "tmpfs", MS_NOSUID, "size=1g,mode=0755") == 0;
}

static void test_many_entries(void **state)
{
    NEED_ROOT();
    struct fixture *f = *state;
    struct buf tar = {0};
    char name[64];
    size_t n = 0;
    for (int d = 0; d < 100; d++) {
        snprintf(name, sizeof(name), "d%02d/", d);
        raw_entry(&tar, name, '5', NULL, NULL, 0, 0755);
        n++;
        for (int i = 0; i < 999; i++, n++) {
            snprintf(name, sizeof(name), "d%02d/f%03d", d, i);
            raw_entry(&tar, name, '0', NULL, name, i % 7 ? 0 : strlen(name), 0644);
        }
    }
    raw_end(&tar);
    assert_int_equal(n, 100000);
    if (private_tmpfs(f->layer)) {
        close(f->dfd);
        f->dfd = open(f->layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    struct timespec t0, t1;
    struct rusage u0, u1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    getrusage(RUSAGE_SELF, &u0);
    struct unpack_result res;
    unpack_ok(f, &tar, &res);
    getrusage(RUSAGE_SELF, &u1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* the unpacker's own work (user CPU) is what must stay linear; the wall time is mostly the
     * file system's, which on a busy shared disk says little about the code */
    double user = (double)(u1.ru_utime.tv_sec - u0.ru_utime.tv_sec) +
                  (double)(u1.ru_utime.tv_usec - u0.ru_utime.tv_usec) / 1e6;
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "# 100000 entries: %.2f s user CPU, %.2f s wall\n", user, wall);
    assert_int_equal(res.entries, 100000);
    assert_int_equal(res.tar_size, tar.len);
    expect_content(f, "d42/f007", "d42/f007");
    expect_content(f, "d99/f998", "");
    _cleanup_free_ char *d = in_layer(f, "d57");
    struct dirent **names;
    int k = scandir(d, &names, NULL, NULL);
    assert_int_equal(k, 999 + 2);
    for (int i = 0; i < k; i++)
        free(names[i]);
    free(names);
    assert_true(user < 10); /* ~0.3 s here; ASan makes it a few times that */
    buf_free(&tar);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_tree),
        T(test_owner_mode_not_inherited),
        T(test_long_names),
        T(test_sparse),
        T(test_replace_and_merge),
        T(test_whiteouts),
        T(test_bad_whiteouts),
        T(test_archive_plain_entries),
        T(test_archive_refuses_specials),
        T(test_copy_entries_and_owners),
        T(test_copy_escapes),
        T(test_copy_no_overwrite),
        T(test_diff_id_all_compressions),
        T(test_truncated),
        T(test_cancelled),
        T(test_empty_streams),
        T(test_hostile),
        T(test_hostile_results),
        T(test_refusal_beats_later_source_error),
        T(test_many_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
