// clang-format off
/* net/network/nft.c — berth's nftables tables through libnftnl over libmnl: netlink messages
 * built directly, queued in one buffer and sent as one nfnetlink batch (one transaction), with
 * no ruleset cache to fetch first. The table for family ip, as `nft list` shows it (ip6 is the
 * same with ip6 addresses and without the 127.0.0.0/8 rule; nft's priority dstnat is -100):
 *
 * table ip berth {
 *   set bridges { type ifname; }      set same { type ifname . ifname; }     ("br" . "br")
 *   set masq { type ifname; }         set icc_off { type ifname; }
 *   set internal { type ifname; }     set subnets { type ipv4_addr; flags interval; }
 *   map ports_any { type inet_proto . inet_service : ipv4_addr . inet_service; }
 *   map ports_ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
 *
 *   chain prerouting {            (and chain output, type nat hook output priority -100)
 *     type nat hook prerouting priority dstnat; policy accept;
 *     fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @ports_ip
 *     fib daddr type local dnat ip to meta l4proto . th dport map @ports_any
 *   }
 *   chain postrouting {
 *     type nat hook postrouting priority srcnat; policy accept;
 *     ct status dnat oifname @bridges ip saddr @subnets masquerade     hairpin
 *     iifname . oifname @same return                                   routed within a bridge
 *     oifname @bridges ip saddr 127.0.0.0/8 masquerade                 the host's 127.0.0.1
 *     iifname @masq masquerade                                         ip-masq
 *   }
 *   chain forward {
 *     type filter hook forward priority filter; policy accept;
 *     iifname . oifname @same iifname @icc_off drop                    icc = false
 *     iifname . oifname @same accept
 *     iifname @internal drop
 *     oifname @internal drop
 *     oifname @bridges ct state established,related accept
 *     oifname @bridges ct status dnat accept                           published ports
 *     oifname @bridges drop                        other bridges, unpublished ports (dockerd 28)
 *   }
 * }
 *
 * Hairpin: a container reaching a published port through a host address gets the bridge's
 * address as source, or the answer would go back to it straight, from an address it did not
 * ask. Within one bridge the chains see `iifname . oifname` equal: nf_tables cannot compare two
 * registers, so the `same` set holds "br" . "br" for each bridge. A subnets element carries its
 * bridge's name as comment, for nft_list. The policies stay accept: berth only drops, and
 * leaves the rest to the host's own rules. */
// clang-format on
#include "net/network/nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "core/cleanup.h"
#include "core/xalloc.h"

/* Room kept free for the next message: the largest is a set-element message of
 * ELEMS_PER_MSG elements of at most ~100 bytes each. */
#define MSG_ROOM      65536
#define ELEMS_PER_MSG 256
#define RECV_SIZE     65536

/* nft's datatype numbers (src/datatype.h), so that `nft list` prints the sets' keys as it
 * would its own; a concatenation is the types shifted by 6 bits each. */
enum { DT_IPADDR = 7, DT_IP6ADDR = 8, DT_INET_PROTO = 12, DT_INET_SERVICE = 13, DT_IFNAME = 41 };
#define DT_CONCAT2(a, b)    (((a) << 6) | (b))
#define DT_CONCAT3(a, b, c) (((a) << 12) | ((b) << 6) | (c))

/* Everything that differs between the two tables. */
struct fam {
    uint8_t nfproto; /* NFPROTO_IPV4 / NFPROTO_IPV6 */
    int af;
    uint32_t alen;            /* address length */
    uint32_t saddr, daddr;    /* their offsets in the network header */
    uint32_t dt_addr;         /* nft datatype of an address */
    uint32_t reg_after_addr;  /* the register just past an address loaded into NFT_REG_1 */
    uint32_t reg_after_proto; /* past an address and a 4-byte word */
};

static const struct fam FAMS[2] = {
    {NFPROTO_IPV4, AF_INET, 4, 12, 16, DT_IPADDR, NFT_REG32_01, NFT_REG32_02},
    {NFPROTO_IPV6, AF_INET6, 16, 8, 24, DT_IP6ADDR, NFT_REG_2, NFT_REG32_05},
};

static const struct fam *fam_of(int af)
{
    return af == AF_INET ? &FAMS[0] : af == AF_INET6 ? &FAMS[1] : NULL;
}

/* One queued call: the sequence numbers of its messages, and words for an error. */
struct op {
    uint32_t first_seq, last_seq;
    char what[192];
};

/* The pending batch: its messages from BATCH_BEGIN on, and the calls that queued them. */
struct queue {
    char *buf;
    size_t len, cap, last; /* bytes used, allocated; offset of the last message */
    size_t n_msgs;         /* messages after BATCH_BEGIN */
    uint32_t begin_seq;    /* BATCH_BEGIN's sequence number */
    struct op *ops;
    size_t n_ops, cap_ops;
};

struct nft {
    struct mnl_socket *nl;
    uint32_t portid;
    uint32_t seq;
    bool batching; /* inside nft_begin .. nft_commit */
    struct queue q;
    char *rbuf; /* RECV_SIZE bytes for replies */
};

/* ---- the batch buffer ---- */

static void reserve(struct queue *q, size_t more)
{
    if (q->len + more <= q->cap)
        return;
    while (q->cap < q->len + more)
        q->cap = q->cap ? q->cap * 2 : 2 * MSG_ROOM;
    q->buf = xrealloc(q->buf, q->cap);
}

/* A new message header at the end of the batch, opening the batch if it is empty. */
static struct nlmsghdr *msg_start(struct nft *n, uint16_t type, uint8_t nfproto, uint16_t flags)
{
    struct queue *q = &n->q;
    reserve(q, MSG_ROOM);
    if (q->len == 0) {
        q->begin_seq = n->seq++;
        struct nlmsghdr *b = nftnl_batch_begin(q->buf, q->begin_seq);
        q->len = NLMSG_ALIGN(b->nlmsg_len);
    }
    q->last = q->len;
    return nftnl_nlmsg_build_hdr(q->buf + q->len, type, nfproto, flags, n->seq++);
}

static void msg_end(struct nft *n, struct nlmsghdr *nlh)
{
    n->q.len += NLMSG_ALIGN(nlh->nlmsg_len);
    n->q.n_msgs++;
}

static void discard(struct queue *q)
{
    q->len = 0;
    q->n_msgs = 0;
    q->n_ops = 0;
}

static size_t op_start(struct nft *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t op_start(struct nft *n, const char *fmt, ...)
{
    struct queue *q = &n->q;
    if (q->n_ops == q->cap_ops) {
        q->cap_ops = q->cap_ops ? 2 * q->cap_ops : 8;
        q->ops = xrealloc(q->ops, q->cap_ops * sizeof(*q->ops));
    }
    struct op *o = &q->ops[q->n_ops++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->what, sizeof(o->what), fmt, ap);
    va_end(ap);
    o->first_seq = n->seq + (q->len == 0); /* BATCH_BEGIN takes one if it is not there */
    return q->n_ops - 1;
}

/* o by index: queueing may have moved the array. */
static void op_end(struct nft *n, size_t o)
{
    n->q.ops[o].last_seq = n->seq - 1;
}

/* ---- sending a batch and reading its answers ---- */

/* The first error of the batch's messages (0 if none) and its sequence number. Only the last
 * message asks for an ack: a failing message is answered whatever its flags, and the last one
 * is answered in every case, so its answer ends the wait (a thousand acks would overflow the
 * socket's receive buffer). */
static int batch_send(struct nft *n, uint32_t *bad_seq)
{
    struct queue *q = &n->q;
    struct nlmsghdr *last = (struct nlmsghdr *)(q->buf + q->last);
    last->nlmsg_flags |= NLM_F_ACK;
    uint32_t last_seq = last->nlmsg_seq;
    reserve(q, NLMSG_HDRLEN);
    struct nlmsghdr *e = nftnl_batch_end(q->buf + q->len, n->seq++);
    q->len += NLMSG_ALIGN(e->nlmsg_len);

    int fd = mnl_socket_get_fd(n->nl);
    if (q->len > 200 * 1024) {
        /* A big range of ports: the batch must fit the socket's send buffer in one piece. */
        int size = (int)(q->len * 2);
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    }
    if (mnl_socket_sendto(n->nl, q->buf, q->len) < 0)
        return -errno;

    int first = 0;
    for (;;) {
        ssize_t r = mnl_socket_recvfrom(n->nl, n->rbuf, RECV_SIZE);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        int left = (int)r;
        for (const struct nlmsghdr *h = (void *)n->rbuf; mnl_nlmsg_ok(h, left);
             h = mnl_nlmsg_next(h, &left)) {
            if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq < q->begin_seq)
                continue; /* not an answer to this batch */
            const struct nlmsgerr *ne = mnl_nlmsg_get_payload(h);
            if (ne->error != 0 && first == 0) {
                first = ne->error;
                *bad_seq = h->nlmsg_seq;
            }
            if (h->nlmsg_seq == last_seq)
                return first;
        }
    }
}

/* Sends the queue and empties it; the error names the call whose message failed. */
static int flush_queue(struct nft *n, struct berth_err **err)
{
    struct queue *q = &n->q;
    if (q->n_msgs == 0) {
        discard(q);
        return 0;
    }
    uint32_t bad = 0;
    int r = batch_send(n, &bad);
    const char *what = "nftables batch";
    for (size_t i = 0; r < 0 && i < q->n_ops; i++)
        if (bad >= q->ops[i].first_seq && bad <= q->ops[i].last_seq)
            what = q->ops[i].what;
    _cleanup_free_ char *words = r < 0 ? xstrdup(what) : NULL;
    discard(q);
    if (r < 0)
        return berth_error(err, -r, "%s", words);
    return 0;
}

/* A call outside nft_begin .. nft_commit is its own transaction. */
static int maybe_flush(struct nft *n, struct berth_err **err)
{
    return n->batching ? 0 : flush_queue(n, err);
}

/* ---- expressions ---- */

static void x_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
    struct nftnl_expr *e = nftnl_expr_alloc("meta");
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
    nftnl_rule_add_expr(r, e);
}

static void x_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len,
                      uint32_t dreg)
{
    struct nftnl_expr *e = nftnl_expr_alloc("payload");
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
    nftnl_rule_add_expr(r, e);
}

static void x_cmp(struct nftnl_rule *r, uint32_t sreg, uint32_t op, const void *data, uint32_t len)
{
    struct nftnl_expr *e = nftnl_expr_alloc("cmp");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
    nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
    nftnl_rule_add_expr(r, e);
}

/* A set lookup; with dreg != 0, a map lookup that loads the value there. */
static void x_lookup(struct nftnl_rule *r, uint32_t sreg, const char *set, uint32_t dreg)
{
    struct nftnl_expr *e = nftnl_expr_alloc("lookup");
    nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
    nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
    if (dreg)
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, dreg);
    nftnl_rule_add_expr(r, e);
}

/* `ct <key> & bits != 0` for a 32-bit conntrack key (state, status). */
static void x_ct_any(struct nftnl_rule *r, uint32_t key, uint32_t bits)
{
    struct nftnl_expr *e = nftnl_expr_alloc("ct");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
    nftnl_rule_add_expr(r, e);
    uint32_t zero = 0;
    e = nftnl_expr_alloc("bitwise");
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, sizeof(uint32_t));
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &bits, sizeof(bits));
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, sizeof(zero));
    nftnl_rule_add_expr(r, e);
    x_cmp(r, NFT_REG_1, NFT_CMP_NEQ, &zero, sizeof(zero));
}

/* `fib daddr type local` */
static void x_daddr_local(struct nftnl_rule *r)
{
    struct nftnl_expr *e = nftnl_expr_alloc("fib");
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
    nftnl_rule_add_expr(r, e);
    uint32_t local = RTN_LOCAL;
    x_cmp(r, NFT_REG_1, NFT_CMP_EQ, &local, sizeof(local));
}

static void x_verdict(struct nftnl_rule *r, int verdict)
{
    struct nftnl_expr *e = nftnl_expr_alloc("immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
    nftnl_rule_add_expr(r, e);
}

static void x_dnat(struct nftnl_rule *r, const struct fam *f, uint32_t reg_port)
{
    struct nftnl_expr *e = nftnl_expr_alloc("nat");
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, f->nfproto);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, reg_port);
    nftnl_rule_add_expr(r, e);
}

static void x_masq(struct nftnl_rule *r)
{
    nftnl_rule_add_expr(r, nftnl_expr_alloc("masq"));
}

/* `iifname . oifname @same` */
static void x_same_bridge(struct nftnl_rule *r)
{
    x_meta(r, NFT_META_IIFNAME, NFT_REG_1);
    x_meta(r, NFT_META_OIFNAME, NFT_REG_2);
    x_lookup(r, NFT_REG_1, "same", 0);
}

/* `iifname @set` or `oifname @set` */
static void x_if_in(struct nftnl_rule *r, uint32_t meta_key, const char *set)
{
    x_meta(r, meta_key, NFT_REG_1);
    x_lookup(r, NFT_REG_1, set, 0);
}

/* ---- the table ---- */

static void put_table(struct nft *n, const struct fam *f, uint16_t type, uint16_t flags)
{
    struct nftnl_table *t = nftnl_table_alloc();
    nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE);
    nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, f->nfproto);
    struct nlmsghdr *nlh = msg_start(n, type, f->nfproto, flags);
    nftnl_table_nlmsg_build_payload(nlh, t);
    nftnl_table_free(t);
    msg_end(n, nlh);
}

static const struct {
    const char *name, *type;
    uint32_t hook;
    int prio;
} CHAINS[] = {
    {"prerouting", "nat", NF_INET_PRE_ROUTING, -100},
    {"output", "nat", NF_INET_LOCAL_OUT, -100},
    {"postrouting", "nat", NF_INET_POST_ROUTING, 100},
    {"forward", "filter", NF_INET_FORWARD, 0},
};

static void put_chains(struct nft *n, const struct fam *f)
{
    for (size_t i = 0; i < sizeof(CHAINS) / sizeof(CHAINS[0]); i++) {
        struct nftnl_chain *c = nftnl_chain_alloc();
        nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFT_TABLE);
        nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, CHAINS[i].name);
        nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, f->nfproto);
        nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, CHAINS[i].type);
        nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, CHAINS[i].hook);
        nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, CHAINS[i].prio);
        nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
        struct nlmsghdr *nlh = msg_start(n, NFT_MSG_NEWCHAIN, f->nfproto, NLM_F_CREATE);
        nftnl_chain_nlmsg_build_payload(nlh, c);
        nftnl_chain_free(c);
        msg_end(n, nlh);
    }
}

struct set_def {
    const char *name;
    uint32_t flags, key_type, key_len, data_type, data_len;
};

static void put_set(struct nft *n, const struct fam *f, const struct set_def *d, uint32_t id)
{
    struct nftnl_set *s = nftnl_set_alloc();
    nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_TABLE);
    nftnl_set_set_str(s, NFTNL_SET_NAME, d->name);
    nftnl_set_set_u32(s, NFTNL_SET_FAMILY, f->nfproto);
    nftnl_set_set_u32(s, NFTNL_SET_ID, id);
    nftnl_set_set_u32(s, NFTNL_SET_FLAGS, d->flags);
    nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, d->key_type);
    nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, d->key_len);
    if (d->flags & NFT_SET_MAP) {
        nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, d->data_type);
        nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, d->data_len);
    }
    if (d->key_type == DT_IFNAME) {
        /* For `nft list` alone: a name is kept in host byte order (nft's BYTEORDER_HOST_ENDIAN),
         * which nft reads from the set's user data. */
        struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(16);
        nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, 1);
        nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud),
                           nftnl_udata_buf_len(ud));
        nftnl_udata_buf_free(ud);
    }
    struct nlmsghdr *nlh = msg_start(n, NFT_MSG_NEWSET, f->nfproto, NLM_F_CREATE);
    nftnl_set_nlmsg_build_payload(nlh, s);
    nftnl_set_free(s);
    msg_end(n, nlh);
}

static void put_sets(struct nft *n, const struct fam *f)
{
    const uint32_t a = f->dt_addr, addr_port = DT_CONCAT2(a, DT_INET_SERVICE);
    const struct set_def defs[] = {
        {"bridges", 0, DT_IFNAME, IFNAMSIZ, 0, 0},
        {"same", 0, DT_CONCAT2(DT_IFNAME, DT_IFNAME), 2 * IFNAMSIZ, 0, 0},
        {"masq", 0, DT_IFNAME, IFNAMSIZ, 0, 0},
        {"icc_off", 0, DT_IFNAME, IFNAMSIZ, 0, 0},
        {"internal", 0, DT_IFNAME, IFNAMSIZ, 0, 0},
        {"subnets", NFT_SET_INTERVAL, a, f->alen, 0, 0},
        {"ports_any", NFT_SET_MAP, DT_CONCAT2(DT_INET_PROTO, DT_INET_SERVICE), 8, addr_port,
         f->alen + 4},
        {"ports_ip", NFT_SET_MAP, DT_CONCAT3(a, DT_INET_PROTO, DT_INET_SERVICE), f->alen + 8,
         addr_port, f->alen + 4},
    };
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
        put_set(n, f, &defs[i], (uint32_t)i + 1);
}

static struct nftnl_rule *rule_new(const struct fam *f, const char *chain)
{
    struct nftnl_rule *r = nftnl_rule_alloc();
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TABLE);
    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
    nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, f->nfproto);
    return r;
}

static void put_rule(struct nft *n, const struct fam *f, struct nftnl_rule *r)
{
    struct nlmsghdr *nlh = msg_start(n, NFT_MSG_NEWRULE, f->nfproto, NLM_F_CREATE | NLM_F_APPEND);
    nftnl_rule_nlmsg_build_payload(nlh, r);
    nftnl_rule_free(r);
    msg_end(n, nlh);
}

/* Empties a chain (a DELRULE naming only the chain), so that init rewrites its rules. */
static void put_flush(struct nft *n, const struct fam *f, const char *chain)
{
    struct nftnl_rule *r = rule_new(f, chain);
    struct nlmsghdr *nlh = msg_start(n, NFT_MSG_DELRULE, f->nfproto, 0);
    nftnl_rule_nlmsg_build_payload(nlh, r);
    nftnl_rule_free(r);
    msg_end(n, nlh);
}

/* The two DNAT rules of prerouting and of output: a published port on one host address
 * first, then on any. th dport: TCP, UDP and SCTP all keep the destination port at offset 2. */
static void put_dnat_rules(struct nft *n, const struct fam *f, const char *chain)
{
    struct nftnl_rule *r = rule_new(f, chain);
    x_daddr_local(r);
    x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, f->daddr, f->alen, NFT_REG_1);
    x_meta(r, NFT_META_L4PROTO, f->reg_after_addr);
    x_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, f->reg_after_proto);
    x_lookup(r, NFT_REG_1, "ports_ip", NFT_REG_1);
    x_dnat(r, f, f->reg_after_addr);
    put_rule(n, f, r);

    r = rule_new(f, chain);
    x_daddr_local(r);
    x_meta(r, NFT_META_L4PROTO, NFT_REG_1);
    x_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
    x_lookup(r, NFT_REG_1, "ports_any", NFT_REG_1);
    x_dnat(r, f, f->reg_after_addr);
    put_rule(n, f, r);
}

static void put_postrouting(struct nft *n, const struct fam *f)
{
    struct nftnl_rule *r = rule_new(f, "postrouting");
    x_ct_any(r, NFT_CT_STATUS, IPS_DST_NAT);
    x_if_in(r, NFT_META_OIFNAME, "bridges");
    x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, f->saddr, f->alen, NFT_REG_1);
    x_lookup(r, NFT_REG_1, "subnets", 0);
    x_masq(r);
    put_rule(n, f, r);

    r = rule_new(f, "postrouting");
    x_same_bridge(r);
    x_verdict(r, NFT_RETURN);
    put_rule(n, f, r);

    if (f->af == AF_INET) {
        r = rule_new(f, "postrouting");
        x_if_in(r, NFT_META_OIFNAME, "bridges");
        uint8_t loopback = 127;
        x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, f->saddr, 1, NFT_REG_1);
        x_cmp(r, NFT_REG_1, NFT_CMP_EQ, &loopback, 1);
        x_masq(r);
        put_rule(n, f, r);
    }

    r = rule_new(f, "postrouting");
    x_if_in(r, NFT_META_IIFNAME, "masq");
    x_masq(r);
    put_rule(n, f, r);
}

static void put_forward(struct nft *n, const struct fam *f)
{
    struct nftnl_rule *r = rule_new(f, "forward");
    x_same_bridge(r);
    x_if_in(r, NFT_META_IIFNAME, "icc_off");
    x_verdict(r, NF_DROP);
    put_rule(n, f, r);

    r = rule_new(f, "forward");
    x_same_bridge(r);
    x_verdict(r, NF_ACCEPT);
    put_rule(n, f, r);

    r = rule_new(f, "forward");
    x_if_in(r, NFT_META_IIFNAME, "internal");
    x_verdict(r, NF_DROP);
    put_rule(n, f, r);

    r = rule_new(f, "forward");
    x_if_in(r, NFT_META_OIFNAME, "internal");
    x_verdict(r, NF_DROP);
    put_rule(n, f, r);

    r = rule_new(f, "forward");
    x_if_in(r, NFT_META_OIFNAME, "bridges");
    x_ct_any(r, NFT_CT_STATE, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
    x_verdict(r, NF_ACCEPT);
    put_rule(n, f, r);

    r = rule_new(f, "forward");
    x_if_in(r, NFT_META_OIFNAME, "bridges");
    x_ct_any(r, NFT_CT_STATUS, IPS_DST_NAT);
    x_verdict(r, NF_ACCEPT);
    put_rule(n, f, r);

    r = rule_new(f, "forward");
    x_if_in(r, NFT_META_OIFNAME, "bridges");
    x_verdict(r, NF_DROP);
    put_rule(n, f, r);
}

static void put_ruleset(struct nft *n, const struct fam *f)
{
    put_table(n, f, NFT_MSG_NEWTABLE, NLM_F_CREATE);
    put_chains(n, f);
    put_sets(n, f);
    for (size_t i = 0; i < sizeof(CHAINS) / sizeof(CHAINS[0]); i++)
        put_flush(n, f, CHAINS[i].name);
    put_dnat_rules(n, f, "prerouting");
    put_dnat_rules(n, f, "output");
    put_postrouting(n, f);
    put_forward(n, f);
}

/* A table that may not be there goes: creating it first makes the delete always succeed
 * within the one transaction. */
static void put_table_gone(struct nft *n, const struct fam *f)
{
    put_table(n, f, NFT_MSG_NEWTABLE, NLM_F_CREATE);
    put_table(n, f, NFT_MSG_DELTABLE, 0);
}

/* ---- elements ---- */

/* One element: key, optional map value, flags, optional comment (the bridge of a subnet). */
struct elem {
    uint8_t key[40], data[20];
    uint32_t key_len, data_len, flags;
    const char *comment;
};

/* Elements of one set, ELEMS_PER_MSG to a message, added (EXCL: an element already there is
 * an error) or deleted. */
static void put_elems(struct nft *n, const struct fam *f, const char *set, bool add,
                      const struct elem *el, size_t count)
{
    for (size_t at = 0; at < count; at += ELEMS_PER_MSG) {
        struct nftnl_set *s = nftnl_set_alloc();
        nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_TABLE);
        nftnl_set_set_str(s, NFTNL_SET_NAME, set);
        nftnl_set_set_u32(s, NFTNL_SET_FAMILY, f->nfproto);
        for (size_t i = at; i < count && i < at + ELEMS_PER_MSG; i++) {
            struct nftnl_set_elem *e = nftnl_set_elem_alloc();
            nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, el[i].key, el[i].key_len);
            if (el[i].flags)
                nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, el[i].flags);
            if (add && el[i].data_len)
                nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, el[i].data, el[i].data_len);
            if (add && el[i].comment) {
                struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(IFNAMSIZ + 8);
                nftnl_udata_put_strz(ud, NFTNL_UDATA_SET_ELEM_COMMENT, el[i].comment);
                nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(ud),
                                   nftnl_udata_buf_len(ud));
                nftnl_udata_buf_free(ud);
            }
            nftnl_set_elem_add(s, e);
        }
        struct nlmsghdr *nlh =
            add ? msg_start(n, NFT_MSG_NEWSETELEM, f->nfproto, NLM_F_CREATE | NLM_F_EXCL)
                : msg_start(n, NFT_MSG_DELSETELEM, f->nfproto, 0);
        nftnl_set_elems_nlmsg_build_payload(nlh, s);
        nftnl_set_free(s);
        msg_end(n, nlh);
    }
}

/* An interface name as nf_tables keys it: IFNAMSIZ bytes, zero-padded. */
static void copy_ifname(uint8_t *dst, const char *name)
{
    memcpy(dst, name, strnlen(name, IFNAMSIZ - 1));
}

static struct elem ifname_elem(const char *a, const char *b)
{
    struct elem e = {.key_len = IFNAMSIZ};
    copy_ifname(e.key, a);
    if (b) {
        copy_ifname(e.key + IFNAMSIZ, b);
        e.key_len = 2 * IFNAMSIZ;
    }
    return e;
}

/* A subnet as an interval of the rbtree set: its first address, commented with its bridge
 * (nft_list reads it back), and the address past its last, which closes the interval. When
 * the subnet runs to the last address of the family there is nothing past it: nft leaves the
 * interval open then, and so does this. Returns the number of elements (1 or 2). */
static size_t subnet_elems(const struct fam *f, const struct nft_subnet *s, const char *br,
                           struct elem out[2])
{
    out[0] = (struct elem){.key_len = f->alen, .comment = br};
    out[1] = (struct elem){.key_len = f->alen, .flags = NFT_SET_ELEM_INTERVAL_END};
    const uint8_t *a = (const uint8_t *)&s->addr;
    for (uint32_t i = 0; i < f->alen; i++) {
        int bits = (int)s->prefixlen - 8 * (int)i;
        uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
        out[0].key[i] = a[i] & mask;
        out[1].key[i] = (uint8_t)(a[i] | ~mask);
    }
    for (int i = (int)f->alen - 1; i >= 0; i--)
        if (++out[1].key[i] != 0)
            return 2; /* no carry out of this byte */
    return 1;
}

static int check_network(const struct nft_network *net, struct berth_err **err)
{
    size_t len = strnlen(net->bridge, IFNAMSIZ);
    if (len == 0 || len == IFNAMSIZ)
        return berth_error(err, EINVAL, "bridge name `%.*s` is empty or too long", IFNAMSIZ,
                           net->bridge);
    if (net->n_subnets > NFT_SUBNETS_MAX)
        return berth_error(err, EINVAL, "network `%s`: more than %d subnets", net->bridge,
                           NFT_SUBNETS_MAX);
    for (size_t i = 0; i < net->n_subnets; i++) {
        const struct fam *f = fam_of(net->subnets[i].family);
        if (!f || net->subnets[i].prefixlen > 8 * f->alen)
            return berth_error(err, EINVAL, "network `%s`: bad subnet", net->bridge);
    }
    return 0;
}

/* A network's elements in both tables: a bridge that carries only IPv4 is still isolated
 * from the others for IPv6. */
static void put_network(struct nft *n, const struct nft_network *net, bool add)
{
    struct elem br = ifname_elem(net->bridge, NULL), same = ifname_elem(net->bridge, net->bridge);
    for (size_t fi = 0; fi < 2; fi++) {
        const struct fam *f = &FAMS[fi];
        put_elems(n, f, "bridges", add, &br, 1);
        put_elems(n, f, "same", add, &same, 1);
        if (net->masquerade)
            put_elems(n, f, "masq", add, &br, 1);
        if (!net->icc)
            put_elems(n, f, "icc_off", add, &br, 1);
        if (net->internal)
            put_elems(n, f, "internal", add, &br, 1);
        struct elem nets[2 * NFT_SUBNETS_MAX];
        size_t k = 0;
        for (size_t i = 0; i < net->n_subnets && i < NFT_SUBNETS_MAX; i++)
            if (net->subnets[i].family == f->af)
                k += subnet_elems(f, &net->subnets[i], net->bridge, nets + k);
        if (k)
            put_elems(n, f, "subnets", add, nets, k);
    }
}

static int network_op(struct nft *n, const struct nft_network *net, bool add,
                      struct berth_err **err)
{
    int r = check_network(net, err);
    if (r < 0)
        return r;
    size_t o = op_start(n, "%s network `%s`", add ? "add" : "remove", net->bridge);
    put_network(n, net, add);
    op_end(n, o);
    return maybe_flush(n, err);
}

int nft_network_add(struct nft *n, const struct nft_network *net, struct berth_err **err)
{
    return network_op(n, net, true, err);
}

int nft_network_del(struct nft *n, const struct nft_network *net, struct berth_err **err)
{
    return network_op(n, net, false, err);
}

static const char *proto_name(uint8_t proto)
{
    return proto == IPPROTO_TCP    ? "tcp"
           : proto == IPPROTO_UDP  ? "udp"
           : proto == IPPROTO_SCTP ? "sctp"
                                   : NULL;
}

static bool addr_any(const struct fam *f, const union nft_addr *a)
{
    static const union nft_addr zero;
    return memcmp(a, &zero, f->alen) == 0;
}

/* "tcp 0.0.0.0:8080-8081 -> 10.88.0.2:80-81", for errors. */
static void port_words(const struct fam *f, const struct nft_port *p, char *out, size_t size)
{
    char h[INET6_ADDRSTRLEN], c[INET6_ADDRSTRLEN], hr[8] = "", cr[8] = "";
    inet_ntop(f->af, &p->host_ip, h, sizeof(h));
    inet_ntop(f->af, &p->ctr_ip, c, sizeof(c));
    if (p->count > 1) {
        snprintf(hr, sizeof(hr), "-%u", p->host_port + p->count - 1u);
        snprintf(cr, sizeof(cr), "-%u", p->ctr_port + p->count - 1u);
    }
    const char *lb = f->af == AF_INET6 ? "[" : "", *rb = f->af == AF_INET6 ? "]" : "";
    snprintf(out, size, "%s %s%s%s:%u%s -> %s%s%s:%u%s", proto_name(p->proto), lb, h, rb,
             p->host_port, hr, lb, c, rb, p->ctr_port, cr);
}

static int port_op(struct nft *n, const struct nft_port *p, bool add, struct berth_err **err)
{
    const struct fam *f = fam_of(p->family);
    if (!f)
        return berth_error(err, EINVAL, "published port: address family %d", p->family);
    if (!proto_name(p->proto))
        return berth_error(err, EINVAL, "published port: protocol %u", p->proto);
    uint32_t count = p->count ? p->count : 1;
    if (p->host_port == 0 || p->ctr_port == 0 || p->host_port + count - 1 > 65535 ||
        p->ctr_port + count - 1 > 65535)
        return berth_error(err, EINVAL, "published port: port %u-%u to %u-%u", p->host_port,
                           p->host_port + count - 1, p->ctr_port, p->ctr_port + count - 1);

    bool any = addr_any(f, &p->host_ip);
    _cleanup_free_ struct elem *el = xcalloc(count, sizeof(*el));
    for (uint32_t i = 0; i < count; i++) {
        uint8_t *k = el[i].key;
        if (!any) {
            memcpy(k, &p->host_ip, f->alen);
            k += f->alen;
        }
        k[0] = p->proto; /* a 4-byte word each: nf_tables pads concatenated fields to 32 bits */
        uint16_t hp = htons((uint16_t)(p->host_port + i)), cp = htons((uint16_t)(p->ctr_port + i));
        memcpy(k + 4, &hp, 2);
        el[i].key_len = (any ? 0 : f->alen) + 8;
        memcpy(el[i].data, &p->ctr_ip, f->alen);
        memcpy(el[i].data + f->alen, &cp, 2);
        el[i].data_len = f->alen + 4;
    }
    char words[160];
    port_words(f, p, words, sizeof(words));
    size_t o = op_start(n, "%s published port %s", add ? "add" : "remove", words);
    put_elems(n, f, any ? "ports_any" : "ports_ip", add, el, count);
    op_end(n, o);
    return maybe_flush(n, err);
}

int nft_port_add(struct nft *n, const struct nft_port *p, struct berth_err **err)
{
    return port_op(n, p, true, err);
}

int nft_port_del(struct nft *n, const struct nft_port *p, struct berth_err **err)
{
    return port_op(n, p, false, err);
}

/* ---- open, init, teardown, batches ---- */

int nft_open(struct nft **out, struct berth_err **err)
{
    struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
    if (!nl)
        return berth_error(err, errno, "open netlink socket to nf_tables");
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        int e = errno;
        mnl_socket_close(nl);
        return berth_error(err, e, "bind netlink socket to nf_tables");
    }
    /* Errors without a copy of the (possibly large) failed message. */
    int one = 1;
    setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
    struct nft *n = xcalloc(1, sizeof(*n));
    n->nl = nl;
    n->portid = mnl_socket_get_portid(nl);
    n->seq = 1;
    n->rbuf = xmalloc(RECV_SIZE);
    *out = n;
    return 0;
}

void nft_close(struct nft *n)
{
    if (!n)
        return;
    mnl_socket_close(n->nl);
    free(n->q.buf);
    free(n->q.ops);
    free(n->rbuf);
    free(n);
}

void nft_closep(struct nft **n)
{
    nft_close(*n);
}

void nft_begin(struct nft *n)
{
    n->batching = true;
}

int nft_commit(struct nft *n, struct berth_err **err)
{
    n->batching = false;
    return flush_queue(n, err);
}

void nft_discard(struct nft *n)
{
    n->batching = false;
    discard(&n->q);
}

/* Sends what is queued for init or teardown on its own, apart from a batch the caller has
 * open (which stays queued for later). */
static int run_alone(struct nft *n, void (*put)(struct nft *, bool), bool arg, const char *what,
                     struct berth_err **err)
{
    struct queue saved = n->q;
    n->q = (struct queue){0};
    size_t o = op_start(n, "%s", what);
    put(n, arg);
    op_end(n, o);
    int r = flush_queue(n, err);
    free(n->q.buf);
    free(n->q.ops);
    n->q = saved;
    return r;
}

static void put_init(struct nft *n, bool replace)
{
    for (size_t fi = 0; fi < 2; fi++) {
        if (replace)
            put_table_gone(n, &FAMS[fi]);
        put_ruleset(n, &FAMS[fi]);
    }
}

static void put_teardown(struct nft *n, bool unused)
{
    (void)unused;
    for (size_t fi = 0; fi < 2; fi++)
        put_table_gone(n, &FAMS[fi]);
}

int nft_init(struct nft *n, struct berth_err **err)
{
    _cleanup_err_ struct berth_err *first = NULL;
    if (run_alone(n, put_init, false, "create table " NFT_TABLE, &first) == 0)
        return 0;
    /* A set or chain of another shape (an older berth's) is refused with one of these: start
     * the tables afresh. Anything else (no permission, no nf_tables) is the answer. */
    int s = first->status;
    if (s != EEXIST && s != EBUSY && s != EOPNOTSUPP && s != EINVAL) {
        int code = berth_err_code(first);
        if (err)
            *err = take_ptr(first);
        return code;
    }
    return run_alone(n, put_init, true, "create table " NFT_TABLE, err);
}

int nft_teardown(struct nft *n, struct berth_err **err)
{
    return run_alone(n, put_teardown, false, "delete table " NFT_TABLE, err);
}

/* ---- listing ---- */

static int elems_cb(const struct nlmsghdr *nlh, void *data)
{
    return nftnl_set_elems_nlmsg_parse(nlh, data) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

/* Every element of one set into s; -ENOENT when the table or set is not there. */
static int dump_set(struct nft *n, const struct fam *f, const char *name, struct nftnl_set *s)
{
    nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_TABLE);
    nftnl_set_set_str(s, NFTNL_SET_NAME, name);
    nftnl_set_set_u32(s, NFTNL_SET_FAMILY, f->nfproto);
    char req[512];
    uint32_t seq = n->seq++;
    struct nlmsghdr *nlh =
        nftnl_nlmsg_build_hdr(req, NFT_MSG_GETSETELEM, f->nfproto, NLM_F_DUMP | NLM_F_ACK, seq);
    nftnl_set_elems_nlmsg_build_payload(nlh, s);
    if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0)
        return -errno;
    for (;;) {
        ssize_t r = mnl_socket_recvfrom(n->nl, n->rbuf, RECV_SIZE);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        int cr = mnl_cb_run(n->rbuf, (size_t)r, seq, n->portid, elems_cb, s);
        if (cr < 0)
            return -errno;
        if (cr == MNL_CB_STOP)
            return 0;
    }
}

/* An element of a subnets set: an interval's start (with its bridge) or end. */
struct bound {
    uint8_t key[16];
    bool end;
    char bridge[IFNAMSIZ];
};

struct lister {
    struct nft_state *st;
    size_t cap_nets, cap_ports;
    const struct fam *f;
    const char *set;
    struct bound *bounds; /* the subnets set's elements, paired once all are read */
    size_t n_bounds, cap_bounds;
};

static struct nft_network *network_named(struct lister *l, const char *name, bool make)
{
    for (size_t i = 0; i < l->st->n_networks; i++)
        if (strncmp(l->st->networks[i].bridge, name, IFNAMSIZ) == 0)
            return &l->st->networks[i];
    if (!make)
        return NULL;
    if (l->st->n_networks == l->cap_nets) {
        l->cap_nets = l->cap_nets ? 2 * l->cap_nets : 8;
        l->st->networks = xrealloc(l->st->networks, l->cap_nets * sizeof(*l->st->networks));
    }
    struct nft_network *net = &l->st->networks[l->st->n_networks++];
    *net = (struct nft_network){.icc = true};
    copy_ifname((uint8_t *)net->bridge, name);
    return net;
}

static int list_ifname(struct nftnl_set_elem *e, void *data)
{
    struct lister *l = data;
    uint32_t len = 0;
    const char *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
    char name[IFNAMSIZ] = "";
    memcpy(name, key, len < IFNAMSIZ ? len : IFNAMSIZ - 1);
    struct nft_network *net = network_named(l, name, strcmp(l->set, "bridges") == 0);
    if (!net)
        return 0; /* a flag without its bridge: not berth's doing, nothing to reconcile */
    if (strcmp(l->set, "masq") == 0)
        net->masquerade = true;
    else if (strcmp(l->set, "icc_off") == 0)
        net->icc = false;
    else if (strcmp(l->set, "internal") == 0)
        net->internal = true;
    return 0;
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
    if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_ELEM_COMMENT)
        memcpy(data, nftnl_udata_get(attr), strnlen(nftnl_udata_get(attr), IFNAMSIZ - 1));
    return 0;
}

static int list_bound(struct nftnl_set_elem *e, void *data)
{
    struct lister *l = data;
    uint32_t len = 0, ud_len = 0;
    const uint8_t *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
    if (!key || len != l->f->alen)
        return 0;
    if (l->n_bounds == l->cap_bounds) {
        l->cap_bounds = l->cap_bounds ? 2 * l->cap_bounds : 16;
        l->bounds = xrealloc(l->bounds, l->cap_bounds * sizeof(*l->bounds));
    }
    struct bound *b = &l->bounds[l->n_bounds++];
    *b = (struct bound){0};
    memcpy(b->key, key, len);
    b->end = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) &&
             (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END);
    const void *ud = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &ud_len);
    if (ud)
        nftnl_udata_parse(ud, ud_len, comment_cb, b->bridge);
    return 0;
}

/* By key; at one key the end of an interval before the start of the next (adjacent subnets,
 * as 172.17.0.0/16 and 172.18.0.0/16: the first's end is the second's start). */
static int bound_cmp(const void *a, const void *b)
{
    const struct bound *x = a, *y = b;
    int c = memcmp(x->key, y->key, 16);
    return c ? c : (int)y->end - (int)x->end;
}

/* The prefix length of [start, end): the leading bits where start and end - 1 agree. */
static uint8_t prefix_of(const uint8_t *start, const uint8_t *end, uint32_t alen, bool open)
{
    uint8_t last[16];
    memcpy(last, end, alen);
    for (int i = (int)alen - 1; i >= 0 && !open; i--)
        if (last[i]-- != 0)
            break; /* no borrow */
    if (open)
        memset(last, 0xff, alen);
    uint8_t p = 0;
    for (uint32_t i = 0; i < alen && start[i] == last[i]; i++)
        p += 8;
    if (p < 8 * alen)
        for (uint8_t diff = start[p / 8] ^ last[p / 8]; !(diff & 0x80); diff <<= 1)
            p++;
    return p;
}

/* Intervals do not overlap, so in key order each start is followed by its end (or by
 * nothing, for an interval open to the last address). */
static void list_subnets(struct lister *l)
{
    if (l->n_bounds == 0)
        return;
    qsort(l->bounds, l->n_bounds, sizeof(*l->bounds), bound_cmp);
    for (size_t i = 0; i < l->n_bounds; i++) {
        const struct bound *b = &l->bounds[i];
        if (b->end)
            continue;
        bool open = i + 1 == l->n_bounds || !l->bounds[i + 1].end;
        struct nft_network *net = network_named(l, b->bridge, false);
        if (!net || net->n_subnets == NFT_SUBNETS_MAX)
            continue;
        struct nft_subnet *s = &net->subnets[net->n_subnets++];
        *s = (struct nft_subnet){.family = l->f->af};
        memcpy(&s->addr, b->key, l->f->alen);
        s->prefixlen = prefix_of(b->key, open ? b->key : l->bounds[i + 1].key, l->f->alen, open);
    }
    l->n_bounds = 0;
}

static int list_port(struct nftnl_set_elem *e, void *data)
{
    struct lister *l = data;
    bool any = strcmp(l->set, "ports_any") == 0;
    uint32_t len = 0, dlen = 0, alen = l->f->alen;
    const uint8_t *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
    const uint8_t *val = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &dlen);
    if (!key || !val || len != (any ? 0 : alen) + 8 || dlen != alen + 4)
        return 0;
    if (l->st->n_ports == l->cap_ports) {
        l->cap_ports = l->cap_ports ? 2 * l->cap_ports : 16;
        l->st->ports = xrealloc(l->st->ports, l->cap_ports * sizeof(*l->st->ports));
    }
    struct nft_port *p = &l->st->ports[l->st->n_ports++];
    *p = (struct nft_port){.family = l->f->af, .count = 1};
    if (!any) {
        memcpy(&p->host_ip, key, alen);
        key += alen;
    }
    uint16_t hp, cp;
    p->proto = key[0];
    memcpy(&hp, key + 4, 2);
    memcpy(&p->ctr_ip, val, alen);
    memcpy(&cp, val + alen, 2);
    p->host_port = ntohs(hp);
    p->ctr_port = ntohs(cp);
    return 0;
}

static int list_family(struct nft *n, struct lister *l)
{
    static const struct {
        const char *set;
        int (*cb)(struct nftnl_set_elem *, void *);
    } order[] = {
        /* bridges first: the flags and subnets that follow attach to them */
        {"bridges", list_ifname},  {"masq", list_ifname},   {"icc_off", list_ifname},
        {"internal", list_ifname}, {"subnets", list_bound}, {"ports_any", list_port},
        {"ports_ip", list_port},
    };
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        struct nftnl_set *s = nftnl_set_alloc();
        int r = dump_set(n, l->f, order[i].set, s);
        if (r == 0) {
            l->set = order[i].set;
            nftnl_set_elem_foreach(s, order[i].cb, l);
            if (order[i].cb == list_bound)
                list_subnets(l);
        }
        nftnl_set_free(s);
        if (r == -ENOENT && i == 0)
            return 0; /* no table of this family yet */
        if (r < 0)
            return r;
    }
    return 0;
}

static int port_cmp(const void *a, const void *b)
{
    const struct nft_port *x = a, *y = b;
    if (x->family != y->family)
        return x->family - y->family;
    if (x->proto != y->proto)
        return x->proto - y->proto;
    int c = memcmp(&x->host_ip, &y->host_ip, sizeof(x->host_ip));
    return c ? c : x->host_port - y->host_port;
}

/* A hash set that shrinks while it is dumped (after many deletions, in the kernel's own time)
 * can yield an element twice: keep one, so that removing what is listed does not fail. */
static void ports_unique(struct nft_state *st)
{
    if (st->n_ports == 0)
        return;
    qsort(st->ports, st->n_ports, sizeof(*st->ports), port_cmp);
    size_t k = 0;
    for (size_t i = 0; i < st->n_ports; i++)
        if (k == 0 || port_cmp(&st->ports[k - 1], &st->ports[i]) != 0)
            st->ports[k++] = st->ports[i];
    st->n_ports = k;
}

static int network_cmp(const void *a, const void *b)
{
    const struct nft_network *x = a, *y = b;
    int c = strncmp(x->bridge, y->bridge, IFNAMSIZ);
    if (c || x->masquerade != y->masquerade || x->icc != y->icc || x->internal != y->internal ||
        x->n_subnets != y->n_subnets)
        return c ? c : 1;
    for (size_t i = 0; i < x->n_subnets; i++)
        if (x->subnets[i].family != y->subnets[i].family ||
            x->subnets[i].prefixlen != y->subnets[i].prefixlen ||
            memcmp(&x->subnets[i].addr, &y->subnets[i].addr, sizeof(x->subnets[i].addr)) != 0)
            return 1;
    return 0;
}

static bool state_equal(const struct nft_state *a, const struct nft_state *b)
{
    if (a->n_networks != b->n_networks || a->n_ports != b->n_ports)
        return false;
    for (size_t i = 0; i < a->n_networks; i++)
        if (network_cmp(&a->networks[i], &b->networks[i]) != 0)
            return false;
    for (size_t i = 0; i < a->n_ports; i++) {
        const struct nft_port *x = &a->ports[i], *y = &b->ports[i];
        if (port_cmp(x, y) != 0 || x->ctr_port != y->ctr_port ||
            memcmp(&x->ctr_ip, &y->ctr_ip, sizeof(x->ctr_ip)) != 0)
            return false;
    }
    return true;
}

static int list_once(struct nft *n, struct nft_state *out, struct berth_err **err)
{
    *out = (struct nft_state){0};
    struct lister l = {.st = out};
    for (size_t fi = 0; fi < 2; fi++) {
        l.f = &FAMS[fi];
        int r = list_family(n, &l);
        free(take_ptr(l.bounds));
        l.cap_bounds = 0;
        if (r < 0) {
            nft_state_free(out);
            return berth_error(err, -r, "list table %s %s", fi ? "ip6" : "ip", NFT_TABLE);
        }
    }
    if (out->n_networks)
        qsort(out->networks, out->n_networks, sizeof(*out->networks), network_cmp);
    ports_unique(out);
    return 0;
}

/* A set the kernel resizes while it is dumped in pieces (it grows or shrinks a hash set in
 * its own time after many additions or removals) comes out with elements twice or missing,
 * as each piece of the dump skips as many elements as were sent before: list until two
 * listings in a row agree. */
int nft_list(struct nft *n, struct nft_state *out, struct berth_err **err)
{
    struct nft_state prev;
    int r = list_once(n, &prev, err);
    for (int tries = 0; r == 0 && tries < 20; tries++) {
        r = list_once(n, out, err);
        if (r == 0 && state_equal(&prev, out)) {
            nft_state_free(&prev);
            return 0;
        }
        nft_state_free(&prev);
        prev = *out;
        *out = (struct nft_state){0};
    }
    if (r == 0) {
        nft_state_free(&prev);
        return berth_error(err, EAGAIN, "list table %s: it keeps changing", NFT_TABLE);
    }
    return r;
}

void nft_state_free(struct nft_state *s)
{
    free(s->networks);
    free(s->ports);
    *s = (struct nft_state){0};
}
