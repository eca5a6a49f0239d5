/* net/registry/tls.h — TLS client sessions (mbedtls) over memory buffers, so the reactor moves the
 * ciphertext the same way on every backend; and a per-host cache of client configs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/pool.h"

struct tls_cache;
struct tls_config;
struct tls_session;

/* Embedded by a caller waiting for a config that the pool is still loading. */
struct tls_wait {
    void (*fn)(struct tls_wait *w, struct tls_config *conf, const struct berth_err *err);
    struct tls_wait *_next;
    void *_entry;
};

/* certs_dir: Docker's layout (DIR/HOST[:PORT]/{*.crt, NAME.cert + NAME.key}), may be NULL.
 * system_ca_file: the CA bundle every config trusts. */
struct tls_cache *tls_cache_new(struct pool *pool, const char *certs_dir,
                                const char *system_ca_file);
/* Frees every config; loads still running in the pool are abandoned (they free themselves). */
void tls_cache_free(struct tls_cache *tc);

/* The client config for `authority` (HOST[:PORT] as written in the URL: it names the certs.d
 * directory) and `host` (the name verified and sent as SNI). Returns it when cached; otherwise
 * NULL, and w->fn runs later on the reactor thread with the config, or with NULL and the words
 * when a certificate file is unusable. Files are read in the pool, never on the reactor. */
struct tls_config *tls_config_get(struct tls_cache *tc, const char *authority, const char *host,
                                  bool insecure, struct tls_wait *w);
/* Forget a waiter before its callback ran. */
void tls_wait_cancel(struct tls_wait *w);

/* A client session whose ciphertext output is appended to `out` (the caller sends it). */
struct tls_session *tls_session_new(struct tls_config *conf, const char *host, struct buf *out);
void tls_session_free(struct tls_session *s);
/* Ciphertext from the network. */
void tls_session_feed(struct tls_session *s, const char *data, size_t n);
/* Drive the handshake: 1 once complete, 0 while it needs more input, or a negative error whose
 * words read like Go's ("tls: failed to verify certificate: x509: ..."). */
int tls_session_handshake(struct tls_session *s, struct berth_err **err);
/* Decrypted bytes: > 0 bytes, 0 when more input is needed, -EPIPE when the peer closed the
 * session, or another negative error with words. */
ssize_t tls_session_read(struct tls_session *s, char *buf, size_t cap, struct berth_err **err);
/* Encrypt n bytes into the output buffer; 0 or a negative error with words. */
int tls_session_write(struct tls_session *s, const void *data, size_t n, struct berth_err **err);
/* Words for a transport that ended during the handshake ("EOF", or Go's words for a plain HTTP
 * server on the port). */
int tls_session_eof_error(const struct tls_session *s, struct berth_err **err);
