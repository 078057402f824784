/*
 * test_ws_util.h -- shared helpers for the test_ws*.c unit tests (header only).
 *
 * A "peer" is a ws_ctx with its buffers and a deterministic xorshift rng. Events are
 * turned into a compact transcript string ("T'Hello';PING'x';CLOSED 1000 clean peer;")
 * so table rows can state the expected behaviour in one line, and so feeding the same
 * input at every split point can be compared byte for byte. Output frames are decoded
 * by a small independent parser (not the codec under test) into a transcript too.
 */
#ifndef IOTPRO_TESTS_WS_UTIL_H
#define IOTPRO_TESTS_WS_UTIL_H

#include "core/ws.h"
#include "tests/harness.h"

#include <stdlib.h>

#define WSU static __attribute__((unused))

typedef struct {
    ws_ctx ws;
    uint8_t *msg;
    uint8_t *out;
    uint32_t rng;
    char tr[8192]; /* event transcript */
    size_t trlen;
    /* raw output collected by drain() */
    uint8_t *wire;
    size_t wirelen, wirecap;
} peer;

WSU void test_rng(void *arg, uint8_t *d, size_t n)
{
    uint32_t *s = arg;
    for (size_t i = 0; i < n; i++) {
        *s ^= *s << 13;
        *s ^= *s >> 17;
        *s ^= *s << 5;
        d[i] = (uint8_t)(*s >> 11);
    }
}

WSU void tr_add(char *tr, size_t *len, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
WSU void tr_add(char *tr, size_t *len, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (*len < cap) {
        int n = vsnprintf(tr + *len, cap - *len, fmt, ap);
        if (n > 0)
            *len += (size_t)n < cap - *len ? (size_t)n : cap - *len - 1;
    }
    va_end(ap);
}

WSU uint32_t fnv(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* payload as 'text' (escaped) when short, #len/hash when long */
WSU void tr_payload(char *tr, size_t *len, size_t cap, const uint8_t *p, size_t n)
{
    if (n > 40) {
        tr_add(tr, len, cap, "#%zu/%08x", n, fnv(p, n));
        return;
    }
    char buf[256];
    harness_dump(p, n, buf, sizeof buf);
    tr_add(tr, len, cap, "'%s'", buf);
}

static const char *errname(int e)
{
    switch (e) {
    case WS_ERR_RSV: return "RSV";
    case WS_ERR_OPCODE: return "OPCODE";
    case WS_ERR_MASK: return "MASK";
    case WS_ERR_LENGTH: return "LENGTH";
    case WS_ERR_CONTROL_LEN: return "CONTROL_LEN";
    case WS_ERR_CONTROL_FRAG: return "CONTROL_FRAG";
    case WS_ERR_CONT: return "CONT";
    case WS_ERR_NOT_CONT: return "NOT_CONT";
    case WS_ERR_CLOSE_BODY: return "CLOSE_BODY";
    case WS_ERR_CLOSE_CODE: return "CLOSE_CODE";
    case WS_ERR_CLOSE_UTF8: return "CLOSE_UTF8";
    case WS_ERR_UTF8: return "UTF8";
    case WS_ERR_MSG_TOO_BIG: return "MSG_TOO_BIG";
    case WS_ERR_EOF: return "EOF";
    case WS_ERR_HS_TOO_LARGE: return "HS_TOO_LARGE";
    case WS_ERR_HS_TOO_MANY: return "HS_TOO_MANY";
    case WS_ERR_HS_MALFORMED: return "HS_MALFORMED";
    case WS_ERR_HS_STATUS: return "HS_STATUS";
    case WS_ERR_HS_UPGRADE: return "HS_UPGRADE";
    case WS_ERR_HS_CONNECTION: return "HS_CONNECTION";
    case WS_ERR_HS_ACCEPT: return "HS_ACCEPT";
    case WS_ERR_HS_EXTENSION: return "HS_EXTENSION";
    case WS_ERR_HS_PROTOCOL: return "HS_PROTOCOL";
    case WS_ERR_HS_METHOD: return "HS_METHOD";
    case WS_ERR_HS_VERSION: return "HS_VERSION";
    case WS_ERR_HS_KEY: return "HS_KEY";
    case WS_ERR_HS_HOST: return "HS_HOST";
    default: return "?";
    }
}

WSU void tr_event(peer *p, const ws_event *ev)
{
    char *t = p->tr;
    size_t *l = &p->trlen, c = sizeof p->tr;
    switch (ev->type) {
    case WS_EV_OPEN: tr_add(t, l, c, "OPEN;"); break;
    case WS_EV_MESSAGE:
        tr_add(t, l, c, ev->opcode == WS_OP_TEXT ? "T" : "B");
        tr_payload(t, l, c, ev->data, ev->len);
        tr_add(t, l, c, ";");
        break;
    case WS_EV_PING:
    case WS_EV_PONG:
        tr_add(t, l, c, ev->type == WS_EV_PING ? "PING" : "PONG");
        tr_payload(t, l, c, ev->data, ev->len);
        tr_add(t, l, c, ";");
        break;
    case WS_EV_CLOSED:
        tr_add(t, l, c, "CLOSED %u %s %s", ev->close_code, ev->clean ? "clean" : "unclean",
               ev->by_peer ? "peer" : "us");
        if (ev->len)
            tr_payload(t, l, c, ev->data, ev->len);
        tr_add(t, l, c, ";");
        break;
    case WS_EV_ERROR:
        tr_add(t, l, c, "ERR %s %u", errname(ev->err), ev->close_code);
        if (ev->http_status)
            tr_add(t, l, c, " %d", ev->http_status);
        if (ev->len)
            tr_payload(t, l, c, ev->data, ev->len);
        tr_add(t, l, c, ";");
        break;
    default: tr_add(t, l, c, "?;");
    }
}

/* Bounded string copy (snprintf "%s" trips -Wformat-truncation at -O2). */
WSU void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

WSU void peer_free(peer *p)
{
    free(p->msg);
    free(p->out);
    free(p->wire);
    p->msg = p->out = p->wire = NULL;
}

/* Moves all pending output to p->wire. */
WSU void drain(peer *p)
{
    const uint8_t *o;
    size_t n;
    while ((n = ws_output(&p->ws, &o)) > 0) {
        if (p->wirelen + n > p->wirecap) {
            p->wirecap = (p->wirelen + n) * 2;
            p->wire = realloc(p->wire, p->wirecap);
        }
        memcpy(p->wire + p->wirelen, o, n);
        p->wirelen += n;
        ws_output_ack(&p->ws, n);
    }
}

WSU void take_events(peer *p)
{
    ws_event ev;
    while (ws_next_event(&p->ws, &ev) != WS_EV_NONE)
        tr_event(p, &ev);
}

/* Pushes everything, taking events as they come (the documented loop). */
WSU void feed(peer *p, const uint8_t *in, size_t len)
{
    int guard = 0;
    while (len > 0) {
        size_t n = ws_push(&p->ws, in, len);
        in += n;
        len -= n;
        take_events(p);
        if (n == 0 && ++guard > 4) {
            tr_add(p->tr, &p->trlen, sizeof p->tr, "STUCK;");
            return;
        }
    }
    take_events(p);
}

WSU void peer_init(peer *p, ws_role role, size_t msgcap, size_t outcap, uint32_t seed)
{
    memset(p, 0, sizeof *p);
    p->msg = malloc(msgcap);
    p->out = malloc(outcap);
    p->rng = seed ? seed : 1;
    int rc = ws_init(&p->ws, role, p->msg, msgcap, p->out, outcap, test_rng, &p->rng);
    CHECK_INT(rc, WS_OK);
}

WSU void tr_reset(peer *p)
{
    p->trlen = 0;
    p->tr[0] = 0;
    p->wirelen = 0;
}

/* A client made OPEN by a real handshake with a server-role ctx. */
WSU void client_open(peer *c, size_t msgcap, size_t outcap, uint32_t seed)
{
    peer s;
    peer_init(c, WS_CLIENT, msgcap, outcap, seed);
    peer_init(&s, WS_SERVER, WS_MSGBUF_MIN, WS_OUTBUF_MIN, 7);
    CHECK_INT(ws_client_handshake(&c->ws, "localhost:9001", "/x", NULL), WS_OK);
    drain(c);
    feed(&s, c->wire, c->wirelen);
    drain(&s);
    feed(c, s.wire, s.wirelen);
    CHECK_STR(c->tr, "OPEN;");
    CHECK_INT(ws_state(&c->ws), WS_ST_OPEN);
    tr_reset(c);
    peer_free(&s);
}

/* Decodes frames in wire[0..n) as the receiving side would (independent of the codec):
 * transcript like "PONG'x';CLOSE 1000;TEXT'..';", masks checked against want_masked. */
WSU void decode_wire(const uint8_t *w, size_t n, int want_masked, char *tr, size_t cap)
{
    size_t len = 0, i = 0;
    tr[0] = 0;
    while (i < n) {
        if (n - i < 2) {
            tr_add(tr, &len, cap, "TRUNC;");
            return;
        }
        int fin = w[i] >> 7, op = w[i] & 15, masked = w[i + 1] >> 7;
        uint64_t pl = w[i + 1] & 127;
        size_t h = 2;
        if (pl == 126) {
            pl = (uint64_t)w[i + 2] << 8 | w[i + 3];
            h = 4;
        } else if (pl == 127) {
            pl = 0;
            for (int k = 0; k < 8; k++)
                pl = pl << 8 | w[i + 2 + k];
            h = 10;
        }
        const uint8_t *key = w + i + h;
        if (masked)
            h += 4;
        if (masked != want_masked)
            tr_add(tr, &len, cap, "BADMASK;");
        if (i + h + pl > n) {
            tr_add(tr, &len, cap, "TRUNC;");
            return;
        }
        uint8_t *buf = malloc(pl + 1);
        for (uint64_t k = 0; k < pl; k++)
            buf[k] = w[i + h + k] ^ (masked ? key[k & 3] : 0);
        static const char *names[16] = {
            "CONT",  "TEXT", "BIN",  "OP3", "OP4", "OP5", "OP6", "OP7",
            "CLOSE", "PING", "PONG", "OPB", "OPC", "OPD", "OPE", "OPF"
        };
        tr_add(tr, &len, cap, "%s%s", names[op], fin ? "" : "+");
        if (op == 8 && pl >= 2) {
            tr_add(tr, &len, cap, " %u", (unsigned)buf[0] << 8 | buf[1]);
            if (pl > 2)
                tr_payload(tr, &len, cap, buf + 2, (size_t)pl - 2);
        } else if (op != 8) {
            tr_payload(tr, &len, cap, buf, (size_t)pl);
        }
        tr_add(tr, &len, cap, ";");
        free(buf);
        i += h + (size_t)pl;
    }
}

/* hex "81 05 48..." (spaces ignored) plus 'text' runs in single quotes -> bytes */
WSU size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*s && n < cap) {
        if (*s == ' ') {
            s++;
        } else if (*s == '\'') {
            for (s++; *s && *s != '\'' && n < cap; s++)
                out[n++] = (uint8_t)*s;
            if (*s)
                s++;
        } else {
            unsigned v;
            if (sscanf(s, "%2x", &v) != 1)
                return n;
            out[n++] = (uint8_t)v;
            s += 2;
        }
    }
    return n;
}

#endif
