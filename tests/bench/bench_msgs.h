/*
 * bench_msgs.h -- the ThingsBoard-shaped `update` messages the core benchmarks feed:
 * a ring of distinct single-entity, single-key messages over random (asset, key)
 * pairs, the same sequence for every benchmark (xorshift from a fixed seed), so
 * bench_core_ingest and bench_store measure the same workload. Header only.
 */
#ifndef IOTPRO_TESTS_BENCH_MSGS_H
#define IOTPRO_TESTS_BENCH_MSGS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tb.h"

/* Fills ring[0..n) with strdup'ed messages and len[] with their lengths. */
static void bench_update_ring(char **ring, size_t *len, int n, uint32_t assets, uint32_t keys)
{
    uint64_t x = 7;
    for (int i = 0; i < n; i++) {
        char buf[512], u[37];
        uint8_t id[16] = { 0 };
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint32_t a = (uint32_t)(x % assets), k = (uint32_t)((x >> 32) % keys);
        memcpy(id + 4, &a, 4);
        tb_uuid_format(id, u);
        int m =
            snprintf(buf, sizeof buf,
                     "{\"cmdId\":1,\"errorCode\":0,\"errorMsg\":null,\"data\":null,\"update\":[{"
                     "\"entityId\":{\"entityType\":\"ASSET\",\"id\":\"%s\"},\"latest\":{"
                     "\"TIME_SERIES\":{\"telemetry_param_%u\":{\"ts\":%llu,\"value\":\"%u.%u\"}}},"
                     "\"timeseries\":null,\"aggLatest\":null,\"readAttrs\":true,\"readTs\":true}],"
                     "\"allowedEntities\":10000,\"cmdUpdateType\":\"ENTITY_DATA\"}",
                     u, k, 1751460000000ull + (unsigned long long)i, (unsigned)(x % 1000),
                     (unsigned)((x >> 12) % 100));
        ring[i] = strdup(buf);
        len[i] = (size_t)m;
    }
}

#endif
