/* exec/create.c — dockerd's create rules: the request checked (exec/verify.c), Env entries
 * override the image's by key, a given Entrypoint drops the image's Cmd, the hostname is the
 * short ID, the runtime is dockerd's default name. */
#include "exec/create.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/crashpoint.h"
#include "core/json.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "exec/ctrnet.h"
#include "exec/devices.h"
#include "exec/fields.h"
#include "exec/mounts.h"
#include "exec/verify.h"
#include "fs/atomic.h"

/* KEY=VALUE lists: later entries replace earlier ones with the same KEY. */
static json_t *merge_env(const json_t *image_env, const json_t *env)
{
    json_t *out = json_array(), *e;
    size_t i;
    const json_t *lists[] = {image_env, env};
    for (size_t l = 0; l < 2; l++) {
        json_array_foreach(lists[l], i, e)
        {
            const char *s = json_string_value(e);
            if (!s)
                continue;
            size_t klen = strcspn(s, "=");
            size_t k;
            json_t *have;
            bool replaced = false;
            json_array_foreach(out, k, have)
            {
                const char *h = json_string_value(have);
                if (strncmp(h, s, klen) == 0 && (h[klen] == '=' || h[klen] == '\0')) {
                    json_array_set(out, k, e);
                    replaced = true;
                    break;
                }
            }
            if (!replaced)
                json_array_append(out, e);
        }
    }
    return out;
}

static bool empty_list(const json_t *a)
{
    return !a || json_is_null(a) || (json_is_array(a) && json_array_size(a) == 0);
}

static void merge_object(json_t *config, const char *key, const json_t *image_value)
{
    json_t *mine = json_object_get(config, key);
    if (!json_is_object(image_value))
        return;
    if (!json_is_object(mine)) {
        json_object_set_new(config, key, json_deep_copy(image_value));
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)image_value, k, v) if (!json_object_get(mine, k))
        json_object_set(mine, k, v);
}

static void inherit_string(json_t *config, const json_t *image, const char *key)
{
    const char *mine = json_get_str(config, key), *theirs = json_get_str(image, key);
    if ((!mine || !*mine) && theirs)
        json_object_set_new(config, key, json_string(theirs));
}

/* The image's defaults where the request left a field empty. */
static void merge_image(json_t *config, const json_t *image)
{
    json_object_set_new(config, "Env",
                        merge_env(json_object_get(image, "Env"), json_object_get(config, "Env")));
    /* dockerd: without an entrypoint of its own, the container takes the image's Cmd (when
     * it has none) and the image's Entrypoint (unless it reset it to an empty list) */
    json_t *ep = json_object_get(config, "Entrypoint"),
           *img_ep = json_object_get(image, "Entrypoint");
    json_t *img_cmd = json_object_get(image, "Cmd");
    const char *ep0 = json_string_value(json_array_get(ep, 0));
    bool reset = json_array_size(ep) == 1 && ep0 && !*ep0; /* --entrypoint "" */
    if (empty_list(ep)) {
        if (empty_list(json_object_get(config, "Cmd")))
            json_object_set(config, "Cmd", img_cmd ? img_cmd : json_null());
        if ((!ep || json_is_null(ep)) && img_ep)
            json_object_set(config, "Entrypoint", img_ep);
    }
    if (reset) /* neither the image's entrypoint nor its Cmd: the request's Cmd alone */
        json_object_set_new(config, "Entrypoint", json_null());
    inherit_string(config, image, "WorkingDir");
    inherit_string(config, image, "User");
    inherit_string(config, image, "StopSignal");
    merge_object(config, "ExposedPorts", json_object_get(image, "ExposedPorts"));
    merge_object(config, "Volumes", json_object_get(image, "Volumes"));
    merge_object(config, "Labels", json_object_get(image, "Labels"));
    if (!json_object_get(config, "Healthcheck") && json_object_get(image, "Healthcheck"))
        json_object_set(config, "Healthcheck", json_object_get(image, "Healthcheck"));
}

/* Entrypoint + Cmd: the first word is the Path, the rest the Args. */
static int command_of(const json_t *config, char **path, json_t **args, struct berth_err **err)
{
    json_t *all = json_array(), *v;
    size_t i;
    json_array_foreach(json_object_get(config, "Entrypoint"), i, v) json_array_append(all, v);
    json_array_foreach(json_object_get(config, "Cmd"), i, v) json_array_append(all, v);
    const char *first = json_string_value(json_array_get(all, 0));
    if (!first || !*first) {
        json_decref(all);
        return berth_user_error(err, EINVAL, "No command specified"); /* dockerd's case */
    }
    *path = xstrdup(first);
    json_array_remove(all, 0);
    *args = all;
    return 0;
}

/* What a user network's EndpointsConfig entry asks for (--ip, --network-alias, gw-priority). */
json_t *ctr_endpoint_request(const json_t *ep)
{
    json_t *req = json_object();
    const char *ip = json_get_str(json_object_get(ep, "IPAMConfig"), "IPv4Address");
    if (ip && *ip)
        json_object_set_new(req, "IPv4Address", json_string(ip));
    if (json_is_array(json_object_get(ep, "Aliases")))
        json_object_set(req, "Aliases", json_object_get(ep, "Aliases"));
    if (json_integer_value(json_object_get(ep, "GwPriority")))
        json_object_set(req, "GwPriority", json_object_get(ep, "GwPriority"));
    return req;
}

/* A user network's endpoint settings, kept for its starts; the other user networks of
 * EndpointsConfig (docker run --network a --network b) join at start as connected ones. */
static void keep_endpoint_request(struct container *c, const json_t *body)
{
    const char *mode = json_get_str(c->host_config, "NetworkMode");
    json_t *eps = json_object_get(json_object_get(body, "NetworkingConfig"), "EndpointsConfig");
    const char *name;
    json_t *ep;
    json_object_foreach(eps, name, ep)
    {
        if (!json_is_object(ep) || !ctrnet_user_mode(name))
            continue;
        if (mode && !strcmp(name, mode)) {
            c->net_request = ctr_endpoint_request(ep);
            continue;
        }
        if (!c->net_more)
            c->net_more = json_object();
        json_object_set_new(c->net_more, name, ctr_endpoint_request(ep));
    }
}

int ctr_build(struct ctr_store *cs, struct image_store *is, const json_t *body, const char *name,
              json_t *warnings, struct container **out, struct berth_err **err)
{
    const char *image = json_get_str(body, "Image");
    json_t *hc = json_object_get(body, "HostConfig");
    struct image *img;
    if (!image || !*image)
        return berth_user_error(err, EINVAL, "no image specified");
    /* dockerd's checks of the request, before it looks for the image; then each field berth
     * does not honour is refused by name (a user-defined network before: see fields.h) */
    int r = fields_check_early(body, err);
    if (r < 0)
        return r;
    if ((r = verify_create(body, hc, warnings, err)) < 0)
        return r;
    if ((r = fields_check_request(body, warnings, err)) < 0)
        return r;
    if ((r = image_find(is, image, &img, err)) < 0)
        return r;
    if (name && *name) {
        if ((r = ctr_check_name(cs, name, err)) < 0)
            return r;
    }
    struct container *c = xcalloc(1, sizeof(*c));
    ctr_new_id(c->id);
    c->name = name && *name ? xstrdup(name[0] == '/' ? name + 1 : name) : ctr_generate_name(cs);
    c->created = time_format_rfc3339(time_now_ns());
    memcpy(c->image_id, img->id, sizeof(c->image_id));
    c->image_chain = xstrdup(img->nlayers ? img->layers[img->nlayers - 1] : "");
    c->config = json_deep_copy(body);
    json_object_del(c->config, "HostConfig");
    json_object_del(c->config, "NetworkingConfig");
    c->host_config = json_is_object(hc) ? json_deep_copy(hc) : json_object();
    keep_endpoint_request(c, body);
    if (!json_get_str(c->host_config, "Runtime") || !*json_get_str(c->host_config, "Runtime"))
        json_object_set_new(c->host_config, "Runtime", json_string(VERIFY_DEFAULT_RUNTIME));
    mounts_fill_default_paths(c->host_config);
    merge_image(c->config, json_object_get(img->config, "config"));
    if ((r = fields_check_merged(body, c->config, c->host_config, warnings, err)) < 0) {
        ctr_free(c); /* a rule on the merged config refused it */
        return r;
    }
    const char *net = json_get_str(c->host_config, "NetworkMode");
    char host[256] = "";
    if (net && strcmp(net, "host") == 0 && gethostname(host, sizeof(host) - 1) < 0)
        host[0] = '\0';
    if (!json_get_str(c->config, "Hostname") || !*json_get_str(c->config, "Hostname"))
        json_object_set_new(c->config, "Hostname", /* --network host: the host's, as dockerd */
                            *host ? json_string(host) : json_sprintf("%.12s", c->id));
    if ((r = command_of(c->config, &c->path, &c->args, err)) < 0) {
        ctr_free(c);
        return r;
    }
    c->state.status = CTR_CREATED;
    *out = c;
    return 0;
}

int ctr_prepare_dir(struct container *c, struct berth_err **err)
{
    static const char *const subdirs[] = {"upper", "work", "merged", NULL};
    int r = verify_mount_sources(c->host_config, err); /* dockerd's create-time stat */
    if (r < 0)
        return r;
    /* dockerd finds a missing device only at start: berth refuses it at once */
    if ((r = dev_verify_host(c->host_config, err)) < 0)
        return r;
    if (mkdir(c->dir, 0710) < 0 && errno != EEXIST)
        return berth_error(err, errno, "create `%s`", c->dir);
    for (const char *const *d = subdirs; *d; d++) {
        _cleanup_free_ char *path = xasprintf("%s/%s", c->dir, *d);
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return berth_error(err, errno, "create `%s`", path);
    }
    crashpoint("create-dirs");
    return ctr_save_now(c, err);
}
