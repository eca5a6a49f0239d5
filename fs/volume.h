/* fs/volume.h — the local volume driver's store, as moby's volume/local and volume/service keep
 * it: ROOT/volumes/<name>/volume.json (name, creation time, labels, driver options) and
 * ROOT/volumes/<name>/_data (the data, the Mountpoint). A volume appears whole or not at all (it
 * is built under a temp name and renamed in) and disappears the same way (renamed to a trash
 * name before its tree is deleted); start-up removes what a crash left of either. The driver
 * options type, device and o are mounted on _data at a volume's first use and unmounted when
 * its last user stops. The index and the references (the containers that use a volume) belong
 * to the reactor thread; mounts and copies into a volume are counted under the volume's lock by
 * pool jobs. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/err.h"
#include "core/map.h"
#include "core/pool.h"

#define VOLUME_DRIVER "local"
/* The label dockerd puts on the volumes it makes without a name. */
#define VOLUME_ANONYMOUS_LABEL "com.docker.volume.anonymous"

enum volume_state { VOLUME_CREATING, VOLUME_READY, VOLUME_REMOVING };

struct volume_waiter;

struct volume {
    /* fixed once the volume exists (pool jobs may read them while a container uses it) */
    char *name;
    char *dir;       /* ROOT/volumes/<name> */
    char *data;      /* ROOT/volumes/<name>/_data: the Mountpoint */
    char *created;   /* CreatedAt: RFC 3339 in seconds, as dockerd formats it */
    json_t *labels;  /* an object, or null */
    json_t *options; /* the driver options (type, device, o): an object, or null */
    /* reactor thread */
    enum volume_state state;
    struct map refs; /* the IDs of the containers that use it */
    struct volume_waiter *waiters;
    /* pool jobs, under lock: the users of a volume whose options are mounted, the mount */
    pthread_mutex_t lock;
    int active;
    bool mounted;
};

struct volume_store;

/* Blocking, at start-up: loads every volume. A volume being made or removed when the last
 * daemon died (its temp or trash name) is set aside for volume_store_take_stale; a directory
 * that is no volume is left alone. */
int volume_store_open(const char *root, struct pool *pool, struct volume_store **out,
                      struct berth_err **err);
/* The directories set aside at open, added to the set `into` (removed once volume_recover_host
 * has unmounted what was left mounted); the store forgets them. */
void volume_store_take_stale(struct volume_store *vs, struct map *into);
/* Blocking (pool), at start-up before any container starts: no container survives a restart,
 * so whatever is mounted under ROOT/volumes (a volume's options, mounted by a start the last
 * daemon did not undo) is unmounted. */
void volume_recover_host(struct volume_store *vs);
void volume_store_close(struct volume_store *vs);
/* Who hears of volumes made and removed (the daemon's events; reactor thread, before the
 * caller's done). */
enum volume_event { VOLUME_EVENT_CREATE, VOLUME_EVENT_DESTROY };
typedef void (*volume_notify_fn)(void *arg, const char *name, enum volume_event what);
void volume_store_notify(struct volume_store *vs, volume_notify_fn fn, void *arg);
/* ROOT/volumes/<name>/_data for a name (heap), whether or not the volume exists yet. */
char *volume_data_path(const struct volume_store *vs, const char *name);

/* A volume that exists (READY), or NULL. */
struct volume *volume_get(struct volume_store *vs, const char *name);
/* The same with dockerd's words for a missing one: ENOENT "get NAME: no such volume". */
int volume_lookup(struct volume_store *vs, const char *name, struct volume **out,
                  struct berth_err **err);
/* Iterate the volumes that exist: for (size_t i = 0; (v = volume_next(vs, &i));) */
struct volume *volume_next(struct volume_store *vs, size_t *i);
size_t volume_count(struct volume_store *vs);

/* dockerd's checks of a new local volume, in its words without the "create NAME: " it adds:
 * the name ("volume name is too short, ...", "\"x\" includes invalid characters for a local
 * volume name, ...") and the driver options ("invalid option: \"x\"", "missing required
 * option: \"type\"", "quota size requested but no quota support"). EINVAL. */
int volume_check_name(const char *name, struct berth_err **err);
int volume_check_options(const json_t *options, struct berth_err **err);
/* A fresh random name, 64 hex digits, as dockerd names anonymous volumes (heap). */
char *volume_new_name(void);
/* Whether the volume has options to mount (a type or a device). */
bool volume_needs_mount(const struct volume *v);

typedef void (*volume_done_fn)(void *ctx, int res, const struct berth_err *err, struct volume *v);
/* Make the volume NAME unless it exists (then done gets it as it is, as dockerd does: its labels
 * and options stay). A volume being made by another call is waited for. Errors in dockerd's
 * words, "create NAME: ..." (EINVAL for a bad name or options, EBUSY while it is being
 * removed). labels and options (objects, or NULL) are copied. done may run before this
 * returns. */
void volume_create(struct volume_store *vs, const char *name, const json_t *labels,
                   const json_t *options, volume_done_fn done, void *ctx);
/* Remove a volume and its data. EBUSY (409) in dockerd's words when a container uses it:
 * "remove NAME: volume is in use - [ID, ...]"; then done is not called. Else done(ctx, res,
 * err) once it is gone (the volume is freed before). */
int volume_remove(struct volume_store *vs, struct volume *v,
                  void (*done)(void *ctx, int res, const struct berth_err *err), void *ctx,
                  struct berth_err **err);

/* References: which containers use a volume (reactor thread). */
void volume_ref(struct volume *v, const char *ctr_id);
void volume_unref(struct volume *v, const char *ctr_id);
size_t volume_nrefs(const struct volume *v);

/* Blocking (pool), by a container's start and end: the first user of a volume with options
 * mounts them on _data (moby's local driver: `mount -t TYPE -o O DEVICE _data`), the last one
 * unmounts them. A volume without options is a plain directory: nothing to do. */
int volume_mount(struct volume *v, struct berth_err **err);
void volume_unmount(struct volume *v);
