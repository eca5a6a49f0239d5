/* fs/commit.h — docker commit: a container's upper directory becomes a layer (its tar kept as
 * the layer's blob, so save and push ship those very bytes), and an image is made of the
 * container's image, that layer, the new config and a history row, as dockerd's CommitImage
 * makes it. Blocking (bulk pool job), except commit_config. */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "core/err.h"
#include "fs/image.h"
#include "fs/layer.h"

/* The sha256 of an empty tar (two zero blocks): dockerd's "empty layer", which a commit does
 * not add (its history row says empty_layer). */
#define COMMIT_EMPTY_DIFF_ID                                                                       \
    "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

/* The new image's Config, as dockerd builds it: the request's config (body; NULL or empty: the
 * container's), the changes (Dockerfile instructions) applied, then what it leaves unset taken
 * from the container's config (moby's merge). EINVAL for a bad change. */
int commit_config(const json_t *ctr_config, const json_t *body, char *const *changes, json_t **out,
                  struct berth_err **err);

struct commit_opts {
    const char *parent_id;       /* the container's image */
    const json_t *parent_config; /* its config blob */
    const char *parent_chain;    /* chain ID of its top layer ("" for none) */
    const json_t *config;        /* commit_config's */
    const json_t *container_config;
    const char *container_id;
    const char *author, *comment; /* "" for none */
    bool named;                   /* it gets a tag: LastTagTime, as dockerd's TagImage sets it */
};

struct commit_result {
    struct layer *layer; /* committed, for layer_register (or layer_discard when empty) */
    bool empty;          /* the container changed nothing: the image adds no layer */
    struct image *img;   /* written, for image_register */
};

/* The layer of upper (an overlay upper directory: whiteouts and opaque directories become
 * ".wh." entries), then the image. On failure res->layer may still hold a committed layer,
 * which the caller discards. */
int commit_image(struct image_store *is, int upper, const struct commit_opts *o,
                 struct commit_result *res, struct berth_err **err);
