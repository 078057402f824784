/*
 * test_shard.c -- exporter/shard: the assignment is FNV-1a 64 of the id bytes (pinned
 * by known values, so a change that would re-split a running fleet fails here), every
 * asset has exactly one shard, and the split is balanced for ThingsBoard-like ids.
 */
#include "exporter/shard.h"
#include "tests/harness.h"

#define SHARD_ZERO_HASH 0x88201fb960ff6465ull
#define SHARD_SEQ_HASH  0x7c84dc9477851775ull

/* A time-based UUID the way ThingsBoard makes them: time_low varies fastest. */
static void tb_like_id(uint8_t id[16], uint32_t i)
{
    uint64_t t = 0x1ee5a1b2c3d40000ull + (uint64_t)i * 10007u; /* 100 ns ticks */
    id[0] = (uint8_t)(t >> 24);
    id[1] = (uint8_t)(t >> 16);
    id[2] = (uint8_t)(t >> 8);
    id[3] = (uint8_t)t;
    id[4] = (uint8_t)(t >> 40);
    id[5] = (uint8_t)(t >> 32);
    id[6] = (uint8_t)(0x10 | ((t >> 56) & 0x0f));
    id[7] = (uint8_t)(t >> 48);
    id[8] = 0x80 | 0x1f;
    id[9] = 0x42;
    for (int k = 10; k < 16; k++)
        id[k] = (uint8_t)(0x30 + k); /* same node for every id, as on one server */
}

static void test_known_values(void)
{
    uint8_t zero[16] = { 0 }, seq[16];
    for (int i = 0; i < 16; i++)
        seq[i] = (uint8_t)i;
    /* FNV-1a 64 reference values, computed independently (python):
     *   h = 0xcbf29ce484222325; for b in data: h = ((h ^ b) * 0x100000001b3) % 2**64 */
    CHECK(shard_hash(zero) == SHARD_ZERO_HASH);
    CHECK(shard_hash(seq) == SHARD_SEQ_HASH);
    CHECK_INT(shard_of(seq, 1), 0);
    CHECK_INT(shard_of(seq, 0), 0);
    CHECK_INT(shard_of(seq, 3), (int)(SHARD_SEQ_HASH % 3));
    CHECK_INT(shard_of(seq, 7), (int)(SHARD_SEQ_HASH % 7));
}

static void test_stable_and_exclusive(void)
{
    for (uint32_t i = 0; i < 5000; i++) {
        uint8_t id[16];
        int owners = 0;
        tb_like_id(id, i);
        for (unsigned s = 0; s < 3; s++)
            owners += shard_mine(id, s, 3);
        CHECK_CTX("asset %u", i);
        CHECK_INT(owners, 1);
        CHECK_INT(shard_of(id, 3), shard_of(id, 3));
        CHECK_INT(shard_mine(id, 0, 1), 1);
    }
}

static void test_balance(void)
{
    static const unsigned ns[] = { 2, 3, 5, 8, 16 };
    const uint32_t N = 100000;
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        unsigned n = ns[k], cnt[16] = { 0 };
        for (uint32_t i = 0; i < N; i++) {
            uint8_t id[16];
            tb_like_id(id, i);
            cnt[shard_of(id, n)]++;
        }
        for (unsigned s = 0; s < n; s++) {
            double share = (double)cnt[s] * n / N;
            CHECK_CTX("n=%u shard %u count %u", n, s, cnt[s]);
            CHECK(share > 0.95 && share < 1.05); /* within 5 % of an even split */
        }
    }
}

int main(void)
{
    RUN(test_known_values);
    RUN(test_stable_and_exclusive);
    RUN(test_balance);
    return harness_done();
}
