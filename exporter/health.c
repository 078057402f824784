/*
 * health.c -- the exporter's self metrics: atomic updates, and their render (health.h).
 *
 * The tables below are the single place where a health metric's name, type and help
 * live, so the render order, the names and the label values stay stable between
 * scrapes (Prometheus guidance: stable HELP, pre-initialised label values).
 */
#include "exporter/health.h"

#include <stdio.h>
#include <string.h>

void health_init(struct health *h, const char *version, const char *revision)
{
    memset(h, 0, sizeof *h);
    snprintf(h->version, sizeof h->version, "%s", version ? version : "unknown");
    snprintf(h->revision, sizeof h->revision, "%s", revision ? revision : "unknown");
    health_set(h, HEALTH_G_CONFIG_LAST_RELOAD_OK, 1);
}

static void health_inc(_Atomic uint64_t *p)
{
    atomic_fetch_add_explicit(p, 1, memory_order_relaxed);
}

void health_disconnect(struct health *h, enum health_disc r)
{
    if ((unsigned)r < HEALTH_DISC__COUNT)
        health_inc(&h->disc[r]);
}

void health_connect_failure(struct health *h, enum health_stage s)
{
    if ((unsigned)s < HEALTH_STAGE__COUNT)
        health_inc(&h->connect_fail[s]);
}

void health_login(struct health *h, enum health_result r)
{
    if ((unsigned)r < HEALTH_RESULT__COUNT)
        health_inc(&h->logins[r]);
}

void health_token_refresh(struct health *h, enum health_result r)
{
    if ((unsigned)r < HEALTH_RESULT__COUNT)
        health_inc(&h->refreshes[r]);
}

void health_limit_hit(struct health *h, enum health_limit l)
{
    if ((unsigned)l < HEALTH_LIMIT__COUNT)
        health_inc(&h->limits[l]);
}

void health_limit_set(struct health *h, enum health_limit l, uint64_t total)
{
    if ((unsigned)l < HEALTH_LIMIT__COUNT)
        atomic_store_explicit(&h->limits[l], total, memory_order_relaxed);
}

void health_reply(struct health *h, enum health_reply k)
{
    if ((unsigned)k < HEALTH_REPLY__COUNT)
        health_inc(&h->replies[k]);
}

void health_set_resends(struct health *h, unsigned reason, uint64_t total)
{
    if (reason < HEALTH_RESEND__COUNT)
        atomic_store_explicit(&h->resends[reason], total, memory_order_relaxed);
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

static const char *const health_disc_names[HEALTH_DISC__COUNT] = {
    "close_1000", "close_1001", "abnormal_1006", "auth_1007", "limit_1008", "queue_1008",
    "policy_1008",
    "too_big_1009", "server_error_1011", "restart_1012", "server_4500", "close_other",
    "idle_timeout", "protocol_error", "local_shutdown",
};

const char *health_disc_name(enum health_disc r)
{
    return (unsigned)r < HEALTH_DISC__COUNT ? health_disc_names[r] : "close_other";
}

enum health_disc health_disc_from_close(unsigned code, int limit_reached)
{
    switch (code) {
    case 0: case 1006: return HEALTH_DISC_ABNORMAL_1006;
    case 1000: return HEALTH_DISC_CLOSE_1000;
    case 1001: return HEALTH_DISC_CLOSE_1001;
    case 1007: return HEALTH_DISC_AUTH_1007;
    case 1008: return limit_reached ? HEALTH_DISC_LIMIT_1008 : HEALTH_DISC_POLICY_1008;
    case 1009: return HEALTH_DISC_TOO_BIG_1009;
    case 1011: return HEALTH_DISC_SERVER_1011;
    case 1012: return HEALTH_DISC_RESTART_1012;
    case 4500: return HEALTH_DISC_SERVER_4500;
    default: return HEALTH_DISC_CLOSE_OTHER;
    }
}

struct health_def {
    int idx;
    const char *name, *help;
};

static const struct health_def health_counters[] = {
    { HEALTH_C_WS_CONNECT_ATTEMPTS, "iotpro_ws_connect_attempts_total",
      "WebSocket connection attempts (DNS, TCP, TLS, upgrade)." },
    { HEALTH_C_WS_CONNECTS, "iotpro_ws_connects_total",
      "WebSocket connections opened (HTTP 101 received)." },
    { HEALTH_C_WS_MESSAGES, "iotpro_ws_messages_received_total",
      "WebSocket data messages received." },
    { HEALTH_C_WS_BYTES, "iotpro_ws_bytes_received_total",
      "WebSocket message payload bytes received." },
    { HEALTH_C_WS_PINGS, "iotpro_ws_pings_received_total", "WebSocket pings received." },
    { HEALTH_C_TELEMETRY_UPDATES, "iotpro_telemetry_updates_total",
      "Telemetry values received and stored." },
    { HEALTH_C_PARSE_ERRORS, "iotpro_parse_errors_total",
      "Upstream messages that could not be parsed or used." },
    { HEALTH_C_SERIES_DROPPED, "iotpro_series_dropped_total",
      "New series refused because the store was full (--store.max-series)." },
    { HEALTH_C_SERIES_EXPIRED, "iotpro_series_expired_total",
      "Series removed because they were not updated within --metrics.ttl." },
    { HEALTH_C_REDISCOVERIES, "iotpro_rediscoveries_total", "Asset list refreshes completed." },
    { HEALTH_C_RESYNCS, "iotpro_resyncs_total",
      "Subscriptions re-sent after an upstream error asked for it." },
    { HEALTH_C_CONFIG_RELOADS, "iotpro_config_reloads_total",
      "Configuration reloads applied (SIGHUP)." },
    { HEALTH_C_CONFIG_RELOAD_FAILS, "iotpro_config_reload_failures_total",
      "Configuration reloads rejected as invalid (the old configuration stays)." },
};

/* scale: divide the stored integer by this to get the unit in the name. */
struct health_gdef {
    int idx;
    const char *name, *help;
    double scale;
};

static const struct health_gdef health_gauges[] = {
    { HEALTH_G_UP, "iotpro_up",
      "1 when the WebSocket is connected, subscribed and receiving, else 0.", 1 },
    { HEALTH_G_WS_CONNECTED, "iotpro_ws_connected", "1 while the WebSocket is open.", 1 },
    { HEALTH_G_ASSETS, "iotpro_assets", "Assets known from the last asset listing.", 1 },
    { HEALTH_G_SUBSCRIPTIONS, "iotpro_subscriptions",
      "Subscription commands (up to 400 assets each) whose data has arrived on the open WebSocket.", 1 },
    { HEALTH_G_SUBSCRIPTIONS_PENDING, "iotpro_subscriptions_pending",
      "Subscription commands still waiting for their first data page (all of them while disconnected); iotpro_up is 0 while this is not 0.", 1 },
    { HEALTH_G_SERIES, "iotpro_series", "Telemetry series currently stored.", 1 },
    { HEALTH_G_SERIES_LIMIT, "iotpro_series_limit",
      "Maximum number of telemetry series stored (--store.max-series).", 1 },
    { HEALTH_G_TOKEN_EXPIRY_MS, "iotpro_token_expiry_timestamp_seconds",
      "Expiry time of the current access token (0 before the first login).", 1000 },
    { HEALTH_G_LAST_MESSAGE_MS, "iotpro_last_message_timestamp_seconds",
      "Time the last WebSocket message arrived (0 before the first).", 1000 },
    { HEALTH_G_LAST_CONNECT_MS, "iotpro_last_connect_success_timestamp_seconds",
      "Time the WebSocket last opened successfully (0 before the first).", 1000 },
    { HEALTH_G_RECONNECT_BACKOFF_MS, "iotpro_reconnect_backoff_seconds",
      "Delay before the next reconnect attempt (0 while connected).", 1000 },
    { HEALTH_G_SCRAPE_DURATION_US, "iotpro_scrape_duration_seconds",
      "Time the previous /metrics render took, including sending the body (it is "
      "streamed as it is rendered).", 1e6 },
    { HEALTH_G_SCRAPE_UTF8_REPLACED, "iotpro_scrape_utf8_replacements",
      "Invalid UTF-8 sequences replaced by U+FFFD in the previous /metrics render.", 1 },
    { HEALTH_G_WEB_IN_FLIGHT, "iotpro_web_requests_in_flight",
      "/metrics requests being served now.", 1 },
    { HEALTH_G_CONFIG_LAST_RELOAD_OK, "iotpro_config_last_reload_successful",
      "1 if the last configuration reload succeeded (or none was tried), else 0.", 1 },
};

static uint64_t hload(const _Atomic uint64_t *p)
{
    return atomic_load_explicit((_Atomic uint64_t *)p, memory_order_relaxed);
}

/* One labelled counter family: label `lname` over the closed set `values`. */
static void health_labelled(struct expo *e, const char *name, const char *help,
                            const char *lname, const char *const *values,
                            const _Atomic uint64_t *counts, size_t n)
{
    expo_family(e, name, EXPO_COUNTER, help);
    for (size_t i = 0; i < n; i++) {
        char lb[128];
        struct expo_labels l;
        expo_labels_init(&l, lb, sizeof lb);
        expo_labels_add(&l, lname, values[i], strlen(values[i]));
        expo_sample_u64(e, l.buf, l.len, hload(&counts[i]));
    }
}

static const char *const health_stages[] = { "dns", "tcp", "tls", "upgrade", "auth", "subscribe" };
_Static_assert(sizeof health_stages / sizeof health_stages[0] == HEALTH_STAGE__COUNT, "stages");

/* see health.h */
const char *health_stage_name(enum health_stage s)
{
    return (unsigned)s < HEALTH_STAGE__COUNT ? health_stages[s] : "unknown";
}

void health_render(const struct health *h, struct expo *e)
{
    static const char *const results[] = { "ok", "rejected", "error" };
    static const char *const limits[] = {
        "ws_message", "series", "assets", "keys", "string_value", "detail_labels",
        "pending_updates", "http_body", "name", "scrape_body", "tls_connections",
    };
    static const char *const codes[] = { "200", "404", "405", "500", "503", "401" };
    static const char *const replies[] = { "too_many_updates", "subscription_rate_limit", "other" };
    /* the names of core/subs.h's subs_resend, in its order (test_health checks) */
    static const char *const resends[] = { "data_timeout", "too_many_updates", "assets_changed",
                                           "keys_changed" };
    _Static_assert(sizeof replies / sizeof replies[0] == HEALTH_REPLY__COUNT, "replies");
    _Static_assert(sizeof resends / sizeof resends[0] == HEALTH_RESEND__COUNT, "resends");
    _Static_assert(sizeof limits / sizeof limits[0] == HEALTH_LIMIT__COUNT, "limits");
    _Static_assert(sizeof codes / sizeof codes[0] == HEALTH_HTTP__COUNT, "codes");

    for (size_t i = 0; i < sizeof health_gauges / sizeof health_gauges[0]; i++) {
        const struct health_gdef *d = &health_gauges[i];
        int64_t v = atomic_load_explicit((_Atomic int64_t *)&h->g[d->idx], memory_order_relaxed);
        expo_family(e, d->name, EXPO_GAUGE, d->help);
        expo_sample(e, NULL, 0, (double)v / d->scale);
    }
    for (size_t i = 0; i < sizeof health_counters / sizeof health_counters[0]; i++) {
        const struct health_def *d = &health_counters[i];
        expo_family(e, d->name, EXPO_COUNTER, d->help);
        expo_sample_u64(e, NULL, 0, hload(&h->c[d->idx]));
    }
    health_labelled(e, "iotpro_ws_disconnects_total",
                    "WebSocket disconnections by reason (a closed set).", "reason",
                    health_disc_names, h->disc, HEALTH_DISC__COUNT);
    health_labelled(e, "iotpro_ws_connect_failures_total",
                    "Failed connection attempts by the stage that failed.", "stage", health_stages,
                    h->connect_fail, HEALTH_STAGE__COUNT);
    health_labelled(e, "iotpro_logins_total",
                    "Logins by result (rejected = wrong credentials, not retried).", "result",
                    results, h->logins, HEALTH_RESULT__COUNT);
    health_labelled(e, "iotpro_token_refreshes_total", "Access token refreshes by result.",
                    "result", results, h->refreshes, HEALTH_RESULT__COUNT);
    health_labelled(e, "iotpro_limit_hits_total",
                    "Times a fixed or configured bound was reached, by bound.", "limit",
                    limits, h->limits, HEALTH_LIMIT__COUNT);
    health_labelled(e, "iotpro_web_responses_total", "/metrics and other HTTP answers by code.",
                    "code", codes, h->http, HEALTH_HTTP__COUNT);
    health_labelled(e, "iotpro_ws_error_replies_total",
                    "Error replies from ThingsBoard on the WebSocket, by kind (too_many_updates = errorCode 34, updates dropped; subscription_rate_limit = subscriptions refused).",
                    "kind", replies, h->replies, HEALTH_REPLY__COUNT);
    health_labelled(e, "iotpro_subscription_resends_total",
                    "Subscription commands sent again under a new cmdId, by reason.", "reason",
                    resends, h->resends, HEALTH_RESEND__COUNT);

    char lb[256];
    struct expo_labels l;
    expo_labels_init(&l, lb, sizeof lb);
    expo_labels_add(&l, "version", h->version, strlen(h->version));
    expo_labels_add(&l, "revision", h->revision, strlen(h->revision));
    expo_family(e, "iotpro_exporter_build_info", EXPO_INFO,
                "Version and git revision of the running exporter (always 1).");
    expo_sample(e, l.buf, l.len, 1);
}
