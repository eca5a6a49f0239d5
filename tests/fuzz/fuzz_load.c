/* tests/fuzz/fuzz_load.c — libFuzzer target for the bodies of docker load and docker import:
 * the input goes, in input-derived chunks, through a reader shaped like the request body's to
 * load_tarball or import_tarball (the first byte picks), into stores on a private temp root
 * that is emptied after every input and removed at exit. Whatever the bytes, the call must
 * return (no hang, no crash, no leak), with words when it fails and results when it does not. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/map.h"
#include "core/pool.h"
#include "core/reactor.h"
#include "core/xalloc.h"
#include "fs/image.h"
#include "fs/image_archive.h"
#include "fs/image_import.h"
#include "fs/layer.h"
#include "fs/store.h"
#include "tests/testutil.h"

/* The body as the pool job sees it: what the client sent, in the pieces the network made. */
struct body {
    const uint8_t *p;
    size_t len, off;
    uint64_t rnd;
};

/* splitmix64: the chunk sizes from the input itself, so an input replays exactly. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static ssize_t body_read(void *ctx, void *buf, size_t cap)
{
    struct body *b = ctx;
    size_t n = b->len - b->off;
    size_t piece = 1 + next_rand(&b->rnd) % 4096;
    n = n < cap ? n : cap;
    n = n < piece ? n : piece;
    memcpy(buf, b->p + b->off, n);
    b->off += n;
    return (ssize_t)n;
}

static char *base; /* the run's temp dir; one root per input below it */
static struct reactor *reactor;
static struct pool *pool;

static void remove_base(void)
{
    tu_rm_rf(base);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    log_set_level(LOG_ERROR); /* a bad archive's warnings are expected, thousands of times */
    /* tmpfs: the layer store's flusher syncs the file system after each commit */
    const char *tmp = getenv("FUZZ_TMP") ? getenv("FUZZ_TMP") : "/dev/shm";
    base = xasprintf("%s/berth-fuzz-load-XXXXXX", tmp);
    struct berth_err *err = NULL;
    if (!mkdtemp(base) || !(reactor = reactor_new(NULL, &err))) {
        fprintf(stderr, "fuzz_load: set-up: %s\n", err ? err->msg : strerror(errno));
        abort();
    }
    atexit(remove_base);
    pool = pool_new(reactor, 1, 1); /* the image store's state file wants one; never used */
    return 0;
}

struct stores {
    char *root;
    struct store *blobs;
    struct layer_store *layers;
    struct image_store *is;
};

static void stores_open(struct stores *s)
{
    struct berth_err *err = NULL;
    static unsigned n;
    s->root = xasprintf("%s/%u", base, n++);
    if (mkdir(s->root, 0700) < 0 || store_open(s->root, &s->blobs, &err) < 0 ||
        layer_store_open(s->root, &s->layers, &err) < 0 ||
        image_store_open(s->root, s->blobs, s->layers, pool, &s->is, &err) < 0) {
        fprintf(stderr, "fuzz_load: open stores in %s: %s\n", s->root, err ? err->msg : "");
        abort();
    }
}

static void stores_close(struct stores *s)
{
    image_store_close(s->is);
    layer_store_close(s->layers);
    store_close(s->blobs);
    tu_rm_rf(s->root);
    free(s->root);
}

/* A failure has words; a success has what it promised. FUZZ_LOAD_VERBOSE=1 shows each outcome
 * (to check the seeds, or replay one input). */
static void check(int rc, const struct berth_err *err, bool made)
{
    if (getenv("FUZZ_LOAD_VERBOSE"))
        fprintf(stderr, "fuzz_load: rc %d: %s\n", rc, rc < 0 && err ? err->msg : "ok");
    if ((rc < 0 && (!err || !err->msg || !*err->msg)) || (rc == 0 && !made)) {
        fprintf(stderr, "fuzz_load: rc %d, err %s, results %d\n", rc,
                err && err->msg ? err->msg : "(none)", made);
        abort();
    }
}

static void run_load(struct stores *s, struct body *b)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct map known = {0};
    struct load_result res = {0};
    int rc = load_tarball(s->is, &known, body_read, b, &res, &err);
    check(rc, err, true); /* an empty manifest.json ([]) loads nothing, rightly */
    load_result_free(&res);
    map_free(&known);
}

static void run_import(struct stores *s, struct body *b)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct layer *layer = NULL;
    struct image *img = NULL;
    struct import_opts o = {
        .src = "-", .os = "linux", .arch = "amd64", .message = "fuzz", .named = false};
    int rc = import_tarball(s->is, body_read, b, &o, &layer, &img, &err);
    check(rc, err, layer && img);
    if (layer)
        layer_free(layer);
    if (img)
        image_free(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct body b = {.p = data + 1, .len = size - 1, .rnd = data[0]};
    struct stores s = {0};
    stores_open(&s);
    if (data[0] & 1)
        run_import(&s, &b);
    else
        run_load(&s, &b);
    stores_close(&s);
    return 0;
}
