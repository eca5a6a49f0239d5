/* tests/fs/test_store.c — fs/store.c: blobs enter only verified (a mismatch leaves nothing
 * visible, not even a temp file), concurrent writers of one blob all succeed with one file,
 * the index survives a reopen, and removal; plus fs/atomic.c, which every state file uses. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "core/macros.h"
#include "fs/atomic.h"
#include "fs/store.h"
#include "tests/testutil.h"

#define HELLO_DIGEST "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

struct fixture {
    char *root, *blobs;
    struct store *s;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    f->root = tu_tmpdir("store");
    f->blobs = xasprintf("%s/blobs/sha256", f->root);
    struct berth_err *err = NULL;
    if (store_open(f->root, &f->s, &err) < 0) {
        fprintf(stderr, "store_open: %s\n", err->msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->s);
    tu_rm_rf(f->root);
    free(f->root);
    free(f->blobs);
    free(f);
    return 0;
}

static void test_put_get(void **state)
{
    struct fixture *f = *state;
    _cleanup_err_ struct berth_err *err = NULL;
    char d[DIGEST_LEN + 1];
    assert_false(store_has(f->s, HELLO_DIGEST));
    assert_int_equal(store_put(f->s, "hello", 5, HELLO_DIGEST, d, &err), 0);
    assert_string_equal(d, HELLO_DIGEST);
    assert_true(store_has(f->s, HELLO_DIGEST));
    _cleanup_free_ char *path = store_blob_path(f->s, HELLO_DIGEST);
    _cleanup_free_ char *want = xasprintf("%s/%s", f->blobs, HELLO_DIGEST + 7);
    assert_string_equal(path, want);
    _cleanup_free_ char *content = tu_read(path, NULL);
    assert_string_equal(content, "hello");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    _cleanup_free_ char *got = NULL;
    size_t len;
    assert_int_equal(store_get(f->s, HELLO_DIGEST, &got, &len, &err), 0);
    assert_int_equal(len, 5);
    assert_string_equal(got, "hello");
    uint64_t size;
    assert_int_equal(store_size(f->s, HELLO_DIGEST, &size, &err), 0);
    assert_int_equal(size, 5);
    /* the same blob again: accepted, still one file */
    assert_int_equal(store_put(f->s, "hello", 5, NULL, d, &err), 0);
    _cleanup_free_ char *ls = tu_listing(f->blobs);
    assert_string_equal(ls, HELLO_DIGEST + 7);
}

static void test_writer_pieces(void **state)
{
    struct fixture *f = *state;
    _cleanup_err_ struct berth_err *err = NULL;
    struct blob_writer *w;
    assert_int_equal(store_writer_new(f->s, &w, &err), 0);
    assert_int_equal(store_writer_write(w, "he", 2, &err), 0);
    assert_int_equal(store_writer_write(w, "", 0, &err), 0);
    assert_int_equal(store_writer_write(w, "llo", 3, &err), 0);
    assert_int_equal(store_writer_size(w), 5);
    /* nothing is visible while it is written: O_TMPFILE has no name */
    _cleanup_free_ char *before = tu_listing(f->blobs);
    assert_string_equal(before, "");
    char d[DIGEST_LEN + 1];
    assert_int_equal(store_writer_commit(w, HELLO_DIGEST, d, &err), 0);
    assert_string_equal(d, HELLO_DIGEST);
    assert_true(store_has(f->s, HELLO_DIGEST));
}

static void test_mismatch_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    _cleanup_err_ struct berth_err *err = NULL;
    struct blob_writer *w;
    const char *wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    assert_int_equal(store_writer_new(f->s, &w, &err), 0);
    assert_int_equal(store_writer_write(w, "hello", 5, &err), 0);
    char d[DIGEST_LEN + 1];
    int r = store_writer_commit(w, wrong, d, &err); /* frees w either way */
    assert_int_equal(r, -EINVAL - 1);
    assert_int_equal(err->status, EINVAL);
    assert_non_null(strstr(err->msg, "digest mismatch"));
    assert_non_null(strstr(err->msg, HELLO_DIGEST));
    assert_false(store_has(f->s, wrong));
    assert_false(store_has(f->s, HELLO_DIGEST));
    _cleanup_free_ char *ls = tu_listing(f->blobs);
    assert_string_equal(ls, "");
    /* an aborted writer leaves nothing either */
    assert_int_equal(store_writer_new(f->s, &w, &err), 0);
    assert_int_equal(store_writer_write(w, "hello", 5, &err), 0);
    store_writer_abort(w);
    store_writer_abort(NULL);
    _cleanup_free_ char *ls2 = tu_listing(f->blobs);
    assert_string_equal(ls2, "");
    assert_int_equal(store_put(f->s, "hello", 5, wrong, d, &err), -EINVAL - 1);
    _cleanup_free_ char *ls3 = tu_listing(f->blobs);
    assert_string_equal(ls3, "");
}

struct writer_arg {
    struct store *s;
    const unsigned char *data;
    size_t len, piece;
    const char *expected;
    int rc;
    char digest[DIGEST_LEN + 1];
};

static void *write_blob(void *p)
{
    struct writer_arg *a = p;
    struct berth_err *err = NULL;
    struct blob_writer *w;
    a->rc = store_writer_new(a->s, &w, &err);
    for (size_t off = 0; a->rc == 0 && off < a->len; off += a->piece)
        a->rc = store_writer_write(w, a->data + off,
                                   a->len - off < a->piece ? a->len - off : a->piece, &err);
    if (a->rc == 0)
        a->rc = store_writer_commit(w, a->expected, a->digest, &err);
    berth_err_free(err);
    return NULL;
}

static void test_concurrent_writers(void **state)
{
    struct fixture *f = *state;
    size_t len = 1u << 20;
    unsigned char *data = xmalloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (unsigned char)(i * 31 + (i >> 10));
    char want[DIGEST_LEN + 1];
    digest_buf(data, len, want);
    enum { N = 8 };
    pthread_t t[N];
    struct writer_arg a[N];
    for (int i = 0; i < N; i++) {
        a[i] = (struct writer_arg){
            .s = f->s, .data = data, .len = len, .piece = 1000 + (size_t)i * 777, .expected = want};
        pthread_create(&t[i], NULL, write_blob, &a[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].rc, 0);
        assert_string_equal(a[i].digest, want);
    }
    assert_true(store_has(f->s, want));
    _cleanup_free_ char *ls = tu_listing(f->blobs);
    assert_string_equal(ls, want + 7);
    _cleanup_free_ char *path = store_blob_path(f->s, want);
    size_t n;
    _cleanup_free_ char *content = tu_read(path, &n);
    assert_int_equal(n, len);
    assert_memory_equal(content, data, len);
    free(data);
}

static void test_reopen_and_remove(void **state)
{
    struct fixture *f = *state;
    _cleanup_err_ struct berth_err *err = NULL;
    char d1[DIGEST_LEN + 1], d2[DIGEST_LEN + 1];
    assert_int_equal(store_put(f->s, "hello", 5, NULL, d1, &err), 0);
    assert_int_equal(store_put(f->s, "{}", 2, NULL, d2, &err), 0);
    /* strays: not blobs, so not indexed (and left alone) */
    _cleanup_free_ char *stray = xasprintf("%s/notadigest", f->blobs);
    _cleanup_free_ char *upper = xasprintf(
        "%s/%s", f->blobs, "2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824");
    tu_write(stray, "x", 1);
    tu_write(upper, "x", 1);
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(store_open(f->root, &f->s, &err), 0);
    assert_true(store_has(f->s, d1));
    assert_true(store_has(f->s, d2));
    assert_false(store_has(f->s, "sha256:notadigest"));
    assert_true(tu_exists(stray));

    assert_int_equal(store_remove(f->s, d1, &err), 0);
    assert_false(store_has(f->s, d1));
    _cleanup_free_ char *p1 = store_blob_path(f->s, d1);
    assert_false(tu_exists(p1));
    assert_int_equal(store_remove(f->s, d1, &err), 0); /* already gone: fine */
    _cleanup_free_ char *data = NULL;
    size_t len;
    assert_int_equal(store_get(f->s, d1, &data, &len, &err), -ENOENT - 1);
    assert_int_equal(err->status, ENOENT);
    _cleanup_free_ char *words = xasprintf("blob %s not found", d1);
    assert_string_equal(err->msg, words);
    uint64_t size;
    assert_int_equal(store_size(f->s, d1, &size, &err), -ENOENT - 1);
    assert_int_equal(store_remove(f->s, "sha256:short", &err), -EINVAL - 1);
    assert_int_equal(store_get(f->s, "../../etc/passwd", &data, &len, &err), -ENOENT - 1);
    _cleanup_free_ char *inv = store_blob_path(f->s, "../x");
    assert_non_null(strstr(inv, "/blobs/sha256/invalid"));

    store_close(f->s);
    f->s = NULL;
    assert_int_equal(store_open(f->root, &f->s, &err), 0);
    assert_false(store_has(f->s, d1));
    assert_true(store_has(f->s, d2));
}

/* ---- fs/atomic ---- */

struct atomic_arg {
    const char *path;
    char fill;
    size_t len;
    int rounds, failures;
};

static void *rewrite(void *p)
{
    struct atomic_arg *a = p;
    char *data = xmalloc(a->len);
    memset(data, a->fill, a->len);
    for (int i = 0; i < a->rounds; i++) {
        struct berth_err *err = NULL;
        if (fs_write_atomic(a->path, data, a->len, 0600, &err) < 0)
            a->failures++;
        berth_err_free(err);
    }
    free(data);
    return NULL;
}

/* Two threads replacing one file (two pulls writing the same image's metadata): each reader
 * sees one whole version, never a mix, and no temp file is left. */
static void test_atomic_concurrent(void **state)
{
    struct fixture *f = *state;
    _cleanup_free_ char *dir = xasprintf("%s/state", f->root);
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(fs_mkdir_p(dir, 0700, &err), 0);
    _cleanup_free_ char *path = xasprintf("%s/file.json", dir);
    struct atomic_arg a = {.path = path, .fill = 'a', .len = 256 << 10, .rounds = 40};
    struct atomic_arg b = {.path = path, .fill = 'b', .len = 256 << 10, .rounds = 40};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, rewrite, &a);
    pthread_create(&tb, NULL, rewrite, &b);
    int torn = 0;
    for (int i = 0; i < 200; i++) {
        size_t n = 0;
        char *c = tu_read(path, &n);
        if (c && (n != a.len || (memchr(c, 'a', n) && memchr(c, 'b', n))))
            torn++;
        free(c);
    }
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    size_t n = 0;
    char *c = tu_read(path, &n);
    bool whole = c && n == a.len && !(memchr(c, 'a', n) && memchr(c, 'b', n));
    free(c);
    assert_int_equal(a.failures + b.failures, 0);
    assert_int_equal(torn, 0);
    assert_true(whole);
    _cleanup_free_ char *ls = tu_listing(dir);
    assert_string_equal(ls, "file.json");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_atomic_helpers(void **state)
{
    struct fixture *f = *state;
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_free_ char *deep = xasprintf("%s/a/b/c", f->root);
    assert_int_equal(fs_mkdir_p(deep, 0700, &err), 0);
    assert_int_equal(fs_mkdir_p(deep, 0700, &err), 0);
    _cleanup_free_ char *file = xasprintf("%s/a/f", f->root);
    assert_int_equal(fs_write_atomic(file, "", 0, 0644, &err), 0);
    char *data = NULL;
    size_t len = 99;
    assert_int_equal(fs_read_file(file, &data, &len, &err), 0);
    assert_int_equal(len, 0);
    assert_string_equal(data, "");
    free(data);
    assert_int_equal(fs_write_atomic(file, "{\"x\":1}", 7, 0644, &err), 0);
    assert_int_equal(fs_read_file(file, &data, &len, &err), 0);
    assert_string_equal(data, "{\"x\":1}");
    free(data);
    _cleanup_free_ char *under_file = xasprintf("%s/a/f/g", f->root);
    assert_true(fs_mkdir_p(under_file, 0700, &err) < 0);
    _cleanup_free_ char *missing = xasprintf("%s/nope", f->root);
    assert_int_equal(fs_read_file(missing, &data, &len, &err), -ENOENT - 1);
}

/* What a crash leaves of an atomic write (NAME.tmp-XXXXXX) goes; nothing else does. */
static void test_sweep_temps(void **state)
{
    struct fixture *f = *state;
    const char *names[] = {"container.json.tmp-Ab12Cd",
                           "repositories.json.tmp-zzzzzz",
                           "keep.json",
                           "keep.tmp-long-name",
                           ".tmp-abcdef",
                           "x.tmp-abc"};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        _cleanup_free_ char *p = xasprintf("%s/%s", f->root, names[i]);
        tu_write(p, "x", 1);
    }
    _cleanup_close_ int dfd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_int_equal(fs_sweep_temps(dfd), 2);
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        _cleanup_free_ char *p = xasprintf("%s/%s", f->root, names[i]);
        assert_int_equal(tu_exists(p), i >= 2);
    }
}

/* Start-up collection: blobs outside the kept set move to the trash and leave the index. */
static void test_trash_unkept(void **state)
{
    struct fixture *f = *state;
    _cleanup_err_ struct berth_err *err = NULL;
    char keep[DIGEST_LEN + 1], drop[DIGEST_LEN + 1];
    assert_int_equal(store_put(f->s, "keep", 4, NULL, keep, &err), 0);
    assert_int_equal(store_put(f->s, "dropped", 7, NULL, drop, &err), 0);
    struct map kept = {0}, stale = {0};
    map_put(&kept, keep, (void *)1);
    uint64_t bytes = 0;
    assert_int_equal(store_trash_unkept(f->s, &kept, &bytes, &err), 1);
    assert_int_equal(bytes, 7);
    assert_true(store_has(f->s, keep));
    assert_false(store_has(f->s, drop));
    _cleanup_free_ char *gone = store_blob_path(f->s, drop);
    assert_false(tu_exists(gone));
    store_take_stale(f->s, &stale);
    assert_int_equal(stale.len, 1);
    const char *path;
    size_t i = 0;
    assert_true(map_next(&stale, &i, &path, NULL));
    assert_non_null(strstr(path, "/blobs/trash/"));
    assert_true(tu_exists(path));
    map_free(&stale);
    map_free(&kept);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_put_get),
        T(test_writer_pieces),
        T(test_mismatch_leaves_nothing),
        T(test_concurrent_writers),
        T(test_reopen_and_remove),
        T(test_atomic_concurrent),
        T(test_atomic_helpers),
        T(test_sweep_temps),
        T(test_trash_unkept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
