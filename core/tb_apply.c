/*
 * tb_apply.c -- tb_feed values into the store (tb_apply.h). A data page carries
 * hundreds of values: their keys are interned and their hash slots prefetched a
 * block ahead, so the cache misses of one block overlap instead of queueing.
 */
#include "core/tb_apply.h"
#include "core/bytes.h"

#define TB_APPLY_BLOCK 32u

static void tb_apply_count(tb_apply_result *res, int r)
{
    switch (r) {
    case STORE_SET: res->set++; break;
    case STORE_STALE: res->stale++; break;
    case STORE_DELETED: res->deleted++; break;
    case STORE_NOOP: res->noop++; break;
    case STORE_UNKNOWN_ASSET: res->unknown_asset++; break;
    default: res->rejected++; break;
    }
}

void tb_apply(store *st, const tb_feed_value *vals, uint32_t n, uint32_t now_s,
              tb_apply_result *res)
{
    int key[TB_APPLY_BLOCK];
    uint64_t h[TB_APPLY_BLOCK];
    *res = (tb_apply_result){ 0 };
    for (uint32_t b = 0; b < n; b += TB_APPLY_BLOCK) {
        uint32_t m = n - b < TB_APPLY_BLOCK ? n - b : TB_APPLY_BLOCK;
        for (uint32_t i = 0; i < m; i++) {
            const tb_feed_value *v = &vals[b + i];
            key[i] = store_key_intern(st, v->key, v->key_len);
            /* the values of one update follow each other: their asset's hash once */
            h[i] = i && bytes_eq(v->entity, v[-1].entity, 16) ? h[i - 1] : store_hash_id(v->entity);
            if (m > 1)
                store_prefetch_hashed(st, h[i], key[i]);
        }
        for (uint32_t i = 0; i < m; i++) {
            const tb_feed_value *v = &vals[b + i];
            store_value sv;
            if (key[i] < 0) {
                res->rejected++;
                res->bad_key += key[i] == STORE_ERR_KEY;
                continue;
            }
            sv.kind = v->kind == TB_VAL_NUM   ? STORE_KIND_NUM
                      : v->kind == TB_VAL_STR ? STORE_KIND_STR
                                              : STORE_KIND_FREE;
            sv.num = v->num;
            sv.str = v->str;
            sv.str_len = v->str_len;
            tb_apply_count(res, store_apply_hashed(st, v->entity, h[i], key[i], v->ts, &sv, now_s));
        }
    }
}
