/*
 * bytes.h -- short byte-string equality for the ingest hot path.
 *
 * Why not memcmp: the release binary links musl, whose memcmp walks one byte at a
 * time, and the hot path compares a few short strings per value (JSON member names,
 * telemetry key names of 10-30 bytes). Comparing eight bytes per step made memcmp's
 * ~5% of the exporter's CPU at full ingest disappear. Only equality is answered, not
 * order. Also the one wipe for secrets. Header-only: static inline, no state.
 */
#ifndef IOTPRO_CORE_BYTES_H
#define IOTPRO_CORE_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* 1 if a[0..n) == b[0..n), else 0. Reads exactly the n bytes of each side. */
static inline int bytes_eq(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    uint64_t u, v;
    if (n >= 8) {
        /* a layout's literal runs (core/tb_shape.c) are ~100 bytes: 32 per branch */
        for (; n > 32; n -= 32, x += 32, y += 32) {
            uint64_t u1, u2, u3, v1, v2, v3;
            memcpy(&u, x, 8);
            memcpy(&u1, x + 8, 8);
            memcpy(&u2, x + 16, 8);
            memcpy(&u3, x + 24, 8);
            memcpy(&v, y, 8);
            memcpy(&v1, y + 8, 8);
            memcpy(&v2, y + 16, 8);
            memcpy(&v3, y + 24, 8);
            if ((u ^ v) | (u1 ^ v1) | (u2 ^ v2) | (u3 ^ v3))
                return 0;
        }
        for (; n > 8; n -= 8, x += 8, y += 8) {
            memcpy(&u, x, 8); /* fixed-size memcpy: one unaligned load, inlined */
            memcpy(&v, y, 8);
            if (u != v)
                return 0;
        }
        /* the last 1..8 bytes, as one load ending at the last byte (may overlap); n is
         * 1..8 here, so x + (n - 8) would wrap the unsigned offset (UBSan stops on it):
         * step to the end first, then back */
        memcpy(&u, x + n - 8, 8);
        /* cppcheck reads y + n as out of bounds when n is 8: it is one past the end,
         * which C allows, and nothing is read there (8 is subtracted first) */
        /* cppcheck-suppress pointerOutOfBoundsCond */
        memcpy(&v, y + n - 8, 8);
        return u == v;
    }
    for (; n; n--, x++, y++)
        if (*x != *y)
            return 0;
    return 1;
}

/* Zeroes p[0..n) with volatile stores: a memset right before free() may be dropped by
 * the compiler, and these bytes are passwords and tokens. */
static inline void bytes_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

#endif
