/*
 * bench_lock_hold.c -- how long the event loop holds the store mutex per WebSocket
 * message, before and after parsing moved out of it. Before, tb_feed parsed and
 * applied each message with the mutex held; now tb_feed parses (no lock) and only
 * tb_apply runs under it. Both spans are timed per message on the same GPS-fleet
 * messages (two computed 17-digit doubles and a device id per update, PE's fields), and
 * their p50/p99 printed, so the two figures come from one binary and one run.
 *
 *   bench_lock_hold [assets] [messages]
 */
#include "core/tb_apply.h"
#include "core/tb_feed.h"
#include "core/tb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    uint32_t assets = argc > 1 ? (uint32_t)atoi(argv[1]) : 10000;
    uint32_t msgs = argc > 2 ? (uint32_t)atoi(argv[2]) : 200000;
    enum { RING = 4096, NTOK = 256 };
    static char ring[RING][768];
    static size_t len[RING];
    static jsmntok_t tok[NTOK];
    static tb_pending pend[16];
    static tb_feed_value vals[TB_FEED_VALS_FOR(768, 16)];
    static tb_feed_attr attrs[8];
    static char scratch[TB_FEED_SCRATCH(768)];
    static tb_feed feed;
    tb_feed_out out = {
        vals, TB_FEED_VALS_FOR(768, 16), 0, attrs, 8, 0, scratch, sizeof scratch, 0
    };
    uint64_t x = 11;
    if (!assets || !msgs)
        return 2;
    for (int i = 0; i < RING; i++) {
        uint8_t id[16] = { 0 };
        char u[37];
        uint32_t a;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        a = (uint32_t)(x % assets);
        memcpy(id + 4, &a, 4);
        tb_uuid_format(id, u);
        /* latitude/longitude as Java prints computed doubles */
        double lat = 35.8 + (double)(x % 100000) / 3e6, lon = 14.4 + (double)(x >> 40) / 7e12;
        len[i] = (size_t)snprintf(
            ring[i], sizeof ring[i],
            "{\"cmdId\":1,\"errorCode\":0,\"errorMsg\":null,\"data\":null,\"update\":[{"
            "\"entityId\":{\"entityType\":\"ASSET\",\"id\":\"%s\"},\"readAttrs\":true,\"readTs\":true,"
            "\"latest\":{\"TIME_SERIES\":{\"telemetry_param_latitude\":{\"ts\":%llu,\"value\":\"%.17g\"},"
            "\"telemetry_param_longitude\":{\"ts\":%llu,\"value\":\"%.17g\"},\"device_id\":{\"ts\":%llu,"
            "\"value\":\"GPS-%06u\"}}},\"timeseries\":null,\"aggLatest\":null}],\"allowedEntities\":10000,"
            "\"cmdUpdateType\":\"ENTITY_DATA\"}",
            u, 1751460000000ull + (unsigned)i, lat, 1751460000000ull + (unsigned)i, lon,
            1751460000000ull + (unsigned)i, a);
    }
    store_config cfg = { assets * 4, assets, assets + 16 };
    size_t need = store_mem_needed(&cfg);
    void *mem = calloc(1, need);
    store st;
    int64_t *before = malloc(msgs * sizeof *before), *after = malloc(msgs * sizeof *after);
    tb_feed_result r;
    tb_apply_result ar;
    if (!mem || !before || !after || store_init(&st, mem, need, &cfg) ||
        tb_feed_init(&feed, tok, NTOK, pend, 16))
        return 1;
    tb_feed_expect(&feed, 1);
    const char *data = "{\"cmdId\":1,\"data\":{\"data\":[],\"hasNext\":false}}";
    tb_feed_message(&feed, data, strlen(data), &out, &r);
    for (uint32_t i = 0; i < msgs; i++) {
        int64_t t0 = now_ns(), t1, t2;
        tb_feed_message(&feed, ring[i % RING], len[i % RING], &out, &r);
        t1 = now_ns();
        tb_apply(&st, out.vals, out.n, 1, &ar);
        t2 = now_ns();
        before[i] = t2 - t0; /* parse + apply: what was under the mutex */
        after[i] = t2 - t1;  /* apply: what is under it now */
    }
    qsort(before, msgs, sizeof *before, cmp_i64);
    qsort(after, msgs, sizeof *after, cmp_i64);
    printf("lock_hold_ns before_p50=%lld before_p99=%lld after_p50=%lld after_p99=%lld "
           "messages=%u values_per_message=3\n",
           (long long)before[msgs / 2], (long long)before[(size_t)msgs * 99 / 100],
           (long long)after[msgs / 2], (long long)after[(size_t)msgs * 99 / 100], msgs);
    return 0;
}
