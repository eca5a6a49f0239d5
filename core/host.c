/* core/host.c — reads uname, /etc/os-release and /proc/meminfo. Runs before the reactor
 * starts, so its small blocking reads never stall a request. */
#include "core/host.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/macros.h"
#include "core/xalloc.h"

static const char *go_arch(const char *machine)
{
    static const char *const map[][2] = {
        {"x86_64", "amd64"},    {"aarch64", "arm64"}, {"armv7l", "arm"},     {"i686", "386"},
        {"ppc64le", "ppc64le"}, {"s390x", "s390x"},   {"riscv64", "riscv64"}};
    for (size_t i = 0; i < ARRAY_SIZE(map); i++)
        if (strcmp(machine, map[i][0]) == 0)
            return map[i][1];
    return machine;
}

/* The unquoted value of KEY= in an os-release file, or NULL. */
static char *os_release_value(const char *key)
{
    _cleanup_fclose_ FILE *f = fopen("/etc/os-release", "re");
    if (!f)
        f = fopen("/usr/lib/os-release", "re");
    char line[512];
    size_t klen = strlen(key);
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, klen) != 0 || line[klen] != '=')
            continue;
        char *v = line + klen + 1;
        v[strcspn(v, "\n")] = '\0';
        size_t n = strlen(v);
        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
            v[n - 1] = '\0';
            v++;
        }
        return xstrdup(v);
    }
    return NULL;
}

static int64_t mem_total(void)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/meminfo", "re");
    char line[256];
    long long kb;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "MemTotal: %lld kB", &kb) == 1)
            return (int64_t)kb * 1024;
    return 0;
}

/* The CPUs this process may run on, as Go's runtime.NumCPU (and so dockerd's NCPU) counts
 * them. */
static long ncpu(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    return sysconf(_SC_NPROCESSORS_ONLN);
}

bool host_ipv4_forwarding(void)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/sys/net/ipv4/ip_forward", "re");
    int v = 0;
    return f && fscanf(f, "%d", &v) == 1 && v != 0;
}

void host_info_load(struct host_info *h)
{
    struct utsname u;
    char name[256] = "";
    uname(&u);
    gethostname(name, sizeof(name) - 1);
    h->kernel = xstrdup(u.release);
    h->machine = xstrdup(u.machine);
    h->arch = go_arch(h->machine);
    h->hostname = xstrdup(name);
    h->os_name = os_release_value("PRETTY_NAME");
    if (!h->os_name)
        h->os_name = xstrdup("Linux");
    h->os_version = os_release_value("VERSION_ID");
    if (!h->os_version)
        h->os_version = xstrdup("");
    h->ncpu = ncpu();
    h->mem_total = mem_total();
}

void host_info_free(struct host_info *h)
{
    free(h->kernel);
    free(h->machine);
    free(h->hostname);
    free(h->os_name);
    free(h->os_version);
}
