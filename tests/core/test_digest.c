/* tests/core/test_digest.c — core/digest.c against the FIPS 180-2 SHA-256 vectors, streamed in
 * odd pieces, and the "sha256:<64 lowercase hex>" validity rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/digest.h"
#include "core/macros.h"
#include "core/xalloc.h"

#define EMPTY "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct vector {
    const char *in;
    size_t repeat;
    const char *digest;
};

static const struct vector vectors[] = {
    {"", 1, EMPTY},
    {"abc", 1, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
     "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"a", 1000000, "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
};

static char *expand(const struct vector *v, size_t *len)
{
    size_t n = strlen(v->in);
    char *s = xmalloc(n * v->repeat + 1);
    for (size_t i = 0; i < v->repeat; i++)
        memcpy(s + i * n, v->in, n);
    *len = n * v->repeat;
    s[*len] = '\0';
    return s;
}

static void test_vectors_one_shot(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
        size_t len;
        char *s = expand(&vectors[i], &len);
        char out[DIGEST_LEN + 1];
        memset(out, 'x', sizeof(out));
        digest_buf(s, len, out);
        assert_string_equal(out, vectors[i].digest);
        assert_int_equal(strlen(out), DIGEST_LEN);
        free(s);
    }
}

/* Odd piece sizes cross SHA-256's 64-byte blocks at every offset. */
static void test_vectors_streamed(void **state)
{
    (void)state;
    static const size_t pieces[] = {1, 3, 63, 64, 65, 127, 1000, 4096};
    for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
        size_t len;
        char *s = expand(&vectors[i], &len);
        for (size_t p = 0; p < ARRAY_SIZE(pieces); p++) {
            struct digester d;
            digester_init(&d);
            for (size_t off = 0; off < len; off += pieces[p])
                digester_update(&d, s + off, len - off < pieces[p] ? len - off : pieces[p]);
            digester_update(&d, s, 0); /* an empty update changes nothing */
            char out[DIGEST_LEN + 1];
            digester_final(&d, out);
            if (strcmp(out, vectors[i].digest) != 0)
                fail_msg("vector %zu in pieces of %zu: %s", i, pieces[p], out);
        }
        free(s);
    }
}

static void test_valid(void **state)
{
    (void)state;
    const char *good[] = {
        EMPTY, "sha256:0000000000000000000000000000000000000000000000000000000000000000"};
    const char *bad[] = {
        NULL,
        "",
        "sha256:",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
        "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        " sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    };
    for (size_t i = 0; i < ARRAY_SIZE(good); i++)
        if (!digest_valid(good[i]))
            fail_msg("%s should be valid", good[i]);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        if (digest_valid(bad[i]))
            fail_msg("\"%s\" should be invalid", bad[i] ? bad[i] : "(null)");
    assert_string_equal(digest_hex(EMPTY), EMPTY + 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_one_shot),
        cmocka_unit_test(test_vectors_streamed),
        cmocka_unit_test(test_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
