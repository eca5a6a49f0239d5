/* exec/namespaces.h — a container's namespaces as HostConfig asks for them (NetworkMode, IpcMode,
 * PidMode, UTSMode, CgroupnsMode) and its Sysctls: checked at create with dockerd's (and runc's)
 * words, settled with the daemon's defaults, and resolved at start into the namespaces of other
 * containers it joins. */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "core/err.h"
#include "exec/container.h"

enum ns_mode {
    NS_PRIVATE,   /* a namespace of its own (the default) */
    NS_HOST,      /* the host's */
    NS_CONTAINER, /* another container's: "container:X" */
    NS_NONE,      /* IPC: its own, without /dev/shm */
    NS_SHAREABLE, /* IPC: its own, with a /dev/shm others may join */
};

struct ns_modes {
    enum ns_mode net, ipc, pid, uts, cgroup;
    const char *net_of, *ipc_of, *pid_of; /* the X of "container:X" (in the HostConfig) */
};

/* The modes of HostConfig hc (NULL: all private). An empty CgroupnsMode (a container of an older
 * berthd) is this host's default: private on cgroup v2, the host's on v1. */
void ns_modes(const json_t *hc, struct ns_modes *m);

/* A PID namespace of its own (PidMode neither "host" nor "container:X"): where --init runs. */
bool ns_pid_private(const json_t *hc);

/* Decode-time checks of dockerd (runconfig's validateNetMode): "container:X" networking with a
 * hostname, DNS, extra hosts or ports, --uts host with a hostname. EINVAL with its words. */
int ns_check_request(const json_t *config, const json_t *hc, struct berth_err **err);
/* dockerd's checks of IpcMode, PidMode and UTSMode, and runc's of Sysctls (the keys a container
 * may set, per namespace it has of its own). EINVAL with their words. */
int ns_check_modes(const json_t *hc, struct berth_err **err);
/* daemon.json's default-ipc-mode and default-cgroupns-mode, at start-up, with dockerd's words. */
int ns_check_defaults(const json_t *file, struct berth_err **err);

/* At create, as dockerd's adaptContainerSettings: an empty IpcMode and CgroupnsMode get the
 * daemon's defaults (ipc_default, cgroupns_default: daemon.json's, NULL: dockerd's), so inspect
 * shows the mode in force; "container:NAME" becomes "container:ID". A missing container for
 * --ipc or --pid is ENOENT "No such container: X" (a network one is looked up at start). */
int ns_settle(struct ctr_store *cs, json_t *hc, const char *ipc_default,
              const char *cgroupns_default, struct berth_err **err);

/* What a start needs beyond the container's own HostConfig: the other containers' namespaces it
 * joins and its /dev/shm from the host. Owned by the start job. */
struct ns_join {
    int net, ipc, pid; /* pidfds of the containers whose namespaces it joins, or -1 */
    char *shm;         /* the host directory bound at /dev/shm (its own shareable tmpfs, the
                          host's /dev/shm or its donor's), NULL: a private tmpfs or none */
    bool own_shm;      /* shm is its own tmpfs (--ipc shareable): mounted at start, gone at exit */
    char *etc_dir;     /* --network container:X: X's directory, whose hosts, hostname and
                          resolv.conf it shares; NULL: its own */
    int64_t shm_size;
};

/* At start (reactor): NULL in *out when the container joins nothing and shares no /dev/shm (no
 * work on the start path). Else the joins resolved in dockerd's order (network, IPC, PID), each
 * refused with its words when the other container is missing (network: 500 "joining network
 * namespace of container: No such container: X", IPC: 400), is itself (500 "cannot join own
 * network namespace") or does not run (network and IPC: 409, PID: 500 "failed to join PID
 * namespace: container X is not running"), or an IPC donor that is not shareable (400). With
 * --network container:X the container takes X's hostname, as dockerd. */
int ns_join_resolve(struct ctr_store *cs, struct container *c, struct ns_join **out,
                    struct berth_err **err);
void ns_join_free(struct ns_join *j);

/* Blocking (pool): its own /dev/shm for --ipc shareable, a tmpfs at DIR/shm; and its removal
 * (lazy: containers that joined it keep theirs). */
int ns_shm_mount(const struct ns_join *j, struct berth_err **err);
void ns_shm_unmount(const char *dir);
char *ns_shm_path(const char *dir); /* DIR/shm (heap) */

/* The directory whose hosts, hostname and resolv.conf the container uses: with --network
 * container:X, X's (when X exists), else its own. For inspect's *Path fields. */
const char *ns_etc_dir(struct ctr_store *cs, const struct container *c);
