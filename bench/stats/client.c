/* bench/stats/client.c — the stats bench's client: many stats requests at once over a unix
 * socket, one thread, epoll, plain HTTP/1.1 (Content-Length or chunked replies, as berthd and
 * dockerd give them).
 *
 *   stats-client SOCKET once CONNS QUERY    the container IDs on stdin, one GET
 *                                            /containers/ID/stats?QUERY each, CONNS keep-alive
 *                                            connections with one request in flight each;
 *                                            prints "MS OK FAILED" (wall time of all of them)
 *   stats-client SOCKET stream SECS         one streaming GET /containers/ID/stats per ID on
 *                                            stdin, each on its own connection, read for SECS;
 *                                            prints "SAMPLES STREAMS_THAT_GOT_ONE" */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    char *in;
    size_t len, cap;
    long req; /* index of the request in flight, -1: none */
    long samples;
    bool done;
};

static char **ids;
static long nids;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void read_ids(void)
{
    char line[256];
    long cap = 0;
    while (fgets(line, sizeof(line), stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line)
            continue;
        if (nids == cap)
            ids = realloc(ids, (size_t)(cap = cap ? 2 * cap : 256) * sizeof(*ids));
        ids[nids++] = strdup(line);
    }
}

static int dial(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("connect");
        exit(1);
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static void send_all(int fd, const char *buf, size_t n)
{
    while (n) { /* a request is small: the socket buffer takes it, or we wait a moment */
        ssize_t k = write(fd, buf, n);
        if (k < 0 && errno == EAGAIN) {
            struct timespec t = {0, 100000};
            nanosleep(&t, NULL);
            continue;
        }
        if (k < 0) {
            perror("write");
            exit(1);
        }
        buf += k;
        n -= (size_t)k;
    }
}

static void send_req(struct conn *c, long i, const char *query)
{
    char req[512];
    int n = snprintf(req, sizeof(req), "GET /containers/%s/stats%s%s HTTP/1.1\r\nHost: b\r\n\r\n",
                     ids[i], *query ? "?" : "", query);
    c->req = i;
    c->len = 0;
    send_all(c->fd, req, (size_t)n);
}

/* One whole reply at the start of c->in: its length, 0 when more is needed, -1 when it is not
 * a 200. Chunked bodies are walked to their last chunk. */
static long reply_len(const struct conn *c)
{
    char *end = memmem(c->in, c->len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head = (size_t)(end - c->in) + 4;
    if (c->len < 12 || memcmp(c->in + 9, "200", 3) != 0)
        return -1;
    char *cl = memmem(c->in, head, "Content-Length:", 15);
    if (!cl)
        cl = memmem(c->in, head, "content-length:", 15);
    if (cl) {
        size_t body = strtoul(cl + 15, NULL, 10);
        return c->len >= head + body ? (long)(head + body) : 0;
    }
    size_t at = head;
    for (;;) { /* chunked */
        char *nl = memmem(c->in + at, c->len - at, "\r\n", 2);
        if (!nl)
            return 0;
        size_t size = strtoul(c->in + at, NULL, 16);
        size_t next = (size_t)(nl - c->in) + 2 + size + 2;
        if (c->len < next)
            return 0;
        if (size == 0)
            return (long)next;
        at = next;
    }
}

static bool fill(struct conn *c)
{
    for (;;) {
        if (c->cap - c->len < 65536)
            c->in = realloc(c->in, c->cap = c->cap * 2 + 65536);
        ssize_t k = read(c->fd, c->in + c->len, c->cap - c->len);
        if (k > 0) {
            c->len += (size_t)k;
            continue;
        }
        if (k < 0 && errno == EAGAIN)
            return true;
        return false; /* closed or failed */
    }
}

static void raise_nofile(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

static int run_once(const char *sock, long nconns, const char *query)
{
    if (nconns > nids)
        nconns = nids;
    struct conn *cs = calloc((size_t)nconns, sizeof(*cs));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (long i = 0; i < nconns; i++) { /* connected before the clock starts */
        cs[i].fd = dial(sock);
        cs[i].req = -1;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    long next = 0, ok = 0, failed = 0;
    double t0 = now_ms();
    for (long i = 0; i < nconns; i++)
        send_req(&cs[i], next++, query);
    struct epoll_event evs[256];
    while (ok + failed < nids) {
        int n = epoll_wait(ep, evs, 256, 30000);
        if (n <= 0) {
            fprintf(stderr, "stats-client: no reply for 30 s\n");
            break;
        }
        for (int e = 0; e < n; e++) {
            struct conn *c = evs[e].data.ptr;
            bool open = fill(c);
            long len = c->req < 0 ? 0 : reply_len(c);
            if (len < 0 || (!open && len == 0 && c->req >= 0)) {
                failed++;
                if (failed <= 3)
                    fprintf(stderr, "stats-client: %s: %.*s\n", ids[c->req],
                            (int)(c->len < 300 ? c->len : 300), c->in);
                c->req = -1;
            } else if (len > 0) {
                ok++;
                c->req = -1;
            }
            if (c->req < 0 && open && next < nids)
                send_req(c, next++, query);
            if (!open) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
            }
        }
    }
    printf("%.1f %ld %ld\n", now_ms() - t0, ok, failed);
    return failed ? 1 : 0;
}

static int run_stream(const char *sock, double secs)
{
    struct conn *cs = calloc((size_t)nids, sizeof(*cs));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (long i = 0; i < nids; i++) {
        cs[i].fd = dial(sock);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
        send_req(&cs[i], i, "");
    }
    double end = now_ms() + secs * 1e3;
    struct epoll_event evs[256];
    while (now_ms() < end) {
        int n = epoll_wait(ep, evs, 256, 100);
        for (int e = 0; e < n; e++) {
            struct conn *c = evs[e].data.ptr;
            bool open = fill(c);
            /* a sample is a JSON line; the chunk framing around it does not matter here */
            for (char *p = c->in; (p = memchr(p, '\n', c->len - (size_t)(p - c->in))); p++)
                if (p > c->in && p[-1] == '}')
                    c->samples++;
            if (c->len) { /* its last byte: a '}' whose newline comes with the next read */
                c->in[0] = c->in[c->len - 1];
                c->len = 1;
            }
            if (!open) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->done = true;
            }
        }
    }
    long samples = 0, got = 0;
    for (long i = 0; i < nids; i++) {
        samples += cs[i].samples;
        got += cs[i].samples > 0;
    }
    printf("%ld %ld\n", samples, got);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5 || (strcmp(argv[2], "once") && strcmp(argv[2], "stream"))) {
        fprintf(stderr, "usage: stats-client SOCKET once CONNS QUERY < ids\n"
                        "       stats-client SOCKET stream SECS - < ids\n");
        return 2;
    }
    raise_nofile();
    read_ids();
    if (!nids)
        return 2;
    if (strcmp(argv[2], "once") == 0)
        return run_once(argv[1], atol(argv[3]), argv[4]);
    return run_stream(argv[1], atof(argv[3]));
}
