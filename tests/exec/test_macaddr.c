/* tests/exec/test_macaddr.c — exec/macaddr.c: Go's MAC address forms, and --mac-address settled
 * as dockerd's create settles it for old and new API versions and each network mode. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "exec/macaddr.h"

static void test_parse(void **state)
{
    (void)state;
    unsigned char b[20];
    assert_int_equal(macaddr_parse("02:42:ac:11:00:02", b), 6);
    assert_int_equal(b[0], 0x02);
    assert_int_equal(b[5], 0x02);
    assert_int_equal(macaddr_parse("02-42-AC-11-00-02", b), 6);
    assert_int_equal(b[2], 0xac);
    assert_int_equal(macaddr_parse("0242.ac11.0002", b), 6);
    assert_int_equal(b[3], 0x11);
    assert_int_equal(macaddr_parse("02:42:ac:11:00:02:00:01", b), 8);
    assert_int_equal(macaddr_parse("02:42:ac:11:00", b), 0);
    assert_int_equal(macaddr_parse("02:42-ac:11:00:02", b), 0);
    assert_int_equal(macaddr_parse("02:42:ac:11:00:0g", b), 0);
    assert_int_equal(macaddr_parse("0242.ac11.000", b), 0);
    assert_int_equal(macaddr_parse("", b), 0);
}

/* macaddr_settle on a create body: the settled Config.MacAddress ("" for none), the warning
 * count, or "error: MSG". */
static char *settle(const char *body, bool old, size_t *nwarn)
{
    json_t *b = json_loads(body, 0, NULL), *w = json_array();
    _cleanup_err_ struct berth_err *err = NULL;
    assert_non_null(b);
    char *out = macaddr_settle(b, old, w, &err) < 0 ? xasprintf("error: %s", err->msg)
                                                    : xstrdup(json_get_str(b, "MacAddress") ?: "");
    *nwarn = json_array_size(w);
    json_decref(b);
    json_decref(w);
    return out;
}

static void expect(const char *body, bool old, const char *want, size_t warnings)
{
    size_t n;
    _cleanup_free_ char *got = settle(body, old, &n);
    if (strcmp(got, want) != 0 || n != warnings)
        fail_msg("%s (old=%d): got \"%s\" (%zu warnings), want \"%s\" (%zu)", body, old, got, n,
                 want, warnings);
}

static void test_settle(void **state)
{
    (void)state;
    const char *mac = "02:42:ac:11:00:99";
    /* docker 28 with --network none: the endpoint's address, no warning */
    expect("{\"HostConfig\":{\"NetworkMode\":\"none\"},\"NetworkingConfig\":{\"EndpointsConfig\":"
           "{\"none\":{\"MacAddress\":\"02:42:ac:11:00:99\"}}}}",
           false, mac, 0);
    /* ... without --network: the "default" endpoint */
    expect("{\"NetworkingConfig\":{\"EndpointsConfig\":{\"default\":{\"MacAddress\":"
           "\"02:42:ac:11:00:99\"}}}}",
           false, mac, 0);
    /* an old client's container-wide address conflicts with none and host */
    expect("{\"MacAddress\":\"02:42:ac:11:00:99\",\"HostConfig\":{\"NetworkMode\":\"host\"}}", true,
           "error: conflicting options: mac-address and the network mode", 0);
    expect("{\"MacAddress\":\"02:42:ac:11:00:99\",\"HostConfig\":{\"NetworkMode\":\"bridge\"}}",
           true, mac, 0);
    /* ... and an old client's endpoint address was not a thing yet */
    expect("{\"HostConfig\":{\"NetworkMode\":\"none\"},\"NetworkingConfig\":{\"EndpointsConfig\":"
           "{\"none\":{\"MacAddress\":\"02:42:ac:11:00:99\"}}}}",
           true, "", 0);
    /* a new client's container-wide address: deprecated, migrated for bridge */
    expect("{\"MacAddress\":\"02:42:ac:11:00:99\"}", false, mac, 1);
    expect("{\"MacAddress\":\"02:42:ac:11:00:99\",\"HostConfig\":{\"NetworkMode\":\"none\"}}",
           false, "", 1);
    expect("{\"MacAddress\":\"02:42:ac:11:00:99\",\"NetworkingConfig\":{\"EndpointsConfig\":"
           "{\"bridge\":{\"MacAddress\":\"02:42:ac:11:00:98\"}}}}",
           false,
           "error: the container-wide MAC address must match the endpoint-specific MAC address "
           "for the main network, or be left empty",
           0);
    expect("{\"HostConfig\":{\"NetworkMode\":\"none\"},\"NetworkingConfig\":{\"EndpointsConfig\":"
           "{\"none\":{\"MacAddress\":\"zz\"}}}}",
           false, "error: invalid JSON: address zz: invalid MAC address", 0);
    expect("{}", false, "", 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_parse), cmocka_unit_test(test_settle)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
