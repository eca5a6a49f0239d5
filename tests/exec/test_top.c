/* tests/exec/test_top.c — exec/top.c's parts that need no container: dockerd's check of the ps
 * arguments and its parse of ps's output (the container's lines kept, thread lines after
 * them, the command's words joined into the last column), and exec/stats.c's reading of
 * /proc/PID/net/dev. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "exec/stats.h"
#include "exec/top.h"

static void test_check_args(void **state)
{
    (void)state;
    _cleanup_err_ struct berth_err *err = NULL;
    assert_int_equal(ctr_top_check_args("", &err), 0);
    assert_int_equal(ctr_top_check_args("-o pid,comm", &err), 0);
    assert_int_equal(ctr_top_check_args("aux -o pid= PID", &err), 0);
    assert_true(ctr_top_check_args("-o user= PID", &err) < 0);
    assert_string_equal(err->msg, "specifying \"user=PID\" is not allowed");
}

static const pid_t pids[] = {100, 102};

static const char *row(json_t *procs, size_t i, size_t col)
{
    return json_string_value(json_array_get(json_array_get(procs, i), col));
}

static void test_parse(void **state)
{
    (void)state;
    json_t *titles = NULL, *procs = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    const char *out = "UID          PID    PPID  C STIME TTY          TIME CMD\n"
                      "root         100       1  0 10:00 ?        00:00:00 sh -c sleep 1d\n"
                      "root         101     100  0 10:00 ?        00:00:00 not ours\n"
                      "root         102     100  0 10:00 ?        00:00:00 sleep 1d\n";
    assert_int_equal(ctr_top_parse(out, pids, 2, &titles, &procs, &err), 0);
    assert_int_equal(json_array_size(titles), 8);
    assert_string_equal(json_string_value(json_array_get(titles, 1)), "PID");
    assert_int_equal(json_array_size(procs), 2);
    assert_string_equal(row(procs, 0, 1), "100");
    assert_string_equal(row(procs, 0, 7), "sh -c sleep 1d"); /* the overhang joined */
    assert_string_equal(row(procs, 1, 1), "102");
    json_decref(titles);
    json_decref(procs);

    /* thread lines ("-" for PID, ps -L or m) follow the process line they belong to */
    out = "USER       PID %CPU COMMAND\n"
          "root       100  0.0 sh\n"
          "root         -  0.0 -\n"
          "root       101  0.0 other\n"
          "root         -  0.0 -\n";
    assert_int_equal(ctr_top_parse(out, pids, 2, &titles, &procs, &err), 0);
    assert_int_equal(json_array_size(procs), 2);
    assert_string_equal(row(procs, 1, 1), "-");
    json_decref(titles);
    json_decref(procs);

    assert_true(ctr_top_parse("USER COMMAND\nroot sh\n", pids, 2, &titles, &procs, &err) < 0);
    assert_string_equal(err->msg, "Couldn't find PID field in ps output");
    berth_err_free(take_ptr(err));
    assert_true(ctr_top_parse("PID CMD\nabc sh\n", pids, 2, &titles, &procs, &err) < 0);
    assert_string_equal(err->msg,
                        "Unexpected pid 'abc': strconv.Atoi: parsing \"abc\": invalid syntax");
}

static void test_net_dev(void **state)
{
    (void)state;
    const char *text =
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
        "drop fifo colls carrier compressed\n"
        "    lo:     140       2    0    0    0     0          0         0      140       2    0 "
        "   0    0     0       0          0\n"
        "  eth0:    1296      16    1    2    0     0          0         0      656       8    3 "
        "   4    0     0       0          0\n";
    struct ctr_net_stat *n = NULL;
    assert_int_equal(ctr_stats_parse_net_dev(text, &n), 1); /* lo left out */
    assert_string_equal(n[0].name, "eth0");
    assert_int_equal(n[0].rx_bytes, 1296);
    assert_int_equal(n[0].rx_packets, 16);
    assert_int_equal(n[0].rx_errors, 1);
    assert_int_equal(n[0].rx_dropped, 2);
    assert_int_equal(n[0].tx_bytes, 656);
    assert_int_equal(n[0].tx_packets, 8);
    assert_int_equal(n[0].tx_errors, 3);
    assert_int_equal(n[0].tx_dropped, 4);
    free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_args),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_net_dev),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
