/*
 * bcrypt.c -- bcrypt on Blowfish (contract in bcrypt.h).
 *
 * bcrypt is Blowfish with an expensive key schedule ("eksblowfish"): the state starts
 * as the digits of pi (bcrypt_pi.c), is keyed once with the salt mixed in, then
 * 2^cost times alternately with the password and with the salt alone; the result
 * encrypts the 24 bytes "OrpheanBeholderScryDoubt" 64 times, and the first 23 bytes
 * of that ciphertext are the digest.
 */
#include "core/bcrypt.h"

#include "core/bcrypt_int.h"
#include "core/bytes.h"

#include <string.h>

struct bf {
    uint32_t p[BCRYPT_P_WORDS];
    uint32_t s[4][256];
};

static const char bc_alpha[] = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static uint32_t bf_f(const struct bf *b, uint32_t x)
{
    return ((b->s[0][x >> 24] + b->s[1][(x >> 16) & 0xff]) ^ b->s[2][(x >> 8) & 0xff]) +
           b->s[3][x & 0xff];
}

static void bf_encrypt(const struct bf *b, uint32_t *xl, uint32_t *xr)
{
    uint32_t l = *xl, r = *xr;
    for (int i = 0; i < 16; i += 2) {
        l ^= b->p[i];
        r ^= bf_f(b, l);
        r ^= b->p[i + 1];
        l ^= bf_f(b, r);
    }
    *xl = r ^ b->p[17];
    *xr = l ^ b->p[16];
}

/* The next 32 bits of data[0..n), cyclically from *pos (big-endian). */
static uint32_t bf_word(const uint8_t *data, size_t n, size_t *pos)
{
    uint32_t w = 0;
    for (int i = 0; i < 4; i++) {
        w = (w << 8) | data[*pos];
        *pos = *pos + 1 == n ? 0 : *pos + 1;
    }
    return w;
}

/* Keys the state with key[0..klen); with a salt, the running block is also mixed with
 * the salt's words before each encryption (bcrypt's ExpandKey; without one it is the
 * plain Blowfish key schedule). */
static void bf_expand(struct bf *b, const uint8_t *key, size_t klen, const uint8_t *salt)
{
    size_t kp = 0, sp = 0;
    uint32_t l = 0, r = 0;
    for (int i = 0; i < BCRYPT_P_WORDS; i++)
        b->p[i] ^= bf_word(key, klen, &kp);
    for (int i = 0; i < BCRYPT_P_WORDS; i += 2) {
        if (salt) {
            l ^= bf_word(salt, BCRYPT_SALT_LEN, &sp);
            r ^= bf_word(salt, BCRYPT_SALT_LEN, &sp);
        }
        bf_encrypt(b, &l, &r);
        b->p[i] = l;
        b->p[i + 1] = r;
    }
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 256; i += 2) {
            if (salt) {
                l ^= bf_word(salt, BCRYPT_SALT_LEN, &sp);
                r ^= bf_word(salt, BCRYPT_SALT_LEN, &sp);
            }
            bf_encrypt(b, &l, &r);
            b->s[k][i] = l;
            b->s[k][i + 1] = r;
        }
}

void bcrypt_digest(const void *pw, size_t n, unsigned cost, const uint8_t salt[BCRYPT_SALT_LEN],
                   uint8_t out[BCRYPT_DIGEST_LEN])
{
    static const char magic[] = "OrpheanBeholderScryDoubt";
    struct bf b;
    uint8_t key[BCRYPT_KEY_MAX];
    uint32_t ct[6];
    /* the password and its NUL, cut at 72 bytes (a long one loses its NUL) */
    size_t klen = n < BCRYPT_KEY_MAX ? n : BCRYPT_KEY_MAX;
    if (cost < BCRYPT_COST_MIN)
        cost = BCRYPT_COST_MIN;
    if (cost > BCRYPT_COST_MAX)
        cost = BCRYPT_COST_MAX;
    if (klen)
        memcpy(key, pw, klen);
    if (klen < BCRYPT_KEY_MAX)
        key[klen++] = 0;

    memcpy(b.p, bcrypt_pi_p, sizeof b.p);
    memcpy(b.s, bcrypt_pi_s, sizeof b.s);
    bf_expand(&b, key, klen, salt);
    for (uint64_t i = 0, rounds = (uint64_t)1 << cost; i < rounds; i++) {
        bf_expand(&b, key, klen, NULL);
        bf_expand(&b, salt, BCRYPT_SALT_LEN, NULL);
    }
    for (int i = 0; i < 6; i++) {
        size_t pos = (size_t)i * 4;
        ct[i] = bf_word((const uint8_t *)magic, 24, &pos);
    }
    for (int k = 0; k < 64; k++)
        for (int i = 0; i < 6; i += 2)
            bf_encrypt(&b, &ct[i], &ct[i + 1]);
    for (int i = 0; i < BCRYPT_DIGEST_LEN; i++)
        out[i] = (uint8_t)(ct[i / 4] >> (24 - 8 * (i % 4)));
    bytes_wipe(&b, sizeof b);
    bytes_wipe(key, sizeof key);
    bytes_wipe(ct, sizeof ct);
}

int bcrypt_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a, *y = b;
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (uint8_t)(x[i] ^ y[i]);
    return d == 0;
}

int bcrypt_verify(const struct bcrypt_hash *h, const void *pw, size_t n)
{
    uint8_t got[BCRYPT_DIGEST_LEN];
    bcrypt_digest(pw, n, h->cost, h->salt, got);
    int eq = bcrypt_ct_equal(got, h->digest, sizeof got);
    bytes_wipe(got, sizeof got);
    return eq;
}

/* --- bcrypt's base64: its own alphabet, no padding --------------------------------- */

static int bc_val(char c)
{
    const char *p = c ? memchr(bc_alpha, c, 64) : NULL;
    return p ? (int)(p - bc_alpha) : -1;
}

/* Decodes exactly `bytes` bytes from the first characters of s (4 per 3 bytes, 2 or 3
 * for a last group of 1 or 2). The unused low bits of the last character are ignored,
 * as every implementation does. 0, or -1 on a character outside the alphabet. */
static int bc_decode(const char *s, uint8_t *out, size_t bytes)
{
    size_t o = 0;
    while (o < bytes) {
        int v[4] = { 0, 0, 0, 0 };
        size_t take = bytes - o >= 3 ? 4 : bytes - o + 1;
        for (size_t i = 0; i < take; i++)
            if ((v[i] = bc_val(s[i])) < 0)
                return -1;
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                     (uint32_t)v[3];
        for (size_t i = 0; i < take - 1; i++)
            out[o++] = (uint8_t)(w >> (16 - 8 * i));
        s += take;
    }
    return 0;
}

static void bc_encode(const uint8_t *in, size_t bytes, char *out)
{
    for (size_t i = 0; i < bytes; i += 3) {
        size_t k = bytes - i >= 3 ? 3 : bytes - i;
        uint32_t w = 0;
        for (size_t j = 0; j < 3; j++)
            w = w << 8 | (j < k ? in[i + j] : 0);
        for (size_t j = 0; j <= k; j++)
            *out++ = bc_alpha[(w >> (18 - 6 * j)) & 63];
    }
}

int bcrypt_parse(const char *s, size_t n, struct bcrypt_hash *out)
{
    if (n != BCRYPT_HASH_LEN)
        return BCRYPT_ERR_LENGTH;
    if (s[0] != '$' || s[1] != '2' || (s[2] != 'a' && s[2] != 'b' && s[2] != 'y') || s[3] != '$')
        return BCRYPT_ERR_VARIANT;
    if (s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9' || s[6] != '$')
        return BCRYPT_ERR_COST;
    unsigned cost = (unsigned)(s[4] - '0') * 10 + (unsigned)(s[5] - '0');
    if (cost < BCRYPT_COST_MIN || cost > BCRYPT_COST_MAX)
        return BCRYPT_ERR_COST;
    if (bc_decode(s + 7, out->salt, BCRYPT_SALT_LEN) ||
        bc_decode(s + 29, out->digest, BCRYPT_DIGEST_LEN))
        return BCRYPT_ERR_BASE64;
    out->variant = s[2];
    out->cost = (uint8_t)cost;
    return 0;
}

void bcrypt_format(const struct bcrypt_hash *h, char out[BCRYPT_HASH_LEN + 1])
{
    out[0] = '$';
    out[1] = '2';
    out[2] = h->variant;
    out[3] = '$';
    out[4] = (char)('0' + h->cost / 10);
    out[5] = (char)('0' + h->cost % 10);
    out[6] = '$';
    bc_encode(h->salt, BCRYPT_SALT_LEN, out + 7);
    bc_encode(h->digest, BCRYPT_DIGEST_LEN, out + 29);
    out[BCRYPT_HASH_LEN] = 0;
}

const char *bcrypt_strerror(int err)
{
    switch (err) {
    case 0: return "ok";
    case BCRYPT_ERR_LENGTH: return "not a bcrypt hash (must be 60 characters)";
    case BCRYPT_ERR_VARIANT: return "not a bcrypt hash (must start with $2a$, $2b$ or $2y$)";
    case BCRYPT_ERR_COST: return "bcrypt cost must be two digits between 04 and 31";
    case BCRYPT_ERR_BASE64: return "bcrypt salt or digest has a character outside ./A-Za-z0-9";
    default: return "unknown bcrypt error";
    }
}
