/*
 * fuzz_ws_frames.c -- libFuzzer target for the WebSocket frame decoder (client role).
 *
 * Input: byte 0 picks a chunking seed, the rest is what the "server" sends after a
 * valid 101. The same bytes are pushed twice into two fresh clients: once whole, once
 * cut at fuzzer-chosen points (lws_parse_fuzzer style). Oracle ("parse or documented
 * error", websockets style):
 * - both runs give the identical event sequence and identical unmasked output;
 * - every event is a documented type; errors are protocol WS_ERR_* with the documented
 *   close code; text messages are valid UTF-8; no message exceeds msgcap;
 * - after CLOSED or ERROR no further event appears; ws_push never stalls;
 * - every output frame is masked, and nothing follows our close frame.
 */
#include "core/b64.h"
#include "core/sha1.h"
#include "core/utf8.h"
#include "core/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSGCAP 16384
#define OUTCAP 4096

static void rng(void *arg, uint8_t *d, size_t n)
{
    uint32_t *s = arg;
    for (size_t i = 0; i < n; i++) {
        *s = *s * 1103515245u + 12345u;
        d[i] = (uint8_t)(*s >> 16);
    }
}

typedef struct {
    ws_ctx ws;
    uint8_t msg[MSGCAP], out[OUTCAP];
    uint32_t r;
    uint32_t hash; /* of the event sequence */
    int ended;     /* CLOSED or ERROR seen */
    uint8_t wire[1 << 16];
    size_t wirelen;
} client;

static void mix(client *c, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        c->hash = (c->hash ^ b[i]) * 16777619u;
}

static void drain(client *c)
{
    const uint8_t *o;
    size_t n;
    while ((n = ws_output(&c->ws, &o)) > 0) {
        size_t k = n < sizeof c->wire - c->wirelen ? n : sizeof c->wire - c->wirelen;
        memcpy(c->wire + c->wirelen, o, k);
        c->wirelen += k;
        ws_output_ack(&c->ws, n);
    }
}

static void events(client *c)
{
    ws_event ev;
    while (ws_next_event(&c->ws, &ev) != WS_EV_NONE) {
        if (c->ended)
            abort(); /* nothing after the end */
        mix(c, &ev.type, sizeof ev.type);
        switch (ev.type) {
        case WS_EV_OPEN: break;
        case WS_EV_MESSAGE: {
            if (ev.len > MSGCAP)
                abort();
            if (ev.opcode == WS_OP_TEXT) {
                uint32_t st = UTF8_START;
                if (utf8_check(&st, ev.data, ev.len) != ev.len || !utf8_complete(st))
                    abort();
            } else if (ev.opcode != WS_OP_BINARY) {
                abort();
            }
            mix(c, &ev.opcode, sizeof ev.opcode);
            mix(c, ev.data, ev.len);
            break;
        }
        case WS_EV_PING:
        case WS_EV_PONG:
            if (ev.len > 125)
                abort();
            mix(c, ev.data, ev.len);
            break;
        case WS_EV_CLOSED:
            mix(c, &ev.close_code, sizeof ev.close_code);
            mix(c, ev.data, ev.len);
            c->ended = 1;
            break;
        case WS_EV_ERROR:
            if (ev.err > -340 || ev.err < -360 || ws_error_close_code(ev.err) == 0)
                abort(); /* only frame-level errors can happen after the handshake */
            if (ev.close_code != 0 && ev.close_code != ws_error_close_code(ev.err))
                abort();
            mix(c, &ev.err, sizeof ev.err);
            c->ended = 1;
            break;
        default: abort();
        }
    }
}

static void push(client *c, const uint8_t *p, size_t n)
{
    int stall = 0;
    while (n) {
        size_t k = ws_push(&c->ws, p, n);
        if (k > n)
            abort();
        p += k;
        n -= k;
        events(c);
        drain(c);
        if (k == 0 && ++stall > 2)
            abort();
    }
}

static void open_client(client *c)
{
    memset(c, 0, sizeof *c);
    c->r = 99;
    c->hash = 2166136261u;
    if (ws_init(&c->ws, WS_CLIENT, c->msg, MSGCAP, c->out, OUTCAP, rng, &c->r) != WS_OK)
        abort();
    ws_client_handshake(&c->ws, "h", "/", NULL);
    const uint8_t *o;
    size_t n = ws_output(&c->ws, &o);
    const char *k = memmem(o, n, "Sec-WebSocket-Key: ", 19);
    if (!k)
        abort();
    char buf[128];
    uint8_t d[SHA1_LEN];
    memcpy(buf, k + 19, 24);
    memcpy(buf + 24, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
    sha1(buf, 60, d);
    char acc[29];
    b64_encode(d, sizeof d, acc, sizeof acc);
    ws_output_ack(&c->ws, n);
    char resp[256];
    int rn = snprintf(resp, sizeof resp,
                      "HTTP/1.1 101 S\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                      acc);
    push(c, (const uint8_t *)resp, (size_t)rn);
    if (ws_state(&c->ws) != WS_ST_OPEN)
        abort();
}

/* Output frames: all masked, and none after our close. */
static void check_wire(const client *c)
{
    size_t i = 0;
    int closed = 0;
    while (i + 2 <= c->wirelen) {
        const uint8_t *w = c->wire + i;
        if (closed || !(w[1] & 0x80))
            abort();
        size_t len = w[1] & 127, h = 6;
        if (len == 126) {
            len = (size_t)w[2] << 8 | w[3];
            h = 8;
        } else if (len == 127) {
            abort(); /* we never echo anything that large here */
        }
        closed = (w[0] & 15) == WS_OP_CLOSE;
        i += h + len;
    }
}

static client A, B;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint32_t seed = data[0];
    data++;
    size--;
    open_client(&A);
    open_client(&B);
    push(&A, data, size);
    for (size_t i = 0; i < size;) {
        seed = seed * 1103515245u + 12345u;
        size_t k = 1 + (seed >> 16) % 19;
        if (k > size - i)
            k = size - i;
        push(&B, data + i, k);
        i += k;
    }
    if (A.hash != B.hash || A.ended != B.ended || ws_state(&A.ws) != ws_state(&B.ws))
        abort();
    /* masks differ between runs only if rng use differs: both used the same sequence */
    if (A.wirelen != B.wirelen || memcmp(A.wire, B.wire, A.wirelen) != 0)
        abort();
    check_wire(&A);
    ws_eof(&A.ws);
    events(&A);
    return 0;
}
