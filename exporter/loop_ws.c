/*
 * loop_ws.c -- the event loop's WebSocket side (see loop_int.h): connect (conn), the
 * upgrade handshake and frames (core/ws), authCmd + ENTITY_DATA commands split below
 * 32 KiB (tb_build_next), resubscription, and messages through tb_feed into the store.
 */
#include "exporter/loop_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exporter/log.h"

static void ws_rng(void *arg, uint8_t *dst, size_t n)
{
    (void)arg;
    if (net_random(dst, n) != 0)
        abort(); /* a WebSocket mask without entropy is not an option */
}

/* ---------------------------------------------------------------- WebSocket ------ */

/* One ENTITY_DATA command per (key list, up to ASSETS_PER_CMD assets): assets are
 * grouped by the key list their profile uses. */
void loop_ws_build_cmds(struct loop *l, subs_resend why)
{
    const struct cfg *c = l->cfg;
    const assets_table *t = &l->sh->tab[l->sh->cur];
    size_t nid = 0, nk = 0;
    l->ncmds = 0;
    for (size_t list = 0; list < c->nlists; list++) {
        size_t kfirst = nk, nkeys = cfg_key_count(c, list), start = nid;
        for (size_t k = 0; k < nkeys && nk < LIM_CFG_KEYS; k++)
            l->keyptrs[nk++] = cfg_key(c, list, k);
        for (uint32_t i = 0; i < t->count; i++) {
            const assets_entry *e = assets_get(t, (int32_t)i);
            if (cfg_keys_for(c, assets_text(t, e->type_off), e->type_len) != list)
                continue;
            memcpy(l->ids[nid++], e->id, 16);
        }
        for (size_t s = start; s < nid && l->ncmds < l->cmds_cap; s += ASSETS_PER_CMD) {
            tb_cmd *cmd = &l->cmds[l->ncmds++];
            memset(cmd, 0, sizeof *cmd);
            cmd->kind = TB_CMD_SUBSCRIBE;
            cmd->assets = (const uint8_t(*)[16])l->ids[s];
            cmd->n_assets = (uint32_t)(nid - s < ASSETS_PER_CMD ? nid - s : ASSETS_PER_CMD);
            cmd->keys = (const char *const *)&l->keyptrs[kfirst];
            cmd->n_keys = (uint32_t)(nk - kfirst);
            cmd->with_details = c->asset_details == CFG_DETAILS_WS;
        }
    }
    /* Messages already built hold their own copies, so rebuilding the array under the
     * ledger is safe: it reads the commands only while building the next message. */
    subs_set_commands(&l->subs, l->cmds, (uint32_t)l->ncmds, (uint64_t)net_now_ms(), why);
    if (l->wsp == WSP_OPEN) {
        loop_ws_flush(l);
        if (l->subs.n)
            log_info("subscriptions replaced", LOG_U("commands", l->ncmds),
                     LOG_S("why", subs_resend_name(why)));
    }
}

/* Nothing of ours is waiting in the codec, the TLS engine or a built message. */
static int output_written(struct loop *l)
{
    const uint8_t *o;
    return l->out_len == 0 && ws_output(&l->ws, &o) == 0 && !conn_write_pending(&l->wc);
}

/* Moves as many messages as the ledger has due into the codec's output. The ledger
 * marks the commands of a message as sent when it builds it, so a built message is
 * kept (out_msg) until the codec takes it. */
static void pump_send(struct loop *l)
{
    while (l->wsp == WSP_OPEN) {
        if (l->out_len == 0) {
            subs_built b;
            int n = subs_build_next(&l->subs, l->token, l->token_len, l->out_msg,
                                    sizeof l->out_msg, (uint64_t)l->io_now_ms, &b);
            if (n <= 0) {
                if (n < 0 && !l->build_failed) {
                    l->build_failed = 1; /* a bug: the commands are ours; say it once */
                    log_error("cannot build subscription", LOG_S("error", tb_strerror(b.tb_err)));
                }
                return;
            }
            for (uint32_t i = 0; i < b.n; i++) {
                if (b.cmds[i].kind == TB_CMD_SUBSCRIBE)
                    tb_feed_expect(&l->feed, b.cmds[i].cmd_id);
                else {
                    tb_feed_forget(&l->feed, b.cmds[i].cmd_id);
                    loop_details_forget(l, b.cmds[i].cmd_id);
                }
            }
            l->out_len = n;
        }
        if (ws_send(&l->ws, WS_OP_TEXT, (const uint8_t *)l->out_msg, (size_t)l->out_len) != WS_OK)
            return; /* WOULD_BLOCK: after the socket drains */
        l->out_len = 0;
    }
}

void loop_ws_flush(struct loop *l)
{
    const uint8_t *p;
    size_t n;
    while (l->wsp >= WSP_HANDSHAKE && (n = ws_output(&l->ws, &p)) > 0) {
        long k = conn_write(&l->wc, p, n);
        if (k <= 0)
            break;
        ws_output_ack(&l->ws, (size_t)k);
        pump_send(l);
    }
    /* The data deadline of a command runs from when it has left the process. */
    if (l->wsp == WSP_OPEN && output_written(l))
        subs_written(&l->subs, (uint64_t)net_now_ms());
}

void loop_ws_subscribe(struct loop *l)
{
    l->io_now_ms = net_now_ms();
    l->build_failed = 0;
    subs_connect(&l->subs, (uint64_t)l->io_now_ms);
    pump_send(l);
    loop_ws_flush(l);
    log_info("subscribing", LOG_U("commands", l->ncmds),
             LOG_U("assets", l->sh->tab[l->sh->cur].count));
}

void loop_ws_resubscribe(struct loop *l, subs_resend why)
{
    l->io_now_ms = net_now_ms();
    subs_resubscribe(&l->subs, (uint64_t)l->io_now_ms, why);
    pump_send(l);
    loop_ws_flush(l);
}

void loop_ws_tick(struct loop *l, int64_t now, uint32_t rnd)
{
    uint32_t k;
    /* every poll turn passes here: nothing to do until the ledger's next deadline */
    if (l->wsp != WSP_OPEN || subs_next_deadline(&l->subs) > (uint64_t)now)
        return;
    k = subs_expire(&l->subs, (uint64_t)now, rnd);
    if (k)
        log_warn("no data for subscriptions within the deadline; sending them again",
                 LOG_U("commands", k), LOG_D("deadline_s", l->subs.cfg.timeout_ms / 1000.0));
    l->io_now_ms = now;
    pump_send(l);
    loop_ws_flush(l);
}

int64_t loop_ws_deadline(const struct loop *l)
{
    uint64_t d;
    if (l->wsp != WSP_OPEN || l->out_len > 0 || l->build_failed)
        return INT64_MAX; /* closed, a message waits for POLLOUT, or nothing can be built */
    d = subs_next_deadline(&l->subs);
    return d >= (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)d;
}

int loop_ws_all_live(const struct loop *l)
{
    return l->wsp == WSP_OPEN && subs_all_live(&l->subs) &&
           output_written((struct loop *)l);
}

/* After we failed an open connection the server may still be sending (say, the rest
 * of a 64 MiB frame we refused). Closing a socket with unread data makes the kernel
 * send a reset, and a reset can destroy our close frame before the server reads it.
 * So send the close, then read and discard until the server closes or a short time
 * passes (RFC 6455 7.1.1: the client waits for the server to close TCP). This blocks
 * the loop for at most LINGER_MS, only on a connection that has already failed. */
#define LINGER_MS 500
static void linger_close(struct loop *l)
{
    uint8_t sink[16384];
    int64_t end = net_now_ms() + LINGER_MS;
    loop_ws_flush(l);
    for (;;) {
        long n;
        while ((n = conn_read(&l->wc, sink, sizeof sink)) > 0)
            ;
        int64_t now = net_now_ms();
        if (n < 0 || now >= end)
            return;
        struct pollfd p = { conn_poll_fd(&l->wc), (short)(conn_poll_events(&l->wc) | POLLIN), 0 };
        if (p.fd < 0)
            return;
        if (!conn_pending(&l->wc) && poll(&p, 1, (int)(end - now)) < 0 && errno != EINTR)
            return;
        conn_on_io(&l->wc, p.revents, net_now_ms());
    }
}

void loop_ws_release(struct loop *l)
{
    conn_abort(&l->wc);
    l->wsp = WSP_NONE;
    l->out_len = 0;
    subs_disconnect(&l->subs);
    tb_feed_reset(&l->feed);
    l->det_n = 0;
}

void loop_ws_connect(struct loop *l)
{
    const struct cfg *c = l->cfg;
    int64_t now = net_now_ms();
    loop_ws_release(l);
    health_add(l->h, HEALTH_C_WS_CONNECT_ATTEMPTS, 1);
    ws_init(&l->ws, WS_CLIENT, l->ws_msg, LIM_WS_MESSAGE_DEFAULT, l->ws_out, sizeof l->ws_out,
            ws_rng, NULL);
    l->wsp = WSP_CONNECTING;
    if (conn_start(&l->wc, c->host, c->port, c->tls, l->anchors, now, now + 15000) != 0)
        l->wsp = WSP_CONNECTING; /* reported as a failure on the next turn */
}

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

static void on_error_reply(struct loop *l, const tb_feed_result *r)
{
    if (r->kind == TB_WS_RESYNC) {
        /* ThingsBoard sends one per episode: the session decides when a
         * resubscription can work (after the episode, with backoff). */
        health_reply(l->h, HEALTH_REPLY_TOO_MANY_UPDATES);
        log_warn("ThingsBoard dropped updates (errorCode 34, per-session update rate limit); "
                 "resubscribing once the limit lets messages through",
                 LOG_I("cmd_id", r->cmd_id));
        return;
    }
    if (is_sub_rate_limit(r)) {
        health_reply(l->h, HEALTH_REPLY_SUB_RATE_LIMIT);
        if (!l->sub_limit_logged) {
            l->sub_limit_logged = 1;
            log_warn("ThingsBoard refused subscriptions (subscription rate limit); they are sent "
                     "again, spaced out, when their data deadline passes",
                     LOG_I("subscription_id", r->cmd_id),
                     LOG_SN("message", r->error_msg, r->error_msg_len),
                     LOG_D("deadline_s", l->subs.cfg.timeout_ms / 1000.0));
        }
        return;
    }
    health_reply(l->h, HEALTH_REPLY_OTHER);
    log_warn("ThingsBoard error reply", LOG_I("cmd_id", r->cmd_id),
             LOG_I("error_code", r->error_code),
             LOG_SN("message", r->error_msg ? r->error_msg : "", r->error_msg_len));
}

static void on_ws_message(struct loop *l, const ws_event *e)
{
    session_event ev = {0};
    tb_feed_result res;
    int rc;
    health_add(l->h, HEALTH_C_WS_MESSAGES, 1);
    health_add(l->h, HEALTH_C_WS_BYTES, e->len);
    health_set(l->h, HEALTH_G_LAST_MESSAGE_MS, l->io_wall_ms);
    memset(&res, 0, sizeof res);
    pthread_mutex_lock(&l->sh->mu);
    rc = tb_feed_message(&l->feed, (const char *)e->data, e->len, (uint32_t)(l->io_now_ms / 1000),
                         &res);
    if (rc == TB_OK && res.kind == TB_WS_DATA && !res.unknown_cmd && l->det_n)
        loop_details_replay(l, res.cmd_id);
    pthread_mutex_unlock(&l->sh->mu);
    ev.kind = SESSION_EV_WS_MESSAGE;
    if (rc != TB_OK) {
        health_add(l->h, HEALTH_C_PARSE_ERRORS, 1);
    } else {
        health_add(l->h, HEALTH_C_TELEMETRY_UPDATES, res.set);
        ev.u.msg.had_data = (res.kind == TB_WS_DATA || res.kind == TB_WS_UPDATE) && !res.unknown_cmd;
        ev.u.msg.tb_error_code = res.kind == TB_WS_RESYNC ? 34 : res.error_code;
        if (res.kind == TB_WS_DATA && !res.unknown_cmd && subs_on_data(&l->subs, res.cmd_id))
            l->sub_limit_logged = 0; /* a subscription got through: that episode is over */
        if (res.kind == TB_WS_ERROR || res.kind == TB_WS_RESYNC)
            on_error_reply(l, &res);
    }
    loop_event_at(l, &ev, l->io_now_ms);
}

/* After the session has chosen the retry delay for a rejected upgrade: one warning
 * naming the HTTP status, what it means and when the next attempt is, so that a wrong
 * URL or a proxy that does not speak WebSocket is told apart from a server outage. */
static void upgrade_warning(struct loop *l, int status, int err, const char *text, size_t tn)
{
    session_upgrade_class c = session_classify_upgrade(status);
    const session_stats *st = session_get_stats(&l->sess);
    const char *hint = c == SESSION_UPGRADE_CONFIG ? "check the URL and any proxy in front of"
                                                     " ThingsBoard; retrying slowly"
                     : c == SESSION_UPGRADE_PROTOCOL ? "the response is not a valid WebSocket"
                                                       " upgrade; retrying slowly"
                     : c == SESSION_UPGRADE_RATE_LIMITED ? "rate limited; retrying slowly"
                     : c == SESSION_UPGRADE_TOKEN ? "token rejected; fetching a new one"
                     : "server error; retrying with backoff";
    log_warn("websocket upgrade rejected", LOG_I("http_status", status),
             LOG_SN("status_text", text, tn), LOG_S("error", ws_strerror(err)),
             LOG_S("class", session_upgrade_class_name(c)), LOG_S("hint", hint),
             LOG_D("reconnect_in_s", st->backoff_ms / 1000.0));
}

static void ws_events(struct loop *l)
{
    ws_event e;
    session_event ev;
    while (ws_next_event(&l->ws, &e) != WS_EV_NONE) {
        memset(&ev, 0, sizeof ev);
        switch (e.type) {
        case WS_EV_OPEN:
            l->wsp = WSP_OPEN;
            health_add(l->h, HEALTH_C_WS_CONNECTS, 1);
            health_set(l->h, HEALTH_G_LAST_CONNECT_MS, loop_wall_ms());
            ev.kind = SESSION_EV_WS_OPENED;
            loop_event(l, &ev);
            break;
        case WS_EV_MESSAGE:
            on_ws_message(l, &e);
            break;
        case WS_EV_PING:
            health_add(l->h, HEALTH_C_WS_PINGS, 1);
            /* fall through */
        case WS_EV_PONG:
            ev.kind = SESSION_EV_WS_ACTIVITY;
            loop_event(l, &ev);
            break;
        case WS_EV_CLOSED:
            ev.kind = SESSION_EV_WS_CLOSED;
            ev.u.closed.code = (uint16_t)e.close_code;
            ev.u.closed.reason = (const char *)e.data;
            ev.u.closed.reason_len = (uint32_t)e.len;
            /* Our own close (shutdown, resubscribe) is routine; a server close is not. */
            if (e.by_peer && e.close_code != 1000)
                log_warn("websocket closed", LOG_U("code", e.close_code),
                         LOG_SN("reason", (const char *)e.data, e.len), LOG_B("by_peer", 1));
            else
                log_info("websocket closed", LOG_U("code", e.close_code),
                         LOG_SN("reason", (const char *)e.data, e.len),
                         LOG_B("by_peer", e.by_peer));
            loop_ws_flush(l);
            loop_ws_release(l);
            loop_event(l, &ev);
            return;
        case WS_EV_ERROR:
            if (l->wsp == WSP_HANDSHAKE) {
                /* Every codec error here is a response we refuse: a status other than
                 * 101 (http_status), a broken 101 (101), or a broken header block (0).
                 * The session picks the retry pace from the status; the warning after
                 * it names both. */
                char text[128]; /* the reason phrase: e.data dies with the codec */
                size_t tn = e.len < sizeof text ? e.len : sizeof text;
                if (tn)
                    memcpy(text, e.data, tn);
                ev.kind = SESSION_EV_WS_HANDSHAKE_FAILED;
                ev.u.handshake.status = e.http_status;
                health_connect_failure(l->h, HEALTH_STAGE_UPGRADE);
                loop_ws_release(l);
                loop_event(l, &ev);
                upgrade_warning(l, e.http_status, e.err, text, tn);
                return;
            }
            log_warn("websocket failed", LOG_S("error", ws_strerror(e.err)),
                     LOG_I("http_status", e.http_status));
            if (e.err == WS_ERR_MSG_TOO_BIG)
                health_limit_hit(l->h, HEALTH_LIMIT_WS_MESSAGE);
            ev.kind = SESSION_EV_WS_CLOSED;
            ev.u.closed.code = (uint16_t)e.close_code;
            ev.u.closed.local = true;
            if (l->wsp == WSP_OPEN)
                linger_close(l);
            else
                loop_ws_flush(l); /* the close frame the codec queued, best effort */
            loop_ws_release(l);
            loop_event(l, &ev);
            return;
        default:
            break;
        }
    }
}

/* Bytes of WebSocket input handled per poll turn (~3 ms at full ingest). */
#define WS_READ_BUDGET (1024u * 1024u)

/* Advances the WebSocket's connection after poll. */
void loop_ws_io(struct loop *l, short revents)
{
    int64_t now = net_now_ms();
    conn_state cs;
    const uint8_t *in;
    long n;
    if (l->wsp == WSP_NONE)
        return;
    l->io_now_ms = now;
    l->io_wall_ms = loop_wall_ms();
    cs = conn_on_io(&l->wc, revents, now);
    if (l->wsp == WSP_CONNECTING && cs == CONN_OPEN) {
        char host[CFG_HOST_BYTES + 16];
        int dflt = l->cfg->port == (l->cfg->tls ? 443 : 80);
        if (dflt)
            snprintf(host, sizeof host, "%s", l->cfg->host);
        else
            snprintf(host, sizeof host, "%s:%u", l->cfg->host, (unsigned)l->cfg->port);
        conn_set_stage(&l->wc, CONN_STAGE_WEBSOCKET);
        ws_client_handshake(&l->ws, host, l->cfg->ws_path,
                            "User-Agent: iotpro_exporter/" IOTPRO_VERSION "\r\n");
        l->wsp = WSP_HANDSHAKE;
    }
    if (l->wsp >= WSP_HANDSHAKE) {
        /* Drain what the engine holds, then flush our output. The flush may pull
         * more records into the engine; conn_pending() makes the next poll return
         * at once for them (loop_run), so there is no read-after-flush here. */
        size_t budget = WS_READ_BUDGET;
        for (;;) {
            if (budget == 0) {
                /* Back to poll: timers, REST and publishing run between slices of a
                 * long burst (initial snapshots can be tens of MB). What is left in
                 * the TLS engine or the socket wakes poll at once (conn_pending). */
                loop_ws_flush(l);
                if (conn_state(&l->wc) == CONN_OPEN)
                    return;
                budget = SIZE_MAX; /* the write failed: read on to report the end */
            }
            /* Decrypted bytes in place (the TLS record buffer): a message whole in
             * the record is parsed where it lies. They are released only after the
             * events they raised are handled, which is what keeps those views valid. */
            n = conn_peek(&l->wc, &in);
            if (n > 0) {
                size_t off = 0;
                budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
                l->io_now_ms = net_now_ms();
                l->io_wall_ms = loop_wall_ms();
                while (off < (size_t)n && l->wsp >= WSP_HANDSHAKE) {
                    off += ws_push(&l->ws, in + off, (size_t)n - off);
                    ws_events(l);
                }
                if (l->wsp < WSP_HANDSHAKE)
                    return;
                conn_consume(&l->wc, (size_t)n);
                continue;
            }
            if (n < 0) { /* the transport ended: the codec turns this into a 1006 close */
                ws_eof(&l->ws);
                if (l->wsp == WSP_HANDSHAKE) {
                    /* Cut off before a whole response: an upgrade failure too, but one
                     * that may pass by itself (a proxy restarting), so normal backoff. */
                    session_event ev = {0};
                    ev.kind = SESSION_EV_WS_CONN_ERROR;
                    ev.u.conn.stage = SESSION_STAGE_UPGRADE;
                    health_connect_failure(l->h, HEALTH_STAGE_UPGRADE);
                    log_warn("websocket upgrade failed: connection closed before a response");
                    loop_ws_release(l);
                    loop_event(l, &ev);
                    return;
                }
                ws_events(l);
                return;
            }
            loop_ws_flush(l);
            if (conn_state(&l->wc) == CONN_OPEN)
                return;
            /* the write failed: read on to report the end (n < 0 above) */
        }
    }
    if (cs == CONN_FAILED || cs == CONN_CLOSED) {
        const conn_err *e = conn_error(&l->wc);
        session_event ev = {0};
        ev.kind = SESSION_EV_WS_CONN_ERROR;
        ev.u.conn.stage = e->stage == CONN_STAGE_DNS ? SESSION_STAGE_DNS
                        : e->stage == CONN_STAGE_TLS ? SESSION_STAGE_TLS : SESSION_STAGE_TCP;
        health_connect_failure(l->h, ev.u.conn.stage == SESSION_STAGE_DNS ? HEALTH_STAGE_DNS
                                     : ev.u.conn.stage == SESSION_STAGE_TLS ? HEALTH_STAGE_TLS
                                     : HEALTH_STAGE_TCP);
        log_warn("websocket connect failed", LOG_S("stage", conn_stage_name(e->stage)),
                 LOG_S("reason", net_reason_name(e->reason)), LOG_S("error", e->text));
        loop_ws_release(l);
        loop_event(l, &ev);
    }
}
