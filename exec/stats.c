/* exec/stats.c — dockerd's stats collector (daemon/stats/collector.go) on the reactor: every
 * container someone asks about has an entry; one timer plans rounds, and a round is one pool
 * job (two or more for many containers) reading every due entry's cgroup with its reader's
 * preads and rendering the samples there, so the reactor only hands out text.
 *
 * When samples are due: streams once a second, all in the same round (a new stream waits for
 * the next one, as with dockerd); single answers in the next round, which starts at the end of
 * the reactor turn that asked (a burst of requests shares one). A round between ticks walks only
 * the entries queued for it (new requests, answers waiting for their time), not every entry: a
 * thousand single answers over a few connections cost a thousand small rounds.
 *
 * A single answer with an earlier sample (stream=false: dockerd waits for its collector's next
 * two samples, one to three seconds) takes the newer of the entry's last two reads that is 100 ms
 * to 2 s old; when the newest is younger it waits until that one is 100 ms old, and when there is
 * none it reads the CPU counters now and answers 100 ms later. Over such a short window
 * /proc/stat's 10 ms ticks per field would be off by 15 %, so that answer's earlier
 * system_cpu_usage is the current one less the elapsed time on every online CPU, which is what
 * /proc/stat counts; streams keep dockerd's two /proc/stat readings a second apart (each
 * stream's earlier sample is the previous tick's read, whatever single answers read between).
 *
 * An entry keeps its reader's files open (12 per container on v1, 8 on v2) and its last reads
 * for 2 s after its last subscriber, so a follow-up request costs a few preads; past an fd budget
 * (half of RLIMIT_NOFILE) readers open and close their files at each read instead. */
#include "exec/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "core/cleanup.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/map.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "exec/effective.h"

#define TICK_MS       1000 /* dockerd's collector interval */
#define PRE_MIN_MS    100  /* the shortest window a CPU percentage is taken over */
#define PRE_MAX_MS    2000 /* ... and the oldest earlier sample a single answer takes */
#define LINGER_MS     2000 /* an entry without subscribers keeps its files and last read */
#define SWEEP_MS      500  /* ... give or take this */
#define JOB_MIN_ITEMS 16   /* a round splits into parallel jobs of at least this many */
#define MAX_JOBS      4

enum pre_kind { PRE_NONE, PRE_AS_READ, PRE_OVER_CLOCK, PRE_KINDS };

struct stats_entry {
    char id[65];
    struct ctr_stats_sub *subs;
    struct cgroup_stats_reader *reader;
    char *run; /* StartedAt of the run the reader and samples belong to */
    /* the CPU part of the two latest reads, newest first, and of the latest tick's read (a
     * stream's earlier sample); read_ns 0: none */
    struct ctr_sample hist[2], at_tick;
    uint64_t used_ms; /* its subscribers' last activity: it lingers LINGER_MS after */
    int fds;          /* its reader holds */
    bool net;         /* the run has a network namespace of its own with interfaces */
    bool queued;      /* in the collector's queue for the next round between ticks */
    unsigned planned; /* the round it was last put in */
    struct stats_entry *qnext;
};

/* One entry's part of a round. */
struct item {
    struct stats_entry *e;
    char *name;
    bool running, gone, cpu_only, keep_open, want_net, tick, cold, want[PRE_KINDS];
    pid_t pid;
    struct ctr_sample pre[PRE_KINDS]; /* the earlier sample of each kind wanted */
    struct ctr_sample cur;
    struct buf text[PRE_KINDS];
    int fds_after;
};

struct round_job {
    struct pool_job job;
    struct ctr_stats *st;
    unsigned round;
    struct item *items;
    size_t n;
    struct round_job *next;
};

struct ctr_stats {
    struct exec_env *env;
    uint64_t mem_total;
    ctr_stats_render_fn render;
    struct map entries; /* by container ID */
    struct stats_entry *queue;
    struct reactor_timer timer;
    uint64_t timer_due; /* 0: not armed */
    uint64_t next_tick; /* when streams are due */
    uint64_t sweep_at;  /* when a lingering entry is due to go (a walk of every entry); 0: none */
    uint64_t swept_ms;  /* the last walk for lingering entries */
    uint64_t warmed_ms; /* the last round that read every running container's CPU counters */
    size_t nstreams;
    unsigned round;
    int inflight;
    struct round_job *jobs; /* in flight, for ctr_stats_free */
    int proc_stat;
    int fds, fd_budget, max_jobs;
};

/* ---- samples ---- */

static void sample_free(struct ctr_sample *s)
{
    cgroup_stats_free(&s->cg);
    free(take_ptr(s->nets));
    s->nnets = 0;
}

/* The CPU half of src (what a later sample's precpu is), its per-CPU list copied. */
static void copy_cpu(struct ctr_sample *dst, const struct ctr_sample *src)
{
    const struct cgroup_stats *c = &src->cg;
    *dst = (struct ctr_sample){.running = src->running,
                               .read_ns = src->read_ns,
                               .mono_us = src->mono_us,
                               .system_cpu = src->system_cpu,
                               .online_cpus = src->online_cpus};
    dst->cg = (struct cgroup_stats){.version = c->version,
                                    .cpu_total = c->cpu_total,
                                    .cpu_user = c->cpu_user,
                                    .cpu_kernel = c->cpu_kernel,
                                    .periods = c->periods,
                                    .throttled_periods = c->throttled_periods,
                                    .throttled_time = c->throttled_time,
                                    .npercpu = c->npercpu};
    if (c->npercpu) {
        dst->cg.percpu = xmalloc(c->npercpu * sizeof(*c->percpu));
        memcpy(dst->cg.percpu, c->percpu, c->npercpu * sizeof(*c->percpu));
    }
}

size_t ctr_stats_parse_net_dev(const char *text, struct ctr_net_stat **out)
{
    size_t n = 0, cap = 0;
    *out = NULL;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n'), *colon = strchr(p, ':');
        const char *end = nl ? nl : p + strlen(p);
        if (colon && colon < end) {
            struct ctr_net_stat s = {0};
            const char *name = p + strspn(p, " ");
            size_t len = (size_t)(colon - name);
            unsigned long long v[16] = {0};
            if (len > 0 && len < sizeof(s.name) &&
                sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
                       &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10],
                       &v[11]) == 12 &&
                !(len == 2 && memcmp(name, "lo", 2) == 0)) {
                memcpy(s.name, name, len);
                /* receive: bytes packets errs drop fifo frame compressed multicast; transmit:
                 * bytes packets errs drop ... */
                s.rx_bytes = v[0], s.rx_packets = v[1], s.rx_errors = v[2], s.rx_dropped = v[3];
                s.tx_bytes = v[8], s.tx_packets = v[9], s.tx_errors = v[10], s.tx_dropped = v[11];
                if (n == cap)
                    *out = xrealloc(*out, (cap = cap ? 2 * cap : 4) * sizeof(**out));
                (*out)[n++] = s;
            }
        }
        p = nl ? nl + 1 : end;
    }
    return n;
}

/* Its own network namespace's interfaces, from its init process's view. */
static void read_nets(pid_t pid, struct ctr_sample *s)
{
    char path[64], buf[16384];
    snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)pid);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
    if (n <= 0)
        return;
    buf[n] = '\0';
    s->nnets = ctr_stats_parse_net_dev(buf, &s->nets);
}

/* ---- a round's job (pool thread) ---- */

/* The host's CPU time as of a read that is at most HOST_CPU_REUSE_US old: /proc/stat costs as
 * much as half a container's files, and its counters move in 10 ms ticks anyway. */
#define HOST_CPU_REUSE_US 1000

struct host_cpu {
    int64_t at; /* monotonic µs of the read, 0: none yet */
    uint64_t total_ns;
    uint32_t online;
};

static void host_cpu_now(struct ctr_stats *st, struct host_cpu *h, struct ctr_sample *s)
{
    int64_t now = mono_us();
    if (!h->at || now - h->at > HOST_CPU_REUSE_US) {
        h->total_ns = 0;
        h->online = 0;
        cgroup_host_cpu(st->proc_stat, &h->total_ns, &h->online);
        h->at = now;
    }
    s->system_cpu = h->total_ns;
    s->online_cpus = h->online;
}

static void read_item(struct ctr_stats *st, struct host_cpu *host, struct item *it)
{
    struct stats_entry *e = it->e;
    it->cur.running = false;
    if (!it->running)
        return;
    if (cgroup_stats_read(e->reader, &it->cur.cg, it->cpu_only) < 0) {
        cgroup_stats_reader_close(e->reader); /* gone under us: it exited */
        it->fds_after = 0;
        return; /* the empty sample, as dockerd gives for a container that does not run */
    }
    /* the host's CPU time right after the container's, as dockerd samples it */
    host_cpu_now(st, host, &it->cur);
    it->cur.running = true;
    it->cur.read_ns = time_now_ns();
    it->cur.mono_us = mono_us();
    if (!it->keep_open)
        cgroup_stats_reader_close(e->reader);
    it->fds_after = cgroup_stats_reader_fds(e->reader);
    if (it->want_net && !it->cpu_only)
        read_nets(it->pid, &it->cur);
}

static void render_item(struct ctr_stats *st, struct item *it)
{
    struct ctr_stats_view v = {
        .id = it->e->id, .name = it->name, .mem_total = st->mem_total, .cur = &it->cur};
    for (int k = 0; k < PRE_KINDS; k++) {
        if (!it->want[k])
            continue;
        struct ctr_sample pre = it->pre[k];
        if (k == PRE_OVER_CLOCK && it->cur.running && pre.read_ns &&
            it->cur.mono_us > pre.mono_us) {
            uint64_t span = (uint64_t)(it->cur.mono_us - pre.mono_us) * 1000 * it->cur.online_cpus;
            pre.system_cpu = it->cur.system_cpu > span ? it->cur.system_cpu - span : 0;
        }
        v.pre = k == PRE_NONE || !it->cur.running || !pre.read_ns ? NULL : &pre;
        st->render(&v, &it->text[k]);
    }
}

static void round_work(struct pool_job *job)
{
    struct round_job *j = (struct round_job *)job;
    struct host_cpu host = {0};
    for (size_t i = 0; i < j->n; i++) {
        read_item(j->st, &host, &j->items[i]);
        if (!j->items[i].cpu_only)
            render_item(j->st, &j->items[i]);
    }
}

/* ---- planning (reactor) ---- */

static void plan(struct ctr_stats *st);

static void on_timer(struct reactor_timer *t)
{
    struct ctr_stats *st = container_of(t, struct ctr_stats, timer);
    st->timer_due = 0;
    plan(st);
}

/* Plan again at due (monotonic ms), unless a round is under way: its end plans. */
static void wake_at(struct ctr_stats *st, uint64_t due)
{
    if (st->inflight || (st->timer_due && st->timer_due <= due))
        return;
    uint64_t now = mono_ms();
    st->timer_due = due;
    reactor_timer_start(st->env->r, &st->timer, due > now ? due - now : 0);
}

static void entry_reset(struct ctr_stats *st, struct stats_entry *e)
{
    st->fds -= e->fds;
    e->fds = 0;
    cgroup_stats_reader_free(take_ptr(e->reader));
    free(take_ptr(e->run));
    for (int i = 0; i < 2; i++)
        sample_free(&e->hist[i]);
    sample_free(&e->at_tick);
    memset(e->hist, 0, sizeof(e->hist));
    memset(&e->at_tick, 0, sizeof(e->at_tick));
}

static void entry_free(struct ctr_stats *st, struct stats_entry *e)
{
    entry_reset(st, e);
    free(e);
}

static void enqueue(struct ctr_stats *st, struct stats_entry *e)
{
    if (e->queued)
        return;
    e->queued = true;
    e->qnext = st->queue;
    st->queue = e;
}

/* A network of its own with interfaces (bridge's kind): none, host and container:X show none,
 * as with dockerd. */
static bool has_network(const struct container *c)
{
    const char *mode = ctr_network_mode(c);
    return strcmp(mode, "none") && strcmp(mode, "host") && strncmp(mode, "container:", 10);
}

/* The reader follows the container's runs: a new run has a new cgroup. */
static bool entry_track(struct ctr_stats *st, struct stats_entry *e, const struct container *c)
{
    const struct cgroup *cg = c ? ctr_run_cgroup(c) : NULL;
    const char *run = c ? c->state.started_at : NULL;
    if (!cg || !run) {
        if (e->reader || e->run)
            entry_reset(st, e);
        return false;
    }
    if (e->run && strcmp(e->run, run) == 0)
        return true;
    entry_reset(st, e);
    e->run = xstrdup(run);
    e->reader = cgroup_stats_reader_new(cg);
    e->net = has_network(c);
    return true;
}

/* The earlier sample a single answer takes: the newer of the last two reads that is PRE_MIN_MS
 * to PRE_MAX_MS old; NULL when none is. */
static const struct ctr_sample *usable_pre(const struct stats_entry *e, uint64_t now_ms)
{
    for (int i = 0; i < 2; i++) {
        uint64_t at = (uint64_t)e->hist[i].mono_us / 1000;
        if (e->hist[i].read_ns && now_ms >= at + PRE_MIN_MS && now_ms <= at + PRE_MAX_MS)
            return &e->hist[i];
    }
    return NULL;
}

static void serve(struct ctr_stats_sub *s, struct item *it, unsigned round, enum pre_kind k)
{
    s->_round = round;
    s->_text = k;
    it->want[k] = true;
}

static void earliest(uint64_t *next_wake, uint64_t t)
{
    if (t < *next_wake)
        *next_wake = t;
}

/* Which of e's subscribers this round serves, and with which earlier sample; *next_wake gets
 * the time the first one left waiting is due, *waiting whether one is. Returns whether e is
 * read (or its empty sample rendered) in this round at all. */
static bool plan_subs(struct stats_entry *e, struct item *it, unsigned round, uint64_t now,
                      uint64_t *next_wake, bool *waiting)
{
    bool read = false, full = false;
    const struct ctr_sample *pre = it->running ? usable_pre(e, now) : NULL;
    for (struct ctr_stats_sub *s = e->subs; s; s = s->_next) {
        if (it->gone) {
            serve(s, it, round, PRE_NONE);
        } else if (s->mode == CTR_STATS_STREAM) {
            if (!it->tick || s->paused)
                continue;
            serve(s, it, round, !s->_first && e->at_tick.read_ns ? PRE_AS_READ : PRE_NONE);
        } else if (s->mode == CTR_STATS_ONCE && it->running) {
            if (s->_awaiting)
                continue; /* its read is under way */
            if (s->_due_ms > now) {
                earliest(next_wake, s->_due_ms);
                continue;
            }
            if (!pre) {
                /* the newest too young: wait until it is old enough; none, or too old: read
                 * one now */
                uint64_t at = (uint64_t)e->hist[0].mono_us / 1000;
                bool young = e->hist[0].read_ns && now < at + PRE_MIN_MS;
                s->_due_ms = young ? at + PRE_MIN_MS : 0;
                s->_awaiting = !young;
                if (young)
                    earliest(next_wake, s->_due_ms);
                read = read || !young;
                it->cold = it->cold || !young;
                continue;
            }
            serve(s, it, round, PRE_OVER_CLOCK);
        } else { /* ONE_SHOT, or ONCE of a container that no longer runs: no earlier sample */
            serve(s, it, round, PRE_NONE);
        }
        full = true;
    }
    for (struct ctr_stats_sub *s = e->subs; s; s = s->_next) /* single answers left waiting */
        *waiting = *waiting || (s->mode == CTR_STATS_ONCE && it->running && s->_round != round);
    if (it->want[PRE_AS_READ])
        copy_cpu(&it->pre[PRE_AS_READ], &e->at_tick);
    if (it->want[PRE_OVER_CLOCK])
        copy_cpu(&it->pre[PRE_OVER_CLOCK], pre);
    it->cpu_only = !full;
    return read || full;
}

/* Submit the round's items as up to max_jobs jobs. */
static void submit_round(struct ctr_stats *st, unsigned round, struct item *items, size_t n);

struct plan {
    unsigned round;
    uint64_t now, next_wake;
    bool tick, cold;
    struct item *items;
    size_t n, cap;
};

/* A walk of every entry for the lingering ones that are due to go, at most every SWEEP_MS: each
 * entry's linger ends at its own millisecond. */
static void sweep_later(struct ctr_stats *st, uint64_t at)
{
    if (at < st->swept_ms + SWEEP_MS)
        at = st->swept_ms + SWEEP_MS;
    if (!st->sweep_at || at < st->sweep_at)
        st->sweep_at = at;
}

static void add_item(struct ctr_stats *st, struct plan *p, struct item *it)
{
    /* room for all of its files, counting those it holds already */
    it->keep_open = st->fds - it->e->fds + CGROUP_STATS_FDS_MAX <= st->fd_budget;
    it->e->planned = p->round;
    if (p->n == p->cap)
        p->items = xrealloc(p->items, (p->cap = p->cap ? 2 * p->cap : 16) * sizeof(*p->items));
    p->items[p->n++] = *it;
}

/* e's part of the round, if any; an entry without subscribers whose linger is over (or whose
 * container is gone) is freed. */
static void plan_entry(struct ctr_stats *st, struct plan *p, struct stats_entry *e)
{
    struct container *c = NULL;
    bool gone = ctr_lookup(st->env->cs, e->id, &c, NULL) < 0 || c->state.status == CTR_REMOVING;
    if (!e->subs) {
        if (gone || p->now >= e->used_ms + LINGER_MS) {
            map_del(&st->entries, e->id);
            entry_free(st, e);
        } else {
            sweep_later(st, e->used_ms + LINGER_MS);
        }
        return;
    }
    struct item it = {.e = e, .gone = gone, .tick = p->tick}; /* gone: all hear of it now */
    bool waiting = false;
    it.running = entry_track(st, e, gone ? NULL : c);
    bool read = plan_subs(e, &it, p->round, p->now, &p->next_wake, &waiting);
    if (waiting) /* a single answer waits for its time or its read: the next rounds look again */
        enqueue(st, e);
    if (!read)
        return;
    it.name = xstrdup(gone ? "" : c->name);
    it.pid = it.running ? c->state.pid : 0;
    it.want_net = it.running && !it.cpu_only && e->net;
    p->cold = p->cold || it.cold;
    add_item(st, p, &it);
}

/* A single answer that had to read a container's CPU counters and wait is likely the first of
 * a sweep over many containers (docker stats --no-stream asks for every one at once; monitoring
 * tools ask one after the other): the same round reads every other running container's CPU
 * counters that has no recent sample, so that their answers in the next PRE_MAX_MS need no
 * wait. At most once per PRE_MAX_MS; on v1 four small files a container, one on v2. */
static void prewarm(struct ctr_stats *st, struct plan *p)
{
    struct container *c;
    st->warmed_ms = p->now;
    for (size_t i = 0; (c = ctr_next(st->env->cs, &i));) {
        if (!ctr_run_cgroup(c) || c->state.status == CTR_RESTARTING)
            continue;
        struct stats_entry *e = map_get(&st->entries, c->id);
        if (e &&
            (e->planned == p->round ||
             (e->hist[0].read_ns && p->now < (uint64_t)e->hist[0].mono_us / 1000 + PRE_MAX_MS / 2)))
            continue;
        if (!e) {
            e = xcalloc(1, sizeof(*e));
            memcpy(e->id, c->id, sizeof(e->id));
            map_put(&st->entries, c->id, e);
        }
        e->used_ms = p->now; /* it lingers as an entry whose subscribers left */
        sweep_later(st, p->now + LINGER_MS);
        struct item it = {.e = e, .cpu_only = true, .name = xstrdup(c->name)};
        it.running = entry_track(st, e, c);
        if (!it.running) {
            free(it.name);
            continue;
        }
        add_item(st, p, &it);
    }
}

static void plan(struct ctr_stats *st)
{
    if (st->inflight)
        return;
    struct plan p = {.now = mono_ms(), .next_wake = UINT64_MAX};
    p.tick = st->nstreams > 0 && p.now >= st->next_tick;
    p.round = ++st->round ? st->round : ++st->round;
    bool sweep = st->sweep_at && p.now >= st->sweep_at;
    struct stats_entry *queue = take_ptr(st->queue);
    for (struct stats_entry *e = queue; e; e = e->qnext)
        e->queued = false;
    if (p.tick || sweep) { /* every entry: streams are due, or lingering ones may go */
        st->sweep_at = 0;
        st->swept_ms = p.now;
        const char *id;
        void *v;
        for (size_t i = 0; map_next(&st->entries, &i, &id, &v);)
            plan_entry(st, &p, v);
    } else {
        for (struct stats_entry *e = queue, *next; e; e = next) {
            next = e->qnext;
            plan_entry(st, &p, e);
        }
    }
    if (p.cold && p.now >= st->warmed_ms + PRE_MAX_MS)
        prewarm(st, &p);
    if (p.tick)
        st->next_tick = p.now + TICK_MS;
    if (st->nstreams)
        earliest(&p.next_wake, st->next_tick > p.now ? st->next_tick : p.now);
    if (st->sweep_at)
        earliest(&p.next_wake, st->sweep_at);
    if (p.n) {
        submit_round(st, p.round, p.items, p.n);
        return;
    }
    free(p.items);
    if (p.next_wake != UINT64_MAX)
        wake_at(st, p.next_wake);
}

/* ---- a round's end (reactor) ---- */

static void unlink_sub(struct ctr_stats *st, struct ctr_stats_sub *s)
{
    struct stats_entry *e = s->_entry;
    for (struct ctr_stats_sub **p = &e->subs; *p; p = &(*p)->_next)
        if (*p == s) {
            *p = s->_next;
            break;
        }
    if (s->mode == CTR_STATS_STREAM)
        st->nstreams--;
    s->_entry = NULL;
    e->used_ms = mono_ms();
    if (!e->subs)
        sweep_later(st, e->used_ms + LINGER_MS);
}

/* Hand the texts to the subscribers this round served. A callback may unsubscribe others (or
 * subscribe new ones), so each is looked for again in the entry's list. */
static void deliver_item(struct ctr_stats *st, unsigned round, struct item *it)
{
    struct stats_entry *e = it->e;
    for (;;) {
        struct ctr_stats_sub *s = e->subs;
        while (s && s->_round != round)
            s = s->_next;
        if (!s)
            return;
        s->_round = 0;
        struct buf *text = &it->text[s->_text];
        if (s->mode != CTR_STATS_STREAM || it->gone)
            unlink_sub(st, s);
        if (s->mode == CTR_STATS_STREAM && it->gone) {
            s->end(s);
            continue;
        }
        s->_first = false;
        s->deliver(s, text->data ? text->data : "", text->len);
    }
}

static void item_free(struct item *it)
{
    sample_free(&it->cur);
    for (int k = 0; k < PRE_KINDS; k++) {
        sample_free(&it->pre[k]);
        buf_free(&it->text[k]);
    }
    free(it->name);
}

static void finish_item(struct ctr_stats *st, unsigned round, struct item *it)
{
    struct stats_entry *e = it->e;
    st->fds += it->fds_after - e->fds;
    e->fds = it->fds_after;
    /* kept only PRE_MIN_MS or more after the newest kept one: the two kept stay that far
     * apart, so that one of them is always old enough for a single answer, however often
     * single answers read */
    bool keep = !e->hist[0].read_ns || it->cur.mono_us - e->hist[0].mono_us >= PRE_MIN_MS * 1000;
    if (it->cur.running && keep) {
        sample_free(&e->hist[1]);
        e->hist[1] = e->hist[0];
        copy_cpu(&e->hist[0], &it->cur);
    }
    if (it->cur.running && it->tick && !it->cpu_only) {
        sample_free(&e->at_tick);
        copy_cpu(&e->at_tick, &it->cur);
    }
    /* the single answers that waited for this read answer PRE_MIN_MS after it */
    for (struct ctr_stats_sub *s = e->subs; s; s = s->_next)
        if (s->_awaiting) {
            s->_awaiting = false;
            s->_due_ms = (uint64_t)e->hist[0].mono_us / 1000 + PRE_MIN_MS; /* failed: at once */
            enqueue(st, e);
        }
    deliver_item(st, round, it);
    e->used_ms = mono_ms();
    item_free(it);
}

static void round_done(struct pool_job *job)
{
    struct round_job *j = (struct round_job *)job;
    struct ctr_stats *st = j->st;
    for (struct round_job **p = &st->jobs; *p; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            break;
        }
    for (size_t i = 0; i < j->n; i++)
        finish_item(st, j->round, &j->items[i]);
    free(j->items);
    free(j);
    if (--st->inflight == 0)
        wake_at(st, mono_ms());
}

static void submit_round(struct ctr_stats *st, unsigned round, struct item *items, size_t n)
{
    size_t jobs = (n + JOB_MIN_ITEMS - 1) / JOB_MIN_ITEMS;
    jobs = jobs > (size_t)st->max_jobs ? (size_t)st->max_jobs : jobs;
    size_t per = (n + jobs - 1) / jobs;
    for (size_t at = 0; at < n; at += per) {
        size_t k = n - at < per ? n - at : per;
        struct round_job *j = xcalloc(1, sizeof(*j));
        *j = (struct round_job){.job = {.work = round_work, .done = round_done},
                                .st = st,
                                .round = round,
                                .items = xmalloc(k * sizeof(*items)),
                                .n = k,
                                .next = st->jobs};
        memcpy(j->items, items + at, k * sizeof(*items));
        st->jobs = j;
        st->inflight++;
    }
    free(items);
    /* submitted after counting them all: a job that ends at once must not plan meanwhile */
    for (struct round_job *j = st->jobs; j; j = j->next)
        pool_submit(st->env->pool, POOL_LATENCY, &j->job);
}

/* ---- the API ---- */

struct ctr_stats *ctr_stats_new(struct exec_env *env, uint64_t mem_total,
                                ctr_stats_render_fn render)
{
    struct ctr_stats *st = xcalloc(1, sizeof(*st));
    struct rlimit rl = {0};
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    *st = (struct ctr_stats){.env = env,
                             .mem_total = mem_total,
                             .render = render,
                             .timer = {.fn = on_timer},
                             .proc_stat = open("/proc/stat", O_RDONLY | O_CLOEXEC),
                             .max_jobs = ncpu < 1          ? 1
                                         : ncpu > MAX_JOBS ? MAX_JOBS
                                                           : (int)ncpu};
    getrlimit(RLIMIT_NOFILE, &rl);
    st->fd_budget =
        rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1 << 24) ? 1 << 23 : (int)(rl.rlim_cur / 2);
    return st;
}

void ctr_stats_free(struct ctr_stats *st)
{
    if (!st)
        return;
    reactor_timer_stop(st->env->r, &st->timer);
    while (st->jobs) { /* rounds whose end never ran: the pool has stopped */
        struct round_job *j = st->jobs;
        st->jobs = j->next;
        for (size_t i = 0; i < j->n; i++)
            item_free(&j->items[i]);
        free(j->items);
        free(j);
    }
    const char *id;
    void *v;
    for (size_t i = 0; map_next(&st->entries, &i, &id, &v);)
        entry_free(st, v);
    map_free(&st->entries);
    if (st->proc_stat >= 0)
        close(st->proc_stat);
    free(st);
}

void ctr_stats_subscribe(struct ctr_stats *st, const struct container *c, struct ctr_stats_sub *s)
{
    struct stats_entry *e = map_get(&st->entries, c->id);
    if (!e) {
        e = xcalloc(1, sizeof(*e));
        memcpy(e->id, c->id, sizeof(e->id));
        map_put(&st->entries, c->id, e);
    }
    s->_entry = e;
    s->_first = true;
    s->_awaiting = false;
    s->_round = 0;
    s->_due_ms = 0;
    s->_next = e->subs;
    e->subs = s;
    e->used_ms = mono_ms();
    if (s->mode == CTR_STATS_STREAM && st->nstreams++ == 0)
        st->next_tick = 0; /* the first stream: a round now */
    enqueue(st, e);
    wake_at(st, mono_ms());
}

void ctr_stats_unsubscribe(struct ctr_stats *st, struct ctr_stats_sub *s)
{
    if (!s->_entry)
        return;
    unlink_sub(st, s);
    if (st->sweep_at)
        wake_at(st, st->sweep_at); /* to close its files after the linger */
}
