/* handlers/stats.c — GET /containers/{id}/stats: the samples exec/stats.c collects, in
 * dockerd's StatsResponse JSON (v28's field order), streamed once a second or answered once
 * (stream=false, with an earlier sample for the CPU percentage; one-shot=true without). The
 * docker CLI's columns come from it: CPU % from cpu_usage.total_usage and system_cpu_usage
 * against precpu_stats times online_cpus, MEM % from usage less inactive_file (v2) or
 * total_inactive_file (v1) over limit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "exec/stats.h"
#include "handlers/api.h"
#include "handlers/daemon.h"
#include "handlers/handlers.h"

/* ---- the JSON (pool thread) ----
 * Written by hand with a number writer of its own rather than printf: a sample has some 80
 * numbers, and a thousand samples should cost little more than reading their files. */

static void put_u64(struct buf *b, uint64_t v)
{
    char tmp[20], *p = tmp + sizeof(tmp);
    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10));
    buf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* TEXT (a key and its punctuation, e.g. ",\"periods\":") then N. */
static void put_kv(struct buf *b, const char *text, uint64_t v)
{
    buf_puts(b, text);
    put_u64(b, v);
}

/* A JSON string; names and interface names need no more than quotes and control bytes. */
static void put_str(struct buf *b, const char *s)
{
    buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            buf_printf(b, "\\u%04x", *p);
        else
            buf_append(b, p, 1);
    }
    buf_puts(b, "\"");
}

static void put_time(struct buf *b, int64_t ns)
{
    _cleanup_free_ char *t = ns ? time_format_rfc3339(ns) : xstrdup(TIME_ZERO);
    put_str(b, t);
}

/* ",KEY:N" unless N is 0 (Go's omitempty); first: no comma. */
static void put_opt(struct buf *b, bool *first, const char *key, uint64_t v)
{
    if (!v)
        return;
    buf_puts(b, *first ? "\"" : ",\"");
    buf_puts(b, key);
    put_kv(b, "\":", v);
    *first = false;
}

/* A list of block I/O entries: dockerd copies v1's lists (empty ones as []) and builds v2's
 * (none: null). */
static void put_io(struct buf *b, const char *key, const struct cgroup_io_entry *e, size_t n,
                   bool empty_is_list)
{
    buf_puts(b, "\"");
    buf_puts(b, key);
    buf_puts(b, "\":");
    if (!n && !empty_is_list) {
        buf_puts(b, "null");
        return;
    }
    buf_puts(b, "[");
    for (size_t i = 0; i < n; i++) {
        put_kv(b, i ? ",{\"major\":" : "{\"major\":", e[i].major);
        put_kv(b, ",\"minor\":", e[i].minor);
        buf_puts(b, ",\"op\":\"");
        buf_puts(b, e[i].op);
        put_kv(b, "\",\"value\":", e[i].value);
        buf_puts(b, "}");
    }
    buf_puts(b, "]");
}

static void put_blkio(struct buf *b, const struct ctr_sample *s)
{
    static const char *const rest[] = {"io_queue_recursive",     "io_service_time_recursive",
                                       "io_wait_time_recursive", "io_merged_recursive",
                                       "io_time_recursive",      "sectors_recursive"};
    bool v1 = s->running && s->cg.version == 1;
    buf_puts(b, "\"blkio_stats\":{");
    put_io(b, "io_service_bytes_recursive", s->cg.io_bytes, s->cg.nio_bytes, v1);
    buf_puts(b, ",");
    put_io(b, "io_serviced_recursive", s->cg.io_ops, s->cg.nio_ops, v1);
    for (size_t i = 0; i < sizeof(rest) / sizeof(rest[0]); i++) {
        buf_puts(b, ",");
        put_io(b, rest[i], NULL, 0, v1);
    }
    buf_puts(b, "}");
}

static void put_cpu(struct buf *b, const char *key, const struct ctr_sample *s)
{
    const struct cgroup_stats *c = &s->cg;
    buf_puts(b, "\"");
    buf_puts(b, key);
    put_kv(b, "\":{\"cpu_usage\":{\"total_usage\":", c->cpu_total);
    if (c->npercpu) {
        buf_puts(b, ",\"percpu_usage\":[");
        for (size_t i = 0; i < c->npercpu; i++)
            put_kv(b, i ? "," : "", c->percpu[i]);
        buf_puts(b, "]");
    }
    put_kv(b, ",\"usage_in_kernelmode\":", c->cpu_kernel);
    put_kv(b, ",\"usage_in_usermode\":", c->cpu_user);
    buf_puts(b, "}");
    bool first = false;
    put_opt(b, &first, "system_cpu_usage", s->system_cpu);
    put_opt(b, &first, "online_cpus", s->online_cpus);
    put_kv(b, ",\"throttling_data\":{\"periods\":", c->periods);
    put_kv(b, ",\"throttled_periods\":", c->throttled_periods);
    put_kv(b, ",\"throttled_time\":", c->throttled_time);
    buf_puts(b, "}}");
}

static void put_memory(struct buf *b, const struct ctr_sample *s, uint64_t mem_total)
{
    const struct cgroup_stats *c = &s->cg;
    bool first = true;
    buf_puts(b, "\"memory_stats\":{");
    if (s->running && c->has_memory) {
        uint64_t limit = mem_total && c->mem_limit > mem_total ? mem_total : c->mem_limit;
        const char *const *keys = cgroup_stats_mem_keys(c->version);
        put_opt(b, &first, "usage", c->mem_usage);
        put_opt(b, &first, "max_usage", c->mem_max_usage);
        buf_puts(b, first ? "\"stats\":{" : ",\"stats\":{");
        for (size_t i = 0; keys[i]; i++) {
            buf_puts(b, i ? ",\"" : "\"");
            buf_puts(b, keys[i]);
            put_kv(b, "\":", c->mem_stat[i]);
        }
        buf_puts(b, "}");
        first = false;
        put_opt(b, &first, "failcnt", c->mem_failcnt);
        put_opt(b, &first, "limit", limit);
    }
    buf_puts(b, "}");
}

static void put_networks(struct buf *b, const struct ctr_sample *s)
{
    if (!s->nnets)
        return; /* Go's omitempty: no key at all */
    buf_puts(b, ",\"networks\":{");
    for (size_t i = 0; i < s->nnets; i++) {
        const struct ctr_net_stat *n = &s->nets[i];
        buf_puts(b, i ? "," : "");
        put_str(b, n->name);
        put_kv(b, ":{\"rx_bytes\":", n->rx_bytes);
        put_kv(b, ",\"rx_packets\":", n->rx_packets);
        put_kv(b, ",\"rx_errors\":", n->rx_errors);
        put_kv(b, ",\"rx_dropped\":", n->rx_dropped);
        put_kv(b, ",\"tx_bytes\":", n->tx_bytes);
        put_kv(b, ",\"tx_packets\":", n->tx_packets);
        put_kv(b, ",\"tx_errors\":", n->tx_errors);
        put_kv(b, ",\"tx_dropped\":", n->tx_dropped);
        buf_puts(b, "}");
    }
    buf_puts(b, "}");
}

/* dockerd's StatsResponse, one line as its json.Encoder ends it. */
static void stats_render(const struct ctr_stats_view *v, struct buf *out)
{
    static const struct ctr_sample none = {0};
    const struct ctr_sample *s = v->cur, *pre = v->pre ? v->pre : &none;
    _cleanup_free_ char *name = xasprintf("/%s", v->name);
    bool first = true;
    buf_reserve(out, 2048);
    buf_puts(out, "{\"name\":");
    put_str(out, name);
    buf_puts(out, ",\"id\":\"");
    buf_puts(out, v->id);
    buf_puts(out, "\",\"read\":");
    put_time(out, s->running ? s->read_ns : 0);
    buf_puts(out, ",\"preread\":");
    put_time(out, pre->read_ns);
    buf_puts(out, ",\"pids_stats\":{");
    put_opt(out, &first, "current", s->cg.pids_current);
    put_opt(out, &first, "limit", s->cg.pids_limit);
    buf_puts(out, "},");
    put_blkio(out, s);
    buf_puts(out, ",\"num_procs\":0,\"storage_stats\":{},");
    put_cpu(out, "cpu_stats", s);
    buf_puts(out, ",");
    put_cpu(out, "precpu_stats", pre);
    buf_puts(out, ",");
    put_memory(out, s, v->mem_total);
    put_networks(out, s);
    buf_puts(out, "}\n");
}

/* ---- the request (reactor) ---- */

struct stats_call {
    struct ctr_stats_sub sub;
    struct api_req *a;
    struct ctr_stats *st;
};

static struct ctr_stats *collector(struct daemon *d)
{
    if (!d->stats)
        d->stats = ctr_stats_new(&d->exec, (uint64_t)d->host.mem_total, stats_render);
    return d->stats;
}

static void call_free(struct stats_call *sc)
{
    api_req_free(sc->a);
    free(sc);
}

static void client_gone(void *arg)
{
    struct stats_call *sc = arg;
    ctr_stats_unsubscribe(sc->st, &sc->sub);
    call_free(sc);
}

static void reply_once(struct ctr_stats_sub *s, const char *text, size_t len)
{
    struct stats_call *sc = container_of(s, struct stats_call, sub);
    http_conn_on_close(sc->a->c, NULL, NULL);
    api_reply_raw(sc->a, 200, "application/json", text, len);
    free(sc);
}

static void stream_resume(void *arg)
{
    struct stats_call *sc = arg;
    sc->sub.paused = false;
}

/* A client that has not taken the last sample skips samples until it has (dockerd's pubsub
 * drops them for a slow subscriber too). */
static void stream_sample(struct ctr_stats_sub *s, const char *text, size_t len)
{
    struct stats_call *sc = container_of(s, struct stats_call, sub);
    if (!api_stream_write(sc->a, text, len)) {
        s->paused = true;
        http_conn_on_drain(sc->a->c, stream_resume, sc);
    }
}

static void stream_end(struct ctr_stats_sub *s)
{
    struct stats_call *sc = container_of(s, struct stats_call, sub);
    http_conn_on_close(sc->a->c, NULL, NULL);
    api_stream_end(sc->a);
    free(sc);
}

/* dockerd's BoolValueOrDefault: absent is the default, present follows Docker's rule. */
static bool query_bool_or(const struct api_req *a, const char *key, bool dflt)
{
    _cleanup_free_ char *v = http_query_get(a->msg, key);
    return v ? http_query_bool(a->msg, key) : dflt;
}

void containers_stats(struct api_req *a)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct container *c;
    if (ctr_lookup(a->d->cs, a->params[0], &c, &err) < 0)
        return api_reply_error(a, err);
    bool stream = query_bool_or(a, "stream", true);
    bool one_shot = !api_version_before(a, "1.41") && query_bool_or(a, "one-shot", false);
    if (stream && one_shot)
        return api_reply_errorf(a, 400, "cannot have stream=true and one-shot=true");
    bool running = ctr_run_cgroup(c) && c->state.status != CTR_RESTARTING;
    struct ctr_stats *st = collector(a->d);
    if (!stream && !running) { /* dockerd's empty sample, at once */
        _cleanup_buf_ struct buf text = {0};
        const struct ctr_sample none = {0};
        stats_render(&(struct ctr_stats_view){.id = c->id, .name = c->name, .cur = &none}, &text);
        return api_reply_raw(a, 200, "application/json", text.data, text.len);
    }
    struct stats_call *sc = xcalloc(1, sizeof(*sc));
    sc->a = a;
    sc->st = st;
    sc->sub.mode = stream ? CTR_STATS_STREAM : one_shot ? CTR_STATS_ONE_SHOT : CTR_STATS_ONCE;
    sc->sub.deliver = stream ? stream_sample : reply_once;
    sc->sub.end = stream_end;
    if (stream) /* no Content-Type: dockerd's streamed reply has none either */
        api_stream_begin(a, 200, NULL);
    http_conn_on_close(a->c, client_gone, sc);
    ctr_stats_subscribe(st, c, &sc->sub);
}
