/*
 * httpc.h -- asynchronous HTTP/1.1 client: one request at a time on a keep-alive
 * connection (transport/conn + core/http1), driven by the same poll loop as the
 * WebSocket, so a slow REST server never stalls the stream.
 *
 * Use (non-blocking):
 *     httpc_init(&h, host, port, use_tls, anchors);
 *     httpc_request(&h, "POST", "/api/auth/login", hdrs, n, body, len,
 *                   resp_buf, resp_cap, now, now + 15000);
 *     loop: poll(httpc_poll_fd(&h), httpc_poll_events(&h), until httpc_deadline(&h));
 *           httpc_on_io(&h, revents, now)  -> HTTPC_DONE / HTTPC_FAILED / still busy
 *     DONE:   httpc_response(&h) gives status, headers and body (in resp_buf).
 *     FAILED: httpc_error(&h) gives stage (dns/connect/tls/http), reason, text.
 *
 * Guarantees:
 *   - one overall deadline per request, covering DNS, connect, TLS, sending and the
 *     whole response: a server dribbling one byte at a time cannot stretch it;
 *   - redirects are never followed: a 3xx is returned as the response;
 *   - the connection is reused when the response allows it (HTTP/1.1 keep-alive,
 *     framed body, no stray bytes), else closed and a new one made next time; a
 *     request on a reused connection that the server had meanwhile closed (no
 *     response byte received) is retried once on a fresh connection -- for any
 *     method: our POSTs (login, refresh) are safe to repeat;
 *   - request headers are never logged or copied into error text, so the
 *     X-Authorization value cannot leak through httpc.
 * Request header/body pointers passed to httpc_request are copied (head) or must
 * stay valid until the request ends (body). The response views stay valid until the
 * next httpc_request.
 */
#ifndef IOTPRO_TRANSPORT_HTTPC_H
#define IOTPRO_TRANSPORT_HTTPC_H

#include "core/http1.h"
#include "transport/conn.h"

typedef enum {
    HTTPC_IDLE = 0,
    HTTPC_CONNECTING,
    HTTPC_SENDING,
    HTTPC_RECEIVING,
    HTTPC_DONE,
    HTTPC_FAILED
} httpc_state;

typedef struct {
    conn c;
    http1_resp resp;
    httpc_state state;
    char host[LIM_HOST_BYTES + 1];
    unsigned port;
    int use_tls;
    const tls_anchors *anchors;
    char out[LIM_HTTP_REQUEST_HEAD];
    size_t out_len, out_off;
    const uint8_t *body;
    size_t body_len, body_off;
    uint8_t *resp_buf;
    size_t resp_cap;
    int head_request;
    int64_t deadline_ms;
    int reused; /* current request runs on a reused connection */
    int retried;
    int reusable;           /* the connection may take another request */
    size_t resp_bytes;      /* response bytes received for the current request */
    unsigned long connects; /* connections opened, for tests and metrics */
    unsigned long requests;
    conn_err err;
} httpc;

/* Sets the server; no I/O. anchors (for use_tls) must outlive h. */
void httpc_init(httpc *h, const char *host, unsigned port, int use_tls, const tls_anchors *anchors);

/*
 * Starts a request. path must start with '/'; headers must not include Host or
 * Content-Length (added). Response body goes into resp_buf[0..resp_cap); a larger one
 * fails the request (reason NET_R_LIMIT). Returns 0, or -1 when the request cannot be
 * written (bad characters, head over LIM_HTTP_REQUEST_HEAD, another request running);
 * then the state is HTTPC_FAILED.
 */
int httpc_request(httpc *h, const char *method, const char *path, const http1_header *headers,
                  size_t nheaders, const void *body, size_t body_len, uint8_t *resp_buf,
                  size_t resp_cap, int64_t now_ms, int64_t deadline_ms);

int httpc_poll_fd(const httpc *h);
short httpc_poll_events(const httpc *h);
int64_t httpc_deadline(const httpc *h); /* call httpc_on_io by then even without events */
/* 1 when httpc_on_io can progress without poll reporting anything (response bytes
 * already decrypted in the TLS engine: see conn_pending). Poll with a zero timeout. */
int httpc_pending(const httpc *h);

/* Advances the request; call after poll (revents 0 on timeout). */
httpc_state httpc_on_io(httpc *h, short revents, int64_t now_ms);
httpc_state httpc_state_of(const httpc *h);

/* The parsed response (valid in HTTPC_DONE). */
const http1_resp *httpc_response(const httpc *h);
/* Why the request failed (valid in HTTPC_FAILED). */
const conn_err *httpc_error(const httpc *h);

/* Closes the connection (close_notify); the next request reconnects. */
void httpc_close(httpc *h);

/* Blocking convenience for tools and tests: runs its own poll loop until the request
 * ends. Returns 0 (HTTPC_DONE) or -1 (HTTPC_FAILED). */
int httpc_do(httpc *h, const char *method, const char *path, const http1_header *headers,
             size_t nheaders, const void *body, size_t body_len, uint8_t *resp_buf, size_t resp_cap,
             int timeout_ms);

#endif
