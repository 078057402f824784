/*
 * jwt.c -- payload decoding and refresh timing for ThingsBoard JWTs. The payload is
 * decoded into a stack buffer bounded by LIM_JWT_BYTES, so a hostile token costs
 * at most that much work and memory.
 */
#include "core/jwt.h"
#include "core/b64.h"
#include "core/json.h"
#include "core/limits.h"

#include <string.h>

#define JWT_TOKENS 256

static void jwt_copy_uuid(const char *js, const jsmntok_t *t, int n, int obj, const char *key,
                          char out[37])
{
    out[0] = 0;
    int v = json_find(js, t, n, obj, key);
    if (v < 0 || t[v].type != JSMN_STRING || t[v].end - t[v].start != 36)
        return;
    for (int i = 0; i < 36; i++) {
        char c = js[t[v].start + i];
        int hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!(i == 8 || i == 13 || i == 18 || i == 23 ? c == '-' : hex))
            return;
    }
    memcpy(out, js + t[v].start, 36);
    out[36] = 0;
}

int jwt_decode(const char *token, size_t len, jwt_claims *out)
{
    uint8_t payload[LIM_JWT_BYTES];
    jsmntok_t tok[JWT_TOKENS];
    memset(out, 0, sizeof *out);
    if (len == 0 || len > LIM_JWT_BYTES)
        return JWT_ERR_FORMAT;
    const char *d1 = memchr(token, '.', len);
    if (!d1)
        return JWT_ERR_FORMAT;
    const char *p = d1 + 1;
    const char *d2 = memchr(p, '.', len - (size_t)(p - token));
    if (!d2 || d2 == p || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
        return JWT_ERR_FORMAT;
    long n = b64url_decode(p, (size_t)(d2 - p), payload, sizeof payload);
    if (n < 0)
        return JWT_ERR_BASE64;
    const char *js = (const char *)payload;
    int nt = json_parse(js, (size_t)n, tok, JWT_TOKENS);
    if (nt < 1 || tok[0].type != JSMN_OBJECT)
        return JWT_ERR_JSON;
    int e = json_find(js, tok, nt, 0, "exp"), i = json_find(js, tok, nt, 0, "iat");
    if (e < 0 || i < 0 || json_get_i64(js, &tok[e], &out->exp) != JSON_OK ||
        json_get_i64(js, &tok[i], &out->iat) != JSON_OK || out->exp <= out->iat)
        return JWT_ERR_CLAIMS;
    jwt_copy_uuid(js, tok, nt, 0, "customerId", out->customer_id);
    jwt_copy_uuid(js, tok, nt, 0, "tenantId", out->tenant_id);
    jwt_copy_uuid(js, tok, nt, 0, "userId", out->user_id);
    int s = json_find(js, tok, nt, 0, "scopes");
    if (s >= 0 && tok[s].type == JSMN_ARRAY && s + 1 < nt && tok[s + 1].parent == s &&
        tok[s + 1].type == JSMN_STRING) {
        int r = json_unescape(js + tok[s + 1].start, (size_t)(tok[s + 1].end - tok[s + 1].start),
                              out->scope, sizeof out->scope);
        if (r < 0)
            out->scope[0] = 0;
    }
    return JWT_OK;
}

int64_t jwt_refresh_at(int64_t now_local_ms, int64_t exp, int64_t iat)
{
    int64_t life = exp - iat;
    if (life <= 0 || life > INT64_C(100) * 365 * 86400)
        return now_local_ms + 1000;
    int64_t life_ms = life * 1000;
    int64_t delay = life_ms - 5 * 60 * 1000;
    int64_t cap80 = life_ms / 5 * 4;
    /* A 5-minute margin that eats more than half the lifetime (tokens under 10 min)
     * would refresh almost at once, and again after every refresh: use 80% there. */
    if (delay > cap80 || delay < life_ms / 2)
        delay = cap80;
    if (delay < 1000)
        delay = 1000;
    return now_local_ms + delay;
}

int64_t jwt_expires_at(int64_t now_local_ms, int64_t exp, int64_t iat)
{
    int64_t life = exp - iat;
    if (life <= 0 || life > INT64_C(100) * 365 * 86400)
        return now_local_ms;
    return now_local_ms + life * 1000;
}

const char *jwt_strerror(int err)
{
    switch (err) {
    case JWT_OK: return "ok";
    case JWT_ERR_FORMAT: return "token is not a JWT (header.payload.signature)";
    case JWT_ERR_BASE64: return "JWT payload is not base64url";
    case JWT_ERR_JSON: return "JWT payload is not a JSON object";
    case JWT_ERR_CLAIMS: return "JWT payload lacks valid exp/iat claims";
    default: return "unknown JWT error";
    }
}
