/* tests/fs/test_ref.c — fs/ref.c against the behaviour of distribution/reference v0.6 and
 * dockerd: tables of inputs with the normalised result or Docker's exact error words. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "fs/ref.h"

#define HEX       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DGST      "sha256:" HEX
#define HEX32     "0123456789abcdef0123456789abcdef"
#define HEX_UPPER "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"

static char *repeat(char c, size_t n)
{
    char *s = xmalloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

struct ok_case {
    const char *in;
    unsigned flags;
    const char *domain, *path, *tag, *digest; /* tag/digest NULL when absent */
    const char *full, *familiar;
};

static const struct ok_case ok_cases[] = {
    {"busybox", 0, "docker.io", "library/busybox", "latest", NULL,
     "docker.io/library/busybox:latest", "busybox:latest"},
    {"busybox", REF_NO_DEFAULT_TAG, "docker.io", "library/busybox", NULL, NULL,
     "docker.io/library/busybox", "busybox"},
    {"busybox:1.36", 0, "docker.io", "library/busybox", "1.36", NULL,
     "docker.io/library/busybox:1.36", "busybox:1.36"},
    {"library/busybox", 0, "docker.io", "library/busybox", "latest", NULL,
     "docker.io/library/busybox:latest", "busybox:latest"},
    {"docker.io/busybox", 0, "docker.io", "library/busybox", "latest", NULL,
     "docker.io/library/busybox:latest", "busybox:latest"},
    {"docker.io/library/busybox:musl", 0, "docker.io", "library/busybox", "musl", NULL,
     "docker.io/library/busybox:musl", "busybox:musl"},
    {"index.docker.io/x", 0, "docker.io", "library/x", "latest", NULL, "docker.io/library/x:latest",
     "x:latest"},
    {"index.docker.io/ns/img:v1", 0, "docker.io", "ns/img", "v1", NULL, "docker.io/ns/img:v1",
     "ns/img:v1"},
    {"ns/img:tag", 0, "docker.io", "ns/img", "tag", NULL, "docker.io/ns/img:tag", "ns/img:tag"},
    {"docker.io/library/a/b", 0, "docker.io", "library/a/b", "latest", NULL,
     "docker.io/library/a/b:latest", "library/a/b:latest"},
    {"a/b/c/d", 0, "docker.io", "a/b/c/d", "latest", NULL, "docker.io/a/b/c/d:latest",
     "a/b/c/d:latest"},
    {"host:5000/ns/name:tag", 0, "host:5000", "ns/name", "tag", NULL, "host:5000/ns/name:tag",
     "host:5000/ns/name:tag"},
    {"registry.example.com/team/app:1.0", 0, "registry.example.com", "team/app", "1.0", NULL,
     "registry.example.com/team/app:1.0", "registry.example.com/team/app:1.0"},
    {"localhost/x", 0, "localhost", "x", "latest", NULL, "localhost/x:latest",
     "localhost/x:latest"},
    {"localhost:5000/x", 0, "localhost:5000", "x", "latest", NULL, "localhost:5000/x:latest",
     "localhost:5000/x:latest"},
    /* A single component is always a Docker Hub name, even one that looks like a host. */
    {"localhost", 0, "docker.io", "library/localhost", "latest", NULL,
     "docker.io/library/localhost:latest", "localhost:latest"},
    {"localhost:5000", 0, "docker.io", "library/localhost", "5000", NULL,
     "docker.io/library/localhost:5000", "localhost:5000"},
    {"127.0.0.1:5000/x:v1", 0, "127.0.0.1:5000", "x", "v1", NULL, "127.0.0.1:5000/x:v1",
     "127.0.0.1:5000/x:v1"},
    {"10.0.0.1/ns/x", 0, "10.0.0.1", "ns/x", "latest", NULL, "10.0.0.1/ns/x:latest",
     "10.0.0.1/ns/x:latest"},
    {"[::1]:5000/x", 0, "[::1]:5000", "x", "latest", NULL, "[::1]:5000/x:latest",
     "[::1]:5000/x:latest"},
    {"[2001:db8::1]/x:y", 0, "[2001:db8::1]", "x", "y", NULL, "[2001:db8::1]/x:y",
     "[2001:db8::1]/x:y"},
    /* An uppercase first component can only be a domain. */
    {"Example/foo", 0, "Example", "foo", "latest", NULL, "Example/foo:latest",
     "Example/foo:latest"},
    {"my-registry/foo", 0, "docker.io", "my-registry/foo", "latest", NULL,
     "docker.io/my-registry/foo:latest", "my-registry/foo:latest"},
    /* "." makes it a domain candidate, "_" makes it no domain: the whole name is the path. */
    {"foo_bar.com/x", 0, "", "foo_bar.com/x", "latest", NULL, "foo_bar.com/x:latest",
     "foo_bar.com/x:latest"},
    {"name@" DGST, 0, "docker.io", "library/name", NULL, DGST, "docker.io/library/name@" DGST,
     "name@" DGST},
    {"ns/img@" DGST, 0, "docker.io", "ns/img", NULL, DGST, "docker.io/ns/img@" DGST,
     "ns/img@" DGST},
    {"name:tag@" DGST, 0, "docker.io", "library/name", "tag", DGST,
     "docker.io/library/name:tag@" DGST, "name:tag@" DGST},
    {"name:tag@" DGST, REF_FAVOR_DIGEST, "docker.io", "library/name", NULL, DGST,
     "docker.io/library/name@" DGST, "name@" DGST},
    {"name", REF_FAVOR_DIGEST, "docker.io", "library/name", "latest", NULL,
     "docker.io/library/name:latest", "name:latest"},
    {"127.0.0.1:5000/ns/x:v1@" DGST, 0, "127.0.0.1:5000", "ns/x", "v1", DGST,
     "127.0.0.1:5000/ns/x:v1@" DGST, "127.0.0.1:5000/ns/x:v1@" DGST},
    /* A 64-hex string with a name in front is a fine tag. */
    {"sha256:" HEX, 0, "docker.io", "library/sha256", HEX, NULL, "docker.io/library/sha256:" HEX,
     "sha256:" HEX},
    /* Separators: one ".", one or two "_", any run of "-". */
    {"a.b_c__d---e-f", 0, "docker.io", "library/a.b_c__d---e-f", "latest", NULL,
     "docker.io/library/a.b_c__d---e-f:latest", "a.b_c__d---e-f:latest"},
    {"x/a0.b1/c-2", 0, "docker.io", "x/a0.b1/c-2", "latest", NULL, "docker.io/x/a0.b1/c-2:latest",
     "x/a0.b1/c-2:latest"},
    {"busybox:_X.y-Z", 0, "docker.io", "library/busybox", "_X.y-Z", NULL,
     "docker.io/library/busybox:_X.y-Z", "busybox:_X.y-Z"},
};

static void check_str(const char *got, const char *want, const char *in, const char *field)
{
    if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0))
        fail_msg("%s: %s = \"%s\", want \"%s\"", in, field, got ? got : "(null)",
                 want ? want : "(null)");
}

static void test_parse_ok(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(ok_cases); i++) {
        const struct ok_case *c = &ok_cases[i];
        struct berth_err *err = NULL;
        _cleanup_ref_ struct image_ref r;
        int rc = ref_parse(c->in, c->flags, &r, &err);
        if (rc != 0)
            fail_msg("%s: rc %d: %s", c->in, rc, err ? err->msg : "(no words)");
        check_str(r.domain, c->domain, c->in, "domain");
        check_str(r.path, c->path, c->in, "path");
        check_str(r.tag, c->tag, c->in, "tag");
        check_str(r.digest, c->digest, c->in, "digest");
        _cleanup_free_ char *full = ref_full(&r);
        _cleanup_free_ char *fam = ref_familiar(&r);
        check_str(full, c->full, c->in, "full");
        check_str(fam, c->familiar, c->in, "familiar");
        assert_null(err);
    }
}

struct err_case {
    const char *in;
    const char *msg;
};

static const struct err_case err_cases[] = {
    {"", "invalid reference format"},
    {HEX, "invalid repository name (" HEX "), cannot specify 64-byte hexadecimal strings"},
    {"Foo", "invalid reference format: repository name (library/Foo) must be lowercase"},
    {"ns/Foo:tag", "invalid reference format: repository name (ns/Foo) must be lowercase"},
    {"localhost:5000/Foo", "invalid reference format: repository name (Foo) must be lowercase"},
    {"docker.io/Foo", "invalid reference format: repository name (library/Foo) must be lowercase"},
    {HEX_UPPER,
     "invalid reference format: repository name (library/" HEX_UPPER ") must be lowercase"},
    /* Everything before the first ":" counts as the repository, digest algorithm included. */
    {"name@SHA256:" HEX,
     "invalid reference format: repository name (library/name@SHA256) must be lowercase"},
    /* Non-ASCII: Go lowercases Unicode and turns invalid UTF-8 into U+FFFD. */
    {"\xc3\x89"
     "busybox",
     "invalid reference format: repository name (library/\xc3\x89"
     "busybox) must be lowercase"},
    {"\xff"
     "busybox",
     "invalid reference format: repository name (library/\xff"
     "busybox) must be lowercase"},
    {"\xc3\xa9"
     "busybox",
     "invalid reference format"},
    /* Uppercase where the repository check does not look, valid once lowercased. */
    {"Ex_ample.com/foo", "repository name must be lowercase"},
    {"\xe2\x84\xaa.com/foo", "repository name must be lowercase"}, /* KELVIN SIGN → k */
    /* Tags */
    {"busybox:", "invalid reference format"},
    {"busybox:-x", "invalid reference format"},
    {"busybox:.x", "invalid reference format"},
    {"busybox:a/b", "invalid reference format"},
    {"busybox:bad!tag", "invalid reference format"},
    {"busybox:latest:x", "invalid reference format"},
    {"busybox:@" DGST, "invalid reference format"},
    /* Separators and components */
    {"a___b", "invalid reference format"},
    {"a..b", "invalid reference format"},
    {"a._b", "invalid reference format"},
    {"a_-b", "invalid reference format"},
    {"-a", "invalid reference format"},
    {"a-", "invalid reference format"},
    {"a_", "invalid reference format"},
    {".a", "invalid reference format"},
    {"a/", "invalid reference format"},
    {"/a", "invalid reference format"},
    {"a//b", "invalid reference format"},
    {"ns/a b", "invalid reference format"},
    /* Domains */
    {"host:port/x", "invalid reference format"},
    {"-host.com/x", "invalid reference format"},
    {"host-.com/x", "invalid reference format"},
    {"[::1]:5000", "invalid reference format"},
    {"[]:5000/x", "invalid reference format"},
    {"[::1/x", "invalid reference format"},
    {"[zz::1]/x", "invalid reference format"},
    {"host.com:/x", "invalid reference format"},
    /* Digests */
    {"name@sha256:abc", "invalid reference format"},
    {"name@", "invalid reference format"},
    {"name@@" DGST, "invalid reference format"},
    {"name@" DGST "@" DGST, "invalid reference format"},
    {"name@sha256:" HEX "0", "invalid checksum digest length"},
    {"name@sha256:" HEX32, "invalid checksum digest length"},
    {"name@sha256:" HEX_UPPER, "invalid checksum digest format"},
    {"name:tag@Sha256:" HEX, "invalid checksum digest format"},
    {"name@md5:" HEX32, "unsupported digest algorithm"},
    {"name@sha256+b64:" HEX, "unsupported digest algorithm"},
    /* berth verifies sha256 only (dockerd would accept these two). */
    {"name@sha384:" HEX HEX32, "unsupported digest algorithm"},
    {"name@sha512:" HEX HEX, "unsupported digest algorithm"},
    {"name@sha512:" HEX, "invalid checksum digest length"},
};

static void expect_error(int rc, struct berth_err *err, int status, const char *in, const char *msg)
{
    if (rc >= 0)
        fail_msg("%s: parsed, want error \"%s\"", in, msg);
    if (!err)
        fail_msg("%s: no words, want \"%s\"", in, msg);
    check_str(err->msg, msg, in, "error");
    if (err->status != status)
        fail_msg("%s: status %d, want %d", in, err->status, status);
    assert_int_equal(rc, -status - 1);
}

static void test_parse_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(err_cases); i++) {
        const struct err_case *c = &err_cases[i];
        _cleanup_err_ struct berth_err *err = NULL;
        struct image_ref r;
        int rc = ref_parse(c->in, 0, &r, &err);
        expect_error(rc, err, EINVAL, c->in, c->msg);
        assert_null(r.domain); /* zeroed on failure, so ref_free is harmless */
        ref_free(&r);
    }
}

/* Lengths: the limit is on the path (with "library/"), not on the whole name. */
static void test_parse_lengths(void **state)
{
    (void)state;
    _cleanup_free_ char *a247 = repeat('a', 247), *a248 = repeat('a', 248);
    _cleanup_free_ char *a252 = repeat('a', 252), *a253 = repeat('a', 253);
    _cleanup_free_ char *t128 = repeat('t', 128), *t129 = repeat('t', 129);
    _cleanup_free_ char *fits = xasprintf("registry.example.com:5000/ns/%s", a252);
    _cleanup_free_ char *long_ns = xasprintf("ns/%s", a253);
    _cleanup_free_ char *long_tag = xasprintf("busybox:%s", t128);
    _cleanup_free_ char *too_long_tag = xasprintf("busybox:%s", t129);
    const char *ok[] = {a247, fits, long_tag};
    for (size_t i = 0; i < 3; i++) {
        _cleanup_ref_ struct image_ref r;
        _cleanup_err_ struct berth_err *err = NULL;
        if (ref_parse(ok[i], 0, &r, &err) != 0)
            fail_msg("%.20s…: %s", ok[i], err->msg);
    }
    const char *bad[] = {a248, long_ns};
    for (size_t i = 0; i < 2; i++) {
        _cleanup_err_ struct berth_err *err = NULL;
        struct image_ref r;
        int rc = ref_parse(bad[i], 0, &r, &err); /* before reading err: argument order */
        expect_error(rc, err, EINVAL, bad[i],
                     "repository name must not be more than 255 characters");
    }
    _cleanup_err_ struct berth_err *err = NULL;
    struct image_ref r;
    int rc = ref_parse(too_long_tag, 0, &r, &err);
    expect_error(rc, err, EINVAL, "long tag", "invalid reference format");
}

static void test_parse_null_err(void **state)
{
    (void)state;
    struct image_ref r;
    assert_true(ref_parse("Foo", 0, &r, NULL) < 0);
    assert_true(ref_parse(NULL, 0, &r, NULL) < 0);
}

struct render_case {
    const char *in;
    const char *name, *familiar_name, *registry_host;
};

static const struct render_case render_cases[] = {
    {"busybox", "docker.io/library/busybox", "busybox", "registry-1.docker.io"},
    {"ns/img@" DGST, "docker.io/ns/img", "ns/img", "registry-1.docker.io"},
    {"docker.io/library/a/b", "docker.io/library/a/b", "library/a/b", "registry-1.docker.io"},
    {"127.0.0.1:5000/x:v1", "127.0.0.1:5000/x", "127.0.0.1:5000/x", "127.0.0.1:5000"},
    {"localhost/library/x", "localhost/library/x", "localhost/library/x", "localhost"},
    {"[::1]:5000/x", "[::1]:5000/x", "[::1]:5000/x", "[::1]:5000"},
    {"gcr.io/proj/img", "gcr.io/proj/img", "gcr.io/proj/img", "gcr.io"},
};

static void test_render(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(render_cases); i++) {
        const struct render_case *c = &render_cases[i];
        _cleanup_ref_ struct image_ref r;
        assert_int_equal(ref_parse(c->in, 0, &r, NULL), 0);
        _cleanup_free_ char *name = ref_name(&r), *fam = ref_familiar_name(&r);
        check_str(name, c->name, c->in, "name");
        check_str(fam, c->familiar_name, c->in, "familiar name");
        check_str(ref_registry_host(&r), c->registry_host, c->in, "registry host");
    }
}

static void test_tag_valid(void **state)
{
    (void)state;
    _cleanup_free_ char *t128 = repeat('x', 128), *t129 = repeat('x', 129);
    const char *good[] = {"latest", "_", "A", "9", "v1.2.3-rc_1", "a-", "a.", t128};
    const char *bad[] = {"", "-a", ".a", "a:b", "a/b", "a@b", "a b", "\xc3\xa9", t129};
    for (size_t i = 0; i < ARRAY_SIZE(good); i++)
        if (!ref_tag_valid(good[i]))
            fail_msg("tag \"%s\" should be valid", good[i]);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        if (ref_tag_valid(bad[i]))
            fail_msg("tag \"%s\" should be invalid", bad[i]);
    assert_false(ref_tag_valid(NULL));
}

struct param_case {
    const char *image, *tag;
    int rc;          /* expected return, or -1 for an error */
    const char *out; /* ref_full, or the error words */
    int status;
};

static const struct param_case pull_cases[] = {
    {"busybox", "latest", 0, "docker.io/library/busybox:latest", 0},
    {"busybox", "", 0, "docker.io/library/busybox", 0}, /* every tag */
    {"busybox:", "", 0, "docker.io/library/busybox", 0},
    {"busybox:1.36", "", 0, "docker.io/library/busybox:1.36", 0},
    {"busybox:1.36", "musl", 0, "docker.io/library/busybox:musl", 0},
    {"busybox", DGST, 0, "docker.io/library/busybox@" DGST, 0},
    {"busybox:1@" DGST, "v2", 0, "docker.io/library/busybox:v2@" DGST, 0},
    {"127.0.0.1:5000/x", "v1", 0, "127.0.0.1:5000/x:v1", 0},
    {"busybox", "bad tag", -1, "invalid tag format", EINVAL},
    {"busybox", "sha256:abc", -1, "invalid tag format", EINVAL},
    {"busybox", "sha512:" HEX HEX, -1, "unsupported digest algorithm", EINVAL},
    {"busybox::", "", -1, "invalid reference format", EINVAL},
    {"Foo", "", -1, "invalid reference format: repository name (library/Foo) must be lowercase",
     EINVAL},
    {"scratch", "latest", -1, "'scratch' is a reserved name", EACCES},
    {"docker.io/library/scratch", "", -1, "'scratch' is a reserved name", EACCES},
    {"", "", -1, "invalid reference format", EINVAL},
};

static const struct param_case repo_tag_cases[] = {
    {"", "x", 0, NULL, 0},
    {NULL, NULL, 0, NULL, 0},
    {"myimg", "", 1, "docker.io/library/myimg:latest", 0},
    {"myimg", NULL, 1, "docker.io/library/myimg:latest", 0},
    {"myimg", "v1", 1, "docker.io/library/myimg:v1", 0},
    {"myimg:old", "new", 1, "docker.io/library/myimg:new", 0},
    {"myimg:old", "", 1, "docker.io/library/myimg:old", 0},
    {"localhost:5000/ns/x", "t", 1, "localhost:5000/ns/x:t", 0},
    {"myimg@" DGST, "", -1, "cannot import digest reference", EINVAL},
    {"myimg:t@" DGST, "v1", -1, "cannot import digest reference", EINVAL},
    {"myimg", "bad:tag", -1, "invalid tag format", EINVAL},
    {"sha256", "x", -1, "refusing to create an ambiguous tag using digest algorithm as name",
     EINVAL},
    {"docker.io/library/sha256", "", -1,
     "refusing to create an ambiguous tag using digest algorithm as name", EINVAL},
    {"Upper", "", -1, "invalid reference format: repository name (library/Upper) must be lowercase",
     EINVAL},
};

static void run_param_cases(const struct param_case *cases, size_t n, bool pull)
{
    for (size_t i = 0; i < n; i++) {
        const struct param_case *c = &cases[i];
        _cleanup_err_ struct berth_err *err = NULL;
        _cleanup_ref_ struct image_ref r;
        int rc = pull ? ref_parse_pull(c->image, c->tag, &r, &err)
                      : ref_parse_repo_tag(c->image, c->tag, &r, &err);
        const char *in = c->image ? c->image : "(null)";
        if (c->rc < 0) {
            expect_error(rc, err, c->status, in, c->out);
            assert_null(r.path);
            continue;
        }
        if (rc != c->rc)
            fail_msg("%s + %s: rc %d, want %d (%s)", in, c->tag ? c->tag : "(null)", rc, c->rc,
                     err ? err->msg : "");
        _cleanup_free_ char *full = r.path ? ref_full(&r) : NULL;
        check_str(full, c->out, in, "full");
    }
}

static void test_parse_pull(void **state)
{
    (void)state;
    run_param_cases(pull_cases, ARRAY_SIZE(pull_cases), true);
}

static void test_parse_repo_tag(void **state)
{
    (void)state;
    run_param_cases(repo_tag_cases, ARRAY_SIZE(repo_tag_cases), false);
}

static void test_check_tag_name(void **state)
{
    (void)state;
    _cleanup_ref_ struct image_ref hub, other;
    assert_int_equal(ref_parse("sha256:" HEX, 0, &hub, NULL), 0);
    assert_true(ref_check_tag_name(&hub, NULL) < 0);
    /* Only the familiar name "sha256" is ambiguous; under a registry or namespace it is not. */
    assert_int_equal(ref_parse("localhost:5000/sha256", 0, &other, NULL), 0);
    assert_int_equal(ref_check_tag_name(&other, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),       cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_lengths),  cmocka_unit_test(test_parse_null_err),
        cmocka_unit_test(test_render),         cmocka_unit_test(test_tag_valid),
        cmocka_unit_test(test_parse_pull),     cmocka_unit_test(test_parse_repo_tag),
        cmocka_unit_test(test_check_tag_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
