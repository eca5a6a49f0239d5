/* exec/ctrfs.h — a container's files, for docker cp, export, commit and diff. The reactor takes
 * a hold on the container (it cannot be removed meanwhile, nor started while berth has its
 * stopped rootfs mounted) and copies what the pool needs; the pool opens the view, in which
 * every path is resolved inside the container's root (openat2 RESOLVE_IN_ROOT, symlinks in
 * scope), so nothing in the container can lead a read or a write onto the host. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "core/err.h"
#include "exec/container.h"
#include "exec/run.h"

enum ctrfs_kind {
    /* What its processes see. Running: its mount namespace, through /proc/PID/root (its binds,
     * tmpfs and /etc files are there). Stopped: its overlay mounted for us (privately, as the
     * start mounts it) with its binds and /etc files mapped to their host sources, as dockerd
     * mounts them for a stopped container's cp. (docker cp) */
    CTRFS_VIEW,
    /* Its overlay alone, what dockerd exports: the one the running container has, or one
     * mounted for us. (docker export) */
    CTRFS_ROOTFS,
    /* Nothing mounted: its upper directory and the layers below it. (commit, diff) */
    CTRFS_LAYERS,
};

struct ctrfs_spec;

/* Reactor thread. EBUSY while it starts or is being finished after its exit, and for a
 * container being removed (dockerd's words for the last: "You cannot <verb> container ID which
 * is being removed"); verb names the operation ("copy from", "export", "commit"). */
struct ctrfs_spec *ctrfs_hold(struct exec_env *env, struct container *c, enum ctrfs_kind kind,
                              const char *verb, struct berth_err **err);
/* Reactor thread, once the pool has closed what it opened: the hold ends (the container may be
 * gone: it is looked up again by ID). */
void ctrfs_release(struct exec_env *env, struct ctrfs_spec *s);
const char *ctrfs_spec_id(const struct ctrfs_spec *s);
bool ctrfs_spec_running(const struct ctrfs_spec *s);

/* ---- pool ---- */

struct ctrfs;

int ctrfs_open(struct ctrfs_spec *s, struct ctrfs **out, struct berth_err **err);
void ctrfs_close(struct ctrfs *fs);
static inline void ctrfs_closep(struct ctrfs **fs)
{
    if (*fs)
        ctrfs_close(*fs);
}

/* The root of a CTRFS_VIEW or CTRFS_ROOTFS view (O_PATH; the view's). */
int ctrfs_root(const struct ctrfs *fs);

/* Go's path.Clean of "/" + path: "a/../b/" is "/b". Heap. */
char *ctrfs_clean(const char *path);
/* The container path `path` ("/" is the container's root) with its symlinks resolved inside the
 * container, as moby's FollowSymlinkInScope: absolute and clean; a part that does not exist is
 * kept as it is; the last part is followed only when follow_last. ELOOP past 40 links. */
int ctrfs_resolve(struct ctrfs *fs, const char *path, bool follow_last, char **out,
                  struct berth_err **err);
/* Open a resolved container path (flags as openat's: O_PATH, O_NOFOLLOW, O_DIRECTORY ...)
 * where it really is: a stopped container's bind source or its rootfs. -errno on failure. */
int ctrfs_open_path(struct ctrfs *fs, const char *cpath, int flags);
/* For a walk: the host object behind a bind whose mount point is exactly cpath (a stopped
 * container's), as an O_PATH fd; -1 when there is none. */
int ctrfs_bind_at(struct ctrfs *fs, const char *cpath);
/* dockerd's checkWritablePath for an extraction point: EINVAL "mounted volume is marked
 * read-only" inside a read-only bind, "container rootfs is marked read-only" elsewhere under
 * --read-only. */
int ctrfs_check_writable(const struct ctrfs *fs, const char *cpath, struct berth_err **err);
/* Its Config.User as dockerd resolves it for copyUIDGID, in the container's /etc/passwd and
 * /etc/group: 0 with nothing set when it has none, 1 with uid and gid, or EINVAL. */
int ctrfs_user(struct ctrfs *fs, uid_t *uid, gid_t *gid, struct berth_err **err);

/* CTRFS_LAYERS: its upper directory, and the directories of the layers below (its image's init
 * layer, then the image's layers, top first), as O_PATH fds the view owns. */
int ctrfs_upper(const struct ctrfs *fs);
const int *ctrfs_lowers(const struct ctrfs *fs, size_t *n);
