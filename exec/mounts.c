/* exec/mounts.c — mount options of user mounts (propagation, tmpfs options) and Docker's
 * system-path defaults, in moby's words; the spawn plan (exec/plan.c) applies them. */
#include "exec/mounts.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "fs/mountinfo.h"
#include "fs/atomic.h"

static const struct {
    const char *name;
    unsigned long flags;
} propagations[] = {
    {"private", MS_PRIVATE}, {"rprivate", MS_PRIVATE | MS_REC},
    {"slave", MS_SLAVE},     {"rslave", MS_SLAVE | MS_REC},
    {"shared", MS_SHARED},   {"rshared", MS_SHARED | MS_REC},
};
#define NPROPAGATIONS (ARRAY_SIZE(propagations))

unsigned long mounts_propagation_flags(const char *name)
{
    for (size_t i = 0; name && i < NPROPAGATIONS; i++)
        if (strcmp(name, propagations[i].name) == 0)
            return propagations[i].flags;
    return 0;
}

bool mounts_propagation_shared(const char *name)
{
    return (mounts_propagation_flags(name) & MS_SHARED) != 0;
}

const char *mounts_mode_propagation(const char *mode)
{
    for (const char *o = mode ? mode : ""; *o;) {
        size_t n = strcspn(o, ",");
        for (size_t i = 0; i < NPROPAGATIONS; i++)
            if (strlen(propagations[i].name) == n && strncmp(o, propagations[i].name, n) == 0)
                return propagations[i].name;
        o += n + (o[n] == ',');
    }
    return MOUNTS_DEFAULT_PROPAGATION;
}

const char *mounts_bind_propagation(const json_t *mount)
{
    const char *p = json_get_str(json_object_get(mount, "BindOptions"), "Propagation");
    for (size_t i = 0; p && i < NPROPAGATIONS; i++)
        if (strcmp(p, propagations[i].name) == 0)
            return propagations[i].name;
    return MOUNTS_DEFAULT_PROPAGATION;
}

/* ---- the source's mount on the host ---- */

/* Is mnt the path itself or one of its parents? */
static bool is_parent(const char *mnt, const char *path)
{
    size_t n = strlen(mnt);
    return strcmp(mnt, "/") == 0 ||
           (strncmp(path, mnt, n) == 0 && (path[n] == '\0' || path[n] == '/'));
}

/* Does the optional-fields part hold a field starting with one of want (NULL-ended)? */
static bool has_optional(const char *fields, const char *const *want)
{
    for (const char *f = fields; *f;) {
        size_t n = strcspn(f, " ");
        for (const char *const *w = want; *w; w++)
            if (n >= strlen(*w) && strncmp(f, *w, strlen(*w)) == 0)
                return true;
        f += n + (f[n] == ' ');
    }
    return false;
}

/* The mount path is on (the longest parent; on a tie the later line, as dockerd picks it)
 * and its optional fields ("shared:1 master:2"). Heap strings; ENOENT when none. */
static int source_mount(const char *mountinfo, const char *path, char **mnt, char **optional,
                        struct berth_err **err)
{
    char *text = NULL;
    size_t len;
    int r = fs_read_file(mountinfo, &text, &len, err);
    if (r < 0)
        return r;
    *mnt = *optional = NULL;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        struct mountinfo_line m;
        if (!mountinfo_parse(line, &m) || !is_parent(m.point, path) ||
            (*mnt && strlen(m.point) < strlen(*mnt)))
            continue;
        free(*mnt);
        free(*optional);
        *mnt = xstrdup(m.point);
        *optional = xstrdup(m.optional);
    }
    free(text);
    return *mnt ? 0 : berth_user_error(err, ENOENT, "Can't find mount point of %s", path);
}

int mounts_check_source(const char *mountinfo, const char *src, const char *propagation,
                        struct berth_err **err)
{
    static const char *const shared[] = {"shared:", NULL};
    static const char *const shared_or_slave[] = {"shared:", "master:", NULL};
    unsigned long flags = mounts_propagation_flags(propagation);
    if (!(flags & (MS_SHARED | MS_SLAVE)))
        return 0; /* private: any source will do */
    char real[PATH_MAX];
    if (!realpath(src, real))
        return berth_user_error(err, EINVAL, "lstat %s: %s", src, strerror(errno));
    _cleanup_free_ char *mnt = NULL;
    _cleanup_free_ char *optional = NULL;
    int r = source_mount(mountinfo, real, &mnt, &optional, err);
    if (r < 0)
        return r;
    if ((flags & MS_SHARED) && !has_optional(optional, shared))
        return berth_user_error(err, EINVAL,
                                "path %s is mounted on %s but it is not a shared mount", src, mnt);
    if ((flags & MS_SLAVE) && !has_optional(optional, shared_or_slave))
        return berth_user_error(err, EINVAL,
                                "path %s is mounted on %s but it is not a shared or slave mount",
                                src, mnt);
    return 0;
}

/* ---- tmpfs ---- */

int mounts_tmpfs_data(const json_t *o, bool ro, char **out, struct berth_err **err)
{
    struct buf b = {0};
    int64_t mode = json_get_int(o, "Mode", 0), size = json_get_int(o, "SizeBytes", 0);
    size_t i;
    json_t *opt;
    *out = NULL;
    if (ro)
        buf_puts(&b, "ro");
    if (mode)
        buf_printf(&b, "%smode=%" PRIo64, b.len ? "," : "", (uint64_t)mode);
    if (size) { /* the largest unit that divides it, as moby writes it */
        static const struct {
            char suffix;
            int64_t div;
        } units[] = {{'g', 1 << 30}, {'m', 1 << 20}, {'k', 1 << 10}};
        char suffix = 0;
        for (size_t u = 0; u < 3 && !suffix; u++)
            if (size % units[u].div == 0) {
                size /= units[u].div;
                suffix = units[u].suffix;
            }
        buf_printf(&b, "%ssize=%" PRId64, b.len ? "," : "", size);
        if (suffix)
            buf_append(&b, &suffix, 1);
    }
    json_array_foreach(json_object_get(o, "Options"), i, opt)
    {
        size_t n = json_array_size(opt);
        const char *k = json_string_value(json_array_get(opt, 0)) ?: "";
        const char *v = json_string_value(json_array_get(opt, 1));
        if (n < 1 || n > 2) {
            buf_free(&b);
            return berth_user_error(err, EINVAL, "invalid option array length");
        }
        if (strcmp(k, "exec") != 0 && strcmp(k, "noexec") != 0) {
            buf_free(&b);
            return berth_user_error(err, EINVAL, "invalid option: %s", k);
        }
        buf_printf(&b, "%s%s%s%s", b.len ? "," : "", k, n == 2 ? "=" : "", n == 2 && v ? v : "");
    }
    buf_reserve(&b, 0);
    *out = buf_steal(&b, NULL);
    return 0;
}

/* ---- system paths ---- */

const char *const mounts_default_masked[] = {"/proc/acpi",
                                             "/proc/asound",
                                             "/proc/interrupts",
                                             "/proc/kcore",
                                             "/proc/keys",
                                             "/proc/latency_stats",
                                             "/proc/sched_debug",
                                             "/proc/scsi",
                                             "/proc/timer_list",
                                             "/proc/timer_stats",
                                             "/sys/devices/virtual/powercap",
                                             "/sys/firmware",
                                             NULL};
const char *const mounts_default_readonly[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL};

static json_t *string_list(const char *const *list)
{
    json_t *a = json_array();
    for (; *list; list++)
        json_array_append_new(a, json_string(*list));
    return a;
}

void mounts_fill_default_paths(json_t *hc)
{
    if (json_get_bool(hc, "Privileged", false))
        return; /* privileged: none unless asked for */
    if (!json_is_array(json_object_get(hc, "MaskedPaths"))) {
        json_t *masked = string_list(mounts_default_masked);
        /* moby masks each CPU's thermal_throttle too (GHSA-6fw5-f8r9-fgfm), where it exists */
        long ncpu = sysconf(_SC_NPROCESSORS_CONF);
        for (long cpu = 0; cpu < ncpu; cpu++) {
            _cleanup_free_ char *p =
                xasprintf("/sys/devices/system/cpu/cpu%ld/thermal_throttle", cpu);
            if (access(p, F_OK) == 0)
                json_array_append_new(masked, json_string(p));
        }
        json_object_set_new(hc, "MaskedPaths", masked);
    }
    if (!json_is_array(json_object_get(hc, "ReadonlyPaths")))
        json_object_set_new(hc, "ReadonlyPaths", string_list(mounts_default_readonly));
}
