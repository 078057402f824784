/*
 * fuzz_ws_handshake.c -- libFuzzer target for the opening-handshake parsers.
 *
 * Byte 0: low bit picks the role (client parses the input as the server's response,
 * server parses it as a request), the rest seeds the split points. The input is pushed
 * in fuzzer-chosen chunks. Oracle: the handshake ends in WS_EV_OPEN or in WS_EV_ERROR
 * with a documented handshake error (or stays incomplete); a client only opens if the
 * input carries the right Sec-WebSocket-Accept; a server's reply is a 101 or a 400;
 * views point inside msgbuf; bytes after the header block are left for frames.
 */
#include "core/ws.h"

#include <stdlib.h>
#include <string.h>

static void rng(void *arg, uint8_t *d, size_t n)
{
    (void)arg;
    memset(d, 0x5a, n); /* fixed key: the fuzzer can learn the accept value */
}

static uint8_t msg[WS_MSGBUF_MIN], out[4096];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int server = data[0] & 1;
    uint32_t seed = data[0] >> 1;
    data++;
    size--;
    ws_ctx ws;
    if (ws_init(&ws, server ? WS_SERVER : WS_CLIENT, msg, sizeof msg, out, sizeof out, rng, NULL) !=
        WS_OK)
        abort();
    if (!server) {
        if (ws_client_handshake(&ws, "h", "/", NULL) != WS_OK)
            abort();
        const uint8_t *o;
        ws_output_ack(&ws, ws_output(&ws, &o));
    }
    int done = 0;
    for (size_t i = 0; i < size;) {
        seed = seed * 1103515245u + 12345u;
        size_t k = 1 + (seed >> 16) % 64;
        if (k > size - i)
            k = size - i;
        size_t used = ws_push(&ws, data + i, k);
        if (used > k)
            abort();
        ws_event ev;
        int t = ws_next_event(&ws, &ev);
        if (t == WS_EV_NONE && used < k)
            abort(); /* stalled without an event */
        if (t != WS_EV_NONE) {
            if (done)
                break; /* frames after the handshake: the frame fuzzer's job */
            done = 1;
            if (ev.data < msg || ev.data + ev.len > msg + sizeof msg) {
                if (ev.len)
                    abort();
            }
            if (t == WS_EV_OPEN) {
                if (!server && !memmem(data, i + used, "1nwQI3IBoftOh+fG2YorpTWcrHs=", 28))
                    abort(); /* base64(SHA-1(base64(16 x 0x5a) + GUID)) */
            } else if (t == WS_EV_ERROR) {
                if (ev.err > -320 || ev.err < -332)
                    abort();
            } else {
                abort();
            }
            const uint8_t *o;
            size_t n = ws_output(&ws, &o);
            if (server && (n < 12 || (memcmp(o, "HTTP/1.1 101", 12) != 0 &&
                                      memcmp(o, "HTTP/1.1 400", 12) != 0)))
                abort();
            ws_output_ack(&ws, n);
        }
        i += used;
    }
    ws_eof(&ws);
    ws_event ev;
    while (ws_next_event(&ws, &ev) != WS_EV_NONE)
        ;
    return 0;
}
