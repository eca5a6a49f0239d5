/* net/registry/progress.h — Docker's JSON progress messages (pull, push, load): status lines keyed
 * by a short layer id, byte progress the CLI draws as bars, and in-stream errors. */
#pragma once

#include <stdint.h>

#include <jansson.h>

/* dockerd's two kinds of status line, told apart by progressDetail (ids omitted when NULL or
 * empty; new references). A message ("Pulling from x", "Digest: …", "Status: …"):
 * {"status", "id"}. */
json_t *progress_status(const char *id, const char *status);
/* A layer's step ("Already exists", "Pulling fs layer", "Pushed", …):
 * {"status", "progressDetail": {}, "id"}. */
json_t *progress_update(const char *id, const char *action);
/* {"status", "progressDetail": {"current", "total"}, "progress": "[==>  ] 1MB/2MB", "id"};
 * zero counts are left out, and the text too when both are. */
json_t *progress_bytes(const char *id, const char *status, int64_t current, int64_t total);
/* {"errorDetail": {"message": msg}, "error": msg} */
json_t *progress_error(const char *msg);
/* The 12-character id a layer is shown with: the digest's hex, shortened. */
void progress_short_id(const char *digest, char out[13]);
/* go-units' HumanSize: 4 significant digits, decimal units ("1.234MB"). */
void progress_human_size(int64_t n, char *out, size_t len);
