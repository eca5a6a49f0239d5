/* exec/container.c — the container index (by ID and by name), Docker's names, and the JSON
 * each container is kept in. A state file per container coalesces writes; the configuration
 * inside never changes after create. */
#include "exec/container.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/map.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "fs/atomic.h"
#include "fs/statefile.h"

struct ctr_store {
    char *dir; /* ROOT/containers */
    struct map by_id, by_name;
    struct map stale; /* directories without a valid record, for ctr_store_take_stale */
};

static const char *const status_names[] = {"created",  "running", "paused", "restarting",
                                           "removing", "exited",  "dead"};

const char *ctr_status_name(enum ctr_status s)
{
    return status_names[s];
}

char *ctr_log_path(const struct container *c)
{
    return xasprintf("%s/%s-json.log", c->dir, c->id);
}

static int status_parse(const char *s)
{
    for (size_t i = 0; s && i < ARRAY_SIZE(status_names); i++)
        if (strcmp(status_names[i], s) == 0)
            return (int)i;
    return CTR_EXITED;
}

/* ---- JSON ---- */

static json_t *state_json(const struct ctr_state *st)
{
    return json_pack("{ss si si sb ss ss ss}", "Status", ctr_status_name(st->status), "Pid",
                     st->pid, "ExitCode", st->exit_code, "OOMKilled", st->oom_killed, "Error",
                     st->error ? st->error : "", "StartedAt",
                     st->started_at ? st->started_at : TIME_ZERO, "FinishedAt",
                     st->finished_at ? st->finished_at : TIME_ZERO);
}

static json_t *ctr_json(const struct container *c)
{
    json_t *j = json_pack("{ss ss ss ss ss sO sO ss sO so si}", "ID", c->id, "Name", c->name,
                          "Created", c->created, "Image", c->image_id, "ImageChain",
                          c->image_chain ? c->image_chain : "", "Config", c->config, "HostConfig",
                          c->host_config, "Path", c->path, "Args", c->args, "State",
                          state_json(&c->state), "RestartCount", c->state.restart_count);
    if (c->trace)
        json_object_set(j, "StartTrace", c->trace);
    if (c->net)
        json_object_set(j, "BridgeEndpoint", c->net);
    if (c->net_request)
        json_object_set(j, "EndpointRequest", c->net_request);
    if (json_object_size(c->net_more))
        json_object_set(j, "EndpointsMore", c->net_more);
    if (json_array_size(c->mounts))
        json_object_set(j, "MountPoints", c->mounts);
    return j;
}

static char *dup_or(const json_t *j, const char *key, const char *dflt)
{
    const char *v = json_get_str(j, key);
    return v ? xstrdup(v) : (dflt ? xstrdup(dflt) : NULL);
}

static struct container *ctr_from_json(const json_t *j)
{
    const char *id = json_get_str(j, "ID"), *name = json_get_str(j, "Name");
    const char *image = json_get_str(j, "Image");
    if (!id || strlen(id) != 64 || !name || !digest_valid(image))
        return NULL;
    struct container *c = xcalloc(1, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s", id);
    snprintf(c->image_id, sizeof(c->image_id), "%s", image);
    c->name = xstrdup(name);
    c->created = dup_or(j, "Created", TIME_ZERO);
    c->image_chain = dup_or(j, "ImageChain", "");
    c->config = json_incref(json_object_get(j, "Config"));
    c->host_config = json_incref(json_object_get(j, "HostConfig"));
    c->path = dup_or(j, "Path", "");
    c->args = json_incref(json_object_get(j, "Args"));
    json_t *st = json_object_get(j, "State");
    c->state = (struct ctr_state){.status = status_parse(json_get_str(st, "Status")),
                                  .pid = (int)json_get_int(st, "Pid", 0),
                                  .exit_code = (int)json_get_int(st, "ExitCode", 0),
                                  .oom_killed = json_get_bool(st, "OOMKilled", false),
                                  .error = dup_or(st, "Error", NULL),
                                  .started_at = dup_or(st, "StartedAt", NULL),
                                  .finished_at = dup_or(st, "FinishedAt", NULL),
                                  .restart_count = (int)json_get_int(j, "RestartCount", 0)};
    json_t *trace = json_object_get(j, "StartTrace");
    c->trace = trace ? json_incref(trace) : NULL;
    json_t *net = json_object_get(j, "BridgeEndpoint");
    c->net = json_is_object(net) ? json_incref(net) : NULL;
    json_t *req = json_object_get(j, "EndpointRequest");
    c->net_request = json_is_object(req) ? json_incref(req) : NULL;
    json_t *more = json_object_get(j, "EndpointsMore");
    c->net_more = json_is_object(more) ? json_incref(more) : NULL;
    json_t *mounts = json_object_get(j, "MountPoints");
    c->mounts = json_is_array(mounts) ? json_incref(mounts) : json_array();
    if (!c->config)
        c->config = json_object();
    if (!c->host_config)
        c->host_config = json_object();
    if (!c->args)
        c->args = json_array();
    return c;
}

void ctr_free(struct container *c)
{
    if (!c)
        return;
    log_followers_finish(&c->followers);
    statefile_free(c->sf);
    json_decref(c->config);
    json_decref(c->host_config);
    json_decref(c->args);
    json_decref(c->trace);
    json_decref(c->net);
    json_decref(c->net_request);
    json_decref(c->net_more);
    json_decref(c->mounts);
    free(c->name);
    free(c->created);
    free(c->image_chain);
    free(c->path);
    free(c->state.error);
    free(c->state.started_at);
    free(c->state.finished_at);
    free(c->dir);
    buf_free(&c->stdin_pending);
    free(c);
}

static char *snapshot(void *arg, size_t *len)
{
    _cleanup_json_ json_t *j = ctr_json(arg);
    char *text = json_dumps(j, JSON_COMPACT);
    *len = strlen(text);
    return text;
}

/* ---- the index ---- */

void ctr_add(struct ctr_store *cs, struct container *c, struct pool *pool)
{
    if (!c->dir)
        c->dir = xasprintf("%s/%s", cs->dir, c->id);
    if (!c->sf) {
        _cleanup_free_ char *path = xasprintf("%s/container.json", c->dir);
        c->sf = statefile_new(pool, path, snapshot, c);
    }
    map_put(&cs->by_id, c->id, c);
    map_put(&cs->by_name, c->name, c);
}

void ctr_remove(struct ctr_store *cs, struct container *c)
{
    map_del(&cs->by_id, c->id);
    if (map_get(&cs->by_name, c->name) == c)
        map_del(&cs->by_name, c->name);
}

void ctr_rename(struct ctr_store *cs, struct container *c, const char *name)
{
    if (map_get(&cs->by_name, c->name) == c)
        map_del(&cs->by_name, c->name);
    free(c->name);
    c->name = xstrdup(name);
    map_put(&cs->by_name, c->name, c);
}

struct container *ctr_by_name(struct ctr_store *cs, const char *name)
{
    return map_get(&cs->by_name, name[0] == '/' ? name + 1 : name);
}

struct container *ctr_next(struct ctr_store *cs, size_t *i)
{
    void *v;
    return map_next(&cs->by_id, i, NULL, &v) ? v : NULL;
}

size_t ctr_count(struct ctr_store *cs, int status)
{
    if (status < 0)
        return cs->by_id.len;
    size_t n = 0;
    struct container *c;
    for (size_t i = 0; (c = ctr_next(cs, &i));)
        n += (int)c->state.status == status;
    return n;
}

/* Full ID, then name, then a unique ID prefix, as dockerd resolves them. */
int ctr_lookup(struct ctr_store *cs, const char *name, struct container **out,
               struct berth_err **err)
{
    struct container *c = map_get(&cs->by_id, name), *it;
    if (!c)
        c = ctr_by_name(cs, name);
    size_t n = strlen(name), matches = 0;
    for (size_t i = 0; !c && n > 0 && (it = ctr_next(cs, &i));) {
        if (strncmp(it->id, name, n) == 0 && matches++ == 0)
            *out = it;
    }
    if (!c && matches > 1)
        return berth_user_error(err, EINVAL, "multiple IDs found with provided prefix: %s", name);
    if (!c && matches == 0)
        return berth_user_error(err, ENOENT, "No such container: %s", name);
    if (c)
        *out = c;
    return 0;
}

void ctr_new_id(char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[32];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        for (size_t i = 0; i < sizeof(raw); i++)
            raw[i] = (unsigned char)rand();
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[64] = '\0';
}

int ctr_check_name(struct ctr_store *cs, const char *name, struct berth_err **err)
{
    const char *n = name[0] == '/' ? name + 1 : name;
    bool ok = isalnum((unsigned char)n[0]) && n[1];
    for (const char *p = n + 1; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-';
    if (!ok)
        return berth_user_error(err, EINVAL,
                                "Invalid container name (%s), only "
                                "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                                n);
    struct container *other = ctr_by_name(cs, n);
    if (other)
        return berth_user_error(err, EEXIST,
                                "Conflict. The container name \"/%s\" is already "
                                "in use by container \"%s\". You have to remove "
                                "(or rename) that container to be able to reuse "
                                "that name.",
                                n, other->id);
    return 0;
}

void ctr_retire(struct container *c, void (*done)(void *ctx), void *ctx)
{
    statefile_retire(c->sf, done, ctx);
}

void ctr_save(struct container *c, void (*done)(void *ctx, int res, const struct berth_err *err),
              void *ctx)
{
    statefile_save(c->sf, done, ctx);
}

int ctr_save_now(struct container *c, struct berth_err **err)
{
    return statefile_save_now(c->sf, err);
}

/* ---- names ---- */

/* adjective_surname, as dockerd names containers; surnames of people who shaped computing
 * and science. */
static const char *const adjectives[] = {
    "agile",   "bold",    "brave",  "bright", "busy",    "calm",     "clever",  "cool",
    "crisp",   "curious", "daring", "eager",  "elegant", "epic",     "fervent", "focused",
    "gentle",  "happy",   "hardy",  "humble", "jolly",   "keen",     "kind",    "lucid",
    "merry",   "modest",  "nifty",  "noble",  "patient", "peaceful", "quick",   "quiet",
    "relaxed", "serene",  "sharp",  "sleepy", "smart",   "steady",   "stoic",   "sunny",
    "swift",   "tender",  "tidy",   "upbeat", "vibrant", "vigilant", "wise",    "witty",
    "zealous", "zen"};
static const char *const surnames[] = {
    "babbage",  "backus",     "bell",     "berners", "boole",   "cerf",     "curie",
    "dijkstra", "engelbart",  "euler",    "faraday", "fermat",  "feynman",  "gauss",
    "goldberg", "hamilton",   "hopper",   "jackson", "johnson", "kahn",     "kernighan",
    "knuth",    "kowalevski", "lamarr",   "lamport", "liskov",  "lovelace", "maxwell",
    "mccarthy", "meitner",    "minsky",   "noether", "nygaard", "pascal",   "perlman",
    "pike",     "ritchie",    "sammet",   "shannon", "shaw",    "sinoussi", "stallman",
    "tesla",    "thompson",   "torvalds", "turing",  "vaughan", "wilkes",   "wirth",
    "wozniak"};

char *ctr_generate_name(struct ctr_store *cs)
{
    size_t na = ARRAY_SIZE(adjectives);
    size_t ns = ARRAY_SIZE(surnames);
    for (int attempt = 0;; attempt++) {
        unsigned int r[2];
        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
            r[0] = (unsigned)rand(), r[1] = (unsigned)rand();
        char *name = attempt < 10 ? xasprintf("%s_%s", adjectives[r[0] % na], surnames[r[1] % ns])
                                  : xasprintf("%s_%s%u", adjectives[r[0] % na], surnames[r[1] % ns],
                                              r[0] % 100);
        if (!ctr_by_name(cs, name))
            return name;
        free(name);
    }
}

/* ---- start-up ---- */

/* A directory whose container.json is missing or unreadable (a create a crash interrupted)
 * is no container: it goes to the stale set. */
static void load_one(struct ctr_store *cs, const char *id, struct pool *pool)
{
    _cleanup_free_ char *dir = xasprintf("%s/%s", cs->dir, id);
    _cleanup_free_ char *path = xasprintf("%s/container.json", dir);
    _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        fs_sweep_temps(dfd); /* a state write a crash interrupted */
    json_error_t je;
    _cleanup_json_ json_t *j = json_load_file(path, 0, &je);
    struct container *c = j ? ctr_from_json(j) : NULL;
    if (!c || strcmp(c->id, id) != 0) {
        log_warn("containers: removing `%s`: %s", dir, j ? "bad container.json" : je.text);
        ctr_free(c);
        map_put(&cs->stale, dir, (void *)1);
        return;
    }
    if (c->state.status == CTR_RUNNING || c->state.status == CTR_PAUSED ||
        c->state.status == CTR_RESTARTING || c->state.status == CTR_REMOVING) {
        c->state.status = CTR_EXITED; /* its processes ended with the daemon that ran them */
        c->state.pid = 0;
        if (!c->state.exit_code)
            c->state.exit_code = 255;
        free(c->state.finished_at);
        c->state.finished_at = time_format_rfc3339(time_now_ns());
    }
    ctr_add(cs, c, pool);
}

/* Make the containers' directory and load every container in it. */
static int load_all(struct ctr_store *cs, struct pool *pool, struct berth_err **err)
{
    int r = fs_mkdir_p(cs->dir, 0710, err);
    if (r < 0)
        return r;
    _cleanup_closedir_ DIR *d = opendir(cs->dir);
    if (!d)
        return berth_error(err, errno, "read `%s`", cs->dir);
    for (struct dirent *e; (e = readdir(d));)
        if (strlen(e->d_name) == 64)
            load_one(cs, e->d_name, pool);
    return 0;
}

int ctr_store_open(const char *root, struct pool *pool, struct ctr_store **out,
                   struct berth_err **err)
{
    struct ctr_store *cs = xcalloc(1, sizeof(*cs));
    cs->dir = xasprintf("%s/containers", root);
    int r = load_all(cs, pool, err);
    if (r < 0) { /* the store is freed here, whichever step failed */
        ctr_store_close(cs);
        return r;
    }
    *out = cs;
    return 0;
}

void ctr_store_take_stale(struct ctr_store *cs, struct map *into)
{
    map_move(&cs->stale, into);
}

void ctr_store_close(struct ctr_store *cs)
{
    if (!cs)
        return;
    void *v;
    for (size_t i = 0; map_next(&cs->by_id, &i, NULL, &v);)
        ctr_free(v);
    map_free(&cs->by_id);
    map_free(&cs->by_name);
    map_free(&cs->stale);
    free(cs->dir);
    free(cs);
}
