/* test_store_grow.c -- the store's hash tables growing and shrinking: lookups after
 * every doubling, deletion and re-insertion across growths (checked against a model),
 * the configured maximum still enforced, store_clear() then refill, no byte written
 * beyond what is in use (so a calloc'd block stays unresident there), and an
 * iteration that spans a growth.
 *
 * White-box like test_store.c: store.c and store_read.c are compiled in, with hashes
 * that start at 16 slots instead of 1024 so that small tables grow too. */
#include "tests/unit/store_fixture.h"
#define LONG_TEXT "a string value of more than forty-six bytes, in a long slot"

/* Every series of entities [0, ne) x keys [0, nk) present with ts = 1 + e * nk + k. */
static int missing_series(uint32_t ne, uint32_t nk, uint32_t step)
{
    int bad = 0;
    for (uint32_t e = 0; e < ne; e += step)
        for (uint32_t k = 0; k < nk; k++) {
            uint8_t id[16];
            char key[8], sb[8];
            store_row r;
            id_of(e, id);
            int kl = snprintf(key, sizeof key, "k%u", k);
            if (!store_get(&st, id, key, (size_t)kl, &r, sb, sizeof sb) ||
                r.ts != (int64_t)(1 + e * nk + k))
                bad++;
        }
    return bad;
}

static int load_ok(void)
{
    return (uint64_t)st.series_n * 4 <= ((uint64_t)st.series_mask + 1) * 3 &&
           (uint64_t)st.ent_n * 4 <= ((uint64_t)st.ent_mask + 1) * 3 &&
           st.series_mask <= st.series_mask_max && st.ent_mask <= st.ent_mask_max;
}

/* Lookups of everything inserted so far after each doubling of either hash; each
 * doubling comes with the entry that would have taken the table past 3/4 full. */
static void test_growth_lookups_after_each_doubling(void)
{
    enum { NE = 40000, NK = 3 };
    setup(NE * NK, NE, 4);
    CHECK(st.series_mask == STORE_HASH_MIN - 1 && st.ent_mask == STORE_HASH_MIN - 1);
    uint32_t sm = st.series_mask, em = st.ent_mask;
    int doublings = 0, bad = 0, badload = 0;
    for (uint32_t e = 0; e < NE; e++)
        for (uint32_t k = 0; k < NK; k++) {
            uint8_t id[16];
            char key[8], v[16];
            id_of(e, id);
            int kl = snprintf(key, sizeof key, "k%u", k);
            int vl = snprintf(v, sizeof v, "%u", 1 + e * NK + k);
            int64_t ts = 1 + e * NK + k;
            bad += store_apply(&st, id, key, (size_t)kl, ts, v, (size_t)vl, 1) != STORE_SET;
            badload += !load_ok();
            if (st.series_mask != sm || st.ent_mask != em) {
                CHECK(st.series_mask == sm || st.series_mask == 2 * sm + 1);
                CHECK(st.ent_mask == em || st.ent_mask == 2 * em + 1);
                if (st.series_mask != sm)
                    CHECK_INT((int)st.series_n, (int)((sm + 1) / 4 * 3 + 1));
                if (st.ent_mask != em)
                    CHECK_INT((int)st.ent_n, (int)((em + 1) / 4 * 3 + 1));
                sm = st.series_mask, em = st.ent_mask;
                doublings++;
                /* the series of the entity being filled after this one are not in yet */
                bad += missing_series(e, NK, 1);
            }
        }
    CHECK_INT(bad, 0);
    CHECK_INT(badload, 0);
    CHECK(doublings >= 2 * 12);         /* 16 -> 256k and 16 -> 64k slots */
    CHECK_INT((int)st.ent_mask, 65535); /* 40k entities: 3/4 of 64k slots is 48k */
    CHECK_INT((int)st.series_mask, (int)st.series_mask_max);
    CHECK_INT(missing_series(NE, NK, 1), 0);
}

/* Deletions shrink runs by backward shift; re-insertion afterwards crosses doublings:
 * checked against a model while the population rises, falls and rises again. */
static void test_growth_with_deletions_model(void)
{
    enum { E = 2000, K = 4, OPS = 400000 };
    setup(E * K, E, 8);
    static int64_t model[E][K];
    memset(model, 0, sizeof model);
    uint64_t x = 4242;
    int bad = 0, grew = 0;
    uint32_t sm = st.series_mask;
    for (int i = 0; i < OPS; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* phases: mostly inserts, then mostly deletes, then inserts again */
        int phase = i * 3 / OPS, del = (int)((x >> 40) % 8) < (phase == 1 ? 6 : 2);
        int e = (int)(x % E), k = (int)((x >> 20) % K);
        int64_t ts = (int64_t)((x >> 24) % 1000) + 1;
        uint8_t id[16];
        char key[4] = { 'k', (char)('0' + k), 0, 0 }, v[16];
        id_of((uint32_t)e, id);
        if (del) {
            store_apply(&st, id, key, 2, 0, "", 0, 1);
            model[e][k] = 0;
        } else {
            int vl = snprintf(v, sizeof v, "%lld", (long long)ts);
            store_apply(&st, id, key, 2, ts, v, (size_t)vl, 1);
            if (ts >= model[e][k])
                model[e][k] = ts;
        }
        grew += st.series_mask != sm;
        sm = st.series_mask;
        if (!load_ok())
            bad++;
    }
    int present = 0;
    for (int e = 0; e < E; e++)
        for (int k = 0; k < K; k++) {
            uint8_t id[16];
            char key[4] = { 'k', (char)('0' + k), 0, 0 }, sb[8];
            store_row r;
            id_of((uint32_t)e, id);
            int got = store_get(&st, id, key, 2, &r, sb, sizeof sb);
            bad += got != (model[e][k] != 0) || (got && r.ts != model[e][k]);
            present += got;
        }
    CHECK_INT(bad, 0);
    CHECK(grew >= 9);
    store_stats s;
    store_get_stats(&st, &s);
    CHECK_INT((int)s.series, present);
}

/* The maximum is still the limit once the hashes have grown to their whole regions. */
static void test_growth_stops_at_the_maximum(void)
{
    setup(1000, 300, 4);
    int bad = 0;
    for (uint32_t i = 0; i < 1000; i++) {
        uint8_t id[16];
        char key[8];
        id_of(i / 4, id);
        int kl = snprintf(key, sizeof key, "k%u", i % 4);
        bad += store_apply(&st, id, key, (size_t)kl, 1 + i, S("1"), 1) != STORE_SET;
    }
    CHECK_INT(bad, 0);
    uint8_t a[16], b[16];
    id_of(0, a), id_of(299, b);
    CHECK_INT(store_apply(&st, a, S("k9"), 1, S("1"), 1), STORE_ERR_SERIES_FULL);
    CHECK_INT(store_apply(&st, b, S("k0"), 1, S("1"), 1), STORE_ERR_SERIES_FULL);
    CHECK_INT((int)st.series_mask, 2047);
    CHECK_INT((int)st.series_mask, (int)st.series_mask_max);
    CHECK_INT((int)st.ent_n, 250); /* the refused new entity was not kept */
    CHECK_INT(store_apply(&st, a, S("k0"), 0, "", 0, 1), STORE_DELETED);
    CHECK_INT(store_apply(&st, b, S("k0"), 1, S("1"), 1), STORE_SET);
    CHECK_INT(missing_series(250, 4, 1), 1); /* (0, k0): deleted */
    setup(10000, 40, 4);
    bad = 0;
    for (uint32_t e = 0; e < 41; e++) {
        uint8_t id[16];
        id_of(e, id);
        int want = e < 40 ? STORE_SET : STORE_ERR_ENTITIES_FULL;
        bad += store_apply(&st, id, S("k0"), 1, S("1"), 1) != want;
    }
    CHECK_INT(bad, 0);
    CHECK_INT((int)st.ent_mask, (int)st.ent_mask_max);
    CHECK_INT((int)st.ent_mask_max, 63); /* the power of two >= 4/3 x 40 */
}

/* store_clear() shrinks both hashes back; a refill grows them again. */
static void test_clear_then_refill(void)
{
    enum { NE = 3000, NK = 3 };
    setup(NE * NK, NE, 4);
    for (int round = 0; round < 3; round++) {
        CHECK_CTX("round %d", round);
        for (uint32_t e = 0; e < NE; e++)
            for (uint32_t k = 0; k < NK; k++) {
                uint8_t id[16];
                char key[8], v[16];
                id_of(e, id);
                int kl = snprintf(key, sizeof key, "k%u", k);
                int vl = snprintf(v, sizeof v, "%u", 1 + e * NK + k);
                store_apply(&st, id, key, (size_t)kl, 1 + e * NK + k, v, (size_t)vl, 1);
            }
        CHECK_INT(missing_series(NE, NK, 1), 0);
        CHECK(st.series_mask > 1024);
        store_clear(&st);
        CHECK(st.series_mask == STORE_HASH_MIN - 1 && st.ent_mask == STORE_HASH_MIN - 1);
        CHECK_INT(missing_series(NE, NK, 1), NE * NK);
        store_stats s;
        store_get_stats(&st, &s);
        CHECK(s.series == 0 && s.entities == 0 && s.keys == NK);
        store_cursor cur;
        store_row rows[4];
        char sb[8];
        store_iter_begin(&st, &cur);
        CHECK_INT((int)store_iter(&st, &cur, rows, 4, sb, sizeof sb), 0);
    }
    CHECK_CTX("%s", "");
}

/* Bytes past the hi-water marks and past the hash prefixes are never written: a
 * calloc'd block stays unresident there. */
static void test_untouched_beyond_use(void)
{
    store_config c = { 100000, 20000, 5000 };
    size_t need = store_mem_needed(&c);
    free(mem);
    mem = aligned_alloc(8, (need + 7) & ~(size_t)7);
    memset(mem, 0xA5, need);
    CHECK_INT(store_init(&st, mem, need, &c), 0);
    for (uint32_t i = 0; i < 3000; i++) {
        uint8_t id[16];
        char key[8];
        id_of(i / 3, id);
        int kl = snprintf(key, sizeof key, "k%u", i % 3);
        /* every third a string: 2 in 3 of those short, 1 in 3 long */
        const char *v = i % 3 != 2 ? "1" : i % 9 == 8 ? LONG_TEXT : "text";
        store_apply(&st, id, key, (size_t)kl, 1, v, strlen(v), 1);
    }
    store_layout l;
    store_layout_of(&c, &l);
    struct {
        size_t from, to;
    } r[] = {
        { l.series + st.series_hi * sizeof(store_series), l.series_hash },
        { l.series_hash + ((size_t)st.series_mask + 1) * sizeof(store_slot), l.ent },
        { l.ent + st.ent_hi * sizeof(store_entity), l.ent_hash },
        { l.ent_hash + ((size_t)st.ent_mask + 1) * sizeof(store_slot), l.keys },
        { l.keys + st.nkeys * sizeof(store_key), l.key_hash },
        { l.strs_short + st.short_hi * sizeof(store_str_short), l.strs },
        { l.strs + st.str_hi * sizeof(store_str), l.total },
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        size_t n = 0;
        for (size_t o = r[i].from; o < r[i].to; o++)
            n += ((unsigned char *)mem)[o] != 0xA5;
        CHECK_CTX("region %zu", i);
        CHECK_INT((int)n, 0);
        CHECK(r[i].to - r[i].from > 1000); /* most of each region is beyond use */
    }
    CHECK_CTX("%s", "");
    CHECK(st.series_hi == 3000 && st.ent_hi == 1000 && st.short_hi == 667 && st.str_hi == 333);
}

/* A render's iteration spans a growth made between two of its batches: rows present
 * at store_iter_begin() come exactly once (or not at all when deleted meanwhile),
 * rows created after it never. */
static void test_iteration_across_growth(void)
{
    enum { NE = 400, NK = 4, BATCH = 50 };
    setup(20000, 5000, 4);
    for (uint32_t i = 0; i < NE * NK; i++) {
        uint8_t id[16];
        char key[8];
        id_of(i / NK, id);
        int kl = snprintf(key, sizeof key, "k%u", i % NK);
        store_apply(&st, id, key, (size_t)kl, 1, S("1"), 1);
    }
    static uint8_t seen[NE][NK];
    memset(seen, 0, sizeof seen);
    store_cursor cur;
    store_row rows[BATCH];
    char sb[8];
    store_iter_begin(&st, &cur);
    size_t n = store_iter(&st, &cur, rows, BATCH, sb, sizeof sb), batches = 0;
    uint32_t mask0 = st.series_mask;
    int dup = 0, late = 0, deleted_seen = 0;
    while (n > 0) {
        for (size_t i = 0; i < n; i++) {
            uint32_t e;
            memcpy(&e, rows[i].id + 4, 4);
            int k = rows[i].key[1] - '0';
            if (e >= NE)
                late++;
            else if (seen[e][k]++)
                dup++;
            if (e < NE && k == 3 && e % 2 == 1 && e > 200)
                deleted_seen++;
        }
        if (++batches == 2) {
            /* new series (a growth, likely more) and deletions, some not yet visited */
            for (uint32_t i = 0; i < 8000; i++) {
                uint8_t id[16];
                char key[8];
                id_of(NE + i / NK, id);
                int kl = snprintf(key, sizeof key, "k%u", i % NK);
                store_apply(&st, id, key, (size_t)kl, 1, S("1"), 1);
            }
            for (uint32_t e = 201; e < NE; e += 2) {
                uint8_t id[16];
                id_of(e, id);
                store_apply(&st, id, S("k3"), 0, "", 0, 1);
            }
            /* deleted entries are reused by the next new series: still not rendered */
            for (uint32_t i = 0; i < 50; i++) {
                uint8_t id[16];
                id_of(100000 + i, id);
                store_apply(&st, id, S("k0"), 1, S("1"), 1);
            }
        }
        n = store_iter(&st, &cur, rows, BATCH, sb, sizeof sb);
    }
    CHECK(st.series_mask > mask0);
    CHECK_INT(dup, 0);
    CHECK_INT(late, 0);
    CHECK_INT(deleted_seen, 0);
    int missed = 0;
    for (uint32_t e = 0; e < NE; e++)
        for (uint32_t k = 0; k < NK; k++)
            missed += !seen[e][k] && !(k == 3 && e % 2 == 1 && e > 200);
    CHECK_INT(missed, 0);
}

int main(void)
{
    RUN(test_growth_lookups_after_each_doubling);
    RUN(test_growth_with_deletions_model);
    RUN(test_growth_stops_at_the_maximum);
    RUN(test_clear_then_refill);
    RUN(test_untouched_beyond_use);
    RUN(test_iteration_across_growth);
    free(mem);
    return harness_done();
}
