/*
 * utf8.c -- UTF-8 validator (see utf8.h): byte at a time, with an ASCII fast path.
 *
 * ThingsBoard messages are almost all ASCII, and this check runs over every byte of
 * every text frame (it was a fifth of the exporter's CPU at full ingest), so between
 * code points the validator skips eight bytes at a time while none has its top bit set.
 *
 * State layout: bits 0-7 = continuation bytes still expected, bits 8-15 / 16-23 = the
 * allowed range of the *next* byte. Only the first continuation byte has a range other
 * than 80..BF (RFC 3629 table in section 4); that narrowed range is what rejects
 * overlongs, surrogates and code points past U+10FFFF at the earliest byte.
 */
#include "core/utf8.h"

#include <string.h>

#define UTF8_HIGH_BITS 0x8080808080808080ull

static uint32_t mk(unsigned need, unsigned lo, unsigned hi)
{
    return (uint32_t)need | (uint32_t)lo << 8 | (uint32_t)hi << 16;
}

/* see utf8.h */
size_t utf8_check(uint32_t *state, const uint8_t *p, size_t n)
{
    uint32_t st = *state;
    if (st == UTF8_BAD)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned b;
        if (st == UTF8_START) {
            uint64_t w;
            while (n - i >= 8) { /* memcpy: no alignment or aliasing assumptions */
                memcpy(&w, p + i, 8);
                if (w & UTF8_HIGH_BITS)
                    break;
                i += 8;
            }
            if (i == n)
                break;
            b = p[i];
            if (b < 0x80)
                continue;
            if (b >= 0xC2 && b <= 0xDF)
                st = mk(1, 0x80, 0xBF);
            else if (b == 0xE0)
                st = mk(2, 0xA0, 0xBF); /* below A0 would be overlong */
            else if (b == 0xED)
                st = mk(2, 0x80, 0x9F); /* A0 and up would be a surrogate */
            else if (b >= 0xE1 && b <= 0xEF)
                st = mk(2, 0x80, 0xBF);
            else if (b == 0xF0)
                st = mk(3, 0x90, 0xBF); /* below 90 would be overlong */
            else if (b >= 0xF1 && b <= 0xF3)
                st = mk(3, 0x80, 0xBF);
            else if (b == 0xF4)
                st = mk(3, 0x80, 0x8F); /* 90 and up would exceed U+10FFFF */
            else {
                *state = UTF8_BAD;
                return i;
            }
            continue;
        }
        b = p[i];
        unsigned lo = (st >> 8) & 0xFF, hi = (st >> 16) & 0xFF, need = st & 0xFF;
        if (b < lo || b > hi) {
            *state = UTF8_BAD;
            return i;
        }
        st = need == 1 ? UTF8_START : mk(need - 1, 0x80, 0xBF);
    }
    *state = st;
    return n;
}

/* see utf8.h */
size_t utf8_seq_len(const uint8_t *s, size_t n)
{
    unsigned c, lo = 0x80, hi = 0xBF;
    size_t len;
    if (n == 0)
        return 0;
    c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}
