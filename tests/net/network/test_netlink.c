/* tests/net/network/test_netlink.c — net/network/netlink*.c against the kernel. The program
 * moves into a network namespace of its own (and a mount namespace with a fresh sysfs, so
 * /sys/class/net shows that netns) before any test, so every link, address and route it makes
 * vanishes with it. What the module did is read back three ways: its own RTM_GET* readers,
 * /sys/class/net, and iproute2 run in the netns in question. Traffic is a UDP datagram from a
 * socket made in one netns to an address in another. Link kinds this kernel lacks (dummy,
 * ipvlan, vlan are modules some kernels do without) are skipped, not failed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "core/xalloc.h"
#include "net/network/netlink.h"
#include "tests/testutil.h"

static bool in_own_netns; /* the program could unshare: the kernel tests can run */

#define NEED_NETNS()                                                                               \
    do {                                                                                           \
        if (!in_own_netns)                                                                         \
            skip();                                                                                \
    } while (0)

/* A kernel without the link kind (EOPNOTSUPP "Unknown device type"): the body returns false
 * and its test skips once the body's cleanups have run (skip() would jump past them). */
#define RETURN_UNLESS_KIND(r, err, kind)                                                           \
    do {                                                                                           \
        if ((r) < 0 && (err) && (err)->status == EOPNOTSUPP) {                                     \
            fprintf(stderr, "# this kernel has no %s links: %s\n", kind, (err)->msg);              \
            return false;                                                                          \
        }                                                                                          \
    } while (0)

/* ---- helpers ---- */

#define OK(call)                                                                                   \
    do {                                                                                           \
        _cleanup_err_ struct berth_err *_e = NULL;                                                 \
        struct berth_err **err_ = &_e;                                                             \
        int _r = (call);                                                                           \
        if (_r < 0)                                                                                \
            fail_msg("%s: %s", #call, _e ? _e->msg : "?");                                         \
    } while (0)
/* Inside OK(), `E` is the error out-parameter. */
#define E err_

static struct nl_handle *open_in(int ns)
{
    struct nl_handle *h = NULL;
    OK(nl_open(ns, &h, E));
    return h;
}

static int new_netns(void)
{
    int fd = -1;
    OK(nl_netns_new(&fd, E));
    return fd;
}

static int ifindex_of(struct nl_handle *h, const char *name)
{
    int idx = 0;
    OK(nl_link_index(h, name, &idx, E));
    return idx;
}

static bool link_exists(struct nl_handle *h, const char *name)
{
    int idx;
    _cleanup_err_ struct berth_err *err = NULL;
    int r = nl_link_index(h, name, &idx, &err);
    if (r < 0)
        assert_int_equal(err->status, ENODEV);
    return r == 0;
}

static struct nl_prefix prefix(const char *s)
{
    struct nl_prefix p;
    assert_int_equal(nl_prefix_parse(s, &p), 0);
    return p;
}

static struct nl_ip ip(const char *s)
{
    struct nl_ip a;
    assert_int_equal(nl_ip_parse(s, &a), 0);
    return a;
}

/* Output of `sh -c cmd` run in netns ns (< 0: the test's), as a heap string. */
static char *sh_in(int ns, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *sh_in(int ns, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *cmd = xvasprintf(fmt, ap);
    va_end(ap);
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if ((ns >= 0 && setns(ns, CLONE_NEWNET) < 0) || dup2(p[1], 1) < 0)
            _exit(127);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    struct buf out = {0};
    char chunk[4096];
    ssize_t n;
    while ((n = read(p[0], chunk, sizeof(chunk))) > 0)
        buf_append(&out, chunk, (size_t)n);
    close(p[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    buf_reserve(&out, 0);
    return buf_steal(&out, NULL);
}

#define assert_contains(hay, needle)                                                               \
    do {                                                                                           \
        if (!strstr((hay), (needle)))                                                              \
            fail_msg("`%s` not in:\n%s", (needle), (hay));                                         \
    } while (0)
#define assert_lacks(hay, needle)                                                                  \
    do {                                                                                           \
        if (strstr((hay), (needle)))                                                               \
            fail_msg("`%s` unexpectedly in:\n%s", (needle), (hay));                                \
    } while (0)

/* /sys/class/net/<name>/<file> without its newline (the test's netns: sysfs is ours). */
static char *sysnet(const char *name, const char *file)
{
    _cleanup_free_ char *path = xasprintf("/sys/class/net/%s/%s", name, file);
    char *s = tu_read(path, NULL);
    if (s)
        s[strcspn(s, "\n")] = '\0';
    return s;
}

/* A socket made in netns ns: it stays there for life. */
static int socket_in(int ns, int family)
{
    int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    assert_true(self >= 0);
    if (ns >= 0)
        assert_int_equal(setns(ns, CLONE_NEWNET), 0);
    int s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_int_equal(setns(self, CLONE_NEWNET), 0);
    close(self);
    assert_true(s >= 0);
    return s;
}

static socklen_t sockaddr_of(const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
    struct nl_ip a = ip(addr);
    memset(ss, 0, sizeof(*ss));
    if (a.family == AF_INET) {
        struct sockaddr_in *sin = (void *)ss;
        *sin =
            (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = a.v4};
        return sizeof(*sin);
    }
    struct sockaddr_in6 *sin6 = (void *)ss;
    *sin6 =
        (struct sockaddr_in6){.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = a.v6};
    return sizeof(*sin6);
}

/* A datagram sent from a socket in netns `from` arrives at `to_addr` in netns `to`. */
static void assert_udp(int from, int to, const char *to_addr, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t len = sockaddr_of(to_addr, port, &ss);
    _cleanup_close_ int rx = socket_in(to, ss.ss_family);
    _cleanup_close_ int tx = socket_in(from, ss.ss_family);
    if (bind(rx, (struct sockaddr *)&ss, len) < 0)
        fail_msg("bind %s: %s", to_addr, strerror(errno));
    struct timeval tv = {.tv_sec = 10}; /* generous: ARP/ND resolve first; the machine is shared */
    assert_int_equal(setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    char msg[64];
    snprintf(msg, sizeof(msg), "berth to %s", to_addr);
    if (sendto(tx, msg, strlen(msg), 0, (struct sockaddr *)&ss, len) < 0)
        fail_msg("send to %s: %s", to_addr, strerror(errno));
    char got[64] = "";
    ssize_t n = recv(rx, got, sizeof(got) - 1, 0);
    if (n < 0)
        fail_msg("receive at %s: %s", to_addr, strerror(errno));
    got[n] = '\0';
    assert_string_equal(got, msg);
}

static struct nl_link get_link(struct nl_handle *h, const char *name)
{
    struct nl_link l;
    OK(nl_link_get(h, name, 0, &l, E));
    return l;
}

static bool has_addr(struct nl_handle *h, int ifindex, const char *want)
{
    struct nl_prefix *a = NULL;
    size_t n = 0;
    OK(nl_addr_list(h, ifindex, 0, &a, &n, E));
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        char s[NL_PREFIX_STRLEN];
        if (strcmp(nl_prefix_format(&a[i], s), want) == 0)
            found = true;
    }
    free(a);
    return found;
}

/* The main table has a route to dst ("default" or a prefix) via gw (NULL: none) on oif. */
static bool has_route(struct nl_handle *h, int family, const char *dst, const char *gw, int oif)
{
    struct nl_route *rt = NULL;
    size_t n = 0;
    OK(nl_route_list(h, family, &rt, &n, E));
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        char d[NL_PREFIX_STRLEN], g[INET6_ADDRSTRLEN];
        const char *ds = rt[i].dst.len ? nl_prefix_format(&rt[i].dst, d) : "default";
        bool gw_ok = gw ? rt[i].gw.family && strcmp(nl_ip_format(&rt[i].gw, g), gw) == 0
                        : rt[i].gw.family == 0;
        if (strcmp(ds, dst) == 0 && gw_ok && rt[i].oif == oif)
            found = true;
    }
    free(rt);
    return found;
}

static const uint8_t MAC_A[6] = {0x02, 0x42, 0xac, 0x12, 0x00, 0x02};

/* ---- tests ---- */

static void test_prefix_parse(void **state)
{
    (void)state;
    struct nl_prefix p;
    char s[NL_PREFIX_STRLEN];
    assert_int_equal(nl_prefix_parse("172.18.0.2/16", &p), 0);
    assert_int_equal(p.ip.family, AF_INET);
    assert_int_equal(p.len, 16);
    assert_string_equal(nl_prefix_format(&p, s), "172.18.0.2/16");
    assert_int_equal(nl_prefix_parse("fd00:1::2/64", &p), 0);
    assert_int_equal(p.ip.family, AF_INET6);
    assert_string_equal(nl_prefix_format(&p, s), "fd00:1::2/64");
    assert_int_equal(nl_prefix_parse("10.0.0.1/33", &p), -EINVAL);
    assert_int_equal(nl_prefix_parse("10.0.0.1", &p), -EINVAL);
    assert_int_equal(nl_prefix_parse("10.0.0.1/", &p), -EINVAL);
    assert_int_equal(nl_prefix_parse("/8", &p), -EINVAL);
    assert_int_equal(nl_prefix_parse("10.0.0.300/8", &p), -EINVAL);
    assert_int_equal(nl_prefix_parse("fd00::1/129", &p), -EINVAL);
    uint32_t m;
    uint16_t i;
    assert_int_equal(nl_macvlan_mode_parse("passthru", &m), 0);
    assert_int_equal(m, MACVLAN_MODE_PASSTHRU);
    assert_int_equal(nl_macvlan_mode_parse("l2", &m), -EINVAL);
    assert_int_equal(nl_ipvlan_mode_parse("l3s", &i), 0);
    assert_int_equal(i, IPVLAN_MODE_L3S);
    assert_int_equal(nl_ipvlan_mode_parse("bridge", &i), -EINVAL);
}

static void test_netns_new(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_close_ int ns = new_netns();
    struct stat a, b;
    assert_int_equal(fstat(ns, &a), 0);
    assert_int_equal(stat("/proc/thread-self/ns/net", &b), 0);
    assert_true(a.st_ino != b.st_ino); /* a new one, and this thread came back */
    _cleanup_nl_ struct nl_handle *h = open_in(ns);
    struct nl_link *links = NULL;
    size_t n = 0;
    OK(nl_link_list(h, "", &links, &n, E));
    assert_int_equal(n, 1);
    assert_string_equal(links[0].name, "lo");
    assert_int_equal(links[0].ifindex, 1);
    assert_false(links[0].flags & IFF_UP);
    free(links);
    _cleanup_err_ struct berth_err *err = NULL;
    struct nl_handle *bad = NULL;
    assert_true(nl_open(0x7fff, &bad, &err) < 0); /* not an fd */
    assert_int_equal(err->status, EBADF);
    assert_null(bad);
}

static void test_bridge(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_nl_ struct nl_handle *h = open_in(-1);
    struct nl_link_attrs a = {.mtu = 1400, .up = true};
    memcpy(a.mac, MAC_A, 6);
    OK(nl_bridge_create(h, "btbr0", &a, E));
    struct nl_link l = get_link(h, "btbr0");
    assert_string_equal(l.kind, "bridge");
    assert_int_equal(l.mtu, 1400);
    assert_memory_equal(l.mac, MAC_A, 6);
    assert_true(l.flags & IFF_UP);
    assert_int_equal(ifindex_of(h, "btbr0"), l.ifindex);
    _cleanup_free_ char *mtu = sysnet("btbr0", "mtu");
    _cleanup_free_ char *mac = sysnet("btbr0", "address");
    _cleanup_free_ char *flags = sysnet("btbr0", "flags");
    assert_string_equal(mtu, "1400");
    assert_string_equal(mac, "02:42:ac:12:00:02");
    assert_true(strtoul(flags, NULL, 16) & IFF_UP);
    assert_true(tu_exists("/sys/class/net/btbr0/bridge"));

    /* changed one thing at a time */
    OK(nl_link_set_up(h, l.ifindex, false, E));
    OK(nl_link_set_mtu(h, l.ifindex, 1300, E));
    const uint8_t mac2[6] = {0x02, 0, 0, 0, 0, 0x77};
    OK(nl_link_set_mac(h, l.ifindex, mac2, E));
    _cleanup_free_ char *out = sh_in(-1, "ip -o link show btbr0");
    assert_contains(out, "mtu 1300");
    assert_contains(out, "link/ether 02:00:00:00:00:77");
    assert_lacks(out, "UP");
    l = get_link(h, "btbr0");
    assert_false(l.flags & IFF_UP);

    OK(nl_link_delete(h, l.ifindex, E));
    assert_false(link_exists(h, "btbr0"));
    assert_false(tu_exists("/sys/class/net/btbr0"));
}

static void test_veth_peer_in_netns_passes_traffic(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_nl_ struct nl_handle *h = open_in(-1);
    _cleanup_close_ int ns = new_netns();
    _cleanup_nl_ struct nl_handle *hn = open_in(ns);
    /* "eth0" is taken here: the peer must be born there under that name, not renamed */
    OK(nl_bridge_create(h, "eth0", NULL, E));
    struct nl_link_attrs host = {.mtu = 1450, .up = true};
    struct nl_link_attrs peer = {.mtu = 1450, .up = true};
    memcpy(peer.mac, MAC_A, 6);
    OK(nl_veth_create(h, "btv0", &host, "eth0", ns, &peer, E));

    struct nl_link here = get_link(h, "btv0");
    assert_string_equal(here.kind, "veth");
    assert_true(here.link_netnsid >= 0); /* its peer is in another netns */
    struct nl_link there = get_link(hn, "eth0");
    assert_string_equal(there.kind, "veth");
    assert_int_equal(there.mtu, 1450);
    assert_memory_equal(there.mac, MAC_A, 6);
    assert_true(there.flags & IFF_UP);
    assert_int_equal(there.link, here.ifindex); /* each names the other */
    assert_int_equal(here.link, there.ifindex);
    _cleanup_free_ char *ipout = sh_in(ns, "ip -o link show eth0");
    assert_contains(ipout, "eth0@if");
    assert_contains(ipout, "link/ether 02:42:ac:12:00:02");
    assert_string_equal(get_link(h, "eth0").kind, "bridge"); /* ours is untouched */

    struct nl_prefix a_here = prefix("10.77.0.1/24"), a_there = prefix("10.77.0.2/24");
    OK(nl_addr_add(h, here.ifindex, &a_here, 0, E));
    OK(nl_addr_add(hn, there.ifindex, &a_there, 0, E));
    assert_udp(ns, -1, "10.77.0.1", 4000);
    assert_udp(-1, ns, "10.77.0.2", 4001);

    OK(nl_link_delete_name(h, "btv0", E));
    assert_false(link_exists(hn, "eth0")); /* the pair goes together */
    OK(nl_link_delete_name(h, "eth0", E));
}

/* One nl_plumb_veth per container, as berthd will: bridge with the gateway addresses, two
 * netns, traffic between them through the bridge and to the gateway. */
static void test_plumb_bridge_connects_two_netns(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_nl_ struct nl_handle *h = open_in(-1);
    OK(nl_bridge_create(h, "btbr1", &(struct nl_link_attrs){.up = true}, E));
    int br = ifindex_of(h, "btbr1");
    struct nl_prefix gw4 = prefix("10.78.0.1/16"), gw6 = prefix("fd00:78::1/64");
    OK(nl_addr_add(h, br, &gw4, 0, E));
    OK(nl_addr_add(h, br, &gw6, NL_ADDR_NODAD, E));

    _cleanup_close_ int nsa = new_netns();
    _cleanup_close_ int nsb = new_netns();
    struct nl_veth_plumb a = {
        .host_name = "btvethA",
        .bridge = br,
        .mtu = 1450,
        .netns_fd = nsa,
        .ifname = "eth0",
        .addr4 = prefix("10.78.0.2/16"),
        .addr6 = prefix("fd00:78::2/64"),
        .gw4 = ip("10.78.0.1"),
        .gw6 = ip("fd00:78::1"),
        .lo_up = true,
    };
    memcpy(a.mac, MAC_A, 6);
    OK(nl_plumb_veth(h, &a, E));
    /* IPv4 only, IPv6 disabled on the end as dockerd does on such networks */
    struct nl_veth_plumb b = {
        .host_name = "btvethB",
        .bridge = br,
        .netns_fd = nsb,
        .ifname = "eth0",
        .addr4 = prefix("10.78.0.3/16"),
        .gw4 = ip("10.78.0.1"),
        .disable_ipv6 = true,
    };
    OK(nl_plumb_veth(h, &b, E));

    /* the host ends: up, in the bridge */
    struct nl_link ha = get_link(h, "btvethA"), hb = get_link(h, "btvethB");
    assert_int_equal(ha.master, br);
    assert_int_equal(hb.master, br);
    assert_true(ha.flags & IFF_UP);
    assert_int_equal(ha.mtu, 1450);
    assert_true(tu_exists("/sys/class/net/btbr1/brif/btvethA"));
    assert_true(tu_exists("/sys/class/net/btbr1/brif/btvethB"));

    /* container A, read by the module and by iproute2 */
    _cleanup_nl_ struct nl_handle *hna = open_in(nsa);
    struct nl_link ea = get_link(hna, "eth0");
    assert_int_equal(ea.mtu, 1450);
    assert_memory_equal(ea.mac, MAC_A, 6);
    assert_true(ea.flags & IFF_UP);
    assert_true(get_link(hna, "lo").flags & IFF_UP);
    assert_true(has_addr(hna, ea.ifindex, "10.78.0.2/16"));
    assert_true(has_addr(hna, ea.ifindex, "fd00:78::2/64"));
    assert_true(has_route(hna, AF_INET, "default", "10.78.0.1", ea.ifindex));
    assert_true(has_route(hna, AF_INET6, "default", "fd00:78::1", ea.ifindex));
    _cleanup_free_ char *addrs = sh_in(nsa, "ip -o addr show dev eth0");
    assert_contains(addrs, "inet 10.78.0.2/16 brd 10.78.255.255");
    assert_contains(addrs, "inet6 fd00:78::2/64 scope global nodad"); /* usable at once */
    _cleanup_free_ char *routes = sh_in(nsa, "ip route; ip -6 route");
    assert_contains(routes, "default via 10.78.0.1 dev eth0");
    assert_contains(routes, "default via fd00:78::1 dev eth0");

    /* container B: no IPv6 at all on eth0, lo left down */
    _cleanup_nl_ struct nl_handle *hnb = open_in(nsb);
    struct nl_link eb = get_link(hnb, "eth0");
    assert_true(eb.flags & IFF_UP);
    assert_false(get_link(hnb, "lo").flags & IFF_UP);
    char v[16];
    OK(nl_sysctl_get(nsb, "ipv6/conf/eth0/disable_ipv6", v, sizeof(v), E));
    assert_string_equal(v, "1");
    _cleanup_free_ char *baddrs = sh_in(nsb, "ip -o addr show dev eth0");
    assert_contains(baddrs, "inet 10.78.0.3/16");
    assert_lacks(baddrs, "inet6");

    /* A and B reach each other through the bridge, and A its gateway over v4 and v6 */
    assert_udp(nsa, nsb, "10.78.0.3", 4100);
    assert_udp(nsb, nsa, "10.78.0.2", 4101);
    assert_udp(nsa, -1, "10.78.0.1", 4102);
    assert_udp(nsa, -1, "fd00:78::1", 4103);
    assert_udp(-1, nsa, "fd00:78::2", 4104);

    OK(nl_link_delete_name(h, "btvethA", E));
    OK(nl_link_delete_name(h, "btvethB", E));
    OK(nl_link_delete(h, br, E));
}

/* A failing step is named, and nothing of the plumbing is left. */
static void test_plumb_errors_leave_nothing(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_nl_ struct nl_handle *h = open_in(-1);
    OK(nl_bridge_create(h, "btbr2", &(struct nl_link_attrs){.up = true}, E));
    int br = ifindex_of(h, "btbr2");
    _cleanup_close_ int ns = new_netns();
    _cleanup_nl_ struct nl_handle *hn = open_in(ns);
    struct nl_veth_plumb p = {
        .host_name = "btvethE",
        .bridge = br,
        .netns_fd = ns,
        .ifname = "eth0",
        .addr4 = prefix("10.79.0.2/16"),
        .gw4 = ip("10.99.0.1"), /* not on the subnet: the route is refused */
    };
    _cleanup_err_ struct berth_err *err = NULL;
    assert_true(nl_plumb_veth(h, &p, &err) < 0);
    assert_int_equal(err->status, ENETUNREACH);
    assert_contains(err->msg, "add route default via 10.99.0.1 dev `eth0`: Network is unreachable");
    assert_false(link_exists(h, "btvethE"));
    assert_false(link_exists(hn, "eth0"));

    /* a host name already taken: that link is left alone */
    OK(nl_bridge_create(h, "btvethE", NULL, E));
    p.gw4 = ip("10.79.0.1");
    berth_err_free(take_ptr(err));
    assert_true(nl_plumb_veth(h, &p, &err) < 0);
    assert_int_equal(err->status, EEXIST);
    assert_string_equal(err->msg, "create veth pair `btvethE` and `eth0`: File exists");
    assert_string_equal(get_link(h, "btvethE").kind, "bridge");
    assert_false(link_exists(hn, "eth0"));

    /* a second plumbing of the same netns with the same settings: the address is accepted
     * (IPv4 allows it on two links), the default route is the first step to fail, and the
     * undo takes the address with the pair */
    OK(nl_link_delete_name(h, "btvethE", E));
    OK(nl_plumb_veth(h, &p, E));
    p.host_name = "btvethF";
    p.ifname = "eth1";
    berth_err_free(take_ptr(err));
    assert_true(nl_plumb_veth(h, &p, &err) < 0);
    assert_int_equal(err->status, EEXIST);
    assert_contains(err->msg, "add route default via 10.79.0.1 dev `eth1`: File exists");
    assert_false(link_exists(h, "btvethF"));
    assert_false(link_exists(hn, "eth1"));
    assert_true(link_exists(hn, "eth0"));
    assert_true(has_route(hn, AF_INET, "default", "10.79.0.1", ifindex_of(hn, "eth0")));

    /* a bad netns fd: nothing made */
    p.netns_fd = 0x7ffe;
    berth_err_free(take_ptr(err));
    assert_true(nl_plumb_veth(h, &p, &err) < 0);
    assert_int_equal(err->status, EBADF);
    assert_false(link_exists(h, "btvethF"));

    OK(nl_link_delete_name(h, "btvethE", E));
    OK(nl_link_delete(h, br, E));
}

/* A parent for macvlan/ipvlan/vlan: a dummy link, or on a kernel without dummy links one end
 * of a veth pair (which works as a parent as well). */
static int make_parent(struct nl_handle *h, const char *name)
{
    _cleanup_err_ struct berth_err *err = NULL;
    int r = nl_dummy_create(h, name, &(struct nl_link_attrs){.up = true}, &err);
    if (r < 0 && err->status == EOPNOTSUPP) {
        _cleanup_free_ char *peer = xasprintf("%sp", name);
        OK(nl_veth_create(h, name, &(struct nl_link_attrs){.up = true}, peer, -1, NULL, E));
    } else if (r < 0) {
        fail_msg("%s", err->msg);
    }
    return ifindex_of(h, name);
}

static bool dummy_body(void)
{
    _cleanup_nl_ struct nl_handle *h = open_in(-1);
    _cleanup_err_ struct berth_err *err = NULL;
    int r = nl_dummy_create(h, "btdum0", &(struct nl_link_attrs){.mtu = 9000}, &err);
    RETURN_UNLESS_KIND(r, err, "dummy");
    assert_int_equal(r, 0);
    struct nl_link l = get_link(h, "btdum0");
    assert_string_equal(l.kind, "dummy");
    assert_int_equal(l.mtu, 9000);
    OK(nl_link_delete(h, l.ifindex, E));
    return true;
}

static void test_dummy(void **state)
{
    (void)state;
    NEED_NETNS();
    if (!dummy_body())
        skip();
}

static void test_macvlan(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_nl_ struct nl_handle *h = open_in(-1);
    _cleanup_close_ int ns = new_netns();
    _cleanup_nl_ struct nl_handle *hn = open_in(ns);
    int parent = make_parent(h, "btpar0");
    const char *words[] = {"bridge", "private", "vepa"};
    for (size_t i = 0; i < 3; i++) {
        uint32_t mode;
        assert_int_equal(nl_macvlan_mode_parse(words[i], &mode), 0);
        char name[16];
        snprintf(name, sizeof(name), "mv%zu", i);
        /* made directly in the netns, the parent staying here */
        OK(nl_macvlan_create(h, name, parent, mode, ns, &(struct nl_link_attrs){.mtu = 1400}, E));
        struct nl_link l = get_link(hn, name);
        assert_string_equal(l.kind, "macvlan");
        assert_int_equal(l.mode, mode);
        assert_int_equal(l.mtu, 1400);
        _cleanup_free_ char *out = sh_in(ns, "ip -d -o link show %s", name);
        _cleanup_free_ char *want = xasprintf("macvlan mode %s", words[i]);
        assert_contains(out, want);
        assert_false(link_exists(h, name));
    }
    /* passthru wants the parent to itself */
    int parent2 = make_parent(h, "btpar1");
    OK(nl_macvlan_create(h, "btmvpt", parent2, MACVLAN_MODE_PASSTHRU, -1, NULL, E));
    struct nl_link pt = get_link(h, "btmvpt");
    assert_int_equal(pt.mode, MACVLAN_MODE_PASSTHRU);
    assert_int_equal(pt.link, parent2);
    _cleanup_free_ char *out = sh_in(-1, "ip -d -o link show btmvpt");
    assert_contains(out, "macvlan mode passthru");
    /* made here, then moved and renamed in one message */
    OK(nl_link_move(h, pt.ifindex, ns, "eth5", E));
    assert_false(link_exists(h, "btmvpt"));
    assert_string_equal(get_link(hn, "eth5").kind, "macvlan");

    /* deleting the parents takes their macvlans, wherever they are */
    OK(nl_link_delete(h, parent, E));
    OK(nl_link_delete(h, parent2, E));
    assert_false(link_exists(hn, "mv0"));
    assert_false(link_exists(hn, "eth5"));
}

static bool ipvlan_body(void)
{
    _cleanup_nl_ struct nl_handle *h = open_in(-1);
    _cleanup_close_ int ns = new_netns();
    _cleanup_nl_ struct nl_handle *hn = open_in(ns);
    int parent = make_parent(h, "btpar2");
    _cleanup_err_ struct berth_err *err = NULL;
    int r = nl_ipvlan_create(h, "ipv0", parent, IPVLAN_MODE_L2, 0, ns, NULL, &err);
    if (r < 0)
        OK(nl_link_delete(h, parent, E));
    RETURN_UNLESS_KIND(r, err, "ipvlan");
    assert_int_equal(r, 0);
    OK(nl_ipvlan_create(h, "ipv1", parent, IPVLAN_MODE_L3, IPVLAN_F_PRIVATE, ns, NULL, E));
    OK(nl_ipvlan_create(h, "ipv2", parent, IPVLAN_MODE_L3S, 0, ns, NULL, E));
    assert_int_equal(get_link(hn, "ipv0").mode, IPVLAN_MODE_L2);
    assert_int_equal(get_link(hn, "ipv1").mode, IPVLAN_MODE_L3);
    assert_int_equal(get_link(hn, "ipv1").ipvlan_flags, IPVLAN_F_PRIVATE);
    assert_int_equal(get_link(hn, "ipv2").mode, IPVLAN_MODE_L3S);
    _cleanup_free_ char *out = sh_in(ns, "ip -d -o link show ipv2");
    assert_contains(out, "ipvlan  mode l3s");
    OK(nl_link_delete(h, parent, E));
    assert_false(link_exists(hn, "ipv0"));
    return true;
}

static void test_ipvlan(void **state)
{
    (void)state;
    NEED_NETNS();
    if (!ipvlan_body())
        skip();
}

static bool vlan_body(void)
{
    _cleanup_nl_ struct nl_handle *h = open_in(-1);
    int parent = make_parent(h, "btpar3");
    _cleanup_err_ struct berth_err *err = NULL;
    int r = nl_vlan_create(h, "btpar3.10", parent, 10, &(struct nl_link_attrs){.up = true}, &err);
    if (r < 0)
        OK(nl_link_delete(h, parent, E));
    RETURN_UNLESS_KIND(r, err, "802.1q vlan");
    assert_int_equal(r, 0);
    struct nl_link l = get_link(h, "btpar3.10");
    assert_string_equal(l.kind, "vlan");
    assert_int_equal(l.vlan_id, 10);
    assert_int_equal(l.link, parent);
    _cleanup_free_ char *out = sh_in(-1, "ip -d -o link show btpar3.10");
    assert_contains(out, "vlan protocol 802.1Q id 10");
    OK(nl_link_delete(h, parent, E));
    assert_false(link_exists(h, "btpar3.10"));
    return true;
}

static void test_vlan(void **state)
{
    (void)state;
    NEED_NETNS();
    if (!vlan_body())
        skip();
}

static void test_master_and_move(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_nl_ struct nl_handle *h = open_in(-1);
    _cleanup_close_ int ns = new_netns();
    _cleanup_nl_ struct nl_handle *hn = open_in(ns);
    OK(nl_bridge_create(h, "btbr3", NULL, E));
    int br = ifindex_of(h, "btbr3");
    /* the peer's master and up come by a second message: both must hold */
    OK(nl_veth_create(h, "btm0", NULL, "btm1", -1,
                      &(struct nl_link_attrs){.up = true, .master = br}, E));
    int m0 = ifindex_of(h, "btm0"), m1 = ifindex_of(h, "btm1");
    struct nl_link l1 = get_link(h, "btm1");
    assert_int_equal(l1.master, br);
    assert_true(l1.flags & IFF_UP);
    assert_false(get_link(h, "btm0").flags & IFF_UP);
    OK(nl_link_set_master(h, m1, 0, E));
    OK(nl_link_set_master(h, m0, br, E));
    assert_int_equal(get_link(h, "btm0").master, br);
    char target[64] = "";
    assert_true(readlink("/sys/class/net/btm0/master", target, sizeof(target) - 1) > 0);
    assert_contains(target, "btbr3");
    OK(nl_link_set_master(h, m0, 0, E));
    assert_int_equal(get_link(h, "btm0").master, 0);
    assert_false(tu_exists("/sys/class/net/btm0/master"));

    /* moved, renamed to a name this netns also has */
    OK(nl_bridge_create(h, "eth0", NULL, E));
    OK(nl_link_move(h, m1, ns, "eth0", E));
    assert_false(link_exists(h, "btm1"));
    struct nl_link e = get_link(hn, "eth0");
    assert_string_equal(e.kind, "veth");
    _cleanup_free_ char *out = sh_in(ns, "ip -o link show eth0");
    assert_contains(out, "eth0@if");
    /* moved without a new name */
    OK(nl_veth_create(h, "btm2", NULL, "btm3", -1, NULL, E));
    OK(nl_link_move(h, ifindex_of(h, "btm3"), ns, NULL, E));
    assert_true(link_exists(hn, "btm3"));

    OK(nl_link_delete_name(h, "btm0", E));
    OK(nl_link_delete_name(h, "btm2", E));
    OK(nl_link_delete_name(h, "eth0", E));
    OK(nl_link_delete(h, br, E));
    assert_false(link_exists(hn, "eth0"));
}

static void test_errors(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_nl_ struct nl_handle *h = open_in(-1);
    _cleanup_err_ struct berth_err *err = NULL;

    OK(nl_bridge_create(h, "btdup", NULL, E));
    assert_true(nl_bridge_create(h, "btdup", NULL, &err) < 0);
    assert_int_equal(err->status, EEXIST);
    assert_string_equal(err->msg, "create bridge link `btdup`: File exists");
    berth_err_free(take_ptr(err));
    assert_true(nl_veth_create(h, "btdup", NULL, "btdupp", -1, NULL, &err) < 0);
    assert_int_equal(err->status, EEXIST);
    assert_contains(err->msg, "create veth pair `btdup` and `btdupp`: File exists");
    assert_false(link_exists(h, "btdupp"));

    /* a missing parent */
    berth_err_free(take_ptr(err));
    assert_true(nl_macvlan_create(h, "btmvx", 99999, MACVLAN_MODE_BRIDGE, -1, NULL, &err) < 0);
    assert_int_equal(err->status, ENODEV);
    assert_contains(err->msg, "create macvlan link `btmvx`: No such device");
    assert_false(link_exists(h, "btmvx"));

    /* names, lookups, a missing link */
    berth_err_free(take_ptr(err));
    assert_true(nl_bridge_create(h, "btthisnameistoolong", NULL, &err) < 0);
    assert_int_equal(err->status, EINVAL);
    assert_string_equal(err->msg,
                        "create bridge link: interface name `btthisnameistoolong` is longer "
                        "than 15 bytes");
    berth_err_free(take_ptr(err));
    int idx;
    assert_true(nl_link_index(h, "btnone", &idx, &err) < 0);
    assert_int_equal(err->status, ENODEV);
    assert_string_equal(err->msg, "find link `btnone`: No such device");
    berth_err_free(take_ptr(err));
    struct nl_link l;
    assert_true(nl_link_get(h, "btnone", 0, &l, &err) < 0);
    assert_int_equal(err->status, ENODEV);
    berth_err_free(take_ptr(err));
    assert_true(nl_link_delete_name(h, "btnone", &err) < 0);
    assert_int_equal(err->status, ENODEV);
    assert_string_equal(err->msg, "delete link `btnone`: No such device");
    berth_err_free(take_ptr(err));
    assert_true(nl_link_set_up(h, 99999, true, &err) < 0);
    assert_int_equal(err->status, ENODEV);
    assert_string_equal(err->msg, "bring link 99999 up: No such device");

    /* a master across namespaces is refused before anything is sent */
    berth_err_free(take_ptr(err));
    assert_true(nl_macvlan_create(h, "btmvy", 1, MACVLAN_MODE_BRIDGE, 0,
                                  &(struct nl_link_attrs){.master = 1}, &err) < 0);
    assert_int_equal(err->status, EINVAL);

    /* the same address twice */
    int dup = ifindex_of(h, "btdup");
    struct nl_prefix p = prefix("10.80.0.1/24");
    OK(nl_addr_add(h, dup, &p, 0, E));
    berth_err_free(take_ptr(err));
    assert_true(nl_addr_add(h, dup, &p, 0, &err) < 0);
    assert_int_equal(err->status, EEXIST);
    /* the kernel's own words follow in parentheses when it gives some */
    assert_contains(err->msg, "add address 10.80.0.1/24 to `btdup`: File exists");
    OK(nl_link_delete(h, dup, E));
}

static void test_addresses_and_routes(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_nl_ struct nl_handle *h = open_in(-1);
    OK(nl_veth_create(h, "btr0", &(struct nl_link_attrs){.up = true}, "btr1", -1,
                      &(struct nl_link_attrs){.up = true}, E));
    int r0 = ifindex_of(h, "btr0");
    struct nl_prefix v4 = prefix("10.81.0.2/24"), v6 = prefix("fd00:81::2/64");
    OK(nl_addr_add(h, r0, &v4, 0, E));
    OK(nl_addr_add(h, r0, &v6, NL_ADDR_NODAD, E));
    assert_true(has_addr(h, r0, "10.81.0.2/24"));
    assert_true(has_addr(h, r0, "fd00:81::2/64"));
    _cleanup_free_ char *out = sh_in(-1, "ip -o addr show dev btr0");
    assert_contains(out, "inet 10.81.0.2/24 brd 10.81.0.255");
    assert_contains(out, "inet6 fd00:81::2/64");

    struct nl_route subnet = {.dst = prefix("10.82.0.0/16"), .oif = r0};
    struct nl_route def4 = {.dst.ip.family = AF_INET, .gw = ip("10.81.0.1")};
    struct nl_route def6 = {.dst.ip.family = AF_INET6, .gw = ip("fd00:81::1"), .oif = r0};
    OK(nl_route_add(h, &subnet, E));
    OK(nl_route_add(h, &def4, E));
    OK(nl_route_add(h, &def6, E));
    assert_true(has_route(h, AF_INET, "10.82.0.0/16", NULL, r0));
    assert_true(has_route(h, AF_INET, "default", "10.81.0.1", r0)); /* the kernel found the dev */
    assert_true(has_route(h, AF_INET6, "default", "fd00:81::1", r0));
    _cleanup_free_ char *routes = sh_in(-1, "ip route; ip -6 route");
    /* (ip route does not print "proto boot", the protocol ip and dockerd's library give) */
    assert_contains(routes, "10.82.0.0/16 dev btr0 scope link");
    assert_contains(routes, "default via 10.81.0.1 dev btr0 \n");
    assert_contains(routes, "default via fd00:81::1 dev btr0 metric 1024");

    _cleanup_err_ struct berth_err *err = NULL;
    assert_true(nl_route_add(h, &def4, &err) < 0);
    assert_int_equal(err->status, EEXIST);
    assert_string_equal(err->msg, "add route default via 10.81.0.1: File exists");

    OK(nl_route_del(h, &subnet, E));
    OK(nl_route_del(h, &def4, E));
    OK(nl_route_del(h, &def6, E));
    assert_false(has_route(h, AF_INET, "10.82.0.0/16", NULL, r0));
    assert_false(has_route(h, AF_INET, "default", "10.81.0.1", r0));
    assert_false(has_route(h, AF_INET6, "default", "fd00:81::1", r0));
    OK(nl_addr_del(h, r0, &v4, E));
    OK(nl_addr_del(h, r0, &v6, E));
    assert_false(has_addr(h, r0, "10.81.0.2/24"));
    assert_false(has_addr(h, r0, "fd00:81::2/64"));
    _cleanup_free_ char *after = sh_in(-1, "ip -o addr show dev btr0");
    assert_lacks(after, "10.81.0.2");
    OK(nl_link_delete(h, r0, E));
}

static void test_list_by_prefix_and_delete_leaves_nothing(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_nl_ struct nl_handle *h = open_in(-1);
    _cleanup_close_ int ns = new_netns();
    _cleanup_nl_ struct nl_handle *hn = open_in(ns);
    OK(nl_bridge_create(h, "btlsbr", NULL, E));
    OK(nl_veth_create(h, "btlsv0", NULL, "eth0", ns, NULL, E));
    OK(nl_veth_create(h, "btlsv1", NULL, "btlsv1p", -1, NULL, E));
    OK(nl_bridge_create(h, "btother", NULL, E));
    struct nl_link *links = NULL;
    size_t n = 0;
    OK(nl_link_list(h, "btls", &links, &n, E));
    assert_int_equal(n, 4);
    const char *want[] = {"btlsbr", "btlsv0", "btlsv1p", "btlsv1"}; /* by ifindex */
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(links[i].name, want[i]);
        if (i)
            assert_true(links[i].ifindex > links[i - 1].ifindex);
    }
    assert_string_equal(links[0].kind, "bridge");
    assert_string_equal(links[1].kind, "veth");

    /* reconcile as berthd would after a crash: delete every listed one */
    for (size_t i = 0; i < n; i++) {
        _cleanup_err_ struct berth_err *err = NULL;
        int r = nl_link_delete(h, links[i].ifindex, &err);
        /* a veth's end goes with its peer: a later entry may be gone already */
        if (r < 0)
            assert_int_equal(err->status, ENODEV);
    }
    free(links);
    OK(nl_link_list(h, "btls", &links, &n, E));
    assert_int_equal(n, 0);
    assert_null(links);
    assert_false(link_exists(hn, "eth0"));
    _cleanup_free_ char *sys = tu_listing("/sys/class/net");
    assert_lacks(sys, "btls");
    _cleanup_free_ char *ipout = sh_in(-1, "ip -o link");
    assert_lacks(ipout, "btls");
    OK(nl_link_list(h, "", &links, &n, E));
    assert_true(n >= 2);
    assert_string_equal(links[0].name, "lo");
    free(links);
    OK(nl_link_delete_name(h, "btother", E));
}

/* The cheap way to unplumb (nl_link_delete waits for RCU grace periods, ~16 ms): let the netns
 * go, and the kernel removes the pair in its netns cleanup work. */
static void test_netns_close_takes_the_pair(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_nl_ struct nl_handle *h = open_in(-1);
    int ns = new_netns();
    struct nl_veth_plumb p = {
        .host_name = "btgone",
        .netns_fd = ns,
        .ifname = "eth0",
        .addr4 = prefix("10.83.0.2/24"),
        .lo_up = true,
    };
    OK(nl_plumb_veth(h, &p, E));
    assert_true(link_exists(h, "btgone"));
    close(ns);
    /* soon, not at once: polled for up to 10 s */
    for (int i = 0; i < 10000 && link_exists(h, "btgone"); i++)
        usleep(1000);
    assert_false(link_exists(h, "btgone"));
}

struct sysctl_job {
    int ns;
    int r;
    ino_t before, after;
};

/* On its own thread, as on a pool thread: the write lands in the netns, the thread returns. */
static void *sysctl_thread(void *arg)
{
    struct sysctl_job *j = arg;
    struct stat st;
    stat("/proc/thread-self/ns/net", &st);
    j->before = st.st_ino;
    j->r = nl_sysctl_set(j->ns, "ipv4/conf/eth0/route_localnet", "1", NULL);
    if (j->r == 0)
        j->r = nl_sysctl_set(j->ns, "ipv6/conf/eth0/disable_ipv6", "1", NULL);
    stat("/proc/thread-self/ns/net", &st);
    j->after = st.st_ino;
    return NULL;
}

static void test_sysctl_in_netns(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_nl_ struct nl_handle *h = open_in(-1);
    _cleanup_close_ int ns = new_netns();
    /* eth0 here and there: the write must land there only */
    OK(nl_veth_create(h, "eth0", NULL, "eth0", ns, &(struct nl_link_attrs){.up = true}, E));
    struct sysctl_job j = {.ns = ns};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, sysctl_thread, &j), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(j.r, 0);
    assert_true(j.before == j.after);

    _cleanup_free_ char *there = sh_in(ns, "cat /proc/sys/net/ipv4/conf/eth0/route_localnet "
                                           "/proc/sys/net/ipv6/conf/eth0/disable_ipv6");
    assert_string_equal(there, "1\n1\n");
    _cleanup_free_ char *here = sh_in(-1, "cat /proc/sys/net/ipv4/conf/eth0/route_localnet "
                                          "/proc/sys/net/ipv6/conf/eth0/disable_ipv6");
    assert_string_equal(here, "0\n0\n");
    char v[16];
    OK(nl_sysctl_get(ns, "ipv4/conf/eth0/route_localnet", v, sizeof(v), E));
    assert_string_equal(v, "1");
    OK(nl_sysctl_get(-1, "ipv4/conf/eth0/route_localnet", v, sizeof(v), E));
    assert_string_equal(v, "0");
    _cleanup_free_ char *addrs = sh_in(ns, "ip -o addr show dev eth0");
    assert_lacks(addrs, "inet6"); /* disabled: the link-local address went */

    _cleanup_err_ struct berth_err *err = NULL;
    assert_true(nl_sysctl_set(ns, "ipv4/conf/btnone/route_localnet", "1", &err) < 0);
    assert_int_equal(err->status, ENOENT);
    berth_err_free(take_ptr(err));
    assert_true(nl_sysctl_set(ns, "../kernel/hostname", "x", &err) < 0);
    assert_int_equal(err->status, EINVAL);
    berth_err_free(take_ptr(err));
    assert_true(nl_sysctl_set(ns, "/etc/passwd", "x", &err) < 0);
    assert_int_equal(err->status, EINVAL);
    OK(nl_link_delete_name(h, "eth0", E));
}

/* The program's own netns, and a mount namespace whose /sys shows it. */
/* A container's macvlan end to end: born in its netns as eth0 with its MAC, address and default
 * route; two on one parent in bridge mode reach each other; a failing step leaves no link; and
 * nl_lower_unplumb takes one away while its netns lives on. */
static void test_plumb_lower(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_nl_ struct nl_handle *h = open_in(-1);
    int parent = make_parent(h, "btlp0");
    if (link_exists(h, "btlp0p")) /* a veth parent: its carrier needs the other end up */
        OK(nl_link_set_up(h, ifindex_of(h, "btlp0p"), true, E));
    _cleanup_close_ int nsa = new_netns();
    _cleanup_close_ int nsb = new_netns();
    struct nl_lower_plumb a = {.parent = parent,
                               .mode = MACVLAN_MODE_BRIDGE,
                               .netns_fd = nsa,
                               .ifname = "eth0",
                               .addr4 = prefix("10.51.0.2/24"),
                               .gw4 = ip("10.51.0.1"),
                               .disable_ipv6 = true,
                               .lo_up = true};
    memcpy(a.mac, MAC_A, 6);
    OK(nl_plumb_lower(h, &a, E));
    struct nl_lower_plumb b = a;
    b.netns_fd = nsb;
    b.addr4 = prefix("10.51.0.3/24");
    b.gw4 = (struct nl_ip){0};
    memset(b.mac, 0, 6);
    OK(nl_plumb_lower(h, &b, E));

    _cleanup_nl_ struct nl_handle *hna = open_in(nsa);
    struct nl_link ea = get_link(hna, "eth0");
    assert_string_equal(ea.kind, "macvlan");
    assert_int_equal(ea.mode, MACVLAN_MODE_BRIDGE);
    assert_memory_equal(ea.mac, MAC_A, 6);
    assert_true(ea.flags & IFF_UP);
    assert_true(get_link(hna, "lo").flags & IFF_UP);
    assert_true(has_addr(hna, ea.ifindex, "10.51.0.2/24"));
    assert_true(has_route(hna, AF_INET, "default", "10.51.0.1", ea.ifindex));
    _cleanup_free_ char *out = sh_in(nsa, "ip -d -o link show eth0; ip route");
    assert_contains(out, "macvlan mode bridge");
    assert_contains(out, "default via 10.51.0.1 dev eth0");
    char v[16];
    OK(nl_sysctl_get(nsa, "ipv6/conf/eth0/disable_ipv6", v, sizeof(v), E));
    assert_string_equal(v, "1");
    assert_false(link_exists(h, "eth0")); /* never in the parent's netns */
    _cleanup_free_ char *bout = sh_in(nsb, "ip route");
    assert_lacks(bout, "default");

    assert_udp(nsa, nsb, "10.51.0.3", 4200);
    assert_udp(nsb, nsa, "10.51.0.2", 4201);

    /* a failing step (an address the kernel refuses) is named and leaves no link */
    _cleanup_close_ int nsc = new_netns();
    struct nl_lower_plumb c = b;
    c.netns_fd = nsc;
    c.gw4 = ip("10.99.0.1"); /* not on-link: the route is refused */
    _cleanup_err_ struct berth_err *err = NULL;
    assert_true(nl_plumb_lower(h, &c, &err) < 0);
    assert_contains(err->msg, "route");
    _cleanup_nl_ struct nl_handle *hnc = open_in(nsc);
    assert_false(link_exists(hnc, "eth0"));

    /* taken away while its netns lives on */
    OK(nl_lower_unplumb(nsb, "eth0", E));
    _cleanup_nl_ struct nl_handle *hnb = open_in(nsb);
    assert_false(link_exists(hnb, "eth0"));
    _cleanup_err_ struct berth_err *gone = NULL;
    assert_true(nl_lower_unplumb(nsb, "eth0", &gone) < 0);
    assert_int_equal(gone->status, ENODEV);

    /* ipvlan l3 where the kernel has it: no MAC of its own, a default route through the link */
    _cleanup_close_ int nsd = new_netns();
    struct nl_lower_plumb d = {.ipvlan = true,
                               .parent = parent,
                               .mode = IPVLAN_MODE_L3,
                               .netns_fd = nsd,
                               .ifname = "eth0",
                               .addr4 = prefix("10.51.0.4/24"),
                               .default_dev4 = true};
    _cleanup_err_ struct berth_err *ierr = NULL;
    int r = nl_plumb_lower(h, &d, &ierr);
    if (r < 0 && ierr->status == EOPNOTSUPP) {
        fprintf(stderr, "# this kernel has no ipvlan links: %s\n", ierr->msg);
    } else {
        assert_int_equal(r, 0);
        _cleanup_free_ char *dout = sh_in(nsd, "ip -d -o link show eth0; ip route");
        assert_contains(dout, "ipvlan");
        assert_contains(dout, "default dev eth0");
    }
    OK(nl_link_delete(h, parent, E));
    assert_false(link_exists(hna, "eth0")); /* the parent takes its children along */
}

static bool enter_test_namespaces(void)
{
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0) {
        fprintf(stderr, "# unshare(CLONE_NEWNET|CLONE_NEWNS): %s: kernel tests skipped\n",
                strerror(errno));
        return false;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
        fprintf(stderr, "# mount a private sysfs: %s\n", strerror(errno));
        return false;
    }
    return true;
}

int main(void)
{
    in_own_netns = tu_is_root() && enter_test_namespaces();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_parse),
        cmocka_unit_test(test_netns_new),
        cmocka_unit_test(test_bridge),
        cmocka_unit_test(test_veth_peer_in_netns_passes_traffic),
        cmocka_unit_test(test_plumb_bridge_connects_two_netns),
        cmocka_unit_test(test_plumb_errors_leave_nothing),
        cmocka_unit_test(test_dummy),
        cmocka_unit_test(test_macvlan),
        cmocka_unit_test(test_plumb_lower),
        cmocka_unit_test(test_ipvlan),
        cmocka_unit_test(test_vlan),
        cmocka_unit_test(test_master_and_move),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_addresses_and_routes),
        cmocka_unit_test(test_list_by_prefix_and_delete_leaves_nothing),
        cmocka_unit_test(test_netns_close_takes_the_pair),
        cmocka_unit_test(test_sysctl_in_netns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
