/* tests/fs/test_decompress.c — fs/decompress.c: gzip (igzip), zstd and none, each way, in
 * tiny and odd chunk sizes; streams made by zlib/libzstd (through libarchive) decode, and ours
 * decode with them; several gzip members; corrupt data is EINVAL; a stream cut anywhere is
 * never "finished"; detection by magic and by media type. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "core/macros.h"
#include "fs/decompress.h"
#include "fs/manifest.h"
#include "tests/fs/tarutil.h"

static const unsigned char hello_gz[] = {/* printf 'hello\n' | gzip -n */
                                         0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                         0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xe7, 0x02, 0x00,
                                         0x20, 0x30, 0x3a, 0x36, 0x06, 0x00, 0x00, 0x00};
static const unsigned char hello_zst[] = {/* printf 'hello\n' | zstd */
                                          0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0x31,
                                          0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
                                          0x0a, 0x53, 0x88, 0xbd, 0x91};

/* Compressible but not trivial: runs, text and noise. */
static unsigned char *sample(size_t n)
{
    unsigned char *p = xmalloc(n ? n : 1);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        size_t zone = (i / 4096) % 3;
        p[i] = zone == 0   ? (unsigned char)"layer data "[i % 11]
               : zone == 1 ? (unsigned char)(x & 0xff)
                           : 0;
    }
    return p;
}

struct result {
    struct buf out;
    bool finished;
    int ended; /* times run returned 1 */
    int rc;
    struct berth_err *err;
};

static void result_free(struct result *r)
{
    buf_free(&r->out);
    berth_err_free(r->err);
}

/* Feed in pieces of in_chunk with out_chunk room each call, then drain with no input. A call
 * that neither takes input nor makes output while input waits is a stall: fail. */
static void decompress(enum compression c, const void *in, size_t n, size_t in_chunk,
                       size_t out_chunk, struct result *res)
{
    memset(res, 0, sizeof(*res));
    struct decompressor *d = decompressor_new(c);
    unsigned char *out = xmalloc(out_chunk);
    const unsigned char *p = in;
    size_t off = 0;
    int stalls = 0;
    for (;;) {
        size_t avail = n - off < in_chunk ? n - off : in_chunk, used, made;
        int r = decompressor_run(d, p + off, avail, &used, out, out_chunk, &made, &res->err);
        if (r < 0) {
            res->rc = r;
            break;
        }
        assert_true(used <= avail && made <= out_chunk);
        buf_append(&res->out, out, made);
        off += used;
        res->ended += r == 1;
        if (off == n && avail == 0 && made == 0)
            break; /* drained: nothing more comes out without input */
        stalls = used == 0 && made == 0 && avail > 0 ? stalls + 1 : 0;
        if (stalls > 2)
            fail_msg("%s: stalled at input %zu of %zu", compression_name(c), off, n);
    }
    res->finished = decompressor_finished(d);
    decompressor_free(d);
    free(out);
}

static void compress(enum compression c, const void *in, size_t n, size_t in_chunk,
                     size_t out_chunk, struct buf *res)
{
    memset(res, 0, sizeof(*res));
    struct compressor *z = compressor_new(c);
    unsigned char *out = xmalloc(out_chunk);
    const unsigned char *p = in;
    size_t off = 0;
    _cleanup_err_ struct berth_err *err = NULL;
    for (int done = 0, stalls = 0; !done;) {
        size_t avail = n - off < in_chunk ? n - off : in_chunk, used, made;
        bool finish = off + avail == n;
        done = compressor_run(z, p + off, avail, &used, out, out_chunk, &made, finish, &err);
        assert_true(done >= 0);
        buf_append(res, out, made);
        off += used;
        stalls = used == 0 && made == 0 ? stalls + 1 : 0;
        if (stalls > 2)
            fail_msg("%s: compressor stalled at %zu of %zu", compression_name(c), off, n);
    }
    assert_int_equal(off, n);
    compressor_free(z);
    free(out);
}

static void test_known_streams(void **state)
{
    (void)state;
    struct result r;
    decompress(COMPRESSION_GZIP, hello_gz, sizeof(hello_gz), 4096, 4096, &r);
    assert_int_equal(r.rc, 0);
    assert_true(r.finished);
    assert_int_equal(r.out.len, 6);
    assert_memory_equal(r.out.data, "hello\n", 6);
    result_free(&r);
    decompress(COMPRESSION_ZSTD, hello_zst, sizeof(hello_zst), 1, 1, &r);
    assert_int_equal(r.rc, 0);
    assert_true(r.finished);
    assert_int_equal(r.out.len, 6);
    assert_memory_equal(r.out.data, "hello\n", 6);
    result_free(&r);
}

/* Every pairing of piece sizes, both directions, for each compression; what we compress is
 * also read back by zlib/libzstd, and what they compress is read back by us. */
static void test_round_trips(void **state)
{
    (void)state;
    static const size_t ins[] = {1, 3, 1000, 65537, SIZE_MAX};
    static const size_t outs[] = {1, 5, 4096, 1u << 20};
    static const enum compression cs[] = {COMPRESSION_GZIP, COMPRESSION_ZSTD, COMPRESSION_NONE};
    for (size_t ci = 0; ci < 3; ci++) {
        for (size_t i = 0; i < ARRAY_SIZE(ins); i++) {
            for (size_t o = 0; o < ARRAY_SIZE(outs); o++) {
                size_t n = ins[i] < 16 || outs[o] < 16 ? 20000 : 3u << 20;
                unsigned char *data = sample(n);
                struct buf packed, theirs = {0}, ref = {0};
                compress(cs[ci], data, n, ins[i], outs[o], &packed);
                if (cs[ci] == COMPRESSION_NONE)
                    assert_true(packed.len == n);
                else
                    assert_true(packed.len < n);
                assert_true(tar_decompress(packed.data, packed.len, &theirs));
                assert_int_equal(theirs.len, n);
                assert_memory_equal(theirs.data, data, n);
                struct result r;
                decompress(cs[ci], packed.data, packed.len, ins[i], outs[o], &r);
                if (r.rc != 0 || r.out.len != n || memcmp(r.out.data, data, n) != 0 || !r.finished)
                    fail_msg("%s in %zu out %zu: rc %d, %zu of %zu bytes, finished %d",
                             compression_name(cs[ci]), ins[i], outs[o], r.rc, r.out.len, n,
                             r.finished);
                result_free(&r);
                tar_compress(cs[ci], data, n, &ref);
                decompress(cs[ci], ref.data, ref.len, ins[i], outs[o], &r);
                assert_int_equal(r.rc, 0);
                assert_true(r.finished);
                assert_int_equal(r.out.len, n);
                assert_memory_equal(r.out.data, data, n);
                result_free(&r);
                buf_free(&packed);
                buf_free(&theirs);
                buf_free(&ref);
                free(data);
            }
        }
    }
}

static void test_empty_streams(void **state)
{
    (void)state;
    static const enum compression cs[] = {COMPRESSION_GZIP, COMPRESSION_ZSTD, COMPRESSION_NONE};
    for (size_t ci = 0; ci < 3; ci++) {
        struct buf packed;
        compress(cs[ci], "", 0, 4096, 4096, &packed);
        assert_true(cs[ci] == COMPRESSION_NONE ? packed.len == 0 : packed.len > 0);
        struct result r;
        decompress(cs[ci], packed.data, packed.len, 4096, 4096, &r);
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.out.len, 0);
        assert_true(r.finished);
        result_free(&r);
        buf_free(&packed);
    }
    /* no bytes at all: only "none" may end there */
    struct decompressor *d = decompressor_new(COMPRESSION_GZIP);
    assert_false(decompressor_finished(d));
    decompressor_free(d);
    d = decompressor_new(COMPRESSION_ZSTD);
    assert_false(decompressor_finished(d));
    decompressor_free(d);
    d = decompressor_new(COMPRESSION_NONE);
    assert_true(decompressor_finished(d));
    decompressor_free(d);
}

/* Go's gzip reader (so dockerd) reads concatenated members as one stream; so must we. */
static void test_gzip_members(void **state)
{
    (void)state;
    size_t n = 300000;
    unsigned char *data = sample(n);
    struct buf a = {0}, b = {0}, all = {0};
    tar_compress(COMPRESSION_GZIP, data, 100000, &a);
    tar_compress(COMPRESSION_GZIP, data + 100000, n - 100000, &b);
    buf_append(&all, a.data, a.len);
    buf_append(&all, hello_gz, sizeof(hello_gz));
    buf_append(&all, b.data, b.len);
    static const size_t pieces[] = {1, 7, 4096, SIZE_MAX};
    for (size_t i = 0; i < 4; i++) {
        struct result r;
        decompress(COMPRESSION_GZIP, all.data, all.len, pieces[i], pieces[i] < 8 ? 3 : 65536, &r);
        assert_int_equal(r.rc, 0);
        assert_true(r.finished);
        assert_int_equal(r.out.len, n + 6);
        assert_memory_equal(r.out.data, data, 100000);
        assert_memory_equal(r.out.data + 100000, "hello\n", 6);
        assert_memory_equal(r.out.data + 100006, data + 100000, n - 100000);
        result_free(&r);
    }
    /* the same with zstd frames */
    struct buf za = {0}, zb = {0}, zall = {0};
    tar_compress(COMPRESSION_ZSTD, data, 100000, &za);
    tar_compress(COMPRESSION_ZSTD, data + 100000, n - 100000, &zb);
    buf_append(&zall, za.data, za.len);
    buf_append(&zall, zb.data, zb.len);
    struct result r;
    decompress(COMPRESSION_ZSTD, zall.data, zall.len, 999, 4096, &r);
    assert_int_equal(r.rc, 0);
    assert_true(r.finished);
    assert_int_equal(r.out.len, n);
    assert_memory_equal(r.out.data, data, n);
    result_free(&r);
    buf_free(&a);
    buf_free(&b);
    buf_free(&all);
    buf_free(&za);
    buf_free(&zb);
    buf_free(&zall);
    free(data);
}

/* Cut anywhere short of the end, a stream is never finished; whatever came out is a prefix. */
static void test_truncation(void **state)
{
    (void)state;
    size_t n = 5000;
    unsigned char *data = sample(n);
    static const enum compression cs[] = {COMPRESSION_GZIP, COMPRESSION_ZSTD};
    for (size_t ci = 0; ci < 2; ci++) {
        struct buf packed = {0}, two = {0};
        tar_compress(cs[ci], data, n, &packed);
        buf_append(&two, packed.data, packed.len);
        buf_append(&two, packed.data, packed.len);
        for (size_t cut = 0; cut < two.len; cut++) {
            if (cut == packed.len)
                continue; /* a whole first member or frame: a clean end */
            struct result r;
            decompress(cs[ci], two.data, cut, 1 + cut % 300, 1 + cut % 4096, &r);
            if (r.finished || r.out.len > 2 * n)
                fail_msg("%s cut at %zu of %zu: finished %d, %zu bytes", compression_name(cs[ci]),
                         cut, two.len, r.finished, r.out.len);
            for (size_t i = 0; i < r.out.len; i++)
                if (r.out.data[i] != (char)data[i % n])
                    fail_msg("%s cut at %zu: byte %zu differs", compression_name(cs[ci]), cut, i);
            result_free(&r);
        }
        struct result r;
        decompress(cs[ci], two.data, two.len, 333, 4096, &r);
        assert_true(r.finished);
        assert_int_equal(r.out.len, 2 * n);
        result_free(&r);
        buf_free(&packed);
        buf_free(&two);
    }
    free(data);
}

static void expect_corrupt(enum compression c, const void *in, size_t n, const char *what)
{
    struct result r;
    decompress(c, in, n, 4096, 65536, &r);
    if (r.rc >= 0)
        fail_msg("%s: %s decoded (%zu bytes, finished %d)", compression_name(c), what, r.out.len,
                 r.finished);
    assert_non_null(r.err);
    assert_int_equal(r.err->status, EINVAL);
    assert_int_equal(r.rc, -EINVAL - 1);
    assert_non_null(strstr(r.err->msg, compression_name(c)));
    result_free(&r);
}

static void test_corrupt(void **state)
{
    (void)state;
    size_t n = 100000;
    unsigned char *data = sample(n);
    struct buf gz = {0}, zs = {0};
    tar_compress(COMPRESSION_GZIP, data, n, &gz);
    tar_compress(COMPRESSION_ZSTD, data, n, &zs);

    unsigned char *bad = xmalloc(gz.len + 8);
    memcpy(bad, gz.data, gz.len);
    bad[2] = 7; /* not deflate */
    expect_corrupt(COMPRESSION_GZIP, bad, gz.len, "unknown method");
    memcpy(bad, gz.data, gz.len);
    bad[gz.len - 6] ^= 0xff; /* CRC-32 */
    expect_corrupt(COMPRESSION_GZIP, bad, gz.len, "bad CRC");
    memcpy(bad, gz.data, gz.len);
    bad[gz.len - 2] ^= 0x01; /* ISIZE */
    expect_corrupt(COMPRESSION_GZIP, bad, gz.len, "bad length");
    memcpy(bad, gz.data, gz.len);
    memset(bad + 10, 0xff, 16); /* reserved block type 3 */
    expect_corrupt(COMPRESSION_GZIP, bad, gz.len, "bad block");
    free(bad);
    /* after a member only another member may follow: garbage is corrupt once there is a
     * header's worth of it, and a stream cut short before that */
    bad = xmalloc(gz.len + 16);
    memcpy(bad, gz.data, gz.len);
    memcpy(bad + gz.len, "garbage!garbage!", 16);
    expect_corrupt(COMPRESSION_GZIP, bad, gz.len + 16, "trailing garbage");
    struct result r;
    decompress(COMPRESSION_GZIP, bad, gz.len + 8, 4096, 65536, &r);
    assert_false(r.finished);
    result_free(&r);
    free(bad);

    bad = xmalloc(zs.len);
    memcpy(bad, zs.data, zs.len);
    bad[zs.len / 2] ^= 0x55;
    bad[zs.len / 2 + 1] ^= 0xaa;
    bad[zs.len - 1] ^= 0xff; /* the content checksum, at least, no longer matches */
    expect_corrupt(COMPRESSION_ZSTD, bad, zs.len, "flipped bytes");
    memcpy(bad, zs.data, zs.len);
    bad[4] = 0xff; /* reserved frame header bit */
    expect_corrupt(COMPRESSION_ZSTD, bad, zs.len, "bad frame header");
    free(bad);
    expect_corrupt(COMPRESSION_ZSTD, "this is not zstd", 16, "plain text");
    expect_corrupt(COMPRESSION_GZIP, "this is not gzip", 16, "plain text");
    buf_free(&gz);
    buf_free(&zs);
    free(data);
}

static void test_detect(void **state)
{
    (void)state;
    assert_int_equal(compression_detect(hello_gz, sizeof(hello_gz)), COMPRESSION_GZIP);
    assert_int_equal(compression_detect(hello_gz, 2), COMPRESSION_GZIP);
    assert_int_equal(compression_detect(hello_gz, 1), COMPRESSION_NONE);
    assert_int_equal(compression_detect(hello_zst, sizeof(hello_zst)), COMPRESSION_ZSTD);
    assert_int_equal(compression_detect(hello_zst, 4), COMPRESSION_ZSTD);
    assert_int_equal(compression_detect(hello_zst, 3), COMPRESSION_NONE);
    assert_int_equal(compression_detect("", 0), COMPRESSION_NONE);
    assert_int_equal(compression_detect("ustar\0", 6), COMPRESSION_NONE);
    assert_int_equal(compression_detect("\x1f\x8c", 2), COMPRESSION_NONE);
    assert_int_equal(compression_detect("\x28\xb5\x2f\xfe", 4), COMPRESSION_NONE);
    assert_string_equal(compression_name(COMPRESSION_GZIP), "gzip");
    assert_string_equal(compression_name(COMPRESSION_ZSTD), "zstd");
    assert_string_equal(compression_name(COMPRESSION_NONE), "none");
}

static void test_media_types(void **state)
{
    (void)state;
    static const struct {
        const char *mt;
        int c;
    } cases[] = {
        {MT_OCI_LAYER_GZIP, COMPRESSION_GZIP},
        {MT_OCI_LAYER_ZSTD, COMPRESSION_ZSTD},
        {MT_OCI_LAYER, COMPRESSION_NONE},
        {MT_DOCKER_LAYER_GZIP, COMPRESSION_GZIP},
        {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", COMPRESSION_GZIP},
        {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", COMPRESSION_GZIP},
        {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", COMPRESSION_ZSTD},
        {"application/vnd.oci.image.layer.nondistributable.v1.tar", COMPRESSION_NONE},
        {MT_OCI_CONFIG, -1},
        {MT_OCI_MANIFEST, -1},
        {MT_DOCKER_CONFIG, -1},
        {"application/vnd.oci.image.layer.v1.tar+bzip2", -1},
        {"application/octet-stream", -1},
        {"text/plain.tar", -1},
        {"", -1},
        {NULL, -1},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        if (compression_from_media_type(cases[i].mt) != cases[i].c)
            fail_msg("%s: %d, want %d", cases[i].mt ? cases[i].mt : "(null)",
                     compression_from_media_type(cases[i].mt), cases[i].c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_streams), cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_empty_streams), cmocka_unit_test(test_gzip_members),
        cmocka_unit_test(test_truncation),    cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_detect),        cmocka_unit_test(test_media_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
