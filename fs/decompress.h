/* fs/decompress.h — streaming (de)compression of layer blobs: gzip through ISA-L's igzip
 * (~4x zlib here), zstd through libzstd, or none; one interface for all three. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

enum compression { COMPRESSION_NONE, COMPRESSION_GZIP, COMPRESSION_ZSTD };

/* Sniff a stream's first bytes (gzip 1f 8b, zstd 28 b5 2f fd); NONE otherwise. */
enum compression compression_detect(const void *p, size_t n);
/* From an OCI/Docker layer media type; -1 when the type is not a known layer type. */
int compression_from_media_type(const char *media_type);
const char *compression_name(enum compression c); /* "none", "gzip", "zstd" */

struct decompressor;
struct decompressor *decompressor_new(enum compression c);
void decompressor_free(struct decompressor *d);
static inline void decompressor_freep(struct decompressor **d)
{
    decompressor_free(*d);
}
/* Decompress from in[0..in_len) into out[0..out_cap). Sets *in_used and *out_len. Returns 1
 * when it stands at a clean end (a gzip member or zstd frame complete and flushed, all input
 * used; another member may still follow), 0 when it needs more input or output room, or a
 * negative error (corrupt data: EINVAL with words in err). Call it with no input to drain
 * output it holds back. */
int decompressor_run(struct decompressor *d, const void *in, size_t in_len, size_t *in_used,
                     void *out, size_t out_cap, size_t *out_len, struct berth_err **err);
/* At the end of the input: true if the stream may end here (false: it was cut short). */
bool decompressor_finished(const struct decompressor *d);

struct compressor;
/* gzip (ISA-L deflate, level 1) or zstd (level 3) for pushes and commits; NONE copies. */
struct compressor *compressor_new(enum compression c);
void compressor_free(struct compressor *z);
/* Like decompressor_run; finish = true flushes the end of the stream, and the call returns 1
 * once everything is out. */
int compressor_run(struct compressor *z, const void *in, size_t in_len, size_t *in_used, void *out,
                   size_t out_cap, size_t *out_len, bool finish, struct berth_err **err);
