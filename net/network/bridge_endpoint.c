/* net/network/bridge_endpoint.c — a container's endpoint on the default bridge: its address and
 * MAC (reactor bookkeeping), its veth (one netlink exchange on a pool thread), and its record. */
#include "net/network/bridge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "net/network/bridge_fw.h"
#include "net/network/lowernet.h"
#include "net/network/netlink.h"

void netbr_mac_from_ip(const struct ipam_addr *a, uint8_t mac[6])
{
    uint8_t raw[16] = {0};
    ipam_addr_bytes(a, raw);
    mac[0] = 0x02;
    mac[1] = 0x42;
    memcpy(mac + 2, raw, 4);
}

char *netbr_mac_str(const uint8_t mac[6], char buf[18])
{
    snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
    return buf;
}

/* xx:xx:xx:xx:xx:xx or xx-xx-..., or xxxx.xxxx.xxxx (Go's ParseMAC, 6 bytes only). */
static bool parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char tail;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) ==
            6 ||
        sscanf(s, "%2x-%2x-%2x-%2x-%2x-%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) ==
            6) {
        if (strlen(s) != 17)
            return false;
        for (int i = 0; i < 6; i++)
            mac[i] = (uint8_t)v[i];
        return true;
    }
    unsigned w[3];
    if (strlen(s) == 14 && sscanf(s, "%4x.%4x.%4x%c", &w[0], &w[1], &w[2], &tail) == 3) {
        for (int i = 0; i < 3; i++) {
            mac[2 * i] = (uint8_t)(w[i] >> 8);
            mac[2 * i + 1] = (uint8_t)w[i];
        }
        return true;
    }
    return false;
}

static void random_mac(uint8_t mac[6])
{
    if (getrandom(mac, 6, 0) != 6)
        for (int i = 0; i < 6; i++)
            mac[i] = (uint8_t)rand();
    mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
}

static void new_id(struct netbr_endpoint *ep)
{
    uint8_t raw[32];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        for (size_t i = 0; i < sizeof(raw); i++)
            raw[i] = (uint8_t)rand();
    for (size_t i = 0; i < sizeof(raw); i++)
        sprintf(ep->id + 2 * i, "%02x", raw[i]);
    /* unique per start, so a restarted container's new pair never meets its old one while the
     * kernel is still taking that one down with its netns */
    snprintf(ep->host_if, sizeof(ep->host_if), "%s%.11s", NETBR_VETH_PREFIX, ep->id);
}

int netbr_endpoint_new(struct netbr *b, const char *mac, struct netbr_endpoint *ep,
                       struct berth_err **err)
{
    return netbr_endpoint_new_at(b, mac, NULL, ep, err);
}

int netbr_endpoint_new_at(struct netbr *b, const char *mac, const char *ip,
                          struct netbr_endpoint *ep, struct berth_err **err)
{
    *ep = (struct netbr_endpoint){0};
    if (mac && *mac && !parse_mac(mac, ep->mac))
        return berth_user_error(err, EINVAL,
                                "invalid MAC address %s for the bridge network: "
                                "it needs 6 bytes",
                                mac);
    struct ipam_pool *pools[] = {b->_pool};
    struct ipam_addr pref;
    if (ip && *ip && !ipam_addr_parse(ip, &pref))
        return berth_user_error(err, EINVAL, "invalid IPv4 address: %s", ip);
    size_t which;
    int r = ipam_pools_assign(pools, 1, ip && *ip ? &pref : NULL, b->cfg.net_name ?: "bridge",
                              b->id, &ep->addr, &which, err);
    if (r < 0)
        return r;
    if ((!mac || !*mac) && b->cfg.driver == NETBR_BRIDGE)
        netbr_mac_from_ip(&ep->addr, ep->mac);
    else if ((!mac || !*mac) && b->cfg.driver == NETBR_MACVLAN)
        random_mac(ep->mac); /* dockerd's macvlan: GenerateRandomMAC */
    else if (b->cfg.driver == NETBR_IPVLAN)
        memset(ep->mac, 0, sizeof(ep->mac)); /* an ipvlan has its parent's */
    new_id(ep);
    return 0;
}

void netbr_endpoint_release(struct netbr *b, struct netbr_endpoint *ep)
{
    if (!ep->addr.family)
        return;
    ipam_addr_release(b->_pool, &ep->addr, NULL); /* one it did not hand out is left alone */
    ep->addr = (struct ipam_addr){0};
}

int netbr_endpoint_restore(struct netbr *b, struct netbr_endpoint *ep, struct berth_err **err)
{
    struct ipam_addr want = ep->addr, got;
    ep->addr = (struct ipam_addr){0};
    if (!want.family || !ipam_prefix_contains(&b->subnet, &want))
        return berth_user_error(err, EINVAL, "address not in the bridge's subnet");
    int r = ipam_addr_request(b->_pool, &want, &got, err);
    if (r == 0)
        ep->addr = got;
    return r;
}

static struct nl_prefix nl_prefix_of(const struct ipam_addr *a, unsigned bits)
{
    struct nl_prefix p = {.ip.family = AF_INET, .len = bits};
    uint8_t raw[16];
    ipam_addr_bytes(a, raw);
    memcpy(&p.ip.v4, raw, 4);
    return p;
}

static void fw_views(const struct netbr *b, const struct netbr_endpoint *ep,
                     const struct netbr_ctr *ctr, struct netbr_fw_network *n,
                     struct netbr_fw_endpoint *e)
{
    *n = (struct netbr_fw_network){.bridge = b->cfg.name,
                                   .ifindex = b->ifindex,
                                   .subnet = b->subnet,
                                   .gateway = b->gateway,
                                   .mtu = b->mtu,
                                   .host_ip = b->cfg.host_ip ? b->cfg.host_ip : "0.0.0.0",
                                   .icc = b->cfg.icc,
                                   .iptables = b->cfg.iptables,
                                   .ip_masq = b->cfg.ip_masq,
                                   .fw = b->_fw};
    *e = (struct netbr_fw_endpoint){.ctr_id = ctr->id,
                                    .ctr_name = ctr->name,
                                    .endpoint_id = ep->id,
                                    .host_if = ep->host_if,
                                    .addr = ep->addr,
                                    .config = ctr->config,
                                    .host_config = ctr->host_config};
}

int netbr_endpoint_plumb(const struct netbr *b, const struct netbr_endpoint *ep, int netns_fd,
                         const struct netbr_ctr *ctr, json_t **ports, struct berth_err **err)
{
    _cleanup_nl_ struct nl_handle *h = NULL;
    struct netbr_fw_network fn;
    struct netbr_fw_endpoint fe;
    *ports = NULL;
    if (b->cfg.driver != NETBR_BRIDGE) /* no bridge, no firewall: -p is dockerd's no-op here */
        return lowernet_plumb(b, ep, netns_fd, ctr->ifname ? ctr->ifname : NETBR_IFNAME,
                              ctr->no_gateway, err);
    fw_views(b, ep, ctr, &fn, &fe);
    int r = nl_open(-1, &h, err);
    if (r < 0)
        return r;
    struct nl_veth_plumb p = {.host_name = ep->host_if,
                              .bridge = b->ifindex,
                              .mtu = b->mtu,
                              .netns_fd = netns_fd,
                              .ifname = ctr->ifname ? ctr->ifname : NETBR_IFNAME,
                              .addr4 = nl_prefix_of(&ep->addr, b->subnet.bits),
                              .gw4 = b->cfg.internal || ctr->no_gateway
                                         ? (struct nl_ip){0}
                                         : nl_prefix_of(&b->route_via, 32).ip,
                              .disable_ipv6 = true, /* an IPv4-only network, as dockerd */
                              .lo_up = true,
                              .hairpin = netbr_fw_hairpin(&fn, ctr->config, ctr->host_config)};
    memcpy(p.mac, ep->mac, sizeof(p.mac));
    if ((r = nl_plumb_veth(h, &p, err)) < 0)
        return r;
    if ((r = netbr_fw_endpoint_up(&fn, &fe, ports, err)) < 0)
        (void)nl_link_delete_name(h, ep->host_if, NULL); /* the pair goes with its host end */
    return r;
}

void netbr_endpoint_unplumb(const struct netbr *b, const struct netbr_endpoint *ep,
                            const char *ctr_id, bool delete_link)
{
    struct netbr_fw_network fn;
    struct netbr_fw_endpoint fe;
    if (b->cfg.driver != NETBR_BRIDGE) /* its link is in the container's netns (lowernet.h) */
        return;
    fw_views(b, ep, &(struct netbr_ctr){.id = ctr_id}, &fn, &fe);
    netbr_fw_endpoint_down(&fn, &fe);
    if (!delete_link)
        return;
    _cleanup_nl_ struct nl_handle *h = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    if (nl_open(-1, &h, &err) < 0 || nl_link_delete_name(h, ep->host_if, &err) < 0) {
        if (err->status != ENODEV) /* already gone with its netns */
            log_warn("bridge: remove veth %s: %s", ep->host_if, err->msg);
    }
}

json_t *netbr_endpoint_json(const struct netbr_endpoint *ep)
{
    char ip[IPAM_ADDR_STRLEN], mac[18];
    static const uint8_t none[6];
    return json_pack("{ss ss ss ss}", "EndpointID", ep->id, "HostIf", ep->host_if, "IPAddress",
                     ep->addr.family ? ipam_addr_fmt(&ep->addr, ip) : "", "MacAddress",
                     memcmp(ep->mac, none, 6) ? netbr_mac_str(ep->mac, mac) : "");
}

bool netbr_endpoint_from_json(const json_t *j, struct netbr_endpoint *ep)
{
    const char *id = json_get_str(j, "EndpointID"), *host = json_get_str(j, "HostIf");
    const char *ip = json_get_str(j, "IPAddress"), *mac = json_get_str(j, "MacAddress");
    *ep = (struct netbr_endpoint){0};
    if (!id || strlen(id) != 64 || !host || strlen(host) >= IFNAMSIZ || !ip || !mac ||
        (*mac && !parse_mac(mac, ep->mac)))
        return false;
    if (*ip && !ipam_addr_parse(ip, &ep->addr))
        return false;
    memcpy(ep->id, id, 65);
    memcpy(ep->host_if, host, strlen(host) + 1);
    return true;
}
