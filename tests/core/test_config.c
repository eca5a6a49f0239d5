/* tests/core/test_config.c — berthd's flags and daemon.json: values applied, defaults derived
 * from --exec-root, and dockerd's errors for unknown keys and flag/file conflicts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/config.h"
#include "core/xalloc.h"

#define MAX_ARGS 32

struct fixture {
    char dir[64];
    char file[128]; /* dir/daemon.json */
    struct config cfg;
    struct berth_err *err;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/berth-test-config-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->file, sizeof(f->file), "%s/daemon.json", f->dir);
    unsetenv("BERTH_REACTOR");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    config_free(&f->cfg);
    berth_err_free(f->err);
    unlink(f->file);
    rmdir(f->dir);
    unsetenv("BERTH_REACTOR");
    free(f);
    return 0;
}

static void write_file(struct fixture *f, const char *json)
{
    FILE *fp = fopen(f->file, "w");
    assert_non_null(fp);
    fputs(json, fp);
    fclose(fp);
}

/* Load from a NULL-terminated list of flags (argv[0] is supplied). The config and any error
 * of an earlier load in the same test are released first. */
static int load(struct fixture *f, const char *const *flags)
{
    char *argv[MAX_ARGS];
    int argc = 0;
    argv[argc++] = "berthd";
    for (; *flags; flags++) {
        assert_true(argc < MAX_ARGS - 1);
        argv[argc++] = (char *)*flags;
    }
    argv[argc] = NULL;
    config_free(&f->cfg);
    berth_err_freep(&f->err);
    return config_load(&f->cfg, argc, argv, &f->err);
}

/* Load with --config-file pointing at this test's daemon.json (which must exist). */
static int load_with_file(struct fixture *f, const char *const *flags)
{
    const char *all[MAX_ARGS] = {"--config-file", f->file};
    size_t n = 2;
    for (; *flags; flags++)
        all[n++] = *flags;
    all[n] = NULL;
    return load(f, all);
}

#define FLAGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_FLAGS   ((const char *const[]){NULL})

static void test_flags(void **state)
{
    struct fixture *f = *state;
    write_file(f, "{}");
    int r = load_with_file(f, FLAGS("-H", "unix:///x", "-H", "unix:///y", "--root", "/r", "-D",
                                    "--log-level", "warn", "--exec-root", "/e", "-p",
                                    "/p/berthd.pid", "--reactor", "epoll"));
    assert_int_equal(r, 0);
    assert_null(f->err);
    assert_int_equal(f->cfg.nhosts, 2);
    assert_string_equal(f->cfg.hosts[0], "/x");
    assert_string_equal(f->cfg.hosts[1], "/y");
    assert_string_equal(f->cfg.root, "/r");
    assert_true(f->cfg.debug);
    assert_string_equal(f->cfg.log_level, "warn");
    assert_string_equal(f->cfg.exec_root, "/e");
    assert_string_equal(f->cfg.pidfile, "/p/berthd.pid");
    assert_string_equal(f->cfg.reactor, "epoll");
    assert_string_equal(f->cfg.config_file, f->file);
    assert_false(f->cfg.show_version);
}

static void test_flag_spellings(void **state)
{
    struct fixture *f = *state;
    write_file(f, "{}");
    assert_int_equal(load_with_file(f, FLAGS("--data-root=/d", "--host", "/plain.sock", "--debug",
                                             "-l", "error", "--pidfile=/x.pid")),
                     0);
    assert_string_equal(f->cfg.root, "/d");
    assert_int_equal(f->cfg.nhosts, 1);
    assert_string_equal(f->cfg.hosts[0], "/plain.sock"); /* a bare path is a unix socket */
    assert_true(f->cfg.debug);
    assert_string_equal(f->cfg.log_level, "error");
    assert_string_equal(f->cfg.pidfile, "/x.pid");

    /* The last of a repeated single-valued flag wins. */
    assert_int_equal(load_with_file(f, FLAGS("--root", "/a", "--data-root", "/b")), 0);
    assert_string_equal(f->cfg.root, "/b");

    assert_int_equal(
        load_with_file(f, FLAGS("--http-request-timeout", "2.5", "--http-idle-timeout", "30")), 0);
    assert_int_equal(f->cfg.request_timeout_ms, 2500);
    assert_int_equal(f->cfg.idle_timeout_ms, 30000);
}

static void test_defaults(void **state)
{
    struct fixture *f = *state;
    write_file(f, "{}");
    assert_int_equal(load_with_file(f, FLAGS("--exec-root", "/run/other")), 0);
    assert_string_equal(f->cfg.exec_root, "/run/other");
    assert_int_equal(f->cfg.nhosts, 1);
    assert_string_equal(f->cfg.hosts[0], "/run/other/berth.sock");
    assert_string_equal(f->cfg.pidfile, "/run/other/berthd.pid");
    assert_string_equal(f->cfg.root, "/var/lib/berth");
    assert_string_equal(f->cfg.log_level, "info");
    assert_false(f->cfg.debug);
    assert_string_equal(f->cfg.reactor, "auto");
    assert_int_equal(f->cfg.request_timeout_ms, 60000);
    assert_int_equal(f->cfg.idle_timeout_ms, 300000);

    assert_int_equal(load_with_file(f, NO_FLAGS), 0);
    assert_string_equal(f->cfg.hosts[0], "/run/berth/berth.sock");
    assert_string_equal(f->cfg.pidfile, "/run/berth/berthd.pid");

    /* -D alone raises the default log level. */
    assert_int_equal(load_with_file(f, FLAGS("-D")), 0);
    assert_string_equal(f->cfg.log_level, "debug");
}

static void test_file_applied(void **state)
{
    struct fixture *f = *state;
    write_file(f, "{\"hosts\": [\"unix:///a.sock\", \"/b.sock\"], \"data-root\": \"/dr\","
                  " \"exec-root\": \"/er\", \"debug\": true, \"log-level\": \"warn\","
                  " \"reactor\": \"epoll\", \"http-request-timeout\": 1.5,"
                  " \"http-idle-timeout\": 10, \"storage-driver\": \"overlay2\","
                  " \"insecure-registries\": [\"localhost:5000\"]}");
    assert_int_equal(load_with_file(f, NO_FLAGS), 0);
    assert_int_equal(f->cfg.nhosts, 2);
    assert_string_equal(f->cfg.hosts[0], "/a.sock");
    assert_string_equal(f->cfg.hosts[1], "/b.sock");
    assert_string_equal(f->cfg.root, "/dr");
    assert_string_equal(f->cfg.exec_root, "/er");
    assert_string_equal(f->cfg.pidfile, "/er/berthd.pid");
    assert_true(f->cfg.debug);
    assert_string_equal(f->cfg.log_level, "warn");
    assert_string_equal(f->cfg.reactor, "epoll");
    assert_int_equal(f->cfg.request_timeout_ms, 1500);
    assert_int_equal(f->cfg.idle_timeout_ms, 10000);
    /* Keys for later modules stay readable. */
    assert_non_null(f->cfg.file);
    assert_string_equal(json_string_value(json_object_get(f->cfg.file, "storage-driver")),
                        "overlay2");

    /* Flags and file keys that do not overlap combine. */
    write_file(f, "{\"data-root\": \"/from-file\"}");
    assert_int_equal(load_with_file(f, FLAGS("-H", "unix:///flag.sock")), 0);
    assert_string_equal(f->cfg.root, "/from-file");
    assert_string_equal(f->cfg.hosts[0], "/flag.sock");
}

static void test_unknown_keys(void **state)
{
    struct fixture *f = *state;
    write_file(f, "{\"debug\": true, \"bogus\": 1, \"also-bogus\": \"x\"}");
    int r = load_with_file(f, NO_FLAGS);
    assert_int_equal(r, -EINVAL - 1);
    assert_non_null(f->err);
    _cleanup_free_ char *want =
        xasprintf("unable to configure the berth daemon with file %s: the following "
                  "directives don't match any configuration option: bogus, also-bogus",
                  f->file);
    assert_string_equal(f->err->msg, want);
}

static void test_conflicts(void **state)
{
    struct fixture *f = *state;
    write_file(f, "{\"debug\": true, \"data-root\": \"/f\", \"hosts\": [\"/h\"], \"pidfile\": "
                  "\"/p\"}");
    int r = load_with_file(f, FLAGS("-D", "--root", "/r", "-H", "/x"));
    assert_int_equal(r, -EINVAL - 1);
    _cleanup_free_ char *want =
        xasprintf("unable to configure the berth daemon with file %s: the following "
                  "directives are specified both as a flag and in the configuration file: "
                  "debug, data-root, hosts",
                  f->file);
    assert_string_equal(f->err->msg, want);

    /* --data-root is the same directive as --root. */
    assert_true(load_with_file(f, FLAGS("--data-root", "/r")) < 0);
    assert_non_null(strstr(f->err->msg, "configuration file: data-root"));

    /* Unknown keys are reported before conflicts, as dockerd does. */
    write_file(f, "{\"debug\": true, \"nope\": 1}");
    assert_true(load_with_file(f, FLAGS("-D")) < 0);
    assert_non_null(strstr(f->err->msg, "don't match any configuration option: nope"));
}

static void test_file_errors(void **state)
{
    struct fixture *f = *state;
    /* An explicit file that does not exist is an error. */
    assert_true(load_with_file(f, NO_FLAGS) < 0);
    assert_non_null(f->err);
    _cleanup_free_ char *prefix =
        xasprintf("unable to configure the berth daemon with file %s: ", f->file);
    assert_true(strncmp(f->err->msg, prefix, strlen(prefix)) == 0);

    write_file(f, "{\"debug\": tru");
    assert_true(load_with_file(f, NO_FLAGS) < 0);
    assert_true(strncmp(f->err->msg, prefix, strlen(prefix)) == 0);

    write_file(f, "[1, 2]");
    assert_true(load_with_file(f, NO_FLAGS) < 0);
    assert_true(strncmp(f->err->msg, prefix, strlen(prefix)) == 0);

    write_file(f, "{\"debug\": \"yes\"}");
    assert_true(load_with_file(f, NO_FLAGS) < 0);
    assert_non_null(strstr(f->err->msg, "debug"));

    write_file(f, "{\"hosts\": [\"tcp://0.0.0.0:2375\"]}");
    assert_true(load_with_file(f, NO_FLAGS) < 0);
    assert_non_null(strstr(f->err->msg, "tcp://0.0.0.0:2375"));

    write_file(f, "{\"http-idle-timeout\": -1}");
    assert_true(load_with_file(f, NO_FLAGS) < 0);
    assert_non_null(strstr(f->err->msg, "http-idle-timeout"));

    write_file(f, "{\"debug\": true, \"debug\": false}");
    assert_true(load_with_file(f, NO_FLAGS) < 0);
}

/* The default file is optional; this test cannot own /etc/berth, so it skips where one exists. */
static void test_missing_default_file(void **state)
{
    struct fixture *f = *state;
    if (access("/etc/berth/daemon.json", F_OK) == 0)
        skip();
    assert_int_equal(load(f, FLAGS("--root", "/r")), 0);
    assert_null(f->err);
    assert_string_equal(f->cfg.config_file, "/etc/berth/daemon.json");
    assert_null(f->cfg.file);
    assert_string_equal(f->cfg.root, "/r");
}

static void test_flag_errors(void **state)
{
    struct fixture *f = *state;
    write_file(f, "{}");
    assert_true(load_with_file(f, FLAGS("--log-level", "loud")) < 0);
    assert_string_equal(f->err->msg, "unable to parse logging level: loud");

    assert_true(load_with_file(f, FLAGS("-H", "tcp://127.0.0.1:2375")) < 0);
    assert_non_null(strstr(f->err->msg, "tcp://127.0.0.1:2375"));

    assert_true(load_with_file(f, FLAGS("-H", "relative.sock")) < 0);

    assert_true(load_with_file(f, FLAGS("--no-such-flag")) < 0);
    assert_non_null(strstr(f->err->msg, "--no-such-flag"));

    assert_true(load_with_file(f, FLAGS("extra")) < 0);
    assert_non_null(strstr(f->err->msg, "extra"));

    assert_true(load_with_file(f, FLAGS("--http-request-timeout", "soon")) < 0);
    assert_true(load_with_file(f, FLAGS("--http-request-timeout", "0")) < 0);

    assert_true(load_with_file(f, FLAGS("--root")) < 0); /* missing value */

    /* After all those failures a good load still works (getopt state is reset). */
    assert_int_equal(load_with_file(f, FLAGS("-D", "--root", "/ok")), 0);
    assert_string_equal(f->cfg.root, "/ok");
}

static void test_version_and_help(void **state)
{
    struct fixture *f = *state;
    /* The file is not read for -v (here it does not even exist). */
    assert_int_equal(load_with_file(f, FLAGS("-v")), 0);
    assert_true(f->cfg.show_version);
    assert_int_equal(load_with_file(f, FLAGS("--help")), 0);
    assert_true(f->cfg.show_help);
    assert_non_null(strstr(config_usage(), "--data-root"));
}

static void test_reactor_env(void **state)
{
    struct fixture *f = *state;
    write_file(f, "{}");
    setenv("BERTH_REACTOR", "epoll", 1);
    assert_int_equal(load_with_file(f, NO_FLAGS), 0);
    assert_string_equal(f->cfg.reactor, "epoll");

    /* A flag (or the file) beats the environment. */
    assert_int_equal(load_with_file(f, FLAGS("--reactor", "io_uring")), 0);
    assert_string_equal(f->cfg.reactor, "io_uring");
    write_file(f, "{\"reactor\": \"io_uring\"}");
    assert_int_equal(load_with_file(f, NO_FLAGS), 0);
    assert_string_equal(f->cfg.reactor, "io_uring");

    write_file(f, "{}");
    setenv("BERTH_REACTOR", "", 1);
    assert_int_equal(load_with_file(f, NO_FLAGS), 0);
    assert_string_equal(f->cfg.reactor, "auto");
    unsetenv("BERTH_REACTOR");
    assert_int_equal(load_with_file(f, NO_FLAGS), 0);
    assert_string_equal(f->cfg.reactor, "auto");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_flags),        T(test_flag_spellings),
        T(test_defaults),     T(test_file_applied),
        T(test_unknown_keys), T(test_conflicts),
        T(test_file_errors),  T(test_missing_default_file),
        T(test_flag_errors),  T(test_version_and_help),
        T(test_reactor_env),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
