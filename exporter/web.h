/*
 * web.h -- the HTTP side: civetweb serving /metrics, /, /-/healthy and /-/ready.
 *
 * civetweb runs its own worker threads; everything here is called on them, never on
 * the event loop. The daemon plugs its data in through callbacks:
 *
 *   render(user, e)  writes the whole /metrics body into the encoder e (format already
 *                    negotiated). It may run on two workers at once (one per format);
 *                    it must only read shared state (snapshot under the store's lock,
 *                    atomics for health). Return 0, or non-zero to answer 500.
 *   status(user, s)  fills the landing-page / readiness facts; must be cheap.
 *
 * Behaviour (issue 7, exporter-conventions.md §3.5–3.6):
 *   - exact paths only: telemetry path, "/", "/-/healthy", "/-/ready"; others 404;
 *     GET and HEAD only on those, else 405 with "Allow: GET, HEAD";
 *   - requests are dispatched from civetweb's begin_request hook, before civetweb's
 *     own URL handling, and no document_root is set (file serving is compiled out;
 *     web_start refuses to run if mg_check_feature(MG_FEATURES_FILES) is not 0);
 *   - at most max_requests /metrics requests in flight, 503 beyond;
 *   - concurrent scrapes of the same format share one render (single flight): a
 *     request arriving while a render runs waits for it and sends the same bytes, so
 *     100 parallel scrapes cost one render and one body in memory; the body is sent
 *     with mg_write straight from the encoder's buffer (no copy);
 *   - memory: the body buffer is kept between scrapes, one per format, and reused by
 *     the next render (writing into already-mapped pages saved ~250 ms of page faults
 *     per scrape at 1M series: 340 ms -> 100 ms, tests/bench/bench_render.c --fresh).
 *     Cost: the body stays resident between scrapes, about 340 bytes per series (value
 *     and timestamp families, four labels each), i.e. ~343 MB at 1M series, for each
 *     format being scraped (text and OpenMetrics: two buffers), and up to twice the
 *     body in address space (the buffer grows by doubling). Resident memory is that of
 *     the largest body written into the buffer; a buffer over 16 MiB that is more than
 *     4x the body just written is freed instead of kept (so is the buffer of a failed
 *     render), so after the series count drops memory follows within one scrape;
 *   - Content-Type text/plain; version=0.0.4 by default, OpenMetrics 1.0.0 when the
 *     Accept header prefers it; no gzip (it would need zlib);
 *   - no CORS headers; request_timeout_ms bounds slow clients (slowloris).
 *
 * Lifetime: web_start() returns after the port is bound (or NULL with err filled);
 * web_stop() blocks until every worker has returned. Never call web_stop from a
 * render/status callback (it would wait for itself).
 */
#ifndef IOTPRO_EXPORTER_WEB_H
#define IOTPRO_EXPORTER_WEB_H

#include "exporter/expo.h"
#include "exporter/health.h"

#include <stddef.h>
#include <stdint.h>

struct web_status {
    const char *state; /* short static text, e.g. "streaming", "connecting" */
    int ready;         /* 1 once subscribed: /-/ready answers 200 */
    uint64_t assets;   /* shown on the landing page */
    uint64_t series;
};

struct web_callbacks {
    int (*render)(void *user, struct expo *e);
    void (*status)(void *user, struct web_status *s);
    void *user;
};

struct web_config {
    const char *listen;          /* civetweb form (cfg.listen_civet), e.g. "127.0.0.1:0" */
    const char *telemetry_path;  /* e.g. "/metrics" (copied) */
    unsigned max_requests;       /* in-flight /metrics limit; 0 = 40 */
    unsigned request_timeout_ms; /* 0 = 5000 */
    size_t max_body;             /* 0 = LIM_EXPO_BODY_DEFAULT */
    struct health *health;       /* optional: HTTP counters, scrape duration */
    const char *version;         /* landing page */
};

struct web;

struct web *web_start(const struct web_config *cfg, const struct web_callbacks *cb, char *err,
                      size_t errcap);
/* The TCP port actually bound (useful with port 0), or -1. */
int web_port(const struct web *w);
void web_stop(struct web *w);

/* Picks the exposition format for an Accept header (NULL = none): OpenMetrics if an
 * application/openmetrics-text range has a higher q than text/plain, else text. */
enum expo_format web_negotiate(const char *accept);

#endif
