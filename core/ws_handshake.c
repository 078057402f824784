/*
 * ws_handshake.c -- the opening handshake (RFC 6455 4.1, 4.2): the client's GET
 * request, the response check, and the server's request check and 101/400 reply.
 *
 * The header block is collected in msgbuf (it is not needed any more once frames
 * flow) up to the blank line, byte by byte, so exactly the block is consumed and any
 * frame bytes that follow in the same read stay with the caller for ws_push(). Only then
 * is it parsed, as a whole, with every value a view into msgbuf. Limits: the block is at
 * most LIM_WS_HANDSHAKE_BYTES (and msgcap) and LIM_WS_HANDSHAKE_HEADERS lines.
 */
#include "core/ws_internal.h"

#include "core/b64.h"
#include "core/sha1.h"

#include <string.h>

typedef struct {
    const char *p;
    size_t n;
} view;

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int ieq(view v, const char *lit)
{
    size_t n = strlen(lit);
    if (v.n != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)v.p[i]) != lower((unsigned char)lit[i]))
            return 0;
    return 1;
}

static view trim(view v)
{
    while (v.n && (v.p[0] == ' ' || v.p[0] == '\t')) {
        v.p++;
        v.n--;
    }
    while (v.n && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t'))
        v.n--;
    return v;
}

/* 1 if the comma-separated token list v contains tok (case-insensitive). */
static int has_token(view v, const char *tok)
{
    size_t start = 0;
    for (size_t i = 0; i <= v.n; i++) {
        if (i == v.n || v.p[i] == ',') {
            view t = trim((view){ v.p + start, i - start });
            if (ieq(t, tok))
                return 1;
            start = i + 1;
        }
    }
    return 0;
}

static int tchar(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* What both roles need from the header lines. */
typedef struct {
    int upgrade_ok, connection_ok, host;
    int accept_count, version_count, key_count;
    view accept, version, key;
    int extensions, protocol;
} hs_fields;

/* Parses the header lines in block[0..n) (each ending CRLF, the blank line excluded). */
static int parse_headers(view block, hs_fields *f, int server)
{
    size_t pos = 0;
    unsigned count = 0;
    memset(f, 0, sizeof *f);
    while (pos < block.n) {
        const char *line = block.p + pos;
        const char *end = memchr(line, '\r', block.n - pos);
        if (!end || end + 1 >= block.p + block.n || end[1] != '\n')
            return WS_ERR_HS_MALFORMED;
        size_t ln = (size_t)(end - line);
        pos += ln + 2;
        if (++count > LIM_WS_HANDSHAKE_HEADERS)
            return WS_ERR_HS_TOO_MANY;
        size_t c = 0;
        while (c < ln && tchar((unsigned char)line[c]))
            c++;
        if (c == 0 || c >= ln || line[c] != ':')
            return WS_ERR_HS_MALFORMED; /* also rejects obsolete line folding */
        view name = { line, c }, val = trim((view){ line + c + 1, ln - c - 1 });
        for (size_t i = 0; i < val.n; i++)
            if ((unsigned char)val.p[i] < 0x20 && val.p[i] != '\t')
                return WS_ERR_HS_MALFORMED;
        if (ieq(name, "Upgrade")) {
            f->upgrade_ok |= server ? has_token(val, "websocket") : ieq(val, "websocket");
        } else if (ieq(name, "Connection")) {
            f->connection_ok |= has_token(val, "upgrade");
        } else if (ieq(name, "Host")) {
            f->host++;
        } else if (ieq(name, "Sec-WebSocket-Accept")) {
            f->accept = val;
            f->accept_count++;
        } else if (ieq(name, "Sec-WebSocket-Version")) {
            f->version = val;
            f->version_count++;
        } else if (ieq(name, "Sec-WebSocket-Key")) {
            f->key = val;
            f->key_count++;
        } else if (ieq(name, "Sec-WebSocket-Extensions")) {
            f->extensions |= val.n > 0;
        } else if (ieq(name, "Sec-WebSocket-Protocol")) {
            f->protocol |= val.n > 0;
        }
    }
    return WS_OK;
}

void ws__accept_for(const char *key, size_t klen, char out[29])
{
    sha1_ctx c;
    uint8_t d[SHA1_LEN];
    sha1_init(&c);
    sha1_update(&c, key, klen);
    sha1_update(&c, WS_GUID, sizeof WS_GUID - 1);
    sha1_final(&c, d);
    b64_encode(d, sizeof d, out, 29);
}

static int has_ctl_or_space(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* see ws.h */
int ws_client_handshake(ws_ctx *ws, const char *host, const char *path, const char *extra_headers)
{
    if (ws->role != WS_CLIENT || ws->state != WS_ST_INIT)
        return WS_ERR_STATE;
    if (!host || !path || !*host || path[0] != '/' || has_ctl_or_space(host) ||
        has_ctl_or_space(path))
        return WS_ERR_ARG;
    size_t xlen = extra_headers ? strlen(extra_headers) : 0;
    if (xlen && (xlen < 2 || memcmp(extra_headers + xlen - 2, "\r\n", 2) != 0 ||
                 strstr(extra_headers, "\r\n\r\n")))
        return WS_ERR_ARG;
    uint8_t nonce[16];
    char key[25];
    ws->rng(ws->rng_arg, nonce, sizeof nonce);
    b64_encode(nonce, sizeof nonce, key, sizeof key);
    ws__accept_for(key, 24, ws->accept);

    static const char *const parts[] = {
        "GET ",
        NULL,
        " HTTP/1.1\r\nHost: ",
        NULL,
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ",
        NULL,
        "\r\nSec-WebSocket-Version: 13\r\n",
        NULL,
        "\r\n"
    };
    const char *vals[9];
    size_t total = 0;
    for (size_t i = 0; i < 9; i++) {
        vals[i] = parts[i];
        if (i == 1)
            vals[i] = path;
        if (i == 3)
            vals[i] = host;
        if (i == 5)
            vals[i] = key;
        if (i == 7)
            vals[i] = extra_headers ? extra_headers : "";
        total += strlen(vals[i]);
    }
    uint8_t *dst;
    int rc = ws__reserve(ws, total, &dst);
    if (rc != WS_OK)
        return rc == WS_ERR_WOULD_BLOCK ? WS_ERR_TOO_BIG : rc;
    for (size_t i = 0; i < 9; i++) {
        size_t n = strlen(vals[i]);
        memcpy(dst, vals[i], n);
        dst += n;
    }
    ws->out_tail += total;
    ws->state = WS_ST_HANDSHAKE;
    return WS_OK;
}

static void hs_fail(ws_ctx *ws, int err, int status, view reason)
{
    ws->err = err;
    ws->state = WS_ST_FAILED;
    ws_event ev = { .type = WS_EV_ERROR,
                    .err = err,
                    .http_status = status,
                    .data = (const uint8_t *)reason.p,
                    .len = reason.n };
    ws__raise(ws, &ev);
}

static void client_check(ws_ctx *ws, view block)
{
    view none = { NULL, 0 };
    const char *eol = memchr(block.p, '\r', block.n);
    size_t sl = (size_t)(eol - block.p); /* the block ends in CRLFCRLF: eol exists */
    /* "HTTP/1.x SP 3DIGIT [SP reason]" */
    if (sl < 12 || memcmp(block.p, "HTTP/1.", 7) != 0 || block.p[7] < '0' || block.p[7] > '9' ||
        block.p[8] != ' ') {
        hs_fail(ws, WS_ERR_HS_MALFORMED, 0, none);
        return;
    }
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (block.p[i] < '0' || block.p[i] > '9') {
            hs_fail(ws, WS_ERR_HS_MALFORMED, 0, none);
            return;
        }
        status = status * 10 + (block.p[i] - '0');
    }
    if (sl > 12 && block.p[12] != ' ') {
        hs_fail(ws, WS_ERR_HS_MALFORMED, 0, none);
        return;
    }
    view reason = sl > 13 ? trim((view){ block.p + 13, sl - 13 }) : none;
    if (status != 101) {
        hs_fail(ws, WS_ERR_HS_STATUS, status, reason);
        return;
    }
    hs_fields f;
    view hdrs = { eol + 2, block.n - sl - 4 }; /* header lines, blank line excluded */
    int rc = parse_headers(hdrs, &f, 0);
    if (rc == WS_OK && !f.upgrade_ok)
        rc = WS_ERR_HS_UPGRADE;
    if (rc == WS_OK && !f.connection_ok)
        rc = WS_ERR_HS_CONNECTION;
    if (rc == WS_OK && (f.accept_count != 1 || !ieq(f.accept, ws->accept)))
        rc = WS_ERR_HS_ACCEPT;
    /* base64 is case-sensitive: compare exactly, not with ieq */
    if (rc == WS_OK && memcmp(f.accept.p, ws->accept, 28) != 0)
        rc = WS_ERR_HS_ACCEPT;
    if (rc == WS_OK && f.extensions)
        rc = WS_ERR_HS_EXTENSION;
    if (rc == WS_OK && f.protocol)
        rc = WS_ERR_HS_PROTOCOL;
    if (rc != WS_OK) {
        hs_fail(ws, rc, status, reason);
        return;
    }
    ws->state = WS_ST_OPEN;
    ws_event ev = { .type = WS_EV_OPEN, .data = (const uint8_t *)hdrs.p, .len = hdrs.n };
    ws__raise(ws, &ev);
}

static const char BAD_REQUEST[] =
    "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n";

static void server_reject(ws_ctx *ws, int err)
{
    uint8_t *dst;
    if (ws__reserve(ws, sizeof BAD_REQUEST - 1, &dst) == WS_OK) {
        memcpy(dst, BAD_REQUEST, sizeof BAD_REQUEST - 1);
        ws->out_tail += sizeof BAD_REQUEST - 1;
    }
    view none = { NULL, 0 };
    hs_fail(ws, err, 400, none);
}

static void server_check(ws_ctx *ws, view block)
{
    const char *eol = memchr(block.p, '\r', block.n);
    size_t sl = (size_t)(eol - block.p);
    /* "GET SP request-target SP HTTP/1.1" */
    if (sl < 14 || memcmp(block.p, "GET /", 5) != 0 ||
        memcmp(block.p + sl - 9, " HTTP/1.1", 9) != 0) {
        server_reject(ws, WS_ERR_HS_METHOD);
        return;
    }
    view path = { block.p + 4, sl - 13 };
    for (size_t i = 0; i < path.n; i++)
        if ((unsigned char)path.p[i] <= 0x20 || path.p[i] == 0x7f) {
            server_reject(ws, WS_ERR_HS_METHOD);
            return;
        }
    hs_fields f;
    view hdrs = { eol + 2, block.n - sl - 4 };
    int rc = parse_headers(hdrs, &f, 1);
    uint8_t nonce[18];
    if (rc == WS_OK && f.host != 1)
        rc = WS_ERR_HS_HOST;
    if (rc == WS_OK && !f.upgrade_ok)
        rc = WS_ERR_HS_UPGRADE;
    if (rc == WS_OK && !f.connection_ok)
        rc = WS_ERR_HS_CONNECTION;
    if (rc == WS_OK && (f.version_count != 1 || !ieq(f.version, "13")))
        rc = WS_ERR_HS_VERSION;
    if (rc == WS_OK && (f.key_count != 1 || f.key.n != 24 ||
                        b64_decode(f.key.p, f.key.n, nonce, sizeof nonce) != 16))
        rc = WS_ERR_HS_KEY;
    if (rc != WS_OK) {
        server_reject(ws, rc);
        return;
    }
    char accept[29];
    ws__accept_for(f.key.p, f.key.n, accept);
    static const char head[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\nSec-WebSocket-Accept: ";
    size_t total = sizeof head - 1 + 28 + 4;
    uint8_t *dst;
    if (ws__reserve(ws, total, &dst) != WS_OK) {
        server_reject(ws, WS_ERR_TOO_BIG); /* cannot happen: outcap >= WS_OUTBUF_MIN */
        return;
    }
    memcpy(dst, head, sizeof head - 1);
    memcpy(dst + sizeof head - 1, accept, 28);
    memcpy(dst + sizeof head - 1 + 28, "\r\n\r\n", 4);
    ws->out_tail += total;
    ws->state = WS_ST_OPEN;
    ws_event ev = { .type = WS_EV_OPEN,
                    .data = (const uint8_t *)path.p,
                    .len = path.n,
                    .headers = (const uint8_t *)hdrs.p,
                    .headers_len = hdrs.n };
    ws__raise(ws, &ev);
}

size_t ws__hs_push(ws_ctx *ws, const uint8_t *in, size_t len)
{
    static const char END[] = "\r\n\r\n";
    size_t cap = ws->msgcap < LIM_WS_HANDSHAKE_BYTES ? ws->msgcap : LIM_WS_HANDSHAKE_BYTES;
    size_t i = 0;
    while (i < len) {
        if (ws->hs_len == cap) {
            view none = { NULL, 0 };
            if (ws->role == WS_SERVER)
                server_reject(ws, WS_ERR_HS_TOO_LARGE);
            else
                hs_fail(ws, WS_ERR_HS_TOO_LARGE, 0, none);
            return i;
        }
        uint8_t b = in[i++];
        ws->msg[ws->hs_len++] = b;
        if (b == (uint8_t)END[ws->hs_crlf])
            ws->hs_crlf++;
        else
            ws->hs_crlf = b == '\r' ? 1 : 0;
        if (ws->hs_crlf == 4) {
            view block = { (const char *)ws->msg, ws->hs_len };
            if (ws->role == WS_SERVER)
                server_check(ws, block);
            else
                client_check(ws, block);
            return i;
        }
    }
    return i;
}
