/* exec/stats.h — the samples `docker stats` shows, as dockerd's collector makes them: one loop
 * for every container someone asks about (one reactor timer, one round of pool jobs per tick
 * reading every such container's cgroup), streams fed once a second, single answers batched
 * into the next round. Reactor thread, except the render function. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup/stats.h"
#include "core/buf.h"
#include "exec/container.h"
#include "exec/run.h"

/* One interface of the container's own network namespace (its lo left out). */
struct ctr_net_stat {
    char name[IF_NAMESIZE];
    uint64_t rx_bytes, rx_packets, rx_errors, rx_dropped;
    uint64_t tx_bytes, tx_packets, tx_errors, tx_dropped;
};

/* One sample. running false: the empty sample dockerd gives for a container that does not run
 * (its ID and name only). */
struct ctr_sample {
    bool running;
    int64_t read_ns; /* CLOCK_REALTIME */
    int64_t mono_us; /* CLOCK_MONOTONIC, for the windows between samples */
    struct cgroup_stats cg;
    uint64_t system_cpu; /* the host's CPU time, ns (/proc/stat) */
    uint32_t online_cpus;
    struct ctr_net_stat *nets; /* NULL: no network of its own beyond lo */
    size_t nnets;
};

/* What a render function gets: the container, its sample, and the earlier sample a CPU
 * percentage is taken against (NULL: none, dockerd's first stream sample and one-shot). */
struct ctr_stats_view {
    const char *id, *name;
    uint64_t mem_total; /* the machine's memory: dockerd shows no limit above it */
    const struct ctr_sample *cur, *pre;
};
/* Writes one sample as the API shows it. Runs on a pool thread. */
typedef void (*ctr_stats_render_fn)(const struct ctr_stats_view *v, struct buf *out);

enum ctr_stats_mode {
    CTR_STATS_STREAM,   /* a sample every second until unsubscribed */
    CTR_STATS_ONCE,     /* one sample with an earlier one (stream=false) */
    CTR_STATS_ONE_SHOT, /* one sample alone (stream=false&one-shot=true) */
};

/* A subscriber, the caller's memory: it must stay valid until unsubscribed, or until its last
 * deliver (ONCE, ONE_SHOT) or its end (a stream whose container was removed). */
struct ctr_stats_sub {
    enum ctr_stats_mode mode;
    /* A rendered sample. For ONCE and ONE_SHOT it is the only one, after which the collector
     * forgets the subscriber. */
    void (*deliver)(struct ctr_stats_sub *s, const char *text, size_t len);
    /* A stream's container was removed: no more samples. */
    void (*end)(struct ctr_stats_sub *s);
    /* Set while the client has not taken the last sample: a stream skips samples meanwhile. */
    bool paused;
    /* the collector's */
    struct stats_entry *_entry;
    struct ctr_stats_sub *_next;
    bool _first;      /* a stream's first sample has no earlier one */
    bool _awaiting;   /* ONCE: waits for the read its earlier sample comes from */
    uint64_t _due_ms; /* ONCE: not before this (its earlier sample must be old enough) */
    unsigned _round;  /* the round serving it, 0: none */
    int _text;        /* ... and which of the round's texts it gets */
};

struct ctr_stats;
struct ctr_stats *ctr_stats_new(struct exec_env *env, uint64_t mem_total,
                                ctr_stats_render_fn render);
/* After the pool has stopped: frees what is left (subscribers are not called). */
void ctr_stats_free(struct ctr_stats *st);
void ctr_stats_subscribe(struct ctr_stats *st, const struct container *c, struct ctr_stats_sub *s);
/* The client left: no call reaches s after this. */
void ctr_stats_unsubscribe(struct ctr_stats *st, struct ctr_stats_sub *s);

/* The interfaces other than lo in /proc/PID/net/dev's text, for the unit tests. */
size_t ctr_stats_parse_net_dev(const char *text, struct ctr_net_stat **out);
