/*
 * loop.c -- the daemon's event loop (see loop.h): the only place where core/session's
 * decisions meet sockets. One thread; nothing here blocks except poll() (a listing
 * that must wait for a render to release the spare asset table is polled, see
 * loop_rest_list_poll).
 * This file holds the shared data, the poll loop and the session's actions; the REST
 * and WebSocket sides are loop_rest.c and loop_ws.c.
 */
#include "exporter/loop_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/bytes.h"
#include "exporter/log.h"

/* ------------------------------------------------------------- shared data ------ */

/* see loop.h */
int loop_shared_init(struct loop_shared *sh, const struct cfg *cfg)
{
    store_config sc = {0};
    size_t tn = assets_mem_needed(LOOP_MAX_ASSETS, LOOP_ASSET_ARENA), sn;
    memset(sh, 0, sizeof *sh);
    pthread_mutex_init(&sh->mu, NULL);
    sc.max_series = cfg->store_max_series ? (uint32_t)cfg->store_max_series : LIM_SERIES_DEFAULT;
    sc.max_entities = LOOP_MAX_ASSETS;
    sc.max_strings = LOOP_MAX_STRINGS;
    sn = store_mem_needed(&sc);
    /* calloc, not malloc + memset: these blocks are sized for the maxima, and only
     * the pages the store and tables write become resident */
    sh->store_mem = calloc(1, sn);
    sh->tab_mem[0] = calloc(1, tn);
    sh->tab_mem[1] = calloc(1, tn);
    if (!sh->store_mem || !sh->tab_mem[0] || !sh->tab_mem[1] ||
        store_init(&sh->st, sh->store_mem, sn, &sc) != 0 ||
        assets_init(&sh->tab[0], sh->tab_mem[0], tn, LOOP_MAX_ASSETS, LOOP_ASSET_ARENA) != 0 ||
        assets_init(&sh->tab[1], sh->tab_mem[1], tn, LOOP_MAX_ASSETS, LOOP_ASSET_ARENA) != 0) {
        log_error("cannot allocate the store and asset tables", LOG_U("store_bytes", sn),
                  LOG_U("table_bytes", tn));
        loop_shared_free(sh);
        return -1;
    }
    store_bind_assets(&sh->st, &sh->tab[0]);
    return 0;
}

/* see loop.h */
void loop_shared_free(struct loop_shared *sh)
{
    free(sh->store_mem);
    free(sh->tab_mem[0]);
    free(sh->tab_mem[1]);
    sh->store_mem = sh->tab_mem[0] = sh->tab_mem[1] = NULL;
}

/* see loop.h */
const assets_table *loop_shared_acquire(struct loop_shared *sh)
{
    const assets_table *t;
    pthread_mutex_lock(&sh->mu);
    sh->readers[sh->cur]++;
    t = &sh->tab[sh->cur];
    pthread_mutex_unlock(&sh->mu);
    return t;
}

/* see loop.h */
void loop_shared_release(struct loop_shared *sh, const assets_table *t)
{
    int i = t == &sh->tab[1];
    pthread_mutex_lock(&sh->mu);
    if (sh->readers[i] > 0)
        sh->readers[i]--;
    pthread_mutex_unlock(&sh->mu);
}


/* ------------------------------------------------------------------ helpers ------ */

int64_t loop_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The session's random input only spreads reconnect times (backoff jitter); it has no
 * security role. A xorshift64* generator, seeded from the OS and reseeded every 4096
 * draws, keeps the per-event cost at a few instructions: every WebSocket message is a
 * session event, and a getrandom call per 256 of them was still ~1% of ingest CPU. */
static uint32_t next_rnd(struct loop *l)
{
    if (l->rnd_left == 0) {
        uint64_t seed = 0;
        if (net_random(&seed, sizeof seed) != 0)
            seed = (uint64_t)net_now_ms();
        l->rnd_state ^= seed;
        if (l->rnd_state == 0) /* xorshift's one fixed point */
            l->rnd_state = 0x9E3779B97F4A7C15ull;
        l->rnd_left = 4096;
    }
    l->rnd_left--;
    l->rnd_state ^= l->rnd_state >> 12;
    l->rnd_state ^= l->rnd_state << 25;
    l->rnd_state ^= l->rnd_state >> 27;
    return (uint32_t)((l->rnd_state * 0x2545F4914F6CDD1Dull) >> 32);
}

void loop_event_at(struct loop *l, session_event *ev, int64_t now_ms)
{
    session_handle(&l->sess, ev, (uint64_t)now_ms, next_rnd(l));
}

void loop_event(struct loop *l, session_event *ev)
{
    loop_event_at(l, ev, net_now_ms());
}

static enum health_disc disc_of(session_reason r)
{
    switch (r) {
    case SESSION_REASON_1000: return HEALTH_DISC_CLOSE_1000;
    case SESSION_REASON_1001: return HEALTH_DISC_CLOSE_1001;
    case SESSION_REASON_1006: return HEALTH_DISC_ABNORMAL_1006;
    case SESSION_REASON_1007_AUTH:
    case SESSION_REASON_1007: return HEALTH_DISC_AUTH_1007;
    case SESSION_REASON_1008_LIMIT: return HEALTH_DISC_LIMIT_1008;
    case SESSION_REASON_1008_QUEUE: return HEALTH_DISC_QUEUE_1008;
    case SESSION_REASON_1008: return HEALTH_DISC_POLICY_1008;
    case SESSION_REASON_1009: return HEALTH_DISC_TOO_BIG_1009;
    case SESSION_REASON_1011: return HEALTH_DISC_SERVER_1011;
    case SESSION_REASON_1012: return HEALTH_DISC_RESTART_1012;
    case SESSION_REASON_4500: return HEALTH_DISC_SERVER_4500;
    case SESSION_REASON_PING_TIMEOUT: return HEALTH_DISC_IDLE_TIMEOUT;
    case SESSION_REASON_PROTOCOL_ERROR: return HEALTH_DISC_PROTOCOL_ERROR;
    case SESSION_REASON_LOCAL_SHUTDOWN: return HEALTH_DISC_LOCAL_SHUTDOWN;
    default: return HEALTH_DISC_CLOSE_OTHER;
    }
}

/* Publishes what changed in the session (after every batch of events). */
static void publish(struct loop *l)
{
    const session_stats *st = session_get_stats(&l->sess);
    session_state s = session_get_state(&l->sess);
    /* Up (and ready): the socket is open, authCmd and every command written, and
     * every subscription command has had its data page -- the values served are the
     * server's, not a guess. With nothing to subscribe (zero assets, or a shard whose
     * share is empty) that is authCmd written: no data will ever come then, and the
     * exporter is doing all it can. A rejected token shows as a 1007 close. */
    int up = (s == SESSION_ST_SUBSCRIBING || s == SESSION_ST_STREAMING) && loop_ws_all_live(l);
    subs_counts sc = subs_count(&l->subs, (uint64_t)net_now_ms());
    const subs_stats *ss = subs_get_stats(&l->subs);
    atomic_store(&l->ready, up);
    atomic_store(&l->state_pub, (int)s);
    health_set(l->h, HEALTH_G_UP, up);
    health_set(l->h, HEALTH_G_SUBSCRIPTIONS, sc.live);
    health_set(l->h, HEALTH_G_SUBSCRIPTIONS_PENDING,
               l->subs.open ? (int64_t)(sc.queued + sc.sending + sc.pending) : (int64_t)l->subs.n);
    for (unsigned r = 0; r < SUBS_RESEND__COUNT; r++)
        health_set_resends(l->h, r, ss->resends[r]);
    /* updates that overtook their data page and found the buffer full: the feed's
     * own count, plus assetDetails' */
    health_limit_set(l->h, HEALTH_LIMIT_PENDING_UPDATES,
                     l->feed.stats.buffer_dropped + l->det_dropped);
    health_set(l->h, HEALTH_G_WS_CONNECTED, l->wsp == WSP_OPEN);
    health_set(l->h, HEALTH_G_RECONNECT_BACKOFF_MS,
               s == SESSION_ST_BACKOFF ? (int64_t)st->backoff_ms : 0);
    if (s != l->last_state) {
        log_info("session state", LOG_S("from", session_state_name(l->last_state)),
                 LOG_S("to", session_state_name(s)));
        l->last_state = s;
    }
}
/* ------------------------------------------------------------------ actions ------ */

static void do_actions(struct loop *l)
{
    session_action a;
    while (session_next_action(&l->sess, &a)) {
        switch (a.kind) {
        case SESSION_DO_LOGIN: loop_rest_login(l); break;
        case SESSION_DO_REFRESH: loop_rest_refresh(l); break;
        case SESSION_DO_LIST_ASSETS: loop_rest_list(l, &a); break;
        case SESSION_DO_FETCH_DETAILS: loop_rest_details(l, &a); break;
        case SESSION_DO_WS_CONNECT:
            log_info("websocket connecting", LOG_S("url", l->cfg->ws_url),
                     LOG_U("attempt", session_get_stats(&l->sess)->ws_connect_attempts));
            loop_ws_connect(l);
            break;
        case SESSION_DO_SEND_SUBSCRIBE: loop_ws_subscribe(l); break;
        case SESSION_DO_RESYNC:
            /* A changed asset set was handed to the ledger with the new table
             * (loop_ws_build_cmds): its commands are on their way already, counted
             * under iotpro_subscription_resends_total{reason="assets_changed"}. */
            if (a.resync == SESSION_RESYNC_ASSETS_CHANGED)
                break;
            health_add(l->h, HEALTH_C_RESYNCS, 1);
            log_info("resubscribing", LOG_S("why", "too_many_updates"));
            loop_ws_resubscribe(l, SUBS_RESEND_TOO_MANY_UPDATES);
            break;
        case SESSION_DO_WS_CLOSE:
            if (l->wsp == WSP_OPEN) {
                ws_close(&l->ws, a.close_code, "shutdown");
                loop_ws_flush(l);
            }
            break;
        case SESSION_DO_WS_ABORT:
            if (!l->stop_sent && (l->wsp == WSP_CONNECTING || l->wsp == WSP_HANDSHAKE)) {
                /* Not a shutdown: the session's connect deadline passed before the
                 * connection opened (failures the loop saw itself were counted where
                 * they happened, and released the connection: wsp is NONE then). */
                conn_state cs = conn_state_of(&l->wc);
                enum health_stage hs = l->wsp == WSP_HANDSHAKE ? HEALTH_STAGE_UPGRADE
                                     : cs == CONN_RESOLVING ? HEALTH_STAGE_DNS
                                     : cs == CONN_HANDSHAKE ? HEALTH_STAGE_TLS : HEALTH_STAGE_TCP;
                health_connect_failure(l->h, hs);
                log_warn("websocket connect timed out", LOG_S("stage", health_stage_name(hs)));
            }
            loop_ws_release(l);
            break;
        case SESSION_DO_FATAL:
            log_error("giving up: the server rejected the account; fix the configuration",
                      LOG_S("reason", session_fatal_name(a.fatal)));
            l->exit_code = LOOP_EXIT_FATAL;
            if (!l->stop_sent) {
                session_event ev = {0};
                ev.kind = SESSION_EV_STOP;
                l->stop_sent = 1;
                loop_event(l, &ev);
            }
            break;
        case SESSION_DO_STOPPED:
            loop_ws_release(l);
            l->done = 1;
            break;
        default:
            break;
        }
    }
}

/* Reports a disconnect counted by the session since the last call to health. */
static void count_disconnects(struct loop *l, uint64_t *seen)
{
    const session_stats *st = session_get_stats(&l->sess);
    for (int r = 1; r < SESSION_REASON_COUNT; r++) {
        while (seen[r] < st->disconnects[r]) {
            seen[r]++;
            /* A connection that never opened is a connect failure (counted by stage in
             * iotpro_ws_connect_failures_total), not a disconnect. */
            if (r == SESSION_REASON_DNS || r == SESSION_REASON_TCP || r == SESSION_REASON_TLS ||
                r == SESSION_REASON_UPGRADE)
                continue;
            health_disconnect(l->h, disc_of((session_reason)r));
            if (r != SESSION_REASON_LOCAL_SHUTDOWN)
                log_warn("websocket lost", LOG_S("reason", session_reason_name((session_reason)r)),
                         LOG_D("reconnect_in_s", st->backoff_ms / 1000.0),
                         LOG_U("failures", st->ws_failures));
            if (r == SESSION_REASON_1009)
                log_error("server says our message was too big: this is a bug, please report");
        }
    }
}

static void on_wake(struct loop *l)
{
    char buf[16];
    ssize_t n;
    while ((n = read(l->pipe_rd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == 'T' && !l->stop_sent) {
                session_event ev = {0};
                ev.kind = SESSION_EV_STOP;
                l->stop_sent = 1;
                log_info("shutting down");
                loop_event(l, &ev);
            } else if (buf[i] == 'H' && l->reload) {
                const struct cfg *nc = NULL;
                if (l->reload(l->reload_arg, &nc) == 0 && nc) {
                    unsigned ch = cfg_changes(l->cfg, nc);
                    /* metrics.ttl is read every turn; these were copied at start-up */
                    if (nc->rediscover_ms != l->cfg->rediscover_ms ||
                        nc->idle_timeout_ms != l->cfg->idle_timeout_ms ||
                        nc->backoff_max_ms != l->cfg->backoff_max_ms ||
                        nc->sub_timeout_ms != l->cfg->sub_timeout_ms ||
                        nc->store_max_series != l->cfg->store_max_series)
                        log_warn("rediscover interval, idle timeout, backoff cap, subscription "
                                 "timeout and store size changes take effect after a restart");
                    l->cfg = nc;
                    if (ch & CFG_CHANGED_KEYS)
                        loop_ws_build_cmds(l, SUBS_RESEND_KEYS_CHANGED);
                    if (ch & CFG_CHANGED_UPSTREAM)
                        log_warn("upstream settings changed: they take effect after a restart");
                    health_add(l->h, HEALTH_C_CONFIG_RELOADS, 1);
                    health_set(l->h, HEALTH_G_CONFIG_LAST_RELOAD_OK, 1);
                } else {
                    health_add(l->h, HEALTH_C_CONFIG_RELOAD_FAILS, 1);
                    health_set(l->h, HEALTH_G_CONFIG_LAST_RELOAD_OK, 0);
                }
            }
        }
    }
}

static int ms_until(int64_t now, int64_t t)
{
    if (t <= now)
        return 0;
    return t - now > 60000 ? 60000 : (int)(t - now);
}

/* see loop.h */
int loop_run(struct loop *l)
{
    uint64_t seen[SESSION_REASON_COUNT] = {0};
    session_event ev = {0};
    ev.kind = SESSION_EV_START;
    loop_event(l, &ev);
    for (;;) {
        struct pollfd p[3];
        int np = 1, rest_i = -1, ws_i = -1;
        int64_t now, dl;
        uint64_t sd;
        do_actions(l);
        count_disconnects(l, seen);
        publish(l);
        if (l->done) /* not the state: after FATAL it stays "fatal" while stopped */
            break;
        p[0] = (struct pollfd){l->pipe_rd, POLLIN, 0};
        dl = INT64_MAX;
        sd = session_next_deadline(&l->sess);
        if (sd != SESSION_NEVER)
            dl = (int64_t)sd;
        if (l->rest_active) {
            short evs = httpc_poll_events(&l->http);
            if (httpc_pending(&l->http)) /* response bytes already in the TLS engine */
                dl = 0;
            rest_i = np;
            p[np++] = (struct pollfd){httpc_poll_fd(&l->http), evs, 0};
            if (httpc_deadline(&l->http) < dl)
                dl = httpc_deadline(&l->http);
        }
        if (l->wsp != WSP_NONE) {
            const uint8_t *o;
            short evs = conn_poll_events(&l->wc);
            if ((l->wsp >= WSP_HANDSHAKE && ws_output(&l->ws, &o) > 0) || conn_write_pending(&l->wc))
                evs |= POLLOUT;
            /* A conn_write (ours, or the flush after a read) may have pulled records
             * into the TLS engine: the socket will not wake us for them. */
            if (conn_pending(&l->wc))
                dl = 0;
            ws_i = np;
            p[np++] = (struct pollfd){conn_poll_fd(&l->wc), evs, 0};
            if (conn_deadline(&l->wc) < dl)
                dl = conn_deadline(&l->wc);
        }
        if (l->next_expire && l->cfg->metrics_ttl_ms && l->next_expire < dl)
            dl = l->next_expire;
        {
            int64_t wd = loop_ws_deadline(l);
            if (wd < dl)
                dl = wd;
        }
        now = net_now_ms();
        if (l->list_waiting && now + LIST_POLL_MS < dl)
            dl = now + LIST_POLL_MS;
        if (poll(p, (nfds_t)np, dl == INT64_MAX ? 60000 : ms_until(now, dl)) < 0 && errno != EINTR) {
            log_error("poll failed", LOG_I("errno", errno));
            l->exit_code = LOOP_EXIT_ERROR;
            break;
        }
        if (p[0].revents)
            on_wake(l);
        if (l->rest_active) {
            httpc_state hs = httpc_state_of(&l->http);
            if (rest_i >= 0 && hs != HTTPC_FAILED) /* FAILED already: httpc_request refused */
                hs = httpc_on_io(&l->http, p[rest_i].revents, net_now_ms());
            if (hs == HTTPC_DONE || hs == HTTPC_FAILED) {
                l->rest_active = 0;
                if (hs == HTTPC_FAILED)
                    httpc_close(&l->http); /* the next request reconnects */
                loop_rest_done(l);
            }
        }
        loop_rest_list_poll(l, net_now_ms());
        if (ws_i >= 0)
            loop_ws_io(l, p[ws_i].revents);
        else if (l->wsp != WSP_NONE)
            loop_ws_io(l, 0); /* a connection started in this turn: let it progress */
        now = net_now_ms();
        if (l->cfg->metrics_ttl_ms && now >= l->next_expire) {
            uint32_t older = (uint32_t)((now - (int64_t)l->cfg->metrics_ttl_ms) / 1000);
            uint32_t gone;
            pthread_mutex_lock(&l->sh->mu);
            gone = now > (int64_t)l->cfg->metrics_ttl_ms ? store_expire(&l->sh->st, older) : 0;
            pthread_mutex_unlock(&l->sh->mu);
            health_add(l->h, HEALTH_C_SERIES_EXPIRED, gone);
            l->next_expire = now + EXPIRE_EVERY_MS;
        }
        loop_ws_tick(l, now, next_rnd(l));
        ev.kind = SESSION_EV_TIMER;
        loop_event(l, &ev);
    }
    loop_ws_release(l);
    httpc_close(&l->http);
    return l->exit_code;
}

/* see loop.h */
struct loop *loop_create(const struct cfg *cfg, const tls_anchors *anchors, struct health *h,
                         struct loop_shared *sh, loop_reload_fn reload, void *reload_arg)
{
    struct loop *l = calloc(1, sizeof *l);
    int fds[2];
    session_config sc;
    if (!l)
        return NULL;
    l->cfg = cfg;
    l->anchors = anchors;
    l->h = h;
    l->sh = sh;
    l->reload = reload;
    l->reload_arg = reload_arg;
    l->building = -1;
    l->pipe_rd = l->pipe_wr = -1;
    l->cmds_cap = LOOP_MAX_ASSETS / ASSETS_PER_CMD + LIM_CFG_KEY_LISTS + 1;
    l->rest_body = malloc(REST_BODY_CAP);
    l->rest_tok = malloc(REST_TOKENS * sizeof *l->rest_tok);
    l->ws_tok = malloc(WS_TOKENS * sizeof *l->ws_tok);
    l->ws_msg = malloc(LIM_WS_MESSAGE_DEFAULT);
    l->pend = calloc(LIM_PENDING_UPDATES, sizeof *l->pend);
    /* sized so that no value of a message can miss its slot (tb_feed.h); only what
     * the largest message used becomes resident */
    l->feed_vals = malloc(TB_FEED_VALS_FOR(WS_TOKENS) * sizeof *l->feed_vals);
    l->feed_attrs = malloc(LOOP_ATTRS_MAX * sizeof *l->feed_attrs);
    l->feed_scratch = malloc(TB_FEED_SCRATCH(LIM_WS_MESSAGE_DEFAULT));
    l->cmds = calloc(l->cmds_cap, sizeof *l->cmds);
    l->subs_ent = calloc(l->cmds_cap, sizeof *l->subs_ent);
    l->det = calloc(LOOP_DET_MAX, sizeof *l->det);
    l->ids = calloc(LOOP_MAX_ASSETS, sizeof *l->ids);
    l->keyptrs = calloc(LIM_CFG_KEYS, sizeof *l->keyptrs);
    if (!l->rest_body || !l->rest_tok || !l->ws_tok || !l->ws_msg || !l->pend || !l->cmds ||
        !l->feed_vals || !l->feed_attrs || !l->feed_scratch ||
        !l->ids || !l->keyptrs || !l->subs_ent || !l->det || pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        loop_destroy(l);
        return NULL;
    }
    l->pipe_rd = fds[0];
    l->pipe_wr = fds[1];
    tb_feed_init(&l->feed, l->ws_tok, WS_TOKENS, l->pend, LIM_PENDING_UPDATES);
    l->feed_out.vals = l->feed_vals;
    l->feed_out.cap = TB_FEED_VALS_FOR(WS_TOKENS);
    l->feed_out.attrs = l->feed_attrs;
    l->feed_out.attr_cap = LOOP_ATTRS_MAX;
    l->feed_out.scratch = l->feed_scratch;
    l->feed_out.scratch_cap = TB_FEED_SCRATCH(LIM_WS_MESSAGE_DEFAULT);
    httpc_init(&l->http, cfg->host, cfg->port, cfg->tls, anchors);
    conn_init(&l->wc);
    session_config_defaults(&sc);
    sc.idle_timeout_ms = cfg->idle_timeout_ms ? (uint32_t)cfg->idle_timeout_ms : sc.idle_timeout_ms;
    sc.backoff_cap_ms = cfg->backoff_max_ms ? (uint32_t)cfg->backoff_max_ms : sc.backoff_cap_ms;
    if (sc.backoff_first_ms > sc.backoff_cap_ms) /* a cap under 5 s bounds the first wait */
        sc.backoff_first_ms = sc.backoff_cap_ms;
    if (sc.rest_backoff_first_ms > sc.backoff_cap_ms)
        sc.rest_backoff_first_ms = sc.backoff_cap_ms;
    sc.rediscover_interval_ms = (uint32_t)cfg->rediscover_ms;
    sc.rest_details = cfg->asset_details == CFG_DETAILS_REST;
    session_init(&l->sess, &sc);
    {
        subs_config uc;
        subs_config_defaults(&uc);
        if (cfg->sub_timeout_ms)
            uc.timeout_ms = (uint32_t)cfg->sub_timeout_ms;
        if (uc.retry_first_ms > uc.timeout_ms)
            uc.retry_first_ms = uc.timeout_ms;
        subs_init(&l->subs, l->subs_ent, (uint32_t)l->cmds_cap, &uc);
    }
    l->last_state = SESSION_ST_IDLE;
    l->next_expire = net_now_ms() + EXPIRE_EVERY_MS;
    return l;
}

/* see loop.h */
void loop_destroy(struct loop *l)
{
    if (!l)
        return;
    if (l->pipe_rd >= 0)
        close(l->pipe_rd);
    if (l->pipe_wr >= 0)
        close(l->pipe_wr);
    conn_abort(&l->wc);
    free(l->rest_body);
    free(l->rest_tok);
    free(l->ws_tok);
    free(l->ws_msg);
    free(l->pend);
    free(l->feed_vals);
    free(l->feed_attrs);
    free(l->feed_scratch);
    free(l->cmds);
    free(l->subs_ent);
    free(l->det);
    free(l->ids);
    free(l->keyptrs);
    /* the tokens are secrets: do not leave them in freed memory */
    bytes_wipe(l->token, sizeof l->token);
    bytes_wipe(l->refresh, sizeof l->refresh);
    bytes_wipe(l->auth, sizeof l->auth);
    bytes_wipe(l->req_body, sizeof l->req_body);
    free(l);
}

/* see loop.h */
void loop_wake(struct loop *l, char what)
{
    ssize_t r = write(l->pipe_wr, &what, 1);
    (void)r; /* a full pipe already holds a wake-up */
}

/* see loop.h */
int loop_ready(const struct loop *l)
{
    return l ? atomic_load(&((struct loop *)l)->ready) : 0;
}

/* see loop.h */
const char *loop_state_name(const struct loop *l)
{
    return session_state_name((session_state)atomic_load(&((struct loop *)l)->state_pub));
}

