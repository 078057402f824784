/*
 * sim_ctl.c -- the control endpoint (plain HTTP on loopback): fault injection, model
 * changes, ground truth and counters. Every route accepts GET or POST with query
 * parameters and answers text/plain; see tests/sim/README.md for the full list.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/sim/sim.h"

/* /truth walks positions: assets [0, sim_model_count()), then devices. */
struct sim_ctl_stream {
    uint32_t cursor, end; /* next position, end of the walk */
    int subscribed;       /* only entities covered by a live subscription */
};

static uint32_t pos_index(uint32_t pos)
{
    uint32_t na = sim_model_count();
    return pos < na ? pos : sim_device_base() + (pos - na);
}

#define TEXT "text/plain; charset=utf-8"

void sim_ctl_say(sim_buf *reply, int status, const char *fmt, ...)
{
    char body[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    sim_http_reply(reply, status, TEXT, body, strlen(body), 0);
}

long sim_ctl_num(const sim_req *req, const char *name, long dflt)
{
    char v[64];
    if (sim_query_param(req->query, name, v, sizeof v) <= 0)
        return dflt;
    return strtol(v, NULL, 10);
}

/* id=<asset or device uuid> */
static int asset_param(const sim_req *req, uint32_t *idx)
{
    char id[64];
    int n = sim_query_param(req->query, "id", id, sizeof id);
    return n > 0 && sim_asset_from_id(id, (size_t)n, idx) == 0 ? 0 : -1;
}

static int slot_param(const sim_req *req)
{
    char k[80];
    int n = sim_query_param(req->query, "key", k, sizeof k);
    if (n <= 0)
        return -1;
    if (!strcmp(k, "assetDetails"))
        return (int)SIM_SLOT_DETAILS;
    return sim_key_find(k, (size_t)n);
}

/* key= of /fault/set-attr: the attributes a user may save (not the state service's). */
static int attr_param(const sim_req *req)
{
    char k[80];
    int n = sim_query_param(req->query, "key", k, sizeof k);
    int slot = n > 0 ? sim_attr_slot(k, (size_t)n) : -1;
    return slot == SIM_SLOT_ATTR(SIM_ATTR_FIRMWARE) || slot == SIM_SLOT_ATTR(SIM_ATTR_CAPACITY) ||
                   slot == (int)SIM_SLOT_DETAILS
               ? slot
               : -1;
}

#define FOR_SESSIONS SIM_FOR_SESSIONS

static int first_cmd(const sim_session *s)
{
    for (int i = 0; i < SIM_MAX_SUBS; i++)
        if (s->subs[i].active)
            return s->subs[i].cmd_id;
    return 1;
}

static void raw_text(sim_session *s, const char *p, size_t n)
{
    uint8_t h[WS_FRAME_HEADER_MAX];
    sim_ws_flush_codec(s);
    size_t hl = ws_frame_header(h, WS_OP_TEXT, 1, n, NULL);
    sim_buf_put(&s->conn->out, h, hl);
    sim_buf_put(&s->conn->out, p, n);
    sim_outq_push(s->conn, SIM_MSG_FAULT, n, 0);
}

static int send_fault(const sim_req *req, const char *what)
{
    int count = 0;
    long size = sim_ctl_num(req, "size", 64l << 20);
    FOR_SESSIONS(req, s)
    {
        if (s->st == SIM_WS_CLOSING)
            continue;
        count++;
        if (!strcmp(what, "error34")) {
            sim_buf b = { 0 };
            sim_notice34(&b, first_cmd(s));
            sim_ws_text(s, SIM_MSG_FAULT, 0, b.p, b.len);
            sim_buf_free(&b);
        } else if (!strcmp(what, "error")) {
            /* the legacy shape ThingsBoard uses for an exception while handling a
             * command: errorCode 1 and the exception text */
            sim_buf b = { 0 };
            sim_buf_printf(&b,
                           "{\"subscriptionId\":%d,\"errorCode\":1,\"errorMsg\":"
                           "\"Failed to process websocket command!\",\"data\":null,"
                           "\"latestValues\":{}}",
                           first_cmd(s));
            sim_ws_text(s, SIM_MSG_FAULT, 0, b.p, b.len);
            sim_buf_free(&b);
        } else if (!strcmp(what, "bad-values")) {
            /* two values no exporter can use, in a well-formed update: a value whose
             * escape is a lone surrogate (valid JSON, no UTF-8 for it) and an empty key */
            sim_buf b = { 0 };
            sim_buf_printf(
                &b,
                "{\"cmdId\":%d,\"errorCode\":0,\"errorMsg\":null,\"data\":null,"
                "\"update\":[{\"entityId\":{\"entityType\":\"ASSET\",\"id\":"
                "\"00000000-0000-4000-8000-000000000bad\"},\"latest\":{\"TIME_SERIES\":"
                "{\"k\":{\"ts\":1,\"value\":\"\\udc00\"},\"\":{\"ts\":1,\"value\":\"1\"}}}}],"
                "\"cmdUpdateType\":\"ENTITY_DATA\"}",
                first_cmd(s));
            sim_ws_text(s, SIM_MSG_FAULT, 0, b.p, b.len);
            sim_buf_free(&b);
        } else if (!strcmp(what, "bad-utf8")) {
            raw_text(s, "{\"cmdId\":1,\"errorMsg\":\"\xc3\x28\"}", 28);
        } else if (!strcmp(what, "bad-json")) {
            const char *m = "{\"cmdId\":1,\"errorCode\":0,\"data\":{\"data\":[";
            raw_text(s, m, strlen(m));
        } else if (!strcmp(what, "oversize")) {
            uint8_t h[WS_FRAME_HEADER_MAX];
            sim_ws_flush_codec(s);
            size_t hl = ws_frame_header(h, WS_OP_TEXT, 1, (uint64_t)size, NULL);
            sim_buf_put(&s->conn->out, h, hl);
            /* A little of the payload only: a client that rejects the frame stops
             * reading, and more bytes would wedge the close handshake behind them. */
            size_t part = (size_t)size < 4096 ? (size_t)size : 4096;
            sim_buf_reserve(&s->conn->out, part);
            memset(s->conn->out.p + s->conn->out.len, ' ', part);
            s->conn->out.len += part;
            if ((size_t)size > part) {
                /* the rest never comes: the client must give up on its own limit */
                s->st = SIM_WS_CLOSING;
                s->close_deadline = sim_mono_ms() + 10000;
                sim_flood_free(s);
            }
        } else {
            return -1;
        }
    }
    return count;
}

static void truth_line(sim_buf *o, uint32_t idx)
{
    char id[37];
    sim_buf v = { 0 };
    sim_asset_id(idx, id);
    for (int slot = 0; slot < (int)sim.nkeys + SIM_NATTR; slot++) {
        int64_t ts;
        v.len = 0;
        if (!sim_value(idx, slot, SIM_FMT_PAGE, &ts, &v))
            continue;
        /* attributes other than assetDetails are "attr:<key>", apart from telemetry keys */
        sim_buf_printf(o, "%s\t%s%s\t%lld\t", id,
                       SIM_SLOT_IS_ATTR(slot) && slot != (int)SIM_SLOT_DETAILS ? "attr:" : "",
                       sim_slot_name(slot), (long long)ts);
        for (size_t i = 0; i < v.len; i++) {
            char ch = v.p[i];
            if (ch == '\t' || ch == '\n' || ch == '\\')
                sim_buf_printf(o, "\\%c", ch == '\t' ? 't' : ch == '\n' ? 'n' : '\\');
            else
                sim_buf_put(o, &ch, 1);
        }
        sim_buf_put(o, "\n", 1);
    }
    sim_buf_free(&v);
}

static int subscribed(uint32_t idx)
{
    for (sim_session *s = sim.sessions; s; s = s->next)
        if (s->st == SIM_WS_READY)
            for (int i = 0; i < SIM_MAX_SUBS; i++)
                if (sim_sub_covers(&s->subs[i], idx))
                    return 1;
    return 0;
}

int sim_ctl_stream_more(sim_conn *c)
{
    struct sim_ctl_stream *st = c->stream;
    if (!st)
        return 0;
    while (c->out.len < 65536 && st->cursor < st->end) {
        uint32_t idx = pos_index(st->cursor++);
        if (sim_asset_exists(idx) && (!st->subscribed || subscribed(idx)))
            truth_line(&c->out, idx);
    }
    if (st->cursor < st->end)
        return 1;
    free(c->stream);
    c->stream = NULL;
    return 0;
}

static void unquiet_all(void)
{
    for (uint32_t pos = 0; pos < sim_model_count() + sim_device_count(); pos++)
        sim_set_quiet(pos_index(pos), 0);
}

/* /fault/quiet?id=<uuid>[&off=1] | ?fraction=F | ?off=1 (every entity talks again) */
static void quiet(const sim_req *req, sim_buf *reply)
{
    char v[64];
    uint32_t idx;
    int off = sim_ctl_num(req, "off", 0) != 0;
    if (asset_param(req, &idx) == 0) {
        sim_set_quiet(idx, !off);
        sim_ctl_say(reply, 200, "%s %s\n", sim_entity_type(idx), off ? "talks again" : "quiet");
    } else if (sim_query_param(req->query, "fraction", v, sizeof v) > 0) {
        /* a deterministic share of the devices, the same one for the same F */
        double f = strtod(v, NULL);
        uint32_t n = 0, base = sim_device_base();
        for (uint32_t j = 0; j < sim_device_count(); j++) {
            int q = (double)(sim_hash(sim.seed ^ 0x9e1, j) % 10000u) < f * 10000.0;
            sim_set_quiet(base + j, q);
            n += (uint32_t)q;
        }
        sim_ctl_say(reply, 200, "%u devices quiet\n", n);
    } else if (off) {
        unquiet_all();
        sim_ctl_say(reply, 200, "every entity talks again\n");
    } else {
        sim_ctl_say(reply, 400, "need id=<uuid>[&off=1], fraction=F or off=1\n");
    }
}

static void stats(sim_buf *reply)
{
    sim_buf b = { 0 };
    unsigned sessions = 0, ready = 0, subs = 0;
    for (sim_session *s = sim.sessions; s; s = s->next) {
        sessions++;
        ready += s->st == SIM_WS_READY;
        for (int i = 0; i < SIM_MAX_SUBS; i++)
            subs += s->subs[i].active;
    }
    const sim_stats *t = &sim.st;
#define C(n) sim_buf_printf(&b, #n " %lu\n", t->n)
    C(logins_ok);
    C(logins_failed);
    C(refreshes);
    C(refreshes_failed);
    C(rest_calls);
    C(rest_faults);
    C(ws_connects);
    C(ws_auth_ok);
    C(ws_auth_failed);
    C(auth_cmds);
    C(subscriptions);
    C(unsubscribes);
    C(msgs_sent);
    C(updates_sent);
    C(data_pages);
    C(pings_sent);
    C(pongs_received);
    C(parse_errors);
    C(bytes_sent);
    C(values_sent);
    C(flood_msgs);
    C(updates_dropped);
    C(notices_34);
    C(queue_closes);
    C(sub_limit_replies);
    C(subs_refused);
#undef C
    sim_buf_printf(&b,
                   "attr_updates_sent %lu\nsessions_current %u\nsessions_authenticated %u\n"
                   "subscriptions_current %u\nassets %u\ndevices %u\ndevices_active %u\n",
                   t->attr_updates_sent, sessions, ready, subs, sim_model_count(),
                   sim_device_count(), sim_device_active_count());
    sim_http_reply(reply, 200, TEXT, b.p, b.len, 0);
    sim_buf_free(&b);
}

static void sessions_list(sim_buf *reply)
{
    sim_buf b = { 0 };
    static const char *const names[] = { "handshake", "unauth", "ready", "closing" };
    for (sim_session *s = sim.sessions; s; s = s->next) {
        sim_buf_printf(&b, "session %u %s%s", s->conn->id, names[s->st],
                       s->conn->stalled ? " stalled" : "");
        for (int i = 0; i < SIM_MAX_SUBS; i++)
            if (s->subs[i].active)
                sim_buf_printf(&b, " cmd=%d:%zu:%s", s->subs[i].cmd_id, s->subs[i].nents,
                               s->subs[i].data_sent == 1   ? "data"
                               : s->subs[i].data_sent == 2 ? "dropped"
                                                           : "nodata");
        sim_buf_printf(&b, " queued=%zu", sim_outq_waiting(s->conn));
        sim_buf_put(&b, "\n", 1);
    }
    sim_http_reply(reply, 200, TEXT, b.p ? b.p : "", b.len, 0);
    sim_buf_free(&b);
}

void sim_ctl_handle(sim_conn *c, const sim_req *req, sim_buf *reply)
{
    const char *p = req->path;
    char v[SIM_TEXT_MAX];
    int n = 0;
    if (!strcmp(p, "/stats")) {
        stats(reply);
    } else if (!strcmp(p, "/sessions")) {
        sessions_list(reply);
    } else if (!strcmp(p, "/truth")) {
        struct sim_ctl_stream *st = calloc(1, sizeof *st);
        uint32_t idx, na = sim_model_count();
        st->subscribed = sim_query_param(req->query, "scope", v, sizeof v) > 0 &&
                         !strcmp(v, "subscribed");
        st->end = na + sim_device_count();
        if (sim_query_param(req->query, "type", v, sizeof v) > 0) {
            if (!strcmp(v, "ASSET"))
                st->end = na;
            else if (!strcmp(v, "DEVICE"))
                st->cursor = na;
            else
                st->end = 0;
        }
        if (asset_param(req, &idx) == 0) {
            uint32_t pos = sim_is_device(idx) ? na + (idx - sim_device_base()) : idx;
            st->cursor = pos;
            st->end = pos + 1;
        }
        c->stream = st;
        sim_buf_puts(reply,
                     "HTTP/1.1 200 OK\r\nContent-Type: " TEXT "\r\nConnection: close\r\n\r\n");
    } else if (!strcmp(p, "/fault/close")) {
        long code = sim_ctl_num(req, "code", 1011);
        if (sim_query_param(req->query, "reason", v, sizeof v) < 0)
            v[0] = 0;
        FOR_SESSIONS(req, s)
        {
            sim_ws_close(s, (unsigned)code, v[0] ? v : NULL);
            n++;
        }
        sim_ctl_say(reply, 200, "closed %d sessions with %ld\n", n, code);
    } else if (!strcmp(p, "/fault/stall")) {
        int off = sim_ctl_num(req, "off", 0) != 0;
        FOR_SESSIONS(req, s)
        {
            s->conn->stalled = !off;
            if (off) {
                s->last_pong = sim_mono_ms();
                s->conn->out_stuck_since = 0;
            }
            n++;
        }
        sim_ctl_say(reply, 200, "%s %d sessions\n", off ? "resumed" : "stalled", n);
    } else if (!strcmp(p, "/fault/expire-tokens")) {
        if (sim_ctl_num(req, "clear", 0)) {
            sim.fault_lifetime = 0;
        } else {
            sim_jwt_gen_access++;
            if (sim_ctl_num(req, "refresh", 0))
                sim_jwt_gen_refresh++;
            sim.fault_lifetime = sim_ctl_num(req, "lifetime", 0);
        }
        sim_ctl_say(reply, 200,
                    "access generation %u, refresh generation %u, new token lifetime %lld s\n",
                    sim_jwt_gen_access, sim_jwt_gen_refresh,
                    (long long)(sim.fault_lifetime ? sim.fault_lifetime : sim.token_lifetime));
    } else if (!strcmp(p, "/fault/reject-refresh")) {
        sim.reject_refresh = sim_ctl_num(req, "on", 1) != 0;
        sim_ctl_say(reply, 200, "reject refresh %d\n", sim.reject_refresh);
    } else if (!strcmp(p, "/fault/fail-rest")) {
        sim.fail_rest_n = (int)sim_ctl_num(req, "n", 1);
        sim.fail_rest_status = (int)sim_ctl_num(req, "status", 500);
        sim_ctl_say(reply, 200, "next %d REST calls fail with %d\n", sim.fail_rest_n,
                    sim.fail_rest_status);
    } else if (!strcmp(p, "/fault/delay-rest")) {
        sim.delay_rest_ms = sim_ctl_num(req, "ms", 0);
        sim_ctl_say(reply, 200, "REST delay %lld ms\n", (long long)sim.delay_rest_ms);
    } else if (!strcmp(p, "/fault/drop-mid-frame")) {
        FOR_SESSIONS(req, s)
        {
            s->drop_next_frame = 1;
            n++;
        }
        sim_ctl_say(reply, 200, "%d sessions drop inside their next message\n", n);
    } else if (!strcmp(p, "/fault/drop-mid-record")) {
        FOR_SESSIONS(req, s)
        {
            if (s->conn->tls) {
                s->conn->drop_mid_record = 1;
                /* make sure a record is coming */
                sim_ws_flush_codec(s);
                ws_ping(&s->ws, NULL, 0);
                sim_ws_flush_codec(s);
            } else {
                s->drop_next_frame = 1;
            }
            n++;
        }
        sim_ctl_say(reply, 200, "%d sessions drop inside their next TLS record\n", n);
    } else if (!strcmp(p, "/fault/send")) {
        if (sim_query_param(req->query, "what", v, sizeof v) < 0 || (n = send_fault(req, v)) < 0)
            sim_ctl_say(reply, 400, "what=oversize|bad-utf8|bad-json|bad-values|error34|error\n");
        else
            sim_ctl_say(reply, 200, "sent %s to %d sessions\n", v, n);
    } else if (!strcmp(p, "/fault/refuse")) {
        sim.refuse_until = sim_mono_ms() + sim_ctl_num(req, "seconds", 5) * 1000;
        if (sim.api_fd >= 0) {
            close(sim.api_fd);
            sim.api_fd = -1;
        }
        sim_ctl_say(reply, 200, "refusing connections for %ld s\n", sim_ctl_num(req, "seconds", 5));
    } else if (sim_ctl_flow(c, req, reply)) {
        /* a flow-control fault (sim_ctl_flow.c) */
    } else if (!strcmp(p, "/fault/quiet")) {
        quiet(req, reply);
    } else if (!strcmp(p, "/fault/set-attr")) {
        uint32_t idx;
        int slot = attr_param(req);
        if (asset_param(req, &idx) != 0 || slot < 0) {
            sim_ctl_say(reply, 400,
                        "need id=<uuid>&key=firmware|capacity|assetDetails[&value=V]\n");
            return;
        }
        int have = sim_query_param(req->query, "value", v, sizeof v) >= 0;
        char *end = v;
        /* REST writes capacity bare: only a plain decimal number keeps that JSON */
        if (have && slot == SIM_SLOT_ATTR(SIM_ATTR_CAPACITY) &&
            (strtod(v, &end), !v[0] || *end || strspn(v, "0123456789.-+eE") != strlen(v))) {
            sim_ctl_say(reply, 400, "capacity is a number\n");
            return;
        }
        if (have)
            sim_set_string(idx, slot, v);
        else
            sim_bump(idx, slot);
        sim_fanout(idx, &slot, 1);
        sim_ctl_say(reply, 200, "ok\n");
    } else if (!strcmp(p, "/reset")) {
        sim.fault_lifetime = 0;
        sim.reject_refresh = 0;
        sim.fail_rest_n = 0;
        sim.delay_rest_ms = 0;
        sim.refuse_until = 0;
        for (sim_session *s = sim.sessions; s; s = s->next)
            s->conn->stalled = 0, s->drop_next_frame = 0;
        unquiet_all();
        sim_ctl_flow_reset();
        sim_ctl_say(reply, 200, "faults cleared\n");
    } else if (!strcmp(p, "/flood")) {
        if (sim_ctl_num(req, "off", 0))
            sim.flood = 0;
        sim_ctl_say(reply, 200, "flood %s\n", sim.flood ? "on" : "stops after each session's pass");
    } else if (!strcmp(p, "/rate")) {
        sim.rate = (double)sim_ctl_num(req, "n", 0);
        sim_ctl_say(reply, 200, "rate %g updates/s\n", sim.rate);
    } else if (!strcmp(p, "/assets/add")) {
        long k = sim_ctl_num(req, "n", 1);
        sim_buf b = { 0 };
        if (sim_query_param(req->query, "type", v, sizeof v) < 0)
            v[0] = 0;
        for (long i = 0; i < k; i++) {
            uint32_t idx = sim_asset_add(v);
            if (idx == UINT32_MAX)
                break;
            char id[37];
            sim_asset_id(idx, id);
            sim_buf_printf(&b, "%s\n", id);
        }
        sim_http_reply(reply, 200, TEXT, b.p ? b.p : "", b.len, 0);
        sim_buf_free(&b);
    } else if (!strcmp(p, "/assets/remove") || !strcmp(p, "/assets/rename")) {
        uint32_t idx;
        int rename = !strcmp(p, "/assets/rename");
        if (asset_param(req, &idx) != 0 ||
            (rename && sim_query_param(req->query, "name", v, sizeof v) < 0))
            sim_ctl_say(reply, 400, "need id=<asset uuid>%s\n", rename ? "&name=<new name>" : "");
        else if ((rename ? sim_asset_rename(idx, v) : sim_asset_remove(idx)) != 0)
            sim_ctl_say(reply, 404, "no such asset\n");
        else
            sim_ctl_say(reply, 200, "ok\n");
    } else if (!strcmp(p, "/update") || !strcmp(p, "/delete")) {
        uint32_t idx;
        int slot = slot_param(req);
        if (asset_param(req, &idx) != 0 || slot < 0) {
            sim_ctl_say(reply, 400, "need id=<asset uuid>&key=<telemetry key|assetDetails>\n");
            return;
        }
        int64_t ts;
        if (!strcmp(p, "/delete")) {
            sim_delete_value(idx, slot);
            sim_fanout(idx, &slot, 1);
        } else {
            if (sim_query_param(req->query, "value", v, sizeof v) >= 0)
                sim_set_string(idx, slot, v);
            else
                sim_bump(idx, slot);
            sim_fanout(idx, &slot, 1);
            sim_buf tmp = { 0 };
            if (!SIM_SLOT_IS_ATTR(slot) && sim_value(idx, slot, SIM_FMT_PAGE, &ts, &tmp))
                sim_device_reported(idx, ts); /* telemetry from a device is activity */
            sim_buf_free(&tmp);
        }
        sim_ctl_say(reply, 200, "ok\n");
    } else {
        sim_ctl_say(reply, 404, "unknown control path %s\n", p);
    }
}
