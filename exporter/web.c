/*
 * web.c -- civetweb embedding for /metrics and friends (contract in web.h).
 *
 * Why begin_request and not mg_set_request_handler: the hook runs before civetweb
 * interprets the URL any further (handler matching, CORS preflight, the file-system
 * mapping), so every request, whatever its URI, ends in our exact-match dispatcher and
 * nothing else. civetweb 1.15 is in the range of CVE-2025-55763 (URI parsing); the
 * less of its URL machinery we reach, the better, and the hostile-URI tests run this
 * under ASan.
 *
 * Single flight: per format, one "flight" object owns the render in progress and its
 * result. Requests that arrive while it runs take a reference and wait on the
 * condition variable; the last one out returns the encoder (its buffer) to the
 * per-format spare slot, so the next render of that format writes into pages that are
 * already mapped (a fresh 343 MB buffer cost ~100 ms of page faults per render at 1M
 * series). The body is sent with mg_write straight from that buffer, never copied.
 * The spare is dropped instead of kept when the body it held was much smaller than
 * the buffer (web_keep_buffer), when the render failed, or when the slot is taken (a
 * render started while the previous body was still being sent).
 */
#include "exporter/web.h"

#include "core/limits.h"
#include "exporter/log.h"

/* Must match how vendor/civetweb is compiled (Makefile CIVET_DEFS): this macro adds a
 * member to struct mg_callbacks, so without it our struct is smaller than the one
 * mg_start2 copies (found by ASan). */
#ifndef MG_EXPERIMENTAL_INTERFACES
#define MG_EXPERIMENTAL_INTERFACES
#endif
#include "civetweb.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define WEB_PATH_MAX 160 /* telemetry path, with the NUL (config allows 128) */

/* A buffer bigger than this is kept only while the bodies written into it use more
 * than a quarter of it (doubling growth leaves a fresh buffer at most twice its body). */
#define WEB_KEEP_ALWAYS (16u * 1024u * 1024u)

struct web_flight {
    int refs;      /* renderer + waiters; guarded by web.mu */
    int done;
    int status;    /* 200 or 500 */
    enum expo_format fmt;
    struct expo e; /* the body: expo_body(&e); read-only once done */
};

struct web {
    struct mg_context *ctx;
    struct web_callbacks cb;
    char tpath[WEB_PATH_MAX];
    char version[64];
    unsigned max_requests, timeout_ms;
    size_t max_body;
    struct health *health;
    atomic_int in_flight;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct web_flight *cur[2]; /* render in progress per format, or NULL */
    struct expo spare[2];      /* idle encoder per format, kept for its buffer; */
    int have_spare[2];         /* both guarded by mu */
};

/* --- content negotiation ------------------------------------------------------------ */

static int web_ieq(const char *a, size_t n, const char *b)
{
    return strlen(b) == n && strncasecmp(a, b, n) == 0;
}

enum expo_format web_negotiate(const char *accept)
{
    double q_om = 0, q_text = 0;
    const char *p = accept;
    if (!p)
        return EXPO_TEXT;
    while (*p) {
        const char *end = strchr(p, ','), *e = end ? end : p + strlen(p);
        /* media type up to ';' */
        const char *semi = memchr(p, ';', (size_t)(e - p)), *te = semi ? semi : e;
        while (p < te && (*p == ' ' || *p == '\t'))
            p++;
        while (te > p && (te[-1] == ' ' || te[-1] == '\t'))
            te--;
        size_t tl = (size_t)(te - p);
        double q = 1;
        int version_ok = 1;
        for (const char *a = semi; a && a < e;) {
            a++;
            const char *ae = memchr(a, ';', (size_t)(e - a));
            if (!ae)
                ae = e;
            while (a < ae && (*a == ' ' || *a == '\t'))
                a++;
            if (ae - a > 2 && (a[0] == 'q' || a[0] == 'Q') && a[1] == '=') {
                char qb[16];
                size_t ql = (size_t)(ae - a - 2);
                if (ql >= sizeof qb)
                    ql = sizeof qb - 1;
                memcpy(qb, a + 2, ql);
                qb[ql] = 0;
                q = strtod(qb, NULL);
                if (!(q >= 0 && q <= 1))
                    q = 0;
            } else if (ae - a > 8 && strncasecmp(a, "version=", 8) == 0) {
                size_t vl = (size_t)(ae - a - 8);
                while (vl && (a[8 + vl - 1] == ' ' || a[8 + vl - 1] == '\t'))
                    vl--;
                version_ok = web_ieq(a + 8, vl, "1.0.0") || web_ieq(a + 8, vl, "0.0.1") ||
                             web_ieq(a + 8, vl, "0.0.4");
            }
            a = ae;
        }
        if (web_ieq(p, tl, "application/openmetrics-text") && version_ok) {
            if (q > q_om)
                q_om = q;
        } else if ((web_ieq(p, tl, "text/plain") && version_ok) || web_ieq(p, tl, "*/*") ||
                   web_ieq(p, tl, "text/*")) {
            if (q > q_text)
                q_text = q;
        }
        p = end ? end + 1 : e;
    }
    return q_om > 0 && q_om > q_text ? EXPO_OPENMETRICS : EXPO_TEXT;
}

/* --- responses ------------------------------------------------------------------------ */

static int web_reply(struct web *w, struct mg_connection *conn, int status, const char *ctype,
                     const char *body, size_t len, int head_only, const char *allow)
{
    char lb[24];
    snprintf(lb, sizeof lb, "%zu", len);
    mg_response_header_start(conn, status);
    mg_response_header_add(conn, "Content-Type", ctype, -1);
    mg_response_header_add(conn, "Content-Length", lb, -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    mg_response_header_add(conn, "X-Content-Type-Options", "nosniff", -1);
    if (allow)
        mg_response_header_add(conn, "Allow", allow, -1);
    if (!strncmp(ctype, "text/html", 9))
        mg_response_header_add(conn, "Content-Security-Policy", "default-src 'none'", -1);
    if (status == 200 && (strstr(ctype, "version=") != NULL))
        mg_response_header_add(conn, "Vary", "Accept", -1);
    mg_response_header_send(conn);
    if (!head_only && len)
        mg_write(conn, body, len);
    if (w->health)
        health_http(w->health, status);
    return status;
}

static int web_text(struct web *w, struct mg_connection *conn, int status, const char *msg,
                    int head_only, const char *allow)
{
    return web_reply(w, conn, status, "text/plain; charset=utf-8", msg, strlen(msg), head_only,
                     allow);
}

/* --- /metrics --------------------------------------------------------------------------- */

/* 1 if a buffer of cap bytes that just held a body of len bytes is worth keeping. */
static int web_keep_buffer(size_t cap, size_t len)
{
    return cap <= WEB_KEEP_ALWAYS || len > cap / 4;
}

static void web_flight_unref(struct web *w, struct web_flight *f)
{
    pthread_mutex_lock(&w->mu);
    int last = --f->refs == 0, keep = 0;
    if (last && f->status == 200 && !w->have_spare[f->fmt] &&
        web_keep_buffer(f->e.cap, f->e.len)) {
        w->spare[f->fmt] = f->e;
        w->have_spare[f->fmt] = 1;
        keep = 1;
    }
    pthread_mutex_unlock(&w->mu);
    if (last) {
        if (!keep)
            expo_free(&f->e);
        free(f);
    }
}

static void web_render(struct web *w, struct web_flight *f)
{
    struct expo *e = &f->e;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = w->cb.render ? w->cb.render(w->cb.user, e) : 0;
    int erc = expo_finish(e);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc == 0 && erc == EXPO_OK) {
        f->status = 200;
    } else {
        f->status = 500;
        if (erc == EXPO_ERR_FULL && w->health)
            health_limit_hit(w->health, HEALTH_LIMIT_SCRAPE_BODY);
        log_warn("metrics render failed", LOG_S("error", rc ? "render callback failed"
                                                            : expo_strerror(erc)));
    }
    if (w->health) {
        int64_t us = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000 +
                     (int64_t)(t1.tv_nsec - t0.tv_nsec) / 1000;
        health_set(w->health, HEALTH_G_SCRAPE_DURATION_US, us);
        health_set(w->health, HEALTH_G_SCRAPE_UTF8_REPLACED, (int64_t)e->utf8_replaced);
    }
}

/* Returns a finished flight (caller unrefs), or NULL if waiting timed out. */
static struct web_flight *web_get_body(struct web *w, enum expo_format fmt)
{
    pthread_mutex_lock(&w->mu);
    struct web_flight *f = w->cur[fmt];
    if (f) {
        f->refs++;
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 60; /* a render that takes a minute is broken; do not pile up */
        int rc = 0;
        while (!f->done && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&w->cv, &w->mu, &dl);
        int ok = f->done;
        pthread_mutex_unlock(&w->mu);
        if (!ok) {
            web_flight_unref(w, f);
            return NULL;
        }
        return f;
    }
    f = calloc(1, sizeof *f);
    if (!f) {
        pthread_mutex_unlock(&w->mu);
        return NULL;
    }
    f->refs = 1;
    f->fmt = fmt;
    if (w->have_spare[fmt]) {
        f->e = w->spare[fmt]; /* keeps its buffer and max_body */
        w->have_spare[fmt] = 0;
        expo_reset(&f->e, fmt);
    } else {
        expo_init(&f->e, fmt, w->max_body);
    }
    w->cur[fmt] = f;
    pthread_mutex_unlock(&w->mu);

    web_render(w, f);

    pthread_mutex_lock(&w->mu);
    f->done = 1;
    w->cur[fmt] = NULL;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return f;
}

static int web_metrics(struct web *w, struct mg_connection *conn, int head)
{
    int n = atomic_fetch_add(&w->in_flight, 1) + 1;
    int status;
    if (w->health)
        health_gauge_add(w->health, HEALTH_G_WEB_IN_FLIGHT, 1);
    if ((unsigned)n > w->max_requests) {
        char msg[96];
        snprintf(msg, sizeof msg, "Limit of concurrent requests reached (%u), try again later.\n",
                 w->max_requests);
        status = web_text(w, conn, 503, msg, head, NULL);
    } else {
        enum expo_format fmt = web_negotiate(mg_get_header(conn, "Accept"));
        struct web_flight *f = web_get_body(w, fmt);
        if (!f) {
            status = web_text(w, conn, 503, "Render did not finish in time, try again later.\n",
                              head, NULL);
        } else {
            if (f->status == 200) {
                size_t len;
                const char *body = expo_body(&f->e, &len);
                status = web_reply(w, conn, 200, expo_content_type(fmt), body, len, head, NULL);
            } else
                status = web_text(w, conn, 500, "Rendering the metrics failed; see the log.\n",
                                  head, NULL);
            web_flight_unref(w, f);
        }
    }
    atomic_fetch_sub(&w->in_flight, 1);
    if (w->health)
        health_gauge_add(w->health, HEALTH_G_WEB_IN_FLIGHT, -1);
    return status;
}

/* --- landing page ------------------------------------------------------------------------ */

static size_t web_html(char *dst, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s && o + 7 < cap; s++) {
        const char *r = NULL;
        switch (*s) {
        case '<': r = "&lt;"; break;
        case '>': r = "&gt;"; break;
        case '&': r = "&amp;"; break;
        case '"': r = "&quot;"; break;
        case '\'': r = "&#39;"; break;
        default: dst[o++] = *s; continue;
        }
        size_t l = strlen(r);
        memcpy(dst + o, r, l);
        o += l;
    }
    dst[o] = 0;
    return o;
}

static void web_get_status(struct web *w, struct web_status *st)
{
    memset(st, 0, sizeof *st);
    st->state = "unknown";
    if (w->cb.status)
        w->cb.status(w->cb.user, st);
    if (!st->state)
        st->state = "unknown";
}

static int web_landing(struct web *w, struct mg_connection *conn, int head)
{
    struct web_status st;
    char ver[200], state[200], path[3 * WEB_PATH_MAX], page[2048];
    web_get_status(w, &st);
    web_html(ver, sizeof ver, w->version);
    web_html(state, sizeof state, st.state);
    web_html(path, sizeof path, w->tpath);
    int n = snprintf(page, sizeof page,
                     "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                     "<title>iotpro_exporter</title></head>\n<body>\n"
                     "<h1>iotpro_exporter</h1>\n"
                     "<p>Streams IoT Pro asset telemetry to Prometheus.</p>\n<ul>\n"
                     "<li>Version: %s</li>\n<li>Upstream: %s</li>\n<li>Ready: %s</li>\n"
                     "<li>Assets: %llu</li>\n<li>Series: %llu</li>\n</ul>\n"
                     "<p><a href=\"%s\">Metrics</a> · <a href=\"/-/healthy\">Health</a> · "
                     "<a href=\"/-/ready\">Readiness</a></p>\n</body></html>\n",
                     ver, state, st.ready ? "yes" : "no", (unsigned long long)st.assets,
                     (unsigned long long)st.series, path);
    if (n < 0 || (size_t)n >= sizeof page)
        return web_text(w, conn, 500, "Landing page too long.\n", head, NULL);
    return web_reply(w, conn, 200, "text/html; charset=utf-8", page, (size_t)n, head, NULL);
}

/* --- dispatch ------------------------------------------------------------------------------- */

static int web_begin_request(struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    struct web *w = ri ? mg_get_user_data(mg_get_context(conn)) : NULL;
    if (!w)
        return 0;
    const char *uri = ri->local_uri_raw ? ri->local_uri_raw : ri->local_uri;
    const char *m = ri->request_method ? ri->request_method : "";
    int get = !strcmp(m, "GET"), head = !strcmp(m, "HEAD");
    enum { P_NONE, P_METRICS, P_ROOT, P_HEALTHY, P_READY } page = P_NONE;
    if (uri && !strcmp(uri, w->tpath))
        page = P_METRICS;
    else if (uri && !strcmp(uri, "/"))
        page = P_ROOT;
    else if (uri && !strcmp(uri, "/-/healthy"))
        page = P_HEALTHY;
    else if (uri && !strcmp(uri, "/-/ready"))
        page = P_READY;
    if (page == P_NONE)
        return web_text(w, conn, 404, "Not found.\n", head, NULL);
    if (!get && !head)
        return web_text(w, conn, 405, "Method not allowed.\n", 0, "GET, HEAD");
    switch (page) {
    case P_METRICS: return web_metrics(w, conn, head);
    case P_ROOT: return web_landing(w, conn, head);
    case P_HEALTHY: return web_text(w, conn, 200, "Healthy.\n", head, NULL);
    case P_READY: {
        struct web_status st;
        web_get_status(w, &st);
        return st.ready ? web_text(w, conn, 200, "Ready.\n", head, NULL)
                        : web_text(w, conn, 503, "Not ready: not subscribed yet.\n", head, NULL);
    }
    default: return web_text(w, conn, 404, "Not found.\n", head, NULL);
    }
}

static int web_log_message(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    log_debug("civetweb", LOG_S("detail", message));
    return 1; /* handled: civetweb must not print to stderr on its own */
}

/* --- start / stop -------------------------------------------------------------------------- */

struct web *web_start(const struct web_config *cfg, const struct web_callbacks *cb, char *err,
                      size_t errcap)
{
    if (mg_check_feature(MG_FEATURES_FILES) != 0) {
        snprintf(err, errcap, "civetweb was built with file serving; refusing to start");
        return NULL;
    }
    const char *tp = cfg->telemetry_path ? cfg->telemetry_path : "/metrics";
    if (tp[0] != '/' || strlen(tp) >= WEB_PATH_MAX) {
        snprintf(err, errcap, "--web.telemetry-path: invalid");
        return NULL;
    }
    struct web *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    snprintf(w->tpath, sizeof w->tpath, "%s", tp);
    snprintf(w->version, sizeof w->version, "%s", cfg->version ? cfg->version : "unknown");
    w->cb = *cb;
    w->max_requests = cfg->max_requests ? cfg->max_requests : 40;
    w->timeout_ms = cfg->request_timeout_ms ? cfg->request_timeout_ms : 5000;
    w->max_body = cfg->max_body;
    w->health = cfg->health;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);

    /* Workers: enough for max_requests scrapes plus two for health probes, capped; a
     * waiting scrape costs a thread but no render (single flight). */
    unsigned threads = w->max_requests + 2;
    if (threads > LIM_WEB_THREADS)
        threads = LIM_WEB_THREADS;
    char nthreads[16], tmo[16];
    snprintf(nthreads, sizeof nthreads, "%u", threads);
    snprintf(tmo, sizeof tmo, "%u", w->timeout_ms);
    const char *opts[] = {
        "listening_ports", cfg->listen ? cfg->listen : "9842",
        "num_threads", nthreads,
        "request_timeout_ms", tmo,
        "linger_timeout_ms", "500",
        "connection_queue", "64",
        "enable_keep_alive", "no",
        "access_control_allow_origin", "",
        "access_control_allow_methods", "",
        "access_control_allow_headers", "",
        /* compare paths as sent: "/metrics%00" must not decode to "/metrics" */
        "decode_url", "no",
        NULL,
    };
    struct mg_callbacks cbs;
    memset(&cbs, 0, sizeof cbs);
    cbs.begin_request = web_begin_request;
    cbs.log_message = web_log_message;
    unsigned code = 0;
    char etext[256] = "";
    struct mg_error_data ed = { &code, etext, sizeof etext };
    struct mg_init_data init = { &cbs, w, opts };
    mg_init_library(0);
    w->ctx = mg_start2(&init, &ed);
    if (!w->ctx) {
        snprintf(err, errcap, "--web.listen-address: cannot serve on %s: %s (civetweb error %u)",
                 cfg->listen ? cfg->listen : "9842", etext[0] ? etext : "unknown", code);
        mg_exit_library();
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    return w;
}

int web_port(const struct web *w)
{
    struct mg_server_port ports[4];
    if (!w || !w->ctx)
        return -1;
    int n = mg_get_server_ports(w->ctx, 4, ports);
    return n > 0 ? ports[0].port : -1;
}

void web_stop(struct web *w)
{
    if (!w)
        return;
    mg_stop(w->ctx);
    mg_exit_library();
    for (int i = 0; i < 2; i++)
        if (w->have_spare[i])
            expo_free(&w->spare[i]);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
