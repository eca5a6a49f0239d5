/* tests/integration/netpeer.c — the network peers busybox lacks, built static so it also runs
 * inside a busybox container (bind-mounted): 56-ports.bats and bench/net compile it with
 * `cc -static -O2 -o netpeer netpeer.c`.
 *   netpeer udp-echo PORT          answers each datagram with "SRC-IP PAYLOAD" (who it saw)
 *   netpeer tcp-who PORT           answers each connection with "SRC-IP\n" and closes it
 *   netpeer tcp-sink PORT          reads and drops each connection's bytes, one at a time
 *   netpeer udp-ask IP PORT TEXT   sends TEXT, prints the answer (exit 1 after 2 s without)
 *   netpeer send IP PORT MIB       sends MIB MiB, waits for the peer to close, prints MiB/s */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
    perror(what);
    exit(2);
}

static int listener(int type, int port)
{
    int fd = socket(AF_INET, type, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (fd < 0)
        die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die("bind");
    if (type == SOCK_STREAM && listen(fd, 64) < 0)
        die("listen");
    return fd;
}

static struct sockaddr_in addr_of(const char *ip, const char *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
        fprintf(stderr, "netpeer: bad address %s\n", ip);
        exit(2);
    }
    return sa;
}

static _Noreturn void udp_echo(int port)
{
    int fd = listener(SOCK_DGRAM, port);
    for (;;) {
        char in[1024], out[1100], ip[INET_ADDRSTRLEN];
        struct sockaddr_in from;
        socklen_t len = sizeof(from);
        ssize_t n = recvfrom(fd, in, sizeof(in) - 1, 0, (struct sockaddr *)&from, &len);
        if (n < 0)
            continue;
        in[n] = 0;
        inet_ntop(AF_INET, &from.sin_addr, ip, sizeof(ip));
        int k = snprintf(out, sizeof(out), "%s %s", ip, in);
        sendto(fd, out, (size_t)k, 0, (struct sockaddr *)&from, len);
    }
}

static _Noreturn void tcp_serve(int port, int who)
{
    int fd = listener(SOCK_STREAM, port);
    static char buf[1 << 20];
    for (;;) {
        struct sockaddr_in from;
        socklen_t len = sizeof(from);
        int c = accept(fd, (struct sockaddr *)&from, &len);
        if (c < 0)
            continue;
        if (who) {
            char ip[INET_ADDRSTRLEN + 1];
            inet_ntop(AF_INET, &from.sin_addr, ip, INET_ADDRSTRLEN);
            strcat(ip, "\n");
            if (write(c, ip, strlen(ip)) < 0)
                perror("write");
        } else {
            while (read(c, buf, sizeof(buf)) > 0)
                ;
        }
        close(c);
    }
}

static int udp_ask(const char *ip, const char *port, const char *text)
{
    struct sockaddr_in sa = addr_of(ip, port);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct timeval tv = {.tv_sec = 2};
    char buf[1200];
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (sendto(fd, text, strlen(text), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die("sendto");
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
    if (n < 0)
        return 1;
    buf[n] = 0;
    printf("%s\n", buf);
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int send_mib(const char *ip, const char *port, long mib)
{
    struct sockaddr_in sa = addr_of(ip, port);
    static char buf[1 << 20];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die("connect");
    double t0 = now();
    for (long i = 0; i < mib; i++)
        for (size_t off = 0; off < sizeof(buf);) {
            ssize_t n = write(fd, buf + off, sizeof(buf) - off);
            if (n <= 0)
                die("write");
            off += (size_t)n;
        }
    shutdown(fd, SHUT_WR);
    while (read(fd, buf, sizeof(buf)) > 0) /* the sink closes once it has read everything */
        ;
    printf("%.1f\n", (double)mib / (now() - t0));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "udp-echo"))
        udp_echo(atoi(argv[2]));
    if (argc == 3 && !strcmp(argv[1], "tcp-who"))
        tcp_serve(atoi(argv[2]), 1);
    if (argc == 3 && !strcmp(argv[1], "tcp-sink"))
        tcp_serve(atoi(argv[2]), 0);
    if (argc == 5 && !strcmp(argv[1], "udp-ask"))
        return udp_ask(argv[2], argv[3], argv[4]);
    if (argc == 5 && !strcmp(argv[1], "send"))
        return send_mib(argv[2], argv[3], atol(argv[4]));
    fprintf(stderr, "usage: netpeer udp-echo|tcp-who|tcp-sink PORT | udp-ask IP PORT TEXT | "
                    "send IP PORT MIB\n");
    return 2;
}
