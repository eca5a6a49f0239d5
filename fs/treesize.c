/* fs/treesize.c — walks a tree with fts (no global state, unlike nftw, so pool threads may
 * walk at once) and adds up st_size, counting each hard-linked inode once. */
#include "fs/treesize.h"

#include <fts.h>
#include <stdio.h>
#include <sys/stat.h>

#include "core/map.h"

static void fts_closep(FTS **f)
{
    if (*f)
        fts_close(*f);
}

/* A hard-linked inode seen before: keyed by device and inode number. */
static bool seen_before(struct map *seen, const struct stat *st)
{
    if (st->st_nlink < 2)
        return false;
    char key[48];
    snprintf(key, sizeof(key), "%llx:%llx", (unsigned long long)st->st_dev,
             (unsigned long long)st->st_ino);
    if (map_has(seen, key))
        return true;
    map_put(seen, key, NULL);
    return false;
}

int64_t fs_tree_size(const char *dir)
{
    char *roots[] = {(char *)dir, NULL};
    __attribute__((cleanup(fts_closep))) FTS *f =
        fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR | FTS_XDEV, NULL);
    struct map seen = {0};
    int64_t total = 0;
    for (FTSENT *e; f && (e = fts_read(f));) {
        if ((e->fts_info == FTS_F || e->fts_info == FTS_SL || e->fts_info == FTS_SLNONE) &&
            !seen_before(&seen, e->fts_statp))
            total += e->fts_statp->st_size;
    }
    map_free(&seen);
    return total;
}
