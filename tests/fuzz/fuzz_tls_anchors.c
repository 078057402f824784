/*
 * fuzz_tls_anchors.c -- the PEM trust-anchor loader (transport/tls.h,
 * tls_anchors_add_pem) on arbitrary bytes.
 *
 * The first input byte picks a split point; the rest is fed as two appends into the
 * same anchor set, so the loader is also exercised with an object cut between calls
 * and with anchors already present. Oracle, after every call:
 *   - the result is a count >= 1 that equals the growth of a->n, or one of the
 *     documented negative TLS_ERR_* codes with a non-empty message;
 *   - err is NUL-terminated inside its buffer;
 *   - n, pool_len stay within LIM_TLS_ANCHORS / LIM_TLS_ANCHOR_POOL and never shrink;
 *   - every anchor's DN and key bytes lie inside the used part of the pool, and its
 *     key type is RSA or EC with non-empty key material.
 * Finally the whole input is loaded twice from a cleared set in one call: both loads
 * must agree (no state leaks from one load into the next).
 */
#include "transport/tls.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static tls_anchors A; /* ~270 KiB: never on the stack */
static tls_anchors B;

static int in_pool(const tls_anchors *a, const unsigned char *p, size_t n)
{
    if (n == 0)
        return 1;
    if (!p)
        return 0;
    return p >= a->pool && n <= a->pool_len && (size_t)(p - a->pool) <= a->pool_len - n;
}

static void check_set(const tls_anchors *a)
{
    if (a->n > LIM_TLS_ANCHORS || a->pool_len > LIM_TLS_ANCHOR_POOL)
        abort();
    for (size_t i = 0; i < a->n; i++) {
        const br_x509_trust_anchor *ta = &a->ta[i];
        if (!in_pool(a, ta->dn.data, ta->dn.len))
            abort();
        if ((ta->flags & ~(unsigned)BR_X509_TA_CA) != 0)
            abort();
        switch (ta->pkey.key_type) {
        case BR_KEYTYPE_RSA:
            if (ta->pkey.key.rsa.nlen == 0 || ta->pkey.key.rsa.elen == 0 ||
                !in_pool(a, ta->pkey.key.rsa.n, ta->pkey.key.rsa.nlen) ||
                !in_pool(a, ta->pkey.key.rsa.e, ta->pkey.key.rsa.elen))
                abort();
            break;
        case BR_KEYTYPE_EC:
            if (ta->pkey.key.ec.qlen == 0 || !in_pool(a, ta->pkey.key.ec.q, ta->pkey.key.ec.qlen))
                abort();
            break;
        default: abort();
        }
    }
}

/* One append with the oracle; returns the result code. */
static int add_checked(tls_anchors *a, const uint8_t *p, size_t n)
{
    char err[256];
    size_t before = a->n, pool_before = a->pool_len;
    memset(err, 'x', sizeof err);
    int rc = tls_anchors_add_pem(a, p, n, err, sizeof err);
    if (memchr(err, 0, sizeof err) == NULL)
        abort();
    if (a->n < before || a->pool_len < pool_before)
        abort();
    if (rc >= 0) {
        if (rc == 0 || (size_t)rc != a->n - before || err[0] != 0)
            abort();
    } else {
        if (rc != TLS_ERR_NOT_PEM && rc != TLS_ERR_NO_CERTS && rc != TLS_ERR_LIMIT)
            abort();
        if (err[0] == 0)
            abort();
        if (rc == TLS_ERR_NO_CERTS && a->n != before)
            abort();
    }
    check_set(a);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t rest = size - 1;
    size_t cut = rest ? (size_t)data[0] * rest / 255u : 0;
    const uint8_t *body = data + 1;

    tls_anchors_clear(&A);
    (void)add_checked(&A, body, cut);
    (void)add_checked(&A, body + cut, rest - cut);

    tls_anchors_clear(&B);
    int whole = add_checked(&B, body, rest);

    /* Determinism: the same bytes from a cleared set give the same anchors. */
    size_t n = B.n, pool = B.pool_len;
    tls_anchors_clear(&B);
    if (add_checked(&B, body, rest) != whole || B.n != n || B.pool_len != pool)
        abort();
    return 0;
}
