/*
 * num.c -- strict, allocation-free parsing of the number forms ThingsBoard emits.
 * The grammar is checked by hand first, so strtod() only ever sees a valid number
 * and can never read past the view; most values take the exact fast path (Clinger:
 * a mantissa below 2^53 times an exact power of ten is correctly rounded).
 */
#include "core/num.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const double num_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int num_lit(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len == n && memcmp(s, lit, n) == 0;
}

int num_parse(const char *s, size_t len, double *out)
{
    size_t i = 0;
    int neg = 0;
    if (len == 0 || len > 400)
        return -1;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    /* Java's Double.toString spells these out; Prometheus has them too. */
    if (num_lit(s + i, len - i, "Infinity")) {
        *out = neg ? -INFINITY : INFINITY;
        return 0;
    }
    if (i == 0 && num_lit(s, len, "NaN")) {
        *out = NAN;
        return 0;
    }

    uint64_t mant = 0;
    int digits = 0;       /* significant digits accumulated in mant */
    int dropped = 0;      /* digits beyond what mant can hold */
    int exp10 = 0;
    int any = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        any = 1;
        if (mant == 0 && s[i] == '0')
            continue; /* leading zeros carry no information */
        if (digits < 19) {
            mant = mant * 10 + (uint64_t)(s[i] - '0');
            digits++;
        } else {
            dropped = 1;
            exp10++;
        }
    }
    if (i < len && s[i] == '.') {
        i++;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            any = 1;
            if (mant == 0 && s[i] == '0') {
                exp10--;
                continue;
            }
            if (digits < 19) {
                mant = mant * 10 + (uint64_t)(s[i] - '0');
                digits++;
                exp10--;
            } else {
                dropped = 1;
            }
        }
    }
    if (!any)
        return -1;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0, e = 0, edig = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            i++;
        }
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, edig++)
            if (e < 100000)
                e = e * 10 + (s[i] - '0');
        if (edig == 0)
            return -1;
        exp10 += eneg ? -e : e;
    }
    if (i != len)
        return -1;

    if (mant == 0) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    if (!dropped && mant <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
        double d = (double)mant;
        d = exp10 < 0 ? d / num_pow10[-exp10] : d * num_pow10[exp10];
        *out = neg ? -d : d;
        return 0;
    }
    /* Rare: long mantissas or large exponents. The text is validated and bounded. */
    char buf[401];
    memcpy(buf, s, len);
    buf[len] = 0;
    *out = strtod(buf, NULL);
    return 0;
}

num_kind num_classify(const char *s, size_t len, double *out)
{
    if (num_lit(s, len, "true")) {
        *out = 1.0;
        return NUM_BOOL;
    }
    if (num_lit(s, len, "false")) {
        *out = 0.0;
        return NUM_BOOL;
    }
    return num_parse(s, len, out) == 0 ? NUM_NUMBER : NUM_STRING;
}
