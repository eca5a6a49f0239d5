/* exec/devices.c — device mappings, device cgroup rules, device requests and block I/O device
 * limits: the checks at create and what they resolve to on the host at start (moby's
 * oci.DevicesFromPath and AppendDevicePermissionsFromCgroupRules, runc's default devices). */
#include "exec/devices.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fs/dirlist.h"
#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/macros.h"
#include "core/xalloc.h"

/* The devices every container may use (runc's AllowedDevices, plus the console berth has always
 * allowed), and the node each stands for: a mapped device made at one of these paths replaces the
 * default node and drops its rule (as runc does), so "--device /dev/zero:/dev/zero:r" leaves
 * /dev/zero read-only. The other rules stay, so a mapping elsewhere ("/dev/zero:/dev/z:r") still
 * has Docker's rwm on 1:5 by its default rule. */
static const struct cgroup_device_rule default_rules[] = {
    {'c', -1, -1, "m"}, {'b', -1, -1, "m"},    {'c', 1, 3, "rwm"}, {'c', 1, 8, "rwm"},
    {'c', 1, 7, "rwm"}, {'c', 5, 0, "rwm"},    {'c', 1, 5, "rwm"}, {'c', 1, 9, "rwm"},
    {'c', 5, 1, "rwm"}, {'c', 136, -1, "rwm"}, {'c', 5, 2, "rwm"}, {'c', 10, 200, "rwm"},
};
static const char *const default_paths[] = {
    NULL,        NULL,           "/dev/null", "/dev/random", "/dev/full", "/dev/tty",
    "/dev/zero", "/dev/urandom", NULL,        NULL,          NULL,        NULL,
};
#define NDEFAULTS (ARRAY_SIZE(default_rules))

/* The HostConfig lists of per-device block I/O, the CLI flag each comes from, the field of its
 * value, and dockerd's warning when the host cannot take it. */
static const struct {
    const char *field, *flag, *value, *v1_file, *warning;
} blkio_fields[CGROUP_BLKIO_KINDS] = {
    [CGROUP_BLKIO_WEIGHT] = {"BlkioWeightDevice", "--blkio-weight-device", "Weight",
                             "blkio.weight_device",
                             "Your kernel does not support Block I/O weight_device or the cgroup "
                             "is not mounted. Weight-device discarded."},
    [CGROUP_BLKIO_READ_BPS] = {"BlkioDeviceReadBps", "--device-read-bps", "Rate",
                               "blkio.throttle.read_bps_device",
                               "Your kernel does not support BPS Block I/O read limit or the "
                               "cgroup is not mounted. Block I/O BPS read limit discarded."},
    [CGROUP_BLKIO_WRITE_BPS] = {"BlkioDeviceWriteBps", "--device-write-bps", "Rate",
                                "blkio.throttle.write_bps_device",
                                "Your kernel does not support BPS Block I/O write limit or the "
                                "cgroup is not mounted. Block I/O BPS write limit discarded."},
    [CGROUP_BLKIO_READ_IOPS] = {"BlkioDeviceReadIOps", "--device-read-iops", "Rate",
                                "blkio.throttle.read_iops_device",
                                "Your kernel does not support IOPS Block read limit or the cgroup "
                                "is not mounted. Block I/O IOPS read limit discarded."},
    [CGROUP_BLKIO_WRITE_IOPS] = {"BlkioDeviceWriteIOps", "--device-write-iops", "Rate",
                                 "blkio.throttle.write_iops_device",
                                 "Your kernel does not support IOPS Block write limit or the "
                                 "cgroup is not mounted. Block I/O IOPS write limit discarded."},
};

#define MAX_NODES 4096 /* from one directory of devices: more is a mistake, not a device set */
#define MAX_DEPTH 16

/* Go's text of an errno ("no such file or directory"): strerror's, lower-cased. Heap. */
static char *go_errno(int e)
{
    char *s = xstrdup(strerror(e));
    if (s[0] >= 'A' && s[0] <= 'Z' && !(s[1] >= 'A' && s[1] <= 'Z'))
        s[0] = (char)(s[0] - 'A' + 'a');
    return s;
}

/* ---- parsing ---- */

char *dev_clean_path(const char *path)
{
    struct buf out = {0};
    buf_puts(&out, "");
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && strncmp(p, "..", 2) == 0) {
            char *slash = out.len ? strrchr(out.data, '/') : NULL;
            out.len = slash ? (size_t)(slash - out.data) : 0;
            out.data[out.len] = '\0';
        } else if (n && !(n == 1 && p[0] == '.')) {
            buf_printf(&out, "/%.*s", (int)n, p);
        }
        p += n + (p[n] == '/');
    }
    if (!out.len)
        buf_puts(&out, "/");
    return buf_steal(&out, NULL);
}

/* A major or minor of a rule: digits or "*" (-1); *end past it. false when neither or too big
 * for the kernel's 32 bits. */
static bool rule_number(const char *s, const char **end, int64_t *out, bool *overflow)
{
    *overflow = false;
    if (*s == '*') {
        *out = -1;
        *end = s + 1;
        return true;
    }
    size_t n = strspn(s, "0123456789");
    if (!n)
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    *overflow = errno == ERANGE || v > UINT32_MAX;
    *out = (int64_t)v;
    *end = s + n;
    return true;
}

/* ^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$, moby's pattern. */
int dev_parse_rule(const char *s, struct cgroup_device_rule *out, struct berth_err **err)
{
    const char *p = s;
    bool big_major = false, big_minor = false;
    *out = (struct cgroup_device_rule){0};
    bool ok = (*p == 'a' || *p == 'b' || *p == 'c') && p[1] == ' ';
    if (ok) {
        out->type = *p;
        p += 2;
        ok = rule_number(p, &p, &out->major, &big_major) && *p++ == ':' &&
             rule_number(p, &p, &out->minor, &big_minor) && *p++ == ' ';
    }
    size_t n = ok ? strspn(p, "rwm") : 0;
    if (!ok || n < 1 || n > 3 || p[n])
        return berth_user_error(err, EINVAL, "invalid device cgroup rule format: '%s'", s);
    if (big_major || big_minor)
        return berth_user_error(err, EINVAL, "invalid %s value in device cgroup rule format: '%s'",
                                big_major ? "major" : "minor", s);
    memcpy(out->access, p, n);
    return 0;
}

/* Some of r, w and m, each once (the CLI's validDeviceMode). */
static bool valid_mode(const char *mode)
{
    if (!*mode || strlen(mode) > 3)
        return false;
    for (const char *m = mode; *m; m++)
        if (!strchr("rwm", *m) || strchr(m + 1, *m))
            return false;
    return true;
}

/* One Devices entry: host path, container path (the host's when empty, as the CLI makes it)
 * and permissions ("rwm" when empty). */
struct mapping {
    const char *host, *perms;
    char *ctr; /* heap, clean */
};

static void mapping_release(struct mapping *m)
{
    free(m->ctr);
}

static int mapping_of(const json_t *m, struct mapping *out, struct berth_err **err)
{
    const char *host = json_get_str(m, "PathOnHost") ?: "";
    const char *ctr = json_get_str(m, "PathInContainer") ?: "";
    const char *perms = json_get_str(m, "CgroupPermissions") ?: "";
    out->ctr = NULL;
    if (!*ctr)
        ctr = host;
    if (*perms && !valid_mode(perms))
        return berth_user_error(err, EINVAL, "bad mode specified: %s", perms);
    if (host[0] != '/')
        return berth_user_error(err, EINVAL, "%s is not an absolute path", host);
    if (ctr[0] != '/')
        return berth_user_error(err, EINVAL, "%s is not an absolute path", ctr);
    out->host = host;
    out->perms = *perms ? perms : "rwm";
    out->ctr = dev_clean_path(ctr);
    if (strcmp(out->ctr, "/") == 0 || strcmp(out->ctr, "/dev") == 0) {
        int r = berth_user_error(err, EINVAL, "invalid device path in container: %s", ctr);
        free(out->ctr);
        out->ctr = NULL;
        return r;
    }
    return 0;
}

/* ---- create ---- */

/* Go's %v of a [][]string: [[gpu] [compute utility]]. */
static void caps_text(struct buf *b, const json_t *caps)
{
    size_t i, k;
    json_t *group, *c;
    buf_puts(b, "[");
    json_array_foreach(caps, i, group)
    {
        buf_puts(b, i ? " [" : "[");
        json_array_foreach(group, k, c)
            buf_printf(b, "%s%s", k ? " " : "", json_string_value(c) ?: "");
        buf_puts(b, "]");
    }
    buf_puts(b, "]");
}

/* berth has no device driver (no NVIDIA or AMD toolkit, no CDI), so every request fails as it
 * does in a dockerd that has none registered; at create, so no container is left behind. */
static int check_requests(const json_t *reqs, struct berth_err **err)
{
    const json_t *req = json_array_get(reqs, 0);
    if (!req)
        return 0;
    const char *driver = json_get_str(req, "Driver") ?: "";
    struct buf caps = {0};
    caps_text(&caps, json_object_get(req, "Capabilities"));
    buf_reserve(&caps, 0);
    int r =
        berth_user_error(err, EINVAL, "could not select device driver \"%s\" with capabilities: %s",
                         driver, caps.data);
    buf_free(&caps);
    return r;
}

static int check_blkio(const json_t *hc, json_t *warnings, struct berth_err **err)
{
    for (int k = 0; k < CGROUP_BLKIO_KINDS; k++) {
        const json_t *list = json_object_get(hc, blkio_fields[k].field), *d;
        size_t i;
        json_array_foreach(list, i, d)
        {
            const char *path = json_get_str(d, "Path") ?: "";
            int64_t v = json_get_int(d, blkio_fields[k].value, 0);
            if (path[0] != '/')
                return berth_user_error(err, EINVAL, "bad format for device path: %s:%lld", path,
                                        (long long)v);
            if (k == CGROUP_BLKIO_WEIGHT && v != 0 && (v < 10 || v > 1000))
                return berth_user_error(err, EINVAL, "invalid weight for device: %s:%lld", path,
                                        (long long)v);
            if (v < 0)
                return berth_user_error(err, EINVAL,
                                        "invalid rate for device: %s:%lld. Number must be a "
                                        "positive integer",
                                        path, (long long)v);
        }
        if (json_array_size(list) && !cgroup_supports("blkio", blkio_fields[k].v1_file, "io"))
            json_array_append_new(warnings, json_string(blkio_fields[k].warning));
    }
    return 0;
}

int dev_verify(const json_t *hc, json_t *warnings, struct berth_err **err)
{
    size_t i;
    json_t *v;
    int r;
    json_array_foreach(json_object_get(hc, "Devices"), i, v)
    {
        _cleanup_(mapping_release) struct mapping m = {0};
        if ((r = mapping_of(v, &m, err)) < 0)
            return r;
    }
    json_array_foreach(json_object_get(hc, "DeviceCgroupRules"), i, v)
    {
        struct cgroup_device_rule rule;
        if ((r = dev_parse_rule(json_string_value(v) ?: "", &rule, err)) < 0)
            return r;
    }
    if ((r = check_requests(json_object_get(hc, "DeviceRequests"), err)) < 0)
        return r;
    return check_blkio(hc, warnings, err);
}

/* ---- the host ---- */

static void add_node(struct dev_set *set, const char *ctr, const struct stat *st, const char *perms)
{
    if (set->nnodes % 16 == 0) {
        set->nodes = xrealloc(set->nodes, (set->nnodes + 16) * sizeof(*set->nodes));
        set->rules = xrealloc(set->rules, (set->nrules + 16 + NDEFAULTS) * sizeof(*set->rules));
    }
    set->nodes[set->nnodes++] = (struct dev_node){.path = dev_clean_path(ctr),
                                                  .mode = st->st_mode & (S_IFMT | 07777),
                                                  .rdev = st->st_rdev,
                                                  .uid = st->st_uid,
                                                  .gid = st->st_gid};
    struct cgroup_device_rule *rule = &set->rules[set->nrules++];
    *rule = (struct cgroup_device_rule){.type = S_ISBLK(st->st_mode) ? 'b' : 'c',
                                        .major = major(st->st_rdev),
                                        .minor = minor(st->st_rdev)};
    snprintf(rule->access, sizeof(rule->access), "%s", perms);
}

static bool is_device(const struct stat *st)
{
    return S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode);
}

/* Every device below DIR (not following symlinks), at CTR plus its path below DIR. */
static void walk(struct dev_set *set, int dirfd, const char *ctr, const char *perms, int depth)
{
    _cleanup_closedir_ DIR *d = fs_opendir_fd(dirfd);
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d)) && set->nnodes < MAX_NODES) {
        struct stat st;
        if (fs_is_dot(e->d_name) || fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        _cleanup_free_ char *path = xasprintf("%s/%s", ctr, e->d_name);
        int sub = S_ISDIR(st.st_mode) && depth < MAX_DEPTH
                      ? openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                      : -1;
        if (is_device(&st))
            add_node(set, path, &st, perms);
        else if (sub >= 0)
            walk(set, sub, path, perms, depth + 1);
    }
}

/* moby's DevicesFromPath: the host path (a symlink resolved) is a device, or a directory whose
 * devices are all taken; anything else fails in its words. */
static int gather(struct dev_set *set, const struct mapping *m, struct berth_err **err)
{
    _cleanup_free_ char *real = realpath(m->host, NULL);
    const char *path = real ? real : m->host;
    struct stat st;
    size_t before = set->nnodes;
    int e = lstat(path, &st) < 0 ? errno : 0;
    if (!e && is_device(&st)) {
        add_node(set, m->ctr, &st, m->perms);
        return 0;
    }
    if (!e && S_ISDIR(st.st_mode)) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0)
            walk(set, fd, m->ctr, m->perms, 0);
    }
    if (set->nnodes > before)
        return 0;
    _cleanup_free_ char *why = e ? go_errno(e) : xstrdup("not a device node");
    return berth_user_error(err, EINVAL,
                            "error gathering device information while adding custom device "
                            "\"%s\": %s",
                            m->host, why);
}

/* A block I/O limit's device: dockerd stats it for its numbers; the kernel takes only a block
 * device there (berth says so at create, where runc would fail the start). */
static int block_device(const char *path, int kind, dev_t *out, struct berth_err **err)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        _cleanup_free_ char *why = go_errno(errno);
        return berth_user_error(err, EINVAL, "stat %s: %s", path, why);
    }
    if (!S_ISBLK(st.st_mode))
        return berth_user_error(err, EINVAL, "invalid device path for %s: %s is not a block device",
                                blkio_fields[kind].flag, path);
    *out = st.st_rdev;
    return 0;
}

static int resolve_blkio(const json_t *hc, struct dev_set *set, struct berth_err **err)
{
    for (int k = 0; k < CGROUP_BLKIO_KINDS; k++) {
        const json_t *list = json_object_get(hc, blkio_fields[k].field), *d;
        size_t i;
        if (json_array_size(list))
            set->blkio[k] = xcalloc(json_array_size(list), sizeof(*set->blkio[k]));
        json_array_foreach(list, i, d)
        {
            dev_t rdev;
            int r = block_device(json_get_str(d, "Path") ?: "", k, &rdev, err);
            if (r < 0)
                return r;
            set->blkio[k][set->nblkio[k]++] = (struct cgroup_blkio_device){
                .major = major(rdev),
                .minor = minor(rdev),
                .value = (uint64_t)json_get_int(d, blkio_fields[k].value, 0)};
        }
    }
    return 0;
}

static bool nonempty(const json_t *hc, const char *field)
{
    return json_array_size(json_object_get(hc, field)) > 0;
}

static bool uses_devices(const json_t *hc)
{
    if (nonempty(hc, "Devices") || nonempty(hc, "DeviceCgroupRules"))
        return true;
    for (int k = 0; k < CGROUP_BLKIO_KINDS; k++)
        if (nonempty(hc, blkio_fields[k].field))
            return true;
    return false;
}

bool dev_claims(const struct dev_set *d, const char *path)
{
    for (size_t i = 0; d && i < d->nnodes; i++)
        if (strcmp(d->nodes[i].path, path) == 0)
            return true;
    return false;
}

/* Docker's default rules after the container's own, but those whose node a mapping replaced. */
static void add_defaults(struct dev_set *set, const json_t *rules, struct berth_err **err)
{
    size_t i;
    json_t *v;
    set->rules = xrealloc(set->rules,
                          (set->nrules + json_array_size(rules) + NDEFAULTS) * sizeof(*set->rules));
    json_array_foreach(rules, i, v) /* create checked them: one that fails now is skipped */
        if (dev_parse_rule(json_string_value(v) ?: "", &set->rules[set->nrules], err) == 0)
            set->nrules++;
    for (size_t k = 0; k < NDEFAULTS; k++)
        if (!default_paths[k] || !dev_claims(set, default_paths[k]))
            set->rules[set->nrules++] = default_rules[k];
}

/* The mapped devices' nodes and rules, blkio's device numbers, then the default rules. */
static int resolve_into(struct dev_set *set, const json_t *hc, struct berth_err **err)
{
    size_t i;
    json_t *v;
    int r;
    json_array_foreach(json_object_get(hc, "Devices"), i, v)
    {
        _cleanup_(mapping_release) struct mapping m = {0};
        if ((r = mapping_of(v, &m, err)) < 0)
            return r;
        if ((r = gather(set, &m, err)) < 0)
            return r;
    }
    if ((r = resolve_blkio(hc, set, err)) < 0)
        return r;
    add_defaults(set, json_object_get(hc, "DeviceCgroupRules"), NULL);
    return 0;
}

int dev_resolve(const json_t *hc, struct dev_set **out, struct berth_err **err)
{
    *out = NULL;
    if (!uses_devices(hc))
        return 0; /* the common case: Docker's defaults, nothing to look up */
    struct dev_set *set = xcalloc(1, sizeof(*set));
    int r = resolve_into(set, hc, err);
    if (r < 0) { /* the set is freed here, whichever step failed */
        dev_set_free(set);
        return r;
    }
    *out = set;
    return 0;
}

int dev_verify_host(const json_t *hc, struct berth_err **err)
{
    struct dev_set *set;
    int r = dev_resolve(hc, &set, err);
    dev_set_free(set);
    return r;
}

void dev_set_free(struct dev_set *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nnodes; i++)
        free(d->nodes[i].path);
    free(d->nodes);
    free(d->rules);
    for (int k = 0; k < CGROUP_BLKIO_KINDS; k++)
        free(d->blkio[k]);
    free(d);
}

void dev_limits(const struct dev_set *d, struct cgroup_limits *l)
{
    l->devices = d ? d->rules : default_rules;
    l->ndevices = d ? d->nrules : NDEFAULTS;
    for (int k = 0; d && k < CGROUP_BLKIO_KINDS; k++) {
        l->blkio[k] = d->blkio[k];
        l->nblkio[k] = d->nblkio[k];
    }
}
