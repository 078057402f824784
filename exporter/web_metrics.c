/*
 * web_metrics.c -- the /metrics answer: the format from the Accept header, the body
 * rendered into a per-request buffer and sent as HTTP/1.1 chunks written by us (web.c's
 * header comment says why), the deadline, and a failed stream made visibly incomplete.
 */
#include "exporter/web_int.h"

#include "exporter/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The headers of a 200 /metrics answer without a length: chunked for HTTP/1.1 (what a
 * GET streams, and what HEAD announces), nothing for an HTTP/1.0 HEAD. */
static void web_metrics_headers(struct mg_connection *conn, enum expo_format fmt, int chunked)
{
    mg_response_header_start(conn, 200);
    mg_response_header_add(conn, "Content-Type", expo_content_type(fmt), -1);
    if (chunked)
        mg_response_header_add(conn, "Transfer-Encoding", "chunked", -1);
    web_common_headers(conn, 0);
    mg_response_header_add(conn, "Vary", "Accept", -1);
    mg_response_header_send(conn);
}

static int64_t web_elapsed_us(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (int64_t)(t1.tv_sec - t0->tv_sec) * 1000000 + (int64_t)(t1.tv_nsec - t0->tv_nsec) / 1000;
}

/* Figures of one render attempt, whatever its outcome: the duration covers producing
 * and sending the body (the two overlap when streaming). */
static void web_render_figures(struct web *w, const struct timespec *t0, const struct expo *e)
{
    if (!w->health)
        return;
    health_set(w->health, HEALTH_G_SCRAPE_DURATION_US, web_elapsed_us(t0));
    health_set(w->health, HEALTH_G_SCRAPE_UTF8_REPLACED, (int64_t)e->utf8_replaced);
}

/* Why a render failed, for the log; counts the body limit. */
static const char *web_render_error(struct web *w, int rc, int erc)
{
    if (erc == EXPO_ERR_FULL && w->health)
        health_limit_hit(w->health, HEALTH_LIMIT_SCRAPE_BODY);
    return erc != EXPO_OK ? expo_strerror(erc) : rc ? "render callback failed" : "none";
}

/* HTTP/1.0 has no chunked encoding: the whole body is rendered into a growable buffer
 * and sent with Content-Length. That buffer is the size of the body (~163 MB at 1M
 * series) and is freed once sent. */
static int web_metrics_whole(struct web *w, struct mg_connection *conn, enum expo_format fmt)
{
    struct expo e;
    struct timespec t0;
    int status, rc, erc;
    expo_init(&e, fmt, w->max_body);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = w->cb.render ? w->cb.render(w->cb.user, &e) : 0;
    erc = rc == 0 ? expo_finish(&e) : e.err; /* "# EOF" only after a complete render */
    if (rc == 0 && erc == EXPO_OK) {
        size_t len;
        const char *body = expo_body(&e, &len);
        status = web_reply(w, conn, 200, expo_content_type(fmt), body, len, 0, NULL, NULL);
    } else {
        log_warn("metrics render failed", LOG_S("error", web_render_error(w, rc, erc)));
        status = web_text(w, conn, 500, "Rendering the metrics failed; see the log.\n", 0, NULL);
    }
    web_render_figures(w, &t0, &e);
    expo_free(&e);
    return status;
}

/* One streamed response: the encoder's sink frames each buffer as an HTTP chunk. */
struct web_stream {
    struct mg_connection *conn;
    enum expo_format fmt;
    char *mem;                /* WEB_CHUNK_HEAD + stream_buf + WEB_CHUNK_TAIL bytes */
    struct timespec deadline; /* CLOCK_MONOTONIC */
    int started;              /* status line and headers are out: no 500 possible now */
    const char *why;          /* set when sending failed: "client gone", "deadline" */
};

static int web_past(const struct timespec *dl)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > dl->tv_sec || (now.tv_sec == dl->tv_sec && now.tv_nsec >= dl->tv_nsec);
}

/* Sends b[0..n) in slices, checking the deadline before each: civetweb's mg_write
 * only gives up when no byte moves for request_timeout_ms, so a reader that keeps
 * taking a little would otherwise hold the render (and its table) for as long as
 * it likes. 0, or -1 with s->why set. */
static int web_send(struct web_stream *s, const char *b, size_t n)
{
    while (n) {
        size_t k = n < WEB_SLICE ? n : WEB_SLICE;
        if (web_past(&s->deadline)) {
            s->why = "deadline";
            return -1;
        }
        if (mg_write(s->conn, b, k) != (int)k) {
            s->why = "client gone";
            return -1;
        }
        b += k;
        n -= k;
    }
    return 0;
}

/* expo sink: headers on the first call, then one chunk per buffer, framed in place in
 * the room reserved around the encoder's buffer (one write per chunk, no copy). */
static int web_sink(void *user, const char *data, size_t len)
{
    struct web_stream *s = user;
    char *p = s->mem + WEB_CHUNK_HEAD, head[WEB_CHUNK_HEAD];
    int hl = snprintf(head, sizeof head, "%zx\r\n", len);
    if (data != p || hl <= 0 || (size_t)hl >= sizeof head)
        return -1; /* not our buffer: expo.h promises the front of it */
    if (!s->started) {
        web_metrics_headers(s->conn, s->fmt, 1);
        s->started = 1;
    }
    memcpy(p - hl, head, (size_t)hl);
    memcpy(p + len, "\r\n", WEB_CHUNK_TAIL);
    return web_send(s, p - hl, (size_t)hl + len + WEB_CHUNK_TAIL);
}

static int web_metrics_stream(struct web *w, struct mg_connection *conn, enum expo_format fmt)
{
    struct web_stream s = { .conn = conn, .fmt = fmt };
    struct expo e;
    struct timespec t0;
    int status = 200, rc, erc;
    s.mem = malloc(WEB_CHUNK_HEAD + w->stream_buf + WEB_CHUNK_TAIL);
    if (!s.mem) {
        log_warn("metrics render failed", LOG_S("error", "out of memory"));
        return web_text(w, conn, 500, "Rendering the metrics failed; see the log.\n", 0, NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    s.deadline = t0;
    s.deadline.tv_sec += (time_t)(w->deadline_ms / 1000);
    s.deadline.tv_nsec += (long)(w->deadline_ms % 1000) * 1000000L;
    if (s.deadline.tv_nsec >= 1000000000L) {
        s.deadline.tv_sec++;
        s.deadline.tv_nsec -= 1000000000L;
    }
    expo_init_stream(&e, fmt, w->max_body, s.mem + WEB_CHUNK_HEAD, w->stream_buf, web_sink, &s);
    rc = w->cb.render ? w->cb.render(w->cb.user, &e) : 0;
    erc = rc == 0 ? expo_finish(&e) : e.err; /* "# EOF" only after a complete render */
    if (rc == 0 && erc == EXPO_OK) {
        if (!s.started) /* an empty body: nothing was flushed */
            web_metrics_headers(conn, fmt, 1);
        s.started = 1;
        if (web_send(&s, "0\r\n\r\n", 5) != 0)
            status = 500;
    } else {
        status = 500;
    }
    web_render_figures(w, &t0, &e);
    if (status == 200) {
        if (w->health)
            health_http(w->health, 200);
    } else if (!s.started) {
        log_warn("metrics render failed", LOG_S("error", web_render_error(w, rc, erc)));
        web_text(w, conn, 500, "Rendering the metrics failed; see the log.\n", 0, NULL);
    } else {
        /* The status line said 200 and part of the body is out. Without the last
         * chunk the client cannot take it for a whole exposition (Prometheus fails
         * the scrape on the unexpected EOF); the connection must not be reused. */
        mg_disable_connection_keep_alive(conn);
        log_warn("metrics response aborted",
                 LOG_S("error", s.why ? s.why : web_render_error(w, rc, erc)),
                 LOG_U("body_bytes_sent", e.flushed));
        if (w->health)
            health_http(w->health, 500);
    }
    free(s.mem);
    return status;
}

int web_metrics(struct web *w, struct mg_connection *conn, int head)
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
        const struct mg_request_info *ri = mg_get_request_info(conn);
        enum expo_format fmt = web_negotiate(mg_get_header(conn, "Accept"));
        int http11 = ri && ri->http_version && !strcmp(ri->http_version, "1.1");
        if (head) {
            /* what a GET would say, without rendering (the length is not known) */
            web_metrics_headers(conn, fmt, http11);
            status = 200;
            if (w->health)
                health_http(w->health, 200);
        } else if (http11) {
            status = web_metrics_stream(w, conn, fmt);
        } else {
            status = web_metrics_whole(w, conn, fmt);
        }
    }
    atomic_fetch_sub(&w->in_flight, 1);
    if (w->health)
        health_gauge_add(w->health, HEALTH_G_WEB_IN_FLIGHT, -1);
    return status;
}
