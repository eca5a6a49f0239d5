/* core/host.h — facts about the machine berthd runs on, read once at start-up (kernel, OS,
 * CPUs, memory), for /info and /version. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct host_info {
    char *kernel;     /* uname -r */
    char *machine;    /* uname -m: x86_64 */
    const char *arch; /* Go's name for it: amd64 */
    char *hostname;
    char *os_name;    /* PRETTY_NAME from os-release */
    char *os_version; /* VERSION_ID */
    long ncpu;        /* the CPUs berthd may run on (its affinity mask) */
    int64_t mem_total;
};

void host_info_load(struct host_info *h);
void host_info_free(struct host_info *h);
/* /proc/sys/net/ipv4/ip_forward, read now (blocking). */
bool host_ipv4_forwarding(void);
