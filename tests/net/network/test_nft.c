/* tests/net/network/test_nft.c — net/network/nft.c against the kernel, in a network namespace
 * of this process alone (nothing touches the host's tables or links): the tables and chains
 * read back after init, elements coming and going, nft_list for reconciling, teardown; and
 * real traffic through a bridge to "containers" (more namespaces, each a process that serves
 * TCP and UDP): published ports from outside, from the host, at 127.0.0.1, hairpin, UDP,
 * masquerade, isolation between bridges, icc off, internal networks, IPv6. Ends with the cost
 * of each per-container operation, with 1 and with 1000 ports already published. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "core/cleanup.h"
#include "core/xalloc.h"
#include "net/network/nft.h"

static bool in_netns; /* set by the group setup: false skips every test */

/* ---- shell steps (iproute2, nsenter) ---- */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *cmd = xvasprintf(fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc != 0)
        fail_msg("`%s` exited with %d", cmd, rc);
}

static void write_file(const char *path, const char *value)
{
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, value, strlen(value)) < 0)
        fail_msg("write %s: %s", path, strerror(errno));
}

/* ---- "containers": a namespace held by a process that serves in it ---- */

/* What a server answers: its name and the address the connection came from, so a test sees
 * both where it landed and what source the container saw. */
static void answer(int fd, const char *name, const struct sockaddr_storage *peer,
                   const struct sockaddr *to, socklen_t tolen)
{
    char ip[INET6_ADDRSTRLEN] = "?", line[128];
    const void *a = peer->ss_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)peer)->sin6_addr
                        : (const void *)&((const struct sockaddr_in *)peer)->sin_addr;
    inet_ntop(peer->ss_family, a, ip, sizeof(ip));
    if (strncmp(ip, "::ffff:", 7) == 0)
        memmove(ip, ip + 7, strlen(ip + 7) + 1);
    int n = snprintf(line, sizeof(line), "%s %s", name, ip);
    if (to)
        (void)!sendto(fd, line, (size_t)n, 0, to, tolen);
    else
        (void)!write(fd, line, (size_t)n);
}

static int listen_on(int type, uint16_t port)
{
    int fd = socket(AF_INET6, type | SOCK_CLOEXEC, 0), zero = 0, one = 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        (type == SOCK_STREAM && listen(fd, 64) < 0))
        _exit(3);
    return fd;
}

/* The child: a network namespace of its own, TCP on the ports given and UDP on `udp`, answering
 * until killed. */
static void serve(const char *name, const uint16_t *tcp, size_t n_tcp, uint16_t udp, int ready)
{
    if (unshare(CLONE_NEWNET) < 0)
        _exit(2);
    struct pollfd p[8];
    size_t n = 0;
    for (size_t i = 0; i < n_tcp; i++)
        p[n++] = (struct pollfd){.fd = listen_on(SOCK_STREAM, tcp[i]), .events = POLLIN};
    if (udp)
        p[n++] = (struct pollfd){.fd = listen_on(SOCK_DGRAM, udp), .events = POLLIN};
    (void)!write(ready, "r", 1);
    close(ready);
    for (;;) {
        if (poll(p, n, -1) < 0)
            continue;
        for (size_t i = 0; i < n; i++) {
            if (!(p[i].revents & POLLIN))
                continue;
            struct sockaddr_storage peer;
            socklen_t len = sizeof(peer);
            if (udp && i == n - 1) {
                char buf[64];
                if (recvfrom(p[i].fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &len) >= 0)
                    answer(p[i].fd, name, &peer, (struct sockaddr *)&peer, len);
                continue;
            }
            int c = accept4(p[i].fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
            if (c >= 0) {
                answer(c, name, &peer, NULL, 0);
                close(c);
            }
        }
    }
}

struct ctr {
    pid_t pid;
};

static struct ctr spawn(const char *name, const uint16_t *tcp, size_t n_tcp, uint16_t udp)
{
    int pfd[2];
    assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* gone with the test, however it ends */
        close(pfd[0]);
        serve(name, tcp, n_tcp, udp, pfd[1]);
    }
    close(pfd[1]);
    char c;
    assert_int_equal(read(pfd[0], &c, 1), 1);
    close(pfd[0]);
    return (struct ctr){pid};
}

/* Plug a container into bridge `br` (or, br NULL, a plain link to the host) by a veth pair
 * named host_if / eth0. */
static void plug(struct ctr c, const char *host_if, const char *br, const char *addr,
                 const char *gw)
{
    sh("ip link add %s type veth peer name %s-c", host_if, host_if);
    sh("ip link set %s-c netns %d", host_if, c.pid);
    if (br) {
        sh("ip link set %s master %s", host_if, br);
        /* hairpin mode: a frame may leave by the port it came in, so that a container reaches
         * its own published port through the host (the netlink side's job in berthd) */
        sh("ip link set %s type bridge_slave hairpin on", host_if);
    }
    sh("ip link set %s up", host_if);
    sh("nsenter --net=/proc/%d/ns/net sh -c 'ip link set lo up && ip link set %s-c name eth0 && "
       "ip link set eth0 up && ip addr add %s dev eth0'",
       c.pid, host_if, addr);
    if (gw)
        sh("nsenter --net=/proc/%d/ns/net ip route add default via %s", c.pid, gw);
}

/* ---- clients ---- */

/* From the namespace of c (pid 0: the host's), a TCP connection or a UDP datagram to ip:port;
 * true with the answer in out. A dropped packet shows as no answer within a second. */
static bool talk(pid_t ns, int type, const char *ip, uint16_t port, char *out, size_t size)
{
    int pfd[2];
    assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(pfd[0]);
        if (ns) {
            char path[64];
            snprintf(path, sizeof(path), "/proc/%d/ns/net", ns);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
                _exit(2);
        }
        struct sockaddr_storage sa = {0};
        socklen_t len;
        int af = strchr(ip, ':') ? AF_INET6 : AF_INET;
        if (af == AF_INET6) {
            struct sockaddr_in6 *s6 = (void *)&sa;
            s6->sin6_family = AF_INET6, s6->sin6_port = htons(port);
            inet_pton(AF_INET6, ip, &s6->sin6_addr);
            len = sizeof(*s6);
        } else {
            struct sockaddr_in *s4 = (void *)&sa;
            s4->sin_family = AF_INET, s4->sin_port = htons(port);
            inet_pton(AF_INET, ip, &s4->sin_addr);
            len = sizeof(*s4);
        }
        int fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (connect(fd, (struct sockaddr *)&sa, len) < 0 && errno != EINPROGRESS)
            _exit(1);
        if (type == SOCK_DGRAM)
            (void)!send(fd, "?", 1, 0);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char buf[128];
        if (poll(&p, 1, 1000) != 1)
            _exit(1);
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            _exit(1);
        (void)!write(pfd[1], buf, (size_t)n);
        _exit(0);
    }
    close(pfd[1]);
    ssize_t n = read(pfd[0], out, size - 1);
    close(pfd[0]);
    int status;
    waitpid(pid, &status, 0);
    out[n > 0 ? n : 0] = '\0';
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 && n > 0;
}

/* The answer, or "-" when there was none. */
static const char *ask(pid_t ns, int type, const char *ip, uint16_t port)
{
    static char out[8][128];
    static int next;
    char *o = out[next++ % 8];
    if (!talk(ns, type, ip, port, o, 128))
        strcpy(o, "-");
    return o;
}

#define TCP SOCK_STREAM
#define UDP SOCK_DGRAM

/* ---- the topology, built once ----
 *
 *   host (this process):  btbr0 10.88.0.1/24 fd00:88::1/64   btbr1 10.89.0.1/24
 *                         btbr2 10.90.0.1/24                  btx 198.51.100.1/24 2001:db8::1/64
 *   c1 10.88.0.2 fd00:88::2, c3 10.88.0.3 on btbr0;  c2 10.89.0.2 on btbr1;  c4 10.90.0.2 on
 *   btbr2;  x 198.51.100.2 2001:db8::2: "outside", routing 10/8 and fd00::/8 back by the host.
 *   Containers serve TCP 80 and 81, UDP 53; x serves TCP 9000. */
static struct ctr c1, c2, c3, c4, x;

static int group_setup(void **state)
{
    (void)state;
    if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
        return 0; /* every test skips */
    struct nft *probe = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    if (nft_open(&probe, &err) < 0 || nft_init(probe, &err) < 0) {
        printf("# no nf_tables with nat, fib and masquerade here: %s\n", err->msg);
        nft_close(probe);
        return 0;
    }
    nft_close(probe);
    in_netns = true;
    signal(SIGPIPE, SIG_IGN);
    sh("ip link set lo up");
    write_file("/proc/sys/net/ipv4/ip_forward", "1");
    write_file("/proc/sys/net/ipv6/conf/all/forwarding", "1");
    /* icc = false needs bridged traffic to meet the IP hooks, as for dockerd */
    if (access("/proc/sys/net/bridge/bridge-nf-call-iptables", F_OK) == 0) {
        write_file("/proc/sys/net/bridge/bridge-nf-call-iptables", "1");
        write_file("/proc/sys/net/bridge/bridge-nf-call-ip6tables", "1");
    }
    const char *bridges[][3] = {{"btbr0", "10.88.0.1/24", "fd00:88::1/64"},
                                {"btbr1", "10.89.0.1/24", NULL},
                                {"btbr2", "10.90.0.1/24", NULL}};
    for (size_t i = 0; i < 3; i++) {
        sh("ip link add %s type bridge && ip addr add %s dev %s", bridges[i][0], bridges[i][1],
           bridges[i][0]);
        if (bridges[i][2])
            sh("ip addr add %s dev %s nodad", bridges[i][2], bridges[i][0]);
        sh("ip link set %s up", bridges[i][0]);
    }
    /* the host's own 127.0.0.1 may go to btbr0 once DNATed (the netlink side's job) */
    write_file("/proc/sys/net/ipv4/conf/btbr0/route_localnet", "1");
    const uint16_t web[] = {80, 81}, ext[] = {9000};
    c1 = spawn("c1", web, 2, 53);
    c2 = spawn("c2", web, 2, 53);
    c3 = spawn("c3", web, 2, 53);
    c4 = spawn("c4", web, 2, 53);
    x = spawn("x", ext, 1, 0);
    plug(c1, "btv1", "btbr0", "10.88.0.2/24", "10.88.0.1");
    sh("nsenter --net=/proc/%d/ns/net sh -c 'ip addr add fd00:88::2/64 dev eth0 nodad && "
       "ip -6 route add default via fd00:88::1'",
       c1.pid);
    plug(c3, "btv3", "btbr0", "10.88.0.3/24", "10.88.0.1");
    plug(c2, "btv2", "btbr1", "10.89.0.2/24", "10.89.0.1");
    plug(c4, "btv4", "btbr2", "10.90.0.2/24", "10.90.0.1");
    plug(x, "btx", NULL, "198.51.100.2/24", NULL);
    sh("ip addr add 198.51.100.1/24 dev btx && ip addr add 2001:db8::1/64 dev btx nodad");
    sh("nsenter --net=/proc/%d/ns/net sh -c 'ip addr add 2001:db8::2/64 dev eth0 nodad && "
       "ip route add 10.0.0.0/8 via 198.51.100.1 && ip -6 route add fd00::/8 via 2001:db8::1'",
       x.pid);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    struct ctr *all[] = {&c1, &c2, &c3, &c4, &x};
    for (size_t i = 0; i < 5; i++)
        if (all[i]->pid > 0) {
            kill(all[i]->pid, SIGKILL);
            waitpid(all[i]->pid, NULL, 0);
        }
    return 0; /* the links, tables and namespaces go with the processes */
}

#define NEED_NETNS()                                                                               \
    do {                                                                                           \
        if (!in_netns)                                                                             \
            skip();                                                                                \
    } while (0)

/* ---- helpers on the API ---- */

static struct nft *fresh(void)
{
    struct nft *n = NULL;
    struct berth_err *err = NULL;
    assert_int_equal(nft_open(&n, &err), 0);
    assert_int_equal(nft_teardown(n, &err), 0);
    assert_int_equal(nft_init(n, &err), 0);
    return n;
}

static struct nft_network network(const char *br, const char *subnet4, const char *subnet6,
                                  bool masq, bool icc, bool internal)
{
    struct nft_network net = {.masquerade = masq, .icc = icc, .internal = internal};
    snprintf(net.bridge, sizeof(net.bridge), "%s", br);
    const char *subnets[] = {subnet4, subnet6};
    for (size_t i = 0; i < 2; i++) {
        if (!subnets[i])
            continue;
        char buf[64];
        snprintf(buf, sizeof(buf), "%s", subnets[i]);
        char *slash = strchr(buf, '/');
        *slash = '\0';
        struct nft_subnet *s = &net.subnets[net.n_subnets++];
        s->family = i ? AF_INET6 : AF_INET;
        assert_int_equal(inet_pton(s->family, buf, &s->addr), 1);
        s->prefixlen = (uint8_t)atoi(slash + 1);
    }
    return net;
}

/* host_ip NULL: any address. */
static struct nft_port port(int proto, const char *host_ip, uint16_t host_port, const char *ctr_ip,
                            uint16_t ctr_port, uint16_t count)
{
    struct nft_port p = {
        .proto = (uint8_t)proto, .host_port = host_port, .ctr_port = ctr_port, .count = count};
    p.family = strchr(ctr_ip, ':') ? AF_INET6 : AF_INET;
    assert_int_equal(inet_pton(p.family, ctr_ip, &p.ctr_ip), 1);
    if (host_ip)
        assert_int_equal(inet_pton(p.family, host_ip, &p.host_ip), 1);
    return p;
}

#define OK(call)                                                                                   \
    do {                                                                                           \
        struct berth_err *err_ = NULL;                                                             \
        int r_ = (call);                                                                           \
        if (r_ < 0)                                                                                \
            fail_msg("%s: %s", #call, err_ ? err_->msg : "?");                                     \
    } while (0)
/* call with `&err` as its last argument */
#define FAILS(errnum, call)                                                                        \
    do {                                                                                           \
        _cleanup_err_ struct berth_err *err = NULL;                                                \
        assert_true((call) < 0);                                                                   \
        assert_non_null(err);                                                                      \
        assert_int_equal(err->status, errnum);                                                     \
    } while (0)

static size_t count_ports(struct nft *n)
{
    struct nft_state st;
    OK(nft_list(n, &st, &err_));
    size_t k = st.n_ports;
    nft_state_free(&st);
    return k;
}

/* ---- reading the tables back with libnftnl ---- */

struct readback {
    char names[32][NFT_TABLE_MAXNAMELEN];
    uint32_t hooks[32];
    uint32_t rules[32]; /* per chain */
    size_t n;
    uint32_t ip_tables, ip6_tables;
};

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
    struct readback *rb = data;
    struct nftnl_chain *c = nftnl_chain_alloc();
    if (nftnl_chain_nlmsg_parse(nlh, c) == 0 && rb->n < 32 &&
        strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), NFT_TABLE) == 0) {
        snprintf(rb->names[rb->n], NFT_TABLE_MAXNAMELEN, "%u:%s",
                 nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY),
                 nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
        rb->hooks[rb->n++] = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
    }
    nftnl_chain_free(c);
    return MNL_CB_OK;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
    struct readback *rb = data;
    struct nftnl_rule *r = nftnl_rule_alloc();
    if (nftnl_rule_nlmsg_parse(nlh, r) == 0 &&
        strcmp(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), NFT_TABLE) == 0) {
        char name[NFT_TABLE_MAXNAMELEN];
        snprintf(name, sizeof(name), "%u:%s", nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY),
                 nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
        for (size_t i = 0; i < rb->n; i++)
            if (strcmp(rb->names[i], name) == 0)
                rb->rules[i]++;
    }
    nftnl_rule_free(r);
    return MNL_CB_OK;
}

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
    struct readback *rb = data;
    struct nftnl_table *t = nftnl_table_alloc();
    if (nftnl_table_nlmsg_parse(nlh, t) == 0 &&
        strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), NFT_TABLE) == 0) {
        uint32_t fam = nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY);
        rb->ip_tables += fam == NFPROTO_IPV4;
        rb->ip6_tables += fam == NFPROTO_IPV6;
    }
    nftnl_table_free(t);
    return MNL_CB_OK;
}

static void dump(uint16_t type, mnl_cb_t cb, struct readback *rb)
{
    struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
    assert_non_null(nl);
    assert_int_equal(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
    _cleanup_free_ char *buf = xmalloc(65536);
    struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_UNSPEC, NLM_F_DUMP, 1);
    assert_true(mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) > 0);
    for (;;) {
        ssize_t r = mnl_socket_recvfrom(nl, buf, 65536);
        assert_true(r > 0);
        int cr = mnl_cb_run(buf, (size_t)r, 1, mnl_socket_get_portid(nl), cb, rb);
        assert_true(cr >= 0);
        if (cr == MNL_CB_STOP)
            break;
    }
    mnl_socket_close(nl);
}

static struct readback read_back(void)
{
    struct readback rb = {0};
    dump(NFT_MSG_GETTABLE, table_cb, &rb);
    dump(NFT_MSG_GETCHAIN, chain_cb, &rb);
    dump(NFT_MSG_GETRULE, rule_cb, &rb);
    return rb;
}

static uint32_t rules_of(const struct readback *rb, const char *name, uint32_t hook)
{
    for (size_t i = 0; i < rb->n; i++)
        if (strcmp(rb->names[i], name) == 0) {
            assert_int_equal(rb->hooks[i], hook);
            return rb->rules[i];
        }
    fail_msg("no chain %s in table %s", name, NFT_TABLE);
    return 0;
}

/* ---- the tables ---- */

static void expect_ruleset(void)
{
    struct readback rb = read_back();
    assert_int_equal(rb.ip_tables, 1);
    assert_int_equal(rb.ip6_tables, 1);
    assert_int_equal(rb.n, 8); /* four chains in each */
    assert_int_equal(rules_of(&rb, "2:prerouting", NF_INET_PRE_ROUTING), 2);
    assert_int_equal(rules_of(&rb, "2:output", NF_INET_LOCAL_OUT), 2);
    assert_int_equal(rules_of(&rb, "2:postrouting", NF_INET_POST_ROUTING), 4);
    assert_int_equal(rules_of(&rb, "2:forward", NF_INET_FORWARD), 7);
    assert_int_equal(rules_of(&rb, "10:prerouting", NF_INET_PRE_ROUTING), 2);
    assert_int_equal(rules_of(&rb, "10:output", NF_INET_LOCAL_OUT), 2);
    assert_int_equal(rules_of(&rb, "10:postrouting", NF_INET_POST_ROUTING), 3);
    assert_int_equal(rules_of(&rb, "10:forward", NF_INET_FORWARD), 7);
}

static void test_init_and_teardown(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_(nft_closep) struct nft *n = fresh();
    expect_ruleset();
    /* Again, with elements in: the rules are rewritten, not doubled, and the elements stay. */
    struct nft_network net = network("btbr0", "10.88.0.0/24", NULL, true, true, false);
    struct nft_port p = port(IPPROTO_TCP, NULL, 8080, "10.88.0.2", 80, 1);
    OK(nft_network_add(n, &net, &err_));
    OK(nft_port_add(n, &p, &err_));
    OK(nft_init(n, &err_));
    expect_ruleset();
    assert_int_equal(count_ports(n), 1);

    OK(nft_teardown(n, &err_));
    struct readback rb = read_back();
    assert_int_equal(rb.ip_tables + rb.ip6_tables, 0);
    assert_int_equal(rb.n, 0);
    OK(nft_teardown(n, &err_)); /* nothing there: still fine */
    struct nft_state st;
    OK(nft_list(n, &st, &err_)); /* no table: nothing to reconcile */
    assert_int_equal(st.n_networks + st.n_ports, 0);
    nft_state_free(&st);
}

/* A table left by a berth whose sets had another shape is replaced. */
static void test_init_replaces_other_shape(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_(nft_closep) struct nft *n = fresh();
    OK(nft_teardown(n, &err_));
    char buf[4096];
    size_t len = 0;
    struct nlmsghdr *h = nftnl_batch_begin(buf, 1);
    len += NLMSG_ALIGN(h->nlmsg_len);
    struct nftnl_table *t = nftnl_table_alloc();
    nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE);
    h = nftnl_nlmsg_build_hdr(buf + len, NFT_MSG_NEWTABLE, NFPROTO_IPV4, NLM_F_CREATE | NLM_F_ACK,
                              2);
    nftnl_table_nlmsg_build_payload(h, t);
    nftnl_table_free(t);
    len += NLMSG_ALIGN(h->nlmsg_len);
    struct nftnl_set *s = nftnl_set_alloc();
    nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_TABLE);
    nftnl_set_set_str(s, NFTNL_SET_NAME, "ports_any");
    nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
    nftnl_set_set_u32(s, NFTNL_SET_ID, 1);
    h = nftnl_nlmsg_build_hdr(buf + len, NFT_MSG_NEWSET, NFPROTO_IPV4, NLM_F_CREATE | NLM_F_ACK, 3);
    nftnl_set_nlmsg_build_payload(h, s);
    nftnl_set_free(s);
    len += NLMSG_ALIGN(h->nlmsg_len);
    h = nftnl_batch_end(buf + len, 4);
    len += NLMSG_ALIGN(h->nlmsg_len);
    struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
    assert_int_equal(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
    assert_true(mnl_socket_sendto(nl, buf, len) > 0);
    for (int acks = 0; acks < 2;) { /* the table's and the set's */
        ssize_t r = mnl_socket_recvfrom(nl, buf, sizeof(buf));
        assert_true(r > 0);
        assert_int_equal(mnl_cb_run(buf, (size_t)r, 0, mnl_socket_get_portid(nl), NULL, NULL),
                         MNL_CB_STOP);
        acks++;
    }
    mnl_socket_close(nl);

    OK(nft_init(n, &err_));
    expect_ruleset();
    struct nft_port p = port(IPPROTO_TCP, NULL, 8080, "10.88.0.2", 80, 1);
    OK(nft_port_add(n, &p, &err_));
}

/* ---- elements ---- */

static void test_elements(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_(nft_closep) struct nft *n = fresh();
    struct nft_network a = network("btbr0", "10.88.0.0/24", "fd00:88::/64", true, false, false);
    struct nft_network b = network("btbr1", "10.89.0.0/16", NULL, false, true, true);
    OK(nft_network_add(n, &a, &err_));
    OK(nft_network_add(n, &b, &err_));
    FAILS(EEXIST, nft_network_add(n, &a, &err));

    struct nft_port range = port(IPPROTO_TCP, NULL, 8080, "10.88.0.2", 80, 6);
    struct nft_port one = port(IPPROTO_UDP, "127.0.0.1", 5353, "10.88.0.2", 53, 1);
    struct nft_port sctp6 = port(IPPROTO_SCTP, NULL, 9000, "fd00:88::2", 90, 1);
    OK(nft_port_add(n, &range, &err_));
    OK(nft_port_add(n, &one, &err_));
    OK(nft_port_add(n, &sctp6, &err_));

    struct nft_state st;
    OK(nft_list(n, &st, &err_));
    assert_int_equal(st.n_networks, 2);
    for (size_t i = 0; i < 2; i++) {
        const struct nft_network *got = &st.networks[i];
        const struct nft_network *want = strcmp(got->bridge, "btbr0") == 0 ? &a : &b;
        assert_string_equal(got->bridge, want->bridge);
        assert_int_equal(got->masquerade, want->masquerade);
        assert_int_equal(got->icc, want->icc);
        assert_int_equal(got->internal, want->internal);
        assert_int_equal(got->n_subnets, want->n_subnets);
        for (size_t j = 0; j < got->n_subnets; j++) {
            assert_int_equal(got->subnets[j].family, want->subnets[j].family);
            assert_int_equal(got->subnets[j].prefixlen, want->subnets[j].prefixlen);
            assert_memory_equal(&got->subnets[j].addr, &want->subnets[j].addr,
                                got->subnets[j].family == AF_INET ? 4 : 16);
        }
    }
    assert_int_equal(st.n_ports, 8);
    bool seen[8] = {0};
    for (size_t i = 0; i < st.n_ports; i++) {
        const struct nft_port *p = &st.ports[i];
        assert_int_equal(p->count, 1);
        if (p->proto == IPPROTO_TCP) {
            assert_true(p->host_port >= 8080 && p->host_port < 8086);
            assert_int_equal(p->ctr_port, p->host_port - 8000);
            assert_memory_equal(&p->ctr_ip, &range.ctr_ip, 4);
            assert_int_equal(p->host_ip.v4.s_addr, 0);
            seen[p->host_port - 8080] = true;
        } else if (p->proto == IPPROTO_UDP) {
            assert_int_equal(p->host_ip.v4.s_addr, htonl(INADDR_LOOPBACK));
            assert_int_equal(p->host_port, 5353);
            assert_int_equal(p->ctr_port, 53);
            seen[6] = true;
        } else {
            assert_int_equal(p->family, AF_INET6);
            assert_int_equal(p->proto, IPPROTO_SCTP);
            assert_memory_equal(&p->ctr_ip, &sctp6.ctr_ip, 16);
            seen[7] = true;
        }
    }
    for (size_t i = 0; i < 8; i++)
        assert_true(seen[i]);
    nft_state_free(&st);

    /* One port of the range already published: the call fails and adds none of the others. */
    struct nft_port overlap = port(IPPROTO_TCP, NULL, 8070, "10.88.0.3", 80, 11);
    FAILS(EEXIST, nft_port_add(n, &overlap, &err));
    assert_int_equal(count_ports(n), 8);
    {
        _cleanup_err_ struct berth_err *err = NULL;
        assert_true(nft_port_add(n, &overlap, &err) < 0);
        assert_non_null(strstr(err->msg, "tcp 0.0.0.0:8070-8080 -> 10.88.0.3:80-90"));
    }
    /* Bad input is refused before anything is sent. */
    struct nft_port wrap = port(IPPROTO_TCP, NULL, 65535, "10.88.0.2", 80, 2);
    FAILS(EINVAL, nft_port_add(n, &wrap, &err));
    struct nft_port icmp = port(IPPROTO_ICMP, NULL, 1, "10.88.0.2", 1, 1);
    FAILS(EINVAL, nft_port_add(n, &icmp, &err));
    struct nft_network noname = network("", NULL, NULL, true, true, false);
    FAILS(EINVAL, nft_network_add(n, &noname, &err));

    /* Gone when removed; removing again is ENOENT. */
    OK(nft_port_del(n, &range, &err_));
    assert_int_equal(count_ports(n), 2);
    FAILS(ENOENT, nft_port_del(n, &range, &err));
    OK(nft_port_del(n, &one, &err_));
    OK(nft_port_del(n, &sctp6, &err_));
    OK(nft_network_del(n, &a, &err_));
    OK(nft_network_del(n, &b, &err_));
    FAILS(ENOENT, nft_network_del(n, &b, &err));
    OK(nft_list(n, &st, &err_));
    assert_int_equal(st.n_networks + st.n_ports, 0);
    nft_state_free(&st);
}

/* Adjacent subnets (172.17.0.0/16 and 172.18.0.0/16: the first one's end is the second one's
 * start) are read back each with its own prefix, so a reconcile finds them as they were. */
static void test_adjacent_subnets(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_(nft_closep) struct nft *n = fresh();
    struct nft_network a = network("btbr0", "172.17.0.0/16", NULL, true, true, false);
    struct nft_network b = network("btbr1", "172.18.0.0/16", NULL, true, true, false);
    OK(nft_network_add(n, &a, &err_));
    OK(nft_network_add(n, &b, &err_));
    struct nft_state st;
    OK(nft_list(n, &st, &err_));
    assert_int_equal(st.n_networks, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(st.networks[i].n_subnets, 1);
        assert_int_equal(st.networks[i].subnets[0].prefixlen, 16);
    }
    /* what nft_list read removes exactly what was added */
    OK(nft_network_del(n, &st.networks[0], &err_));
    OK(nft_network_del(n, &st.networks[1], &err_));
    nft_state_free(&st);
}

/* nft_begin .. nft_commit is one transaction: all of it, or none of it. */
static void test_batch(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_(nft_closep) struct nft *n = fresh();
    struct nft_network net = network("btbr0", "10.88.0.0/24", NULL, true, true, false);
    nft_begin(n);
    OK(nft_network_add(n, &net, &err_));
    for (uint16_t i = 0; i < 100; i++) {
        struct nft_port p = port(IPPROTO_TCP, NULL, (uint16_t)(20000 + i), "10.88.0.2", 80, 1);
        OK(nft_port_add(n, &p, &err_));
    }
    assert_int_equal(count_ports(n), 0); /* nothing sent yet */
    OK(nft_commit(n, &err_));
    assert_int_equal(count_ports(n), 100);

    /* A batch whose last call fails leaves everything as it was. */
    nft_begin(n);
    struct nft_port fresh_port = port(IPPROTO_UDP, NULL, 30000, "10.88.0.2", 53, 1);
    struct nft_port again = port(IPPROTO_TCP, NULL, 20050, "10.88.0.9", 80, 1);
    OK(nft_port_add(n, &fresh_port, &err_));
    OK(nft_port_add(n, &again, &err_));
    FAILS(EEXIST, nft_commit(n, &err));
    assert_int_equal(count_ports(n), 100);

    /* Discarded: nothing sent. */
    nft_begin(n);
    OK(nft_port_add(n, &fresh_port, &err_));
    nft_discard(n);
    OK(nft_port_add(n, &fresh_port, &err_)); /* not there, so this one adds it */
    assert_int_equal(count_ports(n), 101);

    /* 20 000 ports in one call: the batch is split into messages and still one transaction. */
    struct nft_port big = port(IPPROTO_TCP, NULL, 40000, "10.88.0.2", 1000, 20000);
    OK(nft_port_add(n, &big, &err_));
    assert_int_equal(count_ports(n), 20101);
    OK(nft_port_del(n, &big, &err_));
    assert_int_equal(count_ports(n), 101);
}

/* After a crash: a new berthd finds the elements, and removes what it does not know. */
static void test_reconcile_after_crash(void **state)
{
    (void)state;
    NEED_NETNS();
    struct nft *old = fresh();
    struct nft_network net = network("btbr0", "10.88.0.0/24", "fd00:88::/64", true, true, false);
    struct nft_port p = port(IPPROTO_TCP, NULL, 8080, "10.88.0.2", 80, 3);
    OK(nft_network_add(old, &net, &err_));
    OK(nft_port_add(old, &p, &err_));
    nft_close(old); /* the crash */

    struct nft *n = NULL;
    OK(nft_open(&n, &err_));
    OK(nft_init(n, &err_));
    assert_string_equal(ask(0, TCP, "127.0.0.1", 8081), "c1 10.88.0.1"); /* still served */
    struct nft_state st;
    OK(nft_list(n, &st, &err_));
    assert_int_equal(st.n_networks, 1);
    assert_int_equal(st.n_ports, 3);
    nft_begin(n);
    for (size_t i = 0; i < st.n_ports; i++)
        OK(nft_port_del(n, &st.ports[i], &err_));
    for (size_t i = 0; i < st.n_networks; i++)
        OK(nft_network_del(n, &st.networks[i], &err_));
    OK(nft_commit(n, &err_));
    nft_state_free(&st);
    OK(nft_list(n, &st, &err_));
    assert_int_equal(st.n_networks + st.n_ports, 0);
    nft_state_free(&st);
    assert_string_equal(ask(0, TCP, "127.0.0.1", 8081), "-");
    nft_close(n);
}

/* ---- traffic ---- */

static void add_default_networks(struct nft *n, bool icc0)
{
    struct nft_network nets[] = {
        network("btbr0", "10.88.0.0/24", "fd00:88::/64", true, icc0, false),
        network("btbr1", "10.89.0.0/24", NULL, false, true, false),
        network("btbr2", "10.90.0.0/24", NULL, true, true, true),
    };
    for (size_t i = 0; i < 3; i++)
        OK(nft_network_add(n, &nets[i], &err_));
}

static void test_published_tcp(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_(nft_closep) struct nft *n = fresh();
    add_default_networks(n, true);
    /* Nothing listens on the host: refused, before the port is published. */
    assert_string_equal(ask(0, TCP, "127.0.0.1", 8080), "-");

    struct nft_port p = port(IPPROTO_TCP, NULL, 8080, "10.88.0.2", 80, 1);
    OK(nft_port_add(n, &p, &err_));
    /* From outside, to the host's address on that link: the client's own address arrives. */
    assert_string_equal(ask(x.pid, TCP, "198.51.100.1", 8080), "c1 198.51.100.2");
    /* From the host: to its address on the bridge, on another link, and to 127.0.0.1 (sent on
     * with the bridge's address as source). */
    assert_string_equal(ask(0, TCP, "10.88.0.1", 8080), "c1 10.88.0.1");
    assert_string_equal(ask(0, TCP, "198.51.100.1", 8080), "c1 198.51.100.1");
    assert_string_equal(ask(0, TCP, "127.0.0.1", 8080), "c1 10.88.0.1");

    /* On one host address only. */
    struct nft_port lo = port(IPPROTO_TCP, "127.0.0.1", 8081, "10.88.0.2", 81, 1);
    OK(nft_port_add(n, &lo, &err_));
    assert_string_equal(ask(0, TCP, "127.0.0.1", 8081), "c1 10.88.0.1");
    assert_string_equal(ask(0, TCP, "10.88.0.1", 8081), "-");
    assert_string_equal(ask(x.pid, TCP, "198.51.100.1", 8081), "-");

    /* A range: each port to its own. */
    struct nft_port range = port(IPPROTO_TCP, NULL, 8090, "10.88.0.2", 80, 2);
    OK(nft_port_add(n, &range, &err_));
    assert_string_equal(ask(x.pid, TCP, "198.51.100.1", 8090), "c1 198.51.100.2");
    assert_string_equal(ask(x.pid, TCP, "198.51.100.1", 8091), "c1 198.51.100.2");

    OK(nft_port_del(n, &p, &err_));
    assert_string_equal(ask(0, TCP, "127.0.0.1", 8080), "-");
    assert_string_equal(ask(x.pid, TCP, "198.51.100.1", 8080), "-");
}

static void test_published_udp(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_(nft_closep) struct nft *n = fresh();
    add_default_networks(n, true);
    assert_string_equal(ask(0, UDP, "127.0.0.1", 5353), "-");
    struct nft_port p = port(IPPROTO_UDP, NULL, 5353, "10.88.0.2", 53, 1);
    OK(nft_port_add(n, &p, &err_));
    assert_string_equal(ask(0, UDP, "127.0.0.1", 5353), "c1 10.88.0.1");
    assert_string_equal(ask(0, UDP, "10.88.0.1", 5353), "c1 10.88.0.1");
    assert_string_equal(ask(x.pid, UDP, "198.51.100.1", 5353), "c1 198.51.100.2");
    /* TCP on that port is not published. */
    assert_string_equal(ask(0, TCP, "127.0.0.1", 5353), "-");
}

/* A container reaching a published port through a host address: its own, and its
 * neighbour's; the answer comes back through the host (masqueraded), not straight. */
static void test_hairpin(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_(nft_closep) struct nft *n = fresh();
    add_default_networks(n, true);
    struct nft_port p = port(IPPROTO_TCP, NULL, 8080, "10.88.0.2", 80, 1);
    OK(nft_port_add(n, &p, &err_));
    assert_string_equal(ask(c1.pid, TCP, "198.51.100.1", 8080), "c1 10.88.0.1");
    assert_string_equal(ask(c1.pid, TCP, "10.88.0.1", 8080), "c1 10.88.0.1");
    assert_string_equal(ask(c3.pid, TCP, "10.88.0.1", 8080), "c1 10.88.0.1");
    /* From another network too: a published port is public. */
    assert_string_equal(ask(c2.pid, TCP, "10.89.0.1", 8080), "c1 10.88.0.1");
    assert_string_equal(ask(c1.pid, UDP, "10.88.0.1", 8080), "-");
}

static void test_masquerade(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_(nft_closep) struct nft *n = fresh();
    /* Without berth's elements, x sees the containers' own addresses. */
    assert_string_equal(ask(c1.pid, TCP, "198.51.100.2", 9000), "x 10.88.0.2");
    add_default_networks(n, true);
    /* btbr0 masquerades: x sees the host's address on its link. btbr1 does not. */
    assert_string_equal(ask(c1.pid, TCP, "198.51.100.2", 9000), "x 198.51.100.1");
    assert_string_equal(ask(c2.pid, TCP, "198.51.100.2", 9000), "x 10.89.0.2");
    /* Traffic within the bridge keeps its addresses. */
    assert_string_equal(ask(c3.pid, TCP, "10.88.0.2", 80), "c1 10.88.0.3");
}

static void test_isolation(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_(nft_closep) struct nft *n = fresh();
    /* The host routes between its bridges, and from outside into them, until berth says no. */
    assert_string_equal(ask(c1.pid, TCP, "10.89.0.2", 80), "c2 10.88.0.2");
    assert_string_equal(ask(c2.pid, TCP, "10.88.0.2", 80), "c1 10.89.0.2");
    assert_string_equal(ask(x.pid, TCP, "10.88.0.2", 80), "c1 198.51.100.2");
    add_default_networks(n, true);
    assert_string_equal(ask(c1.pid, TCP, "10.89.0.2", 80), "-");
    assert_string_equal(ask(c2.pid, TCP, "10.88.0.2", 80), "-");
    /* Unpublished ports are not reachable from outside (dockerd 28). */
    assert_string_equal(ask(x.pid, TCP, "10.88.0.2", 80), "-");
    /* The host itself still reaches its containers, and they the host. */
    assert_string_equal(ask(0, TCP, "10.89.0.2", 80), "c2 10.89.0.1");
}

static void test_icc(void **state)
{
    (void)state;
    NEED_NETNS();
    if (access("/proc/sys/net/bridge/bridge-nf-call-iptables", F_OK) != 0)
        skip(); /* no br_netfilter: bridged traffic never meets the IP hooks */
    _cleanup_(nft_closep) struct nft *n = fresh();
    add_default_networks(n, true);
    assert_string_equal(ask(c3.pid, TCP, "10.88.0.2", 80), "c1 10.88.0.3");
    struct nft_network on = network("btbr0", "10.88.0.0/24", "fd00:88::/64", true, true, false);
    struct nft_network off = on;
    off.icc = false;
    nft_begin(n);
    OK(nft_network_del(n, &on, &err_));
    OK(nft_network_add(n, &off, &err_));
    OK(nft_commit(n, &err_));
    assert_string_equal(ask(c3.pid, TCP, "10.88.0.2", 80), "-");
    assert_string_equal(ask(c1.pid, UDP, "10.88.0.3", 53), "-");
    /* Still out, and still reachable from the host. */
    assert_string_equal(ask(c3.pid, TCP, "198.51.100.2", 9000), "x 198.51.100.1");
    assert_string_equal(ask(0, TCP, "10.88.0.3", 80), "c3 10.88.0.1");
}

static void test_internal(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_(nft_closep) struct nft *n = fresh();
    assert_string_equal(ask(c4.pid, TCP, "198.51.100.2", 9000), "x 10.90.0.2");
    add_default_networks(n, true);
    /* btbr2 is internal: nothing leaves, nothing comes in, not even a published port. */
    assert_string_equal(ask(c4.pid, TCP, "198.51.100.2", 9000), "-");
    assert_string_equal(ask(c4.pid, TCP, "10.88.0.2", 80), "-");
    assert_string_equal(ask(x.pid, TCP, "10.90.0.2", 80), "-");
    struct nft_port p = port(IPPROTO_TCP, NULL, 8085, "10.90.0.2", 80, 1);
    OK(nft_port_add(n, &p, &err_));
    assert_string_equal(ask(x.pid, TCP, "198.51.100.1", 8085), "-");
    /* The host is on the bridge: it still talks with it. */
    assert_string_equal(ask(0, TCP, "10.90.0.2", 80), "c4 10.90.0.1");
}

static void test_ipv6(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_(nft_closep) struct nft *n = fresh();
    add_default_networks(n, true);
    struct nft_port p = port(IPPROTO_TCP, NULL, 8080, "fd00:88::2", 80, 1);
    struct nft_port one = port(IPPROTO_UDP, "2001:db8::1", 5353, "fd00:88::2", 53, 1);
    OK(nft_port_add(n, &p, &err_));
    OK(nft_port_add(n, &one, &err_));
    assert_string_equal(ask(x.pid, TCP, "2001:db8::1", 8080), "c1 2001:db8::2");
    assert_string_equal(ask(0, TCP, "fd00:88::1", 8080), "c1 fd00:88::1");
    assert_string_equal(ask(x.pid, UDP, "2001:db8::1", 5353), "c1 2001:db8::2");
    assert_string_equal(ask(x.pid, UDP, "fd00:88::1", 5353), "-");
    /* masquerade out, and no way in but the published port */
    assert_string_equal(ask(c1.pid, TCP, "2001:db8::2", 9000), "x 2001:db8::1");
    assert_string_equal(ask(x.pid, TCP, "fd00:88::2", 80), "-");
    assert_string_equal(ask(c1.pid, TCP, "2001:db8::1", 8080), "c1 fd00:88::1");
}

/* ---- cost ---- */

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* The median of 101 runs of each per-container operation, printed; asserted only to work. */
static void measure(struct nft *n, const char *label)
{
    enum { RUNS = 101 };
    double t[4][RUNS];
    for (int r = 0; r < RUNS; r++) {
        struct nft_port p = port(IPPROTO_TCP, NULL, (uint16_t)(60000 + r), "10.88.0.2", 80, 1);
        struct nft_network net = network("btm0", "10.200.0.0/24", NULL, true, true, false);
        snprintf(net.bridge, sizeof(net.bridge), "btm%d", r);
        net.subnets[0].addr.v4.s_addr = htonl(0x0ac80000u | (uint32_t)r << 8);
        double t0 = now_us();
        OK(nft_port_add(n, &p, &err_));
        double t1 = now_us();
        OK(nft_port_del(n, &p, &err_));
        double t2 = now_us();
        OK(nft_network_add(n, &net, &err_));
        double t3 = now_us();
        OK(nft_network_del(n, &net, &err_));
        double t4 = now_us();
        t[0][r] = t1 - t0, t[1][r] = t2 - t1, t[2][r] = t3 - t2, t[3][r] = t4 - t3;
    }
    double med[4];
    for (int k = 0; k < 4; k++) {
        for (int i = 1; i < RUNS; i++) /* insertion sort: 101 values */
            for (int j = i; j > 0 && t[k][j - 1] > t[k][j]; j--) {
                double tmp = t[k][j];
                t[k][j] = t[k][j - 1], t[k][j - 1] = tmp;
            }
        med[k] = t[k][RUNS / 2];
    }
    printf("# nft %s: port add %.0f us, port del %.0f us, network add %.0f us, network del "
           "%.0f us\n",
           label, med[0], med[1], med[2], med[3]);
}

static void test_cost(void **state)
{
    (void)state;
    NEED_NETNS();
    _cleanup_(nft_closep) struct nft *n = fresh();
    add_default_networks(n, true);
    struct nft_port first = port(IPPROTO_TCP, NULL, 1000, "10.88.0.2", 80, 1);
    OK(nft_port_add(n, &first, &err_));
    measure(n, "with 1 port published");
    nft_begin(n);
    for (uint16_t i = 1; i < 1000; i++) {
        struct nft_port p = port(IPPROTO_TCP, NULL, (uint16_t)(1000 + i), "10.88.0.2", 80, 1);
        OK(nft_port_add(n, &p, &err_));
    }
    for (int i = 0; i < 100; i++) {
        char br[IFNAMSIZ];
        snprintf(br, sizeof(br), "btn%d", i);
        struct nft_network net = network(br, "10.100.0.0/24", NULL, true, true, false);
        net.subnets[0].addr.v4.s_addr = htonl(0x0a640000u | (uint32_t)i << 8);
        OK(nft_network_add(n, &net, &err_));
    }
    double t0 = now_us();
    OK(nft_commit(n, &err_));
    printf("# nft: 999 ports and 100 networks in one transaction: %.0f us\n", now_us() - t0);
    assert_int_equal(count_ports(n), 1000);
    measure(n, "with 1000 ports and 103 networks");
    t0 = now_us();
    OK(nft_init(n, &err_));
    printf("# nft: init over an existing table: %.0f us\n", now_us() - t0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_and_teardown),
        cmocka_unit_test(test_init_replaces_other_shape),
        cmocka_unit_test(test_elements),
        cmocka_unit_test(test_adjacent_subnets),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_reconcile_after_crash),
        cmocka_unit_test(test_published_tcp),
        cmocka_unit_test(test_published_udp),
        cmocka_unit_test(test_hairpin),
        cmocka_unit_test(test_masquerade),
        cmocka_unit_test(test_isolation),
        cmocka_unit_test(test_icc),
        cmocka_unit_test(test_internal),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_cost),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
