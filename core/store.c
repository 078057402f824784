/*
 * store.c -- the store's writers: fixed-capacity tables for series, entities, keys
 * and string values (a 48 B or a 258 B slot by length), indexed by open-addressing
 * hash tables with linear probing (hashes and probes in store_int.h, readers in
 * store_read.c). Deletion uses backward-shift (no tombstones), so lookups stay short
 * however long the exporter runs and however often series come and go. Hash slots
 * carry the entry's hash, so a probe touches an entry only on a likely match and
 * deletion never reads entries; the series hash depends on the UUID rather than the
 * entity index, so one apply fetches its entity slot and its series slot in parallel
 * (two dependent cache misses per value instead of four on a table larger than the
 * cache).
 *
 * The block reserves every table at its maximum, but nothing beyond what is in use is
 * ever touched: entry arrays grow from the front (hi-water marks, free lists threaded
 * through freed entries only), and each hash table uses a power-of-two prefix of its
 * region that starts at STORE_HASH_MIN slots and doubles when the load would pass 3/4
 * (rehashed from the entry arrays: the slots beyond the prefix are never read before
 * a growth clears them). Untouched pages of a calloc'd block are never resident, so
 * the process's memory follows the number of series, not the configured maxima.
 */
#include "core/store_int.h"
#include "core/bytes.h"
#include "core/num.h"

#include <string.h>

/* Slots a series or entity hash starts with and shrinks back to on store_clear()
 * (8 KiB each); a power of two. Tests may define a smaller one to grow more often. */
#ifndef STORE_HASH_MIN
#define STORE_HASH_MIN 1024u
#endif

_Static_assert((STORE_HASH_MIN & (STORE_HASH_MIN - 1)) == 0, "STORE_HASH_MIN power of two");

_Static_assert((STORE_KEY_SLOTS & (STORE_KEY_SLOTS - 1)) == 0, "LIM_KEYS power of two");
_Static_assert(LIM_KEYS <= 65535, "key ids are 16-bit");
_Static_assert(sizeof(store_series) == 32, "series record size is part of the contract");
_Static_assert(sizeof(store_str_short) == 48, "short string slot: 48 B");
_Static_assert(STORE_STR_SHORT < LIM_STRING_VALUE_BYTES, "short slots are the smaller ones");

#if defined(__GNUC__) || defined(__clang__)
#define STORE_PREFETCH(p)   __builtin_prefetch((p), 0, 3)
#define STORE_PREFETCH_W(p) __builtin_prefetch((p), 1, 3)
#else
#define STORE_PREFETCH(p)   ((void)(p))
#define STORE_PREFETCH_W(p) ((void)(p))
#endif

/* Slots reserved for n entries: the smallest power of two >= 4n/3 (load <= 3/4 at max). */
static uint32_t store_slots(uint32_t n)
{
    uint32_t s = 16;
    while ((uint64_t)s * 3 < (uint64_t)n * 4 && s < (1u << 31))
        s <<= 1;
    return s;
}

/* The first prefix of a hash region: STORE_HASH_MIN slots, or the whole region. */
static uint32_t store_min_mask(uint32_t max_mask)
{
    return max_mask < STORE_HASH_MIN - 1 ? max_mask : STORE_HASH_MIN - 1;
}

static size_t store_al(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* Offsets of each region inside the block, in one place for both users. */
typedef struct store_layout {
    size_t series, series_hash, ent, ent_hash, keys, key_hash, strs_short, strs, total;
} store_layout;

static void store_layout_of(const store_config *c, store_layout *l)
{
    size_t o = 0;
    l->series = o;
    o += store_al((size_t)c->max_series * sizeof(store_series));
    l->series_hash = o;
    o += store_al((size_t)store_slots(c->max_series) * sizeof(store_slot));
    l->ent = o;
    o += store_al((size_t)c->max_entities * sizeof(store_entity));
    l->ent_hash = o;
    o += store_al((size_t)store_slots(c->max_entities) * sizeof(store_slot));
    l->keys = o;
    o += store_al((size_t)LIM_KEYS * sizeof(store_key));
    l->key_hash = o;
    o += store_al((size_t)STORE_KEY_SLOTS * 2);
    l->strs_short = o;
    o += store_al((size_t)c->max_strings * sizeof(store_str_short));
    l->strs = o;
    o += store_al((size_t)c->max_strings * sizeof(store_str));
    l->total = o;
}

size_t store_mem_needed(const store_config *cfg)
{
    store_layout l;
    store_layout_of(cfg, &l);
    return l.total;
}

int store_init(store *st, void *mem, size_t memsize, const store_config *cfg)
{
    memset(st, 0, sizeof *st);
    if (!mem || ((uintptr_t)mem & 7) || cfg->max_series == 0 || cfg->max_entities == 0 ||
        cfg->max_series > (1u << 30) || cfg->max_entities > (1u << 30) ||
        cfg->max_strings > (1u << 30) || memsize < store_mem_needed(cfg))
        return STORE_ERR_ARG;
    store_layout l;
    store_layout_of(cfg, &l);
    char *m = mem;
    st->cfg = *cfg;
    st->series = (store_series *)(m + l.series);
    st->series_hash = (store_slot *)(m + l.series_hash);
    st->series_mask_max = store_slots(cfg->max_series) - 1;
    st->ent = (store_entity *)(m + l.ent);
    st->ent_hash = (store_slot *)(m + l.ent_hash);
    st->ent_mask_max = store_slots(cfg->max_entities) - 1;
    st->keys = (store_key *)(m + l.keys);
    st->key_hash = (uint16_t *)(m + l.key_hash);
    st->strs_short = (store_str_short *)(m + l.strs_short);
    st->strs = (store_str *)(m + l.strs);
    memset(st->key_hash, 0, (size_t)STORE_KEY_SLOTS * 2);
    st->epoch = 1;
    store_clear(st);
    return 0;
}

/* Shrinks both hashes to their first prefix; only that prefix is cleared, as a growth
 * clears whatever it takes beyond it. */
void store_clear(store *st)
{
    st->series_mask = store_min_mask(st->series_mask_max);
    st->ent_mask = store_min_mask(st->ent_mask_max);
    memset(st->series_hash, 0, ((size_t)st->series_mask + 1) * sizeof(store_slot));
    memset(st->ent_hash, 0, ((size_t)st->ent_mask + 1) * sizeof(store_slot));
    st->series_hi = st->series_n = 0;
    st->series_free = STORE_NONE;
    st->ent_hi = st->ent_n = 0;
    st->ent_free = STORE_NONE;
    st->short_hi = st->str_hi = st->str_n = 0;
    st->short_free = st->str_free = STORE_NONE;
}

/* ---- deletion ----------------------------------------------------------------------- */

/* Backward-shift deletion for a linear-probing table; homes come from the slots. */
static void store_unlink(store_slot *tab, uint32_t mask, uint32_t slot)
{
    uint32_t i = slot, j = slot;
    for (;;) {
        j = (j + 1) & mask;
        if (tab[j].idx == 0)
            break;
        uint32_t k = tab[j].hash & mask;
        /* move tab[j] back to i unless its home lies cyclically in (i, j] */
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
            continue;
        tab[i] = tab[j];
        i = j;
    }
    tab[i].idx = 0;
    tab[i].hash = 0;
}

/* ---- growth ------------------------------------------------------------------------- */

/* 1 when one more entry would take a table of mask + 1 slots past 3/4 full and the
 * region has room to double. At the maximum the load stays <= 3/4 by construction
 * (store_slots). Linear probing stays cheap there (at 3/4, on average 2.5 slots for a
 * hit and 8.5 for a miss): eight 8 B slots share a cache line, and a slot holds its
 * entry's hash, so passing over another entry's slot reads no entry. */
static inline int store_full_load(uint32_t n, uint32_t mask, uint32_t mask_max)
{
    return ((uint64_t)n + 1) * 4 > ((uint64_t)mask + 1) * 3 && mask < mask_max;
}

/* First empty slot on h's probe path (for an entry known to be absent). */
static uint32_t store_slot_empty(const store_slot *tab, uint32_t mask, uint32_t h)
{
    uint32_t i = h & mask;
    while (tab[i].idx != 0)
        i = (i + 1) & mask;
    return i;
}

enum { STORE_REHASH_BATCH = 32 };

/* Inserts n absent entries; their slots are prefetched first, so a rehash of a table
 * larger than the cache overlaps its misses instead of taking them one by one. */
static void store_put_batch(store_slot *tab, uint32_t mask, const uint32_t *h, const uint32_t *idx,
                            uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        STORE_PREFETCH_W(&tab[h[i] & mask]);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = store_slot_empty(tab, mask, h[i]);
        tab[j].hash = h[i];
        tab[j].idx = idx[i];
    }
}

/* Doubles the entity hash and reinserts every live entity (nseries > 0: an entity is
 * only ever counted live once its first series is in). */
static void store_ent_grow(store *st)
{
    uint32_t mask = st->ent_mask * 2 + 1, h[STORE_REHASH_BATCH], idx[STORE_REHASH_BATCH], n = 0;
    memset(st->ent_hash, 0, ((size_t)mask + 1) * sizeof(store_slot));
    st->ent_mask = mask;
    for (uint32_t e = 0; e < st->ent_hi; e++) {
        if (st->ent[e].nseries == 0)
            continue;
        h[n] = store_ent_h(store_id_hash(st->ent[e].id));
        idx[n++] = e + 1;
        if (n == STORE_REHASH_BATCH) {
            store_put_batch(st->ent_hash, mask, h, idx, n);
            n = 0;
        }
    }
    store_put_batch(st->ent_hash, mask, h, idx, n);
}

/* Doubles the series hash and reinserts every live series. Series of one entity are
 * usually adjacent (created together), so the UUID hash is computed once per run. */
static void store_ser_grow(store *st)
{
    uint32_t mask = st->series_mask * 2 + 1, h[STORE_REHASH_BATCH], idx[STORE_REHASH_BATCH];
    uint32_t n = 0, last = STORE_NONE;
    uint64_t idh = 0;
    memset(st->series_hash, 0, ((size_t)mask + 1) * sizeof(store_slot));
    st->series_mask = mask;
    for (uint32_t s = 0; s < st->series_hi; s++) {
        const store_series *r = &st->series[s];
        if (r->kind == STORE_KIND_FREE)
            continue;
        if (r->entity != last) {
            last = r->entity;
            idh = store_id_hash(st->ent[last].id);
        }
        h[n] = store_ser_h(idh, r->key);
        idx[n++] = s + 1;
        if (n == STORE_REHASH_BATCH) {
            store_put_batch(st->series_hash, mask, h, idx, n);
            n = 0;
        }
    }
    store_put_batch(st->series_hash, mask, h, idx, n);
}

/* ---- entities --------------------------------------------------------------------- */

/* slot: where store_ent_find() stopped; moved when the hash grows first. */
static uint32_t store_ent_add(store *st, const uint8_t id[16], uint32_t h, uint32_t slot,
                              int32_t asset)
{
    uint32_t e;
    if (st->ent_free == STORE_NONE && st->ent_hi >= st->cfg.max_entities)
        return STORE_NONE;
    /* before taking the entry: a rehash must not see it half made */
    if (store_full_load(st->ent_n, st->ent_mask, st->ent_mask_max)) {
        store_ent_grow(st);
        slot = store_slot_empty(st->ent_hash, st->ent_mask, h);
    }
    if (st->ent_free != STORE_NONE) {
        e = st->ent_free;
        st->ent_free = (uint32_t)st->ent[e].asset;
    } else {
        e = st->ent_hi++;
    }
    memcpy(st->ent[e].id, id, 16);
    st->ent[e].asset = asset;
    st->ent[e].nseries = 0;
    st->ent_hash[slot].hash = h;
    st->ent_hash[slot].idx = e + 1;
    st->ent_n++;
    return e;
}

static void store_ent_remove(store *st, uint32_t e)
{
    uint32_t slot;
    if (store_ent_find(st, st->ent[e].id, store_ent_h(store_id_hash(st->ent[e].id)), &slot) != e)
        return;
    store_unlink(st->ent_hash, st->ent_mask, slot);
    st->ent[e].nseries = 0;
    st->ent[e].asset = (int32_t)st->ent_free;
    st->ent_free = e;
    st->ent_n--;
}

/* ---- keys --------------------------------------------------------------------------- */

int store_key_intern(store *st, const char *key, size_t len)
{
    if (len == 0 || len >= LIM_KEY_BYTES)
        return STORE_ERR_KEY;
    uint16_t *recent = &st->key_recent[(len ^ (unsigned char)key[len - 1]) & 7];
    if (*recent) {
        const store_key *k = &st->keys[*recent - 1];
        if (k->len == len && bytes_eq(k->name, key, len))
            return *recent - 1;
    }
    for (uint32_t i = store_key_hash(key, len) & (STORE_KEY_SLOTS - 1);;
         i = (i + 1) & (STORE_KEY_SLOTS - 1)) {
        uint16_t v = st->key_hash[i];
        if (v == 0) {
            if (st->nkeys >= LIM_KEYS) {
                st->st.dropped_keys++;
                return STORE_ERR_KEYS_FULL;
            }
            store_key *k = &st->keys[st->nkeys];
            memcpy(k->name, key, len);
            k->name[len] = 0;
            k->len = (uint16_t)len;
            st->key_hash[i] = (uint16_t)(st->nkeys + 1);
            *recent = (uint16_t)(st->nkeys + 1);
            return (int)st->nkeys++;
        }
        const store_key *k = &st->keys[v - 1];
        if (k->len == len && bytes_eq(k->name, key, len)) {
            *recent = v;
            return v - 1;
        }
    }
}

/* ---- strings ------------------------------------------------------------------------ */

/* Each pool holds max_strings slots, so moving a value between sizes (free, then
 * take) never fails. Free slots are linked through their first 4 bytes. */
static uint32_t store_str_alloc(store *st, int is_long)
{
    uint32_t s;
    if (st->str_n >= st->cfg.max_strings)
        return STORE_NONE;
    if (is_long) {
        if (st->str_free != STORE_NONE) {
            s = st->str_free;
            memcpy(&st->str_free, st->strs[s].s, 4);
        } else {
            s = st->str_hi++;
        }
        s |= STORE_STR_LONG;
    } else if (st->short_free != STORE_NONE) {
        s = st->short_free;
        memcpy(&st->short_free, st->strs_short[s].s, 4);
    } else {
        s = st->short_hi++;
    }
    st->str_n++;
    return s;
}

static void store_str_free(store *st, uint32_t ref)
{
    uint32_t s = ref & ~STORE_STR_LONG;
    if (ref & STORE_STR_LONG) {
        memcpy(st->strs[s].s, &st->str_free, 4);
        st->str_free = s;
    } else {
        memcpy(st->strs_short[s].s, &st->short_free, 4);
        st->short_free = s;
    }
    st->str_n--;
}

/* Bytes of val kept: all, or cut below LIM_STRING_VALUE_BYTES at a UTF-8 boundary. */
static size_t store_str_keep(const char *val, size_t n)
{
    if (n < LIM_STRING_VALUE_BYTES)
        return n;
    n = LIM_STRING_VALUE_BYTES - 1;
    while (n > 0 && ((unsigned char)val[n] & 0xC0) == 0x80)
        n--; /* never split a UTF-8 sequence */
    return n;
}

/* ---- series ------------------------------------------------------------------------- */

static uint32_t store_ser_h_of(const store *st, const store_series *r)
{
    return store_ser_h(store_id_hash(st->ent[r->entity].id), r->key);
}

static void store_ser_remove(store *st, uint32_t s, uint32_t slot)
{
    store_series *r = &st->series[s];
    uint32_t e = r->entity;
    store_unlink(st->series_hash, st->series_mask, slot);
    if (r->kind == STORE_KIND_STR)
        store_str_free(st, r->v.str);
    r->kind = STORE_KIND_FREE;
    r->v.next_free = st->series_free;
    st->series_free = s;
    st->series_n--;
    if (--st->ent[e].nseries == 0)
        store_ent_remove(st, e);
}

static void store_ser_remove_at(store *st, uint32_t s)
{
    uint32_t slot;
    const store_series *r = &st->series[s];
    if (store_ser_find(st, store_ser_h_of(st, r), r->entity, r->key, &slot) == s)
        store_ser_remove(st, s, slot);
}

int store_apply_id(store *st, const uint8_t id[16], int key_id, int64_t ts, const char *val,
                   size_t val_len, uint32_t now_s)
{
    store_value v = { 0 };
    if (val && !(ts == 0 && val_len == 0)) {
        v.kind = num_classify(val, val_len, &v.num) != NUM_STRING ? STORE_KIND_NUM : STORE_KIND_STR;
        v.str = val;
        v.str_len = val_len;
    }
    return store_apply_value(st, id, key_id, ts, &v, now_s);
}

int store_apply_value(store *st, const uint8_t id[16], int key_id, int64_t ts, const store_value *v,
                      uint32_t now_s)
{
    return store_apply_hashed(st, id, store_id_hash(id), key_id, ts, v, now_s);
}

uint64_t store_hash_id(const uint8_t id[16])
{
    return store_id_hash(id);
}

int store_apply_hashed(store *st, const uint8_t id[16], uint64_t h, int key_id, int64_t ts,
                       const store_value *v, uint32_t now_s)
{
    if (key_id < 0 || (uint32_t)key_id >= st->nkeys)
        return STORE_ERR_ARG;
    int absent = v->kind == STORE_KIND_FREE;
    const char *val = v->str;
    size_t val_len = v->str_len;
    uint32_t eslot, sslot;
    uint32_t eh = store_ent_h(h), sh = store_ser_h(h, (uint32_t)key_id);
    /* both slots' misses overlap; the entity probe below waits for one latency only */
    STORE_PREFETCH(&st->series_hash[sh & st->series_mask]);
    uint32_t e = store_ent_find(st, id, eh, &eslot);
    if (e == STORE_NONE) {
        if (absent)
            return STORE_NOOP;
        int32_t asset = -1;
        if (st->assets) {
            asset = assets_find(st->assets, id);
            if (asset < 0) {
                st->st.unknown_asset++;
                return STORE_UNKNOWN_ASSET;
            }
        }
        e = store_ent_add(st, id, eh, eslot, asset);
        if (e == STORE_NONE) {
            st->st.dropped_entities++;
            return STORE_ERR_ENTITIES_FULL;
        }
    }
    uint32_t s = store_ser_find(st, sh, e, (uint32_t)key_id, &sslot);
    if (absent) {
        if (s == STORE_NONE)
            return STORE_NOOP;
        store_ser_remove(st, s, sslot);
        st->st.deleted++;
        return STORE_DELETED;
    }
    if (s != STORE_NONE && ts < st->series[s].ts) {
        st->st.stale++;
        return STORE_STALE;
    }
    int is_num = v->kind == STORE_KIND_NUM;
    int fresh = s == STORE_NONE;
    if (fresh) {
        if (st->series_free == STORE_NONE && st->series_hi >= st->cfg.max_series) {
            st->st.dropped_series++;
            if (st->ent[e].nseries == 0)
                store_ent_remove(st, e);
            return STORE_ERR_SERIES_FULL;
        }
        /* before taking the entry: a rehash must not see it half made */
        if (store_full_load(st->series_n, st->series_mask, st->series_mask_max)) {
            store_ser_grow(st);
            sslot = store_slot_empty(st->series_hash, st->series_mask, sh);
        }
        if (st->series_free != STORE_NONE) {
            s = st->series_free;
            st->series_free = st->series[s].v.next_free;
        } else {
            s = st->series_hi++;
        }
        store_series *n = &st->series[s];
        n->entity = e;
        n->key = (uint16_t)key_id;
        n->kind = STORE_KIND_FREE;
        n->born = st->epoch;
        st->series_hash[sslot].hash = sh;
        st->series_hash[sslot].idx = s + 1;
        st->series_n++;
        st->ent[e].nseries++;
    }
    store_series *r = &st->series[s];
    if (is_num) {
        if (r->kind == STORE_KIND_STR)
            store_str_free(st, r->v.str);
        r->v.num = v->num;
        r->kind = STORE_KIND_NUM;
    } else {
        size_t keep = store_str_keep(val, val_len);
        int is_long = keep > STORE_STR_SHORT;
        if (r->kind == STORE_KIND_STR && !!(r->v.str & STORE_STR_LONG) != is_long) {
            store_str_free(st, r->v.str); /* to the other size: cannot fail */
            r->v.str = store_str_alloc(st, is_long);
        } else if (r->kind != STORE_KIND_STR) {
            uint32_t slot = store_str_alloc(st, is_long);
            if (slot == STORE_NONE) {
                st->st.dropped_strings++;
                if (fresh) {
                    r->kind = STORE_KIND_NUM; /* anything but STR for the removal */
                    store_ser_remove(st, s, sslot);
                }
                return STORE_ERR_STRINGS_FULL;
            }
            r->v.str = slot;
            r->kind = STORE_KIND_STR;
        }
        uint16_t *lenp;
        memcpy(store_str_at(st, r->v.str, &lenp), val, keep);
        *lenp = (uint16_t)keep;
        st->st.strings_cut += keep < val_len;
    }
    r->ts = ts;
    r->seen = now_s;
    st->st.applied++;
    return STORE_SET;
}

int store_apply(store *st, const uint8_t id[16], const char *key, size_t key_len, int64_t ts,
                const char *val, size_t val_len, uint32_t now_s)
{
    int k = store_key_intern(st, key, key_len);
    if (k < 0)
        return k;
    return store_apply_id(st, id, k, ts, val, val_len, now_s);
}

/* Each mask is read once: whatever size the table has, the address lies inside the
 * reserved hash region (a stale mask only makes the hint useless). */
void store_prefetch_entity(const store *st, const uint8_t id[16])
{
    uint32_t emask = st->ent_mask;
    STORE_PREFETCH(&st->ent_hash[store_ent_h(store_id_hash(id)) & emask]);
}

void store_prefetch(const store *st, const uint8_t id[16], int key_id)
{
    store_prefetch_hashed(st, store_id_hash(id), key_id);
}

void store_prefetch_hashed(const store *st, uint64_t h, int key_id)
{
    uint32_t emask = st->ent_mask, smask = st->series_mask;
    STORE_PREFETCH(&st->ent_hash[store_ent_h(h) & emask]);
    if (key_id >= 0 && (uint32_t)key_id < LIM_KEYS)
        STORE_PREFETCH(&st->series_hash[store_ser_h(h, (uint32_t)key_id) & smask]);
}

uint32_t store_remove_entity(store *st, const uint8_t id[16])
{
    uint32_t slot, n = 0;
    uint32_t e = store_ent_find(st, id, store_ent_h(store_id_hash(id)), &slot);
    if (e == STORE_NONE)
        return 0;
    for (uint32_t s = 0; s < st->series_hi && st->ent[e].nseries > 0; s++) {
        if (st->series[s].kind != STORE_KIND_FREE && st->series[s].entity == e) {
            int last = st->ent[e].nseries == 1;
            store_ser_remove_at(st, s);
            n++;
            if (last)
                break;
        }
    }
    return n;
}

void store_bind_assets(store *st, const assets_table *tab)
{
    int dead = 0;
    st->assets = tab;
    for (uint32_t e = 0; e < st->ent_hi; e++) {
        if (st->ent[e].nseries == 0)
            continue;
        int32_t a = tab ? assets_find(tab, st->ent[e].id) : -1;
        if (tab && a < 0) {
            st->ent[e].asset = -2; /* marked for removal below */
            dead = 1;
        } else {
            st->ent[e].asset = a;
        }
    }
    if (!dead)
        return;
    for (uint32_t s = 0; s < st->series_hi; s++) {
        store_series *r = &st->series[s];
        if (r->kind != STORE_KIND_FREE && st->ent[r->entity].nseries > 0 &&
            st->ent[r->entity].asset == -2) {
            store_ser_remove_at(st, s);
            st->st.deleted++;
        }
    }
}

uint32_t store_expire(store *st, uint32_t older_than_s)
{
    uint32_t n = 0;
    for (uint32_t s = 0; s < st->series_hi; s++) {
        if (st->series[s].kind != STORE_KIND_FREE && st->series[s].seen < older_than_s) {
            store_ser_remove_at(st, s);
            n++;
        }
    }
    st->st.expired += n;
    return n;
}
