/* exec/plan.c — Docker's container defaults (mounts, devices, masked and read-only paths,
 * environment) and the container's own settings, resolved into a spawn plan. Strings live in
 * the plan store, so the child formats and allocates nothing. */
#include "exec/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "exec/ctrnet.h"
#include "exec/devices.h"
#include "exec/namespaces.h"
#include "exec/lsm.h"
#include "exec/mounts.h"
#include "exec/rootfs.h"
#include "exec/verify.h"

struct plan_store {
    void **ptrs;
    size_t nptrs;
    struct spawn_mount *mounts;
    size_t nmounts, cap_mounts;
    struct seccomp_prog *seccomp;
    struct user_spec user;
    bool root_shared; /* a bind asked for (r)shared propagation */
};

struct plan_store *plan_store_new(void)
{
    return xcalloc(1, sizeof(struct plan_store));
}

static void *keep(struct plan_store *s, void *p)
{
    s->ptrs = xrealloc(s->ptrs, (s->nptrs + 1) * sizeof(*s->ptrs));
    s->ptrs[s->nptrs++] = p;
    return p;
}

static char *keepf(struct plan_store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *keepf(struct plan_store *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = xvasprintf(fmt, ap);
    va_end(ap);
    return keep(s, p);
}

void *plan_keep(struct plan_store *s, void *p)
{
    return keep(s, p);
}

void plan_store_free(struct plan_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nptrs; i++)
        free(s->ptrs[i]);
    free(s->ptrs);
    free(s->mounts);
    seccomp_prog_free(s->seccomp);
    user_spec_free(&s->user);
    free(s);
}

static struct spawn_mount *add_mount(struct plan_store *s)
{
    if (s->nmounts == s->cap_mounts) {
        s->cap_mounts = s->cap_mounts ? s->cap_mounts * 2 : 32;
        s->mounts = xrealloc(s->mounts, s->cap_mounts * sizeof(*s->mounts));
    }
    struct spawn_mount *m = &s->mounts[s->nmounts++];
    memset(m, 0, sizeof(*m));
    return m;
}

/* A mount point inside the rootfs, resolved so that no symlink in the image leads out. */
static const char *target(struct plan_store *s, const char *rootfs, const char *path, bool dir,
                          struct berth_err **err)
{
    char *real;
    return rootfs_target(rootfs, path, dir, &real, err) < 0 ? NULL : keep(s, real);
}

static void fs_mount(struct plan_store *s, const char *src, const char *tgt, const char *type,
                     unsigned long flags, const char *data, bool mkdir_target)
{
    struct spawn_mount *m = add_mount(s);
    *m = (struct spawn_mount){.kind = SPAWN_MOUNT_FS,
                              .source = src,
                              .target = tgt,
                              .fstype = type,
                              .flags = flags,
                              .data = data,
                              .mkdir_target = mkdir_target};
}

static void device_node(struct plan_store *s, const char *target, const struct dev_node *n)
{
    struct spawn_mount *m = add_mount(s);
    *m = (struct spawn_mount){.kind = SPAWN_MOUNT_DEVICE,
                              .target = target,
                              .mode = n->mode,
                              .rdev = n->rdev,
                              .uid = n->uid,
                              .gid = n->gid};
}

/* The mapped devices under /dev, in its tmpfs (before its symlinks, as runc makes them), with
 * the directories above them. */
static void dev_nodes(struct plan_store *s, const char *dev, const struct dev_set *devs)
{
    for (size_t i = 0; devs && i < devs->nnodes; i++) {
        const char *path = devs->nodes[i].path;
        if (strncmp(path, "/dev/", 5) != 0)
            continue;
        for (const char *slash = strchr(path + 5, '/'); slash; slash = strchr(slash + 1, '/')) {
            struct spawn_mount *m = add_mount(s);
            *m = (struct spawn_mount){
                .kind = SPAWN_MOUNT_DIR,
                .target = keepf(s, "%s/%.*s", dev, (int)(slash - path - 5), path + 5)};
        }
        device_node(s, keepf(s, "%s/%s", dev, path + 5), &devs->nodes[i]);
    }
}

/* The mapped devices elsewhere, in the rootfs (their directories resolved inside it). */
static int rootfs_nodes(struct plan_store *s, const char *rootfs, const struct dev_set *devs,
                        struct berth_err **err)
{
    for (size_t i = 0; devs && i < devs->nnodes; i++) {
        const char *path = devs->nodes[i].path, *base = strrchr(path, '/');
        if (strncmp(path, "/dev/", 5) == 0)
            continue;
        _cleanup_free_ char *parent = xstrndup(path, (size_t)(base - path));
        const char *dir = target(s, rootfs, *parent ? parent : "/", true, err);
        if (!dir)
            return berth_err_code(*err);
        device_node(s, keepf(s, "%s%s", dir, base), &devs->nodes[i]);
    }
    return 0;
}

/* /dev as Docker builds it: a small tmpfs with the usual nodes (those a mapped device replaces
 * aside), the mapped devices, ptys, shm and mqueue. /dev/shm is a tmpfs of its own, or shm_from
 * bound (--ipc shareable, host or container:X), or absent (--ipc none). */
static void dev_mounts(struct plan_store *s, const char *dev, int64_t shm_size, bool no_shm,
                       const char *shm_from, const struct dev_set *devs)
{
    static const struct {
        const char *name;
        int major, minor;
    } nodes[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
                 {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
    static const char *const links[][2] = {
        {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
        {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},         {"/proc/kcore", "core"}};
    fs_mount(s, "tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", false);
    fs_mount(s, "devpts", keepf(s, "%s/pts", dev), "devpts", MS_NOSUID | MS_NOEXEC,
             "newinstance,ptmxmode=0666,mode=0620,gid=5", true);
    if (shm_from) {
        struct spawn_mount *m = add_mount(s);
        *m = (struct spawn_mount){.kind = SPAWN_MOUNT_BIND,
                                  .source = keepf(s, "%s", shm_from),
                                  .target = keepf(s, "%s/shm", dev),
                                  .mkdir_target = true};
    } else if (!no_shm) {
        fs_mount(s, "shm", keepf(s, "%s/shm", dev), "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV,
                 keepf(s, "mode=1777,size=%lld", (long long)(shm_size > 0 ? shm_size : 64 << 20)),
                 true);
    }
    fs_mount(s, "mqueue", keepf(s, "%s/mqueue", dev), "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV,
             NULL, true);
    for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
        char path[32];
        snprintf(path, sizeof(path), "/dev/%s", nodes[i].name);
        if (devs && dev_claims(devs, path))
            continue;
        struct spawn_mount *m = add_mount(s);
        *m = (struct spawn_mount){.kind = SPAWN_MOUNT_MKNOD,
                                  .target = keepf(s, "%s/%s", dev, nodes[i].name),
                                  .rdev = makedev(nodes[i].major, nodes[i].minor)};
    }
    dev_nodes(s, dev, devs);
    for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
        if (strcmp(links[i][1], "core") == 0 && access(links[i][0], F_OK) < 0)
            continue; /* as runc: /dev/core only where the kernel has /proc/kcore */
        struct spawn_mount *m = add_mount(s);
        *m = (struct spawn_mount){.kind = SPAWN_MOUNT_SYMLINK,
                                  .source = links[i][0],
                                  .target = keepf(s, "%s/%s", dev, links[i][1])};
    }
}

/* /sys/fs/cgroup as runc shows it: on v1 a tmpfs with each controller's directory of this
 * container bound in; on v2 the cgroup2 tree rooted at the container's cgroup (a private
 * namespace) or its directory bound (the host's). Read-only unless privileged. */
static void cgroup_mounts(struct plan_store *s, const char *sys, const struct cgroup *cg,
                          bool cgroupns, bool privileged)
{
    const char *dir = keepf(s, "%s/fs/cgroup", sys); /* in the container's sysfs: no symlinks */
    unsigned long ro = privileged ? 0 : MS_RDONLY, flags = MS_NOSUID | MS_NOEXEC | MS_NODEV;
    const char *const *ctrls = cgroup_controllers(cg);
    if (!ctrls && cgroupns) {
        fs_mount(s, "cgroup", dir, "cgroup2", flags | ro, NULL, false);
        return;
    }
    if (!ctrls) {
        struct spawn_mount *m = add_mount(s);
        *m = (struct spawn_mount){.kind = SPAWN_MOUNT_BIND,
                                  .source = keep(s, cgroup_path(cg, NULL)),
                                  .target = dir,
                                  .flags = ro};
        return;
    }
    fs_mount(s, "tmpfs", dir, "tmpfs", flags, "mode=755", false);
    for (; *ctrls; ctrls++) {
        char *src = keep(s, cgroup_path(cg, *ctrls));
        if (access(src, F_OK) < 0)
            continue;
        struct spawn_mount *m = add_mount(s);
        *m = (struct spawn_mount){.kind = SPAWN_MOUNT_BIND,
                                  .source = src,
                                  .target = keepf(s, "%s/%s", dir, *ctrls),
                                  .flags = ro,
                                  .mkdir_target = true};
    }
    if (ro) /* the mount points are made: now nobody adds any */
        fs_mount(s, "tmpfs", dir, "tmpfs", MS_REMOUNT | flags | ro, "mode=755", false);
}

static int system_mounts(struct plan_store *s, const struct container *c, const char *rootfs,
                         const struct cgroup *cg, bool cgroupns, const struct dev_set *devs,
                         bool no_shm, const char *shm_from, struct berth_err **err)
{
    bool privileged = json_get_bool(c->host_config, "Privileged", false);
    const char *proc = target(s, rootfs, "/proc", true, err);
    const char *dev = proc ? target(s, rootfs, "/dev", true, err) : NULL;
    const char *sys = dev ? target(s, rootfs, "/sys", true, err) : NULL;
    if (!sys)
        return berth_err_code(*err);
    fs_mount(s, "proc", proc, "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL, false);
    dev_mounts(s, dev, json_get_int(c->host_config, "ShmSize", 0), no_shm, shm_from, devs);
    fs_mount(s, "sysfs", sys, "sysfs",
             MS_NOSUID | MS_NOEXEC | MS_NODEV | (privileged ? 0 : MS_RDONLY), NULL, false);
    if (cg)
        cgroup_mounts(s, sys, cg, cgroupns, privileged);
    return rootfs_nodes(s, rootfs, devs, err);
}

/* A bind of a host path. A missing source is made (a directory) when create is set, as dockerd
 * does for -v; a relative one is refused whatever the container's config says (create refuses
 * it, but a container.json from an older berthd may hold one: it would be made relative to
 * berthd's cwd). */
static int bind(struct plan_store *s, const char *rootfs, const char *src, const char *dst, bool ro,
                bool create, const char *propagation, struct berth_err **err)
{
    struct stat st;
    if (src[0] != '/')
        return berth_user_error(err, EINVAL,
                                "invalid mount config for type \"bind\": invalid mount path: "
                                "'%s' mount path must be absolute",
                                src);
    if (stat(src, &st) < 0 && errno == ENOENT && create && mkdir(src, 0755) < 0)
        return berth_error(err, errno, "create mount source `%s`", src);
    if (stat(src, &st) < 0 && errno == ENOENT)
        return berth_user_error(err, EINVAL,
                                "invalid mount config for type \"bind\": bind source path does "
                                "not exist: %s",
                                src);
    if (stat(src, &st) < 0)
        return berth_error(err, errno,
                           "invalid mount config for type \"bind\": bind source path "
                           "`%s`",
                           src);
    if (propagation && mounts_check_source("/proc/self/mountinfo", src, propagation, err) < 0)
        return berth_err_code(*err);
    const char *tgt = target(s, rootfs, dst, S_ISDIR(st.st_mode), err);
    if (!tgt)
        return berth_err_code(*err);
    struct spawn_mount *m = add_mount(s);
    *m = (struct spawn_mount){.kind = SPAWN_MOUNT_BIND,
                              .source = keepf(s, "%s", src),
                              .target = tgt,
                              .flags = ro ? MS_RDONLY : 0,
                              .propagation = mounts_propagation_flags(propagation)};
    s->root_shared |= mounts_propagation_shared(propagation);
    return 0;
}

static bool has_opt(const char *opts, const char *want)
{
    for (const char *p = opts; *p;) {
        size_t n = strcspn(p, ",");
        if (n == strlen(want) && strncmp(p, want, n) == 0)
            return true;
        p += n + (p[n] == ',');
    }
    return false;
}

/* -v SRC:DST[:OPTS] of host paths (a volume's NAME:DST or DST is one of c->mounts). */
static int host_binds(struct plan_store *s, const struct container *c, const char *rootfs,
                      struct berth_err **err)
{
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(c->host_config, "Binds"), i, b)
    {
        _cleanup_free_ char *spec = xstrdup(json_string_value(b) ? json_string_value(b) : "");
        char *dst = strchr(spec, ':');
        char *opts = dst ? strchr(dst + 1, ':') : NULL;
        if (!dst || spec[0] != '/')
            continue; /* a volume */
        *dst++ = '\0';
        if (opts)
            *opts++ = '\0';
        int r = bind(s, rootfs, spec, dst, opts && has_opt(opts, "ro"), true,
                     mounts_mode_propagation(opts), err);
        if (r < 0)
            return r;
    }
    json_array_foreach(json_object_get(c->host_config, "Mounts"), i, b)
    {
        const char *type = json_get_str(b, "Type"), *src = json_get_str(b, "Source");
        const char *dst = json_get_str(b, "Target");
        if (!type || strcmp(type, "bind") != 0 || !src || !dst)
            continue; /* volumes and tmpfs mounts are handled elsewhere */
        bool create = json_get_bool(json_object_get(b, "BindOptions"), "CreateMountpoint", false);
        int r = bind(s, rootfs, src, dst, json_get_bool(b, "ReadOnly", false), create,
                     mounts_bind_propagation(b), err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* c->mounts (exec/volumes.h): a volume is its _data bound at the destination; --volumes-from
 * brings the other container's binds as they are there. */
static int volume_binds(struct plan_store *s, const struct container *c, const char *rootfs,
                        struct berth_err **err)
{
    size_t i;
    json_t *m;
    json_array_foreach(c->mounts, i, m)
    {
        bool volume = strcmp(json_get_str(m, "Type") ?: "", "volume") == 0;
        const char *prop = json_get_str(m, "Propagation");
        int r =
            bind(s, rootfs, json_get_str(m, "Source") ?: "", json_get_str(m, "Destination") ?: "/",
                 !json_get_bool(m, "RW", true), !volume, prop && *prop ? prop : NULL, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int binds(struct plan_store *s, const struct container *c, const char *rootfs,
                 struct berth_err **err)
{
    int r = host_binds(s, c, rootfs, err);
    return r < 0 ? r : volume_binds(s, c, rootfs, err);
}

/* Slashes in a mount's target: how deep it sits. */
static size_t depth(const struct spawn_mount *m)
{
    size_t n = 0;
    for (const char *p = m->target; p && *p; p++)
        n += *p == '/';
    return n;
}

/* The user's mounts (binds, volumes, tmpfs: from index first on) in the order of their depth, as
 * dockerd sorts them, so that a mount inside another one's target is made after it. Stable:
 * mounts at the same depth keep their order. */
static void sort_user_mounts(struct plan_store *s, size_t first)
{
    for (size_t i = first + 1; i < s->nmounts; i++) {
        struct spawn_mount m = s->mounts[i];
        size_t k = i, d = depth(&m);
        for (; k > first && depth(&s->mounts[k - 1]) > d; k--)
            s->mounts[k] = s->mounts[k - 1];
        s->mounts[k] = m;
    }
}

/* A tmpfs at DST with OPTS (--tmpfs DST:OPTS): the mount flags taken out of OPTS, the rest
 * passed as data. */
static int tmpfs_mount(struct plan_store *s, const char *rootfs, const char *dst, const char *spec,
                       struct berth_err **err)
{
    unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    struct buf data = {0};
    _cleanup_free_ char *opts = xstrdup(spec);
    for (char *save = NULL, *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
        if (strcmp(o, "ro") == 0)
            flags |= MS_RDONLY;
        else if (strcmp(o, "exec") == 0)
            flags &= ~(unsigned long)MS_NOEXEC;
        else if (strcmp(o, "suid") == 0)
            flags &= ~(unsigned long)MS_NOSUID;
        else if (strcmp(o, "dev") == 0)
            flags &= ~(unsigned long)MS_NODEV;
        else if (strcmp(o, "rw") && strcmp(o, "noexec") && strcmp(o, "nosuid") &&
                 strcmp(o, "nodev"))
            buf_printf(&data, "%s%s", data.len ? "," : "", o);
    }
    const char *tgt = target(s, rootfs, dst, true, err);
    if (!tgt) {
        buf_free(&data);
        return berth_err_code(*err);
    }
    buf_reserve(&data, 0);
    fs_mount(s, "tmpfs", tgt, "tmpfs", flags, keep(s, buf_steal(&data, NULL)), false);
    return 0;
}

/* --tmpfs DST[:OPTS], then --mount type=tmpfs (its TmpfsOptions as moby turns them into OPTS). */
static int tmpfs_mounts(struct plan_store *s, const struct container *c, const char *rootfs,
                        struct berth_err **err)
{
    const char *dst;
    json_t *v;
    size_t i;
    int r;
    json_object_foreach(json_object_get(c->host_config, "Tmpfs"), dst, v)
    {
        if ((r = tmpfs_mount(s, rootfs, dst, json_string_value(v) ?: "", err)) < 0)
            return r;
    }
    json_array_foreach(json_object_get(c->host_config, "Mounts"), i, v)
    {
        const char *type = json_get_str(v, "Type");
        _cleanup_free_ char *data = NULL;
        if (!type || strcmp(type, "tmpfs") != 0)
            continue;
        r = mounts_tmpfs_data(json_object_get(v, "TmpfsOptions"),
                              json_get_bool(v, "ReadOnly", false), &data, err);
        if (r < 0)
            return r;
        if ((r = tmpfs_mount(s, rootfs, json_get_str(v, "Target") ?: "", data, err)) < 0)
            return r;
    }
    return 0;
}

/* /etc/hosts, /etc/hostname and /etc/resolv.conf, written in the container's directory (with
 * --network container:X, X's); read-only with --read-only. */
static int etc_files(struct plan_store *s, const struct container *c, const char *rootfs,
                     const char *dir, struct berth_err **err)
{
    static const char *const files[] = {"hosts", "hostname", "resolv.conf"};
    bool ro = json_get_bool(c->host_config, "ReadonlyRootfs", false); /* as dockerd */
    for (size_t i = 0; i < 3; i++) {
        _cleanup_free_ char *dst = xasprintf("/etc/%s", files[i]);
        _cleanup_free_ char *src = xasprintf("%s/%s", dir, files[i]);
        int r = bind(s, rootfs, src, dst, ro, false, NULL, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* HostConfig.MaskedPaths or ReadonlyPaths when set (an empty list too: systempaths=unconfined),
 * even for a privileged container, as dockerd applies them last; else Docker's defaults, none
 * for a privileged container. */
static const char *const *system_paths(struct plan_store *s, const struct container *c,
                                       const char *field, const char *const *defaults)
{
    json_t *list = json_object_get(c->host_config, field), *v;
    size_t i, n = 0;
    if (!json_is_array(list))
        return json_get_bool(c->host_config, "Privileged", false) ? NULL : defaults;
    const char **out = keep(s, xcalloc(json_array_size(list) + 1, sizeof(char *)));
    json_array_foreach(list, i, v) if (json_string_value(v)) out[n++] =
        keepf(s, "%s", json_string_value(v));
    return out;
}

static bool env_has(const json_t *env, const char *key)
{
    size_t i, n = strlen(key);
    json_t *e;
    json_array_foreach(env, i, e)
    {
        const char *s = json_string_value(e);
        if (s && strncmp(s, key, n) == 0 && s[n] == '=')
            return true;
    }
    return false;
}

/* Config.Env plus what Docker adds: PATH, HOSTNAME, the links' variables (which Config.Env
 * overrides), HOME (from passwd), TERM with a tty. */
static char **environment(struct plan_store *s, const struct container *c, const json_t *links,
                          const char **path)
{
    json_t *env = json_object_get(c->config, "Env"), *e;
    size_t i, n = 0;
    char **out =
        keep(s, xcalloc(json_array_size(env) + json_array_size(links) + 5, sizeof(char *)));
    if (!env_has(env, "PATH"))
        out[n++] = keepf(s, "PATH=%s", PLAN_DEFAULT_PATH);
    out[n++] = keepf(s, "HOSTNAME=%s", json_get_str(c->config, "Hostname"));
    json_array_foreach(links, i, e)
    {
        const char *v = json_string_value(e), *eq = strchr(v, '=');
        _cleanup_free_ char *key = xstrndup(v, (size_t)(eq - v));
        if (!env_has(env, key))
            out[n++] = keepf(s, "%s", v);
    }
    json_array_foreach(env, i, e) if (json_string_value(e)) out[n++] =
        keepf(s, "%s", json_string_value(e));
    if (json_get_bool(c->config, "Tty", false) && !env_has(env, "TERM"))
        out[n++] = keepf(s, "TERM=xterm");
    if (!env_has(env, "HOME"))
        out[n++] = keepf(s, "HOME=%s", s->user.home ? s->user.home : "/");
    *path = PLAN_DEFAULT_PATH;
    for (size_t k = 0; k < n; k++)
        if (strncmp(out[k], "PATH=", 5) == 0)
            *path = out[k] + 5;
    return out;
}

const char *const *plan_path_dirs(struct plan_store *s, const char *path)
{
    char *copy = keepf(s, "%s", path);
    size_t n = 1;
    for (const char *p = copy; *p; p++)
        n += *p == ':';
    const char **out = keep(s, xcalloc(n + 1, sizeof(char *)));
    n = 0;
    for (char *save = NULL, *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
        out[n++] = d;
    return out;
}

#define INIT_TARGET "/sbin/docker-init" /* where dockerd puts it too */

/* The command, behind `docker-init --` when the container runs under an init. */
static char **arguments(struct plan_store *s, const struct container *c, bool init)
{
    size_t n = json_array_size(c->args), i, k = 0;
    json_t *a;
    char **argv = keep(s, xcalloc(n + 4, sizeof(char *)));
    if (init) {
        argv[k++] = INIT_TARGET;
        argv[k++] = "--";
    }
    argv[k++] = keepf(s, "%s", c->path);
    json_array_foreach(c->args, i, a) argv[k++] = keepf(s, "%s", json_string_value(a) ?: "");
    return argv;
}

const char *plan_init_binary(const char *configured)
{
    static const char *const known[] = {"/usr/libexec/docker/docker-init", "/usr/bin/docker-init",
                                        "/usr/sbin/docker-init", "/usr/bin/tini-static", NULL};
    if (configured && *configured)
        return access(configured, X_OK) == 0 ? configured : NULL;
    for (const char *const *k = known; *k; k++)
        if (access(*k, X_OK) == 0)
            return *k;
    return NULL;
}

static int rlimits(struct plan_store *s, const json_t *hc, struct spawn_plan *p,
                   struct berth_err **err)
{
    json_t *list = json_object_get(hc, "Ulimits"), *u;
    size_t i;
    struct spawn_rlimit *out = keep(s, xcalloc(json_array_size(list) + 1, sizeof(*out)));
    json_array_foreach(list, i, u)
    {
        const char *name = json_get_str(u, "Name");
        int res = verify_rlimit(name);
        if (res < 0)
            return berth_user_error(err, EINVAL, "invalid ulimit type: %s", name ? name : "");
        out[p->nrlimits++] =
            (struct spawn_rlimit){.resource = res,
                                  .limit = {.rlim_cur = (rlim_t)json_get_int(u, "Soft", 0),
                                            .rlim_max = (rlim_t)json_get_int(u, "Hard", 0)}};
    }
    p->rlimits = out;
    return 0;
}

/* Go's strconv.ParseBool. */
static int parse_bool(const char *v)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < 6; i++)
        if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0)
            return strcmp(v, yes[i]) == 0;
    return -1;
}

int plan_security_opts(const json_t *opts, struct security_opts *out, struct berth_err **err)
{
    *out = (struct security_opts){0};
    size_t i;
    json_t *o;
    json_array_foreach(opts, i, o)
    {
        const char *opt = json_string_value(o) ? json_string_value(o) : "";
        if (strcmp(opt, "no-new-privileges") == 0) {
            out->no_new_privs = true;
            continue;
        }
        size_t k = strcspn(opt, strchr(opt, '=') ? "=" : ":");
        const char *v = opt + k + 1;
        int b = 0;
        bool disable = strcmp(opt, "disable") == 0; /* dockerd's old spelling of label=disable */
        if (!opt[k] && !disable)
            return berth_user_error(err, EINVAL, "invalid --security-opt 1: \"%s\"", opt);
        if (k == 7 && strncmp(opt, "seccomp", k) == 0) {
            out->unconfined = strcmp(v, "unconfined") == 0;
            out->profile = out->unconfined ? NULL : v;
        } else if (k == 17 && strncmp(opt, "no-new-privileges", k) == 0 &&
                   (b = parse_bool(v)) >= 0) {
            out->no_new_privs = b;
        } else if (k == 8 && strncmp(opt, "apparmor", k) == 0) {
            out->lsm.apparmor = v;
        } else if (disable || (k == 5 && strncmp(opt, "label", k) == 0)) {
            if (out->lsm.nlabels == LSM_MAX_LABELS)
                return berth_user_error(err, EINVAL, "too many label options: \"%s\"", opt);
            out->lsm.labels[out->lsm.nlabels++] = disable ? opt : v;
        } else {
            return berth_user_error(err, EINVAL, "invalid --security-opt 2: \"%s\"", opt);
        }
    }
    return 0;
}

/* The AppArmor profile and SELinux label the child sets; the host is looked at only when the
 * container asks for one. */
static int lsm_attrs(struct plan_store *s, const struct lsm_opts *o, struct spawn_plan *p,
                     struct berth_err **err)
{
    if (!o->apparmor && !o->nlabels)
        return 0;
    struct lsm_host h;
    struct lsm_attr attrs[2];
    lsm_probe("", &h);
    int r = lsm_plan(o, &h, attrs, &p->nattrs, err);
    lsm_host_free(&h);
    if (r < 0)
        return r;
    for (size_t i = 0; i < p->nattrs; i++)
        p->attrs[i] = (struct spawn_attr){attrs[i].path, keep(s, attrs[i].value)};
    return 0;
}

/* Capabilities, seccomp, AppArmor and SELinux, then limits. */
int plan_security(struct plan_store *s, const json_t *hc, bool all_caps, struct spawn_plan *p,
                  struct berth_err **err)
{
    bool privileged = json_get_bool(hc, "Privileged", false);
    struct security_opts so;
    int r = plan_security_opts(json_object_get(hc, "SecurityOpt"), &so, err);
    if (r < 0)
        return r;
    p->no_new_privs = so.no_new_privs;
    if ((r = lsm_attrs(s, &so.lsm, p, err)) < 0)
        return r;
    bool unconfined = privileged || so.unconfined;
    const char *profile = so.profile;
    r = caps_compute(privileged, json_object_get(hc, "CapAdd"), json_object_get(hc, "CapDrop"),
                     p->uid == 0, &p->caps, err);
    if (r < 0)
        return r;
    if (!unconfined) {
        if ((r = seccomp_compile(profile, &p->caps, &s->seccomp, err)) < 0)
            return r;
    }
    p->seccomp = s->seccomp;
    /* the container's filter stays (runc applies it to every process of the container): only
     * the capabilities grow */
    if (all_caps && (r = caps_compute(true, NULL, NULL, p->uid == 0, &p->caps, err)) < 0)
        return r;
    if ((r = rlimits(s, hc, p, err)) < 0)
        return r;
    p->oom_score_adj = (int)json_get_int(hc, "OomScoreAdj", 0);
    return 0;
}

static int open_pty(struct plan_stdio *io, unsigned short rows, unsigned short cols,
                    struct berth_err **err)
{
    io->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    char name[64];
    if (io->master < 0 || grantpt(io->master) < 0 || unlockpt(io->master) < 0 ||
        ptsname_r(io->master, name, sizeof(name)) != 0)
        return berth_error(err, errno, "allocate a pty");
    int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        return berth_error(err, errno, "open `%s`", name);
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    if (ws.ws_row && ws.ws_col)
        ioctl(slave, TIOCSWINSZ, &ws);
    io->child[0] = io->child[1] = io->child[2] = slave;
    return 0;
}

/* A pipe whose `child_end` (0: read, 1: write) the child gets as fd, ours non-blocking. */
static int open_pipe(int *child, int *ours, int child_end, struct berth_err **err)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return berth_error(err, errno, "pipe");
    *child = fds[child_end], *ours = fds[!child_end];
    fcntl(*ours, F_SETFL, O_NONBLOCK);
    return 0;
}

int plan_stdio_open(const struct plan_stdio_want *w, struct plan_stdio *io, struct berth_err **err)
{
    *io = PLAN_STDIO_NONE;
    if (w->tty)
        return open_pty(io, w->rows, w->cols, err);
    const bool want[3] = {w->in, w->out, w->err};
    int *ours[3] = {&io->in, &io->out, &io->err};
    for (int i = 0; i < 3; i++) {
        int r = want[i] ? open_pipe(&io->child[i], ours[i], i == 0 ? 0 : 1, err) : 0;
        if (r < 0)
            return r;
        /* O_RDWR: as runc's stdin */
        if (!want[i] && (io->child[i] = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
            return berth_error(err, errno, "open /dev/null");
    }
    return 0;
}

int plan_stdio(const struct container *c, struct plan_stdio *io, struct berth_err **err)
{
    const json_t *size = json_object_get(c->host_config, "ConsoleSize");
    const struct plan_stdio_want w = {
        .tty = json_get_bool(c->config, "Tty", false),
        .in = json_get_bool(c->config, "OpenStdin", false),
        .out = true,
        .err = true,
        .rows = (unsigned short)json_integer_value(json_array_get(size, 0)),
        .cols = (unsigned short)json_integer_value(json_array_get(size, 1))};
    return plan_stdio_open(&w, io, err);
}

void plan_stdio_close_child(struct plan_stdio *io)
{
    int slave = io->child[0];
    for (int i = 0; i < 3; i++) {
        if (io->child[i] >= 0 && (i == 0 || io->child[i] != slave))
            close(io->child[i]);
        io->child[i] = -1;
    }
}

void plan_stdio_close(struct plan_stdio *io)
{
    plan_stdio_close_child(io);
    int *fds[] = {&io->out, &io->err, &io->in, &io->master};
    for (size_t i = 0; i < 4; i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
}

void plan_limits(const struct container *c, const struct dev_set *devs, struct cgroup_limits *l)
{
    const json_t *h = c->host_config;
    *l = (struct cgroup_limits){.memory = json_get_int(h, "Memory", 0),
                                .memory_swap = json_get_int(h, "MemorySwap", 0),
                                .memory_reservation = json_get_int(h, "MemoryReservation", 0),
                                .memory_swappiness = json_get_int(h, "MemorySwappiness", -1),
                                .oom_kill_disable = json_get_bool(h, "OomKillDisable", false),
                                .cpu_shares = json_get_int(h, "CpuShares", 0),
                                .cpu_period = json_get_int(h, "CpuPeriod", 0),
                                .cpu_quota = json_get_int(h, "CpuQuota", 0),
                                .nano_cpus = json_get_int(h, "NanoCpus", 0),
                                .cpuset_cpus = json_get_str(h, "CpusetCpus"),
                                .cpuset_mems = json_get_str(h, "CpusetMems"),
                                .pids_limit = json_get_int(h, "PidsLimit", 0),
                                .blkio_weight = json_get_int(h, "BlkioWeight", 0),
                                .cpu_rt_period = json_get_int(h, "CpuRealtimePeriod", 0),
                                .cpu_rt_runtime = json_get_int(h, "CpuRealtimeRuntime", 0),
                                .privileged = json_get_bool(h, "Privileged", false)};
    dev_limits(devs, l);
}

/* HostConfig.GroupAdd (--group-add) as a NULL-terminated list. */
static char *const *group_add(struct plan_store *s, const json_t *hc)
{
    json_t *list = json_object_get(hc, "GroupAdd"), *g;
    size_t n = json_array_size(list), i;
    char **out = keep(s, xcalloc(n + 1, sizeof(char *)));
    size_t k = 0;
    json_array_foreach(list, i, g) if (json_is_string(g)) out[k++] =
        keepf(s, "%s", json_string_value(g));
    return out;
}

int plan_user(struct plan_store *s, const json_t *hc, const char *root, const char *user,
              struct spawn_plan *p, struct berth_err **err)
{
    int r = rootfs_user(root, user, group_add(s, hc), &s->user, err);
    if (r < 0)
        return r;
    p->uid = s->user.uid; /* plan_security computes the capabilities for this user */
    p->gid = s->user.gid;
    p->groups = s->user.groups;
    p->ngroups = s->user.ngroups;
    return 0;
}

const char *plan_user_home(const struct plan_store *s)
{
    return s->user.home ? s->user.home : "/";
}

/* A namespace of its own unless it shares the host's or another container's. */
static int own(enum ns_mode mode, int flag)
{
    return mode == NS_HOST || mode == NS_CONTAINER ? 0 : flag;
}

/* The namespaces it makes and those it enters (join: the other containers' pidfds; netns: its
 * own network namespace, already plumbed, or -1). */
static void namespaces(const struct ns_modes *m, const struct ns_join *join, int netns,
                       struct spawn_plan *p)
{
    p->clone_flags = CLONE_NEWNS | own(m->pid, CLONE_NEWPID) | own(m->uts, CLONE_NEWUTS) |
                     own(m->ipc, CLONE_NEWIPC) | (netns >= 0 ? 0 : own(m->net, CLONE_NEWNET));
    p->cgroupns = m->cgroup == NS_PRIVATE;
    const struct spawn_join joins[] = {{netns >= 0 ? netns
                                        : join     ? join->net
                                                   : -1,
                                        CLONE_NEWNET},
                                       {join ? join->ipc : -1, CLONE_NEWIPC},
                                       {join ? join->pid : -1, CLONE_NEWPID}}; /* PID last */
    for (size_t i = 0; i < SPAWN_JOINS_MAX; i++)
        if (joins[i].pidfd >= 0)
            p->joins[p->njoins++] = joins[i];
}

/* HostConfig.Sysctls (checked at create), each key a path under /proc/sys as runc makes it:
 * every dot a slash, so no ".." can climb out. */
static void sysctls(struct plan_store *s, const struct container *c, struct spawn_plan *p)
{
    json_t *list = json_object_get(c->host_config, "Sysctls"), *v;
    const char *key;
    if (!json_object_size(list))
        return;
    struct spawn_sysctl *out = keep(s, xcalloc(json_object_size(list), sizeof(*out)));
    json_object_foreach(list, key, v)
    {
        char *path = keepf(s, "/proc/sys/%s", key);
        for (char *q = path + strlen("/proc/sys/"); *q; q++)
            *q = *q == '.' ? '/' : *q;
        out[p->nsysctls++] =
            (struct spawn_sysctl){.key = keepf(s, "%s", key),
                                  .path = path,
                                  .value = keepf(s, "%s", json_string_value(v) ?: "")};
    }
    p->sysctls = out;
}

int plan_build(const struct container *c, const struct plan_inputs *in, struct spawn_plan *p,
               struct plan_store **store, struct berth_err **err)
{
    const char *rootfs = in->rootfs, *init = in->init;
    const struct ns_join *join = in->join;
    struct plan_store *s = *store = plan_store_new();
    const char *workdir = json_get_str(c->config, "WorkingDir");
    const char *path;
    struct ns_modes m;
    memset(p, 0, sizeof(*p));
    p->rootfs = rootfs;
    ns_modes(c->host_config, &m);
    namespaces(&m, join, ctrnet_netns(in->net), p);
    int r = plan_user(s, c->host_config, rootfs, json_get_str(c->config, "User"), p, err);
    if (r < 0)
        return r;
    /* dockerd creates a missing working directory */
    if (workdir && *workdir && !target(s, rootfs, workdir, true, err))
        return berth_err_code(*err);
    r = system_mounts(s, c, rootfs, in->cg, p->cgroupns, in->devs, m.ipc == NS_NONE,
                      join ? join->shm : NULL, err);
    if (r < 0)
        return r;
    if ((r = etc_files(s, c, rootfs, join && join->etc_dir ? join->etc_dir : c->dir, err)) < 0)
        return r;
    size_t user_mounts = s->nmounts;
    if ((r = binds(s, c, rootfs, err)) < 0)
        return r;
    if ((r = tmpfs_mounts(s, c, rootfs, err)) < 0)
        return r;
    sort_user_mounts(s, user_mounts);
    if (init) {
        if ((r = bind(s, rootfs, init, INIT_TARGET, true, false, NULL, err)) < 0)
            return r;
    }
    if ((r = plan_security(s, c->host_config, false, p, err)) < 0)
        return r;
    p->mounts = s->mounts;
    p->nmounts = s->nmounts;
    p->masked = system_paths(s, c, "MaskedPaths", mounts_default_masked);
    p->readonly = system_paths(s, c, "ReadonlyPaths", mounts_default_readonly);
    p->root_shared = s->root_shared;
    p->readonly_rootfs = json_get_bool(c->host_config, "ReadonlyRootfs", false);
    p->hostname = m.uts == NS_HOST ? NULL : json_get_str(c->config, "Hostname");
    p->domainname = m.uts == NS_HOST ? NULL : json_get_str(c->config, "Domainname");
    if (p->domainname && !*p->domainname)
        p->domainname = NULL;
    sysctls(s, c, p);
    p->cwd = workdir && *workdir ? workdir : "/";
    p->argv = arguments(s, c, init != NULL);
    p->envp = environment(s, c, in->link_env, &path);
    p->path = plan_path_dirs(s, path);
    p->tty = json_get_bool(c->config, "Tty", false);
    return 0;
}
