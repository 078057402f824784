/* fuzz_tb_ws.c -- WebSocket replies through tb_feed into a small real store (so the
 * premature-update buffer, deletions and limits are exercised too). The first byte
 * picks which cmdIds are expected. */
#include "core/tb_feed.h"
#include "tests/feed_store.h"

#include <stdint.h>
#include <stdlib.h>

static jsmntok_t tok[4096];
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
        tb_feed_init(&feed, tok, 4096, pend, 16);
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
