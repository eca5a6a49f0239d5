/* exec/ctrnet_multi.c — a container on several networks from its start: the user networks of
 * c->net_more (docker network connect of a created or stopped container, or a second --network
 * at create) get endpoints eth1, eth2... beside its first network's eth0, and the default route
 * goes through one of them as dockerd picks its gateway endpoint (libnetwork's Endpoint.Less:
 * the highest gw-priority, then a network that is not internal, then the network's name).
 * dockerd names the interfaces in the order it joins the networks, which is a Go map's (no
 * order); berth keeps the first network on eth0 and the others in the gateway order. Only a
 * container with c->net_more comes here: the others' start is not touched. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/xalloc.h"
#include "exec/ctrnet_priv.h"
#include "exec/effective.h"

/* One network as the gateway choice sees it. */
struct gw_rank {
    struct ctrnet *n;
    const char *name;
    json_int_t prio;
    bool internal;
};

/* libnetwork's Endpoint.Less: whether a is the better default gateway. */
static bool gw_better(const struct gw_rank *a, const struct gw_rank *b)
{
    if (a->prio != b->prio)
        return a->prio > b->prio;
    if (a->internal != b->internal)
        return !a->internal;
    return strcmp(a->name, b->name) < 0;
}

static int gw_cmp(const void *pa, const void *pb)
{
    const struct gw_rank *a = pa, *b = pb;
    return gw_better(a, b) ? -1 : gw_better(b, a) ? 1 : 0;
}

/* One connected network's endpoint: its address (--ip) taken now, its names (--alias). */
static int extra_new(const struct container *c, struct usernet *un, const json_t *req,
                     struct ctrnet **out, struct berth_err **err)
{
    if (!un->br)
        return berth_user_error(err, EIO, "network %s: its bridge is not set up", un->name);
    struct ctrnet *x = xcalloc(1, sizeof(*x));
    x->br = un->br;
    x->un = un;
    x->netns = -1;
    x->dns_netns = -1;
    const char *ip = json_get_str(req, "IPv4Address");
    int r = netbr_endpoint_new_at(x->br, NULL, ip, &x->ep, err);
    if (r < 0) {
        free(x);
        return berth_error_wrap(err, "failed to set up container networking");
    }
    json_t *aliases = json_object_get(req, "Aliases");
    x->aliases = json_array_size(aliases) ? json_incref(aliases) : NULL;
    x->dns_names = ctrnet_dns_names(c, aliases);
    *out = x;
    return 0;
}

int ctrnet_prepare_more(struct exec_env *env, const struct container *c, struct ctrnet *prim,
                        struct berth_err **err)
{
    size_t k = json_object_size(c->net_more) + 1;
    if (k > CTRNET_MAX_NETS)
        return berth_user_error(err, EINVAL,
                                "more than %d networks per container are not supported yet",
                                CTRNET_MAX_NETS);
    struct gw_rank rank[CTRNET_MAX_NETS];
    rank[0] =
        (struct gw_rank){.n = prim,
                         .name = prim->un ? prim->un->name : "bridge",
                         .prio = json_integer_value(json_object_get(c->net_request, "GwPriority")),
                         .internal = prim->un && prim->un->internal};
    size_t n = 1;
    const char *name;
    json_t *req;
    int r = 0;
    json_object_foreach(c->net_more, name, req)
    {
        struct usernet *un = env->nets ? usernets_find(env->nets, name) : NULL;
        if (!un) {
            r = berth_user_error(err, ENOENT, "network %s not found", name);
            break;
        }
        struct ctrnet *x = NULL;
        if ((r = extra_new(c, un, req, &x, err)) < 0)
            break;
        rank[n++] = (struct gw_rank){.n = x,
                                     .name = un->name,
                                     .prio = json_integer_value(json_object_get(req, "GwPriority")),
                                     .internal = un->internal};
    }
    if (r < 0) {
        for (size_t i = 1; i < n; i++)
            ctrnet_release(env, rank[i].n, NULL);
        return r;
    }
    qsort(rank + 1, n - 1, sizeof(rank[0]), gw_cmp);
    /* the best of all has the route: the first network unless another ranks before it */
    size_t best = gw_better(&rank[1], &rank[0]) ? 1 : 0;
    struct ctrnet **tail = &prim->extra;
    for (size_t i = 0; i < n; i++) {
        rank[i].n->no_gateway = i != best;
        if (i == 0)
            continue;
        snprintf(rank[i].n->ifname, IFNAMSIZ, "eth%u", (unsigned)i % CTRNET_MAX_NETS);
        *tail = rank[i].n;
        tail = &rank[i].n->extra;
    }
    return 0;
}

int ctrnet_setup_more(struct ctrnet *n, const struct container *c, struct berth_err **err)
{
    for (struct ctrnet *x = n->extra; x; x = x->extra) {
        struct netbr_ctr who = {.id = c->id, .ifname = x->ifname, .no_gateway = x->no_gateway};
        int r = netbr_endpoint_plumb(x->br, &x->ep, n->netns, &who, &x->ports, err);
        if (r < 0)
            return r;
        x->plumbed = true;
    }
    return 0;
}

void ctrnet_record_extra(struct container *c, const struct ctrnet *x)
{
    if (!c->net)
        c->net = json_object();
    json_t *extra = json_object_get(c->net, "Extra");
    if (!extra) {
        extra = json_object();
        json_object_set_new(c->net, "Extra", extra);
    }
    json_t *ep = ctrnet_endpoint_json(x);
    if (x->aliases)
        json_object_set(ep, "Aliases", x->aliases);
    json_object_set_new(ep, "Name", json_string(x->un->name));
    json_object_set_new(extra, x->un->name, ep);
}
