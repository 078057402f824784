/*
 * store_int.h -- private to core/store.c and core/store_read.c: the hashes, the
 * probes and the string slot references both the writer and the readers use.
 * Everything is static inline, so the apply path stays one function's worth of code.
 */
#ifndef IOTPRO_CORE_STORE_INT_H
#define IOTPRO_CORE_STORE_INT_H

#include "core/store.h"

#include <string.h>

#define STORE_NONE      0xFFFFFFFFu
#define STORE_KEY_SLOTS (2u * LIM_KEYS)

/* A string reference: a short slot index, or a long one with this bit set. */
#define STORE_STR_LONG 0x80000000u

/* ---- hashing ------------------------------------------------------------------------ */

/* A 64-bit finaliser (xor-shift, multiply by odd constants): every input bit reaches
 * every output bit, so UUIDs differing in a few bytes (sequential ids) spread well. */
static inline uint64_t store_mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 32;
    return x;
}

static inline uint64_t store_id_hash(const uint8_t id[16])
{
    uint64_t a, b;
    memcpy(&a, id, 8);
    memcpy(&b, id + 8, 8);
    return store_mix(a ^ store_mix(b ^ 0x243F6A8885A308D3ull));
}

/* Entity slot hash and series slot hash, both from the UUID's 64-bit hash. */
static inline uint32_t store_ent_h(uint64_t h)
{
    return (uint32_t)(h >> 32);
}

static inline uint32_t store_ser_h(uint64_t h, uint32_t key)
{
    return (uint32_t)(store_mix(h + ((uint64_t)key + 1) * 0xD1B54A32D192ED03ull) >> 32);
}

static inline int store_id_eq(const uint8_t a[16], const uint8_t b[16])
{
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, a, 8), memcpy(&a1, a + 8, 8);
    memcpy(&b0, b, 8), memcpy(&b1, b + 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

/* Eight bytes per step (a key is hashed for every value applied: byte-at-a-time
 * FNV was a tenth of the GPS ingest's core time), then store_mix, so the low bits
 * the slot index uses depend on every byte. Values are per process only. */
static inline uint32_t store_key_hash(const char *s, size_t n)
{
    const uint64_t m = 0x9e3779b97f4a7c15ull;
    uint64_t h = (uint64_t)n * m, w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * m;
        h ^= h >> 29;
    }
    if (n) {
        w = 0;
        memcpy(&w, s, n);
        h ^= w;
    }
    return (uint32_t)store_mix(h);
}

/* ---- probes ------------------------------------------------------------------------- */

static inline uint32_t store_ent_find(const store *st, const uint8_t id[16], uint32_t h,
                                      uint32_t *slot)
{
    for (uint32_t i = h & st->ent_mask;; i = (i + 1) & st->ent_mask) {
        store_slot v = st->ent_hash[i];
        if (v.idx == 0) {
            *slot = i;
            return STORE_NONE;
        }
        if (v.hash == h && store_id_eq(st->ent[v.idx - 1].id, id)) {
            *slot = i;
            return v.idx - 1;
        }
    }
}

/* e: the entity of id (the hash h is of the UUID and key, not of e). */
static inline uint32_t store_ser_find(const store *st, uint32_t h, uint32_t e, uint32_t key,
                                      uint32_t *slot)
{
    for (uint32_t i = h & st->series_mask;; i = (i + 1) & st->series_mask) {
        store_slot v = st->series_hash[i];
        if (v.idx == 0) {
            *slot = i;
            return STORE_NONE;
        }
        if (v.hash == h) {
            const store_series *s = &st->series[v.idx - 1];
            if (s->entity == e && s->key == key) {
                *slot = i;
                return v.idx - 1;
            }
        }
    }
}

/* The text of a reference; *len points at its length field. */
static inline char *store_str_at(const store *st, uint32_t ref, uint16_t **len)
{
    if (ref & STORE_STR_LONG) {
        store_str *p = &st->strs[ref & ~STORE_STR_LONG];
        *len = &p->len;
        return p->s;
    }
    store_str_short *p = &st->strs_short[ref];
    *len = &p->len;
    return p->s;
}

#endif
