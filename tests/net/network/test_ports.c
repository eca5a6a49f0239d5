/* tests/net/network/test_ports.c — net/network/ports.c: PortBindings checked with dockerd's words,
 * the mappings dockerd's rules make of ExposedPorts, PortBindings and PublishAllPorts, and
 * NetworkSettings.Ports and the list's Ports as dockerd shows them. Pure: no kernel. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "net/network/ports.h"

static json_t *j(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v)
        fail_msg("bad JSON in the test: %s: %s", text, e.text);
    return v;
}

static void check_ok(const char *hc)
{
    _cleanup_json_ json_t *h = j(hc);
    _cleanup_err_ struct berth_err *err = NULL;
    if (ports_check(h, &err) < 0)
        fail_msg("%s: refused: %s", hc, err->msg);
}

static void check_refused(const char *hc, const char *words)
{
    _cleanup_json_ json_t *h = j(hc);
    _cleanup_err_ struct berth_err *err = NULL;
    assert_true(ports_check(h, &err) < 0);
    assert_int_equal(err->status, EINVAL);
    if (strcmp(err->msg, words) != 0)
        fail_msg("%s: expected `%s`, got `%s`", hc, words, err->msg);
}

static void test_keys(void **state)
{
    (void)state;
    uint16_t port;
    uint8_t proto;
    assert_true(ports_key_parse("80/tcp", &port, &proto));
    assert_int_equal(port, 80);
    assert_int_equal(proto, IPPROTO_TCP);
    assert_true(ports_key_parse("53/udp", &port, &proto) && proto == IPPROTO_UDP);
    assert_true(ports_key_parse("9/sctp", &port, &proto) && proto == IPPROTO_SCTP);
    assert_true(ports_key_parse("8080", &port, &proto) && proto == IPPROTO_TCP && port == 8080);
    assert_false(ports_key_parse("0/tcp", &port, &proto));
    assert_false(ports_key_parse("65536/tcp", &port, &proto));
    assert_false(ports_key_parse("80/icmp", &port, &proto));
    assert_false(ports_key_parse("80-81/tcp", &port, &proto));
    assert_false(ports_key_parse("/tcp", &port, &proto));
    assert_string_equal(ports_proto_name(IPPROTO_SCTP), "sctp");
    assert_null(ports_proto_name(IPPROTO_ICMP));
}

static void test_check(void **state)
{
    (void)state;
    check_ok("{}");
    check_ok("{\"PortBindings\":null}");
    check_ok("{\"PortBindings\":{\"80/tcp\":null}}");
    check_ok("{\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"\"}]}}");
    check_ok("{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"0\"}],\"81\":[{}]}}");
    check_ok("{\"PortBindings\":{\"80/udp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"8080-8090\"},"
             "{\"HostIp\":\"10.0.0.1\",\"HostPort\":\"8080\"}]}}");
    check_ok("{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"8080/tcp\"}]}}"); /* nat.NewPort */
    /* dockerd's validatePortBindings */
    check_refused("{\"PortBindings\":{\"x/tcp\":[]}}", "invalid port specification: \"x\"");
    check_refused("{\"PortBindings\":{\"99999/tcp\":[]}}", "invalid port specification: \"99999\"");
    check_refused("{\"PortBindings\":{\"80-81/tcp\":[]}}", "invalid port specification: \"80-81\"");
    check_refused("{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"x\"}]}}",
                  "invalid port specification: \"x\"");
    check_refused("{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"90-80\"}]}}",
                  "invalid port specification: \"90-80\"");
    check_refused("{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"70000\"}]}}",
                  "invalid port specification: \"70000\"");
    check_refused("{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"-1\"}]}}",
                  "invalid port specification: \"-1\"");
    /* the CLI's words for a protocol; addresses */
    check_refused("{\"PortBindings\":{\"80/icmp\":[]}}", "invalid proto: icmp");
    check_refused("{\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"300.1.1.1\"}]}}",
                  "invalid IP address: 300.1.1.1");
    check_refused("{\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"::\"}]}}",
                  "HostConfig.PortBindings: an IPv6 host address (::) is not supported yet: the "
                  "default bridge is IPv4-only");
    check_refused("{\"PortBindings\":[]}", "HostConfig.PortBindings: not an object");
}

static void plan_of(const char *config, const char *hc, struct ports_plan *p)
{
    _cleanup_json_ json_t *c = j(config), *h = j(hc);
    _cleanup_err_ struct berth_err *err = NULL;
    if (ports_plan(c, h, p, &err) < 0)
        fail_msg("plan: %s", err->msg);
}

static void assert_req(const struct ports_req *r, uint8_t proto, uint16_t ctr, const char *ip,
                       uint16_t lo, uint16_t hi)
{
    assert_int_equal(r->proto, proto);
    assert_int_equal(r->ctr_port, ctr);
    assert_int_equal(r->host_ip_set, ip != NULL);
    if (ip) {
        char s[INET_ADDRSTRLEN];
        assert_string_equal(inet_ntop(AF_INET, &r->host_ip, s, sizeof(s)), ip);
    }
    assert_int_equal(r->host_lo, lo);
    assert_int_equal(r->host_hi, hi);
}

static void test_plan(void **state)
{
    (void)state;
    _cleanup_(ports_plan_free) struct ports_plan p = {0};
    /* only exposed ports count (the CLI adds every -p port there); by port, then protocol */
    plan_of("{\"ExposedPorts\":{\"81/tcp\":{},\"80/udp\":{},\"80/tcp\":{}}}",
            "{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"8080\"},{\"HostIp\":\"127.0.0.1\"}],"
            "\"81\":[{\"HostPort\":\"9000-9010\"}],\"99/tcp\":[{\"HostPort\":\"99\"}]}}",
            &p);
    assert_int_equal(p.n_reqs, 3);
    assert_req(&p.reqs[0], IPPROTO_TCP, 80, NULL, 8080, 8080);
    assert_req(&p.reqs[1], IPPROTO_TCP, 80, "127.0.0.1", 0, 0);
    assert_req(&p.reqs[2], IPPROTO_TCP, 81, NULL, 9000, 9010); /* "81" is "81/tcp" */
    ports_plan_free(&p);
    /* -P: each exposed port without a binding, on an ephemeral port */
    plan_of("{\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{},\"bogus\":{}}}",
            "{\"PublishAllPorts\":true,\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"8080\"}]}}",
            &p);
    assert_int_equal(p.n_reqs, 2);
    assert_req(&p.reqs[0], IPPROTO_UDP, 53, NULL, 0, 0);
    assert_req(&p.reqs[1], IPPROTO_TCP, 80, NULL, 8080, 8080);
    ports_plan_free(&p);
    /* nothing exposed: nothing, whatever the bindings say */
    plan_of("{}", "{\"PublishAllPorts\":true,\"PortBindings\":{\"80/tcp\":[{}]}}", &p);
    assert_int_equal(p.n_reqs, 0);
}

static void test_publishes(void **state)
{
    (void)state;
    _cleanup_json_ json_t *none = j("{}"), *ex = j("{\"ExposedPorts\":{\"80/tcp\":{}}}");
    _cleanup_json_ json_t *all = j("{\"PublishAllPorts\":true}");
    _cleanup_json_ json_t *pb = j("{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"1\"}]}}");
    _cleanup_json_ json_t *empty = j("{\"PortBindings\":{},\"PublishAllPorts\":false}");
    assert_false(ports_publishes(none, none));
    assert_false(ports_publishes(ex, none));
    assert_false(ports_publishes(ex, empty));
    assert_false(ports_publishes(none, all));
    assert_true(ports_publishes(ex, all));
    assert_true(ports_publishes(none, pb));
}

static void test_settings_and_summary(void **state)
{
    (void)state;
    _cleanup_json_ json_t *config =
        j("{\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{},\"81/tcp\":{}}}");
    struct ports_bound b[3] = {
        {.proto = IPPROTO_TCP, .ctr_port = 80, .host_port = 8080},
        {.proto = IPPROTO_TCP, .ctr_port = 80, .host_port = 32768},
        {.proto = IPPROTO_UDP, .ctr_port = 53, .host_port = 5353},
    };
    inet_pton(AF_INET, "0.0.0.0", &b[0].host_ip);
    inet_pton(AF_INET, "127.0.0.1", &b[1].host_ip);
    inet_pton(AF_INET, "0.0.0.0", &b[2].host_ip);
    _cleanup_json_ json_t *s = ports_settings_json(config, b, 3);
    _cleanup_free_ char *text = json_dumps(s, JSON_COMPACT);
    assert_string_equal(text, "{\"53/udp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"5353\"}],"
                              "\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"8080\"},"
                              "{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"32768\"}],"
                              "\"81/tcp\":null}");
    _cleanup_json_ json_t *list = ports_summary_json(s);
    _cleanup_free_ char *ltext = json_dumps(list, JSON_COMPACT);
    /* dockerd's struct order: IP, PrivatePort, PublicPort, Type; an only-exposed port has no IP
     * and no PublicPort */
    assert_string_equal(
        ltext, "[{\"IP\":\"0.0.0.0\",\"PrivatePort\":53,\"PublicPort\":5353,\"Type\":\"udp\"},"
               "{\"IP\":\"0.0.0.0\",\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"},"
               "{\"IP\":\"127.0.0.1\",\"PrivatePort\":80,\"PublicPort\":32768,\"Type\":\"tcp\"},"
               "{\"PrivatePort\":81,\"Type\":\"tcp\"}]");
    /* nothing exposed: an empty object */
    _cleanup_json_ json_t *none = j("{}");
    _cleanup_json_ json_t *empty = ports_settings_json(none, NULL, 0);
    assert_int_equal(json_object_size(empty), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_publishes),
        cmocka_unit_test(test_settings_and_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
