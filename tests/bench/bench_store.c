/*
 * bench_store.c -- store lookup cost, measured in thread CPU time so that a machine
 * shared with other work still gives comparable figures (wall time is printed too).
 *
 *   feed:     bench_core_ingest's workload (ThingsBoard update messages through
 *             tb_feed into the store; its 8192-message ring touches ~8k series);
 *   apply:    store_apply_id() of random (asset, key) values over every series of a
 *             full store (the exporter's steady state: 1M series, tables >> cache);
 *   prefetch: the same with store_prefetch() issued one value ahead, as a caller that
 *             prefetches after parsing the UUID and key would.
 *
 *   bench_store [assets] [keys-per-asset] [values]
 */
#include "core/tb_feed.h"
#include "tests/feed_store.h"
#include "tests/bench/bench_msgs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clk(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t xs(uint64_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    return *x;
}

static void id_of(uint32_t a, uint8_t id[16])
{
    memset(id, 0, 16);
    memcpy(id + 4, &a, 4);
}

static void report(const char *what, uint32_t n, double cpu, double wall)
{
    printf("%-8s %u in %.3f s cpu (%.3f s wall): %.0f /s cpu, %.0f /s wall\n", what, n, cpu, wall,
           n / cpu, n / wall);
}

static void bench_feed(store *st, uint32_t assets, uint32_t keys, uint32_t msgs)
{
    enum { RING = 8192 };
    static char *ring[RING];
    static size_t len[RING];
    bench_update_ring(ring, len, RING, assets, keys);
    static tb_feed feed;
    static jsmntok_t tok[256];
    static tb_pending pend[LIM_PENDING_UPDATES];
    if (tb_feed_init(&feed, tok, 256, pend, LIM_PENDING_UPDATES))
        exit(1);
    tb_feed_expect(&feed, 1);
    const char *data = "{\"cmdId\":1,\"data\":{\"data\":[],\"hasNext\":false}}";
    feed_res r;
    feed_store(&feed, st, data, strlen(data), 0, &r);
    double c0 = clk(CLOCK_THREAD_CPUTIME_ID), w0 = clk(CLOCK_MONOTONIC);
    for (uint32_t i = 0; i < msgs; i++)
        feed_store(&feed, st, ring[i % RING], len[i % RING], 1, &r);
    report("feed", msgs, clk(CLOCK_THREAD_CPUTIME_ID) - c0, clk(CLOCK_MONOTONIC) - w0);
    for (int i = 0; i < RING; i++)
        free(ring[i]);
}

static void bench_apply(store *st, uint32_t assets, uint32_t keys, uint32_t n, int pf,
                        const int *kid)
{
    uint64_t x = 99;
    uint8_t id[2][16];
    uint32_t k[2];
    xs(&x);
    id_of((uint32_t)(x % assets), id[0]);
    k[0] = (uint32_t)((x >> 32) % keys);
    uint64_t sum = 0;
    double c0 = clk(CLOCK_THREAD_CPUTIME_ID), w0 = clk(CLOCK_MONOTONIC);
    for (uint32_t i = 0; i < n; i++) {
        int c = i & 1;
        xs(&x);
        id_of((uint32_t)(x % assets), id[!c]);
        k[!c] = (uint32_t)((x >> 32) % keys);
        if (pf)
            store_prefetch(st, id[!c], kid[k[!c]]);
        sum += (uint64_t)store_apply_id(st, id[c], kid[k[c]], 10000000000000ll + i, "42.5", 4, 2);
    }
    report(pf ? "prefetch" : "apply", n, clk(CLOCK_THREAD_CPUTIME_ID) - c0,
           clk(CLOCK_MONOTONIC) - w0);
    if (sum != n)
        printf("unexpected results: %llu\n", (unsigned long long)sum);
}

int main(int argc, char **argv)
{
    uint32_t assets = argc > 1 ? (uint32_t)atoi(argv[1]) : 100000;
    uint32_t keys = argc > 2 ? (uint32_t)atoi(argv[2]) : 10;
    uint32_t n = argc > 3 ? (uint32_t)atoi(argv[3]) : 2000000;
    if (!assets || !keys || !n || keys > 1000)
        return 2;
    store_config cfg = { assets * keys, assets, 1024 };
    size_t need = store_mem_needed(&cfg);
    void *mem = aligned_alloc(8, (need + 7) & ~(size_t)7);
    static store st;
    if (!mem || store_init(&st, mem, need, &cfg))
        return 1;
    bench_feed(&st, assets, keys, n);

    static int kid[1000];
    for (uint32_t k = 0; k < keys; k++) {
        char key[32];
        int kl = snprintf(key, sizeof key, "telemetry_param_%u", k);
        kid[k] = store_key_intern(&st, key, (size_t)kl);
    }
    for (uint32_t a = 0; a < assets; a++)
        for (uint32_t k = 0; k < keys; k++) {
            uint8_t id[16];
            id_of(a, id);
            store_apply_id(&st, id, kid[k], 1, "1.5", 3, 1);
        }
    bench_apply(&st, assets, keys, n, 0, kid);
    bench_apply(&st, assets, keys, n, 1, kid);
    store_stats s;
    store_get_stats(&st, &s);
    printf("store: %u series, %.1f MB = %.1f B/series\n", s.series, need / 1e6,
           (double)need / (assets * keys));
    free(mem);
    return 0;
}
