/* exec/ctrcopy.h — docker cp's calls on a container's view (HEAD, GET and PUT
 * /containers/{id}/archive) and docker export, answered as dockerd answers them: its names in
 * the archive, its X-Docker-Container-Path-Stat, its errors. Blocking: pool threads. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"
#include "exec/ctrfs.h"
#include "fs/tarwrite.h"
#include "fs/unpack.h"

/* What a path in the container is (dockerd's PathStat) and how GET archives it. */
struct ctrcopy_stat {
    char *name; /* filepath.Base of the path: "passwd", "etc", ".", "/" */
    int64_t size;
    uint32_t mode; /* Go's os.FileMode bits */
    int64_t mtime_ns;
    char *link_target; /* a symlink's target resolved in the container ("" otherwise) */
    char *cpath;       /* where it is, resolved */
    char *root_name;   /* its entry's name in the archive ("" for the container's root) */
};

/* Stat path (as the client gave it; ctr_name as the client named the container, for the
 * words): ENOENT "Could not find the file PATH in container NAME". */
int ctrcopy_stat(struct ctrfs *fs, const char *path, const char *ctr_name, struct ctrcopy_stat *st,
                 struct berth_err **err);
void ctrcopy_stat_free(struct ctrcopy_stat *st);
/* {"name","size","mode","mtime","linkTarget"} as dockerd encodes it (before base64). */
json_t *ctrcopy_stat_json(const struct ctrcopy_stat *st);
/* GET's tar of what ctrcopy_stat found. */
int ctrcopy_archive(struct ctrfs *fs, const struct ctrcopy_stat *st, struct tarw *t,
                    struct berth_err **err);

struct ctrcopy_put {
    const char *path, *ctr_name;
    bool no_overwrite_dir_nondir;
    bool copy_uidgid;
};
/* PUT: extract the archive read from `read` into the directory path names: ENOENT as
 * ctrcopy_stat, EINVAL "extraction point is not a directory", the writable check's words. */
int ctrcopy_extract(struct ctrfs *fs, const struct ctrcopy_put *p, unpack_read_fn read, void *ctx,
                    struct berth_err **err);

/* docker export: the whole CTRFS_ROOTFS view, names relative to its root. */
int ctrcopy_export(struct ctrfs *fs, struct tarw *t, struct berth_err **err);
