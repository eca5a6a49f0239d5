/* cgroup/devfilter.h — cgroup v2's device controller, which is an eBPF program
 * (BPF_PROG_TYPE_CGROUP_DEVICE) attached to the cgroup: built here from the allow rules with raw
 * instructions and loaded and attached with plain bpf() calls (no libbpf). Blocking (pool). */
#pragma once

#include <linux/bpf.h>
#include <stddef.h>

#include "cgroup/cgroup.h"

/* The program allowing exactly RULES (an access is allowed when one rule covers it whole, as v1
 * matches its exceptions; everything else is denied). Heap array of *count instructions. */
struct bpf_insn *devfilter_build(const struct cgroup_device_rule *rules, size_t n, size_t *count);

/* Attach the program of RULES to the cgroup directory CGROUP_FD (BPF_F_ALLOW_MULTI, so a
 * parent's programs keep running too: a device must pass them all). The last program loaded is
 * kept and reused while the rules stay the same, so containers with the default rules share one
 * program and pay one bpf() call each. */
int devfilter_attach(int cgroup_fd, const struct cgroup_device_rule *rules, size_t n,
                     struct berth_err **err);
