/* core/digest.c — SHA-256 digests in the OCI "algorithm:hex" form, over nettle. Only sha256
 * is produced; other algorithms are rejected by digest_valid() and so never trusted. */
#include "core/digest.h"

#include <string.h>

void digester_init(struct digester *d)
{
    sha256_init(&d->ctx);
}

void digester_update(struct digester *d, const void *p, size_t n)
{
    sha256_update(&d->ctx, n, p);
}

void digester_final(struct digester *d, char out[DIGEST_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[SHA256_DIGEST_SIZE];
    sha256_digest(&d->ctx, sizeof(raw), raw);
    memcpy(out, "sha256:", 7);
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[7 + 2 * i] = hex[raw[i] >> 4];
        out[8 + 2 * i] = hex[raw[i] & 15];
    }
    out[DIGEST_LEN] = '\0';
}

void digest_buf(const void *p, size_t n, char out[DIGEST_LEN + 1])
{
    struct digester d;
    digester_init(&d);
    digester_update(&d, p, n);
    digester_final(&d, out);
}

bool digest_valid(const char *s)
{
    if (!s || strncmp(s, "sha256:", 7) != 0 || strlen(s) != DIGEST_LEN)
        return false;
    for (const char *p = s + 7; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

const char *digest_hex(const char *digest)
{
    return digest + 7;
}
