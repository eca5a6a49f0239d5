/* exec/seccomp.c — turns a seccomp profile (berth's default or a Docker JSON one) into a BPF
 * program with libseccomp in the engine, and installs the finished program in the child. */
#include "exec/seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "exec/seccomp_profile.h"

#define X32_SYSCALL_BIT 0x40000000u
#define RET_ENOSYS      (SECCOMP_RET_ERRNO | ENOSYS)

/* Docker's name for the arch this binary runs on, as in includes/excludes "arches" (Go's
 * GOARCH mapped through moby/profiles' goToNative). */
static const char *native_go_arch(void)
{
#if defined(__x86_64__)
    return "amd64";
#elif defined(__i386__)
    return "x86";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__arm__)
    return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return "ppc64le";
#elif defined(__powerpc64__)
    return "ppc64";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#elif defined(__loongarch64)
    return "loongarch64";
#else
    return "";
#endif
}

void seccomp_target_native(struct seccomp_target *t)
{
    struct utsname u;
    *t = (struct seccomp_target){.arch = seccomp_arch_native(), .go_arch = native_go_arch()};
    if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &t->kernel[0], &t->kernel[1]) != 2)
        t->kernel[0] = t->kernel[1] = 0;
}

void seccomp_profile_pick_arches(struct seccomp_profile *p, const struct seccomp_target *t,
                                 const struct seccomp_arch_map *map, size_t n_map)
{
    for (size_t i = 0; i < n_map; i++) {
        if (map[i].arch != t->arch)
            continue;
        p->arches[p->n_arches++] = map[i].arch;
        for (size_t s = 0; s < ARRAY_SIZE(map[i].sub); s++)
            if (map[i].sub[s] && p->n_arches < SECCOMP_MAX_ARCHES)
                p->arches[p->n_arches++] = map[i].sub[s];
        return; /* moby uses the first entry for the native arch */
    }
}

static bool has_arch(const char *const *arches, const char *go_arch)
{
    for (; *arches; arches++)
        if (strcmp(*arches, go_arch) == 0)
            return true;
    return false;
}

static bool kernel_at_least(const struct seccomp_target *t, const unsigned v[2])
{
    return t->kernel[0] != v[0] ? t->kernel[0] > v[0] : t->kernel[1] >= v[1];
}

bool seccomp_rule_applies(const struct seccomp_rule *r, const struct seccomp_target *t,
                          uint64_t bounding)
{
    const struct seccomp_cond *ex = &r->excludes, *in = &r->includes;
    bool ex_kernel = ex->min_kernel[0] || ex->min_kernel[1];
    bool in_kernel = in->min_kernel[0] || in->min_kernel[1];
    if (ex->arches && has_arch(ex->arches, t->go_arch))
        return false;
    if (bounding & ex->caps) /* any one of the excluded caps excludes */
        return false;
    if (ex_kernel && kernel_at_least(t, ex->min_kernel))
        return false;
    if (in->arches && !has_arch(in->arches, t->go_arch))
        return false;
    if (in->caps_unknown || (bounding & in->caps) != in->caps)
        return false;
    if (in_kernel && !kernel_at_least(t, in->min_kernel))
        return false;
    return true;
}

/* The highest syscall number the profile names on each of the filter's arches: syscalls above
 * it are newer than the profile and get ENOSYS instead of the default action (see
 * wants_enosys_stub). */
struct arch_max {
    uint32_t arch;
    int64_t max; /* -1: the profile names nothing there */
};

struct build {
    scmp_filter_ctx ctx;
    struct arch_max maxes[SECCOMP_MAX_ARCHES + 1];
    size_t n_maxes;
    size_t n_skipped;
    const char *first_skipped;
};

static void build_release(struct build *b)
{
    if (b->ctx)
        seccomp_release(b->ctx);
}

static int add_arch(struct build *b, uint32_t arch, struct berth_err **err)
{
    for (size_t i = 0; i < b->n_maxes; i++)
        if (b->maxes[i].arch == arch)
            return 0;
    int r = seccomp_arch_add(b->ctx, arch);
    if (r < 0 && r != -EEXIST)
        return berth_error(err, -r, "add architecture %#x to the seccomp filter", arch);
    b->maxes[b->n_maxes++] = (struct arch_max){.arch = arch, .max = -1};
    return 0;
}

static int build_start(struct build *b, const struct seccomp_profile *p,
                       const struct seccomp_target *t, struct berth_err **err)
{
    b->ctx = seccomp_init(p->default_action);
    if (!b->ctx)
        return berth_error(err, EINVAL, "seccomp: invalid default action %#x", p->default_action);
    if (t->arch != seccomp_arch_native()) { /* tests build filters for other arches */
        int r = seccomp_arch_add(b->ctx, t->arch);
        if (r < 0)
            return berth_error(err, -r, "add architecture %#x to the seccomp filter", t->arch);
        seccomp_arch_remove(b->ctx, SCMP_ARCH_NATIVE);
    }
    b->maxes[b->n_maxes++] = (struct arch_max){.arch = t->arch, .max = -1};
    for (size_t i = 0; i < p->n_arches; i++) {
        int r = add_arch(b, p->arches[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

static void track_max(struct build *b, const char *name)
{
    for (size_t i = 0; i < b->n_maxes; i++) {
        int nr = seccomp_syscall_resolve_name_arch(b->maxes[i].arch, name);
        if (nr >= 0 && nr > b->maxes[i].max)
            b->maxes[i].max = nr;
    }
}

/* As runc: the conditions go into one rule (all must hold) unless two compare the same
 * argument, which libseccomp cannot express in one rule; then each becomes its own rule. */
static int add_syscall(struct build *b, const struct seccomp_rule *rule, int nr, const char *name,
                       struct berth_err **err)
{
    struct scmp_arg_cmp cmp[6];
    bool seen[6] = {false}, repeated = false;
    for (size_t i = 0; i < rule->n_args && !repeated; i++) {
        repeated = seen[rule->args[i].index];
        seen[rule->args[i].index] = true;
    }
    size_t per_rule = repeated ? 1 : rule->n_args;
    size_t i = 0;
    do {
        size_t n = 0;
        for (; n < per_rule && i < rule->n_args; n++, i++) {
            const struct seccomp_arg *a = &rule->args[i];
            cmp[n] = (struct scmp_arg_cmp){a->index, a->op, a->value, a->value_two};
        }
        int r = seccomp_rule_add_array(b->ctx, rule->action, nr, (unsigned)n, cmp);
        if (r < 0 && nr < 0 && (r == -EFAULT || r == -EDOM))
            return 0; /* a pseudo number: the syscall exists on none of the filter's arches */
        if (r < 0)
            return berth_error(err, -r, "seccomp rule for `%s`", name);
    } while (i < rule->n_args);
    return 0;
}

/* Unknown names are skipped as runc does: a profile may name syscalls newer than this
 * libseccomp. A rule whose action is the default adds nothing (libseccomp refuses it).
 * libseccomp takes numbers as the host's and translates them for each arch of the filter. */
static int add_rule(struct build *b, const struct seccomp_profile *p,
                    const struct seccomp_rule *rule, struct berth_err **err)
{
    for (const char *const *name = rule->names; *name; name++) {
        int nr = seccomp_syscall_resolve_name(*name);
        if (nr == __NR_SCMP_ERROR) {
            if (!b->n_skipped++)
                b->first_skipped = *name;
            continue;
        }
        track_max(b, *name);
        if (rule->action == p->default_action)
            continue;
        int r = add_syscall(b, rule, nr, *name, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int export_bpf(scmp_filter_ctx ctx, struct sock_filter **out, size_t *n,
                      struct berth_err **err)
{
    _cleanup_close_ int fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
    if (fd < 0)
        return berth_error(err, errno, "seccomp: memfd_create");
    int r = seccomp_export_bpf(ctx, fd);
    if (r < 0)
        return berth_error(err, -r, "seccomp: export the BPF program");
    off_t size = lseek(fd, 0, SEEK_END);
    if (size <= 0 || size % sizeof(struct sock_filter))
        return berth_error(err, EINVAL, "seccomp: exported program has %lld bytes",
                           (long long)size);
    _cleanup_free_ struct sock_filter *f = xmalloc((size_t)size);
    for (off_t off = 0; off < size;) {
        ssize_t got = pread(fd, (char *)f + off, (size_t)(size - off), off);
        if (got <= 0)
            return berth_error(err, got < 0 ? errno : EIO, "seccomp: read the BPF program");
        off += got;
    }
    *n = (size_t)size / sizeof(struct sock_filter);
    *out = take_ptr(f);
    return 0;
}

/* The arches a filter covers, grouped as the kernel reports them (seccomp_data.arch): x32
 * shares AUDIT_ARCH_X86_64 and sets X32_SYSCALL_BIT in the syscall number. */
struct stub_arch {
    uint32_t audit;
    int64_t max, max_x32; /* -1: the profile names nothing there */
};

static size_t stub_arches(const struct build *b, struct stub_arch *out)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n_maxes; i++) {
        bool x32 = b->maxes[i].arch == SCMP_ARCH_X32;
        uint32_t audit = x32 ? AUDIT_ARCH_X86_64 : b->maxes[i].arch;
        size_t j = 0;
        while (j < n && out[j].audit != audit)
            j++;
        if (j == n)
            out[n++] = (struct stub_arch){.audit = audit, .max = -1, .max_x32 = -1};
        *(x32 ? &out[j].max_x32 : &out[j].max) = b->maxes[i].max;
    }
    return n;
}

#define STMT(code, k)         ((struct sock_filter)BPF_STMT(code, k))
#define JUMP(code, k, jt, jf) ((struct sock_filter)BPF_JUMP(code, k, jt, jf))
#define LOAD(field)           STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))

/* One arch's part of the stub: "if this arch and nr > max: return ENOSYS", else fall through
 * to the next part and finally to libseccomp's filter (which reloads what it needs). */
static size_t emit_arch(struct sock_filter *f, const struct stub_arch *a)
{
    bool x86 = a->audit == AUDIT_ARCH_X86_64;
    uint8_t len_a = a->max >= 0 ? 2 : 0, len_b = x86 && a->max_x32 >= 0 ? 2 : 0;
    uint8_t ja = len_a && len_b ? 1 : 0;
    size_t n = 0;
    if (!len_a && !len_b)
        return 0;
    f[n++] = LOAD(arch);
    f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, a->audit, 0, (x86 ? 2 : 1) + len_a + ja + len_b);
    f[n++] = LOAD(nr);
    if (x86) /* x32 numbers go to the x32 check, or straight to the filter if there is none */
        f[n++] = JUMP(BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT, len_a + ja, len_a ? 0 : len_b);
    if (len_a) {
        f[n++] = JUMP(BPF_JMP | BPF_JGT | BPF_K, (uint32_t)a->max, 0, 1);
        f[n++] = STMT(BPF_RET | BPF_K, RET_ENOSYS);
    }
    if (ja)
        f[n++] = STMT(BPF_JMP | BPF_JA, len_b);
    if (len_b) {
        f[n++] = JUMP(BPF_JMP | BPF_JGT | BPF_K, (uint32_t)a->max_x32, 0, 1);
        f[n++] = STMT(BPF_RET | BPF_K, RET_ENOSYS);
    }
    return n;
}

/* Docker's profile is an allow-list that ends in EPERM, but a syscall newer than the profile
 * must look missing (ENOSYS) so that libc falls back to an older one rather than failing. As
 * runc does, a stub before libseccomp's program returns ENOSYS above the highest number the
 * profile names on each arch. Allow-like defaults need no stub: new syscalls just run. */
static bool wants_enosys_stub(uint32_t default_action)
{
    uint32_t kind = default_action & SECCOMP_RET_ACTION_FULL;
    return kind != SCMP_ACT_ALLOW && kind != SCMP_ACT_LOG && kind != SCMP_ACT_TRACE(0);
}

static int finish_prog(const struct build *b, const struct seccomp_profile *p,
                       struct seccomp_prog **out, struct berth_err **err)
{
    _cleanup_free_ struct sock_filter *body = NULL;
    size_t n_body = 0, n_stub = 0;
    int r = export_bpf(b->ctx, &body, &n_body, err);
    if (r < 0)
        return r;
    struct stub_arch arches[SECCOMP_MAX_ARCHES + 1];
    size_t n_arches = wants_enosys_stub(p->default_action) ? stub_arches(b, arches) : 0;
    struct sock_filter *f = xmalloc((n_arches * 9 + n_body) * sizeof(*f));
    for (size_t i = 0; i < n_arches; i++)
        n_stub += emit_arch(f + n_stub, &arches[i]);
    memcpy(f + n_stub, body, n_body * sizeof(*f));
    struct seccomp_prog *prog = xmalloc(sizeof(*prog));
    prog->fprog = (struct sock_fprog){.len = (unsigned short)(n_stub + n_body), .filter = f};
    prog->flags = p->flags;
    if (n_stub + n_body > BPF_MAXINSNS) {
        seccomp_prog_free(prog);
        return berth_error(err, E2BIG, "seccomp: the filter has %zu instructions, over %d",
                           n_stub + n_body, BPF_MAXINSNS);
    }
    *out = prog;
    return 0;
}

static int compile_profile(const struct seccomp_profile *p, const struct seccomp_target *t,
                           uint64_t bounding, struct seccomp_prog **out, struct berth_err **err)
{
    _cleanup_(build_release) struct build b = {0};
    int r = build_start(&b, p, t, err);
    if (r < 0)
        return r;
    size_t n_names = 0;
    for (size_t i = 0; i < p->n_rules; i++)
        for (const char *const *name = p->rules[i].names; *name; name++)
            n_names++;
    /* libseccomp's binary search over syscalls, as runc enables it: a long allow-list otherwise
     * costs a linear scan on every syscall (and 2.5 misbehaves with it on empty filters). */
    if (n_names > 32 && seccomp_attr_set(b.ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0)
        log_debug("seccomp: binary tree optimization not available");
    for (size_t i = 0; i < p->n_rules; i++) {
        if (!seccomp_rule_applies(&p->rules[i], t, bounding))
            continue;
        r = add_rule(&b, p, &p->rules[i], err);
        if (r < 0)
            return r;
    }
    if (b.n_skipped)
        log_debug("seccomp: %zu syscall names unknown to libseccomp %u.%u skipped (first `%s`)",
                  b.n_skipped, SCMP_VER_MAJOR, SCMP_VER_MINOR, b.first_skipped);
    return finish_prog(&b, p, out, err);
}

/* Used by the tests to compile for another target than this host. */
static int compile_for(const char *json_profile, const struct seccomp_target *t,
                       const struct caps *caps, struct seccomp_prog **out, struct berth_err **err)
{
    _cleanup_(seccomp_profile_release) struct seccomp_profile p = {0};
    *out = NULL;
    if (json_profile) {
        int r = seccomp_profile_from_json(json_profile, t, &p, err);
        if (r < 0)
            return r;
    } else {
        seccomp_profile_default(t, &p);
    }
    if (p.unconfined)
        return 0;
    return compile_profile(&p, t, caps ? caps->bounding : 0, out, err);
}

static struct seccomp_prog *prog_dup(const struct seccomp_prog *p)
{
    struct seccomp_prog *d = xmalloc(sizeof(*d));
    size_t size = p->fprog.len * sizeof(*p->fprog.filter);
    *d = *p;
    d->fprog.filter = xmalloc(size);
    memcpy(d->fprog.filter, p->fprog.filter, size);
    return d;
}

/* The default profile's program depends only on the capabilities its rules name, and
 * libseccomp takes ~14 ms to build it (it copies its rule database for every rule added), so
 * programs are kept per combination of those capabilities. Few combinations occur in
 * practice; past CACHE_SLOTS the oldest is replaced. */
enum { CACHE_SLOTS = 8 };
static struct {
    pthread_mutex_t lock;
    struct {
        uint64_t key;
        struct seccomp_prog *prog;
    } slot[CACHE_SLOTS];
    unsigned next;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t default_cache_key(const struct seccomp_target *t, const struct caps *caps)
{
    struct seccomp_profile p;
    uint64_t named = 0;
    seccomp_profile_default(t, &p);
    for (size_t i = 0; i < p.n_rules; i++)
        named |= p.rules[i].includes.caps | p.rules[i].excludes.caps;
    return (caps ? caps->bounding : 0) & named;
}

static struct seccomp_prog *cache_get(uint64_t key)
{
    struct seccomp_prog *p = NULL;
    pthread_mutex_lock(&cache.lock);
    for (unsigned i = 0; i < CACHE_SLOTS && !p; i++)
        if (cache.slot[i].prog && cache.slot[i].key == key)
            p = prog_dup(cache.slot[i].prog);
    pthread_mutex_unlock(&cache.lock);
    return p;
}

static void cache_put(uint64_t key, const struct seccomp_prog *p)
{
    pthread_mutex_lock(&cache.lock);
    unsigned i = cache.next++ % CACHE_SLOTS;
    seccomp_prog_free(cache.slot[i].prog);
    cache.slot[i].key = key;
    cache.slot[i].prog = prog_dup(p);
    pthread_mutex_unlock(&cache.lock);
}

int seccomp_compile(const char *json_profile, const struct caps *caps, struct seccomp_prog **out,
                    struct berth_err **err)
{
    struct seccomp_target t;
    seccomp_target_native(&t);
    if (json_profile)
        return compile_for(json_profile, &t, caps, out, err);
    uint64_t key = default_cache_key(&t, caps);
    *out = cache_get(key);
    if (*out)
        return 0;
    int r = compile_for(NULL, &t, caps, out, err);
    if (r < 0)
        return r;
    cache_put(key, *out);
    return 0;
}

void seccomp_prog_free(struct seccomp_prog *p)
{
    if (!p)
        return;
    free(p->fprog.filter);
    free(p);
}

int seccomp_install(const struct seccomp_prog *p)
{
    if (!p)
        return 0;
    struct sock_fprog *fprog = (struct sock_fprog *)&p->fprog; /* the kernel only reads it */
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->flags, fprog) == 0)
        return 0;
    if (errno != ENOSYS || p->flags)
        return -errno;
    /* seccomp(2) came with 3.17; the prctl form has existed since 3.5 */
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, fprog, 0, 0) < 0 ? -errno : 0;
}
