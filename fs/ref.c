/* fs/ref.c — image references parsed and normalised as github.com/distribution/reference v0.6
 * (the docker CLI's and dockerd's) does, with its error words; plus dockerd's request checks. */
#include "fs/ref.h"

#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <wctype.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/digest.h"
#include "core/macros.h"
#include "core/xalloc.h"

#define REF_PATH_MAX 255 /* distribution's RepositoryNameTotalLengthMax, on the path only */
#define REF_TAG_MAX  128

static const char DEFAULT_DOMAIN[] = "docker.io";
static const char LEGACY_DOMAIN[] = "index.docker.io";
static const char OFFICIAL_PREFIX[] = "library/";

/* A slice of the input: the grammar is checked in place, copies are made only for the result. */
struct span {
    const char *p;
    size_t n;
};

/* The pieces of "name[:tag][@digest]"; tag.p / digest.p are NULL when absent. */
struct parts {
    struct span domain, path, tag, digest;
};

static bool lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool ascii_alnum(char c)
{
    return lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool word_char(char c) /* Go's \w: ASCII only */
{
    return ascii_alnum(c) || c == '_';
}

static bool hex_digit(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Length of the separator at p ("." "_" "__" or a run of "-"), 0 if none. */
static size_t separator_len(const char *p, const char *end)
{
    if (p < end && *p == '.')
        return 1;
    if (p < end && *p == '_')
        return (p + 1 < end && p[1] == '_') ? 2 : 1;
    size_t n = 0;
    while (p + n < end && p[n] == '-')
        n++;
    return n;
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)* */
static bool path_component_valid(const char *p, const char *end)
{
    for (;;) {
        if (p == end || !lower_alnum(*p))
            return false;
        while (p < end && lower_alnum(*p))
            p++;
        if (p == end)
            return true;
        size_t sep = separator_len(p, end);
        if (sep == 0)
            return false;
        p += sep;
    }
}

/* remote-name := path-component ("/" path-component)* */
static bool remote_name_valid(struct span s)
{
    const char *p = s.p, *end = s.p + s.n;
    for (;;) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        if (!path_component_valid(p, slash ? slash : end))
            return false;
        if (!slash)
            return true;
        p = slash + 1;
    }
}

/* domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9], joined by "." */
static bool domain_name_valid(const char *p, const char *end)
{
    for (;;) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        const char *stop = dot ? dot : end;
        if (p == stop || !ascii_alnum(*p) || !ascii_alnum(stop[-1]))
            return false;
        for (const char *q = p; q < stop; q++)
            if (!ascii_alnum(*q) && *q != '-')
                return false;
        if (!dot)
            return true;
        p = dot + 1;
    }
}

static bool port_valid(const char *p, const char *end) /* ":" [0-9]+, or nothing */
{
    if (p == end)
        return true;
    if (*p++ != ':' || p == end)
        return false;
    for (; p < end; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

/* domain := (domain-name | "[" [a-fA-F0-9:]+ "]") [":" port] */
static bool domain_valid(struct span s)
{
    const char *p = s.p, *end = s.p + s.n;
    if (p < end && *p == '[') {
        const char *close = memchr(p, ']', s.n);
        if (!close || close == p + 1)
            return false;
        for (const char *q = p + 1; q < close; q++)
            if (!hex_digit(*q) && *q != ':')
                return false;
        return port_valid(close + 1, end);
    }
    const char *colon = memchr(p, ':', s.n);
    return domain_name_valid(p, colon ? colon : end) && port_valid(colon ? colon : end, end);
}

static bool tag_valid(struct span s)
{
    if (s.n == 0 || s.n > REF_TAG_MAX)
        return false;
    for (size_t i = 0; i < s.n; i++)
        if (!word_char(s.p[i]) && (i == 0 || (s.p[i] != '.' && s.p[i] != '-')))
            return false;
    return true;
}

/* The reference grammar's digest: algorithm (components [A-Za-z][A-Za-z0-9]* joined by one of
 * "-_+.") ":" at least 32 hex digits. Whether the algorithm is known is checked later. */
static bool digest_syntax_valid(struct span s)
{
    const char *p = s.p, *end = s.p + s.n;
    for (;;) {
        if (p == end || !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return false;
        while (p < end && ascii_alnum(*p))
            p++;
        if (p == end || (*p != '-' && *p != '_' && *p != '+' && *p != '.'))
            break;
        p++;
    }
    if (p == end || *p++ != ':' || end - p < 32)
        return false;
    for (; p < end; p++)
        if (!hex_digit(*p))
            return false;
    return true;
}

/* How many bytes a UTF-8 sequence starting with b takes; 0 if b cannot start one. */
static size_t utf8_seq_len(unsigned char b)
{
    if (b < 0x80)
        return 1;
    if (b >= 0xc2 && b <= 0xdf)
        return 2;
    if (b >= 0xe0 && b <= 0xef)
        return 3;
    if (b >= 0xf0 && b <= 0xf4)
        return 4;
    return 0;
}

/* Decode one UTF-8 sequence as Go does: an invalid or overlong sequence, a surrogate or a code
 * point past U+10FFFF is one byte standing for U+FFFD. Returns the bytes used (>= 1). */
static size_t utf8_decode(const unsigned char *p, size_t n, wint_t *cp)
{
    static const unsigned char lead_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
    size_t len = utf8_seq_len(p[0]);
    /* The second byte's range is what excludes overlong forms, surrogates and > U+10FFFF. */
    unsigned char lo = p[0] == 0xe0 ? 0xa0 : p[0] == 0xf0 ? 0x90 : 0x80;
    unsigned char hi = p[0] == 0xed ? 0x9f : p[0] == 0xf4 ? 0x8f : 0xbf;
    *cp = 0xfffd;
    if (len == 0 || len > n || (len > 1 && (p[1] < lo || p[1] > hi)))
        return 1;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 1;
    wint_t c = p[0] & lead_mask[len];
    for (size_t i = 1; i < len; i++)
        c = (c << 6) | (p[i] & 0x3f);
    *cp = c;
    return len;
}

static void utf8_append(struct buf *b, wint_t c)
{
    char out[4];
    size_t n = 0;
    if (c < 0x80) {
        out[n++] = (char)c;
    } else if (c < 0x800) {
        out[n++] = (char)(0xc0 | (c >> 6));
        out[n++] = (char)(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
        out[n++] = (char)(0xe0 | (c >> 12));
        out[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
        out[n++] = (char)(0x80 | (c & 0x3f));
    } else {
        out[n++] = (char)(0xf0 | (c >> 18));
        out[n++] = (char)(0x80 | ((c >> 12) & 0x3f));
        out[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
        out[n++] = (char)(0x80 | (c & 0x3f));
    }
    buf_append(b, out, n);
}

/* Unicode case mapping comes from glibc's C.UTF-8 tables, whatever locale berthd runs in. */
static locale_t utf8_locale;
static pthread_once_t utf8_locale_once = PTHREAD_ONCE_INIT;

static void utf8_locale_init(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* Go's strings.ToLower: ASCII and Unicode simple case mapping, and each byte of invalid UTF-8
 * turned into U+FFFD. Distribution compares strings with their lowercase form, so these
 * details decide between "must be lowercase" and "invalid reference format" (Ébusybox, \xff). */
static char *go_tolower(const char *s)
{
    struct buf b = {0};
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    while (n > 0) {
        wint_t c;
        size_t used = utf8_decode(p, n, &c);
        if (c >= 'A' && c <= 'Z') {
            c += 'a' - 'A';
        } else if (c >= 0x80) {
            pthread_once(&utf8_locale_once, utf8_locale_init);
            if (utf8_locale)
                c = towlower_l(c, utf8_locale);
        }
        utf8_append(&b, c);
        p += used;
        n -= used;
    }
    buf_append(&b, "", 0); /* an empty input still yields "" */
    return buf_steal(&b, NULL);
}

static bool lowercase(const char *s)
{
    _cleanup_free_ char *lower = go_tolower(s);
    return strcmp(lower, s) == 0;
}

/* Take the domain when the first component reads as one and the rest as a remote name, else
 * the whole name as the path: the preference of Go's leftmost-first regexp for distribution's
 * optional domain group ("foo_bar.com/x" is a path: "_" never appears in a domain). */
static bool split_name(struct span name, struct parts *out)
{
    const char *slash = memchr(name.p, '/', name.n);
    if (slash) {
        struct span domain = {name.p, (size_t)(slash - name.p)};
        struct span rest = {slash + 1, name.n - domain.n - 1};
        if (domain_valid(domain) && remote_name_valid(rest)) {
            out->domain = domain;
            out->path = rest;
            return true;
        }
    }
    out->domain = (struct span){name.p, 0};
    out->path = name;
    return remote_name_valid(name);
}

/* Match s against reference := name [":" tag] ["@" digest]. The digest follows the only "@";
 * a tag follows a ":" after the last "/" (a name holds ":" only in its domain, which a "/"
 * always ends), so each split is forced and no backtracking is needed. */
static bool split_reference(const char *s, struct parts *out)
{
    size_t len = strlen(s);
    const char *at = memchr(s, '@', len);
    const char *name_end = at ? at : s + len;
    *out = (struct parts){0};
    if (at) {
        out->digest = (struct span){at + 1, (size_t)(s + len - at - 1)};
        if (!digest_syntax_valid(out->digest))
            return false;
    }
    const char *slash = memrchr(s, '/', (size_t)(name_end - s));
    const char *colon = memrchr(s, ':', (size_t)(name_end - s));
    if (colon && (!slash || colon > slash)) {
        out->tag = (struct span){colon + 1, (size_t)(name_end - colon - 1)};
        if (!tag_valid(out->tag))
            return false;
        name_end = colon;
    }
    return split_name((struct span){s, (size_t)(name_end - s)}, out);
}

enum digest_verdict {
    DIGEST_OK,
    DIGEST_BAD_FORMAT,
    DIGEST_BAD_LENGTH,
    DIGEST_UNSUPPORTED,
    DIGEST_UNUSABLE, /* valid for dockerd (sha384, sha512) but berth verifies sha256 only */
};

/* go-digest's Validate for the algorithms dockerd links in. */
static enum digest_verdict digest_check(struct span d)
{
    static const struct {
        const char *name;
        size_t hex_len;
        bool usable;
    } algorithms[] = {{"sha256", 64, true}, {"sha384", 96, false}, {"sha512", 128, false}};
    const char *colon = memchr(d.p, ':', d.n);
    if (!colon || colon == d.p || colon == d.p + d.n - 1)
        return DIGEST_BAD_FORMAT;
    struct span alg = {d.p, (size_t)(colon - d.p)}, enc = {colon + 1, d.n - alg.n - 1};
    for (size_t i = 0; i < ARRAY_SIZE(algorithms); i++) {
        if (strlen(algorithms[i].name) != alg.n || memcmp(algorithms[i].name, alg.p, alg.n))
            continue;
        if (enc.n != algorithms[i].hex_len)
            return DIGEST_BAD_LENGTH;
        for (size_t j = 0; j < enc.n; j++)
            if (!((enc.p[j] >= '0' && enc.p[j] <= '9') || (enc.p[j] >= 'a' && enc.p[j] <= 'f')))
                return DIGEST_BAD_FORMAT;
        return algorithms[i].usable ? DIGEST_OK : DIGEST_UNUSABLE;
    }
    /* An unknown algorithm is "unsupported" if go-digest's general form accepts it; after the
     * reference grammar that only needs the algorithm to be lowercase. */
    for (size_t j = 0; j < alg.n; j++)
        if (alg.p[j] >= 'A' && alg.p[j] <= 'Z')
            return DIGEST_BAD_FORMAT;
    return DIGEST_UNSUPPORTED;
}

static int digest_error(enum digest_verdict v, struct berth_err **err)
{
    switch (v) {
    case DIGEST_OK:
        return 0;
    case DIGEST_BAD_LENGTH:
        return berth_user_error(err, EINVAL, "invalid checksum digest length");
    case DIGEST_UNSUPPORTED:
    case DIGEST_UNUSABLE:
        return berth_user_error(err, EINVAL, "unsupported digest algorithm");
    default:
        return berth_user_error(err, EINVAL, "invalid checksum digest format");
    }
}

static void fill_ref(const struct parts *p, struct image_ref *out)
{
    out->domain = xstrndup(p->domain.p, p->domain.n);
    out->path = xstrndup(p->path.p, p->path.n);
    out->tag = p->tag.p ? xstrndup(p->tag.p, p->tag.n) : NULL;
    out->digest = p->digest.p ? xstrndup(p->digest.p, p->digest.n) : NULL;
}

/* distribution's Parse: the grammar, then the length of the path, then the digest. */
static int parse_reference(const char *s, struct image_ref *out, struct berth_err **err)
{
    struct parts p;
    if (*s == '\0')
        return berth_user_error(err, EINVAL, "repository name must have at least one component");
    if (!split_reference(s, &p)) {
        _cleanup_free_ char *lower = go_tolower(s);
        struct parts ignored;
        if (strcmp(lower, s) != 0 && split_reference(lower, &ignored))
            return berth_user_error(err, EINVAL, "repository name must be lowercase");
        return berth_user_error(err, EINVAL, "invalid reference format");
    }
    if (p.path.n > REF_PATH_MAX)
        return berth_user_error(err, EINVAL, "repository name must not be more than %d characters",
                                REF_PATH_MAX);
    if (p.digest.p) {
        int r = digest_error(digest_check(p.digest), err);
        if (r < 0)
            return r;
    }
    fill_ref(&p, out);
    return 0;
}

/* distribution's splitDockerDomain: a first component is a domain when it is "localhost",
 * holds "." or ":", or is not lowercase; Docker Hub names without a namespace go to
 * "library/". A name with no "/" at all is always on Docker Hub, even "localhost:5000". */
static void split_docker_domain(const char *s, char **domain, char **remainder)
{
    const char *slash = strchr(s, '/');
    if (!slash) {
        *domain = xstrdup(DEFAULT_DOMAIN);
        *remainder = xasprintf("%s%s", OFFICIAL_PREFIX, s);
        return;
    }
    _cleanup_free_ char *first = xstrndup(s, (size_t)(slash - s));
    if (strcmp(first, LEGACY_DOMAIN) == 0) {
        *domain = xstrdup(DEFAULT_DOMAIN);
        *remainder = xstrdup(slash + 1);
    } else if (strcmp(first, "localhost") == 0 || strpbrk(first, ".:") || !lowercase(first)) {
        *domain = take_ptr(first);
        *remainder = xstrdup(slash + 1);
    } else {
        *domain = xstrdup(DEFAULT_DOMAIN);
        *remainder = xstrdup(s);
    }
    if (strcmp(*domain, DEFAULT_DOMAIN) == 0 && !strchr(*remainder, '/')) {
        char *prefixed = xasprintf("%s%s", OFFICIAL_PREFIX, *remainder);
        free(*remainder);
        *remainder = prefixed;
    }
}

static bool is_identifier(const char *s) /* 64 lowercase hex digits: an image ID */
{
    if (strlen(s) != DIGEST_HEX_LEN)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

/* distribution's ParseNormalizedNamed, error words included. */
static int parse_normalized(const char *s, struct image_ref *out, struct berth_err **err)
{
    if (is_identifier(s))
        return berth_user_error(
            err, EINVAL, "invalid repository name (%s), cannot specify 64-byte hexadecimal strings",
            s);
    _cleanup_free_ char *domain = NULL, *remainder = NULL;
    split_docker_domain(s, &domain, &remainder);
    /* Everything up to the first ":" is checked, so "x/Y@sha256:…" reports "x/Y@sha256". */
    _cleanup_free_ char *remote = xstrndup(remainder, strcspn(remainder, ":"));
    if (!lowercase(remote))
        return berth_user_error(err, EINVAL,
                                "invalid reference format: repository name (%s) must be lowercase",
                                remote);
    _cleanup_free_ char *joined = xasprintf("%s/%s", domain, remainder);
    return parse_reference(joined, out, err);
}

int ref_parse(const char *s, unsigned flags, struct image_ref *out, struct berth_err **err)
{
    *out = (struct image_ref){0};
    int r = parse_normalized(s ? s : "", out, err);
    if (r < 0)
        return r;
    if (out->tag && out->digest && (flags & REF_FAVOR_DIGEST)) {
        free(out->tag);
        out->tag = NULL;
    }
    if (!out->tag && !out->digest && !(flags & REF_NO_DEFAULT_TAG))
        out->tag = xstrdup("latest");
    return 0;
}

void ref_free(struct image_ref *r)
{
    if (!r)
        return;
    free(r->domain);
    free(r->path);
    free(r->tag);
    free(r->digest);
    *r = (struct image_ref){0};
}

static char *render(const char *domain, const char *path, const char *tag, const char *digest)
{
    return xasprintf("%s%s%s%s%s%s%s", domain, *domain ? "/" : "", path, tag ? ":" : "",
                     tag ? tag : "", digest ? "@" : "", digest ? digest : "");
}

/* familiarizeName: Docker Hub loses its domain, and "library/" goes when nothing nests under
 * it ("library/a/b" keeps it, as Docker does). */
static const char *familiar_path(const struct image_ref *r, const char **domain)
{
    *domain = r->domain;
    if (strcmp(r->domain, DEFAULT_DOMAIN) != 0)
        return r->path;
    *domain = "";
    size_t n = strlen(OFFICIAL_PREFIX);
    if (strncmp(r->path, OFFICIAL_PREFIX, n) == 0 && !strchr(r->path + n, '/'))
        return r->path + n;
    return r->path;
}

char *ref_name(const struct image_ref *r)
{
    return render(r->domain, r->path, NULL, NULL);
}

char *ref_full(const struct image_ref *r)
{
    return render(r->domain, r->path, r->tag, r->digest);
}

char *ref_familiar_name(const struct image_ref *r)
{
    const char *domain;
    const char *path = familiar_path(r, &domain);
    return render(domain, path, NULL, NULL);
}

char *ref_familiar(const struct image_ref *r)
{
    const char *domain;
    const char *path = familiar_path(r, &domain);
    return render(domain, path, r->tag, r->digest);
}

const char *ref_registry_host(const struct image_ref *r)
{
    /* Docker Hub's API lives on registry-1.docker.io; docker.io is only its name. */
    return strcmp(r->domain, DEFAULT_DOMAIN) == 0 ? "registry-1.docker.io" : r->domain;
}

bool ref_tag_valid(const char *s)
{
    return s && tag_valid((struct span){s, strlen(s)});
}

/* dockerd's pull "tag" parameter: a digest replaces both tag and digest; anything else must be
 * a tag, which replaces the tag and keeps a digest ("x@sha256:…" + "v1" → "x:v1@sha256:…"). */
static int set_tag_or_digest(struct image_ref *r, const char *tag, struct berth_err **err)
{
    enum digest_verdict v = digest_check((struct span){tag, strlen(tag)});
    if (v == DIGEST_UNUSABLE)
        return digest_error(v, err);
    if (v == DIGEST_OK) {
        free(r->tag);
        r->tag = NULL;
        free(r->digest);
        r->digest = xstrdup(tag);
        return 0;
    }
    if (!ref_tag_valid(tag))
        return berth_user_error(err, EINVAL, "invalid tag format");
    free(r->tag);
    r->tag = xstrdup(tag);
    return 0;
}

/* The tag (or digest) a pull names apart from the image, and the name it may not have. */
static int pull_tag(struct image_ref *r, const char *tag, struct berth_err **err)
{
    if (tag && *tag) {
        int rc = set_tag_or_digest(r, tag, err);
        if (rc < 0)
            return rc;
    }
    _cleanup_free_ char *familiar = ref_familiar_name(r);
    if (strcmp(familiar, "scratch") == 0)
        return berth_user_error(err, EACCES, "'scratch' is a reserved name");
    return 0;
}

int ref_parse_pull(const char *image, const char *tag, struct image_ref *out,
                   struct berth_err **err)
{
    const char *s = image ? image : "";
    size_t n = strlen(s);
    /* "docker pull -a" of old sent "name:"; dockerd strips one ":" to keep it working. */
    _cleanup_free_ char *name = xstrndup(s, n > 0 && s[n - 1] == ':' ? n - 1 : n);
    int r = ref_parse(name, REF_NO_DEFAULT_TAG, out, err);
    if (r < 0)
        return r;
    r = pull_tag(out, tag, err);
    if (r < 0) /* the caller gets no reference when the tag is refused */
        ref_free(out);
    return r;
}

int ref_check_tag_name(const struct image_ref *r, struct berth_err **err)
{
    _cleanup_free_ char *familiar = ref_familiar_name(r);
    if (strcmp(familiar, "sha256") == 0)
        return berth_user_error(
            err, EINVAL, "refusing to create an ambiguous tag using digest algorithm as name");
    return 0;
}

/* The tag an import or commit gives apart from the repository ("latest" when none). */
static int repo_tag(struct image_ref *r, const char *tag, struct berth_err **err)
{
    if (r->digest)
        return berth_user_error(err, EINVAL, "cannot import digest reference");
    if (tag && *tag) {
        if (!ref_tag_valid(tag))
            return berth_user_error(err, EINVAL, "invalid tag format");
        free(r->tag);
        r->tag = xstrdup(tag);
    } else if (!r->tag) {
        r->tag = xstrdup("latest");
    }
    return ref_check_tag_name(r, err);
}

int ref_parse_repo_tag(const char *repo, const char *tag, struct image_ref *out,
                       struct berth_err **err)
{
    *out = (struct image_ref){0};
    if (!repo || !*repo)
        return 0;
    int r = ref_parse(repo, REF_NO_DEFAULT_TAG, out, err);
    if (r < 0)
        return r;
    r = repo_tag(out, tag, err);
    if (r < 0) { /* the caller gets no reference when the tag is refused */
        ref_free(out);
        return r;
    }
    return 1;
}
