/* tests/net/test_hclient.c — net/registry/hclient.c against a small threaded HTTP(S) server in this
 * file (blocking sockets, mbedtls on the server side), every case on both reactor backends. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/macros.h"
#include "core/pool.h"
#include "core/reactor.h"
#include "core/xalloc.h"
#include "net/registry/hclient.h"

#define BIG_SIZE    (4 << 20)
#define UPLOAD_SIZE (3 << 20)

static const char *const backends[] = {"io_uring", "epoll"};

/* ---- the server ---- */

struct srv {
    int lfd, port, other_port;
    bool tls, mtls;
    char *crt, *key, *ca;
    atomic_int accepted;
    atomic_bool stop;
    pthread_t acceptor;
    pthread_mutex_t lock;
    pthread_t threads[256];
    int nthreads;
};

struct sconn {
    struct srv *s;
    int id;
    bool drop_next; /* close on the next request without answering, as a server timing out */
    mbedtls_net_context net;
    bool tls;
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_entropy_context ent;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt crt, ca;
    mbedtls_pk_context pk;
    char in[65536];
    size_t len;
};

static uint8_t pattern(size_t i)
{
    return (uint8_t)((i * 7) % 251);
}

static uint8_t upload_byte(size_t i)
{
    return (uint8_t)(i * 13 + 7);
}

static uint64_t sum_add(uint64_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sum = sum * 31 + p[i];
    return sum;
}

/* > 0 bytes, 0 at EOF, -1 on error or when the server stops. */
static ssize_t s_read(struct sconn *c, char *buf, size_t n)
{
    while (!atomic_load(&c->s->stop)) {
        int r = c->tls ? mbedtls_ssl_read(&c->ssl, (unsigned char *)buf, n)
                       : (int)recv(c->net.fd, buf, n, 0);
        if (r >= 0)
            return r;
        if (c->tls && r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
            return 0;
        if ((c->tls && r == MBEDTLS_ERR_SSL_WANT_READ) ||
            (!c->tls && (errno == EAGAIN || errno == EINTR)))
            continue;
        return -1;
    }
    return -1;
}

static int s_write(struct sconn *c, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0 && !atomic_load(&c->s->stop)) {
        int r = c->tls ? mbedtls_ssl_write(&c->ssl, (const unsigned char *)p, n)
                       : (int)send(c->net.fd, p, n, MSG_NOSIGNAL);
        if (r > 0) {
            p += r;
            n -= (size_t)r;
        } else if (!((c->tls && r == MBEDTLS_ERR_SSL_WANT_WRITE) ||
                     (!c->tls && (errno == EAGAIN || errno == EINTR)))) {
            return -1;
        }
    }
    return n == 0 ? 0 : -1;
}

static int s_printf(struct sconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_printf(struct sconn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *s = xvasprintf(fmt, ap);
    va_end(ap);
    return s_write(c, s, strlen(s));
}

static bool fill(struct sconn *c)
{
    if (c->len == sizeof(c->in))
        return false;
    ssize_t n = s_read(c, c->in + c->len, sizeof(c->in) - c->len);
    if (n <= 0)
        return false;
    c->len += (size_t)n;
    return true;
}

static void consume(struct sconn *c, size_t n)
{
    memmove(c->in, c->in + n, c->len - n);
    c->len -= n;
}

/* Up to and including `end`, copied into out (NUL-terminated) and consumed. */
static bool read_until(struct sconn *c, const char *end, char *out, size_t cap)
{
    for (;;) {
        char *e = memmem(c->in, c->len, end, strlen(end));
        if (e) {
            size_t n = (size_t)(e - c->in) + strlen(end);
            if (n >= cap)
                return false;
            memcpy(out, c->in, n);
            out[n] = '\0';
            consume(c, n);
            return true;
        }
        if (!fill(c))
            return false;
    }
}

static bool read_exact(struct sconn *c, size_t n, int64_t *count, uint64_t *sum)
{
    while (n > 0) {
        if (c->len == 0 && !fill(c))
            return false;
        size_t k = c->len < n ? c->len : n;
        *sum = sum_add(*sum, (const uint8_t *)c->in, k);
        *count += (int64_t)k;
        consume(c, k);
        n -= k;
    }
    return true;
}

static bool read_body(struct sconn *c, const char *head, int64_t *count, uint64_t *sum)
{
    const char *cl = strcasestr(head, "\r\nContent-Length:");
    if (cl)
        return read_exact(c, (size_t)atoll(cl + 17), count, sum);
    if (!strcasestr(head, "\r\nTransfer-Encoding: chunked"))
        return true;
    char line[128];
    for (;;) {
        if (!read_until(c, "\r\n", line, sizeof(line)))
            return false;
        size_t n = strtoul(line, NULL, 16);
        if (n == 0)
            return read_until(c, "\r\n", line, sizeof(line));
        if (!read_exact(c, n, count, sum) || !read_until(c, "\r\n", line, sizeof(line)))
            return false;
    }
}

static void send_big(struct sconn *c)
{
    static uint8_t chunk[65536];
    s_printf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", BIG_SIZE);
    for (size_t off = 0; off < BIG_SIZE; off += sizeof(chunk)) {
        for (size_t i = 0; i < sizeof(chunk); i++)
            chunk[i] = pattern(off + i);
        if (s_write(c, chunk, sizeof(chunk)) < 0)
            return;
    }
}

static void stall(struct sconn *c)
{
    s_printf(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
    char b[64];
    while (s_read(c, b, sizeof(b)) > 0) /* until the client gives up or the server stops */
        ;
}

/* Returns false when the connection must close after this response. */
static bool respond(struct sconn *c, const char *head, const char *path, int64_t count,
                    uint64_t sum)
{
    int other = c->s->other_port;
    bool auth = strcasestr(head, "\r\nAuthorization:") != NULL;
    if (strcmp(path, "/hello") == 0)
        return s_printf(c, "HTTP/1.1 200 OK\r\nX-Conn: %d\r\nContent-Length: 5\r\n\r\nhello",
                        c->id) == 0;
    if (strcmp(path, "/chunked") == 0)
        return s_printf(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
                           "4\r\ndefg\r\n2\r\nhi\r\n0\r\n\r\n") == 0;
    if (strcmp(path, "/eof") == 0)
        return s_printf(c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-eof"), false;
    if (strcmp(path, "/redirect") == 0)
        return s_printf(c, "HTTP/1.1 302 Found\r\nLocation: /hello\r\nContent-Length: 3\r\n\r\n"
                           "abc") == 0;
    if (strcmp(path, "/redirect-loop") == 0)
        return s_printf(c, "HTTP/1.1 302 Found\r\nLocation: redirect-loop\r\n"
                           "Content-Length: 0\r\n\r\n") == 0;
    if (strcmp(path, "/redirect-other") == 0)
        return s_printf(c,
                        "HTTP/1.1 307 Temporary Redirect\r\nLocation: "
                        "http://127.0.0.1:%d/hello\r\nContent-Length: 0\r\n\r\n",
                        other) == 0;
    if (strcmp(path, "/redirect-auth-other") == 0)
        return s_printf(c,
                        "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/auth\r\n"
                        "Content-Length: 0\r\n\r\n",
                        other) == 0;
    if (strcmp(path, "/redirect-auth") == 0)
        return s_printf(c, "HTTP/1.1 302 Found\r\nLocation: /auth\r\nContent-Length: 0\r\n\r\n") ==
               0;
    if (strcmp(path, "/auth") == 0)
        return s_printf(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n%s",
                        auth ? "yes" : "no!") == 0;
    if (strcmp(path, "/big") == 0)
        return send_big(c), true;
    if (strcmp(path, "/stall") == 0)
        return stall(c), false;
    if (strcmp(path, "/upload") == 0) {
        char body[64];
        snprintf(body, sizeof(body), "%lld %llu", (long long)count, (unsigned long long)sum);
        return s_printf(c, "HTTP/1.1 201 Created\r\nContent-Length: %zu\r\n\r\n%s", strlen(body),
                        body) == 0;
    }
    if (strcmp(path, "/once") == 0) {
        c->drop_next = true;
        return s_printf(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nonce") == 0;
    }
    if (strcmp(path, "/head") == 0)
        return s_printf(c, "HTTP/1.1 200 OK\r\nContent-Length: 123456789\r\n\r\n") == 0;
    return s_printf(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n") == 0;
}

static bool serve_one(struct sconn *c)
{
    char head[8192], method[16], path[512];
    if (c->len == 0 && !fill(c))
        return false;
    if (c->in[0] == 0x16) /* a TLS hello on a plain port: Go's net/http answers this way */
        return s_printf(c, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8"
                           "\r\nConnection: close\r\n\r\n400 Bad Request"),
               false;
    if (!read_until(c, "\r\n\r\n", head, sizeof(head)) || c->drop_next ||
        sscanf(head, "%15s %511s", method, path) != 2)
        return false;
    int64_t count = 0;
    uint64_t sum = 0;
    if (!read_body(c, head, &count, &sum))
        return false;
    return respond(c, head, path, count, sum);
}

/* mbedtls_net_recv() calls the EAGAIN of a receive timeout a failure on a blocking socket;
 * the server uses the timeout only to notice a stop, so it means "try again" here. */
static int bio_recv(void *ctx, unsigned char *buf, size_t n)
{
    ssize_t r = recv(*(int *)ctx, buf, n, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return MBEDTLS_ERR_SSL_WANT_READ;
    return r < 0 ? MBEDTLS_ERR_NET_RECV_FAILED : (int)r;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t n)
{
    ssize_t r = send(*(int *)ctx, buf, n, MSG_NOSIGNAL);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    return r < 0 ? MBEDTLS_ERR_NET_SEND_FAILED : (int)r;
}

static int tls_server_setup(struct sconn *c)
{
    struct srv *s = c->s;
    mbedtls_ssl_init(&c->ssl);
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_entropy_init(&c->ent);
    mbedtls_ctr_drbg_init(&c->drbg);
    mbedtls_x509_crt_init(&c->crt);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_pk_init(&c->pk);
    if (mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->ent, NULL, 0) ||
        mbedtls_x509_crt_parse_file(&c->crt, s->crt) ||
        mbedtls_x509_crt_parse_file(&c->ca, s->ca) ||
        mbedtls_pk_parse_keyfile(&c->pk, s->key, NULL) ||
        mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT))
        return -1;
    mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
    mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
    mbedtls_ssl_conf_authmode(&c->conf,
                              s->mtls ? MBEDTLS_SSL_VERIFY_REQUIRED : MBEDTLS_SSL_VERIFY_NONE);
    if (mbedtls_ssl_conf_own_cert(&c->conf, &c->crt, &c->pk) ||
        mbedtls_ssl_setup(&c->ssl, &c->conf))
        return -1;
    mbedtls_ssl_set_bio(&c->ssl, &c->net.fd, bio_send, bio_recv, NULL);
    c->tls = true;
    int r;
    while ((r = mbedtls_ssl_handshake(&c->ssl)) != 0)
        if ((r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE) ||
            atomic_load(&s->stop)) {
            if (getenv("TEST_DEBUG"))
                fprintf(stderr, "server handshake: -0x%04x\n", (unsigned)-r);
            return -1;
        }
    return 0;
}

static void tls_server_free(struct sconn *c)
{
    mbedtls_ssl_free(&c->ssl);
    mbedtls_ssl_config_free(&c->conf);
    mbedtls_ctr_drbg_free(&c->drbg);
    mbedtls_entropy_free(&c->ent);
    mbedtls_x509_crt_free(&c->crt);
    mbedtls_x509_crt_free(&c->ca);
    mbedtls_pk_free(&c->pk);
}

static void *conn_thread(void *arg)
{
    struct sconn *c = arg;
    if (!c->s->tls || tls_server_setup(c) == 0)
        while (serve_one(c))
            ;
    if (c->s->tls)
        tls_server_free(c);
    close(c->net.fd);
    free(c);
    return NULL;
}

static void *accept_thread(void *arg)
{
    struct srv *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {.fd = s->lfd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        struct timeval tv = {.tv_usec = 50000}; /* wake up to notice a stop */
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        struct sconn *c = xcalloc(1, sizeof(*c));
        c->s = s;
        c->net.fd = fd;
        c->id = atomic_fetch_add(&s->accepted, 1) + 1;
        pthread_mutex_lock(&s->lock);
        if (s->nthreads < 256 &&
            pthread_create(&s->threads[s->nthreads], NULL, conn_thread, c) == 0)
            s->nthreads++;
        else
            close(fd), free(c);
        pthread_mutex_unlock(&s->lock);
    }
    return NULL;
}

static struct srv *srv_start(bool tls, bool mtls, const char *dir)
{
    struct srv *s = xcalloc(1, sizeof(*s));
    s->tls = tls;
    s->mtls = mtls;
    if (tls) {
        s->crt = xasprintf("%s/server.crt", dir);
        s->key = xasprintf("%s/server.key", dir);
        s->ca = xasprintf("%s/ca.crt", dir);
    }
    pthread_mutex_init(&s->lock, NULL);
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s->lfd, 64) < 0 ||
        getsockname(s->lfd, (struct sockaddr *)&a, &len) < 0)
        abort();
    s->port = ntohs(a.sin_port);
    pthread_create(&s->acceptor, NULL, accept_thread, s);
    return s;
}

static void srv_stop(struct srv *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, true);
    pthread_join(s->acceptor, NULL);
    for (int i = 0; i < s->nthreads; i++)
        pthread_join(s->threads[i], NULL);
    close(s->lfd);
    free(s->crt);
    free(s->key);
    free(s->ca);
    free(s);
}

/* ---- fixtures ---- */

struct world {
    char dir[64];
    bool have_tls;
    struct srv *plain, *other, *tls, *mtls;
};

static struct world W;

static int run(const char *cmd)
{
    return system(cmd) == 0 ? 0 : -1;
}

/* A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate. */
static int make_certs(const char *d)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "(cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-days 2 -keyout ca.key -out ca.crt -subj '/CN=hclient test CA' "
             "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign "
             "&& openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout server.key -out server.csr -subj /CN=localhost "
             "&& printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > server.ext "
             "&& openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-days 2 -extfile server.ext -out server.crt "
             "&& openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout client.key -out client.csr -subj /CN=client "
             "&& printf 'extendedKeyUsage=clientAuth\\n' > client.ext "
             "&& openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-days 2 -extfile client.ext -out client.cert) >/dev/null 2>&1",
             d);
    return run(cmd);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(W.dir, sizeof(W.dir), "/tmp/berth-hclient.XXXXXX");
    if (!mkdtemp(W.dir))
        return -1;
    W.have_tls = system("command -v openssl >/dev/null 2>&1") == 0 && make_certs(W.dir) == 0;
    W.plain = srv_start(false, false, W.dir);
    W.other = srv_start(false, false, W.dir);
    W.plain->other_port = W.other->port;
    if (W.have_tls) {
        W.tls = srv_start(true, false, W.dir);
        W.mtls = srv_start(true, true, W.dir);
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    srv_stop(W.plain);
    srv_stop(W.other);
    srv_stop(W.tls);
    srv_stop(W.mtls);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", W.dir);
    return run(cmd);
}

/* ---- the client side ---- */

struct env {
    struct reactor *r;
    struct pool *pool;
    struct hclient *hc;
    struct reactor_timer guard, stop_after;
    int pending;
    bool timed_out;
};

struct res {
    struct env *e;
    struct hreq *q;
    int status, heads, res, errstatus;
    char *err, *xconn;
    struct buf body;
    bool done;
    uint64_t sum;
    /* behaviours */
    bool pause_at_first, cancel_at_first, verify_pattern;
    size_t bodies_while_paused;
    bool paused, pause_at_head, cancel_at_head;
    struct reactor_timer resume_timer;
    /* uploads */
    size_t upload_total, upload_sent, drains;
};

static void on_guard(struct reactor_timer *t)
{
    struct env *e = container_of(t, struct env, guard);
    e->timed_out = true;
    reactor_stop(e->r);
}

static void on_stop_after(struct reactor_timer *t)
{
    struct env *e = container_of(t, struct env, stop_after);
    reactor_stop(e->r);
}

static bool env_open(struct env *e, const char *backend, const struct hclient_opts *o)
{
    memset(e, 0, sizeof(*e));
    struct berth_err *err = NULL;
    e->r = reactor_new(backend, &err);
    if (!e->r) {
        print_message("# reactor %s unavailable: %s\n", backend, err ? err->msg : "?");
        berth_err_free(err);
        return false;
    }
    e->pool = pool_new(e->r, 2, 1);
    e->hc = hclient_new(e->r, e->pool, o);
    e->guard.fn = on_guard;
    e->stop_after.fn = on_stop_after;
    return true;
}

static void env_close(struct env *e)
{
    hclient_free(e->hc);
    pool_free(e->pool);
    reactor_free(e->r);
}

/* Run until every request is done (or ms passed when ms > 0: for "nothing more happens"). */
static void env_run(struct env *e, uint64_t ms)
{
    reactor_timer_start(e->r, &e->guard, 20000);
    if (ms)
        reactor_timer_start(e->r, &e->stop_after, ms);
    if (ms || e->pending > 0)
        reactor_run(e->r);
    reactor_timer_stop(e->r, &e->guard);
    reactor_timer_stop(e->r, &e->stop_after);
    assert_false(e->timed_out);
}

static void r_resume(struct reactor_timer *t)
{
    struct res *r = container_of(t, struct res, resume_timer);
    r->paused = false;
    hreq_resume(r->q);
}

static void r_head(void *ctx, const struct http_msg *m)
{
    struct res *r = ctx;
    r->status = m->status;
    r->heads++;
    const char *x = http_msg_header(m, "X-Conn");
    free(r->xconn);
    r->xconn = x ? xstrdup(x) : NULL;
    if (r->cancel_at_head) {
        hreq_cancel(r->q);
        r->done = true;
        if (--r->e->pending == 0)
            reactor_timer_start(r->e->r, &r->e->stop_after, 200); /* a callback would show */
    } else if (r->pause_at_head) {
        r->paused = true;
        hreq_pause(r->q);
        r->resume_timer.fn = r_resume;
        reactor_timer_start(r->e->r, &r->resume_timer, 50);
    }
}

static void r_body(void *ctx, const char *data, size_t n)
{
    struct res *r = ctx;
    if (r->paused)
        r->bodies_while_paused++;
    if (r->cancel_at_first) {
        hreq_cancel(r->q);
        r->done = true;
        if (--r->e->pending == 0)
            reactor_timer_start(r->e->r, &r->e->stop_after, 200); /* a callback would show */
        buf_append(&r->body, data, n);
        return;
    }
    if (r->verify_pattern) {
        for (size_t i = 0; i < n; i++)
            if ((uint8_t)data[i] != pattern(r->body.len + i))
                fail_msg("body byte %zu differs", r->body.len + i);
        r->body.len += n; /* counted only: 4 MiB need not be kept */
    } else {
        buf_append(&r->body, data, n);
    }
    /* Pause after every 512 KiB or so, for 30 ms. */
    if (r->pause_at_first && r->body.len / (512 << 10) != (r->body.len - n) / (512 << 10)) {
        r->paused = true;
        hreq_pause(r->q);
        r->resume_timer.fn = r_resume;
        reactor_timer_start(r->e->r, &r->resume_timer, 30);
    }
}

static void r_done(void *ctx, int res, const struct berth_err *err)
{
    struct res *r = ctx;
    assert_false(r->done);
    r->done = true;
    r->res = res;
    r->err = err ? xstrdup(err->msg) : NULL;
    r->errstatus = err ? err->status : 0;
    if (--r->e->pending == 0)
        reactor_stop(r->e->r);
}

static void res_free(struct res *r)
{
    free(r->err);
    free(r->xconn);
    buf_free(&r->body);
}

static struct hreq *start(struct env *e, struct res *r, const char *method, const char *url,
                          const struct hreq_spec *extra)
{
    memset(r, 0, sizeof(*r));
    r->e = e;
    struct hreq_spec spec = extra ? *extra : (struct hreq_spec){0};
    spec.method = method;
    spec.url = url;
    spec.on_head = r_head;
    spec.on_body = r_body;
    spec.on_done = r_done;
    spec.ctx = r;
    e->pending++;
    r->q = hclient_request(e->hc, &spec);
    return r->q;
}

static char *url(const struct srv *s, const char *path)
{
    return xasprintf("%s://127.0.0.1:%d%s", s->tls ? "https" : "http", s->port, path);
}

/* GET url and expect status and body. */
static void get_ok(struct env *e, const char *u, int status, const char *body)
{
    struct res r;
    start(e, &r, "GET", u, NULL);
    env_run(e, 0);
    if (r.res != 0)
        fail_msg("GET %s: %s", u, r.err);
    assert_int_equal(r.status, status);
    assert_string_equal(r.body.data ? r.body.data : "", body);
    res_free(&r);
}

#define FOR_EACH_BACKEND(e, opts)                                                                  \
    for (size_t _b = 0; _b < 2; _b++)                                                              \
        for (struct env e##_v, *e = env_open(&e##_v, backends[_b], opts) ? &e##_v : NULL; e;       \
             env_close(e), e = NULL)

/* ---- tests ---- */

static void test_keepalive(void **state)
{
    (void)state;
    FOR_EACH_BACKEND(e, NULL)
    {
        int before = atomic_load(&W.plain->accepted);
        _cleanup_free_ char *u = url(W.plain, "/hello");
        struct res a, b;
        start(e, &a, "GET", u, NULL);
        env_run(e, 0);
        start(e, &b, "GET", u, NULL);
        env_run(e, 0);
        assert_int_equal(a.res, 0);
        assert_int_equal(b.res, 0);
        assert_string_equal(a.body.data, "hello");
        assert_string_equal(b.body.data, "hello");
        assert_non_null(a.xconn);
        assert_string_equal(a.xconn, b.xconn); /* the same connection served both */
        assert_int_equal(atomic_load(&W.plain->accepted), before + 1);
        res_free(&a);
        res_free(&b);
    }
}

static void test_bodies(void **state)
{
    (void)state;
    FOR_EACH_BACKEND(e, NULL)
    {
        _cleanup_free_ char *chunked = url(W.plain, "/chunked");
        _cleanup_free_ char *eof = url(W.plain, "/eof");
        _cleanup_free_ char *missing = url(W.plain, "/nothing-here");
        get_ok(e, chunked, 200, "abcdefghi");
        get_ok(e, eof, 200, "until-eof");
        get_ok(e, missing, 404, "");
        /* HEAD: a Content-Length but no body follows. */
        _cleanup_free_ char *head = url(W.plain, "/head");
        struct res r;
        start(e, &r, "HEAD", head, NULL);
        env_run(e, 0);
        assert_int_equal(r.res, 0);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body.len, 0);
        res_free(&r);
        get_ok(e, chunked, 200, "abcdefghi"); /* the connection is still in step */
    }
}

static void test_redirects(void **state)
{
    (void)state;
    FOR_EACH_BACKEND(e, NULL)
    {
        struct hreq_spec follow = {.max_redirects = 5};
        _cleanup_free_ char *same = url(W.plain, "/redirect");
        _cleanup_free_ char *other = url(W.plain, "/redirect-other");
        _cleanup_free_ char *loop = url(W.plain, "/redirect-loop");
        struct res r;
        start(e, &r, "GET", same, &follow);
        env_run(e, 0);
        assert_int_equal(r.res, 0);
        assert_int_equal(r.heads, 1); /* only the final response's head */
        assert_string_equal(r.body.data, "hello");
        res_free(&r);
        start(e, &r, "GET", other, &follow);
        env_run(e, 0);
        assert_int_equal(r.res, 0);
        assert_string_equal(r.body.data, "hello");
        res_free(&r);
        start(e, &r, "GET", same, NULL); /* max_redirects 0: the redirect itself */
        env_run(e, 0);
        assert_int_equal(r.status, 302);
        assert_string_equal(r.body.data, "abc");
        res_free(&r);
        start(e, &r, "GET", loop, &follow);
        env_run(e, 0);
        assert_true(r.res < 0);
        _cleanup_free_ char *want = xasprintf("Get \"http://127.0.0.1:%d/redirect-loop\": "
                                              "stopped after 5 redirects",
                                              W.plain->port);
        assert_string_equal(r.err, want);
        res_free(&r);
    }
}

/* Authorization goes along on the same host and never to another one. */
static void test_redirect_auth(void **state)
{
    (void)state;
    FOR_EACH_BACKEND(e, NULL)
    {
        struct hreq_spec spec = {.max_redirects = 3, .headers = "Authorization: Bearer t\r\n"};
        _cleanup_free_ char *same = url(W.plain, "/redirect-auth");
        _cleanup_free_ char *other = url(W.plain, "/redirect-auth-other");
        struct res r;
        start(e, &r, "GET", same, &spec);
        env_run(e, 0);
        assert_string_equal(r.body.data, "yes");
        res_free(&r);
        start(e, &r, "GET", other, &spec);
        env_run(e, 0);
        assert_string_equal(r.body.data, "no!");
        res_free(&r);
    }
}

static void check_big(struct env *e, const char *u)
{
    struct res r;
    memset(&r, 0, sizeof(r));
    start(e, &r, "GET", u, NULL);
    r.verify_pattern = r.pause_at_first = true;
    env_run(e, 0);
    if (r.res != 0)
        fail_msg("GET %s: %s", u, r.err);
    assert_int_equal(r.body.len, BIG_SIZE);
    assert_int_equal(r.bodies_while_paused, 0); /* nothing reached on_body during a pause */
    r.body.len = 0;
    res_free(&r);
}

static void test_pause_resume(void **state)
{
    (void)state;
    FOR_EACH_BACKEND(e, NULL)
    {
        _cleanup_free_ char *u = url(W.plain, "/big");
        check_big(e, u);
        check_big(e, u); /* again on the kept-alive connection */
    }
}

static void up_write(struct res *r)
{
    static uint8_t chunk[100000];
    while (r->upload_sent < r->upload_total) {
        size_t n = r->upload_total - r->upload_sent;
        n = n < sizeof(chunk) ? n : sizeof(chunk);
        for (size_t i = 0; i < n; i++)
            chunk[i] = upload_byte(r->upload_sent + i);
        r->upload_sent += n;
        if (!hreq_write(r->q, chunk, n))
            return; /* on_drain brings us back */
    }
    hreq_end(r->q);
}

static void up_drain(void *ctx)
{
    struct res *r = ctx;
    r->drains++;
    up_write(r);
}

static void upload(struct env *e, int64_t len_header)
{
    _cleanup_free_ char *u = url(W.plain, "/upload");
    struct hreq_spec spec = {.stream_body = true, .stream_len = len_header, .on_drain = up_drain};
    struct res r;
    start(e, &r, "PUT", u, &spec);
    r.upload_total = UPLOAD_SIZE;
    up_write(&r);
    env_run(e, 0);
    if (r.res != 0)
        fail_msg("upload: %s", r.err);
    assert_int_equal(r.status, 201);
    uint8_t *all = xmalloc(UPLOAD_SIZE);
    for (size_t i = 0; i < UPLOAD_SIZE; i++)
        all[i] = upload_byte(i);
    _cleanup_free_ char *want =
        xasprintf("%d %llu", UPLOAD_SIZE, (unsigned long long)sum_add(0, all, UPLOAD_SIZE));
    free(all);
    assert_string_equal(r.body.data, want);
    assert_true(r.drains > 0); /* the writer was held back at least once */
    res_free(&r);
}

static void test_upload(void **state)
{
    (void)state;
    FOR_EACH_BACKEND(e, NULL)
    {
        upload(e, -1);          /* chunked */
        upload(e, UPLOAD_SIZE); /* Content-Length */
        _cleanup_free_ char *u = url(W.plain, "/upload");
        struct hreq_spec whole = {.body = "0123456789", .body_len = 10};
        struct res r;
        start(e, &r, "POST", u, &whole);
        env_run(e, 0);
        assert_int_equal(r.status, 201);
        assert_non_null(strstr(r.body.data, "10 "));
        res_free(&r);
    }
}

static void test_refused(void **state)
{
    (void)state;
    FOR_EACH_BACKEND(e, NULL)
    {
        struct res r;
        start(e, &r, "GET", "http://127.0.0.1:1/v2/", NULL);
        assert_false(r.done); /* never from inside hclient_request() */
        env_run(e, 0);
        assert_true(r.res < 0);
        assert_int_equal(r.errstatus, ECONNREFUSED);
        assert_string_equal(r.err, "Get \"http://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1: "
                                   "connect: connection refused");
        res_free(&r);
        start(e, &r, "GET", "ftp://127.0.0.1/x", NULL);
        assert_false(r.done);
        env_run(e, 0);
        assert_string_equal(r.err,
                            "Get \"ftp://127.0.0.1/x\": unsupported protocol scheme \"ftp\"");
        res_free(&r);
    }
}

static void test_stall_timeout(void **state)
{
    (void)state;
    struct hclient_opts o = {.io_timeout_ms = 300};
    FOR_EACH_BACKEND(e, &o)
    {
        _cleanup_free_ char *u = url(W.plain, "/stall");
        struct res r;
        start(e, &r, "GET", u, NULL);
        env_run(e, 0);
        assert_true(r.res < 0);
        assert_int_equal(r.errstatus, ETIMEDOUT);
        assert_string_equal(r.body.data, "0123456789");
        assert_non_null(strstr(r.err, "i/o timeout"));
        assert_non_null(strstr(r.err, "read tcp 127.0.0.1:"));
        res_free(&r);
    }
}

static void test_cancel(void **state)
{
    (void)state;
    FOR_EACH_BACKEND(e, NULL)
    {
        _cleanup_free_ char *u = url(W.plain, "/stall");
        struct res r;
        start(e, &r, "GET", u, NULL);
        r.cancel_at_first = true;
        env_run(e, 0);
        env_run(e, 200); /* r_done would fail the test */
        assert_string_equal(r.body.data, "0123456789");
        res_free(&r);
        /* Cancelled before it even connected. */
        start(e, &r, "GET", u, NULL);
        hreq_cancel(r.q);
        e->pending--;
        env_run(e, 200);
        assert_false(r.done);
        res_free(&r);
        _cleanup_free_ char *hello = url(W.plain, "/hello");
        get_ok(e, hello, 200, "hello"); /* the client is still fine */
    }
}

/* The server drops a kept-alive connection just as the next request arrives: the request goes
 * again on a new connection, as Go's transport does for a request that got no byte back. */
static void test_stale_retry(void **state)
{
    (void)state;
    FOR_EACH_BACKEND(e, NULL)
    {
        _cleanup_free_ char *once = url(W.plain, "/once");
        _cleanup_free_ char *hello = url(W.plain, "/hello");
        int before = atomic_load(&W.plain->accepted);
        get_ok(e, once, 200, "once");
        get_ok(e, hello, 200, "hello");
        assert_int_equal(atomic_load(&W.plain->accepted), before + 2);
    }
}

static void test_head_callbacks(void **state)
{
    (void)state;
    FOR_EACH_BACKEND(e, NULL)
    {
        _cleanup_free_ char *chunked = url(W.plain, "/chunked");
        _cleanup_free_ char *big = url(W.plain, "/big");
        struct res r;
        start(e, &r, "GET", chunked, NULL);
        r.pause_at_head = true; /* paused before any body byte */
        env_run(e, 0);
        assert_int_equal(r.res, 0);
        assert_int_equal(r.bodies_while_paused, 0);
        assert_string_equal(r.body.data, "abcdefghi");
        res_free(&r);
        start(e, &r, "GET", big, NULL);
        r.cancel_at_head = true; /* as push does when an upload is refused */
        env_run(e, 0);
        env_run(e, 200);
        assert_int_equal(r.body.len, 0);
        res_free(&r);
        get_ok(e, chunked, 200, "abcdefghi");
    }
}

/* A listener whose accept queue is full: SYNs go unanswered, the dial times out. */
static void test_connect_timeout(void **state)
{
    (void)state;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(l, 0), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
    int filler = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (connect(filler, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS)
        fail_msg("filler connect: %s", strerror(errno));
    usleep(50000);
    struct hclient_opts o = {.connect_timeout_ms = 300};
    FOR_EACH_BACKEND(e, &o)
    {
        _cleanup_free_ char *u = xasprintf("http://127.0.0.1:%d/x", ntohs(a.sin_port));
        struct res r;
        start(e, &r, "GET", u, NULL);
        env_run(e, 0);
        _cleanup_free_ char *want =
            xasprintf("Get \"%s\": dial tcp 127.0.0.1:%d: i/o timeout", u, ntohs(a.sin_port));
        assert_string_equal(r.err, want);
        assert_int_equal(r.errstatus, ETIMEDOUT);
        res_free(&r);
    }
    close(filler);
    close(l);
}

static char *certs_d(const char *name)
{
    return xasprintf("%s/%s", W.dir, name);
}

/* Docker's layout: DIR/HOST:PORT/ca.crt, and client.cert + client.key for mutual TLS. */
static void put_certs(const char *dir, int port, bool with_client)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "mkdir -p %1$s/127.0.0.1:%2$d %1$s/localhost:%2$d && "
             "cp %3$s/ca.crt %1$s/127.0.0.1:%2$d/ && cp %3$s/ca.crt %1$s/localhost:%2$d/",
             dir, port, W.dir);
    assert_int_equal(run(cmd), 0);
    if (!with_client)
        return;
    snprintf(cmd, sizeof(cmd), "cp %1$s/client.cert %1$s/client.key %2$s/127.0.0.1:%3$d/", W.dir,
             dir, port);
    assert_int_equal(run(cmd), 0);
}

static void test_tls(void **state)
{
    (void)state;
    if (!W.have_tls)
        skip();
    _cleanup_free_ char *dir = certs_d("certs.d");
    put_certs(dir, W.tls->port, false);
    struct hclient_opts trusting = {.certs_dir = dir, .system_ca_file = "/nonexistent"};
    FOR_EACH_BACKEND(e, &trusting)
    {
        _cleanup_free_ char *u = url(W.tls, "/hello");
        _cleanup_free_ char *byname = xasprintf("https://localhost:%d/chunked", W.tls->port);
        _cleanup_free_ char *big = url(W.tls, "/big");
        get_ok(e, u, 200, "hello");
        get_ok(e, byname, 200, "abcdefghi"); /* resolved in the pool; SNI and DNS SAN */
        check_big(e, big);
        struct res a, b;
        start(e, &a, "GET", u, NULL);
        env_run(e, 0);
        start(e, &b, "GET", u, NULL);
        env_run(e, 0);
        assert_string_equal(a.xconn, b.xconn);
        res_free(&a);
        res_free(&b);
    }
    struct hclient_opts plain = {.system_ca_file = "/nonexistent"};
    FOR_EACH_BACKEND(e, &plain)
    {
        _cleanup_free_ char *u = url(W.tls, "/hello");
        struct res r;
        start(e, &r, "GET", u, NULL);
        env_run(e, 0);
        assert_true(r.res < 0);
        _cleanup_free_ char *want = xasprintf(
            "Get \"%s\": tls: failed to verify certificate: x509: certificate signed by unknown "
            "authority",
            u);
        assert_string_equal(r.err, want);
        res_free(&r);
        struct hreq_spec insecure = {.insecure_tls = true};
        start(e, &r, "GET", u, &insecure);
        env_run(e, 0);
        assert_int_equal(r.res, 0);
        assert_string_equal(r.body.data, "hello");
        res_free(&r);
    }
}

static void test_tls_words(void **state)
{
    (void)state;
    if (!W.have_tls)
        skip();
    FOR_EACH_BACKEND(e, NULL)
    {
        /* https to a plain HTTP port */
        _cleanup_free_ char *u = xasprintf("https://127.0.0.1:%d/hello", W.plain->port);
        struct res r;
        start(e, &r, "GET", u, NULL);
        env_run(e, 0);
        _cleanup_free_ char *want =
            xasprintf("Get \"%s\": http: server gave HTTP response to HTTPS client", u);
        assert_string_equal(r.err, want);
        res_free(&r);
    }
}

static void test_mtls(void **state)
{
    (void)state;
    if (!W.have_tls)
        skip();
    _cleanup_free_ char *with = certs_d("certs-mtls.d");
    _cleanup_free_ char *without = certs_d("certs-nomtls.d");
    put_certs(with, W.mtls->port, true);
    put_certs(without, W.mtls->port, false);
    struct hclient_opts o1 = {.certs_dir = with, .system_ca_file = "/nonexistent"};
    FOR_EACH_BACKEND(e, &o1)
    {
        _cleanup_free_ char *u = url(W.mtls, "/hello");
        get_ok(e, u, 200, "hello");
    }
    struct hclient_opts o2 = {.certs_dir = without, .system_ca_file = "/nonexistent"};
    FOR_EACH_BACKEND(e, &o2)
    {
        _cleanup_free_ char *u = url(W.mtls, "/hello");
        struct res r;
        start(e, &r, "GET", u, NULL);
        env_run(e, 0);
        assert_true(r.res < 0); /* the server wants a client certificate */
        res_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keepalive),       cmocka_unit_test(test_bodies),
        cmocka_unit_test(test_redirects),       cmocka_unit_test(test_redirect_auth),
        cmocka_unit_test(test_pause_resume),    cmocka_unit_test(test_upload),
        cmocka_unit_test(test_refused),         cmocka_unit_test(test_stall_timeout),
        cmocka_unit_test(test_cancel),          cmocka_unit_test(test_tls),
        cmocka_unit_test(test_tls_words),       cmocka_unit_test(test_mtls),
        cmocka_unit_test(test_stale_retry),     cmocka_unit_test(test_head_callbacks),
        cmocka_unit_test(test_connect_timeout),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
