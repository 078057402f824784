/*
 * asset_tab.h -- one asset listing, as renders read it: the table (core/assets.h) and
 * the escaped label prefix `asset_id="…",asset="…",profile="…"` of every asset, which
 * every series of that asset prints.
 *
 * Life. The loop thread makes a table when a listing starts (asset_tab_new), fills it
 * page by page, seals it (asset_tab_seal: the prefixes) and publishes it
 * (loop_shared_publish, exporter/loop_shared.h). From then on its ids, names,
 * profiles and prefixes never change, so any number of render threads read them
 * without a lock. Only the assetDetails of the current table change afterwards (they
 * arrive on the WebSocket), under the shared mutex; renders read them under it too.
 * A table is freed when the last holder lets go of it (a reference count, under the
 * shared mutex): a render that is slow to stream keeps its table, and nothing else
 * waits for it.
 *
 * Memory: the table block is reserved at LOOP_MAX_ASSETS / LOOP_ASSET_ARENA (47 MB of
 * address space, zero pages from calloc, resident as far as the listing fills it:
 * core/assets.h) plus the prefixes (~100 B per asset, sized exactly at seal). At most
 * the current table, the one being listed and those that running renders still hold
 * are alive at once.
 */
#ifndef IOTPRO_EXPORTER_ASSET_TAB_H
#define IOTPRO_EXPORTER_ASSET_TAB_H

#include <stddef.h>
#include <stdint.h>

#include "core/assets.h"
#include "exporter/expo.h"

/* Asset table size per listing, and its string arena. */
#define LOOP_MAX_ASSETS  200000u
#define LOOP_ASSET_ARENA (32u * 1024u * 1024u)

/* asset_id="<36 characters>" is the first ASSET_TAB_ID_LABEL bytes of an asset's
 * prefix; a device's prefix is device_id="…",device="…",profile="…" and starts with
 * ASSET_TAB_DEVICE_ID_LABEL bytes of device_id="…". */
#define ASSET_TAB_ID_LABEL        47u
#define ASSET_TAB_DEVICE_ID_LABEL 48u
static inline size_t asset_tab_id_label_len(int kind)
{
    return kind == TB_ENTITY_DEVICE ? ASSET_TAB_DEVICE_ID_LABEL : ASSET_TAB_ID_LABEL;
}

struct asset_tab {
    assets_table t;
    uint32_t *pre_off, *pre_len; /* per entry; len 0: too long, built when rendered */
    char *pre;
    uint64_t pre_replaced; /* invalid UTF-8 sequences replaced in the prefixes */
    uint32_t devices;      /* entries of kind TB_ENTITY_DEVICE (counted at seal) */
    uint8_t *kinds;        /* per entry, its tb_entity_kind (sealed; NULL: read the entry):
                              renders test it per row, and 1 B per entity stays in cache
                              where the 56 B entries do not */
    unsigned refs;         /* holders; under the shared mutex (loop_shared.h) */
    void *mem;
};

/* An empty table with one reference (the caller's), or NULL out of memory. */
struct asset_tab *asset_tab_new(void);
/* Builds the label prefixes once the listing is complete. 0, or -1 out of memory
 * (the table stays usable: renders then build each asset's labels themselves). */
int asset_tab_seal(struct asset_tab *a);
/* Frees a table nobody holds (the reference count is the caller's business). */
void asset_tab_free(struct asset_tab *a);

/* Appends the asset_id, asset and profile labels of entry idx of t to lb, or for a
 * device device_id, device and profile (idx < 0 or t NULL: an asset id with empty
 * names). */
void asset_tab_labels(struct expo_labels *lb, const uint8_t id[16], const assets_table *t,
                      int32_t idx);
/* Only the id label of entry idx (asset_id or device_id). */
void asset_tab_id_label(struct expo_labels *lb, const uint8_t id[16], const assets_table *t,
                        int32_t idx);

/* The tb_entity_kind of entry idx (idx valid). */
static inline int asset_tab_kind(const struct asset_tab *a, int32_t idx)
{
    return a->kinds ? a->kinds[idx] : assets_get(&a->t, idx)->kind;
}

/* The sealed prefix of entry idx, or NULL (not sealed, or it did not fit). */
static inline const char *asset_tab_prefix(const struct asset_tab *a, int32_t idx, size_t *n)
{
    if (!a->pre || idx < 0 || (uint32_t)idx >= a->t.count || a->pre_len[idx] == 0)
        return NULL;
    *n = a->pre_len[idx];
    return a->pre + a->pre_off[idx];
}

#endif
