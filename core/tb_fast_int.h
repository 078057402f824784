/*
 * tb_fast_int.h -- the scanner primitives core/tb_fast.c and core/tb_shape.c share:
 * whitespace, strings, integers and UUIDs read exactly as the fast path's grammar
 * (tb_fast.c) reads them. Internal to core; no state.
 */
#ifndef IOTPRO_CORE_TB_FAST_INT_H
#define IOTPRO_CORE_TB_FAST_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The scanner functions are forced inline into tb_fast_update. The scan position
 * then stays in a register across the whole message: called through pointers (the
 * member callbacks), it was stored and reloaded at every token, a chain of memory
 * round trips that cost a third of the parse (GPS updates: ~230 -> ~160 ns). The
 * grammar is not recursive, so everything inlines; the price is ~4 KiB of code. */
#define FAST_FN static inline __attribute__((always_inline))

typedef struct fscan {
    const char *p, *end;
    unsigned ntok;
} fscan;

/* Hex digit value, or -1 (defined in tb_fast.c). */
extern const int8_t tb_fast__hex[256];

/* The body of the string opened at p (after its '"'): returns its closing quote, or
 * NULL when the string is invalid or truncated; *esc tells whether it has escapes.
 * Out of line (the one scanner function that is: it is the largest, called from
 * many places); it takes and returns positions, so the scan position stays in a
 * register all the same. */
const char *tb_fast__string_end(const char *p, const char *end, int *esc);

FAST_FN void fast_ws(fscan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* A JSON integer, as json_get_i64 reads it ("-0" is 0); fails on fractions,
 * exponents and int64 overflow (the jsmn path then decides). */
FAST_FN int fast_i64(fscan *s, int64_t *out)
{
    fast_ws(s);
    const char *p = s->p, *end = s->end;
    int neg = p < end && *p == '-';
    p += neg;
    if (p >= end || *p < '0' || *p > '9')
        return 0;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (*p == '0') {
        p++;
    } else {
        /* 18 digits cannot overflow (10^18 - 1 < INT64_MAX): only the 19th and later
         * are checked, so a millisecond timestamp (13 digits) costs no division */
        const char *safe = end - p > 18 ? p + 18 : end;
        for (; p < safe && (unsigned)(*p - '0') <= 9; p++)
            v = v * 10 + (unsigned)(*p - '0');
        for (; p < end && *p >= '0' && *p <= '9'; p++) {
            unsigned d = (unsigned)(*p - '0');
            if (v > (lim - d) / 10)
                return 0;
            v = v * 10 + d;
        }
    }
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9')))
        return 0;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    s->p = p;
    s->ntok++;
    return 1;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Eight hex digits x (the first in the lowest byte) into four bytes, the first two
 * digits the first byte; 0 when one is not a hex digit. A byte b < 0x80 plus
 * 0x80 - c has its top bit set when b >= c, and carries into no other byte. */
FAST_FN int fast_hex8(uint64_t x, uint8_t out[4])
{
    const uint64_t one = 0x0101010101010101u, top = one * 0x80;
    const uint64_t lower = x | one * 0x20; /* 'A'-'F' as 'a'-'f' */
    const uint64_t digit = (x + one * (0x80 - '0')) & ~(x + one * (0x80 - '9' - 1));
    const uint64_t alpha = (lower + one * (0x80 - 'a')) & ~(lower + one * (0x80 - 'f' - 1));
    if ((x & top) || ((digit | alpha) & top) != top)
        return 0;
    uint64_t v = (x & one * 0x0F) + ((x >> 6) & one) * 9; /* one nibble per byte */
    v = ((v << 4) | (v >> 8)) & 0x00FF00FF00FF00FFu;      /* pairs in the even bytes */
    v = (v | (v >> 8)) & 0x0000FFFF0000FFFFu;
    v = (v | (v >> 16)) & 0xFFFFFFFFu;
    uint32_t w = (uint32_t)v;
    memcpy(out, &w, 4);
    return 1;
}
#endif

/* Same grammar as tb_uuid_parse: 8-4-4-4-12 hex digits, either case. */
FAST_FN int fast_uuid(const char *u, size_t len, uint8_t out[16])
{
    if (len != 36 || u[8] != '-' || u[13] != '-' || u[18] != '-' || u[23] != '-')
        return 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* four groups of eight digits, the middle two joined across their dash */
    uint64_t g0, g3;
    uint32_t a, b, c, d;
    memcpy(&g0, u, 8);
    memcpy(&a, u + 9, 4);
    memcpy(&b, u + 14, 4);
    memcpy(&c, u + 19, 4);
    memcpy(&d, u + 24, 4);
    memcpy(&g3, u + 28, 8);
    return fast_hex8(g0, out) & fast_hex8(a | (uint64_t)b << 32, out + 4) &
           fast_hex8(c | (uint64_t)d << 32, out + 8) & fast_hex8(g3, out + 12);
#else
    static const uint8_t at[16] = { 0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34 };
    int bad = 0;
    for (int i = 0; i < 16; i++) {
        int hi = tb_fast__hex[(uint8_t)u[at[i]]], lo = tb_fast__hex[(uint8_t)u[at[i] + 1]];
        bad |= hi | lo; /* negative if either is -1 */
        out[i] = (uint8_t)((unsigned)(hi & 15) << 4 | (unsigned)(lo & 15));
    }
    return bad >= 0;
#endif
}

#endif
