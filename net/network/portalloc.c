/* net/network/portalloc.c — host ports reserved for published ports: berth's own table of what
 * it holds (which tells its own clash from a host process's), and one bound socket per port. */
#include "net/network/portalloc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <linux/filter.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/map.h"
#include "core/xalloc.h"

#define DEFAULT_LO   49153 /* dockerd's fallback when the kernel's range cannot be read */
#define DEFAULT_HI   65535
#define MAX_ATTEMPTS 10 /* binds that may fail in one range before giving up (dockerd's) */

/* The addresses one protocol's port is held on. */
struct held {
    size_t n, cap;
    struct in_addr *ips;
};

struct portalloc {
    pthread_mutex_t lock;
    uint16_t lo, hi;        /* the ephemeral range */
    uint16_t last[3];       /* the last ephemeral port handed out, per protocol */
    uint8_t reserved[8192]; /* ip_local_reserved_ports, a bit per port */
    struct map held;        /* "PROTO:PORT" -> struct held */
};

static int proto_slot(uint8_t proto)
{
    return proto == IPPROTO_TCP ? 0 : proto == IPPROTO_UDP ? 1 : 2;
}

static void read_range(struct portalloc *pa, const char *path)
{
    unsigned lo = 0, hi = 0;
    FILE *f = fopen(path ? path : "/proc/sys/net/ipv4/ip_local_port_range", "re");
    bool ok = f && fscanf(f, "%u %u", &lo, &hi) == 2 && lo > 0 && lo <= hi && hi <= 65535;
    if (f)
        fclose(f);
    if (!ok) {
        log_info("port allocator: no ephemeral port range, falling back to %d-%d", DEFAULT_LO,
                 DEFAULT_HI);
        lo = DEFAULT_LO, hi = DEFAULT_HI;
    }
    pa->lo = (uint16_t)lo;
    pa->hi = (uint16_t)hi;
    for (int i = 0; i < 3; i++)
        pa->last[i] = pa->hi; /* the first one handed out is the range's first */
}

/* "8080,9148,30000-32767": the ports the kernel keeps out of its own automatic choices, which
 * ephemeral ones skip too (dockerd's getReservedPorts). */
static void read_reserved(struct portalloc *pa, const char *path)
{
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;
    FILE *f = fopen(path ? path : "/proc/sys/net/ipv4/ip_local_reserved_ports", "re");
    if (!f)
        return;
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    for (char *p = n > 0 ? line : NULL, *tok; p && (tok = strsep(&p, ",\n"));) {
        unsigned a, b;
        int k = sscanf(tok, "%u-%u", &a, &b);
        if (k < 1)
            continue;
        if (k == 1)
            b = a;
        for (unsigned port = a; port <= b && port <= 65535; port++)
            pa->reserved[port / 8] |= (uint8_t)(1u << (port % 8));
    }
}

struct portalloc *portalloc_new(const char *range_path, const char *reserved_path)
{
    struct portalloc *pa = xcalloc(1, sizeof(*pa));
    pthread_mutex_init(&pa->lock, NULL);
    read_range(pa, range_path);
    read_reserved(pa, reserved_path);
    return pa;
}

void portalloc_free(struct portalloc *pa)
{
    if (!pa)
        return;
    const char *key;
    void *v;
    for (size_t i = 0; map_next(&pa->held, &i, &key, &v);) {
        struct held *h = v;
        free(h->ips);
        free(h);
    }
    map_free(&pa->held);
    pthread_mutex_destroy(&pa->lock);
    free(pa);
}

void portalloc_range(const struct portalloc *pa, uint16_t *lo, uint16_t *hi)
{
    *lo = pa->lo;
    *hi = pa->hi;
}

static void held_key(char *key, size_t size, uint8_t proto, uint16_t port)
{
    snprintf(key, size, "%u:%u", proto, port);
}

/* Who holds the port in a way that clashes with ip: an address of its own equal to ip, or
 * either of the two being every address. */
static const struct in_addr *clash(const struct portalloc *pa, uint8_t proto, uint16_t port,
                                   struct in_addr ip)
{
    char key[16];
    held_key(key, sizeof(key), proto, port);
    const struct held *h = map_get(&pa->held, key);
    for (size_t i = 0; h && i < h->n; i++)
        if (ip.s_addr == INADDR_ANY || h->ips[i].s_addr == INADDR_ANY ||
            h->ips[i].s_addr == ip.s_addr)
            return &h->ips[i];
    return NULL;
}

static void hold(struct portalloc *pa, uint8_t proto, uint16_t port, struct in_addr ip)
{
    char key[16];
    held_key(key, sizeof(key), proto, port);
    struct held *h = map_get(&pa->held, key);
    if (!h) {
        h = xcalloc(1, sizeof(*h));
        map_put(&pa->held, key, h);
    }
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 2;
        h->ips = xrealloc(h->ips, h->cap * sizeof(*h->ips));
    }
    h->ips[h->n++] = ip;
}

static void unhold(struct portalloc *pa, uint8_t proto, uint16_t port, struct in_addr ip)
{
    char key[16];
    held_key(key, sizeof(key), proto, port);
    struct held *h = map_get(&pa->held, key);
    for (size_t i = 0; h && i < h->n; i++) {
        if (h->ips[i].s_addr != ip.s_addr)
            continue;
        h->ips[i] = h->ips[--h->n];
        if (h->n == 0) {
            map_del(&pa->held, key);
            free(h->ips);
            free(h);
        }
        return;
    }
}

/* The socket that holds the port: -errno when the port cannot be had. A filter that drops
 * everything comes before the bind, so nothing queues on it (the DNAT rules, added after, take
 * the port's traffic before any local socket would see it). */
static int bind_port(uint8_t proto, struct in_addr ip, uint16_t port)
{
    int type = proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
    _cleanup_close_ int fd = socket(AF_INET, type | SOCK_CLOEXEC, proto);
    if (fd < 0)
        return -errno;
    int one = 1;
    struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
    struct sock_fprog prog = {.len = 1, .filter = &drop};
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = ip};
    /* TCP: bind despite a TIME_WAIT of an earlier server's, as dockerd; listening keeps others
     * off it all the same. Not UDP: two UDP sockets with it may share a port. */
    if (proto == IPPROTO_TCP && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -errno;
    if (type == SOCK_STREAM && listen(fd, 0) < 0)
        return -errno;
    return take_fd(&fd);
}

/* Go's words for an errno: strerror's, lower-case first ("address already in use"). */
static void go_words(int e, char *buf, size_t size)
{
    snprintf(buf, size, "%s", strerror(e));
    buf[0] = (char)tolower((unsigned char)buf[0]);
}

static int already_allocated(const struct in_addr *at, uint16_t port, struct berth_err **err)
{
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, at, ip, sizeof(ip));
    return berth_user_error(err, EADDRINUSE, "Bind for %s:%u failed: port is already allocated", ip,
                            port);
}

static int bind_failed(int e, bool range, uint16_t port, const char *binding,
                       struct berth_err **err)
{
    char words[128];
    go_words(e, words, sizeof(words));
    if (range)
        return berth_user_error(err, e, "failed to bind host port %u for %s: %s", port, binding,
                                words);
    return berth_user_error(err, e, "failed to bind host port for %s: %s", binding, words);
}

static void held_out(struct portalloc *pa, uint8_t proto, struct in_addr ip, uint16_t port, int fd,
                     struct portalloc_port *out)
{
    hold(pa, proto, port, ip);
    *out = (struct portalloc_port){.proto = proto, .ip = ip, .port = port, .fd = fd};
}

/* One given port. */
static int reserve_one(struct portalloc *pa, uint8_t proto, struct in_addr ip, uint16_t port,
                       const char *binding, struct portalloc_port *out, struct berth_err **err)
{
    const struct in_addr *at = clash(pa, proto, port, ip);
    if (at)
        return already_allocated(at, port, err);
    int fd = bind_port(proto, ip, port);
    if (fd < 0)
        return bind_failed(-fd, false, port, binding, err);
    held_out(pa, proto, ip, port, fd, out);
    return 0;
}

/* The first port of [lo, hi] from `start` on (wrapping) that berth does not hold and that
 * binds. */
static int reserve_range(struct portalloc *pa, uint8_t proto, struct in_addr ip, uint16_t lo,
                         uint16_t hi, bool ephemeral, const char *binding,
                         struct portalloc_port *out, struct berth_err **err)
{
    uint16_t *last = &pa->last[proto_slot(proto)];
    uint32_t span = (uint32_t)hi - lo + 1, port = ephemeral ? *last : (uint32_t)hi;
    int attempts = 0, e = 0;
    uint16_t bad = 0;
    for (uint32_t i = 0; i < span; i++) {
        port = port >= hi ? lo : port + 1;
        if (ephemeral && (pa->reserved[port / 8] & (1u << (port % 8))))
            continue;
        if (clash(pa, proto, (uint16_t)port, ip))
            continue;
        int fd = bind_port(proto, ip, (uint16_t)port);
        if (fd < 0) {
            e = -fd;
            bad = (uint16_t)port;
            if (++attempts == MAX_ATTEMPTS)
                break;
            continue;
        }
        if (ephemeral)
            *last = (uint16_t)port;
        held_out(pa, proto, ip, (uint16_t)port, fd, out);
        return 0;
    }
    if (attempts)
        return bind_failed(e, true, bad, binding, err);
    return berth_user_error(err, EADDRINUSE, "all ports are allocated");
}

int portalloc_reserve(struct portalloc *pa, uint8_t proto, struct in_addr ip, uint16_t lo,
                      uint16_t hi, const char *binding, struct portalloc_port *out,
                      struct berth_err **err)
{
    *out = (struct portalloc_port){.fd = -1};
    if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_SCTP)
        return berth_user_error(err, EINVAL, "unknown protocol");
    if (lo > hi || (lo == 0 && hi != 0))
        return berth_user_error(err, EINVAL, "invalid port range: %u-%u", lo, hi);
    bool ephemeral = lo == 0;
    pthread_mutex_lock(&pa->lock);
    int r = !ephemeral && lo == hi
                ? reserve_one(pa, proto, ip, lo, binding, out, err)
                : reserve_range(pa, proto, ip, ephemeral ? pa->lo : lo, ephemeral ? pa->hi : hi,
                                ephemeral, binding, out, err);
    pthread_mutex_unlock(&pa->lock);
    return r;
}

void portalloc_release(struct portalloc *pa, struct portalloc_port *p)
{
    if (p->fd < 0)
        return;
    pthread_mutex_lock(&pa->lock);
    unhold(pa, p->proto, p->port, p->ip);
    pthread_mutex_unlock(&pa->lock);
    close(p->fd);
    p->fd = -1;
}
