/*
 * render.c -- the /metrics body (see render.h). The per-asset label prefix is escaped
 * once per asset table generation and kept in a cache; the key fragment once per key
 * per render; each sample is then assembled by expo_sample2 from two cached fragments.
 */
#include "exporter/render.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/tb.h"
#include "exporter/procstat.h"

#define RENDER_BATCH 4096u
#define KEY_SLOTS    (4u * LIM_KEYS) /* power of two, > 2 x LIM_KEYS */
/* asset_id="<36>" is the first 47 bytes of every cached prefix */
#define ID_LABEL_LEN 47u

/* Escaped `asset_id="…",asset="…",profile="…"` of every asset of one table. */
struct prefix_cache {
    pthread_rwlock_t mu;    /* read: a render uses it; write: (re)build */
    const assets_table *t;  /* built for this table... */
    uint64_t gen;           /* ...at this generation */
    int valid;
    uint32_t n;
    uint32_t *off, *len;
    char *arena;
};

struct render {
    struct loop_shared *sh;
    struct health *h;
    struct prefix_cache pc[2];
    uint64_t builds;        /* cache builds (written under a write lock; a figure) */
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
    if (!r)
        return NULL;
    r->sh = sh;
    r->h = h;
    for (int i = 0; i < 2; i++)
        pthread_rwlock_init(&r->pc[i].mu, NULL);
    return r;
}

static void cache_free(struct prefix_cache *c)
{
    free(c->off);
    free(c->len);
    free(c->arena);
    c->off = c->len = NULL;
    c->arena = NULL;
    c->valid = 0;
    c->n = 0;
}

void render_destroy(struct render *r)
{
    if (!r)
        return;
    for (int i = 0; i < 2; i++) {
        cache_free(&r->pc[i]);
        pthread_rwlock_destroy(&r->pc[i].mu);
    }
    free(r);
}

uint64_t render_cache_builds(const struct render *r) { return r->builds; }

/* asset_id, asset and profile labels of entry idx of t (t NULL or idx out of range:
 * empty names). */
static void asset_labels(struct expo_labels *lb, const uint8_t id[16], const assets_table *t,
                         int32_t idx)
{
    char uuid[37];
    tb_uuid_format(id, uuid);
    expo_labels_add(lb, "asset_id", uuid, 36);
    if (t && idx >= 0 && (uint32_t)idx < t->count) {
        const assets_entry *e = assets_get(t, idx);
        expo_labels_add(lb, "asset", assets_text(t, e->name_off), e->name_len);
        expo_labels_add(lb, "profile", assets_text(t, e->type_off), e->type_len);
    } else {
        expo_labels_add(lb, "asset", "", 0);
        expo_labels_add(lb, "profile", "", 0);
    }
}

/* (Re)builds c for t. Called with c->mu write-locked. 0, or -1 out of memory. */
static int cache_build(struct render *r, struct prefix_cache *c, const assets_table *t)
{
    size_t cap = 0, pos = 0;
    cache_free(c);
    for (uint32_t i = 0; i < t->count; i++) {
        const assets_entry *a = assets_get(t, (int32_t)i);
        cap += ID_LABEL_LEN + 32 + EXPO_ESCAPE_BOUND((size_t)a->name_len + a->type_len);
    }
    if (cap >= UINT32_MAX)
        return -1;
    c->off = malloc((t->count + 1) * sizeof *c->off);
    c->len = malloc((t->count + 1) * sizeof *c->len);
    c->arena = malloc(cap + 1);
    if (!c->off || !c->len || !c->arena) {
        cache_free(c);
        return -1;
    }
    for (uint32_t i = 0; i < t->count; i++) {
        struct expo_labels lb;
        expo_labels_init(&lb, c->arena + pos, cap - pos);
        asset_labels(&lb, assets_get(t, (int32_t)i)->id, t, (int32_t)i);
        c->off[i] = (uint32_t)pos;
        c->len[i] = lb.err ? 0 : (uint32_t)lb.len; /* 0: rendered by the slow path */
        pos += lb.err ? 0 : lb.len;
    }
    c->t = t;
    c->gen = t->generation;
    c->n = t->count;
    c->valid = 1;
    r->builds++;
    return 0;
}

static int cache_fresh(const struct prefix_cache *c, const assets_table *t)
{
    return c->valid && c->t == t && c->gen == t->generation && c->n == t->count;
}

/* Read-locks and returns the cache for pinned table t, up to date; NULL when it
 * cannot be built (then the slow path renders everything). Release with cache_put. */
static struct prefix_cache *cache_get(struct render *r, const assets_table *t)
{
    struct prefix_cache *c = &r->pc[t == &r->sh->tab[1]];
    for (;;) {
        int ok;
        pthread_rwlock_rdlock(&c->mu);
        if (cache_fresh(c, t))
            return c;
        pthread_rwlock_unlock(&c->mu);
        pthread_rwlock_wrlock(&c->mu);
        ok = cache_fresh(c, t) || cache_build(r, c, t) == 0;
        pthread_rwlock_unlock(&c->mu);
        if (!ok)
            return NULL;
    }
}

static void cache_put(struct prefix_cache *c)
{
    if (c)
        pthread_rwlock_unlock(&c->mu);
}

/* The escaped key="…" fragment of a store key name; NULL when it cannot be made. */
static const char *key_frag(struct key_cache *k, const char *key, size_t klen, size_t *n)
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
    const assets_table *t;     /* pinned */
    struct prefix_cache *c;    /* locked cache of t, or NULL */
    struct key_cache *k;
    store_row *rows;
    char *strbuf;
    size_t strcap;
};

/* Slow path: labels built on the fly (rows of another table, or no cache). */
static void sample_slow(struct pass *p, const store_row *row, double v)
{
    char lbuf[4096];
    struct expo_labels lb;
    expo_labels_init(&lb, lbuf, sizeof lbuf);
    asset_labels(&lb, row->id, row->assets, row->asset);
    expo_labels_add(&lb, "key", row->key, row->key_len);
    if (lb.err) {
        health_limit_hit(p->r->h, HEALTH_LIMIT_NAME);
        return;
    }
    expo_sample(p->e, lb.buf, lb.len, v);
}

/* The cached prefix of a row, or NULL for the slow path. */
static const char *row_prefix(const struct pass *p, const store_row *row, size_t *n)
{
    const struct prefix_cache *c = p->c;
    if (!c || row->assets != p->t || row->asset < 0 || (uint32_t)row->asset >= c->n ||
        c->len[row->asset] == 0)
        return NULL;
    *n = c->len[row->asset];
    return c->arena + c->off[row->asset];
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
            if ((what == 0 && row->kind != STORE_KIND_NUM) ||
                (what == 2 && row->kind != STORE_KIND_STR))
                continue;
            pre = row_prefix(p, row, &pn);
            kf = key_frag(p->k, row->key, row->key_len, &kn);
            if (what == 2) {
                /* asset_id, key, value: the id label is the head of the prefix */
                char lbuf[ID_LABEL_LEN + 1 + 3 * LIM_KEY_BYTES + 3 * LIM_STRING_VALUE_BYTES + 32];
                struct expo_labels lb;
                expo_labels_init(&lb, lbuf, sizeof lbuf);
                if (pre) {
                    memcpy(lbuf, pre, ID_LABEL_LEN);
                    lb.len = ID_LABEL_LEN;
                } else {
                    char uuid[37];
                    tb_uuid_format(row->id, uuid);
                    expo_labels_add(&lb, "asset_id", uuid, 36);
                }
                expo_labels_add(&lb, "key", row->key, row->key_len);
                expo_labels_add(&lb, "value", p->strbuf + row->str_off, row->str_len);
                if (lb.err)
                    health_limit_hit(p->r->h, HEALTH_LIMIT_NAME);
                else
                    expo_sample(p->e, lb.buf, lb.len, 1.0);
                continue;
            }
            if (!pre || !kf)
                sample_slow(p, row, what == 0 ? row->num : (double)row->ts / 1000.0);
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
    const assets_table *t = p->t;
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
        expo_labels_init(&lb, lbuf, sizeof lbuf);
        if (p->c && i < p->c->n && p->c->len[i]) {
            memcpy(lbuf, p->c->arena + p->c->off[i], p->c->len[i]);
            lb.len = p->c->len[i];
        } else {
            asset_labels(&lb, a->id, t, (int32_t)i);
        }
        pthread_mutex_lock(&sh->mu); /* details change under it (assets.h) */
        if (a->n_details == 0) {
            pthread_mutex_unlock(&sh->mu);
            if (!lb.err)
                expo_sample(p->e, lb.buf, lb.len, 1.0);
            continue;
        }
        while (nn < LIM_DETAIL_LABELS && assets_detail_next(t, a, &pos, &k, &kl, &v, &vl)) {
            char nm[EXPO_NAME_MAX];
            int dup;
            expo_sanitize_name(nm, sizeof nm, k, kl);
            dup = !strcmp(nm, "asset_id") || !strcmp(nm, "asset") || !strcmp(nm, "profile") ||
                  !expo_label_name_valid(nm, strlen(nm));
            for (uint32_t j = 0; j < nn && !dup; j++)
                dup = !strcmp(names[j], nm);
            if (dup)
                continue;
            memcpy(names[nn++], nm, sizeof nm);
            expo_labels_add(&lb, nm, v, vl);
        }
        pthread_mutex_unlock(&sh->mu);
        if (!lb.err)
            expo_sample(p->e, lb.buf, lb.len, 1.0);
    }
}

int render_telemetry(struct render *r, struct expo *e)
{
    struct pass p = {0};
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
    p.t = loop_shared_acquire(r->sh);
    p.c = cache_get(r, p.t);
    expo_family(e, "iotpro_telemetry_value", EXPO_GAUGE,
                "Latest numeric or boolean telemetry value per asset and key.");
    render_pass(&p, 0);
    expo_family(e, "iotpro_telemetry_timestamp_seconds", EXPO_GAUGE,
                "ThingsBoard timestamp of the latest telemetry value per asset and key.");
    render_pass(&p, 1);
    expo_family(e, "iotpro_telemetry_info", EXPO_INFO,
                "String-valued telemetry (value label, length capped).");
    render_pass(&p, 2);
    render_assets(&p);
    cache_put(p.c);
    loop_shared_release(r->sh, p.t);
out:
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
    store_stats ss;
    pthread_mutex_lock(&r->sh->mu);
    store_get_stats(&r->sh->st, &ss);
    pthread_mutex_unlock(&r->sh->mu);
    health_set(r->h, HEALTH_G_SERIES, ss.series);
    /* the store counts what it refused; copies taken with the snapshot above */
    health_counter_set(r->h, HEALTH_C_SERIES_DROPPED, ss.dropped_series);
    health_limit_set(r->h, HEALTH_LIMIT_SERIES, ss.dropped_series);
    health_limit_set(r->h, HEALTH_LIMIT_KEYS, ss.dropped_keys);
    health_limit_set(r->h, HEALTH_LIMIT_STRING_VALUE, ss.dropped_strings + ss.strings_cut);
    health_render(r->h, e);
    procstat_render(e);
    return render_telemetry(r, e);
}
