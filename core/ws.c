/*
 * ws.c -- WebSocket codec: setup, the output queue, the senders, the close request and
 * the error table (see ws.h). Input handling lives in ws_frame.c and ws_handshake.c.
 *
 * The output queue is one linear buffer holding whole frames in [out_head, out_tail).
 * Appending compacts (memmove of the unsent rest to the front) only when the tail
 * would run past the end, so a server flooding small frames pays a copy per frame and
 * an occasional short move, never a ring-wrap split that would force the caller to
 * send in two pieces. Automatic pong/close frames go through one-frame slots so that a
 * full queue never blocks the protocol's own replies.
 */
#include "core/ws_internal.h"

#include <string.h>

static const uint8_t EMPTY[1];

/* see ws.h */
int ws_init(ws_ctx *ws, ws_role role, uint8_t *msgbuf, size_t msgcap, uint8_t *outbuf,
            size_t outcap, ws_rng_fn rng, void *rng_arg)
{
    if (!ws)
        return WS_ERR_ARG;
    memset(ws, 0, sizeof *ws);
    if (!msgbuf || msgcap < WS_MSGBUF_MIN || !outbuf || outcap < WS_OUTBUF_MIN)
        return WS_ERR_ARG;
    if (role != WS_CLIENT && role != WS_SERVER)
        return WS_ERR_ARG;
    if (role == WS_CLIENT && !rng)
        return WS_ERR_ARG;
    ws->role = role;
    ws->rng = rng;
    ws->rng_arg = rng_arg;
    ws->msg = msgbuf;
    ws->msgcap = msgcap;
    ws->out = outbuf;
    ws->outcap = outcap;
    ws->state = role == WS_SERVER ? WS_ST_HANDSHAKE : WS_ST_INIT;
    ws->rx_stage = WS_RX_HEADER;
    ws->hdr_need = 2;
    return WS_OK;
}

/* see ws.h */
size_t ws_frame_header(uint8_t out[WS_FRAME_HEADER_MAX], int opcode, int fin, uint64_t len,
                       const uint8_t *mask)
{
    size_t n = 0;
    out[n++] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
    uint8_t m = mask ? 0x80 : 0;
    if (len < 126) {
        out[n++] = (uint8_t)(m | len);
    } else if (len <= 0xFFFF) {
        out[n++] = m | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = m | 127;
        for (int s = 56; s >= 0; s -= 8)
            out[n++] = (uint8_t)(len >> s);
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

/* Makes room for need contiguous bytes at the tail. */
int ws__reserve(ws_ctx *ws, size_t need, uint8_t **dst)
{
    if (need > ws->outcap)
        return WS_ERR_TOO_BIG;
    if (ws->outcap - ws->out_tail < need) {
        size_t used = ws->out_tail - ws->out_head;
        if (ws->outcap - used < need)
            return WS_ERR_WOULD_BLOCK;
        memmove(ws->out, ws->out + ws->out_head, used);
        ws->out_head = 0;
        ws->out_tail = used;
    }
    *dst = ws->out + ws->out_tail;
    return WS_OK;
}

static size_t frame_size(int role, size_t len)
{
    return len + (len < 126 ? 2 : len <= 0xFFFF ? 4 : 10) + (role == WS_CLIENT ? 4 : 0);
}

/* Appends one frame; all or nothing. */
int ws__put_frame(ws_ctx *ws, int opcode, int fin, const uint8_t *data, size_t len)
{
    uint8_t *dst;
    int rc = ws__reserve(ws, frame_size(ws->role, len), &dst);
    if (rc != WS_OK)
        return rc;
    uint8_t key[4];
    if (ws->role == WS_CLIENT)
        ws->rng(ws->rng_arg, key, 4); /* fresh per frame: RFC 6455 5.3, 10.3 */
    size_t h = ws_frame_header(dst, opcode, fin, len, ws->role == WS_CLIENT ? key : NULL);
    if (len)
        memcpy(dst + h, data, len);
    if (ws->role == WS_CLIENT)
        for (size_t i = 0; i < len; i++)
            dst[h + i] ^= key[i & 3];
    ws->out_tail += h + len;
    return WS_OK;
}

/* Moves the pong and close slots into the queue when they fit: pong first (it answers
 * a ping that came before whatever made us close), nothing after the close. */
void ws__flush_ctl(ws_ctx *ws)
{
    if (ws->pong_pending) {
        if (ws->close_sent) {
            ws->pong_pending = 0;
        } else if (ws__put_frame(ws, WS_OP_PONG, 1, ws->pong, ws->pong_len) == WS_OK) {
            ws->pong_pending = 0;
        } else {
            return; /* keep order: the close waits behind the pong */
        }
    }
    if (ws->close_pending &&
        ws__put_frame(ws, WS_OP_CLOSE, 1, ws->close_body, ws->close_len) == WS_OK) {
        ws->close_pending = 0;
        ws->close_sent = 1;
    }
}

/* Puts a close in its slot (the caller checked that none was queued before). */
void ws__queue_close(ws_ctx *ws, unsigned code, const uint8_t *reason, size_t rlen)
{
    ws->close_len = 0;
    if (code) {
        if (rlen > LIM_WS_CONTROL_PAYLOAD - 2)
            rlen = LIM_WS_CONTROL_PAYLOAD - 2;
        ws->close_body[0] = (uint8_t)(code >> 8);
        ws->close_body[1] = (uint8_t)code;
        if (rlen)
            memcpy(ws->close_body + 2, reason, rlen);
        ws->close_len = (uint8_t)(2 + rlen);
    }
    ws->close_code_sent = code ? code : WS_CLOSE_NO_STATUS;
    ws->close_pending = 1;
    ws__flush_ctl(ws);
}

void ws__raise(ws_ctx *ws, const ws_event *ev)
{
    ws->ev = *ev;
    if (!ws->ev.data)
        ws->ev.data = EMPTY;
    if (!ws->ev.headers)
        ws->ev.headers = EMPTY;
    ws->ev_pending = 1;
}

void ws__fail(ws_ctx *ws, int err)
{
    int was = ws->state;
    ws->err = err;
    ws->state = WS_ST_FAILED;
    ws->pong_pending = 0;
    ws_event ev = { .type = WS_EV_ERROR, .err = err };
    unsigned code = ws_error_close_code(err);
    if (code && was == WS_ST_OPEN && !ws->close_pending && !ws->close_sent) {
        ws__queue_close(ws, code, NULL, 0);
        ev.close_code = code;
    }
    ws__raise(ws, &ev);
}

/* see ws.h */
size_t ws_output(ws_ctx *ws, const uint8_t **p)
{
    ws__flush_ctl(ws);
    *p = ws->out + ws->out_head;
    return ws->out_tail - ws->out_head;
}

/* see ws.h */
void ws_output_ack(ws_ctx *ws, size_t n)
{
    size_t have = ws->out_tail - ws->out_head;
    ws->out_head += n < have ? n : have;
    if (ws->out_head == ws->out_tail)
        ws->out_head = ws->out_tail = 0;
    ws__flush_ctl(ws);
}

static int can_send(ws_ctx *ws)
{
    if (ws->state != WS_ST_OPEN || ws->close_pending || ws->close_sent)
        return WS_ERR_STATE;
    ws__flush_ctl(ws);
    return ws->pong_pending ? WS_ERR_WOULD_BLOCK : WS_OK;
}

/* see ws.h */
int ws_send(ws_ctx *ws, int opcode, const uint8_t *data, size_t len)
{
    if (opcode != WS_OP_TEXT && opcode != WS_OP_BINARY && opcode != WS_OP_PING &&
        opcode != WS_OP_PONG)
        return WS_ERR_ARG;
    if ((opcode & 8) && len > LIM_WS_CONTROL_PAYLOAD)
        return WS_ERR_ARG;
    if (len && !data)
        return WS_ERR_ARG;
    if (!(opcode & 8) && ws->out_frag)
        return WS_ERR_STATE;
    int rc = can_send(ws);
    if (rc != WS_OK)
        return rc;
    return ws__put_frame(ws, opcode, 1, data, len);
}

/* see ws.h */
int ws_ping(ws_ctx *ws, const uint8_t *data, size_t len)
{
    return ws_send(ws, WS_OP_PING, data, len);
}

/* see ws.h */
int ws_send_frame(ws_ctx *ws, int opcode, int fin, const uint8_t *data, size_t len)
{
    if (len && !data)
        return WS_ERR_ARG;
    if (ws->out_frag ? opcode != WS_OP_CONT : opcode != WS_OP_TEXT && opcode != WS_OP_BINARY)
        return opcode & 8 ? WS_ERR_ARG : WS_ERR_STATE;
    int rc = can_send(ws);
    if (rc != WS_OK)
        return rc;
    rc = ws__put_frame(ws, opcode, fin, data, len);
    if (rc == WS_OK)
        ws->out_frag = !fin;
    return rc;
}

/* see ws.h */
int ws_send_fragmented(ws_ctx *ws, int opcode, const uint8_t *data, size_t len, size_t frag)
{
    if (opcode != WS_OP_TEXT && opcode != WS_OP_BINARY)
        return WS_ERR_ARG;
    if (frag == 0 || (len && !data))
        return WS_ERR_ARG;
    if (ws->out_frag)
        return WS_ERR_STATE;
    int rc = can_send(ws);
    if (rc != WS_OK)
        return rc;
    /* all or nothing: check the total first, then append frame by frame */
    size_t nfull = len / frag, rest = len % frag;
    size_t total =
        nfull * frame_size(ws->role, frag) + (rest || len == 0 ? frame_size(ws->role, rest) : 0);
    uint8_t *dst;
    rc = ws__reserve(ws, total, &dst);
    if (rc != WS_OK)
        return rc;
    size_t off = 0;
    int op = opcode;
    do {
        size_t n = len - off < frag ? len - off : frag;
        int fin = off + n == len;
        rc = ws__put_frame(ws, op, fin, n ? data + off : NULL, n);
        if (rc != WS_OK)
            return rc; /* cannot happen: the space was reserved above */
        off += n;
        op = WS_OP_CONT;
    } while (off < len);
    return WS_OK;
}

/* see ws.h */
int ws_close(ws_ctx *ws, unsigned code, const char *reason)
{
    if (ws->state != WS_ST_OPEN || ws->close_pending || ws->close_sent)
        return WS_ERR_STATE;
    if (code != 0 && !ws_close_code_valid(code))
        return WS_ERR_ARG;
    size_t rlen = code && reason ? strlen(reason) : 0;
    ws->state = WS_ST_CLOSING;
    ws__queue_close(ws, code, (const uint8_t *)reason, rlen);
    return WS_OK;
}

/* see ws.h */
int ws_state(const ws_ctx *ws)
{
    return ws->state;
}

/* see ws.h */
int ws_last_error(const ws_ctx *ws)
{
    return ws->err;
}

/* see ws.h */
unsigned ws_close_code_received(const ws_ctx *ws)
{
    return ws->close_code_rcvd;
}

/* see ws.h */
unsigned ws_close_code_sent(const ws_ctx *ws)
{
    return ws->close_code_sent;
}

/* see ws.h */
int ws_close_code_valid(unsigned code)
{
    /* 1004 reserved, 1005/1006/1015 local-only, 1016-2999 unassigned protocol range;
     * 1012-1014 were registered with IANA after the RFC and are valid. */
    if (code >= 1000 && code <= 1014)
        return code != 1004 && code != 1005 && code != 1006;
    return code >= 3000 && code <= 4999;
}

/* see ws.h */
unsigned ws_error_close_code(int err)
{
    switch (err) {
    case WS_ERR_RSV:
    case WS_ERR_OPCODE:
    case WS_ERR_MASK:
    case WS_ERR_LENGTH:
    case WS_ERR_CONTROL_LEN:
    case WS_ERR_CONTROL_FRAG:
    case WS_ERR_CONT:
    case WS_ERR_NOT_CONT:
    case WS_ERR_CLOSE_BODY:
    case WS_ERR_CLOSE_CODE:
    case WS_ERR_CLOSE_UTF8: return WS_CLOSE_PROTOCOL;
    case WS_ERR_UTF8: return WS_CLOSE_INVALID_DATA;
    case WS_ERR_MSG_TOO_BIG: return WS_CLOSE_TOO_BIG;
    default: return 0;
    }
}

/* see ws.h */
const char *ws_strerror(int err)
{
    switch (err) {
    case WS_OK: return "ok";
    case WS_ERR_WOULD_BLOCK: return "websocket: output buffer full";
    case WS_ERR_TOO_BIG: return "websocket: frame larger than the output buffer";
    case WS_ERR_STATE: return "websocket: not allowed in this connection state";
    case WS_ERR_ARG: return "websocket: invalid argument";
    case WS_ERR_HS_TOO_LARGE: return "websocket handshake: header block too large";
    case WS_ERR_HS_TOO_MANY: return "websocket handshake: too many header lines";
    case WS_ERR_HS_MALFORMED: return "websocket handshake: malformed HTTP";
    case WS_ERR_HS_STATUS: return "websocket handshake: status is not 101";
    case WS_ERR_HS_UPGRADE: return "websocket handshake: missing or wrong Upgrade header";
    case WS_ERR_HS_CONNECTION: return "websocket handshake: Connection header lacks upgrade";
    case WS_ERR_HS_ACCEPT: return "websocket handshake: missing or wrong Sec-WebSocket-Accept";
    case WS_ERR_HS_EXTENSION: return "websocket handshake: unrequested extension";
    case WS_ERR_HS_PROTOCOL: return "websocket handshake: unrequested subprotocol";
    case WS_ERR_HS_METHOD: return "websocket handshake: request is not GET ... HTTP/1.1";
    case WS_ERR_HS_VERSION: return "websocket handshake: Sec-WebSocket-Version is not 13";
    case WS_ERR_HS_KEY: return "websocket handshake: missing or bad Sec-WebSocket-Key";
    case WS_ERR_HS_HOST: return "websocket handshake: missing Host header";
    case WS_ERR_RSV: return "websocket: reserved bits set";
    case WS_ERR_OPCODE: return "websocket: reserved opcode";
    case WS_ERR_MASK: return "websocket: wrong frame masking for this role";
    case WS_ERR_LENGTH: return "websocket: invalid length encoding";
    case WS_ERR_CONTROL_LEN: return "websocket: control frame over 125 bytes";
    case WS_ERR_CONTROL_FRAG: return "websocket: fragmented control frame";
    case WS_ERR_CONT: return "websocket: continuation without a message";
    case WS_ERR_NOT_CONT: return "websocket: new message inside a fragmented message";
    case WS_ERR_CLOSE_BODY: return "websocket: close frame with a 1-byte body";
    case WS_ERR_CLOSE_CODE: return "websocket: invalid close code";
    case WS_ERR_CLOSE_UTF8: return "websocket: close reason is not UTF-8";
    case WS_ERR_UTF8: return "websocket: text message is not UTF-8";
    case WS_ERR_MSG_TOO_BIG: return "websocket: message too big";
    case WS_ERR_EOF: return "websocket: connection lost before the close handshake";
    default: return "websocket: unknown error";
    }
}
