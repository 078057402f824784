/*
 * sim_http.c -- the server half of HTTP/1.1 the simulator needs: parse one request
 * (request line, the few headers that matter, a Content-Length body) and write
 * replies, including ThingsBoard's JSON error body
 * {"status":401,"message":"...","errorCode":10,"timestamp":<epoch ms>}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/sim/sim.h"

static int hdr_is(const char *line, size_t n, const char *name, const char **val, size_t *vlen)
{
    size_t k = strlen(name);
    if (n <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
        return 0;
    const char *v = line + k + 1;
    const char *e = line + n;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *val = v;
    *vlen = (size_t)(e - v);
    return 1;
}

static int has_token(const char *v, size_t n, const char *tok)
{
    size_t k = strlen(tok);
    for (size_t i = 0; i + k <= n; i++)
        if (strncasecmp(v + i, tok, k) == 0 && (i == 0 || v[i - 1] == ' ' || v[i - 1] == ',') &&
            (i + k == n || v[i + k] == ',' || v[i + k] == ' '))
            return 1;
    return 0;
}

int sim_http_parse(const char *in, size_t len, sim_req *req)
{
    const char *end = NULL;
    for (size_t i = 0; i + 3 < len; i++)
        if (in[i] == '\r' && in[i + 1] == '\n' && in[i + 2] == '\r' && in[i + 3] == '\n') {
            end = in + i;
            break;
        }
    if (!end)
        return len > SIM_HTTP_MAX_HEAD ? -2 : 0;
    memset(req, 0, sizeof *req);
    req->head_len = (size_t)(end - in) + 4;
    const char *eol = memchr(in, '\r', (size_t)(end - in) + 1);
    /* request line: METHOD SP target SP HTTP/1.x */
    const char *sp1 = memchr(in, ' ', (size_t)(eol - in));
    if (!sp1 || (size_t)(sp1 - in) >= sizeof req->method)
        return -1;
    const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
    if (!sp2 || eol - sp2 < 9 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
        return -1;
    memcpy(req->method, in, (size_t)(sp1 - in));
    const char *target = sp1 + 1;
    size_t tlen = (size_t)(sp2 - target);
    const char *q = memchr(target, '?', tlen);
    size_t plen = q ? (size_t)(q - target) : tlen;
    if (plen >= sizeof req->path || (q && tlen - plen - 1 >= sizeof req->query))
        return -2;
    memcpy(req->path, target, plen);
    if (q)
        memcpy(req->query, q + 1, tlen - plen - 1);
    int http10 = sp2[8] == '0';
    req->close = http10;
    size_t clen = 0;
    for (const char *line = eol + 2; line < end;) {
        const char *le = memchr(line, '\r', (size_t)(end - line) + 1);
        size_t n = (size_t)(le - line);
        const char *v;
        size_t vl;
        if (hdr_is(line, n, "Content-Length", &v, &vl)) {
            char tmp[24];
            if (vl == 0 || vl >= sizeof tmp)
                return -1;
            memcpy(tmp, v, vl);
            tmp[vl] = 0;
            char *e;
            unsigned long long c = strtoull(tmp, &e, 10);
            if (*e)
                return -1;
            if (c > SIM_HTTP_MAX_BODY)
                return -2;
            clen = (size_t)c;
        } else if (hdr_is(line, n, "Transfer-Encoding", &v, &vl)) {
            return -1; /* chunked request bodies: nobody we test sends them */
        } else if (hdr_is(line, n, "X-Authorization", &v, &vl) ||
                   (!req->xauth[0] && hdr_is(line, n, "Authorization", &v, &vl))) {
            if (vl >= sizeof req->xauth)
                vl = sizeof req->xauth - 1;
            memcpy(req->xauth, v, vl);
            req->xauth[vl] = 0;
        } else if (hdr_is(line, n, "Upgrade", &v, &vl)) {
            req->upgrade = has_token(v, vl, "websocket");
        } else if (hdr_is(line, n, "Connection", &v, &vl)) {
            if (has_token(v, vl, "close"))
                req->close = 1;
            if (has_token(v, vl, "keep-alive"))
                req->close = 0;
        }
        line = le + 2;
    }
    if (len < req->head_len + clen)
        return 0;
    req->body = in + req->head_len;
    req->body_len = clen;
    return 1;
}

static int unhex(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

int sim_query_param(const char *query, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = query;
    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        if (seg >= nl && strncmp(p, name, nl) == 0 && (seg == nl || p[nl] == '=')) {
            size_t o = 0;
            for (size_t i = nl + 1; i < seg && o + 1 < cap; i++) {
                if (p[i] == '+') {
                    out[o++] = ' ';
                } else if (p[i] == '%' && i + 2 < seg && unhex(p[i + 1]) >= 0 &&
                           unhex(p[i + 2]) >= 0) {
                    out[o++] = (char)(unhex(p[i + 1]) * 16 + unhex(p[i + 2]));
                    i += 2;
                } else {
                    out[o++] = p[i];
                }
            }
            if (cap)
                out[o] = 0;
            return (int)o;
        }
        p = amp ? amp + 1 : NULL;
    }
    return -1;
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

void sim_http_reply(sim_buf *out, int status, const char *ctype, const char *body, size_t blen,
                    int close)
{
    sim_buf_printf(out,
                   "HTTP/1.1 %d %s\r\n%s%s%sContent-Length: %zu\r\n"
                   "Cache-Control: no-cache, no-store, max-age=0, must-revalidate\r\n%s\r\n",
                   status, reason(status), ctype ? "Content-Type: " : "", ctype ? ctype : "",
                   ctype ? "\r\n" : "", blen, close ? "Connection: close\r\n" : "");
    sim_buf_put(out, body, blen);
}

void sim_http_tb_error(sim_buf *out, int status, const char *msg, int code, int close)
{
    sim_buf body = { 0 };
    sim_buf_printf(&body, "{\"status\":%d,\"message\":", status);
    sim_buf_json_str(&body, msg, strlen(msg));
    sim_buf_printf(&body, ",\"errorCode\":%d,\"timestamp\":%lld}", code, (long long)sim_now_ms());
    sim_http_reply(out, status, "application/json", body.p, body.len, close);
    sim_buf_free(&body);
}
