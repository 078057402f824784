/*
 * sim_limit.c -- ThingsBoard's two WebSocket rate limits.
 *
 * Specs are "N:S[,N:S...]": each N:S is a bucket of capacity N over S seconds, and a
 * message (or subscription) passes only if every bucket has a token. A bare "N" is
 * read as "N:1".
 *
 * Update limiter (tenant profile wsUpdatesPerSessionRateLimit), one per session. Its
 * buckets refill INTERVALLY: all N tokens come back at once every S seconds, counted
 * from the first message the session sent, not bit by bit. It gates every text message
 * of the session (sim_ws.c decides what happens to a refused one).
 *
 * Subscription limiter (server.ws.rate_limits.subscriptions_per_tenant / _per_user):
 * one for the simulator's single tenant and user. Its buckets refill GREEDILY (N
 * tokens per S seconds, continuously). An ENTITY_DATA command with latestCmd creates
 * one subscription per entity per key type (time series, and each attribute scope
 * asked for); every one takes a token. When the bucket is empty, creation stops for
 * the rest of the command: the subscriptions made so far stay live, the client gets
 * one error reply (at most once per 15 s per session and message) that names an
 * internal subscription number rather than the cmdId, and no data page is ever sent
 * for that command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

#define SUBLIM_REPLY_EVERY_MS 15000

int sim_limit_parse(const char *spec, sim_bucket *out)
{
    int n = 0;
    const char *p = spec;
    if (!p || !*p)
        return -1;
    for (;;) {
        char *end;
        long cap = strtol(p, &end, 10);
        double secs = 1;
        if (end == p || cap <= 0)
            return -1;
        p = end;
        if (*p == ':') {
            secs = strtod(p + 1, &end);
            if (end == p + 1 || secs <= 0)
                return -1;
            p = end;
        }
        if (n == SIM_MAX_BUCKETS)
            return -1;
        out[n].n = cap;
        out[n].ms = (int64_t)(secs * 1000.0 + 0.5);
        if (out[n].ms < 1)
            out[n].ms = 1;
        n++;
        if (*p == 0)
            return n;
        if (*p != ',')
            return -1;
        p++;
    }
}

void sim_limit_spec_str(const sim_bucket *b, int n, char *out, size_t cap)
{
    size_t at = 0;
    out[0] = 0;
    if (!n)
        snprintf(out, cap, "off");
    for (int i = 0; i < n && at < cap; i++)
        at += (size_t)snprintf(out + at, cap - at, "%s%ld:%g", i ? "," : "", b[i].n,
                               (double)b[i].ms / 1000.0);
}

int sim_updlim_pass(sim_session *s)
{
    if (!sim.upd_nspec)
        return 1;
    int64_t now = sim_mono_ms();
    if (s->upd_gen != sim.upd_gen) {
        /* first message under this spec: full buckets, periods start now */
        s->upd_gen = sim.upd_gen;
        for (int i = 0; i < sim.upd_nspec; i++) {
            s->upd_tokens[i] = sim.upd_spec[i].n;
            s->upd_t0[i] = now;
        }
    }
    int ok = 1;
    for (int i = 0; i < sim.upd_nspec; i++) {
        int64_t periods = (now - s->upd_t0[i]) / sim.upd_spec[i].ms;
        if (periods > 0) {
            s->upd_tokens[i] = sim.upd_spec[i].n;
            s->upd_t0[i] += periods * sim.upd_spec[i].ms;
        }
        ok &= s->upd_tokens[i] >= 1;
    }
    if (ok)
        for (int i = 0; i < sim.upd_nspec; i++)
            s->upd_tokens[i]--;
    return ok;
}

int sim_sublim_take(void)
{
    if (!sim.sub_nspec)
        return 1;
    int64_t now = sim_mono_ms();
    int ok = 1;
    for (int i = 0; i < sim.sub_nspec; i++) {
        const sim_bucket *b = &sim.sub_spec[i];
        sim.sub_tokens[i] += (double)(now - sim.sub_last) * (double)b->n / (double)b->ms;
        if (sim.sub_tokens[i] > (double)b->n)
            sim.sub_tokens[i] = (double)b->n;
        ok &= sim.sub_tokens[i] >= 1;
    }
    sim.sub_last = now;
    if (ok)
        for (int i = 0; i < sim.sub_nspec; i++)
            sim.sub_tokens[i] -= 1;
    return ok;
}

static void limit_reply(sim_session *s, int sub_no)
{
    int scope = sim.sub_scope_user;
    int64_t now = sim_mono_ms();
    if (s->sublim_reply_at[scope] && now - s->sublim_reply_at[scope] < SUBLIM_REPLY_EVERY_MS)
        return;
    s->sublim_reply_at[scope] = now;
    sim_buf b = { 0 };
    sim_buf_printf(&b,
                   "{\"subscriptionId\":%d,\"errorCode\":2,\"errorMsg\":\"Exceeded rate "
                   "limit for WS subscriptions per %s\",\"data\":null,\"latestValues\":{}}",
                   sub_no, scope ? "user" : "tenant");
    if (sim_ws_text(s, SIM_MSG_REPLY, sub_no, b.p, b.len) == 0)
        sim.st.sub_limit_replies++;
    sim_buf_free(&b);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int sim_sublim_subscribe(sim_session *s, sim_sub *sub)
{
    /* key types that take a subscription, in the order we create them */
    static const sim_ktype order[3] = { SIM_KT_TIME_SERIES, SIM_KT_SERVER_ATTRIBUTE,
                                        SIM_KT_ATTRIBUTE };
    sub->nkt = 0;
    for (int t = 0; t < 3; t++)
        for (int k = 0; k < sub->nkeys; k++)
            if (sub->keys[k].type == order[t]) {
                sub->kt[sub->nkt++] = order[t];
                break;
            }
    sub->nlive = sub->nents;
    sub->cut_idx = UINT32_MAX;
    sub->cut_types = 0;
    if (!sim.sub_nspec) {
        s->sub_no += (int)(sub->nents * (size_t)sub->nkt); /* numbers are taken all the same */
        return 0;
    }
    for (size_t i = 0; i < sub->nents; i++)
        for (int t = 0; t < sub->nkt; t++) {
            int no = s->sub_no++;
            if (sim_sublim_take())
                continue;
            /* stopped at entity i, type t: entities before i are live, and i itself
             * for its first t key types */
            if (t > 0) {
                sub->cut_idx = sub->ents[i];
                sub->cut_types = t;
            }
            sub->nlive = i + (t > 0);
            memcpy(sub->sorted, sub->ents, sub->nlive * sizeof *sub->ents);
            qsort(sub->sorted, sub->nlive, sizeof *sub->ents, cmp_u32);
            sim.st.subs_refused++;
            limit_reply(s, no);
            return -1;
        }
    return 0;
}
