/*
 * test_session.c -- core/session: every rule of the client state machine, driven with a
 * fake monotonic clock and fixed random bits (no network, no real time).
 */
#include "tests/unit/session_fixture.h"

/* ---- start-up and credentials ----------------------------------------------------- */

static void test_startup_sequence(void)
{
    session_action a;
    reset(NULL);
    CHECK_STR(session_state_name(session_get_state(&S)), "idle");
    CHECK_INT(session_next_deadline(&S), SESSION_NEVER);
    ev_kind(SESSION_EV_START);
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
    CHECK_STR(session_state_name(session_get_state(&S)), "login");
    token_ok(SESSION_REQ_LOGIN, 9000 * SEC, SESSION_ROLE_TENANT_ADMIN);
    a = one();
    CHECK_INT(a.kind, SESSION_DO_LIST_ASSETS);
    CHECK_INT(a.page, 0);
    CHECK_INT(a.endpoint, SESSION_EP_USER);
    CHECK(!a.rediscovery);
    CHECK_STR(session_state_name(session_get_state(&S)), "list_assets");
    assets_ok(true, false);
    a = one();
    CHECK_INT(a.kind, SESSION_DO_LIST_ASSETS);
    CHECK_INT(a.page, 1);
    assets_ok(true, false);
    CHECK_INT(one().page, 2);
    assets_ok(false, true);
    /* The first connection is immediate: no backoff before any failure. */
    CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);
    CHECK_STR(session_state_name(session_get_state(&S)), "connecting");
    ev_kind(SESSION_EV_WS_OPENED);
    CHECK_INT(one().kind, SESSION_DO_SEND_SUBSCRIBE);
    CHECK_STR(session_state_name(session_get_state(&S)), "subscribing");
    CHECK(!session_is_streaming(&S));
    msg(true, 0);
    CHECK_STR(session_state_name(session_get_state(&S)), "streaming");
    CHECK(session_is_streaming(&S));
    CHECK_INT(session_get_stats(&S)->logins_ok, 1);
    CHECK_INT(session_get_stats(&S)->ws_connects, 1);
    CHECK_INT(session_get_stats(&S)->reconnects, 0);
    CHECK(none_left());
    CHECK_INT(session_last_error(&S), 0);
}

static void test_wrong_password_one_attempt(void)
{
    session_action a;
    reset(NULL);
    ev_kind(SESSION_EV_START);
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
    http(SESSION_REQ_LOGIN, SESSION_HTTP_STATUS, 401, 10);
    a = one();
    CHECK_INT(a.kind, SESSION_DO_FATAL);
    CHECK_INT(a.fatal, SESSION_FATAL_CREDENTIALS);
    CHECK_STR(session_fatal_name(a.fatal), "credentials_rejected");
    CHECK_STR(session_state_name(session_get_state(&S)), "fatal");
    CHECK_INT(session_next_deadline(&S), SESSION_NEVER);
    CHECK_INT(logins_after_fatal(), 0);
    /* A stray late result changes nothing either. */
    http(SESSION_REQ_LOGIN, SESSION_HTTP_STATUS, 401, 10);
    ev_kind(SESSION_EV_START);
    CHECK(none_left());
    CHECK_INT(session_get_stats(&S)->logins_failed, 1);
    CHECK_INT(session_get_stats(&S)->logins_ok, 0);
}

static void test_login_fatal_kinds(void)
{
    static const struct {
        session_http_class cls;
        int status, code;
        session_fatal want;
    } rows[] = {
        { SESSION_HTTP_TWO_FACTOR, 200, -1, SESSION_FATAL_TWO_FACTOR },
        { SESSION_HTTP_STATUS, 401, 15, SESSION_FATAL_PASSWORD_EXPIRED },
        { SESSION_HTTP_STATUS, 401, 45, SESSION_FATAL_PASSWORD_POLICY },
        { SESSION_HTTP_STATUS, 401, -1, SESSION_FATAL_CREDENTIALS },
        { SESSION_HTTP_STATUS, 403, 20, SESSION_FATAL_CREDENTIALS },
        { SESSION_HTTP_STATUS, 400, 31, SESSION_FATAL_CREDENTIALS },
    };
    for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        session_action a;
        CHECK_CTX("row %u", i);
        reset(NULL);
        ev_kind(SESSION_EV_START);
        CHECK_INT(one().kind, SESSION_DO_LOGIN);
        http(SESSION_REQ_LOGIN, rows[i].cls, rows[i].status, rows[i].code);
        a = one();
        CHECK_INT(a.kind, SESSION_DO_FATAL);
        CHECK_INT(a.fatal, rows[i].want);
        CHECK_INT(logins_after_fatal(), 0);
    }
}

static void test_login_transient_retries(void)
{
    uint64_t t0, d;
    reset(NULL);
    ev_kind(SESSION_EV_START);
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
    /* 503: exponential backoff, first envelope 1 s, delay in [0.5, 1] s. */
    t0 = NOW;
    http(SESSION_REQ_LOGIN, SESSION_HTTP_STATUS, 503, 2);
    CHECK(none_left());
    d = session_next_deadline(&S);
    CHECK(d >= t0 + 500 && d <= t0 + 1000);
    at(d - 1);
    CHECK(none_left());
    at(d);
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
    /* transport error: second failure, envelope 2 s */
    t0 = NOW;
    http(SESSION_REQ_LOGIN, SESSION_HTTP_TRANSPORT, 0, -1);
    d = session_next_deadline(&S);
    CHECK(d >= t0 + 1000 && d <= t0 + 2000);
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
    /* 429 at login (not rate-limited in CE, but a proxy may): 1-4 s */
    t0 = NOW;
    RND = 0;
    http(SESSION_REQ_LOGIN, SESSION_HTTP_STATUS, 429, 33);
    CHECK_INT(session_next_deadline(&S), t0 + 1000);
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
    /* 200 with an HTML body from a proxy: retried, not fatal */
    http(SESSION_REQ_LOGIN, SESSION_HTTP_BAD_BODY, 200, -1);
    CHECK(none_left());
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
    token_ok(SESSION_REQ_LOGIN, 9000 * SEC, SESSION_ROLE_TENANT_ADMIN);
    CHECK_INT(one().kind, SESSION_DO_LIST_ASSETS);
    CHECK_INT(session_get_stats(&S)->logins_failed, 4);
    CHECK_INT(session_get_stats(&S)->logins_ok, 1);
}

/* ---- tokens ------------------------------------------------------------------------ */

static void test_background_refresh_keeps_socket(void)
{
    uint64_t life = 60 * SEC, t0;
    reset(NULL);
    t0 = NOW;
    bring_up(life);
    /* Keep the socket alive with pings until the refresh time (80% of the lifetime). */
    while (NOW + 10 * SEC < t0 + life * 8 / 10) {
        NOW += 10 * SEC;
        ev_kind(SESSION_EV_WS_ACTIVITY);
        ev_kind(SESSION_EV_TIMER);
        CHECK(none_left());
    }
    to_deadline();
    CHECK_INT(NOW, t0 + life * 8 / 10);
    CHECK_INT(one().kind, SESSION_DO_REFRESH); /* nothing for the socket */
    CHECK(session_is_streaming(&S));
    token_ok(SESSION_REQ_REFRESH, life, SESSION_ROLE_UNKNOWN);
    CHECK(none_left());
    CHECK(session_is_streaming(&S));
    CHECK_INT(session_get_stats(&S)->refreshes_ok, 1);
    /* The token is allowed to expire under an open socket: still nothing happens to
     * the socket, and the next reconnect uses the newest token (DO_WS_CONNECT is
     * issued only after the refresh, see the token tests below). */
    CHECK_INT(session_get_stats(&S)->ws_connects, 1);
}

static void test_refresh_rejected_logs_in(void)
{
    static const int codes[] = { 11, 10 };
    for (unsigned i = 0; i < 2; i++) {
        CHECK_CTX("errorCode %d", codes[i]);
        reset(NULL);
        bring_up(60 * SEC);
        live_to_deadline();
        CHECK_INT(one().kind, SESSION_DO_REFRESH);
        http(SESSION_REQ_REFRESH, SESSION_HTTP_STATUS, 401, codes[i]);
        CHECK_INT(one().kind, SESSION_DO_LOGIN);
        CHECK(session_is_streaming(&S)); /* the socket is not touched */
        token_ok(SESSION_REQ_LOGIN, 60 * SEC, SESSION_ROLE_CUSTOMER_USER);
        CHECK(none_left());
        CHECK_INT(session_get_stats(&S)->logins_ok, 2);
        CHECK_INT(session_get_stats(&S)->refreshes_failed, 1);
    }
    /* ... and when that login is refused, FATAL: still exactly one failed login. */
    reset(NULL);
    bring_up(60 * SEC);
    live_to_deadline();
    CHECK_INT(one().kind, SESSION_DO_REFRESH);
    http(SESSION_REQ_REFRESH, SESSION_HTTP_STATUS, 401, 10);
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
    http(SESSION_REQ_LOGIN, SESSION_HTTP_STATUS, 401, 10);
    CHECK_INT(one().fatal, SESSION_FATAL_CREDENTIALS);
    CHECK_INT(logins_after_fatal(), 0);
}

static void test_refresh_transient_retries(void)
{
    reset(NULL);
    bring_up(60 * SEC);
    live_to_deadline();
    CHECK_INT(one().kind, SESSION_DO_REFRESH);
    http(SESSION_REQ_REFRESH, SESSION_HTTP_STATUS, 500, 2);
    CHECK(none_left());
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_REFRESH);
    http(SESSION_REQ_REFRESH, SESSION_HTTP_STATUS, 429, 33);
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_REFRESH);
    CHECK(session_is_streaming(&S));
}

/* 1007 "JWT Token expired": a refresh first, then the reconnect, within one backoff. */
static void test_1007_refresh_then_reconnect(void)
{
    session_action a[8];
    uint64_t t_close, d;
    reset(NULL);
    bring_up(60 * SEC);
    RND = 0xffffffffu; /* the longest delay of the first step: 5 s */
    t_close = NOW;
    closed(1007, "JWT Token expired");
    CHECK_INT(one().kind, SESSION_DO_REFRESH); /* at once, in parallel with the wait */
    CHECK_STR(session_reason_name(session_get_stats(&S)->last_reason), "remote_close_1007_auth");
    CHECK_INT(session_get_stats(&S)->backoff_envelope_ms, 5000);
    token_ok(SESSION_REQ_REFRESH, 60 * SEC, SESSION_ROLE_UNKNOWN);
    CHECK(none_left());
    d = session_next_deadline(&S);
    CHECK(d <= t_close + 5000);
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);

    /* The other order: the backoff elapses first (delay 0); the connect waits for the
     * refresh and follows it immediately. */
    reset(NULL);
    bring_up(60 * SEC);
    RND = 0;
    closed(1007, "JWT Token expired");
    CHECK_INT(drain(a, 8), 1);
    CHECK_INT(a[0].kind, SESSION_DO_REFRESH);
    NOW += 3 * SEC;
    ev_kind(SESSION_EV_TIMER);
    CHECK(none_left());                            /* no connect with the rejected token */
    CHECK_INT(session_next_deadline(&S) > NOW, 1); /* and no spinning timer */
    token_ok(SESSION_REQ_REFRESH, 60 * SEC, SESSION_ROLE_UNKNOWN);
    CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);
}

static void test_1007_outdated_or_repeated_logs_in(void)
{
    reset(NULL);
    bring_up(60 * SEC);
    closed(1007, "Token is outdated");
    CHECK_INT(one().kind, SESSION_DO_LOGIN);

    reset(NULL);
    bring_up(60 * SEC);
    closed(1007, "Invalid JWT token: ");
    CHECK_INT(one().kind, SESSION_DO_LOGIN);

    /* "expired" twice in a row although refreshed: the refresh does not help (token of
     * another server, rotated key): log in. */
    reset(NULL);
    bring_up(60 * SEC);
    closed(1007, "JWT Token expired");
    CHECK_INT(one().kind, SESSION_DO_REFRESH);
    token_ok(SESSION_REQ_REFRESH, 60 * SEC, SESSION_ROLE_UNKNOWN);
    reconnect_and_open();
    closed(1007, "JWT Token expired");
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
}

static void test_handshake_401_gets_token(void)
{
    session_event e = { 0 };
    reset(NULL);
    bring_up(60 * SEC);
    closed(1006, NULL);
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);
    e.kind = SESSION_EV_WS_HANDSHAKE_FAILED;
    e.u.handshake.status = 401;
    ev(e);
    CHECK_INT(one().kind, SESSION_DO_REFRESH);
    CHECK_STR(session_reason_name(session_get_stats(&S)->last_reason), "upgrade");
}

static void test_expired_token_refreshed_before_reconnect(void)
{
    reset(NULL);
    bring_up(60 * SEC);
    /* The refresh fails for a long time (server 500s) while the socket streams. */
    live_to_deadline();
    CHECK_INT(one().kind, SESSION_DO_REFRESH);
    http(SESSION_REQ_REFRESH, SESSION_HTTP_TRANSPORT, 0, -1);
    NOW += 59 * SEC; /* token now expired (with its margin) */
    ev_kind(SESSION_EV_WS_ACTIVITY);
    closed(1006, NULL);
    /* The retry of the refresh is still gated; no connect with an expired token. */
    for (int i = 0; i < 5; i++) {
        session_action a[8];
        int n;
        to_deadline();
        n = drain(a, 8);
        for (int k = 0; k < n && k < 8; k++)
            CHECK(a[k].kind != SESSION_DO_WS_CONNECT);
        if (n == 1 && a[0].kind == SESSION_DO_REFRESH)
            break;
    }
    token_ok(SESSION_REQ_REFRESH, 60 * SEC, SESSION_ROLE_UNKNOWN);
    if (session_next_deadline(&S) != SESSION_NEVER && none_left())
        to_deadline();
    CHECK_INT(session_get_state(&S), SESSION_ST_CONNECTING);
}

/* ---- close classification and backoff --------------------------------------------- */

static void test_transient_closes(void)
{
    static const struct {
        uint16_t code;
        const char *reason;
        const char *label;
    } rows[] = {
        { 1000, NULL, "remote_close_1000" },
        { 1001, "going away", "remote_close_1001" },
        { 1006, NULL, "remote_close_1006" },
        { 1011, "Session not found!", "remote_close_1011" },
        { 1012, NULL, "remote_close_1012" },
        { 4500, "Closing session due to ping timeout", "remote_close_4500" },
        { 1009, "The decoded text message was too big", "remote_close_1009" },
        { 1007, "Unknown session type", "remote_close_1007" },
        { 1008, "Auth cmd is missing", "remote_close_1008" },
        { 1008, "Max pending updates limit reached!", "remote_close_1008_queue" },
        { 1008, NULL, "remote_close_1008" },
        { 3000, "x", "remote_close_other" },
    };
    for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint64_t t0, d;
        CHECK_CTX("close %u %s", rows[i].code, rows[i].reason ? rows[i].reason : "");
        reset(NULL);
        bring_up(9000 * SEC);
        RND = 0xffffffffu;
        t0 = NOW;
        closed(rows[i].code, rows[i].reason);
        CHECK(none_left()); /* no token request, no fatal */
        CHECK_STR(session_reason_name(session_get_stats(&S)->last_reason), rows[i].label);
        CHECK_STR(session_state_name(session_get_state(&S)), "backoff");
        d = session_next_deadline(&S);
        CHECK(d <= t0 + 5000);
        CHECK(d >= t0 + 4990); /* RND max: the top of the first envelope */
        to_deadline();
        CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);
        CHECK_INT(session_get_stats(&S)->reconnects, 1);
        CHECK_INT(session_get_stats(&S)->protocol_bugs, rows[i].code == 1009);
    }
    /* A failure we detected ourselves (bad frame): protocol_error. */
    reset(NULL);
    bring_up(9000 * SEC);
    {
        session_event e = { 0 };
        e.kind = SESSION_EV_WS_CLOSED;
        e.u.closed.code = 1002;
        e.u.closed.local = true;
        ev(e);
    }
    CHECK_STR(session_reason_name(session_get_stats(&S)->last_reason), "protocol_error");
    /* A reset after open is a 1006. */
    reconnect_and_open();
    conn_error(SESSION_STAGE_IO);
    CHECK_STR(session_reason_name(session_get_stats(&S)->last_reason), "remote_close_1006");
}

static void test_1008_limit_backs_off_hard(void)
{
    uint64_t t0, d;
    reset(NULL);
    bring_up(9000 * SEC);
    RND = 0;
    t0 = NOW;
    closed(1008, "Max tenant sessions limit reached!");
    CHECK(none_left());
    CHECK_STR(session_reason_name(session_get_stats(&S)->last_reason), "remote_close_1008_limit");
    d = session_next_deadline(&S);
    CHECK(d >= t0 + 30000 && d <= t0 + 60000);
    CHECK_INT(session_get_stats(&S)->backoff_envelope_ms, 60000);
    /* The next ordinary failure stays at the cap (no data arrived in between). */
    reconnect_and_open();
    RND = 0x80000000u;
    closed(4500, NULL);
    CHECK_INT(session_get_stats(&S)->backoff_envelope_ms, 60000);
    /* Data resets it. */
    reconnect_and_open();
    msg(true, 0);
    closed(1006, NULL);
    CHECK_INT(session_get_stats(&S)->backoff_envelope_ms, 5000);
}

/* 200 consecutive failures of every kind, random bits from an LCG. */
static void test_backoff_property_200_failures(void)
{
    uint32_t lcg = 12345, prev_env = 0, min_d = UINT32_MAX, max_d = 0;
    uint64_t sum = 0;
    bool reached_cap = false;
    session_config cfg;
    session_config_defaults(&cfg);
    cfg.rediscover_interval_ms = 0; /* only the WebSocket track in this test */
    reset(&cfg);
    bring_up(1000000 * SEC);
    for (int i = 0; i < 200; i++) {
        const session_stats *st = session_get_stats(&S);
        uint64_t t0 = NOW, d;
        lcg = lcg * 1664525u + 1013904223u;
        RND = lcg;
        CHECK_CTX("failure %d", i);
        switch (i % 4) { /* mix: drops, refused connects, open-then-close, timeouts */
        case 0: closed(1006, NULL); break;
        case 1: conn_error(SESSION_STAGE_TCP); break;
        case 2: closed(1011, NULL); break;
        default:
            at(NOW + 45 * SEC);
            CHECK_INT(one().kind, SESSION_DO_WS_ABORT);
            break;
        }
        if (i % 4 == 3)
            t0 = NOW;
        CHECK_INT(st->ws_failures, i + 1);
        CHECK(st->backoff_envelope_ms >= prev_env); /* non-decreasing envelope */
        CHECK(st->backoff_envelope_ms <= 60000);
        CHECK(st->backoff_ms <= st->backoff_envelope_ms);
        if (i == 0) {
            CHECK_INT(st->backoff_envelope_ms, 5000); /* first delay in [0, 5] s */
            CHECK(st->backoff_ms <= 5000);
        }
        reached_cap |= st->backoff_envelope_ms == 60000;
        prev_env = st->backoff_envelope_ms;
        if (i >= 10) {
            if (st->backoff_ms < min_d)
                min_d = st->backoff_ms;
            if (st->backoff_ms > max_d)
                max_d = st->backoff_ms;
            sum += st->backoff_ms;
        }
        d = session_next_deadline(&S);
        CHECK_INT(d, t0 + st->backoff_ms);
        /* Nothing happens before the deadline. */
        if (d > NOW + 1) {
            at(d - 1);
            CHECK(none_left());
        }
        at(d);
        CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);
        if (i % 4 != 1) {
            /* a 101 alone does not reset the backoff */
            ev_kind(SESSION_EV_WS_OPENED);
            CHECK_INT(one().kind, SESSION_DO_SEND_SUBSCRIBE);
            msg(false, 2); /* an error reply is not data */
        }
    }
    CHECK_CTX("summary");
    CHECK(reached_cap);
    CHECK(max_d > min_d + 10000);                  /* jitter present */
    CHECK(sum / 190 > 15000 && sum / 190 < 45000); /* full jitter: mean near cap/2 */
    CHECK_INT(session_get_stats(&S)->reconnects, 200);
    /* Data on the connection opened last (i = 199) resets the backoff. */
    CHECK_INT(session_get_state(&S), SESSION_ST_SUBSCRIBING);
    msg(true, 0);
    CHECK_INT(session_get_stats(&S)->ws_failures, 0);
    RND = 0xffffffffu;
    closed(1006, NULL);
    CHECK_INT(session_get_stats(&S)->backoff_envelope_ms, 5000);
    CHECK(session_get_stats(&S)->backoff_ms <= 5000);
    CHECK_INT(session_last_error(&S), 0);
}

static void test_idle_timeout_and_connect_timeout(void)
{
    uint64_t t0;
    reset(NULL);
    bring_up(9000 * SEC);
    /* Pings every 10 s keep it alive for ever. */
    for (int i = 0; i < 20; i++) {
        NOW += 10 * SEC;
        ev_kind(SESSION_EV_WS_ACTIVITY);
        ev_kind(SESSION_EV_TIMER);
        CHECK(none_left());
    }
    /* Then silence: dead exactly 45 s after the last frame. */
    t0 = NOW;
    CHECK_INT(session_next_deadline(&S), t0 + 45 * SEC);
    at(t0 + 45 * SEC - 1);
    CHECK(none_left());
    at(t0 + 45 * SEC);
    CHECK_INT(one().kind, SESSION_DO_WS_ABORT);
    CHECK_STR(session_reason_name(session_get_stats(&S)->last_reason), "ping_timeout");
    CHECK_INT(session_get_stats(&S)->disconnects[SESSION_REASON_PING_TIMEOUT], 1);
    /* A late close event for the aborted connection is ignored. */
    closed(1006, NULL);
    CHECK_INT(session_get_stats(&S)->disconnects[SESSION_REASON_1006], 0);
    /* Connect that never completes: aborted at connect_timeout. */
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);
    t0 = NOW;
    CHECK_INT(session_next_deadline(&S), t0 + 20 * SEC);
    at(t0 + 20 * SEC);
    CHECK_INT(one().kind, SESSION_DO_WS_ABORT);
    CHECK_STR(session_reason_name(session_get_stats(&S)->last_reason), "upgrade");
    CHECK_INT(session_get_stats(&S)->backoff_envelope_ms, 10000);
}

static void test_connect_stage_reasons(void)
{
    static const struct {
        session_stage st;
        const char *label;
    } rows[] = {
        { SESSION_STAGE_DNS, "dns" },
        { SESSION_STAGE_TCP, "tcp" },
        { SESSION_STAGE_TLS, "tls" },
        { SESSION_STAGE_UPGRADE, "upgrade" },
    };
    reset(NULL);
    bring_up(9000 * SEC);
    closed(1006, NULL);
    for (unsigned i = 0; i < 4; i++) {
        CHECK_CTX("%s", rows[i].label);
        to_deadline();
        CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);
        conn_error(rows[i].st);
        CHECK_STR(session_reason_name(session_get_stats(&S)->last_reason), rows[i].label);
        CHECK_INT(session_get_stats(&S)->disconnects[session_get_stats(&S)->last_reason], 1);
    }
}

/* ---- REST --------------------------------------------------------------------------- */

static void test_rest_429_jitter(void)
{
    static const uint32_t rnds[] = { 0, 0x80000000u, 0xffffffffu };
    static const uint32_t want[] = { 1000, 2500, 4000 };
    reset(NULL);
    ev_kind(SESSION_EV_START);
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
    token_ok(SESSION_REQ_LOGIN, 9000 * SEC, SESSION_ROLE_TENANT_ADMIN);
    CHECK_INT(one().kind, SESSION_DO_LIST_ASSETS);
    for (int round = 0; round < 6; round++) {
        session_action a;
        uint64_t t0 = NOW;
        CHECK_CTX("round %d", round);
        RND = rnds[round % 3];
        http(SESSION_REQ_ASSETS, SESSION_HTTP_STATUS, 429, 33);
        CHECK(none_left());
        /* no growth for 429: always 1-4 s */
        CHECK_DBL((double)(session_next_deadline(&S) - t0), want[round % 3], 1.0);
        to_deadline();
        a = one();
        CHECK_INT(a.kind, SESSION_DO_LIST_ASSETS);
        CHECK_INT(a.page, 0);
    }
}

static void test_rest_5xx_backoff(void)
{
    uint64_t prev = 0;
    reset(NULL);
    ev_kind(SESSION_EV_START);
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
    token_ok(SESSION_REQ_LOGIN, 900000 * SEC, SESSION_ROLE_TENANT_ADMIN);
    CHECK_INT(one().kind, SESSION_DO_LIST_ASSETS);
    assets_ok(true, false);
    CHECK_INT(one().page, 1);
    RND = 0xffffffffu; /* the top of each envelope */
    for (int i = 0; i < 10; i++) {
        uint64_t t0 = NOW, delay;
        CHECK_CTX("failure %d", i);
        http(SESSION_REQ_ASSETS, i % 2 ? SESSION_HTTP_TRANSPORT : SESSION_HTTP_STATUS, 502, -1);
        delay = session_next_deadline(&S) - t0;
        CHECK(delay >= prev);
        CHECK(delay <= 60000);
        if (i == 0)
            CHECK_INT(delay, 1000);
        if (i >= 6)
            CHECK_INT(delay, 60000);
        prev = delay;
        to_deadline();
        CHECK_INT(one().page, 1); /* the same page again */
    }
    assets_ok(false, true);
    CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);
    CHECK_INT(session_get_stats(&S)->rest_retries, 10);
}

static void test_rest_401_renews_token_and_retries(void)
{
    session_action a;
    reset(NULL);
    ev_kind(SESSION_EV_START);
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
    token_ok(SESSION_REQ_LOGIN, 9000 * SEC, SESSION_ROLE_TENANT_ADMIN);
    CHECK_INT(one().kind, SESSION_DO_LIST_ASSETS);
    assets_ok(true, false);
    CHECK_INT(one().page, 1);
    http(SESSION_REQ_ASSETS, SESSION_HTTP_STATUS, 401, 11);
    CHECK_INT(one().kind, SESSION_DO_REFRESH);
    token_ok(SESSION_REQ_REFRESH, 9000 * SEC, SESSION_ROLE_UNKNOWN);
    a = one();
    CHECK_INT(a.kind, SESSION_DO_LIST_ASSETS);
    CHECK_INT(a.page, 1);
    /* a 401 other than "expired": log in again */
    http(SESSION_REQ_ASSETS, SESSION_HTTP_STATUS, 401, 10);
    CHECK(none_left()); /* the second 401 in a row waits first */
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
}

static void test_ce_fallback(void)
{
    static const struct {
        session_role role;
        session_endpoint ep;
    } rows[] = {
        { SESSION_ROLE_TENANT_ADMIN, SESSION_EP_TENANT },
        { SESSION_ROLE_CUSTOMER_USER, SESSION_EP_CUSTOMER },
    };
    for (unsigned i = 0; i < 2; i++) {
        session_action a;
        CHECK_CTX("role %d", (int)rows[i].role);
        reset(NULL);
        ev_kind(SESSION_EV_START);
        CHECK_INT(one().kind, SESSION_DO_LOGIN);
        token_ok(SESSION_REQ_LOGIN, 9000 * SEC, rows[i].role);
        a = one();
        CHECK_INT(a.endpoint, SESSION_EP_USER);
        http(SESSION_REQ_ASSETS, SESSION_HTTP_INVALID_UUID, 400, 31);
        a = one();
        CHECK_INT(a.kind, SESSION_DO_LIST_ASSETS);
        CHECK_INT(a.endpoint, rows[i].ep);
        CHECK_INT(a.page, 0);
        assets_ok(false, true);
        CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);
        ev_kind(SESSION_EV_WS_OPENED);
        CHECK_INT(one().kind, SESSION_DO_SEND_SUBSCRIBE);
        msg(true, 0);
        /* Permanent: the rediscovery uses the fallback too. */
        for (int k = 0; k < 40; k++) {
            NOW += 10 * SEC;
            ev_kind(SESSION_EV_WS_ACTIVITY);
            ev_kind(SESSION_EV_TIMER);
            if (session_next_action(&S, &a))
                break;
        }
        CHECK_INT(a.kind, SESSION_DO_LIST_ASSETS);
        CHECK(a.rediscovery);
        CHECK_INT(a.endpoint, rows[i].ep);
        CHECK_INT(session_get_endpoint(&S), rows[i].ep);
    }
    /* A 400 "Invalid UUID" from the fallback endpoint itself is only retried. */
    http(SESSION_REQ_ASSETS, SESSION_HTTP_INVALID_UUID, 400, 31);
    CHECK(none_left());
    CHECK_INT(session_get_endpoint(&S), SESSION_EP_CUSTOMER);
}

/* ---- streaming features ------------------------------------------------------------- */

static void test_rediscovery(void)
{
    session_action a;
    uint64_t t0;
    reset(NULL);
    t0 = NOW;
    bring_up(900000 * SEC);
    /* Keep alive; the listing starts exactly 5 min after the first one ended. */
    while (NOW + 10 * SEC < t0 + 300 * SEC) {
        NOW += 10 * SEC;
        ev_kind(SESSION_EV_WS_ACTIVITY);
        ev_kind(SESSION_EV_TIMER);
        CHECK(none_left());
    }
    ev_kind(SESSION_EV_WS_ACTIVITY);
    to_deadline();
    CHECK_INT(NOW, t0 + 300 * SEC);
    a = one();
    CHECK_INT(a.kind, SESSION_DO_LIST_ASSETS);
    CHECK(a.rediscovery);
    CHECK_INT(a.page, 0);
    CHECK(session_is_streaming(&S)); /* in the background */
    assets_ok(true, false);
    a = one();
    CHECK_INT(a.page, 1);
    CHECK(a.rediscovery);
    assets_ok(false, false); /* unchanged: nothing to do */
    CHECK(none_left());
    CHECK_INT(session_get_stats(&S)->rediscoveries, 1);
    /* Next round: the set changed -> resubscribe. */
    t0 = NOW;
    while (NOW + 10 * SEC < t0 + 300 * SEC) {
        NOW += 10 * SEC;
        ev_kind(SESSION_EV_WS_ACTIVITY);
        ev_kind(SESSION_EV_TIMER);
        CHECK(none_left());
    }
    ev_kind(SESSION_EV_WS_ACTIVITY);
    to_deadline();
    CHECK(one().rediscovery);
    assets_ok(false, true);
    a = one();
    CHECK_INT(a.kind, SESSION_DO_RESYNC);
    CHECK_INT(a.resync, SESSION_RESYNC_ASSETS_CHANGED);
    CHECK(session_is_streaming(&S));
    /* While disconnected a changed set needs no resync: the next connect subscribes. */
    closed(1006, NULL);
    drain(&a, 1);
    session_init(&S, NULL);
}

/* errorCode 34: never at once (the limiter would drop the new pages too); once the
 * delay (5 s) has passed AND a message got through after the notice. More rules in
 * test_session_flow.c. */
static void test_error34_resync_rate_limited(void)
{
    session_action a;
    uint64_t t0;
    reset(NULL);
    bring_up(900000 * SEC);
    t0 = NOW;
    msg(false, 34);
    CHECK(none_left()); /* no resync inside the episode */
    /* Only the idle timeout: the resync cannot fire while the episode is open. */
    CHECK_INT(session_next_deadline(&S), t0 + 45 * SEC);
    NOW += 2 * SEC;
    msg(false, 34);
    msg(false, 34);
    CHECK(none_left()); /* repeats change nothing */
    NOW = t0 + 3 * SEC;
    msg(true, 0); /* got through: the episode is over, the delay not yet */
    CHECK(none_left());
    CHECK_INT(session_next_deadline(&S), t0 + 5 * SEC);
    at(t0 + 5 * SEC - 1);
    CHECK(none_left());
    to_deadline();
    CHECK_INT(NOW, t0 + 5 * SEC);
    a = one();
    CHECK_INT(a.kind, SESSION_DO_RESYNC);
    CHECK_INT(a.resync, SESSION_RESYNC_TOO_MANY_UPDATES);
    CHECK_INT(session_get_stats(&S)->resyncs, 1);
    CHECK_INT(session_next_deadline(&S), t0 + 3 * SEC + 45 * SEC); /* idle only */
    CHECK(session_is_streaming(&S));
}

static void test_rest_details(void)
{
    session_config cfg;
    session_action a[8];
    int n;
    session_config_defaults(&cfg);
    cfg.rest_details = true;
    reset(&cfg);
    ev_kind(SESSION_EV_START);
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
    token_ok(SESSION_REQ_LOGIN, 9000 * SEC, SESSION_ROLE_TENANT_ADMIN);
    CHECK_INT(one().kind, SESSION_DO_LIST_ASSETS);
    assets_ok(false, true);
    n = drain(a, 8);
    CHECK_INT(n, 2); /* streaming does not wait for the details */
    CHECK_INT(a[0].kind, SESSION_DO_WS_CONNECT);
    CHECK_INT(a[1].kind, SESSION_DO_FETCH_DETAILS);
    CHECK_INT(a[1].page, 0);
    for (uint32_t i = 1; i < 3; i++) {
        session_event e = { 0 };
        e.kind = SESSION_EV_HTTP_RESULT;
        e.u.http.req = SESSION_REQ_DETAILS;
        e.u.http.has_next = true;
        ev(e);
        CHECK_INT(one().page, i);
    }
    http(SESSION_REQ_DETAILS, SESSION_HTTP_STATUS, 503, -1);
    to_deadline();
    CHECK_INT(one().page, 2);
    http(SESSION_REQ_DETAILS, SESSION_HTTP_OK, 200, -1); /* has_next false: done */
    CHECK(none_left());
    /* Without the option no details are ever asked for. */
    reset(NULL);
    bring_up(9000 * SEC);
    CHECK_INT(session_get_state(&S), SESSION_ST_STREAMING);
}

static void test_shutdown(void)
{
    session_action a;
    reset(NULL);
    bring_up(9000 * SEC);
    ev_kind(SESSION_EV_STOP);
    a = one();
    CHECK_INT(a.kind, SESSION_DO_WS_CLOSE);
    CHECK_INT(a.close_code, 1000);
    CHECK_STR(session_state_name(session_get_state(&S)), "closing");
    CHECK_INT(session_next_deadline(&S), NOW + 1500);
    closed(1000, NULL);
    CHECK_INT(one().kind, SESSION_DO_STOPPED);
    CHECK_STR(session_state_name(session_get_state(&S)), "stopped");
    CHECK_INT(session_get_stats(&S)->disconnects[SESSION_REASON_LOCAL_SHUTDOWN], 1);
    CHECK_INT(session_next_deadline(&S), SESSION_NEVER);

    /* The server never answers the close: abort at the close timeout. */
    reset(NULL);
    bring_up(9000 * SEC);
    ev_kind(SESSION_EV_STOP);
    CHECK_INT(one().kind, SESSION_DO_WS_CLOSE);
    to_deadline();
    {
        session_action a2[8];
        CHECK_INT(drain(a2, 8), 2);
        CHECK_INT(a2[0].kind, SESSION_DO_WS_ABORT);
        CHECK_INT(a2[1].kind, SESSION_DO_STOPPED);
    }

    /* Stop while backing off: immediate. While connecting: abort then stopped. */
    reset(NULL);
    bring_up(9000 * SEC);
    closed(1006, NULL);
    ev_kind(SESSION_EV_STOP);
    CHECK_INT(one().kind, SESSION_DO_STOPPED);
    reset(NULL);
    ev_kind(SESSION_EV_START);
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
    ev_kind(SESSION_EV_STOP);
    CHECK_INT(one().kind, SESSION_DO_STOPPED);
    /* A login result arriving after the stop starts nothing. */
    token_ok(SESSION_REQ_LOGIN, 9000 * SEC, SESSION_ROLE_TENANT_ADMIN);
    CHECK(none_left());
}

static void test_stale_events_ignored(void)
{
    reset(NULL);
    ev_kind(SESSION_EV_START);
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
    /* results for requests not in flight, WS events with no connection */
    assets_ok(false, true);
    token_ok(SESSION_REQ_REFRESH, 9000 * SEC, SESSION_ROLE_TENANT_ADMIN);
    ev_kind(SESSION_EV_WS_OPENED);
    msg(true, 34);
    closed(1007, "JWT Token expired");
    CHECK(none_left());
    CHECK_STR(session_state_name(session_get_state(&S)), "login");
    CHECK_INT(session_get_stats(&S)->disconnects[SESSION_REASON_1007_AUTH], 0);
}

/* Whatever the state, delivering TIMER at the deadline either produces an action or
 * moves the deadline forward: the loop never spins. Walks a scripted life-cycle. */
static void test_deadlines_make_progress(void)
{
    uint32_t lcg = 99;
    reset(NULL);
    bring_up(120 * SEC);
    for (int i = 0; i < 2000; i++) {
        session_action a[8];
        uint64_t d = session_next_deadline(&S);
        int n;
        lcg = lcg * 1664525u + 1013904223u;
        RND = lcg;
        CHECK_CTX("step %d", i);
        if (d == SESSION_NEVER)
            break;
        CHECK(d >= NOW);
        at(d);
        n = drain(a, 8);
        if (n == 0)
            CHECK(session_next_deadline(&S) > d);
        for (int k = 0; k < n && k < 8; k++) {
            switch (a[k].kind) { /* answer like a flaky server */
            case SESSION_DO_REFRESH: token_ok(SESSION_REQ_REFRESH, 120 * SEC, 0); break;
            case SESSION_DO_LOGIN: token_ok(SESSION_REQ_LOGIN, 120 * SEC, 0); break;
            case SESSION_DO_LIST_ASSETS: assets_ok(false, lcg & 1); break;
            case SESSION_DO_WS_CONNECT:
                if (lcg & 2)
                    conn_error(SESSION_STAGE_TLS);
                else
                    ev_kind(SESSION_EV_WS_OPENED);
                break;
            case SESSION_DO_SEND_SUBSCRIBE: msg(lcg & 4, 0); break;
            default: break;
            }
        }
        drain(a, 8);
    }
    CHECK_INT(session_last_error(&S), 0);
}

int main(void)
{
    RUN(test_startup_sequence);
    RUN(test_wrong_password_one_attempt);
    RUN(test_login_fatal_kinds);
    RUN(test_login_transient_retries);
    RUN(test_background_refresh_keeps_socket);
    RUN(test_refresh_rejected_logs_in);
    RUN(test_refresh_transient_retries);
    RUN(test_1007_refresh_then_reconnect);
    RUN(test_1007_outdated_or_repeated_logs_in);
    RUN(test_handshake_401_gets_token);
    RUN(test_expired_token_refreshed_before_reconnect);
    RUN(test_transient_closes);
    RUN(test_1008_limit_backs_off_hard);
    RUN(test_backoff_property_200_failures);
    RUN(test_idle_timeout_and_connect_timeout);
    RUN(test_connect_stage_reasons);
    RUN(test_rest_429_jitter);
    RUN(test_rest_5xx_backoff);
    RUN(test_rest_401_renews_token_and_retries);
    RUN(test_ce_fallback);
    RUN(test_rediscovery);
    RUN(test_error34_resync_rate_limited);
    RUN(test_rest_details);
    RUN(test_shutdown);
    RUN(test_stale_events_ignored);
    RUN(test_deadlines_make_progress);
    return harness_done();
}
