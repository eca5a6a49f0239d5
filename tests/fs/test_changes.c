/* tests/fs/test_changes.c — fs/changes.c: docker diff's answers from an upper directory over
 * layers as berth unpacks them (whiteouts as 0:0 character devices, opaque directories as
 * trusted.overlay.opaque): adds, changes (and the directories holding them), deletes, a
 * whiteout of what a layer already hid, an opaque directory's lost names, an unchanged copy-up.
 * Whiteouts and trusted xattrs need root; the tests skip otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "fs/changes.h"
#include "tests/testutil.h"

#define T1 1600000000

struct fixture {
    char *dir;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    f->dir = tu_tmpdir("changes");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static char *at(struct fixture *f, const char *name)
{
    return xasprintf("%s/%s", f->dir, name);
}

static void mkdir_at(struct fixture *f, const char *name)
{
    _cleanup_free_ char *p = at(f, name);
    assert_int_equal(mkdir(p, 0755), 0);
}

static void file_at(struct fixture *f, const char *name, const char *data)
{
    _cleanup_free_ char *p = at(f, name);
    tu_write(p, data, strlen(data));
    chmod(p, 0644);
    struct timespec ts[2] = {{.tv_sec = T1}, {.tv_sec = T1}};
    utimensat(AT_FDCWD, p, ts, 0);
}

static void whiteout_at(struct fixture *f, const char *name)
{
    _cleanup_free_ char *p = at(f, name);
    assert_int_equal(mknod(p, S_IFCHR, makedev(0, 0)), 0);
}

static bool opaque_at(struct fixture *f, const char *name)
{
    _cleanup_free_ char *p = at(f, name);
    return setxattr(p, "trusted.overlay.opaque", "y", 1, 0) == 0;
}

static int open_at(struct fixture *f, const char *name)
{
    _cleanup_free_ char *p = at(f, name);
    return open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* "K /path" lines, as docker diff prints them. */
static char *diff(struct fixture *f)
{
    int upper = open_at(f, "upper");
    int lowers[2] = {open_at(f, "l1"), open_at(f, "l2")};
    json_t *out = NULL;
    _cleanup_err_ struct berth_err *err = NULL;
    if (changes_list(upper, lowers, 2, &out, &err) < 0)
        fail_msg("changes: %s", err->msg);
    close(upper);
    close(lowers[0]);
    close(lowers[1]);
    struct buf b = {0};
    size_t i;
    json_t *c;
    json_array_foreach(out, i, c)
    {
        static const char kinds[] = "CAD";
        buf_printf(&b, "%c %s\n", kinds[json_integer_value(json_object_get(c, "Kind"))],
                   json_string_value(json_object_get(c, "Path")));
    }
    if (json_is_null(out))
        buf_puts(&b, "null\n");
    json_decref(out);
    buf_reserve(&b, 0);
    return buf_steal(&b, NULL);
}

/* l2 (bottom): a/{x,y} d/{p,q} f k/z; l1: a/y again, d/q whited out, k opaque with k/w. */
static bool layers(struct fixture *f)
{
    const char *dirs[] = {"l2", "l2/a", "l2/d", "l2/k", "l1", "l1/a", "l1/d", "l1/k", "upper"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        mkdir_at(f, dirs[i]);
    file_at(f, "l2/a/x", "x");
    file_at(f, "l2/a/y", "y");
    file_at(f, "l2/d/p", "p");
    file_at(f, "l2/d/q", "q");
    file_at(f, "l2/f", "f");
    file_at(f, "l2/k/z", "z");
    file_at(f, "l1/a/y", "y2");
    whiteout_at(f, "l1/d/q");
    file_at(f, "l1/k/w", "w");
    return opaque_at(f, "l1/k");
}

static void test_changes(void **state)
{
    if (!tu_is_root())
        skip();
    struct fixture *f = *state;
    if (!layers(f))
        skip();
    _cleanup_free_ char *none = diff(f);
    assert_string_equal(none, "null\n");
    const char *dirs[] = {"upper/a", "upper/d", "upper/k", "upper/nd", "upper/nd/sub"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        mkdir_at(f, dirs[i]);
    file_at(f, "upper/n", "new");
    file_at(f, "upper/a/x", "x changed");
    file_at(f, "upper/a/y", "y2"); /* a copy-up that changed nothing */
    whiteout_at(f, "upper/f");
    whiteout_at(f, "upper/d/q"); /* already hidden below */
    assert_true(opaque_at(f, "upper/k"));
    file_at(f, "upper/k/v", "v");
    file_at(f, "upper/nd/sub/file", "file");
    _cleanup_free_ char *got = diff(f);
    assert_string_equal(got, "C /a\n"
                             "C /a/x\n"
                             "D /f\n"
                             "C /k\n"
                             "A /k/v\n"
                             "D /k/w\n"
                             "A /n\n"
                             "A /nd\n"
                             "A /nd/sub\n"
                             "A /nd/sub/file\n");
}

/* A file replaced by a directory (and the reverse): C, and what the new directory holds is A. */
static void test_type_changes(void **state)
{
    if (!tu_is_root())
        skip();
    struct fixture *f = *state;
    if (!layers(f))
        skip();
    mkdir_at(f, "upper/f");
    file_at(f, "upper/f/inside", "i");
    file_at(f, "upper/d", "now a file");
    _cleanup_free_ char *got = diff(f);
    assert_string_equal(got, "C /d\n"
                             "C /f\n"
                             "A /f/inside\n");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {T(test_changes), T(test_type_changes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
