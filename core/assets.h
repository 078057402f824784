/*
 * assets.h -- the asset table: UUID -> name, profile (type), label and assetDetails
 * labels, with O(1) lookup, in one caller-provided memory block.
 *
 * Rediscovery builds a whole new table: the exporter fills a fresh table with
 * assets_add() while /metrics keeps reading the current one, then makes it current
 * and calls store_bind_assets() under the store mutex (see store.h); a table is freed
 * when no reader holds it any more (exporter/asset_tab.h counts the holders). A table
 * must not be reset or refilled while a reader may still hold it. Nothing here locks;
 * a table that is not being written may be read from any number of threads.
 *
 * Memory: assets_mem_needed(max, arena) reserves max * 56 B (entries) + 4 B per hash
 * slot (the smallest power of two >= 4/3 * max) + arena bytes for the strings (names,
 * types, labels, details); the exporter's tables (200k assets, 32 MiB arena) reserve
 * 47 MB each. Only what is in use is touched, so a calloc'd block is resident in
 * proportion to the assets held: entries and arena fill from the front, and the hash
 * uses a power-of-two prefix of its region, 1024 slots at first, doubled (rehashed
 * from the entries: ~10 ms per 200k assets) when one more asset would take it past
 * 3/4 full. Resident: 61-67 B per asset + its text: name and label (~20 B typical),
 * and 3 B + the value per detail. Names repeated across a fleet are kept once: a
 * profile name while it is among the last ASSETS_TYPE_CACHE distinct ones, a detail
 * name while ASSETS_DKEYS have not been used up (further ones are stored with each
 * detail). E.g. with five details each, ~115 B per asset: 10k assets ~1.2 MB.
 * assets_reset() goes back to 1024 slots and clears only those; pages touched before
 * stay resident until the block is freed (core cannot madvise), so a reused block
 * keeps the size of the largest listing it held (the exporter gives each listing a
 * fresh block instead).
 */
#ifndef IOTPRO_CORE_ASSETS_H
#define IOTPRO_CORE_ASSETS_H

#include <stddef.h>
#include <stdint.h>

#include "core/tb.h"

enum {
    ASSETS_ERR_FULL = -801,  /* max_assets reached: the asset is not added */
    ASSETS_ERR_ARENA = -802, /* string arena exhausted: the asset (or detail) is not added */
    ASSETS_ERR_ARG = -803,   /* memory block too small / misaligned, or bad index */
    ASSETS_ERR_NOT_FOUND = -804
};

/* 56 B: fields ordered so that only the tail pads (to details_ts's alignment). */
typedef struct assets_entry {
    uint8_t id[16];
    uint32_t name_off, type_off, label_off, details_off; /* into the arena */
    int64_t details_ts; /* ms of the details held (0: none, or unordered) */
    uint16_t name_len, type_len, label_len, details_len;
    uint8_t n_details;
    uint8_t kind; /* tb_entity_kind: one table holds the assets and devices listed */
} assets_entry;

#define ASSETS_TYPE_CACHE 16u
#define ASSETS_DKEYS      254u /* distinct detail names by index; more are stored inline */

typedef struct assets_table {
    assets_entry *e;
    uint32_t *hash;    /* entry index + 1; 0 = empty */
    uint32_t mask;     /* slots in use - 1: grows with count, up to mask_max */
    uint32_t mask_max; /* the reserved hash region - 1 */
    uint32_t count, max;
    char *arena;
    size_t arena_cap, arena_used;
    uint64_t generation; /* bumped by assets_reset() */
    /* the last distinct profile names put in the arena: a fleet has a few profiles
     * and thousands of assets, so each profile's text is kept once */
    uint32_t type_off[ASSETS_TYPE_CACHE];
    uint16_t type_len[ASSETS_TYPE_CACHE]; /* 0: empty slot */
    uint32_t type_next;                   /* the slot the next new name takes */
    /* detail names, each kept once: details refer to them by index (assets.c) */
    uint32_t dkey_off[ASSETS_DKEYS];
    uint8_t dkey_len[ASSETS_DKEYS];
    uint32_t ndkeys;
    uint32_t dropped_full, dropped_arena, duplicates, details_dropped;
} assets_table;

size_t assets_mem_needed(uint32_t max_assets, size_t arena_bytes);
/* mem must be 8-byte aligned and at least assets_mem_needed() bytes; the table
 * borrows it until the caller stops using the table. 0 or ASSETS_ERR_ARG. */
int assets_init(assets_table *t, void *mem, size_t memsize, uint32_t max_assets,
                size_t arena_bytes);
/* Empties the table (O(1): 4 KiB cleared). */
void assets_reset(assets_table *t);

/* Adds an asset (strings are copied; lengths are cut to LIM_NAME_BYTES - 1).
 * A second add of the same id replaces the first (pages may overlap while assets
 * are created during listing). Returns the entry index or ASSETS_ERR_*. */
int assets_add(assets_table *t, const uint8_t id[16], const char *name, size_t name_len,
               const char *type, size_t type_len, const char *label, size_t label_len);
/* Convenience: adds a parsed tb_asset (or device: its kind is kept in the entry). */
int assets_add_tb(assets_table *t, const tb_asset *a);

/* Stores the assetDetails labels of entry idx as of time ts (ms), replacing earlier
 * ones (the old bytes stay in the arena until the next reset; unchanged details take
 * no space); at most
 * LIM_DETAIL_LABELS; n 0 clears them. The newest ts wins, as for telemetry: details
 * older than those held are ignored and ASSETS_STALE returned (the server reorders
 * messages). ts 0 applies unconditionally and forgets the held time: a ThingsBoard
 * deletion ({"ts":0,"value":""}), or REST details, which arrive one at a time.
 * Returns 0, ASSETS_STALE, or ASSETS_ERR_*. */
#define ASSETS_STALE 1
int assets_set_details(assets_table *t, int32_t idx, int64_t ts, const tb_detail *d, size_t n);

/* Entry index of id, or -1. */
int32_t assets_find(const assets_table *t, const uint8_t id[16]);

static inline const assets_entry *assets_get(const assets_table *t, int32_t idx)
{
    return &t->e[idx];
}
/* Text at an arena offset from an entry; not NUL-terminated: use the lengths. */
static inline const char *assets_text(const assets_table *t, uint32_t off)
{
    return t->arena + off;
}

/* Iterates the detail labels of e: start with *pos = 0; returns 1 with views set,
 * 0 at the end. */
int assets_detail_next(const assets_table *t, const assets_entry *e, uint32_t *pos,
                       const char **key, size_t *key_len, const char **val, size_t *val_len);

#endif
