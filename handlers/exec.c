/* handlers/exec.c — the Exec API group: create an exec instance in a running container, start
 * it (on the hijacked connection, as attach, or detached), resize its tty and inspect it. The
 * instances and their processes are exec/execproc.c's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "exec/execplan.h"
#include "exec/execproc.h"
#include "net/registry/regauth.h"
#include "handlers/api.h"
#include "handlers/daemon.h"
#include "handlers/handlers.h"

static struct execproc *find(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct execproc *e;
    if (execproc_get(&a->d->exec, a->params[0], &e, &err) < 0) {
        api_reply_error(a, err);
        return NULL;
    }
    return e;
}

/* ---- create ---- */

static void create(struct api_req *a, struct container *c, const json_t *body)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct execproc *e;
    if (execproc_create(&a->d->exec, c, a->params[0], body, !api_version_before(a, "1.42"), &e,
                        &err) < 0)
        return api_reply_error(a, err);
    events_exec(a->d->events, c, "exec_create", e->id, e->argv);
    api_reply_json(a, 201, json_pack("{ss}", "Id", e->id));
}

/* dockerd looks the user up in the container before it makes the exec. */
struct user_check {
    char ctr_id[65];
    pid_t pid;
    json_t *hc, *body; /* held while the job reads them */
};

static void user_check_work(struct api_task *t)
{
    struct user_check *u = t->data;
    t->res = execplan_check_user(u->pid, u->hc, json_get_str(u->body, "User"), &t->err);
}

static void user_check_done(struct api_task *t)
{
    struct user_check *u = t->data;
    _cleanup_err_ struct berth_err *err = NULL;
    struct container *c;
    if (t->res < 0)
        api_reply_error(t->a, t->err);
    else if (ctr_lookup(t->a->d->cs, u->ctr_id, &c, &err) < 0) /* it went meanwhile */
        api_reply_error(t->a, err);
    else
        create(t->a, c, u->body);
    json_decref(u->hc);
    json_decref(u->body);
    free(u);
}

void exec_create(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_json_ json_t *body = NULL;
    struct container *c;
    if (json_parse_body(a->msg->body.data, a->msg->body.len, true, &body, &err) < 0 ||
        ctr_lookup(a->d->cs, a->params[0], &c, &err) < 0 ||
        execproc_check_container(c, a->params[0], &err) < 0)
        return api_reply_error(a, err);
    const char *user = json_get_str(body, "User");
    if (!user || !*user)
        return create(a, c, body);
    struct user_check *u = xcalloc(1, sizeof(*u));
    memcpy(u->ctr_id, c->id, sizeof(u->ctr_id));
    u->pid = c->state.pid;
    u->hc = json_incref(c->host_config);
    u->body = json_incref(body);
    api_task_run(a, POOL_LATENCY, user_check_work, user_check_done, u);
}

/* ---- start ---- */

static void detached_started(void *ctx, int res, const struct berth_err *err)
{
    struct api_req *a = ctx;
    if (res < 0)
        api_reply_error(a, err);
    else
        api_reply_status(a, 200);
}

static void exec_data(void *arg, const char *data, ssize_t n)
{
    execproc_input(arg, data, n);
}

static void exec_conn_gone(void *arg)
{
    execproc_client_gone(arg);
}

/* Docker's hijack, as dockerd answers an exec start: 101 when the client asked to upgrade
 * (a raw stream with a tty or before API 1.42, else stdcopy frames), else 200 and a raw
 * stream. The connection is the exec's from then on; errors go into the stream. */
static void start_attached(struct api_req *a, struct execproc *e, bool tty,
                           const unsigned short console[2])
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct exec_env *env = &a->d->exec;
    struct events *ev = a->d->events; /* a is freed at the hijack */
    struct http_conn *conn = a->c;
    const char *ctype = a->msg->upgrade && !tty && !api_version_before(a, "1.42")
                            ? "application/vnd.docker.multiplexed-stream"
                            : "application/vnd.docker.raw-stream";
    api_common_headers(conn);
    http_hijack(conn, a->msg->upgrade ? 101 : 200, ctype, exec_data, e);
    http_conn_on_close(conn, exec_conn_gone, e);
    api_req_free(a);
    const struct attach_link link = {.ops = &handlers_hijacked_link, .ctx = conn};
    const struct execproc_start o = {
        .link = &link, .framed = !tty, .console = {console[0], console[1]}};
    if (execproc_start(env, e, &o, &err) == 0) /* a refusal is in the stream, which has ended */
        events_exec(ev, e->c, "exec_start", e->id, e->argv);
}

void exec_start(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    _cleanup_json_ json_t *body = NULL;
    if (json_parse_body(a->msg->body.data, a->msg->body.len, true, &body, &err) < 0)
        return api_reply_error(a, err);
    struct execproc *e = find(a);
    if (!e)
        return;
    if (execproc_check_container(e->c, e->c->id, &err) < 0)
        return api_reply_error(a, err);
    bool tty = json_get_bool(body, "Tty", false);
    const json_t *size = json_object_get(body, "ConsoleSize");
    unsigned short console[2] = {0, 0};
    if (tty && json_array_size(size) == 2 && !api_version_before(a, "1.42")) {
        console[0] = (unsigned short)json_integer_value(json_array_get(size, 0));
        console[1] = (unsigned short)json_integer_value(json_array_get(size, 1));
    }
    if (!json_get_bool(body, "Detach", false))
        return start_attached(a, e, tty, console);
    /* detached: the answer once the process runs (or could not be made) */
    api_async(a);
    const struct execproc_start o = {
        .console = {console[0], console[1]}, .started = detached_started, .ctx = a};
    struct events *ev = a->d->events;
    if (execproc_start(&a->d->exec, e, &o, &err) < 0)
        return api_reply_error(a, err);
    events_exec(ev, e->c, "exec_start", e->id, e->argv);
}

/* ---- resize ---- */

/* h and w as dockerd's Uint32Value reads them, with its words. */
static bool query_size(struct api_req *a, const char *key, const char *what, unsigned short *out)
{
    _cleanup_free_ char *v = http_query_get(a->msg, key);
    const char *s = v ? v : "", *digits = s + (*s == '-');
    char *end;
    errno = 0;
    unsigned long n = *digits >= '0' && *digits <= '9' ? strtoul(digits, &end, 10) : 0;
    bool syntax = !(*digits >= '0' && *digits <= '9') || *end;
    if (syntax || errno || n > UINT32_MAX || digits != s) {
        api_reply_errorf(a, 400, "invalid resize %s \"%s\": %s", what, s,
                         syntax ? "invalid syntax" : "value out of range");
        return false;
    }
    *out = n > 0xffff ? 0xffff : (unsigned short)n;
    return true;
}

void exec_resize(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    unsigned short h, w;
    if (!query_size(a, "h", "height", &h) || !query_size(a, "w", "width", &w))
        return;
    struct execproc *e = find(a);
    if (!e)
        return;
    if (execproc_resize(e, h, w, &err) < 0)
        return api_reply_error(a, err);
    api_reply_status(a, 200);
}

/* ---- inspect ---- */

static json_t *strings(char *const *v)
{
    json_t *out = json_array();
    for (; v && *v; v++)
        json_array_append_new(out, json_string(*v));
    return out;
}

/* dockerd's ExecInspectResponse: ExitCode null until it has exited, DetachKeys the bytes (Go
 * writes a []byte in base64), ProcessConfig.user left out when empty. */
void exec_inspect(struct api_req *a)
{
    struct execproc *e = find(a);
    if (!e)
        return;
    _cleanup_free_ char *keys = regauth_base64(e->detach_keys, e->ndetach_keys);
    json_t *process = json_pack("{sb ss so sb}", "tty", e->tty, "entrypoint", e->argv[0],
                                "arguments", strings(e->argv + 1), "privileged", e->privileged);
    if (*e->user)
        json_object_set_new(process, "user", json_string(e->user));
    bool running = e->state == EXECPROC_STARTING || e->state == EXECPROC_RUNNING;
    json_t *j =
        json_pack("{ss sb so so sb sb sb sb ss ss si}", "ID", e->id, "Running", running, "ExitCode",
                  e->state == EXECPROC_EXITED ? json_integer(e->exit_code) : json_null(),
                  "ProcessConfig", process, "OpenStdin", e->open_stdin, "OpenStderr",
                  e->open_stderr, "OpenStdout", e->open_stdout, "CanRemove", false, "ContainerID",
                  e->ctr_id, "DetachKeys", keys, "Pid", (int)e->pid);
    api_reply_json(a, 200, j);
}
