/*
 * tls.h -- BearSSL client configuration: trust anchors from a PEM bundle, a TLS 1.2
 * ECDHE+AEAD-only engine with SNI and host-name checking, and readable error reasons.
 *
 * This module is the only one that drives BearSSL's engine: it builds it, moves its
 * records between a socket and its buffers (tls_pump), and hands decrypted bytes out
 * in place (tls_app_view). transport/conn decides when (poll, deadlines, errors).
 * Policy, fixed here and not configurable:
 *   - TLS 1.2 only (BearSSL has no 1.3; 1.0/1.1 are deprecated by RFC 8996);
 *   - suites ECDHE_{ECDSA,RSA} with AES-128/256-GCM first (AES-NI makes them the
 *     fastest), then ChaCha20-Poly1305; no CBC, no 3DES, no static RSA;
 *   - renegotiation refused (BR_OPT_NO_RENEGOTIATION); no session resumption;
 *   - the host name is always passed to br_ssl_client_reset, which uses it for both
 *     SNI and the certificate check: a NULL or empty name (which would silently turn
 *     both off) is refused, and so is an IP literal, because BearSSL 0.6 matches only
 *     dNSName SANs and would fail with a misleading "bad server name";
 *   - the validator takes the time from time() (BR_USE_UNIX_TIME) unless a test pins it.
 */
#ifndef IOTPRO_TRANSPORT_TLS_H
#define IOTPRO_TRANSPORT_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

#include "core/limits.h"
#include "transport/net.h"

/* ---- trust anchors ------------------------------------------------------------------ */

enum {
    TLS_ERR_FILE = -601,      /* the file cannot be opened or read (errno text in err) */
    TLS_ERR_NOT_PEM = -602,   /* not valid PEM (no object, or a PEM syntax error) */
    TLS_ERR_NO_CERTS = -603,  /* PEM, but no usable CERTIFICATE object */
    TLS_ERR_LIMIT = -604,     /* more than LIM_TLS_ANCHORS, or the pool is full */
    TLS_ERR_NO_DEFAULT = -605 /* none of the default bundle paths exists */
};

/*
 * A set of trust anchors. Large (~270 KiB): allocate it once (static or heap) and keep
 * it alive as long as any connection uses it: BearSSL keeps pointers into it.
 * Fields are read-only for callers.
 */
typedef struct {
    br_x509_trust_anchor ta[LIM_TLS_ANCHORS];
    size_t n;
    size_t skipped; /* certificates that did not decode (unsupported key...) */
    unsigned char pool[LIM_TLS_ANCHOR_POOL];
    size_t pool_len;
    char source[256]; /* the file the anchors came from */
} tls_anchors;

/* Default bundle locations, tried in order by tls_anchors_load_file(a, NULL, ...):
 * Debian/Ubuntu/Alpine, Fedora/RHEL, openSUSE, older RHEL. NULL-terminated. */
extern const char *const tls_default_ca_files[];

/*
 * Loads every CERTIFICATE in a PEM file; path NULL tries tls_default_ca_files.
 * Returns the number of anchors (>= 1) or a negative TLS_ERR_* with a message in
 * err (always NUL-terminated). Zero anchors is always an error: the caller must refuse
 * to start rather than connect without validation. Replaces any previous content.
 */
int tls_anchors_load_file(tls_anchors *a, const char *path, char *err, size_t errcap);

/* The same from memory (tests, fuzzing). Anchors are appended to those already in a
 * (call tls_anchors_clear first for a fresh set); returns the number added or < 0. */
void tls_anchors_clear(tls_anchors *a);
int tls_anchors_add_pem(tls_anchors *a, const void *pem, size_t len, char *err, size_t errcap);

/* ---- client engine ---------------------------------------------------------------- */

/* Ciphertext read from the socket ahead of the engine. BearSSL asks for a record's
 * 5-byte header, then for its body: read that way, a stream of full 16 KiB records
 * costs two or three recv() calls per record, each of which may also send a TCP
 * window update. So a body of at least TLS_DIRECT_MIN bytes is read straight into the
 * engine together with the next record's header (into this buffer), one recv() per
 * record without a copy; anything shorter reads up to TLS_READ_AHEAD bytes here and
 * is copied from here. (32 KiB of read-ahead measured no faster on the GPS feed.) */
#define TLS_READ_AHEAD (16u * 1024u)
#define TLS_DIRECT_MIN 1024u

/* One client engine with its full-duplex I/O buffer (~50 KiB) and its read-ahead
 * buffer (TLS_READ_AHEAD); embedded in a conn.
 * Fields are private by convention: use the functions below. */
typedef struct {
    br_ssl_client_context sc;
    br_x509_minimal_context xc;
    unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
    int64_t pinned_time;    /* tests: validation time in Unix seconds, or -1 */
    unsigned char peek[12]; /* the first bytes the server sent (see tls_first_bytes) */
    size_t peek_len;
    size_t ra_off, ra_len; /* unread ciphertext: ra[ra_off..ra_len) */
    unsigned char ra[TLS_READ_AHEAD];
} tls_client;

/*
 * Prepares t for a new handshake with `host` (SNI and name check) against anchors a
 * (must stay alive while t is used). Returns 0, or a BearSSL error code (>0;
 * BR_ERR_BAD_PARAM for a NULL/empty/too long host or an IP literal, BR_ERR_NO_RANDOM
 * when the OS gives no entropy). pin_time: -1 for the real clock, else Unix seconds
 * (tests only).
 */
int tls_client_start(tls_client *t, const tls_anchors *a, const char *host, int64_t pin_time);

/* ---- driving the engine (one thread; never blocks; fd is non-blocking) ------------- */

/* What the engine can do now: a bit set. */
enum {
    TLS_ST_CLOSED = 1,  /* closed or failed: tls_last_error says which (0: close_notify) */
    TLS_ST_SENDREC = 2, /* has records to send: poll for POLLOUT */
    TLS_ST_RECVREC = 4, /* wants records: poll for POLLIN */
    TLS_ST_APP_IN = 8,  /* decrypted bytes wait (tls_app_view) */
    TLS_ST_APP_OUT = 16 /* takes application bytes (tls_app_write); after the handshake */
};
unsigned tls_state(const tls_client *t);

/* The engine's sticky error: 0 (BR_ERR_OK) or a BearSSL error code. */
int tls_last_error(const tls_client *t);

/* Outcome of tls_pump. */
typedef enum {
    TLS_IO_OK = 0, /* moved what could move; the socket would block, or nothing to do */
    TLS_IO_CLOSED, /* the engine is closed (TLS_ST_CLOSED): see tls_last_error */
    TLS_IO_EOF,    /* the peer closed TCP while the engine still wanted records */
    TLS_IO_ERRNO   /* send() or recv() failed: *sys_errno, and *op is "send" or "recv" */
} tls_io;

/* Moves records both ways between fd and the engine until the socket would block or
 * neither side can move. Decrypted bytes are not touched: they wait for tls_app_view.
 * Received ciphertext the engine cannot take yet stays in the read-ahead buffer
 * (tls_read_ahead). sys_errno and op are written only for TLS_IO_ERRNO. */
tls_io tls_pump(tls_client *t, int fd, int *sys_errno, const char **op);

/* 1 when the engine wants records and ciphertext it has not taken is already read:
 * the socket will not poll readable for those bytes, so the caller must pump again
 * without waiting (transport/conn.h, conn_pending). */
int tls_read_ahead(const tls_client *t);

/* Decrypted bytes waiting in the engine, in place: *p points into the engine's
 * record buffer; returns their count (0 when none; *p is then NULL). The view stays
 * valid and unchanged until tls_app_ack (the engine reads no record while they are
 * unacknowledged, so tls_pump and tls_app_write may run in between). */
size_t tls_app_view(tls_client *t, const uint8_t **p);
/* Releases the first n bytes of the view (n <= its count). */
void tls_app_ack(tls_client *t, size_t n);

/* Copies up to len application bytes into the engine and flushes them into a record;
 * returns how many it took (0 unless TLS_ST_APP_OUT). Call tls_pump to send it. */
size_t tls_app_write(tls_client *t, const void *data, size_t len);

/* Starts the close (close_notify) and makes one non-blocking attempt to send it. */
void tls_close_notify(tls_client *t, int fd);

/* The first bytes the server sent (up to 12), kept to tell a peer that does not speak
 * TLS at all (plain HTTP on the port) from a TLS error. Returns their count. */
size_t tls_first_bytes(const tls_client *t, const unsigned char **p);

/* 1 when host is an IPv4 or IPv6 literal (refused for TLS, see above). */
int tls_host_is_ip(const char *host);

/* Readable text for a BearSSL error code: a static string, or buf filled (alerts
 * with their number and name, other codes by number). */
const char *tls_error_text(int br_err, char *buf, size_t cap);

/* Classifies a BearSSL error code (0 = clean close gives NET_R_CLOSED). pinned_time as
 * given to tls_client_start: used to tell "certificate expired" from "our clock is
 * wrong". */
net_reason tls_reason(int br_err, int64_t pinned_time);

#endif
