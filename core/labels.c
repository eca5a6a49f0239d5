/* core/labels.c — label filters as moby's MatchKVList reads them: every entry must be a label
 * of the object, with the same value when the entry has one; no entries match anything. */
#include "core/labels.h"

#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

static char **strings_of(const json_t *list, size_t *n)
{
    char **out = xcalloc(json_array_size(list) + 1, sizeof(*out));
    size_t i;
    json_t *v;
    *n = 0;
    json_array_foreach(list, i, v) if (json_is_string(v)) out[(*n)++] =
        xstrdup(json_string_value(v));
    return out;
}

void label_match_init(struct label_match *m, const json_t *want, const json_t *reject)
{
    m->want = strings_of(want, &m->nwant);
    m->reject = strings_of(reject, &m->nreject);
}

static void strings_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void label_match_free(struct label_match *m)
{
    strings_free(m->want, m->nwant);
    strings_free(m->reject, m->nreject);
    memset(m, 0, sizeof(*m));
}

/* MatchKVList: true for no entries; otherwise every entry is a label (with its value). */
static bool match_all(char **entries, size_t n, const json_t *labels)
{
    if (n == 0)
        return true;
    if (!json_is_object(labels) || json_object_size(labels) == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(entries[i], '=');
        size_t klen = eq ? (size_t)(eq - entries[i]) : strlen(entries[i]);
        json_t *have = json_object_getn(labels, entries[i], klen);
        if (!json_is_string(have) || (eq && strcmp(json_string_value(have), eq + 1) != 0))
            return false;
    }
    return true;
}

bool label_match(const struct label_match *m, const json_t *labels)
{
    return match_all(m->want, m->nwant, labels) &&
           !(m->nreject > 0 && match_all(m->reject, m->nreject, labels));
}

bool prune_match(const struct prune_match *m, int64_t created_ns, const json_t *labels)
{
    if (m->has_until && (created_ns < 0 || created_ns > m->until))
        return false;
    return label_match(&m->labels, labels);
}

void prune_match_free(struct prune_match *m)
{
    label_match_free(&m->labels);
}
