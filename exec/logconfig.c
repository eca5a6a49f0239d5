/* exec/logconfig.c — LogConfig: the driver names and json-file options dockerd accepts. */
#include "exec/logconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

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
