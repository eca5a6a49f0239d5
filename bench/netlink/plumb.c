/* bench/netlink/plumb.c — what plumbing one container onto a bridge costs: net/network's
 * nl_plumb_veth (two netlink round trips), the same steps one message each, and the same steps
 * as ip(8) commands (what a shell script or a CNI-less engine would run), plus the floor (the
 * veth pair alone), a fresh netns, and the deletion of a pair.
 *
 * The program moves into a network namespace of its own first (nothing touches the host's
 * network), makes a bridge with the gateway address, then N times: a fresh netns per method,
 * plumbed by each method in turn (interleaved, so background work such as the kernel's
 * asynchronous netns cleanup falls on all alike). Then the removal both ways: deleting the
 * host end (synchronous, RCU grace periods included) and closing the last fd of the netns (the
 * kernel unregisters the pair later, in its netns cleanup work; the drain time is reported). Every
 * container is what dockerd's default bridge gives: eth0 born in the container's netns with MAC and
 * MTU, IPv6 disabled on it, lo and eth0 up, 10.88.x.y/16, default route via 10.88.0.1; the host end
 * up in the bridge. Usage: netlink-plumb [N]   (default 200; needs root) */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "net/network/netlink.h"

enum { M_NETNS, M_PLUMB, M_SINGLE, M_IP, M_PAIR, M_DELETE, M_CLOSE, M_COUNT };
static const char *method_words[M_COUNT] = {
    [M_NETNS] = "netns create (unshare + open)", [M_PLUMB] = "nl_plumb_veth (2 round trips)",
    [M_SINGLE] = "same, one message each (11)",  [M_IP] = "same, ip(8) commands (7 execs)",
    [M_PAIR] = "floor: the veth pair alone",     [M_DELETE] = "delete a pair (host end)",
    [M_CLOSE] = "close the netns fd instead",
};

static int bridge;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *what, struct berth_err *err)
{
    fprintf(stderr, "netlink-plumb: %s: %s\n", what, err ? err->msg : strerror(errno));
    exit(1);
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        struct berth_err *err_ = NULL;                                                             \
        if ((call) < 0)                                                                            \
            die(#call, err_);                                                                      \
    } while (0)
#define E (&err_)

static void mac_of(int m, int i, uint8_t mac[6])
{
    const uint8_t base[6] = {0x02, 0x42, 0x0a, 0x58, (uint8_t)(m + 1), (uint8_t)(i + 2)};
    memcpy(mac, base, 6);
}

static void plumb(struct nl_handle *h, int ns, int m, int i)
{
    char host[16], addr[32];
    snprintf(host, sizeof(host), "bt%c-%03d", 'a' + m, i);
    snprintf(addr, sizeof(addr), "10.88.%d.%d/16", m + 1, i + 2);
    struct nl_veth_plumb p = {
        .host_name = host,
        .bridge = bridge,
        .mtu = 1500,
        .netns_fd = ns,
        .ifname = "eth0",
        .disable_ipv6 = true,
        .lo_up = true,
    };
    mac_of(m, i, p.mac);
    nl_prefix_parse(addr, &p.addr4);
    nl_ip_parse("10.88.0.1", &p.gw4);
    CHECK(nl_plumb_veth(h, &p, E));
}

/* The same steps, each its own message and ack, as a straightforward client would send. */
static void single(struct nl_handle *h, int ns, int m, int i)
{
    char host[16], addr[32];
    snprintf(host, sizeof(host), "bt%c-%03d", 'a' + m, i);
    snprintf(addr, sizeof(addr), "10.88.%d.%d/16", m + 1, i + 2);
    uint8_t mac[6];
    mac_of(m, i, mac);
    CHECK(nl_veth_create(h, host, NULL, "eth0", ns, NULL, E));
    int hi;
    CHECK(nl_link_index(h, host, &hi, E));
    CHECK(nl_link_set_mtu(h, hi, 1500, E));
    CHECK(nl_link_set_master(h, hi, bridge, E));
    CHECK(nl_link_set_up(h, hi, true, E));
    struct nl_handle *c;
    CHECK(nl_open(ns, &c, E));
    CHECK(nl_sysctl_set(ns, "ipv6/conf/eth0/disable_ipv6", "1", E));
    int ci;
    CHECK(nl_link_index(c, "eth0", &ci, E));
    CHECK(nl_link_set_mac(c, ci, mac, E));
    CHECK(nl_link_set_mtu(c, ci, 1500, E));
    CHECK(nl_link_set_up(c, 1, true, E));
    CHECK(nl_link_set_up(c, ci, true, E));
    struct nl_prefix p;
    nl_prefix_parse(addr, &p);
    CHECK(nl_addr_add(c, ci, &p, 0, E));
    struct nl_route r = {.dst.ip.family = AF_INET, .oif = ci};
    nl_ip_parse("10.88.0.1", &r.gw);
    CHECK(nl_route_add(c, &r, E));
    nl_close(c);
}

/* `ip ARGS...` (or another command) in netns ns (< 0: here), waited for. */
static void run_in(int ns, char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork", NULL);
    if (pid == 0) {
        if (ns >= 0 && setns(ns, CLONE_NEWNET) < 0)
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "netlink-plumb: %s %s ... failed\n", argv[0], argv[1]);
        exit(1);
    }
}

static void ip_cmds(int ns, int m, int i)
{
    char host[16], addr[32], mac[20], nspath[64];
    snprintf(host, sizeof(host), "bt%c-%03d", 'a' + m, i);
    snprintf(addr, sizeof(addr), "10.88.%d.%d/16", m + 1, i + 2);
    uint8_t b[6];
    mac_of(m, i, b);
    snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
    snprintf(nspath, sizeof(nspath), "/proc/%d/fd/%d", getpid(), ns);
    run_in(-1, (char *[]){"ip", "link", "add", host, "type", "veth", "peer", "name", "eth0",
                          "netns", nspath, NULL});
    run_in(-1,
           (char *[]){"ip", "link", "set", host, "mtu", "1500", "master", "btbench0", "up", NULL});
    run_in(ns, (char *[]){"sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=1", NULL});
    run_in(ns, (char *[]){"ip", "link", "set", "eth0", "address", mac, "mtu", "1500", "up", NULL});
    run_in(ns, (char *[]){"ip", "link", "set", "lo", "up", NULL});
    run_in(ns, (char *[]){"ip", "addr", "add", addr, "dev", "eth0", NULL});
    run_in(ns, (char *[]){"ip", "route", "add", "default", "via", "10.88.0.1", NULL});
}

static void pair_only(struct nl_handle *h, int ns, int i)
{
    char host[16];
    snprintf(host, sizeof(host), "btf-%03d", i);
    struct nl_link_attrs a = {.mtu = 1500, .up = true, .master = bridge};
    CHECK(nl_veth_create(h, host, &a, "eth0", ns, NULL, E));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *words, double *t, int n)
{
    qsort(t, n, sizeof(*t), cmp_double);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += t[i];
    printf("  %-34s %9.0f %9.0f %9.0f\n", words, t[n / 2], t[(n * 9) / 10], sum / n);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    if (n < 1 || n > 250) {
        fprintf(stderr, "usage: netlink-plumb [N]   (1-250 containers per method)\n");
        return 2;
    }
    if (unshare(CLONE_NEWNET) < 0)
        die("unshare(CLONE_NEWNET) (run as root)", NULL);
    struct nl_handle *h;
    CHECK(nl_open(-1, &h, E));
    /* MTU given, as dockerd gives it: the kernel then skips re-deriving it over every port */
    CHECK(nl_bridge_create(h, "btbench0", &(struct nl_link_attrs){.mtu = 1500, .up = true}, E));
    CHECK(nl_link_index(h, "btbench0", &bridge, E));
    struct nl_prefix gw;
    nl_prefix_parse("10.88.0.1/16", &gw);
    CHECK(nl_addr_add(h, bridge, &gw, 0, E));

    double *t[M_COUNT];
    for (int m = 0; m < M_COUNT; m++)
        t[m] = calloc(n * 4, sizeof(double));
    int *ns = calloc(n * 4, sizeof(int));
    int nns = 0;
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 4; k++) {
            int m = (k + i) % 4; /* each method takes each place in a round in turn */
            double t0 = now_us();
            CHECK(nl_netns_new(&ns[i * 4 + m], E));
            t[M_NETNS][nns++] = now_us() - t0;
            int fd = ns[i * 4 + m];
            t0 = now_us();
            if (m == 0)
                plumb(h, fd, 0, i);
            else if (m == 1)
                single(h, fd, 1, i);
            else if (m == 2)
                ip_cmds(fd, 2, i);
            else
                pair_only(h, fd, i);
            t[m == 0 ? M_PLUMB : m == 1 ? M_SINGLE : m == 2 ? M_IP : M_PAIR][i] = now_us() - t0;
        }
    }
    /* Each method made n working containers: count them on the bridge */
    struct nl_link *links;
    size_t count;
    CHECK(nl_link_list(h, "bt", &links, &count, E));
    int in_bridge = 0;
    for (size_t i = 0; i < count; i++)
        in_bridge += links[i].master == bridge && (links[i].flags & IFF_UP);
    free(links);
    for (int i = 0; i < n; i++) {
        char host[16];
        snprintf(host, sizeof(host), "bta-%03d", i);
        double t0 = now_us();
        CHECK(nl_link_delete_name(h, host, E));
        t[M_DELETE][i] = now_us() - t0;
    }

    /* The other removal: let the netns go (method B's containers); the pairs vanish later */
    for (int i = 0; i < n; i++) {
        double t0 = now_us();
        close(ns[i * 4 + 1]);
        t[M_CLOSE][i] = now_us() - t0;
        ns[i * 4 + 1] = -1;
    }
    double t0 = now_us(), drained;
    for (;;) {
        CHECK(nl_link_list(h, "btb-", &links, &count, E));
        free(links);
        drained = now_us() - t0;
        if (count == 0 || drained > 60e6)
            break;
        usleep(1000);
    }

    printf("netlink plumbing: %d containers per method, %d host ends up in the bridge\n", n,
           in_bridge);
    printf("  %-34s %9s %9s %9s   (microseconds per container)\n", "", "median", "p90", "mean");
    report(method_words[M_NETNS], t[M_NETNS], nns);
    for (int m = M_PLUMB; m < M_COUNT; m++)
        report(method_words[m], t[m], n);
    printf("  (after the closes, the kernel took %.0f ms to remove all %d pairs: %s)\n",
           drained / 1e3, n, count ? "NOT ALL GONE" : "all gone");
    for (int i = 0; i < nns; i++)
        if (ns[i] >= 0)
            close(ns[i]);
    nl_close(h);
    return in_bridge == 4 * n ? 0 : 1;
}
