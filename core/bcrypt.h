/*
 * bcrypt.h -- password hashes in the bcrypt format ("$2b$10$<salt><digest>"), as
 * htpasswd -B and the web configuration file's basic_auth_users use them.
 *
 * No I/O, no allocation, no clock: the Blowfish state (4 KiB) lives on the caller's
 * stack for the duration of one call. Any thread may call; nothing is shared.
 *
 * Variants: $2a$, $2b$ and $2y$ are accepted and computed alike: the key is the
 * password's bytes plus a NUL, cut at 72 bytes (what $2b$ defines; $2a$ and $2y$ hashes
 * made by current tools are the same for every password). $2x$ (the old sign-extension
 * bug) and $2$ are refused.
 *
 * Cost: 2^cost key-schedule rounds, cost 4..31 in the format. Cost 10 takes ~60 ms on
 * one core here; a caller that verifies for strangers must cap it (the web config does).
 */
#ifndef IOTPRO_CORE_BCRYPT_H
#define IOTPRO_CORE_BCRYPT_H

#include <stddef.h>
#include <stdint.h>

#define BCRYPT_HASH_LEN   60 /* "$2b$" "NN" "$" 22 salt + 31 digest characters */
#define BCRYPT_SALT_LEN   16
#define BCRYPT_DIGEST_LEN 23 /* the 24-byte ciphertext less its last byte */
#define BCRYPT_KEY_MAX    72 /* bytes of password (with its NUL) that count */
#define BCRYPT_COST_MIN   4
#define BCRYPT_COST_MAX   31

/* Errors of bcrypt_parse (negative, -1100 range). */
enum {
    BCRYPT_ERR_LENGTH = -1101,  /* not 60 characters */
    BCRYPT_ERR_VARIANT = -1102, /* not $2a$, $2b$ or $2y$ */
    BCRYPT_ERR_COST = -1103,    /* cost not two digits in 04..31 */
    BCRYPT_ERR_BASE64 = -1104   /* salt or digest outside bcrypt's base64 alphabet */
};

/* A parsed hash. Plain data; not a secret by itself, but never log it. */
struct bcrypt_hash {
    char variant; /* 'a', 'b' or 'y' */
    uint8_t cost;
    uint8_t salt[BCRYPT_SALT_LEN];
    uint8_t digest[BCRYPT_DIGEST_LEN];
};

/* Parses s[0..n). Returns 0 or a BCRYPT_ERR_*. */
int bcrypt_parse(const char *s, size_t n, struct bcrypt_hash *out);

/* The digest of pw[0..n) with cost and salt (bytes after the first BCRYPT_KEY_MAX do not
 * count). Costs 2^cost rounds: a cost outside 4..31 is treated as 4 or 31. */
void bcrypt_digest(const void *pw, size_t n, unsigned cost, const uint8_t salt[BCRYPT_SALT_LEN],
                   uint8_t out[BCRYPT_DIGEST_LEN]);

/* 1 when pw[0..n) matches h, else 0. The final comparison takes the same time
 * whatever the digests hold; the work before it depends only on h's cost. */
int bcrypt_verify(const struct bcrypt_hash *h, const void *pw, size_t n);

/* Writes h in the 60-character format plus a NUL into out. */
void bcrypt_format(const struct bcrypt_hash *h, char out[BCRYPT_HASH_LEN + 1]);

/* Equality of a[0..n) and b[0..n) in time that depends only on n. */
int bcrypt_ct_equal(const void *a, const void *b, size_t n);

const char *bcrypt_strerror(int err);

#endif
