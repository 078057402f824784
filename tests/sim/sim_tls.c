/*
 * sim_tls.c -- BearSSL server side: load the certificate chain and private key from
 * PEM files (as tests/mkcerts.sh writes them) and set up one server context per
 * connection.
 *
 * Suites: ECDHE with AES-128-GCM first, and the server's order enforced, so a client
 * offering everything gets the fastest suite (flood mode depends on it: with AES-NI and
 * PCLMUL, BearSSL's GCM costs far less than the per-message work).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

#define MAX_CHAIN 8

static br_x509_certificate chain[MAX_CHAIN];
static size_t chain_len;
static br_skey_decoder_context skey; /* holds the decoded key; must stay alive */
static int key_type;

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    sim_buf b = { 0 };
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        sim_buf_put(&b, tmp, n);
    fclose(f);
    *len = b.len;
    return (unsigned char *)b.p;
}

static void pem_collect(void *ctx, const void *data, size_t len)
{
    sim_buf_put(ctx, data, len);
}

/* Calls obj(name, der, len) for every PEM object in the file. */
static int pem_each(const char *path, int (*obj)(const char *name, sim_buf *der))
{
    size_t len;
    unsigned char *text = read_all(path, &len);
    if (!text)
        return -1;
    br_pem_decoder_context pc;
    br_pem_decoder_init(&pc);
    sim_buf der = { 0 };
    char name[128] = "";
    size_t off = 0;
    int rc = 0, inobj = 0;
    /* A final newline lets the decoder see the last END line. */
    while (off <= len && rc == 0) {
        size_t n = off < len ? br_pem_decoder_push(&pc, text + off, len - off)
                             : br_pem_decoder_push(&pc, "\n", 1);
        off += off < len ? n : 1;
        switch (br_pem_decoder_event(&pc)) {
        case BR_PEM_BEGIN_OBJ:
            snprintf(name, sizeof name, "%s", br_pem_decoder_name(&pc));
            der.len = 0;
            br_pem_decoder_setdest(&pc, pem_collect, &der);
            inobj = 1;
            break;
        case BR_PEM_END_OBJ:
            if (inobj)
                rc = obj(name, &der);
            inobj = 0;
            break;
        case BR_PEM_ERROR: rc = -1; break;
        default: break;
        }
    }
    free(text);
    sim_buf_free(&der);
    return rc;
}

static int take_cert(const char *name, sim_buf *der)
{
    if (strcmp(name, "CERTIFICATE") && strcmp(name, "X509 CERTIFICATE"))
        return 0;
    if (chain_len == MAX_CHAIN)
        return -1;
    unsigned char *copy = malloc(der->len);
    memcpy(copy, der->p, der->len);
    chain[chain_len].data = copy;
    chain[chain_len].data_len = der->len;
    chain_len++;
    return 0;
}

static int key_found;
static int take_key(const char *name, sim_buf *der)
{
    if (!strstr(name, "PRIVATE KEY") || key_found)
        return 0;
    br_skey_decoder_init(&skey);
    br_skey_decoder_push(&skey, der->p, der->len);
    if (br_skey_decoder_last_error(&skey) != 0)
        return -1;
    key_type = br_skey_decoder_key_type(&skey);
    key_found = 1;
    return 0;
}

int sim_tls_load(const char *cert_file, const char *key_file)
{
    if (pem_each(cert_file, take_cert) != 0 || chain_len == 0) {
        sim_log("cannot read a certificate chain from %s", cert_file);
        return -1;
    }
    if (pem_each(key_file, take_key) != 0 || !key_found) {
        sim_log("cannot read a private key from %s", key_file);
        return -1;
    }
    return 0;
}

static const uint16_t ec_suites[] = {
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,       BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,       BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
};
static const uint16_t rsa_suites[] = {
    BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,       BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
    BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,       BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
    BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
};

void sim_tls_server_init(br_ssl_server_context *sc, unsigned char *iobuf, size_t iolen)
{
    if (key_type == BR_KEYTYPE_EC) {
        br_ssl_server_init_full_ec(sc, chain, chain_len, BR_KEYTYPE_EC,
                                   br_skey_decoder_get_ec(&skey));
        br_ssl_engine_set_suites(&sc->eng, ec_suites, sizeof ec_suites / sizeof ec_suites[0]);
    } else {
        br_ssl_server_init_full_rsa(sc, chain, chain_len, br_skey_decoder_get_rsa(&skey));
        br_ssl_engine_set_suites(&sc->eng, rsa_suites, sizeof rsa_suites / sizeof rsa_suites[0]);
    }
    br_ssl_engine_add_flags(&sc->eng, BR_OPT_ENFORCE_SERVER_PREFERENCES);
    br_ssl_engine_set_buffer(&sc->eng, iobuf, iolen, 1);
    br_ssl_server_reset(sc);
}
