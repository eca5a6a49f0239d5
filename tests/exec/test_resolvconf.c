/* tests/exec/test_resolvconf.c — exec/resolvconf.c: the host's resolv.conf read as libnetwork
 * reads it (last search wins, options add up, comments and bad nameservers go, other
 * directives stay), --dns, --dns-search, --dns-option replacing their parts, and the default
 * bridge's transform (no loopback or IPv6 nameserver, Google's when none is left). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "exec/resolvconf.h"

static const char host[] = "# the host's\n"
                           "; also a comment\n"
                           "nameserver 10.0.0.1\n"
                           "nameserver not-an-ip\n"
                           "\n"
                           "domain old.example\n"
                           "search   a.example\tb.example\n"
                           "options ndots:1\n"
                           "options rotate\n"
                           "sortlist 10.0.0.0/8\n"
                           "nameserver fe80::1%eth0\n";

static void expect(const char *dns, const char *search, const char *options, const char *want)
{
    json_t *d = dns ? json_loads(dns, 0, NULL) : NULL,
           *s = search ? json_loads(search, 0, NULL) : NULL;
    json_t *o = options ? json_loads(options, 0, NULL) : NULL;
    _cleanup_free_ char *got = resolvconf_build(host, d, s, o);
    json_decref(d);
    json_decref(s);
    json_decref(o);
    assert_string_equal(got, want);
}

static void test_host_file(void **state)
{
    (void)state;
    expect(NULL, NULL, NULL,
           "nameserver 10.0.0.1\nnameserver fe80::1%eth0\nsearch a.example b.example\n"
           "options ndots:1 rotate\nsortlist 10.0.0.0/8\n");
    _cleanup_free_ char *empty = resolvconf_build("", NULL, NULL, NULL);
    assert_string_equal(empty, "");
}

static void test_overrides(void **state)
{
    (void)state;
    expect("[\"1.1.1.1\",\"::1\"]", NULL, NULL,
           "nameserver 1.1.1.1\nnameserver ::1\nsearch a.example b.example\n"
           "options ndots:1 rotate\nsortlist 10.0.0.0/8\n");
    expect(NULL, "[\"x.example\",\"y.example\"]", "[\"ndots:3\",\"edns0\"]",
           "nameserver 10.0.0.1\nnameserver fe80::1%eth0\nsearch x.example y.example\n"
           "options ndots:3 edns0\nsortlist 10.0.0.0/8\n");
    /* --dns-search . clears the search domains */
    expect("[]", "[\".\"]", "[]",
           "nameserver 10.0.0.1\nnameserver fe80::1%eth0\noptions ndots:1 rotate\n"
           "sortlist 10.0.0.0/8\n");
}

static char *bridge(const char *host_text, const char *dns)
{
    json_t *d = dns ? json_loads(dns, 0, NULL) : NULL;
    char *got = resolvconf_build_bridge(host_text, d, NULL, NULL);
    json_decref(d);
    return got;
}

static void test_bridge(void **state)
{
    (void)state;
    _cleanup_free_ char *a = bridge(host, NULL);
    assert_string_equal(a, "nameserver 10.0.0.1\nsearch a.example b.example\n"
                           "options ndots:1 rotate\nsortlist 10.0.0.0/8\n");
    _cleanup_free_ char *b = bridge("nameserver 127.0.0.53\nnameserver ::1\nnameserver 127.1.2.3\n"
                                    "nameserver 192.0.2.53\nsearch lan\n",
                                    NULL);
    assert_string_equal(b, "nameserver 192.0.2.53\nsearch lan\n");
    /* nothing reachable is left: dockerd's fallback */
    _cleanup_free_ char *c = bridge("nameserver 127.0.0.53\noptions edns0\n", NULL);
    assert_string_equal(c, "nameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0\n");
    _cleanup_free_ char *d = bridge("", NULL);
    assert_string_equal(d, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    /* --dns as given, loopback or not */
    _cleanup_free_ char *e = bridge("nameserver 10.0.0.1\n", "[\"127.0.0.1\"]");
    assert_string_equal(e, "nameserver 127.0.0.1\n");
}

/* A user network's: the embedded server, ndots:0 first unless --dns-option sets ndots. */
static void test_user(void **state)
{
    (void)state;
    _cleanup_free_ char *a = resolvconf_build_user("nameserver 10.0.0.1\nsearch lan\n", NULL, NULL);
    assert_string_equal(a, "nameserver 127.0.0.11\nsearch lan\noptions ndots:0\n");
    _cleanup_json_ json_t *o = json_pack("[ss]", "ndots:2", "rotate");
    _cleanup_free_ char *b = resolvconf_build_user("nameserver 10.0.0.1\n", NULL, o);
    assert_string_equal(b, "nameserver 127.0.0.11\noptions ndots:2 rotate\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_host_file),
                                       cmocka_unit_test(test_overrides),
                                       cmocka_unit_test(test_bridge), cmocka_unit_test(test_user)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
