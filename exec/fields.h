/* exec/fields.h — the state of every field of POST /containers/create's body that the Docker
 * Engine API v1.50 spec defines (Config, HostConfig, NetworkingConfig, down into the objects
 * they hold), in one table: honoured, refused at create with a 400 naming it, accepted as a
 * no-op where dockerd itself ignores it on Linux, or accepted with a warning (healthchecks). A
 * field berth does not honour is never accepted and dropped. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/err.h"

enum field_state {
    FIELD_HONOURED, /* it has its effect (its rule may still refuse some values) */
    FIELD_REFUSED,  /* set to anything but the default: 400 "... is not supported yet" */
    FIELD_NOOP,     /* accepted, no effect: dockerd ignores it on Linux too (note says why) */
    FIELD_WARNED,   /* accepted with a warning in the create reply, and kept (not acted on) */
};

struct fields_ctx;
struct field_row;
/* A field's own rule, called for each value found at the row's path (at: that value's path
 * with indices and keys, e.g. "HostConfig.Mounts[0].Type"). 0, a warning appended to
 * x->warnings, or a negative berth error (EINVAL). */
typedef int (*field_rule_fn)(struct fields_ctx *x, const struct field_row *row, const json_t *v,
                             const char *at, struct berth_err **err);

enum {
    FIELD_AT_REQUEST = 1, /* the rule runs on the request, after dockerd's checks of it */
    FIELD_AT_MERGED = 2,  /* ... on the config merged with the image's (Healthcheck) */
    FIELD_AT_EARLY = 4,   /* ... on the request, before dockerd's checks (networks) */
};

/* One field. path: "Config.Tty", "HostConfig.Mounts[].BindOptions.Propagation",
 * "NetworkingConfig.EndpointsConfig{}.Aliases" ("[]" an array's items, "{}" a map's values;
 * Config's fields sit at the top level of the request body). */
struct field_row {
    const char *path;
    enum field_state state;
    const char *flag;   /* the docker CLI's flag for it, as users know it; NULL: API only */
    const char *note;   /* NOOP: why dockerd ignores it; else what decides, or NULL */
    field_rule_fn rule; /* NULL: REFUSED rows refuse any non-default value, others do nothing */
    unsigned when;      /* FIELD_AT_*; 0 means FIELD_AT_REQUEST */
};

extern const struct field_row fields_table[];
extern const size_t fields_table_len;

/* The row of a path exactly as written in the table, or NULL. */
const struct field_row *fields_find(const char *path);
const char *fields_state_name(enum field_state s);

/* The request body of POST /containers/create, before dockerd's checks (exec/verify.c): EINVAL
 * for a user-defined network (400, where verify.c's "network X not found" is a 404, on which
 * the docker CLI pulls the image and asks again). Reactor thread, no I/O. */
int fields_check_early(const json_t *body, struct berth_err **err);
/* The request body, after dockerd's checks and before anything is looked up or made: EINVAL
 * naming the first field set that berth does not honour (or dockerd's words where dockerd
 * refuses the value itself); warnings gets dockerd's warning strings (host networking discards
 * published ports, CPU percent is discarded). After dockerd's checks, so that where those
 * refuse a value with dockerd's own words (--gpus) the words are dockerd's.
 * Reactor thread, no I/O. */
int fields_check_request(const json_t *body, json_t *warnings, struct berth_err **err);
/* After the image's defaults are merged in: config is the merged Config, hc the HostConfig,
 * body the request. A warning for a healthcheck (not run). Reactor thread, no I/O. */
int fields_check_merged(const json_t *body, const json_t *config, const json_t *hc,
                        json_t *warnings, struct berth_err **err);
