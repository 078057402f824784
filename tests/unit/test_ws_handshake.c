/*
 * test_ws_handshake.c -- the opening handshake, both roles.
 *
 * Client: the request's shape and key freshness; a table of server responses (valid
 * variants and every rejection of RFC 6455 4.1, with the HTTP status and reason that
 * callers act on), each fed whole, at every split point and byte by byte. Server: the
 * RFC 6455 sample key, and bad requests answered with 400. Then both roles talk to each
 * other, and frames glued to the 101 survive.
 */
#include "core/b64.h"
#include "core/sha1.h"
#include "tests/unit/test_ws_util.h"

/* Starts a client, returns its request text and the accept value a server must send. */
static void start_client(peer *c, uint32_t seed, char *req, size_t reqcap, char accept[29])
{
    peer_init(c, WS_CLIENT, 65536, 65536, seed);
    CHECK_INT(ws_client_handshake(&c->ws, "example.com:8443", "/api/ws?x=1", "User-Agent: t/1\r\n"),
              WS_OK);
    CHECK_INT(ws_state(&c->ws), WS_ST_HANDSHAKE);
    drain(c);
    snprintf(req, reqcap, "%.*s", (int)c->wirelen, (const char *)c->wire);
    const char *k = strstr(req, "Sec-WebSocket-Key: ");
    CHECK(k != NULL);
    char key[25] = "";
    if (k)
        snprintf(key, sizeof key, "%.24s", k + 19);
    sha1_ctx h;
    uint8_t d[SHA1_LEN];
    sha1_init(&h);
    sha1_update(&h, key, 24);
    sha1_update(&h, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
    sha1_final(&h, d);
    b64_encode(d, sizeof d, accept, 29);
}

static void test_client_request(void)
{
    peer a, b;
    char ra[1024], rb[1024], acc[29];
    start_client(&a, 1, ra, sizeof ra, acc);
    start_client(&b, 2, rb, sizeof rb, acc);
    CHECK(strncmp(ra, "GET /api/ws?x=1 HTTP/1.1\r\n", 26) == 0);
    CHECK(strstr(ra, "\r\nHost: example.com:8443\r\n") != NULL);
    CHECK(strstr(ra, "\r\nUpgrade: websocket\r\n") != NULL);
    CHECK(strstr(ra, "\r\nConnection: Upgrade\r\n") != NULL);
    CHECK(strstr(ra, "\r\nSec-WebSocket-Version: 13\r\n") != NULL);
    CHECK(strstr(ra, "\r\nUser-Agent: t/1\r\n\r\n") != NULL);
    size_t n = strlen(ra);
    CHECK(n > 4 && strcmp(ra + n - 4, "\r\n\r\n") == 0);
    /* the key is 16 random bytes, base64, different per connection */
    const char *ka = strstr(ra, "Sec-WebSocket-Key: ") + 19;
    const char *kb = strstr(rb, "Sec-WebSocket-Key: ") + 19;
    uint8_t raw[20];
    CHECK_INT(b64_decode(ka, 24, raw, sizeof raw), 16);
    CHECK(strncmp(ka, kb, 24) != 0);
    CHECK_INT(ws_client_handshake(&a.ws, "h", "/", NULL), WS_ERR_STATE);
    peer_free(&a);
    peer_free(&b);

    peer c;
    peer_init(&c, WS_CLIENT, 65536, 65536, 1);
    CHECK_INT(ws_client_handshake(&c.ws, "h", "no-slash", NULL), WS_ERR_ARG);
    CHECK_INT(ws_client_handshake(&c.ws, "h", "/a b", NULL), WS_ERR_ARG);
    CHECK_INT(ws_client_handshake(&c.ws, "h\r\nX: y", "/", NULL), WS_ERR_ARG);
    CHECK_INT(ws_client_handshake(&c.ws, "h", "/", "X: no-crlf"), WS_ERR_ARG);
    CHECK_INT(ws_client_handshake(&c.ws, "h", "/", "X: y\r\n\r\nGET"), WS_ERR_ARG);
    CHECK_INT(ws_send(&c.ws, WS_OP_TEXT, (const uint8_t *)"x", 1), WS_ERR_STATE);
    peer_free(&c);
}

typedef struct {
    const char *name;
    const char *resp; /* %s = the right accept value */
    const char *events;
} hs_row;

#define UPG "Upgrade: websocket\r\nConnection: Upgrade\r\n"
static const hs_row HS[] = {
    { "valid", "HTTP/1.1 101 Switching Protocols\r\n" UPG "Sec-WebSocket-Accept: %s\r\n\r\n",
      "OPEN;" },
    { "valid, odd case and lists",
      "HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nCONNECTION: keep-alive, upgrade\r\n"
      "sec-websocket-accept:   %s  \r\nServer: x\r\n\r\n",
      "OPEN;" },
    { "valid, no reason phrase", "HTTP/1.1 101\r\n" UPG "Sec-WebSocket-Accept: %s\r\n\r\n",
      "OPEN;" },
    { "valid, empty extensions header",
      "HTTP/1.1 101 S\r\n" UPG "Sec-WebSocket-Extensions: \r\nSec-WebSocket-Accept: %s\r\n\r\n",
      "OPEN;" },
    { "401", "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
      "ERR HS_STATUS 0 401'Unauthorized';" },
    { "404", "HTTP/1.1 404 Not Found\r\n\r\n", "ERR HS_STATUS 0 404'Not Found';" },
    { "200", "HTTP/1.1 200 OK\r\n\r\n", "ERR HS_STATUS 0 200'OK';" },
    { "301", "HTTP/1.1 301 Moved Permanently\r\nLocation: ws://evil/\r\n\r\n",
      "ERR HS_STATUS 0 301'Moved Permanently';" },
    { "426", "HTTP/1.1 426 Upgrade Required\r\n\r\n", "ERR HS_STATUS 0 426'Upgrade Required';" },
    { "500", "HTTP/1.1 500 Internal Server Error\r\n\r\n",
      "ERR HS_STATUS 0 500'Internal Server Error';" },
    { "502", "HTTP/1.0 502 Bad Gateway\r\n\r\n", "ERR HS_STATUS 0 502'Bad Gateway';" },
    { "503", "HTTP/1.1 503 Service Unavailable\r\n\r\n",
      "ERR HS_STATUS 0 503'Service Unavailable';" },
    { "no upgrade", "HTTP/1.1 101 S\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
      "ERR HS_UPGRADE 0 101'S';" },
    { "wrong upgrade",
      "HTTP/1.1 101 S\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: %s\r\n\r\n",
      "ERR HS_UPGRADE 0 101'S';" },
    { "no connection", "HTTP/1.1 101 S\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: %s\r\n\r\n",
      "ERR HS_CONNECTION 0 101'S';" },
    { "connection without upgrade token",
      "HTTP/1.1 101 S\r\nUpgrade: websocket\r\n"
      "Connection: keep-alive, upgraded\r\nSec-WebSocket-Accept: %s\r\n\r\n",
      "ERR HS_CONNECTION 0 101'S';" },
    { "no accept", "HTTP/1.1 101 S\r\n" UPG "\r\n", "ERR HS_ACCEPT 0 101'S';" },
    { "wrong accept",
      "HTTP/1.1 101 S\r\n" UPG "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
      "ERR HS_ACCEPT 0 101'S';" },
    { "duplicated accept",
      "HTTP/1.1 101 S\r\n" UPG "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Accept: %s\r\n\r\n",
      "ERR HS_ACCEPT 0 101'S';" },
    { "extension not offered",
      "HTTP/1.1 101 S\r\n" UPG
      "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
      "ERR HS_EXTENSION 0 101'S';" },
    { "subprotocol not offered",
      "HTTP/1.1 101 S\r\n" UPG "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
      "ERR HS_PROTOCOL 0 101'S';" },
    { "not http", "SSH-2.0-OpenSSH\r\n\r\n", "ERR HS_MALFORMED 0;" },
    { "bad status digits", "HTTP/1.1 1x1 S\r\n\r\n", "ERR HS_MALFORMED 0;" },
    { "header without colon", "HTTP/1.1 101 S\r\n" UPG "Bogus\r\n\r\n",
      "ERR HS_MALFORMED 0 101'S';" },
    { "obsolete line folding", "HTTP/1.1 101 S\r\n" UPG "X: a\r\n  b\r\n\r\n",
      "ERR HS_MALFORMED 0 101'S';" },
    { "bare LF line", "HTTP/1.1 101 S\r\nX: a\nY: b\r\n\r\n", "ERR HS_MALFORMED 0 101'S';" },
};

/* tmpl with every "%s" replaced by val (no printf: the templates are data) */
static void subst(char *out, size_t cap, const char *tmpl, const char *val)
{
    size_t o = 0, vl = strlen(val);
    for (const char *p = tmpl; *p && o + vl + 1 < cap; p++) {
        if (p[0] == '%' && p[1] == 's') {
            memcpy(out + o, val, vl);
            o += vl;
            p++;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = 0;
}

static void run_hs(const char *resp, size_t len, const size_t *cuts, size_t ncuts, char *ev)
{
    peer c;
    char req[1024], acc[29];
    start_client(&c, 11, req, sizeof req, acc);
    (void)acc;
    size_t prev = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : len;
        feed(&c, (const uint8_t *)resp + prev, end - prev);
        prev = end;
    }
    copy_str(ev, 8192, c.tr);
    peer_free(&c);
}

static void check_hs_splits(const char *name, const char *resp, size_t len, const char *want)
{
    static char ev[8192];
    static size_t cuts[20000];
    CHECK_CTX("%s: whole", name);
    run_hs(resp, len, NULL, 0, ev);
    CHECK_STR(ev, want);
    size_t step = len > 1000 ? len / 97 : 1;
    for (size_t s = 1; s < len; s += step) {
        CHECK_CTX("%s: split at %zu", name, s);
        run_hs(resp, len, &s, 1, ev);
        CHECK_STR(ev, want);
    }
    for (size_t s = 1; s < len && s < 20000; s++)
        cuts[s - 1] = s;
    CHECK_CTX("%s: byte by byte", name);
    run_hs(resp, len, cuts, len - 1, ev);
    CHECK_STR(ev, want);
}

static void test_client_responses(void)
{
    char req[1024], acc[29], resp[2048];
    peer c;
    start_client(&c, 11, req, sizeof req, acc); /* same seed as run_hs: same key */
    peer_free(&c);
    for (size_t i = 0; i < sizeof HS / sizeof HS[0]; i++) {
        subst(resp, sizeof resp, HS[i].resp, acc);
        check_hs_splits(HS[i].name, resp, strlen(resp), HS[i].events);
    }
    /* base64 is case-sensitive: the right value in another case is wrong */
    for (char *p = acc; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 32);
    subst(resp, sizeof resp, HS[0].resp, acc);
    check_hs_splits("accept in upper case", resp, strlen(resp),
                    "ERR HS_ACCEPT 0 101'Switching Protocols';");
}

static void test_client_limits(void)
{
    char req[1024], acc[29];
    peer c;
    start_client(&c, 11, req, sizeof req, acc);
    peer_free(&c);
    static char resp[20000];
    size_t n;
    /* exactly LIM_WS_HANDSHAKE_HEADERS header lines: accepted */
    n = (size_t)snprintf(resp, sizeof resp, "HTTP/1.1 101 S\r\n" UPG "Sec-WebSocket-Accept: %s\r\n",
                         acc);
    for (unsigned i = 3; i < LIM_WS_HANDSHAKE_HEADERS; i++)
        n += (size_t)snprintf(resp + n, sizeof resp - n, "X-%u: v\r\n", i);
    memcpy(resp + n, "\r\n", 3);
    check_hs_splits("64 headers", resp, n + 2, "OPEN;");
    /* one more: rejected */
    n += (size_t)snprintf(resp + n, sizeof resp - n, "X-last: v\r\n\r\n");
    check_hs_splits("65 headers", resp, n, "ERR HS_TOO_MANY 0 101'S';");
    /* a block over LIM_WS_HANDSHAKE_BYTES, even without a blank line yet */
    n = (size_t)snprintf(resp, sizeof resp, "HTTP/1.1 101 S\r\nX: ");
    memset(resp + n, 'a', LIM_WS_HANDSHAKE_BYTES);
    n += LIM_WS_HANDSHAKE_BYTES;
    check_hs_splits("oversize block", resp, n, "ERR HS_TOO_LARGE 0;");
    /* a status line over 8 KiB */
    n = (size_t)snprintf(resp, sizeof resp, "HTTP/1.1 200 ");
    memset(resp + n, 'r', 9000);
    memcpy(resp + n + 9000, "\r\n\r\n", 4);
    check_hs_splits("long status line", resp, n + 9004, "ERR HS_TOO_LARGE 0;");
}

/* Frames in the same read as the 101 are not lost. */
static void test_frames_after_101(void)
{
    char req[1024], acc[29], resp[1024];
    peer c;
    start_client(&c, 11, req, sizeof req, acc);
    peer_free(&c);
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\n" UPG "Sec-WebSocket-Accept: %s\r\n\r\n"
                     "\x81\x05Hello\x89\x01p",
                     acc);
    check_hs_splits("101 + frames", resp, (size_t)n, "OPEN;T'Hello';PING'p';");
}

/* EOF during the handshake is an error, not a close. */
static void test_eof_in_handshake(void)
{
    char req[1024], acc[29];
    peer c;
    start_client(&c, 11, req, sizeof req, acc);
    feed(&c, (const uint8_t *)"HTTP/1.1 101", 12);
    ws_eof(&c.ws);
    take_events(&c);
    CHECK_STR(c.tr, "ERR EOF 0;");
    CHECK_INT(ws_state(&c.ws), WS_ST_FAILED);
    peer_free(&c);
}

static void server_run(const char *req, char *events, char *reply, size_t cap)
{
    peer s;
    peer_init(&s, WS_SERVER, WS_MSGBUF_MIN, WS_OUTBUF_MIN, 1);
    feed(&s, (const uint8_t *)req, strlen(req));
    drain(&s);
    copy_str(events, cap, s.tr);
    snprintf(reply, cap, "%.*s", (int)s.wirelen, (const char *)s.wire);
    peer_free(&s);
}

static void test_server_role(void)
{
    char ev[1024], rep[1024];
    /* RFC 6455 1.2 / 1.3 sample */
    server_run("GET /chat?a=b HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Origin: http://example.com\r\nSec-WebSocket-Version: 13\r\n\r\n",
               ev, rep, sizeof rep);
    CHECK_STR(ev, "OPEN;");
    CHECK_STR(rep,
              "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
              "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
    /* the OPEN event carries the path and the header block */
    peer s;
    peer_init(&s, WS_SERVER, WS_MSGBUF_MIN, WS_OUTBUF_MIN, 1);
    const char *req =
        "GET /api/ws/plugins/telemetry HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
        "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\nX-Authorization: Bearer t\r\n\r\n\x81\x80\x01\x02\x03\x04";
    size_t n = ws_push(&s.ws, (const uint8_t *)req, strlen(req));
    ws_event e;
    CHECK_INT(ws_next_event(&s.ws, &e), WS_EV_OPEN);
    CHECK_MEM(e.data, e.len, "/api/ws/plugins/telemetry", 25);
    CHECK(e.headers_len > 0 && memmem(e.headers, e.headers_len, "X-Authorization: Bearer t", 25));
    CHECK_INT(n, strlen(req) - 6); /* the frame after the request is left for the next push */
    CHECK_INT(ws_push(&s.ws, (const uint8_t *)req + n, 6), 6);
    CHECK_INT(ws_next_event(&s.ws, &e), WS_EV_MESSAGE);
    CHECK_INT(e.len, 0);
    peer_free(&s);

    static const struct {
        const char *req, *events;
    } BAD[] = {
        { "POST / HTTP/1.1\r\nHost: h\r\n" UPG "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          "Sec-WebSocket-Version: 13\r\n\r\n",
          "ERR HS_METHOD 0 400;" },
        { "GET / HTTP/1.0\r\nHost: h\r\n" UPG "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          "Sec-WebSocket-Version: 13\r\n\r\n",
          "ERR HS_METHOD 0 400;" },
        { "GET / HTTP/1.1\r\n" UPG "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          "Sec-WebSocket-Version: 13\r\n\r\n",
          "ERR HS_HOST 0 400;" },
        { "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
          "ERR HS_UPGRADE 0 400;" },
        { "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
          "ERR HS_CONNECTION 0 400;" },
        { "GET / HTTP/1.1\r\nHost: h\r\n" UPG "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          "Sec-WebSocket-Version: 8\r\n\r\n",
          "ERR HS_VERSION 0 400;" },
        { "GET / HTTP/1.1\r\nHost: h\r\n" UPG "Sec-WebSocket-Key: c2hvcnQ=\r\n"
          "Sec-WebSocket-Version: 13\r\n\r\n",
          "ERR HS_KEY 0 400;" },
        { "GET / HTTP/1.1\r\nHost: h\r\n" UPG "Sec-WebSocket-Version: 13\r\n\r\n",
          "ERR HS_KEY 0 400;" },
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        CHECK_CTX("bad request %zu", i);
        server_run(BAD[i].req, ev, rep, sizeof rep);
        CHECK_STR(ev, BAD[i].events);
        CHECK(strncmp(rep, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
    }
}

/* Client and server roles of the codec talk to each other: handshake, messages both
 * ways (the client's masked, the server's not), ping/pong, close started by the client. */
static void test_client_server_pair(void)
{
    peer c, s;
    peer_init(&c, WS_CLIENT, 65536, 1u << 17, 5);
    peer_init(&s, WS_SERVER, 1u << 17, 1u << 17, 6);
    CHECK_INT(ws_client_handshake(&c.ws, "localhost", "/", NULL), WS_OK);
    drain(&c);
    feed(&s, c.wire, c.wirelen);
    drain(&s);
    feed(&c, s.wire, s.wirelen);
    CHECK_STR(c.tr, "OPEN;");
    CHECK_STR(s.tr, "OPEN;");
    tr_reset(&c);
    tr_reset(&s);
    static uint8_t big[70000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)('a' + i % 26);
    CHECK_INT(ws_send(&c.ws, WS_OP_TEXT, (const uint8_t *)"hi", 2), WS_OK);
    CHECK_INT(ws_send(&c.ws, WS_OP_BINARY, big, 70000), WS_OK);
    CHECK_INT(ws_ping(&c.ws, (const uint8_t *)"pp", 2), WS_OK);
    CHECK_INT(ws_send_fragmented(&c.ws, WS_OP_TEXT, big, 1000, 300), WS_OK);
    drain(&c);
    feed(&s, c.wire, c.wirelen);
    char want[256];
    size_t wl = 0;
    tr_add(want, &wl, sizeof want, "T'hi';B");
    tr_payload(want, &wl, sizeof want, big, 70000);
    tr_add(want, &wl, sizeof want, ";PING'pp';T");
    tr_payload(want, &wl, sizeof want, big, 1000);
    tr_add(want, &wl, sizeof want, ";");
    CHECK_STR(s.tr, want);
    CHECK_INT(ws_send(&s.ws, WS_OP_TEXT, (const uint8_t *)"yo", 2), WS_OK);
    drain(&s);
    tr_reset(&c);
    feed(&c, s.wire, s.wirelen);
    CHECK_STR(c.tr, "PONG'pp';T'yo';");
    /* close: client starts, server echoes, both clean */
    tr_reset(&c);
    tr_reset(&s);
    CHECK_INT(ws_close(&c.ws, 1001, "bye"), WS_OK);
    drain(&c);
    feed(&s, c.wire, c.wirelen);
    drain(&s);
    feed(&c, s.wire, s.wirelen);
    CHECK_STR(s.tr, "CLOSED 1001 clean peer'bye';");
    CHECK_STR(c.tr, "CLOSED 1001 clean us;");
    CHECK_INT(ws_state(&c.ws), WS_ST_CLOSED);
    CHECK_INT(ws_state(&s.ws), WS_ST_CLOSED);
    peer_free(&c);
    peer_free(&s);
}

int main(void)
{
    RUN(test_client_request);
    RUN(test_client_responses);
    RUN(test_client_limits);
    RUN(test_frames_after_101);
    RUN(test_eof_in_handshake);
    RUN(test_server_role);
    RUN(test_client_server_pair);
    return harness_done();
}
