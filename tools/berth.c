/* tools/berth.c — berth's own small client: `berth version|info|ping|run|exec|inspect` over the
 * engine's unix socket (-H, BERTH_HOST or DOCKER_HOST; default /run/berth/berth.sock). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/http_client.h"
#include "core/json.h"
#include "core/macros.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.0.0-dev"
#endif

/* docker run's own exit codes: the engine failed, the command cannot run, it is not found. */
enum { EXIT_ENGINE = 125, EXIT_CANNOT_EXEC = 126, EXIT_NOT_FOUND = 127 };

/* One keep-alive connection to the engine, opened at the first request. */
struct client {
    const char *host;
    struct http_client hc;
    bool connected;
};

static const char *default_host(void)
{
    const char *h = getenv("BERTH_HOST");
    if (!h || !*h)
        h = getenv("DOCKER_HOST");
    return h && *h ? h : "unix:///run/berth/berth.sock";
}

static int usage(FILE *out)
{
    fprintf(out, "Usage: berth [-H unix:///path] COMMAND\n\n"
                 "Commands:\n"
                 "  ping       Check that the engine answers\n"
                 "  version    Show the client and engine versions\n"
                 "  info       Show engine-wide information\n"
                 "  run [--rm] [-d] [--name N] [--network none|host|...] IMAGE [CMD...]\n"
                 "             Create and start a container; without -d, print its output\n"
                 "             and exit with its exit code\n"
                 "  exec [-d] [-u USER] [-w DIR] [-e K=V]... CONTAINER CMD...\n"
                 "             Run CMD in a running container (no stdin, no tty); without -d,\n"
                 "             print its output and exit with its exit code\n"
                 "  inspect [--trace] CONTAINER\n"
                 "             The container's JSON, or with --trace the last start's phases\n");
    return out == stderr ? 2 : 0;
}

/* Connect hc to the engine at host; says why not on stderr. */
static int connect_to(const char *host, struct http_client *hc)
{
    _cleanup_err_ struct berth_err *err = NULL;
    const char *sock = http_client_socket_path(host);
    if (!sock) {
        fprintf(stderr, "berth: unsupported host `%s` (use unix:///path)\n", host);
        return -1;
    }
    if (http_client_connect_unix(hc, sock, &err) < 0) {
        fprintf(stderr, "berth: cannot reach the engine at %s: %s\n", host, err->msg);
        return -1;
    }
    return 0;
}

static void client_close(struct client *cl)
{
    if (cl->connected)
        http_client_close(&cl->hc);
    cl->connected = false;
}

/* One request on the client's connection, JSON body optional; the reply, whatever its status,
 * in *out (caller frees). -1 (said on stderr) when the engine cannot be reached. */
static int exchange(struct client *cl, const char *method, const char *path, const json_t *body,
                    struct http_msg **out)
{
    _cleanup_err_ struct berth_err *err = NULL;
    if (!cl->connected && connect_to(cl->host, &cl->hc) < 0)
        return -1;
    cl->connected = true;
    _cleanup_free_ char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    int r = http_client_request(&cl->hc, method, path,
                                text ? "Content-Type: application/json\r\n" : NULL, text,
                                text ? strlen(text) : 0, out, &err);
    if (r < 0) {
        fprintf(stderr, "berth: cannot reach the engine at %s: %s\n", cl->host, err->msg);
        client_close(cl);
    }
    return r;
}

/* The engine's own words for a failed request: its {"message": ...}, else the raw body. */
static char *error_message(const struct http_msg *m)
{
    _cleanup_json_ json_t *j = json_loadb(m->body.data, m->body.len, 0, NULL);
    const char *msg = json_get_str(j, "message");
    return strdup(msg ? msg : m->body.len ? m->body.data : http_status_text(m->status));
}

static void say_error(const struct http_msg *m)
{
    _cleanup_free_ char *msg = error_message(m);
    fprintf(stderr, "Error response from daemon: %s\n", msg);
}

/* A request whose answer must be a success: its JSON body in *out (NULL when it has none).
 * -1 after saying why on stderr. */
static int call(struct client *cl, const char *method, const char *path, const json_t *body,
                json_t **out)
{
    struct http_msg *resp = NULL;
    if (exchange(cl, method, path, body, &resp) < 0)
        return -1;
    int r = 0;
    *out = NULL;
    if (resp->status >= 400) {
        say_error(resp);
        r = -1;
    } else if (resp->body.len) {
        *out = json_loadb(resp->body.data, resp->body.len, 0, NULL);
        if (!*out) {
            fprintf(stderr, "berth: the engine sent malformed JSON for %s\n", path);
            r = -1;
        }
    }
    http_msg_free(resp);
    return r;
}

static json_t *call_json(struct client *cl, const char *path)
{
    json_t *j = NULL;
    return call(cl, "GET", path, NULL, &j) == 0 ? j : NULL;
}

static int cmd_ping(struct client *cl)
{
    struct http_msg *resp = NULL;
    if (exchange(cl, "GET", "/_ping", NULL, &resp) < 0)
        return 1;
    if (resp->status >= 400) {
        say_error(resp);
        http_msg_free(resp);
        return 1;
    }
    printf("%s (API %s)\n", resp->body.data ? resp->body.data : "",
           http_msg_header(resp, "Api-Version") ? http_msg_header(resp, "Api-Version") : "?");
    http_msg_free(resp);
    return 0;
}

static int cmd_version(struct client *cl)
{
    printf("Client: berth\n Version:\t%s\n\n", BERTH_VERSION);
    _cleanup_json_ json_t *v = call_json(cl, "/version");
    if (!v)
        return 1;
    printf("Server: %s\n Version:\t%s\n API version:\t%s (minimum version %s)\n"
           " Git commit:\t%s\n OS/Arch:\t%s/%s\n Kernel:\t%s\n",
           json_get_str(json_object_get(v, "Platform"), "Name"), json_get_str(v, "Version"),
           json_get_str(v, "ApiVersion"), json_get_str(v, "MinAPIVersion"),
           json_get_str(v, "GitCommit"), json_get_str(v, "Os"), json_get_str(v, "Arch"),
           json_get_str(v, "KernelVersion"));
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(v, "Components"), i, c)
    {
        const char *reactor = json_get_str(json_object_get(c, "Details"), "Reactor");
        if (reactor)
            printf(" Reactor:\t%s\n", reactor);
    }
    return 0;
}

static int cmd_info(struct client *cl)
{
    _cleanup_json_ json_t *i = call_json(cl, "/info");
    if (!i)
        return 1;
    printf("Containers: %lld\n Running: %lld\n Paused: %lld\n Stopped: %lld\nImages: %lld\n"
           "Server Version: %s\nStorage Driver: %s\nCgroup Driver: %s\nCgroup Version: %s\n"
           "Kernel Version: %s\nOperating System: %s\nArchitecture: %s\nCPUs: %lld\n"
           "Total Memory: %.2fGiB\nName: %s\nID: %s\nRoot Dir: %s\n",
           (long long)json_get_int(i, "Containers", 0),
           (long long)json_get_int(i, "ContainersRunning", 0),
           (long long)json_get_int(i, "ContainersPaused", 0),
           (long long)json_get_int(i, "ContainersStopped", 0),
           (long long)json_get_int(i, "Images", 0), json_get_str(i, "ServerVersion"),
           json_get_str(i, "Driver"), json_get_str(i, "CgroupDriver"),
           json_get_str(i, "CgroupVersion"), json_get_str(i, "KernelVersion"),
           json_get_str(i, "OperatingSystem"), json_get_str(i, "Architecture"),
           (long long)json_get_int(i, "NCPU", 0),
           (double)json_get_int(i, "MemTotal", 0) / (1024.0 * 1024 * 1024), json_get_str(i, "Name"),
           json_get_str(i, "ID"), json_get_str(i, "DockerRootDir"));
    return 0;
}

/* ---- run ---- */

struct run_opts {
    bool rm, detach;
    const char *name, *network, *image;
    char **cmd; /* NULL-terminated, may be empty: the image's CMD */
};

/* --opt VALUE or --opt=VALUE at argv[*i]; NULL when argv[*i] is not this option. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt, bool *missing)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

/* Options stop at IMAGE: what follows is the command, its own flags included. */
static int parse_run(int argc, char **argv, struct run_opts *o)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        bool missing = false;
        const char *v;
        if (strcmp(argv[i], "--rm") == 0)
            o->rm = true;
        else if (strcmp(argv[i], "-d") == 0 || strcmp(argv[i], "--detach") == 0)
            o->detach = true;
        else if ((v = opt_value(argc, argv, &i, "--name", &missing)))
            o->name = v;
        else if ((v = opt_value(argc, argv, &i, "--network", &missing)) ||
                 (v = opt_value(argc, argv, &i, "--net", &missing)))
            o->network = v;
        else {
            fprintf(stderr, "berth run: %s `%s`\n",
                    missing ? "a value is missing after" : "unknown option", argv[i]);
            return -1;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "berth run: an image is required: berth run [OPTIONS] IMAGE [CMD...]\n");
        return -1;
    }
    o->image = argv[i];
    o->cmd = argv + i + 1;
    return 0;
}

static json_t *create_body(const struct run_opts *o)
{
    json_t *host = json_pack("{sb}", "AutoRemove", o->rm);
    if (o->network)
        json_object_set_new(host, "NetworkMode", json_string(o->network));
    json_t *body =
        json_pack("{ss sb sb sb so}", "Image", o->image, "AttachStdin", 0, "AttachStdout",
                  !o->detach, "AttachStderr", !o->detach, "HostConfig", host);
    if (o->cmd[0]) {
        json_t *cmd = json_array();
        for (char **a = o->cmd; *a; a++)
            json_array_append_new(cmd, json_string(*a));
        json_object_set_new(body, "Cmd", cmd);
    }
    return body;
}

/* Percent-encode what a query value must not carry raw. */
static void query_escape(struct buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            strchr("._-", ch))
            buf_append(b, s, 1);
        else
            buf_printf(b, "%%%02X", ch);
    }
}

/* POST /containers/create: the new id in *id, or the exit code (125) after saying why. */
static int create(struct client *cl, const struct run_opts *o, char **id)
{
    struct buf path = {0};
    buf_puts(&path, "/containers/create");
    if (o->name) {
        buf_puts(&path, "?name=");
        query_escape(&path, o->name);
    }
    _cleanup_json_ json_t *body = create_body(o);
    struct http_msg *resp = NULL;
    int r = exchange(cl, "POST", path.data, body, &resp);
    buf_free(&path);
    if (r < 0)
        return EXIT_ENGINE;
    _cleanup_json_ json_t *j = json_loadb(resp->body.data, resp->body.len, 0, NULL);
    if (resp->status == 404 && strstr(resp->body.data ? resp->body.data : "", "No such image"))
        fprintf(stderr,
                "berth: Unable to find image '%s' locally (berth run does not pull: "
                "docker pull it first)\n",
                o->image);
    else if (resp->status >= 400)
        say_error(resp);
    else if (!json_get_str(j, "Id"))
        fprintf(stderr, "berth: the engine's create answer has no Id\n");
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(j, "Warnings"), i, w) /* as the docker CLI shows them */
        if (resp->status < 400 && json_string_value(w))
            fprintf(stderr, "WARNING: %s\n", json_string_value(w));
    *id = json_get_str(j, "Id") ? strdup(json_get_str(j, "Id")) : NULL;
    http_msg_free(resp);
    return *id ? 0 : EXIT_ENGINE;
}

/* docker run's reading of a start failure: 127 not found, 126 cannot execute, else 125. */
static int start_exit_code(const char *msg)
{
    if (strstr(msg, "executable file not found") || strstr(msg, "no such file or directory") ||
        strstr(msg, "No such file or directory"))
        return EXIT_NOT_FOUND;
    if (strstr(msg, "permission denied") || strstr(msg, "Permission denied"))
        return EXIT_CANNOT_EXEC;
    return EXIT_ENGINE;
}

/* POST /containers/{id}/start on the client's connection: 0, or docker run's exit code. */
static int start(struct client *cl, const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), "/containers/%s/start", id);
    struct http_msg *resp = NULL;
    if (exchange(cl, "POST", path, NULL, &resp) < 0)
        return EXIT_ENGINE;
    int code = 0;
    if (resp->status >= 400) {
        _cleanup_free_ char *msg = error_message(resp);
        fprintf(stderr, "Error response from daemon: %s\n", msg);
        code = start_exit_code(msg);
    }
    http_msg_free(resp);
    return code;
}

/* Open a connection of its own for one request and read the answer's head: the attach (101,
 * then the hijacked stream) and the wait (200 at once, its body when the container is done).
 * The request is sent first on every stream, then the heads are read (begin, then finish),
 * so the two round trips overlap. */
static int stream_begin_body(const char *host, const char *method, const char *path,
                             const char *headers, const char *body, struct http_client *hc)
{
    _cleanup_err_ struct berth_err *err = NULL;
    if (connect_to(host, hc) < 0)
        return -1;
    if (http_client_send(hc, method, path, headers, body, body ? strlen(body) : 0, &err) < 0) {
        fprintf(stderr, "berth: %s %s: %s\n", method, path, err->msg);
        return -1;
    }
    return 0;
}

static int stream_begin(const char *host, const char *method, const char *path, const char *headers,
                        struct http_client *hc)
{
    return stream_begin_body(host, method, path, headers, NULL, hc);
}

static int stream_head(struct http_client *hc, const char *what)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct http_msg *resp = NULL;
    int status = 0;
    if (http_client_read(hc, true, &status, NULL, &err) < 0) {
        fprintf(stderr, "berth: %s: %s\n", what, err->msg);
        return -1;
    }
    if (status < 400)
        return 0;
    if (http_client_read(hc, false, NULL, &resp, &err) == 0) { /* the error's body */
        say_error(resp);
        http_msg_free(resp);
    } else {
        fprintf(stderr, "berth: %s: the engine answered %d\n", what, status);
    }
    return -1;
}

/* ---- the output: Docker's 8-byte frames (stream, 0, 0, 0, big-endian length) ---- */

struct demux {
    unsigned char head[8];
    size_t have; /* bytes of head gathered */
    size_t left; /* payload bytes still to copy to fd */
    int fd;
};

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Copy the payloads of whatever frames p holds (frames may span calls) to stdout/stderr. */
static void demux_feed(struct demux *d, const char *p, size_t n)
{
    while (n > 0) {
        if (d->left == 0) {
            size_t take = 8 - d->have < n ? 8 - d->have : n;
            memcpy(d->head + d->have, p, take);
            d->have += take, p += take, n -= take;
            if (d->have < 8)
                return;
            d->have = 0;
            d->left = (size_t)d->head[4] << 24 | (size_t)d->head[5] << 16 |
                      (size_t)d->head[6] << 8 | d->head[7];
            d->fd = d->head[0] == 2 ? STDERR_FILENO : STDOUT_FILENO;
            continue;
        }
        size_t take = d->left < n ? d->left : n;
        if (write_all(d->fd, p, take) < 0 && errno == EPIPE)
            d->fd = -1; /* nobody reads: keep draining so the container is not held up */
        d->left -= take, p += take, n -= take;
    }
}

static volatile sig_atomic_t pending_signal;

static void on_signal(int sig)
{
    pending_signal = sig;
}

/* As docker run's sig-proxy: these signals, caught while the output flows, go to the
 * container (SA_RESTART off so the read returns and the kill can be sent). */
static void proxy_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
        sigaction(sigs[i], &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void forward_signal(struct client *cl, const char *id)
{
    int sig = pending_signal;
    pending_signal = 0;
    char path[160];
    snprintf(path, sizeof(path), "/containers/%s/kill?signal=%d", id, sig);
    struct http_msg *resp = NULL;
    if (exchange(cl, "POST", path, NULL, &resp) == 0) /* gone already: nothing to forward */
        http_msg_free(resp);
}

/* Copy the attach stream to stdout/stderr until the engine closes it. */
static void copy_output(struct http_client *at, struct client *cl, const char *id)
{
    struct demux d = {.fd = STDOUT_FILENO};
    char chunk[65536];
    demux_feed(&d, at->in.data, at->in.len);
    buf_reset(&at->in);
    for (;;) {
        ssize_t n = read(at->fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            if (pending_signal)
                forward_signal(cl, id);
            continue;
        }
        if (n <= 0)
            return;
        demux_feed(&d, chunk, (size_t)n);
    }
}

/* The wait's body: {"StatusCode": n, "Error": null|{"Message": ...}}; n or 125. */
static int wait_result(struct http_client *wt)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct http_msg *resp = NULL;
    if (http_client_read(wt, false, NULL, &resp, &err) < 0) {
        fprintf(stderr, "berth: wait: %s\n", err->msg);
        return EXIT_ENGINE;
    }
    _cleanup_json_ json_t *j = json_loadb(resp->body.data, resp->body.len, 0, NULL);
    http_msg_free(resp);
    const char *msg = json_get_str(json_object_get(j, "Error"), "Message");
    if (!j || msg) {
        fprintf(stderr, "berth: wait: %s\n", msg ? msg : "malformed answer");
        return EXIT_ENGINE;
    }
    return (int)json_get_int(j, "StatusCode", EXIT_ENGINE);
}

/* Attach and wait, each on its own connection, both in place before the start, as docker
 * run does, so no output is missed and --rm cannot remove the container before the wait. */
static int attach_and_wait(const char *host, const char *id, bool rm, struct http_client *at,
                           struct http_client *wt)
{
    char path[192];
    snprintf(path, sizeof(path), "/containers/%s/attach?stream=1&stdout=1&stderr=1", id);
    if (stream_begin(host, "POST", path, "Connection: Upgrade\r\nUpgrade: tcp\r\n", at) < 0)
        return -1;
    snprintf(path, sizeof(path), "/containers/%s/wait?condition=%s", id,
             rm ? "removed" : "next-exit");
    if (stream_begin(host, "POST", path, NULL, wt) < 0)
        return -1;
    return stream_head(at, "attach") < 0 || stream_head(wt, "wait") < 0 ? -1 : 0;
}

/* Round trips, in order: create; attach and wait together; start. -d stops after the start. */
static int cmd_run(struct client *cl, int argc, char **argv)
{
    struct run_opts o = {0};
    if (parse_run(argc, argv, &o) < 0)
        return EXIT_ENGINE;
    _cleanup_free_ char *id = NULL;
    int code = create(cl, &o, &id);
    if (code)
        return code;
    if (o.detach) {
        code = start(cl, id);
        if (code)
            return code;
        printf("%s\n", id);
        return 0;
    }
    _cleanup_(http_client_close) struct http_client at = {.fd = -1}, wt = {.fd = -1};
    if (attach_and_wait(cl->host, id, o.rm, &at, &wt) < 0)
        return EXIT_ENGINE;
    proxy_signals();
    code = start(cl, id);
    if (code)
        return code;
    copy_output(&at, cl, id);
    return wait_result(&wt);
}

/* ---- exec ---- */

struct exec_opts {
    bool detach;
    json_t *body; /* ExecConfig */
    const char *ctr;
    char **cmd;
};

static int parse_exec(int argc, char **argv, struct exec_opts *o)
{
    int i = 1;
    json_t *env = json_array();
    json_object_set_new(o->body, "Env", env);
    for (; i < argc && argv[i][0] == '-'; i++) {
        bool missing = false;
        const char *v;
        if (strcmp(argv[i], "-d") == 0 || strcmp(argv[i], "--detach") == 0)
            o->detach = true;
        else if ((v = opt_value(argc, argv, &i, "-u", &missing)) ||
                 (v = opt_value(argc, argv, &i, "--user", &missing)))
            json_object_set_new(o->body, "User", json_string(v));
        else if ((v = opt_value(argc, argv, &i, "-w", &missing)) ||
                 (v = opt_value(argc, argv, &i, "--workdir", &missing)))
            json_object_set_new(o->body, "WorkingDir", json_string(v));
        else if ((v = opt_value(argc, argv, &i, "-e", &missing)) ||
                 (v = opt_value(argc, argv, &i, "--env", &missing)))
            json_array_append_new(env, json_string(v));
        else {
            fprintf(stderr, "berth exec: %s `%s`\n",
                    missing ? "a value is missing after" : "unknown option", argv[i]);
            return -1;
        }
    }
    if (i + 1 >= argc) {
        fprintf(stderr, "berth exec: a container and a command are required: berth exec "
                        "[OPTIONS] CONTAINER CMD...\n");
        return -1;
    }
    o->ctr = argv[i];
    o->cmd = argv + i + 1;
    return 0;
}

/* POST /containers/{id}/exec: the exec's ID in *id, or -1 after saying why. */
static int exec_create(struct client *cl, struct exec_opts *o, char **id)
{
    json_t *cmd = json_array();
    for (char **a = o->cmd; *a; a++)
        json_array_append_new(cmd, json_string(*a));
    json_object_set_new(o->body, "Cmd", cmd);
    json_object_set_new(o->body, "AttachStdout", json_boolean(!o->detach));
    json_object_set_new(o->body, "AttachStderr", json_boolean(!o->detach));
    struct buf path = {0};
    buf_puts(&path, "/containers/");
    query_escape(&path, o->ctr);
    buf_puts(&path, "/exec");
    _cleanup_json_ json_t *j = NULL;
    int r = call(cl, "POST", path.data, o->body, &j);
    buf_free(&path);
    if (r < 0)
        return -1;
    *id = json_get_str(j, "Id") ? strdup(json_get_str(j, "Id")) : NULL;
    if (!*id)
        fprintf(stderr, "berth: the engine's exec answer has no Id\n");
    return *id ? 0 : -1;
}

/* The exec's ExitCode once it has run (its stream has ended), as docker exec reads it. */
static int exec_exit_code(struct client *cl, const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), "/exec/%s/json", id);
    _cleanup_json_ json_t *j = call_json(cl, path);
    return j ? (int)json_get_int(j, "ExitCode", EXIT_ENGINE) : EXIT_ENGINE;
}

/* Round trips: create; start (its own connection, hijacked: the output until the process is
 * done); inspect for the exit code. -d: create, start detached. */
static int cmd_exec(struct client *cl, int argc, char **argv)
{
    _cleanup_json_ json_t *body = json_object();
    struct exec_opts o = {.body = body};
    if (parse_exec(argc, argv, &o) < 0)
        return EXIT_ENGINE;
    _cleanup_free_ char *id = NULL;
    if (exec_create(cl, &o, &id) < 0)
        return 1;
    char path[128];
    snprintf(path, sizeof(path), "/exec/%s/start", id);
    if (o.detach) {
        _cleanup_json_ json_t *start = json_pack("{sb}", "Detach", 1), *j = NULL;
        return call(cl, "POST", path, start, &j) < 0 ? 1 : 0;
    }
    _cleanup_(http_client_close) struct http_client at = {.fd = -1};
    if (stream_begin_body(cl->host, "POST", path,
                          "Connection: Upgrade\r\nUpgrade: tcp\r\n"
                          "Content-Type: application/json\r\n",
                          "{\"Detach\":false,\"Tty\":false}", &at) < 0 ||
        stream_head(&at, "exec") < 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    copy_output(&at, cl, id); /* no signal is forwarded: docker exec proxies none */
    return exec_exit_code(cl, id);
}

/* ---- inspect ---- */

/* The last start's phases (StartTrace: name -> microseconds, TotalUs the whole), one per line
 * in the engine's order, in milliseconds, then the total. */
static int print_trace(const char *name, const json_t *trace)
{
    if (!json_is_object(trace)) {
        fprintf(stderr, "berth: %s has no start trace (never started by this engine)\n", name);
        return 1;
    }
    const char *key;
    json_t *v;
    printf("%-12s %10s\n", "PHASE", "MS");
    json_object_foreach((json_t *)trace, key, v)
    {
        size_t n = strlen(key);
        if (!json_is_integer(v) || strcmp(key, "TotalUs") == 0)
            continue;
        printf("%-12.*s %10.3f\n", (int)(n > 2 && !strcmp(key + n - 2, "Us") ? n - 2 : n), key,
               (double)json_integer_value(v) / 1000.0);
    }
    printf("%-12s %10.3f\n", "Total", (double)json_get_int(trace, "TotalUs", 0) / 1000.0);
    return 0;
}

static int cmd_inspect(struct client *cl, int argc, char **argv)
{
    bool trace = false;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--trace") != 0) {
            fprintf(stderr, "berth inspect: unknown option `%s`\n", argv[i]);
            return 2;
        }
        trace = true;
    }
    if (i + 1 != argc) {
        fprintf(stderr, "berth inspect: one container is required: berth inspect [--trace] "
                        "CONTAINER\n");
        return 2;
    }
    struct buf path = {0};
    buf_puts(&path, "/containers/");
    query_escape(&path, argv[i]);
    buf_puts(&path, "/json");
    _cleanup_json_ json_t *j = call_json(cl, path.data);
    buf_free(&path);
    if (!j)
        return 1;
    if (trace)
        return print_trace(argv[i], json_object_get(j, "StartTrace"));
    _cleanup_free_ char *text = json_dumps(j, JSON_INDENT(4));
    printf("[\n%s\n]\n", text);
    return 0;
}

int main(int argc, char **argv)
{
    struct client cl = {.host = default_host()};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if ((strcmp(argv[i], "-H") == 0 || strcmp(argv[i], "--host") == 0) && i + 1 < argc)
            cl.host = argv[++i];
        else if (strncmp(argv[i], "--host=", 7) == 0)
            cl.host = argv[i] + 7;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return usage(stdout);
        else
            return usage(stderr);
    }
    if (i >= argc)
        return usage(stderr);
    int r;
    if (strcmp(argv[i], "ping") == 0)
        r = cmd_ping(&cl);
    else if (strcmp(argv[i], "version") == 0)
        r = cmd_version(&cl);
    else if (strcmp(argv[i], "info") == 0)
        r = cmd_info(&cl);
    else if (strcmp(argv[i], "run") == 0)
        r = cmd_run(&cl, argc - i, argv + i);
    else if (strcmp(argv[i], "exec") == 0)
        r = cmd_exec(&cl, argc - i, argv + i);
    else if (strcmp(argv[i], "inspect") == 0)
        r = cmd_inspect(&cl, argc - i, argv + i);
    else {
        fprintf(stderr, "berth: unknown command `%s`\n", argv[i]);
        return usage(stderr);
    }
    client_close(&cl);
    return r;
}
