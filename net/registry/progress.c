/* net/registry/progress.c — builds Docker's jsonmessage objects as dockerd marshals them: fields in
 * its order (status, progressDetail, progress, id) and its omitempty rules. The "progress"
 * text is what old clients print; current clients draw the bar from progressDetail. */
#include "net/registry/progress.h"

#include <stdio.h>
#include <string.h>

#include "core/digest.h"
#include "core/macros.h"

#define BAR_WIDTH 50 /* go's JSONProgress draws 50 steps with the daemon's 200-column width */

static json_t *with_id(json_t *j, const char *id)
{
    if (id && *id)
        json_object_set_new(j, "id", json_string(id));
    return j;
}

json_t *progress_status(const char *id, const char *status)
{
    return with_id(json_pack("{ss}", "status", status), id);
}

json_t *progress_update(const char *id, const char *action)
{
    return with_id(json_pack("{ss s{}}", "status", action, "progressDetail"), id);
}

void progress_human_size(int64_t n, char *out, size_t len)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    double v = (double)n;
    size_t u = 0;
    while (v >= 1000 && u + 1 < ARRAY_SIZE(units)) {
        v /= 1000;
        u++;
    }
    snprintf(out, len, "%.4g%s", v, units[u]);
}

/* JSONProgress.String(): "[=====>    ] 1.2MB/2.4MB", only the size when there is no total
 * (or the count ran past it), nothing when there is neither. */
static void bar_text(int64_t current, int64_t total, char *out, size_t len)
{
    char cur[32], tot[32], bar[BAR_WIDTH + 4];
    progress_human_size(current, cur, sizeof(cur));
    if (total <= 0) {
        snprintf(out, len, "%8s", cur);
        return;
    }
    int steps = (int)((double)current / (double)total * 100) / 2;
    steps = steps > BAR_WIDTH ? BAR_WIDTH : steps;
    bar[0] = '[';
    memset(bar + 1, '=', (size_t)steps);
    bar[1 + steps] = '>';
    memset(bar + 2 + steps, ' ', (size_t)(BAR_WIDTH - steps));
    snprintf(bar + 2 + BAR_WIDTH, sizeof(bar) - 2 - BAR_WIDTH, "]");
    progress_human_size(total, tot, sizeof(tot));
    if (current > total)
        snprintf(out, len, "%s %8s", bar, cur);
    else
        snprintf(out, len, "%s %8s/%s", bar, cur, tot);
}

json_t *progress_bytes(const char *id, const char *status, int64_t current, int64_t total)
{
    json_t *detail = json_object();
    if (current != 0)
        json_object_set_new(detail, "current", json_integer(current));
    if (total != 0)
        json_object_set_new(detail, "total", json_integer(total));
    json_t *j = json_pack("{ss so}", "status", status, "progressDetail", detail);
    if (current > 0 || total > 0) {
        char text[160];
        bar_text(current, total, text, sizeof(text));
        json_object_set_new(j, "progress", json_string(text));
    }
    return with_id(j, id);
}

json_t *progress_error(const char *msg)
{
    return json_pack("{s{ss} ss}", "errorDetail", "message", msg, "error", msg);
}

void progress_short_id(const char *digest, char out[13])
{
    const char *hex = digest_valid(digest) ? digest_hex(digest) : digest;
    snprintf(out, 13, "%.12s", hex);
}
