/*
 * websec.h -- the web server's security settings from --web.config.file: TLS
 * credentials, basic-auth users (with a cache of verified passwords) and extra
 * response headers, as one immutable, reference-counted snapshot.
 *
 * A snapshot is loaded at start-up and on each SIGHUP; web.c serves every request
 * with the snapshot current when it began, so a reload never changes the rules under
 * a request in flight. Any thread may call everything here.
 *
 * Basic auth (websec_check):
 *   - no users configured: every request passes;
 *   - "Authorization: Basic base64(user:password)" with a known user and the right
 *     password passes; anything else fails (the caller answers 401);
 *   - a verified (user, password) pair is remembered for the snapshot's lifetime in a
 *     cache of WEBSEC_CACHE entries (least recently used replaced), keyed by SHA-256 of
 *     a per-process random salt, the user and the password: the cache holds neither
 *     the password nor a hash anyone else could test guesses against;
 *   - a wrong password and an unknown user cost the same: an unknown user is checked
 *     against a dummy hash of the highest cost among the users; failures are never
 *     cached, so each costs a full bcrypt. A missing header, another scheme, bad
 *     base64 or no ':' fail at once.
 */
#ifndef IOTPRO_EXPORTER_WEBSEC_H
#define IOTPRO_EXPORTER_WEBSEC_H

#include "core/webcfg.h"
#include "transport/tls_server.h"

#include <stddef.h>

#define WEBSEC_CACHE    64u
#define WEBSEC_FILE_MAX (64u * 1024u) /* bytes of the web config file */

struct websec;

/* Reads and checks the web config file (NULL or "" = no file: plain HTTP, no auth),
 * and loads the TLS credentials it names. NULL with err naming the file, the line or
 * the certificate file and the problem. The snapshot holds one reference. */
struct websec *websec_load(const char *path, char *err, size_t errcap);

void websec_ref(struct websec *s);
void websec_unref(struct websec *s); /* NULL is fine */

const struct webcfg *websec_cfg(const struct websec *s);
/* The TLS credentials (borrowed: valid while s is), or NULL for plain HTTP. */
tls_creds *websec_creds(const struct websec *s);

/* 1 when the request may proceed: no users configured, or the Authorization header
 * (NULL when absent) carries a known user and the right password. */
int websec_check(struct websec *s, const char *authorization);

/* Cache figures for tests and the benchmark: lookups answered from the cache, and
 * bcrypt computations. */
void websec_cache_stats(struct websec *s, unsigned long *hits, unsigned long *bcrypts);

#endif
