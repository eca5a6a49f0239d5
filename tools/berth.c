/* tools/berth.c — berth's own small client: `berth version`, `berth info`, `berth ping` over
 * the engine's unix socket (-H, BERTH_HOST or DOCKER_HOST; default /run/berth/berth.sock). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/http_client.h"
#include "core/json.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.0.0-dev"
#endif

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
                 "  info       Show engine-wide information\n");
    return out == stderr ? 2 : 0;
}

/* One GET; on success *body holds the parsed JSON (or NULL for non-JSON replies). */
static int call(const char *host, const char *method, const char *path, struct http_msg **out)
{
    _cleanup_err_ struct berth_err *err = NULL;
    const char *sock = http_client_socket_path(host);
    if (!sock) {
        fprintf(stderr, "berth: unsupported host `%s` (use unix:///path)\n", host);
        return -1;
    }
    struct http_client hc;
    int r = http_client_connect_unix(&hc, sock, &err);
    if (r == 0)
        r = http_client_request(&hc, method, path, NULL, NULL, 0, out, &err);
    http_client_close(&hc);
    if (r < 0) {
        fprintf(stderr, "berth: cannot reach the engine at %s: %s\n", host, err->msg);
        return r;
    }
    if ((*out)->status >= 400) {
        json_t *j = json_loadb((*out)->body.data, (*out)->body.len, 0, NULL);
        fprintf(stderr, "Error response from daemon: %s\n",
                json_get_str(j, "message") ? json_get_str(j, "message") : (*out)->body.data);
        json_decref(j);
        http_msg_free(*out);
        return -1;
    }
    return 0;
}

static json_t *call_json(const char *host, const char *path)
{
    struct http_msg *resp = NULL;
    if (call(host, "GET", path, &resp) < 0)
        return NULL;
    json_t *j = json_loadb(resp->body.data, resp->body.len, 0, NULL);
    http_msg_free(resp);
    if (!j)
        fprintf(stderr, "berth: the engine sent malformed JSON for %s\n", path);
    return j;
}

static int cmd_ping(const char *host)
{
    struct http_msg *resp = NULL;
    if (call(host, "GET", "/_ping", &resp) < 0)
        return 1;
    printf("%s (API %s)\n", resp->body.data ? resp->body.data : "",
           http_msg_header(resp, "Api-Version") ? http_msg_header(resp, "Api-Version") : "?");
    http_msg_free(resp);
    return 0;
}

static int cmd_version(const char *host)
{
    printf("Client: berth\n Version:\t%s\n\n", BERTH_VERSION);
    _cleanup_json_ json_t *v = call_json(host, "/version");
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

static int cmd_info(const char *host)
{
    _cleanup_json_ json_t *i = call_json(host, "/info");
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

int main(int argc, char **argv)
{
    const char *host = default_host();
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if ((strcmp(argv[i], "-H") == 0 || strcmp(argv[i], "--host") == 0) && i + 1 < argc)
            host = argv[++i];
        else if (strncmp(argv[i], "--host=", 7) == 0)
            host = argv[i] + 7;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return usage(stdout);
        else
            return usage(stderr);
    }
    if (i >= argc)
        return usage(stderr);
    if (strcmp(argv[i], "ping") == 0)
        return cmd_ping(host);
    if (strcmp(argv[i], "version") == 0)
        return cmd_version(host);
    if (strcmp(argv[i], "info") == 0)
        return cmd_info(host);
    fprintf(stderr, "berth: unknown command `%s`\n", argv[i]);
    return usage(stderr);
}
