/* fs/backing.h — what the filesystem under berth's root is and what its overlay mounts get,
 * as dockerd's overlay2 driver reports it in /info's DriverStatus. Blocking (pool jobs). */
#pragma once

#include <stdbool.h>

struct fs_backing {
    char name[16];    /* dockerd's name of the filesystem type: "extfs", "xfs", "<unknown>" */
    bool d_type;      /* readdir gives entry types, which overlay needs */
    bool metacopy;    /* the overlay module copies up metadata only (berth leaves it default) */
    bool native_diff; /* neither redirect_dir nor metacopy: the upper dir is the layer's diff */
};

/* Probe the filesystem holding dir (an existing, non-empty directory such as the root). */
void fs_backing_probe(const char *dir, struct fs_backing *out);
