/*
 * ws.h -- RFC 6455 WebSocket codec (client and server roles), no I/O.
 *
 * Shape (BearSSL engine style): the caller pushes received bytes in with ws_push(),
 * takes events out with ws_next_event(), and moves pending output to the network with
 * ws_output() / ws_output_ack(). Random bytes (Sec-WebSocket-Key, mask keys) come from
 * a caller callback. The codec never allocates, never reads a clock, never blocks.
 *
 * Ownership and memory
 * - ws_ctx is caller-allocated (embed it anywhere); its fields are private by
 *   convention: use the functions below.
 * - msgbuf (msgcap bytes) is caller-owned and must outlive the ctx. It holds the
 *   handshake header block while connecting, then the data message being reassembled.
 *   msgcap is the maximum message size: a bigger message fails the connection with 1009
 *   before any of its payload is stored. msgcap must be >= WS_MSGBUF_MIN.
 * - outbuf (outcap bytes) is caller-owned; it holds whole frames waiting to be sent, in
 *   order. It never grows: ws_send() returns WS_ERR_WOULD_BLOCK when the frame does not
 *   fit now, WS_ERR_TOO_BIG when it can never fit. Automatic pongs and closes that do not
 *   fit wait in small slots inside the ctx (at most one pong: the latest ping's, and one
 *   close), so a peer that pings while we cannot send uses bounded memory. outcap must be
 *   >= WS_OUTBUF_MIN; LIM_WS_OUT_DEFAULT holds a 30 KiB message with room to spare.
 * - Every pointer in a ws_event is a view into msgbuf, the ctx, or the input of the
 *   ws_push() that raised it, valid until the next call of ws_push(), ws_next_event(),
 *   ws_eof() or ws_init() on the same ctx. An unfragmented message from the server
 *   (unmasked) that lies whole in one push's input is handed out in place, without a
 *   copy: so the caller keeps the bytes it pushed unchanged until it has handled the
 *   events that push raised (the loop below does). Other messages are assembled in
 *   msgbuf.
 *
 * Driving it (the loop never spins: ws_push() consumes less than len only while an
 * event is pending, and consumes everything once the connection is closed or failed):
 *
 *     while (len > 0 || pending) {
 *         size_t n = ws_push(ws, p, len); p += n; len -= n;
 *         while (ws_next_event(ws, &ev) != WS_EV_NONE) handle(&ev);
 *     }
 *     while ((n = ws_output(ws, &out)) > 0) { k = send(out, n); ws_output_ack(ws, k); }
 *
 * Closing: after WS_EV_CLOSED (or WS_EV_ERROR) flush ws_output(); a client then waits
 * (with a timeout, RFC 6455 7.1.1) for the server to close TCP, a server closes TCP.
 * When the transport ends, call ws_eof(): unless the close handshake already finished
 * (or the connection already failed), that yields WS_EV_CLOSED with code 1006, unclean
 * (WS_EV_ERROR with WS_ERR_EOF during the opening handshake), after any pending event.
 *
 * Server role: the request is parsed from pushed input; a valid one queues the 101
 * response and yields WS_EV_OPEN, a bad one queues "400 Bad Request" and yields
 * WS_EV_ERROR with a WS_ERR_HS_* code. Bytes after the request or the 101 response in the
 * same push are frames and are kept (pushed again after the OPEN event is taken).
 *
 * Threading: none. One ctx is used by one thread at a time.
 */
#ifndef IOTPRO_CORE_WS_H
#define IOTPRO_CORE_WS_H

#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

/* Smallest buffers accepted by ws_init(). msgbuf also holds the handshake block. */
#define WS_MSGBUF_MIN LIM_WS_HANDSHAKE_BYTES
#define WS_OUTBUF_MIN 512u
/* Largest frame header: 2 + 8 (64-bit length) + 4 (mask). */
#define WS_FRAME_HEADER_MAX 14u

typedef enum { WS_CLIENT = 0, WS_SERVER = 1 } ws_role;

typedef enum {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA
} ws_opcode;

typedef enum {
    WS_ST_INIT = 0,  /* client: ws_client_handshake() not called yet */
    WS_ST_HANDSHAKE, /* client: request queued, reading the response; server: reading request */
    WS_ST_OPEN,      /* frames flow both ways */
    WS_ST_CLOSING,   /* we sent a close, waiting for the peer's close */
    WS_ST_CLOSED,    /* close handshake done (either side first), or transport ended */
    WS_ST_FAILED     /* sticky error; see ws_last_error() */
} ws_state_t;

/* Close status codes we use (RFC 6455 7.4.1). */
#define WS_CLOSE_NORMAL       1000u
#define WS_CLOSE_GOING_AWAY   1001u
#define WS_CLOSE_PROTOCOL     1002u
#define WS_CLOSE_UNSUPPORTED  1003u
#define WS_CLOSE_NO_STATUS    1005u /* never on the wire: peer's close had no body */
#define WS_CLOSE_ABNORMAL     1006u /* never on the wire: transport lost without a close */
#define WS_CLOSE_INVALID_DATA 1007u
#define WS_CLOSE_POLICY       1008u
#define WS_CLOSE_TOO_BIG      1009u
#define WS_CLOSE_INTERNAL     1011u

/*
 * Error codes: 0 is success, every error is negative, in the -300 range (unique across
 * the program). Protocol errors fail the connection and queue a close with the code
 * ws_error_close_code() gives (1002, 1007 or 1009); handshake errors fail it without a
 * close (there is no WebSocket connection yet; a server queues a 400 response).
 */
enum {
    WS_OK = 0,
    /* API use (not sticky; nothing is sent) */
    WS_ERR_WOULD_BLOCK = -301, /* output buffer full now; drain ws_output() and retry */
    WS_ERR_TOO_BIG = -302,     /* the frame(s) can never fit in outcap */
    WS_ERR_STATE = -303,       /* call not allowed in this state (not open, close sent...) */
    WS_ERR_ARG = -304,         /* invalid argument (bad opcode, control payload > 125...) */
    /* handshake (sticky; state FAILED; the HTTP status and reason are in the event) */
    WS_ERR_HS_TOO_LARGE = -320,  /* header block over LIM_WS_HANDSHAKE_BYTES */
    WS_ERR_HS_TOO_MANY = -321,   /* more than LIM_WS_HANDSHAKE_HEADERS header lines */
    WS_ERR_HS_MALFORMED = -322,  /* not HTTP/1.1 syntax */
    WS_ERR_HS_STATUS = -323,     /* client: status is not 101 (see http_status) */
    WS_ERR_HS_UPGRADE = -324,    /* Upgrade header missing or not "websocket" */
    WS_ERR_HS_CONNECTION = -325, /* Connection header without the "upgrade" token */
    WS_ERR_HS_ACCEPT = -326,     /* client: Sec-WebSocket-Accept missing, duplicated, wrong */
    WS_ERR_HS_EXTENSION = -327,  /* client: server chose an extension we did not offer */
    WS_ERR_HS_PROTOCOL = -328,   /* client: server chose a subprotocol we did not offer */
    WS_ERR_HS_METHOD = -329,     /* server: not "GET <path> HTTP/1.1" */
    WS_ERR_HS_VERSION = -330,    /* server: Sec-WebSocket-Version is not 13 */
    WS_ERR_HS_KEY = -331,        /* server: Sec-WebSocket-Key missing or not 16 bytes base64 */
    WS_ERR_HS_HOST = -332,       /* server: Host header missing */
    /* frames (sticky; state FAILED; a close with the given code is queued) */
    WS_ERR_RSV = -340,          /* 1002: RSV bit set, no extension negotiated */
    WS_ERR_OPCODE = -341,       /* 1002: reserved opcode */
    WS_ERR_MASK = -342,         /* 1002: client got a masked frame / server an unmasked one */
    WS_ERR_LENGTH = -343,       /* 1002: non-minimal length encoding, or 64-bit top bit set */
    WS_ERR_CONTROL_LEN = -344,  /* 1002: control frame payload over 125 bytes */
    WS_ERR_CONTROL_FRAG = -345, /* 1002: control frame without FIN */
    WS_ERR_CONT = -346,         /* 1002: continuation frame with no message started */
    WS_ERR_NOT_CONT = -347,     /* 1002: new data frame inside a fragmented message */
    WS_ERR_CLOSE_BODY = -348,   /* 1002: close body of 1 byte */
    WS_ERR_CLOSE_CODE = -349,   /* 1002: close code invalid on the wire (RFC 6455 7.4) */
    WS_ERR_CLOSE_UTF8 = -350,   /* 1002: close reason is not UTF-8 */
    WS_ERR_UTF8 = -351,         /* 1007: text message is not UTF-8 (first bad byte) */
    WS_ERR_MSG_TOO_BIG = -352,  /* 1009: message larger than msgcap */
    /* transport */
    WS_ERR_EOF = -360 /* transport ended before the close handshake (1006) */
};

typedef enum {
    WS_EV_NONE = 0,
    WS_EV_OPEN,    /* handshake done. client: data = response header block; server: data =
                    * request path (as sent, with query), headers = request header block */
    WS_EV_MESSAGE, /* opcode = WS_OP_TEXT/WS_OP_BINARY, data/len = whole message (text is
                    * valid UTF-8) */
    WS_EV_PING,    /* informational: data = payload; the pong is already queued */
    WS_EV_PONG,    /* data = payload (liveness) */
    WS_EV_CLOSED,  /* close_code, data = reason (UTF-8), clean, by_peer */
    WS_EV_ERROR    /* err, close_code = code we sent (0: none, handshake);
                    * handshake errors: http_status (0 if no status line), data = reason
                    * phrase (client) */
} ws_event_type;

typedef struct {
    ws_event_type type;
    int opcode;          /* MESSAGE: WS_OP_TEXT or WS_OP_BINARY */
    const uint8_t *data; /* see ws_event_type; never NULL (points at "" when len 0) */
    size_t len;
    const uint8_t *headers; /* OPEN (server): request header block, CRLF lines */
    size_t headers_len;
    unsigned close_code; /* CLOSED: the peer's code (1005 none, 1006 transport lost);
                            * ERROR: the code of the close we queued, 0 if none */
    int clean;           /* CLOSED: 1 if both closes were exchanged */
    int by_peer;         /* CLOSED: 1 if the peer sent the first close */
    int err;             /* ERROR: WS_ERR_* */
    int http_status;     /* ERROR during handshake: status code received (client) */
} ws_event;

/* Caller-supplied randomness: fill dst with n unpredictable bytes (a CSPRNG). */
typedef void (*ws_rng_fn)(void *arg, uint8_t *dst, size_t n);

typedef struct {
    /* configuration */
    int role;
    ws_rng_fn rng;
    void *rng_arg;
    uint8_t *msg;
    size_t msgcap;
    uint8_t *out;
    size_t outcap;
    /* state */
    int state;
    int err; /* sticky */
    /* output: frames in out[out_head, out_tail) */
    size_t out_head, out_tail;
    uint8_t pong[LIM_WS_CONTROL_PAYLOAD];
    uint8_t pong_len, pong_pending;
    uint8_t close_body[LIM_WS_CONTROL_PAYLOAD];
    uint8_t close_len, close_pending, close_sent;
    unsigned close_code_sent;
    int out_frag; /* outgoing fragmented message open (ws_send_frame) */
    /* handshake */
    size_t hs_len;    /* bytes of the header block in msg */
    unsigned hs_crlf; /* progress through "\r\n\r\n" */
    char accept[29];  /* client: expected Sec-WebSocket-Accept */
    /* frame decoder */
    int rx_stage; /* header / extended length / mask / payload */
    uint8_t hdr[WS_FRAME_HEADER_MAX];
    unsigned hdr_len, hdr_need;
    int rx_op, rx_fin, rx_masked;
    uint8_t rx_mask[4];
    uint64_t rx_len, rx_got;
    /* reassembly */
    size_t msg_len;
    int msg_op;            /* 0: no message open */
    int msg_deliver_reset; /* msg was handed out; reset at the next call */
    uint32_t utf8;         /* utf8_ctx state, see core/utf8.h */
    uint8_t ctl[LIM_WS_CONTROL_PAYLOAD];
    /* pending event (at most one) */
    ws_event ev;
    int ev_pending;
    int eof_seen, eof_done; /* ws_eof() called / its event raised */
    unsigned close_code_rcvd;
} ws_ctx;

/* Sets up ws in state WS_ST_INIT (client) or WS_ST_HANDSHAKE (server, waiting for the
 * request). rng may be NULL for a server. Returns WS_OK or WS_ERR_ARG (buffers below
 * WS_MSGBUF_MIN / WS_OUTBUF_MIN, client without rng). */
int ws_init(ws_ctx *ws, ws_role role, uint8_t *msgbuf, size_t msgcap, uint8_t *outbuf,
            size_t outcap, ws_rng_fn rng, void *rng_arg);

/* Client: queues the GET request for ws://host/path. host is the Host header value
 * (add ":port" when not the default), path starts with '/' and may carry a query.
 * extra_headers is NULL or complete "Name: value\r\n" lines (e.g. User-Agent).
 * Returns WS_OK, WS_ERR_STATE (not WS_ST_INIT / server), WS_ERR_ARG (CR/LF or space in
 * host/path, extra_headers not ending in CRLF), WS_ERR_TOO_BIG (request > outcap). */
int ws_client_handshake(ws_ctx *ws, const char *host, const char *path, const char *extra_headers);

/* Consumes received bytes; returns how many. Less than len only while an event is
 * pending (take it with ws_next_event and push the rest). In WS_ST_CLOSED/FAILED all
 * input is discarded (RFC 6455: nothing after a close or a failure is processed). */
size_t ws_push(ws_ctx *ws, const uint8_t *in, size_t len);

/* The transport ended (EOF or reset). See the header comment. */
void ws_eof(ws_ctx *ws);

/* Returns the pending event's type (WS_EV_NONE if none) and fills *ev. */
int ws_next_event(ws_ctx *ws, ws_event *ev);

/* Pending output: *p points at the next bytes to send (valid until the next call on
 * ws other than ws_output), the return value is their count (0 if nothing). */
size_t ws_output(ws_ctx *ws, const uint8_t **p);
/* Marks n bytes of ws_output() as sent (n <= the count it returned). */
void ws_output_ack(ws_ctx *ws, size_t n);

/* Queues one unfragmented message or control frame (client: masked with 4 fresh rng
 * bytes). opcode: TEXT, BINARY, PING, PONG (CLOSE: use ws_close). Text is not checked
 * for UTF-8 (the caller's JSON is). Returns WS_OK, WS_ERR_WOULD_BLOCK, WS_ERR_TOO_BIG,
 * WS_ERR_STATE (not open, close sent, a ws_send_frame message is open), WS_ERR_ARG. */
int ws_send(ws_ctx *ws, int opcode, const uint8_t *data, size_t len);

/* Queues a message as frames of at most frag bytes, all or nothing. */
int ws_send_fragmented(ws_ctx *ws, int opcode, const uint8_t *data, size_t len, size_t frag);

/* Streaming sender: the first frame carries TEXT/BINARY, later ones WS_OP_CONT; fin=1 ends
 * the message. Control frames (ws_send/ws_ping) may go between. Same returns as ws_send. */
int ws_send_frame(ws_ctx *ws, int opcode, int fin, const uint8_t *data, size_t len);

/* Queues a ping (len <= 125). */
int ws_ping(ws_ctx *ws, const uint8_t *data, size_t len);

/* Starts the close handshake (or answers nothing if a close was already sent): code
 * must be valid on the wire (1000-1003, 1007-1014, 3000-4999) or 0 for an empty body;
 * reason (may be NULL) is truncated to 123 bytes. Never blocks: the close waits in its
 * slot if outbuf is full. Returns WS_OK, WS_ERR_STATE (already closed/failed/not open),
 * WS_ERR_ARG (bad code). */
int ws_close(ws_ctx *ws, unsigned code, const char *reason);

int ws_state(const ws_ctx *ws);
int ws_last_error(const ws_ctx *ws);
/* Close code received from the peer (1005 if its close had no code; 0 if none yet). */
unsigned ws_close_code_received(const ws_ctx *ws);
/* Close code we sent (0 if none). */
unsigned ws_close_code_sent(const ws_ctx *ws);
/* Static English text for any WS_ERR_* (and "ok"); never NULL. */
const char *ws_strerror(int err);
/* Close code a protocol error queues (1002, 1007, 1009), 0 for others. */
unsigned ws_error_close_code(int err);
/* 1 if code may appear in a close frame on the wire (RFC 6455 7.4.1/7.4.2, IANA). */
int ws_close_code_valid(unsigned code);

/* Writes a frame header into out (WS_FRAME_HEADER_MAX bytes) and returns its length
 * (2..14). mask is NULL (server) or the 4-byte key, which is copied in; the caller masks
 * the payload itself. For pre-framing (e.g. a server's flood mode). */
size_t ws_frame_header(uint8_t out[WS_FRAME_HEADER_MAX], int opcode, int fin, uint64_t len,
                       const uint8_t *mask);

#endif
