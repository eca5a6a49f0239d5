/* exec/volumes.h — a container's volumes, as dockerd handles them: its mount points of named and
 * anonymous volumes (and all that --volumes-from brings) resolved at create, the volumes made
 * before the container is stored, mounted with their driver options and filled from the image
 * at each start, unmounted when it stops, and its anonymous volumes removed with it (rm -v,
 * --rm). The records are c->mounts, kept in its container.json as "MountPoints":
 *   {"Type":"volume","Name","Source" (the volume's _data),"Destination","Driver":"local",
 *    "Mode","RW","Propagation":"","CopyData","Named", and for a --mount: "Labels","Options"}
 *   {"Type":"bind","Source","Destination","Mode","RW","Propagation"} (from --volumes-from)
 * The container's own binds stay in its HostConfig (exec/plan.c, exec/effective.c). */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "core/err.h"
#include "exec/container.h"
#include "fs/volume.h"

/* Reactor, no I/O: c->mounts, from dockerd's registerMountPoints and createContainerVolumesOS:
 * every mount point of each --volumes-from X[:ro|rw] (its binds too), replaced by a bind or
 * mount of this container at the same destination, the volumes of Binds (NAME:DST[:MODE], or
 * DST alone) and of Mounts (type=volume), then an anonymous volume for each Config.Volumes path
 * nothing is mounted on. Anonymous volumes get fresh names. EINVAL in dockerd's words:
 * "Duplicate mount point: DST", "invalid mode: M", "volumes-from specification cannot be an
 * empty string", "No such container: X". */
int ctr_volumes_resolve(struct ctr_store *cs, struct volume_store *vs, struct container *c,
                        struct berth_err **err);

/* Reactor: make the volumes c->mounts names that do not exist yet (with their --mount labels and
 * driver options, and dockerd's anonymous label on anonymous ones), as dockerd does at create,
 * and take c's references on them. done(ctx, res, err) once all exist, or with the first
 * failure (ctr_volumes_release then undoes it). done may run before this returns. */
void ctr_volumes_create(struct volume_store *vs, const struct container *c,
                        void (*done)(void *ctx, int res, const struct berth_err *err), void *ctx);
/* Reactor: c is removed: its references go, and with anonymous (rm -v, --rm, a create that
 * failed) its anonymous volumes that no other container uses are removed, as dockerd's
 * removeMountPoints (a failure is logged, a volume in use skipped). done(ctx) (may be NULL)
 * once they are gone; c may be freed as soon as this returns. */
void ctr_volumes_release(struct volume_store *vs, const struct container *c, bool anonymous,
                         void (*done)(void *ctx), void *ctx);
/* Start-up: the references of every container. */
void ctr_volumes_ref_all(struct volume_store *vs, struct ctr_store *cs);

/* One mount point record as inspect shows it (dockerd's MountPoint): a new object. */
json_t *ctr_volume_point_json(const json_t *record);

/* A start's volumes. */
struct ctr_vols;
/* Reactor: what c's start needs of its volumes; *out stays NULL when it has none. ENOENT in
 * dockerd's words when one is gone: "get NAME: no such volume". */
int ctr_volumes_pin(struct volume_store *vs, const struct container *c, struct ctr_vols **out,
                    struct berth_err **err);
/* Pool, in the start job once the rootfs is mounted: each volume's options mounted (by its first
 * user), then each empty volume whose mount point copies (not nocopy) filled from what the image
 * has at its destination (dockerd's copy of a directory's content into a new volume). On
 * failure what it mounted is unmounted. */
int ctr_volumes_setup(struct ctr_vols *vols, const char *rootfs, struct berth_err **err);
/* Pool: the container stopped, or its start failed: what setup mounted is given back (the last
 * user unmounts). Safe on NULL and when setup did nothing. */
void ctr_volumes_teardown(struct ctr_vols *vols);
void ctr_vols_free(struct ctr_vols *vols);
