/* test_tb_shape.c -- remembered layouts (core/tb_shape.c): a message read by a shape
 * gives exactly what the grammar scan (tb_fast_update) gives, field by field, and the
 * shapes are used, replaced and skipped as tb_shape.h says. */
#include "core/tb_shape.h"
#include "tests/harness.h"

#include <stdio.h>
#include <string.h>

#define NT 256u

/* Both readings of msg must agree: accepted or not, and every field. */
static void check_both(tb_shapes *sh, const char *msg, size_t len)
{
    static tb_fast_msg a, b;
    int ra = tb_shape_update(sh, msg, len, NT, &a);
    int rb = tb_fast_update(msg, len, NT, &b);
    CHECK_CTX("%.*s", (int)len, msg);
    CHECK_INT(ra, rb);
    if (!ra || !rb)
        return;
    CHECK_INT(a.cmd_id, b.cmd_id);
    CHECK(a.error_msg == b.error_msg && a.error_msg_len == b.error_msg_len);
    CHECK_INT(a.ntok, b.ntok);
    CHECK_INT(a.n_values, b.n_values);
    CHECK(memcmp(a.entity, b.entity, 16) == 0);
    CHECK(a.id_tok == b.id_tok);
    for (unsigned i = 0; i < a.n_values && i < b.n_values; i++) {
        const tb_ws_value *x = &a.values[i], *y = &b.values[i];
        CHECK_CTX("%.*s value %u", (int)len, msg, i);
        CHECK(x->entity == a.entity);
        CHECK_INT(x->type, y->type);
        CHECK(x->key == y->key && x->key_len == y->key_len);
        CHECK_INT(x->key_escaped, y->key_escaped);
        CHECK_INT(x->ts, y->ts);
        CHECK(x->value == y->value && x->value_len == y->value_len);
        CHECK_INT(x->value_escaped, y->value_escaped);
        CHECK(a.ts_tok[i] == b.ts_tok[i]);
    }
}

static void check_str(tb_shapes *sh, const char *msg)
{
    check_both(sh, msg, strlen(msg));
}

/* A PE GPS update; id, ts and the two values vary. */
static int gps(char *buf, size_t cap, unsigned id, long long ts, const char *lat, const char *lon)
{
    return snprintf(buf, cap,
                    "{\"cmdId\":3,\"errorCode\":0,\"errorMsg\":null,\"data\":null,\"update\":[{"
                    "\"entityId\":{\"entityType\":\"ASSET\",\"id\":\"%08x-644c-11ee-ad9a-"
                    "16f8cc9b2d9a\"},\"readAttrs\":true,\"readTs\":true,\"latest\":{"
                    "\"TIME_SERIES\":{\"telemetry_param_latitude\":{\"ts\":%lld,\"value\":%s},"
                    "\"telemetry_param_longitude\":{\"ts\":%lld,\"value\":%s}}},"
                    "\"timeseries\":null,\"aggLatest\":null}],\"allowedEntities\":10000,"
                    "\"cmdUpdateType\":\"ENTITY_DATA\"}",
                    id, ts, lat, ts, lon);
}

/* One layout, any values: the first message is scanned, the rest read by the shape. */
static void test_same_layout(void)
{
    static tb_shapes sh;
    tb_shapes_reset(&sh);
    char m[1024];
    const char *vals[] = { "\"35.81026666666667\"", "\"-0.0\"",  "\"\"",
                           "\"a\\\"b\\u00e9\"",     "\"x\\/y\"", "\"14.2\"" };
    for (unsigned i = 0; i < 40; i++) {
        long long ts = i % 3 == 0 ? 1751460000000LL + i : i % 3 == 1 ? -7 : 0;
        gps(m, sizeof m, 0xA0000000u + i * 7919u, ts, vals[i % 6], vals[(i + 1) % 6]);
        check_str(&sh, m);
    }
    CHECK_INT(sh.hits, 39);
    /* upper-case hex in the id is a UUID too; a bad hex digit or a short id is not */
    gps(m, sizeof m, 0xABCDEF01u, 5, "\"1\"", "\"2\"");
    check_str(&sh, m);
    CHECK_INT(sh.hits, 40);
    char *u = strstr(m, "abcdef01");
    memcpy(u, "ABCDEF01", 8);
    check_str(&sh, m);
    CHECK_INT(sh.hits, 41);
    u[3] = 'g';
    check_str(&sh, m); /* declined by both */
    CHECK_INT(sh.hits, 41);
}

/* A hole holding something else than its token kind falls back to the scan. */
static void test_wrong_tokens(void)
{
    static tb_shapes sh;
    tb_shapes_reset(&sh);
    char m[1024];
    gps(m, sizeof m, 1, 1751460000000LL, "\"1.5\"", "\"2.5\"");
    check_str(&sh, m);
    const char *cases[][2] = {
        { "null", "\"2.5\"" },    /* null where the shape had a string: a new shape */
        { "\"1.5\"", "2.5" },     /* a number is not a value string: both decline */
        { "\"1\\q\"", "\"2\"" },  /* a bad escape */
        { "\"1\x01\"", "\"2\"" }, /* a control byte */
        { "\"unterminated", "\"2\"" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gps(m, sizeof m, 2, 5, cases[i][0], cases[i][1]);
        check_str(&sh, m);
    }
    /* ts: a fraction, an exponent, leading zeros, past int64, whitespace before */
    const char *ts_forms[] = { "1.5",
                               "1e3",
                               "01",
                               "9223372036854775808",
                               " 12",
                               "-0",
                               "9223372036854775807",
                               "-9223372036854775808" };
    for (size_t i = 0; i < sizeof ts_forms / sizeof ts_forms[0]; i++) {
        gps(m, sizeof m, 3, 42, "\"1\"", "\"2\"");
        char *t = strstr(m, "\"ts\":42");
        char out[1200];
        int n = snprintf(out, sizeof out, "%.*s\"ts\":%s%s", (int)(t - m), m, ts_forms[i], t + 7);
        check_both(&sh, out, (size_t)n);
    }
}

/* Every prefix and every one-byte change of a shaped message is read as the scan
 * reads it. */
static void test_prefixes_and_bytes(void)
{
    static tb_shapes sh;
    tb_shapes_reset(&sh);
    char m[1024], b[1024];
    int n = gps(m, sizeof m, 9, 1751460000000LL, "\"35.81026666666667\"", "\"14.5\"");
    check_both(&sh, m, (size_t)n);
    for (int k = 0; k < n; k++) {
        tb_shapes_reset(&sh);
        check_both(&sh, m, (size_t)n); /* the shape */
        check_both(&sh, m, (size_t)k); /* a prefix */
        static const char subst[] = { '"', '\\', '0', 'a', ' ', '}', ',', 0 };
        for (size_t s = 0; s < sizeof subst; s++) {
            memcpy(b, m, (size_t)n);
            b[k] = subst[s];
            check_both(&sh, b, (size_t)n);
        }
    }
    /* and anything after it: whitespace is JSON, the rest is not */
    static const char *tails[] = { " ", "\n", "x", "}", "\"\"", " 1" };
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        tb_shapes_reset(&sh);
        check_both(&sh, m, (size_t)n);
        memcpy(b, m, (size_t)n);
        size_t tl = strlen(tails[i]);
        memcpy(b + n, tails[i], tl);
        check_both(&sh, b, (size_t)n + tl);
    }
}

static int one_key(char *m, size_t cap, const char *key)
{
    return snprintf(m, cap,
                    "{\"cmdId\":1,\"update\":[{\"entityId\":{\"id\":\"784f394c-42b6-435a-983c-"
                    "b7beff2784f9\"},\"latest\":{\"TIME_SERIES\":{\"%s\":{\"ts\":1,\"value\":"
                    "\"1\"}}}}]}",
                    key);
}

/* One layout more than the slots, in turn: each is kept (the least recently used is
 * replaced), layouts that share their first key's first bytes are told apart by the
 * match, and messages with an errorMsg are read but not remembered. */
static void test_slots(void)
{
    static tb_shapes sh;
    tb_shapes_reset(&sh);
    char m[1024], k[32];
    /* "keyname_N": the first 8 bytes (the probe) are the same for all of them */
    for (int round = 0; round < 3; round++)
        for (unsigned i = 0; i < TB_SHAPES; i++) {
            snprintf(k, sizeof k, "keyname_%u", i);
            one_key(m, sizeof m, k);
            check_str(&sh, m);
        }
    CHECK_INT(sh.hits, 2 * TB_SHAPES); /* rounds 1 and 2 */
    uint64_t before = sh.hits;
    one_key(m, sizeof m, "other");
    check_str(&sh, m); /* replaces keyname_0, the least recently used */
    check_str(&sh, m);
    CHECK_INT(sh.hits, before + 1);
    one_key(m, sizeof m, "keyname_0");
    check_str(&sh, m);
    CHECK_INT(sh.hits, before + 1);
    one_key(m, sizeof m, "keyname_2"); /* still there (keyname_0 took keyname_1's slot) */
    check_str(&sh, m);
    CHECK_INT(sh.hits, before + 2);
    const char *err = "{\"cmdId\":1,\"errorCode\":0,\"errorMsg\":\"warn\",\"update\":[{"
                      "\"entityId\":{\"id\":\"784f394c-42b6-435a-983c-b7beff2784f9\"},"
                      "\"latest\":{}}]}";
    check_str(&sh, err);
    check_str(&sh, err);
    CHECK_INT(sh.hits, before + 2);
}

/* A feed whose updates never repeat a layout stops trying (after 16 misses), then
 * tries on every 64th message; a steady layout is then picked up again. */
static void test_patience(void)
{
    static tb_shapes sh;
    tb_shapes_reset(&sh);
    char m[1024];
    for (unsigned i = 0; i < 200; i++) {
        snprintf(
            m, sizeof m,
            "{\"cmdId\":1,\"update\":[{\"entityId\":{\"id\":\"784f394c-42b6-435a-983c-"
            "b7beff2784f9\"},\"latest\":{\"TIME_SERIES\":{\"k%u\":{\"ts\":1,\"value\":\"1\"}}}}]}",
            i);
        check_str(&sh, m);
    }
    CHECK_INT(sh.hits, 0);
    CHECK(sh.score <= 0);
    unsigned tries = 0;
    while (sh.hits == 0 && tries < 200) {
        gps(m, sizeof m, tries, tries, "\"1\"", "\"2\"");
        check_str(&sh, m);
        tries++;
    }
    CHECK(sh.hits == 1 && tries <= 2 + 64);
    CHECK(sh.score > 0);
}

/* Two layouts that come back among ones that do not: shapes stay in use (two hits in
 * three tries). Twelve layouts in turn, more than the slots hold: none ever hits, and
 * the feed stops trying. */
static void test_score(void)
{
    static tb_shapes sh;
    tb_shapes_reset(&sh);
    char m[1024], k[16];
    for (int i = 0; i < 300; i++) {
        if (i % 3 == 2)
            snprintf(k, sizeof k, "new%d", i);
        else
            snprintf(k, sizeof k, "%s", i % 3 ? "b" : "a");
        one_key(m, sizeof m, k);
        check_str(&sh, m);
    }
    CHECK(sh.hits >= 190 && sh.score > 0);
    tb_shapes_reset(&sh);
    for (int i = 0; i < 120; i++) {
        snprintf(k, sizeof k, "k%d", i % 12);
        one_key(m, sizeof m, k);
        check_str(&sh, m);
    }
    CHECK_INT(sh.hits, 0);
    CHECK(sh.score <= 0);
}

/* A shape whose message needs more tokens than the caller has is not used. */
static void test_token_bound(void)
{
    static tb_shapes sh;
    static tb_fast_msg a;
    tb_shapes_reset(&sh);
    char m[1024];
    int n = gps(m, sizeof m, 1, 1, "\"1\"", "\"2\"");
    CHECK_INT(tb_shape_update(&sh, m, (size_t)n, NT, &a), 1);
    unsigned nt = a.ntok;
    CHECK_INT(tb_shape_update(&sh, m, (size_t)n, nt, &a), 1);
    CHECK_INT(sh.hits, 1);
    CHECK_INT(tb_shape_update(&sh, m, (size_t)n, nt - 1, &a), 0);
    CHECK_INT(sh.hits, 1);
}

int main(void)
{
    RUN(test_same_layout);
    RUN(test_wrong_tokens);
    RUN(test_prefixes_and_bytes);
    RUN(test_slots);
    RUN(test_patience);
    RUN(test_score);
    RUN(test_token_bound);
    return harness_done();
}
