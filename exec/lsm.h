/* exec/lsm.h — --security-opt apparmor=PROFILE and label=... (SELinux): what the host's Linux
 * security modules allow, the exec attribute the child writes before exec (planned here, in
 * the parent), and the async-signal-safe write itself. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define LSM_MAX_LABELS 8

/* The apparmor= and label= parts of HostConfig.SecurityOpt ("disable" alone counts as
 * label=disable, as dockerd reads it). Strings point into the options. */
struct lsm_opts {
    const char *apparmor; /* NULL: none given */
    const char *labels[LSM_MAX_LABELS];
    size_t nlabels;
};

/* What the host has. root is "" for the real host (tests give a directory with the same
 * layout). */
struct lsm_host {
    bool apparmor;      /* AppArmor enabled: /sys/kernel/security/apparmor, parameters/enabled Y */
    bool apparmor_dir;  /* the kernel has /proc/self/attr/apparmor/ (else the old attr/exec) */
    bool selinux;       /* selinuxfs mounted */
    char *selinux_base; /* the container process context of the policy (lxc_contexts), or NULL */
};
void lsm_probe(const char *root, struct lsm_host *h);
void lsm_host_free(struct lsm_host *h);

/* One write the child makes to a /proc attribute before exec. */
struct lsm_attr {
    const char *path;
    char *value; /* heap */
};

/* Check o against the host and plan the child's writes into out[0..*n) (at most 2; values
 * heap, the caller frees them; none on failure). EINVAL with the words when the host cannot honour
 * o: a profile or label asked for where its module is not enabled (apparmor=unconfined and
 * label=disable are accepted everywhere: they ask for what a host without the module gives), a
 * label option SELinux does not know, or a file type (mount labels are not supported yet). */
int lsm_plan(const struct lsm_opts *o, const struct lsm_host *h, struct lsm_attr out[2], size_t *n,
             struct berth_err **err);

/* The whole check at create: probes the real host only when o asks for something. */
int lsm_check(const struct lsm_opts *o, struct berth_err **err);

/* In the child (async-signal-safe): write value to path in one write, as the kernel wants an
 * attribute. 0 or -errno. */
int lsm_write_attr(const char *path, const char *value);
