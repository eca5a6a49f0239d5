/* handlers/ctrarchive.c — a container's files over the API: docker cp (HEAD, GET and PUT
 * /containers/{id}/archive), docker export and docker diff. Each takes a hold on the container
 * (exec/ctrfs.h), opens its view in a pool job and releases the hold once the view is closed.
 * Archives stream out through a pump as docker save's do, and in through the request body as
 * docker load's do: never held whole. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/base64.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/pump.h"
#include "core/xalloc.h"
#include "exec/ctrcopy.h"
#include "exec/ctrfs.h"
#include "fs/changes.h"
#include "handlers/api.h"
#include "handlers/daemon.h"
#include "handlers/handlers.h"

/* The container the route names, held for a view of its files; NULL when it answered. */
static struct ctrfs_spec *hold(struct api_req *a, enum ctrfs_kind kind, const char *verb)
{
    _cleanup_err_ struct berth_err *err = NULL;
    struct container *c;
    struct ctrfs_spec *s = NULL;
    if (ctr_lookup(a->d->cs, a->params[0], &c, &err) == 0)
        s = ctrfs_hold(&a->d->exec, c, kind, verb, &err);
    if (!s)
        api_reply_error(a, err);
    return s;
}

/* dockerd's ArchiveFormValues: a path is required. */
static char *archive_path(struct api_req *a)
{
    char *path = http_query_get(a->msg, "path");
    if (!path || !*path) {
        free(path);
        api_reply_errorf(a, 400, "bad parameter: path cannot be empty");
        return NULL;
    }
    return path;
}

/* X-Docker-Container-Path-Stat: the stat's JSON, base64 (standard, padded). */
static void stat_header(struct api_req *a, const struct ctrcopy_stat *st)
{
    _cleanup_json_ json_t *j = ctrcopy_stat_json(st);
    _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
    size_t len = strlen(text);
    _cleanup_free_ char *b64 = xmalloc(BASE64_ENCODE_RAW_LENGTH(len) + 1);
    base64_encode_raw(b64, len, (const uint8_t *)text);
    b64[BASE64_ENCODE_RAW_LENGTH(len)] = '\0';
    if (a->c)
        http_conn_header(a->c, "X-Docker-Container-Path-Stat", "%s", b64);
}

/* ---- streamed archives out: GET archive, export ---- */

struct ctr_stream {
    struct pool_job job; /* opens the view (and stats the path) before any byte goes out */
    struct api_req *a;
    struct daemon *d;
    struct ctrfs_spec *spec;
    struct ctrfs *fs;
    bool export;
    char *path, *name;
    struct ctrcopy_stat st;
    struct pump *pump;
    atomic_bool stop; /* the client left: the producer stops at its next write */
    bool gone;
    int fd; /* the pump's pipe, for the producer's writes */
    int res;
    struct berth_err *err;
};

static void stream_free(struct ctr_stream *s)
{
    ctrcopy_stat_free(&s->st);
    free(s->path);
    free(s->name);
    berth_err_free(s->err);
    free(s);
}

static ssize_t stream_write(void *ctx, const void *buf, size_t n)
{
    struct ctr_stream *s = ctx;
    for (size_t done = 0; done < n;) {
        if (atomic_load(&s->stop))
            return -ECANCELED;
        ssize_t w = write(s->fd, (const char *)buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        done += (size_t)w;
    }
    return (ssize_t)n;
}

/* Pool: the archive, then the view is closed (before the hold ends, on the reactor). */
static int stream_produce(void *arg, int fd, struct berth_err **err)
{
    struct ctr_stream *s = arg;
    s->fd = fd;
    _cleanup_(tarw_freep) struct tarw *t = tarw_new(stream_write, s);
    int r = atomic_load(&s->stop) ? -ECANCELED
            : s->export           ? ctrcopy_export(s->fs, t, err)
                                  : ctrcopy_archive(s->fs, &s->st, t, err);
    ctrfs_close(take_ptr(s->fs));
    return r;
}

static void stream_resume(void *arg)
{
    struct ctr_stream *s = arg;
    pump_resume(s->pump);
}

static void stream_data(void *arg, const char *data, size_t n)
{
    struct ctr_stream *s = arg;
    if (s->gone)
        return; /* drained for nothing, so that the producer sees its stop */
    if (!api_stream_write(s->a, data, n)) {
        pump_pause(s->pump);
        http_conn_on_drain(s->a->c, stream_resume, s);
    }
}

static void stream_end(void *arg, int res, const struct berth_err *err)
{
    struct ctr_stream *s = arg;
    if (!s->gone) {
        http_conn_on_close(s->a->c, NULL, NULL);
        if (res < 0) { /* mid-stream: all we can do is cut it short */
            log_error("%s %.12s: %s", s->export ? "export" : "copy", ctrfs_spec_id(s->spec),
                      err ? err->msg : "failed");
            http_conn_close(s->a->c);
            api_req_free(s->a);
        } else {
            api_stream_end(s->a);
        }
    }
    ctrfs_release(&s->d->exec, s->spec);
    stream_free(s);
}

static void stream_gone(void *arg)
{
    struct ctr_stream *s = arg;
    s->gone = true;
    atomic_store(&s->stop, true);
    api_req_free(take_ptr(s->a));
    pump_resume(s->pump); /* a paused pump would leave the producer blocked on the pipe */
}

static const struct pump_ops stream_ops = {
    .produce = stream_produce, .on_data = stream_data, .on_end = stream_end};

static void stream_open_work(struct pool_job *job)
{
    struct ctr_stream *s = container_of(job, struct ctr_stream, job);
    s->res = ctrfs_open(s->spec, &s->fs, &s->err);
    if (s->res == 0 && !s->export)
        s->res = ctrcopy_stat(s->fs, s->path, s->name, &s->st, &s->err);
    if (s->res < 0 && s->fs)
        ctrfs_close(take_ptr(s->fs));
}

/* The view is open (and the path found): the reply begins and the pump takes over. A client
 * that left meanwhile still gets a pump, stopped at once, which closes the view in the pool. */
static void stream_open_done(struct pool_job *job)
{
    struct ctr_stream *s = container_of(job, struct ctr_stream, job);
    if (s->res < 0) {
        ctrfs_release(&s->d->exec, s->spec);
        if (s->export && s->err) /* dockerd's words for a failed export */
            berth_error_wrap(&s->err, "Error exporting container %s", s->name);
        api_reply_error(s->a, s->err);
        return stream_free(s);
    }
    _cleanup_err_ struct berth_err *err = NULL;
    /* dockerd's events: archive-path (a copy out), export */
    events_container_id(s->d->events, s->d->cs, ctrfs_spec_id(s->spec),
                        s->export ? "export" : "archive-path", NULL);
    if (!s->a->c) {
        s->gone = true;
        atomic_store(&s->stop, true);
        api_req_free(take_ptr(s->a));
    } else {
        if (!s->export)
            stat_header(s->a, &s->st);
        api_stream_begin(s->a, 200, s->export ? "application/octet-stream" : "application/x-tar");
        http_conn_on_close(s->a->c, stream_gone, s);
    }
    s->pump = pump_start(s->d->r, s->d->pool, POOL_BULK, &stream_ops, s, &err);
    if (!s->pump) { /* no pipe: the view closes here, the once */
        ctrfs_close(take_ptr(s->fs));
        if (!s->gone) {
            http_conn_on_close(s->a->c, NULL, NULL);
            http_conn_close(s->a->c);
            api_req_free(s->a);
        }
        ctrfs_release(&s->d->exec, s->spec);
        stream_free(s);
    }
}

static void stream_begin(struct api_req *a, bool export, char *path)
{
    struct ctrfs_spec *spec =
        hold(a, export ? CTRFS_ROOTFS : CTRFS_VIEW, export ? "export" : "copy from");
    if (!spec) {
        free(path);
        return;
    }
    struct ctr_stream *s = xcalloc(1, sizeof(*s));
    *s = (struct ctr_stream){.job = {.work = stream_open_work, .done = stream_open_done},
                             .a = a,
                             .d = a->d,
                             .spec = spec,
                             .export = export,
                             .path = path,
                             .name = xstrdup(a->params[0]),
                             .fd = -1};
    api_async(a);
    pool_submit(a->d->pool, POOL_BULK, &s->job);
}

void containers_archive_get(struct api_req *a)
{
    char *path = archive_path(a);
    if (path)
        stream_begin(a, false, path);
}

void containers_export(struct api_req *a)
{
    stream_begin(a, true, NULL);
}

/* ---- HEAD archive, changes: a view opened, asked, closed ---- */

struct ctr_query {
    struct ctrfs_spec *spec;
    char *path, *name;
    struct ctrcopy_stat st;
    json_t *changes;
};

static void query_free(struct ctr_query *q)
{
    ctrcopy_stat_free(&q->st);
    json_decref(q->changes);
    free(q->path);
    free(q->name);
    free(q);
}

static void stat_work(struct api_task *t)
{
    struct ctr_query *q = t->data;
    _cleanup_(ctrfs_closep) struct ctrfs *fs = NULL;
    t->res = ctrfs_open(q->spec, &fs, &t->err);
    if (t->res == 0)
        t->res = ctrcopy_stat(fs, q->path, q->name, &q->st, &t->err);
}

static void stat_done(struct api_task *t)
{
    struct ctr_query *q = t->data;
    ctrfs_release(&t->a->d->exec, q->spec);
    if (t->res < 0) {
        api_reply_error(t->a, t->err);
    } else {
        stat_header(t->a, &q->st);
        api_reply_status(t->a, 200);
    }
    query_free(q);
}

void containers_archive_head(struct api_req *a)
{
    char *path = archive_path(a);
    if (!path)
        return;
    struct ctrfs_spec *spec = hold(a, CTRFS_VIEW, "copy from");
    if (!spec) {
        free(path);
        return;
    }
    struct ctr_query *q = xcalloc(1, sizeof(*q));
    *q = (struct ctr_query){.spec = spec, .path = path, .name = xstrdup(a->params[0])};
    api_task_run(a, POOL_LATENCY, stat_work, stat_done, q);
}

static void changes_work(struct api_task *t)
{
    struct ctr_query *q = t->data;
    _cleanup_(ctrfs_closep) struct ctrfs *fs = NULL;
    t->res = ctrfs_open(q->spec, &fs, &t->err);
    size_t n;
    if (t->res == 0) {
        const int *lowers = ctrfs_lowers(fs, &n);
        t->res = changes_list(ctrfs_upper(fs), lowers, n, &q->changes, &t->err);
    }
}

static void changes_done(struct api_task *t)
{
    struct ctr_query *q = t->data;
    ctrfs_release(&t->a->d->exec, q->spec);
    if (t->res < 0)
        api_reply_error(t->a, t->err);
    else
        api_reply_json(t->a, 200, take_ptr(q->changes));
    query_free(q);
}

void containers_changes(struct api_req *a)
{
    struct ctrfs_spec *spec = hold(a, CTRFS_LAYERS, "diff");
    if (!spec)
        return;
    struct ctr_query *q = xcalloc(1, sizeof(*q));
    q->spec = spec;
    api_task_run(a, POOL_BULK, changes_work, changes_done, q);
}

/* ---- PUT archive: the body streams into the container ---- */

struct ctr_put {
    struct pool_job job;
    struct api_body body;
    struct ctrfs_spec *spec;
    char *path, *name;
    bool no_overwrite, copy_uidgid;
    int res;
    struct berth_err *err;
};

static void put_work(struct pool_job *job)
{
    struct ctr_put *p = container_of(job, struct ctr_put, job);
    _cleanup_(ctrfs_closep) struct ctrfs *fs = NULL;
    p->res = ctrfs_open(p->spec, &fs, &p->err);
    struct ctrcopy_put o = {.path = p->path,
                            .ctr_name = p->name,
                            .no_overwrite_dir_nondir = p->no_overwrite,
                            .copy_uidgid = p->copy_uidgid};
    if (p->res == 0)
        p->res = ctrcopy_extract(fs, &o, api_body_read, &p->body, &p->err);
}

static void put_done(struct pool_job *job)
{
    struct ctr_put *p = container_of(job, struct ctr_put, job);
    struct api_req *a = p->body.a;
    api_body_close(&p->body);
    if (p->res == 0)
        events_container_id(a->d->events, a->d->cs, ctrfs_spec_id(p->spec), "extract-to-dir", NULL);
    ctrfs_release(&a->d->exec, p->spec);
    if (p->res < 0)
        api_reply_error(a, p->err);
    else
        api_reply_status(a, 200);
    free(p->path);
    free(p->name);
    berth_err_free(p->err);
    free(p);
}

void containers_archive_put(struct api_req *a)
{
    char *path = archive_path(a);
    if (!path)
        return;
    struct ctrfs_spec *spec = hold(a, CTRFS_VIEW, "copy to");
    if (!spec) {
        free(path);
        return;
    }
    struct ctr_put *p = xcalloc(1, sizeof(*p));
    *p = (struct ctr_put){.job = {.work = put_work, .done = put_done},
                          .spec = spec,
                          .path = path,
                          .name = xstrdup(a->params[0]),
                          /* dockerd: only a parameter that is there and true refuses */
                          .no_overwrite = http_query_bool(a->msg, "noOverwriteDirNonDir"),
                          .copy_uidgid = http_query_bool(a->msg, "copyUIDGID")};
    api_body_open(&p->body, a);
    pool_submit(a->d->pool, POOL_BULK, &p->job);
}
