/* tests/exec/test_seccomp.c — exec/seccomp*.c: the default profile against Docker's (same BPF
 * for each arch and capability set), the ENOSYS stub in a small BPF interpreter, Docker JSON
 * profiles and their error words, and filters installed in forked children on this kernel. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/macros.h"
#include "exec/seccomp.c" /* compile_for(): filters for other targets than this host */

#define BIT(c)     (UINT64_C(1) << (c))
#define ACT_EPERM  (SECCOMP_RET_ERRNO | EPERM)
#define ACT_ENOSYS (SECCOMP_RET_ERRNO | ENOSYS)

static const uint64_t docker_default =
    BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FSETID) | BIT(CAP_FOWNER) | BIT(CAP_MKNOD) |
    BIT(CAP_NET_RAW) | BIT(CAP_SETGID) | BIT(CAP_SETUID) | BIT(CAP_SETFCAP) | BIT(CAP_SETPCAP) |
    BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_SYS_CHROOT) | BIT(CAP_KILL) | BIT(CAP_AUDIT_WRITE);

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *buf = xmalloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Docker's default.json, kept beside the tests for this comparison only. */
static char *reference_profile(void)
{
    const char *src = getenv("BERTH_SRC");
    _cleanup_free_ char *path =
        xasprintf("%s/tests/exec/data/docker-seccomp-default.json", src ? src : ".");
    char *text = slurp(path);
    if (!text)
        fail_msg("cannot read %s", path);
    return text;
}

static struct seccomp_prog *compile_ok(const char *json, const struct seccomp_target *t,
                                       uint64_t bounding)
{
    struct seccomp_prog *p = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    struct caps caps = {.bounding = bounding, .effective = bounding, .permitted = bounding};
    if (compile_for(json, t, &caps, &p, &err) < 0)
        fail_msg("compile: %s", err->msg);
    assert_non_null(p);
    return p;
}

static struct seccomp_target native(void)
{
    struct seccomp_target t;
    seccomp_target_native(&t);
    return t;
}

/* ---- a classic BPF interpreter for what libseccomp and the stub emit ---- */

static uint32_t run_bpf(const struct seccomp_prog *p, uint32_t arch, uint32_t nr, uint64_t a0,
                        uint64_t a1)
{
    struct seccomp_data d = {.nr = (int)nr, .arch = arch, .args = {a0, a1}};
    uint32_t A = 0, X = 0, mem[BPF_MEMWORDS] = {0};
    for (size_t pc = 0; pc < p->fprog.len; pc++) {
        const struct sock_filter *f = &p->fprog.filter[pc];
        uint32_t k = f->k;
        switch (f->code) {
        case BPF_LD | BPF_W | BPF_ABS:
            assert_true(k + 4 <= sizeof(d));
            memcpy(&A, (char *)&d + k, 4);
            break;
        case BPF_LD | BPF_MEM:
            A = mem[k];
            break;
        case BPF_LDX | BPF_MEM:
            X = mem[k];
            break;
        case BPF_ST:
            mem[k] = A;
            break;
        case BPF_STX:
            mem[k] = X;
            break;
        case BPF_ALU | BPF_AND | BPF_K:
            A &= k;
            break;
        case BPF_MISC | BPF_TAX:
            X = A;
            break;
        case BPF_MISC | BPF_TXA:
            A = X;
            break;
        case BPF_JMP | BPF_JA:
            pc += k;
            break;
        case BPF_JMP | BPF_JEQ | BPF_K:
            pc += A == k ? f->jt : f->jf;
            break;
        case BPF_JMP | BPF_JGT | BPF_K:
            pc += A > k ? f->jt : f->jf;
            break;
        case BPF_JMP | BPF_JGE | BPF_K:
            pc += A >= k ? f->jt : f->jf;
            break;
        case BPF_JMP | BPF_JSET | BPF_K:
            pc += A & k ? f->jt : f->jf;
            break;
        case BPF_RET | BPF_K:
            return k;
        case BPF_RET | BPF_A:
            return A;
        default:
            fail_msg("BPF opcode %#x at %zu not handled by the test interpreter", f->code, pc);
        }
    }
    fail_msg("the program fell off its end");
    return 0;
}

static uint32_t nr_of(uint32_t arch, const char *name)
{
    int nr = seccomp_syscall_resolve_name_arch(arch, name);
    assert_true(nr >= 0);
    return (uint32_t)nr;
}

/* ---- the default profile against Docker's ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_default_allow_list_is_dockers(void **state)
{
    (void)state;
    _cleanup_free_ char *text = reference_profile();
    json_error_t jerr;
    _cleanup_json_ json_t *ref = json_loads(text, 0, &jerr);
    assert_non_null(ref);
    /* Docker's first rule: the unconditional allow-list */
    json_t *first = json_array_get(json_object_get(ref, "syscalls"), 0), *names, *e;
    assert_null(json_object_get(first, "args"));
    assert_null(json_object_get(first, "includes"));
    assert_null(json_object_get(first, "excludes"));
    names = json_object_get(first, "names");
    size_t n_ref = json_array_size(names), i;
    _cleanup_free_ const char **want = xcalloc(n_ref, sizeof(*want));
    json_array_foreach(names, i, e) want[i] = json_string_value(e);
    qsort(want, n_ref, sizeof(*want), cmp_str);

    struct seccomp_target t = native();
    struct seccomp_profile p;
    seccomp_profile_default(&t, &p);
    assert_int_equal(p.rules[0].action, SCMP_ACT_ALLOW);
    assert_int_equal(p.rules[0].n_args, 0);
    size_t n = 0;
    while (p.rules[0].names[n])
        n++;
    _cleanup_free_ const char **got = xcalloc(n, sizeof(*got));
    memcpy(got, p.rules[0].names, n * sizeof(*got));
    qsort(got, n, sizeof(*got), cmp_str);
    for (i = 0; i < n && i < n_ref; i++)
        if (strcmp(got[i], want[i]) != 0)
            fail_msg("allow-lists differ at `%s` (berth) / `%s` (Docker)", got[i], want[i]);
    assert_int_equal(n, n_ref);
    assert_int_equal(p.default_action, SCMP_ACT_ERRNO(EPERM));
}

/* Same program, instruction for instruction, as Docker's default.json read by the JSON
 * reader, for every target arch and each capability that a rule depends on. */
static void test_default_same_bpf_as_dockers(void **state)
{
    (void)state;
    _cleanup_free_ char *ref = reference_profile();
    struct seccomp_target host = native();
    const struct seccomp_target targets[] = {
        host,
        {SCMP_ARCH_X86_64, "amd64", {4, 7}}, /* before ptrace became safe */
        {SCMP_ARCH_AARCH64, "arm64", {6, 1}},
        {SCMP_ARCH_PPC64LE, "ppc64le", {6, 1}},
        {SCMP_ARCH_RISCV64, "riscv64", {6, 1}},
        {SCMP_ARCH_ARM, "arm", {6, 1}},
    };
    const uint64_t cap_sets[] = {
        0,
        docker_default,
        BIT(41) - 1,
        BIT(CAP_DAC_READ_SEARCH),
        BIT(CAP_SYS_ADMIN),
        BIT(CAP_SYS_BOOT),
        BIT(CAP_SYS_CHROOT),
        BIT(CAP_SYS_MODULE),
        BIT(CAP_SYS_PACCT),
        BIT(CAP_SYS_PTRACE),
        BIT(CAP_SYS_RAWIO),
        BIT(CAP_SYS_TIME),
        BIT(CAP_SYS_TTY_CONFIG),
        BIT(CAP_SYS_NICE),
        BIT(CAP_SYSLOG),
        BIT(CAP_BPF),
        BIT(CAP_PERFMON),
        docker_default | BIT(CAP_SYS_ADMIN) | BIT(CAP_SYS_PTRACE),
    };
    for (size_t ti = 0; ti < ARRAY_SIZE(targets); ti++) {
        for (size_t ci = 0; ci < ARRAY_SIZE(cap_sets); ci++) {
            struct seccomp_prog *mine = compile_ok(NULL, &targets[ti], cap_sets[ci]);
            struct seccomp_prog *theirs = compile_ok(ref, &targets[ti], cap_sets[ci]);
            if (mine->fprog.len != theirs->fprog.len ||
                memcmp(mine->fprog.filter, theirs->fprog.filter,
                       mine->fprog.len * sizeof(struct sock_filter)) != 0)
                fail_msg("%s, caps %#llx: %u vs %u instructions", targets[ti].go_arch,
                         (unsigned long long)cap_sets[ci], mine->fprog.len, theirs->fprog.len);
            seccomp_prog_free(mine);
            seccomp_prog_free(theirs);
        }
    }
}

static bool same_prog(const struct seccomp_prog *a, const struct seccomp_prog *b)
{
    return a->fprog.len == b->fprog.len && a->flags == b->flags &&
           memcmp(a->fprog.filter, b->fprog.filter, a->fprog.len * sizeof(*a->fprog.filter)) == 0;
}

/* seccomp_compile keeps default programs per combination of the capabilities the rules
 * name: each answer must still be what a fresh compile gives, past the cache's size too. */
static void test_default_cache(void **state)
{
    (void)state;
    struct seccomp_target t = native();
    const int caps[] = {-1,
                        CAP_NET_ADMIN, /* named by no rule: same program as none */
                        CAP_DAC_READ_SEARCH,
                        CAP_SYS_ADMIN,
                        CAP_SYS_BOOT,
                        CAP_SYS_CHROOT,
                        CAP_SYS_MODULE,
                        CAP_SYS_PACCT,
                        CAP_SYS_PTRACE,
                        CAP_SYS_RAWIO,
                        CAP_SYS_TIME,
                        CAP_SYS_TTY_CONFIG,
                        CAP_SYS_NICE,
                        CAP_SYSLOG,
                        CAP_BPF,
                        CAP_PERFMON};
    struct seccomp_prog *none = compile_ok(NULL, &t, docker_default & ~BIT(CAP_SYS_CHROOT));
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
            uint64_t bounding =
                (docker_default & ~BIT(CAP_SYS_CHROOT)) | (caps[i] >= 0 ? BIT(caps[i]) : 0);
            struct caps c = {.bounding = bounding};
            struct seccomp_prog *cached = NULL;
            _cleanup_err_ struct berth_err *err = NULL;
            assert_int_equal(seccomp_compile(NULL, &c, &cached, &err), 0);
            struct seccomp_prog *fresh = compile_ok(NULL, &t, bounding);
            assert_true(cached != fresh && cached->fprog.filter != fresh->fprog.filter);
            assert_true(same_prog(cached, fresh));
            assert_true(same_prog(cached, none) == (i < 2));
            seccomp_prog_free(cached);
            seccomp_prog_free(fresh);
        }
    }
    seccomp_prog_free(none);
}

/* ---- the program's decisions, read with the interpreter ---- */

static void test_default_decisions(void **state)
{
    (void)state;
    struct seccomp_target t = {SCMP_ARCH_X86_64, "amd64", {6, 1}};
    struct seccomp_prog *p = compile_ok(NULL, &t, docker_default);
    const uint32_t x64 = AUDIT_ARCH_X86_64;
    assert_int_equal(run_bpf(p, x64, nr_of(t.arch, "read"), 0, 0), SCMP_ACT_ALLOW);
    assert_int_equal(run_bpf(p, x64, nr_of(t.arch, "keyctl"), 0, 0), ACT_EPERM);
    assert_int_equal(run_bpf(p, x64, nr_of(t.arch, "mount"), 0, 0), ACT_EPERM);
    assert_int_equal(run_bpf(p, x64, nr_of(t.arch, "clone3"), 0, 0), ACT_ENOSYS);
    uint32_t clone = nr_of(t.arch, "clone"), pers = nr_of(t.arch, "personality");
    assert_int_equal(run_bpf(p, x64, clone, SIGCHLD | CLONE_VM, 0), SCMP_ACT_ALLOW);
    assert_int_equal(run_bpf(p, x64, clone, SIGCHLD | CLONE_NEWUSER, 0), ACT_EPERM);
    assert_int_equal(run_bpf(p, x64, pers, 0xffffffff, 0), SCMP_ACT_ALLOW);
    assert_int_equal(run_bpf(p, x64, pers, PER_LINUX32, 0), SCMP_ACT_ALLOW);
    assert_int_equal(run_bpf(p, x64, pers, PER_BSD, 0), ACT_EPERM);
    uint32_t sock = nr_of(t.arch, "socket");
    assert_int_equal(run_bpf(p, x64, sock, AF_UNIX, 0), SCMP_ACT_ALLOW);
    assert_int_equal(run_bpf(p, x64, sock, AF_NFC, 0), SCMP_ACT_ALLOW);
    assert_int_equal(run_bpf(p, x64, sock, AF_ALG, 0), ACT_EPERM);
    assert_int_equal(run_bpf(p, x64, sock, AF_VSOCK, 0), ACT_EPERM);
    assert_int_equal(run_bpf(p, x64, sock, AF_VSOCK + 1, 0), SCMP_ACT_ALLOW);
    seccomp_prog_free(p);

    p = compile_ok(NULL, &t, docker_default | BIT(CAP_SYS_ADMIN));
    assert_int_equal(run_bpf(p, x64, nr_of(t.arch, "mount"), 0, 0), SCMP_ACT_ALLOW);
    assert_int_equal(run_bpf(p, x64, nr_of(t.arch, "clone3"), 0, 0), SCMP_ACT_ALLOW);
    assert_int_equal(run_bpf(p, x64, clone, CLONE_NEWUSER, 0), SCMP_ACT_ALLOW);
    seccomp_prog_free(p);
}

/* Syscalls above the highest one the profile names get ENOSYS on every arch of the filter;
 * lower unknown ones get the default action. */
static void test_enosys_stub(void **state)
{
    (void)state;
    struct seccomp_target t = {SCMP_ARCH_X86_64, "amd64", {6, 1}};
    struct seccomp_prog *p = compile_ok(NULL, &t, docker_default);
    uint32_t max64 = 0, max32 = 0, max386 = 0;
    for (uint32_t nr = 0; nr < 1024; nr++) {
        if (run_bpf(p, AUDIT_ARCH_X86_64, nr, 0, 0) == SCMP_ACT_ALLOW)
            max64 = nr;
        if (run_bpf(p, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | nr, 0, 0) == SCMP_ACT_ALLOW)
            max32 = nr;
        if (run_bpf(p, AUDIT_ARCH_I386, nr, 0, 0) == SCMP_ACT_ALLOW)
            max386 = nr;
    }
    assert_true(max64 > 400 && max386 > 400 && max32 > 400);
    assert_int_equal(run_bpf(p, AUDIT_ARCH_X86_64, max64 + 1, 0, 0), ACT_ENOSYS);
    assert_int_equal(run_bpf(p, AUDIT_ARCH_X86_64, 5000, 0, 0), ACT_ENOSYS);
    assert_int_equal(run_bpf(p, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 5000, 0, 0), ACT_ENOSYS);
    assert_int_equal(run_bpf(p, AUDIT_ARCH_I386, 5000, 0, 0), ACT_ENOSYS);
    assert_int_equal(run_bpf(p, AUDIT_ARCH_X86_64, 183 /* afs_syscall */, 0, 0), ACT_EPERM);
    assert_int_equal(run_bpf(p, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 512, 0, 0), SCMP_ACT_ALLOW);
    assert_int_equal(run_bpf(p, AUDIT_ARCH_I386, nr_of(SCMP_ARCH_X86, "socketcall"), 0, 0),
                     SCMP_ACT_ALLOW);
    /* an arch the filter does not cover is libseccomp's business: never allowed */
    assert_int_not_equal(run_bpf(p, AUDIT_ARCH_AARCH64, 0, 0, 0), SCMP_ACT_ALLOW);
    seccomp_prog_free(p);

    /* x86_64 alone: x32 numbers skip the stub and meet libseccomp's bad-arch action */
    p = compile_ok("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\"],"
                   "\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                   "{\"names\":[\"close\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":9}]}",
                   &t, 0);
    assert_int_equal(run_bpf(p, AUDIT_ARCH_X86_64, 0, 0, 0), SCMP_ACT_ALLOW);
    assert_int_equal(run_bpf(p, AUDIT_ARCH_X86_64, 1, 0, 0), ACT_EPERM);
    assert_int_equal(run_bpf(p, AUDIT_ARCH_X86_64, 3, 0, 0), SECCOMP_RET_ERRNO | EBADF);
    assert_int_equal(run_bpf(p, AUDIT_ARCH_X86_64, 4, 0, 0), ACT_ENOSYS); /* above close (3) */
    assert_int_not_equal(run_bpf(p, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 9, 0, 0), ACT_ENOSYS);
    seccomp_prog_free(p);

    /* an allowing default needs no stub */
    p = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
                   "\"action\":\"SCMP_ACT_ERRNO\"}]}",
                   &t, 0);
    assert_int_equal(run_bpf(p, AUDIT_ARCH_X86_64, 5000, 0, 0), SCMP_ACT_ALLOW);
    assert_int_equal(run_bpf(p, AUDIT_ARCH_X86_64, 0, 0, 0), ACT_EPERM);
    seccomp_prog_free(p);

    /* aarch64 with its 32-bit arm */
    struct seccomp_target arm64 = {SCMP_ARCH_AARCH64, "arm64", {6, 1}};
    p = compile_ok(NULL, &arm64, docker_default);
    assert_int_equal(run_bpf(p, AUDIT_ARCH_AARCH64, 5000, 0, 0), ACT_ENOSYS);
    /* arm's private syscalls (set_tls is 0xf0005) are the highest there, as in runc */
    assert_int_equal(run_bpf(p, AUDIT_ARCH_ARM, nr_of(SCMP_ARCH_ARM, "set_tls"), 0, 0),
                     SCMP_ACT_ALLOW);
    assert_int_equal(run_bpf(p, AUDIT_ARCH_ARM, 0xf0006, 0, 0), ACT_ENOSYS);
    assert_int_equal(run_bpf(p, AUDIT_ARCH_ARM, nr_of(SCMP_ARCH_ARM, "getpid"), 0, 0),
                     SCMP_ACT_ALLOW);
    seccomp_prog_free(p);
}

/* ---- Docker JSON profiles ---- */

static uint32_t getcwd_action(const char *json, uint64_t bounding)
{
    struct seccomp_target t = {SCMP_ARCH_X86_64, "amd64", {5, 10}};
    struct seccomp_prog *p = compile_ok(json, &t, bounding);
    uint32_t act = run_bpf(p, AUDIT_ARCH_X86_64, nr_of(t.arch, "getcwd"), 0, 0);
    seccomp_prog_free(p);
    return act;
}

#define RULE(cond)                                                                                 \
    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getcwd\"],"                 \
    "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13" cond "}]}"

static void test_json_conditions(void **state)
{
    (void)state;
    const uint32_t eacces = SECCOMP_RET_ERRNO | EACCES, admin = BIT(CAP_SYS_ADMIN);
    assert_int_equal(getcwd_action(RULE(""), 0), eacces);
    assert_int_equal(getcwd_action(RULE(",\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}"), 0),
                     SCMP_ACT_ALLOW);
    assert_int_equal(getcwd_action(RULE(",\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}"), admin),
                     eacces);
    assert_int_equal(getcwd_action(RULE(",\"excludes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}"), admin),
                     SCMP_ACT_ALLOW);
    /* names are matched exactly, as moby does: an unknown one is never held */
    assert_int_equal(getcwd_action(RULE(",\"includes\":{\"caps\":[\"cap_sys_admin\"]}"), admin),
                     SCMP_ACT_ALLOW);
    assert_int_equal(getcwd_action(RULE(",\"excludes\":{\"caps\":[\"CAP_NOPE\"]}"), admin), eacces);
    assert_int_equal(getcwd_action(RULE(",\"includes\":{\"arches\":[\"arm64\",\"amd64\"]}"), 0),
                     eacces);
    assert_int_equal(getcwd_action(RULE(",\"includes\":{\"arches\":[\"x86\"]}"), 0),
                     SCMP_ACT_ALLOW);
    assert_int_equal(getcwd_action(RULE(",\"excludes\":{\"arches\":[\"amd64\"]}"), 0),
                     SCMP_ACT_ALLOW);
    assert_int_equal(getcwd_action(RULE(",\"includes\":{\"minKernel\":\"5.10\"}"), 0), eacces);
    assert_int_equal(getcwd_action(RULE(",\"includes\":{\"minKernel\":\"5.11\"}"), 0),
                     SCMP_ACT_ALLOW);
    assert_int_equal(getcwd_action(RULE(",\"excludes\":{\"minKernel\":\"4.20\"}"), 0),
                     SCMP_ACT_ALLOW);
    assert_int_equal(getcwd_action(RULE(",\"excludes\":{\"minKernel\":\"\"}"), 0), eacces);
}

static void test_json_forms(void **state)
{
    (void)state;
    const uint32_t eperm = ACT_EPERM;
    /* keys in any case, as Go's decoder; the legacy single "name"; errno defaults to EPERM */
    assert_int_equal(getcwd_action("{\"DefaultAction\":\"SCMP_ACT_ALLOW\",\"SYSCALLS\":[{\"Names\":"
                                   "[\"getcwd\"],\"action\":\"SCMP_ACT_ERRNO\"}]}",
                                   0),
                     eperm);
    assert_int_equal(getcwd_action("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"name\":"
                                   "\"getcwd\",\"action\":\"SCMP_ACT_ERRNO\",\"comment\":\"x\"}]}",
                                   0),
                     eperm);
    /* unknown syscall names are skipped, as runc does; null is absent */
    assert_int_equal(getcwd_action("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
                                   "\"archMap\":null,\"syscalls\":[{\"names\":[\"no_such_call\","
                                   "\"getcwd\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":null}]}",
                                   0),
                     SCMP_ACT_ALLOW);
    assert_int_equal(getcwd_action("{\"defaultAction\":\"SCMP_ACT_KILL\",\"syscalls\":[]}", 0),
                     SCMP_ACT_KILL_THREAD);
    assert_int_equal(
        getcwd_action("{\"defaultAction\":\"SCMP_ACT_TRACE\",\"defaultErrnoRet\":7}", 0),
        SCMP_ACT_TRACE(7));

    /* two conditions on one argument become two rules (either may match), as in runc */
    struct seccomp_target t = {SCMP_ARCH_X86_64, "amd64", {6, 1}};
    struct seccomp_prog *p = compile_ok(
        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"personality\"],"
        "\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},"
        "{\"index\":0,\"value\":3,\"op\":\"SCMP_CMP_EQ\"}]},{\"names\":[\"kill\"],\"action\":"
        "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},{\"index\":"
        "1,\"value\":240,\"valueTwo\":16,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}",
        &t, 0);
    uint32_t pers = nr_of(t.arch, "personality"), kill_nr = nr_of(t.arch, "kill");
    assert_int_equal(run_bpf(p, AUDIT_ARCH_X86_64, pers, 1, 0), SCMP_ACT_ALLOW);
    assert_int_equal(run_bpf(p, AUDIT_ARCH_X86_64, pers, 3, 0), SCMP_ACT_ALLOW);
    assert_int_equal(run_bpf(p, AUDIT_ARCH_X86_64, pers, 2, 0), ACT_EPERM);
    /* conditions on different arguments all have to hold */
    assert_int_equal(run_bpf(p, AUDIT_ARCH_X86_64, kill_nr, 1, 0x1f), SCMP_ACT_ALLOW);
    assert_int_equal(run_bpf(p, AUDIT_ARCH_X86_64, kill_nr, 1, 0x2f), ACT_EPERM);
    assert_int_equal(run_bpf(p, AUDIT_ARCH_X86_64, kill_nr, 2, 0x1f), ACT_EPERM);
    seccomp_prog_free(p);
}

static void test_json_flags_and_unconfined(void **state)
{
    (void)state;
    struct seccomp_prog *p = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    const char *none[] = {"{}", "{\"defaultAction\":\"\"}", "{\"syscalls\":[],\"flags\":[]}",
                          "{\"defaultAction\":null,\"syscalls\":null}"};
    for (size_t i = 0; i < ARRAY_SIZE(none); i++) {
        assert_int_equal(seccomp_compile(none[i], NULL, &p, &err), 0);
        assert_null(p); /* Docker: no defaultAction and no syscalls turns seccomp off */
    }
    assert_int_equal(seccomp_install(NULL), 0);
    assert_int_equal(seccomp_compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":["
                                     "\"SECCOMP_FILTER_FLAG_LOG\",\"SECCOMP_FILTER_FLAG_TSYNC\","
                                     "\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"]}",
                                     NULL, &p, &err),
                     0);
    assert_int_equal(p->flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
    seccomp_prog_free(p);
    seccomp_prog_free(NULL);
}

static const struct {
    const char *json, *msg;
} bad_profiles[] = {
    {"", "'[' or '{' expected near end of file (line 1, column 0)"},
    {"{\"defaultAction\":", "unexpected token near end of file"},
    {"[]", "expected a JSON object, not array"},
    {"{\"defaultAction\":5}", "defaultAction: expected a string, not number"},
    {"{\"defaultAction\":\"SCMP_ACT_FOO\"}", "defaultAction: unknown action \"SCMP_ACT_FOO\""},
    {"{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}", "defaultAction: SCMP_ACT_NOTIFY is not supported"},
    {"{\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"}]}",
     "defaultAction: missing"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":-1}",
     "defaultErrnoRet: expected an integer from 0 to 65535"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":{}}",
     "syscalls: expected a list, not object"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[3]}",
     "syscalls[0]: expected an object, not number"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"]}]}",
     "syscalls[0]: action: missing"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{},{\"names\":[\"read\"],\"action\":"
     "\"NOPE\"}]}",
     "syscalls[0]: action: missing"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":\"read\",\"action\":"
     "\"SCMP_ACT_ALLOW\"}]}",
     "syscalls[0]: names: expected a list of strings, not string"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
     "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
     "syscalls[0]: args[0]: index: expected an integer from 0 to 5"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
     "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_FOO\"}]}]}",
     "syscalls[0]: args[0]: op: unknown operator \"SCMP_CMP_FOO\""},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
     "\"SCMP_ACT_ALLOW\",\"includes\":{\"minKernel\":\"4\"}}]}",
     "syscalls[0]: includes: minKernel: invalid kernel version: \"4\", expected "
     "\"<kernel>.<major>\""},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
     "\"SCMP_ACT_ALLOW\",\"excludes\":{\"minKernel\":\"4.8.1\"}}]}",
     "syscalls[0]: excludes: minKernel: invalid kernel version: \"4.8.1\""},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
     "\"SCMP_ACT_ALLOW\",\"includes\":{\"minKernel\":\"0.0\"}}]}",
     "invalid kernel version: \"0.0\""},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
     "\"SCMP_ACT_ALLOW\",\"includes\":{\"minKernel\":\"4. 8\"}}]}",
     "invalid kernel version: \"4. 8\""},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[null]}",
     "syscalls[0]: expected an object, not null"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"name\":\"read\",\"names\":[\"write\"],"
     "\"action\":\"SCMP_ACT_ALLOW\"}]}",
     "syscalls[0]: both 'name' and 'names' are specified in the seccomp profile, use either "
     "'name' or 'names'"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\"],\"archMap\":"
     "[{\"architecture\":\"SCMP_ARCH_X86_64\"}]}",
     "both 'architectures' and 'archMap' are specified in the seccomp profile, use either "
     "'architectures' or 'archMap'"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_FOO\"]}",
     "architectures: unknown architecture \"SCMP_ARCH_FOO\""},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"archMap\":[7]}",
     "archMap[0]: expected an object, not number"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"flags\":[\"SECCOMP_FILTER_FLAG_NEW_LISTENER\"]}",
     "flags: seccomp flag SECCOMP_FILTER_FLAG_NEW_LISTENER is not supported"},
};

static void test_json_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad_profiles); i++) {
        struct seccomp_prog *p = NULL;
        _cleanup_err_ struct berth_err *err = NULL;
        int r = seccomp_compile(bad_profiles[i].json, NULL, &p, &err);
        if (r >= 0 || !err)
            fail_msg("accepted: %s", bad_profiles[i].json);
        assert_null(p);
        assert_int_equal(err->status, EINVAL);
        const char *prefix = "Decoding seccomp profile failed: ";
        if (strncmp(err->msg, prefix, strlen(prefix)) != 0 ||
            !strstr(err->msg, bad_profiles[i].msg))
            fail_msg("%s\n  got: %s\n want: %s", bad_profiles[i].json, err->msg,
                     bad_profiles[i].msg);
    }
}

/* ---- installed on this kernel, in forked children ---- */

enum probe {
    P_GETPID,
    P_WRITE,
    P_KEYCTL,
    P_UNSHARE_USER,
    P_MOUNT,
    P_CLONE3,
    P_PERS_QUERY,
    P_SOCK_UNIX,
    P_SOCK_VSOCK,
    P_GETCWD,
    P_NEWER_SYSCALL,
    P_UNKNOWN_OLD,
    P_SECCOMP_MODE,
    P_PERS_BSD, /* last: it changes the child's personality when allowed */
    N_PROBES,
};

struct result {
    long ret;
    int err;
};

static long probe(enum probe p, int out)
{
    char buf[64];
    switch (p) {
    case P_GETPID:
        return getpid();
    case P_WRITE:
        return write(out, "", 0);
    case P_KEYCTL:
        return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
    case P_UNSHARE_USER:
        return unshare(CLONE_NEWUSER);
    case P_MOUNT: /* a target that does not exist: ENOENT if the call gets through */
        return mount("none", "/nonexistent-berth-seccomp-test", "tmpfs", 0, NULL);
    case P_CLONE3: /* no arguments: EINVAL if the call gets through */
        return syscall(435 /* clone3 */, NULL, 0);
    case P_PERS_QUERY:
        return personality(0xffffffff);
    case P_SOCK_UNIX:
        return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    case P_SOCK_VSOCK:
        return socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    case P_GETCWD:
        return syscall(SYS_getcwd, buf, sizeof(buf));
    case P_NEWER_SYSCALL: /* listmount: newer than this libseccomp, hence than the profile */
        return syscall(458, NULL, 0, NULL, 0);
    case P_UNKNOWN_OLD: /* afs_syscall (x86_64): old, never implemented, not in the profile */
#ifdef SYS_afs_syscall
        return syscall(SYS_afs_syscall);
#else
        return errno = EPERM, -1;
#endif
    case P_SECCOMP_MODE: {
        int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        char st[4096];
        ssize_t n = fd < 0 ? -1 : read(fd, st, sizeof(st) - 1);
        st[n > 0 ? n : 0] = '\0';
        const char *m = strstr(st, "\nSeccomp:\t");
        return m ? atol(m + 10) : -1;
    }
    case P_PERS_BSD:
        return personality(PER_BSD);
    default:
        return -1;
    }
}

/* Installs the program with no_new_privs in a child, runs every probe, and returns the
 * results; *sig is the signal that killed the child, or 0. */
static void run_probes(const struct seccomp_prog *prog, struct result *res, int *sig)
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct result r[N_PROBES];
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_install(prog) < 0)
            _exit(2);
        for (int i = 0; i < N_PROBES; i++) {
            errno = 0;
            r[i].ret = probe(i, p[1]);
            r[i].err = r[i].ret < 0 ? errno : 0;
        }
        _exit(write(p[1], r, sizeof(r)) == sizeof(r) ? 0 : 3);
    }
    close(p[1]);
    ssize_t n = read(p[0], res, N_PROBES * sizeof(*res));
    close(p[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    *sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    if (!*sig) {
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_int_equal(n, N_PROBES * sizeof(*res));
    }
}

static const char *const probe_names[] = {
    "getpid",
    "write",
    "keyctl",
    "unshare(CLONE_NEWUSER)",
    "mount",
    "clone3",
    "personality(query)",
    "socket(AF_UNIX)",
    "socket(AF_VSOCK)",
    "getcwd",
    "listmount",
    "afs_syscall",
    "Seccomp mode",
    "personality(PER_BSD)",
};

/* want_err 0: the call succeeded (returned >= 0). */
static void expect(const struct result *r, enum probe p, int want_err)
{
    if (want_err == 0 && r[p].ret < 0)
        fail_msg("%s failed: %s", probe_names[p], strerror(r[p].err));
    if (want_err && (r[p].ret >= 0 || r[p].err != want_err))
        fail_msg("%s: got %ld (%s), want %s", probe_names[p], r[p].ret, strerror(r[p].err),
                 strerror(want_err));
}

static void test_installed_default(void **state)
{
    (void)state;
    struct seccomp_prog *prog = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    struct caps caps = {.bounding = docker_default, .effective = docker_default};
    if (seccomp_compile(NULL, &caps, &prog, &err) < 0)
        fail_msg("%s", err->msg);
    struct result r[N_PROBES];
    int sig;
    run_probes(prog, r, &sig);
    seccomp_prog_free(prog);
    assert_int_equal(sig, 0);
    expect(r, P_GETPID, 0);
    expect(r, P_WRITE, 0);
    expect(r, P_GETCWD, 0);
    expect(r, P_PERS_QUERY, 0);
    expect(r, P_SOCK_UNIX, 0);
    expect(r, P_KEYCTL, EPERM);
    expect(r, P_UNSHARE_USER, EPERM);
    expect(r, P_MOUNT, EPERM);
    expect(r, P_CLONE3, ENOSYS);
    expect(r, P_SOCK_VSOCK, EPERM);
    expect(r, P_PERS_BSD, EPERM);
    expect(r, P_NEWER_SYSCALL, ENOSYS);
    expect(r, P_UNKNOWN_OLD, EPERM);
    assert_int_equal(r[P_SECCOMP_MODE].ret, 2);
}

static void test_installed_default_sys_admin(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip(); /* unshare and mount would fail for want of the real capability */
    struct seccomp_prog *prog = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    struct caps caps = {.bounding = docker_default | BIT(CAP_SYS_ADMIN)};
    if (seccomp_compile(NULL, &caps, &prog, &err) < 0)
        fail_msg("%s", err->msg);
    struct result r[N_PROBES];
    int sig;
    run_probes(prog, r, &sig);
    seccomp_prog_free(prog);
    assert_int_equal(sig, 0);
    expect(r, P_UNSHARE_USER, 0);
    expect(r, P_MOUNT, ENOENT);
    expect(r, P_CLONE3, EINVAL);
    expect(r, P_KEYCTL, EPERM);
}

static void test_installed_custom(void **state)
{
    (void)state;
    struct seccomp_prog *prog = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    const char *json = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                       "{\"names\":[\"getcwd\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13},"
                       "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":22,"
                       "\"args\":[{\"index\":0,\"value\":6,\"op\":\"SCMP_CMP_EQ\"}]}]}";
    if (seccomp_compile(json, NULL, &prog, &err) < 0)
        fail_msg("%s", err->msg);
    struct result r[N_PROBES];
    int sig;
    run_probes(prog, r, &sig);
    seccomp_prog_free(prog);
    assert_int_equal(sig, 0);
    expect(r, P_GETCWD, EACCES);
    expect(r, P_PERS_BSD, EINVAL);
    expect(r, P_PERS_QUERY, 0);
    expect(r, P_GETPID, 0);
    expect(r, P_MOUNT, geteuid() == 0 ? ENOENT : EPERM); /* the kernel's answer, not the filter's */
    expect(r, P_CLONE3, EINVAL);
    assert_int_equal(r[P_SECCOMP_MODE].ret, 2);

    json = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],"
           "\"action\":\"SCMP_ACT_KILL_PROCESS\"}]}";
    if (seccomp_compile(json, NULL, &prog, &err) < 0)
        fail_msg("%s", err->msg);
    run_probes(prog, r, &sig);
    seccomp_prog_free(prog);
    assert_int_equal(sig, SIGSYS);
}

/* Docker does not set no_new_privs by default: the filter then goes in while the child still
 * has CAP_SYS_ADMIN, and what the start code does afterwards (user switch, capabilities,
 * execve) has to pass the default filter. */
static void test_installed_before_caps(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    struct seccomp_prog *prog = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    struct caps caps = {.bounding = docker_default};
    if (seccomp_compile(NULL, &caps, &prog, &err) < 0)
        fail_msg("%s", err->msg);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (seccomp_install(prog) < 0)
            _exit(10);
        if (caps_keep_across_setuid(true) < 0 || setgroups(0, NULL) < 0 ||
            setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
            _exit(11);
        if (caps_apply(&caps) < 0)
            _exit(12);
        execl("/bin/true", "true", (char *)NULL);
        _exit(13);
    }
    seccomp_prog_free(prog);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_allow_list_is_dockers),
        cmocka_unit_test(test_default_same_bpf_as_dockers),
        cmocka_unit_test(test_default_cache),
        cmocka_unit_test(test_default_decisions),
        cmocka_unit_test(test_enosys_stub),
        cmocka_unit_test(test_json_conditions),
        cmocka_unit_test(test_json_forms),
        cmocka_unit_test(test_json_flags_and_unconfined),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_installed_default),
        cmocka_unit_test(test_installed_default_sys_admin),
        cmocka_unit_test(test_installed_custom),
        cmocka_unit_test(test_installed_before_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
