/*
 * http1.c -- HTTP/1.1 request writer and incremental response parser.
 *
 * The parser is a byte-driven state machine so that a response may arrive split at
 * any point (one byte per TLS record in the worst case) and memory stays fixed: the
 * header block is copied into the context (bounded by LIM_HTTP_HEADER_BYTES) and
 * parsed once the empty line is seen; the body goes straight into the caller's buffer.
 * Strictness choices, each to keep request/response framing unambiguous:
 *   - obs-fold, whitespace before ':' and control bytes in headers are errors;
 *   - any transfer coding other than a single "chunked" is an error (we never ask for
 *     compression), and chunked wins over Content-Length but then the connection is
 *     not reused (RFC 9112 6.3: that combination hints at request smuggling);
 *   - differing Content-Length values are an error;
 *   - bare LF is accepted as a line end (lenient, harmless for a client), bare CR not.
 */
#include "core/http1.h"

#include <string.h>

const char *http1_strerror(int err)
{
    switch (err) {
    case 0: return "no error";
    case HTTP1_ERR_SPACE: return "request does not fit the output buffer";
    case HTTP1_ERR_BAD_INPUT: return "forbidden character in request line or header";
    case HTTP1_ERR_STATUS_LINE: return "malformed status line";
    case HTTP1_ERR_VERSION: return "unsupported HTTP version";
    case HTTP1_ERR_HEADER: return "malformed header line";
    case HTTP1_ERR_HEADER_SIZE: return "response header block too large";
    case HTTP1_ERR_HEADER_COUNT: return "too many response headers";
    case HTTP1_ERR_CONTENT_LENGTH: return "invalid Content-Length";
    case HTTP1_ERR_TRANSFER_CODING: return "unsupported Transfer-Encoding";
    case HTTP1_ERR_CHUNK_SIZE: return "invalid chunk size line";
    case HTTP1_ERR_CHUNK_SYNTAX: return "malformed chunked body";
    case HTTP1_ERR_BODY_SIZE: return "response body larger than the limit";
    case HTTP1_ERR_TRUNCATED: return "connection closed before the response was complete";
    case HTTP1_ERR_INTERIM: return "too many 1xx interim responses";
    default: return "unknown http1 error";
    }
}

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Field value byte: HTAB, visible ASCII, SP, obs-text. */
static int is_vchar(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static int view_ieq(const char *p, size_t n, const char *s)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (s[i] == 0 || lower((unsigned char)p[i]) != lower((unsigned char)s[i]))
            return 0;
    return s[n] == 0;
}

/* ---- request writer ----------------------------------------------------------- */

typedef struct {
    char *out;
    size_t cap, len;
    int err;
} wbuf;

static void put(wbuf *w, const char *s, size_t n)
{
    if (w->err)
        return;
    if (n > w->cap - w->len) {
        w->err = HTTP1_ERR_SPACE;
        return;
    }
    memcpy(w->out + w->len, s, n);
    w->len += n;
}

static void puts_(wbuf *w, const char *s)
{
    put(w, s, strlen(s));
}

static void put_uint(wbuf *w, unsigned long long v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(w, tmp + i, sizeof tmp - i);
}

static int valid_token(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return 0;
    return 1;
}

static int valid_path(const char *s)
{
    if (!s || s[0] != '/')
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

static int valid_host(const char *s, int *is_v6)
{
    *is_v6 = 0;
    if (!s || !*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == ':')
            *is_v6 = 1;
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   c == '.' || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static int valid_value(const char *s)
{
    if (!s)
        return 0;
    for (; *s; s++)
        if (!is_vchar((unsigned char)*s))
            return 0;
    return 1;
}

/* see http1.h */
int http1_write_request(char *out, size_t cap, const char *method, const char *host, unsigned port,
                        const char *path, const http1_header *headers, size_t nheaders,
                        size_t body_len)
{
    wbuf w = { out, cap, 0, 0 };
    int v6;
    size_t i;

    if (!valid_token(method) || !valid_path(path) || !valid_host(host, &v6) || port > 65535)
        return HTTP1_ERR_BAD_INPUT;
    for (i = 0; i < nheaders; i++)
        if (!valid_token(headers[i].name) || !valid_value(headers[i].value))
            return HTTP1_ERR_BAD_INPUT;
    if (cap > (size_t)0x7fffffff)
        w.cap = 0x7fffffff; /* the return type is int */

    puts_(&w, method);
    put(&w, " ", 1);
    puts_(&w, path);
    puts_(&w, " HTTP/1.1\r\nHost: ");
    if (v6)
        put(&w, "[", 1);
    puts_(&w, host);
    if (v6)
        put(&w, "]", 1);
    if (port != 0 && port != 80 && port != 443) {
        put(&w, ":", 1);
        put_uint(&w, port);
    }
    put(&w, "\r\n", 2);
    for (i = 0; i < nheaders; i++) {
        puts_(&w, headers[i].name);
        put(&w, ": ", 2);
        puts_(&w, headers[i].value);
        put(&w, "\r\n", 2);
    }
    if (body_len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
        strcmp(method, "PATCH") == 0) {
        puts_(&w, "Content-Length: ");
        put_uint(&w, body_len);
        put(&w, "\r\n", 2);
    }
    put(&w, "\r\n", 2);
    return w.err ? w.err : (int)w.len;
}

/* ---- response parser ---------------------------------------------------------- */

/* see http1.h */
void http1_resp_init(http1_resp *r, uint8_t *body, size_t body_cap, int head_request)
{
    r->state = HTTP1_S_STATUS;
    r->err = 0;
    r->head_request = head_request;
    r->status = 0;
    r->minor = 0;
    r->keep_alive = 0;
    r->interim = 0;
    r->head_len = 0;
    r->line_start = 0;
    r->nheaders = 0;
    r->remaining = 0;
    r->line_len = 0;
    r->crlf_seen_cr = 0;
    r->body = body;
    r->body_cap = body ? body_cap : 0;
    r->body_len = 0;
}

static long fail(http1_resp *r, int err)
{
    r->state = HTTP1_S_FAILED;
    r->err = err;
    return err;
}

/* Strips one trailing CR; a CR anywhere else in the line is an error (returns -1). */
static long line_len_nocr(const char *p, size_t n)
{
    size_t i;
    if (n > 0 && p[n - 1] == '\r')
        n--;
    for (i = 0; i < n; i++)
        if (p[i] == '\r')
            return -1;
    return (long)n;
}

static int parse_status_line(http1_resp *r, const char *p, size_t n)
{
    size_t i;
    if (n < 12 || memcmp(p, "HTTP/", 5) != 0)
        return HTTP1_ERR_STATUS_LINE;
    if (p[5] != '1' || p[6] != '.' || (p[7] != '0' && p[7] != '1'))
        return (p[5] >= '0' && p[5] <= '9') ? HTTP1_ERR_VERSION : HTTP1_ERR_STATUS_LINE;
    r->minor = p[7] - '0';
    if (p[8] != ' ')
        return HTTP1_ERR_STATUS_LINE;
    for (i = 9; i < 12; i++)
        if (p[i] < '0' || p[i] > '9')
            return HTTP1_ERR_STATUS_LINE;
    r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (r->status < 100 || r->status > 599)
        return HTTP1_ERR_STATUS_LINE;
    if (n > 12 && p[12] != ' ')
        return HTTP1_ERR_STATUS_LINE;
    for (i = 13; i < n; i++)
        if (!is_vchar((unsigned char)p[i]))
            return HTTP1_ERR_STATUS_LINE;
    return 0;
}

static int parse_header_line(http1_resp *r, const char *p, size_t n)
{
    size_t i = 0, vs, ve;
    if (p[0] == ' ' || p[0] == '\t')
        return HTTP1_ERR_HEADER; /* obs-fold */
    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i >= n || p[i] != ':')
        return HTTP1_ERR_HEADER;
    vs = i + 1;
    while (vs < n && (p[vs] == ' ' || p[vs] == '\t'))
        vs++;
    ve = n;
    while (ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
        ve--;
    for (size_t k = vs; k < ve; k++)
        if (!is_vchar((unsigned char)p[k]))
            return HTTP1_ERR_HEADER;
    if (r->nheaders >= LIM_HTTP_HEADERS)
        return HTTP1_ERR_HEADER_COUNT;
    r->names[r->nheaders].p = p;
    r->names[r->nheaders].len = i;
    r->values[r->nheaders].p = p + vs;
    r->values[r->nheaders].len = ve - vs;
    r->nheaders++;
    return 0;
}

/* Calls fn on each comma-separated, OWS-trimmed, non-empty element of v. */
typedef int (*elem_fn)(void *ctx, const char *p, size_t n);
static int for_each_elem(http1_view v, elem_fn fn, void *ctx)
{
    size_t i = 0;
    while (i <= v.len) {
        size_t s = i, e;
        while (i < v.len && v.p[i] != ',')
            i++;
        e = i;
        while (s < e && (v.p[s] == ' ' || v.p[s] == '\t'))
            s++;
        while (e > s && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'))
            e--;
        if (e > s) {
            int rc = fn(ctx, v.p + s, e - s);
            if (rc)
                return rc;
        }
        i++;
    }
    return 0;
}

typedef struct {
    int close, keep;
} conn_tokens;
static int conn_elem(void *ctx, const char *p, size_t n)
{
    conn_tokens *t = ctx;
    if (view_ieq(p, n, "close"))
        t->close = 1;
    else if (view_ieq(p, n, "keep-alive"))
        t->keep = 1;
    return 0;
}

typedef struct {
    int count, chunked_last;
} te_tokens;
static int te_elem(void *ctx, const char *p, size_t n)
{
    te_tokens *t = ctx;
    t->count++;
    t->chunked_last = view_ieq(p, n, "chunked");
    return t->chunked_last ? 0 : HTTP1_ERR_TRANSFER_CODING;
}

typedef struct {
    int seen;
    uint64_t value;
} cl_value;
static int cl_elem(void *ctx, const char *p, size_t n)
{
    cl_value *c = ctx;
    uint64_t v = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return HTTP1_ERR_CONTENT_LENGTH;
        if (v > (UINT64_MAX - 9) / 10)
            return HTTP1_ERR_CONTENT_LENGTH;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    if (c->seen && c->value != v)
        return HTTP1_ERR_CONTENT_LENGTH;
    c->seen = 1;
    c->value = v;
    return 0;
}

/* The whole head (status line + headers + empty line) is in r->head. */
static int parse_head(http1_resp *r)
{
    const char *p = r->head, *end = r->head + r->head_len;
    conn_tokens ct = { 0, 0 };
    te_tokens te = { 0, 0 };
    cl_value cl = { 0, 0 };
    int first = 1, rc;
    size_t i;

    r->nheaders = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        long n = line_len_nocr(p, (size_t)(nl - p));
        if (n < 0)
            return first ? HTTP1_ERR_STATUS_LINE : HTTP1_ERR_HEADER;
        if (n == 0)
            break;
        if (memchr(p, 0, (size_t)n))
            return first ? HTTP1_ERR_STATUS_LINE : HTTP1_ERR_HEADER;
        rc = first ? parse_status_line(r, p, (size_t)n) : parse_header_line(r, p, (size_t)n);
        if (rc)
            return rc;
        first = 0;
        p = nl + 1;
    }
    if (first)
        return HTTP1_ERR_STATUS_LINE;

    for (i = 0; i < r->nheaders; i++) {
        http1_view nm = r->names[i];
        if (view_ieq(nm.p, nm.len, "connection"))
            rc = for_each_elem(r->values[i], conn_elem, &ct);
        else if (view_ieq(nm.p, nm.len, "transfer-encoding")) {
            rc = for_each_elem(r->values[i], te_elem, &te);
            if (rc == 0 && r->values[i].len == 0)
                rc = HTTP1_ERR_TRANSFER_CODING;
        } else if (view_ieq(nm.p, nm.len, "content-length")) {
            rc = for_each_elem(r->values[i], cl_elem, &cl);
            if (rc == 0 && !cl.seen)
                rc = HTTP1_ERR_CONTENT_LENGTH; /* empty value */
        } else
            rc = 0;
        if (rc)
            return rc;
    }
    if (te.count > 1)
        return HTTP1_ERR_TRANSFER_CODING; /* "chunked, chunked" */
    r->keep_alive = r->minor == 1 ? !ct.close : (ct.keep && !ct.close);
    if (te.count)
        return cl.seen ? 3 : 2;
    r->remaining = cl.value;
    return cl.seen ? 1 : 0;
}

/* Called when the empty line ending the head has been stored. */
static long end_of_head(http1_resp *r)
{
    int framing = parse_head(r);
    if (framing < 0)
        return fail(r, framing);
    if (r->status < 200 && r->status != 101) {
        if (++r->interim > (int)LIM_HTTP_INTERIM)
            return fail(r, HTTP1_ERR_INTERIM);
        r->head_len = r->line_start = r->nheaders = 0;
        return 0;
    }
    if (r->head_request || r->status == 101 || r->status == 204 || r->status == 304) {
        if (r->status == 101)
            r->keep_alive = 0; /* the connection now speaks another protocol */
        r->state = HTTP1_S_DONE;
    } else if (framing >= 2) {
        if (framing == 3)
            r->keep_alive = 0; /* both TE and CL: answer it, never reuse */
        r->remaining = 0;
        r->line_len = 0;
        r->state = HTTP1_S_CHUNK_SIZE;
    } else if (framing == 1) {
        if (r->remaining > r->body_cap)
            return fail(r, HTTP1_ERR_BODY_SIZE);
        r->state = r->remaining ? HTTP1_S_BODY_LENGTH : HTTP1_S_DONE;
    } else {
        r->keep_alive = 0;
        r->state = HTTP1_S_BODY_CLOSE;
    }
    return 0;
}

static long parse_chunk_size(http1_resp *r)
{
    long n = line_len_nocr(r->line, r->line_len);
    uint64_t v = 0;
    size_t i = 0, digits = 0;
    if (n < 0)
        return fail(r, HTTP1_ERR_CHUNK_SIZE);
    for (; i < (size_t)n; i++) {
        unsigned char c = lower((unsigned char)r->line[i]);
        unsigned d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            break;
        if (++digits > 15)
            return fail(r, HTTP1_ERR_CHUNK_SIZE); /* > 2^60: nonsense, and no overflow */
        v = v * 16 + d;
    }
    if (digits == 0)
        return fail(r, HTTP1_ERR_CHUNK_SIZE);
    while (i < (size_t)n && (r->line[i] == ' ' || r->line[i] == '\t'))
        i++;
    if (i < (size_t)n && r->line[i] != ';')
        return fail(r, HTTP1_ERR_CHUNK_SIZE);
    for (; i < (size_t)n; i++) /* chunk extensions: ignored, but no control bytes */
        if (!is_vchar((unsigned char)r->line[i]))
            return fail(r, HTTP1_ERR_CHUNK_SIZE);
    r->line_len = 0;
    if (v == 0) {
        r->remaining = 0; /* now counts trailer bytes */
        r->state = HTTP1_S_TRAILERS;
        return 0;
    }
    if (v > r->body_cap - r->body_len)
        return fail(r, HTTP1_ERR_BODY_SIZE);
    r->remaining = v;
    r->state = HTTP1_S_CHUNK_DATA;
    return 0;
}

/* see http1.h */
long http1_resp_push(http1_resp *r, const uint8_t *in, size_t len)
{
    size_t i = 0;
    long rc;

    if (r->state == HTTP1_S_FAILED)
        return r->err;
    while (i < len && r->state != HTTP1_S_DONE) {
        switch (r->state) {
        case HTTP1_S_STATUS: {
            unsigned char c = in[i++];
            if (r->head_len >= sizeof r->head)
                return fail(r, HTTP1_ERR_HEADER_SIZE);
            r->head[r->head_len++] = (char)c;
            if (c != '\n')
                break;
            {
                size_t ll = r->head_len - 1 - r->line_start;
                if (ll == 0 || (ll == 1 && r->head[r->line_start] == '\r')) {
                    if (r->line_start == 0)
                        return fail(r, HTTP1_ERR_STATUS_LINE); /* empty first line */
                    if ((rc = end_of_head(r)) < 0)
                        return rc;
                } else
                    r->line_start = r->head_len;
            }
            break;
        }
        case HTTP1_S_BODY_LENGTH:
        case HTTP1_S_CHUNK_DATA: {
            size_t n = len - i;
            if (n > r->remaining)
                n = (size_t)r->remaining;
            memcpy(r->body + r->body_len, in + i, n); /* capacity checked up front */
            r->body_len += n;
            r->remaining -= n;
            i += n;
            if (r->remaining == 0) {
                r->crlf_seen_cr = 0;
                r->state = r->state == HTTP1_S_BODY_LENGTH ? HTTP1_S_DONE : HTTP1_S_CHUNK_CRLF;
            }
            break;
        }
        case HTTP1_S_BODY_CLOSE: {
            size_t n = len - i;
            if (n > r->body_cap - r->body_len)
                return fail(r, HTTP1_ERR_BODY_SIZE);
            memcpy(r->body + r->body_len, in + i, n);
            r->body_len += n;
            i += n;
            break;
        }
        case HTTP1_S_CHUNK_SIZE: {
            unsigned char c = in[i++];
            if (c == '\n') {
                if ((rc = parse_chunk_size(r)) < 0)
                    return rc;
            } else if (r->line_len >= sizeof r->line) {
                return fail(r, HTTP1_ERR_CHUNK_SIZE);
            } else
                r->line[r->line_len++] = (char)c;
            break;
        }
        case HTTP1_S_CHUNK_CRLF: {
            unsigned char c = in[i++];
            if (c == '\r' && !r->crlf_seen_cr)
                r->crlf_seen_cr = 1;
            else if (c == '\n') {
                r->line_len = 0;
                r->state = HTTP1_S_CHUNK_SIZE;
            } else
                return fail(r, HTTP1_ERR_CHUNK_SYNTAX);
            break;
        }
        case HTTP1_S_TRAILERS: {
            unsigned char c = in[i++];
            if (++r->remaining + r->head_len > LIM_HTTP_HEADER_BYTES)
                return fail(r, HTTP1_ERR_HEADER_SIZE);
            if (c == '\n') {
                if (r->line_len == 0 || (r->line_len == 1 && r->line[0] == '\r'))
                    r->state = HTTP1_S_DONE;
                r->line_len = 0;
            } else if (c == 0) {
                return fail(r, HTTP1_ERR_CHUNK_SYNTAX);
            } else if (r->line_len < 2) {
                r->line[r->line_len++] = (char)c; /* only need to know "empty or not" */
            }
            break;
        }
        default: return fail(r, HTTP1_ERR_CHUNK_SYNTAX); /* unreachable */
        }
    }
    return (long)i;
}

/* see http1.h */
int http1_resp_eof(http1_resp *r)
{
    if (r->state == HTTP1_S_FAILED)
        return r->err;
    if (r->state == HTTP1_S_DONE)
        return 0;
    if (r->state == HTTP1_S_BODY_CLOSE) {
        r->state = HTTP1_S_DONE;
        return 0;
    }
    return (int)fail(r, HTTP1_ERR_TRUNCATED);
}

http1_state http1_resp_state(const http1_resp *r)
{
    return r->state;
}
int http1_resp_last_error(const http1_resp *r)
{
    return r->err;
}
int http1_resp_status(const http1_resp *r)
{
    return r->status;
}
size_t http1_resp_body_len(const http1_resp *r)
{
    return r->body_len;
}
size_t http1_resp_header_count(const http1_resp *r)
{
    return r->nheaders;
}

int http1_resp_keep_alive(const http1_resp *r)
{
    return r->state == HTTP1_S_DONE && r->keep_alive;
}

int http1_resp_header_at(const http1_resp *r, size_t i, http1_view *name, http1_view *value)
{
    if (i >= r->nheaders)
        return 0;
    if (name)
        *name = r->names[i];
    if (value)
        *value = r->values[i];
    return 1;
}

int http1_resp_header(const http1_resp *r, const char *name, http1_view *value)
{
    size_t i;
    for (i = 0; i < r->nheaders; i++)
        if (view_ieq(r->names[i].p, r->names[i].len, name)) {
            if (value)
                *value = r->values[i];
            return 1;
        }
    return 0;
}
