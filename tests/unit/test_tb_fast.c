/* test_tb_fast.c -- the fast path for single-entity updates (core/tb_fast.c): which
 * messages it takes, and that for each one it takes it reports exactly what the
 * jsmn path (tb_ws_parse + tb_ws_visit, the reference) reports. */
#include "core/tb_fast.h"
#include "core/tb_fast_int.h"
#include "core/tb_feed.h"
#include "tests/feed_store.h"
#include "tests/unit/tb_seen.h"
#include "tests/harness.h"

#include <stdlib.h>

static jsmntok_t tok[1024];
#define NT (sizeof tok / sizeof tok[0])
#define A1 "784f394c-42b6-435a-983c-b7beff2784f9"
#define HEAD                                                                     \
    "{\"cmdId\":1,\"errorCode\":0,\"errorMsg\":null,\"data\":null,\"update\":[{" \
    "\"entityId\":{\"entityType\":\"ASSET\",\"id\":\"" A1 "\"},\"latest\":"
#define TAIL                                                               \
    ",\"timeseries\":null,\"aggLatest\":null}],\"allowedEntities\":10000," \
    "\"cmdUpdateType\":\"ENTITY_DATA\"}"
#define LAT(x) HEAD x TAIL
#define TS1    "{\"TIME_SERIES\":{\"temp\":{\"ts\":1751460012345,\"value\":\"25.0\"}}}"


/* For an accepted message: the jsmn path must agree field by field. */
static void check_same(const char *msg, const tb_fast_msg *fm)
{
    size_t len = strlen(msg);
    tb_ws_msg m;
    CHECK_INT(tb_ws_parse(msg, len, tok, NT, &m), TB_OK);
    CHECK_INT(m.kind, TB_WS_UPDATE);
    CHECK_INT(m.legacy, 0);
    CHECK_INT(m.error_code, 0);
    CHECK_INT(m.cmd_id, fm->cmd_id);
    CHECK(m.error_msg == fm->error_msg && m.error_msg_len == fm->error_msg_len);
    CHECK_INT(m.ntok, fm->ntok);
    seen s = { 0 };
    CHECK_INT(tb_ws_visit(msg, tok, NT, &m, on_entity, on_value, &s), fm->n_values);
    CHECK_INT(s.entities, 1);
    CHECK(memcmp(s.id, fm->entity, 16) == 0);
    for (int i = 0; i < s.n && i < (int)fm->n_values; i++) {
        const tb_ws_value *a = &s.v[i], *b = &fm->values[i];
        CHECK_CTX("%s value %d", msg, i);
        CHECK_INT(a->type, b->type);
        CHECK(a->key == b->key && a->key_len == b->key_len);
        CHECK_INT(a->key_escaped, b->key_escaped);
        CHECK_INT(a->ts, b->ts);
        CHECK(a->value == b->value && a->value_len == b->value_len);
        CHECK_INT(a->value_escaped, b->value_escaped);
    }
}

static const struct {
    const char *msg;
    int fast;
    int values;
} rows[] = {
    /* the hot shapes, CE and PE */
    { LAT(TS1), 1, 1 },
    { HEAD TS1 ",\"timeseries\":null,\"aggLatest\":null,\"readAttrs\":true,\"readTs\":true}],"
               "\"allowedEntities\":10000,\"cmdUpdateType\":\"ENTITY_DATA\"}",
      1, 1 },
    { "{\"cmdId\":1,\"update\":[{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":" TS1 "}]}", 1, 1 },
    /* reordered fields and whitespace everywhere JSON allows it */
    { " \r\n\t{ \"cmdUpdateType\" : \"ENTITY_DATA\" , \"update\" : [ { \"latest\" : { \"TIME_SERIES\""
      " : { \"k\" : { \"value\" : \"1\" , \"ts\" : 2 } } } , \"entityId\" : { \"id\" : \"" A1 "\" ,"
      " \"entityType\" : \"ASSET\" } } ] , \"errorMsg\" : \"fine\" , \"cmdId\" : 7 } \n",
      1, 1 },
    { "{\"update\":[{\"timeseries\":{},\"aggLatest\":{ },\"readTs\":false,\"readAttrs\":null,"
      "\"entityId\":{\"entityType\":null,\"id\":\"784F394C-42B6-435A-983C-B7BEFF2784F9\"},"
      "\"latest\":{}}],\"errorCode\":null,\"data\":null,\"allowedEntities\":1.5e3,"
      "\"cmdUpdateType\":null,\"cmdId\":0}",
      1, 0 },
    /* several types and keys, repeated keys and types (visited in order), odd TsValues */
    { LAT("{\"TIME_SERIES\":{\"a\":{\"ts\":1,\"value\":\"x\"},\"a\":{\"ts\":2,\"value\":null},"
          "\"b\":{},\"c\":{\"ts\":-0},\"d\":{\"value\":\"\",\"ts\":0,\"count\":-1.25E-3}},"
          "\"SERVER_ATTRIBUTE\":{\"assetDetails\":{\"ts\":3,\"value\":\"{\\\"site\\\":\\\"N\\\"}\"}},"
          "\"ENTITY_FIELD\":{\"name\":{\"ts\":4,\"value\":\"n\"}},\"TIME_SERIES\":{\"a\":{\"ts\":5,\"value\":\"5\"}},"
          "\"time_series\":{\"z\":{\"ts\":6,\"value\":\"6\"}},\"ATTRIBUTE\":{},\"CLIENT_ATTRIBUTE\":{\"q\":{}},"
          "\"SHARED_ATTRIBUTE\":{\"r\":{}}}"),
      1, 11 },
    /* escapes in keys, values, types and errorMsg; unicode escapes; raw UTF-8 */
    { LAT("{\"TIME\\u005fSERIES\":{\"t\\\"e\\\\m\\/p\":{\"ts\":1,\"value\":\"\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}}}"),
      1, 1 },
    { LAT("{\"TIME_SERIES\":{\"k\\u0000\":{\"ts\":1,\"value\":\"\\udc00 lone\"},\"\xc3\xa9t\xc3\xa9\":{\"ts\":1,\"value\":\"\xf0\x9f\x98\x80\"}}}"),
      1, 2 },
    { "{\"cmdId\":3,\"errorMsg\":\"a \\\"quoted\\\" \\u0041\",\"update\":[{\"entityId\":{\"id\":\"" A1
      "\"},\"latest\":{}}]}",
      1, 0 },
    { LAT("{\"TIME_SERIES\":{\"\":{\"ts\":9223372036854775807,\"value\":\"-9.5\"},\"m\":{\"ts\":-9223372036854775808}}}"),
      1, 2 },
    /* declined: not the hot shape (the jsmn path decides) */
    { "{\"cmdId\":1,\"errorCode\":1,\"errorMsg\":\"x\",\"data\":null,\"update\":null}", 0, 0 },
    { "{\"cmdId\":1,\"errorCode\":1,\"update\":[{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":" TS1
      "}]}",
      0, 0 },
    { "{\"cmdId\":1,\"errorCode\":34,\"update\":[{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":" TS1
      "}]}",
      0, 0 },
    { "{\"cmdId\":1,\"errorCode\":-0,\"update\":[{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":" TS1
      "}]}",
      1, 1 },
    { "{\"cmdId\":1,\"subscriptionId\":1,\"update\":[{\"entityId\":{\"id\":\"" A1
      "\"},\"latest\":{}}]}",
      0, 0 },
    { "{\"cmdId\":1,\"data\":{},\"update\":[{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":{}}]}", 0,
      0 },
    { "{\"subscriptionId\":3,\"errorCode\":34,\"errorMsg\":\"Too many updates!\"}", 0, 0 },
    { "{\"cmdId\":1,\"data\":{\"data\":[],\"hasNext\":false},\"update\":null}", 0, 0 },
    { "{\"cmdId\":1,\"update\":[]}", 0, 0 },
    { "{\"cmdId\":1,\"update\":[{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":{}},"
      "{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":{}}]}",
      0, 0 },
    { "{\"cmdId\":1,\"update\":[{\"entityId\":{\"id\":\"" A1
      "\"},\"latest\":{}}],\"cmdUpdateType\":\"ALARM_DATA\"}",
      0, 0 },
    { "{\"cmdId\":1,\"update\":[{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":{}}],\"extra\":1}", 0,
      0 },
    { "{\"cmdId\":1,\"update\":[{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":{},\"extra\":1}]}", 0,
      0 },
    { "{\"cmdId\":1,\"update\":[{\"entityId\":{\"id\":\"" A1 "\",\"x\":1},\"latest\":{}}]}", 0, 0 },
    { "{\"cmdId\":1,\"update\":[{\"entityId\":{\"id\":\"" A1 "\"}}]}", 0, 0 },
    { "{\"cmdId\":1,\"update\":[{\"latest\":{}}]}", 0, 0 },
    { "{\"cmd\\u0049d\":1,\"update\":[{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":{}}]}", 0, 0 },
    { "{\"update\":[{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":{}}]}", 0, 0 },
    { "{\"cmdId\":-1,\"update\":[{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":{}}]}", 0, 0 },
    { "{\"cmdId\":2147483648,\"update\":[{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":{}}]}", 0,
      0 },
    { "{\"cmdId\":1.0,\"update\":[{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":{}}]}", 0, 0 },
    { "{\"cmdId\":01,\"update\":[{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":{}}]}", 0, 0 },
    { "{\"cmdId\":\"1\",\"update\":[{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":{}}]}", 0, 0 },
    { "{\"cmdId\":1,\"update\":[{\"entityId\":{\"id\":\"not-a-uuid\"},\"latest\":{}}]}", 0, 0 },
    { "{\"cmdId\":1,\"update\":[{\"entityId\":{\"id\":\"784f394c-42b6-435a-983c-b7beff2784fg\"},\"latest\":{}}]}",
      0, 0 },
    { "{\"cmdId\":1,\"update\":[{\"entityId\":{\"id\":\"784f394c\\u002d42b6-435a-983c-b7beff2784f9\"},\"latest\":{}}]}",
      0, 0 },
    { LAT("{\"TIME_SERIES\":{\"k\":{\"ts\":1.5,\"value\":\"1\"}}}"), 0, 0 },
    { LAT("{\"TIME_SERIES\":{\"k\":{\"ts\":9223372036854775808,\"value\":\"1\"}}}"), 0, 0 },
    { LAT("{\"TIME_SERIES\":{\"k\":{\"ts\":1,\"value\":25}}}"), 0, 0 },
    { LAT("{\"TIME_SERIES\":{\"k\":{\"ts\":1,\"ts\":2,\"value\":\"1\"}}}"), 0, 0 },
    { LAT("{\"TIME_SERIES\":{\"k\":{\"ts\":1,\"value\":\"1\",\"extra\":0}}}"), 0, 0 },
    { LAT("{\"TIME_SERIES\":{\"k\":[1]}}"), 0, 0 },
    { LAT("{\"TIME_SERIES\":null}"), 0, 0 },
    /* duplicate members (jsmn takes the first here, the last there: never guess) */
    { "{\"cmdId\":1,\"cmdId\":2,\"update\":[{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":{}}]}", 0,
      0 },
    { "{\"cmdId\":1,\"update\":[{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":{},\"latest\":{}}]}",
      0, 0 },
    { "{\"cmdId\":1,\"update\":[{\"entityId\":{\"id\":\"" A1 "\",\"id\":\"" A1
      "\"},\"latest\":{}}]}",
      0, 0 },
    /* malformed JSON and hostile bytes */
    { "", 0, 0 },
    { "   ", 0, 0 },
    { "[]", 0, 0 },
    { LAT(TS1) " x", 0, 0 },
    { LAT(TS1) "{}", 0, 0 },
    { LAT("{\"TIME_SERIES\":{\"k\":{\"ts\":1,\"value\":\"a\tb\"}}}"), 0, 0 },
    { LAT("{\"TIME_SERIES\":{\"k\":{\"ts\":1,\"value\":\"\\x41\"}}}"), 0, 0 },
    { LAT("{\"TIME_SERIES\":{\"k\":{\"ts\":1,\"value\":\"\\u12G4\"}}}"), 0, 0 },
    { LAT("{\"TIME_SERIES\":{\"k\":{\"ts\":1,\"value\":\"\\u12\"}}}"), 0, 0 },
    { LAT("{\"TIME_SERIES\":{\"k\":{\"ts\":1,\"value\":\"1\",}}}"), 0, 0 },
    { LAT("{\"TIME_SERIES\":{\"k\":{\"ts\":1 \"value\":\"1\"}}}"), 0, 0 },
    { LAT("{\"TIME_SERIES\":{\"k\" {\"ts\":1}}}"), 0, 0 },
    { LAT("{'TIME_SERIES':{}}"), 0, 0 },
    { "{\"cmdId\":1,\"errorCode\":nul,\"update\":[{\"entityId\":{\"id\":\"" A1
      "\"},\"latest\":{}}]}",
      0, 0 },
    { "{\"cmdId\":1,\"errorCode\":0,\"allowedEntities\":-,\"update\":[{\"entityId\":{\"id\":\"" A1
      "\"},\"latest\":{}}]}",
      0, 0 },
    { "{\"cmdId\":1,\"allowedEntities\":1.,\"update\":[{\"entityId\":{\"id\":\"" A1
      "\"},\"latest\":{}}]}",
      0, 0 },
    { "{\"cmdId\":1,\"update\":[{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":{}}]", 0, 0 },
    { "{\"cmdId\":1,\"update\":[{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":{}}],}", 0, 0 },
};

static void test_table(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        CHECK_CTX("row %zu", i);
        tb_fast_msg fm;
        int fast = tb_fast_update(rows[i].msg, strlen(rows[i].msg), NT, &fm);
        CHECK_INT(fast, rows[i].fast);
        if (fast) {
            CHECK_INT(fm.n_values, rows[i].values);
            check_same(rows[i].msg, &fm);
        }
    }
}

/* Every prefix of a hot message, and a NUL anywhere in it, is declined. */
static void test_truncated_and_nul(void)
{
    const char *msg = LAT(TS1);
    size_t len = strlen(msg);
    char buf[1024];
    tb_fast_msg fm;
    for (size_t n = 0; n < len; n++) {
        CHECK_CTX("prefix %zu", n);
        CHECK_INT(tb_fast_update(msg, n, NT, &fm), 0);
        memcpy(buf, msg, len);
        buf[n] = 0;
        CHECK_CTX("NUL at %zu", n);
        CHECK_INT(tb_fast_update(buf, len, NT, &fm), 0);
    }
    CHECK_INT(tb_fast_update(msg, len, NT, &fm), 1);
}

static void test_values_and_limits(void)
{
    const char *msg = LAT(TS1);
    tb_fast_msg fm;
    CHECK_INT(tb_fast_update(msg, strlen(msg), NT, &fm), 1);
    CHECK_INT(fm.cmd_id, 1);
    char u[37];
    tb_uuid_format(fm.entity, u);
    CHECK_STR(u, A1);
    CHECK_INT(fm.values[0].type, TB_KEY_TIME_SERIES);
    CHECK_MEM(fm.values[0].key, fm.values[0].key_len, "temp", 4);
    CHECK_MEM(fm.values[0].value, fm.values[0].value_len, "25.0", 4);
    CHECK_INT(fm.values[0].ts, 1751460012345);
    CHECK(fm.values[0].entity == fm.entity);
    /* the token count is exact: one fewer than jsmn needs is declined */
    CHECK_INT(tb_fast_update(msg, strlen(msg), fm.ntok, &fm), 1);
    unsigned nt = fm.ntok;
    CHECK_INT(tb_fast_update(msg, strlen(msg), nt - 1, &fm), 0);
    /* more values than TB_FAST_MAX_VALUES go to jsmn */
    char big[4096];
    int o = snprintf(big, sizeof big, "%s{\"TIME_SERIES\":{", HEAD);
    for (unsigned i = 0; i <= TB_FAST_MAX_VALUES; i++)
        o += snprintf(big + o, sizeof big - (size_t)o, "%s\"k%u\":{\"ts\":1,\"value\":\"1\"}",
                      i ? "," : "", i);
    o += snprintf(big + o, sizeof big - (size_t)o, "}}%s", TAIL);
    CHECK_INT(tb_fast_update(big, (size_t)o, NT, &fm), 0);
}

/* A feed with the fast path and one without leave the same store. */
/* The fast path's UUID reader (eight digits at a time on little-endian machines)
 * against tb_uuid_parse: every byte value at every position of two ids (lower and
 * mixed case), and random ids. */
static void test_uuid_reader(void)
{
    static const char *base[] = { "784f394c-42b6-435a-983c-b7beff2784f9",
                                  "0aF9E1d2-C3b4-A5f6-0789-ABCDEFabcdef" };
    long wrong = 0, valid = 0;
    char u[37];
    uint8_t a[16], b[16];
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        for (int pos = 0; pos < 36; pos++)
            for (int c = 0; c < 256; c++) {
                memcpy(u, base[i], 37);
                u[pos] = (char)c;
                int want = tb_uuid_parse(u, 36, b) == 0, got = fast_uuid(u, 36, a);
                valid += want;
                wrong += got != want || (want && memcmp(a, b, 16) != 0);
            }
    srand(7);
    for (int n = 0; n < 20000; n++) {
        static const char hex[] = "0123456789abcdefABCDEF";
        for (int pos = 0; pos < 36; pos++)
            u[pos] = pos == 8 || pos == 13 || pos == 18 || pos == 23 ? '-' : hex[rand() % 22];
        int want = tb_uuid_parse(u, 36, b) == 0, got = fast_uuid(u, 36, a);
        wrong += !want || got != want || memcmp(a, b, 16) != 0;
    }
    CHECK_INT(wrong, 0);
    CHECK(valid == 2 * (32 * 22 + 4)); /* 22 hex digits at each digit position, '-' at 4 */
}

static void test_feed_same_store(void)
{
    static uint64_t mem[2][(1u << 20) / 8];
    static store st[2];
    static tb_feed f[2];
    static jsmntok_t tk[2][256];
    static tb_pending pend[2][8];
    store_config c = { 256, 32, 32 };
    const char *msgs[] = {
        LAT("{\"TIME_SERIES\":{\"a\":{\"ts\":5,\"value\":\"2.5E1\"},\"b\":{\"ts\":5,\"value\":\"on\"}}}"),
        LAT("{\"TIME_SERIES\":{\"a\":{\"ts\":4,\"value\":\"1\"},\"b\":{\"ts\":0,\"value\":\"\"}}}"),
        LAT("{\"TIME_SERIES\":{\"k\\u0031\":{\"ts\":6,\"value\":\"caf\\u00e9\"},\"bad\\u0000\":{\"ts\":6,\"value\":\"1\"}}}"),
        LAT("{\"TIME_SERIES\":{\"v\":{\"ts\":7,\"value\":\"\\udc00\"}},\"SERVER_ATTRIBUTE\":{\"x\":{\"ts\":1,\"value\":\"1\"}}}"),
    };
    for (int k = 0; k < 2; k++) {
        CHECK_INT(store_init(&st[k], mem[k], sizeof mem[k], &c), 0);
        CHECK_INT(tb_feed_init(&f[k], tk[k], 256, pend[k], 8), TB_OK);
        f[k].fast_off = k;
        tb_feed_expect(&f[k], 1);
        feed_res r;
        const char *d = "{\"cmdId\":1,\"data\":{\"data\":[],\"hasNext\":false}}";
        feed_store(&f[k], &st[k], d, strlen(d), 1, &r);
        for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
            CHECK_INT(feed_store(&f[k], &st[k], msgs[i], strlen(msgs[i]), 1, &r), TB_OK);
            CHECK_INT(r.kind, TB_WS_UPDATE);
        }
    }
    CHECK_INT(f[0].stats.fast, 4);
    CHECK_INT(f[1].stats.fast, 0);
    CHECK_INT(f[0].stats.bad_values, f[1].stats.bad_values);
    CHECK(f[0].stats.bad_values >= 2);
    store_stats a, b;
    store_get_stats(&st[0], &a);
    store_get_stats(&st[1], &b);
    CHECK_INT(a.series, b.series);
    CHECK_INT(a.applied, b.applied);
    CHECK_INT(a.stale, b.stale);
    CHECK_INT(a.deleted, b.deleted);
    CHECK_INT(a.series, 2); /* a (25), k1 ("café"); b deleted */
    store_row ra, rb;
    char sa[64], sb[64];
    CHECK_INT(store_get(&st[0], st[0].ent[0].id, "k1", 2, &ra, sa, sizeof sa), 1);
    CHECK_INT(store_get(&st[1], st[1].ent[0].id, "k1", 2, &rb, sb, sizeof sb), 1);
    CHECK_STR(sa, "caf\xc3\xa9");
    CHECK_STR(sa, sb);
    CHECK_INT(store_get(&st[0], st[0].ent[0].id, "a", 1, &ra, sa, sizeof sa), 1);
    CHECK_DBL(ra.num, 25.0, 0);
}

int main(void)
{
    RUN(test_table);
    RUN(test_truncated_and_nul);
    RUN(test_values_and_limits);
    RUN(test_feed_same_store);
    RUN(test_uuid_reader);
    return harness_done();
}
