/* net/network/dns.c — the embedded DNS server's life per container: a pool job binds its
 * sockets inside the container's netns, the reactor serves them; UDP queries are answered here,
 * TCP ones in dns_tcp.c, and what is not local goes upstream through dns_fwd.c. */
#include "net/network/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "net/network/dns_priv.h"

#define TCP_BACKLOG     64
#define ACCEPT_RETRY_MS 100
#define BIND_TRIES      20
#define BIND_WAIT_US    5000

static const struct dns_server_opts defaults = {
    .addr = "127.0.0.11",
    .port = DNS_PORT,
    .timeout_ms = 4000,
    .max_inflight = 64,
    .max_tcp = 16,
    .tcp_idle_ms = 8000,
    .tcp_max_queries = 128,
};

/* addr (v4 or v6 text) and port as a socket address; its length, or 0 when addr is not one. */
static uint32_t make_sockaddr(const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        return sizeof(*in);
    }
    if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        return sizeof(*in6);
    }
    return 0;
}

struct dns_server *dns_server_new(struct reactor *r, struct pool *pool,
                                  const struct dns_server_opts *opts)
{
    struct dns_server *s = xcalloc(1, sizeof(*s));
    s->r = r;
    s->pool = pool;
    s->o = opts ? *opts : defaults;
    const struct dns_server_opts *d = &defaults;
    s->o.addr = s->addr = xstrdup(s->o.addr ? s->o.addr : d->addr);
    s->o.port = s->o.port ? s->o.port : d->port;
    s->o.timeout_ms = s->o.timeout_ms ? s->o.timeout_ms : d->timeout_ms;
    s->o.max_inflight = s->o.max_inflight ? s->o.max_inflight : d->max_inflight;
    s->o.max_tcp = s->o.max_tcp ? s->o.max_tcp : d->max_tcp;
    s->o.tcp_idle_ms = s->o.tcp_idle_ms ? s->o.tcp_idle_ms : d->tcp_idle_ms;
    s->o.tcp_max_queries = s->o.tcp_max_queries ? s->o.tcp_max_queries : d->tcp_max_queries;
    s->listen_len = make_sockaddr(s->o.addr, s->o.port, &s->listen);
    if (!s->listen_len) {
        log_error("dns: `%s` is not an address; using %s", s->o.addr, defaults.addr);
        free(s->addr);
        s->o.addr = s->addr = xstrdup(defaults.addr);
        s->listen_len = make_sockaddr(s->o.addr, s->o.port, &s->listen);
    }
    s->scratch = xmalloc(DNS_MSG_MAX);
    return s;
}

void dns_server_free(struct dns_server *s)
{
    if (!s)
        return;
    if (s->live)
        log_error("dns: %u container servers still running at shutdown", s->live);
    free(s->scratch);
    free(s->addr);
    free(s);
}

const struct dns_stats *dns_server_stats(const struct dns_server *s)
{
    return &s->stats;
}

/* ---- queries ---- */

void dns_ctr_reply(struct dns_ctr *c, const struct dns_client *to, const uint8_t *msg, size_t len)
{
    if (to->conn) {
        dns_tcp_send(to->conn, msg, len);
        return;
    }
    /* A full queue drops the reply, as a full socket would: the client asks again. */
    if (!c->udp ||
        reactor_sendmsg(c->udp, msg, len, (const struct sockaddr *)&to->addr, to->addrlen) < 0)
        c->s->stats.dropped++;
}

void dns_ctr_query(struct dns_ctr *c, const struct dns_client *from, const uint8_t *msg, size_t len)
{
    struct dns_server *s = c->s;
    struct dns_query q;
    size_t n = 0;
    bool tcp = from->conn != NULL;
    s->stats.queries++;
    switch (dns_resolve(&c->lookup, msg, len, tcp, &q, s->scratch, &n)) {
    case DNS_DROP:
        s->stats.dropped++;
        return;
    case DNS_REPLY:
        s->stats.local++;
        dns_ctr_reply(c, from, s->scratch, n);
        return;
    case DNS_FORWARD:
        dns_fwd_start(c, from, &q, msg, len, tcp);
        return;
    }
}

static void on_udp(void *ctx, const char *data, ssize_t n, const struct sockaddr *from,
                   uint32_t fromlen)
{
    struct dns_ctr *c = ctx;
    if (n < 0) {
        /* Nothing a client sends ends a UDP receive; whatever did, keep serving. */
        log_warn("dns: receive on %s: %s", c->s->o.addr, strerror((int)-n));
        if (reactor_recvmsg(c->udp, on_udp) < 0)
            log_error("dns: cannot serve UDP on %s any more", c->s->o.addr);
        return;
    }
    struct dns_client cl = {.addrlen = fromlen};
    if (fromlen > sizeof(cl.addr))
        return;
    memcpy(&cl.addr, from, fromlen);
    dns_ctr_query(c, &cl, (const uint8_t *)data, (size_t)n);
}

/* ---- start: sockets made inside the container's netns ---- */

/* 127.0.0.11 is bound only where lo is up (its 127/8 route comes with it). */
static int lo_up(struct berth_err **err)
{
    _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return berth_error(err, errno, "socket");
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        return berth_error(err, errno, "flags of lo");
    if (ifr.ifr_flags & IFF_UP)
        return 0;
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        return berth_error(err, errno, "bring lo up");
    return 0;
}

static int bound_socket(const struct dns_server *s, int type, struct berth_err **err)
{
    _cleanup_close_ int fd = socket(s->listen.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return berth_error(err, errno, "socket");
    int one = 1;
    if (type == SOCK_STREAM)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* A server just stopped in this netns lets go of the address once its cancelled io_uring
     * operations have ended, a moment later: wait for that a little (this is a pool thread). */
    int r, tries = 0;
    while ((r = bind(fd, (const struct sockaddr *)&s->listen, s->listen_len)) < 0 &&
           errno == EADDRINUSE && ++tries < BIND_TRIES)
        usleep(BIND_WAIT_US);
    if (r < 0)
        return berth_error(err, errno, "bind %s:%u/%s", s->o.addr, s->o.port,
                           type == SOCK_STREAM ? "tcp" : "udp");
    if (type == SOCK_STREAM && listen(fd, TCP_BACKLOG) < 0)
        return berth_error(err, errno, "listen on %s:%u", s->o.addr, s->o.port);
    return take_fd(&fd);
}

static int open_sockets(const struct dns_server *s, int fds[2], struct berth_err **err)
{
    int r = lo_up(err);
    if (r < 0)
        return r;
    if ((fds[0] = bound_socket(s, SOCK_DGRAM, err)) < 0)
        return fds[0];
    if ((fds[1] = bound_socket(s, SOCK_STREAM, err)) < 0)
        return fds[1];
    return 0;
}

/* On a pool thread: enter the container's netns, make the sockets, come back (on failure none
 * is left open). A worker left in a container's netns would make the next job's sockets there,
 * so failing to come back is fatal. */
static int bind_in(const struct dns_server *s, int netns_fd, int fds[2], struct berth_err **err)
{
    fds[0] = fds[1] = -1;
    _cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0)
        return berth_error(err, errno, "open own netns");
    if (setns(netns_fd, CLONE_NEWNET) < 0)
        return berth_error(err, errno, "enter the container's netns");
    int r = open_sockets(s, fds, err);
    if (setns(self, CLONE_NEWNET) < 0) {
        log_error("dns: cannot return to berthd's netns: %s", strerror(errno));
        abort();
    }
    if (r < 0) {
        for (int i = 0; i < 2; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        fds[0] = fds[1] = -1;
    }
    return r;
}

static void start_work(struct pool_job *job)
{
    struct dns_ctr *c = container_of(job, struct dns_ctr, job);
    if (!c->job_err)
        bind_in(c->s, c->netns_fd, c->fds, &c->job_err);
}

static void ctr_free(struct dns_ctr *c)
{
    for (int i = 0; i < 2; i++)
        if (c->fds[i] >= 0)
            close(c->fds[i]);
    if (c->netns_fd >= 0)
        close(c->netns_fd);
    berth_err_free(c->job_err);
    c->s->live--;
    free(c);
}

static void on_accept_retry(struct reactor_timer *t)
{
    struct dns_ctr *c = container_of(t, struct dns_ctr, accept_retry);
    if (reactor_accept(c->tcp, dns_tcp_accept) < 0)
        reactor_timer_start(c->s->r, t, ACCEPT_RETRY_MS);
}

/* A start that failed: the caller hears why, then the server goes. It counts as stopped
 * already, so a dns_ctr_stop() from inside the callback does nothing. */
static void start_failed(struct dns_ctr *c, const struct berth_err *err)
{
    c->stopped = true;
    if (c->ready)
        c->ready(c->ready_ctx, c, err);
    reactor_io_close(c->udp);
    reactor_io_close(c->tcp);
    ctr_free(c);
}

/* Reactor: its bound sockets (c->fds) handed to the reactor and served. */
static int serve(struct dns_ctr *c, struct berth_err **err)
{
    c->udp = reactor_io_open(c->s->r, c->fds[0], c);
    c->tcp = reactor_io_open(c->s->r, c->fds[1], c);
    c->fds[0] = c->fds[1] = -1; /* the reactor's now */
    int r = reactor_recvmsg(c->udp, on_udp);
    if (r == 0)
        r = reactor_accept(c->tcp, dns_tcp_accept);
    if (r < 0)
        return berth_error(err, -r, "embedded DNS server: serve %s", c->s->o.addr);
    return 0;
}

static void start_done(struct pool_job *job)
{
    struct dns_ctr *c = container_of(job, struct dns_ctr, job);
    c->starting = false;
    if (c->netns_fd >= 0)
        close(c->netns_fd);
    c->netns_fd = -1;
    if (c->stopped) {
        ctr_free(c);
        return;
    }
    if (c->job_err) {
        berth_error_wrap(&c->job_err, "embedded DNS server");
        start_failed(c, c->job_err);
        return;
    }
    _cleanup_err_ struct berth_err *err = NULL;
    if (serve(c, &err) < 0) {
        start_failed(c, err);
        return;
    }
    if (c->ready)
        c->ready(c->ready_ctx, c, NULL);
}

void dns_ctr_accept_later(struct dns_ctr *c)
{
    reactor_timer_start(c->s->r, &c->accept_retry, ACCEPT_RETRY_MS);
}

static struct dns_ctr *ctr_new(struct dns_server *s, const struct dns_ctr_config *cfg)
{
    struct dns_ctr *c = xcalloc(1, sizeof(*c));
    c->s = s;
    c->lookup = cfg->lookup;
    dns_ctr_set_upstreams(c, cfg->upstream, cfg->nupstream);
    c->fds[0] = c->fds[1] = -1;
    c->netns_fd = -1;
    c->accept_retry.fn = on_accept_retry;
    s->live++;
    return c;
}

struct dns_ctr *dns_ctr_start(struct dns_server *s, int netns_fd, const struct dns_ctr_config *cfg,
                              dns_ctr_ready_cb ready, void *ctx)
{
    struct dns_ctr *c = ctr_new(s, cfg);
    c->ready = ready;
    c->ready_ctx = ctx;
    c->netns_fd = fcntl(netns_fd, F_DUPFD_CLOEXEC, 3);
    c->starting = true;
    c->job = (struct pool_job){.work = start_work, .done = start_done};
    if (c->netns_fd < 0)
        berth_error(&c->job_err, errno, "netns descriptor"); /* start_done reports it */
    pool_submit(s->pool, POOL_LATENCY, &c->job);
    return c;
}

int dns_ctr_bind(const struct dns_server *s, int netns_fd, int fds[2], struct berth_err **err)
{
    int r = bind_in(s, netns_fd, fds, err);
    return r < 0 ? berth_error_wrap(err, "embedded DNS server") : 0;
}

struct dns_ctr *dns_ctr_serve(struct dns_server *s, int fds[2], const struct dns_ctr_config *cfg,
                              struct berth_err **err)
{
    struct dns_ctr *c = ctr_new(s, cfg);
    memcpy(c->fds, fds, sizeof(c->fds));
    fds[0] = fds[1] = -1;
    if (serve(c, err) < 0) {
        c->stopped = true;
        reactor_io_close(c->udp);
        reactor_io_close(c->tcp);
        ctr_free(c);
        return NULL;
    }
    return c;
}

void dns_ctr_stop(struct dns_ctr *c)
{
    if (!c || c->stopped)
        return;
    c->stopped = true;
    if (c->starting)
        return; /* start_done frees it */
    reactor_timer_stop(c->s->r, &c->accept_retry);
    dns_fwd_drop_all(c);
    dns_tcp_close_all(c);
    reactor_io_close(c->udp);
    reactor_io_close(c->tcp);
    ctr_free(c);
}

void dns_ctr_set_upstreams(struct dns_ctr *c, const struct sockaddr_storage *up, size_t n)
{
    c->nupstream = n < DNS_MAX_UPSTREAM ? n : DNS_MAX_UPSTREAM;
    if (c->nupstream)
        memcpy(c->upstream, up, c->nupstream * sizeof(*up));
}

unsigned dns_ctr_inflight(const struct dns_ctr *c)
{
    return c->inflight;
}

unsigned dns_ctr_tcp_conns(const struct dns_ctr *c)
{
    return c->ntcp;
}

/* ---- resolv.conf ---- */

static bool parse_upstream(const char *text, struct sockaddr_storage *ss)
{
    char addr[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    if (strlen(text) >= sizeof(addr))
        return false;
    strcpy(addr, text);
    char *zone = strchr(addr, '%');
    if (zone)
        *zone++ = 0;
    if (!make_sockaddr(addr, DNS_PORT, ss))
        return false;
    if (zone && ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_scope_id = if_nametoindex(zone);
    return !zone || ss->ss_family == AF_INET6;
}

size_t dns_upstreams_parse(const char *resolv_conf, const char *own_addr,
                           struct sockaddr_storage *up, size_t max)
{
    size_t n = 0;
    for (const char *line = resolv_conf; line && *line && n < max;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[256], word[16], value[200];
        if (len < sizeof(buf)) {
            memcpy(buf, line, len);
            buf[len] = 0;
            if (sscanf(buf, " %15s %199s", word, value) == 2 && strcmp(word, "nameserver") == 0 &&
                !(own_addr && strcmp(value, own_addr) == 0) && parse_upstream(value, &up[n]))
                n++;
        }
        line = end ? end + 1 : NULL;
    }
    return n;
}
