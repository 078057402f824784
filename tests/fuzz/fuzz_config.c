/*
 * fuzz_config.c -- libFuzzer target for the config file parser (exporter/config).
 *
 * Oracle: cfg_load_text() either succeeds or fails with a non-empty message; on
 * success every key list is well formed (count matches, keys non-empty, NUL-terminated
 * inside the pool) and the derived WebSocket URL is consistent with the parsed URL.
 */
#include "exporter/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct cfg C;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    err[0] = 0;
    int rc = cfg_load_text(&C, (const char *)data, size, "fuzz.conf", err, sizeof err);
    if (rc != CFG_OK) {
        if (!err[0])
            abort();
        return 0;
    }
    if (C.nlists < 1 || C.key_pool_len > sizeof C.key_pool)
        abort();
    for (size_t l = 0; l < C.nlists; l++)
        for (size_t i = 0; i < cfg_key_count(&C, l); i++) {
            const char *k = cfg_key(&C, l, i);
            if (!k || !*k || k < C.key_pool || k >= C.key_pool + C.key_pool_len)
                abort();
        }
    if (strncmp(C.ws_url, C.tls ? "wss://" : "ws://", C.tls ? 6 : 5) != 0 ||
        !strstr(C.ws_url, "/api/ws") || C.shard_index >= C.shard_count)
        abort();
    return 0;
}
