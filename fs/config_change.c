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

/* Next word of a key=value list: quotes group, backslash escapes; NULL at the end. */
static char *next_word(const char **p)
{
    while (isspace((unsigned char)**p))
        (*p)++;
    if (!**p)
        return NULL;
    struct buf w = {0};
    char quote = 0;
    for (; **p && (quote || !isspace((unsigned char)**p)); (*p)++) {
        char c = **p;
        if (quote && c == quote)
            quote = 0;
        else if (!quote && (c == '"' || c == '\''))
            quote = c;
        else if (c == '\\' && (*p)[1] && quote != '\'')
            buf_append(&w, ++(*p), 1);
        else
            buf_append(&w, &c, 1);
    }
    buf_reserve(&w, 0);
    return buf_steal(&w, NULL);
}

/* "k=v k2=v2", or the legacy "k v" form; fn(config-field, key, value) for each pair. */
static int pairs(json_t *config, const char *text, const char *what,
                 void (*fn)(json_t *config, const char *k, const char *v), struct berth_err **err)
{
    const char *p = text;
    _cleanup_free_ char *first = next_word(&p);
    if (!first)
        return berth_user_error(err, EINVAL, "%s requires at least one argument", what);
    if (!strchr(first, '=')) { /* legacy: the rest of the line is the value */
        while (isspace((unsigned char)*p))
            p++;
        fn(config, first, p);
        return 0;
    }
    for (char *w = take_ptr(first); w; w = next_word(&p)) {
        char *eq = strchr(w, '=');
        if (!eq) {
            free(w);
            return berth_user_error(err, EINVAL, "%s names can not be blank", what);
        }
        *eq = '\0';
        fn(config, w, eq + 1);
        free(w);
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

static int expose(json_t *config, const char *text, struct berth_err **err)
{
    const char *p = text;
    for (char *w; (w = next_word(&p));) {
        char *slash = strchr(w, '/');
        _cleanup_free_ char *port = xasprintf("%s%s", w, slash ? "" : "/tcp");
        free(w);
        if (!isdigit((unsigned char)port[0]))
            return berth_user_error(err, EINVAL, "invalid containerPort: %s", port);
        set_in_object(config, "ExposedPorts", port);
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

/* WORKDIR is relative to the previous one, as in a build. */
static void workdir(json_t *config, const char *dir)
{
    const char *old = json_get_str(config, "WorkingDir");
    if (dir[0] == '/')
        json_set_str(config, "WorkingDir", dir);
    else if (!old || !*old)
        json_object_set_new(config, "WorkingDir", json_sprintf("/%s", dir));
    else
        json_object_set_new(config, "WorkingDir", json_sprintf("%s%s%s", old,
                                                               old[strlen(old) - 1] == '/' ? ""
                                                                                           : "/",
                                                               dir));
}

/* The instruction word of a line (heap), lower-cased as dockerd's parser reports it. */
static char *instruction(const char *line, const char **rest)
{
    while (isspace((unsigned char)*line))
        line++;
    size_t n = strcspn(line, " \t");
    char *word = xstrndup(line, n);
    for (char *c = word; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (rest)
        *rest = line + n;
    return word;
}

int config_apply_changes(json_t *config, char *const *lines, struct berth_err **err)
{
    bool cmd_set = false;
    for (size_t i = 0; lines && lines[i]; i++) {
        _cleanup_free_ char *word = instruction(lines[i], NULL);
        _cleanup_json_ json_t *cmd = cmd_set ? json_incref(json_object_get(config, "Cmd")) : NULL;
        int r = config_apply_change(config, lines[i], err);
        if (r < 0)
            return r;
        if (cmd && strcmp(word, "entrypoint") == 0)
            json_object_set(config, "Cmd", cmd);
        cmd_set |= strcmp(word, "cmd") == 0;
    }
    return 0;
}

int config_apply_change(json_t *config, const char *line, struct berth_err **err)
{
    const char *rest;
    _cleanup_free_ char *word = instruction(line, &rest);
    while (isspace((unsigned char)*rest))
        rest++;
    if (strcasecmp(word, "CMD") == 0) {
        json_object_set_new(config, "Cmd", command(rest));
    } else if (strcasecmp(word, "ENTRYPOINT") == 0) {
        json_object_set_new(config, "Entrypoint", command(rest));
        json_object_set_new(config, "Cmd", json_null()); /* as a build resets an inherited CMD */
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
        return berth_user_error(err, EINVAL, "%s is not a valid change command", word);
    }
    return 0;
}
