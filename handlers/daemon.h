/* handlers/daemon.h — the engine as one value: configuration, reactor, pool, API server and
 * the facts handlers report. Built by berthd.c, passed to every handler through api_req. */
#pragma once

#include <stdint.h>

#include "cgroup/cgroup.h"
#include "core/config.h"
#include "core/host.h"
#include "core/http_server.h"
#include "core/pool.h"
#include "core/reactor.h"
#include "exec/container.h"
#include "exec/run.h"
#include "exec/stats.h"
#include "fs/image.h"
#include "fs/image_delete.h"
#include "fs/layer.h"
#include "fs/store.h"
#include "fs/volume.h"
#include "net/network/bridge.h"
#include "net/registry/download.h"
#include "net/registry/hclient.h"
#include "net/registry/pull.h"
#include "net/registry/push.h"
#include "net/registry/registry.h"
#include "handlers/events.h"
#include "handlers/router.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.0.0-dev"
#endif
#ifndef BERTH_COMMIT
#define BERTH_COMMIT "unknown"
#endif
#ifndef BERTH_BUILD_TIME
#define BERTH_BUILD_TIME ""
#endif

struct daemon {
    struct config cfg;
    char *version_body; /* GET /version's reply: it never changes while the daemon runs */
    struct reactor *r;
    struct pool *pool;
    struct http_server *http;
    struct router *router;
    struct route *routes; /* every group's routes, in matching order */
    struct rio *signals;
    struct host_info host;
    struct cgroup_features cgroup;
    struct store *blobs;
    struct layer_store *layers;
    struct image_store *images;
    struct image_users image_users; /* which container uses an image, for rmi's conflicts */
    struct ctr_store *cs;
    struct events *events; /* GET /events: what handlers emit (handlers/events.h) */
    struct volume_store *volumes;
    struct exec_env exec;
    struct ctr_stats *stats; /* docker stats' collector, made at the first request */
    struct registry_config regcfg;
    struct hclient *hc;
    struct dl_env dl;
    struct pull_env pull_env;
    struct push_env push_env;
    char *id; /* engine ID, kept in ROOT/engine-id */
    int pidfile_fd;
    struct recovery *recovery;      /* start-up recovery still under way (handlers/recovery.c) */
    int stop_signals;               /* SIGTERM/SIGINT received: containers are being stopped */
    struct netbr_config bridge_cfg; /* daemon.json's default bridge (exec.bridge once made) */
    bool fatal;                     /* start-up failed after the API listened: exit with an error */
    char *started;                  /* RFC 3339: when it started (host and none's Created) */
};
