/* test_http1.c -- core/http1: request writer and response parser, fed whole, one byte
 * at a time and split at every point, against a table of valid and hostile responses. */
#include <stdlib.h>

#include "core/http1.h"
#include "tests/harness.h"

static http1_resp R; /* ~18 KiB: static, not on the stack */
static uint8_t body[4096];

typedef struct {
    const char *name;
    const char *in;
    int head; /* HEAD request */
    size_t body_cap;
    int want_err; /* 0 = complete response expected */
    int want_status;
    const char *want_body;
    int want_keep;
    int want_eof_needed; /* body delimited by close: complete only after eof */
    long want_leftover;  /* bytes not consumed after DONE */
} rcase;

#define ERR(n, i, cap, e)                                  \
    {                                                      \
        .name = n, .in = i, .body_cap = cap, .want_err = e \
    }
static const rcase cases[] = {
    { "content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello", 0, 4096, 0,
      200, "hello", 1, 0, 0 },
    { "chunked",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
      "6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
      0, 4096, 0, 200, "hello world", 1, 0, 0 },
    { "chunked upper hex",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", 0, 4096,
      0, 200, "0123456789", 1, 0, 0 },
    { "bare LF lines", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", 0, 4096, 0, 200, "ok", 1, 0, 0 },
    { "connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", 0,
      4096, 0, 200, "ok", 0, 0, 0 },
    { "http10 default close", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, 4096, 0, 200,
      "ok", 0, 0, 0 },
    { "http10 keep-alive",
      "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok", 0, 4096, 0, 200,
      "ok", 1, 0, 0 },
    { "close-delimited", "HTTP/1.1 200 OK\r\n\r\nuntil eof", 0, 4096, 0, 200, "until eof", 0, 1,
      0 },
    { "204 no body", "HTTP/1.1 204 No Content\r\n\r\n", 0, 4096, 0, 204, "", 1, 0, 0 },
    { "304 no body despite CL", "HTTP/1.1 304 NM\r\nContent-Length: 10\r\n\r\n", 0, 4096, 0, 304,
      "", 1, 0, 0 },
    { "HEAD ignores CL", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", 1, 4096, 0, 200, "", 1, 0,
      0 },
    { "100 continue skipped",
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx", 0, 4096, 0,
      201, "x", 1, 0, 0 },
    { "no reason phrase", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", 0, 4096, 0, 404, "", 1, 0,
      0 },
    { "same CL twice", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2, 2\r\n\r\nok", 0,
      4096, 0, 200, "ok", 1, 0, 0 },
    { "TE and CL: chunked wins, no reuse",
      "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n"
      "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
      0, 4096, 0, 200, "ok", 0, 0, 0 },
    { "leftover after response", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", 0, 4096, 0,
      200, "ok", 1, 0, 5 },
    { "body exactly at cap", "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd", 0, 4, 0, 200,
      "abcd", 1, 0, 0 },
    /* errors */
    ERR("CL over cap", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 4, HTTP1_ERR_BODY_SIZE),
    ERR("chunked over cap",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 4,
        HTTP1_ERR_BODY_SIZE),
    ERR("close-delimited over cap", "HTTP/1.1 200 OK\r\n\r\nhello", 4, HTTP1_ERR_BODY_SIZE),
    ERR("huge CL", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", 4096,
        HTTP1_ERR_CONTENT_LENGTH),
    ERR("negative CL", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 4096,
        HTTP1_ERR_CONTENT_LENGTH),
    ERR("empty CL", "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", 4096, HTTP1_ERR_CONTENT_LENGTH),
    ERR("conflicting CL", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
        4096, HTTP1_ERR_CONTENT_LENGTH),
    ERR("gzip coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 4096,
        HTTP1_ERR_TRANSFER_CODING),
    ERR("double chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 4096,
        HTTP1_ERR_TRANSFER_CODING),
    ERR("bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 4096,
        HTTP1_ERR_CHUNK_SIZE),
    ERR("empty chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", 4096,
        HTTP1_ERR_CHUNK_SIZE),
    ERR("chunk size overflow",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", 4096,
        HTTP1_ERR_CHUNK_SIZE),
    ERR("chunk size junk after",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n", 4096,
        HTTP1_ERR_CHUNK_SIZE),
    ERR("missing CRLF after chunk",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n", 4096,
        HTTP1_ERR_CHUNK_SYNTAX),
    ERR("HTTP/2 status", "HTTP/2 200 OK\r\n\r\n", 4096, HTTP1_ERR_VERSION),
    ERR("HTTP/3.0", "HTTP/3.0 200 OK\r\n\r\n", 4096, HTTP1_ERR_VERSION),
    ERR("not http", "SSH-2.0-OpenSSH_9.2\r\n\r\n", 4096, HTTP1_ERR_STATUS_LINE),
    ERR("status 099", "HTTP/1.1 099 X\r\n\r\n", 4096, HTTP1_ERR_STATUS_LINE),
    ERR("status 2000", "HTTP/1.1 2000 X\r\n\r\n", 4096, HTTP1_ERR_STATUS_LINE),
    ERR("empty first line", "\r\nHTTP/1.1 200 OK\r\n\r\n", 4096, HTTP1_ERR_STATUS_LINE),
    ERR("obs-fold", "HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\n\r\n", 4096, HTTP1_ERR_HEADER),
    ERR("space before colon", "HTTP/1.1 200 OK\r\nX-A : b\r\n\r\n", 4096, HTTP1_ERR_HEADER),
    ERR("no colon", "HTTP/1.1 200 OK\r\nX-A b\r\n\r\n", 4096, HTTP1_ERR_HEADER),
    ERR("bare CR in header", "HTTP/1.1 200 OK\r\nX-A: b\rc\r\n\r\n", 4096, HTTP1_ERR_HEADER),
    ERR("NUL in header", "HTTP/1.1 200 OK\r\nX-A: b\0c\r\n\r\n", 4096, HTTP1_ERR_HEADER),
};

/* Length of a case input: the NUL-in-header case embeds one NUL, so cases end at
 * the terminating "\r\n\r\n" or the string end, whichever gives the longer input. */
static size_t case_len(const rcase *c)
{
    size_t n = strlen(c->in);
    if (strcmp(c->name, "NUL in header") == 0)
        n += 1 + strlen(c->in + n + 1);
    return n;
}

/* Feeds in[0..n) split at `split` (and, if bytewise, one byte at a time). Returns the
 * error (<0) or the total consumed. */
static long feed(const rcase *c, size_t n, size_t split, int bytewise)
{
    const uint8_t *in = (const uint8_t *)c->in;
    long total = 0;
    size_t off = 0;
    http1_resp_init(&R, body, c->body_cap, c->head);
    while (off < n) {
        size_t chunk = bytewise ? 1 : (off < split ? split - off : n - off);
        long rc = http1_resp_push(&R, in + off, chunk);
        if (rc < 0)
            return rc;
        total += rc;
        if ((size_t)rc < chunk) /* DONE: the rest is leftover */
            return total;
        off += chunk;
    }
    return total;
}

static void check_case(const rcase *c, size_t split, int bytewise)
{
    size_t n = case_len(c);
    long rc = feed(c, n, split, bytewise);
    CHECK_CTX("%s split=%zu bytewise=%d", c->name, split, bytewise);
    if (c->want_err) {
        if (rc >= 0 && c->want_err == HTTP1_ERR_BODY_SIZE)
            rc = http1_resp_eof(&R);
        CHECK_INT(rc, c->want_err);
        CHECK_INT(http1_resp_state(&R), HTTP1_S_FAILED);
        CHECK_INT(http1_resp_last_error(&R), c->want_err);
        /* sticky */
        CHECK_INT(http1_resp_push(&R, (const uint8_t *)"x", 1), c->want_err);
        return;
    }
    CHECK_INT(rc, (long)n - c->want_leftover);
    if (c->want_eof_needed) {
        CHECK_INT(http1_resp_state(&R), HTTP1_S_BODY_CLOSE);
        CHECK_INT(http1_resp_eof(&R), 0);
    }
    CHECK_INT(http1_resp_state(&R), HTTP1_S_DONE);
    CHECK_INT(http1_resp_status(&R), c->want_status);
    CHECK_MEM(body, http1_resp_body_len(&R), c->want_body, strlen(c->want_body));
    CHECK_INT(http1_resp_keep_alive(&R), c->want_keep);
}

static void test_table_whole(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i], case_len(&cases[i]), 0);
}

static void test_table_bytewise(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i], 0, 1);
}

static void test_table_every_split(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (size_t s = 1; s < case_len(&cases[i]); s++)
            check_case(&cases[i], s, 0);
}

static void test_headers_views(void)
{
    const char *in = "HTTP/1.1 401 Unauthorized\r\nContent-Type:  application/json \r\n"
                     "X-Empty:\r\nContent-Length: 2\r\n\r\n{}";
    http1_view v, nm;
    http1_resp_init(&R, body, sizeof body, 0);
    CHECK_INT(http1_resp_push(&R, (const uint8_t *)in, strlen(in)), (long)strlen(in));
    CHECK_INT(http1_resp_status(&R), 401);
    CHECK_INT(http1_resp_header_count(&R), 3);
    CHECK(http1_resp_header(&R, "content-TYPE", &v));
    CHECK_MEM(v.p, v.len, "application/json", 16);
    CHECK(http1_resp_header(&R, "x-empty", &v));
    CHECK_INT(v.len, 0);
    CHECK(!http1_resp_header(&R, "location", &v));
    CHECK(http1_resp_header_at(&R, 2, &nm, &v));
    CHECK_MEM(nm.p, nm.len, "Content-Length", 14);
    CHECK(!http1_resp_header_at(&R, 3, &nm, &v));
}

static void test_limits(void)
{
    static char big[LIM_HTTP_HEADER_BYTES + 100];
    size_t n = 0;
    /* header block one byte over the limit, then exactly at it */
    for (int over = 1; over >= 0; over--) {
        CHECK_CTX("over=%d", over);
        n = (size_t)snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nX: ");
        while (n < LIM_HTTP_HEADER_BYTES - 4 + (size_t)over)
            big[n++] = 'a';
        memcpy(big + n, "\r\n\r\n", 4);
        n += 4;
        http1_resp_init(&R, body, sizeof body, 0);
        if (over) {
            CHECK_INT(http1_resp_push(&R, (const uint8_t *)big, n), HTTP1_ERR_HEADER_SIZE);
        } else {
            CHECK_INT(n, LIM_HTTP_HEADER_BYTES);
            CHECK_INT(http1_resp_push(&R, (const uint8_t *)big, n), (long)n);
            CHECK_INT(http1_resp_state(&R), HTTP1_S_BODY_CLOSE);
        }
    }

    /* header count */
    n = (size_t)snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\n");
    for (unsigned i = 0; i <= LIM_HTTP_HEADERS; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "H%u: v\r\n", i);
    n += (size_t)snprintf(big + n, sizeof big - n, "\r\n");
    http1_resp_init(&R, body, sizeof body, 0);
    CHECK_INT(http1_resp_push(&R, (const uint8_t *)big, n), HTTP1_ERR_HEADER_COUNT);

    /* chunk-size line limit (long extension) */
    n = (size_t)snprintf(big, sizeof big,
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;");
    for (unsigned i = 0; i < LIM_HTTP_CHUNK_LINE; i++)
        big[n++] = 'e';
    http1_resp_init(&R, body, sizeof body, 0);
    CHECK_INT(http1_resp_push(&R, (const uint8_t *)big, n), HTTP1_ERR_CHUNK_SIZE);

    /* too many interim responses */
    n = 0;
    for (unsigned i = 0; i <= LIM_HTTP_INTERIM; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "HTTP/1.1 100 Continue\r\n\r\n");
    http1_resp_init(&R, body, sizeof body, 0);
    CHECK_INT(http1_resp_push(&R, (const uint8_t *)big, n), HTTP1_ERR_INTERIM);
}

static void test_truncation(void)
{
    static const char *partial[] = {
        "",
        "HTTP/1.1 200 OK\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    };
    for (size_t i = 0; i < sizeof partial / sizeof partial[0]; i++) {
        CHECK_CTX("partial %zu", i);
        http1_resp_init(&R, body, sizeof body, 0);
        CHECK(http1_resp_push(&R, (const uint8_t *)partial[i], strlen(partial[i])) >= 0);
        CHECK_INT(http1_resp_eof(&R), HTTP1_ERR_TRUNCATED);
        CHECK_INT(http1_resp_keep_alive(&R), 0);
    }
}

static void test_no_body_buffer(void)
{
    const char *ok = "HTTP/1.1 204 No Content\r\n\r\n";
    const char *bad = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
    http1_resp_init(&R, NULL, 100, 0);
    CHECK_INT(http1_resp_push(&R, (const uint8_t *)ok, strlen(ok)), (long)strlen(ok));
    CHECK_INT(http1_resp_state(&R), HTTP1_S_DONE);
    http1_resp_init(&R, NULL, 100, 0);
    CHECK_INT(http1_resp_push(&R, (const uint8_t *)bad, strlen(bad)), HTTP1_ERR_BODY_SIZE);
}

static void test_write_request(void)
{
    char out[512];
    http1_header h[] = { { "Accept", "application/json" },
                         { "X-Authorization", "Bearer abc.def" } };
    int n = http1_write_request(out, sizeof out, "GET", "iot.example.com", 443,
                                "/api/user/assets?pageSize=100&page=0", h, 2, 0);
    const char *want = "GET /api/user/assets?pageSize=100&page=0 HTTP/1.1\r\n"
                       "Host: iot.example.com\r\nAccept: application/json\r\n"
                       "X-Authorization: Bearer abc.def\r\n\r\n";
    CHECK_MEM(out, n > 0 ? (size_t)n : 0, want, strlen(want));

    n = http1_write_request(out, sizeof out, "POST", "localhost", 8443, "/api/auth/login", NULL, 0,
                            42);
    want = "POST /api/auth/login HTTP/1.1\r\nHost: localhost:8443\r\nContent-Length: 42\r\n\r\n";
    CHECK_MEM(out, n > 0 ? (size_t)n : 0, want, strlen(want));

    n = http1_write_request(out, sizeof out, "POST", "::1", 8080, "/x", NULL, 0, 0);
    want = "POST /x HTTP/1.1\r\nHost: [::1]:8080\r\nContent-Length: 0\r\n\r\n";
    CHECK_MEM(out, n > 0 ? (size_t)n : 0, want, strlen(want));

    /* every byte count short of the full length reports SPACE, never a truncation */
    int full = http1_write_request(out, sizeof out, "GET", "h", 0, "/", h, 2, 0);
    CHECK(full > 0);
    for (int cap = 0; cap < full; cap++)
        CHECK_INT(http1_write_request(out, (size_t)cap, "GET", "h", 0, "/", h, 2, 0),
                  HTTP1_ERR_SPACE);

    /* injection attempts */
    http1_header bad_v[] = { { "X-A", "v\r\nX-Evil: 1" } };
    http1_header bad_n[] = { { "X A", "v" } };
    CHECK_INT(http1_write_request(out, sizeof out, "GET", "h", 0, "/", bad_v, 1, 0),
              HTTP1_ERR_BAD_INPUT);
    CHECK_INT(http1_write_request(out, sizeof out, "GET", "h", 0, "/", bad_n, 1, 0),
              HTTP1_ERR_BAD_INPUT);
    CHECK_INT(http1_write_request(out, sizeof out, "GET", "h", 0, "/a b", NULL, 0, 0),
              HTTP1_ERR_BAD_INPUT);
    CHECK_INT(http1_write_request(out, sizeof out, "GET", "h", 0, "noslash", NULL, 0, 0),
              HTTP1_ERR_BAD_INPUT);
    CHECK_INT(http1_write_request(out, sizeof out, "GE T", "h", 0, "/", NULL, 0, 0),
              HTTP1_ERR_BAD_INPUT);
    CHECK_INT(http1_write_request(out, sizeof out, "GET", "h\r\nX: y", 0, "/", NULL, 0, 0),
              HTTP1_ERR_BAD_INPUT);
    CHECK_INT(http1_write_request(out, sizeof out, "GET", "", 0, "/", NULL, 0, 0),
              HTTP1_ERR_BAD_INPUT);
}

static void test_strerror(void)
{
    for (int e = HTTP1_ERR_INTERIM; e <= HTTP1_ERR_SPACE; e++)
        CHECK(strcmp(http1_strerror(e), "unknown http1 error") != 0);
    CHECK_STR(http1_strerror(-1), "unknown http1 error");
}

int main(void)
{
    RUN(test_table_whole);
    RUN(test_table_bytewise);
    RUN(test_table_every_split);
    RUN(test_headers_views);
    RUN(test_limits);
    RUN(test_truncation);
    RUN(test_no_body_buffer);
    RUN(test_write_request);
    RUN(test_strerror);
    return harness_done();
}
