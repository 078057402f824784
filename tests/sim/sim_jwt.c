/*
 * sim_jwt.c -- ThingsBoard-style tokens: HS512 JWTs with the claims the reference
 * document lists (sub, userId, scopes, sessionId, exp, iss, iat, ... / jti for refresh).
 *
 * The signing key is derived from the seed and the start time, so tokens from an
 * earlier simulator run fail verification exactly like tokens from another server
 * ("JWT Token expired" on the WebSocket, errorCode 11 over REST).
 *
 * Expiry faults: every sessionId carries the issuing "generation" in its first group;
 * the control endpoint bumps the generation to expire all tokens issued so far.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64.h"
#include "core/json.h"
#include "tests/sim/sim.h"

static uint8_t key[64];
static uint64_t uuid_ctr;
unsigned sim_jwt_gen_access, sim_jwt_gen_refresh;

void sim_jwt_init(uint64_t seed)
{
    br_sha512_context h;
    uint64_t in[2] = { seed, (uint64_t)sim_now_ms() };
    br_sha512_init(&h);
    br_sha512_update(&h, in, sizeof in);
    br_sha512_out(&h, key);
    uuid_ctr = in[1];
}

static void rand_uuid(char out[37], unsigned gen)
{
    uint64_t a = sim_hash(uuid_ctr++, 0x5e55), b = sim_hash(uuid_ctr++, 0x1d);
    /* the generation sits in the top 16 bits; the rest looks random as usual */
    snprintf(out, 37, "%04x%04x-%04x-4%03x-%04x-%012llx", gen & 0xffff,
             (unsigned)(a >> 48 & 0xffff), (unsigned)(a & 0xffff), (unsigned)(a >> 16 & 0xfff),
             (unsigned)(0x8000 | (a >> 28 & 0x3fff)), (unsigned long long)(b & 0xffffffffffffull));
}

static void sign(const char *data, size_t len, char *out, size_t cap)
{
    br_hmac_key_context kc;
    br_hmac_context hc;
    uint8_t mac[64];
    br_hmac_key_init(&kc, &br_sha512_vtable, key, sizeof key);
    br_hmac_init(&hc, &kc, 0);
    br_hmac_update(&hc, data, len);
    br_hmac_out(&hc, mac);
    b64url_encode(mac, sizeof mac, out, cap);
}

void sim_jwt_customer_id(char out[37])
{
    uint64_t u = sim_hash(sim.seed, 0x05e7);
    if (strcmp(sim.authority, "CUSTOMER_USER") == 0)
        snprintf(out, 37, "a1b2c3d4-0000-11ef-8000-%012llx",
                 (unsigned long long)(u >> 8 & 0xffffffffffffull));
    else
        strcpy(out, "13814000-1dd2-11b2-8080-808080808080"); /* ThingsBoard's "no customer" */
}

size_t sim_jwt_issue(char *out, size_t cap, int refresh, const char *scope, int64_t lifetime)
{
    char sid[37], jti[37], uid[37], tid[37], cid[37];
    char payload[1024];
    int64_t iat = sim_now_ms() / 1000;
    uint64_t u = sim_hash(sim.seed, 0x05e7);
    snprintf(uid, sizeof uid, "5f2c7d40-0b1a-11ef-9a3b-%012llx",
             (unsigned long long)(u & 0xffffffffffffull));
    snprintf(tid, sizeof tid, "784f394c-42b6-11ef-983c-%012llx",
             (unsigned long long)(u >> 16 & 0xffffffffffffull));
    sim_jwt_customer_id(cid);
    rand_uuid(sid, refresh ? sim_jwt_gen_refresh : sim_jwt_gen_access);
    sim_buf sub = { 0 };
    sim_buf_json_str(&sub, sim.username, strlen(sim.username));
    sim_buf_put(&sub, "", 1);
    int n;
    if (refresh) {
        rand_uuid(jti, 0);
        n = snprintf(payload, sizeof payload,
                     "{\"sub\":%s,\"userId\":\"%s\",\"scopes\":[\"REFRESH_TOKEN\"],"
                     "\"sessionId\":\"%s\",\"exp\":%lld,\"iss\":\"thingsboard.io\","
                     "\"iat\":%lld,\"isPublic\":false,\"jti\":\"%s\"}",
                     sub.p, uid, sid, (long long)(iat + lifetime), (long long)iat, jti);
    } else {
        n = snprintf(payload, sizeof payload,
                     "{\"sub\":%s,\"userId\":\"%s\",\"scopes\":[\"%s\"],\"sessionId\":\"%s\","
                     "\"exp\":%lld,\"iss\":\"thingsboard.io\",\"iat\":%lld,"
                     "\"firstName\":\"John\",\"lastName\":\"Doe\",\"enabled\":true,"
                     "\"isPublic\":false,\"tenantId\":\"%s\",\"customerId\":\"%s\"}",
                     sub.p, uid, scope, sid, (long long)(iat + lifetime), (long long)iat, tid, cid);
    }
    sim_buf_free(&sub);
    if (n < 0 || (size_t)n >= sizeof payload)
        return 0;
    size_t need = 20 + B64_ENC_LEN((size_t)n) + 1 + 90;
    if (cap < need)
        return 0;
    long hl = b64url_encode((const uint8_t *)"{\"alg\":\"HS512\"}", 15, out, cap);
    out[hl] = '.';
    long pl =
        b64url_encode((const uint8_t *)payload, (size_t)n, out + hl + 1, cap - (size_t)hl - 1);
    size_t at = (size_t)hl + 1 + (size_t)pl;
    out[at] = '.';
    sign(out, at, out + at + 1, cap - at - 1);
    return strlen(out);
}

sim_jwt_status sim_jwt_check(const char *tok, size_t len, int refresh, int64_t *iat_out)
{
    const char *d1 = memchr(tok, '.', len);
    if (!d1)
        return SIM_JWT_MALFORMED;
    const char *d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok));
    if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)))
        return SIM_JWT_MALFORMED;
    uint8_t payload[2048];
    long pl = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), payload, sizeof payload);
    if (pl <= 0)
        return SIM_JWT_MALFORMED;
    jsmntok_t t[64];
    int nt = json_parse((const char *)payload, (size_t)pl, t, 64);
    if (nt < 1 || t[0].type != JSMN_OBJECT)
        return SIM_JWT_MALFORMED;
    const char *js = (const char *)payload;
    int64_t exp = 0, iat = 0;
    int ie = json_find(js, t, nt, 0, "exp"), ii = json_find(js, t, nt, 0, "iat");
    int is = json_find(js, t, nt, 0, "scopes"), ises = json_find(js, t, nt, 0, "sessionId");
    if (ie < 0 || ii < 0 || is < 0 || json_get_i64(js, &t[ie], &exp) ||
        json_get_i64(js, &t[ii], &iat))
        return SIM_JWT_MALFORMED;
    /* Signature before expiry: ThingsBoard maps both failures to "expired". */
    char mac[100];
    sign(tok, (size_t)(d2 - tok), mac, sizeof mac);
    size_t ml = strlen(mac);
    if (ml != len - (size_t)(d2 + 1 - tok) || memcmp(mac, d2 + 1, ml) != 0)
        return SIM_JWT_EXPIRED;
    if (exp <= sim_now_ms() / 1000)
        return SIM_JWT_EXPIRED;
    if (ises >= 0 && t[ises].type == JSMN_STRING && t[ises].end - t[ises].start >= 8) {
        char g[5];
        memcpy(g, js + t[ises].start, 4);
        g[4] = 0;
        unsigned gen = (unsigned)strtoul(g, NULL, 16);
        if (gen < ((refresh ? sim_jwt_gen_refresh : sim_jwt_gen_access) & 0xffff))
            return SIM_JWT_EXPIRED;
    }
    int is_refresh = is + 1 < nt && json_eq(js, &t[is + 1], "REFRESH_TOKEN");
    if (is_refresh != refresh)
        return SIM_JWT_SCOPE;
    if (iat_out)
        *iat_out = iat;
    return SIM_JWT_OK;
}
