/*
 * fuzz_num.c -- core/num against glibc's correctly rounded strtod on arbitrary bytes.
 *
 * Two checks on every input: num_parse accepts exactly the grammar of num.h (an
 * independent recogniser below decides it), and whatever it accepts has the value
 * strtod gives, bit for bit (NaN: NaN). The input is also read as "w e q" for
 * num__eisel_lemire, whose answers, when it gives one, must match strtod too.
 */
#include "core/num.h"
#include "core/num_int.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* [+-]?(Infinity | D+ .? D* | . D+)([eE][+-]?D+)? | NaN, at most 400 bytes */
static int grammar(const char *s, size_t n)
{
    size_t i = 0, d = 0;
    if (n == 0 || n > 400)
        return 0;
    if (n == 3 && memcmp(s, "NaN", 3) == 0)
        return 1;
    if (s[0] == '+' || s[0] == '-')
        i++;
    if (n - i == 8 && memcmp(s + i, "Infinity", 8) == 0)
        return 1;
    for (; i < n && is_digit(s[i]); i++)
        d++;
    if (i < n && s[i] == '.')
        for (i++; i < n && is_digit(s[i]); i++)
            d++;
    if (d == 0)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t e0 = i;
        for (; i < n && is_digit(s[i]); i++)
            ;
        if (i == e0)
            return 0;
    }
    return i == n;
}

static int same(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[512];
    double v = 0;
    const char *in = (const char *)data;
    int ok = num_parse(in, size, &v) == 0;
    if (ok != grammar(in, size))
        abort();
    if (!ok)
        return 0;
    memcpy(s, in, size);
    s[size] = 0;
    char *end;
    double want = strtod(s, &end);
    if (end != s + size || !same(v, want)) {
        fprintf(stderr, "\"%s\": num_parse %a, strtod %a\n", s, v, want);
        abort();
    }
    /* the same digits as w * 10^q for the Eisel-Lemire stage alone */
    if (size <= 19 && strspn(s, "0123456789") == size) {
        uint64_t w = strtoull(s, NULL, 10), bits;
        int q = (int)(w % 700) - 350;
        if (w && num__eisel_lemire(w, q, &bits)) {
            snprintf(s, sizeof s, "%llue%d", (unsigned long long)w, q);
            want = strtod(s, NULL);
            if (memcmp(&bits, &want, sizeof bits) != 0) {
                fprintf(stderr, "\"%s\": eisel-lemire %016llx, strtod %a\n", s,
                        (unsigned long long)bits, want);
                abort();
            }
        }
    }
    return 0;
}
