/*
 * asset_tab.c -- a listing's asset table and its label prefixes (asset_tab.h).
 */
#include "exporter/asset_tab.h"

#include <stdlib.h>

#include "core/tb.h"

struct asset_tab *asset_tab_new(void)
{
    size_t need = assets_mem_needed(LOOP_MAX_ASSETS, LOOP_ASSET_ARENA);
    struct asset_tab *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    /* calloc: zero pages, resident only as far as the listing writes them */
    a->mem = calloc(1, need);
    if (!a->mem || assets_init(&a->t, a->mem, need, LOOP_MAX_ASSETS, LOOP_ASSET_ARENA) != 0) {
        asset_tab_free(a);
        return NULL;
    }
    a->refs = 1;
    return a;
}

void asset_tab_free(struct asset_tab *a)
{
    if (!a)
        return;
    free(a->pre_off);
    free(a->pre_len);
    free(a->pre);
    free(a->kinds);
    free(a->mem);
    free(a);
}

static int is_device(const assets_table *t, int32_t idx)
{
    return t && idx >= 0 && (uint32_t)idx < t->count &&
           assets_get(t, idx)->kind == TB_ENTITY_DEVICE;
}

void asset_tab_id_label(struct expo_labels *lb, const uint8_t id[16], const assets_table *t,
                        int32_t idx)
{
    char uuid[37];
    tb_uuid_format(id, uuid);
    expo_labels_add(lb, is_device(t, idx) ? "device_id" : "asset_id", uuid, 36);
}

void asset_tab_labels(struct expo_labels *lb, const uint8_t id[16], const assets_table *t,
                      int32_t idx)
{
    asset_tab_id_label(lb, id, t, idx);
    if (t && idx >= 0 && (uint32_t)idx < t->count) {
        const assets_entry *e = assets_get(t, idx);
        expo_labels_add(lb, is_device(t, idx) ? "device" : "asset", assets_text(t, e->name_off),
                        e->name_len);
        expo_labels_add(lb, "profile", assets_text(t, e->type_off), e->type_len);
    } else {
        expo_labels_add(lb, "asset", "", 0);
        expo_labels_add(lb, "profile", "", 0);
    }
}

int asset_tab_seal(struct asset_tab *a)
{
    const assets_table *t = &a->t;
    size_t cap = 0, pos = 0;
    for (uint32_t i = 0; i < t->count; i++) {
        const assets_entry *e = assets_get(t, (int32_t)i);
        cap +=
            ASSET_TAB_DEVICE_ID_LABEL + 34 + EXPO_ESCAPE_BOUND((size_t)e->name_len + e->type_len);
        a->devices += e->kind == TB_ENTITY_DEVICE;
    }
    if (cap >= UINT32_MAX)
        return -1;
    if (a->devices && (a->kinds = malloc(t->count + 1)) != NULL)
        for (uint32_t i = 0; i < t->count; i++)
            a->kinds[i] = assets_get(t, (int32_t)i)->kind;
    a->pre_off = malloc((t->count + 1) * sizeof *a->pre_off);
    a->pre_len = malloc((t->count + 1) * sizeof *a->pre_len);
    a->pre = malloc(cap + 1);
    if (!a->pre_off || !a->pre_len || !a->pre) {
        free(a->pre_off);
        free(a->pre_len);
        free(a->pre);
        a->pre_off = a->pre_len = NULL;
        a->pre = NULL;
        return -1;
    }
    for (uint32_t i = 0; i < t->count; i++) {
        struct expo_labels lb;
        expo_labels_init(&lb, a->pre + pos, cap - pos);
        asset_tab_labels(&lb, assets_get(t, (int32_t)i)->id, t, (int32_t)i);
        a->pre_off[i] = (uint32_t)pos;
        a->pre_len[i] = lb.err ? 0 : (uint32_t)lb.len;
        a->pre_replaced += lb.err ? 0 : lb.replaced;
        pos += lb.err ? 0 : lb.len;
    }
    return 0;
}
