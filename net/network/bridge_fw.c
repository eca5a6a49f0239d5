/* net/network/bridge_fw.c — the default bridge's firewall hooks (see bridge_fw.h): empty
 * until the nftables module fills them; the bridge already calls each at its point. */
#include "net/network/bridge_fw.h"

#include "core/log.h"

int netbr_fw_network_up(const struct netbr_fw_network *n, struct berth_err **err)
{
    (void)err;
    log_debug("bridge %s: no firewall rules (icc %d, ip-masq %d, iptables %d): no nftables "
              "module yet",
              n->bridge, n->icc, n->ip_masq, n->iptables);
    return 0;
}

int netbr_fw_endpoint_up(const struct netbr_fw_network *n, const struct netbr_fw_endpoint *ep,
                         struct berth_err **err)
{
    (void)n, (void)ep, (void)err;
    return 0;
}

void netbr_fw_endpoint_down(const struct netbr_fw_network *n, const struct netbr_fw_endpoint *ep)
{
    (void)n, (void)ep;
}
