/*
 * b64.h -- base64 and base64url (RFC 4648 sections 4 and 5), no I/O, no allocation.
 *
 * Encoders write into a caller buffer and NUL-terminate. Decoders are strict: no
 * whitespace, no characters outside the alphabet, and the unused low bits of the last
 * symbol must be zero (RFC 4648 3.5), so every byte string has exactly one accepted
 * encoding. Standard base64 requires '=' padding to a multiple of 4; base64url (JWT)
 * accepts it with or without padding.
 */
#ifndef IOTPRO_CORE_B64_H
#define IOTPRO_CORE_B64_H

#include <stddef.h>
#include <stdint.h>

/* Errors (negative, -400 range). */
enum {
    B64_ERR_SPACE = -401,  /* output buffer too small */
    B64_ERR_INVALID = -402 /* character outside the alphabet, bad padding or length */
};

/* Characters b64_encode writes for n bytes, without the NUL (b64url: no padding). */
#define B64_ENC_LEN(n) ((((n) + 2u) / 3u) * 4u)
/* Upper bound of decoded bytes for n characters. */
#define B64_DEC_MAX(n) ((((n) + 3u) / 4u) * 3u)

/* Encode len bytes; out gets the text plus a NUL (needs B64_ENC_LEN(len) + 1 bytes).
 * Returns the text length or B64_ERR_SPACE. */
long b64_encode(const uint8_t *in, size_t len, char *out, size_t cap);
/* base64url without padding (the JWT form). */
long b64url_encode(const uint8_t *in, size_t len, char *out, size_t cap);

/* Decode len characters into out[cap]. Returns the byte count, B64_ERR_INVALID or
 * B64_ERR_SPACE. On error out may hold partial output. */
long b64_decode(const char *in, size_t len, uint8_t *out, size_t cap);
long b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap);

const char *b64_strerror(int err);

#endif
