/* fs/image_load.c — `docker load`: the tarball is unpacked (safely, and with no device or
 * fifo a reader could hang on) into a temporary directory; then Docker's manifest.json, or
 * else the OCI index.json, says which configs and layer tarballs make which images. Every file
 * is opened inside that directory with RESOLVE_IN_ROOT, so a hostile archive cannot point
 * outside it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "fs/decompress.h"
#include "fs/image_archive.h"
#include "fs/layer_ingest.h"
#include "fs/manifest.h"
#include "fs/ref.h"
#include "fs/store.h"

struct loader {
    struct image_store *is;
    const struct map *known; /* chain IDs present when the load began */
    struct map made;         /* chain IDs committed by this load */
    int dfd;                 /* the unpacked archive */
    struct load_result *res;
};

/* Only regular files are read. The unpacker makes nothing else but directories and links, and
 * O_NONBLOCK keeps even a fifo that got there some other way from blocking the open. */
static int open_in(int dfd, const char *path, struct berth_err **err)
{
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
    if (fd < 0)
        return berth_user_error(err, errno == ENOENT ? EINVAL : errno,
                                "invalid archive: cannot open `%s`: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return berth_user_error(err, EINVAL, "invalid archive: `%s` is not a regular file", path);
    }
    return fd;
}

static int read_in(int dfd, const char *path, struct buf *out, struct berth_err **err)
{
    _cleanup_close_ int fd = open_in(dfd, path, err);
    if (fd < 0)
        return fd;
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
        if (out->len + (size_t)n > (64u << 20))
            return berth_user_error(err, EINVAL, "invalid archive: `%s` is too large", path);
        buf_append(out, chunk, (size_t)n);
    }
    return n < 0 ? berth_error(err, errno, "read `%s`", path) : 0;
}

static bool exists_in(int dfd, const char *path)
{
    int fd = open_in(dfd, path, NULL);
    if (fd >= 0)
        close(fd);
    return fd >= 0;
}

static void push_ptr(void ***v, size_t *n, void *p)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = p;
}

static void add_message(struct load_result *res, const char *fmt, const char *arg)
{
    if (!res->messages)
        res->messages = json_array();
    json_array_append_new(res->messages, json_sprintf(fmt, arg));
}

void load_result_free(struct load_result *res)
{
    for (size_t i = 0; i < res->nlayers; i++)
        layer_free(res->layers[i]);
    for (size_t i = 0; i < res->nimages; i++)
        image_free(res->images[i]);
    for (size_t i = 0; i < res->nrefs; i++)
        free(res->refs[i]);
    free(res->layers);
    free(res->images);
    free(res->refs);
    json_decref(res->messages);
    memset(res, 0, sizeof(*res));
}

static ssize_t fd_read(void *ctx, void *buf, size_t cap)
{
    ssize_t n = read(*(int *)ctx, buf, cap);
    return n < 0 ? -errno : n;
}

/* A layer tarball inside the archive: its path, and what the OCI manifest says of it. */
struct layer_file {
    char *path;
    const char *media_type; /* NULL: detect */
    const char *digest;     /* NULL: docker-archive layers are named by path only */
};

static int load_layer(struct loader *ld, const struct layer_file *f, const char *diff,
                      const char *parent, const char *chain, struct berth_err **err)
{
    _cleanup_close_ int fd = open_in(ld->dfd, f->path, err);
    if (fd < 0)
        return fd;
    struct layer *l = NULL;
    struct ingest_opts o = {
        .digest = f->digest, .diff_id = diff, .parent = parent, .media_type = f->media_type};
    int r = layer_ingest(image_store_blobs(ld->is), image_store_layers(ld->is), fd_read, &fd, &o,
                         &l, err);
    if (r < 0)
        return berth_error_wrap(err, "load layer `%s`", f->path);
    map_put(&ld->made, chain, (void *)1);
    push_ptr((void ***)&ld->res->layers, &ld->res->nlayers, l);
    return 0;
}

/* Layers the store (or this load) lacks are unpacked from their files; known ones skipped. */
static int load_layers(struct loader *ld, const json_t *diff_ids, const struct layer_file *files,
                       size_t n, struct berth_err **err)
{
    char parent[DIGEST_LEN + 1] = "", chain[DIGEST_LEN + 1];
    if (json_array_size(diff_ids) != n)
        return berth_user_error(err, EINVAL,
                                "invalid archive: the image config lists %zu diff "
                                "IDs for %zu layers",
                                json_array_size(diff_ids), n);
    for (size_t i = 0; i < n; i++) {
        const char *diff = json_string_value(json_array_get(diff_ids, i));
        if (!digest_valid(diff))
            return berth_user_error(err, EINVAL, "invalid archive: bad diff ID in image config");
        layer_chain_id(parent, diff, chain);
        if (!map_has(ld->known, chain) && !map_has(&ld->made, chain)) {
            int r = load_layer(ld, &files[i], diff, parent, chain, err);
            if (r < 0)
                return r;
        }
        memcpy(parent, chain, sizeof(parent));
    }
    return 0;
}

/* A name the image was saved with, taken as dockerd takes it: a valid reference with a tag. */
static int parse_name(const json_t *name, struct image_ref *r, struct berth_err **err)
{
    const char *s = json_string_value(name);
    if (!s)
        return berth_user_error(err, EINVAL, "invalid archive: an image name is not a string");
    int rc = ref_parse(s, REF_NO_DEFAULT_TAG, r, err);
    if (rc < 0)
        return rc;
    if (!r->tag) {
        ref_free(r);
        return berth_user_error(err, EINVAL, "invalid tag \"%s\"", s);
    }
    return 0;
}

/* Every name is checked before the image is loaded: a bad one refuses it whole. */
static int check_names(const json_t *names, struct berth_err **err)
{
    if (names && !json_is_null(names) && !json_is_array(names))
        return berth_user_error(err, EINVAL, "invalid archive: RepoTags is not a list");
    size_t i;
    json_t *name;
    json_array_foreach(names, i, name)
    {
        struct image_ref r;
        int rc = parse_name(name, &r, err);
        if (rc < 0)
            return rc;
        ref_free(&r);
    }
    return 0;
}

/* Record a name (checked by check_names); Docker prints each as it loads. */
static void add_name(struct loader *ld, const json_t *name, const char *id)
{
    struct image_ref r;
    if (parse_name(name, &r, NULL) < 0)
        return;
    char *full = ref_full(&r);
    _cleanup_free_ char *shown = ref_familiar(&r); /* "docker.io/library/x:1" shows as "x:1" */
    ref_free(&r);
    push_ptr((void ***)&ld->res->refs, &ld->res->nrefs, full);
    push_ptr((void ***)&ld->res->refs, &ld->res->nrefs, xstrdup(id));
    add_message(ld->res, "Loaded image: %s", shown);
}

static int load_image(struct loader *ld, const char *config_path, const json_t *names,
                      const struct layer_file *files, size_t n, struct berth_err **err)
{
    _cleanup_buf_ struct buf cfg = {0};
    char id[DIGEST_LEN + 1];
    struct image *img = NULL;
    json_error_t je;
    int r = check_names(names, err);
    if (r < 0)
        return r;
    if ((r = read_in(ld->dfd, config_path, &cfg, err)) < 0)
        return r;
    if ((r = store_put(image_store_blobs(ld->is), cfg.data, cfg.len, NULL, id, err)) < 0)
        return r;
    _cleanup_json_ json_t *config = json_loadb(cfg.data, cfg.len, 0, &je);
    if (!json_is_object(config))
        return berth_user_error(err, EINVAL, "invalid archive: image config `%s`: %s", config_path,
                                je.text);
    r = load_layers(ld, json_object_get(json_object_get(config, "rootfs"), "diff_ids"), files, n,
                    err);
    if (r < 0)
        return r;
    if ((r = image_load_config(ld->is, id, cfg.data, cfg.len, &img, err)) < 0)
        return r;
    if ((r = image_write(ld->is, img, err)) < 0) {
        image_free(img);
        return r;
    }
    push_ptr((void ***)&ld->res->images, &ld->res->nimages, img);
    size_t i;
    json_t *name;
    json_array_foreach(names, i, name) add_name(ld, name, id);
    if (json_array_size(names) == 0)
        add_message(ld->res, "Loaded image ID: %s", id);
    return 0;
}

/* manifest.json: [{"Config": "x.json", "RepoTags": [...], "Layers": ["a/layer.tar", ...]}] */
static int load_docker_archive(struct loader *ld, struct berth_err **err)
{
    _cleanup_buf_ struct buf text = {0};
    int r = read_in(ld->dfd, "manifest.json", &text, err);
    if (r < 0)
        return r;
    _cleanup_json_ json_t *list = json_loadb(text.data, text.len, 0, NULL);
    if (!json_is_array(list))
        return berth_user_error(err, EINVAL, "invalid archive: manifest.json is not a list");
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        json_t *layers = json_object_get(e, "Layers");
        const char *config = json_get_str(e, "Config");
        if (!config || !json_is_array(layers))
            return berth_user_error(err, EINVAL, "invalid archive: bad manifest.json");
        size_t n = json_array_size(layers);
        _cleanup_free_ struct layer_file *files = xcalloc(n + 1, sizeof(*files));
        for (size_t k = 0; k < n; k++)
            files[k].path = (char *)(json_string_value(json_array_get(layers, k))
                                         ? json_string_value(json_array_get(layers, k))
                                         : "");
        if ((r = load_image(ld, config, json_object_get(e, "RepoTags"), files, n, err)) < 0)
            return r;
    }
    return 0;
}

static char *blob_path(const char *digest)
{
    return xasprintf("blobs/sha256/%s", digest_valid(digest) ? digest_hex(digest) : "invalid");
}

static int read_manifest(struct loader *ld, const struct descriptor *d, struct manifest *m,
                         struct berth_err **err)
{
    _cleanup_free_ char *path = blob_path(d->digest);
    _cleanup_buf_ struct buf text = {0};
    int r = read_in(ld->dfd, path, &text, err);
    if (r < 0)
        return r;
    return manifest_parse(text.data, text.len, d->media_type, m, err);
}

/* One entry of index.json: an image manifest, or an index to pick the host's platform from. */
static int load_oci_entry(struct loader *ld, const struct descriptor *d, const char *name,
                          struct berth_err **err)
{
    _cleanup_(manifest_free) struct manifest m = {0};
    int r = read_manifest(ld, d, &m, err);
    if (r < 0)
        return r;
    if (m.kind == MANIFEST_INDEX) {
        struct platform host;
        const struct descriptor *pick;
        platform_host(&host);
        _cleanup_(manifest_free) struct manifest inner = {0};
        if ((r = manifest_pick(&m, &host, &pick, err)) < 0)
            return r;
        if ((r = read_manifest(ld, pick, &inner, err)) < 0)
            return r;
        if (inner.kind != MANIFEST_IMAGE)
            return berth_user_error(err, EINVAL, "invalid archive: nested index");
        struct manifest index = m; /* swapped: the index is freed with `inner` at the brace */
        m = inner;
        inner = index;
    }
    struct layer_file *files = xcalloc(m.nlayers + 1, sizeof(*files));
    for (size_t i = 0; i < m.nlayers; i++)
        files[i] = (struct layer_file){.path = blob_path(m.layers[i].digest),
                                       .media_type = m.layers[i].media_type,
                                       .digest = m.layers[i].digest};
    _cleanup_free_ char *config = blob_path(m.config.digest);
    _cleanup_json_ json_t *names = name ? json_pack("[s]", name) : json_array();
    r = load_image(ld, config, names, files, m.nlayers, err);
    for (size_t i = 0; i < m.nlayers; i++)
        free(files[i].path);
    free(files);
    return r;
}

/* index.json: names come from the containerd annotation (a full reference). */
static int load_oci_layout(struct loader *ld, struct berth_err **err)
{
    _cleanup_buf_ struct buf text = {0};
    int r = read_in(ld->dfd, "index.json", &text, err);
    if (r < 0)
        return r;
    _cleanup_json_ json_t *index = json_loadb(text.data, text.len, 0, NULL);
    json_t *list = json_object_get(index, "manifests"), *e;
    if (!json_is_array(list))
        return berth_user_error(err, EINVAL, "invalid archive: index.json has no manifests");
    size_t i;
    json_array_foreach(list, i, e)
    {
        struct descriptor d = {0};
        const char *dg = json_get_str(e, "digest");
        if (!digest_valid(dg))
            return berth_user_error(err, EINVAL, "invalid archive: bad index.json");
        snprintf(d.digest, sizeof(d.digest), "%s", dg);
        d.media_type = (char *)(json_get_str(e, "mediaType") ? json_get_str(e, "mediaType") : "");
        const char *name =
            json_get_str(json_object_get(e, "annotations"), "io.containerd.image.name");
        if ((r = load_oci_entry(ld, &d, name, err)) < 0)
            return r;
    }
    return 0;
}

static void loader_release(struct loader *ld)
{
    if (ld->dfd >= 0)
        close(ld->dfd);
    map_free(&ld->made);
}

/* The scratch directory the archive was unpacked in goes whatever the load's outcome. */
static void scratch_remove(char **tmp)
{
    _cleanup_err_ struct berth_err *rm_err = NULL;
    if (*tmp && layer_rm_tree(*tmp, &rm_err) < 0)
        log_warn("load: %s", rm_err->msg);
    free(*tmp);
}

int load_tarball(struct image_store *is, const struct map *known, unpack_read_fn read, void *ctx,
                 struct load_result *res, struct berth_err **err)
{
    struct layer_store *ls = image_store_layers(is);
    _cleanup_(scratch_remove) char *tmp = NULL; /* declared first: removed after ld is released */
    _cleanup_(loader_release) struct loader ld = {.is = is, .known = known, .res = res, .dfd = -1};
    struct unpack_result ur;
    int r = layer_tmp_new(ls, &tmp, &ld.dfd, err);
    if (r < 0)
        return r;
    if ((r = unpack_archive(ld.dfd, read, ctx, &ur, err)) < 0) {
        berth_error_wrap(err, "invalid archive");
        return r;
    }
    if (exists_in(ld.dfd, "manifest.json"))
        return load_docker_archive(&ld, err);
    if (exists_in(ld.dfd, "index.json"))
        return load_oci_layout(&ld, err);
    return berth_user_error(err, EINVAL,
                            "invalid archive: it has neither manifest.json nor index.json");
}
