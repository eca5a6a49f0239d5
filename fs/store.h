/* fs/store.h — the content store: blobs by digest under ROOT/blobs/sha256/<hex>. A blob is
 * written to an anonymous O_TMPFILE, verified, and only then linked in, so a crash can never
 * leave a partial or unverified blob visible (and leaves no temp file behind). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/digest.h"
#include "core/err.h"
#include "core/map.h"

struct store;
struct blob_writer;

/* Opens (creating) ROOT/blobs and indexes the blobs present. Blocking: at start-up. */
int store_open(const char *root, struct store **out, struct berth_err **err);
void store_close(struct store *s);

/* Thread-safe, memory only. */
bool store_has(struct store *s, const char *digest);
/* ROOT/blobs/sha256/<hex> (heap string). */
char *store_blob_path(const struct store *s, const char *digest);

/* Writing a blob. Blocking calls: run them in pool jobs. */
int store_writer_new(struct store *s, struct blob_writer **out, struct berth_err **err);
int store_writer_write(struct blob_writer *w, const void *p, size_t n, struct berth_err **err);
uint64_t store_writer_size(const struct blob_writer *w);
/* The digest of the bytes written so far; the writer goes on as before. */
void store_writer_digest(const struct blob_writer *w, char digest[DIGEST_LEN + 1]);
/* Verify against `expected` (NULL: accept whatever was written), fsync, and link the blob in
 * (a blob already present is kept). The digest is written to `digest`. Frees w either way. */
int store_writer_commit(struct blob_writer *w, const char *expected, char digest[DIGEST_LEN + 1],
                        struct berth_err **err);
void store_writer_abort(struct blob_writer *w);

/* Small blobs (manifests, configs) in one call; blocking. */
int store_put(struct store *s, const void *data, size_t len, const char *expected,
              char digest[DIGEST_LEN + 1], struct berth_err **err);
int store_get(struct store *s, const char *digest, char **data, size_t *len,
              struct berth_err **err);
int store_size(struct store *s, const char *digest, uint64_t *size, struct berth_err **err);
/* Every digest present (a NULL-terminated heap array of heap strings). */
char **store_digests(struct store *s);
/* Start-up only, before anything else uses the store: blobs not in the set `keep` (left by
 * a pull or load a crash interrupted) leave the index and move to ROOT/blobs/trash, a rename
 * each. Returns how many (and their bytes), or a negative error. */
int store_trash_unkept(struct store *s, const struct map *keep, uint64_t *bytes,
                       struct berth_err **err);
/* Paths in the trash (collected now or by an interrupted earlier start), added to the set
 * `into` for removal once the engine serves; the store forgets them. */
void store_take_stale(struct store *s, struct map *into);
/* Blocking unlink + fsync of the directory. */
int store_remove(struct store *s, const char *digest, struct berth_err **err);
