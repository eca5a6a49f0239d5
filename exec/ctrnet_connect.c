/* exec/ctrnet_connect.c — docker network connect and disconnect. A running container gets a
 * second endpoint (eth1, eth2, ...) plumbed into its netns on the pool, without a default route
 * (its primary network keeps that), its names added to the network and the network to what its
 * DNS server answers (one on the default bridge gets the server and 127.0.0.11 then, as
 * dockerd starts its resolver and rewrites resolv.conf when a user network joins); disconnect
 * deletes the veth and gives the address back. Either way the network is kept in (or dropped
 * from) c->net_more, so a created or stopped container joins it at its next start. */
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
#include "exec/create.h"
#include "exec/ctrnet_priv.h"
#include "exec/effective.h"
#include "exec/resolvconf.h"
#include "exec/run.h"
#include "fs/atomic.h"
#include "net/network/netlink.h"

struct net_job {
    struct pool_job job;
    struct exec_env *env;
    char id[65];
    pid_t pid;
    struct ctrnet *x;
    json_t *req; /* the connect's endpoint request (--ip, --alias), kept in c->net_more */
    /* the default bridge's container that gets the embedded DNS server now: its netns, the
     * upstream resolvers, and its resolv.conf rewritten (path, DnsSearch, DnsOptions) */
    bool resolver;
    int dns_netns;
    struct dns_ctr_config dns_cfg;
    json_t *host_config;
    char *resolv_path;
    int res;
    struct berth_err *err;
    ctr_done_fn done;
    void *ctx;
};

/* Its first network's record dropped by a disconnect while it was stopped (compose's disconnect
 * and connect again with the service's aliases): NetworkMode stays, as dockerd's. */
static bool detached(const struct container *c)
{
    return json_is_true(json_object_get(c->net_request, "Detached"));
}

bool ctrnet_on_network(const struct container *c, const char *name)
{
    return (!strcmp(ctr_network_mode(c), name) && !detached(c)) ||
           json_object_get(c->net_more, name) != NULL ||
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

/* Pool: the DNS server's netns and upstreams, and resolv.conf as for a user network's container,
 * written over the file the container has mounted (in place: it is bind-mounted). */
static void resolver_prepare(struct net_job *j, int netns)
{
    j->dns_netns = fcntl(netns, F_DUPFD_CLOEXEC, 0);
    ctrnet_dns_upstreams(j->host_config, false, &j->dns_cfg);
    _cleanup_free_ char *host = NULL;
    size_t len;
    if (fs_read_file("/etc/resolv.conf", &host, &len, NULL) < 0)
        host = xstrdup("");
    _cleanup_free_ char *text =
        resolvconf_build_user(host, json_object_get(j->host_config, "DnsSearch"),
                              json_object_get(j->host_config, "DnsOptions"));
    int fd = open(j->resolv_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        log_warn("%s: %s", j->resolv_path, strerror(errno));
    if (fd >= 0)
        close(fd);
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
    if (j->res == 0 && j->resolver)
        resolver_prepare(j, fd);
    close(fd);
}

static void job_free(struct net_job *j)
{
    json_decref(j->req);
    json_decref(j->host_config);
    free(j->resolv_path);
    if (j->dns_netns >= 0)
        close(j->dns_netns);
    berth_err_free(j->err);
    free(j);
}

/* Kept for its next starts (dockerd keeps it in NetworkSettings.Networks). */
static void keep(struct container *c, const char *net, json_t *req)
{
    if (!c->net_more)
        c->net_more = json_object();
    json_object_set(c->net_more, net, req);
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
        if (j->resolver && !prim->dns && j->dns_netns >= 0) { /* its first user network */
            prim->dns_netns = j->dns_netns;
            j->dns_netns = -1;
            prim->dns_cfg = j->dns_cfg;
            ctrnet_dns_start(prim, j->env, c);
        } else if (ctrnet_wants_resolver(prim) && prim->view.n < CTRNET_MAX_NETS) {
            prim->views[prim->view.n++] = x->un->dns;
        }
        ctrnet_record_extra(c, x);
        keep(c, x->un->name, j->req);
        ctr_save(c, NULL, NULL);
    }
    j->done(j->ctx, j->res, j->err);
    job_free(j);
}

int ctrnet_connect(struct exec_env *env, struct container *c, struct usernet *un,
                   const json_t *epcfg, ctr_done_fn done, void *ctx, struct berth_err **err)
{
    struct ctrnet *prim = c->run ? ctr_run_net(c) : NULL;
    int r = check_mode(c, err);
    if (r < 0)
        return r;
    if (!c->run && !strcmp(ctr_network_mode(c), un->name)) { /* its first network again */
        if (detached(c)) {
            json_decref(c->net_request);
            c->net_request = ctr_endpoint_request(epcfg);
        }
        ctr_save(c, done, ctx);
        return 0;
    }
    if (!c->run) { /* created or stopped: it joins at its next start (twice: nothing new) */
        if (!ctrnet_on_network(c, un->name)) {
            json_t *req = ctr_endpoint_request(epcfg);
            json_object_set_new(req, "NetworkID", json_string(un->id));
            keep(c, un->name, req);
            json_decref(req);
        }
        ctr_save(c, done, ctx);
        return 0;
    }
    if (!prim)
        return berth_user_error(err, EINVAL, "container %.12s is not running", c->id);
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
    json_t *aliases = json_object_get(epcfg, "Aliases");
    x->aliases = json_array_size(aliases) ? json_incref(aliases) : NULL;
    x->dns_names = ctrnet_dns_names(c, aliases);
    struct net_job *j = xcalloc(1, sizeof(*j));
    *j = (struct net_job){.job = {.work = connect_work, .done = connect_done},
                          .env = env,
                          .pid = c->state.pid,
                          .x = x,
                          .req = ctr_endpoint_request(epcfg),
                          .resolver = !ctrnet_wants_resolver(prim),
                          .dns_netns = -1,
                          .done = done,
                          .ctx = ctx};
    json_object_set_new(j->req, "NetworkID", json_string(un->id));
    if (j->resolver) {
        j->host_config = json_deep_copy(c->host_config); /* read on the pool */
        j->resolv_path = xasprintf("%s/resolv.conf", c->dir);
    }
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
    job_free(j);
}

int ctrnet_disconnect(struct exec_env *env, struct container *c, struct usernet *un,
                      ctr_done_fn done, void *ctx, struct berth_err **err)
{
    struct ctrnet *prim = c->run ? ctr_run_net(c) : NULL;
    if (!ctrnet_on_network(c, un->name))
        return berth_error(err, EINVAL, "container %s is not connected to network %s", c->id,
                           un->name);
    bool first = !strcmp(ctr_network_mode(c), un->name);
    if (first && c->run)
        return berth_user_error(err, EINVAL,
                                "disconnecting a running container from the network it was "
                                "started on is not supported yet");
    if (!c->run) { /* created or stopped: the record goes */
        if (first) {
            json_decref(c->net_request);
            c->net_request = json_pack("{sb}", "Detached", true);
        }
        json_object_del(c->net_more, un->name);
        ctr_save(c, done, ctx);
        return 0;
    }
    struct ctrnet **at = prim ? &prim->extra : NULL;
    while (at && *at && (*at)->un != un)
        at = &(*at)->extra;
    if (!at || !*at)
        return berth_error(err, EINVAL, "container %s is not connected to network %s", c->id,
                           un->name);
    struct ctrnet *x = *at;
    *at = x->extra;
    x->extra = NULL;
    for (size_t i = 0; i < prim->view.n; i++) /* its DNS server no longer answers for it */
        if (prim->views[i] == un->dns && (i > 0 || !prim->un)) {
            memmove(&prim->views[i], &prim->views[i + 1],
                    (prim->view.n - i - 1) * sizeof(prim->views[0]));
            prim->view.n--;
            break;
        }
    json_object_del(json_object_get(c->net, "Extra"), un->name);
    json_object_del(c->net_more, un->name);
    ctr_save(c, NULL, NULL);
    struct net_job *j = xcalloc(1, sizeof(*j));
    *j = (struct net_job){.job = {.work = disconnect_work, .done = disconnect_done},
                          .env = env,
                          .pid = c->state.pid,
                          .x = x,
                          .dns_netns = -1,
                          .done = done,
                          .ctx = ctx};
    memcpy(j->id, c->id, sizeof(j->id));
    pool_submit(env->pool, POOL_LATENCY, &j->job);
    return 0;
}
