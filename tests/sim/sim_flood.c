/*
 * sim_flood.c -- flood mode for benchmarks: a ring of pre-rendered, pre-framed update
 * messages replayed as fast as the socket takes them.
 *
 * Per message the only work is a memcpy into the TLS engine's buffer; per pass over
 * the ring, every value's 13-digit ts is patched in place with one fresh timestamp,
 * so a client keeping "newest ts wins" never discards the replay as stale, and the
 * ground truth (sim_touch) stays exact once the flood stops. Values do not change
 * between passes, only ts does. A message carries one key, or several keys of its
 * asset (--flood-shape all|mix), the way a device's report arrives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

#define RING_MSGS 4096

struct sim_flood {
    sim_buf ring; /* frames back to back */
    size_t pos;   /* next byte to send */
    size_t nmsg;
    size_t *ends;  /* end offset of each frame */
    size_t nval;   /* values in the ring (one or more per frame) */
    size_t *ts_at; /* offset of each value's 13 ts digits */
    uint32_t *idx; /* each value's asset and key slot */
    int *slot;
    size_t next_msg; /* first frame not yet fully sent */
    int64_t last_ts;
};

void sim_flood_free(sim_session *s)
{
    struct sim_flood *f = s->flood;
    if (!f)
        return;
    sim_buf_free(&f->ring);
    free(f->ends);
    free(f->ts_at);
    free(f->idx);
    free(f->slot);
    free(f);
    s->flood = NULL;
}

/* The keys (a bit set over the nk subscribed ones) of the multi-key message for
 * entity number i: all of them, or for a mix a hashed half, at least two. */
static unsigned flood_keys(size_t i, int nk)
{
    unsigned all = nk >= 32 ? ~0u : (1u << nk) - 1;
    if (sim.flood_shape != SIM_FLOOD_MIX || nk < 3)
        return all;
    unsigned m = (unsigned)sim_hash(sim.seed ^ 0xf100d, i) & all;
    return __builtin_popcount(m) >= 2 ? m : all;
}

void sim_flood_build(sim_session *s, sim_sub *sub)
{
    int keys[SIM_MAX_QKEYS], nk = 0;
    for (int k = 0; k < sub->nkeys; k++)
        if (sub->keys[k].type == SIM_KT_TIME_SERIES && sub->keys[k].slot >= 0 && nk < 32)
            keys[nk++] = k;
    if (!nk || !sub->nents)
        return;
    sim_flood_free(s);
    struct sim_flood *f = calloc(1, sizeof *f);
    size_t vcap = (size_t)RING_MSGS * (size_t)nk;
    f->ends = malloc(RING_MSGS * sizeof *f->ends);
    f->ts_at = malloc(vcap * sizeof *f->ts_at);
    f->idx = malloc(vcap * sizeof *f->idx);
    f->slot = malloc(vcap * sizeof *f->slot);
    sim_buf msg = { 0 }, v = { 0 };
    int multi = sim.flood_shape != SIM_FLOOD_ONE;
    size_t total = multi ? sub->nents : sub->nents * (size_t)nk;
    for (size_t i = 0; i < total && f->nmsg < RING_MSGS; i++) {
        uint32_t idx = sub->ents[i % sub->nents];
        unsigned want = multi ? flood_keys(i, nk) : 1u << ((i / sub->nents) % (size_t)nk);
        char id[37];
        sim_asset_id(idx, id);
        msg.len = 0;
        sim_buf_printf(&msg,
                       "{\"cmdId\":%d,\"errorCode\":0,\"errorMsg\":null,\"data\":null,"
                       "\"update\":[{\"entityId\":{\"entityType\":\"%s\",\"id\":\"%s\"},"
                       "\"readAttrs\":true,\"readTs\":true,\"latest\":{\"TIME_SERIES\":{",
                       sub->cmd_id, sim_entity_type(idx), id);
        size_t first = f->nval;
        size_t ts_off[32];
        for (int j = 0; j < nk; j++) {
            const sim_qkey *q = &sub->keys[keys[j]];
            if (!(want >> j & 1) || !sim_has_key(idx, q->slot))
                continue;
            int64_t ts = sim_bump(idx, q->slot);
            v.len = 0;
            sim_value(idx, q->slot, SIM_FMT_UPDATE, &ts, &v);
            if (f->nval > first)
                sim_buf_puts(&msg, ",");
            sim_buf_json_str(&msg, q->name, strlen(q->name));
            sim_buf_puts(&msg, ":{\"ts\":");
            ts_off[f->nval - first] = msg.len;
            sim_buf_printf(&msg, "%013lld,\"value\":", (long long)ts);
            sim_buf_json_str(&msg, v.p, v.len);
            sim_buf_puts(&msg, "}");
            f->idx[f->nval] = idx;
            f->slot[f->nval] = q->slot;
            f->nval++;
            if (ts > f->last_ts)
                f->last_ts = ts;
        }
        if (f->nval == first)
            continue;
        sim_buf_puts(&msg, "}},\"timeseries\":null,\"aggLatest\":null}],"
                           "\"allowedEntities\":10000,\"cmdUpdateType\":\"ENTITY_DATA\"}");
        uint8_t h[WS_FRAME_HEADER_MAX];
        size_t hl = ws_frame_header(h, WS_OP_TEXT, 1, msg.len, NULL);
        sim_buf_put(&f->ring, h, hl);
        for (size_t j = first; j < f->nval; j++)
            f->ts_at[j] = f->ring.len + ts_off[j - first];
        sim_buf_put(&f->ring, msg.p, msg.len);
        f->ends[f->nmsg] = f->ring.len;
        f->nmsg++;
    }
    sim_buf_free(&msg);
    sim_buf_free(&v);
    if (!f->nmsg) {
        free(f->ends);
        free(f->ts_at);
        free(f->idx);
        free(f->slot);
        free(f);
        return;
    }
    s->flood = f;
    sim_log("flood: %zu pre-rendered messages (%zu values), %zu bytes per pass", f->nmsg, f->nval,
            f->ring.len);
}

/* A new pass: one fresh ts for every frame, and the truth follows. */
static void new_pass(struct sim_flood *f)
{
    int64_t ts = sim_now_ms();
    if (ts <= f->last_ts)
        ts = f->last_ts + 1;
    f->last_ts = ts;
    char digits[24];
    snprintf(digits, sizeof digits, "%013lld", (long long)ts);
    for (size_t i = 0; i < f->nval; i++) {
        memcpy(f->ring.p + f->ts_at[i], digits, 13);
        sim_touch(f->idx[i], f->slot[i], ts);
    }
}

size_t sim_flood_fill(sim_session *s, unsigned char *dst, size_t cap)
{
    struct sim_flood *f = s->flood;
    size_t out = 0;
    if (!f || !f->nmsg)
        return 0;
    /* Whole frames only: the caller may queue a command reply (or a ping) right after
     * what we return, and a reply landing inside a half-sent flood frame corrupts the
     * stream (seen as invalid UTF-8 by the client). */
    for (;;) {
        if (f->next_msg == f->nmsg) {
            if (!sim.flood) {
                /* /flood?off=1: stop where the truth is exact, after a whole pass */
                sim_flood_free(s);
                return out;
            }
            f->pos = 0;
            f->next_msg = 0;
            new_pass(f);
        }
        size_t k = f->next_msg;
        while (k < f->nmsg && f->ends[k] - f->pos <= cap - out)
            k++;
        if (k == f->next_msg)
            return out; /* the next frame does not fit the room left */
        size_t n = f->ends[k - 1] - f->pos;
        memcpy(dst + out, f->ring.p + f->pos, n);
        out += n;
        f->pos += n;
        sim.st.flood_msgs += k - f->next_msg;
        f->next_msg = k;
    }
}
