/*
 * test_sha1_b64.c -- SHA-1 against the RFC 3174 test vectors (one-shot and updated at
 * every split point), base64/base64url against the RFC 4648 section 10 vectors, plus
 * the strict-decoder rejections and the RFC 6455 handshake example.
 */
#include "core/b64.h"
#include "core/sha1.h"
#include "tests/harness.h"

#include <stdlib.h>

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02X", d[i]);
}

static void test_sha1_rfc3174(void)
{
    static const struct {
        const char *in;
        int repeat;
        const char *digest;
    } V[] = {
        { "abc", 1, "A9993E364706816ABA3E25717850C26C9CD0D89D" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
          "84983E441C3BD26EBAAE4AA1F95129E5E54670F1" },
        { "a", 1000000, "34AA973CD4C4DAA4F61EEB2BDBAD27316534016F" },
        { "0123456701234567012345670123456701234567012345670123456701234567", 10,
          "DEA356A2CDDD90C7A7ECEDC5EBB563934F460452" },
        { "", 1, "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709" },
    };
    for (size_t i = 0; i < sizeof V / sizeof V[0]; i++) {
        CHECK_CTX("vector %zu", i);
        sha1_ctx c;
        uint8_t d[SHA1_LEN];
        char h[41];
        sha1_init(&c);
        for (int r = 0; r < V[i].repeat; r++)
            sha1_update(&c, V[i].in, strlen(V[i].in));
        sha1_final(&c, d);
        hex(d, sizeof d, h);
        CHECK_STR(h, V[i].digest);
        if (V[i].repeat == 1) {
            size_t n = strlen(V[i].in);
            sha1(V[i].in, n, d);
            hex(d, sizeof d, h);
            CHECK_STR(h, V[i].digest);
            for (size_t s = 0; s <= n; s++) {
                sha1_init(&c);
                sha1_update(&c, V[i].in, s);
                sha1_update(&c, V[i].in + s, n - s);
                sha1_final(&c, d);
                hex(d, sizeof d, h);
                CHECK_STR(h, V[i].digest);
            }
        }
    }
}

/* Lengths around the 55/56/64-byte padding boundaries ("x" * n; digests from Python's
 * hashlib), one-shot and fed one byte at a time. */
static void test_sha1_padding_boundaries(void)
{
    static const struct {
        size_t n;
        const char *digest;
    } V[] = {
        { 55, "CEF734BA81A024479E09EB5A75B6DDAE62E6ABF1" },
        { 56, "901305367C259952F4E7AF8323F480D59F81335B" },
        { 63, "0DDC4E0CCCD9A12850DEB5ABB0853A4425559FEC" },
        { 64, "BB2FA3EE7AFB9F54C6DFB5D021F14B1FFE40C163" },
        { 65, "78C741DDC482E4CDF8C474A0876347A0905B6233" },
        { 119, "4300320394F7EE239BCDCE7D3B8BCEE173A0CD5C" },
        { 120, "CEB2821639C4B6DCB10BCE0E522CA2E608CE056D" },
        { 128, "150FA3FBDC899BD0B8F95A9FB6027F564D953762" },
    };
    uint8_t buf[200], d[SHA1_LEN];
    char h[41];
    memset(buf, 'x', sizeof buf);
    for (size_t i = 0; i < sizeof V / sizeof V[0]; i++) {
        CHECK_CTX("n=%zu", V[i].n);
        sha1(buf, V[i].n, d);
        hex(d, sizeof d, h);
        CHECK_STR(h, V[i].digest);
        sha1_ctx c;
        sha1_init(&c);
        for (size_t k = 0; k < V[i].n; k++)
            sha1_update(&c, buf + k, 1);
        sha1_final(&c, d);
        hex(d, sizeof d, h);
        CHECK_STR(h, V[i].digest);
    }
}

static void test_b64_rfc4648(void)
{
    static const struct {
        const char *in, *b64, *url;
    } V[] = {
        { "", "", "" },
        { "f", "Zg==", "Zg" },
        { "fo", "Zm8=", "Zm8" },
        { "foo", "Zm9v", "Zm9v" },
        { "foob", "Zm9vYg==", "Zm9vYg" },
        { "fooba", "Zm9vYmE=", "Zm9vYmE" },
        { "foobar", "Zm9vYmFy", "Zm9vYmFy" },
        { "\xfb\xff", "+/8=", "-_8" },
        { "\x14\xfb\x9c\x03\xd9\x7e", "FPucA9l+", "FPucA9l-" },
    };
    for (size_t i = 0; i < sizeof V / sizeof V[0]; i++) {
        CHECK_CTX("vector %zu", i);
        char out[64];
        uint8_t dec[64];
        size_t n = strlen(V[i].in);
        CHECK_INT(b64_encode((const uint8_t *)V[i].in, n, out, sizeof out), strlen(V[i].b64));
        CHECK_STR(out, V[i].b64);
        CHECK_INT(b64url_encode((const uint8_t *)V[i].in, n, out, sizeof out), strlen(V[i].url));
        CHECK_STR(out, V[i].url);
        CHECK_INT(b64_decode(V[i].b64, strlen(V[i].b64), dec, sizeof dec), n);
        CHECK_MEM(dec, n, V[i].in, n);
        CHECK_INT(b64url_decode(V[i].url, strlen(V[i].url), dec, sizeof dec), n);
        CHECK_MEM(dec, n, V[i].in, n);
        /* exact-size buffers work, one byte less does not */
        CHECK_INT(b64_encode((const uint8_t *)V[i].in, n, out, strlen(V[i].b64) + 1),
                  strlen(V[i].b64));
        CHECK_INT(b64_encode((const uint8_t *)V[i].in, n, out, strlen(V[i].b64)), B64_ERR_SPACE);
        if (n) {
            CHECK_INT(b64_decode(V[i].b64, strlen(V[i].b64), dec, n), n);
            CHECK_INT(b64_decode(V[i].b64, strlen(V[i].b64), dec, n - 1), B64_ERR_SPACE);
        }
    }
}

static void test_b64_rejects(void)
{
    static const char *bad_std[] = { "Zm9",  "Zg=",       "Zg",     "Z===", "Zh==",
                                     "Zm9=", "Zm9v YmFy", "Zm9v\n", "-_8=", "Zm9vY",
                                     "=Zm9", "Zg==Zg==",  "Z",      "Zm=v" };
    static const char *bad_url[] = { "Zh", "Zm9", "+/8", "Z", "Zg=", "Zm 9", "Zm9vY" };
    uint8_t out[64];
    for (size_t i = 0; i < sizeof bad_std / sizeof bad_std[0]; i++) {
        CHECK_CTX("std %s", bad_std[i]);
        CHECK_INT(b64_decode(bad_std[i], strlen(bad_std[i]), out, sizeof out), B64_ERR_INVALID);
    }
    for (size_t i = 0; i < sizeof bad_url / sizeof bad_url[0]; i++) {
        CHECK_CTX("url %s", bad_url[i]);
        CHECK_INT(b64url_decode(bad_url[i], strlen(bad_url[i]), out, sizeof out), B64_ERR_INVALID);
    }
    CHECK_STR(b64_strerror(B64_ERR_INVALID), "base64: invalid encoding");
}

/* Round trip of every length 0..300 with all byte values. */
static void test_b64_roundtrip(void)
{
    uint8_t in[300], dec[300];
    char enc[420];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 151 + 7);
    for (size_t n = 0; n <= sizeof in; n++) {
        CHECK_CTX("n=%zu", n);
        long e = b64_encode(in, n, enc, sizeof enc);
        CHECK_INT(e, B64_ENC_LEN(n));
        CHECK_INT(b64_decode(enc, (size_t)e, dec, sizeof dec), n);
        CHECK_MEM(dec, n, in, n);
        e = b64url_encode(in, n, enc, sizeof enc);
        CHECK_INT(b64url_decode(enc, (size_t)e, dec, sizeof dec), n);
        CHECK_MEM(dec, n, in, n);
    }
}

/* RFC 6455 1.3: the sample nonce and its accept value. */
static void test_rfc6455_accept(void)
{
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    const char *guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    sha1_ctx c;
    uint8_t d[SHA1_LEN];
    char out[32];
    sha1_init(&c);
    sha1_update(&c, key, strlen(key));
    sha1_update(&c, guid, strlen(guid));
    sha1_final(&c, d);
    CHECK_INT(b64_encode(d, sizeof d, out, sizeof out), 28);
    CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

int main(void)
{
    RUN(test_sha1_rfc3174);
    RUN(test_sha1_padding_boundaries);
    RUN(test_b64_rfc4648);
    RUN(test_b64_rejects);
    RUN(test_b64_roundtrip);
    RUN(test_rfc6455_accept);
    return harness_done();
}
