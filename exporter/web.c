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
 * Streaming (web_metrics.c): a whole body costs ~163 bytes per series (163 MB at 1M series),
 * more than everything else the exporter holds per series, so /metrics is rendered
 * into a fixed buffer per request and each full buffer goes out as one HTTP/1.1 chunk
 * (Transfer-Encoding: chunked, written by us: civetweb 1.15 only frames what we
 * give it). civetweb's keep-alive decision after our begin_request hook looks only at
 * the request (Connection header, HTTP version, request body consumed) and at
 * must_close, never at how the response was framed, so a connection stays reusable
 * after a complete chunked body; to make a failed stream visible we set must_close
 * (mg_disable_connection_keep_alive) and return without the terminating chunk.
 */
#include "exporter/web_int.h"

#include "core/limits.h"
#include "exporter/log.h"
#include "transport/tls_front.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

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

/* The headers every answer carries: ours, and those of http_server_config.headers
 * (the snapshot web_begin_request attached to the connection), which replace ours of
 * the same name. */
void web_common_headers(struct mg_connection *conn, int html)
{
    const struct websec *sec = mg_get_user_connection_data(conn);
    const struct webcfg *wc = sec ? websec_cfg(sec) : NULL;
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    if (!wc || !wc->headers[WEBCFG_H_CONTENT_TYPE_OPTIONS][0])
        mg_response_header_add(conn, "X-Content-Type-Options", "nosniff", -1);
    if (html && (!wc || !wc->headers[WEBCFG_H_CSP][0]))
        mg_response_header_add(conn, "Content-Security-Policy", "default-src 'none'", -1);
    for (unsigned h = 0; wc && h < WEBCFG_H__COUNT; h++)
        if (wc->headers[h][0])
            mg_response_header_add(conn, webcfg_header_name(h), wc->headers[h], -1);
}

/* xname/xvalue: one more header (Allow, WWW-Authenticate) or NULL. */
int web_reply(struct web *w, struct mg_connection *conn, int status, const char *ctype,
              const char *body, size_t len, int head_only, const char *xname, const char *xvalue)
{
    char lb[24];
    snprintf(lb, sizeof lb, "%zu", len);
    mg_response_header_start(conn, status);
    mg_response_header_add(conn, "Content-Type", ctype, -1);
    mg_response_header_add(conn, "Content-Length", lb, -1);
    web_common_headers(conn, !strncmp(ctype, "text/html", 9));
    if (xname)
        mg_response_header_add(conn, xname, xvalue, -1);
    if (status == 200 && (strstr(ctype, "version=") != NULL))
        mg_response_header_add(conn, "Vary", "Accept", -1);
    mg_response_header_send(conn);
    if (!head_only && len)
        mg_write(conn, body, len);
    if (w->health)
        health_http(w->health, status);
    return status;
}

int web_text(struct web *w, struct mg_connection *conn, int status, const char *msg, int head_only,
             const char *allow)
{
    return web_reply(w, conn, status, "text/plain; charset=utf-8", msg, strlen(msg), head_only,
                     allow ? "Allow" : NULL, allow);
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
    return web_reply(w, conn, 200, "text/html; charset=utf-8", page, (size_t)n, head, NULL, NULL);
}

/* --- dispatch ------------------------------------------------------------------------------- */

static int web_dispatch(struct web *w, struct mg_connection *conn, const struct mg_request_info *ri)
{
    const char *uri = ri->local_uri_raw ? ri->local_uri_raw : ri->local_uri;
    const char *m = ri->request_method ? ri->request_method : "";
    int get = !strcmp(m, "GET"), head = !strcmp(m, "HEAD");
    /* Keep-alive only after a GET or HEAD without a request body. With a body civetweb
     * would read and discard it before the next request, and its keep-alive test adds
     * request_len + content_len in a signed long: "Content-Length: 99999999999999999999"
     * overflows there (UBSan, t_web_abuse content_length_huge), and the wrapped sum
     * would then size a memmove. Closing after the answer skips all of that. */
    if ((!get && !head) || mg_get_header(conn, "Content-Length") ||
        mg_get_header(conn, "Transfer-Encoding"))
        mg_disable_connection_keep_alive(conn);
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

static struct websec *web_sec_get(struct web *w)
{
    pthread_mutex_lock(&w->sec_mu);
    struct websec *s = w->sec;
    if (s)
        websec_ref(s);
    pthread_mutex_unlock(&w->sec_mu);
    return s;
}

/* Every request, whatever its path, passes basic auth first (as the exporter toolkit
 * does: /-/healthy and /-/ready too); the snapshot in force when it began serves it
 * to the end, attached to the connection for the response headers. */
static int web_begin_request(struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    struct web *w = ri ? mg_get_user_data(mg_get_context(conn)) : NULL;
    int status;
    if (!w)
        return 0;
    struct websec *sec = web_sec_get(w);
    mg_set_user_connection_data(conn, sec);
    if (sec && !websec_check(sec, mg_get_header(conn, "Authorization"))) {
        /* the body says nothing about why (no such user, wrong password, no header) */
        const char *m = ri->request_method ? ri->request_method : "";
        mg_disable_connection_keep_alive(conn);
        status = web_reply(w, conn, 401, "text/plain; charset=utf-8", "Unauthorized.\n", 14,
                           !strcmp(m, "HEAD"), "WWW-Authenticate",
                           "Basic realm=\"iotpro_exporter\"");
    } else {
        status = web_dispatch(w, conn, ri);
    }
    mg_set_user_connection_data(conn, NULL);
    websec_unref(sec);
    return status;
}

static int web_log_message(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    log_debug("civetweb", LOG_S("detail", message));
    return 1; /* handled: civetweb must not print to stderr on its own */
}

/* --- start / stop -------------------------------------------------------------------------- */

static void web_free(struct web *w)
{
    if (w->sockdir[0]) {
        char sock[300];
        snprintf(sock, sizeof sock, "%s/http.sock", w->sockdir);
        unlink(sock); /* civetweb removes it too; a failed start may leave it */
        rmdir(w->sockdir);
    }
    websec_unref(w->sec);
    pthread_mutex_destroy(&w->sec_mu);
    free(w);
}

/* The TLS front found the certificate files changed: load them again with the TLS
 * settings in force. */
static tls_creds *web_creds_reload(void *user, char *err, size_t errcap)
{
    struct web *w = user;
    struct websec *sec = web_sec_get(w);
    tls_creds *c = sec ? tls_creds_load(websec_cfg(sec), err, errcap) : NULL;
    websec_unref(sec);
    return c;
}

static void web_front_event(void *user, enum tls_front_event ev, const char *peer,
                            const char *detail)
{
    struct web *w = user;
    switch (ev) {
    case TLS_FRONT_HANDSHAKE_FAILED:
        log_debug("TLS handshake failed", LOG_S("client", peer), LOG_S("error", detail));
        break;
    case TLS_FRONT_REFUSED:
        if (w->health)
            health_limit_hit(w->health, HEALTH_LIMIT_TLS_CONNECTIONS);
        log_warn("TLS connection refused", LOG_S("client", peer), LOG_S("error", detail));
        break;
    case TLS_FRONT_RELOADED: log_info("TLS certificate files changed: reloaded"); break;
    case TLS_FRONT_RELOAD_FAILED:
        log_error("TLS certificate files changed but do not load; keeping the old ones",
                  LOG_S("error", detail));
        break;
    }
}

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
    w->stream_buf = cfg->stream_buf ? cfg->stream_buf : WEB_STREAM_BUF;
    w->deadline_ms = cfg->stream_deadline_ms ? cfg->stream_deadline_ms : WEB_STREAM_DEADLINE_MS;
    w->health = cfg->health;
    pthread_mutex_init(&w->sec_mu, NULL);
    if (cfg->sec) {
        websec_ref(cfg->sec);
        w->sec = cfg->sec;
    }
    const char *listen = cfg->listen ? cfg->listen : "9842";
    char civet_listen[300];
    snprintf(civet_listen, sizeof civet_listen, "%s", listen);
    if (w->sec && websec_creds(w->sec)) {
        /* HTTPS: civetweb serves a Unix socket in a directory only we can enter; the
         * public port is the TLS front's (see ARCHITECTURE.md, "HTTPS"). */
        const char *base = getenv("RUNTIME_DIRECTORY");
        if (!base || !base[0] || strchr(base, ':'))
            base = getenv("TMPDIR");
        if (!base || !base[0])
            base = "/tmp";
        snprintf(w->sockdir, sizeof w->sockdir, "%s/iotpro_exporter.XXXXXX", base);
        if (!mkdtemp(w->sockdir)) {
            snprintf(err, errcap, "cannot create a private directory in %s for the HTTP socket",
                     base);
            web_free(w);
            return NULL;
        }
        snprintf(civet_listen, sizeof civet_listen, "x%s/http.sock", w->sockdir);
    }

    /* Workers: enough for max_requests scrapes plus two for health probes, capped
     * (core/limits.h says why at 16). */
    unsigned threads = w->max_requests + 2;
    if (threads > LIM_WEB_THREADS)
        threads = LIM_WEB_THREADS;
    char nthreads[16], tmo[16];
    snprintf(nthreads, sizeof nthreads, "%u", threads);
    snprintf(tmo, sizeof tmo, "%u", w->timeout_ms);
    const char *opts[] = {
        "listening_ports",
        civet_listen,
        "num_threads",
        nthreads,
        "request_timeout_ms",
        tmo,
        "linger_timeout_ms",
        "500",
        "connection_queue",
        "64",
        /* Prometheus keeps its connection open between scrapes. An idle kept-alive
         * connection holds a worker thread, so it is closed after 500 ms (civetweb's
         * default, below request_timeout_ms: no cheaper way to pin a worker than
         * slow request headers already is): back-to-back requests reuse it, a
         * scraper that comes back after its interval reconnects. */
        "enable_keep_alive",
        "yes",
        "keep_alive_timeout_ms",
        "500",
        "access_control_allow_origin",
        "",
        "access_control_allow_methods",
        "",
        "access_control_allow_headers",
        "",
        /* compare paths as sent: "/metrics%00" must not decode to "/metrics" */
        "decode_url",
        "no",
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
                 civet_listen, etext[0] ? etext : "unknown", code);
        mg_exit_library();
        web_free(w);
        return NULL;
    }
    if (w->sockdir[0]) {
        struct tls_front_config fc = {
            .listen = listen,
            .backend = civet_listen + 1,
            .max_conns = 128,
            .handshake_ms = w->timeout_ms,
            .idle_ms = 10000,
            .reload = web_creds_reload,
            .on_event = web_front_event,
            .user = w,
        };
        char ferr[300];
        w->front = tls_front_start(&fc, websec_creds(w->sec), ferr, sizeof ferr);
        if (!w->front) {
            snprintf(err, errcap, "--web.listen-address: %s", ferr);
            mg_stop(w->ctx);
            mg_exit_library();
            web_free(w);
            return NULL;
        }
    }
    return w;
}

int web_reload(struct web *w, struct websec *sec, char *err, size_t errcap)
{
    if (!!w->front != !!websec_creds(sec)) {
        snprintf(err, errcap, "--web.config.file: turning TLS %s needs a restart",
                 w->front ? "off" : "on");
        return -1;
    }
    websec_ref(sec);
    pthread_mutex_lock(&w->sec_mu);
    struct websec *old = w->sec;
    w->sec = sec;
    pthread_mutex_unlock(&w->sec_mu);
    if (w->front)
        tls_front_set_creds(w->front, websec_creds(sec));
    websec_unref(old);
    return 0;
}

int web_port(const struct web *w)
{
    struct mg_server_port ports[4];
    if (!w || !w->ctx)
        return -1;
    if (w->front)
        return tls_front_port(w->front);
    int n = mg_get_server_ports(w->ctx, 4, ports);
    return n > 0 ? ports[0].port : -1;
}

void web_stop(struct web *w)
{
    if (!w)
        return;
    tls_front_stop(w->front); /* no new connections reach civetweb after this */
    mg_stop(w->ctx);
    mg_exit_library();
    web_free(w);
}
