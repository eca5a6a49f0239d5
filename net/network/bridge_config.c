/* net/network/bridge_config.c — daemon.json's keys for the default bridge, read with dockerd's
 * defaults and refused with its words (daemon/daemon_unix.go verifyDaemonSettings,
 * config.Validate), so a bad file stops berthd at start-up rather than at the first run. */
#include "net/network/bridge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/xalloc.h"

static int type_error(const char *key, struct berth_err **err)
{
    return berth_user_error(err, EINVAL, "invalid type for configuration key `%s`", key);
}

static int get_str(const json_t *file, const char *key, char **out, struct berth_err **err)
{
    json_t *v = json_object_get(file, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return type_error(key, err);
    if (*json_string_value(v))
        *out = xstrdup(json_string_value(v));
    return 0;
}

static int get_bool(const json_t *file, const char *key, bool dflt, bool *out,
                    struct berth_err **err)
{
    json_t *v = json_object_get(file, key);
    *out = dflt;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return type_error(key, err);
    *out = json_is_true(v);
    return 0;
}

static int get_mtu(const json_t *file, unsigned *out, struct berth_err **err)
{
    json_t *v = json_object_get(file, "mtu");
    *out = NETBR_DEFAULT_MTU;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return type_error("mtu", err);
    json_int_t mtu = json_integer_value(v);
    if (mtu < 0 || mtu > 65535)
        return berth_user_error(err, EINVAL, "invalid default MTU: %lld", (long long)mtu);
    if (mtu > 0)
        *out = (unsigned)mtu;
    return 0;
}

static int read_keys(const json_t *file, struct netbr_config *c, struct berth_err **err)
{
    int r;
    char *bridge = NULL;
    if ((r = get_str(file, "bridge", &bridge, err)) < 0)
        return r;
    c->disabled = bridge && strcmp(bridge, "none") == 0;
    c->user_bridge = bridge && !c->disabled;
    c->name = c->user_bridge ? take_ptr(bridge) : xstrdup(NETBR_DEFAULT_NAME);
    free(bridge);
    if (strlen(c->name) >= IFNAMSIZ)
        return berth_user_error(err, EINVAL, "bridge name %s: longer than %d characters", c->name,
                                IFNAMSIZ - 1);
    if ((r = get_str(file, "bip", &c->bip, err)) < 0 ||
        (r = get_str(file, "fixed-cidr", &c->fixed_cidr, err)) < 0 ||
        (r = get_str(file, "default-gateway", &c->default_gw, err)) < 0 ||
        (r = get_str(file, "ip", &c->host_ip, err)) < 0 || (r = get_mtu(file, &c->mtu, err)) < 0)
        return r;
    if ((r = get_bool(file, "ip-forward", true, &c->ip_forward, err)) < 0 ||
        (r = get_bool(file, "icc", true, &c->icc, err)) < 0 ||
        (r = get_bool(file, "iptables", true, &c->iptables, err)) < 0 ||
        (r = get_bool(file, "ip-masq", true, &c->ip_masq, err)) < 0)
        return r;
    /* IPv6 on the default bridge is not there yet: refused rather than ignored */
    json_t *v6 = json_object_get(file, "ipv6");
    if (json_is_true(v6))
        return berth_user_error(err, EINVAL,
                                "ipv6 (IPv6 on the default bridge) is not supported yet");
    static const char *const v6_keys[] = {"fixed-cidr-v6", "default-gateway-v6"};
    for (size_t i = 0; i < 2; i++) {
        const char *val = json_string_value(json_object_get(file, v6_keys[i]));
        if (val && *val)
            return berth_user_error(err, EINVAL, "%s is not supported yet", v6_keys[i]);
    }
    json_t *pools = json_object_get(file, "default-address-pools");
    if (pools && !json_is_null(pools) &&
        (r = ipam_pools_parse(pools, &c->pools, &c->npools, err)) < 0)
        return r;
    return 0;
}

/* dockerd's verifyDaemonSettings, then bip and fixed-cidr parsed as the bridge will. */
static int check(struct netbr_config *c, struct berth_err **err)
{
    if ((c->user_bridge || c->disabled) && c->bip) /* dockerd: any -b, "none" too */
        return berth_user_error(err, EINVAL,
                                "You specified -b & --bip, mutually exclusive options. Please "
                                "specify only one");
    if (!c->icc && !c->iptables)
        return berth_user_error(err, EINVAL,
                                "You specified --iptables=false with --icc=false. ICC=false uses "
                                "iptables to function. Please set --icc or --iptables to true");
    if (!c->iptables)
        c->ip_masq = false; /* as dockerd: masquerading is an iptables rule */
    struct ipam_conf conf = {0};
    struct ipam_bridge_opts o = {.family = 4,
                                 .bip = c->bip,
                                 .fixed_cidr = c->fixed_cidr,
                                 .default_gw = c->default_gw,
                                 .user_managed = c->user_bridge};
    int r = ipam_bridge_conf(&o, &conf, err);
    ipam_conf_clear(&conf);
    return r;
}

int netbr_config_parse(const json_t *file, struct netbr_config *out, struct berth_err **err)
{
    *out = (struct netbr_config){0};
    int r = read_keys(file, out, err);
    if (r == 0)
        r = check(out, err);
    if (r < 0)
        netbr_config_free(out);
    return r;
}

void netbr_config_free(struct netbr_config *c)
{
    free(c->name);
    free(c->bip);
    free(c->fixed_cidr);
    ipam_aux_free(c->aux, c->n_aux);
    free(c->default_gw);
    free(c->host_ip);
    free(c->net_name);
    free(c->parent);
    free(c->taken);
    free(c->pools);
    *c = (struct netbr_config){0};
}

size_t netbr_config_reserved(const struct netbr_config *c, struct ipam_prefix **reserved, size_t n)
{
    if (!c->ntaken)
        return n;
    *reserved = xrealloc(*reserved, (n + c->ntaken) * sizeof(**reserved));
    memcpy(*reserved + n, c->taken, c->ntaken * sizeof(**reserved));
    return n + c->ntaken;
}
