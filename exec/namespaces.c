/* exec/namespaces.c — namespace modes and sysctls: dockerd's checks and defaults at create, and
 * at start the other containers' namespaces a container joins (their pidfds, for setns in the
 * child) and the /dev/shm it shares. */
#include "exec/namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "exec/run.h"

#define CONTAINER_PREFIX "container:"
#define DEFAULT_SHM_SIZE (64LL << 20) /* dockerd's */
#define MAX_JOIN_HOPS    16           /* container:X chains followed to find whose a namespace is */

/* The X of "container:X", or NULL when mode is not of that form. */
static const char *container_of(const char *mode)
{
    return mode && strncmp(mode, CONTAINER_PREFIX, strlen(CONTAINER_PREFIX)) == 0
               ? mode + strlen(CONTAINER_PREFIX)
               : NULL;
}

static enum ns_mode mode_of(const char *mode, const char **of)
{
    *of = container_of(mode);
    if (*of)
        return NS_CONTAINER;
    if (!mode)
        return NS_PRIVATE;
    if (strcmp(mode, "host") == 0)
        return NS_HOST;
    if (strcmp(mode, "none") == 0)
        return NS_NONE;
    if (strcmp(mode, "shareable") == 0)
        return NS_SHAREABLE;
    return NS_PRIVATE;
}

void ns_modes(const json_t *hc, struct ns_modes *m)
{
    const char *unused, *cgroupns = json_get_str(hc, "CgroupnsMode");
    *m = (struct ns_modes){0};
    m->net = mode_of(json_get_str(hc, "NetworkMode"), &m->net_of);
    if (m->net == NS_NONE || m->net == NS_SHAREABLE) /* none is a netns of its own */
        m->net = NS_PRIVATE;
    m->ipc = mode_of(json_get_str(hc, "IpcMode"), &m->ipc_of);
    m->pid = mode_of(json_get_str(hc, "PidMode"), &m->pid_of);
    if (m->pid != NS_HOST && m->pid != NS_CONTAINER)
        m->pid = NS_PRIVATE;
    m->uts = mode_of(json_get_str(hc, "UTSMode"), &unused) == NS_HOST ? NS_HOST : NS_PRIVATE;
    if (cgroupns && *cgroupns)
        m->cgroup = strcmp(cgroupns, "private") == 0 ? NS_PRIVATE : NS_HOST;
    else
        m->cgroup = cgroup_unified() ? NS_PRIVATE : NS_HOST;
}

bool ns_pid_private(const json_t *hc)
{
    const char *pid = json_get_str(hc, "PidMode");
    return !pid || (strcmp(pid, "host") != 0 && !container_of(pid));
}

/* ---- create-time checks ---- */

static bool nonempty(const json_t *v)
{
    return (json_is_array(v) && json_array_size(v)) || (json_is_object(v) && json_object_size(v));
}

int ns_check_request(const json_t *config, const json_t *hc, struct berth_err **err)
{
    const char *net = json_get_str(hc, "NetworkMode"), *host = json_get_str(config, "Hostname");
    const char *uts = json_get_str(hc, "UTSMode");
    bool hostname = host && *host;
    /* as dockerd: a network named "container" is container mode too, without its X */
    if (net && (strcmp(net, "container") == 0 || container_of(net))) {
        if (!container_of(net) || !*container_of(net))
            return berth_user_error(err, EINVAL,
                                    "invalid network mode: invalid container format "
                                    "container:<name|id>");
        if (hostname)
            return berth_user_error(err, EINVAL,
                                    "conflicting options: hostname and the network mode");
        if (nonempty(json_object_get(hc, "Links")))
            return berth_user_error(err, EINVAL,
                                    "conflicting options: container type network can't be used "
                                    "with links. This would result in undefined behavior");
        if (nonempty(json_object_get(hc, "Dns")))
            return berth_user_error(err, EINVAL, "conflicting options: dns and the network mode");
        if (nonempty(json_object_get(hc, "ExtraHosts")))
            return berth_user_error(err, EINVAL,
                                    "conflicting options: custom host-to-IP mapping and the "
                                    "network mode");
        if (nonempty(json_object_get(hc, "PortBindings")) ||
            json_get_bool(hc, "PublishAllPorts", false))
            return berth_user_error(err, EINVAL,
                                    "conflicting options: port publishing and the container type "
                                    "network mode");
        if (nonempty(json_object_get(config, "ExposedPorts")))
            return berth_user_error(err, EINVAL,
                                    "conflicting options: port exposing and the container type "
                                    "network mode");
    }
    if (uts && strcmp(uts, "host") == 0 && hostname)
        return berth_user_error(err, EINVAL, "conflicting options: hostname and the UTS mode");
    return 0;
}

/* runc's spelling of a key for its checks: "net/ipv4/ip_forward" reads as "net.ipv4.ip_forward"
 * (the separators swapped when the first one is a slash). Heap string. */
static char *sysctl_dotted(const char *key)
{
    char *s = xstrdup(key);
    size_t first = strcspn(s, "./");
    if (s[first] != '/')
        return s;
    for (char *p = s; *p; p++)
        *p = *p == '.' ? '/' : *p == '/' ? '.' : *p;
    return s;
}

/* The sysctls of the IPC namespace (runc's list, and fs.mqueue.*). */
static bool ipc_sysctl(const char *key)
{
    static const char *const keys[] = {"kernel.msgmax", "kernel.msgmnb",          "kernel.msgmni",
                                       "kernel.sem",    "kernel.shmall",          "kernel.shmmax",
                                       "kernel.shmmni", "kernel.shm_rmid_forced", NULL};
    for (const char *const *k = keys; *k; k++)
        if (strcmp(*k, key) == 0)
            return true;
    return strncmp(key, "fs.mqueue.", 10) == 0;
}

/* runc's validation of one sysctl, given whether the IPC, network and UTS namespaces are the
 * host's: only what a namespace of the container's own confines. */
static int check_sysctl(const char *raw, bool host_ipc, bool host_net, bool host_uts,
                        struct berth_err **err)
{
    _cleanup_free_ char *key = sysctl_dotted(raw);
    if (ipc_sysctl(key))
        return host_ipc
                   ? berth_user_error(err, EINVAL,
                                      "sysctl \"%s\" is not allowed in the hosts ipc namespace",
                                      key)
                   : 0;
    if (strncmp(key, "net.", 4) == 0)
        return host_net
                   ? berth_user_error(err, EINVAL,
                                      "sysctl \"%s\" not allowed in host network namespace", key)
                   : 0;
    if (!host_uts && strcmp(key, "kernel.domainname") == 0)
        return 0;
    if (!host_uts && strcmp(key, "kernel.hostname") == 0)
        return berth_user_error(err, EINVAL,
                                "sysctl \"%s\" is not allowed as it conflicts with the OCI "
                                "\"hostname\" field",
                                key);
    if (strncmp(key, "user.", 5) == 0) /* berth makes no user namespaces */
        return berth_user_error(err, EINVAL,
                                "setting ucounts without a user namespace not allowed: %s", key);
    return berth_user_error(err, EINVAL, "sysctl \"%s\" is not in a separate kernel namespace",
                            key);
}

static int check_sysctls(const json_t *hc, struct berth_err **err)
{
    const json_t *sysctls = json_object_get(hc, "Sysctls");
    if (!sysctls || json_is_null(sysctls))
        return 0;
    if (!json_is_object(sysctls)) /* dockerd's decoder: a map of strings */
        return berth_user_error(err, EINVAL,
                                "json: cannot unmarshal %s into Go struct field "
                                "HostConfig.HostConfig.Sysctls of type map[string]string",
                                json_is_array(sysctls) ? "array" : "value");
    struct ns_modes m;
    ns_modes(hc, &m);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)sysctls, key, v)
    {
        if (!json_is_string(v))
            return berth_user_error(err, EINVAL,
                                    "json: cannot unmarshal value into Go struct field "
                                    "HostConfig.HostConfig.Sysctls of type string");
        int r = check_sysctl(key, m.ipc == NS_HOST, m.net == NS_HOST, m.uts == NS_HOST, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int ns_check_modes(const json_t *hc, struct berth_err **err)
{
    const char *ipc = json_get_str(hc, "IpcMode") ?: "", *pid = json_get_str(hc, "PidMode") ?: "";
    const char *uts = json_get_str(hc, "UTSMode") ?: "", *of;
    static const char *const ipc_modes[] = {"", "none", "private", "host", "shareable", NULL};
    bool ipc_ok = false;
    for (const char *const *m = ipc_modes; *m; m++)
        ipc_ok |= strcmp(ipc, *m) == 0;
    /* dockerd takes "container:" without a name here and fails at start; berth refuses it now */
    if (!ipc_ok && !((of = container_of(ipc)) && *of))
        return berth_user_error(err, EINVAL, "invalid IPC mode: %s", ipc);
    if (*pid && strcmp(pid, "host") != 0 && !((of = container_of(pid)) && *of))
        return berth_user_error(err, EINVAL, "invalid PID mode: %s", pid);
    if (*uts && strcmp(uts, "host") != 0)
        return berth_user_error(err, EINVAL, "invalid UTS mode: %s", uts);
    return check_sysctls(hc, err);
}

int ns_check_defaults(const json_t *file, struct berth_err **err)
{
    const char *ipc = json_get_str(file, "default-ipc-mode");
    const char *cgroupns = json_get_str(file, "default-cgroupns-mode");
    static const char hint[] = "use \"shareable\" or \"private\"";
    if (ipc && *ipc && strcmp(ipc, "private") != 0 && strcmp(ipc, "shareable") != 0) {
        bool valid = strcmp(ipc, "none") == 0 || strcmp(ipc, "host") == 0 || container_of(ipc);
        if (!valid)
            return berth_user_error(err, EINVAL, "default IPC mode setting (%s) is invalid; %s",
                                    ipc, hint);
        return berth_user_error(err, EINVAL,
                                "IPC mode \"%s\" is not supported as default value; %s", ipc, hint);
    }
    if (cgroupns && *cgroupns && strcmp(cgroupns, "private") != 0 && strcmp(cgroupns, "host") != 0)
        return berth_user_error(err, EINVAL,
                                "invalid default cgroup namespace (%s): use \"host\" or "
                                "\"private\"",
                                cgroupns);
    return 0;
}

/* ---- create: the daemon's defaults, names made IDs ---- */

static void set_default(json_t *hc, const char *key, const char *value)
{
    const char *have = json_get_str(hc, key);
    if (!have || !*have)
        json_object_set_new(hc, key, json_string(value));
}

/* "container:NAME" made "container:ID" (so a rename of X keeps the link, as dockerd); a missing
 * X is ENOENT when must_exist. */
static int canonical(struct ctr_store *cs, json_t *hc, const char *key, bool must_exist,
                     struct berth_err **err)
{
    const char *of = container_of(json_get_str(hc, key));
    struct container *x;
    if (!of)
        return 0;
    int r = ctr_lookup(cs, of, &x, must_exist ? err : NULL); /* "No such container: X" */
    if (r < 0)
        return must_exist ? r : 0;
    json_object_set_new(hc, key, json_sprintf(CONTAINER_PREFIX "%s", x->id));
    return 0;
}

int ns_settle(struct ctr_store *cs, json_t *hc, const char *ipc_default,
              const char *cgroupns_default, struct berth_err **err)
{
    set_default(hc, "IpcMode", ipc_default && *ipc_default ? ipc_default : "private");
    const char *cgroupns = cgroup_unified() ? "private" : "host";
    if (json_get_bool(hc, "Privileged", false) && !cgroup_unified())
        cgroupns = "host"; /* dockerd: a privileged container on v1 keeps the host's */
    else if (cgroupns_default && *cgroupns_default)
        cgroupns = cgroupns_default;
    set_default(hc, "CgroupnsMode", cgroupns);
    int r = canonical(cs, hc, "PidMode", true, err);
    if (r < 0)
        return r;
    if ((r = canonical(cs, hc, "IpcMode", true, err)) < 0)
        return r;
    return canonical(cs, hc, "NetworkMode", false, err);
}

/* ---- start: the namespaces it joins ---- */

static bool is_running(const struct container *x)
{
    return (x->state.status == CTR_RUNNING || x->state.status == CTR_PAUSED) &&
           ctr_run_pidfd(x) >= 0;
}

/* Does the namespace that key's mode names end at the host's, following container:X chains? */
static bool ends_at_host(struct ctr_store *cs, const struct container *c, const char *key)
{
    for (int hop = 0; hop < MAX_JOIN_HOPS && c; hop++) {
        const char *mode = json_get_str(c->host_config, key), *of = container_of(mode);
        if (!of)
            return mode && strcmp(mode, "host") == 0;
        struct container *x = NULL;
        c = ctr_lookup(cs, of, &x, NULL) == 0 ? x : NULL;
    }
    return false;
}

/* A sysctl of a namespace it takes from X that is the host's: runc refuses it (IPC: berth too). */
static int check_joined_sysctls(struct ctr_store *cs, const struct container *c,
                                const struct container *net_of, const struct container *ipc_of,
                                struct berth_err **err)
{
    bool host_net = net_of && ends_at_host(cs, net_of, "NetworkMode");
    bool host_ipc = ipc_of && ends_at_host(cs, ipc_of, "IpcMode");
    const char *key;
    json_t *v;
    if (!host_net && !host_ipc)
        return 0;
    json_object_foreach(json_object_get(c->host_config, "Sysctls"), key, v)
    {
        _cleanup_free_ char *dotted = sysctl_dotted(key);
        int r = 0;
        if (host_ipc && ipc_sysctl(dotted))
            r = berth_user_error(err, EPERM,
                                 "sysctl \"%s\" is not allowed in the hosts ipc namespace", dotted);
        else if (host_net && strncmp(dotted, "net.", 4) == 0)
            r = berth_user_error(err, EPERM, "sysctl \"%s\" not allowed in host network namespace",
                                 dotted);
        if (r < 0)
            return r;
    }
    return 0;
}

static int dup_pidfd(const struct container *x, struct berth_err **err)
{
    int fd = fcntl(ctr_run_pidfd(x), F_DUPFD_CLOEXEC, 3);
    return fd < 0 ? berth_error(err, errno, "duplicate the pidfd of container %s", x->id) : fd;
}

/* dockerd's getNetworkedContainer. */
static int join_net(struct ctr_store *cs, struct container *c, const char *of, struct container **x,
                    struct berth_err **err)
{
    if (ctr_lookup(cs, of, x, NULL) < 0)
        return berth_user_error(
            err, EIO, "joining network namespace of container: No such container: %s", of);
    if (*x == c)
        return berth_user_error(err, EIO, "cannot join own network namespace");
    if (!is_running(*x))
        return berth_user_error(err, EBUSY,
                                "cannot join network namespace of a non running container: "
                                "container %s is %s",
                                (*x)->name, ctr_status_name((*x)->state.status));
    return 0;
}

/* dockerd's getIPCContainer: X runs and has a /dev/shm others may share. */
static int join_ipc(struct ctr_store *cs, const char *of, struct container **x,
                    struct berth_err **err)
{
    if (ctr_lookup(cs, of, x, NULL) < 0)
        return berth_user_error(err, EINVAL, "failed to join IPC namespace: No such container: %s",
                                of);
    if (!is_running(*x))
        return berth_user_error(err, EBUSY,
                                "failed to join IPC namespace: container %s is not running", of);
    if (!ctr_run_shm(*x))
        return berth_user_error(err, EINVAL,
                                "failed to join IPC namespace: container %s: non-shareable IPC "
                                "(hint: use IpcMode:shareable for the donor container)",
                                of);
    return 0;
}

/* dockerd's getPIDContainer; its errors are system errors (500) there. */
static int join_pid(struct ctr_store *cs, const char *of, struct container **x,
                    struct berth_err **err)
{
    if (ctr_lookup(cs, of, x, NULL) < 0)
        return berth_user_error(err, EIO, "failed to join PID namespace: No such container: %s",
                                of);
    if (!is_running(*x))
        return berth_user_error(err, EIO,
                                "failed to join PID namespace: container %s is not running", of);
    return 0;
}

static bool joins_anything(const json_t *hc)
{
    const char *ipc = json_get_str(hc, "IpcMode");
    return container_of(json_get_str(hc, "NetworkMode")) ||
           container_of(json_get_str(hc, "PidMode")) ||
           (ipc &&
            (container_of(ipc) || strcmp(ipc, "shareable") == 0 || strcmp(ipc, "host") == 0));
}

static int resolve(struct ctr_store *cs, struct container *c, struct ns_join *j,
                   struct berth_err **err)
{
    struct ns_modes m;
    struct container *net = NULL, *ipc = NULL, *pid = NULL;
    ns_modes(c->host_config, &m);
    int r;
    if (m.net == NS_CONTAINER) {
        if ((r = join_net(cs, c, m.net_of, &net, err)) < 0)
            return r;
        if ((j->net = dup_pidfd(net, err)) < 0)
            return j->net;
        j->etc_dir = xstrdup(net->dir);
        json_object_set_new(c->config, "Hostname", /* as dockerd, at each start */
                            json_string(json_get_str(net->config, "Hostname") ?: ""));
    }
    if (m.ipc == NS_CONTAINER) {
        if ((r = join_ipc(cs, m.ipc_of, &ipc, err)) < 0)
            return r;
        if ((j->ipc = dup_pidfd(ipc, err)) < 0)
            return j->ipc;
        j->shm = xstrdup(ctr_run_shm(ipc));
    }
    if (m.pid == NS_CONTAINER) {
        if ((r = join_pid(cs, m.pid_of, &pid, err)) < 0)
            return r;
        if ((j->pid = dup_pidfd(pid, err)) < 0)
            return j->pid;
    }
    if ((r = check_joined_sysctls(cs, c, net, ipc, err)) < 0)
        return r;
    if (m.ipc == NS_HOST)
        j->shm = xstrdup("/dev/shm"); /* as dockerd: the host's, bound */
    if (m.ipc == NS_SHAREABLE) {
        j->shm = ns_shm_path(c->dir);
        j->own_shm = true;
    }
    return 0;
}

int ns_join_resolve(struct ctr_store *cs, struct container *c, struct ns_join **out,
                    struct berth_err **err)
{
    *out = NULL;
    if (!joins_anything(c->host_config)) /* the common case: nothing to do */
        return 0;
    struct ns_join *j = xcalloc(1, sizeof(*j));
    *j = (struct ns_join){.net = -1, .ipc = -1, .pid = -1};
    int64_t size = json_get_int(c->host_config, "ShmSize", 0);
    j->shm_size = size > 0 ? size : DEFAULT_SHM_SIZE;
    int r = resolve(cs, c, j, err);
    if (r < 0) {
        ns_join_free(j);
        return r;
    }
    *out = j;
    return 0;
}

void ns_join_free(struct ns_join *j)
{
    if (!j)
        return;
    int fds[] = {j->net, j->ipc, j->pid};
    for (size_t i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(j->shm);
    free(j->etc_dir);
    free(j);
}

/* ---- /dev/shm of a shareable container ---- */

char *ns_shm_path(const char *dir)
{
    return xasprintf("%s/shm", dir);
}

int ns_shm_mount(const struct ns_join *j, struct berth_err **err)
{
    if (!j || !j->own_shm)
        return 0;
    _cleanup_free_ char *data = xasprintf("mode=1777,size=%lld", (long long)j->shm_size);
    if (mkdir(j->shm, 0700) < 0 && errno != EEXIST)
        return berth_error(err, errno, "create `%s`", j->shm);
    umount2(j->shm, MNT_DETACH); /* what a crash may have left */
    if (mount("shm", j->shm, "tmpfs", MS_NOEXEC | MS_NOSUID | MS_NODEV, data) < 0)
        return berth_error(err, errno, "mounting shm tmpfs `%s`", j->shm);
    return 0;
}

void ns_shm_unmount(const char *dir)
{
    _cleanup_free_ char *path = ns_shm_path(dir);
    umount2(path, MNT_DETACH);
}

const char *ns_etc_dir(struct ctr_store *cs, const struct container *c)
{
    const char *of = container_of(json_get_str(c->host_config, "NetworkMode"));
    struct container *x;
    return of && ctr_lookup(cs, of, &x, NULL) == 0 && x != c ? x->dir : c->dir;
}
