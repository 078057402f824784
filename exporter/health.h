/*
 * health.h -- the exporter's own counters and gauges (iotpro_up, iotpro_ws_*, …).
 *
 * One struct health per process, owned by main, shared by pointer: the event-loop
 * thread writes, civetweb workers read while rendering. Every field is a C11 atomic
 * (relaxed ordering: each value is independent, a scrape may see one counter a message
 * "ahead" of another, which Prometheus cannot notice), so no lock is held on the hot
 * path and a slow scrape never delays ingestion.
 *
 * Labelled counters use CLOSED enums: every label value exists from the start with a
 * value of 0 (Prometheus guidance: avoid missing series), and no free-form error text
 * ever becomes a label. Timestamps are kept in milliseconds and rendered as seconds.
 *
 * Names rendered (all prefixed iotpro_): see health_render() in health.c; the fixed
 * names from issue 7 are all there, plus connect failures by stage, limit hits by
 * limit, HTTP responses by code, scrape duration and a few more.
 */
#ifndef IOTPRO_EXPORTER_HEALTH_H
#define IOTPRO_EXPORTER_HEALTH_H

#include "exporter/expo.h"

#include <stdatomic.h>
#include <stdint.h>

/* Plain counters: health_add(h, HEALTH_C_…, n). */
enum health_counter {
    HEALTH_C_WS_CONNECTS = 0,     /* iotpro_ws_connects_total: WebSocket opened (101) */
    HEALTH_C_WS_CONNECT_ATTEMPTS, /* iotpro_ws_connect_attempts_total */
    HEALTH_C_WS_MESSAGES,         /* iotpro_ws_messages_received_total */
    HEALTH_C_WS_BYTES,            /* iotpro_ws_bytes_received_total (payload bytes) */
    HEALTH_C_WS_PINGS,            /* iotpro_ws_pings_received_total */
    HEALTH_C_TELEMETRY_UPDATES,   /* iotpro_telemetry_updates_total: values stored */
    HEALTH_C_PARSE_ERRORS,        /* iotpro_parse_errors_total: JSON we could not use */
    HEALTH_C_SERIES_DROPPED,      /* iotpro_series_dropped_total: store cap hit */
    HEALTH_C_SERIES_EXPIRED,      /* iotpro_series_expired_total: --metrics.ttl */
    HEALTH_C_REDISCOVERIES,       /* iotpro_rediscoveries_total: asset lists completed */
    HEALTH_C_RESYNCS,             /* iotpro_resyncs_total: resubscribe after errorCode */
    HEALTH_C_CONFIG_RELOADS,      /* iotpro_config_reloads_total: SIGHUP, applied */
    HEALTH_C_CONFIG_RELOAD_FAILS, /* iotpro_config_reload_failures_total */
    HEALTH_C__COUNT
};

/* Gauges: health_set(h, HEALTH_G_…, v). *_MS values are Unix ms or ms durations. */
enum health_gauge {
    HEALTH_G_UP = 0,            /* iotpro_up: connected, subscribed and receiving */
    HEALTH_G_WS_CONNECTED,      /* iotpro_ws_connected */
    HEALTH_G_ASSETS,            /* iotpro_assets */
    HEALTH_G_SUBSCRIPTIONS,     /* iotpro_subscriptions: commands whose data arrived */
    HEALTH_G_SUBSCRIPTIONS_PENDING, /* iotpro_subscriptions_pending: commands awaiting data */
    HEALTH_G_SERIES,            /* iotpro_series: stored series now */
    HEALTH_G_SERIES_LIMIT,      /* iotpro_series_limit: --store.max-series */
    HEALTH_G_TOKEN_EXPIRY_MS,   /* iotpro_token_expiry_timestamp_seconds */
    HEALTH_G_LAST_MESSAGE_MS,   /* iotpro_last_message_timestamp_seconds */
    HEALTH_G_LAST_CONNECT_MS,   /* iotpro_last_connect_success_timestamp_seconds */
    HEALTH_G_RECONNECT_BACKOFF_MS, /* iotpro_reconnect_backoff_seconds: current delay */
    HEALTH_G_SCRAPE_DURATION_US, /* iotpro_scrape_duration_seconds of the previous scrape */
    HEALTH_G_SCRAPE_UTF8_REPLACED,  /* iotpro_scrape_utf8_replacements (last scrape) */
    HEALTH_G_WEB_IN_FLIGHT,     /* iotpro_web_requests_in_flight */
    HEALTH_G_CONFIG_LAST_RELOAD_OK, /* iotpro_config_last_reload_successful */
    HEALTH_G__COUNT
};

/* iotpro_ws_disconnects_total{reason} */
enum health_disc {
    HEALTH_DISC_CLOSE_1000 = 0, /* normal */
    HEALTH_DISC_CLOSE_1001,     /* going away */
    HEALTH_DISC_ABNORMAL_1006,  /* TCP dropped without a close frame */
    HEALTH_DISC_AUTH_1007,      /* authCmd rejected / bad data */
    HEALTH_DISC_LIMIT_1008,     /* policy: "limit reached" (sessions, subscriptions) */
    HEALTH_DISC_QUEUE_1008,     /* "Max pending updates limit reached!": send queue */
    HEALTH_DISC_POLICY_1008,    /* other policy violation */
    HEALTH_DISC_TOO_BIG_1009,
    HEALTH_DISC_SERVER_1011,
    HEALTH_DISC_RESTART_1012,
    HEALTH_DISC_SERVER_4500,
    HEALTH_DISC_CLOSE_OTHER,    /* any other close code */
    HEALTH_DISC_IDLE_TIMEOUT,   /* no frame for --iotpro.idle-timeout */
    HEALTH_DISC_PROTOCOL_ERROR, /* we failed the connection (RFC 6455 violation) */
    HEALTH_DISC_LOCAL_SHUTDOWN, /* SIGTERM */
    HEALTH_DISC__COUNT
    /* A transport or TLS error on an open connection is abnormal_1006 (RFC 6455 7.1.5);
     * one before it opened is a connect failure, counted by stage instead. */
};

/* iotpro_ws_connect_failures_total{stage} */
enum health_stage {
    HEALTH_STAGE_DNS = 0, HEALTH_STAGE_TCP, HEALTH_STAGE_TLS, HEALTH_STAGE_UPGRADE,
    HEALTH_STAGE_AUTH, HEALTH_STAGE_SUBSCRIBE, HEALTH_STAGE__COUNT
};

/* iotpro_logins_total{result}, iotpro_token_refreshes_total{result} */
enum health_result { HEALTH_OK = 0, HEALTH_REJECTED, HEALTH_ERROR, HEALTH_RESULT__COUNT };

/* iotpro_limit_hits_total{limit}: a bound from core/limits.h was reached. */
enum health_limit {
    HEALTH_LIMIT_WS_MESSAGE = 0, HEALTH_LIMIT_SERIES, HEALTH_LIMIT_ASSETS, HEALTH_LIMIT_KEYS,
    HEALTH_LIMIT_STRING_VALUE, HEALTH_LIMIT_DETAIL_LABELS, HEALTH_LIMIT_PENDING_UPDATES,
    HEALTH_LIMIT_HTTP_BODY, HEALTH_LIMIT_NAME, HEALTH_LIMIT_SCRAPE_BODY,
    HEALTH_LIMIT_TLS_CONNECTIONS, /* HTTPS connections refused at the TLS front's bound */
    HEALTH_LIMIT__COUNT
};

/* iotpro_ws_error_replies_total{kind}: error replies ThingsBoard sent on the socket. */
enum health_reply {
    HEALTH_REPLY_TOO_MANY_UPDATES = 0, /* errorCode 34: updates were dropped */
    HEALTH_REPLY_SUB_RATE_LIMIT,       /* "Exceeded rate limit for WS subscriptions ..." */
    HEALTH_REPLY_OTHER,                /* any other errorCode */
    HEALTH_REPLY__COUNT
};

/* iotpro_subscription_resends_total{reason}: the values of core/subs.h's subs_resend. */
#define HEALTH_RESEND__COUNT 4

/* iotpro_web_responses_total{code}: /metrics endpoint answers. */
enum health_http {
    HEALTH_HTTP_200 = 0, HEALTH_HTTP_404, HEALTH_HTTP_405, HEALTH_HTTP_500, HEALTH_HTTP_503,
    HEALTH_HTTP_401, /* basic auth refused (--web.config.file) */
    HEALTH_HTTP__COUNT
};

struct health {
    _Atomic uint64_t c[HEALTH_C__COUNT];
    _Atomic int64_t g[HEALTH_G__COUNT];
    _Atomic uint64_t disc[HEALTH_DISC__COUNT];
    _Atomic uint64_t connect_fail[HEALTH_STAGE__COUNT];
    _Atomic uint64_t logins[HEALTH_RESULT__COUNT];
    _Atomic uint64_t refreshes[HEALTH_RESULT__COUNT];
    _Atomic uint64_t limits[HEALTH_LIMIT__COUNT];
    _Atomic uint64_t http[HEALTH_HTTP__COUNT];
    _Atomic uint64_t replies[HEALTH_REPLY__COUNT];
    _Atomic uint64_t resends[HEALTH_RESEND__COUNT]; /* set from the ledger's own counts */
    char version[64], revision[64]; /* set once by health_init */
};

/* Zeroes everything; version/revision label iotpro_exporter_build_info (copied). */
void health_init(struct health *h, const char *version, const char *revision);

static inline void health_add(struct health *h, enum health_counter c, uint64_t n)
{
    atomic_fetch_add_explicit(&h->c[c], n, memory_order_relaxed);
}
/* A counter whose owner keeps the count (the store's own statistics): a copy of it. */
static inline void health_counter_set(struct health *h, enum health_counter c, uint64_t v)
{
    atomic_store_explicit(&h->c[c], v, memory_order_relaxed);
}
static inline void health_set(struct health *h, enum health_gauge g, int64_t v)
{
    atomic_store_explicit(&h->g[g], v, memory_order_relaxed);
}
static inline int64_t health_get(const struct health *h, enum health_gauge g)
{
    return atomic_load_explicit(&((struct health *)h)->g[g], memory_order_relaxed);
}
static inline void health_gauge_add(struct health *h, enum health_gauge g, int64_t d)
{
    atomic_fetch_add_explicit(&h->g[g], d, memory_order_relaxed);
}
void health_disconnect(struct health *h, enum health_disc r);
void health_connect_failure(struct health *h, enum health_stage s);
/* The `stage` label value of s ("dns", "tcp", ...), for log lines that match the metric. */
const char *health_stage_name(enum health_stage s);
void health_login(struct health *h, enum health_result r);
void health_token_refresh(struct health *h, enum health_result r);
void health_limit_hit(struct health *h, enum health_limit l);
/* A bound whose owner counts its own hits (the store's, the feed's): a copy of that. */
void health_limit_set(struct health *h, enum health_limit l, uint64_t total);
void health_http(struct health *h, int status); /* other codes are not counted */
void health_reply(struct health *h, enum health_reply k);
/* The ledger's resend count for one reason (a copy of its owner's counter). */
void health_set_resends(struct health *h, unsigned reason, uint64_t total);

/* Maps a received WebSocket close code (and whether the reason said "limit") to the
 * reason label; code 0 means "no close frame" (1006). */
enum health_disc health_disc_from_close(unsigned code, int limit_reached);
const char *health_disc_name(enum health_disc r);

/* Renders every iotpro_* health family (not process_*) into e. */
void health_render(const struct health *h, struct expo *e);

#endif
