/*
 * fuzz_http1_response.c -- libFuzzer target for core/http1's response parser.
 *
 * Input: byte 0 picks a split point, byte 1 picks the body capacity and HEAD flag, the
 * rest is the response. The oracle: feeding whole and feeding in two pieces (and then
 * one byte at a time) must give the same outcome -- same state, error, status, body
 * and keep-alive -- and nothing may be written past the body capacity.
 */
#include <stdlib.h>
#include <string.h>

#include "core/http1.h"

static http1_resp A, B;
static uint8_t body_a[4096 + 1], body_b[4096 + 1];

static long feed(http1_resp *r, const uint8_t *in, size_t n, size_t step, int eof)
{
    size_t off = 0;
    long total = 0;
    while (off < n) {
        size_t k = step && step < n - off ? step : n - off;
        long rc = http1_resp_push(r, in + off, k);
        if (rc < 0)
            return rc;
        if (rc > (long)k)
            abort();
        total += rc;
        if ((size_t)rc < k)
            break;
        off += k;
    }
    if (eof) {
        int e = http1_resp_eof(r);
        if (e < 0)
            return e;
    }
    return total;
}

static void same(long ra, long rb)
{
    if (ra != rb || http1_resp_state(&A) != http1_resp_state(&B) ||
        http1_resp_last_error(&A) != http1_resp_last_error(&B))
        abort();
    if (http1_resp_state(&A) == HTTP1_S_DONE) {
        if (http1_resp_status(&A) != http1_resp_status(&B) || http1_resp_status(&A) < 100 ||
            http1_resp_status(&A) > 599 || http1_resp_keep_alive(&A) != http1_resp_keep_alive(&B) ||
            http1_resp_body_len(&A) != http1_resp_body_len(&B) ||
            memcmp(body_a, body_b, http1_resp_body_len(&A)) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t split = data[0];
    size_t cap = (size_t)(data[1] & 0x7f) * 32; /* 0..4064 */
    int head = data[1] >> 7;
    int eof = split & 1;
    data += 2;
    size -= 2;

    body_a[cap] = body_b[cap] = 0xA5; /* canary just past the capacity */
    http1_resp_init(&A, body_a, cap, head);
    http1_resp_init(&B, body_b, cap, head);
    long ra = feed(&A, data, size, 0, eof);
    long rb = feed(&B, data, size, split ? split : 1, eof);
    same(ra, rb);
    if (body_a[cap] != 0xA5 || body_b[cap] != 0xA5 || http1_resp_body_len(&A) > cap)
        abort();

    http1_resp_init(&B, body_b, cap, head);
    rb = feed(&B, data, size, 1, eof);
    same(ra, rb);

    /* header views stay inside the parser */
    for (size_t i = 0; i < http1_resp_header_count(&A); i++) {
        http1_view n, v;
        if (!http1_resp_header_at(&A, i, &n, &v) || n.len == 0 || n.p < A.head ||
            n.p + n.len > A.head + sizeof A.head ||
            (v.len && (v.p < A.head || v.p + v.len > A.head + sizeof A.head)))
            abort();
    }
    return 0;
}
