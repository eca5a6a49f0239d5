/* tests/net/network/test_portalloc.c — net/network/portalloc.c in a network namespace of the
 * program's own (made before any test; lo up, and with it all of 127.0.0.0/8): berth's own clashes
 * in dockerd's words (any address against one, one against another), ports held by a socket that a
 * host process cannot take, a host process's port found by the bind, ephemeral ports after the
 * last one handed out and around the reserved ones, ranges that skip what is taken, and what a
 * reservation costs. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "core/xalloc.h"
#include "net/network/netlink.h"
#include "net/network/portalloc.h"
#include "tests/testutil.h"

static bool in_own_netns;
static char *dir, *range_file, *reserved_file;

#define NEED_NETNS()                                                                               \
    do {                                                                                           \
        if (!in_own_netns)                                                                         \
            skip();                                                                                \
    } while (0)

static struct in_addr ip(const char *s)
{
    struct in_addr a;
    assert_int_equal(inet_pton(AF_INET, s, &a), 1);
    return a;
}

static struct portalloc *fresh(void)
{
    return portalloc_new(range_file, reserved_file);
}

/* Reserved, or fail with the words. */
static struct portalloc_port take(struct portalloc *pa, uint8_t proto, const char *addr,
                                  uint16_t lo, uint16_t hi)
{
    struct portalloc_port p;
    _cleanup_err_ struct berth_err *err = NULL;
    if (portalloc_reserve(pa, proto, ip(addr), lo, hi, "B", &p, &err) < 0)
        fail_msg("reserve %s %u-%u: %s", addr, lo, hi, err->msg);
    assert_true(p.fd >= 0);
    return p;
}

static void refused(struct portalloc *pa, uint8_t proto, const char *addr, uint16_t lo, uint16_t hi,
                    const char *words)
{
    struct portalloc_port p;
    _cleanup_err_ struct berth_err *err = NULL;
    assert_true(portalloc_reserve(pa, proto, ip(addr), lo, hi, "0.0.0.0:8080:10.0.0.2:80/tcp", &p,
                                  &err) < 0);
    assert_int_equal(p.fd, -1);
    if (strcmp(err->msg, words) != 0)
        fail_msg("expected `%s`, got `%s`", words, err->msg);
}

/* A host process's socket: bound (and listening, for TCP) on addr:port. */
static int host_socket(int type, const char *addr, uint16_t port)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = ip(addr)};
    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        (type == SOCK_STREAM && listen(fd, 1) < 0)) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static void test_own_clashes(void **state)
{
    (void)state;
    NEED_NETNS();
    struct portalloc *pa = fresh();
    struct portalloc_port any = take(pa, IPPROTO_TCP, "0.0.0.0", 8080, 8080);
    assert_int_equal(any.port, 8080);
    refused(pa, IPPROTO_TCP, "0.0.0.0", 8080, 8080,
            "Bind for 0.0.0.0:8080 failed: port is already allocated");
    refused(pa, IPPROTO_TCP, "127.0.0.1", 8080, 8080,
            "Bind for 0.0.0.0:8080 failed: port is already allocated");
    /* another protocol, another port */
    struct portalloc_port udp = take(pa, IPPROTO_UDP, "0.0.0.0", 8080, 8080);
    /* one address against another: both fit; every address against either does not */
    struct portalloc_port a1 = take(pa, IPPROTO_TCP, "127.0.0.1", 9090, 9090);
    struct portalloc_port a2 = take(pa, IPPROTO_TCP, "127.0.0.2", 9090, 9090);
    refused(pa, IPPROTO_TCP, "0.0.0.0", 9090, 9090,
            "Bind for 127.0.0.1:9090 failed: port is already allocated");
    refused(pa, IPPROTO_TCP, "127.0.0.2", 9090, 9090,
            "Bind for 127.0.0.2:9090 failed: port is already allocated");
    /* released: free again, for berth and for the host */
    portalloc_release(pa, &any);
    assert_int_equal(any.fd, -1);
    portalloc_release(pa, &any); /* twice is fine */
    int fd = host_socket(SOCK_STREAM, "0.0.0.0", 8080);
    assert_true(fd >= 0);
    close(fd);
    any = take(pa, IPPROTO_TCP, "0.0.0.0", 8080, 8080);
    portalloc_release(pa, &any);
    portalloc_release(pa, &udp);
    portalloc_release(pa, &a1);
    portalloc_release(pa, &a2);
    portalloc_free(pa);
}

static void test_held_from_the_host(void **state)
{
    (void)state;
    NEED_NETNS();
    struct portalloc *pa = fresh();
    struct portalloc_port t = take(pa, IPPROTO_TCP, "0.0.0.0", 8081, 8081);
    struct portalloc_port u = take(pa, IPPROTO_UDP, "0.0.0.0", 8081, 8081);
    struct portalloc_port l = take(pa, IPPROTO_TCP, "127.0.0.1", 8082, 8082);
    /* a process that comes later cannot take them, SO_REUSEADDR or not, on any address */
    assert_int_equal(host_socket(SOCK_STREAM, "0.0.0.0", 8081), -EADDRINUSE);
    assert_int_equal(host_socket(SOCK_STREAM, "127.0.0.1", 8081), -EADDRINUSE);
    assert_int_equal(host_socket(SOCK_DGRAM, "127.0.0.1", 8081), -EADDRINUSE);
    assert_int_equal(host_socket(SOCK_STREAM, "0.0.0.0", 8082), -EADDRINUSE);
    /* nothing queues on a held port: a connection to it gets no answer (the filter drops the
     * SYN) rather than being accepted into a backlog nobody reads */
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(8081), .sin_addr = ip("127.0.0.1")};
    assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), -1);
    assert_int_equal(errno, EINPROGRESS);
    usleep(100 * 1000);
    int e = 0;
    socklen_t len = sizeof(e);
    getsockopt(c, SOL_SOCKET, SO_ERROR, &e, &len);
    assert_int_equal(e, 0);
    assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), -1);
    assert_int_equal(errno, EALREADY); /* still trying: never accepted */
    close(c);
    portalloc_release(pa, &t);
    portalloc_release(pa, &u);
    portalloc_release(pa, &l);
    /* a port a host process holds: found by the bind, in dockerd's words */
    int fd = host_socket(SOCK_STREAM, "0.0.0.0", 8083);
    assert_true(fd >= 0);
    refused(pa, IPPROTO_TCP, "0.0.0.0", 8083, 8083,
            "failed to bind host port for 0.0.0.0:8080:10.0.0.2:80/tcp: address already in use");
    refused(pa, IPPROTO_TCP, "127.0.0.1", 8083, 8083,
            "failed to bind host port for 0.0.0.0:8080:10.0.0.2:80/tcp: address already in use");
    /* in a range it is skipped; when all are the host's, the last failure's words */
    struct portalloc_port r = take(pa, IPPROTO_TCP, "0.0.0.0", 8083, 8084);
    assert_int_equal(r.port, 8084);
    refused(pa, IPPROTO_TCP, "0.0.0.0", 8083, 8084,
            "failed to bind host port 8083 for 0.0.0.0:8080:10.0.0.2:80/tcp: address already in "
            "use");
    close(fd);
    portalloc_release(pa, &r);
    int ufd = host_socket(SOCK_DGRAM, "0.0.0.0", 8085);
    refused(pa, IPPROTO_UDP, "0.0.0.0", 8085, 8085,
            "failed to bind host port for 0.0.0.0:8080:10.0.0.2:80/tcp: address already in use");
    close(ufd);
    portalloc_free(pa);
}

static void test_ephemeral(void **state)
{
    (void)state;
    NEED_NETNS();
    struct portalloc *pa = fresh();
    uint16_t lo, hi;
    portalloc_range(pa, &lo, &hi);
    assert_int_equal(lo, 40000);
    assert_int_equal(hi, 40005);
    struct portalloc_port p[5];
    /* 40000, then 40002 (40001 is reserved), 40003, 40005 (40004: a host process's) */
    int fd = host_socket(SOCK_STREAM, "0.0.0.0", 40004);
    assert_true(fd >= 0);
    p[0] = take(pa, IPPROTO_TCP, "0.0.0.0", 0, 0);
    p[1] = take(pa, IPPROTO_TCP, "0.0.0.0", 0, 0);
    p[2] = take(pa, IPPROTO_TCP, "127.0.0.1", 0, 0);
    p[3] = take(pa, IPPROTO_TCP, "0.0.0.0", 0, 0);
    assert_int_equal(p[0].port, 40000);
    assert_int_equal(p[1].port, 40002);
    assert_int_equal(p[2].port, 40003);
    assert_int_equal(p[3].port, 40005);
    /* per protocol */
    p[4] = take(pa, IPPROTO_UDP, "0.0.0.0", 0, 0);
    assert_int_equal(p[4].port, 40000);
    /* full: the host's port is the one that failed */
    refused(pa, IPPROTO_TCP, "0.0.0.0", 0, 0,
            "failed to bind host port 40004 for 0.0.0.0:8080:10.0.0.2:80/tcp: address already in "
            "use");
    close(fd);
    /* after the last one handed out (40005), wrapping: the released 40000, then 40004 */
    portalloc_release(pa, &p[0]);
    struct portalloc_port q = take(pa, IPPROTO_TCP, "0.0.0.0", 0, 0);
    assert_int_equal(q.port, 40000);
    struct portalloc_port w = take(pa, IPPROTO_TCP, "0.0.0.0", 0, 0);
    assert_int_equal(w.port, 40004);
    refused(pa, IPPROTO_TCP, "0.0.0.0", 0, 0, "all ports are allocated");
    /* a range given by the user may use a reserved port */
    portalloc_release(pa, &p[1]);
    struct portalloc_port r = take(pa, IPPROTO_TCP, "0.0.0.0", 40001, 40002);
    assert_int_equal(r.port, 40001);
    portalloc_release(pa, &r);
    portalloc_release(pa, &q);
    portalloc_release(pa, &w);
    for (int i = 2; i < 5; i++)
        portalloc_release(pa, &p[i]);
    /* bad requests */
    refused(pa, IPPROTO_TCP, "0.0.0.0", 90, 80, "invalid port range: 90-80");
    refused(pa, IPPROTO_ICMP, "0.0.0.0", 80, 80, "unknown protocol");
    portalloc_free(pa);
    /* no range file: dockerd's fallback */
    pa = portalloc_new("/nonexistent", "/nonexistent");
    portalloc_range(pa, &lo, &hi);
    assert_int_equal(lo, 49153);
    assert_int_equal(hi, 65535);
    portalloc_free(pa);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* What the start path pays per published port for the reservation alone (printed). */
static void test_cost(void **state)
{
    (void)state;
    NEED_NETNS();
    struct portalloc *pa = portalloc_new("/nonexistent", "/nonexistent");
    enum { N = 1000 };
    struct portalloc_port *p = xcalloc(N, sizeof(*p));
    double t0 = now_us();
    for (int i = 0; i < N; i++)
        p[i] = take(pa, i % 2 ? IPPROTO_UDP : IPPROTO_TCP, "0.0.0.0", (uint16_t)(20000 + i),
                    (uint16_t)(20000 + i));
    double t1 = now_us();
    for (int i = 0; i < N; i++)
        portalloc_release(pa, &p[i]);
    double t2 = now_us();
    fprintf(stderr, "# portalloc: reserve %.1f us, release %.1f us per port (%d ports)\n",
            (t1 - t0) / N, (t2 - t1) / N, N);
    free(p);
    portalloc_free(pa);
}

static bool enter_test_netns(void)
{
    if (unshare(CLONE_NEWNET) < 0) {
        fprintf(stderr, "# unshare(CLONE_NEWNET): %s: kernel tests skipped\n", strerror(errno));
        return false;
    }
    _cleanup_nl_ struct nl_handle *h = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    /* up, lo's route makes all of 127.0.0.0/8 local: 127.0.0.2 binds too */
    if (nl_open(-1, &h, &err) < 0 || nl_link_set_up(h, 1, true, &err) < 0) {
        fprintf(stderr, "# lo: %s\n", err ? err->msg : "?");
        return false;
    }
    return true;
}

int main(void)
{
    in_own_netns = tu_is_root() && enter_test_netns();
    dir = tu_tmpdir("portalloc");
    range_file = xasprintf("%s/range", dir);
    reserved_file = xasprintf("%s/reserved", dir);
    tu_write(range_file, "40000\t40005\n", 12);
    tu_write(reserved_file, "1080,40001,50000-50010\n", 23);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_clashes),
        cmocka_unit_test(test_held_from_the_host),
        cmocka_unit_test(test_ephemeral),
        cmocka_unit_test(test_cost),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    tu_rm_rf(dir);
    free(dir);
    free(range_file);
    free(reserved_file);
    return r;
}
