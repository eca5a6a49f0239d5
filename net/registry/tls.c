/* net/registry/tls.c — mbedtls client sessions whose BIO callbacks read and write memory buffers
 * that the reactor fills and drains, and the per-host config cache loaded in the pool. */
#include "net/registry/tls.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/xalloc.h"

#define SAN_DNS (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2)
#define SAN_IP  (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7)

/* What the pool parses: trusted CAs and at most one client certificate with its key. */
struct tls_material {
    mbedtls_x509_crt ca, own;
    mbedtls_pk_context key;
    bool has_ca, has_own;
};

struct load_job;

/* One cache entry: a config for an authority, verified or not. */
struct tls_config {
    struct tls_cache *tc;
    struct tls_config *next;
    char *authority, *host;
    bool insecure, ready;
    unsigned char ip[16];
    size_t iplen; /* 0: host is a name */
    struct tls_material *m;
    mbedtls_ssl_config conf;
    struct tls_wait *waiters;
    struct load_job *job;
};

struct tls_cache {
    struct pool *pool;
    char *certs_dir, *system_ca;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    bool drbg_ok;
    struct tls_config *entries;
};

struct load_job {
    struct pool_job job;
    struct tls_config *entry; /* NULL once abandoned */
    char *dir, *system_ca;
    struct tls_material *m;
    struct berth_err *err;
};

struct tls_session {
    mbedtls_ssl_context ssl;
    struct tls_config *conf;
    struct buf in;
    struct buf *out;
    unsigned char first[5]; /* the peer's first bytes, to recognise a plain HTTP server */
    size_t nfirst;
};

/* ---- certificate material (pool) ---- */

static struct tls_material *material_new(void)
{
    struct tls_material *m = xcalloc(1, sizeof(*m));
    mbedtls_x509_crt_init(&m->ca);
    mbedtls_x509_crt_init(&m->own);
    mbedtls_pk_init(&m->key);
    return m;
}

static void material_free(struct tls_material *m)
{
    if (!m)
        return;
    mbedtls_x509_crt_free(&m->ca);
    mbedtls_x509_crt_free(&m->own);
    mbedtls_pk_free(&m->key);
    free(m);
}

static int mbed_error(struct berth_err **err, int r, const char *what, const char *path)
{
    char words[160];
    mbedtls_strerror(r, words, sizeof(words));
    return berth_user_error(err, EINVAL, "%s %s: %s", what, path, words);
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

static bool dir_has(char **names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

/* NAME.cert needs NAME.key (and the other way round), with dockerd's words when one is missing;
 * the first pair in name order becomes the client certificate. */
static int load_pair(struct load_job *j, char **names, size_t n, const char *name,
                     struct berth_err **err)
{
    size_t base = strlen(name) - (has_suffix(name, ".cert") ? 5 : 4);
    _cleanup_free_ char *cert = xasprintf("%.*s.cert", (int)base, name);
    _cleanup_free_ char *key = xasprintf("%.*s.key", (int)base, name);
    if (has_suffix(name, ".key"))
        return dir_has(names, n, cert)
                   ? 0
                   : berth_user_error(err, EINVAL, "missing client certificate %s for key %s", cert,
                                      name);
    if (!dir_has(names, n, key))
        return berth_user_error(err, EINVAL,
                                "missing key %s for client certificate %s. CA certificates must "
                                "use the extension .crt",
                                key, name);
    if (j->m->has_own)
        return 0;
    _cleanup_free_ char *cpath = xasprintf("%s/%s", j->dir, cert);
    _cleanup_free_ char *kpath = xasprintf("%s/%s", j->dir, key);
    int r = mbedtls_x509_crt_parse_file(&j->m->own, cpath);
    if (r != 0)
        return mbed_error(err, r, "load client certificate", cpath);
    r = mbedtls_pk_parse_keyfile(&j->m->key, kpath, NULL);
    if (r != 0)
        return mbed_error(err, r, "load client key", kpath);
    j->m->has_own = true;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory's file names, owned. */
struct names {
    char **v;
    size_t n;
};

static void names_freep(struct names *names)
{
    for (size_t i = 0; i < names->n; i++)
        free(names->v[i]);
    free(names->v);
}

/* The directory's file names, sorted as Go's os.ReadDir returns them. */
static int list_dir(const char *dir, char ***out, size_t *n, struct berth_err **err)
{
    _cleanup_closedir_ DIR *d = opendir(dir);
    *out = NULL;
    *n = 0;
    if (!d)
        return errno == ENOENT || errno == ENOTDIR ? 0 : berth_error(err, errno, "open `%s`", dir);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        *out = xrealloc(*out, (*n + 1) * sizeof(**out));
        (*out)[(*n)++] = xstrdup(de->d_name);
    }
    if (*n)
        qsort(*out, *n, sizeof(**out), cmp_names);
    return 0;
}

/* Docker's certs.d rules: *.crt are extra CAs, NAME.cert + NAME.key a client certificate. */
static int load_dir(struct load_job *j, struct berth_err **err)
{
    _cleanup_(names_freep) struct names names = {0};
    int r = list_dir(j->dir, &names.v, &names.n, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < names.n; i++) {
        const char *name = names.v[i];
        if (has_suffix(name, ".crt")) {
            _cleanup_free_ char *path = xasprintf("%s/%s", j->dir, name);
            int pr = mbedtls_x509_crt_parse_file(&j->m->ca, path);
            if (pr < 0)
                return mbed_error(err, pr, "load CA certificate", path);
            j->m->has_ca = true;
        } else if (has_suffix(name, ".cert") || has_suffix(name, ".key")) {
            r = load_pair(j, names.v, names.n, name, err);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static void load_work(struct pool_job *job)
{
    struct load_job *j = (struct load_job *)job;
    if (j->system_ca && access(j->system_ca, R_OK) == 0) {
        /* A positive result counts certificates mbedtls skipped; the rest are usable. */
        int r = mbedtls_x509_crt_parse_file(&j->m->ca, j->system_ca);
        if (r < 0)
            log_warn("tls: cannot read CA bundle %s (-0x%04x)", j->system_ca, (unsigned)-r);
        else
            j->m->has_ca = true;
    }
    if (j->dir)
        load_dir(j, &j->err);
}

/* ---- configs (reactor) ---- */

/* mbedtls 2.28 matches only names: an address is checked against the IP SANs here. */
static int verify_cb(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    struct tls_config *e = arg;
    if (depth != 0 || e->iplen == 0)
        return 0;
    for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s && s->buf.p; s = s->next)
        if (s->buf.tag == SAN_IP && s->buf.len == e->iplen &&
            memcmp(s->buf.p, e->ip, e->iplen) == 0)
            return 0;
    *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
    return 0;
}

static int config_build(struct tls_config *e, struct berth_err **err)
{
    struct tls_cache *tc = e->tc;
    mbedtls_ssl_config_init(&e->conf);
    int r = mbedtls_ssl_config_defaults(&e->conf, MBEDTLS_SSL_IS_CLIENT,
                                        MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (r != 0 || !tc->drbg_ok)
        return berth_user_error(err, EIO, "tls: cannot set up the client configuration");
    mbedtls_ssl_conf_rng(&e->conf, mbedtls_ctr_drbg_random, &tc->drbg);
    mbedtls_ssl_conf_min_version(&e->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_authmode(&e->conf,
                              e->insecure ? MBEDTLS_SSL_VERIFY_NONE : MBEDTLS_SSL_VERIFY_REQUIRED);
    if (e->m->has_ca)
        mbedtls_ssl_conf_ca_chain(&e->conf, &e->m->ca, NULL);
    mbedtls_ssl_conf_verify(&e->conf, verify_cb, e);
    if (e->m->has_own && mbedtls_ssl_conf_own_cert(&e->conf, &e->m->own, &e->m->key) != 0)
        return berth_user_error(err, EINVAL, "tls: unusable client certificate for %s",
                                e->authority);
    return 0;
}

static void entry_unlink(struct tls_config *e)
{
    for (struct tls_config **p = &e->tc->entries; *p; p = &(*p)->next)
        if (*p == e) {
            *p = e->next;
            return;
        }
}

static void entry_free(struct tls_config *e)
{
    if (e->ready)
        mbedtls_ssl_config_free(&e->conf);
    material_free(e->m);
    free(e->authority);
    free(e->host);
    free(e);
}

/* Wake every waiter; a failed load leaves the cache so the next request tries again. */
static void load_done(struct pool_job *job)
{
    struct load_job *j = (struct load_job *)job;
    struct tls_config *e = j->entry;
    if (e) {
        e->job = NULL;
        e->m = take_ptr(j->m);
        if (!j->err && config_build(e, &j->err) == 0)
            e->ready = true;
        else
            entry_unlink(e);
        struct tls_wait *w = e->waiters;
        e->waiters = NULL;
        while (w) {
            struct tls_wait *next = w->_next;
            w->_entry = NULL;
            w->fn(w, e->ready ? e : NULL, j->err);
            w = next;
        }
        if (!e->ready)
            entry_free(e);
    }
    material_free(j->m);
    berth_err_free(j->err);
    free(j->dir);
    free(j->system_ca);
    free(j);
}

static struct tls_config *entry_new(struct tls_cache *tc, const char *authority, const char *host,
                                    bool insecure)
{
    struct tls_config *e = xcalloc(1, sizeof(*e));
    e->tc = tc;
    e->authority = xstrdup(authority);
    e->host = xstrdup(host);
    e->insecure = insecure;
    if (inet_pton(AF_INET, host, e->ip) == 1)
        e->iplen = 4;
    else if (inet_pton(AF_INET6, host, e->ip) == 1)
        e->iplen = 16;
    e->next = tc->entries;
    tc->entries = e;
    struct load_job *j = xcalloc(1, sizeof(*j));
    j->job.work = load_work;
    j->job.done = load_done;
    j->entry = e;
    j->m = material_new();
    j->dir = tc->certs_dir ? xasprintf("%s/%s", tc->certs_dir, authority) : NULL;
    j->system_ca = tc->system_ca ? xstrdup(tc->system_ca) : NULL;
    e->job = j;
    pool_submit(tc->pool, POOL_LATENCY, &j->job);
    return e;
}

struct tls_config *tls_config_get(struct tls_cache *tc, const char *authority, const char *host,
                                  bool insecure, struct tls_wait *w)
{
    struct tls_config *e = tc->entries;
    while (e && (e->insecure != insecure || strcmp(e->authority, authority) != 0 ||
                 strcmp(e->host, host) != 0))
        e = e->next;
    if (e && e->ready)
        return e;
    if (!e)
        e = entry_new(tc, authority, host, insecure);
    w->_entry = e;
    w->_next = e->waiters;
    e->waiters = w;
    return NULL;
}

void tls_wait_cancel(struct tls_wait *w)
{
    struct tls_config *e = w->_entry;
    if (!e)
        return;
    for (struct tls_wait **p = &e->waiters; *p; p = &(*p)->_next)
        if (*p == w) {
            *p = w->_next;
            break;
        }
    w->_entry = NULL;
}

struct tls_cache *tls_cache_new(struct pool *pool, const char *certs_dir,
                                const char *system_ca_file)
{
    struct tls_cache *tc = xcalloc(1, sizeof(*tc));
    tc->pool = pool;
    tc->certs_dir = certs_dir && *certs_dir ? xstrdup(certs_dir) : NULL;
    tc->system_ca = system_ca_file && *system_ca_file ? xstrdup(system_ca_file) : NULL;
    mbedtls_entropy_init(&tc->entropy);
    mbedtls_ctr_drbg_init(&tc->drbg);
    static const unsigned char personal[] = "berth-hclient";
    tc->drbg_ok = mbedtls_ctr_drbg_seed(&tc->drbg, mbedtls_entropy_func, &tc->entropy, personal,
                                        sizeof(personal) - 1) == 0;
    if (!tc->drbg_ok)
        log_error("tls: cannot seed the random generator; https will fail");
    return tc;
}

void tls_cache_free(struct tls_cache *tc)
{
    if (!tc)
        return;
    while (tc->entries) {
        struct tls_config *e = tc->entries;
        tc->entries = e->next;
        if (e->job)
            e->job->entry = NULL; /* the job frees its own material when it finishes */
        for (struct tls_wait *w = e->waiters; w; w = w->_next)
            w->_entry = NULL;
        entry_free(e);
    }
    mbedtls_ctr_drbg_free(&tc->drbg);
    mbedtls_entropy_free(&tc->entropy);
    free(tc->certs_dir);
    free(tc->system_ca);
    free(tc);
}

/* ---- sessions ---- */

static int bio_send(void *ctx, const unsigned char *data, size_t n)
{
    struct tls_session *s = ctx;
    buf_append(s->out, data, n);
    return (int)n;
}

static int bio_recv(void *ctx, unsigned char *data, size_t n)
{
    struct tls_session *s = ctx;
    if (s->in.len == 0)
        return MBEDTLS_ERR_SSL_WANT_READ;
    if (n > s->in.len)
        n = s->in.len;
    memcpy(data, s->in.data, n);
    buf_consume(&s->in, n);
    return (int)n;
}

struct tls_session *tls_session_new(struct tls_config *conf, const char *host, struct buf *out)
{
    struct tls_session *s = xcalloc(1, sizeof(*s));
    s->conf = conf;
    s->out = out;
    mbedtls_ssl_init(&s->ssl);
    if (mbedtls_ssl_setup(&s->ssl, &conf->conf) != 0) {
        mbedtls_ssl_free(&s->ssl);
        free(s);
        return NULL;
    }
    /* RFC 6066: no SNI for an address; verify_cb checks the IP SANs instead. */
    if (conf->iplen == 0)
        mbedtls_ssl_set_hostname(&s->ssl, host);
    mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
    return s;
}

void tls_session_free(struct tls_session *s)
{
    if (!s)
        return;
    mbedtls_ssl_free(&s->ssl);
    buf_free(&s->in);
    free(s);
}

void tls_session_feed(struct tls_session *s, const char *data, size_t n)
{
    for (size_t i = 0; i < n && s->nfirst < sizeof(s->first); i++)
        s->first[s->nfirst++] = (unsigned char)data[i];
    buf_append(&s->in, data, n);
}

static bool peer_speaks_http(const struct tls_session *s)
{
    return s->nfirst == sizeof(s->first) && memcmp(s->first, "HTTP/", 5) == 0;
}

static const char *alert_words(unsigned char alert)
{
    switch (alert) {
    case 40:
        return "handshake failure";
    case 42:
        return "bad certificate";
    case 43:
        return "unsupported certificate";
    case 44:
        return "revoked certificate";
    case 45:
        return "expired certificate";
    case 46:
        return "unknown certificate";
    case 47:
        return "illegal parameter";
    case 48:
        return "unknown certificate authority";
    case 70:
        return "protocol version not supported";
    case 80:
        return "internal error";
    case 112:
        return "unrecognized name";
    case 116:
        return "certificate required";
    default:
        return NULL;
    }
}

/* "localhost, registry.example" or "127.0.0.1, ::1": the SANs of one kind, as Go lists them. */
static void san_list(const mbedtls_x509_crt *crt, int tag, struct buf *out)
{
    for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s && s->buf.p; s = s->next) {
        if (s->buf.tag != tag)
            continue;
        char text[INET6_ADDRSTRLEN] = "";
        if (tag == SAN_IP && (s->buf.len == 4 || s->buf.len == 16))
            inet_ntop(s->buf.len == 4 ? AF_INET : AF_INET6, s->buf.p, text, sizeof(text));
        buf_puts(out, out->len ? ", " : "");
        if (tag == SAN_IP)
            buf_puts(out, text);
        else
            buf_append(out, s->buf.p, s->buf.len);
    }
}

static int name_mismatch(const struct tls_session *s, struct berth_err **err)
{
    const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&s->ssl);
    const char *host = s->conf->host;
    struct buf names = {0};
    if (peer)
        san_list(peer, s->conf->iplen ? SAN_IP : SAN_DNS, &names);
    int r;
    if (names.len == 0 && s->conf->iplen)
        r = berth_user_error(err, EPROTO,
                             "tls: failed to verify certificate: x509: cannot validate "
                             "certificate for %s because it doesn't contain any IP SANs",
                             host);
    else if (names.len == 0)
        r = berth_user_error(err, EPROTO,
                             "tls: failed to verify certificate: x509: certificate relies on "
                             "legacy Common Name field, use SANs instead");
    else
        r = berth_user_error(err, EPROTO,
                             "tls: failed to verify certificate: x509: certificate is valid for "
                             "%s, not %s",
                             names.data, host);
    buf_free(&names);
    return r;
}

static int verify_error(const struct tls_session *s, struct berth_err **err)
{
    uint32_t flags = mbedtls_ssl_get_verify_result(&s->ssl);
    if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
        return berth_user_error(err, EPROTO,
                                "tls: failed to verify certificate: x509: certificate signed by "
                                "unknown authority");
    if (flags & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE))
        return berth_user_error(err, EPROTO,
                                "tls: failed to verify certificate: x509: certificate has expired "
                                "or is not yet valid");
    if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
        return name_mismatch(s, err);
    char info[256] = "";
    mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
    info[strcspn(info, "\n")] = '\0';
    return berth_user_error(err, EPROTO, "tls: failed to verify certificate: x509: %s", info);
}

static int tls_failure(const struct tls_session *s, int r, struct berth_err **err)
{
    if (peer_speaks_http(s))
        return berth_user_error(err, EPROTO, "http: server gave HTTP response to HTTPS client");
    if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED)
        return verify_error(s, err);
    if (r == MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED) /* no CA at all: nothing can be trusted */
        return berth_user_error(err, EPROTO,
                                "tls: failed to verify certificate: x509: certificate signed by "
                                "unknown authority");
    if (r == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
        unsigned char alert = s->ssl.in_msg ? s->ssl.in_msg[1] : 0;
        const char *words = alert_words(alert);
        return words ? berth_user_error(err, EPROTO, "remote error: tls: %s", words)
                     : berth_user_error(err, EPROTO, "remote error: tls: alert(%u)", alert);
    }
    if (s->nfirst > 0 && s->first[0] != 0x16 && s->first[0] != 0x15)
        return berth_user_error(err, EPROTO,
                                "tls: first record does not look like a TLS handshake");
    char words[160];
    mbedtls_strerror(r, words, sizeof(words));
    return berth_user_error(err, EPROTO, "tls: %s", words);
}

int tls_session_handshake(struct tls_session *s, struct berth_err **err)
{
    if (peer_speaks_http(s))
        return tls_failure(s, 0, err);
    int r = mbedtls_ssl_handshake(&s->ssl);
    if (r == 0)
        return 1;
    if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
        return 0;
    return tls_failure(s, r, err);
}

ssize_t tls_session_read(struct tls_session *s, char *buf, size_t cap, struct berth_err **err)
{
    int r = mbedtls_ssl_read(&s->ssl, (unsigned char *)buf, cap);
    if (r > 0)
        return r;
    if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
        return 0;
    if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
        return -EPIPE;
    int e = tls_failure(s, r, err);
    return e == -EPIPE ? -EIO : e;
}

int tls_session_write(struct tls_session *s, const void *data, size_t n, struct berth_err **err)
{
    const unsigned char *p = data;
    while (n > 0) {
        int r = mbedtls_ssl_write(&s->ssl, p, n);
        if (r < 0)
            return tls_failure(s, r, err);
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int tls_session_eof_error(const struct tls_session *s, struct berth_err **err)
{
    if (peer_speaks_http(s))
        return berth_user_error(err, EPROTO, "http: server gave HTTP response to HTTPS client");
    if (s->nfirst > 0 && s->first[0] != 0x16 && s->first[0] != 0x15)
        return berth_user_error(err, EPROTO,
                                "tls: first record does not look like a TLS handshake");
    return berth_user_error(err, ECONNRESET, "EOF");
}
