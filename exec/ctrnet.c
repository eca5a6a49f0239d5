/* exec/ctrnet.c — the default bridge for one container: endpoint from the bridge's pool on the
 * reactor, netns and veth on the start job's thread, and the way back at its end. The netns is
 * held by berthd only until the process has entered it: from then on it lives as long as the
 * container's processes, and the kernel takes the veth pair down with it (deleting a pair
 * ourselves would block ~16 ms, see net/network/netlink.h). */
#include "exec/ctrnet.h"

#include "exec/ctrnet_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "exec/ctrlinks.h"
#include "exec/run.h"
#include "net/network/bridge.h"
#include "net/network/dns.h"
#include "net/network/dns_names.h"
#include "net/network/netlink.h"
#include "net/network/ports.h"
#include "net/network/usernet.h"

bool ctrnet_on_bridge(const json_t *host_config, bool default_bridge)
{
    const char *mode = json_get_str(host_config, "NetworkMode");
    return default_bridge &&
           (!mode || !*mode || !strcmp(mode, "default") || !strcmp(mode, "bridge"));
}

bool ctrnet_user_mode(const char *mode)
{
    return mode && *mode && strcmp(mode, "default") && strcmp(mode, "bridge") &&
           strcmp(mode, "none") && strcmp(mode, "host") && strncmp(mode, "container:", 10);
}

json_t *ctrnet_dns_names(const struct container *c, const json_t *aliases)
{
    json_t *names = json_pack("[s]", c->name), *v;
    size_t i;
    json_array_foreach((json_t *)aliases, i, v)
    {
        if (json_is_string(v) && *json_string_value(v))
            json_array_append(names, v);
    }
    json_array_append_new(names, json_sprintf("%.12s", c->id));
    return names;
}

/* --network NAME of a user network: its bridge, --ip from EndpointsConfig. */
static int prepare_user(struct exec_env *env, const struct container *c, const char *mode,
                        struct ctrnet **out, struct berth_err **err)
{
    struct usernet *un = env->nets ? usernets_find(env->nets, mode) : NULL;
    if (!un)
        return berth_user_error(err, ENOENT, "network %s not found", mode);
    if (json_is_true(json_object_get(c->net_request, "Detached")))
        return berth_user_error(err, EINVAL,
                                "a start without the network it was created on (%s, "
                                "disconnected) is not supported yet",
                                mode);
    if (!un->br)
        return berth_user_error(err, EIO, "network %s: its bridge is not set up", un->name);
    struct ctrnet *n = xcalloc(1, sizeof(*n));
    n->br = un->br;
    n->un = un;
    n->netns = -1;
    n->dns_netns = -1;
    n->dns_names = ctrnet_dns_names(c, json_object_get(c->net_request, "Aliases"));
    const char *ip = json_get_str(c->net_request, "IPv4Address");
    int r = netbr_endpoint_new_at(n->br, json_get_str(c->config, "MacAddress"), ip, &n->ep, err);
    if (r < 0) {
        free(n);
        return berth_error_wrap(err, "failed to set up container networking");
    }
    *out = n;
    return 0;
}

/* Its first network's endpoint (NULL for none, host, container:X). */
static int prepare_primary(struct exec_env *env, const struct container *c, struct ctrnet **out,
                           struct berth_err **err)
{
    *out = NULL;
    if (!ctrnet_on_bridge(c->host_config, env->default_bridge)) {
        const char *mode = json_get_str(c->host_config, "NetworkMode");
        return ctrnet_user_mode(mode) ? prepare_user(env, c, mode, out, err) : 0;
    }
    if (!env->bridge) /* set up at start-up before any start runs: its set-up failed */
        return berth_user_error(err, EIO, "network bridge not found");
    struct ctrnet *n = xcalloc(1, sizeof(*n));
    n->br = env->bridge;
    n->netns = -1;
    n->dns_netns = -1;
    int r = netbr_endpoint_new(n->br, json_get_str(c->config, "MacAddress"), &n->ep, err);
    if (r < 0) {
        free(n);
        return berth_error_wrap(err, "failed to set up container networking");
    }
    *out = n;
    return 0;
}

int ctrnet_prepare(struct exec_env *env, const struct container *c, struct ctrnet **out,
                   struct berth_err **err)
{
    int r = prepare_primary(env, c, out, err);
    if (r == 0 && json_object_size(c->net_more)) {
        if (!*out)
            return berth_user_error(err, EINVAL, "network bridge not found");
        if ((r = ctrnet_prepare_more(env, c, *out, err)) < 0) {
            ctrnet_release(env, take_ptr(*out), NULL);
            return r;
        }
    }
    if (r == 0 && ctrnet_wants_resolver(*out)) { /* its DNS server's sockets, bound at setup */
        if (!env->dns)
            env->dns = dns_server_new(env->r, env->pool, NULL);
        (*out)->dns_srv = env->dns;
    }
    return r;
}

bool ctrnet_wants_resolver(const struct ctrnet *n)
{
    return n && (n->un || n->extra);
}

void ctrnet_dns_upstreams(const json_t *host_config, bool internal, struct dns_ctr_config *cfg)
{
    if (internal)
        return;
    json_t *dns = json_object_get(host_config, "Dns"), *v;
    size_t i;
    struct buf text = {0};
    if (json_array_size(dns)) {
        json_array_foreach(dns, i, v) buf_printf(&text, "nameserver %s\n", json_string_value(v));
    } else {
        FILE *f = fopen("/etc/resolv.conf", "re");
        if (f) {
            char line[512];
            while (fgets(line, sizeof(line), f))
                buf_puts(&text, line);
            fclose(f);
        }
    }
    buf_reserve(&text, 1);
    text.data[text.len] = '\0';
    cfg->nupstream = dns_upstreams_parse(text.data, "127.0.0.11", cfg->upstream, DNS_MAX_UPSTREAM);
    buf_free(&text);
}

/* Pool: what the DNS server will need: its netns held, the upstream resolvers. */
static void dns_prepare(struct ctrnet *n, const struct container *c)
{
    _cleanup_err_ struct berth_err *err = NULL;
    if (dns_ctr_bind(n->dns_srv, n->netns, n->dns_fds, &err) == 0)
        n->dns_bound = true;
    else
        log_warn("container %.12s: %s", c->id, err->msg);
    ctrnet_dns_upstreams(c->host_config, n->un && n->un->internal, &n->dns_cfg);
}

int ctrnet_setup(struct ctrnet *n, const struct container *c, struct berth_err **err)
{
    if (!n)
        return 0;
    int64_t t0 = mono_us();
    int r = nl_netns_new(&n->netns, err);
    int64_t t1 = mono_us();
    n->netns_us = t1 - t0;
    if (r < 0)
        return berth_error_wrap(err, "failed to set up container networking");
    struct netbr_ctr who = {.id = c->id,
                            .name = c->name,
                            .config = c->config,
                            .host_config = c->host_config,
                            .no_gateway = n->no_gateway};
    r = netbr_endpoint_plumb(n->br, &n->ep, n->netns, &who, &n->ports, err);
    if (r == 0) {
        n->plumbed = true;
        r = n->extra ? ctrnet_setup_more(n, c, err) : 0;
    }
    if (r < 0) {
        n->plumb_us = mono_us() - t1;
        return berth_error_wrap(err, "failed to set up container networking");
    }
    if (ctrnet_wants_resolver(n))
        dns_prepare(n, c);
    n->plumb_us = mono_us() - t1; /* a user network's DNS sockets count as its plumbing */
    return 0;
}

int ctrnet_netns(const struct ctrnet *n)
{
    return n ? n->netns : -1;
}

void ctrnet_spawned(struct ctrnet *n)
{
    if (n && n->netns >= 0) {
        close(n->netns);
        n->netns = -1;
    }
}

/* The DNS server's sockets that were bound and never served (a start that failed). */
static void dns_unbind(struct ctrnet *n)
{
    if (!n->dns_bound)
        return;
    close(n->dns_fds[0]);
    close(n->dns_fds[1]);
    n->dns_bound = false;
}

void ctrnet_undo(struct ctrnet *n, const char *ctr_id)
{
    if (!n)
        return;
    for (struct ctrnet *x = n->extra; x; x = x->extra) {
        if (x->plumbed)
            netbr_endpoint_unplumb(x->br, &x->ep, ctr_id, false);
        x->plumbed = false;
    }
    if (n->plumbed) /* the firewall's rules; the pair goes with the netns below */
        netbr_endpoint_unplumb(n->br, &n->ep, ctr_id, false);
    n->plumbed = false;
    json_decref(take_ptr(n->ports));
    ctrnet_spawned(n);
    dns_unbind(n);
}

void ctrnet_hosts_record(const char *ip, const char *hostname, const char *domainname,
                         struct buf *out)
{
    if (!ip || !*ip || !hostname || !*hostname)
        return;
    buf_printf(out, "%s\t%s", ip, hostname);
    if (domainname && *domainname)
        buf_printf(out, ".%s", domainname);
    /* a dotted name is also known by its first label */
    const char *dot = strchr(hostname, '.');
    if (dot || (domainname && *domainname))
        buf_printf(out, " %.*s", (int)(dot ? dot - hostname : (ptrdiff_t)strlen(hostname)),
                   hostname);
    buf_puts(out, "\n");
}

void ctrnet_hosts_line(const struct ctrnet *n, const char *hostname, const char *domainname,
                       struct buf *out)
{
    char ip[IPAM_ADDR_STRLEN];
    if (n && n->ep.addr.family)
        ctrnet_hosts_record(ipam_addr_fmt(&n->ep.addr, ip), hostname, domainname, out);
}

void ctrnet_times(const struct ctrnet *n, int64_t *netns_us, int64_t *plumb_us)
{
    *netns_us = n ? n->netns_us : 0;
    *plumb_us = n ? n->plumb_us : 0;
}

void ctrnet_names_change(struct ctrnet *n, bool add)
{
    size_t count = json_array_size(n->dns_names);
    const char **names = xcalloc(count + 1, sizeof(*names));
    for (size_t i = 0; i < count; i++)
        names[i] = json_string_value(json_array_get(n->dns_names, i));
    uint8_t raw[16];
    ipam_addr_bytes(&n->ep.addr, raw);
    struct in_addr v4;
    memcpy(&v4, raw, 4);
    if (add)
        dns_names_add(n->un->dns, names, count, &v4, NULL);
    else
        dns_names_del(n->un->dns, names, count, &v4, NULL);
    free(names);
}

/* --link NAME:ALIAS on a user network (dockerd's CreateOptionAlias): ALIAS resolves as NAME
 * in this container alone. Parsed at create. */
static void links_view(struct ctrnet *n, const struct container *c)
{
    json_t *links = json_object_get(c->net_request, "Links"), *v;
    size_t i, count = json_array_size(links);
    if (!count)
        return;
    if (!n->link_alias) { /* once: a later connect starts the server again with the same */
        n->link_alias = xcalloc(count, sizeof(char *));
        n->link_name = xcalloc(count, sizeof(char *));
        json_array_foreach(links, i, v)
        {
            if (ctrlinks_parse(json_string_value(v), &n->link_name[n->nlinks],
                               &n->link_alias[n->nlinks], NULL) == 0)
                n->nlinks++;
        }
    }
    n->view.link_alias = (const char *const *)n->link_alias;
    n->view.link_name = (const char *const *)n->link_name;
    n->view.nlinks = n->nlinks;
}

static void dns_ready(void *ctx, struct dns_ctr *d, const struct berth_err *err)
{
    struct ctrnet *n = ctx;
    if (n->dns_netns >= 0)
        close(n->dns_netns);
    n->dns_netns = -1;
    if (err) {
        log_warn("embedded DNS server: %s", err->msg);
        if (n->dns == d)
            n->dns = NULL;
    }
}

void ctrnet_dns_start(struct ctrnet *n, struct exec_env *env, const struct container *c)
{
    if (!env->dns)
        env->dns = dns_server_new(env->r, env->pool, NULL);
    n->view = (struct dns_names_view){.nets = n->views, .n = 0};
    if (n->un) {
        ctrnet_names_change(n, true);
        n->dns_added = true;
        n->views[n->view.n++] = n->un->dns;
    }
    for (const struct ctrnet *x = n->extra; x && n->view.n < CTRNET_MAX_NETS; x = x->extra)
        n->views[n->view.n++] = x->un->dns;
    links_view(n, c);
    bool ndots = false;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(c->host_config, "DnsOptions"), i, v) ndots =
        ndots || !strncmp(json_string_value(v) ?: "", "ndots:", 6);
    n->dns_cfg.lookup = dns_names_lookup(&n->view, ndots);
    if (n->dns_bound) { /* bound before its process ran (ctrnet_setup) */
        n->dns_bound = false;
        _cleanup_err_ struct berth_err *err = NULL;
        if (!(n->dns = dns_ctr_serve(env->dns, n->dns_fds, &n->dns_cfg, &err)))
            log_warn("container %.12s: %s", c->id, err->msg);
    } else if (n->dns_netns >= 0) { /* its first user network, connected while it runs */
        n->dns = dns_ctr_start(env->dns, n->dns_netns, &n->dns_cfg, dns_ready, n);
    }
}

/* Reactor, at its end: the server stopped, its names gone from the network. */
static void dns_stop(struct ctrnet *n)
{
    if (n->dns)
        dns_ctr_stop(take_ptr(n->dns));
    dns_unbind(n);
    if (n->dns_netns >= 0)
        close(n->dns_netns);
    n->dns_netns = -1;
    if (n->dns_added && n->un)
        ctrnet_names_change(n, false);
    n->dns_added = false;
    json_decref(take_ptr(n->dns_names));
    for (size_t i = 0; i < n->nlinks; i++) {
        free(n->link_alias[i]);
        free(n->link_name[i]);
    }
    free(take_ptr(n->link_alias));
    free(take_ptr(n->link_name));
    n->nlinks = 0;
}

json_t *ctrnet_endpoint_json(const struct ctrnet *n)
{
    char gw[IPAM_ADDR_STRLEN];
    json_t *j = netbr_endpoint_json(&n->ep);
    json_object_set_new(j, "NetworkID", json_string(n->un ? n->un->id : n->br->id));
    json_object_set_new(j, "IPPrefixLen", json_integer(n->br->subnet.bits));
    json_object_set_new(j, "Gateway",
                        json_string(n->br->route_via.family ? ipam_addr_fmt(&n->br->route_via, gw)
                                                            : "")); /* macvlan without --gateway */
    if (n->dns_names)
        json_object_set(j, "DNSNames", n->dns_names);
    return j;
}

void ctrnet_record(struct ctrnet *n, struct exec_env *env, struct container *c)
{
    if (!n)
        return;
    for (struct ctrnet *x = n->extra; x; x = x->extra) { /* c->net_more's, at start */
        ctrnet_names_change(x, true);
        x->dns_added = true;
    }
    if (ctrnet_wants_resolver(n))
        ctrnet_dns_start(n, env, c);
    json_t *j = ctrnet_endpoint_json(n);
    /* what inspect and the list show of its ports: those published, else those only exposed */
    json_t *ports = n->ports ? json_incref(n->ports) : ports_settings_json(c->config, NULL, 0);
    json_object_set_new(j, "Ports", ports);
    if (n->un) {
        json_t *aliases = json_object_get(c->net_request, "Aliases");
        if (json_array_size(aliases))
            json_object_set(j, "Aliases", aliases);
    }
    json_decref(c->net);
    c->net = j;
    for (struct ctrnet *x = n->extra; x; x = x->extra)
        ctrnet_record_extra(c, x);
}

/* "container:X" names c, by ID (ns_settle's form) or name. */
static bool joins(struct exec_env *env, const struct container *other, const struct container *c)
{
    const char *mode = json_get_str(other->host_config, "NetworkMode");
    if (!mode || strncmp(mode, "container:", 10) != 0)
        return false;
    struct container *x = NULL;
    return ctr_lookup(env->cs, mode + 10, &x, NULL) == 0 && x == c;
}

bool ctrnet_shared(struct exec_env *env, const struct container *c)
{
    struct container *o;
    for (size_t i = 0; (o = ctr_next(env->cs, &i));)
        if (o != c && o->run && joins(env, o, c))
            return true;
    return false;
}

void ctrnet_unplumb(struct ctrnet *n, const char *ctr_id, bool shared)
{
    for (; n; n = n->extra)
        netbr_endpoint_unplumb(n->br, &n->ep, ctr_id, shared);
}

/* What only a running endpoint has goes; NetworkID stays, as dockerd's cleanOperationalData. */
static void clear_operational(struct container *c)
{
    if (!c->net)
        return;
    const char *id = json_get_str(c->net, "NetworkID");
    json_t *kept = json_pack("{ss}", "NetworkID", id ? id : "");
    json_decref(c->net);
    c->net = kept;
}

void ctrnet_release(struct exec_env *env, struct ctrnet *n, struct container *c)
{
    (void)env;
    if (c)
        clear_operational(c);
    if (!n)
        return;
    while (n->extra) { /* networks connected while it ran: their netns went with it */
        struct ctrnet *x = n->extra;
        n->extra = x->extra;
        x->extra = NULL;
        ctrnet_release(env, x, NULL);
    }
    dns_stop(n);
    netbr_endpoint_release(n->br, &n->ep);
    ctrnet_spawned(n);
    json_decref(n->ports);
    json_decref(n->aliases);
    free(n);
}

void ctrnet_recover(struct exec_env *env)
{
    struct container *c;
    for (size_t i = 0; (c = ctr_next(env->cs, &i));) {
        struct netbr_endpoint ep;
        if (!c->net || !netbr_endpoint_from_json(c->net, &ep) || !ep.addr.family)
            continue;
        bool runs = c->state.status == CTR_RUNNING || c->state.status == CTR_PAUSED;
        _cleanup_err_ struct berth_err *err = NULL;
        if (runs && env->bridge && netbr_endpoint_restore(env->bridge, &ep, &err) == 0)
            continue; /* it still runs (it outlived the last berthd): its address is taken */
        if (runs)
            log_warn("container %.12s: its bridge address is lost: %s", c->id,
                     err ? err->msg : "no bridge");
        clear_operational(c);
        ctr_save(c, NULL, NULL); /* its record on disk holds no address either */
    }
}
