/*
 * test_session_upgrade.c -- core/session: the handshake rejection table
 * (websocket-tls-reliability.md 6 item 2). A rejected upgrade never opens a session;
 * 5xx retries with the normal backoff, 401/403 get a new token first, and every other
 * refusal or broken 101 is a configuration or protocol error retried at the cap.
 */
#include "tests/unit/session_fixture.h"

static void hs_failed(int status)
{
    session_event e = { 0 };
    e.kind = SESSION_EV_WS_HANDSHAKE_FAILED;
    e.u.handshake.status = status;
    ev(e);
}

/* Streaming, then a drop, then the reconnect attempt: the next event answers it. */
static void up_and_reconnecting(void)
{
    reset(NULL);
    bring_up(9000 * SEC);
    closed(1006, NULL); /* ws_failures 1: envelope 5 s */
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);
}

static void test_classification_table(void)
{
    static const struct {
        int status;
        session_upgrade_class c;
    } rows[] = {
        { 200, SESSION_UPGRADE_CONFIG },       { 301, SESSION_UPGRADE_CONFIG },
        { 302, SESSION_UPGRADE_CONFIG },       { 400, SESSION_UPGRADE_CONFIG },
        { 404, SESSION_UPGRADE_CONFIG },       { 426, SESSION_UPGRADE_CONFIG },
        { 100, SESSION_UPGRADE_CONFIG },       { 401, SESSION_UPGRADE_TOKEN },
        { 403, SESSION_UPGRADE_TOKEN },        { 408, SESSION_UPGRADE_TRANSIENT },
        { 429, SESSION_UPGRADE_RATE_LIMITED }, { 500, SESSION_UPGRADE_TRANSIENT },
        { 502, SESSION_UPGRADE_TRANSIENT },    { 503, SESSION_UPGRADE_TRANSIENT },
        { 599, SESSION_UPGRADE_TRANSIENT },    { 600, SESSION_UPGRADE_CONFIG },
        { 101, SESSION_UPGRADE_PROTOCOL },     { 0, SESSION_UPGRADE_PROTOCOL },
        { -1, SESSION_UPGRADE_PROTOCOL },
    };
    for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        CHECK_CTX("status %d", rows[i].status);
        CHECK_INT(session_classify_upgrade(rows[i].status), rows[i].c);
    }
    CHECK_STR(session_upgrade_class_name(SESSION_UPGRADE_CONFIG), "configuration_error");
    CHECK_STR(session_upgrade_class_name(SESSION_UPGRADE_PROTOCOL), "protocol_error");
    CHECK_STR(session_upgrade_class_name(SESSION_UPGRADE_TRANSIENT), "server_error");
    CHECK_STR(session_upgrade_class_name(SESSION_UPGRADE_TOKEN), "token_rejected");
    CHECK_STR(session_upgrade_class_name(SESSION_UPGRADE_RATE_LIMITED), "rate_limited");
    CHECK_STR(session_upgrade_class_name((session_upgrade_class)0), "unknown");
}

/* 200, 3xx, other 4xx, 429 and broken responses: the envelope jumps to the cap and
 * stays there (like 1008 "limit reached") until data flows on a connection. */
static void test_config_errors_back_off_to_cap(void)
{
    static const int statuses[] = { 200, 301, 400, 404, 426, 429, 101, 0 };
    for (unsigned i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        uint64_t t0, d;
        CHECK_CTX("status %d", statuses[i]);
        up_and_reconnecting();
        RND = 0;
        t0 = NOW;
        hs_failed(statuses[i]);
        CHECK(none_left()); /* no token fetch, no subscribe, no immediate retry */
        CHECK_STR(session_reason_name(session_get_stats(&S)->last_reason), "upgrade");
        CHECK_INT(session_get_stats(&S)->backoff_envelope_ms, 60000);
        d = session_next_deadline(&S);
        CHECK(d >= t0 + 30000 && d <= t0 + 60000);
        CHECK_INT(session_get_state(&S), SESSION_ST_BACKOFF);
        /* The next transient failure stays at the cap: no data arrived in between. */
        RND = 0x80000000u;
        to_deadline();
        CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);
        hs_failed(503);
        CHECK_INT(session_get_stats(&S)->backoff_envelope_ms, 60000);
        /* Data on a connection forgives it. */
        reconnect_and_open();
        msg(true, 0);
        closed(1006, NULL);
        CHECK_INT(session_get_stats(&S)->backoff_envelope_ms, 5000);
    }
}

/* A cap lowered by configuration (--iotpro.backoff-max=1s) bounds the slow retry too. */
static void test_config_error_respects_lowered_cap(void)
{
    session_config cfg;
    uint64_t t0;
    session_config_defaults(&cfg);
    cfg.backoff_first_ms = 1000;
    cfg.backoff_cap_ms = 1000;
    reset(&cfg);
    bring_up(9000 * SEC);
    closed(1006, NULL);
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);
    t0 = NOW;
    hs_failed(404);
    CHECK_INT(session_get_stats(&S)->backoff_envelope_ms, 1000);
    CHECK(session_next_deadline(&S) <= t0 + 1000);
}

/* 5xx (and 408): the ordinary exponential backoff, no token fetch. */
static void test_server_errors_normal_backoff(void)
{
    static const int statuses[] = { 500, 502, 503, 408 };
    uint32_t want = 10000;
    up_and_reconnecting();
    for (unsigned i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        CHECK_CTX("status %d", statuses[i]);
        hs_failed(statuses[i]);
        CHECK(none_left());
        CHECK_INT(session_get_stats(&S)->backoff_envelope_ms, want);
        want = want * 2 > 60000 ? 60000 : want * 2;
        to_deadline();
        CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);
    }
    CHECK_INT(session_get_stats(&S)->ws_connects, 1); /* only the first bring_up */
}

/* 401/403: a new token before the next attempt (refresh), normal backoff; two in a row
 * log in, as two 1007 token closes do. */
static void test_token_rejections_fetch_token(void)
{
    static const int statuses[] = { 401, 403 };
    for (unsigned i = 0; i < 2; i++) {
        session_action a;
        CHECK_CTX("status %d", statuses[i]);
        up_and_reconnecting();
        hs_failed(statuses[i]);
        CHECK_INT(one().kind, SESSION_DO_REFRESH);
        CHECK_INT(session_get_stats(&S)->backoff_envelope_ms, 10000);
        /* No reconnect with the rejected token, however long we wait. */
        NOW += 120 * SEC;
        ev_kind(SESSION_EV_TIMER);
        CHECK(none_left());
        token_ok(SESSION_REQ_REFRESH, 9000 * SEC, SESSION_ROLE_UNKNOWN);
        CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);
        hs_failed(statuses[i]);
        a = one();
        CHECK_INT(a.kind, SESSION_DO_LOGIN);
        token_ok(SESSION_REQ_LOGIN, 9000 * SEC, SESSION_ROLE_CUSTOMER_USER);
        to_deadline();
        CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);
    }
}

/* A response cut short (EOF before the blank line) is not a refusal: normal backoff. */
static void test_truncated_response_is_transient(void)
{
    up_and_reconnecting();
    conn_error(SESSION_STAGE_UPGRADE);
    CHECK_STR(session_reason_name(session_get_stats(&S)->last_reason), "upgrade");
    CHECK_INT(session_get_stats(&S)->backoff_envelope_ms, 10000);
}

/* The very first connection rejected for good: no session ever, and the stats say so. */
static void test_first_connect_rejected(void)
{
    reset(NULL);
    ev_kind(SESSION_EV_START);
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
    token_ok(SESSION_REQ_LOGIN, 9000 * SEC, SESSION_ROLE_TENANT_ADMIN);
    CHECK_INT(one().kind, SESSION_DO_LIST_ASSETS);
    assets_ok(false, false);
    for (int i = 0; i < 5; i++) {
        CHECK_CTX("attempt %d", i);
        if (i == 0)
            CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);
        hs_failed(i % 2 ? 101 : 400);
        CHECK(none_left());
        CHECK_INT(session_get_stats(&S)->backoff_envelope_ms, 60000);
        to_deadline();
        if (i < 4)
            CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);
    }
    CHECK_INT(session_get_stats(&S)->ws_connects, 0);
    CHECK_INT(session_get_stats(&S)->disconnects[SESSION_REASON_UPGRADE], 5);
    CHECK(!session_is_streaming(&S));
}

int main(void)
{
    RUN(test_classification_table);
    RUN(test_config_errors_back_off_to_cap);
    RUN(test_config_error_respects_lowered_cap);
    RUN(test_server_errors_normal_backoff);
    RUN(test_token_rejections_fetch_token);
    RUN(test_truncated_response_is_transient);
    RUN(test_first_connect_rejected);
    return harness_done();
}
