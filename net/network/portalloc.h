/* net/network/portalloc.h — host ports for published ports, reserved as dockerd's port
 * allocator and NAT port mapper reserve them (daemon/libnetwork/portallocator, userland proxy
 * off): berth's own reservations are looked at first ("Bind for 0.0.0.0:8080 failed: port is
 * already allocated"), then a socket is bound on the host address and port and held for as long
 * as the mapping lives. The socket is what finds a host process that has the port ("failed to
 * bind host port for ...: address already in use") and what keeps one from taking it later (its
 * bind fails): without it, the NAT rules would take that process's traffic without a word. It
 * never receives anything: the DNAT rules send the port's traffic on before any local socket
 * sees it, and a filter drops what might come before they exist. TCP and SCTP sockets listen
 * (backlog 0) with SO_REUSEADDR, as dockerd's: a socket bound on 0.0.0.0 then conflicts with one
 * on 127.0.0.1 as well, and ss -ltn shows the port.
 *
 * Ephemeral ports (no host port given) come from /proc/sys/net/ipv4/ip_local_port_range, read
 * once, after the last one handed out (wrapping), skipping ip_local_reserved_ports; a host port
 * range is tried from its start. A port of a range or the ephemeral range that a host process
 * holds is skipped, ten of them at most (dockerd's maxAllocateAttempts).
 *
 * Thread-safe (one mutex). The sockets are made in the calling thread's network namespace. */
#pragma once

#include <netinet/in.h>
#include <stdint.h>

#include "core/err.h"

struct portalloc;

/* A port held: its socket (-1 once released). */
struct portalloc_port {
    uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP */
    struct in_addr ip;
    uint16_t port;
    int fd;
};

/* range_path / reserved_path: NULL for /proc/sys/net/ipv4/ip_local_port_range and
 * ip_local_reserved_ports (tests give files of their own). An unreadable range is dockerd's
 * fallback 49153-65535. */
struct portalloc *portalloc_new(const char *range_path, const char *reserved_path);
void portalloc_free(struct portalloc *pa); /* the sockets are their holders' to release */
void portalloc_range(const struct portalloc *pa, uint16_t *lo, uint16_t *hi);

/* A port for proto on ip (INADDR_ANY: every address) in [lo, hi] (0 and 0: ephemeral), bound
 * and held in *out. `binding` names the mapping in dockerd's form for the words of a bind
 * failure ("0.0.0.0:8080:172.17.0.2:80/tcp"). Errors, in dockerd's words: "Bind for IP:PORT
 * failed: port is already allocated" (EADDRINUSE: berth holds it, IP the address it is held
 * on), "all ports are allocated" (EADDRINUSE), "failed to bind host port for BINDING: address
 * already in use" (the socket's errno in Go's words; with a range "failed to bind host port
 * PORT for BINDING: ..."). */
int portalloc_reserve(struct portalloc *pa, uint8_t proto, struct in_addr ip, uint16_t lo,
                      uint16_t hi, const char *binding, struct portalloc_port *out,
                      struct berth_err **err);
/* Its socket closed and the port free again; a port already released is left alone. */
void portalloc_release(struct portalloc *pa, struct portalloc_port *p);
