/*
 * fuzz_tls_server.c -- the server side of the HTTPS port on arbitrary bytes
 * (transport/tls_server.h).
 *
 * The first byte picks what the rest is:
 *   even: the records a client sends. A BearSSL server engine with the test
 *         credentials below (EC P-256 key, self-signed, made with openssl for this
 *         file only) takes them in slices whose sizes come from the input, the way
 *         the front feeds it from a socket; whatever it answers is drained. Oracle:
 *         the engine never asks for more than its buffer, never reports an open
 *         application channel without a completed handshake on these inputs
 *         (they cannot hold a valid Finished), and ends either waiting for more or
 *         closed with an error code;
 *   odd:  a certificate PEM file, loaded with the valid key: the loader returns
 *         NULL with a message, or credentials only for a certificate that carries
 *         the key's public point. Other bytes of the certificate (serial, dates,
 *         names) may change and still load: nothing checks our own certificate's
 *         signature, a client does.
 */
#include "transport/tls_server.h"

#include "core/b64.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char CERT[] = "-----BEGIN CERTIFICATE-----\n"
                           "MIIBgDCCASWgAwIBAgIUa+48CUA6cNIPXo8csol+nW6W2SYwCgYIKoZIzj0EAwIw\n"
                           "FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwNjAxMjMzOFoYDzIxMjYxMTEy\n"
                           "MDEyMzM4WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO\n"
                           "PQMBBwNCAAQN4ORVtPH3m0U6j+l+NU3RrGcZH5I7XaYdI4QAdZdrsFwDTa6EWmfY\n"
                           "P+koSKZkQeLM4519m+oeVlI9gAQYz+1Go1MwUTAdBgNVHQ4EFgQUHcn1fQqUNiCe\n"
                           "hlXq5qkFnmFGTFcwHwYDVR0jBBgwFoAUHcn1fQqUNiCehlXq5qkFnmFGTFcwDwYD\n"
                           "VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAuy71JDsqpH67QtJJQ0ci\n"
                           "pustNnN50WS2uxQzols0hqACIQDtF29+7Y764dSpJ4BUsvzfSh1gUUqcY3cykgin\n"
                           "Z4Ovzg==\n"
                           "-----END CERTIFICATE-----\n";

static const char KEY[] = "-----BEGIN PRIVATE KEY-----\n"
                          "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgQfQIpFUjNfBGRcdN\n"
                          "tNU4hSy9o2KsvDID5F4lReZ8wpmhRANCAAQN4ORVtPH3m0U6j+l+NU3RrGcZH5I7\n"
                          "XaYdI4QAdZdrsFwDTa6EWmfYP+koSKZkQeLM4519m+oeVlI9gAQYz+1G\n"
                          "-----END PRIVATE KEY-----\n";

static tls_server_conn T; /* ~40 KiB: not on the stack */
static uint8_t POINT[65]; /* the key's public point, as the certificate holds it */
static struct webcfg WC;
static tls_creds *CREDS;

/* The DER of the first PEM certificate in d[0..n) (whitespace skipped), or -1. */
static long first_cert_der(const char *d, size_t n, uint8_t *out, size_t cap)
{
    static char b64[16384];
    const char *b = memmem(d, n, "-----BEGIN CERTIFICATE-----", 27), *e;
    size_t k = 0;
    if (!b || !(e = memmem(b + 27, n - (size_t)(b + 27 - d), "-----END", 8)))
        return -1;
    for (const char *p = b + 27; p < e && k < sizeof b64; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            b64[k++] = *p;
    return b64_decode(b64, k, out, cap);
}

static void setup(void)
{
    char err[256];
    static uint8_t der[4096];
    long n;
    const uint8_t *p;
    if (CREDS)
        return;
    /* BIT STRING of 66 bytes, no unused bits, uncompressed point: 03 42 00 04 */
    n = first_cert_der(CERT, strlen(CERT), der, sizeof der);
    if (n < 0 || !(p = memmem(der, (size_t)n, "\x03\x42\x00\x04", 4)) || p + 69 > der + n)
        abort();
    memcpy(POINT, p + 3, sizeof POINT);
    webcfg_parse(&WC, "", 0, err, sizeof err);
    CREDS = tls_creds_from_pem(CERT, strlen(CERT), KEY, strlen(KEY), &WC, err, sizeof err);
    if (!CREDS)
        abort(); /* the fixture itself must load */
}

static void handshake(const uint8_t *d, size_t n)
{
    if (tls_server_start(&T, CREDS) != 0)
        abort();
    br_ssl_engine_context *eng = &T.sc.eng;
    size_t step = 1;
    for (int rounds = 0; rounds < 100000; rounds++) {
        unsigned st = br_ssl_engine_current_state(eng);
        size_t len;
        unsigned char *buf;
        if (st & BR_SSL_CLOSED)
            return;
        if (st & BR_SSL_SENDAPP)
            abort(); /* an application channel from bytes that cannot finish a handshake */
        if (st & BR_SSL_SENDREC) {
            buf = br_ssl_engine_sendrec_buf(eng, &len);
            if (!buf || !len || len > sizeof T.iobuf)
                abort();
            br_ssl_engine_sendrec_ack(eng, len);
            continue;
        }
        if (st & BR_SSL_RECVAPP) {
            br_ssl_engine_recvapp_buf(eng, &len);
            br_ssl_engine_recvapp_ack(eng, len);
            continue;
        }
        if (!(st & BR_SSL_RECVREC) || n == 0)
            return; /* waits for more, like a client that went quiet */
        buf = br_ssl_engine_recvrec_buf(eng, &len);
        if (!buf || !len || len > sizeof T.iobuf)
            abort();
        /* slice sizes vary with the data: 1..256 bytes, or all that fits */
        step = d[0] & 1 ? (size_t)(d[0] >> 1) + 1 : len;
        size_t k = step < len ? step : len;
        if (k > n)
            k = n;
        memcpy(buf, d, k);
        br_ssl_engine_recvrec_ack(eng, k);
        d += k;
        n -= k;
    }
}

static void creds(const uint8_t *d, size_t n)
{
    char err[256] = "";
    tls_creds *c = tls_creds_from_pem(d, n, KEY, strlen(KEY), &WC, err, sizeof err);
    if (c) {
        /* only a certificate with the key's public point matches the key */
        static uint8_t der[16384];
        long k = first_cert_der((const char *)d, n, der, sizeof der);
        if (k >= 0 && !memmem(der, (size_t)k, POINT, sizeof POINT))
            abort();
        tls_creds_unref(c);
    } else if (!err[0] || !memchr(err, 0, sizeof err)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size < 1)
        return 0;
    if (data[0] & 1)
        creds(data + 1, size - 1);
    else
        handshake(data + 1, size - 1);
    return 0;
}
