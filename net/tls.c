/* net/tls.c — mbedtls with BIO callbacks on two buffers: recv takes from what tls_feed()
 * stored (WANT_READ when empty), send appends to what tls_outgoing() hands the socket. */
#include "net/tls.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "core/cleanup.h"
#include "core/xalloc.h"

struct tls_conf {
    mbedtls_ssl_config ssl;
    mbedtls_x509_crt ca, own;
    mbedtls_pk_context key;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
};

struct tls {
    mbedtls_ssl_context ssl;
    struct buf in, out;
    size_t in_off;
};

static int tls_words(struct berth_err **err, int code, const char *what)
{
    char text[200];
    mbedtls_strerror(code, text, sizeof(text));
    return berth_user_error(err, EPROTO, "tls: %s: %s", what, text);
}

/* Every *.crt in DIR/HOSTPORT, as dockerd reads certs.d. */
static void load_extra_cas(struct tls_conf *c, const char *certs_dir, const char *hostport)
{
    _cleanup_free_ char *dir = xasprintf("%s/%s", certs_dir, hostport);
    _cleanup_closedir_ DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".crt") == 0) {
            _cleanup_free_ char *path = xasprintf("%s/%s", dir, e->d_name);
            mbedtls_x509_crt_parse_file(&c->ca, path); /* unreadable files: just not trusted */
        }
    }
}

static int load_client_cert(struct tls_conf *c, const char *certs_dir, const char *hostport,
                            struct berth_err **err)
{
    _cleanup_free_ char *cert = xasprintf("%s/%s/client.cert", certs_dir, hostport);
    _cleanup_free_ char *key = xasprintf("%s/%s/client.key", certs_dir, hostport);
    if (access(cert, R_OK) < 0 || access(key, R_OK) < 0)
        return 0;
    int r = mbedtls_x509_crt_parse_file(&c->own, cert);
    if (r == 0)
        r = mbedtls_pk_parse_keyfile(&c->key, key, NULL);
    if (r == 0)
        r = mbedtls_ssl_conf_own_cert(&c->ssl, &c->own, &c->key);
    return r ? tls_words(err, r, "client certificate") : 0;
}

struct tls_conf *tls_conf_load(const char *certs_dir, const char *system_ca_file,
                               const char *hostport, bool insecure, struct berth_err **err)
{
    struct tls_conf *c = xcalloc(1, sizeof(*c));
    mbedtls_ssl_config_init(&c->ssl);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_x509_crt_init(&c->own);
    mbedtls_pk_init(&c->key);
    mbedtls_entropy_init(&c->entropy);
    mbedtls_ctr_drbg_init(&c->drbg);
    int r = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
                                  (const unsigned char *)"berth", 5);
    if (r == 0)
        r = mbedtls_ssl_config_defaults(&c->ssl, MBEDTLS_SSL_IS_CLIENT,
                                        MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (r) {
        tls_words(err, r, "set up");
        tls_conf_free(c);
        return NULL;
    }
    if (system_ca_file)
        mbedtls_x509_crt_parse_file(&c->ca, system_ca_file);
    if (certs_dir)
        load_extra_cas(c, certs_dir, hostport);
    mbedtls_ssl_conf_ca_chain(&c->ssl, &c->ca, NULL);
    mbedtls_ssl_conf_authmode(&c->ssl, insecure ? MBEDTLS_SSL_VERIFY_NONE
                                                : MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_rng(&c->ssl, mbedtls_ctr_drbg_random, &c->drbg);
    if (certs_dir && load_client_cert(c, certs_dir, hostport, err) < 0) {
        tls_conf_free(c);
        return NULL;
    }
    return c;
}

void tls_conf_free(struct tls_conf *c)
{
    if (!c)
        return;
    mbedtls_ssl_config_free(&c->ssl);
    mbedtls_x509_crt_free(&c->ca);
    mbedtls_x509_crt_free(&c->own);
    mbedtls_pk_free(&c->key);
    mbedtls_ctr_drbg_free(&c->drbg);
    mbedtls_entropy_free(&c->entropy);
    free(c);
}

static int bio_send(void *ctx, const unsigned char *p, size_t n)
{
    struct tls *t = ctx;
    buf_append(&t->out, p, n);
    return (int)n;
}

static int bio_recv(void *ctx, unsigned char *p, size_t n)
{
    struct tls *t = ctx;
    size_t avail = t->in.len - t->in_off;
    if (avail == 0)
        return MBEDTLS_ERR_SSL_WANT_READ;
    if (n > avail)
        n = avail;
    memcpy(p, t->in.data + t->in_off, n);
    t->in_off += n;
    if (t->in_off == t->in.len) {
        buf_reset(&t->in);
        t->in_off = 0;
    }
    return (int)n;
}

struct tls *tls_new(struct tls_conf *conf, const char *hostname, struct berth_err **err)
{
    struct tls *t = xcalloc(1, sizeof(*t));
    mbedtls_ssl_init(&t->ssl);
    int r = mbedtls_ssl_setup(&t->ssl, &conf->ssl);
    if (r == 0)
        r = mbedtls_ssl_set_hostname(&t->ssl, hostname);
    if (r) {
        tls_words(err, r, "session");
        tls_free(t);
        return NULL;
    }
    mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
    return t;
}

void tls_free(struct tls *t)
{
    if (!t)
        return;
    mbedtls_ssl_free(&t->ssl);
    buf_free(&t->in);
    buf_free(&t->out);
    free(t);
}

void tls_feed(struct tls *t, const void *data, size_t n)
{
    buf_append(&t->in, data, n);
}

struct buf *tls_outgoing(struct tls *t)
{
    return &t->out;
}

static int verify_words(struct tls *t, struct berth_err **err)
{
    uint32_t flags = mbedtls_ssl_get_verify_result(&t->ssl);
    if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
        return berth_user_error(err, EPROTO, "tls: failed to verify certificate: x509: "
                                             "certificate signed by unknown authority");
    if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
        return berth_user_error(err, EPROTO, "tls: failed to verify certificate: x509: "
                                             "certificate is not valid for this host name");
    char info[300];
    mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
    info[strcspn(info, "\n")] = '\0';
    return berth_user_error(err, EPROTO, "tls: failed to verify certificate: %s", info);
}

int tls_handshake(struct tls *t, struct berth_err **err)
{
    int r = mbedtls_ssl_handshake(&t->ssl);
    if (r == 0)
        return 0;
    if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
        return 1;
    if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED)
        return verify_words(t, err);
    return tls_words(err, r, "handshake");
}

int tls_write(struct tls *t, const void *data, size_t n, struct berth_err **err)
{
    for (size_t done = 0; done < n;) {
        int r = mbedtls_ssl_write(&t->ssl, (const unsigned char *)data + done, n - done);
        if (r < 0)
            return tls_words(err, r, "write");
        done += (size_t)r;
    }
    return 0;
}

ssize_t tls_read(struct tls *t, void *buf, size_t cap, struct berth_err **err)
{
    int r = mbedtls_ssl_read(&t->ssl, buf, cap);
    if (r > 0)
        return r;
    if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
        return 0;
    if (r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || r == 0)
        return -EPIPE;
    return tls_words(err, r, "read");
}
