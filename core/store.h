/*
 * store.h -- the latest value of every (asset, key) series, in one caller-provided
 * memory block, bounded, with O(1) apply.
 *
 * Values arrive as ThingsBoard strings; store_apply() classifies them (core/num.h):
 * numbers and "true"/"false" become doubles, anything else is kept as a string cut
 * to LIM_STRING_VALUE_BYTES - 1 bytes (for iotpro_telemetry_info). ts 0 with an
 * empty value, or a missing value, deletes the series. The newest ts wins: an older
 * ts is ignored (messages are reordered by the server); an equal ts replaces.
 *
 * Assets: series belong to an entity (the asset UUID). store_bind_assets() tells
 * the store which asset table is current; series of assets missing from it are
 * removed, and later values for such assets are refused (STORE_UNKNOWN_ASSET), so
 * removed assets vanish from /metrics. Rows carry the table and entry index, so
 * renamed assets render with their new name without touching the series.
 *
 * Concurrency (the exporter's side; core has no threads): one mutex guards the
 * store. The event loop holds it around each store_apply()/tb_feed_message() (one
 * WebSocket message, microseconds), store_bind_assets(), store_expire() and
 * store_clear(). A /metrics render calls store_iter_begin() and then store_iter()
 * for batches of a few thousand rows, taking the mutex for each batch only and
 * formatting with the mutex released. Each row is an exact copy of one series.
 * Series created after store_iter_begin() are not returned by that iteration, so a
 * series deleted and re-created while a render runs can never be rendered twice
 * (Prometheus rejects a scrape with duplicate series); it may be missing from
 * that one scrape. Key names and asset tables referenced by rows stay valid
 * while the render runs (keys are never removed; see assets.h for tables).
 *
 * Memory. store_mem_needed() reserves every table at its maximum: 32 B per series
 * + 8 B per series hash slot (power of two >= 4/3 x max_series, so 11-21 B per series)
 * + 24 B + 11-21 B per entity + 48 + 258 B per string (a short and a long slot pool)
 * + LIM_KEYS x 130 B (+ 16 KiB key hash); the exporter's defaults (2M series, 200k
 * entities and strings) reserve 168 MB. Only what is in use is ever touched, so with
 * a calloc'd block (zero pages mapped on first touch) the resident size follows the
 * series actually held:
 *   - entry arrays grow from the front (hi-water marks; freed entries are reused
 *     before new ones are taken, and no free list is built ahead);
 *   - each hash table uses a power-of-two prefix of its region, 1024 slots at first,
 *     doubled when one more entry would take it past 3/4 full (so 11-21 B per series
 *     and per entity), up to the whole region;
 *   - store_init() writes the 16 KiB key hash and the two first prefixes (16 KiB).
 * Resident: 43-53 B per series + 35-45 B per entity + 48 B per string value of up
 * to STORE_STR_SHORT bytes (258 B for a longer one) + 130 B per key name; e.g. 1M
 * series of 250k assets, one short string each (a device id): 64-76 MB.
 * store_clear() shrinks both hashes back to 1024 slots and clears only those; pages
 * touched before stay resident until the block is freed (core cannot madvise): a
 * caller that wants them back after the fleet shrank frees the block and inits a new
 * one. The store reads only bytes it wrote: the block need not be zeroed.
 *
 * Growth cost: a doubling clears the new prefix and reinserts every live entry from
 * the entry array (hashes recomputed, slots prefetched in batches): about 40-50 ms
 * per million live series on one 2020s x86 core, i.e. a ~17 ms stall when the
 * 384Ki-th series arrives and ~34 ms at the 768Ki-th, ~40 ns amortised per series
 * created; entities likewise. It happens inside store_apply(), on the event-loop
 * thread, under the store mutex: a render waiting for its next batch waits that long
 * once. Renders are otherwise unaffected: they walk the series array, whose entries
 * never move, so the iteration epoch rules above hold across growths. Lookups stay
 * O(1) and as short as before: the load is at most 3/4 at any size.
 *
 * Lookups: a hash slot holds the entry's 32-bit hash next to its index, so probing
 * compares within the slot and reaches an entry only to confirm a match. The series
 * hash is of (asset UUID, key id), not of the entity index, so the entity and the
 * series slot of one value are fetched at the same time; store_prefetch() lets a
 * caller start both fetches earlier still (e.g. as soon as the UUID and key parse).
 */
#ifndef IOTPRO_CORE_STORE_H
#define IOTPRO_CORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/assets.h"
#include "core/limits.h"

/* store_apply() results (>= 0) and errors (< 0). Errors are counted in the stats. */
enum {
    STORE_NOOP = 0,          /* deletion of a series that does not exist */
    STORE_SET = 1,           /* value stored (new series or newer/equal ts) */
    STORE_STALE = 2,         /* older ts than the stored one: ignored */
    STORE_DELETED = 3,       /* series removed (ts 0 and "" or a missing value) */
    STORE_UNKNOWN_ASSET = 4, /* asset not in the bound table: ignored */
    STORE_ERR_SERIES_FULL = -701,
    STORE_ERR_ENTITIES_FULL = -702,
    STORE_ERR_KEYS_FULL = -703,
    STORE_ERR_KEY = -704, /* empty key or longer than LIM_KEY_BYTES - 1 */
    STORE_ERR_STRINGS_FULL = -705,
    STORE_ERR_ARG = -706
};

typedef enum { STORE_KIND_FREE = 0, STORE_KIND_NUM = 1, STORE_KIND_STR = 2 } store_kind;

typedef struct store_config {
    uint32_t max_series;   /* --store.max-series */
    uint32_t max_entities; /* distinct assets with at least one series */
    uint32_t max_strings;  /* string-valued series (a 48 B slot each, 258 B when
                                 the value is longer than STORE_STR_SHORT bytes) */
} store_config;

typedef struct store_stats {
    uint32_t series, entities, strings, keys;        /* in use now */
    uint64_t applied, stale, deleted, unknown_asset; /* cumulative */
    uint64_t dropped_series, dropped_entities, dropped_keys, dropped_strings;
    uint64_t strings_cut, expired;
} store_stats;

typedef struct store_series {
    int64_t ts; /* ThingsBoard ms */
    union {
        double num;
        uint32_t str; /* string slot */
        uint32_t next_free;
    } v;
    uint32_t entity;
    uint32_t born; /* iteration epoch at creation */
    uint32_t seen; /* caller's clock (s) of the last set */
    uint16_t key;
    uint8_t kind; /* store_kind */
    uint8_t pad_;
} store_series;

typedef struct store_entity {
    uint8_t id[16];
    int32_t asset;    /* index in the bound table, -1 when none */
    uint32_t nseries; /* 0 = free slot (then asset holds the free link) */
} store_entity;

typedef struct store_key {
    char name[LIM_KEY_BYTES];
    uint16_t len;
} store_key;

/* Two slot sizes for string values: most telemetry strings (device ids, serial
 * numbers, states, UUIDs) fit a short slot, a sixth of a long one. */
#define STORE_STR_SHORT 46u
typedef struct store_str_short {
    uint16_t len;
    char s[STORE_STR_SHORT];
} store_str_short;

typedef struct store_str {
    uint16_t len;
    char s[LIM_STRING_VALUE_BYTES];
} store_str;

/* One open-addressing slot: idx 0 = empty, else entry index + 1. */
typedef struct store_slot {
    uint32_t hash;
    uint32_t idx;
} store_slot;

/* Opaque in spirit: use the functions. */
typedef struct store {
    store_config cfg;
    store_series *series;
    store_slot *series_hash;
    uint32_t series_mask, series_hi, series_free, series_n;
    uint32_t series_mask_max; /* the reserved hash region; series_mask grows to it */
    store_entity *ent;
    store_slot *ent_hash;
    uint32_t ent_mask, ent_hi, ent_free, ent_n;
    uint32_t ent_mask_max;
    store_key *keys;
    uint16_t *key_hash;
    uint32_t nkeys;
    /* key id + 1 of the last key interned per (length ^ last byte) % 8, 0: none. A
     * feed repeats a few keys (a GPS update: the same two), so most lookups are one
     * comparison instead of a hash and a probe. */
    uint16_t key_recent[8];
    store_str_short *strs_short; /* each pool has max_strings slots; str_n counts both */
    uint32_t short_hi, short_free;
    store_str *strs;
    uint32_t str_hi, str_free, str_n;
    uint32_t epoch;
    const assets_table *assets;
    store_stats st;
} store;

size_t store_mem_needed(const store_config *cfg);
/* mem: 8-byte aligned, >= store_mem_needed(cfg); borrowed for the store's life.
 * 0 or STORE_ERR_ARG. */
int store_init(store *st, void *mem, size_t memsize, const store_config *cfg);
/* Removes every series and entity (keys stay). Used when a fresh baseline follows. */
void store_clear(store *st);

/* Binds the current asset table (NULL: accept every asset, no names). Removes the
 * series of entities missing from it and refreshes every entity's index. O(series). */
void store_bind_assets(store *st, const assets_table *tab);

/* Applies one value. id: 16-byte asset UUID. key: key[0..key_len), unescaped.
 * val: val[0..val_len) unescaped, or NULL when the TsValue had no value.
 * now_s: the caller's clock in seconds (for store_expire). */
int store_apply(store *st, const uint8_t id[16], const char *key, size_t key_len, int64_t ts,
                const char *val, size_t val_len, uint32_t now_s);

/* Looks a key up, or adds it; key id >= 0 or STORE_ERR_KEY(S_FULL). Key names and
 * ids are stable for the store's lifetime. */
int store_key_intern(store *st, const char *key, size_t len);
/* Same as store_apply() with an interned key id. */
int store_apply_id(store *st, const uint8_t id[16], int key_id, int64_t ts, const char *val,
                   size_t val_len, uint32_t now_s);

/* A value already classified (core/num.h) and unescaped, so that no parsing happens
 * under the caller's lock. kind STORE_KIND_FREE: no value (a deletion; the caller
 * applies the store's rule: a missing value, or ts 0 with ""). STORE_KIND_STR:
 * str[0..str_len), cut to LIM_STRING_VALUE_BYTES - 1 here (counted as strings_cut). */
typedef struct store_value {
    store_kind kind;
    double num;
    const char *str;
    size_t str_len;
} store_value;
/* Same as store_apply_id() with the value classified by the caller. */
int store_apply_value(store *st, const uint8_t id[16], int key_id, int64_t ts, const store_value *v,
                      uint32_t now_s);
/* The hash every lookup of an asset UUID starts from. A caller with several values of
 * one asset (a GPS update carries two) computes it once and passes it to the _hashed
 * calls below; h must be store_hash_id(id) of the same id, or lookups miss and a
 * series is made twice. */
uint64_t store_hash_id(const uint8_t id[16]);
/* store_apply_value() with h = store_hash_id(id). */
int store_apply_hashed(store *st, const uint8_t id[16], uint64_t h, int key_id, int64_t ts,
                       const store_value *v, uint32_t now_s);

/* Performance hints, no effect on the store's contents, cheap (a hash and one or two
 * prefetch instructions, no load of a slot): call as soon as the asset UUID (and the
 * key id) of a value is known, some work before its store_apply_id(), so the hash
 * slots are in cache when the apply probes them. key_id < 0 or unknown: the entity
 * slot only. Read-only, but they read the current hash sizes, which store_apply()
 * changes as the store grows: call them under the same mutex as store_apply(). */
void store_prefetch(const store *st, const uint8_t id[16], int key_id);
void store_prefetch_hashed(const store *st, uint64_t h, int key_id); /* h: store_hash_id() */
void store_prefetch_entity(const store *st, const uint8_t id[16]);

/* Removes every series of one asset; returns how many. */
uint32_t store_remove_entity(store *st, const uint8_t id[16]);
/* Removes series whose last set (now_s of store_apply) is before older_than_s. */
uint32_t store_expire(store *st, uint32_t older_than_s);

/* ---- reading ---------------------------------------------------------------------- */
typedef struct store_cursor {
    uint32_t pos;
    uint32_t epoch;
} store_cursor;

typedef struct store_row {
    uint8_t id[16];             /* asset UUID */
    const assets_table *assets; /* table bound when the row was copied (or NULL) */
    int32_t asset;              /* entry in *assets, -1 when unknown */
    const char *key;            /* stable; not NUL-terminated */
    uint16_t key_len;
    uint8_t kind; /* STORE_KIND_NUM or STORE_KIND_STR */
    uint16_t str_len;
    uint32_t str_off; /* STR: text at strbuf + str_off */
    uint32_t seen;
    int64_t ts;
    double num; /* NUM: the value */
} store_row;

/* Starts an iteration (under the mutex). */
void store_iter_begin(store *st, store_cursor *c);
/* Copies up to n rows (under the mutex); string values go to strbuf[0..strcap),
 * the batch ends early when it is full. Returns the row count; 0 = done. */
size_t store_iter(const store *st, store_cursor *c, store_row *rows, size_t n, char *strbuf,
                  size_t strcap);

/* Same as store_iter() for the series of one key only (key_id from store_key_find;
 * < 0: nothing). A render of one key's family walks the series array without copying
 * the other keys' rows. */
size_t store_iter_key(const store *st, store_cursor *c, int key_id, store_row *rows, size_t n,
                      char *strbuf, size_t strcap);
/* The id of a key name the store has seen, or -1 (read-only, under the mutex). */
int store_key_find(const store *st, const char *key, size_t key_len);

void store_get_stats(const store *st, store_stats *out);
/* Looks up one series (tests, debugging): 1 and *row set, or 0. */
int store_get(const store *st, const uint8_t id[16], const char *key, size_t key_len,
              store_row *row, char *strbuf, size_t strcap);
const char *store_strerror(int err);

#endif
