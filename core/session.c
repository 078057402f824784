/*
 * session.c -- the ThingsBoard client state machine (see session.h for the rules).
 *
 * Two tracks share one context: the REST track runs one request at a time, chosen by
 * priority from a set of "need_*" flags, behind one retry gate; the WebSocket track walks
 * IDLE -> CONNECTING -> SUBSCRIBING -> STREAMING and falls back to BACKOFF on any loss.
 * The tracks meet in two places only: the WebSocket waits for a token newer than the one
 * a socket was rejected with, and a finished rediscovery may ask the socket to resync.
 * Every timer stored here is cleared or moved when it fires, so the loop can never spin
 * on a deadline that has already passed.
 */
#include "core/session_int.h"

#include <stddef.h>

enum {
    WS_IDLE = 0,    /* no connection tried yet */
    WS_BACKOFF,     /* waiting for ws_retry_at and/or a newer token */
    WS_CONNECTING,  /* DO_WS_CONNECT issued */
    WS_SUBSCRIBING, /* open, subscribe sent, no data yet */
    WS_STREAMING,   /* data arrived */
    WS_CLOSING,     /* shutdown: close frame sent */
    WS_DOWN         /* stopped */
};

/* see session.h */
void session_init(session_ctx *s, const session_config *cfg)
{
    static const session_ctx zero;
    *s = zero;
    if (cfg)
        s->cfg = *cfg;
    else
        session_config_defaults(&s->cfg);
    if (s->cfg.backoff_cap_ms < s->cfg.backoff_first_ms)
        s->cfg.backoff_cap_ms = s->cfg.backoff_first_ms;
    if (s->cfg.rest_429_max_ms < s->cfg.rest_429_min_ms)
        s->cfg.rest_429_max_ms = s->cfg.rest_429_min_ms;
    s->ws = WS_IDLE;
    s->endpoint = SESSION_EP_USER;
}

static void push(session_ctx *s, session_action a)
{
    if (s->q_len == sizeof s->q / sizeof s->q[0]) {
        s->err = SESSION_ERR_ACTION_OVERFLOW;
        return;
    }
    s->q[(s->q_head + s->q_len) % (sizeof s->q / sizeof s->q[0])] = a;
    s->q_len++;
}

static void push_kind(session_ctx *s, session_do kind)
{
    session_action a = { 0 };
    a.kind = kind;
    push(s, a);
}

/* see session.h */
bool session_next_action(session_ctx *s, session_action *out)
{
    static const session_action none;
    if (s->q_len == 0) {
        *out = none;
        return false;
    }
    *out = s->q[s->q_head];
    s->q_head = (s->q_head + 1) % (sizeof s->q / sizeof s->q[0]);
    s->q_len--;
    return true;
}

/* Uniform integer in [lo, hi] from 32 random bits (multiply-shift: no modulo bias
 * worth caring about at these ranges, and no division). */
static uint32_t pick(uint32_t rnd, uint32_t lo, uint32_t hi)
{
    uint64_t span = (uint64_t)hi - lo + 1;
    return lo + (uint32_t)(((uint64_t)rnd * span) >> 32);
}

/* first * 2^(n-1), capped; n >= 1. Computed by doubling so that no shift overflows. */
static uint32_t envelope(uint32_t first, uint32_t cap, uint32_t n)
{
    uint64_t e = first;
    for (uint32_t i = 1; i < n && e < cap; i++)
        e *= 2;
    return e > cap ? cap : (uint32_t)e;
}

static bool token_ok(const session_ctx *s, uint64_t now)
{
    if (!s->have_token)
        return false;
    return s->expires_at == 0 || now + s->cfg.token_margin_ms < s->expires_at;
}

static void fatal(session_ctx *s, session_fatal why)
{
    session_action a = { 0 };
    if (s->fatal)
        return;
    s->fatal = true;
    s->need_login = s->need_refresh = s->need_list = s->need_details = false;
    a.kind = SESSION_DO_FATAL;
    a.fatal = why;
    push(s, a);
}

/* ---------------------------------------------------------------- REST track ------ */

/* Starts the most important pending REST request, if the channel is free and no retry
 * gate is closed. */
static void rest_kick(session_ctx *s, uint64_t now)
{
    session_action a = { 0 };
    if (s->rest_busy || s->stopping || s->fatal || !s->started)
        return;
    if (s->rest_gate && now < s->rest_retry_at)
        return;
    s->rest_gate = false;
    /* API calls with an expired access token would only earn a 401: renew first. */
    if (!s->need_login && (s->need_list || s->need_details) && !token_ok(s, now))
        s->need_refresh = true;
    if (s->need_login) {
        a.kind = SESSION_DO_LOGIN;
        s->rest_req = SESSION_REQ_LOGIN;
    } else if (!s->have_token) {
        return;
    } else if (s->need_refresh) {
        a.kind = SESSION_DO_REFRESH;
        s->rest_req = SESSION_REQ_REFRESH;
    } else if (s->need_list) {
        a.kind = SESSION_DO_LIST_ASSETS;
        a.page = s->list_page;
        a.endpoint = s->endpoint;
        a.rediscovery = s->listing_is_rediscovery;
        s->rest_req = SESSION_REQ_ASSETS;
    } else if (s->need_details) {
        a.kind = SESSION_DO_FETCH_DETAILS;
        a.page = s->details_index;
        s->rest_req = SESSION_REQ_DETAILS;
    } else {
        return;
    }
    s->rest_busy = true;
    push(s, a);
}

/* Closes the REST gate after a failure: 429 waits a random 1-4 s (what ThingsBoard's
 * own UI does; there is no Retry-After), anything else backs off exponentially with
 * half jitter, so a REST failure loop can never be tight. */
static void rest_retry(session_ctx *s, uint64_t now, uint32_t rnd, bool too_many)
{
    uint32_t delay;
    if (too_many) {
        delay = pick(rnd, s->cfg.rest_429_min_ms, s->cfg.rest_429_max_ms);
    } else {
        uint32_t env;
        s->rest_failures++;
        env = envelope(s->cfg.rest_backoff_first_ms, s->cfg.backoff_cap_ms, s->rest_failures);
        delay = pick(rnd, env / 2, env);
    }
    s->st.rest_retries++;
    s->rest_gate = true;
    s->rest_retry_at = now + delay;
}

/* A 401 on an API call: the access token is stale (errorCode 11) or unusable. Renew
 * it, then retry the call; a second 401 in a row also waits, so that a server which
 * keeps rejecting fresh tokens cannot make us spin. */
static void rest_unauthorized(session_ctx *s, uint64_t now, uint32_t rnd, int code)
{
    if (code == 11)
        s->need_refresh = true;
    else
        s->need_login = true;
    /* Counted apart from rest_failures, which a successful refresh resets. */
    if (s->api_401++ > 0) {
        uint32_t env =
            envelope(s->cfg.rest_backoff_first_ms, s->cfg.backoff_cap_ms, s->api_401 - 1);
        s->st.rest_retries++;
        s->rest_gate = true;
        s->rest_retry_at = now + pick(rnd, env / 2, env);
    }
}

static void ws_kick(session_ctx *s, uint64_t now);

/* A new connection (or none) has a fresh update limiter: nothing of the last one's
 * errorCode-34 episodes applies to it. */
static void limit34_clear(session_ctx *s)
{
    s->resync34_pending = false;
    s->limit_episode = false;
    s->resync_at = 0;
    s->limit_episodes = 0;
    s->last_34 = 0;
}

/* The pending 34 resync may go out: its delay has passed and the episode is over (a
 * message got through the limiter, so the resync's pages can too). */
static bool resync34_due(const session_ctx *s, uint64_t now)
{
    return s->resync34_pending && !s->limit_episode && now >= s->resync_at;
}

static void resync(session_ctx *s, session_resync why)
{
    session_action a = { 0 };
    a.kind = SESSION_DO_RESYNC;
    a.resync = why;
    s->st.resyncs++;
    /* Only a 34 resync settles a pending 34 resync: one for a changed asset set may
     * have been sent inside an open episode and its pages dropped. */
    if (why == SESSION_RESYNC_TOO_MANY_UPDATES) {
        s->resync34_pending = false;
        s->resync_at = 0;
    }
    push(s, a);
}

static void listing_done(session_ctx *s, uint64_t now, bool changed)
{
    bool was_rediscovery = s->listing_is_rediscovery;
    s->need_list = false;
    s->listing_is_rediscovery = false;
    s->list_page = 0;
    if (s->cfg.rediscover_interval_ms)
        s->rediscover_at = now + s->cfg.rediscover_interval_ms;
    if (!s->assets_ready) {
        s->assets_ready = true;
        if (s->cfg.rest_details) {
            s->need_details = true;
            s->details_index = 0;
        }
        ws_kick(s, now);
        return;
    }
    if (was_rediscovery && changed) {
        if (s->cfg.rest_details) {
            s->need_details = true;
            s->details_index = 0;
        }
        if (s->ws == WS_SUBSCRIBING || s->ws == WS_STREAMING)
            resync(s, SESSION_RESYNC_ASSETS_CHANGED);
    }
}

static void on_login(session_ctx *s, const session_event *ev, uint64_t now, uint32_t rnd)
{
    int st = ev->u.http.status, code = ev->u.http.tb_error_code;
    switch (ev->u.http.cls) {
    case SESSION_HTTP_OK:
        s->st.logins_ok++;
        s->need_login = false;
        s->need_refresh = false;
        s->have_token = true;
        s->token_gen++;
        s->refresh_at = ev->u.http.refresh_at_ms;
        s->expires_at = ev->u.http.expires_at_ms;
        s->role = ev->u.http.role;
        s->rest_failures = 0;
        s->refresh_failures = 0;
        if (!s->assets_ready && !s->need_list) {
            s->need_list = true;
            s->list_page = 0;
        }
        return;
    case SESSION_HTTP_TWO_FACTOR:
        s->st.logins_failed++;
        fatal(s, SESSION_FATAL_TWO_FACTOR);
        return;
    case SESSION_HTTP_STATUS:
        s->st.logins_failed++;
        if (st == 429) {
            rest_retry(s, now, rnd, true);
        } else if (st >= 400 && st < 500 && st != 408) {
            /* The server judged the credentials (or our request): never again. */
            if (code == 15)
                fatal(s, SESSION_FATAL_PASSWORD_EXPIRED);
            else if (code == 45)
                fatal(s, SESSION_FATAL_PASSWORD_POLICY);
            else
                fatal(s, SESSION_FATAL_CREDENTIALS);
        } else {
            rest_retry(s, now, rnd, false);
        }
        return;
    default: /* transport, bad body: the password was not judged; safe to retry */
        s->st.logins_failed++;
        rest_retry(s, now, rnd, false);
        return;
    }
}

static void on_refresh(session_ctx *s, const session_event *ev, uint64_t now, uint32_t rnd)
{
    int st = ev->u.http.status;
    if (ev->u.http.cls == SESSION_HTTP_OK) {
        s->st.refreshes_ok++;
        s->need_refresh = false;
        s->token_gen++;
        s->refresh_at = ev->u.http.refresh_at_ms;
        s->expires_at = ev->u.http.expires_at_ms;
        if (ev->u.http.role != SESSION_ROLE_UNKNOWN)
            s->role = ev->u.http.role;
        s->rest_failures = 0;
        s->refresh_failures = 0;
        return;
    }
    s->st.refreshes_failed++;
    if (ev->u.http.cls == SESSION_HTTP_STATUS && st == 429) {
        /* Throttled, not broken: neither counts toward the login nor breaks the run. */
        rest_retry(s, now, rnd, true);
    } else if ((ev->u.http.cls == SESSION_HTTP_STATUS && st >= 400 && st < 500 && st != 408) ||
               ev->u.http.cls == SESSION_HTTP_TWO_FACTOR) {
        /* Refresh token expired (11), outdated or user changed (10): the password is
         * the only way back. A wrong password then ends in FATAL at the login. */
        s->need_refresh = false;
        s->need_login = true;
        s->refresh_failures = 0;
    } else {
        rest_retry(s, now, rnd, false);
        /* A refresh endpoint that keeps failing (an access token sent as the refresh
         * token earns a 500, for one) may never recover by itself: refresh, else log
         * in, after this failure's backoff. The login is judged by on_login as any
         * other: a rejected password is FATAL, never retried. */
        if (s->cfg.refresh_fails_login && ++s->refresh_failures >= s->cfg.refresh_fails_login) {
            s->refresh_failures = 0;
            s->need_refresh = false;
            s->need_login = true;
        }
    }
}

static void on_api(session_ctx *s, const session_event *ev, uint64_t now, uint32_t rnd)
{
    bool assets = ev->u.http.req == SESSION_REQ_ASSETS;
    int st = ev->u.http.status;
    switch (ev->u.http.cls) {
    case SESSION_HTTP_OK:
        s->rest_failures = 0;
        s->api_401 = 0;
        if (assets) {
            if (ev->u.http.has_next)
                s->list_page++;
            else
                listing_done(s, now, ev->u.http.assets_changed);
        } else {
            if (ev->u.http.has_next)
                s->details_index++;
            else
                s->need_details = false;
        }
        return;
    case SESSION_HTTP_INVALID_UUID:
        if (assets && s->endpoint == SESSION_EP_USER) {
            /* ThingsBoard CE: /api/user/assets matched /api/user/{userId}. */
            s->endpoint = s->role == SESSION_ROLE_CUSTOMER_USER ? SESSION_EP_CUSTOMER
                                                                : SESSION_EP_TENANT;
            s->list_page = 0;
            return;
        }
        rest_retry(s, now, rnd, false);
        return;
    case SESSION_HTTP_STATUS:
        if (st == 401)
            rest_unauthorized(s, now, rnd, ev->u.http.tb_error_code);
        else
            rest_retry(s, now, rnd, st == 429);
        return;
    default: rest_retry(s, now, rnd, false); return;
    }
}

static void on_http(session_ctx *s, const session_event *ev, uint64_t now, uint32_t rnd)
{
    if (!s->rest_busy || ev->u.http.req != s->rest_req)
        return; /* not the request in flight: stale, ignore */
    s->rest_busy = false;
    switch (ev->u.http.req) {
    case SESSION_REQ_LOGIN: on_login(s, ev, now, rnd); break;
    case SESSION_REQ_REFRESH: on_refresh(s, ev, now, rnd); break;
    default: on_api(s, ev, now, rnd); break;
    }
    rest_kick(s, now);
    ws_kick(s, now); /* a new token may be what a reconnect waits for */
}

/* ----------------------------------------------------------- WebSocket track ------ */

static void ws_connect(session_ctx *s, uint64_t now)
{
    if (s->ever_tried)
        s->st.reconnects++;
    s->ever_tried = true;
    s->st.ws_connect_attempts++;
    s->ws = WS_CONNECTING;
    s->ws_deadline = now + s->cfg.connect_timeout_ms;
    s->ws_token_gen_used = s->token_gen;
    s->ws_need_token = false;
    s->ws_token_login = false;
    push_kind(s, SESSION_DO_WS_CONNECT);
}

/* Connects when the backoff has elapsed and the token is usable; asks the REST track
 * for a new token as soon as one is needed, so both waits overlap. */
static void ws_kick(session_ctx *s, uint64_t now)
{
    bool need_token;
    if (s->stopping || s->fatal || !s->started || !s->assets_ready)
        return;
    if (s->ws != WS_IDLE && s->ws != WS_BACKOFF)
        return;
    need_token = (s->ws_need_token && s->token_gen <= s->ws_token_gen_used) || !token_ok(s, now);
    if (need_token) {
        bool pending = s->need_login || s->need_refresh ||
                       (s->rest_busy &&
                        (s->rest_req == SESSION_REQ_LOGIN || s->rest_req == SESSION_REQ_REFRESH));
        if (!pending) {
            if (s->ws_token_login || s->auth_closes >= 2 || !s->have_token)
                s->need_login = true;
            else
                s->need_refresh = true;
            rest_kick(s, now);
        }
        if (s->ws == WS_IDLE)
            s->ws = WS_BACKOFF;
        if (s->ws_retry_at <= now)
            s->ws_retry_at = 0; /* elapsed: only the token is awaited now */
        return;
    }
    if (s->ws == WS_BACKOFF && s->ws_retry_at > now)
        return;
    s->ws_retry_at = 0;
    ws_connect(s, now);
}

/* The connection is gone (the loop has released it). Count, classify, back off. */
static void ws_lost(session_ctx *s, uint64_t now, uint32_t rnd, session_reason why, bool hard)
{
    uint32_t env, delay;
    s->st.disconnects[why]++;
    s->st.last_reason = why;
    limit34_clear(s);
    s->ws_failures++;
    if (hard) {
        /* A session or queue limit, or an upgrade refused for good (wrong URL or
         * host, a proxy that does not speak WebSocket): reconnecting soon only hits it
         * again (and a herd of clients doing so is how ThingsBoard's reconnect storms
         * happened). */
        env = s->cfg.backoff_cap_ms;
        delay = pick(rnd, env / 2, env);
        if (s->ws_failures < 32)
            s->ws_failures = 32; /* stay at the cap until data flows again */
    } else {
        env = envelope(s->cfg.backoff_first_ms, s->cfg.backoff_cap_ms, s->ws_failures);
        delay = pick(rnd, 0, env);
    }
    if (why == SESSION_REASON_1007_AUTH) {
        s->auth_closes++;
        s->ws_need_token = true;
    }
    if (why == SESSION_REASON_1009)
        s->st.protocol_bugs++;
    s->st.backoff_ms = delay;
    s->st.backoff_envelope_ms = env;
    s->st.ws_failures = s->ws_failures;
    s->ws = WS_BACKOFF;
    s->ws_retry_at = now + delay;
    ws_kick(s, now);
}

static void stop_done(session_ctx *s)
{
    s->ws = WS_DOWN;
    s->stopped = true;
    push_kind(s, SESSION_DO_STOPPED);
}

static void on_stop(session_ctx *s, uint64_t now)
{
    session_action a = { 0 };
    if (s->stopping)
        return;
    s->stopping = true;
    switch (s->ws) {
    case WS_SUBSCRIBING:
    case WS_STREAMING:
        s->st.disconnects[SESSION_REASON_LOCAL_SHUTDOWN]++;
        s->st.last_reason = SESSION_REASON_LOCAL_SHUTDOWN;
        a.kind = SESSION_DO_WS_CLOSE;
        a.close_code = 1000;
        push(s, a);
        s->ws = WS_CLOSING;
        s->ws_deadline = now + s->cfg.close_timeout_ms;
        return;
    case WS_CONNECTING:
        push_kind(s, SESSION_DO_WS_ABORT);
        stop_done(s);
        return;
    default: stop_done(s); return;
    }
}

static void on_ws_gone(session_ctx *s, const session_event *ev, uint64_t now, uint32_t rnd)
{
    session_reason why;
    bool hard = false;
    if (s->ws == WS_CLOSING) {
        stop_done(s);
        return;
    }
    if (s->ws != WS_CONNECTING && s->ws != WS_SUBSCRIBING && s->ws != WS_STREAMING)
        return;
    if (ev->kind == SESSION_EV_WS_CLOSED) {
        why = session__classify_close(ev);
        hard = why == SESSION_REASON_1008_LIMIT;
    } else if (ev->kind == SESSION_EV_WS_HANDSHAKE_FAILED) {
        session_upgrade_class c = session_classify_upgrade(ev->u.handshake.status);
        why = SESSION_REASON_UPGRADE;
        if (c == SESSION_UPGRADE_TOKEN) {
            /* Old servers and auth proxies authenticate in the handshake: as a 1007
             * token close, a new token first, and a login after two in a row. */
            s->auth_closes++;
            s->ws_need_token = true;
        }
        hard = c != SESSION_UPGRADE_TRANSIENT && c != SESSION_UPGRADE_TOKEN;
    } else if (s->ws == WS_CONNECTING) {
        switch (ev->u.conn.stage) {
        case SESSION_STAGE_DNS: why = SESSION_REASON_DNS; break;
        case SESSION_STAGE_TLS: why = SESSION_REASON_TLS; break;
        case SESSION_STAGE_UPGRADE: why = SESSION_REASON_UPGRADE; break;
        default: why = SESSION_REASON_TCP; break;
        }
    } else {
        why = SESSION_REASON_1006;
    }
    if (why == SESSION_REASON_1007_AUTH && session__close_wants_login(ev))
        s->ws_token_login = true; /* the refresh token is outdated too, or ours is bad */
    ws_lost(s, now, rnd, why, hard);
}

static void on_ws_message(session_ctx *s, const session_event *ev, uint64_t now)
{
    if (s->ws != WS_SUBSCRIBING && s->ws != WS_STREAMING)
        return;
    s->last_rx = now;
    if (ev->u.msg.had_data) {
        s->ws = WS_STREAMING;
        /* The server accepted us for real: only now is the backoff forgiven. */
        s->ws_failures = 0;
        s->st.ws_failures = 0;
        s->auth_closes = 0;
    }
    if (ev->u.msg.tb_error_code == 34) {
        /* The server sends one 34 per episode; a repeat inside one changes nothing. */
        if (!s->limit_episode) {
            uint64_t at;
            if (s->limit_episodes && now - s->last_34 >= s->cfg.resync34_forgive_ms)
                s->limit_episodes = 0; /* quiet for long enough: start over at 5 s */
            if (s->limit_episodes < UINT32_MAX)
                s->limit_episodes++;
            s->limit_episode = true;
            at = now +
                 envelope(s->cfg.resync34_delay_first_ms, s->cfg.backoff_cap_ms, s->limit_episodes);
            /* A new episode before the resync went out: still one resync, later. */
            if (!s->resync34_pending || at > s->resync_at)
                s->resync_at = at;
            s->resync34_pending = true;
        }
        s->last_34 = now;
        return;
    }
    s->limit_episode = false; /* this message passed the limiter: the episode is over */
    if (resync34_due(s, now))
        resync(s, SESSION_RESYNC_TOO_MANY_UPDATES);
}

static void on_timer(session_ctx *s, uint64_t now, uint32_t rnd)
{
    if (s->ws == WS_CLOSING && now >= s->ws_deadline) {
        push_kind(s, SESSION_DO_WS_ABORT);
        stop_done(s);
        return;
    }
    if (s->stopped || s->stopping || s->fatal)
        return;
    if (s->ws == WS_CONNECTING && now >= s->ws_deadline) {
        push_kind(s, SESSION_DO_WS_ABORT);
        ws_lost(s, now, rnd, SESSION_REASON_UPGRADE, false);
    } else if ((s->ws == WS_SUBSCRIBING || s->ws == WS_STREAMING) &&
               now >= s->last_rx + s->cfg.idle_timeout_ms) {
        push_kind(s, SESSION_DO_WS_ABORT);
        ws_lost(s, now, rnd, SESSION_REASON_PING_TIMEOUT, false);
    } else if (resync34_due(s, now) && (s->ws == WS_SUBSCRIBING || s->ws == WS_STREAMING)) {
        resync(s, SESSION_RESYNC_TOO_MANY_UPDATES);
    }
    if (s->refresh_at && now >= s->refresh_at && s->have_token) {
        s->refresh_at = 0; /* the refresh result sets the next one */
        if (!s->need_login)
            s->need_refresh = true;
    }
    if (s->rediscover_at && now >= s->rediscover_at && s->assets_ready) {
        s->rediscover_at = 0; /* re-armed when the listing completes */
        if (!s->need_list) {
            s->need_list = true;
            s->list_page = 0;
            s->listing_is_rediscovery = true;
            s->st.rediscoveries++;
        }
    }
    rest_kick(s, now);
    ws_kick(s, now);
}

/* see session.h */
void session_handle(session_ctx *s, const session_event *ev, uint64_t now, uint32_t rnd)
{
    if (s->stopped)
        return;
    switch (ev->kind) {
    case SESSION_EV_START:
        if (s->started)
            return;
        s->started = true;
        s->need_login = true;
        rest_kick(s, now);
        return;
    case SESSION_EV_STOP: on_stop(s, now); return;
    case SESSION_EV_TIMER: on_timer(s, now, rnd); return;
    case SESSION_EV_HTTP_RESULT: on_http(s, ev, now, rnd); return;
    case SESSION_EV_WS_OPENED:
        if (s->ws != WS_CONNECTING)
            return;
        s->st.ws_connects++;
        s->ws = WS_SUBSCRIBING;
        s->last_rx = now;
        limit34_clear(s);
        push_kind(s, SESSION_DO_SEND_SUBSCRIBE);
        return;
    case SESSION_EV_WS_ACTIVITY:
        if (s->ws == WS_SUBSCRIBING || s->ws == WS_STREAMING)
            s->last_rx = now;
        return;
    case SESSION_EV_WS_MESSAGE: on_ws_message(s, ev, now); return;
    case SESSION_EV_WS_HANDSHAKE_FAILED:
    case SESSION_EV_WS_CLOSED:
    case SESSION_EV_WS_CONN_ERROR: on_ws_gone(s, ev, now, rnd); return;
    }
}

static void earliest(uint64_t *d, uint64_t t)
{
    if (t < *d)
        *d = t;
}

/* see session.h */
uint64_t session_next_deadline(const session_ctx *s)
{
    uint64_t d = SESSION_NEVER;
    if (s->stopped || !s->started)
        return d;
    if (s->ws == WS_CLOSING)
        return s->ws_deadline;
    if (s->fatal || s->stopping)
        return d;
    if (!s->rest_busy && s->rest_gate)
        earliest(&d, s->rest_retry_at);
    if (s->refresh_at && s->have_token)
        earliest(&d, s->refresh_at);
    if (s->rediscover_at && s->assets_ready)
        earliest(&d, s->rediscover_at);
    switch (s->ws) {
    case WS_BACKOFF:
        if (s->ws_retry_at)
            earliest(&d, s->ws_retry_at);
        break;
    case WS_CONNECTING: earliest(&d, s->ws_deadline); break;
    case WS_SUBSCRIBING:
    case WS_STREAMING:
        earliest(&d, s->last_rx + s->cfg.idle_timeout_ms);
        /* Not while the episode is open: only a message can end it, and a timer at a
         * passed resync time would fire for nothing, again and again. */
        if (s->resync34_pending && !s->limit_episode)
            earliest(&d, s->resync_at);
        break;
    default: break;
    }
    return d;
}

/* see session.h */
session_state session_get_state(const session_ctx *s)
{
    if (s->fatal)
        return SESSION_ST_FATAL;
    if (s->stopped)
        return SESSION_ST_STOPPED;
    if (!s->started)
        return SESSION_ST_IDLE;
    if (s->ws == WS_CLOSING)
        return SESSION_ST_CLOSING;
    if (!s->assets_ready)
        return s->have_token ? SESSION_ST_LIST_ASSETS : SESSION_ST_LOGIN;
    switch (s->ws) {
    case WS_CONNECTING: return SESSION_ST_CONNECTING;
    case WS_SUBSCRIBING: return SESSION_ST_SUBSCRIBING;
    case WS_STREAMING: return SESSION_ST_STREAMING;
    default: return SESSION_ST_BACKOFF;
    }
}
