/* tests/fs/test_config_change.c — fs/config_change.c against dockerd's BuildFromConfig (the
 * `--change` of `docker import` and `docker commit`): JSON and shell forms, ENV and LABEL in
 * both forms with the shell's quoting, EXPOSE, VOLUME, WORKDIR relative to the previous one,
 * USER, STOPSIGNAL, ONBUILD, a CMD earlier in the same changes surviving ENTRYPOINT, and
 * dockerd's words for what it refuses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "core/macros.h"
#include "fs/config_change.h"

struct ok_case {
    const char *start; /* the config before (JSON), NULL: {} */
    const char *lines[6];
    const char *want; /* the config after (JSON) */
};

static const struct ok_case ok_cases[] = {
    {NULL, {"CMD [\"a\", \"b c\"]"}, "{\"Cmd\":[\"a\",\"b c\"]}"},
    {NULL, {"CMD echo \"hi there\""}, "{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo \\\"hi there\\\"\"]}"},
    {NULL, {"cmd [\"unterminated\""}, "{\"Cmd\":[\"/bin/sh\",\"-c\",\"[\\\"unterminated\\\"\"]}"},
    {NULL, {"  CMD\t[\"tab\"]  "}, "{\"Cmd\":[\"tab\"]}"},
    {"{\"Cmd\":[\"old\"]}", {"ENTRYPOINT [\"/e\"]"}, "{\"Entrypoint\":[\"/e\"],\"Cmd\":null}"},
    {NULL,
     {"ENTRYPOINT tool --x"},
     "{\"Entrypoint\":[\"/bin/sh\",\"-c\",\"tool --x\"],\"Cmd\":null}"},
    /* a CMD given in the same changes survives ENTRYPOINT, before or after it */
    {NULL, {"CMD [\"c\"]", "ENTRYPOINT [\"/e\"]"}, "{\"Cmd\":[\"c\"],\"Entrypoint\":[\"/e\"]}"},
    {NULL, {"ENTRYPOINT [\"/e\"]", "CMD [\"c\"]"}, "{\"Cmd\":[\"c\"],\"Entrypoint\":[\"/e\"]}"},
    {NULL,
     {"ENV A=1 B=\"two words\" C=x\\ y D='single $x \\n' E= F=\"a\\\"b\\n\""},
     "{\"Env\":[\"A=1\",\"B=two words\",\"C=x y\",\"D=single $x "
     "\\\\n\",\"E=\",\"F=a\\\"b\\\\n\"]}"},
    /* the legacy form: the rest of the line is the value, quotes and all processed */
    {NULL,
     {"ENV K v  w", "ENV Q \"quoted v\" 'and more'"},
     "{\"Env\":[\"K=v  w\",\"Q=quoted v and more\"]}"},
    {"{\"Env\":[\"A=0\",\"AB=x\",\"PATH=/bin\"]}",
     {"ENV A=1", "ENV PATH /usr/bin:/bin"},
     "{\"Env\":[\"A=1\",\"AB=x\",\"PATH=/usr/bin:/bin\"]}"},
    {NULL,
     {"LABEL a=b \"c d\"=e", "LABEL version 1.0 beta", "LABEL a=again"},
     "{\"Labels\":{\"a\":\"again\",\"c d\":\"e\",\"version\":\"1.0 beta\"}}"},
    {NULL,
     {"EXPOSE 80 53/udp", "EXPOSE 8000-8002/tcp 9000/SCTP"},
     "{\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{},\"8000/tcp\":{},\"8001/tcp\":{},"
     "\"8002/tcp\":{},\"9000/sctp\":{}}}"},
    {NULL,
     {"VOLUME [\"/data\", \"/logs\"]", "VOLUME /a /b"},
     "{\"Volumes\":{\"/data\":{},\"/logs\":{},\"/a\":{},\"/b\":{}}}"},
    {NULL, {"WORKDIR rel"}, "{\"WorkingDir\":\"/rel\"}"},
    {NULL, {"WORKDIR /app/", "WORKDIR sub/", "WORKDIR ../x"}, "{\"WorkingDir\":\"/app/x\"}"},
    {"{\"WorkingDir\":\"/srv\"}", {"WORKDIR ./a//b/."}, "{\"WorkingDir\":\"/srv/a/b\"}"},
    {NULL, {"WORKDIR /a", "WORKDIR /b/../c"}, "{\"WorkingDir\":\"/c\"}"},
    {NULL,
     {"USER nobody:nogroup", "STOPSIGNAL SIGKILL"},
     "{\"User\":\"nobody:nogroup\",\"StopSignal\":\"SIGKILL\"}"},
    {NULL,
     {"ONBUILD RUN echo hi", "onbuild ADD . /src"},
     "{\"OnBuild\":[\"RUN echo hi\",\"ADD . /src\"]}"},
};

static void test_changes(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(ok_cases); i++) {
        const struct ok_case *c = &ok_cases[i];
        json_error_t je;
        _cleanup_json_ json_t *config = json_loads(c->start ? c->start : "{}", 0, &je);
        _cleanup_json_ json_t *want = json_loads(c->want, 0, &je);
        if (!want)
            fail_msg("case %zu: bad expectation: %s", i, je.text);
        _cleanup_err_ struct berth_err *err = NULL;
        if (config_apply_changes(config, (char *const *)c->lines, &err) < 0)
            fail_msg("%s: %s", c->lines[0], err->msg);
        if (!json_equal(config, want)) {
            _cleanup_free_ char *got = json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS);
            fail_msg("%s...: %s\n  want %s", c->lines[0], got, c->want);
        }
    }
}

/* One line at a time is one change on its own: ENTRYPOINT resets an inherited CMD. */
static void test_single_line(void **state)
{
    (void)state;
    json_error_t je;
    _cleanup_json_ json_t *config = json_loads("{\"Cmd\":[\"old\"]}", 0, &je);
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(config_apply_change(config, "ENTRYPOINT [\"/e\"]", &err), 0);
    assert_true(json_is_null(json_object_get(config, "Cmd")));
    assert_int_equal(config_apply_change(config, "CMD x", &err), 0);
    assert_int_equal(json_array_size(json_object_get(config, "Cmd")), 3);
    _cleanup_json_ json_t *empty = json_object();
    assert_int_equal(config_apply_changes(empty, NULL, &err), 0);
    assert_int_equal(json_object_size(empty), 0);
}

struct err_case {
    const char *line, *msg;
};

static const struct err_case err_cases[] = {
    {"FOO bar", "foo is not a valid change command"},
    {"RUN make", "run is not a valid change command"},
    {"from scratch", "from is not a valid change command"},
    {"ENV", "ENV requires at least one argument"},
    {"ENV foo", "ENV must have two arguments"},
    {"ENV a=1 b", "Syntax error - can't find = in \"b\". Must be of the form: name=value"},
    {"ENV =x", "ENV names can not be blank"},
    {"LABEL", "LABEL requires at least one argument"},
    {"LABEL =x", "LABEL names can not be blank"},
    {"EXPOSE", "EXPOSE requires at least one argument"},
    {"EXPOSE http", "invalid containerPort: http"},
    {"EXPOSE 80-", "invalid containerPort: 80-"},
    {"EXPOSE 90-80", "invalid containerPort: 90-80"},
    {"EXPOSE 80/bogus", "invalid proto: bogus"},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(err_cases); i++) {
        _cleanup_json_ json_t *config = json_object();
        _cleanup_err_ struct berth_err *err = NULL;
        int r = config_apply_change(config, err_cases[i].line, &err);
        if (r >= 0)
            fail_msg("%s: accepted", err_cases[i].line);
        assert_int_equal(r, -EINVAL - 1);
        assert_int_equal(err->status, EINVAL);
        if (strcmp(err->msg, err_cases[i].msg) != 0)
            fail_msg("%s: \"%s\", want \"%s\"", err_cases[i].line, err->msg, err_cases[i].msg);
    }
    /* a bad line among good ones stops there */
    _cleanup_json_ json_t *config = json_object();
    _cleanup_err_ struct berth_err *err = NULL;
    const char *lines[] = {"USER u", "BOGUS", "USER v", NULL};
    assert_int_equal(config_apply_changes(config, (char *const *)lines, &err), -EINVAL - 1);
    assert_string_equal(err->msg, "bogus is not a valid change command");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_changes),
        cmocka_unit_test(test_single_line),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
