/* core/labels.h — dockerd's label filters, prepared once and matched against a labels object
 * ({"k": "v"}) by whoever owns the objects: containers and images alike. "label" entries
 * ("k" or "k=v") must all match; "label!" entries exclude an object that matches all of them
 * (moby's MatchKVList, used both ways). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct label_match {
    char **want; /* label=... */
    size_t nwant;
    char **reject; /* label!=... */
    size_t nreject;
};

/* From arrays of strings (either may be NULL). */
void label_match_init(struct label_match *m, const json_t *want, const json_t *reject);
void label_match_free(struct label_match *m);
/* True when labels (an object, or NULL for none) pass both lists. */
bool label_match(const struct label_match *m, const json_t *labels);

/* What a prune keeps out of its way: objects created after `until` (when has_until) and those
 * whose labels do not match. */
struct prune_match {
    bool has_until;
    int64_t until; /* nanoseconds since the epoch */
    struct label_match labels;
};

/* True when an object created at created_ns (< 0: unknown, which an `until` never selects, as
 * dockerd's image prune skips an image without a creation time) is selected. */
bool prune_match(const struct prune_match *m, int64_t created_ns, const json_t *labels);
void prune_match_free(struct prune_match *m);
