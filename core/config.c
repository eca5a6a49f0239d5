/* core/config.c — parses berthd's flags (getopt_long) and daemon.json (jansson). Keys that
 * dockerd knows but berth does not use yet are accepted, so a dockerd daemon.json works. */
#include "core/config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/xalloc.h"

#define DEFAULT_CONFIG_FILE "/etc/berth/daemon.json"

/* dockerd's daemon.json keys (plus berth's own), so a config written for dockerd loads. */
static const char *const known_keys[] = {"hosts",
                                         "data-root",
                                         "graph",
                                         "exec-root",
                                         "pidfile",
                                         "debug",
                                         "log-level",
                                         "reactor",
                                         "http-request-timeout",
                                         "http-idle-timeout",
                                         "certs-dir",
                                         "insecure-registries",
                                         "registry-mirrors",
                                         "max-concurrent-downloads",
                                         "max-concurrent-uploads",
                                         "max-download-attempts",
                                         "storage-driver",
                                         "storage-opts",
                                         "log-driver",
                                         "log-opts",
                                         "default-ulimits",
                                         "dns",
                                         "dns-opts",
                                         "dns-search",
                                         "bridge",
                                         "bip",
                                         "iptables",
                                         "ip6tables",
                                         "ip-forward",
                                         "ip-masq",
                                         "ipv6",
                                         "fixed-cidr",
                                         "fixed-cidr-v6",
                                         "default-address-pools",
                                         "mtu",
                                         "userland-proxy",
                                         "userland-proxy-path",
                                         "icc",
                                         "ip",
                                         "labels",
                                         "live-restore",
                                         "exec-opts",
                                         "cgroup-parent",
                                         "default-cgroupns-mode",
                                         "default-runtime",
                                         "runtimes",
                                         "seccomp-profile",
                                         "selinux-enabled",
                                         "userns-remap",
                                         "no-new-privileges",
                                         "init",
                                         "init-path",
                                         "shutdown-timeout",
                                         "default-shm-size",
                                         "default-ipc-mode",
                                         "experimental",
                                         "features",
                                         "builder",
                                         "containerd",
                                         "containerd-namespace",
                                         "tls",
                                         "tlsverify",
                                         "tlscacert",
                                         "tlscert",
                                         "tlskey",
                                         "group",
                                         "oom-score-adjust",
                                         "raw-logs",
                                         "allow-nondistributable-artifacts",
                                         "authorization-plugins",
                                         "cluster-store",
                                         "cluster-advertise",
                                         "metrics-addr",
                                         "node-generic-resources",
                                         "swarm-default-advertise-addr",
                                         "default-gateway",
                                         "default-gateway-v6",
                                         "log-format",
                                         "proxies",
                                         "cdi-spec-dirs",
                                         "containerd-plugins-namespace",
                                         "default-network-opts",
                                         "firewall-backend",
                                         NULL};

static bool is_known(const char *key)
{
    for (const char *const *k = known_keys; *k; k++)
        if (strcmp(*k, key) == 0)
            return true;
    return false;
}

const char *config_usage(void)
{
    return "Usage: berthd [OPTIONS]\n\n"
           "A Docker-compatible container engine in one process\n\n"
           "Options:\n"
           "      --certs-dir string             Registry certificates, Docker's certs.d layout "
           "(default \"/etc/berth/certs.d\")\n"
           "      --config-file string           Daemon configuration file (default "
           "\"" DEFAULT_CONFIG_FILE "\")\n"
           "  -D, --debug                        Enable debug mode\n"
           "      --data-root string             Root directory of persistent state (default "
           "\"/var/lib/berth\"); also --root\n"
           "      --exec-root string             Root directory for execution state (default "
           "\"/run/berth\")\n"
           "  -h, --help                         Print usage\n"
           "  -H, --host list                    Daemon socket(s) to connect to (default "
           "unix://EXEC-ROOT/berth.sock)\n"
           "      --http-idle-timeout seconds    Close keep-alive connections idle this long "
           "(default 300)\n"
           "      --http-request-timeout seconds Answer 408 to a request head not whole this "
           "long after its first byte, or to a body that stalls this long (default 60)\n"
           "  -l, --log-level string             Set the logging level "
           "(\"debug\"|\"info\"|\"warn\"|\"error\"|\"fatal\") (default \"info\")\n"
           "  -p, --pidfile string               Path to use for daemon PID file (default "
           "EXEC-ROOT/berthd.pid)\n"
           "      --reactor string               Event loop: auto, io_uring or epoll (default "
           "\"auto\"; env BERTH_REACTOR)\n"
           "  -v, --version                      Print version information and quit\n";
}

static int parse_host(struct config *cfg, const char *h, struct berth_err **err)
{
    const char *path = h;
    if (strncmp(h, "unix://", 7) == 0)
        path = h + 7;
    else if (strstr(h, "://"))
        return berth_user_error(err, EINVAL,
                                "invalid host `%s`: only unix:// sockets are supported", h);
    if (path[0] != '/')
        return berth_user_error(err, EINVAL, "invalid host `%s`: socket path must be absolute", h);
    cfg->hosts = xrealloc(cfg->hosts, (cfg->nhosts + 1) * sizeof(*cfg->hosts));
    cfg->hosts[cfg->nhosts++] = xstrdup(path);
    return 0;
}

enum kind { K_STR, K_BOOL, K_HOSTS, K_SECONDS };

/* One row per setting: its flag, its daemon.json key, and where it lands in struct config.
 * The same row applies a flag's text and a file's JSON value. */
struct setting {
    const char *flag;
    int short_opt;
    const char *key; /* NULL: flag only */
    enum kind kind;
    size_t off;
};

#define AT(field) offsetof(struct config, field)
static const struct setting settings[] = {
    {"host", 'H', "hosts", K_HOSTS, 0},
    {"data-root", 0, "data-root", K_STR, AT(root)},
    {"root", 0, "data-root", K_STR, AT(root)},
    {"exec-root", 0, "exec-root", K_STR, AT(exec_root)},
    {"pidfile", 'p', "pidfile", K_STR, AT(pidfile)},
    {"debug", 'D', "debug", K_BOOL, AT(debug)},
    {"log-level", 'l', "log-level", K_STR, AT(log_level)},
    {"reactor", 0, "reactor", K_STR, AT(reactor)},
    {"certs-dir", 0, "certs-dir", K_STR, AT(certs_dir)},
    {"http-request-timeout", 0, "http-request-timeout", K_SECONDS, AT(request_timeout_ms)},
    {"http-idle-timeout", 0, "http-idle-timeout", K_SECONDS, AT(idle_timeout_ms)},
    {"config-file", 0, NULL, K_STR, AT(config_file)},
};
#define NSETTINGS (ARRAY_SIZE(settings))

static int set_seconds(struct config *cfg, const struct setting *s, double secs,
                       struct berth_err **err)
{
    if (!(secs > 0 && secs < 4e6))
        return berth_user_error(err, EINVAL,
                                "invalid value for %s: must be a positive number "
                                "of seconds",
                                s->key);
    *(unsigned *)((char *)cfg + s->off) = (unsigned)(secs * 1000);
    return 0;
}

static int apply_flag(struct config *cfg, const struct setting *s, const char *arg,
                      struct berth_err **err)
{
    char *end;
    switch (s->kind) {
    case K_HOSTS:
        return parse_host(cfg, arg, err);
    case K_BOOL:
        *(bool *)((char *)cfg + s->off) = true;
        return 0;
    case K_SECONDS: {
        double secs = strtod(arg, &end);
        return *end ? berth_user_error(err, EINVAL, "invalid value `%s` for --%s", arg, s->flag)
                    : set_seconds(cfg, s, secs, err);
    }
    case K_STR:
        free(*(char **)((char *)cfg + s->off));
        *(char **)((char *)cfg + s->off) = xstrdup(arg);
        return 0;
    }
    return 0;
}

static int apply_json(struct config *cfg, const struct setting *s, json_t *v,
                      struct berth_err **err)
{
    size_t i;
    json_t *h;
    int r;
    switch (s->kind) {
    case K_HOSTS:
        if (!json_is_array(v))
            break;
        json_array_foreach(v, i, h)
        {
            if (!json_is_string(h))
                return berth_user_error(err, EINVAL, "hosts: expected strings");
            if ((r = parse_host(cfg, json_string_value(h), err)) < 0)
                return r;
        }
        return 0;
    case K_BOOL:
        if (!json_is_boolean(v))
            break;
        *(bool *)((char *)cfg + s->off) = json_is_true(v);
        return 0;
    case K_SECONDS:
        if (!json_is_number(v))
            break;
        return set_seconds(cfg, s, json_number_value(v), err);
    case K_STR:
        if (!json_is_string(v))
            break;
        return apply_flag(cfg, s, json_string_value(v), err);
    }
    return berth_user_error(err, EINVAL, "invalid type for configuration key `%s`", s->key);
}

static const struct setting *setting_for_key(const char *key)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (settings[i].key && strcmp(settings[i].key, key) == 0)
            return &settings[i];
    return NULL;
}

/* `flagged` records the keys set by flags, space-separated, for the conflict check. */
static int parse_flags(struct config *cfg, int argc, char **argv, struct buf *flagged,
                       struct berth_err **err)
{
    struct option opts[NSETTINGS + 3];
    for (size_t i = 0; i < NSETTINGS; i++)
        opts[i] = (struct option){settings[i].flag,
                                  settings[i].kind == K_BOOL ? no_argument : required_argument,
                                  NULL, 1000 + (int)i};
    opts[NSETTINGS] = (struct option){"version", no_argument, NULL, 'v'};
    opts[NSETTINGS + 1] = (struct option){"help", no_argument, NULL, 'h'};
    opts[NSETTINGS + 2] = (struct option){NULL, 0, NULL, 0};
    int c, r;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "H:p:Dl:vh", opts, NULL)) != -1) {
        const struct setting *s = NULL;
        for (size_t i = 0; i < NSETTINGS && !s; i++)
            if (c == 1000 + (int)i || (settings[i].short_opt && c == settings[i].short_opt))
                s = &settings[i];
        if (c == 'v' || c == 'h') {
            *(c == 'v' ? &cfg->show_version : &cfg->show_help) = true;
            continue;
        }
        if (!s)
            return berth_user_error(err, EINVAL, "unknown flag: %s", argv[optind - 1]);
        if ((r = apply_flag(cfg, s, optarg, err)) < 0)
            return r;
        if (s->key)
            buf_printf(flagged, " %s ", s->key);
    }
    if (optind < argc)
        return berth_user_error(err, EINVAL, "berthd takes no arguments, got `%s`", argv[optind]);
    return 0;
}

/* Apply daemon.json, with dockerd's errors for unknown keys and keys also given as flags. Every
 * such key is named before any value is applied, so those errors win over a bad value. */
static int apply_file(struct config *cfg, json_t *file, const char *flagged, struct berth_err **err)
{
    _cleanup_buf_ struct buf unknown = {0}, both = {0};
    const char *key;
    json_t *v;
    json_object_foreach(file, key, v)
    {
        _cleanup_free_ char *needle = xasprintf(" %s ", key);
        if (!is_known(key))
            buf_printf(&unknown, "%s%s", unknown.len ? ", " : "", key);
        else if (setting_for_key(key) && strstr(flagged, needle))
            buf_printf(&both, "%s%s", both.len ? ", " : "", key);
    }
    if (unknown.len)
        return berth_user_error(err, EINVAL,
                                "the following directives don't match any configuration option: %s",
                                unknown.data);
    if (both.len)
        return berth_user_error(err, EINVAL,
                                "the following directives are specified both as a flag and in the "
                                "configuration file: %s",
                                both.data);
    json_object_foreach(file, key, v)
    {
        const struct setting *s = setting_for_key(key);
        int r = s ? apply_json(cfg, s, v, err) : 0;
        if (r < 0)
            return r;
    }
    return 0;
}

static int load_file(struct config *cfg, bool explicit, const char *flagged, struct berth_err **err)
{
    json_error_t je;
    if (access(cfg->config_file, F_OK) < 0 && errno == ENOENT && !explicit)
        return 0;
    cfg->file = json_load_file(cfg->config_file, JSON_REJECT_DUPLICATES, &je);
    if (!cfg->file)
        return berth_user_error(err, EINVAL,
                                "unable to configure the berth daemon with file %s: %s",
                                cfg->config_file, je.text);
    if (!json_is_object(cfg->file))
        return berth_user_error(err, EINVAL,
                                "unable to configure the berth daemon with file "
                                "%s: not a JSON object",
                                cfg->config_file);
    /* dockerd names the file in front of every error about it, not only parse errors. */
    int r = apply_file(cfg, cfg->file, flagged, err);
    if (r < 0)
        berth_error_wrap(err, "unable to configure the berth daemon with file %s",
                         cfg->config_file);
    return r;
}

static void apply_defaults(struct config *cfg)
{
    const char *env;
    if (!cfg->root)
        cfg->root = xstrdup("/var/lib/berth");
    if (!cfg->exec_root)
        cfg->exec_root = xstrdup("/run/berth");
    if (!cfg->pidfile)
        cfg->pidfile = xasprintf("%s/berthd.pid", cfg->exec_root);
    if (cfg->nhosts == 0) {
        cfg->hosts = xmalloc(sizeof(*cfg->hosts));
        cfg->hosts[cfg->nhosts++] = xasprintf("%s/berth.sock", cfg->exec_root);
    }
    if (!cfg->log_level)
        cfg->log_level = xstrdup(cfg->debug ? "debug" : "info");
    if (!cfg->reactor)
        cfg->reactor = xstrdup((env = getenv("BERTH_REACTOR")) && *env ? env : "auto");
    if (!cfg->certs_dir)
        cfg->certs_dir = xstrdup("/etc/berth/certs.d");
    if (!cfg->request_timeout_ms)
        cfg->request_timeout_ms = 60 * 1000;
    if (!cfg->idle_timeout_ms)
        cfg->idle_timeout_ms = 300 * 1000;
}

int config_load(struct config *cfg, int argc, char **argv, struct berth_err **err)
{
    _cleanup_buf_ struct buf flagged = {0};
    memset(cfg, 0, sizeof(*cfg));
    int r = parse_flags(cfg, argc, argv, &flagged, err);
    if (r < 0)
        return r;
    bool explicit = cfg->config_file != NULL;
    if (!cfg->config_file)
        cfg->config_file = xstrdup(DEFAULT_CONFIG_FILE);
    if (!cfg->show_help && !cfg->show_version) {
        r = load_file(cfg, explicit, flagged.data ? flagged.data : "", err);
        if (r < 0)
            return r;
    }
    apply_defaults(cfg);
    if (log_level_parse(cfg->log_level) < 0)
        return berth_user_error(err, EINVAL, "unable to parse logging level: %s", cfg->log_level);
    return 0;
}

void config_free(struct config *cfg)
{
    for (size_t i = 0; i < cfg->nhosts; i++)
        free(cfg->hosts[i]);
    free(cfg->hosts);
    free(cfg->root);
    free(cfg->exec_root);
    free(cfg->pidfile);
    free(cfg->config_file);
    free(cfg->log_level);
    free(cfg->reactor);
    free(cfg->certs_dir);
    json_decref(cfg->file);
    memset(cfg, 0, sizeof(*cfg));
}
