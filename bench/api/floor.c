/* bench/api/floor.c — the cheapest possible server, for bench/api's "floor" row: one blocking
 * thread per connection answering every read with a canned 200, so api-load measures itself. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/cleanup.h"

static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                            "Content-Length: 2\r\n\r\nOK";

/* Every request api-load sends fits one read, so one read is one request. */
static void *serve(void *arg)
{
    _cleanup_close_ int fd = (int)(long)arg;
    char in[16384];
    while (read(fd, in, sizeof(in)) > 0)
        if (send(fd, reply, sizeof(reply) - 1, MSG_NOSIGNAL) < 0)
            break;
    return NULL;
}

static int listen_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0)
        return -errno;
    return take_fd(&fd);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: api-floor SOCKET\n");
        return 2;
    }
    int lfd = listen_unix(argv[1]);
    if (lfd < 0) {
        fprintf(stderr, "api-floor: listen on %s: %s\n", argv[1], strerror(-lfd));
        return 1;
    }
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            fprintf(stderr, "api-floor: accept: %s\n", strerror(errno));
            return 1;
        }
        pthread_t t;
        if (pthread_create(&t, NULL, serve, (void *)(long)fd) != 0)
            close(fd);
        else
            pthread_detach(t);
    }
}
