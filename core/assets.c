/*
 * assets.c -- a fixed-capacity open-addressing table keyed by 16-byte UUIDs, with
 * an append-only string arena. No deletion: a table lives for one discovery round
 * and is rebuilt whole, which is what lets readers of the old table go on safely.
 * The hash uses a power-of-two prefix of its reserved region, from ASSETS_HASH_MIN
 * slots, doubling (rehashed from the entries) when it would pass 3/4 full, so a
 * small fleet never touches the pages reserved for the maximum.
 */
#include "core/assets.h"

#include <string.h>

/* Slots the hash starts with after assets_reset() (4 KiB); a power of two. */
#ifndef ASSETS_HASH_MIN
#define ASSETS_HASH_MIN 1024u
#endif

_Static_assert((ASSETS_HASH_MIN & (ASSETS_HASH_MIN - 1)) == 0, "ASSETS_HASH_MIN power of two");
_Static_assert(sizeof(assets_entry) <= 56, "entry size: assets.h's memory figures");

static uint32_t assets_hash(const uint8_t id[16])
{
    uint64_t a, b;
    memcpy(&a, id, 8);
    memcpy(&b, id + 8, 8);
    uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
    return (uint32_t)(h >> 32);
}

/* Slots reserved: the smallest power of two >= 4/3 * max (load <= 3/4 when full). */
static uint32_t assets_slots(uint32_t max)
{
    uint32_t s = 16;
    while ((uint64_t)s * 3 < (uint64_t)max * 4 && s < (1u << 31))
        s <<= 1;
    return s;
}

size_t assets_mem_needed(uint32_t max_assets, size_t arena_bytes)
{
    size_t e = ((size_t)max_assets * sizeof(assets_entry) + 7) & ~(size_t)7;
    return e + (size_t)assets_slots(max_assets) * 4 + arena_bytes;
}

int assets_init(assets_table *t, void *mem, size_t memsize, uint32_t max_assets, size_t arena_bytes)
{
    memset(t, 0, sizeof *t);
    if (!mem || ((uintptr_t)mem & 7) || max_assets == 0 || max_assets > (1u << 30) ||
        arena_bytes > UINT32_MAX || memsize < assets_mem_needed(max_assets, arena_bytes))
        return ASSETS_ERR_ARG;
    size_t e = ((size_t)max_assets * sizeof(assets_entry) + 7) & ~(size_t)7;
    uint32_t slots = assets_slots(max_assets);
    t->e = mem;
    t->hash = (uint32_t *)((char *)mem + e);
    t->arena = (char *)mem + e + (size_t)slots * 4;
    t->mask_max = slots - 1;
    t->max = max_assets;
    t->arena_cap = arena_bytes;
    assets_reset(t);
    return 0;
}

/* Back to the first prefix; slots beyond it are cleared by the growth that takes them. */
void assets_reset(assets_table *t)
{
    t->mask = t->mask_max < ASSETS_HASH_MIN - 1 ? t->mask_max : ASSETS_HASH_MIN - 1;
    memset(t->hash, 0, ((size_t)t->mask + 1) * 4);
    t->count = 0;
    t->arena_used = 0;
    memset(t->type_len, 0, sizeof t->type_len);
    t->ndkeys = 0;
    t->dropped_full = t->dropped_arena = t->duplicates = t->details_dropped = 0;
    t->generation++;
}

int32_t assets_find(const assets_table *t, const uint8_t id[16])
{
    for (uint32_t i = assets_hash(id) & t->mask;; i = (i + 1) & t->mask) {
        uint32_t v = t->hash[i];
        if (v == 0)
            return -1;
        if (memcmp(t->e[v - 1].id, id, 16) == 0)
            return (int32_t)(v - 1);
    }
}

static void assets_insert(uint32_t *hash, uint32_t mask, const uint8_t id[16], uint32_t idx)
{
    uint32_t i = assets_hash(id) & mask;
    while (hash[i])
        i = (i + 1) & mask;
    hash[i] = idx + 1;
}

/* Doubles the hash and reinserts entries 0..count-1 (~10 ms per 100k assets, once per
 * doubling while a listing fills a new table that no reader holds yet). */
static void assets_grow(assets_table *t)
{
    uint32_t mask = t->mask * 2 + 1;
    memset(t->hash, 0, ((size_t)mask + 1) * 4);
    t->mask = mask;
    for (uint32_t i = 0; i < t->count; i++)
        assets_insert(t->hash, mask, t->e[i].id, i);
}

static int assets_put(assets_table *t, const char *s, size_t n, uint32_t *off, uint16_t *len)
{
    if (n >= LIM_NAME_BYTES)
        n = LIM_NAME_BYTES - 1;
    if (t->arena_cap - t->arena_used < n)
        return -1;
    memcpy(t->arena + t->arena_used, s, n);
    *off = (uint32_t)t->arena_used;
    *len = (uint16_t)n;
    t->arena_used += n;
    return 0;
}

/* assets_put for a profile name: the copy already in the arena when one of the last
 * ASSETS_TYPE_CACHE distinct names is this one (entries may share text: the arena is
 * never rewritten before a reset). */
static void assets_put_type(assets_table *t, const char *s, size_t n, uint32_t *off, uint16_t *len)
{
    if (n >= LIM_NAME_BYTES)
        n = LIM_NAME_BYTES - 1;
    for (unsigned i = 0; n && i < ASSETS_TYPE_CACHE; i++)
        if (t->type_len[i] == n && memcmp(t->arena + t->type_off[i], s, n) == 0) {
            *off = t->type_off[i];
            *len = (uint16_t)n;
            return;
        }
    if (assets_put(t, s, n, off, len) == 0 && n) {
        unsigned i = t->type_next++ % ASSETS_TYPE_CACHE;
        t->type_off[i] = *off;
        t->type_len[i] = (uint16_t)n;
    }
}

int assets_add(assets_table *t, const uint8_t id[16], const char *name, size_t name_len,
               const char *type, size_t type_len, const char *label, size_t label_len)
{
    int32_t idx = assets_find(t, id);
    if (idx >= 0) {
        t->duplicates++;
    } else if (t->count >= t->max) {
        t->dropped_full++;
        return ASSETS_ERR_FULL;
    }
    size_t need = (name_len < LIM_NAME_BYTES ? name_len : LIM_NAME_BYTES - 1) +
                  (type_len < LIM_NAME_BYTES ? type_len : LIM_NAME_BYTES - 1) +
                  (label_len < LIM_NAME_BYTES ? label_len : LIM_NAME_BYTES - 1);
    if (t->arena_cap - t->arena_used < need) {
        t->dropped_arena++;
        return ASSETS_ERR_ARENA;
    }
    assets_entry ne;
    memset(&ne, 0, sizeof ne);
    memcpy(ne.id, id, 16);
    assets_put(t, name ? name : "", name ? name_len : 0, &ne.name_off, &ne.name_len);
    assets_put_type(t, type ? type : "", type ? type_len : 0, &ne.type_off, &ne.type_len);
    assets_put(t, label ? label : "", label ? label_len : 0, &ne.label_off, &ne.label_len);
    if (idx >= 0) {
        t->e[idx] = ne;
        return idx;
    }
    if (((uint64_t)t->count + 1) * 4 > ((uint64_t)t->mask + 1) * 3 && t->mask < t->mask_max)
        assets_grow(t);
    idx = (int32_t)t->count++;
    t->e[idx] = ne;
    assets_insert(t->hash, t->mask, id, (uint32_t)idx);
    return idx;
}

int assets_add_tb(assets_table *t, const tb_asset *a)
{
    int idx =
        assets_add(t, a->id, a->name, a->name_len, a->type, a->type_len, a->label, a->label_len);
    if (idx >= 0)
        t->e[idx].kind = a->kind;
    return idx;
}

/* Details are packed as [kref:1][vlen:2 little-endian][value]..., kref an index into the
 * table's key dictionary (dkey_*): a fleet's assets share a few detail names, each then
 * kept once, which was over half of the details' bytes. kref ASSETS_DKEY_INLINE: the
 * dictionary was full, and [klen:1][key] follow it. */
#define ASSETS_DKEY_INLINE 0xFFu

/* The dictionary index of key k[0..kl), or ASSETS_DKEY_INLINE; adds it (its text at
 * the arena's end: the caller checked the room) while there is space. */
static unsigned dkey_ref(assets_table *t, const char *k, size_t kl)
{
    for (unsigned i = 0; i < t->ndkeys; i++)
        if (t->dkey_len[i] == kl && memcmp(t->arena + t->dkey_off[i], k, kl) == 0)
            return i;
    if (t->ndkeys >= ASSETS_DKEYS)
        return ASSETS_DKEY_INLINE;
    memcpy(t->arena + t->arena_used, k, kl);
    t->dkey_off[t->ndkeys] = (uint32_t)t->arena_used;
    t->dkey_len[t->ndkeys] = (uint8_t)kl;
    t->arena_used += kl;
    return t->ndkeys++;
}

/* Entry e already holds exactly these n details. */
static int details_same(const assets_table *t, const assets_entry *e, const tb_detail *d, size_t n)
{
    uint32_t pos = 0;
    const char *k, *v;
    size_t kl, vl;
    if (e->n_details != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!assets_detail_next(t, e, &pos, &k, &kl, &v, &vl) ||
            kl != strnlen(d[i].key, sizeof d[i].key - 1) || memcmp(k, d[i].key, kl) ||
            vl != strnlen(d[i].value, sizeof d[i].value - 1) || memcmp(v, d[i].value, vl))
            return 0;
    return pos == e->details_len;
}

int assets_set_details(assets_table *t, int32_t idx, int64_t ts, const tb_detail *d, size_t n)
{
    if (idx < 0 || (uint32_t)idx >= t->count)
        return ASSETS_ERR_ARG;
    if (ts != 0 && ts < t->e[idx].details_ts)
        return ASSETS_STALE;
    if (n > LIM_DETAIL_LABELS) {
        t->details_dropped += (uint32_t)(n - LIM_DETAIL_LABELS);
        n = LIM_DETAIL_LABELS;
    }
    /* Every reconnect and resubscription brings every asset's details again, mostly
     * unchanged: those take no arena space (old bytes are only freed by a reset, so
     * appending them each time used the arena up between listings). */
    if (details_same(t, &t->e[idx], d, n)) {
        t->e[idx].details_ts = ts;
        return 0;
    }
    /* at most: a new dictionary key or an inline one per detail */
    size_t need = 0, block = 0;
    for (size_t i = 0; i < n; i++) {
        size_t kl = strnlen(d[i].key, sizeof d[i].key - 1);
        size_t vl = strnlen(d[i].value, sizeof d[i].value - 1);
        need += 4 + 2 * kl + vl;
        block += 4 + kl + vl;
    }
    if (block > UINT16_MAX || t->arena_cap - t->arena_used < need) {
        t->dropped_arena++;
        return ASSETS_ERR_ARENA;
    }
    unsigned char ref[LIM_DETAIL_LABELS];
    for (size_t i = 0; i < n; i++) /* new key texts go before the block */
        ref[i] = (unsigned char)dkey_ref(t, d[i].key, strnlen(d[i].key, sizeof d[i].key - 1));
    char *p = t->arena + t->arena_used;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t kl = strnlen(d[i].key, sizeof d[i].key - 1);
        size_t vl = strnlen(d[i].value, sizeof d[i].value - 1);
        p[o++] = (char)ref[i];
        if (ref[i] == ASSETS_DKEY_INLINE) {
            p[o++] = (char)kl;
            memcpy(p + o, d[i].key, kl);
            o += kl;
        }
        p[o++] = (char)(vl & 0xff);
        p[o++] = (char)(vl >> 8);
        memcpy(p + o, d[i].value, vl);
        o += vl;
    }
    assets_entry *e = &t->e[idx];
    e->details_off = (uint32_t)t->arena_used;
    e->details_len = (uint16_t)o;
    e->n_details = (uint8_t)n;
    e->details_ts = ts;
    t->arena_used += o;
    return 0;
}

int assets_detail_next(const assets_table *t, const assets_entry *e, uint32_t *pos,
                       const char **key, size_t *key_len, const char **val, size_t *val_len)
{
    if (*pos >= e->details_len)
        return 0;
    const unsigned char *p = (const unsigned char *)t->arena + e->details_off;
    uint32_t o = *pos;
    unsigned ref = p[o++];
    if (ref == ASSETS_DKEY_INLINE) {
        *key_len = p[o++];
        *key = (const char *)p + o;
        o += (uint32_t)*key_len;
    } else {
        *key_len = t->dkey_len[ref];
        *key = t->arena + t->dkey_off[ref];
    }
    *val_len = (size_t)p[o] | (size_t)p[o + 1] << 8;
    o += 2;
    *val = (const char *)p + o;
    o += (uint32_t)*val_len;
    *pos = o;
    return 1;
}
