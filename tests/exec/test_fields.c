/* tests/exec/test_fields.c — exec/fields.c: the table has exactly one row for each property of
 * the spec's create body (tests/data/create-fields.txt, from tools/spec-fields), and the check
 * refuses, warns and passes as the table says: what the docker CLI sends by default passes, a
 * set refused field is named, dockerd's own refusals keep its words. The integration suite
 * 44-refused-fields covers the same through the docker CLI. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/macros.h"
#include "exec/fields.c" /* the static helper is_set */
#include "tests/testutil.h"

static char *src_path(const char *rel)
{
    const char *src = getenv("BERTH_SRC");
    return xasprintf("%s/%s", src ? src : ".", rel);
}

/* The spec's property paths, one a line ('#' lines are comments). NULL-terminated heap array. */
static char **spec_fields(size_t *n)
{
    _cleanup_free_ char *path = src_path("tests/data/create-fields.txt");
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("open %s: %s (run from the repository, or set BERTH_SRC)", path, strerror(errno));
    char **out = NULL, line[512];
    *n = 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!*line || *line == '#')
            continue;
        out = xrealloc(out, (*n + 2) * sizeof(*out));
        out[(*n)++] = xstrdup(line);
        out[*n] = NULL;
    }
    fclose(f);
    return out;
}

static void free_list(char **l)
{
    for (size_t i = 0; l && l[i]; i++)
        free(l[i]);
    free(l);
}

/* Every spec property has a row, every row is a spec property, once; the rows say what they
 * must (a no-op why dockerd ignores it). */
static void test_table_matches_spec(void **state)
{
    (void)state;
    size_t n, missing = 0, extra = 0;
    char **spec = spec_fields(&n);
    assert_true(n > 150);
    for (size_t i = 0; i < n; i++)
        if (!fields_find(spec[i])) {
            fprintf(stderr, "spec field in no state (no row in exec/fields.c): %s\n", spec[i]);
            missing++;
        }
    for (size_t r = 0; r < fields_table_len; r++) {
        const struct field_row *row = &fields_table[r];
        bool found = false;
        for (size_t i = 0; i < n && !found; i++)
            found = strcmp(spec[i], row->path) == 0;
        if (!found) {
            fprintf(stderr, "row for no spec field: %s\n", row->path);
            extra++;
        }
        if (fields_find(row->path) != row) {
            fprintf(stderr, "two rows for %s\n", row->path);
            extra++;
        }
        if (row->state == FIELD_NOOP && !row->note) {
            fprintf(stderr, "no-op without a reason: %s\n", row->path);
            extra++;
        }
    }
    free_list(spec);
    assert_int_equal(missing, 0);
    assert_int_equal(extra, 0);
}

/* ---- the check ---- */

/* fields_check_early and fields_check_request on a body given as JSON text (then, when
 * merged_config is given, fields_check_merged with it as the merged Config): the message, or NULL
 * when it passes; *warnings (if asked) the warnings joined by '|'. Fails the test unless the status
 * is EINVAL. */
static char *check_body(const char *body_text, const char *merged_config, char **warnings)
{
    json_error_t je;
    json_t *body = json_loads(body_text, 0, &je), *w = json_array();
    if (!body)
        fail_msg("bad test JSON: %s: %s", je.text, body_text);
    _cleanup_err_ struct berth_err *err = NULL;
    int r = fields_check_early(body, &err);
    if (r == 0)
        r = fields_check_request(body, w, &err);
    if (r == 0 && merged_config) {
        json_t *config = json_loads(merged_config, 0, &je);
        if (!config)
            fail_msg("bad test JSON: %s: %s", je.text, merged_config);
        r = fields_check_merged(body, config, json_object_get(body, "HostConfig"), w, &err);
        json_decref(config);
    }
    if (warnings) {
        struct buf b = {0};
        size_t i;
        json_t *s;
        json_array_foreach(w, i, s) buf_printf(&b, "%s%s", i ? "|" : "", json_string_value(s));
        buf_reserve(&b, 0);
        *warnings = buf_steal(&b, NULL);
    }
    json_decref(body);
    json_decref(w);
    if (r == 0)
        return NULL;
    assert_int_equal(err->status, EINVAL);
    return xstrdup(err->msg);
}

static void refused(const char *body, const char *msg)
{
    _cleanup_free_ char *got = check_body(body, NULL, NULL);
    if (!got)
        fail_msg("accepted: %s", body);
    assert_string_equal(got, msg);
}

/* Passes, with exactly these warnings ('|'-joined, "" for none). */
static void passes(const char *body, const char *warnings)
{
    _cleanup_free_ char *w = NULL;
    _cleanup_free_ char *got = check_body(body, NULL, &w);
    if (got)
        fail_msg("refused %s: %s", body, got);
    assert_string_equal(w, warnings);
}

/* A body with HostConfig hc (JSON object text) and Config members extra ("" for none); the
 * network is none unless hc says otherwise, so no bridge warning. */
static char *body(const char *extra, const char *hc)
{
    bool has_net = strstr(hc, "\"NetworkMode\"") != NULL;
    return xasprintf("{\"Image\":\"busybox\"%s%s,\"HostConfig\":{%s%s%s}}", *extra ? "," : "",
                     extra, has_net ? "" : "\"NetworkMode\":\"none\"", has_net || !*hc ? "" : ",",
                     hc);
}

static void test_cli_defaults_pass(void **state)
{
    (void)state;
    _cleanup_free_ char *path = src_path("tests/exec/data/docker-run-default.json");
    json_t *j = json_load_file(path, 0, NULL);
    assert_non_null(j);
    _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    /* what docker 28.2 sends for `docker run busybox true` */
    passes(text, "");
    /* docker-py's containers.run */
    passes("{\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"AttachStdin\":false,"
           "\"AttachStdout\":true,\"AttachStderr\":true,\"Cmd\":[\"echo\",\"hi\"],\"Image\":"
           "\"busybox\",\"NetworkDisabled\":false,\"HostConfig\":{\"NetworkMode\":\"default\"}}",
           "");
    /* no HostConfig at all, --network bridge */
    passes("{\"Image\":\"busybox\"}", "");
    passes("{\"Image\":\"busybox\",\"HostConfig\":{\"NetworkMode\":\"bridge\"}}", "");
    /* -p, -P, --expose */
    passes("{\"Image\":\"busybox\",\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{}},"
           "\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\","
           "\"HostPort\":\"8080-8085\"}],\"53/udp\":[{\"HostPort\":\"\"}]},"
           "\"PublishAllPorts\":true}}",
           "");
    /* -it, --network none / host / container:X (with the endpoint map the CLI sends) */
    passes("{\"Image\":\"busybox\",\"Tty\":true,\"OpenStdin\":true,\"AttachStdin\":true,"
           "\"StdinOnce\":true,\"HostConfig\":{\"NetworkMode\":\"none\",\"ConsoleSize\":[24,80]},"
           "\"NetworkingConfig\":{\"EndpointsConfig\":{}}}",
           "");
    passes("{\"Image\":\"busybox\",\"HostConfig\":{\"NetworkMode\":\"host\"},"
           "\"NetworkingConfig\":{\"EndpointsConfig\":{\"host\":{\"IPAMConfig\":null}}}}",
           "");
    passes("{\"Image\":\"busybox\",\"HostConfig\":{\"NetworkMode\":\"container:web\"}}", "");
}

static void test_refused_by_name(void **state)
{
    (void)state;
    static const struct {
        const char *extra, *hc, *msg;
    } cases[] = {
        /* -p: dockerd's checks, and an IPv6 host address (the default bridge is IPv4-only) */
        {"", "\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"x80\"}]}",
         "invalid port specification: \"x80\""},
        {"", "\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"::1\",\"HostPort\":\"8080\"}]}",
         "HostConfig.PortBindings: an IPv6 host address (::1) is not supported yet: the default "
         "bridge is IPv4-only"},
        {"", "\"RestartPolicy\":{\"Name\":\"always\",\"MaximumRetryCount\":0}",
         "HostConfig.RestartPolicy.Name (--restart always) is not supported yet"},
        {"", "\"RestartPolicy\":{\"Name\":\"on-failure\",\"MaximumRetryCount\":3}",
         "HostConfig.RestartPolicy.Name (--restart on-failure) is not supported yet"},
        {"", "\"VolumeDriver\":\"x\"",
         "HostConfig.VolumeDriver \"x\" (--volume-driver): volume plugins are not supported yet, "
         "only the local driver"},
        {"", "\"StorageOpt\":{\"size\":\"1G\"}",
         "HostConfig.StorageOpt (--storage-opt) is not supported yet"},
        {"", "\"Annotations\":{\"a\":\"b\"}",
         "HostConfig.Annotations (--annotation) is not supported yet"},
        {"", "\"KernelMemoryTCP\":1048576", "HostConfig.KernelMemoryTCP is not supported yet"},
        {"", "\"DeviceRequests\":[{\"Count\":-1,\"Capabilities\":[[\"gpu\"]]}]",
         "HostConfig.DeviceRequests (--gpus) is not supported yet"},
        {"",
         "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/tmp\",\"Target\":\"/a\"},"
         "{\"Type\":\"volume\",\"Target\":\"/p\",\"VolumeOptions\":{\"DriverConfig\":"
         "{\"Name\":\"nfsplug\"}}}]",
         "HostConfig.Mounts[1].VolumeOptions.DriverConfig.Name \"nfsplug\" (--mount "
         "volume-driver=): volume plugins are not supported yet, only the local driver"},
        {"", "\"Mounts\":[{\"Type\":\"image\",\"Source\":\"busybox\",\"Target\":\"/p\"}]",
         "HostConfig.Mounts[0].Type \"image\" (--mount type=image) is not supported yet"},
        {"",
         "\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/p\","
         "\"VolumeOptions\":{\"Subpath\":\"x\"}}]",
         "HostConfig.Mounts[0].VolumeOptions.Subpath (--mount volume-subpath=) is not supported "
         "yet"},
        {"\"NetworkDisabled\":true", "", "Config.NetworkDisabled is not supported yet"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        _cleanup_free_ char *b = body(cases[i].extra, cases[i].hc);
        refused(b, cases[i].msg);
    }
    /* endpoints: another network beside none, host or container:X; an address on the default
     * one */
    refused("{\"Image\":\"busybox\",\"HostConfig\":{\"NetworkMode\":\"none\"},"
            "\"NetworkingConfig\":{\"EndpointsConfig\":{\"mynet\":{}}}}",
            "container cannot be connected to multiple networks with one of the networks in "
            "private (none) mode");
    refused("{\"Image\":\"busybox\",\"HostConfig\":{\"NetworkMode\":\"host\"},"
            "\"NetworkingConfig\":{\"EndpointsConfig\":{\"mynet\":{}}}}",
            "container cannot be disconnected from host network or connected to host network");
    refused("{\"Image\":\"busybox\",\"HostConfig\":{\"NetworkMode\":\"default\"},"
            "\"NetworkingConfig\":{\"EndpointsConfig\":{\"default\":{\"IPAMConfig\":"
            "{\"IPv4Address\":\"10.0.0.5\"},\"MacAddress\":\"\"}}}}",
            "invalid endpoint settings:\n"
            "user specified IP address is supported on user defined networks only");
    refused("{\"Image\":\"busybox\",\"HostConfig\":{\"NetworkMode\":\"default\"},"
            "\"NetworkingConfig\":{\"EndpointsConfig\":{\"default\":{\"Aliases\":[\"a\"]}}}}",
            "network-scoped alias is supported only for containers in user defined networks");
}

/* The values the CLI sends by default for refused fields, and empty ones, are no request. */
static void test_defaults_are_unset(void **state)
{
    (void)state;
    static const char *const hcs[] = {
        "\"PortBindings\":{}",
        "\"PortBindings\":null",
        "\"PublishAllPorts\":false",
        "\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":0}",
        "\"RestartPolicy\":{\"Name\":\"\",\"MaximumRetryCount\":5}", /* dockerd: old clients */
        "\"RestartPolicy\":{}",
        "\"VolumesFrom\":null,\"VolumeDriver\":\"\",\"Links\":[],\"StorageOpt\":{}",
        "\"VolumeDriver\":\"local\",\"VolumesFrom\":[\"other:ro\"]",
        "\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/p\",\"VolumeOptions\":"
        "{\"NoCopy\":true,\"Labels\":{\"a\":\"b\"},\"DriverConfig\":{\"Name\":\"local\","
        "\"Options\":{\"type\":\"tmpfs\",\"device\":\"tmpfs\"}}}}]",
        "\"DeviceRequests\":null,\"KernelMemoryTCP\":0,\"IOMaximumIOps\":0,\"CpuPercent\":0",
        "\"Isolation\":\"\"",
        "\"Isolation\":\"Default\"",
        "\"UsernsMode\":\"host\",\"CpuCount\":2,\"Cgroup\":\"x\",\"ContainerIDFile\":\"/x\"",
        "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/tmp\",\"Target\":\"/p\",\"Consistency\":"
        "\"cached\",\"VolumeOptions\":null}]",
        "\"Mounts\":[{\"Type\":\"tmpfs\",\"Target\":\"/p\",\"TmpfsOptions\":{\"SizeBytes\":1}}]",
    };
    for (size_t i = 0; i < ARRAY_SIZE(hcs); i++) {
        _cleanup_free_ char *b = body("", hcs[i]);
        passes(b, "");
    }
    _cleanup_free_ char *b =
        body("\"NetworkDisabled\":false,\"ArgsEscaped\":true,\"OnBuild\":"
             "[\"RUN x\"],\"Shell\":[\"/bin/sh\"],\"ExposedPorts\":{\"80/tcp\":"
             "{}}",
             "");
    passes(b, "");
}

/* What dockerd refuses or warns about itself keeps its words. */
static void test_dockerd_words(void **state)
{
    (void)state;
    static const struct {
        const char *hc, *msg;
    } cases[] = {
        {"\"RestartPolicy\":{\"Name\":\"sometimes\"}",
         "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', "
         "'on-failure', or 'unless-stopped'"},
        {"\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":3}",
         "invalid restart policy: maximum retry count can only be used with 'on-failure'"},
        {"\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":-1}",
         "invalid restart policy: maximum retry count can only be used with 'on-failure' and "
         "cannot be negative"},
        {"\"Isolation\":\"hyperv\"", "invalid isolation (hyperv): linux only supports 'default'"},
        {"\"IOMaximumIOps\":5",
         "invalid option: QoS maximum IOPs configuration is not supported on linux"},
        {"\"IOMaximumBandwidth\":5",
         "invalid option: QoS maximum bandwidth configuration is not supported on linux"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        _cleanup_free_ char *b = body("", cases[i].hc);
        refused(b, cases[i].msg);
    }
    _cleanup_free_ char *hz =
        body("\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":5}", "");
    refused(hz, "Interval in Healthcheck cannot be less than 1ms");
    _cleanup_free_ char *hr = body("\"Healthcheck\":{\"Retries\":-1}", "");
    refused(hr, "Retries in Healthcheck cannot be negative");
    _cleanup_free_ char *cp = body("", "\"CpuPercent\":20");
    passes(cp, "linux does not support CPU percent. Percent discarded.");
    /* the host's network: -p is discarded with dockerd's warning, -P silently */
    passes("{\"Image\":\"busybox\",\"HostConfig\":{\"NetworkMode\":\"host\",\"PortBindings\":"
           "{\"80/tcp\":[{\"HostPort\":\"80\"}]},\"PublishAllPorts\":true}}",
           "Published ports are discarded when using host network mode");
}

/* Config.Volumes (the image's VOLUME, -v PATH) is no refusal: where nothing is mounted on the
 * path, exec/volumes.c makes an anonymous volume. */
static void test_volumes(void **state)
{
    (void)state;
    const char *merged = "{\"Image\":\"busybox\",\"Volumes\":{\"/data\":{}}}";
    _cleanup_free_ char *b = body("", "\"Binds\":[\"/srv:/data2\"]");
    _cleanup_free_ char *got = check_body(b, merged, NULL);
    assert_null(got);
    _cleanup_free_ char *none = check_body(b, "{\"Volumes\":{}}", NULL);
    assert_null(none);
}

/* A healthcheck that would run (the request's or the image's) warns; NONE does not. */
static void test_healthcheck_warns(void **state)
{
    (void)state;
    _cleanup_free_ char *b = body("", "");
    _cleanup_free_ char *w1 = NULL, *w2 = NULL, *w3 = NULL;
    assert_null(check_body(b, "{\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"true\"]}}", &w1));
    assert_string_equal(w1, HEALTH_WARNING);
    assert_null(check_body(b, "{\"Healthcheck\":{\"Test\":[\"NONE\"]}}", &w2));
    assert_string_equal(w2, "");
    assert_null(check_body(b, "{\"Cmd\":[\"true\"]}", &w3));
    assert_string_equal(w3, "");
}

static void test_helpers(void **state)
{
    (void)state;
    json_t *zero = json_integer(0), *f = json_false(), *e = json_string("");
    assert_false(is_set(NULL));
    assert_false(is_set(zero));
    assert_false(is_set(f));
    assert_false(is_set(e));
    json_decref(zero);
    json_decref(f);
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_spec), cmocka_unit_test(test_cli_defaults_pass),
        cmocka_unit_test(test_refused_by_name),    cmocka_unit_test(test_defaults_are_unset),
        cmocka_unit_test(test_dockerd_words),      cmocka_unit_test(test_volumes),
        cmocka_unit_test(test_healthcheck_warns),  cmocka_unit_test(test_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
