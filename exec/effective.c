/* exec/effective.c — a container's settings as they are in force. The defaults here are the
 * ones the start path applies (exec/plan.c): where it changes one, this file changes with it. */
#include "exec/effective.h"

#include <stdlib.h>
#include <string.h>

#include "cgroup/cgroup.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "exec/ctrnet.h"
#include "exec/mounts.h"
#include "exec/verify.h"
#include "exec/volumes.h"

#define DEFAULT_SHM_SIZE (64LL << 20) /* plan.c's /dev/shm without ShmSize, dockerd's default */

/* daemon.json's "bridge", fixed for the daemon's life: every reader of a container's network
 * (inspect, ps and its filter, the start path) must agree on it. */
static bool default_bridge;

void ctr_network_default_bridge(bool bridge)
{
    default_bridge = bridge;
}

const char *ctr_network_mode(const struct container *c)
{
    const char *mode = json_get_str(c->host_config, "NetworkMode");
    if (mode && (!strcmp(mode, "host") || !strncmp(mode, "container:", 10)))
        return mode; /* host, or another container's namespace (container:ID) */
    if (ctrnet_user_mode(mode))
        return mode; /* a user-defined network */
    return ctrnet_on_bridge(c->host_config, default_bridge) ? "bridge" : "none";
}

static bool unset(const json_t *hc, const char *key)
{
    json_t *v = json_object_get(hc, key);
    return !v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v)) ||
           (json_is_integer(v) && json_integer_value(v) == 0);
}

static void fill(json_t *hc, const char *key, json_t *value)
{
    if (unset(hc, key))
        json_object_set(hc, key, value);
    json_decref(value);
}

json_t *ctr_effective_host_config(const struct container *c)
{
    json_t *hc = json_deep_copy(c->host_config);
    if (!hc)
        hc = json_object();
    fill(hc, "ShmSize", json_integer(DEFAULT_SHM_SIZE));
    fill(hc, "Runtime", json_string(VERIFY_DEFAULT_RUNTIME));
    /* the namespaces every container gets: its own IPC, and its own cgroup namespace where the
     * host has cgroup v2 (dockerd's defaults, which the start path follows) */
    fill(hc, "IpcMode", json_string("private"));
    fill(hc, "CgroupnsMode", json_string(cgroup_unified() ? "private" : "host"));
    json_object_set_new(hc, "NetworkMode", json_string(ctr_network_mode(c)));
    json_t *restart = json_object_get(hc, "RestartPolicy");
    if (!json_is_object(restart) || !json_get_str(restart, "Name") ||
        !*json_get_str(restart, "Name"))
        json_object_set_new(hc, "RestartPolicy",
                            json_pack("{ss sI}", "Name", "no", "MaximumRetryCount",
                                      (json_int_t)json_get_int(restart, "MaximumRetryCount", 0)));
    if (!json_is_array(json_object_get(hc, "ConsoleSize")))
        json_object_set_new(hc, "ConsoleSize", json_pack("[ii]", 0, 0));
    return hc;
}

static bool has_option(const char *mode, const char *want)
{
    _cleanup_free_ char *copy = xstrdup(mode);
    for (char *save = NULL, *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save))
        if (!strcmp(o, want))
            return true;
    return false;
}

/* -v SRC:DST[:MODE] of a host path; a volume's (NAME:DST, DST) is one of c->mounts. */
static json_t *bind_point(const char *spec)
{
    _cleanup_free_ char *copy = xstrdup(spec);
    char *dst = strchr(copy, ':'), *mode = dst ? strchr(dst + 1, ':') : NULL;
    if (!dst || copy[0] != '/')
        return NULL;
    *dst++ = '\0';
    if (mode)
        *mode++ = '\0';
    return json_pack("{ss ss ss ss sb ss}", "Type", "bind", "Source", copy, "Destination", dst,
                     "Mode", mode ? mode : "", "RW", !(mode && has_option(mode, "ro")),
                     "Propagation", mounts_mode_propagation(mode));
}

/* --mount type=bind,...: Mode stays empty, as with dockerd. */
static json_t *mount_point(const json_t *m)
{
    const char *type = json_get_str(m, "Type") ?: "";
    return json_pack("{ss ss ss ss sb ss}", "Type", type, "Source", json_get_str(m, "Source") ?: "",
                     "Destination", json_get_str(m, "Target") ?: "", "Mode", "", "RW",
                     !json_get_bool(m, "ReadOnly", false), "Propagation",
                     strcmp(type, "bind") ? "" : mounts_bind_propagation(m));
}

json_t *ctr_mount_points(const struct container *c)
{
    json_t *out = json_array(), *v;
    size_t i;
    json_array_foreach(json_object_get(c->host_config, "Binds"), i, v)
    {
        json_t *p = json_is_string(v) ? bind_point(json_string_value(v)) : NULL;
        if (p)
            json_array_append_new(out, p);
    }
    json_array_foreach(json_object_get(c->host_config, "Mounts"), i, v)
    {
        if (strcmp(json_get_str(v, "Type") ?: "", "volume") != 0) /* volumes: in c->mounts */
            json_array_append_new(out, mount_point(v));
    }
    json_array_foreach(c->mounts, i, v) json_array_append_new(out, ctr_volume_point_json(v));
    return out;
}
