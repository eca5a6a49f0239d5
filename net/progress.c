/* net/progress.c — builds Docker's jsonmessage objects. The "progress" text is what old
 * clients print; current clients draw the bar from progressDetail themselves. */
#include "net/progress.h"

#include <stdio.h>
#include <string.h>

#include "core/digest.h"

json_t *progress_status(const char *id, const char *status)
{
    json_t *j = json_pack("{ss}", "status", status);
    if (id)
        json_object_set_new(j, "id", json_string(id));
    return j;
}

void progress_human_size(int64_t n, char *out, size_t len)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    double v = (double)n;
    size_t u = 0;
    while (v >= 1000 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1000;
        u++;
    }
    snprintf(out, len, "%.4g%s", v, units[u]);
}

json_t *progress_bytes(const char *id, const char *status, int64_t current, int64_t total)
{
    char bar[64] = "", cur[32], tot[32], text[160];
    progress_human_size(current, cur, sizeof(cur));
    if (total > 0) {
        int pct = (int)(current * 100 / total);
        int bars = (pct > 100 ? 100 : pct) / 2;
        bar[0] = '[';
        for (int i = 0; i < 50; i++)
            bar[1 + i] = i < bars ? '=' : (i == bars ? '>' : ' ');
        bar[51] = ']';
        bar[52] = '\0';
        if (bars == 50)
            bar[50] = '>';
        progress_human_size(total, tot, sizeof(tot));
        snprintf(text, sizeof(text), "%s %8s/%s", bar, cur, tot);
    } else {
        snprintf(text, sizeof(text), "%8s", cur);
    }
    json_t *j = json_pack("{ss s{sI sI} ss}", "status", status, "progressDetail", "current",
                          (json_int_t)current, "total", (json_int_t)total, "progress", text);
    if (id)
        json_object_set_new(j, "id", json_string(id));
    return j;
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
