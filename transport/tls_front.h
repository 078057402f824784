/*
 * tls_front.h -- the HTTPS port: a TLS terminator in front of the HTTP server.
 *
 * civetweb is built without TLS. When the web config has a certificate, civetweb
 * listens on a Unix socket in a private directory (mode 0700) and this module owns
 * the public port: one accept thread, and one thread per connection that does the
 * BearSSL handshake and then relays plaintext both ways between the client and one
 * connection to civetweb's socket. A connection to us is a connection to civetweb, so
 * civetweb's limits (workers, request timeout, keep-alive, in-flight /metrics) hold
 * per TLS connection as they do per TCP connection.
 *
 * Bounds: at most max_conns connections (others are closed at accept, counted);
 * per connection a ~40 KiB engine, a 16 KiB relay buffer and a 128 KiB stack; a
 * handshake must finish within handshake_ms of the accept; a connection on which no
 * byte moves either way for idle_ms is closed.
 *
 * Credentials: tls_front_set_creds swaps them (new connections use the new ones); the
 * accept thread also checks, at most once a second, whether the files changed
 * (tls_creds_stale) and reloads them with reload(); on failure the old ones stay and
 * on_event reports it.
 *
 * Threads: start/set_creds/stop from one control thread; on_event is called on the
 * front's threads (must be thread-safe and quick).
 */
#ifndef IOTPRO_TRANSPORT_TLS_FRONT_H
#define IOTPRO_TRANSPORT_TLS_FRONT_H

#include <stddef.h>
#include <stdint.h>

#include "transport/tls_server.h"

enum tls_front_event {
    TLS_FRONT_HANDSHAKE_FAILED = 0, /* detail: the reason; peer: client address */
    TLS_FRONT_REFUSED,              /* max_conns reached */
    TLS_FRONT_RELOADED,             /* the certificate files changed and were reloaded */
    TLS_FRONT_RELOAD_FAILED,        /* they changed but do not load: detail says why */
};

struct tls_front_config {
    const char *listen;    /* "port", "ipv4:port" or "[ipv6]:port" (civetweb's form) */
    const char *backend;   /* path of civetweb's Unix socket */
    unsigned max_conns;    /* 0 = 128 */
    unsigned handshake_ms; /* 0 = 5000 */
    unsigned idle_ms;      /* 0 = 10000 */
    /* loads fresh creds from the files (the web config in force); NULL = no watching */
    tls_creds *(*reload)(void *user, char *err, size_t errcap);
    void (*on_event)(void *user, enum tls_front_event ev, const char *peer, const char *detail);
    void *user;
};

struct tls_front_stats {
    uint64_t accepted, refused, handshake_failures, reloads, reload_failures;
    unsigned active;
};

struct tls_front;

/* Binds the port and starts the accept thread. Takes its own reference to creds.
 * NULL with err filled. */
struct tls_front *tls_front_start(const struct tls_front_config *cfg, tls_creds *creds, char *err,
                                  size_t errcap);
int tls_front_port(const struct tls_front *f);
void tls_front_set_creds(struct tls_front *f, tls_creds *creds); /* takes its own reference */
void tls_front_stats(const struct tls_front *f, struct tls_front_stats *out);
/* Closes the port, ends every connection (within ~250 ms plus a handshake step) and
 * waits for the threads. */
void tls_front_stop(struct tls_front *f);

#endif
