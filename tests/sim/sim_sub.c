/*
 * sim_sub.c -- ENTITY_DATA subscriptions: the initial `data` page, one-entity `update`
 * messages with only the changed keys, dynamic page links, and the steady generator.
 *
 * Shapes follow EntityDataUpdate as the reference document gives it: every field present
 * (nulls written), PE's readAttrs/readTs on each EntityData, missing keys as
 * {"ts":0,"value":""}, values always strings, ENTITY_FIELD ts = now. The page renders
 * numbers in SQL-cast form, updates in Java Double.toString form.
 *
 * Every message goes through sim_ws_text (update limiter, session queue). Under the
 * subscription limit (sim_limit.c) only part of a page may be live, and a command
 * that hit the limit never gets its data page while its live part gets updates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

void sim_sub_free(sim_sub *sub)
{
    free(sub->list);
    free(sub->ents);
    free(sub->sorted);
    memset(sub, 0, sizeof *sub);
}

int sim_sub_covers(const sim_sub *sub, uint32_t idx)
{
    return sub->active && sub->sorted &&
           bsearch(&idx, sub->sorted, sub->nlive, sizeof idx, cmp_u32) != NULL;
}

static void entity_id(sim_buf *b, uint32_t idx)
{
    char id[37];
    sim_asset_id(idx, id);
    sim_buf_printf(b,
                   "{\"entityId\":{\"entityType\":\"%s\",\"id\":\"%s\"},"
                   "\"readAttrs\":true,\"readTs\":true,\"latest\":{",
                   sim_entity_type(idx), id);
}

static void tsvalue(sim_buf *b, const char *key, int64_t ts, const char *v, size_t vl)
{
    sim_buf_json_str(b, key, strlen(key));
    sim_buf_printf(b, ":{\"ts\":%lld,\"value\":", (long long)ts);
    sim_buf_json_str(b, v, vl);
    sim_buf_put(b, "}", 1);
}

static void entity_field(sim_buf *b, uint32_t idx, const char *name, int64_t now)
{
    char v[SIM_TEXT_MAX];
    size_t n;
    if (!strcmp(name, "name"))
        n = sim_asset_name(idx, v, sizeof v);
    else if (!strcmp(name, "type"))
        n = (size_t)snprintf(v, sizeof v, "%s", sim_asset_type(idx));
    else if (!strcmp(name, "label")) {
        sim_asset_label(idx, v, sizeof v);
        n = strlen(v);
    } else if (!strcmp(name, "createdTime"))
        n = (size_t)snprintf(v, sizeof v, "%lld", (long long)sim_asset_created(idx));
    else
        n = 0, v[0] = 0;
    tsvalue(b, name, now, v, n);
}

static const char *ktype_name(sim_ktype t)
{
    switch (t) {
    case SIM_KT_TIME_SERIES: return "TIME_SERIES";
    case SIM_KT_SERVER_ATTRIBUTE: return "SERVER_ATTRIBUTE";
    case SIM_KT_ATTRIBUTE: return "ATTRIBUTE";
    case SIM_KT_ENTITY_FIELD: return "ENTITY_FIELD";
    default: return NULL;
    }
}

/* One EntityData of the page: all requested keys, grouped by key type. Returns the
 * TIME_SERIES values with a ts it holds (values_sent). */
static unsigned page_entity(sim_buf *b, const sim_sub *sub, uint32_t idx, int64_t now, sim_buf *v)
{
    unsigned values = 0;
    entity_id(b, idx);
    int first_type = 1;
    for (int t = SIM_KT_TIME_SERIES; t <= SIM_KT_ENTITY_FIELD; t++) {
        int first = 1;
        int nf = t == SIM_KT_ENTITY_FIELD ? sub->nfields : 0;
        for (int i = 0; i < nf + sub->nkeys; i++) {
            const sim_qkey *k = i < nf ? &sub->fields[i] : &sub->keys[i - nf];
            if ((int)k->type != t)
                continue;
            if (first) {
                sim_buf_printf(b, "%s\"%s\":{", first_type ? "" : ",", ktype_name(k->type));
                first = first_type = 0;
            } else {
                sim_buf_put(b, ",", 1);
            }
            if (t == SIM_KT_ENTITY_FIELD) {
                entity_field(b, idx, k->name, now);
                continue;
            }
            int64_t ts = 0;
            v->len = 0;
            if (k->slot >= 0)
                sim_value(idx, k->slot, SIM_FMT_PAGE, &ts, v);
            tsvalue(b, k->name, ts, v->p ? v->p : "", v->len);
            values += t == SIM_KT_TIME_SERIES && ts != 0;
        }
        if (!first)
            sim_buf_put(b, "}", 1);
    }
    sim_buf_puts(b, "},\"timeseries\":{},\"aggLatest\":{}}");
    return values;
}

/* The whole data page, with the values as they are now; returns its values. */
static unsigned render_page(sim_buf *b, const sim_sub *sub, uint64_t total)
{
    unsigned values = 0;
    sim_buf v = { 0 };
    int64_t now = sim_now_ms();
    sim_buf_reserve(b, 256 + sub->nents * 400);
    sim_buf_printf(b, "{\"cmdId\":%d,\"errorCode\":0,\"errorMsg\":null,\"data\":{\"data\":[",
                   sub->cmd_id);
    for (size_t i = 0; i < sub->nents; i++) {
        if (i)
            sim_buf_put(b, ",", 1);
        values += page_entity(b, sub, sub->ents[i], now, &v);
    }
    uint64_t pages = (total + (uint64_t)sub->page_size - 1) / (uint64_t)sub->page_size;
    sim_buf_printf(b,
                   "],\"totalPages\":%llu,\"totalElements\":%llu,\"hasNext\":%s},"
                   "\"update\":null,\"allowedEntities\":10000,\"cmdUpdateType\":\"ENTITY_DATA\"}",
                   (unsigned long long)pages, (unsigned long long)total,
                   (uint64_t)sub->page + 1 < pages ? "true" : "false");
    sim_buf_free(&v);
    return values;
}

static void send_page(sim_session *s, sim_sub *sub, uint64_t total, int initial)
{
    sim_buf b = { 0 };
    unsigned values = render_page(&b, sub, total);
    if (initial)
        sim_reorder_premature(s, sub); /* saved after the query, pushed before the page */
    /* a page the update limiter refused counts as sent: ThingsBoard thinks it was */
    sub->data_sent = sim_ws_values(s, SIM_MSG_DATA, sub->cmd_id, b.p, b.len, values) == 1 ? 2 : 1;
    sim_buf_free(&b);
    if (initial)
        sim_reorder_missed(s, sub);
}

/* Runs the query; returns 1 if the entity set changed. */
static int select_page(sim_sub *sub, uint64_t *total)
{
    sim_filter f = { 0 };
    f.types = (const char(*)[64])sub->types;
    f.ntypes = sub->filter == 2 ? sub->ntypes : 0;
    f.text = sub->text;
    f.name_like = sub->name_like;
    f.list = sub->filter == 1 ? sub->list : NULL;
    f.nlist = sub->nlist;
    f.desc = sub->desc;
    f.devices = sub->devices;
    uint32_t count = sub->devices ? sim_device_count() : sim_model_count();
    size_t cap = (size_t)sub->page_size < count ? (size_t)sub->page_size : count;
    uint32_t *ents = malloc((cap ? cap : 1) * sizeof *ents);
    size_t n = sim_select(&f, (uint32_t)sub->page, (uint32_t)cap, ents, total);
    int changed = n != sub->nents || !sub->ents || memcmp(ents, sub->ents, n * sizeof *ents) != 0;
    if (!changed) {
        free(ents);
        return 0;
    }
    free(sub->ents);
    free(sub->sorted);
    sub->ents = ents;
    sub->nents = n;
    sub->sorted = malloc((n ? n : 1) * sizeof *ents);
    memcpy(sub->sorted, ents, n * sizeof *ents);
    qsort(sub->sorted, n, sizeof *ents, cmp_u32);
    sub->nlive = n;
    sub->cut_idx = UINT32_MAX;
    sub->cut_types = 0;
    return 1;
}

void sim_sub_run(sim_session *s, sim_sub *sub)
{
    uint64_t total;
    select_page(sub, &total);
    sub->next_refresh = sim_mono_ms() + sim.dynamic_ms;
    /* A repeated cmdId whose page went out gets none (SQL back-end); one that never
     * had its page (subscription limit) gets it now if the limit lets it through. */
    if (sim_sublim_subscribe(s, sub) == 0 && !sub->data_sent)
        send_page(s, sub, total, 1);
    if (sim.flood)
        sim_flood_build(s, sub);
}

void sim_sub_dynamic(sim_session *s, sim_sub *sub, int64_t mono)
{
    if (mono < sub->next_refresh)
        return;
    sub->next_refresh = mono + sim.dynamic_ms;
    uint64_t total;
    /* the entity set changed: subscribe again (ours: the whole page takes tokens) and
     * send a full data page */
    if (select_page(sub, &total) && sim_sublim_subscribe(s, sub) == 0)
        send_page(s, sub, total, 0);
}

/* Sends one update for (idx, slots) to sub: only keys it subscribed, one key type. */
static void send_update(sim_session *s, sim_sub *sub, uint32_t idx, const int *slots, int nslots,
                        sim_buf *b, sim_buf *v)
{
    /* one key type per message: attribute slots come alone (sim_fanout's callers) */
    int det = nslots == 1 && SIM_SLOT_IS_ATTR(slots[0]);
    int any = 0;
    unsigned values = 0;
    b->len = 0;
    if (idx == sub->cut_idx) {
        /* the entity where the subscription limit stopped: only its first key types */
        int live = 0;
        for (int t = 0; t < sub->cut_types; t++)
            live |= det ? sub->kt[t] != SIM_KT_TIME_SERIES : sub->kt[t] == SIM_KT_TIME_SERIES;
        if (!live)
            return;
    }
    for (int i = 0; i < nslots; i++)
        for (int k = 0; k < sub->nkeys; k++) {
            const sim_qkey *q = &sub->keys[k];
            if (q->slot != slots[i] ||
                (det ? q->type == SIM_KT_TIME_SERIES : q->type != SIM_KT_TIME_SERIES))
                continue;
            if (!any) {
                sim_buf_printf(b,
                               "{\"cmdId\":%d,\"errorCode\":0,\"errorMsg\":null,\"data\":null,"
                               "\"update\":[",
                               sub->cmd_id);
                entity_id(b, idx);
                sim_buf_printf(b, "\"%s\":{", ktype_name(q->type));
            } else {
                sim_buf_put(b, ",", 1);
            }
            any = 1;
            int64_t ts;
            v->len = 0;
            sim_value(idx, slots[i], SIM_FMT_UPDATE, &ts, v);
            tsvalue(b, q->name, ts, v->p ? v->p : "", v->len);
            values += q->type == SIM_KT_TIME_SERIES && ts != 0;
            break;
        }
    if (!any)
        return;
    sim_buf_puts(b, "}},\"timeseries\":null,\"aggLatest\":null}],\"allowedEntities\":10000,"
                    "\"cmdUpdateType\":\"ENTITY_DATA\"}");
    sim_msg_kind kind = det ? SIM_MSG_ATTR_UPDATE : SIM_MSG_UPDATE;
    if (!sim_reorder_hold(s, kind, sub->cmd_id, b->p, b->len, values))
        sim_ws_values(s, kind, sub->cmd_id, b->p, b->len, values);
}

void sim_fanout(uint32_t idx, const int *slots, int nslots)
{
    sim_buf b = { 0 }, v = { 0 };
    for (sim_session *s = sim.sessions; s; s = s->next) {
        if (s->st != SIM_WS_READY || s->flood || s->conn->stalled)
            continue;
        for (int i = 0; i < s->subs_hw; i++)
            if (s->subs[i].active && sim_sub_covers(&s->subs[i], idx))
                send_update(s, &s->subs[i], idx, slots, nslots, &b, &v);
    }
    sim_buf_free(&b);
    sim_buf_free(&v);
}

static uint64_t rng_state = 0x1234567;
static uint64_t rnd(void)
{
    rng_state = sim_hash(rng_state, 0x51);
    return rng_state;
}

/* see sim.h */
int sim_sub_ts_slots(const sim_sub *sub, uint32_t idx, int *cand)
{
    int nc = 0;
    for (int k = 0; k < sub->nkeys; k++)
        if (sub->keys[k].type == SIM_KT_TIME_SERIES && sub->keys[k].slot >= 0 &&
            sim_has_key(idx, sub->keys[k].slot))
            cand[nc++] = sub->keys[k].slot;
    return nc;
}

void sim_gen_tick(unsigned n)
{
    /* live subscriptions with entities, to pick from */
    sim_sub *live[256];
    int nlive = 0;
    for (sim_session *s = sim.sessions; s && nlive < 256; s = s->next) {
        if (s->st != SIM_WS_READY || s->flood)
            continue;
        for (int i = 0; i < s->subs_hw && nlive < 256; i++)
            if (s->subs[i].active && s->subs[i].nlive)
                live[nlive++] = &s->subs[i];
    }
    if (!nlive)
        return;
    for (unsigned u = 0; u < n; u++) {
        sim_sub *sub = live[rnd() % (uint64_t)nlive];
        /* page order while the whole page is live, else among the live entities */
        uint32_t idx = sub->nlive == sub->nents ? sub->ents[rnd() % sub->nents]
                                                : sub->sorted[rnd() % sub->nlive];
        if (!sim_asset_exists(idx) || sim_quiet(idx))
            continue;
        int cand[SIM_MAX_QKEYS], nc = sim_sub_ts_slots(sub, idx, cand);
        if (!nc)
            continue;
        /* one or two keys saved together, as a device message would */
        int slots[2], ns = 1 + (nc > 1 && rnd() % 3 == 0);
        slots[0] = cand[rnd() % (uint64_t)nc];
        if (ns == 2) {
            slots[1] = cand[rnd() % (uint64_t)nc];
            if (slots[1] == slots[0])
                ns = 1;
        }
        int64_t ts = 0;
        for (int i = 0; i < ns; i++)
            ts = sim_bump(idx, slots[i]);
        sim_gen_running = 1;
        sim_fanout(idx, slots, ns);
        sim_device_reported(idx, ts);
        sim_gen_running = 0;
    }
}
