/* exec/ctrlinks.c — legacy links: parsed and checked at create, resolved at each start into
 * /etc/hosts lines and Docker's link variables, removed by docker rm --link, and the linking
 * containers' /etc/hosts following a linked container's new address. */
#include "exec/ctrlinks.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/xalloc.h"
#include "exec/ctrnet.h"
#include "exec/run.h"
#include "fs/atomic.h"

/* Set once a container with links started: only then can a start concern a linking container. */
static bool links_started;

int ctrlinks_parse(const char *val, char **name, char **alias, struct berth_err **err)
{
    if (!val || !*val)
        return berth_user_error(err, EINVAL, "empty string specified for links");
    const char *colon = strchr(val, ':');
    if (colon && strchr(colon + 1, ':'))
        return berth_user_error(err, EINVAL, "bad format for links: %s", val);
    if (!colon) {
        *name = xstrdup(val);
        *alias = xstrdup(val);
        return 0;
    }
    const char *a = colon + 1;
    if (val[0] == '/') { /* inspect's form: "/name:/parent/alias" */
        const char *slash = strrchr(a, '/');
        *name = xstrndup(val + 1, (size_t)(colon - val - 1));
        *alias = xstrdup(slash ? slash + 1 : a);
        return 0;
    }
    *name = xstrndup(val, (size_t)(colon - val));
    *alias = xstrdup(a);
    return 0;
}

/* ---- the variables ---- */

struct port {
    int num;
    char proto[16];
};

/* dockerd's withTCPPriority: tcp first, then by protocol, then by number. */
static int port_cmp(const void *pa, const void *pb)
{
    const struct port *a = pa, *b = pb;
    int same = strcmp(a->proto, b->proto);
    if (!same)
        return (a->num > b->num) - (a->num < b->num);
    if (!strcmp(a->proto, "tcp"))
        return -1;
    if (!strcmp(b->proto, "tcp"))
        return 1;
    return same;
}

static size_t collect_ports(const json_t *exposed, struct port **out)
{
    size_t n = 0;
    struct port *ports = xcalloc(json_object_size(exposed) + 1, sizeof(*ports));
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)exposed, key, v)
    {
        char *end;
        long num = strtol(key, &end, 10);
        if (end == key || num <= 0 || num > 65535)
            continue;
        const char *proto = *end == '/' ? end + 1 : "tcp";
        size_t k;
        for (k = 0; proto[k] && k + 1 < sizeof(ports[n].proto); k++)
            ports[n].proto[k] = (char)tolower((unsigned char)proto[k]);
        ports[n].num = (int)num;
        n++;
    }
    qsort(ports, n, sizeof(*ports), port_cmp);
    *out = ports;
    return n;
}

static void add(json_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(json_t *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    json_array_append_new(out, json_string(s));
    free(s);
}

static void upper(char *s)
{
    for (; *s; s++)
        *s = (char)toupper((unsigned char)*s);
}

void ctrlinks_env(const char *link_name, const char *child_ip, const json_t *child_env,
                  const json_t *exposed_ports, json_t *out)
{
    const char *base = strrchr(link_name, '/');
    _cleanup_free_ char *alias = xstrdup(base ? base + 1 : link_name);
    for (char *p = alias; *p; p++)
        *p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    _cleanup_free_ struct port *ports = NULL;
    size_t n = collect_ports(exposed_ports, &ports);
    struct port start = {0}, end = {0};
    for (size_t i = 0; i < n; i++) {
        const struct port *p = &ports[i];
        char up[16];
        if (i == 0) {
            start = end = *p;
            add(out, "%s_PORT=%s://%s:%d", alias, p->proto, child_ip, p->num);
        }
        memcpy(up, p->proto, sizeof(up));
        upper(up);
        add(out, "%s_PORT_%d_%s=%s://%s:%d", alias, p->num, up, p->proto, child_ip, p->num);
        add(out, "%s_PORT_%d_%s_ADDR=%s", alias, p->num, up, child_ip);
        add(out, "%s_PORT_%d_%s_PORT=%d", alias, p->num, up, p->num);
        add(out, "%s_PORT_%d_%s_PROTO=%s", alias, p->num, up, p->proto);
        /* a port next to the last one of the same protocol extends the range */
        if (p->num == end.num + 1 && !strcmp(p->proto, start.proto)) {
            end = *p;
            if (i + 1 < n)
                continue;
        }
        if (end.num != start.num || strcmp(end.proto, start.proto)) {
            memcpy(up, start.proto, sizeof(up));
            upper(up);
            add(out, "%s_PORT_%d_%s_START=%s://%s:%d", alias, start.num, up, start.proto, child_ip,
                start.num);
            add(out, "%s_PORT_%d_%s_PORT_START=%d", alias, start.num, up, start.num);
            add(out, "%s_PORT_%d_%s_END=%s://%s:%d", alias, start.num, up, end.proto, child_ip,
                end.num);
            add(out, "%s_PORT_%d_%s_PORT_END=%d", alias, start.num, up, end.num);
        }
        start = end = *p;
    }
    add(out, "%s_NAME=%s", alias, link_name);
    size_t i;
    json_t *v;
    json_array_foreach((json_t *)child_env, i, v)
    {
        const char *e = json_string_value(v), *eq = e ? strchr(e, '=') : NULL;
        if (!eq)
            continue;
        size_t klen = (size_t)(eq - e);
        /* what docker build adds, of no use to a linking container */
        if ((klen == 4 && !strncmp(e, "HOME", 4)) || (klen == 4 && !strncmp(e, "PATH", 4)))
            continue;
        add(out, "%s_ENV_%.*s=%s", alias, (int)klen, e, eq + 1);
    }
}

/* ---- create ---- */

static bool on_default(const json_t *hc)
{
    const char *mode = json_get_str(hc, "NetworkMode");
    return !mode || !*mode || !strcmp(mode, "default") || !strcmp(mode, "bridge");
}

/* The container whose network a link reaches: its own, or the one it shares (container:X). */
static int link_target(struct ctr_store *cs, const char *name, struct container **out,
                       struct berth_err **err)
{
    struct container *child = NULL;
    if (ctr_lookup(cs, name, &child, NULL) < 0) /* dockerd: invalid, not a missing image */
        return berth_user_error(
            err, EINVAL, "could not get container for %s: No such container: %s", name, name);
    for (int hops = 0; hops < 16; hops++) {
        const char *mode = json_get_str(child->host_config, "NetworkMode");
        if (!mode || strncmp(mode, "container:", 10) != 0)
            break;
        if (ctr_lookup(cs, mode + 10, &child, NULL) < 0)
            return berth_user_error(err, EINVAL,
                                    "could not get container for %s: No such container: %s",
                                    mode + 10, mode + 10);
    }
    const char *mode = json_get_str(child->host_config, "NetworkMode");
    if (mode && !strcmp(mode, "host"))
        return berth_user_error(err, EINVAL,
                                "conflicting options: host type networking can't be used with "
                                "links. This would result in undefined behavior");
    *out = child;
    return 0;
}

static bool has_alias(const json_t *links, const char *alias)
{
    size_t i;
    json_t *v;
    json_array_foreach(links, i, v)
    {
        const char *s = json_string_value(v), *slash = strrchr(s, '/');
        if (slash && !strcmp(slash + 1, alias))
            return true;
    }
    return false;
}

/* A user network's EndpointsConfig Links: parsed now, a DNS alias from the start on. */
static int settle_user(struct container *c, const json_t *body, struct berth_err **err)
{
    const char *mode = json_get_str(c->host_config, "NetworkMode");
    json_t *eps = json_object_get(json_object_get(body, "NetworkingConfig"), "EndpointsConfig");
    json_t *links = json_object_get(json_object_get(eps, mode), "Links"), *v;
    size_t i;
    json_array_foreach(links, i, v)
    {
        _cleanup_free_ char *name = NULL, *alias = NULL;
        if (ctrlinks_parse(json_string_value(v), &name, &alias, err) < 0)
            return -EINVAL;
    }
    if (json_array_size(links) && c->net_request)
        json_object_set(c->net_request, "Links", links);
    else if (json_array_size(links))
        c->net_request = json_pack("{sO}", "Links", links);
    /* dockerd registers no legacy link there: inspect shows none */
    json_object_set_new(c->host_config, "Links", json_null());
    return 0;
}

int ctrlinks_settle(struct ctr_store *cs, struct container *c, const json_t *body, bool icc,
                    struct berth_err **err)
{
    json_t *links = json_object_get(c->host_config, "Links"), *v;
    if (ctrnet_user_mode(json_get_str(c->host_config, "NetworkMode")))
        return settle_user(c, body, err);
    if (!json_array_size(links))
        return 0;
    if (!icc && on_default(c->host_config))
        return berth_user_error(err, EINVAL,
                                "HostConfig.Links (--link) with icc false is not supported yet: "
                                "berth does not open the linked ports through its firewall");
    _cleanup_json_ json_t *kept = json_array();
    size_t i;
    json_array_foreach(links, i, v)
    {
        _cleanup_free_ char *name = NULL, *alias = NULL;
        struct container *child = NULL;
        if (ctrlinks_parse(json_string_value(v), &name, &alias, err) < 0 ||
            link_target(cs, name, &child, err) < 0)
            return -EINVAL;
        if (has_alias(kept, alias)) { /* dockerd: the name /parent/alias is taken, ignored */
            log_warn("container %s: a second link as %s is ignored", c->name, alias);
            continue;
        }
        add(kept, "/%s:/%s/%s", child->name, c->name, alias);
    }
    json_object_set(c->host_config, "Links", kept);
    return 0;
}

/* ---- start ---- */

static const char *bridge_ip(const struct container *c)
{
    const char *ip = json_get_str(c->net, "IPAddress");
    return ip && *ip ? ip : NULL;
}

int ctrlinks_resolve(struct exec_env *env, const struct container *c, struct buf *hosts,
                     json_t **envs, struct berth_err **err)
{
    json_t *links = json_object_get(c->host_config, "Links"), *v;
    *envs = NULL;
    if (!json_array_size(links) || !ctrnet_on_bridge(c->host_config, env->default_bridge))
        return 0;
    links_started = true;
    _cleanup_json_ json_t *out = json_array();
    size_t i;
    json_array_foreach(links, i, v)
    {
        const char *s = json_string_value(v), *colon = strchr(s, ':');
        _cleanup_free_ char *name = NULL, *alias = NULL;
        if (ctrlinks_parse(s, &name, &alias, err) < 0)
            return -EINVAL;
        const char *link_name = colon + 1;
        struct container *child = ctr_by_name(env->cs, name);
        if (!child || (child->state.status != CTR_RUNNING && child->state.status != CTR_PAUSED))
            return berth_user_error(err, EIO, /* dockerd: a system error, 500 */
                                    "Cannot link to a non running container: /%s AS %s", name,
                                    link_name);
        const char *ip = bridge_ip(child);
        if (!ctrnet_on_bridge(child->host_config, env->default_bridge) || !ip)
            return berth_user_error(err, EIO,
                                    "Cannot link to /%s, as it does not belong to the default "
                                    "network",
                                    child->name);
        /* reachable by the alias, its hostname and its name */
        buf_printf(hosts, "%s\t%s %s", ip, alias, json_get_str(child->config, "Hostname") ?: "");
        if (strcmp(alias, child->name) != 0)
            buf_printf(hosts, " %s", child->name);
        buf_puts(hosts, "\n");
        ctrlinks_env(link_name, ip, json_object_get(child->config, "Env"),
                     json_object_get(child->config, "ExposedPorts"), out);
    }
    *envs = take_ptr(out);
    return 0;
}

/* ---- rm --link ---- */

int ctrlinks_remove(struct ctr_store *cs, const char *name, struct berth_err **err)
{
    const char *full = name[0] == '/' ? name + 1 : name, *slash = strrchr(full, '/');
    if (!slash)
        return 1;
    _cleanup_free_ char *parent_name = xstrndup(full, (size_t)(slash - full));
    struct container *parent = ctr_by_name(cs, parent_name);
    if (!parent) /* dockerd finds no container by the link's name first */
        return berth_user_error(err, ENOENT, "No such container: %s", name);
    json_t *links = json_object_get(parent->host_config, "Links"), *v;
    size_t i;
    json_array_foreach(links, i, v)
    {
        const char *colon = strchr(json_string_value(v), ':');
        if (colon && !strcmp(colon + 1 + (colon[1] == '/'), full)) {
            json_array_remove(links, i);
            ctr_save(parent, NULL, NULL);
            return 0;
        }
    }
    return berth_user_error(err, ENOENT, "No such container: %s", name);
}

/* ---- rename ---- */

void ctrlinks_renamed(struct ctr_store *cs, struct container *c, const char *old_name)
{
    struct container *o;
    for (size_t i = 0; (o = ctr_next(cs, &i));) {
        json_t *links = json_object_get(o->host_config, "Links"), *v;
        bool changed = false;
        size_t k;
        json_array_foreach(links, k, v)
        {
            _cleanup_free_ char *name = NULL, *alias = NULL;
            const char *s = json_string_value(v);
            if (!s || s[0] != '/' || ctrlinks_parse(s, &name, &alias, NULL) < 0)
                continue;
            bool child = !strcmp(name, old_name), parent = o == c;
            if (!child && !parent)
                continue;
            json_array_set_new(links, k,
                               json_sprintf("/%s:/%s/%s", child ? c->name : name, o->name, alias));
            changed = true;
        }
        if (changed && o != c)
            ctr_save(o, NULL, NULL);
    }
}

/* ---- a linked container's new address ---- */

struct hosts_job {
    struct pool_job job;
    char *path, *alias, *ip;
};

/* dockerd's etchosts.Update: the address of each line naming the alias first becomes ip. */
static char *rewrite(const char *text, const char *alias, const char *ip)
{
    struct buf out = {0};
    size_t alen = strlen(alias);
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n'), *end = nl ? nl + 1 : line + strlen(line);
        const char *tab = memchr(line, '\t', (size_t)(end - line));
        if (tab && (size_t)(end - tab) > alen + 1 && !strncmp(tab + 1, alias, alen) &&
            strchr(" \t\n.", tab[1 + alen]) && tab[1 + alen])
            buf_printf(&out, "%s%.*s", ip, (int)(end - tab), tab);
        else
            buf_printf(&out, "%.*s", (int)(end - line), line);
        line = end;
    }
    buf_reserve(&out, 1);
    out.data[out.len] = '\0';
    return out.data;
}

static void hosts_work(struct pool_job *job)
{
    struct hosts_job *h = (struct hosts_job *)job;
    _cleanup_free_ char *text = NULL;
    size_t len;
    if (fs_read_file(h->path, &text, &len, NULL) < 0)
        return;
    _cleanup_free_ char *next = rewrite(text, h->alias, h->ip);
    /* in place: the container has the file bind-mounted, a rename would not reach it */
    _cleanup_close_ int fd = open(h->path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0 || write(fd, next, strlen(next)) < 0)
        log_warn("updating %s for link %s: %s", h->path, h->alias, strerror(errno));
}

static void hosts_done(struct pool_job *job)
{
    struct hosts_job *h = (struct hosts_job *)job;
    free(h->path);
    free(h->alias);
    free(h->ip);
    free(h);
}

void ctrlinks_child_started(struct exec_env *env, const struct container *child, const char *ip)
{
    if (!links_started || !ip || !ctrnet_on_bridge(child->host_config, env->default_bridge))
        return;
    struct container *p;
    for (size_t i = 0; (p = ctr_next(env->cs, &i));) {
        if (p == child || !p->run || !ctrnet_on_bridge(p->host_config, env->default_bridge))
            continue;
        size_t k;
        json_t *v;
        json_array_foreach(json_object_get(p->host_config, "Links"), k, v)
        {
            _cleanup_free_ char *name = NULL, *alias = NULL;
            if (ctrlinks_parse(json_string_value(v), &name, &alias, NULL) < 0 ||
                strcmp(name, child->name) != 0)
                continue;
            struct hosts_job *h = xcalloc(1, sizeof(*h));
            *h = (struct hosts_job){.job = {.work = hosts_work, .done = hosts_done},
                                    .path = xasprintf("%s/hosts", p->dir),
                                    .alias = take_ptr(alias),
                                    .ip = xstrdup(ip)};
            pool_submit(env->pool, POOL_BULK, &h->job);
        }
    }
}
