/* fs/ref.h — Docker image references: parsing and normalisation exactly as the docker CLI and
 * dockerd do it (busybox → docker.io/library/busybox:latest), with their error wording. */
#pragma once

#include <stdbool.h>

#include "core/err.h"

struct image_ref {
    char *domain; /* "docker.io", "127.0.0.1:5000", "localhost:5000", "gcr.io" */
    char *path;   /* "library/busybox", "ns/img" */
    char *tag;    /* "latest"; NULL when a digest was given without a tag (or REF_NO_DEFAULT_TAG) */
    char *digest; /* "sha256:<hex>" or NULL */
};

enum {
    REF_NO_DEFAULT_TAG = 1, /* do not add ":latest" when neither tag nor digest is given */
};

/* Parse and normalise. Errors are EINVAL with Docker's words, e.g. "invalid reference format",
 * "invalid reference format: repository name (library/Foo) must be lowercase". */
int ref_parse(const char *s, unsigned flags, struct image_ref *out, struct berth_err **err);
void ref_free(struct image_ref *r);

/* Renderings (heap strings):                    for docker.io/library/busybox:latest  */
char *ref_name(const struct image_ref *r);          /* docker.io/library/busybox        */
char *ref_full(const struct image_ref *r);          /* docker.io/library/busybox:latest (and/or @digest) */
char *ref_familiar_name(const struct image_ref *r); /* busybox                          */
char *ref_familiar(const struct image_ref *r);      /* busybox:latest (and/or @digest)  */

/* The host to contact for the domain: docker.io → registry-1.docker.io. */
const char *ref_registry_host(const struct image_ref *r);
/* True if s is a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}). */
bool ref_tag_valid(const char *s);
