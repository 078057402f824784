/*
 * health.c -- the exporter's self metrics (health.h): the web side's atomic counts, and
 * the render of every family from its owner's count.
 *
 * The tables below are the single place where a health metric's name, type, help and
 * source live, so the render order, the names and the label values stay stable between
 * scrapes (Prometheus guidance: stable HELP, pre-initialised label values).
 */
#include "exporter/health.h"

#include <stdio.h>
#include <string.h>

void health_init(struct health *h, const char *version, const char *revision, int64_t series_limit)
{
    memset(h, 0, sizeof *h);
    snprintf(h->version, sizeof h->version, "%s", version ? version : "unknown");
    snprintf(h->revision, sizeof h->revision, "%s", revision ? revision : "unknown");
    h->series_limit = series_limit;
}

static void health_inc(_Atomic uint64_t *p)
{
    atomic_fetch_add_explicit(p, 1, memory_order_relaxed);
}

void health_limit_hit(struct health *h, enum health_limit l)
{
    if ((unsigned)l < HEALTH_LIMIT__COUNT)
        health_inc(&h->limits[l]);
}

void health_http(struct health *h, int status)
{
    switch (status) {
    case 200: health_inc(&h->http[HEALTH_HTTP_200]); break;
    case 404: health_inc(&h->http[HEALTH_HTTP_404]); break;
    case 405: health_inc(&h->http[HEALTH_HTTP_405]); break;
    case 500: health_inc(&h->http[HEALTH_HTTP_500]); break;
    case 503: health_inc(&h->http[HEALTH_HTTP_503]); break;
    case 401: health_inc(&h->http[HEALTH_HTTP_401]); break;
    default: break;
    }
}

static uint64_t hload(const _Atomic uint64_t *p)
{
    return atomic_load_explicit((_Atomic uint64_t *)p, memory_order_relaxed);
}

static int64_t gload(const struct health *h, enum health_gauge g)
{
    return atomic_load_explicit((_Atomic int64_t *)&h->g[g], memory_order_relaxed);
}

/* What one scrape reads: the three owners' counts. */
struct view {
    const struct health *h;
    const struct loop_stats *ls;
    const store_stats *ss;
};

/* Unlabelled families: a name, help, type and where the value comes from. */
struct def {
    const char *name, *help;
    enum expo_type type;
    double (*get)(const struct view *v);
};

#define GET(fn, expr)                      \
    static double fn(const struct view *v) \
    {                                      \
        (void)v;                           \
        return (double)(expr);             \
    }
GET(g_up, v->ls->up)
GET(g_ws_connected, v->ls->ws_connected)
GET(g_assets, v->ls->assets)
GET(g_devices, v->ls->devices)
GET(g_subs, v->ls->subscriptions)
GET(g_subs_pending, v->ls->subscriptions_pending)
GET(g_series, v->ss->series)
GET(g_series_limit, v->h->series_limit)
GET(g_token_expiry, v->ls->rest.token_expiry_ms / 1000.0)
GET(g_last_message, v->ls->ws.last_message_ms / 1000.0)
GET(g_last_connect, v->ls->ws.last_connect_ms / 1000.0)
GET(g_backoff, v->ls->backoff_ms / 1000.0)
GET(g_scrape_duration, gload(v->h, HEALTH_G_SCRAPE_DURATION_US) / 1e6)
GET(g_scrape_utf8, gload(v->h, HEALTH_G_SCRAPE_UTF8_REPLACED))
GET(g_in_flight, gload(v->h, HEALTH_G_WEB_IN_FLIGHT))
GET(g_reload_ok, v->ls->last_reload_ok)
GET(c_connect_attempts, v->ls->sess.ws_connect_attempts)
GET(c_connects, v->ls->sess.ws_connects)
GET(c_messages, v->ls->feed.messages)
GET(c_bytes, v->ls->feed.bytes)
GET(c_pings, v->ls->ws.pings)
GET(c_updates, v->ss->applied)
GET(c_rejected, v->ls->feed.bad_values + v->ls->feed.out_dropped + v->ls->ws.values_rejected)
GET(c_parse_errors, v->ls->feed.parse_errors + v->ls->rest.parse_errors)
GET(c_series_dropped, v->ss->dropped_series)
GET(c_series_expired, v->ss->expired)
GET(c_rediscoveries, v->ls->rest.listings)
GET(c_resyncs, v->ls->ws.resyncs)
GET(c_reloads, v->ls->reloads)
GET(c_reload_fails, v->ls->reload_failures)

static const struct def health_defs[] = {
    { "iotpro_up", "1 when the WebSocket is connected, subscribed and receiving, else 0.",
      EXPO_GAUGE, g_up },
    { "iotpro_ws_connected", "1 while the WebSocket is open.", EXPO_GAUGE, g_ws_connected },
    { "iotpro_assets", "Assets known from the last asset listing.", EXPO_GAUGE, g_assets },
    { "iotpro_devices", "Devices known from the last listing (--iotpro.entity-type with DEVICE).",
      EXPO_GAUGE, g_devices },
    { "iotpro_subscriptions",
      "Subscription commands (up to 400 assets each) whose data has arrived on the open WebSocket.",
      EXPO_GAUGE, g_subs },
    { "iotpro_subscriptions_pending",
      "Subscription commands still waiting for their first data page (all of them while disconnected); iotpro_up is 0 while this is not 0.",
      EXPO_GAUGE, g_subs_pending },
    { "iotpro_series", "Telemetry series currently stored.", EXPO_GAUGE, g_series },
    { "iotpro_series_limit", "Maximum number of telemetry series stored (--store.max-series).",
      EXPO_GAUGE, g_series_limit },
    { "iotpro_token_expiry_timestamp_seconds",
      "Expiry time of the current access token (0 before the first login).", EXPO_GAUGE,
      g_token_expiry },
    { "iotpro_last_message_timestamp_seconds",
      "Time the last WebSocket message arrived (0 before the first).", EXPO_GAUGE, g_last_message },
    { "iotpro_last_connect_success_timestamp_seconds",
      "Time the WebSocket last opened successfully (0 before the first).", EXPO_GAUGE,
      g_last_connect },
    { "iotpro_reconnect_backoff_seconds",
      "Delay before the next reconnect attempt (0 while connected).", EXPO_GAUGE, g_backoff },
    { "iotpro_scrape_duration_seconds",
      "Time the previous /metrics render took, including sending the body (it is streamed "
      "as it is rendered).",
      EXPO_GAUGE, g_scrape_duration },
    { "iotpro_scrape_utf8_replacements",
      "Invalid UTF-8 sequences replaced by U+FFFD in the previous /metrics render (in "
      "HELP texts and label values; an asset name or key counts once per render).",
      EXPO_GAUGE, g_scrape_utf8 },
    { "iotpro_web_requests_in_flight", "/metrics requests being served now.", EXPO_GAUGE,
      g_in_flight },
    { "iotpro_config_last_reload_successful",
      "1 if the last configuration reload succeeded (or none was tried), else 0.", EXPO_GAUGE,
      g_reload_ok },
    { "iotpro_ws_connect_attempts_total", "WebSocket connection attempts (DNS, TCP, TLS, upgrade).",
      EXPO_COUNTER, c_connect_attempts },
    { "iotpro_ws_connects_total", "WebSocket connections opened (HTTP 101 received).", EXPO_COUNTER,
      c_connects },
    { "iotpro_ws_messages_received_total", "WebSocket data messages received.", EXPO_COUNTER,
      c_messages },
    { "iotpro_ws_bytes_received_total", "WebSocket message payload bytes received.", EXPO_COUNTER,
      c_bytes },
    { "iotpro_ws_pings_received_total", "WebSocket pings received.", EXPO_COUNTER, c_pings },
    { "iotpro_telemetry_updates_total", "Telemetry values received and stored.", EXPO_COUNTER,
      c_updates },
    { "iotpro_telemetry_values_rejected_total",
      "Telemetry values that could not be used: a key or value whose JSON escapes do not "
      "decode, or a key the store cannot hold (empty, or 128 bytes or longer).",
      EXPO_COUNTER, c_rejected },
    { "iotpro_parse_errors_total", "Upstream messages that could not be parsed or used.",
      EXPO_COUNTER, c_parse_errors },
    { "iotpro_series_dropped_total",
      "New series refused because the store was full (--store.max-series).", EXPO_COUNTER,
      c_series_dropped },
    { "iotpro_series_expired_total",
      "Series removed because they were not updated within --metrics.ttl.", EXPO_COUNTER,
      c_series_expired },
    { "iotpro_rediscoveries_total", "Asset list refreshes completed.", EXPO_COUNTER,
      c_rediscoveries },
    { "iotpro_resyncs_total", "Subscriptions re-sent after an upstream error asked for it.",
      EXPO_COUNTER, c_resyncs },
    { "iotpro_config_reloads_total", "Configuration reloads applied (SIGHUP).", EXPO_COUNTER,
      c_reloads },
    { "iotpro_config_reload_failures_total",
      "Configuration reloads rejected as invalid (the old configuration stays).", EXPO_COUNTER,
      c_reload_fails },
};

/* One labelled counter family: label `lname` over the closed set `values`. */
static void labelled(struct expo *e, const char *name, const char *help, const char *lname,
                     const char *const *values, const uint64_t *counts, size_t n)
{
    expo_family(e, name, EXPO_COUNTER, help);
    for (size_t i = 0; i < n; i++) {
        char lb[128];
        struct expo_labels l;
        expo_labels_init(&l, lb, sizeof lb);
        expo_labels_add(&l, lname, values[i], strlen(values[i]));
        expo_sample_u64(e, l.buf, l.len, counts[i]);
    }
}

#define NV(a) (sizeof a / sizeof a[0])

/* iotpro_ws_disconnects_total{reason}: the session's disconnects of open connections
 * (one that never opened is a connect failure, counted by stage instead). */
static void disconnects(struct expo *e, const session_stats *s)
{
    static const char *const names[] = {
        "close_1000",  "close_1001",  "abnormal_1006", "auth_1007",         "limit_1008",
        "queue_1008",  "policy_1008", "too_big_1009",  "server_error_1011", "restart_1012",
        "server_4500", "close_other", "idle_timeout",  "protocol_error",    "local_shutdown",
    };
    enum {
        C1000,
        C1001,
        A1006,
        A1007,
        L1008,
        Q1008,
        P1008,
        B1009,
        S1011,
        R1012,
        S4500,
        OTHER,
        IDLE,
        PROTO,
        LOCAL,
        N
    };
    _Static_assert(N == NV(names), "disconnect reasons");
    uint64_t c[N] = { 0 };
    for (int r = 1; r < SESSION_REASON_COUNT; r++) {
        int i;
        switch ((session_reason)r) {
        case SESSION_REASON_DNS:
        case SESSION_REASON_TCP:
        case SESSION_REASON_TLS:
        case SESSION_REASON_UPGRADE: continue;
        case SESSION_REASON_1000: i = C1000; break;
        case SESSION_REASON_1001: i = C1001; break;
        case SESSION_REASON_1006: i = A1006; break;
        case SESSION_REASON_1007_AUTH:
        case SESSION_REASON_1007: i = A1007; break;
        case SESSION_REASON_1008_LIMIT: i = L1008; break;
        case SESSION_REASON_1008_QUEUE: i = Q1008; break;
        case SESSION_REASON_1008: i = P1008; break;
        case SESSION_REASON_1009: i = B1009; break;
        case SESSION_REASON_1011: i = S1011; break;
        case SESSION_REASON_1012: i = R1012; break;
        case SESSION_REASON_4500: i = S4500; break;
        case SESSION_REASON_PING_TIMEOUT: i = IDLE; break;
        case SESSION_REASON_PROTOCOL_ERROR: i = PROTO; break;
        case SESSION_REASON_LOCAL_SHUTDOWN: i = LOCAL; break;
        default: i = OTHER; break;
        }
        c[i] += s->disconnects[r];
    }
    labelled(e, "iotpro_ws_disconnects_total", "WebSocket disconnections by reason (a closed set).",
             "reason", names, c, N);
}

void health_render(const struct health *h, const struct loop_stats *ls, const store_stats *ss,
                   struct expo *e)
{
    static const char *const results[] = { "ok", "rejected", "error" };
    static const char *const stages[] = { "dns", "tcp", "tls", "upgrade" };
    static const char *const limits[] = {
        "ws_message",      "series",    "assets", "keys",        "string_value",    "detail_labels",
        "pending_updates", "http_body", "name",   "scrape_body", "tls_connections",
    };
    static const char *const codes[] = { "200", "404", "405", "500", "503", "401" };
    static const char *const replies[] = { "too_many_updates", "subscription_rate_limit", "other" };
    /* the names of core/subs.h's subs_resend, in its order (test_health checks) */
    static const char *const resends[] = { "data_timeout", "too_many_updates", "assets_changed",
                                           "keys_changed" };
    _Static_assert(NV(results) == LOOP_RES__COUNT, "results");
    _Static_assert(NV(stages) == LOOP_STAGE__COUNT, "stages");
    _Static_assert(NV(replies) == LOOP_REPLY__COUNT, "replies");
    _Static_assert(NV(resends) == SUBS_RESEND__COUNT, "resends");
    _Static_assert(NV(codes) == HEALTH_HTTP__COUNT, "codes");
    const struct view v = { h, ls, ss };
    uint64_t lim[NV(limits)], http[HEALTH_HTTP__COUNT];

    for (size_t i = 0; i < NV(health_defs); i++) {
        const struct def *d = &health_defs[i];
        expo_family(e, d->name, d->type, d->help);
        expo_sample(e, NULL, 0, d->get(&v));
    }
    disconnects(e, &ls->sess);
    labelled(e, "iotpro_ws_connect_failures_total",
             "Failed connection attempts by the stage that failed.", "stage", stages,
             ls->ws.connect_failures, LOOP_STAGE__COUNT);
    labelled(e, "iotpro_logins_total",
             "Logins by result (rejected = wrong credentials, not retried).", "result", results,
             ls->rest.logins, LOOP_RES__COUNT);
    labelled(e, "iotpro_token_refreshes_total", "Access token refreshes by result.", "result",
             results, ls->rest.refreshes, LOOP_RES__COUNT);
    lim[0] = ls->ws.message_too_big;
    lim[1] = ss->dropped_series;
    lim[2] = ls->rest.assets_dropped + ss->dropped_entities; /* listing, or store entities */
    lim[3] = ss->dropped_keys;
    lim[4] = ss->dropped_strings + ss->strings_cut;
    lim[5] = ls->rest.detail_labels_dropped + ls->ws.detail_labels_dropped;
    lim[6] = ls->feed.buffer_dropped + ls->ws.details_early_dropped;
    lim[7] = ls->rest.body_limit;
    lim[8] = hload(&h->limits[HEALTH_LIMIT_NAME]) + ls->rest.names_cut;
    lim[9] = hload(&h->limits[HEALTH_LIMIT_SCRAPE_BODY]);
    lim[10] = hload(&h->limits[HEALTH_LIMIT_TLS_CONNECTIONS]);
    labelled(e, "iotpro_limit_hits_total",
             "Times a fixed or configured bound was reached, by bound.", "limit", limits, lim,
             NV(limits));
    for (size_t i = 0; i < HEALTH_HTTP__COUNT; i++)
        http[i] = hload(&h->http[i]);
    labelled(e, "iotpro_web_responses_total", "/metrics and other HTTP answers by code.", "code",
             codes, http, HEALTH_HTTP__COUNT);
    labelled(
        e, "iotpro_ws_error_replies_total",
        "Error replies from ThingsBoard on the WebSocket, by kind (too_many_updates = errorCode 34, updates dropped; subscription_rate_limit = subscriptions refused).",
        "kind", replies, ls->ws.replies, LOOP_REPLY__COUNT);
    labelled(e, "iotpro_subscription_resends_total",
             "Subscription commands sent again under a new cmdId, by reason.", "reason", resends,
             ls->subs.resends, SUBS_RESEND__COUNT);

    char lb[256];
    struct expo_labels l;
    expo_labels_init(&l, lb, sizeof lb);
    expo_labels_add(&l, "version", h->version, strlen(h->version));
    expo_labels_add(&l, "revision", h->revision, strlen(h->revision));
    expo_family(e, "iotpro_exporter_build_info", EXPO_INFO,
                "Version and git revision of the running exporter (always 1).");
    expo_sample(e, l.buf, l.len, 1);
}
