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
 *         credentials (only for the real certificate) or NULL with a message.
 */
#include "transport/tls_server.h"

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
static struct webcfg WC;
static tls_creds *CREDS;

static void setup(void)
{
    char err[256];
    if (CREDS)
        return;
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
        /* only the real certificate matches the key: its first base64 line is there */
        if (!memmem(d, n, CERT + 28, 40))
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
