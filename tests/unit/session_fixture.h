/* session_fixture.h -- shared by test_session.c and test_session_upgrade.c: one session
 * driven with a fake monotonic clock (NOW) and fixed random bits (RND), and the helpers
 * that feed it events and take its actions. Include it once, after core/session.h.
 * Every helper is marked unused: each test program uses a different subset. */
#ifndef IOTPRO_TESTS_SESSION_FIXTURE_H
#define IOTPRO_TESTS_SESSION_FIXTURE_H

#include "core/session.h"
#include "tests/harness.h"

#define SF_UNUSED __attribute__((unused))

static session_ctx S;
static uint64_t NOW;
static uint32_t RND;

#define SEC 1000u

/* ---- helpers ------------------------------------------------------------------------ */

SF_UNUSED static void reset(const session_config *cfg)
{
    session_init(&S, cfg);
    NOW = 1000000; /* an arbitrary monotonic origin, not 0 */
    RND = 0x80000000u;
}

SF_UNUSED static void ev(session_event e)
{
    session_handle(&S, &e, NOW, RND);
}

SF_UNUSED static void ev_kind(session_ev_kind k)
{
    session_event e = { 0 };
    e.kind = k;
    ev(e);
}

/* Takes all queued actions; returns how many. */
SF_UNUSED static int drain(session_action *out, int cap)
{
    int n = 0;
    session_action a;
    while (session_next_action(&S, &a)) {
        if (n < cap)
            out[n] = a;
        n++;
    }
    return n;
}

/* Expects exactly one queued action and returns it (kind NONE when not exactly one). */
SF_UNUSED static session_action one(void)
{
    session_action a[8];
    int n = drain(a, 8);
    if (n != 1) {
        session_action none = { 0 };
        printf("#   expected one action, got %d (first kind %d)\n", n, n ? (int)a[0].kind : 0);
        return none;
    }
    return a[0];
}

SF_UNUSED static int none_left(void)
{
    session_action a[8];
    return drain(a, 8) == 0;
}

SF_UNUSED static void http(session_req req, session_http_class cls, int status, int code)
{
    session_event e = { 0 };
    e.kind = SESSION_EV_HTTP_RESULT;
    e.u.http.req = req;
    e.u.http.cls = cls;
    e.u.http.status = status;
    e.u.http.tb_error_code = code;
    ev(e);
}

/* A login or refresh success with a token that lives `life` ms, refreshed at 80%. */
SF_UNUSED static void token_ok(session_req req, uint64_t life, session_role role)
{
    session_event e = { 0 };
    e.kind = SESSION_EV_HTTP_RESULT;
    e.u.http.req = req;
    e.u.http.cls = SESSION_HTTP_OK;
    e.u.http.status = 200;
    e.u.http.tb_error_code = -1;
    e.u.http.refresh_at_ms = NOW + life * 8 / 10;
    e.u.http.expires_at_ms = NOW + life;
    e.u.http.role = role;
    ev(e);
}

SF_UNUSED static void assets_ok(bool has_next, bool changed)
{
    session_event e = { 0 };
    e.kind = SESSION_EV_HTTP_RESULT;
    e.u.http.req = SESSION_REQ_ASSETS;
    e.u.http.cls = SESSION_HTTP_OK;
    e.u.http.status = 200;
    e.u.http.tb_error_code = -1;
    e.u.http.has_next = has_next;
    e.u.http.assets_changed = changed;
    ev(e);
}

SF_UNUSED static void msg(bool had_data, int code)
{
    session_event e = { 0 };
    e.kind = SESSION_EV_WS_MESSAGE;
    e.u.msg.had_data = had_data;
    e.u.msg.tb_error_code = code;
    ev(e);
}

SF_UNUSED static void closed(uint16_t code, const char *reason)
{
    session_event e = { 0 };
    e.kind = SESSION_EV_WS_CLOSED;
    e.u.closed.code = code;
    e.u.closed.reason = reason;
    e.u.closed.reason_len = reason ? (uint32_t)strlen(reason) : 0;
    ev(e);
}

SF_UNUSED static void conn_error(session_stage st)
{
    session_event e = { 0 };
    e.kind = SESSION_EV_WS_CONN_ERROR;
    e.u.conn.stage = st;
    ev(e);
}

/* Advances the clock to t and delivers a TIMER. */
SF_UNUSED static void at(uint64_t t)
{
    NOW = t;
    ev_kind(SESSION_EV_TIMER);
}

/* Advances to the next deadline (fails the check if there is none or it is stuck). */
SF_UNUSED static void to_deadline(void)
{
    uint64_t d = session_next_deadline(&S);
    CHECK(d != SESSION_NEVER);
    if (d == SESSION_NEVER)
        return;
    if (d < NOW)
        d = NOW;
    at(d);
}

/* Keeps the socket alive with a frame every 10 s up to the next deadline, then
 * delivers the timer there (the server pings every 10 s in real life). */
SF_UNUSED static void live_to_deadline(void)
{
    for (int i = 0; i < 100000; i++) {
        uint64_t d;
        ev_kind(SESSION_EV_WS_ACTIVITY);
        d = session_next_deadline(&S);
        if (d <= NOW + 10 * SEC) {
            at(d < NOW ? NOW : d);
            return;
        }
        NOW += 10 * SEC;
    }
    CHECK(!"no deadline");
}

/* START -> login -> one page of assets -> connect -> open -> data: STREAMING. */
SF_UNUSED static void bring_up(uint64_t token_life)
{
    ev_kind(SESSION_EV_START);
    CHECK_INT(one().kind, SESSION_DO_LOGIN);
    token_ok(SESSION_REQ_LOGIN, token_life, SESSION_ROLE_CUSTOMER_USER);
    CHECK_INT(one().kind, SESSION_DO_LIST_ASSETS);
    assets_ok(false, true);
    CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);
    ev_kind(SESSION_EV_WS_OPENED);
    CHECK_INT(one().kind, SESSION_DO_SEND_SUBSCRIBE);
    msg(true, 0);
    CHECK(none_left());
    CHECK_INT(session_get_state(&S), SESSION_ST_STREAMING);
}

/* After a loss: waits through the backoff, expects DO_WS_CONNECT, opens. Returns the
 * time the connect was issued. */
SF_UNUSED static uint64_t reconnect_and_open(void)
{
    session_action a[8];
    int n = drain(a, 8);
    CHECK_INT(n, 0);
    to_deadline();
    CHECK_INT(one().kind, SESSION_DO_WS_CONNECT);
    ev_kind(SESSION_EV_WS_OPENED);
    CHECK_INT(one().kind, SESSION_DO_SEND_SUBSCRIBE);
    return NOW;
}

/* Runs a long time with timers; returns the logins asked for (after a FATAL: none). */
SF_UNUSED static int logins_after_fatal(void)
{
    int logins = 0;
    session_action a[8];
    for (int i = 0; i < 500; i++) {
        NOW += 7 * SEC;
        ev_kind(SESSION_EV_TIMER);
        int n = drain(a, 8);
        for (int k = 0; k < n && k < 8; k++)
            logins += a[k].kind == SESSION_DO_LOGIN;
    }
    return logins;
}

#endif
