/* tests/fs/tarutil.h — layer streams for the fs tests, made without the code under test:
 * libarchive's writer (pax, zlib's gzip, libzstd) for well-formed input, and hand-made ustar
 * headers for hostile input libarchive would not write. Header-only (one .c per program). */
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/xalloc.h"
#include "fs/decompress.h"

static inline la_ssize_t tar_buf_write(struct archive *a, void *ctx, const void *p, size_t n)
{
    (void)a;
    buf_append(ctx, p, n);
    return (la_ssize_t)n;
}

static inline void tar_check(struct archive *a, int r, const char *what)
{
    if (r < ARCHIVE_WARN) {
        fprintf(stderr, "libarchive %s: %s\n", what, archive_error_string(a));
        abort();
    }
}

/* ---- compression through libarchive's filters (zlib, libzstd) ---- */

/* data compressed as one gzip member or zstd frame, without block padding. */
static inline void tar_compress(enum compression c, const void *data, size_t n, struct buf *out)
{
    struct archive *a = archive_write_new();
    tar_check(a,
              c == COMPRESSION_GZIP   ? archive_write_add_filter_gzip(a)
              : c == COMPRESSION_ZSTD ? archive_write_add_filter_zstd(a)
                                      : archive_write_add_filter_none(a),
              "filter");
    tar_check(a, archive_write_set_format_raw(a), "raw");
    archive_write_set_bytes_in_last_block(a, 1);
    tar_check(a, archive_write_open(a, out, NULL, tar_buf_write, NULL), "open");
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_pathname(e, "data");
    tar_check(a, archive_write_header(a, e), "header");
    for (size_t off = 0; off < n;) {
        la_ssize_t k = archive_write_data(a, (const char *)data + off, n - off);
        tar_check(a, k < 0 ? (int)k : ARCHIVE_OK, "data");
        off += (size_t)k;
    }
    tar_check(a, archive_write_close(a), "close");
    archive_entry_free(e);
    archive_write_free(a);
}

/* Decompress any gzip/zstd/plain buffer with libarchive; false if it is not valid. */
static inline bool tar_decompress(const void *data, size_t n, struct buf *out)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    struct archive_entry *e;
    bool ok = archive_read_open_memory(a, data, n) == ARCHIVE_OK &&
              archive_read_next_header(a, &e) == ARCHIVE_OK;
    char chunk[65536];
    la_ssize_t k;
    while (ok && (k = archive_read_data(a, chunk, sizeof(chunk))) != 0) {
        if (k < 0)
            ok = false;
        else
            buf_append(out, chunk, (size_t)k);
    }
    archive_read_free(a);
    return ok;
}

/* ---- well-formed tar streams (pax; full pax, so sub-second times are kept) ---- */

struct tar {
    struct archive *a;
    struct buf out;
};

static inline void tar_open(struct tar *t)
{
    memset(t, 0, sizeof(*t));
    t->a = archive_write_new();
    tar_check(t->a, archive_write_set_format_pax(t->a), "pax");
    tar_check(t->a, archive_write_open(t->a, &t->out, NULL, tar_buf_write, NULL), "open");
}

/* A new entry with the usual defaults (owner 0:0, mtime 1700000000); the caller adjusts it and
 * passes it to tar_add. */
static inline struct archive_entry *tar_entry(const char *name, mode_t type, mode_t perm)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_mtime(e, 1700000000, 0);
    return e;
}

static inline void tar_add(struct tar *t, struct archive_entry *e, const void *data, size_t n)
{
    if (archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e))
        archive_entry_set_size(e, (la_int64_t)n);
    tar_check(t->a, archive_write_header(t->a, e), archive_entry_pathname(e));
    for (size_t off = 0; off < n;) {
        la_ssize_t k = archive_write_data(t->a, (const char *)data + off, n - off);
        tar_check(t->a, k < 0 ? (int)k : ARCHIVE_OK, "data");
        off += (size_t)k;
    }
    archive_entry_free(e);
}

static inline void tar_file(struct tar *t, const char *name, const char *content, mode_t perm)
{
    tar_add(t, tar_entry(name, AE_IFREG, perm), content, strlen(content));
}

static inline void tar_dir(struct tar *t, const char *name, mode_t perm)
{
    tar_add(t, tar_entry(name, AE_IFDIR, perm), NULL, 0);
}

static inline void tar_symlink(struct tar *t, const char *name, const char *target)
{
    struct archive_entry *e = tar_entry(name, AE_IFLNK, 0777);
    archive_entry_set_symlink(e, target);
    tar_add(t, e, NULL, 0);
}

static inline void tar_hardlink(struct tar *t, const char *name, const char *target)
{
    struct archive_entry *e = tar_entry(name, AE_IFREG, 0644);
    archive_entry_set_hardlink(e, target);
    archive_entry_set_size(e, 0);
    tar_add(t, e, NULL, 0);
}

/* The whole stream, end marker and libarchive's block padding included. */
static inline void tar_close(struct tar *t, struct buf *out)
{
    tar_check(t->a, archive_write_close(t->a), "close");
    archive_write_free(t->a);
    *out = t->out;
}

/* ---- hand-made ustar entries for hostile streams ---- */

/* width - 1 octal digits and a NUL (values that do not fit are the caller's mistake). */
static inline void raw_octal(char *field, size_t width, unsigned long long v)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%0*llo", (int)width - 1, v);
    memcpy(field, tmp, width - 1);
    field[width - 1] = '\0';
}

/* One ustar header (name up to 100 bytes, linkname up to 100), then data padded to 512. */
static inline void raw_entry(struct buf *b, const char *name, char type, const char *linkname,
                             const void *data, size_t n, unsigned mode)
{
    char h[512] = {0};
    memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
    raw_octal(h + 100, 8, mode);
    raw_octal(h + 108, 8, 0);
    raw_octal(h + 116, 8, 0);
    raw_octal(h + 124, 12, n);
    raw_octal(h + 136, 12, 1700000000);
    h[156] = type;
    if (linkname)
        memcpy(h + 157, linkname, strlen(linkname) < 100 ? strlen(linkname) : 100);
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    if (type == '3' || type == '4') { /* devices: 1:3 unless told otherwise */
        raw_octal(h + 329, 8, 1);
        raw_octal(h + 337, 8, 3);
    }
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof(h); i++)
        sum += (unsigned char)h[i];
    snprintf(h + 148, 8, "%06o", sum);
    buf_append(b, h, sizeof(h));
    if (n) {
        static const char zeros[512];
        buf_append(b, data, n);
        buf_append(b, zeros, (512 - n % 512) % 512);
    }
}

static inline void raw_end(struct buf *b)
{
    static const char zeros[1024];
    buf_append(b, zeros, sizeof(zeros));
}

/* One pax record "LEN key=value\n", LEN counting itself. */
static inline void raw_pax_record(struct buf *rec, const char *key, const void *value, size_t n)
{
    size_t base = strlen(key) + n + 3, len = base + 1;
    while ((size_t)snprintf(NULL, 0, "%zu", len) + base != len)
        len = (size_t)snprintf(NULL, 0, "%zu", len) + base;
    buf_printf(rec, "%zu %s=", len, key);
    buf_append(rec, value, n);
    buf_append(rec, "\n", 1);
}

/* A PAX 1.0 sparse file (GNU tar's --sparse --format=pax): data chunks at their offsets,
 * holes between and after them up to realsize. */
static inline void raw_sparse(struct buf *b, const char *name, uint64_t realsize,
                              const uint64_t *offsets, const char *const *chunks, size_t n)
{
    struct buf rec = {0}, data = {0};
    char num[32];
    raw_pax_record(&rec, "GNU.sparse.major", "1", 1);
    raw_pax_record(&rec, "GNU.sparse.minor", "0", 1);
    raw_pax_record(&rec, "GNU.sparse.name", name, strlen(name));
    snprintf(num, sizeof(num), "%llu", (unsigned long long)realsize);
    raw_pax_record(&rec, "GNU.sparse.realsize", num, strlen(num));
    raw_entry(b, "PaxHeaders/sparse", 'x', NULL, rec.data, rec.len, 0644);
    buf_printf(&data, "%zu\n", n);
    for (size_t i = 0; i < n; i++)
        buf_printf(&data, "%llu\n%zu\n", (unsigned long long)offsets[i], strlen(chunks[i]));
    static const char zeros[512];
    buf_append(&data, zeros, (512 - data.len % 512) % 512);
    for (size_t i = 0; i < n; i++)
        buf_puts(&data, chunks[i]);
    char *stored = xasprintf("GNUSparseFile.0/%s", name);
    raw_entry(b, stored, '0', NULL, data.data, data.len, 0644);
    free(stored);
    buf_free(&rec);
    buf_free(&data);
}
