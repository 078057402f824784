/*
 * bench_num.c -- core/num against the C library's strtod: speed and exactness.
 *
 *   bench_num speed [values] [rounds]   GPS coordinates as Java prints them (15-17
 *                                       significant digits): ns per value for
 *                                       num_parse and for strtod, results compared
 *   bench_num diff N [seed]             N generated inputs (random and adversarial, see
 *                                       gen() below), each parsed by both; counts
 *                                       mismatches and prints the first few
 *
 * Output lines are "ID<TAB>VALUE" samples for tests/bench/run.sh (ids num.*), then
 * "# ..." notes (mismatches are named there). Exit status 1 when any result differs. Built twice by the benchmark:
 * against glibc (the correctly rounded reference for `diff`) and statically against
 * musl (the strtod the release binary used to call, for `speed`); `num.libc` says which.
 */
#include "core/num.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rnd(void)
{
    /* splitmix64: every seed gives a full-period, well-mixed stream */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static double bits_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

/* A finite double from random bits; kind 0 any, 1 subnormal, 2 near the top. */
static double rnd_double(int kind)
{
    uint64_t b = rnd();
    if (kind == 1)
        b &= 0x800FFFFFFFFFFFFFu;
    else if (kind == 2)
        b = (b & 0x800FFFFFFFFFFFFFu) | (uint64_t)(0x7F0 + rnd() % 15) << 52;
    double d = bits_double(b);
    return isfinite(d) ? d : 1.5;
}

/* Java's Double.toString layout of v's shortest digits: "25.0", "2.5E-5", "1.0E10". */
static int java_form(char *s, size_t cap, double v)
{
    char tmp[40], dig[24];
    /* the shortest precision that reads back: most doubles need 15 to 17 digits */
    int prec = 14;
    snprintf(tmp, sizeof tmp, "%.*e", prec, v);
    if (strtod(tmp, NULL) == v) {
        while (prec > 0) {
            snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
            if (strtod(tmp, NULL) != v)
                break;
            prec--;
        }
        snprintf(tmp, sizeof tmp, "%.*e", prec, v);
    } else {
        while (prec < 16) {
            snprintf(tmp, sizeof tmp, "%.*e", ++prec, v);
            if (strtod(tmp, NULL) == v)
                break;
        }
    }
    int n = 0;
    const char *p = tmp;
    int neg = *p == '-';
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            dig[n++] = *p;
    int e = atoi(p + 1);
    while (n > 1 && dig[n - 1] == '0')
        n--;
    double a = fabs(v);
    char *o = s, *end = s + cap;
    if (neg)
        *o++ = '-';
    if (a != 0 && (a < 1e-3 || a >= 1e7)) {
        o += snprintf(o, (size_t)(end - o), "%c.%.*sE%d", dig[0], n > 1 ? n - 1 : 1,
                      n > 1 ? dig + 1 : "0", e);
    } else if (e < 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = -1; i > e; i--)
            *o++ = '0';
        o += snprintf(o, (size_t)(end - o), "%.*s", n, dig);
    } else {
        for (int i = 0; i <= e; i++)
            *o++ = i < n ? dig[i] : '0';
        *o++ = '.';
        if (n > e + 1)
            o += snprintf(o, (size_t)(end - o), "%.*s", n - e - 1, dig + e + 1);
        else
            *o++ = '0';
        *o = 0;
    }
    return (int)(o - s);
}

/* NMEA-style coordinate: degrees + minutes / 60, as a fleet's devices report it. */
static double gps_value(void)
{
    double deg = (double)(rnd() % 180) - 90, min = (double)(rnd() % 600000) / 10000.0;
    return deg + (deg < 0 ? -min : min) / 60.0;
}

static int digits(char *o, int n, int first_nonzero)
{
    for (int i = 0; i < n; i++)
        o[i] = (char)('0' + (i == 0 && first_nonzero ? 1 + rnd() % 9 : rnd() % 10));
    return n;
}

/* One test input into s (NUL-terminated, at most 400 bytes); returns its length. */
static int gen(char *s, size_t cap)
{
    /* Category weights out of 64: cheap common forms dominate, every adversarial kind
     * is present (the exact path costs ~15 us an input, so midpoints are 4 in 64). */
    static const uint8_t pick[64] = { 0,  0,  0,  0,  0,  0,  1,  1,  1,  1,  1,  1,  2,
                                      2,  2,  2,  2,  2,  3,  3,  3,  3,  3,  3,  3,  3,
                                      4,  4,  4,  4,  7,  7,  7,  7,  7,  8,  8,  8,  9,
                                      9,  9,  9,  10, 11, 11, 11, 12, 12, 12, 12, 13, 13,
                                      13, 13, 13, 13, 14, 14, 15, 15, 15, 15, 15, 15 };
    double v;
    int n = 0;
    switch (pick[rnd() % 64]) {
    case 0: /* round trip of any double, %.17g */ return snprintf(s, cap, "%.17g", rnd_double(0));
    case 1: /* any double with 1..40 digits */
        return snprintf(s, cap, "%.*e", (int)(rnd() % 40), rnd_double(0));
    case 2: /* Java forms of any double */ return java_form(s, cap, rnd_double(0));
    case 3: /* Java forms of the fleet's coordinates, and their 15-17 digit spellings */
        v = gps_value();
        return rnd() & 1 ? java_form(s, cap, v)
                         : snprintf(s, cap, "%.*g", 15 + (int)(rnd() % 3), v);
    case 4: { /* exact midpoints between neighbours, and a hair either side */
        int kind = (int)(rnd() % 3);
        double a = fabs(rnd_double(kind)), b;
        uint64_t ab;
        memcpy(&ab, &a, sizeof ab);
        ab += ab < 0x7FEFFFFFFFFFFFFFu ? 1 : -1ull; /* a neighbour, the one above if any */
        memcpy(&b, &ab, sizeof b);
        long double m = ((long double)a + (long double)b) / 2; /* exact: 54 bits */
        n = snprintf(s, cap, "%.*Le", (int)(rnd() % 3 ? 25 + rnd() % 40 : 380), m);
        char *e = strchr(s, 'e');
        int sig = (int)(e - s);
        int tweak = (int)(rnd() % 3);
        if (tweak && sig > 3) { /* the last significant digit down or up by one */
            char *d = e - 1;
            if (tweak == 1 && *d > '0')
                (*d)--;
            else if (tweak == 2 && *d < '9')
                (*d)++;
        }
        return n;
    }
    case 7: { /* 19-40 significant digits, any exponent in range */
        int nd = 19 + (int)(rnd() % 22);
        n = digits(s, nd, 1);
        return n + snprintf(s + n, cap - (size_t)n, "e%d", (int)(rnd() % 660) - 345);
    }
    case 8: { /* long random digit strings with a point, up to the 400-byte limit */
        int ni = (int)(rnd() % 200), nf = 1 + (int)(rnd() % 180);
        n = digits(s, ni, 0);
        s[n++] = '.';
        n += digits(s + n, nf, 0);
        return n + snprintf(s + n, cap - (size_t)n, "E%d", (int)(rnd() % 800) - 400);
    }
    case 9: { /* integers beyond 2^53 (ThingsBoard's longs and beyond) */
        int nd = 16 + (int)(rnd() % 14);
        if (rnd() & 1)
            s[n++] = '-';
        n += digits(s + n, nd, 1);
        s[n] = 0;
        return n;
    }
    case 10: { /* subnormals and the bottom of the range */
        v = rnd() & 1 ? rnd_double(1)
                      : (double)((rnd() % 1000 + 1) << (rnd() % 60)) * bits_double(1);
        return rnd() & 1 ? java_form(s, cap, v) : snprintf(s, cap, "%.*e", (int)(rnd() % 25), v);
    }
    case 11: { /* the top: near DBL_MAX and the overflow threshold */
        v = rnd_double(2);
        return snprintf(s, cap, "%.*e", (int)(rnd() % 25), v);
    }
    case 12: { /* extreme exponents on short mantissas: zero and infinity, and between */
        int e = (int)(rnd() % 800) - 400;
        if (rnd() % 4 == 0)
            e = (int)(rnd() % 200000) - 100000;
        return snprintf(s, cap, "%s%u%se%d", rnd() & 1 ? "-" : "", (unsigned)(rnd() % 100000),
                        rnd() & 1 ? ".5" : "", e);
    }
    case 13: { /* leading zeros, signs, ".5", "5.", exponent signs and zeros */
        if (rnd() & 1)
            s[n++] = rnd() & 1 ? '+' : '-';
        for (int z = (int)(rnd() % 6); z > 0; z--)
            s[n++] = '0';
        int ni = (int)(rnd() % 5), nf = (int)(rnd() % 12);
        n += digits(s + n, ni, 0);
        if (nf || !ni || rnd() & 1)
            s[n++] = '.';
        n += digits(s + n, nf + (ni == 0 && nf == 0), 0);
        if (rnd() & 1)
            n += snprintf(s + n, cap - (size_t)n, "%c%s%03d", rnd() & 1 ? 'e' : 'E',
                          rnd() & 1 ? "+" : "-", (int)(rnd() % 330));
        s[n] = 0;
        return n;
    }
    case 14: { /* zeros, NaN and the infinities as ThingsBoard prints them */
        static const char *const fixed[] = { "0",
                                             "-0",
                                             "0.0",
                                             "-0.0",
                                             "0e999",
                                             "-0.000E-7",
                                             "NaN",
                                             "Infinity",
                                             "-Infinity",
                                             "+Infinity",
                                             "2.5E1",
                                             "25.0",
                                             "1.0E-5",
                                             "4.9E-324",
                                             "2.4703282292062327e-324",
                                             "2.4703282292062328e-324",
                                             "1.7976931348623157E308",
                                             "1.7976931348623158e308",
                                             "1.7976931348623159e308",
                                             "2.2250738585072011e-308",
                                             "2.2250738585072012e-308",
                                             "9007199254740993",
                                             "9007199254740992.5",
                                             "9223372036854775807" };
        return snprintf(s, cap, "%s", fixed[rnd() % (sizeof fixed / sizeof fixed[0])]);
    }
    default: /* short decimals: the common case */
        return snprintf(s, cap, "%.*f", (int)(rnd() % 8),
                        (double)(int64_t)(rnd() % 2000001 - 1000000) / 1000.0);
    }
}

static int same(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

static int run_diff(unsigned long long n, uint64_t seed)
{
    char s[512];
    unsigned long long bad = 0, rejected = 0;
    rng_state ^= seed * 0xD1B54A32D192ED03u;
    double t0 = now_s();
    for (unsigned long long i = 0; i < n; i++) {
        int len = gen(s, sizeof s);
        double a = 0, b = strtod(s, NULL);
        if (len <= 0 || len > 400)
            continue; /* cannot happen with the generators above */
        if (num_parse(s, (size_t)len, &a) != 0) {
            if (rejected++ < 5)
                printf("# rejected: \"%s\"\n", s);
            continue;
        }
        if (!same(a, b) && bad++ < 10)
            printf("# MISMATCH \"%s\": num_parse %a, strtod %a\n", s, a, b);
    }
    double dt = now_s() - t0;
    printf("num.diff_inputs\t%llu\n", n);
    printf("num.diff_identical_fraction\t%.9f\n", n ? (double)(n - bad - rejected) / (double)n : 0);
    printf("num.diff_seconds\t%.3f\n", dt);
    printf("# %llu inputs, %llu mismatches, %llu rejected, %.1f s\n", n, bad, rejected, dt);
    return bad || rejected;
}

static int run_speed(int nvals, int rounds)
{
    char *text = malloc((size_t)nvals * 24);
    size_t *off = malloc(((size_t)nvals + 1) * sizeof *off);
    double *out = malloc((size_t)nvals * sizeof *out);
    if (!text || !off || !out)
        return 2;
    size_t pos = 0;
    for (int i = 0; i < nvals; i++) {
        off[i] = pos;
        pos += (size_t)java_form(text + pos, 24, gps_value()) + 1; /* NUL kept for strtod */
    }
    off[nvals] = pos;
    double best_ours = 1e9, best_libc = 1e9, sink = 0;
    int bad = 0;
    for (int r = 0; r < rounds; r++) {
        double t0 = now_s();
        for (int i = 0; i < nvals; i++)
            num_parse(text + off[i], off[i + 1] - off[i] - 1, &out[i]);
        double t1 = now_s();
        for (int i = 0; i < nvals; i++) {
            double v = strtod(text + off[i], NULL);
            sink += v;
            bad |= !same(v, out[i]);
        }
        double t2 = now_s();
        if (t1 - t0 < best_ours)
            best_ours = t1 - t0;
        if (t2 - t1 < best_libc)
            best_libc = t2 - t1;
    }
    double avg = (double)(pos - (size_t)nvals) / nvals;
    printf("num.ns_per_value\t%.2f\n", best_ours / nvals * 1e9);
    printf("num.libc_ns_per_value\t%.2f\n", best_libc / nvals * 1e9);
    printf("num.speedup\t%.3f\n", best_libc / best_ours);
    printf("# results %s strtod's\n", bad ? "DIFFER from" : "identical to");
    printf("# %d GPS values (%.1f bytes each), best of %d rounds, checksum %g\n", nvals, avg,
           rounds, sink);
    free(text);
    free(off);
    free(out);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "speed") == 0)
        return run_speed(argc > 2 ? atoi(argv[2]) : 200000, argc > 3 ? atoi(argv[3]) : 5);
    if (argc >= 3 && strcmp(argv[1], "diff") == 0)
        return run_diff(strtoull(argv[2], NULL, 10), argc > 3 ? strtoull(argv[3], NULL, 10) : 1);
    fprintf(stderr, "usage: bench_num speed [values] [rounds] | diff N [seed]\n");
    return 2;
}
