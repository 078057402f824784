/* test_tb_ws_outline.c -- WebSocket replies too big for the token array: the envelope
 * is outlined and the entities are tokenized one at a time (core/tb.h, tb_ws_parse).
 * The reference is the same message tokenized whole into a big array. */
#include "core/tb_feed.h"
#include "tests/feed_store.h"
#include "tests/harness.h"
#include "tests/unit/tb_ws_same.h"

#include <stdarg.h>

#define SMALL 128u /* tokens: an entity below needs at most ~70 */
static jsmntok_t big[1u << 16], small[SMALL];

static char list_buf[1u << 19], msg_buf[1u << 20];
static size_t list_len;

static void put(char *o, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char *o, size_t cap, size_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= cap - *n)
        abort(); /* the test's buffers are sized for its messages */
    *n += (size_t)k;
}

enum { PLAIN = 0, BAD_AT = 1, BIG_AT = 2 };

/* The elements of an entity list (without the brackets): n EntityData as ThingsBoard
 * sends them, with awkward ones mixed in -- elements that are not objects, ids that
 * are not UUIDs, keys and values whose escapes hold brackets and quotes, nested
 * arrays -- and, at element `at`, a malformed one (BAD_AT) or one with 60 keys
 * (BIG_AT, ~370 tokens). */
static void make_list(int n, int mode, int at)
{
    static const char *odd[] = { "null", "[1,[2,\"]\"],{}]", "\"s[{\\\"\\\\\"", "42" };
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        char *b = list_buf;
        size_t cap = sizeof list_buf;
        if (i)
            put(b, cap, &o, ",%s", i % 5 == 2 ? "\n " : "");
        if (i % 11 == 5) {
            put(b, cap, &o, "%s", odd[(i / 11) % 4]);
            continue;
        }
        if (i % 13 == 7)
            put(b, cap, &o, "{\"entityId\":{\"entityType\":\"ASSET\",\"id\":\"not-a-uuid-%d\"},",
                i);
        else
            put(b, cap, &o,
                "{\"entityId\":{\"entityType\":\"ASSET\",\"id\":\"%08x-0000-4000-8000-%012x\"},", i,
                i * 7);
        put(b, cap, &o, "\"readAttrs\":true,\"latest\":{\"TIME_SERIES\":{");
        put(b, cap, &o, "\"lat\":{\"ts\":%d,\"value\":\"%d.5\"},\"lon\":{\"ts\":0,\"value\":\"\"}",
            1000 + i, i);
        if (i % 7 == 3)
            put(b, cap, &o, ",\"we\\\"ird[]{}\\\\k\":{\"value\":\"\\\"]}[{\\\\\",\"ts\":%d}", i);
        if (mode == BIG_AT && i == at)
            for (int k = 0; k < 60; k++)
                put(b, cap, &o, ",\"k%d\":{\"ts\":%d,\"value\":%d}", k, i, k);
        if (mode == BAD_AT && i == at)
            put(b, cap, &o, ",\"x\":{\"ts\":1,\"value\":\"a\\qb\"}"); /* a bad escape */
        put(b, cap, &o,
            "},\"SERVER_ATTRIBUTE\":{\"assetDetails\":{\"ts\":5,\"value\":"
            "\"{\\\"site\\\":\\\"N[1]\\\",\\\"x\\\":\\\"}\\\\\\\"]\\\"}\"}}},");
        put(b, cap, &o, "\"timeseries\":%s,\"aggLatest\":{},\"readTs\":true}",
            i % 2 ? "{\"lat\":[{\"ts\":1,\"value\":\"[]\"}]}" : "null");
    }
    list_len = o;
}

/* The envelope `fmt` with every %s replaced by the list (at most 3). */
static size_t wrap(const char *fmt)
{
    size_t o = 0;
    for (const char *p = fmt; *p; p++) {
        if (p[0] == '%' && p[1] == 's') {
            if (o + list_len >= sizeof msg_buf)
                abort();
            memcpy(msg_buf + o, list_buf, list_len);
            o += list_len;
            p++;
        } else {
            msg_buf[o++] = *p;
        }
    }
    msg_buf[o] = 0;
    return o;
}

/* Envelopes around a big list: kinds, legacy replies, errorCode 34, cmdUpdateType,
 * totals before or after the list, repeated members (the last top-level `data` or
 * `update` counts, and the first `data` inside it), and refused shapes. */
static const struct {
    const char *fmt;
    int rc;
    int kind;
} envelopes[] = {
    { "{\"cmdId\":7,\"errorCode\":0,\"errorMsg\":null,\"data\":{\"data\":[%s],\"totalPages\":3,"
      "\"totalElements\":1000,\"hasNext\":true},\"update\":null,\"allowedEntities\":10000,"
      "\"cmdUpdateType\":\"ENTITY_DATA\"}",
      TB_OK, TB_WS_DATA },
    { "{\"data\":{\"totalElements\":5,\"hasNext\":false,\"totalPages\":1,\"data\":[%s]},"
      "\"cmdId\":8}",
      TB_OK, TB_WS_DATA },
    { "{\"cmdId\":7,\"errorCode\":0,\"errorMsg\":null,\"data\":null,\"update\":[%s],"
      "\"cmdUpdateType\":\"ENTITY_DATA\"}",
      TB_OK, TB_WS_UPDATE },
    { "{\"cmdId\":7,\"errorCode\":34,\"errorMsg\":\"Too many updates!\",\"data\":{\"data\":[%s]}}",
      TB_OK, TB_WS_RESYNC },
    { "{\"subscriptionId\":7,\"errorCode\":0,\"data\":{\"data\":[%s]}}", TB_OK, TB_WS_OTHER },
    { "{\"subscriptionId\":9,\"errorCode\":2,\"errorMsg\":\"Query is empty!\",\"data\":{\"k\":[[1,"
      "\"2\"],%s]},\"latestValues\":{}}",
      TB_OK, TB_WS_ERROR },
    { "{\"cmdId\":7,\"cmdUpdateType\":\"ALARM_DATA\",\"data\":{\"data\":[%s]}}", TB_OK,
      TB_WS_OTHER },
    { "{\"cmdId\":7,\"data\":{\"data\":[{\"entityId\":{\"id\":\"00000000-0000-0000-0000-"
      "000000000001\"}}]},\"data\":{\"data\":[%s],\"data\":[],\"hasNext\":true}}",
      TB_OK, TB_WS_DATA },
    { "{\"cmdId\":7,\"update\":[],\"update\":[%s],\"data\":[%s]}", TB_OK, TB_WS_UPDATE },
    { "{\"cmdId\":7,\"update\":[%s],\"update\":[1,2],\"extra\":[%s]}", TB_OK, TB_WS_UPDATE },
    { "{\"errorCode\":0,\"data\":{\"data\":[%s]}}", TB_ERR_SHAPE, 0 },
    { "{\"cmdId\":7,\"data\":{\"rows\":[%s]}}", TB_ERR_SHAPE, 0 },
    { "{\"cmdId\":[%s]}", TB_ERR_SHAPE, 0 },
};

static void test_outline_same_as_whole(void)
{
    make_list(300, PLAIN, -1);
    for (size_t i = 0; i < sizeof envelopes / sizeof envelopes[0]; i++) {
        size_t len = wrap(envelopes[i].fmt);
        tb_ws_msg m;
        int outlined = 0;
        CHECK_CTX("envelope %zu", i);
        CHECK_INT(tb_ws_parse(msg_buf, len, small, 40, &m), TB_ERR_TOKENS); /* < one entity */
        CHECK_INT(tb_ws_parse(msg_buf, len, big, 1u << 16, &m), envelopes[i].rc);
        CHECK(m.ntok > (int)SMALL * 10); /* the whole message is far too big for small */
        if (envelopes[i].rc == TB_OK)
            CHECK_INT((int)m.kind, envelopes[i].kind);
        CHECK_INT(tb_ws_same(msg_buf, len, big, 1u << 16, small, SMALL, &outlined), 0);
        CHECK_INT(outlined, envelopes[i].rc == TB_OK);
    }
    /* what the first page reads: 300 elements, of which 27 are not objects and 21 have
     * no UUID; 3 values each (the key with escapes in every seventh) */
    tb_ws_msg m;
    size_t len = wrap(envelopes[0].fmt);
    CHECK_INT(tb_ws_parse(msg_buf, len, small, SMALL, &m), TB_OK);
    CHECK(m.outlined && m.total_elements == 1000 && m.total_pages == 3 && m.has_next == 1);
    tbs_n = 0;
    int values = tb_ws_visit(msg_buf, small, SMALL, &m, tbs_rec_entity, tbs_rec_value, NULL);
    int entities = 0, escaped = 0;
    for (size_t i = 0; i < tbs_n; i++) {
        entities += tbs_log[i].v.key == NULL;
        escaped += tbs_log[i].v.key && tbs_log[i].v.key_escaped;
    }
    CHECK_INT(entities, 300 - 27 - 21);
    CHECK_INT(escaped, 36);
    CHECK_INT(values, entities * 3 + escaped);
    /* the bound holds for every element of every array outside another array, even
     * one never read: here the list itself is one element */
    len = wrap("{\"cmdId\":7,\"update\":[],\"extra\":[[%s]]}");
    CHECK_INT(tb_ws_parse(msg_buf, len, small, SMALL, &m), TB_ERR_TOKENS);
    CHECK_INT(tb_ws_parse(msg_buf, len, big, 1u << 16, &m), TB_OK);
}

/* A malformed entity anywhere refuses the whole message before any entity is read,
 * as when it is tokenized whole; so does any malformed text, at any token bound. */
static void test_malformed_entity_refuses_all(void)
{
    for (int at = 0; at < 300; at += 149) {
        make_list(300, BAD_AT, at);
        size_t len = wrap(envelopes[0].fmt);
        tb_ws_msg m;
        int outlined;
        CHECK_CTX("bad at %d", at);
        CHECK_INT(tb_ws_parse(msg_buf, len, big, 1u << 16, &m), TB_ERR_JSON);
        CHECK_INT(tb_ws_parse(msg_buf, len, small, SMALL, &m), TB_ERR_JSON);
        CHECK_INT(tb_ws_same(msg_buf, len, big, 1u << 16, small, SMALL, &outlined), 0);
    }
    make_list(300, PLAIN, -1);
    size_t len = wrap(envelopes[0].fmt);
    /* one byte changed: the nth occurrence of `at` gets `to` as its first byte */
    static const struct {
        const char *at;
        int nth;
        char to;
    } cuts[] = { { "{\"cmdId\"", 0, '[' }, { "\"cmdId\"", 0, 'x' },  { "\"lat\"", 150, 'x' },
                 { ":{", 200, ',' },       { "}]}", 10, ']' },       { "\"[]\"", 20, '[' },
                 { "[{", 5, '{' },         { "\"},\"lon", 30, '\\' } };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char *p = msg_buf;
        for (int k = 0; p && k <= cuts[i].nth; k++)
            p = strstr(k ? p + 1 : p, cuts[i].at);
        CHECK_CTX("%s #%d", cuts[i].at, cuts[i].nth);
        CHECK(p != NULL);
        if (!p)
            continue;
        char save = *p;
        tb_ws_msg m;
        int outlined;
        *p = cuts[i].to;
        CHECK_INT(tb_ws_same(msg_buf, len, big, 1u << 16, small, SMALL, &outlined), 0);
        CHECK_INT(tb_ws_parse(msg_buf, len, small, SMALL, &m), TB_ERR_JSON);
        *p = save;
    }
    CHECK_CTX("truncated");
    for (size_t cut = 1; cut < len; cut += len / 7) {
        tb_ws_msg m;
        CHECK_INT(tb_ws_parse(msg_buf, cut, small, SMALL, &m), TB_ERR_JSON);
    }
}

/* ---- through tb_feed into a store ------------------------------------------------- */

static store st_a, st_b;
static tb_feed feed_a, feed_b;
static tb_pending pend_a[8], pend_b[8];
static void *mem_a, *mem_b;

static void feeds_setup(void)
{
    store_config c = { 4096, 512, 256 };
    size_t need = store_mem_needed(&c);
    free(mem_a);
    free(mem_b);
    mem_a = calloc(1, need);
    mem_b = calloc(1, need);
    if (!mem_a || !mem_b)
        abort();
    store_init(&st_a, mem_a, need, &c);
    store_init(&st_b, mem_b, need, &c);
    tb_feed_init(&feed_a, big, 1u << 16, pend_a, 8);
    tb_feed_init(&feed_b, small, SMALL, pend_b, 8);
    feed_b.fast_off = feed_a.fast_off = 1;
    tb_feed_expect(&feed_a, 7);
    tb_feed_expect(&feed_b, 7);
}

/* Both stores hold the same series; returns how many. */
static size_t same_stores(void)
{
    static store_row ra[64], rb[64];
    static char sa[1u << 14], sb[1u << 14];
    store_cursor ca, cb;
    size_t na, nb, total = 0;
    store_iter_begin(&st_a, &ca);
    store_iter_begin(&st_b, &cb);
    do {
        na = store_iter(&st_a, &ca, ra, 64, sa, sizeof sa);
        nb = store_iter(&st_b, &cb, rb, 64, sb, sizeof sb);
        CHECK(na == nb);
        for (size_t i = 0; i < na && i < nb; i++)
            CHECK(!memcmp(ra[i].id, rb[i].id, 16) && ra[i].key_len == rb[i].key_len &&
                  !memcmp(ra[i].key, rb[i].key, ra[i].key_len) && ra[i].ts == rb[i].ts &&
                  ra[i].kind == rb[i].kind && ra[i].str_len == rb[i].str_len &&
                  !memcmp(sa + ra[i].str_off, sb + rb[i].str_off, ra[i].str_len) &&
                  (ra[i].kind != STORE_KIND_NUM || ra[i].num == rb[i].num));
        total += na;
    } while (na && na == nb);
    return total;
}

static void test_feed_page_same_store(void)
{
    feed_res a, b;
    feeds_setup();
    make_list(300, PLAIN, -1);
    size_t len = wrap(envelopes[0].fmt);
    CHECK_INT(feed_store(&feed_a, &st_a, msg_buf, len, 1, &a), TB_OK);
    CHECK_INT(feed_store(&feed_b, &st_b, msg_buf, len, 1, &b), TB_OK);
    CHECK(a.values == b.values && a.set == b.set && a.attrs == b.attrs && a.rejected == b.rejected);
    CHECK_INT((int)b.values, (300 - 27 - 21) * 2 + 36);
    CHECK_INT((int)b.attrs, 300 - 27 - 21);
    CHECK_INT((int)same_stores(), (300 - 27 - 21) + 36); /* "lon" ts 0 "" is a deletion */
    CHECK(feed_b.stats.parse_errors == 0 && feed_b.stats.out_dropped == 0);
}

/* An entity over the token bound, or a malformed one, refuses its whole message: counted
 * as a parse error, nothing handed out. The same page fits a big enough array. */
static void test_feed_refuses_whole_page(void)
{
    feed_res r;
    feeds_setup();
    make_list(300, BIG_AT, 151);
    size_t len = wrap(envelopes[0].fmt);
    CHECK_INT(feed_store(&feed_b, &st_b, msg_buf, len, 1, &r), TB_ERR_TOKENS);
    CHECK(feed_b.stats.parse_errors == 1 && feed_store_out()->n == 0);
    CHECK_INT(feed_store(&feed_a, &st_a, msg_buf, len, 1, &r), TB_OK);
    CHECK_INT((int)r.set, (300 - 27 - 21) + 36 + 60); /* "lon" is a deletion */
    make_list(300, BAD_AT, 299);
    len = wrap(envelopes[2].fmt); /* an update list */
    CHECK_INT(feed_store(&feed_b, &st_b, msg_buf, len, 1, &r), TB_ERR_JSON);
    CHECK(feed_b.stats.parse_errors == 2 && feed_store_out()->n == 0);
    store_stats s;
    store_get_stats(&st_b, &s);
    CHECK_INT((int)s.series, 0);
}

int main(void)
{
    RUN(test_outline_same_as_whole);
    RUN(test_malformed_entity_refuses_all);
    RUN(test_feed_page_same_store);
    RUN(test_feed_refuses_whole_page);
    free(mem_a);
    free(mem_b);
    return harness_done();
}
