/*
 * tls_server.h -- BearSSL server credentials and engines for the exporter's HTTPS
 * port (the socket side is transport/tls_front).
 *
 * Policy (fixed; the web config can only narrow the suites):
 *   - TLS 1.2 only (BearSSL has no 1.3); renegotiation refused;
 *   - ECDHE_ECDSA suites for an EC key, ECDHE_RSA for an RSA key, each with AES-GCM or
 *     ChaCha20-Poly1305; the web config's cipher_suites order (server preference by
 *     default, prefer_server_cipher_suites: false gives the client's);
 *   - client certificates: none, or required and verified against client_ca_file
 *     (RequireAndVerifyClientCert: no certificate, or an unverified one, ends the
 *     handshake).
 *
 * Credentials are immutable once loaded and reference-counted: a reload builds new
 * ones and swaps them in, while connections keep the ones they started with. Any
 * thread may call tls_creds_ref/unref; loading takes a process-wide lock (the anchor
 * loader in tls.c has one scratch area).
 */
#ifndef IOTPRO_TRANSPORT_TLS_SERVER_H
#define IOTPRO_TRANSPORT_TLS_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <bearssl.h>

#include "core/webcfg.h"

#define TLS_SERVER_CHAIN_MAX 8u             /* certificates in cert_file */
#define TLS_SERVER_PEM_MAX   (256u * 1024u) /* bytes of cert_file or key_file */

typedef struct tls_creds tls_creds;

/* Loads cert_file, key_file and client_ca_file as the web config names them, and
 * checks that the key is the certificate's, that each suite fits the key, and that
 * the CA file has a usable certificate. NULL with err naming the file and the
 * problem. The returned creds hold one reference. */
tls_creds *tls_creds_load(const struct webcfg *wc, char *err, size_t errcap);

/* The same from PEM in memory (tests, fuzzing); no client CA. */
tls_creds *tls_creds_from_pem(const void *cert, size_t cert_len, const void *key, size_t key_len,
                              const struct webcfg *wc, char *err, size_t errcap);

void tls_creds_ref(tls_creds *c);
void tls_creds_unref(tls_creds *c); /* frees on the last reference; NULL is fine */

/* Whether the files behind c changed since it was loaded (size, mtime, inode of the
 * certificate, key and client CA files); 0 for creds from memory. */
int tls_creds_stale(const tls_creds *c);

/* One server engine with its I/O buffer (~40 KiB): heap, one per connection. */
typedef struct {
    br_ssl_server_context sc;
    br_x509_minimal_context xc;
    unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
} tls_server_conn;

/* Prepares t for a handshake with c (which must outlive t's use). 0, or a BearSSL
 * error code. */
int tls_server_start(tls_server_conn *t, const tls_creds *c);

#endif
