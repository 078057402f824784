/*
 * loop_details.c -- assetDetails from the WebSocket into the current asset table, by the
 * telemetry rules: the newest ts wins (core/assets.h), a deleted attribute clears the
 * labels, and a value that overtakes its subscription's data page waits for that page
 * (ThingsBoard sends through a thread pool, so updates can arrive first), as tb_feed
 * does for telemetry. Loop thread only; whatever writes the asset table (the callback,
 * replay) runs with sh->mu held, since renders read details under the same mutex.
 * Other attribute values (device connectivity, --iotpro.attribute-keys) go to the
 * store like telemetry, under their own key namespace (core/tb_feed.h); the newest ts
 * wins there too, so one that overtakes its data page is applied at once.
 */
#include "exporter/loop_ws.h"

#include <string.h>

/* Applies one assetDetails value (raw content of its JSON string) to asset `id`. */
static void apply(struct ws_client *w, const uint8_t id[16], int64_t ts, const char *raw,
                  size_t len, int has_value)
{
    assets_table *t = &w->sh->cur->t;
    tb_detail d[LIM_DETAIL_LABELS + 1]; /* one more: to tell that some were left out */
    char scratch[8192];
    int32_t idx = assets_find(t, id);
    int n;
    if (idx < 0)
        return;
    if (!has_value || (ts == 0 && len == 0)) { /* deleted, or never set */
        assets_set_details(t, idx, 0, NULL, 0);
        return;
    }
    n = tb_parse_details(raw, len, 1, scratch, sizeof scratch, d, LIM_DETAIL_LABELS + 1);
    if (n > (int)LIM_DETAIL_LABELS) {
        w->st.detail_labels_dropped++; /* the first LIM_DETAIL_LABELS are kept */
        n = LIM_DETAIL_LABELS;
    }
    if (n >= 0 && assets_set_details(t, idx, ts, d, (size_t)n) < 0)
        w->st.detail_labels_dropped++;
}

/* see loop_ws.h */
void ws_details_attr(struct ws_client *w, const tb_feed_attr *a)
{
    const tb_ws_value *v = &a->v;
    struct ws_det *p;
    if (v->type != TB_KEY_SERVER_ATTRIBUTE || v->key_len != 12 ||
        memcmp(v->key, "assetDetails", 12) != 0)
        return;
    if (!a->premature) {
        apply(w, v->entity, v->ts, v->value, v->value_len, v->value != NULL);
        return;
    }
    if (w->det_n >= WS_DET_MAX || v->value_len > sizeof p->raw) {
        w->st.details_early_dropped++;
        return;
    }
    p = &w->det[w->det_n++];
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
static void sweep(struct ws_client *w, int32_t cmd_id, int apply_them)
{
    uint32_t o = 0;
    for (uint32_t i = 0; i < w->det_n; i++) {
        struct ws_det *p = &w->det[i];
        if (cmd_id == -1 || p->cmd_id == cmd_id) {
            if (apply_them)
                apply(w, p->id, p->ts, p->raw, p->len, p->has_value);
            continue;
        }
        if (o != i)
            w->det[o] = *p;
        o++;
    }
    w->det_n = o;
}

/* see loop_ws.h */
void ws_details_replay(struct ws_client *w, int32_t cmd_id)
{
    sweep(w, cmd_id, 1);
}

/* see loop_ws.h */
void ws_details_forget(struct ws_client *w, int32_t cmd_id)
{
    sweep(w, cmd_id, 0);
}

/* see loop_ws.h */
uint32_t ws_attr_values(struct ws_client *w)
{
    const tb_feed_out *o = &w->fo;
    uint32_t n = 0;
    for (uint32_t i = 0; i < o->attr_n; i++) {
        const tb_ws_value *v = &o->attrs[i].v;
        if (v->type != TB_KEY_SERVER_ATTRIBUTE ||
            (v->key_len == 12 && memcmp(v->key, "assetDetails", 12) == 0))
            continue;
        if (tb_feed_attr_value(&o->attrs[i], w->abuf[n].key, w->abuf[n].val, sizeof w->abuf[n].val,
                               &w->avals[n]) == TB_OK)
            n++;
        else
            w->st.values_rejected++;
    }
    return n;
}
