/* exec/verify.c — dockerd's create-time checks, in its order and with its words (moby v28:
 * runconfig's decode checks, verifyContainerSettings, the Linux mount parser, go-units' ulimit
 * parser, opts.ValidateExtraHost), plus refusals of what berth cannot honour yet. */
#include "exec/verify.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "exec/caps.h"
#include "exec/devices.h"
#include "exec/namespaces.h"
#include "exec/lsm.h"
#include "exec/mounts.h"
#include "exec/plan.h"

#define MIN_MEMORY   (6 * 1024 * 1024) /* dockerd's linuxMinMemory */
#define MAX_HOSTNAME 64                /* HOST_NAME_MAX */

const char *const verify_runtimes[] = {VERIFY_DEFAULT_RUNTIME, "io.containerd.runc.v2", "berth",
                                       NULL};

/* Go's %q of a string, as dockerd's words show a value that may hold any byte. Heap string. */
static char *go_quote(const char *s)
{
    static const char controls[] = "\a\b\f\n\r\t\v", letters[] = "abfnrtv";
    struct buf b = {0};
    buf_puts(&b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const char *c = strchr(controls, *p);
        if (*p == '"' || *p == '\\')
            buf_printf(&b, "\\%c", *p);
        else if (c)
            buf_printf(&b, "\\%c", letters[c - controls]);
        else if (*p < 0x20 || *p == 0x7f)
            buf_printf(&b, "\\x%02x", *p);
        else
            buf_append(&b, p, 1);
    }
    buf_puts(&b, "\"");
    return buf_steal(&b, NULL);
}

/* Whitespace or a control byte: what would split a line of /etc/hosts or /etc/hostname. */
static bool has_space_or_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return true;
    return false;
}

static bool nonempty_list(const json_t *v)
{
    return v && !json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0);
}

static bool one_of(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

/* ---- signals and ulimits ---- */

int verify_signal(const char *s)
{
    static const struct {
        const char *name;
        int sig;
    } names[] = {{"ABRT", SIGABRT}, {"ALRM", SIGALRM}, {"BUS", SIGBUS},       {"CHLD", SIGCHLD},
                 {"CLD", SIGCHLD},  {"CONT", SIGCONT}, {"FPE", SIGFPE},       {"HUP", SIGHUP},
                 {"ILL", SIGILL},   {"INT", SIGINT},   {"IO", SIGIO},         {"IOT", SIGIOT},
                 {"KILL", SIGKILL}, {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},     {"PROF", SIGPROF},
                 {"PWR", SIGPWR},   {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV},     {"STKFLT", SIGSTKFLT},
                 {"STOP", SIGSTOP}, {"SYS", SIGSYS},   {"TERM", SIGTERM},     {"TRAP", SIGTRAP},
                 {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
                 {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH},
                 {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}};
    enum { RTMIN = 34, RTMAX = 64 }; /* moby's constants: glibc keeps 32 and 33 for itself */
    if (!s || !*s)
        return -1;
    if (strspn(s, "0123456789") == strlen(s)) {
        long n = strlen(s) < 4 ? strtol(s, NULL, 10) : -1;
        return n > 0 && n < _NSIG ? (int)n : -1;
    }
    const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strcasecmp(name, names[i].name) == 0)
            return names[i].sig;
    /* RTMIN, RTMIN+1..RTMIN+15, RTMAX-14..RTMAX-1, RTMAX: exactly these spellings */
    bool min = strncasecmp(name, "RTMIN", 5) == 0, max = strncasecmp(name, "RTMAX", 5) == 0;
    const char *off = name + 5;
    if ((!min && !max) || (*off && (*off != (min ? '+' : '-') || off[1] < '1' || off[1] > '9')))
        return -1;
    long n = *off ? strtol(off + 1, NULL, 10) : 0;
    if (*off && (strspn(off + 1, "0123456789") != strlen(off + 1) || n > (min ? 15 : 14)))
        return -1;
    return min ? RTMIN + (int)n : RTMAX - (int)n;
}

int verify_rlimit(const char *name)
{
    static const struct {
        const char *name;
        int res;
    } map[] = {{"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
               {"data", RLIMIT_DATA},         {"fsize", RLIMIT_FSIZE},
               {"locks", RLIMIT_LOCKS},       {"memlock", RLIMIT_MEMLOCK},
               {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
               {"nofile", RLIMIT_NOFILE},     {"nproc", RLIMIT_NPROC},
               {"rss", RLIMIT_RSS},           {"rtprio", RLIMIT_RTPRIO},
               {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
               {"stack", RLIMIT_STACK}};
    for (size_t i = 0; name && i < ARRAY_SIZE(map); i++)
        if (strcmp(map[i].name, name) == 0)
            return map[i].res;
    return -1;
}

/* go-units' ParseUlimit rules on each {Name, Soft, Hard}: -1 is unlimited, soft <= hard. */
static int check_ulimits(const json_t *list, struct berth_err **err)
{
    size_t i;
    json_t *u;
    json_array_foreach(list, i, u)
    {
        const char *name = json_get_str(u, "Name");
        long long soft = json_get_int(u, "Soft", 0), hard = json_get_int(u, "Hard", 0);
        if (verify_rlimit(name) < 0)
            return berth_user_error(err, EINVAL, "invalid ulimit type: %s", name ? name : "");
        if (soft < -1 || hard < -1) /* berth's: setrlimit would take them as huge numbers */
            return berth_user_error(err, EINVAL,
                                    "invalid ulimit value for %s: %lld:%lld (-1 is unlimited)",
                                    name, soft, hard);
        if (hard != -1 && soft == -1)
            return berth_user_error(err, EINVAL,
                                    "ulimit soft limit must be less than or equal to hard "
                                    "limit: soft: -1 (unlimited), hard: %lld",
                                    hard);
        if (hard != -1 && soft > hard)
            return berth_user_error(err, EINVAL,
                                    "ulimit soft limit must be less than or equal to hard "
                                    "limit: %lld > %lld",
                                    soft, hard);
    }
    return 0;
}

/* ---- Config: dockerd's validateContainerConfig ---- */

static int check_config(const json_t *config, struct berth_err **err)
{
    const char *wd = json_get_str(config, "WorkingDir"), *stop = json_get_str(config, "StopSignal");
    const char *host = json_get_str(config, "Hostname");
    const char *domain = json_get_str(config, "Domainname");
    if (wd && *wd && wd[0] != '/')
        return berth_user_error(err, EINVAL,
                                "the working directory '%s' is invalid, it needs to be an "
                                "absolute path",
                                wd);
    if (stop && *stop && verify_signal(stop) < 0)
        return berth_user_error(err, EINVAL, "invalid signal: %s", stop);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(config, "Env"), i, e)
    {
        const char *s = json_string_value(e);
        if (s && (!*s || *s == '='))
            return berth_user_error(err, EINVAL, "invalid environment variable: %s", s);
    }
    if (domain && *domain) { /* berth's: setdomainname would refuse it at start */
        _cleanup_free_ char *qd = go_quote(domain);
        if (strlen(domain) > MAX_HOSTNAME)
            return berth_user_error(err, EINVAL, "domainname %s is too long (maximum %d bytes)", qd,
                                    MAX_HOSTNAME);
        if (has_space_or_control(domain, strlen(domain)))
            return berth_user_error(err, EINVAL,
                                    "invalid domainname %s: whitespace and control characters are "
                                    "not allowed",
                                    qd);
    }
    if (!host || !*host)
        return 0;
    _cleanup_free_ char *q = go_quote(host);
    if (strlen(host) > MAX_HOSTNAME) /* moby master's words; the kernel refuses it at start */
        return berth_user_error(err, EINVAL, "hostname %s is too long (maximum %d bytes)", q,
                                MAX_HOSTNAME);
    if (has_space_or_control(host, strlen(host))) /* berth's: it would add lines to /etc files */
        return berth_user_error(err, EINVAL,
                                "invalid hostname %s: whitespace and control characters are not "
                                "allowed",
                                q);
    return 0;
}

/* ---- mounts: moby's Linux mount parser ---- */

/* Go's path.Clean(p) == "/". */
static bool is_root(const char *p)
{
    if (p[0] != '/')
        return false;
    int depth = 0;
    for (const char *c = p; *c;) {
        size_t n = strcspn(c, "/");
        if (n == 2 && strncmp(c, "..", 2) == 0)
            depth -= depth > 0;
        else if (n && !(n == 1 && c[0] == '.'))
            depth++;
        c += n + (c[n] == '/');
    }
    return depth == 0;
}

/* What is wrong with a mount's destination (moby's checks, in its order), or NULL. Heap. */
static char *target_problem(const char *dst)
{
    if (!*dst)
        return xstrdup("field Target must not be empty");
    if (is_root(dst))
        return xstrdup("invalid specification: destination can't be '/'");
    if (dst[0] != '/')
        return xasprintf("invalid mount path: '%s' mount path must be absolute", dst);
    return NULL;
}

static bool is_propagation(const char *s, size_t n)
{
    static const char *const modes[] = {"private", "rprivate", "slave", "rslave",
                                        "shared",  "rshared",  NULL};
    for (const char *const *m = modes; *m; m++)
        if (strlen(*m) == n && strncmp(*m, s, n) == 0)
            return true;
    return false;
}

/* linuxValidMountMode: comma-separated options, at most one of each kind. */
static bool valid_mode(const char *mode)
{
    int counts[5] = {0}; /* rw/ro, z/Z, propagation, nocopy, consistency */
    for (const char *o = mode; *mode;) {
        size_t n = strcspn(o, ",");
        int kind = (n == 2 && (!strncmp(o, "rw", 2) || !strncmp(o, "ro", 2))) ? 0
                   : (n == 1 && (*o == 'z' || *o == 'Z'))                     ? 1
                   : is_propagation(o, n)                                     ? 2
                   : (n == 6 && !strncmp(o, "nocopy", 6))                     ? 3
                   : (n == 10 && !strncmp(o, "consistent", 10)) ||
                           (n == 6 && !strncmp(o, "cached", 6)) ||
                           (n == 9 && !strncmp(o, "delegated", 9))
                       ? 4
                       : -1;
        if (kind < 0 || ++counts[kind] > 1)
            return false;
        if (!o[n])
            break;
        o += n + 1;
    }
    return true;
}

static bool has_word(const char *list, const char *want)
{
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n == strlen(want) && strncmp(p, want, n) == 0)
            return true;
        p += n + (p[n] == ',');
    }
    return false;
}

/* z and Z ask dockerd to relabel the source for SELinux, which it does only where SELinux is
 * enabled (go-selinux's Relabel does nothing elsewhere): without SELinux they are accepted and
 * change nothing, as there. With it, berth cannot label yet: refused, not ignored. */
static int check_relabel(const char *raw, const char *mode, struct berth_err **err)
{
    if (!has_word(mode, "z") && !has_word(mode, "Z"))
        return 0;
    struct lsm_host h;
    lsm_probe("", &h);
    lsm_host_free(&h);
    if (!h.selinux)
        return 0;
    return berth_user_error(err, EINVAL,
                            "invalid volume specification: '%s': SELinux relabeling (z, Z) is "
                            "not supported yet",
                            raw);
}

/* One HostConfig.Binds entry, as moby's ParseMountRaw reads [SRC:]DST[:MODE]. */
static int check_bind(const char *raw, struct berth_err **err)
{
    _cleanup_free_ char *copy = xstrdup(raw);
    char *part[4];
    size_t n = 0;
    for (char *p = copy;;) { /* Go's strings.SplitN(raw, ":", 4) */
        part[n++] = p;
        char *colon = n < 4 ? strchr(p, ':') : NULL;
        if (!colon)
            break;
        *colon = '\0';
        p = colon + 1;
    }
    if (!*part[0] || n == 4 || (n == 2 && valid_mode(part[1])))
        return berth_user_error(err, EINVAL, "invalid volume specification: '%s'", raw);
    const char *src = n > 1 ? part[0] : "", *dst = n > 1 ? part[1] : part[0];
    const char *mode = n > 2 ? part[2] : "";
    if (!valid_mode(mode))
        return berth_user_error(err, EINVAL, "invalid mode: %s", mode);
    bool bind = src[0] == '/';
    /* moby turns nocopy into VolumeOptions, which a bind must not have (checked first) */
    if (bind && has_word(mode, "nocopy"))
        return berth_user_error(err, EINVAL,
                                "invalid volume specification: '%s': invalid mount config for "
                                "type \"bind\": field VolumeOptions must not be specified",
                                raw);
    _cleanup_free_ char *why = target_problem(dst);
    if (why)
        return berth_user_error(err, EINVAL,
                                "invalid volume specification: '%s': invalid mount config for "
                                "type \"%s\": %s",
                                raw, bind ? "bind" : "volume", why);
    return check_relabel(raw, mode, err); /* a volume's name is checked as it is made */
}

/* moby's validateExclusiveOptions: each kind's options only on its own type. Heap or NULL. */
static char *exclusive_problem(const json_t *m, const char *type)
{
    static const char *const fields[][2] = {{"BindOptions", "bind"},
                                            {"VolumeOptions", "volume"},
                                            {"ImageOptions", "image"},
                                            {"TmpfsOptions", "tmpfs"},
                                            {"ClusterOptions", "cluster"}};
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        const json_t *v = json_object_get(m, fields[i][0]);
        if (v && !json_is_null(v) && strcmp(type, fields[i][1]) != 0)
            return xasprintf("field %s must not be specified", fields[i][0]);
    }
    return NULL;
}

/* The bind half of moby's validateMountConfigImpl (the source's existence is checked later,
 * off the reactor, by verify_mount_sources). Heap string or NULL. */
static char *bind_problem(const json_t *m, const char *src)
{
    const char *prop = json_get_str(json_object_get(m, "BindOptions"), "Propagation");
    if (!*src)
        return xstrdup("field Source must not be empty");
    if (prop && *prop && !is_propagation(prop, strlen(prop)))
        return xasprintf("invalid propagation mode: %s", prop);
    if (src[0] != '/')
        return xasprintf("invalid mount path: '%s' mount path must be absolute", src);
    return NULL;
}

/* The tmpfs half: no source, and options moby can turn into mount data. Heap or NULL. */
static char *tmpfs_problem(const json_t *m, const char *src)
{
    _cleanup_err_ struct berth_err *e = NULL;
    _cleanup_free_ char *data = NULL;
    if (*src)
        return xstrdup("field Source must not be specified");
    if (mounts_tmpfs_data(json_object_get(m, "TmpfsOptions"), json_get_bool(m, "ReadOnly", false),
                          &data, &e) < 0)
        return xstrdup(e->msg);
    return NULL;
}

/* filepath.IsLocal: relative, and never above where it starts. */
static bool is_local(const char *p)
{
    if (!*p || *p == '/')
        return false;
    int depth = 0;
    for (const char *c = p; *c;) {
        size_t n = strcspn(c, "/");
        if (n == 2 && strncmp(c, "..", 2) == 0 && --depth < 0)
            return false;
        if (n && !(n == 1 && c[0] == '.') && !(n == 2 && strncmp(c, "..", 2) == 0))
            depth++;
        c += n + (c[n] == '/');
    }
    return true;
}

/* The volume half: a subpath only of a named volume, and inside it. Heap or NULL. */
static char *volume_problem(const json_t *m, const char *src)
{
    const char *sub = json_get_str(json_object_get(m, "VolumeOptions"), "Subpath");
    if (sub && *sub && !*src)
        return xstrdup("must not set Subpath when using anonymous volumes");
    if (sub && *sub && !is_local(sub))
        return xstrdup("subpath must be a relative path within the volume");
    return NULL;
}

/* One HostConfig.Mounts entry (moby's ValidateMountConfig). Binds, volumes and tmpfs are
 * honoured. */
static int check_mount(const json_t *m, struct berth_err **err)
{
    static const char *const others[] = {"image", NULL};
    const char *type = json_get_str(m, "Type") ?: "", *src = json_get_str(m, "Source") ?: "";
    _cleanup_free_ char *q = go_quote(type);
    _cleanup_free_ char *why = exclusive_problem(m, type);
    if (!why)
        why = target_problem(json_get_str(m, "Target") ?: "");
    if (!why && strcmp(type, "bind") == 0)
        why = bind_problem(m, src);
    else if (!why && strcmp(type, "tmpfs") == 0)
        why = tmpfs_problem(m, src);
    else if (!why && strcmp(type, "volume") == 0)
        why = volume_problem(m, src);
    else if (!why && !one_of(type, others))
        why = xstrdup("mount type unknown");
    if (why)
        return berth_user_error(err, EINVAL, "invalid mount config for type %s: %s", q, why);
    if (one_of(type, others))
        return berth_user_error(err, EINVAL, "mounts of type %s are not supported yet", q);
    return 0;
}

static int check_mounts(const json_t *hc, struct berth_err **err)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(hc, "Mounts"), i, v)
    {
        int r = check_mount(v, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* HostConfig.Binds are parsed after the rest of the checks, as dockerd does at create. */
static int check_binds(const json_t *hc, struct berth_err **err)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(hc, "Binds"), i, v)
    {
        int r = check_bind(json_string_value(v) ?: "", err);
        if (r < 0)
            return r;
    }
    return 0;
}

int verify_mount_sources(const json_t *hc, struct berth_err **err)
{
    size_t i;
    json_t *m;
    struct stat st;
    json_array_foreach(json_object_get(hc, "Mounts"), i, m)
    {
        const char *type = json_get_str(m, "Type"), *src = json_get_str(m, "Source");
        bool create = json_get_bool(json_object_get(m, "BindOptions"), "CreateMountpoint", false);
        if (!type || strcmp(type, "bind") != 0 || !src || create || stat(src, &st) == 0)
            continue;
        if (errno == ENOENT)
            return berth_user_error(err, EINVAL,
                                    "invalid mount config for type \"bind\": bind source path "
                                    "does not exist: %s",
                                    src);
        return berth_user_error(err, EINVAL, "invalid mount config for type \"bind\": stat %s: %s",
                                src, strerror(errno));
    }
    return 0;
}

/* ---- HostConfig: dockerd's validateHostConfig ---- */

static bool is_ip(const char *s)
{
    unsigned char addr[16];
    return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

int verify_extra_host(const char *val, struct berth_err **err)
{
    const char *colon = strchr(val, ':');
    _cleanup_free_ char *q = go_quote(val);
    /* dockerd takes any name; a space or newline in it would add lines to /etc/hosts */
    if (!colon || colon == val || has_space_or_control(val, (size_t)(colon - val)))
        return berth_user_error(err, EINVAL, "bad format for add-host: %s", q);
    const char *ip = colon + 1;
    _cleanup_free_ char *qip = go_quote(ip);
    if (strcmp(ip, "host-gateway") != 0 && !is_ip(ip)) /* host-gateway: known at start */
        return berth_user_error(err, EINVAL, "invalid IP address in add-host: %s", qip);
    return 0;
}

/* HostConfig.Dns: dockerd refuses a bad one at start (libnetwork's words); a newline in it
 * would add lines to the container's /etc/resolv.conf. */
static int check_dns(const json_t *dns, struct berth_err **err)
{
    size_t i;
    json_t *v;
    json_array_foreach(dns, i, v)
    {
        const char *ns = json_string_value(v) ?: "";
        if (!is_ip(ns))
            return berth_user_error(err, EINVAL, "bad nameserver address %s", ns);
    }
    return 0;
}

/* HostConfig.DnsSearch and DnsOptions go into /etc/resolv.conf as words of one line: berth's
 * refusal of what would split the line or add one (dockerd writes them as given). */
static int check_dns_words(const json_t *hc, struct berth_err **err)
{
    static const char *const fields[][2] = {{"DnsSearch", "DNS search domain"},
                                            {"DnsOptions", "DNS option"}};
    for (size_t f = 0; f < 2; f++) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(hc, fields[f][0]), i, v)
        {
            const char *w = json_string_value(v) ?: "";
            _cleanup_free_ char *q = go_quote(w);
            if (!*w || has_space_or_control(w, strlen(w)))
                return berth_user_error(err, EINVAL, "invalid %s: %s", fields[f][1], q);
        }
    }
    return 0;
}

static int check_host(const json_t *hc, struct berth_err **err)
{
    const char *restart = json_get_str(json_object_get(hc, "RestartPolicy"), "Name");
    if (json_get_bool(hc, "AutoRemove", false) && restart && *restart && strcmp(restart, "no"))
        return berth_user_error(err, EINVAL,
                                "can't create 'AutoRemove' container with restart "
                                "policy");
    int r = check_mounts(hc, err);
    if (r < 0)
        return r;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(hc, "ExtraHosts"), i, v)
    {
        if ((r = verify_extra_host(json_string_value(v) ?: "", err)) < 0)
            return r;
    }
    if ((r = check_dns(json_object_get(hc, "Dns"), err)) < 0)
        return r;
    if ((r = check_dns_words(hc, err)) < 0)
        return r;
    struct caps caps; /* dockerd refuses unknown capabilities at create, not at start */
    return caps_compute(false, json_object_get(hc, "CapAdd"), json_object_get(hc, "CapDrop"), true,
                        &caps, err);
}

/* ---- HostConfig: dockerd's verifyPlatformContainerResources ---- */

/* update: dockerd's update allows a swap limit without a memory limit in the request (the
 * container may have one). */
static int check_memory(const json_t *hc, bool update, json_t *warnings, struct berth_err **err)
{
    int64_t mem = json_get_int(hc, "Memory", 0), swap = json_get_int(hc, "MemorySwap", 0);
    int64_t swappiness = json_get_int(hc, "MemorySwappiness", -1);
    int64_t reservation = json_get_int(hc, "MemoryReservation", 0);
    if (mem != 0 && mem < MIN_MEMORY)
        return berth_user_error(err, EINVAL, "Minimum memory limit allowed is 6MB");
    if (mem > 0 && swap > 0 && swap < mem)
        return berth_user_error(err, EINVAL,
                                "Minimum memoryswap limit should be larger than "
                                "memory limit, see usage");
    if (mem == 0 && swap > 0 && !update)
        return berth_user_error(err, EINVAL,
                                "You should always set the Memory limit when using "
                                "Memoryswap limit, see usage");
    if (swappiness != -1 && (swappiness < 0 || swappiness > 100))
        return berth_user_error(err, EINVAL,
                                "Invalid value: %lld, valid memory swappiness range is 0-100",
                                (long long)swappiness);
    if (swappiness != -1 && cgroup_unified()) /* cgroup v2 has no memory.swappiness */
        json_array_append_new(warnings,
                              json_string("Your kernel does not support memory swappiness "
                                          "capabilities or the cgroup is not mounted. Memory "
                                          "swappiness discarded."));
    if (reservation > 0 && reservation < MIN_MEMORY)
        return berth_user_error(err, EINVAL, "Minimum memory reservation allowed is 6MB");
    if (mem > 0 && reservation > 0 && mem < reservation)
        return berth_user_error(err, EINVAL,
                                "Minimum memory limit can not be less than memory "
                                "reservation limit, see usage");
    return 0;
}

/* runconfig's validateResources, which dockerd runs as it decodes the request: a real-time
 * budget needs the cpu controller's cpu.rt_* files (cgroup v1 with RT group scheduling; v2 has
 * none). */
static int check_cpu_rt(const json_t *hc, struct berth_err **err)
{
    int64_t period = json_get_int(hc, "CpuRealtimePeriod", 0);
    int64_t runtime = json_get_int(hc, "CpuRealtimeRuntime", 0);
    if ((period || runtime) && !cgroup_supports("cpu", "cpu.rt_period_us", NULL))
        return berth_user_error(err, EINVAL, "kernel does not support CPU real-time scheduler");
    if (period && runtime && runtime > period)
        return berth_user_error(err, EINVAL,
                                "cpu real-time runtime cannot be higher than cpu real-time "
                                "period");
    return 0;
}

static int check_cpu(const json_t *hc, json_t *warnings, struct berth_err **err)
{
    int64_t nano = json_get_int(hc, "NanoCpus", 0), ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int64_t period = json_get_int(hc, "CpuPeriod", 0), quota = json_get_int(hc, "CpuQuota", 0);
    int64_t blkio = json_get_int(hc, "BlkioWeight", 0);
    if (nano > 0 && period > 0)
        return berth_user_error(err, EINVAL,
                                "Conflicting options: Nano CPUs and CPU Period "
                                "cannot both be set");
    if (nano > 0 && quota > 0)
        return berth_user_error(err, EINVAL,
                                "Conflicting options: Nano CPUs and CPU Quota "
                                "cannot both be set");
    if (nano < 0 || nano > ncpu * 1000000000LL)
        return berth_user_error(err, EINVAL,
                                "range of CPUs is from 0.01 to %lld.00, as there are only %lld "
                                "CPUs available",
                                (long long)ncpu, (long long)ncpu);
    if (period != 0 && (period < 1000 || period > 1000000))
        return berth_user_error(err, EINVAL,
                                "CPU cfs period can not be less than 1ms (i.e. 1000) "
                                "or larger than 1s (i.e. 1000000)");
    if (quota > 0 && quota < 1000)
        return berth_user_error(err, EINVAL, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
    int r =
        cgroup_check_cpuset(json_get_str(hc, "CpusetCpus"), json_get_str(hc, "CpusetMems"), err);
    if (r < 0)
        return r;
    if (blkio > 0 && (blkio < 10 || blkio > 1000))
        return berth_user_error(err, EINVAL, "Range of blkio weight is from 10 to 1000");
    if (blkio > 0 && !cgroup_supports("blkio", "blkio.weight", "io")) /* dropped at start */
        json_array_append_new(warnings,
                              json_string("Your kernel does not support Block I/O weight or the "
                                          "cgroup is not mounted. Weight discarded."));
    return 0;
}

/* ---- HostConfig: the rest of dockerd's verifyPlatformContainerSettings ---- */

static int check_platform(const json_t *hc, struct berth_err **err)
{
    static const char *const cgroupns[] = {"", "private", "host", NULL};
    int64_t oom = json_get_int(hc, "OomScoreAdj", 0);
    const char *runtime = json_get_str(hc, "Runtime") ?: "";
    const char *cgns = json_get_str(hc, "CgroupnsMode") ?: "";
    if (json_get_int(hc, "ShmSize", 0) < 0)
        return berth_user_error(err, EINVAL, "SHM size can not be less than 0");
    if (oom < -1000 || oom > 1000)
        return berth_user_error(err, EINVAL,
                                "Invalid value %lld, range for oom score adj is [-1000, 1000]",
                                (long long)oom);
    if (*runtime && !one_of(runtime, verify_runtimes))
        return berth_user_error(err, EINVAL, "unknown or invalid runtime name: %s", runtime);
    const char *dst;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(hc, "Tmpfs"), dst, v)
    {
        if (is_root(dst))
            return berth_user_error(err, EINVAL, "invalid specification: destination can't be '/'");
        if (dst[0] != '/')
            return berth_user_error(err, EINVAL,
                                    "invalid mount path: '%s' mount path must be absolute", dst);
    }
    if (!one_of(cgns, cgroupns))
        return berth_user_error(err, EINVAL, "invalid cgroup namespace mode: %s", cgns);
    return 0;
}

static int check_network(const json_t *hc, struct berth_err **err)
{
    static const char *const known[] = {"none", "host", "default", "bridge", NULL};
    const char *net = json_get_str(hc, "NetworkMode");
    (void)known; /* a user network: looked up at start */
    if (net && !strcmp(net, "host") && nonempty_list(json_object_get(hc, "Links")))
        return berth_user_error(err, EINVAL,
                                "conflicting options: host type networking can't be used with "
                                "links. This would result in undefined behavior");
    return 0;
}

static int check_shares(const json_t *hc, struct berth_err **err)
{
    int64_t shares = json_get_int(hc, "CpuShares", 0);
    if (shares < 0) /* moby refuses it as it decodes the request */
        return berth_user_error(err, EINVAL,
                                "invalid CPU shares (%lld): value must be a positive integer",
                                (long long)shares);
    return 0;
}

int verify_update(const json_t *resources, json_t *warnings, struct berth_err **err)
{
    int r = check_shares(resources, err);
    if (r < 0)
        return r;
    if ((r = check_cpu_rt(resources, err)) < 0)
        return r;
    if ((r = check_memory(resources, true, warnings, err)) < 0)
        return r;
    return check_cpu(resources, warnings, err);
}

int verify_create(const json_t *config, const json_t *hc, json_t *warnings, struct berth_err **err)
{
    int r = check_shares(hc, err);
    if (r < 0)
        return r;
    struct security_opts so;
    if ((r = ns_check_request(config, hc, err)) < 0) /* dockerd checks these as it decodes */
        return r;
    if ((r = check_cpu_rt(hc, err)) < 0)
        return r;
    if ((r = check_config(config, err)) < 0)
        return r;
    if ((r = check_host(hc, err)) < 0)
        return r;
    if ((r = check_memory(hc, false, warnings, err)) < 0)
        return r;
    if ((r = check_cpu(hc, warnings, err)) < 0)
        return r;
    if ((r = ns_check_modes(hc, err)) < 0)
        return r;
    if ((r = check_platform(hc, err)) < 0)
        return r;
    if ((r = dev_verify(hc, warnings, err)) < 0)
        return r;
    if ((r = check_ulimits(json_object_get(hc, "Ulimits"), err)) < 0)
        return r;
    if ((r = check_binds(hc, err)) < 0)
        return r;
    if ((r = plan_security_opts(json_object_get(hc, "SecurityOpt"), &so, err)) < 0)
        return r;
    if ((r = lsm_check(&so.lsm, err)) < 0)
        return r;
    return check_network(hc, err);
}
