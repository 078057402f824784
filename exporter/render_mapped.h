/*
 * render_mapped.h -- the families of mapped telemetry keys (exporter/mapping.h):
 * iotpro_<name>{asset_id, asset, profile} for assets, and the rule that decides which
 * rows leave the generic families (exporter/render.c) for them.
 *
 * Which family a row of a mapped key goes to (one rule, used by both sides, so a
 * series is never in two families nor in none):
 *   - a number or boolean: the mapped family, value x scale;
 *   - a string in the key's map, or any string when it has a map-default: the mapped
 *     family, the mapped number;
 *   - any other string: stays in iotpro_telemetry_info;
 *   - never in iotpro_telemetry_value or _timestamp_seconds.
 *
 * Entity kinds: an rmap_entity says only what differs between assets and devices:
 * the family name prefix ("iotpro_" or "iotpro_device_"), the kind whose rows it
 * takes, and where the labels come from (the listing's escaped prefixes, and a
 * slow-path label builder for the rare entry without one). Everything else is shared.
 *
 * Speed: the generic passes ask rmap_generic() for every row of every render, so it
 * looks the key up by the store's stable key-name pointer in a per-render cache (one
 * mapping_find per key and render). Each mapped family is one walk of the series
 * array that copies only its key's rows (store_iter_key), in batches under sh->mu
 * like every other pass.
 *
 * Threads: a render thread; the cache belongs to one render.
 */
#ifndef IOTPRO_EXPORTER_RENDER_MAPPED_H
#define IOTPRO_EXPORTER_RENDER_MAPPED_H

#include "core/store.h"
#include "exporter/asset_tab.h"
#include "exporter/expo.h"
#include "exporter/health.h"
#include "exporter/loop_shared.h"
#include "exporter/mapping.h"

/* Store key-name pointer -> mapping entry, for one render. */
struct rmap_cache;
/* NULL when out of memory. 160 KiB of zeroed pages (4 x LIM_KEYS slots of a pointer
 * and an index), touched as keys are seen. */
struct rmap_cache *rmap_cache_new(void);
void rmap_cache_free(struct rmap_cache *c);

/* 1 when the row belongs in generic family `what` (0 value, 1 timestamp, 2 info) as
 * far as the mapping is concerned (the caller still filters by kind). strbuf: the
 * batch's string buffer (row->str_off points into it). */
int rmap_generic(struct rmap_cache *c, const struct mapping *m, const store_row *row,
                 const char *strbuf, int what);

struct rmap_entity {
    const char *prefix;          /* "iotpro_" (assets) or "iotpro_device_" (devices) */
    const struct asset_tab *tab; /* the listing the render holds */
    /* labels of entry idx of t when no prefix can be built for it */
    void (*labels)(struct expo_labels *lb, const uint8_t id[16], const assets_table *t,
                   int32_t idx);
    int kind; /* the tb_entity_kind rendered: rows of other entities are left out */
};

/* Rows and strings: the render's batch buffers (n rows, strcap bytes). */
struct rmap_pass {
    struct loop_shared *sh;
    struct health *h;
    struct expo *e;
    const struct mapping *m;
    const struct rmap_entity *ent;
    store_row *rows;
    size_t nrows;
    char *strbuf;
    size_t strcap;
    struct asset_prefix *pre; /* the render's, over ent->tab */
};

/* Every mapped family of the table, in table order: HELP, TYPE and one sample per
 * (entity, key) series that the rule above sends there. */
void render_mapped(const struct rmap_pass *p);

/* The entry of row's entity in the listing t, or -1: a row copied after a newer
 * listing was published names that one, which a render must not follow (it may be
 * gone by now), so the id is looked up in the render's own. */
static inline int32_t rmap_row_entry(const struct asset_tab *t, const store_row *row)
{
    if (row->assets == &t->t)
        return row->asset;
    return assets_find(&t->t, row->id);
}

#endif
