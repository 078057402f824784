/*
 * rng.h -- the jitter source of the event loop: spreads reconnect and resend times.
 * It has no security role (WebSocket masks and keys use net_random directly). A
 * xorshift64* generator, seeded from the OS and reseeded every 4096 draws, keeps the
 * per-event cost at a few instructions: every WebSocket message is a session event,
 * and a getrandom call per 256 of them was still ~1% of ingest CPU.
 *
 * Threads: one owner thread (the loop's).
 */
#ifndef IOTPRO_EXPORTER_RNG_H
#define IOTPRO_EXPORTER_RNG_H

#include <stdint.h>

#include "transport/net.h"

struct rng {
    uint64_t state;
    unsigned left;
};

static inline uint32_t rng_next(struct rng *r)
{
    if (r->left == 0) {
        uint64_t seed = 0;
        if (net_random(&seed, sizeof seed) != 0)
            seed = (uint64_t)net_now_ms();
        r->state ^= seed;
        if (r->state == 0) /* xorshift's one fixed point */
            r->state = 0x9E3779B97F4A7C15ull;
        r->left = 4096;
    }
    r->left--;
    r->state ^= r->state >> 12;
    r->state ^= r->state << 25;
    r->state ^= r->state >> 27;
    return (uint32_t)((r->state * 0x2545F4914F6CDD1Dull) >> 32);
}

#endif
