/*
 * web.h -- the HTTP side: civetweb serving /metrics, /, /-/healthy and /-/ready.
 *
 * civetweb runs its own worker threads; everything here is called on them, never on
 * the event loop. The daemon plugs its data in through callbacks:
 *
 *   render(user, e)  writes the whole /metrics body into the encoder e (format already
 *                    negotiated; usually a streaming encoder whose sink sends as it
 *                    goes, so e may fail mid-render: stop early on expo_failed(e)).
 *                    Up to max_requests run at once, one per request; it must only
 *                    read shared state (snapshot under the store's lock, atomics for
 *                    health). Return 0, or non-zero when it could not complete (then
 *                    500 if nothing was sent yet, else the aborted stream below).
 *   status(user, s)  fills the landing-page / readiness facts; must be cheap.
 *
 * Behaviour (issue 7, exporter-conventions.md §3.5–3.6):
 *   - with a web config (cfg.sec, exporter/websec.h): every request, whatever its path,
 *     passes basic auth first (401 with WWW-Authenticate: Basic realm="iotpro_exporter"
 *     and a body that says nothing, counted as code 401, connection closed); the
 *     configured headers go on every answer; with a certificate, civetweb serves a
 *     Unix socket in a private directory and transport/tls_front.h owns the port;
 *   - exact paths only: telemetry path, "/", "/-/healthy", "/-/ready"; others 404;
 *     GET and HEAD only on those, else 405 with "Allow: GET, HEAD";
 *   - requests are dispatched from civetweb's begin_request hook, before civetweb's
 *     own URL handling, and no document_root is set (file serving is compiled out;
 *     web_start refuses to run if mg_check_feature(MG_FEATURES_FILES) is not 0);
 *   - at most max_requests /metrics requests in flight, 503 beyond; each renders
 *     itself (no shared render, no body kept between scrapes);
 *   - GET over HTTP/1.1: the body is streamed. The render writes into a fixed buffer
 *     of stream_buf bytes (WEB_STREAM_BUF, 128 KiB); each time the next line would not
 *     fit, what it holds goes out as one chunk (Transfer-Encoding: chunked, chunks end
 *     at line ends), and the zero-length last chunk
 *     follows only when the render completed. The status line and headers go out with
 *     the first chunk, so a render that fails before that (allocation, body limit on a
 *     small body) still answers 500. A failure after it -- the body limit max_body
 *     (counted as iotpro_limit_hits_total{limit="scrape_body"}), the render callback
 *     failing, the client gone (a write fails), the deadline -- ends the connection
 *     without the last chunk, logged as "metrics response aborted" and counted as
 *     code 500 in iotpro_web_responses_total (the client saw 200 and an incomplete
 *     body: Prometheus records a failed scrape). The render stops at its next batch;
 *   - deadline: a streamed response ends after stream_deadline_ms
 *     (WEB_STREAM_DEADLINE_MS, 30 s) whatever the client's pace, because the render
 *     holds a worker and a reference to its asset table while it waits for the network.
 *     It is checked before each write of at most 16 KiB, and civetweb gives up a write
 *     when no byte moves for request_timeout_ms; so the render ends by the deadline
 *     plus the time the client takes to accept 16 KiB (a client may trickle to stay
 *     under request_timeout_ms per write; that is the residual bound). Rediscoveries
 *     never wait for it: they publish new tables, and the held one is freed when the
 *     render lets go (exporter/asset_tab.h);
 *   - GET over HTTP/1.0 (no chunked encoding): the whole body is rendered into a
 *     growable buffer (the size of the body, ~163 bytes per series) and sent with
 *     Content-Length; the buffer is freed after the reply;
 *   - HEAD: the headers a GET would send (HTTP/1.1: Transfer-Encoding: chunked;
 *     HTTP/1.0: no length), no render;
 *   - keep-alive: on (Prometheus reuses connections) after GET and HEAD requests
 *     without a body; an idle connection is closed after 500 ms because it holds a
 *     worker thread. A request with a body (Content-Length, Transfer-Encoding, or any
 *     other method) is answered and its connection closed: civetweb's body discard
 *     and keep-alive arithmetic are not safe against a huge Content-Length;
 *   - memory per /metrics request in flight: the stream buffer (128 KiB + 18 B) plus
 *     the render's temporaries (exporter/render.h: 2.1 MiB of address space, typically
 *     under 1 MiB of it resident), about 2.3 MiB in all, freed when the request ends;
 *     nothing is kept between scrapes.
 *     Bounded overall by max_requests (and the LIM_WEB_THREADS workers). HTTP/1.0 GETs
 *     add the whole body each;
 *   - Content-Type text/plain; version=0.0.4 by default, OpenMetrics 1.0.0 when the
 *     Accept header prefers it ("# EOF" only ends a completed render); no gzip (it
 *     would need zlib);
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
#include "exporter/websec.h"

#include <stddef.h>
#include <stdint.h>

/* Size of the per-request stream buffer: one chunk. Large enough that the per-chunk
 * write calls cost nothing next to formatting (~1,300 chunks at 1M series, a few ms
 * of ~200), small enough that it adds little to the exporter's peak RSS (it is
 * touched whole by any scrape of a few thousand series) and that 16 requests in
 * flight hold 2 MiB. */
#define WEB_STREAM_BUF (128u * 1024u)
/* Overall deadline of a streamed /metrics response (see above). Prometheus' default
 * scrape_timeout is 10 s and it never waits longer than its scrape interval, so a
 * response still going after 30 s serves nobody, while it holds a worker and a table. */
#define WEB_STREAM_DEADLINE_MS 30000u

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
    size_t stream_buf;           /* 0 = WEB_STREAM_BUF; tests use tiny ones (many chunks) */
    unsigned stream_deadline_ms; /* 0 = WEB_STREAM_DEADLINE_MS; tests use short ones */
    struct health *health;       /* optional: HTTP counters, scrape duration */
    const char *version;         /* landing page */
    struct websec *sec;          /* optional: --web.config.file (web takes a reference) */
};

struct web;

struct web *web_start(const struct web_config *cfg, const struct web_callbacks *cb, char *err,
                      size_t errcap);
/* Puts a new web config in force for the requests that begin from now on (TLS
 * credentials for new connections). Turning TLS on or off needs a restart: -1 with
 * err filled, and the old config stays. Call from one control thread. */
int web_reload(struct web *w, struct websec *sec, char *err, size_t errcap);

/* The TCP port actually bound (useful with port 0; the HTTPS port with TLS), or -1. */
int web_port(const struct web *w);
void web_stop(struct web *w);

/* Picks the exposition format for an Accept header (NULL = none): OpenMetrics if an
 * application/openmetrics-text range has a higher q than text/plain, else text. */
enum expo_format web_negotiate(const char *accept);

#endif
