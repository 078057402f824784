/*
 * httpc.c -- the REST client: writes one request with core/http1, streams the
 * response through the incremental parser, and decides whether the connection can
 * carry the next request. All waiting happens in the caller's poll loop.
 */
#include "transport/httpc.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>

void httpc_init(httpc *h, const char *host, unsigned port, int use_tls, const tls_anchors *anchors)
{
    conn_init(&h->c);
    h->out_len = h->out_off = 0;
    h->body = NULL;
    h->body_len = h->body_off = 0;
    h->resp_buf = NULL;
    h->resp_cap = 0;
    h->head_request = 0;
    h->deadline_ms = 0;
    h->reused = h->retried = 0;
    h->resp_bytes = 0;
    h->state = HTTPC_IDLE;
    snprintf(h->host, sizeof h->host, "%s", host ? host : "");
    h->port = port;
    h->use_tls = use_tls;
    h->anchors = anchors;
    h->reusable = 0;
    h->connects = h->requests = 0;
    memset(&h->err, 0, sizeof h->err);
}

static void fail_from_conn(httpc *h)
{
    h->err = *conn_error(&h->c);
    h->state = HTTPC_FAILED;
    h->reusable = 0;
}

/* Fails the request with an error of our own (deadline, bad response...). */
static void fail(httpc *h, net_reason r, int code, const char *text)
{
    conn_stage st = CONN_STAGE_HTTP;
    if (h->state == HTTPC_CONNECTING) {
        switch (conn_state(&h->c)) {
        case CONN_RESOLVING: st = CONN_STAGE_DNS; break;
        case CONN_CONNECTING: st = CONN_STAGE_CONNECT; break;
        case CONN_HANDSHAKE: st = CONN_STAGE_TLS; break;
        default: break;
        }
    }
    h->err.stage = st;
    h->err.reason = r;
    h->err.code = code;
    snprintf(h->err.text, sizeof h->err.text, "%s: %s:%u: %s", conn_stage_name(st), h->host,
             h->port, text);
    conn_abort(&h->c);
    h->state = HTTPC_FAILED;
    h->reusable = 0;
}

static void start_connect(httpc *h, int64_t now_ms)
{
    h->reused = 0;
    h->connects++;
    h->state = HTTPC_CONNECTING;
    if (conn_start(&h->c, h->host, h->port, h->use_tls, h->anchors, now_ms, h->deadline_ms) < 0)
        fail_from_conn(h);
}

static void begin_send(httpc *h)
{
    h->out_off = 0;
    h->body_off = 0;
    h->resp_bytes = 0;
    http1_resp_init(&h->resp, h->resp_buf, h->resp_cap, h->head_request);
    conn_set_stage(&h->c, CONN_STAGE_HTTP);
    h->state = HTTPC_SENDING;
}

int httpc_request(httpc *h, const char *method, const char *path, const http1_header *headers,
                  size_t nheaders, const void *body, size_t body_len, uint8_t *resp_buf,
                  size_t resp_cap, int64_t now_ms, int64_t deadline_ms)
{
    int n;
    if (h->state != HTTPC_IDLE && h->state != HTTPC_DONE && h->state != HTTPC_FAILED) {
        memset(&h->err, 0, sizeof h->err);
        h->err.stage = CONN_STAGE_HTTP;
        h->err.reason = NET_R_RESOURCE;
        snprintf(h->err.text, sizeof h->err.text, "http: a request is already running");
        return -1; /* the running request keeps going */
    }
    n = http1_write_request(h->out, sizeof h->out, method, h->host, h->port, path, headers,
                            nheaders, body_len);
    memset(&h->err, 0, sizeof h->err);
    h->requests++;
    if (n < 0) {
        h->state = HTTPC_FAILED;
        h->err.stage = CONN_STAGE_HTTP;
        h->err.reason = NET_R_HTTP;
        h->err.code = n;
        snprintf(h->err.text, sizeof h->err.text, "http: cannot write request: %s",
                 http1_strerror(n));
        return -1;
    }
    h->out_len = (size_t)n;
    h->body = body;
    h->body_len = body ? body_len : 0;
    h->resp_buf = resp_buf;
    h->resp_cap = resp_cap;
    h->head_request = strcmp(method, "HEAD") == 0;
    h->deadline_ms = deadline_ms;
    h->retried = 0;
    if (h->reusable && conn_state(&h->c) == CONN_OPEN) {
        h->reused = 1;
        begin_send(h);
        return 0;
    }
    start_connect(h, now_ms);
    return h->state == HTTPC_FAILED ? -1 : 0;
}

int httpc_poll_fd(const httpc *h)
{
    return (h->state == HTTPC_CONNECTING || h->state == HTTPC_SENDING ||
            h->state == HTTPC_RECEIVING)
               ? conn_poll_fd(&h->c)
               : -1;
}

short httpc_poll_events(const httpc *h)
{
    short ev;
    if (httpc_poll_fd(h) < 0)
        return 0;
    ev = conn_poll_events(&h->c);
    if (h->state == HTTPC_SENDING && conn_state(&h->c) == CONN_OPEN)
        ev |= POLLOUT;
    return ev;
}

int httpc_pending(const httpc *h)
{
    return httpc_poll_fd(h) >= 0 && conn_pending(&h->c);
}

int64_t httpc_deadline(const httpc *h)
{
    int64_t d = conn_deadline(&h->c);
    if (h->state == HTTPC_IDLE || h->state == HTTPC_DONE || h->state == HTTPC_FAILED)
        return INT64_MAX;
    return d < h->deadline_ms ? d : h->deadline_ms;
}

/* The response is complete: decide about the connection. */
static void finish(httpc *h)
{
    uint8_t probe[1];
    h->state = HTTPC_DONE;
    h->reusable = http1_resp_keep_alive(&h->resp) && conn_state(&h->c) == CONN_OPEN;
    /* Bytes beyond the response belong to no request of ours: never reuse then. */
    if (h->reusable && conn_read(&h->c, probe, sizeof probe) != 0)
        h->reusable = 0;
    if (!h->reusable)
        conn_close(&h->c);
}

/* The connection ended (clean or not) while waiting for the response. */
static void ended(httpc *h, int64_t now_ms)
{
    int rc;
    if (h->reused && !h->retried && h->resp_bytes == 0) {
        /* The server dropped the idle keep-alive connection before (or while) we sent:
         * one retry on a fresh connection, within the same deadline. */
        conn_abort(&h->c);
        start_connect(h, now_ms);
        h->retried = 1;
        return;
    }
    rc = http1_resp_eof(&h->resp);
    if (rc == 0 && http1_resp_state(&h->resp) == HTTP1_S_DONE) {
        finish(h);
        return;
    }
    if (conn_state(&h->c) == CONN_FAILED && h->resp_bytes == 0) {
        fail_from_conn(h);
        return;
    }
    {
        char text[160];
        const conn_err *ce = conn_error(&h->c);
        snprintf(text, sizeof text, "connection ended before the response was complete (%s)",
                 net_reason_name(ce->reason));
        fail(h, ce->reason == NET_R_CLOSED ? NET_R_TRUNCATED : ce->reason, HTTP1_ERR_TRUNCATED,
             text);
    }
}

static void receive(httpc *h, int64_t now_ms)
{
    uint8_t buf[16384];
    for (;;) {
        long n = conn_read(&h->c, buf, sizeof buf), used;
        if (n == 0)
            return;
        if (n < 0) {
            ended(h, now_ms);
            return;
        }
        h->resp_bytes += (size_t)n;
        used = http1_resp_push(&h->resp, buf, (size_t)n);
        if (used < 0) {
            char text[96];
            snprintf(text, sizeof text, "bad response: %s", http1_strerror((int)used));
            fail(h, used == HTTP1_ERR_BODY_SIZE ? NET_R_LIMIT : NET_R_HTTP, (int)used, text);
            return;
        }
        if (http1_resp_state(&h->resp) == HTTP1_S_DONE) {
            if (used < n)
                conn_close(&h->c); /* stray bytes after the response: never reuse */
            finish(h);
            return;
        }
    }
}

static void send_more(httpc *h)
{
    while (h->out_off < h->out_len || h->body_off < h->body_len) {
        long k;
        if (h->out_off < h->out_len)
            k = conn_write(&h->c, h->out + h->out_off, h->out_len - h->out_off);
        else
            k = conn_write(&h->c, h->body + h->body_off, h->body_len - h->body_off);
        if (k <= 0)
            return; /* 0: wait for POLLOUT; -1: the conn state says why */
        if (h->out_off < h->out_len)
            h->out_off += (size_t)k;
        else
            h->body_off += (size_t)k;
    }
    h->state = HTTPC_RECEIVING;
}

httpc_state httpc_on_io(httpc *h, short revents, int64_t now_ms)
{
    for (int round = 0; round < 4; round++) {
        httpc_state before = h->state;
        conn_state cs;
        if (h->state != HTTPC_CONNECTING && h->state != HTTPC_SENDING &&
            h->state != HTTPC_RECEIVING)
            return h->state;
        cs = conn_on_io(&h->c, round == 0 ? revents : 0, now_ms);
        switch (h->state) {
        case HTTPC_CONNECTING:
            if (cs == CONN_OPEN)
                begin_send(h);
            else if (cs == CONN_FAILED || cs == CONN_CLOSED)
                fail_from_conn(h);
            break;
        case HTTPC_SENDING:
            if (cs != CONN_OPEN) {
                ended(h, now_ms);
                break;
            }
            send_more(h);
            if (h->state == HTTPC_SENDING && conn_state(&h->c) != CONN_OPEN)
                ended(h, now_ms);
            break;
        case HTTPC_RECEIVING: receive(h, now_ms); break;
        default: break;
        }
        if (h->state == before)
            break; /* no transition: wait for the next poll */
    }
    if ((h->state == HTTPC_CONNECTING || h->state == HTTPC_SENDING ||
         h->state == HTTPC_RECEIVING) &&
        now_ms >= h->deadline_ms) {
        char text[96];
        snprintf(text, sizeof text, "request deadline passed (%s)",
                 h->state == HTTPC_CONNECTING ? "while connecting"
                 : h->state == HTTPC_SENDING  ? "while sending"
                                              : "while receiving");
        fail(h, NET_R_TIMEOUT, 0, text);
    }
    return h->state;
}

httpc_state httpc_state_of(const httpc *h)
{
    return h->state;
}
const http1_resp *httpc_response(const httpc *h)
{
    return &h->resp;
}
const conn_err *httpc_error(const httpc *h)
{
    return &h->err;
}

void httpc_close(httpc *h)
{
    conn_close(&h->c);
    h->reusable = 0;
    if (h->state != HTTPC_DONE && h->state != HTTPC_FAILED)
        h->state = HTTPC_IDLE;
}

int httpc_do(httpc *h, const char *method, const char *path, const http1_header *headers,
             size_t nheaders, const void *body, size_t body_len, uint8_t *resp_buf, size_t resp_cap,
             int timeout_ms)
{
    int64_t now = net_now_ms();
    if (httpc_request(h, method, path, headers, nheaders, body, body_len, resp_buf, resp_cap, now,
                      now + timeout_ms) < 0)
        return -1;
    while (h->state != HTTPC_DONE && h->state != HTTPC_FAILED) {
        struct pollfd p = { httpc_poll_fd(h), httpc_poll_events(h), 0 };
        int64_t wake = httpc_deadline(h), ms;
        now = net_now_ms();
        ms = wake > now ? wake - now : 0;
        if (ms > 60000)
            ms = 60000;
        if (httpc_pending(h))
            ms = 0;
        if (poll(&p, p.fd >= 0 ? 1 : 0, (int)ms) < 0)
            p.revents = 0;
        httpc_on_io(h, p.revents, net_now_ms());
    }
    return h->state == HTTPC_DONE ? 0 : -1;
}
