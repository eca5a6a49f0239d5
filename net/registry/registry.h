/* net/registry/registry.h — the Docker Registry HTTP API v2 on top of hclient: which scheme a
 * registry speaks (https, or http for insecure registries), the token/basic auth dance on 401, and
 * docker login. Everything is asynchronous on the reactor. */
#pragma once

#include <stdbool.h>

#include "core/err.h"
#include "net/registry/hclient.h"

/* Credentials as the docker CLI sends them (X-Registry-Auth / POST /auth bodies). */
struct registry_auth {
    char *username;
    char *password;
    char *identity_token; /* OAuth refresh token from an earlier login */
    char *registry_token; /* a bearer token to use as is */
};

/* Decode an X-Registry-Auth header value (base64url JSON); empty or absent gives no creds. */
int registry_auth_decode(const char *header, struct registry_auth *out, struct berth_err **err);
void registry_auth_free(struct registry_auth *a);

struct registry_config {
    char **insecure; /* "host:port" or CIDR entries from daemon.json insecure-registries */
    size_t ninsecure;
    char **mirrors; /* registry-mirrors (docker.io only) */
    size_t nmirrors;
};

/* True when the registry may be spoken to over plain HTTP: listed as insecure, or an address
 * in 127.0.0.0/8 or ::1 (insecure by default, as in dockerd). */
bool registry_is_insecure(const struct registry_config *cfg, const char *domain);

struct reg_session; /* one registry + repository + scope, with its auth state */

/* scope: "pull" or "pull,push". The session finds the scheme and authenticates lazily. */
struct reg_session *reg_session_new(struct hclient *hc, const struct registry_config *cfg,
                                    const char *domain, const char *repo,
                                    const struct registry_auth *auth, const char *scope);
void reg_session_free(struct reg_session *s);
/* Add repositories to the token scope (cross-repository blob mounts need pull on the source). */
void reg_session_add_scope(struct reg_session *s, const char *repo, const char *actions);

/* A request to PATH under the registry ("/v2/<repo>/manifests/latest"); the session adds the
 * scheme, host and Authorization and, on 401, authenticates and retries once. spec->url is
 * ignored. */
struct hreq *reg_request(struct reg_session *s, const char *path, const struct hreq_spec *spec);

/* POST /auth: check credentials against the registry's /v2/. done gets 0 and, when the
 * registry issued one, an identity token to hand back to the client; or an error worded as
 * dockerd's (EKEYREJECTED → 401). */
void registry_login(struct hclient *hc, const struct registry_config *cfg, const char *domain,
                    const struct registry_auth *auth,
                    void (*done)(void *ctx, int res, const char *identity_token,
                                 const struct berth_err *err),
                    void *ctx);
