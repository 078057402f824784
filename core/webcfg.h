/*
 * webcfg.h -- the web configuration file (--web.config.file) in the format of the
 * Prometheus exporter toolkit, parsed from text into plain data.
 *
 * No I/O and no allocation: the caller reads the file and owns the struct (about
 * 8 KiB; heap or static, not a small thread's stack). Any thread may call.
 *
 * The YAML subset read: block mappings indented with spaces, block sequences ("- x",
 * at or deeper than their key) and one-line flow sequences ("[a, b]") for lists,
 * plain, 'single' and "double" quoted scalars, '#' comments, one leading "---".
 * Anchors, tags, block scalars, flow mappings and tabs are refused.
 *
 * Fields (everything else, and everything here with a value we cannot honour, is an
 * error naming the line, never ignored):
 *   tls_server_config:
 *     cert_file, key_file        both or neither (neither: plain HTTP); PEM, RSA or EC
 *     client_auth_type           NoClientCert (default) | RequireAndVerifyClientCert
 *                                (the other Go policies are refused: they let a client
 *                                in without a verified certificate)
 *     client_ca_file             required by, and only allowed with, RequireAndVerify…
 *     min_version                TLS10 | TLS11 | TLS12 (the engine speaks 1.2 only);
 *                                TLS13 is refused: BearSSL has no TLS 1.3
 *     max_version                TLS12 | TLS13 (the connection is TLS 1.2 either way)
 *     cipher_suites              Go names of TLS 1.2 ECDHE suites with AES-GCM or
 *                                ChaCha20-Poly1305 (others refused); default: all six
 *     prefer_server_cipher_suites  true (default) | false
 *   http_server_config:
 *     http2                      true | false (accepted; HTTP/2 is never offered)
 *     headers                    Content-Security-Policy, X-Frame-Options (deny |
 *                                sameorigin), X-Content-Type-Options (nosniff),
 *                                X-XSS-Protection, Strict-Transport-Security
 *   basic_auth_users:            user: bcrypt hash ($2a$, $2b$, $2y$, cost <= 14)
 *
 * Errors: webcfg_parse returns -1 and err holds "line N: <what>" (or a whole-file
 * problem without a line). Messages never quote a hash.
 */
#ifndef IOTPRO_CORE_WEBCFG_H
#define IOTPRO_CORE_WEBCFG_H

#include "core/bcrypt.h"

#include <stddef.h>
#include <stdint.h>

#define WEBCFG_PATH_BYTES   512u
#define WEBCFG_USER_BYTES   128u
#define WEBCFG_MAX_USERS    32u
#define WEBCFG_HEADER_BYTES 512u
#define WEBCFG_MAX_COST     14u /* ~1 s of one core per check; beyond, a scrape times out */

enum webcfg_client_auth { WEBCFG_NO_CLIENT_CERT = 0, WEBCFG_REQUIRE_AND_VERIFY };

/* The cipher suites we speak, in our default order of preference. */
enum webcfg_suite {
    WEBCFG_ECDHE_ECDSA_AES128_GCM = 0,
    WEBCFG_ECDHE_RSA_AES128_GCM,
    WEBCFG_ECDHE_ECDSA_AES256_GCM,
    WEBCFG_ECDHE_RSA_AES256_GCM,
    WEBCFG_ECDHE_ECDSA_CHACHA20,
    WEBCFG_ECDHE_RSA_CHACHA20,
    WEBCFG_SUITE__COUNT
};

/* The headers an operator may add (exporter toolkit's list). */
enum webcfg_header {
    WEBCFG_H_CSP = 0,
    WEBCFG_H_FRAME_OPTIONS,
    WEBCFG_H_CONTENT_TYPE_OPTIONS,
    WEBCFG_H_XSS_PROTECTION,
    WEBCFG_H_HSTS,
    WEBCFG_H__COUNT
};

struct webcfg_user {
    char name[WEBCFG_USER_BYTES];
    struct bcrypt_hash hash;
};

struct webcfg {
    int tls; /* cert_file and key_file given */
    char cert_file[WEBCFG_PATH_BYTES];
    char key_file[WEBCFG_PATH_BYTES];
    char client_ca_file[WEBCFG_PATH_BYTES];
    enum webcfg_client_auth client_auth;
    uint8_t suites[WEBCFG_SUITE__COUNT]; /* enum webcfg_suite, in preference order */
    unsigned nsuites;                    /* >= 1 after a successful parse */
    int prefer_server_suites;
    /* value of each header, "" = not set */
    char headers[WEBCFG_H__COUNT][WEBCFG_HEADER_BYTES];
    struct webcfg_user users[WEBCFG_MAX_USERS];
    unsigned nusers;
};

/* Parses text[0..n) (need not be NUL-terminated) into out (fully overwritten).
 * Returns 0, or -1 with err filled (always NUL-terminated). */
int webcfg_parse(struct webcfg *out, const char *text, size_t n, char *err, size_t errcap);

/* Go's name of a suite (e.g. "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") and a header's
 * name (e.g. "X-Frame-Options"). */
const char *webcfg_suite_name(enum webcfg_suite s);
const char *webcfg_header_name(enum webcfg_header h);

/* The user named name[0..n), or NULL. */
const struct webcfg_user *webcfg_find_user(const struct webcfg *c, const char *name, size_t n);

#endif
