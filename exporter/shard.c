/*
 * shard.c -- the stable asset -> shard assignment of --shard=i/n (see shard.h).
 */
#include "exporter/shard.h"

#define FNV64_OFFSET 0xcbf29ce484222325ull
#define FNV64_PRIME  0x100000001b3ull

uint64_t shard_hash(const uint8_t id[16])
{
    uint64_t h = FNV64_OFFSET;
    for (int i = 0; i < 16; i++) {
        h ^= id[i];
        h *= FNV64_PRIME;
    }
    return h;
}

unsigned shard_of(const uint8_t id[16], unsigned n)
{
    return n <= 1 ? 0u : (unsigned)(shard_hash(id) % n);
}

int shard_mine(const uint8_t id[16], unsigned index, unsigned count)
{
    return count <= 1 || shard_of(id, count) == index;
}
