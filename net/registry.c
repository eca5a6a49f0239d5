/* net/registry.c — a registry session: a /v2/ ping learns the scheme (https, or http for an
 * insecure registry) and the auth challenge; requests wait for it, carry the token or basic
 * credentials, and a 401 refreshes the token once. docker login checks credentials the same
 * way. */
#include "net/registry.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/base64.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/xalloc.h"

/* ---- credentials ---- */

static char *b64_decode(const char *in, size_t *len)
{
    size_t n = strlen(in);
    _cleanup_free_ char *std = xmalloc(n + 4);
    for (size_t i = 0; i < n; i++) /* base64url → standard; padding restored below */
        std[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
    while (n % 4)
        std[n++] = '=';
    std[n] = '\0';
    size_t out_len = 0;
    char *out = xmalloc(n + 1);
    if (mbedtls_base64_decode((unsigned char *)out, n, &out_len, (unsigned char *)std, n) != 0) {
        free(out);
        return NULL;
    }
    out[out_len] = '\0';
    *len = out_len;
    return out;
}

static char *b64_encode(const char *in)
{
    size_t n = strlen(in), out_len = 0, cap = 4 * (n / 3 + 2) + 1;
    char *out = xmalloc(cap);
    mbedtls_base64_encode((unsigned char *)out, cap, &out_len, (const unsigned char *)in, n);
    out[out_len] = '\0';
    return out;
}

static char *dup_field(const json_t *j, const char *key)
{
    const char *v = json_get_str(j, key);
    return v && *v ? xstrdup(v) : NULL;
}

int registry_auth_decode(const char *header, struct registry_auth *out, struct berth_err **err)
{
    memset(out, 0, sizeof(*out));
    if (!header || !*header)
        return 0;
    size_t len;
    _cleanup_free_ char *text = b64_decode(header, &len);
    json_error_t je;
    _cleanup_json_ json_t *j = text ? json_loadb(text, len, 0, &je) : NULL;
    if (!json_is_object(j)) /* dockerd ignores credentials it cannot read */
        return 0;
    out->username = dup_field(j, "username");
    out->password = dup_field(j, "password");
    out->identity_token = dup_field(j, "identitytoken");
    out->registry_token = dup_field(j, "registrytoken");
    (void)err;
    return 0;
}

void registry_auth_free(struct registry_auth *a)
{
    free(a->username);
    free(a->password);
    free(a->identity_token);
    free(a->registry_token);
    memset(a, 0, sizeof(*a));
}

static void auth_copy(struct registry_auth *dst, const struct registry_auth *src)
{
    memset(dst, 0, sizeof(*dst));
    if (!src)
        return;
    dst->username = src->username ? xstrdup(src->username) : NULL;
    dst->password = src->password ? xstrdup(src->password) : NULL;
    dst->identity_token = src->identity_token ? xstrdup(src->identity_token) : NULL;
    dst->registry_token = src->registry_token ? xstrdup(src->registry_token) : NULL;
}

/* ---- insecure registries ---- */

/* The host part of "host:port", "[v6]:port" or "host". */
static char *host_of(const char *domain)
{
    if (domain[0] == '[') {
        const char *end = strchr(domain, ']');
        return end ? xstrndup(domain + 1, (size_t)(end - domain - 1)) : xstrdup(domain);
    }
    const char *colon = strchr(domain, ':');
    return colon && !strchr(colon + 1, ':') ? xstrndup(domain, (size_t)(colon - domain))
                                            : xstrdup(domain);
}

static bool in_cidr(const char *host, const char *cidr)
{
    const char *slash = strchr(cidr, '/');
    if (!slash)
        return false;
    _cleanup_free_ char *net = xstrndup(cidr, (size_t)(slash - cidr));
    int bits = atoi(slash + 1);
    unsigned char a[16], b[16];
    int af = strchr(net, ':') ? AF_INET6 : AF_INET, len = af == AF_INET ? 4 : 16;
    if (inet_pton(af, net, b) != 1 || inet_pton(af, host, a) != 1 || bits < 0 || bits > len * 8)
        return false;
    for (int i = 0; i < bits; i++)
        if (((a[i / 8] ^ b[i / 8]) >> (7 - i % 8)) & 1)
            return false;
    return true;
}

bool registry_is_insecure(const struct registry_config *cfg, const char *domain)
{
    _cleanup_free_ char *host = host_of(domain);
    if (strcmp(host, "localhost") == 0 || in_cidr(host, "127.0.0.0/8") ||
        in_cidr(host, "::1/128"))
        return true;
    for (size_t i = 0; cfg && i < cfg->ninsecure; i++) {
        const char *e = cfg->insecure[i];
        if (strcmp(e, domain) == 0 || strcmp(e, host) == 0 || in_cidr(host, e))
            return true;
    }
    return false;
}

/* ---- sessions ---- */

enum sess_state { S_NEW, S_PINGING, S_AUTHENTICATING, S_READY, S_FAILED };

struct challenge {
    bool bearer, basic;
    char *realm, *service;
};

struct regreq {
    struct reg_session *s; /* NULL once the session is gone */
    struct hreq *q;
    char *path;
    bool waiting, retried, started, no_retry;
    struct regreq *next; /* the session's list of live requests */
};

struct reg_session {
    struct hclient *hc;
    const struct registry_config *cfg;
    char *domain;   /* where to connect: docker.io → registry-1.docker.io */
    char *base;     /* "https://domain" once known */
    bool insecure, https;
    struct registry_auth auth;
    struct buf scopes; /* "repository:x:pull,push\n..." */
    enum sess_state state;
    struct challenge ch;
    char *authz;       /* "Authorization: ...\r\n", or NULL */
    struct berth_err *failure;
    struct regreq *reqs;
    struct hreq *own;  /* the ping or token request in flight */
    struct buf body;   /* its response */
    int status;
    void (*after)(struct reg_session *s); /* what the ping or token request leads to */
    /* docker login */
    void (*login_done)(void *ctx, int res, const char *identity_token,
                       const struct berth_err *err);
    void *login_ctx;
    char *identity_token;
};

static void challenge_free(struct challenge *ch)
{
    free(ch->realm);
    free(ch->service);
    memset(ch, 0, sizeof(*ch));
}

/* `Bearer realm="https://auth/token",service="registry",scope="..."` or `Basic realm=".."`. */
static void challenge_parse(const char *h, struct challenge *ch)
{
    challenge_free(ch);
    if (!h)
        return;
    ch->bearer = strncasecmp(h, "Bearer", 6) == 0;
    ch->basic = strncasecmp(h, "Basic", 5) == 0;
    for (const char *p = strchr(h, ' '); p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *eq = strchr(p, '=');
        if (!eq)
            break;
        _cleanup_free_ char *key = xstrndup(p, (size_t)(eq - p));
        const char *v = eq + 1;
        size_t n = *v == '"' ? strcspn(++v, "\"") : strcspn(v, ",");
        char **slot = strcasecmp(key, "realm") == 0     ? &ch->realm
                      : strcasecmp(key, "service") == 0 ? &ch->service
                                                        : NULL;
        if (slot) {
            free(*slot);
            *slot = xstrndup(v, n);
        }
        p = v + n + (v[n] == '"');
    }
}

static char *basic_header(const struct registry_auth *a)
{
    if (!a->username || !a->password)
        return NULL;
    _cleanup_free_ char *pair = xasprintf("%s:%s", a->username, a->password);
    _cleanup_free_ char *enc = b64_encode(pair);
    return xasprintf("Authorization: Basic %s\r\n", enc);
}

/* ---- the session's own requests: ping and token ---- */

static void release_waiting(struct reg_session *s);
static void own_request(struct reg_session *s, const char *method, const char *url,
                        const char *headers, const char *body, void (*after)(struct reg_session *));

static void on_own_head(void *ctx, const struct http_msg *resp)
{
    struct reg_session *s = ctx;
    s->status = resp->status;
    if (resp->status == 401)
        challenge_parse(http_msg_header(resp, "WWW-Authenticate"), &s->ch);
}

static void on_own_body(void *ctx, const char *data, size_t n)
{
    struct reg_session *s = ctx;
    if (s->body.len + n < (1u << 20))
        buf_append(&s->body, data, n);
}

static void login_finish(struct reg_session *s, int res, const struct berth_err *err);

/* Every waiting request fails with the same words (for docker login: the login does). */
static void fail_session(struct reg_session *s, const struct berth_err *err)
{
    if (s->login_done)
        return login_finish(s, err ? berth_err_code(err) : -EIO - 1, err);
    s->state = S_FAILED;
    berth_err_free(s->failure);
    s->failure = xcalloc(1, sizeof(*s->failure));
    s->failure->status = err ? err->status : EIO;
    s->failure->msg = xstrdup(err ? err->msg : "registry unreachable");
    release_waiting(s);
}

static void on_own_done(void *ctx, int res, const struct berth_err *err)
{
    struct reg_session *s = ctx;
    s->own = NULL;
    void (*after)(struct reg_session *) = s->after;
    s->after = NULL;
    if (res < 0) {
        /* an insecure registry that will not speak TLS is spoken to in plain HTTP */
        if (s->https && s->insecure && s->state == S_PINGING) {
            s->https = false;
            free(s->base);
            s->base = xasprintf("http://%s", s->domain);
            _cleanup_free_ char *url = xasprintf("%s/v2/", s->base);
            return own_request(s, "GET", url, NULL, NULL, after);
        }
        return fail_session(s, err);
    }
    after(s);
}

static void own_request(struct reg_session *s, const char *method, const char *url,
                        const char *headers, const char *body, void (*after)(struct reg_session *))
{
    buf_reset(&s->body);
    s->status = 0;
    s->after = after;
    struct hreq_spec spec = {.method = method,
                             .url = url,
                             .headers = headers,
                             .body = body,
                             .body_len = body ? strlen(body) : 0,
                             .insecure_tls = s->insecure,
                             .max_redirects = 10,
                             .on_head = on_own_head,
                             .on_body = on_own_body,
                             .on_done = on_own_done,
                             .ctx = s};
    s->own = hclient_request(s->hc, &spec);
}

/* GET realm?service=..&scope=.. with basic credentials, or the OAuth refresh-token POST. */
static void fetch_token(struct reg_session *s, void (*after)(struct reg_session *))
{
    struct buf q = {0};
    buf_printf(&q, "service=%s", s->ch.service ? s->ch.service : "");
    for (const char *p = s->scopes.data ? s->scopes.data : ""; *p;) {
        size_t n = strcspn(p, "\n");
        buf_printf(&q, "&scope=%.*s", (int)n, p);
        p += n + (p[n] == '\n');
    }
    s->state = S_AUTHENTICATING;
    if (s->auth.identity_token) {
        _cleanup_free_ char *form = xasprintf("grant_type=refresh_token&refresh_token=%s&"
                                              "client_id=berth&%s",
                                              s->auth.identity_token, q.data);
        own_request(s, "POST", s->ch.realm,
                    "Content-Type: application/x-www-form-urlencoded\r\n", form, after);
    } else {
        _cleanup_free_ char *url = xasprintf("%s%s%s%s%s", s->ch.realm,
                                             strchr(s->ch.realm, '?') ? "&" : "?", q.data,
                                             s->auth.username ? "&account=" : "",
                                             s->auth.username ? s->auth.username : "");
        _cleanup_free_ char *basic = basic_header(&s->auth);
        own_request(s, "GET", url, basic, NULL, after);
    }
    buf_free(&q);
}

static void set_authz(struct reg_session *s, char *header)
{
    free(s->authz);
    s->authz = header;
}

/* The token from the token server's answer, or an error worded as dockerd's. */
static int take_token(struct reg_session *s, struct berth_err **err)
{
    json_error_t je;
    _cleanup_json_ json_t *j = json_loadb(s->body.data ? s->body.data : "", s->body.len, 0, &je);
    const char *token = json_get_str(j, "token") ? json_get_str(j, "token")
                                                  : json_get_str(j, "access_token");
    if (s->status == 401 || s->status == 403)
        return berth_user_error(err, EKEYREJECTED, "Get \"%s/v2/\": unauthorized: %s", s->base,
                                s->auth.username ? "incorrect username or password"
                                                 : "authentication required");
    if (s->status != 200 || !token)
        return berth_user_error(err, EIO, "Get \"%s\": token server answered %d %s",
                                s->ch.realm, s->status, http_status_text(s->status));
    set_authz(s, xasprintf("Authorization: Bearer %s\r\n", token));
    if (json_get_str(j, "refresh_token")) {
        free(s->identity_token);
        s->identity_token = xstrdup(json_get_str(j, "refresh_token"));
    }
    return 0;
}

static void after_token(struct reg_session *s)
{
    _cleanup_err_ struct berth_err *err = NULL;
    if (take_token(s, &err) < 0)
        return fail_session(s, err);
    s->state = S_READY;
    release_waiting(s);
}

/* The /v2/ answer tells whether and how to authenticate. */
static void after_ping(struct reg_session *s)
{
    if (s->status == 401 && s->ch.bearer && s->auth.registry_token)
        set_authz(s, xasprintf("Authorization: Bearer %s\r\n", s->auth.registry_token));
    else if (s->status == 401 && s->ch.bearer && s->ch.realm)
        return fetch_token(s, after_token);
    else if (s->status == 401 && s->ch.basic)
        set_authz(s, basic_header(&s->auth));
    s->state = S_READY;
    release_waiting(s);
}

static void ping(struct reg_session *s)
{
    s->state = S_PINGING;
    s->https = true;
    free(s->base);
    s->base = xasprintf("https://%s", s->domain);
    _cleanup_free_ char *url = xasprintf("%s/v2/", s->base);
    own_request(s, "GET", url, NULL, NULL, after_ping);
}

/* ---- requests ---- */

static void send_req(struct regreq *rq)
{
    struct reg_session *s = rq->s;
    _cleanup_free_ char *url = xasprintf("%s%s", s->base, rq->path);
    rq->waiting = false;
    if (rq->started)
        hreq_restart(rq->q, url, s->authz);
    else
        hreq_start(rq->q, url, s->authz, s->insecure && s->https);
    rq->started = true;
}

static void release_waiting(struct reg_session *s)
{
    for (struct regreq *rq = s->reqs, *next; rq; rq = next) {
        next = rq->next; /* a request may end (and leave the list) right away */
        if (!rq->waiting)
            continue;
        if (s->state == S_FAILED) {
            rq->waiting = false;
            hreq_fail(rq->q, s->failure);
        } else {
            send_req(rq);
        }
    }
}

/* A 401 is swallowed once, when a fresh token or credentials may fix it. */
static bool hook_head(void *ctx, struct hreq *q, const struct http_msg *resp)
{
    (void)q;
    struct regreq *rq = ctx;
    struct reg_session *s = rq->s;
    if (!s || rq->retried || rq->no_retry || resp->status != 401)
        return false;
    challenge_parse(http_msg_header(resp, "WWW-Authenticate"), &s->ch);
    return (s->ch.bearer && s->ch.realm && !s->auth.registry_token) ||
           (s->ch.basic && s->auth.username && !s->authz);
}

static void hook_swallowed(void *ctx, struct hreq *q)
{
    (void)q;
    struct regreq *rq = ctx;
    struct reg_session *s = rq->s;
    rq->retried = true;
    rq->waiting = true;
    if (!s)
        return hreq_fail(q, NULL);
    if (s->state == S_PINGING || s->state == S_AUTHENTICATING)
        return; /* the refresh under way serves this one too */
    if (s->ch.bearer)
        return fetch_token(s, after_token);
    set_authz(s, basic_header(&s->auth));
    send_req(rq);
}

static void hook_end(void *ctx, struct hreq *q)
{
    (void)q;
    struct regreq *rq = ctx;
    for (struct regreq **p = rq->s ? &rq->s->reqs : NULL; p && *p; p = &(*p)->next)
        if (*p == rq) {
            *p = rq->next;
            break;
        }
    free(rq->path);
    free(rq);
}

struct hreq *reg_request(struct reg_session *s, const char *path, const struct hreq_spec *spec)
{
    struct hreq_spec held = *spec;
    held.url = NULL;
    struct regreq *rq = xcalloc(1, sizeof(*rq));
    *rq = (struct regreq){.s = s, .path = xstrdup(path), .next = s->reqs};
    s->reqs = rq;
    rq->q = hclient_request(s->hc, &held);
    rq->no_retry = spec->stream_body; /* a streamed body cannot be sent twice */
    hreq_set_hook(rq->q, &(struct hreq_hook){.on_head = hook_head,
                                              .on_swallowed = hook_swallowed,
                                              .on_end = hook_end,
                                              .ctx = rq});
    if (s->state == S_READY || s->state == S_FAILED) {
        if (s->state == S_FAILED)
            hreq_fail(rq->q, s->failure);
        else
            send_req(rq);
    } else {
        rq->waiting = true;
        if (s->state == S_NEW)
            ping(s);
    }
    return rq->q;
}

/* ---- life cycle ---- */

static void add_scope(struct reg_session *s, const char *repo, const char *actions)
{
    _cleanup_free_ char *scope = xasprintf("repository:%s:%s", repo, actions);
    for (const char *p = s->scopes.data ? s->scopes.data : ""; *p;) {
        size_t n = strcspn(p, "\n");
        if (n == strlen(scope) && strncmp(p, scope, n) == 0)
            return;
        p += n + (p[n] == '\n');
    }
    buf_printf(&s->scopes, "%s%s", s->scopes.len ? "\n" : "", scope);
}

struct reg_session *reg_session_new(struct hclient *hc, const struct registry_config *cfg,
                                    const char *domain, const char *repo,
                                    const struct registry_auth *auth, const char *scope)
{
    struct reg_session *s = xcalloc(1, sizeof(*s));
    s->hc = hc;
    s->cfg = cfg;
    s->domain = xstrdup(strcmp(domain, "docker.io") == 0 ? "registry-1.docker.io" : domain);
    s->insecure = registry_is_insecure(cfg, domain);
    auth_copy(&s->auth, auth);
    if (repo && scope)
        add_scope(s, repo, scope);
    return s;
}

void reg_session_add_scope(struct reg_session *s, const char *repo, const char *actions)
{
    add_scope(s, repo, actions); /* a token already held is widened by the next 401 */
}

void reg_session_free(struct reg_session *s)
{
    if (!s)
        return;
    if (s->own)
        hreq_cancel(s->own);
    for (struct regreq *rq = s->reqs; rq; rq = rq->next)
        rq->s = NULL; /* requests outlive the session; they just stop asking it */
    challenge_free(&s->ch);
    registry_auth_free(&s->auth);
    berth_err_free(s->failure);
    buf_free(&s->scopes);
    buf_free(&s->body);
    free(s->domain);
    free(s->base);
    free(s->authz);
    free(s->identity_token);
    free(s);
}

/* ---- docker login ---- */

static void login_finish(struct reg_session *s, int res, const struct berth_err *err)
{
    s->login_done(s->login_ctx, res, s->identity_token, err);
    reg_session_free(s);
}

static void after_login_check(struct reg_session *s)
{
    if (s->status == 200)
        return login_finish(s, 0, NULL);
    _cleanup_err_ struct berth_err *err = NULL;
    berth_user_error(&err, EKEYREJECTED, "login attempt to %s/v2/ failed with status: %d %s",
                     s->base, s->status, http_status_text(s->status));
    login_finish(s, berth_err_code(err), err);
}

static void after_login_token(struct reg_session *s)
{
    _cleanup_err_ struct berth_err *err = NULL;
    int r = take_token(s, &err);
    login_finish(s, r, err);
}

/* Without a challenge any credentials do; Basic is checked with a second /v2/; Bearer by
 * asking the token server. */
static void after_login_ping(struct reg_session *s)
{
    if (s->status != 401)
        return login_finish(s, 0, NULL);
    if (s->ch.bearer && s->ch.realm)
        return fetch_token(s, after_login_token);
    _cleanup_free_ char *url = xasprintf("%s/v2/", s->base);
    _cleanup_free_ char *basic = basic_header(&s->auth);
    own_request(s, "GET", url, basic, NULL, after_login_check);
}

void registry_login(struct hclient *hc, const struct registry_config *cfg, const char *domain,
                    const struct registry_auth *auth,
                    void (*done)(void *ctx, int res, const char *identity_token,
                                 const struct berth_err *err),
                    void *ctx)
{
    struct reg_session *s = reg_session_new(hc, cfg, domain, NULL, auth, NULL);
    s->login_done = done;
    s->login_ctx = ctx;
    s->state = S_PINGING;
    s->https = true;
    s->base = xasprintf("https://%s", s->domain);
    _cleanup_free_ char *url = xasprintf("%s/v2/", s->base);
    own_request(s, "GET", url, NULL, NULL, after_login_ping);
}
