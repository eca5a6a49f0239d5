/* exec/verify.h — dockerd's create-time checks of a request's Config and HostConfig
 * (verifyContainerSettings, its mount parser, the ulimit and extra-host parsers), with its
 * words: bad input is refused at create (400), never run, written into the container's files
 * or silently dropped. */
#pragma once

#include <jansson.h>

#include "core/err.h"

/* The request's Config (before the image's defaults are merged in) and HostConfig (either may
 * be NULL). EINVAL with dockerd's words for what dockerd refuses, and "... is not supported
 * yet" for fields berth does not honour yet; ENOENT "network X not found" for an unknown
 * network. warnings gets dockerd's warning strings. Reactor thread, no I/O but sysconf. */
int verify_create(const json_t *config, const json_t *hc, json_t *warnings, struct berth_err **err);
/* dockerd's checks of docker update's resources (verifyContainerSettings with update set), the
 * same rules and words as at create for the same fields: memory, swap, reservation, CPU shares,
 * period, quota, --cpus, cpusets, real-time budget, blkio weight. Reactor thread. */
int verify_update(const json_t *resources, json_t *warnings, struct berth_err **err);
/* The host half of dockerd's check of HostConfig.Mounts: a bind's source must exist unless its
 * BindOptions.CreateMountpoint is set. Blocking (stat). */
int verify_mount_sources(const json_t *hc, struct berth_err **err);

/* One HostConfig.ExtraHosts entry, NAME:IP as opts.ValidateExtraHost takes it (IPv6 allowed:
 * split on the first ':'), with no whitespace or control byte in NAME (dockerd takes any name,
 * but a newline in it would add lines to the container's /etc/hosts). EINVAL with dockerd's
 * words: "bad format for add-host: \"x\"", "invalid IP address in add-host: \"y\"". */
int verify_extra_host(const char *val, struct berth_err **err);

/* "SIGTERM", "term", "RTMIN+3", "15": moby's ParseSignal. The number, or -1 when unknown. */
int verify_signal(const char *s);
/* The RLIMIT_* of a ulimit name ("nofile"), or -1. */
int verify_rlimit(const char *name);

/* The runtime name inspect shows for a container that asked for none (dockerd's default). */
#define VERIFY_DEFAULT_RUNTIME "runc"
/* The runtime names a container may ask for (all of them berthd itself), NULL-terminated:
 * dockerd's two and berth's own. */
extern const char *const verify_runtimes[];
