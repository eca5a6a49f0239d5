/* fs/image_import.c — builds an image from a root filesystem tarball: the tarball is kept as
 * the layer's blob (as it came), unpacked into a new layer, and described by a fresh config. */
#include "fs/image_import.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/timefmt.h"
#include "core/xalloc.h"
#include "fs/config_change.h"
#include "fs/layer_ingest.h"
#include "fs/store.h"

int import_check_changes(char **changes, struct berth_err **err)
{
    _cleanup_json_ json_t *scratch = json_object();
    return config_apply_changes(scratch, changes, err);
}

static json_t *import_config(const struct import_opts *o, const char *diff_id,
                             struct berth_err **err)
{
    _cleanup_free_ char *now = time_format_rfc3339(time_now_ns());
    _cleanup_free_ char *comment =
        o->message && *o->message ? xstrdup(o->message) : xasprintf("Imported from %s", o->src);
    json_t *config = json_object();
    if (config_apply_changes(config, o->changes, err) < 0) {
        json_decref(config);
        return NULL;
    }
    /* the message is the image's comment too, as dockerd's ImportImage writes it */
    json_t *c =
        json_pack("{ss ss ss ss so s{ss s[s]} s[{ss ss}]}", "architecture", o->arch, "os", o->os,
                  "created", now, "comment", comment, "config", config, "rootfs", "type", "layers",
                  "diff_ids", diff_id, "history", "created", now, "comment", comment);
    if (!c)
        berth_user_error(err, EINVAL, "cannot build the image config");
    if (o->variant && *o->variant)
        json_object_set_new(c, "variant", json_string(o->variant));
    return c;
}

int import_tarball(struct image_store *is, unpack_read_fn read, void *ctx,
                   const struct import_opts *o, struct layer **layer, struct image **img,
                   struct berth_err **err)
{
    struct ingest_opts lo = {.parent = ""};
    int r = layer_ingest(image_store_blobs(is), image_store_layers(is), read, ctx, &lo, layer, err);
    if (r < 0)
        return r;
    _cleanup_json_ json_t *config = import_config(o, (*layer)->diff_id, err);
    if (!config)
        return berth_err_code(*err);
    _cleanup_free_ char *text = json_dumps(config, JSON_COMPACT);
    char id[DIGEST_LEN + 1];
    r = store_put(image_store_blobs(is), text, strlen(text), NULL, id, err);
    if (r < 0)
        return r;
    if ((r = image_load_config(is, id, text, strlen(text), img, err)) < 0)
        return r;
    if (o->named)
        json_object_set((*img)->meta, "LastTagTime", json_object_get(config, "created"));
    if ((r = image_write(is, *img, err)) < 0) {
        image_free(*img);
        *img = NULL;
        return r;
    }
    return 0;
}
