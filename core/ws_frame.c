/*
 * ws_frame.c -- the frame decoder and everything driven by received frames: message
 * reassembly with incremental UTF-8 checks, automatic pongs, the close handshake, and
 * the event hand-off (see ws.h).
 *
 * The decoder is a two-stage machine (header bytes, then payload) that keeps its
 * partial header in the ctx, so any split of the input gives the same result. Every
 * rule is checked as soon as the bytes that break it have arrived: the header is
 * judged before its payload is read (so a 2^62-byte length costs nothing), and text
 * is validated chunk by chunk as it is copied into msgbuf (fail fast on the first bad
 * byte, Autobahn 6.4). A whole unfragmented, unmasked message that lies entirely in
 * the bytes of one ws_push (the common case: a server's message inside one TLS record)
 * is validated and handed out where it lies, without a copy. Any other data payload
 * goes straight into msgbuf at its final place and is unmasked there; control payload
 * (<= 125 bytes) goes into a separate small buffer, so pings and closes interleaved
 * with a fragmented message never disturb it.
 */
#include "core/ws_internal.h"

#include "core/utf8.h"

#include <string.h>

static int is_control(int op)
{
    return (op & 8) != 0;
}

static int known_opcode(int op)
{
    return op == WS_OP_CONT || op == WS_OP_TEXT || op == WS_OP_BINARY || op == WS_OP_CLOSE ||
           op == WS_OP_PING || op == WS_OP_PONG;
}

/* First two bytes are in: everything they alone can violate, and how long the rest
 * of the header is. Returns WS_OK or the error. */
static int check_first(ws_ctx *ws)
{
    uint8_t b0 = ws->hdr[0], b1 = ws->hdr[1];
    int op = b0 & 0x0F, masked = (b1 & 0x80) != 0;
    unsigned len7 = b1 & 0x7F;
    if (b0 & 0x70)
        return WS_ERR_RSV; /* we never negotiate extensions */
    if (!known_opcode(op))
        return WS_ERR_OPCODE;
    if (masked != (ws->role == WS_SERVER))
        return WS_ERR_MASK;
    if (is_control(op)) {
        if (!(b0 & 0x80))
            return WS_ERR_CONTROL_FRAG;
        if (len7 > LIM_WS_CONTROL_PAYLOAD)
            return WS_ERR_CONTROL_LEN;
    } else if (op == WS_OP_CONT) {
        if (!ws->msg_op)
            return WS_ERR_CONT;
    } else if (ws->msg_op) {
        return WS_ERR_NOT_CONT;
    }
    ws->rx_op = op;
    ws->rx_fin = (b0 & 0x80) != 0;
    ws->rx_masked = masked;
    ws->hdr_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked ? 4 : 0);
    return WS_OK;
}

/* Whole header is in: length rules, the message size limit, and frame setup. */
static int check_length(ws_ctx *ws)
{
    unsigned len7 = ws->hdr[1] & 0x7F;
    uint64_t len = len7;
    size_t p = 2;
    if (len7 == 126) {
        len = (uint64_t)ws->hdr[2] << 8 | ws->hdr[3];
        p = 4;
        if (len < 126)
            return WS_ERR_LENGTH;
    } else if (len7 == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | ws->hdr[2 + i];
        p = 10;
        if (len >> 63 || len <= 0xFFFF)
            return WS_ERR_LENGTH;
    }
    if (ws->rx_masked)
        memcpy(ws->rx_mask, ws->hdr + p, 4);
    if (!is_control(ws->rx_op)) {
        if (ws->rx_op != WS_OP_CONT) {
            ws->msg_op = ws->rx_op;
            ws->msg_len = 0;
            ws->utf8 = UTF8_START;
        }
        /* judged on the announced length, before a byte of payload is stored */
        if (len > ws->msgcap - ws->msg_len)
            return WS_ERR_MSG_TOO_BIG;
    }
    ws->rx_len = len;
    ws->rx_got = 0;
    return WS_OK;
}

static void unmask(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset)
{
    for (size_t i = 0; i < n; i++)
        p[i] ^= key[(offset + i) & 3];
}

static void on_close_frame(ws_ctx *ws)
{
    size_t n = (size_t)ws->rx_len;
    unsigned code = WS_CLOSE_NO_STATUS;
    const uint8_t *reason = ws->ctl + 2;
    size_t rlen = 0;
    if (n == 1) {
        ws__fail(ws, WS_ERR_CLOSE_BODY);
        return;
    }
    if (n >= 2) {
        code = (unsigned)ws->ctl[0] << 8 | ws->ctl[1];
        if (!ws_close_code_valid(code)) {
            ws__fail(ws, WS_ERR_CLOSE_CODE);
            return;
        }
        rlen = n - 2;
        uint32_t st = UTF8_START;
        if (utf8_check(&st, reason, rlen) != rlen || !utf8_complete(st)) {
            ws__fail(ws, WS_ERR_CLOSE_UTF8);
            return;
        }
    }
    ws->close_code_rcvd = code;
    ws_event ev = {
        .type = WS_EV_CLOSED, .close_code = code, .data = reason, .len = rlen, .clean = 1
    };
    if (ws->state == WS_ST_OPEN) {
        /* the peer closed first: echo its code (an empty close gets an empty one) */
        ev.by_peer = 1;
        ws__queue_close(ws, code == WS_CLOSE_NO_STATUS ? 0 : code, NULL, 0);
    }
    ws->state = WS_ST_CLOSED;
    ws->msg_op = 0;
    ws->pong_pending = ws->pong_pending && !ws->close_sent && !ws->close_pending;
    ws__raise(ws, &ev);
}

static void next_frame(ws_ctx *ws)
{
    ws->rx_stage = WS_RX_HEADER;
    ws->hdr_len = 0;
    ws->hdr_need = 2;
}

/* The frame about to be read is a whole message (FIN, not a continuation, no mask)
 * and its payload is all in p[0..avail): it can be handed out in place. */
static int whole_in_view(const ws_ctx *ws, size_t avail)
{
    return ws->rx_got == 0 && ws->rx_fin && !ws->rx_masked && !is_control(ws->rx_op) &&
           ws->rx_op != WS_OP_CONT && ws->rx_len <= avail;
}

/* 1 when p[0..n) is all ASCII (then it is valid UTF-8). 32 bytes a step, then 8, then
 * the last 8 again (overlapping): ThingsBoard's messages are ASCII, and this is
 * cheaper than the validator's byte-wise state. Four named words, not an array: an
 * array went through the stack. */
static int all_ascii(const uint8_t *p, size_t n)
{
    uint64_t acc = 0, a, b, c, d;
    size_t i = 0;
    for (; n - i >= 32; i += 32) {
        memcpy(&a, p + i, 8);
        memcpy(&b, p + i + 8, 8);
        memcpy(&c, p + i + 16, 8);
        memcpy(&d, p + i + 24, 8);
        acc |= a | b | c | d;
    }
    for (; n - i >= 8; i += 8) {
        memcpy(&a, p + i, 8);
        acc |= a;
    }
    if (n >= 8) {
        memcpy(&a, p + n - 8, 8);
        acc |= a;
    } else {
        for (; i < n; i++)
            acc |= p[i];
    }
    return (acc & 0x8080808080808080u) == 0;
}

/* Delivers the message p[0..n) without copying it (see whole_in_view). */
static void message_in_place(ws_ctx *ws, const uint8_t *p, size_t n)
{
    if (ws->msg_op == WS_OP_TEXT && !all_ascii(p, n)) {
        uint32_t st = UTF8_START;
        if (utf8_check(&st, p, n) != n || !utf8_complete(st)) {
            ws__fail(ws, WS_ERR_UTF8);
            return;
        }
    }
    ws_event ev = { .type = WS_EV_MESSAGE, .opcode = ws->msg_op, .data = p, .len = n };
    ws->msg_op = 0;
    next_frame(ws);
    ws__raise(ws, &ev);
}

/* A whole frame has been received. */
static void frame_done(ws_ctx *ws)
{
    ws_event ev = { .type = WS_EV_NONE };
    switch (ws->rx_op) {
    case WS_OP_PING:
        /* answer the latest ping only when the queue is backed up (RFC 6455 5.5.3) */
        if (!ws->close_pending && !ws->close_sent) {
            memcpy(ws->pong, ws->ctl, (size_t)ws->rx_len);
            ws->pong_len = (uint8_t)ws->rx_len;
            ws->pong_pending = 1;
            ws__flush_ctl(ws);
        }
        ev.type = WS_EV_PING;
        ev.data = ws->ctl;
        ev.len = (size_t)ws->rx_len;
        ws__raise(ws, &ev);
        break;
    case WS_OP_PONG:
        ev.type = WS_EV_PONG;
        ev.data = ws->ctl;
        ev.len = (size_t)ws->rx_len;
        ws__raise(ws, &ev);
        break;
    case WS_OP_CLOSE: on_close_frame(ws); break;
    default:
        if (!ws->rx_fin)
            break;
        if (ws->msg_op == WS_OP_TEXT && !utf8_complete(ws->utf8)) {
            ws__fail(ws, WS_ERR_UTF8); /* message ends inside a code point */
            break;
        }
        ev.type = WS_EV_MESSAGE;
        ev.opcode = ws->msg_op;
        ev.data = ws->msg;
        ev.len = ws->msg_len;
        ws->msg_op = 0;
        ws->msg_deliver_reset = 1;
        ws__raise(ws, &ev);
        break;
    }
    next_frame(ws);
}

/* The common frame read at once: at a frame boundary, a server's whole unfragmented
 * text or binary message with a 7- or 16-bit length lies in in[0..avail) (its header
 * and payload), while no fragmented message is open. Returns the bytes of the frame,
 * delivered as message_in_place() would after the header stage; 0 leaves the frame to
 * the general decoder (anything else, including every frame it must refuse). */
static size_t frame_whole(ws_ctx *ws, const uint8_t *in, size_t avail)
{
    size_t h = 2, n;
    if (avail < 2 || (in[0] != (0x80 | WS_OP_TEXT) && in[0] != (0x80 | WS_OP_BINARY)) ||
        ws->msg_op || ws->role != WS_CLIENT || in[1] > 126)
        return 0; /* also a masked frame: its mask bit makes in[1] > 126 */
    n = in[1];
    if (n == 126) {
        if (avail < 4)
            return 0;
        n = (size_t)in[2] << 8 | in[3];
        h = 4;
        if (n < 126)
            return 0; /* not minimal: an error for the general decoder */
    }
    if (n > avail - h || n > ws->msgcap)
        return 0;
    ws->msg_op = in[0] & 0x0F;
    ws->rx_op = ws->msg_op;
    message_in_place(ws, in + h, n);
    return h + n;
}

size_t ws__frame_push(ws_ctx *ws, const uint8_t *in, size_t len)
{
    size_t i = 0;
    while (i < len && !ws->ev_pending) {
        if (ws->rx_stage == WS_RX_HEADER) {
            size_t k = ws->hdr_len ? 0 : frame_whole(ws, in + i, len - i);
            if (k) {
                i += k;
                continue;
            }
            while (i < len && ws->hdr_len < ws->hdr_need)
                ws->hdr[ws->hdr_len++] = in[i++];
            if (ws->hdr_len < ws->hdr_need)
                break;
            int rc = WS_OK;
            if (ws->hdr_len == 2) {
                rc = check_first(ws);
                if (rc == WS_OK && ws->hdr_need > 2)
                    continue; /* extended length and/or mask still to come */
            }
            if (rc == WS_OK)
                rc = check_length(ws);
            if (rc != WS_OK) {
                ws__fail(ws, rc);
                break;
            }
            ws->rx_stage = WS_RX_PAYLOAD;
            if (ws->rx_len == 0)
                frame_done(ws);
            continue;
        }
        if (whole_in_view(ws, len - i)) {
            message_in_place(ws, in + i, (size_t)ws->rx_len);
            i += (size_t)ws->rx_len;
            continue;
        }
        uint64_t left = ws->rx_len - ws->rx_got;
        size_t take = len - i < left ? len - i : (size_t)left;
        uint8_t *dst = is_control(ws->rx_op) ? ws->ctl + ws->rx_got : ws->msg + ws->msg_len;
        memcpy(dst, in + i, take);
        if (ws->rx_masked)
            unmask(dst, take, ws->rx_mask, ws->rx_got);
        i += take;
        if (!is_control(ws->rx_op)) {
            if (ws->msg_op == WS_OP_TEXT && utf8_check(&ws->utf8, dst, take) != take) {
                ws__fail(ws, WS_ERR_UTF8);
                break;
            }
            ws->msg_len += take;
        }
        ws->rx_got += take;
        if (ws->rx_got == ws->rx_len)
            frame_done(ws);
    }
    return i;
}

static void reset_delivered(ws_ctx *ws)
{
    if (ws->msg_deliver_reset) {
        ws->msg_deliver_reset = 0;
        ws->msg_len = 0;
    }
}

/* see ws.h */
size_t ws_push(ws_ctx *ws, const uint8_t *in, size_t len)
{
    if (ws->ev_pending)
        return 0;
    reset_delivered(ws);
    size_t i = 0;
    while (i < len && !ws->ev_pending) {
        switch (ws->state) {
        case WS_ST_INIT:
            /* a response to a request we never sent */
            ws__fail(ws, WS_ERR_HS_MALFORMED);
            break;
        case WS_ST_HANDSHAKE: i += ws__hs_push(ws, in + i, len - i); break;
        case WS_ST_OPEN:
        case WS_ST_CLOSING: i += ws__frame_push(ws, in + i, len - i); break;
        default: return len; /* closed or failed: nothing more is processed */
        }
    }
    return i;
}

static void eof_raise(ws_ctx *ws)
{
    ws->eof_done = 1;
    if (ws->state == WS_ST_CLOSED || ws->state == WS_ST_FAILED)
        return;
    ws->err = WS_ERR_EOF;
    ws->pong_pending = 0;
    if (ws->state == WS_ST_INIT || ws->state == WS_ST_HANDSHAKE) {
        ws->state = WS_ST_FAILED;
        ws_event ev = { .type = WS_EV_ERROR, .err = WS_ERR_EOF };
        ws__raise(ws, &ev);
        return;
    }
    ws->state = WS_ST_CLOSED;
    ws->close_code_rcvd = WS_CLOSE_ABNORMAL;
    ws_event ev = {
        .type = WS_EV_CLOSED, .close_code = WS_CLOSE_ABNORMAL, .clean = 0, .by_peer = 1
    };
    ws__raise(ws, &ev);
}

/* see ws.h */
void ws_eof(ws_ctx *ws)
{
    ws->eof_seen = 1;
    if (!ws->ev_pending && !ws->eof_done) {
        reset_delivered(ws);
        eof_raise(ws);
    }
}

/* see ws.h */
int ws_next_event(ws_ctx *ws, ws_event *ev)
{
    if (!ws->ev_pending && ws->eof_seen && !ws->eof_done) {
        reset_delivered(ws);
        eof_raise(ws);
    }
    if (!ws->ev_pending) {
        reset_delivered(ws);
        memset(ev, 0, sizeof *ev);
        ev->type = WS_EV_NONE;
        return WS_EV_NONE;
    }
    *ev = ws->ev;
    ws->ev_pending = 0;
    return ev->type;
}
