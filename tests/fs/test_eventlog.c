/* tests/fs/test_eventlog.c — fs/eventlog.c: lines written in order by the writer thread and
 * read back by a cursor (stopping before a line, by chunks), the last time found again at open
 * after a torn write is cut, rotation into the one older file (read across, a cursor whose
 * file is rotated away is told), and a full queue that drops lines without blocking. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/buf.h"
#include "fs/eventlog.h"
#include "tests/testutil.h"

struct fixture {
    char *dir;
    struct eventlog *l;
};

static const struct eventlog_opts big = {.file_max = 1 << 20, .queue_max = 1 << 20, .sync_ms = 5};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    f->dir = tu_tmpdir("eventlog");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    eventlog_close(f->l);
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static struct eventlog *open_log(struct fixture *f, const struct eventlog_opts *o, int64_t *last)
{
    struct berth_err *err = NULL;
    int64_t t = -1;
    if (eventlog_open(f->dir, o, &f->l, &t, &err) < 0)
        fail_msg("eventlog_open: %s", err->msg);
    if (last)
        *last = t;
    return f->l;
}

static void reopen(struct fixture *f, const struct eventlog_opts *o, int64_t *last)
{
    eventlog_close(f->l);
    f->l = NULL;
    open_log(f, o, last);
}

static char *line_at(int64_t t, const char *what)
{
    return xasprintf("{\"what\":\"%s\",\"timeNano\":%lld}\n", what, (long long)t);
}

static void append(struct eventlog *l, uint64_t seq, int64_t t, const char *what)
{
    char *line = line_at(t, what);
    assert_true(eventlog_append(l, seq, line, strlen(line)));
    free(line);
}

/* Until the writer has written seq (a second at most). */
static void written(struct eventlog *l, uint64_t seq)
{
    for (int i = 0; i < 1000 && eventlog_done(l) < seq; i++)
        usleep(1000);
    assert_true(eventlog_done(l) >= seq);
}

struct seen {
    struct buf text; /* "t:what " for each line */
    int64_t stop_at; /* fn returns false for this time */
    int n;
};

static bool collect(void *arg, int64_t t, const char *line, size_t len)
{
    struct seen *s = arg;
    if (t == s->stop_at)
        return false;
    const char *w = strstr(line, "\"what\":\"");
    assert_non_null(w);
    w += 8;
    buf_printf(&s->text, "%lld:%.*s ", (long long)t, (int)(strchr(w, '"') - w), w);
    assert_int_equal(line[len - 1], '\n');
    s->n++;
    return true;
}

/* Everything the cursor has from where it is, as "t:what ..." (heap). */
static char *read_all(struct eventlog_cursor *c, bool *gap)
{
    struct seen s = {.stop_at = -1};
    bool g = false;
    int r;
    while ((r = eventlog_read(c, 1 << 20, collect, &s, &g)) == EVENTLOG_MORE)
        ;
    assert_int_equal(r, EVENTLOG_END);
    if (gap)
        *gap = g;
    return s.text.data ? s.text.data : xstrdup("");
}

static void test_line_time(void **state)
{
    (void)state;
    const char *ok = "{\"a\":\"x\",\"timeNano\":1700000000123456789}\n";
    assert_true(eventlog_line_time(ok, strlen(ok)) == 1700000000123456789LL);
    assert_true(eventlog_line_time(ok, strlen(ok) - 1) == 1700000000123456789LL);
    const char *bad[] = {"",
                         "\n",
                         "{}",
                         "{\"timeNano\":}",
                         "{\"timeNano\":12x}",
                         "{\"timeNano\":99999999999999999999}",
                         "{\"time\":12}",
                         "{\"a\":\"\\\"timeNano\\\":5\"}",
                         "\0\0\0\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(eventlog_line_time(bad[i], strlen(bad[i])), -1);
}

static void test_write_read_reopen(void **state)
{
    struct fixture *f = *state;
    int64_t last;
    struct eventlog *l = open_log(f, &big, &last);
    assert_int_equal(last, 0);
    append(l, 1, 100, "a");
    append(l, 2, 200, "b");
    append(l, 3, 300, "c");
    written(l, 3);
    struct eventlog_cursor *c = eventlog_cursor_new(l);
    char *all = read_all(c, NULL);
    assert_string_equal(all, "100:a 200:b 300:c ");
    free(all);
    /* a later line comes with a later read; a line not whole yet waits for its end */
    append(l, 4, 400, "d");
    written(l, 4);
    all = read_all(c, NULL);
    assert_string_equal(all, "400:d ");
    free(all);
    eventlog_cursor_free(c);

    /* a crash mid-write: the torn line is cut at open, the last whole line's time found */
    reopen(f, &big, &last);
    assert_int_equal(last, 400);
    _cleanup_free_ char *live = xasprintf("%s/events.log", f->dir);
    FILE *fp = fopen(live, "a");
    fputs("{\"what\":\"torn\",\"timeNa", fp);
    fclose(fp);
    reopen(f, &big, &last);
    assert_int_equal(last, 400);
    append(f->l, 1, 500, "e");
    written(f->l, 1);
    c = eventlog_cursor_new(f->l);
    all = read_all(c, NULL);
    assert_string_equal(all, "100:a 200:b 300:c 400:d 500:e ");
    free(all);
    eventlog_cursor_free(c);
}

static void test_stop_and_chunks(void **state)
{
    struct fixture *f = *state;
    struct eventlog *l = open_log(f, &big, NULL);
    for (int i = 1; i <= 10; i++)
        append(l, (uint64_t)i, i * 10, "x");
    written(l, 10);
    struct eventlog_cursor *c = eventlog_cursor_new(l);
    struct seen s = {.stop_at = 40};
    bool gap;
    /* stopped before 40: the next read starts with it */
    assert_int_equal(eventlog_read(c, 1 << 20, collect, &s, &gap), EVENTLOG_STOPPED);
    assert_int_equal(s.n, 3);
    s.stop_at = -1;
    size_t one = strlen("{\"what\":\"x\",\"timeNano\":40}\n");
    assert_int_equal(eventlog_read(c, one, collect, &s, &gap), EVENTLOG_MORE);
    assert_int_equal(s.n, 4);
    assert_int_equal(eventlog_read(c, 1 << 20, collect, &s, &gap), EVENTLOG_END);
    assert_int_equal(s.n, 10);
    assert_non_null(strstr(s.text.data, "30:x 40:x 50:x"));
    buf_free(&s.text);
    eventlog_cursor_free(c);
}

static void test_rotation(void **state)
{
    struct fixture *f = *state;
    const struct eventlog_opts small = {.file_max = 200, .queue_max = 1 << 20, .sync_ms = 5};
    struct eventlog *l = open_log(f, &small, NULL);
    struct eventlog_cursor *early = eventlog_cursor_new(l);
    append(l, 1, 1, "first");
    written(l, 1);
    struct seen s = {.stop_at = -1};
    bool gap;
    assert_int_equal(eventlog_read(early, 1 << 20, collect, &s, &gap), EVENTLOG_END);
    assert_int_equal(s.n, 1);
    /* each write of ~40 bytes; a file is rotated past 200: 30 lines make several rotations */
    for (int i = 2; i <= 30; i++) {
        append(l, (uint64_t)i, i, "n");
        written(l, (uint64_t)i);
    }
    _cleanup_free_ char *old = xasprintf("%s/events.log.1", f->dir);
    _cleanup_free_ char *older = xasprintf("%s/events.log.2", f->dir);
    assert_true(tu_exists(old));
    assert_false(tu_exists(older));
    /* a new cursor reads the two files in order: the latest lines, no gap */
    struct eventlog_cursor *c = eventlog_cursor_new(l);
    bool g = true;
    char *all = read_all(c, &g);
    assert_false(g);
    assert_non_null(strstr(all, "29:n 30:n "));
    assert_null(strstr(all, "first"));
    int64_t prev = 0;
    for (char *p = all; *p; p = strchr(p, ' ') + 1) {
        int64_t t = strtoll(p, NULL, 10);
        assert_true(t == prev + 1 || prev == 0);
        prev = t;
    }
    free(all);
    eventlog_cursor_free(c);
    /* the early cursor's file went: it reads on from the oldest there is, and says so */
    all = read_all(early, &g);
    assert_true(g);
    assert_non_null(strstr(all, "30:n "));
    free(all);
    eventlog_cursor_free(early);
    buf_free(&s.text);
}

static void test_full_queue_drops(void **state)
{
    struct fixture *f = *state;
    const struct eventlog_opts tiny = {.file_max = 1 << 20, .queue_max = 8, .sync_ms = 5};
    struct eventlog *l = open_log(f, &tiny, NULL);
    _cleanup_free_ char *line = line_at(1, "too-long-for-the-queue");
    assert_false(eventlog_append(l, 1, line, strlen(line)));
    assert_int_equal(eventlog_dropped(l), 1);
    /* the queue's seq still advances: waiters on eventlog_done are not stuck behind it */
    _cleanup_free_ char *small = xstrdup("{\"timeNano\":2}\n");
    assert_false(eventlog_append(l, 2, small, strlen(small)));
    _cleanup_free_ char *fits = xstrdup("{}\n");
    assert_true(eventlog_append(l, 3, fits, strlen(fits)));
    written(l, 3);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_line_time), T(test_write_read_reopen), T(test_stop_and_chunks),
        T(test_rotation),  T(test_full_queue_drops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
