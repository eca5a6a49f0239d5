/* net/network/dns.h — the embedded DNS server of user networks, with no process: inside each
 * container's netns, 127.0.0.11:53 (UDP and TCP) is a pair of sockets served by berthd's
 * reactor; it answers the names of the container's networks and forwards the rest to the
 * upstream resolvers from berthd's own netns. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"
#include "core/pool.h"
#include "core/reactor.h"
#include "net/network/dns_resolve.h"

#define DNS_MAX_UPSTREAM 3 /* dockerd's maxExtDNS */

struct dns_server_opts {
    const char *addr;         /* where each container listens: "127.0.0.11" */
    uint16_t port;            /* 53 */
    unsigned timeout_ms;      /* per upstream try: 4000, dockerd's extIOTimeout */
    unsigned max_inflight;    /* forwarded queries per container at once: 64; more get REFUSED */
    unsigned max_tcp;         /* client TCP connections per container at once: 16 */
    unsigned tcp_idle_ms;     /* a client TCP connection with nothing to do is closed: 8000 */
    unsigned tcp_max_queries; /* queries one TCP connection may ask: 128 (as dockerd's) */
};
/* Zeroed fields take the defaults above. */

struct dns_stats {
    uint64_t queries;   /* parsed or not */
    uint64_t local;     /* answered from the networks' names (and FORMERR/NOTIMP) */
    uint64_t forwarded; /* sent upstream */
    uint64_t relayed;   /* upstream answers passed back */
    uint64_t servfail;  /* no upstream answered in time */
    uint64_t refused;   /* over max_inflight */
    uint64_t dropped;   /* not answered: not a query, or no room to send the reply */
};

struct dns_server;
struct dns_ctr;

/* One per berthd, on its reactor thread; the pool makes the sockets inside containers. */
struct dns_server *dns_server_new(struct reactor *r, struct pool *pool,
                                  const struct dns_server_opts *opts);
/* Every container's server must have been stopped. */
void dns_server_free(struct dns_server *s);
const struct dns_stats *dns_server_stats(const struct dns_server *s);

struct dns_ctr_config {
    /* The container's names (the lookup's ctx is the caller's and must outlive the server;
     * the names it answers may change at any time, on the reactor thread). */
    struct dns_lookup lookup;
    /* Where to forward: the container's --dns servers, else the host's resolv.conf, at most
     * three, port 53 unless given. None: what is not local gets SERVFAIL (an --internal
     * network, where dockerd does not forward from the host either). */
    struct sockaddr_storage upstream[DNS_MAX_UPSTREAM];
    size_t nupstream;
};

/* Called on the reactor thread once the container's sockets are bound and served (err NULL),
 * or could not be (err, borrowed for the call; the server is freed when it returns, so c must
 * not be kept; a dns_ctr_stop(c) inside the call is harmless). */
typedef void (*dns_ctr_ready_cb)(void *ctx, struct dns_ctr *c, const struct berth_err *err);

/* Serve DNS inside the netns of netns_fd (borrowed: dup it if it is closed before ready): a
 * latency pool job enters it, brings lo up when it is down, binds the UDP socket and the TCP
 * listener to addr:port and hands them to the reactor. Returns the server at once; ready, if
 * not NULL, reports how it went unless dns_ctr_stop() comes first. cfg is copied. */
struct dns_ctr *dns_ctr_start(struct dns_server *s, int netns_fd, const struct dns_ctr_config *cfg,
                              dns_ctr_ready_cb ready, void *ctx);
/* The same in two steps, for a container whose process must find the server from its first
 * instruction on. Pool (its start job, before the process runs): the UDP socket and TCP listener
 * bound in the netns of netns_fd (lo brought up when down), into fds[0] and fds[1]; on failure
 * none is open. A query that comes before the server is served waits in the sockets' queues. */
int dns_ctr_bind(const struct dns_server *s, int netns_fd, int fds[2], struct berth_err **err);
/* Reactor: fds (from dns_ctr_bind, taken: -1 after the call, closed on failure) served at once,
 * with no pool job; NULL and *err when the reactor cannot serve them. cfg is copied. */
struct dns_ctr *dns_ctr_serve(struct dns_server *s, int fds[2], const struct dns_ctr_config *cfg,
                              struct berth_err **err);
/* Close its sockets, drop the queries in flight, free it (now, or when the start job ends). */
void dns_ctr_stop(struct dns_ctr *c);
/* Replace the upstream resolvers (queries in flight keep theirs). */
void dns_ctr_set_upstreams(struct dns_ctr *c, const struct sockaddr_storage *up, size_t n);

/* What one container's server holds now: forwarded queries in flight, client TCP connections. */
unsigned dns_ctr_inflight(const struct dns_ctr *c);
unsigned dns_ctr_tcp_conns(const struct dns_ctr *c);

/* Parse the nameserver lines of a resolv.conf text into up[0..max) (port 53; IPv6 link-local
 * zones kept), skipping the embedded server's own address; returns the count. */
size_t dns_upstreams_parse(const char *resolv_conf, const char *own_addr,
                           struct sockaddr_storage *up, size_t max);
