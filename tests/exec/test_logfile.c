/* tests/exec/test_logfile.c — the json-file writer's records: a line becomes one record, a
 * line over 16 KiB is split into 16 KiB records however its bytes arrive (whole, in one chunk
 * with what follows, or byte-sized pieces), and a partial line waits for its end. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/macros.h"
#include "core/pool.h"
#include "exec/logfile.h"
#include "../core/reactor_helpers.h"

#define K16 16384

struct fx {
    struct reactor *r;
    struct pool *pool;
    char path[64];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->r = test_reactor_new(*state);
    f->pool = pool_new(f->r, 1, 1);
    snprintf(f->path, sizeof(f->path), "/tmp/berth-logfile-test.XXXXXX");
    close(mkstemp(f->path));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    pool_free(f->pool);
    reactor_free(f->r);
    unlink(f->path);
    free(f);
    return 0;
}

static bool closed(void *ctx)
{
    return *(bool *)ctx;
}

static void on_closed(void *arg)
{
    *(bool *)arg = true;
}

/* Feed `text` in pieces of `chunk` bytes, close, and return the records' lengths (the log
 * field's, with its newline) as "n,n,...". */
static char *records(struct fx *f, const char *text, size_t len, size_t chunk)
{
    int64_t size;
    int fd = log_file_open(f->path, &size, NULL);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 0), 0);
    struct log_writer *w = log_writer_new(f->r, f->pool, f->path, fd, 0, 0, 1);
    for (size_t off = 0; off < len; off += chunk)
        log_writer_write(w, LOG_STDOUT, text + off, len - off < chunk ? len - off : chunk);
    bool done = false;
    log_writer_close(w, on_closed, &done);
    assert_true(run_until(f->r, closed, &done, 5000));
    FILE *in = fopen(f->path, "r");
    static char out[4096];
    out[0] = '\0';
    char *line = NULL;
    size_t cap = 0;
    struct log_record rec = {0};
    while (getline(&line, &cap, in) > 0) {
        assert_true(log_record_parse(line, strlen(line), &rec));
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%zu", out[0] ? "," : "",
                 rec.line.len);
    }
    free(line);
    buf_free(&rec.line);
    buf_free(&rec.details);
    fclose(in);
    return out;
}

static void test_long_lines_split_at_16k_however_they_arrive(void **state)
{
    struct fx *f = *state;
    size_t len = 4 + 40001 + 4;
    char *text = malloc(len);
    memcpy(text, "abc\n", 4);
    memset(text + 4, 'x', 40000);
    text[4 + 40000] = '\n';
    memcpy(text + 40005, "end\n", 4);
    const size_t chunks[] = {len, 23617, 4096, 16384, 16385, 1000, 7};
    for (size_t i = 0; i < ARRAY_SIZE(chunks); i++)
        assert_string_equal(records(f, text, len, chunks[i]), "4,16384,16384,7233,4");
    free(text);
}

static void test_exactly_16k_then_newline(void **state)
{
    struct fx *f = *state;
    char *text = malloc(K16 + 1);
    memset(text, 'y', K16);
    text[K16] = '\n';
    assert_string_equal(records(f, text, K16 + 1, K16 + 1), "16384,1");
    assert_string_equal(records(f, text, K16 + 1, 100), "16384,1");
    free(text);
}

static void test_partial_line_flushed_at_close(void **state)
{
    struct fx *f = *state;
    assert_string_equal(records(f, "one\ntwo", 7, 2), "4,3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH_BACKENDS(test_long_lines_split_at_16k_however_they_arrive, setup, teardown),
        BOTH_BACKENDS(test_exactly_16k_then_newline, setup, teardown),
        BOTH_BACKENDS(test_partial_line_flushed_at_close, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
