/* tests/fs/test_manifest.c — fs/manifest.c: OCI and Docker manifests and indexes (the media
 * type from the response header or the body), schema 1 refused in words a user can act on,
 * malformed descriptors, platform strings, and picking an index entry as Docker does
 * (arm64's implied v8; "no matching manifest for ..." otherwise). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "core/macros.h"
#include "fs/manifest.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static const char oci_manifest[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\","
    "\"config\":{\"mediaType\":\"" MT_OCI_CONFIG "\",\"digest\":\"" D1 "\",\"size\":123},"
    "\"layers\":[{\"mediaType\":\"" MT_OCI_LAYER_GZIP "\",\"digest\":\"" D2 "\",\"size\":4567},"
    "{\"mediaType\":\"" MT_OCI_LAYER_ZSTD "\",\"digest\":\"" D3 "\",\"size\":0}]}";

static void expect_parse_error(const char *body, const char *ct, const char *words)
{
    struct manifest m;
    _cleanup_err_ struct berth_err *err = NULL;
    int r = manifest_parse(body, strlen(body), ct, &m, &err);
    if (r >= 0)
        fail_msg("parsed: %s", body);
    assert_int_equal(r, -EINVAL - 1);
    assert_int_equal(err->status, EINVAL);
    if (!strstr(err->msg, words))
        fail_msg("\"%s\" lacks \"%s\"", err->msg, words);
    assert_null(m.layers); /* freed and zeroed on failure */
    assert_null(m.manifests);
    assert_null(m.media_type);
}

static void test_image_manifest(void **state)
{
    (void)state;
    struct manifest m;
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(manifest_parse(oci_manifest, strlen(oci_manifest), NULL, &m, &err), 0);
    assert_int_equal(m.kind, MANIFEST_IMAGE);
    assert_string_equal(m.media_type, MT_OCI_MANIFEST);
    assert_string_equal(m.config.digest, D1);
    assert_string_equal(m.config.media_type, MT_OCI_CONFIG);
    assert_int_equal(m.config.size, 123);
    assert_int_equal(m.nlayers, 2);
    assert_string_equal(m.layers[0].digest, D2);
    assert_int_equal(m.layers[0].size, 4567);
    assert_string_equal(m.layers[1].media_type, MT_OCI_LAYER_ZSTD);
    assert_int_equal(m.layers[1].size, 0);
    assert_null(m.layers[0].platform);
    assert_int_equal(m.nmanifests, 0);
    manifest_free(&m);
    manifest_free(&m); /* zeroed: a second free is harmless */

    /* Docker's type from the header (with parameters), body without mediaType */
    const char *docker = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MT_DOCKER_CONFIG
                         "\",\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}";
    assert_int_equal(
        manifest_parse(docker, strlen(docker), MT_DOCKER_MANIFEST "; charset=utf-8", &m, &err), 0);
    assert_string_equal(m.media_type, MT_DOCKER_MANIFEST);
    assert_int_equal(m.kind, MANIFEST_IMAGE);
    assert_int_equal(m.nlayers, 0);
    manifest_free(&m);
    /* a generic header says nothing: the body's type counts; with none, the shape decides */
    assert_int_equal(
        manifest_parse(oci_manifest, strlen(oci_manifest), "application/json", &m, &err), 0);
    assert_string_equal(m.media_type, MT_OCI_MANIFEST);
    manifest_free(&m);
    const char *bare = "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1}}";
    assert_int_equal(manifest_parse(bare, strlen(bare), "text/plain", &m, &err), 0);
    assert_string_equal(m.media_type, MT_OCI_MANIFEST);
    assert_string_equal(m.config.media_type, "");
    manifest_free(&m);
    /* the header wins over the body (as the contract says): an index with no entries */
    assert_int_equal(manifest_parse(oci_manifest, strlen(oci_manifest), MT_OCI_INDEX, &m, &err), 0);
    assert_int_equal(m.kind, MANIFEST_INDEX);
    assert_int_equal(m.nmanifests, 0);
    manifest_free(&m);
}

static const char index_body[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":["
    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":10,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":11,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}},"
    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" D3 "\",\"size\":12,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":13,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" D3 "\",\"size\":14,"
    "\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"},"
    "\"annotations\":{\"vnd.docker.reference.type\":\"attestation-manifest\"}},"
    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":15,"
    "\"platform\":{\"os\":\"windows\",\"architecture\":\"amd64\"}},"
    "{\"mediaType\":\"" MT_OCI_INDEX "\",\"digest\":\"" D2 "\",\"size\":16,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"s390x\"}}"
    "]}";

static void parse_index(const char *body, const char *ct, struct manifest *m)
{
    _cleanup_err_ struct berth_err *err = NULL;
    if (manifest_parse(body, strlen(body), ct, m, &err) < 0)
        fail_msg("%s", err->msg);
    assert_int_equal(m->kind, MANIFEST_INDEX);
}

static void test_index(void **state)
{
    (void)state;
    struct manifest m;
    parse_index(index_body, NULL, &m);
    assert_string_equal(m.media_type, MT_OCI_INDEX);
    assert_int_equal(m.nmanifests, 7);
    assert_string_equal(m.manifests[1].digest, D2);
    assert_int_equal(m.manifests[1].size, 11);
    assert_non_null(m.manifests[1].platform);
    assert_string_equal(json_string_value(json_object_get(m.manifests[1].platform, "variant")),
                        "v6");
    manifest_free(&m);
    /* a Docker list, and an index told only by its shape */
    const char *list = "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" D1 "\",\"size\":1,"
                       "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
    parse_index(list, MT_DOCKER_LIST, &m);
    assert_string_equal(m.media_type, MT_DOCKER_LIST);
    manifest_free(&m);
    parse_index(list, NULL, &m);
    assert_string_equal(m.media_type, MT_OCI_INDEX);
    assert_int_equal(m.nmanifests, 1);
    assert_string_equal(m.manifests[0].media_type, "");
    manifest_free(&m);
}

static void test_refused(void **state)
{
    (void)state;
    const char *v1 = "{\"schemaVersion\":1,\"name\":\"x\",\"tag\":\"latest\",\"fsLayers\":[]}";
    const char *words = "schema 1 support has been removed";
    expect_parse_error(v1, NULL, words);
    expect_parse_error(v1, "application/json", words);
    expect_parse_error(v1, MT_DOCKER_SCHEMA1_SIGNED, words);
    expect_parse_error("{}", MT_DOCKER_SCHEMA1, words);
    expect_parse_error(oci_manifest, "application/vnd.example.unknown+json",
                       "unsupported manifest media type `application/vnd.example.unknown+json`");
    expect_parse_error("{\"mediaType\":\"text/html\"}", NULL, "unsupported manifest media type");
    expect_parse_error("not json", NULL, "invalid manifest");
    expect_parse_error("[1,2]", NULL, "invalid manifest");
    expect_parse_error("", NULL, "invalid manifest");
    expect_parse_error("{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"config\":{\"digest\":\"md5:00\","
                       "\"size\":1}}",
                       NULL, "bad or unsupported digest `md5:00`");
    expect_parse_error("{\"mediaType\":\"" MT_OCI_MANIFEST "\"}", NULL,
                       "bad or unsupported digest");
    expect_parse_error("{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"config\":{\"digest\":\"" D1
                       "\",\"size\":1},\"layers\":[{\"digest\":\"" D2 "\"}]}",
                       NULL, "descriptor " D2 " has no size");
    expect_parse_error("{\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":[{\"digest\":\"" D1
                       "\",\"size\":1},{\"digest\":\"sha256:xyz\",\"size\":1}]}",
                       NULL, "bad or unsupported digest `sha256:xyz`");
    const char *accept = manifest_accept();
    assert_non_null(strstr(accept, MT_OCI_INDEX));
    assert_non_null(strstr(accept, MT_DOCKER_LIST));
    assert_non_null(strstr(accept, MT_OCI_MANIFEST));
    assert_non_null(strstr(accept, MT_DOCKER_MANIFEST));
    assert_null(strstr(accept, "distribution.manifest.v1"));
}

struct platform_case {
    const char *in, *os, *arch, *variant; /* arch NULL: the host's */
};

static void test_platform_parse(void **state)
{
    (void)state;
    static const struct platform_case cases[] = {
        {"linux/amd64", "linux", "amd64", ""},   {"linux/arm64/v8", "linux", "arm64", "v8"},
        {"linux/arm/v7", "linux", "arm", "v7"},  {"amd64", "linux", "amd64", ""},
        {"arm64", "linux", "arm64", ""},         {"windows/amd64", "windows", "amd64", ""},
        {"linux/x86_64", "linux", "amd64", ""},  {"x86-64", "linux", "amd64", ""},
        {"linux/aarch64", "linux", "arm64", ""}, {"linux/riscv64", "linux", "riscv64", ""},
        {"linux", "linux", NULL, NULL},
    };
    struct platform host;
    platform_host(&host);
    assert_string_equal(host.os, "linux");
    assert_true(host.arch[0] != '\0');
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct platform p;
        _cleanup_err_ struct berth_err *err = NULL;
        if (platform_parse(cases[i].in, &p, &err) < 0)
            fail_msg("%s: %s", cases[i].in, err->msg);
        const char *arch = cases[i].arch ? cases[i].arch : host.arch;
        const char *variant = cases[i].variant ? cases[i].variant : host.variant;
        if (strcmp(p.os, cases[i].os) || strcmp(p.arch, arch) || strcmp(p.variant, variant))
            fail_msg("%s: %s/%s/%s", cases[i].in, p.os, p.arch, p.variant);
    }
    struct platform p;
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(platform_parse(NULL, &p, &err), 0);
    assert_memory_equal(&p, &host, sizeof(p));
    assert_int_equal(platform_parse("", &p, &err), 0);
    assert_memory_equal(&p, &host, sizeof(p));
    char big[64];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    const char *bad[] = {"/amd64", "linux/", "linux//v7", "linux/arm/v7/extra", "a/b/c/d", big};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        if (platform_parse(bad[i], &p, &err) >= 0)
            fail_msg("\"%s\" parsed as %s/%s/%s", bad[i], p.os, p.arch, p.variant);
        assert_int_equal(err->status, EINVAL);
        assert_non_null(strstr(err->msg, "invalid platform"));
    }
    char out[100];
    platform_format(&(struct platform){"linux", "amd64", ""}, out, sizeof(out));
    assert_string_equal(out, "linux/amd64");
    platform_format(&(struct platform){"linux", "arm", "v7"}, out, sizeof(out));
    assert_string_equal(out, "linux/arm/v7");
}

static const struct descriptor *pick(const struct manifest *m, const char *platform,
                                     struct berth_err **err)
{
    struct platform p;
    assert_int_equal(platform_parse(platform, &p, err), 0);
    const struct descriptor *d = NULL;
    return manifest_pick(m, &p, &d, err) < 0 ? NULL : d;
}

static void test_pick(void **state)
{
    (void)state;
    struct manifest m;
    parse_index(index_body, NULL, &m);
    _cleanup_err_ struct berth_err *err = NULL;
    const struct descriptor *d = pick(&m, "linux/amd64", &err);
    assert_non_null(d);
    assert_int_equal(d->size, 10);
    assert_int_equal(pick(&m, "linux/arm/v7", &err)->size, 12);
    assert_int_equal(pick(&m, "linux/arm/v6", &err)->size, 11);
    /* arm64 means v8, whichever side leaves it out */
    assert_int_equal(pick(&m, "linux/arm64", &err)->size, 13);
    assert_int_equal(pick(&m, "linux/arm64/v8", &err)->size, 13);
    assert_int_equal(pick(&m, "arm64", &err)->size, 13);
    assert_int_equal(pick(&m, "windows/amd64", &err)->size, 15);
    assert_null(pick(&m, "linux/arm64/v9", &err));
    /* an entry that is itself an index is not an image to pull */
    assert_null(pick(&m, "linux/s390x", &err));
    assert_int_equal(err->status, ENOENT);
    assert_string_equal(err->msg,
                        "no matching manifest for linux/s390x in the manifest list entries");
    assert_null(pick(&m, "linux/riscv64", &err));
    assert_int_equal(err->status, ENOENT);
    assert_string_equal(err->msg,
                        "no matching manifest for linux/riscv64 in the manifest list entries");
    assert_null(pick(&m, "linux/arm/v5", &err));
    assert_string_equal(err->msg,
                        "no matching manifest for linux/arm/v5 in the manifest list entries");
    manifest_free(&m);
    /* an arm64 entry without a variant answers arm64/v8 */
    const char *plain_arm64 =
        "{\"manifests\":[{\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"digest\":\"" D1 "\","
        "\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}}]}";
    parse_index(plain_arm64, MT_DOCKER_LIST, &m);
    assert_non_null(pick(&m, "linux/arm64/v8", &err));
    assert_non_null(pick(&m, "linux/arm64", &err));
    assert_null(pick(&m, "linux/amd64", &err));
    manifest_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_image_manifest), cmocka_unit_test(test_index),
        cmocka_unit_test(test_refused),        cmocka_unit_test(test_platform_parse),
        cmocka_unit_test(test_pick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
