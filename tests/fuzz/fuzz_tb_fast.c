/* fuzz_tb_fast.c -- differential target: the fast path (core/tb_fast.c) against the
 * jsmn path (tb_ws_parse + tb_ws_visit), the reference. Aborts when the fast path
 * accepts a message that jsmn rejects or reads differently, or when a feed using the
 * fast path leaves a different store than a feed without it.
 *
 * The first byte picks a mode: 0 the rest is the whole message; 1, 2, 3 the rest is
 * spliced into a hot-shape update as the key's raw text, the value's raw text, or
 * the whole "latest" object, so mutations reach deep into the grammar. */
#include "core/tb_fast.h"
#include "core/tb_feed.h"
#include "tests/feed_store.h"
#include "tests/unit/tb_seen.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTOK 256
static jsmntok_t tok[NTOK], tok_a[NTOK], tok_b[NTOK];
static store st_a, st_b;
static tb_feed feed_a, feed_b;
static tb_pending pend_a[8], pend_b[8];
static uint64_t mem_a[(1u << 20) / 8], mem_b[(1u << 20) / 8];


#define MUST(c)      \
    do {             \
        if (!(c))    \
            abort(); \
    } while (0)

static void differential(const char *msg, size_t len)
{
    tb_fast_msg fm;
    int fast = tb_fast_update(msg, len, NTOK, &fm);
    tb_ws_msg m;
    int r = tb_ws_parse(msg, len, tok, NTOK, &m);
    if (!fast)
        return;
    MUST(r == TB_OK);
    MUST(m.kind == TB_WS_UPDATE && m.legacy == 0 && m.error_code == 0);
    MUST(m.cmd_id == fm.cmd_id);
    MUST(m.error_msg == fm.error_msg && m.error_msg_len == fm.error_msg_len);
    MUST(m.ntok == (int)fm.ntok);
    seen s = { 0 };
    int n = tb_ws_visit(msg, tok, NTOK, &m, on_entity, on_value, &s);
    MUST(s.entities == 1 && memcmp(s.id, fm.entity, 16) == 0);
    MUST(n == (int)fm.n_values && s.n == n);
    for (int i = 0; i < n; i++) {
        const tb_ws_value *a = &s.v[i], *b = &fm.values[i];
        MUST(b->entity == fm.entity && a->type == b->type);
        MUST(a->key == b->key && a->key_len == b->key_len && a->key_escaped == b->key_escaped);
        MUST(a->ts == b->ts && a->value == b->value && a->value_len == b->value_len);
        MUST(a->value_escaped == b->value_escaped);
    }
    /* a token array one short must make the fast path decline, as jsmn fails */
    MUST(!tb_fast_update(msg, len, fm.ntok - 1, &fm));
}

static void same_store(void)
{
    store_stats a, b;
    store_get_stats(&st_a, &a);
    store_get_stats(&st_b, &b);
    MUST(a.series == b.series && a.applied == b.applied && a.stale == b.stale &&
         a.deleted == b.deleted && a.strings_cut == b.strings_cut);
    store_cursor ca, cb;
    store_row ra[16], rb[16];
    char sa[4096], sb[4096];
    store_iter_begin(&st_a, &ca);
    store_iter_begin(&st_b, &cb);
    for (;;) {
        size_t na = store_iter(&st_a, &ca, ra, 16, sa, sizeof sa);
        size_t nb = store_iter(&st_b, &cb, rb, 16, sb, sizeof sb);
        MUST(na == nb);
        if (na == 0)
            break;
        for (size_t i = 0; i < na; i++) {
            MUST(memcmp(ra[i].id, rb[i].id, 16) == 0 && ra[i].key_len == rb[i].key_len &&
                 memcmp(ra[i].key, rb[i].key, ra[i].key_len) == 0 && ra[i].kind == rb[i].kind &&
                 ra[i].ts == rb[i].ts && ra[i].str_len == rb[i].str_len &&
                 memcmp(sa + ra[i].str_off, sb + rb[i].str_off, ra[i].str_len) == 0);
            MUST(ra[i].kind != STORE_KIND_NUM ||
                 memcmp(&ra[i].num, &rb[i].num, sizeof(double)) == 0);
        }
    }
}

static void through_feeds(const char *msg, size_t len)
{
    feed_res a, b;
    int ra = feed_store(&feed_a, &st_a, msg, len, 1, &a);
    int rb = feed_store(&feed_b, &st_b, msg, len, 1, &b);
    MUST(ra == rb);
    MUST(a.kind == b.kind && a.legacy == b.legacy && a.cmd_id == b.cmd_id &&
         a.error_code == b.error_code && a.error_msg == b.error_msg &&
         a.error_msg_len == b.error_msg_len && a.unknown_cmd == b.unknown_cmd &&
         a.values == b.values && a.set == b.set && a.stale == b.stale && a.deleted == b.deleted &&
         a.rejected == b.rejected && a.buffered == b.buffered &&
         a.buffer_dropped == b.buffer_dropped && a.replayed == b.replayed);
    same_store();
}

static const char PRE[] =
    "{\"cmdId\":1,\"errorCode\":0,\"errorMsg\":null,\"data\":null,\"update\":[{"
    "\"entityId\":{\"entityType\":\"ASSET\",\"id\":"
    "\"784f394c-42b6-435a-983c-b7beff2784f9\"},\"latest\":";
static const char POST[] = ",\"timeseries\":null,\"aggLatest\":null,\"readAttrs\":true,"
                           "\"readTs\":true}],\"allowedEntities\":10000,"
                           "\"cmdUpdateType\":\"ENTITY_DATA\"}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    static char buf[8192];
    if (!init) {
        store_config c = { 256, 32, 32 };
        if (store_mem_needed(&c) > sizeof mem_a)
            abort();
        store_init(&st_a, mem_a, sizeof mem_a, &c);
        store_init(&st_b, mem_b, sizeof mem_b, &c);
        tb_feed_init(&feed_a, tok_a, NTOK, pend_a, 8);
        tb_feed_init(&feed_b, tok_b, NTOK, pend_b, 8);
        feed_b.fast_off = 1;
        init = 1;
    }
    if (size < 1 || size > 4096)
        return 0;
    const char *in = (const char *)data + 1;
    size_t n = size - 1, len = 0;
    int mode = data[0] & 3;
    if (mode == 0) {
        memcpy(buf, in, n);
        len = n;
    } else {
        const char *mid1 = mode == 1   ? "{\"TIME_SERIES\":{\""
                           : mode == 2 ? "{\"TIME_SERIES\":{\"k\":{\"ts\":5,\"value\":\""
                                       : "";
        const char *mid2 = mode == 1   ? "\":{\"ts\":7,\"value\":\"1.5\"}}}"
                           : mode == 2 ? "\"}}}"
                                       : "";
        len = (size_t)snprintf(buf, sizeof buf, "%s%s", PRE, mid1);
        memcpy(buf + len, in, n);
        len += n;
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", mid2, POST);
    }
    differential(buf, len);

    /* the same message through a feed with and without the fast path; cmdIds 1..3
     * are live, 4 waits for data (buffering), the rest are unknown */
    store_clear(&st_a);
    store_clear(&st_b);
    tb_feed_reset(&feed_a);
    tb_feed_reset(&feed_b);
    for (int id = 1; id <= 4; id++) {
        tb_feed_expect(&feed_a, id);
        tb_feed_expect(&feed_b, id);
    }
#define DATA_MSG "{\"cmdId\":%d,\"data\":{\"data\":[],\"hasNext\":false}}"
    for (int id = 1; id <= 3; id++) {
        char d[80];
        int dl = snprintf(d, sizeof d, DATA_MSG, id);
        through_feeds(d, (size_t)dl);
    }
    through_feeds(buf, len);
    through_feeds(buf, len); /* again: equal ts replaces, stale paths */
    char d4[80];
    int dl = snprintf(d4, sizeof d4, DATA_MSG, 4);
    through_feeds(d4, (size_t)dl); /* replays anything buffered for cmdId 4 */
    return 0;
}
