/* test_expo_stream.c -- the exposition encoder's stream mode (a fixed buffer handed to
 * a sink whenever the next piece does not fit): output identical to the whole-body
 * mode for every buffer size, the body limit counted over the total, and a refusing
 * sink stopping the encoder. */
#include "exporter/expo.h"
#include "tests/harness.h"

#include <stdlib.h>
#include <string.h>

/* --- stream mode ----------------------------------------------------------------- */

/* Collects what a streaming encoder hands over; fails from call `fail_at` on. */
struct collect {
    char *buf; /* the encoder's buffer: every flush must start there */
    char *out;
    size_t len, cap, max_chunk;
    unsigned calls, fail_at, bad;
};

static int collect_sink(void *user, const char *data, size_t len)
{
    struct collect *c = user;
    if (c->fail_at && c->calls + 1 >= c->fail_at) {
        c->calls++;
        return -1;
    }
    c->calls++;
    if (data != c->buf || len == 0)
        c->bad++;
    if (len > c->max_chunk)
        c->max_chunk = len;
    if (c->len + len > c->cap) {
        size_t ncap = (c->len + len) * 2;
        char *n = realloc(c->out, ncap);
        if (!n) {
            c->bad++;
            return -1;
        }
        c->out = n;
        c->cap = ncap;
    }
    memcpy(c->out + c->len, data, len);
    c->len += len;
    return 0;
}

/* A body with every kind of piece: long HELP with multi-byte and invalid UTF-8 (the
 * piecewise escape must not split a sequence), label sets longer than small buffers,
 * every sample flavour. */
static void stream_body(struct expo *e, unsigned n)
{
    static char help[3000], biglabels[2000];
    size_t hl = 0;
    while (hl + 16 < sizeof help) {
        memcpy(help + hl, "caf\xC3\xA9 \"q\" \\ \xE2\x82\xAC ", 15);
        hl += 15;
        if (hl % 7 == 0)
            help[hl++] = (char)0xFF;
    }
    help[hl] = 0;
    memset(biglabels, 'x', sizeof biglabels);
    memcpy(biglabels, "a=\"", 3);
    biglabels[sizeof biglabels - 2] = '"';
    biglabels[sizeof biglabels - 1] = 0;
    expo_family(e, "s_value", EXPO_GAUGE, help);
    for (unsigned i = 0; i < n; i++) {
        char l1[64], l2[32];
        int n1 = snprintf(l1, sizeof l1, "asset_id=\"%u\",asset=\"a %u\"", i, i * 7);
        int n2 = snprintf(l2, sizeof l2, "key=\"k%u\"", i % 13);
        expo_sample2(e, l1, (size_t)n1, l2, (size_t)n2, (double)i / 8.0 - 3.0);
        expo_sample2_ms(e, l1, (size_t)n1, l2, (size_t)n2, 1700000000000ll + i);
        if (i % 97 == 0)
            expo_sample2(e, biglabels, strlen(biglabels), l2, (size_t)n2, 1e300 * i);
    }
    expo_family(e, "s_events_total", EXPO_COUNTER, "c");
    expo_sample_u64(e, NULL, 0, 18446744073709551615ull);
    expo_sample(e, "", 0, -0.0);
    expo_family(e, "s_build_info", EXPO_INFO, "i");
    expo_sample(e, biglabels, strlen(biglabels), 1);
}

/* Whatever the buffer size, the streamed bytes are the whole body's, in both formats;
 * every flush is the front of the caller's buffer and never empty. */
static void test_stream_equals_whole(void)
{
    static const size_t sizes[] = { 1, 2, 7, 31, 64, 100, 1000, 4096, 65536, 1u << 22 };
    for (int fmt = 0; fmt < 2; fmt++) {
        struct expo w;
        size_t wl;
        expo_init(&w, (enum expo_format)fmt, 0);
        stream_body(&w, 3000);
        CHECK_INT(expo_finish(&w), EXPO_OK);
        const char *wb = expo_body(&w, &wl);
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            struct collect c = { 0 };
            struct expo e;
            CHECK_CTX("%s, buffer %zu", fmt ? "openmetrics" : "text", sizes[i]);
            c.buf = malloc(sizes[i]);
            expo_init_stream(&e, (enum expo_format)fmt, 0, c.buf, sizes[i], collect_sink, &c);
            stream_body(&e, 3000);
            CHECK_INT(expo_finish(&e), EXPO_OK);
            CHECK_MEM(c.out, c.len, wb, wl);
            CHECK_INT(expo_total(&e), wl);
            CHECK_INT(e.samples, w.samples);
            CHECK_INT(e.utf8_replaced, w.utf8_replaced);
            CHECK_INT(c.bad, 0);
            CHECK(c.max_chunk <= sizes[i]);
            CHECK(c.calls >= wl / sizes[i]);
            size_t pl;
            expo_body(&e, &pl);
            CHECK_INT(pl, 0); /* everything was flushed */
            size_t tl;
            CHECK(expo_take(&e, &tl) == NULL && tl == 0);
            expo_free(&e); /* must not free c.buf (ASan would see a double free below) */
            free(c.buf);
            free(c.out);
        }
        expo_free(&w);
    }
}

/* The bound covers the total streamed: exactly at it passes, one byte less fails with
 * EXPO_ERR_FULL, nothing past the bound is handed over, and "# EOF" is not sent. */
static void test_stream_bound(void)
{
    struct expo w;
    size_t wl;
    expo_init(&w, EXPO_OPENMETRICS, 0);
    stream_body(&w, 500);
    CHECK_INT(expo_finish(&w), EXPO_OK);
    expo_body(&w, &wl);
    expo_free(&w);
    static const size_t sizes[] = { 1, 50, 4096, 1u << 20 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *buf = malloc(sizes[i]);
        struct collect c = { .buf = buf };
        struct expo e;
        CHECK_CTX("buffer %zu", sizes[i]);
        expo_init_stream(&e, EXPO_OPENMETRICS, wl, buf, sizes[i], collect_sink, &c);
        stream_body(&e, 500);
        CHECK_INT(expo_finish(&e), EXPO_OK);
        CHECK_INT(c.len, wl);
        free(c.out);
        memset(&c, 0, sizeof c);
        c.buf = buf;
        expo_init_stream(&e, EXPO_OPENMETRICS, wl - 1, buf, sizes[i], collect_sink, &c);
        stream_body(&e, 500);
        CHECK_INT(expo_finish(&e), EXPO_ERR_FULL);
        CHECK(expo_failed(&e));
        CHECK(c.len <= wl - 1);
        CHECK(c.len < 6 || memcmp(c.out + c.len - 6, "# EOF\n", 6) != 0);
        free(c.out);
        free(buf);
    }
}

/* A sink that refuses: the error sticks, nothing more is handed over, the rest of
 * the render is a no-op, no "# EOF". */
static void test_stream_sink_error(void)
{
    char buf[256];
    struct collect c = { .buf = buf, .fail_at = 3 };
    struct expo e;
    expo_init_stream(&e, EXPO_OPENMETRICS, 0, buf, sizeof buf, collect_sink, &c);
    stream_body(&e, 1000);
    CHECK(expo_failed(&e));
    CHECK_INT(c.calls, 3);
    CHECK_INT(expo_finish(&e), EXPO_ERR_SINK);
    CHECK_INT(c.calls, 3);
    CHECK(c.len > 0 && c.len <= 2 * sizeof buf);
    CHECK(strlen(expo_strerror(EXPO_ERR_SINK)) > 0);
    /* reset starts again with the same buffer and sink */
    c.fail_at = 0;
    c.len = 0;
    c.calls = 0;
    expo_reset(&e, EXPO_TEXT);
    expo_family(&e, "a_b", EXPO_GAUGE, "h");
    expo_sample(&e, NULL, 0, 1);
    CHECK_INT(expo_finish(&e), EXPO_OK);
    static const char want[] = "# HELP a_b h\n# TYPE a_b gauge\na_b 1\n";
    CHECK_MEM(c.out, c.len, want, sizeof want - 1);
    free(c.out);
    /* no buffer: an argument error, never a write through NULL */
    expo_init_stream(&e, EXPO_TEXT, 0, NULL, 0, collect_sink, &c);
    expo_family(&e, "a_b", EXPO_GAUGE, "h");
    CHECK_INT(expo_finish(&e), EXPO_ERR_ARG);
}

int main(void)
{
    RUN(test_stream_equals_whole);
    RUN(test_stream_bound);
    RUN(test_stream_sink_error);
    return harness_done();
}
