/* cgroup/stats.h — a container's counters as `docker stats` shows them, from cgroup v1 or v2:
 * read with one pread per file on files opened once (a reader), plus the host's CPU time from
 * /proc/stat that CPU percentages are taken against, and the pids of a cgroup for `docker top`.
 * Reading blocks (a pool job); making and freeing a reader does not. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"

struct cgroup;

#define CGROUP_STATS_MEM_KEYS 40 /* room for the longest list below (v1: 32, v2: 31) */
#define CGROUP_STATS_FDS_MAX  12 /* files a reader holds open: v1 12, v2 8 */

/* One line of a block I/O counter file: 8:0 Read 4096 (v1 op as the kernel writes it: Read,
 * Write, Sync, Async, Discard, Total; v2 "read" or "write" as dockerd names io.stat's). */
struct cgroup_io_entry {
    uint64_t major, minor;
    char op[12];
    uint64_t value;
};

struct cgroup_stats {
    int version;
    /* cpu: nanoseconds; percpu only on v1 (cpuacct.usage_percpu, one entry per possible CPU) */
    uint64_t cpu_total, cpu_user, cpu_kernel;
    uint64_t *percpu;
    size_t npercpu;
    uint64_t periods, throttled_periods, throttled_time; /* throttled_time in ns */
    /* memory: bytes; max_usage is v1's only (dockerd shows none on v2); limit as the file
     * says (v1's "unlimited" is 9223372036854771712, v2's "max" UINT64_MAX: dockerd caps it at
     * the machine's memory) */
    bool has_memory;
    uint64_t mem_usage, mem_max_usage, mem_failcnt, mem_limit;
    uint64_t mem_stat[CGROUP_STATS_MEM_KEYS]; /* by cgroup_stats_mem_keys(version) */
    /* pids: v1 reads "max" as 0 and v2 as UINT64_MAX, as dockerd's cgroups library does */
    bool has_pids;
    uint64_t pids_current, pids_limit;
    /* block I/O: bytes and operations (v1 blkio.throttle.io_service_bytes and io_serviced;
     * v2 io.stat's rbytes and wbytes, no operations: dockerd shows none there) */
    struct cgroup_io_entry *io_bytes, *io_ops;
    size_t nio_bytes, nio_ops;
};

/* The memory.stat keys dockerd shows, sorted as Go writes a map's keys, NULL-terminated. */
const char *const *cgroup_stats_mem_keys(int version);
void cgroup_stats_free(struct cgroup_stats *s); /* its arrays; s itself is the caller's */

/* A reader of one cgroup's counter files. New: a copy of where cg lives, no syscall; its files
 * are opened at the first read and stay open until cgroup_stats_reader_close (or free). */
struct cgroup_stats_reader;
struct cgroup_stats_reader *cgroup_stats_reader_new(const struct cgroup *cg);
void cgroup_stats_reader_free(struct cgroup_stats_reader *r);
/* Blocking. Fills out (zeroed first): ENOENT when the cgroup is gone, another error when a
 * file that was opened cannot be read (the cgroup was removed under it). A file the host lacks
 * (a controller not mounted) leaves its part zero. cpu_only reads the CPU counters alone (the
 * earlier sample a CPU percentage needs). */
int cgroup_stats_read(struct cgroup_stats_reader *r, struct cgroup_stats *out, bool cpu_only);
/* Close the files it holds (they are opened again at the next read); their count before. */
int cgroup_stats_reader_close(struct cgroup_stats_reader *r);
int cgroup_stats_reader_fds(const struct cgroup_stats_reader *r);

/* The host's CPU time as dockerd reads it: the first seven fields of /proc/stat's "cpu" line,
 * in nanoseconds (USER_HZ is 100), and the count of "cpuN" lines. fd: /proc/stat, read with
 * pread at 0. */
int cgroup_host_cpu(int fd, uint64_t *total_ns, uint32_t *online);

/* Blocking: the pids in the cgroup (v1: its pids controller, else memory, else cpu), sorted as
 * the kernel lists them. ENOENT when it is gone. */
int cgroup_procs(const struct cgroup *cg, pid_t **pids, size_t *n, struct berth_err **err);

/* The parsers, for the unit tests. Each takes a NUL-terminated file's text. */
void cgroup_parse_percpu(const char *text, struct cgroup_stats *s);
void cgroup_parse_cpuacct_stat(const char *text, struct cgroup_stats *s);
void cgroup_parse_cpu_stat(const char *text, struct cgroup_stats *s);
void cgroup_parse_mem_stat(const char *text, struct cgroup_stats *s);
uint64_t cgroup_parse_u64(const char *text, uint64_t max_value);
size_t cgroup_parse_blkio(const char *text, struct cgroup_io_entry **out);
size_t cgroup_parse_io_stat(const char *text, struct cgroup_io_entry **out);
uint64_t cgroup_parse_key(const char *text, const char *key); /* "oom 3" in memory.events */
int cgroup_parse_proc_stat(const char *text, uint64_t *total_ns, uint32_t *online);
