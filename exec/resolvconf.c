/* exec/resolvconf.c — libnetwork's resolv.conf rules (internal/resolvconf: Parse, the Override*
 * methods, Generate) without its comments: "search" and "domain" keep only the last one,
 * "options" accumulate, unknown directives are copied. */
#include "exec/resolvconf.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/xalloc.h"

struct resolv {
    struct buf ns, search, options, other; /* each a list of lines or words, ready to print */
    bool legacy; /* the default bridge's nameservers: no loopback, no IPv6 */
};

static bool is_ip(const char *s)
{
    unsigned char addr[16];
    _cleanup_free_ char *bare = xstrndup(s, strcspn(s, "%")); /* fe80::1%eth0: a zone */
    return inet_pton(AF_INET, bare, addr) == 1 || inet_pton(AF_INET6, bare, addr) == 1;
}

/* What a container on the default bridge cannot reach: the host's loopback (127.0.0.0/8, ::1:
 * the container has its own) and, on an IPv4-only network, any IPv6 server. */
static bool unreachable_on_bridge(const char *s)
{
    unsigned char a[4];
    return inet_pton(AF_INET, s, a) != 1 || a[0] == 127;
}

/* The words of a line, space or tab separated (Go's strings.Fields, for these bytes). */
static size_t fields(char *line, char **out, size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *w = strtok_r(line, " \t\r\f\v", &save); w && n < max;
         w = strtok_r(NULL, " \t\r\f\v", &save))
        out[n++] = w;
    return n;
}

static void words(struct buf *b, char **w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_printf(b, "%s%s", b->len ? " " : "", w[i]);
}

static void parse_line(struct resolv *rc, const char *raw)
{
    char *w[64];
    if (!*raw || raw[0] == '#' || raw[0] == ';')
        return;
    _cleanup_free_ char *line = xstrdup(raw);
    size_t n = fields(line, w, 64);
    if (n == 0)
        return;
    if (strcmp(w[0], "nameserver") == 0) {
        if (n >= 2 && is_ip(w[1]) && !(rc->legacy && unreachable_on_bridge(w[1])))
            buf_printf(&rc->ns, "nameserver %s\n", w[1]);
    } else if (strcmp(w[0], "search") == 0 || strcmp(w[0], "domain") == 0) {
        if (n >= 2) { /* only the last one counts */
            buf_reset(&rc->search);
            words(&rc->search, w + 1, n - 1);
        }
    } else if (strcmp(w[0], "options") == 0) {
        words(&rc->options, w + 1, n - 1);
    } else {
        buf_printf(&rc->other, "%s\n", raw);
    }
}

/* A JSON list of strings as words, skipping "." when drop_dot. */
static void list_words(struct buf *b, const json_t *list, bool drop_dot)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v);
        if (s && !(drop_dot && strcmp(s, ".") == 0))
            buf_printf(b, "%s%s", b->len ? " " : "", s);
    }
}

static char *build(const char *host, const json_t *dns, const json_t *search, const json_t *options,
                   bool legacy)
{
    /* --dns given: its servers as they are, as libnetwork skips the transform then */
    struct resolv rc = {.legacy = legacy && !json_array_size(dns)};
    _cleanup_free_ char *copy = xstrdup(host ? host : "");
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        parse_line(&rc, line);
    if (json_array_size(dns)) {
        size_t i;
        json_t *v;
        buf_reset(&rc.ns);
        json_array_foreach(dns, i, v) buf_printf(&rc.ns, "nameserver %s\n", json_string_value(v));
    }
    if (rc.legacy && !rc.ns.len) /* libnetwork's fallback when none is left */
        buf_puts(&rc.ns, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    if (json_array_size(search)) {
        buf_reset(&rc.search);
        list_words(&rc.search, search, true);
    }
    if (json_array_size(options)) {
        buf_reset(&rc.options);
        list_words(&rc.options, options, false);
    }
    struct buf out = {0};
    buf_append(&out, rc.ns.data, rc.ns.len);
    if (rc.search.len)
        buf_printf(&out, "search %.*s\n", (int)rc.search.len, rc.search.data);
    if (rc.options.len)
        buf_printf(&out, "options %.*s\n", (int)rc.options.len, rc.options.data);
    buf_append(&out, rc.other.data, rc.other.len);
    buf_reserve(&out, 0);
    buf_free(&rc.ns);
    buf_free(&rc.search);
    buf_free(&rc.options);
    buf_free(&rc.other);
    return buf_steal(&out, NULL);
}

char *resolvconf_build(const char *host, const json_t *dns, const json_t *search,
                       const json_t *options)
{
    return build(host, dns, search, options, false);
}

char *resolvconf_build_bridge(const char *host, const json_t *dns, const json_t *search,
                              const json_t *options)
{
    return build(host, dns, search, options, true);
}

char *resolvconf_build_user(const char *host, const json_t *search, const json_t *options)
{
    _cleanup_json_ json_t *dns = json_pack("[s]", "127.0.0.11");
    _cleanup_json_ json_t *opts = json_array();
    bool ndots = false;
    size_t i;
    json_t *v;
    json_array_foreach(options, i, v) ndots =
        ndots || !strncmp(json_string_value(v) ?: "", "ndots:", 6);
    if (!ndots)
        json_array_append_new(opts, json_string("ndots:0"));
    json_array_extend(opts, (json_t *)options);
    return build(host, dns, search, opts, false);
}
