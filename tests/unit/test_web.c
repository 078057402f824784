/* test_web.c -- content negotiation, and a real server on loopback: start, port, stop;
 * the streamed /metrics body (chunked, reassembled equal to a whole-body render),
 * keep-alive, HTTP/1.0 with Content-Length, HEAD, the body limit and the deadline
 * aborting a stream, a client that leaves mid-body. */
#include "exporter/web.h"
#include "tests/harness.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static void test_negotiate(void)
{
    static const struct {
        const char *accept;
        enum expo_format want;
    } t[] = {
        { NULL, EXPO_TEXT },
        { "*/*", EXPO_TEXT },
        { "text/plain", EXPO_TEXT },
        { "application/openmetrics-text", EXPO_OPENMETRICS },
        /* Prometheus 2.x */
        { "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
          "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
          EXPO_OPENMETRICS },
        /* Prometheus 3.x */
        { "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
          "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;"
          "escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
          EXPO_OPENMETRICS },
        { "application/openmetrics-text;q=0.2, text/plain;q=0.9", EXPO_TEXT },
        { "application/openmetrics-text;q=0", EXPO_TEXT },
        { "application/openmetrics-text;version=9.9.9", EXPO_TEXT },
        { "APPLICATION/OPENMETRICS-TEXT ; Q=0.9", EXPO_OPENMETRICS },
        { "application/json", EXPO_TEXT },
        { ";;;,,,q=", EXPO_TEXT },
        { "application/openmetrics-text;q=abc", EXPO_TEXT },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        CHECK_CTX("row %zu", i);
        CHECK_INT(web_negotiate(t[i].accept), t[i].want);
    }
}

/* --- the render callback --------------------------------------------------------- */

/* Renders `n` samples; each line names its index, so a mixed-up or truncated body
 * shows. Counts calls and records how far it got, for the abort tests. */
struct fx {
    unsigned n;
    atomic_uint calls, done;
    atomic_uint last_i;   /* samples written before the encoder failed or the end */
    atomic_llong done_ms; /* CLOCK_MONOTONIC ms when the last render returned */
};

static long long mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int render_n(void *user, struct expo *e)
{
    struct fx *fx = user;
    unsigned i;
    atomic_fetch_add(&fx->calls, 1);
    expo_family(e, "x_n", EXPO_GAUGE, "x");
    for (i = 0; i < fx->n && !expo_failed(e); i++) {
        char lb[64];
        int l = snprintf(lb, sizeof lb, "i=\"%u\",pad=\"abcdefghijklmnopqrstuvwxyz\"", i);
        expo_sample(e, lb, (size_t)l, (double)fx->n);
    }
    atomic_store(&fx->last_i, i);
    atomic_store(&fx->done_ms, mono_ms());
    atomic_fetch_add(&fx->done, 1);
    return 0;
}

/* The body a whole-body render of the same callback gives (malloc'd). */
static char *whole_body(struct fx *fx, enum expo_format fmt, size_t *len)
{
    struct expo e;
    struct fx copy = { .n = fx->n };
    expo_init(&e, fmt, 0);
    render_n(&copy, &e);
    CHECK_INT(expo_finish(&e), EXPO_OK);
    return expo_take(&e, len);
}

/* --- a small HTTP/1.1 client -------------------------------------------------------- */

struct cli {
    int fd;
    char in[65536];
    size_t off, len;
    int eof;
    const char *mem; /* when set: bytes come from mem[mpos..mlen), not fd */
    size_t mpos, mlen;
};

struct resp {
    int status;
    char head[4096]; /* status line and headers, NUL-terminated */
    char *body;      /* decoded body (malloc'd, NUL-terminated) */
    size_t len, cap;
    int chunked;
    int complete; /* chunked: the last chunk arrived; else: Content-Length met */
    unsigned chunks;
    size_t max_chunk;
};

static int cli_open(struct cli *c, int port, int rcvbuf)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    if (rcvbuf)
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct timeval tv = { 20, 0 }; /* a hung test fails instead of hanging */
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(c->fd);
        return -1;
    }
    return 0;
}

static void cli_close(struct cli *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static int cli_send(struct cli *c, const char *s)
{
    size_t n = strlen(s);
    return write(c->fd, s, n) == (ssize_t)n ? 0 : -1;
}

/* Makes at least one more byte available; 0, or -1 at EOF/error. */
static int cli_fill(struct cli *c)
{
    if (c->off == c->len)
        c->off = c->len = 0;
    if (c->len == sizeof c->in) {
        memmove(c->in, c->in + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
    }
    ssize_t r;
    if (c->mem) {
        r = (ssize_t)(c->mlen - c->mpos < sizeof c->in - c->len ? c->mlen - c->mpos
                                                                : sizeof c->in - c->len);
        memcpy(c->in + c->len, c->mem + c->mpos, (size_t)r);
        c->mpos += (size_t)r;
    } else {
        r = read(c->fd, c->in + c->len, sizeof c->in - c->len);
    }
    if (r <= 0) {
        c->eof = 1;
        return -1;
    }
    c->len += (size_t)r;
    return 0;
}

/* One line without its CRLF into out; -1 at EOF. */
static int cli_line(struct cli *c, char *out, size_t cap)
{
    size_t o = 0;
    for (;;) {
        while (c->off < c->len) {
            char ch = c->in[c->off++];
            if (ch == '\n') {
                if (o && out[o - 1] == '\r')
                    o--;
                out[o] = 0;
                return 0;
            }
            if (o + 1 < cap)
                out[o++] = ch;
        }
        if (cli_fill(c))
            return -1;
    }
}

static int cli_bytes(struct cli *c, struct resp *r, size_t n)
{
    while (n) {
        if (c->off == c->len && cli_fill(c))
            return -1;
        size_t k = c->len - c->off < n ? c->len - c->off : n;
        if (r->len + k + 1 > r->cap) {
            size_t ncap = (r->len + k + 1) * 2;
            char *nb = realloc(r->body, ncap);
            if (!nb)
                return -1;
            r->body = nb;
            r->cap = ncap;
        }
        memcpy(r->body + r->len, c->in + c->off, k);
        r->len += k;
        r->body[r->len] = 0;
        c->off += k;
        n -= k;
    }
    return 0;
}

/* Reads one response; head_only for HEAD. 0 when a status line arrived. */
static int cli_read(struct cli *c, struct resp *r, int head_only)
{
    char line[4096];
    long long clen = -1;
    size_t ho = 0;
    memset(r, 0, sizeof *r);
    r->body = calloc(1, 1);
    if (cli_line(c, line, sizeof line) || sscanf(line, "HTTP/1.%*d %d", &r->status) != 1)
        return -1;
    for (;;) {
        ho += (size_t)snprintf(r->head + ho, sizeof r->head - ho, "%s\r\n", line);
        if (ho >= sizeof r->head)
            ho = sizeof r->head - 1;
        if (cli_line(c, line, sizeof line))
            return 0;
        if (!line[0])
            break;
        if (!strncasecmp(line, "Content-Length:", 15))
            clen = atoll(line + 15);
        if (!strcasecmp(line, "Transfer-Encoding: chunked"))
            r->chunked = 1;
    }
    if (head_only)
        return 0;
    if (r->chunked) {
        for (;;) {
            size_t n;
            if (cli_line(c, line, sizeof line) || sscanf(line, "%zx", &n) != 1)
                return 0;
            if (n == 0) {
                r->complete = cli_line(c, line, sizeof line) == 0 && !line[0];
                return 0;
            }
            r->chunks++;
            if (n > r->max_chunk)
                r->max_chunk = n;
            if (cli_bytes(c, r, n) || cli_line(c, line, sizeof line) || line[0])
                return 0;
        }
    }
    if (clen >= 0)
        r->complete = cli_bytes(c, r, (size_t)clen) == 0;
    return 0;
}

static void resp_free(struct resp *r)
{
    free(r->body);
    r->body = NULL;
}

/* 1 when the server closed the connection (EOF within a second). */
static int cli_closed(struct cli *c)
{
    struct pollfd p = { c->fd, POLLIN, 0 };
    if (c->off < c->len)
        return 0;
    if (poll(&p, 1, 1000) != 1)
        return 0;
    char b;
    ssize_t r = recv(c->fd, &b, 1, MSG_PEEK);
    return r == 0 || (r < 0 && errno == ECONNRESET);
}

static struct web *start(struct fx *fx, struct health *h, size_t stream_buf, size_t max_body,
                         unsigned deadline_ms)
{
    struct web_config wc = { .listen = "127.0.0.1:0",
                             .telemetry_path = "/metrics",
                             .version = "t",
                             .health = h,
                             .stream_buf = stream_buf,
                             .max_body = max_body,
                             .stream_deadline_ms = deadline_ms };
    struct web_callbacks cb = { render_n, NULL, fx };
    char err[256];
    struct web *w = web_start(&wc, &cb, err, sizeof err);
    CHECK(w != NULL);
    return w;
}

/* --- tests ----------------------------------------------------------------------------- */

static void test_start_stop(void)
{
    struct fx fx = { .n = 1 };
    struct web *w = start(&fx, NULL, 0, 0, 0);
    if (!w)
        return;
    int port = web_port(w);
    CHECK(port > 0);
    struct cli c;
    struct resp r;
    CHECK_INT(cli_open(&c, port, 0), 0);
    CHECK_INT(cli_send(&c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    CHECK_INT(cli_read(&c, &r, 0), 0);
    CHECK_INT(r.status, 200);
    CHECK(strstr(r.head, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != NULL);
    CHECK(r.chunked && r.complete);
    CHECK(strcmp(r.body, "# HELP x_n x\n# TYPE x_n gauge\n"
                         "x_n{i=\"0\",pad=\"abcdefghijklmnopqrstuvwxyz\"} 1\n") == 0);
    resp_free(&r);
    cli_close(&c);
    /* a second server on the same port fails with a message naming the option */
    char addr[64], err[256];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    struct web_config wc2 = { .listen = addr, .telemetry_path = "/metrics", .version = "t" };
    struct web_callbacks cb = { render_n, NULL, &fx };
    struct web *w2 = web_start(&wc2, &cb, err, sizeof err);
    CHECK(w2 == NULL);
    CHECK(strstr(err, "--web.listen-address") != NULL);
    web_stop(w2);
    web_stop(w);
}

/* The chunked stream, reassembled, is the whole-body render byte for byte: tiny and
 * default buffers, small and large bodies, both formats ("# EOF" last in OpenMetrics);
 * no chunk is larger than the buffer. */
static void test_chunked_equals_whole(void)
{
    static const size_t bufs[] = { 1000, 0 };
    static const unsigned sizes[] = { 0, 3, 300000, 10 };
    struct fx fx = { 0 };
    for (size_t b = 0; b < sizeof bufs / sizeof bufs[0]; b++) {
        struct web *w = start(&fx, NULL, bufs[b], 0, 0);
        if (!w)
            return;
        for (size_t i = 0; i < 2 * sizeof sizes / sizeof sizes[0]; i++) {
            enum expo_format fmt = (enum expo_format)(i % 2);
            struct cli c;
            struct resp r;
            size_t wl;
            fx.n = sizes[i / 2];
            CHECK_CTX("buffer %zu, %u samples, %s", bufs[b], fx.n, fmt ? "openmetrics" : "text");
            char *want = whole_body(&fx, fmt, &wl);
            CHECK_INT(cli_open(&c, web_port(w), 0), 0);
            CHECK_INT(cli_send(&c, fmt ? "GET /metrics HTTP/1.1\r\nHost: x\r\n"
                                         "Accept: application/openmetrics-text\r\n\r\n"
                                       : "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
                      0);
            CHECK_INT(cli_read(&c, &r, 0), 0);
            CHECK_INT(r.status, 200);
            CHECK(r.chunked && r.complete);
            CHECK(strstr(r.head, "Content-Length") == NULL);
            CHECK(strstr(r.head, fmt ? EXPO_CT_OPENMETRICS : EXPO_CT_TEXT) != NULL);
            CHECK_MEM(r.body, r.len, want, wl);
            CHECK(r.max_chunk <= (bufs[b] ? bufs[b] : WEB_STREAM_BUF));
            if (bufs[b] && wl > 2 * bufs[b])
                CHECK(r.chunks >= wl / bufs[b]);
            if (fmt)
                CHECK(r.len >= 6 && !memcmp(r.body + r.len - 6, "# EOF\n", 6));
            resp_free(&r);
            free(want);
            cli_close(&c);
        }
        web_stop(w);
    }
}

/* Prometheus keeps its connection: two scrapes, a HEAD, a 404 and a third scrape on
 * one connection, each whole; the connection is still open after the last. */
static void test_keep_alive(void)
{
    struct fx fx = { .n = 20000 };
    struct web *w = start(&fx, NULL, 4096, 0, 0);
    if (!w)
        return;
    struct cli c;
    struct resp r;
    size_t wl;
    char *want = whole_body(&fx, EXPO_TEXT, &wl);
    CHECK_INT(cli_open(&c, web_port(w), 0), 0);
    for (int i = 0; i < 2; i++) {
        CHECK_CTX("scrape %d", i);
        CHECK_INT(cli_send(&c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
        CHECK_INT(cli_read(&c, &r, 0), 0);
        CHECK_INT(r.status, 200);
        CHECK(strstr(r.head, "Connection: keep-alive") != NULL);
        CHECK(r.complete);
        CHECK_MEM(r.body, r.len, want, wl);
        resp_free(&r);
    }
    CHECK_CTX("head");
    CHECK_INT(cli_send(&c, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    CHECK_INT(cli_read(&c, &r, 1), 0);
    CHECK_INT(r.status, 200);
    resp_free(&r);
    CHECK_INT(cli_send(&c, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    CHECK_INT(cli_read(&c, &r, 0), 0);
    CHECK_INT(r.status, 404);
    resp_free(&r);
    CHECK_INT(cli_send(&c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    CHECK_INT(cli_read(&c, &r, 0), 0);
    CHECK_INT(r.status, 200);
    CHECK(r.complete);
    CHECK_MEM(r.body, r.len, want, wl);
    resp_free(&r);
    CHECK_INT(atomic_load(&fx.calls), 3); /* HEAD did not render */
    /* "Connection: close" is obeyed */
    CHECK_INT(cli_send(&c, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 0);
    CHECK_INT(cli_read(&c, &r, 0), 0);
    CHECK(r.complete);
    CHECK(strstr(r.head, "Connection: close") != NULL);
    CHECK(cli_closed(&c));
    resp_free(&r);
    cli_close(&c);
    /* a request with a body is answered, then the connection closes: civetweb's body
     * discard and its keep-alive sum (signed, overflows on this length) stay unused */
    static const char *const with_body[] = {
        "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\nabc",
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
        "GET /-/healthy HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof with_body / sizeof with_body[0]; i++) {
        CHECK_CTX("request with a body, %zu", i);
        CHECK_INT(cli_open(&c, web_port(w), 0), 0);
        CHECK_INT(cli_send(&c, with_body[i]), 0);
        CHECK_INT(cli_read(&c, &r, 0), 0);
        CHECK(r.status == 200 || r.status == 405);
        CHECK(strstr(r.head, "Connection: close") != NULL);
        CHECK(cli_closed(&c));
        resp_free(&r);
        cli_close(&c);
    }
    free(want);
    web_stop(w);
}

/* HTTP/1.0 has no chunked encoding: Content-Length and the same bytes. HEAD sends the
 * headers a GET would (chunked for 1.1), no body, and renders nothing. */
static void test_http10_and_head(void)
{
    struct fx fx = { .n = 30000 };
    struct web *w = start(&fx, NULL, 4096, 0, 0);
    if (!w)
        return;
    struct cli c;
    struct resp r;
    size_t wl;
    char cl[64];
    for (int fmt = 0; fmt < 2; fmt++) {
        char *want = whole_body(&fx, (enum expo_format)fmt, &wl);
        CHECK_CTX("%s", fmt ? "openmetrics" : "text");
        CHECK_INT(cli_open(&c, web_port(w), 0), 0);
        CHECK_INT(
            cli_send(&c,
                     fmt ? "GET /metrics HTTP/1.0\r\nAccept: application/openmetrics-text\r\n\r\n"
                         : "GET /metrics HTTP/1.0\r\n\r\n"),
            0);
        CHECK_INT(cli_read(&c, &r, 0), 0);
        CHECK(strncmp(r.head, "HTTP/1.0 200", 12) == 0);
        CHECK(!r.chunked && r.complete);
        snprintf(cl, sizeof cl, "\r\nContent-Length: %zu\r\n", wl);
        CHECK(strstr(r.head, cl) != NULL);
        CHECK_MEM(r.body, r.len, want, wl);
        CHECK(cli_closed(&c));
        resp_free(&r);
        cli_close(&c);
        free(want);
    }
    unsigned before = atomic_load(&fx.calls);
    CHECK_CTX("head 1.1");
    CHECK_INT(cli_open(&c, web_port(w), 0), 0);
    CHECK_INT(cli_send(&c, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 0);
    CHECK_INT(cli_read(&c, &r, 1), 0);
    CHECK_INT(r.status, 200);
    CHECK(r.chunked);
    CHECK(strstr(r.head, EXPO_CT_TEXT) != NULL);
    CHECK(cli_closed(&c)); /* and not one body byte before the close */
    resp_free(&r);
    cli_close(&c);
    CHECK_CTX("head 1.0");
    CHECK_INT(cli_open(&c, web_port(w), 0), 0);
    CHECK_INT(cli_send(&c, "HEAD /metrics HTTP/1.0\r\n\r\n"), 0);
    CHECK_INT(cli_read(&c, &r, 1), 0);
    CHECK_INT(r.status, 200);
    CHECK(!r.chunked && strstr(r.head, "Content-Length") == NULL);
    CHECK(cli_closed(&c));
    resp_free(&r);
    cli_close(&c);
    CHECK_INT(atomic_load(&fx.calls), before);
    web_stop(w);
}

/* The body limit: hit before the first chunk, a plain 500; hit after it, the client
 * gets 200, some chunks and no last chunk, then the connection closes. Both count as
 * a scrape_body limit hit and a 500. */
static void test_body_limit(void)
{
    static struct health h;
    struct fx fx = { .n = 100000 };
    struct cli c;
    struct resp r;
    health_init(&h, "t", "t", 0);
    struct web *w = start(&fx, &h, 4096, 200000, 0);
    if (!w)
        return;
    CHECK_INT(cli_open(&c, web_port(w), 0), 0);
    CHECK_INT(cli_send(&c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    CHECK_INT(cli_read(&c, &r, 0), 0);
    CHECK_INT(r.status, 200);
    CHECK(r.chunked && !r.complete);
    CHECK(r.len > 100000 && r.len <= 200000);
    CHECK(r.body[r.len - 1] == '\n'); /* chunks end at line ends: whole lines, then EOF */
    CHECK(c.eof || cli_closed(&c));
    resp_free(&r);
    cli_close(&c);
    CHECK_INT(atomic_load(&h.limits[HEALTH_LIMIT_SCRAPE_BODY]), 1);
    CHECK_INT(atomic_load(&h.http[HEALTH_HTTP_500]), 1);
    web_stop(w);

    /* same limit, but the body fits the buffer until it fails: nothing was sent yet */
    w = start(&fx, &h, 1u << 20, 200000, 0);
    if (!w)
        return;
    CHECK_INT(cli_open(&c, web_port(w), 0), 0);
    CHECK_INT(cli_send(&c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    CHECK_INT(cli_read(&c, &r, 0), 0);
    CHECK_INT(r.status, 500);
    CHECK(r.complete && strstr(r.body, "see the log") != NULL);
    resp_free(&r);
    cli_close(&c);
    CHECK_INT(atomic_load(&h.limits[HEALTH_LIMIT_SCRAPE_BODY]), 2);
    /* a plain reply is counted after it is sent: give the worker a moment */
    for (int i = 0; i < 200 && atomic_load(&h.http[HEALTH_HTTP_500]) < 2; i++) {
        struct timespec ts = { 0, 10000000 };
        nanosleep(&ts, NULL);
    }
    CHECK_INT(atomic_load(&h.http[HEALTH_HTTP_500]), 2);
    web_stop(w);
}

/* A client that reads a little and leaves: the render notices at its next write and
 * stops (it does not produce the rest), the server goes on serving. ASan/LSan check
 * the abandoned response frees everything. */
static void test_client_leaves(void)
{
    struct fx fx = { .n = 3000000 }; /* ~200 MB if rendered to the end */
    struct web *w = start(&fx, NULL, 0, 0, 0);
    if (!w)
        return;
    struct cli c;
    char line[256];
    CHECK_INT(cli_open(&c, web_port(w), 0), 0);
    CHECK_INT(cli_send(&c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    CHECK_INT(cli_line(&c, line, sizeof line), 0);
    CHECK(strncmp(line, "HTTP/1.1 200", 12) == 0);
    struct linger lg = { 1, 0 }; /* close with a reset, as a killed scraper does */
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    cli_close(&c);
    long long t0 = mono_ms();
    while (atomic_load(&fx.done) == 0 && mono_ms() - t0 < 20000) {
        struct timespec ts = { 0, 10000000 };
        nanosleep(&ts, NULL);
    }
    CHECK_INT(atomic_load(&fx.done), 1);
    CHECK(atomic_load(&fx.last_i) < fx.n);
    /* still serving */
    struct resp r;
    fx.n = 5;
    CHECK_INT(cli_open(&c, web_port(w), 0), 0);
    CHECK_INT(cli_send(&c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    CHECK_INT(cli_read(&c, &r, 0), 0);
    CHECK(r.status == 200 && r.complete);
    resp_free(&r);
    cli_close(&c);
    web_stop(w);
}

/* A reader far too slow for the body: at the deadline the response is abandoned (no
 * last chunk) and the render returns, long before the body could have been read. */
static void test_slow_reader_deadline(void)
{
    static struct health h;
    struct fx fx = { .n = 400000 }; /* ~27 MB */
    struct cli c;
    struct resp r;
    health_init(&h, "t", "t", 0);
    struct web *w = start(&fx, &h, 0, 0, 300);
    if (!w)
        return;
    size_t rawcap = 64u << 20, rawlen = 0;
    char *raw = malloc(rawcap);
    CHECK_INT(cli_open(&c, web_port(w), 4096), 0);
    CHECK_INT(cli_send(&c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    long long t0 = mono_ms();
    /* ~40 KB/s: the whole body would take over ten minutes */
    while (atomic_load(&fx.done) == 0 && mono_ms() - t0 < 10000) {
        struct timespec ts = { 0, 50000000 };
        ssize_t n = read(c.fd, raw + rawlen, 2048);
        if (n <= 0)
            break;
        rawlen += (size_t)n;
        nanosleep(&ts, NULL);
    }
    long long took = atomic_load(&fx.done_ms) - t0;
    CHECK_INT(atomic_load(&fx.done), 1);
    CHECK(took >= 250 && took < 5000);
    CHECK(atomic_load(&fx.last_i) < fx.n);
    printf("# slow reader: render ended %lld ms after the request (deadline 300 ms)\n", took);
    /* the rest of what was sent, at full speed, then the close */
    for (;;) {
        ssize_t n = read(c.fd, raw + rawlen, rawcap - rawlen);
        if (n <= 0)
            break;
        rawlen += (size_t)n;
    }
    cli_close(&c);
    /* it is a 200 with an incomplete chunked body */
    c.mem = raw;
    c.mlen = rawlen;
    CHECK_INT(cli_read(&c, &r, 0), 0);
    CHECK_INT(r.status, 200);
    CHECK(r.chunked && !r.complete && r.len > 0);
    resp_free(&r);
    free(raw);
    CHECK_INT(atomic_load(&h.http[HEALTH_HTTP_500]), 1);
    CHECK_INT(atomic_load(&h.http[HEALTH_HTTP_200]), 0);
    web_stop(w);
}

int main(void)
{
    RUN(test_negotiate);
    RUN(test_start_stop);
    RUN(test_chunked_equals_whole);
    RUN(test_keep_alive);
    RUN(test_http10_and_head);
    RUN(test_body_limit);
    RUN(test_client_leaves);
    RUN(test_slow_reader_deadline);
    return harness_done();
}
