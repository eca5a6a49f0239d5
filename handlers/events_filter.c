/* handlers/events_filter.c — dockerd's events filter, key by key: exact matches, the prefix
 * ("fuzzy") matches of actor names, image names with and without their tag, and labels. */
#include "handlers/events_filter.h"

#include <string.h>

#include "core/macros.h"
#include "fs/ref.h"
#include "core/xalloc.h"

/* The key's values, NULL when the filter has none (no values: no constraint). */
static json_t *values(const json_t *f, const char *key)
{
    json_t *v = json_object_get(f, key);
    return json_array_size(v) ? v : NULL;
}

static bool exact(const json_t *f, const char *key, const char *source)
{
    json_t *v = values(f, key), *s;
    size_t i;
    if (!v)
        return true;
    json_array_foreach(v, i, s) if (strcmp(json_string_value(s), source) == 0) return true;
    return false;
}

/* source is one of the values, or starts with one. */
static bool fuzzy(const json_t *f, const char *key, const char *source)
{
    json_t *v = values(f, key), *s;
    size_t i;
    if (!v)
        return true;
    json_array_foreach(v, i, s)
    {
        const char *p = json_string_value(s);
        if (strncmp(source, p, strlen(p)) == 0)
            return true;
    }
    return false;
}

static const char *attr(const struct event_fields *e, const char *key)
{
    const char *v = json_string_value(json_object_get(e->attrs, key));
    return v ? v : "";
}

/* As dockerd (moby#25798): exec_create, exec_start and health_status name a family of actions
 * ("exec_start: sh -c ..."), so a filter naming one of them matches every action by prefix. */
static bool match_event(const json_t *f, const struct event_fields *e)
{
    static const char *const families[] = {"health_status", "exec_create", "exec_start"};
    json_t *v = values(f, "event"), *s;
    size_t i;
    if (!v)
        return true;
    json_array_foreach(v, i, s) for (size_t k = 0; k < ARRAY_SIZE(families);
                                     k++) if (strcmp(json_string_value(s), families[k]) ==
                                              0) return fuzzy(f, "event", e->action);
    return exact(f, "event", e->action);
}

/* The actor's ID or name starts with one of the values (any type of event is held to it, as
 * dockerd holds them). */
static bool match_name(const json_t *f, const char *key, const struct event_fields *e)
{
    return fuzzy(f, key, e->id) || fuzzy(f, key, attr(e, "name"));
}

/* "busybox:latest" → "busybox"; what does not parse stays as it is. */
static char *strip_tag(const char *image)
{
    struct image_ref r;
    if (ref_parse(image, REF_NO_DEFAULT_TAG, &r, NULL) < 0)
        return xstrdup(image);
    char *name = ref_familiar_name(&r);
    ref_free(&r);
    return name;
}

/* An image event's actor or name, or a container event's image, with or without its tag. */
static bool match_image(const json_t *f, const struct event_fields *e)
{
    if (!values(f, "image"))
        return true;
    const char *name = attr(e, strcmp(e->type, "image") == 0 ? "name" : "image");
    if (exact(f, "image", e->id) || exact(f, "image", name))
        return true;
    char *id_repo = strip_tag(e->id), *name_repo = strip_tag(name);
    bool ok = exact(f, "image", id_repo) || exact(f, "image", name_repo);
    free(id_repo);
    free(name_repo);
    return ok;
}

/* Every label=KEY or label=KEY=VALUE holds among the attributes. */
static bool match_labels(const json_t *f, const struct event_fields *e)
{
    json_t *v = values(f, "label"), *s;
    size_t i;
    if (!v)
        return true;
    if (!json_object_size(e->attrs))
        return false;
    json_array_foreach(v, i, s)
    {
        const char *want = json_string_value(s), *eq = strchr(want, '=');
        size_t klen = eq ? (size_t)(eq - want) : strlen(want);
        char key[klen + 1];
        memcpy(key, want, klen);
        key[klen] = '\0';
        json_t *have = json_object_get(e->attrs, key);
        if (!have || (eq && strcmp(json_string_value(have) ?: "", eq + 1) != 0))
            return false;
    }
    return true;
}

bool events_filter_match(const json_t *f, const struct event_fields *e)
{
    static const char *const named[] = {"daemon",  "container", "plugin", "volume", "network",
                                        "service", "node",      "secret", "config"};
    if (!f || !json_object_size(f))
        return true;
    if (!match_event(f, e) || !exact(f, "type", e->type))
        return false;
    if (json_object_get(f, "scope") && !exact(f, "scope", e->scope))
        return false;
    for (size_t k = 0; k < ARRAY_SIZE(named); k++)
        if (!match_name(f, named[k], e))
            return false;
    return match_image(f, e) && match_labels(f, e);
}
