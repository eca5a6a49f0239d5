/* core/config.h — berthd's settings from its flags and daemon.json, with dockerd's flag names,
 * file keys and conflict rules. Defaults put everything runtime under --exec-root. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/err.h"

struct config {
    char **hosts; /* socket paths (the unix:// stripped) */
    size_t nhosts;
    char *root;
    char *exec_root;
    char *pidfile;
    char *config_file;
    bool debug;
    char *log_level;
    char *reactor;               /* "auto", "io_uring" or "epoll" */
    char *certs_dir;             /* registry CAs and client certs, Docker's certs.d layout */
    unsigned request_timeout_ms; /* berth-specific: http-request-timeout (seconds) */
    unsigned idle_timeout_ms;    /* berth-specific: http-idle-timeout (seconds) */
    bool show_version, show_help;
    json_t *file; /* the whole daemon.json, for keys later modules read */
};

/* Fill cfg from argv, then the config file. Errors read as dockerd's do. */
int config_load(struct config *cfg, int argc, char **argv, struct berth_err **err);
void config_free(struct config *cfg);
const char *config_usage(void);
