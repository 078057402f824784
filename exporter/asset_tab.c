/*
 * asset_tab.c -- a listing's asset table and its label prefixes (asset_tab.h).
 */
#include "exporter/asset_tab.h"

#include <stdlib.h>
#include <string.h>

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
    free(a->flags);
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

/* 1 when s[0..n) is printable ASCII other than '"' and '\\': its escaped form is itself. */
static int plain(const char *s, size_t n)
{
    unsigned bad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bad |= (c < 0x20u) | (c > 0x7eu) | (c == '"') | (c == '\\');
    }
    return !bad;
}

static char *put(char *o, const char *s, size_t n)
{
    memcpy(o, s, n);
    return o + n;
}

static int plain_entry(const assets_table *t, const assets_entry *e)
{
    return plain(assets_text(t, e->name_off), e->name_len) &&
           plain(assets_text(t, e->type_off), e->type_len);
}

/* entry idx's escaped prefix into buf (ASSET_PREFIX_MAX bytes): its length, 0 if it
 * failed. Names that need no escaping (nearly all) are copied: renders build a prefix
 * per entity and family, hundreds of thousands of times in a large scrape. */
static size_t build_prefix(const assets_table *t, int32_t idx, int is_plain, char *buf,
                           uint64_t *replaced)
{
    const assets_entry *e = assets_get(t, idx);
    if (is_plain) {
        int dev = e->kind == TB_ENTITY_DEVICE;
        char *o = dev ? put(buf, "device_id=\"", 11) : put(buf, "asset_id=\"", 10);
        tb_uuid_format(e->id, o);
        o += 36;
        o = dev ? put(o, "\",device=\"", 10) : put(o, "\",asset=\"", 9);
        o = put(o, assets_text(t, e->name_off), e->name_len);
        o = put(o, "\",profile=\"", 11);
        o = put(o, assets_text(t, e->type_off), e->type_len);
        *o++ = '"';
        return (size_t)(o - buf);
    }
    struct expo_labels lb;
    expo_labels_init(&lb, buf, ASSET_PREFIX_MAX);
    asset_tab_labels(&lb, e->id, t, idx);
    *replaced += lb.err ? 0 : lb.replaced;
    return lb.err ? 0 : lb.len;
}

int asset_tab_seal(struct asset_tab *a)
{
    const assets_table *t = &a->t;
    char buf[ASSET_PREFIX_MAX];
    a->flags = malloc(t->count + 1);
    for (uint32_t i = 0; i < t->count; i++) {
        const assets_entry *e = assets_get(t, (int32_t)i);
        int p = plain_entry(t, e);
        a->devices += e->kind == TB_ENTITY_DEVICE;
        if (!p) /* replacements are counted once per listing, and rendered per scrape */
            build_prefix(t, (int32_t)i, 0, buf, &a->pre_replaced);
        if (a->flags)
            a->flags[i] = (uint8_t)(e->kind | (p ? ASSET_TAB_PLAIN : 0u));
    }
    return a->flags ? 0 : -1;
}

void asset_prefix_build(struct asset_prefix *p, int32_t idx)
{
    const struct asset_tab *a = p->a;
    uint64_t replaced = 0; /* counted by the seal */
    p->idx = idx;
    p->len = 0;
    if (idx < 0 || (uint32_t)idx >= a->t.count)
        return;
    int is_plain = a->flags ? (a->flags[idx] & ASSET_TAB_PLAIN) != 0
                            : plain_entry(&a->t, assets_get(&a->t, idx));
    p->len = (uint32_t)build_prefix(&a->t, idx, is_plain, p->buf, &replaced);
}
