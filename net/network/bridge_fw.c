/* net/network/bridge_fw.c — the default bridge's firewall (see bridge_fw.h): at start-up the
 * nftables tables, the network's elements and the sysctls they need, reconciled with what an
 * earlier berthd left; per container its published ports (host ports held, one DNAT element
 * each, added in one transaction). */
#include "net/network/bridge_fw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/map.h"
#include "core/xalloc.h"
#include "net/network/netlink.h"
#include "net/network/nft.h"
#include "net/network/portalloc.h"
#include "net/network/ports.h"

/* One published port of an endpoint. */
struct fw_port {
    struct portalloc_port host;
    uint16_t ctr_port;
};

struct fw_endpoint {
    struct in_addr ctr_ip;
    struct fw_port *ports;
    size_t n;
};

struct netbr_fw {
    pthread_mutex_t lock; /* the nft handle and eps: endpoints come and go on several threads */
    struct nft *nft;      /* NULL: "iptables": false, berth adds no rules */
    struct portalloc *pa;
    struct in_addr default_ip; /* daemon.json "ip" (network order) */
    struct map eps;            /* EndpointID -> struct fw_endpoint, while its ports exist */
};

static struct in_addr v4_of(const struct ipam_addr *a)
{
    uint8_t raw[16] = {0};
    struct in_addr out;
    ipam_addr_bytes(a, raw);
    memcpy(&out, raw, 4);
    return out;
}

/* ---- host ports ---- */

/* A host port is the host's whichever network publishes it: one allocator serves every network
 * of berthd, so a port one holds is "already allocated" for the others (not a bind failure in a
 * host process's words) and the ephemeral ports go round one cursor (each network starting at
 * the range's first would fail after ten of another's, dockerd's maxAllocateAttempts). Taken by
 * each network's firewall, freed with the last. */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct portalloc *shared_pa;
static unsigned shared_refs;

static struct portalloc *host_ports_take(void)
{
    pthread_mutex_lock(&shared_lock);
    if (!shared_pa)
        shared_pa = portalloc_new(NULL, NULL);
    shared_refs++;
    struct portalloc *pa = shared_pa;
    pthread_mutex_unlock(&shared_lock);
    return pa;
}

static void host_ports_drop(struct portalloc *pa)
{
    if (!pa)
        return;
    pthread_mutex_lock(&shared_lock);
    if (--shared_refs == 0) {
        portalloc_free(shared_pa);
        shared_pa = NULL;
    }
    pthread_mutex_unlock(&shared_lock);
}

/* ---- the network ---- */

static void nft_network_of(const struct netbr_fw_network *n, struct nft_network *out)
{
    *out = (struct nft_network){
        .masquerade = n->ip_masq, .icc = n->icc, .internal = n->internal, .n_subnets = 1};
    snprintf(out->bridge, sizeof(out->bridge), "%s", n->bridge);
    out->subnets[0].family = AF_INET;
    out->subnets[0].addr.v4 = v4_of(&n->subnet.addr);
    out->subnets[0].prefixlen = n->subnet.bits;
}

static bool same_network(const struct nft_network *a, const struct nft_network *b)
{
    if (strncmp(a->bridge, b->bridge, IFNAMSIZ) || a->masquerade != b->masquerade ||
        a->icc != b->icc || a->internal != b->internal || a->n_subnets != b->n_subnets)
        return false;
    for (size_t i = 0; i < a->n_subnets; i++)
        if (a->subnets[i].family != b->subnets[i].family ||
            a->subnets[i].prefixlen != b->subnets[i].prefixlen ||
            memcmp(&a->subnets[i].addr, &b->subnets[i].addr, sizeof(a->subnets[i].addr)))
            return false;
    return true;
}

/* Whether a published port leads into the network's subnets. */
static bool port_into(const struct nft_port *p, const struct nft_network *net)
{
    for (size_t i = 0; i < net->n_subnets; i++) {
        const struct nft_subnet *s = &net->subnets[i];
        if (s->family != p->family || s->family != AF_INET)
            continue;
        uint32_t mask = s->prefixlen ? htonl(~0u << (32 - s->prefixlen)) : 0;
        if ((p->ctr_ip.v4.s_addr & mask) == (s->addr.v4.s_addr & mask))
            return true;
    }
    return false;
}

/* One transaction, so the tables are never half reconciled. No container outlives berthd, so a
 * published port in them is what an earlier one left. The default bridge's start (whole) takes
 * every port away, and every network but itself as it is configured now. A user network's takes
 * only the ports into its subnet (with "bridge": "none" no default bridge's start removed them)
 * and an element of its own bridge with other flags (an earlier berthd's); the others' are left
 * alone. */
static int reconcile(struct nft *nft, const struct nft_network *want, bool whole,
                     struct berth_err **err)
{
    struct nft_state st;
    int r = nft_list(nft, &st, err);
    if (r < 0)
        return r;
    bool have = false;
    size_t stale = 0;
    nft_begin(nft);
    for (size_t i = 0; r == 0 && i < st.n_ports; i++)
        if ((whole || port_into(&st.ports[i], want)) &&
            (r = nft_port_del(nft, &st.ports[i], err)) == 0)
            stale++;
    for (size_t i = 0; r == 0 && i < st.n_networks; i++) {
        if (!whole && strncmp(st.networks[i].bridge, want->bridge, IFNAMSIZ) != 0)
            continue;
        if (same_network(&st.networks[i], want))
            have = true;
        else
            r = nft_network_del(nft, &st.networks[i], err);
    }
    if (r == 0 && !have)
        r = nft_network_add(nft, want, err);
    if (r < 0)
        nft_discard(nft);
    else
        r = nft_commit(nft, err);
    if (r == 0 && stale)
        log_info("%s %s: removed %zu published ports an earlier berthd left",
                 whole ? "bridge" : "network", want->bridge, stale);
    nft_state_free(&st);
    return r;
}

void netbr_fw_network_down(const struct netbr_fw_network *n, struct netbr_fw *fw)
{
    if (!fw || !fw->nft)
        return;
    struct nft_network net;
    nft_network_of(n, &net);
    _cleanup_err_ struct berth_err *err = NULL;
    if (nft_network_del(fw->nft, &net, &err) < 0 && err->status != ENOENT)
        log_warn("network %s: remove its firewall element: %s", n->bridge, err->msg);
}

/* route_localnet on the bridge: a published port answers on 127.0.0.1 (the DNAT to the bridge
 * of a packet from 127.0.0.1 is otherwise dropped as martian); with icc off, bridged traffic
 * through the IP hooks (br_netfilter), where the forward chain drops it. */
static int set_sysctls(const struct netbr_fw_network *n, struct berth_err **err)
{
    char path[64];
    snprintf(path, sizeof(path), "ipv4/conf/%s/route_localnet", n->bridge);
    int r = nl_sysctl_set(-1, path, "1", err);
    if (r < 0 || n->icc)
        return r;
    if ((r = nl_sysctl_set(-1, "bridge/bridge-nf-call-iptables", "1", err)) < 0)
        return berth_error_wrap(err, "icc false needs br_netfilter (modprobe br_netfilter)");
    (void)nl_sysctl_set(-1, "bridge/bridge-nf-call-ip6tables", "1", NULL); /* IPv4-only yet */
    return 0;
}

/* "iptables": false: no rules of berth's, not even those an earlier run left. */
static void drop_tables(void)
{
    _cleanup_(nft_closep) struct nft *nft = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    if (nft_open(&nft, &err) < 0 || nft_teardown(nft, &err) < 0)
        log_debug("iptables false: no berth tables removed: %s", err->msg); /* none, or no nft */
}

static int firewall_up(const struct netbr_fw_network *n, struct netbr_fw *fw,
                       struct berth_err **err)
{
    const char *ip = n->host_ip && *n->host_ip ? n->host_ip : "0.0.0.0";
    if (inet_pton(AF_INET, ip, &fw->default_ip) != 1)
        return berth_user_error(err, EINVAL,
                                "ip (the default address of published ports) %s: only an IPv4 "
                                "address is supported yet",
                                ip);
    fw->pa = host_ports_take();
    if (!n->iptables) {
        drop_tables();
        return 0;
    }
    struct nft_network want;
    nft_network_of(n, &want);
    int r;
    if (n->user_net) { /* the tables exist (the default bridge's start): its element only */
        if ((r = nft_open(&fw->nft, err)) < 0 || (r = nft_init(fw->nft, err)) < 0 ||
            (r = reconcile(fw->nft, &want, false, err)) < 0)
            return r;
        return set_sysctls(n, err);
    }
    if ((r = nft_open(&fw->nft, err)) < 0 || (r = nft_init(fw->nft, err)) < 0 ||
        (r = reconcile(fw->nft, &want, true, err)) < 0)
        return r;
    return set_sysctls(n, err);
}

int netbr_fw_network_up(const struct netbr_fw_network *n, struct netbr_fw **out,
                        struct berth_err **err)
{
    struct netbr_fw *fw = xcalloc(1, sizeof(*fw));
    pthread_mutex_init(&fw->lock, NULL);
    int r = firewall_up(n, fw, err);
    if (r < 0) {
        netbr_fw_close(fw);
        return r;
    }
    log_debug("bridge %s: firewall %s (icc %d, ip-masq %d)", n->bridge,
              fw->nft ? "in table berth" : "off: iptables false", n->icc, n->ip_masq);
    *out = fw;
    return 0;
}

void netbr_fw_close(struct netbr_fw *fw)
{
    if (!fw)
        return;
    const char *key;
    void *v;
    for (size_t i = 0; map_next(&fw->eps, &i, &key, &v);) { /* none after a clean shutdown */
        struct fw_endpoint *e = v;
        for (size_t k = 0; k < e->n; k++)
            portalloc_release(fw->pa, &e->ports[k].host);
        free(e->ports);
        free(e);
    }
    map_free(&fw->eps);
    host_ports_drop(fw->pa);
    nft_close(fw->nft);
    pthread_mutex_destroy(&fw->lock);
    free(fw);
}

bool netbr_fw_hairpin(const struct netbr_fw_network *n, const json_t *config,
                      const json_t *host_config)
{
    return n->iptables && ports_publishes(config, host_config);
}

/* ---- an endpoint's published ports ---- */

static struct nft_port nft_port_of(const struct fw_endpoint *e, const struct fw_port *p)
{
    return (struct nft_port){.family = AF_INET,
                             .proto = p->host.proto,
                             .host_ip.v4 = p->host.ip,
                             .host_port = p->host.port,
                             .ctr_ip.v4 = e->ctr_ip,
                             .ctr_port = p->ctr_port,
                             .count = 1};
}

/* dockerd's PortBinding.String() of a request: "0.0.0.0:8080-8085:172.17.0.2:80/tcp". */
static void binding_words(const struct ports_req *q, struct in_addr host, struct in_addr ctr,
                          char *buf, size_t size)
{
    char h[INET_ADDRSTRLEN], c[INET_ADDRSTRLEN], hp[16] = "";
    inet_ntop(AF_INET, &host, h, sizeof(h));
    inet_ntop(AF_INET, &ctr, c, sizeof(c));
    if (q->host_lo && q->host_hi != q->host_lo)
        snprintf(hp, sizeof(hp), "%u-%u:", q->host_lo, q->host_hi);
    else if (q->host_lo)
        snprintf(hp, sizeof(hp), "%u:", q->host_lo);
    snprintf(buf, size, "%s:%s%s:%u/%s", h, hp, c, q->ctr_port, ports_proto_name(q->proto));
}

static void release_all(struct netbr_fw *fw, struct fw_endpoint *e)
{
    for (size_t i = 0; i < e->n; i++)
        portalloc_release(fw->pa, &e->ports[i].host);
}

/* Under the lock: each port held, then every DNAT element in one transaction. On failure what
 * was held is let go. */
static int publish(struct netbr_fw *fw, const struct ports_plan *plan, struct fw_endpoint *e,
                   struct berth_err **err)
{
    int r = 0;
    for (size_t i = 0; r == 0 && i < plan->n_reqs; i++) {
        const struct ports_req *q = &plan->reqs[i];
        struct in_addr ip = q->host_ip_set ? q->host_ip : fw->default_ip;
        char words[96];
        binding_words(q, ip, e->ctr_ip, words, sizeof(words));
        struct fw_port *p = &e->ports[e->n];
        p->ctr_port = q->ctr_port;
        r = portalloc_reserve(fw->pa, q->proto, ip, q->host_lo, q->host_hi, words, &p->host, err);
        if (r == 0)
            e->n++;
    }
    nft_begin(fw->nft);
    for (size_t i = 0; r == 0 && i < e->n; i++) {
        struct nft_port np = nft_port_of(e, &e->ports[i]);
        r = nft_port_add(fw->nft, &np, err);
    }
    if (r == 0)
        r = nft_commit(fw->nft, err);
    else
        nft_discard(fw->nft);
    if (r < 0)
        release_all(fw, e);
    return r;
}

static json_t *settings_of(const struct netbr_fw_endpoint *ep, const struct fw_endpoint *e)
{
    _cleanup_free_ struct ports_bound *b = xcalloc(e->n + 1, sizeof(*b));
    for (size_t i = 0; i < e->n; i++)
        b[i] = (struct ports_bound){.proto = e->ports[i].host.proto,
                                    .ctr_port = e->ports[i].ctr_port,
                                    .host_ip = e->ports[i].host.ip,
                                    .host_port = e->ports[i].host.port};
    return ports_settings_json(ep->config, b, e->n);
}

int netbr_fw_endpoint_up(const struct netbr_fw_network *n, const struct netbr_fw_endpoint *ep,
                         json_t **ports, struct berth_err **err)
{
    struct netbr_fw *fw = n->fw;
    *ports = NULL;
    if (!ports_publishes(ep->config, ep->host_config))
        return 0;
    _cleanup_(ports_plan_free) struct ports_plan plan = {0};
    int r = ports_plan(ep->config, ep->host_config, &plan, err);
    if (r < 0 || plan.n_reqs == 0)
        return r;
    if (!fw->nft)
        return berth_user_error(err, EINVAL,
                                "published ports need berth's nftables rules, and daemon.json "
                                "has \"iptables\": false (berth has no userland proxy)");
    struct fw_endpoint *e = xcalloc(1, sizeof(*e));
    e->ctr_ip = v4_of(&ep->addr);
    e->ports = xcalloc(plan.n_reqs, sizeof(*e->ports));
    pthread_mutex_lock(&fw->lock);
    r = publish(fw, &plan, e, err);
    if (r == 0)
        map_put(&fw->eps, ep->endpoint_id, e);
    pthread_mutex_unlock(&fw->lock);
    if (r < 0) {
        free(e->ports);
        free(e);
        return berth_error_wrap(err,
                                "driver failed programming external connectivity on endpoint "
                                "%s (%s)",
                                ep->ctr_name, ep->endpoint_id);
    }
    *ports = settings_of(ep, e);
    return 0;
}

/* The elements of e one transaction each, when removing them all at once failed: one that is
 * gone already (ENOENT) is what was asked; another failure is left to the next start's
 * reconcile, with a warning. */
static void remove_each(struct netbr_fw *fw, const struct fw_endpoint *e, const char *ctr_id)
{
    for (size_t i = 0; i < e->n; i++) {
        _cleanup_err_ struct berth_err *err = NULL;
        struct nft_port np = nft_port_of(e, &e->ports[i]);
        if (nft_port_del(fw->nft, &np, &err) < 0 && err->status != ENOENT)
            log_warn("container %.12s: remove a published port: %s", ctr_id, err->msg);
    }
}

void netbr_fw_endpoint_down(const struct netbr_fw_network *n, const struct netbr_fw_endpoint *ep)
{
    struct netbr_fw *fw = n->fw;
    if (!fw || !ep->endpoint_id)
        return;
    pthread_mutex_lock(&fw->lock);
    struct fw_endpoint *e = map_del(&fw->eps, ep->endpoint_id);
    if (e) {
        _cleanup_err_ struct berth_err *err = NULL;
        nft_begin(fw->nft);
        for (size_t i = 0; i < e->n; i++) {
            struct nft_port np = nft_port_of(e, &e->ports[i]);
            (void)nft_port_del(fw->nft, &np, NULL); /* queued: checked when committed */
        }
        if (nft_commit(fw->nft, &err) < 0) /* one is gone already: the others one by one */
            remove_each(fw, e, ep->ctr_id);
        release_all(fw, e);
    }
    pthread_mutex_unlock(&fw->lock);
    if (e) {
        free(e->ports);
        free(e);
    }
}
