/*
 * http1.h -- HTTP/1.1 request writer and incremental response parser (sans-IO).
 *
 * The REST side of the exporter (login, token refresh, asset discovery) speaks plain
 * HTTP/1.1 over transport/conn. This module only turns arguments into request bytes
 * and response bytes into a status, header views and a body; it never touches a
 * socket, the clock or the heap, so it is unit-tested and fuzzed in isolation.
 *
 * Errors: every function returns a negative HTTP1_ERR_* on failure (see
 * http1_strerror); the parser's error is sticky: once failed, every later push returns
 * the same error and the response must be discarded along with its connection.
 */
#ifndef IOTPRO_CORE_HTTP1_H
#define IOTPRO_CORE_HTTP1_H

#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

enum {
    HTTP1_ERR_SPACE = -501,           /* writer: output buffer too small */
    HTTP1_ERR_BAD_INPUT = -502,       /* writer: CR, LF, NUL or bad char in method/path/header */
    HTTP1_ERR_STATUS_LINE = -503,     /* response: malformed status line */
    HTTP1_ERR_VERSION = -504,         /* response: not HTTP/1.0 or HTTP/1.1 */
    HTTP1_ERR_HEADER = -505,          /* response: malformed header line (incl. obs-fold) */
    HTTP1_ERR_HEADER_SIZE = -506,     /* response: status line + headers over the byte limit */
    HTTP1_ERR_HEADER_COUNT = -507,    /* response: more than LIM_HTTP_HEADERS headers */
    HTTP1_ERR_CONTENT_LENGTH = -508,  /* invalid, overflowing or conflicting Content-Length */
    HTTP1_ERR_TRANSFER_CODING = -509, /* a transfer coding other than "chunked" */
    HTTP1_ERR_CHUNK_SIZE = -510,      /* bad hex size, overflow, or size line too long */
    HTTP1_ERR_CHUNK_SYNTAX = -511,    /* missing CRLF after chunk data, bad trailer */
    HTTP1_ERR_BODY_SIZE = -512,       /* body larger than the caller's body capacity */
    HTTP1_ERR_TRUNCATED = -513,       /* http1_resp_eof before the response was complete */
    HTTP1_ERR_INTERIM = -514,         /* more than LIM_HTTP_INTERIM 1xx responses */
};

/* Human-readable text for an HTTP1_ERR_* (static string; "unknown" otherwise). */
const char *http1_strerror(int err);

/* A view into a buffer owned by someone else; not NUL-terminated. */
typedef struct {
    const char *p;
    size_t len;
} http1_view;

/* One request header. Both strings are NUL-terminated and owned by the caller. */
typedef struct {
    const char *name;
    const char *value;
} http1_header;

/*
 * Writes "METHOD path HTTP/1.1", "Host: host[:port]", the given headers and, when
 * body_len > 0 or the method is POST/PUT/PATCH, "Content-Length: body_len", then the
 * empty line, into out[0..cap). The body itself is not written (send it after).
 * port 0, 80 and 443 are omitted from Host. Returns the number of bytes written
 * (no NUL added), HTTP1_ERR_SPACE, or HTTP1_ERR_BAD_INPUT when any string contains
 * a byte that could split the request (CR, LF, NUL, other controls; spaces in path or
 * method; non-token header names). Nothing is ever truncated silently.
 */
int http1_write_request(char *out, size_t cap, const char *method, const char *host, unsigned port,
                        const char *path, const http1_header *headers, size_t nheaders,
                        size_t body_len);

typedef enum {
    HTTP1_S_STATUS = 0,  /* reading the status line and headers */
    HTTP1_S_BODY_LENGTH, /* reading a Content-Length body */
    HTTP1_S_BODY_CLOSE,  /* reading a body delimited by connection close */
    HTTP1_S_CHUNK_SIZE,  /* reading a chunk-size line */
    HTTP1_S_CHUNK_DATA,  /* reading chunk data */
    HTTP1_S_CHUNK_CRLF,  /* reading the CRLF after chunk data */
    HTTP1_S_TRAILERS,    /* reading trailer lines after the last chunk */
    HTTP1_S_DONE,        /* complete response; see http1_resp_* getters */
    HTTP1_S_FAILED       /* sticky error; see http1_resp_last_error */
} http1_state;

/*
 * Response parser context. Large (~18 KiB: the header block is kept inside so header
 * views stay valid); embed it in a longer-lived struct, not on a small stack.
 * All fields are private; use the functions below.
 */
typedef struct {
    http1_state state;
    int err;
    int head_request; /* response to HEAD: no body whatever the headers say */
    int status;
    int minor; /* HTTP/1.<minor> */
    int keep_alive;
    int interim; /* 1xx responses skipped */
    char head[LIM_HTTP_HEADER_BYTES];
    size_t head_len;
    size_t line_start; /* offset of the current header line in head */
    size_t nheaders;
    http1_view names[LIM_HTTP_HEADERS];
    http1_view values[LIM_HTTP_HEADERS];
    uint64_t remaining; /* Content-Length or chunk bytes left */
    char line[LIM_HTTP_CHUNK_LINE];
    size_t line_len;
    int crlf_seen_cr;
    uint8_t *body;
    size_t body_cap;
    size_t body_len;
} http1_resp;

/*
 * Starts parsing one response. body[0..body_cap) receives the body (de-chunked);
 * a response whose body would exceed body_cap fails with HTTP1_ERR_BODY_SIZE (as soon
 * as a Content-Length announces it, before any body byte). body may be NULL when
 * body_cap is 0 (then only empty bodies are accepted). head_request: the request was
 * HEAD, so no body follows. The body buffer is owned by the caller and must outlive
 * the parser's use of it.
 */
void http1_resp_init(http1_resp *r, uint8_t *body, size_t body_cap, int head_request);

/*
 * Feeds received bytes. Returns how many were consumed (0..len) or a negative
 * HTTP1_ERR_*. Consumption stops at the end of the response (state DONE): any bytes
 * left over belong to no request we made, so the caller must not reuse the connection
 * when the return value is < len. Pushing into a DONE parser consumes nothing.
 */
long http1_resp_push(http1_resp *r, const uint8_t *in, size_t len);

/*
 * The peer closed the connection. Completes a body delimited by close (returns 0,
 * state DONE); otherwise a response in progress fails with HTTP1_ERR_TRUNCATED.
 * In DONE or FAILED state it changes nothing and returns 0 / the sticky error.
 */
int http1_resp_eof(http1_resp *r);

http1_state http1_resp_state(const http1_resp *r);
int http1_resp_last_error(const http1_resp *r); /* 0 or HTTP1_ERR_* */
int http1_resp_status(const http1_resp *r);     /* 100..599 once headers are in */
/* 1 when the connection may carry another request after this (DONE) response:
 * HTTP/1.1 without "Connection: close", or HTTP/1.0 with "keep-alive", and a body
 * delimited by length or chunking. */
int http1_resp_keep_alive(const http1_resp *r);
size_t http1_resp_body_len(const http1_resp *r);
size_t http1_resp_header_count(const http1_resp *r);

/* Header i (0-based, in arrival order); returns 0 when i is out of range. Views point
 * into the parser and stay valid until http1_resp_init is called on it again. */
int http1_resp_header_at(const http1_resp *r, size_t i, http1_view *name, http1_view *value);

/* First header whose name equals `name` case-insensitively; 1 found, 0 not. */
int http1_resp_header(const http1_resp *r, const char *name, http1_view *value);

#endif
