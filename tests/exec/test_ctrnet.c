/* tests/exec/test_ctrnet.c — exec/ctrnet.c's pure parts: which containers are on the default
 * bridge, and their /etc/hosts line as dockerd's makeHostsRecs writes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "exec/ctrnet.h"

static void line(const char *ip, const char *host, const char *domain, const char *want)
{
    _cleanup_buf_ struct buf b = {0};
    ctrnet_hosts_record(ip, host, domain, &b);
    buf_reserve(&b, 0);
    assert_string_equal(b.data ? b.data : "", want);
}

static void test_hosts_record(void **state)
{
    (void)state;
    line("172.17.0.2", "3f4e5d6c7b8a", NULL, "172.17.0.2\t3f4e5d6c7b8a\n");
    line("172.17.0.2", "web", "", "172.17.0.2\tweb\n");
    /* FQDN first, then the bare name */
    line("172.17.0.3", "web", "example.com", "172.17.0.3\tweb.example.com web\n");
    line("10.0.0.9", "db.internal", NULL, "10.0.0.9\tdb.internal db\n");
    line("10.0.0.9", "db.internal", "corp", "10.0.0.9\tdb.internal.corp db\n");
    /* no address or no name: no line */
    line("", "web", NULL, "");
    line("10.0.0.9", "", NULL, "");
}

static void test_on_bridge(void **state)
{
    (void)state;
    static const struct {
        const char *hc;
        bool with, without;
    } cases[] = {
        {"{}", true, false},
        {"{\"NetworkMode\":\"\"}", true, false},
        {"{\"NetworkMode\":\"default\"}", true, false},
        {"{\"NetworkMode\":\"bridge\"}", true, false},
        {"{\"NetworkMode\":\"none\"}", false, false},
        {"{\"NetworkMode\":\"host\"}", false, false},
        {"{\"NetworkMode\":\"container:abc\"}", false, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *hc = json_loads(cases[i].hc, 0, NULL);
        assert_int_equal(ctrnet_on_bridge(hc, true), cases[i].with);
        assert_int_equal(ctrnet_on_bridge(hc, false), cases[i].without);
        json_decref(hc);
    }
    assert_true(ctrnet_on_bridge(NULL, true)); /* no HostConfig at all */
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_hosts_record),
                                       cmocka_unit_test(test_on_bridge)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
