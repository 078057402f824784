/* test_store.c -- the telemetry store: semantics, limits, asset binding, a random
 * model check of the hash tables, and a two-thread consistency test of the
 * documented locking scheme (mutex per apply, per iteration batch). */
#include "core/store.h"
#include "tests/harness.h"

#include <pthread.h>
#include <stdlib.h>

static void *mem;
static store st;

static void setup(uint32_t series, uint32_t ents, uint32_t strs)
{
    store_config c = {series, ents, strs};
    size_t need = store_mem_needed(&c);
    free(mem);
    mem = aligned_alloc(8, (need + 7) & ~(size_t)7);
    CHECK_INT(store_init(&st, mem, need, &c), 0);
}

static void id_of(uint32_t i, uint8_t id[16])
{
    memset(id, 0, 16);
    memcpy(id + 4, &i, 4);
}

#define S(x) x, strlen(x)

static void test_values_and_ts_rules(void)
{
    setup(100, 10, 10);
    uint8_t a[16];
    id_of(1, a);
    store_row r;
    char sb[300];
    CHECK_INT(store_apply(&st, a, S("temp"), 100, S("25"), 1), STORE_SET);
    CHECK_INT(store_apply(&st, a, S("temp"), 99, S("24"), 1), STORE_STALE);
    CHECK_INT(store_apply(&st, a, S("temp"), 100, S("25.0"), 1), STORE_SET); /* equal ts replaces */
    CHECK_INT(store_apply(&st, a, S("temp"), 101, S("2.5E1"), 1), STORE_SET);
    CHECK(store_get(&st, a, S("temp"), &r, sb, sizeof sb) && r.num == 25.0 && r.ts == 101);
    /* number -> string -> bool */
    CHECK_INT(store_apply(&st, a, S("temp"), 102, S("broken"), 1), STORE_SET);
    CHECK(store_get(&st, a, S("temp"), &r, sb, sizeof sb) && r.kind == STORE_KIND_STR);
    CHECK_STR(sb, "broken");
    CHECK_INT(store_apply(&st, a, S("temp"), 103, S("false"), 1), STORE_SET);
    CHECK(store_get(&st, a, S("temp"), &r, sb, sizeof sb) && r.kind == STORE_KIND_NUM && r.num == 0);
    store_stats s;
    store_get_stats(&st, &s);
    CHECK_INT((int)s.strings, 0); /* the string slot was given back */
    /* deletion: ts 0 and "" or a missing value */
    CHECK_INT(store_apply(&st, a, S("temp"), 0, "", 0, 1), STORE_DELETED);
    CHECK_INT(store_apply(&st, a, S("temp"), 0, "", 0, 1), STORE_NOOP);
    CHECK_INT(store_apply(&st, a, S("x"), 5, S("1"), 1), STORE_SET);
    CHECK_INT(store_apply(&st, a, S("x"), 6, NULL, 0, 1), STORE_DELETED);
    store_get_stats(&st, &s);
    CHECK_INT((int)s.series, 0);
    CHECK_INT((int)s.entities, 0);
    /* empty string with a real ts is a value */
    CHECK_INT(store_apply(&st, a, S("label"), 5, "", 0, 1), STORE_SET);
    CHECK(store_get(&st, a, S("label"), &r, sb, sizeof sb) && r.kind == STORE_KIND_STR && r.str_len == 0);
}

static void test_limits_are_counted(void)
{
    setup(4, 2, 1);
    uint8_t a[16], b[16], c[16];
    id_of(1, a), id_of(2, b), id_of(3, c);
    CHECK_INT(store_apply(&st, a, S("k1"), 1, S("1"), 1), STORE_SET);
    CHECK_INT(store_apply(&st, b, S("k1"), 1, S("1"), 1), STORE_SET);
    CHECK_INT(store_apply(&st, c, S("k1"), 1, S("1"), 1), STORE_ERR_ENTITIES_FULL);
    CHECK_INT(store_apply(&st, a, S("s1"), 1, S("text"), 1), STORE_SET);
    CHECK_INT(store_apply(&st, a, S("s2"), 1, S("text"), 1), STORE_ERR_STRINGS_FULL);
    CHECK_INT(store_apply(&st, a, S("k2"), 1, S("1"), 1), STORE_SET);
    CHECK_INT(store_apply(&st, a, S("k3"), 1, S("1"), 1), STORE_ERR_SERIES_FULL);
    char longkey[LIM_KEY_BYTES + 1];
    memset(longkey, 'k', sizeof longkey);
    CHECK_INT(store_apply(&st, a, longkey, sizeof longkey, 1, S("1"), 1), STORE_ERR_KEY);
    char longval[LIM_STRING_VALUE_BYTES + 50];
    memset(longval, 'v', sizeof longval);
    longval[LIM_STRING_VALUE_BYTES - 2] = (char)0xc3; /* a 2-byte char straddling the cut */
    longval[LIM_STRING_VALUE_BYTES - 1] = (char)0xa9;
    CHECK_INT(store_apply(&st, a, S("s1"), 2, longval, sizeof longval, 1), STORE_SET);
    store_row r;
    char sb[300];
    CHECK(store_get(&st, a, S("s1"), &r, sb, sizeof sb));
    CHECK_INT(r.str_len, LIM_STRING_VALUE_BYTES - 2);
    store_stats s;
    store_get_stats(&st, &s);
    CHECK(s.dropped_entities == 1 && s.dropped_strings == 1 && s.dropped_series == 1 && s.strings_cut == 1);
    CHECK_INT((int)s.series, 4);
}

static void test_bind_assets_removes_and_renames(void)
{
    setup(100, 10, 10);
    size_t need = assets_mem_needed(8, 256);
    void *m1 = aligned_alloc(8, (need + 7) & ~(size_t)7), *m2 = aligned_alloc(8, (need + 7) & ~(size_t)7);
    assets_table t1, t2;
    assets_init(&t1, m1, need, 8, 256);
    assets_init(&t2, m2, need, 8, 256);
    uint8_t a[16], b[16], c[16];
    id_of(1, a), id_of(2, b), id_of(3, c);
    assets_add(&t1, a, NULL, S("old-a"), "", 0, "", 0);
    assets_add(&t1, b, NULL, S("b"), "", 0, "", 0);
    store_bind_assets(&st, &t1);
    CHECK_INT(store_apply(&st, a, S("k"), 1, S("1"), 1), STORE_SET);
    CHECK_INT(store_apply(&st, b, S("k"), 1, S("2"), 1), STORE_SET);
    CHECK_INT(store_apply(&st, b, S("j"), 1, S("2"), 1), STORE_SET);
    CHECK_INT(store_apply(&st, c, S("k"), 1, S("3"), 1), STORE_UNKNOWN_ASSET);
    /* rediscovery: a renamed, b removed, c added */
    assets_add(&t2, c, NULL, S("c"), "", 0, "", 0);
    assets_add(&t2, a, NULL, S("new-a"), "", 0, "", 0);
    store_bind_assets(&st, &t2);
    store_stats s;
    store_get_stats(&st, &s);
    CHECK_INT((int)s.series, 1);
    CHECK_INT(store_apply(&st, c, S("k"), 1, S("3"), 1), STORE_SET);
    store_cursor cur;
    store_row rows[8];
    char sb[64];
    store_iter_begin(&st, &cur);
    size_t n = store_iter(&st, &cur, rows, 8, sb, sizeof sb);
    CHECK_INT((int)n, 2);
    for (size_t i = 0; i < n; i++) {
        CHECK(rows[i].assets == &t2 && rows[i].asset >= 0);
        const assets_entry *e = assets_get(rows[i].assets, rows[i].asset);
        if (memcmp(rows[i].id, a, 16) == 0)
            CHECK_MEM(assets_text(&t2, e->name_off), e->name_len, "new-a", 5);
        else
            CHECK_MEM(rows[i].id, 16, c, 16);
    }
    CHECK_INT((int)store_iter(&st, &cur, rows, 8, sb, sizeof sb), 0);
    CHECK_INT((int)store_remove_entity(&st, c), 1);
    CHECK_INT((int)store_expire(&st, 2), 1);
    store_get_stats(&st, &s);
    CHECK_INT((int)s.series, 0);
    free(m1);
    free(m2);
}

/* Random operations against a plain array model: exercises backward-shift deletion. */
static void test_random_model(void)
{
    enum { E = 300, K = 20, OPS = 300000 };
    setup(E * K, E, E * K);
    static int64_t model[E][K]; /* 0 = absent, else ts (value = ts) */
    memset(model, 0, sizeof model);
    char keys[K][16];
    for (int k = 0; k < K; k++)
        snprintf(keys[k], sizeof keys[k], "k%d", k);
    uint64_t x = 12345;
    int mismatches = 0;
    for (int i = 0; i < OPS; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int e = (int)(x % E), k = (int)((x >> 20) % K), del = ((x >> 40) % 3) == 0;
        int64_t ts = (int64_t)((x >> 24) % 1000) + 1;
        uint8_t id[16];
        id_of((uint32_t)e, id);
        char v[24];
        int vl = snprintf(v, sizeof v, "%lld", (long long)ts);
        if (del) {
            store_apply(&st, id, keys[k], strlen(keys[k]), 0, "", 0, 1);
            model[e][k] = 0;
        } else {
            store_apply(&st, id, keys[k], strlen(keys[k]), ts, v, (size_t)vl, 1);
            if (ts >= model[e][k])
                model[e][k] = ts;
        }
    }
    int present = 0;
    for (int e = 0; e < E; e++)
        for (int k = 0; k < K; k++) {
            uint8_t id[16];
            store_row r;
            char sb[8];
            id_of((uint32_t)e, id);
            int got = store_get(&st, id, keys[k], strlen(keys[k]), &r, sb, sizeof sb);
            if (got != (model[e][k] != 0) || (got && (r.ts != model[e][k] || r.num != (double)r.ts)))
                mismatches++;
            present += got;
        }
    CHECK_INT(mismatches, 0);
    store_stats s;
    store_get_stats(&st, &s);
    CHECK_INT((int)s.series, present);
}

/* ---- the locking scheme of store.h, with two threads -------------------------------- */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile int stop;

static void *writer(void *arg)
{
    (void)arg;
    uint64_t x = 99;
    int64_t ts = 1;
    while (!stop) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint8_t id[16];
        id_of((uint32_t)(x % 200), id);
        char key[16], v[24];
        snprintf(key, sizeof key, "k%u", (unsigned)((x >> 16) % 10));
        ts++;
        int vl = snprintf(v, sizeof v, "%lld", (long long)ts);
        pthread_mutex_lock(&mu);
        if ((x >> 40) % 4 == 0)
            store_apply(&st, id, key, strlen(key), 0, "", 0, 1);
        else
            store_apply(&st, id, key, strlen(key), ts, v, (size_t)vl, 1);
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}

static void test_concurrent_render_is_consistent(void)
{
    setup(4000, 400, 10);
    pthread_t th;
    stop = 0;
    pthread_create(&th, NULL, writer, NULL);
    int dup = 0, torn = 0, scrapes = 0;
    static store_row rows[64];
    char sb[16];
    for (scrapes = 0; scrapes < 300; scrapes++) {
        static uint8_t seen[200][10];
        memset(seen, 0, sizeof seen);
        store_cursor cur;
        pthread_mutex_lock(&mu);
        store_iter_begin(&st, &cur);
        pthread_mutex_unlock(&mu);
        for (;;) {
            pthread_mutex_lock(&mu);
            size_t n = store_iter(&st, &cur, rows, 64, sb, sizeof sb);
            pthread_mutex_unlock(&mu);
            if (n == 0)
                break;
            for (size_t i = 0; i < n; i++) {
                uint32_t e;
                memcpy(&e, rows[i].id + 4, 4);
                int k = atoi(rows[i].key + 1);
                if (seen[e % 200][k % 10]++)
                    dup++;
                if (rows[i].num != (double)rows[i].ts)
                    torn++;
            }
        }
    }
    stop = 1;
    pthread_join(th, NULL);
    CHECK_INT(dup, 0);
    CHECK_INT(torn, 0);
}

int main(void)
{
    RUN(test_values_and_ts_rules);
    RUN(test_limits_are_counted);
    RUN(test_bind_assets_removes_and_renames);
    RUN(test_random_model);
    RUN(test_concurrent_render_is_consistent);
    free(mem);
    return harness_done();
}
