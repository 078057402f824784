/* test_tb_rest.c -- login/refresh, error bodies, asset pages, keys, attributes, details. */
#include "core/tb.h"
#include "tests/harness.h"

static jsmntok_t tok[4096];
#define NT   (sizeof tok / sizeof tok[0])
#define S(x) x, strlen(x)

static void test_login_pair(void)
{
    tb_token_pair p;
    const char *ok =
        "{\"token\":\"eyJhbGciOiJIUzUxMiJ9.eyJzdWIi.sig\",\"refreshToken\":\"eyJ.r.s\"}";
    CHECK_INT(tb_parse_login(S(ok), tok, NT, &p), TB_OK);
    CHECK_MEM(p.token, p.token_len, "eyJhbGciOiJIUzUxMiJ9.eyJzdWIi.sig", 33);
    CHECK_MEM(p.refresh, p.refresh_len, "eyJ.r.s", 7);
    /* scope null is the normal NON_NULL-less case some servers send */
    CHECK_INT(tb_parse_login(S("{\"scope\":null,\"refreshToken\":\"a.b.c\",\"token\":\"d.e.f\"}"),
                             tok, NT, &p),
              TB_OK);
}

static void test_login_two_factor(void)
{
    tb_token_pair p;
    CHECK_INT(tb_parse_login(S("{\"token\":\"eyJ.a.b\",\"scope\":\"PRE_VERIFICATION_TOKEN\"}"), tok,
                             NT, &p),
              TB_ERR_TWO_FACTOR);
    CHECK_INT(tb_parse_login(S("{\"token\":\"eyJ.a.b\",\"scope\":\"MFA_CONFIGURATION_TOKEN\"}"),
                             tok, NT, &p),
              TB_ERR_TWO_FACTOR);
    CHECK_INT(tb_parse_login(S("{\"token\":\"eyJ.a.b\"}"), tok, NT, &p), TB_ERR_TWO_FACTOR);
    CHECK(strstr(tb_strerror(TB_ERR_TWO_FACTOR), "two-factor") != NULL);
    CHECK_INT(tb_parse_login(S("{\"refreshToken\":\"a.b.c\"}"), tok, NT, &p), TB_ERR_SHAPE);
    CHECK_INT(tb_parse_login(S("{\"token\":\"a\\\"b\",\"refreshToken\":\"a.b.c\"}"), tok, NT, &p),
              TB_ERR_SHAPE);
    CHECK_INT(tb_parse_login(S("[]"), tok, NT, &p), TB_ERR_SHAPE);
    CHECK_INT(tb_parse_login(S("<html>"), tok, NT, &p), TB_ERR_JSON);
}

static void test_error_bodies(void)
{
    static const struct {
        int status;
        const char *body;
        int code;
        int kind;
        const char *msg;
    } rows[] = {
        { 401,
          "{\"status\":401,\"message\":\"Invalid username or password\",\"errorCode\":10,\"timestamp\":1751460000123}",
          10, TB_EK_BAD_CREDENTIALS, "Invalid username or password" },
        { 401,
          "{\"status\":401,\"message\":\"Token has expired\",\"errorCode\":11,\"timestamp\":\"2021-05-03T09:04:06.214+00:00\"}",
          11, TB_EK_TOKEN_EXPIRED, "Token has expired" },
        { 401,
          "{\"subscriptionErrorCode\":null,\"subscriptionEntry\":null,\"subscriptionValue\":null,\"status\":401,"
          "\"message\":\"User password expired!\",\"errorCode\":15,\"timestamp\":1,\"resetToken\":\"xyz\"}",
          15, TB_EK_PASSWORD_EXPIRED, "User password expired!" },
        { 401,
          "{\"status\":401,\"message\":\"The entered password violates our policies.\",\"errorCode\":45}",
          45, TB_EK_PASSWORD_EXPIRED, "The entered password violates our policies." },
        { 429,
          "{\"status\":429,\"message\":\"Too many requests for current tenant!\",\"errorCode\":33,\"timestamp\":1}",
          33, TB_EK_RATE_LIMITED, "Too many requests for current tenant!" },
        { 403,
          "{\"status\":403,\"message\":\"You don't have permission to perform this operation!\",\"errorCode\":20}",
          20, TB_EK_PERMISSION, "You don't have permission to perform this operation!" },
        { 400,
          "{\"status\":400,\"message\":\"Invalid UUID string: assets\",\"errorCode\":31,\"timestamp\":1}",
          31, TB_EK_CE_SERVER, "Invalid UUID string: assets" },
        { 404, "Asset with requested id wasn't found!", -1, TB_EK_NOT_FOUND,
          "Asset with requested id wasn't found!" },
        { 500, "", -1, TB_EK_TRANSIENT, "" },
        { 401, "Unauthorized\r\n", -1, TB_EK_BAD_CREDENTIALS, "Unauthorized" },
        { 500, "{\"status\":500,\"message\":\"Invalid Refresh Token scope\",\"errorCode\":2}", 2,
          TB_EK_TRANSIENT, "Invalid Refresh Token scope" },
        { 502, "<html><body>Bad gateway</body></html>", -1, TB_EK_TRANSIENT,
          "<html><body>Bad gateway</body></html>" },
        { 413, "{\"status\":413,\"message\":\"big\\u00e9\",\"errorCode\":31}", 31,
          TB_EK_BAD_REQUEST, "big??" },
        { 401,
          "{\"status\":401,\"message\":\"User account is locked due to security policy\",\"errorCode\":10}",
          10, TB_EK_BAD_CREDENTIALS, "User account is locked due to security policy" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        tb_error e;
        CHECK_CTX("row %zu", i);
        tb_parse_error(rows[i].status, rows[i].body, strlen(rows[i].body), tok, NT, &e);
        CHECK_INT(e.status, rows[i].status);
        CHECK_INT(e.error_code, rows[i].code);
        CHECK_INT((int)e.kind, rows[i].kind);
        CHECK_STR(e.message, rows[i].msg);
    }
}

typedef struct {
    int n;
    tb_asset a[8];
} assets_seen;
static int on_asset(void *ctx, const tb_asset *a)
{
    assets_seen *s = ctx;
    if (s->n < 8)
        s->a[s->n] = *a;
    s->n++;
    return 0;
}

static void test_asset_page_pe_and_ce(void)
{
    const char *body =
        "{\"data\":[{\"id\":{\"entityType\":\"ASSET\",\"id\":\"784f394c-42b6-435a-983c-b7beff2784f9\"},"
        "\"createdTime\":1751460000000,\"tenantId\":{\"entityType\":\"TENANT\",\"id\":\"11111111-42b6-435a-983c-b7beff2784f9\"},"
        "\"customerId\":{\"entityType\":\"CUSTOMER\",\"id\":\"13814000-1dd2-11b2-8080-808080808080\"},"
        "\"name\":\"Pump station 7\",\"type\":\"Pump station\",\"label\":\"PS-7\","
        "\"assetProfileId\":{\"entityType\":\"ASSET_PROFILE\",\"id\":\"22222222-42b6-435a-983c-b7beff2784f9\"},"
        "\"externalId\":null,\"version\":4,\"additionalInfo\":{\"description\":\"\",\"nested\":{\"id\":\"x\"}},"
        "\"ownerId\":{\"entityType\":\"CUSTOMER\",\"id\":\"33333333-42b6-435a-983c-b7beff2784f9\"}},"
        "{\"id\":{\"entityType\":\"ASSET\",\"id\":\"00000000-0000-0000-0000-000000000002\"},"
        "\"name\":\"Tank \\\"A\\\" \\u00e9\\n\",\"type\":\"Tank\",\"label\":null,\"additionalInfo\":null},"
        "{\"id\":null,\"name\":\"broken\"},"
        "{\"id\":{\"entityType\":\"ASSET\",\"id\":\"not-a-uuid\"},\"name\":\"broken2\"}],"
        "\"totalPages\":3,\"totalElements\":2501,\"hasNext\":true}";
    assets_seen s = { 0 };
    tb_page_info info;
    CHECK_INT(tb_parse_asset_page(S(body), tok, NT, on_asset, &s, &info), TB_OK);
    CHECK_INT(s.n, 2);
    CHECK_INT((int)info.assets, 2);
    CHECK_INT((int)info.skipped, 2);
    CHECK(info.has_next == 1 && info.total_pages == 3 && info.total_elements == 2501);
    char u[37];
    tb_uuid_format(s.a[0].id, u);
    CHECK_STR(u, "784f394c-42b6-435a-983c-b7beff2784f9");
    tb_uuid_format(s.a[0].owner_id, u);
    CHECK_STR(u, "33333333-42b6-435a-983c-b7beff2784f9"); /* PE ownerId wins over customerId */
    CHECK_STR(s.a[0].name, "Pump station 7");
    CHECK_STR(s.a[0].type, "Pump station");
    CHECK_STR(s.a[0].label, "PS-7");
    CHECK_STR(s.a[1].name, "Tank \"A\" \xc3\xa9\n");
    CHECK_STR(s.a[1].label, "");
    CHECK_INT(s.a[1].name_len, 12);
    /* last page, empty page, missing hasNext */
    CHECK_INT(tb_parse_asset_page(
                  S("{\"data\":[],\"totalPages\":0,\"totalElements\":0,\"hasNext\":false}"), tok,
                  NT, on_asset, &s, &info),
              TB_OK);
    CHECK(info.has_next == 0 && info.assets == 0);
    CHECK_INT(tb_parse_asset_page(S("{\"data\":[]}"), tok, NT, on_asset, &s, &info), TB_ERR_SHAPE);
    CHECK_INT(tb_parse_asset_page(S("{\"data\":[{},{},{}],\"hasNext\":false}"), tok, 4, on_asset,
                                  &s, &info),
              TB_ERR_TOKENS);
}

/* PageData<Device> as ThingsBoard PE returns it (Device.java + PE's ownerId): the same
 * parser (deviceProfileId and the other members not read are skipped), kind DEVICE
 * from id.entityType. */
static void test_device_page(void)
{
    const char *body =
        "{\"data\":[{\"id\":{\"entityType\":\"DEVICE\",\"id\":\"d0000000-236b-11ef-ab79-761df4256b79\"},"
        "\"createdTime\":1751460000000,\"additionalInfo\":{\"gateway\":false},"
        "\"tenantId\":{\"entityType\":\"TENANT\",\"id\":\"11111111-42b6-435a-983c-b7beff2784f9\"},"
        "\"customerId\":{\"entityType\":\"CUSTOMER\",\"id\":\"13814000-1dd2-11b2-8080-808080808080\"},"
        "\"name\":\"Tracker \\\"0\\\"\",\"type\":\"Tracker\",\"label\":\"Truck 7\","
        "\"deviceProfileId\":{\"entityType\":\"DEVICE_PROFILE\",\"id\":\"44444444-42b6-435a-983c-b7beff2784f9\"},"
        "\"deviceData\":{\"configuration\":{\"type\":\"DEFAULT\"},\"transportConfiguration\":{\"type\":\"DEFAULT\"}},"
        "\"firmwareId\":null,\"softwareId\":null,\"externalId\":null,\"version\":1,"
        "\"ownerId\":{\"entityType\":\"TENANT\",\"id\":\"11111111-42b6-435a-983c-b7beff2784f9\"}},"
        "{\"id\":{\"entityType\":\"ASSET\",\"id\":\"00000000-0000-0000-0000-000000000002\"},"
        "\"name\":\"an asset\",\"type\":\"Tank\"}],"
        "\"totalPages\":1,\"totalElements\":2,\"hasNext\":false}";
    assets_seen s = { 0 };
    tb_page_info info;
    char u[37];
    CHECK_INT(tb_parse_asset_page(S(body), tok, NT, on_asset, &s, &info), TB_OK);
    CHECK_INT(s.n, 2);
    CHECK_INT(s.a[0].kind, TB_ENTITY_DEVICE);
    CHECK_INT(s.a[1].kind, TB_ENTITY_ASSET);
    tb_uuid_format(s.a[0].id, u);
    CHECK_STR(u, "d0000000-236b-11ef-ab79-761df4256b79");
    CHECK_STR(s.a[0].name, "Tracker \"0\"");
    CHECK_STR(s.a[0].type, "Tracker");
    CHECK_STR(s.a[0].label, "Truck 7");
    CHECK(info.has_next == 0 && info.total_elements == 2);
}

static void test_long_name_is_cut(void)
{
    char body[2000];
    char name[600];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = 0;
    snprintf(body, sizeof body,
             "{\"data\":[{\"id\":{\"id\":\"00000000-0000-0000-0000-000000000002\"},"
             "\"name\":\"%s\"}],\"hasNext\":false}",
             name);
    assets_seen s = { 0 };
    tb_page_info info;
    CHECK_INT(tb_parse_asset_page(S(body), tok, NT, on_asset, &s, &info), TB_OK);
    CHECK_INT(s.a[0].name_len, LIM_NAME_BYTES - 1);
    CHECK(s.a[0].cut == 1);
}

/* The members are found in one walk (tb_asset_members): the same answers as one
 * json_find per name -- the first member of a name wins, nested objects and escaped
 * key spellings do not count, an unusable ownerId falls back to customerId. */
static void test_asset_members_as_json_find(void)
{
    const char *body =
        "{\"data\":[{\"additionalInfo\":{\"name\":\"nested\",\"id\":{\"id\":\"00000000-0000-0000-0000-0000000000ff\"}},"
        "\"na\\u006de\":\"escaped key\",\"name\":\"first\",\"type\":7,\"name\":\"second\","
        "\"ownerId\":{\"entityType\":\"CUSTOMER\",\"id\":\"bad\"},"
        "\"customerId\":{\"entityType\":\"CUSTOMER\",\"id\":\"44444444-42b6-435a-983c-b7beff2784f9\"},"
        "\"id\":{\"entityType\":\"ASSET\",\"id\":\"00000000-0000-0000-0000-000000000003\"},"
        "\"id\":{\"entityType\":\"ASSET\",\"id\":\"00000000-0000-0000-0000-000000000004\"},"
        "\"label\":\"L\",\"type\":\"late type\"}],\"hasNext\":false}";
    assets_seen s = { 0 };
    tb_page_info info;
    char u[37];
    CHECK_INT(tb_parse_asset_page(S(body), tok, NT, on_asset, &s, &info), TB_OK);
    CHECK_INT(s.n, 1);
    tb_uuid_format(s.a[0].id, u);
    CHECK_STR(u, "00000000-0000-0000-0000-000000000003");
    tb_uuid_format(s.a[0].owner_id, u);
    CHECK_STR(u, "44444444-42b6-435a-983c-b7beff2784f9");
    CHECK_STR(s.a[0].name, "first");
    CHECK_STR(s.a[0].type, ""); /* the first "type" is not a string */
    CHECK_STR(s.a[0].label, "L");
}

static int on_key(void *ctx, const char *k, size_t n, int esc)
{
    (void)esc;
    char *acc = ctx;
    strncat(acc, k, n);
    strcat(acc, "|");
    return 0;
}

static void test_key_list(void)
{
    char acc[128] = "";
    CHECK_INT(tb_parse_key_list(S("[\"device_id\",\"temperature\"]"), tok, NT, on_key, acc), TB_OK);
    CHECK_STR(acc, "device_id|temperature|");
    CHECK_INT(tb_parse_key_list(S("{}"), tok, NT, on_key, acc), TB_ERR_SHAPE);
}

typedef struct {
    int n, details_n;
    tb_detail d[LIM_DETAIL_LABELS];
    char scratch[2048];
    int64_t ts;
} attr_seen;
static int on_attr(void *ctx, const tb_attr *a)
{
    attr_seen *s = ctx;
    s->n++;
    if (a->key_len == 12 && memcmp(a->key, "assetDetails", 12) == 0) {
        const jsmntok_t *v = a->value;
        s->ts = a->last_update_ts;
        s->details_n = tb_parse_details(a->json + v->start, (size_t)(v->end - v->start),
                                        v->type == JSMN_STRING, s->scratch, sizeof s->scratch, s->d,
                                        LIM_DETAIL_LABELS);
    }
    return 0;
}

static void test_attributes_and_details_both_forms(void)
{
    const char *obj =
        "[{\"lastUpdateTs\":1751460000000,\"key\":\"assetDetails\",\"value\":{\"site\":\"North\",\"pumps\":3,"
        "\"nested\":{\"a\":1},\"list\":[1],\"none\":null,\"ok\":true,\"q\":\"say \\\"hi\\\"\"}},"
        "{\"lastUpdateTs\":1751460000001,\"key\":\"active\",\"value\":true},"
        "{\"lastUpdateTs\":1751460000002,\"key\":\"capacity\",\"value\":42.2}]";
    attr_seen s = { 0 };
    CHECK_INT(tb_parse_attributes(S(obj), tok, NT, on_attr, &s), TB_OK);
    CHECK_INT(s.n, 3);
    CHECK(s.ts == 1751460000000);
    CHECK_INT(s.details_n, 4);
    CHECK_STR(s.d[0].key, "site");
    CHECK_STR(s.d[0].value, "North");
    CHECK_STR(s.d[1].key, "pumps");
    CHECK_STR(s.d[1].value, "3");
    CHECK_STR(s.d[2].key, "ok");
    CHECK_STR(s.d[2].value, "true");
    CHECK_STR(s.d[3].value, "say \"hi\"");

    const char *str =
        "[{\"lastUpdateTs\":5,\"key\":\"assetDetails\","
        "\"value\":\"{\\\"site\\\":\\\"South \\\\\\\"B\\\\\\\"\\\",\\\"pumps\\\":7}\"}]";
    attr_seen s2 = { 0 };
    CHECK_INT(tb_parse_attributes(S(str), tok, NT, on_attr, &s2), TB_OK);
    CHECK_INT(s2.details_n, 2);
    CHECK_STR(s2.d[0].value, "South \"B\"");
    CHECK_STR(s2.d[1].value, "7");
    attr_seen s3 = { 0 };
    CHECK_INT(tb_parse_attributes(S("[]"), tok, NT, on_attr, &s3), TB_OK);
    CHECK_INT(s3.n, 0);
    tb_detail d[2];
    char scratch[64];
    CHECK_INT(tb_parse_details(S("\\\"just text\\\""), 1, scratch, sizeof scratch, d, 2),
              TB_ERR_SHAPE);
    CHECK_INT(tb_parse_details(S("not json"), 1, scratch, sizeof scratch, d, 2), TB_ERR_JSON);
    CHECK_INT(tb_parse_details(S("{\"a\":1,\"b\":2,\"c\":3}"), 0, scratch, sizeof scratch, d, 2),
              2);
}

int main(void)
{
    RUN(test_login_pair);
    RUN(test_login_two_factor);
    RUN(test_error_bodies);
    RUN(test_asset_page_pe_and_ce);
    RUN(test_asset_members_as_json_find);
    RUN(test_device_page);
    RUN(test_long_name_is_cut);
    RUN(test_key_list);
    RUN(test_attributes_and_details_both_forms);
    return harness_done();
}
