/* net/registry/registry.c — registry sessions on hclient: which endpoint answers (https first, http
 * for insecure registries), the 401 → token → retry dance, docker login, X-Registry-Auth. */
#include "net/registry/registry.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "core/cleanup.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "net/registry/regauth.h"

/* A token is refreshed this long before the server said it expires. */
#define TOKEN_MARGIN_MS 5000

struct endpoint {
    char *base; /* "https://host:port", a mirror's URL without the trailing slash */
    bool insecure_tls;
};

struct endpoints {
    struct endpoint *v;
    size_t n;
};

enum sess_state { SESS_NEW, SESS_PINGING, SESS_AUTH, SESS_READY };

struct regreq {
    struct reg_session *s;
    struct hreq *q;
    char *path;
    unsigned gen; /* the session's auth generation the request went out with */
    bool retried, waiting;
    struct regreq *next;
};

struct reg_session {
    int refs; /* the owner's, each live request's, each ping or token request's */
    size_t nreqs;
    bool owner_gone;
    struct hclient *hc;
    const struct registry_config *cfg;
    char *domain;
    struct registry_auth auth;
    char **scopes; /* "repository:NAME:ACTIONS" */
    size_t nscopes;
    struct endpoints eps;
    size_t ep;
    enum sess_state state;
    struct regauth_challenge ch;
    char *authz; /* "Authorization: ...\r\n", or NULL */
    uint64_t expiry_ms;
    unsigned gen;
    bool need_token;
    struct regreq *wait_head, *wait_tail;
    struct hreq *ping, *fetch;
    struct berth_err *ping_err;
};

static char *dup_or_null(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

static bool has_basic(const struct registry_auth *a)
{
    return a->username && *a->username && a->password && *a->password;
}

/* `Get "URL": words`, as Go's url.Error prints a failed request. */
static struct berth_err *url_error(int status, const char *method, const char *url,
                                   const char *words)
{
    _cleanup_free_ char *op = xstrdup(method);
    for (char *p = op + 1; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    op[0] = (char)toupper((unsigned char)op[0]);
    struct berth_err *e = NULL;
    berth_user_error(&e, status, "%s \"%s\": %s", op, url, words);
    return e;
}

/* ---- insecure registries ---- */

/* "host:port" → host; "[v6]:port" → v6; a bare v6 address stays whole. */
static char *domain_host(const char *domain)
{
    if (domain[0] == '[') {
        size_t n = strcspn(domain + 1, "]");
        return xstrndup(domain + 1, n);
    }
    const char *colon = strchr(domain, ':');
    if (colon && strchr(colon + 1, ':'))
        return xstrdup(domain);
    return colon ? xstrndup(domain, (size_t)(colon - domain)) : xstrdup(domain);
}

/* 4 or 16 address bytes in ip (v4-mapped v6 unmapped), or 0 when s is not an address. */
static int parse_ip(const char *s, unsigned char ip[16])
{
    if (inet_pton(AF_INET, s, ip) == 1)
        return 4;
    if (inet_pton(AF_INET6, s, ip) != 1)
        return 0;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(ip, mapped, 12) == 0) {
        memmove(ip, ip + 12, 4);
        return 4;
    }
    return 16;
}

static bool cidr_contains(const char *cidr, const unsigned char *ip, int len)
{
    const char *slash = strchr(cidr, '/');
    if (!slash || !slash[1] || strspn(slash + 1, "0123456789") != strlen(slash + 1))
        return false;
    _cleanup_free_ char *addr = xstrndup(cidr, (size_t)(slash - cidr));
    unsigned char net[16];
    int nlen = parse_ip(addr, net), bits = atoi(slash + 1);
    if (nlen != len || bits > len * 8)
        return false;
    for (int i = 0; i < bits; i++) {
        int mask = 0x80 >> (i % 8);
        if ((net[i / 8] & mask) != (ip[i / 8] & mask))
            return false;
    }
    return true;
}

static const char *strip_scheme(const char *s)
{
    if (strncasecmp(s, "http://", 7) == 0)
        return s + 7;
    if (strncasecmp(s, "https://", 8) == 0)
        return s + 8;
    return s;
}

/* dockerd resolves a name to match it against CIDRs; a lookup would block the reactor, so
 * names only match as written, except localhost, which is loopback by definition. */
bool registry_is_insecure(const struct registry_config *cfg, const char *domain)
{
    if (!domain || !*domain)
        return false;
    for (size_t i = 0; cfg && i < cfg->ninsecure; i++)
        if (strcasecmp(strip_scheme(cfg->insecure[i]), domain) == 0)
            return true;
    _cleanup_free_ char *host = domain_host(domain);
    size_t hl = strlen(host);
    if (strcasecmp(host, "localhost") == 0 ||
        (hl > 10 && strcasecmp(host + hl - 10, ".localhost") == 0))
        return true;
    unsigned char ip[16];
    int len = parse_ip(host, ip);
    if (len == 0)
        return false;
    if (cidr_contains("127.0.0.0/8", ip, len) || cidr_contains("::1/128", ip, len))
        return true;
    for (size_t i = 0; cfg && i < cfg->ninsecure; i++)
        if (cidr_contains(cfg->insecure[i], ip, len))
            return true;
    return false;
}

/* ---- endpoints ---- */

static bool is_docker_hub(const char *domain)
{
    return strcmp(domain, "docker.io") == 0 || strcmp(domain, "index.docker.io") == 0 ||
           strcmp(domain, "registry-1.docker.io") == 0;
}

static void ep_add(struct endpoints *e, char *base, bool insecure)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        base[--n] = '\0';
    e->v = xrealloc(e->v, (e->n + 1) * sizeof(*e->v));
    e->v[e->n++] = (struct endpoint){.base = base, .insecure_tls = insecure};
}

/* dockerd's order: mirrors (Docker Hub pulls only), then https; http after it for an insecure
 * registry, whose https is not verified either. */
static void endpoints_build(struct endpoints *e, const struct registry_config *cfg,
                            const char *domain, bool mirrors)
{
    memset(e, 0, sizeof(*e));
    if (is_docker_hub(domain)) {
        for (size_t i = 0; mirrors && cfg && i < cfg->nmirrors; i++) {
            const char *m = cfg->mirrors[i];
            char *base = strstr(m, "://") ? xstrdup(m) : xasprintf("https://%s", m);
            const char *h = strip_scheme(base);
            _cleanup_free_ char *host = xstrndup(h, strcspn(h, "/"));
            ep_add(e, base, registry_is_insecure(cfg, host));
        }
        ep_add(e, xstrdup("https://registry-1.docker.io"), false);
        return;
    }
    bool insecure = registry_is_insecure(cfg, domain);
    ep_add(e, xasprintf("https://%s", domain), insecure);
    if (insecure)
        ep_add(e, xasprintf("http://%s", domain), false);
}

static void endpoints_free(struct endpoints *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i].base);
    free(e->v);
    memset(e, 0, sizeof(*e));
}

/* The token server may live elsewhere: it is verified unless its own host is insecure. */
static bool realm_insecure(const struct registry_config *cfg, const char *realm)
{
    if (strncasecmp(realm, "https://", 8) != 0)
        return false;
    _cleanup_free_ char *host = xstrndup(realm + 8, strcspn(realm + 8, "/?#"));
    return registry_is_insecure(cfg, host);
}

/* ---- X-Registry-Auth ---- */

static void auth_take(struct registry_auth *out, json_t *j)
{
    out->username = dup_or_null(json_get_str(j, "username"));
    out->password = dup_or_null(json_get_str(j, "password"));
    out->identity_token = dup_or_null(json_get_str(j, "identitytoken"));
    out->registry_token = dup_or_null(json_get_str(j, "registrytoken"));
    const char *both = json_get_str(j, "auth"); /* base64 "user:password", as in config.json */
    size_t n;
    _cleanup_free_ char *pair = !out->username && both ? regauth_unbase64(both, &n) : NULL;
    char *colon = pair ? strchr(pair, ':') : NULL;
    if (colon) {
        *colon = '\0';
        out->username = dup_or_null(pair);
        out->password = dup_or_null(colon + 1);
    }
}

int registry_auth_decode(const char *header, struct registry_auth *out, struct berth_err **err)
{
    memset(out, 0, sizeof(*out));
    if (!header || !*header)
        return 0;
    size_t n;
    _cleanup_free_ char *text = regauth_unbase64(header, &n);
    if (!text)
        return berth_user_error(err, EINVAL,
                                "invalid X-Registry-Auth header: must be a valid "
                                "base64url-encoded string");
    json_error_t je;
    _cleanup_json_ json_t *j = json_loadb(text, n, JSON_DISABLE_EOF_CHECK, &je);
    if (!j)
        return berth_user_error(err, EINVAL, "invalid X-Registry-Auth header: invalid JSON: %s",
                                je.text);
    if (strspn(text + je.position, " \t\r\n") != n - je.position)
        return berth_user_error(err, EINVAL,
                                "invalid X-Registry-Auth header: multiple JSON documents not "
                                "allowed");
    if (!json_is_object(j))
        return berth_user_error(err, EINVAL,
                                "invalid X-Registry-Auth header: invalid JSON: json: cannot "
                                "unmarshal into Go value of type registry.AuthConfig");
    auth_take(out, j);
    return 0;
}

void registry_auth_free(struct registry_auth *a)
{
    if (!a)
        return;
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
    dst->username = dup_or_null(src->username);
    dst->password = dup_or_null(src->password);
    dst->identity_token = dup_or_null(src->identity_token);
    dst->registry_token = dup_or_null(src->registry_token);
}

/* ---- sessions: life cycle ---- */

static void session_unref(struct reg_session *s)
{
    if (--s->refs > 0)
        return;
    for (size_t i = 0; i < s->nscopes; i++)
        free(s->scopes[i]);
    free(s->scopes);
    endpoints_free(&s->eps);
    regauth_challenge_free(&s->ch);
    registry_auth_free(&s->auth);
    berth_err_free(s->ping_err);
    free(s->authz);
    free(s->domain);
    free(s);
}

/* Nobody is left to use the session: stop its own requests (each holds a reference). */
static void session_stop_calls(struct reg_session *s)
{
    if (s->ping) {
        hreq_cancel(take_ptr(s->ping));
        s->state = SESS_NEW;
        session_unref(s);
    }
    if (s->fetch) {
        hreq_cancel(take_ptr(s->fetch));
        s->state = SESS_READY;
        session_unref(s);
    }
}

struct reg_session *reg_session_new(struct hclient *hc, const struct registry_config *cfg,
                                    const char *domain, const char *repo,
                                    const struct registry_auth *auth, const char *scope)
{
    struct reg_session *s = xcalloc(1, sizeof(*s));
    s->refs = 1;
    s->hc = hc;
    s->cfg = cfg;
    s->domain = xstrdup(domain);
    auth_copy(&s->auth, auth);
    if (!scope || !*scope)
        scope = "pull";
    if (repo && *repo)
        reg_session_add_scope(s, repo, scope);
    endpoints_build(&s->eps, cfg, domain, strcmp(scope, "pull") == 0);
    return s;
}

void reg_session_free(struct reg_session *s)
{
    if (!s)
        return;
    s->owner_gone = true;
    if (s->nreqs == 0)
        session_stop_calls(s);
    session_unref(s);
}

void reg_session_add_scope(struct reg_session *s, const char *repo, const char *actions)
{
    _cleanup_free_ char *scope = xasprintf("repository:%s:%s", repo, actions);
    for (size_t i = 0; i < s->nscopes; i++)
        if (strcmp(s->scopes[i], scope) == 0)
            return;
    s->scopes = xrealloc(s->scopes, (s->nscopes + 1) * sizeof(*s->scopes));
    s->scopes[s->nscopes++] = take_ptr(scope);
    s->need_token = true; /* the next request fetches a token covering it */
}

/* ---- sessions: the waiting line ---- */

static void wait_push(struct reg_session *s, struct regreq *rr)
{
    rr->waiting = true;
    rr->next = NULL;
    if (s->wait_tail)
        s->wait_tail->next = rr;
    else
        s->wait_head = rr;
    s->wait_tail = rr;
}

static void wait_remove(struct reg_session *s, struct regreq *rr)
{
    struct regreq *prev = NULL;
    for (struct regreq *p = s->wait_head; p; prev = p, p = p->next)
        if (p == rr) {
            if (prev)
                prev->next = rr->next;
            else
                s->wait_head = rr->next;
            if (s->wait_tail == rr)
                s->wait_tail = prev;
            break;
        }
    rr->waiting = false;
}

static struct regreq *wait_take_all(struct reg_session *s)
{
    struct regreq *list = s->wait_head;
    s->wait_head = s->wait_tail = NULL;
    for (struct regreq *p = list; p; p = p->next)
        p->waiting = false;
    return list;
}

static char *request_url(const struct reg_session *s, const char *path)
{
    if (strncasecmp(path, "http://", 7) == 0 || strncasecmp(path, "https://", 8) == 0)
        return xstrdup(path); /* a Location the registry gave in full */
    return xasprintf("%s%s", s->eps.v[s->ep].base, path);
}

static void rr_send(struct regreq *rr)
{
    struct reg_session *s = rr->s;
    _cleanup_free_ char *url = request_url(s, rr->path);
    rr->gen = s->gen;
    if (strncasecmp(rr->path, "http", 4) != 0) /* our endpoint: its TLS choice, not the caller's */
        hreq_set_insecure_tls(rr->q, s->eps.v[s->ep].insecure_tls);
    hreq_send(rr->q, url, s->authz);
}

static void flush_waiting(struct reg_session *s)
{
    struct regreq *rr = wait_take_all(s);
    while (rr) {
        struct regreq *next = rr->next;
        rr_send(rr);
        rr = next;
    }
}

/* Every waiting request ends with err; with_url puts each request's own `Get "URL": ` first. */
static void fail_waiting(struct reg_session *s, const struct berth_err *err, bool with_url)
{
    struct regreq *rr = wait_take_all(s);
    while (rr) {
        struct regreq *next = rr->next;
        _cleanup_free_ char *url = request_url(s, rr->path);
        _cleanup_err_ struct berth_err *e =
            with_url ? url_error(err->status, hreq_method(rr->q), url, err->msg) : NULL;
        hreq_fail(rr->q, e ? e : err);
        rr = next;
    }
}

/* ---- sessions: finding the endpoint and authenticating ---- */

static bool token_valid(const struct reg_session *s)
{
    if (s->auth.registry_token || s->ch.scheme != REGAUTH_BEARER)
        return true;
    return s->authz && !s->need_token && mono_ms() < s->expiry_ms;
}

/* The Authorization that needs no token server; a new generation for what was sent before. */
static void set_static_authz(struct reg_session *s)
{
    free(s->authz);
    s->authz = NULL;
    if (s->auth.registry_token)
        s->authz = xasprintf("Authorization: Bearer %s\r\n", s->auth.registry_token);
    else if (s->ch.scheme == REGAUTH_BASIC && has_basic(&s->auth))
        s->authz = regauth_basic_header(s->auth.username, s->auth.password);
    else if (s->ch.scheme == REGAUTH_BEARER)
        s->need_token = true;
    s->gen++;
}

static void ping_start(struct reg_session *s);
static void token_start(struct reg_session *s);

static void session_advance(struct reg_session *s)
{
    if (s->state == SESS_NEW && s->wait_head)
        return ping_start(s);
    if (s->state != SESS_READY || !s->wait_head)
        return;
    if (!token_valid(s))
        return token_start(s);
    flush_waiting(s);
}

/* A transport failure moves on to the next endpoint (https → http for an insecure registry,
 * a mirror → the next); any HTTP answer settles the endpoint and its challenge. */
static void ping_done(void *ctx, int res, const struct berth_err *err,
                      const struct regauth_result *r)
{
    struct reg_session *s = ctx;
    s->ping = NULL;
    if (res < 0) {
        berth_err_free(s->ping_err);
        s->ping_err = NULL;
        s->ping_err = berth_err_dup(err, "registry unreachable");
        log_debug("registry %s: %s", s->domain, s->ping_err->msg);
        s->state = SESS_NEW;
        if (s->ep + 1 < s->eps.n) {
            s->ep++;
            session_advance(s);
        } else {
            s->ep = 0; /* the next request starts over */
            fail_waiting(s, s->ping_err, false);
        }
        return session_unref(s);
    }
    regauth_challenge_free(&s->ch);
    if (r->status == 401)
        regauth_challenge_parse(r->www, &s->ch);
    log_debug("registry %s: %s answers, auth %s", s->domain, s->eps.v[s->ep].base,
              s->ch.scheme == REGAUTH_BEARER  ? "bearer"
              : s->ch.scheme == REGAUTH_BASIC ? "basic"
                                              : "none");
    s->state = SESS_READY;
    set_static_authz(s);
    session_advance(s);
    session_unref(s);
}

static void ping_start(struct reg_session *s)
{
    const struct endpoint *ep = &s->eps.v[s->ep];
    _cleanup_free_ char *url = xasprintf("%s/v2/", ep->base);
    struct hreq_spec spec = {
        .method = "GET", .url = url, .insecure_tls = ep->insecure_tls, .max_redirects = 10};
    s->state = SESS_PINGING;
    s->refs++;
    s->ping = regauth_call(s->hc, &spec, ping_done, s);
}

static void token_done(void *ctx, const struct regauth_token *tok, const struct berth_err *err)
{
    struct reg_session *s = ctx;
    s->fetch = NULL;
    s->state = SESS_READY;
    if (!tok) {
        /* `Get "REQUEST": unauthorized: ...`, and for a token server out of reach
         * `Get "REQUEST": Get "REALM": dial tcp ...`, as Go's client nests them. */
        fail_waiting(s, err, true);
        return session_unref(s);
    }
    free(s->authz);
    s->authz = xasprintf("Authorization: Bearer %s\r\n", tok->token);
    s->expiry_ms = mono_ms() + (uint64_t)tok->expires_in * 1000 - TOKEN_MARGIN_MS;
    s->need_token = false;
    s->gen++;
    flush_waiting(s);
    session_unref(s);
}

static void token_start(struct reg_session *s)
{
    if (!s->ch.realm) {
        struct berth_err e = {.status = EINVAL,
                              .msg = "no realm specified for token auth challenge"};
        return fail_waiting(s, &e, true);
    }
    struct regauth_token_req o = {.realm = s->ch.realm,
                                  .service = s->ch.service,
                                  .scopes = s->scopes,
                                  .nscopes = s->nscopes,
                                  .username = s->auth.username,
                                  .password = s->auth.password,
                                  .refresh_token = s->auth.identity_token,
                                  .insecure_tls = realm_insecure(s->cfg, s->ch.realm)};
    s->state = SESS_AUTH;
    s->refs++;
    s->fetch = regauth_token_fetch(s->hc, &o, token_done, s);
}

/* ---- sessions: requests ---- */

/* A 401 is worth one more try when something can change: newer credentials arrived since the
 * request went out, a token (with this request's scope) can be fetched, or the registry asks
 * for Basic credentials we have but did not send. */
static bool rr_head(void *hctx, struct hreq *q, const struct http_msg *resp)
{
    struct regreq *rr = hctx;
    struct reg_session *s = rr->s;
    if (resp->status != 401 || rr->retried || !hreq_replayable(q) || s->auth.registry_token)
        return false;
    struct regauth_challenge ch;
    if (!regauth_challenge_parse(http_msg_header(resp, "WWW-Authenticate"), &ch))
        return false;
    bool newer = rr->gen != s->gen;
    bool worth = newer || ch.scheme == REGAUTH_BEARER ||
                 (ch.scheme == REGAUTH_BASIC && !s->authz && has_basic(&s->auth));
    if (worth && !newer) {
        regauth_challenge_free(&s->ch);
        s->ch = ch;
        set_static_authz(s);
    } else {
        regauth_challenge_free(&ch);
    }
    rr->retried = worth;
    return worth;
}

static void rr_again(void *hctx, struct hreq *q)
{
    (void)q;
    struct regreq *rr = hctx;
    wait_push(rr->s, rr);
    session_advance(rr->s);
}

static void rr_release(void *hctx)
{
    struct regreq *rr = hctx;
    struct reg_session *s = rr->s;
    if (rr->waiting)
        wait_remove(s, rr);
    free(rr->path);
    free(rr);
    if (--s->nreqs == 0 && s->owner_gone)
        session_stop_calls(s);
    session_unref(s);
}

struct hreq *reg_request(struct reg_session *s, const char *path, const struct hreq_spec *spec)
{
    struct regreq *rr = xcalloc(1, sizeof(*rr));
    rr->s = s;
    rr->path = xstrdup(path);
    s->refs++;
    s->nreqs++;
    struct hreq_hooks hooks = {
        .head = rr_head, .again = rr_again, .release = rr_release, .hctx = rr};
    struct hreq *q = hclient_prepare(s->hc, spec, &hooks);
    rr->q = q;
    wait_push(s, rr);
    session_advance(s);
    return q;
}

/* ---- docker login ---- */

struct login {
    struct hclient *hc;
    const struct registry_config *cfg;
    struct endpoints eps;
    size_t ep;
    struct registry_auth auth;
    struct regauth_challenge ch;
    char *authz, *identity;
    struct berth_err *last_err;
    void (*done)(void *ctx, int res, const char *identity_token, const struct berth_err *err);
    void *ctx;
};

static void login_ping(struct login *l);

static void login_finish(struct login *l, struct berth_err *err)
{
    l->done(l->ctx, err ? berth_err_code(err) : 0, err ? NULL : l->identity, err);
    berth_err_free(err);
    berth_err_free(l->last_err);
    endpoints_free(&l->eps);
    registry_auth_free(&l->auth);
    regauth_challenge_free(&l->ch);
    free(l->authz);
    free(l->identity);
    free(l);
}

static char *login_url(const struct login *l)
{
    return xasprintf("%s/v2/", l->eps.v[l->ep].base);
}

/* dockerd tries the next endpoint on any error but a refusal of the credentials. */
static void login_next(struct login *l, struct berth_err *err)
{
    if (err->status == EKEYREJECTED || l->ep + 1 >= l->eps.n)
        return login_finish(l, err);
    log_debug("login: %s; trying the next endpoint", err->msg);
    berth_err_free(l->last_err);
    l->last_err = err;
    l->ep++;
    regauth_challenge_free(&l->ch);
    free(l->authz);
    l->authz = NULL;
    login_ping(l);
}

static void login_verdict(struct login *l, int status)
{
    if (status == 200)
        return login_finish(l, NULL);
    _cleanup_free_ char *url = login_url(l);
    struct berth_err *err = NULL;
    berth_user_error(&err, status == 401 ? EKEYREJECTED : EIO,
                     "login attempt to %s failed with status: %d %s", url, status,
                     http_status_text(status));
    login_next(l, err);
}

static void login_checked(void *ctx, int res, const struct berth_err *err,
                          const struct regauth_result *r)
{
    struct login *l = ctx;
    if (res < 0)
        return login_next(l, berth_err_dup(err, "request failed"));
    login_verdict(l, r->status);
}

static void login_check(struct login *l)
{
    _cleanup_free_ char *url = login_url(l);
    struct hreq_spec spec = {.method = "GET",
                             .url = url,
                             .headers = l->authz,
                             .insecure_tls = l->eps.v[l->ep].insecure_tls,
                             .max_redirects = 10};
    regauth_call(l->hc, &spec, login_checked, l);
}

static void login_token(void *ctx, const struct regauth_token *tok, const struct berth_err *err)
{
    struct login *l = ctx;
    if (!tok) {
        _cleanup_free_ char *url = login_url(l);
        return login_next(l, url_error(err->status, "GET", url, err->msg));
    }
    l->authz = xasprintf("Authorization: Bearer %s\r\n", tok->token);
    free(l->identity);
    l->identity = dup_or_null(tok->refresh_token ? tok->refresh_token : l->auth.identity_token);
    login_check(l);
}

static void login_pinged(void *ctx, int res, const struct berth_err *err,
                         const struct regauth_result *r)
{
    struct login *l = ctx;
    _cleanup_free_ char *url = login_url(l);
    if (res < 0)
        return login_next(l, berth_err_dup(err, "request failed")); /* already `Get "URL": ...` */
    if (r->status != 401 || !regauth_challenge_parse(r->www, &l->ch))
        return login_verdict(l, r->status);
    if (l->ch.scheme == REGAUTH_BASIC) {
        if (!has_basic(&l->auth))
            return login_finish(l,
                                url_error(EKEYREJECTED, "GET", url, "no basic auth credentials"));
        l->authz = regauth_basic_header(l->auth.username, l->auth.password);
        return login_check(l);
    }
    if (!l->ch.realm)
        return login_next(
            l, url_error(EINVAL, "GET", url, "no realm specified for token auth challenge"));
    struct regauth_token_req o = {.realm = l->ch.realm,
                                  .service = l->ch.service,
                                  .username = l->auth.username,
                                  .password = l->auth.password,
                                  .refresh_token = l->auth.identity_token,
                                  .offline = true,
                                  .insecure_tls = realm_insecure(l->cfg, l->ch.realm)};
    regauth_token_fetch(l->hc, &o, login_token, l);
}

static void login_ping(struct login *l)
{
    _cleanup_free_ char *url = login_url(l);
    struct hreq_spec spec = {.method = "GET",
                             .url = url,
                             .insecure_tls = l->eps.v[l->ep].insecure_tls,
                             .max_redirects = 10};
    regauth_call(l->hc, &spec, login_pinged, l);
}

/* dockerd's loginV2 on each endpoint: ping /v2/ for the challenge, authenticate (a token with
 * offline access, so the token server may issue an identity token), then GET /v2/ with it. */
void registry_login(struct hclient *hc, const struct registry_config *cfg, const char *domain,
                    const struct registry_auth *auth,
                    void (*done)(void *ctx, int res, const char *identity_token,
                                 const struct berth_err *err),
                    void *ctx)
{
    struct login *l = xcalloc(1, sizeof(*l));
    l->hc = hc;
    l->cfg = cfg;
    l->done = done;
    l->ctx = ctx;
    auth_copy(&l->auth, auth);
    endpoints_build(&l->eps, cfg, domain, false);
    login_ping(l);
}
