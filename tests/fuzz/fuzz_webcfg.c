/*
 * fuzz_webcfg.c -- the web configuration parser (core/webcfg.h) on arbitrary text.
 *
 * Oracle: the result is 0 or -1; on -1 the message is non-empty and NUL-terminated
 * inside its buffer; on 0 the struct holds what the contract promises: 1..6 distinct
 * suites, at most WEBCFG_MAX_USERS users with non-empty, ':'-free, distinct names and
 * costs within 4..WEBCFG_MAX_COST, tls set exactly when cert_file and key_file are,
 * client_ca_file exactly with RequireAndVerifyClientCert, every string terminated.
 * Parsing the same bytes twice gives the same struct.
 */
#include "core/webcfg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct webcfg A, B;

static void terminated(const char *s, size_t cap)
{
    if (!memchr(s, 0, cap))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[300], err2[300];
    memset(err, 'x', sizeof err);
    int rc = webcfg_parse(&A, (const char *)data, size, err, sizeof err);
    if (rc != 0 && rc != -1)
        abort();
    terminated(err, sizeof err);
    if (rc) {
        if (!err[0])
            abort();
    } else {
        if (A.nsuites < 1 || A.nsuites > WEBCFG_SUITE__COUNT || A.nusers > WEBCFG_MAX_USERS)
            abort();
        for (unsigned i = 0; i < A.nsuites; i++) {
            if (A.suites[i] >= WEBCFG_SUITE__COUNT)
                abort();
            for (unsigned j = 0; j < i; j++)
                if (A.suites[i] == A.suites[j])
                    abort();
        }
        for (unsigned i = 0; i < A.nusers; i++) {
            const struct webcfg_user *u = &A.users[i];
            terminated(u->name, sizeof u->name);
            if (!u->name[0] || strchr(u->name, ':') || u->hash.cost < BCRYPT_COST_MIN ||
                u->hash.cost > WEBCFG_MAX_COST)
                abort();
            if (webcfg_find_user(&A, u->name, strlen(u->name)) != u)
                abort();
        }
        terminated(A.cert_file, sizeof A.cert_file);
        terminated(A.key_file, sizeof A.key_file);
        terminated(A.client_ca_file, sizeof A.client_ca_file);
        for (unsigned h = 0; h < WEBCFG_H__COUNT; h++)
            terminated(A.headers[h], sizeof A.headers[h]);
        if (A.tls != (A.cert_file[0] && A.key_file[0]) || (!A.cert_file[0] != !A.key_file[0]))
            abort();
        if ((A.client_auth == WEBCFG_REQUIRE_AND_VERIFY) != (A.client_ca_file[0] != 0))
            abort();
    }
    int rc2 = webcfg_parse(&B, (const char *)data, size, err2, sizeof err2);
    if (rc2 != rc || (rc == 0 && memcmp(&A, &B, sizeof A)) || (rc && strcmp(err, err2)))
        abort();
    return 0;
}
