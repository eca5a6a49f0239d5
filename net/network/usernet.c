/* net/network/usernet.c — user-defined bridge networks: a create request checked as dockerd
 * checks it, the network's bridge (a struct netbr of its own), its record, and the list. */
#include "net/network/usernet.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/crashpoint.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "fs/atomic.h"
#include "net/network/dns_names.h"
#include "net/network/lowernet.h"

#define OPT_NAME "com.docker.network.bridge.name"
#define OPT_ICC  "com.docker.network.bridge.enable_icc"
#define OPT_MASQ "com.docker.network.bridge.enable_ip_masquerade"
#define OPT_MTU  "com.docker.network.driver.mtu"

void usernet_free(struct usernet *n)
{
    if (!n)
        return;
    netbr_close(n->br);
    netbr_config_free(&n->cfg);
    dns_names_free(n->dns);
    json_decref(n->labels);
    json_decref(n->options);
    free(n->name);
    free(n->driver);
    free(n->created);
    free(n->subnet);
    free(n->gateway);
    free(n->ip_range);
    ipam_aux_free(n->aux, n->n_aux);
    free(n);
}

static void new_id(char out[65])
{
    uint8_t raw[32];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        for (size_t i = 0; i < sizeof(raw); i++)
            raw[i] = (uint8_t)rand();
    for (size_t i = 0; i < sizeof(raw); i++)
        sprintf(out + 2 * i, "%02x", raw[i]);
}

/* dockerd's bridge driver reads its booleans with strconv.ParseBool. */
static int opt_bool(const json_t *opts, const char *key, bool dflt, bool *out,
                    struct berth_err **err)
{
    const char *s = json_get_str(opts, key);
    *out = dflt;
    if (!s)
        return 0;
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True", NULL};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False", NULL};
    for (size_t i = 0; yes[i]; i++)
        if (!strcmp(s, yes[i]))
            return (*out = true), 0;
    for (size_t i = 0; no[i]; i++)
        if (!strcmp(s, no[i]))
            return (*out = false), 0;
    return berth_user_error(err, EINVAL, "failed to parse %s value: %s", key, s);
}

static enum netbr_driver driver_of(const char *d)
{
    return !strcmp(d, "macvlan")  ? NETBR_MACVLAN
           : !strcmp(d, "ipvlan") ? NETBR_IPVLAN
                                  : NETBR_BRIDGE;
}

/* -o com.docker.network.driver.mtu (unset: 0, the default). */
static int opt_mtu(const json_t *opts, unsigned *out, struct berth_err **err)
{
    const char *mtu = json_get_str(opts, OPT_MTU);
    if (!mtu)
        return 0;
    char *end;
    long v = strtol(mtu, &end, 10);
    if (!*mtu || *end || v < 68 || v > 65535)
        return berth_user_error(err, EINVAL, "invalid MTU number: %s", mtu);
    *out = (unsigned)v;
    return 0;
}

/* A macvlan or ipvlan network's: its subnet, range and gateway as given (lowernet.h), options. */
static int settle_lower(struct usernet *n, struct berth_err **err)
{
    struct netbr_config *c = &n->cfg;
    c->driver = driver_of(n->driver);
    c->net_name = xstrdup(n->name);
    c->name = xstrdup("");
    c->user_net = true;
    c->internal = n->internal;
    c->made_parent = n->made_parent;
    c->bip = n->subnet ? xstrdup(n->subnet) : NULL;
    c->default_gw = n->gateway ? xstrdup(n->gateway) : NULL;
    c->fixed_cidr = n->ip_range ? xstrdup(n->ip_range) : NULL;
    ipam_aux_append(&c->aux, &c->n_aux, n->aux, n->n_aux);
    int r = opt_mtu(n->options, &c->mtu, err);
    return r < 0 ? r : lowernet_config(n->options, n->id, c, err);
}

/* The bridge's settings from the record's fields (the same at create and at each start). */
static int settle_config(struct usernet *n, struct berth_err **err)
{
    struct netbr_config *c = &n->cfg;
    netbr_config_free(c);
    if (driver_of(n->driver) != NETBR_BRIDGE)
        return settle_lower(n, err);
    const char *brname = json_get_str(n->options, OPT_NAME);
    c->name = brname && *brname ? xstrdup(brname) : xasprintf("br-%.12s", n->id);
    c->net_name = xstrdup(n->name);
    c->user_net = true;
    c->internal = n->internal;
    c->iptables = true;
    int r;
    if ((r = opt_bool(n->options, OPT_ICC, true, &c->icc, err)) < 0 ||
        (r = opt_bool(n->options, OPT_MASQ, true, &c->ip_masq, err)) < 0 ||
        (r = opt_mtu(n->options, &c->mtu, err)) < 0)
        return r;
    if (n->subnet) {
        struct ipam_prefix p;
        if (!ipam_prefix_parse(n->subnet, &p))
            return berth_user_error(err, EINVAL, "invalid subnet %s", n->subnet);
        char gw[IPAM_ADDR_STRLEN];
        struct ipam_addr g = p.addr;
        if (n->gateway) {
            if (!ipam_addr_parse(n->gateway, &g))
                return berth_user_error(err, EINVAL, "invalid gateway %s", n->gateway);
        } else {
            g = ipam_prefix_first(&(struct ipam_prefix){ipam_prefix_masked(p).addr, p.bits});
            g.v += 1;
        }
        c->bip = xasprintf("%s/%u", ipam_addr_fmt(&g, gw), p.bits);
    }
    c->fixed_cidr = n->ip_range ? xstrdup(n->ip_range) : NULL;
    ipam_aux_append(&c->aux, &c->n_aux, n->aux, n->n_aux);
    return 0;
}

static bool predefined(const char *name)
{
    return !strcmp(name, "bridge") || !strcmp(name, "host") || !strcmp(name, "none");
}

/* IPAM.Config: one IPv4 entry at most (Subnet, IPRange, Gateway), checked by ipam_conf_parse. */
static int parse_ipam(const json_t *req, struct usernet *n, struct berth_err **err)
{
    const json_t *ipam = json_object_get(req, "IPAM");
    const char *drv = json_get_str(ipam, "Driver");
    if (drv && *drv && strcmp(drv, "default") != 0)
        return berth_user_error(err, EINVAL, "IPAM driver %s is not supported yet", drv);
    struct ipam_conf *v4 = NULL, *v6 = NULL;
    size_t n4 = 0, n6 = 0;
    int r = ipam_conf_parse(json_object_get(ipam, "Config"), false, &v4, &n4, &v6, &n6, err);
    if (r < 0)
        return r;
    if (n4 > 1 || n6)
        r = berth_user_error(err, EINVAL, "more than one IPAM config entry is not supported yet");
    else if (n4 && !v4[0].subnet.addr.family)
        r = berth_user_error(err, EINVAL,
                             "an IPAM config entry without a subnet is not "
                             "supported yet");
    char buf[IPAM_PREFIX_STRLEN];
    if (r == 0 && n4) {
        n->subnet = xstrdup(ipam_prefix_fmt(&v4[0].subnet, buf));
        if (v4[0].gateway.family)
            n->gateway = xstrdup(ipam_addr_fmt(&v4[0].gateway, buf));
        if (v4[0].range.addr.family)
            n->ip_range = xstrdup(ipam_prefix_fmt(&v4[0].range, buf));
        ipam_aux_append(&n->aux, &n->n_aux, v4[0].aux, v4[0].n_aux);
    }
    ipam_confs_free(v4, n4);
    ipam_confs_free(v6, n6);
    return r;
}

static bool overlaps(const struct usernet *n, const struct usernets *all,
                     const struct ipam_prefix *dflt)
{
    struct ipam_prefix p, q;
    if (!n->subnet || !ipam_prefix_parse(n->subnet, &p))
        return false;
    p = ipam_prefix_masked(p);
    if (dflt && ipam_prefix_overlaps(&p, dflt))
        return true;
    for (size_t i = 0; i < all->n; i++)
        if (all->v[i]->subnet && ipam_prefix_parse(all->v[i]->subnet, &q) &&
            ipam_prefix_overlaps(&p, &q))
            return true;
    return false;
}

/* A subnet to be picked avoids every other network's (see netbr_config's taken). */
static void taken(struct usernet *n, const struct usernets *all, const struct ipam_prefix *dflt)
{
    struct netbr_config *c = &n->cfg;
    c->taken = xcalloc(all->n + 1, sizeof(*c->taken));
    if (dflt)
        c->taken[c->ntaken++] = *dflt;
    for (size_t i = 0; i < all->n; i++)
        if (all->v[i]->subnet && ipam_prefix_parse(all->v[i]->subnet, &c->taken[c->ntaken]))
            c->taken[c->ntaken] = ipam_prefix_masked(c->taken[c->ntaken]), c->ntaken++;
}

/* By exact name only, as dockerd: a name that is also the prefix of another network's ID ("a",
 * "c1") is free (usernets_find would take it for that ID: 1 create in 16 refused at random). */
static bool name_taken(const struct usernets *all, const char *name)
{
    for (size_t i = 0; i < all->n; i++)
        if (!strcmp(all->v[i]->name, name))
            return true;
    return false;
}

static int check_request(const json_t *req, const struct usernets *all,
                         const struct ipam_prefix *dflt, struct usernet *n, struct berth_err **err)
{
    const char *name = json_get_str(req, "Name"), *driver = json_get_str(req, "Driver");
    if (!name || !*name)
        return berth_user_error(err, EINVAL, "invalid name: name is empty");
    if (predefined(name) || name_taken(all, name))
        return berth_user_error(err, EEXIST, "network with name %s already exists", name);
    if (driver && *driver && strcmp(driver, "bridge") != 0 && strcmp(driver, "macvlan") != 0 &&
        strcmp(driver, "ipvlan") != 0)
        return berth_user_error(err, EINVAL, "network driver %s is not supported yet", driver);
    n->driver = xstrdup(driver && *driver ? driver : "bridge");
    if (json_get_bool(req, "EnableIPv6", false))
        return berth_user_error(err, EINVAL, "IPv6 networks are not supported yet");
    if (json_get_bool(req, "Ingress", false) || json_get_bool(req, "ConfigOnly", false) ||
        json_object_get(json_object_get(req, "ConfigFrom"), "Network"))
        return berth_user_error(err, EINVAL,
                                "ingress and config-only networks are not supported yet");
    n->name = xstrdup(name);
    n->internal = json_get_bool(req, "Internal", false);
    n->attachable = json_get_bool(req, "Attachable", false);
    json_t *labels = json_object_get(req, "Labels"), *opts = json_object_get(req, "Options");
    n->labels = json_is_object(labels) ? json_deep_copy(labels) : json_object();
    n->options = json_is_object(opts) ? json_deep_copy(opts) : json_object();
    int r = parse_ipam(req, n, err);
    if (r < 0)
        return r;
    if (overlaps(n, all, dflt))
        return berth_user_error(err, EACCES,
                                "invalid pool request: Pool overlaps with other one on this "
                                "address space");
    if ((r = settle_config(n, err)) < 0)
        return r;
    if (!n->subnet)
        taken(n, all, dflt);
    for (size_t i = 0; n->cfg.driver != NETBR_BRIDGE && i < all->n; i++) {
        const struct usernet *o = all->v[i];
        if ((r = lowernet_conflict(&n->cfg, &o->cfg, o->id, err)) < 0)
            return r;
        /* a parent berth made for another network goes with the last one on it (dockerd) */
        if (o->made_parent && o->cfg.parent && !strcmp(o->cfg.parent, n->cfg.parent))
            n->made_parent = n->cfg.made_parent = true;
    }
    return 0;
}

int usernet_parse(const json_t *req, const struct usernets *all, const struct ipam_prefix *dflt,
                  struct usernet **out, struct berth_err **err)
{
    struct usernet *n = xcalloc(1, sizeof(*n));
    new_id(n->id);
    n->created = time_format_rfc3339(time_now_ns());
    int r = check_request(req, all, dflt, n, err);
    if (r < 0) {
        usernet_free(n);
        return r;
    }
    n->dns = dns_names_new(n->name);
    *out = n;
    return 0;
}

json_t *usernet_aux_json(const struct usernet *n)
{
    json_t *j = json_object();
    char a[IPAM_ADDR_STRLEN];
    for (size_t i = 0; i < n->n_aux; i++)
        json_object_set_new(j, n->aux[i].name, json_string(ipam_addr_fmt(&n->aux[i].addr, a)));
    return j;
}

static json_t *record_json(const struct usernet *n)
{
    json_t *j = json_pack("{ss ss ss ss sb sb sO sO}", "Id", n->id, "Name", n->name, "Driver",
                          n->driver, "Created", n->created, "Internal", n->internal, "Attachable",
                          n->attachable, "Labels", n->labels, "Options", n->options);
    if (n->made_parent)
        json_object_set_new(j, "CreatedSlaveLink", json_true());
    if (n->subnet)
        json_object_set_new(j, "Subnet", json_string(n->subnet));
    if (n->gateway)
        json_object_set_new(j, "Gateway", json_string(n->gateway));
    if (n->ip_range)
        json_object_set_new(j, "IPRange", json_string(n->ip_range));
    if (n->n_aux)
        json_object_set_new(j, "AuxiliaryAddresses", usernet_aux_json(n));
    return j;
}

static int save(const struct usernet *n, const char *dir, struct berth_err **err)
{
    _cleanup_json_ json_t *j = record_json(n);
    _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
    _cleanup_free_ char *path = xasprintf("%s/%s.json", dir, n->id);
    return fs_write_atomic(path, text, strlen(text), 0600, err);
}

/* A picked subnet and gateway are kept, so the network has them again at the next start. */
static void settled(struct usernet *n)
{
    char buf[IPAM_PREFIX_STRLEN];
    if (!n->subnet)
        n->subnet = xstrdup(netbr_subnet_str(n->br, buf));
    if (!n->gateway && n->br->gateway.family) /* macvlan and ipvlan get none unless asked */
        n->gateway = xstrdup(netbr_gateway_str(n->br, buf));
    n->made_parent = n->made_parent || n->br->cfg.made_parent;
}

int usernet_open(struct usernet *n, const char *dir, struct berth_err **err)
{
    int r = netbr_open(&n->cfg, &n->br, err);
    if (r < 0)
        return r;
    settled(n);
    if ((r = settle_config(n, err)) < 0 || (r = save(n, dir, err)) < 0) {
        netbr_destroy(take_ptr(n->br));
        return r;
    }
    return 0;
}

/* The record goes last: a crash in between leaves a network that is made again at the next
 * start and can be removed again, not a bridge and an nft element no record names (which no
 * start-up would remove with "bridge": "none"). */
void usernet_destroy(struct usernet *n, const char *dir)
{
    _cleanup_free_ char *path = xasprintf("%s/%s.json", dir, n->id);
    netbr_destroy(take_ptr(n->br));
    crashpoint("network-unplumbed");
    if (unlink(path) < 0 && errno != ENOENT)
        log_warn("network %s: remove %s: %m", n->name, path);
}

static struct usernet *from_record(const json_t *j)
{
    const char *id = json_get_str(j, "Id"), *name = json_get_str(j, "Name");
    if (!id || strlen(id) != 64 || !name)
        return NULL;
    struct usernet *n = xcalloc(1, sizeof(*n));
    memcpy(n->id, id, 65);
    n->name = xstrdup(name);
    n->driver = xstrdup(json_get_str(j, "Driver") ?: "bridge");
    n->made_parent = json_get_bool(j, "CreatedSlaveLink", false);
    n->created = xstrdup(json_get_str(j, "Created") ?: "");
    n->internal = json_get_bool(j, "Internal", false);
    n->attachable = json_get_bool(j, "Attachable", false);
    json_t *l = json_object_get(j, "Labels"), *o = json_object_get(j, "Options");
    n->labels = json_is_object(l) ? json_incref(l) : json_object();
    n->options = json_is_object(o) ? json_incref(o) : json_object();
    const char *s;
    if ((s = json_get_str(j, "Subnet")))
        n->subnet = xstrdup(s);
    if ((s = json_get_str(j, "Gateway")))
        n->gateway = xstrdup(s);
    if ((s = json_get_str(j, "IPRange")))
        n->ip_range = xstrdup(s);
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(j, "AuxiliaryAddresses"), key, v)
    {
        struct ipam_aux a = {.name = (char *)key};
        if (json_is_string(v) && ipam_addr_parse(json_string_value(v), &a.addr))
            ipam_aux_append(&n->aux, &n->n_aux, &a, 1);
    }
    n->dns = dns_names_new(n->name);
    return n;
}

static void load_one(struct usernets *all, const char *file)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", all->dir, file);
    json_error_t je;
    _cleanup_json_ json_t *j = json_load_file(path, 0, &je);
    struct usernet *n = j ? from_record(j) : NULL;
    if (!n) {
        log_warn("network record %s: unreadable, skipped", path);
        return;
    }
    usernets_add(all, n);
}

void usernets_open_all(struct usernets *all)
{
    for (size_t i = 0; i < all->n; i++) {
        struct usernet *n = all->v[i];
        _cleanup_err_ struct berth_err *err = NULL;
        if (settle_config(n, &err) < 0 || netbr_open(&n->cfg, &n->br, &err) < 0)
            log_warn("network %s: its bridge could not be set up: %s", n->name, err->msg);
    }
}

void usernets_read(struct usernets *all)
{
    _cleanup_(closedirp) DIR *d = opendir(all->dir);
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len == 69 && !strcmp(e->d_name + 64, ".json"))
            load_one(all, e->d_name);
    }
}

struct usernet *usernets_find(const struct usernets *all, const char *term)
{
    struct usernet *prefix = NULL;
    size_t hits = 0;
    for (size_t i = 0; i < all->n; i++)
        if (!strcmp(all->v[i]->id, term))
            return all->v[i];
    for (size_t i = 0; i < all->n; i++)
        if (!strcmp(all->v[i]->name, term))
            return all->v[i];
    for (size_t i = 0; *term && i < all->n; i++)
        if (!strncmp(all->v[i]->id, term, strlen(term)))
            prefix = all->v[i], hits++;
    return hits == 1 ? prefix : NULL;
}

void usernets_add(struct usernets *all, struct usernet *n)
{
    all->v = xrealloc(all->v, (all->n + 1) * sizeof(*all->v));
    all->v[all->n++] = n;
}

void usernets_remove(struct usernets *all, struct usernet *n)
{
    for (size_t i = 0; n->br && n->cfg.parent && i < all->n; i++)
        if (all->v[i] != n && all->v[i]->cfg.parent &&
            !strcmp(all->v[i]->cfg.parent, n->cfg.parent))
            n->br->cfg.keep_parent = true; /* dockerd's parentHasSingleUser */
    for (size_t i = 0; i < all->n; i++)
        if (all->v[i] == n) {
            memmove(&all->v[i], &all->v[i + 1], (all->n - i - 1) * sizeof(*all->v));
            all->n--;
            return;
        }
}

struct usernets *usernets_new(const char *dir)
{
    struct usernets *all = xcalloc(1, sizeof(*all));
    all->dir = xstrdup(dir);
    return all;
}

void usernets_free(struct usernets *all)
{
    if (!all)
        return;
    for (size_t i = 0; i < all->n; i++)
        usernet_free(all->v[i]);
    free(all->v);
    free(all->dir);
    free(all);
}
