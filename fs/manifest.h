/* fs/manifest.h — OCI and Docker image manifests and indexes (manifest lists): parsing,
 * descriptors, and choosing the entry for a platform, as a pull, push, save or load needs. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/digest.h"
#include "core/err.h"

#define MT_OCI_INDEX             "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST          "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG            "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER_GZIP        "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD        "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_OCI_LAYER             "application/vnd.oci.image.layer.v1.tar"
#define MT_DOCKER_LIST           "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST       "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_SCHEMA1        "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"
#define MT_DOCKER_CONFIG         "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER_GZIP     "application/vnd.docker.image.rootfs.diff.tar.gzip"

enum manifest_kind { MANIFEST_IMAGE, MANIFEST_INDEX };

struct descriptor {
    char *media_type;
    char digest[DIGEST_LEN + 1];
    int64_t size;
    json_t *platform; /* index entries: {"os","architecture","variant"}; NULL otherwise */
};

struct manifest {
    enum manifest_kind kind;
    char *media_type;
    struct descriptor config;  /* images */
    struct descriptor *layers; /* images */
    size_t nlayers;
    struct descriptor *manifests; /* indexes */
    size_t nmanifests;
};

struct platform {
    char os[32], arch[32], variant[32];
};

/* The Accept header a pull sends: every manifest and index type berth can use. */
const char *manifest_accept(void);
/* Parse a manifest or index. content_type (the response's, may be NULL) wins over the body's
 * mediaType. Schema 1 and unknown types are refused with a clear EINVAL. */
int manifest_parse(const char *body, size_t len, const char *content_type, struct manifest *m,
                   struct berth_err **err);
void manifest_free(struct manifest *m);

/* "linux/amd64", "linux/arm64/v8", "amd64" (os defaults to linux); NULL or "" → the host. */
int platform_parse(const char *s, struct platform *p, struct berth_err **err);
void platform_host(struct platform *p);
/* "linux/amd64" or "linux/arm/v7" into out. */
void platform_format(const struct platform *p, char *out, size_t len);
/* The index entry for the platform, or ENOENT with Docker's words
 * ("no matching manifest for linux/amd64 in the manifest list entries"). */
int manifest_pick(const struct manifest *index, const struct platform *p,
                  const struct descriptor **out, struct berth_err **err);
