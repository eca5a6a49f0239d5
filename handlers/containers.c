/* handlers/containers.c — the container API group's create, inspect, list, rename and prune
 * endpoints, in the shapes the docker CLI reads. Lifecycle endpoints are in lifecycle.c. */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "exec/create.h"
#include "exec/ctrlinks.h"
#include "exec/effective.h"
#include "exec/execproc.h"
#include "exec/fields.h"
#include "exec/logconfig.h"
#include "exec/namespaces.h"
#include "exec/macaddr.h"
#include "exec/mounts.h"
#include "exec/run.h"
#include "exec/volumes.h"
#include "fs/image.h"
#include "fs/ref.h"
#include "fs/treesize.h"
#include "exec/ctrnet.h"
#include "handlers/api.h"
#include "handlers/daemon.h"
#include "handlers/handlers.h"
#include "net/network/usernet.h"
#include "handlers/filters.h"
#include "handlers/prune.h"
#include "net/network/ports.h"

/* ---- create ---- */

struct create_call {
    struct pool_job job;
    struct api_req *a;
    struct container *c;
    json_t *warnings;
    bool flush_layers; /* the image was pulled so recently that it may not be on disk yet */
    int res;
    struct berth_err *err;
};

static void create_work(struct pool_job *job)
{
    struct create_call *cc = (struct create_call *)job;
    if (cc->flush_layers) /* a container outlives a power cut only on layers that are on disk */
        layer_store_flush(cc->a->d->layers);
    cc->res = ctr_prepare_dir(cc->c, &cc->err);
}

static void create_done(struct pool_job *job)
{
    struct create_call *cc = (struct create_call *)job;
    if (cc->res < 0) {
        ctr_remove(cc->a->d->cs, cc->c);
        /* as dockerd's cleanup of a create that failed: the anonymous volumes made for it go */
        ctr_volumes_release(cc->a->d->volumes, cc->c, true, NULL, NULL);
        ctr_free(cc->c);
        api_reply_error(cc->a, cc->err);
    } else {
        events_container(cc->a->d->events, cc->c, "create", NULL);
        api_reply_json(cc->a, 201, json_pack("{ss sO}", "Id", cc->c->id, "Warnings", cc->warnings));
    }
    json_decref(cc->warnings);
    berth_err_free(cc->err);
    free(cc);
}

/* Its volumes exist (dockerd makes them at create): its directory and record next. */
static void volumes_made(void *ctx, int res, const struct berth_err *err)
{
    struct create_call *cc = ctx;
    if (res < 0) {
        cc->res = res;
        cc->err = berth_err_dup(err, "create volumes");
        return create_done(&cc->job);
    }
    pool_submit(cc->a->d->pool, POOL_LATENCY, &cc->job);
}

void containers_create(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_json_ json_t *body = NULL;
    _cleanup_free_ char *name = http_query_get(a->msg, "name");
    struct container *c;
    json_t *warnings = json_array();
    if (json_parse_body(a->msg->body.data, a->msg->body.len, false, &body, &err) < 0 ||
        macaddr_settle(body, api_version_before(a, "1.44"), warnings, &err) < 0 ||
        ctr_build(a->d->cs, a->d->images, body, name, warnings, &c, &err) < 0) {
        json_decref(warnings);
        return api_reply_error(a, err);
    }
    const char *mode = json_get_str(c->host_config, "NetworkMode");
    const char *missing =
        ctrnet_user_mode(mode) && !usernets_find(a->d->exec.nets, mode) ? mode : NULL;
    const char *more;
    json_t *req;
    json_object_foreach(c->net_more, more, req)
    {
        const struct usernet *un = usernets_find(a->d->exec.nets, more);
        if (un) /* what inspect shows before it runs */
            json_object_set_new(req, "NetworkID", json_string(un->id));
        missing = missing ?: (un ? NULL : more);
    }
    if (missing) {
        /* dockerd's words; a 400 rather than its 404, on which the CLI pulls the image */
        api_reply_errorf(a, 400, "network %s not found", missing);
        json_decref(warnings);
        ctr_free(c);
        return;
    }
    if (log_config_settle(c->host_config, a->d->exec.log_driver, a->d->exec.log_opts, &err) < 0 ||
        ns_settle(a->d->cs, c->host_config, a->d->exec.ipc_mode, a->d->exec.cgroupns_mode, &err) <
            0 ||
        ctrlinks_settle(a->d->cs, c, body, !a->d->exec.bridge || a->d->exec.bridge->cfg.icc, &err) <
            0 ||
        ctr_volumes_resolve(a->d->cs, a->d->volumes, c, &err) < 0) {
        ctr_free(c);
        json_decref(warnings);
        return api_reply_error(a, err);
    }
    ctr_add(a->d->cs, c, a->d->pool); /* the name is taken from now on */
    struct create_call *cc = xcalloc(1, sizeof(*cc));
    *cc = (struct create_call){.job = {.work = create_work, .done = create_done},
                               .a = a,
                               .c = c,
                               .warnings = warnings,
                               .flush_layers = layer_chain_unsynced(a->d->layers, c->image_chain)};
    api_async(a);
    ctr_volumes_create(a->d->volumes, c, volumes_made, cc);
}

/* ---- inspect ---- */

static json_t *state_json(const struct container *c)
{
    const struct ctr_state *s = &c->state;
    return json_pack("{ss sb sb sb sb sb si si ss ss ss}", "Status", ctr_status_name(s->status),
                     "Running", s->status == CTR_RUNNING || s->status == CTR_PAUSED, "Paused",
                     s->status == CTR_PAUSED, "Restarting", s->status == CTR_RESTARTING,
                     "OOMKilled", s->oom_killed, "Dead", s->status == CTR_DEAD, "Pid", s->pid,
                     "ExitCode", s->exit_code, "Error", s->error ? s->error : "", "StartedAt",
                     s->started_at ? s->started_at : TIME_ZERO, "FinishedAt",
                     s->finished_at ? s->finished_at : TIME_ZERO);
}

/* One network's endpoint as dockerd's EndpointSettings: the MAC address the container asked for
 * (--mac-address), a user network's --link and --network-alias, and, on the default bridge, what
 * its endpoint has (c->net: NetworkID once it ran there, address, gateway and MAC while it runs);
 * empty for none and host (no address). */
static json_t *endpoint_of(const struct container *c, const json_t *ep, const json_t *req)
{
    const char *mac = json_get_str(ep, "MacAddress") ?: json_get_str(c->config, "MacAddress");
    json_t *j = json_pack("{s:n s:n s:n ss s:n si ss ss ss ss sI ss ss si s:n}", "IPAMConfig",
                          "Links", "Aliases", "MacAddress", mac ?: "", "DriverOpts", "GwPriority",
                          0, "NetworkID", json_get_str(ep, "NetworkID") ?: "", "EndpointID",
                          json_get_str(ep, "EndpointID") ?: "", "Gateway",
                          json_get_str(ep, "Gateway") ?: "", "IPAddress",
                          json_get_str(ep, "IPAddress") ?: "", "IPPrefixLen",
                          (json_int_t)json_get_int(ep, "IPPrefixLen", 0), "IPv6Gateway", "",
                          "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "DNSNames");
    /* a user network's: --network-alias and its DNS names (exec/ctrnet.c); --ip as asked */
    json_t *aliases = json_object_get(req ? req : ep, "Aliases");
    if (json_array_size(aliases))
        json_object_set(j, "Aliases", aliases);
    json_t *links = json_object_get(req, "Links"); /* --link there: its DNS aliases */
    if (json_array_size(links))
        json_object_set(j, "Links", links);
    if (json_object_get(ep, "DNSNames"))
        json_object_set(j, "DNSNames", json_object_get(ep, "DNSNames"));
    const char *ip = req ? json_get_str(req, "IPv4Address") : NULL;
    if (ip)
        json_object_set_new(j, "IPAMConfig", json_pack("{ss}", "IPv4Address", ip));
    return j;
}

static json_t *endpoint_json(const struct container *c)
{
    return endpoint_of(c, c->net, c->net_request);
}

/* Config as inspect shows it: dockerd shows Config.MacAddress (deprecated) only for a network
 * of bridge's kind, the endpoint's MacAddress in every case. */
static json_t *config_json(const struct container *c)
{
    const char *mode = json_get_str(c->host_config, "NetworkMode") ?: "";
    if (!json_object_get(c->config, "MacAddress") ||
        (strcmp(mode, "none") != 0 && strcmp(mode, "host") != 0 && strncmp(mode, "container:", 10)))
        return json_incref(c->config);
    json_t *copy = json_copy(c->config);
    json_object_del(copy, "MacAddress");
    return copy;
}

/* The networks it is on, with their endpoints: none for --network container:X, which is on
 * X's (dockerd lists nothing there either). */
static json_t *networks_json(const struct container *c)
{
    const char *mode = ctr_network_mode(c);
    json_t *nets = json_object();
    if (strncmp(mode, "container:", 10) != 0 && ctrnet_on_network(c, mode))
        json_object_set_new(nets, mode, endpoint_json(c));
    const char *name; /* networks connected (eth1...): their endpoints while it runs */
    json_t *req, *extra = json_object_get(c->net, "Extra");
    json_object_foreach(c->net_more, name, req)
    {
        json_t *ep = json_object_get(extra, name);
        _cleanup_json_ json_t *stub =
            json_pack("{ss}", "NetworkID", json_get_str(req, "NetworkID") ?: "");
        json_object_set_new(nets, name, endpoint_of(c, ep ? ep : stub, req));
    }
    return nets;
}

/* NetworkSettings.Ports while it runs on the bridge: exposed ports, and where they are
 * published (exec/ctrnet.c keeps it in c->net); NULL otherwise (dockerd shows {} then). */
static json_t *running_ports(const struct container *c)
{
    json_t *p = c->state.pid > 0 && c->net ? json_object_get(c->net, "Ports") : NULL;
    return json_is_object(p) ? p : NULL;
}

/* dockerd's NetworkSettings: the base, the default network's fields (the bridge endpoint's
 * address while it runs; empty for none and host: no address, MacAddress ""), and the endpoint
 * per network. A running container in a network namespace of its own shows it as its
 * SandboxKey, a path nsenter and ip-netns take. */
static json_t *network_json(const struct container *c)
{
    const char *mode = ctr_network_mode(c);
    bool own_ns = c->state.pid > 0 && strcmp(mode, "host") != 0 && strncmp(mode, "container:", 10);
    json_t *j = json_pack(
        "{ss ss ss s{} sb ss si s:n s:n ss ss ss si ss si ss ss so}", "Bridge", "", "SandboxID", "",
        "SandboxKey", "", "Ports", "HairpinMode", 0, "LinkLocalIPv6Address", "",
        "LinkLocalIPv6PrefixLen", 0, "SecondaryIPAddresses", "SecondaryIPv6Addresses", "EndpointID",
        "", "Gateway", "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "IPAddress", "",
        "IPPrefixLen", 0, "IPv6Gateway", "", "MacAddress", "", "Networks", networks_json(c));
    if (own_ns)
        json_object_set_new(j, "SandboxKey", json_sprintf("/proc/%d/ns/net", c->state.pid));
    json_t *ports = running_ports(c);
    if (ports)
        json_object_set_new(j, "Ports", json_incref(ports));
    if (strcmp(mode, "bridge") == 0 && c->net) { /* dockerd's top-level copy, default bridge only */
        static const char *const keys[] = {"EndpointID", "Gateway", "IPAddress", "MacAddress"};
        for (size_t i = 0; i < 4; i++)
            json_object_set_new(j, keys[i], json_string(json_get_str(c->net, keys[i]) ?: ""));
        json_object_set_new(j, "IPPrefixLen", json_integer(json_get_int(c->net, "IPPrefixLen", 0)));
    }
    return j;
}

/* The overlay's real directories: each image layer's diff (top first, as the lowerdir lists
 * them), and the container's own upper, work and merged dirs. */
static json_t *graph_driver(struct api_req *a, const struct container *c)
{
    struct layer_store *ls = a->d->layers;
    struct buf abs = {0};
    for (struct layer *l = c->image_chain && *c->image_chain ? layer_get(ls, c->image_chain) : NULL;
         l; l = l->parent[0] ? layer_get(ls, l->parent) : NULL)
        buf_printf(&abs, "%s%s/%s/diff", abs.len ? ":" : "", layer_store_dir(ls), l->link);
    json_t *data = json_pack("{ss ss ss ss}", "LowerDir", abs.data ? abs.data : "", "MergedDir", "",
                             "UpperDir", "", "WorkDir", "");
    json_object_set_new(data, "MergedDir", json_sprintf("%s/merged", c->dir));
    json_object_set_new(data, "UpperDir", json_sprintf("%s/upper", c->dir));
    json_object_set_new(data, "WorkDir", json_sprintf("%s/work", c->dir));
    buf_free(&abs);
    return json_pack("{so ss}", "Data", data, "Name", "overlay2");
}

/* Its execs that have not exited (created or running), as dockerd lists them; null for none. */
static json_t *exec_ids(const struct container *c)
{
    json_t *ids = NULL;
    for (const struct execproc *e = c->execs; e; e = e->ctr_next) {
        if (e->state == EXECPROC_EXITED)
            continue;
        if (!ids)
            ids = json_array();
        json_array_append_new(ids, json_string(e->id));
    }
    return ids ? ids : json_null();
}

static json_t *inspect(struct api_req *a, const struct container *c)
{
    _cleanup_free_ char *log_path =
        log_config_enabled(c->host_config) ? ctr_log_path(c) : xstrdup("");
    const char *etc = ns_etc_dir(a->d->cs, c); /* --network container:X: X's files */
    json_t *j = json_pack(
        "{ss ss ss sO so ss so so so so ss si ss ss ss ss ss so so so so so so}", "Id", c->id,
        "Created", c->created, "Path", c->path, "Args", c->args, "State", state_json(c), "Image",
        c->image_id, "ResolvConfPath", json_sprintf("%s/resolv.conf", etc), "HostnamePath",
        json_sprintf("%s/hostname", etc), "HostsPath", json_sprintf("%s/hosts", etc), "LogPath",
        json_string(log_path), "Name", "", "RestartCount", c->state.restart_count, "Driver",
        "overlay2", "Platform", "linux", "MountLabel", "", "ProcessLabel", "", "AppArmorProfile",
        "", "ExecIDs", exec_ids(c), "HostConfig", ctr_effective_host_config(c), "GraphDriver",
        graph_driver(a, c), "Mounts", ctr_mount_points(c), "Config", config_json(c),
        "NetworkSettings", network_json(c));
    json_object_set_new(j, "Name", json_sprintf("/%s", c->name));
    if (c->trace) /* berth's own: how long each phase of the last start took */
        json_object_set(j, "StartTrace", c->trace);
    return j;
}

/* ---- sizes (?size=1 on list and inspect) ---- */

/* SizeRw (the writable layer's bytes) and SizeRootFs (with the image's) for each reply object,
 * walked on a bulk pool thread: the objects stay with the reactor, the walk sees only paths. */
struct sizes {
    json_t *reply;
    size_t n;
    struct {
        json_t *obj; /* in reply */
        char *upper;
        int64_t image, rw;
    } items[];
};

static void sizes_work(struct api_task *t)
{
    struct sizes *z = t->data;
    for (size_t i = 0; i < z->n; i++)
        z->items[i].rw = fs_tree_size(z->items[i].upper);
}

static void sizes_done(struct api_task *t)
{
    struct sizes *z = t->data;
    for (size_t i = 0; i < z->n; i++) {
        json_object_set_new(z->items[i].obj, "SizeRw", json_integer(z->items[i].rw));
        json_object_set_new(z->items[i].obj, "SizeRootFs",
                            json_integer(z->items[i].rw + z->items[i].image));
        free(z->items[i].upper);
    }
    api_reply_json(t->a, 200, z->reply);
    free(z);
}

static struct sizes *sizes_new(json_t *reply, size_t n)
{
    struct sizes *z = xcalloc(1, sizeof(*z) + n * sizeof(z->items[0]));
    z->reply = reply;
    return z;
}

static void sizes_add(struct api_req *a, struct sizes *z, json_t *obj, const struct container *c)
{
    struct image *img = image_get(a->d->images, c->image_id);
    z->items[z->n].obj = obj;
    z->items[z->n].upper = xasprintf("%s/upper", c->dir);
    z->items[z->n].image = img ? (int64_t)img->size : 0;
    z->n++;
}

void containers_inspect(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct container *c;
    if (ctr_lookup(a->d->cs, a->params[0], &c, &err) < 0)
        return api_reply_error(a, err);
    json_t *j = inspect(a, c);
    if (!http_query_bool(a->msg, "size"))
        return api_reply_json(a, 200, j);
    struct sizes *z = sizes_new(j, 1);
    sizes_add(a, z, j, c);
    api_task_run(a, POOL_BULK, sizes_work, sizes_done, z);
}

/* ---- list ---- */

/* go-units' HumanDuration, as `docker ps` shows ages. */
static char *human_duration(int64_t secs)
{
    if (secs < 1)
        return xstrdup("Less than a second");
    if (secs == 1)
        return xstrdup("1 second");
    if (secs < 60)
        return xasprintf("%lld seconds", (long long)secs);
    int64_t mins = secs / 60, hours = mins / 60;
    if (mins == 1)
        return xstrdup("About a minute");
    if (mins < 60)
        return xasprintf("%lld minutes", (long long)mins);
    if (hours < 2)
        return xstrdup("About an hour");
    if (hours < 48)
        return xasprintf("%lld hours", (long long)hours);
    if (hours < 24 * 7 * 2)
        return xasprintf("%lld days", (long long)(hours / 24));
    if (hours < 24 * 30 * 2)
        return xasprintf("%lld weeks", (long long)(hours / 24 / 7));
    if (hours < 24 * 365 * 2)
        return xasprintf("%lld months", (long long)(hours / 24 / 30));
    return xasprintf("%lld years", (long long)(hours / 24 / 365));
}

static int64_t age(const char *t)
{
    int64_t ns = time_parse_rfc3339(t);
    return ns > 0 ? (time_now_ns() - ns) / 1000000000 : 0;
}

static char *status_text(const struct container *c)
{
    const struct ctr_state *s = &c->state;
    _cleanup_free_ char *up = human_duration(age(s->started_at));
    _cleanup_free_ char *ago = human_duration(age(s->finished_at));
    switch (s->status) {
    case CTR_RUNNING:
        return xasprintf("Up %s", up);
    case CTR_PAUSED:
        return xasprintf("Up %s (Paused)", up);
    case CTR_RESTARTING:
        return xasprintf("Restarting (%d) %s ago", s->exit_code, ago);
    case CTR_REMOVING:
        return xstrdup("Removal In Progress");
    case CTR_DEAD:
        return xstrdup("Dead");
    case CTR_EXITED:
        return s->finished_at ? xasprintf("Exited (%d) %s ago", s->exit_code, ago)
                              : xstrdup("Created");
    default:
        return xstrdup("Created");
    }
}

/* Path and Args as dockerd's list shows them: an argument with a space in single quotes. */
static char *command_text(const struct container *c)
{
    struct buf b = {0};
    buf_puts(&b, c->path);
    size_t i;
    json_t *v;
    json_array_foreach(c->args, i, v)
    {
        const char *arg = json_string_value(v) ?: "";
        buf_printf(&b, strchr(arg, ' ') ? " '%s'" : " %s", arg);
    }
    buf_reserve(&b, 0);
    return buf_steal(&b, NULL);
}

static json_t *summary(const struct container *c)
{
    _cleanup_free_ char *status = status_text(c), *cmd = command_text(c);
    json_t *labels = json_object_get(c->config, "Labels");
    int64_t created = time_parse_rfc3339(c->created);
    json_t *s = json_pack("{ss s[o] ss ss ss sI s[] so ss ss s{ss} s{so} so}", "Id", c->id, "Names",
                          json_sprintf("/%s", c->name), "Image",
                          json_get_str(c->config, "Image") ?: "", "ImageID", c->image_id, "Command",
                          cmd, "Created", (json_int_t)(created / 1000000000), "Ports", "Labels",
                          json_is_object(labels) ? json_incref(labels) : json_object(), "State",
                          ctr_status_name(c->state.status), "Status", status, "HostConfig",
                          "NetworkMode", ctr_network_mode(c), "NetworkSettings", "Networks",
                          networks_json(c), "Mounts", ctr_mount_points(c));
    json_t *ports = running_ports(c);
    if (ports)
        json_object_set_new(s, "Ports", ports_summary_json(ports));
    return s;
}

json_t *containers_summary(const struct container *c)
{
    return summary(c);
}

struct ps_opts {
    json_t *f;
    bool all;
    bool is_task;          /* is-task=true: swarm tasks only, and berth runs none */
    int64_t before, since; /* created-at bounds from before=/since= containers */
    struct label_match labels;
};

static bool any_value(const json_t *f, const char *key, bool (*match)(const char *v, void *arg),
                      void *arg)
{
    json_t *vals = filters_values(f, key), *v;
    size_t i;
    if (!json_array_size(vals))
        return true;
    json_array_foreach(vals, i, v) if (match(json_string_value(v), arg)) return true;
    return false;
}

static bool match_id(const char *v, void *arg)
{
    return strncmp(((struct container *)arg)->id, v, strlen(v)) == 0;
}

/* moby's Args.Match: the exact value, or a regular expression that matches somewhere in s (a
 * value that does not compile matches nothing). */
static bool matches(const char *v, const char *s)
{
    regex_t re;
    if (strcmp(v, s) == 0)
        return true;
    if (regcomp(&re, v, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool hit = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return hit;
}

/* dockerd's name filter: matched against "/name" and "name". */
static bool match_name(const char *v, void *arg)
{
    const char *name = ((struct container *)arg)->name;
    _cleanup_free_ char *slashed = xasprintf("/%s", name);
    return matches(v, slashed) || matches(v, name);
}

/* Every berth container runs with Linux's one isolation, "default" (HostConfig.Isolation
 * empty), which dockerd's Windows-only filter compares with. */
static bool match_isolation(const char *v, void *arg)
{
    const char *iso = json_get_str(((struct container *)arg)->host_config, "Isolation");
    return matches(v, iso && *iso ? iso : "default");
}

/* network=NAME: the networks the container is really on (see ctr_network_mode). */
static bool match_network(const char *v, void *arg)
{
    const struct container *c = arg;
    if (ctrnet_on_network(c, v))
        return true;
    const char *id = json_get_str(c->net, "NetworkID"), *name; /* or by ID, as dockerd */
    json_t *ep;
    if (id && *id && !strcmp(id, v))
        return true;
    json_object_foreach(json_object_get(c->net, "Extra"), name, ep)
    {
        if (!strcmp(json_get_str(ep, "NetworkID") ?: "", v))
            return true;
    }
    return false;
}

/* volume=X: a mount point whose destination is X, or whose volume name (a bind's source) is. */
static bool match_volume(const char *v, void *arg)
{
    _cleanup_json_ json_t *points = ctr_mount_points(arg);
    size_t i;
    json_t *m;
    json_array_foreach(points, i, m)
    {
        const char *name = json_get_str(m, "Name");
        if (!strcmp(v, json_get_str(m, "Destination") ?: "") ||
            !strcmp(v, name && *name ? name : json_get_str(m, "Source") ?: ""))
            return true;
    }
    return false;
}

static bool match_status(const char *v, void *arg)
{
    return strcmp(ctr_status_name(((struct container *)arg)->state.status), v) == 0;
}

static bool match_exited(const char *v, void *arg)
{
    struct container *c = arg;
    return c->state.status == CTR_EXITED && c->state.exit_code == strtoll(v, NULL, 10);
}

struct ancestor {
    struct api_req *a;
    struct container *c;
};

/* ancestor=IMAGE: the container's image named by tag, ID or reference. */
static bool match_ancestor(const char *v, void *arg)
{
    struct ancestor *an = arg;
    struct image *img;
    return image_find(an->a->d->images, v, &img, NULL) == 0 &&
           strcmp(img->id, an->c->image_id) == 0;
}

/* publish=/expose= values, as dockerd's portOp reads them: PORT or START-END, then /PROTO (tcp
 * when absent); dockerd's words for one that is not. */
struct port_filter {
    unsigned long lo, hi;
    char proto[16];
};

static int port_filter_parse(const char *key, const char *v, struct port_filter *pf,
                             struct berth_err **err)
{
    const char *slash = strchr(v, '/');
    _cleanup_free_ char *num = xstrndup(v, slash ? (size_t)(slash - v) : strlen(v));
    snprintf(pf->proto, sizeof(pf->proto), "%s", slash && slash[1] ? slash + 1 : "tcp");
    if (strchr(v, ':'))
        return berth_user_error(err, EINVAL, "filter for '%s' should not contain ':': %s", key, v);
    if (!*num)
        return berth_user_error(err, EINVAL,
                                "error while looking up for %s %s: empty string specified for "
                                "ports",
                                key, v);
    char *dash = strchr(num, '-');
    if (dash)
        *dash = 0;
    const char *parts[2] = {num, dash ? dash + 1 : num};
    unsigned long *n[2] = {&pf->lo, &pf->hi};
    for (int i = 0; i < 2; i++) {
        char *end;
        errno = 0;
        *n[i] = strtoul(parts[i], &end, 10);
        if (!isdigit((unsigned char)parts[i][0]) || *end || errno || *n[i] > 65535)
            return berth_user_error(err, EINVAL,
                                    "error while looking up for %s %s: strconv.ParseUint: "
                                    "parsing \"%s\": invalid syntax",
                                    key, v, parts[i]);
    }
    if (pf->hi < pf->lo)
        return berth_user_error(err, EINVAL,
                                "error while looking up for %s %s: invalid range specified for "
                                "port: %s-%s",
                                key, v, parts[0], parts[1]);
    return 0;
}

/* One of the listed ports of c (GET /containers/json's Ports: a running container's) has its
 * public port in a publish= value or its private port in an expose= value (dockerd's
 * includeContainerInList). No such filter: true. */
static bool match_ports(const json_t *f, const struct container *c)
{
    json_t *pub = filters_values(f, "publish"), *exp = filters_values(f, "expose"), *p, *v;
    if (!json_array_size(pub) && !json_array_size(exp))
        return true;
    json_t *settings = running_ports(c);
    _cleanup_json_ json_t *list = settings ? ports_summary_json(settings) : NULL;
    size_t i, k;
    json_array_foreach(list, i, p)
    {
        const char *type = json_get_str(p, "Type") ?: "";
        for (int which = 0; which < 2; which++) {
            int64_t port = json_get_int(p, which ? "PrivatePort" : "PublicPort", 0);
            json_array_foreach(which ? exp : pub, k, v)
            {
                struct port_filter pf;
                if (port_filter_parse("", json_string_value(v), &pf, NULL) == 0 &&
                    port >= (int64_t)pf.lo && port <= (int64_t)pf.hi && !strcmp(type, pf.proto))
                    return true;
            }
        }
    }
    return false;
}

static bool keep(struct api_req *a, struct container *c, const struct ps_opts *o)
{
    int64_t created = time_parse_rfc3339(c->created);
    struct ancestor an = {a, c};
    if (!o->all && c->state.status != CTR_RUNNING && c->state.status != CTR_PAUSED &&
        !filters_has(o->f, "status") && !filters_has(o->f, "exited"))
        return false;
    return any_value(o->f, "id", match_id, c) && any_value(o->f, "name", match_name, c) &&
           any_value(o->f, "status", match_status, c) &&
           any_value(o->f, "exited", match_exited, c) &&
           any_value(o->f, "ancestor", match_ancestor, &an) &&
           any_value(o->f, "isolation", match_isolation, c) &&
           any_value(o->f, "network", match_network, c) &&
           any_value(o->f, "volume", match_volume, c) && match_ports(o->f, c) && !o->is_task &&
           label_match(&o->labels, json_object_get(c->config, "Labels")) &&
           (o->before < 0 || created < o->before) && (o->since < 0 || created > o->since);
}

/* The values dockerd checks before it lists: exit codes are integers, states are states. */
static int check_values(const json_t *f, struct berth_err **err)
{
    size_t k;
    json_t *v;
    json_array_foreach(filters_values(f, "exited"), k, v)
    {
        const char *code = json_string_value(v);
        char *end;
        errno = 0;
        (void)!strtoll(code, &end, 10);
        if (!*code || *end || errno)
            return berth_user_error(
                err, EINVAL, "invalid filter 'exited=%s': strconv.Atoi: parsing \"%s\": %s", code,
                code, *code && !*end ? "value out of range" : "invalid syntax");
    }
    static const char *const port_keys[] = {"publish", "expose"};
    for (size_t p = 0; p < 2; p++) {
        json_array_foreach(filters_values(f, port_keys[p]), k, v)
        {
            struct port_filter pf;
            int r = port_filter_parse(port_keys[p], json_string_value(v), &pf, err);
            if (r < 0)
                return r;
        }
    }
    json_array_foreach(filters_values(f, "status"), k, v)
    {
        const char *st = json_string_value(v);
        bool known = false;
        for (int s = 0; s <= CTR_DEAD && !known; s++)
            known = strcmp(st, ctr_status_name((enum ctr_status)s)) == 0;
        if (!known)
            return berth_user_error(err, EINVAL,
                                    "invalid filter 'status=%s': invalid value for state (%s): "
                                    "must be one of created, running, paused, restarting, "
                                    "removing, exited, dead",
                                    st, st);
    }
    return 0;
}

static int bound(struct api_req *a, const json_t *f, const char *key, int64_t *out,
                 struct berth_err **err)
{
    json_t *v = filters_values(f, key);
    struct container *c;
    *out = -1;
    if (!json_array_size(v))
        return 0;
    int r = ctr_lookup(a->d->cs, json_string_value(json_array_get(v, 0)), &c, err);
    if (r < 0)
        return r;
    *out = time_parse_rfc3339(c->created);
    return 0;
}

struct by_created {
    int64_t ns;
    struct container *c;
};

/* Newest first, to the nanosecond as dockerd sorts (Created in the reply is whole seconds). */
static int by_created_desc(const void *x, const void *y)
{
    const struct by_created *a = x, *b = y;
    return a->ns < b->ns ? 1 : a->ns > b->ns ? -1 : strcmp(a->c->id, b->c->id);
}

void containers_list(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct ps_opts o = {.all = http_query_bool(a->msg, "all")};
    if (filters_parse(a->msg, FILTERS_CONTAINER_LIST, &o.f, &err) < 0)
        return api_reply_error(a, err);
    _cleanup_json_ json_t *f = o.f;
    if (check_values(f, &err) < 0 || filters_bool(f, "is-task", false, &o.is_task, &err) < 0)
        return api_reply_error(a, err);
    _cleanup_free_ char *limit_s = http_query_get(a->msg, "limit");
    long limit = limit_s ? atol(limit_s) : -1;
    if (limit > 0)
        o.all = true; /* -n / -l look at every container */
    if (bound(a, f, "before", &o.before, &err) < 0 || bound(a, f, "since", &o.since, &err) < 0)
        return api_reply_error(a, err);
    label_match_init(&o.labels, json_object_get(f, "label"), NULL);
    _cleanup_free_ struct by_created *found = NULL;
    size_t n = 0, cap = 0;
    struct container *c;
    for (size_t i = 0; (c = ctr_next(a->d->cs, &i));) {
        if (c->state.status == CTR_REMOVING || !keep(a, c, &o))
            continue;
        if (n == cap)
            found = xrealloc(found, (cap = cap ? cap * 2 : 16) * sizeof(*found));
        found[n++] = (struct by_created){time_parse_rfc3339(c->created), c};
    }
    label_match_free(&o.labels);
    if (n)
        qsort(found, n, sizeof(*found), by_created_desc);
    if (limit > 0 && n > (size_t)limit)
        n = (size_t)limit;
    json_t *list = json_array();
    bool sizes = http_query_bool(a->msg, "size") && n > 0;
    struct sizes *z = sizes ? sizes_new(list, n) : NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *s = summary(found[i].c);
        json_array_append_new(list, s);
        if (z)
            sizes_add(a, z, s, found[i].c);
    }
    if (!z)
        return api_reply_json(a, 200, list);
    api_task_run(a, POOL_BULK, sizes_work, sizes_done, z);
}

/* ---- rename and prune ---- */

struct rename_call {
    struct api_req *a;
    char id[65];
    char *old_name;
};

static void renamed(void *ctx, int res, const struct berth_err *err)
{
    struct rename_call *rc = ctx;
    struct container *c = NULL;
    if (res >= 0 && ctr_lookup(rc->a->d->cs, rc->id, &c, NULL) == 0)
        events_container(rc->a->d->events, c, "rename", json_pack("{ss}", "oldName", rc->old_name));
    if (res < 0)
        api_reply_error(rc->a, err);
    else
        api_reply_status(rc->a, 204);
    free(rc->old_name);
    free(rc);
}

void containers_rename(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_free_ char *name = http_query_get(a->msg, "name");
    struct container *c;
    if (ctr_lookup(a->d->cs, a->params[0], &c, &err) < 0)
        return api_reply_error(a, err);
    if (!name || !*name)
        return api_reply_errorf(a, 400, "Neither old nor new names may be empty");
    const char *n = name[0] == '/' ? name + 1 : name;
    if (strcmp(n, c->name) == 0)
        return api_reply_errorf(a, 409,
                                "Renaming a container with the same name as its current "
                                "name");
    if (ctr_check_name(a->d->cs, n, &err) < 0) {
        berth_error_wrap(&err, "Error when allocating new name"); /* dockerd's rename words */
        return api_reply_error(a, err);
    }
    struct rename_call *rc = xcalloc(1, sizeof(*rc));
    *rc = (struct rename_call){.a = a, .old_name = xstrdup(c->name)};
    memcpy(rc->id, c->id, sizeof(rc->id));
    ctr_rename(a->d->cs, c, n);
    ctrlinks_renamed(a->d->cs, c, rc->old_name);
    api_async(a);
    ctr_save(c, renamed, rc);
}

static bool prunable(const struct container *c)
{
    return !c->run && !c->starting && c->state.status != CTR_REMOVING;
}

static int prune_one(struct api_req *a, const char *id, prune_removed_fn removed, void *ctx,
                     struct berth_err **err)
{
    struct container *c = NULL;
    if (ctr_lookup(a->d->cs, id, &c, NULL) < 0 || strcmp(c->id, id) || !prunable(c))
        return 0;
    int r = ctr_remove_async(&a->d->exec, c, false, removed, ctx, err);
    return r < 0 ? r : 1;
}

static const struct prune_ops container_prune_ops = {.what = "container",
                                                     .type = EVENT_CONTAINER,
                                                     .deleted_key = "ContainersDeleted",
                                                     .null_when_none = true,
                                                     .remove = prune_one};

/* Stopped containers go, those created by until= and with the labels label= and label!= ask,
 * as dockerd's container prune takes them. */
void containers_prune(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_json_ json_t *f = NULL;
    struct prune_match m;
    if (filters_parse(a->msg, FILTERS_CONTAINER_PRUNE, &f, &err) < 0 ||
        filters_prune(f, false, &m, &err) < 0)
        return api_reply_error(a, err);
    struct prune *p = prune_new(a, &container_prune_ops, ctr_count(a->d->cs, -1));
    struct container *c;
    for (size_t i = 0; (c = ctr_next(a->d->cs, &i));)
        if (prunable(c) &&
            prune_match(&m, time_parse_rfc3339(c->created), json_object_get(c->config, "Labels")))
            prune_add(p, c->id, xasprintf("%s/upper", c->dir)); /* what removing it frees */
    prune_match_free(&m);
    prune_run(p);
}
