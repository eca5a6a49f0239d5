/* tests/fs/test_image.c — fs/image.c and fs/image_delete.c: Docker's lookup (full and short
 * IDs, names, tags, digests, ambiguous prefixes), references made durable through the state
 * file and loaded back, and dockerd's rmi and prune rules (untag versus delete, conflicts with
 * and without force, containers using an image, layers and blobs shared between images). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/json.h"
#include "core/pool.h"
#include "fs/image.h"
#include "core/timefmt.h"
#include "fs/image_delete.h"
#include "tests/testutil.h"

#define DIFF_A   "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DIFF_B   "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DIFF_C   "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define MANIFEST "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define CREATED  1704164645 /* 2024-01-02T03:04:05Z */
#define CTR      "c0ffeec0ffeec0ffeec0ffee"

struct fixture {
    char *root;
    struct reactor *r;
    struct pool *pool;
    struct store *blobs;
    struct layer_store *layers;
    struct image_store *is;
    char chain_a[DIGEST_LEN + 1], chain_ab[DIGEST_LEN + 1], chain_ac[DIGEST_LEN + 1];
    char blob_a[DIGEST_LEN + 1], blob_ab[DIGEST_LEN + 1], blob_ac[DIGEST_LEN + 1];
    struct image_users users; /* who uses which image, for rmi's conflicts */
};

static void open_stores(struct fixture *f)
{
    struct berth_err *err = NULL;
    if (store_open(f->root, &f->blobs, &err) < 0 ||
        layer_store_open(f->root, &f->layers, &err) < 0 ||
        image_store_open(f->root, f->blobs, f->layers, f->pool, &f->is, &err) < 0)
        fail_msg("open: %s", err->msg);
}

static void close_stores(struct fixture *f)
{
    image_store_close(f->is);
    layer_store_close(f->layers);
    store_close(f->blobs);
    f->is = NULL;
    f->layers = NULL;
    f->blobs = NULL;
}

/* A committed layer with one file, its tar kept as a (fake) blob. */
static void add_layer(struct fixture *f, const char *parent, const char *diff, char *chain,
                      char *blob)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_free_ char *tmp = NULL;
    _cleanup_close_ int dfd = -1;
    assert_int_equal(layer_tmp_new(f->layers, &tmp, &dfd, &err), 0);
    _cleanup_close_ int fd = openat(dfd, "file", O_WRONLY | O_CREAT, 0644);
    assert_int_equal(write(fd, diff, 10), 10);
    _cleanup_free_ char *tar = xasprintf("tar of %s", diff);
    assert_int_equal(store_put(f->blobs, tar, strlen(tar), NULL, blob, &err), 0);
    struct layer *l = xcalloc(1, sizeof(*l));
    snprintf(l->diff_id, sizeof(l->diff_id), "%s", diff);
    snprintf(l->parent, sizeof(l->parent), "%s", parent);
    layer_chain_id(parent, diff, l->chain_id);
    l->size = 1000;
    l->blobs = json_array();
    layer_add_blob(l, blob, "application/vnd.oci.image.layer.v1.tar+gzip", strlen(tar), NULL);
    if (layer_commit(f->layers, tmp, l, &err) < 0)
        fail_msg("commit: %s", err->msg);
    assert_ptr_equal(layer_register(f->layers, l), l);
    memcpy(chain, l->chain_id, DIGEST_LEN + 1);
}

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    f->root = tu_tmpdir("image");
    f->r = tu_reactor(NULL);
    if (!f->r)
        return -1;
    f->pool = pool_new(f->r, 1, 1);
    open_stores(f);
    add_layer(f, "", DIFF_A, f->chain_a, f->blob_a);
    add_layer(f, f->chain_a, DIFF_B, f->chain_ab, f->blob_ab);
    add_layer(f, f->chain_a, DIFF_C, f->chain_ac, f->blob_ac);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pool_free(f->pool); /* first: its jobs use the stores */
    close_stores(f);
    reactor_free(f->r);
    tu_rm_rf(f->root);
    free(f->root);
    free(f);
    return 0;
}

/* An image from a config naming the given layers; registered; its ID into id. */
static struct image *add_image(struct fixture *f, const char *comment, const char *labels,
                               const char *const *diffs, char id[DIGEST_LEN + 1])
{
    _cleanup_json_ json_t *ids = json_array();
    for (size_t i = 0; diffs && diffs[i]; i++)
        json_array_append_new(ids, json_string(diffs[i]));
    _cleanup_json_ json_t *labels_j = json_loads(labels ? labels : "{}", 0, NULL);
    _cleanup_json_ json_t *config =
        json_pack("{ss ss ss ss s{sO} s{ss sO}}", "architecture", "amd64", "os", "linux", "created",
                  "2024-01-02T03:04:05Z", "comment", comment, "config", "Labels", labels_j,
                  "rootfs", "type", "layers", "diff_ids", ids);
    _cleanup_free_ char *text = json_dumps(config, JSON_COMPACT);
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(store_put(f->blobs, text, strlen(text), NULL, id, &err), 0);
    struct image *img;
    if (image_load_config(f->is, id, text, strlen(text), &img, &err) < 0)
        fail_msg("load config: %s", err->msg);
    assert_int_equal(image_write(f->is, img, &err), 0);
    assert_ptr_equal(image_register(f->is, img), img);
    return img;
}

static const char *const layers_ab[] = {DIFF_A, DIFF_B, NULL};
static const char *const layers_ac[] = {DIFF_A, DIFF_C, NULL};

/* ---- lookup ---- */

static void expect_found(struct fixture *f, const char *name, const char *id)
{
    struct image *img = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    if (image_find(f->is, name, &img, &err) < 0)
        fail_msg("%s: %s", name, err->msg);
    if (strcmp(img->id, id) != 0)
        fail_msg("%s: found %s, want %s", name, img->id, id);
}

static void expect_missing(struct fixture *f, const char *name)
{
    struct image *img = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    if (image_find(f->is, name, &img, &err) >= 0)
        fail_msg("%s: found %s", name, img->id);
    assert_int_equal(err->status, ENOENT);
    _cleanup_free_ char *want = xasprintf("No such image: %s", name);
    assert_string_equal(err->msg, want);
}

static void test_find(void **state)
{
    struct fixture *f = *state;
    char x[DIGEST_LEN + 1], y[DIGEST_LEN + 1], z[DIGEST_LEN + 1];
    struct image *img = add_image(f, "x", NULL, layers_ab, x);
    assert_int_equal(img->nlayers, 2);
    assert_string_equal(img->layers[0], f->chain_a);
    assert_string_equal(img->layers[1], f->chain_ab);
    assert_int_equal(img->size, 2000);
    assert_int_equal(img->created, CREATED);
    add_image(f, "y", NULL, layers_ac, y);
    image_ref_set(f->is, "docker.io/library/busybox:latest", x);
    image_ref_set(f->is, "docker.io/library/busybox:1.36", x);
    image_ref_set(f->is, "docker.io/library/busybox@" MANIFEST, x);
    image_ref_set(f->is, "registry.example.com/team/app:v1", y);
    assert_int_equal(image_count(f->is), 2);

    expect_found(f, x, x);
    expect_found(f, x + 7, x);
    _cleanup_free_ char *short_id = xstrndup(x + 7, 12);
    _cleanup_free_ char *short_digest = xstrndup(x, 7 + 12);
    expect_found(f, short_id, x);
    expect_found(f, short_digest, x);
    expect_found(f, "busybox", x);
    expect_found(f, "busybox:1.36", x);
    expect_found(f, "library/busybox:latest", x);
    expect_found(f, "docker.io/library/busybox:latest", x);
    expect_found(f, "busybox@" MANIFEST, x);
    expect_found(f, "busybox:whatever@" MANIFEST, x); /* the digest decides */
    expect_found(f, "registry.example.com/team/app:v1", y);
    expect_missing(f, "registry.example.com/team/app"); /* :latest */
    expect_missing(f, "busybox:1.35");
    expect_missing(f, "nosuch");
    expect_missing(f, "sha256:0000000000000000000000000000000000000000000000000000000000000000");
    expect_missing(f, "Invalid Name!");

    /* a name that is also a hex prefix of another image's ID: the reference wins */
    _cleanup_free_ char *hexname = xstrndup(x + 7, 8);
    _cleanup_free_ char *hexref = xasprintf("docker.io/library/%s:latest", hexname);
    image_ref_set(f->is, hexref, y);
    expect_found(f, hexname, y);
    assert_true(image_ref_del(f->is, hexref));
    assert_false(image_ref_del(f->is, hexref));
    expect_found(f, hexname, x);

    /* an ambiguous prefix names no image */
    char first[2] = {x[7], 0};
    for (int i = 0; i < 200; i++) {
        char comment[16];
        snprintf(comment, sizeof(comment), "z%d", i);
        add_image(f, comment, NULL, NULL, z);
        if (z[7] == x[7])
            break;
    }
    assert_int_equal(z[7], x[7]);
    expect_missing(f, first);
    _cleanup_free_ char *ambiguous = xasprintf("sha256:%s", first);
    expect_missing(f, ambiguous);
    expect_found(f, z, z);

    _cleanup_json_ json_t *tags = image_repo_tags(f->is, x);
    _cleanup_json_ json_t *want_tags = json_pack("[ss]", "busybox:1.36", "busybox:latest");
    assert_true(json_equal(tags, want_tags));
    _cleanup_json_ json_t *digests = image_repo_digests(f->is, x);
    _cleanup_json_ json_t *want_digests = json_pack("[s]", "busybox@" MANIFEST);
    assert_true(json_equal(digests, want_digests));
    _cleanup_json_ json_t *y_tags = image_repo_tags(f->is, y);
    assert_string_equal(json_string_value(json_array_get(y_tags, 0)),
                        "registry.example.com/team/app:v1");
    char **named = image_refs_named(f->is, "docker.io/library/busybox");
    assert_string_equal(named[0], "docker.io/library/busybox:1.36");
    assert_string_equal(named[1], "docker.io/library/busybox:latest");
    assert_null(named[2]);
    image_strv_free(named);
    char **of = image_refs_of(f->is, x);
    assert_string_equal(of[0], "docker.io/library/busybox:1.36");
    assert_string_equal(of[1], "docker.io/library/busybox:latest");
    assert_string_equal(of[2], "docker.io/library/busybox@" MANIFEST);
    assert_null(of[3]);
    image_strv_free(of);
    /* an image registered twice: the known one wins, the copy is freed */
    _cleanup_err_ struct berth_err *err = NULL;
    char *config = NULL;
    size_t len;
    assert_int_equal(store_get(f->blobs, x, &config, &len, &err), 0);
    struct image *copy;
    assert_int_equal(image_load_config(f->is, x, config, len, &copy, &err), 0);
    free(config);
    assert_ptr_equal(image_register(f->is, copy), image_get(f->is, x));
    assert_int_equal(layer_get(f->layers, f->chain_a)->refs, 2);
}

/* ---- references on disk ---- */

struct saved {
    struct reactor *r;
    int calls, res;
};

static void on_saved(void *ctx, int res, const struct berth_err *err)
{
    struct saved *s = ctx;
    (void)err;
    s->calls++;
    s->res = res;
    reactor_stop(s->r);
}

static void save_refs(struct fixture *f)
{
    struct saved s = {.r = f->r, .res = -1};
    image_refs_save(f->is, on_saved, &s);
    assert_true(tu_run(f->r, 10000));
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.res, 0);
}

static void test_refs_persist(void **state)
{
    struct fixture *f = *state;
    char x[DIGEST_LEN + 1], y[DIGEST_LEN + 1];
    add_image(f, "x", NULL, layers_ab, x);
    add_image(f, "y", NULL, layers_ac, y);
    image_ref_set(f->is, "docker.io/library/busybox:latest", x);
    image_ref_set(f->is, "docker.io/library/busybox@" MANIFEST, x);
    image_ref_set(f->is, "localhost:5000/app:v1", y);
    save_refs(f);
    _cleanup_free_ char *path = xasprintf("%s/repositories.json", f->root);
    json_error_t je;
    _cleanup_json_ json_t *doc = json_load_file(path, 0, &je);
    assert_non_null(doc);
    json_t *repo =
        json_object_get(json_object_get(doc, "Repositories"), "docker.io/library/busybox");
    assert_string_equal(json_get_str(repo, "docker.io/library/busybox:latest"), x);
    assert_string_equal(json_get_str(repo, "docker.io/library/busybox@" MANIFEST), x);
    /* a reference to an image that is not there is dropped at load */
    json_object_set_new(
        json_object_get(doc, "Repositories"), "docker.io/library/ghost",
        json_pack("{ss}", "docker.io/library/ghost:latest",
                  "sha256:0000000000000000000000000000000000000000000000000000000000000000"));
    assert_int_equal(json_dump_file(doc, path, 0), 0);

    close_stores(f);
    open_stores(f);
    assert_int_equal(image_count(f->is), 2);
    assert_string_equal(image_ref_target(f->is, "docker.io/library/busybox:latest"), x);
    assert_string_equal(image_ref_target(f->is, "docker.io/library/busybox@" MANIFEST), x);
    assert_string_equal(image_ref_target(f->is, "localhost:5000/app:v1"), y);
    assert_null(image_ref_target(f->is, "docker.io/library/ghost:latest"));
    struct image *img = image_get(f->is, x);
    assert_non_null(img);
    assert_int_equal(img->nlayers, 2);
    assert_int_equal(img->size, 2000);
    assert_int_equal(img->created, CREATED);
    assert_int_equal(layer_get(f->layers, f->chain_a)->refs, 2);
    assert_int_equal(layer_get(f->layers, f->chain_ab)->refs, 1);
    expect_found(f, "busybox", x);

    /* an image whose layer went missing is skipped at load */
    struct layer *ac = layer_get(f->layers, f->chain_ac);
    _cleanup_free_ char *ac_dir = xasprintf("%s/layers/%s", f->root, ac->link);
    tu_rm_rf(ac_dir);
    close_stores(f);
    open_stores(f);
    assert_int_equal(image_count(f->is), 1);
    assert_null(image_get(f->is, y));
    assert_null(image_ref_target(f->is, "localhost:5000/app:v1"));
}

/* ---- rmi ---- */

static json_t *records(const char *json)
{
    json_error_t je;
    json_t *j = json_loads(json, 0, &je);
    if (!j)
        fail_msg("bad expectation %s: %s", json, je.text);
    return j;
}

/* The records as dockerd's reply lists them, to compare with an expectation. */
static json_t *records_json(const struct image_record *records, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            list, json_pack("{ss}", records[i].kind == IMAGE_UNTAGGED ? "Untagged" : "Deleted",
                            records[i].what));
    return list;
}

static void expect_records(struct image_change *ch, json_t *want)
{
    _cleanup_json_ json_t *have = records_json(ch->records, ch->nrecords);
    if (!json_equal(have, want)) {
        _cleanup_free_ char *got = json_dumps(have, JSON_COMPACT);
        _cleanup_free_ char *w = json_dumps(want, JSON_COMPACT);
        fail_msg("records %s\n  want %s", got, w);
    }
    json_decref(want);
}

static void expect_conflict(struct fixture *f, const char *name, bool force, const char *msg)
{
    struct image_change ch = {.users = f->users};
    _cleanup_err_ struct berth_err *err = NULL;
    int r = image_delete(f->is, name, force, false, &ch, &err);
    if (r >= 0)
        fail_msg("rmi %s%s: no conflict", force ? "-f " : "", name);
    assert_int_equal(r, -EBUSY - 1);
    assert_int_equal(err->status, EBUSY);
    if (strcmp(err->msg, msg) != 0)
        fail_msg("rmi %s: \"%s\"\n  want \"%s\"", name, err->msg, msg);
    assert_null(ch.records);
    assert_int_equal(ch.ndeleted, 0);
    assert_false(ch.refs_changed);
    image_change_free(&ch);
}

static void test_rmi_untag_one_of_two(void **state)
{
    struct fixture *f = *state;
    char x[DIGEST_LEN + 1];
    add_image(f, "x", NULL, layers_ab, x);
    image_ref_set(f->is, "docker.io/library/busybox:latest", x);
    image_ref_set(f->is, "docker.io/library/busybox:1.36", x);
    struct image_change ch = {.users = f->users};
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(image_delete(f->is, "busybox:1.36", false, false, &ch, &err), 0);
    expect_records(&ch, records("[{\"Untagged\":\"busybox:1.36\"}]"));
    assert_true(ch.refs_changed);
    assert_int_equal(ch.ndeleted, 0);
    assert_int_equal(ch.nlayers, 0);
    assert_non_null(image_get(f->is, x));
    assert_null(image_ref_target(f->is, "docker.io/library/busybox:1.36"));
    assert_string_equal(image_ref_target(f->is, "docker.io/library/busybox:latest"), x);
    image_change_free(&ch);
    /* a tag no longer there */
    assert_int_equal(image_delete(f->is, "busybox:1.36", false, false, &ch, &err), -ENOENT - 1);
    assert_string_equal(err->msg, "No such image: busybox:1.36");
    image_change_free(&ch);
}

static void test_rmi_by_id_with_one_tag(void **state)
{
    struct fixture *f = *state;
    char x[DIGEST_LEN + 1];
    add_image(f, "x", NULL, layers_ab, x);
    image_ref_set(f->is, "registry.example.com/team/app:v1", x);
    image_ref_set(f->is, "registry.example.com/team/app@" MANIFEST, x);
    struct image_change ch = {.users = f->users};
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_free_ char *short_id = xstrndup(x + 7, 12);
    assert_int_equal(image_delete(f->is, short_id, false, false, &ch, &err), 0);
    _cleanup_free_ char *want =
        xasprintf("[{\"Untagged\":\"registry.example.com/team/app:v1\"},"
                  "{\"Untagged\":\"registry.example.com/team/app@" MANIFEST "\"},"
                  "{\"Deleted\":\"%s\"},{\"Deleted\":\"%s\"},{\"Deleted\":\"%s\"}]",
                  x, f->chain_ab, f->chain_a);
    expect_records(&ch, records(want));
    assert_null(image_get(f->is, x));
    assert_int_equal(image_count(f->is), 0);
    assert_int_equal(ch.ndeleted, 1);
    assert_string_equal(ch.deleted_ids[0], x);
    assert_int_equal(ch.nlayers, 2);
    assert_null(layer_get(f->layers, f->chain_a));
    assert_int_equal(ch.reclaimed, 2000);
    image_change_free(&ch);
}

static void test_rmi_conflict_and_force(void **state)
{
    struct fixture *f = *state;
    char x[DIGEST_LEN + 1];
    add_image(f, "x", NULL, layers_ab, x);
    image_ref_set(f->is, "docker.io/library/a:1", x);
    image_ref_set(f->is, "docker.io/library/b:1", x);
    _cleanup_free_ char *short_id = xstrndup(x + 7, 12);
    _cleanup_free_ char *msg = xasprintf("conflict: unable to delete %s (must be forced) - image "
                                         "is referenced in multiple repositories",
                                         short_id);
    expect_conflict(f, short_id, false, msg);
    expect_conflict(f, x, false, msg);
    assert_non_null(image_get(f->is, x));
    assert_string_equal(image_ref_target(f->is, "docker.io/library/a:1"), x);
    assert_string_equal(image_ref_target(f->is, "docker.io/library/b:1"), x);
    /* two tags in one repository are not "a single reference" either */
    struct image_change ch = {.users = f->users};
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(image_delete(f->is, x, true, false, &ch, &err), 0);
    _cleanup_free_ char *want = xasprintf(
        "[{\"Untagged\":\"a:1\"},{\"Untagged\":\"b:1\"},{\"Deleted\":\"%s\"},{\"Deleted\":\"%s\"},"
        "{\"Deleted\":\"%s\"}]",
        x, f->chain_ab, f->chain_a);
    expect_records(&ch, records(want));
    assert_null(image_get(f->is, x));
    assert_null(image_ref_target(f->is, "docker.io/library/a:1"));
    image_change_free(&ch);
}

/* ---- containers using an image ---- */

struct user {
    const char *image_id;
    bool running;
};

static const char *image_user(void *arg, const char *image_id, bool *running)
{
    struct user *u = arg;
    if (!u->image_id || strcmp(u->image_id, image_id) != 0)
        return NULL;
    *running = u->running;
    return CTR;
}

static void test_rmi_used_by_containers(void **state)
{
    struct fixture *f = *state;
    char x[DIGEST_LEN + 1];
    add_image(f, "x", NULL, layers_ab, x);
    struct user u = {.image_id = x};
    f->users = (struct image_users){.fn = image_user, .arg = &u};
    _cleanup_free_ char *hex12 = xstrndup(x + 7, 12);

    /* its only tag, with the digest reference a pull leaves: still "a single reference" */
    image_ref_set(f->is, "docker.io/library/u:1", x);
    image_ref_set(f->is, "docker.io/library/u@" MANIFEST, x);
    _cleanup_free_ char *by_ref = xasprintf(
        "conflict: unable to remove repository reference \"u:1\" (must force) - container "
        "c0ffeec0ffee is using its referenced image %s",
        hex12);
    expect_conflict(f, "u:1", false, by_ref);
    assert_string_equal(image_ref_target(f->is, "docker.io/library/u:1"), x);
    assert_string_equal(image_ref_target(f->is, "docker.io/library/u@" MANIFEST), x);
    image_ref_del(f->is, "docker.io/library/u@" MANIFEST);
    expect_conflict(f, "u:1", false, by_ref);
    _cleanup_free_ char *stopped =
        xasprintf("conflict: unable to delete %s (must be forced) - image is being used by stopped "
                  "container c0ffeec0ffee",
                  hex12);
    expect_conflict(f, hex12, false, stopped);

    /* with another name, untagging one is fine */
    image_ref_set(f->is, "docker.io/library/v:1", x);
    struct image_change ch = {.users = f->users};
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(image_delete(f->is, "v:1", false, false, &ch, &err), 0);
    expect_records(&ch, records("[{\"Untagged\":\"v:1\"}]"));
    image_change_free(&ch);

    /* a running container: not even with force */
    u.running = true;
    _cleanup_free_ char *running = xasprintf(
        "conflict: unable to delete %s (cannot be forced) - image is being used by running "
        "container c0ffeec0ffee",
        hex12);
    expect_conflict(f, hex12, true, running);
    /* dockerd's order: the running container is named before the other references */
    expect_conflict(f, hex12, false, running);
    image_ref_set(f->is, "docker.io/library/w:1", x);
    expect_conflict(f, hex12, false, running);
    image_ref_del(f->is, "docker.io/library/w:1");
    /* rmi -f of its last tag untags and keeps the image (dockerd's "quiet" conflict) */
    assert_int_equal(image_delete(f->is, "u:1", true, false, &ch, &err), 0);
    expect_records(&ch, records("[{\"Untagged\":\"u:1\"}]"));
    assert_non_null(image_get(f->is, x));
    image_change_free(&ch);

    /* stopped, forced: deleted */
    u.running = false;
    assert_int_equal(image_delete(f->is, hex12, true, false, &ch, &err), 0);
    assert_null(image_get(f->is, x));
    image_change_free(&ch);
}

/* ---- applying a change: shared layers and blobs ---- */

struct applied {
    struct reactor *r;
    int calls, res;
    char *records;
};

static void on_applied(void *ctx, int res, const struct image_record *records, size_t n,
                       uint64_t reclaimed, const struct berth_err *err)
{
    struct applied *a = ctx;
    (void)err, (void)reclaimed;
    a->calls++;
    a->res = res;
    _cleanup_json_ json_t *list = records_json(records, n);
    a->records = json_dumps(list, JSON_COMPACT);
    reactor_stop(a->r);
}

struct tmp_watch {
    struct reactor_timer t;
    struct reactor *r;
    char *dir;
};

static void check_tmp_empty(struct reactor_timer *t)
{
    struct tmp_watch *w = (struct tmp_watch *)t;
    _cleanup_free_ char *ls = tu_listing(w->dir);
    if (ls && !*ls)
        reactor_stop(w->r);
    else
        reactor_timer_start(w->r, t, 1);
}

static void apply(struct fixture *f, struct image_change *ch)
{
    struct applied a = {.r = f->r, .res = -1};
    image_change_apply(f->is, f->pool, ch, on_applied, &a);
    assert_true(tu_run(f->r, 10000));
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.res, 0);
    free(a.records);
    /* the trashed trees go in a bulk job after done: wait until layers/tmp is empty */
    struct tmp_watch w = {.t = {.fn = check_tmp_empty}, .r = f->r};
    w.dir = xasprintf("%s/layers/tmp", f->root);
    reactor_timer_start(f->r, &w.t, 0);
    bool ok = tu_run(f->r, 10000);
    reactor_timer_stop(f->r, &w.t);
    free(w.dir);
    assert_true(ok);
}

static void test_shared_layers(void **state)
{
    struct fixture *f = *state;
    char p[DIGEST_LEN + 1], q[DIGEST_LEN + 1];
    add_image(f, "p", NULL, layers_ab, p);
    add_image(f, "q", NULL, layers_ac, q);
    image_ref_set(f->is, "docker.io/library/p:latest", p);
    image_ref_set(f->is, "docker.io/library/q:latest", q);
    struct layer *a = layer_get(f->layers, f->chain_a), *ab = layer_get(f->layers, f->chain_ab);
    _cleanup_free_ char *a_dir = xasprintf("%s/layers/%s", f->root, a->link);
    _cleanup_free_ char *ab_dir = xasprintf("%s/layers/%s", f->root, ab->link);
    _cleanup_free_ char *p_meta = xasprintf("%s/images/%s.json", f->root, p + 7);
    assert_true(tu_exists(p_meta));

    struct image_change ch = {.users = f->users};
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(image_delete(f->is, "p", false, false, &ch, &err), 0);
    _cleanup_free_ char *want = xasprintf(
        "[{\"Untagged\":\"p:latest\"},{\"Deleted\":\"%s\"},{\"Deleted\":\"%s\"}]", p, f->chain_ab);
    expect_records(&ch, records(want));
    assert_int_equal(ch.nlayers, 1);
    assert_ptr_equal(ch.layers[0], ab);
    assert_int_equal(layer_get(f->layers, f->chain_a)->refs, 1); /* q still uses it */
    apply(f, &ch);
    assert_false(tu_exists(p_meta));
    assert_false(tu_exists(ab_dir));
    assert_true(tu_exists(a_dir));
    assert_false(store_has(f->blobs, p));          /* p's config */
    assert_false(store_has(f->blobs, f->blob_ab)); /* the tar of the layer that went */
    assert_true(store_has(f->blobs, f->blob_a));
    assert_true(store_has(f->blobs, f->blob_ac));
    assert_true(store_has(f->blobs, q));
    _cleanup_free_ char *p_blob = store_blob_path(f->blobs, p);
    assert_false(tu_exists(p_blob));

    /* the references reached the disk: a reopen agrees */
    close_stores(f);
    open_stores(f);
    assert_null(image_get(f->is, p));
    assert_non_null(image_get(f->is, q));
    assert_null(image_ref_target(f->is, "docker.io/library/p:latest"));
    assert_string_equal(image_ref_target(f->is, "docker.io/library/q:latest"), q);
    assert_null(layer_get(f->layers, f->chain_ab));

    assert_int_equal(image_delete(f->is, "q", false, false, &ch, &err), 0);
    assert_int_equal(ch.nlayers, 2);
    apply(f, &ch);
    assert_false(tu_exists(a_dir));
    assert_false(store_has(f->blobs, f->blob_a));
    assert_int_equal(image_count(f->is), 0);
    _cleanup_free_ char *ls = xasprintf("%s/layers", f->root);
    _cleanup_free_ char *left = tu_listing(ls);
    assert_string_equal(left, "l tmp");
}

/* ---- prune ---- */

static void test_prune(void **state)
{
    struct fixture *f = *state;
    char dangling[DIGEST_LEN + 1], tagged[DIGEST_LEN + 1], digest_only[DIGEST_LEN + 1],
        used[DIGEST_LEN + 1], labelled[DIGEST_LEN + 1];
    add_image(f, "dangling", NULL, layers_ab, dangling);
    add_image(f, "tagged", NULL, layers_ac, tagged);
    add_image(f, "digest-only", NULL, NULL, digest_only);
    add_image(f, "used", NULL, NULL, used);
    add_image(f, "labelled", "{\"keep\":\"no\"}", NULL, labelled);
    image_ref_set(f->is, "docker.io/library/tagged:1", tagged);
    image_ref_set(f->is, "docker.io/library/pulled@" MANIFEST, digest_only);
    struct user u = {.image_id = used};
    f->users = (struct image_users){.fn = image_user, .arg = &u};

    struct image_change ch = {.users = f->users};
    /* every image here was created at 2024-01-02T03:04:05Z: an earlier `until` takes none */
    struct prune_match m = {.has_until = true,
                            .until = time_parse_rfc3339("2024-01-02T03:04:04.999Z")};
    _cleanup_json_ json_t *filters = json_pack("[s]", "keep=no");
    label_match_init(&m.labels, filters, NULL);
    image_prune(f->is, false, &m, &ch);
    assert_int_equal(image_count(f->is), 5);
    image_change_free(&ch);
    m.until = time_parse_rfc3339("2024-01-02T03:04:05Z"); /* at `until` is not after it */
    image_prune(f->is, false, &m, &ch);
    assert_null(image_get(f->is, labelled));
    assert_int_equal(image_count(f->is), 4);
    image_change_free(&ch);
    prune_match_free(&m);

    image_prune(f->is, false, NULL, &ch); /* dangling only: no tag */
    assert_null(image_get(f->is, dangling));
    assert_null(image_get(f->is, digest_only));
    assert_non_null(image_get(f->is, tagged));
    assert_non_null(image_get(f->is, used)); /* a container uses it */
    assert_int_equal(image_count(f->is), 2);
    assert_null(layer_get(f->layers, f->chain_ab));
    assert_non_null(layer_get(f->layers, f->chain_a));
    image_change_free(&ch);

    image_prune(f->is, true, NULL, &ch); /* all: every image no container uses */
    assert_null(image_get(f->is, tagged));
    assert_non_null(image_get(f->is, used));
    assert_int_equal(image_count(f->is), 1);
    assert_null(image_ref_target(f->is, "docker.io/library/tagged:1"));
    image_change_free(&ch);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_find),
        T(test_refs_persist),
        T(test_rmi_untag_one_of_two),
        T(test_rmi_by_id_with_one_tag),
        T(test_rmi_conflict_and_force),
        T(test_rmi_used_by_containers),
        T(test_shared_layers),
        T(test_prune),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
