/* test_json.c -- jsmn helpers and the number classifier, table-driven. */
#include "core/json.h"
#include "core/limits.h"
#include "core/num.h"
#include "tests/harness.h"

#include <math.h>
#include <stdlib.h>

static void test_parse_rejects_trailing_and_partial(void)
{
    jsmntok_t t[16];
    CHECK(json_parse("{\"a\":1}", 7, t, 16) == 3);
    CHECK(json_parse("  {\"a\":1} \n", 11, t, 16) == 3);
    CHECK_INT(json_parse("{\"a\":1} {}", 10, t, 16), JSON_ERR_SYNTAX);
    CHECK_INT(json_parse("{\"a\":1", 6, t, 16), JSON_ERR_PARTIAL);
    CHECK_INT(json_parse("{\"a\":[1,2,3]}", 13, t, 3), JSON_ERR_TOKENS);
    CHECK_INT(json_parse("{a:1}", 5, t, 16), JSON_ERR_SYNTAX);
    CHECK(json_parse("\"x\"", 3, t, 16) == 1);
    CHECK_INT(json_parse("", 0, t, 16), JSON_ERR_SYNTAX);
}

/* ---- json_parse_bounded: the outline, and its elements one at a time ---------------- */

static jsmntok_t ol_whole[512], ol_part[512], ol_elem[512], ol_check[512];

/* Tokenizes js whole, and bounded by one token fewer (so outlined when it has an array);
 * the outline must be the whole tokens minus the children of outermost arrays, and each
 * element of those, tokenized on its own, the whole tokens of its subtree. Returns
 * whether it was outlined. */
static int check_outline(const char *js)
{
    size_t len = strlen(js);
    int n = json_parse(js, len, ol_whole, 512), o = -1;
    CHECK_CTX("%s", js);
    CHECK(n > 0);
    if (n <= 0)
        return 0;
    int m = json_parse_bounded(js, len, ol_part, 512, &o);
    CHECK(m == n && o == 0 && !memcmp(ol_part, ol_whole, (size_t)n * sizeof *ol_part));
    m = json_parse_bounded(js, len, ol_part, (unsigned)n - 1, &o);
    if (m == JSON_ERR_TOKENS)
        return 0; /* no array, or an element as big as everything */
    CHECK(m > 0 && o == 1);
    int k = 0; /* outline token */
    for (int i = 0; i < n && k < m; k++) {
        const jsmntok_t *w = &ol_whole[i], *t = &ol_part[k];
        CHECK(t->type == w->type && t->start == w->start && t->end == w->end);
        int inside = 0;
        for (int p = w->parent; p >= 0; p = ol_whole[p].parent)
            inside |= ol_whole[p].type == JSMN_ARRAY;
        CHECK(!inside);
        if (w->type != JSMN_ARRAY) {
            i++;
            continue;
        }
        /* an outermost array: no children; its elements one by one */
        CHECK_INT(t->size, 0);
        int pos = t->start + 1, start, end, e = i + 1, elems = 0;
        while (json_next_element(js, &pos, &start, &end)) {
            if (!strchr("{[\"", js[start])) { /* a primitive is its own text */
                CHECK(ol_whole[e].type == JSMN_PRIMITIVE && ol_whole[e].start == start &&
                      ol_whole[e].end == end);
                e++;
                elems++;
                continue;
            }
            int ne = json_parse_element(js + start, (size_t)(end - start), ol_elem, 512);
            CHECK_INT(json_parse(js + start, (size_t)(end - start), ol_check, 512), ne);
            CHECK(ne > 0 && e + ne <= n);
            for (int j = 0; j < ne && e + j < n; j++) {
                const jsmntok_t *a = &ol_whole[e + j], *b = &ol_elem[j];
                CHECK(a->type == b->type && a->start == b->start + start &&
                      a->end == b->end + start && a->size == b->size);
                CHECK(j ? a->parent == b->parent + e : a->parent == i);
            }
            e = json_skip(ol_whole, n, e);
            elems++;
        }
        CHECK_INT(elems, w->size);
        CHECK_INT(js[pos], ']');
        i = json_skip(ol_whole, n, i);
    }
    CHECK_INT(k, m);
    return 1;
}

static void test_bounded_outline(void)
{
    static const char *texts[] = {
        "{\"a\":[1,2,3],\"b\":{\"c\":[{\"d\":\"]\\\"[\"},[],[[]],{}]},\"e\":\"[\",\"f\":[]}",
        "[1,{\"x\":[2]},\"]\",[\"[\",\"\\\\\"],true]",
        " { \"a\" : [ 1 , [ 2 , { \"b\" : [ ] } ] ] , \"n\" : null } \n",
        /* strict jsmn lets '[', '"' and '{' through inside an unquoted run */
        "{\"k\":t[1,\"a\":[n\"x,f{2,-[3],\"b\":[\"\\u005d\\\\\",\"\\\"]\"]}",
        "{\"s\":\"\\\\\",\"a\":[\"\\\\\\\"[\",{\"q\":\"\\\"\"}],\"z\":[[[[1]]],[]]}",
        ("{\"data\":{\"data\":[{\"id\":1,\"v\":[1,2]},{\"id\":2}],\"hasNext\":false},"
         "\"update\":[{\"x\":{}},7],\"cmdId\":1}"),
    };
    int outlined = 0;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        outlined += check_outline(texts[i]);
    CHECK_INT(outlined, (int)(sizeof texts / sizeof texts[0]));
    CHECK_CTX("bounds");
    /* the bound is the outline or the largest element, whichever is larger */
    jsmntok_t t[8];
    int o;
    const char *js = "{\"a\":[[1,2],[3,4]],\"b\":[5]}"; /* outline 5, elements 3 */
    CHECK_INT(json_parse(js, strlen(js), t, 8), JSON_ERR_TOKENS);
    CHECK_INT(json_parse_bounded(js, strlen(js), t, 5, &o), 5);
    CHECK_INT(o, 1);
    CHECK_INT(json_parse_bounded(js, strlen(js), t, 4, &o), JSON_ERR_TOKENS);
    js = "{\"a\":[1,[2,3,4,5,6]],\"b\":1}"; /* outline 5, the second element 6 */
    CHECK_INT(json_parse_bounded(js, strlen(js), t, 6, &o), 5);
    CHECK_INT(json_parse_bounded(js, strlen(js), t, 5, &o), JSON_ERR_TOKENS);
    js = "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5}"; /* no array: nothing to collapse */
    CHECK_INT(json_parse_bounded(js, strlen(js), t, 8, &o), JSON_ERR_TOKENS);
}

/* Malformed text is refused by json_parse_bounded exactly as by json_parse, however
 * small the token array and wherever in an array the fault is. */
static void test_bounded_rejects_as_parse(void)
{
    static const char *bad[] = {
        "{\"a\":[{\"x\":1},{\"x\":2,},{\"x\":3}]}",
        "{\"a\":[{\"x\":1},{\"x\":\"\\q\"},{}]}",
        "{\"a\":[{\"x\":1},{\"x\":\"open},{}]}",
        "{\"a\":[{\"x\":1},{\"x\":1\x01},{}]}",
        "{\"a\":[{\"x\":1},{\"x\" 1},{}]}",
        "{\"a\":[{\"x\":1},{\"x\":[1}],{}]}",
        "{\"a\":[{\"x\":1},{\"x\":1}]",
        "{\"a\":[{\"x\":1}]}{\"b\":[1]}",
        "{\"a\":[1,2]}\x00",
        "{\"a\":[{\"x\":1},{1:2},{}]}",
    };
    jsmntok_t big[64], small[6];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = strlen(bad[i]) + (i == 8);
        int o;
        CHECK_CTX("bad %zu", i);
        int r = json_parse(bad[i], len, big, 64);
        CHECK(r < 0 && r != JSON_ERR_TOKENS);
        CHECK_INT(json_parse_bounded(bad[i], len, small, 6, &o), r);
    }
}

/* depth levels of `open`, then `mid`, then depth of `close`, into a static buffer. */
static char deep_buf[8 * 100000 + 64];
static size_t deep(unsigned depth, const char *open, const char *mid, const char *close)
{
    size_t o = 0, lo = strlen(open), lc = strlen(close);
    for (unsigned i = 0; i < depth; i++, o += lo)
        memcpy(deep_buf + o, open, lo);
    o += (size_t)snprintf(deep_buf + o, 64, "%s", mid);
    for (unsigned i = 0; i < depth; i++, o += lc)
        memcpy(deep_buf + o, close, lc);
    deep_buf[o] = 0;
    return o;
}

static void test_depth_limit(void)
{
    static jsmntok_t t[2 * LIM_JSON_DEPTH + 8];
    unsigned nt = sizeof t / sizeof t[0];
    size_t n = deep(LIM_JSON_DEPTH, "[", "", "]");
    CHECK_INT(json_parse(deep_buf, n, t, nt), LIM_JSON_DEPTH);
    CHECK_INT(t[LIM_JSON_DEPTH - 1].parent, LIM_JSON_DEPTH - 2);
    n = deep(LIM_JSON_DEPTH, "{\"a\":", "1", "}");
    CHECK_INT(json_parse(deep_buf, n, t, nt), 2 * LIM_JSON_DEPTH + 1);
    n = deep(LIM_JSON_DEPTH - 1, "{\"a\":[", "{}", "]}"); /* 2 * 63 + 1 levels, mixed */
    CHECK_INT(json_parse(deep_buf, n, t, nt), JSON_ERR_DEPTH);
    n = deep(LIM_JSON_DEPTH / 2, "{\"a\":[", "", "]}"); /* exactly the limit, mixed */
    CHECK_INT(json_parse(deep_buf, n, t, nt), 3 * (LIM_JSON_DEPTH / 2));

    n = deep(LIM_JSON_DEPTH + 1, "[", "", "]");
    CHECK_INT(json_parse(deep_buf, n, t, nt), JSON_ERR_DEPTH);
    n = deep(LIM_JSON_DEPTH + 1, "{\"a\":", "1", "}");
    CHECK_INT(json_parse(deep_buf, n, t, nt), JSON_ERR_DEPTH);
    /* 100,000 levels (200 KB / 600 KB): rejected before jsmn runs, so neither the
     * token array nor jsmn's per-bracket parent walk comes into play */
    n = deep(100000, "[", "", "]");
    CHECK_INT(json_parse(deep_buf, n, t, nt), JSON_ERR_DEPTH);
    n = deep(100000, "{\"a\":", "1", "}");
    CHECK_INT(json_parse(deep_buf, n, t, nt), JSON_ERR_DEPTH);
    /* too deep and unterminated: depth is what is reported */
    n = deep(100000, "[", "", "");
    CHECK_INT(json_parse(deep_buf, n, t, nt), JSON_ERR_DEPTH);
    /* brackets inside strings are text, not nesting */
    memset(deep_buf, '[', 1000);
    deep_buf[0] = '"';
    deep_buf[999] = '"';
    CHECK_INT(json_parse(deep_buf, 1000, t, nt), 1);
    /* many siblings at the limit are fine: depth, not size */
    static char wide[20 * (2 * LIM_JSON_DEPTH + 1) + 2];
    size_t o = 0;
    wide[o++] = '[';
    for (int k = 0; k < 20; k++) {
        for (unsigned i = 0; i < LIM_JSON_DEPTH - 1; i++)
            wide[o++] = '[';
        for (unsigned i = 0; i < LIM_JSON_DEPTH - 1; i++)
            wide[o++] = ']';
        wide[o++] = ',';
    }
    wide[o - 1] = ']';
    static jsmntok_t wt[20 * LIM_JSON_DEPTH + 1];
    CHECK_INT(json_parse(wide, o, wt, sizeof wt / sizeof wt[0]), 20 * (LIM_JSON_DEPTH - 1) + 1);
    CHECK(strcmp(json_strerror(JSON_ERR_DEPTH), "unknown JSON error") != 0);
}

/* The pass before jsmn checks structure: what jsmn would have let through (and
 * could have built long parent chains from) is a syntax error now. */
static void test_structure_is_checked(void)
{
    static const struct {
        const char *in;
        int rc;
    } rows[] = {
        { "[1,]", JSON_ERR_SYNTAX },
        { "{\"a\":1,}", JSON_ERR_SYNTAX },
        { "[1 2]", JSON_ERR_SYNTAX },
        { "{\"a\" 1}", JSON_ERR_SYNTAX },
        { "{\"a\":1 \"b\":2}", JSON_ERR_SYNTAX },
        { "[\"a\":1]", JSON_ERR_SYNTAX },
        { "[[]:[]]", JSON_ERR_SYNTAX },
        { "[]]", JSON_ERR_SYNTAX },
        { "[}", JSON_ERR_SYNTAX },
        { "{]", JSON_ERR_SYNTAX },
        { "{\"a\"}", JSON_ERR_SYNTAX },
        { "{,}", JSON_ERR_SYNTAX },
        { "{1:2}", JSON_ERR_SYNTAX },
        { "[x]", JSON_ERR_SYNTAX },
        { "[\"\\x\"]", JSON_ERR_SYNTAX },
        { "[\"\\u12g4\"]", JSON_ERR_SYNTAX },
        { "  ", JSON_ERR_SYNTAX },
        { "[1,", JSON_ERR_PARTIAL },
        { "[\"ab", JSON_ERR_PARTIAL },
        { "{\"a\":", JSON_ERR_PARTIAL },
        { "[\"\\u00", JSON_ERR_PARTIAL },
        { "[\"a\\", JSON_ERR_PARTIAL },
        { "12", JSON_ERR_PARTIAL },
        { "[]", 1 },
        { "{}", 1 },
        { "12 ", 1 },
        { "[\"]\\\"[{\"]", 2 },
        { "{\"a\":{\"b\":[]}}", 5 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jsmntok_t t[16];
        CHECK_CTX("%s", rows[i].in);
        CHECK_INT(json_parse(rows[i].in, strlen(rows[i].in), t, 16), rows[i].rc);
    }
}

static void test_find_and_skip(void)
{
    const char *js = "{\"x\":{\"id\":[1,{\"id\":2}]},\"id\":\"top\",\"n\":null}";
    jsmntok_t t[32];
    int n = json_parse(js, strlen(js), t, 32);
    CHECK(n > 0);
    int id = json_find(js, t, n, 0, "id");
    CHECK(id > 0 && json_eq(js, &t[id], "top")); /* nested "id" members are skipped */
    int x = json_find(js, t, n, 0, "x");
    CHECK(json_skip(t, n, x) == json_find(js, t, n, 0, "id") - 1);
    CHECK(json_is_null(js, &t[json_find(js, t, n, 0, "n")]));
    CHECK_INT(json_find(js, t, n, 0, "missing"), -1);
    CHECK_INT(json_find(js, t, n, id, "x"), -1); /* not an object */
}

static void test_integers(void)
{
    static const struct {
        const char *in;
        int rc;
        int64_t v;
    } rows[] = {
        { "0", JSON_OK, 0 },
        { "-1", JSON_OK, -1 },
        { "1751460000123", JSON_OK, 1751460000123 },
        { "9223372036854775807", JSON_OK, INT64_MAX },
        { "-9223372036854775808", JSON_OK, INT64_MIN },
        { "9223372036854775808", JSON_ERR_RANGE, 0 },
        { "01", JSON_ERR_TYPE, 0 },
        { "1.0", JSON_ERR_TYPE, 0 },
        { "-", JSON_ERR_TYPE, 0 },
        { "true", JSON_ERR_TYPE, 0 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char js[64];
        jsmntok_t t[4];
        snprintf(js, sizeof js, "[%s]", rows[i].in);
        CHECK_CTX("%s", rows[i].in);
        int n = json_parse(js, strlen(js), t, 4);
        CHECK(n == 2);
        int64_t v = 0;
        CHECK_INT(json_get_i64(js, &t[1], &v), rows[i].rc);
        if (rows[i].rc == JSON_OK)
            CHECK(v == rows[i].v);
    }
}

static void test_unescape(void)
{
    char out[64];
    CHECK_INT(json_unescape("a\\\"b\\\\c\\n", 9, out, sizeof out), 6);
    CHECK_STR(out, "a\"b\\c\n");
    CHECK_INT(json_unescape("\\u00e9\\u20ac", 12, out, sizeof out), 5);
    CHECK_STR(out, "\xc3\xa9\xe2\x82\xac");
    CHECK_INT(json_unescape("\\ud83d\\ude00", 12, out, sizeof out), 4);
    CHECK_STR(out, "\xf0\x9f\x98\x80");
    CHECK_INT(json_unescape("\\ud83d", 6, out, sizeof out), JSON_ERR_ESCAPE);
    CHECK_INT(json_unescape("\\ude00", 6, out, sizeof out), JSON_ERR_ESCAPE);
    CHECK_INT(json_unescape("\\x", 2, out, sizeof out), JSON_ERR_ESCAPE);
    CHECK_INT(json_unescape("\\u0000", 6, out, sizeof out), JSON_ERR_ESCAPE);
    CHECK_INT(json_unescape("abcdef", 6, out, 6), JSON_ERR_SPACE);
    int cut = 0;
    CHECK_INT(json_unescape_cut("ab\xc3\xa9z", 5, out, 4, &cut), 2); /* é not split */
    CHECK(cut == 1);
    CHECK_INT(json_unescape_cut("abcdefgh\\q", 10, out, 4, &cut), JSON_ERR_ESCAPE);
}

static void test_escape_roundtrip(void)
{
    const char in[] = "p\"a\\s\ts\x01w\xc3\xa9";
    char esc[64], back[64];
    int n = json_escape(esc, sizeof esc, in, sizeof in - 1);
    CHECK(n > 0);
    static const char want[] = "p\\\"a\\\\s\\ts\\u0001w\xc3\xa9";
    CHECK_MEM(esc, (size_t)n, want, sizeof want - 1);
    CHECK_INT(json_unescape(esc, (size_t)n, back, sizeof back), (int)(sizeof in - 1));
    CHECK_MEM(back, sizeof in - 1, in, sizeof in - 1);
    CHECK_INT(json_escape(esc, 3, in, sizeof in - 1), JSON_ERR_SPACE);
}

static void test_numbers_java_and_sql_forms(void)
{
    static const struct {
        const char *s;
        int kind;
        double v;
    } rows[] = {
        { "25", NUM_NUMBER, 25 },
        { "25.0", NUM_NUMBER, 25 },
        { "2.5E1", NUM_NUMBER, 25 },
        { "-0.5", NUM_NUMBER, -0.5 },
        { "1.2345E7", NUM_NUMBER, 12345000 },
        { "1e+20", NUM_NUMBER, 1e20 },
        { "1.0E-5", NUM_NUMBER, 1e-5 },
        { "+5", NUM_NUMBER, 5 },
        { ".5", NUM_NUMBER, 0.5 },
        { "5.", NUM_NUMBER, 5 },
        { "0.1", NUM_NUMBER, 0.1 },
        { "35.89012345678901", NUM_NUMBER, 35.89012345678901 },
        { "123456789012345678901234567890", NUM_NUMBER, 1.2345678901234568e29 },
        { "4.9E-324", NUM_NUMBER, 4.9e-324 },
        { "1.7976931348623157E308", NUM_NUMBER, 1.7976931348623157e308 },
        { "true", NUM_BOOL, 1 },
        { "false", NUM_BOOL, 0 },
        { "True", NUM_STRING, 0 },
        { "", NUM_STRING, 0 },
        { " 25", NUM_STRING, 0 },
        { "25 ", NUM_STRING, 0 },
        { "0x10", NUM_STRING, 0 },
        { "1e", NUM_STRING, 0 },
        { "-", NUM_STRING, 0 },
        { ".", NUM_STRING, 0 },
        { "A1B2", NUM_STRING, 0 },
        { "1,5", NUM_STRING, 0 },
        { "e5", NUM_STRING, 0 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        double v = -99;
        CHECK_CTX("\"%s\"", rows[i].s);
        CHECK_INT(num_classify(rows[i].s, strlen(rows[i].s), &v), rows[i].kind);
        if (rows[i].kind != NUM_STRING)
            CHECK(v == rows[i].v); /* exact, not approximate */
    }
    double v;
    CHECK(num_classify("NaN", 3, &v) == NUM_NUMBER && isnan(v));
    CHECK(num_classify("-Infinity", 9, &v) == NUM_NUMBER && isinf(v) && v < 0);
}

/* The fast path must agree with strtod bit for bit. */
static void test_fast_path_matches_strtod(void)
{
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        char s[64];
        int e = (int)(x % 45) - 22;
        snprintf(s, sizeof s, "%llu.%03lluE%d", (unsigned long long)((x >> 8) % 100000000000ull),
                 (unsigned long long)((x >> 40) % 1000), e);
        double a = 0, b = strtod(s, NULL);
        CHECK_CTX("%s", s);
        CHECK(num_parse(s, strlen(s), &a) == 0);
        if (a != b) {
            CHECK(a == b);
            break;
        }
    }
}

int main(void)
{
    RUN(test_parse_rejects_trailing_and_partial);
    RUN(test_bounded_outline);
    RUN(test_bounded_rejects_as_parse);
    RUN(test_depth_limit);
    RUN(test_structure_is_checked);
    RUN(test_find_and_skip);
    RUN(test_integers);
    RUN(test_unescape);
    RUN(test_escape_roundtrip);
    RUN(test_numbers_java_and_sql_forms);
    RUN(test_fast_path_matches_strtod);
    return harness_done();
}
