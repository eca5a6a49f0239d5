/* net/registry/regcall.h — one registry request whose response is small enough to keep whole
 * (manifests, configs, upload handshakes): status, the headers that matter, and the body. */
#pragma once

#include "core/buf.h"
#include "core/err.h"
#include "net/registry/registry.h"

struct regcall_result {
    int status;
    struct buf body;
    char *content_type, *location, *digest; /* Docker-Content-Digest */
};

/* done runs once (not before regcall returns): res 0 with the response (any status), or an
 * error (transport failure, or a body over max_body). The result is freed after done. */
typedef void (*regcall_fn)(void *ctx, int res, const struct berth_err *err,
                           struct regcall_result *r);

struct regcall;
struct regcall *regcall_start(struct reg_session *s, const char *method, const char *path,
                              const char *headers, const void *body, size_t len, size_t max_body,
                              regcall_fn done, void *ctx);
void regcall_cancel(struct regcall *c);
/* "manifest unknown: manifest unknown" from a registry's {"errors":[{"code","message"}]},
 * else "404 Not Found". Heap string. */
char *regcall_error_text(const struct regcall_result *r);
