/* test_jwt.c -- JWT payload decoding (ThingsBoard claim sets) and refresh timing. */
#include "core/b64.h"
#include "core/jwt.h"
#include "core/limits.h"
#include "tests/harness.h"

/* header.payload.signature with the payload base64url-encoded (no padding). */
static size_t mk_token(char *out, size_t cap, const char *payload)
{
    char p[LIM_JWT_BYTES * 2];
    long n = b64url_encode((const uint8_t *)payload, strlen(payload), p, sizeof p);
    if (n < 0)
        return 0;
    return (size_t)snprintf(out, cap, "eyJhbGciOiJIUzUxMiJ9.%s.c2lnbmF0dXJl", p);
}

static void test_thingsboard_access_token(void)
{
    const char *claims =
        "{\"sub\":\"user@example.com\",\"userId\":\"5f2c7d40-0b1a-11ef-9a3b-8d1c6a0e5b11\","
        "\"scopes\":[\"CUSTOMER_USER\"],\"sessionId\":\"0d5f6a2e-8a51-4b0e-a3a0-4f0d3c1b2a99\","
        "\"exp\":1751469000,\"iss\":\"thingsboard.io\",\"iat\":1751460000,\"firstName\":\"John\","
        "\"lastName\":\"Doe\",\"enabled\":true,\"isPublic\":false,"
        "\"tenantId\":\"784f394c-42b6-435a-983c-b7beff2784f9\","
        "\"customerId\":\"a1b2c3d4-0000-11ef-8000-000000000001\"}";
    char tok[4096];
    size_t n = mk_token(tok, sizeof tok, claims);
    jwt_claims c;
    CHECK_INT(jwt_decode(tok, n, &c), JWT_OK);
    CHECK(c.exp == 1751469000 && c.iat == 1751460000);
    CHECK_STR(c.customer_id, "a1b2c3d4-0000-11ef-8000-000000000001");
    CHECK_STR(c.tenant_id, "784f394c-42b6-435a-983c-b7beff2784f9");
    CHECK_STR(c.user_id, "5f2c7d40-0b1a-11ef-9a3b-8d1c6a0e5b11");
    CHECK_STR(c.scope, "CUSTOMER_USER");
}

static void test_old_server_token_without_session(void)
{
    /* Shape of the token posted in thingsboard#3150: tenant admin, null customer UUID. */
    const char *claims = "{\"sub\":\"tenant@thingsboard.org\",\"scopes\":[\"TENANT_ADMIN\"],"
                         "\"userId\":\"5f2c7d40-0b1a-11ef-9a3b-8d1c6a0e5b11\",\"enabled\":true,"
                         "\"isPublic\":false,\"tenantId\":\"784f394c-42b6-435a-983c-b7beff2784f9\","
                         "\"customerId\":\"13814000-1dd2-11b2-8080-808080808080\","
                         "\"iss\":\"thingsboard.io\",\"iat\":1592000000,\"exp\":1592009000}";
    char tok[4096];
    size_t n = mk_token(tok, sizeof tok, claims);
    jwt_claims c;
    CHECK_INT(jwt_decode(tok, n, &c), JWT_OK);
    CHECK(c.exp - c.iat == 9000);
    CHECK_STR(c.customer_id, "13814000-1dd2-11b2-8080-808080808080");
    CHECK_STR(c.scope, "TENANT_ADMIN");
}

static void test_malformed_tokens(void)
{
    static const struct {
        const char *payload;
        int rc;
    } rows[] = {
        { "{\"iat\":1}", JWT_ERR_CLAIMS },
        { "{\"exp\":\"1751469000\",\"iat\":1751460000}", JWT_ERR_CLAIMS },
        { "{\"exp\":1751460000,\"iat\":1751469000}", JWT_ERR_CLAIMS },
        { "{\"exp\":1.5e9,\"iat\":1}", JWT_ERR_CLAIMS },
        { "[1,2]", JWT_ERR_JSON },
        { "{\"exp\":1", JWT_ERR_JSON },
        { "not json", JWT_ERR_JSON },
    };
    char tok[4096];
    jwt_claims c;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        CHECK_CTX("%s", rows[i].payload);
        size_t n = mk_token(tok, sizeof tok, rows[i].payload);
        CHECK_INT(jwt_decode(tok, n, &c), rows[i].rc);
    }
    CHECK_CTX("structure");
    CHECK_INT(jwt_decode("abc", 3, &c), JWT_ERR_FORMAT);
    CHECK_INT(jwt_decode("a.b", 3, &c), JWT_ERR_FORMAT);
    CHECK_INT(jwt_decode("a.b.c.d", 7, &c), JWT_ERR_FORMAT);
    CHECK_INT(jwt_decode("a..c", 4, &c), JWT_ERR_FORMAT);
    CHECK_INT(jwt_decode("", 0, &c), JWT_ERR_FORMAT);
    CHECK_INT(jwt_decode("a.e$$$.c", 8, &c), JWT_ERR_BASE64);
    CHECK_INT(jwt_decode("Bearer eyJ.eyJ.x", 16, &c), JWT_ERR_BASE64);
    static char big[LIM_JWT_BYTES + 10];
    memset(big, 'A', sizeof big);
    big[5] = '.';
    big[sizeof big - 5] = '.';
    CHECK_INT(jwt_decode(big, sizeof big, &c), JWT_ERR_FORMAT);
    /* the error text never echoes the token */
    CHECK(strstr(jwt_strerror(JWT_ERR_CLAIMS), "eyJ") == NULL);
}

static void test_refresh_timing(void)
{
    static const struct {
        int64_t life_s;
        int64_t want_delay_ms;
    } rows[] = {
        { 9000, 7200000 },   /* default 2.5 h: 80% (7200 s) is earlier than exp-5min */
        { 86400, 69120000 }, /* 1 day: 80% = 19.2 h */
        { 3600, 2880000 },   /* 1 h: 80% = 48 min, earlier than 55 min */
        { 1500, 1200000 },   /* 25 min: 80% = 20 min = exp - 5 min */
        { 600, 300000 },     /* 10 min: exp - 5 min (300 s) beats 80% (480 s) */
        { 599, 479200 },     /* under 10 min the margin would eat > half: 80% */
        { 300, 240000 },     /* 5 min: exp - 5 min = 0 -> 80%, not a refresh storm */
        { 8, 6400 },         /* test-sized tokens: 80% */
        { 1, 1000 },         /* 80% = 0.8 s -> never sooner than 1 s */
        { 0, 1000 },         /* nonsense lifetimes still give a sane time */
        { -50, 1000 },
    };
    const int64_t now = 1000000;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        CHECK_CTX("lifetime %lld s", (long long)rows[i].life_s);
        /* the server clock (iat) is unrelated to ours: only the lifetime matters */
        int64_t at = jwt_refresh_at(now, 1751460000 + rows[i].life_s, 1751460000);
        CHECK(at - now == rows[i].want_delay_ms);
        CHECK(at - now <= (rows[i].life_s > 0 ? rows[i].life_s * 800 : 1000) || at - now == 1000);
    }
    CHECK(jwt_expires_at(5000, 9000, 0) == 5000 + 9000000);
}

int main(void)
{
    RUN(test_thingsboard_access_token);
    RUN(test_old_server_token_without_session);
    RUN(test_malformed_tokens);
    RUN(test_refresh_timing);
    return harness_done();
}
