/*
 * tb_apply.h -- the values tb_feed read from one message (core/tb_feed.h), applied to
 * the store. This is the only part of ingest that needs the store: the exporter calls
 * it with its store mutex held, and it does no parsing, only key and series hash
 * probes and copies (the values arrive classified and unescaped).
 *
 * Threads: the caller's lock, the store's rules (core/store.h).
 */
#ifndef IOTPRO_CORE_TB_APPLY_H
#define IOTPRO_CORE_TB_APPLY_H

#include <stdint.h>

#include "core/store.h"
#include "core/tb_feed.h"

typedef struct tb_apply_result {
    uint32_t set, stale, deleted, noop, unknown_asset;
    uint32_t rejected; /* refused by the store: full (counted there) or a bad key */
    uint32_t bad_key;  /* of those: an empty key or one too long for the store */
} tb_apply_result;

/* Applies vals[0..n) in order. now_s: the caller's clock (store_expire). */
void tb_apply(store *st, const tb_feed_value *vals, uint32_t n, uint32_t now_s,
              tb_apply_result *res);

#endif
