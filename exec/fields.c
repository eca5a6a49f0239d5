/* exec/fields.c — the table of every create field's state (see fields.h) and the check that
 * walks a request through it.
 *
 * Rules of the table:
 * - One row per property of the v1.50 spec (tests/data/create-fields.txt, made by
 *   tools/spec-fields; tests/exec/test_fields.c fails when the two differ either way).
 * - "Set" means anything but the default: null, "", 0, false, [] and {} are unset, as are the
 *   values the docker CLI sends in every create (RestartPolicy {"Name":"no"}, NetworkMode
 *   "default", EndpointsConfig {"default": {all zero}}, ConsoleSize [0,0], LogConfig
 *   {"Type":"","Config":{}}), which the rows concerned read with a rule of their own.
 * - A REFUSED row without a rule refuses any set value with "<field> (<flag>) is not supported
 *   yet". A rule says which values refuse or warn, with dockerd's words where dockerd refuses
 *   or warns itself (restart policy, isolation, QoS, CPU percent, healthcheck durations).
 * - Fields the spec does not define are left alone, as dockerd's JSON decoder leaves them.
 * - The check runs after dockerd's own checks (exec/verify.c and the modules it calls), so
 *   that what those refuse with dockerd's words keeps them (--gpus); the table refuses the
 *   rest. User-defined networks alone are refused
 *   before (FIELD_AT_EARLY): verify.c would answer 404, and on a 404 the CLI pulls the image.
 * - Only rows with a rule or REFUSED are walked at create: a plain `docker run` costs one
 *   object lookup per such row. */
#include "exec/fields.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/json.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "net/network/ipam.h"
#include "net/network/ports.h"

struct fields_ctx {
    const json_t *body;   /* the request */
    const json_t *config; /* Config: the request, or the merged config after the image's */
    const json_t *hc;     /* HostConfig (may be NULL) */
    const char *net;      /* HostConfig.NetworkMode, "" when absent */
    bool merged;          /* the FIELD_AT_MERGED pass */
    json_t *warnings;
};

#define HEALTH_WARNING                                                                             \
    "healthchecks are not supported yet: Config.Healthcheck (--health-cmd, or the image's "        \
    "HEALTHCHECK) is kept but never run"

static void warn(struct fields_ctx *x, const char *text)
{
    if (x->warnings)
        json_array_append_new(x->warnings, json_string(text));
}

/* Anything but null, "", 0, false, [] or {}. */
static bool is_set(const json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_INTEGER:
    case JSON_REAL:
        return json_number_value(v) != 0;
    case JSON_TRUE:
        return true;
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_OBJECT:
        return json_object_size(v) > 0;
    default:
        return false;
    }
}

static bool is_host_network(const struct fields_ctx *x)
{
    return strcmp(x->net, "host") == 0;
}

/* ---- rules ---- */

/* A REFUSED row's default: any set value is refused, by name. */
static int refuse_set(struct fields_ctx *x, const struct field_row *row, const json_t *v,
                      const char *at, struct berth_err **err)
{
    (void)x;
    if (!is_set(v))
        return 0;
    if (row->flag)
        return berth_user_error(err, EINVAL, "%s (%s) is not supported yet", at, row->flag);
    return berth_user_error(err, EINVAL, "%s is not supported yet", at);
}

/* Rows whose parent's rule reads them (PortBindings' ports, the restart policy's members). */
static int by_parent(struct fields_ctx *x, const struct field_row *row, const json_t *v,
                     const char *at, struct berth_err **err)
{
    (void)x, (void)row, (void)v, (void)at, (void)err;
    return 0;
}

/* Objects whose members' rows decide (RestartPolicy, IPAMConfig). */
#define by_members by_parent

/* The endpoint a NetworkingConfig.EndpointsConfig.NAME... path is for: a predefined network. */
static bool endpoint_predefined(const char *at)
{
    static const char *const known[] = {"default", "bridge", "none", "host", NULL};
    const char *p = strstr(at, "EndpointsConfig."), *end;
    if (!p)
        return false;
    p += strlen("EndpointsConfig.");
    end = strchr(p, '.');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    for (const char *const *k = known; *k; k++)
        if (strlen(*k) == len && !strncmp(p, *k, len))
            return true;
    return false;
}

/* --ip: dockerd's words for one on a predefined network (a user network checks it at start). */
static int endpoint_ip(struct fields_ctx *x, const struct field_row *row, const json_t *v,
                       const char *at, struct berth_err **err)
{
    (void)x, (void)row;
    const char *ip = json_string_value(v);
    if (!ip || !*ip)
        return 0;
    return ipam_endpoint_check(ip, NULL, !endpoint_predefined(at), NULL, 0, err);
}

/* --network-alias: dockerd's words on the default bridge. */
static int endpoint_aliases(struct fields_ctx *x, const struct field_row *row, const json_t *v,
                            const char *at, struct berth_err **err)
{
    (void)x, (void)row;
    if (json_array_size(v) && endpoint_predefined(at))
        return berth_user_error(
            err, EINVAL,
            "network-scoped alias is supported only for containers in user defined "
            "networks");
    return 0;
}

/* Values dockerd itself refuses on Linux: the row's note is dockerd's message. */
static int dockerd_refuses(struct fields_ctx *x, const struct field_row *row, const json_t *v,
                           const char *at, struct berth_err **err)
{
    (void)x, (void)at;
    return is_set(v) ? berth_user_error(err, EINVAL, "%s", row->note) : 0;
}

/* none, host, container:X and the default bridge ("", default, bridge) are honoured; any other
 * name is a user-defined network. A 400, not
 * dockerd's 404 for a missing network: on a 404 the docker CLI pulls the image and retries. */
static int network_mode(struct fields_ctx *x, const struct field_row *row, const json_t *v,
                        const char *at, struct berth_err **err)
{
    static const char *const known[] = {"", "default", "bridge", "none", "host", NULL};
    const char *s = json_string_value(v) ?: "";
    (void)x, (void)row;
    for (const char *const *k = known; *k; k++)
        if (strcmp(s, *k) == 0)
            return 0;
    (void)at, (void)err;
    return 0; /* container:X, or a user-defined network (looked up at start) */
}

/* -p: with the host's network dockerd discards them with this warning; else checked as dockerd
 * checks them (an IPv6 host address refused: the default bridge is IPv4-only). They take effect
 * on the default bridge; with none, container:X (refused by ns_check_request) or no default
 * bridge there is nothing to publish to, and dockerd makes nothing either. */
static int port_bindings(struct fields_ctx *x, const struct field_row *row, const json_t *v,
                         const char *at, struct berth_err **err)
{
    (void)row, (void)at;
    if (is_set(v) && is_host_network(x)) {
        warn(x, "Published ports are discarded when using host network mode");
        return 0;
    }
    return ports_check(x->hc, err);
}

/* --restart: "no" (the CLI's default) and "" are no policy; the other policies of dockerd are
 * refused by name; anything else gets dockerd's words. */
static int restart_name(struct fields_ctx *x, const struct field_row *row, const json_t *v,
                        const char *at, struct berth_err **err)
{
    static const char *const policies[] = {"always", "unless-stopped", "on-failure", NULL};
    const char *s = json_string_value(v) ?: "";
    (void)x, (void)row;
    if (!*s || strcmp(s, "no") == 0)
        return 0;
    for (const char *const *p = policies; *p; p++)
        if (strcmp(s, *p) == 0)
            return berth_user_error(err, EINVAL, "%s (--restart %s) is not supported yet", at, s);
    return berth_user_error(err, EINVAL,
                            "invalid restart policy: unknown policy '%s'; use one of 'no', "
                            "'always', 'on-failure', or 'unless-stopped'",
                            s);
}

/* dockerd's ValidateRestartPolicy on the count; with on-failure the policy itself is refused
 * (its row comes first), and with no name dockerd takes any count for old clients' sake. */
static int restart_count(struct fields_ctx *x, const struct field_row *row, const json_t *v,
                         const char *at, struct berth_err **err)
{
    const char *name = json_get_str(json_object_get(x->hc, "RestartPolicy"), "Name") ?: "";
    json_int_t n = json_integer_value(v);
    (void)row, (void)at;
    if (n == 0 || !*name)
        return 0;
    if (strcmp(name, "on-failure") == 0)
        return n < 0 ? berth_user_error(err, EINVAL,
                                        "invalid restart policy: maximum retry count cannot be "
                                        "negative")
                     : 0;
    return berth_user_error(err, EINVAL,
                            "invalid restart policy: maximum retry count can only be used with "
                            "'on-failure'%s",
                            n < 0 ? " and cannot be negative" : "");
}

/* dockerd on Linux takes "" and "default" (any case) and means nothing by them. */
static int isolation(struct fields_ctx *x, const struct field_row *row, const json_t *v,
                     const char *at, struct berth_err **err)
{
    const char *s = json_string_value(v) ?: "";
    (void)x, (void)row, (void)at;
    if (!*s || strcasecmp(s, "default") == 0)
        return 0;
    return berth_user_error(err, EINVAL, "invalid isolation (%s): linux only supports 'default'",
                            s);
}

/* dockerd discards it on Linux with this warning. */
static int cpu_percent(struct fields_ctx *x, const struct field_row *row, const json_t *v,
                       const char *at, struct berth_err **err)
{
    (void)row, (void)at, (void)err;
    if (json_integer_value(v) > 0)
        warn(x, "linux does not support CPU percent. Percent discarded.");
    return 0;
}

/* --mount type=bind, volume and tmpfs are honoured; image mounts are refused by name
 * (exec/verify.c checks the rest of each mount). */
static int mount_type(struct fields_ctx *x, const struct field_row *row, const json_t *v,
                      const char *at, struct berth_err **err)
{
    const char *s = json_string_value(v) ?: "";
    (void)x, (void)row;
    if (strcmp(s, "image"))
        return 0;
    return berth_user_error(err, EINVAL, "%s \"%s\" (--mount type=%s) is not supported yet", at, s,
                            s);
}

/* One endpoint per network the container joins. The CLI names the network it runs on (or
 * "default"); others are user-defined networks it joins at start as connected ones (API 1.44's
 * several networks at create), except beside host, none and container:X, with dockerd's words. */
static int endpoints(struct fields_ctx *x, const struct field_row *row, const json_t *v,
                     const char *at, struct berth_err **err)
{
    static const char *const known[] = {"default", "bridge", "none", "host", NULL};
    const char *name;
    json_t *ep;
    (void)row;
    json_object_foreach((json_t *)v, name, ep)
    {
        bool ok = strcmp(name, x->net) == 0;
        for (const char *const *k = known; !ok && *k; k++)
            ok = strcmp(name, *k) == 0;
        if (ok)
            continue;
        if (!strcmp(x->net, "host"))
            return berth_user_error(err, EINVAL,
                                    "container cannot be disconnected from host network or "
                                    "connected to host network");
        if (!strncmp(x->net, "container:", 10))
            return berth_user_error(err, EINVAL,
                                    "container sharing network namespace with another container "
                                    "or host cannot be connected to any other network");
        if (!strcmp(x->net, "none"))
            return berth_user_error(err, EINVAL,
                                    "container cannot be connected to multiple networks with one "
                                    "of the networks in private (none) mode");
        (void)at;
    }
    return 0;
}

/* dockerd's validateHealthCheck on the request's; a warning when the container's (its own or
 * the image's HEALTHCHECK) would run. It stays in the container's Config, as inspect shows. */
static int healthcheck(struct fields_ctx *x, const struct field_row *row, const json_t *v,
                       const char *at, struct berth_err **err)
{
    static const char *const durations[] = {"Interval", "Timeout", "StartPeriod", "StartInterval",
                                            NULL};
    const json_t *test = json_object_get(v, "Test");
    const char *first = json_string_value(json_array_get(test, 0));
    (void)row, (void)at;
    if (!x->merged) {
        for (const char *const *d = durations; *d; d++) {
            int64_t ns = json_get_int(v, *d, 0);
            if (ns != 0 && ns < 1000000) /* containertypes.MinimumDuration */
                return berth_user_error(err, EINVAL, "%s in Healthcheck cannot be less than 1ms",
                                        *d);
        }
        if (json_get_int(v, "Retries", 0) < 0)
            return berth_user_error(err, EINVAL, "Retries in Healthcheck cannot be negative");
        return 0;
    }
    if (first && *first && strcmp(first, "NONE") != 0) {
        warn(x, HEALTH_WARNING);
        log_info("create: a healthcheck (%s) is kept but not run: healthchecks are not supported "
                 "yet",
                 first);
    }
    return 0;
}

/* --volume-driver and --mount volume-driver=: the local driver (which "" means) is the only one
 * berth has; dockerd would look for a volume plugin of that name. */
static int volume_driver(struct fields_ctx *x, const struct field_row *row, const json_t *v,
                         const char *at, struct berth_err **err)
{
    const char *s = json_string_value(v) ?: "";
    (void)x;
    if (!*s || strcmp(s, "local") == 0)
        return 0;
    return berth_user_error(err, EINVAL,
                            "%s \"%s\" (%s): volume plugins are not supported yet, only the local "
                            "driver",
                            at, s, row->flag);
}

/* ---- the table ---- */

#define H       FIELD_HONOURED
#define R       FIELD_REFUSED
#define N       FIELD_NOOP
#define W       FIELD_WARNED
#define BOTH    (FIELD_AT_REQUEST | FIELD_AT_MERGED)
#define EARLY   (FIELD_AT_EARLY)
#define WINDOWS "Windows only: dockerd on Linux ignores it"
#define ENDPOINT                                                                                   \
    "operational data dockerd fills in when it connects the container; what a "                    \
    "client sends is replaced"

const struct field_row fields_table[] = {
    /* ---- Config (ContainerConfig) ---- */
    {"Config.Hostname", H, "--hostname", "/etc/hostname, the UTS name", NULL, 0},
    {"Config.Domainname", H, "--domainname", "the UTS domain name", NULL, 0},
    {"Config.User", H, "--user", NULL, NULL, 0},
    {"Config.AttachStdin", N, "--attach",
     "the client's record of what it attaches: dockerd "
     "keeps it for inspect and acts on it nowhere",
     NULL, 0},
    {"Config.AttachStdout", N, "--attach", "as AttachStdin", NULL, 0},
    {"Config.AttachStderr", N, "--attach", "as AttachStdin", NULL, 0},
    {"Config.ExposedPorts", H, "--expose",
     "on the default bridge: what -P publishes, and NetworkSettings.Ports and the list's Ports "
     "show (with none and host dockerd ignores it too)",
     NULL, 0},
    {"Config.Tty", H, "--tty", NULL, NULL, 0},
    {"Config.OpenStdin", H, "--interactive", NULL, NULL, 0},
    {"Config.StdinOnce", H, "--attach stdin", "stdin closes when the attached client leaves", NULL,
     0},
    {"Config.Env", H, "--env", NULL, NULL, 0},
    {"Config.Cmd", H, NULL, NULL, NULL, 0},
    {"Config.Healthcheck", W, "--health-cmd",
     "a warning in the create reply; kept in Config, "
     "not run",
     healthcheck, BOTH},
    {"Config.Healthcheck.Test", W, "--health-cmd", "as Healthcheck", NULL, 0},
    {"Config.Healthcheck.Interval", W, "--health-interval", "as Healthcheck", NULL, 0},
    {"Config.Healthcheck.Timeout", W, "--health-timeout", "as Healthcheck", NULL, 0},
    {"Config.Healthcheck.Retries", W, "--health-retries", "as Healthcheck", NULL, 0},
    {"Config.Healthcheck.StartPeriod", W, "--health-start-period", "as Healthcheck", NULL, 0},
    {"Config.Healthcheck.StartInterval", W, "--health-start-interval", "as Healthcheck", NULL, 0},
    {"Config.ArgsEscaped", N, NULL, WINDOWS, NULL, 0},
    {"Config.Image", H, NULL, NULL, NULL, 0},
    {"Config.Volumes", H, "-v PATH",
     "the image's VOLUME too: an anonymous volume where nothing else is mounted", NULL, 0},
    {"Config.WorkingDir", H, "--workdir", NULL, NULL, 0},
    {"Config.Entrypoint", H, "--entrypoint", NULL, NULL, 0},
    {"Config.NetworkDisabled", R, NULL, NULL, NULL, 0},
    {"Config.MacAddress", H, "--mac-address", "API < 1.44 clients' place for it", NULL, 0},
    {"Config.OnBuild", N, NULL, "image build metadata: dockerd acts on it only when building", NULL,
     0},
    {"Config.Labels", H, "--label", NULL, NULL, 0},
    {"Config.StopSignal", H, "--stop-signal", NULL, NULL, 0},
    {"Config.StopTimeout", H, "--stop-timeout", NULL, NULL, 0},
    {"Config.Shell", N, NULL,
     "dockerd uses it only as the shell of a CMD-SHELL healthcheck, and "
     "healthchecks are not run (Healthcheck warns)",
     NULL, 0},

    /* ---- HostConfig (its Resources first, in the spec's order) ---- */
    {"HostConfig.CpuShares", H, "--cpu-shares", NULL, NULL, 0},
    {"HostConfig.Memory", H, "--memory", NULL, NULL, 0},
    {"HostConfig.CgroupParent", H, "--cgroup-parent", NULL, NULL, 0},
    {"HostConfig.BlkioWeight", H, "--blkio-weight", NULL, NULL, 0},
    {"HostConfig.BlkioWeightDevice", H, "--blkio-weight-device", NULL, NULL, 0},
    {"HostConfig.BlkioWeightDevice[].Path", H, "--blkio-weight-device", NULL, NULL, 0},
    {"HostConfig.BlkioWeightDevice[].Weight", H, "--blkio-weight-device", NULL, NULL, 0},
    {"HostConfig.BlkioDeviceReadBps", H, "--device-read-bps", NULL, NULL, 0},
    {"HostConfig.BlkioDeviceReadBps[].Path", H, "--device-read-bps", NULL, NULL, 0},
    {"HostConfig.BlkioDeviceReadBps[].Rate", H, "--device-read-bps", NULL, NULL, 0},
    {"HostConfig.BlkioDeviceWriteBps", H, "--device-write-bps", NULL, NULL, 0},
    {"HostConfig.BlkioDeviceWriteBps[].Path", H, "--device-write-bps", NULL, NULL, 0},
    {"HostConfig.BlkioDeviceWriteBps[].Rate", H, "--device-write-bps", NULL, NULL, 0},
    {"HostConfig.BlkioDeviceReadIOps", H, "--device-read-iops", NULL, NULL, 0},
    {"HostConfig.BlkioDeviceReadIOps[].Path", H, "--device-read-iops", NULL, NULL, 0},
    {"HostConfig.BlkioDeviceReadIOps[].Rate", H, "--device-read-iops", NULL, NULL, 0},
    {"HostConfig.BlkioDeviceWriteIOps", H, "--device-write-iops", NULL, NULL, 0},
    {"HostConfig.BlkioDeviceWriteIOps[].Path", H, "--device-write-iops", NULL, NULL, 0},
    {"HostConfig.BlkioDeviceWriteIOps[].Rate", H, "--device-write-iops", NULL, NULL, 0},
    {"HostConfig.CpuPeriod", H, "--cpu-period", NULL, NULL, 0},
    {"HostConfig.CpuQuota", H, "--cpu-quota", NULL, NULL, 0},
    {"HostConfig.CpuRealtimePeriod", H, "--cpu-rt-period", NULL, NULL, 0},
    {"HostConfig.CpuRealtimeRuntime", H, "--cpu-rt-runtime", NULL, NULL, 0},
    {"HostConfig.CpusetCpus", H, "--cpuset-cpus", NULL, NULL, 0},
    {"HostConfig.CpusetMems", H, "--cpuset-mems", NULL, NULL, 0},
    {"HostConfig.Devices", H, "--device", NULL, NULL, 0},
    {"HostConfig.Devices[].PathOnHost", H, "--device", NULL, NULL, 0},
    {"HostConfig.Devices[].PathInContainer", H, "--device", NULL, NULL, 0},
    {"HostConfig.Devices[].CgroupPermissions", H, "--device", NULL, NULL, 0},
    {"HostConfig.DeviceCgroupRules", H, "--device-cgroup-rule", NULL, NULL, 0},
    {"HostConfig.DeviceRequests", R, "--gpus", "no device drivers (GPUs) here", NULL, 0},
    {"HostConfig.DeviceRequests[].Driver", R, "--gpus", "as DeviceRequests", by_parent, 0},
    {"HostConfig.DeviceRequests[].Count", R, "--gpus", "as DeviceRequests", by_parent, 0},
    {"HostConfig.DeviceRequests[].DeviceIDs", R, "--gpus", "as DeviceRequests", by_parent, 0},
    {"HostConfig.DeviceRequests[].Capabilities", R, "--gpus", "as DeviceRequests", by_parent, 0},
    {"HostConfig.DeviceRequests[].Options", R, "--gpus", "as DeviceRequests", by_parent, 0},
    {"HostConfig.KernelMemoryTCP", R, NULL, NULL, NULL, 0},
    {"HostConfig.MemoryReservation", H, "--memory-reservation", NULL, NULL, 0},
    {"HostConfig.MemorySwap", H, "--memory-swap", NULL, NULL, 0},
    {"HostConfig.MemorySwappiness", H, "--memory-swappiness", NULL, NULL, 0},
    {"HostConfig.NanoCpus", H, "--cpus", NULL, NULL, 0},
    {"HostConfig.OomKillDisable", H, "--oom-kill-disable", NULL, NULL, 0},
    {"HostConfig.Init", H, "--init", NULL, NULL, 0},
    {"HostConfig.PidsLimit", H, "--pids-limit", NULL, NULL, 0},
    {"HostConfig.Ulimits", H, "--ulimit", NULL, NULL, 0},
    {"HostConfig.Ulimits[].Name", H, "--ulimit", NULL, NULL, 0},
    {"HostConfig.Ulimits[].Soft", H, "--ulimit", NULL, NULL, 0},
    {"HostConfig.Ulimits[].Hard", H, "--ulimit", NULL, NULL, 0},
    {"HostConfig.CpuCount", N, "--cpu-count", WINDOWS " (the CLI refuses the flag itself)", NULL,
     0},
    {"HostConfig.CpuPercent", N, "--cpu-percent",
     WINDOWS ", with a warning (the CLI refuses the flag itself)", cpu_percent, 0},
    {"HostConfig.IOMaximumIOps", R, "--io-maxiops",
     "invalid option: QoS maximum IOPs configuration is not supported on linux", dockerd_refuses,
     0},
    {"HostConfig.IOMaximumBandwidth", R, "--io-maxbandwidth",
     "invalid option: QoS maximum bandwidth configuration is not supported on linux",
     dockerd_refuses, 0},
    {"HostConfig.Binds", H, "--volume", "host paths, named and anonymous volumes", NULL, 0},
    {"HostConfig.ContainerIDFile", N, "--cidfile",
     "the CLI writes the file itself; dockerd only "
     "keeps the path",
     NULL, 0},
    {"HostConfig.LogConfig", H, "--log-driver", NULL, NULL, 0},
    {"HostConfig.LogConfig.Type", H, "--log-driver", NULL, NULL, 0},
    {"HostConfig.LogConfig.Config", H, "--log-opt", NULL, NULL, 0},
    {"HostConfig.NetworkMode", H, "--network",
     "none, host, container:X and the default bridge (\"\", default, bridge: as none with "
     "daemon.json bridge none); user-defined networks refused",
     network_mode, EARLY},
    {"HostConfig.PortBindings", H, "-p, --publish",
     "published on the default bridge (nftables DNAT, host ports held); IPv6 host addresses "
     "refused; with --network host: discarded with dockerd's warning",
     port_bindings, 0},
    {"HostConfig.PortBindings{}[].HostIp", H, "-p, --publish", "as PortBindings", by_parent, 0},
    {"HostConfig.PortBindings{}[].HostPort", H, "-p, --publish", "as PortBindings", by_parent, 0},
    {"HostConfig.RestartPolicy", R, "--restart", "\"no\" is no policy", by_members, 0},
    {"HostConfig.RestartPolicy.Name", R, "--restart", "\"no\" and \"\" are no policy", restart_name,
     0},
    {"HostConfig.RestartPolicy.MaximumRetryCount", R, "--restart on-failure:N",
     "with on-failure only", restart_count, 0},
    {"HostConfig.AutoRemove", H, "--rm", NULL, NULL, 0},
    {"HostConfig.VolumeDriver", H, "--volume-driver", "local (or \"\"): plugins are refused",
     volume_driver, 0},
    {"HostConfig.VolumesFrom", H, "--volumes-from", NULL, NULL, 0},
    {"HostConfig.Mounts", H, "--mount", NULL, NULL, 0},
    {"HostConfig.Mounts[].Target", H, "--mount", NULL, NULL, 0},
    {"HostConfig.Mounts[].Source", H, "--mount", NULL, NULL, 0},
    {"HostConfig.Mounts[].Type", H, "--mount", "bind, volume and tmpfs; image refused", mount_type,
     0},
    {"HostConfig.Mounts[].ReadOnly", H, "--mount", NULL, NULL, 0},
    {"HostConfig.Mounts[].Consistency", N, "--mount consistency=",
     "a file-sharing hint of Docker Desktop on macOS: dockerd on Linux ignores it", NULL, 0},
    {"HostConfig.Mounts[].BindOptions", H, "--mount", NULL, NULL, 0},
    {"HostConfig.Mounts[].BindOptions.Propagation", H, "--mount bind-propagation=", NULL, NULL, 0},
    {"HostConfig.Mounts[].BindOptions.NonRecursive", H, "--mount bind-recursive=disabled", NULL,
     NULL, 0},
    {"HostConfig.Mounts[].BindOptions.CreateMountpoint", H, NULL, NULL, NULL, 0},
    {"HostConfig.Mounts[].BindOptions.ReadOnlyNonRecursive", H, "--mount bind-recursive=writable",
     NULL, NULL, 0},
    {"HostConfig.Mounts[].BindOptions.ReadOnlyForceRecursive", H, "--mount bind-recursive=readonly",
     NULL, NULL, 0},
    {"HostConfig.Mounts[].VolumeOptions", H, "--mount type=volume", NULL, NULL, 0},
    {"HostConfig.Mounts[].VolumeOptions.NoCopy", H, "--mount volume-nocopy", NULL, NULL, 0},
    {"HostConfig.Mounts[].VolumeOptions.Labels", H,
     "--mount volume-label=", "labels of the volume it makes", NULL, 0},
    {"HostConfig.Mounts[].VolumeOptions.DriverConfig", H, "--mount volume-driver=", NULL, NULL, 0},
    {"HostConfig.Mounts[].VolumeOptions.DriverConfig.Name", H,
     "--mount volume-driver=", "local (or \"\"): plugins are refused", volume_driver, 0},
    {"HostConfig.Mounts[].VolumeOptions.DriverConfig.Options", H, "--mount volume-opt=",
     "the local driver's type, device and o of the volume it makes", NULL, 0},
    {"HostConfig.Mounts[].VolumeOptions.Subpath", R, "--mount volume-subpath=", NULL, NULL, 0},
    {"HostConfig.Mounts[].ImageOptions", R, "--mount type=image", NULL, NULL, 0},
    {"HostConfig.Mounts[].ImageOptions.Subpath", R, "--mount image-subpath=", "as ImageOptions",
     by_parent, 0},
    {"HostConfig.Mounts[].TmpfsOptions", H, "--mount type=tmpfs", NULL, NULL, 0},
    {"HostConfig.Mounts[].TmpfsOptions.SizeBytes", H, "--mount tmpfs-size=", NULL, NULL, 0},
    {"HostConfig.Mounts[].TmpfsOptions.Mode", H, "--mount tmpfs-mode=", NULL, NULL, 0},
    {"HostConfig.Mounts[].TmpfsOptions.Options", H, NULL, NULL, NULL, 0},
    {"HostConfig.ConsoleSize", H, NULL, "the tty's first size", NULL, 0},
    {"HostConfig.Annotations", R, "--annotation", NULL, NULL, 0},
    {"HostConfig.CapAdd", H, "--cap-add", NULL, NULL, 0},
    {"HostConfig.CapDrop", H, "--cap-drop", NULL, NULL, 0},
    {"HostConfig.CgroupnsMode", H, "--cgroupns", NULL, NULL, 0},
    {"HostConfig.Dns", H, "--dns", NULL, NULL, 0},
    {"HostConfig.DnsOptions", H, "--dns-option", NULL, NULL, 0},
    {"HostConfig.DnsSearch", H, "--dns-search", NULL, NULL, 0},
    {"HostConfig.ExtraHosts", H, "--add-host", NULL, NULL, 0},
    {"HostConfig.GroupAdd", H, "--group-add", NULL, NULL, 0},
    {"HostConfig.IpcMode", H, "--ipc", NULL, NULL, 0},
    {"HostConfig.Cgroup", N, NULL, "dockerd keeps it and acts on it nowhere (no CLI flag sets it)",
     NULL, 0},
    {"HostConfig.Links", H, "--link",
     "the default bridge's legacy links (/etc/hosts, link variables); refused with icc false", NULL,
     0},
    {"HostConfig.OomScoreAdj", H, "--oom-score-adj", NULL, NULL, 0},
    {"HostConfig.PidMode", H, "--pid", NULL, NULL, 0},
    {"HostConfig.Privileged", H, "--privileged", NULL, NULL, 0},
    {"HostConfig.PublishAllPorts", H, "-P, --publish-all",
     "the exposed ports on ephemeral host ports (ip_local_port_range) on the default bridge; "
     "with --network host: ignored, as dockerd ignores it",
     NULL, 0},
    {"HostConfig.ReadonlyRootfs", H, "--read-only", NULL, NULL, 0},
    {"HostConfig.SecurityOpt", H, "--security-opt", NULL, NULL, 0},
    {"HostConfig.StorageOpt", R, "--storage-opt", NULL, NULL, 0},
    {"HostConfig.Tmpfs", H, "--tmpfs", NULL, NULL, 0},
    {"HostConfig.UTSMode", H, "--uts", NULL, NULL, 0},
    {"HostConfig.UsernsMode", N, "--userns",
     "dockerd makes a user namespace only when it remaps "
     "users (userns-remap), which berth never does: every mode runs in the host's",
     NULL, 0},
    {"HostConfig.ShmSize", H, "--shm-size", NULL, NULL, 0},
    {"HostConfig.Sysctls", H, "--sysctl", NULL, NULL, 0},
    {"HostConfig.Runtime", H, "--runtime", NULL, NULL, 0},
    {"HostConfig.Isolation", N, "--isolation",
     WINDOWS "; other values than default get its "
             "words",
     isolation, 0},
    {"HostConfig.MaskedPaths", H, NULL, NULL, NULL, 0},
    {"HostConfig.ReadonlyPaths", H, NULL, NULL, NULL, 0},

    /* ---- NetworkingConfig ---- */
    {"NetworkingConfig.EndpointsConfig", H, "--network",
     "the network the container runs on; other user-defined networks join at start "
     "(eth1...)",
     endpoints, EARLY},
    {"NetworkingConfig.EndpointsConfig{}.IPAMConfig", R, "--ip, --ip6, --link-local-ip", NULL,
     by_members, 0},
    {"NetworkingConfig.EndpointsConfig{}.IPAMConfig.IPv4Address", H, "--ip",
     "user-defined networks (checked at start)", endpoint_ip, 0},
    {"NetworkingConfig.EndpointsConfig{}.IPAMConfig.IPv6Address", R, "--ip6", NULL, NULL, 0},
    {"NetworkingConfig.EndpointsConfig{}.IPAMConfig.LinkLocalIPs", R, "--link-local-ip", NULL, NULL,
     0},
    {"NetworkingConfig.EndpointsConfig{}.Links", H, "--link",
     "a user network's DNS alias the container alone resolves", NULL, 0},
    {"NetworkingConfig.EndpointsConfig{}.MacAddress", H, "--mac-address", NULL, NULL, 0},
    {"NetworkingConfig.EndpointsConfig{}.Aliases", H, "--network-alias",
     "user-defined networks' DNS", endpoint_aliases, 0},
    {"NetworkingConfig.EndpointsConfig{}.DriverOpts", R, "--network driver-opt=", NULL, NULL, 0},
    {"NetworkingConfig.EndpointsConfig{}.GwPriority", H,
     "--network gw-priority=", "which network has the default route", NULL, 0},
    {"NetworkingConfig.EndpointsConfig{}.NetworkID", N, NULL, ENDPOINT, NULL, 0},
    {"NetworkingConfig.EndpointsConfig{}.EndpointID", N, NULL, ENDPOINT, NULL, 0},
    {"NetworkingConfig.EndpointsConfig{}.Gateway", N, NULL, ENDPOINT, NULL, 0},
    {"NetworkingConfig.EndpointsConfig{}.IPAddress", N, NULL, ENDPOINT, NULL, 0},
    {"NetworkingConfig.EndpointsConfig{}.IPPrefixLen", N, NULL, ENDPOINT, NULL, 0},
    {"NetworkingConfig.EndpointsConfig{}.IPv6Gateway", N, NULL, ENDPOINT, NULL, 0},
    {"NetworkingConfig.EndpointsConfig{}.GlobalIPv6Address", N, NULL, ENDPOINT, NULL, 0},
    {"NetworkingConfig.EndpointsConfig{}.GlobalIPv6PrefixLen", N, NULL, ENDPOINT, NULL, 0},
    {"NetworkingConfig.EndpointsConfig{}.DNSNames", N, NULL, ENDPOINT, NULL, 0},
};

#undef H
#undef R
#undef N
#undef W

const size_t fields_table_len = ARRAY_SIZE(fields_table);

const struct field_row *fields_find(const char *path)
{
    for (size_t i = 0; i < fields_table_len; i++)
        if (strcmp(fields_table[i].path, path) == 0)
            return &fields_table[i];
    return NULL;
}

const char *fields_state_name(enum field_state s)
{
    static const char *const names[] = {"honoured", "refused", "no-op", "warned"};
    return s <= FIELD_WARNED ? names[s] : "?";
}

/* ---- the walk ---- */

struct walk {
    struct fields_ctx *x;
    const struct field_row *row;
    char at[512]; /* the concrete path so far: "HostConfig.Mounts[0]" */
};

static int visit(struct walk *w, const json_t *node, const char *rest, struct berth_err **err);

/* marks: what follows a member's name ("[]", "{}", repeated); rest: after them. */
static int descend(struct walk *w, const json_t *v, const char *marks, const char *rest,
                   struct berth_err **err)
{
    size_t len = strlen(w->at);
    int r = 0;
    if (strncmp(marks, "[]", 2) == 0) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            snprintf(w->at + len, sizeof(w->at) - len, "[%zu]", i);
            if ((r = descend(w, e, marks + 2, rest, err)) < 0)
                break;
        }
    } else if (strncmp(marks, "{}", 2) == 0) {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            snprintf(w->at + len, sizeof(w->at) - len, ".%s", k);
            if ((r = descend(w, e, marks + 2, rest, err)) < 0)
                break;
        }
    } else if (*rest) {
        r = visit(w, v, rest + 1, err); /* past the '.' */
    } else {
        r = (w->row->rule ? w->row->rule : refuse_set)(w->x, w->row, v, w->at, err);
    }
    w->at[len] = '\0';
    return r;
}

/* The member named at the head of rest ("Mounts[].Type": Mounts) of an object node. */
static int visit(struct walk *w, const json_t *node, const char *rest, struct berth_err **err)
{
    size_t name_len = strcspn(rest, ".[{");
    const char *marks = rest + name_len, *after = marks;
    while (strncmp(after, "[]", 2) == 0 || strncmp(after, "{}", 2) == 0)
        after += 2;
    char name[128];
    snprintf(name, sizeof(name), "%.*s", (int)name_len, rest);
    const json_t *v = json_is_object(node) ? json_object_get(node, name) : NULL;
    if (!v)
        return 0;
    size_t len = strlen(w->at);
    snprintf(w->at + len, sizeof(w->at) - len, ".%s", name);
    char marks_only[16];
    snprintf(marks_only, sizeof(marks_only), "%.*s", (int)(after - marks), marks);
    int r = descend(w, v, marks_only, after, err);
    w->at[len] = '\0';
    return r;
}

static int walk_row(struct fields_ctx *x, const struct field_row *row, struct berth_err **err)
{
    static const struct {
        const char *prefix;
        size_t len;
    } roots[] = {{"Config.", 7}, {"HostConfig.", 11}, {"NetworkingConfig.", 17}};
    struct walk w = {.x = x, .row = row};
    for (size_t i = 0; i < 3; i++) {
        if (strncmp(row->path, roots[i].prefix, roots[i].len) != 0)
            continue;
        const json_t *root = i == 0   ? x->config
                             : i == 1 ? x->hc
                                      : json_object_get(x->body, "NetworkingConfig");
        snprintf(w.at, sizeof(w.at), "%.*s", (int)roots[i].len - 1, row->path);
        return root ? visit(&w, root, row->path + roots[i].len, err) : 0;
    }
    return 0;
}

static int check(struct fields_ctx *x, unsigned pass, struct berth_err **err)
{
    for (size_t i = 0; i < fields_table_len; i++) {
        const struct field_row *row = &fields_table[i];
        unsigned when = row->when ? row->when : FIELD_AT_REQUEST;
        if (!(when & pass) || (!row->rule && row->state != FIELD_REFUSED))
            continue;
        int r = walk_row(x, row, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int check_request(const json_t *body, unsigned pass, json_t *warnings,
                         struct berth_err **err)
{
    const json_t *hc = json_object_get(body, "HostConfig");
    struct fields_ctx x = {.body = body,
                           .config = body,
                           .hc = json_is_object(hc) ? hc : NULL,
                           .net = json_get_str(hc, "NetworkMode") ?: "",
                           .warnings = warnings};
    return check(&x, pass, err);
}

int fields_check_early(const json_t *body, struct berth_err **err)
{
    return check_request(body, FIELD_AT_EARLY, NULL, err);
}

int fields_check_request(const json_t *body, json_t *warnings, struct berth_err **err)
{
    return check_request(body, FIELD_AT_REQUEST, warnings, err);
}

int fields_check_merged(const json_t *body, const json_t *config, const json_t *hc,
                        json_t *warnings, struct berth_err **err)
{
    struct fields_ctx x = {.body = body,
                           .config = config,
                           .hc = hc,
                           .net = json_get_str(hc, "NetworkMode") ?: "",
                           .merged = true,
                           .warnings = warnings};
    return check(&x, FIELD_AT_MERGED, err);
}
