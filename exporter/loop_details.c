/*
 * loop_details.c -- assetDetails from the WebSocket into the current asset table, by the
 * telemetry rules: the newest ts wins (core/assets.h), a deleted attribute clears the
 * labels, and a value that overtakes its subscription's data page waits for that page
 * (ThingsBoard sends through a thread pool, so updates can arrive first), as tb_feed
 * does for telemetry. Loop thread only; whatever writes the asset table (the callback,
 * replay) runs with sh->mu held, since renders read details under the same mutex.
 */
#include "exporter/loop_int.h"

#include <string.h>

/* Applies one assetDetails value (raw content of its JSON string) to asset `id`. */
static void apply(struct loop *l, const uint8_t id[16], int64_t ts, const char *raw, size_t len,
                  int has_value)
{
    assets_table *t = &l->sh->tab[l->sh->cur];
    tb_detail d[LIM_DETAIL_LABELS];
    char scratch[8192];
    int32_t idx = assets_find(t, id);
    int n;
    if (idx < 0)
        return;
    if (!has_value || (ts == 0 && len == 0)) { /* deleted, or never set */
        assets_set_details(t, idx, 0, NULL, 0);
        return;
    }
    n = tb_parse_details(raw, len, 1, scratch, sizeof scratch, d, LIM_DETAIL_LABELS);
    if (n >= 0 && assets_set_details(t, idx, ts, d, (size_t)n) < 0)
        health_limit_hit(l->h, HEALTH_LIMIT_DETAIL_LABELS);
}

/* see loop_int.h */
void loop_details_attr(struct loop *l, const tb_feed_attr *a)
{
    const tb_ws_value *v = &a->v;
    struct loop_det *p;
    if (v->type != TB_KEY_SERVER_ATTRIBUTE || v->key_len != 12 ||
        memcmp(v->key, "assetDetails", 12) != 0)
        return;
    if (!a->premature) {
        apply(l, v->entity, v->ts, v->value, v->value_len, v->value != NULL);
        return;
    }
    if (l->det_n >= LOOP_DET_MAX || v->value_len > sizeof p->raw) {
        l->det_dropped++; /* published with the feed's own drops (loop.c) */
        return;
    }
    p = &l->det[l->det_n++];
    p->cmd_id = a->cmd_id;
    memcpy(p->id, v->entity, 16);
    p->ts = v->ts;
    p->has_value = v->value != NULL;
    p->len = (uint16_t)v->value_len;
    if (v->value)
        memcpy(p->raw, v->value, v->value_len);
}

/* Takes out the entries of cmd_id (-1: all), applying them in arrival order when
 * `apply_them`; the rest keep their order. */
static void sweep(struct loop *l, int32_t cmd_id, int apply_them)
{
    uint32_t o = 0;
    for (uint32_t i = 0; i < l->det_n; i++) {
        struct loop_det *p = &l->det[i];
        if (cmd_id == -1 || p->cmd_id == cmd_id) {
            if (apply_them)
                apply(l, p->id, p->ts, p->raw, p->len, p->has_value);
            continue;
        }
        if (o != i)
            l->det[o] = *p;
        o++;
    }
    l->det_n = o;
}

/* see loop_int.h */
void loop_details_replay(struct loop *l, int32_t cmd_id) { sweep(l, cmd_id, 1); }

/* see loop_int.h */
void loop_details_forget(struct loop *l, int32_t cmd_id) { sweep(l, cmd_id, 0); }
