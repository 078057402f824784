/*
 * test_session_flow.c -- core/session: the rules about flow and limits that sit beside
 * the life-cycle tested in test_session.c: the errorCode-34 episode (a resync only when
 * it can get through the server's update limiter), 1008 "Max pending updates" versus
 * the tenant "limit reached" closes, and a refresh that keeps failing falling back to a
 * login. Same fixture: a fake clock and fixed random bits.
 */
#include "tests/unit/session_fixture.h"

/* Streaming on a long-lived token, without rediscovery (only the WebSocket's timers). */
static void up_quiet(void)
{
    session_config cfg;
    session_config_defaults(&cfg);
    cfg.rediscover_interval_ms = 0;
    reset(&cfg);
    bring_up(1000000 * SEC);
}

/* Keeps the socket alive (a ping every 10 s) until time t, delivering the timers on
 * the way; returns the number of actions seen (each stored in *last), or -1 (a failed
 * check) at a deadline that has already passed. */
static int live_until(uint64_t t, session_action *last)
{
    int seen = 0;
    while (NOW < t) {
        session_action a;
        uint64_t d, step = NOW + 10 * SEC < t ? NOW + 10 * SEC : t;
        ev_kind(SESSION_EV_WS_ACTIVITY);
        d = session_next_deadline(&S);
        CHECK(d > NOW); /* never a passed deadline: the loop would spin */
        if (d <= NOW)
            return -1;
        at(d < step ? d : step);
        while (session_next_action(&S, &a)) {
            seen++;
            if (last)
                *last = a;
        }
    }
    return seen;
}

/* One 34 episode that ends at once (a message right after the notice): the resync
 * comes exactly `delay` after the notice, and not a millisecond earlier. */
static void episode(uint64_t delay)
{
    session_action a = { 0 };
    uint64_t t0 = NOW;
    msg(false, 34);
    CHECK(none_left());
    msg(false, 0); /* an error-free message (not data) also got through */
    CHECK(none_left());
    /* the resync, or the idle timeout first (the messages just now reset it) */
    CHECK_INT(session_next_deadline(&S), delay < 45 * SEC ? t0 + delay : t0 + 45 * SEC);
    CHECK_INT(live_until(t0 + delay - 1, NULL), 0);
    CHECK_INT(live_until(t0 + delay, &a), 1);
    CHECK_INT(a.kind, SESSION_DO_RESYNC);
    CHECK_INT(a.resync, SESSION_RESYNC_TOO_MANY_UPDATES);
}

/* ---- errorCode 34 --------------------------------------------------------------------- */

static void test_34_waits_for_episode_end(void)
{
    session_action a = { 0 };
    uint64_t t0;
    up_quiet();
    t0 = NOW;
    msg(false, 34);
    CHECK(none_left());
    /* Long past the delay, pings only (pings do not pass the update limiter): no
     * resync, and no deadline that could make the loop spin. */
    CHECK_INT(live_until(t0 + 120 * SEC, NULL), 0);
    CHECK_INT(session_get_stats(&S)->resyncs, 0);
    ev_kind(SESSION_EV_WS_ACTIVITY);
    CHECK_INT(session_next_deadline(&S), NOW + 45 * SEC); /* idle timeout only */
    /* A repeated notice (the server should not send one) changes nothing. */
    msg(false, 34);
    CHECK(none_left());
    CHECK_INT(session_next_deadline(&S), NOW + 45 * SEC);
    /* Data got through: the delay passed long ago, so the resync goes out now. */
    msg(true, 0);
    a = one();
    CHECK_INT(a.kind, SESSION_DO_RESYNC);
    CHECK_INT(a.resync, SESSION_RESYNC_TOO_MANY_UPDATES);
    CHECK_INT(session_get_stats(&S)->resyncs, 1);
    /* Once: more messages and time bring nothing more. */
    msg(true, 0);
    CHECK_INT(live_until(NOW + 100 * SEC, NULL), 0);
    CHECK(session_is_streaming(&S));
}

static void test_34_other_error_reply_ends_episode(void)
{
    up_quiet();
    msg(false, 34);
    NOW += 6 * SEC;
    ev_kind(SESSION_EV_WS_ACTIVITY);
    CHECK(none_left());
    msg(false, 2); /* an error reply to a command: a message, so it passed the limiter */
    CHECK_INT(one().kind, SESSION_DO_RESYNC);
}

static void test_34_delay_doubles_to_cap(void)
{
    static const uint64_t want[] = { 5, 10, 20, 40, 60, 60 };
    up_quiet();
    for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++) {
        CHECK_CTX("episode %u", i + 1);
        episode(want[i] * SEC);
    }
    CHECK_INT(session_get_stats(&S)->resyncs, 6);
}

static void test_34_count_forgiven_after_quiet(void)
{
    uint64_t t34;
    up_quiet();
    CHECK_CTX("1");
    episode(5 * SEC);
    CHECK_CTX("2");
    episode(10 * SEC);
    t34 = NOW - 10 * SEC; /* the last notice */
    /* Quiet, but not for 5 min since the last 34: the delay still grows. */
    CHECK_INT(live_until(t34 + 300 * SEC - 1, NULL), 0);
    CHECK_CTX("3");
    episode(20 * SEC);
    t34 = NOW - 20 * SEC;
    /* 5 min without a 34: back to the first delay. */
    CHECK_INT(live_until(t34 + 300 * SEC, NULL), 0);
    CHECK_CTX("4 after quiet");
    episode(5 * SEC);
    CHECK_CTX("5");
    episode(10 * SEC);
}

static void test_34_new_episode_before_resync_grows_delay(void)
{
    session_action a = { 0 };
    uint64_t t0;
    up_quiet();
    t0 = NOW;
    msg(false, 34); /* episode 1: resync at t0 + 5 s */
    NOW = t0 + 1 * SEC;
    msg(true, 0); /* episode 1 over */
    NOW = t0 + 2 * SEC;
    msg(false, 34); /* episode 2 (grows the delay): resync at t0 + 12 s */
    CHECK(none_left());
    CHECK_INT(session_next_deadline(&S), t0 + 2 * SEC + 45 * SEC); /* open: idle only */
    NOW = t0 + 3 * SEC;
    msg(true, 0); /* episode 2 over */
    CHECK(none_left());
    CHECK_INT(session_next_deadline(&S), t0 + 12 * SEC);
    CHECK_INT(live_until(t0 + 12 * SEC - 1, NULL), 0); /* not at t0 + 5 s */
    CHECK_INT(live_until(t0 + 12 * SEC, &a), 1);
    CHECK_INT(a.kind, SESSION_DO_RESYNC);
    CHECK_INT(session_get_stats(&S)->resyncs, 1); /* one resync for both */
    /* The third episode doubles again. */
    CHECK_CTX("3");
    episode(20 * SEC);
}

static void test_34_cleared_by_reconnect(void)
{
    session_action a[8];
    uint64_t t0;
    up_quiet();
    CHECK_CTX("grow the count");
    episode(5 * SEC);
    episode(10 * SEC);
    CHECK_CTX("pending, episode over, then the socket drops");
    t0 = NOW;
    msg(false, 34);
    msg(true, 0);
    closed(1006, NULL);
    CHECK(none_left());
    CHECK(session_next_deadline(&S) <= t0 + 5 * SEC); /* the reconnect, not the resync */
    reconnect_and_open();
    msg(true, 0);
    /* Past the old resync time (t0 + 20 s): nothing; the new connection subscribed. */
    CHECK_INT(live_until(t0 + 60 * SEC, NULL), 0);
    CHECK_INT(session_get_stats(&S)->resyncs, 2);
    CHECK_CTX("the count starts over on the new connection");
    episode(5 * SEC);

    CHECK_CTX("open episode, then a ping timeout");
    up_quiet();
    t0 = NOW;
    msg(false, 34);
    at(t0 + 45 * SEC);
    CHECK_INT(one().kind, SESSION_DO_WS_ABORT);
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);
    ev_kind(SESSION_EV_WS_OPENED);
    CHECK_INT(drain(a, 8), 1);
    CHECK_INT(a[0].kind, SESSION_DO_SEND_SUBSCRIBE);
    msg(true, 0); /* no leftover episode to end, no resync */
    CHECK(none_left());
    CHECK_INT(session_get_stats(&S)->resyncs, 0);
}

/* A rediscovery resync inside an open episode does not settle the 34 resync. */
static void test_34_survives_assets_resync(void)
{
    session_action a;
    uint64_t t0;
    reset(NULL); /* rediscovery every 5 min */
    bring_up(1000000 * SEC);
    live_until(NOW + 295 * SEC, NULL);
    t0 = NOW;
    msg(false, 34);
    CHECK_INT(live_until(t0 + 5 * SEC, &a), 1);
    CHECK_INT(a.kind, SESSION_DO_LIST_ASSETS);
    assets_ok(false, true);
    a = one();
    CHECK_INT(a.kind, SESSION_DO_RESYNC);
    CHECK_INT(a.resync, SESSION_RESYNC_ASSETS_CHANGED);
    msg(true, 0);
    a = one();
    CHECK_INT(a.kind, SESSION_DO_RESYNC);
    CHECK_INT(a.resync, SESSION_RESYNC_TOO_MANY_UPDATES);
}

/* Random 34s, messages, pings, drops and time: the timer at the deadline always acts
 * or moves the deadline, and a 34 resync only ever follows a message that ended the
 * episode, at least 5 s after the notice that opened it. */
static void test_34_deadlines_property(void)
{
    uint32_t lcg = 7;
    bool open = false;
    uint64_t opened = 0;
    int resyncs = 0;
    up_quiet();
    for (int i = 0; i < 5000; i++) {
        session_action a[8];
        uint64_t d = session_next_deadline(&S), t;
        int n;
        lcg = lcg * 1664525u + 1013904223u;
        RND = lcg;
        CHECK_CTX("step %d", i);
        CHECK(d != SESSION_NEVER);
        CHECK(d >= NOW);
        t = NOW + (lcg >> 8) % (8 * SEC);
        if (d <= t) {
            at(d);
            n = drain(a, 8);
            if (n == 0)
                CHECK(session_next_deadline(&S) > d);
        } else {
            NOW = t;
            switch ((lcg >> 4) % 8) {
            case 0:
            case 1:
                if (!open)
                    opened = NOW;
                open = true;
                msg(false, 34);
                break;
            case 2:
            case 3:
                msg(lcg & 1, 0);
                open = false;
                break;
            case 4:
            case 5:
            case 6: ev_kind(SESSION_EV_WS_ACTIVITY); break;
            default:
                if ((lcg >> 12) % 16 == 0)
                    closed(1006, NULL);
                else
                    ev_kind(SESSION_EV_WS_ACTIVITY);
                break;
            }
            n = drain(a, 8);
        }
        for (int k = 0; k < n && k < 8; k++) {
            switch (a[k].kind) {
            case SESSION_DO_RESYNC:
                CHECK(!open);
                CHECK(NOW >= opened + 5 * SEC);
                resyncs++;
                break;
            case SESSION_DO_WS_CONNECT:
                ev_kind(SESSION_EV_WS_OPENED);
                open = false;
                break;
            case SESSION_DO_SEND_SUBSCRIBE: msg(true, 0); break;
            default: break;
            }
        }
        drain(a, 8);
    }
    CHECK_CTX("summary");
    CHECK(resyncs > 10);
    CHECK_INT(session_last_error(&S), 0);
}

/* ---- 1008: queue overflow versus tenant limits ------------------------------------- */

static void test_1008_queue_normal_backoff(void)
{
    static const char *const reasons[] = { "Max pending updates limit reached!",
                                           "max PENDING UPDATES limit reached" };
    for (unsigned i = 0; i < 2; i++) {
        uint64_t t0, d;
        CHECK_CTX("%s", reasons[i]);
        up_quiet();
        RND = 0xffffffffu; /* the top of each envelope */
        t0 = NOW;
        closed(1008, reasons[i]);
        CHECK(none_left());
        CHECK_STR(session_reason_name(session_get_stats(&S)->last_reason),
                  "remote_close_1008_queue");
        CHECK_INT(session_get_stats(&S)->disconnects[SESSION_REASON_1008_QUEUE], 1);
        CHECK_INT(session_get_stats(&S)->disconnects[SESSION_REASON_1008_LIMIT], 0);
        CHECK_INT(session_get_stats(&S)->backoff_envelope_ms, 5000);
        d = session_next_deadline(&S);
        CHECK(d >= t0 + 4990 && d <= t0 + 5000);
        /* It grows as any failure does while no data flows ... */
        reconnect_and_open();
        closed(1008, reasons[i]);
        CHECK_INT(session_get_stats(&S)->backoff_envelope_ms, 10000);
        reconnect_and_open();
        closed(1008, reasons[i]);
        CHECK_INT(session_get_stats(&S)->backoff_envelope_ms, 20000);
        /* ... and data forgives it. */
        reconnect_and_open();
        msg(true, 0);
        closed(1008, reasons[i]);
        CHECK_INT(session_get_stats(&S)->backoff_envelope_ms, 5000);
    }
}

static void test_1008_limits_stay_hard(void)
{
    static const char *const reasons[] = {
        "Max tenant sessions limit reached!",      "Max customer sessions limit reached",
        "Max regular user sessions limit reached", "Max public user sessions limit reached",
        "Max tenant subscriptions limit reached",  "Something else limit reached"
    };
    for (unsigned i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        uint64_t t0, d;
        CHECK_CTX("%s", reasons[i]);
        up_quiet();
        RND = 0;
        t0 = NOW;
        closed(1008, reasons[i]);
        CHECK_STR(session_reason_name(session_get_stats(&S)->last_reason),
                  "remote_close_1008_limit");
        CHECK_INT(session_get_stats(&S)->backoff_envelope_ms, 60000);
        d = session_next_deadline(&S);
        CHECK(d >= t0 + 30000 && d <= t0 + 60000);
    }
}

static void test_reason_names_complete(void)
{
    for (int r = 0; r < SESSION_REASON_COUNT; r++) {
        const char *n = session_reason_name((session_reason)r);
        CHECK_CTX("reason %d", r);
        CHECK(n != NULL && n[0] != '\0' && strcmp(n, "unknown") != 0);
        for (int q = 0; q < r; q++)
            CHECK(strcmp(n, session_reason_name((session_reason)q)) != 0);
    }
    CHECK_CTX("values");
    /* Appended: every value that existed before keeps its number. */
    CHECK_INT(SESSION_REASON_LOCAL_SHUTDOWN, 19);
    CHECK_INT(SESSION_REASON_1008_QUEUE, 20);
    CHECK_STR(session_reason_name(SESSION_REASON_1008_QUEUE), "remote_close_1008_queue");
    CHECK_STR(session_reason_name(SESSION_REASON_COUNT), "unknown");
}

/* ---- refresh, else log in ----------------------------------------------------------- */

/* Streaming on a 60 s token, at its refresh time: DO_REFRESH has been issued. */
static void up_at_refresh(const session_config *cfg)
{
    reset(cfg);
    bring_up(60 * SEC);
    live_to_deadline();
    CHECK_INT(one().kind, SESSION_DO_REFRESH);
}

static void test_refresh_5xx_thrice_logs_in(void)
{
    up_at_refresh(NULL);
    http(SESSION_REQ_REFRESH, SESSION_HTTP_STATUS, 500, 2); /* 1 */
    CHECK(none_left());
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_REFRESH);
    http(SESSION_REQ_REFRESH, SESSION_HTTP_STATUS, 429, 33); /* not counted */
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_REFRESH);
    http(SESSION_REQ_REFRESH, SESSION_HTTP_TRANSPORT, 0, -1); /* 2 */
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_REFRESH);
    http(SESSION_REQ_REFRESH, SESSION_HTTP_STATUS, 429, 33); /* not counted */
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_REFRESH);
    http(SESSION_REQ_REFRESH, SESSION_HTTP_STATUS, 503, -1); /* 3 */
    CHECK(none_left()); /* after this failure's backoff, like any retry */
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
    CHECK(session_is_streaming(&S)); /* the socket is not touched */
    CHECK_INT(session_get_stats(&S)->refreshes_failed, 5);
    /* A login failing transiently is retried as a login. */
    http(SESSION_REQ_LOGIN, SESSION_HTTP_STATUS, 502, -1);
    CHECK(none_left());
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
    token_ok(SESSION_REQ_LOGIN, 60 * SEC, SESSION_ROLE_CUSTOMER_USER);
    CHECK(none_left());
    CHECK_INT(session_get_stats(&S)->logins_ok, 2);
    /* The count started over: the next refresh gets its three tries again. */
    live_to_deadline();
    CHECK_INT(one().kind, SESSION_DO_REFRESH);
    for (int i = 0; i < 2; i++) {
        http(SESSION_REQ_REFRESH, SESSION_HTTP_STATUS, 500, 2);
        to_deadline();
        CHECK_INT(one().kind, SESSION_DO_REFRESH);
    }
}

static void test_refresh_429s_never_log_in(void)
{
    up_at_refresh(NULL);
    for (int i = 0; i < 20; i++) {
        CHECK_CTX("429 %d", i);
        http(SESSION_REQ_REFRESH, SESSION_HTTP_STATUS, 429, 33);
        ev_kind(SESSION_EV_WS_ACTIVITY); /* the server's pings keep the socket */
        to_deadline();
        CHECK_INT(one().kind, SESSION_DO_REFRESH);
    }
    CHECK_INT(session_get_stats(&S)->logins_ok, 1);
}

static void test_refresh_failures_must_be_consecutive(void)
{
    up_at_refresh(NULL);
    http(SESSION_REQ_REFRESH, SESSION_HTTP_STATUS, 500, 2);
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_REFRESH);
    http(SESSION_REQ_REFRESH, SESSION_HTTP_BAD_BODY, 200, -1);
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_REFRESH);
    token_ok(SESSION_REQ_REFRESH, 60 * SEC, SESSION_ROLE_UNKNOWN); /* success: reset */
    CHECK(none_left());
    live_to_deadline();
    CHECK_INT(one().kind, SESSION_DO_REFRESH);
    for (int i = 0; i < 2; i++) {
        http(SESSION_REQ_REFRESH, SESSION_HTTP_STATUS, 504, -1);
        to_deadline();
        CHECK_INT(one().kind, SESSION_DO_REFRESH); /* 1 and 2 of the new run */
    }
    http(SESSION_REQ_REFRESH, SESSION_HTTP_STATUS, 504, -1);
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
}

/* The fallback login is refused: FATAL, and no login ever again. */
static void test_refresh_fallback_login_rejected_is_fatal(void)
{
    up_at_refresh(NULL);
    for (int i = 0; i < 3; i++) {
        CHECK_CTX("failure %d", i);
        http(SESSION_REQ_REFRESH, SESSION_HTTP_STATUS, 500, 2);
        to_deadline();
        CHECK_INT(one().kind, i < 2 ? SESSION_DO_REFRESH : SESSION_DO_LOGIN);
    }
    CHECK_CTX("login");
    CHECK_INT(session_get_stats(&S)->refreshes_failed, 3);
    http(SESSION_REQ_LOGIN, SESSION_HTTP_STATUS, 401, 10);
    CHECK_INT(one().fatal, SESSION_FATAL_CREDENTIALS);
    CHECK_INT(logins_after_fatal(), 0);
    CHECK_INT(session_get_stats(&S)->logins_failed, 1);
}

static void test_refresh_fallback_disabled(void)
{
    session_config cfg;
    session_config_defaults(&cfg);
    CHECK_INT(cfg.refresh_fails_login, 3);
    cfg.refresh_fails_login = 0;
    up_at_refresh(&cfg);
    for (int i = 0; i < 6; i++) { /* delays up to 24 s: the socket stays up */
        CHECK_CTX("failure %d", i);
        http(SESSION_REQ_REFRESH, SESSION_HTTP_STATUS, 500, 2);
        ev_kind(SESSION_EV_WS_ACTIVITY);
        to_deadline();
        CHECK_INT(one().kind, SESSION_DO_REFRESH);
    }
}

static void test_defaults(void)
{
    session_config cfg;
    session_config_defaults(&cfg);
    CHECK_INT(cfg.resync34_delay_first_ms, 5000);
    CHECK_INT(cfg.resync34_forgive_ms, 300000);
    CHECK_INT(cfg.refresh_fails_login, 3);
}

int main(void)
{
    RUN(test_34_waits_for_episode_end);
    RUN(test_34_other_error_reply_ends_episode);
    RUN(test_34_delay_doubles_to_cap);
    RUN(test_34_count_forgiven_after_quiet);
    RUN(test_34_new_episode_before_resync_grows_delay);
    RUN(test_34_cleared_by_reconnect);
    RUN(test_34_survives_assets_resync);
    RUN(test_34_deadlines_property);
    RUN(test_1008_queue_normal_backoff);
    RUN(test_1008_limits_stay_hard);
    RUN(test_reason_names_complete);
    RUN(test_refresh_5xx_thrice_logs_in);
    RUN(test_refresh_429s_never_log_in);
    RUN(test_refresh_failures_must_be_consecutive);
    RUN(test_refresh_fallback_login_rejected_is_fatal);
    RUN(test_refresh_fallback_disabled);
    RUN(test_defaults);
    return harness_done();
}
