/* handlers/networks.c — the network API group for the networks every dockerd has: bridge (the
 * default bridge, unless daemon.json says "bridge": "none"), host and none, listed and
 * inspected in dockerd's shapes. User-defined networks do not exist yet: creating, connecting
 * and disconnecting are refused by name, and removing a predefined network is refused with
 * dockerd's words. */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/digest.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "exec/ctrnet.h"
#include "exec/effective.h"
#include "handlers/api.h"
#include "handlers/daemon.h"
#include "handlers/events.h"
#include "handlers/filters.h"
#include "handlers/handlers.h"
#include "net/network/bridge.h"
#include "net/network/usernet.h"

/* One of the predefined networks. */
struct net_view {
    const char *name, *driver;
    char id[DIGEST_HEX_LEN + 1];
    const char *created;
    const struct netbr *br;   /* bridge and user networks */
    const struct usernet *un; /* user networks */
};

/* host's and none's IDs are the engine's own and never change (dockerd keeps them in its
 * store); the bridge's is new at each start, as dockerd makes its bridge network again. */
static void stable_id(const struct daemon *d, const char *name, char out[DIGEST_HEX_LEN + 1])
{
    char digest[DIGEST_LEN + 1];
    _cleanup_free_ char *seed = xasprintf("berth network %s %s", d->id, name);
    digest_buf(seed, strlen(seed), digest);
    memcpy(out, digest_hex(digest), DIGEST_HEX_LEN + 1);
}

#define NVIEWS(d) (3 + ((d)->exec.nets ? (d)->exec.nets->n : 0))

/* The networks in dockerd's list order (bridge, host, none, then user networks); returns how
 * many (out has NVIEWS(d) entries). */
static size_t views(const struct daemon *d, struct net_view *out)
{
    size_t n = 0;
    const struct netbr *br = d->exec.bridge;
    if (br) {
        out[n] = (struct net_view){
            .name = "bridge", .driver = "bridge", .created = br->created, .br = br};
        memcpy(out[n++].id, br->id, sizeof(br->id));
    }
    static const char *const names[] = {"host", "none"}, *const drivers[] = {"host", "null"};
    for (size_t i = 0; i < 2; i++) {
        out[n] = (struct net_view){.name = names[i], .driver = drivers[i], .created = d->started};
        stable_id(d, names[i], out[n++].id);
    }
    for (size_t i = 0; d->exec.nets && i < d->exec.nets->n; i++) {
        const struct usernet *un = d->exec.nets->v[i];
        out[n] = (struct net_view){
            .name = un->name, .driver = un->driver, .created = un->created, .br = un->br, .un = un};
        memcpy(out[n++].id, un->id, sizeof(un->id));
    }
    return n;
}

/* dockerd's lookup: full ID, then full name, then a unique ID prefix. */
static const struct net_view *find(const struct net_view *v, size_t n, const char *term)
{
    const struct net_view *prefix = NULL;
    size_t hits = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].id, term))
            return &v[i];
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].name, term))
            return &v[i];
    for (size_t i = 0; *term && i < n; i++)
        if (!strncmp(v[i].id, term, strlen(term)))
            prefix = &v[i], hits++;
    return hits == 1 ? prefix : NULL;
}

static json_t *user_ipam_json(const struct usernet *un)
{
    json_t *conf = json_object();
    if (un->subnet)
        json_object_set_new(conf, "Subnet", json_string(un->subnet));
    if (un->ip_range)
        json_object_set_new(conf, "IPRange", json_string(un->ip_range));
    if (un->gateway)
        json_object_set_new(conf, "Gateway", json_string(un->gateway));
    if (un->n_aux)
        json_object_set_new(conf, "AuxiliaryAddresses", usernet_aux_json(un));
    return json_pack("{ss so s[o]}", "Driver", "default", "Options", json_object(), "Config", conf);
}

static json_t *ipam_json(const struct net_view *v)
{
    if (v->un)
        return user_ipam_json(v->un);
    if (!v->br) /* no IPAM for host and none: null, as dockerd 25+ (older ones said []) */
        return json_pack("{ss s:n s:n}", "Driver", "default", "Options", "Config");
    char sn[IPAM_PREFIX_STRLEN], gw[IPAM_ADDR_STRLEN], range[IPAM_PREFIX_STRLEN];
    json_t *conf = json_pack("{ss ss}", "Subnet", netbr_subnet_str(v->br, sn), "Gateway",
                             netbr_gateway_str(v->br, gw));
    if (v->br->range.addr.family)
        json_object_set_new(conf, "IPRange", json_string(ipam_prefix_fmt(&v->br->range, range)));
    if (!ipam_addr_eq(&v->br->route_via, &v->br->gateway))
        json_object_set_new(
            conf, "AuxiliaryAddresses",
            json_pack("{ss}", "DefaultGatewayIPv4", ipam_addr_fmt(&v->br->route_via, gw)));
    return json_pack("{ss s:n s[o]}", "Driver", "default", "Options", "Config", conf);
}

/* The default bridge's driver options, as dockerd shows them. */
static json_t *options_json(const struct net_view *v)
{
    if (v->un)
        return json_deep_copy(v->un->options);
    if (!v->br)
        return json_object();
    const struct netbr_config *c = &v->br->cfg;
    _cleanup_free_ char *mtu = xasprintf("%u", v->br->mtu);
    return json_pack("{ss ss ss ss ss ss}", "com.docker.network.bridge.default_bridge", "true",
                     "com.docker.network.bridge.enable_icc", c->icc ? "true" : "false",
                     "com.docker.network.bridge.enable_ip_masquerade",
                     c->ip_masq ? "true" : "false", "com.docker.network.bridge.host_binding_ipv4",
                     c->host_ip ? c->host_ip : "0.0.0.0", "com.docker.network.bridge.name", c->name,
                     "com.docker.network.driver.mtu", mtu);
}

/* dockerd's network Summary (the list's entries: no Containers). */
static json_t *summary_json(const struct net_view *v)
{
    return json_pack("{ss ss ss ss ss sb sb so sb sb sb s{ss} sb so so}", "Name", v->name, "Id",
                     v->id, "Created", v->created, "Scope", "local", "Driver", v->driver,
                     "EnableIPv4", v->br != NULL || v->un || strcmp(v->name, "host") == 0,
                     "EnableIPv6", false, "IPAM", ipam_json(v), "Internal",
                     v->un && v->un->internal, "Attachable", v->un && v->un->attachable, "Ingress",
                     false, "ConfigFrom", "Network", "", "ConfigOnly", false, "Options",
                     options_json(v), "Labels",
                     v->un ? json_deep_copy(v->un->labels) : json_object());
}

/* Its running containers, by ID: name, endpoint and addresses (only the bridge's have any). */
static json_t *containers_json(struct daemon *d, const struct net_view *v)
{
    json_t *out = json_object();
    struct container *c;
    for (size_t i = 0; (c = ctr_next(d->cs, &i));) {
        if (!c->run || !ctrnet_on_network(c, v->un ? v->un->name : v->name))
            continue;
        const json_t *ep = c->net;
        if (v->un && strcmp(ctr_network_mode(c), v->un->name) != 0) /* connected later */
            ep = json_object_get(json_object_get(c->net, "Extra"), v->un->name);
        const char *ip = v->br ? json_get_str(ep, "IPAddress") : NULL;
        _cleanup_free_ char *cidr =
            ip && *ip ? xasprintf("%s/%d", ip, (int)json_get_int(ep, "IPPrefixLen", 0))
                      : xstrdup("");
        json_object_set_new(out, c->id,
                            json_pack("{ss ss ss ss ss}", "Name", c->name, "EndpointID",
                                      v->br ? json_get_str(ep, "EndpointID") ?: "" : "",
                                      "MacAddress",
                                      v->br ? json_get_str(ep, "MacAddress") ?: "" : "",
                                      "IPv4Address", cidr, "IPv6Address", ""));
    }
    return out;
}

/* ---- list ---- */

/* moby's Args.Match: the exact value, or a regular expression found in s. */
static bool matches(const char *want, const char *s)
{
    regex_t re;
    if (strcmp(want, s) == 0)
        return true;
    if (regcomp(&re, want, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool hit = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return hit;
}

static bool any(const json_t *f, const char *key, const char *s, bool exact)
{
    json_t *vals = filters_values(f, key), *v;
    size_t i;
    if (!json_array_size(vals))
        return true;
    json_array_foreach(vals, i, v)
    {
        const char *want = json_string_value(v);
        if (exact ? !strcmp(want, s) : matches(want, s))
            return true;
    }
    return false;
}

/* dockerd's network filters for the predefined networks: no labels, all builtin and in use
 * (dangling=true finds none of them), scope local. */
static int check_filters(const json_t *f, bool *dangling_only, struct berth_err **err)
{
    json_t *vals = filters_values(f, "dangling"), *v;
    size_t i;
    *dangling_only = false;
    if (json_array_size(vals) > 1)
        return berth_user_error(err, EINVAL, "got more than one value for filter key \"dangling\"");
    if (json_array_size(vals) == 1) {
        const char *s = json_string_value(json_array_get(vals, 0));
        if (!strcmp(s, "1") || !strcmp(s, "true"))
            *dangling_only = true;
        else if (strcmp(s, "0") && strcmp(s, "false"))
            return berth_user_error(err, EINVAL,
                                    "invalid value for filter 'dangling', must be \"true\" (or "
                                    "\"1\"), or \"false\" (or \"0\")");
    }
    json_array_foreach(filters_values(f, "type"), i, v)
    {
        const char *t = json_string_value(v);
        if (strcmp(t, "builtin") && strcmp(t, "custom"))
            return berth_user_error(err, EINVAL, "invalid filter: 'type'='%s'", t);
    }
    return 0;
}

/* Whether a running container is on it (dockerd's "in use": an endpoint). */
static bool in_use(struct daemon *d, const struct net_view *v)
{
    struct container *c;
    for (size_t i = 0; (c = ctr_next(d->cs, &i));)
        if (c->run && v->un && ctrnet_on_network(c, v->un->name))
            return true;
    return false;
}

/* label=KEY or label=KEY=VALUE: all of them (moby's MatchKVList). */
static bool labels_match(const json_t *f, const json_t *labels)
{
    json_t *vals = filters_values(f, "label"), *v;
    size_t i;
    json_array_foreach(vals, i, v)
    {
        const char *want = json_string_value(v), *eq = strchr(want, '=');
        _cleanup_free_ char *key = eq ? xstrndup(want, (size_t)(eq - want)) : xstrdup(want);
        const char *have = json_get_str(labels, key);
        if (!have || (eq && strcmp(have, eq + 1) != 0))
            return false;
    }
    return true;
}

static bool listed(struct daemon *d, const json_t *f, const struct net_view *v, bool dangling_only)
{
    const char *type = v->un ? "custom" : "builtin";
    bool type_ok = !filters_has(f, "type");
    json_t *t;
    size_t i;
    json_array_foreach(filters_values(f, "type"), i, t) type_ok =
        type_ok || !strcmp(json_string_value(t), type);
    if (dangling_only && (!v->un || in_use(d, v)))
        return false;
    return any(f, "driver", v->driver, true) && any(f, "name", v->name, false) &&
           any(f, "id", v->id, false) && labels_match(f, v->un ? v->un->labels : NULL) &&
           any(f, "scope", "local", true) && type_ok;
}

void networks_list(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_json_ json_t *f = NULL;
    bool dangling_only;
    if (filters_parse(a->msg, FILTERS_NETWORK_LIST, &f, &err) < 0 ||
        check_filters(f, &dangling_only, &err) < 0)
        return api_reply_error(a, err);
    _cleanup_free_ struct net_view *v = xcalloc(NVIEWS(a->d), sizeof(*v));
    size_t n = views(a->d, v);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        if (listed(a->d, f, &v[i], dangling_only))
            json_array_append_new(out, summary_json(&v[i]));
    api_reply_json(a, 200, out);
}

/* ---- inspect, and what is refused ---- */

static const struct net_view *lookup(struct api_req *a, struct net_view *v)
{
    size_t n = views(a->d, v);
    const struct net_view *hit = find(v, n, a->params[0]);
    if (!hit)
        api_reply_errorf(a, 404, "network %s not found", a->params[0]);
    return hit;
}

void networks_inspect(struct api_req *a)
{
    _cleanup_free_ struct net_view *v = xcalloc(NVIEWS(a->d), sizeof(*v));
    _cleanup_free_ char *scope = http_query_get(a->msg, "scope");
    if (scope && *scope && strcmp(scope, "local") != 0) /* dockerd: none of that scope */
        return api_reply_errorf(a, 404, "network %s not found", a->params[0]);
    const struct net_view *nv = lookup(a, v);
    if (!nv)
        return;
    json_t *j = summary_json(nv);
    json_object_set_new(j, "Containers", containers_json(a->d, nv));
    api_reply_json(a, 200, j);
}

void usernets_handle_delete(struct api_req *a, struct usernet *n); /* handlers/usernets.c */

void networks_delete(struct api_req *a)
{
    _cleanup_free_ struct net_view *v = xcalloc(NVIEWS(a->d), sizeof(*v));
    const struct net_view *nv = lookup(a, v);
    if (nv && nv->un)
        return usernets_handle_delete(a, (struct usernet *)nv->un);
    if (nv) /* dockerd's words and 403 */
        api_reply_errorf(a, 403, "%s is a pre-defined network and cannot be removed", nv->name);
}

/* ---- connect, disconnect ---- */

struct conn_call {
    struct api_req *a;
    char net_id[65], ctr_id[65];
    bool connect;
    bool running; /* an endpoint joins or leaves now: dockerd's event */
};

static void conn_done(void *ctx, int res, const struct berth_err *err)
{
    struct conn_call *cc = ctx;
    struct daemon *d = cc->a->d;
    if (res < 0) {
        api_reply_error(cc->a, err);
    } else if (!cc->running) {
        api_reply_raw(cc->a, 200, NULL, NULL, 0);
    } else {
        struct usernet *un = usernets_find(d->exec.nets, cc->net_id);
        events_emit(d->events, EVENT_NETWORK, cc->connect ? "connect" : "disconnect", cc->net_id,
                    json_pack("{ss ss ss}", "container", cc->ctr_id, "name", un ? un->name : "",
                              "type", un ? un->driver : "bridge"));
        api_reply_raw(cc->a, 200, NULL, NULL, 0);
    }
    free(cc);
}

/* dockerd's words for a predefined network (bridge, host, none) given to connect or
 * disconnect; 0 when there are none to say (then it is not supported yet). */
static int predefined(const struct net_view *nv, const struct container *c, bool connect,
                      struct berth_err **err)
{
    const char *mode = ctr_network_mode(c);
    if (!strncmp(mode, "container:", 10))
        return berth_user_error(err, EINVAL,
                                "container sharing network namespace with another container or "
                                "host cannot be connected to any other network");
    if (!strcmp(nv->name, "host") || !strcmp(mode, "host"))
        return berth_user_error(err, EINVAL,
                                connect ? "container cannot be disconnected from host network or "
                                          "connected to host network"
                                        : "cannot disconnect container from host network - "
                                          "container was created in host network mode");
    if (connect && (!strcmp(nv->name, "none") || !strcmp(mode, "none")))
        return berth_user_error(err, EINVAL,
                                "container cannot be connected to multiple networks with one of "
                                "the networks in private (none) mode");
    if (connect && !strcmp(nv->name, mode) && c->run)
        return berth_user_error(err, EACCES, "endpoint with name %s already exists in network %s",
                                c->name, nv->name);
    if (connect && !strcmp(nv->name, mode))
        return 1; /* stopped, already on it: nothing new, as dockerd */
    if (!connect && strcmp(nv->name, mode))
        return berth_error(err, EINVAL, "container %s is not connected to network %s", c->id,
                           nv->name);
    return 0;
}

static void connect_or_disconnect(struct api_req *a, bool connect)
{
    _cleanup_free_ struct net_view *v = xcalloc(NVIEWS(a->d), sizeof(*v));
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_json_ json_t *body = NULL;
    const struct net_view *nv = lookup(a, v);
    if (!nv)
        return;
    if (json_parse_body(a->msg->body.data, a->msg->body.len, true, &body, &err) < 0)
        return api_reply_error(a, err);
    const char *who = json_get_str(body, "Container");
    struct container *c = NULL;
    if (who && !connect && json_is_true(json_object_get(body, "Force")) &&
        ctr_lookup(a->d->cs, who, &c, NULL) < 0) /* dockerd's ForceEndpointDelete: no endpoint
                                                    outlives its container in berth */
        return api_reply_errorf(a, 404, "endpoint %s not found", who);
    if (!who || ctr_lookup(a->d->cs, who, &c, &err) < 0)
        return err ? api_reply_error(a, err) : api_reply_errorf(a, 400, "container is required");
    if (!nv->un) {
        int p = predefined(nv, c, connect, &err);
        if (p < 0)
            return api_reply_error(a, err);
        if (p > 0)
            return api_reply_raw(a, 200, NULL, NULL, 0);
        return api_reply_errorf(a, 400,
                                "network %s %s the predefined network %s is not "
                                "supported yet",
                                connect ? "connect" : "disconnect", connect ? "to" : "from",
                                nv->name);
    }
    struct conn_call *cc = xcalloc(1, sizeof(*cc));
    cc->a = a;
    cc->connect = connect;
    cc->running = c->run != NULL;
    memcpy(cc->net_id, nv->id, sizeof(cc->net_id));
    memcpy(cc->ctr_id, c->id, sizeof(cc->ctr_id));
    struct usernet *un = (struct usernet *)nv->un;
    api_async(a); /* before: a stopped container's answer may come at once (its record saved) */
    int r = connect ? ctrnet_connect(&a->d->exec, c, un, json_object_get(body, "EndpointConfig"),
                                     conn_done, cc, &err)
                    : ctrnet_disconnect(&a->d->exec, c, un, conn_done, cc, &err);
    if (r < 0) {
        free(cc);
        api_reply_error(a, err);
    }
}

void networks_connect(struct api_req *a)
{
    connect_or_disconnect(a, true);
}

void networks_disconnect(struct api_req *a)
{
    connect_or_disconnect(a, false);
}
