/* tests/net/test_progress.c — net/registry/progress.c: the jsonmessage lines byte for byte as
 * dockerd marshals them (its field order, omitempty, the 51-column bar of JSONProgress.String()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "net/registry/progress.h"

/* The compact line berthd sends (without its line end). */
static void expect_json(json_t *msg, const char *want)
{
    _cleanup_free_ char *line = json_dump_line(msg, NULL);
    line[strcspn(line, "\n")] = '\0';
    json_decref(msg);
    assert_string_equal(line, want);
}

static void test_status_and_update(void **state)
{
    (void)state;
    /* progress.Message: no progressDetail. */
    expect_json(progress_status("latest", "Pulling from library/alpine"),
                "{\"status\":\"Pulling from library/alpine\",\"id\":\"latest\"}");
    expect_json(progress_status(NULL, "Digest: sha256:ab"), "{\"status\":\"Digest: sha256:ab\"}");
    /* progress.Update: an empty progressDetail, before the id. */
    expect_json(progress_update("0123456789ab", "Already exists"),
                "{\"status\":\"Already exists\",\"progressDetail\":{},\"id\":\"0123456789ab\"}");
    expect_json(progress_update("", "Pushed"), "{\"status\":\"Pushed\",\"progressDetail\":{}}");
}

static void test_bytes(void **state)
{
    (void)state;
    char bar[64];
    /* Half way: 25 "=", ">", 25 spaces. */
    snprintf(bar, sizeof(bar), "[%.*s>%25s]", 25, "==========================", "");
    char want[320];
    snprintf(want, sizeof(want),
             "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1500,\"total\":3000},"
             "\"progress\":\"%s    1.5kB/3kB\",\"id\":\"0123456789ab\"}",
             bar);
    expect_json(progress_bytes("0123456789ab", "Downloading", 1500, 3000), want);
    /* Done: 50 "=" and ">", no space left. */
    snprintf(want, sizeof(want),
             "{\"status\":\"Extracting\",\"progressDetail\":{\"current\":3000,\"total\":3000},"
             "\"progress\":\"[%s>]      3kB/3kB\",\"id\":\"x\"}",
             "==================================================");
    expect_json(progress_bytes("x", "Extracting", 3000, 3000), want);
    /* Nothing yet: current left out (omitempty), a bar at zero. */
    snprintf(want, sizeof(want),
             "{\"status\":\"Pushing\",\"progressDetail\":{\"total\":3000},"
             "\"progress\":\"[>%50s]       0B/3kB\",\"id\":\"x\"}",
             "");
    expect_json(progress_bytes("x", "Pushing", 0, 3000), want);
    /* No total: the size alone; past the total: the count alone. */
    expect_json(progress_bytes("x", "Downloading", 2000, 0),
                "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":2000},"
                "\"progress\":\"     2kB\",\"id\":\"x\"}");
    snprintf(want, sizeof(want),
             "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":4000,\"total\":3000},"
             "\"progress\":\"[%s>]      4kB\",\"id\":\"x\"}",
             "==================================================");
    expect_json(progress_bytes("x", "Downloading", 4000, 3000), want);
    /* Neither: an empty detail and no text. */
    expect_json(progress_bytes("x", "Downloading", 0, 0),
                "{\"status\":\"Downloading\",\"progressDetail\":{},\"id\":\"x\"}");
}

static void test_short_id(void **state)
{
    (void)state;
    char id[13];
    progress_short_id("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                      id);
    assert_string_equal(id, "0123456789ab");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_and_update),
        cmocka_unit_test(test_bytes),
        cmocka_unit_test(test_short_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
