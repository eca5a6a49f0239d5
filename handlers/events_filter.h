/* handlers/events_filter.h — which events a `docker events --filter` lets through, decided as
 * dockerd's events filter decides (daemon/events/filter.go): every key must match; a key's values
 * are alternatives. Pure functions: the replay calls them on a pool thread. */
#pragma once

#include <stdbool.h>

#include <jansson.h>

/* One event as the filter sees it. */
struct event_fields {
    const char *type;    /* "container" */
    const char *action;  /* "start", "exec_create: sh -c true" */
    const char *scope;   /* "local" */
    const char *id;      /* the actor's ID */
    const json_t *attrs; /* the actor's attributes: an object of strings */
};

/* filters: the normalised {"key": ["value", ...]} of handlers/filters.c (NULL: no filter). */
bool events_filter_match(const json_t *filters, const struct event_fields *e);
