/* exec/devices.h — HostConfig's device fields: Devices (--device: host device nodes made in the
 * container, and cgroup rules allowing them with just the permissions asked), DeviceCgroupRules
 * (--device-cgroup-rule), DeviceRequests (--gpus: refused, berth has no device driver) and the
 * per-device block I/O limits (--blkio-weight-device, --device-read-bps and the like). Checked
 * at create with dockerd's words, resolved on the host at start. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "cgroup/cgroup.h"
#include "core/err.h"

/* A device node to make in the container, as the host's node is. */
struct dev_node {
    char *path;  /* in the container: absolute and clean */
    mode_t mode; /* S_IFCHR or S_IFBLK, and the host node's permission bits */
    dev_t rdev;
    uid_t uid;
    gid_t gid;
};

/* What a container's device fields come to on this host. */
struct dev_set {
    struct dev_node *nodes;
    size_t nnodes;
    struct cgroup_device_rule *rules; /* the devices it may use, Docker's defaults included */
    size_t nrules;
    struct cgroup_blkio_device *blkio[CGROUP_BLKIO_KINDS];
    size_t nblkio[CGROUP_BLKIO_KINDS];
};

/* The create-time checks of the fields' shape, with dockerd's words (its start-time ones for
 * what it checks only then, and its CLI's where the daemon checks nothing), and its warnings for
 * block I/O limits this host's cgroups cannot take (those are dropped at start, as dockerd
 * drops them). EINVAL; the reactor thread: no I/O but access() when a blkio field is set. */
int dev_verify(const json_t *hc, json_t *warnings, struct berth_err **err);
/* The host half, at create (blocking): each device path exists and is a device (a directory
 * holding some, for Devices), in dockerd's words: "error gathering device information while
 * adding custom device \"/dev/x\": no such file or directory", "stat /dev/x: no such file or
 * directory". */
int dev_verify_host(const json_t *hc, struct berth_err **err);

/* At start (blocking): the nodes, the cgroup rules (Docker's defaults but those whose node a
 * mapped device replaces, then the mapped devices' and DeviceCgroupRules) and the block devices'
 * numbers. *out is NULL, and nothing is done, for a container that sets none of the fields. */
int dev_resolve(const json_t *hc, struct dev_set **out, struct berth_err **err);
void dev_set_free(struct dev_set *d);
/* The cgroup's device rules and block I/O lists: D's, or Docker's defaults when D is NULL. */
void dev_limits(const struct dev_set *d, struct cgroup_limits *l);
/* Does a mapped device take the container path PATH (one of the default nodes, "/dev/null")? */
bool dev_claims(const struct dev_set *d, const char *path);

/* One DeviceCgroupRule, "c 1:3 rwm", "b *:* m", "a *:* rwm": EINVAL "invalid device cgroup rule
 * format: 'x'" for anything else. */
int dev_parse_rule(const char *s, struct cgroup_device_rule *out, struct berth_err **err);
/* Go's path.Clean of an absolute path ("/dev/./x//y/.." is "/dev/x"). Heap string. */
char *dev_clean_path(const char *path);
