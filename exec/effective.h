/* exec/effective.h — what is in force for a container, as dockerd's inspect and list show it:
 * the HostConfig with the defaults berth applies when it runs it, the network it is really on,
 * and its mount points (data-driven from its configuration, so a new mount kind or option shows
 * as soon as the configuration carries it). Reactor thread; no I/O. */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "exec/container.h"

/* A new object: c's HostConfig with the defaults filled in where it leaves them empty (ShmSize
 * 64 MiB, Runtime, the network mode in force, CgroupnsMode and IpcMode as the namespaces are
 * made, RestartPolicy "no", ConsoleSize [0, 0]). */
json_t *ctr_effective_host_config(const struct container *c);
/* The network the container is on: "host", "container:ID" (another container's namespace),
 * "none", and for "", "default" and "bridge" the default bridge, "bridge" — or "none" (its own
 * empty namespace, as dockerd's -b none runs them) when the daemon has no default bridge. */
const char *ctr_network_mode(const struct container *c);
/* Whether the daemon has a default bridge (daemon.json "bridge" is not "none"): set once at
 * start-up, before anything reads ctr_network_mode (the default: none). */
void ctr_network_default_bridge(bool bridge);
/* The mount points as dockerd's MountPoint list: one {Type, Source, Destination, Mode, RW,
 * Propagation} per -v bind and per --mount bind or tmpfs, then those of its volumes (with Name
 * and Driver) and of --volumes-from (exec/volumes.h); HostConfig.Tmpfs mounts are not mount
 * points, as with dockerd. A new array. */
json_t *ctr_mount_points(const struct container *c);
