/* exec/ctrnet_connect.c — docker network connect and disconnect of a running container: a
 * second endpoint (eth1, eth2, ...) plumbed into its netns on the pool, without a default route
 * (its primary network keeps that), its names added to the network and the network to what its
 * DNS server answers; disconnect deletes the veth and gives the address back. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "exec/ctrnet_priv.h"
#include "exec/effective.h"
#include "exec/run.h"
#include "net/network/netlink.h"

struct net_job {
    struct pool_job job;
    struct exec_env *env;
    char id[65];
    pid_t pid;
    struct ctrnet *x;
    json_t *aliases; /* --alias of the connect */
    int res;
    struct berth_err *err;
    ctr_done_fn done;
    void *ctx;
};

bool ctrnet_on_network(const struct container *c, const char *name)
{
    return !strcmp(ctr_network_mode(c), name) ||
           json_object_get(json_object_get(c->net, "Extra"), name) != NULL;
}

/* dockerd's words for the network modes that take no other network. */
static int check_mode(const struct container *c, struct berth_err **err)
{
    const char *mode = ctr_network_mode(c);
    if (!strcmp(mode, "host"))
        return berth_user_error(err, EINVAL,
                                "container cannot be disconnected from host network "
                                "or connected to host network");
    if (!strncmp(mode, "container:", 10))
        return berth_user_error(err, EINVAL,
                                "container sharing network namespace with another "
                                "container or host cannot be connected to any "
                                "other network");
    if (!strcmp(mode, "none"))
        return berth_user_error(err, EINVAL,
                                "container cannot be connected to multiple networks "
                                "with one of the networks in private (none) mode");
    return 0;
}

static size_t count(const struct ctrnet *prim)
{
    size_t k = 0;
    for (const struct ctrnet *n = prim; n; n = n->extra)
        k++;
    return k;
}

/* The lowest ethN no endpoint of it uses. */
static void pick_ifname(const struct ctrnet *prim, char out[IFNAMSIZ])
{
    for (unsigned i = 1;; i++) {
        snprintf(out, IFNAMSIZ, "eth%u", i);
        bool used = false;
        for (const struct ctrnet *n = prim->extra; n && !used; n = n->extra)
            used = !strcmp(n->ifname, out);
        if (!used)
            return;
    }
}

static void connect_work(struct pool_job *job)
{
    struct net_job *j = (struct net_job *)job;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)j->pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        j->res = berth_error(&j->err, errno, "open %s", path);
        return;
    }
    struct netbr_ctr who = {.id = j->id, .ifname = j->x->ifname, .no_gateway = true};
    j->res = netbr_endpoint_plumb(j->x->br, &j->x->ep, fd, &who, &j->x->ports, &j->err);
    close(fd);
}

/* c->net's Extra: the endpoints of the networks connected while it runs, by network name. */
static void record_extra(struct container *c, const struct ctrnet *x, const json_t *aliases)
{
    if (!c->net)
        c->net = json_object();
    json_t *extra = json_object_get(c->net, "Extra");
    if (!extra) {
        extra = json_object();
        json_object_set_new(c->net, "Extra", extra);
    }
    json_t *ep = ctrnet_endpoint_json(x);
    if (json_array_size(aliases))
        json_object_set(ep, "Aliases", (json_t *)aliases);
    json_object_set_new(ep, "Name", json_string(x->un->name));
    json_object_set_new(extra, x->un->name, ep);
}

static void connect_done(struct pool_job *job)
{
    struct net_job *j = (struct net_job *)job;
    struct container *c = NULL;
    struct ctrnet *prim = NULL;
    if (j->res == 0 && (ctr_lookup(j->env->cs, j->id, &c, NULL) < 0 || c->state.pid != j->pid ||
                        !(prim = ctr_run_net(c))))
        j->res = berth_user_error(&j->err, EINVAL, "container %.12s is not running", j->id);
    if (j->res < 0) {
        ctrnet_release(j->env, j->x, NULL); /* the veth went with its netns, or never was */
    } else {
        struct ctrnet *x = j->x;
        x->extra = prim->extra;
        prim->extra = x;
        ctrnet_names_change(x, true);
        x->dns_added = true;
        if (prim->un && prim->view.n < CTRNET_MAX_NETS)
            prim->views[prim->view.n++] = x->un->dns;
        record_extra(c, x, j->aliases);
    }
    j->done(j->ctx, j->res, j->err);
    json_decref(j->aliases);
    berth_err_free(j->err);
    free(j);
}

int ctrnet_connect(struct exec_env *env, struct container *c, struct usernet *un,
                   const json_t *epcfg, ctr_done_fn done, void *ctx, struct berth_err **err)
{
    struct ctrnet *prim = c->run ? ctr_run_net(c) : NULL;
    int r = check_mode(c, err);
    if (r < 0)
        return r;
    if (!c->run || c->state.status != CTR_RUNNING || !prim)
        return berth_user_error(err, EINVAL,
                                "network connect of a container that is not running is not "
                                "supported yet");
    if (!un->br)
        return berth_user_error(err, EIO, "network %s: its bridge is not set up", un->name);
    if (ctrnet_on_network(c, un->name))
        return berth_user_error(err, EACCES, "endpoint with name %s already exists in network %s",
                                c->name, un->name);
    if (count(prim) >= CTRNET_MAX_NETS)
        return berth_user_error(err, EINVAL,
                                "more than %d networks per container are not "
                                "supported yet",
                                CTRNET_MAX_NETS);
    struct ctrnet *x = xcalloc(1, sizeof(*x));
    x->br = un->br;
    x->un = un;
    x->netns = -1;
    x->dns_netns = -1;
    pick_ifname(prim, x->ifname);
    const char *ip = json_get_str(json_object_get(epcfg, "IPAMConfig"), "IPv4Address");
    if ((r = netbr_endpoint_new_at(x->br, NULL, ip, &x->ep, err)) < 0) {
        free(x);
        return r;
    }
    x->dns_names = ctrnet_dns_names(c, json_object_get(epcfg, "Aliases"));
    struct net_job *j = xcalloc(1, sizeof(*j));
    *j = (struct net_job){.job = {.work = connect_work, .done = connect_done},
                          .env = env,
                          .pid = c->state.pid,
                          .x = x,
                          .aliases = json_incref(json_object_get(epcfg, "Aliases")),
                          .done = done,
                          .ctx = ctx};
    memcpy(j->id, c->id, sizeof(j->id));
    pool_submit(env->pool, POOL_LATENCY, &j->job);
    return 0;
}

/* ---- disconnect ---- */

static void lower_unplumb(struct net_job *j)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)j->pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    _cleanup_err_ struct berth_err *err = NULL;
    if (fd < 0)
        return; /* it has ended: the link went with its netns */
    if (nl_lower_unplumb(fd, j->x->ifname, &err) < 0 && err->status != ENODEV)
        log_warn("network %s: remove %s: %s", j->x->un->name, j->x->ifname, err->msg);
    close(fd);
}

static void disconnect_work(struct pool_job *job)
{
    struct net_job *j = (struct net_job *)job;
    netbr_endpoint_unplumb(j->x->br, &j->x->ep, j->id, true); /* its netns lives on */
    if (j->x->br->cfg.driver != NETBR_BRIDGE) /* a macvlan/ipvlan child: in there, by name */
        lower_unplumb(j);
}

static void disconnect_done(struct pool_job *job)
{
    struct net_job *j = (struct net_job *)job;
    ctrnet_release(j->env, j->x, NULL);
    j->done(j->ctx, 0, NULL);
    free(j);
}

int ctrnet_disconnect(struct exec_env *env, struct container *c, struct usernet *un,
                      ctr_done_fn done, void *ctx, struct berth_err **err)
{
    struct ctrnet *prim = c->run ? ctr_run_net(c) : NULL;
    if (!ctrnet_on_network(c, un->name))
        return berth_error(err, EINVAL, "container %s is not connected to network %s", c->id,
                           un->name);
    if (!prim || prim->un == un)
        return berth_user_error(err, EINVAL,
                                "disconnecting a container from the network it was started on "
                                "is not supported yet");
    struct ctrnet **at = &prim->extra;
    while (*at && (*at)->un != un)
        at = &(*at)->extra;
    if (!*at)
        return berth_error(err, EINVAL, "container %s is not connected to network %s", c->id,
                           un->name);
    struct ctrnet *x = *at;
    *at = x->extra;
    x->extra = NULL;
    for (size_t i = 1; i < prim->view.n; i++) /* its DNS server no longer answers for it */
        if (prim->views[i] == un->dns) {
            memmove(&prim->views[i], &prim->views[i + 1],
                    (prim->view.n - i - 1) * sizeof(prim->views[0]));
            prim->view.n--;
            break;
        }
    json_object_del(json_object_get(c->net, "Extra"), un->name);
    struct net_job *j = xcalloc(1, sizeof(*j));
    *j = (struct net_job){.job = {.work = disconnect_work, .done = disconnect_done},
                          .env = env,
                          .pid = c->state.pid,
                          .x = x,
                          .done = done,
                          .ctx = ctx};
    memcpy(j->id, c->id, sizeof(j->id));
    pool_submit(env->pool, POOL_LATENCY, &j->job);
    return 0;
}
