/* test_tb_ws.c -- WebSocket replies (EntityDataUpdate, legacy shape) and tb_feed. */
#include "core/tb_feed.h"
#include "tests/feed_store.h"
#include "tests/harness.h"

#include <stdlib.h>

static jsmntok_t tok[8192];
#define NT   (sizeof tok / sizeof tok[0])
#define S(x) x, strlen(x)
#define A1   "784f394c-42b6-435a-983c-b7beff2784f9"
#define A2   "00000000-0000-0000-0000-000000000002"

static const char *DATA_PAGE =
    "{\"cmdId\":1,\"errorCode\":0,\"errorMsg\":null,"
    "\"data\":{\"data\":[{\"entityId\":{\"entityType\":\"ASSET\",\"id\":\"" A1 "\"},"
    "\"readAttrs\":true,\"readTs\":true,"
    "\"latest\":{\"ENTITY_FIELD\":{\"name\":{\"ts\":1751460000123,\"value\":\"Pump station 7\"}},"
    "\"TIME_SERIES\":{\"device_id\":{\"ts\":1751459000000,\"value\":\"A1B2\"},"
    "\"flow\":{\"ts\":0,\"value\":\"\"},\"temp\":{\"ts\":1751459000001,\"value\":\"25\"}},"
    "\"SERVER_ATTRIBUTE\":{\"assetDetails\":{\"ts\":1751000000000,\"value\":\"{\\\"site\\\":\\\"North\\\"}\"}}},"
    "\"timeseries\":{},\"aggLatest\":{}},"
    "{\"entityId\":{\"entityType\":\"ASSET\",\"id\":\"" A2 "\"},"
    "\"latest\":{\"TIME_SERIES\":{\"temp\":{\"ts\":5,\"value\":\"2.5E1\"},\"gone\":{\"ts\":0}}},"
    "\"timeseries\":null,\"aggLatest\":null}],"
    "\"totalPages\":1,\"totalElements\":2,\"hasNext\":false},"
    "\"update\":null,\"allowedEntities\":10000,\"cmdUpdateType\":\"ENTITY_DATA\"}";

typedef struct {
    int n;
    tb_ws_value v[16];
    char keys[16][32];
} seen;
static int on_value(void *ctx, const tb_ws_value *v)
{
    seen *s = ctx;
    if (s->n < 16) {
        s->v[s->n] = *v;
        snprintf(s->keys[s->n], 32, "%.*s", (int)v->key_len, v->key);
    }
    s->n++;
    return 0;
}

static void test_data_page(void)
{
    tb_ws_msg m;
    CHECK_INT(tb_ws_parse(S(DATA_PAGE), tok, NT, &m), TB_OK);
    CHECK_INT(m.kind, TB_WS_DATA);
    CHECK_INT(m.cmd_id, 1);
    CHECK(m.legacy == 0 && m.total_elements == 2 && m.has_next == 0);
    seen s = { 0 };
    CHECK_INT(tb_ws_visit(DATA_PAGE, tok, NT, &m, NULL, on_value, &s), 7);
    CHECK_INT(s.v[0].type, TB_KEY_ENTITY_FIELD);
    CHECK_STR(s.keys[1], "device_id");
    CHECK(s.v[1].ts == 1751459000000 && s.v[1].value_len == 4 && !memcmp(s.v[1].value, "A1B2", 4));
    CHECK(s.v[2].ts == 0 && s.v[2].value_len == 0 && s.v[2].value != NULL);
    CHECK_INT(s.v[4].type, TB_KEY_SERVER_ATTRIBUTE);
    CHECK(s.v[4].value_escaped == 1);
    CHECK_STR(s.keys[6], "gone");
    CHECK(s.v[6].value == NULL); /* NON_NULL TsValue: missing value */
    char u[37];
    tb_uuid_format(s.v[5].entity, u); /* entity pointer is only valid in the callback... */
    (void)u;
}

static void test_update_legacy_and_errors(void)
{
    static const struct {
        const char *msg;
        int rc;
        int kind;
        int cmd;
        int legacy;
        int code;
    } rows[] = {
        { "{\"cmdId\":1,\"errorCode\":0,\"errorMsg\":null,\"data\":null,\"update\":[{\"entityId\":{\"entityType\":"
          "\"ASSET\",\"id\":\"" A1
          "\"},\"latest\":{\"TIME_SERIES\":{\"device_id\":{\"ts\":1751460012345,\"value\":"
          "\"A1B2\"}}},\"timeseries\":null,\"aggLatest\":null}],\"allowedEntities\":10000,\"cmdUpdateType\":\"ENTITY_DATA\"}",
          TB_OK, TB_WS_UPDATE, 1, 0, 0 },
        { "{\"cmdId\":1,\"errorCode\":1,\"errorMsg\":\"Failed to process websocket command!\",\"data\":null,\"update\":null,"
          "\"allowedEntities\":0,\"cmdUpdateType\":\"ENTITY_DATA\"}",
          TB_OK, TB_WS_ERROR, 1, 0, 1 },
        { "{\"subscriptionId\":1,\"errorCode\":2,\"errorMsg\":\"Failed to parse the payload\",\"data\":null,\"latestValues\":{}}",
          TB_OK, TB_WS_ERROR, 1, 1, 2 },
        { "{\"subscriptionId\":7,\"errorCode\":2,\"errorMsg\":\"Query is empty!\",\"data\":null,\"latestValues\":{}}",
          TB_OK, TB_WS_ERROR, 7, 1, 2 },
        { "{\"subscriptionId\":3,\"errorCode\":34,\"errorMsg\":\"Too many updates!\"}", TB_OK,
          TB_WS_RESYNC, 3, 1, 34 },
        { "{\"cmdId\":4,\"errorCode\":34,\"errorMsg\":\"Too many updates!\"}", TB_OK, TB_WS_RESYNC,
          4, 0, 34 },
        { "{\"subscriptionId\":912,\"errorCode\":2,\"errorMsg\":\"Exceeded rate limit for WS subscriptions per tenant\"}",
          TB_OK, TB_WS_ERROR, 912, 1, 2 },
        { "{\"subscriptionId\":10,\"errorCode\":0,\"errorMsg\":null,\"data\":{\"k1\":[[1715321875739,\"25.1\"]]},"
          "\"latestValues\":{\"k1\":1715321875739}}",
          TB_OK, TB_WS_OTHER, 10, 1, 0 },
        { "{\"cmdId\":5,\"errorCode\":0,\"cmdUpdateType\":\"ALARM_DATA\",\"data\":{\"data\":[]}}",
          TB_OK, TB_WS_OTHER, 5, 0, 0 },
        { "{\"cmdId\":6,\"data\":{\"data\":[],\"totalPages\":0,\"totalElements\":0,\"hasNext\":false},\"update\":null}",
          TB_OK, TB_WS_DATA, 6, 0, 0 },
        { "{\"errorCode\":0}", TB_ERR_SHAPE, TB_WS_OTHER, -1, 0, 0 },
        { "{\"cmdId\":\"1\"}", TB_ERR_SHAPE, TB_WS_OTHER, -1, 0, 0 },
        { "{\"cmdId\":99999999999}", TB_ERR_SHAPE, TB_WS_OTHER, -1, 0, 0 },
        { "[1]", TB_ERR_SHAPE, TB_WS_OTHER, -1, 0, 0 },
        { "{\"cmdId\":1,", TB_ERR_JSON, TB_WS_OTHER, -1, 0, 0 },
        { "{\"cmdId\":6,\"data\":{\"totalPages\":0}}", TB_ERR_SHAPE, TB_WS_OTHER, 6, 0, 0 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        tb_ws_msg m;
        CHECK_CTX("row %zu", i);
        CHECK_INT(tb_ws_parse(rows[i].msg, strlen(rows[i].msg), tok, NT, &m), rows[i].rc);
        if (rows[i].rc != TB_OK)
            continue;
        CHECK_INT((int)m.kind, rows[i].kind);
        CHECK_INT(m.cmd_id, rows[i].cmd);
        CHECK_INT(m.legacy, rows[i].legacy);
        CHECK_INT(m.error_code, rows[i].code);
    }
}

/* ---- tb_feed with a real store ----------------------------------------------------- */

static store st;
static tb_feed feed;
static tb_pending pend[8];
static void *mem;

static void feed_setup(void)
{
    store_config cfg = { 1000, 100, 100 };
    free(mem);
    mem = aligned_alloc(8, (store_mem_needed(&cfg) + 7) & ~(size_t)7);
    store_init(&st, mem, store_mem_needed(&cfg), &cfg);
    tb_feed_init(&feed, tok, NT, pend, 8);
}

static int get_num(const char *uuid, const char *key, double *v, int64_t *ts)
{
    uint8_t id[16];
    store_row r;
    char sb[300];
    tb_uuid_parse(uuid, 36, id);
    if (!store_get(&st, id, key, strlen(key), &r, sb, sizeof sb))
        return 0;
    *v = r.num;
    *ts = r.ts;
    return r.kind;
}

static char upd_buf[1024];
static const char *upd(int cmd, const char *uuid, const char *key, long long ts, const char *val)
{
    if (val)
        snprintf(
            upd_buf, sizeof upd_buf,
            "{\"cmdId\":%d,\"errorCode\":0,\"errorMsg\":null,\"data\":null,\"update\":[{\"entityId\":"
            "{\"entityType\":\"ASSET\",\"id\":\"%s\"},\"latest\":{\"TIME_SERIES\":{\"%s\":{\"ts\":%lld,"
            "\"value\":\"%s\"}}},\"timeseries\":null,\"aggLatest\":null}],\"cmdUpdateType\":\"ENTITY_DATA\"}",
            cmd, uuid, key, ts, val);
    else
        snprintf(
            upd_buf, sizeof upd_buf,
            "{\"cmdId\":%d,\"update\":[{\"entityId\":{\"id\":\"%s\"},\"latest\":{\"TIME_SERIES\":"
            "{\"%s\":{\"ts\":%lld}}}}],\"data\":null}",
            cmd, uuid, key, ts);
    return upd_buf;
}

static void test_feed_premature_updates_and_order(void)
{
    feed_setup();
    feed_res r;
    double v;
    int64_t ts;
    /* unknown cmdId: ignored */
    CHECK_INT(feed_store(&feed, &st, S(upd(1, A1, "temp", 10, "1")), 100, &r), TB_OK);
    CHECK(r.unknown_cmd == 1);
    CHECK_INT(get_num(A1, "temp", &v, &ts), 0);

    tb_feed_expect(&feed, 1);
    /* an update overtakes the data page: buffered, then replayed after it */
    CHECK_INT(feed_store(&feed, &st, S(upd(1, A1, "temp", 1751459000009, "26.5")), 100, &r), TB_OK);
    CHECK_INT((int)r.buffered, 1);
    CHECK_INT(get_num(A1, "temp", &v, &ts), 0);
    /* and an even older one (reordered): buffered too, loses on ts */
    feed_store(&feed, &st, S(upd(1, A1, "temp", 1751459000005, "20")), 100, &r);
    CHECK_INT(feed_store(&feed, &st, S(DATA_PAGE), 100, &r), TB_OK);
    CHECK_INT((int)r.kind, TB_WS_DATA);
    CHECK_INT((int)r.replayed, 2);
    CHECK_INT(get_num(A1, "temp", &v, &ts), STORE_KIND_NUM);
    CHECK(v == 26.5 && ts == 1751459000009);
    CHECK_INT(get_num(A2, "temp", &v, &ts), STORE_KIND_NUM);
    CHECK(v == 25.0);
    CHECK_INT(get_num(A1, "device_id", &v, &ts), STORE_KIND_STR);
    CHECK_INT(get_num(A1, "flow", &v, &ts), 0); /* ts 0 / "" = absent */
    CHECK_INT(get_num(A2, "gone", &v, &ts), 0);

    /* live: older update is stale, newer wins, deletion removes */
    feed_store(&feed, &st, S(upd(1, A1, "temp", 1751459000001, "99")), 100, &r);
    CHECK_INT((int)r.stale, 1);
    feed_store(&feed, &st, S(upd(1, A1, "temp", 1751459000010, "1.2345E7")), 100, &r);
    CHECK_INT(get_num(A1, "temp", &v, &ts), STORE_KIND_NUM);
    CHECK(v == 12345000.0);
    feed_store(&feed, &st, S(upd(1, A1, "temp", 0, "")), 100, &r);
    CHECK_INT((int)r.deleted, 1);
    CHECK_INT(get_num(A1, "temp", &v, &ts), 0);
    feed_store(&feed, &st, S(upd(1, A1, "device_id", 1751459000011, NULL)), 100, &r);
    CHECK_INT((int)r.deleted, 1);
    /* boolean */
    feed_store(&feed, &st, S(upd(1, A1, "on", 7, "true")), 100, &r);
    CHECK_INT(get_num(A1, "on", &v, &ts), STORE_KIND_NUM);
    CHECK(v == 1.0);
    /* after unsubscribe, updates are ignored */
    tb_feed_forget(&feed, 1);
    feed_store(&feed, &st, S(upd(1, A1, "on", 8, "false")), 100, &r);
    CHECK(r.unknown_cmd == 1);
    get_num(A1, "on", &v, &ts);
    CHECK(v == 1.0);
}

/* Device connectivity as ThingsBoard sends it (SERVER_ATTRIBUTE strings, one update per
 * key) next to a telemetry key of the same name: the attribute goes to its own
 * namespace, so both series live; escapes decode; an over-long key is refused. */
static void test_attribute_values(void)
{
    static const char msg[] =
        "{\"cmdId\":2,\"errorCode\":0,\"update\":[{\"entityId\":{\"entityType\":\"DEVICE\",\"id\":\""
        "d0000000-236b-11ef-ab79-761df4256b79\"},\"latest\":{\"SERVER_ATTRIBUTE\":{\"active\":{\"ts\":"
        "1751459000001,\"value\":\"false\"},\"lastActivityTime\":{\"ts\":1751459000002,\"value\":"
        "\"1751459000000\"},\"fw\\u00e9\":{\"ts\":1751459000003,\"value\":\"1.4\\\"2\"},\"gone\":{\"ts\":0,"
        "\"value\":\"\"}},\"TIME_SERIES\":{\"active\":{\"ts\":1751459000004,\"value\":\"17\"}}}}]}";
    static const char *const key[] = { "\xff"
                                       "active",
                                       "\xff"
                                       "lastActivityTime",
                                       "\xff"
                                       "fw\xc3\xa9",
                                       "\xff"
                                       "gone" };
    tb_feed_out *o = feed_store_out();
    feed_res r;
    tb_feed_value v[4];
    char kb[4][LIM_KEY_BYTES], vb[4][LIM_STRING_VALUE_BYTES + 8];
    tb_apply_result ar;
    double num;
    int64_t ts;
    feed_setup();
    tb_feed_expect(&feed, 2);
    CHECK_INT(feed_store(&feed, &st, S("{\"cmdId\":2,\"data\":{\"data\":[],\"hasNext\":false}}"), 1,
                         &r),
              TB_OK);
    CHECK_INT(feed_store(&feed, &st, S(msg), 1, &r), TB_OK);
    CHECK_INT((int)r.set, 1); /* the telemetry "active" */
    CHECK_INT((int)o->attr_n, 4);
    for (uint32_t i = 0; i < 4 && i < o->attr_n; i++) {
        CHECK_CTX("attribute %u", i);
        CHECK_INT(tb_feed_attr_value(&o->attrs[i], kb[i], vb[i], sizeof vb[i], &v[i]), TB_OK);
        CHECK_MEM(v[i].key, v[i].key_len, key[i], strlen(key[i]));
        CHECK(tb_key_is_attr(v[i].key, v[i].key_len));
    }
    CHECK_CTX("values");
    CHECK(v[0].kind == TB_VAL_NUM && v[0].num == 0.0 && v[0].ts == 1751459000001);
    CHECK(v[1].kind == TB_VAL_NUM && v[1].num == 1751459000000.0);
    CHECK(v[2].kind == TB_VAL_STR && v[2].str_len == 5 && !memcmp(v[2].str, "1.4\"2", 5));
    CHECK(v[3].kind == TB_VAL_ABSENT);
    tb_apply(&st, v, 4, 1, &ar);
    CHECK_INT((int)ar.set, 3);
    CHECK_INT(get_num("d0000000-236b-11ef-ab79-761df4256b79", "active", &num, &ts), STORE_KIND_NUM);
    CHECK(num == 17.0);
    CHECK_INT(get_num("d0000000-236b-11ef-ab79-761df4256b79",
                      "\xff"
                      "active",
                      &num, &ts),
              STORE_KIND_NUM);
    CHECK(num == 0.0 && ts == 1751459000001);
    CHECK(!tb_key_is_attr("active", 6) && !tb_key_is_attr("", 0));
    /* a key with no room for the namespace byte, an empty one, a bad escape */
    char longkey[LIM_KEY_BYTES];
    memset(longkey, 'k', sizeof longkey);
    o->attrs[0].v.key = longkey;
    o->attrs[0].v.key_len = LIM_KEY_BYTES - 1;
    CHECK_INT(tb_feed_attr_value(&o->attrs[0], kb[0], vb[0], sizeof vb[0], &v[0]), TB_ERR_SPACE);
    o->attrs[0].v.key_len = LIM_KEY_BYTES - 2;
    CHECK_INT(tb_feed_attr_value(&o->attrs[0], kb[0], vb[0], sizeof vb[0], &v[0]), TB_OK);
    o->attrs[0].v.key_len = 0;
    CHECK_INT(tb_feed_attr_value(&o->attrs[0], kb[0], vb[0], sizeof vb[0], &v[0]), TB_ERR_SPACE);
    o->attrs[0].v.key = "a\\x";
    o->attrs[0].v.key_len = 3;
    o->attrs[0].v.key_escaped = 1;
    CHECK_INT(tb_feed_attr_value(&o->attrs[0], kb[0], vb[0], sizeof vb[0], &v[0]), TB_ERR_JSON);
}

static void test_feed_buffer_is_bounded(void)
{
    feed_setup();
    feed_res r;
    tb_feed_expect(&feed, 2);
    int dropped = 0;
    for (int i = 0; i < 20; i++) {
        feed_store(&feed, &st, S(upd(2, A1, "k", 100 + i, "1")), 100, &r);
        dropped += (int)r.buffer_dropped;
    }
    CHECK_INT(dropped, 12);
    CHECK(feed.stats.buffer_dropped == 12);
    tb_feed_reset(&feed);
    CHECK_INT((int)feed.pend_n, 0);
    /* resync and error results */
    CHECK_INT(
        feed_store(&feed, &st,
                   S("{\"subscriptionId\":2,\"errorCode\":34,\"errorMsg\":\"Too many updates!\"}"),
                   1, &r),
        TB_OK);
    CHECK_INT((int)r.kind, TB_WS_RESYNC);
    CHECK(feed.stats.resyncs == 1);
    CHECK_INT(feed_store(&feed, &st, S("garbage"), 1, &r), TB_ERR_JSON);
    CHECK(feed.stats.parse_errors == 1);
}

static void test_feed_escaped_values(void)
{
    feed_setup();
    feed_res r;
    tb_feed_expect(&feed, 3);
    const char *m =
        "{\"cmdId\":3,\"data\":{\"data\":[{\"entityId\":{\"id\":\"" A1
        "\"},\"latest\":{\"TIME_SERIES\":"
        "{\"n\\u0061me\":{\"ts\":9,\"value\":\"say \\\"hi\\\"\"}}}}],\"hasNext\":false}}";
    CHECK_INT(feed_store(&feed, &st, S(m), 1, &r), TB_OK);
    uint8_t id[16];
    store_row row;
    char sb[300];
    tb_uuid_parse(A1, 36, id);
    CHECK(store_get(&st, id, "name", 4, &row, sb, sizeof sb) == 1);
    CHECK_STR(sb, "say \"hi\"");
}

/* {"cmdId":1,"update":[],"x": + depth levels of open + close... + } (an unknown member,
 * ignored when the depth is acceptable), or `update` itself nested when x is 0. */
static char deep_msg[2 * 100000 + 128];
static size_t deep_update(unsigned depth, int in_x, const char *open, const char *mid,
                          const char *close)
{
    size_t o =
        (size_t)snprintf(deep_msg, 64,
                         in_x ? "{\"cmdId\":1,\"update\":[],\"x\":" : "{\"cmdId\":1,\"update\":");
    size_t lo = strlen(open), lc = strlen(close);
    for (unsigned i = 0; i < depth; i++, o += lo)
        memcpy(deep_msg + o, open, lo);
    o += (size_t)snprintf(deep_msg + o, 32, "%s", mid);
    for (unsigned i = 0; i < depth; i++, o += lc)
        memcpy(deep_msg + o, close, lc);
    deep_msg[o++] = '}';
    deep_msg[o] = 0;
    return o;
}

static void test_deep_json_rejected(void)
{
    tb_ws_msg m;
    /* the top-level object is level 1 */
    size_t n = deep_update(LIM_JSON_DEPTH - 1, 1, "[", "", "]");
    CHECK_INT(tb_ws_parse(deep_msg, n, tok, NT, &m), TB_OK);
    CHECK_INT((int)m.kind, TB_WS_UPDATE);
    n = deep_update(LIM_JSON_DEPTH, 1, "[", "", "]");
    CHECK_INT(tb_ws_parse(deep_msg, n, tok, NT, &m), TB_ERR_JSON);
    n = deep_update((LIM_JSON_DEPTH - 1) / 2, 1, "{\"a\":[", "", "]}");
    CHECK_INT(tb_ws_parse(deep_msg, n, tok, NT, &m), TB_OK);
    n = deep_update(LIM_JSON_DEPTH / 2, 1, "{\"a\":[", "", "]}");
    CHECK_INT(tb_ws_parse(deep_msg, n, tok, NT, &m), TB_ERR_JSON);
    /* the hostile peer's messages: 100,000 levels inside an otherwise valid update;
     * rejected as malformed, not as "too many tokens" (NT is 8192) */
    n = deep_update(100000, 0, "[", "", "]");
    CHECK_INT(tb_ws_parse(deep_msg, n, tok, NT, &m), TB_ERR_JSON);
    n = deep_update(20000, 0, "{\"a\":", "1", "}");
    CHECK_INT(tb_ws_parse(deep_msg, n, tok, NT, &m), TB_ERR_JSON);
}

static void test_feed_counts_deep_json_as_parse_error(void)
{
    feed_setup();
    feed_res r;
    double v;
    int64_t ts;
    tb_feed_expect(&feed, 1);
    CHECK_INT(feed_store(&feed, &st, S(DATA_PAGE), 100, &r), TB_OK);
    size_t n = deep_update(100000, 0, "[", "", "]");
    CHECK_INT(feed_store(&feed, &st, deep_msg, n, 100, &r), TB_ERR_JSON);
    n = deep_update(100000, 1, "[", "", "]");
    CHECK_INT(feed_store(&feed, &st, deep_msg, n, 100, &r), TB_ERR_JSON);
    n = deep_update(LIM_JSON_DEPTH, 0, "[", "", "]");
    CHECK_INT(feed_store(&feed, &st, deep_msg, n, 100, &r), TB_ERR_JSON);
    CHECK(feed.stats.parse_errors == 3);
    CHECK(feed.stats.messages == 4);
    /* the feed goes on: the next ordinary update is applied */
    CHECK_INT(feed_store(&feed, &st, S(upd(1, A1, "temp", 1751459000020, "7")), 100, &r), TB_OK);
    CHECK_INT(get_num(A1, "temp", &v, &ts), STORE_KIND_NUM);
    CHECK(v == 7.0 && ts == 1751459000020);
    CHECK(feed.stats.parse_errors == 3);
}

/* tb_feed alone (no store): views out, bounded output counted, bad escapes counted,
 * and replayed updates stay readable until the next call. */
static void test_feed_views_and_bounds(void)
{
    static tb_feed f;
    tb_feed_value vals[2];
    tb_feed_attr attrs[1];
    char scratch[TB_FEED_SCRATCH(0)];
    tb_feed_out o = { vals, 2, 0, attrs, 1, 0, scratch, sizeof scratch, 0 };
    tb_feed_result r;
    const char *three =
        "{\"cmdId\":1,\"data\":{\"data\":[{\"entityId\":{\"id\":\"" A1 "\"},\"latest\":"
        "{\"TIME_SERIES\":{\"a\":{\"ts\":1,\"value\":\"1.5\"},\"b\":{\"ts\":1,\"value\":\"x\"},"
        "\"c\":{\"ts\":1,\"value\":\"true\"}}}}],\"hasNext\":false}}";
    CHECK_INT(tb_feed_init(&f, tok, NT, pend, 8), TB_OK);
    tb_feed_expect(&f, 1);
    tb_feed_expect(&f, 2);
    /* an update for cmdId 2 waits for its page */
    CHECK_INT(tb_feed_message(&f, S(upd(2, A2, "w\\u0041it", 5, "7")), &o, &r), TB_OK);
    CHECK_INT((int)r.buffered, 1);
    CHECK_INT((int)o.n, 0);
    /* three values, room for two: the third is counted, not lost silently */
    CHECK_INT(tb_feed_message(&f, S(three), &o, &r), TB_OK);
    CHECK_INT((int)o.n, 2);
    CHECK(f.stats.out_dropped == 1);
    CHECK_INT(o.vals[0].kind, TB_VAL_NUM);
    CHECK(o.vals[0].num == 1.5);
    CHECK_INT(o.vals[1].kind, TB_VAL_STR);
    CHECK(o.vals[1].str_len == 1 && o.vals[1].str[0] == 'x');
    /* cmdId 2's page: its waiting update comes out after it, unescaped, as a view */
    CHECK_INT(tb_feed_message(&f, S("{\"cmdId\":2,\"data\":{\"data\":[],\"hasNext\":false}}"), &o,
                              &r),
              TB_OK);
    CHECK_INT((int)r.replayed, 1);
    CHECK_INT((int)o.n, 1);
    CHECK(o.vals[0].key_len == 4 && memcmp(o.vals[0].key, "wAit", 4) == 0); /* was escaped */
    CHECK(o.vals[0].kind == TB_VAL_NUM && o.vals[0].num == 7.0 && o.vals[0].ts == 5);
    CHECK_INT((int)f.pend_n, 1); /* handed out; leaves at the next call */
    /* an escape that does not decode (a lone surrogate): a bad value, nothing returned */
    CHECK_INT(tb_feed_message(&f, S(upd(1, A1, "k", 9, "\\udc00")), &o, &r), TB_OK);
    CHECK_INT((int)f.pend_n, 0);
    CHECK_INT((int)o.n, 0);
    CHECK(f.stats.bad_values == 1);
    /* a deletion */
    CHECK_INT(tb_feed_message(&f, S(upd(1, A1, "k", 0, "")), &o, &r), TB_OK);
    CHECK(o.n == 1 && o.vals[0].kind == TB_VAL_ABSENT);
}

int main(void)
{
    RUN(test_data_page);
    RUN(test_update_legacy_and_errors);
    RUN(test_feed_premature_updates_and_order);
    RUN(test_feed_buffer_is_bounded);
    RUN(test_attribute_values);
    RUN(test_feed_escaped_values);
    RUN(test_feed_views_and_bounds);
    RUN(test_deep_json_rejected);
    RUN(test_feed_counts_deep_json_as_parse_error);
    free(mem);
    return harness_done();
}
