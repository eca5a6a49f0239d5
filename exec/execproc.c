/* exec/execproc.c — docker exec instances: create (the ExecConfig dockerd would keep), start
 * (a latency pool job makes the process, exec/execplan.c), then the reactor owns its stdio and
 * hears its exit on its pidfd, as for a container's own process; its one client gets the
 * output and gives the input. Exited instances stay for exec inspect a while. */
#include "exec/execproc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "exec/ctrlinks.h"
#include "exec/execplan.h"
#include "exec/plan.h"

#define EXITED_KEEP_MS (5 * 60 * 1000) /* dockerd's exec GC forgets them 5 to 10 min after */
#define DRAIN_WAIT_MS  2000            /* dockerd's wait for the output after the exit */
#define STDIN_HIGH                                                                                 \
    (1u << 20) /* input waiting for the process beyond which the                                   \
                  client waits */

/* What exists while it starts, runs and drains. */
struct execproc_run {
    struct execproc *e;
    struct exec_env *env;
    struct rio *pidfd;
    struct rio *out, *err, *tty; /* our ends: output (tty: the pty master, input too) */
    struct rio *in;              /* the stdin pipe's write end */
    bool out_open, err_open, tty_open, output_paused;
    bool exited;
    struct reactor_timer drain; /* after the exit: how long the output may still come */
    struct buf stdin_q;
    size_t stdin_inflight;
    bool stdin_sending, stdin_closing;
    unsigned short size[2]; /* a resize while it starts, applied once it runs */
    /* the client, when it has one */
    struct attach_link link;
    bool linked, framed, input_paused;
    struct attach_keys keys;
    void (*started)(void *ctx, int res, const struct berth_err *err);
    void *ctx;
};

/* ---- instances ---- */

static void execproc_free(struct exec_env *env, struct execproc *e)
{
    map_del(&env->execs, e->id);
    strv_freep(&e->argv);
    strv_freep(&e->env);
    free(e->user);
    free(e->workdir);
    free(e);
}

static void unlink_from_container(struct execproc *e)
{
    for (struct execproc **p = &e->c->execs; *p; p = &(*p)->ctr_next)
        if (*p == e) {
            *p = e->ctr_next;
            break;
        }
    e->ctr_next = NULL;
    e->c = NULL;
}

/* No API call finds it from now on; it goes as soon as nothing of it runs. */
static void forget(struct exec_env *env, struct execproc *e)
{
    unlink_from_container(e);
    if (!e->_run)
        execproc_free(env, e);
}

/* dockerd forgets exited execs a few minutes later: so does berth, at the next create. */
static void forget_old(struct exec_env *env, struct container *c)
{
    uint64_t now = mono_ms();
    for (struct execproc *e = c->execs, *next; e; e = next) {
        next = e->ctr_next;
        if (e->state == EXECPROC_EXITED && !e->_run && now - e->_exited_ms > EXITED_KEEP_MS)
            forget(env, e);
    }
}

int execproc_check_container(const struct container *c, const char *name, struct berth_err **err)
{
    if (ctr_run_pidfd(c) < 0)
        return berth_user_error(err, EBUSY, "container %s is not running", c->id);
    if (c->state.status == CTR_PAUSED)
        return berth_user_error(err, EBUSY,
                                "Container %s is paused, unpause the container before exec", name);
    if (c->state.status == CTR_RESTARTING)
        return berth_user_error(
            err, EBUSY, "Container %s is restarting, wait until the container is running", c->id);
    return 0;
}

/* The environment list's key: the text before '=' (all of it without one). */
static size_t key_len(const char *e)
{
    return strcspn(e, "=");
}

/* dockerd's ReplaceOrAppendEnvValues: each override replaces the entry with its key, or is
 * appended; one without '=' removes its key. */
static void env_apply(char ***env, size_t *n, const json_t *overrides)
{
    size_t i;
    json_t *v;
    json_array_foreach(overrides, i, v)
    {
        const char *s = json_string_value(v);
        if (!s)
            continue;
        size_t k = key_len(s), j = 0;
        while (j < *n && !(key_len((*env)[j]) == k && strncmp((*env)[j], s, k) == 0))
            j++;
        if (!s[k] && j < *n) { /* unset */
            free((*env)[j]);
            memmove(&(*env)[j], &(*env)[j + 1], (*n - j) * sizeof(char *));
            (*n)--;
        } else if (s[k] && j < *n) {
            free((*env)[j]);
            (*env)[j] = xstrdup(s);
        } else if (s[k]) {
            *env = xrealloc(*env, (*n + 2) * sizeof(char *));
            (*env)[(*n)++] = xstrdup(s);
            (*env)[*n] = NULL;
        }
    }
}

/* dockerd's CreateDaemonEnvironment, then the exec's Env: PATH, HOSTNAME, TERM with a tty, its
 * legacy links' variables, the container's Env over them, the exec's over all. */
static char **environment(const struct container *c, bool tty, const json_t *links,
                          const json_t *exec_env)
{
    size_t n = 0;
    char **env = xcalloc(4, sizeof(char *));
    env[n++] = xstrdup("PATH=" PLAN_DEFAULT_PATH);
    env[n++] = xasprintf("HOSTNAME=%s", json_get_str(c->config, "Hostname") ?: "");
    if (tty)
        env[n++] = xstrdup("TERM=xterm");
    env_apply(&env, &n, links);
    env_apply(&env, &n, json_object_get(c->config, "Env"));
    env_apply(&env, &n, exec_env);
    return env;
}

/* Cmd as Go's StrSlice takes it: an array of strings, or one string. NULL when empty. */
static char **command(const json_t *cmd)
{
    if (json_is_string(cmd)) {
        char **argv = xcalloc(2, sizeof(char *));
        argv[0] = xstrdup(json_string_value(cmd));
        return argv;
    }
    size_t n = json_array_size(cmd), i;
    json_t *a;
    if (!n)
        return NULL;
    char **argv = xcalloc(n + 1, sizeof(char *));
    json_array_foreach(cmd, i, a) argv[i] = xstrdup(json_string_value(a) ?: "");
    return argv;
}

static char *either(const json_t *a, const json_t *b, const char *key)
{
    const char *v = json_get_str(a, key);
    return xstrdup(v && *v ? v : json_get_str(b, key) ?: "");
}

int execproc_create(struct exec_env *env, struct container *c, const char *name, const json_t *body,
                    bool console_size, struct execproc **out, struct berth_err **err)
{
    int r = execproc_check_container(c, name, err);
    if (r < 0)
        return r;
    _cleanup_strv_ char **argv = command(json_object_get(body, "Cmd"));
    if (!argv)
        return berth_user_error(err, EINVAL, "No exec command specified");
    const char *keys = json_get_str(body, "DetachKeys");
    unsigned char parsed[16];
    size_t nkeys = 0;
    if (keys && *keys && attach_parse_keys(keys, parsed, &nkeys, NULL) < 0)
        return berth_user_error(err, EIO, "Invalid escape keys (%s) provided", keys);
    /* as dockerd, the links' variables anew: each linked container must still run */
    _cleanup_json_ json_t *links = NULL;
    _cleanup_buf_ struct buf hosts = {0};
    if ((r = ctrlinks_resolve(env, c, &hosts, &links, err)) < 0)
        return r;
    forget_old(env, c);
    struct execproc *e = xcalloc(1, sizeof(*e));
    ctr_new_id(e->id);
    memcpy(e->ctr_id, c->id, sizeof(e->ctr_id));
    e->c = c;
    e->argv = take_ptr(argv);
    e->tty = json_get_bool(body, "Tty", false);
    e->env = environment(c, e->tty, links, json_object_get(body, "Env"));
    e->user = either(body, c->config, "User");
    e->workdir = either(body, c->config, "WorkingDir");
    e->privileged = json_get_bool(body, "Privileged", false);
    e->open_stdin = json_get_bool(body, "AttachStdin", false);
    e->open_stdout = json_get_bool(body, "AttachStdout", false);
    e->open_stderr = json_get_bool(body, "AttachStderr", false);
    memcpy(e->detach_keys, parsed, nkeys);
    e->ndetach_keys = nkeys;
    const json_t *size = json_object_get(body, "ConsoleSize");
    if (console_size && json_array_size(size) == 2) {
        e->console[0] = (unsigned short)json_integer_value(json_array_get(size, 0));
        e->console[1] = (unsigned short)json_integer_value(json_array_get(size, 1));
    }
    e->ctr_next = c->execs;
    c->execs = e;
    map_put(&env->execs, e->id, e);
    log_debug("container %.12s: exec %.12s created: %s", c->id, e->id, e->argv[0]);
    *out = e;
    return 0;
}

int execproc_get(struct exec_env *env, const char *id, struct execproc **out,
                 struct berth_err **err)
{
    struct execproc *e = map_get(&env->execs, id);
    if (!e || !e->c)
        return berth_user_error(err, ENOENT, "No such exec instance: %s", id);
    *out = e;
    return 0;
}

/* ---- the client ---- */

static bool link_write(struct execproc_run *run, const void *data, size_t n)
{
    return run->link.ops->write(run->link.ctx, data, n);
}

/* Bytes for the client: in Docker's frames (as stream s) when it asked for them. */
static bool to_client(struct execproc_run *run, enum log_stream s, const char *data, size_t n)
{
    if (run->framed) {
        unsigned char head[8];
        attach_frame_head(head, s, n);
        link_write(run, head, sizeof(head));
    }
    return link_write(run, data, n);
}

static void resume_output(void *arg);

/* The client detached or its stream is over: the link ends after its queued output. The
 * process's output goes on being read (and dropped): nothing holds it up. */
static void end_client(struct execproc *e)
{
    struct execproc_run *run = e->_run;
    if (!run->linked)
        return;
    run->linked = false;
    run->link.ops->end(run->link.ctx, false);
    resume_output(e);
}

/* ---- output ---- */

static void on_stdout(void *ctx, const char *data, ssize_t n);
static void on_stderr(void *ctx, const char *data, ssize_t n);
static void on_tty(void *ctx, const char *data, ssize_t n);
static void maybe_finish(struct execproc *e);

static void set_output(struct execproc_run *run, bool on)
{
    struct {
        struct rio *io;
        bool open;
        reactor_recv_cb cb;
    } outs[] = {{run->out, run->out_open, on_stdout},
                {run->err, run->err_open, on_stderr},
                {run->tty, run->tty_open, on_tty}};
    for (size_t i = 0; i < 3; i++) {
        if (!outs[i].io || !outs[i].open)
            continue;
        if (on)
            reactor_recv(outs[i].io, outs[i].cb);
        else
            reactor_recv_pause(outs[i].io);
    }
}

static void resume_output(void *arg)
{
    struct execproc *e = arg;
    if (!e->_run || !e->_run->output_paused)
        return;
    e->_run->output_paused = false;
    set_output(e->_run, true);
}

static void output(struct execproc *e, enum log_stream s, bool *open, const char *data, ssize_t n)
{
    struct execproc_run *run = e->_run;
    if (n <= 0) { /* EOF (a pty master reports EIO once the process side closed) */
        *open = false;
        return maybe_finish(e);
    }
    if (!run->linked)
        return;
    if (!to_client(run, s, data, (size_t)n) && !run->output_paused) {
        run->output_paused = true; /* paced by its client */
        set_output(run, false);
        run->link.ops->on_drain(run->link.ctx, resume_output, e);
    }
}

static void on_stdout(void *ctx, const char *data, ssize_t n)
{
    struct execproc *e = ctx;
    output(e, LOG_STDOUT, &e->_run->out_open, data, n);
}

static void on_stderr(void *ctx, const char *data, ssize_t n)
{
    struct execproc *e = ctx;
    output(e, LOG_STDERR, &e->_run->err_open, data, n);
}

static void on_tty(void *ctx, const char *data, ssize_t n)
{
    struct execproc *e = ctx;
    output(e, LOG_STDOUT, &e->_run->tty_open, data, n);
}

/* ---- input ---- */

static void flush_stdin(struct execproc *e);

static void on_stdin_sent(void *ctx, int res)
{
    struct execproc *e = ctx;
    struct execproc_run *run = e->_run;
    run->stdin_sending = false;
    run->stdin_inflight = 0;
    if (res < 0) /* it closed its stdin: drop what it will never read */
        buf_reset(&run->stdin_q);
    flush_stdin(e);
    if (run->input_paused && run->linked && run->stdin_q.len < STDIN_HIGH) {
        run->input_paused = false;
        run->link.ops->resume_input(run->link.ctx);
    }
}

static void flush_stdin(struct execproc *e)
{
    struct execproc_run *run = e->_run;
    struct rio *io = run->tty ? run->tty : run->in;
    if (!io || run->stdin_sending)
        return;
    if (run->stdin_q.len) {
        size_t len;
        char *data = buf_steal(&run->stdin_q, &len);
        run->stdin_sending = reactor_send(io, data, len, on_stdin_sent) == 0;
        run->stdin_inflight = run->stdin_sending ? len : 0;
    } else if (run->stdin_closing && run->in) { /* all in: now it sees EOF */
        reactor_io_close(run->in);
        run->in = NULL;
    }
}

static void to_stdin(struct execproc *e, const char *data, size_t n)
{
    struct execproc_run *run = e->_run;
    if (!n)
        return;
    buf_append(&run->stdin_q, data, n);
    flush_stdin(e);
    if (run->stdin_q.len + run->stdin_inflight > STDIN_HIGH && !run->input_paused) {
        run->input_paused = true;
        run->link.ops->pause_input(run->link.ctx);
    }
}

void execproc_input(struct execproc *e, const char *data, ssize_t n)
{
    struct execproc_run *run = e->_run;
    if (!run || !run->linked || n < 0)
        return;
    if (n == 0) { /* the client's input ended: so does the process's (a pty has no EOF) */
        if (!e->tty) {
            run->stdin_closing = true;
            flush_stdin(e);
        }
        return;
    }
    if (!e->open_stdin)
        return;
    if (!e->tty) /* as dockerd: detach keys are a terminal's */
        return to_stdin(e, data, (size_t)n);
    _cleanup_buf_ struct buf pass = {0};
    bool detached = attach_keys_feed(&run->keys, (const unsigned char *)data, (size_t)n, &pass);
    to_stdin(e, pass.data, pass.len);
    if (detached) {
        log_debug("exec %.12s: client detached", e->id);
        end_client(e);
    }
}

void execproc_client_gone(struct execproc *e)
{
    struct execproc_run *run = e->_run;
    if (!run)
        return;
    run->linked = false;
    resume_output(e); /* nobody reads: drained into nothing */
    if (!e->tty) {    /* as dockerd's copy of the client's input ends */
        run->stdin_closing = true;
        flush_stdin(e);
    }
}

/* ---- exit ---- */

static void close_io(struct rio **io)
{
    if (*io)
        reactor_io_close(*io);
    *io = NULL;
}

/* Its output is out (or late: dockerd's 2 s): the client's stream ends, as its process did. */
static void finish(struct execproc *e)
{
    struct execproc_run *run = e->_run;
    struct exec_env *env = run->env;
    reactor_timer_stop(env->r, &run->drain);
    struct rio **ios[] = {&run->pidfd, &run->out, &run->err, &run->tty, &run->in};
    for (size_t i = 0; i < 5; i++)
        close_io(ios[i]);
    end_client(e);
    buf_free(&run->stdin_q);
    free(run);
    e->_run = NULL;
    if (!e->c) /* its container exited or went meanwhile */
        execproc_free(env, e);
}

static void maybe_finish(struct execproc *e)
{
    struct execproc_run *run = e->_run;
    if (run->exited && !run->out_open && !run->err_open && !run->tty_open)
        finish(e);
}

static void on_drain_deadline(struct reactor_timer *t)
{
    struct execproc_run *run = container_of(t, struct execproc_run, drain);
    /* a process it left behind still holds the output: the stream ends all the same */
    run->out_open = run->err_open = run->tty_open = false;
    finish(run->e);
}

static void on_exit_ready(void *ctx, int revents)
{
    struct execproc *e = ctx;
    struct execproc_run *run = e->_run;
    siginfo_t info = {0};
    if (revents >= 0) {
        int r =
            waitid((idtype_t)P_PIDFD, (id_t)reactor_io_fd(run->pidfd), &info, WEXITED | WNOHANG);
        if ((r == 0 && info.si_pid == 0) || (r < 0 && errno != ECHILD)) {
            reactor_poll(run->pidfd, POLLIN, on_exit_ready); /* not quite gone yet */
            return;
        }
    }
    e->exit_code = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
    e->state = EXECPROC_EXITED;
    e->_exited_ms = mono_ms();
    run->exited = true;
    log_debug("exec %.12s: exited with %d", e->id, e->exit_code);
    if (e->c && run->env->notify.exec_die) /* a container that exited first took its execs */
        run->env->notify.exec_die(run->env->notify.arg, e->c, e->id, e->exit_code);
    run->drain.fn = on_drain_deadline;
    reactor_timer_start(run->env->r, &run->drain, DRAIN_WAIT_MS);
    maybe_finish(e);
}

/* ---- start ---- */

struct start_job {
    struct pool_job job;
    struct execproc *e;
    struct execplan_inputs in;
    char *cg_parent;
    json_t *hc; /* the container's HostConfig, held while the job reads it */
    int res, exit_code;
    struct berth_err *err;
    struct spawn_result sr;
    struct plan_stdio io;
    int64_t t_submit, t_begin, t_end; /* for the debug log's trace */
};

static void start_work(struct pool_job *job)
{
    struct start_job *j = (struct start_job *)job;
    j->t_begin = mono_us();
    j->res = execplan_spawn(&j->in, &j->io, &j->sr, &j->exit_code, &j->err);
    close(j->in.ctr_pidfd);
    j->t_end = mono_us();
}

static struct rio *watch(struct execproc *e, int fd, bool *open, reactor_recv_cb cb)
{
    if (fd < 0)
        return NULL;
    struct rio *io = reactor_io_open(e->_run->env->r, fd, e);
    if (cb) {
        reactor_recv(io, cb);
        *open = true;
    }
    return io;
}

static void resize_tty(struct execproc_run *run, unsigned short height, unsigned short width)
{
    struct winsize ws = {.ws_row = height, .ws_col = width};
    if (run->tty && ioctl(reactor_io_fd(run->tty), TIOCSWINSZ, &ws) < 0)
        log_debug("exec: resize the tty: %s", strerror(errno));
}

/* It runs: the reactor watches its exit and its stdio; input that came early goes in. */
static void begin_run(struct execproc *e, struct start_job *j)
{
    struct execproc_run *run = e->_run;
    bool unused = false;
    e->pid = j->sr.pid;
    e->state = EXECPROC_RUNNING;
    run->pidfd = reactor_io_open(run->env->r, j->sr.pidfd, e);
    run->out = watch(e, take_fd(&j->io.out), &run->out_open, on_stdout);
    run->err = watch(e, take_fd(&j->io.err), &run->err_open, on_stderr);
    run->tty = watch(e, take_fd(&j->io.master), &run->tty_open, on_tty);
    run->in = watch(e, take_fd(&j->io.in), &unused, NULL);
    if (!e->c) /* its container ended during the start: nothing of it may outlive it */
        syscall(SYS_pidfd_send_signal, reactor_io_fd(run->pidfd), SIGKILL, NULL, 0);
    if (run->size[0] && run->size[1])
        resize_tty(run, run->size[0], run->size[1]);
    reactor_poll(run->pidfd, POLLIN, on_exit_ready);
    flush_stdin(e);
    log_debug("exec %.12s: started pid %d in container %.12s, trace {\"QueueUs\":%lld,"
              "\"PlanUs\":%lld,\"CloneUs\":%lld,\"ExecUs\":%lld,\"TotalUs\":%lld}",
              e->id, e->pid, e->ctr_id, (long long)(j->t_begin - j->t_submit),
              (long long)(j->t_end - j->t_begin - j->sr.exec_us), (long long)j->sr.clone_us,
              (long long)(j->sr.exec_us - j->sr.clone_us), (long long)(mono_us() - j->t_submit));
}

/* It could not be made: the words go to its client as dockerd writes them ("...\r\n", on
 * the stdout stream), and its stream ends. */
static void refuse_client(const struct attach_link *link, bool framed, const char *msg)
{
    _cleanup_free_ char *text = xasprintf("%s\r\n", msg);
    size_t n = strlen(text);
    if (framed) {
        unsigned char head[8];
        attach_frame_head(head, LOG_STDOUT, n);
        link->ops->write(link->ctx, head, sizeof(head));
    }
    link->ops->write(link->ctx, text, n);
    link->ops->end(link->ctx, false);
}

static void start_done(struct pool_job *job)
{
    struct start_job *j = (struct start_job *)job;
    struct execproc *e = j->e;
    struct execproc_run *run = e->_run;
    json_decref(j->hc);
    free(j->cg_parent);
    if (j->res < 0) {
        e->state = EXECPROC_EXITED;
        e->exit_code = j->exit_code;
        e->_exited_ms = mono_ms();
        run->exited = true;
        log_debug("exec %.12s: %s", e->id, j->err->msg);
        if (run->linked) {
            run->linked = false;
            refuse_client(&run->link, run->framed, j->err->msg);
        }
    } else {
        begin_run(e, j);
    }
    if (run->started)
        run->started(run->ctx, j->res, j->err);
    berth_err_free(j->err);
    free(j);
    if (e->state == EXECPROC_EXITED)
        finish(e);
}

/* A refusal before anything starts; with a client, in its stream too. */
static int refuse(const struct execproc_start *o, int r, struct berth_err **err)
{
    if (o->link)
        refuse_client(o->link, o->framed, (*err)->msg);
    return r;
}

int execproc_start(struct exec_env *env, struct execproc *e, const struct execproc_start *o,
                   struct berth_err **err)
{
    if (e->state == EXECPROC_EXITED)
        return refuse(o, berth_user_error(err, EBUSY, "exec command %s has already run", e->id),
                      err);
    if (e->state != EXECPROC_CREATED)
        return refuse(o, berth_user_error(err, EBUSY, "exec command %s is already running", e->id),
                      err);
    int r = execproc_check_container(e->c, e->c->id, err);
    if (r < 0)
        return refuse(o, r, err);
    int pidfd = fcntl(ctr_run_pidfd(e->c), F_DUPFD_CLOEXEC, 3); /* the job's own */
    if (pidfd < 0)
        return refuse(o, berth_error(err, errno, "exec %s: dup the container's pidfd", e->id), err);
    struct execproc_run *run = xcalloc(1, sizeof(*run));
    *run = (struct execproc_run){
        .e = e, .env = env, .framed = o->framed, .started = o->started, .ctx = o->ctx};
    if (o->link) {
        run->link = *o->link;
        run->linked = true;
        memcpy(run->keys.keys, e->detach_keys, e->ndetach_keys);
        run->keys.n = e->ndetach_keys;
        if (!run->keys.n) /* dockerd's default */
            attach_parse_keys("ctrl-p,ctrl-q", run->keys.keys, &run->keys.n, NULL);
    }
    e->_run = run;
    e->state = EXECPROC_STARTING;
    bool sized = o->console[0] && o->console[1];
    struct start_job *j = xcalloc(1, sizeof(*j));
    *j = (struct start_job){.job = {.work = start_work, .done = start_done},
                            .e = e,
                            .cg_parent = xstrdup(ctr_cgroup_parent(e->c, env)),
                            .hc = json_incref(e->c->host_config),
                            .io = PLAN_STDIO_NONE,
                            .in = {.ctr_pidfd = pidfd,
                                   .ctr_pid = e->c->state.pid,
                                   .nstypes = execplan_nstypes(e->c->host_config),
                                   .ctr_id = e->ctr_id,
                                   .user = e->user,
                                   .cwd = e->workdir,
                                   .argv = e->argv,
                                   .env = e->env,
                                   .privileged = e->privileged,
                                   .stdio = {.tty = e->tty,
                                             .in = e->open_stdin,
                                             .out = e->open_stdout,
                                             .err = e->open_stderr,
                                             .rows = sized ? o->console[0] : e->console[0],
                                             .cols = sized ? o->console[1] : e->console[1]}}};
    j->in.cg_parent = j->cg_parent;
    j->in.host_config = j->hc;
    j->t_submit = mono_us();
    pool_submit(env->pool, POOL_LATENCY, &j->job);
    return 0;
}

int execproc_resize(struct execproc *e, unsigned short height, unsigned short width,
                    struct berth_err **err)
{
    int r = execproc_check_container(e->c, e->c->id, err);
    if (r < 0)
        return r;
    if (e->state == EXECPROC_CREATED) { /* the size it starts with */
        e->console[0] = height, e->console[1] = width;
    } else if (e->state == EXECPROC_STARTING) {
        e->_run->size[0] = height, e->_run->size[1] = width;
    } else if (e->state == EXECPROC_RUNNING && e->_run) {
        resize_tty(e->_run, height, width);
    }
    return 0;
}

/* ---- the container's end ---- */

void execproc_container_exited(struct exec_env *env, struct container *c)
{
    for (struct execproc *e = c->execs, *next; e; e = next) {
        next = e->ctr_next;
        if (e->state != EXECPROC_EXITED)
            forget(env, e);
    }
}

void execproc_container_removed(struct exec_env *env, struct container *c)
{
    while (c->execs)
        forget(env, c->execs);
}

void execproc_free_all(struct exec_env *env)
{
    const char *id;
    void *v;
    for (size_t i = 0; map_next(&env->execs, &i, &id, &v);) {
        struct execproc *e = v;
        if (e->_run) { /* no job runs now (the pool has stopped), no client is left */
            struct execproc_run *run = e->_run;
            reactor_timer_stop(env->r, &run->drain);
            struct rio **ios[] = {&run->pidfd, &run->out, &run->err, &run->tty, &run->in};
            for (size_t k = 0; k < 5; k++)
                close_io(ios[k]);
            buf_free(&run->stdin_q);
            free(run);
            e->_run = NULL;
        }
        execproc_free(env, e);
    }
    map_free(&env->execs);
}
