/* tests/net/test_registry.c — net/registry/registry.c and net/registry/regauth.c: tables for the
 * pure parts, then real docker-registry instances (plain, htpasswd, token, TLS) on 127.0.0.1, both
 * backends. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/digest.h"
#include "core/macros.h"
#include "core/pool.h"
#include "core/reactor.h"
#include "net/registry/registry.c" /* reaches the session's statics: one test plays a revoked token */

static const char *const backends[] = {"io_uring", "epoll"};

/* ---- tables ---- */

static void test_insecure(void **state)
{
    (void)state;
    char *list[] = {"myreg.example:5000", "10.1.0.0/16", "http://plainreg:80", "fd00::/8"};
    struct registry_config cfg = {.insecure = list, .ninsecure = 4};
    static const struct {
        const char *domain;
        bool insecure;
    } cases[] = {
        {"127.0.0.1:5000", true},     {"127.1.2.3", true},
        {"[::1]:5000", true},         {"localhost:5000", true},
        {"localhost", true},          {"a.localhost:1", true},
        {"myreg.example:5000", true}, {"myreg.example", false},
        {"10.1.200.3:443", true},     {"10.2.0.1:443", false},
        {"plainreg:80", true},        {"[fd12::1]:5000", true},
        {"[fe80::1]:5000", false},    {"docker.io", false},
        {"192.168.1.1:5000", false},  {"", false},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        if (registry_is_insecure(&cfg, cases[i].domain) != cases[i].insecure)
            fail_msg("registry_is_insecure(%s) should be %d", cases[i].domain, cases[i].insecure);
    assert_true(registry_is_insecure(NULL, "127.0.0.1:5000"));
    assert_false(registry_is_insecure(NULL, "10.1.0.1:5000"));
}

static void decode_ok(const char *in, const char *user, const char *pass, const char *idtok)
{
    struct registry_auth a;
    struct berth_err *err = NULL;
    if (registry_auth_decode(in, &a, &err) < 0)
        fail_msg("decode %s: %s", in, err->msg);
    if ((user || a.username) && (!user || !a.username || strcmp(user, a.username) != 0))
        fail_msg("decode %s: username %s", in, a.username ? a.username : "(null)");
    if ((pass || a.password) && (!pass || !a.password || strcmp(pass, a.password) != 0))
        fail_msg("decode %s: password %s", in, a.password ? a.password : "(null)");
    if ((idtok || a.identity_token) &&
        (!idtok || !a.identity_token || strcmp(idtok, a.identity_token) != 0))
        fail_msg("decode %s: identity token", in);
    registry_auth_free(&a);
}

static void decode_err(const char *in, const char *words)
{
    struct registry_auth a;
    struct berth_err *err = NULL;
    assert_true(registry_auth_decode(in, &a, &err) < 0);
    assert_int_equal(err->status, EINVAL);
    assert_string_equal(err->msg, words);
    berth_err_free(err);
}

static void test_auth_decode(void **state)
{
    (void)state;
    /* {"username":"testuser","password":"testpassword","serveraddress":"example.com"} */
    const char *padded = "eyJ1c2VybmFtZSI6InRlc3R1c2VyIiwicGFzc3dvcmQiOiJ0ZXN0cGFzc3dvcmQiLCJzZ"
                         "XJ2ZXJhZGRyZXNzIjoiZXhhbXBsZS5jb20ifQ==";
    const char *bare = "eyJ1c2VybmFtZSI6InRlc3R1c2VyIiwicGFzc3dvcmQiOiJ0ZXN0cGFzc3dvcmQiLCJzZXJ"
                       "2ZXJhZGRyZXNzIjoiZXhhbXBsZS5jb20ifQ";
    decode_ok(padded, "testuser", "testpassword", NULL);
    decode_ok(bare, "testuser", "testpassword", NULL); /* missing padding is tolerated */
    decode_ok("", NULL, NULL, NULL);
    decode_ok(NULL, NULL, NULL, NULL);
    decode_ok("e30=", NULL, NULL, NULL); /* {} */
    decode_ok("e30", NULL, NULL, NULL);
    /* {"identitytoken":"a+b/c?"} in both alphabets: the standard one has '+' and '/'. */
    decode_ok("eyJpZGVudGl0eXRva2VuIjoiYStiL2M/In0=", NULL, NULL, "a+b/c?");
    decode_ok("eyJpZGVudGl0eXRva2VuIjoiYStiL2M_In0", NULL, NULL, "a+b/c?");
    /* {"auth":"dTpw"} — config.json style base64("u:p") */
    decode_ok("eyJhdXRoIjoiZFRwdyJ9", "u", "p", NULL);
    /* {"username":"testuser","password":"testpassword"}   (trailing spaces) */
    decode_ok("eyJ1c2VybmFtZSI6InRlc3R1c2VyIiwicGFzc3dvcmQiOiJ0ZXN0cGFzc3dvcmQifSAgIA==",
              "testuser", "testpassword", NULL);
    decode_err("!!!", "invalid X-Registry-Auth header: must be a valid base64url-encoded string");
    decode_err("e317fQ==", "invalid X-Registry-Auth header: multiple JSON documents not allowed");
    decode_err("eyJ1c2VybmFtZSI6InRlc3R1c2VyIn1pbnZhbGlk",
               "invalid X-Registry-Auth header: multiple JSON documents not allowed");
    struct registry_auth a;
    struct berth_err *err = NULL;
    assert_true(registry_auth_decode("ew==", &a, &err) < 0); /* "{" */
    assert_non_null(strstr(err->msg, "invalid X-Registry-Auth header: invalid JSON: "));
    berth_err_free(err);
}

static void test_challenge(void **state)
{
    (void)state;
    struct regauth_challenge c;
    assert_true(regauth_challenge_parse(
        "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
        "scope=\"repository:samalba/my-app:pull,push\"",
        &c));
    assert_int_equal(c.scheme, REGAUTH_BEARER);
    assert_string_equal(c.realm, "https://auth.docker.io/token");
    assert_string_equal(c.service, "registry.docker.io");
    regauth_challenge_free(&c);
    assert_true(regauth_challenge_parse("Basic realm=\"Registry Realm\"", &c));
    assert_int_equal(c.scheme, REGAUTH_BASIC);
    assert_string_equal(c.realm, "Registry Realm");
    regauth_challenge_free(&c);
    /* Several challenges: Bearer wins; quoted commas and escapes survive. */
    assert_true(regauth_challenge_parse("Basic realm=\"a,b\", Bearer realm=\"r\\\"x\", "
                                        "service=svc, error=\"invalid_token\"",
                                        &c));
    assert_int_equal(c.scheme, REGAUTH_BEARER);
    assert_string_equal(c.realm, "r\"x");
    assert_string_equal(c.service, "svc");
    assert_string_equal(c.error, "invalid_token");
    regauth_challenge_free(&c);
    assert_false(regauth_challenge_parse("Negotiate abc", &c));
    assert_false(regauth_challenge_parse(NULL, &c));
}

static void words_case(int status, const char *ct, const char *www, const char *body,
                       const char *want)
{
    struct regauth_result r = {.status = status, .content_type = ct, .www = www};
    buf_puts(&r.body, body);
    _cleanup_free_ char *w = regauth_error_words(&r);
    assert_string_equal(w, want);
    buf_free(&r.body);
}

static void test_error_words(void **state)
{
    (void)state;
    words_case(401, "application/json", NULL, "{\"details\":\"invalid username/password\"}",
               "unauthorized: invalid username/password");
    words_case(401, "application/json; charset=utf-8", NULL,
               "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication "
               "required\",\"detail\":null}]}",
               "unauthorized: authentication required");
    words_case(404, "application/json", NULL,
               "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}",
               "manifest unknown: manifest unknown");
    words_case(403, NULL, NULL, "go away", "denied: go away");
    words_case(401, "application/json", "Bearer realm=\"x\",error=\"insufficient_scope\"", "{}",
               "denied: requested access to the resource is denied");
    words_case(500, NULL, NULL, "", "received unexpected HTTP status: 500 Internal Server Error");
    _cleanup_free_ char *b = regauth_base64("u:p", 3);
    assert_string_equal(b, "dTpw");
    _cleanup_free_ char *q = regauth_query_escape("repository:a/b:pull,push x");
    assert_string_equal(q, "repository%3Aa%2Fb%3Apull%2Cpush+x");
}

/* ---- registries ---- */

struct reg {
    bool up;
    char *addr, *dir, *user, *pass, *token_log, *certs_d;
    pid_t pid, token_pid;
};

static struct reg R_plain, R_basic, R_token, R_tls;

static void set_var(struct reg *g, const char *name, const char *value)
{
    if (strcmp(name, "REGISTRY") == 0)
        g->addr = xstrdup(value);
    else if (strcmp(name, "REGISTRY_DIR") == 0)
        g->dir = xstrdup(value);
    else if (strcmp(name, "REGISTRY_USER") == 0)
        g->user = xstrdup(value);
    else if (strcmp(name, "REGISTRY_PASS") == 0)
        g->pass = xstrdup(value);
    else if (strcmp(name, "REGISTRY_TOKEN_LOG") == 0)
        g->token_log = xstrdup(value);
    else if (strcmp(name, "REGISTRY_CERTS_D") == 0)
        g->certs_d = xstrdup(value);
    else if (strcmp(name, "REGISTRY_PID") == 0)
        g->pid = atoi(value);
    else if (strcmp(name, "REGISTRY_TOKEN_PID") == 0)
        g->token_pid = atoi(value);
}

static void reg_up(struct reg *g, const char *args)
{
    const char *src = getenv("BERTH_SRC") ? getenv("BERTH_SRC") : ".";
    _cleanup_free_ char *cmd = xasprintf("%s/tests/net/registry-up.sh %s", src, args);
    FILE *f = popen(cmd, "r");
    char line[1024];
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *eq = strchr(line, '=');
        if (eq) {
            *eq = '\0';
            set_var(g, line, eq + 1);
        }
    }
    g->up = f && pclose(f) == 0 && g->addr && g->pid > 0;
}

static void stop_pid(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 200 && kill(pid, 0) == 0; i++)
        usleep(10000);
}

static void reg_down(struct reg *g)
{
    stop_pid(g->pid);
    stop_pid(g->token_pid);
    if (g->dir && !getenv("TEST_KEEP_REGISTRY")) {
        _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", g->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", g->dir);
    }
    free(g->addr);
    free(g->dir);
    free(g->user);
    free(g->pass);
    free(g->token_log);
    free(g->certs_d);
    memset(g, 0, sizeof(*g));
}

static bool tools_present(void)
{
    return system("(command -v docker-registry && command -v htpasswd && command -v openssl && "
                  "command -v curl && test -x /usr/bin/python3) >/dev/null 2>&1") == 0;
}

static int group_setup(void **state)
{
    (void)state;
    if (!tools_present()) {
        print_message("# docker-registry (or htpasswd, openssl, curl) missing: skipping\n");
        return 0;
    }
    reg_up(&R_plain, "");
    reg_up(&R_basic, "--htpasswd berth:s3cret");
    reg_up(&R_token, "--token berth:t0ken-pass");
    reg_up(&R_tls, "--tls");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    reg_down(&R_plain);
    reg_down(&R_basic);
    reg_down(&R_token);
    reg_down(&R_tls);
    return 0;
}

/* ---- the client side ---- */

struct env {
    struct reactor *r;
    struct pool *pool;
    struct hclient *hc;
    struct registry_config cfg;
    struct reactor_timer guard;
    int pending;
    bool timed_out;
    const char *backend;
};

struct resp {
    struct env *e;
    struct hreq *q;
    int status, res, errstatus;
    struct buf body;
    char *digest, *location, *err;
    bool done;
    /* streamed uploads */
    const uint8_t *up;
    size_t up_len, up_sent;
};

static void on_guard(struct reactor_timer *t)
{
    struct env *e = container_of(t, struct env, guard);
    e->timed_out = true;
    reactor_stop(e->r);
}

static bool env_open(struct env *e, const char *backend, const char *certs_dir)
{
    memset(e, 0, sizeof(*e));
    e->backend = backend;
    e->r = reactor_new(backend, NULL);
    if (!e->r)
        return false;
    e->pool = pool_new(e->r, 2, 1);
    struct hclient_opts o = {.io_timeout_ms = 20000, .certs_dir = certs_dir};
    e->hc = hclient_new(e->r, e->pool, &o);
    e->guard.fn = on_guard;
    return true;
}

static void env_close(struct env *e)
{
    hclient_free(e->hc);
    pool_free(e->pool);
    reactor_free(e->r);
}

static void env_run(struct env *e)
{
    reactor_timer_start(e->r, &e->guard, 30000);
    if (e->pending > 0)
        reactor_run(e->r);
    reactor_timer_stop(e->r, &e->guard);
    assert_false(e->timed_out);
}

#define FOR_EACH_BACKEND(e, certs)                                                                 \
    for (size_t _b = 0; _b < 2; _b++)                                                              \
        for (struct env e##_v, *e = env_open(&e##_v, backends[_b], certs) ? &e##_v : NULL; e;      \
             env_close(e), e = NULL)

static char *hdr(const struct http_msg *m, const char *name)
{
    const char *v = http_msg_header(m, name);
    return v ? xstrdup(v) : NULL;
}

static void p_head(void *ctx, const struct http_msg *m)
{
    struct resp *p = ctx;
    p->status = m->status;
    p->digest = hdr(m, "Docker-Content-Digest");
    p->location = hdr(m, "Location");
}

static void p_body(void *ctx, const char *data, size_t n)
{
    struct resp *p = ctx;
    buf_append(&p->body, data, n);
}

static void p_done(void *ctx, int res, const struct berth_err *err)
{
    struct resp *p = ctx;
    p->done = true;
    p->res = res;
    p->err = err ? xstrdup(err->msg) : NULL;
    p->errstatus = err ? err->status : 0;
    if (--p->e->pending == 0)
        reactor_stop(p->e->r);
}

static void p_write(struct resp *p)
{
    while (p->up_sent < p->up_len) {
        size_t n = p->up_len - p->up_sent < 65536 ? p->up_len - p->up_sent : 65536;
        p->up_sent += n;
        if (!hreq_write(p->q, p->up + p->up_sent - n, n))
            return;
    }
    hreq_end(p->q);
}

static void p_drain(void *ctx)
{
    p_write(ctx);
}

static void resp_free(struct resp *p)
{
    buf_free(&p->body);
    free(p->digest);
    free(p->location);
    free(p->err);
}

/* One request through the session, run to the end. stream: the body goes by hreq_write(). */
static void call(struct env *e, struct reg_session *s, const char *method, const char *path,
                 const char *headers, const void *body, size_t len, bool stream, struct resp *p)
{
    memset(p, 0, sizeof(*p));
    p->e = e;
    struct hreq_spec spec = {.method = method,
                             .headers = headers,
                             .body = stream ? NULL : body,
                             .body_len = stream ? 0 : len,
                             .stream_body = stream,
                             .stream_len = stream ? (int64_t)len : -1,
                             .max_redirects = 10,
                             .on_head = p_head,
                             .on_body = p_body,
                             .on_drain = p_drain,
                             .on_done = p_done,
                             .ctx = p};
    e->pending++;
    p->q = reg_request(s, path, &spec);
    if (stream) {
        p->up = body;
        p->up_len = len;
        p_write(p);
    }
    env_run(e);
    assert_true(p->done);
}

static void expect_status(const struct resp *p, int status, const char *what)
{
    if (p->res != 0)
        fail_msg("%s: %s", what, p->err);
    if (p->status != status)
        fail_msg("%s: status %d, want %d: %.*s", what, p->status, status, (int)p->body.len,
                 p->body.data ? p->body.data : "");
}

/* POST an upload, then PUT the bytes with their digest (streamed or whole). */
static void push_blob(struct env *e, struct reg_session *s, const char *repo, const void *data,
                      size_t len, bool stream, char digest[DIGEST_LEN + 1])
{
    digest_buf(data, len, digest);
    _cleanup_free_ char *start = xasprintf("/v2/%s/blobs/uploads/", repo);
    struct resp p;
    call(e, s, "POST", start, NULL, "", 0, false, &p);
    expect_status(&p, 202, "start upload");
    assert_non_null(p.location);
    _cleanup_free_ char *put =
        xasprintf("%s%sdigest=%s", p.location, strchr(p.location, '?') ? "&" : "?", digest);
    resp_free(&p);
    call(e, s, "PUT", put, "Content-Type: application/octet-stream\r\n", data, len, stream, &p);
    expect_status(&p, 201, "upload blob");
    assert_string_equal(p.digest, digest);
    resp_free(&p);
}

#define MT_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

/* Push a layer (streamed), a config and a manifest; read them back with HEAD and GET. */
static void round_trip(struct env *e, struct reg_session *s, const char *repo)
{
    size_t layer_len = 300 * 1024 + 17;
    uint8_t *layer = xmalloc(layer_len);
    for (size_t i = 0; i < layer_len; i++)
        layer[i] = (uint8_t)(i * 31 + 7);
    _cleanup_free_ char *config = xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\","
                                            "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},"
                                            "\"backend\":\"%s\"}",
                                            e->backend);
    char ld[DIGEST_LEN + 1], cd[DIGEST_LEN + 1], md[DIGEST_LEN + 1];
    push_blob(e, s, repo, layer, layer_len, true, ld);
    push_blob(e, s, repo, config, strlen(config), false, cd);
    _cleanup_free_ char *manifest = xasprintf(
        "{\"schemaVersion\":2,\"mediaType\":\"" MT_MANIFEST "\",\"config\":{\"mediaType\":"
        "\"application/vnd.docker.container.image.v1+json\",\"size\":%zu,\"digest\":\"%s\"},"
        "\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\","
        "\"size\":%zu,\"digest\":\"%s\"}]}",
        strlen(config), cd, layer_len, ld);
    digest_buf(manifest, strlen(manifest), md);
    _cleanup_free_ char *mpath = xasprintf("/v2/%s/manifests/latest", repo);
    struct resp p;
    call(e, s, "PUT", mpath, "Content-Type: " MT_MANIFEST "\r\n", manifest, strlen(manifest), false,
         &p);
    expect_status(&p, 201, "put manifest");
    assert_string_equal(p.digest, md);
    resp_free(&p);
    call(e, s, "HEAD", mpath, "Accept: " MT_MANIFEST "\r\n", NULL, 0, false, &p);
    expect_status(&p, 200, "head manifest");
    assert_string_equal(p.digest, md);
    assert_int_equal(p.body.len, 0);
    resp_free(&p);
    call(e, s, "GET", mpath, "Accept: " MT_MANIFEST "\r\n", NULL, 0, false, &p);
    expect_status(&p, 200, "get manifest");
    assert_int_equal(p.body.len, strlen(manifest));
    assert_memory_equal(p.body.data, manifest, p.body.len);
    resp_free(&p);
    _cleanup_free_ char *bpath = xasprintf("/v2/%s/blobs/%s", repo, ld);
    call(e, s, "GET", bpath, NULL, NULL, 0, false, &p);
    expect_status(&p, 200, "get blob");
    assert_int_equal(p.body.len, layer_len);
    assert_memory_equal(p.body.data, layer, layer_len);
    resp_free(&p);
    free(layer);
}

struct login_res {
    struct env *e;
    int res, errstatus;
    char *identity, *err;
};

static void l_done(void *ctx, int res, const char *identity, const struct berth_err *err)
{
    struct login_res *l = ctx;
    l->res = res;
    l->identity = identity ? xstrdup(identity) : NULL;
    l->err = err ? xstrdup(err->msg) : NULL;
    l->errstatus = err ? err->status : 0;
    if (--l->e->pending == 0)
        reactor_stop(l->e->r);
}

static void login(struct env *e, const char *domain, const char *user, const char *pass,
                  const char *idtok, struct login_res *l)
{
    memset(l, 0, sizeof(*l));
    l->e = e;
    struct registry_auth a = {
        .username = (char *)user, .password = (char *)pass, .identity_token = (char *)idtok};
    e->pending++;
    registry_login(e->hc, &e->cfg, domain, &a, l_done, l);
    env_run(e);
}

static void login_free(struct login_res *l)
{
    free(l->identity);
    free(l->err);
}

static char *repo_for(const struct env *e, const char *name)
{
    return xasprintf("berth/%s-%s", name, strcmp(e->backend, "epoll") == 0 ? "ev" : "uring");
}

/* ---- tests against registries ---- */

static void test_refused(void **state)
{
    (void)state;
    FOR_EACH_BACKEND(e, NULL)
    {
        struct reg_session *s = reg_session_new(e->hc, &e->cfg, "127.0.0.1:1", "x", NULL, "pull");
        struct resp p;
        call(e, s, "GET", "/v2/x/manifests/latest", NULL, NULL, 0, false, &p);
        /* https first, then http for an insecure registry: the last words are http's */
        assert_string_equal(p.err, "Get \"http://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1: "
                                   "connect: connection refused");
        assert_int_equal(p.errstatus, ECONNREFUSED);
        resp_free(&p);
        reg_session_free(s);
        struct login_res l;
        login(e, "127.0.0.1:1", "u", "p", NULL, &l);
        assert_string_equal(l.err, "Get \"http://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1: "
                                   "connect: connection refused");
        login_free(&l);
    }
}

static void test_plain(void **state)
{
    (void)state;
    if (!R_plain.up)
        skip();
    FOR_EACH_BACKEND(e, NULL)
    {
        _cleanup_free_ char *repo = repo_for(e, "plain");
        struct reg_session *s =
            reg_session_new(e->hc, &e->cfg, R_plain.addr, repo, NULL, "pull,push");
        struct resp p;
        call(e, s, "GET", "/v2/", NULL, NULL, 0, false, &p);
        expect_status(&p, 200, "GET /v2/");
        assert_string_equal(p.body.data, "{}");
        resp_free(&p);
        round_trip(e, s, repo);
        reg_session_free(s);
        struct login_res l;
        login(e, R_plain.addr, "anyone", "anything", NULL, &l); /* no auth: dockerd says yes */
        assert_int_equal(l.res, 0);
        login_free(&l);
    }
}

static void test_htpasswd(void **state)
{
    (void)state;
    if (!R_basic.up)
        skip();
    FOR_EACH_BACKEND(e, NULL)
    {
        struct login_res l;
        login(e, R_basic.addr, R_basic.user, R_basic.pass, NULL, &l);
        if (l.res != 0)
            fail_msg("login: %s", l.err);
        assert_null(l.identity);
        login_free(&l);
        login(e, R_basic.addr, R_basic.user, "wrong", NULL, &l);
        assert_int_equal(l.errstatus, EKEYREJECTED);
        _cleanup_free_ char *want = xasprintf(
            "login attempt to http://%s/v2/ failed with status: 401 Unauthorized", R_basic.addr);
        assert_string_equal(l.err, want);
        login_free(&l);
        login(e, R_basic.addr, NULL, NULL, NULL, &l);
        _cleanup_free_ char *none =
            xasprintf("Get \"http://%s/v2/\": no basic auth credentials", R_basic.addr);
        assert_string_equal(l.err, none);
        login_free(&l);

        _cleanup_free_ char *repo = repo_for(e, "basic");
        struct registry_auth a = {.username = R_basic.user, .password = R_basic.pass};
        struct reg_session *s =
            reg_session_new(e->hc, &e->cfg, R_basic.addr, repo, &a, "pull,push");
        round_trip(e, s, repo);
        reg_session_free(s);
        s = reg_session_new(e->hc, &e->cfg, R_basic.addr, repo, NULL, "pull");
        struct resp p;
        _cleanup_free_ char *path = xasprintf("/v2/%s/manifests/latest", repo);
        call(e, s, "GET", path, NULL, NULL, 0, false, &p);
        expect_status(&p, 401, "no credentials"); /* the caller gets the 401 itself */
        resp_free(&p);
        reg_session_free(s);
    }
}

static int count_lines(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int n = 0;
    while (f && fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return n;
}

static void test_token_login(void **state)
{
    (void)state;
    if (!R_token.up)
        skip();
    FOR_EACH_BACKEND(e, NULL)
    {
        struct login_res l;
        login(e, R_token.addr, R_token.user, R_token.pass, NULL, &l);
        if (l.res != 0)
            fail_msg("login: %s", l.err);
        assert_non_null(l.identity); /* offline_token=true: a refresh token came back */
        _cleanup_free_ char *idtok = xstrdup(l.identity);
        login_free(&l);
        login(e, R_token.addr, R_token.user, NULL, idtok, &l); /* the OAuth POST */
        if (l.res != 0)
            fail_msg("login with identity token: %s", l.err);
        login_free(&l);
        login(e, R_token.addr, R_token.user, "wrong", NULL, &l);
        assert_int_equal(l.errstatus, EKEYREJECTED);
        _cleanup_free_ char *want = xasprintf(
            "Get \"http://%s/v2/\": unauthorized: invalid username/password", R_token.addr);
        assert_string_equal(l.err, want);
        login_free(&l);
    }
}

static void test_token_session(void **state)
{
    (void)state;
    if (!R_token.up)
        skip();
    FOR_EACH_BACKEND(e, NULL)
    {
        _cleanup_free_ char *repo = repo_for(e, "token");
        _cleanup_free_ char *scope = xasprintf("repository:%s:pull,push", repo);
        int before = count_lines(R_token.token_log, scope);
        struct registry_auth a = {.username = R_token.user, .password = R_token.pass};
        struct reg_session *s =
            reg_session_new(e->hc, &e->cfg, R_token.addr, repo, &a, "pull,push");
        round_trip(e, s, repo);
        /* One token served the whole push and pull: it is cached in the session. */
        assert_int_equal(count_lines(R_token.token_log, scope), before + 1);
        /* A revoked token: the registry says 401, the session fetches a new one and the
         * request goes again. */
        free(s->authz);
        s->authz = xstrdup("Authorization: Bearer revoked\r\n");
        _cleanup_free_ char *mpath = xasprintf("/v2/%s/manifests/latest", repo);
        struct resp p;
        call(e, s, "HEAD", mpath, "Accept: " MT_MANIFEST "\r\n", NULL, 0, false, &p);
        expect_status(&p, 200, "after 401 → token → retry");
        resp_free(&p);
        assert_int_equal(count_lines(R_token.token_log, scope), before + 2);
        reg_session_free(s);
        /* Without credentials nothing is granted: the 401 reaches the caller after one retry. */
        s = reg_session_new(e->hc, &e->cfg, R_token.addr, repo, NULL, "pull");
        call(e, s, "GET", mpath, NULL, NULL, 0, false, &p);
        expect_status(&p, 401, "anonymous");
        resp_free(&p);
        reg_session_free(s);
    }
}

static void test_tls_registry(void **state)
{
    (void)state;
    if (!R_tls.up)
        skip();
    FOR_EACH_BACKEND(e, R_tls.certs_d)
    {
        _cleanup_free_ char *repo = repo_for(e, "tls");
        struct reg_session *s =
            reg_session_new(e->hc, &e->cfg, R_tls.addr, repo, NULL, "pull,push");
        round_trip(e, s, repo); /* https: the first endpoint answers */
        reg_session_free(s);
        /* Verified against the certs.d CA, as for a registry that is not insecure. */
        _cleanup_free_ char *u = xasprintf("https://%s/v2/", R_tls.addr);
        struct resp p = {.e = e};
        struct hreq_spec spec = {
            .url = u, .on_head = p_head, .on_body = p_body, .on_done = p_done, .ctx = &p};
        e->pending++;
        hclient_request(e->hc, &spec);
        env_run(e);
        expect_status(&p, 200, "verified https");
        resp_free(&p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insecure),      cmocka_unit_test(test_auth_decode),
        cmocka_unit_test(test_challenge),     cmocka_unit_test(test_error_words),
        cmocka_unit_test(test_refused),       cmocka_unit_test(test_plain),
        cmocka_unit_test(test_htpasswd),      cmocka_unit_test(test_token_login),
        cmocka_unit_test(test_token_session), cmocka_unit_test(test_tls_registry),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
