/* bench/api/load.c — keep-alive load client: N connections, each sending M requests for one
 * path over a unix socket, one request in flight per connection. Prints req/s and µs/req. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/http_client.h"

struct worker {
    pthread_t t;
    const char *sock, *path;
    long requests, ok, failed;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    struct http_client hc;
    if (http_client_connect_unix(&hc, w->sock, NULL) < 0) {
        w->failed = w->requests;
        return NULL;
    }
    for (long i = 0; i < w->requests; i++) {
        struct http_msg *resp = NULL;
        if (http_client_request(&hc, "GET", w->path, NULL, NULL, 0, &resp, NULL) == 0 &&
            resp->status == 200)
            w->ok++;
        else
            w->failed++;
        http_msg_free(resp);
    }
    http_client_close(&hc);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: api-load SOCKET PATH CONNECTIONS REQUESTS-PER-CONNECTION\n");
        return 2;
    }
    int n = atoi(argv[3]);
    long m = atol(argv[4]);
    struct worker *w = calloc((size_t)n, sizeof(*w));
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        w[i] = (struct worker){.sock = argv[1], .path = argv[2], .requests = m};
        pthread_create(&w[i].t, NULL, run, &w[i]);
    }
    long ok = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(w[i].t, NULL);
        ok += w[i].ok;
        failed += w[i].failed;
    }
    double secs = now_s() - t0;
    /* one line, key=value, for bench/run to parse */
    printf("requests=%ld failed=%ld seconds=%.3f rps=%.0f us_per_req=%.2f\n", ok, failed, secs,
           ok / secs, secs * 1e6 * n / (ok ? ok : 1));
    free(w);
    return failed ? 1 : 0;
}
