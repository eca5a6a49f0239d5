/* core/http_client.h — a small blocking HTTP/1.1 client over a unix socket, for the berth CLI,
 * benchmarks and tests (never used on the reactor thread). Keeps the connection alive. */
#pragma once

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/http.h"

struct http_client {
    int fd;
    struct http_reader rd;
    struct buf in; /* bytes read past the last response */
};

int http_client_connect_unix(struct http_client *hc, const char *path, struct berth_err **err);
/* Send one request and read its whole response into *resp (caller frees). `headers` is extra
 * header text ("Name: value\r\n"...), may be NULL. */
int http_client_request(struct http_client *hc, const char *method, const char *target,
                        const char *headers, const void *body, size_t len, struct http_msg **resp,
                        struct berth_err **err);
void http_client_close(struct http_client *hc);
/* Turn a socket URL (unix:///path or a plain path) into a path; NULL for other schemes. */
const char *http_client_socket_path(const char *host);
