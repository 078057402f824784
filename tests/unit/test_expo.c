/* test_expo.c -- exposition encoder: numbers (fixed-point ms equal to the double
 * path), escaping, families, formats, names, speed. Stream mode: test_expo_stream.c. */
#include "exporter/expo.h"
#include "tests/harness.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static void test_fmt_double_table(void)
{
    static const struct {
        double v;
        const char *want;
    } t[] = {
        { 0.0, "0" },
        { 1.0, "1" },
        { -5.0, "-5" },
        { 42.0, "42" },
        { 0.1, "0.1" },
        { -0.25, "-0.25" },
        { 35.8989, "35.8989" },
        { 14.5146, "14.5146" },
        { 1700000000.123, "1700000000.123" },
        { 0.05, "0.05" },
        { 1e-9, "0.000000001" },
        { 1.0 / 3.0, "0.3333333333333333" },
        { 0.30000000000000004, "0.30000000000000004" },
        { 1e20, "1e+20" },
        { 9007199254740992.0, "9007199254740992" },
        { 9007199254740991.0, "9007199254740991" },
        { 123456.789, "123456.789" },
        { 2.5e-10, "2.5e-10" },
        { -1e300, "-1e+300" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char b[EXPO_NUM_MAX];
        CHECK_CTX("row %zu", i);
        size_t n = expo_fmt_double(b, t[i].v);
        CHECK_STR(b, t[i].want);
        CHECK_INT(n, strlen(t[i].want));
    }
}

static void test_fmt_double_specials(void)
{
    char b[EXPO_NUM_MAX];
    expo_fmt_double(b, NAN);
    CHECK_STR(b, "NaN");
    expo_fmt_double(b, INFINITY);
    CHECK_STR(b, "+Inf");
    expo_fmt_double(b, -INFINITY);
    CHECK_STR(b, "-Inf");
    expo_fmt_double(b, DBL_MAX);
    CHECK(strtod(b, NULL) == DBL_MAX);
    expo_fmt_double(b, 5e-324);
    CHECK(strtod(b, NULL) == 5e-324);
    expo_fmt_u64(b, UINT64_MAX);
    CHECK_STR(b, "18446744073709551615");
}

/* Every double reads back as itself, never with more than 17 significant digits. */
static void test_fmt_double_roundtrip_random(void)
{
    uint64_t x = 0x9E3779B97F4A7C15ull;
    int bad = 0;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        if (i % 3 == 0) {
            memcpy(&v, &x, sizeof v);
        } else if (i % 3 == 1) {
            v = (double)(int64_t)(x % 2000000) / 10000.0 - 100.0; /* coordinates */
        } else {
            v = (double)(x % 4000000000000ull) / 1000.0; /* ms timestamps */
        }
        if (isnan(v) || isinf(v))
            continue;
        char b[EXPO_NUM_MAX];
        size_t n = expo_fmt_double(b, v);
        if (strtod(b, NULL) != v || n >= EXPO_NUM_MAX || strchr(b, ' ')) {
            if (bad++ < 5)
                harness_fail(__FILE__, __LINE__, "%.17g printed as %s", v, b);
        }
    }
    CHECK_INT(bad, 0);
}

/* expo_fmt_ms is a fixed-point shortcut: it must print exactly what expo_fmt_double
 * prints for (double)ms / 1000.0, for every ms. Millions of values: ThingsBoard-like
 * timestamps, small and negative ones, round ones (trailing zeros), the whole exact
 * range, around its 10^15 bound and beyond it (the fallback). */
static void test_fmt_ms_equals_double(void)
{
    static const int64_t edge[] = {
        0,
        1,
        -1,
        5,
        -5,
        10,
        100,
        999,
        1000,
        1001,
        -1000,
        -999,
        1700000000000,
        1700000000123,
        1700000000120,
        1700000000100,
        999999999999999,
        -999999999999999,
        1000000000000000,
        -1000000000000000,
        1000000000000001,
        9007199254740991,
        9007199254740993,
        INT64_MAX,
        INT64_MIN,
        INT64_MIN + 1,
    };
    const int n = SANITIZED ? 1000000 : 4000000;
    uint64_t x = 0x243F6A8885A308D3ull;
    int bad = 0;
    char a[EXPO_NUM_MAX], b[EXPO_NUM_MAX];
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        size_t na = expo_fmt_ms(a, edge[i]), nb = expo_fmt_double(b, (double)edge[i] / 1000.0);
        CHECK_CTX("edge %lld", (long long)edge[i]);
        CHECK_STR(a, b);
        CHECK_INT(na, nb);
    }
    for (int i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t ms;
        switch (i % 8) {
        case 0:
        case 1:
        case 2: ms = 1500000000000ll + (int64_t)(x % 500000000000ull); break;
        case 3: ms = (int64_t)(x % 2000000) - 1000000; break;
        case 4: ms = (int64_t)(x % 2000000000000000ull) - 1000000000000000ll; break;
        case 5:
            ms = (int64_t)(x % 10000000000000ull) * ((x >> 62) == 0   ? 10
                                                     : (x >> 62) == 1 ? 100
                                                                      : 1000);
            break;
        case 6: ms = 1000000000000000ll + (int64_t)(x % 2000) - 1000; break;
        default: ms = (int64_t)x; break;
        }
        if (i % 16 == 7)
            ms = -ms;
        size_t na = expo_fmt_ms(a, ms), nb = expo_fmt_double(b, (double)ms / 1000.0);
        if (na != nb || strcmp(a, b) != 0) {
            if (bad++ < 5)
                harness_fail(__FILE__, __LINE__, "ms %lld: fixed %s, double %s", (long long)ms, a,
                             b);
        }
    }
    CHECK_INT(bad, 0);
    /* and the encoder line is the same as through a double */
    struct expo e1, e2;
    expo_init(&e1, EXPO_TEXT, 0);
    expo_init(&e2, EXPO_TEXT, 0);
    expo_family(&e1, "t_seconds", EXPO_GAUGE, "h");
    expo_family(&e2, "t_seconds", EXPO_GAUGE, "h");
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        expo_sample2_ms(&e1, "a=\"1\"", 5, "k=\"x\"", 5, edge[i]);
        expo_sample2(&e2, "a=\"1\"", 5, "k=\"x\"", 5, (double)edge[i] / 1000.0);
    }
    size_t l1, l2;
    const char *b1 = expo_body(&e1, &l1), *b2 = expo_body(&e2, &l2);
    CHECK(l1 == l2 && memcmp(b1, b2, l1) == 0);
    CHECK(strstr(b1, "t_seconds{a=\"1\",k=\"x\"} 1700000000.12\n") != NULL);
    expo_free(&e1);
    expo_free(&e2);
}

/* Integers and the u64 path print like printf, including the two-digit table's edges. */
static void test_fmt_integers(void)
{
    uint64_t x = 0x13198A2E03707344ull;
    for (int i = 0; i < 200000; i++) {
        char a[EXPO_NUM_MAX], b[EXPO_NUM_MAX];
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t v = i < 1000 ? (uint64_t)i : x >> (x % 64);
        expo_fmt_u64(a, v);
        snprintf(b, sizeof b, "%llu", (unsigned long long)v);
        if (strcmp(a, b) != 0) {
            harness_fail(__FILE__, __LINE__, "u64 %s printed as %s", b, a);
            break;
        }
        int64_t sv = (int64_t)(v % 9007199254740992ull) * (i % 2 ? -1 : 1);
        expo_fmt_double(a, (double)sv);
        snprintf(b, sizeof b, "%lld", (long long)sv);
        if (strcmp(a, b) != 0) {
            harness_fail(__FILE__, __LINE__, "integral double %s printed as %s", b, a);
            break;
        }
    }
}

/* A line that only fits exactly at the bound is still written (the in-place number
 * path reserves room for the longest number; near the bound it must not). */
static void test_bound_exact(void)
{
    struct expo e;
    size_t len;
    expo_init(&e, EXPO_TEXT, 0);
    expo_family(&e, "a_b", EXPO_GAUGE, "h");
    expo_sample(&e, NULL, 0, 7);
    expo_finish(&e);
    expo_body(&e, &len);
    expo_free(&e);
    expo_init(&e, EXPO_TEXT, len);
    expo_family(&e, "a_b", EXPO_GAUGE, "h");
    expo_sample(&e, NULL, 0, 7);
    CHECK_INT(expo_finish(&e), EXPO_OK);
    CHECK_INT(e.len, len);
    expo_free(&e);
    expo_init(&e, EXPO_TEXT, len - 1);
    expo_family(&e, "a_b", EXPO_GAUGE, "h");
    expo_sample(&e, NULL, 0, 7);
    CHECK_INT(expo_finish(&e), EXPO_ERR_FULL);
    expo_free(&e);
}

/* Reverses the label escaping (the test's own parser of the format). */
static size_t unescape(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            i++;
            out[o++] = s[i] == 'n' ? '\n' : s[i];
        } else {
            out[o++] = s[i];
        }
    }
    return o;
}

static void test_label_escape_roundtrip(void)
{
    static const char *const hostile[] = {
        "plain",
        "",
        "quo\"te",
        "back\\slash",
        "new\nline",
        "}",
        "#",
        "=",
        "a=\"b\",c=\"d\"}",
        "\\n literally",
        "emoji \xF0\x9F\x9A\x9A truck",
        "tab\there",
        "\"\"\"\\\\\\\n\n",
        ("Mdina \xC4\xA6"
         "al Qormi"),
        "end\\",
    };
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        CHECK_CTX("row %zu", i);
        const char *s = hostile[i];
        size_t n = strlen(s);
        char esc[256], back[256];
        uint64_t bad = 0;
        size_t w = expo_escape_label(esc, sizeof esc, s, n, &bad);
        CHECK(w != (size_t)-1);
        CHECK_INT(bad, 0);
        /* no raw newline and no unescaped quote may remain */
        CHECK(memchr(esc, '\n', w) == NULL);
        for (size_t j = 0; j < w; j++)
            if (esc[j] == '\\')
                j++;
            else
                CHECK(esc[j] != '"');
        size_t b = unescape(esc, w, back);
        CHECK_MEM(back, b, s, n);
    }
}

static void test_label_escape_invalid_utf8(void)
{
    static const struct {
        const char *in;
        size_t n;
        const char *out;
        int bad;
    } t[] = {
        { "a\xFFz", 3, "a\xEF\xBF\xBDz", 1 },
        { "\xC0\xAF", 2, "\xEF\xBF\xBD\xEF\xBF\xBD", 2 },                 /* overlong '/' */
        { "\xED\xA0\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 3 }, /* surrogate */
        { "x\xE2\x82", 3, "x\xEF\xBF\xBD\xEF\xBF\xBD", 2 },               /* truncated */
        { "\xF4\x90\x80\x80", 4, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD",
          4 },                                        /* > U+10FFFF */
        { "ok\xE2\x82\xAC", 5, "ok\xE2\x82\xAC", 0 }, /* euro sign */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        CHECK_CTX("row %zu", i);
        char esc[64];
        uint64_t bad = 0;
        size_t w = expo_escape_label(esc, sizeof esc, t[i].in, t[i].n, &bad);
        CHECK_MEM(esc, w, t[i].out, strlen(t[i].out));
        CHECK_INT(bad, t[i].bad);
    }
}

static void test_label_escape_small_dst(void)
{
    /* 600 bytes of 2-byte characters into a buffer that is not 3x: chunking must not
     * split a character, and running out of room must be reported. */
    char in[600], out[700];
    for (int i = 0; i < 600; i += 2) {
        in[i] = (char)0xC4;
        in[i + 1] = (char)0xA6;
    }
    uint64_t bad = 0;
    size_t w = expo_escape_label(out, sizeof out, in, sizeof in, &bad);
    CHECK_INT(bad, 0);
    CHECK_MEM(out, w, in, sizeof in);
    CHECK(expo_escape_label(out, 10, in, sizeof in, NULL) == (size_t)-1);
}

static void test_labels_builder(void)
{
    char buf[128];
    struct expo_labels lb;
    expo_labels_init(&lb, buf, sizeof buf);
    CHECK_INT(expo_labels_add(&lb, "asset_id", "u-1", 3), 0);
    CHECK_INT(expo_labels_add(&lb, "asset", "Tr\"uck\n", 7), 0);
    CHECK_MEM(lb.buf, lb.len, "asset_id=\"u-1\",asset=\"Tr\\\"uck\\n\"", 32);
    CHECK_INT(expo_labels_add(&lb, "__reserved", "x", 1), EXPO_ERR_ARG);
    expo_labels_init(&lb, buf, 12);
    CHECK_INT(expo_labels_add(&lb, "key", "much too long value", 19), EXPO_ERR_FULL);
    expo_labels_init(&lb, buf, sizeof buf);
    CHECK_INT(expo_labels_add(&lb, "9bad", "x", 1), EXPO_ERR_ARG);
}

static void test_text_family(void)
{
    struct expo e;
    expo_init(&e, EXPO_TEXT, 0);
    CHECK_INT(expo_family(&e, "iotpro_ws_connects_total", EXPO_COUNTER,
                          "Connections \"opened\"\\ok\nnext"),
              0);
    expo_sample_u64(&e, NULL, 0, 3);
    expo_family(&e, "iotpro_up", EXPO_GAUGE, "Up.");
    expo_sample(&e, NULL, 0, 1);
    expo_family(&e, "iotpro_asset_info", EXPO_INFO, "Asset metadata.");
    expo_sample2(&e, "asset_id=\"a\"", 12, "asset=\"b\"", 9, 1);
    expo_sample2(&e, "", 0, "asset=\"c\"", 9, 1);
    expo_family(&e, "x_thing", EXPO_UNTYPED, "u");
    expo_sample(&e, "k=\"v\"", 5, NAN);
    CHECK_INT(expo_finish(&e), 0);
    size_t n;
    const char *b = expo_body(&e, &n);
    const char *want = "# HELP iotpro_ws_connects_total Connections \"opened\"\\\\ok\\nnext\n"
                       "# TYPE iotpro_ws_connects_total counter\n"
                       "iotpro_ws_connects_total 3\n"
                       "# HELP iotpro_up Up.\n# TYPE iotpro_up gauge\niotpro_up 1\n"
                       "# HELP iotpro_asset_info Asset metadata.\n# TYPE iotpro_asset_info gauge\n"
                       "iotpro_asset_info{asset_id=\"a\",asset=\"b\"} 1\n"
                       "iotpro_asset_info{asset=\"c\"} 1\n"
                       "# HELP x_thing u\n# TYPE x_thing untyped\nx_thing{k=\"v\"} NaN\n";
    CHECK_MEM(b, n, want, strlen(want));
    CHECK_INT(e.samples, 5);
    expo_free(&e);
}

static void test_openmetrics_family(void)
{
    struct expo e;
    expo_init(&e, EXPO_OPENMETRICS, 0);
    expo_family(&e, "iotpro_ws_connects_total", EXPO_COUNTER, "Say \"hi\"\n");
    expo_sample_u64(&e, NULL, 0, 7);
    expo_family(&e, "iotpro_exporter_build_info", EXPO_INFO, "Build.");
    expo_sample(&e, "version=\"1\"", 11, 1);
    expo_family(&e, "x_thing", EXPO_UNTYPED, "u");
    expo_sample(&e, NULL, 0, -INFINITY);
    CHECK_INT(expo_finish(&e), 0);
    CHECK_INT(expo_finish(&e), 0); /* idempotent: one # EOF */
    size_t n;
    const char *b = expo_body(&e, &n);
    const char *want =
        "# TYPE iotpro_ws_connects counter\n# HELP iotpro_ws_connects Say \\\"hi\\\"\\n\n"
        "iotpro_ws_connects_total 7\n"
        "# TYPE iotpro_exporter_build info\n# HELP iotpro_exporter_build Build.\n"
        "iotpro_exporter_build_info{version=\"1\"} 1\n"
        "# TYPE x_thing unknown\n# HELP x_thing u\nx_thing -Inf\n"
        "# EOF\n";
    CHECK_MEM(b, n, want, strlen(want));
    CHECK_STR(expo_content_type(EXPO_OPENMETRICS), EXPO_CT_OPENMETRICS);
    CHECK_STR(expo_content_type(EXPO_TEXT), "text/plain; version=0.0.4; charset=utf-8");
    expo_free(&e);
}

static void test_errors_sticky(void)
{
    struct expo e;
    expo_init(&e, EXPO_TEXT, 0);
    expo_sample(&e, NULL, 0, 1);
    CHECK_INT(expo_finish(&e), EXPO_ERR_STATE);
    expo_free(&e);

    static const struct {
        const char *name;
        enum expo_type t;
    } bad[] = {
        { "iotpro_ws_connects", EXPO_COUNTER },
        { "iotpro_asset", EXPO_INFO },
        { "9lives", EXPO_GAUGE },
        { "has:colon", EXPO_GAUGE },
        { "", EXPO_GAUGE },
        { "sp ace", EXPO_GAUGE },
        { "_total", EXPO_COUNTER },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_CTX("row %zu", i);
        expo_init(&e, EXPO_TEXT, 0);
        CHECK_INT(expo_family(&e, bad[i].name, bad[i].t, "h"), EXPO_ERR_NAME);
        CHECK_INT(expo_finish(&e), EXPO_ERR_NAME);
        expo_free(&e);
    }

    /* A bound of 200 bytes: the body stops growing and the error sticks. */
    expo_init(&e, EXPO_TEXT, 200);
    expo_family(&e, "a_b", EXPO_GAUGE, "h");
    for (int i = 0; i < 100; i++)
        expo_sample(&e, "k=\"vvvvvvvv\"", 12, i);
    CHECK_INT(expo_finish(&e), EXPO_ERR_FULL);
    CHECK(e.len <= 200);
    CHECK(strlen(expo_strerror(EXPO_ERR_FULL)) > 0);
    expo_free(&e);

    /* reset clears the error and keeps the buffer */
    expo_init(&e, EXPO_TEXT, 0);
    expo_sample(&e, NULL, 0, 1);
    expo_reset(&e, EXPO_OPENMETRICS);
    expo_family(&e, "a_b", EXPO_GAUGE, "h");
    CHECK_INT(expo_finish(&e), 0);
    size_t n;
    char *taken = expo_take(&e, &n);
    CHECK(taken != NULL && n > 0);
    CHECK(n >= 6 && memcmp(taken + n - 6, "# EOF\n", 6) == 0);
    free(taken);
    expo_free(&e);
}

static void test_help_invalid_utf8(void)
{
    struct expo e;
    expo_init(&e, EXPO_TEXT, 0);
    expo_family(&e, "a_b", EXPO_GAUGE, "bad \xFF byte");
    CHECK_INT(e.utf8_replaced, 1);
    size_t n;
    const char *b = expo_body(&e, &n);
    CHECK(memmem(b, n, "bad \xEF\xBF\xBD byte", 12) != NULL);
    expo_free(&e);
}

static void test_sanitize(void)
{
    static const struct {
        const char *in, *want;
    } t[] = {
        { "batteryLevel", "battery_level" },
        { "HTTPStatus", "http_status" },
        { "temperatureC", "temperature_c" },
        { "telemetry_param_latitude", "telemetry_param_latitude" },
        { "Temp (\xC2\xB0"
          "C)",
          "temp_c" },
        { "a.b-c d", "a_b_c_d" },
        { "1wire", "_1wire" },
        { "__name", "name" },
        { "", "_" },
        { "\xC3\x84\xC3\x96", "_" },
        { "ABC", "abc" },
        { "getHTTPResponseCode", "get_http_response_code" },
        { "v2X", "v2_x" },
        { "a__b", "a_b" },
        { "x_", "x" },
        { "Serial No.", "serial_no" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        CHECK_CTX("row %zu", i);
        char out[EXPO_NAME_MAX];
        size_t n = expo_sanitize_name(out, sizeof out, t[i].in, strlen(t[i].in));
        CHECK_STR(out, t[i].want);
        CHECK(expo_label_name_valid(out, n));
    }
    char small[4];
    expo_sanitize_name(small, sizeof small, "abcdef", 6);
    CHECK_STR(small, "abc");
}

static void test_nameset_collisions(void)
{
    struct expo_nameset s;
    char out[EXPO_NAME_MAX];
    expo_nameset_init(&s);
    expo_nameset_reserve(&s, "asset_id");
    CHECK_INT(expo_nameset_add(&s, "batteryLevel", 12, out, sizeof out, 1), EXPO_NAME_NEW);
    CHECK_STR(out, "battery_level");
    CHECK_INT(expo_nameset_add(&s, "batteryLevel", 12, out, sizeof out, 1), EXPO_NAME_SAME);
    CHECK_INT(expo_nameset_add(&s, "battery_level", 13, out, sizeof out, 0), EXPO_NAME_COLLISION);
    CHECK_INT(expo_nameset_add(&s, "battery_level", 13, out, sizeof out, 1), EXPO_NAME_RENAMED);
    CHECK_STR(out, "battery_level_2");
    CHECK_INT(expo_nameset_add(&s, "battery.level", 13, out, sizeof out, 1), EXPO_NAME_RENAMED);
    CHECK_STR(out, "battery_level_3");
    /* the renamed original keeps its name */
    CHECK_INT(expo_nameset_add(&s, "battery_level", 13, out, sizeof out, 1), EXPO_NAME_RENAMED);
    CHECK_STR(out, "battery_level_2");
    CHECK_INT(expo_nameset_add(&s, "assetId", 7, out, sizeof out, 1), EXPO_NAME_RENAMED);
    CHECK_STR(out, "asset_id_2");
    /* growth past the first table */
    for (int i = 0; i < 1000; i++) {
        char k[32];
        int kn = snprintf(k, sizeof k, "key%d", i);
        CHECK_INT(expo_nameset_add(&s, k, (size_t)kn, out, sizeof out, 1), EXPO_NAME_NEW);
    }
    CHECK_INT(expo_nameset_add(&s, "key999", 6, out, sizeof out, 1), EXPO_NAME_SAME);
    expo_nameset_free(&s);
}

/* 1,000,000 telemetry series with cached per-asset prefixes in <= 0.5 s. */
static void test_render_million_fast(void)
{
    enum { ASSETS = 10000, KEYS = 100 };
    static char prefix[ASSETS][160];
    static size_t plen[ASSETS];
    char keyfrag[KEYS][48];
    size_t klen[KEYS];
    for (int a = 0; a < ASSETS; a++) {
        char id[40], name[40];
        snprintf(id, sizeof id, "784f394c-42b6-435a-983c-%012d", a);
        snprintf(name, sizeof name, "Truck \"%d\"", a);
        struct expo_labels lb;
        expo_labels_init(&lb, prefix[a], sizeof prefix[a]);
        expo_labels_add(&lb, "asset_id", id, strlen(id));
        expo_labels_add(&lb, "asset", name, strlen(name));
        expo_labels_add(&lb, "profile", "tracker", 7);
        plen[a] = lb.len;
    }
    for (int k = 0; k < KEYS; k++)
        klen[k] = (size_t)snprintf(keyfrag[k], sizeof keyfrag[k], "key=\"telemetry_param_%d\"", k);
    struct expo e;
    expo_init(&e, EXPO_TEXT, 0);
    double secs = 1e9;
    /* best of three: the machine is shared with parallel builds */
    for (int run = 0; run < 3; run++) {
        struct timespec t0, t1;
        expo_reset(&e, EXPO_TEXT);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        expo_family(&e, "iotpro_telemetry_value", EXPO_GAUGE, "Latest value.");
        for (int a = 0; a < ASSETS; a++)
            for (int k = 0; k < KEYS; k++)
                expo_sample2(&e, prefix[a], plen[a], keyfrag[k], klen[k],
                             35.0 + (double)((a * 7 + k) % 10000) / 10000.0);
        CHECK_INT(expo_finish(&e), 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (s < secs)
            secs = s;
        if (SANITIZED)
            break;
    }
    CHECK_INT(e.samples, (uint64_t)ASSETS * KEYS);
    printf("# 1M series: %.3f s, %zu bytes\n", secs, e.len);
    if (!SANITIZED && !harness_emulated())
        CHECK(secs <= 0.5);
    expo_free(&e);
}


int main(void)
{
    RUN(test_fmt_double_table);
    RUN(test_fmt_double_specials);
    RUN(test_fmt_double_roundtrip_random);
    RUN(test_fmt_ms_equals_double);
    RUN(test_fmt_integers);
    RUN(test_bound_exact);
    RUN(test_label_escape_roundtrip);
    RUN(test_label_escape_invalid_utf8);
    RUN(test_label_escape_small_dst);
    RUN(test_labels_builder);
    RUN(test_text_family);
    RUN(test_openmetrics_family);
    RUN(test_errors_sticky);
    RUN(test_help_invalid_utf8);
    RUN(test_sanitize);
    RUN(test_nameset_collisions);
    RUN(test_render_million_fast);
    return harness_done();
}
