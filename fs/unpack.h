/* fs/unpack.h — unpacks a layer tar stream (gzip, zstd or plain, detected from its first
 * bytes) into a directory, safely: no entry can create, change or follow anything outside it.
 * The same for an archive of plain files that is read back afterwards (docker load's), and for
 * docker cp's archive into a container. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "core/digest.h"
#include "core/err.h"

/* Blocking source of the layer's bytes, called on the unpacking thread: fill buf with up to
 * cap bytes and return the count, 0 at the end, or -errno (-ECANCELED to abort). */
typedef ssize_t (*unpack_read_fn)(void *ctx, void *buf, size_t cap);

struct unpack_result {
    char diff_id[DIGEST_LEN + 1]; /* sha256 of every uncompressed byte, padding included */
    uint64_t tar_size;            /* uncompressed bytes */
    uint64_t entries;             /* tar entries */
    uint64_t disk_size;           /* sum of regular file sizes: the layer's Size */
};

/* Unpack into the empty directory dirfd. Whiteouts (.wh.NAME, .wh..wh..opq) become overlayfs
 * whiteouts (0:0 char devices) and opaque directories (trusted.overlay.opaque=y). Keeps
 * ownership, modes (setuid too), mtimes, xattrs (security.capability too), devices, fifos,
 * hardlinks and sparse holes. Reads the source to its end even past the tar's end marker,
 * so the caller's digest of the raw bytes covers everything. Blocking: run it in a pool job.
 * On failure the directory may hold a partial tree, which the caller removes. */
int unpack_layer(int dirfd, unpack_read_fn read, void *ctx, struct unpack_result *res,
                 struct berth_err **err);
/* The same for a tarball whose files are read back afterwards (docker load's outer archive):
 * only regular files, directories, symlinks and hardlinks; a device, fifo or socket entry is
 * refused (EINVAL, the entry named), and ".wh." names are ordinary names. */
int unpack_archive(int dirfd, unpack_read_fn read, void *ctx, struct unpack_result *res,
                   struct berth_err **err);

/* docker cp into a container (PUT /containers/{id}/archive), as dockerd's extraction does it:
 * dirfd is the extraction point, the root every name and symlink is resolved in (".." and
 * absolute names too: a name that climbs above it is refused, "invalid entry name"); ".wh."
 * names are ordinary names; devices and fifos are made; owners are the archive's unless chown. */
struct unpack_copy_opts {
    /* refused (dockerd's words): an existing directory replaced by a non-directory, or the
     * reverse */
    bool no_overwrite_dir_nondir;
    bool chown; /* every entry owned by uid:gid (copyUIDGID with a container user) */
    uid_t uid;
    gid_t gid;
    const char *dest; /* the extraction point as the container names it, for the words */
};
int unpack_copy(int dirfd, const struct unpack_copy_opts *o, unpack_read_fn read, void *ctx,
                struct berth_err **err);
