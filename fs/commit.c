/* fs/commit.c — the layer of a container's upper directory: a thread writes its tar into a pipe
 * and layer_ingest reads it, as it reads any layer (a blob stored as it streams, unpacked into
 * a new layer, the diff ID the sha256 of those very bytes). Then the image config: the parent's
 * rootfs and history with the new layer and row, the new Config, and the container's. */
#include "fs/commit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "fs/config_change.h"
#include "fs/layer_ingest.h"
#include "fs/tarwrite.h"

/* ---- the config ---- */

static bool empty(const json_t *v)
{
    return !v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0) ||
           (json_is_object(v) && json_object_size(v) == 0) ||
           (json_is_string(v) && !*json_string_value(v)) ||
           (json_is_integer(v) && json_integer_value(v) == 0);
}

/* key taken from the container's config when the new one leaves it empty. */
static void inherit(json_t *conf, const json_t *ctr, const char *key)
{
    json_t *v = json_object_get(ctr, key);
    if (empty(json_object_get(conf, key)) && v)
        json_object_set(conf, key, v);
}

/* An object's keys the new one lacks (ExposedPorts, Labels, Volumes). */
static void inherit_keys(json_t *conf, const json_t *ctr, const char *key)
{
    json_t *mine = json_object_get(conf, key), *theirs = json_object_get(ctr, key), *v;
    const char *k;
    if (!json_is_object(theirs))
        return;
    if (!json_is_object(mine))
        json_object_set_new(conf, key, mine = json_object());
    json_object_foreach(theirs, k, v) if (!json_object_get(mine, k)) json_object_set(mine, k, v);
}

static size_t env_key_len(const char *e)
{
    return strcspn(e, "=");
}

/* The container's variables whose name the new Env does not set. */
static void inherit_env(json_t *conf, const json_t *ctr)
{
    json_t *mine = json_object_get(conf, "Env"), *theirs = json_object_get(ctr, "Env"), *v, *w;
    size_t i, k;
    if (empty(mine)) {
        inherit(conf, ctr, "Env");
        return;
    }
    json_array_foreach(theirs, i, v)
    {
        const char *e = json_string_value(v) ? json_string_value(v) : "";
        bool found = false;
        json_array_foreach(mine, k, w)
        {
            const char *u = json_string_value(w) ? json_string_value(w) : "";
            found |= env_key_len(e) == env_key_len(u) && strncmp(e, u, env_key_len(e)) == 0;
        }
        if (!found)
            json_array_append(mine, v);
    }
}

static void inherit_healthcheck(json_t *conf, const json_t *ctr)
{
    json_t *theirs = json_object_get(ctr, "Healthcheck"), *mine;
    if (!json_is_object(theirs))
        return;
    if (!json_is_object(mine = json_object_get(conf, "Healthcheck"))) {
        json_object_set(conf, "Healthcheck", theirs);
        return;
    }
    static const char *const keys[] = {"Test",        "Interval",      "Timeout",
                                       "StartPeriod", "StartInterval", "Retries"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        inherit(mine, theirs, keys[i]);
}

/* moby's merge(userConf, imageConf), with the container's config as the image's. */
static void merge(json_t *conf, const json_t *ctr)
{
    inherit(conf, ctr, "User");
    inherit_keys(conf, ctr, "ExposedPorts");
    inherit_env(conf, ctr);
    if (!json_is_object(json_object_get(conf, "Labels")))
        json_object_set_new(conf, "Labels", json_object());
    inherit_keys(conf, ctr, "Labels");
    if (empty(json_object_get(conf, "Entrypoint"))) {
        inherit(conf, ctr, "Cmd");
        json_t *ep = json_object_get(conf, "Entrypoint");
        if ((!ep || json_is_null(ep)) && json_object_get(ctr, "Entrypoint"))
            json_object_set(conf, "Entrypoint", json_object_get(ctr, "Entrypoint"));
    }
    inherit_healthcheck(conf, ctr);
    inherit(conf, ctr, "WorkingDir");
    inherit_keys(conf, ctr, "Volumes");
    inherit(conf, ctr, "StopSignal");
}

int commit_config(const json_t *ctr_config, const json_t *body, char *const *changes, json_t **out,
                  struct berth_err **err)
{
    /* dockerd's CreateImageFromContainer: no config in the request is the container's */
    _cleanup_json_ json_t *conf =
        json_deep_copy(json_is_object(body) && json_object_size(body) ? body : ctr_config);
    if (!conf)
        conf = json_object();
    int r = config_apply_changes(conf, changes, err);
    if (r < 0)
        return r;
    merge(conf, ctr_config);
    *out = take_ptr(conf);
    return 0;
}

/* ---- the layer ---- */

struct producer {
    int upper, wfd;
    int res;
    struct berth_err *err;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    _cleanup_(tarw_freep) struct tarw *t = tarw_new_fd(p->wfd);
    struct tarw_walk w = {.whiteouts = true};
    p->res = tarw_add_tree(t, p->upper, "", NULL, &w, &p->err);
    if (p->res == 0)
        p->res = tarw_finish(t, &p->err);
    close(p->wfd); /* the reader's end of the tar */
    p->wfd = -1;
    return NULL;
}

static ssize_t read_pipe(void *ctx, void *buf, size_t cap)
{
    int fd = *(int *)ctx;
    for (;;) {
        ssize_t n = read(fd, buf, cap);
        if (n >= 0 || errno != EINTR)
            return n < 0 ? -errno : n;
    }
}

static int make_layer(struct image_store *is, int upper, const char *parent, struct layer **out,
                      struct berth_err **err)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return berth_error(err, errno, "pipe");
    fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
    struct producer p = {.upper = upper, .wfd = fds[1]};
    pthread_t thread;
    int r = pthread_create(&thread, NULL, produce, &p);
    if (r != 0) {
        close(fds[0]);
        close(fds[1]);
        return berth_error(err, r, "start the layer writer thread");
    }
    struct ingest_opts lo = {.parent = parent};
    r = layer_ingest(image_store_blobs(is), image_store_layers(is), read_pipe, &fds[0], &lo, out,
                     err);
    close(fds[0]); /* a writer still writing sees EPIPE */
    pthread_join(thread, NULL);
    if (p.res < 0 && p.err) { /* its failure is the story, not the short tar the layer got */
        berth_err_freep(err);
        *err = take_ptr(p.err);
        r = berth_err_code(*err);
    } else if (p.res < 0 && r == 0) {
        r = berth_error(err, EIO, "write the layer");
    }
    berth_err_free(p.err);
    if (r < 0)
        return berth_error_wrap(err, "commit the container's layer");
    return 0;
}

/* ---- the image ---- */

/* "sh -c echo x": the container's Cmd joined, as dockerd's history row has it. */
static char *created_by(const json_t *ctr_config)
{
    struct buf b = {0};
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(ctr_config, "Cmd"), i, v)
        buf_printf(&b, "%s%s", i ? " " : "", json_string_value(v) ? json_string_value(v) : "");
    buf_reserve(&b, 0);
    return buf_steal(&b, NULL);
}

static json_t *history_row(const struct commit_opts *o, const char *now, bool empty_layer)
{
    _cleanup_free_ char *by = created_by(o->container_config);
    json_t *row = json_pack("{ss}", "created", now);
    if (*o->author)
        json_object_set_new(row, "author", json_string(o->author));
    json_object_set_new(row, "created_by", json_string(by));
    if (*o->comment)
        json_object_set_new(row, "comment", json_string(o->comment));
    if (empty_layer)
        json_object_set_new(row, "empty_layer", json_true());
    return row;
}

/* moby's NewChildImage: the parent's architecture, rootfs and history, with ours. */
static json_t *image_config(const struct commit_opts *o, const char *diff_id, bool empty_layer)
{
    _cleanup_free_ char *now = time_format_rfc3339(time_now_ns());
    const json_t *pc = o->parent_config;
    json_t *diff_ids = json_deep_copy(json_object_get(json_object_get(pc, "rootfs"), "diff_ids"));
    json_t *history = json_deep_copy(json_object_get(pc, "history"));
    if (!json_is_array(diff_ids))
        json_decref(diff_ids), diff_ids = json_array();
    if (!json_is_array(history))
        json_decref(history), history = json_array();
    if (!empty_layer)
        json_array_append_new(diff_ids, json_string(diff_id));
    json_array_append_new(history, history_row(o, now, empty_layer));
    json_t *c = json_pack("{ss ss sO}", "created", now, "container", o->container_id,
                          "container_config", o->container_config);
    if (*o->author)
        json_object_set_new(c, "author", json_string(o->author));
    json_object_set(c, "config", (json_t *)o->config);
    const char *arch = json_get_str(pc, "architecture"), *variant = json_get_str(pc, "variant");
    json_object_set_new(c, "architecture", json_string(arch ? arch : "amd64"));
    if (variant && *variant)
        json_object_set_new(c, "variant", json_string(variant));
    json_object_set_new(c, "os", json_string("linux"));
    json_object_set_new(c, "rootfs", json_pack("{ss so}", "type", "layers", "diff_ids", diff_ids));
    json_object_set_new(c, "history", history);
    json_t *v;
    if ((v = json_object_get(pc, "os.version")))
        json_object_set(c, "os.version", v);
    if ((v = json_object_get(pc, "os.features")))
        json_object_set(c, "os.features", v);
    return c;
}

static int write_image(struct image_store *is, const struct commit_opts *o, const char *diff_id,
                       bool empty_layer, struct image **out, struct berth_err **err)
{
    _cleanup_json_ json_t *config = image_config(o, diff_id, empty_layer);
    _cleanup_free_ char *text = json_dumps(config, JSON_COMPACT);
    char id[DIGEST_LEN + 1];
    int r = store_put(image_store_blobs(is), text, strlen(text), NULL, id, err);
    if (r < 0)
        return r;
    if ((r = image_load_config(is, id, text, strlen(text), out, err)) < 0)
        return r;
    json_object_set_new((*out)->meta, "Parent", json_string(o->parent_id));
    if (o->named)
        json_object_set((*out)->meta, "LastTagTime", json_object_get(config, "created"));
    if ((r = image_write(is, *out, err)) < 0) {
        image_free(*out);
        *out = NULL;
    }
    return r;
}

int commit_image(struct image_store *is, int upper, const struct commit_opts *o,
                 struct commit_result *res, struct berth_err **err)
{
    *res = (struct commit_result){0};
    int r = make_layer(is, upper, o->parent_chain, &res->layer, err);
    if (r < 0)
        return r;
    res->empty = strcmp(res->layer->diff_id, COMMIT_EMPTY_DIFF_ID) == 0;
    return write_image(is, o, res->layer->diff_id, res->empty, &res->img, err);
}
