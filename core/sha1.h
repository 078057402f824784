/*
 * sha1.h -- SHA-1 (RFC 3174 / FIPS 180-4), for the WebSocket handshake only.
 *
 * SHA-1 is broken for collision resistance; RFC 6455 uses it merely to prove that the
 * server read our Sec-WebSocket-Key, so nothing here is a security boundary. Do not use
 * it for anything else. No I/O, no allocation; the ctx is caller-owned.
 */
#ifndef IOTPRO_CORE_SHA1_H
#define IOTPRO_CORE_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_LEN 20u

typedef struct {
    uint32_t h[5];
    uint64_t total; /* bytes hashed so far */
    uint8_t block[64];
    size_t fill; /* bytes waiting in block */
} sha1_ctx;

void sha1_init(sha1_ctx *c);
void sha1_update(sha1_ctx *c, const void *data, size_t len);
/* Writes the digest; c must be re-initialised before reuse. */
void sha1_final(sha1_ctx *c, uint8_t out[SHA1_LEN]);
/* One-shot convenience. */
void sha1(const void *data, size_t len, uint8_t out[SHA1_LEN]);

#endif
