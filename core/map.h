/* core/map.h — a string-keyed hash map (open addressing, linear probing) for the engine's
 * in-memory indexes: images by id, layers by chain id, containers by id and name. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct map_entry {
    char *key; /* NULL: empty slot */
    void *value;
    bool tombstone;
};

struct map {
    struct map_entry *slots;
    size_t cap;  /* power of two, or 0 */
    size_t len;  /* live entries */
    size_t used; /* live + tombstones */
};

/* A zeroed struct map is an empty map. Keys are copied; values are the caller's. */
void *map_get(const struct map *m, const char *key);
bool map_has(const struct map *m, const char *key);
/* Insert or replace; returns the value replaced, or NULL. */
void *map_put(struct map *m, const char *key, void *value);
/* Remove; returns the value removed, or NULL. */
void *map_del(struct map *m, const char *key);
void map_free(struct map *m); /* frees keys, not values */
/* Put every entry of `from` into `into` (replacing same keys), then empty `from`. */
void map_move(struct map *from, struct map *into);

/* Iterate: for (size_t i = 0; map_next(m, &i, &key, &value);) { ... } — do not insert while
 * iterating (removing the current entry is fine). */
bool map_next(const struct map *m, size_t *i, const char **key, void **value);
