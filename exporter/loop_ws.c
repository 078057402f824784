/*
 * loop_ws.c -- the event loop's WebSocket client (loop_ws.h): connect (conn), the
 * upgrade handshake and frames (core/ws), authCmd + ENTITY_DATA commands from the
 * ledger (core/subs); what a text message does is loop_msg.c's.
 */
#include "exporter/loop_ws.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
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

static void to_session(struct ws_client *w, session_event *ev)
{
    ws_to_session_at(w, ev, net_now_ms());
}

static void ws_flush(struct ws_client *w);

/* ---------------------------------------------------------------- WebSocket ------ */

/* The SERVER_ATTRIBUTE keys of each entity kind: a device's connectivity, then
 * --iotpro.attribute-keys (a configured connectivity key is not asked twice). */
static void attr_keys(struct ws_client *w)
{
    const struct cfg_names *l = &w->cfg->attr_keys;
    w->nakeys[TB_ENTITY_ASSET] = 0;
    w->akeys[TB_ENTITY_DEVICE][0] = "active";
    w->akeys[TB_ENTITY_DEVICE][1] = "lastActivityTime";
    w->nakeys[TB_ENTITY_DEVICE] = 2;
    for (size_t i = 0; i < l->n && i < WS_ATTR_KEYS_MAX; i++) {
        const char *k = cfg_name(l, i);
        w->akeys[TB_ENTITY_ASSET][w->nakeys[TB_ENTITY_ASSET]++] = k;
        if (strcmp(k, "active") && strcmp(k, "lastActivityTime"))
            w->akeys[TB_ENTITY_DEVICE][w->nakeys[TB_ENTITY_DEVICE]++] = k;
    }
}

/* One ENTITY_DATA command per (entity kind, key list, up to ASSETS_PER_CMD entities):
 * the entities of one kind are grouped by the key list their profile uses. */
void ws_client_build_cmds(struct ws_client *w, subs_resend why)
{
    const struct cfg *c = w->cfg;
    struct asset_tab *held = w->tab;
    const assets_table *t;
    size_t nid = 0, nk = 0;
    /* the commands name ids inside the current table (12 B per entity less than a
     * copy of them), so they hold it until the next build */
    w->tab = loop_shared_acquire(w->sh);
    t = &w->tab->t;
    w->ncmds = 0;
    attr_keys(w);
    for (size_t list = 0; list < c->nlists; list++) {
        size_t kfirst = nk, nkeys = cfg_key_count(c, list);
        for (size_t k = 0; k < nkeys && nk < LIM_CFG_KEYS; k++)
            w->keyptrs[nk++] = cfg_key(c, list, k);
        for (uint8_t kind = TB_ENTITY_ASSET; kind <= TB_ENTITY_DEVICE; kind++) {
            size_t start = nid;
            for (uint32_t i = 0; i < t->count; i++) {
                const assets_entry *e = assets_get(t, (int32_t)i);
                if (e->kind != kind ||
                    cfg_keys_for(c, assets_text(t, e->type_off), e->type_len) != list)
                    continue;
                w->pick[nid++] = i;
            }
            for (size_t s = start; s < nid && w->ncmds < w->cmds_cap; s += ASSETS_PER_CMD) {
                tb_cmd *cmd = &w->cmds[w->ncmds++];
                memset(cmd, 0, sizeof *cmd);
                cmd->kind = TB_CMD_SUBSCRIBE;
                cmd->entity = kind;
                cmd->assets = (const uint8_t(*)[16])t->e[0].id;
                cmd->pick = &w->pick[s];
                cmd->pick_stride = (uint32_t)sizeof t->e[0];
                cmd->n_assets = (uint32_t)(nid - s < ASSETS_PER_CMD ? nid - s : ASSETS_PER_CMD);
                cmd->keys = (const char *const *)&w->keyptrs[kfirst];
                cmd->n_keys = (uint32_t)(nk - kfirst);
                cmd->with_details = kind == TB_ENTITY_ASSET && c->asset_details == CFG_DETAILS_WS;
                cmd->attr_keys = w->akeys[kind];
                cmd->n_attr_keys = w->nakeys[kind];
            }
        }
    }
    /* Messages already built hold their own copies, so rebuilding the array under the
     * ledger is safe: it reads the commands only while building the next message. */
    subs_set_commands(&w->subs, w->cmds, (uint32_t)w->ncmds, (uint64_t)net_now_ms(), why);
    if (held)
        loop_shared_release(w->sh, held);
    if (w->wsp == WSP_OPEN) {
        ws_flush(w);
        if (w->subs.n)
            log_info("subscriptions replaced", LOG_U("commands", w->ncmds),
                     LOG_S("why", subs_resend_name(why)));
    }
}

/* Nothing of ours is waiting in the codec, the TLS engine or a built message. */
static int output_written(struct ws_client *w)
{
    const uint8_t *o;
    return w->out_len == 0 && ws_output(&w->ws, &o) == 0 && !conn_write_pending(&w->c);
}

/* Moves as many messages as the ledger has due into the codec's output. The ledger
 * marks the commands of a message as sent when it builds it, so a built message is
 * kept (out_msg) until the codec takes it. */
static void pump_send(struct ws_client *w)
{
    while (w->wsp == WSP_OPEN) {
        if (w->out_len == 0) {
            subs_built b;
            int n = subs_build_next(&w->subs, w->token, w->token_len, w->out_msg, sizeof w->out_msg,
                                    (uint64_t)w->io_now_ms, &b);
            if (n <= 0) {
                if (n < 0 && !w->build_failed) {
                    w->build_failed = 1; /* a bug: the commands are ours; say it once */
                    log_error("cannot build subscription", LOG_S("error", tb_strerror(b.tb_err)));
                }
                return;
            }
            for (uint32_t i = 0; i < b.n; i++) {
                if (b.cmds[i].kind == TB_CMD_SUBSCRIBE)
                    tb_feed_expect(&w->feed, b.cmds[i].cmd_id);
                else {
                    tb_feed_forget(&w->feed, b.cmds[i].cmd_id);
                    ws_details_forget(w, b.cmds[i].cmd_id);
                }
            }
            w->out_len = n;
        }
        if (ws_send(&w->ws, WS_OP_TEXT, (const uint8_t *)w->out_msg, (size_t)w->out_len) != WS_OK)
            return; /* WOULD_BLOCK: after the socket drains */
        w->out_len = 0;
    }
}

static void ws_flush(struct ws_client *w)
{
    const uint8_t *p;
    size_t n;
    while (w->wsp >= WSP_HANDSHAKE && (n = ws_output(&w->ws, &p)) > 0) {
        long k = conn_write(&w->c, p, n);
        if (k <= 0)
            break;
        ws_output_ack(&w->ws, (size_t)k);
        pump_send(w);
    }
    /* The data deadline of a command runs from when it has left the process. */
    if (w->wsp == WSP_OPEN && output_written(w))
        subs_written(&w->subs, (uint64_t)net_now_ms());
}

void ws_client_subscribe(struct ws_client *w, const char *token, size_t token_len)
{
    w->token = token;
    w->token_len = token_len;
    w->io_now_ms = net_now_ms();
    w->build_failed = 0;
    subs_connect(&w->subs, (uint64_t)w->io_now_ms);
    pump_send(w);
    ws_flush(w);
    log_info("subscribing", LOG_U("commands", w->ncmds), LOG_U("assets", w->sh->cur->t.count));
}

void ws_client_resubscribe(struct ws_client *w, subs_resend why)
{
    w->io_now_ms = net_now_ms();
    subs_resubscribe(&w->subs, (uint64_t)w->io_now_ms, why);
    pump_send(w);
    ws_flush(w);
}

void ws_client_tick(struct ws_client *w, int64_t now)
{
    uint32_t k;
    /* every poll turn passes here: nothing to do until the ledger's next deadline */
    if (w->wsp != WSP_OPEN || subs_next_deadline(&w->subs) > (uint64_t)now)
        return;
    k = subs_expire(&w->subs, (uint64_t)now, rng_next(w->rng));
    if (k)
        log_warn("no data for subscriptions within the deadline; sending them again",
                 LOG_U("commands", k), LOG_D("deadline_s", w->subs.cfg.timeout_ms / 1000.0));
    w->io_now_ms = now;
    pump_send(w);
    ws_flush(w);
}

int64_t ws_client_deadline(const struct ws_client *w)
{
    uint64_t d;
    if (w->wsp != WSP_OPEN || w->out_len > 0 || w->build_failed)
        return INT64_MAX; /* closed, a message waits for POLLOUT, or nothing can be built */
    d = subs_next_deadline(&w->subs);
    return d >= (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)d;
}

int ws_client_all_live(const struct ws_client *w)
{
    return w->wsp == WSP_OPEN && subs_all_live(&w->subs) && output_written((struct ws_client *)w);
}

/* After we failed an open connection the server may still be sending (say, the rest
 * of a 64 MiB frame we refused). Closing a socket with unread data makes the kernel
 * send a reset, and a reset can destroy our close frame before the server reads it.
 * So send the close, then read and discard until the server closes or a short time
 * passes (RFC 6455 7.1.1: the client waits for the server to close TCP). This blocks
 * the loop for at most LINGER_MS, only on a connection that has already failed. */
#define LINGER_MS 500
static void linger_close(struct ws_client *w)
{
    uint8_t sink[16384];
    int64_t end = net_now_ms() + LINGER_MS;
    ws_flush(w);
    for (;;) {
        long n;
        while ((n = conn_read(&w->c, sink, sizeof sink)) > 0)
            ;
        int64_t now = net_now_ms();
        if (n < 0 || now >= end)
            return;
        struct pollfd p = { conn_poll_fd(&w->c), (short)(conn_poll_events(&w->c) | POLLIN), 0 };
        if (p.fd < 0)
            return;
        if (!conn_pending(&w->c) && poll(&p, 1, (int)(end - now)) < 0 && errno != EINTR)
            return;
        conn_on_io(&w->c, p.revents, net_now_ms());
    }
}

void ws_client_release(struct ws_client *w)
{
    /* Empty here on every path (ws_client_io applies it before an event can lead
     * to a release, and at the end of each chunk); applied if not, so nothing that
     * arrived is lost, while its views into the connection's buffer are still valid. */
    ws_batch_apply(w);
    w->chunk = NULL;
    conn_abort(&w->c);
    w->wsp = WSP_NONE;
    w->out_len = 0;
    subs_disconnect(&w->subs);
    tb_feed_reset(&w->feed);
    w->det_n = 0;
}

void ws_client_connect(struct ws_client *w)
{
    const struct cfg *c = w->cfg;
    int64_t now = net_now_ms();
    ws_client_release(w);
    ws_init(&w->ws, WS_CLIENT, w->msg, LIM_WS_MESSAGE_DEFAULT, w->out, sizeof w->out, ws_rng, NULL);
    w->wsp = WSP_CONNECTING;
    if (conn_start(&w->c, c->host, c->port, c->tls, w->anchors, now, now + 15000) != 0)
        w->wsp = WSP_CONNECTING; /* reported as a failure on the next turn */
}

/* After the session has chosen the retry delay for a rejected upgrade: one warning
 * naming the HTTP status, what it means and when the next attempt is, so that a wrong
 * URL or a proxy that does not speak WebSocket is told apart from a server outage. */
static void upgrade_warning(struct ws_client *w, int status, int err, const char *text, size_t tn)
{
    session_upgrade_class c = session_classify_upgrade(status);
    const session_stats *st = session_get_stats(w->sess);
    const char *hint = c == SESSION_UPGRADE_CONFIG     ? "check the URL and any proxy in front of"
                                                         " ThingsBoard; retrying slowly"
                       : c == SESSION_UPGRADE_PROTOCOL ? "the response is not a valid WebSocket"
                                                         " upgrade; retrying slowly"
                       : c == SESSION_UPGRADE_RATE_LIMITED ? "rate limited; retrying slowly"
                       : c == SESSION_UPGRADE_TOKEN        ? "token rejected; fetching a new one"
                                                           : "server error; retrying with backoff";
    log_warn("websocket upgrade rejected", LOG_I("http_status", status),
             LOG_SN("status_text", text, tn), LOG_S("error", ws_strerror(err)),
             LOG_S("class", session_upgrade_class_name(c)), LOG_S("hint", hint),
             LOG_D("reconnect_in_s", st->backoff_ms / 1000.0));
}

static void ws_events(struct ws_client *w)
{
    ws_event e;
    session_event ev;
    while (ws_next_event(&w->ws, &e) != WS_EV_NONE) {
        memset(&ev, 0, sizeof ev);
        if (e.type != WS_EV_MESSAGE)
            ws_batch_apply(w);
        switch (e.type) {
        case WS_EV_OPEN:
            w->wsp = WSP_OPEN;
            w->st.last_connect_ms = net_wall_ms();
            ev.kind = SESSION_EV_WS_OPENED;
            to_session(w, &ev);
            break;
        case WS_EV_MESSAGE: ws_on_message(w, &e); break;
        case WS_EV_PING:
            w->st.pings++;
            /* fall through */
        case WS_EV_PONG:
            ev.kind = SESSION_EV_WS_ACTIVITY;
            to_session(w, &ev);
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
            ws_flush(w);
            ws_client_release(w);
            to_session(w, &ev);
            return;
        case WS_EV_ERROR:
            if (w->wsp == WSP_HANDSHAKE) {
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
                w->st.connect_failures[LOOP_STAGE_UPGRADE]++;
                ws_client_release(w);
                to_session(w, &ev);
                upgrade_warning(w, e.http_status, e.err, text, tn);
                return;
            }
            log_warn("websocket failed", LOG_S("error", ws_strerror(e.err)),
                     LOG_I("http_status", e.http_status));
            if (e.err == WS_ERR_MSG_TOO_BIG)
                w->st.message_too_big++;
            ev.kind = SESSION_EV_WS_CLOSED;
            ev.u.closed.code = (uint16_t)e.close_code;
            ev.u.closed.local = true;
            if (w->wsp == WSP_OPEN)
                linger_close(w);
            else
                ws_flush(w); /* the close frame the codec queued, best effort */
            ws_client_release(w);
            to_session(w, &ev);
            return;
        default: break;
        }
    }
}

/* Bytes of WebSocket input handled per poll turn (~3 ms at full ingest). */
#define WS_READ_BUDGET (1024u * 1024u)

/* While a /metrics render runs (loop_shared.h), the loop yields the CPU after every
 * WS_YIELD_BYTES of input (~0.1 ms of work at full ingest). On one core a render
 * would otherwise get half the CPU against a busy feed, and a 1M-series scrape took
 * 0.6 s instead of 0.2; with the yields it gets nearly all of it, and what arrives
 * meanwhile waits in the socket. With a core to itself, a yield returns at once. */
#define WS_YIELD_BYTES (64u * 1024u)

/* Advances the WebSocket's connection after poll. */
void ws_client_io(struct ws_client *w, short revents)
{
    int64_t now = net_now_ms();
    conn_state cs;
    const uint8_t *in;
    long n;
    if (w->wsp == WSP_NONE)
        return;
    w->io_now_ms = now;
    w->io_wall_ms = net_wall_ms();
    cs = conn_on_io(&w->c, revents, now);
    if (w->wsp == WSP_CONNECTING && cs == CONN_OPEN) {
        char host[CFG_HOST_BYTES + 16];
        int dflt = w->cfg->port == (w->cfg->tls ? 443 : 80);
        if (dflt)
            snprintf(host, sizeof host, "%s", w->cfg->host);
        else
            snprintf(host, sizeof host, "%s:%u", w->cfg->host, (unsigned)w->cfg->port);
        conn_set_stage(&w->c, CONN_STAGE_WEBSOCKET);
        ws_client_handshake(&w->ws, host, w->cfg->ws_path,
                            "User-Agent: iotpro_exporter/" IOTPRO_VERSION "\r\n");
        w->wsp = WSP_HANDSHAKE;
    }
    if (w->wsp >= WSP_HANDSHAKE) {
        /* Drain what the engine holds, then flush our output. The flush may pull
         * more records into the engine; conn_pending() makes the next poll return
         * at once for them (loop_run), so there is no read-after-flush here. */
        size_t budget = WS_READ_BUDGET;
        for (;;) {
            if (budget == 0) {
                /* Back to poll: timers, REST and publishing run between slices of a
                 * long burst (initial snapshots can be tens of MB). What is left in
                 * the TLS engine or the socket wakes poll at once (conn_pending). */
                ws_flush(w);
                if (conn_state(&w->c) == CONN_OPEN)
                    return;
                budget = SIZE_MAX; /* the write failed: read on to report the end */
            }
            /* Decrypted bytes in place (the TLS record buffer): a message whole in
             * the record is parsed where it lies. They are released only after the
             * events they raised are handled, which is what keeps those views valid. */
            n = conn_peek(&w->c, &in);
            if (n > 0) {
                size_t off = 0;
                budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
                w->io_now_ms = net_now_ms();
                w->io_wall_ms = net_wall_ms();
                w->chunk = in;
                w->chunk_len = (size_t)n;
                while (off < (size_t)n && w->wsp >= WSP_HANDSHAKE) {
                    off += ws_push(&w->ws, in + off, (size_t)n - off);
                    ws_events(w);
                }
                if (w->wsp < WSP_HANDSHAKE)
                    return;
                ws_batch_apply(w);
                w->chunk = NULL;
                conn_consume(&w->c, (size_t)n);
                if (atomic_load_explicit(&w->sh->renders, memory_order_relaxed) &&
                    (w->yield_bytes += (size_t)n) >= WS_YIELD_BYTES) {
                    w->yield_bytes = 0;
                    sched_yield();
                }
                continue;
            }
            if (n < 0) { /* the transport ended: the codec turns this into a 1006 close */
                ws_eof(&w->ws);
                if (w->wsp == WSP_HANDSHAKE) {
                    /* Cut off before a whole response: an upgrade failure too, but one
                     * that may pass by itself (a proxy restarting), so normal backoff. */
                    session_event ev = { 0 };
                    ev.kind = SESSION_EV_WS_CONN_ERROR;
                    ev.u.conn.stage = SESSION_STAGE_UPGRADE;
                    w->st.connect_failures[LOOP_STAGE_UPGRADE]++;
                    log_warn("websocket upgrade failed: connection closed before a response");
                    ws_client_release(w);
                    to_session(w, &ev);
                    return;
                }
                ws_events(w);
                return;
            }
            ws_flush(w);
            if (conn_state(&w->c) == CONN_OPEN)
                return;
            /* the write failed: read on to report the end (n < 0 above) */
        }
    }
    if (cs == CONN_FAILED || cs == CONN_CLOSED) {
        const conn_err *e = conn_error(&w->c);
        session_event ev = { 0 };
        ev.kind = SESSION_EV_WS_CONN_ERROR;
        ev.u.conn.stage = e->stage == CONN_STAGE_DNS   ? SESSION_STAGE_DNS
                          : e->stage == CONN_STAGE_TLS ? SESSION_STAGE_TLS
                                                       : SESSION_STAGE_TCP;
        w->st.connect_failures[ev.u.conn.stage == SESSION_STAGE_DNS   ? LOOP_STAGE_DNS
                               : ev.u.conn.stage == SESSION_STAGE_TLS ? LOOP_STAGE_TLS
                                                                      : LOOP_STAGE_TCP]++;
        log_warn("websocket connect failed", LOG_S("stage", conn_stage_name(e->stage)),
                 LOG_S("reason", net_reason_name(e->reason)), LOG_S("error", e->text));
        ws_client_release(w);
        to_session(w, &ev);
    }
}

/* see loop_ws.h */
void ws_client_close(struct ws_client *w, unsigned code)
{
    if (w->wsp != WSP_OPEN)
        return;
    ws_close(&w->ws, code, "shutdown");
    ws_flush(w);
}

/* see loop_ws.h */
void ws_client_abort(struct ws_client *w)
{
    if (w->wsp == WSP_CONNECTING || w->wsp == WSP_HANDSHAKE) {
        /* The session's connect deadline passed before the connection opened (failures
         * seen here were counted where they happened, and released the connection:
         * wsp is NONE then). */
        conn_state cs = conn_state_of(&w->c);
        int stage = w->wsp == WSP_HANDSHAKE ? LOOP_STAGE_UPGRADE
                    : cs == CONN_RESOLVING  ? LOOP_STAGE_DNS
                    : cs == CONN_HANDSHAKE  ? LOOP_STAGE_TLS
                                            : LOOP_STAGE_TCP;
        static const char *const names[LOOP_STAGE__COUNT] = { "dns", "tcp", "tls", "upgrade" };
        w->st.connect_failures[stage]++;
        log_warn("websocket connect timed out", LOG_S("stage", names[stage]));
    }
    ws_client_release(w);
}

/* see loop_ws.h */
int ws_client_poll(const struct ws_client *w, short *events, int64_t *deadline)
{
    const uint8_t *o;
    if (w->wsp == WSP_NONE)
        return -1;
    *events = conn_poll_events(&w->c);
    if ((w->wsp >= WSP_HANDSHAKE && ws_output(&((struct ws_client *)w)->ws, &o) > 0) ||
        conn_write_pending(&w->c))
        *events |= POLLOUT;
    *deadline = conn_deadline(&w->c);
    /* A conn_write (ours, or the flush after a read) may have pulled records into the
     * TLS engine: the socket will not wake poll for them. */
    if (conn_pending(&w->c))
        *deadline = 0;
    return conn_poll_fd(&w->c);
}

/* see loop_ws.h */
int ws_client_init(struct ws_client *w, const struct cfg *cfg, const tls_anchors *anchors,
                   struct loop_shared *sh, session_ctx *sess, struct rng *rng)
{
    subs_config uc;
    memset(w, 0, sizeof *w);
    conn_init(&w->c);
    w->cfg = cfg;
    w->anchors = anchors;
    w->sh = sh;
    w->sess = sess;
    w->rng = rng;
    /* a partial command per (entity kind, key list) at most */
    w->cmds_cap = LOOP_MAX_ASSETS / ASSETS_PER_CMD + 2 * (LIM_CFG_KEY_LISTS + 1);
    w->msg = malloc(LIM_WS_MESSAGE_DEFAULT);
    w->tok = malloc(WS_TOKENS * sizeof *w->tok);
    w->pend = calloc(LIM_PENDING_UPDATES, sizeof *w->pend);
    /* sized so that no value of a page we asked for can miss its slot (tb_feed.h);
     * only what the largest message used becomes resident */
    w->vals = malloc((WS_BATCH_VALS + WS_VALS_MAX) * sizeof *w->vals);
    w->attrs = malloc(WS_ATTRS_MAX * sizeof *w->attrs);
    w->avals = malloc(WS_ATTRS_MAX * sizeof *w->avals);
    w->abuf = malloc(WS_ATTRS_MAX * sizeof *w->abuf);
    w->scratch = malloc(TB_FEED_SCRATCH(LIM_WS_MESSAGE_DEFAULT));
    w->det = calloc(WS_DET_MAX, sizeof *w->det);
    w->cmds = calloc(w->cmds_cap, sizeof *w->cmds);
    w->ent = calloc(w->cmds_cap, sizeof *w->ent);
    w->pick = calloc(LOOP_MAX_ASSETS, sizeof *w->pick);
    w->keyptrs = calloc(LIM_CFG_KEYS, sizeof *w->keyptrs);
    if (!w->msg || !w->tok || !w->pend || !w->vals || !w->attrs || !w->avals || !w->abuf ||
        !w->scratch || !w->det || !w->cmds || !w->ent || !w->pick || !w->keyptrs) {
        ws_client_free(w);
        return -1;
    }
    tb_feed_init(&w->feed, w->tok, WS_TOKENS, w->pend, LIM_PENDING_UPDATES);
    w->fo = (tb_feed_out){ w->vals,
                           WS_VALS_MAX,
                           0,
                           w->attrs,
                           WS_ATTRS_MAX,
                           0,
                           w->scratch,
                           TB_FEED_SCRATCH(LIM_WS_MESSAGE_DEFAULT),
                           0 };
    subs_config_defaults(&uc);
    if (cfg->sub_timeout_ms)
        uc.timeout_ms = (uint32_t)cfg->sub_timeout_ms;
    if (uc.retry_first_ms > uc.timeout_ms)
        uc.retry_first_ms = uc.timeout_ms;
    subs_init(&w->subs, w->ent, (uint32_t)w->cmds_cap, &uc);
    return 0;
}

/* see loop_ws.h */
void ws_client_free(struct ws_client *w)
{
    conn_abort(&w->c);
    free(w->msg);
    free(w->tok);
    free(w->pend);
    free(w->vals);
    free(w->attrs);
    free(w->avals);
    free(w->abuf);
    free(w->scratch);
    free(w->det);
    free(w->cmds);
    free(w->ent);
    free(w->pick);
    free(w->keyptrs);
    if (w->tab)
        loop_shared_release(w->sh, w->tab);
    memset(w, 0, sizeof *w);
}
