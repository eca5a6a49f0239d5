/* handlers/router.c — routes are split into segments once; a request path is split the same
 * way and compared segment by segment. A {name*} segment takes everything up to the
 * literal segments that must end the path. */
#include "handlers/router.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

#define MAX_SEGS 16

struct seg {
    char *text;  /* literal text, or the parameter name */
    bool param;  /* {name} */
    bool greedy; /* {name*} */
};

struct compiled {
    const struct route *route;
    struct seg segs[MAX_SEGS];
    size_t nsegs;
    bool has_greedy;
};

struct router {
    struct compiled *routes;
    size_t n;
};

/* Split "/a/b/c" into pointers into a writable copy; empty segments are kept so a trailing
 * slash does not match a route without one (as gorilla/mux behaves for dockerd). */
static size_t split(char *path, char *segs[], size_t max)
{
    size_t n = 0;
    char *p = path + (path[0] == '/');
    while (n < max) {
        segs[n++] = p;
        char *slash = strchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
        p = slash + 1;
    }
    return n;
}

static void compile(struct compiled *c, const struct route *r)
{
    char *copy = xstrdup(r->pattern), *parts[MAX_SEGS];
    c->route = r;
    c->nsegs = split(copy, parts, MAX_SEGS);
    for (size_t i = 0; i < c->nsegs; i++) {
        char *s = parts[i];
        size_t len = strlen(s);
        struct seg *g = &c->segs[i];
        g->param = len > 2 && s[0] == '{' && s[len - 1] == '}';
        g->greedy = g->param && s[len - 2] == '*';
        g->text = g->param ? xstrndup(s + 1, len - 2 - g->greedy) : xstrdup(s);
        c->has_greedy |= g->greedy;
    }
    free(copy);
}

struct router *router_new(const struct route *routes, size_t n)
{
    struct router *rt = xcalloc(1, sizeof(*rt));
    rt->routes = xcalloc(n, sizeof(*rt->routes));
    rt->n = n;
    for (size_t i = 0; i < n; i++)
        compile(&rt->routes[i], &routes[i]);
    return rt;
}

void router_free(struct router *rt)
{
    if (!rt)
        return;
    for (size_t i = 0; i < rt->n; i++)
        for (size_t j = 0; j < rt->routes[i].nsegs; j++)
            free(rt->routes[i].segs[j].text);
    free(rt->routes);
    free(rt);
}

bool router_split_version(const char *path, char *version, size_t vlen, const char **rest)
{
    *rest = path;
    version[0] = '\0';
    if (strncmp(path, "/v", 2) != 0 || !isdigit((unsigned char)path[2]))
        return false;
    size_t n = strspn(path + 2, "0123456789.");
    if (path[2 + n] != '/' || n >= vlen)
        return false;
    memcpy(version, path + 2, n);
    version[n] = '\0';
    *rest = path + 2 + n;
    return true;
}

/* The next dotted component of a version. Anything but digits and a dot ends the version, so
 * the loop below always moves on (strtoul stopped at junk such as "1.x" and never returned). */
static unsigned long next_part(const char **s)
{
    unsigned long v = 0;
    while (isdigit((unsigned char)**s))
        v = v * 10 + (unsigned long)(*(*s)++ - '0');
    if (**s == '.')
        (*s)++;
    else
        *s += strlen(*s);
    return v;
}

int router_version_cmp(const char *a, const char *b)
{
    while (*a || *b) {
        unsigned long x = next_part(&a), y = next_part(&b);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}

/* Join segs[from..to) with '/'. */
static char *join(char *const segs[], size_t from, size_t to)
{
    size_t len = 0;
    for (size_t i = from; i < to; i++)
        len += strlen(segs[i]) + 1;
    char *out = xmalloc(len + 1), *p = out;
    for (size_t i = from; i < to; i++)
        p += sprintf(p, "%s%s", i > from ? "/" : "", segs[i]);
    *p = '\0';
    return out;
}

static bool match_one(const struct compiled *c, char *const segs[], size_t n,
                      char *params[ROUTER_MAX_PARAMS])
{
    size_t np = 0, si = 0;
    if (c->has_greedy ? n < c->nsegs : n != c->nsegs)
        return false;
    for (size_t i = 0; i < c->nsegs; i++) {
        const struct seg *g = &c->segs[i];
        size_t take = g->greedy ? n - (c->nsegs - 1) : 1; /* the rest end the path */
        if (!g->param && strcmp(g->text, segs[si]) != 0)
            goto fail;
        if (g->param) {
            if (segs[si][0] == '\0' || np == ROUTER_MAX_PARAMS)
                goto fail;
            params[np++] = join(segs, si, si + take);
        }
        si += take;
    }
    return true;
fail:
    /* NULL them too: the caller frees params whether or not a later route matches. */
    while (np > 0) {
        free(params[--np]);
        params[np] = NULL;
    }
    return false;
}

const struct route *router_match(const struct router *rt, const char *method, const char *path,
                                 char *params[ROUTER_MAX_PARAMS])
{
    /* As many slots as the path can have segments: a fixed array silently dropped the tail of
     * a longer path, so "/images/a/.../a/json/x" could match "/images/{name*}/json". */
    size_t max = 1;
    for (const char *p = path; *p; p++)
        max += *p == '/';
    char *copy = xstrdup(path), **segs = xmalloc(max * sizeof(*segs));
    size_t n = split(copy, segs, max);
    const struct route *found = NULL;
    for (size_t i = 0; i < ROUTER_MAX_PARAMS; i++)
        params[i] = NULL;
    for (size_t i = 0; i < rt->n && !found; i++)
        if (strcmp(rt->routes[i].route->method, method) == 0 &&
            match_one(&rt->routes[i], segs, n, params))
            found = rt->routes[i].route;
    free(segs);
    free(copy);
    return found;
}
