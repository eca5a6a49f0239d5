/* net/network/netlink_impl.h — what the netlink_*.c files share and nothing else sees: the
 * handle, a batch of acked requests, a request/dump that collects replies, and switching
 * this thread's netns. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#include "core/err.h"
#include "net/network/netlink.h"

#define NL_BATCH_MAX   16    /* messages in one batch (a plumbing needs at most 7) */
#define NL_BATCH_LIMIT 8192  /* bytes of messages in one batch */
#define NL_SEND_BUF    16384 /* twice the limit, as mnl_nlmsg_batch wants */
#define NL_ACK_SLOT    1024  /* bytes per ack read by recvmmsg: an error with its words */
#define NL_RECV_BUF    32768 /* a dump's part (libmnl's MNL_SOCKET_DUMP_SIZE) */

struct nl_handle {
    struct mnl_socket *sock;
    uint32_t portid;
    uint32_t seq;
    char sbuf[NL_SEND_BUF];
    char rbuf[NL_RECV_BUF];
};

/* Messages sent with one sendmsg, each with NLM_F_ACK and its own sequence number, and the
 * words naming each one's step, so the first failing step is reported by name. */
struct nl_batch {
    struct nl_handle *h;
    struct mnl_nlmsg_batch *b;
    unsigned n;
    uint32_t seq0;
    char what[NL_BATCH_MAX][128];
};

void nl_batch_init(struct nl_batch *bt, struct nl_handle *h);
void nl_batch_done(struct nl_batch *bt); /* cleanup: frees libmnl's batch state */
#define _cleanup_nl_batch_ __attribute__((cleanup(nl_batch_done)))
/* A new message of `type` (flags on top of NLM_F_REQUEST | NLM_F_ACK), named by the words. */
struct nlmsghdr *nl_batch_add(struct nl_batch *bt, uint16_t type, uint16_t flags, const char *fmt,
                              ...) __attribute__((format(printf, 4, 5)));
/* Send the batch, read every ack (recvmmsg: usually one call), then report the first failing
 * message as "<its words>: <strerror>" plus the kernel's own words when it gave some. */
int nl_batch_run(struct nl_batch *bt, struct berth_err **err);

/* A growing array of fixed-size items (zeroed when pushed). */
struct nl_vec {
    void *items;
    size_t n, cap, size;
};
/* Fills *item from one reply; false drops it (filtered out). */
typedef bool (*nl_parse_fn)(const struct nlmsghdr *nlh, void *item, const void *arg);
/* Send `req` (a get or a dump; NLM_F_ACK is added) and collect its replies into v; a dump the
 * kernel marks interrupted (the table changed meanwhile) is run again. */
int nl_query(struct nl_handle *h, struct nlmsghdr *req, struct nl_vec *v, nl_parse_fn parse,
             const void *arg, const char *what, struct berth_err **err);
/* The vector's array for an out-parameter (NULL when empty). */
void *nl_vec_take(struct nl_vec *v, size_t *n);

/* Open the handle's socket in the current netns (the caller has switched if it must). */
int nl_handle_new(struct nl_handle **out, struct berth_err **err);

/* Switch this thread into netns_fd; *self keeps the way back for nl_netns_leave, which aborts
 * the process if it cannot go back. */
int nl_netns_enter(int netns_fd, int *self, struct berth_err **err);
void nl_netns_leave(int *self);

/* Write value to /proc/sys/net/<path> as this thread sees it. */
int nl_sysctl_write(const char *path, const char *value, struct berth_err **err);

/* RTM_NEWLINK of a veth pair, as nl_veth_create sends it (netlink_link.c). */
void nl_veth_msg(struct nl_batch *bt, const char *name, const struct nl_link_attrs *a,
                 const char *peer, int peer_netns_fd, const struct nl_link_attrs *peer_a);
/* RTM_NEWADDR/RTM_DELADDR of p on ifindex, named "add address P to LINK" (netlink_addr.c). */
void nl_addr_msg(struct nl_batch *bt, uint16_t type, int ifindex, const struct nl_prefix *p,
                 unsigned flags, const char *link);
/* RTM_NEWROUTE/RTM_DELROUTE of r, named "add route default via G dev LINK". */
void nl_route_msg(struct nl_batch *bt, uint16_t type, const struct nl_route *r, const char *link);

/* The name of ifindex in the handle's netns for words ("`eth0`"), or "link 7". */
const char *nl_link_words(struct nl_handle *h, int ifindex, char buf[IFNAMSIZ + 16]);
bool nl_name_ok(const char *name, const char *what, struct berth_err **err, int *r);
