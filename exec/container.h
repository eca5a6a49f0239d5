/* exec/container.h — containers as berth keeps them: the resolved configuration written once
 * at create, the state that changes as they run (ROOT/containers/<id>/container.json, atomic),
 * and an in-memory index by ID and name. Reactor thread, except where said. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/digest.h"
#include "core/err.h"
#include "core/map.h"
#include "core/pool.h"
#include "exec/logread.h"

enum ctr_status {
    CTR_CREATED,
    CTR_RUNNING,
    CTR_PAUSED,
    CTR_RESTARTING,
    CTR_REMOVING,
    CTR_EXITED,
    CTR_DEAD,
};

struct ctr_state {
    enum ctr_status status;
    int pid;
    int exit_code;
    bool oom_killed;
    char *error;
    char *started_at, *finished_at; /* RFC 3339; "0001-01-01T00:00:00Z" when never */
    int restart_count;
};

struct ctr_run;       /* exec/run.c: what exists only while it runs */
struct ctr_waiter;    /* exec/run.c: POST /wait callers */
struct attach_client; /* exec/attach.c: hijacked attach connections */
struct execproc;      /* exec/execproc.c: docker exec instances */

struct container {
    char id[65];
    char *name; /* without Docker's leading '/' */
    char *created;
    char image_id[DIGEST_LEN + 1];
    char *image_chain;   /* chain ID of the image's top layer ("" for no layers) */
    json_t *config;      /* Config, image defaults merged */
    json_t *host_config; /* HostConfig */
    json_t *mounts;      /* MountPoints of its volumes and --volumes-from (exec/volumes.h) */
    char *path;          /* the command: entrypoint + cmd */
    json_t *args;
    struct ctr_state state;
    char *dir;           /* ROOT/containers/<id> */
    json_t *trace;       /* the last start's phase timings, in microseconds */
    json_t *net_request; /* NetworkingConfig.EndpointsConfig's entry of its user network (--ip
                          * as IPAMConfig, --network-alias as Aliases), NULL: none */
    json_t *net_more;    /* the other networks it is on (docker network connect, or a second
                          * --network at create), in the order they were added: user network
                          * name -> {IPv4Address, Aliases, GwPriority}; NULL: none */
    json_t *net;         /* its endpoint on the default bridge (exec/ctrnet.c): NetworkID, and while
                          * it runs EndpointID, IPAddress, IPPrefixLen, Gateway, MacAddress, HostIf;
                          * NULL when it never ran there */
    struct statefile *sf;
    struct ctr_run *run;
    struct ctr_waiter *waiters;
    struct attach_client *attached;
    struct buf stdin_pending;       /* input that arrived before the process (docker run -i) */
    bool stdin_eof;                 /* ... and its end */
    bool starting;                  /* a start job is under way */
    int fs_holds;                   /* exec/ctrfs.c: cp, commit... read its files: no removal */
    int fs_mounts;                  /* ... with its stopped rootfs mounted: no start either */
    struct log_followers followers; /* docker logs -f readers */
    struct execproc *execs;         /* its exec instances (execproc.h), newest first */
};

struct ctr_store;

/* Blocking, at start-up: loads every container; one that was running when berthd stopped is
 * recorded as exited (its processes went with the daemon). Temp files of interrupted state
 * writes are removed; a directory without a valid record is set aside for
 * ctr_store_take_stale. */
int ctr_store_open(const char *root, struct pool *pool, struct ctr_store **out,
                   struct berth_err **err);
/* The directories without a record, added to the set `into`; the store forgets them. */
void ctr_store_take_stale(struct ctr_store *cs, struct map *into);
void ctr_store_close(struct ctr_store *cs);

/* Docker's lookup: full ID, name (with or without '/'), or a unique ID prefix. ENOENT
 * "No such container: NAME". */
int ctr_lookup(struct ctr_store *cs, const char *name, struct container **out,
               struct berth_err **err);
struct container *ctr_by_name(struct ctr_store *cs, const char *name);
/* Iterate: for (size_t i = 0; (c = ctr_next(cs, &i));) */
struct container *ctr_next(struct ctr_store *cs, size_t *i);
size_t ctr_count(struct ctr_store *cs, int status); /* status < 0: all */

/* A fresh ID and, when name is NULL, a generated name nobody uses (adjective_surname). */
void ctr_new_id(char out[65]);
char *ctr_generate_name(struct ctr_store *cs);
/* dockerd's checks: EINVAL "Invalid container name (x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are
 * allowed", EEXIST (409) "Conflict. The container name "/x" is already in use by container
 * "ID". You have to remove (or rename) that container to be able to reuse that name." */
int ctr_check_name(struct ctr_store *cs, const char *name, struct berth_err **err);

/* Index a new container (taking it) and give it its state file. */
void ctr_add(struct ctr_store *cs, struct container *c, struct pool *pool);
void ctr_rename(struct ctr_store *cs, struct container *c, const char *name);
/* Drop from the index; the caller removes the files and frees. */
void ctr_remove(struct ctr_store *cs, struct container *c);
void ctr_free(struct container *c);

/* Persist the container's current state; done (may be NULL) runs once it is on disk. */
void ctr_save(struct container *c, void (*done)(void *ctx, int res, const struct berth_err *err),
              void *ctx);
/* It is being removed: done(ctx) once no state write is in flight; no saves after this. */
void ctr_retire(struct container *c, void (*done)(void *ctx), void *ctx);
/* Blocking: write it now (create, before anything else knows the container). */
int ctr_save_now(struct container *c, struct berth_err **err);

const char *ctr_status_name(enum ctr_status s);
/* ROOT/containers/<id>/<id>-json.log (heap). */
char *ctr_log_path(const struct container *c); /* "created", "running", ... */
