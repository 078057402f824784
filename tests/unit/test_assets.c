/* test_assets.c -- the asset table: lookup, replace, limits, details, swap. */
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
        CHECK_INT(assets_add(&t, id, NULL, name, (size_t)n, "Pump", 4, "", 0), (int)i);
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
    CHECK_INT(assets_add(&t, id, NULL, "x", 1, "", 0, "", 0), ASSETS_ERR_FULL);
    CHECK_INT((int)t.dropped_full, 1);
    /* a duplicate id replaces (renamed between pages) */
    id_of(7, id);
    CHECK_INT(assets_add(&t, id, NULL, "renamed", 7, "Tank", 4, "L", 1), 7);
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
    int i = assets_add(&t, id, NULL, "Pump station 7", 14, "Pump station", 12, "PS-7", 4);
    CHECK_INT(i, 0);
    tb_detail d[2];
    strcpy(d[0].key, "site");
    strcpy(d[0].value, "North");
    strcpy(d[1].key, "pumps");
    strcpy(d[1].value, "3");
    CHECK_INT(assets_set_details(&t, i, d, 2), 0);
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
    CHECK_INT(assets_add(&t, id, NULL, big, sizeof big, "", 0, "", 0), ASSETS_ERR_ARENA);
    CHECK_INT(assets_find(&t, id), -1);
    CHECK_INT((int)t.dropped_arena, 1);
    free(mem);
}

int main(void)
{
    RUN(test_add_find_many);
    RUN(test_arena_and_details);
    return harness_done();
}
