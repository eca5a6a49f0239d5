/* core/http_client.c — blocking request/response over one keep-alive unix socket, with the
 * same codec the server uses (http_reader in response mode). */
#include "core/http_client.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/xalloc.h"

static const struct http_limits client_limits = {
    .max_header_bytes = 1 << 20, .max_headers = 1000, .max_body = (size_t)1 << 32};

const char *http_client_socket_path(const char *host)
{
    if (strncmp(host, "unix://", 7) == 0)
        return host + 7;
    return host[0] == '/' ? host : NULL;
}

int http_client_connect_unix(struct http_client *hc, const char *path, struct berth_err **err)
{
    memset(hc, 0, sizeof(*hc));
    hc->fd = -1;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return berth_error(err, ENAMETOOLONG, "socket path `%s`", path);
    strcpy(sa.sun_path, path);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return berth_error(err, errno, "socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return berth_error(err, errno, "connect to `%s`", path);
    hc->fd = take_fd(&fd);
    return 0;
}

static int send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Feed buffered and then freshly read bytes until the head (head_only) or the whole response
 * is in. */
int http_client_read(struct http_client *hc, bool head_only, int *status, struct http_msg **resp,
                     struct berth_err **err)
{
    char chunk[65536];
    for (;;) {
        if (hc->in.len) /* http_parser takes 0 bytes as the end of the stream */
            buf_consume(&hc->in, http_reader_feed(&hc->rd, hc->in.data, hc->in.len));
        if (hc->rd.status)
            return berth_error(err, EPROTO, "bad response: %s", hc->rd.error);
        if (head_only && hc->rd.headers_done) {
            *status = hc->rd.msg->status;
            return 0;
        }
        if (hc->rd.done) {
            *resp = http_reader_take(&hc->rd);
            if (status)
                *status = (*resp)->status;
            return 0;
        }
        ssize_t n = read(hc->fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return berth_error(err, errno, "read response");
        if (n == 0) {
            http_reader_eof(&hc->rd);
            if (hc->rd.done)
                continue;
            return berth_error(err, ECONNRESET, "connection closed before the response ended");
        }
        buf_append(&hc->in, chunk, (size_t)n);
    }
}

int http_client_send(struct http_client *hc, const char *method, const char *target,
                     const char *headers, const void *body, size_t len, struct berth_err **err)
{
    struct buf req = {0};
    buf_printf(&req, "%s %s HTTP/1.1\r\nHost: berth\r\nUser-Agent: berth-cli\r\n", method, target);
    if (body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0)
        buf_printf(&req, "Content-Length: %zu\r\n", len);
    if (headers)
        buf_puts(&req, headers);
    buf_puts(&req, "\r\n");
    if (body)
        buf_append(&req, body, len);
    int r = send_all(hc->fd, req.data, req.len);
    buf_free(&req);
    if (r < 0)
        return berth_error(err, -r, "send request");
    http_reader_free(&hc->rd);
    http_reader_init(&hc->rd, HTTP_RESPONSE, &client_limits);
    hc->rd.skip_body = strcmp(method, "HEAD") == 0;
    return 0;
}

int http_client_request(struct http_client *hc, const char *method, const char *target,
                        const char *headers, const void *body, size_t len, struct http_msg **resp,
                        struct berth_err **err)
{
    int r = http_client_send(hc, method, target, headers, body, len, err);
    return r < 0 ? r : http_client_read(hc, false, NULL, resp, err);
}

void http_client_close(struct http_client *hc)
{
    if (hc->fd >= 0)
        close(hc->fd);
    hc->fd = -1;
    http_reader_free(&hc->rd);
    buf_free(&hc->in);
}
