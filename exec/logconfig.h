/* exec/logconfig.h — a container's HostConfig.LogConfig as dockerd settles it at create (the
 * daemon's log-driver and log-opts when the request names none, options checked for the
 * driver) and what the writer and `docker logs` read from it. berth has the json-file and
 * none drivers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"

/* Settle hc's LogConfig: an empty Type becomes default_driver ("json-file" when NULL) with
 * default_opts merged under the container's own. EINVAL in dockerd's words for an unknown
 * driver or option, or a bad max-size/max-file. */
int log_config_settle(json_t *hc, const char *default_driver, const json_t *default_opts,
                      struct berth_err **err);
/* Check daemon.json's log-driver and log-opts the same way (at start-up). */
int log_config_check(const char *driver, const json_t *opts, struct berth_err **err);

/* Does the container keep a json-file log (false for the none driver)? */
bool log_config_enabled(const json_t *hc);
/* Rotation limits from a settled LogConfig: max_size <= 0 means never rotate. */
void log_config_limits(const json_t *hc, int64_t *max_size, int *max_file);
/* The extra attributes json-file writes with each record ("attrs"): the container labels and
 * env variables the labels/labels-regex/env/env-regex options name, and the "tag" option with
 * its {{.Name}}-style fields. A compact JSON object text, or NULL when there are none. */
struct container;
char *log_config_attrs(const struct container *c);
/* "10m", "1g", "100k" or bytes (decimal units, as Docker's FromHumanSize); -1 when invalid. */
int64_t log_parse_size(const char *s);
