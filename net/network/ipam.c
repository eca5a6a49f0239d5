/* net/network/ipam.c — the allocator: per family the predefined pools and the subnets in use
 * (dockerd's addrSpace), per subnet the set of addresses taken, per pool its range, gateway, aux
 * and endpoint addresses. Address sets are sorted interval lists, so an IPv6 /64 costs what its
 * allocations cost, not 2^64 bits, and a network of consecutive addresses is one interval. */
#include "net/network/ipam.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#include "core/cleanup.h"
#include "core/macros.h"
#include "core/xalloc.h"

struct ipam_subnet {
    struct ipam_prefix prefix;    /* masked */
    struct ipam_set used;         /* every address taken, network/broadcast included */
    bool master;                  /* held by a pool without ip-range (dockerd: !autoRelease) */
    struct ipam_prefix *children; /* the ip-ranges of the pools that have one */
    size_t n_children;
    int users;
};

struct ipam_space {
    int family;
    struct ipam_pool_def *predefined; /* sorted, none inside another */
    size_t n_predefined;
    struct ipam_subnet **subnets; /* sorted by ipam_prefix_cmp: dockerd's `allocated` */
    size_t n_subnets, cap_subnets;
};

struct ipam {
    struct ipam_space space[2]; /* IPv4, IPv6 */
};

static struct ipam_space *space_of(struct ipam *ipam, int family)
{
    return &ipam->space[family == 6];
}

/* ---- interval sets ---- */

/* Index of the first interval that ends at or after a. */
static size_t set_find(const struct ipam_set *s, ipam_u128 a)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->v[mid].hi < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool set_has(const struct ipam_set *s, ipam_u128 a)
{
    size_t i = set_find(s, a);
    return i < s->n && s->v[i].lo <= a;
}

static void set_insert_at(struct ipam_set *s, size_t i, struct ipam_ival iv)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(*s->v));
    s->v[i] = iv;
    s->n++;
}

static void set_remove_at(struct ipam_set *s, size_t i)
{
    memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
    s->n--;
}

/* Add a; false if it was there. Neighbours that become adjacent are merged. */
static bool set_add(struct ipam_set *s, ipam_u128 a)
{
    size_t i = set_find(s, a);
    if (i < s->n && s->v[i].lo <= a)
        return false;
    bool join_prev = i > 0 && s->v[i - 1].hi + 1 == a;
    bool join_next = i < s->n && s->v[i].lo == a + 1;
    if (join_prev && join_next) {
        s->v[i - 1].hi = s->v[i].hi;
        set_remove_at(s, i);
    } else if (join_prev) {
        s->v[i - 1].hi = a;
    } else if (join_next) {
        s->v[i].lo = a;
    } else {
        set_insert_at(s, i, (struct ipam_ival){a, a});
    }
    return true;
}

/* Remove a; false if it was not there. */
static bool set_del(struct ipam_set *s, ipam_u128 a)
{
    size_t i = set_find(s, a);
    if (i == s->n || s->v[i].lo > a)
        return false;
    struct ipam_ival *iv = &s->v[i];
    if (iv->lo == a && iv->hi == a)
        set_remove_at(s, i);
    else if (iv->lo == a)
        iv->lo++;
    else if (iv->hi == a)
        iv->hi--;
    else { /* split in two; the insert may move the array */
        ipam_u128 hi = iv->hi;
        s->v[i].hi = a - 1;
        set_insert_at(s, i + 1, (struct ipam_ival){a + 1, hi});
    }
    return true;
}

/* The lowest address of [lo, hi] not in s. */
static bool set_first_free(const struct ipam_set *s, ipam_u128 lo, ipam_u128 hi, ipam_u128 *out)
{
    size_t i = set_find(s, lo);
    ipam_u128 cand = lo;
    if (i < s->n && s->v[i].lo <= cand) {
        if (s->v[i].hi == ~(ipam_u128)0)
            return false;
        cand = s->v[i].hi + 1; /* intervals never touch, so the next one starts later */
    }
    if (cand > hi)
        return false;
    *out = cand;
    return true;
}

static uint64_t set_count(const struct ipam_set *s)
{
    ipam_u128 n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += s->v[i].hi - s->v[i].lo + 1;
    return n > UINT64_MAX ? UINT64_MAX : (uint64_t)n;
}

static void set_free(struct ipam_set *s)
{
    free(s->v);
    *s = (struct ipam_set){0};
}

/* ---- predefined pools ---- */

static const struct ipam_pool_def *local_defaults(size_t *n)
{
    /* 172.17.0.0/16 ... 172.31.0.0/16 then 192.168.0.0/16 in /20s, dockerd's order */
    static struct ipam_pool_def defs[7];
    static const struct {
        uint32_t base;
        int bits, size;
    } src[] = {
        {0xac110000, 16, 16}, {0xac120000, 16, 16}, {0xac130000, 16, 16}, {0xac140000, 14, 16},
        {0xac180000, 14, 16}, {0xac1c0000, 14, 16}, {0xc0a80000, 16, 20},
    };
    for (size_t i = 0; i < ARRAY_SIZE(src); i++)
        defs[i] = (struct ipam_pool_def){
            .base = {.addr = {.family = 4, .v = src[i].base}, .bits = (uint8_t)src[i].bits},
            .size = src[i].size};
    *n = ARRAY_SIZE(src);
    return defs;
}

size_t ipam_default_pools(const struct ipam_pool_def **out)
{
    size_t n;
    *out = local_defaults(&n);
    return n;
}

struct ipam_pool_def ipam_ula_pool(const char *engine_id)
{
    struct sha256_ctx ctx;
    uint8_t sum[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(engine_id), (const uint8_t *)engine_id);
    sha256_digest(&ctx, sizeof(sum), sum);
    uint64_t gid = 0;
    for (int i = 0; i < 8; i++)
        gid = gid << 8 | sum[i];
    gid &= (UINT64_C(1) << 40) - 1; /* the 40-bit Global ID of RFC 4193 */
    ipam_u128 base = (ipam_u128)0xfd << 120 | (ipam_u128)gid << 80;
    return (struct ipam_pool_def){.base = {.addr = {.family = 6, .v = base}, .bits = 48},
                                  .size = 64};
}

static int def_cmp(const void *a, const void *b)
{
    return ipam_prefix_cmp(&((const struct ipam_pool_def *)a)->base,
                           &((const struct ipam_pool_def *)b)->base);
}

/* Sorted, and a pool inside an earlier one dropped: the dynamic pick would otherwise find the
 * outer one full, move on, and carve the inner one out of it again (dockerd does the same). */
static void space_set_predefined(struct ipam_space *sp, struct ipam_pool_def *defs, size_t n)
{
    qsort(defs, n, sizeof(*defs), def_cmp);
    size_t j = 0;
    for (size_t i = 0; i < n; i++)
        if (j == 0 || !ipam_prefix_overlaps(&defs[j - 1].base, &defs[i].base))
            defs[j++] = defs[i];
    sp->predefined = defs;
    sp->n_predefined = j;
}

static int check_def(const struct ipam_pool_def *d, size_t i, struct berth_err **err)
{
    char b[IPAM_PREFIX_STRLEN];
    if (!d->base.addr.family || d->size <= 0)
        return berth_user_error(
            err, EINVAL, "network at index %zu (%s, size %d) is not in canonical form", i,
            d->base.addr.family ? ipam_prefix_fmt(&d->base, b) : "invalid Prefix", d->size);
    if (d->base.bits > d->size)
        return berth_user_error(
            err, EINVAL,
            "network at index %zu (%s, size %d) has a smaller prefix (/%d) than "
            "the target size of that pool (/%d)",
            i, ipam_prefix_fmt(&d->base, b), d->size, d->base.bits, d->size);
    if (d->size > ipam_family_bits(d->base.addr.family))
        return berth_user_error(err, EINVAL,
                                "network at index %zu (%s, size %d) has a target size longer than "
                                "an IPv%d address",
                                i, ipam_prefix_fmt(&d->base, b), d->size, d->base.addr.family);
    return 0;
}

int ipam_new(const struct ipam_pool_def *defs, size_t n, const char *engine_id, struct ipam **out,
             struct berth_err **err)
{
    if (!defs || n == 0)
        defs = local_defaults(&n);
    _cleanup_free_ struct ipam_pool_def *v4 = xcalloc(n + 1, sizeof(*v4));
    _cleanup_free_ struct ipam_pool_def *v6 = xcalloc(n + 1, sizeof(*v6));
    size_t n4 = 0, n6 = 0;
    for (size_t i = 0; i < n; i++) {
        struct ipam_pool_def d = defs[i];
        d.base.addr = ipam_addr_unmap(d.base.addr);
        if (d.base.addr.family != defs[i].base.addr.family) /* a mapped prefix loses 96 bits */
            d.base.bits = d.base.bits >= 96 ? d.base.bits - 96 : 0;
        if (check_def(&d, i, err) < 0)
            return berth_error_wrap(err, "could not construct local address space");
        d.base = ipam_prefix_masked(d.base);
        if (d.base.addr.family == 4)
            v4[n4++] = d;
        else
            v6[n6++] = d;
    }
    if (n6 == 0 && engine_id)
        v6[n6++] = ipam_ula_pool(engine_id);
    struct ipam *ipam = xcalloc(1, sizeof(*ipam));
    ipam->space[0].family = 4;
    ipam->space[1].family = 6;
    space_set_predefined(&ipam->space[0], take_ptr(v4), n4);
    space_set_predefined(&ipam->space[1], take_ptr(v6), n6);
    *out = ipam;
    return 0;
}

static void subnet_free(struct ipam_subnet *sn)
{
    set_free(&sn->used);
    free(sn->children);
    free(sn);
}

void ipam_free(struct ipam *ipam)
{
    if (!ipam)
        return;
    for (int f = 0; f < 2; f++) {
        struct ipam_space *sp = &ipam->space[f];
        for (size_t i = 0; i < sp->n_subnets; i++)
            subnet_free(sp->subnets[i]);
        free(sp->subnets);
        free(sp->predefined);
    }
    free(ipam);
}

/* ---- subnets in use ---- */

static size_t space_find(const struct ipam_space *sp, const struct ipam_prefix *p, bool *found)
{
    size_t lo = 0, hi = sp->n_subnets;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = ipam_prefix_cmp(&sp->subnets[mid]->prefix, p);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static bool space_overlaps(const struct ipam_space *sp, const struct ipam_prefix *p)
{
    for (size_t i = 0; i < sp->n_subnets; i++)
        if (ipam_prefix_overlaps(&sp->subnets[i]->prefix, p))
            return true;
    return false;
}

/* A new subnet in the space, its unusable addresses taken: the IPv4 network and broadcast
 * addresses (not on a /31 or /32, RFC 3021) and the IPv6 subnet-router anycast address. */
static struct ipam_subnet *space_add(struct ipam_space *sp, const struct ipam_prefix *p)
{
    bool found;
    size_t i = space_find(sp, p, &found);
    struct ipam_subnet *sn = xcalloc(1, sizeof(*sn));
    sn->prefix = *p;
    int host_bits = ipam_family_bits(p->addr.family) - p->bits;
    if (p->addr.family == 6 || host_bits > 1)
        set_add(&sn->used, ipam_prefix_first(p).v);
    if (p->addr.family == 4 && host_bits > 1)
        set_add(&sn->used, ipam_prefix_last(p).v);
    if (sp->n_subnets == sp->cap_subnets) {
        sp->cap_subnets = sp->cap_subnets ? sp->cap_subnets * 2 : 8;
        sp->subnets = xrealloc(sp->subnets, sp->cap_subnets * sizeof(*sp->subnets));
    }
    memmove(&sp->subnets[i + 1], &sp->subnets[i], (sp->n_subnets - i) * sizeof(*sp->subnets));
    sp->subnets[i] = sn;
    sp->n_subnets++;
    return sn;
}

static void space_drop(struct ipam_space *sp, struct ipam_subnet *sn)
{
    bool found;
    size_t i = space_find(sp, &sn->prefix, &found);
    if (found) {
        memmove(&sp->subnets[i], &sp->subnets[i + 1],
                (sp->n_subnets - i - 1) * sizeof(*sp->subnets));
        sp->n_subnets--;
    }
    subnet_free(sn);
}

static int first_addr_cmp(const void *a, const void *b)
{
    struct ipam_addr fa = ipam_prefix_first(a), fb = ipam_prefix_first(b);
    return ipam_addr_cmp(&fa, &fb);
}

/* The lowest /size block of pool d that meets none of the sorted blockers (by first address). */
static bool pick_in(const struct ipam_pool_def *d, const struct ipam_prefix *blk, size_t n,
                    struct ipam_prefix *out)
{
    int host = ipam_family_bits(d->base.addr.family) - d->size;
    ipam_u128 span = host >= 128 ? ~(ipam_u128)0 : ((ipam_u128)1 << host) - 1; /* block - 1 */
    ipam_u128 cand = ipam_prefix_first(&d->base).v, end = ipam_prefix_last(&d->base).v;
    for (size_t i = 0; i < n; i++) {
        ipam_u128 bf = ipam_prefix_first(&blk[i]).v, bl = ipam_prefix_last(&blk[i]).v;
        if (bl < cand)
            continue;
        if (bf > cand + span)
            break; /* later blockers start later still */
        if ((bl | span) >= end)
            return false; /* blocked up to the pool's end */
        cand = (bl | span) + 1;
    }
    *out = (struct ipam_prefix){.addr = {.family = d->base.addr.family, .v = cand},
                                .bits = (uint8_t)d->size};
    return true;
}

/* dockerd's allocatePredefinedPool: the first block, in the order of the sorted pools, that
 * overlaps no subnet in use and nothing reserved. (dockerd walks both lists in one merged pass
 * and can be fooled by a reserved prefix inside another; the result is otherwise the same.) */
static int space_pick(const struct ipam_space *sp, const struct ipam_prefix *reserved,
                      size_t n_reserved, struct ipam_prefix *out, struct berth_err **err)
{
    _cleanup_free_ struct ipam_prefix *blk = xcalloc(sp->n_subnets + n_reserved + 1, sizeof(*blk));
    size_t n = 0;
    for (size_t i = 0; i < sp->n_subnets; i++)
        blk[n++] = sp->subnets[i]->prefix;
    for (size_t i = 0; i < n_reserved; i++)
        if (reserved[i].addr.family == sp->family)
            blk[n++] = reserved[i];
    qsort(blk, n, sizeof(*blk), first_addr_cmp);
    for (size_t i = 0; i < sp->n_predefined; i++)
        if (pick_in(&sp->predefined[i], blk, n, out))
            return 0;
    return berth_user_error(err, EINVAL, "all predefined address pools have been fully subnetted");
}

/* ---- pools ---- */

static int overlap_error(struct berth_err **err)
{
    return berth_user_error(err, EACCES,
                            "invalid pool request: Pool overlaps with other one on this address "
                            "space");
}

static bool has_child(const struct ipam_subnet *sn, const struct ipam_prefix *r)
{
    for (size_t i = 0; i < sn->n_children; i++)
        if (ipam_prefix_eq(&sn->children[i], r))
            return true;
    return false;
}

static void drop_child(struct ipam_subnet *sn, const struct ipam_prefix *r)
{
    for (size_t i = 0; i < sn->n_children; i++)
        if (ipam_prefix_eq(&sn->children[i], r)) {
            sn->children[i] = sn->children[--sn->n_children];
            return;
        }
}

/* Attach a pool to its subnet, as dockerd's allocateSubnet: a subnet without range must be the
 * only one over its addresses; a range only needs to be new in its subnet. */
static int attach_subnet(struct ipam_space *sp, struct ipam_pool *pool, bool restore,
                         struct berth_err **err)
{
    bool found;
    size_t i = space_find(sp, &pool->subnet, &found);
    struct ipam_subnet *sn = found ? sp->subnets[i] : NULL;
    bool ranged = pool->range.addr.family != 0;
    if (!restore) {
        if (sn && (!ranged || has_child(sn, &pool->range)))
            return overlap_error(err);
        if (!ranged && space_overlaps(sp, &pool->subnet))
            return overlap_error(err);
    }
    if (!sn)
        sn = space_add(sp, &pool->subnet);
    if (ranged) {
        sn->children = xrealloc(sn->children, (sn->n_children + 1) * sizeof(*sn->children));
        sn->children[sn->n_children++] = pool->range;
    } else {
        sn->master = true;
    }
    sn->users++;
    pool->_sn = sn;
    return 0;
}

static void detach_subnet(struct ipam_pool *pool)
{
    struct ipam_subnet *sn = pool->_sn;
    if (!sn)
        return;
    if (pool->range.addr.family)
        drop_child(sn, &pool->range);
    else
        sn->master = false;
    pool->_sn = NULL;
    if (--sn->users == 0)
        space_drop(space_of(pool->_ipam, sn->prefix.addr.family), sn);
}

static void pool_bounds(const struct ipam_pool *pool, ipam_u128 *lo, ipam_u128 *hi)
{
    const struct ipam_prefix *r = pool->range.addr.family ? &pool->range : &pool->subnet;
    *lo = ipam_prefix_first(r).v;
    *hi = ipam_prefix_last(r).v;
}

/* Take pref, or the lowest free address of the pool's range; the low-level errors of
 * ipam_addr_request without the bookkeeping of who holds the address. */
static int take_addr(struct ipam_pool *pool, const struct ipam_addr *pref, struct ipam_addr *out,
                     struct berth_err **err)
{
    struct ipam_set *used = &pool->_sn->used;
    if (pref && pref->family) {
        struct ipam_addr a = ipam_addr_unmap(*pref); /* dockerd unmaps every address asked */
        if (!ipam_prefix_contains(&pool->subnet, &a))
            return berth_user_error(err, EINVAL, "requested address is out of range");
        if (!set_add(used, a.v))
            return berth_user_error(err, EACCES, "Address already in use");
        *out = a;
        return 0;
    }
    ipam_u128 lo, hi, a;
    pool_bounds(pool, &lo, &hi);
    if (!set_first_free(used, lo, hi, &a))
        return berth_user_error(err, EAGAIN, "no available addresses on this pool");
    set_add(used, a);
    *out = (struct ipam_addr){.family = pool->subnet.addr.family, .v = a};
    return 0;
}

void ipam_aux_free(struct ipam_aux *aux, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(aux[i].name);
    free(aux);
}

void ipam_aux_append(struct ipam_aux **dst, size_t *ndst, const struct ipam_aux *src, size_t n)
{
    if (!n)
        return;
    *dst = xrealloc(*dst, (*ndst + n) * sizeof(**dst));
    for (size_t i = 0; i < n; i++)
        (*dst)[(*ndst)++] = (struct ipam_aux){.name = xstrdup(src[i].name), .addr = src[i].addr};
}

/* Wrap the pending error with context and make it a 500, as dockerd's InternalErrorf around an
 * IPAM error does. */
static int internal(struct berth_err **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int internal(struct berth_err **err, const char *fmt, ...)
{
    if (!err || !*err)
        return -EIO - 1;
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *ctx = xvasprintf(fmt, ap);
    va_end(ap);
    berth_error_wrap(err, "%s", ctx);
    (*err)->status = EIO;
    return -EIO - 1;
}

/* The gateway and the aux addresses, as dockerd's ipamAllocateVersion after RequestPool. On
 * failure the caller releases the pool, which gives back what was taken here. */
static int reserve_gateway_aux(struct ipam_pool *pool, const struct ipam_conf *conf,
                               bool skip_gateway, struct berth_err **err)
{
    char a[IPAM_ADDR_STRLEN], s[IPAM_PREFIX_STRLEN];
    if (conf->gateway.family || !skip_gateway) {
        struct ipam_addr gw;
        if (take_addr(pool, &conf->gateway, &gw, err) < 0)
            return internal(err, "failed to allocate gateway (%s)",
                            conf->gateway.family ? ipam_addr_fmt(&conf->gateway, a) : "");
        pool->gateway = gw;
    }
    for (size_t i = 0; i < conf->n_aux; i++) {
        const struct ipam_aux *x = &conf->aux[i];
        if (!ipam_prefix_contains(&pool->subnet, &x->addr))
            return berth_user_error(
                err, EACCES, "auxiliary address: (%s:%s) must belong to the master pool: %s",
                x->name, ipam_addr_fmt(&x->addr, a), ipam_prefix_fmt(&pool->subnet, s));
        struct ipam_addr got;
        if (take_addr(pool, &x->addr, &got, err) < 0)
            return internal(err, "failed to allocate secondary ip address (%s:%s)", x->name,
                            ipam_addr_fmt(&x->addr, a));
        pool->aux = xrealloc(pool->aux, (pool->n_aux + 1) * sizeof(*pool->aux));
        pool->aux[pool->n_aux++] = (struct ipam_aux){.name = xstrdup(x->name), .addr = got};
    }
    return 0;
}

static int pool_subnet(struct ipam *ipam, const struct ipam_conf *conf,
                       const struct ipam_pool_opts *opts, struct ipam_pool *pool,
                       struct berth_err **err)
{
    int family = conf->subnet.addr.family ? conf->subnet.addr.family : opts->family;
    struct ipam_space *sp = space_of(ipam, family);
    if (!conf->subnet.addr.family) {
        if (conf->range.addr.family)
            return berth_user_error(err, EIO,
                                    "failed to parse pool request for address space LocalDefault "
                                    "pool  subpool: invalid address subpool");
        int r = space_pick(sp, opts->reserved, opts->n_reserved, &pool->subnet, err);
        if (r < 0)
            return r;
        return attach_subnet(sp, pool, true, err);
    }
    pool->subnet = ipam_prefix_masked(conf->subnet);
    pool->user_subnet = !opts->restore;
    if (conf->range.addr.family) {
        if (conf->range.addr.family != family)
            return berth_user_error(err, EINVAL,
                                    "pool and subpool are of incompatible address families");
        pool->range = ipam_prefix_masked(conf->range);
        /* a range wider than its subnet (accepted before dockerd 24) means the whole subnet */
        if (pool->range.bits < pool->subnet.bits)
            pool->range = pool->subnet;
    }
    return attach_subnet(sp, pool, opts->restore, err);
}

int ipam_pool_request(struct ipam *ipam, const struct ipam_conf *conf,
                      const struct ipam_pool_opts *opts, struct ipam_pool **out,
                      struct berth_err **err)
{
    static const struct ipam_conf none;
    if (!conf)
        conf = &none;
    struct ipam_pool *pool = xcalloc(1, sizeof(*pool));
    pool->_ipam = ipam;
    int r = pool_subnet(ipam, conf, opts, pool, err);
    if (r == 0)
        r = reserve_gateway_aux(pool, conf, opts->skip_gateway, err);
    if (r < 0) {
        ipam_pool_release(pool);
        return r;
    }
    *out = pool;
    return 0;
}

void ipam_pool_release(struct ipam_pool *pool)
{
    if (!pool)
        return;
    if (pool->_sn) {
        struct ipam_set *used = &pool->_sn->used;
        for (size_t i = 0; i < pool->_mine.n; i++)
            for (ipam_u128 a = pool->_mine.v[i].lo;; a++) {
                set_del(used, a);
                if (a == pool->_mine.v[i].hi)
                    break;
            }
        if (pool->gateway.family)
            set_del(used, pool->gateway.v);
        for (size_t i = 0; i < pool->n_aux; i++)
            set_del(used, pool->aux[i].addr.v);
        detach_subnet(pool);
    }
    set_free(&pool->_mine);
    ipam_aux_free(pool->aux, pool->n_aux);
    free(pool);
}

/* ---- endpoint addresses ---- */

int ipam_addr_request(struct ipam_pool *pool, const struct ipam_addr *pref, struct ipam_addr *out,
                      struct berth_err **err)
{
    struct ipam_addr a;
    int r = take_addr(pool, pref, &a, err);
    if (r < 0)
        return r;
    set_add(&pool->_mine, a.v);
    *out = a;
    return 0;
}

int ipam_addr_release(struct ipam_pool *pool, const struct ipam_addr *addr, struct berth_err **err)
{
    struct ipam_addr a = ipam_addr_unmap(*addr);
    if (!ipam_prefix_contains(&pool->subnet, &a))
        return berth_user_error(err, EINVAL, "requested address is out of range");
    if (set_del(&pool->_mine, a.v))
        set_del(&pool->_sn->used, a.v);
    return 0;
}

bool ipam_addr_in_use(const struct ipam_pool *pool, const struct ipam_addr *addr)
{
    struct ipam_addr a = ipam_addr_unmap(*addr);
    return ipam_prefix_contains(&pool->subnet, &a) && set_has(&pool->_sn->used, a.v);
}

uint64_t ipam_pool_count(const struct ipam_pool *pool)
{
    return set_count(&pool->_mine);
}

int ipam_pools_assign(struct ipam_pool *const *pools, size_t n, const struct ipam_addr *pref,
                      const char *net_name, const char *net_id, struct ipam_addr *out,
                      size_t *which, struct berth_err **err)
{
    bool has_pref = pref && pref->family;
    struct ipam_addr a = has_pref ? ipam_addr_unmap(*pref) : (struct ipam_addr){0};
    int family = has_pref ? a.family : n ? pools[0]->subnet.addr.family : 4;
    for (size_t i = 0; i < n; i++) {
        if (has_pref && !ipam_prefix_contains(&pools[i]->subnet, &a))
            continue;
        int r = ipam_addr_request(pools[i], has_pref ? &a : NULL, out, err);
        if (r == 0) {
            if (which)
                *which = i;
            return 0;
        }
        if (r != -EAGAIN - 1 || has_pref)
            return r;
        if (err) { /* full: dockerd tries the next pool */
            berth_err_free(*err);
            *err = NULL;
        }
    }
    char text[IPAM_ADDR_STRLEN];
    if (has_pref)
        return berth_user_error(err, EINVAL,
                                "invalid address %s: It does not belong to any of this network's "
                                "subnets",
                                ipam_addr_fmt(pref, text));
    return berth_user_error(err, EIO,
                            "no available IPv%d addresses on this network's address pools: %s (%s)",
                            family, net_name ? net_name : "", net_id ? net_id : "");
}

void ipam_conf_clear(struct ipam_conf *c)
{
    ipam_aux_free(c->aux, c->n_aux);
    *c = (struct ipam_conf){0};
}
