/* exec/lsm.c — AppArmor profiles and SELinux labels for a container's process, as runc applies
 * them: the parent works out the exec attribute ("exec PROFILE" for AppArmor, the process
 * context for SELinux), the child writes it just before its exec. */
#include "exec/lsm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/xalloc.h"
#include "fs/atomic.h"

/* In the child's own /proc (after pivot_root): its attribute, whatever its pid there. */
#define APPARMOR_ATTR     "/proc/thread-self/attr/apparmor/exec"
#define APPARMOR_ATTR_OLD "/proc/thread-self/attr/exec" /* kernels before the LSM stacking dir */
#define SELINUX_ATTR      "/proc/thread-self/attr/exec"

static bool exists(const char *root, const char *path)
{
    _cleanup_free_ char *p = xasprintf("%s%s", root, path);
    return access(p, F_OK) == 0;
}

static char *read_text(const char *root, const char *path)
{
    _cleanup_free_ char *p = xasprintf("%s%s", root, path);
    char *data = NULL;
    size_t len;
    return fs_read_file(p, &data, &len, NULL) == 0 ? data : NULL;
}

/* The value of `key = value` (or key=value, quotes optional) in a config text. Heap or NULL. */
static char *config_value(const char *text, const char *key)
{
    size_t klen = strlen(key);
    for (const char *line = text; line && *line; line = strchr(line, '\n'), line += !!line) {
        line += strspn(line, " \t");
        if (strncmp(line, key, klen) != 0)
            continue;
        const char *v = line + klen + strspn(line + klen, " \t");
        if (*v != '=')
            continue;
        v += 1 + strspn(v + 1, " \t\"");
        size_t n = strcspn(v, "\"\n");
        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
            n--;
        return n ? xstrndup(v, n) : NULL;
    }
    return NULL;
}

/* The policy's context for container processes: process in SELINUXTYPE's lxc_contexts. */
static char *selinux_base(const char *root)
{
    _cleanup_free_ char *config = read_text(root, "/etc/selinux/config");
    _cleanup_free_ char *type = config ? config_value(config, "SELINUXTYPE") : NULL;
    if (!type || strchr(type, '/'))
        return NULL;
    _cleanup_free_ char *path = xasprintf("/etc/selinux/%s/contexts/lxc_contexts", type);
    _cleanup_free_ char *contexts = read_text(root, path);
    return contexts ? config_value(contexts, "process") : NULL;
}

void lsm_probe(const char *root, struct lsm_host *h)
{
    _cleanup_free_ char *enabled = read_text(root, "/sys/module/apparmor/parameters/enabled");
    *h = (struct lsm_host){
        .apparmor = exists(root, "/sys/kernel/security/apparmor") && enabled && enabled[0] == 'Y',
        .apparmor_dir = exists(root, "/proc/self/attr/apparmor/exec"),
        .selinux = exists(root, "/sys/fs/selinux/enforce"),
    };
    if (h->selinux)
        h->selinux_base = selinux_base(root);
}

void lsm_host_free(struct lsm_host *h)
{
    free(h->selinux_base);
    h->selinux_base = NULL;
}

/* An SELinux context user:role:type:level (the level may hold colons itself). */
struct context {
    char *part[4];
};

static bool context_parse(const char *s, struct context *c)
{
    const char *p = s;
    for (int i = 0; i < 3; i++) {
        const char *colon = strchr(p, ':');
        if (!colon) {
            for (int k = 0; k < i; k++) {
                free(c->part[k]);
                c->part[k] = NULL;
            }
            return false;
        }
        c->part[i] = xstrndup(p, (size_t)(colon - p));
        p = colon + 1;
    }
    c->part[3] = xstrdup(p);
    return true;
}

static void context_free(struct context *c)
{
    for (int i = 0; i < 4; i++)
        free(c->part[i]);
}

/* label options as go-selinux's InitLabels reads them: "disable" (no process label), or
 * user:, role:, type:, level: over the policy's container context. *label NULL: none to set. */
static int selinux_label(const struct lsm_opts *o, const struct lsm_host *h, char **label,
                         struct berth_err **err)
{
    static const char *const keys[] = {"user", "role", "type", "level"};
    _cleanup_(context_free) struct context c = {0};
    *label = NULL;
    if (!h->selinux_base || !context_parse(h->selinux_base, &c))
        return berth_user_error(err, EINVAL,
                                "--security-opt label=%s: the SELinux policy has no container "
                                "context (contexts/lxc_contexts)",
                                o->labels[0]);
    for (size_t i = 0; i < o->nlabels; i++) {
        const char *opt = o->labels[i], *colon = strchr(opt, ':');
        size_t klen = colon ? (size_t)(colon - opt) : 0;
        int k = -1;
        if (strcmp(opt, "disable") == 0) /* as go-selinux: wherever it comes, no label */
            return 0;
        for (int j = 0; colon && j < 4; j++)
            if (strlen(keys[j]) == klen && strncmp(opt, keys[j], klen) == 0)
                k = j;
        if (colon && klen == 8 && strncmp(opt, "filetype", 8) == 0)
            return berth_user_error(
                err, EINVAL, "--security-opt label=%s: mount labels are not supported yet", opt);
        if (k < 0)
            return berth_user_error(err, EINVAL,
                                    "bad label option \"%s\", valid options 'disable' or \n'user, "
                                    "role, level, type, filetype' followed by ':' and a value",
                                    opt);
        free(c.part[k]);
        c.part[k] = xstrdup(colon + 1);
    }
    /* The policy's own level: dockerd adds unique MCS categories per container, berth does
     * not (yet), so containers separate by type and the level given here, not by category. */
    *label = xasprintf("%s:%s:%s:%s", c.part[0], c.part[1], c.part[2], c.part[3]);
    return 0;
}

int lsm_plan(const struct lsm_opts *o, const struct lsm_host *h, struct lsm_attr out[2], size_t *n,
             struct berth_err **err)
{
    *n = 0;
    /* dockerd, too, sets no profile where AppArmor is off; asking for none is asking for
     * what the container gets anyway. Any other profile would be dropped without a word. */
    if (o->apparmor && !h->apparmor && strcmp(o->apparmor, "unconfined") != 0)
        return berth_user_error(err, EINVAL,
                                "--security-opt apparmor=%s: AppArmor is not enabled on this host",
                                o->apparmor);
    if (o->apparmor && h->apparmor)
        out[(*n)++] = (struct lsm_attr){h->apparmor_dir ? APPARMOR_ATTR : APPARMOR_ATTR_OLD,
                                        xasprintf("exec %s", o->apparmor)};
    if (!o->nlabels)
        return 0;
    /* Without SELinux, go-selinux ignores every label option; label=disable (no label) is what
     * such a host gives anyway, as dockerd accepts it everywhere. Another label would be
     * dropped without a word: refused. */
    if (!h->selinux) {
        for (size_t i = 0; i < o->nlabels; i++)
            if (strcmp(o->labels[i], "disable") != 0)
                return berth_user_error(err, EINVAL,
                                        "--security-opt label=%s: SELinux is not enabled on this "
                                        "host",
                                        o->labels[i]);
        return 0;
    }
    char *label;
    int r = selinux_label(o, h, &label, err);
    if (r < 0) { /* the caller gets no attribute to free on failure */
        for (size_t i = 0; i < *n; i++)
            free(out[i].value);
        *n = 0;
        return r;
    }
    if (label)
        out[(*n)++] = (struct lsm_attr){SELINUX_ATTR, label};
    return 0;
}

int lsm_check(const struct lsm_opts *o, struct berth_err **err)
{
    if (!o->apparmor && !o->nlabels)
        return 0;
    struct lsm_host h;
    struct lsm_attr attrs[2];
    size_t n;
    lsm_probe("", &h);
    int r = lsm_plan(o, &h, attrs, &n, err);
    lsm_host_free(&h);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        free(attrs[i].value);
    return 0;
}

int lsm_write_attr(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = strlen(value);
    ssize_t w = write(fd, value, len);
    int r = w < 0 ? -errno : (size_t)w != len ? -EIO : 0;
    close(fd);
    return r;
}
