/*
 * sim_fmt.c -- numbers as ThingsBoard prints them.
 *
 * The reference document notes two forms for the same double: the initial `data` page
 * carries SQL-cast text normalised without trailing zeros ("25", "21.5"), pushed
 * updates carry Java's Double.toString ("25.0", "21.5", "1.2345678E7", "1.0E-4").
 * Both start from the shortest decimal that reads back as the same double.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

/* Shortest significant digits of |v| (no point) and the decimal exponent of the first
 * digit: |v| = 0.d1d2d3... * 10^(exp+1). */
static int shortest(double v, char digits[24], int *exp10)
{
    char tmp[40];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    /* tmp is "d.ddde+XX" or "de+XX" */
    int n = 0;
    const char *p = tmp;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    *exp10 = atoi(p + 1);
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = 0;
    return n;
}

/* The common tail: sign already written at o; the n significant digits d (no trailing
 * zeros) of the value, the first at decimal exponent e. */
static void place(char *o, const char *d, int n, int e, double v, sim_fmt fmt)
{
    int sci = fmt == SIM_FMT_UPDATE ? (v < 1e-3 || v >= 1e7) : (e < -6 || e >= 15);
    if (sci) {
        *o++ = d[0];
        *o++ = '.';
        if (n > 1) {
            memcpy(o, d + 1, (size_t)(n - 1));
            o += n - 1;
        } else {
            *o++ = '0';
        }
        sprintf(o, fmt == SIM_FMT_UPDATE ? "E%d" : "e%+03d", e);
        return;
    }
    if (e < 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = -1; i > e; i--)
            *o++ = '0';
        memcpy(o, d, (size_t)n);
        o += n;
    } else {
        for (int i = 0; i <= e; i++)
            *o++ = i < n ? d[i] : '0';
        if (n > e + 1) {
            *o++ = '.';
            memcpy(o, d + e + 1, (size_t)(n - e - 1));
            o += n - e - 1;
        } else if (fmt == SIM_FMT_UPDATE) {
            *o++ = '.';
            *o++ = '0';
        }
    }
    *o = 0;
}

void sim_fmt_double(double v, sim_fmt fmt, char out[40])
{
    if (isnan(v)) {
        strcpy(out, "NaN");
        return;
    }
    if (isinf(v)) {
        strcpy(out, v < 0 ? "-Infinity" : "Infinity");
        return;
    }
    char *o = out;
    if (v < 0 || (v == 0 && signbit(v))) {
        *o++ = '-';
        v = -v;
    }
    if (v == 0) {
        strcpy(o, fmt == SIM_FMT_PAGE ? "0" : "0.0");
        return;
    }
    char d[24];
    int e;
    int n = shortest(v, d, &e);
    place(o, d, n, e, v, fmt);
}

/* m / 10^decimals without the search in shortest(): the nearest double to a decimal of
 * at most 15 significant digits reads back as exactly that decimal (DBL_DIG), and no
 * shorter decimal can read back as the same double, so the digits of m are the shortest
 * digits. Same output as sim_fmt_double(m / 10^decimals), at a fraction of the cost:
 * the simulator renders every value of a 100k-asset data page with it. */
void sim_fmt_scaled(long long m, int decimals, sim_fmt fmt, char out[40])
{
    double scale = 1;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    unsigned long long u = m < 0 ? 0ull - (unsigned long long)m : (unsigned long long)m;
    if (m == 0 || decimals < 0 || decimals > 22 || u >= 1000000000000000ull) {
        sim_fmt_double((double)m / scale, fmt, out);
        return;
    }
    char d[24], *o = out;
    int n = 0;
    for (unsigned long long t = u; t; t /= 10)
        n++;
    for (int i = n - 1; i >= 0; i--, u /= 10)
        d[i] = (char)('0' + u % 10);
    int e = n - 1 - decimals;
    while (n > 1 && d[n - 1] == '0')
        n--;
    d[n] = 0;
    if (m < 0)
        *o++ = '-';
    place(o, d, n, e, fabs((double)m / scale), fmt);
}
