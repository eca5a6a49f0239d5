/* core/http_client.h — a small blocking HTTP/1.1 client over a unix socket, for the berth CLI,
 * benchmarks and tests (never used on the reactor thread). Keeps the connection alive. */
#pragma once

#include <stdbool.h>
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
/* The two halves of http_client_request, for a client that keeps several connections going
 * (berth run: an attach, a wait and the start): send one request; then read its answer,
 * either its head only (head_only: *status set, the body still to come, read it later with
 * head_only false) or the whole of it into *resp (caller frees). After a 101 the bytes past
 * the head stay in hc->in: they are the hijacked stream's first bytes. */
int http_client_send(struct http_client *hc, const char *method, const char *target,
                     const char *headers, const void *body, size_t len, struct berth_err **err);
int http_client_read(struct http_client *hc, bool head_only, int *status, struct http_msg **resp,
                     struct berth_err **err);
void http_client_close(struct http_client *hc);
/* Turn a socket URL (unix:///path or a plain path) into a path; NULL for other schemes. */
const char *http_client_socket_path(const char *host);
