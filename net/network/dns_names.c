/* net/network/dns_names.c — a network's names and addresses for the embedded DNS server: two
 * hash maps (name → addresses, address → names), so a container's join, leave and every lookup
 * cost the same whatever the number of containers on the network. */
#include "net/network/dns_names.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/cleanup.h"
#include "core/map.h"
#include "core/xalloc.h"

/* One address of a name, held by as many endpoints as refs. */
struct held_addr {
    struct dns_addr a;
    unsigned refs;
};

struct rrset {
    struct held_addr *v;
    size_t n, cap;
};

/* The names an address resolves back to, the oldest first (dockerd answers with the first). */
struct ptrset {
    char **names; /* "name.network" */
    unsigned *refs;
    size_t n;
};

struct dns_names {
    char *network;
    struct map names; /* lower-case name → struct rrset */
    struct map ptrs;  /* address as text → struct ptrset */
};

struct dns_names *dns_names_new(const char *network)
{
    struct dns_names *n = xcalloc(1, sizeof(*n));
    n->network = xstrdup(network);
    return n;
}

void dns_names_free(struct dns_names *n)
{
    if (!n)
        return;
    const char *key;
    void *v;
    for (size_t i = 0; map_next(&n->names, &i, &key, &v);) {
        free(((struct rrset *)v)->v);
        free(v);
    }
    for (size_t i = 0; map_next(&n->ptrs, &i, &key, &v);) {
        struct ptrset *p = v;
        for (size_t k = 0; k < p->n; k++)
            free(p->names[k]);
        free(p->names);
        free(p->refs);
        free(p);
    }
    map_free(&n->names);
    map_free(&n->ptrs);
    free(n->network);
    free(n);
}

static char *lower_dup(const char *s)
{
    char *d = xstrdup(s);
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

static void addr_key(const struct dns_addr *a, char *key)
{
    inet_ntop(a->family, &a->v4, key, INET6_ADDRSTRLEN);
}

static bool same_addr(const struct dns_addr *x, const struct dns_addr *y)
{
    return x->family == y->family &&
           memcmp(&x->v4, &y->v4, x->family == AF_INET ? sizeof(x->v4) : sizeof(x->v6)) == 0;
}

static void name_add(struct dns_names *n, const char *name, const struct dns_addr *a)
{
    _cleanup_free_ char *key = lower_dup(name);
    struct rrset *s = map_get(&n->names, key);
    if (!s) {
        s = xcalloc(1, sizeof(*s));
        map_put(&n->names, key, s);
    }
    for (size_t i = 0; i < s->n; i++)
        if (same_addr(&s->v[i].a, a)) {
            s->v[i].refs++;
            return;
        }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 2;
        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = (struct held_addr){.a = *a, .refs = 1};
}

static void name_del(struct dns_names *n, const char *name, const struct dns_addr *a)
{
    _cleanup_free_ char *key = lower_dup(name);
    struct rrset *s = map_get(&n->names, key);
    for (size_t i = 0; s && i < s->n; i++) {
        if (!same_addr(&s->v[i].a, a) || --s->v[i].refs > 0)
            continue;
        s->v[i] = s->v[--s->n];
        break;
    }
    if (s && s->n == 0) {
        map_del(&n->names, key);
        free(s->v);
        free(s);
    }
}

static void ptr_add(struct dns_names *n, const struct dns_addr *a, const char *name)
{
    char key[INET6_ADDRSTRLEN];
    addr_key(a, key);
    _cleanup_free_ char *full = xasprintf("%s.%s", name, n->network);
    struct ptrset *p = map_get(&n->ptrs, key);
    if (!p) {
        p = xcalloc(1, sizeof(*p));
        map_put(&n->ptrs, key, p);
    }
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->names[i], full) == 0) {
            p->refs[i]++;
            return;
        }
    p->names = xrealloc(p->names, (p->n + 1) * sizeof(*p->names));
    p->refs = xrealloc(p->refs, (p->n + 1) * sizeof(*p->refs));
    p->names[p->n] = take_ptr(full);
    p->refs[p->n++] = 1;
}

static void ptr_del(struct dns_names *n, const struct dns_addr *a, const char *name)
{
    char key[INET6_ADDRSTRLEN];
    addr_key(a, key);
    _cleanup_free_ char *full = xasprintf("%s.%s", name, n->network);
    struct ptrset *p = map_get(&n->ptrs, key);
    for (size_t i = 0; p && i < p->n; i++) {
        if (strcmp(p->names[i], full) != 0 || --p->refs[i] > 0)
            continue;
        free(p->names[i]);
        memmove(p->names + i, p->names + i + 1, (p->n - i - 1) * sizeof(*p->names));
        memmove(p->refs + i, p->refs + i + 1, (p->n - i - 1) * sizeof(*p->refs));
        p->n--;
        break;
    }
    if (p && p->n == 0) {
        map_del(&n->ptrs, key);
        free(p->names);
        free(p->refs);
        free(p);
    }
}

/* The endpoint's addresses as a list of one or two. */
static size_t endpoint_addrs(const struct in_addr *v4, const struct in6_addr *v6,
                             struct dns_addr out[2])
{
    size_t k = 0;
    if (v4)
        out[k++] = (struct dns_addr){.family = AF_INET, .v4 = *v4};
    if (v6)
        out[k++] = (struct dns_addr){.family = AF_INET6, .v6 = *v6};
    return k;
}

void dns_names_add(struct dns_names *n, const char *const *names, size_t count,
                   const struct in_addr *v4, const struct in6_addr *v6)
{
    struct dns_addr a[2];
    size_t na = endpoint_addrs(v4, v6, a);
    for (size_t i = 0; i < count; i++)
        for (size_t k = 0; k < na; k++) {
            name_add(n, names[i], &a[k]);
            if (i == 0)
                ptr_add(n, &a[k], names[0]);
        }
}

void dns_names_del(struct dns_names *n, const char *const *names, size_t count,
                   const struct in_addr *v4, const struct in6_addr *v6)
{
    struct dns_addr a[2];
    size_t na = endpoint_addrs(v4, v6, a);
    for (size_t i = 0; i < count; i++)
        for (size_t k = 0; k < na; k++) {
            name_del(n, names[i], &a[k]);
            if (i == 0)
                ptr_del(n, &a[k], names[0]);
        }
}

/* The name on the networks called network (any when NULL): the first that knows it. */
static int lookup(struct dns_names *const *nets, size_t n, const char *name, const char *network,
                  int family, struct dns_addr *out, int max)
{
    for (size_t i = 0; i < n; i++) {
        if (network && strcasecmp(network, nets[i]->network) != 0)
            continue;
        const struct rrset *s = map_get(&nets[i]->names, name);
        if (!s)
            continue;
        int k = 0;
        for (size_t j = 0; j < s->n && k < max; j++)
            if (s->v[j].a.family == family)
                out[k++] = s->v[j].a;
        return k;
    }
    return -1;
}

int dns_names_resolve(struct dns_names *const *nets, size_t n, const char *name, int family,
                      struct dns_addr *out, int max)
{
    int k = lookup(nets, n, name, NULL, family, out, max);
    if (k >= 0)
        return k;
    /* "a.b.c": "a.b" on network "c", then "a" on network "b.c". */
    char buf[DNS_TEXT_MAX + 1];
    size_t len = strlen(name);
    if (len > DNS_TEXT_MAX)
        return -1;
    memcpy(buf, name, len + 1);
    for (char *dot = strrchr(buf, '.'); dot; dot = strrchr(buf, '.')) {
        *dot = 0;
        k = lookup(nets, n, buf, name + (dot - buf) + 1, family, out, max);
        if (k >= 0)
            return k;
    }
    return -1;
}

const char *dns_names_reverse(struct dns_names *const *nets, size_t n, const struct dns_addr *a)
{
    char key[INET6_ADDRSTRLEN];
    addr_key(a, key);
    for (size_t i = 0; i < n; i++) {
        const struct ptrset *p = map_get(&nets[i]->ptrs, key);
        if (p && p->n > 0)
            return p->names[0];
    }
    return NULL;
}

static int view_name(void *ctx, const char *name, int family, struct dns_addr *out, int max)
{
    struct dns_names_view *v = ctx;
    for (size_t i = 0; i < v->nlinks; i++)
        if (!strcasecmp(name, v->link_alias[i]))
            return dns_names_resolve(v->nets, v->n, v->link_name[i], family, out, max);
    return dns_names_resolve(v->nets, v->n, name, family, out, max);
}

static const char *view_addr(void *ctx, const struct dns_addr *a)
{
    struct dns_names_view *v = ctx;
    return dns_names_reverse(v->nets, v->n, a);
}

struct dns_lookup dns_names_lookup(struct dns_names_view *v, bool ndots_set)
{
    return (struct dns_lookup){
        .name = view_name, .addr = view_addr, .ctx = v, .ndots_set = ndots_set};
}
