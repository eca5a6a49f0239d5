/* handlers/params.h — the state of every query parameter the Docker Engine API v1.50 spec
 * defines for the routes berth serves, in one table: honoured, refused with a 400 naming it, or
 * accepted as a no-op where dockerd itself ignores it. Parameters the spec does not define are
 * left alone, as dockerd leaves them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/http.h"
#include "exec/fields.h" /* enum field_state: the same three states as the create fields */
#include "handlers/router.h"

struct param_row {
    const char *method; /* "GET" */
    const char *path;   /* the spec's path: "/images/{name}/json" */
    const char *name;   /* "platform" */
    enum field_state state;
    const char *flag; /* the docker CLI command and flag that sends it; NULL: API only */
    const char *note; /* NOOP: why dockerd ignores it; else what decides, or NULL */
};

extern const struct param_row params_table[];
extern const size_t params_table_len;

/* Whether route r is the spec's METHOD PATH (berth's "{name*}" is the spec's "{name}"). */
bool params_route_is(const struct route *r, const char *method, const char *path);
/* EINVAL naming the first refused parameter the request sets (Docker's boolean rule: absent,
 * "", "0", "no", "false" and "none" are unset). Reactor thread. */
int params_check(const struct route *r, const struct http_msg *msg, struct berth_err **err);
