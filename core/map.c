/* core/map.c — open-addressing hash map with FNV-1a hashing and tombstones; grows at 3/4
 * load (counting tombstones) so probe sequences stay short. */
#include "core/map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The slot holding key, or the first free slot where it would go (reusing a tombstone). */
static struct map_entry *find(const struct map *m, const char *key, bool for_insert)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1, i = hash(key) & mask;
    struct map_entry *free_slot = NULL;
    for (;;) {
        struct map_entry *e = &m->slots[i];
        if (!e->key && !e->tombstone)
            return for_insert && free_slot ? free_slot : (for_insert ? e : NULL);
        if (e->tombstone) {
            if (!free_slot)
                free_slot = e;
        } else if (strcmp(e->key, key) == 0) {
            return e;
        }
        i = (i + 1) & mask;
    }
}

static void grow(struct map *m)
{
    struct map old = *m;
    m->cap = old.cap ? (old.len * 2 >= old.cap ? old.cap * 2 : old.cap) : 16;
    m->slots = xcalloc(m->cap, sizeof(*m->slots));
    m->len = m->used = 0;
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.slots[i].key)
            continue;
        struct map_entry *e = find(m, old.slots[i].key, true);
        *e = (struct map_entry){.key = old.slots[i].key, .value = old.slots[i].value};
        m->len++;
        m->used++;
    }
    free(old.slots);
}

void *map_get(const struct map *m, const char *key)
{
    struct map_entry *e = find(m, key, false);
    return e ? e->value : NULL;
}

bool map_has(const struct map *m, const char *key)
{
    return find(m, key, false) != NULL;
}

void *map_put(struct map *m, const char *key, void *value)
{
    if ((m->used + 1) * 4 >= m->cap * 3)
        grow(m);
    struct map_entry *e = find(m, key, true);
    if (e->key) {
        void *old = e->value;
        e->value = value;
        return old;
    }
    if (!e->tombstone)
        m->used++;
    *e = (struct map_entry){.key = xstrdup(key), .value = value};
    m->len++;
    return NULL;
}

void *map_del(struct map *m, const char *key)
{
    struct map_entry *e = find(m, key, false);
    if (!e)
        return NULL;
    void *old = e->value;
    free(e->key);
    *e = (struct map_entry){.tombstone = true};
    m->len--;
    return old;
}

void map_free(struct map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

void map_move(struct map *from, struct map *into)
{
    const char *key;
    void *value;
    for (size_t i = 0; map_next(from, &i, &key, &value);)
        map_put(into, key, value);
    map_free(from);
}

bool map_next(const struct map *m, size_t *i, const char **key, void **value)
{
    for (; *i < m->cap; (*i)++) {
        if (m->slots[*i].key) {
            if (key)
                *key = m->slots[*i].key;
            if (value)
                *value = m->slots[*i].value;
            (*i)++;
            return true;
        }
    }
    return false;
}
