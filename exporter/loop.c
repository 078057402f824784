/*
 * loop.c -- the daemon's event loop (see loop.h): the only place where core/session's
 * decisions meet the clients that carry them out. One thread; nothing here blocks
 * except poll(). The REST and WebSocket clients are loop_rest.c and loop_ws.c.
 */
#include "exporter/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/session.h"
#include "exporter/log.h"
#include "exporter/loop_rest.h"
#include "exporter/loop_ws.h"
#include "exporter/rng.h"

#define EXPIRE_EVERY_MS 10000

struct loop {
    const struct cfg *cfg;
    struct loop_shared *sh;
    loop_reload_fn reload;
    void *reload_arg;
    int pipe_rd, pipe_wr;
    int exit_code;
    int stop_sent;
    int done; /* the session said STOPPED */
    session_ctx sess;
    struct rng rng; /* backoff and resend jitter */
    struct rest_client rest;
    struct ws_client ws;
    int64_t next_expire;
    session_state last_state;
    uint64_t reloads, reload_failures;
    int last_reload_ok;
    atomic_int ready;     /* every subscription has its data (loop_ready), web threads */
    atomic_int state_pub; /* session_state for loop_state_name (web threads) */
};

static void loop_event(struct loop *l, session_event *ev)
{
    session_handle(&l->sess, ev, (uint64_t)net_now_ms(), rng_next(&l->rng));
}

/* Publishes what changed (after every batch of events): readiness, the state name,
 * and a copy of every owner's statistics for /metrics, all in one critical section so
 * that a scrape sees one consistent snapshot. */
static void publish(struct loop *l)
{
    session_state s = session_get_state(&l->sess);
    /* Up (and ready): the socket is open, authCmd and every command written, and
     * every subscription command has had its data page -- the values served are the
     * server's, not a guess. With nothing to subscribe (zero assets, or a shard whose
     * share is empty) that is authCmd written: no data will ever come then, and the
     * exporter is doing all it can. A rejected token shows as a 1007 close. */
    int up = (s == SESSION_ST_SUBSCRIBING || s == SESSION_ST_STREAMING) &&
             ws_client_all_live(&l->ws);
    subs_counts sc = subs_count(&l->ws.subs, (uint64_t)net_now_ms());
    struct loop_stats *snap = &l->sh->snap;
    atomic_store(&l->ready, up);
    atomic_store(&l->state_pub, (int)s);
    pthread_mutex_lock(&l->sh->mu);
    snap->sess = *session_get_stats(&l->sess);
    snap->subs = *subs_get_stats(&l->ws.subs);
    snap->feed = l->ws.feed.stats;
    snap->rest = l->rest.st;
    snap->ws = l->ws.st;
    snap->up = up;
    snap->ws_connected = l->ws.wsp == WSP_OPEN;
    snap->subscriptions = sc.live;
    snap->subscriptions_pending = l->ws.subs.open ? sc.queued + sc.sending + sc.pending
                                                  : l->ws.subs.n;
    snap->devices = l->sh->cur->devices;
    snap->assets = l->sh->cur->t.count - snap->devices;
    snap->backoff_ms = s == SESSION_ST_BACKOFF ? (int64_t)snap->sess.backoff_ms : 0;
    snap->reloads = l->reloads;
    snap->reload_failures = l->reload_failures;
    snap->last_reload_ok = l->last_reload_ok;
    pthread_mutex_unlock(&l->sh->mu);
    if (s != l->last_state) {
        log_info("session state", LOG_S("from", session_state_name(l->last_state)),
                 LOG_S("to", session_state_name(s)));
        l->last_state = s;
    }
}

/* ------------------------------------------------------------------ actions ------ */

/* A listing the REST client completed with a changed asset set: current from now on,
 * and its subscriptions replace the old ones. */
static void take_listing(struct loop *l, struct asset_tab *t)
{
    loop_shared_publish(l->sh, t);
    ws_client_build_cmds(&l->ws, SUBS_RESEND_ASSETS_CHANGED);
}

static void do_actions(struct loop *l)
{
    session_action a;
    size_t tn;
    const char *tok;
    while (session_next_action(&l->sess, &a)) {
        switch (a.kind) {
        case SESSION_DO_LOGIN: rest_login(&l->rest); break;
        case SESSION_DO_REFRESH: rest_refresh(&l->rest); break;
        case SESSION_DO_LIST_ASSETS: rest_list(&l->rest, &a); break;
        case SESSION_DO_FETCH_DETAILS: rest_details(&l->rest, &a); break;
        case SESSION_DO_WS_CONNECT:
            log_info("websocket connecting", LOG_S("url", l->cfg->ws_url),
                     LOG_U("attempt", session_get_stats(&l->sess)->ws_connect_attempts));
            ws_client_connect(&l->ws);
            break;
        case SESSION_DO_SEND_SUBSCRIBE:
            tok = rest_token(&l->rest, &tn);
            ws_client_subscribe(&l->ws, tok, tn);
            break;
        case SESSION_DO_RESYNC:
            /* A changed asset set was handed to the ledger with the new table
             * (take_listing): its commands are on their way already, counted under
             * iotpro_subscription_resends_total{reason="assets_changed"}. */
            if (a.resync == SESSION_RESYNC_ASSETS_CHANGED)
                break;
            l->ws.st.resyncs++;
            log_info("resubscribing", LOG_S("why", "too_many_updates"));
            ws_client_resubscribe(&l->ws, SUBS_RESEND_TOO_MANY_UPDATES);
            break;
        case SESSION_DO_WS_CLOSE: ws_client_close(&l->ws, a.close_code); break;
        case SESSION_DO_WS_ABORT:
            if (!l->stop_sent)
                ws_client_abort(&l->ws); /* counted as a connect failure by its stage */
            else
                ws_client_release(&l->ws);
            break;
        case SESSION_DO_FATAL:
            log_error("giving up: the server rejected the account; fix the configuration",
                      LOG_S("reason", session_fatal_name(a.fatal)));
            l->exit_code = LOOP_EXIT_FATAL;
            if (!l->stop_sent) {
                session_event ev = { 0 };
                ev.kind = SESSION_EV_STOP;
                l->stop_sent = 1;
                loop_event(l, &ev);
            }
            break;
        case SESSION_DO_STOPPED:
            ws_client_release(&l->ws);
            l->done = 1;
            break;
        default: break;
        }
    }
}

/* Logs the disconnects the session counted since the last call. */
static void log_disconnects(struct loop *l, uint64_t *seen)
{
    const session_stats *st = session_get_stats(&l->sess);
    for (int r = 1; r < SESSION_REASON_COUNT; r++) {
        while (seen[r] < st->disconnects[r]) {
            seen[r]++;
            /* a connection that never opened was logged as a connect failure */
            if (r == SESSION_REASON_DNS || r == SESSION_REASON_TCP || r == SESSION_REASON_TLS ||
                r == SESSION_REASON_UPGRADE || r == SESSION_REASON_LOCAL_SHUTDOWN)
                continue;
            log_warn("websocket lost", LOG_S("reason", session_reason_name((session_reason)r)),
                     LOG_D("reconnect_in_s", st->backoff_ms / 1000.0),
                     LOG_U("failures", st->ws_failures));
            if (r == SESSION_REASON_1009)
                log_error("server says our message was too big: this is a bug, please report");
        }
    }
}

static void reload(struct loop *l)
{
    const struct cfg *nc = NULL;
    unsigned ch;
    int relist;
    if (l->reload(l->reload_arg, &nc) != 0 || !nc) {
        l->reload_failures++;
        l->last_reload_ok = 0;
        return;
    }
    ch = cfg_changes(l->cfg, nc);
    relist = nc->entity_types != l->cfg->entity_types ||
             memcmp(&nc->profiles, &l->cfg->profiles, sizeof nc->profiles) != 0;
    /* metrics.ttl is read every turn; these were copied at start-up */
    if (nc->rediscover_ms != l->cfg->rediscover_ms ||
        nc->idle_timeout_ms != l->cfg->idle_timeout_ms ||
        nc->backoff_max_ms != l->cfg->backoff_max_ms ||
        nc->sub_timeout_ms != l->cfg->sub_timeout_ms ||
        nc->store_max_series != l->cfg->store_max_series)
        log_warn("rediscover interval, idle timeout, backoff cap, subscription "
                 "timeout and store size changes take effect after a restart");
    l->cfg = nc;
    rest_set_cfg(&l->rest, nc);
    ws_client_set_cfg(&l->ws, nc);
    if (ch & CFG_CHANGED_KEYS) {
        pthread_mutex_lock(&l->sh->mu);
        l->sh->attr_keys = nc->attr_keys.n;
        pthread_mutex_unlock(&l->sh->mu);
        ws_client_build_cmds(&l->ws, SUBS_RESEND_KEYS_CHANGED);
        if (relist)
            log_warn("entity type and profile changes take effect at the next listing "
                     "(--iotpro.rediscover-interval)");
    }
    if (ch & CFG_CHANGED_UPSTREAM)
        log_warn("upstream settings changed: they take effect after a restart");
    l->reloads++;
    l->last_reload_ok = 1;
}

static void on_wake(struct loop *l)
{
    char buf[16];
    ssize_t n;
    while ((n = read(l->pipe_rd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == 'T' && !l->stop_sent) {
                session_event ev = { 0 };
                ev.kind = SESSION_EV_STOP;
                l->stop_sent = 1;
                log_info("shutting down");
                loop_event(l, &ev);
            } else if (buf[i] == 'H' && l->reload) {
                reload(l);
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
    uint64_t seen[SESSION_REASON_COUNT] = { 0 };
    session_event ev = { 0 };
    ev.kind = SESSION_EV_START;
    loop_event(l, &ev);
    for (;;) {
        struct pollfd p[3];
        int np = 1, rest_i = -1, ws_i = -1, fd;
        int64_t now, dl, wd;
        short wev;
        uint64_t sd;
        do_actions(l);
        log_disconnects(l, seen);
        publish(l);
        if (l->done) /* not the state: after FATAL it stays "fatal" while stopped */
            break;
        p[0] = (struct pollfd){ l->pipe_rd, POLLIN, 0 };
        dl = INT64_MAX;
        sd = session_next_deadline(&l->sess);
        if (sd != SESSION_NEVER)
            dl = (int64_t)sd;
        if (l->rest.active) {
            httpc *h = &l->rest.http;
            if (httpc_pending(h)) /* response bytes already in the TLS engine */
                dl = 0;
            rest_i = np;
            p[np++] = (struct pollfd){ httpc_poll_fd(h), httpc_poll_events(h), 0 };
            if (httpc_deadline(h) < dl)
                dl = httpc_deadline(h);
        }
        fd = ws_client_poll(&l->ws, &wev, &wd);
        if (fd != -1 || l->ws.wsp != WSP_NONE) {
            ws_i = np;
            p[np++] = (struct pollfd){ fd, wev, 0 };
            if (wd < dl)
                dl = wd;
        }
        if (l->next_expire && l->cfg->metrics_ttl_ms && l->next_expire < dl)
            dl = l->next_expire;
        wd = ws_client_deadline(&l->ws);
        if (wd < dl)
            dl = wd;
        now = net_now_ms();
        if (poll(p, (nfds_t)np, dl == INT64_MAX ? 60000 : ms_until(now, dl)) < 0 &&
            errno != EINTR) {
            log_error("poll failed", LOG_I("errno", errno));
            l->exit_code = LOOP_EXIT_ERROR;
            break;
        }
        if (p[0].revents)
            on_wake(l);
        if (l->rest.active &&
            rest_on_io(&l->rest, rest_i >= 0 ? p[rest_i].revents : 0, net_now_ms())) {
            struct asset_tab *listed = NULL;
            session_event rev;
            rest_done(&l->rest, &rev, &listed);
            if (listed)
                take_listing(l, listed);
            loop_event(l, &rev);
        }
        if (ws_i >= 0)
            ws_client_io(&l->ws, p[ws_i].revents);
        else if (l->ws.wsp != WSP_NONE)
            ws_client_io(&l->ws, 0); /* a connection started in this turn: let it progress */
        now = net_now_ms();
        if (l->cfg->metrics_ttl_ms && now >= l->next_expire) {
            uint32_t older = (uint32_t)((now - (int64_t)l->cfg->metrics_ttl_ms) / 1000);
            pthread_mutex_lock(&l->sh->mu);
            if (now > (int64_t)l->cfg->metrics_ttl_ms)
                store_expire(&l->sh->st, older); /* the store counts what expired */
            pthread_mutex_unlock(&l->sh->mu);
            l->next_expire = now + EXPIRE_EVERY_MS;
        }
        ws_client_tick(&l->ws, now);
        ev.kind = SESSION_EV_TIMER;
        loop_event(l, &ev);
    }
    ws_client_release(&l->ws);
    httpc_close(&l->rest.http);
    return l->exit_code;
}

/* see loop.h */
struct loop *loop_create(const struct cfg *cfg, const tls_anchors *anchors, struct loop_shared *sh,
                         loop_reload_fn reload_fn, void *reload_arg)
{
    struct loop *l = calloc(1, sizeof *l);
    int fds[2];
    session_config sc;
    if (!l)
        return NULL;
    l->cfg = cfg;
    l->sh = sh;
    l->reload = reload_fn;
    l->reload_arg = reload_arg;
    l->last_reload_ok = 1;
    l->pipe_rd = l->pipe_wr = -1;
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
    if (rest_init(&l->rest, cfg, sh, anchors) != 0 ||
        ws_client_init(&l->ws, cfg, anchors, sh, &l->sess, &l->rng) != 0 ||
        pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        loop_destroy(l);
        return NULL;
    }
    l->pipe_rd = fds[0];
    l->pipe_wr = fds[1];
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
    ws_client_free(&l->ws);
    rest_free(&l->rest);
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
