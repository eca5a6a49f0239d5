/* exec/rootfs.h — a container's root filesystem: the overlay of its image layers under its own
 * writable layer, mount targets resolved safely inside it, the /etc files berth provides, and
 * users and groups looked up in the image's /etc/passwd and /etc/group. Blocking (pool). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "core/err.h"

/* Mount DIR/merged as overlay: lowerdir is relative to layers_dir ("l/A:l/B", NULL for an
 * image without layers), upper and work live in DIR. */
int rootfs_mount(const char *dir, const char *layers_dir, const char *lowerdir,
                 struct berth_err **err);
int rootfs_unmount(const char *dir, struct berth_err **err);

/* An image's init layer, LAYERS/<top>/init: the mount points every container of it needs
 * (/etc/hosts, /etc/hostname, /etc/resolv.conf, /proc, /sys, /dev), made once and shared as
 * the top lowerdir, so no container creates them in its own upper dir (each file created on
 * this ext4 costs ~0.8 ms when it is busy). As dockerd's "-init" layer, but per image. */
int rootfs_init_layer(const char *layers_dir, const char *top_link, struct berth_err **err);

/* Resolve PATH inside ROOT the way the container will see it (symlinks cannot leave ROOT),
 * creating what is missing (a directory, or an empty file when !is_dir), and return the real
 * host path to mount on. */
int rootfs_target(const char *root, const char *path, bool is_dir, char **out,
                  struct berth_err **err);

struct user_spec {
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    size_t ngroups;
    char *home;
};

/* Docker's -u forms: "", "name", "uid", "name:group", "uid:gid"; the groups are the primary
 * one, /etc/group membership (without an explicit group) and group_add (names or numbers). ENOENT
 * with dockerd's words: "unable to find user NAME: no matching entries in passwd file". */
int rootfs_user(const char *root, const char *user, char *const *group_add, struct user_spec *out,
                struct berth_err **err);
void user_spec_free(struct user_spec *u);
