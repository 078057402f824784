/*
 * num_dec.c -- the exact decimal-to-double path (num__exact, see num_int.h).
 *
 * Eisel-Lemire decides nearly every input from 19 digits and a 128-bit product; what
 * is left are inputs whose value lies too close to the midpoint between two doubles
 * for those bits to tell (long halfway-like inputs), subnormals and the overflow
 * edge. Here the number is held exactly as decimal digits 0.d1 d2 ... dn * 10^dp and
 * multiplied or divided by powers of two (at most 2^60 at a time, so one 64-bit
 * accumulator carries every step) until it lies in [1/2, 1); shifting left by 53 more
 * bits leaves the mantissa as its integer part and the rounding in the digits after
 * it. No allocation: the digits live in a struct on the caller's stack.
 */
#include "core/num_int.h"

#include <string.h>

typedef struct {
    int n;     /* digits in d; d[n - 1] != 0 unless n == 0 */
    int dp;    /* decimal point: value = 0.d[0]d[1]... * 10^dp */
    int trunc; /* non-zero digits were dropped past NUM_DEC_DIGITS */
    uint8_t d[NUM_DEC_DIGITS];
} num_dec;

static void dec_trim(num_dec *a)
{
    while (a->n > 0 && a->d[a->n - 1] == 0)
        a->n--;
    if (a->n == 0)
        a->dp = 0;
}

/* Puts digit v at index i (dropping it past the end, remembering a non-zero one). */
static void dec_put(num_dec *a, int i, unsigned v)
{
    if (i < NUM_DEC_DIGITS)
        a->d[i] = (uint8_t)v;
    else if (v)
        a->trunc = 1;
}

static void dec_load(num_dec *a, const num_text *t)
{
    a->n = 0;
    a->dp = 0;
    a->trunc = 0;
    int seen = 0; /* a non-zero digit was met */
    for (size_t i = 0; i < t->ilen; i++) {
        unsigned v = (unsigned)(t->ip[i] - '0');
        seen |= v != 0;
        if (!seen)
            continue;
        dec_put(a, a->n, v);
        a->n += a->n < NUM_DEC_DIGITS;
        a->dp++;
    }
    for (size_t i = 0; i < t->flen; i++) {
        unsigned v = (unsigned)(t->fp[i] - '0');
        seen |= v != 0;
        if (!seen) {
            a->dp--;
            continue;
        }
        dec_put(a, a->n, v);
        a->n += a->n < NUM_DEC_DIGITS;
    }
    a->dp += t->exp10;
    dec_trim(a);
}

/* a /= 2^k, 1 <= k <= 60; a != 0. Long division, most significant digit first: the
 * accumulator stays below 10 * 2^k < 2^64. */
static void dec_shr(num_dec *a, unsigned k)
{
    uint64_t acc = 0, mask = (UINT64_C(1) << k) - 1;
    int r = 0, w = 0;
    while ((acc >> k) == 0) {
        acc = acc * 10 + (r < a->n ? a->d[r] : 0);
        r++;
    }
    a->dp -= r - 1;
    for (; r < a->n; r++) {
        unsigned v = (unsigned)(acc >> k);
        acc = (acc & mask) * 10 + a->d[r];
        a->d[w++] = (uint8_t)v; /* w < r: the digit there was read already */
    }
    while (acc > 0) {
        dec_put(a, w++, (unsigned)(acc >> k));
        acc = (acc & mask) * 10;
    }
    a->n = w < NUM_DEC_DIGITS ? w : NUM_DEC_DIGITS;
    dec_trim(a);
}

/* a *= 2^k, 1 <= k <= 60. Least significant digit first into a frame `extra` digits
 * longer (at least as many digits as the product can gain), then the unused leading
 * slots are removed. The accumulator stays below 10 * 2^k < 2^64. */
static void dec_shl(num_dec *a, unsigned k)
{
    int extra = (int)(k * 30103u / 100000u) + 1; /* > k * log10(2) */
    int w = a->n + extra - 1;
    uint64_t acc = 0;
    for (int r = a->n - 1; r >= 0; r--, w--) {
        acc += (uint64_t)a->d[r] << k;
        uint64_t q = acc / 10;
        dec_put(a, w, (unsigned)(acc - q * 10));
        acc = q;
    }
    for (; acc > 0; w--) {
        uint64_t q = acc / 10;
        dec_put(a, w, (unsigned)(acc - q * 10));
        acc = q;
    }
    int start = w + 1, end = a->n + extra;
    if (end > NUM_DEC_DIGITS)
        end = NUM_DEC_DIGITS;
    memmove(a->d, a->d + start, (size_t)(end - start));
    a->n = end - start;
    a->dp += extra - start;
    dec_trim(a);
}

/* The integer part of a (at most 2^53 here), rounded half to even by what follows. */
static uint64_t dec_round(const num_dec *a)
{
    uint64_t m = 0;
    if (a->dp < 0)
        return 0; /* below 0.1: under one half */
    for (int i = 0; i < a->dp; i++)
        m = m * 10 + (i < a->n ? a->d[i] : 0);
    if (a->dp < a->n) {
        unsigned v = a->d[a->dp];
        /* digits after a->dp are non-zero when there are any (trimmed) */
        if (v > 5 || (v == 5 && (a->trunc || a->dp + 1 < a->n || (m & 1))))
            m++;
    }
    return m;
}

uint64_t num__exact(const num_text *t)
{
    num_dec a;
    dec_load(&a, t);
    if (a.n == 0)
        return 0;
    if (a.dp > 310)
        return NUM_INF_BITS; /* >= 10^309 */
    if (a.dp < -330)
        return 0; /* < 10^-330, below half the smallest subnormal */
    int e2 = 0;
    /* Divide until below 1: ceil(dp * 3.322) bits cover 10^dp. */
    while (a.dp > 0) {
        unsigned k = a.dp >= 19 ? 60 : (unsigned)(a.dp * 3322 + 999) / 1000;
        dec_shr(&a, k);
        e2 += (int)k;
    }
    /* Multiply until in [1/2, 1): floor(-dp * 3.3219) bits keep it below 1. */
    while (a.dp < 0 || a.d[0] < 5) {
        unsigned k = a.dp == 0 ? 1 : -a.dp >= 19 ? 60 : (unsigned)(-a.dp * 33219) / 10000;
        dec_shl(&a, k);
        e2 -= (int)k;
    }
    /* value = x * 2^e2 with x in [1/2, 1): the unbiased exponent is e2 - 1. */
    int e = e2 - 1;
    if (e > 1023)
        return NUM_INF_BITS;
    if (e < -1022) {
        /* subnormal: fewer mantissa bits, as many as the exponent -1022 leaves */
        for (int k = -1022 - e; k > 0; k -= 60) {
            if (a.n == 0)
                break;
            dec_shr(&a, k > 60 ? 60 : (unsigned)k);
        }
        e = -1022;
    }
    uint64_t m = 0;
    if (a.n > 0) {
        dec_shl(&a, 53);
        m = dec_round(&a);
    }
    if (m >> 53) {
        m >>= 1;
        if (++e > 1023)
            return NUM_INF_BITS;
    }
    uint64_t biased = (m >> 52) ? (uint64_t)(e + 1023) : 0;
    return biased << 52 | (m & ((UINT64_C(1) << 52) - 1));
}
