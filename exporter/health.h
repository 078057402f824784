/*
 * health.h -- the exporter's own metrics (iotpro_up, iotpro_ws_*, …): the counts of the
 * web side, and the render of every iotpro_* family from the counts' owners.
 *
 * Owners. Each count lives with whoever knows it: the session, the subscription
 * ledger, the feed, the REST and WebSocket clients (a snapshot the loop publishes once
 * per turn, exporter/loop_stats.h), the store (its own statistics), and the web side
 * (struct health below: HTTP answers, scrapes, the render's own limits). health_render()
 * reads them at scrape time; nothing keeps a second copy by hand.
 *
 * struct health: one per process, owned by main, shared by pointer with the web
 * threads that write it. Every field is a C11 atomic (relaxed: each value is
 * independent), so no lock is held on any hot path.
 *
 * Labelled families use CLOSED sets: every label value exists from the start with a
 * value of 0 (Prometheus guidance: avoid missing series), and no free-form error text
 * ever becomes a label. Times are kept in milliseconds and rendered as seconds.
 */
#ifndef IOTPRO_EXPORTER_HEALTH_H
#define IOTPRO_EXPORTER_HEALTH_H

#include "core/store.h"
#include "exporter/expo.h"
#include "exporter/loop_stats.h"

#include <stdatomic.h>
#include <stdint.h>

/* The web side's gauges: health_set(h, HEALTH_G_…, v). */
enum health_gauge {
    HEALTH_G_SCRAPE_DURATION_US = 0, /* iotpro_scrape_duration_seconds, previous scrape */
    HEALTH_G_SCRAPE_UTF8_REPLACED,   /* iotpro_scrape_utf8_replacements (last scrape) */
    HEALTH_G_WEB_IN_FLIGHT,          /* iotpro_web_requests_in_flight */
    HEALTH_G__COUNT
};

/* The web side's limits, in iotpro_limit_hits_total{limit}. */
enum health_limit {
    HEALTH_LIMIT_NAME = 0,        /* a label set too long to render: the sample is left out */
    HEALTH_LIMIT_SCRAPE_BODY,     /* a /metrics body over LIM_EXPO_BODY_DEFAULT */
    HEALTH_LIMIT_TLS_CONNECTIONS, /* HTTPS connections refused at the TLS front's bound */
    HEALTH_LIMIT__COUNT
};

/* iotpro_web_responses_total{code}: /metrics endpoint answers. */
enum health_http {
    HEALTH_HTTP_200 = 0,
    HEALTH_HTTP_404,
    HEALTH_HTTP_405,
    HEALTH_HTTP_500,
    HEALTH_HTTP_503,
    HEALTH_HTTP_401, /* basic auth refused (--web.config.file) */
    HEALTH_HTTP__COUNT
};

struct health {
    _Atomic int64_t g[HEALTH_G__COUNT];
    _Atomic uint64_t limits[HEALTH_LIMIT__COUNT];
    _Atomic uint64_t http[HEALTH_HTTP__COUNT];
    int64_t series_limit;           /* --store.max-series; set once by health_init */
    char version[64], revision[64]; /* set once by health_init */
};

/* Zeroes everything; version/revision label iotpro_exporter_build_info (copied). */
void health_init(struct health *h, const char *version, const char *revision, int64_t series_limit);

static inline void health_set(struct health *h, enum health_gauge g, int64_t v)
{
    atomic_store_explicit(&h->g[g], v, memory_order_relaxed);
}
static inline void health_gauge_add(struct health *h, enum health_gauge g, int64_t d)
{
    atomic_fetch_add_explicit(&h->g[g], d, memory_order_relaxed);
}
void health_limit_hit(struct health *h, enum health_limit l);
void health_http(struct health *h, int status); /* other codes are not counted */

/* Renders every iotpro_* family (not process_*): the web side's counts from h, the
 * loop side's from ls, the store's from ss (ls and ss copied under one lock). */
void health_render(const struct health *h, const struct loop_stats *ls, const store_stats *ss,
                   struct expo *e);

#endif
