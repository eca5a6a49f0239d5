/* fs/manifest.c — manifest parsing with jansson and platform matching after containerd's
 * rules: os and architecture must match; a variant must match when either side names one,
 * with arm64's implied v8. */
#include "fs/manifest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/macros.h"
#include "core/xalloc.h"

const char *manifest_accept(void)
{
    return MT_OCI_INDEX ", " MT_DOCKER_LIST ", " MT_OCI_MANIFEST ", " MT_DOCKER_MANIFEST;
}

static int parse_descriptor(const json_t *j, struct descriptor *d, struct berth_err **err)
{
    const char *mt = json_get_str(j, "mediaType"), *dg = json_get_str(j, "digest");
    if (!digest_valid(dg))
        return berth_user_error(err, EINVAL, "invalid manifest: bad or unsupported digest `%s`",
                                dg ? dg : "");
    d->media_type = xstrdup(mt ? mt : "");
    snprintf(d->digest, sizeof(d->digest), "%s", dg);
    d->size = json_get_int(j, "size", -1);
    json_t *p = json_object_get(j, "platform");
    d->platform = json_is_object(p) ? json_incref(p) : NULL;
    return d->size < 0 ? berth_user_error(err, EINVAL,
                                          "invalid manifest: descriptor %s has no "
                                          "size",
                                          dg)
                       : 0;
}

static int parse_list(const json_t *arr, struct descriptor **out, size_t *n, struct berth_err **err)
{
    size_t i;
    json_t *j;
    *out = xcalloc(json_array_size(arr) + 1, sizeof(**out));
    json_array_foreach(arr, i, j)
    {
        int r = parse_descriptor(j, &(*out)[i], err);
        *n = i + 1;
        if (r < 0)
            return r;
    }
    return 0;
}

static bool is(const char *mt, const char *a, const char *b)
{
    return mt && (strcmp(mt, a) == 0 || (b && strcmp(mt, b) == 0));
}

/* A media type from the Content-Type header, without parameters. */
static char *bare_type(const char *ct)
{
    if (!ct)
        return NULL;
    size_t n = strcspn(ct, "; ");
    return n ? xstrndup(ct, n) : NULL;
}

/* Fill m from the manifest document j; on failure m holds what was parsed so far. */
static int parse_manifest(json_t *j, const char *content_type, struct manifest *m,
                          struct berth_err **err)
{
    char *ct = bare_type(content_type);
    const char *mt = json_get_str(j, "mediaType");
    if (!ct || strcmp(ct, "application/json") == 0 || strcmp(ct, "text/plain") == 0) {
        free(ct);
        ct = xstrdup(mt ? mt : (json_object_get(j, "manifests") ? MT_OCI_INDEX : MT_OCI_MANIFEST));
    }
    m->media_type = ct;
    if (is(ct, MT_DOCKER_SCHEMA1, MT_DOCKER_SCHEMA1_SIGNED) ||
        json_get_int(j, "schemaVersion", 2) == 1)
        return berth_user_error(
            err, EINVAL,
            "Docker Image Format v1 and Docker Image manifest version 2, "
            "schema 1 support has been removed; ask the image's author to "
            "upgrade it to the OCI format or Docker Image manifest v2, schema 2");
    if (is(ct, MT_OCI_INDEX, MT_DOCKER_LIST)) {
        m->kind = MANIFEST_INDEX;
        return parse_list(json_object_get(j, "manifests"), &m->manifests, &m->nmanifests, err);
    }
    if (is(ct, MT_OCI_MANIFEST, MT_DOCKER_MANIFEST)) {
        m->kind = MANIFEST_IMAGE;
        int r = parse_descriptor(json_object_get(j, "config"), &m->config, err);
        if (r < 0)
            return r;
        return parse_list(json_object_get(j, "layers"), &m->layers, &m->nlayers, err);
    }
    return berth_user_error(err, EINVAL, "unsupported manifest media type `%s`", ct);
}

int manifest_parse(const char *body, size_t len, const char *content_type, struct manifest *m,
                   struct berth_err **err)
{
    memset(m, 0, sizeof(*m));
    json_error_t je;
    _cleanup_json_ json_t *j = json_loadb(body, len, 0, &je);
    if (!json_is_object(j))
        return berth_user_error(err, EINVAL, "invalid manifest: %s", je.text);
    int r = parse_manifest(j, content_type, m, err);
    if (r < 0) /* the caller gets nothing half-parsed */
        manifest_free(m);
    return r;
}

static void free_descriptor(struct descriptor *d)
{
    free(d->media_type);
    json_decref(d->platform);
}

void manifest_free(struct manifest *m)
{
    free_descriptor(&m->config);
    for (size_t i = 0; i < m->nlayers; i++)
        free_descriptor(&m->layers[i]);
    for (size_t i = 0; i < m->nmanifests; i++)
        free_descriptor(&m->manifests[i]);
    free(m->layers);
    free(m->manifests);
    free(m->media_type);
    memset(m, 0, sizeof(*m));
}

void platform_host(struct platform *p)
{
    static const char *const map[][3] = {{"x86_64", "amd64", ""}, {"aarch64", "arm64", ""},
                                         {"armv7l", "arm", "v7"}, {"armv6l", "arm", "v6"},
                                         {"i686", "386", ""},     {"ppc64le", "ppc64le", ""},
                                         {"s390x", "s390x", ""},  {"riscv64", "riscv64", ""}};
    struct utsname u;
    uname(&u);
    memset(p, 0, sizeof(*p));
    snprintf(p->os, sizeof(p->os), "linux");
    snprintf(p->arch, sizeof(p->arch), "%.31s", u.machine);
    for (size_t i = 0; i < ARRAY_SIZE(map); i++)
        if (strcmp(u.machine, map[i][0]) == 0) {
            snprintf(p->arch, sizeof(p->arch), "%s", map[i][1]);
            snprintf(p->variant, sizeof(p->variant), "%s", map[i][2]);
        }
}

int platform_parse(const char *s, struct platform *p, struct berth_err **err)
{
    if (!s || !*s) {
        platform_host(p);
        return 0;
    }
    size_t slashes = 0;
    for (const char *c = s; *c; c++)
        slashes += *c == '/';
    if (slashes > 2) /* os/arch/variant at most, as containerd's platforms.Parse */
        return berth_user_error(err, EINVAL, "invalid platform `%s`", s);
    char parts[3][32] = {{0}};
    int n = 0;
    for (const char *c = s; n < 3;) {
        size_t len = strcspn(c, "/");
        if (len == 0 || len >= sizeof(parts[0]))
            return berth_user_error(err, EINVAL, "invalid platform `%s`", s);
        memcpy(parts[n++], c, len);
        if (!c[len])
            break;
        c += len + 1;
    }
    memset(p, 0, sizeof(*p));
    bool has_os = n > 1 || strcmp(parts[0], "linux") == 0 || strcmp(parts[0], "windows") == 0;
    snprintf(p->os, sizeof(p->os), "%s", has_os ? parts[0] : "linux");
    snprintf(p->arch, sizeof(p->arch), "%s", has_os ? parts[1] : parts[0]);
    snprintf(p->variant, sizeof(p->variant), "%s", has_os ? parts[2] : parts[1]);
    if (!p->arch[0]) {
        struct platform host;
        platform_host(&host);
        memcpy(p->arch, host.arch, sizeof(p->arch));
        memcpy(p->variant, host.variant, sizeof(p->variant));
    }
    if (strcmp(p->arch, "x86_64") == 0 || strcmp(p->arch, "x86-64") == 0)
        snprintf(p->arch, sizeof(p->arch), "amd64");
    if (strcmp(p->arch, "aarch64") == 0)
        snprintf(p->arch, sizeof(p->arch), "arm64");
    return 0;
}

void platform_format(const struct platform *p, char *out, size_t len)
{
    snprintf(out, len, "%s/%s%s%s", p->os, p->arch, p->variant[0] ? "/" : "", p->variant);
}

static const char *norm_variant(const char *arch, const char *v)
{
    return (!v || !*v) && strcmp(arch, "arm64") == 0 ? "v8" : (v ? v : "");
}

static bool platform_matches(const json_t *entry, const struct platform *p)
{
    const char *os = json_get_str(entry, "os"), *arch = json_get_str(entry, "architecture");
    if (!os || !arch || strcmp(os, p->os) != 0 || strcmp(arch, p->arch) != 0)
        return false;
    const char *want = norm_variant(p->arch, p->variant);
    const char *have = norm_variant(arch, json_get_str(entry, "variant"));
    return !*want || strcmp(want, have) == 0;
}

int manifest_pick(const struct manifest *index, const struct platform *p,
                  const struct descriptor **out, struct berth_err **err)
{
    for (size_t i = 0; i < index->nmanifests; i++) {
        const struct descriptor *d = &index->manifests[i];
        if (d->platform && platform_matches(d->platform, p) &&
            (is(d->media_type, MT_OCI_MANIFEST, MT_DOCKER_MANIFEST) || !*d->media_type)) {
            *out = d;
            return 0;
        }
    }
    char name[100];
    platform_format(p, name, sizeof(name));
    return berth_user_error(err, ENOENT, "no matching manifest for %s in the manifest list entries",
                            name);
}
