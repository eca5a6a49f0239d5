/* fs/backing.c — statfs's filesystem magic under moby's names (daemon/internal/fstype), a
 * readdir for d_type, and the overlay module's defaults, which berth's mounts do not override. */
#include "fs/backing.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>

#include "core/cleanup.h"
#include "core/macros.h"

static const struct {
    unsigned long magic;
    const char *name;
} fs_names[] = {
    {0x61756673, "aufs"},     {0x9123683E, "btrfs"},    {0x28cd3d45, "cramfs"},
    {0xf15f, "ecryptfs"},     {0x0000EF53, "extfs"},    {0xF2F52010, "f2fs"},
    {0x65735546, "fuse"},     {0x47504653, "gpfs"},     {0x000072b6, "jffs2"},
    {0x3153464a, "jfs"},      {0x00006969, "nfs"},      {0x794C7630, "overlayfs"},
    {0x858458f6, "ramfs"},    {0x52654973, "reiserfs"}, {0x0000517B, "smb"},
    {0x73717368, "squashfs"}, {0x01021994, "tmpfs"},    {0xa501fcf5, "vxfs"},
    {0x58465342, "xfs"},      {0x2fc12fc1, "zfs"},
};

static const char *fs_name(unsigned long magic)
{
    for (size_t i = 0; i < ARRAY_SIZE(fs_names); i++)
        if (fs_names[i].magic == (magic & 0xffffffffUL))
            return fs_names[i].name;
    return "<unknown>"; /* dockerd's word for a type it has no name for */
}

/* Any entry but . and .. shows whether the filesystem fills in d_type. */
static bool has_d_type(const char *dir)
{
    _cleanup_closedir_ DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            return e->d_type != DT_UNKNOWN;
    return false;
}

/* A Y/N module parameter of overlay (N when the module says nothing). */
static bool overlay_param(const char *name)
{
    char path[96], v[8] = "";
    snprintf(path, sizeof(path), "/sys/module/overlay/parameters/%s", name);
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    return f && fgets(v, sizeof(v), f) && (v[0] == 'Y' || v[0] == 'y' || v[0] == '1');
}

void fs_backing_probe(const char *dir, struct fs_backing *out)
{
    struct statfs st;
    snprintf(out->name, sizeof(out->name), "%s",
             statfs(dir, &st) == 0 ? fs_name((unsigned long)st.f_type) : "<unknown>");
    out->d_type = has_d_type(dir);
    out->metacopy = overlay_param("metacopy");
    out->native_diff = !out->metacopy && !overlay_param("redirect_dir");
}
