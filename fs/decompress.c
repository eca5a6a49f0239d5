/* fs/decompress.c — one streaming interface over igzip (ISA-L), libzstd and plain copying.
 * gzip streams may hold several members, as Go's reader (and so dockerd) accepts. */
#include "fs/decompress.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include "core/macros.h"
#include "core/xalloc.h"

enum compression compression_detect(const void *p, size_t n)
{
    const unsigned char *b = p;
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        return COMPRESSION_GZIP;
    if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
        return COMPRESSION_ZSTD;
    return COMPRESSION_NONE;
}

int compression_from_media_type(const char *mt)
{
    static const struct {
        const char *suffix;
        enum compression c;
    } types[] = {{".tar+gzip", COMPRESSION_GZIP},
                 {".tar+zstd", COMPRESSION_ZSTD},
                 {".tar", COMPRESSION_NONE},
                 {".tar.gzip", COMPRESSION_GZIP}};
    if (!mt || (strncmp(mt, "application/vnd.oci.image.layer.", 32) != 0 &&
                strncmp(mt, "application/vnd.docker.image.rootfs.", 36) != 0))
        return -1;
    size_t n = strlen(mt);
    for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
        size_t k = strlen(types[i].suffix);
        if (n >= k && strcmp(mt + n - k, types[i].suffix) == 0)
            return (int)types[i].c;
    }
    return -1;
}

const char *compression_name(enum compression c)
{
    return c == COMPRESSION_GZIP ? "gzip" : c == COMPRESSION_ZSTD ? "zstd" : "none";
}

/* ---- decompression ---- */

struct decompressor {
    enum compression c;
    struct inflate_state gz;
    bool gz_member_done; /* a member ended: what follows must be another one, or nothing */
    ZSTD_DStream *zs;
    bool zs_frame_done;
};

struct decompressor *decompressor_new(enum compression c)
{
    struct decompressor *d = xcalloc(1, sizeof(*d));
    d->c = c;
    if (c == COMPRESSION_GZIP) {
        isal_inflate_init(&d->gz);
        d->gz.crc_flag = ISAL_GZIP;
    } else if (c == COMPRESSION_ZSTD) {
        d->zs = ZSTD_createDStream();
        if (!d->zs)
            abort(); /* only fails on allocation */
        ZSTD_initDStream(d->zs);
    }
    return d;
}

void decompressor_free(struct decompressor *d)
{
    if (!d)
        return;
    if (d->zs)
        ZSTD_freeDStream(d->zs);
    free(d);
}

static int run_gzip(struct decompressor *d, const void *in, size_t in_len, size_t *in_used,
                    void *out, size_t out_cap, size_t *out_len, struct berth_err **err)
{
    struct inflate_state *s = &d->gz;
    if (d->gz_member_done && in_len > 0) { /* another member follows */
        isal_inflate_reset(s);
        s->crc_flag = ISAL_GZIP;
        d->gz_member_done = false;
    }
    s->next_in = (uint8_t *)in;
    s->avail_in = (uint32_t)(in_len > UINT32_MAX ? UINT32_MAX : in_len);
    s->next_out = out;
    s->avail_out = (uint32_t)(out_cap > UINT32_MAX ? UINT32_MAX : out_cap);
    int r = d->gz_member_done ? ISAL_DECOMP_OK : isal_inflate(s);
    *in_used = in_len > UINT32_MAX ? UINT32_MAX - s->avail_in : in_len - s->avail_in;
    *out_len = (size_t)((uint8_t *)s->next_out - (uint8_t *)out);
    if (r < 0)
        return berth_user_error(err, EINVAL, "gzip: corrupt data (igzip error %d)", r);
    if (s->block_state == ISAL_BLOCK_FINISH)
        d->gz_member_done = true;
    /* the stream is over when a member has ended and no input follows it */
    return d->gz_member_done && *in_used == in_len ? 1 : 0;
}

static int run_zstd(struct decompressor *d, const void *in, size_t in_len, size_t *in_used,
                    void *out, size_t out_cap, size_t *out_len, struct berth_err **err)
{
    ZSTD_inBuffer ib = {in, in_len, 0};
    ZSTD_outBuffer ob = {out, out_cap, 0};
    size_t r = ZSTD_decompressStream(d->zs, &ob, &ib);
    *in_used = ib.pos;
    *out_len = ob.pos;
    if (ZSTD_isError(r))
        return berth_user_error(err, EINVAL, "zstd: %s", ZSTD_getErrorName(r));
    if (r == 0)
        d->zs_frame_done = true; /* a frame ended; a next one may follow */
    else if (ib.pos > 0)
        d->zs_frame_done = false;
    return d->zs_frame_done && ib.pos == in_len ? 1 : 0;
}

int decompressor_run(struct decompressor *d, const void *in, size_t in_len, size_t *in_used,
                     void *out, size_t out_cap, size_t *out_len, struct berth_err **err)
{
    if (d->c == COMPRESSION_GZIP)
        return run_gzip(d, in, in_len, in_used, out, out_cap, out_len, err);
    if (d->c == COMPRESSION_ZSTD)
        return run_zstd(d, in, in_len, in_used, out, out_cap, out_len, err);
    size_t n = in_len < out_cap ? in_len : out_cap;
    memcpy(out, in, n);
    *in_used = *out_len = n;
    return 0; /* plain data ends only when the input does */
}

bool decompressor_finished(const struct decompressor *d)
{
    if (d->c == COMPRESSION_GZIP)
        return d->gz_member_done;
    if (d->c == COMPRESSION_ZSTD)
        return d->zs_frame_done;
    return true;
}

/* ---- compression (push, commit) ---- */

struct compressor {
    enum compression c;
    struct isal_zstream gz;
    uint8_t *level_buf;
    ZSTD_CStream *zs;
    bool ended;
};

struct compressor *compressor_new(enum compression c)
{
    struct compressor *z = xcalloc(1, sizeof(*z));
    z->c = c;
    if (c == COMPRESSION_GZIP) {
        isal_deflate_init(&z->gz);
        z->gz.gzip_flag = IGZIP_GZIP;
        z->gz.level = 1;
        z->level_buf = xmalloc(ISAL_DEF_LVL1_DEFAULT);
        z->gz.level_buf = z->level_buf;
        z->gz.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    } else if (c == COMPRESSION_ZSTD) {
        z->zs = ZSTD_createCStream();
        if (!z->zs)
            abort();
        ZSTD_initCStream(z->zs, 3);
    }
    return z;
}

void compressor_free(struct compressor *z)
{
    if (!z)
        return;
    if (z->zs)
        ZSTD_freeCStream(z->zs);
    free(z->level_buf);
    free(z);
}

static int deflate_gzip(struct compressor *z, const void *in, size_t in_len, size_t *in_used,
                        void *out, size_t out_cap, size_t *out_len, bool finish,
                        struct berth_err **err)
{
    struct isal_zstream *s = &z->gz;
    s->next_in = (uint8_t *)in;
    s->avail_in = (uint32_t)(in_len > UINT32_MAX ? UINT32_MAX : in_len);
    s->next_out = out;
    s->avail_out = (uint32_t)(out_cap > UINT32_MAX ? UINT32_MAX : out_cap);
    s->end_of_stream = finish && in_len <= UINT32_MAX;
    int r = isal_deflate(s);
    *in_used = (size_t)(s->next_in - (uint8_t *)in);
    *out_len = (size_t)(s->next_out - (uint8_t *)out);
    if (r != COMP_OK)
        return berth_user_error(err, EIO, "gzip: compression failed (igzip error %d)", r);
    return s->internal_state.state == ZSTATE_END ? 1 : 0;
}

static int compress_zstd(struct compressor *z, const void *in, size_t in_len, size_t *in_used,
                         void *out, size_t out_cap, size_t *out_len, bool finish,
                         struct berth_err **err)
{
    ZSTD_inBuffer ib = {in, in_len, 0};
    ZSTD_outBuffer ob = {out, out_cap, 0};
    size_t r = ZSTD_compressStream2(z->zs, &ob, &ib, finish ? ZSTD_e_end : ZSTD_e_continue);
    *in_used = ib.pos;
    *out_len = ob.pos;
    if (ZSTD_isError(r))
        return berth_user_error(err, EIO, "zstd: %s", ZSTD_getErrorName(r));
    return finish && r == 0 && ib.pos == in_len ? 1 : 0;
}

int compressor_run(struct compressor *z, const void *in, size_t in_len, size_t *in_used, void *out,
                   size_t out_cap, size_t *out_len, bool finish, struct berth_err **err)
{
    if (z->c == COMPRESSION_GZIP)
        return deflate_gzip(z, in, in_len, in_used, out, out_cap, out_len, finish, err);
    if (z->c == COMPRESSION_ZSTD)
        return compress_zstd(z, in, in_len, in_used, out, out_cap, out_len, finish, err);
    size_t n = in_len < out_cap ? in_len : out_cap;
    memcpy(out, in, n);
    *in_used = *out_len = n;
    return finish && n == in_len ? 1 : 0;
}
