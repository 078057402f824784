/* test_store.c -- the telemetry store: semantics, limits, asset binding, a random
 * model check of the hash tables (also on tiny, full tables and with forced full-hash
 * collisions), and a two-thread consistency test of the documented locking scheme
 * (mutex per apply, per iteration batch). Hash growth: test_store_grow.c.
 *
 * White-box: store.c and store_read.c are compiled into this program (first, so their
 * parameter names cannot shadow the globals below) to reach the hash functions and
 * build UUIDs whose 32-bit slot hashes are equal; the library's store objects are then
 * not linked in. The hashes start at 16 slots here instead of 1024, so every test,
 * tiny tables included, runs across growths. */
#include "tests/unit/store_fixture.h"

#include <pthread.h>
#include <stdatomic.h>

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
    CHECK(store_get(&st, a, S("temp"), &r, sb, sizeof sb) && r.kind == STORE_KIND_NUM &&
          r.num == 0);
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
    CHECK(store_get(&st, a, S("label"), &r, sb, sizeof sb) && r.kind == STORE_KIND_STR &&
          r.str_len == 0);
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
    CHECK(s.dropped_entities == 1 && s.dropped_strings == 1 && s.dropped_series == 1 &&
          s.strings_cut == 1);
    CHECK_INT((int)s.series, 4);
}

/* Keys that share a slot of the recent-key cache (same length and last byte), keys
 * that differ only inside, and prefixes of each other: each keeps its own id however
 * the lookups interleave. */
static void test_recent_keys(void)
{
    setup(4, 2, 1);
    const char *names[] = { "ab",
                            "cb",
                            "abc",
                            "axc",
                            "telemetry_param_latitude",
                            "telemetry_param_latitudE",
                            "telemetry_param_lat",
                            "b" };
    int id[8];
    for (int i = 0; i < 8; i++)
        id[i] = store_key_intern(&st, names[i], strlen(names[i]));
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 8; i++) {
            int j = (i * 5 + round) % 8;
            CHECK_CTX("%s", names[j]);
            CHECK_INT(store_key_intern(&st, names[j], strlen(names[j])), id[j]);
            CHECK_INT(store_key_intern(&st, names[j], strlen(names[j])), j);
        }
}

/* The key-name table holds LIM_KEYS names; one more is refused and counted (the
 * exporter's iotpro_limit_hits_total{limit="keys"}, which no end-to-end test can reach:
 * see README.md "Metrics no test drives"). */
static void test_key_table_bound(void)
{
    setup(4, 2, 1);
    char key[16];
    for (unsigned i = 0; i < LIM_KEYS; i++) {
        int n = snprintf(key, sizeof key, "key%u", i);
        CHECK_INT(store_key_intern(&st, key, (size_t)n), (int)i);
    }
    CHECK_INT(store_key_intern(&st, S("one-more")), STORE_ERR_KEYS_FULL);
    CHECK_INT(store_key_intern(&st, S("key7")), 7); /* known names still resolve */
    store_stats s;
    store_get_stats(&st, &s);
    CHECK(s.dropped_keys == 1 && s.keys == LIM_KEYS);
}

static void test_bind_assets_removes_and_renames(void)
{
    setup(100, 10, 10);
    size_t need = assets_mem_needed(8, 256);
    void *m1 = aligned_alloc(8, (need + 7) & ~(size_t)7),
         *m2 = aligned_alloc(8, (need + 7) & ~(size_t)7);
    assets_table t1, t2;
    assets_init(&t1, m1, need, 8, 256);
    assets_init(&t2, m2, need, 8, 256);
    uint8_t a[16], b[16], c[16];
    id_of(1, a), id_of(2, b), id_of(3, c);
    assets_add(&t1, a, S("old-a"), "", 0, "", 0);
    assets_add(&t1, b, S("b"), "", 0, "", 0);
    store_bind_assets(&st, &t1);
    CHECK_INT(store_apply(&st, a, S("k"), 1, S("1"), 1), STORE_SET);
    CHECK_INT(store_apply(&st, b, S("k"), 1, S("2"), 1), STORE_SET);
    CHECK_INT(store_apply(&st, b, S("j"), 1, S("2"), 1), STORE_SET);
    CHECK_INT(store_apply(&st, c, S("k"), 1, S("3"), 1), STORE_UNKNOWN_ASSET);
    /* rediscovery: a renamed, b removed, c added */
    assets_add(&t2, c, S("c"), "", 0, "", 0);
    assets_add(&t2, a, S("new-a"), "", 0, "", 0);
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
            if (got != (model[e][k] != 0) ||
                (got && (r.ts != model[e][k] || r.num != (double)r.ts)))
                mismatches++;
            present += got;
        }
    CHECK_INT(mismatches, 0);
    store_stats s;
    store_get_stats(&st, &s);
    CHECK_INT((int)s.series, present);
}

/* Two UUIDs whose entity slot hashes are equal (all 32 bits), and two (UUID, key 0)
 * pairs whose series slot hashes are equal: found by a birthday search. */
typedef struct hpair {
    uint32_t h, i;
} hpair;

static int hpair_cmp(const void *a, const void *b)
{
    const hpair *x = a, *y = b;
    return x->h < y->h ? -1 : x->h > y->h ? 1 : (x->i > y->i) - (x->i < y->i);
}

static int find_collision(int series, uint32_t *i1, uint32_t *i2)
{
    enum { N = 1 << 18 };
    static hpair v[N];
    for (uint32_t i = 0; i < N; i++) {
        uint8_t id[16];
        id_of(i + 1000, id);
        uint64_t h = store_id_hash(id);
        v[i].h = series ? store_ser_h(h, 0) : store_ent_h(h);
        v[i].i = i + 1000;
    }
    qsort(v, N, sizeof v[0], hpair_cmp);
    for (uint32_t i = 1; i < N; i++)
        if (v[i].h == v[i - 1].h) {
            *i1 = v[i - 1].i, *i2 = v[i].i;
            return 1;
        }
    return 0;
}

static void test_full_hash_collisions(void)
{
    for (int series = 0; series < 2; series++) {
        CHECK_CTX("%s hash", series ? "series" : "entity");
        uint32_t i1 = 0, i2 = 0;
        CHECK(find_collision(series, &i1, &i2));
        uint8_t a[16], b[16];
        id_of(i1, a), id_of(i2, b);
        uint64_t ha = store_id_hash(a), hb = store_id_hash(b);
        if (series)
            CHECK(store_ser_h(ha, 0) == store_ser_h(hb, 0));
        else
            CHECK(store_ent_h(ha) == store_ent_h(hb));
        setup(8, 4, 4);
        store_row r;
        char sb[8];
        CHECK_INT(store_key_intern(&st, S("k0")), 0);
        CHECK_INT(store_apply(&st, a, S("k0"), 10, S("1"), 1), STORE_SET);
        CHECK_INT(store_apply(&st, b, S("k0"), 20, S("2"), 1), STORE_SET);
        CHECK(store_get(&st, a, S("k0"), &r, sb, sizeof sb) && r.num == 1 && r.ts == 10);
        CHECK(store_get(&st, b, S("k0"), &r, sb, sizeof sb) && r.num == 2 && r.ts == 20);
        CHECK_MEM(r.id, 16, b, 16);
        /* deleting the first of the pair shifts the second back; both orders */
        CHECK_INT(store_apply(&st, a, S("k0"), 0, "", 0, 1), STORE_DELETED);
        CHECK(!store_get(&st, a, S("k0"), &r, sb, sizeof sb));
        CHECK(store_get(&st, b, S("k0"), &r, sb, sizeof sb) && r.num == 2);
        CHECK_INT(store_apply(&st, a, S("k0"), 11, S("3"), 1), STORE_SET);
        CHECK_INT(store_apply(&st, b, S("k0"), 0, "", 0, 1), STORE_DELETED);
        CHECK(store_get(&st, a, S("k0"), &r, sb, sizeof sb) && r.num == 3 && r.ts == 11);
        CHECK(!store_get(&st, b, S("k0"), &r, sb, sizeof sb));
        CHECK_INT((int)store_remove_entity(&st, a), 1);
        store_stats s;
        store_get_stats(&st, &s);
        CHECK(s.series == 0 && s.entities == 0);
    }
    CHECK_CTX("%s", "");
}

/* Every slot hash forced into a 2-bit range on a tiny table: long runs, wrap-around
 * at the table's end and backward shifts among equal hashes, checked against a model
 * including the exact result codes when the series or entity table is full. */
static void test_tiny_full_tables_model(void)
{
    enum { E = 12, K = 6, MAXS = 16, MAXE = 6, OPS = 200000 };
    setup(MAXS, MAXE, MAXS);
    static int64_t model[E][K];
    memset(model, 0, sizeof model);
    char keys[K][8];
    for (int k = 0; k < K; k++)
        snprintf(keys[k], sizeof keys[k], "k%d", k);
    uint64_t x = 777;
    int bad = 0, nser = 0, full_s = 0, full_e = 0;
    for (int i = 0; i < OPS && bad < 5; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int e = (int)(x % E), k = (int)((x >> 20) % K), del = ((x >> 40) % 3) == 0;
        int64_t ts = (int64_t)((x >> 24) % 100) + 1;
        uint8_t id[16];
        id_of((uint32_t)e * 0x01000193u, id);
        int ents = 0, has_e = 0;
        for (int m = 0; m < E; m++) {
            int any = 0;
            for (int n = 0; n < K; n++)
                any |= model[m][n] != 0;
            ents += any;
            if (m == e)
                has_e = any;
        }
        int want, got;
        if (del) {
            got = store_apply(&st, id, keys[k], strlen(keys[k]), 0, "", 0, 1);
            want = model[e][k] ? STORE_DELETED : STORE_NOOP;
            if (model[e][k])
                nser--;
            model[e][k] = 0;
        } else {
            char v[24];
            int vl = snprintf(v, sizeof v, "%lld", (long long)ts);
            got = store_apply(&st, id, keys[k], strlen(keys[k]), ts, v, (size_t)vl, 1);
            if (model[e][k])
                want = ts >= model[e][k] ? STORE_SET : STORE_STALE;
            else if (!has_e && ents == MAXE)
                want = STORE_ERR_ENTITIES_FULL, full_e++;
            else if (nser == MAXS)
                want = STORE_ERR_SERIES_FULL, full_s++;
            else
                want = STORE_SET, nser++;
            if (want == STORE_SET)
                model[e][k] = ts;
        }
        if (got != want) {
            CHECK_CTX("op %d entity %d key %d del %d", i, e, k, del);
            CHECK_INT(got, want);
            bad++;
        }
    }
    CHECK_CTX("%s", "");
    CHECK(full_s > 100 && full_e > 100); /* both limits were really exercised */
    store_stats s;
    store_get_stats(&st, &s);
    CHECK_INT((int)s.series, nser);
    for (int e = 0; e < E; e++)
        for (int k = 0; k < K; k++) {
            uint8_t id[16];
            store_row r;
            char sb[8];
            id_of((uint32_t)e * 0x01000193u, id);
            int got = store_get(&st, id, keys[k], strlen(keys[k]), &r, sb, sizeof sb);
            CHECK(got == (model[e][k] != 0) && (!got || r.ts == model[e][k]));
        }
}

/* String values take a short or a long slot by length, move between the two when
 * their length crosses STORE_STR_SHORT, and count once against max_strings. */
static void test_string_slot_sizes(void)
{
    setup(20, 10, 3);
    uint8_t a[16];
    id_of(1, a);
    char v46[STORE_STR_SHORT + 1], v47[STORE_STR_SHORT + 2], sb[300];
    memset(v46, 's', STORE_STR_SHORT), v46[STORE_STR_SHORT] = 0;
    memset(v47, 'L', STORE_STR_SHORT + 1), v47[STORE_STR_SHORT + 1] = 0;
    store_row r;
    store_stats s;
    CHECK_INT(store_apply(&st, a, S("x"), 1, S(v46), 1), STORE_SET);
    CHECK(st.short_hi == 1 && st.str_hi == 0);
    CHECK_INT(store_apply(&st, a, S("x"), 2, S(v47), 1), STORE_SET);
    CHECK(store_get(&st, a, S("x"), &r, sb, sizeof sb) && r.kind == STORE_KIND_STR);
    CHECK_STR(sb, v47);
    CHECK(st.short_free == 0 && st.str_hi == 1);
    CHECK_INT(store_apply(&st, a, S("y"), 1, S("DEV-0001"), 1), STORE_SET); /* reuses slot 0 */
    CHECK(st.short_hi == 1 && st.short_free == STORE_NONE);
    CHECK_INT(store_apply(&st, a, S("x"), 3, S("short again"), 1), STORE_SET);
    CHECK(store_get(&st, a, S("x"), &r, sb, sizeof sb));
    CHECK_STR(sb, "short again");
    CHECK(store_get(&st, a, S("y"), &r, sb, sizeof sb));
    CHECK_STR(sb, "DEV-0001");
    store_get_stats(&st, &s);
    CHECK_INT((int)s.strings, 2);
    /* the limit counts both sizes; a full store still lets a value change size */
    CHECK_INT(store_apply(&st, a, S("z"), 1, S(v47), 1), STORE_SET);
    CHECK_INT(store_apply(&st, a, S("w"), 1, S("t"), 1), STORE_ERR_STRINGS_FULL);
    CHECK_INT(store_apply(&st, a, S("x"), 4, S(v47), 1), STORE_SET);
    CHECK_INT(store_apply(&st, a, S("z"), 2, S("tiny"), 1), STORE_SET);
    CHECK_INT(store_apply(&st, a, S("y"), 2, S("7"), 1), STORE_SET); /* to a number */
    CHECK_INT(store_apply(&st, a, S("w"), 1, S("t"), 1), STORE_SET);
    store_get_stats(&st, &s);
    CHECK(s.strings == 3 && s.dropped_strings == 1 && s.strings_cut == 0);
    /* one render batch sees every size */
    store_cursor cur;
    store_row rows[8];
    char buf[400];
    store_iter_begin(&st, &cur);
    size_t n = store_iter(&st, &cur, rows, 8, buf, sizeof buf);
    CHECK_INT((int)n, 4);
    for (size_t i = 0; i < n; i++) {
        const char *want = rows[i].key[0] == 'x'   ? v47
                           : rows[i].key[0] == 'z' ? "tiny"
                           : rows[i].key[0] == 'w' ? "t"
                                                   : NULL;
        if (want)
            CHECK_MEM(buf + rows[i].str_off, rows[i].str_len, want, strlen(want));
        else
            CHECK(rows[i].kind == STORE_KIND_NUM && rows[i].num == 7);
    }
}

/* Prefetch hints change nothing, whatever the key id. */
static void test_prefetch_is_only_a_hint(void)
{
    setup(10, 4, 4);
    uint8_t a[16];
    id_of(5, a);
    store_prefetch(&st, a, -1);
    store_prefetch(&st, a, 0);
    store_prefetch(&st, a, 70000);
    store_prefetch_entity(&st, a);
    store_stats s;
    store_get_stats(&st, &s);
    CHECK(s.series == 0 && s.entities == 0 && s.keys == 0);
    int k = store_key_intern(&st, S("t"));
    store_prefetch(&st, a, k);
    CHECK_INT(store_apply_id(&st, a, k, 5, S("1"), 1), STORE_SET);
    store_prefetch(&st, a, k);
    store_row r;
    char sb[8];
    CHECK(store_get(&st, a, S("t"), &r, sb, sizeof sb) && r.num == 1 && r.ts == 5);
}

/* A value applied with the hash the caller computed lands where store_apply_value()
 * and store_get() look, and a second value of the asset with the same hash joins it. */
static void test_apply_hashed(void)
{
    setup(10, 4, 4);
    uint8_t a[16];
    id_of(7, a);
    int k = store_key_intern(&st, S("lat")), k2 = store_key_intern(&st, S("lon"));
    uint64_t h = store_hash_id(a);
    store_value v = { .kind = STORE_KIND_NUM, .num = 35.5 };
    store_prefetch_hashed(&st, h, k);
    CHECK_INT(store_apply_hashed(&st, a, h, k, 5, &v, 1), STORE_SET);
    v.num = 14.25;
    CHECK_INT(store_apply_hashed(&st, a, h, k2, 5, &v, 1), STORE_SET);
    v.num = 36;
    CHECK_INT(store_apply_value(&st, a, k, 6, &v, 1), STORE_SET);
    store_stats s;
    store_get_stats(&st, &s);
    CHECK(s.entities == 1 && s.series == 2);
    store_row r;
    char sb[8];
    CHECK(store_get(&st, a, S("lat"), &r, sb, sizeof sb) && r.num == 36 && r.ts == 6);
    CHECK(store_get(&st, a, S("lon"), &r, sb, sizeof sb) && r.num == 14.25 && r.ts == 5);
}

/* ---- the locking scheme of store.h, with two threads -------------------------------- */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int stop;

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
    RUN(test_recent_keys);
    RUN(test_key_table_bound);
    RUN(test_bind_assets_removes_and_renames);
    RUN(test_random_model);
    RUN(test_full_hash_collisions);
    RUN(test_tiny_full_tables_model);
    RUN(test_string_slot_sizes);
    RUN(test_prefetch_is_only_a_hint);
    RUN(test_apply_hashed);
    RUN(test_concurrent_render_is_consistent);
    free(mem);
    return harness_done();
}
