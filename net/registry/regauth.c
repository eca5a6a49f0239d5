/* net/registry/regauth.c — challenge parsing, token server requests and error words, written after
 * distribution's registry/client/auth and registry/client/errors.go so the words match. */
#include "net/registry/regauth.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/cleanup.h"
#include "core/http.h"
#include "core/json.h"
#include "core/xalloc.h"

#define MAX_BODY (1 << 20)

/* ---- challenges ---- */

static const char *skip_seps(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
    return p;
}

static char *read_token(const char **pp)
{
    const char *p = *pp;
    size_t n = strcspn(p, " \t,=");
    *pp = p + n;
    return xstrndup(p, n);
}

/* A quoted-string (backslash escapes) or a token. */
static char *read_value(const char **pp)
{
    const char *p = *pp;
    if (*p != '"') {
        size_t n = strcspn(p, " \t,");
        *pp = p + n;
        return xstrndup(p, n);
    }
    struct buf v = {0};
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1])
            p++;
        buf_append(&v, p, 1);
    }
    *pp = *p ? p + 1 : p;
    return v.data ? buf_steal(&v, NULL) : xstrdup("");
}

static void set_param(struct regauth_challenge *c, const char *name, char *value)
{
    char **slot = strcasecmp(name, "realm") == 0               ? &c->realm
                  : strcasecmp(name, "service") == 0           ? &c->service
                  : strcasecmp(name, "error") == 0             ? &c->error
                  : strcasecmp(name, "error_description") == 0 ? &c->error_description
                                                               : NULL;
    if (slot) {
        free(*slot);
        *slot = value;
    } else {
        free(value);
    }
}

/* Keep the better of what we have and the challenge just read: Bearer, then Basic. */
static void settle(struct regauth_challenge *best, struct regauth_challenge *cur)
{
    if (cur->scheme != REGAUTH_NONE &&
        (best->scheme == REGAUTH_NONE ||
         (best->scheme == REGAUTH_BASIC && cur->scheme == REGAUTH_BEARER))) {
        regauth_challenge_free(best);
        *best = *cur;
    } else {
        regauth_challenge_free(cur);
    }
    memset(cur, 0, sizeof(*cur));
}

bool regauth_challenge_parse(const char *header, struct regauth_challenge *out)
{
    struct regauth_challenge cur = {0};
    bool in_challenge = false;
    memset(out, 0, sizeof(*out));
    for (const char *p = skip_seps(header ? header : ""); *p; p = skip_seps(p)) {
        _cleanup_free_ char *tok = read_token(&p);
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '=') { /* name=value of the current challenge */
            p++;
            while (*p == ' ' || *p == '\t')
                p++;
            char *value = read_value(&p);
            if (in_challenge)
                set_param(&cur, tok, value);
            else
                free(value);
            continue;
        }
        if (!*tok) { /* a stray character: step over it */
            p++;
            continue;
        }
        settle(out, &cur);
        in_challenge = true;
        cur.scheme = strcasecmp(tok, "bearer") == 0  ? REGAUTH_BEARER
                     : strcasecmp(tok, "basic") == 0 ? REGAUTH_BASIC
                                                     : REGAUTH_NONE;
    }
    settle(out, &cur);
    return out->scheme != REGAUTH_NONE;
}

void regauth_challenge_free(struct regauth_challenge *c)
{
    free(c->realm);
    free(c->service);
    free(c->error);
    free(c->error_description);
    memset(c, 0, sizeof(*c));
}

/* ---- encodings ---- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *regauth_base64(const void *data, size_t n)
{
    const unsigned char *p = data;
    char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *o++ = B64[v >> 18 & 63];
        *o++ = B64[v >> 12 & 63];
        *o++ = i + 1 < n ? B64[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? B64[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

static int b64_value(char c)
{
    if (c == '-')
        return 62; /* URL alphabet */
    if (c == '_')
        return 63;
    const char *p = c ? strchr(B64, c) : NULL;
    return p ? (int)(p - B64) : -1;
}

char *regauth_unbase64(const char *s, size_t *n)
{
    size_t len = strlen(s);
    while (len > 0 && s[len - 1] == '=')
        len--;
    if (len % 4 == 1 || strlen(s) - len > 2)
        return NULL;
    char *out = xmalloc(len / 4 * 3 + 3);
    size_t o = 0;
    unsigned acc = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value(s[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (unsigned)v;
        if (i % 4 == 3) {
            out[o++] = (char)(acc >> 16);
            out[o++] = (char)(acc >> 8);
            out[o++] = (char)acc;
            acc = 0;
        }
    }
    if (len % 4 == 2)
        out[o++] = (char)(acc >> 4);
    if (len % 4 == 3) {
        out[o++] = (char)(acc >> 10);
        out[o++] = (char)(acc >> 2);
    }
    out[o] = '\0';
    *n = o;
    return out;
}

char *regauth_basic_header(const char *user, const char *password)
{
    _cleanup_free_ char *pair = xasprintf("%s:%s", user ? user : "", password ? password : "");
    _cleanup_free_ char *enc = regauth_base64(pair, strlen(pair));
    return xasprintf("Authorization: Basic %s\r\n", enc);
}

char *regauth_query_escape(const char *s)
{
    struct buf b = {0};
    buf_put_query_escaped(&b, s);
    return buf_steal(&b, NULL);
}

/* ---- buffered calls ---- */

struct call {
    regauth_call_cb cb;
    void *ctx;
    void (*release)(void *ctx);
    int status;
    char *www, *content_type;
    struct buf body;
    bool too_big;
};

static char *header_dup(const struct http_msg *m, const char *name)
{
    const char *v = http_msg_header(m, name);
    return v ? xstrdup(v) : NULL;
}

static void call_head(void *ctx, const struct http_msg *resp)
{
    struct call *c = ctx;
    c->status = resp->status;
    c->www = header_dup(resp, "WWW-Authenticate");
    c->content_type = header_dup(resp, "Content-Type");
}

static void call_body(void *ctx, const char *data, size_t n)
{
    struct call *c = ctx;
    if (c->body.len + n > MAX_BODY)
        c->too_big = true; /* read on, so the connection stays usable */
    else
        buf_append(&c->body, data, n);
}

static void call_done(void *ctx, int res, const struct berth_err *err)
{
    struct call *c = ctx;
    struct regauth_result r = {
        .status = c->status, .www = c->www, .content_type = c->content_type, .body = c->body};
    struct berth_err *big = NULL;
    if (res == 0 && c->too_big)
        res = berth_user_error(&big, EIO, "registry response larger than %d bytes", MAX_BODY);
    c->cb(c->ctx, res, big ? big : err, &r);
    berth_err_free(big);
}

static void call_release(void *hctx)
{
    struct call *c = hctx;
    if (c->release)
        c->release(c->ctx);
    free(c->www);
    free(c->content_type);
    buf_free(&c->body);
    free(c);
}

static struct hreq *call_start(struct hclient *hc, const struct hreq_spec *spec, regauth_call_cb cb,
                               void *ctx, void (*release)(void *ctx))
{
    struct call *c = xcalloc(1, sizeof(*c));
    c->cb = cb;
    c->ctx = ctx;
    c->release = release;
    struct hreq_spec s = *spec;
    s.on_head = call_head;
    s.on_body = call_body;
    s.on_done = call_done;
    s.on_drain = NULL;
    s.ctx = c;
    struct hreq_hooks hooks = {.release = call_release, .hctx = c};
    struct hreq *q = hclient_prepare(hc, &s, &hooks);
    hreq_send(q, spec->url, NULL);
    return q;
}

struct hreq *regauth_call(struct hclient *hc, const struct hreq_spec *spec, regauth_call_cb cb,
                          void *ctx)
{
    return call_start(hc, spec, cb, ctx, NULL);
}

/* ---- error words ---- */

/* errcode's spelling of a code: "NAME_UNKNOWN" → "name unknown". */
static char *code_words(const char *code)
{
    char *w = xstrdup(code);
    for (char *p = w; *p; p++)
        *p = *p == '_' ? ' ' : (char)tolower((unsigned char)*p);
    return w;
}

static char *status_error(int status, const char *details)
{
    const char *code = status == 401   ? "unauthorized"
                       : status == 403 ? "denied"
                       : status == 429 ? "toomanyrequests"
                                       : "unknown";
    return xasprintf("%s: %s", code, details);
}

/* The body's {"errors": [...]} as errcode.Errors prints them, or NULL. */
static char *errors_words(json_t *errors)
{
    size_t n = json_array_size(errors), i;
    if (n == 0)
        return NULL;
    struct buf b = {0};
    if (n > 1)
        buf_puts(&b, "errors:\n");
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        const char *code = json_get_str(e, "code"), *msg = json_get_str(e, "message");
        _cleanup_free_ char *cw = code_words(code ? code : "UNKNOWN");
        buf_printf(&b, "%s: %s%s", cw, msg ? msg : "", n > 1 ? "\n" : "");
    }
    return buf_steal(&b, NULL);
}

static char *body_words(const struct regauth_result *r)
{
    _cleanup_free_ char *text = xstrndup(r->body.data ? r->body.data : "", r->body.len);
    const char *ct = r->content_type;
    if (!ct || (strncasecmp(ct, "application/json", 16) != 0 &&
                strncasecmp(ct, "application/vnd.api+json", 24) != 0))
        return status_error(r->status, text);
    json_error_t je;
    _cleanup_json_ json_t *j = json_loads(text, 0, &je);
    const char *details = json_get_str(j, "details");
    if (details && *details)
        return status_error(r->status, details);
    char *words = errors_words(json_object_get(j, "errors"));
    if (words)
        return words;
    if (r->status == 401)
        return xstrdup("unauthorized: authentication required");
    return xasprintf("error parsing HTTP %d response body: %s: \"%s\"", r->status,
                     j ? "no error details found in HTTP response body" : je.text, text);
}

char *regauth_error_words(const struct regauth_result *r)
{
    if (r->status < 400 || r->status >= 500)
        return xasprintf("received unexpected HTTP status: %d %s", r->status,
                         http_status_text(r->status));
    struct regauth_challenge c;
    if (regauth_challenge_parse(r->www, &c) && c.scheme == REGAUTH_BEARER && c.error) {
        /* RFC 6750 errors in the challenge come first, as in HandleErrorResponse */
        bool invalid = strcmp(c.error, "invalid_token") == 0;
        bool scope = strcmp(c.error, "insufficient_scope") == 0;
        if (invalid || scope) {
            const char *desc = c.error_description && *c.error_description ? c.error_description
                               : invalid ? "authentication required"
                                         : "requested access to the resource is denied";
            char *w = xasprintf("%s: %s", invalid ? "unauthorized" : "denied", desc);
            regauth_challenge_free(&c);
            return w;
        }
    }
    regauth_challenge_free(&c);
    return body_words(r);
}

int regauth_error_errno(int http_status)
{
    switch (http_status) {
    case 401:
        return EKEYREJECTED;
    case 403:
        return EACCES;
    case 404:
        return ENOENT;
    case 429:
        return EAGAIN;
    default:
        return EIO;
    }
}

/* ---- tokens ---- */

struct fetch {
    regauth_token_cb cb;
    void *ctx;
    bool post;
};

static int token_parse(const struct regauth_result *r, bool post, struct regauth_token *t,
                       struct berth_err **err)
{
    json_error_t je;
    _cleanup_json_ json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &je);
    if (!json_is_object(j))
        return berth_user_error(err, EIO, "unable to decode token response: %s",
                                j ? "not a JSON object" : je.text);
    const char *tok = json_get_str(j, "access_token");
    if (!post && (!tok || !*tok))
        tok = json_get_str(j, "token");
    if (!tok || !*tok)
        return berth_user_error(err, EIO,
                                "authorization server did not include a token in the response");
    const char *refresh = json_get_str(j, "refresh_token");
    t->token = xstrdup(tok);
    t->refresh_token = refresh && *refresh ? xstrdup(refresh) : NULL;
    t->expires_in = json_get_int(j, "expires_in", 0);
    if (t->expires_in < 60) /* distribution's minimum: older clients assumed 60 s */
        t->expires_in = 60;
    return 0;
}

static void fetch_done(void *ctx, int res, const struct berth_err *err,
                       const struct regauth_result *r)
{
    struct fetch *f = ctx;
    _cleanup_err_ struct berth_err *mine = NULL;
    struct regauth_token t = {0};
    if (res < 0) {
        f->cb(f->ctx, NULL, err);
        return;
    }
    if (r->status < 200 || r->status > 399) {
        _cleanup_free_ char *w = regauth_error_words(r);
        berth_user_error(&mine, regauth_error_errno(r->status), "%s", w);
    } else {
        token_parse(r, f->post, &t, &mine);
    }
    f->cb(f->ctx, mine ? NULL : &t, mine);
    free(t.token);
    free(t.refresh_token);
}

/* GET REALM?account=U&client_id=docker&offline_token=true&scope=S...&service=V (sorted, as Go's
 * url.Values encodes them). */
static char *token_url(const struct regauth_token_req *o)
{
    struct buf b = {0};
    buf_printf(&b, "%s%s", o->realm, strchr(o->realm, '?') ? "&" : "?");
    if (o->username && *o->username && o->password && *o->password) {
        _cleanup_free_ char *u = regauth_query_escape(o->username);
        buf_printf(&b, "account=%s&", u);
    }
    if (o->offline)
        buf_puts(&b, "client_id=docker&offline_token=true&");
    for (size_t i = 0; i < o->nscopes; i++) {
        _cleanup_free_ char *s = regauth_query_escape(o->scopes[i]);
        buf_printf(&b, "scope=%s&", s);
    }
    _cleanup_free_ char *svc = regauth_query_escape(o->service ? o->service : "");
    if (o->service && *o->service)
        buf_printf(&b, "service=%s&", svc);
    b.data[--b.len] = '\0'; /* the last '&' (or the '?' when nothing followed) */
    return buf_steal(&b, NULL);
}

/* The OAuth2 form for a refresh-token grant. */
static char *token_form(const struct regauth_token_req *o)
{
    struct buf scopes = {0};
    for (size_t i = 0; i < o->nscopes; i++)
        buf_printf(&scopes, "%s%s", i ? " " : "", o->scopes[i]);
    _cleanup_free_ char *sc = regauth_query_escape(scopes.data ? scopes.data : "");
    _cleanup_free_ char *rt = regauth_query_escape(o->refresh_token);
    _cleanup_free_ char *svc = regauth_query_escape(o->service ? o->service : "");
    buf_free(&scopes);
    return xasprintf("client_id=docker&grant_type=refresh_token&refresh_token=%s&scope=%s"
                     "&service=%s",
                     rt, sc, svc);
}

static void fetch_release(void *ctx)
{
    free(ctx);
}

struct hreq *regauth_token_fetch(struct hclient *hc, const struct regauth_token_req *o,
                                 regauth_token_cb cb, void *ctx)
{
    struct fetch *f = xcalloc(1, sizeof(*f));
    f->cb = cb;
    f->ctx = ctx;
    f->post = o->refresh_token && *o->refresh_token;
    _cleanup_free_ char *form = f->post ? token_form(o) : NULL;
    _cleanup_free_ char *url = f->post ? xstrdup(o->realm) : token_url(o);
    _cleanup_free_ char *basic =
        !f->post && o->username && *o->username && o->password && *o->password
            ? regauth_basic_header(o->username, o->password)
            : NULL;
    struct hreq_spec spec = {
        .method = f->post ? "POST" : "GET",
        .url = url,
        .headers = f->post ? "Content-Type: application/x-www-form-urlencoded\r\n" : basic,
        .body = form,
        .body_len = form ? strlen(form) : 0,
        .insecure_tls = o->insecure_tls,
        .max_redirects = 10};
    return call_start(hc, &spec, fetch_done, f, fetch_release);
}
