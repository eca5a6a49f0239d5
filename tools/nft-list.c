/* tools/nft-list.c — what berth's nftables tables hold, one line each, through the engine's own
 * nft_list (net/network/nft.h), for tests and by hand where the nft CLI is not installed; run it
 * in berthd's network namespace:
 *   network berth0 masq icc subnet 172.17.0.0/16
 *   port tcp 0.0.0.0:18080 -> 172.17.0.2:80
 * Exit status 1 when the tables cannot be read. */
#include <arpa/inet.h>
#include <stdio.h>

#include "core/cleanup.h"
#include "net/network/nft.h"

static const char *proto_name(uint8_t p)
{
    return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : p == IPPROTO_SCTP ? "sctp" : "?";
}

static void print_network(const struct nft_network *n)
{
    printf("network %s%s%s%s", n->bridge, n->masquerade ? " masq" : "", n->icc ? " icc" : "",
           n->internal ? " internal" : "");
    for (size_t i = 0; i < n->n_subnets; i++) {
        char a[INET6_ADDRSTRLEN];
        inet_ntop(n->subnets[i].family, &n->subnets[i].addr, a, sizeof(a));
        printf(" subnet %s/%u", a, n->subnets[i].prefixlen);
    }
    printf("\n");
}

static void print_port(const struct nft_port *p)
{
    char h[INET6_ADDRSTRLEN], c[INET6_ADDRSTRLEN];
    inet_ntop(p->family, &p->host_ip, h, sizeof(h));
    inet_ntop(p->family, &p->ctr_ip, c, sizeof(c));
    printf("port %s %s:%u -> %s:%u\n", proto_name(p->proto), h, p->host_port, c, p->ctr_port);
}

int main(void)
{
    _cleanup_(nft_closep) struct nft *nft = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    struct nft_state st;
    if (nft_open(&nft, &err) < 0 || nft_list(nft, &st, &err) < 0) {
        fprintf(stderr, "nft-list: %s\n", err->msg);
        return 1;
    }
    for (size_t i = 0; i < st.n_networks; i++)
        print_network(&st.networks[i]);
    for (size_t i = 0; i < st.n_ports; i++)
        print_port(&st.ports[i]);
    nft_state_free(&st);
    return 0;
}
