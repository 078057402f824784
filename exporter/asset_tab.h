/*
 * asset_tab.h -- one asset listing, as renders read it: the table (core/assets.h), and
 * how a render builds the escaped label prefix `asset_id="…",asset="…",profile="…"`
 * that every series of an asset prints (struct asset_prefix).
 *
 * Life. The loop thread makes a table when a listing starts (asset_tab_new), fills it
 * page by page, seals it (asset_tab_seal: kinds and counts) and publishes it
 * (loop_shared_publish, exporter/loop_shared.h). From then on its ids, names,
 * profiles and flags never change, so any number of render threads read them
 * without a lock. Only the assetDetails of the current table change afterwards (they
 * arrive on the WebSocket), under the shared mutex; renders read them under it too.
 * A table is freed when the last holder lets go of it (a reference count, under the
 * shared mutex): a render that is slow to stream keeps its table, and nothing else
 * waits for it.
 *
 * Memory: the table block is reserved at LOOP_MAX_ASSETS / LOOP_ASSET_ARENA (47 MB of
 * address space, zero pages from calloc, resident as far as the listing fills it:
 * core/assets.h) plus one byte per entry (flags). At most the current table, the one
 * being listed and those that running renders still hold are alive at once.
 *
 * Prefixes are not kept per asset: at ~95 B each they would be a third of the table's
 * resident size. A render builds them into a struct asset_prefix as it goes; the
 * store holds the series of one entity next to each other (they arrive together in
 * its data page), so each prefix is built about once per entity and family.
 */
#ifndef IOTPRO_EXPORTER_ASSET_TAB_H
#define IOTPRO_EXPORTER_ASSET_TAB_H

#include <stddef.h>
#include <stdint.h>

#include "core/assets.h"
#include "core/limits.h"
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
    uint64_t pre_replaced; /* invalid UTF-8 sequences replaced in the prefixes (seal) */
    uint32_t devices;      /* entries of kind TB_ENTITY_DEVICE (counted at seal) */
    uint8_t *flags;        /* per entry (sealed; NULL: read the entry): its tb_entity_kind,
                              | ASSET_TAB_PLAIN when its names need no escaping. Renders
                              test the kind per row, and 1 B per entity stays in cache
                              where the 56 B entries do not */
    unsigned refs;         /* holders; under the shared mutex (loop_shared.h) */
    void *mem;
};

#define ASSET_TAB_PLAIN 0x80u

/* An empty table with one reference (the caller's), or NULL out of memory. */
struct asset_tab *asset_tab_new(void);
/* Once the listing is complete: notes each entry's kind and whether its names need
 * escaping (flags), and counts the devices and the replacements in the prefixes.
 * 0, or -1 out of memory (the table stays usable: renders then read each entry's kind
 * from the entry and check its names as they build its prefix). */
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
    return a->flags ? a->flags[idx] & ~ASSET_TAB_PLAIN : assets_get(&a->t, idx)->kind;
}

/* Longest prefix: the device id label, both names at LIM_NAME_BYTES - 1 bytes escaped
 * (EXPO_ESCAPE_BOUND) and the label syntax around them. */
#define ASSET_PREFIX_MAX \
    (ASSET_TAB_DEVICE_ID_LABEL + 34u + 2u * EXPO_ESCAPE_BOUND(LIM_NAME_BYTES - 1u))

/* One render's prefix of the entry it last asked for (not shared between threads). */
struct asset_prefix {
    const struct asset_tab *a;
    int32_t idx; /* the entry buf holds, -1 none */
    uint32_t len;
    char buf[ASSET_PREFIX_MAX];
};

static inline void asset_prefix_init(struct asset_prefix *p, const struct asset_tab *a)
{
    p->a = a;
    p->idx = -1;
}

/* asset_prefix_get's slow half: builds entry idx's prefix into p (len 0: none). */
void asset_prefix_build(struct asset_prefix *p, int32_t idx);

/* The escaped prefix of entry idx of p->a (built unless it is the one held), or NULL
 * when idx is not an entry. The view lasts until the next call with another idx. */
static inline const char *asset_prefix_get(struct asset_prefix *p, int32_t idx, size_t *n)
{
    if (idx != p->idx)
        asset_prefix_build(p, idx);
    *n = p->len;
    return p->len ? p->buf : NULL;
}

#endif
