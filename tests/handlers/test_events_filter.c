/* tests/handlers/test_events_filter.c — handlers/events_filter.c against dockerd's rules
 * (daemon/events/filter.go): exact type and event, the exec_create/exec_start/health_status
 * families by prefix, actor names and IDs by prefix for every event type, images with and
 * without their tag (an image event's name, a container event's image), labels, scope. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "handlers/events_filter.h"

/* The event: a container "web" (ID abcdef...) of busybox:latest with label env=prod. */
static bool match(const char *filters, const char *type, const char *action, const char *id,
                  const char *attrs)
{
    _cleanup_json_ json_t *f = filters ? json_loads(filters, 0, NULL) : NULL;
    _cleanup_json_ json_t *a = json_loads(attrs, 0, NULL);
    assert_true(!filters || f);
    assert_non_null(a);
    struct event_fields e = {type, action, "local", id, a};
    return events_filter_match(f, &e);
}

#define WEB_ATTRS            "{\"name\":\"web\",\"image\":\"busybox:latest\",\"env\":\"prod\"}"
#define WEB(filters, action) match(filters, "container", action, "abcdef0123", WEB_ATTRS)
#define IMG(filters, action)                                                                       \
    match(filters, "image", action, "sha256:9f8e",                                                 \
          "{\"name\":\"localhost:5000/app:v2\",\"a\":\"1\"}")

static void test_no_filter(void **state)
{
    (void)state;
    assert_true(WEB(NULL, "start"));
    assert_true(WEB("{}", "start"));
    assert_true(WEB("{\"type\":[]}", "start")); /* no values: no constraint */
}

static void test_type_event_scope(void **state)
{
    (void)state;
    assert_true(WEB("{\"type\":[\"container\"]}", "start"));
    assert_false(WEB("{\"type\":[\"image\"]}", "start"));
    assert_true(WEB("{\"type\":[\"image\",\"container\"]}", "start"));
    assert_true(WEB("{\"event\":[\"start\",\"die\"]}", "die"));
    assert_false(WEB("{\"event\":[\"star\"]}", "start")); /* exact */
    /* exec_start names the family: "exec_start: sh -c true" matches by prefix */
    assert_true(WEB("{\"event\":[\"exec_start\"]}", "exec_start: sh -c true"));
    assert_false(WEB("{\"event\":[\"exec_create\"]}", "exec_start: sh -c true"));
    assert_true(WEB("{\"event\":[\"exec_create\",\"st\"]}", "start")); /* prefix for all then */
    assert_true(WEB("{\"scope\":[\"local\"]}", "start"));
    assert_false(WEB("{\"scope\":[\"swarm\"]}", "start"));
}

static void test_names_and_ids(void **state)
{
    (void)state;
    assert_true(WEB("{\"container\":[\"web\"]}", "start"));
    assert_true(WEB("{\"container\":[\"we\"]}", "start")); /* a prefix of the name */
    assert_true(WEB("{\"container\":[\"abcd\"]}", "start"));
    assert_false(WEB("{\"container\":[\"db\"]}", "start"));
    assert_true(WEB("{\"container\":[\"db\",\"web\"]}", "start"));
    /* dockerd holds every event to it: an image's ID and name are not the container's */
    assert_false(IMG("{\"container\":[\"web\"]}", "tag"));
    assert_false(WEB("{\"volume\":[\"data\"]}", "start"));
    assert_true(
        match("{\"volume\":[\"data\"]}", "volume", "create", "data", "{\"driver\":\"local\"}"));
}

static void test_images(void **state)
{
    (void)state;
    assert_true(WEB("{\"image\":[\"busybox:latest\"]}", "start"));
    assert_true(WEB("{\"image\":[\"busybox\"]}", "start")); /* without its tag */
    assert_false(WEB("{\"image\":[\"busy\"]}", "start"));   /* no prefixes */
    assert_true(IMG("{\"image\":[\"sha256:9f8e\"]}", "untag"));
    assert_true(IMG("{\"image\":[\"localhost:5000/app:v2\"]}", "tag"));
    assert_true(IMG("{\"image\":[\"localhost:5000/app\"]}", "tag"));
    assert_false(IMG("{\"image\":[\"busybox\"]}", "tag"));
    /* an image event's own "image" attribute does not count: its name does */
    assert_false(match("{\"image\":[\"x\"]}", "image", "tag", "sha256:1", "{\"image\":\"x\"}"));
}

static void test_labels(void **state)
{
    (void)state;
    assert_true(WEB("{\"label\":[\"env\"]}", "start"));
    assert_true(WEB("{\"label\":[\"env=prod\"]}", "start"));
    assert_false(WEB("{\"label\":[\"env=dev\"]}", "start"));
    assert_false(WEB("{\"label\":[\"env\",\"tier\"]}", "start")); /* every one must hold */
    assert_false(match("{\"label\":[\"env\"]}", "image", "prune", "", "{}"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_filter),     cmocka_unit_test(test_type_event_scope),
        cmocka_unit_test(test_names_and_ids), cmocka_unit_test(test_images),
        cmocka_unit_test(test_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
