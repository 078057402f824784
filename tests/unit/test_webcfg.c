/*
 * test_webcfg.c -- core/webcfg: every field of the web configuration file, the YAML
 * forms it reads, and every error (with the line it names).
 */
#include "core/webcfg.h"

#include "tests/harness.h"

#include <stdlib.h>

#define H_ALICE "$2y$04$ClwBEODqZCdqKGiu.YDA6OT0mRZO2NBJt.h4PnRH8A2drz7ijcYL6" /* "x" */
#define H_BOB   "$2b$05$N6BEbUfjBtz.J03xNfHQm.BoyvJBFlikWtWrWN.e4Wigd15xqVbfa" /* "pass" */

static struct webcfg *parse(const char *text, int want_rc, char *err, size_t cap)
{
    static struct webcfg c;
    int rc = webcfg_parse(&c, text, strlen(text), err, cap);
    CHECK_INT(rc, want_rc);
    if (rc != want_rc)
        printf("#   error text: %s\n", err);
    return &c;
}

static void test_full_file(void)
{
    char err[256];
    const char *text = "---\n"
                       "# the exporter's web config\n"
                       "tls_server_config:\n"
                       "  cert_file: /etc/iotpro/server.pem   # leaf + chain\n"
                       "  key_file: '/etc/iotpro/server key.pem'\n"
                       "  client_auth_type: \"RequireAndVerifyClientCert\"\n"
                       "  client_ca_file: /etc/iotpro/clients.pem\n"
                       "  min_version: TLS12\n"
                       "  max_version: TLS13\n"
                       "  prefer_server_cipher_suites: false\n"
                       "  cipher_suites:\n"
                       "  - TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256\n"
                       "  - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\n"
                       "\n"
                       "http_server_config:\n"
                       "    http2: false\n"
                       "    headers:\n"
                       "      X-Frame-Options: deny\n"
                       "      Strict-Transport-Security: max-age=31536000\n"
                       "      Content-Security-Policy: \"default-src 'none'\"\n"
                       "      X-Content-Type-Options: nosniff\n"
                       "      X-XSS-Protection: 1; mode=block\n"
                       "basic_auth_users:\n"
                       " alice: " H_ALICE "\n"
                       " \"bob smith\": '" H_BOB "'\n";
    struct webcfg *c = parse(text, 0, err, sizeof err);
    CHECK_INT(c->tls, 1);
    CHECK_STR(c->cert_file, "/etc/iotpro/server.pem");
    CHECK_STR(c->key_file, "/etc/iotpro/server key.pem");
    CHECK_STR(c->client_ca_file, "/etc/iotpro/clients.pem");
    CHECK_INT(c->client_auth, WEBCFG_REQUIRE_AND_VERIFY);
    CHECK_INT(c->prefer_server_suites, 0);
    CHECK_INT(c->nsuites, 2);
    CHECK_INT(c->suites[0], WEBCFG_ECDHE_RSA_CHACHA20);
    CHECK_INT(c->suites[1], WEBCFG_ECDHE_ECDSA_AES256_GCM);
    CHECK_STR(c->headers[WEBCFG_H_FRAME_OPTIONS], "deny");
    CHECK_STR(c->headers[WEBCFG_H_HSTS], "max-age=31536000");
    CHECK_STR(c->headers[WEBCFG_H_CSP], "default-src 'none'");
    CHECK_STR(c->headers[WEBCFG_H_CONTENT_TYPE_OPTIONS], "nosniff");
    CHECK_STR(c->headers[WEBCFG_H_XSS_PROTECTION], "1; mode=block");
    CHECK_INT(c->nusers, 2);
    const struct webcfg_user *u = webcfg_find_user(c, "bob smith", 9);
    CHECK(u != NULL);
    if (u)
        CHECK_INT(bcrypt_verify(&u->hash, "pass", 4), 1);
    u = webcfg_find_user(c, "alice", 5);
    CHECK(u != NULL);
    if (u)
        CHECK_INT(bcrypt_verify(&u->hash, "x", 1), 1);
    CHECK(webcfg_find_user(c, "alic", 4) == NULL);
    CHECK(webcfg_find_user(c, "mallory", 7) == NULL);
}

static void test_defaults_and_forms(void)
{
    char err[256];
    struct webcfg *c = parse("", 0, err, sizeof err);
    CHECK_INT(c->tls, 0);
    CHECK_INT(c->nusers, 0);
    CHECK_INT(c->nsuites, WEBCFG_SUITE__COUNT);
    CHECK_INT(c->prefer_server_suites, 1);
    CHECK_STR(c->headers[WEBCFG_H_CSP], "");
    /* only users; CRLF line ends; an empty section */
    c = parse("basic_auth_users:\r\n  u: " H_ALICE "\r\nhttp_server_config:\r\n", 0, err,
              sizeof err);
    CHECK_INT(c->tls, 0);
    CHECK_INT(c->nusers, 1);
    /* flow list, deeper block list, Go's names */
    c = parse(
        "tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: "
        "[TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384']\n",
        0, err, sizeof err);
    CHECK_INT(c->nsuites, 2);
    CHECK_INT(c->suites[1], WEBCFG_ECDHE_RSA_AES256_GCM);
    c = parse(
        "tls_server_config:\n  cipher_suites:\n    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n"
        "  cert_file: a\n  key_file: b\n  client_auth_type: NoClientCert\n  min_version: TLS10\n",
        0, err, sizeof err);
    CHECK_INT(c->nsuites, 1);
    CHECK_INT(c->client_auth, WEBCFG_NO_CLIENT_CERT);
    CHECK_STR(webcfg_suite_name(WEBCFG_ECDHE_RSA_CHACHA20),
              "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
    CHECK_STR(webcfg_header_name(WEBCFG_H_HSTS), "Strict-Transport-Security");
    /* a value with '#' that is not a comment */
    c = parse("http_server_config:\n  headers:\n    Content-Security-Policy: a#b\n", 0, err,
              sizeof err);
    CHECK_STR(c->headers[WEBCFG_H_CSP], "a#b");
}

static void test_errors(void)
{
    static const struct {
        const char *text;
        const char *want;
    } rows[] = {
        { "foo: 1\n", "line 1: unknown field \"foo\"" },
        { "tls_server_config:\n  cert_file: a\n  key_file: b\n  bogus: 1\n",
          "line 4: unknown field \"bogus\" in tls_server_config" },
        { "http_server_config:\n  http3: true\n",
          "line 2: unknown field \"http3\" in http_server_config" },
        { "http_server_config:\n  http2: yes\n", "line 2: http2: must be true or false" },
        { "http_server_config:\n  headers:\n    Server: x\n",
          "line 3: header \"Server\" cannot be configured" },
        { "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
          "line 3: X-Frame-Options: must be deny or sameorigin" },
        { "http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n",
          "line 3: X-Content-Type-Options: must be nosniff" },
        { "http_server_config:\n  headers:\n    X-Frame-Options: deny\n    X-Frame-Options: deny\n",
          "line 4: header X-Frame-Options given twice (also on line 3)" },
        { "http_server_config:\n  headers: x\n", "line 2: headers: must be a mapping" },
        { "tls_server_config:\n  cert_file: a\n", "tls_server_config: key_file is missing" },
        { "tls_server_config:\n  key_file: a\n", "tls_server_config: cert_file is missing" },
        { "tls_server_config:\n  min_version: TLS12\n",
          "TLS settings without cert_file and key_file" },
        { "tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n",
          "line 4: min_version: TLS13 is not available" },
        { "tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: SSL3\n",
          "line 4: min_version: unknown version" },
        { "tls_server_config:\n  cert_file: a\n  key_file: b\n  max_version: TLS11\n",
          "line 4: max_version: TLS11 is below TLS12" },
        { "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAnyClientCert\n",
          "line 4: client_auth_type: RequireAnyClientCert is not supported" },
        { "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Maybe\n",
          "line 4: client_auth_type: unknown policy" },
        { "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n",
          "RequireAndVerifyClientCert needs client_ca_file" },
        { "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n",
          "client_ca_file is set but client_auth_type is not" },
        { "tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_RSA_WITH_AES_128_GCM_SHA256]\n",
          "line 4: cipher_suites: TLS_RSA_WITH_AES_128_GCM_SHA256 is not offered" },
        { "tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites:\n  - NOPE\n",
          "line 5: cipher_suites: unknown suite \"NOPE\"" },
        { "tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: []\n",
          "line 4: cipher_suites: the list is empty" },
        { "tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305]\n",
          "line 4: cipher_suites: TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305 is not offered" },
        { "tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites:\n",
          "cipher_suites: the list is empty" },
        { "tls_server_config:\n  cipher_suites:\n  cert_file: a\n",
          "line 3: cipher_suites: the list is empty" },
        { "tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n",
          "line 4: cipher_suites: must be a list" },
        { "tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n",
          "line 4: cipher_suites: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 listed twice" },
        { "tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n",
          "line 4: cipher_suites: unterminated [ list" },
        { "tls_server_config:\n  cert_file: a\n  key_file: b\n  prefer_server_cipher_suites: 1\n",
          "line 4: prefer_server_cipher_suites: must be true or false" },
        { "tls_server_config:\n  cert: |\n",
          "line 2: cert: inline PEM is not supported; use cert_file" },
        { "tls_server_config:\n  client_allowed_sans: [a]\n",
          "line 2: tls_server_config.client_allowed_sans is not supported" },
        { "tls_server_config:\n  curve_preferences: [X25519]\n",
          "line 2: tls_server_config.curve_preferences is not supported" },
        { "tls_server_config:\n  cert_file: a\n  cert_file: b\n",
          "line 3: cert_file given twice (also on line 2)" },
        { "tls_server_config:\n  cert_file: a\n   key_file: b\n",
          "line 3: inconsistent indentation" },
        { "tls_server_config:\n\tcert_file: a\n", "line 2: tab in the indentation" },
        { "tls_server_config: x\n", "line 1: tls_server_config: must be a mapping" },
        { "tls_server_config:\ntls_server_config:\n",
          "line 2: tls_server_config given twice (also on line 1)" },
        { "rate_limit:\n  burst: 1\n", "line 1: rate_limit is not supported" },
        { "  cert_file: a\n", "line 1: indented line outside any section" },
        { "- a\n", "line 1: unexpected list item" },
        { "tls_server_config:\n  cert_file 'a'\n", "line 2: expected \"key: value\"" },
        { "tls_server_config:\n  cert_file: 'a\n",
          "line 2: cert_file: unterminated quoted string" },
        { "tls_server_config:\n  cert_file: 'a' b\n",
          "line 2: cert_file: text after the closing quote" },
        { "tls_server_config:\n  cert_file: \"a\\tb\"\n",
          "line 2: cert_file: only \\\" and \\\\ escapes" },
        { "tls_server_config:\n  cert_file: &anchor a\n",
          "line 2: cert_file: this YAML form ('&')" },
        { "tls_server_config:\n  cert_file: {a: b}\n", "line 2: cert_file: this YAML form ('{')" },
        { "basic_auth_users:\n  '': " H_ALICE "\n", "line 2: basic_auth_users: empty user name" },
        { "basic_auth_users:\n  a:b: " H_ALICE "\n",
          "line 2: basic_auth_users: user name \"a:b\" contains ':'" },
        { "basic_auth_users:\n  u:\n",
          "line 2: basic_auth_users: user \"u\" has no password hash" },
        { "basic_auth_users:\n  u: secret\n",
          "line 2: basic_auth_users: user \"u\": not a bcrypt hash (must be 60 characters)" },
        { "basic_auth_users:\n  u: $2x$04$ClwBEODqZCdqKGiu.YDA6OT0mRZO2NBJt.h4PnRH8A2drz7ijcYL6\n",
          "must start with $2a$, $2b$ or $2y$" },
        { "basic_auth_users:\n  u: $2y$04$Clw~EODqZCdqKGiu.YDA6OT0mRZO2NBJt.h4PnRH8A2drz7ijcYL6\n",
          "outside ./A-Za-z0-9" },
        { "basic_auth_users:\n  u: $2y$15$ClwBEODqZCdqKGiu.YDA6OT0mRZO2NBJt.h4PnRH8A2drz7ijcYL6\n",
          "bcrypt cost 15 is above 14" },
        { "basic_auth_users:\n  u: " H_ALICE "\n  u: " H_BOB "\n",
          "line 3: basic_auth_users: user \"u\" given twice" },
        { "basic_auth_users:\n  u: " H_ALICE "\n---\n", "line 3: only one YAML document" },
        { "basic_auth_users:\n  u: a\0b\n", "line 2: contains a NUL byte" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char err[512] = "";
        struct webcfg c;
        /* row with an embedded NUL: its length is the literal's */
        size_t n = strlen(rows[i].text);
        if (strstr(rows[i].want, "NUL"))
            n = sizeof "basic_auth_users:\n  u: a\0b\n" - 1;
        CHECK_CTX("row %zu", i);
        CHECK_INT(webcfg_parse(&c, rows[i].text, n, err, sizeof err), -1);
        if (!strstr(err, rows[i].want))
            harness_fail(__FILE__, __LINE__, "error \"%s\" does not contain \"%s\"", err,
                         rows[i].want);
        CHECK(strstr(err, "ClwBEODqZCdqKGiu") == NULL); /* a hash is never quoted */
    }
    CHECK_CTX("%s", "");
}

static void test_limits(void)
{
    /* 33 users; a 200-byte user name; a 5000-byte line */
    static char big[64 * 1024];
    char err[256];
    struct webcfg c;
    size_t o = (size_t)snprintf(big, sizeof big, "basic_auth_users:\n");
    for (int i = 0; i <= (int)WEBCFG_MAX_USERS; i++)
        o += (size_t)snprintf(big + o, sizeof big - o, "  u%d: %s\n", i, H_ALICE);
    CHECK_INT(webcfg_parse(&c, big, o, err, sizeof err), -1);
    CHECK(strstr(err, "line 34: basic_auth_users: more than 32 users") != NULL);
    o = (size_t)snprintf(big, sizeof big, "basic_auth_users:\n  ");
    memset(big + o, 'a', 200);
    o += 200;
    o += (size_t)snprintf(big + o, sizeof big - o, ": %s\n", H_ALICE);
    CHECK_INT(webcfg_parse(&c, big, o, err, sizeof err), -1);
    CHECK(strstr(err, "line 2: key: longer than") != NULL);
    o = (size_t)snprintf(big, sizeof big, "# ");
    memset(big + o, 'a', 5000);
    o += 5000;
    CHECK_INT(webcfg_parse(&c, big, o, err, sizeof err), -1);
    CHECK(strstr(err, "line 1: longer than 4096 bytes") != NULL);
    /* a tiny error buffer is still terminated */
    char tiny[8];
    CHECK_INT(webcfg_parse(&c, "foo: 1\n", 7, tiny, sizeof tiny), -1);
    CHECK_INT((int)strlen(tiny), 7);
}

int main(void)
{
    RUN(test_full_file);
    RUN(test_defaults_and_forms);
    RUN(test_errors);
    RUN(test_limits);
    return harness_done();
}
