/*
 * test_ws_send.c -- the encoder and the output queue: header encodings, client masking
 * with a fresh key per frame, bounded output (WOULD_BLOCK / TOO_BIG, never growth), the
 * one-pong and one-close slots when output is backed up, fragmentation, and what may
 * be sent in each state.
 */
#include "tests/unit/test_ws_util.h"

static void test_frame_header_vectors(void)
{
    static const struct {
        int op, fin;
        uint64_t len;
        int masked;
        const char *hex;
    } V[] = {
        { WS_OP_TEXT, 1, 5, 0, "81 05" },
        { WS_OP_TEXT, 0, 3, 0, "01 03" },
        { WS_OP_CONT, 1, 2, 0, "80 02" },
        { WS_OP_PING, 1, 0, 0, "89 00" },
        { WS_OP_BINARY, 1, 125, 0, "82 7d" },
        { WS_OP_BINARY, 1, 126, 0, "82 7e 00 7e" },
        { WS_OP_BINARY, 1, 65535, 0, "82 7e ff ff" },
        { WS_OP_BINARY, 1, 65536, 0, "82 7f 00 00 00 00 00 01 00 00" },
        { WS_OP_BINARY, 1, 0x7fffffffffffffffull, 0, "82 7f 7f ff ff ff ff ff ff ff" },
        { WS_OP_TEXT, 1, 5, 1, "81 85 37 fa 21 3d" }, /* RFC 6455 5.7 masked Hello */
        { WS_OP_CLOSE, 1, 256, 1, "88 fe 01 00 37 fa 21 3d" },
    };
    static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };
    for (size_t i = 0; i < sizeof V / sizeof V[0]; i++) {
        CHECK_CTX("row %zu", i);
        uint8_t h[WS_FRAME_HEADER_MAX], want[WS_FRAME_HEADER_MAX];
        size_t wn = unhex(V[i].hex, want, sizeof want);
        size_t n = ws_frame_header(h, V[i].op, V[i].fin, V[i].len, V[i].masked ? key : NULL);
        CHECK_MEM(h, n, want, wn);
    }
}

/* Client frames: masked, the key differs frame to frame, the payload unmasks to the
 * original, and the caller's data is not modified. */
static void test_client_masking(void)
{
    peer c;
    client_open(&c, 65536, 1u << 20, 77);
    static const size_t sizes[] = { 0, 1, 5, 125, 126, 65535, 65536, 70000 };
    static uint8_t data[70000], copy[70000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i % 251);
    memcpy(copy, data, sizeof data);
    char want[512];
    size_t wl = 0;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        CHECK_INT(ws_send(&c.ws, WS_OP_BINARY, data, sizes[k]), WS_OK);
        tr_add(want, &wl, sizeof want, "BIN");
        tr_payload(want, &wl, sizeof want, data, sizes[k]);
        tr_add(want, &wl, sizeof want, ";");
    }
    CHECK_MEM(data, sizeof data, copy, sizeof copy);
    drain(&c);
    char got[512];
    decode_wire(c.wire, c.wirelen, 1, got, sizeof got);
    CHECK_STR(got, want);
    peer_free(&c);

    /* 1000 frames: 1000 distinct keys, none all-zero */
    client_open(&c, 65536, 1u << 16, 78);
    uint32_t keys[1000];
    for (int i = 0; i < 1000; i++) {
        CHECK_INT(ws_send(&c.ws, WS_OP_TEXT, (const uint8_t *)"k", 1), WS_OK);
        const uint8_t *o;
        size_t n = ws_output(&c.ws, &o);
        CHECK_INT(n, 7);
        keys[i] = (uint32_t)o[2] << 24 | (uint32_t)o[3] << 16 | (uint32_t)o[4] << 8 | o[5];
        CHECK_INT(o[1], 0x81);
        ws_output_ack(&c.ws, n);
    }
    int dup = 0, zero = 0;
    for (int i = 0; i < 1000; i++) {
        zero += keys[i] == 0;
        for (int j = 0; j < i; j++)
            dup += keys[i] == keys[j];
    }
    CHECK_INT(dup, 0);
    CHECK_INT(zero, 0);
    peer_free(&c);
}

/* The output never grows: WOULD_BLOCK when it is full now, TOO_BIG when it never fits;
 * partial acks free exactly that much; a 30 KiB message fits the default size. */
static void test_backpressure(void)
{
    peer c;
    client_open(&c, 65536, WS_OUTBUF_MIN, 1);
    static uint8_t data[40000];
    memset(data, 'z', sizeof data);
    CHECK_INT(ws_send(&c.ws, WS_OP_TEXT, data, WS_OUTBUF_MIN), WS_ERR_TOO_BIG);
    CHECK_INT(ws_send(&c.ws, WS_OP_TEXT, data, 200), WS_OK); /* 208 bytes */
    CHECK_INT(ws_send(&c.ws, WS_OP_TEXT, data, 200), WS_OK); /* 416 */
    CHECK_INT(ws_send(&c.ws, WS_OP_TEXT, data, 200), WS_ERR_WOULD_BLOCK);
    const uint8_t *o;
    CHECK_INT(ws_output(&c.ws, &o), 416);
    ws_output_ack(&c.ws, 100);
    CHECK_INT(ws_output(&c.ws, &o), 316);
    CHECK_INT(ws_send(&c.ws, WS_OP_TEXT, data, 200), WS_ERR_WOULD_BLOCK); /* 316+208 > 512 */
    ws_output_ack(&c.ws, 108);                               /* first frame fully out */
    CHECK_INT(ws_send(&c.ws, WS_OP_TEXT, data, 200), WS_OK); /* compacts to the front */
    CHECK_INT(ws_output(&c.ws, &o), 416);
    ws_output_ack(&c.ws, 416);
    CHECK_INT(ws_output(&c.ws, &o), 0);
    peer_free(&c);

    client_open(&c, 65536, LIM_WS_OUT_DEFAULT, 1);
    CHECK_INT(ws_send(&c.ws, WS_OP_TEXT, data, LIM_TB_OUT_MESSAGE), WS_OK);
    CHECK_INT(ws_ping(&c.ws, NULL, 0), WS_OK);
    drain(&c);
    char got[128], want[128];
    size_t wl = 0;
    decode_wire(c.wire, c.wirelen, 1, got, sizeof got);
    tr_add(want, &wl, sizeof want, "TEXT");
    tr_payload(want, &wl, sizeof want, data, LIM_TB_OUT_MESSAGE);
    tr_add(want, &wl, sizeof want, ";PING'';");
    CHECK_STR(got, want);
    peer_free(&c);
}

/* While output is full, pings are answered through the pong slot: only the latest ping
 * is answered (RFC 6455 5.5.3 allows it), and it goes out before any later data. A close
 * that does not fit waits in its slot too. */
static void test_pong_and_close_slots(void)
{
    peer c;
    client_open(&c, 65536, WS_OUTBUF_MIN, 1);
    static uint8_t data[600];
    memset(data, 'd', sizeof data);
    CHECK_INT(ws_send(&c.ws, WS_OP_BINARY, data, 500), WS_OK); /* 508 of 512 used */
    uint8_t in[64];
    size_t n = unhex("89 01 '1' 89 01 '2' 89 01 '3'", in, sizeof in);
    feed(&c, in, n);
    CHECK_STR(c.tr, "PING'1';PING'2';PING'3';");
    CHECK_INT(ws_send(&c.ws, WS_OP_TEXT, (const uint8_t *)"x", 1), WS_ERR_WOULD_BLOCK);
    CHECK_INT(ws_close(&c.ws, 1000, NULL), WS_OK); /* never blocks */
    CHECK_INT(ws_send(&c.ws, WS_OP_TEXT, (const uint8_t *)"x", 1), WS_ERR_STATE);
    drain(&c);
    char got[256];
    decode_wire(c.wire, c.wirelen, 1, got, sizeof got);
    char want[256];
    size_t wl = 0;
    tr_add(want, &wl, sizeof want, "BIN");
    tr_payload(want, &wl, sizeof want, data, 500);
    tr_add(want, &wl, sizeof want, ";PONG'3';CLOSE 1000;");
    CHECK_STR(got, want);
    peer_free(&c);

    /* a ping storm while nobody drains: memory is the fixed buffer, one pong pending */
    client_open(&c, 65536, WS_OUTBUF_MIN, 1);
    static uint8_t storm[2 * 65536];
    for (size_t i = 0; i < sizeof storm; i += 2) {
        storm[i] = 0x89;
        storm[i + 1] = 0;
    }
    feed(&c, storm, sizeof storm);
    const uint8_t *o;
    CHECK(ws_output(&c.ws, &o) <= WS_OUTBUF_MIN);
    CHECK_INT(c.ws.pong_pending, 1);
    peer_free(&c);
}

static void test_send_states_and_args(void)
{
    peer c;
    client_open(&c, 65536, 65536, 1);
    uint8_t p126[126] = { 0 };
    CHECK_INT(ws_send(&c.ws, WS_OP_CLOSE, NULL, 0), WS_ERR_ARG);
    CHECK_INT(ws_send(&c.ws, 3, NULL, 0), WS_ERR_ARG);
    CHECK_INT(ws_ping(&c.ws, p126, 126), WS_ERR_ARG);
    CHECK_INT(ws_send(&c.ws, WS_OP_TEXT, NULL, 5), WS_ERR_ARG);
    CHECK_INT(ws_close(&c.ws, 1005, NULL), WS_ERR_ARG);
    CHECK_INT(ws_close(&c.ws, 999, NULL), WS_ERR_ARG);
    CHECK_INT(ws_send_fragmented(&c.ws, WS_OP_TEXT, p126, 10, 0), WS_ERR_ARG);
    /* streaming: first frame sets the opcode, pings may go between, data may not */
    CHECK_INT(ws_send_frame(&c.ws, WS_OP_CONT, 0, p126, 1), WS_ERR_STATE);
    CHECK_INT(ws_send_frame(&c.ws, WS_OP_TEXT, 0, (const uint8_t *)"ab", 2), WS_OK);
    CHECK_INT(ws_send(&c.ws, WS_OP_TEXT, (const uint8_t *)"x", 1), WS_ERR_STATE);
    CHECK_INT(ws_send_frame(&c.ws, WS_OP_TEXT, 1, (const uint8_t *)"x", 1), WS_ERR_STATE);
    CHECK_INT(ws_ping(&c.ws, (const uint8_t *)"p", 1), WS_OK);
    CHECK_INT(ws_send_frame(&c.ws, WS_OP_CONT, 1, (const uint8_t *)"cd", 2), WS_OK);
    CHECK_INT(ws_send_fragmented(&c.ws, WS_OP_BINARY, (const uint8_t *)"12345", 5, 2), WS_OK);
    CHECK_INT(ws_send_fragmented(&c.ws, WS_OP_TEXT, NULL, 0, 2), WS_OK);
    /* reason cut to 123 bytes so the body stays within 125 */
    char longr[300];
    memset(longr, 'r', sizeof longr - 1);
    longr[sizeof longr - 1] = 0;
    CHECK_INT(ws_close(&c.ws, 4000, longr), WS_OK);
    CHECK_INT(ws_ping(&c.ws, NULL, 0), WS_ERR_STATE);
    drain(&c);
    char got[1024], want[1024];
    size_t wl = 0;
    decode_wire(c.wire, c.wirelen, 1, got, sizeof got);
    tr_add(want, &wl, sizeof want,
           "TEXT+'ab';PING'p';CONT'cd';BIN+'12';CONT+'34';CONT'5';"
           "TEXT'';CLOSE 4000");
    tr_payload(want, &wl, sizeof want, (const uint8_t *)longr, 123);
    tr_add(want, &wl, sizeof want, ";");
    CHECK_STR(got, want);
    CHECK_INT(ws_close_code_sent(&c.ws), 4000);
    peer_free(&c);

    /* server role: frames are not masked */
    peer s;
    peer_init(&s, WS_SERVER, WS_MSGBUF_MIN, WS_OUTBUF_MIN, 1);
    CHECK_INT(ws_send(&s.ws, WS_OP_TEXT, (const uint8_t *)"x", 1), WS_ERR_STATE);
    const char *req =
        "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    feed(&s, (const uint8_t *)req, strlen(req));
    drain(&s);
    s.wirelen = 0;
    CHECK_INT(ws_send(&s.ws, WS_OP_TEXT, (const uint8_t *)"Hello", 5), WS_OK);
    drain(&s);
    CHECK_MEM(s.wire, s.wirelen, "\x81\x05Hello", 7);
    peer_free(&s);
}

static void test_init_and_strings(void)
{
    ws_ctx ws;
    static uint8_t m[WS_MSGBUF_MIN], o[WS_OUTBUF_MIN];
    uint32_t r = 1;
    CHECK_INT(ws_init(&ws, WS_CLIENT, m, sizeof m - 1, o, sizeof o, test_rng, &r), WS_ERR_ARG);
    CHECK_INT(ws_init(&ws, WS_CLIENT, m, sizeof m, o, sizeof o - 1, test_rng, &r), WS_ERR_ARG);
    CHECK_INT(ws_init(&ws, WS_CLIENT, m, sizeof m, o, sizeof o, NULL, NULL), WS_ERR_ARG);
    CHECK_INT(ws_init(&ws, WS_SERVER, m, sizeof m, o, sizeof o, NULL, NULL), WS_OK);
    CHECK_INT(ws_init(&ws, WS_CLIENT, m, sizeof m, o, sizeof o, test_rng, &r), WS_OK);
    CHECK_INT(ws_state(&ws), WS_ST_INIT);
    for (int e = -400; e <= 0; e++) {
        const char *s = ws_strerror(e);
        CHECK(s != NULL && (e == 0 || strncmp(s, "websocket", 9) == 0));
    }
    CHECK_STR(ws_strerror(WS_ERR_UTF8), "websocket: text message is not UTF-8");
    CHECK_INT(ws_error_close_code(WS_ERR_UTF8), 1007);
    CHECK_INT(ws_error_close_code(WS_ERR_MSG_TOO_BIG), 1009);
    CHECK_INT(ws_error_close_code(WS_ERR_RSV), 1002);
    CHECK_INT(ws_error_close_code(WS_ERR_HS_STATUS), 0);
}

int main(void)
{
    RUN(test_frame_header_vectors);
    RUN(test_client_masking);
    RUN(test_backpressure);
    RUN(test_pong_and_close_slots);
    RUN(test_send_states_and_args);
    RUN(test_init_and_strings);
    return harness_done();
}
