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

/* json_profile: NULL for the default, or the text of a Docker seccomp profile. Rules that
 * depend on capabilities (the default's and a profile's includes/excludes "caps") look at
 * caps->bounding, as dockerd does; caps may be NULL for none. Syscalls above the highest one
 * the profile names get ENOSYS rather than the default action (as runc), so libc falls back.
 * Syscall names that libseccomp or this arch do not know are skipped, as runc does (Docker's
 * own profile names syscalls newer than libseccomp 2.5). A profile with neither defaultAction
 * nor syscalls means no filter, as in dockerd: 0 with *out = NULL, which seccomp_install
 * accepts. EINVAL with "Decoding seccomp profile failed: <where>: <what>" for a malformed
 * profile (bad JSON, wrong types, unknown action, operator, arch or flag). The default's
 * programs are cached per combination of the capabilities its rules name (a compile costs
 * ~14 ms), so calling this for every container start is cheap. Thread-safe. */
int seccomp_compile(const char *json_profile, const struct caps *caps, struct seccomp_prog **out,
                    struct berth_err **err);
void seccomp_prog_free(struct seccomp_prog *p);
/* In the child: install the program (raw syscall; async-signal-safe; NULL installs nothing).
 * 0 or -errno. Needs no_new_privs or CAP_SYS_ADMIN: without no_new_privs (Docker's default)
 * install it before caps_apply() drops CAP_SYS_ADMIN, as runc does; the default profile lets
 * the setgroups/setresuid/capset/prctl calls and the execve that follow through. */
int seccomp_install(const struct seccomp_prog *p);
