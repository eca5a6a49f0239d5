/* net/registry/regauth.h — the pieces of registry authentication that net/registry.c strings
 * together: WWW-Authenticate challenges, token server requests, base64, and distribution's error
 * words. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "net/registry/hclient.h"

enum regauth_scheme { REGAUTH_NONE, REGAUTH_BASIC, REGAUTH_BEARER };

struct regauth_challenge {
    enum regauth_scheme scheme;
    char *realm, *service, *error, *error_description;
};

/* Parse a WWW-Authenticate value; with several challenges Bearer wins over Basic, as the token
 * handler comes first in distribution's client. False when neither is there. */
bool regauth_challenge_parse(const char *header, struct regauth_challenge *out);
void regauth_challenge_free(struct regauth_challenge *c);

/* Standard base64 with padding. */
char *regauth_base64(const void *data, size_t n);
/* Either alphabet, padding optional (what dockerd's decoders have accepted); NULL if malformed.
 * The result is NUL-terminated past *n. */
char *regauth_unbase64(const char *s, size_t *n);
/* "Authorization: Basic ...\r\n" */
char *regauth_basic_header(const char *user, const char *password);
/* Go's url.QueryEscape. */
char *regauth_query_escape(const char *s);

/* One small request with its response buffered (at most 1 MiB of body): pings, token requests,
 * login checks. cb runs once, from the loop; hreq_cancel() on the result stops it silently. */
struct regauth_result {
    int status;
    const char *www, *content_type; /* WWW-Authenticate, Content-Type, or NULL */
    struct buf body;
};
typedef void (*regauth_call_cb)(void *ctx, int res, const struct berth_err *err,
                                const struct regauth_result *r);
struct hreq *regauth_call(struct hclient *hc, const struct hreq_spec *spec, regauth_call_cb cb,
                          void *ctx);

/* distribution's words for an unsuccessful response (client.HandleErrorResponse):
 * "unauthorized: authentication required", "denied: ...", "received unexpected HTTP status:
 * 500 Internal Server Error"; and the errno that stands for it (401 → EKEYREJECTED). */
char *regauth_error_words(const struct regauth_result *r);
int regauth_error_errno(int http_status);

struct regauth_token {
    char *token, *refresh_token;
    int64_t expires_in; /* seconds, at least 60 */
};

struct regauth_token_req {
    const char *realm, *service;
    char **scopes; /* "repository:NAME:ACTIONS" */
    size_t nscopes;
    const char *username, *password, *refresh_token;
    bool offline; /* docker login: ask for a refresh token (client_id=docker&offline_token) */
    bool insecure_tls;
};
typedef void (*regauth_token_cb)(void *ctx, const struct regauth_token *tok,
                                 const struct berth_err *err);
/* Ask the token server: GET with basic credentials, or the OAuth POST when a refresh token is
 * what we have. The error words are the cause only ("unauthorized: ..."), for the caller to put
 * after its own `Get "URL": `; a transport failure comes with the token URL's words. */
struct hreq *regauth_token_fetch(struct hclient *hc, const struct regauth_token_req *o,
                                 regauth_token_cb cb, void *ctx);
