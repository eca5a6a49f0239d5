/* exec/seccomp_profile.h — the in-memory form of a seccomp profile, shared by berth's default
 * (seccomp_default.c), the Docker JSON reader (seccomp_json.c) and the compiler (seccomp.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <seccomp.h>

#include "core/err.h"

/* The host a profile is resolved for. Docker's includes/excludes name arches the Go way
 * ("amd64"); the filter uses libseccomp tokens. Tests resolve for other targets too. */
struct seccomp_target {
    uint32_t arch;       /* SCMP_ARCH_X86_64 */
    const char *go_arch; /* "amd64" */
    unsigned kernel[2];  /* version and major revision: 6.1.0-18-amd64 is {6, 1} */
};

struct seccomp_arg {
    unsigned index; /* 0-5 */
    enum scmp_compare op;
    uint64_t value, value_two; /* for SCMP_CMP_MASKED_EQ: mask, then the value to match */
};

/* One Docker includes/excludes clause; an empty field does not constrain. A rule applies when
 * every field of `includes` holds and no field of `excludes` does. */
struct seccomp_cond {
    uint64_t caps;             /* all of these in the container's bounding set */
    bool caps_unknown;         /* names a capability no container holds */
    const char *const *arches; /* Go arch names, NULL-terminated; one must be the target's */
    unsigned min_kernel[2];    /* the running kernel is at least this; {0, 0} for any */
};

struct seccomp_rule {
    const char *const *names; /* NULL-terminated */
    uint32_t action;          /* SCMP_ACT_*, errno or trace value included */
    const struct seccomp_arg *args;
    size_t n_args;
    struct seccomp_cond includes, excludes;
};

/* Docker's archMap: the filter covers `arch` and its sub-architectures when `arch` is the
 * target's. A zero token is an architecture this libseccomp does not know. */
struct seccomp_arch_map {
    uint32_t arch;
    uint32_t sub[3];
};

enum { SECCOMP_MAX_ARCHES = 32 };

struct seccomp_profile {
    bool unconfined;         /* Docker's "no defaultAction and no syscalls": no filter at all */
    uint32_t default_action; /* SCMP_ACT_* */
    uint32_t arches[SECCOMP_MAX_ARCHES]; /* besides the target's own */
    size_t n_arches;
    unsigned flags; /* SECCOMP_FILTER_FLAG_* for seccomp(2) */
    const struct seccomp_rule *rules;
    size_t n_rules;
    void *_owned; /* seccomp_json.c: what rules point into */
};

/* The target this binary runs on: native arch, Go name, uname's kernel version. */
void seccomp_target_native(struct seccomp_target *t);

/* Fill arches[] from an archMap for the target (nothing when the target has no entry). */
void seccomp_profile_pick_arches(struct seccomp_profile *p, const struct seccomp_target *t,
                                 const struct seccomp_arch_map *map, size_t n_map);

/* berth's default profile: the same effect as Docker's default. Static data; nothing to free. */
void seccomp_profile_default(const struct seccomp_target *t, struct seccomp_profile *out);

/* A Docker-format JSON profile. EINVAL with "Decoding seccomp profile failed: ..." words.
 * Release with seccomp_profile_release() whatever the result. */
int seccomp_profile_from_json(const char *text, const struct seccomp_target *t,
                              struct seccomp_profile *out, struct berth_err **err);
void seccomp_profile_release(struct seccomp_profile *p);

/* Whether a rule applies to this target and a container with this bounding set. */
bool seccomp_rule_applies(const struct seccomp_rule *r, const struct seccomp_target *t,
                          uint64_t bounding);
