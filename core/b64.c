/*
 * b64.c -- base64/base64url codec (see b64.h). One routine per direction, with the
 * alphabet and the padding rule as parameters, so the two variants cannot drift apart.
 */
#include "core/b64.h"

static const char STD[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static long encode(const uint8_t *in, size_t len, char *out, size_t cap, const char *abc, int pad)
{
    size_t full = len / 3, rest = len % 3;
    size_t need = full * 4 + (rest ? (pad ? 4 : rest + 1) : 0);
    if (cap < need + 1)
        return B64_ERR_SPACE;
    size_t o = 0;
    for (size_t i = 0; i < full * 3; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = abc[v >> 18];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = abc[(v >> 6) & 63];
        out[o++] = abc[v & 63];
    }
    if (rest) {
        uint32_t v = (uint32_t)in[full * 3] << 16;
        if (rest == 2)
            v |= (uint32_t)in[full * 3 + 1] << 8;
        out[o++] = abc[v >> 18];
        out[o++] = abc[(v >> 12) & 63];
        if (rest == 2)
            out[o++] = abc[(v >> 6) & 63];
        else if (pad)
            out[o++] = '=';
        if (pad)
            out[o++] = '=';
    }
    out[o] = 0;
    return (long)o;
}

/* see b64.h */
long b64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
    return encode(in, len, out, cap, STD, 1);
}

/* see b64.h */
long b64url_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
    return encode(in, len, out, cap, URL, 0);
}

static int sym(char c, int url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

/* pad_mode: 1 = padding required, 0 = padding optional */
static long decode(const char *in, size_t len, uint8_t *out, size_t cap, int url, int pad_required)
{
    size_t n = len;
    if (n && in[n - 1] == '=') {
        /* padding only completes the final quantum: total length must be a multiple of 4 */
        if (n % 4)
            return B64_ERR_INVALID;
        n--;
        if (n && in[n - 1] == '=')
            n--;
    } else if (pad_required && n % 4) {
        return B64_ERR_INVALID;
    }
    if (n % 4 == 1)
        return B64_ERR_INVALID;
    if (len - n > 0 && (n % 4) + (len - n) != 4)
        return B64_ERR_INVALID; /* "==" after 3 symbols, or "=" after 2 */
    size_t outlen = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    if (outlen > cap)
        return B64_ERR_SPACE;
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = sym(in[i], url);
        if (v < 0)
            return B64_ERR_INVALID;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1u;
        }
    }
    if (acc != 0)
        return B64_ERR_INVALID; /* non-zero leftover bits: a non-canonical encoding */
    return (long)o;
}

/* see b64.h */
long b64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    return decode(in, len, out, cap, 0, 1);
}

/* see b64.h */
long b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    return decode(in, len, out, cap, 1, 0);
}

/* see b64.h */
const char *b64_strerror(int err)
{
    switch (err) {
    case 0: return "ok";
    case B64_ERR_SPACE: return "base64: output buffer too small";
    case B64_ERR_INVALID: return "base64: invalid encoding";
    default: return "base64: unknown error";
    }
}
