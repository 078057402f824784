/*
 * test_websec.c -- exporter/websec: loading the web config file, and basic auth with
 * its cache (hits, bcrypt counts, nothing cached for failures, the 64-entry bound).
 */
#include "exporter/websec.h"

#include "core/b64.h"
#include "tests/harness.h"

#include <stdlib.h>
#include <unistd.h>

#define H_X   "$2y$04$ClwBEODqZCdqKGiu.YDA6OT0mRZO2NBJt.h4PnRH8A2drz7ijcYL6" /* "x" */
#define H_A80 "$2a$04$x4idTgCQtC80bjknCdA0k.mOBCfBSEW6Kbf5SLD4pckGCNF7lH7JO" /* 80 'a' */
#define A80   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static char path[64];

static struct websec *load(const char *text, char *err, size_t cap)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return websec_load(path, err, cap);
}

/* "Basic base64(user:pw)" */
static const char *basic(const char *user, const char *pw)
{
    static char hdr[512];
    char raw[300];
    int n = snprintf(raw, sizeof raw, "%s:%s", user, pw);
    strcpy(hdr, "Basic ");
    b64_encode((const uint8_t *)raw, (size_t)n, hdr + 6, sizeof hdr - 6);
    return hdr;
}

static void stats(struct websec *s, unsigned long *h, unsigned long *b)
{
    websec_cache_stats(s, h, b);
}

static void test_no_file(void)
{
    char err[256];
    struct websec *s = websec_load(NULL, err, sizeof err);
    CHECK(s != NULL);
    CHECK_INT(websec_check(s, NULL), 1); /* no users: open */
    CHECK(websec_creds(s) == NULL);
    websec_unref(s);
    s = websec_load("/nonexistent/web.yml", err, sizeof err);
    CHECK(s == NULL);
    CHECK(strstr(err, "--web.config.file /nonexistent/web.yml: No such file") != NULL);
    s = load("basic_auth_users:\n  u: nothash\n", err, sizeof err);
    CHECK(s == NULL);
    CHECK(strstr(err, "line 2: basic_auth_users: user \"u\": not a bcrypt hash") != NULL);
    CHECK(strstr(err, path) != NULL);
    s = load("tls_server_config:\n  cert_file: /nonexistent.pem\n  key_file: /k\n", err,
             sizeof err);
    CHECK(s == NULL);
    CHECK(strstr(err, "cert_file /nonexistent.pem: No such file") != NULL);
}

static void test_auth_and_cache(void)
{
    char err[256];
    unsigned long h, b;
    struct websec *s =
        load("basic_auth_users:\n  prom: " H_X "\n  long: " H_A80 "\n", err, sizeof err);
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK_INT(websec_check(s, NULL), 0);
    CHECK_INT(websec_check(s, "Bearer abc"), 0);
    CHECK_INT(websec_check(s, "Basic !!!"), 0);
    CHECK_INT(websec_check(s, "Basic cHJvbQ=="), 0); /* "prom", no colon */
    stats(s, &h, &b);
    CHECK_INT((int)b, 0); /* malformed or missing: refused without a bcrypt */

    CHECK_INT(websec_check(s, basic("prom", "x")), 1);
    stats(s, &h, &b);
    CHECK_INT((int)h, 0);
    CHECK_INT((int)b, 1);
    CHECK_INT(websec_check(s, basic("prom", "x")), 1);
    char lower[512];
    snprintf(lower, sizeof lower, "basic  %s", basic("prom", "x") + 6); /* scheme any case */
    CHECK_INT(websec_check(s, lower), 1);
    stats(s, &h, &b);
    CHECK_INT((int)h, 2); /* served from the cache */
    CHECK_INT((int)b, 1);

    /* failures are never cached: each costs a bcrypt, an unknown user too */
    CHECK_INT(websec_check(s, basic("prom", "y")), 0);
    CHECK_INT(websec_check(s, basic("prom", "y")), 0);
    CHECK_INT(websec_check(s, basic("nobody", "x")), 0);
    CHECK_INT(websec_check(s, basic("", "x")), 0);
    CHECK_INT(websec_check(s, basic("Prom", "x")), 0);
    stats(s, &h, &b);
    CHECK_INT((int)b, 6);
    CHECK_INT((int)h, 2);
    /* the cache is per (user, password): the right password of another user is not it */
    CHECK_INT(websec_check(s, basic("long", "x")), 0);

    /* bound: 70 distinct passwords that all verify (bcrypt reads 72 bytes) fill the
     * 64 entries; the oldest is then gone, a recent one still there */
    stats(s, &h, &b);
    unsigned long b0 = b, h0 = h;
    char pw[100];
    for (int i = 0; i < 70; i++) {
        snprintf(pw, sizeof pw, A80 "%d", i);
        CHECK_INT(websec_check(s, basic("long", pw)), 1);
    }
    stats(s, &h, &b);
    CHECK_INT((int)(b - b0), 70);
    snprintf(pw, sizeof pw, A80 "%d", 69);
    CHECK_INT(websec_check(s, basic("long", pw)), 1);
    stats(s, &h, &b);
    CHECK_INT((int)(h - h0), 1); /* the newest: a hit */
    snprintf(pw, sizeof pw, A80 "%d", 0);
    CHECK_INT(websec_check(s, basic("long", pw)), 1);
    stats(s, &h, &b);
    CHECK_INT((int)(b - b0), 71); /* the oldest was evicted: a bcrypt again */
    websec_unref(s);
}

int main(void)
{
    snprintf(path, sizeof path, "/tmp/test_websec.%d.yml", (int)getpid());
    RUN(test_no_file);
    RUN(test_auth_and_cache);
    unlink(path);
    return harness_done();
}
