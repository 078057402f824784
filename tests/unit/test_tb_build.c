/* test_tb_build.c -- login/refresh bodies and WebSocket subscribe messages. */
#include "core/tb.h"
#include "tests/harness.h"

#include <stdlib.h>

static jsmntok_t tok[200000];

static void test_uuid_roundtrip(void)
{
    uint8_t id[16];
    char s[37];
    CHECK_INT(tb_uuid_parse("784F394C-42b6-435a-983c-b7beff2784f9", 36, id), TB_OK);
    tb_uuid_format(id, s);
    CHECK_STR(s, "784f394c-42b6-435a-983c-b7beff2784f9");
    CHECK_INT(tb_uuid_parse("784f394c42b6-435a-983c-b7beff2784f9x", 36, id), TB_ERR_ARG);
    CHECK_INT(tb_uuid_parse("784f394c-42b6-435a-983c-b7beff2784f", 35, id), TB_ERR_ARG);
    CHECK_INT(tb_uuid_parse("784f394c-42b6-435a-983c-b7beff2784fg", 36, id), TB_ERR_ARG);
}

static void test_login_and_refresh_bodies_are_escaped(void)
{
    char out[256];
    const char *pw = "p\"w\\d\n";
    int n = tb_build_login(out, sizeof out, "user@example.com", 16, pw, strlen(pw));
    CHECK_STR(out, "{\"username\":\"user@example.com\",\"password\":\"p\\\"w\\\\d\\n\"}");
    CHECK_INT(n, (int)strlen(out));
    /* and it parses back to the same password */
    int nt = json_parse(out, (size_t)n, tok, 16);
    int p = json_find(out, tok, nt, 0, "password");
    char back[32];
    CHECK_INT(json_unescape(out + tok[p].start, (size_t)(tok[p].end - tok[p].start), back,
                            sizeof back),
              (int)strlen(pw));
    CHECK_STR(back, pw);
    CHECK_INT(tb_build_login(out, 20, "user@example.com", 16, pw, strlen(pw)), TB_ERR_SPACE);
    n = tb_build_refresh(out, sizeof out, "eyJ.a.b", 7);
    CHECK_STR(out, "{\"refreshToken\":\"eyJ.a.b\"}");
}

static void make_ids(uint8_t (*ids)[16], uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        memset(ids[i], 0, 16);
        ids[i][0] = (uint8_t)(i >> 8);
        ids[i][1] = (uint8_t)i;
        ids[i][15] = 0xab;
    }
}

static void test_first_message_exact(void)
{
    uint8_t ids[2][16];
    make_ids(ids, 2);
    const char *keys[] = { "device_id", "temp\"x" };
    tb_cmd c = {
        TB_CMD_SUBSCRIBE, 7, (const uint8_t(*)[16])ids, 2, keys, 2, 1, NULL, 0, 0, NULL, 0
    };
    tb_build_cursor cur = { 0, 0 };
    char out[LIM_TB_OUT_MESSAGE];
    int n = tb_build_next(&cur, "eyJhbGciOiJIUzUxMiJ9.e30.sig", 28, &c, 1, out, sizeof out);
    const char *want =
        "{\"authCmd\":{\"cmdId\":0,\"token\":\"eyJhbGciOiJIUzUxMiJ9.e30.sig\"},\"cmds\":["
        "{\"cmdId\":7,\"type\":\"ENTITY_DATA\",\"query\":{\"entityFilter\":{\"type\":\"entityList\","
        "\"entityType\":\"ASSET\",\"entityList\":[\"00000000-0000-0000-0000-0000000000ab\","
        "\"00010000-0000-0000-0000-0000000000ab\"]},\"pageLink\":{\"pageSize\":2,\"page\":0,"
        "\"sortOrder\":{\"key\":{\"type\":\"ENTITY_FIELD\",\"key\":\"createdTime\"},\"direction\":\"ASC\"},"
        "\"dynamic\":false},\"entityFields\":[],\"latestValues\":[]},\"latestCmd\":{\"keys\":["
        "{\"type\":\"TIME_SERIES\",\"key\":\"device_id\"},{\"type\":\"TIME_SERIES\",\"key\":\"temp\\\"x\"},"
        "{\"type\":\"SERVER_ATTRIBUTE\",\"key\":\"assetDetails\"}]}}]}";
    CHECK_STR(out, want);
    CHECK_INT(n, (int)strlen(want));
    CHECK(json_parse(out, (size_t)n, tok, 1000) > 0);
    CHECK_INT(tb_build_next(&cur, "x", 1, &c, 1, out, sizeof out), 0);
    CHECK(strstr(out, "Bearer") == NULL);
}

/* Ids picked out of a caller's array of larger records (the exporter's asset table)
 * give the same message as a packed copy of them, in pick order. */
static void test_picked_ids_equal_packed(void)
{
    struct rec {
        uint32_t before;
        uint8_t id[16];
        char after[21];
    } recs[5];
    uint8_t packed[3][16];
    const uint32_t pick[3] = { 4, 0, 2 };
    const char *keys[] = { "temperature" };
    char a[LIM_TB_OUT_MESSAGE], b[LIM_TB_OUT_MESSAGE];
    make_ids(packed, 3);
    memset(recs, 0x5a, sizeof recs);
    for (int i = 0; i < 3; i++)
        memcpy(recs[pick[i]].id, packed[i], 16);
    tb_cmd c = {
        TB_CMD_SUBSCRIBE, 5, (const uint8_t(*)[16])packed, 3, keys, 1, 0, NULL, 0, 0, NULL, 0
    };
    tb_build_cursor cur = { 0, 1 };
    int na = tb_build_next(&cur, NULL, 0, &c, 1, a, sizeof a);
    c.assets = (const uint8_t(*)[16])recs[0].id;
    c.pick = pick;
    c.pick_stride = sizeof recs[0];
    cur = (tb_build_cursor){ 0, 1 };
    int nb = tb_build_next(&cur, NULL, 0, &c, 1, b, sizeof b);
    CHECK(na > 0 && na == nb && memcmp(a, b, (size_t)na) == 0);
    CHECK(strstr(a, "\"00020000-0000-0000-0000-0000000000ab\"") != NULL);
}

/* A DEVICE page: entityType DEVICE, telemetry keys, then the SERVER_ATTRIBUTE keys
 * (connectivity and --iotpro.attribute-keys); no assetDetails. */
static void test_device_command_exact(void)
{
    uint8_t ids[1][16];
    make_ids(ids, 1);
    const char *keys[] = { "temperature" };
    const char *attrs[] = { "active", "lastActivityTime", "fw\"1" };
    tb_cmd c = { TB_CMD_SUBSCRIBE,
                 3,
                 (const uint8_t(*)[16])ids,
                 1,
                 keys,
                 1,
                 0,
                 attrs,
                 3,
                 TB_ENTITY_DEVICE,
                 NULL,
                 0 };
    tb_build_cursor cur = { 0, 1 };
    char out[LIM_TB_OUT_MESSAGE];
    int n = tb_build_next(&cur, NULL, 0, &c, 1, out, sizeof out);
    const char *want =
        "{\"cmds\":[{\"cmdId\":3,\"type\":\"ENTITY_DATA\",\"query\":{\"entityFilter\":{\"type\":"
        "\"entityList\",\"entityType\":\"DEVICE\",\"entityList\":[\"00000000-0000-0000-0000-0000000000ab\"]},"
        "\"pageLink\":{\"pageSize\":1,\"page\":0,\"sortOrder\":{\"key\":{\"type\":\"ENTITY_FIELD\","
        "\"key\":\"createdTime\"},\"direction\":\"ASC\"},\"dynamic\":false},\"entityFields\":[],"
        "\"latestValues\":[]},\"latestCmd\":{\"keys\":[{\"type\":\"TIME_SERIES\",\"key\":\"temperature\"},"
        "{\"type\":\"SERVER_ATTRIBUTE\",\"key\":\"active\"},{\"type\":\"SERVER_ATTRIBUTE\",\"key\":"
        "\"lastActivityTime\"},{\"type\":\"SERVER_ATTRIBUTE\",\"key\":\"fw\\\"1\"}]}}]}";
    CHECK_STR(out, want);
    CHECK_INT(n, (int)strlen(want));
    CHECK_INT((int)tb_cmd_len(&c) + 11, n); /* {"cmds":[ ... ]} */
    /* attribute keys alone make a command; an empty attribute key or a bad kind does not */
    c.n_keys = 0;
    cur = (tb_build_cursor){ 0, 1 };
    n = tb_build_next(&cur, NULL, 0, &c, 1, out, sizeof out);
    CHECK(n > 0 && strstr(out, "\"keys\":[{\"type\":\"SERVER_ATTRIBUTE\",\"key\":\"active\"}"));
    attrs[1] = "";
    cur = (tb_build_cursor){ 0, 1 };
    CHECK_INT(tb_build_next(&cur, NULL, 0, &c, 1, out, sizeof out), TB_ERR_ARG);
    attrs[1] = "x";
    c.entity = 2;
    cur = (tb_build_cursor){ 0, 1 };
    CHECK_INT(tb_build_next(&cur, NULL, 0, &c, 1, out, sizeof out), TB_ERR_ARG);
}

static void test_url_escape(void)
{
    char out[64];
    CHECK_INT(tb_url_escape(out, sizeof out, "Weather station/\xc3\xa9&x=1", 22), 34);
    CHECK_STR(out, "Weather%20station%2F%C3%A9%26x%3D1");
    CHECK_INT(tb_url_escape(out, sizeof out, "a-b_c.d~", 8), 8);
    CHECK_STR(out, "a-b_c.d~");
    CHECK_INT(tb_url_escape(out, 4, "a b", 3), TB_ERR_SPACE); /* 5 bytes and the NUL */
    CHECK_INT(tb_url_escape(out, 6, "a b", 3), 5);
}

static void test_split_under_limit(void)
{
    /* 20 commands x 400 assets: ~16 KB each, so one or two per message */
    enum { NC = 20, NA = 400 };
    static uint8_t ids[NC * NA][16];
    make_ids(ids, NC * NA);
    const char *keys[] = { "device_id", "telemetry_param_latitude", "telemetry_param_longitude" };
    tb_cmd cmds[NC + 1];
    for (int i = 0; i < NC; i++)
        cmds[i] = (tb_cmd){ TB_CMD_SUBSCRIBE,
                            i + 1,
                            (const uint8_t(*)[16])ids[i * NA],
                            NA,
                            keys,
                            3,
                            0,
                            NULL,
                            0,
                            0,
                            NULL,
                            0 };
    cmds[NC] = (tb_cmd){ TB_CMD_UNSUBSCRIBE, 99, NULL, 0, NULL, 0, 0, NULL, 0, 0, NULL, 0 };
    tb_build_cursor cur = { 0, 0 };
    static char out[64 * 1024];
    int msgs = 0, seen_ids = 0, n, total_assets = 0;
    while ((n = tb_build_next(&cur, "tok.en.x", 8, cmds, NC + 1, out, sizeof out)) > 0) {
        msgs++;
        CHECK(n <= (int)LIM_TB_OUT_MESSAGE);
        int nt = json_parse(out, (size_t)n, tok, sizeof tok / sizeof tok[0]);
        CHECK(nt > 0);
        CHECK((json_find(out, tok, nt, 0, "authCmd") >= 0) == (msgs == 1));
        int arr = json_find(out, tok, nt, 0, "cmds");
        for (int c = arr + 1; c < nt && tok[c].start < tok[arr].end; c = json_skip(tok, nt, c)) {
            int id = json_find(out, tok, nt, c, "cmdId");
            int64_t v;
            json_get_i64(out, &tok[id], &v);
            CHECK(v == seen_ids + 1 || (v == 99 && seen_ids == NC));
            seen_ids++;
            int q = json_find(out, tok, nt, c, "query");
            if (q >= 0) {
                int f = json_find(out, tok, nt, q, "entityFilter");
                int l = json_find(out, tok, nt, f, "entityList");
                total_assets += tok[l].size;
            }
        }
        CHECK(msgs < 100);
        if (msgs >= 100)
            break;
    }
    CHECK_INT(n, 0);
    CHECK_INT(seen_ids, NC + 1);
    CHECK_INT(total_assets, NC * NA);
    CHECK(msgs >= NC / 2 && msgs <= NC);
    CHECK(strstr(out, "ENTITY_DATA_UNSUBSCRIBE") != NULL);
}

static void test_oversized_and_invalid_commands(void)
{
    static uint8_t ids[1000][16];
    make_ids(ids, 1000);
    const char *keys[] = { "k" };
    tb_cmd big = {
        TB_CMD_SUBSCRIBE, 1, (const uint8_t(*)[16])ids, 1000, keys, 1, 0, NULL, 0, 0, NULL, 0
    };
    CHECK(tb_cmd_len(&big) > LIM_TB_OUT_MESSAGE);
    tb_build_cursor cur = { 0, 0 };
    static char out[64 * 1024];
    CHECK_INT(tb_build_next(&cur, NULL, 0, &big, 1, out, sizeof out), TB_ERR_TOO_BIG);
    tb_cmd bad = {
        TB_CMD_SUBSCRIBE, 0, (const uint8_t(*)[16])ids, 1, keys, 1, 0, NULL, 0, 0, NULL, 0
    };
    CHECK_INT(tb_build_next(&cur, NULL, 0, &bad, 1, out, sizeof out), TB_ERR_ARG);
    tb_cmd nokeys = {
        TB_CMD_SUBSCRIBE, 3, (const uint8_t(*)[16])ids, 1, NULL, 0, 0, NULL, 0, 0, NULL, 0
    };
    CHECK_INT(tb_build_next(&cur, NULL, 0, &nokeys, 1, out, sizeof out), TB_ERR_ARG);
    /* auth only, no commands */
    cur = (tb_build_cursor){ 0, 0 };
    int n = tb_build_next(&cur, "a.b.c", 5, NULL, 0, out, sizeof out);
    CHECK_STR(out, "{\"authCmd\":{\"cmdId\":0,\"token\":\"a.b.c\"},\"cmds\":[]}");
    CHECK(n > 0);
    CHECK_INT(tb_build_next(&cur, "a.b.c", 5, NULL, 0, out, sizeof out), 0);
}

int main(void)
{
    RUN(test_device_command_exact);
    RUN(test_url_escape);
    RUN(test_uuid_roundtrip);
    RUN(test_login_and_refresh_bodies_are_escaped);
    RUN(test_first_message_exact);
    RUN(test_picked_ids_equal_packed);
    RUN(test_split_under_limit);
    RUN(test_oversized_and_invalid_commands);
    return harness_done();
}
