/* exec/logconfig.c — LogConfig: the driver names and json-file options dockerd accepts. */
#include "exec/logconfig.h"

#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/json.h"
#include "core/macros.h"
#include "core/xalloc.h"
#include "exec/container.h"

static const char *const json_file_opts[] = {
    "max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag", NULL};

static bool known_opt(const char *key)
{
    for (size_t i = 0; json_file_opts[i]; i++)
        if (strcmp(key, json_file_opts[i]) == 0)
            return true;
    return false;
}

int64_t log_parse_size(const char *s)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -1;
    int64_t mult = 1;
    switch (*end) {
    case 'k':
    case 'K':
        mult = 1000;
        end++;
        break;
    case 'm':
    case 'M':
        mult = 1000 * 1000;
        end++;
        break;
    case 'g':
    case 'G':
        mult = 1000 * 1000 * 1000;
        end++;
        break;
    case 't':
    case 'T':
        mult = 1000LL * 1000 * 1000 * 1000;
        end++;
        break;
    }
    if (*end == 'b' || *end == 'B')
        end++;
    return *end ? -1 : (int64_t)(v * (double)mult);
}

int log_config_check(const char *driver, const json_t *opts, struct berth_err **err)
{
    if (!driver || !*driver)
        driver = "json-file";
    if (strcmp(driver, "none") == 0) {
        if (opts && json_object_size(opts))
            return berth_user_error(err, EINVAL, "unknown log opt '%s' for none log driver",
                                    json_object_iter_key(json_object_iter((json_t *)opts)));
        return 0;
    }
    if (strcmp(driver, "json-file") != 0)
        return berth_user_error(err, EINVAL, "logger: no log driver named '%s' is registered",
                                driver);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)opts, key, v)
    {
        if (!known_opt(key))
            return berth_user_error(err, EINVAL, "unknown log opt '%s' for json-file log driver",
                                    key);
        if (!json_is_string(v))
            return berth_user_error(err, EINVAL, "log opt '%s' must be a string", key);
    }
    const char *size = json_get_str(opts, "max-size"), *files = json_get_str(opts, "max-file");
    if (size && log_parse_size(size) < 0)
        return berth_user_error(err, EINVAL, "invalid size: '%s'", size);
    if (files) {
        char *end;
        long n = strtol(files, &end, 10);
        if (*end || end == files)
            return berth_user_error(err, EINVAL, "strconv.Atoi: parsing \"%s\": invalid syntax",
                                    files);
        if (n < 1)
            return berth_user_error(err, EINVAL, "max-file cannot be less than 1");
    }
    return 0;
}

int log_config_settle(json_t *hc, const char *default_driver, const json_t *default_opts,
                      struct berth_err **err)
{
    json_t *lc = json_object_get(hc, "LogConfig");
    if (!json_is_object(lc)) {
        lc = json_object();
        json_object_set_new(hc, "LogConfig", lc);
    }
    const char *type = json_get_str(lc, "Type");
    json_t *cfg = json_object_get(lc, "Config");
    if (!json_is_object(cfg)) {
        cfg = json_object();
        json_object_set_new(lc, "Config", cfg);
    }
    if (!type || !*type) { /* the daemon's driver, its options under the container's */
        type = default_driver && *default_driver ? default_driver : "json-file";
        json_object_set_new(lc, "Type", json_string(type));
        type = json_get_str(lc, "Type");
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)default_opts, key, v) if (!json_object_get(cfg, key))
            json_object_set(cfg, key, v);
    }
    return log_config_check(type, cfg, err);
}

bool log_config_enabled(const json_t *hc)
{
    const char *type = json_get_str(json_object_get(hc, "LogConfig"), "Type");
    return !type || strcmp(type, "none") != 0;
}

void log_config_limits(const json_t *hc, int64_t *max_size, int *max_file)
{
    const json_t *cfg = json_object_get(json_object_get(hc, "LogConfig"), "Config");
    const char *files = json_get_str(cfg, "max-file");
    *max_size = log_parse_size(json_get_str(cfg, "max-size"));
    *max_file = files ? atoi(files) : 1;
    if (*max_file < 1)
        *max_file = 1;
}

/* ---- attrs ---- */

static bool listed(const char *list, const char *key, size_t klen)
{
    for (const char *p = list; p && *p;) {
        size_t n = strcspn(p, ",");
        if (n == klen && strncmp(p, key, n) == 0)
            return true;
        p += n + (p[n] == ',');
    }
    return false;
}

static bool matches(const char *pattern, const char *key)
{
    regex_t re;
    if (!pattern || !*pattern || regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool m = regexec(&re, key, 0, NULL, 0) == 0;
    regfree(&re);
    return m;
}

static void add_labels(json_t *attrs, const json_t *opts, const json_t *labels)
{
    const char *list = json_get_str(opts, "labels"), *re = json_get_str(opts, "labels-regex");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)labels, key, v)
    {
        if (json_is_string(v) && (listed(list, key, strlen(key)) || matches(re, key)))
            json_object_set(attrs, key, v);
    }
}

static void add_env(json_t *attrs, const json_t *opts, const json_t *env)
{
    const char *list = json_get_str(opts, "env"), *re = json_get_str(opts, "env-regex");
    size_t i;
    json_t *v;
    json_array_foreach(env, i, v)
    {
        const char *kv = json_string_value(v), *eq = kv ? strchr(kv, '=') : NULL;
        if (!eq)
            continue;
        _cleanup_free_ char *key = xstrndup(kv, (size_t)(eq - kv));
        if (listed(list, key, strlen(key)) || matches(re, key))
            json_object_set_new(attrs, key, json_string(eq + 1));
    }
}

/* The fields of Docker's log tag template berth knows; anything else stays as written. */
static char *expand_tag(const char *tag, const struct container *c)
{
    const char *image = json_get_str(c->config, "Image");
    const char *image_hex = strchr(c->image_id, ':') ? strchr(c->image_id, ':') + 1 : c->image_id;
    const struct {
        const char *field;
        char *value;
    } fields[] = {{"{{.ID}}", xstrndup(c->id, 12)},
                  {"{{.FullID}}", xstrdup(c->id)},
                  {"{{.Name}}", xstrdup(c->name)},
                  {"{{.ImageID}}", xstrndup(image_hex, 12)},
                  {"{{.ImageFullID}}", xstrdup(c->image_id)},
                  {"{{.ImageName}}", xstrdup(image ? image : "")},
                  {"{{.DaemonName}}", xstrdup("docker")}};
    size_t nfields = ARRAY_SIZE(fields);
    struct buf b = {0};
    for (const char *p = tag; *p;) {
        size_t k = 0;
        while (k < nfields && strncmp(p, fields[k].field, strlen(fields[k].field)) != 0)
            k++;
        if (k < nfields) {
            buf_puts(&b, fields[k].value);
            p += strlen(fields[k].field);
        } else {
            buf_append(&b, p++, 1);
        }
    }
    for (size_t k = 0; k < nfields; k++)
        free(fields[k].value);
    buf_reserve(&b, 0);
    return buf_steal(&b, NULL);
}

char *log_config_attrs(const struct container *c)
{
    json_t *opts = json_object_get(json_object_get(c->host_config, "LogConfig"), "Config");
    if (!json_is_object(opts))
        return NULL;
    _cleanup_json_ json_t *attrs = json_object();
    add_labels(attrs, opts, json_object_get(c->config, "Labels"));
    add_env(attrs, opts, json_object_get(c->config, "Env"));
    const char *tag = json_get_str(opts, "tag");
    if (tag && *tag) {
        _cleanup_free_ char *expanded = expand_tag(tag, c);
        json_object_set_new(attrs, "tag", json_string(expanded));
    }
    return json_object_size(attrs) ? json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
}
