/* tests/exec/test_ctrlinks.c — exec/ctrlinks.c's pure parts: dockerd's ParseLink and the link
 * variables of links.ToEnv (dockerd 28), port ranges and tcp first included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "core/err.h"
#include "exec/ctrlinks.h"

static void parsed(const char *val, const char *name, const char *alias)
{
    _cleanup_free_ char *n = NULL, *a = NULL;
    assert_int_equal(ctrlinks_parse(val, &n, &a, NULL), 0);
    assert_string_equal(n, name);
    assert_string_equal(a, alias);
}

static void refused(const char *val, const char *words)
{
    _cleanup_free_ char *n = NULL, *a = NULL;
    struct berth_err *err = NULL;
    assert_true(ctrlinks_parse(val, &n, &a, &err) < 0);
    assert_string_equal(err->msg, words);
    berth_err_free(err);
}

static void test_parse(void **state)
{
    (void)state;
    parsed("db", "db", "db");
    parsed("db:alias", "db", "alias");
    parsed("/db:/web/alias", "db", "alias"); /* inspect's form, as a record keeps it */
    refused("", "empty string specified for links");
    refused("a:b:c", "bad format for links: a:b:c");
}

/* The variables as one "\n"-joined string. */
static char *env_of(const char *name, const char *ip, const char *env, const char *ports)
{
    json_t *e = env ? json_loads(env, 0, NULL) : NULL,
           *p = ports ? json_loads(ports, 0, NULL) : NULL;
    json_t *out = json_array(), *v;
    ctrlinks_env(name, ip, e, p, out);
    size_t i, len = 0;
    json_array_foreach(out, i, v) len += strlen(json_string_value(v)) + 1;
    char *s = calloc(1, len + 1);
    json_array_foreach(out, i, v)
    {
        strcat(s, json_string_value(v));
        strcat(s, "\n");
    }
    json_decref(e);
    json_decref(p);
    json_decref(out);
    return s;
}

static void test_env_one_port(void **state)
{
    (void)state;
    _cleanup_free_ char *s =
        env_of("/web/db", "172.17.0.2", "[\"PATH=/bin\",\"HOME=/root\",\"PASS=x=y\",\"BAD\"]",
               "{\"5432/tcp\":{}}");
    assert_string_equal(s, "DB_PORT=tcp://172.17.0.2:5432\n"
                           "DB_PORT_5432_TCP=tcp://172.17.0.2:5432\n"
                           "DB_PORT_5432_TCP_ADDR=172.17.0.2\n"
                           "DB_PORT_5432_TCP_PORT=5432\n"
                           "DB_PORT_5432_TCP_PROTO=tcp\n"
                           "DB_NAME=/web/db\n"
                           "DB_ENV_PASS=x=y\n");
}

static void test_env_no_ports_dash(void **state)
{
    (void)state;
    _cleanup_free_ char *s = env_of("/a/my-db", "10.0.0.9", NULL, NULL);
    assert_string_equal(s, "MY_DB_NAME=/a/my-db\n");
}

static void test_env_ranges_tcp_first(void **state)
{
    (void)state;
    _cleanup_free_ char *s = env_of("/p/x", "1.2.3.4", "[]",
                                    "{\"53/udp\":{},\"8081/tcp\":{},\"8080/tcp\":{},\"80\":{}}");
    assert_string_equal(s, "X_PORT=tcp://1.2.3.4:80\n"
                           "X_PORT_80_TCP=tcp://1.2.3.4:80\n"
                           "X_PORT_80_TCP_ADDR=1.2.3.4\n"
                           "X_PORT_80_TCP_PORT=80\n"
                           "X_PORT_80_TCP_PROTO=tcp\n"
                           "X_PORT_8080_TCP=tcp://1.2.3.4:8080\n"
                           "X_PORT_8080_TCP_ADDR=1.2.3.4\n"
                           "X_PORT_8080_TCP_PORT=8080\n"
                           "X_PORT_8080_TCP_PROTO=tcp\n"
                           "X_PORT_8081_TCP=tcp://1.2.3.4:8081\n"
                           "X_PORT_8081_TCP_ADDR=1.2.3.4\n"
                           "X_PORT_8081_TCP_PORT=8081\n"
                           "X_PORT_8081_TCP_PROTO=tcp\n"
                           /* the range is told when the next port ends it, as dockerd does */
                           "X_PORT_53_UDP=udp://1.2.3.4:53\n"
                           "X_PORT_53_UDP_ADDR=1.2.3.4\n"
                           "X_PORT_53_UDP_PORT=53\n"
                           "X_PORT_53_UDP_PROTO=udp\n"
                           "X_PORT_8080_TCP_START=tcp://1.2.3.4:8080\n"
                           "X_PORT_8080_TCP_PORT_START=8080\n"
                           "X_PORT_8080_TCP_END=tcp://1.2.3.4:8081\n"
                           "X_PORT_8080_TCP_PORT_END=8081\n"
                           "X_NAME=/p/x\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_env_one_port),
        cmocka_unit_test(test_env_no_ports_dash),
        cmocka_unit_test(test_env_ranges_tcp_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
