/* exec/top.c — `docker top` as dockerd does it: the container's pids from its cgroup, ps run
 * over them with the client's arguments, the lines of those pids kept. ps runs as a child of
 * the pool thread (posix_spawn, its output through pipes, waited for by pid). */
#include "exec/top.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/stats.h"
#include "core/buf.h"
#include "core/cleanup.h"
#include "core/xalloc.h"

extern char **environ;

#define PS_OUTPUT_MAX (64u << 20) /* a ps that writes more is cut off there */

int ctr_top_check_args(const char *ps_args, struct berth_err **err)
{
    /* dockerd's regexp \s+([^\s]*)=\s*(PID[^\s]*), every match */
    regex_t re;
    if (regcomp(&re, "[[:space:]]+([^[:space:]]*)=[[:space:]]*(PID[^[:space:]]*)", REG_EXTENDED) !=
        0)
        return berth_error(err, EINVAL, "compile the ps arguments' pattern");
    regmatch_t m[3];
    int r = 0;
    for (const char *p = ps_args;
         r == 0 && regexec(&re, p, 3, m, p == ps_args ? 0 : REG_NOTBOL) == 0;
         p += m[0].rm_eo > 0 ? m[0].rm_eo : 1) {
        int klen = (int)(m[1].rm_eo - m[1].rm_so), vlen = (int)(m[2].rm_eo - m[2].rm_so);
        if (klen != 3 || strncmp(p + m[1].rm_so, "pid", 3) != 0)
            r = berth_user_error(err, EIO, "specifying \"%.*s=%.*s\" is not allowed", klen,
                                 p + m[1].rm_so, vlen, p + m[2].rm_so);
        if (!p[m[0].rm_eo])
            break;
    }
    regfree(&re);
    return r;
}

/* Go's strings.Split(s, " "): empty words kept. */
static char **split_spaces(const char *s, size_t extra, size_t *n)
{
    size_t count = 1;
    for (const char *p = s; *p; p++)
        count += *p == ' ';
    char **v = xcalloc(count + extra + 2, sizeof(*v));
    *n = 0;
    for (const char *p = s;; p++) {
        size_t len = strcspn(p, " ");
        v[(*n)++] = xasprintf("%.*s", (int)len, p);
        p += len;
        if (!*p)
            break;
    }
    return v;
}

/* Read both pipes to their ends (either may fill while the other is read). */
static void drain(int out, int errfd, struct buf *o, struct buf *e)
{
    struct pollfd p[2] = {{.fd = out, .events = POLLIN}, {.fd = errfd, .events = POLLIN}};
    struct buf *bufs[2] = {o, e};
    int open_fds = 2;
    char chunk[16384];
    while (open_fds > 0 && poll(p, 2, -1) >= 0) {
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !p[i].revents)
                continue;
            ssize_t n = read(p[i].fd, chunk, sizeof(chunk));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                p[i].fd = -1;
                open_fds--;
            } else if (bufs[i]->len < PS_OUTPUT_MAX) {
                buf_append(bufs[i], chunk, (size_t)n);
            }
        }
    }
}

/* Run ps with argv; its stdout in out, its stderr in e. Returns its wait status, or -errno
 * when it could not be started. */
static int run_ps(char **argv, struct buf *out, struct buf *e)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
        int r = -errno;
        for (int i = 0; i < 2; i++) {
            if (po[i] >= 0)
                close(po[i]);
        }
        return r;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, def;
    sigemptyset(&none);
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE); /* berthd ignores it; ps should not */
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setsigmask(&attr, &none); /* berthd blocks SIGTERM and SIGINT */
    posix_spawnattr_setsigdefault(&attr, &def);
    pid_t pid;
    int r = posix_spawnp(&pid, "ps", &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(po[1]);
    close(pe[1]);
    if (r == 0)
        drain(po[0], pe[0], out, e);
    close(po[0]);
    close(pe[0]);
    if (r != 0)
        return -r;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

/* Go's exec error for a ps that failed: the first line of its stderr, else its exit. */
static int ps_failed(int status, const struct buf *e, struct berth_err **err)
{
    if (status < 0)
        return berth_user_error(err, EIO, "ps: exec: \"ps\": %s", strerror(-status));
    size_t len = e->len ? strcspn(e->data, "\n") : 0;
    if (len)
        return berth_user_error(err, EIO, "ps: %.*s", (int)len, e->data);
    if (WIFSIGNALED(status))
        return berth_user_error(err, EIO, "ps: signal: %s", strsignal(WTERMSIG(status)));
    return berth_user_error(err, EIO, "ps: exit status %d", WEXITSTATUS(status));
}

static bool ascii_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* Go's fieldsASCII over one line: a new array of its words. */
static json_t *fields(const char *s, size_t len)
{
    json_t *out = json_array();
    for (size_t i = 0; i < len;) {
        while (i < len && ascii_space(s[i]))
            i++;
        size_t start = i;
        while (i < len && !ascii_space(s[i]))
            i++;
        if (i > start)
            json_array_append_new(out, json_stringn(s + start, i - start));
    }
    return out;
}

/* appendProcess2ProcList: as many columns as titles, the overhang joined into the last one
 * (the command's arguments). */
static void append_row(json_t *processes, json_t *f, size_t ntitles)
{
    json_t *row = json_array();
    size_t n = json_array_size(f);
    for (size_t i = 0; i + 1 < ntitles && i < n; i++)
        json_array_append(row, json_array_get(f, i));
    struct buf last = {0};
    for (size_t i = ntitles - 1; i < n; i++)
        buf_printf(&last, "%s%s", i > ntitles - 1 ? " " : "",
                   json_string_value(json_array_get(f, i)));
    json_array_append_new(row, json_string(last.data ? last.data : ""));
    buf_free(&last);
    json_array_append_new(processes, row);
}

static bool has_pid(const pid_t *pids, size_t n, long pid)
{
    for (size_t i = 0; i < n; i++)
        if (pids[i] == pid)
            return true;
    return false;
}

int ctr_top_parse(const char *output, const pid_t *pids, size_t npids, json_t **titles,
                  json_t **processes, struct berth_err **err)
{
    const char *nl = strchr(output, '\n');
    _cleanup_json_ json_t *t = fields(output, nl ? (size_t)(nl - output) : strlen(output));
    _cleanup_json_ json_t *procs = json_array();
    size_t ntitles = json_array_size(t), pid_at = ntitles;
    for (size_t i = 0; i < ntitles; i++)
        if (strcmp(json_string_value(json_array_get(t, i)), "PID") == 0) {
            pid_at = i;
            break;
        }
    if (pid_at == ntitles)
        return berth_user_error(err, EIO, "Couldn't find PID field in ps output");
    bool in_container = false; /* "-" lines are the threads of the line before (ps -L, m) */
    for (const char *p = nl ? nl + 1 : ""; *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        _cleanup_json_ json_t *f = fields(p, len);
        p += len + (end != NULL);
        if (!len || json_array_size(f) <= pid_at)
            continue;
        const char *pid = json_string_value(json_array_get(f, pid_at));
        if (strcmp(pid, "-") == 0) {
            if (in_container)
                append_row(procs, f, ntitles);
            continue;
        }
        char *bad;
        errno = 0;
        long v = strtol(pid, &bad, 10);
        if (*bad || bad == pid || errno)
            return berth_user_error(err, EIO,
                                    "Unexpected pid '%s': strconv.Atoi: parsing \"%s\": invalid "
                                    "syntax",
                                    pid, pid);
        in_container = has_pid(pids, npids, v);
        if (in_container)
            append_row(procs, f, ntitles);
    }
    *titles = take_ptr(t);
    *processes = take_ptr(procs);
    return 0;
}

int ctr_top_run(const struct cgroup *cg, const char *ps_args, json_t **titles, json_t **processes,
                struct berth_err **err)
{
    _cleanup_free_ pid_t *pids = NULL;
    size_t npids = 0, nargs;
    int r = cgroup_procs(cg, &pids, &npids, err);
    if (r < 0)
        return r;
    _cleanup_strv_ char **argv = split_spaces(*ps_args ? ps_args : "-ef", 1, &nargs);
    /* argv[0] is ps itself: the words move up by one */
    memmove(argv + 1, argv, nargs * sizeof(*argv));
    argv[0] = xstrdup("ps");
    struct buf q = {0};
    buf_puts(&q, "-q");
    for (size_t i = 0; i < npids; i++)
        buf_printf(&q, "%s%d", i ? "," : "", (int)pids[i]);
    argv[nargs + 1] = buf_steal(&q, NULL);
    _cleanup_buf_ struct buf out = {0}, e = {0};
    int status = run_ps(argv, &out, &e);
    if (status != 0) { /* some options (f) do not go with -q: without the pids, then */
        free(take_ptr(argv[nargs + 1]));
        buf_reset(&out);
        buf_reset(&e);
        status = run_ps(argv, &out, &e);
        if (status != 0)
            return ps_failed(status, &e, err);
    }
    return ctr_top_parse(out.data ? out.data : "", pids, npids, titles, processes, err);
}
