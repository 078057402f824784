/*
 * jwt.h -- read the claims of a ThingsBoard access token and decide when to refresh.
 *
 * The signature is not checked (the client cannot: the key is the server's). Only
 * the payload is decoded: base64url without padding, then JSON. Claims are copied
 * into the caller's jwt_claims, so the token text need not outlive the call.
 * The token itself never appears in an error string.
 */
#ifndef IOTPRO_CORE_JWT_H
#define IOTPRO_CORE_JWT_H

#include <stddef.h>
#include <stdint.h>

enum {
    JWT_OK = 0,
    JWT_ERR_FORMAT = -501, /* not header.payload.signature, or longer than LIM_JWT_BYTES */
    JWT_ERR_BASE64 = -502, /* payload is not base64url */
    JWT_ERR_JSON = -503,   /* payload is not a JSON object */
    JWT_ERR_CLAIMS = -504  /* exp or iat missing, not an integer, or exp <= iat */
};

/* Claims the exporter uses. Strings are NUL-terminated, "" when absent. */
typedef struct jwt_claims {
    int64_t exp;          /* seconds since the epoch (server clock) */
    int64_t iat;          /* seconds since the epoch (server clock) */
    char customer_id[37]; /* for /api/customer/{id}/assets; the null UUID for tenants */
    char tenant_id[37];
    char user_id[37];
    char scope[32]; /* first element of "scopes": TENANT_ADMIN, CUSTOMER_USER... */
} jwt_claims;

/* Decodes token[0..len) (no "Bearer " prefix). Returns JWT_OK or a JWT_ERR_*.
 * UUID claims that are not 36 characters are left empty. */
int jwt_decode(const char *token, size_t len, jwt_claims *out);

/* When to refresh, on the local clock, in milliseconds: now_local_ms plus the
 * token's lifetime (exp - iat, seconds) minus 5 minutes, but no later than 80% of
 * the lifetime; for tokens under 10 minutes, where the 5-minute margin would leave
 * less than half the lifetime, at 80%; never sooner than 1 s. Counting the lifetime locally, as
 * ThingsBoard's own UI does, makes clock skew between us and the server harmless. */
int64_t jwt_refresh_at(int64_t now_local_ms, int64_t exp, int64_t iat);

/* Local time (ms) at which the token expires: now_local_ms + lifetime. */
int64_t jwt_expires_at(int64_t now_local_ms, int64_t exp, int64_t iat);

const char *jwt_strerror(int err);

#endif
