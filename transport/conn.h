/*
 * conn.h -- one outgoing connection (DNS + TCP + optional TLS 1.2), non-blocking,
 * driven by the caller's poll loop. The WebSocket and the REST client each own one.
 *
 * Poll-loop contract (single thread; conn never blocks, never sleeps):
 *
 *     conn_init(&c);
 *     conn_start(&c, host, port, use_tls, anchors, now, now + 10000);
 *     for (;;) {
 *         struct pollfd p = { conn_poll_fd(&c), conn_poll_events(&c), 0 };
 *         if (I have bytes conn_write did not take) p.events |= POLLOUT;
 *         poll(&p, 1, conn_pending(&c) ? 0
 *                     : ms until min(conn_deadline(&c), my own deadlines));
 *         conn_on_io(&c, p.revents, net_now_ms());   // also when poll timed out
 *         while ((n = conn_peek(&c, &in)) > 0) conn_consume(&c, use(in, n));
 *                                   // or: while ((n = conn_read(&c, buf, cap)) > 0) ...
 *         if (conn_state(&c) == CONN_FAILED || conn_state(&c) == CONN_CLOSED) break;
 *         if (conn_state(&c) == CONN_OPEN) conn_write(&c, ...);
 *     }
 *
 * Rules: always drain conn_peek/conn_read until <= 0 after conn_on_io (decrypted
 * bytes sitting in the TLS engine do not make the socket readable), and never sleep
 * while conn_pending() says bytes are already here (a conn_write may have pulled them
 * in after the last drain). Deadlines for
 * DNS, connect and the TLS handshake are enforced here (one overall deadline given to
 * conn_start); after CONN_OPEN, read/write deadlines belong to the protocol on top.
 * No application byte is ever sent before the handshake (and certificate check) has
 * completed: conn_write returns -1 unless the state is CONN_OPEN.
 */
#ifndef IOTPRO_TRANSPORT_CONN_H
#define IOTPRO_TRANSPORT_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "transport/net.h"
#include "transport/tls.h"

typedef enum {
    CONN_IDLE = 0,   /* after conn_init / conn_abort */
    CONN_RESOLVING,  /* DNS helper running (poll fd is its eventfd) */
    CONN_CONNECTING, /* TCP connect in progress to addrs[i] */
    CONN_HANDSHAKE,  /* TLS handshake running */
    CONN_OPEN,       /* application data may flow */
    CONN_CLOSED,     /* peer closed cleanly (FIN on plain TCP, close_notify on TLS), or we did */
    CONN_FAILED      /* sticky error: see conn_error */
} conn_state;

/* Which step failed; a metric label via conn_stage_name ("dns", "connect", "tls",
 * "io", "http", "websocket"). After CONN_OPEN, errors are blamed on the stage set
 * with conn_set_stage (default "io"). */
typedef enum {
    CONN_STAGE_NONE = 0,
    CONN_STAGE_DNS,
    CONN_STAGE_CONNECT,
    CONN_STAGE_TLS,
    CONN_STAGE_IO,
    CONN_STAGE_HTTP,
    CONN_STAGE_WEBSOCKET
} conn_stage;

typedef struct {
    conn_stage stage;
    net_reason reason;
    int code;       /* errno, BearSSL error code, or HTTP status; 0 if none */
    char text[384]; /* "tls: localhost:8443: certificate does not match the host name" */
} conn_err;

typedef struct {
    conn_state state;
    conn_stage open_stage;
    int fd;
    net_dns dns;
    net_addrs addrs;
    size_t ai; /* next address to try */
    int last_errno;
    char host[LIM_HOST_BYTES + 1];
    unsigned port;
    int use_tls;
    int tls_started;             /* tls holds an initialised engine */
    size_t view_len;             /* bytes handed out by conn_peek, not yet consumed */
    size_t plain_off, plain_len; /* plain TCP: unconsumed received bytes in tls.iobuf */
    const tls_anchors *anchors;
    int64_t pin_time;    /* tests only: TLS validation time, -1 = real clock */
    int64_t deadline_ms; /* overall DNS+connect+handshake deadline */
    int64_t attempt_deadline_ms;
    uint64_t bytes_in, bytes_out; /* application bytes */
    conn_err err;
    tls_client tls; /* ~40 KiB */
} conn;

const char *conn_stage_name(conn_stage s);

void conn_init(conn *c);

/*
 * Begins connecting to host:port; with use_tls, validates the server against anchors
 * (which must outlive the connection) for exactly `host`. An IP-literal host with
 * TLS is refused here (NET_R_TLS_CONFIG): BearSSL checks DNS names only, so the
 * certificate could never match. deadline_ms (same clock as now_ms, net_now_ms)
 * bounds DNS + connect + handshake together; each address gets an equal share of
 * the time left, so one black-holed address cannot use it all. Returns 0, or -1 with
 * the state CONN_FAILED. Any previous connection in c is aborted first.
 */
int conn_start(conn *c, const char *host, unsigned port, int use_tls, const tls_anchors *anchors,
               int64_t now_ms, int64_t deadline_ms);

/* Tests only: validate certificates as if the Unix time were unix_s (-1: real clock).
 * Call before conn_start. */
void conn_pin_time(conn *c, int64_t unix_s);

/* fd and events to poll (fd -1 / events 0 when there is nothing to wait for). */
int conn_poll_fd(const conn *c);
short conn_poll_events(const conn *c);
/* When conn_on_io must be called even without events (INT64_MAX when none). */
int64_t conn_deadline(const conn *c);

/*
 * 1 when the connection can make progress WITHOUT the socket becoming ready, so the
 * caller must not sleep in poll (use a zero timeout, then conn_on_io + conn_read):
 *   - decrypted application bytes (or a close_notify) wait in the TLS engine. This
 *     happens whenever the engine was pumped outside conn_on_io -- conn_write() and
 *     conn_read() move records both ways, and a record pulled in by a write empties
 *     the socket, which then never polls readable for bytes we already hold;
 *   - the TLS handshake finished (or failed) inside such a pump while the state still
 *     says CONN_HANDSHAKE: only conn_on_io moves the state on;
 *   - the engine wants records and received ciphertext waits in the read-ahead buffer
 *     (transport/tls.h): those bytes have left the socket too.
 * Plain TCP: 1 while bytes of the last recv() wait unconsumed (conn_peek keeps them in
 * the conn). Cheap; call it every turn.
 */
int conn_pending(const conn *c);

/* Advances DNS, connect, handshake and TLS record I/O. revents from poll (0 on a
 * timeout). Returns the new state. */
conn_state conn_on_io(conn *c, short revents, int64_t now_ms);

conn_state conn_state_of(const conn *c);
#define conn_state(c) conn_state_of(c)

/*
 * Received application bytes in place, without a copy: *p points at them (TLS: the
 * decrypted record inside the engine; plain TCP: one recv() into the conn's own
 * buffer). Returns their count (> 0), 0 or -1 as conn_read. The view stays valid and
 * unchanged until conn_consume, conn_peek, conn_read, conn_abort or conn_start on c;
 * conn_write and conn_on_io may run in between (the engine reads no new record while
 * decrypted bytes are unconsumed). A record is at most 16 KiB: a longer message
 * arrives over several views.
 */
long conn_peek(conn *c, const uint8_t **p);

/* Releases the first n bytes of the last conn_peek view (n <= its count; more is
 * clamped, and nothing happens after conn_abort). Counts them in bytes_in. */
void conn_consume(conn *c, size_t n);

/*
 * Up to cap received application bytes copied into buf (conn_peek + memcpy +
 * conn_consume). Returns > 0 bytes, 0 when none are
 * available now (poll again), or -1 when the stream has ended: state CONN_CLOSED for a
 * clean end (FIN / close_notify), CONN_FAILED otherwise (a TLS EOF without
 * close_notify is NET_R_TRUNCATED: an abnormal end, never a clean one). Bytes
 * decrypted before a failure are still returned before the -1.
 */
long conn_read(conn *c, void *buf, size_t cap);

/* Queues up to len bytes; returns how many were accepted (0: buffers full, wait for
 * POLLOUT), or -1 unless CONN_OPEN. */
long conn_write(conn *c, const void *data, size_t len);

/* 1 when bytes accepted by conn_write are still waiting to go out (TLS records). */
int conn_write_pending(const conn *c);

/* Blame errors after CONN_OPEN on this stage (CONN_STAGE_HTTP, _WEBSOCKET). */
void conn_set_stage(conn *c, conn_stage s);

/* Fails the connection from the protocol above (e.g. a bad HTTP response or a
 * deadline): records the error, closes the socket without close_notify. */
void conn_fail(conn *c, conn_stage s, net_reason r, int code, const char *text);

/* Clean shutdown: sends TLS close_notify (one non-blocking attempt: it is one small
 * record) and closes the socket. State becomes CONN_CLOSED unless already FAILED. */
void conn_close(conn *c);

/* Releases everything (socket, DNS slot) without any goodbye; state CONN_IDLE. */
void conn_abort(conn *c);

/* The sticky error (reason NET_R_NONE while none). Valid until the next conn_start. */
const conn_err *conn_error(const conn *c);

#endif
