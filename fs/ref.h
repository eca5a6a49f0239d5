/* fs/ref.h — Docker image references: parsing and normalisation exactly as the docker CLI and
 * dockerd do it (busybox → docker.io/library/busybox:latest), with their error wording. */
#pragma once

#include <stdbool.h>

#include "core/err.h"

struct image_ref {
    char *domain; /* "docker.io", "127.0.0.1:5000", "localhost:5000", "[::1]:5000", "gcr.io" */
    char *path;   /* "library/busybox", "ns/img" */
    char *tag;    /* "latest"; NULL when a digest was given without a tag (or REF_NO_DEFAULT_TAG) */
    char *digest; /* "sha256:<hex>" or NULL */
};

enum {
    REF_NO_DEFAULT_TAG = 1, /* do not add ":latest" when neither tag nor digest is given */
    REF_FAVOR_DIGEST = 2,   /* ParseDockerRef: with both a tag and a digest, keep the digest only */
};

/* Parse and normalise. Errors are EINVAL with Docker's words, e.g. "invalid reference format",
 * "invalid reference format: repository name (library/Foo) must be lowercase". A tag and a
 * digest together are both kept unless REF_FAVOR_DIGEST. On failure *out is zeroed.
 * domain is "" (never NULL) in the one odd case distribution allows: a first component with
 * "." or ":" that is not a valid domain but is a valid path ("foo_bar.com/x").
 * Digests: "sha256:<64 hex>" only; well-formed sha384/sha512 (which dockerd accepts) fail
 * with "unsupported digest algorithm", since berth can verify sha256 only. */
int ref_parse(const char *s, unsigned flags, struct image_ref *out, struct berth_err **err);
/* Frees the strings and zeroes *r; also usable as a cleanup: _cleanup_ref_ struct image_ref. */
void ref_free(struct image_ref *r);
#define _cleanup_ref_ __attribute__((cleanup(ref_free)))

/* Renderings (heap strings):                    for docker.io/library/busybox:latest  */
char *ref_name(const struct image_ref *r); /* docker.io/library/busybox        */
char *ref_full(const struct image_ref *r); /* docker.io/library/busybox:latest (and/or @digest) */
char *ref_familiar_name(const struct image_ref *r); /* busybox                          */
char *ref_familiar(const struct image_ref *r);      /* busybox:latest (and/or @digest)  */

/* The host to contact for the domain: docker.io → registry-1.docker.io. */
const char *ref_registry_host(const struct image_ref *r);
/* True if s is a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}). */
bool ref_tag_valid(const char *s);

/* dockerd's checks on API parameters, with its words. */

/* POST /images/create?fromImage=IMAGE&tag=TAG (pull): one trailing ":" of IMAGE is dropped;
 * TAG, when not empty, is a digest (replacing tag and digest) or a tag ("invalid tag format").
 * No default tag is added: tag and digest both NULL mean every tag (docker pull -a). Pulling
 * "scratch" is EACCES "'scratch' is a reserved name" (403, as dockerd). */
int ref_parse_pull(const char *image, const char *tag, struct image_ref *out,
                   struct berth_err **err);
/* repo + tag as /images/{name}/tag, /commit, /build and import take them: returns 0 with *out
 * zeroed when repo is empty (no reference wanted), 1 with a tagged reference (":latest" when
 * tag is empty), or an EINVAL error: "cannot import digest reference", "invalid tag format",
 * or the ref_check_tag_name error. */
int ref_parse_repo_tag(const char *repo, const char *tag, struct image_ref *out,
                       struct berth_err **err);
/* dockerd's reference store refuses the name "sha256" ("sha256:abc" would read as an ID):
 * EINVAL "refusing to create an ambiguous tag using digest algorithm as name". Call it before
 * storing any reference (pull, tag, build, commit, load). */
int ref_check_tag_name(const struct image_ref *r, struct berth_err **err);
