/*
 * sim_ws.c -- WebSocket sessions at /api/ws: the upgrade (through core/ws), the
 * authentication deadline, keep-alive pings, closing, and message framing.
 *
 * ThingsBoard behaviour reproduced here (reference document sections g and h):
 * - the path must be exactly /api/ws; any other /api/ws/... closes 1007
 *   "Unknown session type"; ?token= authenticates at connect (bad: 1011);
 * - no authCmd within 10 s: close 1008 without a reason;
 * - every ping interval (10 s) an authenticated session whose last pong is >= 30 s old
 *   is closed 4500 "Closing session due to ping timeout", else pinged if the last pong
 *   is >= 10 s old. Only pongs count as activity;
 * - client messages over 32 KiB: 1009 (the codec enforces msgcap);
 * - a client that does not read for 5 s (send timeout) is dropped (4500);
 * - every text message passes the per-session update limiter (sim_limit.c) and the
 *   session queue limit (sim_outq.c): 1008 "Max pending updates limit reached!".
 */
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

#define WS_MSG_CAP 32768u /* Tomcat's max_text_message_buffer_size */
#define WS_OUT_CAP 65536u

void sim_ws_flush_codec(sim_session *s)
{
    const uint8_t *p;
    size_t n;
    while ((n = ws_output(&s->ws, &p)) > 0) {
        sim_buf_put(&s->conn->out, p, n);
        ws_output_ack(&s->ws, n);
    }
}

void sim_ws_close(sim_session *s, unsigned code, const char *reason)
{
    if (s->st == SIM_WS_CLOSING)
        return;
    sim_ws_flush_codec(s);
    ws_close(&s->ws, code, reason);
    sim_ws_flush_codec(s);
    s->st = SIM_WS_CLOSING;
    s->close_deadline = sim_mono_ms() + 2000;
    sim_flood_free(s);
}

/* Appends one whole text frame to the connection's output and records it in the
 * session queue. The queue check comes first: ThingsBoard closes the session when a
 * message arrives while max_queue_messages_per_session already wait. */
static int enqueue(sim_session *s, sim_msg_kind kind, const char *p, size_t n, unsigned values)
{
    sim_conn *c = s->conn;
    if (sim.queue_limit && sim_outq_waiting(c) >= sim.queue_limit) {
        sim_log("session %u: %zu messages queued, closing 1008", c->id, sim_outq_waiting(c));
        sim.st.queue_closes++;
        sim_ws_close(s, 1008, "Max pending updates limit reached!");
        c->drop_after_out = 1;
        return -1;
    }
    sim_ws_flush_codec(s);
    uint8_t h[WS_FRAME_HEADER_MAX];
    size_t hl = ws_frame_header(h, WS_OP_TEXT, 1, n, NULL);
    sim_buf_put(&c->out, h, hl);
    if (s->drop_next_frame) {
        /* half a frame, then the TCP connection goes away (no close frame) */
        sim_buf_put(&c->out, p, n / 2);
        c->drop_after_out = 1;
        s->st = SIM_WS_CLOSING;
        s->close_deadline = sim_mono_ms() + 60000;
        return 0;
    }
    sim_buf_put(&c->out, p, n);
    sim_outq_push(c, kind, n, values);
    return 0;
}

void sim_notice34(sim_buf *b, int id)
{
    /* ThingsBoard builds this one by hand: note the spaces and the missing fields */
    sim_buf_printf(b,
                   "{\"subscriptionId\":%d, \"errorCode\":34, \"errorMsg\":\"Too many updates!\"}",
                   id);
}

int sim_ws_text(sim_session *s, sim_msg_kind kind, int id, const char *p, size_t n)
{
    return sim_ws_values(s, kind, id, p, n, 0);
}

int sim_ws_values(sim_session *s, sim_msg_kind kind, int id, const char *p, size_t n,
                  unsigned values)
{
    if (s->st == SIM_WS_CLOSING || ws_state(&s->ws) != WS_ST_OPEN || s->conn->stalled)
        return -1;
    if (kind == SIM_MSG_NOTICE || kind == SIM_MSG_FAULT)
        return enqueue(s, kind, p, n, 0);
    /* The per-session update limiter gates every text message. A refused message is
     * lost; the first refusal of an episode queues one notice (not limited itself),
     * and the next message that passes ends the episode. */
    if (!sim_updlim_pass(s)) {
        sim.st.updates_dropped++;
        if (!s->blacklisted) {
            s->blacklisted = 1;
            sim_buf b = { 0 };
            sim_notice34(&b, id);
            enqueue(s, SIM_MSG_NOTICE, b.p, b.len, 0);
            sim_buf_free(&b);
        }
        return 1;
    }
    s->blacklisted = 0;
    return enqueue(s, kind, p, n, values);
}

static int path_is(const char *p, size_t n, const char *want)
{
    size_t k = strlen(want);
    return n >= k && memcmp(p, want, k) == 0 && (n == k || p[k] == '?');
}

static void on_open(sim_session *s, const ws_event *ev)
{
    const char *p = (const char *)ev->data;
    size_t n = ev->len;
    s->st = SIM_WS_UNAUTH;
    s->opened = sim_mono_ms();
    sim.st.ws_connects++;
    if (!path_is(p, n, "/api/ws") && !path_is(p, n, "/api/ws/plugins/telemetry")) {
        sim_ws_close(s, 1007, "Unknown session type");
        return;
    }
    /* ?token=: authenticated at connect time; failures close 1011 with the message */
    const char *q = memchr(p, '?', n);
    if (!q)
        return;
    char query[4096], tok[4096];
    size_t ql = n - (size_t)(q + 1 - p);
    if (ql >= sizeof query)
        ql = sizeof query - 1;
    memcpy(query, q + 1, ql);
    query[ql] = 0;
    if (sim_query_param(query, "token", tok, sizeof tok) < 0)
        return;
    sim_jwt_status st = sim_jwt_check(tok, strlen(tok), 0, NULL);
    if (st == SIM_JWT_OK) {
        s->st = SIM_WS_READY;
        s->last_pong = s->opened;
        s->next_ping = s->opened + sim.ping_interval_ms;
        sim.st.ws_auth_ok++;
    } else {
        sim.st.ws_auth_failed++;
        sim_ws_close(s, 1011, st == SIM_JWT_EXPIRED ? "JWT Token expired" : "Invalid JWT token: ");
    }
}

static void on_event(sim_session *s, const ws_event *ev)
{
    if (getenv("SIM_DEBUG"))
        sim_log("session %u: event %d code %u err %d", s->conn->id, ev->type, ev->close_code,
                ev->err);
    switch (ev->type) {
    case WS_EV_OPEN: on_open(s, ev); break;
    case WS_EV_MESSAGE:
        if (s->st == SIM_WS_UNAUTH || s->st == SIM_WS_READY)
            sim_cmd_message(s, (const char *)ev->data, ev->len);
        break;
    case WS_EV_PONG:
        s->last_pong = sim_mono_ms();
        sim.st.pongs_received++;
        break;
    case WS_EV_CLOSED:
    case WS_EV_ERROR:
        /* the codec queued the close reply / error close (1002, 1007, 1009) or a 400 */
        sim_ws_flush_codec(s);
        s->st = SIM_WS_CLOSING;
        s->conn->state = SIM_CS_DRAIN;
        sim_flood_free(s);
        break;
    default: break;
    }
}

static void push(sim_session *s, const uint8_t *p, size_t len)
{
    ws_event ev;
    for (;;) {
        size_t n = ws_push(&s->ws, p, len);
        p += n;
        len -= n;
        int any = 0;
        while (ws_next_event(&s->ws, &ev) != WS_EV_NONE) {
            on_event(s, &ev);
            any = 1;
        }
        if (len == 0 || (n == 0 && !any))
            break;
    }
    sim_ws_flush_codec(s);
}

sim_session *sim_ws_open(sim_conn *c, const sim_req *req)
{
    sim_session *s = calloc(1, sizeof *s);
    s->conn = c;
    s->msgbuf = malloc(WS_MSG_CAP);
    s->wsout = malloc(WS_OUT_CAP);
    ws_init(&s->ws, WS_SERVER, s->msgbuf, WS_MSG_CAP, s->wsout, WS_OUT_CAP, NULL, NULL);
    s->st = SIM_WS_HANDSHAKE;
    s->sub_no = 100000; /* internal subscription numbers: never a test's cmdId */
    s->next = sim.sessions;
    sim.sessions = s;
    c->state = SIM_CS_WS;
    c->ws = s;
    size_t head = req->head_len;
    push(s, (const uint8_t *)c->in.p, head);
    sim_buf_consume(&c->in, head);
    return s;
}

void sim_ws_input(sim_session *s)
{
    sim_conn *c = s->conn;
    if (!c->in.len)
        return;
    push(s, (const uint8_t *)c->in.p, c->in.len);
    c->in.len = 0;
}

void sim_ws_timers(sim_session *s, int64_t mono)
{
    sim_conn *c = s->conn;
    if (c->stalled || c->state == SIM_CS_DEAD)
        return;
    int pending = c->out.len > 0 ||
                  (c->tls && (br_ssl_engine_current_state(&c->sc->eng) & BR_SSL_SENDREC));
    /* out_stuck_since: when output last stopped moving (the pump zeroes it on every
     * write), so this measures how long the client has read nothing. */
    if (!pending)
        c->out_stuck_since = 0;
    else if (!c->out_stuck_since)
        c->out_stuck_since = mono;
    else if (mono - c->out_stuck_since > sim.send_timeout_ms) {
        sim_log("session %u: client not reading for %lld ms, dropping (4500)", c->id,
                (long long)sim.send_timeout_ms);
        sim_conn_close_now(c);
        return;
    }
    if (s->held.len)
        sim_reorder_flush(s, mono, 0);
    switch (s->st) {
    case SIM_WS_UNAUTH:
        if (mono - s->opened >= sim.auth_timeout_ms)
            sim_ws_close(s, 1008, NULL);
        break;
    case SIM_WS_READY:
        if (mono >= s->next_ping) {
            s->next_ping += sim.ping_interval_ms;
            if (mono - s->last_pong >= sim.pong_timeout_ms) {
                sim_ws_close(s, 4500, "Closing session due to ping timeout");
            } else if (mono - s->last_pong >= sim.ping_interval_ms) {
                ws_ping(&s->ws, NULL, 0);
                sim_ws_flush_codec(s);
                sim.st.pings_sent++;
            }
        }
        for (int i = 0; i < s->subs_hw && s->st == SIM_WS_READY; i++)
            if (s->subs[i].active && s->subs[i].dynamic)
                sim_sub_dynamic(s, &s->subs[i], mono);
        break;
    case SIM_WS_CLOSING:
        if (mono >= s->close_deadline && c->state != SIM_CS_DEAD)
            c->state = SIM_CS_DRAIN;
        break;
    default: break;
    }
}

void sim_ws_free(sim_session *s)
{
    for (sim_session **pp = &sim.sessions; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    for (int i = 0; i < SIM_MAX_SUBS; i++)
        sim_sub_free(&s->subs[i]);
    sim_flood_free(s);
    sim_buf_free(&s->held);
    free(s->msgbuf);
    free(s->wsout);
    free(s);
}
