/*
 * loop_msg.c -- a text message of the WebSocket client (loop_ws.h): through tb_feed
 * (parsed without the lock), its values into the store under sh->mu with tb_apply
 * (the plain updates of a chunk of input together, see below), assetDetails and
 * attributes to loop_details.c, ThingsBoard's error replies counted and logged, and
 * what the message means for the session (data arrived, errorCode 34). Loop thread only.
 */
#include "exporter/loop_ws.h"

#include <string.h>

#include "core/tb_apply.h"
#include "exporter/log.h"

/* "Exceeded rate limit for WS subscriptions per tenant" (or "per user"): ThingsBoard
 * names an internal subscription number, not our cmdId, and then never sends the data
 * of the refused subscriptions. Nothing to do here but tell: the data deadline sends
 * them again, spaced out. */
static int is_sub_rate_limit(const tb_feed_result *r)
{
    static const char pfx[] = "Exceeded rate limit for WS subscriptions";
    return r->error_msg && r->error_msg_len >= sizeof pfx - 1 &&
           memcmp(r->error_msg, pfx, sizeof pfx - 1) == 0;
}

static void on_error_reply(struct ws_client *w, const tb_feed_result *r)
{
    if (r->kind == TB_WS_RESYNC) {
        /* ThingsBoard sends one per episode: the session decides when a
         * resubscription can work (after the episode, with backoff). */
        w->st.replies[LOOP_REPLY_TOO_MANY_UPDATES]++;
        log_warn("ThingsBoard dropped updates (errorCode 34, per-session update rate limit); "
                 "resubscribing once the limit lets messages through",
                 LOG_I("cmd_id", r->cmd_id));
        return;
    }
    if (is_sub_rate_limit(r)) {
        w->st.replies[LOOP_REPLY_SUB_RATE_LIMIT]++;
        if (!w->sub_limit_logged) {
            w->sub_limit_logged = 1;
            log_warn("ThingsBoard refused subscriptions (subscription rate limit); they are sent "
                     "again, spaced out, when their data deadline passes",
                     LOG_I("subscription_id", r->cmd_id),
                     LOG_SN("message", r->error_msg, r->error_msg_len),
                     LOG_D("deadline_s", w->subs.cfg.timeout_ms / 1000.0));
        }
        return;
    }
    w->st.replies[LOOP_REPLY_OTHER]++;
    log_warn("ThingsBoard error reply", LOG_I("cmd_id", r->cmd_id),
             LOG_I("error_code", r->error_code),
             LOG_SN("message", r->error_msg ? r->error_msg : "", r->error_msg_len));
}

/* Updates wait in a batch, applied under one lock per chunk of input: at full ingest
 * a TLS record holds ~40 updates, and taking them together takes the lock once instead
 * of forty times, lets tb_apply overlap their cache misses, and tells the session once
 * (each of them would tell it the same: data arrived at the chunk's time). An update
 * may wait only when every view of its values stays valid until the chunk is
 * consumed: the message lies in the chunk (not in the codec's buffer, reused by the
 * next message) and its keys and strings are views into it (not into the feed's
 * scratch or pending buffers, reused by the next tb_feed call). Anything else that
 * reaches the store or the session applies the batch first (ws_batch_apply), so both
 * see everything in the order it arrived. */
static int ws_batchable(const struct ws_client *w, const ws_event *e, const tb_feed_out *o)
{
    uintptr_t c = (uintptr_t)w->chunk, m = (uintptr_t)e->data;
    if (!w->chunk || m < c || m + e->len > c + w->chunk_len || w->batch_n + o->n > WS_BATCH_VALS)
        return 0;
    for (uint32_t i = 0; i < o->n; i++) {
        const tb_feed_value *v = &o->vals[i];
        uintptr_t k = (uintptr_t)v->key, s = (uintptr_t)v->str;
        if (k < m || k + v->key_len > m + e->len ||
            (v->kind == TB_VAL_STR && (s < m || s + v->str_len > m + e->len)))
            return 0;
    }
    return 1;
}

/* see loop_ws.h */
void ws_batch_apply(struct ws_client *w)
{
    tb_apply_result ar;
    session_event ev = { 0 };
    if (!w->batch_n)
        return;
    pthread_mutex_lock(&w->sh->mu);
    tb_apply(&w->sh->st, w->vals, w->batch_n, (uint32_t)(w->io_now_ms / 1000), &ar);
    pthread_mutex_unlock(&w->sh->mu);
    w->st.values_rejected += ar.bad_key;
    w->batch_n = 0;
    ev.kind = SESSION_EV_WS_MESSAGE;
    ev.u.msg.had_data = true;
    ws_to_session_at(w, &ev, w->io_now_ms);
}

/* see loop_ws.h */
void ws_on_message(struct ws_client *w, const ws_event *e)
{
    session_event ev = { 0 };
    tb_feed_result res;
    tb_apply_result ar = { 0 };
    tb_feed_out *o = &w->fo;
    int rc;
    w->st.last_message_ms = w->io_wall_ms;
    /* parsed, unescaped and converted without the lock (behind the batch); applied
     * under it */
    o->vals = w->vals + w->batch_n;
    rc = tb_feed_message(&w->feed, (const char *)e->data, e->len, o, &res);
    if (rc == TB_OK && res.kind == TB_WS_UPDATE && !res.unknown_cmd && o->n && !o->attr_n &&
        ws_batchable(w, e, o)) {
        w->batch_n += o->n;
        return;
    }
    ws_batch_apply(w);
    if (rc == TB_OK && (o->n || o->attr_n || (res.kind == TB_WS_DATA && w->det_n))) {
        uint32_t na = o->attr_n ? ws_attr_values(w) : 0;
        tb_apply_result aa = { 0 };
        pthread_mutex_lock(&w->sh->mu);
        tb_apply(&w->sh->st, o->vals, o->n, (uint32_t)(w->io_now_ms / 1000), &ar);
        if (na)
            tb_apply(&w->sh->st, w->avals, na, (uint32_t)(w->io_now_ms / 1000), &aa);
        for (uint32_t i = 0; i < o->attr_n; i++)
            ws_details_attr(w, &o->attrs[i]);
        if (res.kind == TB_WS_DATA && !res.unknown_cmd && w->det_n)
            ws_details_replay(w, res.cmd_id);
        pthread_mutex_unlock(&w->sh->mu);
        w->st.values_rejected += ar.bad_key + aa.bad_key;
    }
    ev.kind = SESSION_EV_WS_MESSAGE;
    if (rc == TB_OK) { /* a parse error is the feed's to count */
        ev.u.msg.had_data = (res.kind == TB_WS_DATA || res.kind == TB_WS_UPDATE) &&
                            !res.unknown_cmd;
        ev.u.msg.tb_error_code = res.kind == TB_WS_RESYNC ? 34 : res.error_code;
        if (res.kind == TB_WS_DATA && !res.unknown_cmd && subs_on_data(&w->subs, res.cmd_id))
            w->sub_limit_logged = 0; /* a subscription got through: that episode is over */
        if (res.kind == TB_WS_ERROR || res.kind == TB_WS_RESYNC)
            on_error_reply(w, &res);
    }
    ws_to_session_at(w, &ev, w->io_now_ms);
}
