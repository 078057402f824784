/*
 * render.c -- the /metrics body (see render.h). The per-asset label prefix is escaped
 * once per entity and pass (struct asset_prefix, exporter/asset_tab.h); the key fragment
 * once per key per render; each sample is then assembled by expo_sample2 from the two.
 */
#include "exporter/render.h"

#include <stdlib.h>
#include <string.h>

#include "core/tb.h"
#include "core/tb_feed.h"
#include "exporter/procstat.h"
#include "exporter/render_mapped.h"
#include "exporter/render_opts.h"

/* Rows copied per store lock: 1024 x 72 B, touched whole by any scrape of more series,
 * so a part of the exporter's peak RSS; more rows per batch save nothing measurable. */
#define RENDER_BATCH 1024u
#define KEY_SLOTS    (4u * LIM_KEYS) /* power of two, > 2 x LIM_KEYS */

struct render {
    struct loop_shared *sh;
    struct health *h;
    struct render_opts_slot opts; /* mapping, timestamps, info fields (render_opts.h) */
};

/* Escaped `key="…"` per key name pointer (store key names are stable). */
struct key_cache {
    const char *ptr[KEY_SLOTS];
    uint32_t off[KEY_SLOTS], len[KEY_SLOTS];
    char *arena;
    size_t used, cap;
};

struct render *render_create(struct loop_shared *sh, struct health *h)
{
    struct render *r = calloc(1, sizeof *r);
    struct render_opts *o = render_opts_new(NULL);
    if (!r || !o) {
        free(r);
        free(o);
        return NULL;
    }
    r->sh = sh;
    r->h = h;
    render_opts_slot_init(&r->opts, o);
    return r;
}

void render_set_opts(struct render *r, struct render_opts *o)
{
    render_opts_publish(&r->opts, o);
}

void render_destroy(struct render *r)
{
    if (r)
        render_opts_slot_free(&r->opts);
    free(r);
}

/* The escaped key="…" fragment of a store key name; NULL when it cannot be made. */
static const char *key_frag(struct key_cache *k, const char *key, size_t klen, size_t *n,
                            uint64_t *replaced)
{
    uintptr_t hv = (uintptr_t)key;
    uint32_t i = (uint32_t)((hv >> 3) ^ (hv >> 13)) & (KEY_SLOTS - 1);
    struct expo_labels lb;
    while (k->ptr[i] && k->ptr[i] != key)
        i = (i + 1) & (KEY_SLOTS - 1);
    if (k->ptr[i]) {
        *n = k->len[i];
        return k->arena + k->off[i];
    }
    expo_labels_init(&lb, k->arena + k->used, k->cap - k->used);
    expo_labels_add(&lb, "key", key, klen);
    if (lb.err)
        return NULL;
    *replaced += lb.replaced; /* once per key and render */
    k->ptr[i] = key;
    k->off[i] = (uint32_t)k->used;
    k->len[i] = (uint32_t)lb.len;
    k->used += lb.len;
    *n = lb.len;
    return k->arena + k->off[i];
}

struct pass {
    struct render *r;
    struct expo *e;
    const struct asset_tab *a; /* held (a reference) for the whole render */
    struct key_cache *k;
    const struct render_opts *o; /* held for the whole render */
    struct rmap_cache *mc;       /* NULL when no key is mapped */
    store_row *rows;
    char *strbuf;
    size_t strcap;
    struct asset_prefix pre; /* the prefix of the entity rendered last */
};

/* The entry of a row's asset in the table this render holds, or -1. */
static int32_t row_asset(const struct pass *p, const store_row *row)
{
    return rmap_row_entry(p->a, row);
}

/* The families a store row can go to. Telemetry rows (F_VALUE, F_TS, F_INFO) render
 * once per entity kind; attribute rows (store keys in the TB_ATTR_NS namespace,
 * core/tb_feed.h) render as device connectivity or as the generic attribute families. */
enum fam { F_VALUE, F_TS, F_INFO, F_ACTIVE, F_LAST_ACTIVITY, F_ATTR_VALUE, F_ATTR_INFO };

static int key_is(const store_row *row, const char *name, size_t n)
{
    return row->key_len == n + 1 && memcmp(row->key + 1, name, n) == 0;
}

/* Device connectivity attributes have families of their own. */
static int is_connectivity(const store_row *row, int ekind)
{
    return ekind == TB_ENTITY_DEVICE &&
           (key_is(row, "active", 6) || key_is(row, "lastActivityTime", 16));
}

/* Does row (of an entity of kind ekind) belong to family f of entity kind `kind` (-1:
 * any kind)? */
static int row_in(const store_row *row, int ekind, enum fam f, int kind)
{
    int num = row->kind == STORE_KIND_NUM;
    if (kind >= 0 && ekind != kind)
        return 0;
    if (!tb_key_is_attr(row->key, row->key_len))
        return (f == F_VALUE && num) || f == F_TS || (f == F_INFO && !num);
    switch (f) {
    case F_ACTIVE: return num && key_is(row, "active", 6) && ekind == TB_ENTITY_DEVICE;
    case F_LAST_ACTIVITY:
        return num && key_is(row, "lastActivityTime", 16) && ekind == TB_ENTITY_DEVICE;
    case F_ATTR_VALUE: return num && !is_connectivity(row, ekind);
    case F_ATTR_INFO: return !num && !is_connectivity(row, ekind);
    default: return 0;
    }
}

/* A row's key without the attribute namespace byte. */
static void row_key(const store_row *row, const char **k, size_t *n)
{
    int attr = tb_key_is_attr(row->key, row->key_len);
    *k = row->key + attr;
    *n = (size_t)row->key_len - (size_t)attr;
}

/* Slow path: labels built on the fly (a prefix too long for the table's cache). */
static void sample_slow(struct pass *p, const store_row *row, int32_t idx, int with_key, double v)
{
    char lbuf[4096];
    struct expo_labels lb;
    const char *k;
    size_t kn;
    expo_labels_init(&lb, lbuf, sizeof lbuf);
    asset_tab_labels(&lb, row->id, &p->a->t, idx);
    row_key(row, &k, &kn);
    if (with_key)
        expo_labels_add(&lb, "key", k, kn);
    p->e->utf8_replaced += lb.replaced;
    if (lb.err) {
        health_limit_hit(p->r->h, HEALTH_LIMIT_NAME);
        return;
    }
    expo_sample(p->e, lb.buf, lb.len, v);
}

/* id label, key, value: the info families of string values. The id label is the
 * head of the entity's prefix. */
static void sample_info(struct pass *p, const store_row *row, int32_t idx, const char *pre)
{
    char lbuf[ASSET_TAB_DEVICE_ID_LABEL + 1 + 3 * LIM_KEY_BYTES + 3 * LIM_STRING_VALUE_BYTES + 32];
    struct expo_labels lb;
    const char *k;
    size_t kn, idn = asset_tab_id_label_len(asset_tab_kind(p->a, idx));
    expo_labels_init(&lb, lbuf, sizeof lbuf);
    if (pre) {
        memcpy(lbuf, pre, idn);
        lb.len = idn;
    } else {
        asset_tab_id_label(&lb, row->id, &p->a->t, idx);
    }
    row_key(row, &k, &kn);
    expo_labels_add(&lb, "key", k, kn);
    expo_labels_add(&lb, "value", p->strbuf + row->str_off, row->str_len);
    p->e->utf8_replaced += lb.replaced;
    if (lb.err)
        health_limit_hit(p->r->h, HEALTH_LIMIT_NAME);
    else
        expo_sample(p->e, lb.buf, lb.len, 1.0);
}

/* One sample of row in family f. */
static void sample_row(struct pass *p, const store_row *row, int32_t idx, enum fam f)
{
    const char *pre, *kf = NULL, *k;
    size_t pn = 0, kn = 0;
    pre = asset_prefix_get(&p->pre, idx, &pn);
    if (f == F_INFO || f == F_ATTR_INFO) {
        sample_info(p, row, idx, pre);
        return;
    }
    if (f == F_ACTIVE || f == F_LAST_ACTIVITY) { /* the entity's labels only */
        double v = f == F_ACTIVE ? row->num : row->num / 1000.0;
        if (pre)
            expo_sample(p->e, pre, pn, v);
        else
            sample_slow(p, row, idx, 0, v);
        return;
    }
    row_key(row, &k, &kn);
    kf = key_frag(p->k, k, kn, &kn, &p->e->utf8_replaced);
    if (!pre || !kf)
        sample_slow(p, row, idx, 1, f == F_TS ? (double)row->ts / 1000.0 : row->num);
    else if (f == F_TS)
        expo_sample2_ms(p->e, pre, pn, kf, kn, row->ts); /* same text, no FP */
    else
        expo_sample2(p->e, pre, pn, kf, kn, row->num);
}

/* One pass over the store for family f of entities of one kind (-1: any). */
static void render_pass(struct pass *p, enum fam f, int kind)
{
    struct loop_shared *sh = p->r->sh;
    store_cursor cur;
    size_t n;
    pthread_mutex_lock(&sh->mu);
    store_iter_begin(&sh->st, &cur);
    pthread_mutex_unlock(&sh->mu);
    for (;;) {
        if (expo_failed(p->e))
            break; /* client gone, deadline or body limit: the rest would be discarded */
        pthread_mutex_lock(&sh->mu);
        n = store_iter(&sh->st, &cur, p->rows, RENDER_BATCH, p->strbuf, p->strcap);
        pthread_mutex_unlock(&sh->mu);
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            const store_row *row = &p->rows[i];
            int32_t idx = row_asset(p, row);
            if (idx < 0)
                continue; /* listed after this render began: in the next scrape */
            /* without devices every entity is an asset: no kind to look up per row */
            if (!row_in(row, p->a->devices ? asset_tab_kind(p->a, idx) : TB_ENTITY_ASSET, f, kind))
                continue;
            if (p->mc && f <= F_INFO && !rmap_generic(p->mc, &p->o->map, row, p->strbuf, (int)f))
                continue; /* a mapped key's own family has it (render_mapped.c) */
            sample_row(p, row, idx, f);
        }
    }
}

/* lb over buf[0..cap) holding entry idx's labels: its sealed prefix, else built. */
static void entity_labels(struct pass *p, struct expo_labels *lb, char *buf, size_t cap,
                          int32_t idx)
{
    const char *pre;
    size_t pn;
    expo_labels_init(lb, buf, cap);
    if ((pre = asset_prefix_get(&p->pre, idx, &pn)) != NULL) {
        memcpy(buf, pre, pn);
        lb->len = pn;
    } else {
        asset_tab_labels(lb, assets_get(&p->a->t, idx)->id, &p->a->t, idx);
    }
}

/* iotpro_asset_info: one sample per asset, details as extra labels (read under the
 * mutex: WebSocket details may update them). */
static void render_assets(struct pass *p)
{
    const assets_table *t = &p->a->t;
    struct loop_shared *sh = p->r->sh;
    expo_family(p->e, "iotpro_asset_info", EXPO_INFO,
                "Asset metadata: name, profile and the scalar fields of assetDetails.");
    for (uint32_t i = 0; i < t->count && !expo_failed(p->e); i++) {
        const assets_entry *a = assets_get(t, (int32_t)i);
        char lbuf[8192], names[LIM_DETAIL_LABELS][EXPO_NAME_MAX];
        struct expo_labels lb;
        uint32_t pos = 0, nn = 0;
        const char *k, *v;
        size_t kl, vl;
        if (a->kind != TB_ENTITY_ASSET)
            continue; /* devices: iotpro_device_info */
        entity_labels(p, &lb, lbuf, sizeof lbuf, (int32_t)i);
        pthread_mutex_lock(&sh->mu); /* details change under it (assets.h) */
        while (nn < LIM_DETAIL_LABELS && assets_detail_next(t, a, &pos, &k, &kl, &v, &vl)) {
            char nm[EXPO_NAME_MAX];
            int dup;
            expo_sanitize_name(nm, sizeof nm, k, kl);
            dup = !strcmp(nm, "asset_id") || !strcmp(nm, "asset") || !strcmp(nm, "profile") ||
                  !expo_label_name_valid(nm, strlen(nm));
            for (uint32_t j = 0; j < nn && !dup; j++)
                dup = !strcmp(names[j], nm);
            if (dup || !render_opts_field_wanted(p->o, nm))
                continue;
            memcpy(names[nn++], nm, sizeof nm);
            expo_labels_add(&lb, nm, v, vl);
        }
        pthread_mutex_unlock(&sh->mu);
        p->e->utf8_replaced += lb.replaced;
        if (lb.err)
            health_limit_hit(p->r->h, HEALTH_LIMIT_NAME);
        else
            expo_sample(p->e, lb.buf, lb.len, 1.0);
    }
}

/* The device families: telemetry as for assets, iotpro_device_info, connectivity.
 * Nothing (not even the headers) without devices. */
static void render_devices(struct pass *p)
{
    const assets_table *t = &p->a->t;
    struct expo *e = p->e;
    if (p->a->devices == 0)
        return;
    expo_family(e, "iotpro_device_telemetry_value", EXPO_GAUGE,
                "Latest numeric or boolean telemetry value per device and key.");
    render_pass(p, F_VALUE, TB_ENTITY_DEVICE);
    if (p->o->timestamps) {
        expo_family(e, "iotpro_device_telemetry_timestamp_seconds", EXPO_GAUGE,
                    "ThingsBoard timestamp of the latest telemetry value per device and key.");
        render_pass(p, F_TS, TB_ENTITY_DEVICE);
    }
    expo_family(e, "iotpro_device_telemetry_info", EXPO_INFO,
                "String-valued device telemetry (value label, length capped).");
    render_pass(p, F_INFO, TB_ENTITY_DEVICE);
    expo_family(e, "iotpro_device_info", EXPO_INFO, "Device metadata: name, profile and label.");
    for (uint32_t i = 0; i < t->count && !expo_failed(e); i++) {
        const assets_entry *d = assets_get(t, (int32_t)i);
        char lbuf[4096];
        struct expo_labels lb;
        if (d->kind != TB_ENTITY_DEVICE)
            continue;
        entity_labels(p, &lb, lbuf, sizeof lbuf, (int32_t)i);
        expo_labels_add(&lb, "label", assets_text(t, d->label_off), d->label_len);
        e->utf8_replaced += lb.replaced;
        if (lb.err)
            health_limit_hit(p->r->h, HEALTH_LIMIT_NAME);
        else
            expo_sample(e, lb.buf, lb.len, 1.0);
    }
    expo_family(e, "iotpro_device_active", EXPO_GAUGE,
                "1 while ThingsBoard counts the device active (its `active` server attribute), "
                "else 0.");
    render_pass(p, F_ACTIVE, TB_ENTITY_DEVICE);
    expo_family(e, "iotpro_device_last_activity_timestamp_seconds", EXPO_GAUGE,
                "The device's last activity as ThingsBoard records it (lastActivityTime).");
    render_pass(p, F_LAST_ACTIVITY, TB_ENTITY_DEVICE);
}

/* --iotpro.attribute-keys of assets and devices. Nothing while none are configured. */
static void render_attributes(struct pass *p)
{
    unsigned keys;
    pthread_mutex_lock(&p->r->sh->mu);
    keys = p->r->sh->attr_keys;
    pthread_mutex_unlock(&p->r->sh->mu);
    if (keys == 0)
        return;
    expo_family(
        p->e, "iotpro_attribute_value", EXPO_GAUGE,
        "Numeric or boolean server attribute (--iotpro.attribute-keys) per entity and key.");
    render_pass(p, F_ATTR_VALUE, -1);
    expo_family(p->e, "iotpro_attribute_info", EXPO_INFO,
                "String-valued server attribute (value label, length capped).");
    render_pass(p, F_ATTR_INFO, -1);
}

int render_telemetry(struct render *r, struct expo *e)
{
    struct pass p = { 0 };
    int rc = 0;
    p.r = r;
    p.e = e;
    p.strcap = RENDER_BATCH * (size_t)LIM_STRING_VALUE_BYTES;
    p.rows = malloc(RENDER_BATCH * sizeof *p.rows);
    p.strbuf = malloc(p.strcap);
    p.k = calloc(1, sizeof *p.k);
    if (p.k) {
        p.k->cap = (size_t)LIM_KEYS * (EXPO_ESCAPE_BOUND(LIM_KEY_BYTES) + 8);
        p.k->arena = malloc(p.k->cap);
    }
    if (!p.rows || !p.strbuf || !p.k || !p.k->arena) {
        rc = -1;
        goto out;
    }
    p.o = render_opts_acquire(&r->opts);
    if (p.o->map.n && !(p.mc = rmap_cache_new())) {
        render_opts_release(&r->opts, (struct render_opts *)p.o);
        rc = -1;
        goto out;
    }
    p.a = loop_shared_acquire(r->sh);
    asset_prefix_init(&p.pre, p.a);
    e->utf8_replaced += p.a->pre_replaced; /* the names, once per render */
    expo_family(e, "iotpro_telemetry_value", EXPO_GAUGE,
                "Latest numeric or boolean telemetry value per asset and key.");
    render_pass(&p, F_VALUE, TB_ENTITY_ASSET);
    /* --metrics.timestamps=false leaves the family out, and the device one too */
    if (p.o->timestamps) {
        expo_family(e, "iotpro_telemetry_timestamp_seconds", EXPO_GAUGE,
                    "ThingsBoard timestamp of the latest telemetry value per asset and key.");
        render_pass(&p, F_TS, TB_ENTITY_ASSET);
    }
    expo_family(e, "iotpro_telemetry_info", EXPO_INFO,
                "String-valued telemetry (value label, length capped).");
    render_pass(&p, F_INFO, TB_ENTITY_ASSET);
    render_assets(&p);
    if (p.mc) {
        const struct rmap_entity assets = { "iotpro_", p.a, asset_tab_labels, TB_ENTITY_ASSET };
        const struct rmap_pass mp = { r->sh,  r->h,         e,        &p.o->map, &assets,
                                      p.rows, RENDER_BATCH, p.strbuf, p.strcap,  &p.pre };
        render_mapped(&mp);
    }
    render_devices(&p);
    if (p.mc && p.a->devices) { /* the same for devices: iotpro_device_<name> */
        const struct rmap_entity devices = { "iotpro_device_", p.a, asset_tab_labels,
                                             TB_ENTITY_DEVICE };
        const struct rmap_pass mp = { r->sh,  r->h,         e,        &p.o->map, &devices,
                                      p.rows, RENDER_BATCH, p.strbuf, p.strcap,  &p.pre };
        render_mapped(&mp);
    }
    render_attributes(&p);
    loop_shared_release(r->sh, (struct asset_tab *)p.a);
    render_opts_release(&r->opts, (struct render_opts *)p.o);
out:
    rmap_cache_free(p.mc);
    free(p.rows);
    free(p.strbuf);
    if (p.k)
        free(p.k->arena);
    free(p.k);
    return rc;
}

int render_metrics(void *user, struct expo *e)
{
    struct render *r = user;
    struct loop_stats ls;
    store_stats ss;
    /* the loop side's and the store's counts as of one moment */
    pthread_mutex_lock(&r->sh->mu);
    ls = r->sh->snap;
    store_get_stats(&r->sh->st, &ss);
    pthread_mutex_unlock(&r->sh->mu);
    health_render(r->h, &ls, &ss, e);
    procstat_render(e);
    atomic_fetch_add_explicit(&r->sh->renders, 1, memory_order_relaxed);
    int rc = render_telemetry(r, e);
    atomic_fetch_sub_explicit(&r->sh->renders, 1, memory_order_relaxed);
    return rc;
}
