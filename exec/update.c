/* exec/update.c — docker update as dockerd does it (daemon/update.go, container's
 * UpdateContainer): the request checked as at create, its conflicts with the container's
 * current limits refused, the non-zero fields merged into the HostConfig, and, for a running
 * container, the fields the request sets written into its cgroup by a pool job (cgroup_update).
 * The HostConfig changes at once, so a second update merges onto the first; if the cgroup
 * refuses a value the HostConfig goes back to what it was, as dockerd restores its copy. */
#include "exec/update.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/cgroup.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "exec/fields.h"
#include "exec/verify.h"

/* Anything but null, "", 0, false, [] or {}: what the docker CLI sends for a flag not given. */
static bool is_set(const json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0;
    case JSON_TRUE:
        return true;
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_OBJECT:
        return json_object_size(v) > 0;
    default:
        return false;
    }
}

/* The Resources fields update takes no value for. dockerd keeps some of them in the
 * HostConfig without writing them to the cgroup and drops the rest without a word; berth
 * refuses them all, so that an update never answers 200 for a change it did not make. */
static int check_unchangeable(const json_t *body, struct berth_err **err)
{
    static const char *const fields[][2] = {
        {"CgroupParent", "--cgroup-parent"},
        {"BlkioWeightDevice", "--blkio-weight-device"},
        {"BlkioDeviceReadBps", "--device-read-bps"},
        {"BlkioDeviceWriteBps", "--device-write-bps"},
        {"BlkioDeviceReadIOps", "--device-read-iops"},
        {"BlkioDeviceWriteIOps", "--device-write-iops"},
        {"Devices", "--device"},
        {"DeviceCgroupRules", "--device-cgroup-rule"},
        {"DeviceRequests", "--gpus"},
        {"KernelMemory", "--kernel-memory"},
        {"KernelMemoryTCP", "--kernel-memory-tcp"},
        {"MemorySwappiness", "--memory-swappiness"},
        {"OomKillDisable", "--oom-kill-disable"},
        {"Init", "--init"},
        {"Ulimits", "--ulimit"},
        {"CpuCount", "--cpu-count"},
        {"CpuPercent", "--cpu-percent"},
        {"IOMaximumIOps", "--io-maxiops"},
        {"IOMaximumBandwidth", "--io-maxbandwidth"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        const json_t *v = json_object_get(body, fields[i][0]);
        bool unset = json_is_integer(v) && json_integer_value(v) == -1 &&
                     strcmp(fields[i][0], "MemorySwappiness") == 0; /* -1: the default */
        if (is_set(v) && !unset)
            return berth_user_error(err, EINVAL,
                                    "%s (%s) cannot be changed by docker update: it is set when "
                                    "the container is created",
                                    fields[i][0], fields[i][1]);
    }
    return 0;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return "string";
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    default:
        return "number";
    }
}

/* The fields update reads, of the type dockerd's decoder wants (a value of another type would
 * otherwise read as unset): its words for the first that is not. */
static int check_types(const json_t *body, struct berth_err **err)
{
    static const struct {
        const char *name, *go_type;
        json_type type;
    } fields[] = {
        {"Memory", "int64", JSON_INTEGER},
        {"MemorySwap", "int64", JSON_INTEGER},
        {"MemoryReservation", "int64", JSON_INTEGER},
        {"NanoCpus", "int64", JSON_INTEGER},
        {"CpuShares", "int64", JSON_INTEGER},
        {"CpuPeriod", "int64", JSON_INTEGER},
        {"CpuQuota", "int64", JSON_INTEGER},
        {"CpuRealtimePeriod", "int64", JSON_INTEGER},
        {"CpuRealtimeRuntime", "int64", JSON_INTEGER},
        {"PidsLimit", "int64", JSON_INTEGER},
        {"BlkioWeight", "uint16", JSON_INTEGER},
        {"CpusetCpus", "string", JSON_STRING},
        {"CpusetMems", "string", JSON_STRING},
        {"RestartPolicy", "container.RestartPolicy", JSON_OBJECT},
    };
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        const json_t *v = json_object_get(body, fields[i].name);
        if (v && !json_is_null(v) && json_typeof(v) != fields[i].type)
            return berth_user_error(err, EINVAL,
                                    "json: cannot unmarshal %s into Go struct field "
                                    "UpdateConfig.%s of type %s",
                                    json_kind(v), fields[i].name, fields[i].go_type);
    }
    return 0;
}

int ctr_update_check(const json_t *body, json_t *warnings, struct berth_err **err)
{
    int r = check_types(body, err);
    if (r < 0)
        return r;
    if ((r = check_unchangeable(body, err)) < 0)
        return r;
    if ((r = verify_update(body, warnings, err)) < 0)
        return r;
    /* the restart policy through create's rules: "no" passes, the rest as create refuses it */
    json_t *policy = json_object_get(body, "RestartPolicy");
    if (!json_is_object(policy))
        return 0;
    _cleanup_json_ json_t *as_create = json_pack("{s{sO}}", "HostConfig", "RestartPolicy", policy);
    return fields_check_request(as_create, NULL, err);
}

/* The swap limit dockerd keeps for the container: with a memory limit and no swap limit it
 * stored twice the memory at create (berth keeps 0 and writes twice the memory at start). */
static int64_t swap_now(const json_t *hc)
{
    int64_t mem = json_get_int(hc, "Memory", 0), swap = json_get_int(hc, "MemorySwap", 0);
    return swap == 0 && mem > 0 ? 2 * mem : swap;
}

/* UpdateContainer's refusals, each "Cannot update container ID: ..." (a conflict, 409). */
static int conflicts(const struct container *c, const json_t *body, struct berth_err **err)
{
    static const struct {
        const char *want, *have, *words;
    } cpu[] = {
        {"NanoCpus", "CpuPeriod", "Nano CPUs cannot be updated as CPU Period has already been set"},
        {"NanoCpus", "CpuQuota", "Nano CPUs cannot be updated as CPU Quota has already been set"},
        {"CpuPeriod", "NanoCpus", "CPU Period cannot be updated as NanoCPUs has already been set"},
        {"CpuQuota", "NanoCpus", "CPU Quota cannot be updated as NanoCPUs has already been set"},
    };
    const json_t *hc = c->host_config;
    if (c->state.status == CTR_REMOVING)
        return berth_user_error(err, EIO,
                                "Cannot update container %s: container is marked for removal and "
                                "cannot be \"update\"",
                                c->id);
    if (c->starting) /* its start job reads the HostConfig: berth's refusal, for that moment */
        return berth_user_error(
            err, EBUSY, "Cannot update container %s: container is starting: try again", c->id);
    for (size_t i = 0; i < sizeof(cpu) / sizeof(cpu[0]); i++)
        if (json_get_int(body, cpu[i].want, 0) > 0 && json_get_int(hc, cpu[i].have, 0) > 0)
            return berth_user_error(err, EBUSY,
                                    "Cannot update container %s: Conflicting options: %s", c->id,
                                    cpu[i].words);
    int64_t mem = json_get_int(body, "Memory", 0);
    if (mem != 0 && mem > swap_now(hc) && json_get_int(body, "MemorySwap", 0) == 0)
        return berth_user_error(err, EBUSY,
                                "Cannot update container %s: Memory limit should be smaller than "
                                "already set memoryswap limit, update the memoryswap at the same "
                                "time",
                                c->id);
    return 0;
}

/* The request's non-zero fields into hc, as UpdateContainer copies them (PidsLimit when given,
 * 0 and below meaning none; the restart policy when it has a name). */
static void merge(json_t *hc, const json_t *body)
{
    static const char *const ints[] = {
        "BlkioWeight", "CpuShares",         "NanoCpus",          "CpuPeriod",         "CpuQuota",
        "MemorySwap",  "MemoryReservation", "CpuRealtimePeriod", "CpuRealtimeRuntime"};
    static const char *const strs[] = {"CpusetCpus", "CpusetMems"};
    int64_t mem = json_get_int(body, "Memory", 0);
    if (mem && !json_get_int(body, "MemorySwap", 0)) /* the swap limit dockerd had kept */
        json_object_set_new(hc, "MemorySwap", json_integer(swap_now(hc)));
    if (mem)
        json_object_set_new(hc, "Memory", json_integer(mem));
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        int64_t v = json_get_int(body, ints[i], 0);
        if (v)
            json_object_set_new(hc, ints[i], json_integer(v));
    }
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        const char *v = json_get_str(body, strs[i]);
        if (v && *v)
            json_object_set_new(hc, strs[i], json_string(v));
    }
    if (json_is_integer(json_object_get(body, "PidsLimit"))) {
        int64_t v = json_get_int(body, "PidsLimit", 0);
        json_object_set_new(hc, "PidsLimit", json_integer(v > 0 ? v : 0));
    }
    const json_t *policy = json_object_get(body, "RestartPolicy");
    const char *name = json_get_str(policy, "Name");
    if (name && *name)
        json_object_set_new(hc, "RestartPolicy",
                            json_pack("{ss sI}", "Name", name, "MaximumRetryCount",
                                      (json_int_t)json_get_int(policy, "MaximumRetryCount", 0)));
}

struct update_job {
    struct pool_job job;
    struct exec_env *env;
    char id[65];
    const struct cgroup *run_cg; /* the run it was written into, to tell a later one apart */
    struct cgroup *cg;           /* a copy for the job */
    struct cgroup_limits l;
    char *cpus, *mems;
    json_t *backup; /* the HostConfig before */
    ctr_done_fn done;
    void *ctx;
    int res;
    struct berth_err *err;
};

/* What the request sets, for the running container's cgroup: the CPU period (100 ms unless
 * set) and quota (none: -1) both from the merged HostConfig when either (or --cpus) changes,
 * and a swap limit with the memory limit it counts from. */
static void live_limits(struct update_job *j, const json_t *body, const json_t *hc)
{
    bool cpu = json_get_int(body, "NanoCpus", 0) || json_get_int(body, "CpuPeriod", 0) ||
               json_get_int(body, "CpuQuota", 0);
    const json_t *pids = json_object_get(body, "PidsLimit");
    j->cpus = xstrdup(json_get_str(body, "CpusetCpus") ?: "");
    j->mems = xstrdup(json_get_str(body, "CpusetMems") ?: "");
    j->l = (struct cgroup_limits){
        .memory = json_get_int(body, "Memory", 0),
        .memory_swap = json_get_int(body, "MemorySwap", 0),
        .memory_reservation = json_get_int(body, "MemoryReservation", 0),
        .memory_swappiness = -1,
        .cpu_shares = json_get_int(body, "CpuShares", 0),
        .nano_cpus = cpu ? json_get_int(hc, "NanoCpus", 0) : 0,
        .cpu_period = !cpu ? 0 : json_get_int(hc, "CpuPeriod", 0) ?: 100000,
        .cpu_quota = cpu ? json_get_int(hc, "CpuQuota", 0) : 0,
        .cpuset_cpus = j->cpus,
        .cpuset_mems = j->mems,
        .pids_limit = !json_is_integer(pids) ? 0 : json_integer_value(pids) > 0 ? json_integer_value(pids) : -1,
        .blkio_weight = json_get_int(body, "BlkioWeight", 0),
        .cpu_rt_period = json_get_int(body, "CpuRealtimePeriod", 0),
        .cpu_rt_runtime = json_get_int(body, "CpuRealtimeRuntime", 0),
        .privileged = true, /* devices are not the update's */
    };
    /* the memory limit a swap limit counts from (v2's memory.swap.max is the difference), and
     * the kept swap limit with a new memory limit (merged into hc as dockerd keeps it) */
    if (j->l.memory_swap && !j->l.memory)
        j->l.memory = json_get_int(hc, "Memory", 0);
    if (j->l.memory && !j->l.memory_swap)
        j->l.memory_swap = json_get_int(hc, "MemorySwap", 0);
}

static void update_work(struct pool_job *job)
{
    struct update_job *j = (struct update_job *)job;
    j->res = cgroup_update(j->cg, &j->l, &j->err);
}

static void job_free(struct update_job *j)
{
    cgroup_free(j->cg);
    json_decref(j->backup);
    berth_err_free(j->err);
    free(j->cpus);
    free(j->mems);
    free(j);
}

static void update_done(struct pool_job *job)
{
    struct update_job *j = (struct update_job *)job;
    struct container *c = NULL;
    if (ctr_lookup(j->env->cs, j->id, &c, NULL) < 0) { /* removed meanwhile */
        j->done(j->ctx, 0, NULL);
        return job_free(j);
    }
    /* a refusal counts only if the run it was for still runs: a new run took the new limits */
    if (j->res < 0 && ctr_run_cgroup(c) == j->run_cg) {
        _cleanup_err_ struct berth_err *err = NULL;
        int r = berth_user_error(&err, EIO, "Cannot update container %s: %s", c->id, j->err->msg);
        json_object_clear(c->host_config);
        json_object_update(c->host_config, j->backup);
        j->done(j->ctx, r, err);
        return job_free(j);
    }
    ctr_save(c, j->done, j->ctx);
    job_free(j);
}

int ctr_update(struct exec_env *env, struct container *c, const json_t *body, ctr_done_fn done,
               void *ctx, struct berth_err **err)
{
    int r = conflicts(c, body, err);
    if (r < 0)
        return r;
    const struct cgroup *cg = ctr_run_cgroup(c);
    json_t *backup = cg ? json_deep_copy(c->host_config) : NULL;
    merge(c->host_config, body);
    if (!cg) { /* stored only: its next start writes it */
        ctr_save(c, done, ctx);
        return 0;
    }
    struct update_job *j = xcalloc(1, sizeof(*j));
    *j = (struct update_job){.job = {.work = update_work, .done = update_done},
                             .env = env,
                             .run_cg = cg,
                             .cg = cgroup_dup(cg),
                             .backup = backup,
                             .done = done,
                             .ctx = ctx};
    memcpy(j->id, c->id, sizeof(j->id));
    live_limits(j, body, c->host_config);
    pool_submit(env->pool, POOL_LATENCY, &j->job);
    return 0;
}
