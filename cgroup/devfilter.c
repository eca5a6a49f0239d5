/* cgroup/devfilter.c — the v2 device filter: one block of instructions per allow rule, tried in
 * order, then a deny. The layout is runc's and crun's, so the same rules decide alike on both
 * cgroup versions. */
#include "cgroup/devfilter.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/xalloc.h"

/* The program's context (struct bpf_cgroup_dev_ctx): access_type (type in the low 16 bits,
 * BPF_DEVCG_ACC_* in the high ones) at 0, major at 4, minor at 8. Registers once loaded: */
enum { R0 = 0, R1 = 1, R_TYPE = 2, R_ACCESS = 3, R_MAJOR = 4, R_MINOR = 5 };

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    return (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

static int access_bits(const char *access)
{
    int bits = 0;
    for (const char *a = access; *a; a++)
        bits |= *a == 'r'   ? BPF_DEVCG_ACC_READ
                : *a == 'w' ? BPF_DEVCG_ACC_WRITE
                : *a == 'm' ? BPF_DEVCG_ACC_MKNOD
                            : 0;
    return bits;
}

/* One rule's block: each check jumps to the next block when it fails; all passing, allow. The
 * jumps are patched once the block's length is known. Returns the instructions written. */
static size_t rule_block(const struct cgroup_device_rule *r, struct bpf_insn *out)
{
    size_t n = 0;
    size_t jumps[4], njumps = 0;
    int acc = access_bits(r->access);
    if (r->major > INT32_MAX || r->minor > INT32_MAX)
        return 0; /* no device has such numbers (12 and 20 bits), and imm would wrap */
    if (r->type != 'a') {
        jumps[njumps++] = n;
        out[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, R_TYPE, 0, 0,
                        r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
        if (acc != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
            /* what is asked must be within what the rule allows: (asked & acc) == asked */
            out[n++] = insn(BPF_ALU | BPF_MOV | BPF_X, R1, R_ACCESS, 0, 0);
            out[n++] = insn(BPF_ALU | BPF_AND | BPF_K, R1, 0, 0, acc);
            jumps[njumps++] = n;
            out[n++] = insn(BPF_JMP | BPF_JNE | BPF_X, R1, R_ACCESS, 0, 0);
        }
        if (r->major >= 0) {
            jumps[njumps++] = n;
            out[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, R_MAJOR, 0, 0, (int32_t)r->major);
        }
        if (r->minor >= 0) {
            jumps[njumps++] = n;
            out[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, R_MINOR, 0, 0, (int32_t)r->minor);
        }
    } /* 'a': every device, as v1 takes "a" whatever follows it */
    out[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 1);
    out[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    for (size_t j = 0; j < njumps; j++)
        out[jumps[j]].off = (int16_t)(n - jumps[j] - 1);
    return n;
}

struct bpf_insn *devfilter_build(const struct cgroup_device_rule *rules, size_t n, size_t *count)
{
    struct bpf_insn *p = xcalloc(6 + 8 * n + 2, sizeof(*p)); /* header, rules, deny */
    size_t k = 0;
    p[k++] = insn(BPF_LDX | BPF_MEM | BPF_W, R_TYPE, R1, 0, 0);
    p[k++] = insn(BPF_ALU | BPF_AND | BPF_K, R_TYPE, 0, 0, 0xffff);
    p[k++] = insn(BPF_LDX | BPF_MEM | BPF_W, R_ACCESS, R1, 0, 0);
    p[k++] = insn(BPF_ALU | BPF_RSH | BPF_K, R_ACCESS, 0, 0, 16);
    p[k++] = insn(BPF_LDX | BPF_MEM | BPF_W, R_MAJOR, R1, 4, 0);
    p[k++] = insn(BPF_LDX | BPF_MEM | BPF_W, R_MINOR, R1, 8, 0);
    for (size_t i = 0; i < n; i++)
        k += rule_block(&rules[i], p + k);
    p[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 0);
    p[k++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    *count = k;
    return p;
}

static int load(const struct cgroup_device_rule *rules, size_t n, struct berth_err **err)
{
    size_t count;
    struct bpf_insn *prog = devfilter_build(rules, n, &count);
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)prog;
    attr.insn_cnt = (uint32_t)count;
    attr.license = (uint64_t)(uintptr_t) "Apache";
    int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr)); /* fd is CLOEXEC */
    int e = errno;
    free(prog);
    if (fd < 0)
        return berth_error(err, e, "load the device cgroup eBPF program");
    return fd;
}

static bool same_rules(const struct cgroup_device_rule *a, const struct cgroup_device_rule *b,
                       size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].type != b[i].type || a[i].major != b[i].major || a[i].minor != b[i].minor ||
            strcmp(a[i].access, b[i].access) != 0)
            return false;
    return true;
}

/* The last program loaded, for the next container with the same rules (most have Docker's). */
static struct {
    pthread_mutex_t lock;
    struct cgroup_device_rule *rules;
    size_t n;
    int fd;
} last = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, -1};

/* Under last.lock: a copy of the program for these rules, loaded unless it is the last one. */
static int dup_program(const struct cgroup_device_rule *rules, size_t n, struct berth_err **err)
{
    if (last.fd < 0 || last.n != n || !same_rules(last.rules, rules, n)) {
        int fd = load(rules, n, err);
        if (fd < 0)
            return fd;
        if (last.fd >= 0)
            close(last.fd);
        free(last.rules);
        last.rules = xcalloc(n ? n : 1, sizeof(*rules));
        memcpy(last.rules, rules, n * sizeof(*rules));
        last.n = n;
        last.fd = fd;
    }
    int fd = fcntl(last.fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return berth_error(err, errno, "dup the device cgroup eBPF program");
    return fd;
}

static int program_for(const struct cgroup_device_rule *rules, size_t n, struct berth_err **err)
{
    pthread_mutex_lock(&last.lock);
    int fd = dup_program(rules, n, err);
    pthread_mutex_unlock(&last.lock); /* whatever happened */
    return fd;
}

int devfilter_attach(int cgroup_fd, const struct cgroup_device_rule *rules, size_t n,
                     struct berth_err **err)
{
    int prog = program_for(rules, n, err);
    if (prog < 0)
        return prog;
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)prog;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    int r = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof(attr));
    int e = errno;
    close(prog); /* the attachment holds its own reference */
    return r < 0 ? berth_error(err, e, "attach the device cgroup eBPF program") : 0;
}
