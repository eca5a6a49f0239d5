/* exec/seccomp_json.c — reads a Docker-format seccomp profile (--security-opt seccomp=PATH) into
 * berth's in-memory profile, with dockerd's rules for archMap, includes/excludes and errors. */
#include <errno.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "exec/caps.h"
#include "exec/seccomp_profile.h"

/* What a JSON profile's rules point into: the parsed document (for the strings) and every
 * array made for it. */
struct owned {
    json_t *root;
    void **allocs;
    size_t n, cap;
};

static void *own(struct owned *o, size_t n, size_t size)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 16;
        o->allocs = xrealloc(o->allocs, o->cap * sizeof(*o->allocs));
    }
    return o->allocs[o->n++] = xcalloc(n ? n : 1, size);
}

void seccomp_profile_release(struct seccomp_profile *p)
{
    struct owned *o = p->_owned;
    if (!o)
        return;
    for (size_t i = 0; i < o->n; i++)
        free(o->allocs[i]);
    free(o->allocs);
    json_decref(o->root);
    free(o);
    p->_owned = NULL;
}

static int fail(struct berth_err **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct berth_err **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    return berth_user_error(err, EINVAL, "%s", msg);
}

/* Go's encoding/json matches keys case-insensitively and reads null as absent; so does this. */
static json_t *field(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)obj, k, e)
        {
            if (strcasecmp(k, key) == 0) {
                v = e;
                break;
            }
        }
    }
    return json_is_null(v) ? NULL : v;
}

static const char *type_name(const json_t *v)
{
    static const char *const names[] = {"object", "array", "string", "number",
                                        "number", "bool",  "bool",   "null"};
    return names[json_typeof(v)];
}

static int get_string(const json_t *obj, const char *key, const char **out, struct berth_err **err)
{
    json_t *v = field(obj, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v))
        return fail(err, "%s: expected a string, not %s", key, type_name(v));
    *out = json_string_value(v);
    return 0;
}

static int get_uint(const json_t *obj, const char *key, uint64_t max, bool *present, uint64_t *out,
                    struct berth_err **err)
{
    json_t *v = field(obj, key);
    *present = v != NULL;
    *out = 0;
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return fail(err, "%s: expected an integer from 0 to %llu", key, (unsigned long long)max);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* A list of strings as a NULL-terminated array into the document; NULL when absent. */
static int get_strings(const json_t *obj, const char *key, struct owned *o, const char *const **out,
                       struct berth_err **err)
{
    json_t *v = field(obj, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_array(v))
        return fail(err, "%s: expected a list of strings, not %s", key, type_name(v));
    const char **list = own(o, json_array_size(v) + 1, sizeof(*list));
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e))
            return fail(err, "%s[%zu]: expected a string, not %s", key, i, type_name(e));
        list[i] = json_string_value(e);
    }
    *out = list;
    return 0;
}

static const struct {
    const char *name;
    uint32_t token; /* 0: this libseccomp does not know it */
} arch_names[] = {
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
#ifdef SCMP_ARCH_LOONGARCH64
    {"SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64},
#else
    {"SCMP_ARCH_LOONGARCH64", 0},
#endif
#ifdef SCMP_ARCH_M68K
    {"SCMP_ARCH_M68K", SCMP_ARCH_M68K},
#else
    {"SCMP_ARCH_M68K", 0},
#endif
};

/* -1 for a name nobody knows, 0 for one this libseccomp cannot build filters for. */
static int64_t arch_token(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(arch_names); i++)
        if (strcmp(arch_names[i].name, name) == 0)
            return arch_names[i].token;
    return -1;
}

/* runc refuses an architecture it cannot name; one only a newer libseccomp knows is left out,
 * since it cannot be the arch this engine runs on. */
static int parse_architectures(const json_t *root, struct owned *o, struct seccomp_profile *p,
                               struct berth_err **err)
{
    const char *const *list;
    int r = get_strings(root, "architectures", o, &list, err);
    if (r < 0)
        return r;
    for (; list && *list; list++) {
        int64_t tok = arch_token(*list);
        if (tok < 0)
            return fail(err, "architectures: unknown architecture \"%s\"", *list);
        if (tok == 0)
            log_debug("seccomp: architecture %s unknown to libseccomp, left out", *list);
        else if (p->n_arches < SECCOMP_MAX_ARCHES)
            p->arches[p->n_arches++] = (uint32_t)tok;
    }
    return 0;
}

/* Only the target's entry matters, so names that no libseccomp knows are not errors here
 * (moby decodes any string). */
static int parse_arch_entry(const json_t *e, struct owned *o, struct seccomp_arch_map *m,
                            struct berth_err **err)
{
    const char *arch, *const *subs;
    if (!json_is_object(e))
        return fail(err, "expected an object, not %s", type_name(e));
    int r = get_string(e, "architecture", &arch, err);
    if (r < 0)
        return r;
    if ((r = get_strings(e, "subArchitectures", o, &subs, err)) < 0)
        return r;
    int64_t tok = arch ? arch_token(arch) : -1;
    m->arch = tok > 0 ? (uint32_t)tok : 0;
    for (size_t s = 0; subs && subs[s]; s++) {
        if (s >= ARRAY_SIZE(m->sub))
            return fail(err, "subArchitectures: more than %zu", s);
        tok = arch_token(subs[s]);
        m->sub[s] = tok > 0 ? (uint32_t)tok : 0;
    }
    return 0;
}

static int parse_arch_map(const json_t *root, const struct seccomp_target *t, struct owned *o,
                          struct seccomp_profile *p, struct berth_err **err)
{
    json_t *map = field(root, "archMap"), *e;
    if (!map)
        return 0;
    if (!json_is_array(map))
        return fail(err, "archMap: expected a list, not %s", type_name(map));
    struct seccomp_arch_map *m = own(o, json_array_size(map), sizeof(*m));
    size_t i;
    json_array_foreach(map, i, e)
    {
        int r = parse_arch_entry(e, o, &m[i], err);
        if (r < 0)
            return berth_error_wrap(err, "archMap[%zu]", i);
    }
    seccomp_profile_pick_arches(p, t, m, json_array_size(map));
    return 0;
}

/* runc's flags: TSYNC means nothing for the single-threaded child; LOG and SPEC_ALLOW go to
 * seccomp(2). */
static int parse_flags(const json_t *root, struct owned *o, struct seccomp_profile *p,
                       struct berth_err **err)
{
    const char *const *list;
    int r = get_strings(root, "flags", o, &list, err);
    if (r < 0)
        return r;
    for (; list && *list; list++) {
        if (strcmp(*list, "SECCOMP_FILTER_FLAG_LOG") == 0)
            p->flags |= SECCOMP_FILTER_FLAG_LOG;
        else if (strcmp(*list, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
            p->flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
        else if (strcmp(*list, "SECCOMP_FILTER_FLAG_TSYNC") != 0)
            return fail(err, "flags: seccomp flag %s is not supported", *list);
    }
    return 0;
}

/* runc's mapping: KILL is KILL_THREAD; ERRNO and TRACE take errnoRet, EPERM when absent. */
static int parse_action(const json_t *obj, const char *key, const char *errno_key, uint32_t *out,
                        struct berth_err **err)
{
    const char *name;
    uint64_t ret;
    bool has_ret;
    int r = get_string(obj, key, &name, err);
    if (r < 0)
        return r;
    if ((r = get_uint(obj, errno_key, 0xffff, &has_ret, &ret, err)) < 0)
        return r;
    uint32_t data = has_ret ? (uint32_t)ret : EPERM;
    if (!name || !*name)
        return fail(err, "%s: missing", key);
    if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
        *out = SCMP_ACT_KILL_THREAD;
    else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
        *out = SCMP_ACT_KILL_PROCESS;
    else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
        *out = SCMP_ACT_TRAP;
    else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
        *out = SCMP_ACT_ERRNO(data);
    else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
        *out = SCMP_ACT_TRACE(data);
    else if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
        *out = SCMP_ACT_ALLOW;
    else if (strcmp(name, "SCMP_ACT_LOG") == 0)
        *out = SCMP_ACT_LOG;
    else if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
        return fail(err, "%s: SCMP_ACT_NOTIFY is not supported", key);
    else
        return fail(err, "%s: unknown action \"%s\"", key, name);
    return 0;
}

static const struct {
    const char *name;
    enum scmp_compare op;
} ops[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

/* value and valueTwo are uint64 in Docker; jansson stops at INT64_MAX, which no argument
 * comparison in a real profile comes near. */
static int parse_arg(const json_t *a, struct seccomp_arg *out, struct berth_err **err)
{
    uint64_t index;
    bool has;
    const char *op;
    if (!json_is_object(a))
        return fail(err, "expected an object, not %s", type_name(a));
    int r = get_uint(a, "index", 5, &has, &index, err);
    if (r < 0)
        return r;
    if ((r = get_uint(a, "value", INT64_MAX, &has, &out->value, err)) < 0)
        return r;
    if ((r = get_uint(a, "valueTwo", INT64_MAX, &has, &out->value_two, err)) < 0)
        return r;
    if ((r = get_string(a, "op", &op, err)) < 0)
        return r;
    out->index = (unsigned)index;
    for (size_t i = 0; op && i < ARRAY_SIZE(ops); i++)
        if (strcmp(ops[i].name, op) == 0) {
            out->op = ops[i].op;
            return 0;
        }
    return fail(err, "op: unknown operator \"%s\"", op ? op : "");
}

/* moby's KernelVersion: "<kernel>.<major>", each 0-255, not both 0; "" means none. */
static int parse_min_kernel(const json_t *c, unsigned out[2], struct berth_err **err)
{
    const char *v;
    int r = get_string(c, "minKernel", &v, err);
    if (r < 0 || !v || !*v)
        return r;
    unsigned k, m;
    int used = 0;
    if (strspn(v, "0123456789.") != strlen(v) || sscanf(v, "%3u.%3u%n", &k, &m, &used) != 2 ||
        v[used] || k > 255 || m > 255 || (k == 0 && m == 0))
        return fail(err, "minKernel: invalid kernel version: \"%s\", expected \"<kernel>.<major>\"",
                    v);
    out[0] = k;
    out[1] = m;
    return 0;
}

/* Capabilities are matched by exact name, as moby's slices.Contains on the bounding set. */
static int parse_cond(const json_t *c, struct owned *o, struct seccomp_cond *out,
                      struct berth_err **err)
{
    const char *const *caps;
    if (!json_is_object(c))
        return fail(err, "expected an object, not %s", type_name(c));
    int r = get_strings(c, "caps", o, &caps, err);
    if (r < 0)
        return r;
    if ((r = get_strings(c, "arches", o, &out->arches, err)) < 0)
        return r;
    if ((r = parse_min_kernel(c, out->min_kernel, err)) < 0)
        return r;
    for (; caps && *caps; caps++) {
        int cap = caps_from_name(*caps);
        if (cap < 0 || cap > 63)
            out->caps_unknown = true;
        else
            out->caps |= UINT64_C(1) << cap;
    }
    if (out->arches && !*out->arches)
        out->arches = NULL; /* an empty list does not constrain */
    return 0;
}

static int parse_names(const json_t *s, struct owned *o, struct seccomp_rule *rule,
                       struct berth_err **err)
{
    const char *name;
    int r = get_string(s, "name", &name, err);
    if (r < 0)
        return r;
    if ((r = get_strings(s, "names", o, &rule->names, err)) < 0)
        return r;
    if (name && *name) {
        if (rule->names && *rule->names)
            return fail(err, "both 'name' and 'names' are specified in the seccomp profile, use "
                             "either 'name' or 'names'");
        const char **one = own(o, 2, sizeof(*one));
        one[0] = name;
        rule->names = one;
    }
    if (!rule->names)
        rule->names = own(o, 1, sizeof(*rule->names));
    return 0;
}

static int parse_args(const json_t *s, struct owned *o, struct seccomp_rule *rule,
                      struct berth_err **err)
{
    json_t *args = field(s, "args"), *a;
    if (!args)
        return 0;
    if (!json_is_array(args))
        return fail(err, "args: expected a list, not %s", type_name(args));
    struct seccomp_arg *list = own(o, json_array_size(args), sizeof(*list));
    size_t i;
    json_array_foreach(args, i, a)
    {
        int r = parse_arg(a, &list[i], err);
        if (r < 0)
            return berth_error_wrap(err, "args[%zu]", i);
    }
    rule->args = list;
    rule->n_args = json_array_size(args);
    return 0;
}

static int parse_syscall(const json_t *s, struct owned *o, struct seccomp_rule *rule,
                         struct berth_err **err)
{
    json_t *in, *ex;
    if (!json_is_object(s))
        return fail(err, "expected an object, not %s", type_name(s));
    int r = parse_names(s, o, rule, err);
    if (r < 0)
        return r;
    if ((r = parse_action(s, "action", "errnoRet", &rule->action, err)) < 0)
        return r;
    if ((r = parse_args(s, o, rule, err)) < 0)
        return r;
    if ((in = field(s, "includes")) && parse_cond(in, o, &rule->includes, err) < 0)
        return berth_error_wrap(err, "includes");
    if ((ex = field(s, "excludes")) && parse_cond(ex, o, &rule->excludes, err) < 0)
        return berth_error_wrap(err, "excludes");
    return 0;
}

static int parse_syscalls(const json_t *root, struct owned *o, struct seccomp_profile *p,
                          struct berth_err **err)
{
    json_t *list = field(root, "syscalls"), *s;
    if (!list)
        return 0;
    if (!json_is_array(list))
        return fail(err, "syscalls: expected a list, not %s", type_name(list));
    struct seccomp_rule *rules = own(o, json_array_size(list), sizeof(*rules));
    size_t i;
    json_array_foreach(list, i, s)
    {
        int r = parse_syscall(s, o, &rules[i], err);
        if (r < 0)
            return berth_error_wrap(err, "syscalls[%zu]", i);
    }
    p->rules = rules;
    p->n_rules = json_array_size(list);
    return 0;
}

static int parse_profile(const json_t *root, const struct seccomp_target *t, struct owned *o,
                         struct seccomp_profile *p, struct berth_err **err)
{
    json_t *arches = field(root, "architectures"), *map = field(root, "archMap");
    const char *def;
    int r = get_string(root, "defaultAction", &def, err);
    if (r < 0)
        return r;
    if ((r = parse_syscalls(root, o, p, err)) < 0)
        return r;
    if ((!def || !*def) && p->n_rules == 0) {
        p->unconfined = true; /* moby: no default action and no syscalls, seccomp disabled */
        return 0;
    }
    if (json_array_size(arches) && json_array_size(map))
        return fail(err, "both 'architectures' and 'archMap' are specified in the seccomp "
                         "profile, use either 'architectures' or 'archMap'");
    r = parse_action(root, "defaultAction", "defaultErrnoRet", &p->default_action, err);
    if (r < 0)
        return r;
    if ((r = parse_architectures(root, o, p, err)) < 0)
        return r;
    if ((r = parse_arch_map(root, t, o, p, err)) < 0)
        return r;
    return parse_flags(root, o, p, err);
}

int seccomp_profile_from_json(const char *text, const struct seccomp_target *t,
                              struct seccomp_profile *out, struct berth_err **err)
{
    json_error_t jerr;
    *out = (struct seccomp_profile){0};
    json_t *root = json_loads(text, 0, &jerr);
    int r;
    if (!root) {
        r = fail(err, "%s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
    } else {
        struct owned *o = xcalloc(1, sizeof(*o));
        o->root = root;
        out->_owned = o;
        r = json_is_object(root) ? parse_profile(root, t, o, out, err)
                                 : fail(err, "expected a JSON object, not %s", type_name(root));
    }
    return r < 0 ? berth_error_wrap(err, "Decoding seccomp profile failed") : 0;
}
