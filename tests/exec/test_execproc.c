/* tests/exec/test_execproc.c — exec/execproc.c and exec/execplan.c, the parts without a
 * process: an exec's environment as dockerd makes it (defaults, the container's Env, then the
 * exec's, "KEY" alone unsets), Cmd as Go's StrSlice, the namespaces an exec enters, dockerd's
 * exit codes for a failed exec, and the create's checks of a container that does not run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exec/execproc.c"
#include "exec/execplan.c"

static char *joined(char **v)
{
    struct buf b = {0};
    for (; v && *v; v++)
        buf_printf(&b, "%s%s", b.len ? "|" : "", *v);
    buf_reserve(&b, 0);
    return buf_steal(&b, NULL);
}

static void test_environment(void **state)
{
    (void)state;
    struct container c = {.config = json_pack("{ss s[sss]}", "Hostname", "box", "Env", "PATH=/bin",
                                              "A=ctr", "B=ctr")};
    json_t *exec_env = json_pack("[ssss]", "B=exec", "C=exec", "A", "NOSUCH");
    _cleanup_strv_ char **env = environment(&c, false, NULL, exec_env);
    _cleanup_free_ char *got = joined(env);
    assert_string_equal(got, "PATH=/bin|HOSTNAME=box|B=exec|C=exec");
    _cleanup_strv_ char **tty = environment(&c, true, NULL, NULL);
    _cleanup_free_ char *got_tty = joined(tty);
    assert_string_equal(got_tty, "PATH=/bin|HOSTNAME=box|TERM=xterm|A=ctr|B=ctr");
    json_decref(c.config);
    c.config = json_object(); /* no Env, no Hostname: dockerd's PATH */
    _cleanup_strv_ char **bare = environment(&c, false, NULL, NULL);
    _cleanup_free_ char *got_bare = joined(bare);
    assert_string_equal(got_bare, "PATH=" PLAN_DEFAULT_PATH "|HOSTNAME=");
    /* a link's variables come before the container's Env, which overrides them */
    json_t *links = json_pack("[ss]", "DB_NAME=/x/db", "HOSTNAME=link");
    _cleanup_strv_ char **linked = environment(&c, false, links, NULL);
    _cleanup_free_ char *got_linked = joined(linked);
    assert_string_equal(got_linked, "PATH=" PLAN_DEFAULT_PATH "|HOSTNAME=link|DB_NAME=/x/db");
    json_decref(links);
    json_decref(c.config);
    json_decref(exec_env);
}

static void test_home(void **state)
{
    (void)state;
    struct plan_store *s = plan_store_new();
    char *with[] = {"PATH=/x", "HOME=/h", NULL}, *without[] = {"PATH=/y:/z", NULL};
    const char *path;
    assert_ptr_equal(environment_home(s, with, "/root", &path), with);
    assert_string_equal(path, "/x");
    char *const *env = environment_home(s, without, "/nonexistent", &path);
    assert_string_equal(env[1], "HOME=/nonexistent");
    assert_null(env[2]);
    assert_string_equal(path, "/y:/z");
    plan_store_free(s);
}

static void test_command(void **state)
{
    (void)state;
    json_t *one = json_string("ls"), *many = json_pack("[ss]", "sh", "-c"), *none = json_array();
    _cleanup_strv_ char **a = command(one), **b = command(many), **c = command(none);
    assert_string_equal(a[0], "ls");
    assert_null(a[1]);
    assert_string_equal(b[1], "-c");
    assert_null(c);
    assert_null(command(NULL));
    json_decref(one);
    json_decref(many);
    json_decref(none);
}

static void test_nstypes(void **state)
{
    (void)state;
    json_t *own = json_pack("{ss}", "CgroupnsMode", "private");
    assert_int_equal(execplan_nstypes(own), CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS |
                                                CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP);
    json_t *host = json_pack("{ss ss ss ss ss}", "PidMode", "host", "NetworkMode", "host",
                             "IpcMode", "host", "UTSMode", "host", "CgroupnsMode", "host");
    assert_int_equal(execplan_nstypes(host), CLONE_NEWNS);
    json_t *shared = json_pack("{ss ss}", "PidMode", "container:x", "CgroupnsMode", "host");
    assert_true(execplan_nstypes(shared) & CLONE_NEWPID); /* x's, where the container is */
    json_decref(own);
    json_decref(host);
    json_decref(shared);
}

static void test_exit_codes(void **state)
{
    (void)state;
    assert_int_equal(exit_code_of("exec: \"x\": executable file not found in $PATH: unknown"), 127);
    assert_int_equal(exit_code_of("stat /x: no such file or directory: unknown"), 127);
    assert_int_equal(exit_code_of("exec: \"/etc\": permission denied: unknown"), 126);
    assert_int_equal(exit_code_of("capabilities: operation not permitted: unknown"), 128);
}

static void test_not_running(void **state)
{
    (void)state;
    struct exec_env env = {0};
    struct container c = {.id = "0123abc", .config = json_object()};
    struct execproc *e = NULL;
    struct berth_err *err = NULL;
    json_t *body = json_pack("{s[s]}", "Cmd", "true");
    assert_true(execproc_create(&env, &c, "web", body, true, &e, &err) < 0);
    assert_int_equal(err->status, EBUSY);
    assert_string_equal(err->msg, "container 0123abc is not running");
    assert_null(e);
    assert_null(c.execs);
    berth_err_free(err);
    err = NULL;
    assert_true(execproc_get(&env, "nosuch", &e, &err) < 0);
    assert_string_equal(err->msg, "No such exec instance: nosuch");
    berth_err_free(err);
    json_decref(body);
    json_decref(c.config);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_environment), cmocka_unit_test(test_home),
        cmocka_unit_test(test_command),     cmocka_unit_test(test_nstypes),
        cmocka_unit_test(test_exit_codes),  cmocka_unit_test(test_not_running)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
