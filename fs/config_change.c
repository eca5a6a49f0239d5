/* fs/config_change.c — a small Dockerfile-instruction reader: JSON-array and shell forms,
 * key=value lists with quotes, and the config fields each instruction sets. */
#include "fs/config_change.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/xalloc.h"

/* ["a", "b"] when text is a JSON array of strings, else NULL. */
static json_t *json_form(const char *text)
{
    if (*text != '[')
        return NULL;
    json_t *a = json_loads(text, 0, NULL);
    size_t i;
    json_t *s;
    json_array_foreach(a, i, s) if (!json_is_string(s))
    {
        json_decref(a);
        return NULL;
    }
    return json_is_array(a) ? a : (json_decref(a), NULL);
}

static json_t *command(const char *text)
{
    json_t *a = json_form(text);
    return a ? a : json_pack("[sss]", "/bin/sh", "-c", text);
}

/* A word as the shell reads it: quotes group (and go), a backslash escapes any character
 * outside quotes but in double quotes only " \\ and $, and nothing in single quotes. With
 * whole, spaces do not end the word (the value of a legacy "ENV k v w"). NULL at the end. */
static char *scan_word(const char **p, bool whole)
{
    while (isspace((unsigned char)**p))
        (*p)++;
    if (!**p)
        return NULL;
    struct buf w = {0};
    char quote = 0;
    for (; **p && (quote || whole || !isspace((unsigned char)**p)); (*p)++) {
        char c = **p;
        if (quote && c == quote)
            quote = 0;
        else if (!quote && (c == '"' || c == '\''))
            quote = c;
        else if (c == '\\' && (*p)[1] && (!quote || (quote == '"' && strchr("\"\\$", (*p)[1]))))
            buf_append(&w, ++(*p), 1);
        else
            buf_append(&w, &c, 1);
    }
    buf_reserve(&w, 0);
    return buf_steal(&w, NULL);
}

static char *next_word(const char **p)
{
    return scan_word(p, false);
}

/* "k=v k2=v2", or the legacy "k v" form; fn(config-field, key, value) for each pair. The
 * errors are dockerd's (its Dockerfile parser's) words. */
static int pairs(json_t *config, const char *text, const char *what,
                 void (*fn)(json_t *config, const char *k, const char *v), struct berth_err **err)
{
    const char *p = text;
    _cleanup_free_ char *first = next_word(&p);
    if (!first)
        return berth_user_error(err, EINVAL, "%s requires at least one argument", what);
    if (!strchr(first, '=')) { /* legacy: the rest of the line is the value */
        _cleanup_free_ char *value = scan_word(&p, true);
        if (!value)
            return berth_user_error(err, EINVAL, "%s must have two arguments", what);
        fn(config, first, value);
        return 0;
    }
    for (char *w = take_ptr(first); w; w = next_word(&p)) {
        _cleanup_free_ char *word = w;
        char *eq = strchr(word, '=');
        if (!eq)
            return berth_user_error(err, EINVAL,
                                    "Syntax error - can't find = in \"%s\". Must be of the form: "
                                    "name=value",
                                    word);
        if (eq == word)
            return berth_user_error(err, EINVAL, "%s names can not be blank", what);
        *eq = '\0';
        fn(config, word, eq + 1);
    }
    return 0;
}

static void set_env(json_t *config, const char *k, const char *v)
{
    json_t *env = json_object_get(config, "Env");
    if (!json_is_array(env))
        json_object_set_new(config, "Env", env = json_array());
    size_t klen = strlen(k), i;
    json_t *e;
    _cleanup_free_ char *entry = xasprintf("%s=%s", k, v);
    json_array_foreach(env, i, e)
    {
        const char *s = json_string_value(e);
        if (s && strncmp(s, k, klen) == 0 && s[klen] == '=') {
            json_array_set_new(env, i, json_string(entry));
            return;
        }
    }
    json_array_append_new(env, json_string(entry));
}

static void set_label(json_t *config, const char *k, const char *v)
{
    json_t *labels = json_object_get(config, "Labels");
    if (!json_is_object(labels))
        json_object_set_new(config, "Labels", labels = json_object());
    json_object_set_new(labels, k, json_string(v));
}

static void set_in_object(json_t *config, const char *field, const char *key)
{
    json_t *o = json_object_get(config, field);
    if (!json_is_object(o))
        json_object_set_new(config, field, o = json_object());
    json_object_set_new(o, key, json_object());
}

/* One EXPOSE word as Docker's nat.ParsePortSpec reads it: PORT or FIRST-LAST, then /tcp,
 * /udp or /sctp in any case (tcp when absent); a range exposes each port. */
static int expose_word(json_t *config, const char *w, struct berth_err **err)
{
    const char *slash = strchr(w, '/');
    _cleanup_free_ char *ports = slash ? xstrndup(w, (size_t)(slash - w)) : xstrdup(w);
    _cleanup_free_ char *proto = xstrdup(slash ? slash + 1 : "tcp");
    for (char *c = proto; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0 && strcmp(proto, "sctp") != 0)
        return berth_user_error(err, EINVAL, "invalid proto: %s", slash + 1);
    char *end;
    unsigned long first = isdigit((unsigned char)ports[0]) ? strtoul(ports, &end, 10) : 0, last;
    bool ok = isdigit((unsigned char)ports[0]) && first <= 65535;
    if (ok && *end == '-' && isdigit((unsigned char)end[1]))
        last = strtoul(end + 1, &end, 10);
    else
        last = first;
    if (!ok || *end || last > 65535 || last < first)
        return berth_user_error(err, EINVAL, "invalid containerPort: %s", ports);
    for (unsigned long port = first; port <= last; port++) {
        _cleanup_free_ char *key = xasprintf("%lu/%s", port, proto);
        set_in_object(config, "ExposedPorts", key);
    }
    return 0;
}

static int expose(json_t *config, const char *text, struct berth_err **err)
{
    const char *p = text;
    _cleanup_free_ char *first = next_word(&p);
    if (!first)
        return berth_user_error(err, EINVAL, "EXPOSE requires at least one argument");
    for (char *w = take_ptr(first); w; w = next_word(&p)) {
        _cleanup_free_ char *word = w;
        int r = expose_word(config, word, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int volume(json_t *config, const char *text)
{
    json_t *list = json_form(text);
    if (list) {
        size_t i;
        json_t *s;
        json_array_foreach(list, i, s) set_in_object(config, "Volumes", json_string_value(s));
        json_decref(list);
        return 0;
    }
    const char *p = text;
    for (char *w; (w = next_word(&p)); free(w))
        set_in_object(config, "Volumes", w);
    return 0;
}

/* Go's filepath.Join("/", base, rel) (rel alone when absolute): absolute and clean, "." and
 * ".." resolved, no trailing slash. */
static char *join_clean(const char *base, const char *rel)
{
    _cleanup_free_ char *all = rel[0] == '/' ? xstrdup(rel) : xasprintf("%s/%s", base, rel);
    char *out = xmalloc(strlen(all) + 2);
    size_t len = 0;
    for (const char *p = all; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (len > 0 && out[--len] != '/')
                ;
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            out[len++] = '/';
            memcpy(out + len, p, n);
            len += n;
        }
        p += n + (p[n] == '/');
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = '\0';
    return out;
}

/* WORKDIR is relative to the previous one, as in a build. */
static void workdir(json_t *config, const char *dir)
{
    const char *old = json_get_str(config, "WorkingDir");
    _cleanup_free_ char *path = join_clean(old ? old : "", dir);
    json_set_str(config, "WorkingDir", path);
}

/* cmd_set: a CMD came earlier in the same changes, which ENTRYPOINT then keeps (dockerd resets
 * only an inherited CMD). */
static int apply(json_t *config, const char *line, bool *cmd_set, struct berth_err **err)
{
    while (isspace((unsigned char)*line))
        line++;
    size_t n = strcspn(line, " \t");
    _cleanup_free_ char *word = xstrndup(line, n);
    _cleanup_free_ char *rest = xstrdup(line + n + strspn(line + n, " \t"));
    for (size_t len = strlen(rest); len > 0 && isspace((unsigned char)rest[len - 1]);)
        rest[--len] = '\0';
    if (strcasecmp(word, "CMD") == 0) {
        json_object_set_new(config, "Cmd", command(rest));
        *cmd_set = true;
    } else if (strcasecmp(word, "ENTRYPOINT") == 0) {
        json_object_set_new(config, "Entrypoint", command(rest));
        if (!*cmd_set)
            json_object_set_new(config, "Cmd", json_null());
    } else if (strcasecmp(word, "ENV") == 0) {
        return pairs(config, rest, "ENV", set_env, err);
    } else if (strcasecmp(word, "LABEL") == 0) {
        return pairs(config, rest, "LABEL", set_label, err);
    } else if (strcasecmp(word, "EXPOSE") == 0) {
        return expose(config, rest, err);
    } else if (strcasecmp(word, "VOLUME") == 0) {
        return volume(config, rest);
    } else if (strcasecmp(word, "USER") == 0 || strcasecmp(word, "STOPSIGNAL") == 0) {
        json_set_str(config, strcasecmp(word, "USER") == 0 ? "User" : "StopSignal", rest);
    } else if (strcasecmp(word, "WORKDIR") == 0) {
        workdir(config, rest);
    } else if (strcasecmp(word, "ONBUILD") == 0) {
        json_t *ob = json_object_get(config, "OnBuild");
        if (!json_is_array(ob))
            json_object_set_new(config, "OnBuild", ob = json_array());
        json_array_append_new(ob, json_string(rest));
    } else {
        for (char *c = word; *c; c++) /* dockerd's parser reports it lower-cased */
            *c = (char)tolower((unsigned char)*c);
        return berth_user_error(err, EINVAL, "%s is not a valid change command", word);
    }
    return 0;
}

int config_apply_change(json_t *config, const char *line, struct berth_err **err)
{
    bool cmd_set = false;
    return apply(config, line, &cmd_set, err);
}

int config_apply_changes(json_t *config, char *const *lines, struct berth_err **err)
{
    bool cmd_set = false;
    for (size_t i = 0; lines && lines[i]; i++) {
        int r = apply(config, lines[i], &cmd_set, err);
        if (r < 0)
            return r;
    }
    return 0;
}
