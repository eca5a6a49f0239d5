/* exec/seccomp.h — seccomp filters for containers: berth's default profile (the same effect
 * as Docker's default: an allow-list of syscalls, some allowed only with given capabilities or
 * argument values, everything else EPERM), a Docker-format JSON profile from
 * --security-opt seccomp=PATH, or none (unconfined). Compiled with libseccomp in the parent;
 * the child only installs the finished BPF program. */
#pragma once

#include <linux/filter.h>

#include "core/err.h"
#include "exec/caps.h"

struct seccomp_prog {
    struct sock_fprog fprog; /* filter and len for PR_SET_SECCOMP / seccomp(2) */
    unsigned int flags;      /* SECCOMP_FILTER_FLAG_* from the profile's "flags", for seccomp(2) */
};

/* json_profile: NULL for the default, or the text of a Docker seccomp profile. The default's
 * capability-conditional rules use the container's effective caps. EINVAL with words for a
 * malformed profile or an unknown syscall name that the profile does not mark optional. */
int seccomp_compile(const char *json_profile, const struct caps *caps, struct seccomp_prog **out,
                    struct berth_err **err);
void seccomp_prog_free(struct seccomp_prog *p);
/* In the child: install the program (raw syscall; async-signal-safe). 0 or -errno. Needs
 * no_new_privs or CAP_SYS_ADMIN. */
int seccomp_install(const struct seccomp_prog *p);
