/* fuzz_tb_ws.c -- WebSocket replies through tb_feed into a small real store (so the
 * premature-update buffer, deletions and limits are exercised too). The first byte
 * picks which cmdIds are expected. The feed's token array is small (FEED_TOK), so
 * larger messages take the outlined path (core/tb.h); every message is also parsed
 * with a token array too small for it whole and compared with the whole-message parse
 * (tests/unit/tb_ws_same.h): a difference aborts. */
#include "core/tb_feed.h"
#include "tests/feed_store.h"
#include "tests/unit/tb_ws_same.h"

#include <stdint.h>
#include <stdlib.h>

#define FEED_TOK 64u
static jsmntok_t tok[FEED_TOK], big[1u << 14], small[1u << 14];

/* The whole-message parse against outlined ones: one token fewer than the message
 * needs (the tightest outline), and the feed's bound. */
static void differential(const char *msg, size_t len)
{
    tb_ws_msg m;
    int outlined;
    if (tb_ws_parse(msg, len, big, 1u << 14, &m) == TB_OK && m.ntok > 1 &&
        tb_ws_same(msg, len, big, 1u << 14, small, (unsigned)m.ntok - 1, &outlined) < 0)
        abort();
    if (tb_ws_same(msg, len, big, 1u << 14, small, FEED_TOK, &outlined) < 0)
        abort();
}
static tb_pending pend[16];
static store st;
static tb_feed feed;
static uint64_t mem[(1u << 20) / 8];

static void on_attr(const tb_ws_value *v)
{
    if (v->value && v->value_escaped) {
        char scratch[1024];
        tb_detail d[4];
        tb_parse_details(v->value, v->value_len, 1, scratch, sizeof scratch, d, 4);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        store_config c = { 512, 64, 64 };
        if (store_mem_needed(&c) > sizeof mem)
            abort();
        store_init(&st, mem, sizeof mem, &c);
        tb_feed_init(&feed, tok, FEED_TOK, pend, 16);
        init = 1;
    }
    if (size < 1)
        return 0;
    store_clear(&st);
    tb_feed_reset(&feed);
    for (int i = 1; i <= 8; i++)
        if (data[0] & (1 << (i - 1)))
            tb_feed_expect(&feed, i);
    feed_res r;
    /* split on 0x1e (record separator) to feed several messages in one input */
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    while (p <= end) {
        const char *q = p;
        while (q < end && *q != 0x1e)
            q++;
        differential(p, (size_t)(q - p));
        if (feed_store(&feed, &st, p, (size_t)(q - p), 1, &r) == TB_OK)
            for (uint32_t i = 0; i < feed_store_out()->attr_n; i++)
                on_attr(&feed_store_out()->attrs[i].v);
        p = q + 1;
    }
    store_cursor cur;
    store_row rows[32];
    char sb[512];
    store_iter_begin(&st, &cur);
    while (store_iter(&st, &cur, rows, 32, sb, sizeof sb) > 0) {
    }
    return 0;
}
