/*
 * test_num.c -- core/num: the powers-of-five table, the grammar (what is a number),
 * and bit-exact agreement with the C library's correctly rounded strtod on the forms
 * ThingsBoard prints and on the inputs that are hard to round.
 */
#include "core/num.h"
#include "core/num_int.h"
#include "tests/harness.h"

#include <math.h>
#include <stdlib.h>

#define FAILF(...) harness_fail(__FILE__, __LINE__, __VA_ARGS__)

/* ---- a small big-number, 32-bit limbs, least significant first ---------------------- */

#define BN_LIMBS 64
typedef struct {
    int n;
    uint32_t l[BN_LIMBS];
} bn;

static void bn_set(bn *a, uint64_t v)
{
    a->n = 0;
    for (; v; v >>= 32)
        a->l[a->n++] = (uint32_t)v;
}

static void bn_mul32(bn *a, uint32_t m)
{
    uint64_t c = 0;
    for (int i = 0; i < a->n; i++) {
        c += (uint64_t)a->l[i] * m;
        a->l[i] = (uint32_t)c;
        c >>= 32;
    }
    if (c)
        a->l[a->n++] = (uint32_t)c;
}

static int bn_bits(const bn *a)
{
    if (a->n == 0)
        return 0;
    int b = 32 * (a->n - 1);
    for (uint32_t top = a->l[a->n - 1]; top; top >>= 1)
        b++;
    return b;
}

static int bn_bit(const bn *a, int i)
{
    return i / 32 < a->n && (a->l[i / 32] >> (i % 32) & 1);
}

static int bn_cmp(const bn *a, const bn *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (int i = a->n - 1; i >= 0; i--)
        if (a->l[i] != b->l[i])
            return a->l[i] < b->l[i] ? -1 : 1;
    return 0;
}

/* r = a * t where t is the 128-bit number {hi, lo} */
static void bn_mul128(bn *r, const bn *a, uint64_t hi, uint64_t lo)
{
    uint32_t t[4] = { (uint32_t)lo, (uint32_t)(lo >> 32), (uint32_t)hi, (uint32_t)(hi >> 32) };
    memset(r, 0, sizeof *r);
    r->n = a->n + 4;
    for (int j = 0; j < 4; j++) {
        uint64_t c = 0;
        for (int i = 0; i < a->n; i++) {
            c += (uint64_t)a->l[i] * t[j] + r->l[i + j];
            r->l[i + j] = (uint32_t)c;
            c >>= 32;
        }
        r->l[a->n + j] = (uint32_t)c;
    }
    while (r->n > 0 && r->l[r->n - 1] == 0)
        r->n--;
}

static void bn_add(bn *a, const bn *b)
{
    uint64_t c = 0;
    int n = a->n > b->n ? a->n : b->n;
    for (int i = 0; i < n; i++) {
        c += (uint64_t)(i < a->n ? a->l[i] : 0) + (i < b->n ? b->l[i] : 0);
        a->l[i] = (uint32_t)c;
        c >>= 32;
    }
    a->n = n;
    if (c)
        a->l[a->n++] = (uint32_t)c;
}

static void bn_pow2(bn *a, int e)
{
    memset(a, 0, sizeof *a);
    a->n = e / 32 + 1;
    a->l[e / 32] = 1u << (e % 32);
}

/* Every entry against 5^|q| computed here: the top 128 bits, rounded down. */
static void test_pow5_table(void)
{
    for (int q = NUM_POW5_MIN; q <= NUM_POW5_MAX; q++) {
        const uint64_t *t = num_pow5[q - NUM_POW5_MIN];
        bn p;
        bn_set(&p, 1);
        for (int i = 0; i < abs(q); i++)
            bn_mul32(&p, 5);
        int L = bn_bits(&p);
        CHECK_CTX("q=%d", q);
        CHECK(t[0] >> 63 == 1);
        if (q >= 0) {
            /* bit k of the entry is bit k + L - 128 of 5^q (zero below bit 0) */
            int ok = 1;
            for (int k = 0; k < 128; k++) {
                int src = k + L - 128;
                int want = src >= 0 && bn_bit(&p, src);
                int have = (int)((k < 64 ? t[1] >> k : t[0] >> (k - 64)) & 1);
                ok &= want == have;
            }
            CHECK(ok);
            CHECK_INT((217706 * q) >> 16, q + L - 1); /* floor(log2(10^q)) */
        } else {
            /* entry = floor(2^(127 + L) / 5^-q): entry * p <= 2^(127+L) < (entry+1) * p */
            bn prod, lim;
            bn_mul128(&prod, &p, t[0], t[1]);
            bn_pow2(&lim, 127 + L);
            CHECK(bn_cmp(&prod, &lim) <= 0);
            bn_add(&prod, &p);
            CHECK(bn_cmp(&prod, &lim) > 0);
            CHECK_INT((217706 * q) >> 16, q - L);
        }
    }
    CHECK_CTX("%s", "");
}

/* The checked-in table is what its generator prints (tests/run.sh runs us from the top
 * of the tree): a generator changed without regenerating, or a table edited by hand,
 * fails here; test_pow5_table above checks the values themselves. */
static void test_pow5_generator(void)
{
    static char want[65536], have[65536];
    FILE *f = fopen("core/num_pow5.c", "r");
    FILE *g = popen("python3 core/num_pow5.py", "r");
    size_t nw = f ? fread(want, 1, sizeof want, f) : 0;
    size_t nh = g ? fread(have, 1, sizeof have, g) : 0;
    CHECK(f != NULL && g != NULL);
    if (f)
        fclose(f);
    if (g)
        CHECK_INT(pclose(g), 0);
    CHECK(nw > 0 && nw < sizeof want);
    CHECK_MEM(have, nh, want, nw);
}

/* ---- grammar ------------------------------------------------------------------------- */

static void test_accepts_and_rejects(void)
{
    static const char *const yes[] = { "25",
                                       "25.0",
                                       "2.5E1",
                                       "1.0E-5",
                                       "-0.0",
                                       "+5",
                                       ".5",
                                       "5.",
                                       "007",
                                       "00.500",
                                       "1e+20",
                                       "1E-0",
                                       "NaN",
                                       "Infinity",
                                       "-Infinity",
                                       "+Infinity",
                                       "0",
                                       "-0",
                                       "35.81026666666667",
                                       "9223372036854775807",
                                       "1e100000000000",
                                       "0e-99999999999" };
    static const char *const no[] = { "",        " 25",       "25 ",   "0x10",  "1e",
                                      "1e+",     "-",         "+",     ".",     "e5",
                                      "1,5",     "1.2.3",     "A1B2",  "-NaN",  "+NaN",
                                      "nan",     "NAN",       "inf",   "-inf",  "infinity",
                                      "Infinit", "Infinityy", "1_000", "1e5.5", "--1",
                                      "+-1",     "1d",        "1f",    "0b1",   "\xef\xbc\x91" };
    double v;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        CHECK_CTX("\"%s\"", yes[i]);
        CHECK_INT(num_parse(yes[i], strlen(yes[i]), &v), 0);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        CHECK_CTX("\"%s\"", no[i]);
        CHECK_INT(num_parse(no[i], strlen(no[i]), &v), -1);
        CHECK_INT(num_classify(no[i], strlen(no[i]), &v), NUM_STRING);
    }
    /* a view: the bytes after len are not part of the number */
    CHECK_CTX("view");
    CHECK(num_parse("12345", 2, &v) == 0 && v == 12);
    CHECK(num_parse("1.5e", 3, &v) == 0 && v == 1.5);
    /* the 400-byte limit: 400 digits pass, 401 do not */
    char big[402];
    memset(big, '1', sizeof big);
    CHECK(num_parse(big, 400, &v) == 0 && v == strtod("1.11111111111111111111e399", NULL));
    CHECK_INT(num_parse(big, 401, &v), -1);
    CHECK_CTX("%s", "");
}

/* ---- values -------------------------------------------------------------------------- */

static int same_bits(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* num_parse(s) must be strtod(s), bit for bit (NaN: both NaN). */
static void expect_strtod(const char *s)
{
    double a = -12345, b = strtod(s, NULL);
    CHECK_CTX("\"%s\"", s);
    CHECK_INT(num_parse(s, strlen(s), &a), 0);
    if (!same_bits(a, b))
        FAILF("num_parse %a, strtod %a", a, b);
}

static void test_thingsboard_forms(void)
{
    static const char *const rows[] = {
        /* Java's Double.toString */
        "35.81026666666667", "-122.41941550000001", "25.0", "2.5E1", "1.0E-5", "-0.0", "0.0",
        "1.2345678E7", "9.999999999999999E22", "4.9E-324", "1.7976931348623157E308",
        "2.2250738585072014E-308", "0.30000000000000004", "0.1", "100.0", "1.0E7",
        "9999999.999999998", "1.0E-4", "0.001",
        /* SQL casts and hand-typed values */
        "25", "21.5", "1e+20", "-0.5", "+5", ".5", "5.", "000123.4500", "00.0001e4",
        /* integers past 2^53 */
        "9007199254740993", "9007199254740995", "18014398509481985", "9223372036854775807",
        "18446744073709551615", "18446744073709551616", "123456789012345678901234567890",
        /* 19 and more significant digits */
        "1.2345678901234567890123", "0.1000000000000000055511151231257827021181583404541015625",
        "0.1000000000000000055511151231257827021181583404541015624",
        "0.1000000000000000055511151231257827021181583404541015626",
        /* halfway cases between neighbouring doubles */
        "9007199254740993.0", "9007199254740993.0000000000000000000001",
        "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126", "2.2250738585072011e-308",
        "2.2250738585072012e-308",
        /* subnormals and the bottom */
        "2.4703282292062327e-324", "2.4703282292062328e-324", "4.9406564584124654e-324",
        "7.4109846876186982e-324", "1e-323", "2.225073858507201e-308", "1e-400", "1e-320",
        "3.0e-324",
        "2.4703282292062327208828439643411068618252990130716238221279284125033775363510437593264991818081799618989828234772285886546332835517796989819938739800539093906315035659515570226392290858392449105184435931802849936536152500319370457678249219365623669863658480757001585769269903706311928279558551332927e-324",
        "2.4703282292062327208828439643411068618252990130716238221279284125033775363510437593264991818081799618989828234772285886546332835517796989819938739800539093906315035659515570226392290858392449105184435931802849936536152500319370457678249219365623669863658480757001585769269903706311928279558551332928e-324",
        /* the top, and where it overflows */
        "1.7976931348623158e308", "1.7976931348623159e308", "1e309", "1e308", "-1e309",
        "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791.9999999999999999999999999999999999999999999999999999999999999999999999",
        /* extreme exponents */
        "1e100000", "1e-100000", "0.0000000000000000000000000000001e31",
        "100000000000000000000e-20", "NaN", "Infinity", "-Infinity", "+Infinity"
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        expect_strtod(rows[i]);
    double v;
    CHECK(num_parse("-0.0", 4, &v) == 0 && v == 0 && signbit(v));
    CHECK(num_parse("-0e5", 4, &v) == 0 && v == 0 && signbit(v));
    CHECK(num_parse("0.0", 3, &v) == 0 && v == 0 && !signbit(v));
    CHECK(num_classify("true", 4, &v) == NUM_BOOL && v == 1);
    CHECK(num_classify("false", 5, &v) == NUM_BOOL && v == 0);
    CHECK(num_classify("1.5", 3, &v) == NUM_NUMBER && v == 1.5);
    CHECK(num_classify("-", 1, &v) == NUM_STRING);
}

static uint64_t xs = 0x2545F4914F6CDD1Du;
static uint64_t rnd(void)
{
    xs ^= xs << 13;
    xs ^= xs >> 7;
    xs ^= xs << 17;
    return xs;
}

/* Neighbouring doubles' exact midpoints (and a last digit either side), every binade
 * from the subnormals to the top; plus round trips of random bit patterns. */
static void test_random_and_midpoints(void)
{
    char s[512];
    int bad = 0;
    for (int i = 0; i < 60000 && bad < 5; i++) {
        uint64_t b = rnd() & 0x7FFFFFFFFFFFFFFFu;
        double a;
        memcpy(&a, &b, sizeof a);
        if (!isfinite(a))
            continue;
        double n; /* the next double up: a is positive, so its bits plus one */
        b++;
        memcpy(&n, &b, sizeof n);
        if (!isfinite(n))
            continue;
        long double m = ((long double)a + (long double)n) / 2;
        if (!isfinite(m))
            continue; /* where long double is double (32-bit ARM) the sum can overflow */
        static const int prec[] = { 16, 30, 60, 380 };
        snprintf(s, sizeof s, "%.*Le", prec[i % 4], m);
        char *e = strchr(s, 'e');
        if (e && i % 3 && e - s > 3)
            e[-1] = e[-1] == '0' ? '1' : (char)(e[-1] - (i % 3 == 1));
        double x = -1, y = strtod(s, NULL);
        if (num_parse(s, strlen(s), &x) != 0 || !same_bits(x, y)) {
            CHECK_CTX("\"%s\"", s);
            FAILF("num_parse %a, strtod %a", x, y);
            bad++;
        }
        snprintf(s, sizeof s, "%.17g", a);
        if (num_parse(s, strlen(s), &x) != 0 || x != a) {
            CHECK_CTX("\"%s\"", s);
            FAILF("round trip %a gave %a", a, x);
            bad++;
        }
    }
}

/* got (IEEE bits from one stage of num) against strtod(s); 1 when they differ. */
static int differs(const char *s, const char *stage, uint64_t got)
{
    double want = strtod(s, NULL);
    uint64_t wb;
    memcpy(&wb, &want, sizeof wb);
    if (got == wb)
        return 0;
    CHECK_CTX("\"%s\"", s);
    FAILF("%s %016llx, strtod %016llx", stage, (unsigned long long)got, (unsigned long long)wb);
    return 1;
}

/* The exact path alone, on inputs Eisel-Lemire would decide too: it must be right
 * everywhere, not only where it is normally used. */
static void test_exact_path_everywhere(void)
{
    char s[128];
    int bad = 0;
    for (int i = 0; i < 20000 && bad < 5; i++) {
        uint64_t b = rnd();
        double a;
        memcpy(&a, &b, sizeof a);
        if (!isfinite(a))
            continue;
        a = fabs(a);
        snprintf(s, sizeof s, "%.*e", (int)(rnd() % 25), a);
        char *dot = strchr(s, '.'), *e = strchr(s, 'e');
        num_text t = { .ip = s,
                       .ilen = 1,
                       .fp = dot ? dot + 1 : e,
                       .flen = dot ? (size_t)(e - dot - 1) : 0,
                       .exp10 = atoi(e + 1) };
        bad += differs(s, "exact", num__exact(&t));
        uint64_t el;
        uint64_t w = rnd() >> (rnd() % 64);
        int q = (int)(rnd() % 700) - 350;
        if (w && num__eisel_lemire(w, q, &el)) {
            snprintf(s, sizeof s, "%llue%d", (unsigned long long)w, q);
            bad += differs(s, "eisel-lemire", el);
        }
    }
}

int main(void)
{
    RUN(test_pow5_table);
    RUN(test_pow5_generator);
    RUN(test_accepts_and_rejects);
    RUN(test_thingsboard_forms);
    RUN(test_random_and_midpoints);
    RUN(test_exact_path_everywhere);
    return harness_done();
}
