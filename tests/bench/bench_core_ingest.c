/*
 * bench_core_ingest.c -- core-only ingest throughput: ThingsBoard `update` messages
 * generated in memory go through tb_feed (one jsmn pass, the envelope, values) into
 * the store, as on the exporter's event-loop thread (minus TLS and WebSocket, which
 * the lead adds later). Also times a full store iteration, as a /metrics render
 * copies it. Prints figures; asserts nothing about time.
 *
 *   bench_core_ingest [assets] [keys-per-asset] [messages] [jsmn]
 *
 * "jsmn" turns the fast path off: every update goes through tb_ws_parse + tb_ws_visit,
 * the path of updates the fast path declines (several entities, many values).
 */
#include "core/tb_feed.h"
#include "tests/feed_store.h"
#include "tests/bench/bench_msgs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    uint32_t assets = argc > 1 ? (uint32_t)atoi(argv[1]) : 100000;
    uint32_t keys = argc > 2 ? (uint32_t)atoi(argv[2]) : 10;
    uint32_t msgs = argc > 3 ? (uint32_t)atoi(argv[3]) : 2000000;
    if (!assets || !keys || !msgs || keys > 1000)
        return 2;

    /* Pre-generate a ring of distinct messages (1 MiB-ish), ThingsBoard-shaped. */
    enum { RING = 8192 };
    char **ring = calloc(RING, sizeof *ring);
    size_t *len = calloc(RING, sizeof *len);
    bench_update_ring(ring, len, RING, assets, keys);

    store_config cfg = { assets * keys, assets, 1024 };
    size_t need = store_mem_needed(&cfg);
    void *mem = aligned_alloc(8, (need + 7) & ~(size_t)7);
    static store st;
    static tb_feed feed;
    static jsmntok_t tok[256];
    static tb_pending pend[LIM_PENDING_UPDATES];
    if (!mem || store_init(&st, mem, need, &cfg) ||
        tb_feed_init(&feed, tok, 256, pend, LIM_PENDING_UPDATES))
        return 1;
    feed.fast_off = argc > 4 && strcmp(argv[4], "jsmn") == 0;
    tb_feed_expect(&feed, 1);
    const char *data = "{\"cmdId\":1,\"data\":{\"data\":[],\"hasNext\":false}}";
    feed_res r;
    feed_store(&feed, &st, data, strlen(data), 0, &r);

    size_t bytes = 0;
    uint64_t set = 0;
    double t0 = now_s();
    for (uint32_t i = 0; i < msgs; i++) {
        int j = (int)(i % RING);
        feed_store(&feed, &st, ring[j], len[j], 1, &r);
        set += r.set;
        bytes += len[j];
    }
    double dt = now_s() - t0;
    store_stats s;
    store_get_stats(&st, &s);
    printf("ingest: %u messages in %.3f s: %.0f messages/s, %.1f MB/s (%llu values set, "
           "%u series)\n",
           msgs, dt, msgs / dt, bytes / dt / 1e6, (unsigned long long)set, s.series);

    /* Fill every series, then time one full iteration in 4096-row batches. */
    for (uint32_t a = 0; a < assets; a++)
        for (uint32_t k = 0; k < keys; k++) {
            uint8_t id[16] = { 0 };
            char key[32];
            memcpy(id + 4, &a, 4);
            int kl = snprintf(key, sizeof key, "telemetry_param_%u", k);
            store_apply(&st, id, key, (size_t)kl, 1, "1.5", 3, 1);
        }
    store_get_stats(&st, &s);
    static store_row rows[4096];
    static char sb[4096 * 64];
    store_cursor cur;
    size_t total = 0, n;
    t0 = now_s();
    store_iter_begin(&st, &cur);
    while ((n = store_iter(&st, &cur, rows, 4096, sb, sizeof sb)) > 0)
        total += n;
    dt = now_s() - t0;
    printf("iterate: %zu series in %.3f s (%.1f M rows/s); store memory %.1f MB = %.1f B/series\n",
           total, dt, total / dt / 1e6, need / 1e6, (double)need / (assets * keys));
    for (int i = 0; i < RING; i++)
        free(ring[i]);
    free(ring);
    free(len);
    free(mem);
    return 0;
}
