/* tests/exec/test_logattrs.c — json-file's extra attributes: which labels and env variables the
 * log options pick, the tag template, and how a record's attrs read back for --details. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "exec/container.h"
#include "exec/logconfig.h"
#include "exec/logfile.h"

static struct container *fake(const char *log_opts)
{
    static struct container c;
    json_decref(c.config);
    json_decref(c.host_config);
    memset(&c, 0, sizeof(c));
    strcpy(c.id, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    strcpy(c.image_id, "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210");
    c.name = "web1";
    c.config =
        json_pack("{s{ss ss ss} s[sss] ss}", "Labels", "app", "web", "tier", "front", "other", "x",
                  "Env", "FOO=a b", "PATH=/bin", "BAR_1=z", "Image", "busybox:latest");
    c.host_config = json_pack("{s{ss so}}", "LogConfig", "Type", "json-file", "Config",
                              json_loads(log_opts, 0, NULL));
    return &c;
}

static void attrs_is(const char *opts, const char *want)
{
    _cleanup_free_ char *got = log_config_attrs(fake(opts));
    if (!want)
        assert_null(got);
    else
        assert_string_equal(got, want);
}

static void test_no_options_no_attrs(void **state)
{
    (void)state;
    attrs_is("{}", NULL);
    attrs_is("{\"max-size\":\"1m\"}", NULL);
    attrs_is("{\"labels\":\"missing\"}", NULL);
}

static void test_labels_and_env_picked_by_name_and_regex(void **state)
{
    (void)state;
    attrs_is("{\"labels\":\"app,missing\"}", "{\"app\":\"web\"}");
    attrs_is("{\"labels-regex\":\"^t\"}", "{\"tier\":\"front\"}");
    attrs_is("{\"env\":\"FOO\"}", "{\"FOO\":\"a b\"}");
    attrs_is("{\"env-regex\":\"^BAR_[0-9]$\",\"labels\":\"other\"}",
             "{\"BAR_1\":\"z\",\"other\":\"x\"}");
}

static void test_tag_template(void **state)
{
    (void)state;
    attrs_is("{\"tag\":\"{{.Name}}/{{.ID}}\"}", "{\"tag\":\"web1/0123456789ab\"}");
    attrs_is("{\"tag\":\"{{.ImageName}} {{.ImageID}} {{.Unknown}}\"}",
             "{\"tag\":\"busybox:latest fedcba987654 {{.Unknown}}\"}");
}

static void test_record_details(void **state)
{
    (void)state;
    struct log_record rec = {0};
    const char *line = "{\"log\":\"hi\\n\",\"stream\":\"stderr\",\"attrs\":{\"z\":\"1\",\"a "
                       "b\":\"x/y=é\"},\"time\":\"2024-01-02T03:04:05.000000006Z\"}";
    assert_true(log_record_parse(line, strlen(line), &rec));
    assert_int_equal(rec.stream, LOG_STDERR);
    assert_string_equal(rec.details.data, "a+b=x%2Fy%3D%C3%A9,z=1");
    const char *plain =
        "{\"log\":\"hi\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05Z\"}";
    assert_true(log_record_parse(plain, strlen(plain), &rec));
    assert_string_equal(rec.details.data, "");
    buf_free(&rec.line);
    buf_free(&rec.details);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_options_no_attrs),
        cmocka_unit_test(test_labels_and_env_picked_by_name_and_regex),
        cmocka_unit_test(test_tag_template),
        cmocka_unit_test(test_record_details),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
