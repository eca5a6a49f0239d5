/* tests/fs/test_layer.c — fs/layer.c: chain IDs against values computed independently, a
 * commit's files and metadata and its short link, what a reopen loads and what it cleans up
 * (half-made directories, duplicate chains, layers/tmp), the lowerdir of a 130-layer chain,
 * and deleting trees that hold read-only directories and symlinks pointing outside. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/json.h"
#include "core/pool.h"
#include "fs/atomic.h"
#include "fs/layer.h"
#include "tests/testutil.h"

#define DA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DC "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
/* python3: sha256(DA + " " + DB), then sha256("sha256:" + that + " " + DC) */
#define CAB  "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c"
#define CABC "sha256:c1377126441fb2f5ec2c21ae2a60255331d639e830f0ee1b40a36e52d4c40588"
#define BLOB "sha256:1111111111111111111111111111111111111111111111111111111111111111"

struct fixture {
    char *root, *layers;
    struct layer_store *ls;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    f->root = tu_tmpdir("layer");
    f->layers = xasprintf("%s/layers", f->root);
    struct berth_err *err = NULL;
    if (layer_store_open(f->root, &f->ls, &err) < 0) {
        fprintf(stderr, "layer_store_open: %s\n", err->msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    layer_store_close(f->ls);
    tu_rm_rf(f->root);
    free(f->root);
    free(f->layers);
    free(f);
    return 0;
}

static void reopen(struct fixture *f)
{
    layer_store_close(f->ls);
    f->ls = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    if (layer_store_open(f->root, &f->ls, &err) < 0)
        fail_msg("reopen: %s", err->msg);
}

/* A committed and registered layer holding one file, diff/<file> = content. */
static struct layer *make_layer(struct fixture *f, const char *parent, const char *diff_id,
                                const char *file, const char *content)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_free_ char *tmp = NULL;
    _cleanup_close_ int dfd = -1;
    assert_int_equal(layer_tmp_new(f->ls, &tmp, &dfd, &err), 0);
    _cleanup_close_ int fd = openat(dfd, file, O_WRONLY | O_CREAT | O_EXCL, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    struct layer *l = xcalloc(1, sizeof(*l));
    snprintf(l->diff_id, sizeof(l->diff_id), "%s", diff_id);
    snprintf(l->parent, sizeof(l->parent), "%s", parent ? parent : "");
    layer_chain_id(l->parent, l->diff_id, l->chain_id);
    l->size = strlen(content);
    l->tar_size = 2048;
    l->blobs = json_array();
    layer_add_blob(l, BLOB, "application/vnd.oci.image.layer.v1.tar+gzip", 77, "docker.io/x/y");
    if (layer_commit(f->ls, tmp, l, &err) < 0)
        fail_msg("commit: %s", err->msg);
    assert_ptr_equal(layer_register(f->ls, l), l);
    return l;
}

static char *layer_path(struct fixture *f, const struct layer *l, const char *rest)
{
    return xasprintf("%s/%s%s", f->layers, l->link, rest);
}

static void test_chain_ids(void **state)
{
    (void)state;
    char out[DIGEST_LEN + 1];
    layer_chain_id("", DA, out);
    assert_string_equal(out, DA); /* ChainID(L0) = DiffID(L0) */
    layer_chain_id(NULL, DA, out);
    assert_string_equal(out, DA);
    layer_chain_id(DA, DB, out);
    assert_string_equal(out, CAB);
    layer_chain_id(CAB, DC, out);
    assert_string_equal(out, CABC);
    layer_chain_id(DB, DA, out); /* order matters */
    assert_string_not_equal(out, CAB);
}

static void test_commit_and_reopen(void **state)
{
    struct fixture *f = *state;
    _cleanup_err_ struct berth_err *err = NULL;
    /* a new layer is unpacked in layers/tmp, invisible until committed */
    _cleanup_free_ char *tmp = NULL;
    _cleanup_close_ int dfd = -1;
    assert_int_equal(layer_tmp_new(f->ls, &tmp, &dfd, &err), 0);
    _cleanup_free_ char *tmp_prefix = xasprintf("%s/tmp/", f->layers);
    assert_memory_equal(tmp, tmp_prefix, strlen(tmp_prefix));
    _cleanup_free_ char *tmp_diff = xasprintf("%s/diff", tmp);
    struct stat st;
    assert_int_equal(stat(tmp_diff, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    close(dfd);
    dfd = -1;
    tu_rm_rf(tmp);

    struct layer *l = make_layer(f, "", DA, "hello", "hello world");
    assert_string_equal(l->chain_id, DA);
    assert_int_equal(strlen(l->link), LAYER_LINK_LEN);
    assert_int_equal(strspn(l->link, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), LAYER_LINK_LEN);
    _cleanup_free_ char *hello = layer_path(f, l, "/diff/hello");
    _cleanup_free_ char *content = tu_read(hello, NULL);
    assert_string_equal(content, "hello world");
    _cleanup_free_ char *meta = layer_path(f, l, "/layer.json");
    json_error_t je;
    _cleanup_json_ json_t *j = json_load_file(meta, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_get_str(j, "ChainID"), DA);
    assert_string_equal(json_get_str(j, "DiffID"), DA);
    assert_string_equal(json_get_str(j, "Parent"), "");
    assert_string_equal(json_get_str(j, "Link"), l->link);
    assert_int_equal(json_get_int(j, "Size", -1), 11);
    assert_int_equal(json_get_int(j, "TarSize", -1), 2048);
    /* the short link that keeps overlay's lowerdir short */
    _cleanup_free_ char *link = xasprintf("%s/l/%s", f->layers, l->link);
    char target[64] = {0};
    assert_int_equal(readlink(link, target, sizeof(target) - 1), 3 + LAYER_LINK_LEN + 5);
    _cleanup_free_ char *want = xasprintf("../%s/diff", l->link);
    assert_string_equal(target, want);
    _cleanup_free_ char *through = xasprintf("%s/hello", link);
    assert_true(tu_exists(through));
    _cleanup_free_ char *tmpdir = xasprintf("%s/tmp", f->layers);
    _cleanup_free_ char *tmp_ls = tu_listing(tmpdir);
    assert_string_equal(tmp_ls, ""); /* the unpack directory was renamed, not copied */

    struct layer *child = make_layer(f, DA, DB, "child", "c");
    assert_string_equal(child->chain_id, CAB);
    assert_string_equal(child->parent, DA);
    /* another repository holding the same blob, and a second blob: both recorded once */
    layer_add_blob(child, BLOB, "application/vnd.oci.image.layer.v1.tar+gzip", 77, "docker.io/z/w");
    layer_add_blob(child, BLOB, "application/vnd.oci.image.layer.v1.tar+gzip", 77, "docker.io/z/w");
    layer_add_blob(child, DC, "application/vnd.oci.image.layer.v1.tar+zstd", 55, NULL);
    assert_int_equal(layer_save(f->ls, child, &err), 0);
    char link_a[LAYER_LINK_LEN + 1], link_b[LAYER_LINK_LEN + 1];
    memcpy(link_a, l->link, sizeof(link_a));
    memcpy(link_b, child->link, sizeof(link_b));

    reopen(f);
    struct layer *a = layer_get(f->ls, DA), *b = layer_get(f->ls, CAB);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a->link, link_a);
    assert_string_equal(a->diff_id, DA);
    assert_string_equal(a->parent, "");
    assert_int_equal(a->size, 11);
    assert_int_equal(a->tar_size, 2048);
    assert_int_equal(a->refs, 0);
    assert_string_equal(b->link, link_b);
    assert_string_equal(b->parent, DA);
    assert_int_equal(json_array_size(b->blobs), 2);
    json_t *b0 = json_array_get(b->blobs, 0);
    assert_string_equal(json_get_str(b0, "Digest"), BLOB);
    assert_int_equal(json_get_int(b0, "Size", 0), 77);
    json_t *repos = json_object_get(b0, "Repos");
    assert_int_equal(json_array_size(repos), 2);
    assert_string_equal(json_string_value(json_array_get(repos, 1)), "docker.io/z/w");
    json_t *b1 = json_array_get(b->blobs, 1);
    assert_string_equal(json_get_str(b1, "Digest"), DC);
    assert_int_equal(json_array_size(json_object_get(b1, "Repos")), 0);
    _cleanup_free_ char *lower = layer_lowerdir(f->ls, CAB);
    _cleanup_free_ char *want_lower = xasprintf("l/%s:l/%s", link_b, link_a);
    assert_string_equal(lower, want_lower);
}

static void fake_layer_dir(struct fixture *f, const char *name, const char *json)
{
    _cleanup_free_ char *dir = xasprintf("%s/%s/diff", f->layers, name);
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(fs_mkdir_p(dir, 0700, &err), 0);
    if (json) {
        _cleanup_free_ char *meta = xasprintf("%s/%s/layer.json", f->layers, name);
        tu_write(meta, json, strlen(json));
    }
}

static void test_open_cleans_up(void **state)
{
    if (!tu_is_root())
        skip(); /* read-only directories hold back anyone else */
    struct fixture *f = *state;
    struct layer *l = make_layer(f, "", DA, "a", "a");
    char link[LAYER_LINK_LEN + 1];
    memcpy(link, l->link, sizeof(link));
    /* unfinished or broken layer directories */
    fake_layer_dir(f, "NOMETA0000000000000000000A", NULL);
    fake_layer_dir(f, "BADJSON000000000000000000A", "{not json");
    _cleanup_free_ char *wrong_link =
        xasprintf("{\"ChainID\":\"%s\",\"DiffID\":\"%s\",\"Parent\":\"\",\"Link\":\"%s\"}", DB, DB,
                  "OTHERNAME00000000000000000");
    fake_layer_dir(f, "WRONGLINK0000000000000000A", wrong_link);
    /* a second copy of DA's chain, consistent in itself */
    _cleanup_free_ char *dup = xasprintf(
        "{\"ChainID\":\"%s\",\"DiffID\":\"%s\",\"Parent\":\"\",\"Link\":\"%s\",\"Size\":1}", DA, DA,
        "DUPLICATE0000000000000000A");
    fake_layer_dir(f, "DUPLICATE0000000000000000A", dup);
    /* not layer directories at all: left alone */
    _cleanup_free_ char *readme = xasprintf("%s/README", f->layers);
    tu_write(readme, "x", 1);
    /* what a crash left in tmp, including a read-only directory and a symlink out */
    _cleanup_free_ char *outside = xasprintf("%s/outside", f->root);
    _cleanup_free_ char *sentinel = xasprintf("%s/outside/sentinel", f->root);
    mkdir(outside, 0755);
    tu_write(sentinel, "keep", 4);
    _cleanup_free_ char *ro = xasprintf("%s/tmp/unpack-x/diff/ro", f->layers);
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(fs_mkdir_p(ro, 0755, &err), 0);
    _cleanup_free_ char *ro_file = xasprintf("%s/file", ro);
    tu_write(ro_file, "x", 1);
    chmod(ro, 0555);
    _cleanup_free_ char *out_link = xasprintf("%s/tmp/unpack-x/diff/out", f->layers);
    assert_int_equal(symlink(outside, out_link), 0);
    _cleanup_free_ char *stray = xasprintf("%s/tmp/delete-stray", f->layers);
    tu_write(stray, "x", 1);
    /* a crash between the rename and the link */
    _cleanup_free_ char *short_link = xasprintf("%s/l/%s", f->layers, link);
    unlink(short_link);
    /* a crash in the middle of a layer.json rewrite */
    _cleanup_free_ char *half = xasprintf("%s/%s/layer.json.tmp-AbC123", f->layers, link);
    tu_write(half, "{", 1);

    reopen(f);
    /* the broken copies and tmp's content are set aside (in tmp), removed by the caller */
    struct map stale = {0};
    layer_store_take_stale(f->ls, &stale);
    _cleanup_free_ char *tmp_prefix = xasprintf("%s/tmp/", f->layers);
    const char *path;
    assert_true(stale.len >= 5); /* NOMETA, BADJSON, WRONGLINK, a DA copy, unpack-x, stray */
    for (size_t i = 0; map_next(&stale, &i, &path, NULL);) {
        assert_memory_equal(path, tmp_prefix, strlen(tmp_prefix));
        assert_int_equal(layer_rm_tree(path, &err), 0);
    }
    map_free(&stale);
    assert_false(tu_exists(half));
    /* one of the two copies of DA survives (either may), with its link */
    struct layer *got = layer_get(f->ls, DA);
    assert_non_null(got);
    if (strcmp(got->link, link) != 0)
        assert_string_equal(got->link, "DUPLICATE0000000000000000A");
    _cleanup_free_ char *ls = tu_listing(f->layers);
    const char *names[] = {got->link, "README", "l", "tmp"};
    size_t n = 1;
    for (const char *c = ls; *c; c++)
        n += *c == ' ';
    for (int i = 0; i < 4; i++)
        if (!strstr(ls, names[i]))
            fail_msg("layers/ holds \"%s\": no %s", ls, names[i]);
    if (n != 4)
        fail_msg("layers/ holds \"%s\"", ls);
    assert_null(layer_get(f->ls, DB));
    _cleanup_free_ char *tmpdir = xasprintf("%s/tmp", f->layers);
    _cleanup_free_ char *tmp_ls = tu_listing(tmpdir);
    assert_string_equal(tmp_ls, "");
    _cleanup_free_ char *kept = tu_read(sentinel, NULL);
    assert_string_equal(kept, "keep");
    _cleanup_free_ char *out_ls = tu_listing(outside);
    assert_string_equal(out_ls, "sentinel");
    _cleanup_free_ char *link_now = xasprintf("%s/l/%s", f->layers, got->link);
    assert_true(tu_exists(link_now));
}

static void test_lowerdir_130(void **state)
{
    struct fixture *f = *state;
    char parent[DIGEST_LEN + 1] = "";
    char links[130][LAYER_LINK_LEN + 1];
    for (int i = 0; i < 130; i++) {
        struct layer *l = xcalloc(1, sizeof(*l));
        char text[32];
        snprintf(text, sizeof(text), "layer %d", i);
        digest_buf(text, strlen(text), l->diff_id);
        snprintf(l->parent, sizeof(l->parent), "%s", parent);
        layer_chain_id(parent, l->diff_id, l->chain_id);
        snprintf(l->link, sizeof(l->link), "L%025d", i);
        memcpy(links[i], l->link, sizeof(links[i]));
        l->blobs = json_array();
        assert_ptr_equal(layer_register(f->ls, l), l);
        memcpy(parent, l->chain_id, sizeof(parent));
    }
    _cleanup_free_ char *lower = layer_lowerdir(f->ls, parent);
    assert_true(strlen(lower) < 4096); /* overlay's mount options fit in a page */
    assert_int_equal(strlen(lower), 130 * (2 + LAYER_LINK_LEN) + 129);
    /* top layer first, each "l/<link>" */
    char *p = lower;
    for (int i = 129; i >= 0; i--) {
        assert_memory_equal(p, "l/", 2);
        assert_memory_equal(p + 2, links[i], LAYER_LINK_LEN);
        p += 2 + LAYER_LINK_LEN;
        assert_int_equal(*p, i ? ':' : '\0');
        p++;
    }
    _cleanup_free_ char *none = layer_lowerdir(
        f->ls, "sha256:0000000000000000000000000000000000000000000000000000000000000000");
    assert_string_equal(none, "");
}

static void test_index(void **state)
{
    struct fixture *f = *state;
    struct layer *a = make_layer(f, "", DA, "a", "a");
    struct layer *b = make_layer(f, DA, DB, "b", "b");
    layer_ref(f->ls, DA);
    layer_ref(f->ls, DA);
    layer_ref(f->ls, CAB);
    layer_ref(f->ls, DC); /* unknown: nothing happens */
    assert_int_equal(a->refs, 2);
    assert_int_equal(layer_unref(f->ls, DA), 1);
    struct layer **unused = layer_unused(f->ls);
    assert_null(unused[0]);
    free(unused);
    assert_int_equal(layer_unref(f->ls, CAB), 0);
    assert_int_equal(layer_unref(f->ls, CAB), 0); /* never below zero */
    assert_int_equal(layer_unref(f->ls, DC), 0);
    unused = layer_unused(f->ls);
    assert_ptr_equal(unused[0], b);
    assert_null(unused[1]);
    free(unused);
    /* registering a chain already known returns the known layer and keeps the new one out */
    struct layer *again = xcalloc(1, sizeof(*again));
    memcpy(again->chain_id, DA, sizeof(again->chain_id));
    again->blobs = json_array();
    assert_ptr_equal(layer_register(f->ls, again), a);
    layer_free(again);
    assert_ptr_equal(layer_forget(f->ls, CAB), b);
    assert_null(layer_get(f->ls, CAB));
    assert_null(layer_forget(f->ls, CAB));
    layer_free(b);
}

/* What a deleted layer may hold: read-only directories, unreadable files, fifos, and symlinks
 * to things outside (absolute, relative, to directories) that must not be followed. */
static void fill_hostile_tree(const char *diff, const char *outside)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_free_ char *deep = xasprintf("%s/ro/a/b/c", diff);
    assert_int_equal(fs_mkdir_p(deep, 0755, &err), 0);
    const char *files[] = {"ro/f", "ro/a/f", "ro/a/b/c/f", "plain"};
    for (int i = 0; i < 4; i++) {
        _cleanup_free_ char *p = xasprintf("%s/%s", diff, files[i]);
        tu_write(p, "x", 1);
    }
    _cleanup_free_ char *locked = xasprintf("%s/plain", diff);
    chmod(locked, 0);
    _cleanup_free_ char *fifo = xasprintf("%s/ro/fifo", diff);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    /* (no link to "/": were a regression to follow links, the test must not take the host
     * with it; the links to outside/ catch following just as well) */
    const char *links[][2] = {
        {"ro/abs-dir", outside}, {"ro/a/rel-up", "../../../../../../outside"}, {"dotdot", ".."}};
    for (int i = 0; i < 3; i++) {
        _cleanup_free_ char *p = xasprintf("%s/%s", diff, links[i][0]);
        assert_int_equal(symlink(links[i][1], p), 0);
    }
    _cleanup_free_ char *abs_file = xasprintf("%s/ro/a/abs-file", diff);
    _cleanup_free_ char *target = xasprintf("%s/sentinel", outside);
    assert_int_equal(symlink(target, abs_file), 0);
    const char *ro_dirs[] = {"ro/a/b/c", "ro/a/b", "ro/a", "ro"};
    for (int i = 0; i < 4; i++) {
        _cleanup_free_ char *p = xasprintf("%s/%s", diff, ro_dirs[i]);
        chmod(p, 0555);
    }
}

static void test_trash_and_remove(void **state)
{
    if (!tu_is_root())
        skip(); /* read-only directories hold back anyone else */
    struct fixture *f = *state;
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_free_ char *outside = xasprintf("%s/outside", f->root);
    _cleanup_free_ char *sentinel = xasprintf("%s/sentinel", outside);
    mkdir(outside, 0755);
    tu_write(sentinel, "keep", 4);
    struct layer *l = make_layer(f, "", DA, "hello", "x");
    _cleanup_free_ char *diff = layer_path(f, l, "/diff");
    fill_hostile_tree(diff, outside);
    _cleanup_free_ char *dir = layer_path(f, l, "");
    _cleanup_free_ char *link = xasprintf("%s/l/%s", f->layers, l->link);
    _cleanup_free_ char *trash = NULL;
    assert_int_equal(layer_trash(f->ls, l, &trash, &err), 0);
    _cleanup_free_ char *want = xasprintf("%s/tmp/delete-%s", f->layers, l->link);
    assert_string_equal(trash, want);
    assert_false(tu_exists(dir));
    assert_false(tu_exists(link));
    assert_true(tu_exists(trash));
    int r = layer_rm_tree(trash, &err);
    if (r < 0)
        fail_msg("rm: %s", err->msg);
    assert_false(tu_exists(trash));
    _cleanup_free_ char *kept = tu_read(sentinel, NULL);
    assert_string_equal(kept, "keep");
    _cleanup_free_ char *out_ls = tu_listing(outside);
    assert_string_equal(out_ls, "sentinel");
    _cleanup_free_ char *root_ls = tu_listing(f->root);
    assert_string_equal(root_ls, "layers outside");
    /* gone already: both are no-ops */
    _cleanup_free_ char *again = NULL;
    assert_int_equal(layer_trash(f->ls, l, &again, &err), 0);
    assert_int_equal(layer_rm_tree(again, &err), 0);
    assert_int_equal(layer_rm_tree(trash, &err), 0);
    layer_free(layer_forget(f->ls, DA));
}

struct stop_ev {
    struct reactor_event ev;
    struct reactor *r;
};

static void stop_now(struct reactor_event *ev)
{
    reactor_stop(((struct stop_ev *)ev)->r);
}

/* A losing duplicate is removed by a bulk job, which also frees it (LeakSanitizer checks). */
static void test_discard(void **state)
{
    struct fixture *f = *state;
    struct reactor *r = tu_reactor(NULL);
    assert_non_null(r);
    struct pool *pool = pool_new(r, 1, 1);
    struct layer *l = make_layer(f, "", DA, "hello", "x");
    layer_forget(f->ls, DA);
    _cleanup_free_ char *dir = layer_path(f, l, "");
    _cleanup_free_ char *link = xasprintf("%s/l/%s", f->layers, l->link);
    layer_discard(f->ls, pool, l);
    pool_free(pool); /* runs the job; its completion is posted */
    struct stop_ev st = {.ev = {.fn = stop_now}, .r = r};
    reactor_post(r, &st.ev); /* after the completion: posts run in order */
    assert_true(tu_run(r, 10000));
    reactor_free(r);
    assert_false(tu_exists(dir));
    assert_false(tu_exists(link));
    _cleanup_free_ char *tmpdir = xasprintf("%s/tmp", f->layers);
    _cleanup_free_ char *tmp_ls = tu_listing(tmpdir);
    assert_string_equal(tmp_ls, "");
}

/* ---- durability: files flushed in the background, kept or dropped at start-up ---- */

static char *this_boot(void)
{
    char *text = NULL;
    size_t len;
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(fs_read_file("/proc/sys/kernel/random/boot_id", &text, &len, &err), 0);
    text[strcspn(text, "\n")] = '\0';
    return text;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* layer.json of l rewritten with "Boot" set to boot (NULL: removed), and its synced mark gone:
 * as a crash before the flush would have left it. */
static void unflush(struct fixture *f, const struct layer *l, const char *boot)
{
    _cleanup_free_ char *meta = layer_path(f, l, "/layer.json");
    _cleanup_free_ char *mark = layer_path(f, l, "/synced");
    _cleanup_err_ struct berth_err *err = NULL;
    json_error_t je;
    _cleanup_json_ json_t *j = json_load_file(meta, 0, &je);
    assert_non_null(j);
    if (boot)
        json_object_set_new(j, "Boot", json_string(boot));
    else
        json_object_del(j, "Boot");
    _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
    assert_int_equal(fs_write_atomic(meta, text, strlen(text), 0600, &err), 0);
    unlink(mark);
}

static void test_flushed_in_background(void **state)
{
    struct fixture *f = *state;
    _cleanup_free_ char *boot = this_boot();
    struct layer *l = make_layer(f, "", DA, "a", "a");
    struct layer *top = make_layer(f, DA, DB, "b", "b");
    assert_string_equal(l->boot_id, boot);
    _cleanup_free_ char *meta = layer_path(f, top, "/layer.json");
    _cleanup_free_ char *text = NULL;
    size_t len;
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(fs_read_file(meta, &text, &len, &err), 0);
    _cleanup_free_ char *want = xasprintf("\"Boot\":\"%s\"", boot);
    assert_non_null(strstr(text, want));
    layer_store_flush(f->ls); /* does not wait for the quiet period */
    _cleanup_free_ char *mark = layer_path(f, l, "/synced");
    _cleanup_free_ char *top_mark = layer_path(f, top, "/synced");
    assert_true(exists(mark));
    assert_true(exists(top_mark));
    assert_false(layer_chain_unsynced(f->ls, top->chain_id));
    /* a layer whose parent alone is unflushed counts as unsynced */
    unflush(f, l, boot);
    reopen(f);
    assert_true(layer_chain_unsynced(f->ls, CAB));
    layer_store_flush(f->ls);
    assert_false(layer_chain_unsynced(f->ls, CAB));
    assert_true(exists(mark));
}

/* berthd died before its flush, the machine did not: the files are whole in the page cache. */
static void test_same_boot_kept(void **state)
{
    struct fixture *f = *state;
    _cleanup_free_ char *boot = this_boot();
    struct layer *l = make_layer(f, "", DA, "a", "kept");
    layer_store_flush(f->ls);
    unflush(f, l, boot);
    _cleanup_free_ char *link = xstrdup(l->link);
    reopen(f);
    struct layer *again = layer_get(f->ls, DA);
    assert_non_null(again);
    assert_string_equal(again->link, link);
    layer_store_flush(f->ls);
    _cleanup_free_ char *mark = layer_path(f, again, "/synced");
    assert_true(exists(mark));
}

/* The machine went down before the files were known to be on disk: the layer goes. Layers
 * from before background flushing (no "Boot") were synced at commit and stay. */
static void test_other_boot_dropped(void **state)
{
    struct fixture *f = *state;
    struct layer *lost = make_layer(f, "", DA, "a", "lost");
    struct layer *old = make_layer(f, "", DC, "c", "old");
    layer_store_flush(f->ls);
    unflush(f, lost, "00000000-0000-0000-0000-000000000000");
    unflush(f, old, NULL);
    _cleanup_free_ char *lost_dir = layer_path(f, lost, "");
    reopen(f);
    assert_null(layer_get(f->ls, DA));
    assert_false(exists(lost_dir));
    assert_non_null(layer_get(f->ls, DC));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_ids),
        T(test_commit_and_reopen),
        T(test_open_cleans_up),
        T(test_lowerdir_130),
        T(test_index),
        T(test_trash_and_remove),
        T(test_discard),
        T(test_flushed_in_background),
        T(test_same_boot_kept),
        T(test_other_boot_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
