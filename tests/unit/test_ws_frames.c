/*
 * test_ws_frames.c -- the frame decoder in the client role: every rule of RFC 6455
 * framing, control frames, reassembly, UTF-8, size limit and the close handshake, as a
 * table of raw server bytes -> events + our reply frames. Every row is fed whole, split
 * at every point into two pieces, and one byte at a time; all must agree.
 */
#include "tests/unit/test_ws_util.h"

typedef struct {
    const char *name;
    const char *in;     /* hex + 'text' (see unhex) */
    const char *events; /* transcript */
    const char *reply;  /* our frames, decoded */
    size_t msgcap;      /* 0: 65536 */
} row;

#define REPLY_1002 "CLOSE 1002;"

static const row ROWS[] = {
    { "text", "81 05 'Hello'", "T'Hello';", "", 0 },
    { "empty text", "81 00", "T'';", "", 0 },
    { "empty binary", "82 00", "B'';", "", 0 },
    { "fragmented text (RFC 5.7)", "01 03 'Hel' 80 02 'lo'", "T'Hello';", "", 0 },
    { "three fragments, empty middle", "01 01 'a' 00 00 80 01 'b'", "T'ab';", "", 0 },
    { "two messages", "81 01 'a' 82 01 'b'", "T'a';B'b';", "", 0 },
    { "ping gets pong", "89 05 'Hello'", "PING'Hello';", "PONG'Hello';", 0 },
    { "empty ping", "89 00", "PING'';", "PONG'';", 0 },
    { "pong reported, not answered", "8a 01 'p'", "PONG'p';", "", 0 },
    { "ping between fragments", "01 03 'Hel' 89 01 'x' 80 02 'lo'", "PING'x';T'Hello';", "PONG'x';",
      0 },
    { "pong between fragments", "02 01 'a' 8a 00 80 01 'b'", "PONG'';B'ab';", "", 0 },
    { "16-bit length 126",
      "82 7e 00 7e '0123456789012345678901234567890123456789012345678901234567890123"
      "45678901234567890123456789012345678901234567890123456789012345'",
      "B#126/393ee24e;", "", 0 },
    { "utf-8 split inside code point across fragments", "01 01 ce 80 01 ba", "T'\\xce\\xba';", "",
      0 },
    /* framing errors: 1002 */
    { "masked frame from server", "81 85 37 fa 21 3d 7f 9f 4d 51 58", "ERR MASK 1002;", REPLY_1002,
      0 },
    { "rsv1", "c1 05 'Hello'", "ERR RSV 1002;", REPLY_1002, 0 },
    { "rsv2", "a1 00", "ERR RSV 1002;", REPLY_1002, 0 },
    { "rsv3 on ping", "99 00", "ERR RSV 1002;", REPLY_1002, 0 },
    { "rsv on close", "f8 00", "ERR RSV 1002;", REPLY_1002, 0 },
    { "opcode 3", "83 00", "ERR OPCODE 1002;", REPLY_1002, 0 },
    { "opcode 7 with payload", "87 01 'x'", "ERR OPCODE 1002;", REPLY_1002, 0 },
    { "opcode 0xb", "8b 00", "ERR OPCODE 1002;", REPLY_1002, 0 },
    { "opcode 0xf", "8f 01 'x'", "ERR OPCODE 1002;", REPLY_1002, 0 },
    { "ping of 126 bytes", "89 7e 00 7e", "ERR CONTROL_LEN 1002;", REPLY_1002, 0 },
    { "fragmented ping", "09 01 'a' 80 01 'b'", "ERR CONTROL_FRAG 1002;", REPLY_1002, 0 },
    { "fragmented pong", "0a 00", "ERR CONTROL_FRAG 1002;", REPLY_1002, 0 },
    { "continuation without message", "80 01 'x'", "ERR CONT 1002;", REPLY_1002, 0 },
    { "non-final continuation without message", "00 00", "ERR CONT 1002;", REPLY_1002, 0 },
    { "text inside fragmented message", "01 01 'a' 81 01 'b'", "ERR NOT_CONT 1002;", REPLY_1002,
      0 },
    { "binary inside fragmented text", "01 01 'a' 02 01 'b'", "ERR NOT_CONT 1002;", REPLY_1002, 0 },
    { "non-minimal 16-bit length", "82 7e 00 05 'abcde'", "ERR LENGTH 1002;", REPLY_1002, 0 },
    { "non-minimal 64-bit length", "82 7f 00 00 00 00 00 00 ff ff", "ERR LENGTH 1002;", REPLY_1002,
      0 },
    { "64-bit length top bit", "82 7f 80 00 00 00 00 00 00 01", "ERR LENGTH 1002;", REPLY_1002, 0 },
    { "message before bad frame is delivered", "81 01 'a' c1 00", "T'a';ERR RSV 1002;", REPLY_1002,
      0 },
    { "nothing after a failure", "c1 00 89 00 81 01 'a'", "ERR RSV 1002;", REPLY_1002, 0 },
    /* UTF-8: 1007, fail fast */
    { "invalid byte", "81 01 ff", "ERR UTF8 1007;", "CLOSE 1007;", 0 },
    { "ends inside code point", "81 01 ce", "ERR UTF8 1007;", "CLOSE 1007;", 0 },
    { "bad byte in a later fragment", "01 01 'a' 00 01 c0 80 01 'b'", "ERR UTF8 1007;",
      "CLOSE 1007;", 0 },
    { "surrogate", "81 03 ed a0 80", "ERR UTF8 1007;", "CLOSE 1007;", 0 },
    { "over U+10FFFF", "81 04 f4 90 80 80", "ERR UTF8 1007;", "CLOSE 1007;", 0 },
    { "overlong slash", "81 02 c0 af", "ERR UTF8 1007;", "CLOSE 1007;", 0 },
    { "binary is not checked", "82 02 ff fe", "B'\\xff\\xfe';", "", 0 },
    { "non-character U+FFFE is valid", "81 03 ef bf be", "T'\\xef\\xbf\\xbe';", "", 0 },
    /* size limit: 1009 before the payload */
    { "frame over the limit", "82 7e 20 01", "ERR MSG_TOO_BIG 1009;", "CLOSE 1009;", 8192 },
    { "frame at the limit header", "82 7f 40 00 00 00 00 00 00 00", "ERR MSG_TOO_BIG 1009;",
      "CLOSE 1009;", 8192 },
    { "fragments growing over the limit", "02 7e 10 00", "", "", 8192 }, /* see below */
    /* close handshake */
    { "close 1000", "88 02 03 e8", "CLOSED 1000 clean peer;", "CLOSE 1000;", 0 },
    { "close with reason", "88 05 03 e8 'bye'", "CLOSED 1000 clean peer'bye';", "CLOSE 1000;", 0 },
    { "empty close", "88 00", "CLOSED 1005 clean peer;", "CLOSE;", 0 },
    { "close 1-byte body", "88 01 03", "ERR CLOSE_BODY 1002;", REPLY_1002, 0 },
    { "close reason not utf-8", "88 04 03 e8 ff ff", "ERR CLOSE_UTF8 1002;", REPLY_1002, 0 },
    { "close reason cut in code point", "88 03 03 e8 ce", "ERR CLOSE_UTF8 1002;", REPLY_1002, 0 },
    { "nothing after close", "88 02 03 e8 81 01 'a' 89 00", "CLOSED 1000 clean peer;",
      "CLOSE 1000;", 0 },
    { "close inside fragmented message", "01 01 'a' 88 02 03 e8", "CLOSED 1000 clean peer;",
      "CLOSE 1000;", 0 },
    { "ping then close", "89 01 'p' 88 02 0b b8", "PING'p';CLOSED 3000 clean peer;",
      "PONG'p';CLOSE 3000;", 0 },
};

static void run_pieces(const uint8_t *in, size_t len, const size_t *cuts, size_t ncuts,
                       size_t msgcap, char *events, char *reply)
{
    peer c;
    client_open(&c, msgcap, 1u << 20, 42);
    size_t prev = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : len;
        feed(&c, in + prev, end - prev);
        drain(&c);
        prev = end;
    }
    copy_str(events, 8192, c.tr);
    decode_wire(c.wire, c.wirelen, 1, reply, 8192);
    peer_free(&c);
}

/* Whole, every 2-piece split, and byte by byte; compares with the expectation. */
static void check_all_splits(const char *name, const uint8_t *in, size_t len, size_t msgcap,
                             const char *want_ev, const char *want_reply)
{
    static char ev[8192], rep[8192];
    CHECK_CTX("%s: whole", name);
    run_pieces(in, len, NULL, 0, msgcap, ev, rep);
    CHECK_STR(ev, want_ev);
    CHECK_STR(rep, want_reply);
    size_t step = len > 4096 ? len / 257 : 1; /* long inputs: a spread of split points */
    for (size_t s = 1; s < len; s += step) {
        CHECK_CTX("%s: split at %zu", name, s);
        run_pieces(in, len, &s, 1, msgcap, ev, rep);
        CHECK_STR(ev, want_ev);
        CHECK_STR(rep, want_reply);
    }
    size_t *cuts = malloc(len * sizeof *cuts + 1);
    for (size_t s = 1; s < len; s++)
        cuts[s - 1] = s;
    CHECK_CTX("%s: byte by byte", name);
    run_pieces(in, len, cuts, len ? len - 1 : 0, msgcap, ev, rep);
    CHECK_STR(ev, want_ev);
    CHECK_STR(rep, want_reply);
    free(cuts);
}

static void test_frame_table(void)
{
    uint8_t in[1024];
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        const row *r = &ROWS[i];
        if (strcmp(r->name, "fragments growing over the limit") == 0)
            continue;
        size_t n = unhex(r->in, in, sizeof in);
        check_all_splits(r->name, in, n, r->msgcap ? r->msgcap : 65536, r->events, r->reply);
    }
}

/* Frames announcing lengths at each encoding boundary, delivered intact. */
static void test_length_boundaries(void)
{
    static const size_t sizes[] = { 0, 125, 126, 127, 128, 65535, 65536, 100000 };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        uint8_t *f = malloc(n + 14), *payload = f;
        size_t h = ws_frame_header(f, WS_OP_BINARY, 1, n, NULL);
        payload = f + h;
        for (size_t i = 0; i < n; i++)
            payload[i] = (uint8_t)(i * 7 + 3);
        char want[64];
        size_t wl = 0;
        want[0] = 0;
        tr_add(want, &wl, sizeof want, "B");
        tr_payload(want, &wl, sizeof want, payload, n);
        tr_add(want, &wl, sizeof want, ";");
        char name[32];
        snprintf(name, sizeof name, "length %zu", n);
        check_all_splits(name, f, h + n, 1u << 20, want, "");
        free(f);
    }
}

/* An endless fragmented message is failed with 1009 at the header that would pass the
 * limit; no payload beyond the limit is ever stored. */
static void test_fragments_over_limit(void)
{
    size_t cap = 8192, fl = 3000;
    uint8_t *in = malloc(4 * (fl + 4));
    size_t n = 0;
    for (int k = 0; k < 4; k++) {
        n += ws_frame_header(in + n, k ? WS_OP_CONT : WS_OP_BINARY, 0, fl, NULL);
        memset(in + n, 'x', fl);
        n += fl;
    }
    check_all_splits("fragments over limit", in, n, cap, "ERR MSG_TOO_BIG 1009;", "CLOSE 1009;");
    free(in);
}

/* Exactly msgcap bytes is allowed; one more is not. */
static void test_limit_exact(void)
{
    size_t cap = 8192;
    uint8_t *in = malloc(cap + 20);
    size_t h = ws_frame_header(in, WS_OP_TEXT, 1, cap, NULL);
    memset(in + h, 'a', cap);
    char want[64];
    snprintf(want, sizeof want, "T#%zu/%08x;", cap, fnv(in + h, cap));
    check_all_splits("exact limit", in, h + cap, cap, want, "");
    free(in);
}

/* Fail fast (Autobahn 6.4): the error comes as soon as the bad byte arrives, before
 * the rest of the frame or the final fragment. */
static void test_utf8_fail_fast(void)
{
    peer c;
    client_open(&c, 65536, 65536, 3);
    uint8_t in[64];
    size_t n = unhex("01 05 ce ba e1 bd", in, sizeof in); /* valid so far, frame not done */
    feed(&c, in, n);
    CHECK_STR(c.tr, "");
    n = unhex("f4", in, sizeof in); /* f4 cannot follow e1 bd: bad right now */
    feed(&c, in, n);
    CHECK_STR(c.tr, "ERR UTF8 1007;");
    CHECK_INT(ws_state(&c.ws), WS_ST_FAILED);
    CHECK_INT(ws_last_error(&c.ws), WS_ERR_UTF8);
    peer_free(&c);

    client_open(&c, 65536, 65536, 3);
    n = unhex("81 04 f4 90", in, sizeof in); /* > U+10FFFF: known at the second byte */
    feed(&c, in, n);
    CHECK_STR(c.tr, "ERR UTF8 1007;");
    peer_free(&c);
}

/* All close codes of RFC 6455 7.4 as received from the peer. */
static void test_close_codes(void)
{
    static const unsigned valid[] = { 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                                      1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999 };
    static const unsigned invalid[] = { 0,    1,    999,  1004, 1005, 1006, 1015,
                                        1016, 1100, 2000, 2999, 5000, 65535 };
    uint8_t in[4] = { 0x88, 0x02, 0, 0 };
    char name[32], want[64], rep[64];
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        in[2] = (uint8_t)(valid[i] >> 8);
        in[3] = (uint8_t)valid[i];
        snprintf(name, sizeof name, "close %u", valid[i]);
        snprintf(want, sizeof want, "CLOSED %u clean peer;", valid[i]);
        snprintf(rep, sizeof rep, "CLOSE %u;", valid[i]);
        check_all_splits(name, in, 4, 65536, want, rep);
        CHECK(ws_close_code_valid(valid[i]));
    }
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        in[2] = (uint8_t)(invalid[i] >> 8);
        in[3] = (uint8_t)invalid[i];
        snprintf(name, sizeof name, "close %u", invalid[i]);
        check_all_splits(name, in, 4, 65536, "ERR CLOSE_CODE 1002;", REPLY_1002);
        CHECK(!ws_close_code_valid(invalid[i]));
    }
}

/* Close reasons of 123 bytes (the most a 125-byte body holds) are accepted. */
static void test_close_long_reason(void)
{
    uint8_t in[2 + 125];
    in[0] = 0x88;
    in[1] = 125;
    in[2] = 0x03;
    in[3] = 0xe8;
    memset(in + 4, 'r', 123);
    char want[128];
    size_t wl = 0;
    tr_add(want, &wl, sizeof want, "CLOSED 1000 clean peer");
    tr_payload(want, &wl, sizeof want, in + 4, 123);
    tr_add(want, &wl, sizeof want, ";");
    check_all_splits("close 123-byte reason", in, sizeof in, 65536, want, "CLOSE 1000;");
}

/* Our close first, then the peer's answer: clean, closed by us; data frames that the
 * peer sent before its close are still delivered. */
static void test_close_we_start(void)
{
    peer c;
    client_open(&c, 65536, 65536, 5);
    CHECK_INT(ws_close(&c.ws, 1000, "done"), WS_OK);
    CHECK_INT(ws_state(&c.ws), WS_ST_CLOSING);
    CHECK_INT(ws_send(&c.ws, WS_OP_TEXT, (const uint8_t *)"x", 1), WS_ERR_STATE);
    CHECK_INT(ws_close(&c.ws, 1000, NULL), WS_ERR_STATE);
    uint8_t in[32];
    size_t n = unhex("81 01 'a' 89 01 'p' 88 02 03 e8", in, sizeof in);
    feed(&c, in, n);
    drain(&c);
    CHECK_STR(c.tr, "T'a';PING'p';CLOSED 1000 clean us;");
    char rep[256];
    decode_wire(c.wire, c.wirelen, 1, rep, sizeof rep);
    CHECK_STR(rep, "CLOSE 1000'done';"); /* no pong after our close */
    CHECK_INT(ws_state(&c.ws), WS_ST_CLOSED);
    CHECK_INT(ws_close_code_received(&c.ws), 1000);
    CHECK_INT(ws_close_code_sent(&c.ws), 1000);
    ws_eof(&c.ws);
    take_events(&c);
    CHECK_STR(c.tr, "T'a';PING'p';CLOSED 1000 clean us;"); /* nothing new */
    peer_free(&c);
}

/* Transport lost while open: CLOSED 1006, unclean; EOF while an event is pending comes
 * after it. */
static void test_eof(void)
{
    peer c;
    client_open(&c, 65536, 65536, 5);
    uint8_t in[8];
    size_t n = unhex("81 01 'a'", in, sizeof in);
    CHECK_INT(ws_push(&c.ws, in, n), n);
    ws_eof(&c.ws);
    take_events(&c);
    CHECK_STR(c.tr, "T'a';CLOSED 1006 unclean peer;");
    CHECK_INT(ws_last_error(&c.ws), WS_ERR_EOF);
    peer_free(&c);
}

/* A whole message inside one push is handed out in place (its bytes, not a copy); a
 * message split over two pushes, or fragmented, is assembled in msgbuf. Bad UTF-8 in
 * place still fails with 1007. */
static void test_message_in_place(void)
{
    peer c;
    ws_event ev;
    client_open(&c, 65536, 65536, 11);
    uint8_t in[64];
    size_t n = unhex("81 03 'abc' 82 02 'xy'", in, sizeof in);
    size_t k = ws_push(&c.ws, in, n);
    CHECK_INT(k, 5);
    CHECK_INT(ws_next_event(&c.ws, &ev), WS_EV_MESSAGE);
    CHECK(ev.data == in + 2 && ev.len == 3 && ev.opcode == WS_OP_TEXT);
    CHECK_INT(ws_push(&c.ws, in + k, n - k), n - k);
    CHECK_INT(ws_next_event(&c.ws, &ev), WS_EV_MESSAGE);
    CHECK(ev.data == in + 7 && ev.len == 2 && ev.opcode == WS_OP_BINARY);

    n = unhex("81 05 'Hello'", in, sizeof in);
    CHECK_INT(ws_push(&c.ws, in, 4), 4); /* header and "He" */
    CHECK_INT(ws_next_event(&c.ws, &ev), WS_EV_NONE);
    CHECK_INT(ws_push(&c.ws, in + 4, n - 4), n - 4);
    CHECK_INT(ws_next_event(&c.ws, &ev), WS_EV_MESSAGE);
    CHECK(ev.data == c.msg && ev.len == 5 && memcmp(ev.data, "Hello", 5) == 0);

    n = unhex("01 02 'ab' 80 01 'c'", in, sizeof in);
    CHECK_INT(ws_push(&c.ws, in, n), n);
    CHECK_INT(ws_next_event(&c.ws, &ev), WS_EV_MESSAGE);
    CHECK(ev.data == c.msg && ev.len == 3 && memcmp(ev.data, "abc", 3) == 0);

    n = unhex("81 02 ce ba", in, sizeof in); /* valid UTF-8, not ASCII: still in place */
    CHECK_INT(ws_push(&c.ws, in, n), n);
    CHECK_INT(ws_next_event(&c.ws, &ev), WS_EV_MESSAGE);
    CHECK(ev.data == in + 2 && ev.len == 2);

    n = unhex("81 02 c3 28", in, sizeof in);
    ws_push(&c.ws, in, n);
    CHECK_INT(ws_next_event(&c.ws, &ev), WS_EV_ERROR);
    CHECK_INT(ev.err, WS_ERR_UTF8);
    CHECK_INT(ev.close_code, 1007);
    peer_free(&c);
}

/* A message read in place is checked byte by byte, word-wise (32, 8, then the last
 * 8 again): one byte that is not ASCII, at any position of a message of any length up
 * to 140 (16-bit lengths from 126), makes it go through the validator. A lone 0xFF is
 * refused there; a two-byte character is delivered whole, still in place. */
static void test_in_place_every_position(void)
{
    static uint8_t in[4 + 140];
    long wrong = 0;
    for (size_t n = 1; n <= 140; n++) {
        size_t h = n < 126 ? 2 : 4;
        in[0] = 0x81;
        in[1] = n < 126 ? (uint8_t)n : 126;
        in[2] = (uint8_t)(n >> 8);
        in[3] = (uint8_t)n;
        for (size_t k = 0; k < n; k++) {
            for (int good = 0; good < 2 && (!good || k + 1 < n); good++) {
                peer c;
                ws_event ev;
                client_open(&c, LIM_WS_HANDSHAKE_BYTES, 4096, 5);
                memset(in + h, 'a', n);
                in[h + k] = good ? 0xC3 : 0xFF;
                if (good)
                    in[h + k + 1] = 0xA9;
                ws_push(&c.ws, in, h + n);
                int t = ws_next_event(&c.ws, &ev);
                if (good)
                    wrong += t != WS_EV_MESSAGE || ev.data != in + h || ev.len != n;
                else
                    wrong += t != WS_EV_ERROR || ev.err != WS_ERR_UTF8;
                peer_free(&c);
            }
        }
    }
    CHECK_INT(wrong, 0);
}

/* The same connection, many messages and a ping in each gap, fed in random-sized
 * chunks: a longer stream than the table rows. */
static void test_stream_random_chunks(void)
{
    uint8_t *in = malloc(200000);
    size_t n = 0;
    for (int m = 0; m < 200; m++) {
        size_t len = (size_t)(m * 37) % 700;
        n += ws_frame_header(in + n, WS_OP_TEXT, 0, len / 2, NULL);
        memset(in + n, 'a' + m % 26, len / 2);
        n += len / 2;
        n += ws_frame_header(in + n, WS_OP_PING, 1, 1, NULL);
        in[n++] = (uint8_t)m;
        n += ws_frame_header(in + n, WS_OP_CONT, 1, len - len / 2, NULL);
        memset(in + n, 'a' + m % 26, len - len / 2);
        n += len - len / 2;
    }
    peer whole, chunked;
    client_open(&whole, 65536, 1u << 20, 9);
    client_open(&chunked, 65536, 1u << 20, 9);
    feed(&whole, in, n);
    uint32_t r = 12345;
    for (size_t i = 0; i < n;) {
        uint8_t b;
        test_rng(&r, &b, 1);
        size_t k = 1 + b % 97;
        if (k > n - i)
            k = n - i;
        feed(&chunked, in + i, k);
        i += k;
    }
    CHECK_STR(chunked.tr, whole.tr);
    CHECK_INT(strlen(whole.tr) > 1000, 1);
    peer_free(&whole);
    peer_free(&chunked);
    free(in);
}

int main(void)
{
    RUN(test_frame_table);
    RUN(test_length_boundaries);
    RUN(test_fragments_over_limit);
    RUN(test_limit_exact);
    RUN(test_utf8_fail_fast);
    RUN(test_close_codes);
    RUN(test_close_long_reason);
    RUN(test_close_we_start);
    RUN(test_eof);
    RUN(test_message_in_place);
    RUN(test_in_place_every_position);
    RUN(test_stream_random_chunks);
    return harness_done();
}
