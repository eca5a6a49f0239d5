/* net/tls.h — TLS client sessions over memory buffers (mbedtls): the owner moves ciphertext
 * between the session and the socket, so TLS runs the same on any reactor backend. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/err.h"

struct tls_conf;
struct tls;

/* Blocking (pool): trust the system bundle plus every .crt in DIR/HOST:PORT (certs.d), and
 * present DIR/HOST:PORT/client.cert + client.key when both exist. insecure: no verification. */
struct tls_conf *tls_conf_load(const char *certs_dir, const char *system_ca_file,
                               const char *hostport, bool insecure, struct berth_err **err);
void tls_conf_free(struct tls_conf *c);

/* Reactor thread from here on. */
struct tls *tls_new(struct tls_conf *conf, const char *hostname, struct berth_err **err);
void tls_free(struct tls *t);
/* Ciphertext received from the peer. */
void tls_feed(struct tls *t, const void *data, size_t n);
/* Ciphertext waiting to be sent; the caller takes the buffer's bytes and resets it. */
struct buf *tls_outgoing(struct tls *t);
/* 0 once the handshake is done, 1 while it needs more bytes, or an error with words (an
 * untrusted certificate reads as Go's "x509: certificate signed by unknown authority"). */
int tls_handshake(struct tls *t, struct berth_err **err);
int tls_write(struct tls *t, const void *data, size_t n, struct berth_err **err);
/* Plaintext: bytes, 0 when more ciphertext is needed, -EPIPE at the peer's close_notify. */
ssize_t tls_read(struct tls *t, void *buf, size_t cap, struct berth_err **err);
