/* net/network/ports.c — published ports: requests parsed and checked as dockerd checks them
 * (go-connections' nat.ParsePort, nat.NewPort, nat.ParsePortRange), results as dockerd shows
 * them in inspect and in the list. */
#include "net/network/ports.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/xalloc.h"

const char *ports_proto_name(uint8_t proto)
{
    return proto == IPPROTO_TCP    ? "tcp"
           : proto == IPPROTO_UDP  ? "udp"
           : proto == IPPROTO_SCTP ? "sctp"
                                   : NULL;
}

uint8_t ports_proto_parse(const char *name)
{
    return !strcmp(name, "tcp")    ? IPPROTO_TCP
           : !strcmp(name, "udp")  ? IPPROTO_UDP
           : !strcmp(name, "sctp") ? IPPROTO_SCTP
                                   : 0;
}

/* Go's strconv.ParseUint(s, 10, 16): digits only, at most 65535. */
static bool parse_u16(const char *s, size_t len, uint16_t *out)
{
    unsigned long v = 0;
    if (len == 0 || len > 5)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > 65535)
        return false;
    *out = (uint16_t)v;
    return true;
}

bool ports_key_parse(const char *key, uint16_t *port, uint8_t *proto)
{
    const char *slash = strchr(key, '/');
    size_t len = slash ? (size_t)(slash - key) : strlen(key);
    *proto = slash ? ports_proto_parse(slash + 1) : IPPROTO_TCP;
    return parse_u16(key, len, port) && *port != 0 && *proto != 0;
}

/* nat.NewPort(nat.SplitProtoPort(s)) then Range(): "", "0", "8080", "8080-8085" (a protocol
 * after a slash is allowed and ignored, as there). */
static bool parse_host_port(const char *s, uint16_t *lo, uint16_t *hi)
{
    size_t len = strcspn(s, "/");
    *lo = *hi = 0;
    if (len == 0)
        return true;
    const char *dash = memchr(s, '-', len);
    if (!dash)
        return parse_u16(s, len, lo) && (*hi = *lo, true);
    size_t first = (size_t)(dash - s);
    return parse_u16(s, first, lo) && parse_u16(dash + 1, len - first - 1, hi) && *lo <= *hi &&
           (*lo != 0 || *hi == 0);
}

static int bad_spec(const char *what, struct berth_err **err)
{
    return berth_user_error(err, EINVAL, "invalid port specification: \"%s\"", what);
}

/* The key's port and protocol, with dockerd's words for the port and the CLI's for the
 * protocol (dockerd itself only fails later, at start, on one it does not know). */
static int check_key(const char *key, uint16_t *port, uint8_t *proto, struct berth_err **err)
{
    const char *slash = strchr(key, '/');
    size_t len = slash ? (size_t)(slash - key) : strlen(key);
    _cleanup_free_ char *num = xstrndup(key, len);
    if (!parse_u16(key, len, port) || *port == 0)
        return bad_spec(num, err);
    *proto = slash ? ports_proto_parse(slash + 1) : IPPROTO_TCP;
    if (!*proto)
        return berth_user_error(err, EINVAL, "invalid proto: %s", slash + 1);
    return 0;
}

static int check_host_ip(const char *ip, struct ports_req *r, struct berth_err **err)
{
    struct in6_addr v6;
    r->host_ip_set = ip && *ip;
    if (!r->host_ip_set)
        return 0;
    if (inet_pton(AF_INET, ip, &r->host_ip) == 1)
        return 0;
    if (inet_pton(AF_INET6, ip, &v6) == 1 ||
        (ip[0] == '[' && strlen(ip) > 2 && ip[strlen(ip) - 1] == ']'))
        return berth_user_error(err, EINVAL,
                                "HostConfig.PortBindings: an IPv6 host address (%s) is not "
                                "supported yet: the default bridge is IPv4-only",
                                ip);
    return berth_user_error(err, EINVAL, "invalid IP address: %s", ip);
}

/* One binding of PortBindings[key], checked, into *r. */
static int check_binding(const json_t *b, struct ports_req *r, struct berth_err **err)
{
    if (!json_is_object(b) && !json_is_null(b))
        return berth_user_error(err, EINVAL, "HostConfig.PortBindings: a binding is not an object");
    const char *hp = json_get_str(b, "HostPort");
    if (!parse_host_port(hp ? hp : "", &r->host_lo, &r->host_hi))
        return bad_spec(hp, err);
    return check_host_ip(json_get_str(b, "HostIp"), r, err);
}

int ports_check(const json_t *host_config, struct berth_err **err)
{
    json_t *pb = json_object_get(host_config, "PortBindings"), *list;
    const char *key;
    if (!pb || json_is_null(pb))
        return 0;
    if (!json_is_object(pb))
        return berth_user_error(err, EINVAL, "HostConfig.PortBindings: not an object");
    json_object_foreach(pb, key, list)
    {
        struct ports_req r = {0};
        int rc = check_key(key, &r.ctr_port, &r.proto, err);
        if (rc < 0)
            return rc;
        if (!json_is_array(list) && !json_is_null(list))
            return berth_user_error(err, EINVAL, "HostConfig.PortBindings[%s]: not an array", key);
        size_t i;
        json_t *b;
        json_array_foreach(list, i, b)
        {
            if ((rc = check_binding(b, &r, err)) < 0)
                return rc;
        }
    }
    return 0;
}

static bool nonempty(const json_t *v)
{
    return (json_is_object(v) && json_object_size(v) > 0) ||
           (json_is_array(v) && json_array_size(v) > 0);
}

bool ports_publishes(const json_t *config, const json_t *host_config)
{
    if (nonempty(json_object_get(host_config, "PortBindings")))
        return true;
    return json_get_bool(host_config, "PublishAllPorts", false) &&
           nonempty(json_object_get(config, "ExposedPorts"));
}

/* An exposed port with its key. */
struct exposed {
    uint16_t port;
    uint8_t proto;
    const char *key;
};

static int exposed_cmp(const void *a, const void *b)
{
    const struct exposed *x = a, *y = b;
    return x->port != y->port ? (int)x->port - (int)y->port : (int)x->proto - (int)y->proto;
}

/* ExposedPorts' valid keys, by port then protocol (a key that is no port is skipped, as
 * dockerd's nat.NewPort skips it). */
static struct exposed *exposed_list(const json_t *config, size_t *n)
{
    json_t *ex = json_object_get(config, "ExposedPorts"), *v;
    const char *key;
    *n = 0;
    if (!json_is_object(ex) || json_object_size(ex) == 0)
        return NULL;
    struct exposed *list = xcalloc(json_object_size(ex), sizeof(*list));
    json_object_foreach(ex, key, v)
    {
        struct exposed *e = &list[*n];
        if (ports_key_parse(key, &e->port, &e->proto)) {
            e->key = key;
            (*n)++;
        }
    }
    qsort(list, *n, sizeof(*list), exposed_cmp);
    return list;
}

/* PortBindings' list for an exposed port: its own key, or the same port and protocol written
 * another way ("80" for "80/tcp"). */
static const json_t *bindings_of(const json_t *pb, const struct exposed *e)
{
    const json_t *list = json_object_get(pb, e->key), *v;
    const char *key;
    if (list)
        return list;
    json_object_foreach((json_t *)pb, key, v)
    {
        uint16_t port;
        uint8_t proto;
        if (ports_key_parse(key, &port, &proto) && port == e->port && proto == e->proto)
            return v;
    }
    return NULL;
}

static void push(struct ports_plan *p, size_t *cap, const struct ports_req *r)
{
    if (p->n_reqs == *cap) {
        *cap = *cap ? 2 * *cap : 8;
        p->reqs = xrealloc(p->reqs, *cap * sizeof(*p->reqs));
    }
    p->reqs[p->n_reqs++] = *r;
}

int ports_plan(const json_t *config, const json_t *host_config, struct ports_plan *out,
               struct berth_err **err)
{
    *out = (struct ports_plan){0};
    int r = ports_check(host_config, err);
    if (r < 0)
        return r;
    size_t n = 0, cap = 0;
    _cleanup_free_ struct exposed *ex = exposed_list(config, &n);
    const json_t *pb = json_object_get(host_config, "PortBindings");
    bool all = json_get_bool(host_config, "PublishAllPorts", false);
    for (size_t i = 0; i < n; i++) {
        const json_t *list = json_is_object(pb) ? bindings_of(pb, &ex[i]) : NULL;
        struct ports_req req = {.proto = ex[i].proto, .ctr_port = ex[i].port};
        size_t k;
        json_t *b;
        json_array_foreach(list, k, b)
        {
            struct ports_req one = req;
            (void)check_binding(b, &one, NULL); /* checked above */
            push(out, &cap, &one);
        }
        if (all && json_array_size(list) == 0)
            push(out, &cap, &req);
    }
    return 0;
}

void ports_plan_free(struct ports_plan *p)
{
    free(p->reqs);
    *p = (struct ports_plan){0};
}

json_t *ports_settings_json(const json_t *config, const struct ports_bound *b, size_t n)
{
    json_t *out = json_object();
    size_t ne = 0;
    _cleanup_free_ struct exposed *ex = exposed_list(config, &ne);
    for (size_t i = 0; i < ne; i++) {
        char key[16];
        snprintf(key, sizeof(key), "%u/%s", ex[i].port, ports_proto_name(ex[i].proto));
        json_t *list = NULL;
        for (size_t k = 0; k < n; k++) {
            if (b[k].ctr_port != ex[i].port || b[k].proto != ex[i].proto)
                continue;
            char ip[INET_ADDRSTRLEN], port[8];
            inet_ntop(AF_INET, &b[k].host_ip, ip, sizeof(ip));
            snprintf(port, sizeof(port), "%u", b[k].host_port);
            if (!list)
                list = json_array();
            json_array_append_new(list, json_pack("{ss ss}", "HostIp", ip, "HostPort", port));
        }
        json_object_set_new(out, key, list ? list : json_null());
    }
    return out;
}

/* dockerd's list has no order of its own (a map's); the CLI sorts what it prints. Sorted here
 * so that the same container lists the same way. */
static int summary_cmp(const json_t *a, const json_t *b)
{
    int64_t d = json_get_int(a, "PrivatePort", 0) - json_get_int(b, "PrivatePort", 0);
    if (d)
        return d < 0 ? -1 : 1;
    int c = strcmp(json_get_str(a, "Type") ?: "", json_get_str(b, "Type") ?: "");
    if (c)
        return c;
    c = strcmp(json_get_str(a, "IP") ?: "", json_get_str(b, "IP") ?: "");
    if (c)
        return c;
    d = json_get_int(a, "PublicPort", 0) - json_get_int(b, "PublicPort", 0);
    return d < 0 ? -1 : d > 0;
}

json_t *ports_summary_json(const json_t *settings_ports)
{
    json_t *out = json_array(), *list;
    const char *key;
    json_object_foreach((json_t *)settings_ports, key, list)
    {
        uint16_t port;
        uint8_t proto;
        if (!ports_key_parse(key, &port, &proto))
            continue;
        const char *type = ports_proto_name(proto);
        if (json_array_size(list) == 0) {
            json_array_append_new(out, json_pack("{si ss}", "PrivatePort", port, "Type", type));
            continue;
        }
        size_t i;
        json_t *b;
        json_array_foreach(list, i, b)
        {
            uint16_t pub = 0;
            const char *hp = json_get_str(b, "HostPort") ?: "";
            (void)parse_u16(hp, strlen(hp), &pub);
            json_t *e = json_object();
            const char *ip = json_get_str(b, "HostIp");
            if (ip && *ip) /* omitempty, as dockerd's (and first, as its struct has it) */
                json_object_set_new(e, "IP", json_string(ip));
            json_object_set_new(e, "PrivatePort", json_integer(port));
            json_object_set_new(e, "PublicPort", json_integer(pub));
            json_object_set_new(e, "Type", json_string(type));
            json_array_append_new(out, e);
        }
    }
    return json_sorted(out, summary_cmp);
}
