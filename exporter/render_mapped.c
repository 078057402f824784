/*
 * render_mapped.c -- mapped telemetry families (render_mapped.h).
 */
#include "exporter/render_mapped.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RMAP_SLOTS (4u * LIM_KEYS) /* power of two, > 2 x LIM_KEYS */

struct rmap_cache {
    const char *ptr[RMAP_SLOTS];
    int16_t idx[RMAP_SLOTS];
};

struct rmap_cache *rmap_cache_new(void)
{
    return calloc(1, sizeof(struct rmap_cache));
}

void rmap_cache_free(struct rmap_cache *c)
{
    free(c);
}

/* Mapping entry of a store key (its name pointer is stable), or -1. */
static int rmap_entry(struct rmap_cache *c, const struct mapping *m, const char *key, size_t klen)
{
    uintptr_t hv = (uintptr_t)key;
    uint32_t i = (uint32_t)((hv >> 3) ^ (hv >> 13)) & (RMAP_SLOTS - 1);
    while (c->ptr[i] && c->ptr[i] != key)
        i = (i + 1) & (RMAP_SLOTS - 1);
    if (!c->ptr[i]) {
        c->ptr[i] = key;
        c->idx[i] = (int16_t)mapping_find(m, key, klen);
    }
    return c->idx[i];
}

/* The number a row of entry i exports in its family: 1 and *v, or 0 (a string that
 * stays in iotpro_telemetry_info). */
static int rmap_value(const struct mapping *m, int i, const store_row *row, const char *strbuf,
                      double *v)
{
    if (row->kind == STORE_KIND_NUM) {
        *v = mapping_scale(m, i, row->num);
        return 1;
    }
    return mapping_string_value(m, i, strbuf + row->str_off, row->str_len, v);
}

int rmap_generic(struct rmap_cache *c, const struct mapping *m, const store_row *row,
                 const char *strbuf, int what)
{
    double v;
    int i = rmap_entry(c, m, row->key, row->key_len);
    if (i < 0)
        return 1;
    return what == 2 && row->kind == STORE_KIND_STR && !rmap_value(m, i, row, strbuf, &v);
}

static void rmap_sample(const struct rmap_pass *p, const store_row *row, int32_t idx, double v)
{
    size_t pn;
    const char *pre = asset_prefix_get(p->pre, idx, &pn);
    if (pre) {
        expo_sample(p->e, pre, pn, v);
        return;
    }
    char lbuf[4096];
    struct expo_labels lb;
    expo_labels_init(&lb, lbuf, sizeof lbuf);
    p->ent->labels(&lb, row->id, &p->ent->tab->t, idx);
    p->e->utf8_replaced += lb.replaced;
    if (lb.err)
        health_limit_hit(p->h, HEALTH_LIMIT_NAME);
    else
        expo_sample(p->e, lb.buf, lb.len, v);
}

/* One family: the rows of entry i's key. */
static void rmap_family(const struct rmap_pass *p, int i)
{
    const struct mapping *m = p->m;
    const struct mapping_key *k = &m->k[i];
    struct loop_shared *sh = p->sh;
    char name[EXPO_NAME_MAX];
    store_cursor cur;
    int kid;
    snprintf(name, sizeof name, "%s%s", p->ent->prefix, mapping_str(m, k->name_off));
    expo_family(p->e, name, k->type == MAPPING_COUNTER ? EXPO_COUNTER : EXPO_GAUGE,
                mapping_str(m, k->help_off));
    pthread_mutex_lock(&sh->mu);
    kid = store_key_find(&sh->st, mapping_str(m, k->key_off), k->key_len);
    store_iter_begin(&sh->st, &cur);
    pthread_mutex_unlock(&sh->mu);
    while (kid >= 0 && !expo_failed(p->e)) {
        size_t n;
        pthread_mutex_lock(&sh->mu);
        n = store_iter_key(&sh->st, &cur, kid, p->rows, p->nrows, p->strbuf, p->strcap);
        pthread_mutex_unlock(&sh->mu);
        if (n == 0)
            break;
        for (size_t r = 0; r < n; r++) {
            const store_row *row = &p->rows[r];
            int32_t idx = rmap_row_entry(p->ent->tab, row);
            double v;
            if (idx < 0 || asset_tab_kind(p->ent->tab, idx) != p->ent->kind ||
                !rmap_value(m, i, row, p->strbuf, &v))
                continue; /* listed after the render began, the other kind's; or a string
                             for _info */
            rmap_sample(p, row, idx, v);
        }
    }
}

void render_mapped(const struct rmap_pass *p)
{
    for (int i = 0; i < p->m->n && !expo_failed(p->e); i++)
        rmap_family(p, i);
}
