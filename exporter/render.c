/*
 * render.c -- the /metrics body (see render.h). The per-asset label prefix comes escaped
 * with the asset table (exporter/asset_tab.h); the key fragment is escaped once per key
 * per render; each sample is then assembled by expo_sample2 from the two fragments.
 */
#include "exporter/render.h"

#include <stdlib.h>
#include <string.h>

#include "core/tb.h"
#include "exporter/procstat.h"
#include "exporter/render_mapped.h"
#include "exporter/render_opts.h"

#define RENDER_BATCH 4096u
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
};

/* The entry of a row's asset in the table this render holds, or -1. */
static int32_t row_asset(const struct pass *p, const store_row *row)
{
    return rmap_row_entry(p->a, row);
}

/* Slow path: labels built on the fly (a prefix too long for the table's cache). */
static void sample_slow(struct pass *p, const store_row *row, int32_t idx, double v)
{
    char lbuf[4096];
    struct expo_labels lb;
    expo_labels_init(&lb, lbuf, sizeof lbuf);
    asset_tab_labels(&lb, row->id, &p->a->t, idx);
    expo_labels_add(&lb, "key", row->key, row->key_len);
    p->e->utf8_replaced += lb.replaced;
    if (lb.err) {
        health_limit_hit(p->r->h, HEALTH_LIMIT_NAME);
        return;
    }
    expo_sample(p->e, lb.buf, lb.len, v);
}

/* One pass over the store for one family. what: 0 value, 1 timestamp, 2 info. */
static void render_pass(struct pass *p, int what)
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
            const char *pre, *kf;
            size_t pn = 0, kn = 0;
            int32_t idx;
            if ((what == 0 && row->kind != STORE_KIND_NUM) ||
                (what == 2 && row->kind != STORE_KIND_STR))
                continue;
            if (p->mc && !rmap_generic(p->mc, &p->o->map, row, p->strbuf, what))
                continue; /* a mapped key's own family has it (render_mapped.c) */
            idx = row_asset(p, row);
            if (idx < 0)
                continue; /* listed after this render began: in the next scrape */
            pre = asset_tab_prefix(p->a, idx, &pn);
            kf = key_frag(p->k, row->key, row->key_len, &kn, &p->e->utf8_replaced);
            if (what == 2) {
                /* asset_id, key, value: the id label is the head of the prefix */
                char lbuf[ASSET_TAB_ID_LABEL + 1 + 3 * LIM_KEY_BYTES + 3 * LIM_STRING_VALUE_BYTES +
                          32];
                struct expo_labels lb;
                expo_labels_init(&lb, lbuf, sizeof lbuf);
                if (pre) {
                    memcpy(lbuf, pre, ASSET_TAB_ID_LABEL);
                    lb.len = ASSET_TAB_ID_LABEL;
                } else {
                    char uuid[37];
                    tb_uuid_format(row->id, uuid);
                    expo_labels_add(&lb, "asset_id", uuid, 36);
                }
                expo_labels_add(&lb, "key", row->key, row->key_len);
                expo_labels_add(&lb, "value", p->strbuf + row->str_off, row->str_len);
                p->e->utf8_replaced += lb.replaced;
                if (lb.err)
                    health_limit_hit(p->r->h, HEALTH_LIMIT_NAME);
                else
                    expo_sample(p->e, lb.buf, lb.len, 1.0);
                continue;
            }
            if (!pre || !kf)
                sample_slow(p, row, idx, what == 0 ? row->num : (double)row->ts / 1000.0);
            else if (what == 0)
                expo_sample2(p->e, pre, pn, kf, kn, row->num);
            else
                expo_sample2_ms(p->e, pre, pn, kf, kn, row->ts); /* same text, no FP */
        }
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
        const char *pre;
        size_t pn;
        expo_labels_init(&lb, lbuf, sizeof lbuf);
        if ((pre = asset_tab_prefix(p->a, (int32_t)i, &pn)) != NULL) {
            memcpy(lbuf, pre, pn);
            lb.len = pn;
        } else {
            asset_tab_labels(&lb, a->id, t, (int32_t)i);
        }
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
    e->utf8_replaced += p.a->pre_replaced; /* the names, once per render */
    expo_family(e, "iotpro_telemetry_value", EXPO_GAUGE,
                "Latest numeric or boolean telemetry value per asset and key.");
    render_pass(&p, 0);
    /* --metrics.timestamps=false leaves the family out; the device family
     * (iotpro_device_telemetry_timestamp_seconds) follows the same switch, p.o->timestamps */
    if (p.o->timestamps) {
        expo_family(e, "iotpro_telemetry_timestamp_seconds", EXPO_GAUGE,
                    "ThingsBoard timestamp of the latest telemetry value per asset and key.");
        render_pass(&p, 1);
    }
    expo_family(e, "iotpro_telemetry_info", EXPO_INFO,
                "String-valued telemetry (value label, length capped).");
    render_pass(&p, 2);
    render_assets(&p);
    if (p.mc) {
        /* devices: the same with { "iotpro_device_", <device listing>, <its labels> } */
        const struct rmap_entity assets = { "iotpro_", p.a, asset_tab_labels };
        const struct rmap_pass mp = { r->sh,  r->h,         e,        &p.o->map, &assets,
                                      p.rows, RENDER_BATCH, p.strbuf, p.strcap };
        render_mapped(&mp);
    }
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
    return render_telemetry(r, e);
}
