/* net/network/ipam_store.c — a pool as JSON and a network's pools in one state file, replaced
 * atomically; loading replays the saved subnet, gateway, aux and addresses through the same
 * requests as at run time, so what comes back obeys the same rules. */
#include "net/network/ipam.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "fs/atomic.h"

#define STATE_VERSION 1

static void set_addr(json_t *j, const char *key, const struct ipam_addr *a)
{
    char b[IPAM_ADDR_STRLEN];
    if (a->family)
        json_object_set_new(j, key, json_string(ipam_addr_fmt(a, b)));
}

static void set_prefix(json_t *j, const char *key, const struct ipam_prefix *p)
{
    char b[IPAM_PREFIX_STRLEN];
    if (p->addr.family)
        json_object_set_new(j, key, json_string(ipam_prefix_fmt(p, b)));
}

json_t *ipam_pool_json(const struct ipam_pool *pool, bool with_addresses)
{
    json_t *j = json_object();
    set_prefix(j, "subnet", &pool->subnet);
    set_prefix(j, "ip_range", &pool->range);
    set_addr(j, "gateway", &pool->gateway);
    if (pool->n_aux) {
        json_t *aux = json_object();
        for (size_t i = 0; i < pool->n_aux; i++)
            set_addr(aux, pool->aux[i].name, &pool->aux[i].addr);
        json_object_set_new(j, "aux", aux);
    }
    json_object_set_new(j, "user_subnet", json_boolean(pool->user_subnet));
    if (!with_addresses)
        return j;
    json_t *addrs = json_array();
    for (size_t i = 0; i < pool->_mine.n; i++) {
        struct ipam_ival *iv = &pool->_mine.v[i];
        struct ipam_addr lo = {.family = pool->subnet.addr.family, .v = iv->lo};
        struct ipam_addr hi = {.family = lo.family, .v = iv->hi};
        char a[IPAM_ADDR_STRLEN], b[IPAM_ADDR_STRLEN];
        ipam_addr_fmt(&lo, a);
        json_array_append_new(addrs, iv->lo == iv->hi
                                         ? json_string(a)
                                         : json_sprintf("%s-%s", a, ipam_addr_fmt(&hi, b)));
    }
    json_object_set_new(j, "addresses", addrs);
    return j;
}

static int bad_state(struct berth_err **err, const char *what, const char *text)
{
    return berth_user_error(err, EINVAL, "bad IPAM state: %s `%s`", what, text ? text : "");
}

static int conf_from_json(const json_t *j, struct ipam_conf *c, struct berth_err **err)
{
    const char *subnet = json_get_str(j, "subnet"), *range = json_get_str(j, "ip_range"),
               *gw = json_get_str(j, "gateway");
    if (!subnet || !ipam_prefix_parse(subnet, &c->subnet))
        return bad_state(err, "subnet", subnet);
    if (range && !ipam_prefix_parse(range, &c->range))
        return bad_state(err, "ip_range", range);
    if (gw && !ipam_addr_parse(gw, &c->gateway))
        return bad_state(err, "gateway", gw);
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)json_object_get(j, "aux"), name, v)
    {
        struct ipam_addr a;
        if (!json_is_string(v) || !ipam_addr_parse(json_string_value(v), &a))
            return bad_state(err, "aux address", json_string_value(v));
        c->aux = xrealloc(c->aux, (c->n_aux + 1) * sizeof(*c->aux));
        c->aux[c->n_aux++] = (struct ipam_aux){.name = xstrdup(name), .addr = a};
    }
    return 0;
}

/* "a" or "a-b": each address of it requested again. */
static int replay_range(struct ipam_pool *pool, const char *text, struct berth_err **err)
{
    char lo_s[IPAM_ADDR_STRLEN];
    const char *dash = strchr(text, '-');
    size_t n = dash ? (size_t)(dash - text) : strlen(text);
    struct ipam_addr lo, hi, got;
    if (n >= sizeof(lo_s))
        return bad_state(err, "address", text);
    memcpy(lo_s, text, n);
    lo_s[n] = '\0';
    if (!ipam_addr_parse(lo_s, &lo) || !ipam_addr_parse(dash ? dash + 1 : lo_s, &hi) ||
        hi.family != lo.family || hi.v < lo.v)
        return bad_state(err, "address", text);
    for (struct ipam_addr a = lo;; a.v++) {
        int r = ipam_addr_request(pool, &a, &got, err);
        if (r < 0)
            return berth_error_wrap(err, "restore address %s", text);
        if (a.v == hi.v)
            return 0;
    }
}

int ipam_pool_from_json(struct ipam *ipam, const json_t *j, struct ipam_pool **out,
                        struct berth_err **err)
{
    struct ipam_conf c = {0};
    int r = conf_from_json(j, &c, err);
    struct ipam_pool *pool = NULL;
    if (r == 0) {
        struct ipam_pool_opts opts = {
            .family = c.subnet.addr.family, .skip_gateway = !c.gateway.family, .restore = true};
        r = ipam_pool_request(ipam, &c, &opts, &pool, err);
    }
    ipam_conf_clear(&c);
    if (r < 0)
        return r;
    pool->user_subnet = json_get_bool(j, "user_subnet", false);
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(j, "addresses"), i, a)
    {
        if (!json_is_string(a))
            r = bad_state(err, "address", "");
        else
            r = replay_range(pool, json_string_value(a), err);
        if (r < 0) {
            ipam_pool_release(pool);
            return r;
        }
    }
    *out = pool;
    return 0;
}

int ipam_state_save(const char *path, struct ipam_pool *const *pools, size_t n,
                    struct berth_err **err)
{
    _cleanup_json_ json_t *j =
        json_pack("{si so}", "version", STATE_VERSION, "pools", json_array());
    json_t *arr = json_object_get(j, "pools");
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, ipam_pool_json(pools[i], true));
    _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
    return fs_write_atomic(path, text, strlen(text), 0600, err);
}

static void release_all(struct ipam_pool **pools, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ipam_pool_release(pools[i]);
    free(pools);
}

int ipam_state_load(struct ipam *ipam, const char *path, struct ipam_pool ***out, size_t *n,
                    struct berth_err **err)
{
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = fs_read_file(path, &text, &len, err);
    if (r < 0)
        return r;
    json_error_t jerr;
    _cleanup_json_ json_t *j = json_loadb(text, len, 0, &jerr);
    if (!j || json_get_int(j, "version", 0) != STATE_VERSION)
        return berth_user_error(err, EINVAL, "bad IPAM state `%s`: %s", path,
                                j ? "unknown version" : jerr.text);
    const json_t *arr = json_object_get(j, "pools");
    struct ipam_pool **pools = xcalloc(json_array_size(arr) + 1, sizeof(*pools));
    size_t i;
    const json_t *p;
    json_array_foreach(arr, i, p)
    {
        if ((r = ipam_pool_from_json(ipam, p, &pools[i], err)) < 0) {
            release_all(pools, i);
            return berth_error_wrap(err, "load `%s`", path);
        }
    }
    *out = pools;
    *n = json_array_size(arr);
    return 0;
}
