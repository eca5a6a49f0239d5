/* exec/caps.c — container capabilities: Docker's rules for the default set, --cap-add/--cap-drop
 * and --privileged, computed in the engine; applied in the cloned child with raw syscalls only. */
#include "exec/caps.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/macros.h"

#define BIT(c) (UINT64_C(1) << (c))

/* Indexed by number so caps_name() needs no allocation. Capabilities newer than this table
 * still take part in "ALL" and --privileged; they only lack a name. */
static const char *const cap_names[] = {
    [CAP_CHOWN] = "CAP_CHOWN",
    [CAP_DAC_OVERRIDE] = "CAP_DAC_OVERRIDE",
    [CAP_DAC_READ_SEARCH] = "CAP_DAC_READ_SEARCH",
    [CAP_FOWNER] = "CAP_FOWNER",
    [CAP_FSETID] = "CAP_FSETID",
    [CAP_KILL] = "CAP_KILL",
    [CAP_SETGID] = "CAP_SETGID",
    [CAP_SETUID] = "CAP_SETUID",
    [CAP_SETPCAP] = "CAP_SETPCAP",
    [CAP_LINUX_IMMUTABLE] = "CAP_LINUX_IMMUTABLE",
    [CAP_NET_BIND_SERVICE] = "CAP_NET_BIND_SERVICE",
    [CAP_NET_BROADCAST] = "CAP_NET_BROADCAST",
    [CAP_NET_ADMIN] = "CAP_NET_ADMIN",
    [CAP_NET_RAW] = "CAP_NET_RAW",
    [CAP_IPC_LOCK] = "CAP_IPC_LOCK",
    [CAP_IPC_OWNER] = "CAP_IPC_OWNER",
    [CAP_SYS_MODULE] = "CAP_SYS_MODULE",
    [CAP_SYS_RAWIO] = "CAP_SYS_RAWIO",
    [CAP_SYS_CHROOT] = "CAP_SYS_CHROOT",
    [CAP_SYS_PTRACE] = "CAP_SYS_PTRACE",
    [CAP_SYS_PACCT] = "CAP_SYS_PACCT",
    [CAP_SYS_ADMIN] = "CAP_SYS_ADMIN",
    [CAP_SYS_BOOT] = "CAP_SYS_BOOT",
    [CAP_SYS_NICE] = "CAP_SYS_NICE",
    [CAP_SYS_RESOURCE] = "CAP_SYS_RESOURCE",
    [CAP_SYS_TIME] = "CAP_SYS_TIME",
    [CAP_SYS_TTY_CONFIG] = "CAP_SYS_TTY_CONFIG",
    [CAP_MKNOD] = "CAP_MKNOD",
    [CAP_LEASE] = "CAP_LEASE",
    [CAP_AUDIT_WRITE] = "CAP_AUDIT_WRITE",
    [CAP_AUDIT_CONTROL] = "CAP_AUDIT_CONTROL",
    [CAP_SETFCAP] = "CAP_SETFCAP",
    [CAP_MAC_OVERRIDE] = "CAP_MAC_OVERRIDE",
    [CAP_MAC_ADMIN] = "CAP_MAC_ADMIN",
    [CAP_SYSLOG] = "CAP_SYSLOG",
    [CAP_WAKE_ALARM] = "CAP_WAKE_ALARM",
    [CAP_BLOCK_SUSPEND] = "CAP_BLOCK_SUSPEND",
    [CAP_AUDIT_READ] = "CAP_AUDIT_READ",
    [38] = "CAP_PERFMON",
    [39] = "CAP_BPF",
    [40] = "CAP_CHECKPOINT_RESTORE",
};
#define N_CAP_NAMES ((int)(ARRAY_SIZE(cap_names)))

/* moby daemon/pkg/oci/caps/defaults.go */
static const uint64_t default_caps =
    BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FSETID) | BIT(CAP_FOWNER) | BIT(CAP_MKNOD) |
    BIT(CAP_NET_RAW) | BIT(CAP_SETGID) | BIT(CAP_SETUID) | BIT(CAP_SETFCAP) | BIT(CAP_SETPCAP) |
    BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_SYS_CHROOT) | BIT(CAP_KILL) | BIT(CAP_AUDIT_WRITE);

/* What the host offers, read once: the kernel's capability count and the engine's own effective
 * set (a capability the engine lacks cannot be handed to a container, cf. docker-in-docker). */
static struct {
    pthread_once_t once;
    int count;
    uint64_t held;
} host = {.once = PTHREAD_ONCE_INIT};

static int read_cap_last(void)
{
    char buf[16] = "";
    _cleanup_close_ int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
        return CAP_LAST_CAP; /* no /proc: trust the headers we were built with */
    int last = atoi(buf);
    return last > 0 && last < 64 ? last : CAP_LAST_CAP;
}

static void host_init(void)
{
    host.count = read_cap_last() + 1;
    uint64_t known = host.count >= 64 ? UINT64_MAX : BIT(host.count) - 1;
    host.held = known;
    cap_t cur = cap_get_proc();
    if (!cur)
        return; /* as dockerd does when it cannot tell: assume everything is available */
    uint64_t held = 0;
    for (int c = 0; c < host.count; c++) {
        cap_flag_value_t v = CAP_CLEAR;
        if (cap_get_flag(cur, c, CAP_EFFECTIVE, &v) == 0 && v == CAP_SET)
            held |= BIT(c);
    }
    cap_free(cur);
    host.held = held;
}

int caps_last(void)
{
    pthread_once(&host.once, host_init);
    return host.count;
}

static uint64_t caps_available(void)
{
    pthread_once(&host.once, host_init);
    return host.held;
}

const char *caps_name(int cap)
{
    return cap >= 0 && cap < N_CAP_NAMES ? cap_names[cap] : NULL;
}

int caps_from_name(const char *name)
{
    for (int c = 0; c < N_CAP_NAMES; c++)
        if (cap_names[c] && strcmp(cap_names[c], name) == 0)
            return c;
    return -1;
}

/* A parsed --cap-add or --cap-drop list. */
struct cap_list {
    uint64_t caps;
    bool all;
};

/* dockerd's NormalizeLegacyCapabilities for one entry: upper-case, "ALL" as is, CAP_ prefix
 * added; then known to the kernel, then held by the engine. `field` is "CapAdd"/"CapDrop". */
static int parse_cap(const char *field, const char *in, struct cap_list *l, struct berth_err **err)
{
    char name[64] = "CAP_";
    size_t skip = strncasecmp(in, "CAP_", 4) == 0 ? 0 : 4;
    size_t n = strlen(in);
    if (n + skip >= sizeof(name))
        n = sizeof(name) - 1 - skip; /* too long for any capability: still reported unknown */
    for (size_t i = 0; i < n; i++)
        name[skip + i] = (char)toupper((unsigned char)in[i]);
    name[skip + n] = '\0';
    if (strcmp(name + 4, "ALL") == 0 && skip) {
        l->all = true;
        return 0;
    }
    int c = caps_from_name(name);
    if (c < 0 || c >= caps_last())
        return berth_user_error(err, EINVAL, "invalid %s: unknown capability: \"%s\"", field, name);
    if (!(caps_available() & BIT(c)))
        return berth_user_error(err, EINVAL,
                                "invalid %s: capability not supported by your kernel or not "
                                "available in the current environment: \"%s\"",
                                field, name);
    l->caps |= BIT(c);
    return 0;
}

/* The API sends a list of strings; like Docker's strslice, a lone string is a one-item list and
 * null is an empty one. */
static int parse_list(const char *field, const json_t *v, struct cap_list *l,
                      struct berth_err **err)
{
    *l = (struct cap_list){0};
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v))
        return parse_cap(field, json_string_value(v), l, err);
    if (!json_is_array(v))
        return berth_user_error(err, EINVAL, "invalid %s: expected a list of strings", field);
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e))
            return berth_user_error(err, EINVAL, "invalid %s: expected a list of strings", field);
        int r = parse_cap(field, json_string_value(e), l, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int caps_compute(bool privileged, const json_t *cap_add, const json_t *cap_drop, bool root_user,
                 struct caps *out, struct berth_err **err)
{
    struct cap_list add, drop;
    int r = parse_list("CapAdd", cap_add, &add, err);
    if (r < 0)
        return r;
    r = parse_list("CapDrop", cap_drop, &drop, err);
    if (r < 0)
        return r;

    uint64_t all = caps_available(), set;
    if (privileged)
        set = all;
    else if (add.all)
        set = all & ~drop.caps;
    else if (drop.all)
        set = add.caps;
    else
        set = ((default_caps & all) & ~drop.caps) | add.caps;

    /* Root gets the set as its bounding, effective and permitted sets, and execve keeps them
     * because root's files count as fully capable. Another uid would lose them at execve, so
     * it keeps only what was asked for by name, carried through execve as ambient caps (which
     * need the inheritable bits too). Root's inheritable set stays empty, as in Docker since
     * CVE-2022-24769. */
    uint64_t kept = root_user ? set : (add.all ? set : add.caps & set);
    *out = (struct caps){
        .bounding = set,
        .effective = kept,
        .permitted = kept,
        .inheritable = root_user ? 0 : kept,
        .ambient = root_user ? 0 : kept,
    };
    return 0;
}

/* capset after a uid change cleared the effective set: CAP_SETPCAP must be effective again to
 * shrink the bounding set. */
static int raise_effective(void)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &hdr, data) < 0)
        return -errno;
    data[0].effective = data[0].permitted;
    data[1].effective = data[1].permitted;
    return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

static int drop_bounding(uint64_t keep)
{
    for (int c = 0; c < 64; c++) {
        if (keep & BIT(c))
            continue;
        int in = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
        if (in < 0)
            break; /* EINVAL: past the kernel's last capability */
        if (in && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
            return -errno;
    }
    return 0;
}

static int set_caps(const struct caps *c)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2] = {
        {(uint32_t)c->effective, (uint32_t)c->permitted, (uint32_t)c->inheritable},
        {(uint32_t)(c->effective >> 32), (uint32_t)(c->permitted >> 32),
         (uint32_t)(c->inheritable >> 32)},
    };
    return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

static int set_ambient(uint64_t ambient)
{
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        return ambient || errno != EINVAL ? -errno : 0; /* EINVAL: kernel < 4.3, nothing to do */
    for (int c = 0; c < 64; c++)
        if ((ambient & BIT(c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
            return -errno;
    return 0;
}

/* Order matters: the bounding set shrinks while CAP_SETPCAP is still effective, the inheritable
 * bits exist before ambient raises that need them. No allocation, no libcap: this runs in a
 * child cloned from the multithreaded engine. */
int caps_apply(const struct caps *c)
{
    int r = raise_effective();
    if (r < 0)
        return r;
    r = drop_bounding(c->bounding);
    if (r < 0)
        return r;
    r = set_caps(c);
    if (r < 0)
        return r;
    return set_ambient(c->ambient);
}

int caps_keep_across_setuid(bool keep)
{
    return prctl(PR_SET_KEEPCAPS, keep ? 1 : 0, 0, 0, 0) < 0 ? -errno : 0;
}
