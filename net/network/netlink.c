/* net/network/netlink.c — the rtnetlink handle: its socket (in this netns or another), batches
 * of acked requests, requests and dumps that collect replies, switching the thread's netns,
 * /proc/sys/net, and the address type. Links are in netlink_link.c, addresses and routes in
 * netlink_addr.c, a container's whole veth in netlink_plumb.c. */
#include "net/network/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "net/network/netlink_impl.h"

/* ---- addresses ---- */

int nl_ip_parse(const char *s, struct nl_ip *ip)
{
    memset(ip, 0, sizeof(*ip));
    if (inet_pton(AF_INET, s, &ip->v4) == 1)
        ip->family = AF_INET;
    else if (inet_pton(AF_INET6, s, &ip->v6) == 1)
        ip->family = AF_INET6;
    else
        return -EINVAL;
    return 0;
}

int nl_prefix_parse(const char *s, struct nl_prefix *p)
{
    const char *slash = strchr(s, '/');
    if (!slash || slash == s || slash - s >= INET6_ADDRSTRLEN)
        return -EINVAL;
    char ip[INET6_ADDRSTRLEN];
    memcpy(ip, s, slash - s);
    ip[slash - s] = '\0';
    if (nl_ip_parse(ip, &p->ip) < 0)
        return -EINVAL;
    char *end;
    errno = 0;
    unsigned long len = strtoul(slash + 1, &end, 10);
    unsigned max = p->ip.family == AF_INET ? 32 : 128;
    if (errno || end == slash + 1 || *end || len > max)
        return -EINVAL;
    p->len = (unsigned)len;
    return 0;
}

char *nl_ip_format(const struct nl_ip *ip, char *buf)
{
    if (!inet_ntop(ip->family, &ip->v6, buf, INET6_ADDRSTRLEN))
        strcpy(buf, "?");
    return buf;
}

char *nl_prefix_format(const struct nl_prefix *p, char *buf)
{
    nl_ip_format(&p->ip, buf);
    sprintf(buf + strlen(buf), "/%u", p->len);
    return buf;
}

/* ---- the handle ---- */

int nl_handle_new(struct nl_handle **out, struct berth_err **err)
{
    struct nl_handle *h = xcalloc(1, sizeof(*h));
    h->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!h->sock) {
        free(h);
        return berth_error(err, errno, "open a route netlink socket");
    }
    /* The kernel's own words on errors ("Unknown device type"), and acks without a copy of
     * the request: both only help, so a kernel that refuses them is not an error. */
    int one = 1;
    (void)mnl_socket_setsockopt(h->sock, NETLINK_EXT_ACK, &one, sizeof(one));
    (void)mnl_socket_setsockopt(h->sock, NETLINK_CAP_ACK, &one, sizeof(one));
    if (mnl_socket_bind(h->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
        int e = errno;
        nl_close(h);
        return berth_error(err, e, "bind a route netlink socket");
    }
    h->portid = mnl_socket_get_portid(h->sock);
    *out = h;
    return 0;
}

int nl_open(int netns_fd, struct nl_handle **out, struct berth_err **err)
{
    if (netns_fd < 0)
        return nl_handle_new(out, err);
    int self, r;
    if ((r = nl_netns_enter(netns_fd, &self, err)) < 0)
        return r;
    r = nl_handle_new(out, err); /* the socket belongs to the netns it was made in */
    nl_netns_leave(&self);
    return r;
}

void nl_close(struct nl_handle *h)
{
    if (!h)
        return;
    if (h->sock)
        mnl_socket_close(h->sock);
    free(h);
}

void nl_closep(struct nl_handle **h)
{
    nl_close(*h);
}

/* ---- namespaces ---- */

int nl_netns_enter(int netns_fd, int *self, struct berth_err **err)
{
    *self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (*self < 0)
        return berth_error(err, errno, "open /proc/thread-self/ns/net");
    if (setns(netns_fd, CLONE_NEWNET) < 0) {
        int e = errno;
        close(*self);
        *self = -1;
        return berth_error(err, e, "enter the network namespace of fd %d", netns_fd);
    }
    return 0;
}

void nl_netns_leave(int *self)
{
    if (setns(*self, CLONE_NEWNET) < 0) {
        /* This thread would go on making sockets and writing sysctls in a container's
         * namespace: wrong silently, which is worse than stopping. */
        log_error("netlink: cannot return to the thread's network namespace: %s", strerror(errno));
        abort();
    }
    close(*self);
    *self = -1;
}

int nl_netns_new(int *out_fd, struct berth_err **err)
{
    _cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0)
        return berth_error(err, errno, "open /proc/thread-self/ns/net");
    if (unshare(CLONE_NEWNET) < 0)
        return berth_error(err, errno, "make a network namespace");
    int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    int e = errno;
    nl_netns_leave(&self);
    if (fd < 0)
        return berth_error(err, e, "open the new network namespace");
    *out_fd = fd;
    return 0;
}

/* ---- sysctls ---- */

static bool sysctl_path_ok(const char *path)
{
    if (!*path || path[0] == '/')
        return false;
    for (const char *p = path; (p = strstr(p, "..")); p += 2)
        if ((p == path || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
            return false;
    return true;
}

int nl_sysctl_write(const char *path, const char *value, struct berth_err **err)
{
    _cleanup_free_ char *full = xasprintf("/proc/sys/net/%s", path);
    _cleanup_close_ int fd = open(full, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return berth_error(err, errno, "open `%s`", full);
    size_t len = strlen(value);
    ssize_t n = write(fd, value, len);
    if (n < 0)
        return berth_error(err, errno, "write `%s` to `%s`", value, full);
    if ((size_t)n != len)
        return berth_error(err, EIO, "write `%s` to `%s`: short write", value, full);
    return 0;
}

static int sysctl_read(const char *path, char *buf, size_t size, struct berth_err **err)
{
    _cleanup_free_ char *full = xasprintf("/proc/sys/net/%s", path);
    _cleanup_close_ int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return berth_error(err, errno, "open `%s`", full);
    ssize_t n = read(fd, buf, size - 1);
    if (n < 0)
        return berth_error(err, errno, "read `%s`", full);
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

int nl_sysctl_set(int netns_fd, const char *path, const char *value, struct berth_err **err)
{
    if (!sysctl_path_ok(path))
        return berth_user_error(err, EINVAL, "sysctl path `%s` is not under /proc/sys/net", path);
    if (netns_fd < 0)
        return nl_sysctl_write(path, value, err);
    int self, r;
    if ((r = nl_netns_enter(netns_fd, &self, err)) < 0)
        return r;
    r = nl_sysctl_write(path, value, err);
    nl_netns_leave(&self);
    return r;
}

int nl_sysctl_get(int netns_fd, const char *path, char *buf, size_t size, struct berth_err **err)
{
    if (!sysctl_path_ok(path))
        return berth_user_error(err, EINVAL, "sysctl path `%s` is not under /proc/sys/net", path);
    if (netns_fd < 0)
        return sysctl_read(path, buf, size, err);
    int self, r;
    if ((r = nl_netns_enter(netns_fd, &self, err)) < 0)
        return r;
    r = sysctl_read(path, buf, size, err);
    nl_netns_leave(&self);
    return r;
}

/* ---- words ---- */

const char *nl_link_words(struct nl_handle *h, int ifindex, char buf[IFNAMSIZ + 16])
{
    struct ifreq ifr = {.ifr_ifindex = ifindex};
    if (ioctl(mnl_socket_get_fd(h->sock), SIOCGIFNAME, &ifr) == 0)
        snprintf(buf, IFNAMSIZ + 16, "`%.*s`", IFNAMSIZ, ifr.ifr_name);
    else
        snprintf(buf, IFNAMSIZ + 16, "link %d", ifindex);
    return buf;
}

bool nl_name_ok(const char *name, const char *what, struct berth_err **err, int *r)
{
    if (name && *name && strlen(name) < IFNAMSIZ)
        return true;
    *r = berth_user_error(err, EINVAL, "%s: interface name `%s` is %s", what, name ? name : "",
                          name && *name ? "longer than 15 bytes" : "empty");
    return false;
}

/* "words: strerror", or "words: strerror (the kernel's words)". */
static int step_error(struct berth_err **err, int e, const char *what, const char *kernel)
{
    if (kernel && *kernel)
        return berth_user_error(err, e, "%s: %s (%s)", what, strerror(e), kernel);
    return berth_error(err, e, "%s", what);
}

/* The error message the kernel attached to an ack (NETLINK_EXT_ACK), "" if none. */
static void ack_words(const struct nlmsghdr *nlh, char *buf, size_t size)
{
    buf[0] = '\0';
    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
        return;
    const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
    size_t off = sizeof(*e);
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
        off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
    if (MNL_NLMSG_HDRLEN + off > nlh->nlmsg_len)
        return;
    const struct nlattr *a;
    mnl_attr_for_each(a, nlh, off)
    {
        if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_get_payload_len(a) > 0)
            snprintf(buf, size, "%.*s", (int)mnl_attr_get_payload_len(a) - 1, mnl_attr_get_str(a));
    }
}

/* ---- batches ---- */

void nl_batch_init(struct nl_batch *bt, struct nl_handle *h)
{
    bt->h = h;
    bt->b = mnl_nlmsg_batch_start(h->sbuf, NL_BATCH_LIMIT);
    if (!bt->b)
        abort(); /* libmnl's malloc: out of memory, as xmalloc would */
    bt->n = 0;
    bt->seq0 = h->seq + 1;
}

void nl_batch_done(struct nl_batch *bt)
{
    if (bt->b)
        mnl_nlmsg_batch_stop(bt->b);
    bt->b = NULL;
}

struct nlmsghdr *nl_batch_add(struct nl_batch *bt, uint16_t type, uint16_t flags, const char *fmt,
                              ...)
{
    /* Each message is small (under 300 bytes) and a batch has at most NL_BATCH_MAX: running
     * past either is a bug in this file, not a condition to report. */
    if (bt->n == NL_BATCH_MAX || (bt->n > 0 && !mnl_nlmsg_batch_next(bt->b)))
        abort();
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(bt->b));
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    nlh->nlmsg_seq = ++bt->h->seq;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(bt->what[bt->n], sizeof(bt->what[0]), fmt, ap);
    va_end(ap);
    bt->n++;
    return nlh;
}

/* One received ack: which message it answers and how it went. Returns false for anything
 * else (a stale ack of an earlier batch whose reading was cut short, a reply not asked for). */
static bool batch_ack(struct nl_batch *bt, const char *buf, size_t len, unsigned *idx, int *e,
                      char *kernel, size_t ksize)
{
    const struct nlmsghdr *nlh = (const void *)buf;
    if (len < MNL_NLMSG_HDRLEN + sizeof(struct nlmsgerr) || nlh->nlmsg_type != NLMSG_ERROR ||
        nlh->nlmsg_seq - bt->seq0 >= bt->n)
        return false;
    *idx = nlh->nlmsg_seq - bt->seq0;
    *e = -((const struct nlmsgerr *)mnl_nlmsg_get_payload(nlh))->error;
    kernel[0] = '\0';
    if (*e && mnl_nlmsg_ok(nlh, (int)len))
        ack_words(nlh, kernel, ksize);
    return true;
}

int nl_batch_run(struct nl_batch *bt, struct berth_err **err)
{
    struct nl_handle *h = bt->h;
    if (bt->n == 0)
        return 0;
    mnl_nlmsg_batch_next(bt->b); /* close the last message */
    const void *head = mnl_nlmsg_batch_head(bt->b);
    size_t size = mnl_nlmsg_batch_size(bt->b);
    if (mnl_socket_sendto(h->sock, head, size) < 0)
        return berth_error(err, errno, "%s: send to netlink", bt->what[0]);

    /* rtnetlink handles the batch inside sendmsg, so every ack is queued by now: one
     * recvmmsg takes them all (MSG_WAITFORONE: it blocks only for the first). */
    struct mmsghdr mm[NL_BATCH_MAX];
    struct iovec iov[NL_BATCH_MAX];
    _Static_assert(NL_BATCH_MAX * NL_ACK_SLOT <= NL_RECV_BUF, "ack slots fit the buffer");
    unsigned acked = 0, first = NL_BATCH_MAX;
    int first_errno = 0;
    char kernel[256] = "";
    while (acked < bt->n) {
        unsigned want = bt->n - acked;
        for (unsigned i = 0; i < want; i++) {
            iov[i] = (struct iovec){h->rbuf + i * NL_ACK_SLOT, NL_ACK_SLOT};
            mm[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
        }
        int got = recvmmsg(mnl_socket_get_fd(h->sock), mm, want, MSG_WAITFORONE, NULL);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return berth_error(err, errno, "%s: read netlink acks", bt->what[0]);
        for (int i = 0; i < got; i++) {
            unsigned idx;
            int e;
            char words[sizeof(kernel)];
            if (!batch_ack(bt, iov[i].iov_base, mm[i].msg_len, &idx, &e, words, sizeof(words)))
                continue;
            acked++;
            if (e && idx < first) {
                first = idx;
                first_errno = e;
                memcpy(kernel, words, sizeof(kernel));
            }
        }
    }
    /* The kernel goes on after a failed message; the first failure is the cause, the later
     * ones (a route without its address) its consequences. */
    if (first < NL_BATCH_MAX)
        return step_error(err, first_errno, bt->what[first], kernel);
    return 0;
}

/* ---- requests and dumps ---- */

static void *vec_push(struct nl_vec *v)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        v->items = xrealloc(v->items, v->cap * v->size);
    }
    void *item = (char *)v->items + v->n++ * v->size;
    memset(item, 0, v->size);
    return item;
}

void *nl_vec_take(struct nl_vec *v, size_t *n)
{
    *n = v->n;
    if (v->n == 0) {
        free(v->items);
        v->items = NULL;
    }
    return take_ptr(v->items);
}

/* Reads the replies to seq until its ack, error or NLMSG_DONE; *intr when the kernel says the
 * dump was interrupted. */
static int query_read(struct nl_handle *h, uint32_t seq, struct nl_vec *v, nl_parse_fn parse,
                      const void *arg, bool *intr, const char *what, struct berth_err **err)
{
    for (;;) {
        ssize_t got = mnl_socket_recvfrom(h->sock, h->rbuf, sizeof(h->rbuf));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return berth_error(err, errno, "%s: read netlink", what);
        int left = (int)got;
        for (const struct nlmsghdr *nlh = (const void *)h->rbuf; mnl_nlmsg_ok(nlh, left);
             nlh = mnl_nlmsg_next(nlh, &left)) {
            if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != h->portid)
                continue; /* stale: an earlier request whose reading was cut short */
            if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
                *intr = true;
            if (nlh->nlmsg_type == NLMSG_ERROR) {
                int e = -((const struct nlmsgerr *)mnl_nlmsg_get_payload(nlh))->error;
                char kernel[256];
                ack_words(nlh, kernel, sizeof(kernel));
                return e ? step_error(err, e, what, kernel) : 0;
            }
            if (nlh->nlmsg_type == NLMSG_DONE) {
                int e = 0;
                if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int))
                    e = -*(const int *)mnl_nlmsg_get_payload(nlh);
                return e > 0 ? step_error(err, e, what, NULL) : 0;
            }
            if (!parse(nlh, vec_push(v), arg))
                v->n--;
        }
    }
}

int nl_query(struct nl_handle *h, struct nlmsghdr *req, struct nl_vec *v, nl_parse_fn parse,
             const void *arg, const char *what, struct berth_err **err)
{
    req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    for (int attempt = 0;; attempt++) {
        req->nlmsg_seq = ++h->seq;
        v->n = 0;
        if (mnl_socket_sendto(h->sock, req, req->nlmsg_len) < 0)
            return berth_error(err, errno, "%s: send to netlink", what);
        bool intr = false;
        int r = query_read(h, req->nlmsg_seq, v, parse, arg, &intr, what, err);
        if (r < 0 || !intr)
            return r;
        if (attempt == 4)
            return berth_error(err, EAGAIN, "%s: the kernel's table kept changing", what);
    }
}
