/* net/network/dns_priv.h — what the three files of the embedded DNS server share (dns.c: the
 * server and its UDP socket; dns_tcp.c: client TCP connections; dns_fwd.c: queries forwarded
 * upstream). Not for other modules. */
#pragma once

#include "core/buf.h"
#include "net/network/dns.h"

struct dns_tcpconn;
struct dns_fwd;

struct dns_server {
    struct reactor *r;
    struct pool *pool;
    struct dns_server_opts o; /* o.addr points at addr */
    char *addr;
    struct sockaddr_storage listen; /* addr:port */
    uint32_t listen_len;
    struct dns_stats stats;
    unsigned live;    /* container servers not yet freed */
    uint8_t *scratch; /* DNS_MSG_MAX: one reply at a time is built on the reactor thread */
};

struct dns_ctr {
    struct dns_server *s;
    struct rio *udp, *tcp;
    struct dns_lookup lookup;
    struct sockaddr_storage upstream[DNS_MAX_UPSTREAM];
    size_t nupstream;
    unsigned inflight, ntcp;
    struct dns_fwd *fwds;      /* in flight */
    struct dns_tcpconn *conns; /* open client connections */
    struct reactor_timer accept_retry;
    bool starting, stopped;
    dns_ctr_ready_cb ready;
    void *ready_ctx;
    struct pool_job job;
    int netns_fd;
    int fds[2]; /* udp, tcp: from the start job */
    struct berth_err *job_err;
};

/* Where a reply goes: a client TCP connection, or a UDP sender. */
struct dns_client {
    struct dns_tcpconn *conn;
    struct sockaddr_storage addr;
    uint32_t addrlen;
};

/* Query msg[0..len) from `from`: answer, forward or drop (dns.c). */
void dns_ctr_query(struct dns_ctr *c, const struct dns_client *from, const uint8_t *msg,
                   size_t len);
/* Send a reply to its client; the bytes are copied (dns.c). */
void dns_ctr_reply(struct dns_ctr *c, const struct dns_client *to, const uint8_t *msg, size_t len);
/* Accepting failed (no descriptors?): try again a little later rather than spin (dns.c). */
void dns_ctr_accept_later(struct dns_ctr *c);

/* dns_tcp.c: client TCP connections. */
void dns_tcp_accept(void *ctx, int fd); /* reactor_accept_cb; ctx: the dns_ctr */
/* Queue a reply (copied, framed) on conn; dropped when conn has closed. */
void dns_tcp_send(struct dns_tcpconn *conn, const uint8_t *msg, size_t len);
/* A forward for conn begins or has ended; conn stays allocated while forwards are pending. */
void dns_tcp_forward_begin(struct dns_tcpconn *conn);
void dns_tcp_forward_done(struct dns_tcpconn *conn);
/* Close every connection (their forwards must have been dropped first). */
void dns_tcp_close_all(struct dns_ctr *c);

/* dns_fwd.c: forward q (raw msg[0..len)) for client `from`; replies REFUSED or SERVFAIL itself
 * when it cannot. */
void dns_fwd_start(struct dns_ctr *c, const struct dns_client *from, const struct dns_query *q,
                   const uint8_t *msg, size_t len, bool tcp);
void dns_fwd_drop_all(struct dns_ctr *c);
