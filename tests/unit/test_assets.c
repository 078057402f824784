/* test_assets.c -- the asset table: lookup, replace, limits, details, swap, profile
 * names kept once; the hash
 * growing from its first 1024 slots (lookups after every doubling, duplicates across
 * growths, the maximum, reset and refill, no byte written beyond what is in use). */
#include "core/assets.h"
#include "tests/harness.h"

#include <stdlib.h>

static void id_of(uint32_t i, uint8_t id[16])
{
    memset(id, 0, 16);
    memcpy(id, &i, 4);
    id[15] = 0x5a;
}

static void test_add_find_many(void)
{
    const uint32_t N = 50000;
    size_t need = assets_mem_needed(N, N * 24);
    void *mem = aligned_alloc(8, (need + 7) & ~(size_t)7);
    assets_table t;
    CHECK_INT(assets_init(&t, mem, need, N, N * 24), 0);
    for (uint32_t i = 0; i < N; i++) {
        uint8_t id[16];
        char name[32];
        id_of(i, id);
        int n = snprintf(name, sizeof name, "asset-%u", i);
        CHECK_INT(assets_add(&t, id, name, (size_t)n, "Pump", 4, "", 0), (int)i);
    }
    int bad = 0;
    for (uint32_t i = 0; i < N; i++) {
        uint8_t id[16];
        char name[32];
        id_of(i, id);
        int32_t x = assets_find(&t, id);
        int n = snprintf(name, sizeof name, "asset-%u", i);
        const assets_entry *e = x >= 0 ? assets_get(&t, x) : NULL;
        if (!e || e->name_len != n || memcmp(assets_text(&t, e->name_off), name, (size_t)n))
            bad++;
    }
    CHECK_INT(bad, 0);
    uint8_t id[16];
    id_of(N + 1, id);
    CHECK_INT(assets_find(&t, id), -1);
    CHECK_INT(assets_add(&t, id, "x", 1, "", 0, "", 0), ASSETS_ERR_FULL);
    CHECK_INT((int)t.dropped_full, 1);
    /* a duplicate id replaces (renamed between pages) */
    id_of(7, id);
    CHECK_INT(assets_add(&t, id, "renamed", 7, "Tank", 4, "L", 1), 7);
    CHECK_INT((int)t.count, (int)N);
    const assets_entry *e = assets_get(&t, assets_find(&t, id));
    CHECK_MEM(assets_text(&t, e->name_off), e->name_len, "renamed", 7);
    assets_reset(&t);
    CHECK_INT(assets_find(&t, id), -1);
    free(mem);
}

static void test_arena_and_details(void)
{
    size_t need = assets_mem_needed(4, 64);
    void *mem = aligned_alloc(8, (need + 7) & ~(size_t)7);
    assets_table t;
    CHECK_INT(assets_init(&t, mem, need - 1, 4, 64), ASSETS_ERR_ARG);
    CHECK_INT(assets_init(&t, mem, need, 4, 64), 0);
    uint8_t id[16];
    id_of(1, id);
    int i = assets_add(&t, id, "Pump station 7", 14, "Pump station", 12, "PS-7", 4);
    CHECK_INT(i, 0);
    tb_detail d[2];
    strcpy(d[0].key, "site");
    strcpy(d[0].value, "North");
    strcpy(d[1].key, "pumps");
    strcpy(d[1].value, "3");
    CHECK_INT(assets_set_details(&t, i, 0, d, 2), 0);
    uint32_t pos = 0;
    const char *k, *v;
    size_t kl, vl;
    CHECK(assets_detail_next(&t, assets_get(&t, i), &pos, &k, &kl, &v, &vl) == 1);
    CHECK_MEM(k, kl, "site", 4);
    CHECK_MEM(v, vl, "North", 5);
    CHECK(assets_detail_next(&t, assets_get(&t, i), &pos, &k, &kl, &v, &vl) == 1);
    CHECK_MEM(v, vl, "3", 1);
    CHECK(assets_detail_next(&t, assets_get(&t, i), &pos, &k, &kl, &v, &vl) == 0);
    /* arena exhausted: reported and counted, nothing half-added */
    char big[60];
    memset(big, 'x', sizeof big);
    id_of(2, id);
    CHECK_INT(assets_add(&t, id, big, sizeof big, "", 0, "", 0), ASSETS_ERR_ARENA);
    CHECK_INT(assets_find(&t, id), -1);
    CHECK_INT((int)t.dropped_arena, 1);
    free(mem);
}

/* assetDetails follow the telemetry rules: newest ts wins, ts 0 (a deletion) always
 * applies, and n 0 clears the labels. */
static void test_details_newest_wins(void)
{
    size_t need = assets_mem_needed(4, 4096);
    void *mem = aligned_alloc(8, (need + 7) & ~(size_t)7);
    assets_table t;
    uint8_t id[16];
    tb_detail d[1];
    CHECK_INT(assets_init(&t, mem, need, 4, 4096), 0);
    id_of(1, id);
    int i = assets_add(&t, id, "A", 1, "P", 1, "", 0);
    strcpy(d[0].key, "site");
    strcpy(d[0].value, "new");
    CHECK_INT(assets_set_details(&t, i, 2000, d, 1), 0);
    strcpy(d[0].value, "old");
    CHECK_INT(assets_set_details(&t, i, 1000, d, 1), ASSETS_STALE); /* overtaken */
    uint32_t pos = 0;
    const char *k, *v;
    size_t kl, vl;
    CHECK(assets_detail_next(&t, assets_get(&t, i), &pos, &k, &kl, &v, &vl) == 1);
    CHECK_MEM(v, vl, "new", 3);
    CHECK_INT(assets_set_details(&t, i, 2000, d, 1), 0); /* equal ts replaces */
    size_t used = t.arena_used;
    CHECK_INT(assets_set_details(&t, i, 3000, d, 1), 0); /* the same again: no arena */
    CHECK_INT(t.arena_used, used);
    CHECK_INT(assets_get(&t, i)->details_ts, 3000);
    CHECK_INT(assets_set_details(&t, i, 0, NULL, 0), 0); /* deleted: labels gone */
    CHECK_INT(assets_get(&t, i)->n_details, 0);
    CHECK_INT(assets_set_details(&t, i, 500, d, 1), 0); /* after a delete, any ts */
    CHECK_INT(assets_get(&t, i)->n_details, 1);
    free(mem);
}

static int assets_missing(const assets_table *t, uint32_t from, uint32_t to)
{
    int bad = 0;
    for (uint32_t i = from; i < to; i++) {
        uint8_t id[16];
        id_of(i, id);
        int32_t x = assets_find(t, id);
        bad += x < 0 || memcmp(assets_get(t, x)->id, id, 16) != 0;
    }
    return bad;
}

static void test_growth(void)
{
    const uint32_t N = 20000;
    size_t need = assets_mem_needed(N, 64);
    void *mem = aligned_alloc(8, (need + 7) & ~(size_t)7);
    assets_table t;
    CHECK_INT(assets_init(&t, mem, need, N, 64), 0);
    CHECK_INT((int)t.mask, 1023);
    CHECK_INT((int)t.mask_max, 32767); /* the power of two >= 4/3 x 20000 */
    for (int round = 0; round < 2; round++) {
        CHECK_CTX("round %d", round);
        uint32_t mask = t.mask, off = round * 1000000u;
        int doublings = 0, bad = 0;
        for (uint32_t i = 0; i < N; i++) {
            uint8_t id[16];
            id_of(off + i, id);
            bad += assets_add(&t, id, "", 0, "", 0, "", 0) != (int)i;
            bad += (uint64_t)t.count * 4 > ((uint64_t)t.mask + 1) * 3;
            if (t.mask != mask) {
                CHECK_INT((int)t.mask, (int)(2 * mask + 1));
                /* grown by the asset that would have taken it past 3/4 full */
                CHECK_INT((int)t.count, (int)((mask + 1) / 4 * 3 + 1));
                mask = t.mask;
                doublings++;
                bad += assets_missing(&t, off, off + i + 1);
                /* re-adding an id already in replaces it, after a growth too */
                id_of(off + i / 2, id);
                bad += assets_add(&t, id, "r", 1, "", 0, "", 0) != (int)(i / 2);
                bad += t.count != i + 1;
            }
        }
        CHECK_INT(bad, 0);
        CHECK_INT(doublings, 5); /* 1024 -> 32768 slots */
        CHECK_INT((int)t.mask, (int)t.mask_max);
        uint8_t id[16];
        id_of(off + N, id);
        CHECK_INT(assets_add(&t, id, "", 0, "", 0, "", 0), ASSETS_ERR_FULL);
        CHECK_INT(assets_find(&t, id), -1);
        CHECK_INT(assets_missing(&t, off, off + N), 0);
        assets_reset(&t);
        CHECK_INT((int)t.mask, 1023);
        CHECK_INT((int)t.count, 0);
        CHECK_INT(assets_missing(&t, off, off + N), (int)N);
    }
    CHECK_CTX("%s", "");
    free(mem);
}

/* A small fleet in a big table writes only the entries, hash slots and arena bytes it
 * uses: the rest of a calloc'd block is never made resident. */
static void test_untouched_beyond_use(void)
{
    const uint32_t MAX = 100000, ARENA = 1 << 20;
    size_t need = assets_mem_needed(MAX, ARENA);
    unsigned char *mem = aligned_alloc(8, (need + 7) & ~(size_t)7);
    memset(mem, 0xA5, need);
    assets_table t;
    CHECK_INT(assets_init(&t, mem, need, MAX, ARENA), 0);
    for (uint32_t i = 0; i < 3000; i++) {
        uint8_t id[16];
        id_of(i, id);
        assets_add(&t, id, "name", 4, "Pump", 4, "", 0);
    }
    CHECK_INT((int)t.mask, 4095);
    size_t used_e = 3000 * sizeof(assets_entry), used_h = ((size_t)t.mask + 1) * 4;
    size_t n = 0, arena = (size_t)(t.arena - (char *)mem);
    size_t hash = (size_t)((char *)t.hash - (char *)mem);
    for (size_t o = used_e; o < hash; o++)
        n += mem[o] != 0xA5;
    for (size_t o = hash + used_h; o < arena; o++)
        n += mem[o] != 0xA5;
    for (size_t o = arena + t.arena_used; o < need; o++)
        n += mem[o] != 0xA5;
    CHECK_INT((int)n, 0);
    free(mem);
}

/* Reads back entry idx's details as "k=v;k=v;" into out. */
static void details_text(const assets_table *t, int32_t idx, char *out, size_t cap)
{
    uint32_t pos = 0;
    const char *k, *v;
    size_t kl, vl, o = 0;
    out[0] = 0;
    while (assets_detail_next(t, assets_get(t, idx), &pos, &k, &kl, &v, &vl))
        o += (size_t)snprintf(out + o, cap - o, "%.*s=%.*s;", (int)kl, k, (int)vl, v);
}

/* Detail names are kept once (a dictionary) while there is room, inline after that;
 * both read back the same, unchanged details take no space, and a reset empties the
 * dictionary. */
static void test_detail_names_shared(void)
{
    enum { N = 600 };
    size_t need = assets_mem_needed(N, N * 512);
    void *mem = aligned_alloc(8, (need + 7) & ~(size_t)7);
    assets_table t;
    CHECK_INT(assets_init(&t, mem, need, N, N * 512), 0);
    for (int round = 0; round < 2; round++) {
        size_t before;
        int bad = 0;
        for (uint32_t i = 0; i < N; i++) {
            uint8_t id[16];
            id_of(i, id);
            CHECK_INT(assets_add(&t, id, "a", 1, "", 0, "", 0), (int)i);
        }
        /* the same two names for every asset: the arena grows by the values only */
        before = t.arena_used;
        for (uint32_t i = 0; i < 100; i++) {
            tb_detail d[2];
            strcpy(d[0].key, round ? "floor" : "site");
            snprintf(d[0].value, sizeof d[0].value, "v%03u", i);
            strcpy(d[1].key, "commissioned");
            strcpy(d[1].value, "true");
            CHECK_INT(assets_set_details(&t, (int32_t)i, 0, d, 2), 0);
        }
        CHECK_INT((int)(t.arena_used - before),
                  (int)(strlen(round ? "floor" : "site") + 12 + 100 * (3 + 4 + 3 + 4)));
        before = t.arena_used;
        CHECK_INT(assets_set_details(&t, 5, 0, &(tb_detail){ "commissioned", "true" }, 1), 0);
        CHECK_INT(assets_set_details(&t, 5, 0, &(tb_detail){ "commissioned", "true" }, 1), 0);
        CHECK_INT((int)(t.arena_used - before), 3 + 4); /* the second: unchanged */
        /* a new name per asset: the dictionary fills, then names are stored inline */
        for (uint32_t i = 100; i < N; i++) {
            tb_detail d[1];
            snprintf(d[0].key, sizeof d[0].key, "name_%u", i);
            snprintf(d[0].value, sizeof d[0].value, "%u", i * 7);
            CHECK_INT(assets_set_details(&t, (int32_t)i, 0, d, 1), 0);
        }
        CHECK_INT((int)t.ndkeys, ASSETS_DKEYS);
        for (uint32_t i = 0; i < N; i++) {
            char got[256], want[256];
            details_text(&t, (int32_t)i, got, sizeof got);
            if (i == 5)
                snprintf(want, sizeof want, "commissioned=true;");
            else if (i < 100)
                snprintf(want, sizeof want, "%s=v%03u;commissioned=true;", round ? "floor" : "site",
                         i);
            else
                snprintf(want, sizeof want, "name_%u=%u;", i, i * 7);
            bad += strcmp(got, want) != 0;
        }
        CHECK_INT(bad, 0);
        assets_reset(&t);
        CHECK_INT((int)t.ndkeys, 0);
    }
    free(mem);
}

/* A fleet's few profile names are kept once in the arena, more distinct names than the
 * cache holds still read back right, and a reset forgets the cached offsets (the
 * second round's shorter names would overwrite text the stale offsets point at). */
static int profile_of(int round, uint32_t i, char *type, size_t cap)
{
    static const char *const profiles[] = { "gps-tracker", "Pump", "cold-room", "gps-tracker2" };
    /* the first round starts with a new name for each asset (they push the four out of
     * the cache, and the four come back) */
    return round == 0 && i < 600 ? snprintf(type, cap, "profile-%u", i)
                                 : snprintf(type, cap, "%s", profiles[i % 4]);
}

static void test_profile_names_shared(void)
{
    const uint32_t N = 1000;
    size_t need = assets_mem_needed(N, N * 64);
    void *mem = aligned_alloc(8, (need + 7) & ~(size_t)7);
    assets_table t;
    CHECK_INT(assets_init(&t, mem, need, N, N * 64), 0);
    for (int round = 0; round < 2; round++) {
        size_t want =
            strlen("gps-tracker") + strlen("Pump") + strlen("cold-room") + strlen("gps-tracker2");
        for (uint32_t i = 0; i < N; i++) {
            uint8_t id[16];
            char name[32], type[32];
            int n = snprintf(name, sizeof name, round ? "a%u" : "asset-%u", i);
            int tn = profile_of(round, i, type, sizeof type);
            id_of(i, id);
            want += (size_t)n + (round == 0 && i < 600 ? (size_t)tn : 0);
            CHECK_INT(assets_add(&t, id, name, (size_t)n, type, (size_t)tn, "", 0), (int)i);
        }
        CHECK_INT((int)t.arena_used, (int)want);
        int bad = 0;
        for (uint32_t i = 0; i < N; i++) {
            const assets_entry *e = assets_get(&t, (int32_t)i);
            char type[32];
            int tn = profile_of(round, i, type, sizeof type);
            bad += e->type_len != tn || memcmp(assets_text(&t, e->type_off), type, (size_t)tn);
        }
        CHECK_INT(bad, 0);
        assets_reset(&t);
    }
    free(mem);
}

int main(void)
{
    RUN(test_profile_names_shared);
    RUN(test_detail_names_shared);
    RUN(test_details_newest_wins);
    RUN(test_add_find_many);
    RUN(test_arena_and_details);
    RUN(test_growth);
    RUN(test_untouched_beyond_use);
    return harness_done();
}
