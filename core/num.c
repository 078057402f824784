/*
 * num.c -- strict, allocation-free, correctly rounded parsing of the number forms
 * ThingsBoard emits (see num.h for the grammar).
 *
 * The text is checked and its significant digits gathered in one pass; the value is
 * then found by the cheapest method that is exact for it:
 *   1. Clinger: a mantissa below 2^53 times an exact power of ten (|q| <= 22) is one
 *      correctly rounded IEEE operation ("25.0", "-0.5", 6-decimal coordinates);
 *   2. Eisel-Lemire (num__eisel_lemire): the first 19 digits times a 128-bit power of
 *      five; when digits were dropped, w and w+1 must round to the same double, or
 *      the input is too close to a midpoint ("35.81026666666667" takes this path);
 *   3. the exact big-decimal path (num_dec.c) for what 2 cannot decide.
 * No step calls libc's strtod, so the result does not depend on its speed, its
 * rounding or the locale's decimal point.
 */
#include "core/num.h"
#include "core/num_int.h"

#include <math.h>
#include <string.h>

/* Longest text num_parse accepts (the exact path's buffer is sized from it). */
#define NUM_MAX_LEN 400

static const double num_pow10[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                    1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

typedef struct {
    uint64_t hi, lo;
} num_u128;

static num_u128 num_mul(uint64_t a, uint64_t b)
{
    num_u128 r;
#if defined(__SIZEOF_INT128__)
    unsigned __int128 p = (unsigned __int128)a * b;
    r.hi = (uint64_t)(p >> 64);
    r.lo = (uint64_t)p;
#else
    uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    r.lo = (mid << 32) | (uint32_t)ll;
    r.hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
#endif
    return r;
}

static int num_clz(uint64_t x)
{
#if defined(__GNUC__)
    return __builtin_clzll(x);
#else
    int n = 0;
    while (!(x >> 63)) {
        x <<= 1;
        n++;
    }
    return n;
#endif
}

/* see num_int.h */
int num__eisel_lemire(uint64_t w, int q, uint64_t *bits)
{
    if (q < NUM_POW5_MIN) {
        *bits = 0;
        return 1;
    }
    if (q > NUM_POW5_MAX) {
        *bits = NUM_INF_BITS;
        return 1;
    }
    int lz = num_clz(w);
    w <<= lz;
    const uint64_t *t = num_pow5[q - NUM_POW5_MIN];
    num_u128 x = num_mul(w, t[0]);
    /* The table is rounded down, so the true product lies in [x, x + w) in units of
     * the low word. Only when the 9 bits below the 54 we keep are all ones can that
     * carry reach them: then take the next 64 bits of the power too, and give up if
     * even those leave a carry possible. */
    if ((x.hi & 0x1FF) == 0x1FF && x.lo + w < w) {
        num_u128 y = num_mul(w, t[1]);
        uint64_t lo = x.lo + y.hi;
        uint64_t hi = x.hi + (lo < x.lo);
        if ((hi & 0x1FF) == 0x1FF && lo + 1 == 0 && y.lo + w < w)
            return 0;
        x.hi = hi;
        x.lo = lo;
    }
    /* 10^q = 5^q * 2^q: the binary exponent is floor(q * log2(10)) plus the
     * normalisation shifts; (217706 * q) >> 16 is that floor for every q of the table
     * (tests/unit/test_num.c checks each one). */
    unsigned msb = (unsigned)(x.hi >> 63);
    uint64_t m = x.hi >> (msb + 9);
    int e = ((217706 * q) >> 16) + 64 + 1023 - lz - (int)(1 ^ msb);
    /* Exactly halfway as far as these bits show: ties need the exact path. */
    if (x.lo == 0 && (x.hi & 0x1FF) == 0 && (m & 3) == 1)
        return 0;
    m += m & 1;
    m >>= 1;
    if (m >> 53) {
        m >>= 1;
        e++;
    }
    if (e <= 0 || e >= 0x7FF)
        return 0; /* subnormal or overflow: the exact path rounds those */
    *bits = (uint64_t)e << 52 | (m & ((UINT64_C(1) << 52) - 1));
    return 1;
}

static int num_lit(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len == n && memcmp(s, lit, n) == 0;
}

static double num_from_bits(uint64_t bits, int neg)
{
    double d;
    bits |= (uint64_t)(neg != 0) << 63;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static int num_isdigit(char c)
{
    return (unsigned)(c - '0') < 10;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Eight ASCII digits at once (the first in the lowest byte): a coordinate's 15-17
 * digits take two steps instead of sixteen. */
static int num_eight_digits(uint64_t c)
{
    return ((c & 0xF0F0F0F0F0F0F0F0u) | (((c + 0x0606060606060606u) & 0xF0F0F0F0F0F0F0F0u) >> 4)) ==
           0x3333333333333333u;
}

static uint64_t num_eight_value(uint64_t c)
{
    c -= 0x3030303030303030u;                        /* bytes d0..d7, d0 lowest */
    c = (c * 10 + (c >> 8)) & 0x00FF00FF00FF00FFu;   /* 16-bit lanes: d0d1 d2d3 ... */
    c = (c * 100 + (c >> 16)) & 0x0000FFFF0000FFFFu; /* 32-bit lanes: d0..d3 d4..d7 */
    return (c * 10000 + (c >> 32)) & 0xFFFFFFFFu;
}
#endif

/* Appends the digits at s[i..) to *w while *nd (digits in *w) stays <= 19; returns the
 * index after the last digit taken. */
static size_t num_take(const char *s, size_t i, size_t len, uint64_t *w, int *nd)
{
    uint64_t v = *w;
    int n = *nd;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (n <= 11 && len - i >= 8) {
        uint64_t c;
        memcpy(&c, s + i, 8);
        if (!num_eight_digits(c))
            break;
        v = v * 100000000u + num_eight_value(c);
        n += 8;
        i += 8;
    }
#endif
    for (; n < 19 && i < len && num_isdigit(s[i]); i++, n++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    *w = v;
    *nd = n;
    return i;
}

/* Skips the digits at s[i..) that did not fit in 19, noting a non-zero one. */
static size_t num_rest(const char *s, size_t i, size_t len, int *drop)
{
    for (; i < len && num_isdigit(s[i]); i++)
        *drop |= s[i] != '0';
    return i;
}

int num_parse(const char *s, size_t len, double *out)
{
    size_t i = 0;
    int neg = 0;
    if (len == 0 || len > NUM_MAX_LEN)
        return -1;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    /* Java's Double.toString spells these out; Prometheus has them too. */
    if (i < len && (s[i] == 'I' || s[i] == 'N')) {
        if (num_lit(s + i, len - i, "Infinity")) {
            *out = neg ? -INFINITY : INFINITY;
            return 0;
        }
        if (i == 0 && num_lit(s, len, "NaN")) {
            *out = NAN;
            return 0;
        }
        return -1;
    }

    /* value = w * 10^q, exactly when !drop, else in (w, w + 1) * 10^q */
    num_text t = { .ip = s + i };
    uint64_t w = 0;
    int nd = 0, drop = 0, q = 0;
    while (i < len && s[i] == '0')
        i++; /* leading zeros carry no information */
    i = num_take(s, i, len, &w, &nd);
    size_t r = i;
    i = num_rest(s, i, len, &drop);
    q = (int)(i - r); /* integer digits past the 19th scale w */
    t.ilen = (size_t)(s + i - t.ip);
    t.fp = s + i;
    if (i < len && s[i] == '.') {
        t.fp = s + i + 1;
        i++;
        if (nd == 0)
            while (i < len && s[i] == '0')
                i++;
        i = num_take(s, i, len, &w, &nd);
        q -= (int)(s + i - t.fp); /* fraction digits up to the last one in w */
        i = num_rest(s, i, len, &drop);
        t.flen = (size_t)(s + i - t.fp);
    }
    if (t.ilen + t.flen == 0)
        return -1;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0, e = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            i++;
        }
        size_t d0 = i;
        for (; i < len && num_isdigit(s[i]); i++)
            if (e < NUM_EXP_CLAMP)
                e = e * 10 + (s[i] - '0');
        if (i == d0)
            return -1;
        if (e > NUM_EXP_CLAMP)
            e = NUM_EXP_CLAMP;
        t.exp10 = eneg ? -e : e;
    }
    if (i != len)
        return -1;
    q += t.exp10;
    if (nd == 0) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    if (!drop && w <= (UINT64_C(1) << 53) && q >= -22 && q <= 22) {
        double d = (double)w;
        d = q < 0 ? d / num_pow10[-q] : d * num_pow10[q];
        *out = neg ? -d : d;
        return 0;
    }
    uint64_t bits, up;
    if (num__eisel_lemire(w, q, &bits) &&
        (!drop || (num__eisel_lemire(w + 1, q, &up) && up == bits))) {
        *out = num_from_bits(bits, neg);
        return 0;
    }
    *out = num_from_bits(num__exact(&t), neg);
    return 0;
}

num_kind num_classify(const char *s, size_t len, double *out)
{
    if (len >= 4 && (s[0] == 't' || s[0] == 'f')) { /* no number starts with a letter but I, N */
        if (num_lit(s, len, "true")) {
            *out = 1.0;
            return NUM_BOOL;
        }
        if (num_lit(s, len, "false")) {
            *out = 0.0;
            return NUM_BOOL;
        }
        return NUM_STRING;
    }
    return num_parse(s, len, out) == 0 ? NUM_NUMBER : NUM_STRING;
}
